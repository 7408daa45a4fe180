/*
 * The conversation: a person's messages, and the turns they queue for an
 * engine (a new message, or a failed turn taken back).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/engine.h"
#include "brainstorm/events.h"
#include "brainstorm/ratelimit.h"
#include "brainstorm/turn.h"
#include "brainstorm/validate.h"

#define MESSAGE_MAX_CHARS	8000

static const struct field_rule message_rules[] = {
	{ "content", FIELD_TEXT, true, 1, MESSAGE_MAX_CHARS, NULL },
};

#define MESSAGES_LIMIT_DEFAULT	50
enum { MESSAGES_Q_LIMIT, MESSAGES_Q_BEFORE };
static const struct field_rule messages_query_rules[] = {
	[MESSAGES_Q_LIMIT] =	{ "limit", FIELD_INT, false, 1, 100, NULL },
	[MESSAGES_Q_BEFORE] =	{ "before", FIELD_UUID, false, 0, 0, NULL },
};
#define MESSAGES_Q_NRULES \
	(sizeof(messages_query_rules) / sizeof(messages_query_rules[0]))

static const struct api_error_row queue_errors[] = {
	{ BS_ERR_LOCKED, { 409, "turn_running", "A turn of this project is "
	    "still running; wait for it to end.", 0 } },
	{ BS_ERR_TOO_LARGE, { 503, "queue_full", "Too many turns are waiting "
	    "to run; try again shortly.", 15 } },
	{ BS_ERR_NOT_FOUND, { 404, "not_found", "No such turn.", 0 } },
	{ BS_ERR_CONFLICT, { 409, "turn_not_failed", "Only a failed turn can "
	    "be retried.", 0 } },
};

/* A turn's queueing error, for the person; the limit is named in the text. */
static void
queue_error(struct http_ctx *ctx, bs_err e)
{
	if (e == BS_ERR_RATE_LIMITED) {
		http_header_add(ctx, "Retry-After", "10");
		http_respond_error(ctx, 429, "too_many_turns", "You have %ld turns "
		    "queued or running, the most one account may have; wait for "
		    "one to end.", ctx->app->cfg->turn_user_max);
		return;
	}
	if (e == BS_ERR_FULL) {
		http_respond_error(ctx, 409, "messages_limit", "This conversation "
		    "holds %ld messages with the replies, the most a project may "
		    "have; export it and go on in a new project.",
		    ctx->app->cfg->messages_max_per_project);
		return;
	}
	api_respond_error(ctx, e, API_ERROR_ROWS(queue_errors));
}

/*
 * Store the message (or take the failed turn back) and queue the turn for
 * an engine. Streaming, the connection goes to the turn's channel, which
 * its first event creates here, so the stream starts with the turn
 * whenever the engine begins; otherwise 202 with where to look.
 */
static void
turn_queue(struct http_ctx *ctx, const char *content, const char *retry_turn_id)
{
	struct db_turn_limits	 lim;
	struct db_conn		*conn = NULL;
	json_object		*message = NULL, *d, *body;
	char			 turn[DB_ID_LEN], ch[EVENTS_CHANNELS_MAX], url[160];
	bool			 stream = http_accepts_event_stream(&ctx->req);
	bs_err			 e;

	if (stream && !api_stream_room(ctx))
		return;
	lim.queue_max = ctx->app->cfg->turn_queue_max;
	lim.user_max = ctx->app->cfg->turn_user_max;
	lim.messages_max = ctx->app->cfg->messages_max_per_project;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_turn_queue(conn, &lim, ctx->req.project_id,
		    ctx->req.user_id, content, retry_turn_id,
		    engine_owner(ctx->app->engine), turn, &message);
	db_pool_release(ctx->app->db, conn);
	if (e != BS_OK) {
		queue_error(ctx, e);
		return;
	}
	d = json_object_new_object();
	json_object_object_add(d, "turn_id", json_object_new_string(turn));
	json_object_object_add(d, "message", json_object_get(message));
	events_channel_turn(ch, sizeof(ch), turn, ctx->req.project_id);
	if (stream && events_publish_now(ctx->app->events, ch, "turn.queued",
	    d) != BS_OK)
		stream = false;	/* no stream to hand over: the turn runs anyway */
	json_object_put(d);
	engine_notify(ctx->app->engine);
	if (stream) {
		json_object_put(message);
		api_stream_handover(ctx, "turn", turn);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "turn_id", json_object_new_string(turn));
	json_object_object_add(body, "status", json_object_new_string("queued"));
	json_object_object_add(body, "message", message);
	snprintf(url, sizeof(url), "/api/projects/%s/turns/%s",
	    ctx->req.project_id, turn);
	json_object_object_add(body, "url", json_object_new_string(url));
	snprintf(url, sizeof(url), "/api/projects/%s/turns/%s/events",
	    ctx->req.project_id, turn);
	json_object_object_add(body, "stream_url", json_object_new_string(url));
	http_respond_json(ctx, 202, body);
}

/* Messages per user per minute; 429 beyond. */
static bool
message_rate_allowed(struct http_ctx *ctx)
{
	char	 key[96];
	long	 retry = 0;

	snprintf(key, sizeof(key), "messages:%s", ctx->req.user_id);
	if (ratelimit_hit(ctx->app->cache, key, ctx->app->cfg->message_rate_limit,
	    60, &retry) == BS_OK)
		return true;
	http_header_add(ctx, "Retry-After", "%ld", retry);
	http_respond_error(ctx, 429, "rate_limited", "Too many messages; try again "
	    "in %ld seconds.", retry);
	return false;
}

void
api_messages_create(struct http_ctx *ctx)
{
	struct field_value	 f[1];
	struct validate_error	 err;

	if (validate_object(ctx->req.json, message_rules, 1, f, &err) != BS_OK) {
		api_respond_invalid(ctx, err.field, err.message);
		return;
	}
	if (!message_rate_allowed(ctx))
		return;
	turn_queue(ctx, f[0].str, NULL);
}

void
api_turns_retry(struct http_ctx *ctx)
{
	const char		*turn = http_param_get(&ctx->req, "turn");

	if (!uuid_valid(turn)) {
		http_respond_error(ctx, 404, "not_found", "No such turn.");
		return;
	}
	if (!message_rate_allowed(ctx))
		return;
	turn_queue(ctx, NULL, turn);
}

void
api_messages_list(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*list = NULL, *body;
	struct field_value q[MESSAGES_Q_NRULES];
	bs_err		 e;

	if (!api_query_valid(ctx, messages_query_rules, MESSAGES_Q_NRULES, q))
		return;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_messages_list(conn, ctx->req.project_id,
		    q[MESSAGES_Q_BEFORE].str, q[MESSAGES_Q_LIMIT].present ?
		    (int)q[MESSAGES_Q_LIMIT].num : MESSAGES_LIMIT_DEFAULT, &list);
	if (e == BS_ERR_NOT_FOUND)
		api_respond_invalid(ctx, "before", "No such message in this project.");
	else if (e != BS_OK)
		api_respond_db_error(ctx, e);
	else {
		body = json_object_new_object();
		json_object_object_add(body, "messages", list);
		http_respond_json(ctx, 200, body);
	}
	db_pool_release(ctx->app->db, conn);
}

