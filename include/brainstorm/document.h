/*
 * One document generation (agent_document.c): the document agent of a
 * kind reads the board (with the person's words and each item's history)
 * and the recent conversation, answers a structured document, and the
 * server renders it to Markdown with its citations checked and stores it
 * as the document's next version, with the call in agent_runs.
 */
#ifndef BRAINSTORM_DOCUMENT_H
#define BRAINSTORM_DOCUMENT_H

#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/agent.h"
#include "brainstorm/app.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/err.h"
#include "brainstorm/turn.h"

struct document_input {
	const char		*user_id;
	const char		*project_id;	/* owned by user_id (checked) */
	const struct doc_kind	*kind;
};

/* The agent that writes kind (the row whose .document is its name), or NULL. */
const struct agent *document_agent(const struct doc_kind *kind);

/*
 * Generate the next version of in->kind. Errors before the generation
 * exists come back as bs_err: BS_ERR_CONFLICT while another generation
 * runs in the project, BS_ERR_NOT_FOUND when the project is gone, database
 * errors. Once it exists it always finishes, done or failed, and *result
 * holds {"generation_id", "kind", "status": "done|failed", "version"
 * (done), "code" and "error" (failed), "notes"}. Events go to sink as they
 * happen (each with generation_id and kind): document.started,
 * agent.started, agent.finished, then document.done; a failure adds error
 * before document.done.
 */
bs_err	document_generate(struct app *app, const struct document_input *in,
	    const struct turn_sink *sink, json_object **result);

/*
 * The message a document agent reads, in the layout its prompt describes:
 * <project> from source ({title, description}), <board> in four groups
 * with short ids (i1, i2...), each item's quote and its latest history
 * (history: events newest first, as db_document_history gives them),
 * <conversation> (messages oldest first: as many of the newest as the
 * budget leaves), <message> the request for kind. budget is in bytes: the
 * board takes at most half. *shown receives the items listed, in the
 * order of their short ids (i1 is the first). A pure function.
 */
bs_err	document_context_build(const struct doc_kind *kind,
	    json_object *source, json_object *board, json_object *history,
	    json_object *messages, size_t budget, char **out,
	    json_object **shown);

#endif
