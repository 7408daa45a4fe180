/*
 * Project members and invitations: a table of statements, every value a
 * parameter (include/brainstorm/db_members.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db_members.h"

#define MEMBER_COLUMNS \
	"m.user_id, u.email, u.display_name, m.role, m.added_by, " \
	DB_ISO_UTC("m.created_at")
#define INVITATION_COLUMNS \
	"i.id, i.email, i.role, i.invited_by, " DB_ISO_UTC("i.created_at")

static const struct db_column member_columns[] = {
	{ "user_id", false }, { "email", false }, { "display_name", false },
	{ "role", false }, { "added_by", false }, { "created_at", false },
};
static const struct db_column invitation_columns[] = {
	{ "id", false }, { "email", false }, { "role", false },
	{ "invited_by", false }, { "created_at", false },
};
#define NCOLS(c)	((int)(sizeof(c) / sizeof((c)[0])))

enum member_stmt {
	STMT_LIST, STMT_INVITATIONS, STMT_LOCK, STMT_ACCOUNT, STMT_INSERT,
	STMT_INVITE, STMT_ROLE, STMT_UPDATE, STMT_DELETE, STMT_UNINVITE,
	MEMBER_STMT__COUNT
};

/* The team statements; db_stmt_tables lists the table (names unique). */
const struct db_stmt db_member_stmts[MEMBER_STMT__COUNT] = {
	[STMT_LIST] = { "members_list",
	  "SELECT " MEMBER_COLUMNS " FROM project_members m"
	  " JOIN users u ON u.id = m.user_id WHERE m.project_id = $1::uuid"
	  " ORDER BY m.created_at, m.user_id", 1 },
	[STMT_INVITATIONS] = { "members_invitations",
	  "SELECT " INVITATION_COLUMNS " FROM project_invitations i"
	  " WHERE i.project_id = $1::uuid ORDER BY i.created_at, i.id", 1 },
	/*
	 * NO KEY UPDATE: serialises membership changes of one project
	 * without blocking the rows that refer to it (items, messages).
	 */
	[STMT_LOCK] = { "members_lock",
	  "SELECT (SELECT count(*) FROM project_members m"
	  " WHERE m.project_id = p.id) + (SELECT count(*)"
	  " FROM project_invitations i WHERE i.project_id = p.id)"
	  " FROM projects p WHERE p.id = $1::uuid FOR NO KEY UPDATE", 1 },
	[STMT_ACCOUNT] = { "members_account",
	  "SELECT id FROM users WHERE lower(email) = lower($1)", 1 },
	[STMT_INSERT] = { "members_insert",
	  "WITH m AS (INSERT INTO project_members (project_id, user_id, role,"
	  " added_by) VALUES ($1::uuid, $2::uuid, $3, $4::uuid)"
	  " ON CONFLICT DO NOTHING RETURNING *)"
	  " SELECT " MEMBER_COLUMNS " FROM m JOIN users u ON u.id = m.user_id", 4 },
	[STMT_INVITE] = { "members_invite",
	  "WITH i AS (INSERT INTO project_invitations (project_id, email, role,"
	  " invited_by) VALUES ($1::uuid, $2, $3, $4::uuid)"
	  " ON CONFLICT DO NOTHING RETURNING *)"
	  " SELECT " INVITATION_COLUMNS " FROM i", 4 },
	[STMT_ROLE] = { "members_role",
	  "SELECT m.role, (SELECT count(*) FROM project_members o"
	  " WHERE o.project_id = m.project_id AND o.role = 'owner')"
	  " FROM project_members m"
	  " WHERE m.project_id = $1::uuid AND m.user_id = $2::uuid", 2 },
	[STMT_UPDATE] = { "members_update",
	  "WITH m AS (UPDATE project_members SET role = $3"
	  " WHERE project_id = $1::uuid AND user_id = $2::uuid RETURNING *)"
	  " SELECT " MEMBER_COLUMNS " FROM m JOIN users u ON u.id = m.user_id", 3 },
	[STMT_DELETE] = { "members_delete",
	  "DELETE FROM project_members"
	  " WHERE project_id = $1::uuid AND user_id = $2::uuid", 2 },
	[STMT_UNINVITE] = { "members_uninvite",
	  "DELETE FROM project_invitations"
	  " WHERE project_id = $1::uuid AND id = $2::uuid", 2 },
};
const size_t db_member_nstmts = MEMBER_STMT__COUNT;

bs_err
db_members_list(struct db_conn *c, const char *project_id,
    json_object **members, json_object **invitations)
{
	const char	*v[] = { project_id };
	PGresult	*res = NULL;
	bs_err		 e;

	*members = *invitations = NULL;
	if ((e = db_exec(c, &db_member_stmts[STMT_LIST], v, &res, NULL)) != BS_OK ||
	    (e = db_rows_json(res, member_columns, NCOLS(member_columns),
	    members)) != BS_OK)
		goto out;
	PQclear(res);
	res = NULL;
	if ((e = db_exec(c, &db_member_stmts[STMT_INVITATIONS], v, &res,
	    NULL)) != BS_OK)
		goto out;
	e = db_rows_json(res, invitation_columns, NCOLS(invitation_columns),
	    invitations);
out:
	PQclear(res);
	if (e != BS_OK) {
		json_object_put(*members);
		json_object_put(*invitations);
		*members = *invitations = NULL;
	}
	return e;
}

/* BEGIN, then lock the project; *count: its members and invitations. */
static bs_err
members_begin(struct db_conn *c, const char *project_id, long long *count)
{
	const char	*v[] = { project_id };
	PGresult	*res = NULL;
	bs_err		 e;

	if ((e = db_command(c, "BEGIN")) != BS_OK)
		return e;
	if ((e = db_exec(c, &db_member_stmts[STMT_LOCK], v, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;	/* deleted since the guard saw it */
		goto out;
	}
	e = db_int64(PQgetvalue(res, 0, 0), count);
out:
	PQclear(res);
	return e;
}

/* COMMIT after success, ROLLBACK otherwise; returns e or COMMIT's error. */
static bs_err
members_end(struct db_conn *c, bs_err e)
{
	if (e == BS_OK)
		e = db_command(c, "COMMIT");
	if (e != BS_OK)
		db_command(c, "ROLLBACK");
	return e;
}

/* Row 0 of a one-row result as JSON; *out NULL when there is no row. */
static bs_err
one_row(const PGresult *res, const struct db_column *cols, int n,
    json_object **out)
{
	*out = NULL;
	if (PQntuples(res) == 0)
		return BS_OK;
	return db_row_json(res, 0, cols, n, out);
}

bs_err
db_members_add(struct db_conn *c, const char *project_id, const char *added_by,
    const char *email, enum project_role role, bool invite, long max,
    enum member_add_result *result, json_object **out)
{
	const char	*v[4];
	PGresult	*res = NULL;
	char		 user_id[40];
	long long	 count;
	bs_err		 e;

	*out = NULL;
	*result = MEMBER_EXISTS;
	if ((e = members_begin(c, project_id, &count)) != BS_OK)
		goto out;
	v[0] = email;
	if ((e = db_exec(c, &db_member_stmts[STMT_ACCOUNT], v, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) == 0 && !invite) {
		*result = MEMBER_NO_ACCOUNT;
		goto out;
	}
	/* Checked after the account: a clearer answer for a typo. */
	if (count >= max) {
		*result = MEMBER_LIMIT;
		goto out;
	}
	v[0] = project_id;
	v[2] = project_role_name(role);
	v[3] = added_by;
	if (PQntuples(res) == 1) {
		snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
		v[1] = user_id;
		if ((e = db_exec(c, &db_member_stmts[STMT_INSERT], v, &res,
		    NULL)) != BS_OK || (e = one_row(res, member_columns,
		    NCOLS(member_columns), out)) != BS_OK)
			goto out;
		if (*out != NULL)
			*result = MEMBER_ADDED;
	} else {
		PQclear(res);
		res = NULL;
		v[1] = email;
		if ((e = db_exec(c, &db_member_stmts[STMT_INVITE], v, &res,
		    NULL)) != BS_OK || (e = one_row(res, invitation_columns,
		    NCOLS(invitation_columns), out)) != BS_OK)
			goto out;
		if (*out != NULL)
			*result = MEMBER_INVITED;
	}
out:
	PQclear(res);
	e = members_end(c, e);
	if (e != BS_OK) {
		json_object_put(*out);
		*out = NULL;
	}
	return e;
}

/*
 * Lock the project and read user_id's role: BS_ERR_NOT_FOUND when not a
 * member, BS_ERR_CONFLICT when the change would leave no owner (keep is
 * whether the member stays an owner).
 */
static bs_err
members_change_allowed(struct db_conn *c, const char *project_id,
    const char *user_id, bool keep)
{
	const char	*v[] = { project_id, user_id };
	PGresult	*res = NULL;
	long long	 count, owners;
	bs_err		 e;

	if ((e = members_begin(c, project_id, &count)) != BS_OK)
		return e;
	if ((e = db_exec(c, &db_member_stmts[STMT_ROLE], v, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if ((e = db_int64(PQgetvalue(res, 0, 1), &owners)) != BS_OK)
		goto out;
	if (strcmp(PQgetvalue(res, 0, 0), "owner") == 0 && !keep && owners <= 1)
		e = BS_ERR_CONFLICT;
out:
	PQclear(res);
	return e;
}

bs_err
db_members_update(struct db_conn *c, const char *project_id,
    const char *user_id, enum project_role role, json_object **out)
{
	const char	*v[] = { project_id, user_id, project_role_name(role) };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	if ((e = members_change_allowed(c, project_id, user_id,
	    role == PROJECT_ROLE_OWNER)) != BS_OK)
		goto out;
	if ((e = db_exec(c, &db_member_stmts[STMT_UPDATE], v, &res, NULL)) != BS_OK ||
	    (e = one_row(res, member_columns, NCOLS(member_columns),
	    out)) != BS_OK)
		goto out;
	if (*out == NULL)
		e = BS_ERR_NOT_FOUND;
out:
	PQclear(res);
	e = members_end(c, e);
	if (e != BS_OK) {
		json_object_put(*out);
		*out = NULL;
	}
	return e;
}

bs_err
db_members_remove(struct db_conn *c, const char *project_id,
    const char *user_id)
{
	const char	*v[] = { project_id, user_id };
	bs_err		 e;

	if ((e = members_change_allowed(c, project_id, user_id, false)) == BS_OK)
		e = db_run(c, &db_member_stmts[STMT_DELETE], v);
	return members_end(c, e);
}

bs_err
db_invitations_delete(struct db_conn *c, const char *project_id,
    const char *invitation_id)
{
	const char	*v[] = { project_id, invitation_id };
	PGresult	*res = NULL;
	bs_err		 e;

	if ((e = db_exec(c, &db_member_stmts[STMT_UNINVITE], v, &res, NULL)) ==
	    BS_OK && strcmp(PQcmdTuples(res), "1") != 0)
		e = BS_ERR_NOT_FOUND;
	PQclear(res);
	return e;
}
