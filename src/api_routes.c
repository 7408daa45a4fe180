#include "config.h"

#include "brainstorm/api.h"
#include "brainstorm/router.h"

/* Every route of the API: adding an endpoint is adding a row. */
const struct route api_routes[] = {
	{ "GET",  "/api/health",	api_ops_health,		0 },
	{ "GET",  "/api/ready",		api_ops_ready,		0 },
	{ "GET",  "/metrics",		api_ops_metrics,	0 },
	{ "POST", "/api/auth/register",	api_auth_register,	ROUTE_JSON_BODY },
	{ "POST", "/api/auth/login",	api_auth_login,		ROUTE_JSON_BODY },
	{ "POST", "/api/auth/refresh",	api_auth_refresh,	ROUTE_JSON_BODY },
	{ "POST", "/api/auth/logout",	api_auth_logout,	ROUTE_JSON_BODY },
	{ "GET",  "/api/auth/me",	api_auth_me,		ROUTE_AUTH },

	{ "GET",    "/api/projects",		api_projects_list,	ROUTE_AUTH },
	{ "POST",   "/api/projects",		api_projects_create,
	    ROUTE_AUTH | ROUTE_JSON_BODY },
	{ "GET",    "/api/projects/{id}",	api_projects_get,	ROUTE_PROJECT },
	{ "PATCH",  "/api/projects/{id}",	api_projects_update,
	    ROUTE_PROJECT | ROUTE_JSON_BODY },
	{ "DELETE", "/api/projects/{id}",	api_projects_delete,	ROUTE_PROJECT },

	{ "GET",    "/api/projects/{id}/items",	api_items_list,		ROUTE_PROJECT },
	{ "POST",   "/api/projects/{id}/items",	api_items_create,
	    ROUTE_PROJECT | ROUTE_JSON_BODY },
	{ "PATCH",  "/api/projects/{id}/items/{item}", api_items_update,
	    ROUTE_PROJECT | ROUTE_JSON_BODY },
	{ "DELETE", "/api/projects/{id}/items/{item}", api_items_delete,
	    ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/items/{item}/history", api_items_history,
	    ROUTE_PROJECT },

	{ "GET",    "/api/projects/{id}/messages", api_messages_list, ROUTE_PROJECT },
	{ "POST",   "/api/projects/{id}/messages", api_messages_create,
	    ROUTE_PROJECT | ROUTE_JSON_BODY },
	{ "POST",   "/api/projects/{id}/turns/{turn}/retry", api_turns_retry,
	    ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/turns/{turn}", api_turn_get,
	    ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/turns/{turn}/events", api_turn_events,
	    ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/events", api_events_stream, ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/activity", api_activity_list, ROUTE_PROJECT },
	{ "POST",   "/api/projects/{id}/documents", api_documents_create,
	    ROUTE_PROJECT | ROUTE_JSON_BODY },
	{ "GET",    "/api/projects/{id}/documents", api_documents_list,
	    ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/documents/{kind}", api_documents_get,
	    ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/documents/{kind}/versions",
	    api_documents_versions, ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/documents/{kind}/versions/{n}",
	    api_documents_version, ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/documents/{kind}/diff",
	    api_documents_diff, ROUTE_PROJECT },
	{ "GET",    "/api/projects/{id}/export", api_projects_export,
	    ROUTE_PROJECT },
	/* Its body has its own limit (IMPORT_MAX_BYTES): parsed by the handler. */
	{ "POST",   "/api/projects/import",	api_projects_import,	ROUTE_AUTH },
	{ "GET",    "/api/agents",		api_agents_list,	ROUTE_AUTH },
	{ "GET",    "/api/usage",		api_usage_get,		ROUTE_AUTH },

	{ "GET",  "/api/debug/sleep",	api_ops_debug_sleep,	ROUTE_DEBUG },
	{ "POST", "/api/debug/echo",	api_ops_debug_echo,
	    ROUTE_DEBUG | ROUTE_JSON_BODY },
	{ "POST", "/api/debug/fail/{id}", api_ops_debug_fail,
	    ROUTE_DEBUG | ROUTE_JSON_BODY },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
