-- A ledger of model tokens by user, day and model, apart from the
-- projects they were spent in. Usage and USER_MONTHLY_TOKEN_LIMIT added up
-- agent_runs, which go with their project (ON DELETE CASCADE): deleting a
-- project gave back the month's tokens spent in it, so a limit could be
-- reset by spending in a project and deleting it, and a member's spending
-- in someone else's project went when its owner deleted the project.
--
-- A statement trigger on agent_runs adds each statement's runs to the
-- ledger in the same transaction (a turn's runs are one statement, so one
-- upsert per day and model). Runs that go later, with their project or
-- their generation, stay counted: their tokens were spent. The ledger goes
-- with its user. A month's sum reads at most 31 rows per model, where it
-- read every run of the month.

-- No runs written while the ledger is first filled and the trigger put in.
LOCK TABLE agent_runs IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE usage_daily (
	user_id			uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	day			date NOT NULL,
	model			text NOT NULL,
	calls			bigint NOT NULL DEFAULT 0,
	input_tokens		bigint NOT NULL DEFAULT 0,
	output_tokens		bigint NOT NULL DEFAULT 0,
	cache_read_tokens	bigint NOT NULL DEFAULT 0,
	cache_write_tokens	bigint NOT NULL DEFAULT 0,
	cache_write_1h_tokens	bigint NOT NULL DEFAULT 0,
	thinking_tokens		bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, day, model)
);

INSERT INTO usage_daily (user_id, day, model, calls, input_tokens,
	output_tokens, cache_read_tokens, cache_write_tokens,
	cache_write_1h_tokens, thinking_tokens)
SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, model, count(*),
	sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
	sum(cache_write_tokens), sum(cache_write_1h_tokens),
	sum(thinking_tokens)
FROM agent_runs GROUP BY 1, 2, 3;

CREATE FUNCTION usage_daily_add() RETURNS trigger
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
	ORDER BY 1, 2, 3	-- rows locked in one order: no deadlock between
				-- two turns of one user saving two models each
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

CREATE TRIGGER usage_daily_add AFTER INSERT ON agent_runs
	REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION usage_daily_add();
