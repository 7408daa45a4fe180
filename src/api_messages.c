#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brainstorm/agent.h"
#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/engine.h"
#include "brainstorm/db_users.h"
#include "brainstorm/events.h"
#include "brainstorm/ratelimit.h"
#include "brainstorm/turn.h"
#include "brainstorm/validate.h"

#define MESSAGE_MAX_CHARS	8000
#define USAGE_DAYS		30

static const struct field_rule message_rules[] = {
	{ "content", FIELD_STRING, true, 1, MESSAGE_MAX_CHARS, NULL },
};

#define MESSAGES_LIMIT_DEFAULT	50
enum { MESSAGES_Q_LIMIT, MESSAGES_Q_BEFORE };
static const struct field_rule messages_query_rules[] = {
	[MESSAGES_Q_LIMIT] =	{ "limit", FIELD_INT, false, 1, 100, NULL },
	[MESSAGES_Q_BEFORE] =	{ "before", FIELD_UUID, false, 0, 0, NULL },
};
#define MESSAGES_Q_NRULES \
	(sizeof(messages_query_rules) / sizeof(messages_query_rules[0]))

#define ACTIVITY_LIMIT_DEFAULT	100
enum { ACTIVITY_Q_LIMIT };
static const struct field_rule activity_query_rules[] = {
	[ACTIVITY_Q_LIMIT] =	{ "limit", FIELD_INT, false, 1, 500, NULL },
};
#define ACTIVITY_Q_NRULES \
	(sizeof(activity_query_rules) / sizeof(activity_query_rules[0]))

/* A stream to hand to nchan: at most EVENTS_MAX_STREAMS per user. */
static bool
stream_room(struct http_ctx *ctx)
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
static void
stream_handover(struct http_ctx *ctx, const char *kind, const char *id)
{
	if (strcmp(kind, "project") == 0)
		http_header_add(ctx, "X-Accel-Redirect", "/_streams/project/%s/%s",
		    id, ctx->req.user_id);
	else
		http_header_add(ctx, "X-Accel-Redirect", "/_streams/%s/%s", kind, id);
	http_header_add(ctx, "X-Accel-Buffering", "no");
	http_respond_text(ctx, 200, "text/plain", "", 0);
}

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

	if (stream && !stream_room(ctx))
		return;
	lim.queue_max = ctx->app->cfg->turn_queue_max;
	lim.user_max = ctx->app->cfg->turn_user_max;
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
		stream_handover(ctx, "turn", turn);
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

void
api_agents_list(struct http_ctx *ctx)
{
	static const char *const stages[] = { "A", "B", "document" };
	static const char *const outputs[] = {
		[AGENT_OUTPUT_REPLY] = "reply",
		[AGENT_OUTPUT_INTENT] = "intent",
		[AGENT_OUTPUT_CHANGES] = "changes",
		[AGENT_OUTPUT_FINDINGS] = "findings",
		[AGENT_OUTPUT_QUESTIONS] = "questions",
		[AGENT_OUTPUT_MESSAGE] = "message",
		[AGENT_OUTPUT_DOCUMENT] = "document",
	};
	json_object	*body, *list, *a, *wf;
	const struct bs_config *cfg = ctx->app->cfg;
	const struct agent_plan *p;
	size_t		 i;
	int		 k;

	list = json_object_new_array();
	for (i = 0; i < agent_count; i++) {
		p = &ctx->app->plans->plan[i];
		a = json_object_new_object();
		json_object_object_add(a, "name", json_object_new_string(agent_table[i].name));
		json_object_object_add(a, "role", json_object_new_string(agent_table[i].role));
		json_object_object_add(a, "stage",
		    json_object_new_string(stages[agent_table[i].stage]));
		json_object_object_add(a, "produces",
		    json_object_new_string(outputs[agent_table[i].output]));
		if (agent_table[i].document != NULL)
			json_object_object_add(a, "document",
			    json_object_new_string(agent_table[i].document));
		json_object_object_add(a, "model", json_object_new_string(p->model));
		json_object_object_add(a, "max_tokens",
		    json_object_new_int(p->max_tokens));
		json_object_object_add(a, "thinking", json_object_new_string(
		    llm_thinking_name(p->thinking)));
		if (p->effort != NULL)
			json_object_object_add(a, "effort",
			    json_object_new_string(p->effort));
		json_object_object_add(a, "cacheable",
		    json_object_new_boolean(agent_table[i].cacheable));
		wf = json_object_new_array();
		for (k = 0; k < INTENT__COUNT; k++)
			if (agent_table[i].intents & INTENT_BIT(k))
				json_object_array_add(wf,
				    json_object_new_string(intent_name((enum intent)k)));
		json_object_object_add(a, "workflows", wf);
		json_object_array_add(list, a);
	}
	body = json_object_new_object();
	json_object_object_add(body, "agents", list);
	json_object_object_add(body, "demo_model",
	    json_object_new_boolean(cfg->claude_api_key[0] == '\0'));
	http_respond_json(ctx, 200, body);
}

void
api_activity_list(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*list = NULL, *body;
	struct field_value q[ACTIVITY_Q_NRULES];
	bs_err		 e;

	if (!api_query_valid(ctx, activity_query_rules, ACTIVITY_Q_NRULES, q))
		return;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_activity_list(conn, ctx->req.project_id,
		    q[ACTIVITY_Q_LIMIT].present ? (int)q[ACTIVITY_Q_LIMIT].num :
		    ACTIVITY_LIMIT_DEFAULT, &list);
	if (e != BS_OK)
		api_respond_db_error(ctx, e);
	else {
		body = json_object_new_object();
		json_object_object_add(body, "runs", list);
		http_respond_json(ctx, 200, body);
	}
	db_pool_release(ctx->app->db, conn);
}

static long
row_tokens(json_object *row, const char *key)
{
	return (long)json_object_get_int64(json_object_object_get(row, key));
}

/*
 * The cost of one usage row at its exact model's prices (llm_models.c);
 * 0 for a model without a known price. Cache writes kept for an hour cost
 * more than five-minute ones.
 */
static double
usage_cost(json_object *row)
{
	struct llm_price p;
	long		 write = row_tokens(row, "cache_write_tokens");
	long		 write_1h = row_tokens(row, "cache_write_1h_tokens");

	if (!llm_price_of(json_object_get_string(json_object_object_get(row,
	    "model")), &p))
		return 0;
	if (write_1h > write)
		write_1h = write;
	return (p.in * (double)row_tokens(row, "input_tokens") +
	    p.out * (double)row_tokens(row, "output_tokens") +
	    p.cache_write_5m * (double)(write - write_1h) +
	    p.cache_write_1h * (double)write_1h +
	    p.cache_read * (double)row_tokens(row, "cache_read_tokens")) / 1e6;
}

void
api_usage_get(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*list = NULL, *body, *row;
	double		 total = 0, cost;
	long long	 month = 0;
	size_t		 i;
	bs_err		 e;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_usage_list(conn, ctx->req.user_id, USAGE_DAYS, &list);
	if (e == BS_OK)
		e = users_month_tokens(conn, ctx->req.user_id, &month);
	if (e != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	for (i = 0; i < json_object_array_length(list); i++) {
		row = json_object_array_get_idx(list, i);
		cost = usage_cost(row);
		total += cost;
		json_object_object_add(row, "cost_usd", json_object_new_double(cost));
	}
	body = json_object_new_object();
	json_object_object_add(body, "days", json_object_new_int(USAGE_DAYS));
	json_object_object_add(body, "usage", list);
	json_object_object_add(body, "total_cost_usd", json_object_new_double(total));
	json_object_object_add(body, "month", usage_month_json(ctx->app->cfg, month));
	http_respond_json(ctx, 200, body);
out:
	db_pool_release(ctx->app->db, conn);
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
	if (stream_room(ctx))
		stream_handover(ctx, "project", ctx->req.project_id);
}

/* The turn of {turn} in the project; NULL after a 404 was answered. */
static json_object *
turn_load(struct http_ctx *ctx, long *finished_ago_s)
{
	struct db_conn	*conn = NULL;
	json_object	*turn = NULL;
	const char	*id = http_param_get(&ctx->req, "turn");
	bs_err		 e = BS_ERR_NOT_FOUND;

	if (uuid_valid(id) && (e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_turn_get(conn, ctx->req.project_id, id, &turn,
		    finished_ago_s);
	db_pool_release(ctx->app->db, conn);
	if (e == BS_ERR_NOT_FOUND)
		http_respond_error(ctx, 404, "not_found", "No such turn.");
	else if (e != BS_OK)
		api_respond_db_error(ctx, e);
	return turn;
}

/* A turn's state, and its result once it ended. */
void
api_turn_get(struct http_ctx *ctx)
{
	json_object	*turn;
	long		 ago;

	if ((turn = turn_load(ctx, &ago)) != NULL)
		http_respond_json(ctx, 200, turn);
}

/*
 * A queued or running turn's stream, from its first event. A turn that
 * ended has none: its result is at GET .../turns/{turn}.
 */
void
api_turn_events(struct http_ctx *ctx)
{
	json_object	*turn;
	long		 ago;

	if ((turn = turn_load(ctx, &ago)) == NULL)
		return;
	if (ago >= 0)
		http_respond_error(ctx, 410, "turn_over", "The turn has ended; "
		    "GET /api/projects/%s/turns/%s has its result.",
		    ctx->req.project_id, json_member_string(turn, "turn_id"));
	else if (stream_room(ctx))
		stream_handover(ctx, "turn", json_member_string(turn, "turn_id"));
	json_object_put(turn);
}
