/*
 * Redis (hiredis 0.14). Optional: with no REDIS_URL, or with Redis down,
 * every call answers BS_ERR_CACHE_UNAVAILABLE quickly and callers degrade.
 */
#ifndef BRAINSTORM_CACHE_H
#define BRAINSTORM_CACHE_H

#include <stdbool.h>

#include "brainstorm/err.h"

struct cache;

/* url: redis://[:password@]host[:port][/db] or unix:/path; NULL/"" disables. */
bs_err	cache_create(const char *url, int timeout_ms, struct cache **out);
void	cache_destroy(struct cache *c);
bool	cache_configured(const struct cache *c);
bs_err	cache_ping(struct cache *c);
/*
 * Count one more hit of key in a window of window_s seconds (the first hit
 * starts the window); *count is the hits so far, *ttl the seconds left.
 */
bs_err	cache_window_hit(struct cache *c, const char *key, int window_s,
	    long *count, long *ttl);

#endif
