#include "config.h"

#include <string.h>

#include "brainstorm/auth.h"
#include "brainstorm/log.h"

/*
 * Argon2id with libsodium's interactive limits (2 passes, 64 MiB): about
 * 0.1 s a hash on one core here, bounded memory per concurrent login.
 */
#define PWHASH_OPSLIMIT	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PWHASH_MEMLIMIT	crypto_pwhash_MEMLIMIT_INTERACTIVE

/* Written once by auth_init before any thread starts, read-only after. */
static char	 decoy_hash[AUTH_PASSWORD_HASH_LEN];

bs_err
auth_init(void)
{
	unsigned char	 random[32];
	char		 decoy[2 * sizeof(random) + 1];

	if (sodium_init() < 0)
		return BS_ERR_INTERNAL;
	randombytes_buf(random, sizeof(random));
	sodium_bin2hex(decoy, sizeof(decoy), random, sizeof(random));
	return auth_password_hash(decoy, decoy_hash);
}

bs_err
auth_password_hash(const char *password, char out[AUTH_PASSWORD_HASH_LEN])
{
	if (crypto_pwhash_str(out, password, strlen(password), PWHASH_OPSLIMIT,
	    PWHASH_MEMLIMIT) != 0)
		return BS_ERR_NOMEM;
	return BS_OK;
}

bool
auth_password_verify(const char *hash, const char *password)
{
	bool	 decoy = hash == NULL;
	int	 rc;

	/* The decoy's result is thrown away; only its cost matters. */
	rc = crypto_pwhash_str_verify(decoy ? decoy_hash : hash, password,
	    strlen(password));
	return !decoy && rc == 0;
}
