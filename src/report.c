/*
 * Error reports to a Sentry-compatible endpoint (docs/OPERATIONS.md,
 * "Error reports"): the envelope format, the DSN, the flood guard, the
 * crash files and the one background thread that sends.
 */
#include "config.h"

#include <limits.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>

#include "brainstorm/clock.h"
#include "brainstorm/json.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/report.h"
#include "brainstorm/validate.h"

#define REPORT_CLIENT		"brainstorm/" PACKAGE_VERSION
#define REPORT_SDK_NAME		"brainstorm.native"
#define REPORT_LOGGER		"brainstorm-fcgi"
#define REPORT_QUEUE_MAX	64
#define REPORT_WINDOW_MS	60000
#define REPORT_TIMEOUT_MS	3000	/* one send at most */
#define REPORT_CONNECT_TIMEOUT_MS 2000
#define REPORT_DRAIN_MS		2000	/* what report_stop gives the queue */
#define REPORT_BACKOFF_DEFAULT_S 60	/* a 429 without Retry-After */
#define REPORT_BACKOFF_MAX_S	600
#define REPORT_CRASH_FILES_MAX	16	/* sent per start */
#define REPORT_DIR_MAX		200	/* SENTRY_CRASH_DIR, so file names fit */
#define REPORT_NAME_MAX		128	/* a crash file's name */
#define REPORT_URL_MAX		(REPORT_DSN_MAX + 64)
#define REPORT_AUTH_MAX		512
#define TIME_LEN		80	/* RFC 3339, with room for any struct tm */

#define CRASH_MAGIC		"brainstorm-crash 1\n"
#define CRASH_PREFIX		"crash-"
#define CRASH_SUFFIX		".report"
#define CRASH_CLAIM		".sending-"

/* What may appear in a release, an environment and a server name. */
#define CHARS_RELEASE		"._-@+:"
#define CHARS_ENVIRONMENT	"._-"
#define CHARS_SERVER		"._-"

static const struct {
	int		 sig;
	const char	*name;
	const char	*text;
} crash_signals[] = {
	{ SIGSEGV, "SIGSEGV", "segmentation fault" },
	{ SIGBUS, "SIGBUS", "bus error" },
	{ SIGILL, "SIGILL", "illegal instruction" },
	{ SIGFPE, "SIGFPE", "arithmetic exception" },
	{ SIGABRT, "SIGABRT", "aborted" },
};
#define NCRASH_SIGNALS	(sizeof(crash_signals) / sizeof(crash_signals[0]))

static const char *const kind_names[] = {
	[REPORT_HTTP_5XX] = "http_5xx",
	[REPORT_CRASH] = "crash",
};

static const char *const origin_names[] = {
	[REPORT_ORIGIN_FAULT] = "fault",
	[REPORT_ORIGIN_SELF] = "self",
	[REPORT_ORIGIN_KILL] = "kill",
};

enum report_outcome {
	OUTCOME_SENT = 0,
	OUTCOME_FAILED,		/* network, timeout, an answer other than 2xx */
	OUTCOME_DROPPED,	/* queue full, or still queued at shutdown */
	OUTCOME_RATE_LIMITED	/* the flood guard, or the endpoint's 429 */
};

static const char *const outcome_names[] = {
	[OUTCOME_SENT] = "sent",
	[OUTCOME_FAILED] = "failed",
	[OUTCOME_DROPPED] = "dropped",
	[OUTCOME_RATE_LIMITED] = "rate_limited",
};

/*
 * The reporter of this process. The settings (dsn to crash_dir) are
 * written by report_start before the sender thread exists and only read
 * after. The queue and what follows it in the block below are guarded by
 * lock: request threads push, the sender thread pops. on is read without
 * the lock by request threads, as a hint.
 */
static struct {
	struct report_dsn	 dsn;
	char			 url[REPORT_URL_MAX];
	char			 auth[REPORT_AUTH_MAX];
	char			 release[128];
	char			 environment[64];
	char			 server_name[128];
	char			 crash_dir[REPORT_DIR_MAX + 1];

	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	struct report_event	 queue[REPORT_QUEUE_MAX];	/* lock */
	size_t			 head, count;			/* lock */
	struct report_limiter	 limiter;			/* lock */
	bool			 stopping;			/* lock */
	long long		 stop_deadline_ms;		/* lock */

	atomic_bool		 on;
	bool			 started;	/* main thread only */
	pthread_t		 thread;
} rep = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/* s is non-empty, shorter than max and only letters, digits and extra. */
static bool
chars_valid(const char *s, size_t len, size_t max, const char *extra)
{
	size_t	 i;

	if (len == 0 || len >= max)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && (s[i] == '\0' ||
		    strchr(extra, s[i]) == NULL))
			return false;
	return true;
}

static bool
copy_span(char *dst, size_t dstlen, const char *s, size_t len)
{
	if (len >= dstlen)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

/* ---- the DSN ------------------------------------------------------------ */

bs_err
report_dsn_parse(const char *text, struct report_dsn *out, char *err,
    size_t errlen)
{
	const char	*p, *at, *slash, *colon, *last, *end;
	size_t		 i, len;

	memset(out, 0, sizeof(*out));
	if (text == NULL || *text == '\0') {
		bs_errf(err, errlen, "is empty");
		return BS_ERR_INVALID;
	}
	if ((len = strlen(text)) >= REPORT_DSN_MAX) {
		bs_errf(err, errlen, "is longer than %d bytes", REPORT_DSN_MAX - 1);
		return BS_ERR_INVALID;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)text[i] <= ' ' || (unsigned char)text[i] >= 0x7f ||
		    text[i] == '?' || text[i] == '#') {
			bs_errf(err, errlen, "has a space, a control character, "
			    "a query or a fragment");
			return BS_ERR_INVALID;
		}
	}
	end = text + len;
	if (strncmp(text, "https://", 8) == 0) {
		strcpy(out->scheme, "https");
		p = text + 8;
	} else if (strncmp(text, "http://", 7) == 0) {
		strcpy(out->scheme, "http");
		p = text + 7;
	} else {
		bs_errf(err, errlen, "must begin with https:// or http://");
		return BS_ERR_INVALID;
	}
	if ((slash = strchr(p, '/')) == NULL ||
	    (at = memchr(p, '@', (size_t)(slash - p))) == NULL) {
		bs_errf(err, errlen, "expected https://PUBLIC_KEY@HOST/PROJECT_ID");
		return BS_ERR_INVALID;
	}
	colon = memchr(p, ':', (size_t)(at - p));
	if (!chars_valid(p, (size_t)((colon != NULL ? colon : at) - p),
	    sizeof(out->public_key), "") ||
	    !copy_span(out->public_key, sizeof(out->public_key), p,
	    (size_t)((colon != NULL ? colon : at) - p))) {
		bs_errf(err, errlen, "the public key must be letters and digits");
		return BS_ERR_INVALID;
	}
	if (colon != NULL && colon + 1 < at &&
	    (!chars_valid(colon + 1, (size_t)(at - colon - 1),
	    sizeof(out->secret_key), "") ||
	    !copy_span(out->secret_key, sizeof(out->secret_key), colon + 1,
	    (size_t)(at - colon - 1)))) {
		bs_errf(err, errlen, "the secret key must be letters and digits");
		return BS_ERR_INVALID;
	}
	if (!chars_valid(at + 1, (size_t)(slash - at - 1), sizeof(out->host),
	    ".-:[]") || !copy_span(out->host, sizeof(out->host), at + 1,
	    (size_t)(slash - at - 1))) {
		bs_errf(err, errlen, "the host is missing or malformed");
		return BS_ERR_INVALID;
	}
	last = strrchr(slash, '/');
	if (!chars_valid(last + 1, (size_t)(end - last - 1),
	    sizeof(out->project_id), "-_") ||
	    !copy_span(out->project_id, sizeof(out->project_id), last + 1,
	    (size_t)(end - last - 1))) {
		bs_errf(err, errlen, "the project id (after the last /) is "
		    "missing or malformed");
		return BS_ERR_INVALID;
	}
	if (last > slash && (!chars_valid(slash, (size_t)(last - slash),
	    sizeof(out->path), "/._~-") ||
	    !copy_span(out->path, sizeof(out->path), slash,
	    (size_t)(last - slash)))) {
		bs_errf(err, errlen, "the path before the project id is malformed");
		return BS_ERR_INVALID;
	}
	return BS_OK;
}

bs_err
report_dsn_envelope_url(const struct report_dsn *dsn, char *out, size_t outlen)
{
	int	 n;

	n = snprintf(out, outlen, "%s://%s%s/api/%s/envelope/", dsn->scheme,
	    dsn->host, dsn->path, dsn->project_id);
	return n < 0 || (size_t)n >= outlen ? BS_ERR_TOO_LARGE : BS_OK;
}

bs_err
report_dsn_auth(const struct report_dsn *dsn, const char *client, char *out,
    size_t outlen)
{
	int	 n;

	n = snprintf(out, outlen, "Sentry sentry_version=7, sentry_client=%s, "
	    "sentry_key=%s%s%s", client, dsn->public_key,
	    dsn->secret_key[0] != '\0' ? ", sentry_secret=" : "",
	    dsn->secret_key);
	return n < 0 || (size_t)n >= outlen ? BS_ERR_TOO_LARGE : BS_OK;
}

/* The DSN as the envelope header carries it: without the secret key. */
static bs_err
dsn_public(const struct report_dsn *dsn, char *out, size_t outlen)
{
	int	 n;

	n = snprintf(out, outlen, "%s://%s@%s%s/%s", dsn->scheme,
	    dsn->public_key, dsn->host, dsn->path, dsn->project_id);
	return n < 0 || (size_t)n >= outlen ? BS_ERR_TOO_LARGE : BS_OK;
}

/* ---- the envelope ------------------------------------------------------- */

void
report_event_id_new(char out[REPORT_EVENT_ID_LEN])
{
	unsigned char	 raw[16];
	size_t		 i;

	randombytes_buf(raw, sizeof(raw));
	raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40);	/* version 4 */
	raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	for (i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* RFC 3339 in UTC with milliseconds. */
static void
time_format(long long ms, char *out, size_t outlen)
{
	time_t		 s = (time_t)(ms / 1000);
	struct tm	 tm;

	gmtime_r(&s, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
}

/* A string member, left out when s is empty. */
static bool
jadd_str(json_object *obj, const char *key, const char *s)
{
	return s[0] == '\0' || json_add(obj, key, json_object_new_string(s));
}

static int
crash_signal_index(int sig)
{
	size_t	 i;

	for (i = 0; i < NCRASH_SIGNALS; i++)
		if (crash_signals[i].sig == sig)
			return (int)i;
	return -1;
}

static bool
event_describe_http(json_object *event, json_object *tags,
    const struct report_event *ev)
{
	json_object	*message;
	char		 text[256], status[16];

	snprintf(text, sizeof(text), "%s %s answered %d", ev->method, ev->route,
	    ev->status);
	snprintf(status, sizeof(status), "%d", ev->status);
	if ((message = json_object_new_object()) == NULL ||
	    !json_add(event, "message", message) ||
	    !json_add(message, "formatted", json_object_new_string(text)))
		return false;
	snprintf(text, sizeof(text), "%s %s", ev->method, ev->route);
	return json_add(event, "level", json_object_new_string("error")) &&
	    json_add(event, "transaction", json_object_new_string(text)) &&
	    jadd_str(tags, "request_id", ev->request_id) &&
	    json_add(tags, "route", json_object_new_string(ev->route)) &&
	    json_add(tags, "method", json_object_new_string(ev->method)) &&
	    json_add(tags, "status", json_object_new_string(status));
}

static bool
event_describe_crash(json_object *event, json_object *tags,
    const struct report_event *ev)
{
	json_object	*exception, *values, *value, *mechanism;
	char		 text[256];
	int		 i = crash_signal_index(ev->signal);
	const char	*name = i >= 0 ? crash_signals[i].name : "SIG?";
	const char	*what = i >= 0 ? crash_signals[i].text : "fatal signal";

	switch (ev->origin) {
	case REPORT_ORIGIN_FAULT:
		snprintf(text, sizeof(text), "%s (%s)%s%s", name, what,
		    ev->fault_addr[0] != '\0' ? " at " : "", ev->fault_addr);
		break;
	case REPORT_ORIGIN_SELF:
		snprintf(text, sizeof(text), "%s (%s), raised by the worker "
		    "itself", name, what);
		break;
	case REPORT_ORIGIN_KILL:
	default:
		snprintf(text, sizeof(text), "%s (%s), sent by another process",
		    name, what);
		break;
	}
	if (!json_add(event, "level", json_object_new_string("fatal")) ||
	    (exception = json_object_new_object()) == NULL ||
	    !json_add(event, "exception", exception) ||
	    (values = json_object_new_array()) == NULL ||
	    !json_add(exception, "values", values) ||
	    (value = json_object_new_object()) == NULL)
		return false;
	if (json_object_array_add(values, value) != 0) {
		json_object_put(value);
		return false;
	}
	if (!json_add(value, "type", json_object_new_string(name)) ||
	    !json_add(value, "value", json_object_new_string(text)) ||
	    (mechanism = json_object_new_object()) == NULL ||
	    !json_add(value, "mechanism", mechanism) ||
	    !json_add(mechanism, "type", json_object_new_string("signalhandler")) ||
	    !json_add(mechanism, "handled", json_object_new_boolean(0)))
		return false;
	snprintf(text, sizeof(text), "brainstorm-fcgi died of %s", name);
	if ((value = json_object_new_object()) == NULL ||
	    !json_add(event, "message", value) ||
	    !json_add(value, "formatted", json_object_new_string(text)))
		return false;
	return json_add(tags, "signal", json_object_new_string(name)) &&
	    json_add(tags, "origin", json_object_new_string(
	    origin_names[ev->origin <= REPORT_ORIGIN_KILL ? ev->origin :
	    REPORT_ORIGIN_KILL]));
}

static json_object *
event_json(const struct report_event *ev)
{
	json_object	*event, *tags, *sdk;
	char		 when[TIME_LEN];
	bool		 ok;

	if ((event = json_object_new_object()) == NULL)
		return NULL;
	time_format(ev->time_ms, when, sizeof(when));
	ok = json_add(event, "event_id", json_object_new_string(ev->event_id)) &&
	    json_add(event, "timestamp", json_object_new_string(when)) &&
	    json_add(event, "platform", json_object_new_string("c")) &&
	    json_add(event, "logger", json_object_new_string(REPORT_LOGGER)) &&
	    jadd_str(event, "server_name", ev->server_name) &&
	    jadd_str(event, "release", ev->release) &&
	    jadd_str(event, "environment", ev->environment) &&
	    (tags = json_object_new_object()) != NULL &&
	    json_add(event, "tags", tags) &&
	    json_add(tags, "kind", json_object_new_string(
	    kind_names[ev->kind == REPORT_CRASH ? REPORT_CRASH : REPORT_HTTP_5XX])) &&
	    (ev->kind == REPORT_CRASH ? event_describe_crash(event, tags, ev) :
	    event_describe_http(event, tags, ev)) &&
	    (sdk = json_object_new_object()) != NULL &&
	    json_add(event, "sdk", sdk) &&
	    json_add(sdk, "name", json_object_new_string(REPORT_SDK_NAME)) &&
	    json_add(sdk, "version", json_object_new_string(PACKAGE_VERSION));
	if (!ok) {
		json_object_put(event);
		return NULL;
	}
	return event;
}

static const char *
json_line(json_object *obj)
{
	return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
}

bs_err
report_envelope_build(const struct report_dsn *dsn,
    const struct report_event *ev, long long sent_at_ms, struct buf *out)
{
	json_object	*event = NULL, *head = NULL, *item = NULL, *sdk;
	const char	*payload;
	char		 public_dsn[REPORT_URL_MAX], sent[TIME_LEN];
	size_t		 plen;
	bs_err		 e = BS_ERR_NOMEM;

	if (strlen(ev->event_id) != REPORT_EVENT_ID_LEN - 1)
		return BS_ERR_INVALID;
	if ((e = dsn_public(dsn, public_dsn, sizeof(public_dsn))) != BS_OK)
		return e;
	e = BS_ERR_NOMEM;
	if ((event = event_json(ev)) == NULL ||
	    (payload = json_line(event)) == NULL)
		goto out;
	plen = strlen(payload);
	time_format(sent_at_ms, sent, sizeof(sent));
	if ((head = json_object_new_object()) == NULL ||
	    !json_add(head, "event_id", json_object_new_string(ev->event_id)) ||
	    !json_add(head, "dsn", json_object_new_string(public_dsn)) ||
	    !json_add(head, "sent_at", json_object_new_string(sent)) ||
	    (sdk = json_object_new_object()) == NULL ||
	    !json_add(head, "sdk", sdk) ||
	    !json_add(sdk, "name", json_object_new_string(REPORT_SDK_NAME)) ||
	    !json_add(sdk, "version", json_object_new_string(PACKAGE_VERSION)))
		goto out;
	if ((item = json_object_new_object()) == NULL ||
	    !json_add(item, "type", json_object_new_string("event")) ||
	    !json_add(item, "length", json_object_new_int64((int64_t)plen)))
		goto out;
	if ((e = buf_puts(out, json_line(head))) != BS_OK ||
	    (e = buf_puts(out, "\n")) != BS_OK ||
	    (e = buf_puts(out, json_line(item))) != BS_OK ||
	    (e = buf_puts(out, "\n")) != BS_OK ||
	    (e = buf_append(out, payload, plen)) != BS_OK ||
	    (e = buf_puts(out, "\n")) != BS_OK)
		goto out;
	e = BS_OK;
out:
	json_object_put(item);
	json_object_put(head);
	json_object_put(event);
	return e;
}

/* ---- the flood guard ---------------------------------------------------- */

bool
report_limiter_admit(struct report_limiter *l, const struct report_event *ev,
    long long now_ms)
{
	size_t	 i;

	if (l->window_start_ms == 0 || now_ms < l->window_start_ms ||
	    now_ms - l->window_start_ms >= REPORT_WINDOW_MS) {
		memset(l, 0, sizeof(*l));
		l->window_start_ms = now_ms;
	}
	if (l->total >= REPORT_PER_MINUTE)
		return false;
	for (i = 0; i < l->nsig; i++)
		if (l->sig[i].kind == ev->kind && l->sig[i].status == ev->status &&
		    strcmp(l->sig[i].method, ev->method) == 0 &&
		    strcmp(l->sig[i].route, ev->route) == 0)
			break;
	if (i == l->nsig && l->nsig < REPORT_LIMIT_SIGNATURES) {
		l->sig[i].kind = ev->kind;
		l->sig[i].status = ev->status;
		snprintf(l->sig[i].method, sizeof(l->sig[i].method), "%s",
		    ev->method);
		snprintf(l->sig[i].route, sizeof(l->sig[i].route), "%s",
		    ev->route);
		l->sig[i].count = 0;
		l->nsig++;
	}
	/* Past the table's size only the total limits: new kinds are rare. */
	if (i < l->nsig) {
		if (l->sig[i].count >= REPORT_SAME_PER_MINUTE)
			return false;
		l->sig[i].count++;
	}
	l->total++;
	return true;
}

/* ---- crash files -------------------------------------------------------- */

/* Settings of the handler, written once before it is installed. */
static char		 crash_path[REPORT_DIR_MAX + REPORT_NAME_MAX];
static char		 crash_tmp[REPORT_DIR_MAX + REPORT_NAME_MAX];
static char		 crash_head[512];
static size_t		 crash_head_len;
static volatile sig_atomic_t crash_entered;

/* The digits of v in base 10 or 16 at dst; the count. Async-signal-safe. */
static size_t
crash_put_number(char *dst, unsigned long long v, unsigned base)
{
	char	 tmp[24];
	size_t	 n = 0, i;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0 && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

static size_t
crash_put_text(char *dst, const char *s)
{
	size_t	 n = 0;

	while (s[n] != '\0') {
		dst[n] = s[n];
		n++;
	}
	return n;
}

static void
crash_write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Only async-signal-safe calls: clock_gettime, getpid, open, write,
 * close, rename, raise. The tail is at most about 100 bytes.
 */
static void
crash_handler(int sig, siginfo_t *si, void *context)
{
	char		 tail[160];
	struct timespec	 ts;
	size_t		 n = 0;
	int		 fd, saved = errno;
	const char	*origin = "fault";

	(void)context;
	if (crash_entered)
		goto out;
	crash_entered = 1;
	if (si != NULL && si->si_code <= 0)
		origin = si->si_pid == getpid() ? "self" : "kill";
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		ts.tv_sec = 0;
	n += crash_put_text(tail + n, "signal=");
	n += crash_put_number(tail + n, (unsigned long long)sig, 10);
	n += crash_put_text(tail + n, "\norigin=");
	n += crash_put_text(tail + n, origin);
	n += crash_put_text(tail + n, "\ntime=");
	n += crash_put_number(tail + n, (unsigned long long)ts.tv_sec, 10);
	n += crash_put_text(tail + n, "\n");
	if (si != NULL && si->si_code > 0) {
		n += crash_put_text(tail + n, "addr=0x");
		n += crash_put_number(tail + n,
		    (unsigned long long)(uintptr_t)si->si_addr, 16);
		n += crash_put_text(tail + n, "\n");
	}
	fd = open(crash_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd >= 0) {
		crash_write_all(fd, crash_head, crash_head_len);
		crash_write_all(fd, tail, n);
		close(fd);
		rename(crash_tmp, crash_path);	/* whole, or not at all */
	}
out:
	errno = saved;
	/*
	 * SA_RESETHAND restored the default action: the signal, pending
	 * until the handler returns, ends the process (a fault would also
	 * recur on return).
	 */
	raise(sig);
}

bs_err
report_crash_handlers_install(const char *dir, const char *release,
    const char *environment, const char *server_name, char *err,
    size_t errlen)
{
	struct sigaction	 sa;
	char			 head[sizeof(crash_head)];
	long long		 started = (long long)time(NULL);
	int			 n;
	size_t			 i;

	if (dir == NULL || dir[0] != '/' || strlen(dir) > REPORT_DIR_MAX) {
		bs_errf(err, errlen, "the crash directory must be an absolute "
		    "path of at most %d bytes", REPORT_DIR_MAX);
		return BS_ERR_INVALID;
	}
	n = snprintf(head, sizeof(head), CRASH_MAGIC "release=%s\n"
	    "environment=%s\nserver_name=%s\n", release, environment,
	    server_name);
	if (n < 0 || (size_t)n >= sizeof(head) || strchr(release, '\n') != NULL ||
	    strchr(environment, '\n') != NULL ||
	    strchr(server_name, '\n') != NULL) {
		bs_errf(err, errlen, "the release, environment or server name "
		    "is too long or has a line break");
		return BS_ERR_INVALID;
	}
	memcpy(crash_head, head, (size_t)n + 1);
	crash_head_len = (size_t)n;
	snprintf(crash_path, sizeof(crash_path), "%s/" CRASH_PREFIX "%ld-%lld"
	    CRASH_SUFFIX, dir, (long)getpid(), started);
	snprintf(crash_tmp, sizeof(crash_tmp), "%s/.crash-%ld-%lld.tmp", dir,
	    (long)getpid(), started);
	crash_entered = 0;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	for (i = 0; i < NCRASH_SIGNALS; i++) {
		if (sigaction(crash_signals[i].sig, &sa, NULL) != 0) {
			bs_errf(err, errlen, "sigaction %s: %s",
			    crash_signals[i].name, strerror(errno));
			return BS_ERR_INTERNAL;
		}
	}
	return BS_OK;
}

/* A key=value line of a crash file: value and its length into v, vlen. */
static bool
crash_line_value(const char *line, size_t len, const char *key,
    const char **v, size_t *vlen)
{
	size_t	 klen = strlen(key);

	if (len <= klen || strncmp(line, key, klen) != 0 || line[klen] != '=')
		return false;
	*v = line + klen + 1;
	*vlen = len - klen - 1;
	return true;
}

static bool
crash_number(const char *v, size_t vlen, unsigned base, size_t maxdigits,
    unsigned long long *out)
{
	size_t			 i;
	unsigned long long	 n = 0;

	if (vlen == 0 || vlen > maxdigits)
		return false;
	for (i = 0; i < vlen; i++) {
		if (!isxdigit((unsigned char)v[i]) ||
		    (base == 10 && !isdigit((unsigned char)v[i])))
			return false;
		n = n * base + (unsigned)(isdigit((unsigned char)v[i]) ?
		    v[i] - '0' : tolower((unsigned char)v[i]) - 'a' + 10);
	}
	*out = n;
	return true;
}

bs_err
report_crash_parse(const char *text, size_t len, struct report_event *ev)
{
	const char		*p, *nl, *end = text + len, *v;
	size_t			 vlen, i;
	unsigned long long	 n;
	bool			 have_signal = false, have_time = false;

	memset(ev, 0, sizeof(*ev));
	ev->kind = REPORT_CRASH;
	if (len > REPORT_CRASH_FILE_MAX || len < strlen(CRASH_MAGIC) ||
	    memcmp(text, CRASH_MAGIC, strlen(CRASH_MAGIC)) != 0 ||
	    memchr(text, '\0', len) != NULL)
		return BS_ERR_INVALID;
	for (p = text + strlen(CRASH_MAGIC); p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return BS_ERR_INVALID;	/* cut short */
		if (crash_line_value(p, (size_t)(nl - p), "release", &v, &vlen)) {
			if (!chars_valid(v, vlen, sizeof(ev->release),
			    CHARS_RELEASE))
				return BS_ERR_INVALID;
			copy_span(ev->release, sizeof(ev->release), v, vlen);
		} else if (crash_line_value(p, (size_t)(nl - p), "environment",
		    &v, &vlen)) {
			if (!chars_valid(v, vlen, sizeof(ev->environment),
			    CHARS_ENVIRONMENT))
				return BS_ERR_INVALID;
			copy_span(ev->environment, sizeof(ev->environment), v,
			    vlen);
		} else if (crash_line_value(p, (size_t)(nl - p), "server_name",
		    &v, &vlen)) {
			if (!chars_valid(v, vlen, sizeof(ev->server_name),
			    CHARS_SERVER))
				return BS_ERR_INVALID;
			copy_span(ev->server_name, sizeof(ev->server_name), v,
			    vlen);
		} else if (crash_line_value(p, (size_t)(nl - p), "signal", &v,
		    &vlen)) {
			if (!crash_number(v, vlen, 10, 3, &n) ||
			    crash_signal_index((int)n) < 0)
				return BS_ERR_INVALID;
			ev->signal = (int)n;
			have_signal = true;
		} else if (crash_line_value(p, (size_t)(nl - p), "origin", &v,
		    &vlen)) {
			for (i = 0; i <= REPORT_ORIGIN_KILL; i++)
				if (strlen(origin_names[i]) == vlen &&
				    memcmp(origin_names[i], v, vlen) == 0)
					break;
			if (i > REPORT_ORIGIN_KILL)
				return BS_ERR_INVALID;
			ev->origin = (enum report_origin)i;
		} else if (crash_line_value(p, (size_t)(nl - p), "time", &v,
		    &vlen)) {
			if (!crash_number(v, vlen, 10, 12, &n) || n == 0)
				return BS_ERR_INVALID;
			ev->time_ms = (long long)n * 1000;
			have_time = true;
		} else if (crash_line_value(p, (size_t)(nl - p), "addr", &v,
		    &vlen)) {
			if (vlen < 3 || strncmp(v, "0x", 2) != 0 ||
			    !crash_number(v + 2, vlen - 2, 16, 16, &n))
				return BS_ERR_INVALID;
			snprintf(ev->fault_addr, sizeof(ev->fault_addr), "0x%llx",
			    n);
		}
		/* Other keys: a newer version's; ignored. */
	}
	return have_signal && have_time ? BS_OK : BS_ERR_INVALID;
}

/* ---- sending ------------------------------------------------------------ */

static size_t
discard_body(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

/* Retry-After in seconds (a 429's), into *(long *)arg. */
static size_t
header_retry_after(char *data, size_t size, size_t nmemb, void *arg)
{
	size_t	 len = size * nmemb;
	const char	*p = data + 12, *errstr;
	size_t		 n;
	long		 v;

	if (len > 12 && len < 12 + 32 &&
	    strncasecmp(data, "Retry-After:", 12) == 0) {
		n = len - 12;
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r' ||
		    p[n - 1] == '\n'))
			n--;
		v = (long)bs_strntonum(p, n, 0, LONG_MAX, &errstr);
		if (errstr == NULL)
			*(long *)arg = v;
	}
	return len;
}

/* The sender thread's own: its curl handle and the endpoint's backoff. */
struct sender {
	CURL			*curl;
	struct curl_slist	*headers;
	long long		 backoff_until_ms;	/* monotonic */
	struct buf		 envelope;
};

static enum report_outcome
sender_post(struct sender *s, const struct report_event *ev,
    long long deadline_ms)
{
	long		 code = 0, retry_after = -1, timeout = REPORT_TIMEOUT_MS;
	long long	 now = bs_monotonic_ms();
	char		 curl_err[CURL_ERROR_SIZE] = "";
	CURLcode	 rc;

	if (now < s->backoff_until_ms)
		return OUTCOME_RATE_LIMITED;
	if (deadline_ms > 0) {
		if (now >= deadline_ms)
			return OUTCOME_DROPPED;
		if (deadline_ms - now < timeout)
			timeout = (long)(deadline_ms - now);
	}
	buf_reset(&s->envelope);
	if (report_envelope_build(&rep.dsn, ev, bs_clock_ms(CLOCK_REALTIME),
	    &s->envelope) != BS_OK) {
		log_msgf(LOG_LEVEL_WARN, "error report: the envelope could not "
		    "be built");
		return OUTCOME_FAILED;
	}
	curl_easy_reset(s->curl);	/* keeps the connection */
	if (curl_easy_setopt(s->curl, CURLOPT_URL, rep.url) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, s->envelope.data) !=
	    CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)s->envelope.len) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers) !=
	    CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_USERAGENT, REPORT_CLIENT) !=
	    CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout < REPORT_CONNECT_TIMEOUT_MS ? timeout :
	    (long)REPORT_CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, discard_body) !=
	    CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION,
	    header_retry_after) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, &retry_after) !=
	    CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, curl_err) !=
	    CURLE_OK) {
		log_msgf(LOG_LEVEL_WARN, "error report: curl refused an option");
		return OUTCOME_FAILED;
	}
	rc = curl_easy_perform(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		log_msgf(LOG_LEVEL_WARN, "error report not sent to %s: %s",
		    rep.dsn.host, curl_err[0] != '\0' ? curl_err :
		    curl_easy_strerror(rc));
		return OUTCOME_FAILED;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code <= 299)
		return OUTCOME_SENT;
	if (code == 429) {
		if (retry_after < 0)
			retry_after = REPORT_BACKOFF_DEFAULT_S;
		if (retry_after > REPORT_BACKOFF_MAX_S)
			retry_after = REPORT_BACKOFF_MAX_S;
		s->backoff_until_ms = bs_monotonic_ms() + retry_after * 1000;
		log_msgf(LOG_LEVEL_WARN, "error reports: %s answered 429; none "
		    "sent for %ld s", rep.dsn.host, retry_after);
		return OUTCOME_RATE_LIMITED;
	}
	log_msgf(LOG_LEVEL_WARN, "error report refused by %s: HTTP %ld",
	    rep.dsn.host, code);
	return OUTCOME_FAILED;
}

/* Complete ev with who sends it and an id, send it, count the outcome. */
static enum report_outcome
sender_deliver(struct sender *s, struct report_event *ev, long long deadline_ms)
{
	enum report_outcome	 o;

	report_event_id_new(ev->event_id);
	if (ev->release[0] == '\0')
		snprintf(ev->release, sizeof(ev->release), "%s", rep.release);
	if (ev->environment[0] == '\0')
		snprintf(ev->environment, sizeof(ev->environment), "%s",
		    rep.environment);
	if (ev->server_name[0] == '\0')
		snprintf(ev->server_name, sizeof(ev->server_name), "%s",
		    rep.server_name);
	o = sender_post(s, ev, deadline_ms);
	metrics_error_report(kind_names[ev->kind], outcome_names[o]);
	return o;
}

/*
 * A crash file's name, plain (crash-PID-TIME.report) or claimed by a
 * process that died while sending it (...report.sending-PID): its plain
 * name into original, or false when it is not ours to take.
 */
static bool
crash_name_claimable(const char *name, char *original, size_t originallen)
{
	const char		*suffix, *claim;
	size_t			 len = strlen(name), base;
	unsigned long long	 pid;

	if (len >= REPORT_NAME_MAX || strncmp(name, CRASH_PREFIX,
	    strlen(CRASH_PREFIX)) != 0)
		return false;
	if ((suffix = strstr(name, CRASH_SUFFIX)) == NULL)
		return false;
	base = (size_t)(suffix - name) + strlen(CRASH_SUFFIX);
	if (!chars_valid(name + strlen(CRASH_PREFIX), (size_t)(suffix - name) -
	    strlen(CRASH_PREFIX), REPORT_NAME_MAX, "-"))
		return false;
	if (base < len) {
		claim = name + base;
		if (strncmp(claim, CRASH_CLAIM, strlen(CRASH_CLAIM)) != 0 ||
		    !crash_number(claim + strlen(CRASH_CLAIM),
		    strlen(claim + strlen(CRASH_CLAIM)), 10, 10, &pid))
			return false;
		if ((pid_t)pid == getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			return false;	/* ours, or its sender still runs */
	}
	return copy_span(original, originallen, name, base);
}

/* Read a claimed crash file: at most REPORT_CRASH_FILE_MAX bytes. */
static bs_err
crash_file_read(const char *path, char *text, size_t textlen, size_t *len)
{
	struct stat	 st;
	ssize_t		 r;
	int		 fd;
	bs_err		 e = BS_ERR_IO;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return BS_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size < 0 || (size_t)st.st_size >= textlen) {
		e = BS_ERR_TOO_LARGE;
		goto out;
	}
	while (*len < textlen - 1) {
		r = read(fd, text + *len, textlen - 1 - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	text[*len] = '\0';
	e = BS_OK;
out:
	close(fd);
	return e;
}

static void
crash_log(const struct report_event *ev)
{
	json_object	*f = json_object_new_object();
	int		 i = crash_signal_index(ev->signal);
	char		 when[TIME_LEN];

	time_format(ev->time_ms, when, sizeof(when));
	json_object_object_add(f, "signal", json_object_new_string(
	    i >= 0 ? crash_signals[i].name : "?"));
	json_object_object_add(f, "origin", json_object_new_string(
	    origin_names[ev->origin]));
	json_object_object_add(f, "crashed_at", json_object_new_string(when));
	if (ev->release[0] != '\0')
		json_object_object_add(f, "release",
		    json_object_new_string(ev->release));
	log_write(LOG_LEVEL_ERROR, "an earlier worker crashed; reporting it", f);
}

static bool
sender_stopping(long long *deadline_ms)
{
	bool	 stopping;

	pthread_mutex_lock(&rep.lock);
	stopping = rep.stopping;
	*deadline_ms = rep.stopping ? rep.stop_deadline_ms : 0;
	pthread_mutex_unlock(&rep.lock);
	return stopping;
}

/* dir/name, or dir/name.sending-PID when claimed by this process. */
static bool
crash_file_path(char *out, size_t outlen, const char *name, bool claimed)
{
	int	 n;

	if (claimed)
		n = snprintf(out, outlen, "%s/%s" CRASH_CLAIM "%ld",
		    rep.crash_dir, name, (long)getpid());
	else
		n = snprintf(out, outlen, "%s/%s", rep.crash_dir, name);
	return n >= 0 && (size_t)n < outlen;
}

/*
 * Send the crash files of earlier runs: each claimed first by a rename
 * (so two workers starting together send it once), deleted once sent. At
 * the first that cannot be sent the rest go back for the next start; one
 * that is not a crash report is removed.
 */
static void
sender_crash_files(struct sender *s)
{
	DIR			*d;
	struct dirent		*de;
	struct report_event	 ev;
	char			 names[REPORT_CRASH_FILES_MAX][REPORT_NAME_MAX];
	char			 from[sizeof(rep.crash_dir) + REPORT_NAME_MAX + 32];
	char			 to[sizeof(from)];
	char			 text[REPORT_CRASH_FILE_MAX + 1];
	size_t			 len, n = 0, i;
	long long		 deadline;
	bool			 sending = true;

	if (rep.crash_dir[0] == '\0' || (d = opendir(rep.crash_dir)) == NULL)
		return;
	while (n < REPORT_CRASH_FILES_MAX && (de = readdir(d)) != NULL) {
		if (!crash_name_claimable(de->d_name, names[n], sizeof(names[n])))
			continue;
		if (crash_file_path(from, sizeof(from), de->d_name, false) &&
		    crash_file_path(to, sizeof(to), names[n], true) &&
		    rename(from, to) == 0)
			n++;		/* else another worker took it */
	}
	closedir(d);
	/* Each name fitted when it was claimed: the paths fit again. */
	for (i = 0; i < n; i++) {
		(void)crash_file_path(from, sizeof(from), names[i], true);
		(void)crash_file_path(to, sizeof(to), names[i], false);
		if (!sending) {
			rename(from, to);
			continue;
		}
		if (crash_file_read(from, text, sizeof(text), &len) != BS_OK ||
		    report_crash_parse(text, len, &ev) != BS_OK) {
			log_msgf(LOG_LEVEL_WARN, "%s/%s is not a crash report; "
			    "removed", rep.crash_dir, names[i]);
			unlink(from);
			continue;
		}
		crash_log(&ev);
		sender_stopping(&deadline);
		if (sender_deliver(s, &ev, deadline) == OUTCOME_SENT) {
			unlink(from);
			continue;
		}
		sending = false;
		rename(from, to);
	}
}

static void *
sender_main(void *arg)
{
	struct sender		 s = { 0 };
	struct report_event	 ev;
	char			 header[REPORT_AUTH_MAX + 32];
	struct curl_slist	*h;
	long long		 deadline;
	const char		*headers[3];
	size_t			 i;
	bool			 ok;

	(void)arg;
	/* "Expect:" off: no wait for a 100 Continue some receivers never send. */
	snprintf(header, sizeof(header), "X-Sentry-Auth: %s", rep.auth);
	headers[0] = "Content-Type: application/x-sentry-envelope";
	headers[1] = header;
	headers[2] = "Expect:";
	buf_init(&s.envelope, REPORT_ENVELOPE_MAX);
	ok = (s.curl = curl_easy_init()) != NULL;
	for (i = 0; ok && i < sizeof(headers) / sizeof(headers[0]); i++) {
		if ((h = curl_slist_append(s.headers, headers[i])) == NULL)
			ok = false;
		else
			s.headers = h;
	}
	if (!ok) {
		log_msgf(LOG_LEVEL_ERROR, "error reports: curl could not be set "
		    "up; reports are off");
		atomic_store(&rep.on, false);
		pthread_mutex_lock(&rep.lock);
		rep.count = 0;	/* what was queued meanwhile goes unsent */
		pthread_mutex_unlock(&rep.lock);
		goto out;
	}
	sender_crash_files(&s);
	for (;;) {
		pthread_mutex_lock(&rep.lock);
		while (rep.count == 0 && !rep.stopping)
			pthread_cond_wait(&rep.wake, &rep.lock);
		if (rep.count == 0) {
			pthread_mutex_unlock(&rep.lock);
			break;
		}
		ev = rep.queue[rep.head];
		rep.head = (rep.head + 1) % REPORT_QUEUE_MAX;
		rep.count--;
		deadline = rep.stopping ? rep.stop_deadline_ms : 0;
		pthread_mutex_unlock(&rep.lock);
		sender_deliver(&s, &ev, deadline);
	}
out:
	curl_slist_free_all(s.headers);
	if (s.curl != NULL)
		curl_easy_cleanup(s.curl);
	buf_free(&s.envelope);
	return NULL;
}

/* ---- the worker's interface --------------------------------------------- */

void
report_http_error(const char *request_id, const char *method,
    const char *route, int status)
{
	struct report_event	 ev;
	enum report_outcome	 o = OUTCOME_SENT;

	if (!atomic_load(&rep.on))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = REPORT_HTTP_5XX;
	ev.time_ms = bs_clock_ms(CLOCK_REALTIME);
	ev.status = status;
	if (request_id != NULL)
		snprintf(ev.request_id, sizeof(ev.request_id), "%s", request_id);
	snprintf(ev.method, sizeof(ev.method), "%s", method != NULL ? method :
	    "OTHER");
	snprintf(ev.route, sizeof(ev.route), "%s", route != NULL ? route :
	    "unmatched");
	pthread_mutex_lock(&rep.lock);
	if (rep.stopping)
		o = OUTCOME_DROPPED;
	else if (!report_limiter_admit(&rep.limiter, &ev, bs_monotonic_ms()))
		o = OUTCOME_RATE_LIMITED;
	else if (rep.count == REPORT_QUEUE_MAX)
		o = OUTCOME_DROPPED;
	else {
		rep.queue[(rep.head + rep.count) % REPORT_QUEUE_MAX] = ev;
		rep.count++;
		pthread_cond_signal(&rep.wake);
	}
	pthread_mutex_unlock(&rep.lock);
	if (o != OUTCOME_SENT)
		metrics_error_report(kind_names[REPORT_HTTP_5XX], outcome_names[o]);
}

/* Make dir (one level) if missing; true when this process may write there. */
static bool
crash_dir_ready(const char *dir, char *err, size_t errlen)
{
	struct stat	 st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		bs_errf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return false;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    access(dir, W_OK | X_OK) != 0) {
		bs_errf(err, errlen, "%s is not a directory this worker can "
		    "write", dir);
		return false;
	}
	return true;
}

static void
server_name_get(char *out, size_t outlen)
{
	char	 host[256];

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (!chars_valid(host, strlen(host), outlen, CHARS_SERVER))
		snprintf(host, sizeof(host), "unknown");
	snprintf(out, outlen, "%s", host);
}

bs_err
report_start(const struct bs_config *cfg, char *err, size_t errlen)
{
	sigset_t	 all, old;
	char		 why[256];
	size_t		 i;
	int		 rc;

	if (cfg->sentry_dsn == NULL || cfg->sentry_dsn[0] == '\0')
		return BS_OK;
	if (rep.started) {
		bs_errf(err, errlen, "error reports are already on");
		return BS_ERR_INVALID;
	}
	if (report_dsn_parse(cfg->sentry_dsn, &rep.dsn, why, sizeof(why)) !=
	    BS_OK) {
		bs_errf(err, errlen, "SENTRY_DSN: %s", why);
		return BS_ERR_CONFIG;
	}
	if (report_dsn_envelope_url(&rep.dsn, rep.url, sizeof(rep.url)) != BS_OK ||
	    report_dsn_auth(&rep.dsn, REPORT_CLIENT, rep.auth,
	    sizeof(rep.auth)) != BS_OK) {
		bs_errf(err, errlen, "SENTRY_DSN is too long");
		return BS_ERR_CONFIG;
	}
	snprintf(rep.release, sizeof(rep.release), "%s",
	    cfg->sentry_release != NULL && cfg->sentry_release[0] != '\0' ?
	    cfg->sentry_release : "brainstorm@" PACKAGE_VERSION);
	snprintf(rep.environment, sizeof(rep.environment), "%s",
	    cfg->sentry_environment != NULL && cfg->sentry_environment[0] !=
	    '\0' ? cfg->sentry_environment : config_app_env_name(cfg->app_env));
	server_name_get(rep.server_name, sizeof(rep.server_name));
	snprintf(rep.crash_dir, sizeof(rep.crash_dir), "%s",
	    cfg->sentry_crash_dir != NULL ? cfg->sentry_crash_dir : "");
	/* No trailing "/": file names are joined with one. */
	for (i = strlen(rep.crash_dir); i > 1 && rep.crash_dir[i - 1] == '/'; i--)
		rep.crash_dir[i - 1] = '\0';

	if (rep.crash_dir[0] != '\0' && (!crash_dir_ready(rep.crash_dir, why,
	    sizeof(why)) || report_crash_handlers_install(rep.crash_dir,
	    rep.release, rep.environment, rep.server_name, why,
	    sizeof(why)) != BS_OK)) {
		log_msgf(LOG_LEVEL_WARN, "SENTRY_CRASH_DIR: %s; crashes will not "
		    "be reported", why);
		rep.crash_dir[0] = '\0';
	}

	memset(&rep.limiter, 0, sizeof(rep.limiter));
	rep.head = rep.count = 0;
	rep.stopping = false;
	/*
	 * The sender takes no process signal: SIGTERM and SIGHUP belong to
	 * the thread that sigwaits for them (server.c). Faults stay open.
	 */
	sigfillset(&all);
	for (i = 0; i < NCRASH_SIGNALS; i++)
		sigdelset(&all, crash_signals[i].sig);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_store(&rep.on, true);
	rc = pthread_create(&rep.thread, NULL, sender_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		atomic_store(&rep.on, false);
		bs_errf(err, errlen, "cannot start the error report thread: %s",
		    strerror(rc));
		return BS_ERR_INTERNAL;
	}
	(void)pthread_setname_np(rep.thread, "bs-report");
	rep.started = true;
	log_msgf(LOG_LEVEL_INFO, "error reports go to %s, project %s (release "
	    "%s, environment %s)%s", rep.dsn.host, rep.dsn.project_id,
	    rep.release, rep.environment, rep.crash_dir[0] != '\0' ?
	    ", crashes included" : "");
	return BS_OK;
}

void
report_stop(void)
{
	if (!rep.started)
		return;
	atomic_store(&rep.on, false);
	pthread_mutex_lock(&rep.lock);
	rep.stopping = true;
	rep.stop_deadline_ms = bs_monotonic_ms() + REPORT_DRAIN_MS;
	pthread_cond_signal(&rep.wake);
	pthread_mutex_unlock(&rep.lock);
	pthread_join(rep.thread, NULL);
	rep.started = false;
}

bs_err
report_config_check(const struct bs_config *cfg, char *err, size_t errlen)
{
	struct report_dsn	 dsn;
	char			 why[96];
	const char		*s;

	s = cfg->sentry_dsn != NULL ? cfg->sentry_dsn : "";
	if (*s != '\0' && report_dsn_parse(s, &dsn, why, sizeof(why)) != BS_OK) {
		bs_errf(err, errlen, "SENTRY_DSN: %s", why);
		return BS_ERR_CONFIG;
	}
	s = cfg->sentry_environment != NULL ? cfg->sentry_environment : "";
	if (*s != '\0' && !chars_valid(s, strlen(s), 64, CHARS_ENVIRONMENT)) {
		bs_errf(err, errlen, "SENTRY_ENVIRONMENT: at most 63 letters, "
		    "digits, '.', '_' or '-'");
		return BS_ERR_CONFIG;
	}
	s = cfg->sentry_release != NULL ? cfg->sentry_release : "";
	if (*s != '\0' && !chars_valid(s, strlen(s), 128, CHARS_RELEASE)) {
		bs_errf(err, errlen, "SENTRY_RELEASE: at most 127 letters, "
		    "digits, '.', '_', '-', '@', '+' or ':'");
		return BS_ERR_CONFIG;
	}
	s = cfg->sentry_crash_dir != NULL ? cfg->sentry_crash_dir : "";
	if (*s != '\0' && (s[0] != '/' || strlen(s) > REPORT_DIR_MAX ||
	    strpbrk(s, "\n\r\t") != NULL)) {
		bs_errf(err, errlen, "SENTRY_CRASH_DIR: an absolute path of at "
		    "most %d bytes, or empty", REPORT_DIR_MAX);
		return BS_ERR_CONFIG;
	}
	return BS_OK;
}
