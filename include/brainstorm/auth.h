/*
 * Accounts' cryptography, all from libsodium and libjwt: Argon2id password
 * hashes, HS256 access tokens, opaque refresh tokens stored only as keyed
 * hashes.
 */
#ifndef BRAINSTORM_AUTH_H
#define BRAINSTORM_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <sodium.h>

#include "brainstorm/config.h"
#include "brainstorm/err.h"

#define AUTH_ACCESS_TTL_S	(15 * 60)
#define AUTH_REFRESH_TTL_S	(30 * 24 * 3600)
#define AUTH_ISSUER		"brainstorm"
#define AUTH_AUDIENCE		"brainstorm-api"
#define AUTH_TOKEN_MAX		4096
#define AUTH_UUID_LEN		37	/* 36 characters and the NUL */
#define AUTH_REFRESH_LEN	44	/* 43 base64url characters and the NUL */
#define AUTH_HASH_HEX_LEN	65	/* 64 hex digits and the NUL */
#define AUTH_PASSWORD_HASH_LEN	crypto_pwhash_STRBYTES

/* sodium_init and the decoy hash for unknown emails; call once at start. */
bs_err	auth_init(void);

bs_err	auth_password_hash(const char *password, char out[AUTH_PASSWORD_HASH_LEN]);
/*
 * True when password matches hash. With hash NULL (no such user) the same
 * work is done against a decoy, so both cases cost the same time.
 */
bool	auth_password_verify(const char *hash, const char *password);

/*
 * A signed access token for user_id in the session session_id (the family
 * of its refresh tokens, the "sid" claim); free() the result.
 */
bs_err	auth_access_issue(const struct bs_config *cfg, const char *user_id,
	    const char *session_id, char **token);
/*
 * Verify signature (HS256 only), issuer, audience, expiry, not-before and
 * issued-at; user_id receives sub and session_id sid (both required). The
 * guard (app.c) then checks that the session is still open.
 */
bs_err	auth_access_verify(const struct bs_config *cfg, const char *token,
	    char user_id[AUTH_UUID_LEN], char session_id[AUTH_UUID_LEN]);

/* A fresh refresh token (256 random bits, base64url) and its stored hash. */
void	auth_refresh_new(const struct bs_config *cfg, char token[AUTH_REFRESH_LEN],
	    char hash[AUTH_HASH_HEX_LEN]);
bs_err	auth_refresh_hash(const struct bs_config *cfg, const char *token,
	    char hash[AUTH_HASH_HEX_LEN]);

#endif
