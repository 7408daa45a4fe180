/*
 * What a Claude model accepts. The Models API (GET /v1/models/{id}) reports
 * a model's lifecycle, its max_tokens and most capabilities; the built-in
 * table below holds only what the API does not report: whether a forced
 * tool_choice is accepted, sampling parameters, thinking by default, the
 * cache minimum and prices. An id missing from the table gets the safe
 * answer: no forced tool, no sampling, no price. See docs/CLAUDE.md.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/buf.h"
#include "brainstorm/json.h"
#include "brainstorm/llm.h"

#define MODEL_INFO_MAX		(256 * 1024)
#define MODEL_INFO_DEPTH	16
#define MODEL_FETCH_TIMEOUT_MS	10000
#define CHARS_PER_TOKEN_NEWER	3	/* the newer tokenizer's, and the unknown's */

static const char *const effort_names[LLM_EFFORT_LEVELS] = {
	"low", "medium", "high", "xhigh", "max"
};

static const char *const lifecycle_names[] = {
	[LLM_LIFECYCLE_UNKNOWN] = "unknown",
	[LLM_LIFECYCLE_ACTIVE] = "active",
	[LLM_LIFECYCLE_DEPRECATED] = "deprecated",
	[LLM_LIFECYCLE_RETIRED] = "retired",
};

/* capabilities.thinking.types keys by enum llm_thinking. */
static const char *const thinking_keys[] = {
	[LLM_THINKING_OMIT] = NULL,
	[LLM_THINKING_ADAPTIVE] = "adaptive",
	[LLM_THINKING_DISABLED] = "disabled",
	[LLM_THINKING_BETWEEN_TOOLS] = "between_tools",
	[LLM_THINKING_ENABLED] = "enabled",
};

/*
 * The built-in table, by exact id; an alias row repeats its model's values.
 * Characters of prompt text per token: 4 with Haiku 4.5's tokenizer, 3 with
 * the newer one (Claude 4.7 and later, Haiku 5.5), which counts about 30%
 * more tokens for one text (CLAUDE-API.md section 1).
 * Prices in US dollars per million tokens (CLAUDE-API.md sections 1 and 9):
 * input, output, 5-minute cache write (1.25x input), 1-hour cache write
 * (2x input), cache read; then what they are multiplied by for a call with
 * a prompt over LLM_LONG_PROMPT_TOKENS (Haiku 5.5: 0.50/2.50, five times;
 * its cache prices are assumed to follow its input price).
 */
static const struct model_traits {
	const char	*id;
	bool		 forced_tool;
	bool		 sampling;
	bool		 thinks_by_default;
	long		 cache_min_tokens;
	int		 chars_per_token;	/* the tokenizer, estimated */
	struct llm_price price;
	double		 long_factor;	/* the prices of a long prompt's call */
} traits[] = {
	{ "claude-fable-5-2", false, false, true, 512, 3,
	  { 8.0, 40.0, 10.0, 16.0, 0.20 }, 1 },
	{ "claude-opus-5-5", false, false, true, 512, 3,
	  { 4.0, 20.0, 5.0, 8.0, 0.20 }, 1 },
	{ "claude-sonnet-5-5", false, false, true, 512, 3,
	  { 2.0, 10.0, 2.5, 4.0, 0.10 }, 1 },
	{ "claude-haiku-5-5", false, false, true, 512, 3,
	  { 0.10, 0.50, 0.125, 0.20, 0.01 }, 5 },
	{ "claude-fable-5-1", false, false, true, 512, 3,
	  { 10.0, 50.0, 12.5, 20.0, 0.25 }, 1 },
	{ "claude-fable-5", false, false, true, 512, 3,
	  { 10.0, 50.0, 12.5, 20.0, 1.0 }, 1 },
	{ "claude-opus-5", false, false, true, 512, 3,
	  { 5.0, 25.0, 6.25, 10.0, 0.50 }, 1 },
	{ "claude-sonnet-5", false, false, true, 1024, 3,
	  { 2.0, 10.0, 2.5, 4.0, 0.20 }, 1 },
	{ "claude-haiku-4-5-20251001", true, true, false, 4096, 4,
	  { 1.0, 5.0, 1.25, 2.0, 0.10 }, 1 },
	{ "claude-haiku-4-5", true, true, false, 4096, 4,
	  { 1.0, 5.0, 1.25, 2.0, 0.10 }, 1 },
	{ "claude-opus-4-5-20251101", true, true, false, 4096, 4,
	  { 5.0, 25.0, 6.25, 10.0, 0.50 }, 1 },
	{ "claude-opus-4-5", true, true, false, 4096, 4,
	  { 5.0, 25.0, 6.25, 10.0, 0.50 }, 1 },
};

const char *
llm_effort_name(int level)
{
	if (level < 0 || level >= LLM_EFFORT_LEVELS)
		return NULL;
	return effort_names[level];
}

int
llm_effort_parse(const char *s)
{
	int	 i;

	for (i = 0; s != NULL && i < LLM_EFFORT_LEVELS; i++)
		if (strcmp(s, effort_names[i]) == 0)
			return i;
	return -1;
}

const char *
llm_lifecycle_name(enum llm_lifecycle l)
{
	if ((unsigned)l >= sizeof(lifecycle_names) / sizeof(lifecycle_names[0]))
		return "unknown";
	return lifecycle_names[l];
}

const char *
llm_thinking_name(enum llm_thinking t)
{
	if ((unsigned)t >= sizeof(thinking_keys) / sizeof(thinking_keys[0]))
		return "unknown";
	return t == LLM_THINKING_OMIT ? "default" : thinking_keys[t];
}

static const struct model_traits *
traits_find(const char *id)
{
	size_t	 i;

	for (i = 0; id != NULL && i < sizeof(traits) / sizeof(traits[0]); i++)
		if (strcmp(traits[i].id, id) == 0)
			return &traits[i];
	return NULL;
}

bool
llm_price_of(const char *model, bool long_prompt, struct llm_price *out)
{
	const struct model_traits *t = traits_find(model);

	if (t == NULL)
		return false;
	*out = t->price;
	if (long_prompt) {
		out->in *= t->long_factor;
		out->out *= t->long_factor;
		out->cache_write_5m *= t->long_factor;
		out->cache_write_1h *= t->long_factor;
		out->cache_read *= t->long_factor;
	}
	return true;
}

int
llm_chars_per_token(const char *model)
{
	const struct model_traits *t = traits_find(model);

	return t != NULL ? t->chars_per_token : CHARS_PER_TOKEN_NEWER;
}

/*
 * Before the API has answered: the table's traits and, for the models the
 * table knows, the capabilities CLAUDE-API.md documents. Unknown ids are
 * assumed to take plain requests only (no thinking field, no effort).
 */
void
llm_model_defaults(const char *id, struct llm_model *m)
{
	const struct model_traits *t = traits_find(id);
	bool	 five = t != NULL && t->thinks_by_default;
	int	 i;

	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", id != NULL ? id : "");
	snprintf(m->resolved, sizeof(m->resolved), "%s", m->id);
	m->lifecycle = LLM_LIFECYCLE_UNKNOWN;
	m->thinking[LLM_THINKING_OMIT] = true;
	m->cache_min_tokens = 1024;
	if (t == NULL)
		return;
	m->forced_tool = t->forced_tool;
	m->sampling = t->sampling;
	m->thinks_by_default = t->thinks_by_default;
	m->cache_min_tokens = t->cache_min_tokens;
	m->structured_outputs = true;	/* GA since the 4.5 generation */
	m->max_tokens = five ? 128000 : 64000;
	m->thinking[LLM_THINKING_ADAPTIVE] = five;
	m->thinking[LLM_THINKING_ENABLED] = !five;
	m->thinking[LLM_THINKING_DISABLED] = !five;
	m->effort = five;
	for (i = 0; i < LLM_EFFORT_LEVELS; i++)
		m->effort_level[i] = five;
}

/* obj.key.supported, false when any step is missing. */
static bool
supported(json_object *obj, const char *key)
{
	json_object	*v, *s;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_object) ||
	    !json_object_object_get_ex(v, "supported", &s) ||
	    !json_object_is_type(s, json_type_boolean))
		return false;
	return json_object_get_boolean(s);
}

static json_object *
member(json_object *obj, const char *key, json_type type)
{
	json_object	*v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* A short printable string member into dst; false when present but unfit. */
static bool
copy_string(json_object *obj, const char *key, char *dst, size_t len)
{
	json_object	*v;
	const char	*s;
	size_t		 i, n;

	dst[0] = '\0';
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= len)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	memcpy(dst, s, n + 1);
	return true;
}

bs_err
llm_model_parse(const char *id, const char *body, size_t len,
    struct llm_model *m, char *err, size_t errlen)
{
	json_object	*root = NULL, *caps, *thinking, *types, *effort, *v;
	char		 lifecycle[32], reason[128];
	int		 i;
	bs_err		 e = BS_ERR_INVALID;

	llm_model_defaults(id, m);
	if (json_parse_limited(body, len, MODEL_INFO_DEPTH, &root, reason,
	    sizeof(reason)) != BS_OK || !json_object_is_type(root,
	    json_type_object)) {
		bs_errf(err, errlen, "the model information is not a JSON "
		    "object");
		goto out;
	}
	if (!copy_string(root, "id", m->resolved, sizeof(m->resolved)) ||
	    m->resolved[0] == '\0' ||
	    !copy_string(root, "lifecycle", lifecycle, sizeof(lifecycle)) ||
	    !copy_string(root, "retires_at", m->retires_at,
	    sizeof(m->retires_at))) {
		bs_errf(err, errlen, "the model information has no usable id, "
		    "lifecycle or retires_at");
		goto out;
	}
	/* Only for advice: not worth a refusal. */
	if (!copy_string(root, "line", m->line, sizeof(m->line)))
		m->line[0] = '\0';
	if (!copy_string(root, "created_at", m->created_at,
	    sizeof(m->created_at)))
		m->created_at[0] = '\0';
	if (strcmp(lifecycle, "deprecated") == 0)
		m->lifecycle = LLM_LIFECYCLE_DEPRECATED;
	else if (strcmp(lifecycle, "retired") == 0)
		m->lifecycle = LLM_LIFECYCLE_RETIRED;
	else
		m->lifecycle = LLM_LIFECYCLE_ACTIVE;	/* active, or absent */
	if ((v = member(root, "max_tokens", json_type_int)) != NULL &&
	    json_object_get_int64(v) > 0)
		m->max_tokens = (long)json_object_get_int64(v);
	/* Capabilities replace the assumptions only when reported. */
	if ((caps = member(root, "capabilities", json_type_object)) == NULL) {
		e = BS_OK;
		goto out;
	}
	m->structured_outputs = supported(caps, "structured_outputs");
	thinking = member(caps, "thinking", json_type_object);
	types = member(thinking, "types", json_type_object);
	for (i = LLM_THINKING_ADAPTIVE; i <= LLM_THINKING_ENABLED; i++)
		m->thinking[i] = supported(types, thinking_keys[i]);
	effort = member(caps, "effort", json_type_object);
	m->effort = effort != NULL && supported(caps, "effort");
	for (i = 0; i < LLM_EFFORT_LEVELS; i++)
		m->effort_level[i] = m->effort &&
		    supported(effort, effort_names[i]);
	e = BS_OK;
out:
	json_object_put(root);
	return e;
}

bs_err
llm_model_fetch(const struct llm_client *client, const char *id,
    struct llm_model *m, char *err, size_t errlen)
{
	struct buf	 body;
	char		 path[LLM_ID_MAX + 16];
	int		 status = 0;
	size_t		 i;
	bs_err		 e;

	llm_model_defaults(id, m);
	/* Model ids are [A-Za-z0-9._:-]; anything else never reaches a URL. */
	for (i = 0; id != NULL && id[i] != '\0'; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._:-", id[i]) == NULL)
			break;
	if (id == NULL || i == 0 || id[i] != '\0' || i >= LLM_ID_MAX) {
		bs_errf(err, errlen, "not a model id");
		return BS_ERR_INVALID;
	}
	snprintf(path, sizeof(path), "/v1/models/%s", id);
	buf_init(&body, MODEL_INFO_MAX);
	e = llm_client_get(client, path, MODEL_FETCH_TIMEOUT_MS, &status, &body,
	    err, errlen);
	if (e != BS_OK)
		goto out;
	if (status == 404) {
		m->lifecycle = LLM_LIFECYCLE_UNKNOWN;
		m->checked = true;
		goto out;
	}
	if (status == 401 || status == 403) {
		bs_errf(err, errlen, "the API refused the key (HTTP %d): check "
		    "CLAUDE_API_KEY and CLAUDE_API_VERSION", status);
		e = BS_ERR_UNAUTHORIZED;
		goto out;
	}
	if (status != 200) {
		bs_errf(err, errlen, "GET %s answered HTTP %d", path, status);
		e = BS_ERR_IO;
		goto out;
	}
	e = llm_model_parse(id, buf_cstr(&body), body.len, m, err, errlen);
	m->checked = e == BS_OK;
out:
	buf_free(&body);
	return e;
}

bs_err
llm_models_newest(const char *body, size_t len, const struct llm_model *m,
    char *out, size_t outlen)
{
	json_object	*root = NULL, *data, *model;
	char		 id[LLM_ID_MAX], lifecycle[32], line[32], created[40];
	char		 reason[128];
	long long	 after = m->created_at[0] != '\0' ?
	    llm_rfc3339_ms(m->created_at) : -1;
	size_t		 i, n;
	bs_err		 e = BS_ERR_INVALID;

	out[0] = '\0';
	if (json_parse_limited(body, len, MODEL_INFO_DEPTH, &root, reason,
	    sizeof(reason)) != BS_OK ||
	    (data = member(root, "data", json_type_array)) == NULL)
		goto out;
	e = BS_ERR_NOT_FOUND;
	n = json_object_array_length(data);
	for (i = 0; i < n; i++) {
		model = json_object_array_get_idx(data, i);
		if (!json_object_is_type(model, json_type_object) ||
		    !copy_string(model, "id", id, sizeof(id)) || id[0] == '\0' ||
		    !copy_string(model, "lifecycle", lifecycle,
		    sizeof(lifecycle)) || !copy_string(model, "line", line,
		    sizeof(line)) || !copy_string(model, "created_at", created,
		    sizeof(created)))
			continue;
		if ((lifecycle[0] != '\0' && strcmp(lifecycle, "active") != 0) ||
		    strcmp(line, m->line) != 0 || strcmp(id, m->resolved) == 0 ||
		    strcmp(id, m->id) == 0 || strlen(id) >= outlen)
			continue;
		/* A successor is newer: the first active one is the newest. */
		if (after > 0 && (created[0] == '\0' ||
		    llm_rfc3339_ms(created) <= after))
			break;
		memcpy(out, id, strlen(id) + 1);
		e = BS_OK;
		break;
	}
out:
	json_object_put(root);
	return e;
}

bs_err
llm_model_successor(const struct llm_client *client, const struct llm_model *m,
    char *out, size_t outlen, char *err, size_t errlen)
{
	struct buf	 body;
	char		 path[64];
	int		 status = 0;
	bs_err		 e;

	out[0] = '\0';
	if (m->line[0] == '\0')
		return BS_ERR_NOT_FOUND;
	snprintf(path, sizeof(path), "/v1/models?limit=%d", LLM_MODELS_PAGE);
	buf_init(&body, MODEL_INFO_MAX * 4);
	e = llm_client_get(client, path, MODEL_FETCH_TIMEOUT_MS, &status, &body,
	    err, errlen);
	if (e == BS_OK && status != 200) {
		bs_errf(err, errlen, "GET %s answered HTTP %d", path, status);
		e = BS_ERR_IO;
	}
	if (e == BS_OK)
		e = llm_models_newest(buf_cstr(&body), body.len, m, out, outlen);
	buf_free(&body);
	return e;
}
