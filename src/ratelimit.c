#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "brainstorm/ratelimit.h"

#define LOCAL_SLOTS	4096
#define KEY_MAX		200

struct window {
	uint64_t	 hash;
	time_t		 ends;
	long		 count;
};

/* The in-process fallback: a fixed table, guarded by local_lock. A full
 * table reuses the slot of the oldest window, so memory stays bounded. */
static pthread_mutex_t	 local_lock = PTHREAD_MUTEX_INITIALIZER;
static struct window	 local[LOCAL_SLOTS];

static uint64_t
key_hash(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h != 0 ? h : 1;
}

static void
local_hit(const char *key, long window_s, long *count, long *ttl)
{
	uint64_t	 h = key_hash(key);
	time_t		 now = time(NULL);
	size_t		 i, slot, victim = h % LOCAL_SLOTS;
	struct window	*w = NULL;

	pthread_mutex_lock(&local_lock);
	/* Probe a few neighbours: the key's window, a free slot, or the oldest. */
	for (i = 0; i < 8; i++) {
		slot = (h + i) % LOCAL_SLOTS;
		if (local[slot].hash == h) {
			w = &local[slot];
			break;
		}
		if (local[slot].ends <= now || local[slot].ends < local[victim].ends)
			victim = slot;
	}
	if (w == NULL || w->ends <= now) {
		if (w == NULL)
			w = &local[victim];
		w->hash = h;
		w->count = 0;
		w->ends = now + window_s;
	}
	*count = ++w->count;
	*ttl = (long)(w->ends - now);
	pthread_mutex_unlock(&local_lock);
}

void
ratelimit_local_reset(void)
{
	pthread_mutex_lock(&local_lock);
	memset(local, 0, sizeof(local));
	pthread_mutex_unlock(&local_lock);
}

bs_err
ratelimit_hit(struct cache *cache, const char *key, long limit, long window_s,
    long *retry_after)
{
	char	 rkey[KEY_MAX + 16];
	long	 count = 0, ttl = 0;

	snprintf(rkey, sizeof(rkey), "rl:%.*s", KEY_MAX, key);
	if (cache_window_hit(cache, rkey, (int)window_s, &count, &ttl) != BS_OK)
		local_hit(rkey, window_s, &count, &ttl);
	*retry_after = ttl > 0 ? ttl : 1;
	return count > limit ? BS_ERR_RATE_LIMITED : BS_OK;
}
