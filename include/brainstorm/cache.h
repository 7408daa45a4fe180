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

/* GET key into a new string (free it); BS_ERR_NOT_FOUND when absent. */
bs_err	cache_get(struct cache *c, const char *key, size_t max, char **value);
/* SET key value EX ttl_s. */
bs_err	cache_set(struct cache *c, const char *key, const char *value, long ttl_s);

/* Append fields to the capped stream key (XADD MAXLEN ~ maxlen); id out. */
bs_err	cache_stream_add(struct cache *c, const char *key, long maxlen,
	    const char *type, const char *data, char id[64]);

/*
 * A reader of streams on a connection of its own, whose timeout allows a
 * blocking read of block_ms: one per subscriber (server-sent events).
 */
struct cache_reader;
typedef void (*cache_stream_cb)(void *arg, const char *id, const char *type,
	    const char *data);
bs_err	cache_reader_open(struct cache *c, int block_ms, struct cache_reader **out);
void	cache_reader_close(struct cache_reader *r);
/* The newest id of key ("0-0" when empty). */
bs_err	cache_stream_last_id(struct cache_reader *r, const char *key, char id[64]);
/*
 * Entries after last_id, waiting up to block_ms; cb for each, and last_id
 * updated. BS_ERR_TIMEOUT when none came.
 */
bs_err	cache_stream_read(struct cache_reader *r, const char *key,
	    char last_id[64], int block_ms, cache_stream_cb cb, void *arg);

#endif
