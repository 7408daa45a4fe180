#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brainstorm/agent.h"
#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/db_users.h"
#include "brainstorm/events.h"
#include "brainstorm/ratelimit.h"
#include "brainstorm/server.h"
#include "brainstorm/turn.h"
#include "brainstorm/validate.h"

#define MESSAGE_MAX_CHARS	8000
#define EVENTS_POLL_MS		1000	/* how often a subscriber checks for stop */
#define EVENTS_HEARTBEAT_S	15
#define EVENTS_MAX_LIFE_S	3600	/* then the browser reconnects */
#define USAGE_DAYS		30

static const struct field_rule message_rules[] = {
	{ "content", FIELD_STRING, true, 1, MESSAGE_MAX_CHARS, NULL },
};

/* A bounded whole number from the query string; def when absent. */
static bool
query_int(struct http_ctx *ctx, const char *name, long min, long max, long def,
    long *out)
{
	const char	*v = http_query_get(&ctx->req, name);
	char		*end, msg[128];

	*out = def;
	if (v == NULL || *v == '\0')
		return true;
	errno = 0;
	*out = strtol(v, &end, 10);
	if (errno == 0 && *end == '\0' && *out >= min && *out <= max)
		return true;
	snprintf(msg, sizeof(msg), "%s must be a whole number from %ld to %ld.",
	    name, min, max);
	api_respond_invalid(ctx, name, msg);
	return false;
}

/* The turn's events go to every subscriber and, streaming, to this client. */
struct turn_stream {
	struct http_ctx	*ctx;
	bool		 streaming;
};

static void
turn_emit(void *arg, const char *type, json_object *data)
{
	struct turn_stream	*ts = arg;
	struct http_ctx		*ctx = ts->ctx;

	events_publish(ctx->app->events, ctx->req.project_id, type, data);
	/* A client that went away does not stop the turn. */
	if (ts->streaming && !ctx->client_gone)
		http_stream_event(ctx, NULL, type, json_object_to_json_string_ext(
		    data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void
turn_respond(struct http_ctx *ctx, const struct turn_input *in)
{
	struct turn_stream	 ts = { ctx, http_accepts_event_stream(&ctx->req) };
	struct turn_sink	 sink = { turn_emit, &ts };
	json_object		*result = NULL;
	bs_err			 e;

	if (ts.streaming && http_stream_begin(ctx, 200, "text/event-stream") != BS_OK)
		ts.streaming = false;
	e = turn_run(ctx->app, in, &sink, &result);
	if (ts.streaming) {
		/* Headers are out: a failure can only be told as an event. */
		if (e != BS_OK && !ctx->client_gone)
			http_stream_event(ctx, NULL, "error", e == BS_ERR_CONFLICT ?
			    "{\"code\":\"turn_not_failed\",\"message\":\"Only a failed "
			    "turn can be retried.\"}" : "{\"code\":\"unavailable\","
			    "\"message\":\"The turn could not start; try again.\"}");
		json_object_put(result);
		return;
	}
	switch (e) {
	case BS_OK:
		http_respond_json(ctx, in->retry_turn_id != NULL ? 200 : 201, result);
		return;
	case BS_ERR_NOT_FOUND:
		http_respond_error(ctx, 404, "not_found", "No such turn.");
		return;
	case BS_ERR_CONFLICT:
		http_respond_error(ctx, 409, "turn_not_failed",
		    "Only a failed turn can be retried.");
		return;
	default:
		api_respond_db_error(ctx, e);
		return;
	}
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
	struct turn_input	 in = { 0 };

	if (validate_object(ctx->req.json, message_rules, 1, f, &err) != BS_OK) {
		api_respond_invalid(ctx, err.field, err.message);
		return;
	}
	if (!message_rate_allowed(ctx))
		return;
	in.user_id = ctx->req.user_id;
	in.project_id = ctx->req.project_id;
	in.content = f[0].str;
	turn_respond(ctx, &in);
}

void
api_turns_retry(struct http_ctx *ctx)
{
	struct turn_input	 in = { 0 };
	const char		*turn = http_param_get(&ctx->req, "turn");

	if (!uuid_valid(turn)) {
		http_respond_error(ctx, 404, "not_found", "No such turn.");
		return;
	}
	if (!message_rate_allowed(ctx))
		return;
	in.user_id = ctx->req.user_id;
	in.project_id = ctx->req.project_id;
	in.retry_turn_id = turn;
	turn_respond(ctx, &in);
}

void
api_messages_list(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*list = NULL, *body;
	const char	*before = http_query_get(&ctx->req, "before");
	long		 limit;
	bs_err		 e;

	if (!query_int(ctx, "limit", 1, 100, 50, &limit))
		return;
	if (before != NULL && *before == '\0')
		before = NULL;
	if (before != NULL && !uuid_valid(before)) {
		api_respond_invalid(ctx, "before", "before must be a message id.");
		return;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK) {
		db_turns_fail_stale(conn, ctx->req.project_id,
		    ctx->app->cfg->turn_stale_s);
		e = db_messages_list(conn, ctx->req.project_id, before, (int)limit,
		    &list);
	}
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
	long		 limit;
	bs_err		 e;

	if (!query_int(ctx, "limit", 1, 500, 100, &limit))
		return;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_activity_list(conn, ctx->req.project_id, (int)limit, &list);
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

static void
events_forward(void *arg, const char *id, const char *type, const char *data)
{
	http_stream_event(arg, id, type, data);
}

/*
 * Live events: everything that happens in the project, from any worker,
 * with ids for Last-Event-ID replay and a heartbeat comment. The thread is
 * released when the client goes away, at shutdown, or after an hour.
 */
void
api_events_stream(struct http_ctx *ctx)
{
	struct events_sub	*sub = NULL;
	const char		*last = http_header_get(&ctx->req, "Last-Event-ID");
	time_t			 started = time(NULL), quiet_since = started;
	bs_err			 e;

	if (last == NULL)
		last = http_query_get(&ctx->req, "last_event_id");
	if (events_subscribe(ctx->app->events, ctx->req.project_id, last,
	    EVENTS_POLL_MS, &sub) != BS_OK) {
		api_respond_db_error(ctx, BS_ERR_NOMEM);
		return;
	}
	if (http_stream_begin(ctx, 200, "text/event-stream") != BS_OK ||
	    http_stream_write(ctx, "retry: 3000\n\n", 13) != BS_OK)
		goto out;
	while (!ctx->client_gone && !server_stopping() &&
	    time(NULL) - started < EVENTS_MAX_LIFE_S) {
		e = events_next(sub, events_forward, ctx);
		if (e == BS_OK)
			quiet_since = time(NULL);
		else if (time(NULL) - quiet_since >= EVENTS_HEARTBEAT_S) {
			http_stream_write(ctx, ": heartbeat\n\n", 13);
			quiet_since = time(NULL);
		}
	}
out:
	events_unsubscribe(sub);
}
