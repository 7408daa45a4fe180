/*
 * Item and item_event queries: a table of statements, each run with
 * db_exec, every value a parameter. A write and its event are one statement
 * (data-modifying WITH), which PostgreSQL runs atomically.
 *
 * Every write locks the project's row before the item's: the item counts
 * on the project row (migration 0012) are changed by a trigger after the
 * item, and without that order two transactions changing items of one
 * project could each hold an item the other waits for.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db_items.h"

/*
 * The select list of an item, in the order of item_column: ts is
 * DB_ISO_UTC for text results, DB_AS_IS for binary ones.
 */
#define ITEM_SELECT(ts) \
	"i.id, i.project_id, i.text, i.state, i.confidence, i.user_quote," \
	" i.source_message_id, i.created_by, i.position, i.version, " \
	ts("i.created_at") ", " ts("i.updated_at")
#define ITEM_COLUMNS	ITEM_SELECT(DB_ISO_UTC)

/*
 * The select list of an event, in the order of event_columns: with the
 * person behind a "user" event (u, joined by actor_user_id), so that a
 * board shared by a team tells whose change each was.
 */
#define EVENT_COLUMNS \
	"e.id, e.item_id, e.action, e.from_state, e.to_state, e.old_text," \
	" e.new_text, e.actor, e.reason, e.turn_id, e.message_id, " \
	DB_ISO_UTC("e.created_at") ", e.actor_user_id," \
	" coalesce(nullif(u.display_name, ''), u.email)"

/* Where a new item goes when no position is given: after the last of state. */
#define NEXT_POSITION(project, state) \
	"(SELECT coalesce(max(n.position) + 1, 0) FROM items n" \
	" WHERE n.project_id = " project " AND n.state = " state ")"

/*
 * The project's row, locked first (see above), with the number of events
 * its history holds; no row when it is gone.
 */
#define LOCK_PROJECT \
	"p AS MATERIALIZED (SELECT id, item_event_count FROM projects" \
	" WHERE id = $1::uuid FOR NO KEY UPDATE)"

/*
 * The project's oldest events past max (a parameter; NULL: no bound) less
 * one, removed when the statement writes an event (changed, a CTE of the
 * changed item, has a row): the project then keeps max. Its count on the
 * project's row (migration 0018) is read under the row's lock, so each
 * change reads the count the one before it left. The oldest events are
 * locked as they are read (FOR UPDATE): the statement's snapshot is older
 * than the lock it waited for, and still shows the events the change
 * before it removed; a locking read skips those and takes the next. The
 * ids are gathered first (ARRAY), so that the delete looks them up by key
 * whatever the generic plan guesses of the LIMIT.
 */
#define PRUNE_HISTORY(max, changed) \
	" x AS (DELETE FROM item_events WHERE id = ANY (ARRAY(SELECT o.id" \
	" FROM item_events o WHERE o.project_id = $1::uuid ORDER BY o.id" \
	" LIMIT coalesce((SELECT greatest(p.item_event_count + 1 - " max \
	", 0) FROM p WHERE EXISTS (SELECT 1 FROM " changed ")), 0)" \
	" FOR UPDATE)))"

/*
 * The board's order after the key (state, position, created_at, id) of
 * the last item of the page before ($s NULL: from the first); s, pos, us
 * and id are the parameters.
 */
#define ITEMS_AFTER(s, pos, us, id) \
	" AND (" s "::text IS NULL OR (i.state, i.position, i.created_at, i.id) >" \
	" (" s "::text, " pos "::integer, timestamptz 'epoch' +" \
	" " us "::bigint * interval '1 microsecond', " id "::uuid))"

#define SQLSTATE_FOREIGN_KEY	"23503"

enum item_column {
	ITEM_ID, ITEM_PROJECT_ID, ITEM_TEXT, ITEM_STATE, ITEM_CONFIDENCE,
	ITEM_USER_QUOTE, ITEM_SOURCE_MESSAGE_ID, ITEM_CREATED_BY, ITEM_POSITION,
	ITEM_VERSION, ITEM_CREATED_AT, ITEM_UPDATED_AT
};

static const struct db_column item_columns[] = {
	{ "id", false }, { "project_id", false }, { "text", false },
	{ "state", false }, { "confidence", true }, { "user_quote", false },
	{ "source_message_id", false }, { "created_by", false },
	{ "position", true }, { "version", true }, { "created_at", false },
	{ "updated_at", false },
};
#define ITEM_NCOLUMNS	(int)(sizeof(item_columns) / sizeof(item_columns[0]))

static const struct db_column event_columns[] = {
	{ "id", true }, { "item_id", false }, { "action", false },
	{ "from_state", false }, { "to_state", false }, { "old_text", false },
	{ "new_text", false }, { "actor", false }, { "reason", false },
	{ "turn_id", false }, { "message_id", false }, { "created_at", false },
	{ "actor_user_id", false }, { "actor_name", false },
};
#define EVENT_NCOLUMNS	(int)(sizeof(event_columns) / sizeof(event_columns[0]))

/* The key of an item in the board's order, as the page cursor holds it. */
#define ITEM_KEY_US	"(extract(epoch FROM i.created_at) * 1000000)::bigint"

enum item_stmt {
	STMT_LIST, STMT_PAGE, STMT_PAGE_GUARDED, STMT_CONTEXT, STMT_GET, STMT_PROJECT,
	STMT_CREATE, STMT_UPDATE, STMT_DELETE, STMT_HISTORY, ITEM_STMT__COUNT
};

const struct db_stmt db_item_stmts[ITEM_STMT__COUNT] = {
	[STMT_LIST] = { "items_list",
	  "SELECT " ITEM_COLUMNS " FROM items i WHERE i.project_id = $1::uuid"
	  " AND ($2::text IS NULL OR i.state = $2::text)"
	  " ORDER BY i.state, i.position, i.created_at, i.id", 2 },
	/*
	 * One page in the board's order after the key (state, position,
	 * created_at, id) of the last item of the page before; the key
	 * columns follow ITEM_COLUMNS.
	 */
	[STMT_PAGE] = { "items_page",
	  "SELECT " ITEM_COLUMNS ", i.state, i.position, " ITEM_KEY_US ", i.id"
	  " FROM items i WHERE i.project_id = $1::uuid"
	  " AND ($2::text IS NULL OR i.state = $2::text)"
	  ITEMS_AFTER("$3", "$4", "$5", "$6")
	  " ORDER BY i.state, i.position, i.created_at, i.id"
	  " LIMIT $7::integer", 7 },
	/*
	 * The page with app.c's guard in the same statement (GUARD_COLUMNS
	 * there: an enabled user $1, an open session $2 of theirs, a member of
	 * project $3), for a binary result: the guard is a condition evaluated
	 * once, before any item is read; no rows when it fails (or the page is
	 * empty). The key of the last item is among ITEM_SELECT's columns.
	 */
	[STMT_PAGE_GUARDED] = { "items_page_guarded",
	  "SELECT " ITEM_SELECT(DB_AS_IS) " FROM items i"
	  " WHERE i.project_id = $3::uuid"
	  " AND ($4::text IS NULL OR i.state = $4::text)"
	  ITEMS_AFTER("$5", "$6", "$7", "$8")
	  " AND EXISTS (SELECT 1 FROM users u JOIN project_members m"
	  " ON m.user_id = u.id AND m.project_id = $3::uuid"
	  " WHERE u.id = $1::uuid AND u.disabled_at IS NULL"
	  " AND EXISTS (SELECT 1 FROM refresh_tokens t"
	  " WHERE t.family_id = $2::uuid AND t.user_id = u.id"
	  " AND t.revoked_at IS NULL AND t.expires_at > now()))"
	  " ORDER BY i.state, i.position, i.created_at, i.id"
	  " LIMIT $9::integer", 9 },
	/*
	 * What a turn shows the model: decided items first, then the most
	 * recently changed, at most $2, in the board's order; the last column
	 * counts every item the board would show (rejected ones are not).
	 */
	[STMT_CONTEXT] = { "items_context",
	  "SELECT " ITEM_COLUMNS ", i.total FROM (SELECT s.*,"
	  " count(*) OVER () AS total FROM items s"
	  " WHERE s.project_id = $1::uuid AND s.state <> 'rejected'"
	  " ORDER BY s.state = 'decided' DESC, s.updated_at DESC, s.id"
	  " LIMIT $2::integer) i"
	  " ORDER BY i.state, i.position, i.created_at, i.id", 2 },
	[STMT_GET] = { "items_get",
	  "SELECT " ITEM_COLUMNS " FROM items i"
	  " WHERE i.id = $2::uuid AND i.project_id = $1::uuid", 2 },
	[STMT_PROJECT] = { "items_project",
	  "SELECT id FROM projects WHERE id = $1::uuid", 1 },
	/*
	 * No row when the project holds $13 items already ($13 NULL: no cap),
	 * or is gone. The project's row is locked first (as items_room,
	 * migrations/0010, locks it again), so creations in one project take
	 * turns, and items_room counts with a snapshot of its own.
	 */
	[STMT_CREATE] = { "items_create",
	  "WITH " LOCK_PROJECT ","
	  " i AS (INSERT INTO items (project_id, text, state, confidence,"
	  " user_quote, source_message_id, created_by, position)"
	  " SELECT p.id, $2::text, $3::text, $4::integer,"
	  " coalesce($5::text, ''), $6::uuid, $7::text,"
	  " coalesce($8::integer, " NEXT_POSITION("$1::uuid", "$3::text") ")"
	  " FROM p WHERE $13::integer IS NULL OR items_room(p.id, $13::integer)"
	  " RETURNING *),"
	  " e AS (INSERT INTO item_events (project_id, item_id, action,"
	  " to_state, new_text, actor, actor_user_id, reason, turn_id,"
	  " message_id)"
	  " SELECT project_id, id, 'created', state, text, $7::text, $9::uuid,"
	  " coalesce($10::text, ''), $11::uuid, $12::uuid FROM i),"
	  PRUNE_HISTORY("$14::integer", "i")
	  " SELECT " ITEM_COLUMNS " FROM i", 14 },
	/*
	 * After the project, old locks the row, so a concurrent change with
	 * the same version waits for the winner's commit, then finds the
	 * version moved on and updates nothing (READ COMMITTED re-checks the
	 * WHERE). old also keeps the state and text before the change for the
	 * event.
	 */
	[STMT_UPDATE] = { "items_update",
	  "WITH " LOCK_PROJECT ","
	  " old AS (SELECT id, state, text FROM items"
	  " WHERE id = $2::uuid AND project_id = (SELECT id FROM p)"
	  " FOR UPDATE),"
	  " u AS (UPDATE items t SET"
	  " text = coalesce($4::text, t.text),"
	  " state = coalesce($5::text, t.state),"
	  " position = coalesce($6::integer,"
	  " CASE WHEN $5::text IS NOT NULL AND $5::text <> t.state"
	  " THEN " NEXT_POSITION("t.project_id", "$5::text")
	  " ELSE t.position END),"
	  " version = t.version + 1, updated_at = now()"
	  " FROM old WHERE t.id = old.id AND t.version = $3::integer"
	  " RETURNING t.*, old.state AS old_state, old.text AS old_text),"
	  " e AS (INSERT INTO item_events (project_id, item_id, action,"
	  " from_state, to_state, old_text, new_text, actor, actor_user_id,"
	  " reason, turn_id, message_id)"
	  " SELECT project_id, id,"
	  " CASE WHEN state <> old_state THEN 'moved' ELSE 'updated' END,"
	  " CASE WHEN state <> old_state THEN old_state END,"
	  " CASE WHEN state <> old_state THEN state END,"
	  " CASE WHEN text <> old_text THEN old_text END,"
	  " CASE WHEN text <> old_text THEN text END,"
	  " $7::text, $8::uuid, coalesce($9::text, ''), $10::uuid, $11::uuid"
	  " FROM u),"
	  PRUNE_HISTORY("$12::integer", "u")
	  " SELECT " ITEM_COLUMNS " FROM u i", 12 },
	[STMT_DELETE] = { "items_delete",
	  "WITH " LOCK_PROJECT ","
	  " d AS (DELETE FROM items"
	  " WHERE id = $2::uuid AND project_id = (SELECT id FROM p)"
	  " RETURNING project_id, id, state, text),"
	  " e AS (INSERT INTO item_events (project_id, item_id, action,"
	  " from_state, old_text, actor, actor_user_id, reason, turn_id,"
	  " message_id)"
	  " SELECT project_id, id, 'deleted', state, text, $3::text, $4::uuid,"
	  " coalesce($5::text, ''), $6::uuid, $7::uuid FROM d),"
	  PRUNE_HISTORY("$8::integer", "d")
	  " SELECT id FROM d", 8 },
	/* The newest $3 events, oldest first; the last column counts them all. */
	[STMT_HISTORY] = { "items_history",
	  "SELECT " EVENT_COLUMNS ", e.total FROM (SELECT h.*,"
	  " count(*) OVER () AS total FROM item_events h"
	  " WHERE h.item_id = $2::uuid AND h.project_id = $1::uuid"
	  " ORDER BY h.id DESC LIMIT $3::integer) e"
	  " LEFT JOIN users u ON u.id = e.actor_user_id"
	  " ORDER BY e.id", 3 },
};
const size_t db_item_nstmts = ITEM_STMT__COUNT;

/* A statement returning at most one item: the item, or BS_ERR_NOT_FOUND. */
static bs_err
item_one(struct db_conn *conn, enum item_stmt stmt, const char *const *values,
    json_object **out)
{
	PGresult	*res = NULL;
	char		 sqlstate[6];
	bs_err		 e;

	*out = NULL;
	if ((e = db_exec(conn, &db_item_stmts[stmt], values, &res,
	    sqlstate)) != BS_OK) {
		/* The project went away after the caller checked it. */
		if (e == BS_ERR_DB &&
		    strcmp(sqlstate, SQLSTATE_FOREIGN_KEY) == 0)
			e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (PQntuples(res) == 0) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	e = db_row_json(res, 0, item_columns, ITEM_NCOLUMNS, out);
out:
	PQclear(res);
	return e;
}

bs_err
db_items_list(struct db_conn *conn, const char *project_id, const char *state,
    json_object **out)
{
	PGresult	*res = NULL;
	const char	*values[] = { project_id, state };
	bs_err		 e;

	*out = NULL;
	if ((e = db_exec(conn, &db_item_stmts[STMT_LIST], values, &res,
	    NULL)) != BS_OK)
		goto out;
	e = db_rows_json(res, item_columns, ITEM_NCOLUMNS, out);
out:
	PQclear(res);
	return e;
}

bs_err
db_items_page(struct db_conn *conn, const char *project_id, const char *state,
    const struct db_item_key *after, int limit, json_object **out,
    bool *has_next, struct db_item_key *next)
{
	PGresult	*res = NULL;
	const char	*values[7];
	char		 position[24], us[24], lim[16];
	int		 rows, last;
	bs_err		 e;

	*out = NULL;
	*has_next = false;
	if (limit < 1)
		return BS_ERR_INVALID;
	snprintf(lim, sizeof(lim), "%d", limit + 1);	/* one more: a next page? */
	values[0] = project_id;
	values[1] = state;
	values[2] = values[3] = values[4] = values[5] = NULL;
	if (after != NULL) {
		snprintf(position, sizeof(position), "%ld", after->position);
		snprintf(us, sizeof(us), "%lld", after->created_us);
		values[2] = after->state;
		values[3] = position;
		values[4] = us;
		values[5] = after->id;
	}
	values[6] = lim;
	if ((e = db_exec(conn, &db_item_stmts[STMT_PAGE], values, &res,
	    NULL)) != BS_OK)
		goto out;
	if ((rows = PQntuples(res)) > limit) {
		*has_next = true;
		last = limit - 1;
		snprintf(next->state, sizeof(next->state), "%s",
		    PQgetvalue(res, last, ITEM_NCOLUMNS));
		next->position = strtol(PQgetvalue(res, last, ITEM_NCOLUMNS + 1),
		    NULL, 10);
		next->created_us = strtoll(PQgetvalue(res, last,
		    ITEM_NCOLUMNS + 2), NULL, 10);
		snprintf(next->id, sizeof(next->id), "%s",
		    PQgetvalue(res, last, ITEM_NCOLUMNS + 3));
	}
	if ((e = db_rows_json(res, item_columns, ITEM_NCOLUMNS, out)) != BS_OK)
		goto out;
	/* The extra row only told that there is more. */
	if (*has_next)
		json_object_array_del_idx(*out, (size_t)limit, 1);
out:
	PQclear(res);
	return e;
}

bs_err
db_items_page_write(struct db_conn *conn, const char *user_id,
    const char *session_id, const char *project_id, const char *state,
    const struct db_item_key *after, int limit, struct json_writer *w,
    int *count, bool *has_next, struct db_item_key *next)
{
	PGresult	*res = NULL;
	const char	*values[9];
	char		 position[24], us[24], lim[16];
	int64_t		 n, us_key;
	int		 i, rows, last;
	bs_err		 e;

	*count = 0;
	*has_next = false;
	if (limit < 1)
		return BS_ERR_INVALID;
	snprintf(lim, sizeof(lim), "%d", limit + 1);	/* one more: a next page? */
	values[0] = user_id;
	values[1] = session_id;
	values[2] = project_id;
	values[3] = state;
	values[4] = values[5] = values[6] = values[7] = NULL;
	if (after != NULL) {
		snprintf(position, sizeof(position), "%ld", after->position);
		snprintf(us, sizeof(us), "%lld", after->created_us);
		values[4] = after->state;
		values[5] = position;
		values[6] = us;
		values[7] = after->id;
	}
	values[8] = lim;
	if ((e = db_exec_binary(conn, &db_item_stmts[STMT_PAGE_GUARDED], values,
	    &res, NULL)) != BS_OK)
		goto out;
	rows = PQntuples(res);
	json_write_raw(w, "[", 1);
	for (i = 0; i < rows && i < limit; i++) {
		json_write_raw(w, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
		db_row_write_members(res, i, 0, item_columns, ITEM_NCOLUMNS, w);
		json_write_raw(w, "}", 1);
	}
	json_write_raw(w, "]", 1);
	if ((e = w->err) != BS_OK)
		goto out;
	*count = i;
	if (rows > limit) {
		last = limit - 1;
		if (PQgetlength(res, last, ITEM_STATE) >=
		    (int)sizeof(next->state)) {
			e = BS_ERR_INTERNAL;
			goto out;
		}
		snprintf(next->state, sizeof(next->state), "%s",
		    PQgetvalue(res, last, ITEM_STATE));
		if ((e = db_integer(res, last, ITEM_POSITION, &n)) != BS_OK ||
		    (e = db_timestamp_us(res, last, ITEM_CREATED_AT,
		    &us_key)) != BS_OK ||
		    (e = db_uuid_text(res, last, ITEM_ID, next->id)) != BS_OK)
			goto out;
		next->position = (long)n;
		next->created_us = us_key;
		*has_next = true;
	}
out:
	PQclear(res);
	return e;
}

bs_err
db_items_context(struct db_conn *conn, const char *project_id, int limit,
    json_object **out, long *total)
{
	PGresult	*res = NULL;
	const char	*values[2];
	char		 lim[16];
	long long	 n = 0;
	bs_err		 e;

	*out = NULL;
	*total = 0;
	snprintf(lim, sizeof(lim), "%d", limit);
	values[0] = project_id;
	values[1] = lim;
	if ((e = db_exec(conn, &db_item_stmts[STMT_CONTEXT], values, &res,
	    NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) > 0 &&
	    (e = db_int64(PQgetvalue(res, 0, ITEM_NCOLUMNS), &n)) != BS_OK)
		goto out;
	*total = (long)n;
	e = db_rows_json(res, item_columns, ITEM_NCOLUMNS, out);
out:
	PQclear(res);
	return e;
}

bs_err
db_item_get(struct db_conn *conn, const char *project_id, const char *item_id,
    json_object **out)
{
	const char	*values[] = { project_id, item_id };

	return item_one(conn, STMT_GET, values, out);
}

bs_err
db_item_create(struct db_conn *conn, const char *project_id,
    const struct db_item_new *item, const struct db_item_actor *actor,
    json_object **out)
{
	PGresult	*res = NULL;
	const char	*values[14];
	char		 confidence[24], position[24], max[DB_CAP_LEN];
	char		 history[DB_CAP_LEN];
	bs_err		 e;

	snprintf(confidence, sizeof(confidence), "%d", item->confidence);
	snprintf(position, sizeof(position), "%ld", item->position);
	values[0] = project_id;
	values[1] = item->text;
	values[2] = item->state;
	values[3] = confidence;
	values[4] = item->user_quote;
	values[5] = item->source_message_id;
	values[6] = actor->name;
	values[7] = item->has_position ? position : NULL;
	values[8] = actor->user_id;
	values[9] = actor->reason;
	values[10] = actor->turn_id;
	values[11] = actor->message_id;
	values[12] = db_cap_value(item->max_items, max);
	values[13] = db_cap_value(actor->history_max, history);
	if ((e = item_one(conn, STMT_CREATE, values, out)) != BS_ERR_NOT_FOUND ||
	    item->max_items <= 0)
		return e;
	/* Nothing inserted: the cap held it back, or the project is gone. */
	if ((e = db_exec(conn, &db_item_stmts[STMT_PROJECT], values, &res,
	    NULL)) == BS_OK)
		e = PQntuples(res) > 0 ? BS_ERR_TOO_LARGE : BS_ERR_NOT_FOUND;
	PQclear(res);
	return e;
}

bs_err
db_item_update(struct db_conn *conn, const char *project_id,
    const char *item_id, long version, const struct db_item_patch *patch,
    const struct db_item_actor *actor, json_object **out)
{
	const char	*values[12];
	char		 v[24], position[24], history[DB_CAP_LEN];
	bs_err		 e;

	snprintf(v, sizeof(v), "%ld", version);
	snprintf(position, sizeof(position), "%ld", patch->position);
	values[0] = project_id;
	values[1] = item_id;
	values[2] = v;
	values[3] = patch->text;
	values[4] = patch->state;
	values[5] = patch->has_position ? position : NULL;
	values[6] = actor->name;
	values[7] = actor->user_id;
	values[8] = actor->reason;
	values[9] = actor->turn_id;
	values[10] = actor->message_id;
	values[11] = db_cap_value(actor->history_max, history);
	e = item_one(conn, STMT_UPDATE, values, out);
	if (e != BS_ERR_NOT_FOUND)
		return e;
	/* Nothing updated: the version is stale, or the item is gone. */
	if ((e = db_item_get(conn, project_id, item_id, out)) != BS_OK)
		return e;
	return BS_ERR_CONFLICT;
}

bs_err
db_item_delete(struct db_conn *conn, const char *project_id,
    const char *item_id, const struct db_item_actor *actor)
{
	PGresult	*res = NULL;
	const char	*values[8];
	char		 history[DB_CAP_LEN];
	bs_err		 e;

	values[0] = project_id;
	values[1] = item_id;
	values[2] = actor->name;
	values[3] = actor->user_id;
	values[4] = actor->reason;
	values[5] = actor->turn_id;
	values[6] = actor->message_id;
	values[7] = db_cap_value(actor->history_max, history);
	if ((e = db_exec(conn, &db_item_stmts[STMT_DELETE], values, &res,
	    NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) == 0)
		e = BS_ERR_NOT_FOUND;
out:
	PQclear(res);
	return e;
}

bs_err
db_item_history(struct db_conn *conn, const char *project_id,
    const char *item_id, int limit, json_object **out, long *omitted)
{
	PGresult	*res = NULL;
	json_object	*item = NULL;
	char		 lim[16];
	const char	*values[] = { project_id, item_id, lim };
	long long	 total = 0;
	bs_err		 e;

	*out = NULL;
	*omitted = 0;
	snprintf(lim, sizeof(lim), "%d", limit);
	if ((e = db_exec(conn, &db_item_stmts[STMT_HISTORY], values, &res,
	    NULL)) != BS_OK)
		goto out;
	/* No events: an item written around this module, or none at all. */
	if (PQntuples(res) == 0 &&
	    (e = db_item_get(conn, project_id, item_id, &item)) != BS_OK)
		goto out;
	if (PQntuples(res) > 0 && (e = db_int64(PQgetvalue(res, 0,
	    EVENT_NCOLUMNS), &total)) != BS_OK)
		goto out;
	*omitted = (long)(total - PQntuples(res));
	e = db_rows_json(res, event_columns, EVENT_NCOLUMNS, out);
out:
	json_object_put(item);
	PQclear(res);
	return e;
}
