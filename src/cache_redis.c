#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "brainstorm/cache.h"
#include "brainstorm/log.h"
#include "brainstorm/validate.h"

#define IDLE_MAX		16
#define RECONNECT_BACKOFF_S	1

/*
 * hiredis contexts are not thread-safe: each is used by one thread at a
 * time, taken from and returned to the idle stack under lock.
 */
struct cache {
	pthread_mutex_t	 lock;
	redisContext	*idle[IDLE_MAX];	/* guarded by lock */
	int		 nidle;			/* guarded by lock */
	time_t		 down_until;		/* guarded by lock */
	bool		 configured;
	bool		 unix_socket;
	char		 host[256];	/* or the socket path */
	int		 port;
	char		 password[256];
	int		 db;
	struct timeval	 timeout;
};

/* redis://[:password@]host[:port][/db] or unix:/path */
static bs_err
cache_url_parse(struct cache *c, const char *url)
{
	const char	*p, *at, *slash, *colon;
	const char	*errstr;
	long long	 v;
	size_t		 n;

	if (strncmp(url, "unix:", 5) == 0) {
		if (strlen(url + 5) >= sizeof(c->host) || url[5] != '/')
			return BS_ERR_INVALID;
		c->unix_socket = true;
		strcpy(c->host, url + 5);
		return BS_OK;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return BS_ERR_INVALID;
	p = url + 8;
	if ((at = strrchr(p, '@')) != NULL) {
		n = (size_t)(at - p);
		if (*p == ':') {
			p++;
			n--;
		} else if ((colon = memchr(p, ':', n)) != NULL) {
			n -= (size_t)(colon + 1 - p);	/* user:password, user ignored */
			p = colon + 1;
		}
		if (n >= sizeof(c->password))
			return BS_ERR_INVALID;
		memcpy(c->password, p, n);
		c->password[n] = '\0';
		p = at + 1;
	}
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	colon = memchr(p, ':', n);
	c->port = 6379;
	if (colon != NULL) {
		v = bs_strntonum(colon + 1, (size_t)(p + n - colon - 1), 1, 65535,
		    &errstr);
		if (errstr != NULL)
			return BS_ERR_INVALID;
		c->port = (int)v;
		n = (size_t)(colon - p);
	}
	if (n == 0 || n >= sizeof(c->host))
		return BS_ERR_INVALID;
	memcpy(c->host, p, n);
	c->host[n] = '\0';
	if (slash != NULL && slash[1] != '\0') {
		v = bs_strtonum(slash + 1, 0, 1000, &errstr);
		if (errstr != NULL)
			return BS_ERR_INVALID;
		c->db = (int)v;
	}
	return BS_OK;
}

bs_err
cache_create(const char *url, int timeout_ms, struct cache **out)
{
	struct cache	*c;
	bs_err		 e;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return BS_ERR_NOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->timeout.tv_sec = timeout_ms / 1000;
	c->timeout.tv_usec = (timeout_ms % 1000) * 1000;
	if (url != NULL && *url != '\0') {
		if ((e = cache_url_parse(c, url)) != BS_OK) {
			cache_destroy(c);
			return e;
		}
		c->configured = true;
	}
	*out = c;
	return BS_OK;
}

void
cache_destroy(struct cache *c)
{
	int	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nidle; i++)
		redisFree(c->idle[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool
cache_configured(const struct cache *c)
{
	return c != NULL && c->configured;
}

static bool
reply_ok(redisReply *r)
{
	return r != NULL && r->type != REDIS_REPLY_ERROR;
}

static redisContext *
cache_connect(struct cache *c)
{
	redisContext	*ctx;
	redisReply	*r;

	ctx = c->unix_socket ? redisConnectUnixWithTimeout(c->host, c->timeout) :
	    redisConnectWithTimeout(c->host, c->port, c->timeout);
	if (ctx == NULL || ctx->err != 0)
		goto fail;
	if (redisSetTimeout(ctx, c->timeout) != REDIS_OK)
		goto fail;
	if (c->password[0] != '\0') {
		r = redisCommand(ctx, "AUTH %s", c->password);
		if (!reply_ok(r)) {
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (c->db != 0) {
		r = redisCommand(ctx, "SELECT %d", c->db);
		if (!reply_ok(r)) {
			freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	return ctx;
fail:
	if (ctx != NULL)
		redisFree(ctx);
	return NULL;
}

/* An idle context, or a new one unless Redis failed within the backoff. */
static redisContext *
cache_take(struct cache *c)
{
	redisContext	*ctx = NULL;
	time_t		 now = time(NULL);

	pthread_mutex_lock(&c->lock);
	if (now < c->down_until) {
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	if (c->nidle > 0)
		ctx = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->lock);
	if (ctx != NULL)
		return ctx;
	if ((ctx = cache_connect(c)) == NULL) {
		pthread_mutex_lock(&c->lock);
		c->down_until = now + RECONNECT_BACKOFF_S;
		pthread_mutex_unlock(&c->lock);
	}
	return ctx;
}

/*
 * Return a context after use; a failed one is dropped. A connection that
 * failed (a command timeout, EOF, a reset) starts the same backoff as a
 * failed connect, and the idle ones go too: a Redis that accepts but never
 * answers would otherwise cost every call REDIS_TIMEOUT_MS.
 */
static void
cache_give(struct cache *c, redisContext *ctx, bool ok)
{
	redisContext	*stale[IDLE_MAX];
	size_t		 nstale = 0, i;

	if (ctx == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	if (ok && ctx->err == 0 && c->nidle < IDLE_MAX) {
		c->idle[c->nidle++] = ctx;
		ctx = NULL;
	} else if (ctx->err != 0) {
		c->down_until = time(NULL) + RECONNECT_BACKOFF_S;
		while (c->nidle > 0)
			stale[nstale++] = c->idle[--c->nidle];
	}
	pthread_mutex_unlock(&c->lock);
	if (ctx != NULL)
		redisFree(ctx);
	for (i = 0; i < nstale; i++)
		redisFree(stale[i]);
}

bs_err
cache_ping(struct cache *c)
{
	redisContext	*ctx;
	redisReply	*r;
	bool		 ok;

	if (!cache_configured(c) || (ctx = cache_take(c)) == NULL)
		return BS_ERR_CACHE_UNAVAILABLE;
	r = redisCommand(ctx, "PING");
	ok = reply_ok(r);
	freeReplyObject(r);
	cache_give(c, ctx, ok);
	return ok ? BS_OK : BS_ERR_CACHE_UNAVAILABLE;
}

bs_err
cache_window_hit(struct cache *c, const char *key, int window_s, long *count,
    long *ttl)
{
	redisContext	*ctx;
	redisReply	*r = NULL;
	bool		 ok = false;

	if (!cache_configured(c) || (ctx = cache_take(c)) == NULL)
		return BS_ERR_CACHE_UNAVAILABLE;
	/* INCR, EXPIRE NX-style on the first hit, TTL: one round trip. */
	redisAppendCommand(ctx, "INCR %s", key);
	redisAppendCommand(ctx, "EXPIRE %s %d NX", key, window_s);
	redisAppendCommand(ctx, "TTL %s", key);
	if (redisGetReply(ctx, (void **)&r) != REDIS_OK || r == NULL ||
	    r->type != REDIS_REPLY_INTEGER)
		goto out;
	*count = (long)r->integer;
	freeReplyObject(r);
	r = NULL;
	if (redisGetReply(ctx, (void **)&r) != REDIS_OK || !reply_ok(r))
		goto out;
	freeReplyObject(r);
	r = NULL;
	if (redisGetReply(ctx, (void **)&r) != REDIS_OK || r == NULL ||
	    r->type != REDIS_REPLY_INTEGER)
		goto out;
	*ttl = r->integer > 0 ? (long)r->integer : window_s;
	ok = true;
out:
	freeReplyObject(r);
	cache_give(c, ctx, ok);
	return ok ? BS_OK : BS_ERR_CACHE_UNAVAILABLE;
}

bs_err
cache_stream_add(struct cache *c, const char *key, long maxlen, const char *type,
    const char *data, char id[64])
{
	redisContext	*ctx;
	redisReply	*r;
	bool		 ok;

	if (!cache_configured(c) || (ctx = cache_take(c)) == NULL)
		return BS_ERR_CACHE_UNAVAILABLE;
	r = redisCommand(ctx, "XADD %s MAXLEN ~ %ld * type %s data %s", key,
	    maxlen, type, data);
	ok = r != NULL && r->type == REDIS_REPLY_STRING;
	if (ok)
		snprintf(id, 64, "%s", r->str);
	freeReplyObject(r);
	cache_give(c, ctx, ok);
	return ok ? BS_OK : BS_ERR_CACHE_UNAVAILABLE;
}

struct cache_reader {
	redisContext	*ctx;
};

bs_err
cache_reader_open(struct cache *c, int block_ms, struct cache_reader **out)
{
	struct cache_reader	*r;
	struct timeval		 tv;

	*out = NULL;
	if (!cache_configured(c))
		return BS_ERR_CACHE_UNAVAILABLE;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return BS_ERR_NOMEM;
	if ((r->ctx = cache_connect(c)) == NULL) {
		free(r);
		return BS_ERR_CACHE_UNAVAILABLE;
	}
	/* The blocking read must end on the server's side first. */
	tv.tv_sec = block_ms / 1000 + c->timeout.tv_sec + 1;
	tv.tv_usec = 0;
	redisSetTimeout(r->ctx, tv);
	*out = r;
	return BS_OK;
}

void
cache_reader_close(struct cache_reader *r)
{
	if (r == NULL)
		return;
	if (r->ctx != NULL)
		redisFree(r->ctx);
	free(r);
}

bs_err
cache_stream_last_id(struct cache_reader *r, const char *key, char id[64])
{
	redisReply	*rep;
	bs_err		 e = BS_ERR_CACHE_UNAVAILABLE;

	rep = redisCommand(r->ctx, "XREVRANGE %s + - COUNT 1", key);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		goto out;
	if (rep->elements == 0)
		snprintf(id, 64, "0-0");
	else if (rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->elements >= 1 &&
	    rep->element[0]->element[0]->type == REDIS_REPLY_STRING)
		snprintf(id, 64, "%s", rep->element[0]->element[0]->str);
	else
		goto out;
	e = BS_OK;
out:
	freeReplyObject(rep);
	return e;
}

/* One XREAD entry: [id, [field, value, ...]]. */
static void
stream_entry_deliver(redisReply *entry, char last_id[64], cache_stream_cb cb,
    void *arg)
{
	redisReply	*fields;
	const char	*type = NULL, *data = NULL;
	size_t		 i;

	if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
	    entry->element[0]->type != REDIS_REPLY_STRING ||
	    entry->element[1]->type != REDIS_REPLY_ARRAY)
		return;
	fields = entry->element[1];
	for (i = 0; i + 1 < fields->elements; i += 2) {
		if (fields->element[i]->type != REDIS_REPLY_STRING ||
		    fields->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(fields->element[i]->str, "type") == 0)
			type = fields->element[i + 1]->str;
		else if (strcmp(fields->element[i]->str, "data") == 0)
			data = fields->element[i + 1]->str;
	}
	snprintf(last_id, 64, "%s", entry->element[0]->str);
	if (type != NULL && data != NULL)
		cb(arg, last_id, type, data);
}

bs_err
cache_stream_read(struct cache_reader *r, const char *key, char last_id[64],
    int block_ms, cache_stream_cb cb, void *arg)
{
	redisReply	*rep, *entries;
	size_t		 i;
	bs_err		 e = BS_ERR_CACHE_UNAVAILABLE;

	rep = redisCommand(r->ctx, "XREAD COUNT 100 BLOCK %d STREAMS %s %s",
	    block_ms, key, last_id);
	if (rep == NULL)
		goto out;
	if (rep->type == REDIS_REPLY_NIL) {
		e = BS_ERR_TIMEOUT;
		goto out;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
	    rep->element[0]->type != REDIS_REPLY_ARRAY ||
	    rep->element[0]->elements != 2)
		goto out;
	entries = rep->element[0]->element[1];
	if (entries->type != REDIS_REPLY_ARRAY)
		goto out;
	for (i = 0; i < entries->elements; i++)
		stream_entry_deliver(entries->element[i], last_id, cb, arg);
	e = BS_OK;
out:
	freeReplyObject(rep);
	return e;
}

bs_err
cache_get(struct cache *c, const char *key, size_t max, char **value)
{
	redisContext	*ctx;
	redisReply	*r;
	bs_err		 e = BS_ERR_CACHE_UNAVAILABLE;

	*value = NULL;
	if (!cache_configured(c) || (ctx = cache_take(c)) == NULL)
		return BS_ERR_CACHE_UNAVAILABLE;
	r = redisCommand(ctx, "GET %s", key);
	if (r != NULL && r->type == REDIS_REPLY_NIL)
		e = BS_ERR_NOT_FOUND;
	else if (r != NULL && r->type == REDIS_REPLY_STRING) {
		if ((size_t)r->len > max)
			e = BS_ERR_TOO_LARGE;
		else if ((*value = strndup(r->str, (size_t)r->len)) == NULL)
			e = BS_ERR_NOMEM;
		else
			e = BS_OK;
	}
	cache_give(c, ctx, r != NULL && r->type != REDIS_REPLY_ERROR);
	freeReplyObject(r);
	return e;
}

bs_err
cache_set(struct cache *c, const char *key, const char *value, long ttl_s)
{
	redisContext	*ctx;
	redisReply	*r;
	bool		 ok;

	if (!cache_configured(c) || (ctx = cache_take(c)) == NULL)
		return BS_ERR_CACHE_UNAVAILABLE;
	r = redisCommand(ctx, "SET %s %s EX %ld", key, value, ttl_s);
	ok = reply_ok(r);
	freeReplyObject(r);
	cache_give(c, ctx, ok);
	return ok ? BS_OK : BS_ERR_CACHE_UNAVAILABLE;
}
