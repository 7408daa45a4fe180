#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db_turns.h"

#define MESSAGE_COLUMNS	"m.id, m.project_id, m.role, m.agent, m.content, " \
			"m.turn_id, " DB_ISO_UTC("m.created_at")

/*
 * The message and its turn point at each other: both ids are made first
 * and both rows inserted by one statement (foreign keys are checked at its
 * end).
 */
static const struct db_stmt message_insert_user = { "message_insert_user",
	"WITH ids AS (SELECT gen_random_uuid() AS mid, gen_random_uuid() AS tid), "
	"t AS (INSERT INTO turns (id, project_id, user_message_id, status) "
	"SELECT tid, $1, mid, 'running' FROM ids), "
	"m AS (INSERT INTO messages (id, project_id, role, content, turn_id) "
	"SELECT mid, $1, 'user', $2, tid FROM ids RETURNING *) "
	"SELECT " MESSAGE_COLUMNS " FROM m", 2 };
static const struct db_stmt message_insert = { "message_insert",
	"INSERT INTO messages AS m (project_id, role, agent, content, turn_id) "
	"VALUES ($1, 'assistant', $2, $3, $4) RETURNING " MESSAGE_COLUMNS, 4 };
static const struct db_stmt turn_reopen = { "turn_reopen",
	"WITH old AS (SELECT t.id, t.status FROM turns t WHERE t.id = $2::uuid "
	"AND t.project_id = $1 FOR UPDATE), "
	"upd AS (UPDATE turns t SET status = 'running', error = NULL, "
	"started_at = now(), finished_at = NULL FROM old "
	"WHERE t.id = old.id AND old.status = 'failed' RETURNING t.user_message_id) "
	"SELECT old.status, upd.user_message_id, m.content FROM old "
	"LEFT JOIN upd ON true LEFT JOIN messages m ON m.id = upd.user_message_id", 2 };
static const struct db_stmt turns_fail_stale = { "turns_fail_stale",
	"UPDATE turns SET status = 'failed', finished_at = now(), "
	"error = 'The worker running this turn stopped before it finished.' "
	"WHERE project_id = $1 AND status = 'running' "
	"AND started_at < now() - make_interval(secs => $2)", 2 };
static const struct db_stmt turn_finish = { "turn_finish",
	"UPDATE turns SET intent = $2, confidence = $3, status = $4, error = $5, "
	"finished_at = now() WHERE id = $1", 5 };
static const struct db_stmt messages_page = { "messages_page",
	"SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.project_id = $1 "
	"AND ($2::uuid IS NULL OR (m.created_at, m.id) < "
	"(SELECT created_at, id FROM messages WHERE id = $2::uuid AND project_id = $1)) "
	"ORDER BY m.created_at DESC, m.id DESC LIMIT $3", 3 };
static const struct db_stmt message_exists = { "message_exists",
	"SELECT 1 FROM messages WHERE id = $2::uuid AND project_id = $1", 2 };
static const struct db_stmt messages_recent = { "messages_recent",
	"SELECT * FROM (SELECT " MESSAGE_COLUMNS ", m.created_at AS at FROM messages m "
	"WHERE m.project_id = $1 AND m.id IS DISTINCT FROM $2::uuid "
	"ORDER BY m.created_at DESC, m.id DESC LIMIT $3) r ORDER BY at, id", 3 };
static const struct db_stmt agent_run_insert = { "agent_run_insert",
	"INSERT INTO agent_runs (turn_id, project_id, user_id, agent, model, status, "
	"latency_ms, attempts, input_tokens, output_tokens, cache_read_tokens, "
	"cache_write_tokens, error, stop_reason, thinking_tokens, "
	"cache_write_1h_tokens) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
	"$10, $11, $12, $13, $14, $15, $16)", 16 };
static const struct db_stmt activity_list = { "activity_list",
	"SELECT r.turn_id, r.agent, r.model, r.status, r.latency_ms, r.attempts, "
	"r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, "
	"r.error, " DB_ISO_UTC("r.created_at") ", t.intent, r.stop_reason, "
	"r.thinking_tokens FROM agent_runs r "
	"JOIN turns t ON t.id = r.turn_id WHERE r.project_id = $1 "
	"ORDER BY r.id DESC LIMIT $2", 2 };
static const struct db_stmt usage_list = { "usage_list",
	"SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), "
	"'YYYY-MM-DD'), model, count(*), sum(input_tokens), sum(output_tokens), "
	"sum(cache_read_tokens), sum(cache_write_tokens), "
	"sum(cache_write_1h_tokens), sum(thinking_tokens) FROM agent_runs "
	"WHERE user_id = $1 AND created_at > now() - make_interval(days => $2) "
	"GROUP BY 1, 2 ORDER BY 1 DESC, 2", 2 };

static const struct db_column message_columns[] = {
	{ "id", false }, { "project_id", false }, { "role", false },
	{ "agent", false }, { "content", false }, { "turn_id", false },
	{ "created_at", false },
};
#define MESSAGE_NCOLUMNS \
	(int)(sizeof(message_columns) / sizeof(message_columns[0]))

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

bs_err
db_turn_open(struct db_conn *c, const char *project_id, const char *content,
    char message_id[DB_ID_LEN], char turn_id[DB_ID_LEN], json_object **message)
{
	const char	*v[] = { project_id, content };
	PGresult	*res = NULL;
	bs_err		 e;

	*message = NULL;
	if ((e = db_exec(c, &message_insert_user, v, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(message_id, DB_ID_LEN, "%s", PQgetvalue(res, 0, 0));
	snprintf(turn_id, DB_ID_LEN, "%s", PQgetvalue(res, 0, 5));
	e = db_row_json(res, 0, message_columns, MESSAGE_NCOLUMNS, message);
out:
	PQclear(res);
	return e;
}

bs_err
db_turn_reopen(struct db_conn *c, const char *project_id, const char *turn_id,
    char message_id[DB_ID_LEN], char **content)
{
	const char	*v[] = { project_id, turn_id };
	PGresult	*res = NULL;
	char		 state[6];
	bs_err		 e;

	*content = NULL;
	if ((e = db_exec(c, &turn_reopen, v, &res, state)) != BS_OK) {
		if (strcmp(state, "22P02") == 0)
			e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (PQgetisnull(res, 0, 1)) {
		e = BS_ERR_CONFLICT;
		goto out;
	}
	snprintf(message_id, DB_ID_LEN, "%s", PQgetvalue(res, 0, 1));
	if ((*content = strdup(PQgetvalue(res, 0, 2))) == NULL)
		e = BS_ERR_NOMEM;
out:
	PQclear(res);
	return e;
}

bs_err
db_turns_fail_stale(struct db_conn *c, const char *project_id, long stale_s)
{
	char		 secs[32];
	const char	*v[] = { project_id, secs };

	snprintf(secs, sizeof(secs), "%ld", stale_s);
	return db_run(c, &turns_fail_stale, v);
}

bs_err
db_turn_finish(struct db_conn *c, const char *turn_id, const char *intent,
    int confidence, const char *status, const char *error)
{
	char		 conf[16];
	const char	*v[] = { turn_id, intent, conf, status, error };

	snprintf(conf, sizeof(conf), "%d", confidence);
	return db_run(c, &turn_finish, v);
}

bs_err
db_message_add(struct db_conn *c, const char *project_id, const char *turn_id,
    const char *agent, const char *content, json_object **message)
{
	const char	*v[] = { project_id, agent, content, turn_id };
	PGresult	*res = NULL;
	bs_err		 e;

	if (message != NULL)
		*message = NULL;
	if ((e = db_exec(c, &message_insert, v, &res, NULL)) == BS_OK &&
	    message != NULL)
		e = db_row_json(res, 0, message_columns, MESSAGE_NCOLUMNS, message);
	PQclear(res);
	return e;
}

bs_err
db_messages_list(struct db_conn *c, const char *project_id, const char *before,
    int limit, json_object **out)
{
	char		 lim[16];
	const char	*v[] = { project_id, before, lim };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", limit);
	if (before != NULL) {
		if ((e = db_exec(c, &message_exists, v, &res, NULL)) != BS_OK)
			goto out;
		if (PQntuples(res) != 1) {
			e = BS_ERR_NOT_FOUND;
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	if ((e = db_exec(c, &messages_page, v, &res, NULL)) == BS_OK)
		e = db_rows_json(res, message_columns, MESSAGE_NCOLUMNS, out);
out:
	PQclear(res);
	return e;
}

bs_err
db_messages_recent(struct db_conn *c, const char *project_id,
    const char *exclude_id, int limit, json_object **out)
{
	char		 lim[16];
	const char	*v[] = { project_id, exclude_id, lim };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", limit);
	if ((e = db_exec(c, &messages_recent, v, &res, NULL)) == BS_OK)
		e = db_rows_json(res, message_columns, MESSAGE_NCOLUMNS, out);
	PQclear(res);
	return e;
}

bs_err
db_agent_run_add(struct db_conn *c, const char *turn_id, const char *project_id,
    const char *user_id, const struct db_agent_run *r)
{
	char		 n[8][24];
	const char	*v[16];

	snprintf(n[0], sizeof(n[0]), "%ld", r->latency_ms);
	snprintf(n[1], sizeof(n[1]), "%d", r->attempts);
	snprintf(n[2], sizeof(n[2]), "%ld", r->input_tokens);
	snprintf(n[3], sizeof(n[3]), "%ld", r->output_tokens);
	snprintf(n[4], sizeof(n[4]), "%ld", r->cache_read_tokens);
	snprintf(n[5], sizeof(n[5]), "%ld", r->cache_write_tokens);
	v[0] = turn_id;
	v[1] = project_id;
	v[2] = user_id;
	v[3] = r->agent;
	v[4] = r->model;
	v[5] = r->status;
	v[6] = n[0];
	v[7] = n[1];
	v[8] = n[2];
	v[9] = n[3];
	v[10] = n[4];
	v[11] = n[5];
	v[12] = r->error;
	v[13] = r->stop_reason != NULL && r->stop_reason[0] != '\0' ?
	    r->stop_reason : NULL;
	snprintf(n[6], sizeof(n[6]), "%ld", r->thinking_tokens);
	snprintf(n[7], sizeof(n[7]), "%ld", r->cache_write_1h_tokens);
	v[14] = n[6];
	v[15] = n[7];
	return db_run(c, &agent_run_insert, v);
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
	if ((e = db_exec(c, &activity_list, v, &res, NULL)) == BS_OK)
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
	if ((e = db_exec(c, &usage_list, v, &res, NULL)) == BS_OK)
		e = db_rows_json(res, usage_columns, NCOLS(usage_columns), out);
	PQclear(res);
	return e;
}
