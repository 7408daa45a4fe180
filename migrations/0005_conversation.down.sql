ALTER TABLE items DROP CONSTRAINT items_source_message_fk;
DROP TABLE agent_runs;
ALTER TABLE messages DROP CONSTRAINT messages_turn_fk;
DROP TABLE turns;
DROP TABLE messages;
