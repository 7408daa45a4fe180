-- What today's models report of a call: why it stopped, the tokens spent
-- thinking, and the part of the cache writes kept for an hour (priced at
-- twice the input; cache_write_tokens stays the total of both lifetimes).
ALTER TABLE agent_runs
	ADD COLUMN stop_reason text,
	ADD COLUMN thinking_tokens integer NOT NULL DEFAULT 0,
	ADD COLUMN cache_write_1h_tokens integer NOT NULL DEFAULT 0;
