/*
 * json_write.c and db_write.c: the text they write is the text json-c
 * writes for the same values (http_respond_json's flags), and binary
 * results come out as their text forms would.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/db.h"
#include "brainstorm/json_write.h"

#define JSONC_FLAGS \
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* What json-c writes for the string s[0..len). */
static char *
jsonc_string(const char *s, size_t len)
{
	json_object	*o = json_object_new_string_len(s, (int)len);
	char		*text = strdup(json_object_to_json_string_ext(o,
	    JSONC_FLAGS));

	json_object_put(o);
	return text;
}

static void
assert_string_as_jsonc(const char *s, size_t len)
{
	struct json_writer	 w;
	struct buf		 b;
	char			*want = jsonc_string(s, len);

	buf_init(&b, 1 << 20);
	json_writer_init(&w, &b);
	json_write_string(&w, s, len);
	ck_assert_int_eq(json_writer_finish(&w), BS_OK);
	ck_assert_str_eq(buf_cstr(&b), want);
	free(want);
	buf_free(&b);
}

START_TEST(test_every_byte_as_jsonc)
{
	char	 s[3];
	int	 c;

	for (c = 0; c < 256; c++) {
		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'z';
		assert_string_as_jsonc(s, 3);
		assert_string_as_jsonc(s + 1, 1);
	}
}
END_TEST

START_TEST(test_strings_as_jsonc)
{
	static const char *const cases[] = {
		"", "plain", "quote \" and backslash \\ and slash /",
		"tab\tnew\nline\r\n", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac",
		"\x01\x1f\x7f", "</script>",
	};
	char	*big;
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_as_jsonc(cases[i], strlen(cases[i]));
	/* Across several chunks, with escapes on the chunk boundaries. */
	big = malloc(3 * JSON_WRITER_CHUNK + 7);
	for (i = 0; i < 3 * JSON_WRITER_CHUNK + 7; i++)
		big[i] = i % 97 == 0 ? '"' : i % 89 == 0 ? '\n' : 'x';
	assert_string_as_jsonc(big, 3 * JSON_WRITER_CHUNK + 7);
	free(big);
}
END_TEST

START_TEST(test_numbers)
{
	static const int64_t cases[] = { 0, 1, -1, 42, -9876543210LL,
	    INT64_MAX, INT64_MIN };
	struct json_writer	 w;
	struct buf		 b;
	char			 want[32];
	size_t			 i;

	buf_init(&b, 1024);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		json_writer_init(&w, &b);
		json_write_int64(&w, cases[i]);
		ck_assert_int_eq(json_writer_finish(&w), BS_OK);
		snprintf(want, sizeof(want), "%lld", (long long)cases[i]);
		ck_assert_str_eq(buf_cstr(&b), want);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_integer_text_checked)
{
	static const char *const good[] = { "0", "-5", "123",
	    "9223372036854775807" };
	static const char *const bad[] = { "", "-", "01", "1.5", "1e3", " 1",
	    "12345678901234567890", "abc" };
	struct json_writer	 w;
	struct buf		 b;
	size_t			 i;

	buf_init(&b, 1024);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		buf_reset(&b);
		json_writer_init(&w, &b);
		json_write_integer_text(&w, good[i], strlen(good[i]));
		ck_assert_int_eq(json_writer_finish(&w), BS_OK);
		ck_assert_str_eq(buf_cstr(&b), good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_writer_init(&w, &b);
		json_write_integer_text(&w, bad[i], strlen(bad[i]));
		ck_assert_int_eq(json_writer_finish(&w), BS_ERR_INVALID);
	}
	buf_free(&b);
}
END_TEST

/* The buffer's cap holds whatever the chunk hides, and the error sticks. */
START_TEST(test_cap_reported)
{
	struct json_writer	 w;
	struct buf		 b;
	char			 big[100];

	memset(big, 'x', sizeof(big));
	buf_init(&b, 64);
	json_writer_init(&w, &b);
	json_write_raw(&w, big, sizeof(big));	/* waits in the chunk */
	json_write_raw(&w, "{}", 2);
	ck_assert_int_eq(json_writer_finish(&w), BS_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);

	/* Straight past the chunk: more than a chunk at once. */
	buf_init(&b, 2 * JSON_WRITER_CHUNK);
	json_writer_init(&w, &b);
	{
		char	*huge = calloc(1, 3 * JSON_WRITER_CHUNK);

		json_write_raw(&w, huge, 3 * JSON_WRITER_CHUNK);
		free(huge);
	}
	json_write_raw(&w, "x", 1);
	ck_assert_int_eq(json_writer_finish(&w), BS_ERR_TOO_LARGE);
	buf_free(&b);
}
END_TEST

/* ---- db_write.c, on results made without a server ---------------------- */

#define OID_BOOL	16
#define OID_INT8	20
#define OID_INT2	21
#define OID_INT4	23
#define OID_TEXT	25
#define OID_TIMESTAMPTZ	1184
#define OID_UUID	2950

static PGresult *
result_make(int ncols, const Oid *types, int format)
{
	PGresAttDesc	 attrs[16];
	PGresult	*res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	char		 names[16][8];
	int		 i;

	ck_assert_ptr_nonnull(res);
	memset(attrs, 0, sizeof(attrs));
	for (i = 0; i < ncols; i++) {
		snprintf(names[i], sizeof(names[i]), "c%d", i);
		attrs[i].name = names[i];
		attrs[i].format = format;
		attrs[i].typid = types[i];
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	ck_assert_int_eq(PQsetResultAttrs(res, ncols, attrs), 1);
	return res;
}

static void
be_put(unsigned char *p, uint64_t v, int len)
{
	int	 i;

	for (i = len - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

/* The members of row 0 written by db_row_write_members, and the error. */
static bs_err
members(const PGresult *res, const struct db_column *cols, int ncols,
    char *out, size_t outlen)
{
	struct json_writer	 w;
	struct buf		 b;
	bs_err			 e;

	buf_init(&b, 1 << 16);
	json_writer_init(&w, &b);
	db_row_write_members(res, 0, 0, cols, ncols, &w);
	e = json_writer_finish(&w);
	snprintf(out, outlen, "%s", buf_cstr(&b));
	buf_free(&b);
	return e;
}

/* Text results: exactly what db_row_json and http_respond_json write. */
START_TEST(test_text_row_as_db_row_json)
{
	static const Oid types[] = { OID_TEXT, OID_INT4, OID_TEXT, OID_INT8 };
	static const struct db_column cols[] = {
		{ "id", false }, { "version", true }, { "note", false },
		{ "big", true },
	};
	PGresult	*res = result_make(4, types, 0);
	json_object	*obj;
	char		 got[1024], want[1024];

	ck_assert(PQsetvalue(res, 0, 0, "x\"y\\z\n\x01/\xc3\xa9", 11));
	ck_assert(PQsetvalue(res, 0, 1, "-17", 3));
	ck_assert(PQsetvalue(res, 0, 2, NULL, -1));
	ck_assert(PQsetvalue(res, 0, 3, "9007199254740993", 16));
	ck_assert_int_eq(db_row_json(res, 0, cols, 4, &obj), BS_OK);
	snprintf(want, sizeof(want), "%s",
	    json_object_to_json_string_ext(obj, JSONC_FLAGS));
	json_object_put(obj);
	ck_assert_int_eq(members(res, cols, 4, got + 1, sizeof(got) - 2),
	    BS_OK);
	got[0] = '{';
	strcat(got, "}");
	ck_assert_str_eq(got, want);

	/* A number column that holds no number is the statement's fault. */
	ck_assert(PQsetvalue(res, 0, 1, "1.5", 3));
	ck_assert_int_eq(members(res, cols, 4, got, sizeof(got)),
	    BS_ERR_INTERNAL);
	PQclear(res);
}
END_TEST

START_TEST(test_binary_values)
{
	static const Oid types[] = { OID_UUID, OID_INT2, OID_INT4, OID_INT8,
	    OID_BOOL, OID_TEXT, OID_TIMESTAMPTZ, OID_BOOL };
	static const struct db_column cols[] = {
		{ "id", false }, { "a", true }, { "b", true }, { "c", true },
		{ "d", false }, { "e", false }, { "f", false }, { "g", false },
	};
	static const struct db_column wrong[] = {
		{ "id", true }, { "id", false }, { "a", false },
	};
	static const unsigned char uuid[16] = { 0x6f, 0x1c, 0x2a, 0x52, 0x2b,
	    0x6e, 0x4d, 0x55, 0x9c, 0x1e, 0x0d, 0x2f, 0x7a, 0x3b, 0x9e, 0x11 };
	PGresult	*res = result_make(8, types, 1);
	unsigned char	 i2[2], i4[4], i8[8], ts[8];
	char		 got[1024], id[37];
	int64_t		 us;

	be_put(i2, (uint64_t)(int64_t)-2, 2);
	be_put(i4, (uint64_t)(int64_t)-123456, 4);
	be_put(i8, (uint64_t)INT64_MIN, 8);
	/* 2024-02-29T12:34:56.789999 UTC, counted from 2000-01-01 */
	be_put(ts, (uint64_t)762525296789999LL, 8);
	ck_assert(PQsetvalue(res, 0, 0, (char *)uuid, 16));
	ck_assert(PQsetvalue(res, 0, 1, (char *)i2, 2));
	ck_assert(PQsetvalue(res, 0, 2, (char *)i4, 4));
	ck_assert(PQsetvalue(res, 0, 3, (char *)i8, 8));
	ck_assert(PQsetvalue(res, 0, 4, "\1", 1));
	ck_assert(PQsetvalue(res, 0, 5, "t\"", 2));
	ck_assert(PQsetvalue(res, 0, 6, (char *)ts, 8));
	ck_assert(PQsetvalue(res, 0, 7, NULL, -1));
	ck_assert_int_eq(members(res, cols, 8, got, sizeof(got)), BS_OK);
	ck_assert_str_eq(got,
	    "\"id\":\"6f1c2a52-2b6e-4d55-9c1e-0d2f7a3b9e11\",\"a\":-2,"
	    "\"b\":-123456,\"c\":-9223372036854775808,\"d\":true,"
	    "\"e\":\"t\\\"\",\"f\":\"2024-02-29T12:34:56.789Z\",\"g\":null");

	ck_assert_int_eq(db_uuid_text(res, 0, 0, id), BS_OK);
	ck_assert_str_eq(id, "6f1c2a52-2b6e-4d55-9c1e-0d2f7a3b9e11");
	ck_assert_int_eq(db_timestamp_us(res, 0, 6, &us), BS_OK);
	ck_assert_int_eq(us, 762525296789999LL + 946684800000000LL);
	ck_assert_int_eq(db_timestamp_us(res, 0, 2, &us), BS_ERR_INTERNAL);

	/* A number where the columns expect none, and the other way round. */
	ck_assert_int_eq(members(res, wrong, 1, got, sizeof(got)),
	    BS_ERR_INTERNAL);
	ck_assert_int_eq(members(res, wrong + 1, 2, got, sizeof(got)),
	    BS_ERR_INTERNAL);
	PQclear(res);
}
END_TEST

/* Timestamps as to_char(... AT TIME ZONE 'UTC', DB_ISO_UTC's format). */
START_TEST(test_binary_timestamps)
{
	static const struct {
		int64_t		 pg_us;	/* since 2000-01-01 UTC */
		const char	*text;
	} cases[] = {
		{ 0, "\"2000-01-01T00:00:00.000Z\"" },
		{ -1, "\"1999-12-31T23:59:59.999Z\"" },
		{ -946684800000000LL, "\"1970-01-01T00:00:00.000Z\"" },
		{ -3150575999999000LL, "\"1900-03-01T00:00:00.001Z\"" },
		{ 3160857599500000LL, "\"2100-02-28T23:59:59.500Z\"" },
		{ 252455615999999999LL, "\"9999-12-31T23:59:59.999Z\"" },
		{ -63082281600000000LL, "\"0001-01-01T00:00:00.000Z\"" },
		{ 762525296789999LL, "\"2024-02-29T12:34:56.789Z\"" },
	};
	static const Oid types[] = { OID_TIMESTAMPTZ };
	static const struct db_column cols[] = { { "t", false } };
	PGresult	*res;
	unsigned char	 ts[8];
	char		 got[128];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		res = result_make(1, types, 1);
		be_put(ts, (uint64_t)cases[i].pg_us, 8);
		ck_assert(PQsetvalue(res, 0, 0, (char *)ts, 8));
		ck_assert_int_eq(members(res, cols, 1, got, sizeof(got)),
		    BS_OK);
		ck_assert_str_eq(got + strlen("\"t\":"), cases[i].text);
		PQclear(res);
	}
	/* infinity, and a year with five digits */
	res = result_make(1, types, 1);
	be_put(ts, (uint64_t)INT64_MAX, 8);
	ck_assert(PQsetvalue(res, 0, 0, (char *)ts, 8));
	ck_assert_int_eq(members(res, cols, 1, got, sizeof(got)),
	    BS_ERR_INTERNAL);
	be_put(ts, (uint64_t)(252455616000000000LL), 8);
	ck_assert(PQsetvalue(res, 0, 0, (char *)ts, 8));
	ck_assert_int_eq(members(res, cols, 1, got, sizeof(got)),
	    BS_ERR_INTERNAL);
	PQclear(res);
}
END_TEST

static Suite *
json_write_suite(void)
{
	Suite	*s = suite_create("json_write");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_every_byte_as_jsonc);
	tcase_add_test(tc, test_strings_as_jsonc);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_integer_text_checked);
	tcase_add_test(tc, test_cap_reported);
	tcase_add_test(tc, test_text_row_as_db_row_json);
	tcase_add_test(tc, test_binary_values);
	tcase_add_test(tc, test_binary_timestamps);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(json_write_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
