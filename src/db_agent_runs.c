#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db_turns.h"

/* Agent runs: one row per model call of a turn, read as activity and usage. */

enum agent_run_stmt {
	STMT_AGENT_RUN_INSERT, STMT_ACTIVITY_LIST, STMT_USAGE_LIST,
	AGENT_RUN_STMT__COUNT
};

/* The agent run statements; db_stmt_tables lists the table (names unique). */
const struct db_stmt db_agent_run_stmts[AGENT_RUN_STMT__COUNT] = {
	/* A turn's runs, in the order given (their ids keep it). */
	[STMT_AGENT_RUN_INSERT] = { "agent_run_insert",
	  "INSERT INTO agent_runs (turn_id, project_id, user_id, agent, model, status, "
	  "latency_ms, attempts, input_tokens, output_tokens, cache_read_tokens, "
	  "cache_write_tokens, error, stop_reason, thinking_tokens, "
	  "cache_write_1h_tokens) SELECT $1, $2, $3, r.agent, r.model, r.status, "
	  "r.latency_ms, r.attempts, r.input_tokens, r.output_tokens, "
	  "r.cache_read_tokens, r.cache_write_tokens, r.error, r.stop_reason, "
	  "r.thinking_tokens, r.cache_write_1h_tokens "
	  "FROM ROWS FROM (json_to_recordset($4::json) AS (agent text, "
	  "model text, status text, latency_ms integer, attempts integer, "
	  "input_tokens integer, output_tokens integer, cache_read_tokens integer, "
	  "cache_write_tokens integer, error text, stop_reason text, "
	  "thinking_tokens integer, cache_write_1h_tokens integer)) "
	  "WITH ORDINALITY AS r(agent, model, status, latency_ms, attempts, "
	  "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
	  "error, stop_reason, thinking_tokens, cache_write_1h_tokens, n) "
	  "ORDER BY r.n", 4 },
	[STMT_ACTIVITY_LIST] = { "activity_list",
	  "SELECT r.turn_id, r.agent, r.model, r.status, r.latency_ms, r.attempts, "
	  "r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, "
	  "r.error, " DB_ISO_UTC("r.created_at") ", t.intent, r.stop_reason, "
	  "r.thinking_tokens FROM agent_runs r "
	  "JOIN turns t ON t.id = r.turn_id WHERE r.project_id = $1 "
	  "ORDER BY r.id DESC LIMIT $2", 2 },
	[STMT_USAGE_LIST] = { "usage_list",
	  "SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), "
	  "'YYYY-MM-DD'), model, count(*), sum(input_tokens), sum(output_tokens), "
	  "sum(cache_read_tokens), sum(cache_write_tokens), "
	  "sum(cache_write_1h_tokens), sum(thinking_tokens) FROM agent_runs "
	  "WHERE user_id = $1 AND created_at > now() - make_interval(days => $2) "
	  "GROUP BY 1, 2 ORDER BY 1 DESC, 2", 2 },
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
};

#define NCOLS(c)	(int)(sizeof(c) / sizeof((c)[0]))

void
db_agent_run_params(const char *owner_id, const char *project_id,
    const char *user_id, const struct db_agent_run *r,
    struct db_agent_run_values *out)
{
	char	(*n)[24] = out->num;

	snprintf(n[0], sizeof(n[0]), "%ld", r->latency_ms);
	snprintf(n[1], sizeof(n[1]), "%d", r->attempts);
	snprintf(n[2], sizeof(n[2]), "%ld", r->input_tokens);
	snprintf(n[3], sizeof(n[3]), "%ld", r->output_tokens);
	snprintf(n[4], sizeof(n[4]), "%ld", r->cache_read_tokens);
	snprintf(n[5], sizeof(n[5]), "%ld", r->cache_write_tokens);
	snprintf(n[6], sizeof(n[6]), "%ld", r->thinking_tokens);
	snprintf(n[7], sizeof(n[7]), "%ld", r->cache_write_1h_tokens);
	out->v[0] = owner_id;
	out->v[1] = project_id;
	out->v[2] = user_id;
	out->v[3] = r->agent;
	out->v[4] = r->model;
	out->v[5] = r->status;
	out->v[6] = n[0];
	out->v[7] = n[1];
	out->v[8] = n[2];
	out->v[9] = n[3];
	out->v[10] = n[4];
	out->v[11] = n[5];
	out->v[12] = r->error;
	out->v[13] = r->stop_reason != NULL && r->stop_reason[0] != '\0' ?
	    r->stop_reason : NULL;
	out->v[14] = n[6];
	out->v[15] = n[7];
}

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
db_agent_runs_add(struct db_conn *c, const char *turn_id, const char *project_id,
    const char *user_id, const struct db_agent_run *runs, size_t n)
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
	v[0] = turn_id;
	v[1] = project_id;
	v[2] = user_id;
	v[3] = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
	e = db_run(c, &db_agent_run_stmts[STMT_AGENT_RUN_INSERT], v);
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
