/* Users and their refresh-token families. */
#ifndef BRAINSTORM_DB_USERS_H
#define BRAINSTORM_DB_USERS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "brainstorm/auth.h"
#include "brainstorm/db.h"

struct user {
	char	 id[AUTH_UUID_LEN];
	char	 email[256];
	char	 display_name[512];
	char	 created_at[40];
	bool	 disabled;
	char	 password_hash[AUTH_PASSWORD_HASH_LEN];
};

/* BS_ERR_CONFLICT when the email exists (in any case). */
bs_err	users_create(struct db_conn *c, const char *email, const char *hash,
	    const char *display_name, struct user *out);
/* BS_ERR_NOT_FOUND when absent. */
bs_err	users_find_by_email(struct db_conn *c, const char *email, struct user *out);
bs_err	users_find(struct db_conn *c, const char *id, struct user *out);
/* Disable (or enable again); BS_ERR_NOT_FOUND for an unknown email. */
/* user_id (NULL: not wanted) receives the account's id. */
bs_err	users_set_disabled(struct db_conn *c, const char *email, bool disabled,
	    char user_id[AUTH_UUID_LEN]);
/* {"id","email","display_name","created_at"} */
json_object *users_json(const struct user *u);

/* Store a refresh token's hash; family_id NULL starts a new family. */
bs_err	refresh_tokens_insert(struct db_conn *c, const char *user_id,
	    const char *family_id, const char *hash);
/*
 * Exchange the token with hash old_hash for one with new_hash, in one
 * transaction. BS_ERR_UNAUTHORIZED when it is unknown, expired, revoked, or
 * its user is disabled; a token already rotated revokes its whole family.
 * user_id receives the owner on success.
 */
bs_err	refresh_tokens_rotate(struct db_conn *c, const char *old_hash,
	    const char *new_hash, char user_id[AUTH_UUID_LEN]);
/* Revoke the family of the token with this hash (logout). */
bs_err	refresh_tokens_revoke_family(struct db_conn *c, const char *hash);

#endif
