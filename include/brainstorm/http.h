/*
 * One HTTP exchange as the handlers see it: the request parsed once at the
 * edge into typed fields, and the response they fill in.
 */
#ifndef BRAINSTORM_HTTP_H
#define BRAINSTORM_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"
#include "brainstorm/json.h"

#define HTTP_PARAMS_MAX		8	/* {name} captures in a route */
#define HTTP_QUERY_MAX		32	/* query-string pairs */
#define HTTP_REQUEST_ID_LEN	64

struct app;
struct route;

struct http_kv {
	char	*name;
	char	*value;
};

/* Limits the request parser enforces (from the configuration). */
struct http_limits {
	size_t	max_body_bytes;
	int	max_json_depth;
};

/* Where the request came from: FastCGI params and the body stream. */
struct http_source {
	/* Returns a CGI parameter (REQUEST_METHOD, HTTP_X_REQUEST_ID...) or NULL. */
	const char *(*param)(void *arg, const char *name);
	/* Reads up to n bytes of body; returns bytes read, 0 at end, -1 on error. */
	long	(*read)(void *arg, char *dst, size_t n);
	void	*arg;
};

struct http_request {
	const char	*method;
	const char	*path;		/* DOCUMENT_URI, without the query */
	const char	*query;		/* raw QUERY_STRING, "" when absent */
	const char	*content_type;	/* "" when absent */
	const char	*remote_addr;
	size_t		 content_length;
	char		 request_id[HTTP_REQUEST_ID_LEN];

	struct http_kv	 query_params[HTTP_QUERY_MAX];
	size_t		 nquery;
	struct http_kv	 params[HTTP_PARAMS_MAX];	/* route captures */
	size_t		 nparams;

	struct buf	 body;
	json_object	*json;		/* parsed body, or NULL */
	const struct route *route;
	char		 user_id[40];	/* set by authentication, "" otherwise */
	char		 session_id[40]; /* the access token's sid: its refresh family */
	char		 project_id[40]; /* project routes: user_id is a member */
	int		 project_role;	/* and this role (enum project_role) */
	double		 started;	/* bs_monotonic_s() when it began */
	struct http_source src;
};

struct http_response {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
	const char	*content_type;
	bool		 sent;		/* headers already written (streaming) */
};

struct http_ctx {
	struct app		*app;
	struct http_request	 req;
	struct http_response	 res;
	/* Writes raw response bytes (headers and body); -1 on a gone client. */
	long	(*write)(void *arg, const char *data, size_t n);
	/* Pushes written bytes to the client now (streams); -1 on a gone client. */
	int	(*flush)(void *arg);
	/*
	 * Ends the answer: the client has all of it, before the access line
	 * and the metrics (NULL: the transport ends it after app_handle).
	 * Nothing is written after it; -1 on a gone client.
	 */
	int	(*finish)(void *arg);
	void	*write_arg;
	bool	 client_gone;	/* a stream write failed: stop writing */
};

void	http_ctx_init(struct http_ctx *ctx, struct app *app,
	    const struct http_source *src,
	    long (*write)(void *, const char *, size_t), void *write_arg);
void	http_ctx_free(struct http_ctx *ctx);

/*
 * Parse method, path, query string and headers from the source. On a bad
 * request the response is already set to the JSON error and an error returned.
 */
bs_err	http_request_parse(struct http_ctx *ctx);
/* Read exactly CONTENT_LENGTH bytes within the cap (413 beyond it). */
bs_err	http_request_read_body(struct http_ctx *ctx, const struct http_limits *lim);
/* Require a JSON body: 415 for another media type, 400 when it does not parse. */
bs_err	http_request_parse_json(struct http_ctx *ctx, const struct http_limits *lim);

const char *http_query_get(const struct http_request *req, const char *name);
const char *http_param_get(const struct http_request *req, const char *name);
/* A request header by its HTTP name ("X-Request-Id"), NULL when absent. */
const char *http_header_get(const struct http_request *req, const char *name);

/* Parse "a=1&b=x%20y" into at most max pairs; BS_ERR_INVALID on bad escapes or UTF-8. */
bs_err	http_query_parse(const char *qs, struct http_kv *out, size_t max,
	    size_t *n);
void	http_kv_free(struct http_kv *kv, size_t n);

/* Response helpers: the status text, headers and the PRODUCT.md error shape. */
const char *http_status_text(int status);
bs_err	http_header_add(struct http_ctx *ctx, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Takes ownership of body. */
void	http_respond_json(struct http_ctx *ctx, int status, json_object *body);
void	http_respond_text(struct http_ctx *ctx, int status, const char *content_type,
	    const char *text, size_t len);
void	http_respond_error(struct http_ctx *ctx, int status, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Build the error document (also used by tests). */
json_object *http_error_body(const char *code, const char *message,
	    const char *request_id);
/* Write status, headers and body through ctx->write (once). */
bs_err	http_response_send(struct http_ctx *ctx);

/*
 * A streamed response (Server-Sent Events): status and headers go out now,
 * without Content-Length; then each write is pushed to the client at once.
 * After the client goes away writes return BS_ERR_IO and client_gone is set;
 * the caller may go on with its work.
 */
bs_err	http_stream_begin(struct http_ctx *ctx, int status, const char *content_type);
bs_err	http_stream_write(struct http_ctx *ctx, const char *data, size_t len);
/* One SSE event: "id:" (when id is not NULL), "event:", "data:" lines. */
bs_err	http_stream_event(struct http_ctx *ctx, const char *id, const char *event,
	    const char *data);
/* True when the request asks for text/event-stream. */
bool	http_accepts_event_stream(const struct http_request *req);

#endif
