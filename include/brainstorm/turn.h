/*
 * One turn: what happens to one user message, run by a turn engine
 * (engine.h) once the message is stored and the turn queued. Stage A
 * (reply, intent, recorder) runs in parallel, stage B by intent in
 * parallel, then the recorder's changes, gated by stage B, are applied in
 * one transaction with the assistant messages, the agent runs and the
 * turn.
 *
 * The engine drives a turn through its steps in this order. Steps marked
 * IO may wait on PostgreSQL or Redis and run on the engine's IO threads;
 * the others run on its loop thread and never wait:
 *
 *	turn_begin (IO)		the message and context loaded, stage A
 *				prepared, its cached answers found
 *	turn_stage_calls	stage A's calls for Claude (agent.started)
 *	turn_stage_end		after they ended: agent.finished, the reply
 *				and the intent; stage B prepared
 *	turn_middle (IO)	stage A's answers cached, stage B's found
 *	turn_stage_calls	stage B's calls
 *	turn_stage_end
 *	turn_end (IO)		everything saved, then the closing events
 *
 * turn_over says when a step ended the turn early (it then skips to
 * turn_free). A step never fails the engine: what goes wrong is the
 * turn's, and the person reads it.
 */
#ifndef BRAINSTORM_TURN_H
#define BRAINSTORM_TURN_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/app.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/err.h"
#include "brainstorm/llm.h"

#define TURN_OWNER_MAX	96	/* an engine's lease name */
#define TURN_MAX_RUNS	3	/* engines that may start one turn */

/* Where the turn's events go as they happen (data is borrowed). */
struct turn_sink {
	void	(*emit)(void *arg, const char *type, json_object *data);
	void	*arg;
};

struct turn;

bs_err	turn_new(struct app *app, const struct db_turn_job *job,
	    const char *owner, const struct turn_sink *sink, struct turn **out);
void	turn_free(struct turn *t);
const char *turn_id(const struct turn *t);
bool	turn_over(const struct turn *t);
/* The stage the turn is in: 0 (A) until stage A's turn_stage_end, then 1. */
int	turn_stage(const struct turn *t);

bs_err	turn_begin(struct turn *t);
/*
 * The calls of the stage now due that go to Claude (cached ones do not),
 * to run within *deadline_ms; they stay the turn's, valid until
 * turn_stage_end. 0: none, call turn_stage_end at once.
 */
size_t	turn_stage_calls(struct turn *t, struct llm_call **calls,
	    long *deadline_ms);
void	turn_stage_end(struct turn *t);
void	turn_middle(struct turn *t);
void	turn_end(struct turn *t);

#endif
