/*
 * The Claude Messages API (docs: CLAUDE-API.md): an incremental parser of
 * the Server-Sent Events stream, the assembler that turns Claude's events
 * into one answer, and the client that runs batches of calls in parallel on
 * one curl multi handle (struct llm_loop), with retries inside each batch's
 * time budget.
 */
#ifndef BRAINSTORM_LLM_H
#define BRAINSTORM_LLM_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"

#define LLM_ID_MAX		128	/* message ids, model names, tool names */
#define LLM_STOP_REASON_MAX	64
#define LLM_ERROR_MAX		256	/* human error text, always terminated */
#define LLM_STOP_DETAILS_MAX	512	/* a refusal's category and explanation */

/* The anthropic-version values the client speaks (docs/CLAUDE.md). */
#define LLM_API_VERSION_CURRENT	"2026-10-21"	/* Authorization: Bearer */
#define LLM_API_VERSION_LEGACY	"2023-06-01"	/* x-api-key */

/* Defaults for options left 0. */
#define LLM_DEFAULT_MAX_LINE		(256 * 1024)
#define LLM_DEFAULT_MAX_TOTAL		(4 * 1024 * 1024)
#define LLM_DEFAULT_JSON_DEPTH		64
#define LLM_DEFAULT_CALL_TIMEOUT_MS	120000
#define LLM_DEFAULT_CONNECT_TIMEOUT_MS	10000
#define LLM_DEFAULT_MAX_ATTEMPTS	3
#define LLM_DEFAULT_BACKOFF_BASE_MS	500
#define LLM_DEFAULT_BACKOFF_MAX_MS	8000
#define LLM_LOOP_DEFAULT_MAX_CALLS	2048	/* unfinished calls on one loop */

/*
 * Why a call failed. The names (llm_error_kind_name) are stable and short,
 * fit for metric labels; LLM_ERR_NONE is "ok".
 */
enum llm_error_kind {
	LLM_ERR_NONE = 0,
	LLM_ERR_TIMEOUT,	/* an attempt exceeded per_call_timeout_ms; 408, 504 */
	LLM_ERR_RATE_LIMITED,	/* 429, rate_limit_error */
	LLM_ERR_OVERLOADED,	/* 529, overloaded_error (also mid-stream) */
	LLM_ERR_SERVER,		/* 500 and other 5xx, api_error */
	LLM_ERR_BAD_REQUEST,	/* 400, other 4xx: our request is wrong */
	LLM_ERR_AUTH,		/* 401, 403 */
	LLM_ERR_MALFORMED,	/* a 200 answer that breaks the protocol */
	LLM_ERR_NETWORK,	/* connect, send, receive, truncated stream */
	LLM_ERR_TOO_LARGE,	/* 413, or an answer over max_response_bytes */
	LLM_ERR_BUDGET,		/* the batch's total deadline ended the call */
	LLM_ERR_SPEND_CAP,	/* 429 with a spend-limit error_code: never retried */
	LLM_ERR_BILLING,	/* 402 billing_error */
	LLM_ERR_NOT_FOUND,	/* 404: unknown or retired model */
	LLM_ERR_CONFLICT,	/* 409 conflict_error (retried) */
	/* A complete 200 answer whose stop_reason makes it unusable as asked. */
	LLM_ERR_TRUNCATED,	/* stop_reason max_tokens */
	LLM_ERR_REFUSAL,	/* stop_reason refusal (see stop_details) */
	LLM_ERR_CONTEXT,	/* stop_reason model_context_window_exceeded */
	LLM_ERR_PAUSED,		/* stop_reason pause_turn (server tools only) */
	LLM_ERR__COUNT
};

const char *llm_error_kind_name(enum llm_error_kind kind);

struct llm_usage {
	long	input_tokens;
	long	output_tokens;		/* thinking included */
	long	cache_creation_input_tokens;
	long	cache_read_input_tokens;
	long	cache_creation_5m_tokens;	/* usage.cache_creation.ephemeral_5m_input_tokens */
	long	cache_creation_1h_tokens;	/* ... ephemeral_1h_input_tokens */
	long	thinking_tokens;	/* usage.output_tokens_details.thinking_tokens */
};

/*
 * One answer, from a stream or a JSON body. Blocks are read by type:
 * text concatenates the text blocks; thinking and redacted_thinking are
 * counted, never part of text; the first tool_use block fills tool_name,
 * tool_id and tool_input (a JSON object, owned; NULL when a stream's tool
 * input was cut by max_tokens); other types are skipped.
 * output is the structured answer once the client has checked the call:
 * the tool input of a tool answer, or the JSON object parsed from text for
 * an output_config.format answer (owned; NULL otherwise).
 */
struct llm_response {
	char		 id[LLM_ID_MAX];
	char		 model[LLM_ID_MAX];
	char		 stop_reason[LLM_STOP_REASON_MAX];	/* "" until known */
	/* stop_details of a refusal: "category: explanation", printable ASCII. */
	char		 stop_details[LLM_STOP_DETAILS_MAX];
	struct buf	 text;
	char		 tool_name[LLM_ID_MAX];			/* "" without tool_use */
	char		 tool_id[LLM_ID_MAX];
	json_object	*tool_input;
	json_object	*output;
	int		 thinking_blocks;	/* thinking + redacted_thinking */
	struct llm_usage usage;
};

/* max_text caps the reply text; crossing it is BS_ERR_TOO_LARGE. */
void	llm_response_init(struct llm_response *res, size_t max_text);
/* Empty it for another attempt, keeping the cap. */
void	llm_response_reset(struct llm_response *res);
void	llm_response_free(struct llm_response *res);
/*
 * Fill res from a non-streamed 200 body. BS_ERR_INVALID with err set when
 * the body is not a Claude message (bad JSON, wrong types, oversized ids),
 * BS_ERR_TOO_LARGE when the text exceeds res's cap.
 */
bs_err	llm_response_parse_json(struct llm_response *res, const char *body,
	    size_t len, int max_depth, char *err, size_t errlen);

/*
 * The SSE layer (the WHATWG event-stream format): bytes in any chunking,
 * complete events out. "event" is "message" when the event named none;
 * data is the data lines joined with "\n", NUL-terminated. A callback
 * error stops the parser and is returned by every later call.
 */
typedef bs_err (*llm_sse_event_fn)(void *arg, const char *event,
	    const char *data, size_t datalen);

struct llm_sse_options {
	size_t	max_line;	/* longest line, without its end; 0 = default */
	size_t	max_total;	/* bytes in the whole stream; 0 = default */
};

struct llm_sse;

bs_err	llm_sse_new(const struct llm_sse_options *opt, llm_sse_event_fn fn,
	    void *arg, struct llm_sse **out);
void	llm_sse_free(struct llm_sse *p);
/* BS_ERR_TOO_LARGE past a cap (after emitting what came before it). */
bs_err	llm_sse_feed(struct llm_sse *p, const char *bytes, size_t len);
/* End of stream: BS_ERR_IO ("truncated stream") when an event is unfinished. */
bs_err	llm_sse_finish(struct llm_sse *p);
/* The parser's own error text, "" when none (callback errors are the caller's). */
const char *llm_sse_error(const struct llm_sse *p);

/*
 * The assembler: Claude's events into a struct llm_response. on_text sees
 * each text delta as it arrives (the turn forwards them as reply.delta).
 * Errors: BS_ERR_INVALID for a protocol violation (bad JSON, events out of
 * order), BS_ERR_TOO_LARGE past a cap, BS_ERR_IO for an error event or a
 * truncated stream; llm_stream_error_kind says which, and whether a retry
 * may help (llm_error_retryable).
 */
struct llm_stream_options {
	size_t	 max_line;		/* 0 = LLM_DEFAULT_MAX_LINE */
	size_t	 max_total;		/* 0 = LLM_DEFAULT_MAX_TOTAL */
	int	 max_json_depth;	/* 0 = LLM_DEFAULT_JSON_DEPTH */
	void	(*on_text)(void *arg, const char *text, size_t len);
	void	*on_text_arg;
};

struct llm_stream;

/* res is filled in place; it belongs to the caller and outlives the stream. */
bs_err	llm_stream_new(const struct llm_stream_options *opt,
	    struct llm_response *res, struct llm_stream **out);
void	llm_stream_free(struct llm_stream *st);
bs_err	llm_stream_feed(struct llm_stream *st, const char *bytes, size_t len);
/* BS_OK only after message_stop. */
bs_err	llm_stream_finish(struct llm_stream *st);
enum llm_error_kind llm_stream_error_kind(const struct llm_stream *st);
const char *llm_stream_error(const struct llm_stream *st);
/* True once on_text has been called: the caller has shown some of the reply. */
bool	llm_stream_text_delivered(const struct llm_stream *st);

/* May another attempt succeed after this kind of failure? */
bool	llm_error_retryable(enum llm_error_kind kind);
/* The kind for an API error.type ("overloaded_error"...); unknown types are server errors. */
enum llm_error_kind llm_error_kind_from_type(const char *type);
/*
 * An API error body {"type":"error","error":{"type","message"}}: *kind from
 * error.type and msg "type: message" (printable ASCII, at most 200 bytes of
 * the API's text). An error.details.error_code naming a spending limit
 * makes *kind LLM_ERR_SPEND_CAP and msg says so first. When the body is
 * not that, BS_ERR_INVALID, *kind untouched, and msg a cleaned excerpt of
 * at most 200 bytes of the body.
 */
bs_err	llm_error_body_parse(const char *body, size_t len,
	    enum llm_error_kind *kind, char *msg, size_t msglen);

/* The request. Nothing in it is modified, so it may be shared read-only. */
struct llm_message {
	const char	*role;		/* "user" or "assistant" */
	const char	*content;	/* text */
};

/*
 * A structured answer's name, description and schema. The schema is sent
 * as it is (deep-copied into each body): the caller reduces it to the
 * structured-output subset first (json_schema_to_strict).
 */
struct llm_tool {
	const char	*name;
	const char	*description;
	json_object	*input_schema;
};

/* How a structured answer is asked for (docs/CLAUDE.md). */
enum llm_answer {
	LLM_ANSWER_TEXT = 0,	/* plain text; tool is NULL */
	/* output_config.format json_schema with tool->input_schema; one text block of JSON */
	LLM_ANSWER_JSON_SCHEMA,
	/* tools[tool] with strict:true, tool_choice auto, no parallel calls */
	LLM_ANSWER_STRICT_TOOL,
	/* tools[tool], tool_choice {"type":"tool"}: only where the model accepts it */
	LLM_ANSWER_FORCED_TOOL
};

enum llm_thinking {
	LLM_THINKING_OMIT = 0,		/* no thinking field: the model's default */
	LLM_THINKING_ADAPTIVE,		/* {"type":"adaptive"} */
	LLM_THINKING_DISABLED,		/* {"type":"disabled"} */
	LLM_THINKING_BETWEEN_TOOLS,	/* {"type":"between_tools"} */
	LLM_THINKING_ENABLED		/* {"type":"enabled","budget_tokens":N} */
};

struct llm_request {
	const char			*model;
	int				 max_tokens;
	const char			*system;	/* NULL = none */
	bool				 system_cache;	/* cache_control ephemeral on it */
	const struct llm_message	*messages;
	size_t				 nmessages;
	bool				 has_temperature; /* never on 2026-10-21 */
	double				 temperature;	/* 0..1 */
	enum llm_answer			 answer;
	const struct llm_tool		*tool;		/* for every answer but TEXT */
	enum llm_thinking		 thinking;
	int				 thinking_budget; /* ENABLED: >= 1024, < max_tokens */
	const char			*effort;	/* output_config.effort, NULL = none */
	bool				 stream;
	/* Streams only; called from the thread running the batch's loop. */
	void				(*on_text)(void *arg, const char *text,
					    size_t len);
	void				*on_text_arg;
	const char			*user_id;	/* metadata.user_id, NULL = none */
};

/* ----- llm_request.c: the request builder ----- */
/*
 * The JSON body of a request (also a stable cache key for identical
 * calls). BS_ERR_INVALID with err set when the request is incomplete.
 */
bs_err	llm_request_body(const struct llm_request *req, struct buf *out,
	    char *err, size_t errlen);
/* The answer mode in force (a request with only .tool set forces it). */
enum llm_answer llm_request_answer(const struct llm_request *req);

/*
 * A complete 200 answer against what req asked (the client runs it on
 * every one): LLM_ERR_TRUNCATED, REFUSAL, CONTEXT or PAUSED by stop_reason,
 * LLM_ERR_MALFORMED when a JSON answer's text is not one JSON object or a
 * tool answer lacks its tool call; else LLM_ERR_NONE with res->output set
 * for a structured answer. msg says why; the rest of res is left intact
 * (a truncated reply keeps its text and usage).
 */
enum llm_error_kind llm_answer_check(const struct llm_request *req,
	    struct llm_response *res, int max_depth, char *msg, size_t msglen);

/* One call of a batch: the request in, the outcome out. */
struct llm_call {
	const struct llm_request *req;
	bs_err			 err;		/* BS_OK when the call succeeded */
	enum llm_error_kind	 kind;
	int			 http_status;	/* of the last attempt, 0 = none */
	int			 attempts;
	long			 latency_ms;	/* from batch start to the outcome */
	long			 held_ms;	/* of it, waiting for the rate limit */
	struct llm_response	 res;		/* the last attempt's (partial on failure) */
	char			 request_id[LLM_ID_MAX]; /* request-id header */
	char			 error[LLM_ERROR_MAX];	/* "" when ok; never the key */
};

void	llm_call_init(struct llm_call *call, const struct llm_request *req);
void	llm_call_free(struct llm_call *call);

struct llm_client_options {
	const char	*base_url;		/* CLAUDE_BASE_URL, http(s)://host[:port] */
	/*
	 * Sent as "Authorization: Bearer" on LLM_API_VERSION_CURRENT and as
	 * x-api-key on LLM_API_VERSION_LEGACY; never logged.
	 */
	const char	*api_key;
	const char	*api_version;		/* NULL = LLM_API_VERSION_CURRENT */
	long		 per_call_timeout_ms;	/* one attempt, 0 = default */
	long		 connect_timeout_ms;	/* 0 = default */
	int		 max_attempts;		/* first try included, 0 = default */
	long		 backoff_base_ms;	/* 0 = default */
	long		 backoff_max_ms;	/* 0 = default */
	size_t		 max_response_bytes;	/* body or stream, 0 = default */
	int		 max_json_depth;	/* 0 = default */
	/*
	 * Called once per finished call (success or failure), from the
	 * thread running the batch's loop: the place for
	 * metrics_claude_observe.
	 */
	void		(*observe)(void *arg, const struct llm_call *call);
	void		*observe_arg;
};

/*
 * Shared read-only by every thread once made; each loop (its multi
 * handle and easy handles) belongs to the thread that runs it.
 */
struct llm_client;

/*
 * curl_global_init and sodium_init: call once in main before any thread
 * starts (curl_global_init is not thread-safe); llm_global_cleanup at exit.
 */
bs_err	llm_global_init(void);
void	llm_global_cleanup(void);

bs_err	llm_client_new(const struct llm_client_options *opt,
	    struct llm_client **out, char *err, size_t errlen);
void	llm_client_free(struct llm_client *client);

/*
 * Run n calls in parallel on one curl multi handle, retrying each as its
 * failure allows, all within deadline_ms from now. Every call gets its
 * outcome (err, kind, attempts...). Returns BS_OK when the batch could
 * run, even if calls failed; otherwise the error (each call then carries
 * it too). Blocks the calling thread: it is one batch on a private
 * llm_loop, run until its done.
 */
bs_err	llm_batch_run(const struct llm_client *client, struct llm_call *calls,
	    size_t n, long deadline_ms);

/*
 * The loop: one thread drives the calls of many batches (the stages of
 * many turns) on one curl multi handle. A batch is calls added together,
 * with its own deadline and one done callback.
 *
 * Threads: a loop belongs to the thread that runs it. Every function here
 * but llm_loop_wakeup must be called from that thread; llm_loop_wakeup is
 * safe from any thread while the loop exists. on_text (struct
 * llm_request), observe (struct llm_client_options) and done all run on
 * the loop's thread, inside llm_loop_run (or llm_loop_destroy).
 *
 * Per batch, exactly as llm_batch_run: each call retried as its failure
 * allows (its waits are timers of the loop, never a sleep), the whole
 * batch bounded by its deadline; a call's outcome is in its struct
 * llm_call when done runs. Deadlines, retries and transfers of different
 * batches are independent: one batch cut off or waiting to retry does not
 * hold up another.
 *
 * Cost: curl's multi_socket API on epoll (Linux), so an iteration touches
 * only the sockets that are ready; due retries and deadlines sit in two
 * heaps (O(log n) per event); a batch's calls are scanned only when it is
 * cut off. The loop holds at most max_calls unfinished calls; each running
 * call is one connection (one file descriptor).
 *
 * Typical use, on the loop's thread:
 *
 *	llm_loop_create(client, 0, &loop);
 *	llm_loop_add(loop, calls, n, 60000, stage_done, turn, &turn->batch);
 *	while (running)
 *		llm_loop_run(loop, 1000);	// done callbacks run in here
 *	llm_loop_destroy(loop);
 */
struct llm_loop;
struct llm_batch;

/*
 * A loop for client (which must outlive it) holding at most max_calls
 * unfinished calls (0 = LLM_LOOP_DEFAULT_MAX_CALLS). BS_ERR_NOMEM,
 * BS_ERR_IO when no epoll or eventfd descriptor could be made.
 */
bs_err	llm_loop_create(const struct llm_client *client, size_t max_calls,
	    struct llm_loop **out);
/*
 * Every unfinished call ends at once (LLM_ERR_BUDGET, "the client loop was
 * shut down"; observe sees it) and every batch's done that has not run
 * runs now, in the order the batches finished: done runs exactly once
 * per batch, whatever happens. A done called here cannot add (BS_ERR_INVALID).
 * Never call it from inside a callback of the loop. NULL-safe.
 */
void	llm_loop_destroy(struct llm_loop *loop);
/*
 * Start a batch of n calls (n may be 0), the deadline deadline_ms from
 * now (0 or less: nothing starts, every call ends LLM_ERR_BUDGET). calls
 * and everything they point to (requests, on_text's argument) are the
 * caller's and must stay valid until done runs; each call's outcome fields
 * are reset here. done(arg) is called exactly once, from llm_loop_run (or
 * llm_loop_destroy) on the loop's thread, never from llm_loop_add, when
 * every call of the batch has ended: ok, failed, cut off by the deadline
 * or cancelled. done may free the calls, add batches and cancel others.
 * *out (NULL if unwanted) is the batch, for llm_loop_cancel, valid until
 * done has been called.
 * Errors, after which nothing was started and done will not run:
 * BS_ERR_TOO_LARGE when the loop's unfinished calls plus n would exceed
 * max_calls (the loop is full: try later or refuse the work),
 * BS_ERR_NOMEM, BS_ERR_INVALID (no calls, or the loop is being destroyed).
 * A call whose request is invalid ends at once (LLM_ERR_BAD_REQUEST), as
 * in llm_batch_run.
 */
bs_err	llm_loop_add(struct llm_loop *loop, struct llm_call *calls, size_t n,
	    long deadline_ms, void (*done)(void *arg), void *arg,
	    struct llm_batch **out);
/*
 * Cut the batch's unfinished calls off: the next llm_loop_run ends them
 * (LLM_ERR_BUDGET, "the batch was cancelled") and then calls done once,
 * as for any batch. Calls that ended before keep their outcome. Safe from
 * any callback of the loop (on_text, observe, done); a no-op once every
 * call of b has ended. b must be a batch of loop whose done has not run.
 */
void	llm_loop_cancel(struct llm_loop *loop, struct llm_batch *b);
/*
 * One iteration: wait at most timeout_ms (>= 0) for curl activity, the
 * earliest due retry or deadline of any batch, or llm_loop_wakeup (no wait
 * at all when something is already due); then cut off batches past their
 * deadline or cancelled, start due attempts, move the transfers on (the
 * on_text and observe callbacks run here) and call done for every batch
 * whose calls have all ended. BS_OK, also when calls failed; BS_ERR_INVALID
 * for a negative timeout or while the loop is destroyed; BS_ERR_INTERNAL
 * when the curl multi handle fails, BS_ERR_IO when epoll does, after
 * either of which every unfinished call of every batch has ended with that
 * error (LLM_ERR_NETWORK) and its batch's done has run.
 */
bs_err	llm_loop_run(struct llm_loop *loop, int timeout_ms);
/*
 * Make the running llm_loop_run, or else the next one, return without
 * waiting; from any thread (done in a loop thread by a producer of work).
 */
void	llm_loop_wakeup(struct llm_loop *loop);
/* Calls added and not yet ended (waiting to retry included). */
size_t	llm_loop_calls(const struct llm_loop *loop);
/* Batches added whose done has not yet been called. */
size_t	llm_loop_batches(const struct llm_loop *loop);

/* The client's anthropic-version. */
const char *llm_client_api_version(const struct llm_client *client);

/*
 * One blocking GET of path ("/v1/models/claude-haiku-5-5") with the
 * client's headers, for start-up checks: *status is the HTTP status (0 when
 * none came) and out the body (capped by out->max; the key scrubbed).
 * timeout_ms 0 is per_call_timeout_ms. BS_ERR_IO with err set for a
 * transport failure or timeout, BS_ERR_TOO_LARGE past out->max,
 * BS_ERR_INVALID for a path that is not "/..." printable ASCII; an HTTP
 * error status is BS_OK with *status set.
 */
bs_err	llm_client_get(const struct llm_client *client, const char *path,
	    long timeout_ms, int *status, struct buf *out, char *err,
	    size_t errlen);

/*
 * Models (src/llm_models.c): what GET /v1/models/{id} says of a model,
 * with the built-in table of what the API does not report.
 */
enum llm_lifecycle {
	LLM_LIFECYCLE_UNKNOWN = 0,	/* 404: the API does not know the id */
	LLM_LIFECYCLE_ACTIVE,
	LLM_LIFECYCLE_DEPRECATED,
	LLM_LIFECYCLE_RETIRED
};

#define LLM_EFFORT_LEVELS	5	/* low, medium, high, xhigh, max */

struct llm_model {
	char			 id[LLM_ID_MAX];	/* as configured */
	char			 resolved[LLM_ID_MAX];	/* ModelInfo.id (aliases resolve) */
	enum llm_lifecycle	 lifecycle;
	char			 retires_at[40];	/* RFC 3339, "" when none */
	bool			 checked;	/* the Models API answered (200, 404) */
	char			 line[32];		/* ModelInfo.line ("opus"), "" when none */
	char			 created_at[40];	/* RFC 3339, "" when not reported */
	long			 max_tokens;		/* 0 = not reported */
	bool			 structured_outputs;
	bool			 thinking[5];		/* by enum llm_thinking, [OMIT] always true */
	bool			 effort;		/* capabilities.effort.supported */
	bool			 effort_level[LLM_EFFORT_LEVELS];
	/* The built-in table (llm_model_traits). */
	bool			 forced_tool;		/* accepts tool_choice any/tool */
	bool			 sampling;		/* temperature on 2023-06-01 */
	bool			 thinks_by_default;	/* thinking on when omitted */
	long			 cache_min_tokens;
};

struct llm_price {
	double	in, out, cache_write_5m, cache_write_1h, cache_read;	/* $/MTok */
};

/* "low".."max" by index, NULL out of range. */
const char	*llm_effort_name(int level);
int		 llm_effort_parse(const char *s);	/* -1 when unknown */
const char	*llm_lifecycle_name(enum llm_lifecycle l);
/*
 * An RFC 3339 time ("2026-12-06T17:30:00Z", with or without a fraction,
 * "Z" or an offset) in ms since the epoch; -1 when it is not one.
 */
long long	 llm_rfc3339_ms(const char *v);
/* "adaptive", "disabled"... and "default" for LLM_THINKING_OMIT. */
const char	*llm_thinking_name(enum llm_thinking t);

/*
 * Fill m from a ModelInfo body (the API's answer to GET /v1/models/{id})
 * plus the built-in table for id. BS_ERR_INVALID with err when the body is
 * not a ModelInfo.
 */
bs_err		 llm_model_parse(const char *id, const char *body, size_t len,
		    struct llm_model *m, char *err, size_t errlen);
/* Only the built-in table: what is assumed of id before the API answered. */
void		 llm_model_defaults(const char *id, struct llm_model *m);
/* Ask the API about id (GET /v1/models/{id}); a 404 is BS_OK with lifecycle UNKNOWN. */
bs_err		 llm_model_fetch(const struct llm_client *client, const char *id,
		    struct llm_model *m, char *err, size_t errlen);
/*
 * A successor to m: the newest active model of its line in a GET
 * /v1/models page (newest first), released after m, into out.
 * BS_ERR_NOT_FOUND when the page has none, BS_ERR_INVALID when it is not
 * a model list.
 */
bs_err		 llm_models_newest(const char *body, size_t len,
		    const struct llm_model *m, char *out, size_t outlen);
/* The same, asked of the API (its first LLM_MODELS_PAGE models). */
#define LLM_MODELS_PAGE	100
bs_err		 llm_model_successor(const struct llm_client *client,
		    const struct llm_model *m, char *out, size_t outlen,
		    char *err, size_t errlen);
/*
 * Characters of prompt text per token, as the context budgets estimate it
 * (CONTEXT_TOKEN_BUDGET): 4 on the models of Haiku 4.5's tokenizer, 3 on
 * the newer one (Claude 4.7 and later, Haiku 5.5: about 30% more tokens
 * for one text) and on ids the table does not know.
 */
int		 llm_chars_per_token(const char *model);

/*
 * A call's prompt (input, cache reads and cache writes) over this many tokens
 * is a long one: Haiku 5.5 prices it higher (CLAUDE-API.md, section 1), and
 * the usage ledger keeps such calls apart (migration 0023).
 */
#define LLM_LONG_PROMPT_TOKENS	100000

/*
 * Prices of an exact model id (aliases and dated ids included) for a call
 * with a long prompt or not (a model with one price gives it for both);
 * false when unknown.
 */
bool		 llm_price_of(const char *model, bool long_prompt,
		    struct llm_price *out);

#endif
