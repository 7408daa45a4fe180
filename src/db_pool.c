#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brainstorm/clock.h"
#include "brainstorm/db.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"

#define PREPARED_MAX	256

/*
 * libpq grows a connection's output buffer to its largest message and
 * never shrinks it: a connection that sent a 26 MiB import kept 26 MB of
 * its worker's memory for good (a worker at 39 to 55 MB after six imports,
 * 13 MB before; 83 to 94 MB after a test's imports). A connection that
 * sent a statement with more parameter bytes than this is closed when it
 * is released, and its slot connects again at its next checkout.
 */
#define DB_CONN_RETIRE_BYTES	((size_t)1 << 20)

struct db_conn {
	PGconn			*pg;		/* NULL until connected */
	bool			 busy;
	bool			 retire;	/* closed at release: see above */
	size_t			 nprepared;
	const struct db_stmt	*prepared[PREPARED_MAX];
};

/*
 * lock guards busy flags, the open count and slot ownership. A checked-out
 * slot (busy) belongs to one thread, which may use its PGconn without the
 * lock; connecting happens outside the lock on a slot already marked busy.
 */
struct db_pool {
	pthread_mutex_t	 lock;
	pthread_cond_t	 freed;
	struct db_conn	*conns;
	int		 max;
	int		 timeout_ms;
	char		*conninfo;
	char		 options[128];
};

/* libpq prints notices to stderr by itself; they belong in the JSON log. */
static void
db_notice(void *arg, const char *message)
{
	json_object	*fields = json_object_new_object();
	size_t		 len = strlen(message);

	(void)arg;
	while (len > 0 && message[len - 1] == '\n')
		len--;
	json_object_object_add(fields, "notice",
	    json_object_new_string_len(message, (int)len));
	log_write(LOG_LEVEL_WARN, "database notice", fields);
}

static bs_err
db_conn_open(struct db_pool *pool, struct db_conn *c)
{
	const char *const keywords[] = { "dbname", "connect_timeout",
	    "application_name", "options", NULL };
	const char *const values[] = { pool->conninfo, "3", "brainstorm",
	    pool->options, NULL };
	json_object	*fields;

	c->nprepared = 0;
	c->pg = PQconnectdbParams(keywords, values, 1);
	if (c->pg == NULL)
		return BS_ERR_NOMEM;
	if (PQstatus(c->pg) != CONNECTION_OK) {
		fields = json_object_new_object();
		json_object_object_add(fields, "error",
		    json_object_new_string(PQerrorMessage(c->pg)));
		log_write(LOG_LEVEL_WARN, "database connection failed", fields);
		PQfinish(c->pg);
		c->pg = NULL;
		return BS_ERR_DB_UNAVAILABLE;
	}
	PQsetNoticeProcessor(c->pg, db_notice, NULL);
	return BS_OK;
}

static void
db_conn_close(struct db_conn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	c->retire = false;
	c->nprepared = 0;
}

/*
 * The parameters about to be sent: past DB_CONN_RETIRE_BYTES, retire (no
 * more of them is read than that).
 */
static void
db_conn_sending(struct db_conn *c, int nparams, const char *const *values)
{
	size_t	 left = DB_CONN_RETIRE_BYTES, n;
	int	 i;

	for (i = 0; i < nparams && !c->retire; i++) {
		if (values[i] == NULL)
			continue;
		if ((n = strnlen(values[i], left + 1)) > left)
			c->retire = true;
		else
			left -= n;
	}
}

/*
 * Reads of an idle connection's socket at checkout before it is given up
 * on: a server that went away left at most a FATAL message and then EOF.
 */
#define DB_ALIVE_READS	4

/*
 * An idle connection whose server went away has unread input waiting:
 * consume it so PQstatus tells the truth. One read is not enough. A server
 * that shuts down (or is told to end the session) first sends FATAL
 * "terminating connection due to administrator command": libpq reads that
 * message, takes it for a notice and keeps PQstatus at CONNECTION_OK; only
 * the next read sees EOF and marks the connection bad. So read until
 * nothing is waiting (#12: after a PostgreSQL restart every idle pooled
 * connection used to fail one request with 503). An idle session that
 * still has input after a few reads is not trusted either.
 */
static bool
db_conn_alive(struct db_conn *c)
{
	struct pollfd	 pfd;
	int		 reads;

	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
		return false;
	for (reads = 0; ; reads++) {
		pfd.fd = PQsocket(c->pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, 0) < 0)
			return false;
		if (pfd.revents == 0)
			break;			/* nothing waiting: the usual case */
		if ((pfd.revents & (POLLERR | POLLNVAL)) != 0 ||
		    reads == DB_ALIVE_READS || !PQconsumeInput(c->pg) ||
		    PQstatus(c->pg) != CONNECTION_OK)
			return false;
	}
	return PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

bs_err
db_pool_create(const struct db_pool_options *opt, struct db_pool **out)
{
	struct db_pool	*pool;
	int		 i, opened = 0;

	*out = NULL;
	if (opt->max < 1 || opt->min < 0 || opt->min > opt->max)
		return BS_ERR_INVALID;
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return BS_ERR_NOMEM;
	pool->conns = calloc((size_t)opt->max, sizeof(*pool->conns));
	pool->conninfo = strdup(opt->conninfo != NULL ? opt->conninfo : "");
	if (pool->conns == NULL || pool->conninfo == NULL) {
		free(pool->conns);
		free(pool->conninfo);
		free(pool);
		return BS_ERR_NOMEM;
	}
	pool->max = opt->max;
	pool->timeout_ms = opt->checkout_timeout_ms;
	/*
	 * Generic plans: every statement is a lookup by ids whose best plan
	 * does not depend on their values, and PostgreSQL's own choice kept
	 * planning some of them again on every execution (the guard one time
	 * in three, the item list always), which cost more than running them.
	 */
	snprintf(pool->options, sizeof(pool->options),
	    "-c statement_timeout=%d -c plan_cache_mode=force_generic_plan",
	    opt->statement_timeout_ms);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);

	/* PostgreSQL may be down at start: the pool fills in later. */
	for (i = 0; i < opt->min; i++)
		if (db_conn_open(pool, &pool->conns[i]) == BS_OK)
			opened++;
	if (opened < opt->min)
		log_msgf(LOG_LEVEL_WARN, "database pool opened %d of %d connections",
		    opened, opt->min);
	*out = pool;
	return BS_OK;
}

void
db_pool_destroy(struct db_pool *pool)
{
	int	 i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->max; i++)
		db_conn_close(&pool->conns[i]);
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
	free(pool->conns);
	free(pool->conninfo);
	free(pool);
}

bs_err
db_pool_checkout(struct db_pool *pool, struct db_conn **out)
{
	struct db_conn	*c = NULL;
	struct timespec	 deadline;
	int		 i, rc = 0, empty = -1;
	bs_err		 e;

	*out = NULL;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += pool->timeout_ms / 1000;
	deadline.tv_nsec += (long)(pool->timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		empty = -1;
		for (i = 0; i < pool->max; i++) {
			if (pool->conns[i].busy)
				continue;
			if (pool->conns[i].pg != NULL) {
				c = &pool->conns[i];
				break;
			}
			if (empty < 0)
				empty = i;
		}
		if (c == NULL && empty >= 0)
			c = &pool->conns[empty];
		if (c != NULL || rc == ETIMEDOUT)
			break;
		rc = pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline);
	}
	if (c != NULL)
		c->busy = true;
	pthread_mutex_unlock(&pool->lock);
	if (c == NULL)
		return BS_ERR_POOL_TIMEOUT;

	/* Outside the lock, on a slot this thread owns: a dead session is
	 * replaced by a fresh one here, before a query could fail on it. */
	if (c->pg != NULL && !db_conn_alive(c))
		db_conn_close(c);
	if (c->pg == NULL && (e = db_conn_open(pool, c)) != BS_OK) {
		db_pool_release(pool, c);
		return e;
	}
	*out = c;
	return BS_OK;
}

void
db_pool_release(struct db_pool *pool, struct db_conn *conn)
{
	if (conn == NULL)
		return;
	/*
	 * A broken session or an abandoned transaction is not handed on, nor
	 * the buffers of a large statement.
	 */
	if (conn->pg != NULL && (conn->retire ||
	    PQstatus(conn->pg) != CONNECTION_OK ||
	    PQtransactionStatus(conn->pg) != PQTRANS_IDLE ||
	    PQpipelineStatus(conn->pg) != PQ_PIPELINE_OFF))
		db_conn_close(conn);
	pthread_mutex_lock(&pool->lock);
	conn->busy = false;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

void
db_pool_stats(struct db_pool *pool, int *idle, int *busy, int *max)
{
	int	 i;

	*idle = *busy = 0;
	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < pool->max; i++) {
		if (pool->conns[i].busy)
			(*busy)++;
		else if (pool->conns[i].pg != NULL)
			(*idle)++;
	}
	*max = pool->max;
	pthread_mutex_unlock(&pool->lock);
}

PGconn *
db_conn_pg(struct db_conn *conn)
{
	return conn->pg;
}

static bool
db_conn_prepared(const struct db_conn *c, const struct db_stmt *stmt)
{
	size_t	 i;

	for (i = 0; i < c->nprepared; i++)
		if (c->prepared[i] == stmt)
			return true;
	return false;
}

static bs_err
db_result_check(PGresult *res, char *sqlstate, PGconn *pg)
{
	const char	*state;

	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		return BS_OK;
	default:
		break;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (sqlstate != NULL)
		snprintf(sqlstate, 6, "%s", state != NULL ? state : "");
	if (PQstatus(pg) != CONNECTION_OK)
		return BS_ERR_DB_UNAVAILABLE;
	log_msgf(LOG_LEVEL_WARN, "query failed: %s (SQLSTATE %s)",
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "unknown",
	    state != NULL ? state : "?");
	return BS_ERR_DB;
}

/* Prepare stmt on the connection unless it is, or no slot is left (false). */
static bs_err
db_conn_prepare(struct db_conn *conn, const struct db_stmt *stmt,
    char *sqlstate, bool *prepared)
{
	PGresult	*res;
	bs_err		 e;

	*prepared = db_conn_prepared(conn, stmt);
	if (*prepared || conn->nprepared == PREPARED_MAX)
		return BS_OK;
	res = PQprepare(conn->pg, stmt->name, stmt->sql, stmt->nparams, NULL);
	e = db_result_check(res, sqlstate, conn->pg);
	PQclear(res);
	if (e == BS_OK) {
		conn->prepared[conn->nprepared++] = stmt;
		*prepared = true;
	}
	return e;
}

/* db_exec with the result in format (0 text, 1 binary). */
static bs_err
db_exec_format(struct db_conn *conn, const struct db_stmt *stmt,
    const char *const *values, PGresult **out, char *sqlstate, int format)
{
	PGresult	*res = NULL;
	double		 t0 = bs_monotonic_s();
	bool		 prepared;
	bs_err		 e;

	*out = NULL;
	if (sqlstate != NULL)
		sqlstate[0] = '\0';
	if (conn->pg == NULL)
		return BS_ERR_DB_UNAVAILABLE;
	if ((e = db_conn_prepare(conn, stmt, sqlstate, &prepared)) != BS_OK)
		goto out;
	db_conn_sending(conn, stmt->nparams, values);
	/* More statements than slots: this one runs unprepared. */
	res = prepared ? PQexecPrepared(conn->pg, stmt->name, stmt->nparams,
	    values, NULL, NULL, format) : PQexecParams(conn->pg, stmt->sql,
	    stmt->nparams, NULL, values, NULL, NULL, format);
	if ((e = db_result_check(res, sqlstate, conn->pg)) != BS_OK)
		goto out;
	*out = res;
	res = NULL;
out:
	PQclear(res);
	metrics_db_observe(bs_monotonic_s() - t0);
	return e;
}

bs_err
db_exec(struct db_conn *conn, const struct db_stmt *stmt,
    const char *const *values, PGresult **out, char *sqlstate)
{
	return db_exec_format(conn, stmt, values, out, sqlstate, 0);
}

bs_err
db_exec_binary(struct db_conn *conn, const struct db_stmt *stmt,
    const char *const *values, PGresult **out, char *sqlstate)
{
	return db_exec_format(conn, stmt, values, out, sqlstate, 1);
}

bs_err
db_run(struct db_conn *conn, const struct db_stmt *stmt,
    const char *const *values)
{
	PGresult	*res = NULL;
	bs_err		 e;

	e = db_exec(conn, stmt, values, &res, NULL);
	PQclear(res);
	return e;
}

bs_err
db_exec_int64s(struct db_conn *conn, const struct db_stmt *stmt,
    const char *const *values, long long *out, int n)
{
	PGresult	*res = NULL;
	int		 i;
	bs_err		 e;

	if ((e = db_exec(conn, stmt, values, &res, NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1 || PQnfields(res) < n) {
		e = BS_ERR_INTERNAL;
		goto out;
	}
	for (i = 0; i < n && e == BS_OK; i++)
		e = db_int64(PQgetvalue(res, 0, i), &out[i]);
out:
	PQclear(res);
	return e;
}

/*
 * Between the Sync messages of the extended protocol the statements run in
 * one implicit transaction, which an error aborts. The connection leaves
 * pipeline mode only when every result was read; otherwise it is broken
 * and db_pool_release closes it.
 */
bs_err
db_pipeline(struct db_conn *conn, const struct db_step *steps, size_t n,
    PGresult **out, char *sqlstate)
{
	PGresult	*res;
	bool		 prepared[DB_PIPELINE_MAX];
	size_t		 i, sent = 0;
	double		 t0 = bs_monotonic_s();
	bs_err		 e = BS_OK, ee;

	*out = NULL;
	if (sqlstate != NULL)
		sqlstate[0] = '\0';
	if (n == 0 || n > DB_PIPELINE_MAX)
		return BS_ERR_INVALID;
	if (conn->pg == NULL)
		return BS_ERR_DB_UNAVAILABLE;
	for (i = 0; i < n; i++)
		if ((e = db_conn_prepare(conn, steps[i].stmt, sqlstate,
		    &prepared[i])) != BS_OK)
			return e;
	if (PQenterPipelineMode(conn->pg) != 1)
		return BS_ERR_DB;
	for (; sent < n; sent++) {
		const struct db_stmt *s = steps[sent].stmt;

		db_conn_sending(conn, s->nparams, steps[sent].values);
		if ((prepared[sent] ? PQsendQueryPrepared(conn->pg, s->name,
		    s->nparams, steps[sent].values, NULL, NULL, 0) :
		    PQsendQueryParams(conn->pg, s->sql, s->nparams, NULL,
		    steps[sent].values, NULL, NULL, 0)) != 1)
			break;
	}
	if (PQpipelineSync(conn->pg) != 1) {
		e = BS_ERR_DB_UNAVAILABLE;
		goto out;
	}
	if (sent < n)
		e = BS_ERR_DB;
	/* Each statement's result, then the end of its results (NULL). */
	for (i = 0; i < sent; i++) {
		while ((res = PQgetResult(conn->pg)) != NULL) {
			if (e == BS_OK && PQresultStatus(res) !=
			    PGRES_PIPELINE_ABORTED) {
				ee = db_result_check(res, sqlstate, conn->pg);
				if (ee != BS_OK)
					e = ee;
				else if (i == n - 1 && *out == NULL) {
					*out = res;
					res = NULL;
				}
			}
			PQclear(res);
		}
	}
	if ((res = PQgetResult(conn->pg)) == NULL ||
	    (PQresultStatus(res) != PGRES_PIPELINE_SYNC && e == BS_OK))
		e = BS_ERR_DB_UNAVAILABLE;
	PQclear(res);
out:
	if (PQexitPipelineMode(conn->pg) != 1 && e == BS_OK)
		e = BS_ERR_DB_UNAVAILABLE;
	if (e != BS_OK) {
		PQclear(*out);
		*out = NULL;
	}
	metrics_db_observe(bs_monotonic_s() - t0);
	return e;
}

bs_err
db_command(struct db_conn *conn, const char *sql)
{
	PGresult	*res;
	bs_err		 e;

	if (conn->pg == NULL)
		return BS_ERR_DB_UNAVAILABLE;
	res = PQexec(conn->pg, sql);
	e = db_result_check(res, NULL, conn->pg);
	PQclear(res);
	return e;
}
