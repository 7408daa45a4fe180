/*
 * The Claude Messages API client. Calls run on a loop (struct llm_loop):
 * one curl multi handle driven by one thread, each call on its own easy
 * handle, retried with backoff as its failure allows, and every batch of
 * calls bounded by its own deadline. Many batches (the stages of many
 * turns) share one loop; llm_batch_run is one batch on a private loop, run
 * to its end in the calling thread.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>

#include "brainstorm/clock.h"
#include "brainstorm/json.h"
#include "brainstorm/llm.h"
#include "brainstorm/log.h"
#include "brainstorm/validate.h"

#define LLM_MESSAGES_PATH	"/v1/messages"
#define LLM_ERROR_BODY_MAX	(64 * 1024)	/* an error body is small */
#define LLM_REQUEST_BODY_MAX	(32 * 1024 * 1024) /* the API's own limit */
#define LLM_RETRY_AFTER_MAX_S	86400
#define LLM_ATTEMPTS_MAX	10
#define LLM_POLL_MAX_MS		1000
#define LLM_LOOP_EVENTS		256	/* sockets handled per epoll_wait */
#define LLM_KEY_REDACTED	"[redacted]"
#define LLM_KEY_PREFIX_MIN	8	/* a cut-off key tail this long is hidden too */
#define LLM_REQUEST_ID_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
				"0123456789_-."
#define LLM_PATH_MAX		1024
#define LLM_PACE_MODELS		8	/* models a loop paces at once */
#define LLM_PACE_MAX_MS		60000	/* a per-minute limit is back within it */
#define LLM_PACE_PROBE_MS	1000	/* none left, the window's end not known */
#define LLM_PACE_SLACK_MS	1000	/* resets this close: the same window */
#define LLM_RATELIMIT_PREFIX	"anthropic-ratelimit-"

/*
 * The limits the API reports, anthropic-ratelimit-KIND-{limit,remaining,
 * reset}; the first counts requests, the others tokens.
 */
static const char *const llm_limit_kinds[] = {
	"requests", "tokens", "input-tokens", "output-tokens"
};
#define LLM_LIMIT_KINDS	(sizeof(llm_limit_kinds) / sizeof(llm_limit_kinds[0]))

/* Read-only once made: shared by every thread without a lock. */
struct llm_client {
	char			*base;		/* base_url without its trailing "/" */
	char			*url;		/* base + LLM_MESSAGES_PATH */
	char			*api_key;	/* kept only to scrub it from errors */
	const char		*api_version;	/* one of the LLM_API_VERSION_* */
	struct curl_slist	*headers;	/* read, never changed, by curl */
	long			 per_call_timeout_ms;
	long			 connect_timeout_ms;
	int			 max_attempts;
	long			 backoff_base_ms;
	long			 backoff_max_ms;
	size_t			 max_response_bytes;
	int			 max_json_depth;
	void			(*observe)(void *, const struct llm_call *);
	void			*observe_arg;
};

enum llm_slot_state {
	LLM_SLOT_WAITING = 0,	/* in the retry heap: the first try or a retry */
	LLM_SLOT_RUNNING,
	LLM_SLOT_DONE
};

#define LLM_TIMER_OFF	SIZE_MAX	/* a timer in no heap */

/* A due time in one of the loop's heaps; pos is its index there. */
struct llm_timer {
	long long	 at;		/* ms, monotonic */
	size_t		 pos;		/* LLM_TIMER_OFF outside the heap */
};

/*
 * A binary min-heap of timers, allocated to the loop's cap when the loop
 * is made, so that a push never fails. Each timer knows its place, so one
 * leaves (a cancelled retry, a finished batch) in O(log n).
 */
struct llm_heap {
	struct llm_timer	**v;
	size_t			  n;
	size_t			  cap;
};

struct llm_batch;

/* One call's machinery inside a batch; the loop's thread owns it all. */
struct llm_slot {
	const struct llm_client	*client;
	struct llm_batch	*batch;
	struct llm_call		*call;
	CURL			*easy;
	enum llm_slot_state	 state;
	struct llm_timer	 start;		/* when WAITING: the attempt's start */
	long long		 held_since;	/* ms: waiting for the rate limit, 0 */
	struct buf		 body;		/* the request, sent by every attempt */
	bool			 delivered;	/* text went to the caller: no retry */
	char			 last[LLM_ERROR_MAX]; /* the failure a retry follows */
	/* One attempt. */
	struct buf		 answer;	/* non-streamed or error body */
	struct llm_stream	*stream;	/* a streamed 200 */
	bool			 writing;	/* the body has begun */
	bool			 error_body;	/* a non-200 body, read for its message */
	bool			 event_stream;	/* content-type text/event-stream */
	long			 retry_after_ms;	/* retry-after-ms, -1: none usable */
	long			 retry_after_s_ms;	/* retry-after, -1: none usable */
	int			 should_retry;	/* x-should-retry: -1 none, 0, 1 */
	/* By llm_limit_kinds: the limit, what is left, when all is back
	 * (epoch ms); -1, -1, 0 when the answer did not say. */
	long			 limit_max[LLM_LIMIT_KINDS];
	long			 limit_left[LLM_LIMIT_KINDS];
	long long		 limit_reset_ms[LLM_LIMIT_KINDS];
	enum llm_error_kind	 local_kind;	/* our own abort of the transfer */
	char			 local[LLM_ERROR_MAX];
	char			 curl_err[CURL_ERROR_SIZE];
};

/* Why a batch's unfinished calls are cut off. */
enum llm_cut {
	LLM_CUT_DEADLINE = 0,
	LLM_CUT_CANCEL,
	LLM_CUT_SHUTDOWN
};

/* Calls added together, one done callback when the last has ended. */
struct llm_batch {
	struct llm_loop		*loop;
	struct llm_slot		*slots;
	size_t			 n;
	size_t			 unfinished;
	long long		 t0;		/* ms, monotonic: latencies count from it */
	long			 deadline_ms;	/* as asked, for the messages */
	/* In the deadline heap while calls are unfinished; LLONG_MIN once cancelled. */
	struct llm_timer	 deadline;
	bool			 cancelled;
	void			(*done)(void *);
	void			*arg;
	struct llm_batch	*next_finished;	/* the loop's list of batches to call */
};

/*
 * Owned by the thread that runs it: only llm_loop_wakeup may be called
 * from another thread (it only writes to the eventfd).
 *
 * curl's multi_socket API on epoll: curl says which sockets to watch
 * (llm_loop_socket_cb) and when its next timeout is due
 * (llm_loop_timer_cb), and each iteration hands curl only the sockets
 * that are ready. curl_multi_poll would instead poll every socket and
 * curl_multi_perform visit every transfer on each iteration: with 1,500
 * calls in flight that was most of the loop's CPU time.
 */
struct llm_loop {
	const struct llm_client	*client;
	CURLM			*multi;
	int			 epfd;		/* curl's sockets and wakefd */
	int			 wakefd;	/* eventfd: llm_loop_wakeup */
	long long		 curl_at;	/* curl's next timeout, -1: none */
	size_t			 max_calls;
	size_t			 calls;		/* added, not yet ended */
	size_t			 batches;	/* added, done not yet called */
	struct llm_heap		 retries;	/* WAITING slots by start time */
	struct llm_heap		 deadlines;	/* live batches by deadline */
	/* Every call ended, done not yet called: first in, first called. */
	struct llm_batch	*finished;
	struct llm_batch	*finished_tail;
	bool			 closing;	/* in llm_loop_destroy: adds refused */
	/*
	 * What the API last said of each model's rate limits: requests that
	 * may still start in its window, and when the window ends. Calls wait
	 * for room there instead of each spending an attempt on a 429.
	 */
	struct llm_pace {
		char		 model[LLM_ID_MAX];	/* "": a free entry */
		long long	 used;		/* ms, monotonic: the oldest goes */
		long		 max;		/* requests-limit, -1: not said */
		long		 left;		/* to start, -1: not known */
		long long	 reset;		/* ms, monotonic, 0: not known */
		const char	*why;		/* the limit that is spent */
		bool		 held;		/* a hold was logged */
	}			 pace[LLM_PACE_MODELS];
};

#define LLM_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static bs_err
llm_heap_init(struct llm_heap *h, size_t cap)
{
	h->n = 0;
	h->cap = cap;
	if ((h->v = calloc(cap, sizeof(*h->v))) == NULL)
		return BS_ERR_NOMEM;
	return BS_OK;
}

static void
llm_heap_set(struct llm_heap *h, size_t i, struct llm_timer *t)
{
	h->v[i] = t;
	t->pos = i;
}

/* Move the timer at i up or down to its place. */
static void
llm_heap_sift(struct llm_heap *h, size_t i)
{
	struct llm_timer	*t = h->v[i];
	size_t			 child;

	while (i > 0 && h->v[(i - 1) / 2]->at > t->at) {
		llm_heap_set(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		child = 2 * i + 1;
		if (child >= h->n)
			break;
		if (child + 1 < h->n && h->v[child + 1]->at < h->v[child]->at)
			child++;
		if (h->v[child]->at >= t->at)
			break;
		llm_heap_set(h, i, h->v[child]);
		i = child;
	}
	llm_heap_set(h, i, t);
}

/* The heap holds the loop's cap of timers, and no more ever wait: no failure. */
static void
llm_heap_push(struct llm_heap *h, struct llm_timer *t)
{
	if (h->n >= h->cap)
		return;		/* unreachable: the loop's cap bounds both heaps */
	llm_heap_set(h, h->n++, t);
	llm_heap_sift(h, t->pos);
}

static void
llm_heap_remove(struct llm_heap *h, struct llm_timer *t)
{
	size_t	 i = t->pos;

	if (i == LLM_TIMER_OFF || i >= h->n || h->v[i] != t)
		return;
	t->pos = LLM_TIMER_OFF;
	if (i == --h->n)
		return;
	llm_heap_set(h, i, h->v[h->n]);
	llm_heap_sift(h, i);
}

/* t's time changed: back to its place. */
static void
llm_heap_fix(struct llm_heap *h, struct llm_timer *t)
{
	if (t->pos != LLM_TIMER_OFF && t->pos < h->n && h->v[t->pos] == t)
		llm_heap_sift(h, t->pos);
}

static struct llm_timer *
llm_heap_top(const struct llm_heap *h)
{
	return h->n > 0 ? h->v[0] : NULL;
}

bs_err
llm_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return BS_ERR_INTERNAL;
	if (sodium_init() < 0)
		return BS_ERR_INTERNAL;
	return BS_OK;
}

void
llm_global_cleanup(void)
{
	curl_global_cleanup();
}

void
llm_call_init(struct llm_call *call, const struct llm_request *req)
{
	memset(call, 0, sizeof(*call));
	call->req = req;
	llm_response_init(&call->res, LLM_DEFAULT_MAX_TOTAL);
}

void
llm_call_free(struct llm_call *call)
{
	if (call == NULL)
		return;
	llm_response_free(&call->res);
}

static bool
llm_header_value_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strpbrk(s, "\r\n") == NULL;
}

bs_err
llm_client_new(const struct llm_client_options *opt, struct llm_client **out,
    char *err, size_t errlen)
{
	struct llm_client	*c = NULL;
	struct curl_slist	*h;
	struct buf		 line;
	const char		*version;
	size_t			 blen;
	bool			 bearer;
	bs_err			 e = BS_ERR_INVALID;

	*out = NULL;
	buf_init(&line, 8192);
	if (opt == NULL || opt->base_url == NULL ||
	    (strncmp(opt->base_url, "http://", 7) != 0 &&
	    strncmp(opt->base_url, "https://", 8) != 0) ||
	    !llm_header_value_ok(opt->base_url) ||
	    strpbrk(opt->base_url, " \t") != NULL) {
		bs_errf(err, errlen, "CLAUDE_BASE_URL must be an http:// or "
		    "https:// URL");
		goto out;
	}
	if (!llm_header_value_ok(opt->api_key)) {
		bs_errf(err, errlen, "the Claude API key is missing or has a "
		    "line break");
		goto out;
	}
	/* A version picks the auth header, as the official SDKs pair them. */
	version = opt->api_version != NULL ? opt->api_version :
	    LLM_API_VERSION_CURRENT;
	if (strcmp(version, LLM_API_VERSION_CURRENT) == 0) {
		version = LLM_API_VERSION_CURRENT;
		bearer = true;
	} else if (strcmp(version, LLM_API_VERSION_LEGACY) == 0) {
		version = LLM_API_VERSION_LEGACY;
		bearer = false;
	} else {
		bs_errf(err, errlen, "CLAUDE_API_VERSION must be "
		    LLM_API_VERSION_CURRENT " or " LLM_API_VERSION_LEGACY);
		goto out;
	}
	if (opt->per_call_timeout_ms < 0 || opt->connect_timeout_ms < 0 ||
	    opt->max_attempts < 0 || opt->max_attempts > LLM_ATTEMPTS_MAX ||
	    opt->backoff_base_ms < 0 || opt->backoff_max_ms < 0 ||
	    opt->max_json_depth < 0) {
		bs_errf(err, errlen, "negative timeout, attempts over %d, or "
		    "negative backoff", LLM_ATTEMPTS_MAX);
		goto out;
	}
	if (sodium_init() < 0) {	/* idempotent and thread-safe */
		bs_errf(err, errlen, "libsodium failed to initialise");
		e = BS_ERR_INTERNAL;
		goto out;
	}
	e = BS_ERR_NOMEM;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto nomem;
	blen = strlen(opt->base_url);
	while (blen > 0 && opt->base_url[blen - 1] == '/')
		blen--;
	if (buf_append(&line, opt->base_url, blen) != BS_OK ||
	    (c->base = strdup(buf_cstr(&line))) == NULL ||
	    buf_puts(&line, LLM_MESSAGES_PATH) != BS_OK ||
	    (c->url = strdup(buf_cstr(&line))) == NULL ||
	    (c->api_key = strdup(opt->api_key)) == NULL)
		goto nomem;
	c->api_version = version;
	buf_reset(&line);
	if ((bearer ? buf_printf(&line, "Authorization: Bearer %s",
	    opt->api_key) : buf_printf(&line, "x-api-key: %s", opt->api_key)) !=
	    BS_OK || (h = curl_slist_append(NULL, buf_cstr(&line))) == NULL)
		goto nomem;
	c->headers = h;
	buf_reset(&line);
	/* "Expect:" stops curl waiting for a 100 Continue on large bodies. */
	if (buf_printf(&line, "anthropic-version: %s", version) != BS_OK ||
	    curl_slist_append(h, buf_cstr(&line)) == NULL ||
	    curl_slist_append(h, "content-type: application/json") == NULL ||
	    curl_slist_append(h, "Expect:") == NULL)
		goto nomem;
	c->per_call_timeout_ms = opt->per_call_timeout_ms > 0 ?
	    opt->per_call_timeout_ms : LLM_DEFAULT_CALL_TIMEOUT_MS;
	c->connect_timeout_ms = opt->connect_timeout_ms > 0 ?
	    opt->connect_timeout_ms : LLM_DEFAULT_CONNECT_TIMEOUT_MS;
	c->max_attempts = opt->max_attempts > 0 ? opt->max_attempts :
	    LLM_DEFAULT_MAX_ATTEMPTS;
	c->backoff_base_ms = opt->backoff_base_ms > 0 ? opt->backoff_base_ms :
	    LLM_DEFAULT_BACKOFF_BASE_MS;
	c->backoff_max_ms = opt->backoff_max_ms > 0 ? opt->backoff_max_ms :
	    LLM_DEFAULT_BACKOFF_MAX_MS;
	if (c->backoff_max_ms < c->backoff_base_ms)
		c->backoff_max_ms = c->backoff_base_ms;
	c->max_response_bytes = opt->max_response_bytes > 0 ?
	    opt->max_response_bytes : LLM_DEFAULT_MAX_TOTAL;
	c->max_json_depth = opt->max_json_depth > 0 ? opt->max_json_depth :
	    LLM_DEFAULT_JSON_DEPTH;
	c->observe = opt->observe;
	c->observe_arg = opt->observe_arg;
	*out = c;
	c = NULL;
	e = BS_OK;
	goto out;
nomem:
	bs_errf(err, errlen, "out of memory");
out:
	/* The header line held the key: wipe it before it goes back. */
	if (line.data != NULL)
		sodium_memzero(line.data, line.cap);
	buf_free(&line);
	llm_client_free(c);
	return e;
}

void
llm_client_free(struct llm_client *c)
{
	if (c == NULL)
		return;
	curl_slist_free_all(c->headers);
	if (c->api_key != NULL)
		sodium_memzero(c->api_key, strlen(c->api_key));
	free(c->api_key);
	free(c->url);
	free(c->base);
	free(c);
}

const char *
llm_client_api_version(const struct llm_client *c)
{
	return c->api_version;
}

/*
 * Hide the key wherever a server or library echoed it, and a tail that is
 * the start of the key (an echo cut off by a length cap).
 */
static void
llm_redact(const struct llm_client *c, char *msg, size_t msglen)
{
	size_t	 klen = strlen(c->api_key), len, i, tail, off = 0;
	char	*p, out[LLM_ERROR_MAX];

	if (klen == 0 || msg == NULL || msglen == 0)
		return;
	while ((p = strstr(msg + off, c->api_key)) != NULL) {
		off = (size_t)(p - msg) + strlen(LLM_KEY_REDACTED);
		snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - msg), msg,
		    LLM_KEY_REDACTED, p + klen);
		snprintf(msg, msglen, "%s", out);
		if (off >= strlen(msg))
			break;
	}
	len = strlen(msg);
	for (i = len > klen ? len - klen : 0; i < len; i++) {
		tail = len - i;
		if (tail >= LLM_KEY_PREFIX_MIN && memcmp(msg + i, c->api_key,
		    tail) == 0) {
			snprintf(msg + i, msglen - i, "%s", LLM_KEY_REDACTED);
			break;
		}
	}
}

/* Scrub the key from a body before anything is read out of it. */
static void
llm_redact_buf(const struct llm_client *c, struct buf *b)
{
	size_t	 klen = strlen(c->api_key), i;

	if (klen == 0 || b->len < klen)
		return;
	for (i = 0; i + klen <= b->len; i++)
		if (memcmp(b->data + i, c->api_key, klen) == 0)
			memset(b->data + i, '*', klen);
}

/* A positive decimal number up to max, times scale and at least 1; -1 when it is not. */
static long
llm_wait_parse(const char *value, double max, double scale)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !(v > 0.0) ||
	    v > max)
		return -1;
	v *= scale;
	return v < 1.0 ? 1 : (long)v;
}

/* retry-after: seconds, or an HTTP date (curl_getdate reads all three forms). */
static long
llm_retry_after_parse(const char *value)
{
	time_t	 when, now;
	long	 ms;

	if ((ms = llm_wait_parse(value, LLM_RETRY_AFTER_MAX_S, 1000.0)) > 0)
		return ms;
	if ((when = curl_getdate(value, NULL)) == -1 ||
	    (now = time(NULL)) == (time_t)-1 || when <= now ||
	    when - now > LLM_RETRY_AFTER_MAX_S)
		return -1;	/* a date past or absurd: our own backoff */
	return (long)(when - now) * 1000;
}

long long
llm_rfc3339_ms(const char *v)
{
	struct tm	 tm;
	const char	*p;
	long long	 ms = 0, scale = 100;
	int		 n = 0, oh, om, sign;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(v, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6 || n != 19)
		return -1;
	p = v + n;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		oh = om = 0;
		p++;
	} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &oh,
	    &om, &n) == 2 && n == 5) {
		sign = *p == '-' ? -1 : 1;
		oh *= sign;
		om *= sign;
		p += 6;
	} else
		return -1;
	if (*p != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon--;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return ((long long)t - oh * 3600LL - om * 60LL) * 1000 + ms;
}

static void
llm_limit_clear(struct llm_slot *s)
{
	size_t	 i;

	for (i = 0; i < LLM_LIMIT_KINDS; i++) {
		s->limit_max[i] = -1;
		s->limit_left[i] = -1;
		s->limit_reset_ms[i] = 0;
	}
}

/* anthropic-ratelimit-NAME: NAME is KIND-limit, KIND-remaining or KIND-reset. */
static void
llm_limit_header(struct llm_slot *s, const char *name, size_t nlen,
    const char *value)
{
	enum { LIMIT_MAX, LIMIT_LEFT, LIMIT_RESET, LIMIT_PARTS };
	static const char *const suffixes[LIMIT_PARTS] = {
		[LIMIT_MAX] = "-limit", [LIMIT_LEFT] = "-remaining",
		[LIMIT_RESET] = "-reset"
	};
	const char	*errstr;
	size_t		 i, part, klen, slen;
	long		 n;

	for (part = 0; part < LIMIT_PARTS; part++) {
		slen = strlen(suffixes[part]);
		if (nlen > slen && strncasecmp(name + nlen - slen,
		    suffixes[part], slen) == 0)
			break;
	}
	if (part == LIMIT_PARTS)
		return;
	klen = nlen - strlen(suffixes[part]);
	for (i = 0; i < LLM_LIMIT_KINDS; i++) {
		if (strlen(llm_limit_kinds[i]) != klen ||
		    strncasecmp(name, llm_limit_kinds[i], klen) != 0)
			continue;
		if (part == LIMIT_RESET) {
			s->limit_reset_ms[i] = llm_rfc3339_ms(value);
			return;
		}
		n = (long)bs_strtonum(value, 0, LONG_MAX, &errstr);
		if (errstr != NULL)
			n = -1;
		if (part == LIMIT_MAX)
			s->limit_max[i] = n;
		else
			s->limit_left[i] = n;
		return;
	}
}

static size_t
llm_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct llm_slot	*s = arg;
	size_t		 len = size * nmemb, nlen, vlen;
	const char	*colon, *v;
	char		 value[LLM_ID_MAX];

	/* A new status line (after a 100 Continue) starts a new header set. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		s->retry_after_ms = -1;
		s->retry_after_s_ms = -1;
		s->should_retry = -1;
		llm_limit_clear(s);
		s->event_stream = false;
		s->call->request_id[0] = '\0';
		return len;
	}
	if ((colon = memchr(data, ':', len)) == NULL)
		return len;
	nlen = (size_t)(colon - data);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && strchr(" \t\r\n", v[vlen - 1]) != NULL)
		vlen--;
	if (vlen >= sizeof(value))
		return len;		/* none of ours is that long */
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	if (nlen == 14 && strncasecmp(data, "retry-after-ms", nlen) == 0)
		s->retry_after_ms = llm_wait_parse(value,
		    LLM_RETRY_AFTER_MAX_S * 1000.0, 1.0);
	else if (nlen == 11 && strncasecmp(data, "retry-after", nlen) == 0)
		s->retry_after_s_ms = llm_retry_after_parse(value);
	else if (nlen == 14 && strncasecmp(data, "x-should-retry", nlen) == 0)
		s->should_retry = strcmp(value, "true") == 0 ? 1 :
		    strcmp(value, "false") == 0 ? 0 : -1;
	else if (nlen == 12 && strncasecmp(data, "content-type", nlen) == 0)
		s->event_stream = strncasecmp(value, "text/event-stream", 17) == 0;
	else if (nlen == 10 && strncasecmp(data, "request-id", nlen) == 0 &&
	    strspn(value, LLM_REQUEST_ID_CHARS) == vlen)
		memcpy(s->call->request_id, value, vlen + 1);	/* safe to log */
	else if (nlen > strlen(LLM_RATELIMIT_PREFIX) && strncasecmp(data,
	    LLM_RATELIMIT_PREFIX, strlen(LLM_RATELIMIT_PREFIX)) == 0)
		llm_limit_header(s, data + strlen(LLM_RATELIMIT_PREFIX),
		    nlen - strlen(LLM_RATELIMIT_PREFIX), value);
	return len;
}

static size_t
llm_local_fail(struct llm_slot *s, enum llm_error_kind kind, const char *msg)
{
	s->local_kind = kind;
	snprintf(s->local, sizeof(s->local), "%s", msg);
	return 0;	/* any short count makes curl abort the transfer */
}

static size_t
llm_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct llm_slot			*s = arg;
	const struct llm_request	*req = s->call->req;
	struct llm_stream_options	 so;
	size_t				 len = size * nmemb;
	long				 status = 0;
	char				 msg[LLM_ERROR_MAX];

	if (!s->writing) {
		s->writing = true;
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
		if (req->stream && status == 200) {
			if (!s->event_stream)
				return llm_local_fail(s, LLM_ERR_MALFORMED,
				    "a streamed call was not answered with "
				    "text/event-stream");
			memset(&so, 0, sizeof(so));
			so.max_total = s->client->max_response_bytes;
			so.max_json_depth = s->client->max_json_depth;
			so.on_text = req->on_text;
			so.on_text_arg = req->on_text_arg;
			if (llm_stream_new(&so, &s->call->res, &s->stream) != BS_OK)
				return llm_local_fail(s, LLM_ERR_NETWORK,
				    "out of memory");
		} else if (status != 200) {
			/* An error body: small, and only read for its message. */
			s->error_body = true;
			s->answer.max = LLM_ERROR_BODY_MAX;
		}
	}
	if (s->stream != NULL) {
		if (llm_stream_feed(s->stream, data, len) != BS_OK) {
			snprintf(msg, sizeof(msg), "%s",
			    llm_stream_error(s->stream));
			return llm_local_fail(s, llm_stream_error_kind(s->stream),
			    msg);
		}
		return len;
	}
	if (buf_append(&s->answer, data, len) != BS_OK) {
		if (s->error_body)
			return len;	/* the message is in the first bytes */
		snprintf(msg, sizeof(msg), "the answer exceeds %zu bytes",
		    s->answer.max);
		return llm_local_fail(s, LLM_ERR_TOO_LARGE, msg);
	}
	return len;
}

static bs_err
llm_slot_easy(struct llm_slot *s)
{
	const struct llm_client	*c = s->client;
	CURL			*h;

	if ((h = curl_easy_init()) == NULL)
		return BS_ERR_NOMEM;
	s->easy = h;
	if (curl_easy_setopt(h, CURLOPT_URL, c->url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, s->body.data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)s->body.len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT,
	    PACKAGE_NAME "/" PACKAGE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->per_call_timeout_ms) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    c->connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)c->max_response_bytes) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, llm_header_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, llm_write_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->curl_err) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PRIVATE, s) != CURLE_OK)
		return BS_ERR_INTERNAL;
	return BS_OK;
}

static bs_err
llm_attempt_start(CURLM *multi, struct llm_slot *s)
{
	bs_err	 e;

	llm_stream_free(s->stream);
	s->stream = NULL;
	buf_free(&s->answer);
	buf_init(&s->answer, s->client->max_response_bytes);
	llm_response_reset(&s->call->res);
	s->call->http_status = 0;
	s->call->request_id[0] = '\0';
	s->writing = false;
	s->error_body = false;
	s->event_stream = false;
	s->retry_after_ms = -1;
	s->retry_after_s_ms = -1;
	s->should_retry = -1;
	llm_limit_clear(s);
	s->local_kind = LLM_ERR_NONE;
	s->local[0] = '\0';
	s->curl_err[0] = '\0';
	if (s->easy == NULL && (e = llm_slot_easy(s)) != BS_OK)
		return e;
	if (curl_multi_add_handle(multi, s->easy) != CURLM_OK)
		return BS_ERR_INTERNAL;
	s->call->attempts++;
	s->state = LLM_SLOT_RUNNING;
	return BS_OK;
}

static bs_err
llm_kind_err(enum llm_error_kind kind)
{
	switch (kind) {
	case LLM_ERR_NONE:
		return BS_OK;
	case LLM_ERR_TIMEOUT:
	case LLM_ERR_BUDGET:
		return BS_ERR_TIMEOUT;
	case LLM_ERR_RATE_LIMITED:
	case LLM_ERR_SPEND_CAP:
		return BS_ERR_RATE_LIMITED;
	case LLM_ERR_AUTH:
	case LLM_ERR_BILLING:
		return BS_ERR_UNAUTHORIZED;
	case LLM_ERR_NOT_FOUND:
		return BS_ERR_NOT_FOUND;
	case LLM_ERR_CONFLICT:
		return BS_ERR_CONFLICT;
	case LLM_ERR_BAD_REQUEST:
	case LLM_ERR_MALFORMED:
	case LLM_ERR_REFUSAL:
		return BS_ERR_INVALID;
	case LLM_ERR_TOO_LARGE:
	case LLM_ERR_TRUNCATED:
	case LLM_ERR_CONTEXT:
		return BS_ERR_TOO_LARGE;
	default:
		return BS_ERR_IO;	/* network, server, overloaded, paused */
	}
}

static enum llm_error_kind
llm_status_kind(long status)
{
	switch (status) {
	case 401:
	case 403:
		return LLM_ERR_AUTH;
	case 402:
		return LLM_ERR_BILLING;
	case 404:
		return LLM_ERR_NOT_FOUND;
	case 408:
	case 504:	/* timeout_error: the API's own time ran out */
		return LLM_ERR_TIMEOUT;
	case 409:
		return LLM_ERR_CONFLICT;
	case 413:
		return LLM_ERR_TOO_LARGE;
	case 429:
		return LLM_ERR_RATE_LIMITED;
	case 529:
		return LLM_ERR_OVERLOADED;
	default:
		break;
	}
	if (status >= 400 && status < 500)
		return LLM_ERR_BAD_REQUEST;
	if (status >= 500 && status < 600)
		return LLM_ERR_SERVER;
	return LLM_ERR_MALFORMED;	/* 1xx, 3xx, a 2xx other than 200 */
}

/* The official SDKs' rule for an HTTP error without x-should-retry. */
static bool
llm_status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

/* Transport failures that another connection may not repeat. */
static bool
llm_curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_OPERATION_TIMEDOUT:
		return true;
	default:
		return false;
	}
}

enum llm_error_kind
llm_answer_check(const struct llm_request *req, struct llm_response *res,
    int max_depth, char *msg, size_t msglen)
{
	enum llm_answer	 answer = llm_request_answer(req);
	const char	*stop = res->stop_reason;
	char		 reason[128];

	json_object_put(res->output);
	res->output = NULL;
	if ((unsigned)answer > LLM_ANSWER_FORCED_TOOL ||
	    (answer != LLM_ANSWER_TEXT && req->tool == NULL)) {
		bs_errf(msg, msglen, "a structured answer needs a tool: its "
		    "name and schema");
		return LLM_ERR_BAD_REQUEST;
	}
	/* A stop_reason that leaves the answer unusable as asked comes first. */
	if (strcmp(stop, "max_tokens") == 0) {
		bs_errf(msg, msglen, "the answer was cut at max_tokens (%d)",
		    req->max_tokens);
		return LLM_ERR_TRUNCATED;
	}
	if (strcmp(stop, "refusal") == 0) {
		bs_errf(msg, msglen, "the model refused to answer%s%s",
		    res->stop_details[0] != '\0' ? ": " : "", res->stop_details);
		return LLM_ERR_REFUSAL;
	}
	if (strcmp(stop, "model_context_window_exceeded") == 0) {
		bs_errf(msg, msglen, "the request fills the model's context "
		    "window");
		return LLM_ERR_CONTEXT;
	}
	if (strcmp(stop, "pause_turn") == 0) {
		bs_errf(msg, msglen, "the model paused its turn (pause_turn); "
		    "it is not continued");
		return LLM_ERR_PAUSED;
	}
	/* end_turn, tool_use, stop_sequence, none, and values to come. */
	switch (answer) {
	case LLM_ANSWER_TEXT:
		break;
	case LLM_ANSWER_JSON_SCHEMA:
		if (json_parse_limited(buf_cstr(&res->text), res->text.len,
		    max_depth > 0 ? max_depth : LLM_DEFAULT_JSON_DEPTH,
		    &res->output, reason, sizeof(reason)) != BS_OK ||
		    !json_object_is_type(res->output, json_type_object)) {
			if (res->output != NULL)
				snprintf(reason, sizeof(reason), "not an object");
			json_object_put(res->output);
			res->output = NULL;
			bs_errf(msg, msglen, "the answer is not JSON: %s", reason);
			return LLM_ERR_MALFORMED;
		}
		break;
	default:
		if (res->tool_input == NULL ||
		    strcmp(res->tool_name, req->tool->name) != 0) {
			bs_errf(msg, msglen, "the answer did not call the tool "
			    "%s (stop_reason %s)", req->tool->name,
			    stop[0] != '\0' ? stop : "none");
			return LLM_ERR_MALFORMED;
		}
		res->output = json_object_get(res->tool_input);
		break;
	}
	return LLM_ERR_NONE;
}

/* A finished 200: the whole answer read, then checked against what was asked. */
static enum llm_error_kind
llm_attempt_answer(struct llm_slot *s, char *msg, size_t msglen)
{
	const struct llm_request	*req = s->call->req;
	struct llm_response		*res = &s->call->res;
	char				 reason[LLM_ERROR_MAX];

	if (req->stream) {
		if (s->stream == NULL) {
			bs_errf(msg, msglen, "%s", s->event_stream ?
			    "truncated stream (empty)" : "a streamed call was "
			    "not answered with text/event-stream");
			return s->event_stream ? LLM_ERR_NETWORK :
			    LLM_ERR_MALFORMED;
		}
		if (llm_stream_finish(s->stream) != BS_OK) {
			bs_errf(msg, msglen, "%s", llm_stream_error(s->stream));
			return llm_stream_error_kind(s->stream);
		}
	} else if (llm_response_parse_json(res, buf_cstr(&s->answer),
	    s->answer.len, s->client->max_json_depth, reason,
	    sizeof(reason)) != BS_OK) {
		bs_errf(msg, msglen, "%s", reason);
		return LLM_ERR_MALFORMED;
	}
	return llm_answer_check(req, res, s->client->max_json_depth, msg,
	    msglen);
}

/* What one attempt came to; *retry says whether another may do better. */
static enum llm_error_kind
llm_attempt_classify(struct llm_slot *s, CURLcode rc, bool *retry, char *msg,
    size_t msglen)
{
	enum llm_error_kind	 kind, api_kind;
	long			 status = 0;
	char			 api[LLM_ERROR_MAX];

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	s->call->http_status = (int)status;
	if (s->stream != NULL && llm_stream_text_delivered(s->stream))
		s->delivered = true;
	*retry = false;
	if (s->local_kind != LLM_ERR_NONE) {
		kind = s->local_kind;
		bs_errf(msg, msglen, "%s", s->local);
		*retry = llm_error_retryable(kind);
		return kind;
	}
	/* An oversized error body still has a status that says more. */
	if (rc == CURLE_FILESIZE_EXCEEDED && status >= 300)
		rc = CURLE_OK;
	if (rc != CURLE_OK) {
		if (rc == CURLE_FILESIZE_EXCEEDED) {
			bs_errf(msg, msglen, "the answer exceeds %zu bytes",
			    s->client->max_response_bytes);
			return LLM_ERR_TOO_LARGE;
		}
		kind = rc == CURLE_OPERATION_TIMEDOUT ? LLM_ERR_TIMEOUT :
		    LLM_ERR_NETWORK;
		bs_errf(msg, msglen, "%s", s->curl_err[0] != '\0' ?
		    s->curl_err : curl_easy_strerror(rc));
		*retry = llm_curl_transient(rc);
		return kind;
	}
	if (status == 200) {
		kind = llm_attempt_answer(s, msg, msglen);
		*retry = kind == LLM_ERR_NETWORK;	/* a truncated stream */
		return kind;
	}
	kind = llm_status_kind(status);
	llm_redact_buf(s->client, &s->answer);
	/*
	 * The status decides the kind; the body's error.type is for people.
	 * Its error_code alone tells a spending limit from a rate limit.
	 */
	api_kind = LLM_ERR_NONE;
	llm_error_body_parse(buf_cstr(&s->answer), s->answer.len, &api_kind,
	    api, sizeof(api));
	bs_errf(msg, msglen, "HTTP %ld: %s", status, api[0] != '\0' ? api :
	    "no error message");
	if (status == 429 && api_kind == LLM_ERR_SPEND_CAP) {
		/* No wait lifts a spending limit, whatever the headers say. */
		*retry = false;
		return LLM_ERR_SPEND_CAP;
	}
	if (s->should_retry >= 0)
		*retry = s->should_retry == 1;	/* the server knows best */
	else
		*retry = llm_status_retryable(status);
	return kind;
}

/* Leave a WAITING slot's heap or a RUNNING slot's transfer; keep the easy handle. */
static void
llm_slot_stop(struct llm_slot *s)
{
	struct llm_loop	*loop = s->batch->loop;

	if (s->state == LLM_SLOT_RUNNING)
		curl_multi_remove_handle(loop->multi, s->easy);
	else if (s->state == LLM_SLOT_WAITING)
		llm_heap_remove(&loop->retries, &s->start);
	llm_stream_free(s->stream);
	s->stream = NULL;
}

/* Every call of b has ended: b leaves the deadline heap for the done list. */
static void
llm_batch_finished(struct llm_batch *b)
{
	struct llm_loop	*loop = b->loop;

	llm_heap_remove(&loop->deadlines, &b->deadline);
	b->next_finished = NULL;
	if (loop->finished_tail != NULL)
		loop->finished_tail->next_finished = b;
	else
		loop->finished = b;
	loop->finished_tail = b;
}

/* A hold for the rate limit is over: its time goes to the call's held_ms. */
static void
llm_slot_unhold(struct llm_slot *s, long long now)
{
	if (s->held_since == 0)
		return;
	s->call->held_ms += (long)(now - s->held_since);
	s->held_since = 0;
}

/*
 * The call's outcome, once: its transfer and buffers go at once (a loop
 * may hold many idle batches), observe hears of it, and the batch counts
 * it. The slot must be stopped (llm_slot_stop) or never started.
 */
static void
llm_call_finish(struct llm_slot *s, enum llm_error_kind kind, const char *msg)
{
	struct llm_batch	*b = s->batch;
	struct llm_call		*call = s->call;
	long long		 now = bs_monotonic_ms();

	call->kind = kind;
	call->err = llm_kind_err(kind);
	snprintf(call->error, sizeof(call->error), "%s", msg);
	llm_redact(s->client, call->error, sizeof(call->error));
	call->latency_ms = (long)(now - b->t0);
	llm_slot_unhold(s, now);
	s->state = LLM_SLOT_DONE;
	if (s->easy != NULL)
		curl_easy_cleanup(s->easy);
	s->easy = NULL;
	buf_free(&s->body);
	buf_free(&s->answer);
	if (s->client->observe != NULL)
		s->client->observe(s->client->observe_arg, call);
	b->loop->calls--;
	if (--b->unfinished == 0)
		llm_batch_finished(b);
}

/*
 * As the official SDKs: min(max, base * 2^(failures - 1)), less up to a
 * quarter of it at random, so that many workers do not retry in step.
 */
static long
llm_backoff_ms(const struct llm_client *c, int failures)
{
	long	 wait = c->backoff_base_ms, jitter;
	int	 i;

	for (i = 1; i < failures && wait < c->backoff_max_ms &&
	    wait <= LONG_MAX / 2; i++)
		wait *= 2;
	if (wait > c->backoff_max_ms)
		wait = c->backoff_max_ms;
	jitter = wait / 4;
	if (jitter >= (long)UINT32_MAX)
		jitter = (long)UINT32_MAX - 1;
	return wait - (long)randombytes_uniform((uint32_t)jitter + 1);
}

/* The server's wait (retry-after-ms, then retry-after), else our backoff. */
static long
llm_retry_wait_ms(const struct llm_slot *s)
{
	if (s->retry_after_ms > 0)
		return s->retry_after_ms;
	if (s->retry_after_s_ms > 0)
		return s->retry_after_s_ms;
	return llm_backoff_ms(s->client, s->call->attempts);
}

/* No message text: ids, numbers and the kind are enough to follow a retry. */
static void
llm_log_retry(const struct llm_slot *s, enum llm_error_kind kind, long wait)
{
	json_object	*f;

	if (!log_enabled(LOG_LEVEL_INFO) ||
	    (f = json_object_new_object()) == NULL)
		return;
	json_object_object_add(f, "model", json_object_new_string(
	    s->call->req->model));
	json_object_object_add(f, "attempt", json_object_new_int(
	    s->call->attempts));
	json_object_object_add(f, "kind", json_object_new_string(
	    llm_error_kind_name(kind)));
	json_object_object_add(f, "http_status", json_object_new_int(
	    s->call->http_status));
	json_object_object_add(f, "wait_ms", json_object_new_int64(wait));
	if (s->call->request_id[0] != '\0')
		json_object_object_add(f, "claude_request_id",
		    json_object_new_string(s->call->request_id));
	log_write(LOG_LEVEL_INFO, "claude call retried", f);
}

/* The loop's entry of model; with make, the oldest one becomes it. */
static struct llm_pace *
llm_pace_of(struct llm_loop *loop, const char *model, bool make)
{
	struct llm_pace	*p = NULL;
	size_t		 i;

	if (model == NULL || strlen(model) >= LLM_ID_MAX)
		return NULL;
	for (i = 0; i < LLM_PACE_MODELS; i++) {
		if (strcmp(loop->pace[i].model, model) == 0)
			return &loop->pace[i];
		if (p == NULL || loop->pace[i].used < p->used)
			p = &loop->pace[i];
	}
	if (!make)
		return NULL;
	memset(p, 0, sizeof(*p));
	snprintf(p->model, sizeof(p->model), "%s", model);
	p->max = -1;
	p->left = -1;
	return p;
}

/*
 * What an answer (a 200 or an error) says of its model's limits. Requests
 * left: in the window already known, the fewer of ours and the API's (our
 * count has the calls started since); in a new window, the API's. Tokens
 * are not known before a call is made: none left holds the model until
 * they are back. A 429 without these headers holds only its own call (its
 * retry-after): one request can be refused for its own size.
 */
static void
llm_pace_learn(struct llm_slot *s)
{
	struct llm_pace	*p;
	long long	 now = bs_monotonic_ms();
	long long	 wall = bs_clock_ms(CLOCK_REALTIME), reset;
	size_t		 i;

	for (i = 0; i < LLM_LIMIT_KINDS; i++)
		if (s->limit_left[i] >= 0)
			break;
	if (i == LLM_LIMIT_KINDS ||
	    (p = llm_pace_of(s->batch->loop, s->call->req->model, true)) == NULL)
		return;
	p->used = now;
	for (i = 0; i < LLM_LIMIT_KINDS; i++) {
		if (s->limit_left[i] < 0)
			continue;
		reset = s->limit_reset_ms[i] > wall ? now + (s->limit_reset_ms[i] -
		    wall < LLM_PACE_MAX_MS ? s->limit_reset_ms[i] - wall :
		    LLM_PACE_MAX_MS) : 0;
		if (i == 0) {
			if (s->limit_max[0] > 0)
				p->max = s->limit_max[0];
			if (p->left < 0 || reset > p->reset + LLM_PACE_SLACK_MS ||
			    s->limit_left[0] < p->left)
				p->left = s->limit_left[0];
		} else if (s->limit_left[i] == 0)
			p->left = 0;
		else
			continue;
		if (reset > p->reset) {
			p->reset = reset;
			if (p->left == 0)
				p->why = llm_limit_kinds[i];
		}
	}
}

/*
 * Whether s may start now: 0 if so (one of its model's requests is
 * counted), else when to look again (ms, monotonic). A window that has
 * ended gives its whole limit back; none left and no end known waits
 * LLM_PACE_PROBE_MS for an answer to say more.
 */
static long long
llm_pace_admit(struct llm_loop *loop, struct llm_slot *s, long long now)
{
	struct llm_pace	*p;
	json_object	*f;
	long long	 until;

	if ((p = llm_pace_of(loop, s->call->req->model, false)) == NULL)
		return 0;
	p->used = now;
	if (p->reset > 0 && now >= p->reset) {
		p->left = p->max;
		p->reset = 0;
	}
	if (p->left != 0) {
		if (p->left > 0)
			p->left--;
		p->held = false;
		return 0;
	}
	until = p->reset > 0 ? p->reset : now + LLM_PACE_PROBE_MS;
	if (!p->held) {
		p->held = true;
		f = json_object_new_object();
		json_object_object_add(f, "model", json_object_new_string(p->model));
		json_object_object_add(f, "limit", json_object_new_string(
		    p->why != NULL ? p->why : "requests"));
		json_object_object_add(f, "wait_ms", json_object_new_int64(until -
		    now));
		log_write(LOG_LEVEL_INFO, "claude calls held for the rate limit",
		    f);
	}
	return until;
}

static void
llm_attempt_done(struct llm_slot *s, CURLcode rc)
{
	struct llm_loop		*loop = s->batch->loop;
	enum llm_error_kind	 kind;
	char			 msg[LLM_ERROR_MAX], full[LLM_ERROR_MAX + 64];
	long long		 now;
	long			 wait;
	bool			 retry;

	curl_multi_remove_handle(loop->multi, s->easy);
	kind = llm_attempt_classify(s, rc, &retry, msg, sizeof(msg));
	llm_pace_learn(s);
	llm_stream_free(s->stream);
	s->stream = NULL;
	if (kind == LLM_ERR_NONE) {
		llm_call_finish(s, kind, "");
		return;
	}
	if (retry && s->delivered) {
		/* The caller has shown those tokens: a retry would repeat them. */
		snprintf(full, sizeof(full), "%s; not retried: part of the "
		    "reply was already streamed", msg);
		llm_call_finish(s, kind, full);
		return;
	}
	if (!retry || s->call->attempts >= s->client->max_attempts) {
		llm_call_finish(s, kind, msg);
		return;
	}
	wait = llm_retry_wait_ms(s);
	now = bs_monotonic_ms();
	if (now + wait >= s->batch->deadline.at) {
		snprintf(full, sizeof(full), "%s; no time left to retry", msg);
		llm_call_finish(s, kind, full);
		return;
	}
	snprintf(s->last, sizeof(s->last), "%s", msg);
	s->start.at = now + wait;
	s->state = LLM_SLOT_WAITING;
	llm_heap_push(&loop->retries, &s->start);
	llm_log_retry(s, kind, wait);
}

/*
 * The deadline, a cancel or the loop's end: whatever runs is cut off,
 * whatever waits will not start.
 */
static void
llm_batch_cut(struct llm_batch *b, enum llm_cut why)
{
	char	 msg[LLM_ERROR_MAX + 64], reason[64] = "";
	size_t	 i;

	if (why == LLM_CUT_CANCEL)
		snprintf(reason, sizeof(reason), "the batch was cancelled");
	else if (why == LLM_CUT_SHUTDOWN)
		snprintf(reason, sizeof(reason), "the client loop was shut down");
	for (i = 0; i < b->n && b->unfinished > 0; i++) {
		struct llm_slot *s = &b->slots[i];

		if (s->state == LLM_SLOT_DONE)
			continue;
		if (why != LLM_CUT_DEADLINE && s->state == LLM_SLOT_RUNNING)
			snprintf(msg, sizeof(msg), "%s", reason);
		else if (why != LLM_CUT_DEADLINE)
			snprintf(msg, sizeof(msg), "%s%s%s", s->last,
			    s->last[0] != '\0' ? "; " : "", reason);
		else if (s->state == LLM_SLOT_RUNNING)
			snprintf(msg, sizeof(msg), "no answer within the batch's "
			    "%ld ms", b->deadline_ms);
		else
			snprintf(msg, sizeof(msg), "%s%sno time left within the "
			    "batch's %ld ms", s->last, s->last[0] != '\0' ?
			    "; " : "", b->deadline_ms);
		llm_slot_stop(s);
		llm_call_finish(s, LLM_ERR_BUDGET, msg);
	}
}

/* The multi handle failed: every unfinished call of every batch carries e. */
static void
llm_loop_fail(struct llm_loop *loop, bs_err e)
{
	struct llm_timer	*t;
	struct llm_batch	*b;
	char			 msg[LLM_ERROR_MAX];
	size_t			 i;

	snprintf(msg, sizeof(msg), "the batch failed: %s", bs_strerror(e));
	while ((t = llm_heap_top(&loop->deadlines)) != NULL) {
		b = LLM_CONTAINER(t, struct llm_batch, deadline);
		for (i = 0; i < b->n && b->unfinished > 0; i++) {
			struct llm_slot *s = &b->slots[i];

			if (s->state == LLM_SLOT_DONE)
				continue;
			llm_slot_stop(s);
			llm_call_finish(s, LLM_ERR_NETWORK, msg);
			s->call->err = e;
		}
	}
}

static void
llm_batch_free(struct llm_batch *b)
{
	size_t	 i;

	if (b == NULL)
		return;
	for (i = 0; b->slots != NULL && i < b->n; i++) {
		/* Ended slots let go of all this already; a failed add did not. */
		if (b->slots[i].easy != NULL)
			curl_easy_cleanup(b->slots[i].easy);
		llm_stream_free(b->slots[i].stream);
		buf_free(&b->slots[i].body);
		buf_free(&b->slots[i].answer);
	}
	free(b->slots);
	free(b);
}

/*
 * The done callbacks of finished batches, each batch freed first: done
 * may free the calls, add batches (called in this same pass if they end
 * at once) or cancel others.
 */
static void
llm_loop_call_done(struct llm_loop *loop)
{
	struct llm_batch	*b;
	void			(*done)(void *);
	void			*arg;

	while ((b = loop->finished) != NULL) {
		loop->finished = b->next_finished;
		if (loop->finished == NULL)
			loop->finished_tail = NULL;
		done = b->done;
		arg = b->arg;
		llm_batch_free(b);
		loop->batches--;
		if (done != NULL)
			done(arg);
	}
}

static int	llm_loop_socket_cb(CURL *, curl_socket_t, int, void *, void *);
static int	llm_loop_timer_cb(CURLM *, long, void *);

bs_err
llm_loop_create(const struct llm_client *client, size_t max_calls,
    struct llm_loop **out)
{
	struct llm_loop		*loop = NULL;
	struct epoll_event	 ev;
	bs_err			 e = BS_ERR_INVALID;

	*out = NULL;
	if (client == NULL)
		goto out;
	e = BS_ERR_NOMEM;
	if ((loop = calloc(1, sizeof(*loop))) == NULL)
		goto out;
	loop->client = client;
	loop->epfd = -1;
	loop->wakefd = -1;
	loop->curl_at = -1;
	loop->max_calls = max_calls > 0 ? max_calls : LLM_LOOP_DEFAULT_MAX_CALLS;
	if ((e = llm_heap_init(&loop->retries, loop->max_calls)) != BS_OK ||
	    (e = llm_heap_init(&loop->deadlines, loop->max_calls)) != BS_OK)
		goto out;
	e = BS_ERR_IO;
	if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto out;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = loop->wakefd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) != 0)
		goto out;
	e = BS_ERR_NOMEM;
	if ((loop->multi = curl_multi_init()) == NULL)
		goto out;
	e = BS_ERR_INTERNAL;
	if (curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION,
	    llm_loop_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop) !=
	    CURLM_OK ||
	    curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION,
	    llm_loop_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop) != CURLM_OK)
		goto out;
	*out = loop;
	loop = NULL;
	e = BS_OK;
out:
	llm_loop_destroy(loop);
	return e;
}

void
llm_loop_destroy(struct llm_loop *loop)
{
	struct llm_timer	*t;

	if (loop == NULL)
		return;
	loop->closing = true;
	while ((t = llm_heap_top(&loop->deadlines)) != NULL)
		llm_batch_cut(LLM_CONTAINER(t, struct llm_batch, deadline),
		    LLM_CUT_SHUTDOWN);
	llm_loop_call_done(loop);
	if (loop->multi != NULL)
		curl_multi_cleanup(loop->multi);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	free(loop->retries.v);
	free(loop->deadlines.v);
	free(loop);
}

bs_err
llm_loop_add(struct llm_loop *loop, struct llm_call *calls, size_t n,
    long deadline_ms, void (*done)(void *), void *arg,
    struct llm_batch **out)
{
	struct llm_batch	*b = NULL;
	struct llm_slot		*s;
	char			 msg[LLM_ERROR_MAX];
	size_t			 i;
	bs_err			 e = BS_ERR_INVALID;

	if (out != NULL)
		*out = NULL;
	if (loop == NULL || loop->closing || (calls == NULL && n > 0))
		goto out;
	e = BS_ERR_TOO_LARGE;
	if (n > loop->max_calls - loop->calls)
		goto out;
	e = BS_ERR_NOMEM;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (n > 0 && (b->slots = calloc(n, sizeof(*b->slots))) == NULL))
		goto out;
	b->loop = loop;
	b->n = n;
	b->unfinished = n;
	b->t0 = bs_monotonic_ms();
	b->deadline_ms = deadline_ms;
	b->deadline.at = b->t0 + (deadline_ms > 0 ? deadline_ms : 0);
	b->deadline.pos = LLM_TIMER_OFF;
	b->done = done;
	b->arg = arg;
	loop->calls += n;
	loop->batches++;
	if (n > 0)
		llm_heap_push(&loop->deadlines, &b->deadline);
	for (i = 0; i < n; i++) {
		s = &b->slots[i];
		s->client = loop->client;
		s->batch = b;
		s->call = &calls[i];
		s->start.at = b->t0;
		s->start.pos = LLM_TIMER_OFF;
		buf_init(&s->body, LLM_REQUEST_BODY_MAX);
		buf_init(&s->answer, loop->client->max_response_bytes);
		calls[i].err = BS_OK;
		calls[i].kind = LLM_ERR_NONE;
		calls[i].http_status = 0;
		calls[i].attempts = 0;
		calls[i].latency_ms = 0;
		calls[i].held_ms = 0;
		calls[i].request_id[0] = '\0';
		calls[i].error[0] = '\0';
	}
	for (i = 0; i < n; i++) {
		s = &b->slots[i];
		if (llm_request_body(calls[i].req, &s->body, msg,
		    sizeof(msg)) != BS_OK) {
			s->state = LLM_SLOT_DONE;	/* never started */
			llm_call_finish(s, LLM_ERR_BAD_REQUEST, msg);
			continue;
		}
		s->state = LLM_SLOT_WAITING;
		llm_heap_push(&loop->retries, &s->start);
	}
	if (n == 0)
		llm_batch_finished(b);
	if (out != NULL)
		*out = b;
	b = NULL;
	e = BS_OK;
out:
	llm_batch_free(b);
	return e;
}

void
llm_loop_cancel(struct llm_loop *loop, struct llm_batch *b)
{
	if (loop == NULL || b == NULL || b->loop != loop || b->unfinished == 0 ||
	    b->cancelled)
		return;
	/* Cut off by the next llm_loop_run, never inside a curl callback. */
	b->cancelled = true;
	b->deadline.at = LLONG_MIN;
	llm_heap_fix(&loop->deadlines, &b->deadline);
}

void
llm_loop_wakeup(struct llm_loop *loop)
{
	uint64_t	 one = 1;
	ssize_t		 n;

	if (loop == NULL)
		return;
	/* EAGAIN: the counter is full, so a wakeup is pending anyway. */
	do
		n = write(loop->wakefd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
}

size_t
llm_loop_calls(const struct llm_loop *loop)
{
	return loop != NULL ? loop->calls : 0;
}

size_t
llm_loop_batches(const struct llm_loop *loop)
{
	return loop != NULL ? loop->batches : 0;
}

/* How long the next poll may sleep: nothing that is due waits for it. */
static int
llm_loop_wait_ms(const struct llm_loop *loop, int timeout_ms)
{
	const struct llm_timer	*t;
	long long		 now = bs_monotonic_ms(), wait = timeout_ms;

	if (loop->finished != NULL)
		return 0;
	/* Compared, never subtracted: a cancelled batch's deadline is LLONG_MIN. */
	if ((t = llm_heap_top(&loop->retries)) != NULL && t->at < now + wait)
		wait = t->at <= now ? 0 : t->at - now;
	if ((t = llm_heap_top(&loop->deadlines)) != NULL && t->at < now + wait)
		wait = t->at <= now ? 0 : t->at - now;
	if (loop->curl_at >= 0 && loop->curl_at < now + wait)
		wait = loop->curl_at <= now ? 0 : loop->curl_at - now;
	return wait > 0 ? (int)wait : 0;
}

/* What curl wants watched on socket fd (CURLMOPT_SOCKETFUNCTION). */
static int
llm_loop_socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *socketp)
{
	struct llm_loop		*loop = arg;
	struct epoll_event	 ev;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		/* Already gone when curl closed it first: nothing to undo. */
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (epoll_ctl(loop->epfd, socketp != NULL ? EPOLL_CTL_MOD :
	    EPOLL_CTL_ADD, fd, &ev) == 0 ||
	    epoll_ctl(loop->epfd, socketp != NULL ? EPOLL_CTL_ADD :
	    EPOLL_CTL_MOD, fd, &ev) == 0) {
		if (socketp == NULL)
			curl_multi_assign(loop->multi, fd, loop);	/* watched */
		return 0;
	}
	return -1;	/* curl fails the transfers on this socket */
}

/* curl's next timeout (CURLMOPT_TIMERFUNCTION): -1 deletes it. */
static int
llm_loop_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct llm_loop	*loop = arg;

	(void)multi;
	loop->curl_at = timeout_ms < 0 ? -1 : bs_monotonic_ms() + timeout_ms;
	return 0;
}

/* Hand curl its timeout when due: transfers just added start here. */
static bs_err
llm_loop_curl_timeout(struct llm_loop *loop)
{
	int	 running;

	if (loop->curl_at < 0 || loop->curl_at > bs_monotonic_ms())
		return BS_OK;
	loop->curl_at = -1;
	if (curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running) != CURLM_OK)
		return BS_ERR_INTERNAL;
	return BS_OK;
}

/* Transfers curl has finished: each classified, retried later or ended. */
static void
llm_loop_transfers_done(struct llm_loop *loop)
{
	struct llm_slot	*s;
	CURLMsg		*m;
	int		 queued;

	while ((m = curl_multi_info_read(loop->multi, &queued)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		s = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &s);
		if (s != NULL && s->state == LLM_SLOT_RUNNING)
			llm_attempt_done(s, m->data.result);
	}
}

bs_err
llm_loop_run(struct llm_loop *loop, int timeout_ms)
{
	struct epoll_event	 ev[LLM_LOOP_EVENTS];
	struct llm_timer	*t;
	struct llm_slot		*s;
	long long		 now, held;
	uint64_t		 count;
	int			 running, nev, i, flags;
	bs_err			 e = BS_OK;

	if (loop == NULL || loop->closing || timeout_ms < 0)
		return BS_ERR_INVALID;
	/* curl's own timers (connect, per-call timeout) shorten this wait. */
	nev = epoll_wait(loop->epfd, ev, LLM_LOOP_EVENTS, llm_loop_wait_ms(loop,
	    timeout_ms));
	if (nev < 0 && errno != EINTR) {
		e = BS_ERR_IO;
		goto fail;
	}
	for (i = 0; i < nev; i++) {
		if (ev[i].data.fd == loop->wakefd) {
			if (read(loop->wakefd, &count, sizeof(count)) < 0 &&
			    errno != EAGAIN && errno != EINTR) {
				e = BS_ERR_IO;
				goto fail;
			}
			continue;
		}
		flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
		    (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
		    (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
		if (curl_multi_socket_action(loop->multi, ev[i].data.fd, flags,
		    &running) != CURLM_OK) {
			e = BS_ERR_INTERNAL;
			goto fail;
		}
	}
	if ((e = llm_loop_curl_timeout(loop)) != BS_OK)
		goto fail;
	/* An answer complete by now counts, even if its deadline just passed. */
	llm_loop_transfers_done(loop);
	now = bs_monotonic_ms();
	/* Deadlines first: a batch out of time starts nothing more. */
	while ((t = llm_heap_top(&loop->deadlines)) != NULL && t->at <= now) {
		struct llm_batch *b = LLM_CONTAINER(t, struct llm_batch,
		    deadline);

		llm_batch_cut(b, b->cancelled ? LLM_CUT_CANCEL :
		    LLM_CUT_DEADLINE);
	}
	while ((t = llm_heap_top(&loop->retries)) != NULL && t->at <= now) {
		s = LLM_CONTAINER(t, struct llm_slot, start);
		llm_heap_remove(&loop->retries, t);
		if ((held = llm_pace_admit(loop, s, now)) > 0) {
			/* Its model's limit is spent: back in line until then. */
			if (s->last[0] == '\0')
				snprintf(s->last, sizeof(s->last), "waiting for "
				    "the API's rate limit of %s",
				    s->call->req->model);
			if (s->held_since == 0)
				s->held_since = now;
			s->start.at = held;
			llm_heap_push(&loop->retries, &s->start);
			continue;
		}
		llm_slot_unhold(s, now);
		if (llm_attempt_start(loop->multi, s) != BS_OK) {
			/* That call's failure, not the loop's. */
			s->state = LLM_SLOT_DONE;
			llm_stream_free(s->stream);
			s->stream = NULL;
			llm_call_finish(s, LLM_ERR_NETWORK,
			    "could not start the transfer");
		}
	}
	if ((e = llm_loop_curl_timeout(loop)) != BS_OK)
		goto fail;
	llm_loop_transfers_done(loop);
	goto done;
fail:
	llm_loop_fail(loop, e);
done:
	llm_loop_call_done(loop);
	return e;
}

static void
llm_batch_run_done(void *arg)
{
	*(bool *)arg = true;
}

bs_err
llm_batch_run(const struct llm_client *client, struct llm_call *calls,
    size_t n, long deadline_ms)
{
	struct llm_loop	*loop = NULL;
	size_t		 i;
	bool		 finished = false;
	bs_err		 e;

	if (client == NULL || (calls == NULL && n > 0))
		return BS_ERR_INVALID;
	if (n == 0)
		return BS_OK;
	if ((e = llm_loop_create(client, n, &loop)) != BS_OK ||
	    (e = llm_loop_add(loop, calls, n, deadline_ms, llm_batch_run_done,
	    &finished, NULL)) != BS_OK) {
		for (i = 0; i < n; i++) {
			calls[i].err = e;
			calls[i].kind = LLM_ERR_NETWORK;
			snprintf(calls[i].error, sizeof(calls[i].error),
			    "the batch failed: %s", bs_strerror(e));
		}
		goto out;
	}
	/* A failed run has ended every call with its error and called done. */
	while (!finished && (e = llm_loop_run(loop, LLM_POLL_MAX_MS)) == BS_OK)
		;
out:
	llm_loop_destroy(loop);
	return e;
}

/* The body of llm_client_get, into the caller's capped buffer. */
struct llm_get {
	struct buf	*out;
	bs_err		 failed;
};

static size_t
llm_get_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct llm_get	*g = arg;
	size_t		 len = size * nmemb;
	bs_err		 e;

	if ((e = buf_append(g->out, data, len)) != BS_OK) {
		g->failed = e;
		return 0;	/* curl aborts the transfer */
	}
	return len;
}

/* A path of printable ASCII without spaces: nothing that could bend the URL or a log line. */
static bool
llm_path_ok(const char *path)
{
	size_t	 i;

	if (path == NULL || path[0] != '/')
		return false;
	for (i = 0; path[i] != '\0'; i++)
		if (i >= LLM_PATH_MAX || (unsigned char)path[i] <= 0x20 ||
		    (unsigned char)path[i] >= 0x7f)
			return false;
	return true;
}

bs_err
llm_client_get(const struct llm_client *c, const char *path, long timeout_ms,
    int *status, struct buf *out, char *err, size_t errlen)
{
	struct llm_get	 g;
	struct buf	 url;
	CURL		*h = NULL;
	CURLcode	 rc;
	long		 code = 0;
	char		 curl_err[CURL_ERROR_SIZE];
	bs_err		 e = BS_ERR_INVALID;

	*status = 0;
	buf_init(&url, LLM_PATH_MAX + 4096);
	if (!llm_path_ok(path) || timeout_ms < 0) {
		bs_errf(err, errlen, "the path must start with / and hold only "
		    "printable ASCII, the timeout not be negative");
		goto out;
	}
	buf_reset(out);
	g.out = out;
	g.failed = BS_OK;
	curl_err[0] = '\0';
	e = BS_ERR_NOMEM;
	if (buf_puts(&url, c->base) != BS_OK || buf_puts(&url, path) != BS_OK ||
	    (h = curl_easy_init()) == NULL) {
		bs_errf(err, errlen, "out of memory");
		goto out;
	}
	e = BS_ERR_INTERNAL;
	if (curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&url)) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT,
	    PACKAGE_NAME "/" PACKAGE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms :
	    c->per_call_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    c->connect_timeout_ms) != CURLE_OK ||
	    (out->max > 0 && curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)out->max) != CURLE_OK) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, llm_get_write_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &g) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err) != CURLE_OK) {
		bs_errf(err, errlen, "could not set up the transfer");
		goto out;
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	*status = (int)code;
	llm_redact_buf(c, out);
	if (g.failed != BS_OK || rc == CURLE_FILESIZE_EXCEEDED) {
		e = g.failed == BS_ERR_NOMEM ? BS_ERR_NOMEM : BS_ERR_TOO_LARGE;
		bs_errf(err, errlen, "GET %.200s: %s", path, e == BS_ERR_NOMEM ?
		    "out of memory" : "the answer is too large");
		goto out;
	}
	if (rc != CURLE_OK) {
		e = BS_ERR_IO;
		bs_errf(err, errlen, "GET %.200s: %s", path, curl_err[0] != '\0' ?
		    curl_err : curl_easy_strerror(rc));
		llm_redact(c, err, errlen);
		goto out;
	}
	e = BS_OK;
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	buf_free(&url);
	return e;
}
