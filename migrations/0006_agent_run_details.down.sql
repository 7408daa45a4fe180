ALTER TABLE agent_runs
	DROP COLUMN cache_write_1h_tokens,
	DROP COLUMN thinking_tokens,
	DROP COLUMN stop_reason;
