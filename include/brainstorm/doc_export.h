/*
 * The export format of a project (doc_export.c): one JSON document with
 * everything needed to rebuild it (docs/API.md, "Export and import"),
 * checked field by field before an import, and its rendering as one
 * readable Markdown file.
 */
#ifndef BRAINSTORM_DOC_EXPORT_H
#define BRAINSTORM_DOC_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"

#define EXPORT_FORMAT		"brainstorm.project"
#define EXPORT_FORMAT_VERSION	1
#define EXPORT_PATH_MAX		128

/*
 * Check doc as an import: the shape and every field of the format, the
 * references between its parts (an item's source message, a message's
 * turn, a version's board event...) and the safety of the documents'
 * Markdown (doc_markdown_safe). BS_ERR_INVALID with the path of the first
 * problem in path ("items[3].state", "" for the document itself) and a
 * sentence in why.
 */
bs_err	export_check(json_object *doc, char *path, size_t pathlen, char *why,
	    size_t whylen);

/*
 * An export (as the JSON export writes it, or one export_check accepts)
 * as Markdown: the project, the board by column with quotes, confidence
 * and history, the items removed from the board, the conversation and the
 * latest version of each document. User text is escaped (doc_md_escape).
 */
bs_err	export_markdown(json_object *doc, struct buf *out);

/* True for an RFC 3339 time such as 2026-12-04T10:00:00.000Z. */
bool	export_time_valid(const char *s);

#endif
