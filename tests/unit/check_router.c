#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

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
