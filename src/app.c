#include "config.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/auth.h"
#include "brainstorm/clock.h"
#include "brainstorm/db_users.h"
#include "brainstorm/json_write.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/report.h"
#include "brainstorm/router.h"
#include "brainstorm/validate.h"

#define ROUTE_UNMATCHED	"unmatched"
#define ACCESS_LOG_FIELDS_MAX	1024

/*
 * The one access check, one round trip per request: is the caller an
 * enabled user, is the token's session (its refresh-token family) still
 * open, and what is their role in project $2 (NULL for routes without
 * one)? Metered routes also add up the tokens spent this month.
 */
#define GUARD_COLUMNS \
	"u.disabled_at IS NULL, " \
	"EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = $3::uuid " \
	"AND t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > now()), " \
	"(SELECT m.role FROM project_members m " \
	"WHERE m.project_id = $2::uuid AND m.user_id = u.id)"

enum { GUARD_STMT, GUARD_STMT_METERED, GUARD_STMT__COUNT };
const struct db_stmt app_guard_stmts[GUARD_STMT__COUNT] = {
	[GUARD_STMT] = { "guard",
	  "SELECT " GUARD_COLUMNS " FROM users u WHERE u.id = $1::uuid", 3 },
	[GUARD_STMT_METERED] = { "guard_metered",
	  "SELECT " GUARD_COLUMNS ", " USER_MONTH_TOKENS_SQL("u.id")
	  " FROM users u WHERE u.id = $1::uuid", 3 },
};
const size_t app_guard_nstmts = GUARD_STMT__COUNT;

enum { GUARD_ENABLED, GUARD_SESSION, GUARD_ROLE, GUARD_MONTH_TOKENS };

/*
 * Handlers whose own statement carries the guard's checks (an enabled
 * user, an open session; for a project route, a membership) and that call
 * app_guard_check when it returns nothing: for them app_guard verifies the
 * token and the form of {id} only, and the request makes one round trip
 * instead of two. Reads only: a handler that writes must know it may
 * before it starts.
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

/* 429 past USER_MONTHLY_TOKEN_LIMIT, until the first of next month (UTC). */
static void
respond_token_limit(struct http_ctx *ctx, long long used, long limit)
{
	time_t		 now = time(NULL), next;
	struct tm	 tm;
	char		 day[16];

	gmtime_r(&now, &tm);
	tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
	tm.tm_mday = 1;
	if (++tm.tm_mon == 12) {
		tm.tm_mon = 0;
		tm.tm_year++;
	}
	next = timegm(&tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	http_header_add(ctx, "Retry-After", "%lld",
	    (long long)(next > now ? next - now : 1));
	http_respond_error(ctx, 429, "token_limit_reached", "You have used %lld "
	    "of your %ld model tokens this month; turns and documents can run "
	    "again on %s (UTC).", used, limit, day);
}

static void
respond_no_project(struct http_ctx *ctx)
{
	http_respond_error(ctx, 404, "not_found", "No such project.");
}

/*
 * The guard's statement for what app_guard put in ctx->req (user_id,
 * session_id, and project_id when the route has a role flag): true when
 * the route may run, else the 401, 403, 404 or 429 (or the database's
 * error) is answered.
 */
bool
app_guard_check(struct http_ctx *ctx)
{
	const struct bs_config *cfg = ctx->app->cfg;
	unsigned	 flags = ctx->req.route->flags;
	const char	*values[3];
	struct db_conn	*conn = NULL;
	PGresult	*res = NULL;
	enum project_role need = route_min_role(flags), role = PROJECT_ROLE_NONE;
	bool		 metered, allowed = false;
	long long	 used = 0;
	bs_err		 e;

	metered = (flags & ROUTE_METERED) && cfg->user_monthly_token_limit > 0;
	values[0] = ctx->req.user_id;
	values[1] = need != PROJECT_ROLE_NONE ? ctx->req.project_id : NULL;
	values[2] = ctx->req.session_id;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_exec(conn, &app_guard_stmts[metered ?
	    GUARD_STMT_METERED : GUARD_STMT], values, &res, NULL)) != BS_OK) {
		ctx->req.user_id[0] = '\0';	/* not known to be anyone */
		ctx->req.session_id[0] = '\0';
		api_respond_db_error(ctx, e);
		goto out;
	}
	/* A deleted or disabled account, or a session that ended. */
	if (PQntuples(res) != 1 ||
	    strcmp(PQgetvalue(res, 0, GUARD_ENABLED), "t") != 0 ||
	    strcmp(PQgetvalue(res, 0, GUARD_SESSION), "t") != 0) {
		ctx->req.user_id[0] = '\0';
		ctx->req.session_id[0] = '\0';
		respond_unauthorized(ctx, true);
		goto out;
	}
	if (need != PROJECT_ROLE_NONE) {
		if (PQgetisnull(res, 0, GUARD_ROLE) ||
		    !project_role_parse(PQgetvalue(res, 0, GUARD_ROLE), &role)) {
			respond_no_project(ctx);
			goto out;
		}
		if (role < need) {
			http_respond_error(ctx, 403, "forbidden", "This needs the "
			    "%s role in the project; you are a%s %s.",
			    project_role_name(need),
			    role == PROJECT_ROLE_EDITOR ? "n" : "",
			    project_role_name(role));
			goto out;
		}
		ctx->req.project_role = (int)role;
	}
	if (metered) {
		if ((e = db_int64(PQgetvalue(res, 0, GUARD_MONTH_TOKENS),
		    &used)) != BS_OK) {
			api_respond_db_error(ctx, e);
			goto out;
		}
		if (used >= cfg->user_monthly_token_limit) {
			respond_token_limit(ctx, used,
			    cfg->user_monthly_token_limit);
			goto out;
		}
	}
	allowed = true;
out:
	if (!allowed)
		ctx->req.project_id[0] = '\0';
	PQclear(res);
	db_pool_release(ctx->app->db, conn);
	return allowed;
}

/*
 * The route's handler is one of guard_in_statement. Only reads that any
 * member may make and that are not metered qualify: their statement checks
 * membership, not a role, and counts no tokens.
 */
static bool
guard_in_handler(const struct route *route)
{
	size_t	 i;

	if ((route->flags & (ROUTE_EDITOR | ROUTE_OWNER | ROUTE_METERED)) != 0)
		return false;
	for (i = 0; i < sizeof(guard_in_statement) /
	    sizeof(guard_in_statement[0]); i++)
		if (route->handler == guard_in_statement[i])
			return true;
	return false;
}

/*
 * ROUTE_AUTH: a valid token of an enabled user in an open session. A role
 * flag: also the {id} project has the caller as a member with at least
 * that role; not a member is a 404, so nobody learns which ids exist, and
 * a lower role a 403. ROUTE_METERED: also the caller's monthly tokens are
 * not spent. Handlers never check any of this again, but for those of
 * guard_in_statement, whose own statement does.
 */
static bool
app_guard(struct http_ctx *ctx, unsigned flags)
{
	const char	*h, *project = NULL;
	char		 user_id[AUTH_UUID_LEN], session_id[AUTH_UUID_LEN];

	h = http_header_get(&ctx->req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		respond_unauthorized(ctx, false);
		return false;
	}
	for (h += 7; *h == ' '; h++)
		;
	if (auth_access_verify(ctx->app->cfg, h, user_id, session_id) != BS_OK) {
		respond_unauthorized(ctx, true);
		return false;
	}
	if (route_min_role(flags) != PROJECT_ROLE_NONE) {
		project = http_param_get(&ctx->req, "id");
		if (!uuid_valid(project)) {
			respond_no_project(ctx);
			return false;
		}
	}
	/* What the token claims: the guard's statement, or the handler's,
	 * checks it. */
	snprintf(ctx->req.user_id, sizeof(ctx->req.user_id), "%s", user_id);
	snprintf(ctx->req.session_id, sizeof(ctx->req.session_id), "%s",
	    session_id);
	snprintf(ctx->req.project_id, sizeof(ctx->req.project_id), "%s",
	    project != NULL ? project : "");
	if (guard_in_handler(ctx->req.route))
		return true;
	return app_guard_check(ctx);
}

/* Probes and scrapes are frequent and dull: they log at debug. */
static enum log_level
access_log_level(const struct http_ctx *ctx)
{
	if (ctx->res.status >= 500)
		return LOG_LEVEL_ERROR;
	if (ctx->req.route != NULL && (ctx->req.route->handler == NULL ||
	    (ctx->req.route->flags & ROUTE_QUIET)))
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
	switch (router_match(app->ops_only ? api_ops_routes : api_routes,
	    app->ops_only ? api_ops_routes_count : api_routes_count,
	    ctx->req.method, ctx->req.path, &ctx->req, &route, allow,
	    sizeof(allow))) {
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
	if ((route->flags & (ROUTE_AUTH | ROUTE_ANY_ROLE)) &&
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
	/* The answer leaves before the access line: a slow log delays none. */
	if (ctx->finish != NULL)
		(void)ctx->finish(ctx->write_arg);	/* nothing left to write */
	seconds = bs_monotonic_s() - ctx->req.started;
	route = ctx->req.route != NULL ? ctx->req.route->pattern : ROUTE_UNMATCHED;
	metrics_http_observe(method_label(ctx->req.method), route, ctx->res.status,
	    seconds);
	access_log(ctx, route, seconds);
	if (ctx->res.status >= 500)
		report_http_error(ctx->req.request_id,
		    method_label(ctx->req.method), route, ctx->res.status);
}
