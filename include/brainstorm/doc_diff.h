/*
 * A line diff of two texts (doc_diff.c), written as a unified diff: the
 * shortest edit script (Myers) between their lines, in hunks with context.
 * Used to compare two versions of a generated document.
 */
#ifndef BRAINSTORM_DOC_DIFF_H
#define BRAINSTORM_DOC_DIFF_H

#include <stddef.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"

/* Lines of each text that a diff handles, at most. */
#define DOC_DIFF_MAX_LINES	20000

struct doc_diff_stats {
	size_t	added;		/* lines only in the new text */
	size_t	removed;	/* lines only in the old text */
	size_t	hunks;
};

/*
 * The unified diff from old to new ("--- label_old", "+++ label_new",
 * then "@@ -l,n +l,n @@" hunks of lines starting with " ", "-" or "+",
 * each ending in a line break) appended to out; nothing when the texts
 * have the same lines. A text is split at "\n"; a final line without one
 * counts as a line. context is the unchanged lines kept around each
 * change. BS_ERR_TOO_LARGE when either text has more than max_lines lines
 * (or out's cap is crossed). The script is minimal unless the texts differ
 * in thousands of lines; then it may replace a longer stretch than needed.
 */
bs_err	doc_diff_unified(const char *old_text, const char *new_text,
	    const char *label_old, const char *label_new, int context,
	    size_t max_lines, struct buf *out, struct doc_diff_stats *stats);

#endif
