/* JSON text into a capped buffer, a chunk at a time; see json_write.h. */
#include "config.h"

#include <string.h>

#include "brainstorm/json_write.h"

/*
 * What json-c writes for each byte it escapes: a letter after the
 * backslash, or 'u' for \u00XX. 0: the byte passes as it is (everything
 * from 0x20 up but the quote and the backslash, UTF-8 included).
 */
static const char escapes[256] = {
	['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u',
	[0x05] = 'u', [0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u',
	[0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u', [0x13] = 'u',
	[0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u', [0x18] = 'u',
	[0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u',
	[0x1e] = 'u', [0x1f] = 'u',
	['"'] = '"', ['\\'] = '\\',
};

void
json_writer_init(struct json_writer *w, struct buf *out)
{
	w->out = out;
	w->err = BS_OK;
	w->n = 0;
}

static void
writer_flush(struct json_writer *w)
{
	bs_err	 e;

	if (w->n > 0 && w->err == BS_OK &&
	    (e = buf_append(w->out, w->chunk, w->n)) != BS_OK)
		w->err = e;
	w->n = 0;
}

bs_err
json_writer_finish(struct json_writer *w)
{
	writer_flush(w);
	return w->err;
}

void
json_writer_fail(struct json_writer *w, bs_err e)
{
	if (w->err == BS_OK)
		w->err = e;
}

/* What does not fit the chunk: flush it, and write a long piece straight. */
void
json_write_raw_slow(struct json_writer *w, const char *s, size_t len)
{
	bs_err	 e;

	writer_flush(w);
	if (len <= sizeof(w->chunk)) {
		memcpy(w->chunk, s, len);
		w->n = len;
	} else if (w->err == BS_OK && (e = buf_append(w->out, s, len)) != BS_OK)
		w->err = e;
}

void
json_write_string(struct json_writer *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char		 esc[6];
	size_t		 i, run = 0;

	json_write_raw(w, "\"", 1);
	for (i = 0; i < len; i++) {
		if (escapes[p[i]] == 0)
			continue;
		/* The plain run before this byte, then its escape. */
		json_write_raw(w, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		esc[1] = escapes[p[i]];
		if (esc[1] != 'u')
			json_write_raw(w, esc, 2);
		else {
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0xf];
			json_write_raw(w, esc, 6);
		}
	}
	json_write_raw(w, s + run, len - run);
	json_write_raw(w, "\"", 1);
}

void
json_write_name(struct json_writer *w, const char *name)
{
	json_write_raw(w, "\"", 1);
	json_write_raw(w, name, strlen(name));
	json_write_raw(w, "\":", 2);
}

void
json_write_int64(struct json_writer *w, int64_t v)
{
	char		 digits[24], *p = digits + sizeof(digits);
	uint64_t	 u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	json_write_raw(w, p, (size_t)(digits + sizeof(digits) - p));
}

void
json_write_integer_text(struct json_writer *w, const char *s, size_t len)
{
	size_t	 i = 0;

	if (len > 0 && s[0] == '-')
		i++;
	if (i == len || len - i > 19 || (s[i] == '0' && len - i > 1)) {
		json_writer_fail(w, BS_ERR_INVALID);
		return;
	}
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9') {
			json_writer_fail(w, BS_ERR_INVALID);
			return;
		}
	json_write_raw(w, s, len);
}
