#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/engine.h"
#include "brainstorm/events.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/migrate.h"
#include "brainstorm/server.h"
#include "brainstorm/validate.h"

#define READY_RETRY_AFTER_S	5
#define DEBUG_SLEEP_MAX_MS	30000

/* Requests in api_ops_debug_sleep now: tests wait for one to be asleep. */
static atomic_long	 debug_sleeping;

/* Liveness: answers without touching anything else. */
void
api_ops_health(struct http_ctx *ctx)
{
	json_object	*body = json_object_new_object();

	json_object_object_add(body, "status", json_object_new_string("ok"));
	json_object_object_add(body, "version",
	    json_object_new_string(PACKAGE_VERSION));
	http_respond_json(ctx, 200, body);
}

/* "ok", or why the database is not usable for this version. */
static const char *
ready_database(struct app *app, const char **migrations)
{
	struct db_conn	*conn = NULL;
	const char	*state = "ok";
	char		 err[256];
	int		 version = 0;
	bs_err		 e;

	*migrations = "unknown";
	if ((e = db_pool_checkout(app->db, &conn)) != BS_OK) {
		state = e == BS_ERR_POOL_TIMEOUT ? "busy" : "unreachable";
		goto out;
	}
	if (migrate_db_version(db_conn_pg(conn), &version, err, sizeof(err)) != BS_OK) {
		state = PQstatus(db_conn_pg(conn)) == CONNECTION_OK ? "error" :
		    "unreachable";
		goto out;
	}
	*migrations = version == app->migrations_latest ? "ok" :
	    version < app->migrations_latest ? "pending" : "ahead";
out:
	db_pool_release(app->db, conn);
	return state;
}

/* Readiness: PostgreSQL reachable, migrations current, Redis if configured. */
void
api_ops_ready(struct http_ctx *ctx)
{
	json_object	*body, *checks;
	const char	*database, *migrations, *redis;
	bool		 ready;

	database = ready_database(ctx->app, &migrations);
	if (!cache_configured(ctx->app->cache))
		redis = "disabled";
	else
		redis = cache_ping(ctx->app->cache) == BS_OK ? "ok" : "down";
	/* "ahead": a newer release migrated first; this one still serves. */
	ready = strcmp(database, "ok") == 0 && (strcmp(migrations, "ok") == 0 ||
	    strcmp(migrations, "ahead") == 0);

	checks = json_object_new_object();
	json_object_object_add(checks, "database", json_object_new_string(database));
	json_object_object_add(checks, "migrations",
	    json_object_new_string(migrations));
	json_object_object_add(checks, "redis", json_object_new_string(redis));
	if (ready) {
		body = json_object_new_object();
		json_object_object_add(body, "status", json_object_new_string(
		    strcmp(redis, "down") == 0 ? "degraded" : "ready"));
		json_object_object_add(body, "checks", checks);
		http_respond_json(ctx, 200, body);
		return;
	}
	body = http_error_body("not_ready", strcmp(database, "ok") != 0 ?
	    "The database is not reachable." :
	    "The database schema is not at this version's migrations.",
	    ctx->req.request_id);
	json_object_object_add(body, "status", json_object_new_string("not_ready"));
	json_object_object_add(body, "checks", checks);
	http_header_add(ctx, "Retry-After", "%d", READY_RETRY_AFTER_S);
	http_respond_json(ctx, 503, body);
}

/* Streams, events, the turn queue and this process's engine, read now. */
static void
live_read(struct app *app, struct metrics_live *m)
{
	struct events_status	 st;
	struct events_counters	 ev;
	struct engine_stats	 en;
	struct db_conn		*conn = NULL;

	memset(m, 0, sizeof(*m));
	server_connections(&m->fastcgi_open, &m->fastcgi_accepted);
	m->streams = m->channels = m->nchan_shm_used_kib = -1;
	m->nchan_shm_limit_kib = m->turns_queued = m->turns_running = -1;
	if (events_status_get(app->events, &st) == BS_OK) {
		m->streams = st.subscribers;
		m->channels = st.channels;
		m->nchan_shm_used_kib = st.shm_used_kib;
		m->nchan_shm_limit_kib = st.shm_limit_kib;
	}
	events_counters_get(app->events, &ev);
	m->events_published = ev.published;
	m->events_merged = ev.merged;
	m->events_dropped = ev.dropped;
	m->events_failed = ev.failed;
	m->events_queued_bytes = ev.queued_bytes;
	if (db_pool_checkout(app->db, &conn) == BS_OK)
		db_turns_count(conn, &m->turns_queued, &m->turns_running);
	db_pool_release(app->db, conn);
	if ((m->engine = app->engine != NULL)) {
		engine_stats_get(app->engine, &en);
		m->engine_turns = en.running;
		m->engine_claimed = en.claimed;
		m->engine_finished = en.finished;
		m->engine_taken_over = en.taken_over;
		m->engine_loop_lag_s = en.loop_lag_s;
	}
}

void
api_ops_metrics(struct http_ctx *ctx)
{
	struct metrics_live	 live;
	struct metrics_pool	 pool;
	struct buf		 out;

	buf_init(&out, 4 * 1024 * 1024);
	db_pool_stats(ctx->app->db, &pool.idle, &pool.busy, &pool.max);
	live_read(ctx->app, &live);
	if (metrics_render(&out, &pool) != BS_OK ||
	    metrics_render_live(&out, &live) != BS_OK ||
	    (ctx->app->cfg->debug_routes && buf_printf(&out, "# HELP "
	    "debug_sleep_in_progress Requests in /api/debug/sleep (DEBUG_ROUTES)."
	    "\n# TYPE debug_sleep_in_progress gauge\ndebug_sleep_in_progress "
	    "%ld\n", atomic_load(&debug_sleeping)) != BS_OK)) {
		http_respond_error(ctx, 500, "internal_error",
		    "The metrics could not be rendered.");
		goto out;
	}
	http_respond_text(ctx, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf_cstr(&out), out.len);
out:
	buf_free(&out);
}

/* Test aid (DEBUG_ROUTES): hold a request thread for ?ms= milliseconds. */
void
api_ops_debug_sleep(struct http_ctx *ctx)
{
	static const struct field_rule rules[] = {
		{ "ms", FIELD_INT, true, 0, DEBUG_SLEEP_MAX_MS, NULL },
	};
	struct field_value q[1];
	json_object	*body;
	struct timespec	 ts;
	long		 ms;

	if (!api_query_valid(ctx, rules, 1, q))
		return;
	ms = q[0].num;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	atomic_fetch_add(&debug_sleeping, 1);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	atomic_fetch_sub(&debug_sleeping, 1);
	body = json_object_new_object();
	json_object_object_add(body, "slept_ms", json_object_new_int64(ms));
	http_respond_json(ctx, 200, body);
}

/* Test aid (DEBUG_ROUTES): answer the parsed JSON body. */
void
api_ops_debug_echo(struct http_ctx *ctx)
{
	json_object	*body = json_object_new_object();

	json_object_object_add(body, "json", json_object_get(ctx->req.json));
	http_respond_json(ctx, 200, body);
}

/* Test aid (DEBUG_ROUTES): a 500, as a failing handler answers (error reports). */
void
api_ops_debug_fail(struct http_ctx *ctx)
{
	http_respond_error(ctx, 500, "internal_error",
	    "Failing on purpose (DEBUG_ROUTES).");
}
