/*
 * libFuzzer harness for the access-token parser: auth_access_verify on
 * arbitrary bytes, with a fixed key. Nothing but a well-signed HS256 token
 * with the right claims may pass, and nothing may crash or leak.
 * Build: ./configure CC=clang --enable-fuzzing && make tests/fuzz/fuzz_token
 * Run:   tests/fuzz/fuzz_token -max_total_time=60 tests/fuzz/corpus_token
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/auth.h"
#include "brainstorm/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bs_config	cfg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 key[] = "fuzz-key-fuzz-key-fuzz-key-fuzz-key-0123";
	char		*token, user[AUTH_UUID_LEN], session[AUTH_UUID_LEN];

	if (cfg.jwt_secret == NULL) {
		cfg.jwt_secret = key;
		if (auth_init() != BS_OK)
			abort();
	}
	if ((token = malloc(size + 1)) == NULL)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	user[0] = '\0';
	(void)auth_access_verify(&cfg, token, user, session);
	free(token);
	return 0;
}
