#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/err.h"
#include "brainstorm/http.h"
#include "brainstorm/validate.h"

static const char *const colours[] = { "red", "green", NULL };

enum { R_TITLE, R_NOTE, R_COUNT, R_COLOUR };
static const struct field_rule rules[] = {
	[R_TITLE] =	{ "title", FIELD_STRING, true, 1, 3, NULL },
	[R_NOTE] =	{ "note", FIELD_STRING, false, 0, 5, NULL },
	[R_COUNT] =	{ "count", FIELD_INT, false, -2, 10, NULL },
	[R_COLOUR] =	{ "colour", FIELD_ENUM, false, 0, 0, colours },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

static struct field_value	 out[NRULES];
static struct validate_error	 verr;
static json_object		*doc;	/* owns the strings in out */

static void
teardown(void)
{
	json_object_put(doc);
	doc = NULL;
}

static json_object *
parse(const char *text)
{
	json_object	*obj = json_tokener_parse(text);

	ck_assert_msg(obj != NULL, "test JSON does not parse: %s", text);
	return obj;
}

/* Validate text against rules; on failure verr names the field. */
static bs_err
check(const char *text)
{
	teardown();
	doc = parse(text);
	memset(&verr, 0, sizeof(verr));
	return validate_object(doc, rules, NRULES, out, &verr);
}

static void
assert_invalid(const char *text, const char *field)
{
	ck_assert_int_eq(check(text), BS_ERR_INVALID);
	ck_assert_str_eq(verr.field, field);
	ck_assert_uint_gt(strlen(verr.message), 0);
}

START_TEST(test_valid_object_fills_values)
{
	json_object	*obj;

	obj = parse("{\"title\":\"abc\",\"note\":\"\",\"count\":-2,"
	    "\"colour\":\"green\"}");
	ck_assert_int_eq(validate_object(obj, rules, NRULES, out, &verr), BS_OK);
	ck_assert(out[R_TITLE].present);
	ck_assert_str_eq(out[R_TITLE].str, "abc");
	ck_assert(out[R_NOTE].present);
	ck_assert_str_eq(out[R_NOTE].str, "");
	ck_assert(out[R_COUNT].present);
	ck_assert_int_eq(out[R_COUNT].num, -2);
	ck_assert(out[R_COLOUR].present);
	ck_assert_str_eq(out[R_COLOUR].str, "green");
	json_object_put(obj);
}
END_TEST

START_TEST(test_optional_fields_absent)
{
	ck_assert_int_eq(check("{\"title\":\"a\"}"), BS_OK);
	ck_assert(out[R_TITLE].present);
	ck_assert(!out[R_NOTE].present);
	ck_assert_ptr_null(out[R_NOTE].str);
	ck_assert(!out[R_COUNT].present);
	ck_assert_int_eq(out[R_COUNT].num, 0);
	ck_assert(!out[R_COLOUR].present);
	ck_assert_ptr_null(out[R_COLOUR].str);
}
END_TEST

START_TEST(test_unknown_field)
{
	assert_invalid("{\"title\":\"a\",\"owner_id\":\"x\"}", "owner_id");
	ck_assert_ptr_nonnull(strstr(verr.message, "owner_id"));
	/* Unknown fields are refused before missing ones are reported. */
	assert_invalid("{\"Title\":\"a\"}", "Title");
}
END_TEST

START_TEST(test_unknown_field_long_name_truncated)
{
	char	 text[512];
	char	 key[301];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"title\":\"a\",\"%s\":1}", key);
	ck_assert_int_eq(check(text), BS_ERR_INVALID);
	ck_assert_uint_eq(strlen(verr.field), sizeof(verr.field) - 1);
	ck_assert(strncmp(verr.field, key, sizeof(verr.field) - 1) == 0);
	ck_assert_uint_lt(strlen(verr.message), sizeof(verr.message));
}
END_TEST

START_TEST(test_missing_required)
{
	assert_invalid("{}", "title");
	assert_invalid("{\"note\":\"x\"}", "title");
	ck_assert_ptr_nonnull(strstr(verr.message, "required"));
}
END_TEST

START_TEST(test_wrong_types)
{
	assert_invalid("{\"title\":12}", "title");
	assert_invalid("{\"title\":true}", "title");
	assert_invalid("{\"title\":[\"a\"]}", "title");
	assert_invalid("{\"title\":{\"a\":1}}", "title");
	assert_invalid("{\"title\":\"a\",\"count\":\"5\"}", "count");
	assert_invalid("{\"title\":\"a\",\"count\":1.5}", "count");
	assert_invalid("{\"title\":\"a\",\"count\":2.0}", "count");
	assert_invalid("{\"title\":\"a\",\"count\":false}", "count");
	assert_invalid("{\"title\":\"a\",\"colour\":1}", "colour");
}
END_TEST

START_TEST(test_null_values)
{
	assert_invalid("{\"title\":null}", "title");
	ck_assert_ptr_nonnull(strstr(verr.message, "null"));
	assert_invalid("{\"title\":\"a\",\"note\":null}", "note");
	assert_invalid("{\"title\":\"a\",\"count\":null}", "count");
	assert_invalid("{\"title\":\"a\",\"colour\":null}", "colour");
}
END_TEST

/* Lengths count characters, not bytes: é is 2 bytes, € 3, 😀 4. */
START_TEST(test_string_length_in_characters)
{
	ck_assert_int_eq(check("{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}"), BS_OK);
	ck_assert_uint_eq(strlen(out[R_TITLE].str), 6);
	ck_assert_int_eq(check("{\"title\":\"\xe2\x82\xac\xf0\x9f\x98\x80z\"}"),
	    BS_OK);
	ck_assert_int_eq(check("{\"title\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}"),
	    BS_OK);
	assert_invalid("{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", "title");
	assert_invalid("{\"title\":\"abcd\"}", "title");
	ck_assert_int_eq(check("{\"title\":\"a\",\"note\":"
	    "\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"}"), BS_OK);
	assert_invalid("{\"title\":\"a\",\"note\":\"abcdef\"}", "note");
}
END_TEST

START_TEST(test_string_empty)
{
	assert_invalid("{\"title\":\"\"}", "title");
	ck_assert_ptr_nonnull(strstr(verr.message, "empty"));
	ck_assert_int_eq(check("{\"title\":\"a\",\"note\":\"\"}"), BS_OK);
}
END_TEST

START_TEST(test_string_with_nul)
{
	assert_invalid("{\"title\":\"a\\u0000b\"}", "title");
	assert_invalid("{\"title\":\"\\u0000\"}", "title");
	assert_invalid("{\"title\":\"a\",\"colour\":\"red\\u0000x\"}", "colour");
}
END_TEST

enum { P_NAME, P_BODY, P_NOTE };
static const struct field_rule person_rules[] = {
	[P_NAME] =	{ "name", FIELD_LINE, false, 0, 20, NULL },
	[P_BODY] =	{ "body", FIELD_TEXT, false, 1, 50, NULL },
	[P_NOTE] =	{ "note", FIELD_TEXT, false, 0, 50, NULL },
};

/* text against person_rules: BS_OK, or the field and the message's word. */
static void
person(const char *text, const char *field, const char *word)
{
	struct field_value	 pv[3];
	bs_err			 e;

	teardown();
	doc = parse(text);
	memset(&verr, 0, sizeof(verr));
	e = validate_object(doc, person_rules, 3, pv, &verr);
	if (field == NULL) {
		ck_assert_msg(e == BS_OK, "%s refused: %s", text, verr.message);
		return;
	}
	ck_assert_msg(e == BS_ERR_INVALID, "%s accepted", text);
	ck_assert_str_eq(verr.field, field);
	ck_assert_msg(strstr(verr.message, word) != NULL, "%s: %s", text,
	    verr.message);
}

/*
 * Names and titles others see are one line, without control characters
 * or direction overrides (which can make a name read as another's), and
 * not blank; a person's text may hold tabs and line breaks.
 */
START_TEST(test_person_lines_and_texts)
{
	person("{\"name\":\"Ada\"}", NULL, NULL);
	person("{\"name\":\"\"}", NULL, NULL);
	person("{\"name\":\"Zo\\u00eb \\ud83d\\ude00 \\u05e9\\u05dc\\u05d5\\u05dd\"}",
	    NULL, NULL);
	person("{\"name\":\"   \"}", "name", "blank");
	person("{\"name\":\"\\u00a0\\u3000\"}", "name", "blank");
	person("{\"name\":\"a\\tb\"}", "name", "one line");
	person("{\"name\":\"a\\nb\"}", "name", "one line");
	person("{\"name\":\"a\\u0007b\"}", "name", "one line");
	person("{\"name\":\"a\\u007fb\"}", "name", "one line");
	person("{\"name\":\"a\\u0085b\"}", "name", "one line");
	person("{\"name\":\"evil\\u202egnp.exe\"}", "name", "direction");
	person("{\"name\":\"a\\u202ab\"}", "name", "direction");
	person("{\"name\":\"a\\u2067b\\u2069\"}", "name", "direction");

	person("{\"body\":\"line one\\nline two\\ta\\r\\n\\u202eb\"}", NULL,
	    NULL);
	person("{\"body\":\"  \\n\\t \"}", "body", "blank");
	person("{\"body\":\"\\u2003\\ufeff\"}", "body", "blank");
	person("{\"body\":\"\"}", "body", "empty");
	person("{\"body\":\"a\\u0007b\"}", "body", "control");
	person("{\"body\":\"a\\u009bb\"}", "body", "control");
	person("{\"note\":\"   \"}", NULL, NULL);
	person("{\"note\":\"a\\u001bb\"}", "note", "control");
}
END_TEST

/* in, cleaned by type's rules, must give want (and blank). */
static void
cleaned(const char *in, enum field_type type, const char *want,
    bool want_blank)
{
	char	 text[128];
	size_t	 n = 0;
	bool	 blank, again, changed;

	changed = person_text_clean(in, strlen(in), type, NULL, NULL, &blank);
	ck_assert_msg(changed == (strcmp(in, want) != 0), "%s: changed %d", in,
	    changed);
	ck_assert_msg(blank == want_blank, "%s: blank %d", in, blank);
	if (!changed)
		return;
	(void)person_text_clean(in, strlen(in), type, text, &n, &again);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_str_eq(text, want);
	ck_assert(again == blank);
}

START_TEST(test_person_text_clean)
{
	cleaned("Ada Lovelace", FIELD_LINE, "Ada Lovelace", false);
	cleaned("Ada\nLovelace\t", FIELD_LINE, "Ada Lovelace ", false);
	cleaned("Bob\xe2\x80\xae" "etihw", FIELD_LINE, "Bobetihw", false);
	cleaned("\xe2\x81\xa7" "a\xe2\x81\xa9\x07", FIELD_LINE, "a ", false);
	cleaned("\xc2\x85x", FIELD_LINE, " x", false);
	cleaned("\xe2\x80\xae\t", FIELD_LINE, " ", true);
	cleaned("", FIELD_LINE, "", true);
	cleaned("Zo\xc3\xab \xd7\xa9", FIELD_LINE, "Zo\xc3\xab \xd7\xa9",
	    false);

	cleaned("one\ntwo\tthree\r\n", FIELD_TEXT, "one\ntwo\tthree\r\n",
	    false);
	cleaned("a\x07" "b\x1b" "[31mc\x7f", FIELD_TEXT, "ab[31mc", false);
	cleaned("\xc2\x9bx\xe2\x80\xaey", FIELD_TEXT, "x\xe2\x80\xaey", false);
	cleaned(" \x0c\n", FIELD_TEXT, " \n", true);
	/* Not UTF-8: left as it is. */
	cleaned("a\x07\xff", FIELD_TEXT, "a\x07\xff", false);
}
END_TEST

START_TEST(test_int_bounds)
{
	ck_assert_int_eq(check("{\"title\":\"a\",\"count\":-2}"), BS_OK);
	ck_assert_int_eq(out[R_COUNT].num, -2);
	ck_assert_int_eq(check("{\"title\":\"a\",\"count\":10}"), BS_OK);
	ck_assert_int_eq(out[R_COUNT].num, 10);
	ck_assert_int_eq(check("{\"title\":\"a\",\"count\":0}"), BS_OK);
	assert_invalid("{\"title\":\"a\",\"count\":-3}", "count");
	assert_invalid("{\"title\":\"a\",\"count\":11}", "count");
	assert_invalid("{\"title\":\"a\",\"count\":4294967306}", "count");
	assert_invalid("{\"title\":\"a\",\"count\":-9223372036854775808}", "count");
	assert_invalid("{\"title\":\"a\",\"count\":99999999999999999999999}",
	    "count");
}
END_TEST

START_TEST(test_enum)
{
	ck_assert_int_eq(check("{\"title\":\"a\",\"colour\":\"red\"}"), BS_OK);
	ck_assert_str_eq(out[R_COLOUR].str, "red");
	assert_invalid("{\"title\":\"a\",\"colour\":\"blue\"}", "colour");
	assert_invalid("{\"title\":\"a\",\"colour\":\"RED\"}", "colour");
	assert_invalid("{\"title\":\"a\",\"colour\":\"\"}", "colour");
	assert_invalid("{\"title\":\"a\",\"colour\":\"red \"}", "colour");
}
END_TEST

START_TEST(test_not_an_object)
{
	json_object	*arr = parse("[1,2]");

	ck_assert_int_eq(validate_object(arr, rules, NRULES, out, &verr),
	    BS_ERR_INVALID);
	ck_assert_str_eq(verr.field, "");
	ck_assert_int_eq(validate_object(NULL, rules, NRULES, out, &verr),
	    BS_ERR_INVALID);
	ck_assert_str_eq(verr.field, "");
	json_object_put(arr);
}
END_TEST

START_TEST(test_uuid_valid)
{
	ck_assert(uuid_valid("123e4567-e89b-12d3-a456-426614174000"));
	ck_assert(uuid_valid("123E4567-E89B-12D3-A456-426614174000"));
	ck_assert(uuid_valid("00000000-0000-0000-0000-000000000000"));
	ck_assert(!uuid_valid(NULL));
	ck_assert(!uuid_valid(""));
	ck_assert(!uuid_valid("123e4567-e89b-12d3-a456-42661417400"));
	ck_assert(!uuid_valid("123e4567-e89b-12d3-a456-4266141740000"));
	ck_assert(!uuid_valid("123e4567e89b12d3a456426614174000"));
	ck_assert(!uuid_valid("123e4567-e89b-12d3-a456_426614174000"));
	ck_assert(!uuid_valid("123e4567-e89b-12d3-a4566-26614174000"));
	ck_assert(!uuid_valid("g23e4567-e89b-12d3-a456-426614174000"));
	ck_assert(!uuid_valid("{23e4567-e89b-12d3-a456-426614174000"));
	ck_assert(!uuid_valid(" 23e4567-e89b-12d3-a456-426614174000"));
	ck_assert(!uuid_valid("123e4567-e89b-12d3-a456-42661417400\xc3"));
	ck_assert(!uuid_valid("../../../../../../../../etc/passwd12"));
}
END_TEST

START_TEST(test_utf8_length)
{
	ck_assert_uint_eq(utf8_length("", 0), 0);
	ck_assert_uint_eq(utf8_length("abc", 3), 3);
	ck_assert_uint_eq(utf8_length("\xc3\xa9", 2), 1);
	ck_assert_uint_eq(utf8_length("\xe2\x82\xac", 3), 1);
	ck_assert_uint_eq(utf8_length("\xf0\x9f\x98\x80", 4), 1);
	ck_assert_uint_eq(utf8_length("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z",
	    11), 5);
	/* Only len bytes count, whatever follows. */
	ck_assert_uint_eq(utf8_length("abcdef", 2), 2);
}
END_TEST

static void
assert_strtonum(const char *s, long long min, long long max, long long want,
    const char *want_err)
{
	const char	*errstr = "unset";
	long long	 v;

	v = bs_strtonum(s, min, max, &errstr);
	if (want_err == NULL) {
		ck_assert_msg(errstr == NULL, "\"%s\": %s", s, errstr);
		ck_assert_int_eq(v, want);
		ck_assert_int_eq(errno, 0);
	} else {
		ck_assert_msg(errstr != NULL && strcmp(errstr, want_err) == 0,
		    "\"%s\": want %s, got %s", s, want_err,
		    errstr != NULL ? errstr : "success");
		ck_assert_int_eq(v, 0);
		ck_assert_int_eq(errno, strcmp(want_err, "invalid") == 0 ?
		    EINVAL : ERANGE);
	}
}

START_TEST(test_strtonum)
{
	assert_strtonum("0", 0, 10, 0, NULL);
	assert_strtonum("10", 0, 10, 10, NULL);
	assert_strtonum("-2", -2, 10, -2, NULL);
	assert_strtonum("007", 0, 10, 7, NULL);
	assert_strtonum("9223372036854775807", LLONG_MIN, LLONG_MAX, LLONG_MAX,
	    NULL);
	assert_strtonum("-9223372036854775808", LLONG_MIN, LLONG_MAX, LLONG_MIN,
	    NULL);
	assert_strtonum("11", 0, 10, 0, "too large");
	assert_strtonum("-3", -2, 10, 0, "too small");
	assert_strtonum("-1", 1, 10, 0, "too small");
	assert_strtonum("9223372036854775808", LLONG_MIN, LLONG_MAX, 0,
	    "too large");
	assert_strtonum("-9223372036854775809", LLONG_MIN, LLONG_MAX, 0,
	    "too small");
	assert_strtonum("99999999999999999999999", 0, 10, 0, "too large");
	/* Strict: the whole string, digits only. */
	assert_strtonum("", 0, 10, 0, "invalid");
	assert_strtonum("-", 0, 10, 0, "invalid");
	assert_strtonum(" 1", 0, 10, 0, "invalid");
	assert_strtonum("1 ", 0, 10, 0, "invalid");
	assert_strtonum("+1", 0, 10, 0, "invalid");
	assert_strtonum("1x", 0, 10, 0, "invalid");
	assert_strtonum("0x1", 0, 10, 0, "invalid");
	assert_strtonum("1e3", 0, 10000, 0, "invalid");
	assert_strtonum("1.0", 0, 10, 0, "invalid");
	assert_strtonum("5", 10, 0, 0, "invalid");
	assert_strtonum(NULL, 0, 10, 0, "invalid");
}
END_TEST

START_TEST(test_strntonum_counts_len_bytes)
{
	const char	*errstr;

	ck_assert_int_eq(bs_strntonum("6380/2", 4, 1, 65535, &errstr), 6380);
	ck_assert_ptr_null(errstr);
	ck_assert_int_eq(bs_strntonum("6380/2", 0, 1, 65535, &errstr), 0);
	ck_assert_str_eq(errstr, "invalid");
}
END_TEST

static const char *const q_states[] = { "open", "shut", NULL };
enum { Q_LIMIT, Q_STATE, Q_BEFORE, Q_NOTE };
static const struct field_rule q_rules[] = {
	[Q_LIMIT] =	{ "limit", FIELD_INT, false, 1, 100, NULL },
	[Q_STATE] =	{ "state", FIELD_ENUM, false, 0, 0, q_states },
	[Q_BEFORE] =	{ "before", FIELD_UUID, false, 0, 0, NULL },
	[Q_NOTE] =	{ "note", FIELD_STRING, false, 1, 3, NULL },
};
#define Q_NRULES	(sizeof(q_rules) / sizeof(q_rules[0]))

static struct field_value	 q_out[Q_NRULES];

/* Validate the query pairs name=value... (NULL-terminated). */
static bs_err
check_query(const char *first, ...)
{
	struct http_request	 req;
	va_list			 ap;
	const char		*name;

	memset(&req, 0, sizeof(req));
	va_start(ap, first);
	for (name = first; name != NULL && req.nquery < HTTP_QUERY_MAX;
	    name = va_arg(ap, const char *)) {
		req.query_params[req.nquery].name = (char *)name;
		req.query_params[req.nquery].value = va_arg(ap, char *);
		req.nquery++;
	}
	va_end(ap);
	memset(&verr, 0, sizeof(verr));
	return validate_query(&req, q_rules, Q_NRULES, q_out, &verr);
}

START_TEST(test_query_rules)
{
	ck_assert_int_eq(check_query("limit", "7", "state", "shut", "before",
	    "0b7c3d7e-8f1a-4c2b-9d3e-5f6a7b8c9d0e", "note", "abc", "_", "x",
	    NULL), BS_OK);
	ck_assert(q_out[Q_LIMIT].present);
	ck_assert_int_eq(q_out[Q_LIMIT].num, 7);
	ck_assert_str_eq(q_out[Q_STATE].str, "shut");
	ck_assert_str_eq(q_out[Q_BEFORE].str,
	    "0b7c3d7e-8f1a-4c2b-9d3e-5f6a7b8c9d0e");
	ck_assert_str_eq(q_out[Q_NOTE].str, "abc");

	/* Absent, or an empty id or text: not present. */
	ck_assert_int_eq(check_query("before", "", "note", "", NULL), BS_OK);
	ck_assert(!q_out[Q_LIMIT].present);
	ck_assert(!q_out[Q_BEFORE].present);
	ck_assert_ptr_null(q_out[Q_BEFORE].str);
	ck_assert(!q_out[Q_NOTE].present);
}
END_TEST

static void
assert_query_invalid(const char *name, const char *value, const char *says)
{
	ck_assert_int_eq(check_query(name, value, NULL), BS_ERR_INVALID);
	ck_assert_str_eq(verr.field, name);
	ck_assert_msg(strstr(verr.message, says) != NULL, "%s=%s: %s", name,
	    value, verr.message);
}

START_TEST(test_query_refusals)
{
	assert_query_invalid("limit", "0", "limit must be a whole number from 1 "
	    "to 100.");
	assert_query_invalid("limit", "101", "from 1 to 100");
	assert_query_invalid("limit", "", "from 1 to 100");
	assert_query_invalid("limit", "5 ", "from 1 to 100");
	assert_query_invalid("limit", "1e2", "from 1 to 100");
	assert_query_invalid("state", "OPEN", "state must be open or shut.");
	assert_query_invalid("state", "", "open or shut");
	assert_query_invalid("before", "nope", "before must be an id.");
	assert_query_invalid("note", "abcd", "1 to 3 characters");
}
END_TEST

START_TEST(test_query_required)
{
	static const struct field_rule need[] = {
		{ "ms", FIELD_INT, true, 0, 9, NULL },
	};
	struct http_request	 req;
	struct field_value	 v[1];

	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(validate_query(&req, need, 1, v, &verr), BS_ERR_INVALID);
	ck_assert_str_eq(verr.field, "ms");
	ck_assert_str_eq(verr.message, "ms is required.");
}
END_TEST

START_TEST(test_body_uuid)
{
	static const struct field_rule idr[] = {
		{ "id", FIELD_UUID, true, 0, 0, NULL },
	};
	struct field_value	 v[1];

	teardown();
	doc = parse("{\"id\": \"0b7c3d7e-8f1a-4c2b-9d3e-5f6a7b8c9d0e\"}");
	ck_assert_int_eq(validate_object(doc, idr, 1, v, &verr), BS_OK);
	teardown();
	doc = parse("{\"id\": \"0b7c3d7e\"}");
	ck_assert_int_eq(validate_object(doc, idr, 1, v, &verr), BS_ERR_INVALID);
	ck_assert_str_eq(verr.field, "id");
}
END_TEST

static Suite *
validate_suite(void)
{
	Suite	*s = suite_create("validate");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_valid_object_fills_values);
	tcase_add_test(tc, test_optional_fields_absent);
	tcase_add_test(tc, test_unknown_field);
	tcase_add_test(tc, test_unknown_field_long_name_truncated);
	tcase_add_test(tc, test_missing_required);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_null_values);
	tcase_add_test(tc, test_string_length_in_characters);
	tcase_add_test(tc, test_string_empty);
	tcase_add_test(tc, test_string_with_nul);
	tcase_add_test(tc, test_int_bounds);
	tcase_add_test(tc, test_enum);
	tcase_add_test(tc, test_not_an_object);
	tcase_add_test(tc, test_uuid_valid);
	tcase_add_test(tc, test_utf8_length);
	tcase_add_test(tc, test_strtonum);
	tcase_add_test(tc, test_strntonum_counts_len_bytes);
	tcase_add_test(tc, test_query_rules);
	tcase_add_test(tc, test_query_refusals);
	tcase_add_test(tc, test_query_required);
	tcase_add_test(tc, test_body_uuid);
	tcase_add_test(tc, test_person_lines_and_texts);
	tcase_add_test(tc, test_person_text_clean);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(validate_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
