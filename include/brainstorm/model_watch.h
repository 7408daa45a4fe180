/*
 * The configured Claude models, asked of the Models API again while the
 * worker runs (src/model_watch.c). Anthropic deprecates a model with a
 * retirement date and retires it on that date; a worker that runs for
 * weeks learns of both here, not only when it starts.
 */
#ifndef BRAINSTORM_MODEL_WATCH_H
#define BRAINSTORM_MODEL_WATCH_H

#include <stddef.h>

#include "brainstorm/err.h"
#include "brainstorm/llm.h"
#include "brainstorm/log.h"

struct agent_plans;
struct model_watch;

/*
 * Start a thread that asks about each distinct model of plans every
 * interval_s seconds. What the start-up check learned (plans' infos) is
 * where it starts from: the claude_model_* gauges get it at once. client
 * and plans must outlive the watch.
 */
bs_err	model_watch_start(const struct llm_client *client,
	    const struct agent_plans *plans, long interval_s,
	    struct model_watch **out);
/*
 * Ask again soon: a call was answered 404, as a retired model's are. The
 * round comes 10 s after the last at the earliest; safe from any thread.
 * NULL: no-op.
 */
void	model_watch_poke(struct model_watch *w);
/* Stop and free; waits for a question under way (at most 10 s). NULL: no-op. */
void	model_watch_stop(struct model_watch *w);

/*
 * What is worth saying when a model's answer went from before to now
 * (before unchecked: the start got no answer): a line in text and its
 * level, or false when nothing changed that an operator must know.
 * advice (agent_models_advice) ends the line of a deprecation or a
 * retirement. A pure function.
 */
bool	model_watch_news(const struct llm_model *before,
	    const struct llm_model *now, const char *advice,
	    enum log_level *level, char *text, size_t len);

#endif
