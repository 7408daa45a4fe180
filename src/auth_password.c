#include "config.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "brainstorm/auth.h"
#include "brainstorm/log.h"
#include "brainstorm/slots.h"

/*
 * Argon2id with libsodium's interactive limits (2 passes, 64 MiB): about
 * 0.1 s a hash on one core here, bounded memory per concurrent login.
 */
#define PWHASH_OPSLIMIT	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PWHASH_MEMLIMIT	crypto_pwhash_MEMLIMIT_INTERACTIVE

/* Written once by auth_init before any thread starts, read-only after. */
static char	 decoy_hash[AUTH_PASSWORD_HASH_LEN];

/*
 * Hashes at once in this process: one per core, at most PWHASH_SLOTS_MAX.
 * Each takes PWHASH_MEMLIMIT for its 0.1 s, and one core's time, so more
 * at once would be no faster: a flood of logins on 8 request threads
 * took a worker to 540 MB. The others wait their turn (a few tenths of a
 * second: the threads are few).
 */
#define PWHASH_SLOTS_MAX	8

static struct slots	 hash_slots;
static pthread_once_t	 hash_slots_once = PTHREAD_ONCE_INIT;

static void
hash_slots_init(void)
{
	long	 cores = sysconf(_SC_NPROCESSORS_ONLN);

	slots_init(&hash_slots, cores > PWHASH_SLOTS_MAX ? PWHASH_SLOTS_MAX :
	    cores);
}

static void
hash_slot_take(void)
{
	pthread_once(&hash_slots_once, hash_slots_init);
	slots_take(&hash_slots);
}

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
	int	 rc;

	hash_slot_take();
	rc = crypto_pwhash_str(out, password, strlen(password), PWHASH_OPSLIMIT,
	    PWHASH_MEMLIMIT);
	slots_give(&hash_slots);
	return rc == 0 ? BS_OK : BS_ERR_NOMEM;
}

bool
auth_password_verify(const char *hash, const char *password)
{
	bool	 decoy = hash == NULL;
	int	 rc;

	/* The decoy's result is thrown away; only its cost matters. */
	hash_slot_take();
	rc = crypto_pwhash_str_verify(decoy ? decoy_hash : hash, password,
	    strlen(password));
	slots_give(&hash_slots);
	return !decoy && rc == 0;
}
