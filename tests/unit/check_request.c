#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/http.h"
#include "fake_request.h"

static struct http_ctx		 ctx;
static struct fake_request	 fr;
static const struct http_limits	 limits = { 64, 8 };

static void
setup(void)
{
	memset(&fr, 0, sizeof(fr));
	fr.params[0][0] = "REQUEST_METHOD";
	fr.params[0][1] = "POST";
	fr.params[1][0] = "DOCUMENT_URI";
	fr.params[1][1] = "/api/debug/echo";
	fr.params[2][0] = "CONTENT_TYPE";
	fr.params[2][1] = "application/json";
	fake_ctx_init(&ctx, &fr);
}

static void
teardown(void)
{
	http_ctx_free(&ctx);
	buf_free(&fr.out);
}

/* Set a param (replacing one of the same name) and re-init the context. */
static void
param_set(const char *name, const char *value)
{
	size_t	 i;

	for (i = 0; i < 31 && fr.params[i][0] != NULL; i++)
		if (strcmp(fr.params[i][0], name) == 0)
			break;
	fr.params[i][0] = name;
	fr.params[i][1] = value;
}

static void
body_set(const char *body, size_t len)
{
	static char	 cl[32];

	fr.body = body;
	fr.body_len = len;
	snprintf(cl, sizeof(cl), "%zu", len);
	param_set("CONTENT_LENGTH", cl);
}

/* The "code" of the JSON error the context holds. */
static const char *
error_code(void)
{
	static char	 code[64];
	json_object	*root, *err, *c;

	code[0] = '\0';
	root = json_tokener_parse(buf_cstr(&ctx.res.body));
	if (root != NULL && json_object_object_get_ex(root, "error", &err) &&
	    json_object_object_get_ex(err, "code", &c))
		snprintf(code, sizeof(code), "%s", json_object_get_string(c));
	json_object_put(root);
	return code;
}

START_TEST(test_parse_basic)
{
	param_set("QUERY_STRING", "a=1&b=x%20y+z&flag");
	param_set("HTTP_X_REQUEST_ID", "abc-123_x.y");
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_str_eq(ctx.req.method, "POST");
	ck_assert_str_eq(ctx.req.path, "/api/debug/echo");
	ck_assert_str_eq(ctx.req.request_id, "abc-123_x.y");
	ck_assert_str_eq(http_query_get(&ctx.req, "a"), "1");
	ck_assert_str_eq(http_query_get(&ctx.req, "b"), "x y z");
	ck_assert_str_eq(http_query_get(&ctx.req, "flag"), "");
	ck_assert_ptr_null(http_query_get(&ctx.req, "c"));
	ck_assert_str_eq(http_header_get(&ctx.req, "x-request-id"), "abc-123_x.y");
	ck_assert_str_eq(http_header_get(&ctx.req, "Content-Type"), "application/json");
}
END_TEST

START_TEST(test_request_id_generated_when_unsafe)
{
	param_set("HTTP_X_REQUEST_ID", "bad id\r\nX-Evil: 1");
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_uint_eq(strlen(ctx.req.request_id), 32);
	ck_assert(strspn(ctx.req.request_id, "0123456789abcdef") == 32);
}
END_TEST

START_TEST(test_bad_method_and_path)
{
	param_set("REQUEST_METHOD", "get");
	ck_assert_int_eq(http_request_parse(&ctx), BS_ERR_INVALID);
	ck_assert_int_eq(ctx.res.status, 400);
	ck_assert_str_eq(error_code(), "bad_request");
}
END_TEST

START_TEST(test_bad_path)
{
	param_set("DOCUMENT_URI", "no-slash");
	ck_assert_int_eq(http_request_parse(&ctx), BS_ERR_INVALID);
	ck_assert_int_eq(ctx.res.status, 400);
}
END_TEST

START_TEST(test_bad_content_length)
{
	static const char *const bad[] = { "-1", "12x", "", " 5", "99999999999999999999999" };
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_ctx_free(&ctx);
		buf_free(&fr.out);
		param_set("CONTENT_LENGTH", bad[i]);
		fake_ctx_init(&ctx, &fr);
		if (bad[i][0] == '\0')
			ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
		else
			ck_assert_int_eq(http_request_parse(&ctx), BS_ERR_INVALID);
	}
}
END_TEST

START_TEST(test_bad_query_strings)
{
	static const char *const bad[] = { "a=%", "a=%4", "a=%zz", "a=%00",
	    "a=%ff", "a=%c0%af", "=x", "a=%ed%a0%80" };
	struct http_kv	 kv[HTTP_QUERY_MAX];
	size_t		 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(http_query_parse(bad[i], kv, HTTP_QUERY_MAX, &n) ==
		    BS_ERR_INVALID, "accepted %s", bad[i]);
	ck_assert_int_eq(http_query_parse("a=%C3%A9&&b", kv, HTTP_QUERY_MAX, &n), BS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(kv[0].value, "\xc3\xa9");
	http_kv_free(kv, n);
}
END_TEST

/* A value past 2048 bytes is too long, not malformed: the answer says so. */
START_TEST(test_too_long_query_value)
{
	char	 qs[2100] = "cursor=";

	memset(qs + 7, 'A', 2048);
	qs[7 + 2048] = '\0';
	param_set("QUERY_STRING", qs);
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	teardown();
	setup();
	qs[7 + 2048] = 'A';
	qs[7 + 2049] = '\0';
	param_set("QUERY_STRING", qs);
	ck_assert_int_eq(http_request_parse(&ctx), BS_ERR_INVALID);
	ck_assert_int_eq(ctx.res.status, 400);
	ck_assert_str_eq(error_code(), "bad_query");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&ctx.res.body), "too long"));
}
END_TEST

START_TEST(test_too_many_query_params)
{
	char	 qs[4096] = "";
	size_t	 i;

	for (i = 0; i < HTTP_QUERY_MAX + 1; i++)
		strcat(qs, "k=v&");
	param_set("QUERY_STRING", qs);
	ck_assert_int_eq(http_request_parse(&ctx), BS_ERR_INVALID);
	ck_assert_int_eq(ctx.res.status, 400);
	ck_assert_str_eq(error_code(), "bad_query");
}
END_TEST

START_TEST(test_body_below_at_and_above_cap)
{
	char	 body[128];

	memset(body, ' ', sizeof(body));
	body[0] = '{';
	body[62] = '}';
	/* 63 bytes: below the cap of 64 */
	body_set(body, 63);
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_int_eq(http_request_parse_json(&ctx, &limits), BS_OK);
	teardown();
	setup();
	body[63] = '\n';
	body_set(body, 64);
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_int_eq(http_request_parse_json(&ctx, &limits), BS_OK);
	ck_assert_uint_eq(ctx.req.body.len, 64);
	teardown();
	setup();
	body_set(body, 65);
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_int_eq(http_request_parse_json(&ctx, &limits), BS_ERR_TOO_LARGE);
	ck_assert_int_eq(ctx.res.status, 413);
	ck_assert_str_eq(error_code(), "payload_too_large");
}
END_TEST

START_TEST(test_body_read_in_small_chunks)
{
	const char	*body = "{\"a\":[1,2,3],\"b\":\"x\"}";

	fr.chunk = 3;
	body_set(body, strlen(body));
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_int_eq(http_request_parse_json(&ctx, &limits), BS_OK);
	ck_assert_str_eq(buf_cstr(&ctx.req.body), body);
}
END_TEST

START_TEST(test_body_shorter_than_content_length)
{
	param_set("CONTENT_LENGTH", "40");
	fr.body = "{}";
	fr.body_len = 2;
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_int_ne(http_request_parse_json(&ctx, &limits), BS_OK);
	ck_assert_int_eq(ctx.res.status, 400);
}
END_TEST

START_TEST(test_bad_json)
{
	/* RFC 8259: control characters inside strings must be escaped. */
	static const char *const bad[] = { "{", "{\"a\":}", "[1,]", "{} x",
	    "{'a':1}", "nul", "{\"a\":1}{}", "", "{\"a\":\"a\x01b\"}",
	    "{\"a\":\"tab\there\"}", "{\"a\":\"line\nbreak\"}",
	    "{\"a\x1f\":1}" };
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		teardown();
		setup();
		body_set(bad[i], strlen(bad[i]));
		ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
		ck_assert_msg(http_request_parse_json(&ctx, &limits) != BS_OK,
		    "accepted %s", bad[i]);
		ck_assert_int_eq(ctx.res.status, 400);
		ck_assert_str_eq(error_code(), "invalid_json");
	}
}
END_TEST

/* Escaped control characters and raw ones between tokens are fine. */
START_TEST(test_escaped_controls_accepted)
{
	static const char *const good[] = { "{\"a\":\"a\\u0001b\"}",
	    "{\"a\":\"tab\\there\"}", "{\n\t\"a\" :\r\n 1}",
	    "{\"a\":\"it's\"}", "{\"a\":\"\\\"'\\\"\"}" };
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		teardown();
		setup();
		body_set(good[i], strlen(good[i]));
		ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
		ck_assert_msg(http_request_parse_json(&ctx, &limits) == BS_OK,
		    "refused %s", good[i]);
	}
}
END_TEST

START_TEST(test_deep_nesting_rejected)
{
	const char	*deep = "{\"a\":[[[[[[[[[[1]]]]]]]]]]}";
	const char	*ok = "{\"a\":[[[1]]]}";

	body_set(deep, strlen(deep));
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_int_ne(http_request_parse_json(&ctx, &limits), BS_OK);
	ck_assert_int_eq(ctx.res.status, 400);
	teardown();
	setup();
	body_set(ok, strlen(ok));
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_int_eq(http_request_parse_json(&ctx, &limits), BS_OK);
}
END_TEST

START_TEST(test_bad_utf8_rejected)
{
	static const char *const bad[] = { "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}",
	    "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xe2\x82\"}" };
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		teardown();
		setup();
		body_set(bad[i], strlen(bad[i]));
		ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
		ck_assert_int_ne(http_request_parse_json(&ctx, &limits), BS_OK);
		ck_assert_int_eq(ctx.res.status, 400);
	}
	ck_assert(utf8_valid("\xe2\x82\xac \xf0\x9f\x92\xa1", 8));
}
END_TEST

START_TEST(test_json_must_be_object)
{
	body_set("[1,2]", 5);
	ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
	ck_assert_int_ne(http_request_parse_json(&ctx, &limits), BS_OK);
	ck_assert_int_eq(ctx.res.status, 422);
}
END_TEST

START_TEST(test_content_type_checked)
{
	static const struct { const char *ct; int ok; } cases[] = {
		{ "application/json", 1 },
		{ "application/json; charset=utf-8", 1 },
		{ "Application/JSON;charset=\"UTF-8\"", 1 },
		{ "application/json; charset=latin1", 0 },
		{ "text/plain", 0 },
		{ "application/jsonx", 0 },
		{ "", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		teardown();
		setup();
		param_set("CONTENT_TYPE", cases[i].ct);
		body_set("{}", 2);
		ck_assert_int_eq(http_request_parse(&ctx), BS_OK);
		if (cases[i].ok)
			ck_assert_int_eq(http_request_parse_json(&ctx, &limits), BS_OK);
		else {
			ck_assert_int_ne(http_request_parse_json(&ctx, &limits), BS_OK);
			ck_assert_int_eq(ctx.res.status, 415);
			ck_assert_str_eq(error_code(), "unsupported_media_type");
		}
	}
}
END_TEST

static Suite *
request_suite(void)
{
	Suite	*s = suite_create("request");
	TCase	*tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parse_basic);
	tcase_add_test(tc, test_request_id_generated_when_unsafe);
	tcase_add_test(tc, test_bad_method_and_path);
	tcase_add_test(tc, test_bad_path);
	tcase_add_test(tc, test_bad_content_length);
	tcase_add_test(tc, test_bad_query_strings);
	tcase_add_test(tc, test_too_many_query_params);
	tcase_add_test(tc, test_too_long_query_value);
	tcase_add_test(tc, test_body_below_at_and_above_cap);
	tcase_add_test(tc, test_body_read_in_small_chunks);
	tcase_add_test(tc, test_body_shorter_than_content_length);
	tcase_add_test(tc, test_bad_json);
	tcase_add_test(tc, test_escaped_controls_accepted);
	tcase_add_test(tc, test_deep_nesting_rejected);
	tcase_add_test(tc, test_bad_utf8_rejected);
	tcase_add_test(tc, test_json_must_be_object);
	tcase_add_test(tc, test_content_type_checked);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(request_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
