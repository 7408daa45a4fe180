/*
 * Live events of a project: published by any worker, delivered to every
 * subscriber on any host through a capped Redis stream per project, with ids
 * for Last-Event-ID replay. Every event is also kept in a small in-process
 * ring, which serves the subscribers of this process when Redis is absent
 * or down.
 */
#ifndef BRAINSTORM_EVENTS_H
#define BRAINSTORM_EVENTS_H

#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/cache.h"
#include "brainstorm/err.h"

#define EVENTS_ID_LEN	64

struct events;
struct events_sub;

typedef void (*events_cb)(void *arg, const char *id, const char *type,
	    const char *data);

/*
 * max_bytes bounds the event data the in-process rings keep (EVENTS_RING_BYTES);
 * past it the oldest events of any project are dropped and freed.
 */
bs_err	events_create(struct cache *cache, size_t max_bytes,
	    struct events **out);
void	events_destroy(struct events *ev);
/* Publish type with data (borrowed) to the project's subscribers. */
bs_err	events_publish(struct events *ev, const char *project_id,
	    const char *type, json_object *data);
/*
 * Subscribe from last_event_id (NULL or "": only what comes from now on).
 * block_ms bounds each events_next wait.
 */
bs_err	events_subscribe(struct events *ev, const char *project_id,
	    const char *last_event_id, int block_ms, struct events_sub **out);
/* Deliver what came after the last event seen; BS_ERR_TIMEOUT when nothing. */
bs_err	events_next(struct events_sub *sub, events_cb cb, void *arg);
void	events_unsubscribe(struct events_sub *sub);
/* Bytes of event data the in-process rings hold now. */
size_t	events_ring_bytes(struct events *ev);

#endif
