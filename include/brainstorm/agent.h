/*
 * The agents: one table, one row per agent (name, role, what it produces,
 * model class, thinking and effort, system prompt, the JSON schema of its
 * answer, the workflows it serves). Adding an agent is adding a row in
 * agent_registry.c. Also the plans that shape each agent's requests on its
 * model, and the gate that decides what a turn keeps.
 */
#ifndef BRAINSTORM_AGENT_H
#define BRAINSTORM_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"
#include "brainstorm/llm.h"

enum intent {
	INTENT_BRAINSTORMING = 0,
	INTENT_DECIDING,
	INTENT_MODIFYING,
	INTENT_EXPLORING,
	INTENT_PARKING,
	INTENT_REVIEWING,
	INTENT_DEVELOPMENT,
	INTENT_GENERAL,
	INTENT__COUNT
};

#define INTENT_BIT(i)	(1u << (i))
#define INTENT_ALL	((1u << INTENT__COUNT) - 1)

enum agent_stage {
	AGENT_STAGE_A = 0,	/* every turn, in parallel: reply, intent, recorder */
	AGENT_STAGE_B,		/* by intent, in parallel, after stage A */
	AGENT_STAGE_DOCUMENT	/* never in a turn: POST .../documents (document.h) */
};

enum agent_model {
	AGENT_MODEL_DEFAULT = 0,	/* CLAUDE_MODEL */
	AGENT_MODEL_FAST		/* CLAUDE_MODEL_FAST: classification, checks */
};

/*
 * What an agent's answer is for; the turn dispatches on this, never on a
 * name. Stage A holds the reply, the intent and the changes; stage B the
 * rest but documents, which only their own stage makes.
 */
enum agent_output {
	AGENT_OUTPUT_REPLY = 0,	/* streamed text to the person */
	AGENT_OUTPUT_INTENT,	/* {intent, confidence}: chooses stage B */
	AGENT_OUTPUT_CHANGES,	/* {changes[]}: board changes, gated, applied */
	AGENT_OUTPUT_FINDINGS,	/* findings on the changes: may hold a decision */
	AGENT_OUTPUT_QUESTIONS,	/* questions to the person, one message each */
	AGENT_OUTPUT_MESSAGE,	/* one written message: review, ranking, plan */
	AGENT_OUTPUT_DOCUMENT	/* {title, sections[]}: one kind of document */
};

#define AGENT_THINKING_PREFS	3

struct agent;
/* Render a MESSAGE agent's answer as the text of its message. */
typedef bs_err (*agent_render_fn)(const struct agent *a, json_object *answer,
	    struct buf *out);

struct agent {
	const char	*name;		/* "recorder"; also agent_runs.agent */
	const char	*role;		/* one line for GET /api/agents */
	enum agent_stage stage;
	enum agent_output output;
	enum agent_model model;
	int		 max_tokens;	/* the answer itself, thinking not included */
	/* Thinking types by preference; the first the model accepts is sent. */
	enum llm_thinking thinking[AGENT_THINKING_PREFS];
	int		 thinking_headroom; /* tokens added to max_tokens when it thinks */
	const char	*effort;	/* output_config.effort wanted */
	double		 temperature;	/* only where the model takes sampling */
	const char	*system_prompt;	/* long and stable: sent with cache_control */
	/* The structured answer; NULL answer_name for the streamed reply. */
	const char	*answer_name;	/* schema title, tool name */
	const char	*answer_description;
	const char	*answer_schema;	/* JSON Schema text, ranges included */
	unsigned	 intents;	/* INTENT_BIT mask of the workflows it serves */
	bool		 cacheable;	/* deterministic: answered from the cache */
	/* Where its list lives in the answer (FINDINGS, QUESTIONS, MESSAGE). */
	const char	*list_key;
	/* FINDINGS: what a holding finding says; the kinds that hold (NULL = all). */
	const char	*finding_says;
	const char *const *hold_kinds;
	/* QUESTIONS: the severities asked (NULL = every question). */
	const char *const *ask_severities;
	agent_render_fn	 render;	/* MESSAGE */
	const char	*document;	/* DOCUMENT: the kind it writes (doc_render.h) */
};

extern const struct agent	agent_table[];
extern const size_t		agent_count;

const struct agent *agent_find(const char *name);
/* The row number of a, for arrays kept beside the table. */
size_t		 agent_index(const struct agent *a);

/*
 * AGENT_MODELS ("agent=model,..."), checked: BS_ERR_INVALID with err naming
 * the first unknown agent, a repeated agent or a malformed pair. With out
 * non-NULL, out[agent_index(a)] points into text (a copy the caller keeps)
 * for each named agent and NULL for the others.
 */
bs_err		 agent_models_parse(char *text, const char **out, char *err,
		    size_t errlen);

/*
 * How one agent's requests are shaped on its model: decided once, at
 * start-up, from the model's capabilities (docs/CLAUDE.md), then shared
 * read-only by every thread.
 */
struct agent_plan {
	const struct agent *agent;
	const char	*model;		/* the model id (points into the config) */
	int		 chars_per_token; /* its tokenizer's, for the budgets */
	struct llm_model info;
	enum llm_answer	 answer;
	enum llm_thinking thinking;
	int		 thinking_budget;
	const char	*effort;	/* NULL = not sent */
	int		 max_tokens;
	bool		 has_temperature;
	json_object	*schema;	/* the strict subset sent; read-only */
};

/* Shape a's requests for a model described by info. A pure function. */
void		 agent_plan_make(const struct agent *a, const char *model,
		    const struct llm_model *info, const char *api_version,
		    struct agent_plan *out);
void		 agent_plan_free(struct agent_plan *p);

/*
 * The plans of every agent, by row: each agent's model (AGENT_MODELS, else
 * its class's CLAUDE_MODEL_FAST or CLAUDE_MODEL) asked of the Models API
 * when client is non-NULL (once per distinct model), else the built-in
 * assumptions. problems gets one line per model that is unknown, retired,
 * deprecated or could not be asked; *refuse is set when one is unknown or
 * retired. BS_ERR_INVALID for a bad AGENT_MODELS.
 */
struct bs_config;
struct llm_client;
enum plan_problem {
	PLAN_DEPRECATED = 0,	/* a warning */
	PLAN_UNREACHABLE,	/* the API could not be asked: assumptions used */
	PLAN_REFUSED		/* unknown or retired model, bad AGENT_MODELS */
};
struct agent_plans {
	struct agent_plan	*plan;		/* agent_count rows */
	char			*models_text;	/* AGENT_MODELS copy */
	/*
	 * The fewest characters a token of the turn's agents' models takes
	 * (stages A and B read one context): CONTEXT_TOKEN_BUDGET in bytes
	 * is the budget times this.
	 */
	int			 turn_chars_per_token;
};
bs_err		 agent_plans_make(const struct bs_config *cfg,
		    const struct llm_client *client, struct agent_plans *out,
		    bool *refuse, void (*problem)(void *arg, enum plan_problem kind,
		    const char *text), void *arg);
void		 agent_plans_free(struct agent_plans *p);
/*
 * What to do about a deprecated, retired or unknown model m, for the
 * operator's log: the newest active model of its line as the Models API
 * lists it (client NULL: not asked), else the models current when this
 * build was made.
 */
void		 agent_models_advice(const struct llm_client *client,
		    const struct llm_model *m, char *out, size_t len);

/*
 * The gate: what becomes of one proposed change (PRODUCT.md section 4). A
 * pure function of the person's message, the change and stage B's findings.
 */
enum gate_verdict {
	GATE_KEEP = 0,	/* applied as proposed */
	GATE_HOLD,	/* a "decided" change goes to exploring, with the reason */
	GATE_DROP	/* not applied: its quote is not the person's words */
};

struct gate_finding {
	long		 change_index;
	const char	*severity;	/* low, medium, high (critical counts as high) */
	bool		 kind_holds;	/* its kind may hold a decision */
	const char	*agent;
	const char	*says;		/* "conflicts with a decision" */
	const char	*explanation;
};

enum gate_verdict agent_gate(const char *message, size_t index,
		    const char *state, const char *quote,
		    const struct gate_finding *findings, size_t nfindings,
		    char *reason, size_t reasonlen);
const char	*gate_verdict_name(enum gate_verdict v);

const char	*intent_name(enum intent intent);
bs_err		 intent_parse(const char *s, enum intent *out);

/*
 * The schema of an agent's answer, parsed once (at first use, under a lock)
 * and shared read-only afterwards; NULL for agents without a tool.
 */
json_object	*agent_schema(const struct agent *a);

#endif
