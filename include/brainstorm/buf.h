/* A growable byte buffer with a hard cap: crossing it is an error. */
#ifndef BRAINSTORM_BUF_H
#define BRAINSTORM_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "brainstorm/err.h"

struct buf {
	char	*data;	/* always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;
	size_t	 max;	/* len never exceeds this */
};

void	buf_init(struct buf *b, size_t max);
void	buf_free(struct buf *b);
void	buf_reset(struct buf *b);
bs_err	buf_append(struct buf *b, const void *data, size_t len);
bs_err	buf_puts(struct buf *b, const char *s);
bs_err	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
bs_err	buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* The contents as a C string ("" when empty); never NULL. */
const char *buf_cstr(const struct buf *b);
/*
 * Hand over the contents as a C string to free(3) ("" when empty) and
 * leave b empty; NULL only without memory for an empty one.
 */
char	*buf_take(struct buf *b);

#endif
