#include "config.h"

#include <stdio.h>
#include <string.h>

#include "brainstorm/db_users.h"

/* How long a refresh token lasts, in SQL. */
#define REFRESH_TTL \
	"make_interval(secs => " DB_SQL_INT(AUTH_REFRESH_TTL_S) ")"
#define USER_COLUMNS	"id, email, display_name, " DB_ISO_UTC("created_at") ", " \
			"disabled_at IS NOT NULL, password_hash"

enum user_stmt {
	STMT_USER_INSERT, STMT_USER_SET_NAME, STMT_USER_SET_PASSWORD,
	STMT_USER_ID_BY_EMAIL, STMT_USER_MEMBERSHIPS, STMT_USER_DELETE_LOCK,
	STMT_USER_DELETE_PROJECTS, STMT_USER_DELETE, STMT_USER_MONTH_TOKENS,
	STMT_USER_BY_EMAIL, STMT_USER_BY_ID, STMT_USER_SET_DISABLED,
	STMT_USER_DISABLE_TOKENS, STMT_TOKEN_INSERT, STMT_TOKEN_LOCK,
	STMT_TOKEN_REPLACE, STMT_FAMILY_REVOKE, STMT_FAMILY_REVOKE_BY_HASH,
	STMT_SESSION_START, STMT_FAMILY_HOUR, STMT_FAMILY_PRUNE,
	USER_STMT__COUNT
};

/* The account and session statements; db_stmt_tables lists the table (names unique). */
const struct db_stmt db_user_stmts[USER_STMT__COUNT] = {
	/*
	 * A new account takes over the invitations of its email as memberships.
	 * With $4 (REGISTRATION=invite) there must be one, or no row comes back.
	 */
	[STMT_USER_INSERT] = { "user_insert",
	  "WITH u AS (INSERT INTO users (email, password_hash, display_name) "
	  "SELECT $1, $2, $3 WHERE NOT $4::boolean OR EXISTS (SELECT 1 "
	  "FROM project_invitations i WHERE lower(i.email) = lower($1)) "
	  "RETURNING *), "
	  "m AS (INSERT INTO project_members (project_id, user_id, role, added_by) "
	  "SELECT i.project_id, u.id, i.role, i.invited_by "
	  "FROM project_invitations i, u WHERE lower(i.email) = lower(u.email) "
	  "ON CONFLICT DO NOTHING), "
	  "d AS (DELETE FROM project_invitations i USING u "
	  "WHERE lower(i.email) = lower(u.email)) "
	  "SELECT " USER_COLUMNS " FROM u", 4 },
	[STMT_USER_SET_NAME] = { "user_set_name",
	  "UPDATE users SET display_name = $2 WHERE id = $1::uuid "
	  "RETURNING " USER_COLUMNS, 2 },
	/* A new password ends every session but $3's (NULL: every one). */
	[STMT_USER_SET_PASSWORD] = { "user_set_password",
	  "WITH u AS (UPDATE users SET password_hash = $2 WHERE id = $1::uuid "
	  "RETURNING id), "
	  "r AS (UPDATE refresh_tokens t SET revoked_at = now() FROM u "
	  "WHERE t.user_id = u.id AND t.revoked_at IS NULL "
	  "AND t.family_id IS DISTINCT FROM $3::uuid) "
	  "SELECT id FROM u", 3 },
	[STMT_USER_ID_BY_EMAIL] = { "user_id_by_email",
	  "SELECT id FROM users WHERE lower(email) = lower($1)", 1 },
	[STMT_USER_MEMBERSHIPS] = { "user_memberships",
	  "SELECT project_id FROM project_members WHERE user_id = $1::uuid "
	  "ORDER BY project_id", 1 },
	/*
	 * Every project the account touches, locked against concurrent role
	 * changes. The ids come from the owner's and the member's indexes: a
	 * condition on p itself ("owner or member") would read every project.
	 */
	[STMT_USER_DELETE_LOCK] = { "user_delete_lock",
	  "SELECT p.id FROM projects p WHERE p.id IN "
	  "(SELECT id FROM projects WHERE owner_id = $1::uuid UNION "
	  "SELECT project_id FROM project_members WHERE user_id = $1::uuid) "
	  "ORDER BY p.id FOR UPDATE", 1 },
	/*
	 * The projects it owns with no other owner go; another owner takes over
	 * projects.owner_id of the others. Rows: each project it leaves, with
	 * whether the project itself was deleted.
	 */
	[STMT_USER_DELETE_PROJECTS] = { "user_delete_projects",
	  "WITH doomed AS (SELECT p.id FROM projects p WHERE p.id IN "
	  "(SELECT id FROM projects WHERE owner_id = $1::uuid UNION "
	  "SELECT project_id FROM project_members WHERE user_id = $1::uuid "
	  "AND role = 'owner') AND NOT EXISTS "
	  "(SELECT 1 FROM project_members o WHERE o.project_id = p.id "
	  "AND o.role = 'owner' AND o.user_id <> $1::uuid)), "
	  "moved AS (UPDATE projects p SET owner_id = (SELECT o.user_id "
	  "FROM project_members o WHERE o.project_id = p.id AND o.role = 'owner' "
	  "AND o.user_id <> $1::uuid ORDER BY o.created_at, o.user_id LIMIT 1) "
	  "WHERE p.owner_id = $1::uuid AND p.id NOT IN (SELECT id FROM doomed)), "
	  "gone AS (DELETE FROM projects p WHERE p.id IN (SELECT id FROM doomed) "
	  "RETURNING p.id) "
	  "SELECT id, true FROM gone UNION ALL SELECT m.project_id, false "
	  "FROM project_members m WHERE m.user_id = $1::uuid "
	  "AND m.project_id NOT IN (SELECT id FROM doomed)", 1 },
	[STMT_USER_DELETE] = { "user_delete",
	  "DELETE FROM users WHERE id = $1::uuid", 1 },
	[STMT_USER_MONTH_TOKENS] = { "user_month_tokens",
	  "SELECT " USER_MONTH_TOKENS_SQL("$1::uuid"), 1 },
	[STMT_USER_BY_EMAIL] = { "user_by_email",
	  "SELECT " USER_COLUMNS " FROM users WHERE lower(email) = lower($1)", 1 },
	[STMT_USER_BY_ID] = { "user_by_id",
	  "SELECT " USER_COLUMNS " FROM users WHERE id = $1", 1 },
	[STMT_USER_SET_DISABLED] = { "user_set_disabled",
	  "UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) "
	  "ELSE NULL END WHERE lower(email) = lower($1) RETURNING id", 2 },
	[STMT_USER_DISABLE_TOKENS] = { "user_disable_tokens",
	  "UPDATE refresh_tokens SET revoked_at = now() FROM users u "
	  "WHERE u.id = refresh_tokens.user_id AND lower(u.email) = lower($1) "
	  "AND refresh_tokens.revoked_at IS NULL", 1 },
	[STMT_TOKEN_INSERT] = { "token_insert",
	  "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) "
	  "VALUES ($1, $2::uuid, $3, now() + " REFRESH_TTL ") RETURNING id", 3 },
	[STMT_TOKEN_LOCK] = { "token_lock",
	  "SELECT t.id, t.user_id, t.family_id, t.revoked_at IS NOT NULL, "
	  "t.replaced_by IS NOT NULL, t.expires_at <= now(), u.disabled_at IS NOT NULL "
	  "FROM refresh_tokens t JOIN users u ON u.id = t.user_id "
	  "WHERE t.token_hash = $1 FOR UPDATE OF t", 1 },
	[STMT_TOKEN_REPLACE] = { "token_replace",
	  "UPDATE refresh_tokens SET revoked_at = now(), replaced_by = $2 "
	  "WHERE id = $1", 2 },
	[STMT_FAMILY_REVOKE] = { "family_revoke",
	  "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
	  "WHERE family_id = $1", 1 },
	[STMT_FAMILY_REVOKE_BY_HASH] = { "family_revoke_by_hash",
	  "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
	  "WHERE family_id = (SELECT family_id FROM refresh_tokens "
	  "WHERE token_hash = $1)", 1 },
	/*
	 * A new session (family) of $1 with its first token. Of the sessions
	 * open before it, the $4 - 1 used last stay (a session's live token
	 * is its only unrevoked one, made by its last sign-in or refresh); the
	 * others end. Sessions that ended before (no live token left) go
	 * with all their tokens: a token of theirs presented again is refused
	 * as unknown instead of as revoked. The statement's snapshot does not
	 * see its own new token, nor the sessions it ends: those go with the
	 * next sign-in. Two sign-ins at once may leave one session over the
	 * cap; the next sign-in ends it.
	 */
	[STMT_SESSION_START] = { "session_start",
	  "WITH t AS (INSERT INTO refresh_tokens (user_id, family_id, "
	  "token_hash, expires_at) VALUES ($1::uuid, gen_random_uuid(), $2, "
	  "now() + " REFRESH_TTL ") RETURNING id, family_id), "
	  "ended AS (UPDATE refresh_tokens o SET revoked_at = now() "
	  "WHERE o.user_id = $1::uuid AND o.revoked_at IS NULL "
	  "AND o.expires_at > now() AND o.id NOT IN (SELECT l.id "
	  "FROM refresh_tokens l WHERE l.user_id = $1::uuid "
	  "AND l.revoked_at IS NULL AND l.expires_at > now() "
	  "ORDER BY l.created_at DESC, l.id DESC LIMIT $3::integer - 1)), "
	  "gone AS (DELETE FROM refresh_tokens d WHERE d.user_id = $1::uuid "
	  "AND NOT EXISTS (SELECT 1 FROM refresh_tokens l "
	  "WHERE l.family_id = d.family_id AND l.revoked_at IS NULL "
	  "AND l.expires_at > now())) "
	  "SELECT id, family_id FROM t", 3 },
	/*
	 * The tokens a session was given in the last hour, and the seconds
	 * until the oldest of them is an hour old.
	 */
	[STMT_FAMILY_HOUR] = { "family_hour",
	  "SELECT count(*), coalesce(ceil(extract(epoch FROM min(created_at) "
	  "+ interval '1 hour' - now())), 0)::integer FROM refresh_tokens "
	  "WHERE family_id = $1::uuid AND created_at > now() - interval '1 hour'",
	  1 },
	/*
	 * A session's rotated tokens that have expired (each expires
	 * REFRESH_TTL after it was made): presented again, one is refused as
	 * unknown, as it would be as expired, but no longer ends the session
	 * as a reuse would.
	 */
	[STMT_FAMILY_PRUNE] = { "family_prune",
	  "DELETE FROM refresh_tokens WHERE family_id = $1::uuid "
	  "AND created_at < now() - " REFRESH_TTL " "
	  "AND expires_at <= now() AND replaced_by IS NOT NULL", 1 },
};
const size_t db_user_nstmts = USER_STMT__COUNT;


static void
copy_field(char *dst, size_t len, const PGresult *res, int col)
{
	snprintf(dst, len, "%s", PQgetvalue(res, 0, col));
}

static void
user_from_row(const PGresult *res, struct user *u)
{
	copy_field(u->id, sizeof(u->id), res, 0);
	copy_field(u->email, sizeof(u->email), res, 1);
	copy_field(u->display_name, sizeof(u->display_name), res, 2);
	copy_field(u->created_at, sizeof(u->created_at), res, 3);
	u->disabled = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	copy_field(u->password_hash, sizeof(u->password_hash), res, 5);
}

/* Run a one-row user query. */
static bs_err
user_query(struct db_conn *c, const struct db_stmt *st,
    const char *const *values, struct user *out)
{
	PGresult	*res = NULL;
	char		 state[6];
	bs_err		 e;

	if ((e = db_exec(c, st, values, &res, state)) != BS_OK) {
		if (strcmp(state, "23505") == 0)
			e = BS_ERR_CONFLICT;
		else if (strcmp(state, "22P02") == 0)
			e = BS_ERR_NOT_FOUND;	/* not a uuid */
		goto out;
	}
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	user_from_row(res, out);
out:
	PQclear(res);
	return e;
}

bs_err
db_user_create(struct db_conn *c, const char *email, const char *hash,
    const char *display_name, bool invited_only, struct user *out)
{
	const char	*v[] = { email, hash, display_name,
	    invited_only ? "true" : "false" };

	return user_query(c, &db_user_stmts[STMT_USER_INSERT], v, out);
}

bs_err
db_user_set_display_name(struct db_conn *c, const char *id, const char *name,
    struct user *out)
{
	const char	*v[] = { id, name };

	return user_query(c, &db_user_stmts[STMT_USER_SET_NAME], v, out);
}

bs_err
db_user_set_password(struct db_conn *c, const char *id, const char *hash,
    const char *keep_session)
{
	const char	*v[] = { id, hash, keep_session };
	PGresult	*res = NULL;
	bs_err		 e;

	if ((e = db_exec(c, &db_user_stmts[STMT_USER_SET_PASSWORD], v, &res, NULL)) == BS_OK &&
	    PQntuples(res) != 1)
		e = BS_ERR_NOT_FOUND;
	PQclear(res);
	return e;
}

/* One text column of every row as a JSON array of strings. */
static json_object *
column_strings(const PGresult *res, int col)
{
	json_object	*list = json_object_new_array();
	int		 i;

	for (i = 0; list != NULL && i < PQntuples(res); i++)
		json_object_array_add(list,
		    json_object_new_string(PQgetvalue(res, i, col)));
	return list;
}

bs_err
db_user_id_by_email(struct db_conn *c, const char *email,
    char id[AUTH_UUID_LEN])
{
	const char	*v[] = { email };
	PGresult	*res = NULL;
	bs_err		 e;

	id[0] = '\0';
	if ((e = db_exec(c, &db_user_stmts[STMT_USER_ID_BY_EMAIL], v, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(id, AUTH_UUID_LEN, "%s", PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	return e;
}

bs_err
db_user_memberships(struct db_conn *c, const char *id, json_object **projects)
{
	const char	*v[] = { id };
	PGresult	*res = NULL;
	bs_err		 e;

	*projects = NULL;
	if ((e = db_exec(c, &db_user_stmts[STMT_USER_MEMBERSHIPS], v, &res, NULL)) == BS_OK &&
	    (*projects = column_strings(res, 0)) == NULL)
		e = BS_ERR_NOMEM;
	PQclear(res);
	return e;
}

bs_err
db_user_delete(struct db_conn *c, const char *id, json_object **deleted,
    json_object **left)
{
	const char	*v[] = { id };
	PGresult	*res = NULL;
	json_object	*gone = NULL, *kept = NULL;
	int		 i;
	bs_err		 e;

	*deleted = *left = NULL;
	if ((e = db_command(c, "BEGIN")) != BS_OK)
		return e;
	if ((e = db_exec(c, &db_user_stmts[STMT_USER_DELETE_LOCK], v, &res, NULL)) != BS_OK)
		goto out;
	PQclear(res);
	res = NULL;
	if ((e = db_exec(c, &db_user_stmts[STMT_USER_DELETE_PROJECTS], v, &res, NULL)) != BS_OK)
		goto out;
	gone = json_object_new_array();
	kept = json_object_new_array();
	if (gone == NULL || kept == NULL) {
		e = BS_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++)
		json_object_array_add(strcmp(PQgetvalue(res, i, 1), "t") == 0 ?
		    gone : kept, json_object_new_string(PQgetvalue(res, i, 0)));
	PQclear(res);
	res = NULL;
	if ((e = db_exec(c, &db_user_stmts[STMT_USER_DELETE], v, &res, NULL)) != BS_OK)
		goto out;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	e = db_command(c, "COMMIT");
out:
	PQclear(res);
	if (e != BS_OK) {
		db_command(c, "ROLLBACK");
		json_object_put(gone);
		json_object_put(kept);
	} else {
		*deleted = gone;
		*left = kept;
	}
	return e;
}

bs_err
db_user_month_tokens(struct db_conn *c, const char *id, long long *used)
{
	const char	*v[] = { id };
	bs_err		 e;

	*used = 0;
	if ((e = db_exec_int64s(c, &db_user_stmts[STMT_USER_MONTH_TOKENS], v,
	    used, 1)) != BS_OK)
		*used = 0;
	return e;
}

bs_err
db_user_find_by_email(struct db_conn *c, const char *email, struct user *out)
{
	const char	*v[] = { email };

	return user_query(c, &db_user_stmts[STMT_USER_BY_EMAIL], v, out);
}

bs_err
db_user_find(struct db_conn *c, const char *id, struct user *out)
{
	const char	*v[] = { id };

	return user_query(c, &db_user_stmts[STMT_USER_BY_ID], v, out);
}

bs_err
db_user_set_disabled(struct db_conn *c, const char *email, bool disabled,
    char user_id[AUTH_UUID_LEN])
{
	const char	*v[] = { email, disabled ? "true" : "false" };
	PGresult	*res = NULL;
	bs_err		 e;

	if ((e = db_command(c, "BEGIN")) != BS_OK)
		return e;
	if ((e = db_exec(c, &db_user_stmts[STMT_USER_SET_DISABLED], v, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (user_id != NULL)
		snprintf(user_id, AUTH_UUID_LEN, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	/* A disabled account's sessions end with it. */
	if (disabled && (e = db_exec(c, &db_user_stmts[STMT_USER_DISABLE_TOKENS], v, &res, NULL)) != BS_OK)
		goto out;
	e = db_command(c, "COMMIT");
out:
	PQclear(res);
	if (e != BS_OK)
		db_command(c, "ROLLBACK");
	return e;
}

json_object *
db_user_json(const struct user *u)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "display_name",
	    json_object_new_string(u->display_name));
	json_object_object_add(o, "created_at", json_object_new_string(u->created_at));
	return o;
}

bs_err
db_session_start(struct db_conn *c, const char *user_id, const char *hash,
    long max_sessions, char family[AUTH_UUID_LEN])
{
	char		 max[24];
	const char	*v[] = { user_id, hash, max };
	PGresult	*res = NULL;
	bs_err		 e;

	snprintf(max, sizeof(max), "%ld", max_sessions);
	if ((e = db_exec(c, &db_user_stmts[STMT_SESSION_START], v, &res,
	    NULL)) == BS_OK)
		snprintf(family, AUTH_UUID_LEN, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return e;
}

/*
 * BS_ERR_RATE_LIMITED when the family was given max_per_hour tokens in the
 * last hour; *retry_after the seconds until one more is allowed.
 */
static bs_err
family_room(struct db_conn *c, const char *family, long max_per_hour,
    long *retry_after)
{
	const char	*v[] = { family };
	long long	 hour[2];	/* tokens, seconds until one is older */
	bs_err		 e;

	if ((e = db_exec_int64s(c, &db_user_stmts[STMT_FAMILY_HOUR], v, hour,
	    2)) != BS_OK)
		return e;
	if (hour[0] < max_per_hour)
		return BS_OK;
	*retry_after = hour[1] > 0 ? (long)hour[1] : 1;
	return BS_ERR_RATE_LIMITED;
}

bs_err
db_token_rotate(struct db_conn *c, const char *old_hash,
    const char *new_hash, long max_per_hour, char user_id[AUTH_UUID_LEN],
    char family_out[AUTH_UUID_LEN], long *retry_after)
{
	const char	*v[3];
	PGresult	*res = NULL;
	char		 old_id[AUTH_UUID_LEN], family[AUTH_UUID_LEN];
	char		 new_id[AUTH_UUID_LEN];
	bool		 revoked, replaced, expired, disabled;
	bs_err		 e;

	user_id[0] = '\0';
	if ((e = db_command(c, "BEGIN")) != BS_OK)
		return e;
	v[0] = old_hash;
	if ((e = db_exec(c, &db_user_stmts[STMT_TOKEN_LOCK], v, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_UNAUTHORIZED;
		goto out;
	}
	copy_field(old_id, sizeof(old_id), res, 0);
	copy_field(user_id, AUTH_UUID_LEN, res, 1);
	copy_field(family, sizeof(family), res, 2);
	revoked = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	replaced = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	expired = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	disabled = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	PQclear(res);
	res = NULL;

	if (replaced) {
		/* Reuse of a rotated token: someone else holds the chain. */
		v[0] = family;
		if ((e = db_exec(c, &db_user_stmts[STMT_FAMILY_REVOKE], v, &res, NULL)) != BS_OK)
			goto out;
		e = db_command(c, "COMMIT");
		if (e == BS_OK)
			e = BS_ERR_UNAUTHORIZED;
		user_id[0] = '\0';
		PQclear(res);
		return e;
	}
	if (revoked || expired || disabled) {
		e = BS_ERR_UNAUTHORIZED;
		goto out;
	}
	if ((e = family_room(c, family, max_per_hour, retry_after)) != BS_OK)
		goto out;
	v[0] = family;
	if ((e = db_run(c, &db_user_stmts[STMT_FAMILY_PRUNE], v)) != BS_OK)
		goto out;
	v[0] = user_id;
	v[1] = family;
	v[2] = new_hash;
	if ((e = db_exec(c, &db_user_stmts[STMT_TOKEN_INSERT], v, &res,
	    NULL)) != BS_OK)
		goto out;
	copy_field(new_id, sizeof(new_id), res, 0);
	snprintf(family_out, AUTH_UUID_LEN, "%s", family);
	PQclear(res);
	res = NULL;
	v[0] = old_id;
	v[1] = new_id;
	if ((e = db_exec(c, &db_user_stmts[STMT_TOKEN_REPLACE], v, &res, NULL)) != BS_OK)
		goto out;
	e = db_command(c, "COMMIT");
out:
	PQclear(res);
	if (e != BS_OK) {
		db_command(c, "ROLLBACK");
		user_id[0] = '\0';
	}
	return e;
}

bs_err
db_token_revoke_family(struct db_conn *c, const char *hash)
{
	const char	*v[] = { hash };

	return db_run(c, &db_user_stmts[STMT_FAMILY_REVOKE_BY_HASH], v);
}
