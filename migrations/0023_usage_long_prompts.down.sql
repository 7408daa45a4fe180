-- The long calls' rows added back into their day's and model's row.
LOCK TABLE agent_runs IN SHARE ROW EXCLUSIVE MODE;

CREATE TEMPORARY TABLE long_rows ON COMMIT DROP AS
SELECT * FROM usage_daily WHERE long_prompt;
DELETE FROM usage_daily WHERE long_prompt;

ALTER TABLE usage_daily
	DROP CONSTRAINT usage_daily_pkey,
	ADD PRIMARY KEY (user_id, day, model),
	DROP COLUMN long_prompt;

INSERT INTO usage_daily AS u (user_id, day, model, calls, input_tokens,
	output_tokens, cache_read_tokens, cache_write_tokens,
	cache_write_1h_tokens, thinking_tokens)
SELECT user_id, day, model, calls, input_tokens, output_tokens,
	cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
	thinking_tokens
FROM long_rows
ON CONFLICT (user_id, day, model) DO UPDATE SET
	calls = u.calls + EXCLUDED.calls,
	input_tokens = u.input_tokens + EXCLUDED.input_tokens,
	output_tokens = u.output_tokens + EXCLUDED.output_tokens,
	cache_read_tokens = u.cache_read_tokens + EXCLUDED.cache_read_tokens,
	cache_write_tokens = u.cache_write_tokens + EXCLUDED.cache_write_tokens,
	cache_write_1h_tokens = u.cache_write_1h_tokens +
	    EXCLUDED.cache_write_1h_tokens,
	thinking_tokens = u.thinking_tokens + EXCLUDED.thinking_tokens;

CREATE OR REPLACE FUNCTION usage_daily_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO usage_daily AS u (user_id, day, model, calls,
		input_tokens, output_tokens, cache_read_tokens,
		cache_write_tokens, cache_write_1h_tokens, thinking_tokens)
	SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, model,
		count(*), sum(input_tokens), sum(output_tokens),
		sum(cache_read_tokens), sum(cache_write_tokens),
		sum(cache_write_1h_tokens), sum(thinking_tokens)
	FROM added GROUP BY 1, 2, 3
	ORDER BY 1, 2, 3
	ON CONFLICT (user_id, day, model) DO UPDATE SET
		calls = u.calls + EXCLUDED.calls,
		input_tokens = u.input_tokens + EXCLUDED.input_tokens,
		output_tokens = u.output_tokens + EXCLUDED.output_tokens,
		cache_read_tokens = u.cache_read_tokens +
		    EXCLUDED.cache_read_tokens,
		cache_write_tokens = u.cache_write_tokens +
		    EXCLUDED.cache_write_tokens,
		cache_write_1h_tokens = u.cache_write_1h_tokens +
		    EXCLUDED.cache_write_1h_tokens,
		thinking_tokens = u.thinking_tokens + EXCLUDED.thinking_tokens;
	RETURN NULL;
END
$$;
