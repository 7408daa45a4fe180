/*
 * The Claude client's request builder: a struct llm_request checked and
 * written as the Messages API's JSON body (system, messages, the answer's
 * tool or output format, thinking, effort). llm_client.c sends it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/json.h"
#include "brainstorm/llm.h"

#define LLM_THINKING_BUDGET_MIN	1024

/* output_config.effort, lowest first (CLAUDE-API.md section 4). */
static const char *const llm_efforts[] = {
	"low", "medium", "high", "xhigh", "max"
};
#define LLM_EFFORT_HIGH		2	/* the most that disabled thinking takes */

static bool
llm_text_ok(const char *s)
{
	return s != NULL && utf8_valid(s, strlen(s));
}

/*
 * The answer mode in force. A caller from before enum llm_answer sets only
 * tool, which then is forced as it always was.
 */
enum llm_answer
llm_request_answer(const struct llm_request *req)
{
	if (req->answer == LLM_ANSWER_TEXT && req->tool != NULL)
		return LLM_ANSWER_FORCED_TOOL;
	return req->answer;
}

/* The index of a known effort level, -1 for anything else. */
static int
llm_effort_index(const char *effort)
{
	size_t	 i;

	for (i = 0; i < sizeof(llm_efforts) / sizeof(llm_efforts[0]); i++)
		if (strcmp(effort, llm_efforts[i]) == 0)
			return (int)i;
	return -1;
}

static bs_err
llm_request_check(const struct llm_request *req, char *err, size_t errlen)
{
	enum llm_answer	 answer;
	size_t		 i;
	int		 effort = -1;

	if (req == NULL || req->model == NULL || req->model[0] == '\0' ||
	    !llm_text_ok(req->model)) {
		bs_errf(err, errlen, "the request has no model");
		return BS_ERR_INVALID;
	}
	if (req->max_tokens < 1) {
		bs_errf(err, errlen, "max_tokens must be at least 1");
		return BS_ERR_INVALID;
	}
	if (req->nmessages == 0 || req->messages == NULL) {
		bs_errf(err, errlen, "the request has no messages");
		return BS_ERR_INVALID;
	}
	for (i = 0; i < req->nmessages; i++) {
		const struct llm_message *m = &req->messages[i];

		if (m->role == NULL || (strcmp(m->role, "user") != 0 &&
		    strcmp(m->role, "assistant") != 0) ||
		    (i == 0 && strcmp(m->role, "user") != 0)) {
			bs_errf(err, errlen, "message %zu: the role must be "
			    "user or assistant, and the first user", i);
			return BS_ERR_INVALID;
		}
		if (!llm_text_ok(m->content)) {
			bs_errf(err, errlen, "message %zu: content missing or "
			    "not UTF-8", i);
			return BS_ERR_INVALID;
		}
	}
	if (req->system != NULL && !llm_text_ok(req->system)) {
		bs_errf(err, errlen, "the system prompt is not UTF-8");
		return BS_ERR_INVALID;
	}
	if (req->has_temperature && !(req->temperature >= 0.0 &&
	    req->temperature <= 1.0)) {
		bs_errf(err, errlen, "temperature must be within 0..1");
		return BS_ERR_INVALID;
	}
	answer = llm_request_answer(req);
	if ((unsigned)answer > LLM_ANSWER_FORCED_TOOL) {
		bs_errf(err, errlen, "unknown answer mode %d", (int)answer);
		return BS_ERR_INVALID;
	}
	if (answer != LLM_ANSWER_TEXT && req->tool == NULL) {
		bs_errf(err, errlen, "a structured answer needs a tool: its "
		    "name and schema");
		return BS_ERR_INVALID;
	}
	if (req->tool != NULL && (req->tool->name == NULL ||
	    req->tool->name[0] == '\0' || !llm_text_ok(req->tool->name) ||
	    (req->tool->description != NULL &&
	    !llm_text_ok(req->tool->description)) ||
	    !json_object_is_type(req->tool->input_schema, json_type_object))) {
		bs_errf(err, errlen, "the tool needs a name and an object "
		    "input_schema");
		return BS_ERR_INVALID;
	}
	if ((unsigned)req->thinking > LLM_THINKING_ENABLED) {
		bs_errf(err, errlen, "unknown thinking type %d",
		    (int)req->thinking);
		return BS_ERR_INVALID;
	}
	if (req->thinking == LLM_THINKING_ENABLED &&
	    (req->thinking_budget < LLM_THINKING_BUDGET_MIN ||
	    req->thinking_budget >= req->max_tokens)) {
		bs_errf(err, errlen, "the thinking budget must be at least %d "
		    "and below max_tokens (%d)", LLM_THINKING_BUDGET_MIN,
		    req->max_tokens);
		return BS_ERR_INVALID;
	}
	if (req->effort != NULL && (effort = llm_effort_index(req->effort)) < 0) {
		bs_errf(err, errlen, "effort must be low, medium, high, xhigh "
		    "or max");
		return BS_ERR_INVALID;
	}
	/* The API refuses disabled thinking above high on every model that has both. */
	if (req->thinking == LLM_THINKING_DISABLED && effort > LLM_EFFORT_HIGH) {
		bs_errf(err, errlen, "disabled thinking goes only with effort "
		    "low, medium or high");
		return BS_ERR_INVALID;
	}
	if (req->user_id != NULL && !llm_text_ok(req->user_id)) {
		bs_errf(err, errlen, "metadata user_id is not UTF-8");
		return BS_ERR_INVALID;
	}
	return BS_OK;
}

static bool
llm_body_system(json_object *root, const struct llm_request *req)
{
	json_object	*arr, *block, *cache;

	if (req->system == NULL)
		return true;
	if (!req->system_cache)
		return json_add(root, "system", json_object_new_string(req->system));
	/* The long stable prompt is the cached prefix: one block, marked. */
	if ((arr = json_object_new_array()) == NULL ||
	    !json_add(root, "system", arr))
		return false;
	if ((block = json_object_new_object()) == NULL || !json_push(arr, block))
		return false;
	if (!json_add(block, "type", json_object_new_string("text")) ||
	    !json_add(block, "text", json_object_new_string(req->system)))
		return false;
	if ((cache = json_object_new_object()) == NULL ||
	    !json_add(block, "cache_control", cache))
		return false;
	return json_add(cache, "type", json_object_new_string("ephemeral"));
}

static bool
llm_body_messages(json_object *root, const struct llm_request *req)
{
	json_object	*arr, *m;
	size_t		 i;

	if ((arr = json_object_new_array()) == NULL ||
	    !json_add(root, "messages", arr))
		return false;
	for (i = 0; i < req->nmessages; i++) {
		if ((m = json_object_new_object()) == NULL || !json_push(arr, m))
			return false;
		if (!json_add(m, "role", json_object_new_string(
		    req->messages[i].role)) ||
		    !json_add(m, "content", json_object_new_string(
		    req->messages[i].content)))
			return false;
	}
	return true;
}

/*
 * A copy, not a reference: taking a reference would write the shared
 * schema's refcount from many threads.
 */
static json_object *
llm_schema_copy(const struct llm_tool *tool)
{
	json_object	*copy = NULL;

	if (json_object_deep_copy(tool->input_schema, &copy, NULL) != 0) {
		json_object_put(copy);
		return NULL;
	}
	return copy;
}

/* tools and tool_choice of the tool answers. */
static bool
llm_body_tool(json_object *root, const struct llm_request *req,
    enum llm_answer answer)
{
	json_object	*tools, *tool, *choice;

	if (answer != LLM_ANSWER_STRICT_TOOL && answer != LLM_ANSWER_FORCED_TOOL)
		return true;
	if ((tools = json_object_new_array()) == NULL ||
	    !json_add(root, "tools", tools))
		return false;
	if ((tool = json_object_new_object()) == NULL || !json_push(tools, tool))
		return false;
	if (!json_add(tool, "name", json_object_new_string(req->tool->name)))
		return false;
	if (req->tool->description != NULL && !json_add(tool, "description",
	    json_object_new_string(req->tool->description)))
		return false;
	if (!json_add(tool, "input_schema", llm_schema_copy(req->tool)))
		return false;
	if ((choice = json_object_new_object()) == NULL ||
	    !json_add(root, "tool_choice", choice))
		return false;
	if (answer == LLM_ANSWER_STRICT_TOOL) {
		/* Models that refuse a forced tool still call a strict one. */
		return json_add(tool, "strict", json_object_new_boolean(1)) &&
		    json_add(choice, "type", json_object_new_string("auto")) &&
		    json_add(choice, "disable_parallel_tool_use",
		    json_object_new_boolean(1));
	}
	return json_add(choice, "type", json_object_new_string("tool")) &&
	    json_add(choice, "name", json_object_new_string(req->tool->name));
}

static bool
llm_body_thinking(json_object *root, const struct llm_request *req)
{
	static const char *const types[] = {
		[LLM_THINKING_ADAPTIVE] = "adaptive",
		[LLM_THINKING_DISABLED] = "disabled",
		[LLM_THINKING_BETWEEN_TOOLS] = "between_tools",
		[LLM_THINKING_ENABLED] = "enabled",
	};
	json_object	*thinking;

	if (req->thinking == LLM_THINKING_OMIT)
		return true;
	if ((thinking = json_object_new_object()) == NULL ||
	    !json_add(root, "thinking", thinking) ||
	    !json_add(thinking, "type", json_object_new_string(
	    types[req->thinking])))
		return false;
	return req->thinking != LLM_THINKING_ENABLED || json_add(thinking,
	    "budget_tokens", json_object_new_int(req->thinking_budget));
}

/* output_config: the JSON answer's format and the effort, in one object. */
static bool
llm_body_output(json_object *root, const struct llm_request *req,
    enum llm_answer answer)
{
	json_object	*config, *format;

	if (answer != LLM_ANSWER_JSON_SCHEMA && req->effort == NULL)
		return true;
	if ((config = json_object_new_object()) == NULL ||
	    !json_add(root, "output_config", config))
		return false;
	if (answer == LLM_ANSWER_JSON_SCHEMA) {
		if ((format = json_object_new_object()) == NULL ||
		    !json_add(config, "format", format) ||
		    !json_add(format, "type", json_object_new_string(
		    "json_schema")) ||
		    !json_add(format, "schema", llm_schema_copy(req->tool)))
			return false;
	}
	return req->effort == NULL || json_add(config, "effort",
	    json_object_new_string(req->effort));
}

bs_err
llm_request_body(const struct llm_request *req, struct buf *out, char *err,
    size_t errlen)
{
	json_object	*root = NULL, *meta;
	const char	*text;
	char		 num[32];
	enum llm_answer	 answer;
	bs_err		 e;

	if ((e = llm_request_check(req, err, errlen)) != BS_OK)
		goto out;
	e = BS_ERR_NOMEM;
	/* The members in one fixed order: the body is also a cache key. */
	answer = llm_request_answer(req);
	if ((root = json_object_new_object()) == NULL ||
	    !json_add(root, "model", json_object_new_string(req->model)) ||
	    !json_add(root, "max_tokens", json_object_new_int(req->max_tokens)) ||
	    !llm_body_system(root, req) || !llm_body_messages(root, req) ||
	    !llm_body_tool(root, req, answer) ||
	    !llm_body_thinking(root, req) ||
	    !llm_body_output(root, req, answer))
		goto nomem;
	if (req->stream && !json_add(root, "stream",
	    json_object_new_boolean(1)))
		goto nomem;
	if (req->has_temperature) {
		/* %.17g would send 0.69999999999999996 for 0.7. */
		snprintf(num, sizeof(num), "%.6g", req->temperature);
		if (!json_add(root, "temperature",
		    json_object_new_double_s(req->temperature, num)))
			goto nomem;
	}
	if (req->user_id != NULL) {
		if ((meta = json_object_new_object()) == NULL ||
		    !json_add(root, "metadata", meta) ||
		    !json_add(meta, "user_id", json_object_new_string(req->user_id)))
			goto nomem;
	}
	if ((text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL)
		goto nomem;
	buf_reset(out);
	if ((e = buf_puts(out, text)) != BS_OK)
		bs_errf(err, errlen, "the request body exceeds %zu bytes",
		    out->max);
	goto out;
nomem:
	bs_errf(err, errlen, "out of memory");
out:
	json_object_put(root);
	return e;
}
