/*
 * Project queries: a table of statements, each run with db_exec, every value
 * a parameter. The caller's membership is part of every WHERE clause; which
 * role may do what is the guard's decision (app.c), not these queries'.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "brainstorm/db_projects.h"

/*
 * The select list every statement returns, in the order of project_column;
 * role is the SQL for the caller's role in the project, ts DB_ISO_UTC for
 * text results, DB_AS_IS for binary ones. The item counts are kept on the
 * row by a trigger on items (migration 0012), in the same transaction as
 * the item change.
 */
#define PROJECT_SELECT(ts, role) \
	"p.id, p.title, p.description, p.status, p.version, " \
	ts("p.created_at") ", " ts("p.updated_at") ", " \
	role ", " \
	"p.decided_count, p.exploring_count, p.parked_count, " \
	"p.rejected_count"
#define PROJECT_COLUMNS(role)	PROJECT_SELECT(DB_ISO_UTC, role)

/* The caller ($2) is a member of the project p. */
#define PROJECT_MEMBER(user) \
	" EXISTS (SELECT 1 FROM project_members m" \
	" WHERE m.project_id = p.id AND m.user_id = " user ")"
#define MEMBER_ROLE(user) \
	"(SELECT m.role FROM project_members m" \
	" WHERE m.project_id = p.id AND m.user_id = " user ")"

/*
 * The list with app.c's guard in the same statement, for a binary result:
 * the guard (an enabled user, an open session of theirs: GUARD_COLUMNS in
 * app.c) is a condition evaluated once, before any project is read; no
 * rows when it fails (or there are none). The order is the projects'
 * (created_at, id), read from the memberships' copy of it (migration 0017):
 * project_members_user_order_idx gives a page's rows in order, so a page
 * reads as many memberships and projects as it lists, however many the
 * caller has. cursor is empty or a condition on mm.
 */
#define PROJECTS_LIST_GUARDED(cursor, limit) \
	"SELECT " PROJECT_SELECT(DB_AS_IS, "mm.role") \
	" FROM project_members mm JOIN projects p ON p.id = mm.project_id" \
	" WHERE mm.user_id = $1::uuid" cursor \
	" AND EXISTS (SELECT 1 FROM users u WHERE u.id = $1::uuid" \
	" AND u.disabled_at IS NULL AND EXISTS (SELECT 1 FROM refresh_tokens t" \
	" WHERE t.family_id = $2::uuid AND t.user_id = u.id" \
	" AND t.revoked_at IS NULL AND t.expires_at > now()))" \
	" ORDER BY mm.project_created_at DESC, mm.project_id DESC" \
	" LIMIT " limit

enum project_column {
	PROJECT_ID, PROJECT_TITLE, PROJECT_DESCRIPTION, PROJECT_STATUS,
	PROJECT_VERSION, PROJECT_CREATED_AT, PROJECT_UPDATED_AT, PROJECT_ROLE,
	PROJECT_DECIDED, PROJECT_EXPLORING, PROJECT_PARKED, PROJECT_REJECTED,
	PROJECT_NCOLUMNS
};

/* The top-level fields, in column order (item_counts is built apart). */
static const struct db_column project_fields[] = {
	[PROJECT_ID] =		{ "id", false },
	[PROJECT_TITLE] =	{ "title", false },
	[PROJECT_DESCRIPTION] =	{ "description", false },
	[PROJECT_STATUS] =	{ "status", false },
	[PROJECT_VERSION] =	{ "version", true },
	[PROJECT_CREATED_AT] =	{ "created_at", false },
	[PROJECT_UPDATED_AT] =	{ "updated_at", false },
	[PROJECT_ROLE] =	{ "role", false },
};

/* item_counts' members, in the order of the count columns. */
static const struct db_column project_counts[] = {
	{ "decided", true }, { "exploring", true }, { "parked", true },
	{ "rejected", true },
};
#define NSTATES	(int)(sizeof(project_counts) / sizeof(project_counts[0]))

enum project_stmt {
	STMT_LIST_FIRST, STMT_LIST_AFTER, STMT_GET, STMT_CREATE,
	STMT_UPDATE, STMT_DELETE, PROJECT_STMT__COUNT
};

/*
 * The list runs as two statements, so each has a plain plan: the caller's
 * memberships in order (project_members_user_order_idx), from the cursor
 * on, each joined to its project.
 */
const struct db_stmt db_project_stmts[PROJECT_STMT__COUNT] = {
	[STMT_LIST_FIRST] = { "projects_list_first",
	  PROJECTS_LIST_GUARDED("", "$3::integer"), 3 },
	[STMT_LIST_AFTER] = { "projects_list_after",
	  PROJECTS_LIST_GUARDED(" AND (mm.project_created_at, mm.project_id)"
	  " < (timestamptz"
	  " 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid)",
	  "$5::integer"), 5 },
	[STMT_GET] = { "projects_get",
	  "SELECT " PROJECT_COLUMNS(MEMBER_ROLE("$2::uuid")) " FROM projects p"
	  " WHERE p.id = $1::uuid AND" PROJECT_MEMBER("$2::uuid"), 2 },
	/*
	 * The creator is the first owner. No row when they own $4 projects
	 * already ($4 NULL: no cap): projects_room (migrations/0014) locks
	 * their users row, so their creations take turns, and counts with a
	 * snapshot of its own.
	 */
	[STMT_CREATE] = { "projects_create",
	  "WITH p AS (INSERT INTO projects (owner_id, title, description)"
	  " SELECT $1::uuid, $2::text, coalesce($3::text, '')"
	  " WHERE " DB_PROJECTS_ROOM("$1::uuid", "$4::integer") " RETURNING *),"
	  " m AS (INSERT INTO project_members (project_id, user_id, role,"
	  " added_by) SELECT p.id, $1::uuid, 'owner', $1::uuid FROM p)"
	  " SELECT " PROJECT_COLUMNS("'owner'::text") " FROM p", 4 },
	[STMT_UPDATE] = { "projects_update",
	  "WITH p AS (UPDATE projects p SET"
	  " title = coalesce($4::text, title),"
	  " description = coalesce($5::text, description),"
	  " status = coalesce($6::text, status),"
	  " version = version + 1, updated_at = now()"
	  " WHERE p.id = $1::uuid AND" PROJECT_MEMBER("$2::uuid")
	  " AND p.version = $3::integer"
	  " RETURNING p.*)"
	  " SELECT " PROJECT_COLUMNS(MEMBER_ROLE("$2::uuid")) " FROM p", 6 },
	[STMT_DELETE] = { "projects_delete",
	  "DELETE FROM projects p WHERE p.id = $1::uuid AND"
	  PROJECT_MEMBER("$2::uuid") " RETURNING p.id", 2 },
};
const size_t db_project_nstmts = PROJECT_STMT__COUNT;

/* Row row of a PROJECT_COLUMNS result as the API's project object. */
static bs_err
project_json(const PGresult *res, int row, json_object **out)
{
	json_object	*obj = NULL, *counts;
	long long	 n;
	int		 i;
	bs_err		 e;

	*out = NULL;
	if (PQnfields(res) != PROJECT_NCOLUMNS)
		return BS_ERR_INTERNAL;
	if ((e = db_row_json(res, row, project_fields, PROJECT_DECIDED,
	    &obj)) != BS_OK)
		return e;
	counts = json_object_new_object();
	json_object_object_add(obj, "item_counts", counts);
	for (i = 0; i < NSTATES; i++) {
		if ((e = db_int64(PQgetvalue(res, row, PROJECT_DECIDED + i),
		    &n)) != BS_OK)
			goto out;
		json_object_object_add(counts, project_counts[i].name,
		    json_object_new_int64(n));
	}
out:
	if (e != BS_OK)
		json_object_put(obj);
	else
		*out = obj;
	return e;
}

/* The same object as project_json, written as JSON text. */
static void
project_write(const PGresult *res, int row, struct json_writer *w)
{
	json_write_raw(w, "{", 1);
	db_row_write_members(res, row, 0, project_fields, PROJECT_DECIDED, w);
	json_write_raw(w, ",\"item_counts\":{", 16);
	db_row_write_members(res, row, PROJECT_DECIDED, project_counts,
	    NSTATES, w);
	json_write_raw(w, "}}", 2);
}

/* The single-project statements: one row, or BS_ERR_NOT_FOUND. */
static bs_err
project_one(struct db_conn *conn, const struct db_stmt *stmt,
    const char *const *values, json_object **out)
{
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	if ((e = db_exec(conn, stmt, values, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) == 0) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	e = project_json(res, 0, out);
out:
	PQclear(res);
	return e;
}

bs_err
db_projects_list_write(struct db_conn *conn, const char *user_id,
    const char *session_id, const struct db_project_key *after, int limit,
    struct json_writer *w, int *count, bool *has_next,
    struct db_project_key *next)
{
	PGresult	*res = NULL;
	const char	*values[5];
	char		 created_us[32], fetch[16];
	int64_t		 us;
	int		 i, rows;
	bs_err		 e;

	*count = 0;
	*has_next = false;
	if (limit < 1)
		return BS_ERR_INVALID;
	/* One row more than the page tells whether another page follows. */
	snprintf(fetch, sizeof(fetch), "%d", limit + 1);
	values[0] = user_id;
	values[1] = session_id;
	if (after == NULL) {
		values[2] = fetch;
		e = db_exec_binary(conn, &db_project_stmts[STMT_LIST_FIRST],
		    values, &res, NULL);
	} else {
		snprintf(created_us, sizeof(created_us), "%lld",
		    after->created_us);
		values[2] = created_us;
		values[3] = after->id;
		values[4] = fetch;
		e = db_exec_binary(conn, &db_project_stmts[STMT_LIST_AFTER],
		    values, &res, NULL);
	}
	if (e != BS_OK)
		goto out;
	if (PQnfields(res) != PROJECT_NCOLUMNS) {
		e = BS_ERR_INTERNAL;
		goto out;
	}
	rows = PQntuples(res);
	json_write_raw(w, "[", 1);
	for (i = 0; i < rows && i < limit; i++) {
		if (i > 0)
			json_write_raw(w, ",", 1);
		project_write(res, i, w);
	}
	json_write_raw(w, "]", 1);
	if ((e = w->err) != BS_OK)
		goto out;
	*count = i;
	if (rows > limit) {
		if ((e = db_timestamp_us(res, limit - 1, PROJECT_CREATED_AT,
		    &us)) != BS_OK)
			goto out;
		if ((e = db_uuid_text(res, limit - 1, PROJECT_ID,
		    next->id)) != BS_OK)
			goto out;
		next->created_us = us;
		*has_next = true;
	}
out:
	PQclear(res);
	return e;
}

bs_err
db_project_get(struct db_conn *conn, const char *project_id,
    const char *user_id, json_object **out)
{
	const char	*values[] = { project_id, user_id };

	return project_one(conn, &db_project_stmts[STMT_GET], values, out);
}

bs_err
db_project_create(struct db_conn *conn, const char *user_id,
    const char *title, const char *description, long max_projects,
    json_object **out)
{
	char		 cap[DB_CAP_LEN];
	const char	*values[] = { user_id, title, description,
	    db_cap_value(max_projects, cap) };
	bs_err		 e;

	e = project_one(conn, &db_project_stmts[STMT_CREATE], values, out);
	return e == BS_ERR_NOT_FOUND ? BS_ERR_TOO_LARGE : e;
}

bs_err
db_project_update(struct db_conn *conn, const char *project_id,
    const char *user_id, long version, const char *title,
    const char *description, const char *status, json_object **out)
{
	const char	*values[6];
	char		 v[24];
	bs_err		 e;

	snprintf(v, sizeof(v), "%ld", version);
	values[0] = project_id;
	values[1] = user_id;
	values[2] = v;
	values[3] = title;
	values[4] = description;
	values[5] = status;
	e = project_one(conn, &db_project_stmts[STMT_UPDATE], values, out);
	if (e != BS_ERR_NOT_FOUND)
		return e;
	/* No row: either the version is stale or the project is gone. */
	if ((e = db_project_get(conn, project_id, user_id, out)) != BS_OK)
		return e;
	return BS_ERR_CONFLICT;
}

bs_err
db_project_delete(struct db_conn *conn, const char *project_id,
    const char *user_id)
{
	PGresult	*res = NULL;
	const char	*values[] = { project_id, user_id };
	bs_err		 e;

	if ((e = db_exec(conn, &db_project_stmts[STMT_DELETE], values, &res,
	    NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) == 0)
		e = BS_ERR_NOT_FOUND;
out:
	PQclear(res);
	return e;
}
