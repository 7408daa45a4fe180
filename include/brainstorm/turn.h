/*
 * One turn: what happens to one user message. The message is stored first;
 * stage A (reply, intent, recorder) runs in parallel, stage B by intent in
 * parallel, then the recorder's changes, gated by stage B, are applied in
 * one transaction with the assistant messages, the agent runs and the turn.
 */
#ifndef BRAINSTORM_TURN_H
#define BRAINSTORM_TURN_H

#include <json-c/json.h>

#include "brainstorm/app.h"
#include "brainstorm/err.h"

/* Where the turn's events go as they happen (data is borrowed). */
struct turn_sink {
	void	(*emit)(void *arg, const char *type, json_object *data);
	void	*arg;
};

struct turn_input {
	const char	*user_id;
	const char	*project_id;	/* owned by user_id (checked) */
	const char	*content;	/* the new message, or NULL with: */
	const char	*retry_turn_id;	/* a failed turn to run again */
};

/*
 * Run one turn. Errors before the turn exists come back as bs_err
 * (BS_ERR_DB_UNAVAILABLE, BS_ERR_NOT_FOUND, BS_ERR_CONFLICT for a retry of a
 * turn that did not fail); once it exists the turn always finishes (done or
 * failed) and *result holds it as JSON.
 */
bs_err	turn_run(struct app *app, const struct turn_input *in,
	    const struct turn_sink *sink, json_object **result);

#endif
