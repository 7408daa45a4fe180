/*
 * Plans: how each agent's requests are shaped on the model it calls,
 * decided once at start-up from what the Models API says the model accepts
 * (docs/CLAUDE.md). After agent_plans_make returns, the plans are shared
 * read-only by every thread.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/agent.h"
#include "brainstorm/config.h"
#include "brainstorm/json.h"
#include "brainstorm/llm.h"

#define EFFORT_HIGH	2	/* llm_effort_name(2) is "high" */
#define MODELS_CHECKED	"2026-12-04"	/* the current models below, as of */

void
agent_models_advice(const struct llm_client *client, const struct llm_model *m,
    char *out, size_t len)
{
	char	 successor[LLM_ID_MAX], err[LLM_ERROR_MAX];

	if (client != NULL && llm_model_successor(client, m, successor,
	    sizeof(successor), err, sizeof(err)) == BS_OK)
		snprintf(out, len, "set CLAUDE_MODEL, CLAUDE_MODEL_FAST or "
		    "AGENT_MODELS to a current model (the newest active %s "
		    "model is %s)", m->line, successor);
	else
		snprintf(out, len, "set CLAUDE_MODEL, CLAUDE_MODEL_FAST or "
		    "AGENT_MODELS to a current model (GET /v1/models lists "
		    "them; on %s: claude-sonnet-5-5, claude-haiku-5-5, "
		    "claude-opus-5-5, claude-fable-5-2)", MODELS_CHECKED);
}

/* The thinking that will actually happen: no headroom for none. */
static bool
plan_thinks(const struct agent_plan *p)
{
	switch (p->thinking) {
	case LLM_THINKING_DISABLED:
		return false;
	case LLM_THINKING_OMIT:
		return p->info.thinks_by_default;
	default:
		return true;
	}
}

/* The agent's first thinking preference the model accepts; OMIT at worst. */
static enum llm_thinking
plan_thinking(const struct agent *a, const struct llm_model *m)
{
	size_t	 i;

	for (i = 0; i < AGENT_THINKING_PREFS; i++) {
		if (a->thinking[i] == LLM_THINKING_OMIT)
			break;
		if ((unsigned)a->thinking[i] < sizeof(m->thinking) &&
		    m->thinking[a->thinking[i]])
			return a->thinking[i];
	}
	return LLM_THINKING_OMIT;
}

/*
 * The wanted effort, or the nearest lower level the model has, else the
 * nearest higher one up to cap; NULL when the model takes no effort.
 */
static const char *
plan_effort(const char *wanted, const struct llm_model *m, int cap)
{
	int	 want = llm_effort_parse(wanted), i;

	if (want < 0 || !m->effort)
		return NULL;
	if (want > cap)
		want = cap;
	for (i = want; i >= 0; i--)
		if (m->effort_level[i])
			return llm_effort_name(i);
	for (i = want + 1; i <= cap; i++)
		if (m->effort_level[i])
			return llm_effort_name(i);
	return NULL;
}

void
agent_plan_make(const struct agent *a, const char *model,
    const struct llm_model *info, const char *api_version,
    struct agent_plan *p)
{
	int	 headroom;

	memset(p, 0, sizeof(*p));
	p->agent = a;
	p->model = model;
	p->chars_per_token = llm_chars_per_token(model);
	p->info = *info;
	if (a->answer_name == NULL)
		p->answer = LLM_ANSWER_TEXT;
	else if (info->structured_outputs)
		p->answer = LLM_ANSWER_JSON_SCHEMA;
	else if (info->forced_tool)
		p->answer = LLM_ANSWER_FORCED_TOOL;
	else
		p->answer = LLM_ANSWER_STRICT_TOOL;
	p->thinking = plan_thinking(a, info);
	/* A forced tool and thinking do not go together. */
	if (p->answer == LLM_ANSWER_FORCED_TOOL && plan_thinks(p)) {
		if (info->thinking[LLM_THINKING_DISABLED])
			p->thinking = LLM_THINKING_DISABLED;
		else
			p->answer = LLM_ANSWER_STRICT_TOOL;
	}
	/* Neither disabled nor between_tools thinking goes above high. */
	p->effort = plan_effort(a->effort, info,
	    p->thinking == LLM_THINKING_DISABLED ||
	    p->thinking == LLM_THINKING_BETWEEN_TOOLS ? EFFORT_HIGH :
	    LLM_EFFORT_LEVELS - 1);
	headroom = plan_thinks(p) ? a->thinking_headroom : 0;
	if (p->thinking == LLM_THINKING_ENABLED) {
		p->thinking_budget = headroom >= 1024 ? headroom : 1024;
		headroom = p->thinking_budget;
	}
	p->max_tokens = a->max_tokens + headroom;
	if (info->max_tokens > 0 && p->max_tokens > info->max_tokens)
		p->max_tokens = (int)info->max_tokens;
	if (p->thinking == LLM_THINKING_ENABLED &&
	    p->thinking_budget >= p->max_tokens)
		p->thinking = LLM_THINKING_OMIT;	/* no room: the default */
	p->has_temperature = info->sampling && api_version != NULL &&
	    strcmp(api_version, LLM_API_VERSION_LEGACY) == 0;
	if (p->answer != LLM_ANSWER_TEXT)
		p->schema = json_schema_to_strict(agent_schema(a),
		    a->answer_name);
}

void
agent_plan_free(struct agent_plan *p)
{
	if (p == NULL)
		return;
	json_object_put(p->schema);
	p->schema = NULL;
}

void
agent_plans_free(struct agent_plans *ps)
{
	size_t	 i;

	if (ps == NULL)
		return;
	for (i = 0; ps->plan != NULL && i < agent_count; i++)
		agent_plan_free(&ps->plan[i]);
	free(ps->plan);
	free(ps->models_text);
	ps->plan = NULL;
	ps->models_text = NULL;
}

/* What the API says of one model, said once however many agents use it. */
static void
plans_model_info(const char *model, const struct llm_client *client,
    struct llm_model *known, size_t *nknown, struct llm_model *out,
    bool *refuse, void (*problem)(void *, enum plan_problem, const char *),
    void *arg)
{
	char	 err[LLM_ERROR_MAX], text[LLM_ERROR_MAX + 400];
	char	 advice[LLM_ID_MAX + 300];
	size_t	 i;

	for (i = 0; i < *nknown; i++) {
		if (strcmp(known[i].id, model) == 0) {
			*out = known[i];
			return;
		}
	}
	if (client == NULL)
		llm_model_defaults(model, out);
	else if (llm_model_fetch(client, model, out, err, sizeof(err)) !=
	    BS_OK) {
		snprintf(text, sizeof(text), "model %s: the Models API could "
		    "not be asked (%s); assuming what the built-in table "
		    "says", model, err);
		problem(arg, PLAN_UNREACHABLE, text);
	} else if (out->lifecycle == LLM_LIFECYCLE_UNKNOWN ||
	    out->lifecycle == LLM_LIFECYCLE_RETIRED) {
		agent_models_advice(client, out, advice, sizeof(advice));
		snprintf(text, sizeof(text), "model %s is %s: %s", model,
		    out->lifecycle == LLM_LIFECYCLE_RETIRED ? "retired" :
		    "unknown to the API", advice);
		*refuse = true;
		problem(arg, PLAN_REFUSED, text);
	} else if (out->lifecycle == LLM_LIFECYCLE_DEPRECATED) {
		agent_models_advice(client, out, advice, sizeof(advice));
		snprintf(text, sizeof(text), "model %s is deprecated and "
		    "retires at %s: before then, %s", model,
		    out->retires_at[0] != '\0' ? out->retires_at :
		    "a date not yet set", advice);
		problem(arg, PLAN_DEPRECATED, text);
	}
	if (*nknown < agent_count)
		known[(*nknown)++] = *out;
}

bs_err
agent_plans_make(const struct bs_config *cfg, const struct llm_client *client,
    struct agent_plans *ps, bool *refuse,
    void (*problem)(void *arg, enum plan_problem kind, const char *text),
    void *arg)
{
	struct llm_model	*known = NULL, info;
	const char		**named = NULL, *model, *version;
	char			 err[128];
	size_t			 i, nknown = 0;
	bs_err			 e = BS_ERR_NOMEM;

	memset(ps, 0, sizeof(*ps));
	*refuse = false;
	version = client != NULL ? llm_client_api_version(client) :
	    cfg->claude_api_version;
	if ((ps->plan = calloc(agent_count, sizeof(*ps->plan))) == NULL ||
	    (known = calloc(agent_count, sizeof(*known))) == NULL ||
	    (named = calloc(agent_count, sizeof(*named))) == NULL ||
	    (ps->models_text = strdup(cfg->agent_models)) == NULL)
		goto out;
	if ((e = agent_models_parse(ps->models_text, named, err,
	    sizeof(err))) != BS_OK) {
		problem(arg, PLAN_REFUSED, err);
		*refuse = true;
		goto out;
	}
	for (i = 0; i < agent_count; i++) {
		model = named[i] != NULL ? named[i] :
		    agent_table[i].model == AGENT_MODEL_FAST ?
		    cfg->claude_model_fast : cfg->claude_model;
		plans_model_info(model, client, known, &nknown, &info, refuse,
		    problem, arg);
		agent_plan_make(&agent_table[i], model, &info, version,
		    &ps->plan[i]);
		if (agent_table[i].stage != AGENT_STAGE_DOCUMENT &&
		    (ps->turn_chars_per_token == 0 ||
		    ps->plan[i].chars_per_token < ps->turn_chars_per_token))
			ps->turn_chars_per_token = ps->plan[i].chars_per_token;
		if (ps->plan[i].answer != LLM_ANSWER_TEXT &&
		    ps->plan[i].schema == NULL) {
			e = BS_ERR_NOMEM;
			goto out;
		}
	}
	e = BS_OK;
out:
	free(known);
	free(named);
	if (e != BS_OK)
		agent_plans_free(ps);
	return e;
}
