/*
 * libFuzzer harness for the Claude stream: the input is a stream, parsed by
 * the SSE parser and the assembler in one piece, byte by byte, and in
 * pseudo-random chunks drawn from the input's hash. Beyond crashes and
 * leaks it checks the parser's promise: the chunking never changes the
 * result. A complete stream's answer is then checked as a JSON answer
 * (llm_answer_check parses its text). The same bytes also go through the
 * non-streamed body parser and the error body parser.
 * Build: ./configure CC=clang --enable-fuzzing && make tests/fuzz/fuzz_sse
 * Run:   tests/fuzz/fuzz_sse -max_total_time=60 tests/fuzz/corpus_sse
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/llm.h"

/* Small caps, so inputs the fuzzer can reach cross them. */
#define FUZZ_MAX_LINE	512
#define FUZZ_MAX_TOTAL	(32 * 1024)
#define FUZZ_MAX_TEXT	2048
#define FUZZ_DEPTH	16

enum fuzz_chunking {
	FUZZ_WHOLE,
	FUZZ_BYTES,
	FUZZ_RANDOM
};

static void
fuzz_on_text(void *arg, const char *text, size_t len)
{
	struct buf	*deltas = arg;

	/* Deltas are bounded by the text cap, well inside this buffer. */
	buf_append(deltas, text, len);
	buf_append(deltas, "|", 1);
}

static uint64_t
fuzz_hash(const uint8_t *data, size_t size)
{
	uint64_t	 h = 1469598103934665603ULL;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	return h;
}

static void
fuzz_parse(const uint8_t *data, size_t size, enum fuzz_chunking how,
    struct buf *sig)
{
	static const struct llm_message	 msg = { "user", "fuzz" };
	struct llm_stream_options	 opt;
	struct llm_response		 res;
	struct llm_stream		*st = NULL;
	struct llm_request		 req;
	struct llm_tool			 tool = { "fuzz", NULL, NULL };
	struct buf			 deltas;
	enum llm_error_kind		 verdict = LLM_ERR__COUNT;
	uint64_t			 rng = fuzz_hash(data, size) | 1;
	size_t				 off = 0, n;
	char				 why[LLM_ERROR_MAX] = "";
	bs_err				 e = BS_OK;

	buf_init(&deltas, 2 * FUZZ_MAX_TOTAL);
	llm_response_init(&res, FUZZ_MAX_TEXT);
	memset(&opt, 0, sizeof(opt));
	opt.max_line = FUZZ_MAX_LINE;
	opt.max_total = FUZZ_MAX_TOTAL;
	opt.max_json_depth = FUZZ_DEPTH;
	opt.on_text = fuzz_on_text;
	opt.on_text_arg = &deltas;
	if (llm_stream_new(&opt, &res, &st) != BS_OK)
		goto out;
	while (off < size && e == BS_OK) {
		switch (how) {
		case FUZZ_WHOLE:
			n = size;
			break;
		case FUZZ_BYTES:
			n = 1;
			break;
		default:
			rng ^= rng << 13;	/* xorshift64 */
			rng ^= rng >> 7;
			rng ^= rng << 17;
			n = 1 + (size_t)(rng % 97);
			break;
		}
		if (n > size - off)
			n = size - off;
		e = llm_stream_feed(st, (const char *)data + off, n);
		off += n;
	}
	if (e == BS_OK)
		e = llm_stream_finish(st);
	if (e == BS_OK && (tool.input_schema = json_object_new_object()) != NULL) {
		memset(&req, 0, sizeof(req));
		req.model = "m";
		req.max_tokens = 1024;
		req.messages = &msg;
		req.nmessages = 1;
		req.answer = LLM_ANSWER_JSON_SCHEMA;
		req.tool = &tool;
		verdict = llm_answer_check(&req, &res, FUZZ_DEPTH, why,
		    sizeof(why));
		json_object_put(tool.input_schema);
	}
	buf_reset(sig);
	buf_printf(sig, "%d %s %s %d|%s|%s|%s|%s|%d|", e,
	    llm_error_kind_name(llm_stream_error_kind(st)),
	    llm_stream_error(st), llm_stream_text_delivered(st), res.id,
	    res.model, res.stop_reason, res.stop_details, res.thinking_blocks);
	buf_append(sig, buf_cstr(&res.text), res.text.len);	/* may hold NULs */
	buf_printf(sig, "|%s/%s/%s|%ld,%ld,%ld,%ld,%ld,%ld,%ld|%s %s|",
	    res.tool_name, res.tool_id, res.tool_input != NULL ?
	    json_object_to_json_string_ext(res.tool_input,
	    JSON_C_TO_STRING_PLAIN) : "-", res.usage.input_tokens,
	    res.usage.output_tokens, res.usage.cache_creation_input_tokens,
	    res.usage.cache_read_input_tokens, res.usage.cache_creation_5m_tokens,
	    res.usage.cache_creation_1h_tokens, res.usage.thinking_tokens,
	    llm_error_kind_name(verdict), why);
	buf_append(sig, buf_cstr(&deltas), deltas.len);
out:
	llm_stream_free(st);
	llm_response_free(&res);
	buf_free(&deltas);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct llm_response	 res;
	struct buf		 whole, other;
	enum llm_error_kind	 kind = LLM_ERR_NONE;
	char			 msg[LLM_ERROR_MAX];

	buf_init(&whole, 4 * FUZZ_MAX_TOTAL);
	buf_init(&other, 4 * FUZZ_MAX_TOTAL);
	fuzz_parse(data, size, FUZZ_WHOLE, &whole);
	fuzz_parse(data, size, FUZZ_BYTES, &other);
	if (whole.len != other.len || memcmp(whole.data, other.data,
	    whole.len) != 0)
		__builtin_trap();	/* byte by byte differs from one piece */
	fuzz_parse(data, size, FUZZ_RANDOM, &other);
	if (whole.len != other.len || memcmp(whole.data, other.data,
	    whole.len) != 0)
		__builtin_trap();	/* random chunks differ from one piece */
	buf_free(&whole);
	buf_free(&other);

	/* The same bytes as a non-streamed answer and as an error body. */
	llm_response_init(&res, FUZZ_MAX_TEXT);
	llm_response_parse_json(&res, (const char *)data, size, FUZZ_DEPTH, msg,
	    sizeof(msg));
	llm_response_free(&res);
	llm_error_body_parse((const char *)data, size, &kind, msg, sizeof(msg));
	return 0;
}
