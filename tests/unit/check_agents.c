#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/agent.h"
#include "brainstorm/config.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/document.h"
#include "brainstorm/err.h"
#include "brainstorm/json.h"
#include "brainstorm/metrics.h"
#include "brainstorm/model_watch.h"
#include "brainstorm/validate.h"

#define PROMPT_MIN		1500	/* characters, every prompt */
#define PROMPT_STAGE_A_MIN	5000	/* every turn: worth caching */

static const char *const intent_names_expected[] = {
	"brainstorming", "deciding", "modifying", "exploring", "parking",
	"reviewing", "development", "general",
};

static bool
name_plain(const char *s)
{
	size_t	 i;

	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((s[i] < 'a' || s[i] > 'z') && s[i] != '_')
			return false;
	return true;
}

static json_object *
member(json_object *obj, const char *key)
{
	json_object	*v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* Every row carries a coherent contract; what it produces decides the rest. */
START_TEST(test_agent_contracts)
{
	const struct agent	*a;
	size_t			 i, k, per_output[AGENT_OUTPUT_DOCUMENT + 1] = { 0 };

	ck_assert_uint_gt(agent_count, 0);
	for (i = 0; i < agent_count; i++) {
		a = &agent_table[i];
		ck_assert_msg(a->stage <= AGENT_STAGE_DOCUMENT, "%s: stage",
		    a->name);
		ck_assert_msg(a->model == AGENT_MODEL_DEFAULT ||
		    a->model == AGENT_MODEL_FAST, "%s: model", a->name);
		ck_assert_msg(a->system_prompt != NULL, "%s: prompt", a->name);
		ck_assert_msg(a->role != NULL && strlen(a->role) > 10 &&
		    strlen(a->role) < 80, "%s: role", a->name);
		ck_assert_msg(a->max_tokens >= 256 && a->max_tokens <= 4096,
		    "%s: max_tokens %d", a->name, a->max_tokens);
		ck_assert_msg(llm_effort_parse(a->effort) >= 0, "%s: effort",
		    a->name);
		ck_assert_msg(a->thinking_headroom >= 256 &&
		    a->thinking_headroom <= 16384, "%s: headroom", a->name);
		ck_assert_msg(a->thinking[0] != LLM_THINKING_OMIT,
		    "%s: no thinking preference", a->name);
		for (k = 0; k < AGENT_THINKING_PREFS; k++)
			ck_assert(a->thinking[k] <= LLM_THINKING_ENABLED);
		ck_assert_msg(a->temperature >= 0.0 && a->temperature <= 1.0,
		    "%s: temperature", a->name);
		ck_assert((unsigned)a->output <= AGENT_OUTPUT_DOCUMENT);
		per_output[a->output]++;
		/* Stage A makes the reply, the intent and the changes; B the rest. */
		ck_assert_msg((a->stage == AGENT_STAGE_A) ==
		    (a->output == AGENT_OUTPUT_REPLY ||
		    a->output == AGENT_OUTPUT_INTENT ||
		    a->output == AGENT_OUTPUT_CHANGES), "%s: stage", a->name);
		/* Only the reply is text; everything else is a checked answer. */
		ck_assert_msg((a->output == AGENT_OUTPUT_REPLY) ==
		    (a->answer_name == NULL), "%s: answer", a->name);
		if (a->output != AGENT_OUTPUT_REPLY)
			ck_assert_msg(agent_schema(a) != NULL, "%s: schema",
			    a->name);
		if (a->output >= AGENT_OUTPUT_CHANGES)
			ck_assert_msg(a->list_key != NULL && json_object_object_get_ex(
			    member(agent_schema(a), "properties"), a->list_key, NULL),
			    "%s: list_key not in its schema", a->name);
		if (a->output == AGENT_OUTPUT_FINDINGS)
			ck_assert_msg(a->finding_says != NULL, "%s: says", a->name);
		ck_assert_msg((a->output == AGENT_OUTPUT_MESSAGE) ==
		    (a->render != NULL), "%s: render", a->name);
		/* A cached answer must be the answer the model would repeat. */
		if (a->cacheable)
			ck_assert_msg(a->temperature == 0.0 &&
			    a->answer_name != NULL, "%s: cacheable", a->name);
		/* Documents are their own stage: never in a turn. */
		ck_assert_msg((a->stage == AGENT_STAGE_DOCUMENT) ==
		    (a->output == AGENT_OUTPUT_DOCUMENT), "%s: document stage",
		    a->name);
		ck_assert_msg((a->document != NULL) ==
		    (a->output == AGENT_OUTPUT_DOCUMENT), "%s: document kind",
		    a->name);
		if (a->stage == AGENT_STAGE_A)
			ck_assert_uint_eq(a->intents, INTENT_ALL);
		else if (a->stage == AGENT_STAGE_DOCUMENT)
			ck_assert_msg(a->intents == 0, "%s: a document agent "
			    "serves no intent", a->name);
		else
			ck_assert_msg(a->intents != 0 &&
			    (a->intents & ~INTENT_ALL) == 0, "%s: intents",
			    a->name);
	}
	/* The turn looks these up by what they produce: one of each. */
	ck_assert_uint_eq(per_output[AGENT_OUTPUT_REPLY], 1);
	ck_assert_uint_eq(per_output[AGENT_OUTPUT_INTENT], 1);
	ck_assert_uint_eq(per_output[AGENT_OUTPUT_CHANGES], 1);
	ck_assert_uint_ge(per_output[AGENT_OUTPUT_FINDINGS], 1);
}
END_TEST

START_TEST(test_stage_a_settings)
{
	const struct agent	*a;

	a = agent_find("conversation");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(a->answer_name);
	ck_assert_ptr_null(a->answer_description);
	ck_assert_ptr_null(a->answer_schema);
	ck_assert_ptr_null(agent_schema(a));
	ck_assert_int_eq(a->output, AGENT_OUTPUT_REPLY);
	ck_assert(a->max_tokens >= 800 && a->max_tokens <= 1500);
	/* The first token comes quickly: no up-front thinking where allowed. */
	ck_assert_int_eq(a->thinking[0], LLM_THINKING_BETWEEN_TOOLS);
	ck_assert_str_eq(a->effort, "low");

	a = agent_find("context_manager");
	ck_assert_ptr_nonnull(a);
	ck_assert(a->temperature == 0.0);
	ck_assert(a->max_tokens <= 500);
	/* Classification is cheap and fast. */
	ck_assert_int_eq(a->thinking[0], LLM_THINKING_DISABLED);
	ck_assert_str_eq(a->effort, "low");

	a = agent_find("recorder");
	ck_assert_ptr_nonnull(a);
	ck_assert(a->temperature == 0.0);
	ck_assert(a->max_tokens >= 1000);
}
END_TEST

START_TEST(test_names_and_tools_unique)
{
	size_t	 i, j;

	for (i = 0; i < agent_count; i++) {
		ck_assert_msg(name_plain(agent_table[i].name), "name %s",
		    agent_table[i].name);
		if (agent_table[i].answer_name == NULL)
			continue;
		ck_assert_msg(name_plain(agent_table[i].answer_name),
		    "tool %s", agent_table[i].answer_name);
		ck_assert_msg(agent_table[i].answer_description != NULL &&
		    strlen(agent_table[i].answer_description) > 30,
		    "%s: tool_description", agent_table[i].name);
		ck_assert_ptr_nonnull(agent_table[i].answer_schema);
		for (j = 0; j < i; j++) {
			ck_assert_str_ne(agent_table[i].name,
			    agent_table[j].name);
			if (agent_table[j].answer_name != NULL)
				ck_assert_str_ne(agent_table[i].answer_name,
				    agent_table[j].answer_name);
		}
	}
}
END_TEST

START_TEST(test_agent_find)
{
	size_t	 i;

	for (i = 0; i < agent_count; i++)
		ck_assert_ptr_eq(agent_find(agent_table[i].name),
		    &agent_table[i]);
	ck_assert_ptr_null(agent_find(NULL));
	ck_assert_ptr_null(agent_find(""));
	ck_assert_ptr_null(agent_find("Recorder"));
	ck_assert_ptr_null(agent_find("recorder "));
	ck_assert_ptr_null(agent_find("nobody"));
}
END_TEST

START_TEST(test_intents)
{
	enum intent	 in;
	size_t		 i;

	ck_assert_uint_eq(INTENT__COUNT, 8);
	for (i = 0; i < INTENT__COUNT; i++) {
		ck_assert_str_eq(intent_name((enum intent)i),
		    intent_names_expected[i]);
		in = INTENT__COUNT;
		ck_assert_int_eq(intent_parse(intent_names_expected[i], &in),
		    BS_OK);
		ck_assert_int_eq(in, (enum intent)i);
	}
	ck_assert_int_eq(intent_parse("Deciding", &in), BS_OK);
	ck_assert_int_eq(in, INTENT_DECIDING);
	ck_assert_str_eq(intent_name(INTENT__COUNT), "general");
	ck_assert_int_eq(intent_parse(NULL, &in), BS_ERR_INVALID);
	ck_assert_int_eq(intent_parse("", &in), BS_ERR_INVALID);
	ck_assert_int_eq(intent_parse("decide", &in), BS_ERR_INVALID);
	ck_assert_int_eq(intent_parse("general ", &in), BS_ERR_INVALID);
}
END_TEST

/* The classifier's enum is exactly the intents, in their order. */
START_TEST(test_classifier_enum_is_intents)
{
	json_object	*schema, *values;
	size_t		 i;

	schema = agent_schema(agent_find("context_manager"));
	ck_assert_ptr_nonnull(schema);
	values = member(member(member(schema, "properties"), "intent"),
	    "enum");
	ck_assert_ptr_nonnull(values);
	ck_assert_uint_eq(json_object_array_length(values), INTENT__COUNT);
	for (i = 0; i < INTENT__COUNT; i++)
		ck_assert_str_eq(json_object_get_string(
		    json_object_array_get_idx(values, i)),
		    intent_name((enum intent)i));
}
END_TEST

/* Stage B points into the recorder's changes: the bounds must agree. */
START_TEST(test_change_index_bounds)
{
	static const char *const checkers[][2] = {
		{ "quality_auditor", "findings" },
		{ "consistency_guardian", "conflicts" },
	};
	json_object	*changes, *index;
	int64_t		 max_changes;
	size_t		 i;

	changes = member(member(agent_schema(agent_find("recorder")),
	    "properties"), "changes");
	ck_assert_ptr_nonnull(changes);
	max_changes = json_object_get_int64(member(changes, "maxItems"));
	ck_assert_int_eq(max_changes, 8);
	for (i = 0; i < 2; i++) {
		index = member(member(member(member(member(
		    agent_schema(agent_find(checkers[i][0])), "properties"),
		    checkers[i][1]), "items"), "properties"), "change_index");
		ck_assert_ptr_nonnull(index);
		ck_assert_int_eq(json_object_get_int64(member(index,
		    "minimum")), 0);
		ck_assert_int_eq(json_object_get_int64(member(index,
		    "maximum")), max_changes - 1);
	}
}
END_TEST

/*
 * Every workflow (an intent, a document kind) names agents of the table,
 * of the stage that serves it: what agent_find and document_agent return
 * is the row itself.
 */
START_TEST(test_workflows_name_known_agents)
{
	const struct agent	*a;
	size_t			 r, i;

	for (r = 0; r < INTENT__COUNT; r++) {
		for (i = 0; i < agent_count; i++) {
			a = &agent_table[i];
			if ((a->intents & INTENT_BIT(r)) == 0)
				continue;
			ck_assert_ptr_eq(agent_find(a->name), a);
			ck_assert_msg(a->stage != AGENT_STAGE_DOCUMENT, "%s serves "
			    "%s", a->name, intent_name((enum intent)r));
		}
		/* Stage A runs on every turn, whatever its intent. */
		for (i = 0; i < agent_count; i++)
			if (agent_table[i].stage == AGENT_STAGE_A)
				ck_assert(agent_table[i].intents & INTENT_BIT(r));
	}
	for (r = 0; r < doc_kind_count; r++) {
		a = document_agent(&doc_kinds[r]);
		ck_assert_msg(a != NULL && agent_find(a->name) == a &&
		    a->stage == AGENT_STAGE_DOCUMENT, "%s: no agent",
		    doc_kinds[r].name);
	}
}
END_TEST

/* Every row is used: some intent runs it, or some document kind. */
START_TEST(test_every_agent_reachable)
{
	const struct agent	*a;
	size_t			 i, r;
	bool			 reached;

	for (i = 0; i < agent_count; i++) {
		a = &agent_table[i];
		reached = false;
		for (r = 0; r < INTENT__COUNT && !reached; r++)
			reached = (a->intents & INTENT_BIT(r)) != 0;
		for (r = 0; r < doc_kind_count && !reached; r++)
			reached = document_agent(&doc_kinds[r]) == a;
		ck_assert_msg(reached, "%s: no workflow runs it", a->name);
	}
}
END_TEST

/*
 * Every answer schema compiles: it parses, turns into the strict subset
 * sent to the API, and checks answers (an empty object misses what is
 * required, and the validator says so rather than refusing the schema).
 */
START_TEST(test_every_schema_compiles)
{
	const struct agent	*a;
	json_object		*strict, *empty;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < agent_count; i++) {
		a = &agent_table[i];
		if (a->answer_name == NULL)
			continue;
		ck_assert_msg(agent_schema(a) != NULL, "%s: schema", a->name);
		strict = json_schema_to_strict(agent_schema(a), a->answer_name);
		ck_assert_msg(strict != NULL, "%s: strict schema", a->name);
		json_object_put(strict);
		empty = json_object_new_object();
		err[0] = '\0';
		ck_assert_int_eq(json_schema_validate(agent_schema(a), empty, err,
		    sizeof(err)), BS_ERR_INVALID);
		ck_assert_msg(strstr(err, "required") != NULL ||
		    strstr(err, "missing") != NULL, "%s: %s", a->name, err);
		json_object_put(empty);
	}
}
END_TEST

static const char *const schema_keywords[] = {
	"type", "properties", "required", "additionalProperties", "enum",
	"minimum", "maximum", "minLength", "maxLength", "items", "minItems",
	"maxItems", "description", NULL,
};

/*
 * Every node typed, every keyword in the supported subset, every object
 * closed with its required names among its properties, every array
 * bounded.
 */
static void
schema_walk(json_object *node, const char *where, int depth)
{
	json_object	*type, *props, *req, *extra, *items;
	const char	*t;
	size_t		 i, k;
	bool		 known;
	char		 sub[256];

	ck_assert_msg(depth < 8, "%s: too deep", where);
	ck_assert_msg(json_object_is_type(node, json_type_object),
	    "%s: not an object", where);
	json_object_object_foreach(node, kw, kwval) {
		(void)kwval;
		known = false;
		for (k = 0; schema_keywords[k] != NULL; k++)
			if (strcmp(kw, schema_keywords[k]) == 0)
				known = true;
		ck_assert_msg(known, "%s: keyword %s", where, kw);
	}
	type = member(node, "type");
	ck_assert_msg(json_object_is_type(type, json_type_string),
	    "%s: no type", where);
	t = json_object_get_string(type);
	if (strcmp(t, "object") == 0) {
		props = member(node, "properties");
		req = member(node, "required");
		extra = member(node, "additionalProperties");
		ck_assert_msg(json_object_is_type(props, json_type_object),
		    "%s: properties", where);
		ck_assert_msg(json_object_is_type(req, json_type_array) &&
		    json_object_array_length(req) > 0, "%s: required", where);
		ck_assert_msg(json_object_is_type(extra, json_type_boolean) &&
		    !json_object_get_boolean(extra),
		    "%s: additionalProperties must be false", where);
		for (i = 0; i < json_object_array_length(req); i++)
			ck_assert_msg(member(props, json_object_get_string(
			    json_object_array_get_idx(req, i))) != NULL,
			    "%s: required names an unknown property", where);
		json_object_object_foreach(props, pname, psub) {
			snprintf(sub, sizeof(sub), "%s.%s", where, pname);
			schema_walk(psub, sub, depth + 1);
		}
	} else if (strcmp(t, "array") == 0) {
		items = member(node, "items");
		ck_assert_msg(json_object_is_type(member(node, "maxItems"),
		    json_type_int), "%s: unbounded array", where);
		snprintf(sub, sizeof(sub), "%s[]", where);
		schema_walk(items, sub, depth + 1);
	} else if (strcmp(t, "string") == 0) {
		ck_assert_msg(member(node, "enum") != NULL ||
		    member(node, "maxLength") != NULL, "%s: unbounded string",
		    where);
	} else if (strcmp(t, "integer") == 0) {
		ck_assert_msg(member(node, "minimum") != NULL &&
		    member(node, "maximum") != NULL, "%s: unbounded integer",
		    where);
	} else
		ck_abort_msg("%s: unexpected type %s", where, t);
}

START_TEST(test_schemas_parse_and_are_closed)
{
	const struct agent	*a;
	json_object		*schema;
	size_t			 i;

	for (i = 0; i < agent_count; i++) {
		a = &agent_table[i];
		if (a->answer_name == NULL)
			continue;
		schema = agent_schema(a);
		ck_assert_msg(schema != NULL, "%s: schema does not parse",
		    a->name);
		ck_assert_str_eq(json_object_get_string(member(schema, "type")),
		    "object");
		schema_walk(schema, a->answer_name, 0);
		/* Parsed once: the same object every time. */
		ck_assert_ptr_eq(agent_schema(a), schema);
	}
	ck_assert_ptr_null(agent_schema(NULL));
}
END_TEST

#define SCHEMA_THREADS	8

static void *
schema_thread(void *arg)
{
	json_object	**out = arg;
	size_t		  i;

	for (i = 0; i < agent_count; i++)
		out[i] = agent_schema(&agent_table[i]);
	return NULL;
}

/* Each test runs in its own process, so this is the first use. */
START_TEST(test_schemas_shared_between_threads)
{
	pthread_t	 th[SCHEMA_THREADS];
	json_object	*seen[SCHEMA_THREADS][16];
	size_t		 t, i;

	ck_assert_uint_le(agent_count, 16);
	for (t = 0; t < SCHEMA_THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, schema_thread,
		    seen[t]), 0);
	for (t = 0; t < SCHEMA_THREADS; t++)
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
	for (i = 0; i < agent_count; i++) {
		ck_assert((seen[0][i] == NULL) ==
		    (agent_table[i].answer_name == NULL));
		for (t = 1; t < SCHEMA_THREADS; t++)
			ck_assert_ptr_eq(seen[t][i], seen[0][i]);
	}
}
END_TEST

START_TEST(test_prompts)
{
	const struct agent	*a;
	const char		*p;
	size_t			 i, len, chars;
	char			 call[128];

	for (i = 0; i < agent_count; i++) {
		a = &agent_table[i];
		p = a->system_prompt;
		ck_assert_ptr_nonnull(p);
		len = strlen(p);
		ck_assert_msg(utf8_valid(p, len), "%s: UTF-8", a->name);
		chars = utf8_length(p, len);
		ck_assert_msg(chars > PROMPT_MIN, "%s: prompt of %zu characters",
		    a->name, chars);
		if (a->stage == AGENT_STAGE_A)
			ck_assert_msg(chars >= PROMPT_STAGE_A_MIN,
			    "%s: stage A prompt of %zu characters", a->name,
			    chars);
		/* The input layout the orchestrator builds. */
		ck_assert_msg(strstr(p, "<board>") != NULL &&
		    strstr(p, "<conversation>") != NULL &&
		    strstr(p, "<message>") != NULL, "%s: layout", a->name);
		ck_assert_msg((strstr(p, "<changes>") != NULL &&
		    strstr(p, "<intent>") != NULL) ==
		    (a->stage == AGENT_STAGE_B), "%s: stage B layout",
		    a->name);
		ck_assert_msg(strchr(p, '\t') == NULL, "%s: tab", a->name);
		if (a->answer_name == NULL) {
			ck_assert_ptr_null(strstr(p, "tool"));
			continue;
		}
		/* The output contract names the forced tool. */
		snprintf(call, sizeof(call), "Answer only by calling the %s "
		    "tool", a->answer_name);
		ck_assert_msg(strstr(p, call) != NULL, "%s: contract",
		    a->name);
	}
	ck_assert_ptr_nonnull(strstr(agent_find("recorder")->system_prompt,
	    "verbatim"));
	ck_assert_ptr_nonnull(strstr(agent_find("conversation")->system_prompt,
	    "at most one question"));
}
END_TEST

/*
 * Every kind of document has exactly one agent, never in a turn, whose
 * answer is the shape doc_render reads and whose prompt is worth caching.
 */
START_TEST(test_document_agents)
{
	const struct agent	*a;
	json_object		*props, *sections, *statement;
	struct llm_model	 m;
	struct agent_plan	 p;
	size_t			 i, k, n;

	ck_assert_uint_eq(doc_kind_count, 5);
	for (k = 0; k < doc_kind_count; k++)
		ck_assert_str_eq(doc_kind_names[k], doc_kinds[k].name);
	ck_assert_ptr_null(doc_kind_names[doc_kind_count]);
	for (k = 0; k < doc_kind_count; k++) {
		for (i = 0, n = 0, a = NULL; i < agent_count; i++) {
			if (agent_table[i].document != NULL &&
			    strcmp(agent_table[i].document,
			    doc_kinds[k].name) == 0) {
				n++;
				a = &agent_table[i];
			}
		}
		ck_assert_msg(n == 1, "%s: %zu agents", doc_kinds[k].name, n);
		ck_assert_ptr_eq(document_agent(&doc_kinds[k]), a);
		ck_assert_ptr_eq(doc_kind_find(doc_kinds[k].name), &doc_kinds[k]);
		ck_assert_int_eq(a->output, AGENT_OUTPUT_DOCUMENT);
		ck_assert_int_eq(a->stage, AGENT_STAGE_DOCUMENT);
		ck_assert_str_eq(a->list_key, "sections");
		ck_assert(!a->cacheable);
		props = member(agent_schema(a), "properties");
		ck_assert_str_eq(json_object_get_string(member(member(props,
		    "title"), "type")), "string");
		sections = member(props, "sections");
		ck_assert_str_eq(json_object_get_string(member(sections,
		    "type")), "array");
		statement = member(member(member(member(member(sections, "items"),
		    "properties"), "statements"), "items"), "properties");
		ck_assert_ptr_nonnull(member(statement, "text"));
		ck_assert_str_eq(json_object_get_string(member(member(member(
		    statement, "item_ids"), "items"), "type")), "string");
		ck_assert_ptr_nonnull(strstr(a->system_prompt, "<project>"));
		ck_assert_ptr_nonnull(strstr(a->system_prompt, "item_ids"));
		ck_assert_ptr_nonnull(strstr(a->system_prompt, "rejected"));
		ck_assert_msg(utf8_length(a->system_prompt,
		    strlen(a->system_prompt)) >= PROMPT_STAGE_A_MIN,
		    "%s: a prompt worth caching", a->name);
		/* Shaped like every structured answer (docs/CLAUDE.md). */
		llm_model_defaults("claude-sonnet-5-5", &m);
		agent_plan_make(a, m.id, &m, LLM_API_VERSION_CURRENT, &p);
		ck_assert_int_eq(p.answer, LLM_ANSWER_JSON_SCHEMA);
		ck_assert_int_eq(p.thinking, LLM_THINKING_ADAPTIVE);
		ck_assert(!p.has_temperature);
		ck_assert_str_eq(json_object_get_string(member(p.schema,
		    "title")), a->answer_name);
		agent_plan_free(&p);
	}
	ck_assert_ptr_null(doc_kind_find("summary"));
	ck_assert_ptr_null(doc_kind_find(NULL));
	ck_assert_ptr_null(document_agent(NULL));
	/* No turn runs them: no stage A or B agent writes a document. */
	for (i = 0; i < agent_count; i++)
		if (agent_table[i].stage != AGENT_STAGE_DOCUMENT)
			ck_assert_ptr_null(agent_table[i].document);
}
END_TEST

/* json_schema_validate */

static const char recorder_ok[] =
	"{\"changes\":["
	"{\"action\":\"modify\",\"item_id\":\"b7\",\"text\":\"Pricing: flat "
	"15 euros per month\",\"state\":\"decided\",\"user_quote\":\"Let's do "
	"a flat 15 euros a month.\",\"confidence\":90,\"reason\":\"Replaces "
	"per-seat pricing.\"},"
	"{\"action\":\"add\",\"item_id\":\"\",\"text\":\"Mobile app after "
	"launch\",\"state\":\"parked\",\"user_quote\":\"Mobile can wait\","
	"\"confidence\":85},"
	"{\"action\":\"add\",\"text\":\"Intégration Slack \xe2\x9c\xa8\","
	"\"state\":\"exploring\",\"user_quote\":\"Peut-être Slack ?\","
	"\"confidence\":0}]}";

/* One realistic answer per tool. */
static const struct {
	const char	*agent;
	const char	*json;
} valid_answers[] = {
	{ "context_manager", "{\"intent\":\"deciding\",\"confidence\":92,"
	    "\"rationale\":\"'Per seat it is' fixes a choice.\"}" },
	{ "context_manager", "{\"intent\":\"general\",\"confidence\":30}" },
	{ "recorder", "{\"changes\":[]}" },
	{ "recorder", recorder_ok },
	{ "quality_auditor", "{\"findings\":[{\"change_index\":0,"
	    "\"kind\":\"assumption\",\"severity\":\"high\",\"explanation\":"
	    "\"Assumes 1,000 paying users by March.\"},{\"change_index\":7,"
	    "\"kind\":\"unverified_claim\",\"severity\":\"low\","
	    "\"explanation\":\"No source.\"}]}" },
	{ "quality_auditor", "{\"findings\":[]}" },
	{ "consistency_guardian", "{\"conflicts\":[{\"change_index\":1,"
	    "\"item_id\":\"d3\",\"severity\":\"medium\",\"explanation\":"
	    "\"Over the decided budget.\"},{\"change_index\":2,\"item_id\":"
	    "\"\",\"severity\":\"high\",\"explanation\":\"Contradicts change "
	    "1.\"}]}" },
	{ "gap_detector", "{\"gaps\":[{\"gap\":\"Who pays\",\"severity\":"
	    "\"critical\",\"question\":\"Who would pay: students or "
	    "schools?\"}]}" },
	{ "questioner", "{\"questions\":[{\"question\":\"How many seats does "
	    "a typical agency need?\",\"why\":\"It decides the price.\"},"
	    "{\"question\":\"What do they pay today?\"}]}" },
	{ "reviewer", "{\"summary\":\"Pricing is decided; the customer is "
	    "not.\",\"strengths\":[\"A clear price.\"],\"weaknesses\":[]}" },
	{ "prioritizer", "{\"priorities\":[{\"item_id\":\"e4\",\"rank\":1,"
	    "\"rationale\":\"Everything depends on it.\"}]}" },
	{ "strategic_planner", "{\"steps\":[{\"title\":\"Interview five "
	    "agencies\",\"detail\":\"\",\"horizon\":\"now\"},{\"title\":"
	    "\"Build the prototype\",\"horizon\":\"next\"}]}" },
};
#define NVALID	(sizeof(valid_answers) / sizeof(valid_answers[0]))

static json_object *
parse(const char *text)
{
	json_object	*obj = json_tokener_parse(text);

	ck_assert_msg(obj != NULL || strcmp(text, "null") == 0,
	    "test JSON does not parse: %s", text);
	return obj;
}

static bs_err
check_text(json_object *schema, const char *text, char *err, size_t errlen)
{
	json_object	*value = parse(text);
	bs_err		 e;

	e = json_schema_validate(schema, value, err, errlen);
	json_object_put(value);
	return e;
}

/* text is refused against the agent's schema with exactly want. */
static void
assert_refused(json_object *schema, const char *text, const char *want)
{
	char	 err[256];

	memset(err, 'x', sizeof(err));
	ck_assert_msg(check_text(schema, text, err, sizeof(err)) ==
	    BS_ERR_INVALID, "accepted: %s", text);
	ck_assert_str_eq(err, want);
}

static json_object *
recorder_schema(void)
{
	return agent_schema(agent_find("recorder"));
}

/* A recorder answer whose one change has field set to raw JSON value. */
static const char *
one_change(const char *field, const char *value)
{
	static const char *const base[][2] = {
		{ "action", "\"add\"" },
		{ "item_id", "\"\"" },
		{ "text", "\"Slack integration\"" },
		{ "state", "\"exploring\"" },
		{ "user_quote", "\"Maybe Slack?\"" },
		{ "confidence", "80" },
	};
	static char	 out[16384];
	size_t		 i, used;
	bool		 replaced = false;

	used = (size_t)snprintf(out, sizeof(out), "{\"changes\":[{");
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		if (strcmp(base[i][0], field) == 0) {
			replaced = true;
			if (value == NULL)
				continue;
			used += (size_t)snprintf(out + used, sizeof(out) - used,
			    "\"%s\":%s,", field, value);
		} else
			used += (size_t)snprintf(out + used, sizeof(out) - used,
			    "\"%s\":%s,", base[i][0], base[i][1]);
	}
	if (!replaced && value != NULL)
		used += (size_t)snprintf(out + used, sizeof(out) - used,
		    "\"%s\":%s,", field, value);
	ck_assert_uint_lt(used, sizeof(out) - 4);
	out[used - 1] = '\0';	/* the last comma */
	strcat(out, "}]}");
	return out;
}

/* A JSON string of n copies of the UTF-8 character ch. */
static const char *
repeated(const char *ch, size_t n)
{
	static char	 out[8192];
	size_t		 i, len = strlen(ch);

	ck_assert_uint_lt(n * len + 3, sizeof(out));
	out[0] = '"';
	for (i = 0; i < n; i++)
		memcpy(out + 1 + i * len, ch, len);
	out[1 + n * len] = '"';
	out[2 + n * len] = '\0';
	return out;
}

/* A ModelInfo body as GET /v1/models/{id} answers it. */
static void
model_info(struct llm_model *m, const char *id, const char *thinking,
    const char *efforts, bool structured)
{
	static const char *const types[] = { "adaptive", "between_tools",
	    "disabled", "enabled" };
	static const char *const levels[] = { "low", "medium", "high", "xhigh",
	    "max" };
	char	 body[4096], t[512] = "", e[512] = "", err[128], word[32];
	char	 have_t[256], have_e[256];
	size_t	 i;

	/* Whole words: "xhigh" does not say "high". */
	snprintf(have_t, sizeof(have_t), " %s ", thinking);
	snprintf(have_e, sizeof(have_e), " %s ", efforts != NULL ? efforts : "");

	for (i = 0; i < 4; i++)
		snprintf(t + strlen(t), sizeof(t) - strlen(t),
		    "%s\"%s\":{\"supported\":%s}", i > 0 ? "," : "", types[i],
		    (snprintf(word, sizeof(word), " %s ", types[i]),
		    strstr(have_t, word) != NULL) ? "true" : "false");
	for (i = 0; i < 5; i++)
		snprintf(e + strlen(e), sizeof(e) - strlen(e),
		    ",\"%s\":{\"supported\":%s}", levels[i],
		    (snprintf(word, sizeof(word), " %s ", levels[i]),
		    strstr(have_e, word) != NULL) ? "true" : "false");
	snprintf(body, sizeof(body), "{\"type\":\"model\",\"id\":\"%s\","
	    "\"display_name\":\"x\",\"created_at\":\"2026-10-07T00:00:00Z\","
	    "\"lifecycle\":\"active\",\"deprecated_at\":null,"
	    "\"retires_at\":null,\"line\":null,\"max_input_tokens\":1000000,"
	    "\"max_tokens\":%d,\"capabilities\":{"
	    "\"structured_outputs\":{\"supported\":%s},"
	    "\"thinking\":{\"supported\":true,\"types\":{%s}},"
	    "\"effort\":{\"supported\":%s%s}}}", id,
	    strstr(id, "4-5") != NULL ? 64000 : 128000,
	    structured ? "true" : "false", t, efforts != NULL ? "true" : "false",
	    e);
	ck_assert_msg(llm_model_parse(id, body, strlen(body), m, err,
	    sizeof(err)) == BS_OK, "%s", err);
}

static struct agent_plan
plan_of(const char *agent, const struct llm_model *m, const char *version)
{
	struct agent_plan	 p;

	agent_plan_make(agent_find(agent), m->id, m, version, &p);
	return p;
}

/* What each agent sends on each model class (docs/CLAUDE.md). */
START_TEST(test_plans_by_model)
{
	static const char all[] = "low medium high xhigh max";
	static const struct {
		const char	*model, *thinking, *efforts;
		bool		 structured;
		const char	*agent;
		enum llm_answer	 answer;
		enum llm_thinking think;
		const char	*effort;
		int		 max_tokens;
		bool		 temperature_legacy;
	} rows[] = {
		{ "claude-sonnet-5-5", "adaptive between_tools", all, true,
		  "conversation", LLM_ANSWER_TEXT, LLM_THINKING_BETWEEN_TOOLS,
		  "low", 1024 + 1024, false },
		{ "claude-sonnet-5-5", "adaptive between_tools", all, true,
		  "recorder", LLM_ANSWER_JSON_SCHEMA, LLM_THINKING_ADAPTIVE,
		  "medium", 1500 + 4096, false },
		{ "claude-sonnet-5-5", "adaptive between_tools", all, true,
		  "context_manager", LLM_ANSWER_JSON_SCHEMA,
		  LLM_THINKING_ADAPTIVE, "low", 300 + 512, false },
		{ "claude-haiku-5-5", "adaptive disabled", all, true,
		  "context_manager", LLM_ANSWER_JSON_SCHEMA,
		  LLM_THINKING_DISABLED, "low", 300, false },
		{ "claude-haiku-5-5", "adaptive disabled", all, true,
		  "conversation", LLM_ANSWER_TEXT, LLM_THINKING_ADAPTIVE, "low",
		  2048, false },
		{ "claude-opus-5-5", "adaptive", all, true, "context_manager",
		  LLM_ANSWER_JSON_SCHEMA, LLM_THINKING_ADAPTIVE, "low", 812,
		  false },
		{ "claude-fable-5-2", "adaptive", "medium high xhigh max", true,
		  "gap_detector", LLM_ANSWER_JSON_SCHEMA, LLM_THINKING_ADAPTIVE,
		  "medium", 1200 + 1024, false },
		/* Haiku 4.5: no effort, thinking off unless enabled, sampling. */
		{ "claude-haiku-4-5-20251001", "enabled disabled", NULL, true,
		  "context_manager", LLM_ANSWER_JSON_SCHEMA,
		  LLM_THINKING_DISABLED, NULL, 300, true },
		{ "claude-haiku-4-5-20251001", "enabled disabled", NULL, true,
		  "conversation", LLM_ANSWER_TEXT, LLM_THINKING_OMIT, NULL,
		  1024, true },
		/* Without structured outputs: a forced tool, without thinking. */
		{ "claude-haiku-4-5-20251001", "enabled disabled", NULL, false,
		  "recorder", LLM_ANSWER_FORCED_TOOL, LLM_THINKING_OMIT,
		  NULL, 1500, true },
		/* Neither: a strict tool the model chooses to call. */
		{ "claude-sonnet-5-5", "adaptive", all, false, "recorder",
		  LLM_ANSWER_STRICT_TOOL, LLM_THINKING_ADAPTIVE, "medium",
		  1500 + 4096, false },
	};
	struct llm_model	 m;
	struct agent_plan	 p;
	size_t			 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		model_info(&m, rows[i].model, rows[i].thinking, rows[i].efforts,
		    rows[i].structured);
		p = plan_of(rows[i].agent, &m, LLM_API_VERSION_CURRENT);
		ck_assert_msg(p.answer == rows[i].answer, "row %zu: answer %d",
		    i, p.answer);
		ck_assert_msg(p.thinking == rows[i].think, "row %zu: thinking %d",
		    i, p.thinking);
		ck_assert_msg(rows[i].effort == NULL ? p.effort == NULL :
		    p.effort != NULL && strcmp(p.effort, rows[i].effort) == 0,
		    "row %zu: effort %s", i, p.effort != NULL ? p.effort : "none");
		ck_assert_msg(p.max_tokens == rows[i].max_tokens,
		    "row %zu: max_tokens %d", i, p.max_tokens);
		/* No sampling parameter ever goes out on 2026-10-21. */
		ck_assert_msg(!p.has_temperature, "row %zu: temperature", i);
		ck_assert((p.schema != NULL) == (p.answer != LLM_ANSWER_TEXT));
		agent_plan_free(&p);
		p = plan_of(rows[i].agent, &m, LLM_API_VERSION_LEGACY);
		ck_assert_msg(p.has_temperature == rows[i].temperature_legacy,
		    "row %zu: temperature on 2023-06-01", i);
		agent_plan_free(&p);
	}
}
END_TEST

/* Disabled thinking never goes with an effort above high. */
START_TEST(test_plan_effort_caps)
{
	struct llm_model	 m;
	struct agent_plan	 p;

	model_info(&m, "claude-haiku-5-5", "adaptive disabled", "xhigh max",
	    true);
	p = plan_of("context_manager", &m, LLM_API_VERSION_CURRENT);
	ck_assert_int_eq(p.thinking, LLM_THINKING_DISABLED);
	ck_assert_ptr_null(p.effort);
	agent_plan_free(&p);
	/* The nearest lower level the model has. */
	model_info(&m, "claude-opus-5-5", "adaptive", "low high", true);
	p = plan_of("recorder", &m, LLM_API_VERSION_CURRENT);
	ck_assert_str_eq(p.effort, "low");
	agent_plan_free(&p);
	/* Nothing lower: the nearest higher one. */
	model_info(&m, "claude-opus-5-5", "adaptive", "high max", true);
	p = plan_of("recorder", &m, LLM_API_VERSION_CURRENT);
	ck_assert_str_eq(p.effort, "high");
	agent_plan_free(&p);
	/* max_tokens never exceeds the model's. */
	model_info(&m, "claude-haiku-4-5-20251001", "adaptive", "low medium high xhigh max",
	    true);
	m.max_tokens = 1000;
	p = plan_of("strategic_planner", &m, LLM_API_VERSION_CURRENT);
	ck_assert_int_eq(p.max_tokens, 1000);
	agent_plan_free(&p);
}
END_TEST

static const char *const strict_keywords[] = {
	"type", "enum", "const", "anyOf", "allOf", "$ref", "$defs",
	"description", "title", "properties", "required",
	"additionalProperties", "format", "items", "minItems",
};

static void
strict_walk(json_object *node, const char *where)
{
	json_object	*v;
	size_t		 k;
	bool		 known;

	ck_assert_msg(json_object_is_type(node, json_type_object), "%s", where);
	json_object_object_foreach(node, key, val) {
		known = false;
		for (k = 0; k < sizeof(strict_keywords) /
		    sizeof(strict_keywords[0]); k++)
			known = known || strcmp(key, strict_keywords[k]) == 0;
		ck_assert_msg(known, "%s: %s is outside the subset", where, key);
		(void)val;
	}
	if (json_object_object_get_ex(node, "minItems", &v))
		ck_assert(json_object_get_int(v) <= 1);
	if (json_object_object_get_ex(node, "type", &v) &&
	    strcmp(json_object_get_string(v), "object") == 0) {
		ck_assert_msg(json_object_object_get_ex(node,
		    "additionalProperties", &v) && !json_object_get_boolean(v),
		    "%s: additionalProperties", where);
		json_object_object_foreach(member(node, "properties"), pk, pv)
			strict_walk(pv, pk);
	}
	if (json_object_object_get_ex(node, "items", &v))
		strict_walk(v, where);
}

/* What is sent stays in the API's schema subset; the ranges stay readable. */
START_TEST(test_strict_schemas)
{
	struct llm_model	 m;
	struct agent_plan	 p;
	json_object		*conf;
	size_t			 i;

	llm_model_defaults("claude-sonnet-5-5", &m);
	for (i = 0; i < agent_count; i++) {
		if (agent_table[i].answer_name == NULL)
			continue;
		agent_plan_make(&agent_table[i], m.id, &m,
		    LLM_API_VERSION_CURRENT, &p);
		ck_assert_ptr_nonnull(p.schema);
		ck_assert_str_eq(json_object_get_string(member(p.schema,
		    "title")), agent_table[i].answer_name);
		strict_walk(p.schema, agent_table[i].name);
		agent_plan_free(&p);
	}
	agent_plan_make(agent_find("context_manager"), m.id, &m,
	    LLM_API_VERSION_CURRENT, &p);
	conf = member(member(p.schema, "properties"), "confidence");
	ck_assert_ptr_nonnull(strstr(json_object_get_string(member(conf,
	    "description")), "maximum: 100"));
	agent_plan_free(&p);
	/* The original, with its ranges, is untouched for the client's check. */
	ck_assert_ptr_nonnull(member(member(member(agent_schema(agent_find(
	    "context_manager")), "properties"), "confidence"), "maximum"));
}
END_TEST

/* The built-in table knows today's lineup and prices the exact ids. */
static void
plans_problem(void *arg, enum plan_problem kind, const char *text)
{
	(void)arg;
	(void)kind;
	(void)text;
}

/*
 * A turn's context budget counts characters per token of its agents' most
 * token-hungry model: the newer tokenizer (3) if any of them has it, Haiku
 * 4.5's (4) only when all do. Document agents keep their own.
 */
START_TEST(test_plans_chars_per_token)
{
	static const struct {
		const char	*fast, *main, *agents;
		int		 turn;
	} cases[] = {
		{ "claude-haiku-5-5", "claude-sonnet-5-5", "", 3 },
		{ "claude-haiku-4-5-20251001", "claude-opus-4-5", "", 4 },
		{ "claude-haiku-4-5-20251001", "claude-opus-4-5",
		  "recorder=claude-sonnet-5-5", 3 },
		{ "claude-haiku-4-5-20251001", "claude-opus-4-5",
		  "brief_writer=claude-sonnet-5-5", 4 },
	};
	struct bs_config	 cfg;
	struct agent_plans	 ps;
	char			 version[] = LLM_API_VERSION_CURRENT, fast[64],
				 main_model[64], agents[64];
	bool			 refuse;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&cfg, 0, sizeof(cfg));
		snprintf(fast, sizeof(fast), "%s", cases[i].fast);
		snprintf(main_model, sizeof(main_model), "%s", cases[i].main);
		snprintf(agents, sizeof(agents), "%s", cases[i].agents);
		cfg.claude_model_fast = fast;
		cfg.claude_model = main_model;
		cfg.agent_models = agents;
		cfg.claude_api_version = version;
		ck_assert_int_eq(agent_plans_make(&cfg, NULL, &ps, &refuse,
		    plans_problem, NULL), BS_OK);
		ck_assert_msg(ps.turn_chars_per_token == cases[i].turn,
		    "case %zu: %d", i, ps.turn_chars_per_token);
		agent_plans_free(&ps);
	}
	ck_assert_int_eq(llm_chars_per_token("claude-sonnet-5-5"), 3);
	ck_assert_int_eq(llm_chars_per_token("claude-haiku-4-5-20251001"), 4);
	ck_assert_int_eq(llm_chars_per_token("claude-unknown-9"), 3);
}
END_TEST

START_TEST(test_model_table)
{
	static const char *const current[] = { "claude-sonnet-5-5",
	    "claude-haiku-5-5", "claude-opus-5-5", "claude-fable-5-2" };
	struct llm_price	 price;
	struct llm_model	 m;
	size_t			 i;

	for (i = 0; i < sizeof(current) / sizeof(current[0]); i++) {
		ck_assert_msg(llm_price_of(current[i], false, &price), "%s",
		    current[i]);
		ck_assert(price.in > 0 && price.out > price.in &&
		    price.cache_read < price.in &&
		    price.cache_write_1h > price.cache_write_5m);
		llm_model_defaults(current[i], &m);
		ck_assert(!m.forced_tool && !m.sampling && m.thinks_by_default);
	}
	ck_assert(llm_price_of("claude-haiku-5-5", false, &price));
	ck_assert(price.in == 0.10 && price.out == 0.50);
	/* Haiku 5.5 over 100K prompt tokens: five times, output included. */
	ck_assert(llm_price_of("claude-haiku-5-5", true, &price));
	ck_assert_double_eq_tol(price.in, 0.50, 1e-12);
	ck_assert_double_eq_tol(price.out, 2.50, 1e-12);
	ck_assert_double_eq_tol(price.cache_write_5m, 0.625, 1e-12);
	ck_assert_double_eq_tol(price.cache_write_1h, 1.00, 1e-12);
	ck_assert_double_eq_tol(price.cache_read, 0.05, 1e-12);
	/* One price whatever the prompt. */
	ck_assert(llm_price_of("claude-sonnet-5-5", true, &price));
	ck_assert(price.in == 2.0 && price.out == 10.0);
	ck_assert(!llm_price_of("claude-sonnet", false, &price));
	ck_assert(!llm_price_of("claude-sonnet-4-5-20250929-x", true, &price));
	llm_model_defaults("claude-unknown-9", &m);
	ck_assert(!m.forced_tool && !m.sampling && !m.structured_outputs);
	ck_assert_int_eq(llm_effort_parse("xhigh"), 3);
	ck_assert_int_eq(llm_effort_parse("ultra"), -1);
}
END_TEST

/* ModelInfo: lifecycle, retirement, capabilities; garbage is refused. */
START_TEST(test_model_parse)
{
	static const char retired[] = "{\"type\":\"model\",\"id\":"
	    "\"claude-sonnet-4-5-20250929\",\"lifecycle\":\"retired\","
	    "\"retires_at\":\"2026-11-30T00:00:00Z\",\"max_tokens\":64000,"
	    "\"capabilities\":null}";
	static const char deprecated[] = "{\"id\":\"claude-opus-4-5-20251101\","
	    "\"lifecycle\":\"deprecated\",\"retires_at\":"
	    "\"2027-01-22T00:00:00Z\",\"line\":\"opus\",\"created_at\":"
	    "\"2025-11-24T00:00:00Z\"}";
	static const char *const bad[] = { "[]", "{\"id\":7}", "{",
	    "{\"id\":\"a b\"}", "{\"id\":\"x\",\"retires_at\":5}" };
	struct llm_model	 m;
	char			 err[128];
	size_t			 i;

	ck_assert_int_eq(llm_model_parse("claude-sonnet-4-5-20250929", retired,
	    strlen(retired), &m, err, sizeof(err)), BS_OK);
	ck_assert_int_eq(m.lifecycle, LLM_LIFECYCLE_RETIRED);
	ck_assert_str_eq(m.retires_at, "2026-11-30T00:00:00Z");
	ck_assert_int_eq(llm_model_parse("claude-opus-4-5", deprecated,
	    strlen(deprecated), &m, err, sizeof(err)), BS_OK);
	ck_assert_int_eq(m.lifecycle, LLM_LIFECYCLE_DEPRECATED);
	ck_assert_str_eq(m.resolved, "claude-opus-4-5-20251101");
	ck_assert_str_eq(m.line, "opus");
	ck_assert_str_eq(m.created_at, "2025-11-24T00:00:00Z");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(llm_model_parse("x", bad[i], strlen(bad[i]), &m,
		    err, sizeof(err)) == BS_ERR_INVALID, "%s", bad[i]);
}
END_TEST

/* A model as the Models API described it, for the watch's comparisons. */
static struct llm_model
model_said(enum llm_lifecycle l, const char *retires_at, bool checked)
{
	struct llm_model m;

	llm_model_defaults("claude-haiku-5-5", &m);
	m.lifecycle = l;
	snprintf(m.retires_at, sizeof(m.retires_at), "%s", retires_at);
	m.checked = checked;
	return m;
}

/* What the model watch logs when a model's answer changes, and at what level. */
START_TEST(test_model_watch_news)
{
	static const struct {
		enum llm_lifecycle	 was;
		const char		*was_at;
		bool			 was_checked;
		enum llm_lifecycle	 now;
		const char		*now_at;
		int			 level;	/* -1: nothing said */
		const char		*says;
	} cases[] = {
		{ LLM_LIFECYCLE_ACTIVE, "", true, LLM_LIFECYCLE_ACTIVE, "", -1,
		  NULL },
		{ LLM_LIFECYCLE_ACTIVE, "", true, LLM_LIFECYCLE_DEPRECATED,
		  "2027-03-01T00:00:00Z", LOG_LEVEL_WARN, "is now deprecated "
		  "and retires at 2027-03-01T00:00:00Z: before then, set "
		  "CLAUDE_MODEL" },
		{ LLM_LIFECYCLE_DEPRECATED, "2027-03-01T00:00:00Z", true,
		  LLM_LIFECYCLE_DEPRECATED, "2027-03-01T00:00:00Z", -1, NULL },
		{ LLM_LIFECYCLE_DEPRECATED, "2027-03-01T00:00:00Z", true,
		  LLM_LIFECYCLE_DEPRECATED, "2027-02-01T00:00:00Z",
		  LOG_LEVEL_WARN, "now retires at 2027-02-01T00:00:00Z (it was "
		  "2027-03-01T00:00:00Z)" },
		{ LLM_LIFECYCLE_DEPRECATED, "2027-03-01T00:00:00Z", true,
		  LLM_LIFECYCLE_RETIRED, "2027-03-01T00:00:00Z",
		  LOG_LEVEL_ERROR, "is now retired: its calls fail; set "
		  "CLAUDE_MODEL" },
		{ LLM_LIFECYCLE_ACTIVE, "", true, LLM_LIFECYCLE_UNKNOWN, "",
		  LOG_LEVEL_ERROR, "is now unknown to the API" },
		{ LLM_LIFECYCLE_RETIRED, "2027-03-01T00:00:00Z", true,
		  LLM_LIFECYCLE_UNKNOWN, "", -1, NULL },
		{ LLM_LIFECYCLE_DEPRECATED, "2027-03-01T00:00:00Z", true,
		  LLM_LIFECYCLE_ACTIVE, "", LOG_LEVEL_INFO, "is active again" },
		{ LLM_LIFECYCLE_ACTIVE, "", true, LLM_LIFECYCLE_ACTIVE,
		  "2027-05-01T00:00:00Z", LOG_LEVEL_WARN, "is to retire at "
		  "2027-05-01T00:00:00Z" },
		/* The start got no answer: nothing known, nothing to compare. */
		{ LLM_LIFECYCLE_UNKNOWN, "", false, LLM_LIFECYCLE_ACTIVE, "", -1,
		  NULL },
		{ LLM_LIFECYCLE_UNKNOWN, "", false, LLM_LIFECYCLE_DEPRECATED,
		  "", LOG_LEVEL_WARN, "retires at a date not yet set" },
	};
	struct llm_model	 was, now;
	enum log_level		 level;
	char			 text[512];
	size_t			 i;
	bool			 said;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		was = model_said(cases[i].was, cases[i].was_at,
		    cases[i].was_checked);
		now = model_said(cases[i].now, cases[i].now_at, true);
		text[0] = '\0';
		said = model_watch_news(&was, &now, "set CLAUDE_MODEL, "
		    "CLAUDE_MODEL_FAST or AGENT_MODELS to X", &level, text,
		    sizeof(text));
		ck_assert_msg(said == (cases[i].level >= 0), "case %zu: %s", i,
		    text);
		if (!said)
			continue;
		ck_assert_msg((int)level == cases[i].level, "case %zu", i);
		ck_assert_msg(strstr(text, "model claude-haiku-5-5 ") == text &&
		    strstr(text, cases[i].says) != NULL, "case %zu: %s", i,
		    text);
	}
	/* An answer that did not come says nothing. */
	was = model_said(LLM_LIFECYCLE_ACTIVE, "", true);
	now = model_said(LLM_LIFECYCLE_RETIRED, "", false);
	ck_assert(!model_watch_news(&was, &now, "", &level, text, sizeof(text)));
}
END_TEST

/* The advice names the newest active model of the line, newer than the one going. */
START_TEST(test_model_successor)
{
	static const char page[] = "{\"data\":["
	    "{\"id\":\"claude-opus-6\",\"lifecycle\":\"deprecated\","
	    "\"line\":\"opus\",\"created_at\":\"2026-11-20T00:00:00Z\"},"
	    "{\"id\":7,\"line\":\"opus\"},"
	    "{\"id\":\"claude-haiku-5-5\",\"lifecycle\":\"active\","
	    "\"line\":\"haiku\",\"created_at\":\"2026-10-07T00:00:00Z\"},"
	    "{\"id\":\"claude-opus-5-5\",\"line\":\"opus\","
	    "\"created_at\":\"2026-08-18T00:00:00Z\"},"
	    "{\"id\":\"claude-opus-5\",\"lifecycle\":\"active\","
	    "\"line\":\"opus\",\"created_at\":\"2026-05-05T00:00:00Z\"},"
	    "{\"id\":\"claude-haiku-4-5-20251001\",\"lifecycle\":"
	    "\"active\",\"line\":\"haiku\",\"created_at\":"
	    "\"2025-10-15T00:00:00Z\"}],\"has_more\":false}";
	static const struct {
		const char	*id, *line, *created_at, *successor;
	} cases[] = {
		/* No lifecycle reported: active. */
		{ "claude-opus-4-5-20251101", "opus", "2025-11-24T00:00:00Z",
		  "claude-opus-5-5" },
		/* Itself is never its successor; an older one neither. */
		{ "claude-opus-5-5", "opus", "2026-08-18T00:00:00Z", NULL },
		{ "claude-haiku-5-5", "haiku", "2026-10-07T00:00:00Z", NULL },
		/* No release date known: the newest other one. */
		{ "claude-opus-4-5", "opus", "", "claude-opus-5-5" },
		{ "claude-fable-5", "fable", "2026-05-19T00:00:00Z", NULL },
	};
	struct llm_model	 m;
	char			 out[LLM_ID_MAX], advice[512];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		llm_model_defaults(cases[i].id, &m);
		snprintf(m.line, sizeof(m.line), "%s", cases[i].line);
		snprintf(m.created_at, sizeof(m.created_at), "%s",
		    cases[i].created_at);
		ck_assert_msg(llm_models_newest(page, strlen(page), &m, out,
		    sizeof(out)) == (cases[i].successor != NULL ? BS_OK :
		    BS_ERR_NOT_FOUND), "case %zu: %s", i, out);
		ck_assert_str_eq(out, cases[i].successor != NULL ?
		    cases[i].successor : "");
	}
	ck_assert_int_eq(llm_models_newest("[]", 2, &m, out, sizeof(out)),
	    BS_ERR_INVALID);
	/* Not asked: the list this build knows, and where to find today's. */
	llm_model_defaults("claude-opus-4-5-20251101", &m);
	agent_models_advice(NULL, &m, advice, sizeof(advice));
	ck_assert_msg(strstr(advice, "GET /v1/models lists them") != NULL &&
	    strstr(advice, "claude-sonnet-5-5") != NULL, "%s", advice);
}
END_TEST

/* The gauges: a row per lifecycle, a retirement only when announced. */
START_TEST(test_model_gauges)
{
	struct buf	 out;

	metrics_init();
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(metrics_render(&out, NULL), BS_OK);
	ck_assert(strstr(buf_cstr(&out), "\nclaude_models_checked_at_seconds 0\n"));
	ck_assert(strstr(buf_cstr(&out), "claude_model_lifecycle{") == NULL);
	metrics_claude_model("claude-opus-4-5-20251101", "deprecated",
	    1800576000LL);
	metrics_claude_model("claude-haiku-5-5", "active", 0);
	metrics_claude_model("claude-haiku-5-5", "retired", 1796083200LL);
	metrics_claude_model("claude-x\"y", "sideways", 0);
	metrics_claude_models_checked(1796083200LL);
	buf_reset(&out);
	ck_assert_int_eq(metrics_render(&out, NULL), BS_OK);
	ck_assert(strstr(buf_cstr(&out), "claude_model_lifecycle{model="
	    "\"claude-opus-4-5-20251101\",lifecycle=\"deprecated\"} 1\n"));
	ck_assert(strstr(buf_cstr(&out), "claude_model_lifecycle{model="
	    "\"claude-opus-4-5-20251101\",lifecycle=\"active\"} 0\n"));
	ck_assert(strstr(buf_cstr(&out), "claude_model_lifecycle{model="
	    "\"claude-haiku-5-5\",lifecycle=\"retired\"} 1\n"));
	ck_assert(strstr(buf_cstr(&out), "claude_model_lifecycle{model="
	    "\"claude-haiku-5-5\",lifecycle=\"active\"} 0\n"));
	ck_assert(strstr(buf_cstr(&out), "claude_model_retires_at_seconds{"
	    "model=\"claude-haiku-5-5\"} 1796083200\n"));
	/* A label is cleaned; a lifecycle this program does not know is unknown. */
	ck_assert(strstr(buf_cstr(&out), "claude_model_lifecycle{model="
	    "\"claude-x_y\",lifecycle=\"unknown\"} 1\n"));
	ck_assert(strstr(buf_cstr(&out), "claude_model_retires_at_seconds{"
	    "model=\"claude-x_y\"}") == NULL);
	ck_assert(strstr(buf_cstr(&out), "\nclaude_models_checked_at_seconds "
	    "1796083200\n"));
	buf_free(&out);
	metrics_init();
}
END_TEST

START_TEST(test_validate_accepts_valid_answers)
{
	char	 err[256];
	size_t	 i;

	for (i = 0; i < NVALID; i++) {
		memset(err, 'x', sizeof(err));
		ck_assert_msg(check_text(agent_schema(agent_find(
		    valid_answers[i].agent)), valid_answers[i].json, err,
		    sizeof(err)) == BS_OK, "%s: %s", valid_answers[i].agent,
		    err);
		ck_assert_str_eq(err, "");
	}
	ck_assert_int_eq(check_text(recorder_schema(),
	    one_change("reason", NULL), err, sizeof(err)), BS_OK);
}
END_TEST

START_TEST(test_validate_wrong_type)
{
	json_object	*s = recorder_schema();

	assert_refused(s, "[]", "input: must be an object, not an array");
	assert_refused(s, "null", "input: must be an object, not null");
	assert_refused(s, "{\"changes\":{}}",
	    "changes: must be an array, not an object");
	assert_refused(s, one_change("confidence", "\"80\""),
	    "changes[0].confidence: must be an integer, not a string");
	/* "integer" means a JSON integer: 80.0 is a number, refused. */
	assert_refused(s, one_change("confidence", "80.0"),
	    "changes[0].confidence: must be an integer, not a number");
	assert_refused(s, one_change("confidence", "true"),
	    "changes[0].confidence: must be an integer, not a boolean");
	assert_refused(s, one_change("text", "null"),
	    "changes[0].text: must be a string, not null");
	assert_refused(s, one_change("text", "[\"a\"]"),
	    "changes[0].text: must be a string, not an array");
	assert_refused(s, "{\"changes\":[\"add\"]}",
	    "changes[0]: must be an object, not a string");
}
END_TEST

START_TEST(test_validate_missing_required)
{
	json_object	*s = recorder_schema();
	char		 text[512];

	assert_refused(s, "{}", "changes: is required");
	assert_refused(s, one_change("user_quote", NULL),
	    "changes[0].user_quote: is required");
	assert_refused(s, one_change("confidence", NULL),
	    "changes[0].confidence: is required");
	/* The second item of three. */
	snprintf(text, sizeof(text), "{\"changes\":[{\"action\":\"add\","
	    "\"text\":\"a\",\"state\":\"parked\",\"user_quote\":\"a\","
	    "\"confidence\":1},{\"action\":\"add\",\"text\":\"b\","
	    "\"state\":\"parked\",\"confidence\":1},{}]}");
	assert_refused(s, text, "changes[1].user_quote: is required");
	/* item_id and reason are optional. */
	ck_assert_int_eq(check_text(s, one_change("item_id", NULL), NULL, 0),
	    BS_OK);
}
END_TEST

START_TEST(test_validate_unknown_key)
{
	json_object	*s = recorder_schema();

	assert_refused(s, "{\"changes\":[],\"mood\":\"happy\"}",
	    "mood: unknown property");
	assert_refused(s, one_change("extra", "1"),
	    "changes[0].extra: unknown property");
	/* A model's key is shown printable and short. */
	assert_refused(s, "{\"changes\":[],\"a\\nb\\u00e9"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":1}",
	    "a?b??xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: unknown property");
}
END_TEST

START_TEST(test_validate_enum)
{
	json_object	*s = recorder_schema();
	char		 text[1024];

	snprintf(text, sizeof(text), "{\"changes\":["
	    "{\"action\":\"add\",\"text\":\"a\",\"state\":\"parked\","
	    "\"user_quote\":\"a\",\"confidence\":1},"
	    "{\"action\":\"move\",\"item_id\":\"i1\",\"text\":\"b\","
	    "\"state\":\"decided\",\"user_quote\":\"b\",\"confidence\":1},"
	    "{\"action\":\"add\",\"text\":\"c\",\"state\":\"rejected\","
	    "\"user_quote\":\"c\",\"confidence\":1}]}");
	assert_refused(s, text,
	    "changes[2].state: must be one of decided, exploring, parked");
	assert_refused(s, one_change("action", "\"Add\""),
	    "changes[0].action: must be one of add, move, modify");
	assert_refused(s, one_change("action", "1"),
	    "changes[0].action: must be a string, not an integer");
	assert_refused(agent_schema(agent_find("context_manager")),
	    "{\"intent\":\"planning\",\"confidence\":50}",
	    "intent: must be one of brainstorming, deciding, modifying, "
	    "exploring, parking, reviewing, development, general");
}
END_TEST

START_TEST(test_validate_min_max)
{
	json_object	*s = recorder_schema();

	ck_assert_int_eq(check_text(s, one_change("confidence", "0"), NULL,
	    0), BS_OK);
	ck_assert_int_eq(check_text(s, one_change("confidence", "100"), NULL,
	    0), BS_OK);
	assert_refused(s, one_change("confidence", "101"),
	    "changes[0].confidence: must be from 0 to 100");
	assert_refused(s, one_change("confidence", "-1"),
	    "changes[0].confidence: must be from 0 to 100");
	assert_refused(s, one_change("confidence",
	    "99999999999999999999999"),
	    "changes[0].confidence: must be from 0 to 100");
	assert_refused(agent_schema(agent_find("quality_auditor")),
	    "{\"findings\":[{\"change_index\":8,\"kind\":\"risk\","
	    "\"severity\":\"low\",\"explanation\":\"x\"}]}",
	    "findings[0].change_index: must be from 0 to 7");
	assert_refused(agent_schema(agent_find("prioritizer")),
	    "{\"priorities\":[{\"item_id\":\"a\",\"rank\":0,"
	    "\"rationale\":\"x\"}]}",
	    "priorities[0].rank: must be from 1 to 100");
}
END_TEST

/* Lengths count characters, not bytes. */
START_TEST(test_validate_string_length)
{
	json_object	*s = recorder_schema();
	char		 want[128];

	/* 64 two-byte, three-byte and four-byte characters fit. */
	ck_assert_int_eq(check_text(s, one_change("item_id",
	    repeated("\xc3\xa9", 64)), NULL, 0), BS_OK);
	ck_assert_int_eq(check_text(s, one_change("item_id",
	    repeated("\xe2\x82\xac", 64)), NULL, 0), BS_OK);
	ck_assert_int_eq(check_text(s, one_change("item_id",
	    repeated("\xf0\x9f\x98\x80", 64)), NULL, 0), BS_OK);
	assert_refused(s, one_change("item_id", repeated("\xc3\xa9", 65)),
	    "changes[0].item_id: must be at most 64 characters long, "
	    "not 65");
	assert_refused(s, one_change("reason", repeated("a", 301)),
	    "changes[0].reason: must be at most 300 characters long, "
	    "not 301");
	ck_assert_int_eq(check_text(s, one_change("reason",
	    repeated("\xf0\x9f\x98\x80", 300)), NULL, 0), BS_OK);
	ck_assert_int_eq(check_text(s, one_change("text",
	    repeated("\xe2\x82\xac", 2000)), NULL, 0), BS_OK);
	snprintf(want, sizeof(want), "changes[0].text: must be 1 to 2000 "
	    "characters long, not 2001");
	assert_refused(s, one_change("text", repeated("\xe2\x82\xac", 2001)),
	    want);
	assert_refused(s, one_change("text", "\"\""),
	    "changes[0].text: must not be empty");
	assert_refused(s, one_change("user_quote", "\"a\\u0000b\""),
	    "changes[0].user_quote: must not contain NUL characters");
	assert_refused(s, one_change("user_quote", "\"a\xff\""),
	    "changes[0].user_quote: must be valid UTF-8");
}
END_TEST

START_TEST(test_validate_array_bounds)
{
	json_object	*s = recorder_schema();
	char		 text[4096];
	size_t		 used, i;

	for (i = 8; i <= 9; i++) {
		size_t	 k;

		used = (size_t)snprintf(text, sizeof(text), "{\"changes\":[");
		for (k = 0; k < i; k++)
			used += (size_t)snprintf(text + used,
			    sizeof(text) - used, "%s{\"action\":\"add\","
			    "\"text\":\"t\",\"state\":\"exploring\","
			    "\"user_quote\":\"q\",\"confidence\":50}",
			    k == 0 ? "" : ",");
		snprintf(text + used, sizeof(text) - used, "]}");
		if (i == 8)
			ck_assert_int_eq(check_text(s, text, NULL, 0), BS_OK);
		else
			assert_refused(s, text,
			    "changes: must have at most 8 items, not 9");
	}
	assert_refused(agent_schema(agent_find("reviewer")),
	    "{\"summary\":\"s\",\"strengths\":[\"a\",\"b\",\"c\",\"d\","
	    "\"e\",\"f\",\"g\"],\"weaknesses\":[]}",
	    "strengths: must have at most 6 items, not 7");
	assert_refused(agent_schema(agent_find("reviewer")),
	    "{\"summary\":\"s\",\"strengths\":[],\"weaknesses\":[\"\"]}",
	    "weaknesses[0]: must not be empty");
}
END_TEST

/* Keywords the agent schemas do not use yet. */
START_TEST(test_validate_other_keywords)
{
	json_object	*s;

	s = parse("{\"type\":\"object\",\"properties\":{"
	    "\"n\":{\"type\":\"number\",\"minimum\":0.5},"
	    "\"m\":{\"type\":\"integer\",\"maximum\":3},"
	    "\"list\":{\"type\":\"array\",\"minItems\":2,"
	     "\"items\":{\"type\":[\"string\",\"null\"],\"minLength\":2}},"
	    "\"level\":{\"enum\":[1,2,3]},"
	    "\"deep\":{\"type\":\"object\",\"properties\":{\"a\":{"
	     "\"type\":\"object\",\"properties\":{\"b\":{\"type\":"
	     "\"boolean\"}}}}},"
	    "\"open\":{\"type\":\"object\"}},"
	    "\"additionalProperties\":false}");
	ck_assert_int_eq(check_text(s, "{\"n\":0.5,\"m\":-7,\"list\":"
	    "[\"ab\",null],\"level\":2,\"deep\":{\"a\":{\"b\":true,\"c\":1}},"
	    "\"open\":{\"x\":1}}", NULL, 0), BS_OK);
	ck_assert_int_eq(check_text(s, "{\"n\":7}", NULL, 0), BS_OK);
	assert_refused(s, "{\"n\":0.25}", "n: must be at least 0.5");
	assert_refused(s, "{\"n\":\"1\"}", "n: must be a number, not a string");
	assert_refused(s, "{\"m\":4}", "m: must be at most 3");
	assert_refused(s, "{\"list\":[\"ab\"]}",
	    "list: must have at least 2 items, not 1");
	assert_refused(s, "{\"list\":[\"ab\",\"c\"]}",
	    "list[1]: must be at least 2 characters long, not 1");
	assert_refused(s, "{\"list\":[\"ab\",3]}",
	    "list[1]: must be a string or null, not an integer");
	assert_refused(s, "{\"level\":4}", "level: must be one of 1, 2, 3");
	assert_refused(s, "{\"level\":\"2\"}", "level: must be one of 1, 2, 3");
	assert_refused(s, "{\"deep\":{\"a\":{\"b\":1}}}",
	    "deep.a.b: must be a boolean, not an integer");
	json_object_put(s);
}
END_TEST

START_TEST(test_validate_schema_problems)
{
	json_object	*s, *v;
	char		 err[256];

	v = parse("{\"a\":\"x\"}");
	s = parse("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	    "\"string\",\"pattern\":\"^x$\"}}}");
	ck_assert_int_eq(json_schema_validate(s, v, err, sizeof(err)),
	    BS_ERR_INTERNAL);
	ck_assert_str_eq(err, "a: schema keyword pattern is not supported");
	json_object_put(s);
	s = parse("{\"type\":\"text\"}");
	ck_assert_int_eq(json_schema_validate(s, v, err, sizeof(err)),
	    BS_ERR_INTERNAL);
	json_object_put(s);
	s = parse("{\"type\":\"object\",\"additionalProperties\":{}}");
	ck_assert_int_eq(json_schema_validate(s, v, err, sizeof(err)),
	    BS_ERR_INTERNAL);
	json_object_put(s);
	s = parse("{\"type\":\"object\",\"properties\":{\"a\":{"
	    "\"maxLength\":-1}}}");
	ck_assert_int_eq(json_schema_validate(s, v, err, sizeof(err)),
	    BS_ERR_INTERNAL);
	json_object_put(s);
	ck_assert_int_eq(json_schema_validate(NULL, v, err, sizeof(err)),
	    BS_ERR_INTERNAL);
	json_object_put(v);
}
END_TEST

/* Recursion follows the schema and stops at a fixed depth. */
START_TEST(test_validate_depth_limit)
{
	json_object	*schema, *value, *inner;
	char		 err[256];
	int		 i;

	schema = json_object_new_object();
	json_object_object_add(schema, "type", json_object_new_string("null"));
	value = NULL;
	for (i = 0; i < 40; i++) {
		inner = schema;
		schema = json_object_new_object();
		json_object_object_add(schema, "type",
		    json_object_new_string("array"));
		json_object_object_add(schema, "items", inner);
		inner = value;
		value = json_object_new_array();
		json_object_array_add(value, inner);
	}
	ck_assert_int_eq(json_schema_validate(schema, value, err, sizeof(err)),
	    BS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "nested deeper than"));
	json_object_put(schema);
	json_object_put(value);
}
END_TEST

START_TEST(test_validate_error_buffer)
{
	json_object	*s = recorder_schema();
	char		 err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(check_text(s, one_change("state", "\"nope\""), err,
	    sizeof(err)), BS_ERR_INVALID);
	ck_assert_str_eq(err, "changes");
	ck_assert_int_eq(check_text(s, one_change("state", "\"nope\""), NULL,
	    0), BS_ERR_INVALID);
	ck_assert_int_eq(check_text(s, one_change("state", "\"nope\""), err,
	    0), BS_ERR_INVALID);
}
END_TEST

static Suite *
agents_suite(void)
{
	Suite	*s = suite_create("agents");
	TCase	*tc;

	tc = tcase_create("registry");
	tcase_add_test(tc, test_agent_contracts);
	tcase_add_test(tc, test_stage_a_settings);
	tcase_add_test(tc, test_names_and_tools_unique);
	tcase_add_test(tc, test_agent_find);
	tcase_add_test(tc, test_plans_by_model);
	tcase_add_test(tc, test_plan_effort_caps);
	tcase_add_test(tc, test_strict_schemas);
	tcase_add_test(tc, test_model_table);
	tcase_add_test(tc, test_plans_chars_per_token);
	tcase_add_test(tc, test_model_parse);
	tcase_add_test(tc, test_model_watch_news);
	tcase_add_test(tc, test_model_successor);
	tcase_add_test(tc, test_model_gauges);
	tcase_add_test(tc, test_intents);
	tcase_add_test(tc, test_classifier_enum_is_intents);
	tcase_add_test(tc, test_change_index_bounds);
	tcase_add_test(tc, test_workflows_name_known_agents);
	tcase_add_test(tc, test_every_agent_reachable);
	tcase_add_test(tc, test_every_schema_compiles);
	tcase_add_test(tc, test_schemas_parse_and_are_closed);
	tcase_add_test(tc, test_schemas_shared_between_threads);
	tcase_add_test(tc, test_prompts);
	tcase_add_test(tc, test_document_agents);
	suite_add_tcase(s, tc);

	tc = tcase_create("json_schema");
	tcase_add_test(tc, test_validate_accepts_valid_answers);
	tcase_add_test(tc, test_validate_wrong_type);
	tcase_add_test(tc, test_validate_missing_required);
	tcase_add_test(tc, test_validate_unknown_key);
	tcase_add_test(tc, test_validate_enum);
	tcase_add_test(tc, test_validate_min_max);
	tcase_add_test(tc, test_validate_string_length);
	tcase_add_test(tc, test_validate_array_bounds);
	tcase_add_test(tc, test_validate_other_keywords);
	tcase_add_test(tc, test_validate_schema_problems);
	tcase_add_test(tc, test_validate_depth_limit);
	tcase_add_test(tc, test_validate_error_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(agents_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
