#include "config.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brainstorm/events.h"
#include "brainstorm/log.h"

#define STREAM_MAXLEN	1000	/* events kept per project in Redis */
#define RING_PROJECTS	64	/* projects kept in the process */
#define RING_EVENTS	256	/* events kept per project in the process */
#define EVENT_DATA_MAX	(256 * 1024)
#define LOCAL_PREFIX	"L-"
#define TRIM_AFTER	(1024 * 1024)	/* bytes freed before memory goes back */

struct ring_event {
	unsigned long long	 seq;
	char			 type[32];
	char			*data;
	size_t			 size;	/* bytes of data, its NUL included */
};

struct ring {
	char			 project[40];
	time_t			 used;
	struct ring_event	 ev[RING_EVENTS];	/* by seq % RING_EVENTS */
};

/*
 * lock guards the rings, seq, bytes and freed; published is
 * broadcast on every publish so in-process subscribers wake. The cache has
 * its own lock. The rings hold at most max_bytes of event data: past it,
 * the oldest events of any project go first.
 */
struct events {
	struct cache		*cache;
	pthread_mutex_t		 lock;
	pthread_cond_t		 published;
	unsigned long long	 seq;
	size_t			 bytes, max_bytes;
	size_t			 freed;		/* since memory last went back */
	struct ring		 rings[RING_PROJECTS];
};

struct events_sub {
	struct events		*ev;
	char			 project[40];
	char			 key[64];
	int			 block_ms;
	struct cache_reader	*reader;	/* NULL: in-process ring */
	char			 last_id[EVENTS_ID_LEN];	/* Redis mode */
	unsigned long long	 last_seq;			/* ring mode */
};

bs_err
events_create(struct cache *cache, size_t max_bytes, struct events **out)
{
	struct events	*ev;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return BS_ERR_NOMEM;
	ev->cache = cache;
	ev->max_bytes = max_bytes;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->published, NULL);
	*out = ev;
	return BS_OK;
}

void
events_destroy(struct events *ev)
{
	size_t	 i, j;

	if (ev == NULL)
		return;
	for (i = 0; i < RING_PROJECTS; i++)
		for (j = 0; j < RING_EVENTS; j++)
			free(ev->rings[i].ev[j].data);
	pthread_cond_destroy(&ev->published);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

/* Drop one event's data. Lock held. */
static void
slot_clear(struct events *ev, struct ring_event *e)
{
	if (e->data == NULL)
		return;
	ev->bytes -= e->size;
	ev->freed += e->size;
	free(e->data);
	e->data = NULL;
	e->size = 0;
	e->seq = 0;
}

/*
 * The oldest events of any project go until the rings fit. A quiet
 * project's ring keeps old events, so the oldest is searched for: at most
 * RING_PROJECTS * RING_EVENTS slots a drop. Lock held.
 */
static void
rings_shrink(struct events *ev, size_t incoming)
{
	struct ring_event	*min, *e;
	size_t			 i, j;

	while (ev->bytes + incoming > ev->max_bytes) {
		min = NULL;
		for (i = 0; i < RING_PROJECTS; i++) {
			for (j = 0; j < RING_EVENTS; j++) {
				e = &ev->rings[i].ev[j];
				if (e->data != NULL && (min == NULL || e->seq < min->seq))
					min = e;
			}
		}
		if (min == NULL)
			break;
		slot_clear(ev, min);
	}
}

/* The project's ring, or (create) the least recently used one. Lock held. */
static struct ring *
ring_find(struct events *ev, const char *project, bool create)
{
	struct ring	*oldest = &ev->rings[0];
	size_t		 i, j;

	for (i = 0; i < RING_PROJECTS; i++) {
		if (strcmp(ev->rings[i].project, project) == 0)
			return &ev->rings[i];
		if (ev->rings[i].used < oldest->used)
			oldest = &ev->rings[i];
	}
	if (!create)
		return NULL;
	for (j = 0; j < RING_EVENTS; j++)
		slot_clear(ev, &oldest->ev[j]);
	snprintf(oldest->project, sizeof(oldest->project), "%s", project);
	return oldest;
}

static void
stream_key(const char *project, char key[64])
{
	snprintf(key, 64, "events:%s", project);
}

bs_err
events_publish(struct events *ev, const char *project_id, const char *type,
    json_object *data)
{
	const char		*text;
	char			 key[64], id[64];
	struct ring		*r;
	struct ring_event	*slot;
	char			*copy;
	size_t			 size;
	bool			 trim;

	text = json_object_to_json_string_ext(data,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if ((size = strlen(text) + 1) > EVENT_DATA_MAX)
		return BS_ERR_TOO_LARGE;
	stream_key(project_id, key);
	if (cache_configured(ev->cache) &&
	    cache_stream_add(ev->cache, key, STREAM_MAXLEN, type, text, id) != BS_OK)
		log_msgf(LOG_LEVEL_WARN, "event %s kept in this process only: "
		    "Redis is unavailable", type);
	/* An event larger than the whole ring lives in Redis only. */
	copy = size <= ev->max_bytes ? strdup(text) : NULL;
	if (copy == NULL && size <= ev->max_bytes)
		return BS_ERR_NOMEM;
	pthread_mutex_lock(&ev->lock);
	r = ring_find(ev, project_id, true);
	r->used = time(NULL);
	slot = &r->ev[++ev->seq % RING_EVENTS];
	slot_clear(ev, slot);
	if (copy != NULL) {
		rings_shrink(ev, size);
		slot->data = copy;
		slot->size = size;
		slot->seq = ev->seq;
		ev->bytes += size;
		snprintf(slot->type, sizeof(slot->type), "%s", type);
	}
	trim = ev->freed >= TRIM_AFTER;
	if (trim)
		ev->freed = 0;
	pthread_cond_broadcast(&ev->published);
	pthread_mutex_unlock(&ev->lock);
#ifdef __GLIBC__
	/* Freed event data goes back to the system, not only to malloc. */
	if (trim)
		malloc_trim(0);
#endif
	return BS_OK;
}

bs_err
events_subscribe(struct events *ev, const char *project_id,
    const char *last_event_id, int block_ms, struct events_sub **out)
{
	struct events_sub	*s;
	bool			 local_id;
	char			*end;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return BS_ERR_NOMEM;
	s->ev = ev;
	s->block_ms = block_ms;
	snprintf(s->project, sizeof(s->project), "%s", project_id);
	stream_key(project_id, s->key);
	local_id = last_event_id != NULL &&
	    strncmp(last_event_id, LOCAL_PREFIX, strlen(LOCAL_PREFIX)) == 0;

	pthread_mutex_lock(&ev->lock);
	s->last_seq = ev->seq;
	pthread_mutex_unlock(&ev->lock);
	if (local_id) {
		errno = 0;
		s->last_seq = strtoull(last_event_id + strlen(LOCAL_PREFIX), &end, 10);
		if (errno != 0 || *end != '\0') {
			pthread_mutex_lock(&ev->lock);
			s->last_seq = ev->seq;
			pthread_mutex_unlock(&ev->lock);
		}
	} else if (cache_reader_open(ev->cache, block_ms, &s->reader) == BS_OK) {
		if (last_event_id != NULL && *last_event_id != '\0' &&
		    strlen(last_event_id) < sizeof(s->last_id) &&
		    strspn(last_event_id, "0123456789-") == strlen(last_event_id))
			snprintf(s->last_id, sizeof(s->last_id), "%s", last_event_id);
		else if (cache_stream_last_id(s->reader, s->key, s->last_id) != BS_OK) {
			cache_reader_close(s->reader);
			s->reader = NULL;
		}
	}
	*out = s;
	return BS_OK;
}

struct ring_copy {
	char	 id[EVENTS_ID_LEN];
	char	 type[32];
	char	*data;
};

/* Copy the ring's events after last_seq under the lock, deliver without it. */
static bs_err
ring_next(struct events_sub *s, events_cb cb, void *arg)
{
	struct events		*ev = s->ev;
	struct ring		*r;
	struct ring_copy	 out[RING_EVENTS];
	struct timespec		 deadline;
	unsigned long long	 seq;
	size_t			 n = 0, i;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += s->block_ms / 1000;
	deadline.tv_nsec += (long)(s->block_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ev->lock);
	for (;;) {
		r = ring_find(ev, s->project, false);
		if (r != NULL) {
			/* Older than the ring holds: start at what it has. */
			seq = s->last_seq + RING_EVENTS < ev->seq ?
			    ev->seq - RING_EVENTS : s->last_seq;
			for (seq++; seq <= ev->seq && n < RING_EVENTS; seq++) {
				struct ring_event *e = &r->ev[seq % RING_EVENTS];

				if (e->seq != seq || e->data == NULL)
					continue;
				snprintf(out[n].id, sizeof(out[n].id), LOCAL_PREFIX "%llu",
				    seq);
				memcpy(out[n].type, e->type, sizeof(out[n].type));
				out[n].data = strdup(e->data);
				n++;
			}
		}
		s->last_seq = ev->seq;
		if (n > 0 || pthread_cond_timedwait(&ev->published, &ev->lock,
		    &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&ev->lock);
	for (i = 0; i < n; i++) {
		if (out[i].data != NULL)
			cb(arg, out[i].id, out[i].type, out[i].data);
		free(out[i].data);
	}
	return n > 0 ? BS_OK : BS_ERR_TIMEOUT;
}

bs_err
events_next(struct events_sub *s, events_cb cb, void *arg)
{
	bs_err	 e;

	if (s->reader != NULL) {
		e = cache_stream_read(s->reader, s->key, s->last_id, s->block_ms,
		    cb, arg);
		if (e == BS_OK || e == BS_ERR_TIMEOUT)
			return e;
		/* Redis went away: go on with this process's events. */
		log_msgf(LOG_LEVEL_WARN, "event subscriber falls back to "
		    "in-process events: Redis is unavailable");
		cache_reader_close(s->reader);
		s->reader = NULL;
		pthread_mutex_lock(&s->ev->lock);
		s->last_seq = s->ev->seq;
		pthread_mutex_unlock(&s->ev->lock);
	}
	return ring_next(s, cb, arg);
}

size_t
events_ring_bytes(struct events *ev)
{
	size_t	 n;

	pthread_mutex_lock(&ev->lock);
	n = ev->bytes;
	pthread_mutex_unlock(&ev->lock);
	return n;
}

void
events_unsubscribe(struct events_sub *s)
{
	if (s == NULL)
		return;
	cache_reader_close(s->reader);
	free(s);
}
