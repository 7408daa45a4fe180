/* A request source for unit tests: CGI params from a table, body from memory. */
#ifndef TESTS_FAKE_REQUEST_H
#define TESTS_FAKE_REQUEST_H

#include <string.h>

#include "brainstorm/buf.h"
#include "brainstorm/http.h"

struct fake_request {
	const char	*params[32][2];
	const char	*body;
	size_t		 body_len;
	size_t		 body_off;
	size_t		 chunk;		/* bytes per read, 0 = all */
	struct buf	 out;		/* what the response wrote */
};

static const char *
fake_param(void *arg, const char *name)
{
	struct fake_request	*f = arg;
	size_t			 i;

	for (i = 0; i < 32 && f->params[i][0] != NULL; i++)
		if (strcmp(f->params[i][0], name) == 0)
			return f->params[i][1];
	return NULL;
}

static long
fake_read(void *arg, char *dst, size_t n)
{
	struct fake_request	*f = arg;
	size_t			 left = f->body_len - f->body_off;

	if (f->chunk > 0 && n > f->chunk)
		n = f->chunk;
	if (n > left)
		n = left;
	memcpy(dst, f->body + f->body_off, n);
	f->body_off += n;
	return (long)n;
}

static long
fake_write(void *arg, const char *data, size_t n)
{
	struct fake_request	*f = arg;

	return buf_append(&f->out, data, n) == BS_OK ? (long)n : -1;
}

static void
fake_ctx_init(struct http_ctx *ctx, struct fake_request *f)
{
	struct http_source	 src = { fake_param, fake_read, f };

	buf_init(&f->out, 1 << 20);
	http_ctx_init(ctx, NULL, &src, fake_write, f);
}

#endif
