/*
 * The Server-Sent Events framer of the Claude stream: bytes in any
 * chunking, complete events out, every size capped (the bytes are
 * untrusted). llm_response.c assembles the events into an answer.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/llm.h"

#define LLM_EVENT_NAME_MAX	256	/* "content_block_delta" is 19 */

/*
 * The SSE parser. Bytes are scanned for line ends; a line is complete only
 * when its end has arrived, so chunk boundaries (inside a line, a "\r\n" or
 * a UTF-8 sequence) never change what is emitted.
 */
struct llm_sse {
	llm_sse_event_fn fn;
	void		*arg;
	struct buf	 line;		/* the unfinished line, capped at max_line */
	struct buf	 event;		/* the event field */
	struct buf	 data;		/* data lines, each followed by "\n" */
	size_t		 total;		/* bytes fed */
	size_t		 max_total;
	bool		 cr_seen;	/* the last byte was a "\r" */
	bool		 first_line;	/* a byte-order mark may open it */
	bool		 finished;
	bs_err		 failed;	/* sticky */
	char		 err[128];
};

bs_err
llm_sse_new(const struct llm_sse_options *opt, llm_sse_event_fn fn, void *arg,
    struct llm_sse **out)
{
	struct llm_sse	*p;
	size_t		 max_line, max_total;

	*out = NULL;
	if (fn == NULL)
		return BS_ERR_INVALID;
	max_line = opt != NULL && opt->max_line > 0 ? opt->max_line :
	    LLM_DEFAULT_MAX_LINE;
	max_total = opt != NULL && opt->max_total > 0 ? opt->max_total :
	    LLM_DEFAULT_MAX_TOTAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return BS_ERR_NOMEM;
	p->fn = fn;
	p->arg = arg;
	buf_init(&p->line, max_line);
	buf_init(&p->event, LLM_EVENT_NAME_MAX);
	buf_init(&p->data, max_total);
	p->max_total = max_total;
	p->first_line = true;
	*out = p;
	return BS_OK;
}

void
llm_sse_free(struct llm_sse *p)
{
	if (p == NULL)
		return;
	buf_free(&p->line);
	buf_free(&p->event);
	buf_free(&p->data);
	free(p);
}

const char *
llm_sse_error(const struct llm_sse *p)
{
	return p->err;
}

static bs_err
llm_sse_fail(struct llm_sse *p, bs_err e, const char *msg)
{
	p->failed = e;
	if (msg != NULL)
		snprintf(p->err, sizeof(p->err), "%s", msg);
	return e;
}

/* A blank line: hand over the event, if it has data (the spec drops it otherwise). */
static bs_err
llm_sse_dispatch(struct llm_sse *p)
{
	const char	*name;
	bs_err		 e = BS_OK;

	if (p->data.len > 0) {
		p->data.len--;		/* the last line's "\n" */
		p->data.data[p->data.len] = '\0';
		name = p->event.len > 0 ? buf_cstr(&p->event) : "message";
		e = p->fn(p->arg, name, buf_cstr(&p->data), p->data.len);
	}
	buf_reset(&p->data);
	buf_reset(&p->event);
	return e;
}

static bs_err
llm_sse_line(struct llm_sse *p, const char *line, size_t len)
{
	const char	*colon, *value;
	size_t		 namelen, vlen;
	bs_err		 e;

	if (p->first_line) {
		p->first_line = false;
		if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
			line += 3;
			len -= 3;
		}
	}
	if (len == 0)
		return llm_sse_dispatch(p);
	if (line[0] == ':')
		return BS_OK;		/* a comment: keep-alives, ": ping" */
	if ((colon = memchr(line, ':', len)) != NULL) {
		namelen = (size_t)(colon - line);
		value = colon + 1;
		vlen = len - namelen - 1;
		if (vlen > 0 && value[0] == ' ') {
			value++;
			vlen--;
		}
	} else {
		namelen = len;
		value = "";
		vlen = 0;
	}
	if (namelen == 5 && memcmp(line, "event", 5) == 0) {
		buf_reset(&p->event);
		if (buf_append(&p->event, value, vlen) != BS_OK)
			return llm_sse_fail(p, BS_ERR_TOO_LARGE,
			    "event name too long");
	} else if (namelen == 4 && memcmp(line, "data", 4) == 0) {
		if ((e = buf_append(&p->data, value, vlen)) != BS_OK ||
		    (e = buf_append(&p->data, "\n", 1)) != BS_OK)
			return llm_sse_fail(p, e, e == BS_ERR_TOO_LARGE ?
			    "event data too large" : "out of memory");
	}
	/* id, retry and unknown fields: we never reconnect, so nothing to keep. */
	return BS_OK;
}

static bs_err
llm_sse_scan(struct llm_sse *p, const char *s, size_t n)
{
	size_t	 i = 0, j;
	bs_err	 e;

	if (n > 0 && p->cr_seen && s[0] == '\n')
		i = 1;			/* the rest of a "\r\n" cut in two */
	if (n > 0)
		p->cr_seen = false;
	while (i < n) {
		for (j = i; j < n && s[j] != '\n' && s[j] != '\r'; j++)
			;
		if ((e = buf_append(&p->line, s + i, j - i)) != BS_OK) {
			if (e == BS_ERR_TOO_LARGE)
				snprintf(p->err, sizeof(p->err),
				    "line longer than %zu bytes", p->line.max);
			return llm_sse_fail(p, e, e == BS_ERR_TOO_LARGE ?
			    NULL : "out of memory");
		}
		if (j == n)
			break;
		if (s[j] == '\r') {
			if (j + 1 < n && s[j + 1] == '\n')
				j++;
			else if (j + 1 == n)
				p->cr_seen = true;
		}
		e = llm_sse_line(p, buf_cstr(&p->line), p->line.len);
		buf_reset(&p->line);
		if (e != BS_OK)
			return p->failed = e;
		i = j + 1;
	}
	return BS_OK;
}

bs_err
llm_sse_feed(struct llm_sse *p, const char *bytes, size_t len)
{
	size_t	 take;
	bs_err	 e;

	if (p->failed != BS_OK)
		return p->failed;
	if (p->finished)
		return llm_sse_fail(p, BS_ERR_INVALID, "stream already finished");
	/* Up to the cap, so what precedes it is emitted whatever the chunking. */
	take = len;
	if (take > p->max_total - p->total)
		take = p->max_total - p->total;
	p->total += take;
	if ((e = llm_sse_scan(p, bytes, take)) != BS_OK)
		return e;
	if (take < len) {
		snprintf(p->err, sizeof(p->err), "stream larger than %zu bytes",
		    p->max_total);
		return llm_sse_fail(p, BS_ERR_TOO_LARGE, NULL);
	}
	return BS_OK;
}

bs_err
llm_sse_finish(struct llm_sse *p)
{
	if (p->failed != BS_OK)
		return p->failed;
	p->finished = true;
	if (p->line.len > 0 || p->data.len > 0 || p->event.len > 0)
		return llm_sse_fail(p, BS_ERR_IO, "truncated stream");
	return BS_OK;
}
