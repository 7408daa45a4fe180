#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "brainstorm/json_write.h"
#include "brainstorm/log.h"

#define LOG_LINE_MAX	((size_t)1 << 20)

/*
 * The destination, and who may write to it at once. A line goes out in
 * one write(2), and the kernel keeps a write of up to PIPE_BUF bytes
 * whole against other writers, whether the destination is a file (the
 * log file is opened O_APPEND), a pipe, a terminal or a socket: such
 * lines share the lock, so that a thread writing one never waits for
 * another's (a write to a file can wait for its journal). A longer line,
 * and a reopen on SIGHUP, take it alone.
 */
static pthread_rwlock_t	 log_lock = PTHREAD_RWLOCK_INITIALIZER;
static int		 log_fd = -1;	/* guarded by log_lock; -1 = stderr */
static char		 log_path[4096]; /* guarded by log_lock */
static enum log_level	 log_threshold = LOG_LEVEL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_LEVEL_ERROR)
		return "info";
	return level_names[level];
}

bs_err
log_level_parse(const char *s, enum log_level *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return BS_OK;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return BS_OK;
	}
	return BS_ERR_INVALID;
}

static int
log_file_open(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

bs_err
log_open(enum log_level level, const char *path)
{
	bs_err	 e = BS_OK;

	pthread_rwlock_wrlock(&log_lock);
	log_threshold = level;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	log_path[0] = '\0';
	if (path != NULL && *path != '\0') {
		if (strlen(path) >= sizeof(log_path)) {
			e = BS_ERR_INVALID;
			goto out;
		}
		if ((log_fd = log_file_open(path)) < 0) {
			e = BS_ERR_IO;
			goto out;
		}
		strcpy(log_path, path);
	}
out:
	pthread_rwlock_unlock(&log_lock);
	return e;
}

bs_err
log_reopen(void)
{
	int	 fd;
	bs_err	 e = BS_OK;

	pthread_rwlock_wrlock(&log_lock);
	if (log_path[0] == '\0')
		goto out;
	if ((fd = log_file_open(log_path)) < 0) {
		e = BS_ERR_IO;	/* keep writing to the old file */
		goto out;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
out:
	pthread_rwlock_unlock(&log_lock);
	return e;
}

void
log_close(void)
{
	pthread_rwlock_wrlock(&log_lock);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	log_path[0] = '\0';
	pthread_rwlock_unlock(&log_lock);
}

int
log_enabled(enum log_level level)
{
	return level >= log_threshold;
}

/* time, level, msg, then the members' text (may be empty): one line, whole. */
static void
log_line_write(enum log_level level, const char *msg, const char *members,
    size_t len)
{
	struct json_writer w;
	struct buf	 b;
	struct timeval	 tv;
	struct tm	 tm;
	char		 when[96];
	size_t		 off;
	ssize_t		 n;
	int		 fd;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(when, sizeof(when), "{\"time\":\"%04d-%02d-%02dT"
	    "%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (long)(tv.tv_usec / 1000), log_level_name(level));
	buf_init(&b, LOG_LINE_MAX);
	json_writer_init(&w, &b);
	json_write_raw(&w, when, strlen(when));
	json_write_string(&w, msg, strlen(msg));
	if (len > 0) {
		json_write_raw(&w, ",", 1);
		json_write_raw(&w, members, len);
	}
	json_write_raw(&w, "}\n", 2);
	if (json_writer_finish(&w) != BS_OK)
		goto out;	/* a line too long to be useful, or no memory */
	if (b.len <= PIPE_BUF)
		pthread_rwlock_rdlock(&log_lock);
	else
		pthread_rwlock_wrlock(&log_lock);
	fd = log_fd >= 0 ? log_fd : STDERR_FILENO;
	for (off = 0; off < b.len; off += (size_t)n) {
		n = write(fd, b.data + off, b.len - off);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n <= 0)
			break;	/* nowhere to say so */
	}
	pthread_rwlock_unlock(&log_lock);
out:
	buf_free(&b);
}

void
log_write(enum log_level level, const char *msg, json_object *fields)
{
	const char	*text = NULL;
	size_t		 len = 0;

	if (!log_enabled(level)) {
		json_object_put(fields);
		return;
	}
	/* The fields' object without its braces: its members. */
	if (fields != NULL && json_object_is_type(fields, json_type_object)) {
		text = json_object_to_json_string_length(fields,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &len);
		if (text == NULL || len < 2)
			len = 0;
		else {
			text++;
			len -= 2;
		}
	}
	log_line_write(level, msg, text, len);
	json_object_put(fields);
}

void
log_write_members(enum log_level level, const char *msg, const char *members,
    size_t len)
{
	if (log_enabled(level))
		log_line_write(level, msg, members, len);
}

void
log_msgf(enum log_level level, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(level, msg, NULL);
}
