#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db_turns.h"

/* Agent runs: one row per model call of a turn, read as activity and usage. */

enum agent_run_stmt {
	STMT_AGENT_RUN_INSERT, STMT_GENERATION_RUN_INSERT, STMT_ACTIVITY_LIST,
	STMT_USAGE_LIST, AGENT_RUN_STMT__COUNT
};

/*
 * Runs from a JSON array ($4) for their owner ($1, a turn's or a document
 * generation's id), one statement for them all; their ids keep the
 * array's order.
 */
#define AGENT_RUNS_INSERT(owner) \
	"INSERT INTO agent_runs (" owner ", project_id, user_id, agent, model, " \
	"status, latency_ms, attempts, input_tokens, output_tokens, " \
	"cache_read_tokens, cache_write_tokens, error, stop_reason, " \
	"thinking_tokens, cache_write_1h_tokens) SELECT $1, $2, $3, r.agent, " \
	"r.model, r.status, r.latency_ms, r.attempts, r.input_tokens, " \
	"r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.error, " \
	"r.stop_reason, r.thinking_tokens, r.cache_write_1h_tokens " \
	"FROM ROWS FROM (json_to_recordset($4::json) AS (agent text, " \
	"model text, status text, latency_ms integer, attempts integer, " \
	"input_tokens integer, output_tokens integer, cache_read_tokens integer, " \
	"cache_write_tokens integer, error text, stop_reason text, " \
	"thinking_tokens integer, cache_write_1h_tokens integer)) " \
	"WITH ORDINALITY AS r(agent, model, status, latency_ms, attempts, " \
	"input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, " \
	"error, stop_reason, thinking_tokens, cache_write_1h_tokens, n) " \
	"ORDER BY r.n"

/* The agent run statements; db_stmt_tables lists the table (names unique). */
/* The ledger's counts summed, each with the aggregate filter f. */
#define USAGE_SUM(col, f)	"coalesce(sum(" col ")" f ", 0)::bigint"
/* What a cost is reckoned from (thinking tokens are in the output's). */
#define USAGE_PRICED_SUMS(f) \
	USAGE_SUM("calls", f) ", " USAGE_SUM("input_tokens", f) ", " \
	USAGE_SUM("output_tokens", f) ", " \
	USAGE_SUM("cache_read_tokens", f) ", " \
	USAGE_SUM("cache_write_tokens", f) ", " \
	USAGE_SUM("cache_write_1h_tokens", f)

const struct db_stmt db_agent_run_stmts[AGENT_RUN_STMT__COUNT] = {
	/* A turn's runs, or a document generation's, in the order given. */
	[STMT_AGENT_RUN_INSERT] = { "agent_run_insert",
	  AGENT_RUNS_INSERT("turn_id"), 4 },
	[STMT_GENERATION_RUN_INSERT] = { "agent_run_insert_generation",
	  AGENT_RUNS_INSERT("generation_id"), 4 },
	[STMT_ACTIVITY_LIST] = { "activity_list",
	  "SELECT r.turn_id, r.agent, r.model, r.status, r.latency_ms, r.attempts, "
	  "r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, "
	  "r.error, " DB_ISO_UTC("r.created_at") ", t.intent, r.stop_reason, "
	  "r.thinking_tokens FROM agent_runs r "
	  "JOIN turns t ON t.id = r.turn_id WHERE r.project_id = $1 "
	  "ORDER BY r.id DESC LIMIT $2", 2 },
	/*
	 * The ledger's last $2 days (UTC), today's included: a row per day and
	 * model, then the part of it that long prompts spent (migration 0023).
	 */
	[STMT_USAGE_LIST] = { "usage_list",
	  "SELECT to_char(day, 'YYYY-MM-DD'), model, " USAGE_PRICED_SUMS("")
	  ", " USAGE_SUM("thinking_tokens", "") ", "
	  USAGE_PRICED_SUMS(" FILTER (WHERE long_prompt)") " FROM usage_daily "
	  "WHERE user_id = $1 AND day > (now() AT TIME ZONE 'UTC')::date - $2::int "
	  "GROUP BY day, model ORDER BY day DESC, model", 2 },
};
const size_t db_agent_run_nstmts = AGENT_RUN_STMT__COUNT;

static const struct db_column activity_columns[] = {
	{ "turn_id", false }, { "agent", false }, { "model", false },
	{ "status", false }, { "latency_ms", true }, { "attempts", true },
	{ "input_tokens", true }, { "output_tokens", true },
	{ "cache_read_tokens", true }, { "cache_write_tokens", true },
	{ "error", false }, { "created_at", false }, { "intent", false },
	{ "stop_reason", false }, { "thinking_tokens", true },
};
static const struct db_column usage_columns[] = {
	{ "day", false }, { "model", false }, { "calls", true },
	{ "input_tokens", true }, { "output_tokens", true },
	{ "cache_read_tokens", true }, { "cache_write_tokens", true },
	{ "cache_write_1h_tokens", true }, { "thinking_tokens", true },
	{ "long_prompt_calls", true }, { "long_input_tokens", true },
	{ "long_output_tokens", true }, { "long_cache_read_tokens", true },
	{ "long_cache_write_tokens", true },
	{ "long_cache_write_1h_tokens", true },
};

#define NCOLS(c)	(int)(sizeof(c) / sizeof((c)[0]))

static void
add_text(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, value != NULL ?
	    json_object_new_string(value) : NULL);
}

static void
add_int(json_object *o, const char *key, long value)
{
	json_object_object_add(o, key, json_object_new_int64(value));
}

bs_err
db_agent_runs_add(struct db_conn *c, enum db_run_owner owner,
    const char *owner_id, const char *project_id, const char *user_id,
    const struct db_agent_run *runs, size_t n)
{
	json_object	*a, *o;
	const char	*v[4];
	size_t		 i;
	bs_err		 e;

	if (n == 0)
		return BS_OK;
	if ((a = json_object_new_array_ext((int)n)) == NULL)
		return BS_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		const struct db_agent_run *r = &runs[i];

		o = json_object_new_object();
		add_text(o, "agent", r->agent);
		add_text(o, "model", r->model);
		add_text(o, "status", r->status);
		add_int(o, "latency_ms", r->latency_ms);
		add_int(o, "attempts", r->attempts);
		add_int(o, "input_tokens", r->input_tokens);
		add_int(o, "output_tokens", r->output_tokens);
		add_int(o, "cache_read_tokens", r->cache_read_tokens);
		add_int(o, "cache_write_tokens", r->cache_write_tokens);
		add_text(o, "error", r->error);
		add_text(o, "stop_reason", r->stop_reason != NULL &&
		    r->stop_reason[0] != '\0' ? r->stop_reason : NULL);
		add_int(o, "thinking_tokens", r->thinking_tokens);
		add_int(o, "cache_write_1h_tokens", r->cache_write_1h_tokens);
		json_object_array_add(a, o);
	}
	v[0] = owner_id;
	v[1] = project_id;
	v[2] = user_id;
	v[3] = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
	e = db_run(c, &db_agent_run_stmts[owner == DB_RUNS_OF_GENERATION ?
	    STMT_GENERATION_RUN_INSERT : STMT_AGENT_RUN_INSERT], v);
	json_object_put(a);
	return e;
}

bs_err
db_activity_list(struct db_conn *c, const char *project_id, int limit,
    json_object **out)
{
	char		 lim[16];
	const char	*v[] = { project_id, lim };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", limit);
	if ((e = db_exec(c, &db_agent_run_stmts[STMT_ACTIVITY_LIST], v, &res, NULL)) == BS_OK)
		e = db_rows_json(res, activity_columns, NCOLS(activity_columns), out);
	PQclear(res);
	return e;
}

bs_err
db_usage_list(struct db_conn *c, const char *user_id, int days, json_object **out)
{
	char		 d[16];
	const char	*v[] = { user_id, d };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	snprintf(d, sizeof(d), "%d", days);
	if ((e = db_exec(c, &db_agent_run_stmts[STMT_USAGE_LIST], v, &res, NULL)) == BS_OK)
		e = db_rows_json(res, usage_columns, NCOLS(usage_columns), out);
	PQclear(res);
	return e;
}
