/*
 * Generated documents: the line diff (exact hunks, and random texts whose
 * diff must patch the old text into the new one with the fewest changes),
 * the Markdown escaping and rendering (nothing a board item or a model
 * writes becomes HTML or a link), the export format's checks with the path
 * of the first problem, and the context a document agent reads.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/doc_diff.h"
#include "brainstorm/doc_export.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/document.h"
#include "brainstorm/json.h"

/* diff */

static char *
diff_of(const char *a, const char *b, int context, struct doc_diff_stats *st)
{
	struct buf	 out;
	char		*s;

	buf_init(&out, 1 << 24);
	ck_assert_int_eq(doc_diff_unified(a, b, "old", "new", context,
	    DOC_DIFF_MAX_LINES, &out, st), BS_OK);
	s = strdup(buf_cstr(&out));
	buf_free(&out);
	return s;
}

static void
diff_is(const char *a, const char *b, int context, const char *want)
{
	struct doc_diff_stats st;
	char		*got = diff_of(a, b, context, &st);

	ck_assert_msg(strcmp(got, want) == 0, "diff of %s|%s:\n%s\nwanted:\n%s",
	    a, b, got, want);
	free(got);
}

START_TEST(test_diff_exact)
{
	struct doc_diff_stats st;
	char		*s;

	/* Same lines: nothing at all. */
	s = diff_of("a\nb\n", "a\nb\n", 3, &st);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(st.added + st.removed + st.hunks, 0);
	free(s);
	s = diff_of("", "", 3, &st);
	ck_assert_str_eq(s, "");
	free(s);

	diff_is("a\nb\nc\n", "a\nB\nc\n", 3,
	    "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
	diff_is("a\nb\nc\n", "a\nB\nc\n", 0,
	    "--- old\n+++ new\n@@ -2 +2 @@\n-b\n+B\n");
	/* Into and out of nothing; a side of no lines names the line before. */
	diff_is("", "x\ny\n", 3, "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+x\n+y\n");
	diff_is("x\ny\n", "", 3, "--- old\n+++ new\n@@ -1,2 +0,0 @@\n-x\n-y\n");
	diff_is("a\nb\n", "a\nb\nc\n", 0,
	    "--- old\n+++ new\n@@ -2,0 +3 @@\n+c\n");
	/* A last line without a line break is a line all the same. */
	diff_is("a\nb", "a\nc", 1, "--- old\n+++ new\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
	/* Two changes far apart: two hunks; close: one. */
	diff_is("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
	    "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n", 2,
	    "--- old\n+++ new\n"
	    "@@ -1,4 +1,4 @@\n 1\n-2\n+X\n 3\n 4\n"
	    "@@ -9,4 +9,4 @@\n 9\n 10\n-11\n+Y\n 12\n");
	diff_is("1\n2\n3\n4\n5\n6\n7\n", "1\nX\n3\n4\n5\nY\n7\n", 2,
	    "--- old\n+++ new\n"
	    "@@ -1,7 +1,7 @@\n 1\n-2\n+X\n 3\n 4\n 5\n-6\n+Y\n 7\n");
	s = diff_of("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
	    "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n", 2, &st);
	ck_assert_uint_eq(st.added, 2);
	ck_assert_uint_eq(st.removed, 2);
	ck_assert_uint_eq(st.hunks, 2);
	free(s);
	/* The shortest script keeps the common line in the middle. */
	diff_is("a\nb\nc\n", "b\nc\nd\n", 0,
	    "--- old\n+++ new\n@@ -1 +0,0 @@\n-a\n@@ -3,0 +3 @@\n+d\n");
}
END_TEST

START_TEST(test_diff_cap)
{
	struct doc_diff_stats st;
	struct buf	 out, big;
	size_t		 i;

	buf_init(&big, 1 << 20);
	for (i = 0; i < 11; i++)
		ck_assert_int_eq(buf_puts(&big, "line\n"), BS_OK);
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(doc_diff_unified(big.data, "x\n", "a", "b", 3, 10,
	    &out, &st), BS_ERR_TOO_LARGE);
	ck_assert_int_eq(doc_diff_unified("x\n", big.data, "a", "b", 3, 10,
	    &out, &st), BS_ERR_TOO_LARGE);
	ck_assert_int_eq(doc_diff_unified(big.data, "x\n", "a", "b", 3, 11,
	    &out, &st), BS_OK);
	/* Past the output's cap: an error, never a cut diff. */
	out.max = 8;
	buf_reset(&out);
	ck_assert_int_eq(doc_diff_unified("a\n", "b\n", "a", "b", 3, 10,
	    &out, &st), BS_ERR_TOO_LARGE);
	buf_free(&out);
	buf_free(&big);
}
END_TEST

/* Split text into lines (the diff's rule). */
static size_t
split(const char *text, char ***out)
{
	char	**v = NULL, *copy = strdup(text), *p, *nl;
	size_t	  n = 0;

	for (p = copy; *p != '\0'; p = nl + 1) {
		v = realloc(v, (n + 1) * sizeof(*v));
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		v[n++] = strdup(p);
		if (nl == NULL)
			break;
	}
	free(copy);
	*out = v;
	return n;
}

static void
lines_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Apply a unified diff to old; the result must be new. */
static void
patch_check(const char *old, const char *new, const char *diff)
{
	char	**a, **b, **d, **r = NULL;
	size_t	  na = split(old, &a), nb = split(new, &b), nd, i, k, ai = 0;
	size_t	  nr = 0;
	unsigned long s1, c1, s2, c2;

	nd = split(diff, &d);
	for (i = 2; i < nd; ) {
		c1 = c2 = 1;
		ck_assert_msg(sscanf(d[i], "@@ -%lu,%lu +%lu,%lu @@", &s1, &c1,
		    &s2, &c2) == 4 || sscanf(d[i], "@@ -%lu +%lu,%lu @@", &s1,
		    &s2, &c2) == 3 || sscanf(d[i], "@@ -%lu,%lu +%lu @@", &s1,
		    &c1, &s2) == 3 || sscanf(d[i], "@@ -%lu +%lu @@", &s1,
		    &s2) == 2, "hunk header %s", d[i]);
		k = c1 == 0 ? s1 : s1 - 1;
		ck_assert_uint_ge(k, ai);
		while (ai < k) {
			r = realloc(r, (nr + 1) * sizeof(*r));
			r[nr++] = a[ai++];
		}
		for (i++; i < nd && d[i][0] != '@'; i++) {
			if (d[i][0] == '+') {
				r = realloc(r, (nr + 1) * sizeof(*r));
				r[nr++] = d[i] + 1;
				continue;
			}
			ck_assert_uint_lt(ai, na);
			ck_assert_str_eq(d[i] + 1, a[ai]);
			if (d[i][0] == ' ') {
				r = realloc(r, (nr + 1) * sizeof(*r));
				r[nr++] = a[ai];
			} else
				ck_assert_int_eq(d[i][0], '-');
			ai++;
		}
	}
	while (ai < na) {
		r = realloc(r, (nr + 1) * sizeof(*r));
		r[nr++] = a[ai++];
	}
	ck_assert_uint_eq(nr, nb);
	for (i = 0; i < nb; i++)
		ck_assert_str_eq(r[i], b[i]);
	free(r);
	lines_free(a, na);
	lines_free(b, nb);
	lines_free(d, nd);
}

/* The length of the longest common subsequence of lines (small texts). */
static size_t
lcs(const char *x, const char *y)
{
	char	**a, **b;
	size_t	  na = split(x, &a), nb = split(y, &b), i, j, *t, r;

	t = calloc((na + 1) * (nb + 1), sizeof(*t));
	for (i = 1; i <= na; i++)
		for (j = 1; j <= nb; j++)
			t[i * (nb + 1) + j] = strcmp(a[i - 1], b[j - 1]) == 0 ?
			    t[(i - 1) * (nb + 1) + j - 1] + 1 :
			    t[(i - 1) * (nb + 1) + j] > t[i * (nb + 1) + j - 1] ?
			    t[(i - 1) * (nb + 1) + j] : t[i * (nb + 1) + j - 1];
	r = t[na * (nb + 1) + nb];
	free(t);
	lines_free(a, na);
	lines_free(b, nb);
	return r;
}

static char *
random_text(unsigned *seed, size_t maxlines, int alphabet)
{
	size_t	 n = (size_t)rand_r(seed) % (maxlines + 1), i;
	char	*s = calloc(n * 3 + 1, 1);

	for (i = 0; i < n; i++) {
		s[i * 2] = (char)('a' + rand_r(seed) % alphabet);
		s[i * 2 + 1] = '\n';
	}
	return s;
}

/* Random texts: the diff patches old into new, with the fewest lines changed. */
START_TEST(test_diff_random)
{
	struct doc_diff_stats st;
	unsigned	 seed = 20261204;
	char		*a, *b, *d, **la, **lb;
	size_t		 round, na, nb, common;

	for (round = 0; round < 400; round++) {
		a = random_text(&seed, 30, round % 2 ? 3 : 8);
		b = random_text(&seed, 30, round % 2 ? 3 : 8);
		d = diff_of(a, b, (int)(round % 4), &st);
		patch_check(a, b, d);
		na = split(a, &la);
		nb = split(b, &lb);
		common = lcs(a, b);
		ck_assert_uint_eq(st.removed, na - common);
		ck_assert_uint_eq(st.added, nb - common);
		lines_free(la, na);
		lines_free(lb, nb);
		free(a);
		free(b);
		free(d);
	}
}
END_TEST

/* Texts too different for the search: still a diff that patches. */
START_TEST(test_diff_fallback)
{
	struct doc_diff_stats st;
	struct buf	 a, b;
	char		*d;
	size_t		 i;

	buf_init(&a, 1 << 22);
	buf_init(&b, 1 << 22);
	for (i = 0; i < 3000; i++) {
		buf_printf(&a, "old %zu\n", i);
		buf_printf(&b, "new %zu\n", i);
	}
	d = diff_of(a.data, b.data, 3, &st);
	ck_assert_uint_eq(st.removed, 3000);
	ck_assert_uint_eq(st.added, 3000);
	patch_check(a.data, b.data, d);
	free(d);
	buf_free(&a);
	buf_free(&b);
}
END_TEST

/* Markdown escaping */

static char *
escaped(const char *s, unsigned flags)
{
	struct buf	 out;
	char		*r;

	buf_init(&out, 1 << 16);
	ck_assert_int_eq(doc_md_escape(&out, s, flags), BS_OK);
	r = strdup(buf_cstr(&out));
	buf_free(&out);
	return r;
}

START_TEST(test_md_escape)
{
	static const struct {
		const char	*in;
		unsigned	 flags;
		const char	*out;
	} rows[] = {
		{ "plain words", 0, "plain words" },
		{ "<script>alert(1)</script>", 0,
		  "&lt;script&gt;alert(1)&lt;/script&gt;" },
		{ "<img src=x onerror=alert(1)>", 0,
		  "&lt;img src=x onerror=alert(1)&gt;" },
		{ "[click](javascript:alert(1))", 0,
		  "\\[click\\](javascript:alert(1))" },
		{ "![img](http://x/y.png)", 0, "!\\[img\\](http://x/y.png)" },
		{ "Tom & Jerry &amp; co", 0, "Tom &amp; Jerry &amp;amp; co" },
		{ "a\\b `code` *em* _u_ #tag | ~x~", 0,
		  "a\\\\b \\`code\\` \\*em\\* \\_u\\_ \\#tag \\| \\~x\\~" },
		{ "  two\nlines\r\n\tand tab  ", 0, "two lines and tab" },
		{ "bell\x07 and del\x7f gone", 0, "bell and del gone" },
		{ "- not a list", DOC_MD_LINE_START, "\\- not a list" },
		{ "- in a line", 0, "- in a line" },
		{ "+ plus", DOC_MD_LINE_START, "\\+ plus" },
		{ "=== underline", DOC_MD_LINE_START, "\\=== underline" },
		{ "12. ordered", DOC_MD_LINE_START, "12\\. ordered" },
		{ "3) ordered", DOC_MD_LINE_START, "3\\) ordered" },
		{ "2026 is a year", DOC_MD_LINE_START, "2026 is a year" },
		{ "# heading", DOC_MD_LINE_START, "\\# heading" },
		{ "> quote", DOC_MD_LINE_START, "&gt; quote" },
		{ "caf\xc3\xa9 \xe2\x80\x9cok\xe2\x80\x9d", 0,
		  "caf\xc3\xa9 \xe2\x80\x9cok\xe2\x80\x9d" },
		{ "", 0, "" },
		{ "   ", DOC_MD_LINE_START, "" },
	};
	char	*got;
	size_t	 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		got = escaped(rows[i].in, rows[i].flags);
		ck_assert_msg(strcmp(got, rows[i].out) == 0, "row %zu: %s", i,
		    got);
		ck_assert_msg(doc_markdown_safe(got, strlen(got)), "row %zu "
		    "unsafe", i);
		free(got);
	}
	got = escaped(NULL, 0);
	ck_assert_str_eq(got, "");
	free(got);
}
END_TEST

START_TEST(test_markdown_safe)
{
	static const char *const safe[] = {
		"# Title\n\n- a statement[^0a1b2c3d]\n\n## Sources\n\n"
		"[^0a1b2c3d]: text (decided, confidence 90).\n",
		"  [^x]: indented footnote\n",
		"escaped \\[x\\](y) and \\*\n",
		"", "plain",
	};
	static const char *const unsafe[] = {
		"<b>bold</b>", "a > b", "[x](http://x)", "![i](http://x)",
		"[ref]: http://x\n", "text\n[ref]: javascript:x",
		"   [ref]: http://x", "tab\there", "nul-free but \x01",
		"\xff\xfe", "escaped backslash \\\\](x)",
		"even escaped \\<b>",
	};
	size_t	 i;

	for (i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
		ck_assert_msg(doc_markdown_safe(safe[i], strlen(safe[i])),
		    "safe %zu", i);
	for (i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		ck_assert_msg(!doc_markdown_safe(unsafe[i], strlen(unsafe[i])),
		    "unsafe %zu", i);
	ck_assert(!doc_markdown_safe(NULL, 0));
}
END_TEST

/* Rendering */

static json_object *
parse(const char *text)
{
	json_object	*o = json_tokener_parse(text);

	ck_assert_msg(o != NULL, "bad JSON in the test: %s", text);
	return o;
}

static const char board_json[] =
	"[{\"id\":\"aaaaaaaa-0000-4000-8000-000000000001\",\"text\":\"Web app "
	"first\",\"state\":\"decided\",\"confidence\":90,\"user_quote\":\"we "
	"go web first\"},"
	"{\"id\":\"bbbbbbbb-0000-4000-8000-000000000002\",\"text\":\"Flat fee "
	"<b>15</b> [euros](http://x)\",\"state\":\"exploring\",\"confidence\":"
	"70,\"user_quote\":\"\"},"
	"{\"id\":\"cccccccc-0000-4000-8000-000000000003\",\"text\":\"Mobile "
	"app\",\"state\":\"parked\",\"confidence\":80,\"user_quote\":\"later "
	"for mobile\"}]";

static char *
rendered(const char *kind, const char *answer, const char *board,
    size_t *dropped)
{
	json_object	*a = parse(answer), *b = parse(board);
	struct buf	 out;
	char		*r;

	buf_init(&out, 1 << 20);
	ck_assert_int_eq(doc_render(doc_kind_find(kind), a, b, &out, dropped),
	    BS_OK);
	r = strdup(buf_cstr(&out));
	ck_assert_msg(doc_markdown_safe(r, strlen(r)), "unsafe:\n%s", r);
	buf_free(&out);
	json_object_put(a);
	json_object_put(b);
	return r;
}

START_TEST(test_render_citations)
{
	size_t	 dropped;
	char	*md;

	md = rendered("decision_log",
	    "{\"title\":\"Decision log: Invoices\",\"sections\":["
	    "{\"heading\":\"Decisions\",\"statements\":["
	    "{\"text\":\"The web app comes first.\",\"item_ids\":[\"i1\",\"i1\"]},"
	    "{\"text\":\"Pricing is open.\",\"item_ids\":"
	    "[\"bbbbbbbb-0000-4000-8000-000000000002\",\"i9\",\"x\"]},"
	    "{\"text\":\"Nothing about support yet.\",\"item_ids\":[]}]},"
	    "{\"heading\":\"Pending\",\"statements\":["
	    "{\"text\":\"Mobile waits.\",\"item_ids\":[\"[i3]\",\"i2\"]}]}]}",
	    board_json, &dropped);
	ck_assert_uint_eq(dropped, 2);
	ck_assert_str_eq(md,
	    "# Decision log: Invoices\n\n"
	    "## Decisions\n\n"
	    "- The web app comes first.[^aaaaaaaa]\n"
	    "- Pricing is open.[^bbbbbbbb]\n"
	    "- Nothing about support yet.\n\n"
	    "## Pending\n\n"
	    "- Mobile waits.[^cccccccc][^bbbbbbbb]\n\n"
	    "## Sources\n\n"
	    "[^aaaaaaaa]: Web app first (decided, confidence 90). The person's "
	    "words: \xe2\x80\x9cwe go web first\xe2\x80\x9d\n"
	    "[^bbbbbbbb]: Flat fee &lt;b&gt;15&lt;/b&gt; \\[euros\\](http://x) "
	    "(exploring, confidence 70).\n"
	    "[^cccccccc]: Mobile app (parked, confidence 80). The person's "
	    "words: \xe2\x80\x9clater for mobile\xe2\x80\x9d\n");
	free(md);
}
END_TEST

START_TEST(test_render_styles)
{
	static const char answer[] =
	    "{\"title\":\"  \",\"sections\":[{\"heading\":\"Now\","
	    "\"statements\":[{\"text\":\"- Call five designers\",\"item_ids\":"
	    "[]},{\"text\":\"1. Build the page\",\"item_ids\":[\"i1\"]}]},"
	    "{\"heading\":\"Later\",\"statements\":[]}]}";
	size_t	 dropped;
	char	*md;

	md = rendered("next_steps", answer, board_json, &dropped);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_str_eq(md, "# Next steps\n\n## Now\n\n"
	    "1. - Call five designers\n2. 1. Build the page[^aaaaaaaa]\n\n"
	    "## Later\n\nNone.\n\n## Sources\n\n"
	    "[^aaaaaaaa]: Web app first (decided, confidence 90). The person's "
	    "words: \xe2\x80\x9cwe go web first\xe2\x80\x9d\n");
	free(md);
	/* A paragraph: each statement starts a line, so no list can start. */
	md = rendered("brief", answer, "[]", &dropped);
	ck_assert_uint_eq(dropped, 1);
	ck_assert_str_eq(md, "# Project brief\n\n## Now\n\n"
	    "\\- Call five designers\n1\\. Build the page\n\n"
	    "## Later\n\nNone.\n");
	free(md);
	md = rendered("risks", answer, "[]", &dropped);
	ck_assert_ptr_nonnull(strstr(md, "# Risks\n"));
	ck_assert_ptr_nonnull(strstr(md, "\n- - Call five designers\n"));
	free(md);
}
END_TEST

/* What a board item or the model writes never becomes markup. */
START_TEST(test_render_hostile)
{
	static const char board[] =
	    "[{\"id\":\"dddddddd-0000-4000-8000-000000000004\",\"text\":"
	    "\"<script>alert(1)</script>\\n[^x]: forged\",\"state\":\"decided\","
	    "\"confidence\":1,\"user_quote\":\"<iframe src=evil>\"}]";
	size_t	 dropped;
	char	*md;

	md = rendered("open_questions",
	    "{\"title\":\"<h1>x</h1>\",\"sections\":[{\"heading\":"
	    "\"[a](javascript:alert(1))\",\"statements\":[{\"text\":"
	    "\"line\\n[ref]: javascript:alert(1)\\n<a href=x>y</a>\","
	    "\"item_ids\":[\"i1\"]}]}]}", board, &dropped);
	ck_assert_ptr_null(strchr(md, '<'));
	ck_assert_ptr_null(strchr(md, '>'));
	ck_assert_ptr_null(strstr(md, "\n[ref]"));
	ck_assert_ptr_nonnull(strstr(md, "&lt;script&gt;"));
	ck_assert_ptr_nonnull(strstr(md, "\\[^x\\]: forged"));
	free(md);
}
END_TEST

/* Two cited items with the same 8-character prefix: labels are whole ids. */
START_TEST(test_render_label_collision)
{
	static const char board[] =
	    "[{\"id\":\"eeeeeeee-0000-4000-8000-000000000001\",\"text\":\"A\","
	    "\"state\":\"decided\",\"confidence\":1,\"user_quote\":\"\"},"
	    "{\"id\":\"eeeeeeee-1111-4000-8000-000000000002\",\"text\":\"B\","
	    "\"state\":\"decided\",\"confidence\":1,\"user_quote\":\"\"}]";
	size_t	 dropped;
	char	*md;

	md = rendered("risks", "{\"title\":\"T\",\"sections\":[{\"heading\":"
	    "\"H\",\"statements\":[{\"text\":\"x\",\"item_ids\":[\"i1\","
	    "\"i2\"]}]}]}", board, &dropped);
	ck_assert_ptr_nonnull(strstr(md,
	    "[^eeeeeeee-0000-4000-8000-000000000001]"
	    "[^eeeeeeee-1111-4000-8000-000000000002]"));
	free(md);
}
END_TEST

/* The export format */

static const char export_ok[] =
	"{\"format\":\"brainstorm.project\",\"format_version\":1,"
	"\"exported_at\":\"2026-12-04T10:00:00.000Z\","
	"\"project\":{\"id\":\"10000000-0000-4000-8000-000000000000\","
	"\"title\":\"Invoices <b>\",\"description\":\"For designers\\n- who "
	"invoice\",\"status\":\"active\",\"created_at\":"
	"\"2026-12-01T09:00:00.000Z\",\"updated_at\":\"2026-12-01T09:00:00Z\"},"
	"\"items\":[{\"id\":\"20000000-0000-4000-8000-000000000001\",\"text\":"
	"\"Web app first\",\"state\":\"decided\",\"confidence\":90,"
	"\"user_quote\":\"we go web\",\"source_message_id\":"
	"\"30000000-0000-4000-8000-000000000001\",\"created_by\":\"recorder\","
	"\"position\":0,\"created_at\":\"2026-12-01T09:00:01.000Z\","
	"\"updated_at\":\"2026-12-01T09:00:01.000Z\",\"events\":[{\"id\":7,"
	"\"action\":\"created\",\"from_state\":null,\"to_state\":\"exploring\","
	"\"old_text\":null,\"new_text\":\"Web app first\",\"actor\":\"recorder\","
	"\"reason\":\"\",\"turn_id\":\"40000000-0000-4000-8000-000000000001\","
	"\"message_id\":\"30000000-0000-4000-8000-000000000001\",\"created_at\":"
	"\"2026-12-01T09:00:01.000Z\"},{\"id\":9,\"action\":\"moved\","
	"\"from_state\":\"exploring\",\"to_state\":\"decided\",\"old_text\":null,"
	"\"new_text\":null,\"actor\":\"user\",\"reason\":\"sure now\","
	"\"turn_id\":null,\"message_id\":null,\"created_at\":"
	"\"2026-12-02T09:00:00.000+01:00\"}]}],"
	"\"deleted_items\":[{\"id\":\"20000000-0000-4000-8000-000000000002\","
	"\"events\":[{\"id\":8,\"action\":\"deleted\",\"from_state\":\"parked\","
	"\"to_state\":null,\"old_text\":\"Old idea\",\"new_text\":null,"
	"\"actor\":\"user\",\"reason\":\"\",\"turn_id\":null,\"message_id\":null,"
	"\"created_at\":\"2026-12-01T10:00:00.000Z\"}]}],"
	"\"messages\":[{\"id\":\"30000000-0000-4000-8000-000000000001\","
	"\"role\":\"user\",\"agent\":null,\"content\":\"we go web\\n# first\","
	"\"turn_id\":\"40000000-0000-4000-8000-000000000001\",\"created_at\":"
	"\"2026-12-01T09:00:00.500Z\"},{\"id\":"
	"\"30000000-0000-4000-8000-000000000002\",\"role\":\"assistant\","
	"\"agent\":\"conversation\",\"content\":\"Good <i>choice</i>.\","
	"\"turn_id\":\"40000000-0000-4000-8000-000000000001\",\"created_at\":"
	"\"2026-12-01T09:00:01.000Z\"}],"
	"\"turns\":[{\"id\":\"40000000-0000-4000-8000-000000000001\","
	"\"user_message_id\":\"30000000-0000-4000-8000-000000000001\","
	"\"intent\":\"deciding\",\"confidence\":90,\"status\":\"done\","
	"\"error\":null,\"started_at\":\"2026-12-01T09:00:00.500Z\","
	"\"finished_at\":\"2026-12-01T09:00:02.000Z\"}],"
	"\"documents\":[{\"kind\":\"brief\",\"versions\":[{\"version\":1,"
	"\"title\":\"Brief\",\"markdown\":\"# Brief\\n\\n## Decisions\\n\\n"
	"Web first.[^20000000]\\n\\n## Sources\\n\\n[^20000000]: Web app first "
	"(decided, confidence 90).\\n\",\"item_event_id\":9,\"message_id\":"
	"\"30000000-0000-4000-8000-000000000002\",\"model\":"
	"\"claude-sonnet-5-5\",\"input_tokens\":10,\"output_tokens\":20,"
	"\"created_at\":\"2026-12-02T10:00:00.000Z\"}]}]}";

static json_object *
export_doc(void)
{
	return parse(export_ok);
}

/* Set doc's member at a path of keys and indexes ("items.0.state") to v. */
static void
doc_set(json_object *doc, const char *path, json_object *v)
{
	char		*copy = strdup(path), *part, *save = NULL, *next;
	json_object	*o = doc;

	for (part = strtok_r(copy, ".", &save); part != NULL; part = next) {
		next = strtok_r(NULL, ".", &save);
		if (next == NULL) {
			if (json_object_is_type(o, json_type_array))
				json_object_array_put_idx(o, (size_t)atoi(part), v);
			else if (v == (json_object *)-1)
				json_object_object_del(o, part);
			else
				json_object_object_add(o, part, v);
			break;
		}
		o = json_object_is_type(o, json_type_array) ?
		    json_object_array_get_idx(o, (size_t)atoi(part)) :
		    json_object_object_get(o, part);
		ck_assert_msg(o != NULL, "no %s in %s", part, path);
	}
	free(copy);
}

#define DELETE	((json_object *)-1)

static const char *
doc_string(json_object *doc, const char *a, const char *b, int i,
    const char *c)
{
	json_object	*o = json_object_object_get(doc, a);

	if (b != NULL)
		o = json_object_object_get(o, b);
	if (i >= 0)
		o = json_object_array_get_idx(o, (size_t)i);
	if (c != NULL)
		o = json_object_object_get(o, c);
	return json_object_get_string(o);
}

/*
 * Text written before the API's rules follows them once checked: a title
 * one line without direction overrides, texts without control characters
 * other than tabs and line breaks.
 */
START_TEST(test_export_check_cleans_person_text)
{
	json_object	*doc = export_doc();
	char		 path[EXPORT_PATH_MAX], why[256];

	doc_set(doc, "project.title", parse("\"Bob\\u202eetihw\\nplan\""));
	doc_set(doc, "project.description", parse("\"a\\u0007b\\nc\""));
	doc_set(doc, "items.0.text", parse("\"x\\u001b[1my\\tz\""));
	doc_set(doc, "items.0.user_quote", parse("\"q\\u0085r\""));
	doc_set(doc, "messages.0.content", parse("\"m\\u000cn\\r\\n\""));
	ck_assert_msg(export_check(doc, path, sizeof(path), why,
	    sizeof(why)) == BS_OK, "%s: %s", path, why);
	ck_assert_str_eq(doc_string(doc, "project", "title", -1, NULL),
	    "Bobetihw plan");
	ck_assert_str_eq(doc_string(doc, "project", "description", -1, NULL),
	    "ab\nc");
	ck_assert_str_eq(doc_string(doc, "items", NULL, 0, "text"),
	    "x[1my\tz");
	ck_assert_str_eq(doc_string(doc, "items", NULL, 0, "user_quote"), "qr");
	ck_assert_str_eq(doc_string(doc, "messages", NULL, 0, "content"),
	    "mn\r\n");
	json_object_put(doc);
}
END_TEST

START_TEST(test_export_check)
{
	static const struct {
		const char	*set;		/* where to change */
		const char	*value;		/* JSON, or NULL to delete */
		const char	*path;		/* the problem reported */
	} rows[] = {
		{ "format_version", "2", "format_version" },
		{ "format_version", NULL, "format_version" },
		{ "format", "\"other\"", "format" },
		{ "colour", "\"red\"", "colour" },
		{ "project", NULL, "project" },
		{ "project.title", "\"\"", "project.title" },
		{ "project.status", "\"gone\"", "project.status" },
		{ "project.created_at", "\"2026-02-30T00:00:00Z\"",
		  "project.created_at" },
		{ "project.created_at", "\"yesterday\"", "project.created_at" },
		{ "items", "{}", "items" },
		{ "items.0.state", "\"done\"", "items[0].state" },
		{ "items.0.confidence", "101", "items[0].confidence" },
		{ "items.0.confidence", "9.5", "items[0].confidence" },
		{ "items.0.text", "null", "items[0].text" },
		{ "items.0.id", "\"not-a-uuid\"", "items[0].id" },
		{ "items.0.extra", "1", "items[0].extra" },
		{ "items.0.events.1.action", "\"erased\"",
		  "items[0].events[1].action" },
		{ "items.0.events.1.id", "7", "items[0].events[1].id" },
		{ "items.0.source_message_id",
		  "\"30000000-0000-4000-8000-00000000dead\"",
		  "items[0].source_message_id" },
		{ "items.0.events.0.turn_id",
		  "\"40000000-0000-4000-8000-00000000dead\"",
		  "items[0].events[0].turn_id" },
		{ "deleted_items.0.id",
		  "\"20000000-0000-4000-8000-000000000001\"",
		  "deleted_items[0].id" },
		{ "messages.1.id", "\"30000000-0000-4000-8000-000000000001\"",
		  "messages[1].id" },
		{ "messages.0.role", "\"robot\"", "messages[0].role" },
		{ "messages.1.turn_id", "\"40000000-0000-4000-8000-00000000dead\"",
		  "messages[1].turn_id" },
		{ "turns.0.user_message_id",
		  "\"30000000-0000-4000-8000-00000000dead\"",
		  "turns[0].user_message_id" },
		{ "turns.0.intent", "\"dreaming\"", "turns[0].intent" },
		{ "documents.0.kind", "\"poem\"", "documents[0].kind" },
		{ "documents.0.versions", "[]", "documents[0].versions" },
		{ "documents.0.versions.0.markdown", "\"<script>x</script>\"",
		  "documents[0].versions[0].markdown" },
		{ "documents.0.versions.0.markdown", "\"[a](javascript:x)\"",
		  "documents[0].versions[0].markdown" },
		{ "documents.0.versions.0.item_event_id", "99",
		  "documents[0].versions[0].item_event_id" },
		{ "documents.0.versions.0.title", "\"\"",
		  "documents[0].versions[0].title" },
		{ "project.title", "\"\\u202e\\t\"", "project.title" },
		{ "documents.0.versions.0.title", "\"\\n\"",
		  "documents[0].versions[0].title" },
	};
	json_object	*doc;
	char		 path[EXPORT_PATH_MAX], why[256];
	size_t		 i;

	doc = export_doc();
	ck_assert_msg(export_check(doc, path, sizeof(path), why,
	    sizeof(why)) == BS_OK, "%s: %s", path, why);
	ck_assert_str_eq(path, "");
	json_object_put(doc);
	/* The least a file needs. */
	doc = parse("{\"format\":\"brainstorm.project\",\"format_version\":1,"
	    "\"project\":{\"title\":\"T\"}}");
	ck_assert_int_eq(export_check(doc, path, sizeof(path), why,
	    sizeof(why)), BS_OK);
	json_object_put(doc);

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		doc = export_doc();
		doc_set(doc, rows[i].set, rows[i].value == NULL ? DELETE :
		    strcmp(rows[i].value, "null") == 0 ? NULL :
		    parse(rows[i].value));
		ck_assert_msg(export_check(doc, path, sizeof(path), why,
		    sizeof(why)) == BS_ERR_INVALID, "row %zu accepted", i);
		ck_assert_msg(strcmp(path, rows[i].path) == 0,
		    "row %zu: path %s (%s)", i, path, why);
		ck_assert_msg(why[0] != '\0', "row %zu: no reason", i);
		json_object_put(doc);
	}
	/* A second document of one kind. */
	doc = export_doc();
	json_object_array_add(json_object_object_get(doc, "documents"),
	    json_object_get(json_object_array_get_idx(json_object_object_get(
	    doc, "documents"), 0)));
	ck_assert_int_eq(export_check(doc, path, sizeof(path), why,
	    sizeof(why)), BS_ERR_INVALID);
	ck_assert_str_eq(path, "documents[1].kind");
	json_object_put(doc);
	doc = parse("[]");
	ck_assert_int_eq(export_check(doc, path, sizeof(path), why,
	    sizeof(why)), BS_ERR_INVALID);
	json_object_put(doc);
}
END_TEST

START_TEST(test_export_time)
{
	static const char *const good[] = { "2026-12-04T10:00:00Z",
	    "2026-12-04T10:00:00.123Z", "2024-02-29T23:59:59.999999Z",
	    "2026-12-04T10:00:00+01:00", "2026-12-04t10:00:00z" };
	static const char *const bad[] = { "", "2026-12-04", "2026-12-04 10:00:00Z",
	    "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
	    "2026-12-04T24:00:00Z", "2026-12-04T10:00:00", "2026-12-04T10:00:00.Z",
	    "2026-12-04T10:00:00Zjunk", "2026-12-04T10:00:00+1:00" };
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(export_time_valid(good[i]), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!export_time_valid(bad[i]), "%s", bad[i]);
	ck_assert(!export_time_valid(NULL));
}
END_TEST

START_TEST(test_export_markdown)
{
	json_object	*doc = export_doc();
	struct buf	 out;
	const char	*md;

	buf_init(&out, 1 << 20);
	ck_assert_int_eq(export_markdown(doc, &out), BS_OK);
	md = buf_cstr(&out);
	ck_assert_msg(doc_markdown_safe(md, out.len), "unsafe:\n%s", md);
	ck_assert_ptr_nonnull(strstr(md, "# Invoices &lt;b&gt;\n\n"));
	ck_assert_ptr_nonnull(strstr(md, "For designers\n\\- who invoice\n"));
	ck_assert_ptr_nonnull(strstr(md, "## Board\n\n### Decided\n\n"
	    "- **Web app first** (confidence 90, added by recorder)\n"
	    "  - The person's words: \xe2\x80\x9cwe go web\xe2\x80\x9d\n"
	    "  - History:\n"
	    "    - 2026-12-01 09:00 UTC: created in exploring by recorder\n"
	    "    - 2026-12-02 09:00: moved from exploring to decided by user: "
	    "sure now\n"));
	ck_assert_ptr_nonnull(strstr(md, "### Exploring\n\nNone.\n"));
	ck_assert_ptr_nonnull(strstr(md, "### Removed from the board\n\n"
	    "- **Old idea**\n"));
	ck_assert_ptr_nonnull(strstr(md, "## Conversation\n\n**Person**, "
	    "2026-12-01 09:00 UTC\n\nwe go web\n\\# first\n"));
	ck_assert_ptr_nonnull(strstr(md, "**Assistant (conversation)**"));
	ck_assert_ptr_nonnull(strstr(md, "Good &lt;i&gt;choice&lt;/i&gt;."));
	/* The documents' headings go under the export's, footnotes apart. */
	ck_assert_ptr_nonnull(strstr(md, "## Documents\n\n### Project brief, "
	    "version 1 (2026-12-02 10:00 UTC, claude-sonnet-5-5)\n\n"
	    "#### Brief\n\n##### Decisions\n\nWeb first.[^brief-20000000]\n"));
	ck_assert_ptr_nonnull(strstr(md, "\n[^brief-20000000]: Web app first"));
	buf_free(&out);
	json_object_put(doc);
}
END_TEST

/* The context: layout, short ids, history, and the budget. */
START_TEST(test_document_context)
{
	json_object	*source, *board, *history, *messages, *shown;
	struct buf	 big;
	char		*ctx;
	size_t		 i;

	source = parse("{\"title\":\"Invoices\",\"description\":\"\"}");
	board = parse(board_json);
	history = parse("[{\"item_id\":\"aaaaaaaa-0000-4000-8000-000000000001\","
	    "\"action\":\"moved\",\"from_state\":\"exploring\",\"to_state\":"
	    "\"decided\",\"actor\":\"user\",\"reason\":\"sure\",\"created_at\":"
	    "\"2026-12-02T09:00:00.000Z\"},{\"item_id\":"
	    "\"aaaaaaaa-0000-4000-8000-000000000001\",\"action\":\"created\","
	    "\"to_state\":\"exploring\",\"actor\":\"recorder\",\"reason\":\"\","
	    "\"created_at\":\"2026-12-01T09:00:00.000Z\"}]");
	messages = parse("[{\"role\":\"user\",\"content\":\"first\"},"
	    "{\"role\":\"assistant\",\"content\":\"second\\nline\"}]");
	ck_assert_int_eq(document_context_build(doc_kind_find("brief"), source,
	    board, history, messages, 100000, &ctx, &shown), BS_OK);
	ck_assert_str_eq(ctx, "<project>\nTitle: Invoices\nDescription: (none)\n"
	    "</project>\n<board>\ndecided:\n"
	    "[i1] Web app first (confidence 90)\n"
	    "  quote: \"we go web first\"\n"
	    "  history: 2026-12-01 created in exploring by recorder; "
	    "2026-12-02 moved exploring -> decided by user: sure\n"
	    "exploring:\n"
	    "[i2] Flat fee <b>15</b> [euros](http://x) (confidence 70)\n"
	    "parked:\n"
	    "[i3] Mobile app (confidence 80)\n  quote: \"later for mobile\"\n"
	    "rejected:\n(none)\n</board>\n<conversation>\n"
	    "person: first\nassistant: second line\n</conversation>\n"
	    "<message>\nWrite the Project brief of this project.\n</message>\n");
	ck_assert_uint_eq(json_object_array_length(shown), 3);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(shown, 2), "text")), "Mobile app");
	free(ctx);
	json_object_put(shown);
	json_object_put(board);

	/* A board larger than half the budget is cut; the newest talk stays. */
	buf_init(&big, 1 << 22);
	buf_puts(&big, "[");
	for (i = 0; i < 500; i++)
		buf_printf(&big, "%s{\"id\":\"%08zx-0000-4000-8000-000000000000\","
		    "\"text\":\"item number %zu with some words\",\"state\":"
		    "\"exploring\",\"confidence\":50,\"user_quote\":\"\"}",
		    i > 0 ? "," : "", i, i);
	buf_puts(&big, "]");
	board = parse(big.data);
	ck_assert_int_eq(document_context_build(doc_kind_find("risks"), source,
	    board, NULL, messages, 4000, &ctx, &shown), BS_OK);
	ck_assert_ptr_nonnull(strstr(ctx, "(more items left out)"));
	ck_assert_uint_lt(json_object_array_length(shown), 500);
	ck_assert_uint_gt(json_object_array_length(shown), 10);
	ck_assert_ptr_nonnull(strstr(ctx, "Write the Risks of this project."));
	ck_assert_uint_lt(strlen(ctx), 4000);
	free(ctx);
	json_object_put(shown);
	buf_free(&big);
	json_object_put(board);
	json_object_put(source);
	json_object_put(history);
	json_object_put(messages);
}
END_TEST

static Suite *
documents_suite(void)
{
	Suite	*s = suite_create("documents");
	TCase	*tc;

	tc = tcase_create("diff");
	tcase_add_test(tc, test_diff_exact);
	tcase_add_test(tc, test_diff_cap);
	tcase_add_test(tc, test_diff_random);
	tcase_add_test(tc, test_diff_fallback);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("markdown");
	tcase_add_test(tc, test_md_escape);
	tcase_add_test(tc, test_markdown_safe);
	tcase_add_test(tc, test_render_citations);
	tcase_add_test(tc, test_render_styles);
	tcase_add_test(tc, test_render_hostile);
	tcase_add_test(tc, test_render_label_collision);
	suite_add_tcase(s, tc);
	tc = tcase_create("export");
	tcase_add_test(tc, test_export_check);
	tcase_add_test(tc, test_export_check_cleans_person_text);
	tcase_add_test(tc, test_export_time);
	tcase_add_test(tc, test_export_markdown);
	suite_add_tcase(s, tc);
	tc = tcase_create("context");
	tcase_add_test(tc, test_document_context);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(documents_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
