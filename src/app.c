#include "config.h"

#include <string.h>
#include <time.h>

#include "brainstorm/app.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/router.h"

#define ROUTE_UNMATCHED	"unmatched"

static double
elapsed_seconds(const struct timespec *since)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* Probes and scrapes are frequent and dull: they log at debug. */
static enum log_level
access_log_level(const struct http_ctx *ctx)
{
	if (ctx->res.status >= 500)
		return LOG_LEVEL_ERROR;
	if (ctx->req.route != NULL && (ctx->req.route->handler == NULL ||
	    strcmp(ctx->req.route->pattern, "/api/health") == 0 ||
	    strcmp(ctx->req.route->pattern, "/api/ready") == 0 ||
	    strcmp(ctx->req.route->pattern, "/metrics") == 0))
		return LOG_LEVEL_DEBUG;
	return LOG_LEVEL_INFO;
}

static void
access_log(const struct http_ctx *ctx, const char *route, double seconds)
{
	json_object	*f;
	enum log_level	 level = access_log_level(ctx);

	if (!log_enabled(level))
		return;
	f = json_object_new_object();
	json_object_object_add(f, "request_id",
	    json_object_new_string(ctx->req.request_id));
	json_object_object_add(f, "method", json_object_new_string(ctx->req.method));
	json_object_object_add(f, "route", json_object_new_string(route));
	json_object_object_add(f, "status", json_object_new_int(ctx->res.status));
	json_object_object_add(f, "duration_ms",
	    json_object_new_double(seconds * 1000.0));
	if (ctx->req.user_id[0] != '\0')
		json_object_object_add(f, "user_id",
		    json_object_new_string(ctx->req.user_id));
	log_write(level, "request", f);
}

static void
app_dispatch(struct http_ctx *ctx)
{
	struct app	*app = ctx->app;
	const struct route *route;
	char		 allow[128];

	if (http_request_parse(ctx) != BS_OK)
		return;
	switch (router_match(api_routes, api_routes_count, ctx->req.method,
	    ctx->req.path, &ctx->req, &route, allow, sizeof(allow))) {
	case ROUTER_FOUND:
		break;
	case ROUTER_METHOD_NOT_ALLOWED:
		http_header_add(ctx, "Allow", "%s", allow);
		http_respond_error(ctx, 405, "method_not_allowed",
		    "%s is not allowed here; use %s.", ctx->req.method, allow);
		return;
	case ROUTER_NOT_FOUND:
	default:
		http_respond_error(ctx, 404, "not_found", "No such endpoint.");
		return;
	}
	if ((route->flags & ROUTE_DEBUG) && !app->cfg->debug_routes) {
		http_respond_error(ctx, 404, "not_found", "No such endpoint.");
		return;
	}
	ctx->req.route = route;
	if ((route->flags & ROUTE_JSON_BODY) &&
	    http_request_parse_json(ctx, &app->limits) != BS_OK)
		return;
	route->handler(ctx);
}

/* Metric labels stay a small set whatever clients send. */
static const char *
method_label(const char *method)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS" };
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(method, known[i]) == 0)
			return known[i];
	return "OTHER";
}

void
app_handle(struct http_ctx *ctx)
{
	const char	*route;
	double		 seconds;

	app_dispatch(ctx);
	http_response_send(ctx);
	seconds = elapsed_seconds(&ctx->req.started);
	route = ctx->req.route != NULL ? ctx->req.route->pattern : ROUTE_UNMATCHED;
	metrics_http_observe(method_label(ctx->req.method), route, ctx->res.status,
	    seconds);
	access_log(ctx, route, seconds);
}
