#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db_turns.h"
#include "brainstorm/json.h"

/* A queued turn waits this long for the engine of its process. */
#define TURN_HANDOFF	"2 seconds"

/*
 * The queue's counts for a user and a project: queued turns of everybody,
 * active ones of the user's, and whether the conversation has room for a
 * message and its reply (room: the most messages, or NULL for no bound).
 */
#define TURN_ROOM_SQL(user, project, room) \
	"SELECT (SELECT count(*) FROM turns WHERE status = 'queued') AS queued, " \
	"(SELECT count(*) FROM turns WHERE user_id = " user "::uuid " \
	"AND status IN ('queued', 'running')) AS mine, " \
	"(SELECT " room "::bigint IS NULL OR count(*) + 2 <= " room "::bigint " \
	"FROM messages WHERE project_id = " project "::uuid) AS fits"

enum turn_stmt {
	STMT_MESSAGE_INSERT_USER, STMT_TURN_REQUEUE, STMT_TURN_QUEUE_LOCK,
	STMT_TURN_QUEUE_COUNTS,
	STMT_TURN_FINISH, STMT_TURNS_CLAIM, STMT_TURNS_RENEW, STMT_TURN_HOLD,
	STMT_TURN_GET, STMT_TURN_MESSAGES, STMT_TURN_ITEMS, STMT_TURNS_COUNT,
	STMT_TURN_RUNS, TURN_STMT__COUNT
};

/* The turn queue statements; db_stmt_tables lists the table (names unique). */
const struct db_stmt db_turn_stmts[TURN_STMT__COUNT] = {
	/*
	 * The message and its turn point at each other: both ids are made first
	 * and both rows inserted by one statement (foreign keys are checked at its
	 * end), when the queue has room: its counts come after the columns of the
	 * message, which are NULL without room. The turn waits in the queue for
	 * an engine. Runs after STMT_TURN_QUEUE_LOCK, in its transaction.
	 */
	[STMT_MESSAGE_INSERT_USER] = { "message_insert_user",
	  "WITH room AS (" TURN_ROOM_SQL("$3", "$1", "$5") "), "
	  "ids AS (SELECT gen_random_uuid() AS mid, gen_random_uuid() AS tid "
	  "FROM room WHERE queued < $6::bigint AND mine < $7::bigint AND fits), "
	  "t AS (INSERT INTO turns (id, project_id, user_message_id, status, user_id, "
	  "queued_by) SELECT tid, $1, mid, 'queued', $3, $4 FROM ids), "
	  "m AS (INSERT INTO messages (id, project_id, role, content, turn_id) "
	  "SELECT mid, $1, 'user', $2, tid FROM ids RETURNING *) "
	  "SELECT " DB_MESSAGE_COLUMNS ", room.queued, room.mine, room.fits "
	  "FROM room LEFT JOIN m ON true", 7 },
	/* A failed turn back in the queue; its stored message is asked again. */
	[STMT_TURN_REQUEUE] = { "turn_requeue",
	  "WITH old AS (SELECT t.id, t.status FROM turns t WHERE t.id = $2::uuid "
	  "AND t.project_id = $1 AND t.document_kind IS NULL FOR UPDATE), "
	  "upd AS (UPDATE turns t SET status = 'queued', error = NULL, user_id = $3, "
	  "queued_by = $4, "
	  "queued_at = now(), started_at = now(), finished_at = NULL, runs = 0, "
	  "retry = true, lease_owner = NULL, lease_until = NULL FROM old "
	  "WHERE t.id = old.id AND old.status = 'failed' RETURNING t.user_message_id) "
	  "SELECT " DB_MESSAGE_COLUMNS ", old.status, upd.user_message_id FROM old "
	  "LEFT JOIN upd ON true LEFT JOIN messages m ON m.id = upd.user_message_id", 4 },
	/*
	 * The user's lock, until the transaction ends: two of their requests
	 * cannot both pass the last free place. A statement of its own: the
	 * counts must come from a snapshot taken after it is granted (under
	 * READ COMMITTED a statement sees the database as it was when the
	 * statement began, so counts in the statement that waited for the lock
	 * would miss the request that held it).
	 */
	[STMT_TURN_QUEUE_LOCK] = { "turn_queue_lock",
	  "SELECT pg_advisory_xact_lock(hashtextextended('turns:' || $1, 0))", 1 },
	/* The queue's bounds, under that lock. */
	[STMT_TURN_QUEUE_COUNTS] = { "turn_queue_counts",
	  TURN_ROOM_SQL("$1", "$2", "$3"), 3 },
	/* Ends the run: the lease goes with it. */
	[STMT_TURN_FINISH] = { "turn_finish",
	  "UPDATE turns SET intent = $2, confidence = $3, status = $4, error = $5, "
	  "notes = coalesce($6::jsonb, '[]'), finished_at = now(), "
	  "lease_owner = NULL, lease_until = NULL WHERE id = $1", 6 },
	/*
	 * The oldest queued turns, and running ones whose engine let the lease
	 * expire, each leased to owner. A turn queued by a process with an engine
	 * that had room is that engine's for its first TURN_HANDOFF seconds (it
	 * was told at once); then any engine's. SKIP LOCKED: engines claiming at
	 * the same moment take different turns. The candidates come from the two
	 * partial indexes; the outer condition checks them again under the row
	 * lock.
	 */
	[STMT_TURNS_CLAIM] = { "turns_claim",
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
	  "t.user_message_id, t.runs, t.retry, t.document_kind", 3 },
	[STMT_TURNS_RENEW] = { "turns_renew",
	  "UPDATE turns SET lease_until = now() + make_interval(secs => $3) "
	  "WHERE lease_owner = $1 AND status = 'running' AND id = ANY($2::uuid[])",
	  3 },
	/* In the transaction that saves a turn: still ours? */
	[STMT_TURN_HOLD] = { "turn_hold",
	  "SELECT 1 FROM turns WHERE id = $1 AND lease_owner = $2 "
	  "AND status = 'running' FOR UPDATE", 2 },
	[STMT_TURN_GET] = { "turn_get",
	  "SELECT t.id, t.status, t.intent, t.confidence, t.error, t.runs, "
	  DB_ISO_UTC("t.queued_at") ", " DB_ISO_UTC("t.finished_at") ", t.notes, "
	  "extract(epoch FROM now() - t.finished_at)::bigint "
	  "FROM turns t WHERE t.id = $2::uuid AND t.project_id = $1 "
	  "AND t.document_kind IS NULL", 2 },
	[STMT_TURN_MESSAGES] = { "turn_messages",
	  "SELECT " DB_MESSAGE_COLUMNS " FROM messages m WHERE m.turn_id = $1 "
	  "ORDER BY m.created_at, m.id", 1 },
	/* The items the turn changed, as they are now. */
	[STMT_TURN_ITEMS] = { "turn_items",
	  "SELECT i.id, i.text, i.state, i.confidence, i.user_quote FROM items i "
	  "WHERE i.id IN (SELECT e.item_id FROM item_events e WHERE e.turn_id = $1) "
	  "ORDER BY i.position, i.id", 1 },
	[STMT_TURNS_COUNT] = { "turns_count",
	  "SELECT (SELECT count(*) FROM turns WHERE status = 'queued'), "
	  "(SELECT count(*) FROM turns WHERE status = 'running')", 0 },
	[STMT_TURN_RUNS] = { "turn_runs",
	  "SELECT agent, status, latency_ms, error FROM agent_runs "
	  "WHERE turn_id = $1 ORDER BY id", 1 },
};
const size_t db_turn_nstmts = TURN_STMT__COUNT;

#define NCOLS(c)	(int)(sizeof(c) / sizeof((c)[0]))

/* Which bound TURN_ROOM_SQL's columns from col on say is reached, if any. */
static bs_err
room_check(PGresult *res, int col, const struct db_turn_limits *lim)
{
	long long	 queued, mine;
	bs_err		 e;

	if ((e = db_int64(PQgetvalue(res, 0, col), &queued)) != BS_OK ||
	    (e = db_int64(PQgetvalue(res, 0, col + 1), &mine)) != BS_OK)
		return e;
	if (queued >= lim->queue_max)
		return BS_ERR_TOO_LARGE;
	if (mine >= lim->user_max)
		return BS_ERR_RATE_LIMITED;
	if (PQgetvalue(res, 0, col + 2)[0] != 't')
		return BS_ERR_FULL;
	return BS_OK;
}

/* Whether the queue takes one more turn of user_id. Transaction open. */
bs_err
db_turns_room(struct db_conn *c, const char *user_id, const char *project_id,
    const struct db_turn_limits *lim)
{
	char		 room[24];
	const char	*v[] = { user_id, project_id,
	    lim->messages_max > 0 ? room : NULL };
	PGresult	*res = NULL;
	bs_err		 e;

	snprintf(room, sizeof(room), "%ld", lim->messages_max);
	if ((e = db_run(c, &db_turn_stmts[STMT_TURN_QUEUE_LOCK], v)) == BS_OK &&
	    (e = db_exec(c, &db_turn_stmts[STMT_TURN_QUEUE_COUNTS], v, &res,
	    NULL)) == BS_OK)
		e = room_check(res, 0, lim);
	PQclear(res);
	return e;
}

/*
 * A new message and its turn: the user's lock and the conditional insert in
 * one round trip (one transaction, the insert's snapshot taken after the
 * lock).
 */
static bs_err
message_queue(struct db_conn *c, const struct db_turn_limits *lim,
    const char *project_id, const char *user_id, const char *content,
    const char *queued_by, char turn_id[DB_ID_LEN], json_object **message,
    char *state)
{
	char		 room[24], qmax[24], umax[24];
	const char	*lock[] = { user_id };
	const char	*v[] = { project_id, content, user_id, queued_by,
	    lim->messages_max > 0 ? room : NULL, qmax, umax };
	struct db_step	 steps[] = {
		{ &db_turn_stmts[STMT_TURN_QUEUE_LOCK], lock },
		{ &db_turn_stmts[STMT_MESSAGE_INSERT_USER], v },
	};
	PGresult	*res = NULL;
	bs_err		 e;

	snprintf(room, sizeof(room), "%ld", lim->messages_max);
	snprintf(qmax, sizeof(qmax), "%ld", lim->queue_max);
	snprintf(umax, sizeof(umax), "%ld", lim->user_max);
	if ((e = db_pipeline(c, steps, 2, &res, state)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (PQgetisnull(res, 0, 0)) {
		/* No message: a bound said no (or the counts moved since). */
		if ((e = room_check(res, DB_MESSAGE_NCOLUMNS, lim)) == BS_OK)
			e = BS_ERR_TOO_LARGE;
		goto out;
	}
	snprintf(turn_id, DB_ID_LEN, "%s", PQgetvalue(res, 0, 5));
	e = db_row_json(res, 0, db_message_columns, DB_MESSAGE_NCOLUMNS, message);
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
	const char	*r[] = { project_id, retry_turn_id, user_id, queued_by };
	struct db_turn_limits	 room = *lim;
	PGresult	*res = NULL;
	char		 state[6] = "";
	bool		 begun = false;
	bs_err		 e;

	*message = NULL;
	if (retry_turn_id == NULL) {
		e = message_queue(c, lim, project_id, user_id, content, queued_by,
		    turn_id, message, state);
		goto out;
	}
	if ((e = db_command(c, "BEGIN")) != BS_OK)
		goto out;
	begun = true;
	room.messages_max = 0;	/* a retry adds no message */
	if ((e = db_turns_room(c, user_id, project_id, &room)) != BS_OK)
		goto out;
	if ((e = db_exec(c, &db_turn_stmts[STMT_TURN_REQUEUE], r, &res, state)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1)
		e = BS_ERR_NOT_FOUND;
	else if (PQgetisnull(res, 0, DB_MESSAGE_NCOLUMNS + 1))
		e = BS_ERR_CONFLICT;
	else {
		snprintf(turn_id, DB_ID_LEN, "%s", retry_turn_id);
		e = db_row_json(res, 0, db_message_columns, DB_MESSAGE_NCOLUMNS,
		    message);
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
	return db_run(c, &db_turn_stmts[STMT_TURN_FINISH], v);
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
	if ((e = db_exec(c, &db_turn_stmts[STMT_TURNS_CLAIM], v, &res, NULL)) != BS_OK)
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
		snprintf(j->document_kind, sizeof(j->document_kind), "%s",
		    PQgetvalue(res, i, 6));
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
	return db_run(c, &db_turn_stmts[STMT_TURNS_RENEW], v);
}

bs_err
db_turn_hold(struct db_conn *c, const char *turn_id, const char *owner)
{
	const char	*v[] = { turn_id, owner };
	PGresult	*res = NULL;
	bs_err		 e;

	if ((e = db_exec(c, &db_turn_stmts[STMT_TURN_HOLD], v, &res, NULL)) == BS_OK &&
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
	if ((e = db_exec(c, &db_turn_stmts[STMT_TURN_GET], v, &res, state)) != BS_OK) {
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
	if ((e = db_exec(c, &db_turn_stmts[STMT_TURN_MESSAGES], t, &res, NULL)) != BS_OK ||
	    (e = db_rows_json(res, db_message_columns, DB_MESSAGE_NCOLUMNS,
	    &messages)) != BS_OK)
		goto out;
	PQclear(res);
	res = NULL;
	if ((e = db_exec(c, &db_turn_stmts[STMT_TURN_RUNS], t, &res, NULL)) != BS_OK ||
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
	if ((e = db_exec(c, &db_turn_stmts[STMT_TURN_ITEMS], t, &res, NULL)) != BS_OK ||
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
db_turns_count(struct db_conn *c, long *queued, long *running)
{
	PGresult	*res = NULL;
	long long	 q, r;
	bs_err		 e;

	if ((e = db_exec(c, &db_turn_stmts[STMT_TURNS_COUNT], NULL, &res, NULL)) == BS_OK &&
	    (e = db_int64(PQgetvalue(res, 0, 0), &q)) == BS_OK &&
	    (e = db_int64(PQgetvalue(res, 0, 1), &r)) == BS_OK) {
		*queued = (long)q;
		*running = (long)r;
	}
	PQclear(res);
	return e;
}
