#include "config.h"

#include "brainstorm/api.h"
#include "brainstorm/router.h"

/*
 * Every route of the API: adding an endpoint is adding a row. A route with
 * a project {id} names the least role it needs (ROUTE_VIEWER, ROUTE_EDITOR
 * or ROUTE_OWNER); the guard in app.c is the one place that checks it, and
 * tests/integration/test_authz.py runs every row against every role.
 */
const struct route api_routes[] = {
	{ "GET",  "/api/health",	api_ops_health,		ROUTE_QUIET },
	{ "GET",  "/api/ready",		api_ops_ready,		ROUTE_QUIET },
	{ "GET",  "/metrics",		api_ops_metrics,	ROUTE_QUIET },
	{ "POST", "/api/auth/register",	api_auth_register,	ROUTE_JSON_BODY },
	{ "POST", "/api/auth/login",	api_auth_login,		ROUTE_JSON_BODY },
	{ "POST", "/api/auth/refresh",	api_auth_refresh,	ROUTE_JSON_BODY },
	{ "POST", "/api/auth/logout",	api_auth_logout,	ROUTE_JSON_BODY },
	{ "GET",  "/api/auth/me",	api_auth_me,		ROUTE_AUTH },
	{ "PATCH", "/api/auth/me",	api_auth_me_update,
	    ROUTE_AUTH | ROUTE_JSON_BODY },
	{ "DELETE", "/api/auth/me",	api_auth_me_delete,
	    ROUTE_AUTH | ROUTE_JSON_BODY },
	{ "POST", "/api/auth/password",	api_auth_password,
	    ROUTE_AUTH | ROUTE_JSON_BODY },

	{ "GET",    "/api/projects",		api_projects_list,	ROUTE_AUTH },
	{ "POST",   "/api/projects",		api_projects_create,
	    ROUTE_AUTH | ROUTE_JSON_BODY },
	{ "GET",    "/api/projects/{id}",	api_projects_get,	ROUTE_VIEWER },
	{ "PATCH",  "/api/projects/{id}",	api_projects_update,
	    ROUTE_OWNER | ROUTE_JSON_BODY },
	{ "DELETE", "/api/projects/{id}",	api_projects_delete,	ROUTE_OWNER },

	{ "GET",    "/api/projects/{id}/members", api_members_list, ROUTE_VIEWER },
	{ "POST",   "/api/projects/{id}/members", api_members_add,
	    ROUTE_OWNER | ROUTE_JSON_BODY },
	{ "PATCH",  "/api/projects/{id}/members/{user}", api_members_update,
	    ROUTE_OWNER | ROUTE_JSON_BODY },
	{ "DELETE", "/api/projects/{id}/members/{user}", api_members_remove,
	    ROUTE_OWNER },
	/* Any member may leave (the last owner may not). */
	{ "DELETE", "/api/projects/{id}/membership", api_members_leave,
	    ROUTE_VIEWER },
	{ "DELETE", "/api/projects/{id}/invitations/{invitation}",
	    api_invitations_delete, ROUTE_OWNER },

	{ "GET",    "/api/projects/{id}/items",	api_items_list,		ROUTE_VIEWER },
	{ "POST",   "/api/projects/{id}/items",	api_items_create,
	    ROUTE_EDITOR | ROUTE_JSON_BODY },
	{ "PATCH",  "/api/projects/{id}/items/{item}", api_items_update,
	    ROUTE_EDITOR | ROUTE_JSON_BODY },
	{ "DELETE", "/api/projects/{id}/items/{item}", api_items_delete,
	    ROUTE_EDITOR },
	{ "GET",    "/api/projects/{id}/items/{item}/history", api_items_history,
	    ROUTE_VIEWER },

	{ "GET",    "/api/projects/{id}/messages", api_messages_list, ROUTE_VIEWER },
	{ "POST",   "/api/projects/{id}/messages", api_messages_create,
	    ROUTE_EDITOR | ROUTE_METERED | ROUTE_JSON_BODY },
	{ "POST",   "/api/projects/{id}/turns/{turn}/retry", api_turns_retry,
	    ROUTE_EDITOR | ROUTE_METERED },
	{ "GET",    "/api/projects/{id}/turns/{turn}", api_turn_get,
	    ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/turns/{turn}/events", api_turn_events,
	    ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/events", api_events_stream, ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/activity", api_activity_list, ROUTE_VIEWER },
	{ "POST",   "/api/projects/{id}/documents", api_documents_create,
	    ROUTE_EDITOR | ROUTE_METERED | ROUTE_JSON_BODY },
	{ "GET",    "/api/projects/{id}/documents", api_documents_list,
	    ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/documents/generations/{generation}",
	    api_generation_get, ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/documents/generations/{generation}/events",
	    api_generation_events, ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/documents/{kind}", api_documents_get,
	    ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/documents/{kind}/versions",
	    api_documents_versions, ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/documents/{kind}/versions/{n}",
	    api_documents_version, ROUTE_VIEWER },
	{ "GET",    "/api/projects/{id}/documents/{kind}/diff",
	    api_documents_diff, ROUTE_VIEWER },
	/* A read: whoever may see the project may take a copy. */
	{ "GET",    "/api/projects/{id}/export", api_projects_export,
	    ROUTE_VIEWER },
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

/*
 * What a process that only runs an engine serves on its --listen socket
 * (brainstorm-fcgi --engine-only --listen): the same handlers as above.
 */
const struct route api_ops_routes[] = {
	{ "GET",  "/api/health",	api_ops_health,		ROUTE_QUIET },
	{ "GET",  "/api/ready",		api_ops_ready,		ROUTE_QUIET },
	{ "GET",  "/metrics",		api_ops_metrics,	ROUTE_QUIET },
};

const size_t api_ops_routes_count = sizeof(api_ops_routes) /
    sizeof(api_ops_routes[0]);
