/*
 * The model watch: every CLAUDE_MODELS_CHECK_INTERVAL seconds, a thread of
 * its own asks GET /v1/models/{id} about each distinct configured model,
 * as the start did (agent_plan.c). What changed is logged once (a
 * deprecation or a new retirement date as a warning, a retirement as an
 * error), and the claude_model_* gauges say where each model stands, for
 * the alerts (monitoring/alerts.yml). The requests' plans are not changed:
 * changing a model is the operator's decision, and takes a restart.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brainstorm/agent.h"
#include "brainstorm/clock.h"
#include "brainstorm/metrics.h"
#include "brainstorm/model_watch.h"
#include "brainstorm/server.h"

#define RETRY_S		60	/* a question that failed is asked again this soon */
#define POKE_S		10	/* a poke's round comes this long after the last */

struct watched {
	const char	*id;		/* the plan's model, as configured */
	struct llm_model last;		/* the last answer (or the start's) */
	bool		 failing;	/* the last question got no answer */
};

struct model_watch {
	const struct llm_client	*client;
	struct watched		*models;
	size_t			 n;
	long			 interval_s;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;	/* on the monotonic clock */
	bool			 stop;	/* guarded by lock */
	bool			 poked;	/* guarded by lock: ask soon */
};

static bool
gone(enum llm_lifecycle l)
{
	return l == LLM_LIFECYCLE_RETIRED || l == LLM_LIFECYCLE_UNKNOWN;
}

static const char *
gone_words(enum llm_lifecycle l)
{
	return l == LLM_LIFECYCLE_RETIRED ? "retired" : "unknown to the API";
}

bool
model_watch_news(const struct llm_model *before, const struct llm_model *now,
    const char *advice, enum log_level *level, char *text, size_t len)
{
	enum llm_lifecycle was = before->checked ? before->lifecycle :
	    LLM_LIFECYCLE_ACTIVE;
	const char	*was_retires = before->checked ? before->retires_at : "";
	const char	*retires = now->retires_at[0] != '\0' ? now->retires_at :
	    "a date not yet set";

	if (!now->checked || (now->lifecycle == was &&
	    strcmp(now->retires_at, was_retires) == 0))
		return false;
	if (gone(now->lifecycle)) {
		if (gone(was))
			return false;
		*level = LOG_LEVEL_ERROR;
		snprintf(text, len, "model %s is now %s: its calls fail; %s, and "
		    "restart the workers", now->id, gone_words(now->lifecycle),
		    advice);
	} else if (now->lifecycle == LLM_LIFECYCLE_DEPRECATED &&
	    was == LLM_LIFECYCLE_DEPRECATED) {
		*level = LOG_LEVEL_WARN;
		snprintf(text, len, "model %s now retires at %s (it was %s)",
		    now->id, retires, was_retires[0] != '\0' ? was_retires :
		    "a date not yet set");
	} else if (now->lifecycle == LLM_LIFECYCLE_DEPRECATED) {
		*level = LOG_LEVEL_WARN;
		snprintf(text, len, "model %s is now deprecated and retires at "
		    "%s: before then, %s", now->id, retires, advice);
	} else if (was != LLM_LIFECYCLE_ACTIVE) {
		*level = LOG_LEVEL_INFO;
		snprintf(text, len, "model %s is active again", now->id);
	} else {
		*level = LOG_LEVEL_WARN;
		snprintf(text, len, "model %s is to retire at %s", now->id,
		    retires);
	}
	return true;
}

/* The gauges of one model, once the API has said something of it. */
static void
publish(const struct watched *m)
{
	long long	 ms;

	if (!m->last.checked)
		return;
	ms = m->last.retires_at[0] != '\0' ?
	    llm_rfc3339_ms(m->last.retires_at) : -1;
	metrics_claude_model(m->id, llm_lifecycle_name(m->last.lifecycle),
	    ms > 0 ? ms / 1000 : 0);
}

static bool
watch_stopping(struct model_watch *w)
{
	bool	 stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

/*
 * Ask about every model once; true when each got an answer. A stop ends
 * the round between two questions, so that it waits for one at most.
 */
static bool
watch_round(struct model_watch *w)
{
	struct llm_model now;
	enum log_level	 level;
	char		 err[LLM_ERROR_MAX], text[LLM_ERROR_MAX + 600];
	char		 advice[LLM_ID_MAX + 300] = "";
	bool		 all = true;
	size_t		 i;

	for (i = 0; i < w->n && !watch_stopping(w); i++) {
		struct watched *m = &w->models[i];

		if (llm_model_fetch(w->client, m->id, &now, err,
		    sizeof(err)) != BS_OK || !now.checked) {
			if (!m->failing)
				log_msgf(LOG_LEVEL_WARN, "the Models API could "
				    "not be asked about model %s (%s); what it "
				    "said last stands", m->id, err);
			m->failing = true;
			all = false;
			continue;
		}
		if (m->failing)
			log_msgf(LOG_LEVEL_INFO, "the Models API answers about "
			    "model %s again", m->id);
		m->failing = false;
		/* The advice costs a question: asked only when there is news. */
		if (model_watch_news(&m->last, &now, advice, &level, text,
		    sizeof(text))) {
			if (now.lifecycle != LLM_LIFECYCLE_ACTIVE) {
				agent_models_advice(w->client, &now, advice,
				    sizeof(advice));
				model_watch_news(&m->last, &now, advice, &level,
				    text, sizeof(text));
			}
			log_msgf(level, "%s", text);
		}
		m->last = now;
		publish(m);
	}
	if (all && i == w->n)
		metrics_claude_models_checked((long long)time(NULL));
	return all;
}

/*
 * A round every interval_s (RETRY_S after one that got no answer), or
 * POKE_S after the last round when poked: the loop's next due time.
 */
static long long
watch_due(const struct model_watch *w, long long last, long wait_s)
{
	long long	 due = last + wait_s * 1000LL;

	if (w->poked && last + POKE_S * 1000LL < due)
		due = last + POKE_S * 1000LL;
	return due;
}

static void *
watch_main(void *arg)
{
	struct model_watch	*w = arg;
	struct timespec		 until;
	long long		 last = bs_monotonic_ms(), due;
	long			 wait_s = w->interval_s;
	size_t			 i;

	for (i = 0; i < w->n; i++)
		if (!w->models[i].last.checked && wait_s > RETRY_S)
			wait_s = RETRY_S;	/* the start got no answer */
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if ((due = watch_due(w, last, wait_s)) > bs_monotonic_ms()) {
			until.tv_sec = (time_t)(due / 1000);
			until.tv_nsec = (long)(due % 1000) * 1000000;
			pthread_cond_timedwait(&w->wake, &w->lock, &until);
			continue;	/* stopped, poked, or due: look again */
		}
		w->poked = false;
		pthread_mutex_unlock(&w->lock);
		wait_s = w->interval_s;
		if (!watch_round(w) && wait_s > RETRY_S)
			wait_s = RETRY_S;
		last = bs_monotonic_ms();
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void
model_watch_poke(struct model_watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	if (!w->poked) {
		w->poked = true;
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
}

/* What model_watch_start made, once its thread is gone or never ran. */
static void
watch_free(struct model_watch *w)
{
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w->models);
	free(w);
}

bs_err
model_watch_start(const struct llm_client *client,
    const struct agent_plans *plans, long interval_s, struct model_watch **out)
{
	struct model_watch	*w;
	pthread_condattr_t	 monotonic;
	bool			 all = true;
	size_t			 i, j;

	*out = NULL;
	if (client == NULL || plans == NULL || plans->plan == NULL ||
	    interval_s < 1)
		return BS_ERR_INVALID;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->models = calloc(agent_count, sizeof(*w->models))) == NULL) {
		free(w);
		return BS_ERR_NOMEM;
	}
	w->client = client;
	w->interval_s = interval_s;
	for (i = 0; i < agent_count; i++) {
		for (j = 0; j < w->n; j++)
			if (strcmp(w->models[j].id, plans->plan[i].model) == 0)
				break;
		if (j < w->n)
			continue;
		w->models[w->n].id = plans->plan[i].model;
		w->models[w->n].last = plans->plan[i].info;
		all = all && plans->plan[i].info.checked;
		publish(&w->models[w->n++]);
	}
	if (all)
		metrics_claude_models_checked((long long)time(NULL));
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &monotonic);
	pthread_condattr_destroy(&monotonic);
	if (server_thread_start(&w->thread, "bs-models", watch_main, w) != 0) {
		watch_free(w);
		return BS_ERR_INTERNAL;
	}
	*out = w;
	return BS_OK;
}

void
model_watch_stop(struct model_watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	watch_free(w);
}
