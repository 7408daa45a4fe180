/*
 * One document generation (agent_document.c): the document agent of a
 * kind reads the board (with the person's words and each item's history)
 * and the recent conversation, answers a structured document, and the
 * server renders it to Markdown with its citations checked and stores it
 * as the document's next version, with the call in agent_runs.
 */
#ifndef BRAINSTORM_DOCUMENT_H
#define BRAINSTORM_DOCUMENT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/agent.h"
#include "brainstorm/app.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/err.h"
#include "brainstorm/turn.h"

/* The agent that writes kind (the row whose .document is its name), or NULL. */
const struct agent *document_agent(const struct doc_kind *kind);

/*
 * One generation as a job of the turn engine (engine.h), queued by
 * db_generation_queue: the engine drives it through the steps turn.h
 * describes, with one stage of one call and no middle step:
 *
 *	document_job_begin (IO)		the project read, the call prepared
 *					(document.started)
 *	document_job_calls		the call for Claude (agent.started);
 *					0 when the request could not be made
 *	document_job_stage_end		the answer checked and rendered
 *					(agent.finished)
 *	document_job_end (IO)		saved while the lease is the engine's,
 *					then error (failed) and document.done;
 *					document.version to the project
 *
 * Events go to sink (data is borrowed), each with generation_id and kind.
 * A generation whose lease another engine took is not saved here, and
 * says nothing more; document_job_over says when a step ended it early.
 */
struct document_job;

bs_err	document_job_new(struct app *app, const struct db_turn_job *job,
	    const char *owner, const struct turn_sink *sink,
	    struct document_job **out);
void	document_job_free(struct document_job *g);
const char *document_job_id(const struct document_job *g);
bool	document_job_over(const struct document_job *g);
void	document_job_begin(struct document_job *g);
size_t	document_job_calls(struct document_job *g, struct llm_call **calls,
	    long *deadline_ms);
void	document_job_stage_end(struct document_job *g);
void	document_job_end(struct document_job *g);

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
