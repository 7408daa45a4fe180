#include "config.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/auth.h"
#include "brainstorm/db_users.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/report.h"
#include "brainstorm/router.h"
#include "brainstorm/validate.h"

#define ROUTE_UNMATCHED	"unmatched"

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

static const struct db_stmt guard_stmt = { "guard",
	"SELECT " GUARD_COLUMNS " FROM users u WHERE u.id = $1::uuid", 3 };
static const struct db_stmt guard_metered_stmt = { "guard_metered",
	"SELECT " GUARD_COLUMNS ", " USER_MONTH_TOKENS_SQL("u.id")
	" FROM users u WHERE u.id = $1::uuid", 3 };

enum { GUARD_ENABLED, GUARD_SESSION, GUARD_ROLE, GUARD_MONTH_TOKENS };

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

/*
 * ROUTE_AUTH: a valid token of an enabled user in an open session. A role
 * flag: also the {id} project has the caller as a member with at least
 * that role; not a member is a 404, so nobody learns which ids exist, and
 * a lower role a 403. ROUTE_METERED: also the caller's monthly tokens are
 * not spent. Handlers never check any of this again.
 */
static bool
app_guard(struct http_ctx *ctx, unsigned flags)
{
	const struct bs_config *cfg = ctx->app->cfg;
	const char	*h, *project = NULL;
	const char	*values[3];
	char		 user_id[AUTH_UUID_LEN], session_id[AUTH_UUID_LEN];
	struct db_conn	*conn = NULL;
	PGresult	*res = NULL;
	enum project_role need = route_min_role(flags), role = PROJECT_ROLE_NONE;
	bool		 metered, allowed = false;
	long long	 used = 0;
	bs_err		 e;

	h = http_header_get(&ctx->req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		respond_unauthorized(ctx, false);
		return false;
	}
	for (h += 7; *h == ' '; h++)
		;
	if (auth_access_verify(cfg, h, user_id, session_id) != BS_OK) {
		respond_unauthorized(ctx, true);
		return false;
	}
	if (need != PROJECT_ROLE_NONE) {
		project = http_param_get(&ctx->req, "id");
		if (!uuid_valid(project)) {
			http_respond_error(ctx, 404, "not_found", "No such project.");
			return false;
		}
	}
	metered = (flags & ROUTE_METERED) && cfg->user_monthly_token_limit > 0;
	values[0] = user_id;
	values[1] = project;
	values[2] = session_id;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_exec(conn, metered ? &guard_metered_stmt : &guard_stmt,
	    values, &res, NULL)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	/* A deleted or disabled account, or a session that ended. */
	if (PQntuples(res) != 1 ||
	    strcmp(PQgetvalue(res, 0, GUARD_ENABLED), "t") != 0 ||
	    strcmp(PQgetvalue(res, 0, GUARD_SESSION), "t") != 0) {
		respond_unauthorized(ctx, true);
		goto out;
	}
	snprintf(ctx->req.user_id, sizeof(ctx->req.user_id), "%s", user_id);
	snprintf(ctx->req.session_id, sizeof(ctx->req.session_id), "%s",
	    session_id);
	if (need != PROJECT_ROLE_NONE) {
		if (PQgetisnull(res, 0, GUARD_ROLE) ||
		    !project_role_parse(PQgetvalue(res, 0, GUARD_ROLE), &role)) {
			http_respond_error(ctx, 404, "not_found", "No such project.");
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
		snprintf(ctx->req.project_id, sizeof(ctx->req.project_id), "%s",
		    project);
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
	PQclear(res);
	db_pool_release(ctx->app->db, conn);
	return allowed;
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
	seconds = elapsed_seconds(&ctx->req.started);
	route = ctx->req.route != NULL ? ctx->req.route->pattern : ROUTE_UNMATCHED;
	metrics_http_observe(method_label(ctx->req.method), route, ctx->res.status,
	    seconds);
	access_log(ctx, route, seconds);
	if (ctx->res.status >= 500)
		report_http_error(ctx->req.request_id,
		    method_label(ctx->req.method), route, ctx->res.status);
}
