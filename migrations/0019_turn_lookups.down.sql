DROP INDEX item_events_turn_idx;
DROP INDEX messages_turn_idx;
