#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "brainstorm/clock.h"
#include "brainstorm/http.h"

#define HEADERS_MAX	(16 * 1024)
#define RESPONSE_MAX	(64 * 1024 * 1024)

static const struct {
	int		 status;
	const char	*text;
} status_texts[] = {
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 204, "No Content" }, { 304, "Not Modified" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
	{ 413, "Payload Too Large" }, { 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Entity" },
	{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
	{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
};

const char *
http_status_text(int status)
{
	size_t	 i;

	for (i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return "Unknown";
}

void
http_ctx_init(struct http_ctx *ctx, struct app *app,
    const struct http_source *src,
    long (*write)(void *, const char *, size_t), void *write_arg)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->app = app;
	ctx->req.src = *src;
	ctx->req.method = "";
	ctx->req.path = "/";
	ctx->req.query = "";
	ctx->req.content_type = "";
	ctx->req.remote_addr = "";
	ctx->req.started = bs_monotonic_s();
	buf_init(&ctx->req.body, 0);
	buf_init(&ctx->res.headers, HEADERS_MAX);
	buf_init(&ctx->res.body, RESPONSE_MAX);
	ctx->res.status = 500;
	ctx->write = write;
	ctx->write_arg = write_arg;
}

void
http_ctx_free(struct http_ctx *ctx)
{
	http_kv_free(ctx->req.query_params, ctx->req.nquery);
	http_kv_free(ctx->req.params, ctx->req.nparams);
	ctx->req.nquery = ctx->req.nparams = 0;
	json_object_put(ctx->req.json);
	ctx->req.json = NULL;
	buf_free(&ctx->req.body);
	buf_free(&ctx->res.headers);
	buf_free(&ctx->res.body);
}

bs_err
http_header_add(struct http_ctx *ctx, const char *name, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 mark = ctx->res.headers.len;
	size_t	 i;
	bs_err	 e;

	if ((e = buf_printf(&ctx->res.headers, "%s: ", name)) != BS_OK)
		goto out;
	va_start(ap, fmt);
	e = buf_vprintf(&ctx->res.headers, fmt, ap);
	va_end(ap);
	if (e != BS_OK)
		goto out;
	/* A value never carries a line break into the header block. */
	for (i = mark; i < ctx->res.headers.len; i++) {
		if (ctx->res.headers.data[i] == '\r' || ctx->res.headers.data[i] == '\n') {
			e = BS_ERR_INVALID;
			goto out;
		}
	}
	e = buf_puts(&ctx->res.headers, "\r\n");
out:
	if (e != BS_OK) {
		ctx->res.headers.len = mark;
		if (ctx->res.headers.data != NULL)
			ctx->res.headers.data[mark] = '\0';
	}
	return e;
}

void
http_respond_text(struct http_ctx *ctx, int status, const char *content_type,
    const char *text, size_t len)
{
	ctx->res.status = status;
	ctx->res.content_type = content_type;
	buf_reset(&ctx->res.body);
	if (buf_append(&ctx->res.body, text, len) != BS_OK) {
		buf_reset(&ctx->res.body);
		ctx->res.status = 500;
	}
}

void
http_respond_json(struct http_ctx *ctx, int status, json_object *body)
{
	const char	*text;

	text = json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	http_respond_text(ctx, status, "application/json", text, strlen(text));
	json_object_put(body);
}

json_object *
http_error_body(const char *code, const char *message, const char *request_id)
{
	json_object	*root, *err;

	root = json_object_new_object();
	err = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(message));
	json_object_object_add(err, "request_id",
	    json_object_new_string(request_id != NULL ? request_id : ""));
	json_object_object_add(root, "error", err);
	return root;
}

void
http_respond_error(struct http_ctx *ctx, int status, const char *code,
    const char *fmt, ...)
{
	char	 message[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	http_respond_json(ctx, status, http_error_body(code, message,
	    ctx->req.request_id));
}

static bool
header_present(const struct http_ctx *ctx, const char *name)
{
	const char	*p = buf_cstr(&ctx->res.headers);
	size_t		 n = strlen(name);

	while (*p != '\0') {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return true;
		if ((p = strstr(p, "\r\n")) == NULL)
			break;
		p += 2;
	}
	return false;
}

bs_err
http_response_send(struct http_ctx *ctx)
{
	struct buf	 head;
	bs_err		 e;

	if (ctx->res.sent)
		return BS_OK;
	buf_init(&head, HEADERS_MAX + 1024);
	e = buf_printf(&head, "Status: %d %s\r\n", ctx->res.status,
	    http_status_text(ctx->res.status));
	if (e == BS_OK && ctx->res.content_type != NULL)
		e = buf_printf(&head, "Content-Type: %s\r\n", ctx->res.content_type);
	if (e == BS_OK)
		e = buf_printf(&head, "Content-Length: %zu\r\n", ctx->res.body.len);
	if (e == BS_OK && !header_present(ctx, "Cache-Control"))
		e = buf_puts(&head, "Cache-Control: no-store\r\n");
	if (e == BS_OK)
		e = buf_printf(&head, "X-Request-Id: %s\r\n", ctx->req.request_id);
	if (e == BS_OK)
		e = buf_append(&head, buf_cstr(&ctx->res.headers), ctx->res.headers.len);
	if (e == BS_OK)
		e = buf_puts(&head, "\r\n");
	if (e != BS_OK)
		goto out;
	ctx->res.sent = true;
	if (ctx->write(ctx->write_arg, head.data, head.len) < 0 ||
	    (ctx->res.body.len > 0 && ctx->write(ctx->write_arg,
	    ctx->res.body.data, ctx->res.body.len) < 0))
		e = BS_ERR_IO;
out:
	buf_free(&head);
	return e;
}

bs_err
http_stream_begin(struct http_ctx *ctx, int status, const char *content_type)
{
	struct buf	 head;
	bs_err		 e;

	if (ctx->res.sent)
		return BS_ERR_INVALID;
	buf_init(&head, HEADERS_MAX + 1024);
	ctx->res.status = status;
	ctx->res.content_type = content_type;
	e = buf_printf(&head, "Status: %d %s\r\nContent-Type: %s\r\n"
	    "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
	    "X-Request-Id: %s\r\n", status, http_status_text(status),
	    content_type, ctx->req.request_id);
	if (e == BS_OK)
		e = buf_append(&head, buf_cstr(&ctx->res.headers), ctx->res.headers.len);
	if (e == BS_OK)
		e = buf_puts(&head, "\r\n");
	if (e == BS_OK) {
		ctx->res.sent = true;
		e = http_stream_write(ctx, head.data, head.len);
	}
	buf_free(&head);
	return e;
}

bs_err
http_stream_write(struct http_ctx *ctx, const char *data, size_t len)
{
	if (ctx->client_gone)
		return BS_ERR_IO;
	if (ctx->write(ctx->write_arg, data, len) < 0 ||
	    (ctx->flush != NULL && ctx->flush(ctx->write_arg) < 0)) {
		ctx->client_gone = true;
		return BS_ERR_IO;
	}
	return BS_OK;
}

bs_err
http_stream_event(struct http_ctx *ctx, const char *id, const char *event,
    const char *data)
{
	struct buf	 ev;
	const char	*p, *nl;
	bs_err		 e = BS_OK;

	buf_init(&ev, 4 * 1024 * 1024);
	if (id != NULL)
		e = buf_printf(&ev, "id: %s\n", id);
	if (e == BS_OK)
		e = buf_printf(&ev, "event: %s\n", event);
	/* A newline in the data starts another data line. */
	for (p = data; e == BS_OK; p = nl + 1) {
		nl = strchr(p, '\n');
		e = buf_printf(&ev, "data: %.*s\n", nl != NULL ? (int)(nl - p) :
		    (int)strlen(p), p);
		if (nl == NULL)
			break;
	}
	if (e == BS_OK)
		e = buf_puts(&ev, "\n");
	if (e == BS_OK)
		e = http_stream_write(ctx, ev.data, ev.len);
	buf_free(&ev);
	return e;
}

bool
http_accepts_event_stream(const struct http_request *req)
{
	const char	*accept = http_header_get(req, "Accept");

	return accept != NULL && strcasestr(accept, "text/event-stream") != NULL;
}
