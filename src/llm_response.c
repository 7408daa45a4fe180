/*
 * Claude's answers: the error kinds, an error body and a whole JSON answer
 * read, and the assembler that turns the stream's events (from the SSE
 * framer, llm_sse.c) into a struct llm_response. Everything here reads
 * untrusted bytes from the network, so every size is capped and every
 * event checked against the order the protocol promises.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/json.h"
#include "brainstorm/llm.h"

#define LLM_API_TEXT_MAX	200	/* bytes of server text we repeat */
#define LLM_ERROR_BODY_DEPTH	16

static const char *const llm_kind_names[LLM_ERR__COUNT] = {
	[LLM_ERR_NONE] = "ok",
	[LLM_ERR_TIMEOUT] = "timeout",
	[LLM_ERR_RATE_LIMITED] = "rate_limited",
	[LLM_ERR_OVERLOADED] = "overloaded",
	[LLM_ERR_SERVER] = "server",
	[LLM_ERR_BAD_REQUEST] = "bad_request",
	[LLM_ERR_AUTH] = "auth",
	[LLM_ERR_MALFORMED] = "malformed",
	[LLM_ERR_NETWORK] = "network",
	[LLM_ERR_TOO_LARGE] = "too_large",
	[LLM_ERR_BUDGET] = "budget",
	[LLM_ERR_SPEND_CAP] = "spend_cap",
	[LLM_ERR_BILLING] = "billing",
	[LLM_ERR_NOT_FOUND] = "not_found",
	[LLM_ERR_CONFLICT] = "conflict",
	[LLM_ERR_TRUNCATED] = "truncated",
	[LLM_ERR_REFUSAL] = "refusal",
	[LLM_ERR_CONTEXT] = "context_exceeded",
	[LLM_ERR_PAUSED] = "paused",
};

/*
 * The error_code values of a 429 that no wait will cure: the workspace's
 * (or the contract's) spending limit (CLAUDE-API.md section 8).
 */
static const char *const llm_spend_codes[] = {
	"enforced_spend_limit_reached",
	"contract_spend_limit_reached",
	"ramp_limit_exceeded",
};

const char *
llm_error_kind_name(enum llm_error_kind kind)
{
	if ((unsigned)kind >= LLM_ERR__COUNT)
		return "unknown";
	return llm_kind_names[kind];
}

bool
llm_error_retryable(enum llm_error_kind kind)
{
	switch (kind) {
	case LLM_ERR_TIMEOUT:
	case LLM_ERR_RATE_LIMITED:
	case LLM_ERR_OVERLOADED:
	case LLM_ERR_SERVER:
	case LLM_ERR_NETWORK:
	case LLM_ERR_CONFLICT:
		return true;
	default:
		/* Spend caps, billing, 4xx and a complete answer's stop_reason. */
		return false;
	}
}

enum llm_error_kind
llm_error_kind_from_type(const char *type)
{
	static const struct {
		const char		*type;
		enum llm_error_kind	 kind;
	} map[] = {
		{ "invalid_request_error",	LLM_ERR_BAD_REQUEST },
		{ "not_found_error",		LLM_ERR_NOT_FOUND },
		{ "authentication_error",	LLM_ERR_AUTH },
		{ "permission_error",		LLM_ERR_AUTH },
		{ "billing_error",		LLM_ERR_BILLING },
		{ "conflict_error",		LLM_ERR_CONFLICT },
		{ "request_too_large",		LLM_ERR_TOO_LARGE },
		{ "rate_limit_error",		LLM_ERR_RATE_LIMITED },
		{ "api_error",			LLM_ERR_SERVER },
		{ "overloaded_error",		LLM_ERR_OVERLOADED },
		{ "timeout_error",		LLM_ERR_TIMEOUT },
	};
	size_t	 i;

	for (i = 0; type != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(type, map[i].type) == 0)
			return map[i].kind;
	/* A type we do not know yet is the server's problem, worth a retry. */
	return LLM_ERR_SERVER;
}

/*
 * Copy server text for an error message: printable ASCII only, so it is
 * safe in a log line and a JSON string whatever the server sent.
 */
static void
llm_text_clean_max(char *dst, size_t dstlen, const char *src, size_t len,
    size_t max)
{
	size_t	 i, n = 0;

	if (dstlen == 0)
		return;
	if (len > max)
		len = max;
	for (i = 0; i < len && n + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
}

static void
llm_text_clean(char *dst, size_t dstlen, const char *src, size_t len)
{
	llm_text_clean_max(dst, dstlen, src, len, LLM_API_TEXT_MAX);
}

/* A member that must be a string when present; *s is NULL when absent or null. */
static bool
json_string_member(json_object *obj, const char *key, const char **s,
    size_t *len)
{
	json_object	*v;

	*s = NULL;
	*len = 0;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return true;
}

/* An id-like string into a fixed field: too long is an error, not a cut. */
static bool
json_copy_id(json_object *obj, const char *key, bool required, char *dst,
    size_t dstlen)
{
	const char	*s;
	size_t		 len;

	if (!json_string_member(obj, key, &s, &len))
		return false;
	if (s == NULL)
		return !required;
	if (len >= dstlen || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

/* A count that must be a non-negative integer when present; absent or null keeps *dst. */
static bool
llm_count_read(json_object *obj, const char *key, long *dst)
{
	json_object	*v;
	int64_t		 n;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_int))
		return false;
	n = json_object_get_int64(v);
	if (n < 0)
		return false;
	*dst = (long)n;
	return true;
}

/* A member that must be an object when present; *out is NULL when absent or null. */
static bool
json_object_optional(json_object *obj, const char *key, json_object **out)
{
	json_object	*v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_object))
		return false;
	*out = v;
	return true;
}

/*
 * Token counts present in usage replace ours; absent or null ones stay
 * (message_delta repeats only some, cumulatively). Wrong types are a
 * malformed answer.
 */
static bool
llm_usage_read(json_object *usage, struct llm_usage *u)
{
	static const char *const names[] = { "input_tokens", "output_tokens",
	    "cache_creation_input_tokens", "cache_read_input_tokens" };
	long *const	 dst[] = { &u->input_tokens, &u->output_tokens,
	    &u->cache_creation_input_tokens, &u->cache_read_input_tokens };
	json_object	*cache, *details;
	size_t		 i;

	if (usage == NULL)
		return true;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!llm_count_read(usage, names[i], dst[i]))
			return false;
	if (!json_object_optional(usage, "cache_creation", &cache) ||
	    !json_object_optional(usage, "output_tokens_details", &details))
		return false;
	if (cache != NULL && (!llm_count_read(cache,
	    "ephemeral_5m_input_tokens", &u->cache_creation_5m_tokens) ||
	    !llm_count_read(cache, "ephemeral_1h_input_tokens",
	    &u->cache_creation_1h_tokens)))
		return false;
	if (details != NULL && !llm_count_read(details, "thinking_tokens",
	    &u->thinking_tokens))
		return false;
	return true;
}

/*
 * stop_details {"type":"refusal","category","explanation"} as
 * "category: explanation", printable ASCII. Only read for people, so a
 * shape we do not know is skipped rather than refused; null or absent
 * leaves what we had.
 */
static void
llm_stop_details_read(json_object *obj, struct llm_response *res)
{
	json_object	*d;
	const char	*cat, *expl;
	size_t		 clen, elen, n;
	char		*out = res->stop_details;

	if (!json_object_object_get_ex(obj, "stop_details", &d) ||
	    !json_object_is_type(d, json_type_object))
		return;
	if (!json_string_member(d, "category", &cat, &clen))
		cat = NULL;
	if (!json_string_member(d, "explanation", &expl, &elen))
		expl = NULL;
	/* A category is a short word; the explanation gets the rest. */
	llm_text_clean_max(out, sizeof(res->stop_details), cat != NULL ? cat :
	    "", clen, LLM_ID_MAX);
	n = strlen(out);
	if (expl == NULL || elen == 0)
		return;
	if (n > 0) {
		memcpy(out + n, ": ", 3);
		n += 2;
	}
	llm_text_clean_max(out + n, sizeof(res->stop_details) - n, expl, elen,
	    sizeof(res->stop_details));
}

/* The spend-limit error_code of error.details, NULL when it is not one. */
static const char *
llm_spend_code(json_object *error)
{
	json_object	*details;
	const char	*code;
	size_t		 len, i;

	if ((details = json_member_object(error, "details")) == NULL ||
	    !json_string_member(details, "error_code", &code, &len) ||
	    code == NULL)
		return NULL;
	for (i = 0; i < sizeof(llm_spend_codes) / sizeof(llm_spend_codes[0]);
	    i++)
		if (strcmp(code, llm_spend_codes[i]) == 0)
			return llm_spend_codes[i];
	return NULL;
}

/* {"type":"...","message":"...","details":{"error_code"}} of an error body or event. */
static void
llm_api_error_read(json_object *error, enum llm_error_kind *kind, char *msg,
    size_t msglen)
{
	const char	*type = NULL, *text = NULL, *spend = NULL;
	size_t		 tlen = 0, mlen = 0;
	char		 tclean[LLM_API_TEXT_MAX + 1], mclean[LLM_API_TEXT_MAX + 1];

	if (error != NULL) {
		if (!json_string_member(error, "type", &type, &tlen))
			type = NULL;
		if (!json_string_member(error, "message", &text, &mlen))
			text = NULL;
		spend = llm_spend_code(error);
	}
	*kind = spend != NULL ? LLM_ERR_SPEND_CAP :
	    llm_error_kind_from_type(type);
	llm_text_clean(tclean, sizeof(tclean), type != NULL ? type : "unknown",
	    type != NULL ? tlen : 7);
	llm_text_clean(mclean, sizeof(mclean), text != NULL ? text : "", mlen);
	if (spend != NULL)
		bs_errf(msg, msglen, "the Claude spending limit is reached "
		    "(%s): %s: %s", spend, tclean,
		    mclean[0] != '\0' ? mclean : "no message");
	else
		bs_errf(msg, msglen, "%s: %s", tclean,
		    mclean[0] != '\0' ? mclean : "no message");
}

bs_err
llm_error_body_parse(const char *body, size_t len, enum llm_error_kind *kind,
    char *msg, size_t msglen)
{
	json_object	*root = NULL, *error;
	const char	*type;
	size_t		 tlen;
	char		 reason[128];
	bs_err		 e = BS_ERR_INVALID;

	if (json_parse_limited(body, len, LLM_ERROR_BODY_DEPTH, &root, reason,
	    sizeof(reason)) != BS_OK || !json_object_is_type(root, json_type_object))
		goto out;
	if (!json_string_member(root, "type", &type, &tlen) || type == NULL ||
	    strcmp(type, "error") != 0)
		goto out;
	if ((error = json_member_object(root, "error")) == NULL)
		goto out;
	llm_api_error_read(error, kind, msg, msglen);
	e = BS_OK;
out:
	if (e != BS_OK)
		llm_text_clean(msg, msglen, body, len);
	json_object_put(root);
	return e;
}

void
llm_response_init(struct llm_response *res, size_t max_text)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->text, max_text);
}

void
llm_response_reset(struct llm_response *res)
{
	size_t	 max = res->text.max;

	llm_response_free(res);
	llm_response_init(res, max);
}

void
llm_response_free(struct llm_response *res)
{
	buf_free(&res->text);
	json_object_put(res->tool_input);
	res->tool_input = NULL;
	json_object_put(res->output);
	res->output = NULL;
}

bs_err
llm_response_parse_json(struct llm_response *res, const char *body,
    size_t len, int max_depth, char *err, size_t errlen)
{
	json_object	*root = NULL, *content, *block, *input;
	const char	*s;
	size_t		 slen, i, n;
	char		 reason[128];
	bool		 tool_seen = false;
	bs_err		 e = BS_ERR_INVALID;

	llm_response_reset(res);
	if (max_depth <= 0)
		max_depth = LLM_DEFAULT_JSON_DEPTH;
	if ((e = json_parse_limited(body, len, max_depth, &root, reason,
	    sizeof(reason))) != BS_OK) {
		bs_errf(err, errlen, "the answer is not JSON: %s", reason);
		goto out;
	}
	e = BS_ERR_INVALID;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_string_member(root, "type", &s, &slen) || s == NULL ||
	    strcmp(s, "message") != 0) {
		bs_errf(err, errlen, "the answer is not a message object");
		goto out;
	}
	if (!json_copy_id(root, "id", false, res->id, sizeof(res->id)) ||
	    !json_copy_id(root, "model", false, res->model, sizeof(res->model)) ||
	    !json_copy_id(root, "stop_reason", false, res->stop_reason,
	    sizeof(res->stop_reason))) {
		bs_errf(err, errlen, "bad id, model or stop_reason");
		goto out;
	}
	if (json_object_object_get_ex(root, "usage", &block) && block != NULL &&
	    (!json_object_is_type(block, json_type_object) ||
	    !llm_usage_read(block, &res->usage))) {
		bs_errf(err, errlen, "bad usage");
		goto out;
	}
	llm_stop_details_read(root, res);
	if (!json_object_object_get_ex(root, "content", &content) ||
	    !json_object_is_type(content, json_type_array)) {
		bs_errf(err, errlen, "the answer has no content array");
		goto out;
	}
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		block = json_object_array_get_idx(content, i);
		if (!json_object_is_type(block, json_type_object) ||
		    !json_string_member(block, "type", &s, &slen) || s == NULL) {
			bs_errf(err, errlen, "content block %zu has no type", i);
			goto out;
		}
		if (strcmp(s, "text") == 0) {
			if (!json_string_member(block, "text", &s, &slen) ||
			    s == NULL) {
				bs_errf(err, errlen,
				    "text block %zu has no text", i);
				goto out;
			}
			if ((e = buf_append(&res->text, s, slen)) != BS_OK) {
				bs_errf(err, errlen,
				    "the answer's text exceeds %zu bytes",
				    res->text.max);
				goto out;
			}
			e = BS_ERR_INVALID;
		} else if (strcmp(s, "tool_use") == 0 && !tool_seen) {
			tool_seen = true;
			if (!json_copy_id(block, "id", true, res->tool_id,
			    sizeof(res->tool_id)) ||
			    !json_copy_id(block, "name", true, res->tool_name,
			    sizeof(res->tool_name)) ||
			    (input = json_member_object(block, "input")) == NULL) {
				bs_errf(err, errlen,
				    "tool_use block %zu needs id, name and an "
				    "object input", i);
				goto out;
			}
			res->tool_input = json_object_get(input);
		} else if (strcmp(s, "thinking") == 0 ||
		    strcmp(s, "redacted_thinking") == 0)
			res->thinking_blocks++;	/* never part of the reply */
		/* Other block types (and later tool_use blocks) are not ours. */
	}
	e = BS_OK;
out:
	json_object_put(root);
	if (e != BS_OK)
		llm_response_reset(res);
	return e;
}

/*
 * The assembler. Claude promises an order: message_start, then per block
 * start, deltas, stop (indexes counting up from 0), then message_delta and
 * message_stop, with pings and an error anywhere. Anything else is a
 * protocol violation, reported rather than guessed around.
 */
enum llm_stream_state {
	LLM_STREAM_START = 0,	/* waiting for message_start */
	LLM_STREAM_MESSAGE,
	LLM_STREAM_DONE		/* message_stop seen */
};

enum llm_block_type {
	LLM_BLOCK_TEXT,
	LLM_BLOCK_TOOL,
	LLM_BLOCK_THINKING,	/* thinking, redacted_thinking: counted, not kept */
	LLM_BLOCK_OTHER		/* types to come: skipped */
};

struct llm_stream {
	struct llm_sse		*sse;
	struct llm_response	*res;
	int			 max_depth;
	void			(*on_text)(void *, const char *, size_t);
	void			*on_text_arg;
	enum llm_stream_state	 state;
	long			 nblocks;	/* blocks started: the next index */
	long			 open;		/* the open block's index, -1 none */
	enum llm_block_type	 open_type;
	bool			 tool_keep;	/* the open tool_use block is res's */
	struct buf		 tool_json;	/* its input_json_delta pieces */
	json_object		*tool_start;	/* its content_block_start input */
	/*
	 * The kept tool input did not parse. Cut by max_tokens it is the
	 * answer's business (llm_answer_check), so the verdict waits for
	 * message_stop, when stop_reason is known.
	 */
	bool			 tool_unparsed;
	char			 tool_err[160];
	bool			 delivered;
	enum llm_error_kind	 kind;
	bs_err			 failed;
	char			 err[LLM_ERROR_MAX];
};

static bs_err
llm_stream_fail(struct llm_stream *st, bs_err e, enum llm_error_kind kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bs_err
llm_stream_fail(struct llm_stream *st, bs_err e, enum llm_error_kind kind,
    const char *fmt, ...)
{
	va_list	 ap;

	if (st->failed != BS_OK)
		return st->failed;
	st->failed = e;
	st->kind = kind;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	return e;
}

static bool
json_index_member(json_object *obj, long *index)
{
	json_object	*v;
	int64_t		 n;

	if (!json_object_object_get_ex(obj, "index", &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	n = json_object_get_int64(v);
	if (n < 0 || n > 1000000)
		return false;
	*index = (long)n;
	return true;
}

static bs_err
llm_stream_text(struct llm_stream *st, const char *s, size_t len)
{
	if (len == 0)
		return BS_OK;
	if (buf_append(&st->res->text, s, len) != BS_OK)
		return llm_stream_fail(st, BS_ERR_TOO_LARGE, LLM_ERR_TOO_LARGE,
		    "the reply text exceeds %zu bytes", st->res->text.max);
	if (st->on_text != NULL) {
		st->delivered = true;
		st->on_text(st->on_text_arg, s, len);
	}
	return BS_OK;
}

static bs_err
llm_stream_message_start(struct llm_stream *st, json_object *ev)
{
	json_object	*msg;

	if (st->state != LLM_STREAM_START)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "message_start out of order");
	if ((msg = json_member_object(ev, "message")) == NULL ||
	    !json_copy_id(msg, "id", false, st->res->id, sizeof(st->res->id)) ||
	    !json_copy_id(msg, "model", false, st->res->model,
	    sizeof(st->res->model)) ||
	    !llm_usage_read(json_member_object(msg, "usage"), &st->res->usage))
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "message_start: bad message, id, model or usage");
	st->state = LLM_STREAM_MESSAGE;
	return BS_OK;
}

static bs_err
llm_stream_block_start(struct llm_stream *st, json_object *ev)
{
	json_object	*block, *input;
	const char	*type, *text;
	size_t		 len;
	long		 index;

	if (st->state != LLM_STREAM_MESSAGE || st->open >= 0 ||
	    !json_index_member(ev, &index) || index != st->nblocks)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "content_block_start out of order (block %ld expected)",
		    st->nblocks);
	if ((block = json_member_object(ev, "content_block")) == NULL ||
	    !json_string_member(block, "type", &type, &len) || type == NULL)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "content_block_start without a typed content_block");
	st->open = index;
	st->nblocks++;
	if (strcmp(type, "text") == 0) {
		st->open_type = LLM_BLOCK_TEXT;
		if (!json_string_member(block, "text", &text, &len))
			return llm_stream_fail(st, BS_ERR_INVALID,
			    LLM_ERR_MALFORMED, "text block with a bad text");
		return text != NULL ? llm_stream_text(st, text, len) : BS_OK;
	}
	if (strcmp(type, "tool_use") == 0) {
		st->open_type = LLM_BLOCK_TOOL;
		/* Only the first tool_use is the answer (a forced tool gives one). */
		st->tool_keep = st->res->tool_name[0] == '\0';
		if (!st->tool_keep)
			return BS_OK;
		if (!json_copy_id(block, "id", true, st->res->tool_id,
		    sizeof(st->res->tool_id)) ||
		    !json_copy_id(block, "name", true, st->res->tool_name,
		    sizeof(st->res->tool_name)) || st->res->tool_name[0] == '\0')
			return llm_stream_fail(st, BS_ERR_INVALID,
			    LLM_ERR_MALFORMED, "tool_use block needs id and name");
		if ((input = json_member_object(block, "input")) != NULL)
			st->tool_start = json_object_get(input);
		buf_reset(&st->tool_json);
		return BS_OK;
	}
	if (strcmp(type, "thinking") == 0 ||
	    strcmp(type, "redacted_thinking") == 0) {
		st->open_type = LLM_BLOCK_THINKING;
		st->res->thinking_blocks++;
		return BS_OK;
	}
	st->open_type = LLM_BLOCK_OTHER;
	return BS_OK;
}

static bs_err
llm_stream_block_delta(struct llm_stream *st, json_object *ev)
{
	json_object	*delta;
	const char	*type, *s;
	size_t		 len;
	long		 index;

	if (st->state != LLM_STREAM_MESSAGE || !json_index_member(ev, &index) ||
	    index != st->open)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "content_block_delta out of order");
	if ((delta = json_member_object(ev, "delta")) == NULL ||
	    !json_string_member(delta, "type", &type, &len) || type == NULL)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "content_block_delta without a typed delta");
	if (strcmp(type, "text_delta") == 0) {
		if (st->open_type == LLM_BLOCK_OTHER)
			return BS_OK;
		if (st->open_type != LLM_BLOCK_TEXT ||
		    !json_string_member(delta, "text", &s, &len) || s == NULL)
			return llm_stream_fail(st, BS_ERR_INVALID,
			    LLM_ERR_MALFORMED, "bad text_delta for block %ld",
			    index);
		return llm_stream_text(st, s, len);
	}
	if (strcmp(type, "input_json_delta") == 0) {
		if (st->open_type == LLM_BLOCK_OTHER)
			return BS_OK;
		if (st->open_type != LLM_BLOCK_TOOL ||
		    !json_string_member(delta, "partial_json", &s, &len) ||
		    s == NULL)
			return llm_stream_fail(st, BS_ERR_INVALID,
			    LLM_ERR_MALFORMED, "bad input_json_delta for block %ld",
			    index);
		if (st->tool_keep && buf_append(&st->tool_json, s, len) != BS_OK)
			return llm_stream_fail(st, BS_ERR_TOO_LARGE,
			    LLM_ERR_TOO_LARGE, "the tool input exceeds %zu bytes",
			    st->tool_json.max);
		return BS_OK;
	}
	if (strcmp(type, "thinking_delta") == 0 ||
	    strcmp(type, "signature_delta") == 0) {
		if (st->open_type == LLM_BLOCK_OTHER)
			return BS_OK;
		/* Read to check the shape; thinking is never part of the reply. */
		if (st->open_type != LLM_BLOCK_THINKING ||
		    !json_string_member(delta, strcmp(type, "thinking_delta") ==
		    0 ? "thinking" : "signature", &s, &len) || s == NULL)
			return llm_stream_fail(st, BS_ERR_INVALID,
			    LLM_ERR_MALFORMED, "bad %s for block %ld", type,
			    index);
		return BS_OK;
	}
	return BS_OK;	/* citations_delta and deltas to come */
}

static bs_err
llm_stream_block_stop(struct llm_stream *st, json_object *ev)
{
	json_object	*input = NULL;
	char		 reason[128];
	long		 index;

	if (st->state != LLM_STREAM_MESSAGE || !json_index_member(ev, &index) ||
	    index != st->open)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "content_block_stop out of order");
	st->open = -1;
	if (st->open_type != LLM_BLOCK_TOOL || !st->tool_keep)
		return BS_OK;
	st->tool_keep = false;
	reason[0] = '\0';
	if (st->tool_json.len > 0) {
		if (json_parse_limited(st->tool_json.data, st->tool_json.len,
		    st->max_depth, &input, reason, sizeof(reason)) != BS_OK) {
			st->tool_unparsed = true;
			snprintf(st->tool_err, sizeof(st->tool_err),
			    "tool input is not JSON: %s", reason);
		}
	} else if (st->tool_start != NULL)
		input = json_object_get(st->tool_start);	/* no deltas: {} */
	else if ((input = json_object_new_object()) == NULL)
		return llm_stream_fail(st, BS_ERR_NOMEM, LLM_ERR_MALFORMED,
		    "out of memory");
	json_object_put(st->tool_start);
	st->tool_start = NULL;
	buf_reset(&st->tool_json);
	if (!st->tool_unparsed && !json_object_is_type(input, json_type_object)) {
		st->tool_unparsed = true;
		snprintf(st->tool_err, sizeof(st->tool_err),
		    "tool input is not a JSON object");
	}
	if (st->tool_unparsed) {
		json_object_put(input);
		return BS_OK;
	}
	st->res->tool_input = input;
	return BS_OK;
}

static bs_err
llm_stream_message_delta(struct llm_stream *st, json_object *ev)
{
	json_object	*delta;

	if (st->state != LLM_STREAM_MESSAGE || st->open >= 0)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "message_delta out of order");
	if ((delta = json_member_object(ev, "delta")) != NULL &&
	    !json_copy_id(delta, "stop_reason", false, st->res->stop_reason,
	    sizeof(st->res->stop_reason)))
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "message_delta: bad stop_reason");
	if (delta != NULL)
		llm_stop_details_read(delta, st->res);
	if (!llm_usage_read(json_member_object(ev, "usage"), &st->res->usage))
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "message_delta: bad usage");
	return BS_OK;
}

static bs_err
llm_stream_message_stop(struct llm_stream *st, json_object *ev)
{
	(void)ev;
	if (st->state != LLM_STREAM_MESSAGE || st->open >= 0)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "message_stop out of order");
	/* A tool input cut by max_tokens: complete stream, partial answer. */
	if (st->tool_unparsed && strcmp(st->res->stop_reason, "max_tokens") != 0)
		return llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "%s", st->tool_err);
	st->state = LLM_STREAM_DONE;
	return BS_OK;
}

static bs_err
llm_stream_error_event(struct llm_stream *st, json_object *ev)
{
	enum llm_error_kind	 kind;
	char			 msg[LLM_ERROR_MAX];

	llm_api_error_read(json_member_object(ev, "error"), &kind, msg,
	    sizeof(msg));
	return llm_stream_fail(st, BS_ERR_IO, kind, "%s", msg);
}

static const struct {
	const char	*name;
	bs_err		(*fn)(struct llm_stream *, json_object *);
} llm_stream_events[] = {
	{ "message_start",	 llm_stream_message_start },
	{ "content_block_start", llm_stream_block_start },
	{ "content_block_delta", llm_stream_block_delta },
	{ "content_block_stop",	 llm_stream_block_stop },
	{ "message_delta",	 llm_stream_message_delta },
	{ "message_stop",	 llm_stream_message_stop },
	{ "error",		 llm_stream_error_event },
};

static int
llm_stream_event_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(llm_stream_events) / sizeof(llm_stream_events[0]);
	    i++)
		if (strcmp(name, llm_stream_events[i].name) == 0)
			return (int)i;
	return -1;
}

static bs_err
llm_stream_event(void *arg, const char *event, const char *data, size_t len)
{
	struct llm_stream	*st = arg;
	json_object		*ev = NULL;
	const char		*type;
	size_t			 tlen;
	char			 reason[128];
	bool			 unnamed = strcmp(event, "message") == 0;
	int			 i = -1;
	bs_err			 e = BS_OK;

	if (strcmp(event, "ping") == 0)
		goto out;
	/* A named event we do not know is from a newer API: skip it unread. */
	if (!unnamed && (i = llm_stream_event_find(event)) < 0)
		goto out;
	if (json_parse_limited(data, len, st->max_depth, &ev, reason,
	    sizeof(reason)) != BS_OK) {
		e = llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "%s event: %s", unnamed ? "unnamed" : event, reason);
		goto out;
	}
	if (!json_object_is_type(ev, json_type_object) ||
	    !json_string_member(ev, "type", &type, &tlen) || type == NULL ||
	    (!unnamed && strcmp(type, event) != 0)) {
		e = llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "%s event: data is not an object of that type",
		    unnamed ? "unnamed" : event);
		goto out;
	}
	if (unnamed && (i = llm_stream_event_find(type)) < 0)
		goto out;		/* ping, or a type to come */
	if (st->state == LLM_STREAM_DONE && llm_stream_events[i].fn !=
	    llm_stream_error_event) {
		e = llm_stream_fail(st, BS_ERR_INVALID, LLM_ERR_MALFORMED,
		    "%s after message_stop", llm_stream_events[i].name);
		goto out;
	}
	e = llm_stream_events[i].fn(st, ev);
out:
	json_object_put(ev);
	return e;
}

bs_err
llm_stream_new(const struct llm_stream_options *opt, struct llm_response *res,
    struct llm_stream **out)
{
	struct llm_stream	*st;
	struct llm_sse_options	 so = { 0, 0 };
	bs_err			 e;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return BS_ERR_NOMEM;
	if (opt != NULL) {
		so.max_line = opt->max_line;
		so.max_total = opt->max_total;
		st->max_depth = opt->max_json_depth;
		st->on_text = opt->on_text;
		st->on_text_arg = opt->on_text_arg;
	}
	if (st->max_depth <= 0)
		st->max_depth = LLM_DEFAULT_JSON_DEPTH;
	if ((e = llm_sse_new(&so, llm_stream_event, st, &st->sse)) != BS_OK) {
		free(st);
		return e;
	}
	/* The tool input is part of the stream, so the stream's cap bounds it. */
	buf_init(&st->tool_json, so.max_total > 0 ? so.max_total :
	    LLM_DEFAULT_MAX_TOTAL);
	st->res = res;
	st->open = -1;
	*out = st;
	return BS_OK;
}

void
llm_stream_free(struct llm_stream *st)
{
	if (st == NULL)
		return;
	llm_sse_free(st->sse);
	buf_free(&st->tool_json);
	json_object_put(st->tool_start);
	free(st);
}

/* The SSE layer's own failures (caps, truncation) in the assembler's terms. */
static bs_err
llm_stream_sse_failed(struct llm_stream *st, bs_err e)
{
	if (st->failed != BS_OK)
		return st->failed;
	if (e == BS_ERR_TOO_LARGE)
		return llm_stream_fail(st, e, LLM_ERR_TOO_LARGE, "%s",
		    llm_sse_error(st->sse));
	if (e == BS_ERR_IO)
		return llm_stream_fail(st, e, LLM_ERR_NETWORK, "%s",
		    llm_sse_error(st->sse));
	return llm_stream_fail(st, e, LLM_ERR_MALFORMED, "%s",
	    llm_sse_error(st->sse)[0] != '\0' ? llm_sse_error(st->sse) :
	    bs_strerror(e));
}

bs_err
llm_stream_feed(struct llm_stream *st, const char *bytes, size_t len)
{
	bs_err	 e;

	if (st->failed != BS_OK)
		return st->failed;
	if ((e = llm_sse_feed(st->sse, bytes, len)) != BS_OK)
		return llm_stream_sse_failed(st, e);
	return BS_OK;
}

bs_err
llm_stream_finish(struct llm_stream *st)
{
	bs_err	 e;

	if (st->failed != BS_OK)
		return st->failed;
	if ((e = llm_sse_finish(st->sse)) != BS_OK)
		return llm_stream_sse_failed(st, e);
	if (st->state != LLM_STREAM_DONE)
		return llm_stream_fail(st, BS_ERR_IO, LLM_ERR_NETWORK,
		    "truncated stream (no message_stop)");
	return BS_OK;
}

enum llm_error_kind
llm_stream_error_kind(const struct llm_stream *st)
{
	return st->kind;
}

const char *
llm_stream_error(const struct llm_stream *st)
{
	return st->err;
}

bool
llm_stream_text_delivered(const struct llm_stream *st)
{
	return st->delivered;
}
