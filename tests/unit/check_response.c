#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/http.h"
#include "fake_request.h"

static struct http_ctx		 ctx;
static struct fake_request	 fr;

static void
setup(void)
{
	memset(&fr, 0, sizeof(fr));
	fake_ctx_init(&ctx, &fr);
	snprintf(ctx.req.request_id, sizeof(ctx.req.request_id), "rid-1");
}

static void
teardown(void)
{
	http_ctx_free(&ctx);
	buf_free(&fr.out);
}

START_TEST(test_error_shape)
{
	json_object	*root, *err, *v;

	root = http_error_body("not_found", "No such endpoint.", "rid-1");
	ck_assert(json_object_object_get_ex(root, "error", &err));
	ck_assert_int_eq(json_object_object_length(root), 1);
	ck_assert_int_eq(json_object_object_length(err), 3);
	ck_assert(json_object_object_get_ex(err, "code", &v));
	ck_assert_str_eq(json_object_get_string(v), "not_found");
	ck_assert(json_object_object_get_ex(err, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), "No such endpoint.");
	ck_assert(json_object_object_get_ex(err, "request_id", &v));
	ck_assert_str_eq(json_object_get_string(v), "rid-1");
	json_object_put(root);
}
END_TEST

START_TEST(test_respond_error_formats_and_sends)
{
	const char	*out;
	char		 cl[64];

	http_header_add(&ctx, "Allow", "%s", "GET, POST");
	http_respond_error(&ctx, 405, "method_not_allowed", "%s is not allowed", "PUT");
	ck_assert_int_eq(http_response_send(&ctx), BS_OK);
	out = buf_cstr(&fr.out);
	ck_assert_ptr_nonnull(strstr(out, "Status: 405 Method Not Allowed\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Cache-Control: no-store\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "X-Request-Id: rid-1\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Allow: GET, POST\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\r\n\r\n{\"error\":{\"code\":"
	    "\"method_not_allowed\",\"message\":\"PUT is not allowed\","
	    "\"request_id\":\"rid-1\"}}"));
	/* Content-Length matches the body. */
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n",
	    strlen(strstr(out, "\r\n\r\n") + 4));
	ck_assert_ptr_nonnull(strstr(out, cl));
	/* Sending twice writes nothing more. */
	ck_assert_int_eq(http_response_send(&ctx), BS_OK);
	ck_assert_str_eq(buf_cstr(&fr.out), out);
}
END_TEST

START_TEST(test_header_injection_refused)
{
	ck_assert_int_eq(http_header_add(&ctx, "X-A", "%s", "ok\r\nX-Evil: 1"),
	    BS_ERR_INVALID);
	ck_assert_str_eq(buf_cstr(&ctx.res.headers), "");
	ck_assert_int_eq(http_header_add(&ctx, "X-A", "%d", 5), BS_OK);
	ck_assert_str_eq(buf_cstr(&ctx.res.headers), "X-A: 5\r\n");
}
END_TEST

START_TEST(test_cache_control_not_doubled)
{
	http_header_add(&ctx, "Cache-Control", "public, max-age=60");
	http_respond_text(&ctx, 200, "text/plain", "hi", 2);
	ck_assert_int_eq(http_response_send(&ctx), BS_OK);
	ck_assert_ptr_null(strstr(buf_cstr(&fr.out), "no-store"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&fr.out), "max-age=60"));
}
END_TEST

START_TEST(test_status_texts)
{
	ck_assert_str_eq(http_status_text(200), "OK");
	ck_assert_str_eq(http_status_text(413), "Payload Too Large");
	ck_assert_str_eq(http_status_text(422), "Unprocessable Entity");
	ck_assert_str_eq(http_status_text(503), "Service Unavailable");
	ck_assert_str_eq(http_status_text(799), "Unknown");
}
END_TEST

START_TEST(test_json_escapes_message)
{
	http_respond_error(&ctx, 400, "bad_request", "quote \" and \\ and \n");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&ctx.res.body),
	    "quote \\\" and \\\\ and \\n"));
}
END_TEST

/* Every bs_err has an answer, and an error no handler names is ours (5xx). */
START_TEST(test_error_table_complete)
{
	const struct api_error	*a;
	int			 e;

	for (e = 0; e < BS_ERR__COUNT; e++) {
		a = api_error_of((bs_err)e, NULL, 0);
		ck_assert_msg(a != NULL && a->code != NULL && a->message != NULL,
		    "no answer for %s", bs_strerror((bs_err)e));
		ck_assert_msg(a->status == 500 || a->status == 503,
		    "%s answers %d", bs_strerror((bs_err)e), a->status);
		ck_assert_msg((a->status == 503) == (a->retry_after_s > 0),
		    "%s: a 503 says when to come back", bs_strerror((bs_err)e));
	}
	ck_assert_int_eq(api_error_of(BS_ERR_DB_UNAVAILABLE, NULL, 0)->status, 503);
	ck_assert_int_eq(api_error_of(BS_ERR_POOL_TIMEOUT, NULL, 0)->status, 503);
	ck_assert_int_eq(api_error_of(BS_ERR_NOT_FOUND, NULL, 0)->status, 500);
	ck_assert_int_eq(api_error_of(BS_ERR__COUNT, NULL, 0)->status, 500);
}
END_TEST

START_TEST(test_error_rows_override)
{
	static const struct api_error_row rows[] = {
		API_ERROR_NOT_FOUND("item"),
		{ BS_ERR_TOO_LARGE, { 503, "queue_full", "Full.", 15 } },
	};
	const char	*out;

	ck_assert_str_eq(api_error_of(BS_ERR_NOT_FOUND, API_ERROR_ROWS(rows))->message,
	    "No such item.");
	ck_assert_int_eq(api_error_of(BS_ERR_DB, API_ERROR_ROWS(rows))->status, 500);
	api_respond_error(&ctx, BS_ERR_TOO_LARGE, API_ERROR_ROWS(rows));
	ck_assert_int_eq(http_response_send(&ctx), BS_OK);
	out = buf_cstr(&fr.out);
	ck_assert_ptr_nonnull(strstr(out, "Status: 503 "));
	ck_assert_ptr_nonnull(strstr(out, "Retry-After: 15\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "{\"error\":{\"code\":\"queue_full\","
	    "\"message\":\"Full.\""));
}
END_TEST

START_TEST(test_error_db_unavailable)
{
	const char	*out;

	api_respond_db_error(&ctx, BS_ERR_POOL_TIMEOUT);
	ck_assert_int_eq(http_response_send(&ctx), BS_OK);
	out = buf_cstr(&fr.out);
	ck_assert_ptr_nonnull(strstr(out, "Status: 503 "));
	ck_assert_ptr_nonnull(strstr(out, "Retry-After: 5\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\"code\":\"unavailable\""));
}
END_TEST

static Suite *
response_suite(void)
{
	Suite	*s = suite_create("response");
	TCase	*tc = tcase_create("errors");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_error_shape);
	tcase_add_test(tc, test_respond_error_formats_and_sends);
	tcase_add_test(tc, test_header_injection_refused);
	tcase_add_test(tc, test_cache_control_not_doubled);
	tcase_add_test(tc, test_status_texts);
	tcase_add_test(tc, test_json_escapes_message);
	tcase_add_test(tc, test_error_table_complete);
	tcase_add_test(tc, test_error_rows_override);
	tcase_add_test(tc, test_error_db_unavailable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(response_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
