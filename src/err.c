#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "brainstorm/err.h"

static const char *const messages[BS_ERR__COUNT] = {
	[BS_OK] = "success",
	[BS_ERR_NOMEM] = "out of memory",
	[BS_ERR_INVALID] = "invalid input",
	[BS_ERR_TOO_LARGE] = "too large",
	[BS_ERR_NOT_FOUND] = "not found",
	[BS_ERR_CONFLICT] = "conflict",
	[BS_ERR_IO] = "input/output error",
	[BS_ERR_DB] = "database query failed",
	[BS_ERR_DB_UNAVAILABLE] = "database unavailable",
	[BS_ERR_POOL_TIMEOUT] = "no database connection available",
	[BS_ERR_CACHE_UNAVAILABLE] = "cache unavailable",
	[BS_ERR_TIMEOUT] = "timed out",
	[BS_ERR_LOCKED] = "locked by another process",
	[BS_ERR_CHECKSUM] = "checksum mismatch",
	[BS_ERR_CONFIG] = "invalid configuration",
	[BS_ERR_INTERNAL] = "internal error",
	[BS_ERR_RATE_LIMITED] = "rate limited",
	[BS_ERR_UNAUTHORIZED] = "unauthorized",
	[BS_ERR_FULL] = "bound reached",
};

const char *
bs_strerror(bs_err err)
{
	if ((unsigned)err >= BS_ERR__COUNT || messages[err] == NULL)
		return "unknown error";
	return messages[err];
}

void
bs_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
