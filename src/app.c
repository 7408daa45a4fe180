#include "config.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/auth.h"
#include "brainstorm/json_write.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/report.h"
#include "brainstorm/router.h"
#include "brainstorm/validate.h"

#define ROUTE_UNMATCHED	"unmatched"
#define ACCESS_LOG_FIELDS_MAX	1024

/*
 * The one ownership check: is the caller an enabled user, and is project
 * $2 (NULL for routes without one) theirs? One round trip per request.
 */
static const struct db_stmt guard_stmt = { "guard",
	"SELECT u.disabled_at IS NULL, EXISTS (SELECT 1 FROM projects p "
	"WHERE p.id = $2::uuid AND p.owner_id = u.id) FROM users u WHERE u.id = $1",
	2 };

/*
 * Handlers whose own statement carries the guard's checks (an enabled user;
 * for ROUTE_PROJECT, a project of theirs) and that call app_guard_check
 * when it returns nothing: for them app_guard verifies the token and the
 * form of {id} only, and the request makes one round trip instead of two.
 * Reads only: a handler that writes must know it may before it starts.
 */
static const route_handler guard_in_statement[] = {
	api_projects_list,
	api_items_list,
};

static void
respond_unauthorized(struct http_ctx *ctx, bool token_given)
{
	http_header_add(ctx, "WWW-Authenticate", "Bearer realm=\"brainstorm\"%s",
	    token_given ? ", error=\"invalid_token\"" : "");
	http_respond_error(ctx, 401, "unauthorized", token_given ?
	    "The access token is invalid or expired." :
	    "Sign in: this needs an access token.");
}

static void
respond_no_project(struct http_ctx *ctx)
{
	http_respond_error(ctx, 404, "not_found", "No such project.");
}

/*
 * The guard's statement for ctx->req.user_id and (when not "")
 * ctx->req.project_id: true when the user is enabled and owns the project,
 * else the 401 or 404 (or the database's error) is answered.
 */
bool
app_guard_check(struct http_ctx *ctx)
{
	const char	*values[2];
	struct db_conn	*conn = NULL;
	PGresult	*res = NULL;
	bool		 allowed = false;
	bs_err		 e;

	values[0] = ctx->req.user_id;
	values[1] = ctx->req.project_id[0] != '\0' ? ctx->req.project_id : NULL;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_exec(conn, &guard_stmt, values, &res, NULL)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		ctx->req.user_id[0] = '\0';	/* deleted or disabled */
		respond_unauthorized(ctx, true);
	} else if (values[1] != NULL &&
	    strcmp(PQgetvalue(res, 0, 1), "t") != 0)
		respond_no_project(ctx);
	else
		allowed = true;
out:
	if (!allowed)
		ctx->req.project_id[0] = '\0';
	PQclear(res);
	db_pool_release(ctx->app->db, conn);
	return allowed;
}

static bool
guard_in_handler(const struct route *route)
{
	size_t	 i;

	for (i = 0; i < sizeof(guard_in_statement) /
	    sizeof(guard_in_statement[0]); i++)
		if (route->handler == guard_in_statement[i])
			return true;
	return false;
}

/*
 * ROUTE_AUTH: a valid token of an enabled user. ROUTE_PROJECT: also the
 * {id} project belongs to that user; anything else about it is a 404, so
 * nobody learns which ids exist.
 */
static bool
app_guard(struct http_ctx *ctx, unsigned flags)
{
	const char	*h, *project = NULL;
	char		 user_id[AUTH_UUID_LEN];

	h = http_header_get(&ctx->req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		respond_unauthorized(ctx, false);
		return false;
	}
	for (h += 7; *h == ' '; h++)
		;
	if (auth_access_verify(ctx->app->cfg, h, user_id) != BS_OK) {
		respond_unauthorized(ctx, true);
		return false;
	}
	if (flags & ROUTE_PROJECT) {
		project = http_param_get(&ctx->req, "id");
		if (!uuid_valid(project)) {
			respond_no_project(ctx);
			return false;
		}
	}
	/* What the token claims: the guard's statement, or the handler's,
	 * checks it. */
	snprintf(ctx->req.user_id, sizeof(ctx->req.user_id), "%s", user_id);
	snprintf(ctx->req.project_id, sizeof(ctx->req.project_id), "%s",
	    project != NULL ? project : "");
	if (guard_in_handler(ctx->req.route))
		return true;
	return app_guard_check(ctx);
}

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

/* One line per request, written as text: no json-c objects on this path. */
static void
access_log(const struct http_ctx *ctx, const char *route, double seconds)
{
	struct json_writer	 w;
	struct buf		 b;
	char			 n[64];
	enum log_level		 level = access_log_level(ctx);

	if (!log_enabled(level))
		return;
	buf_init(&b, ACCESS_LOG_FIELDS_MAX);
	json_writer_init(&w, &b);
	json_write_name(&w, "request_id");
	json_write_string(&w, ctx->req.request_id, strlen(ctx->req.request_id));
	json_write_raw(&w, ",", 1);
	json_write_name(&w, "method");
	json_write_string(&w, ctx->req.method, strlen(ctx->req.method));
	json_write_raw(&w, ",", 1);
	json_write_name(&w, "route");
	json_write_string(&w, route, strlen(route));
	json_write_raw(&w, ",", 1);
	json_write_name(&w, "status");
	json_write_int64(&w, ctx->res.status);
	snprintf(n, sizeof(n), ",\"duration_ms\":%.3f", seconds * 1000.0);
	json_write_raw(&w, n, strlen(n));
	if (ctx->req.user_id[0] != '\0') {
		json_write_raw(&w, ",", 1);
		json_write_name(&w, "user_id");
		json_write_string(&w, ctx->req.user_id,
		    strlen(ctx->req.user_id));
	}
	if (json_writer_finish(&w) == BS_OK)
		log_write_members(level, "request", b.data, b.len);
	buf_free(&b);
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
	if ((route->flags & (ROUTE_AUTH | ROUTE_PROJECT)) &&
	    !app_guard(ctx, route->flags))
		return;
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
	if (ctx->res.status >= 500)
		report_http_error(ctx->req.request_id,
		    method_label(ctx->req.method), route, ctx->res.status);
}
