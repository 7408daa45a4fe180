-- The ledger keeps apart the calls whose prompt was over 100,000 tokens
-- (input, cache reads and cache writes together: the prompt the API
-- counted). Haiku 5.5 prices such a call at five times its usual prices,
-- its output included (CLAUDE-API.md, section 1); a sum by day and model
-- alone could not tell what a day cost. Other models have one price, and
-- their long calls are kept apart the same way, for the day one gets a
-- second price.
--
-- The runs still held are split out of the ledger's rows, which counted
-- them with the others; runs that went with their project stay counted as
-- they were.

-- No runs written while the ledger is split and the trigger replaced.
LOCK TABLE agent_runs IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE usage_daily
	ADD COLUMN long_prompt boolean NOT NULL DEFAULT false,
	DROP CONSTRAINT usage_daily_pkey,
	ADD PRIMARY KEY (user_id, day, model, long_prompt);

CREATE TEMPORARY TABLE long_runs ON COMMIT DROP AS
SELECT user_id, (created_at AT TIME ZONE 'UTC')::date AS day, model,
	count(*) AS calls, sum(input_tokens) AS input_tokens,
	sum(output_tokens) AS output_tokens,
	sum(cache_read_tokens) AS cache_read_tokens,
	sum(cache_write_tokens) AS cache_write_tokens,
	sum(cache_write_1h_tokens) AS cache_write_1h_tokens,
	sum(thinking_tokens) AS thinking_tokens
FROM agent_runs
WHERE input_tokens::bigint + cache_read_tokens + cache_write_tokens > 100000
GROUP BY 1, 2, 3;

UPDATE usage_daily u SET
	calls = u.calls - l.calls,
	input_tokens = u.input_tokens - l.input_tokens,
	output_tokens = u.output_tokens - l.output_tokens,
	cache_read_tokens = u.cache_read_tokens - l.cache_read_tokens,
	cache_write_tokens = u.cache_write_tokens - l.cache_write_tokens,
	cache_write_1h_tokens = u.cache_write_1h_tokens -
	    l.cache_write_1h_tokens,
	thinking_tokens = u.thinking_tokens - l.thinking_tokens
FROM long_runs l
WHERE (u.user_id, u.day, u.model) = (l.user_id, l.day, l.model);

DELETE FROM usage_daily WHERE calls = 0;

INSERT INTO usage_daily (user_id, day, model, long_prompt, calls,
	input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
	cache_write_1h_tokens, thinking_tokens)
SELECT user_id, day, model, true, calls, input_tokens, output_tokens,
	cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
	thinking_tokens
FROM long_runs;

CREATE OR REPLACE FUNCTION usage_daily_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO usage_daily AS u (user_id, day, model, long_prompt,
		calls, input_tokens, output_tokens, cache_read_tokens,
		cache_write_tokens, cache_write_1h_tokens, thinking_tokens)
	SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, model,
		input_tokens::bigint + cache_read_tokens + cache_write_tokens
		    > 100000,
		count(*), sum(input_tokens), sum(output_tokens),
		sum(cache_read_tokens), sum(cache_write_tokens),
		sum(cache_write_1h_tokens), sum(thinking_tokens)
	FROM added GROUP BY 1, 2, 3, 4
	ORDER BY 1, 2, 3, 4	-- rows locked in one order: no deadlock
				-- between two turns of one user
	ON CONFLICT (user_id, day, model, long_prompt) DO UPDATE SET
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
