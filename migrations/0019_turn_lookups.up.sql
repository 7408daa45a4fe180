-- A turn's messages and the item changes it made, by the turn: what
-- GET /api/projects/{id}/turns/{turn} (and a message's answer) shows. With
-- no index on turn_id, each of those reads walked every project's messages
-- and item history, the two largest tables, on every turn's answer. Only
-- rows a turn wrote are indexed: a person's messages and board changes
-- have none.
CREATE INDEX IF NOT EXISTS messages_turn_idx ON messages (turn_id)
	WHERE turn_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS item_events_turn_idx ON item_events (turn_id)
	WHERE turn_id IS NOT NULL;
