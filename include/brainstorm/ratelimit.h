/*
 * Fixed-window rate limits, shared by every worker through Redis, or kept
 * in this process when Redis is not configured or down.
 */
#ifndef BRAINSTORM_RATELIMIT_H
#define BRAINSTORM_RATELIMIT_H

#include "brainstorm/cache.h"
#include "brainstorm/err.h"

/*
 * Count a hit of key against limit per window_s. BS_ERR_RATE_LIMITED when
 * over the limit, with *retry_after the seconds until the window ends.
 */
bs_err	ratelimit_hit(struct cache *cache, const char *key, long limit,
	    long window_s, long *retry_after);
/* Forget the in-process windows (tests). */
void	ratelimit_local_reset(void);

#endif
