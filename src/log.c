#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "brainstorm/log.h"

/* One lock for the destination, so lines never interleave and a SIGHUP
 * reopen never races a write. */
static pthread_mutex_t	 log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE		*log_fp;	/* guarded by log_lock; NULL = stderr */
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

bs_err
log_open(enum log_level level, const char *path)
{
	bs_err	 e = BS_OK;

	pthread_mutex_lock(&log_lock);
	log_threshold = level;
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = NULL;
	log_path[0] = '\0';
	if (path != NULL && *path != '\0') {
		if (strlen(path) >= sizeof(log_path)) {
			e = BS_ERR_INVALID;
			goto out;
		}
		if ((log_fp = fopen(path, "a")) == NULL) {
			e = BS_ERR_IO;
			goto out;
		}
		setvbuf(log_fp, NULL, _IOLBF, 0);
		strcpy(log_path, path);
	}
out:
	pthread_mutex_unlock(&log_lock);
	return e;
}

bs_err
log_reopen(void)
{
	FILE	*fp;
	bs_err	 e = BS_OK;

	pthread_mutex_lock(&log_lock);
	if (log_path[0] == '\0')
		goto out;
	if ((fp = fopen(log_path, "a")) == NULL) {
		e = BS_ERR_IO;	/* keep writing to the old file */
		goto out;
	}
	setvbuf(fp, NULL, _IOLBF, 0);
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = fp;
out:
	pthread_mutex_unlock(&log_lock);
	return e;
}

void
log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = NULL;
	log_path[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

int
log_enabled(enum log_level level)
{
	return level >= log_threshold;
}

void
log_write(enum log_level level, const char *msg, json_object *fields)
{
	json_object	*line;
	struct timeval	 tv;
	struct tm	 tm;
	char		 when[96];
	const char	*text;

	if (!log_enabled(level)) {
		json_object_put(fields);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));

	if ((line = json_object_new_object()) == NULL) {
		json_object_put(fields);
		return;
	}
	json_object_object_add(line, "time", json_object_new_string(when));
	json_object_object_add(line, "level",
	    json_object_new_string(log_level_name(level)));
	json_object_object_add(line, "msg", json_object_new_string(msg));
	if (fields != NULL && json_object_is_type(fields, json_type_object)) {
		json_object_object_foreach(fields, key, val)
			json_object_object_add(line, key, json_object_get(val));
	}
	json_object_put(fields);

	text = json_object_to_json_string_ext(line,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	pthread_mutex_lock(&log_lock);
	fprintf(log_fp != NULL ? log_fp : stderr, "%s\n", text);
	fflush(log_fp != NULL ? log_fp : stderr);
	pthread_mutex_unlock(&log_lock);
	json_object_put(line);
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
