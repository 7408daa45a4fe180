/*
 * The SSE parser and the Claude stream assembler. The recorded streams are
 * fed under every chunking a network could produce (every split point,
 * pairs of split points, byte by byte): the result must never differ from
 * the one-piece parse.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/llm.h"

/* Streams as Claude sends them (ids and counts from real traffic's shape). */
static const char stream_text[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\","
	"\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
	"\"model\":\"claude-sonnet-4-5-20250929\",\"stop_reason\":null,\"stop_sequence\":null,"
	"\"usage\":{\"input_tokens\":1525,\"cache_creation_input_tokens\":1200,"
	"\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
	"\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
	"\"text\":\", caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x92\xa1 idea\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\\n\"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n"
	"\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
	"\"usage\":{\"output_tokens\":15}}\n"
	"\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n"
	"\n";

static const char stream_tool[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\","
	"\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5-20251001\","
	"\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2},"
	"\"content\":[],\"stop_reason\":null}}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
	"\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"classify_intent\",\"input\":{}}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n"
	"\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"{\\\"intent\\\": \\\"brainst\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"orming\\\", \\\"confid\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"ence\\\": 87}\"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n"
	"\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
	"\"usage\":{\"output_tokens\":89}}\n"
	"\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n"
	"\n";

/* Short enough for every pair of split points. */
static const char stream_ping_error[] =
	": keep-alive\n"
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":9}}}\n"
	"\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
	"\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n"
	"\n"
	"event: error\n"
	"data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n"
	"\n";

static const char stream_crlf[] =
	"event: message_start\r\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"model\":\"claude-haiku-4-5-20251001\","
	"\"usage\":{\"input_tokens\":3,\"cache_read_input_tokens\":2048,\"output_tokens\":1}}}\r\n"
	"\r\n"
	"event: content_block_start\r\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n"
	"\r\n"
	"event: content_block_delta\r\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\xc3\xa9t\xc3\xa9\"}}\r\n"
	"\r\n"
	"event:content_block_stop\r\n"
	"data:{\"type\":\"content_block_stop\",\"index\":0}\r\n"
	"\r\n"
	"event: message_delta\r\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":4}}\r\n"
	"\r\n"
	"event: message_stop\r\n"
	"data: {\"type\":\"message_stop\"}\r\n"
	"\r\n";

/*
 * Thinking first (as models that think by default answer), a redacted
 * block, then the text; usage with the cache and thinking breakdowns.
 */
static const char stream_thinking[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01Think\",\"type\":\"message\","
	"\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-5-5\",\"stop_reason\":null,"
	"\"stop_details\":null,\"usage\":{\"input_tokens\":40,\"cache_creation_input_tokens\":2100,"
	"\"cache_read_input_tokens\":0,\"cache_creation\":{\"ephemeral_5m_input_tokens\":2000,"
	"\"ephemeral_1h_input_tokens\":100},\"output_tokens\":2,\"output_tokens_details\":null}}}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\","
	"\"thinking\":\"\",\"signature\":\"\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
	"\"thinking\":\"The person wants names.\"}}\n"
	"\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\","
	"\"thinking\":\" Short ones.\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\","
	"\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds\"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"redacted_thinking\","
	"\"data\":\"EmwKAhgBEgy3va3pzix/LafPsn4a\"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":1}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\"Ember\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\", Kiln\"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":2}\n"
	"\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
	"\"stop_details\":null},\"usage\":{\"output_tokens\":61,\"output_tokens_details\":{\"thinking_tokens\":52}}}\n"
	"\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n"
	"\n";

/* A refusal after some text: stop_details cleaned to printable ASCII. */
static const char stream_refusal[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"model\":\"m\"}}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"I \"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n"
	"\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\",\"stop_details\":"
	"{\"type\":\"refusal\",\"category\":\"cyber\",\"explanation\":\"Could enable \\u2014 harm\\n.\"}},"
	"\"usage\":{\"output_tokens\":5}}\n"
	"\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n"
	"\n";

/* A tool input cut by max_tokens: a complete stream with a partial answer. */
static const char stream_tool_cut[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_4\",\"model\":\"m\"}}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
	"\"id\":\"toolu_5\",\"name\":\"record_changes\",\"input\":{}}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
	"\"partial_json\":\"{\\\"changes\\\": [{\\\"op\\\": \\\"ad\"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n"
	"\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":16}}\n"
	"\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n"
	"\n";

#define STREAM(s)	(s), sizeof(s) - 1

/* Everything a parse produced, as one string to compare. */
struct capture {
	struct buf	 deltas;	/* each on_text piece, then "|" */
};

static void
on_text(void *arg, const char *text, size_t len)
{
	struct capture	*c = arg;

	ck_assert_int_eq(buf_append(&c->deltas, text, len), BS_OK);
	ck_assert_int_eq(buf_append(&c->deltas, "|", 1), BS_OK);
}

/*
 * Parse in pieces cut at cuts[0..ncuts) and describe the outcome. A feed
 * error stops feeding, as a client would.
 */
static void
parse_cut(const char *s, size_t len, const size_t *cuts, size_t ncuts,
    struct buf *sig)
{
	struct llm_stream_options	 opt;
	struct llm_response		 res;
	struct llm_stream		*st;
	struct capture			 cap;
	size_t				 i, from = 0, to;
	bs_err				 e = BS_OK;

	buf_init(&cap.deltas, 65536);
	llm_response_init(&res, 65536);
	memset(&opt, 0, sizeof(opt));
	opt.on_text = on_text;
	opt.on_text_arg = &cap;
	ck_assert_int_eq(llm_stream_new(&opt, &res, &st), BS_OK);
	for (i = 0; i <= ncuts && e == BS_OK; i++) {
		to = i < ncuts ? cuts[i] : len;
		e = llm_stream_feed(st, s + from, to - from);
		from = to;
	}
	if (e == BS_OK)
		e = llm_stream_finish(st);
	buf_reset(sig);
	buf_printf(sig, "e=%d kind=%s err=%s delivered=%d\nid=%s model=%s "
	    "stop=%s\ndetails=%s thinking=%d\ntext=%s\ntool=%s/%s/%s\n"
	    "usage=%ld,%ld,%ld,%ld,%ld,%ld,%ld\ndeltas=%s", e,
	    llm_error_kind_name(llm_stream_error_kind(st)),
	    llm_stream_error(st), llm_stream_text_delivered(st), res.id,
	    res.model, res.stop_reason, res.stop_details, res.thinking_blocks,
	    buf_cstr(&res.text), res.tool_name, res.tool_id,
	    res.tool_input != NULL ?
	    json_object_to_json_string(res.tool_input) : "-",
	    res.usage.input_tokens, res.usage.output_tokens,
	    res.usage.cache_creation_input_tokens,
	    res.usage.cache_read_input_tokens, res.usage.cache_creation_5m_tokens,
	    res.usage.cache_creation_1h_tokens, res.usage.thinking_tokens,
	    buf_cstr(&cap.deltas));
	llm_stream_free(st);
	llm_response_free(&res);
	buf_free(&cap.deltas);
}

static void
parse_whole(const char *s, size_t len, struct buf *sig)
{
	parse_cut(s, len, NULL, 0, sig);
}

/* Pairs (i, j) for long streams: every i, j near it and j on a stride. */
#define PAIRS_ALL_MAX	512
#define PAIRS_NEAR	8
#define PAIRS_STRIDE	23

static void
check_every_chunking(const char *s, size_t len)
{
	struct buf	 want, got;
	size_t		*cuts, i, j;
	bool		 all = len <= PAIRS_ALL_MAX ||
			    getenv("LLM_SSE_EXHAUSTIVE") != NULL;

	buf_init(&want, 1 << 20);
	buf_init(&got, 1 << 20);
	parse_whole(s, len, &want);

	/* Byte by byte. */
	ck_assert_ptr_nonnull(cuts = calloc(len, sizeof(*cuts)));
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	parse_cut(s, len, cuts, len - 1, &got);
	ck_assert_str_eq(buf_cstr(&got), buf_cstr(&want));

	/* Every single split point, and pairs of them. */
	for (i = 1; i < len; i++) {
		cuts[0] = i;
		parse_cut(s, len, cuts, 1, &got);
		if (strcmp(buf_cstr(&got), buf_cstr(&want)) != 0)
			ck_abort_msg("split at %zu:\n%s\nwant:\n%s", i,
			    buf_cstr(&got), buf_cstr(&want));
		for (j = i + 1; j < len; j++) {
			if (!all && j - i > PAIRS_NEAR && j % PAIRS_STRIDE != 0)
				continue;
			cuts[1] = j;
			parse_cut(s, len, cuts, 2, &got);
			if (strcmp(buf_cstr(&got), buf_cstr(&want)) != 0)
				ck_abort_msg("split at %zu and %zu:\n%s\nwant:\n%s",
				    i, j, buf_cstr(&got), buf_cstr(&want));
		}
	}
	free(cuts);
	buf_free(&want);
	buf_free(&got);
}

START_TEST(test_text_stream)
{
	struct buf	 sig;

	buf_init(&sig, 1 << 20);
	parse_whole(STREAM(stream_text), &sig);
	ck_assert_str_eq(buf_cstr(&sig),
	    "e=0 kind=ok err= delivered=1\n"
	    "id=msg_01XFDUDYJgAACzvnptvVoYEL model=claude-sonnet-4-5-20250929 "
	    "stop=end_turn\n"
	    "details= thinking=0\n"
	    "text=Hello, caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x92\xa1 idea!\n\n"
	    "tool=//-\n"
	    "usage=1525,15,1200,0,0,0,0\n"
	    "deltas=Hello|, caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x92\xa1 idea|!\n|");
	buf_free(&sig);
	check_every_chunking(STREAM(stream_text));
}
END_TEST

START_TEST(test_tool_stream)
{
	struct buf	 sig;

	buf_init(&sig, 1 << 20);
	parse_whole(STREAM(stream_tool), &sig);
	ck_assert_str_eq(buf_cstr(&sig),
	    "e=0 kind=ok err= delivered=0\n"
	    "id=msg_014p7gG3wDgGV9EUtLvnow3U model=claude-haiku-4-5-20251001 "
	    "stop=tool_use\n"
	    "details= thinking=0\n"
	    "text=\n"
	    "tool=classify_intent/toolu_01T1x1fJ34qAmk2tNTrN7Up6/"
	    "{ \"intent\": \"brainstorming\", \"confidence\": 87 }\n"
	    "usage=472,89,0,0,0,0,0\n"
	    "deltas=");
	buf_free(&sig);
	check_every_chunking(STREAM(stream_tool));
}
END_TEST

START_TEST(test_ping_error_stream)
{
	struct buf	 sig;

	buf_init(&sig, 1 << 20);
	parse_whole(STREAM(stream_ping_error), &sig);
	ck_assert_str_eq(buf_cstr(&sig),
	    "e=6 kind=overloaded err=overloaded_error: Overloaded delivered=0\n"
	    "id=msg_1 model=m stop=\n"
	    "details= thinking=0\n"
	    "text=\n"
	    "tool=//-\n"
	    "usage=9,0,0,0,0,0,0\n"
	    "deltas=");
	ck_assert(llm_error_retryable(LLM_ERR_OVERLOADED));
	buf_free(&sig);
	check_every_chunking(STREAM(stream_ping_error));
}
END_TEST

START_TEST(test_crlf_stream)
{
	struct buf	 sig, cr;
	char		*p;
	size_t		 i, n = 0;

	buf_init(&sig, 1 << 20);
	parse_whole(STREAM(stream_crlf), &sig);
	ck_assert_str_eq(buf_cstr(&sig),
	    "e=0 kind=ok err= delivered=1\n"
	    "id=msg_2 model=claude-haiku-4-5-20251001 stop=max_tokens\n"
	    "details= thinking=0\n"
	    "text=\xc3\xa9t\xc3\xa9\n"
	    "tool=//-\n"
	    "usage=3,4,0,2048,0,0,0\n"
	    "deltas=\xc3\xa9t\xc3\xa9|");
	check_every_chunking(STREAM(stream_crlf));

	/* The same stream with bare "\r" line ends parses the same. */
	ck_assert_ptr_nonnull(p = malloc(sizeof(stream_crlf)));
	for (i = 0; i < sizeof(stream_crlf) - 1; i++)
		if (stream_crlf[i] != '\n')
			p[n++] = stream_crlf[i];
	buf_init(&cr, 1 << 20);
	parse_whole(p, n, &cr);
	ck_assert_str_eq(buf_cstr(&cr), buf_cstr(&sig));
	check_every_chunking(p, n);
	free(p);
	buf_free(&cr);
	buf_free(&sig);
}
END_TEST

START_TEST(test_thinking_stream)
{
	struct buf	 sig;

	buf_init(&sig, 1 << 20);
	parse_whole(STREAM(stream_thinking), &sig);
	/* The thinking is counted and kept out of the reply and its deltas. */
	ck_assert_str_eq(buf_cstr(&sig),
	    "e=0 kind=ok err= delivered=1\n"
	    "id=msg_01Think model=claude-sonnet-5-5 stop=end_turn\n"
	    "details= thinking=2\n"
	    "text=Ember, Kiln\n"
	    "tool=//-\n"
	    "usage=40,61,2100,0,2000,100,52\n"
	    "deltas=Ember|, Kiln|");
	buf_free(&sig);
	check_every_chunking(STREAM(stream_thinking));
}
END_TEST

START_TEST(test_refusal_stream)
{
	struct buf	 sig;

	buf_init(&sig, 1 << 20);
	parse_whole(STREAM(stream_refusal), &sig);
	/* A complete stream: the refusal is the client's verdict, not the parser's. */
	ck_assert_str_eq(buf_cstr(&sig),
	    "e=0 kind=ok err= delivered=1\n"
	    "id=msg_3 model=m stop=refusal\n"
	    "details=cyber: Could enable ??? harm?. thinking=0\n"
	    "text=I \n"
	    "tool=//-\n"
	    "usage=0,5,0,0,0,0,0\n"
	    "deltas=I |");
	buf_free(&sig);
	check_every_chunking(STREAM(stream_refusal));
}
END_TEST

START_TEST(test_tool_cut_stream)
{
	struct buf	 sig;

	buf_init(&sig, 1 << 20);
	parse_whole(STREAM(stream_tool_cut), &sig);
	/* Not malformed: the tool is named, its input absent, stop_reason says why. */
	ck_assert_str_eq(buf_cstr(&sig),
	    "e=0 kind=ok err= delivered=0\n"
	    "id=msg_4 model=m stop=max_tokens\n"
	    "details= thinking=0\n"
	    "text=\n"
	    "tool=record_changes/toolu_5/-\n"
	    "usage=0,16,0,0,0,0,0\n"
	    "deltas=");
	buf_free(&sig);
	check_every_chunking(STREAM(stream_tool_cut));
}
END_TEST

/* Split inside each multi-byte character of a text delta. */
START_TEST(test_split_inside_utf8)
{
	static const char	 needle[] = "\xf0\x9f\x92\xa1";
	const char		*at = strstr(stream_text, needle);
	struct buf		 want, got;
	size_t			 cuts[1], k;

	ck_assert_ptr_nonnull(at);
	buf_init(&want, 1 << 20);
	buf_init(&got, 1 << 20);
	parse_whole(STREAM(stream_text), &want);
	for (k = 1; k < 4; k++) {
		cuts[0] = (size_t)(at - stream_text) + k;
		parse_cut(STREAM(stream_text), cuts, 1, &got);
		ck_assert_str_eq(buf_cstr(&got), buf_cstr(&want));
	}
	ck_assert_ptr_nonnull(strstr(buf_cstr(&got), "text=Hello, caf\xc3\xa9"));
	buf_free(&want);
	buf_free(&got);
}
END_TEST

/* The raw SSE layer: events as "name=data;" in a buffer. */
static bs_err
collect(void *arg, const char *event, const char *data, size_t len)
{
	struct buf	*b = arg;

	ck_assert_uint_eq(strlen(data), len);
	return buf_printf(b, "%s=%s;", event, data);
}

static bs_err
sse_parse(const char *s, size_t len, size_t chunk, size_t max_line,
    size_t max_total, struct buf *out, char *err, size_t errlen)
{
	struct llm_sse_options	 opt = { max_line, max_total };
	struct llm_sse		*p;
	size_t			 off, n;
	bs_err			 e = BS_OK;

	buf_reset(out);
	ck_assert_int_eq(llm_sse_new(&opt, collect, out, &p), BS_OK);
	for (off = 0; off < len && e == BS_OK; off += n) {
		n = chunk == 0 || len - off < chunk ? len - off : chunk;
		e = llm_sse_feed(p, s + off, n);
	}
	if (e == BS_OK)
		e = llm_sse_finish(p);
	snprintf(err, errlen, "%s", llm_sse_error(p));
	llm_sse_free(p);
	return e;
}

START_TEST(test_sse_fields)
{
	static const char s[] =
	    "\xef\xbb\xbf: a comment\n"
	    "event:a\n"
	    "data:no space\n"
	    "\n"
	    "event: b\r\n"
	    "data: one\r\n"
	    "data:  two has a space kept\r\n"
	    "data\r\n"
	    "id: 7\r\n"
	    "retry: 10\r\n"
	    "whatever: ignored\r\n"
	    "\r\n"
	    "event: no-data\n"
	    "\n"
	    "data: unnamed\r"
	    "\r"
	    "data: x: y\n"
	    "event: last-wins\n"
	    "event: c\n"
	    "\n";
	static const char want[] =
	    "a=no space;"
	    "b=one\n two has a space kept\n;"
	    "message=unnamed;"
	    "c=x: y;";
	struct buf	 out;
	char		 err[128];
	size_t		 chunk;

	buf_init(&out, 4096);
	for (chunk = 0; chunk < sizeof(s); chunk++) {
		ck_assert_int_eq(sse_parse(s, sizeof(s) - 1, chunk, 0, 0, &out,
		    err, sizeof(err)), BS_OK);
		ck_assert_str_eq(buf_cstr(&out), want);
	}
	buf_free(&out);
}
END_TEST

START_TEST(test_sse_truncated)
{
	struct buf	 out;
	char		 err[128];

	buf_init(&out, 4096);
	/* A complete event, then one without its blank line. */
	ck_assert_int_eq(sse_parse("data: 1\n\ndata: 2\n", 17, 0, 0, 0, &out,
	    err, sizeof(err)), BS_ERR_IO);
	ck_assert_str_eq(err, "truncated stream");
	ck_assert_str_eq(buf_cstr(&out), "message=1;");
	/* A line without its end. */
	ck_assert_int_eq(sse_parse("data: 1", 7, 0, 0, 0, &out, err,
	    sizeof(err)), BS_ERR_IO);
	ck_assert_str_eq(buf_cstr(&out), "");
	ck_assert_int_eq(sse_parse("event: x\n", 9, 0, 0, 0, &out, err,
	    sizeof(err)), BS_ERR_IO);
	/* A final "\r" ends its line: nothing is missing. */
	ck_assert_int_eq(sse_parse("data: 1\r\r", 9, 1, 0, 0, &out, err,
	    sizeof(err)), BS_OK);
	ck_assert_str_eq(buf_cstr(&out), "message=1;");
	ck_assert_int_eq(sse_parse("", 0, 0, 0, 0, &out, err, sizeof(err)),
	    BS_OK);
	buf_free(&out);
}
END_TEST

START_TEST(test_sse_caps)
{
	struct buf	 out;
	char		 err[128];
	size_t		 chunk;

	buf_init(&out, 4096);
	for (chunk = 0; chunk < 8; chunk++) {
		/* A line of 10 bytes fits a cap of 10; 11 does not. */
		ck_assert_int_eq(sse_parse("data: 1234\n\n", 12, chunk, 10, 0,
		    &out, err, sizeof(err)), BS_OK);
		ck_assert_int_eq(sse_parse("data: 1\n\ndata: 12345\n\n", 22,
		    chunk, 10, 0, &out, err, sizeof(err)), BS_ERR_TOO_LARGE);
		ck_assert_str_eq(err, "line longer than 10 bytes");
		ck_assert_str_eq(buf_cstr(&out), "message=1;");
		/* The total: what came before the cap is still delivered. */
		ck_assert_int_eq(sse_parse("data: 1\n\ndata: 2\n\n", 18, chunk,
		    0, 18, &out, err, sizeof(err)), BS_OK);
		ck_assert_int_eq(sse_parse("data: 1\n\ndata: 2\n\n", 18, chunk,
		    0, 17, &out, err, sizeof(err)), BS_ERR_TOO_LARGE);
		ck_assert_str_eq(err, "stream larger than 17 bytes");
		ck_assert_str_eq(buf_cstr(&out), "message=1;");
	}
	buf_free(&out);
}
END_TEST

START_TEST(test_sse_errors_are_sticky)
{
	struct llm_sse_options	 opt = { 4, 0 };
	struct llm_sse		*p;
	struct buf		 out;

	buf_init(&out, 4096);
	ck_assert_int_eq(llm_sse_new(&opt, collect, &out, &p), BS_OK);
	ck_assert_int_eq(llm_sse_feed(p, "data: long\n", 11), BS_ERR_TOO_LARGE);
	ck_assert_int_eq(llm_sse_feed(p, "\n", 1), BS_ERR_TOO_LARGE);
	ck_assert_int_eq(llm_sse_finish(p), BS_ERR_TOO_LARGE);
	llm_sse_free(p);
	buf_free(&out);
}
END_TEST

/* Run a stream in one piece; return the outcome and its description. */
static bs_err
stream_run(const char *s, struct buf *sig, enum llm_error_kind *kind)
{
	struct llm_stream_options	 opt;
	struct llm_response		 res;
	struct llm_stream		*st;
	bs_err				 e;

	memset(&opt, 0, sizeof(opt));
	llm_response_init(&res, 1024);
	ck_assert_int_eq(llm_stream_new(&opt, &res, &st), BS_OK);
	e = llm_stream_feed(st, s, strlen(s));
	if (e == BS_OK)
		e = llm_stream_finish(st);
	*kind = llm_stream_error_kind(st);
	buf_reset(sig);
	buf_printf(sig, "%s|%s", llm_stream_error(st), buf_cstr(&res.text));
	llm_stream_free(st);
	llm_response_free(&res);
	return e;
}

#define EV(name, json)	"event: " name "\ndata: " json "\n\n"
#define START		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}")
#define TEXT0		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0," \
			    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
#define DELTA(i, t)	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":" #i "," \
			    "\"delta\":{\"type\":\"text_delta\",\"text\":\"" t "\"}}")
#define STOP(i)		EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" #i "}")
#define MDELTA		EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}," \
			    "\"usage\":{\"output_tokens\":3}}")
#define MSTOP		EV("message_stop", "{\"type\":\"message_stop\"}")
#define TOOL0		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0," \
			    "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{}}}")
#define JSON0(j)	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0," \
			    "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"" j "\"}}")
#define THINK0		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0," \
			    "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}")
#define THINKD0(d)	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0," \
			    "\"delta\":" d "}")
#define MDELTA_MAX	EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":" \
			    "\"max_tokens\"},\"usage\":{\"output_tokens\":3}}")
#define MSTART_USAGE(u)	EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\"," \
			    "\"usage\":" u "}}")

START_TEST(test_out_of_order)
{
	static const char *const bad[] = {
		DELTA(0, "x"),					/* delta before start */
		START TEXT0 DELTA(1, "x"),			/* index mismatch */
		START START,					/* two message_starts */
		START EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,"
		    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"),	/* block 1 first */
		START TEXT0 TEXT0,				/* a block inside a block */
		START TEXT0 MSTOP,				/* stop with a block open */
		START TEXT0 MDELTA,				/* message_delta with a block open */
		START TEXT0 STOP(0) STOP(0),			/* stop twice */
		START STOP(0),					/* stop before start */
		TEXT0,						/* block before message */
		START MSTOP MSTOP,				/* after message_stop */
		START MSTOP TEXT0,
		START TOOL0 DELTA(0, "x"),			/* text_delta for a tool block */
		START TEXT0 JSON0("{}"),			/* json for a text block */
	};
	struct buf		 sig;
	enum llm_error_kind	 kind;
	size_t			 i;

	buf_init(&sig, 4096);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (stream_run(bad[i], &sig, &kind) != BS_ERR_INVALID)
			ck_abort_msg("case %zu passed: %s", i, buf_cstr(&sig));
		ck_assert_int_eq(kind, LLM_ERR_MALFORMED);
		ck_assert(!llm_error_retryable(kind));
	}
	/* The good sequence, for contrast. */
	ck_assert_int_eq(stream_run(START TEXT0 DELTA(0, "a") STOP(0) MDELTA MSTOP,
	    &sig, &kind), BS_OK);
	ck_assert_str_eq(buf_cstr(&sig), "|a");
	buf_free(&sig);
}
END_TEST

START_TEST(test_malformed_data)
{
	static const char *const bad[] = {
		EV("message_start", "{\"type\":\"message_start\",\"message\":"),	/* cut JSON */
		EV("message_start", "[1,2]"),					/* not an object */
		EV("message_start", "{\"type\":\"message_stop\"}"),		/* type != event */
		EV("message_start", "{\"message\":{}}"),			/* no type */
		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"\xff\"}}"),
		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":1}}"),
		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":-1}}}"),
		EV("message_start", "{'type':'message_start'}"),
		"data: {\"type\":\"message_start\",\"message\":{}} trailing\n\n",
		/* A tool input cut short or not an object, when max_tokens is not why. */
		START TOOL0 JSON0("{\\\"a\\\":") STOP(0) MDELTA MSTOP,
		START TOOL0 JSON0("[1]") STOP(0) MDELTA MSTOP,
		START TOOL0 JSON0("{\\\"a\\\":") STOP(0)
		    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{}}") MSTOP,
		/* Thinking deltas belong to thinking blocks, and the others not there. */
		START TEXT0 THINKD0("{\"type\":\"thinking_delta\",\"thinking\":\"x\"}"),
		START TOOL0 THINKD0("{\"type\":\"signature_delta\",\"signature\":\"x\"}"),
		START THINK0 DELTA(0, "x"),
		START THINK0 JSON0("{}"),
		START THINK0 THINKD0("{\"type\":\"thinking_delta\"}"),
		START THINK0 THINKD0("{\"type\":\"thinking_delta\",\"thinking\":7}"),
		START THINK0 THINKD0("{\"type\":\"signature_delta\",\"signature\":null}"),
		/* The new usage members: optional, but typed when present. */
		MSTART_USAGE("{\"cache_creation\":\"x\"}"),
		MSTART_USAGE("{\"cache_creation\":{\"ephemeral_5m_input_tokens\":\"1\"}}"),
		MSTART_USAGE("{\"cache_creation\":{\"ephemeral_1h_input_tokens\":-1}}"),
		MSTART_USAGE("{\"output_tokens_details\":[]}"),
		MSTART_USAGE("{\"output_tokens_details\":{\"thinking_tokens\":1.5}}"),
		START TEXT0 STOP(0) EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{}," \
		    "\"usage\":{\"output_tokens_details\":{\"thinking_tokens\":true}}}"),
		START EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
		    "\"content_block\":{\"type\":\"tool_use\",\"name\":\"f\"}}"),	/* no id */
	};
	struct buf		 sig;
	enum llm_error_kind	 kind;
	size_t			 i;

	buf_init(&sig, 4096);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (stream_run(bad[i], &sig, &kind) != BS_ERR_INVALID)
			ck_abort_msg("case %zu passed: %s", i, buf_cstr(&sig));
		ck_assert_int_eq(kind, LLM_ERR_MALFORMED);
	}
	/* Deep nesting is refused by the depth limit. */
	{
		struct buf	 deep;
		int		 k;

		buf_init(&deep, 8192);
		buf_puts(&deep, START TOOL0 "event: content_block_delta\n"
		    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
		    "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":");
		for (k = 0; k < 100; k++)
			buf_puts(&deep, "[");
		for (k = 0; k < 100; k++)
			buf_puts(&deep, "]");
		buf_puts(&deep, "}\"}}\n\n" STOP(0) MDELTA MSTOP);
		ck_assert_int_eq(stream_run(buf_cstr(&deep), &sig, &kind),
		    BS_ERR_INVALID);
		ck_assert_ptr_nonnull(strstr(buf_cstr(&sig), "tool input"));
		buf_free(&deep);
	}
	buf_free(&sig);
}
END_TEST

START_TEST(test_unknown_events_ignored)
{
	struct buf		 sig;
	enum llm_error_kind	 kind;

	buf_init(&sig, 4096);
	ck_assert_int_eq(stream_run(
	    EV("future_event", "not even JSON")
	    START
	    "data: {\"type\":\"future_unnamed\"}\n\n"
	    "data: {\"type\":\"ping\"}\n\n"
	    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
		"\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}")
	    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}")
	    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"signature_delta\",\"signature\":\"x\"}}")
	    STOP(0)
	    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,"
		"\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
	    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,"
		"\"delta\":{\"type\":\"citations_delta\",\"citation\":{}}}")
	    DELTA(1, "ok")
	    STOP(1)
	    MDELTA
	    "event: content_block_delta\n: a comment inside an event\n"
	    "data: {\"type\":\"message_stop\"}\n\n"
	    , &sig, &kind), BS_ERR_INVALID);
	/* The last event lies about its type: that is an error, not ignored. */
	ck_assert_int_eq(kind, LLM_ERR_MALFORMED);
	ck_assert_int_eq(stream_run(
	    EV("future_event", "not even JSON")
	    START
	    "data: {\"type\":\"future_unnamed\"}\n\n"
	    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
		"\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}")
	    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}")
	    STOP(0)
	    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,"
		"\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
	    DELTA(1, "ok")
	    STOP(1)
	    MDELTA
	    "data: {\"type\":\"message_stop\"}\n\n"
	    EV("ping", "{\"type\":\"ping\"}")
	    EV("future_event", "{}")
	    , &sig, &kind), BS_OK);
	ck_assert_str_eq(buf_cstr(&sig), "|ok");
	buf_free(&sig);
}
END_TEST

START_TEST(test_new_blocks_and_fields)
{
	struct buf		 sig;
	enum llm_error_kind	 kind;

	buf_init(&sig, 4096);
	/* Null usage members are as good as absent. */
	ck_assert_int_eq(stream_run(MSTART_USAGE("{\"input_tokens\":4,"
	    "\"cache_creation\":null,\"output_tokens_details\":null,"
	    "\"cache_creation_input_tokens\":null}")
	    TEXT0 DELTA(0, "a") STOP(0)
	    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":"
		"{\"stop_reason\":\"end_turn\",\"stop_details\":null},\"usage\":"
		"{\"output_tokens\":3,\"output_tokens_details\":null,"
		"\"cache_creation\":{\"ephemeral_5m_input_tokens\":null}}}")
	    MSTOP, &sig, &kind), BS_OK);
	ck_assert_str_eq(buf_cstr(&sig), "|a");

	/* Unknown block types are skipped whatever their deltas. */
	ck_assert_int_eq(stream_run(START
	    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,"
		"\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"s\"}}")
	    JSON0("{") THINKD0("{\"type\":\"thinking_delta\"}") DELTA(0, "no")
	    THINKD0("{\"type\":\"future_delta\",\"x\":[1]}")
	    STOP(0)
	    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,"
		"\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
	    DELTA(1, "yes") STOP(1) MDELTA MSTOP, &sig, &kind), BS_OK);
	ck_assert_str_eq(buf_cstr(&sig), "|yes");

	/* A tool input cut by max_tokens: complete, unless the stream is not. */
	ck_assert_int_eq(stream_run(START TOOL0 JSON0("{\\\"a\\\": [") STOP(0)
	    MDELTA_MAX MSTOP, &sig, &kind), BS_OK);
	ck_assert_int_eq(stream_run(START TOOL0 JSON0("{\\\"a\\\": [") STOP(0)
	    MDELTA_MAX, &sig, &kind), BS_ERR_IO);
	ck_assert_int_eq(kind, LLM_ERR_NETWORK);
	ck_assert_int_eq(stream_run(START TOOL0 JSON0("{\\\"a\\\": [") STOP(0)
	    MDELTA MSTOP, &sig, &kind), BS_ERR_INVALID);
	ck_assert_str_eq(buf_cstr(&sig), "tool input is not JSON: unexpected end "
	    "of JSON|");

	/* A thinking block that is empty but signed, as some models send. */
	ck_assert_int_eq(stream_run(START THINK0
	    THINKD0("{\"type\":\"signature_delta\",\"signature\":\"sig\"}") STOP(0)
	    MDELTA MSTOP, &sig, &kind), BS_OK);
	ck_assert_str_eq(buf_cstr(&sig), "|");
	buf_free(&sig);
}
END_TEST

START_TEST(test_error_events)
{
	static const struct {
		const char		*type;
		enum llm_error_kind	 kind;
		bool			 retry;
	} cases[] = {
		{ "overloaded_error",		LLM_ERR_OVERLOADED,	true },
		{ "api_error",			LLM_ERR_SERVER,		true },
		{ "rate_limit_error",		LLM_ERR_RATE_LIMITED,	true },
		{ "invalid_request_error",	LLM_ERR_BAD_REQUEST,	false },
		{ "authentication_error",	LLM_ERR_AUTH,		false },
		{ "brand_new_error",		LLM_ERR_SERVER,		true },
	};
	struct buf		 s, sig;
	enum llm_error_kind	 kind;
	size_t			 i;

	buf_init(&s, 4096);
	buf_init(&sig, 4096);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&s);
		buf_printf(&s, START TEXT0 DELTA(0, "a")
		    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
		    "\"%s\",\"message\":\"bad\\nthing\"}}\n\n", cases[i].type);
		ck_assert_int_eq(stream_run(buf_cstr(&s), &sig, &kind), BS_ERR_IO);
		ck_assert_int_eq(kind, cases[i].kind);
		ck_assert_int_eq(llm_error_retryable(kind), cases[i].retry);
		buf_reset(&s);
		buf_printf(&s, "%s: bad?thing|a", cases[i].type);
		ck_assert_str_eq(buf_cstr(&sig), buf_cstr(&s));
	}
	/* A spending limit is never retried, even mid-stream. */
	ck_assert_int_eq(stream_run(START EV("error", "{\"type\":\"error\",\"error\":"
	    "{\"type\":\"rate_limit_error\",\"message\":\"limit\",\"details\":"
	    "{\"error_code\":\"enforced_spend_limit_reached\"}}}"), &sig, &kind),
	    BS_ERR_IO);
	ck_assert_int_eq(kind, LLM_ERR_SPEND_CAP);
	ck_assert(!llm_error_retryable(kind));
	ck_assert_str_eq(buf_cstr(&sig), "the Claude spending limit is reached "
	    "(enforced_spend_limit_reached): rate_limit_error: limit|");
	buf_free(&s);
	buf_free(&sig);
}
END_TEST

START_TEST(test_truncated_claude_stream)
{
	struct buf		 sig;
	enum llm_error_kind	 kind;

	buf_init(&sig, 4096);
	/* Complete SSE, but no message_stop: the connection ended early. */
	ck_assert_int_eq(stream_run(START TEXT0 DELTA(0, "a"), &sig, &kind),
	    BS_ERR_IO);
	ck_assert_int_eq(kind, LLM_ERR_NETWORK);
	ck_assert(llm_error_retryable(kind));
	ck_assert_str_eq(buf_cstr(&sig), "truncated stream (no message_stop)|a");
	/* Cut inside an event. */
	ck_assert_int_eq(stream_run(START "event: content_block_start\ndata: {",
	    &sig, &kind), BS_ERR_IO);
	ck_assert_int_eq(kind, LLM_ERR_NETWORK);
	ck_assert_str_eq(buf_cstr(&sig), "truncated stream|");
	buf_free(&sig);
}
END_TEST

START_TEST(test_stream_caps)
{
	struct llm_stream_options	 opt;
	struct llm_response		 res;
	struct llm_stream		*st;
	static const char		 s[] = START TEXT0 DELTA(0, "0123456789")
					    DELTA(0, "0123456789") STOP(0) MDELTA MSTOP;

	/* The text cap. */
	memset(&opt, 0, sizeof(opt));
	llm_response_init(&res, 15);
	ck_assert_int_eq(llm_stream_new(&opt, &res, &st), BS_OK);
	ck_assert_int_eq(llm_stream_feed(st, s, sizeof(s) - 1), BS_ERR_TOO_LARGE);
	ck_assert_int_eq(llm_stream_error_kind(st), LLM_ERR_TOO_LARGE);
	ck_assert_str_eq(llm_stream_error(st), "the reply text exceeds 15 bytes");
	ck_assert_int_eq(llm_stream_finish(st), BS_ERR_TOO_LARGE);
	llm_stream_free(st);
	llm_response_free(&res);

	/* The stream cap. */
	opt.max_total = 100;
	llm_response_init(&res, 1024);
	ck_assert_int_eq(llm_stream_new(&opt, &res, &st), BS_OK);
	ck_assert_int_eq(llm_stream_feed(st, s, sizeof(s) - 1), BS_ERR_TOO_LARGE);
	ck_assert_int_eq(llm_stream_error_kind(st), LLM_ERR_TOO_LARGE);
	ck_assert_str_eq(llm_stream_error(st), "stream larger than 100 bytes");
	llm_stream_free(st);
	llm_response_free(&res);

	/* The line cap. */
	opt.max_total = 0;
	opt.max_line = 64;
	llm_response_init(&res, 1024);
	ck_assert_int_eq(llm_stream_new(&opt, &res, &st), BS_OK);
	ck_assert_int_eq(llm_stream_feed(st, s, sizeof(s) - 1), BS_ERR_TOO_LARGE);
	ck_assert_str_eq(llm_stream_error(st), "line longer than 64 bytes");
	llm_stream_free(st);
	llm_response_free(&res);
}
END_TEST

START_TEST(test_response_parse_json)
{
	static const char text[] =
	    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"Hi \"},{\"type\":\"thinking\",\"thinking\":\"x\"},"
	    "{\"type\":\"text\",\"text\":\"there\"}],\"stop_reason\":\"end_turn\","
	    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":2,"
	    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1024}}";
	static const char tool[] =
	    "{\"id\":\"msg_02\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\","
	    "\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"record\","
	    "\"input\":{\"changes\":[{\"op\":\"add\",\"quote\":\"x\"}]}},"
	    "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"other\",\"input\":{}}],"
	    "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,\"output_tokens\":7}}";
	static const char thinking[] =
	    "{\"id\":\"msg_03\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
	    "\"claude-haiku-5-5\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"Hmm.\","
	    "\"signature\":\"abc\"},{\"type\":\"redacted_thinking\",\"data\":\"xyz\"},"
	    "{\"type\":\"container_upload\",\"file_id\":\"f\"},{\"type\":\"text\",\"text\":"
	    "\"{\\\"intent\\\":\\\"deciding\\\"}\"}],\"stop_reason\":\"refusal\","
	    "\"stop_details\":{\"type\":\"refusal\",\"category\":null,\"explanation\":"
	    "\"Not this.\"},\"usage\":{\"input_tokens\":9,\"output_tokens\":30,"
	    "\"cache_creation_input_tokens\":600,\"cache_read_input_tokens\":0,"
	    "\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":600},"
	    "\"output_tokens_details\":{\"thinking_tokens\":21},\"service_tier\":\"standard\"}}";
	static const char *const bad[] = {
		"{\"type\":\"message\",\"content\":[],\"usage\":{\"cache_creation\":1}}",
		"{\"type\":\"message\",\"content\":[],\"usage\":{\"cache_creation\":"
		    "{\"ephemeral_1h_input_tokens\":\"1\"}}}",
		"{\"type\":\"message\",\"content\":[],\"usage\":{\"output_tokens_details\":"
		    "{\"thinking_tokens\":-3}}}",
		"", "[]", "{\"type\":\"error\",\"error\":{}}", "{\"type\":\"message\"}",
		"{\"type\":\"message\",\"content\":{}}",
		"{\"type\":\"message\",\"content\":[{\"text\":\"x\"}]}",
		"{\"type\":\"message\",\"content\":[{\"type\":\"text\"}]}",
		"{\"type\":\"message\",\"content\":[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"b\"}]}",
		"{\"type\":\"message\",\"content\":[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"b\",\"input\":[]}]}",
		"{\"type\":\"message\",\"content\":[],\"usage\":{\"input_tokens\":\"1\"}}",
		"{\"type\":\"message\",\"content\":[]} x",
	};
	struct llm_response	 res;
	char			 err[128];
	size_t			 i;

	llm_response_init(&res, 1024);
	ck_assert_int_eq(llm_response_parse_json(&res, text, sizeof(text) - 1, 0,
	    err, sizeof(err)), BS_OK);
	ck_assert_str_eq(res.id, "msg_01");
	ck_assert_str_eq(res.model, "claude-sonnet-4-5-20250929");
	ck_assert_str_eq(res.stop_reason, "end_turn");
	ck_assert_str_eq(buf_cstr(&res.text), "Hi there");
	ck_assert_str_eq(res.tool_name, "");
	ck_assert_ptr_null(res.tool_input);
	ck_assert_int_eq(res.usage.input_tokens, 10);
	ck_assert_int_eq(res.usage.output_tokens, 2);
	ck_assert_int_eq(res.usage.cache_read_input_tokens, 1024);

	ck_assert_int_eq(llm_response_parse_json(&res, tool, sizeof(tool) - 1, 0,
	    err, sizeof(err)), BS_OK);
	ck_assert_str_eq(res.tool_name, "record");
	ck_assert_str_eq(res.tool_id, "toolu_1");
	ck_assert_str_eq(json_object_to_json_string_ext(res.tool_input,
	    JSON_C_TO_STRING_PLAIN), "{\"changes\":[{\"op\":\"add\",\"quote\":\"x\"}]}");
	ck_assert_str_eq(buf_cstr(&res.text), "");
	ck_assert_int_eq(res.thinking_blocks, 0);

	/* Thinking is counted, never text; unknown blocks skipped; new usage read. */
	ck_assert_int_eq(llm_response_parse_json(&res, thinking,
	    sizeof(thinking) - 1, 0, err, sizeof(err)), BS_OK);
	ck_assert_str_eq(buf_cstr(&res.text), "{\"intent\":\"deciding\"}");
	ck_assert_int_eq(res.thinking_blocks, 2);
	ck_assert_str_eq(res.stop_reason, "refusal");
	ck_assert_str_eq(res.stop_details, "Not this.");
	ck_assert_int_eq(res.usage.cache_creation_input_tokens, 600);
	ck_assert_int_eq(res.usage.cache_creation_5m_tokens, 0);
	ck_assert_int_eq(res.usage.cache_creation_1h_tokens, 600);
	ck_assert_int_eq(res.usage.thinking_tokens, 21);
	ck_assert_ptr_null(res.output);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (llm_response_parse_json(&res, bad[i], strlen(bad[i]), 0, err,
		    sizeof(err)) != BS_ERR_INVALID)
			ck_abort_msg("case %zu parsed", i);
		ck_assert_str_ne(err, "");
		ck_assert_ptr_null(res.tool_input);
	}
	/* The depth limit applies to the whole body. */
	ck_assert_int_eq(llm_response_parse_json(&res, tool, sizeof(tool) - 1, 4,
	    err, sizeof(err)), BS_ERR_INVALID);
	llm_response_free(&res);

	llm_response_init(&res, 4);
	ck_assert_int_eq(llm_response_parse_json(&res, text, sizeof(text) - 1, 0,
	    err, sizeof(err)), BS_ERR_TOO_LARGE);
	llm_response_free(&res);
}
END_TEST

START_TEST(test_error_body_parse)
{
	static const char body[] = "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"rate_limit_error\",\"message\":\"Number of request tokens has "
	    "exceeded your per-minute rate limit\"}}";
	enum llm_error_kind	 kind = LLM_ERR_NONE;
	char			 msg[LLM_ERROR_MAX], big[1000];

	ck_assert_int_eq(llm_error_body_parse(body, sizeof(body) - 1, &kind, msg,
	    sizeof(msg)), BS_OK);
	ck_assert_int_eq(kind, LLM_ERR_RATE_LIMITED);
	ck_assert_str_eq(msg, "rate_limit_error: Number of request tokens has "
	    "exceeded your per-minute rate limit");

	/* Not an error document: a cleaned excerpt, at most 200 bytes. */
	memset(big, 'x', sizeof(big));
	big[0] = '<';
	big[1] = '\x01';
	kind = LLM_ERR_NONE;
	ck_assert_int_eq(llm_error_body_parse(big, sizeof(big), &kind, msg,
	    sizeof(msg)), BS_ERR_INVALID);
	ck_assert_int_eq(kind, LLM_ERR_NONE);
	ck_assert_uint_eq(strlen(msg), 200);
	ck_assert_int_eq(msg[1], '?');
	ck_assert_int_eq(llm_error_body_parse("", 0, &kind, msg, sizeof(msg)),
	    BS_ERR_INVALID);
	ck_assert_str_eq(msg, "");
}
END_TEST

START_TEST(test_error_body_spend_cap)
{
	static const char *const codes[] = { "enforced_spend_limit_reached",
	    "contract_spend_limit_reached", "ramp_limit_exceeded" };
	enum llm_error_kind	 kind;
	char			 body[512], msg[LLM_ERROR_MAX], want[LLM_ERROR_MAX];
	size_t			 i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(body, sizeof(body), "{\"type\":\"error\",\"error\":{\"type\":"
		    "\"rate_limit_error\",\"message\":\"You have reached your "
		    "specified workspace API usage limits.\",\"details\":"
		    "{\"error_code\":\"%s\"}},\"request_id\":\"req_1\"}", codes[i]);
		kind = LLM_ERR_NONE;
		ck_assert_int_eq(llm_error_body_parse(body, strlen(body), &kind,
		    msg, sizeof(msg)), BS_OK);
		ck_assert_int_eq(kind, LLM_ERR_SPEND_CAP);
		snprintf(want, sizeof(want), "the Claude spending limit is "
		    "reached (%s): rate_limit_error: You have reached your "
		    "specified workspace API usage limits.", codes[i]);
		ck_assert_str_eq(msg, want);
	}
	/* Any other code, or details of another shape, is an ordinary error. */
	snprintf(body, sizeof(body), "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"rate_limit_error\",\"message\":\"slow\",\"details\":{\"error_code\":"
	    "\"too_many_requests\"}}}");
	ck_assert_int_eq(llm_error_body_parse(body, strlen(body), &kind, msg,
	    sizeof(msg)), BS_OK);
	ck_assert_int_eq(kind, LLM_ERR_RATE_LIMITED);
	ck_assert_str_eq(msg, "rate_limit_error: slow");
	snprintf(body, sizeof(body), "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"rate_limit_error\",\"message\":\"slow\",\"details\":[\"x\"]}}");
	ck_assert_int_eq(llm_error_body_parse(body, strlen(body), &kind, msg,
	    sizeof(msg)), BS_OK);
	ck_assert_int_eq(kind, LLM_ERR_RATE_LIMITED);
	snprintf(body, sizeof(body), "{\"type\":\"error\",\"error\":{\"type\":"
	    "\"billing_error\",\"message\":\"pay\"}}");
	ck_assert_int_eq(llm_error_body_parse(body, strlen(body), &kind, msg,
	    sizeof(msg)), BS_OK);
	ck_assert_int_eq(kind, LLM_ERR_BILLING);
}
END_TEST

START_TEST(test_kind_names)
{
	int	 k;

	for (k = 0; k < LLM_ERR__COUNT; k++)
		ck_assert_str_ne(llm_error_kind_name((enum llm_error_kind)k),
		    "unknown");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_NONE), "ok");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR__COUNT), "unknown");
	/* Metric label values: the alerts and dashboards spell them so. */
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_SPEND_CAP), "spend_cap");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_BILLING), "billing");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_NOT_FOUND), "not_found");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_CONFLICT), "conflict");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_TRUNCATED), "truncated");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_REFUSAL), "refusal");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_CONTEXT), "context_exceeded");
	ck_assert_str_eq(llm_error_kind_name(LLM_ERR_PAUSED), "paused");
}
END_TEST

START_TEST(test_kinds_retryable)
{
	static const struct {
		enum llm_error_kind	 kind;
		bool			 retry;
	} cases[] = {
		{ LLM_ERR_NONE,		false },
		{ LLM_ERR_TIMEOUT,	true },
		{ LLM_ERR_RATE_LIMITED,	true },
		{ LLM_ERR_OVERLOADED,	true },
		{ LLM_ERR_SERVER,	true },
		{ LLM_ERR_BAD_REQUEST,	false },
		{ LLM_ERR_AUTH,		false },
		{ LLM_ERR_MALFORMED,	false },
		{ LLM_ERR_NETWORK,	true },
		{ LLM_ERR_TOO_LARGE,	false },
		{ LLM_ERR_BUDGET,	false },
		{ LLM_ERR_SPEND_CAP,	false },
		{ LLM_ERR_BILLING,	false },
		{ LLM_ERR_NOT_FOUND,	false },
		{ LLM_ERR_CONFLICT,	true },
		{ LLM_ERR_TRUNCATED,	false },
		{ LLM_ERR_REFUSAL,	false },
		{ LLM_ERR_CONTEXT,	false },
		{ LLM_ERR_PAUSED,	false },
	};
	size_t	 i;

	ck_assert_uint_eq(sizeof(cases) / sizeof(cases[0]), LLM_ERR__COUNT);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (llm_error_retryable(cases[i].kind) != cases[i].retry)
			ck_abort_msg("%s", llm_error_kind_name(cases[i].kind));
	ck_assert_int_eq(llm_error_kind_from_type("not_found_error"),
	    LLM_ERR_NOT_FOUND);
	ck_assert_int_eq(llm_error_kind_from_type("conflict_error"),
	    LLM_ERR_CONFLICT);
	ck_assert_int_eq(llm_error_kind_from_type("billing_error"),
	    LLM_ERR_BILLING);
	ck_assert_int_eq(llm_error_kind_from_type("timeout_error"),
	    LLM_ERR_TIMEOUT);
	ck_assert_int_eq(llm_error_kind_from_type(NULL), LLM_ERR_SERVER);
}
END_TEST

static Suite *
llm_sse_suite(void)
{
	Suite	*s = suite_create("llm_sse");
	TCase	*tc = tcase_create("parser");
	TCase	*chunk = tcase_create("chunkings");

	tcase_add_test(tc, test_sse_fields);
	tcase_add_test(tc, test_sse_truncated);
	tcase_add_test(tc, test_sse_caps);
	tcase_add_test(tc, test_sse_errors_are_sticky);
	tcase_add_test(tc, test_split_inside_utf8);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_malformed_data);
	tcase_add_test(tc, test_unknown_events_ignored);
	tcase_add_test(tc, test_new_blocks_and_fields);
	tcase_add_test(tc, test_error_events);
	tcase_add_test(tc, test_truncated_claude_stream);
	tcase_add_test(tc, test_stream_caps);
	tcase_add_test(tc, test_response_parse_json);
	tcase_add_test(tc, test_error_body_parse);
	tcase_add_test(tc, test_kind_names);
	tcase_add_test(tc, test_kinds_retryable);
	tcase_add_test(tc, test_error_body_spend_cap);
	suite_add_tcase(s, tc);

	/* Tens of thousands of parses each: generous under valgrind. */
	tcase_set_timeout(chunk, 600);
	tcase_add_test(chunk, test_text_stream);
	tcase_add_test(chunk, test_tool_stream);
	tcase_add_test(chunk, test_ping_error_stream);
	tcase_add_test(chunk, test_crlf_stream);
	tcase_add_test(chunk, test_thinking_stream);
	tcase_add_test(chunk, test_refusal_stream);
	tcase_add_test(chunk, test_tool_cut_stream);
	suite_add_tcase(s, chunk);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(llm_sse_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
