#include "config.h"

#include "brainstorm/api.h"
#include "brainstorm/router.h"

/* Every route of the API: adding an endpoint is adding a row. */
const struct route api_routes[] = {
	{ "GET",  "/api/health",	api_ops_health,		0 },
	{ "GET",  "/api/ready",		api_ops_ready,		0 },
	{ "GET",  "/metrics",		api_ops_metrics,	0 },
	{ "GET",  "/api/debug/sleep",	api_ops_debug_sleep,	ROUTE_DEBUG },
	{ "POST", "/api/debug/echo",	api_ops_debug_echo,
	    ROUTE_DEBUG | ROUTE_JSON_BODY },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
