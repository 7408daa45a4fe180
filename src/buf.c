#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Make room for need more bytes plus the terminating NUL. */
static bs_err
buf_reserve(struct buf *b, size_t need)
{
	size_t	 want, ncap;
	char	*p;

	if (need > b->max - b->len)
		return BS_ERR_TOO_LARGE;
	want = b->len + need + 1;
	if (want <= b->cap)
		return BS_OK;
	ncap = b->cap ? b->cap : 256;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->data, ncap)) == NULL)
		return BS_ERR_NOMEM;
	b->data = p;
	b->cap = ncap;
	return BS_OK;
}

bs_err
buf_append(struct buf *b, const void *data, size_t len)
{
	bs_err	 e;

	if ((e = buf_reserve(b, len)) != BS_OK)
		return e;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return BS_OK;
}

bs_err
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

bs_err
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 copy;
	int	 n;
	bs_err	 e;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return BS_ERR_INVALID;
	if ((e = buf_reserve(b, (size_t)n)) != BS_OK)
		return e;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return BS_OK;
}

bs_err
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	bs_err	 e;

	va_start(ap, fmt);
	e = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return e;
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *
buf_take(struct buf *b)
{
	char	*s = b->data;

	if (s == NULL)
		s = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}
