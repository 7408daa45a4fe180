#include "config.h"

#include <stdio.h>
#include <string.h>

#include "brainstorm/db_users.h"

#define USER_COLUMNS	"id, email, display_name, " DB_ISO_UTC("created_at") ", " \
			"disabled_at IS NOT NULL, password_hash"

static const struct db_stmt user_insert = { "user_insert",
	"INSERT INTO users (email, password_hash, display_name) "
	"VALUES ($1, $2, $3) RETURNING " USER_COLUMNS, 3 };
static const struct db_stmt user_by_email = { "user_by_email",
	"SELECT " USER_COLUMNS " FROM users WHERE lower(email) = lower($1)", 1 };
static const struct db_stmt user_by_id = { "user_by_id",
	"SELECT " USER_COLUMNS " FROM users WHERE id = $1", 1 };
static const struct db_stmt user_set_disabled = { "user_set_disabled",
	"UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) "
	"ELSE NULL END WHERE lower(email) = lower($1) RETURNING id", 2 };
static const struct db_stmt user_disable_tokens = { "user_disable_tokens",
	"UPDATE refresh_tokens SET revoked_at = now() FROM users u "
	"WHERE u.id = refresh_tokens.user_id AND lower(u.email) = lower($1) "
	"AND refresh_tokens.revoked_at IS NULL", 1 };

static const struct db_stmt token_insert = { "token_insert",
	"INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) "
	"VALUES ($1, coalesce($2::uuid, gen_random_uuid()), $3, "
	"now() + make_interval(secs => $4)) RETURNING id", 4 };
static const struct db_stmt token_lock = { "token_lock",
	"SELECT t.id, t.user_id, t.family_id, t.revoked_at IS NOT NULL, "
	"t.replaced_by IS NOT NULL, t.expires_at <= now(), u.disabled_at IS NOT NULL "
	"FROM refresh_tokens t JOIN users u ON u.id = t.user_id "
	"WHERE t.token_hash = $1 FOR UPDATE OF t", 1 };
static const struct db_stmt token_replace = { "token_replace",
	"UPDATE refresh_tokens SET revoked_at = now(), replaced_by = $2 "
	"WHERE id = $1", 2 };
static const struct db_stmt family_revoke = { "family_revoke",
	"UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
	"WHERE family_id = $1", 1 };
static const struct db_stmt family_revoke_by_hash = { "family_revoke_by_hash",
	"UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
	"WHERE family_id = (SELECT family_id FROM refresh_tokens "
	"WHERE token_hash = $1)", 1 };

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
users_create(struct db_conn *c, const char *email, const char *hash,
    const char *display_name, struct user *out)
{
	const char	*v[] = { email, hash, display_name };

	return user_query(c, &user_insert, v, out);
}

bs_err
users_find_by_email(struct db_conn *c, const char *email, struct user *out)
{
	const char	*v[] = { email };

	return user_query(c, &user_by_email, v, out);
}

bs_err
users_find(struct db_conn *c, const char *id, struct user *out)
{
	const char	*v[] = { id };

	return user_query(c, &user_by_id, v, out);
}

bs_err
users_set_disabled(struct db_conn *c, const char *email, bool disabled,
    char user_id[AUTH_UUID_LEN])
{
	const char	*v[] = { email, disabled ? "true" : "false" };
	PGresult	*res = NULL;
	bs_err		 e;

	if ((e = db_command(c, "BEGIN")) != BS_OK)
		return e;
	if ((e = db_exec(c, &user_set_disabled, v, &res, NULL)) != BS_OK)
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
	if (disabled && (e = db_exec(c, &user_disable_tokens, v, &res, NULL)) != BS_OK)
		goto out;
	e = db_command(c, "COMMIT");
out:
	PQclear(res);
	if (e != BS_OK)
		db_command(c, "ROLLBACK");
	return e;
}

json_object *
users_json(const struct user *u)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "display_name",
	    json_object_new_string(u->display_name));
	json_object_object_add(o, "created_at", json_object_new_string(u->created_at));
	return o;
}

static bs_err
token_insert_row(struct db_conn *c, const char *user_id, const char *family_id,
    const char *hash, char id[AUTH_UUID_LEN])
{
	char		 ttl[32];
	const char	*v[] = { user_id, family_id, hash, ttl };
	PGresult	*res = NULL;
	bs_err		 e;

	snprintf(ttl, sizeof(ttl), "%d", AUTH_REFRESH_TTL_S);
	if ((e = db_exec(c, &token_insert, v, &res, NULL)) == BS_OK && id != NULL)
		snprintf(id, AUTH_UUID_LEN, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return e;
}

bs_err
refresh_tokens_insert(struct db_conn *c, const char *user_id,
    const char *family_id, const char *hash)
{
	return token_insert_row(c, user_id, family_id, hash, NULL);
}

bs_err
refresh_tokens_rotate(struct db_conn *c, const char *old_hash,
    const char *new_hash, char user_id[AUTH_UUID_LEN])
{
	const char	*v[2];
	PGresult	*res = NULL;
	char		 old_id[AUTH_UUID_LEN], family[AUTH_UUID_LEN];
	char		 new_id[AUTH_UUID_LEN];
	bool		 revoked, replaced, expired, disabled;
	bs_err		 e;

	user_id[0] = '\0';
	if ((e = db_command(c, "BEGIN")) != BS_OK)
		return e;
	v[0] = old_hash;
	if ((e = db_exec(c, &token_lock, v, &res, NULL)) != BS_OK)
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
		if ((e = db_exec(c, &family_revoke, v, &res, NULL)) != BS_OK)
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
	if ((e = token_insert_row(c, user_id, family, new_hash, new_id)) != BS_OK)
		goto out;
	v[0] = old_id;
	v[1] = new_id;
	if ((e = db_exec(c, &token_replace, v, &res, NULL)) != BS_OK)
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
refresh_tokens_revoke_family(struct db_conn *c, const char *hash)
{
	const char	*v[] = { hash };

	return db_run(c, &family_revoke_by_hash, v);
}
