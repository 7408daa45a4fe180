/* The one error convention: every fallible function returns a bs_err. */
#ifndef BRAINSTORM_ERR_H
#define BRAINSTORM_ERR_H

#include <stddef.h>

typedef enum bs_err {
	BS_OK = 0,
	BS_ERR_NOMEM,		/* allocation failed */
	BS_ERR_INVALID,		/* malformed or out-of-range input */
	BS_ERR_TOO_LARGE,	/* a capped buffer would overflow */
	BS_ERR_NOT_FOUND,
	BS_ERR_CONFLICT,	/* stale version, duplicate key */
	BS_ERR_IO,		/* read/write/socket failure */
	BS_ERR_DB,		/* query failed (SQL error) */
	BS_ERR_DB_UNAVAILABLE,	/* no connection to PostgreSQL */
	BS_ERR_POOL_TIMEOUT,	/* no pooled connection within the timeout */
	BS_ERR_CACHE_UNAVAILABLE, /* Redis not configured or down */
	BS_ERR_TIMEOUT,
	BS_ERR_LOCKED,		/* someone else holds a lock */
	BS_ERR_CHECKSUM,	/* an applied migration file changed */
	BS_ERR_CONFIG,
	BS_ERR_INTERNAL,
	BS_ERR_RATE_LIMITED,	/* too many attempts in the window */
	BS_ERR_UNAUTHORIZED,	/* bad credentials or token */
	BS_ERR_FULL,		/* a bound of what a user grows is reached */
	BS_ERR__COUNT
} bs_err;

const char *bs_strerror(bs_err err);
/* Write a sentence for a human into err (NULL-safe, always terminated). */
void	bs_errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
