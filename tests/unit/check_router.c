#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/members.h"
#include "brainstorm/router.h"

static void handler_a(struct http_ctx *ctx) { (void)ctx; }
static void handler_b(struct http_ctx *ctx) { (void)ctx; }

static const struct route table[] = {
	{ "GET",    "/api/health",				handler_a, 0 },
	{ "GET",    "/api/projects",				handler_a, 0 },
	{ "POST",   "/api/projects",				handler_b, 0 },
	{ "GET",    "/api/projects/{id}",			handler_a, 0 },
	{ "PATCH",  "/api/projects/{id}",			handler_b, 0 },
	{ "DELETE", "/api/projects/{id}",			handler_b, 0 },
	{ "GET",    "/api/projects/{id}/items/{item}",		handler_a, 0 },
	{ "GET",    "/api/projects/{id}/items/{item}/history",	handler_b, 0 },
};
#define N	(sizeof(table) / sizeof(table[0]))

static struct http_request	 req;
static const struct route	*route;
static char			 allow[128];

static enum router_result
match(const char *method, const char *path)
{
	http_kv_free(req.params, req.nparams);
	memset(&req, 0, sizeof(req));
	return router_match(table, N, method, path, &req, &route, allow,
	    sizeof(allow));
}

static void
teardown(void)
{
	http_kv_free(req.params, req.nparams);
	req.nparams = 0;
}

START_TEST(test_static_routes)
{
	ck_assert_int_eq(match("GET", "/api/health"), ROUTER_FOUND);
	ck_assert_ptr_eq(route, &table[0]);
	ck_assert_uint_eq(req.nparams, 0);
	ck_assert_int_eq(match("POST", "/api/projects"), ROUTER_FOUND);
	ck_assert_ptr_eq(route, &table[2]);
}
END_TEST

START_TEST(test_params_captured)
{
	ck_assert_int_eq(match("GET", "/api/projects/abc-123/items/x9"), ROUTER_FOUND);
	ck_assert_ptr_eq(route, &table[6]);
	ck_assert_uint_eq(req.nparams, 2);
	ck_assert_str_eq(http_param_get(&req, "id"), "abc-123");
	ck_assert_str_eq(http_param_get(&req, "item"), "x9");
	ck_assert_ptr_null(http_param_get(&req, "nope"));
	ck_assert_int_eq(match("GET", "/api/projects/p1/items/i1/history"), ROUTER_FOUND);
	ck_assert_ptr_eq(route, &table[7]);
}
END_TEST

START_TEST(test_not_found)
{
	ck_assert_int_eq(match("GET", "/api/nope"), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/api/projects/"), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/api/projects//items/x"), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/api/health/"), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/api/healthz"), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", "/"), ROUTER_NOT_FOUND);
	ck_assert_int_eq(match("GET", ""), ROUTER_NOT_FOUND);
	ck_assert_ptr_null(route);
}
END_TEST

START_TEST(test_method_not_allowed_lists_allow)
{
	ck_assert_int_eq(match("PUT", "/api/projects/p1"), ROUTER_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(allow, "GET, PATCH, DELETE");
	ck_assert_int_eq(match("DELETE", "/api/health"), ROUTER_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(allow, "GET");
}
END_TEST

START_TEST(test_head_matches_get)
{
	ck_assert_int_eq(match("HEAD", "/api/health"), ROUTER_FOUND);
	ck_assert_ptr_eq(route, &table[0]);
}
END_TEST

START_TEST(test_long_segment_rejected)
{
	char	 path[600];

	strcpy(path, "/api/projects/");
	memset(path + strlen(path), 'a', 400);
	path[14 + 400] = '\0';
	ck_assert_int_eq(match("GET", path), ROUTER_NOT_FOUND);
}
END_TEST

START_TEST(test_application_table_is_consistent)
{
	size_t	 i, j;

	ck_assert_uint_gt(api_routes_count, 0);
	for (i = 0; i < api_routes_count; i++) {
		ck_assert_ptr_nonnull(api_routes[i].handler);
		ck_assert_int_eq(api_routes[i].pattern[0], '/');
		for (j = i + 1; j < api_routes_count; j++)
			ck_assert(strcmp(api_routes[i].method, api_routes[j].method) != 0 ||
			    strcmp(api_routes[i].pattern, api_routes[j].pattern) != 0);
	}
}
END_TEST

/* The application's table: which handler a path reaches. */
static route_handler
app_match(const char *method, const char *path)
{
	http_kv_free(req.params, req.nparams);
	memset(&req, 0, sizeof(req));
	if (router_match(api_routes, api_routes_count, method, path, &req,
	    &route, allow, sizeof(allow)) != ROUTER_FOUND)
		return NULL;
	return route->handler;
}

#define P	"/api/projects/00000000-0000-4000-8000-000000000001"
#define G	"00000000-0000-4000-8000-000000000002"

/* A generation's routes are not taken for a kind of document. */
START_TEST(test_generation_routes_before_kinds)
{
	ck_assert_ptr_eq(app_match("GET", P "/documents/generations/" G),
	    api_generation_get);
	ck_assert_str_eq(http_param_get(&req, "generation"), G);
	ck_assert_ptr_eq(app_match("GET", P "/documents/generations/" G
	    "/events"), api_generation_events);
	ck_assert_ptr_eq(app_match("GET", P "/documents/brief"),
	    api_documents_get);
	ck_assert_ptr_eq(app_match("GET", P "/documents/brief/versions"),
	    api_documents_versions);
	ck_assert_ptr_eq(app_match("POST", P "/documents"),
	    api_documents_create);
}
END_TEST

/* An engine-only process serves its health, readiness and metrics alone. */
START_TEST(test_ops_table_is_health_readiness_and_metrics)
{
	size_t	 i, j;
	bool	 found;

	ck_assert_uint_eq(api_ops_routes_count, 3);
	for (i = 0; i < api_ops_routes_count; i++) {
		ck_assert_str_eq(api_ops_routes[i].method, "GET");
		ck_assert_uint_eq(api_ops_routes[i].flags, ROUTE_QUIET);
		/* The same row as in the whole table. */
		for (j = 0, found = false; j < api_routes_count && !found; j++)
			found = strcmp(api_routes[j].pattern,
			    api_ops_routes[i].pattern) == 0 &&
			    api_routes[j].handler == api_ops_routes[i].handler &&
			    api_routes[j].flags == api_ops_routes[i].flags;
		ck_assert_msg(found, "%s", api_ops_routes[i].pattern);
	}
	ck_assert_int_eq(router_match(api_ops_routes, api_ops_routes_count,
	    "GET", "/metrics", &req, &route, allow, sizeof(allow)),
	    ROUTER_FOUND);
	ck_assert_int_eq(router_match(api_ops_routes, api_ops_routes_count,
	    "POST", "/api/auth/login", &req, &route, allow, sizeof(allow)),
	    ROUTER_NOT_FOUND);
}
END_TEST

/*
 * A route under /api/projects/{id} names exactly one role, and only such a
 * route names one: the guard reads the project from {id}. Metered routes
 * spend tokens for someone, so they need a signed-in caller.
 */
START_TEST(test_application_table_roles)
{
	const struct route *r;
	unsigned	 roles;
	size_t		 i, nquiet = 0;
	bool		 project, quiet;

	for (i = 0; i < api_routes_count; i++) {
		r = &api_routes[i];
		roles = r->flags & ROUTE_ANY_ROLE;
		project = strncmp(r->pattern, "/api/projects/{id}", 18) == 0;
		ck_assert_msg(project == (roles != 0), "%s %s: a project route "
		    "names one role, other routes none", r->method, r->pattern);
		ck_assert_msg((roles & (roles - 1)) == 0, "%s %s names more than "
		    "one role", r->method, r->pattern);
		if (r->flags & ROUTE_METERED)
			ck_assert(r->flags & (ROUTE_AUTH | ROUTE_ANY_ROLE));
		/* Quiet is for anonymous probes: a person's request is logged. */
		quiet = (r->flags & ROUTE_QUIET) != 0;
		ck_assert_msg(!quiet || (strcmp(r->method, "GET") == 0 &&
		    (r->flags & (ROUTE_AUTH | ROUTE_ANY_ROLE)) == 0), "%s %s: only "
		    "an anonymous GET logs quietly", r->method, r->pattern);
		nquiet += quiet;
	}
	/* The probes and the scrape: health, ready and metrics. */
	ck_assert_uint_eq(nquiet, 3);
	ck_assert_int_eq(route_min_role(0), PROJECT_ROLE_NONE);
	ck_assert_int_eq(route_min_role(ROUTE_AUTH), PROJECT_ROLE_NONE);
	ck_assert_int_eq(route_min_role(ROUTE_VIEWER), PROJECT_ROLE_VIEWER);
	ck_assert_int_eq(route_min_role(ROUTE_EDITOR | ROUTE_JSON_BODY),
	    PROJECT_ROLE_EDITOR);
	ck_assert_int_eq(route_min_role(ROUTE_OWNER), PROJECT_ROLE_OWNER);
	/* Two roles by mistake: the higher one (fail closed). */
	ck_assert_int_eq(route_min_role(ROUTE_VIEWER | ROUTE_OWNER),
	    PROJECT_ROLE_OWNER);
}
END_TEST

START_TEST(test_role_names)
{
	enum project_role	 r;

	ck_assert(project_role_parse("viewer", &r) && r == PROJECT_ROLE_VIEWER);
	ck_assert(project_role_parse("editor", &r) && r == PROJECT_ROLE_EDITOR);
	ck_assert(project_role_parse("owner", &r) && r == PROJECT_ROLE_OWNER);
	ck_assert(!project_role_parse("none", &r) && r == PROJECT_ROLE_NONE);
	ck_assert(!project_role_parse("Owner", &r));
	ck_assert(!project_role_parse("", &r));
	ck_assert(!project_role_parse(NULL, &r));
	ck_assert_str_eq(project_role_name(PROJECT_ROLE_EDITOR), "editor");
	ck_assert_str_eq(project_role_name((enum project_role)42), "none");
	ck_assert(PROJECT_ROLE_VIEWER < PROJECT_ROLE_EDITOR &&
	    PROJECT_ROLE_EDITOR < PROJECT_ROLE_OWNER);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite	*s = suite_create("router");
	TCase	*tc = tcase_create("match");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_static_routes);
	tcase_add_test(tc, test_params_captured);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_method_not_allowed_lists_allow);
	tcase_add_test(tc, test_head_matches_get);
	tcase_add_test(tc, test_long_segment_rejected);
	tcase_add_test(tc, test_application_table_is_consistent);
	tcase_add_test(tc, test_application_table_roles);
	tcase_add_test(tc, test_role_names);
	tcase_add_test(tc, test_generation_routes_before_kinds);
	tcase_add_test(tc, test_ops_table_is_health_readiness_and_metrics);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(router_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
