#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"

START_TEST(test_append_below_and_at_cap)
{
	struct buf	 b;

	buf_init(&b, 8);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_int_eq(buf_append(&b, "abcd", 4), BS_OK);
	ck_assert_int_eq(buf_append(&b, "efgh", 4), BS_OK);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_str_eq(buf_cstr(&b), "abcdefgh");
	buf_free(&b);
}
END_TEST

START_TEST(test_append_over_cap_fails_unchanged)
{
	struct buf	 b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_append(&b, "abcdef", 6), BS_OK);
	ck_assert_int_eq(buf_append(&b, "xyz", 3), BS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_str_eq(buf_cstr(&b), "abcdef");
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_grows_and_caps)
{
	struct buf	 b;
	int		 i;

	buf_init(&b, 10000);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_printf(&b, "%d,", i % 10), BS_OK);
	ck_assert_uint_eq(b.len, 2000);
	ck_assert_int_eq(buf_printf(&b, "%9000d", 1), BS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 2000);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_free(&b);
}
END_TEST

START_TEST(test_take_hands_over_and_empties)
{
	struct buf	 b;
	char		*s;

	buf_init(&b, 16);
	s = buf_take(&b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_int_eq(buf_puts(&b, "abc"), BS_OK);
	s = buf_take(&b);
	ck_assert_str_eq(s, "abc");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	/* The cap stays: the buffer can be filled again. */
	ck_assert_int_eq(buf_puts(&b, "0123456789abcdef"), BS_OK);
	ck_assert_int_eq(buf_puts(&b, "x"), BS_ERR_TOO_LARGE);
	free(s);
	buf_free(&b);
}
END_TEST

START_TEST(test_strerror_covers_every_code)
{
	int	 e;

	for (e = 0; e < BS_ERR__COUNT; e++)
		ck_assert_str_ne(bs_strerror((bs_err)e), "unknown error");
	ck_assert_str_eq(bs_strerror((bs_err)9999), "unknown error");
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_append_below_and_at_cap);
	tcase_add_test(tc, test_append_over_cap_fails_unchanged);
	tcase_add_test(tc, test_printf_grows_and_caps);
	tcase_add_test(tc, test_strerror_covers_every_code);
	tcase_add_test(tc, test_take_hands_over_and_empties);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(buf_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
