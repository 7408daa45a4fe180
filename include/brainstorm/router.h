/* Routes are a table: method + path pattern ("/api/projects/{id}") -> handler. */
#ifndef BRAINSTORM_ROUTER_H
#define BRAINSTORM_ROUTER_H

#include <stddef.h>

#include "brainstorm/http.h"
#include "brainstorm/members.h"

typedef void (*route_handler)(struct http_ctx *ctx);

enum route_flags {
	ROUTE_JSON_BODY	= 1 << 0,	/* body must be a JSON object */
	ROUTE_DEBUG	= 1 << 1,	/* only with DEBUG_ROUTES outside production */
	ROUTE_AUTH	= 1 << 2,	/* a valid access token of an enabled user */
	/*
	 * {id} is a project the caller is a member of, with at least this
	 * role (each implies AUTH; a row names exactly one). Not a member:
	 * 404; a lower role: 403.
	 */
	ROUTE_VIEWER	= 1 << 3,
	ROUTE_EDITOR	= 1 << 4,
	ROUTE_OWNER	= 1 << 5,
	/* Spends the caller's model tokens: USER_MONTHLY_TOKEN_LIMIT applies. */
	ROUTE_METERED	= 1 << 6,
	/* Probes and scrapes, frequent and dull: the access log at debug. */
	ROUTE_QUIET	= 1 << 7,
};

/* Every flag that names a project role. */
#define ROUTE_ANY_ROLE	(ROUTE_VIEWER | ROUTE_EDITOR | ROUTE_OWNER)

struct route {
	const char	*method;
	const char	*pattern;	/* also the metrics label */
	route_handler	 handler;
	unsigned	 flags;
};

enum router_result {
	ROUTER_FOUND = 0,
	ROUTER_NOT_FOUND,
	ROUTER_METHOD_NOT_ALLOWED
};

/*
 * Match path against the table. FOUND fills *route and the captures in req;
 * METHOD_NOT_ALLOWED fills allow with the methods that match the path
 * ("GET, POST").
 */
enum router_result router_match(const struct route *table, size_t n,
	    const char *method, const char *path, struct http_request *req,
	    const struct route **route, char *allow, size_t allowlen);

/*
 * The least role a route's flags ask for: PROJECT_ROLE_NONE for a route
 * without {id}; with more than one role flag, the highest (fail closed).
 */
enum project_role route_min_role(unsigned flags);

/* The application's table (api_routes.c). */
extern const struct route api_routes[];
extern const size_t api_routes_count;
/* Health, readiness and metrics only: an engine-only process's table. */
extern const struct route api_ops_routes[];
extern const size_t api_ops_routes_count;

#endif
