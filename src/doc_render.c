/*
 * Generated documents as Markdown: the kinds, the rendering of a document
 * agent's answer with its citations, and the escaping of user text.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brainstorm/doc_render.h"
#include "brainstorm/json.h"
#include "brainstorm/validate.h"

#define CITES_MAX	512	/* distinct items one document cites, at most */

/* In the order of the API's lists and of the export. */
const struct doc_kind doc_kinds[] = {
	{ "brief",		"Project brief",	DOC_STYLE_PARAGRAPHS },
	{ "decision_log",	"Decision log",		DOC_STYLE_BULLETS },
	{ "next_steps",		"Next steps",		DOC_STYLE_NUMBERED },
	{ "open_questions",	"Open questions",	DOC_STYLE_BULLETS },
	{ "risks",		"Risks",		DOC_STYLE_BULLETS },
};
const size_t doc_kind_count = sizeof(doc_kinds) / sizeof(doc_kinds[0]);
const char *const doc_kind_names[] = { "brief", "decision_log", "next_steps",
    "open_questions", "risks", NULL };

const struct doc_kind *
doc_kind_find(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < doc_kind_count; i++)
		if (strcmp(doc_kinds[i].name, name) == 0)
			return &doc_kinds[i];
	return NULL;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

bs_err
doc_md_escape(struct buf *out, const char *s, unsigned flags)
{
	const unsigned char *p, *end;
	size_t		 digits;
	bool		 space = false;
	bs_err		 e = BS_OK;

	if (s == NULL)
		return BS_OK;
	p = (const unsigned char *)s;
	end = p + strlen(s);
	while (p < end && is_space(*p))
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	if ((flags & DOC_MD_LINE_START) && p < end) {
		/* A list item, a setext underline or an ordered list. */
		if (*p == '-' || *p == '+' || *p == '=')
			e = buf_append(out, "\\", 1);
		for (digits = 0; p + digits < end && digits < 10 &&
		    isdigit(p[digits]); digits++)
			;
		if (e == BS_OK && digits > 0 && p + digits < end &&
		    (p[digits] == '.' || p[digits] == ')')) {
			if ((e = buf_append(out, p, digits)) == BS_OK)
				e = buf_append(out, "\\", 1);
			p += digits;
		}
	}
	for (; p < end && e == BS_OK; p++) {
		if (is_space(*p)) {
			space = true;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f)
			continue;
		if (space) {
			e = buf_append(out, " ", 1);
			space = false;
			if (e != BS_OK)
				break;
		}
		switch (*p) {
		case '<':
			e = buf_puts(out, "&lt;");
			break;
		case '>':
			e = buf_puts(out, "&gt;");
			break;
		case '&':
			e = buf_puts(out, "&amp;");
			break;
		case '\\': case '`': case '*': case '_': case '[': case ']':
		case '#': case '|': case '~':
			if ((e = buf_append(out, "\\", 1)) == BS_OK)
				e = buf_append(out, p, 1);
			break;
		default:
			e = buf_append(out, p, 1);
		}
	}
	return e;
}

bool
doc_markdown_safe(const char *md, size_t len)
{
	const unsigned char *s = (const unsigned char *)md;
	bool		 line_start = true;
	size_t		 i;

	if (md == NULL || !utf8_valid(md, len))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '\n') {
			line_start = true;
			continue;
		}
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '<' || s[i] == '>')
			return false;
		if (s[i] == ' ' && line_start)
			continue;	/* a definition may be indented */
		if (line_start && s[i] == '[' && (i + 1 >= len || s[i + 1] != '^'))
			return false;
		line_start = false;
		if (s[i] == '\\') {
			if (i + 1 < len && s[i + 1] == '\n')
				line_start = true;
			if (i + 1 < len && (s[i + 1] < 0x20 || s[i + 1] == 0x7f ||
			    s[i + 1] == '<' || s[i + 1] == '>') && s[i + 1] != '\n')
				return false;
			i++;
			continue;
		}
		if (s[i] == ']' && i + 1 < len && s[i + 1] == '(')
			return false;
	}
	return true;
}

/* The board item a cited id names ("iN", "[iN]" or a uuid), or NULL. */
static json_object *
board_item(json_object *board, const char *cited)
{
	char		 id[72];
	const char	*id_of;
	const char	*errstr;
	size_t		 i, n, len;
	long long	 k;

	if (cited == NULL || board == NULL)
		return NULL;
	len = strlen(cited);
	if (len >= 2 && cited[0] == '[' && cited[len - 1] == ']') {
		cited++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(id))
		return NULL;
	memcpy(id, cited, len);
	id[len] = '\0';
	n = json_object_array_length(board);
	if (id[0] == 'i' && isdigit((unsigned char)id[1])) {
		k = bs_strtonum(id + 1, 1, (long long)n, &errstr);
		if (errstr != NULL)
			return NULL;
		return json_object_array_get_idx(board, (size_t)k - 1);
	}
	if (!uuid_valid(id))
		return NULL;
	for (i = 0; i < n; i++) {
		id_of = json_member_string(json_object_array_get_idx(board, i), "id");
		if (id_of != NULL && strcasecmp(id_of, id) == 0)
			return json_object_array_get_idx(board, i);
	}
	return NULL;
}

/* The items a document cites, in the order of their first citation. */
struct cites {
	json_object	*item[CITES_MAX];
	size_t		 n;
	bool		 full_ids;	/* two share a prefix: labels are whole ids */
};

static size_t
cites_add(struct cites *c, json_object *item)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		if (c->item[i] == item)
			return i;
	if (c->n == CITES_MAX)
		return CITES_MAX;
	c->item[c->n] = item;
	return c->n++;
}

static bs_err
label_write(struct buf *out, const struct cites *c, json_object *item)
{
	const char	*id = json_member_string(item, "id");

	if (id == NULL)
		id = "unknown";
	return buf_printf(out, "[^%.*s]", c->full_ids ? 36 :
	    DOC_LABEL_LEN, id);
}

/* Labels are id prefixes, unless two cited items share one. */
static void
cites_labels(struct cites *c)
{
	const char	*a, *b;
	size_t		 i, k;

	for (i = 0; i < c->n; i++) {
		a = json_member_string(c->item[i], "id");
		for (k = 0; k < i && a != NULL; k++) {
			b = json_member_string(c->item[k], "id");
			if (b != NULL && strncmp(a, b, DOC_LABEL_LEN) == 0)
				c->full_ids = true;
		}
	}
}

/* Collect the cited items first: labels depend on all of them. */
static void
cites_collect(json_object *answer, json_object *board, struct cites *c,
    size_t *dropped)
{
	json_object	*sections, *statements, *ids, *item;
	size_t		 s, k, i;

	sections = json_member_array(answer, "sections");
	for (s = 0; sections != NULL && s < json_object_array_length(sections);
	    s++) {
		statements = json_member_array(json_object_array_get_idx(sections, s),
		    "statements");
		for (k = 0; statements != NULL &&
		    k < json_object_array_length(statements); k++) {
			ids = json_member_array(json_object_array_get_idx(statements, k),
			    "item_ids");
			for (i = 0; ids != NULL &&
			    i < json_object_array_length(ids); i++) {
				item = board_item(board, json_object_get_string(
				    json_object_array_get_idx(ids, i)));
				if (item == NULL || cites_add(c, item) ==
				    CITES_MAX)
					(*dropped)++;
			}
		}
	}
	cites_labels(c);
}

/* One statement's footnote references, each cited item once. */
static bs_err
refs_write(struct buf *out, struct cites *c, json_object *board,
    json_object *ids)
{
	json_object	*seen[8], *item;
	size_t		 i, k, nseen = 0;
	bool		 dup;
	bs_err		 e = BS_OK;

	for (i = 0; ids != NULL && i < json_object_array_length(ids) &&
	    e == BS_OK; i++) {
		item = board_item(board, json_object_get_string(
		    json_object_array_get_idx(ids, i)));
		if (item == NULL || cites_add(c, item) == CITES_MAX)
			continue;
		for (k = 0, dup = false; k < nseen; k++)
			dup = dup || seen[k] == item;
		if (dup)
			continue;
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = item;
		e = label_write(out, c, item);
	}
	return e;
}

static bs_err
section_write(struct buf *out, const struct doc_kind *kind, struct cites *c,
    json_object *board, json_object *section)
{
	json_object	*statements, *st;
	const char	*text;
	size_t		 k, n;
	bs_err		 e;

	if ((e = buf_puts(out, "## ")) != BS_OK ||
	    (e = doc_md_escape(out, json_member_string(section, "heading"), 0)) != BS_OK ||
	    (e = buf_puts(out, "\n\n")) != BS_OK)
		return e;
	statements = json_member_array(section, "statements");
	n = statements != NULL ? json_object_array_length(statements) : 0;
	if (n == 0)
		return buf_puts(out, "None.\n\n");
	for (k = 0; k < n && e == BS_OK; k++) {
		st = json_object_array_get_idx(statements, k);
		text = json_member_string(st, "text");
		switch (kind->style) {
		case DOC_STYLE_BULLETS:
			e = buf_puts(out, "- ");
			break;
		case DOC_STYLE_NUMBERED:
			e = buf_printf(out, "%zu. ", k + 1);
			break;
		default:
			break;
		}
		if (e == BS_OK)
			e = doc_md_escape(out, text, kind->style ==
			    DOC_STYLE_PARAGRAPHS ? DOC_MD_LINE_START : 0);
		if (e == BS_OK)
			e = refs_write(out, c, board, json_member_array(st, "item_ids"));
		if (e == BS_OK)
			e = buf_puts(out, "\n");
	}
	return e == BS_OK ? buf_puts(out, "\n") : e;
}

/* "[^label]: text (decided, confidence 90). The person's words: “...”" */
static bs_err
source_write(struct buf *out, const struct cites *c, json_object *item)
{
	json_object	*conf;
	const char	*quote = json_member_string(item, "user_quote"), *state;
	bs_err		 e;

	state = json_member_string(item, "state");
	if ((e = label_write(out, c, item)) != BS_OK ||
	    (e = buf_puts(out, ": ")) != BS_OK ||
	    (e = doc_md_escape(out, json_member_string(item, "text"), 0)) != BS_OK)
		return e;
	e = buf_printf(out, " (%s", state != NULL ? state : "unknown");
	if (e == BS_OK && json_object_object_get_ex(item, "confidence", &conf) &&
	    json_object_is_type(conf, json_type_int))
		e = buf_printf(out, ", confidence %d", json_object_get_int(conf));
	if (e == BS_OK)
		e = buf_puts(out, ").");
	if (e == BS_OK && quote != NULL && *quote != '\0') {
		if ((e = buf_puts(out, " The person's words: \xe2\x80\x9c")) ==
		    BS_OK && (e = doc_md_escape(out, quote, 0)) == BS_OK)
			e = buf_puts(out, "\xe2\x80\x9d");
	}
	return e == BS_OK ? buf_puts(out, "\n") : e;
}

bs_err
doc_render(const struct doc_kind *kind, json_object *answer,
    json_object *board, struct buf *out, size_t *dropped)
{
	struct cites	*c;
	json_object	*sections;
	const char	*title;
	size_t		 s, i, mark;
	bs_err		 e;

	*dropped = 0;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return BS_ERR_NOMEM;
	cites_collect(answer, board, c, dropped);
	c->n = 0;	/* numbered again by first use, in document order */

	title = json_member_string(answer, "title");
	e = buf_puts(out, "# ");
	mark = out->len;
	if (e == BS_OK)
		e = doc_md_escape(out, title, 0);
	if (e == BS_OK && out->len == mark)
		e = buf_puts(out, kind->title);
	if (e == BS_OK)
		e = buf_puts(out, "\n\n");
	sections = json_member_array(answer, "sections");
	for (s = 0; sections != NULL && s < json_object_array_length(sections) &&
	    e == BS_OK; s++)
		e = section_write(out, kind, c, board,
		    json_object_array_get_idx(sections, s));
	if (e == BS_OK && c->n > 0)
		e = buf_puts(out, "## Sources\n\n");
	for (i = 0; i < c->n && e == BS_OK; i++)
		e = source_write(out, c, c->item[i]);
	/* One final line break. */
	while (e == BS_OK && out->len > 1 && out->data[out->len - 1] == '\n' &&
	    out->data[out->len - 2] == '\n')
		out->data[--out->len] = '\0';
	free(c);
	return e;
}
