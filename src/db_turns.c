#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db_turns.h"
#include "brainstorm/json.h"

/* A queued turn waits this long for the engine of its process. */
#define TURN_HANDOFF	"2 seconds"

#define MESSAGE_COLUMNS	"m.id, m.project_id, m.role, m.agent, m.content, " \
			"m.turn_id, " DB_ISO_UTC("m.created_at")

/*
 * The message and its turn point at each other: both ids are made first
 * and both rows inserted by one statement (foreign keys are checked at its
 * end). The turn waits in the queue for an engine.
 */
static const struct db_stmt message_insert_user = { "message_insert_user",
	"WITH ids AS (SELECT gen_random_uuid() AS mid, gen_random_uuid() AS tid), "
	"t AS (INSERT INTO turns (id, project_id, user_message_id, status, user_id, "
	"queued_by) SELECT tid, $1, mid, 'queued', $3, $4 FROM ids), "
	"m AS (INSERT INTO messages (id, project_id, role, content, turn_id) "
	"SELECT mid, $1, 'user', $2, tid FROM ids RETURNING *) "
	"SELECT " MESSAGE_COLUMNS " FROM m", 4 };
static const struct db_stmt message_insert = { "message_insert",
	"INSERT INTO messages AS m (project_id, role, agent, content, turn_id) "
	"VALUES ($1, 'assistant', $2, $3, $4) RETURNING " MESSAGE_COLUMNS, 4 };
/* A failed turn back in the queue; its stored message is asked again. */
static const struct db_stmt turn_requeue = { "turn_requeue",
	"WITH old AS (SELECT t.id, t.status FROM turns t WHERE t.id = $2::uuid "
	"AND t.project_id = $1 FOR UPDATE), "
	"upd AS (UPDATE turns t SET status = 'queued', error = NULL, user_id = $3, "
	"queued_by = $4, "
	"queued_at = now(), started_at = now(), finished_at = NULL, runs = 0, "
	"retry = true, lease_owner = NULL, lease_until = NULL FROM old "
	"WHERE t.id = old.id AND old.status = 'failed' RETURNING t.user_message_id) "
	"SELECT " MESSAGE_COLUMNS ", old.status, upd.user_message_id FROM old "
	"LEFT JOIN upd ON true LEFT JOIN messages m ON m.id = upd.user_message_id", 4 };
/*
 * The queue's bounds, counted under a lock of the user's so that two of
 * their requests cannot both pass the last free place.
 */
static const struct db_stmt turn_queue_counts = { "turn_queue_counts",
	"SELECT pg_advisory_xact_lock(hashtextextended('turns:' || $1, 0))::text, "
	"(SELECT count(*) FROM turns WHERE status = 'queued'), "
	"(SELECT count(*) FROM turns WHERE user_id = $1::uuid "
	"AND status IN ('queued', 'running'))", 1 };
/* Ends the run: the lease goes with it. */
static const struct db_stmt turn_finish = { "turn_finish",
	"UPDATE turns SET intent = $2, confidence = $3, status = $4, error = $5, "
	"notes = coalesce($6::jsonb, '[]'), finished_at = now(), "
	"lease_owner = NULL, lease_until = NULL WHERE id = $1", 6 };
/*
 * The oldest queued turns, and running ones whose engine let the lease
 * expire, each leased to owner. A turn queued by a process with an engine
 * is that engine's for its first TURN_HANDOFF seconds (it was told at
 * once); then any engine's. SKIP LOCKED: engines claiming at the same
 * moment take different turns. The candidates come from the two partial
 * indexes; the outer condition checks them again under the row lock.
 */
static const struct db_stmt turns_claim = { "turns_claim",
	"WITH c AS (SELECT id FROM turns WHERE id IN ("
	"(SELECT id FROM turns WHERE status = 'queued' AND (queued_by IS NULL OR "
	"queued_by = $1 OR queued_at < now() - interval '" TURN_HANDOFF "') "
	"ORDER BY queued_at LIMIT $2 * 4) UNION ALL (SELECT id FROM turns WHERE status = 'running' "
	"AND lease_until < now() ORDER BY lease_until LIMIT $2)) "
	"AND (status = 'queued' OR (status = 'running' AND lease_until < now())) "
	"ORDER BY queued_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
	"UPDATE turns t SET status = 'running', lease_owner = $1, "
	"lease_until = now() + make_interval(secs => $3), runs = t.runs + 1, "
	"started_at = CASE WHEN t.runs = 0 THEN now() ELSE t.started_at END "
	"FROM c WHERE t.id = c.id RETURNING t.id, t.project_id, t.user_id, "
	"t.user_message_id, t.runs, t.retry", 3 };
static const struct db_stmt turns_renew = { "turns_renew",
	"UPDATE turns SET lease_until = now() + make_interval(secs => $3) "
	"WHERE lease_owner = $1 AND status = 'running' AND id = ANY($2::uuid[])",
	3 };
/* In the transaction that saves a turn: still ours? */
static const struct db_stmt turn_hold = { "turn_hold",
	"SELECT 1 FROM turns WHERE id = $1 AND lease_owner = $2 "
	"AND status = 'running' FOR UPDATE", 2 };
static const struct db_stmt turn_get = { "turn_get",
	"SELECT t.id, t.status, t.intent, t.confidence, t.error, t.runs, "
	DB_ISO_UTC("t.queued_at") ", " DB_ISO_UTC("t.finished_at") ", t.notes, "
	"extract(epoch FROM now() - t.finished_at)::bigint "
	"FROM turns t WHERE t.id = $2::uuid AND t.project_id = $1", 2 };
static const struct db_stmt turn_messages = { "turn_messages",
	"SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.turn_id = $1 "
	"ORDER BY m.created_at, m.id", 1 };
static const struct db_stmt message_get = { "message_get",
	"SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.id = $1", 1 };
/* The items the turn changed, as they are now. */
static const struct db_stmt turn_items = { "turn_items",
	"SELECT i.id, i.text, i.state, i.confidence, i.user_quote FROM items i "
	"WHERE i.id IN (SELECT e.item_id FROM item_events e WHERE e.turn_id = $1) "
	"ORDER BY i.position, i.id", 1 };
static const struct db_stmt turns_count = { "turns_count",
	"SELECT (SELECT count(*) FROM turns WHERE status = 'queued'), "
	"(SELECT count(*) FROM turns WHERE status = 'running')", 0 };
static const struct db_stmt turn_runs = { "turn_runs",
	"SELECT agent, status, latency_ms, error FROM agent_runs "
	"WHERE turn_id = $1 ORDER BY id", 1 };
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

/* Whether the queue takes one more turn of user_id. Transaction open. */
static bs_err
queue_room(struct db_conn *c, const char *user_id,
    const struct db_turn_limits *lim)
{
	const char	*v[] = { user_id };
	PGresult	*res = NULL;
	long long	 queued, mine;
	bs_err		 e;

	if ((e = db_exec(c, &turn_queue_counts, v, &res, NULL)) != BS_OK)
		goto out;
	if ((e = db_int64(PQgetvalue(res, 0, 1), &queued)) != BS_OK ||
	    (e = db_int64(PQgetvalue(res, 0, 2), &mine)) != BS_OK)
		goto out;
	if (queued >= lim->queue_max)
		e = BS_ERR_TOO_LARGE;
	else if (mine >= lim->user_max)
		e = BS_ERR_RATE_LIMITED;
out:
	PQclear(res);
	return e;
}

bs_err
db_turn_queue(struct db_conn *c, const struct db_turn_limits *lim,
    const char *project_id, const char *user_id, const char *content,
    const char *retry_turn_id, const char *queued_by, char turn_id[DB_ID_LEN],
    json_object **message)
{
	const char	*v[] = { project_id, content, user_id, queued_by };
	const char	*r[] = { project_id, retry_turn_id, user_id, queued_by };
	PGresult	*res = NULL;
	char		 state[6] = "";
	bool		 begun = false;
	bs_err		 e;

	*message = NULL;
	if ((e = db_command(c, "BEGIN")) != BS_OK)
		goto out;
	begun = true;
	if ((e = queue_room(c, user_id, lim)) != BS_OK)
		goto out;
	if (retry_turn_id == NULL) {
		if ((e = db_exec(c, &message_insert_user, v, &res, state)) != BS_OK)
			goto out;
		if (PQntuples(res) != 1) {
			e = BS_ERR_NOT_FOUND;
			goto out;
		}
		snprintf(turn_id, DB_ID_LEN, "%s", PQgetvalue(res, 0, 5));
		e = db_row_json(res, 0, message_columns, MESSAGE_NCOLUMNS, message);
	} else {
		if ((e = db_exec(c, &turn_requeue, r, &res, state)) != BS_OK)
			goto out;
		if (PQntuples(res) != 1)
			e = BS_ERR_NOT_FOUND;
		else if (PQgetisnull(res, 0, MESSAGE_NCOLUMNS + 1))
			e = BS_ERR_CONFLICT;
		else {
			snprintf(turn_id, DB_ID_LEN, "%s", retry_turn_id);
			e = db_row_json(res, 0, message_columns, MESSAGE_NCOLUMNS,
			    message);
		}
	}
	if (e == BS_OK)
		e = db_command(c, "COMMIT");
out:
	if (e != BS_OK && begun)
		db_command(c, "ROLLBACK");
	if (strcmp(state, "23505") == 0)	/* the project's one active turn */
		e = BS_ERR_LOCKED;
	else if (strcmp(state, "22P02") == 0)
		e = BS_ERR_NOT_FOUND;
	if (e != BS_OK) {
		json_object_put(*message);
		*message = NULL;
	}
	PQclear(res);
	return e;
}

bs_err
db_turn_finish(struct db_conn *c, const char *turn_id, const char *intent,
    int confidence, const char *status, const char *error, json_object *notes)
{
	char		 conf[16];
	const char	*v[] = { turn_id, intent, conf, status, error,
	    notes != NULL ? json_object_to_json_string_ext(notes,
	    JSON_C_TO_STRING_PLAIN) : NULL };

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

bs_err
db_turns_claim(struct db_conn *c, const char *owner, int max, long lease_s,
    struct db_turn_job *jobs, int *njobs)
{
	char		 n[16], secs[32];
	const char	*v[] = { owner, n, secs };
	PGresult	*res = NULL;
	long long	 runs;
	int		 i;
	bs_err		 e;

	*njobs = 0;
	snprintf(n, sizeof(n), "%d", max);
	snprintf(secs, sizeof(secs), "%ld", lease_s);
	if ((e = db_exec(c, &turns_claim, v, &res, NULL)) != BS_OK)
		goto out;
	for (i = 0; i < PQntuples(res) && i < max; i++) {
		struct db_turn_job *j = &jobs[i];

		memset(j, 0, sizeof(*j));
		snprintf(j->turn_id, DB_ID_LEN, "%s", PQgetvalue(res, i, 0));
		snprintf(j->project_id, DB_ID_LEN, "%s", PQgetvalue(res, i, 1));
		snprintf(j->user_id, DB_ID_LEN, "%s", PQgetvalue(res, i, 2));
		snprintf(j->message_id, DB_ID_LEN, "%s", PQgetvalue(res, i, 3));
		j->runs = db_int64(PQgetvalue(res, i, 4), &runs) == BS_OK ?
		    (int)runs : 1;
		j->retry = PQgetvalue(res, i, 5)[0] == 't';
		*njobs = i + 1;
	}
out:
	PQclear(res);
	return e;
}

bs_err
db_turns_renew(struct db_conn *c, const char *owner, const char *ids,
    long lease_s)
{
	char		 secs[32];
	const char	*v[] = { owner, ids, secs };

	snprintf(secs, sizeof(secs), "%ld", lease_s);
	return db_run(c, &turns_renew, v);
}

bs_err
db_turn_hold(struct db_conn *c, const char *turn_id, const char *owner)
{
	const char	*v[] = { turn_id, owner };
	PGresult	*res = NULL;
	bs_err		 e;

	if ((e = db_exec(c, &turn_hold, v, &res, NULL)) == BS_OK &&
	    PQntuples(res) != 1)
		e = BS_ERR_CONFLICT;
	PQclear(res);
	return e;
}

static const struct db_column turn_columns[] = {
	{ "turn_id", false }, { "status", false }, { "intent", false },
	{ "confidence", true }, { "error", false }, { "runs", true },
	{ "queued_at", false }, { "finished_at", false }, { "notes", false },
};
static const struct db_column turn_item_columns[] = {
	{ "id", false }, { "text", false }, { "state", false },
	{ "confidence", true }, { "user_quote", false },
};
static const struct db_column run_columns[] = {
	{ "agent", false }, { "status", false }, { "latency_ms", true },
	{ "error", false },
};

bs_err
db_turn_get(struct db_conn *c, const char *project_id, const char *turn_id,
    json_object **out, long *finished_ago_s)
{
	const char	*v[] = { project_id, turn_id };
	const char	*t[] = { turn_id };
	PGresult	*res = NULL;
	json_object	*messages = NULL, *runs = NULL, *m;
	long long	 ago = -1;
	char		 state[6] = "";
	size_t		 i;
	bs_err		 e;

	*out = NULL;
	*finished_ago_s = -1;
	if ((e = db_exec(c, &turn_get, v, &res, state)) != BS_OK) {
		if (strcmp(state, "22P02") == 0)
			e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (!PQgetisnull(res, 0, NCOLS(turn_columns)) &&
	    db_int64(PQgetvalue(res, 0, NCOLS(turn_columns)), &ago) == BS_OK)
		*finished_ago_s = (long)ago;
	if ((e = db_row_json(res, 0, turn_columns, NCOLS(turn_columns), out)) !=
	    BS_OK)
		goto out;
	/* notes is jsonb: the array itself, not its text. */
	m = json_tokener_parse(json_member_string(*out, "notes") != NULL ?
	    json_member_string(*out, "notes") : "[]");
	json_object_object_add(*out, "notes", m != NULL ? m : json_object_new_array());
	PQclear(res);
	res = NULL;
	if ((e = db_exec(c, &turn_messages, t, &res, NULL)) != BS_OK ||
	    (e = db_rows_json(res, message_columns, MESSAGE_NCOLUMNS,
	    &messages)) != BS_OK)
		goto out;
	PQclear(res);
	res = NULL;
	if ((e = db_exec(c, &turn_runs, t, &res, NULL)) != BS_OK ||
	    (e = db_rows_json(res, run_columns, NCOLS(run_columns), &runs)) != BS_OK)
		goto out;
	/* The person's message, the reply, and what the other agents said. */
	json_object_object_add(*out, "message", NULL);
	json_object_object_add(*out, "reply", NULL);
	json_object_object_add(*out, "messages", json_object_new_array());
	for (i = 0; i < json_object_array_length(messages); i++) {
		m = json_object_array_get_idx(messages, i);
		if (strcmp(json_member_string(m, "role"), "user") == 0)
			json_object_object_add(*out, "message", json_object_get(m));
		else if (json_object_get_type(json_object_object_get(*out,
		    "reply")) == json_type_null && json_member_string(m, "agent") !=
		    NULL && strcmp(json_member_string(m, "agent"), "conversation") == 0)
			json_object_object_add(*out, "reply", json_object_get(m));
		else
			json_object_array_add(json_object_object_get(*out,
			    "messages"), json_object_get(m));
	}
	json_object_object_add(*out, "agents", runs);
	runs = NULL;
	PQclear(res);
	res = NULL;
	if ((e = db_exec(c, &turn_items, t, &res, NULL)) != BS_OK ||
	    (e = db_rows_json(res, turn_item_columns, NCOLS(turn_item_columns),
	    &runs)) != BS_OK)
		goto out;
	json_object_object_add(*out, "items", runs);
	runs = NULL;
out:
	if (e != BS_OK) {
		json_object_put(*out);
		*out = NULL;
	}
	json_object_put(messages);
	json_object_put(runs);
	PQclear(res);
	return e;
}

bs_err
db_message_get(struct db_conn *c, const char *message_id, json_object **out)
{
	const char	*v[] = { message_id };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	if ((e = db_exec(c, &message_get, v, &res, NULL)) == BS_OK) {
		if (PQntuples(res) != 1)
			e = BS_ERR_NOT_FOUND;
		else
			e = db_row_json(res, 0, message_columns, MESSAGE_NCOLUMNS,
			    out);
	}
	PQclear(res);
	return e;
}

bs_err
db_turns_count(struct db_conn *c, long *queued, long *running)
{
	PGresult	*res = NULL;
	long long	 q, r;
	bs_err		 e;

	if ((e = db_exec(c, &turns_count, NULL, &res, NULL)) == BS_OK &&
	    (e = db_int64(PQgetvalue(res, 0, 0), &q)) == BS_OK &&
	    (e = db_int64(PQgetvalue(res, 0, 1), &r)) == BS_OK) {
		*queued = (long)q;
		*running = (long)r;
	}
	PQclear(res);
	return e;
}
