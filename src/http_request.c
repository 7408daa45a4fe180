#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "brainstorm/http.h"
#include "brainstorm/router.h"
#include "brainstorm/validate.h"

#define PATH_MAX_LEN		2048
#define QUERY_MAX_LEN		4096
#define QUERY_VALUE_MAX_LEN	2048
#define METHOD_MAX_LEN		16
#define HEADER_NAME_MAX_LEN	128

static const char *
source_param(const struct http_request *req, const char *name)
{
	return req->src.param != NULL ? req->src.param(req->src.arg, name) : NULL;
}

const char *
http_header_get(const struct http_request *req, const char *name)
{
	char	 cgi[HEADER_NAME_MAX_LEN + 6];
	size_t	 i, n = strlen(name);

	if (n > HEADER_NAME_MAX_LEN)
		return NULL;
	if (strcasecmp(name, "Content-Type") == 0)
		return source_param(req, "CONTENT_TYPE");
	if (strcasecmp(name, "Content-Length") == 0)
		return source_param(req, "CONTENT_LENGTH");
	memcpy(cgi, "HTTP_", 5);
	for (i = 0; i < n; i++)
		cgi[5 + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	cgi[5 + n] = '\0';
	return source_param(req, cgi);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into a new string; NULL on a bad escape or bad UTF-8. */
static char *
query_decode(const char *s, size_t n)
{
	char	*out;
	size_t	 i, o = 0;
	int	 hi, lo;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n)
				goto bad;
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	if (memchr(out, '\0', o) != NULL || !utf8_valid(out, o))
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

void
http_kv_free(struct http_kv *kv, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
		kv[i].name = kv[i].value = NULL;
	}
}

bs_err
http_query_parse(const char *qs, struct http_kv *out, size_t max, size_t *n)
{
	const char	*p = qs, *amp, *eq;
	size_t		 klen, plen;
	bs_err		 e = BS_OK;

	*n = 0;
	if (strlen(qs) > QUERY_MAX_LEN)
		return BS_ERR_TOO_LARGE;
	while (*p != '\0') {
		amp = strchr(p, '&');
		plen = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (plen == 0)
			goto next;
		if (*n >= max) {
			e = BS_ERR_TOO_LARGE;
			goto out;
		}
		eq = memchr(p, '=', plen);
		klen = eq != NULL ? (size_t)(eq - p) : plen;
		if (eq != NULL && plen - klen - 1 > QUERY_VALUE_MAX_LEN) {
			e = BS_ERR_TOO_LARGE;
			goto out;
		}
		if (klen == 0) {
			e = BS_ERR_INVALID;
			goto out;
		}
		out[*n].name = query_decode(p, klen);
		out[*n].value = eq != NULL ? query_decode(eq + 1, plen - klen - 1) :
		    strdup("");
		(*n)++;
		if (out[*n - 1].name == NULL || out[*n - 1].value == NULL) {
			e = BS_ERR_INVALID;
			goto out;
		}
next:
		if (amp == NULL)
			break;
		p = amp + 1;
	}
out:
	if (e != BS_OK) {
		http_kv_free(out, *n);
		*n = 0;
	}
	return e;
}

const char *
http_query_get(const struct http_request *req, const char *name)
{
	size_t	 i;

	for (i = 0; i < req->nquery; i++)
		if (strcmp(req->query_params[i].name, name) == 0)
			return req->query_params[i].value;
	return NULL;
}

const char *
http_param_get(const struct http_request *req, const char *name)
{
	size_t	 i;

	for (i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

/* An incoming id is kept only when it is short and plainly printable. */
static bool
request_id_acceptable(const char *id)
{
	size_t	 i;

	if (id == NULL || *id == '\0' || strlen(id) >= HTTP_REQUEST_ID_LEN)
		return false;
	for (i = 0; id[i] != '\0'; i++)
		if (!isalnum((unsigned char)id[i]) && strchr("-_.", id[i]) == NULL)
			return false;
	return true;
}

static void
request_id_generate(char *out, size_t outlen)
{
	unsigned char	 raw[16];
	size_t		 i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	for (i = 0; i < sizeof(raw) && 2 * i + 2 < outlen; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static bool
method_valid(const char *m)
{
	size_t	 i;

	if (m == NULL || *m == '\0' || strlen(m) > METHOD_MAX_LEN)
		return false;
	for (i = 0; m[i] != '\0'; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return false;
	return true;
}

bs_err
http_request_parse(struct http_ctx *ctx)
{
	struct http_request	*req = &ctx->req;
	const char		*v;
	const char		*errstr;
	long long		 cl;

	v = http_header_get(req, "X-Request-Id");
	if (request_id_acceptable(v))
		snprintf(req->request_id, sizeof(req->request_id), "%s", v);
	else
		request_id_generate(req->request_id, sizeof(req->request_id));

	v = source_param(req, "REQUEST_METHOD");
	req->method = v != NULL ? v : "";
	req->path = source_param(req, "DOCUMENT_URI");
	if (req->path == NULL)
		req->path = source_param(req, "SCRIPT_NAME");
	req->query = (v = source_param(req, "QUERY_STRING")) != NULL ? v : "";
	req->content_type = (v = source_param(req, "CONTENT_TYPE")) != NULL ? v : "";
	req->remote_addr = (v = source_param(req, "REMOTE_ADDR")) != NULL ? v : "";

	if (!method_valid(req->method)) {
		req->method = "INVALID";
		http_respond_error(ctx, 400, "bad_request", "Malformed request method.");
		return BS_ERR_INVALID;
	}
	if (req->path == NULL || req->path[0] != '/' ||
	    strlen(req->path) > PATH_MAX_LEN ||
	    !utf8_valid(req->path, strlen(req->path))) {
		req->path = "/";
		http_respond_error(ctx, 400, "bad_request", "Malformed request path.");
		return BS_ERR_INVALID;
	}

	v = source_param(req, "CONTENT_LENGTH");
	if (v != NULL && *v != '\0') {
		cl = bs_strtonum(v, 0, (long long)(SIZE_MAX / 2 < LLONG_MAX ?
		    SIZE_MAX / 2 : LLONG_MAX), &errstr);
		if (errstr != NULL || *v == '-') {
			http_respond_error(ctx, 400, "bad_request",
			    "Malformed Content-Length.");
			return BS_ERR_INVALID;
		}
		req->content_length = (size_t)cl;
	}

	switch (http_query_parse(req->query, req->query_params, HTTP_QUERY_MAX,
	    &req->nquery)) {
	case BS_OK:
		break;
	case BS_ERR_TOO_LARGE:
		http_respond_error(ctx, 400, "bad_query",
		    "The query string has too many or too long parameters.");
		return BS_ERR_INVALID;
	default:
		http_respond_error(ctx, 400, "bad_query",
		    "The query string is malformed (bad escape or not UTF-8).");
		return BS_ERR_INVALID;
	}
	return BS_OK;
}

bs_err
http_request_read_body(struct http_ctx *ctx, const struct http_limits *lim)
{
	struct http_request	*req = &ctx->req;
	char			 chunk[8192];
	size_t			 want;
	long			 got;
	bs_err			 e;

	if (req->content_length > lim->max_body_bytes) {
		http_respond_error(ctx, 413, "payload_too_large",
		    "The body is larger than %zu bytes.", lim->max_body_bytes);
		return BS_ERR_TOO_LARGE;
	}
	buf_reset(&req->body);
	req->body.max = lim->max_body_bytes;
	while (req->body.len < req->content_length) {
		want = req->content_length - req->body.len;
		if (want > sizeof(chunk))
			want = sizeof(chunk);
		if ((got = req->src.read(req->src.arg, chunk, want)) <= 0) {
			http_respond_error(ctx, 400, "bad_request",
			    "The body ended before Content-Length bytes.");
			return BS_ERR_IO;
		}
		if ((e = buf_append(&req->body, chunk, (size_t)got)) != BS_OK) {
			http_respond_error(ctx, 413, "payload_too_large",
			    "The body is larger than %zu bytes.", lim->max_body_bytes);
			return e;
		}
	}
	return BS_OK;
}

/* "application/json" with optional parameters; a charset must be UTF-8. */
static bool
content_type_is_json(const char *ct)
{
	const char	*p;
	size_t		 n = strlen("application/json");

	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	p = ct + n;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return true;
	if (*p != ';')
		return false;
	if ((p = strcasestr(p, "charset=")) == NULL)
		return true;
	p += strlen("charset=");
	if (*p == '"')
		p++;
	return strncasecmp(p, "utf-8", 5) == 0 || strncasecmp(p, "utf8", 4) == 0;
}

bs_err
http_request_parse_json(struct http_ctx *ctx, const struct http_limits *lim)
{
	struct http_request	*req = &ctx->req;
	char			 reason[256];
	bs_err			 e;

	if (!content_type_is_json(req->content_type)) {
		http_respond_error(ctx, 415, "unsupported_media_type",
		    "The body must be application/json (UTF-8).");
		return BS_ERR_INVALID;
	}
	if ((e = http_request_read_body(ctx, lim)) != BS_OK)
		return e;
	if (req->body.len == 0) {
		http_respond_error(ctx, 400, "invalid_json", "A JSON body is required.");
		return BS_ERR_INVALID;
	}
	e = json_parse_limited(req->body.data, req->body.len, lim->max_json_depth,
	    &req->json, reason, sizeof(reason));
	if (e != BS_OK) {
		http_respond_error(ctx, 400, "invalid_json", "The body is not valid "
		    "JSON: %s.", reason);
		return e;
	}
	if (!json_object_is_type(req->json, json_type_object)) {
		http_respond_error(ctx, 422, "validation_failed",
		    "The body must be a JSON object.");
		return BS_ERR_INVALID;
	}
	return BS_OK;
}
