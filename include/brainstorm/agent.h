/*
 * The agents: one table, one row per agent (name, role, model, limits,
 * system prompt, the JSON schema of its answer, the workflows it serves).
 * Adding an agent is adding a row in agent_registry.c.
 */
#ifndef BRAINSTORM_AGENT_H
#define BRAINSTORM_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/err.h"

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
	AGENT_STAGE_B		/* by intent, in parallel, after stage A */
};

enum agent_model {
	AGENT_MODEL_DEFAULT = 0,	/* CLAUDE_MODEL */
	AGENT_MODEL_FAST		/* CLAUDE_MODEL_FAST: classification, checks */
};

struct agent {
	const char	*name;		/* "recorder"; also agent_runs.agent */
	const char	*role;		/* one line for GET /api/agents */
	enum agent_stage stage;
	enum agent_model model;
	int		 max_tokens;
	double		 temperature;
	const char	*system_prompt;	/* long and stable: sent with cache_control */
	/* The forced tool; NULL tool_name for the streamed conversation reply. */
	const char	*tool_name;
	const char	*tool_description;
	const char	*input_schema;	/* JSON Schema text of the tool input */
	unsigned	 intents;	/* INTENT_BIT mask of the workflows it serves */
	bool		 cacheable;	/* deterministic: answered from the cache */
};

extern const struct agent	agent_table[];
extern const size_t		agent_count;

const struct agent *agent_find(const char *name);
/*
 * The model agent a calls: its entry in AGENT_MODELS (copied into buf),
 * else CLAUDE_MODEL_FAST or CLAUDE_MODEL by its class.
 */
struct bs_config;
const char	*agent_model(const struct bs_config *cfg, const struct agent *a,
		    char *buf, size_t len);
const char	*intent_name(enum intent intent);
bs_err		 intent_parse(const char *s, enum intent *out);

/*
 * The schema of an agent's answer, parsed once (at first use, under a lock)
 * and shared read-only afterwards; NULL for agents without a tool.
 */
json_object	*agent_schema(const struct agent *a);

/*
 * Check a model's tool input against a JSON Schema (the subset the agent
 * schemas use: type, properties, required, additionalProperties false, enum,
 * minimum/maximum, minLength/maxLength in characters, items,
 * minItems/maxItems). BS_ERR_INVALID with a path and reason in err.
 */
bs_err		 json_schema_validate(json_object *schema, json_object *value,
		    char *err, size_t errlen);

#endif
