/*
 * libFuzzer harness for the request parser: the input's first line is the
 * query string, the rest the JSON body of a POST.
 * Build: ./configure CC=clang --enable-fuzzing && make tests/fuzz/fuzz_request
 * Run:   tests/fuzz/fuzz_request -max_total_time=60 tests/fuzz/corpus
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/http.h"

struct fuzz_source {
	const char	*query;
	char		 length[32];
	const char	*body;
	size_t		 len, off;
};

static const char *
fuzz_param(void *arg, const char *name)
{
	struct fuzz_source	*f = arg;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "POST";
	if (strcmp(name, "DOCUMENT_URI") == 0)
		return "/api/debug/echo";
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return "application/json";
	if (strcmp(name, "QUERY_STRING") == 0)
		return f->query;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return f->length;
	return NULL;
}

static long
fuzz_read(void *arg, char *dst, size_t n)
{
	struct fuzz_source	*f = arg;

	if (n > f->len - f->off)
		n = f->len - f->off;
	memcpy(dst, f->body + f->off, n);
	f->off += n;
	return (long)n;
}

static long
fuzz_write(void *arg, const char *data, size_t n)
{
	(void)arg;
	(void)data;
	return (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_limits	 limits = { 65536, 32 };
	struct fuzz_source		 f = { 0 };
	struct http_source		 src = { fuzz_param, fuzz_read, &f };
	struct http_ctx			 ctx;
	char				*copy, *nl;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	nl = memchr(copy, '\n', size);
	if (nl != NULL) {
		*nl = '\0';
		f.body = nl + 1;
		f.len = size - (size_t)(nl + 1 - copy);
	} else {
		f.body = "";
		f.len = 0;
	}
	f.query = copy;
	snprintf(f.length, sizeof(f.length), "%zu", f.len);

	http_ctx_init(&ctx, NULL, &src, fuzz_write, NULL);
	if (http_request_parse(&ctx) == BS_OK)
		http_request_parse_json(&ctx, &limits);
	http_response_send(&ctx);
	http_ctx_free(&ctx);
	free(copy);
	return 0;
}
