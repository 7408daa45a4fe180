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

#endif
