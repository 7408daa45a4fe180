/*
 * Live streams: the connection is handed to nchan (X-Accel-Redirect), at
 * most EVENTS_MAX_STREAMS per user; the project's stream here, a turn's in
 * api_turns.c and api_messages.c.
 */
#include "config.h"

#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/events.h"

/* A stream to hand to nchan: at most EVENTS_MAX_STREAMS per user. */
bool
api_stream_room(struct http_ctx *ctx)
{
	char	 ch[EVENTS_CHANNELS_MAX];
	long	 open = 0;

	events_channel_user(ch, sizeof(ch), ctx->req.user_id);
	if (events_subscribers(ctx->app->events, ch, &open) != BS_OK) {
		http_header_add(ctx, "Retry-After", "5");
		http_respond_error(ctx, 503, "streams_unavailable", "Live streams "
		    "are not available right now; try again shortly.");
		return false;
	}
	if (open < ctx->app->cfg->events_max_streams)
		return true;
	http_header_add(ctx, "Retry-After", "30");
	http_respond_error(ctx, 429, "too_many_streams", "You have %ld live "
	    "streams open, the most one account may have; close a tab or wait "
	    "for a turn to end.", open);
	return false;
}

/*
 * Hand the connection to nchan: nginx subscribes it to the location. A
 * project's stream is the user's too, so that it ends with the account.
 */
void
api_stream_handover(struct http_ctx *ctx, const char *kind, const char *id)
{
	if (strcmp(kind, "project") == 0)
		http_header_add(ctx, "X-Accel-Redirect", "/_streams/project/%s/%s",
		    id, ctx->req.user_id);
	else
		http_header_add(ctx, "X-Accel-Redirect", "/_streams/%s/%s", kind, id);
	http_header_add(ctx, "X-Accel-Buffering", "no");
	http_respond_text(ctx, 200, "text/plain", "", 0);
}


/*
 * Live events: everything that happens in the project, from any worker on
 * any host. nchan holds the stream (ids, Last-Event-ID replay from its
 * buffer, a heartbeat); the stream ends when the user is disabled, leaves
 * the project or the project goes.
 */
void
api_events_stream(struct http_ctx *ctx)
{
	if (api_stream_room(ctx))
		api_stream_handover(ctx, "project", ctx->req.project_id);
}
