/*
 * Documents as Markdown (doc_render.c): the kinds of generated document,
 * a document agent's structured answer rendered with its citations as
 * footnotes, and the escaping that keeps user text from becoming markup.
 *
 * Every piece of user text (board items, quotes, messages, a model's
 * statements) goes through doc_md_escape, so the Markdown carries no raw
 * HTML (< > & become entities) and no link or image syntax ([ ] are
 * escaped); doc_markdown_safe checks that property of a whole text, for
 * bodies that come from outside (an import).
 */
#ifndef BRAINSTORM_DOC_RENDER_H
#define BRAINSTORM_DOC_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"

enum doc_style {
	DOC_STYLE_PARAGRAPHS = 0,	/* statements of a section form a paragraph */
	DOC_STYLE_BULLETS,		/* "- statement" */
	DOC_STYLE_NUMBERED		/* "1. statement", numbered per section */
};

/* One kind of document; its agent is the row whose .document is name. */
struct doc_kind {
	const char	*name;		/* "brief": the API's {kind} */
	const char	*title;		/* "Project brief": when the answer has none */
	enum doc_style	 style;
};

extern const struct doc_kind	doc_kinds[];
extern const size_t		doc_kind_count;
/* The same names, NULL-terminated, for rule tables (validate.h). */
extern const char *const	doc_kind_names[];

/* The kind called name, or NULL. */
const struct doc_kind *doc_kind_find(const char *name);

/* doc_md_escape flags. */
#define DOC_MD_LINE_START	0x1	/* the text begins a line: no block markers */

/*
 * s as inline Markdown text: < > & as entities, \ ` * _ [ ] # | ~ escaped
 * with a backslash, line breaks and tabs as spaces, other control
 * characters dropped, leading and trailing white space trimmed. With
 * DOC_MD_LINE_START a leading "-", "+", "=" or "1." cannot start a list or
 * an underline either.
 */
bs_err	doc_md_escape(struct buf *out, const char *s, unsigned flags);

/*
 * True when md is valid UTF-8 with no control characters but line
 * breaks, no raw < or > (no HTML), no unescaped "](" (no inline link or
 * image) and no line that starts with "[" but "[^" (no link reference
 * definition; footnotes stay). Everything doc_render and the export write
 * passes.
 */
bool	doc_markdown_safe(const char *md, size_t len);

/* The footnote label of a board item: the first 8 characters of its id. */
#define DOC_LABEL_LEN	8

/*
 * Render a document agent's answer ({title, sections: [{heading,
 * statements: [{text, item_ids}]}]}, already checked against its schema)
 * as Markdown: "# title", "## heading" per section, the statements in the
 * kind's style, each followed by a footnote reference [^label] per cited
 * item, and a "Sources" section defining each cited item (its text, its
 * column, its confidence, the person's words).
 *
 * board is the array of items the agent saw (the API's item objects);
 * a cited id is "iN" (board[N-1]) or an item's uuid. Ids not on the board
 * are dropped and counted in *dropped; the statement stays.
 */
bs_err	doc_render(const struct doc_kind *kind, json_object *answer,
	    json_object *board, struct buf *out, size_t *dropped);

#endif
