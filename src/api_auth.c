#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/auth.h"
#include "brainstorm/db_users.h"
#include "brainstorm/log.h"
#include "brainstorm/members.h"
#include "brainstorm/ratelimit.h"
#include "brainstorm/validate.h"


static const struct field_rule register_rules[] = {
	{ "email", FIELD_STRING, true, 1, 320, NULL },
	{ "password", FIELD_STRING, true, 0, 1024, NULL },
	{ "display_name", FIELD_LINE, false, 0, DISPLAY_NAME_MAX_CHARS, NULL },
};
static const struct field_rule login_rules[] = {
	{ "email", FIELD_STRING, true, 1, 320, NULL },
	{ "password", FIELD_STRING, true, 0, 1024, NULL },
};
static const struct field_rule refresh_rules[] = {
	{ "refresh_token", FIELD_STRING, true, 1, 200, NULL },
};
static const struct field_rule me_update_rules[] = {
	{ "display_name", FIELD_LINE, true, 0, DISPLAY_NAME_MAX_CHARS, NULL },
};
enum { PASSWORD_CURRENT, PASSWORD_NEW };
static const struct field_rule password_rules[] = {
	[PASSWORD_CURRENT] = { "current_password", FIELD_STRING, true, 0, 1024,
			       NULL },
	[PASSWORD_NEW] =     { "new_password", FIELD_STRING, true, 0, 1024,
			       NULL },
};
static const struct field_rule me_delete_rules[] = {
	{ "password", FIELD_STRING, true, 0, 1024, NULL },
};

#define PASSWORD_MIN_CHARS	10

#define NRULES(r)	(sizeof(r) / sizeof((r)[0]))

/* Validate ctx's body against rules; on failure the 422 is already set. */
static bool
body_valid(struct http_ctx *ctx, const struct field_rule *rules, size_t n,
    struct field_value *out)
{
	struct validate_error	 err;

	if (validate_object(ctx->req.json, rules, n, out, &err) == BS_OK)
		return true;
	api_respond_invalid(ctx, err.field, err.message);
	return false;
}

/* Count the attempt per email and per client address; 429 when over. */
static bool
auth_rate_allowed(struct http_ctx *ctx, const char *email)
{
	const struct bs_config	*cfg = ctx->app->cfg;
	char			 key[300];
	long			 retry = 0, retry_ip = 0;
	bs_err			 by_email, by_ip;

	snprintf(key, sizeof(key), "auth:email:%s", email);
	by_email = ratelimit_hit(ctx->app->cache, key, cfg->auth_rate_limit_email,
	    cfg->auth_rate_window_s, &retry);
	snprintf(key, sizeof(key), "auth:ip:%s", ctx->req.remote_addr);
	by_ip = ratelimit_hit(ctx->app->cache, key, cfg->auth_rate_limit_ip,
	    cfg->auth_rate_window_s, &retry_ip);
	if (by_email == BS_OK && by_ip == BS_OK)
		return true;
	if (by_ip != BS_OK && retry_ip > retry)
		retry = retry_ip;
	http_header_add(ctx, "Retry-After", "%ld", retry);
	http_respond_error(ctx, 429, "rate_limited", "Too many attempts; try "
	    "again in %ld seconds.", retry);
	return false;
}

/*
 * The rules of a new password (register, change, reset); on failure the
 * 422 naming field is already set.
 */
static bool
password_acceptable(struct http_ctx *ctx, const char *field,
    const char *password, const char *email)
{
	if (utf8_length(password, strlen(password)) < PASSWORD_MIN_CHARS) {
		api_respond_invalid(ctx, field,
		    "password must be at least 10 characters long.");
		return false;
	}
	if (strcasecmp(password, email) == 0) {
		api_respond_invalid(ctx, field,
		    "password must not be the email address.");
		return false;
	}
	return true;
}

/*
 * Answer a session for user: an access token and a refresh token. A new
 * login starts a session (refresh_token NULL); a rotation continues the
 * session family with refresh_token.
 */
static void
session_respond(struct http_ctx *ctx, struct db_conn *conn,
    const struct user *u, int status, const char *refresh_token,
    const char *family)
{
	char		 token[AUTH_REFRESH_LEN], hash[AUTH_HASH_HEX_LEN];
	char		 new_family[AUTH_UUID_LEN];
	char		*access = NULL;
	json_object	*body;
	bs_err		 e;

	if (refresh_token == NULL) {
		auth_refresh_new(ctx->app->cfg, token, hash);
		if ((e = db_session_start(conn, u->id, hash,
		    ctx->app->cfg->sessions_max_per_user, new_family)) != BS_OK) {
			api_respond_db_error(ctx, e);
			goto out;
		}
		refresh_token = token;
		family = new_family;
	}
	if (auth_access_issue(ctx->app->cfg, u->id, family, &access) != BS_OK) {
		api_respond_db_error(ctx, BS_ERR_INTERNAL);
		goto out;
	}
	snprintf(ctx->req.user_id, sizeof(ctx->req.user_id), "%s", u->id);
	body = json_object_new_object();
	json_object_object_add(body, "user", db_user_json(u));
	json_object_object_add(body, "access_token", json_object_new_string(access));
	json_object_object_add(body, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(body, "expires_in",
	    json_object_new_int(AUTH_ACCESS_TTL_S));
	json_object_object_add(body, "refresh_token",
	    json_object_new_string(refresh_token));
	json_object_object_add(body, "refresh_expires_in",
	    json_object_new_int(AUTH_REFRESH_TTL_S));
	http_respond_json(ctx, status, body);
out:
	sodium_memzero(token, sizeof(token));
	free(access);
}

void
api_auth_register(struct http_ctx *ctx)
{
	struct field_value	 f[NRULES(register_rules)];
	struct db_conn		*conn = NULL;
	struct user		 u;
	char			 email[EMAIL_MAX_LEN + 1], hash[AUTH_PASSWORD_HASH_LEN];
	const char		*password;
	bool			 invited_only;
	bs_err			 e;

	if (strcmp(ctx->app->cfg->registration, "closed") == 0) {
		http_respond_error(ctx, 403, "registration_closed",
		    "Registration is closed here; ask an operator for an "
		    "account.");
		return;
	}
	invited_only = strcmp(ctx->app->cfg->registration, "invite") == 0;
	if (!body_valid(ctx, register_rules, NRULES(register_rules), f))
		return;
	if (!email_normalize(f[0].str, email)) {
		api_respond_invalid(ctx, "email", "email must be an address like "
		    "name@example.com.");
		return;
	}
	password = f[1].str;
	if (!password_acceptable(ctx, "password", password, email))
		return;
	if (!auth_rate_allowed(ctx, email))
		return;
	/* Hash before taking a connection: the slow part holds none. */
	if (auth_password_hash(password, hash) != BS_OK) {
		api_respond_db_error(ctx, BS_ERR_NOMEM);
		return;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	e = db_user_create(conn, email, hash, f[2].present ? f[2].str : "",
	    invited_only, &u);
	if (e == BS_ERR_CONFLICT) {
		http_respond_error(ctx, 409, "email_taken",
		    "An account with this email already exists.");
		goto out;
	}
	if (e == BS_ERR_NOT_FOUND) {
		http_respond_error(ctx, 403, "registration_invite_only",
		    "Registration is by invitation: this email has not been "
		    "invited to a project. Ask a project owner to invite it.");
		goto out;
	}
	if (e != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	session_respond(ctx, conn, &u, 201, NULL, NULL);
out:
	sodium_memzero(hash, sizeof(hash));
	db_pool_release(ctx->app->db, conn);
}

void
api_auth_login(struct http_ctx *ctx)
{
	struct field_value	 f[NRULES(login_rules)];
	struct db_conn		*conn = NULL;
	struct user		 u;
	char			 email[EMAIL_MAX_LEN + 1];
	bool			 found = false, ok;
	bs_err			 e;

	memset(&u, 0, sizeof(u));
	if (!body_valid(ctx, login_rules, NRULES(login_rules), f))
		return;
	if (!email_normalize(f[0].str, email))
		email[0] = '\0';	/* still costs a verification below */
	if (!auth_rate_allowed(ctx, email[0] != '\0' ? email : "invalid"))
		return;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK) {
		api_respond_db_error(ctx, e);
		return;
	}
	if (email[0] != '\0') {
		e = db_user_find_by_email(conn, email, &u);
		if (e != BS_OK && e != BS_ERR_NOT_FOUND) {
			api_respond_db_error(ctx, e);
			goto out;
		}
		found = e == BS_OK;
	}
	/* Release during the slow hash; an unknown email costs the same. */
	db_pool_release(ctx->app->db, conn);
	conn = NULL;
	ok = auth_password_verify(found ? u.password_hash : NULL, f[1].str);
	if (!ok || u.disabled) {
		http_respond_error(ctx, 401, "invalid_credentials",
		    "The email or password is not right.");
		goto out;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	session_respond(ctx, conn, &u, 200, NULL, NULL);
out:
	sodium_memzero(u.password_hash, sizeof(u.password_hash));
	db_pool_release(ctx->app->db, conn);
}

void
api_auth_refresh(struct http_ctx *ctx)
{
	struct field_value	 f[NRULES(refresh_rules)];
	struct db_conn		*conn = NULL;
	struct user		 u;
	char			 old_hash[AUTH_HASH_HEX_LEN], hash[AUTH_HASH_HEX_LEN];
	char			 token[AUTH_REFRESH_LEN], user_id[AUTH_UUID_LEN];
	char			 family[AUTH_UUID_LEN];
	long			 retry = 0;
	bs_err			 e;

	if (!body_valid(ctx, refresh_rules, NRULES(refresh_rules), f))
		return;
	if (auth_refresh_hash(ctx->app->cfg, f[0].str, old_hash) != BS_OK)
		goto unauthorized;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	auth_refresh_new(ctx->app->cfg, token, hash);
	e = db_token_rotate(conn, old_hash, hash,
	    ctx->app->cfg->refresh_rate_limit, user_id, family, &retry);
	if (e == BS_ERR_UNAUTHORIZED)
		goto unauthorized;
	if (e == BS_ERR_RATE_LIMITED) {
		http_header_add(ctx, "Retry-After", "%ld", retry);
		http_respond_error(ctx, 429, "rate_limited", "This session has "
		    "been refreshed too often; try again in %ld seconds.",
		    retry);
		goto out;
	}
	if (e == BS_OK)
		e = db_user_find(conn, user_id, &u);
	if (e != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	session_respond(ctx, conn, &u, 200, token, family);
	goto out;
unauthorized:
	http_respond_error(ctx, 401, "invalid_refresh_token",
	    "The session has ended; sign in again.");
out:
	sodium_memzero(token, sizeof(token));
	db_pool_release(ctx->app->db, conn);
}

void
api_auth_logout(struct http_ctx *ctx)
{
	struct field_value	 f[NRULES(refresh_rules)];
	struct db_conn		*conn = NULL;
	char			 hash[AUTH_HASH_HEX_LEN];
	bs_err			 e;

	if (!body_valid(ctx, refresh_rules, NRULES(refresh_rules), f))
		return;
	if (auth_refresh_hash(ctx->app->cfg, f[0].str, hash) == BS_OK) {
		if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
		    (e = db_token_revoke_family(conn, hash)) != BS_OK) {
			api_respond_db_error(ctx, e);
			goto out;
		}
	}
	http_respond_text(ctx, 204, NULL, "", 0);
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_auth_me(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	struct user	 u;
	json_object	*body;
	bs_err		 e;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_user_find(conn, ctx->req.user_id, &u)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "user", db_user_json(&u));
	http_respond_json(ctx, 200, body);
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_auth_me_update(struct http_ctx *ctx)
{
	struct field_value	 f[NRULES(me_update_rules)];
	struct db_conn		*conn = NULL;
	struct user		 u;
	json_object		*body;
	bs_err			 e;

	memset(&u, 0, sizeof(u));
	if (!body_valid(ctx, me_update_rules, NRULES(me_update_rules), f))
		return;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_user_set_display_name(conn, ctx->req.user_id, f[0].str,
	    &u)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "user", db_user_json(&u));
	http_respond_json(ctx, 200, body);
out:
	sodium_memzero(u.password_hash, sizeof(u.password_hash));
	db_pool_release(ctx->app->db, conn);
}

/*
 * The caller's account, checked against password (rate limited like a
 * login, per account): false with the answer set when it does not match.
 * The slow hash holds no connection.
 */
static bool
password_confirmed(struct http_ctx *ctx, const char *password, struct user *u)
{
	const struct bs_config	*cfg = ctx->app->cfg;
	struct db_conn		*conn = NULL;
	char			 key[96];
	long			 retry = 0;
	bs_err			 e;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_user_find(conn, ctx->req.user_id, u)) != BS_OK) {
		db_pool_release(ctx->app->db, conn);
		api_respond_db_error(ctx, e);
		return false;
	}
	db_pool_release(ctx->app->db, conn);
	snprintf(key, sizeof(key), "auth:user:%s", u->id);
	if (ratelimit_hit(ctx->app->cache, key, cfg->auth_rate_limit_email,
	    cfg->auth_rate_window_s, &retry) != BS_OK) {
		http_header_add(ctx, "Retry-After", "%ld", retry);
		http_respond_error(ctx, 429, "rate_limited", "Too many attempts; "
		    "try again in %ld seconds.", retry);
		return false;
	}
	if (!auth_password_verify(u->password_hash, password)) {
		/* Not a 401: the session is fine, the password is not. */
		http_respond_error(ctx, 403, "wrong_password",
		    "The current password is not right.");
		return false;
	}
	return true;
}

/* Every other session ends; the caller's goes on with its tokens. */
void
api_auth_password(struct http_ctx *ctx)
{
	struct field_value	 f[NRULES(password_rules)];
	struct db_conn		*conn = NULL;
	struct user		 u;
	char			 hash[AUTH_PASSWORD_HASH_LEN];
	bs_err			 e;

	memset(&u, 0, sizeof(u));
	hash[0] = '\0';
	if (!body_valid(ctx, password_rules, NRULES(password_rules), f))
		return;
	if (!password_confirmed(ctx, f[PASSWORD_CURRENT].str, &u))
		goto out;
	if (!password_acceptable(ctx, "new_password", f[PASSWORD_NEW].str,
	    u.email))
		goto out;
	if (auth_password_hash(f[PASSWORD_NEW].str, hash) != BS_OK) {
		api_respond_db_error(ctx, BS_ERR_NOMEM);
		goto out;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_user_set_password(conn, u.id, hash,
	    ctx->req.session_id)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	http_respond_text(ctx, 204, NULL, "", 0);
out:
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(u.password_hash, sizeof(u.password_hash));
	db_pool_release(ctx->app->db, conn);
}

/* Each id of a JSON array of project ids loses the user (NULL: everyone). */
static void
access_revoked_all(struct http_ctx *ctx, json_object *projects,
    const char *user_id, enum access_loss why)
{
	size_t	 i;

	for (i = 0; i < json_object_array_length(projects); i++)
		access_revoked(ctx->app->events, json_object_get_string(
		    json_object_array_get_idx(projects, i)), user_id, why);
}

void
api_auth_me_delete(struct http_ctx *ctx)
{
	struct field_value	 f[NRULES(me_delete_rules)];
	struct db_conn		*conn = NULL;
	struct user		 u;
	json_object		*deleted = NULL, *left = NULL;
	bs_err			 e;

	memset(&u, 0, sizeof(u));
	if (!body_valid(ctx, me_delete_rules, NRULES(me_delete_rules), f))
		return;
	if (!password_confirmed(ctx, f[0].str, &u))
		goto out;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_user_delete(conn, u.id, &deleted, &left)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	access_revoked_all(ctx, deleted, NULL, ACCESS_PROJECT_DELETED);
	access_revoked_all(ctx, left, u.id, ACCESS_USER_DELETED);
	log_msgf(LOG_LEVEL_INFO, "account %s deleted with %zu projects", u.id,
	    json_object_array_length(deleted));
	http_respond_text(ctx, 204, NULL, "", 0);
out:
	json_object_put(deleted);
	json_object_put(left);
	sodium_memzero(u.password_hash, sizeof(u.password_hash));
	db_pool_release(ctx->app->db, conn);
}
