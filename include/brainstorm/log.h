/* JSON lines on stderr (or LOG_FILE): one object per event. */
#ifndef BRAINSTORM_LOG_H
#define BRAINSTORM_LOG_H

#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/err.h"

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR
};

/* path NULL or "" logs to stderr. */
bs_err	log_open(enum log_level level, const char *path);
/* Reopen the log file (SIGHUP after rotation); no-op for stderr. */
bs_err	log_reopen(void);
void	log_close(void);
int	log_enabled(enum log_level level);
bs_err	log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);
/*
 * Write one line: time, level, msg and the members of fields (may be NULL).
 * Takes ownership of fields. Callers never put secrets or message bodies in.
 */
void	log_write(enum log_level level, const char *msg, json_object *fields);
/*
 * log_write for a caller that wrote its fields as JSON text already
 * (json_write.h): members is '"name":value' pairs separated by commas,
 * without braces, len bytes (0: none). For the line every request logs.
 */
void	log_write_members(enum log_level level, const char *msg,
	    const char *members, size_t len);
/* printf-style shorthand without extra fields. */
void	log_msgf(enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
