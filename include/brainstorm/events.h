/*
 * Live events through nchan. nginx's nchan module holds every Server-Sent
 * Events stream; a worker or an engine publishes to nchan's publisher
 * location (NCHAN_URL: a unix socket, or an address on a private network)
 * and nchan delivers to every subscriber of the channel, with event ids and
 * Last-Event-ID replay from its message buffer. With nchan's Redis store,
 * every nginx on every host sees every channel.
 *
 * Channels: "p-PROJECT" (everything that happens in a project), "t-TURN"
 * (one turn, from its first event), "u-USER" and "m-PROJECT-USER" (never
 * published to: deleting them ends the user's streams, or the member's).
 *
 * Publishing never blocks: events go to a bounded queue that one thread per
 * process sends in order. A turn's reply.delta events are coalesced: the
 * first is held for a short window (EVENTS_DELTA_WINDOW_MS) and the turn's
 * next deltas are appended to its text; it is sent when the window has
 * passed, when its text is long, or before any other event or deletion on
 * one of its channels, so every channel still sees its events in order.
 * Consecutive deltas of a turn that are still queued are merged as well, so
 * a slow nginx means fewer, larger deltas rather than a growing queue.
 */
#ifndef BRAINSTORM_EVENTS_H
#define BRAINSTORM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/err.h"

#define EVENTS_CHANNELS_MAX	160	/* "t-TURN,p-PROJECT" and the like */

struct events;

/* What the publisher did since it started. */
struct events_counters {
	unsigned long long	 published;	/* events nchan took */
	unsigned long long	 merged;	/* deltas merged into a held or queued one */
	unsigned long long	 dropped;	/* refused: the queue was full */
	unsigned long long	 failed;	/* nchan did not take them */
	size_t			 queued_bytes;
};

/* nchan's own figures (its stub status), for /metrics. */
struct events_status {
	long	 subscribers;
	long	 channels;
	long	 stored_messages;
	long	 shm_used_kib;
	long	 shm_limit_kib;
};

/*
 * url is "unix:/path/to/socket" or "http://host:port"; max_bytes bounds the
 * event data waiting to be sent (EVENTS_QUEUE_BYTES).
 */
bs_err	events_create(const char *url, size_t max_bytes, struct events **out);
/*
 * Hold a turn's reply.delta events for at most ms (0..60000) before sending
 * them merged; 0 (the default) queues every delta at once.
 */
void	events_delta_window(struct events *ev, long ms);
/* Sends what is queued (for at most two seconds), then stops. */
void	events_destroy(struct events *ev);

/*
 * Queue type with data (borrowed) for channels, a comma-separated list of
 * up to four channel names. BS_ERR_TOO_LARGE when the queue is full.
 */
bs_err	events_publish(struct events *ev, const char *channels, const char *type,
	    json_object *data);
/*
 * Publish at once, from the caller's thread, and say whether nchan took
 * it: for the event that must exist before a stream is handed over.
 */
bs_err	events_publish_now(struct events *ev, const char *channels,
	    const char *type, json_object *data);
/* The same, to the project's channel. */
bs_err	events_publish_project(struct events *ev, const char *project_id,
	    const char *type, json_object *data);
/* End every stream of the channels (after what is queued before). */
bs_err	events_close(struct events *ev, const char *channels);
/* Wait (at most timeout_ms) until what is queued now has been sent. */
bs_err	events_flush(struct events *ev, int timeout_ms);

/*
 * Streams open on a channel now, as nchan counts them: a short request to
 * nchan from the caller's thread.
 */
bs_err	events_subscribers(struct events *ev, const char *channel, long *out);
bs_err	events_status_get(struct events *ev, struct events_status *out);
void	events_counters_get(struct events *ev, struct events_counters *out);

/* Channel names. */
void	events_channel_project(char *out, size_t len, const char *project_id);
void	events_channel_turn(char *out, size_t len, const char *turn_id,
	    const char *project_id);
void	events_channel_user(char *out, size_t len, const char *user_id);
void	events_channel_member(char *out, size_t len, const char *project_id,
	    const char *user_id);

#endif
