/* Users and their refresh-token families. */
#ifndef BRAINSTORM_DB_USERS_H
#define BRAINSTORM_DB_USERS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "brainstorm/auth.h"
#include "brainstorm/db.h"

/* The statement table (db_stmt_tables lists it). */
extern const struct db_stmt	db_user_stmts[];
extern const size_t		db_user_nstmts;

struct user {
	char	 id[AUTH_UUID_LEN];
	char	 email[256];
	char	 display_name[512];
	char	 created_at[40];
	bool	 disabled;
	char	 password_hash[AUTH_PASSWORD_HASH_LEN];
};

/*
 * Model tokens the user whose id is the SQL expression user spent this
 * calendar month (UTC): input, output and cache tokens of every model call
 * (turns and documents), from the ledger, which keeps them when a project
 * goes (migration 0020). One bigint.
 */
#define USER_MONTH_TOKENS_SQL(user) \
	"(SELECT coalesce(sum(d.input_tokens + d.output_tokens + " \
	"d.cache_read_tokens + d.cache_write_tokens), 0)::bigint " \
	"FROM usage_daily d WHERE d.user_id = " user " AND d.day >= " \
	"date_trunc('month', now() AT TIME ZONE 'UTC')::date)"

/*
 * BS_ERR_CONFLICT when the email exists (in any case). The email's project
 * invitations become memberships. With invited_only there must be one:
 * BS_ERR_NOT_FOUND otherwise.
 */
bs_err	db_user_create(struct db_conn *c, const char *email, const char *hash,
	    const char *display_name, bool invited_only, struct user *out);
bs_err	db_user_set_display_name(struct db_conn *c, const char *id,
	    const char *name, struct user *out);
/*
 * A new password hash; every session (refresh-token family) ends but
 * keep_session (NULL: all of them). BS_ERR_NOT_FOUND for an unknown id.
 */
bs_err	db_user_set_password(struct db_conn *c, const char *id, const char *hash,
	    const char *keep_session);
bs_err	db_user_id_by_email(struct db_conn *c, const char *email,
	    char id[AUTH_UUID_LEN]);
/* The ids of the projects the user is a member of (a JSON array). */
bs_err	db_user_memberships(struct db_conn *c, const char *id,
	    json_object **projects);
/*
 * Delete the account, in one transaction: the projects where it is the
 * only owner go with it (*deleted: their ids); other projects it owned
 * pass to another owner; its memberships end (*left: those projects).
 */
bs_err	db_user_delete(struct db_conn *c, const char *id, json_object **deleted,
	    json_object **left);
bs_err	db_user_month_tokens(struct db_conn *c, const char *id, long long *used);
/* BS_ERR_NOT_FOUND when absent. */
bs_err	db_user_find_by_email(struct db_conn *c, const char *email, struct user *out);
bs_err	db_user_find(struct db_conn *c, const char *id, struct user *out);
/* Disable (or enable again); BS_ERR_NOT_FOUND for an unknown email. */
/* user_id (NULL: not wanted) receives the account's id. */
bs_err	db_user_set_disabled(struct db_conn *c, const char *email, bool disabled,
	    char user_id[AUTH_UUID_LEN]);
/* {"id","email","display_name","created_at"} */
json_object *db_user_json(const struct user *u);

/*
 * Store a refresh token's hash in a new family (a session): *family. Of
 * the user's other open sessions, the max_sessions - 1 used last stay and
 * the rest end; the tokens of sessions that had ended are deleted.
 */
bs_err	db_session_start(struct db_conn *c, const char *user_id,
	    const char *hash, long max_sessions, char family[AUTH_UUID_LEN]);
/*
 * Exchange the token with hash old_hash for one with new_hash, in one
 * transaction. BS_ERR_UNAUTHORIZED when it is unknown, expired, revoked, or
 * its user is disabled; a token already rotated revokes its whole family.
 * BS_ERR_RATE_LIMITED when its family was given max_per_hour tokens in the
 * last hour (the sign-in's included; the old token stays good), with
 * *retry_after the seconds until the next is allowed. user_id receives the
 * owner and family its family on success.
 */
bs_err	db_token_rotate(struct db_conn *c, const char *old_hash,
	    const char *new_hash, long max_per_hour, char user_id[AUTH_UUID_LEN],
	    char family[AUTH_UUID_LEN], long *retry_after);
/* Revoke the family of the token with this hash (logout). */
bs_err	db_token_revoke_family(struct db_conn *c, const char *hash);

#endif
