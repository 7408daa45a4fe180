/*
 * The migrations runner: a loaded set (migrate_load.c) against the
 * schema_migrations table. It talks to PostgreSQL through its own PGconn
 * (never the worker's pool) because it must hold a session-level advisory
 * lock across many transactions.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "brainstorm/buf.h"
#include "brainstorm/clock.h"
#include "brainstorm/migrate.h"
#include "brainstorm/validate.h"

#define MIGRATE_LOCK_NAME	"brainstorm.migrate"
#define MIGRATE_SQLSTATE_LOCK_NOT_AVAILABLE "55P03"

static const char migrate_sql_table_exists[] =
	"SELECT to_regclass('schema_migrations') IS NOT NULL";
static const char migrate_sql_table_create[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version integer PRIMARY KEY,"
	" name text NOT NULL,"
	" checksum text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";
static const char migrate_sql_applied[] =
	"SELECT version, name, checksum,"
	" to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	" FROM schema_migrations ORDER BY version";
static const char migrate_sql_insert[] =
	"INSERT INTO schema_migrations (version, name, checksum)"
	" VALUES ($1::integer, $2, $3)";
static const char migrate_sql_delete[] =
	"DELETE FROM schema_migrations WHERE version = $1::integer";

/* One parsed directory entry, before up and down files are paired. */
/* One row of schema_migrations. */
struct migrate_applied {
	int	 version;
	char	*name;
	char	*checksum;
	char	*applied_at;	/* ISO 8601, UTC */
};

/* What the database says has been applied, sorted by version. */
struct migrate_state {
	bool			 table_exists;
	struct migrate_applied	*rows;
	size_t			 count;
};

/* libsodium and the lock key are set up once per process. */
static pthread_once_t	migrate_once = PTHREAD_ONCE_INIT;
static int		migrate_sodium_status = -1;
static int64_t		migrate_lock_key_value;

static void
migrate_init_once(void)
{
	unsigned char	hash[crypto_hash_sha256_BYTES];
	uint64_t	key = 0;
	size_t		i;

	migrate_sodium_status = sodium_init();
	if (migrate_sodium_status < 0)
		return;
	crypto_hash_sha256(hash, (const unsigned char *)MIGRATE_LOCK_NAME,
	    strlen(MIGRATE_LOCK_NAME));
	for (i = 0; i < sizeof key; i++)
		key = (key << 8) | hash[i];
	/* Reinterpret the bits: bigint is signed in PostgreSQL. */
	memcpy(&migrate_lock_key_value, &key, sizeof migrate_lock_key_value);
}

static void	migrate_printf(const struct migrate_options *opt,
		    const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
migrate_printf(const struct migrate_options *opt, const char *fmt, ...)
{
	va_list	ap;

	if (opt->out == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(opt->out, fmt, ap);
	va_end(ap);
}

static bs_err
migrate_init(char *err, size_t errlen)
{
	pthread_once(&migrate_once, migrate_init_once);
	if (migrate_sodium_status < 0) {
		bs_errf(err, errlen, "libsodium failed to initialise");
		return BS_ERR_INTERNAL;
	}
	return BS_OK;
}

int64_t
migrate_lock_key(void)
{
	pthread_once(&migrate_once, migrate_init_once);
	return migrate_lock_key_value;
}

/* Bounded parse of a whole decimal int. */
static bool
migrate_int_parse(const char *s, int *out)
{
	const char	*errstr;
	long long	 v;

	v = bs_strtonum(s, INT_MIN, INT_MAX, &errstr);
	if (errstr != NULL)
		return false;
	*out = (int)v;
	return true;
}

/* ----- talking to PostgreSQL ----- */

/* The server's message without its trailing newline. */
static void
migrate_pq_errf(PGconn *conn, const PGresult *res, const char *what,
    char *err, size_t errlen)
{
	const char	*msg = NULL;
	size_t		 len;

	if (res != NULL)
		msg = PQresultErrorMessage(res);
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(conn);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	bs_errf(err, errlen, "%s: %.*s", what, (int)len, msg);
}

/*
 * One parameterised statement. *out (when out is not NULL) receives the
 * result to PQclear; sqlstate (6 bytes, may be NULL) the SQLSTATE on failure.
 */
static bs_err
migrate_sql_exec(PGconn *conn, const char *sql, int nparams,
    const char *const *params, PGresult **out, char *sqlstate,
    const char *what, char *err, size_t errlen)
{
	PGresult	*res;
	ExecStatusType	 status;
	const char	*state;

	if (out != NULL)
		*out = NULL;
	if (sqlstate != NULL)
		sqlstate[0] = '\0';
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	status = PQresultStatus(res);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
		migrate_pq_errf(conn, res, what, err, errlen);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (sqlstate != NULL && state != NULL)
			snprintf(sqlstate, 6, "%s", state);
		PQclear(res);
		return PQstatus(conn) == CONNECTION_BAD ?
		    BS_ERR_DB_UNAVAILABLE : BS_ERR_DB;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return BS_OK;
}

/* The connection must be ours alone: connected and outside a transaction. */
static bs_err
migrate_conn_check(PGconn *conn, const struct migration_set *set,
    char *err, size_t errlen)
{
	if (conn == NULL || set == NULL) {
		bs_errf(err, errlen, "no connection or no migration set");
		return BS_ERR_INVALID;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		migrate_pq_errf(conn, NULL, "not connected to PostgreSQL", err,
		    errlen);
		return BS_ERR_DB_UNAVAILABLE;
	}
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		bs_errf(err, errlen, "the connection is inside a "
		    "transaction; migrations need a connection of their own");
		return BS_ERR_INVALID;
	}
	return BS_OK;
}

static bs_err	migrate_unlock(PGconn *conn, char *err, size_t errlen);

/*
 * Take the session-level advisory lock, waiting at most timeout_ms (0:
 * forever). lock_timeout is put back afterwards so that it does not apply to
 * the migrations' own statements.
 */
static bs_err
migrate_lock(PGconn *conn, int timeout_ms, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	char		 key[32], timeout[32], sqlstate[6];
	char		*previous = NULL;
	const char	*params[1];
	bs_err		 rc;

	snprintf(key, sizeof key, "%" PRId64, migrate_lock_key());
	snprintf(timeout, sizeof timeout, "%dms", timeout_ms);

	rc = migrate_sql_exec(conn, "SELECT current_setting('lock_timeout')",
	    0, NULL, &res, NULL, "reading lock_timeout", err, errlen);
	if (rc != BS_OK)
		goto out;
	previous = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (previous == NULL) {
		bs_errf(err, errlen, "out of memory");
		rc = BS_ERR_NOMEM;
		goto out;
	}
	params[0] = timeout;
	rc = migrate_sql_exec(conn,
	    "SELECT set_config('lock_timeout', $1, false)", 1, params, NULL,
	    NULL, "setting lock_timeout", err, errlen);
	if (rc != BS_OK)
		goto out;

	params[0] = key;
	rc = migrate_sql_exec(conn, "SELECT pg_advisory_lock($1::bigint)", 1,
	    params, NULL, sqlstate, "taking the migration lock", err, errlen);
	if (rc == BS_ERR_DB &&
	    strcmp(sqlstate, MIGRATE_SQLSTATE_LOCK_NOT_AVAILABLE) == 0) {
		bs_errf(err, errlen, "another migrator holds the migration "
		    "lock (pg_advisory_lock %s, \"%s\"); gave up after %d ms",
		    key, MIGRATE_LOCK_NAME, timeout_ms);
		rc = BS_ERR_LOCKED;
	}
out:
	if (previous != NULL) {
		params[0] = previous;
		/* Already failing or not, the setting goes back. */
		if (migrate_sql_exec(conn,
		    "SELECT set_config('lock_timeout', $1, false)", 1, params,
		    NULL, NULL, "restoring lock_timeout",
		    rc == BS_OK ? err : NULL, errlen) != BS_OK && rc == BS_OK) {
			/* The caller sees a failure: do not keep the lock. */
			migrate_unlock(conn, NULL, 0);
			rc = BS_ERR_DB;
		}
	}
	PQclear(res);
	free(previous);
	return rc;
}

static bs_err
migrate_unlock(PGconn *conn, char *err, size_t errlen)
{
	char		 key[32];
	const char	*params[1] = { key };

	snprintf(key, sizeof key, "%" PRId64, migrate_lock_key());
	return migrate_sql_exec(conn, "SELECT pg_advisory_unlock($1::bigint)",
	    1, params, NULL, NULL, "releasing the migration lock", err, errlen);
}

static bs_err
migrate_table_exists(PGconn *conn, bool *exists, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	bs_err		 rc;

	rc = migrate_sql_exec(conn, migrate_sql_table_exists, 0, NULL, &res,
	    NULL, "looking for schema_migrations", err, errlen);
	if (rc == BS_OK)
		*exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

static void
migrate_state_free(struct migrate_state *st)
{
	size_t	i;

	for (i = 0; i < st->count; i++) {
		free(st->rows[i].name);
		free(st->rows[i].checksum);
		free(st->rows[i].applied_at);
	}
	free(st->rows);
	memset(st, 0, sizeof *st);
}

static bs_err
migrate_state_load(PGconn *conn, struct migrate_state *st, char *err,
    size_t errlen)
{
	PGresult		*res = NULL;
	struct migrate_applied	*a;
	int			 i, n;
	bs_err			 rc;

	memset(st, 0, sizeof *st);
	rc = migrate_table_exists(conn, &st->table_exists, err, errlen);
	if (rc != BS_OK || !st->table_exists)
		goto out;
	rc = migrate_sql_exec(conn, migrate_sql_applied, 0, NULL, &res, NULL,
	    "reading schema_migrations", err, errlen);
	if (rc != BS_OK)
		goto out;
	n = PQntuples(res);
	st->rows = calloc(n > 0 ? (size_t)n : 1, sizeof *st->rows);
	if (st->rows == NULL) {
		bs_errf(err, errlen, "out of memory");
		rc = BS_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		a = &st->rows[st->count++];
		if (!migrate_int_parse(PQgetvalue(res, i, 0), &a->version)) {
			bs_errf(err, errlen, "schema_migrations has a bad "
			    "version \"%s\"", PQgetvalue(res, i, 0));
			rc = BS_ERR_INTERNAL;
			goto out;
		}
		a->name = strdup(PQgetvalue(res, i, 1));
		a->checksum = strdup(PQgetvalue(res, i, 2));
		a->applied_at = strdup(PQgetvalue(res, i, 3));
		if (a->name == NULL || a->checksum == NULL ||
		    a->applied_at == NULL) {
			bs_errf(err, errlen, "out of memory");
			rc = BS_ERR_NOMEM;
			goto out;
		}
	}
	rc = BS_OK;
out:
	PQclear(res);
	if (rc != BS_OK)
		migrate_state_free(st);
	return rc;
}

static const struct migrate_applied *
migrate_state_find(const struct migrate_state *st, int version)
{
	size_t	i;

	for (i = 0; i < st->count; i++) {
		if (st->rows[i].version == version)
			return &st->rows[i];
	}
	return NULL;
}

static int
migrate_state_newest(const struct migrate_state *st)
{
	return st->count > 0 ? st->rows[st->count - 1].version : 0;
}

/*
 * Whether files and database agree well enough to run: no applied file
 * changed, no applied version without a file and, when order is set, no
 * pending migration older than the newest applied one. Drift is reported
 * first because it is the most dangerous.
 */
static bs_err
migrate_state_check(const struct migration_set *set,
    const struct migrate_state *st, bool order, char *err, size_t errlen)
{
	const struct migrate_applied	*a;
	const struct migration		*m;
	size_t				 i;
	int				 newest = migrate_state_newest(st);

	for (i = 0; i < st->count; i++) {
		a = &st->rows[i];
		m = migrate_set_find(set, a->version);
		if (m != NULL && strcmp(m->checksum, a->checksum) != 0) {
			bs_errf(err, errlen, "migration %04d: %s/%s changed "
			    "after it was applied (checksum %.12s in the "
			    "database, %.12s on disk); restore the file and put "
			    "the change in a new migration", a->version, set->dir,
			    m->up_file, a->checksum, m->checksum);
			return BS_ERR_CHECKSUM;
		}
	}
	for (i = 0; i < st->count; i++) {
		a = &st->rows[i];
		if (migrate_set_find(set, a->version) == NULL) {
			bs_errf(err, errlen, "migration %04d (%s) is applied "
			    "in the database but %s has no file for it; is this "
			    "an older release than the database?", a->version,
			    a->name, set->dir);
			return BS_ERR_CONFLICT;
		}
	}
	if (!order)
		return BS_OK;
	for (i = 0; i < set->count; i++) {
		m = &set->items[i];
		if (m->version < newest &&
		    migrate_state_find(st, m->version) == NULL) {
			bs_errf(err, errlen, "migration %04d (%s) is pending "
			    "but the newer migration %04d is already applied; "
			    "renumber it after %04d", m->version, m->up_file,
			    newest, newest);
			return BS_ERR_CONFLICT;
		}
	}
	return BS_OK;
}

/* After a COPY in a migration file, get the connection back to idle. */
static void
migrate_copy_abort(PGconn *conn, ExecStatusType status)
{
	PGresult	*res;
	char		*data;

	if (status == PGRES_COPY_IN)
		PQputCopyEnd(conn, "COPY is not supported in migrations");
	else if (status == PGRES_COPY_OUT) {
		while (PQgetCopyData(conn, &data, 0) > 0)
			PQfreemem(data);
	}
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
}

/*
 * Run one migration's up or down SQL and its schema_migrations change in
 * one transaction: either both happen or neither.
 */
static bs_err
migrate_run_one(PGconn *conn, const struct migration *m, bool up,
    char *err, size_t errlen)
{
	PGresult	*res = NULL;
	ExecStatusType	 status;
	const char	*params[3];
	const char	*file = up ? m->up_file : m->down_file;
	char		 version[16], what[256];
	bool		 in_transaction = false;
	bs_err		 rc;

	snprintf(version, sizeof version, "%d", m->version);
	snprintf(what, sizeof what, "migration %04d (%s) failed", m->version,
	    file);

	rc = migrate_sql_exec(conn, "BEGIN", 0, NULL, NULL, NULL, what, err,
	    errlen);
	if (rc != BS_OK)
		goto out;
	in_transaction = true;

	/* The file may hold many statements: the simple query protocol. */
	res = PQexec(conn, up ? m->up_sql : m->down_sql);
	status = PQresultStatus(res);
	if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT ||
	    status == PGRES_COPY_BOTH) {
		migrate_copy_abort(conn, status);
		bs_errf(err, errlen, "%s: COPY is not supported in "
		    "migrations", what);
		rc = BS_ERR_INVALID;
		goto out;
	}
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
	    status != PGRES_EMPTY_QUERY) {
		migrate_pq_errf(conn, res, what, err, errlen);
		rc = PQstatus(conn) == CONNECTION_BAD ?
		    BS_ERR_DB_UNAVAILABLE : BS_ERR_DB;
		goto out;
	}
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		/* A COMMIT or ROLLBACK in the file ended our transaction. */
		bs_errf(err, errlen, "%s: the file ended the transaction "
		    "itself (COMMIT or ROLLBACK in it?); check the schema by "
		    "hand", what);
		in_transaction = false;
		rc = BS_ERR_INVALID;
		goto out;
	}
	PQclear(res);
	res = NULL;

	params[0] = version;
	if (up) {
		params[1] = m->name;
		params[2] = m->checksum;
		rc = migrate_sql_exec(conn, migrate_sql_insert, 3, params, NULL,
		    NULL, what, err, errlen);
	} else {
		rc = migrate_sql_exec(conn, migrate_sql_delete, 1, params, &res,
		    NULL, what, err, errlen);
		if (rc == BS_OK && strcmp(PQcmdTuples(res), "1") != 0) {
			bs_errf(err, errlen, "%s: schema_migrations has no "
			    "row for it", what);
			rc = BS_ERR_CONFLICT;
		}
	}
	if (rc != BS_OK)
		goto out;

	rc = migrate_sql_exec(conn, "COMMIT", 0, NULL, NULL, NULL, what, err,
	    errlen);
	in_transaction = false;
out:
	PQclear(res);
	if (in_transaction && PQstatus(conn) == CONNECTION_OK)
		PQclear(PQexec(conn, "ROLLBACK"));
	return rc;
}

static void
migrate_print_sql(const struct migrate_options *opt, const char *verb,
    const struct migration *m, const char *file, const char *sql)
{
	size_t	len = strlen(sql);

	migrate_printf(opt, "-- %s %04d %s (%s)\n", verb, m->version, m->name,
	    file);
	migrate_printf(opt, "%s%s", sql,
	    len > 0 && sql[len - 1] != '\n' ? "\n" : "");
}

/* What up and down share before they run: checks, lock, state. */
static bs_err
migrate_begin(PGconn *conn, const struct migration_set *set,
    const struct migrate_options *opt, bool create_table, bool *locked,
    struct migrate_state *st, char *err, size_t errlen)
{
	bool	exists = false;
	bs_err	rc;

	*locked = false;
	memset(st, 0, sizeof *st);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rc = migrate_init(err, errlen);
	if (rc != BS_OK)
		return rc;
	rc = migrate_conn_check(conn, set, err, errlen);
	if (rc != BS_OK)
		return rc;
	if (opt->lock_timeout_ms < 0) {
		bs_errf(err, errlen, "lock timeout %d ms: must be 0 "
		    "(wait forever) or more", opt->lock_timeout_ms);
		return BS_ERR_INVALID;
	}
	if (!opt->dry_run) {
		rc = migrate_lock(conn, opt->lock_timeout_ms, err, errlen);
		if (rc != BS_OK)
			return rc;
		*locked = true;
		/* Under the lock, so two first runs cannot race to create it. */
		if (create_table) {
			rc = migrate_table_exists(conn, &exists, err, errlen);
			if (rc == BS_OK && !exists)
				rc = migrate_sql_exec(conn,
				    migrate_sql_table_create, 0, NULL, NULL, NULL,
				    "creating schema_migrations", err, errlen);
			if (rc != BS_OK)
				return rc;
		}
	}
	return migrate_state_load(conn, st, err, errlen);
}

static void
migrate_end(PGconn *conn, bool locked, struct migrate_state *st, bs_err *rc,
    char *err, size_t errlen)
{
	if (locked && PQstatus(conn) == CONNECTION_OK) {
		/* Keep the first error's text. */
		if (migrate_unlock(conn, *rc == BS_OK ? err : NULL, errlen) !=
		    BS_OK && *rc == BS_OK)
			*rc = BS_ERR_DB;
	}
	migrate_state_free(st);
}

bs_err
migrate_up(PGconn *conn, const struct migration_set *set, int to,
    const struct migrate_options *opt, char *err, size_t errlen)
{
	static const struct migrate_options	 defaults;
	struct migrate_state			 st;
	const struct migration			*m;
	long long				 start;
	size_t					 i, done = 0;
	int					 target, newest;
	bool					 locked = false;
	bs_err					 rc;

	if (opt == NULL)
		opt = &defaults;
	memset(&st, 0, sizeof st);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (to < 0) {
		bs_errf(err, errlen, "cannot migrate up to %d: the version "
		    "must be 1 or more (0: the latest)", to);
		rc = BS_ERR_INVALID;
		goto out;
	}
	if (to > 0 && set != NULL && migrate_set_find(set, to) == NULL) {
		bs_errf(err, errlen, "cannot migrate up to %d: there is no "
		    "migration %04d in %s", to, to, set->dir);
		rc = BS_ERR_INVALID;
		goto out;
	}
	rc = migrate_begin(conn, set, opt, true, &locked, &st, err, errlen);
	if (rc != BS_OK)
		goto out;
	rc = migrate_state_check(set, &st, true, err, errlen);
	if (rc != BS_OK)
		goto out;

	target = to > 0 ? to : migrate_set_latest(set);
	newest = migrate_state_newest(&st);
	for (i = 0; i < set->count && set->items[i].version <= target; i++) {
		m = &set->items[i];
		if (migrate_state_find(&st, m->version) != NULL)
			continue;
		if (opt->dry_run) {
			migrate_print_sql(opt, "would apply", m, m->up_file,
			    m->up_sql);
			done++;
			continue;
		}
		start = bs_monotonic_ms();
		rc = migrate_run_one(conn, m, true, err, errlen);
		if (rc != BS_OK)
			goto out;
		migrate_printf(opt, "applied %04d %s (%d ms)\n", m->version,
		    m->name, (int)(bs_monotonic_ms() - start));
		newest = m->version;
		done++;
	}
	if (opt->dry_run)
		migrate_printf(opt, "-- dry run: %zu migration%s would be "
		    "applied; nothing was changed\n", done, done == 1 ? "" : "s");
	else if (done == 0 && newest > target)
		migrate_printf(opt, "nothing to apply: the database is at "
		    "version %04d, beyond %04d (migrate down rolls back)\n",
		    newest, target);
	else if (done == 0)
		migrate_printf(opt, "nothing to apply: the database is at "
		    "version %04d\n", newest);
	else
		migrate_printf(opt, "the database is at version %04d\n", newest);
out:
	migrate_end(conn, locked, &st, &rc, err, errlen);
	return rc;
}

bs_err
migrate_down(PGconn *conn, const struct migration_set *set, int count,
    const struct migrate_options *opt, char *err, size_t errlen)
{
	static const struct migrate_options	 defaults;
	struct migrate_state			 st;
	const struct migration			*m;
	long long				 start;
	size_t					 n, i, done = 0;
	bool					 locked = false;
	bs_err					 rc;

	if (opt == NULL)
		opt = &defaults;
	if (count == 0 || count < MIGRATE_DOWN_ALL) {
		if (err != NULL && errlen > 0)
			err[0] = '\0';
		bs_errf(err, errlen, "cannot roll back %d migrations: the "
		    "count must be 1 or more", count);
		return BS_ERR_INVALID;
	}
	rc = migrate_begin(conn, set, opt, false, &locked, &st, err, errlen);
	if (rc != BS_OK)
		goto out;
	/* Down may fix an out-of-order pending migration: no order check. */
	rc = migrate_state_check(set, &st, false, err, errlen);
	if (rc != BS_OK)
		goto out;

	n = count == MIGRATE_DOWN_ALL ? st.count : (size_t)count;
	if (n > st.count) {
		bs_errf(err, errlen, "cannot roll back %d migration%s: only "
		    "%zu %s applied", count, count == 1 ? "" : "s", st.count,
		    st.count == 1 ? "is" : "are");
		rc = BS_ERR_INVALID;
		goto out;
	}
	/* Every down file must exist before the first one runs. */
	for (i = st.count - n; i < st.count; i++) {
		m = migrate_set_find(set, st.rows[i].version);
		if (m->down_sql == NULL) {
			bs_errf(err, errlen, "migration %04d (%s) has no down "
			    "file %s/%04d_%s.down.sql; nothing was rolled back",
			    m->version, m->up_file, set->dir, m->version,
			    m->name);
			rc = BS_ERR_INVALID;
			goto out;
		}
	}
	for (i = st.count; i > st.count - n; i--) {
		m = migrate_set_find(set, st.rows[i - 1].version);
		if (opt->dry_run) {
			migrate_print_sql(opt, "would roll back", m, m->down_file,
			    m->down_sql);
			done++;
			continue;
		}
		start = bs_monotonic_ms();
		rc = migrate_run_one(conn, m, false, err, errlen);
		if (rc != BS_OK)
			goto out;
		migrate_printf(opt, "rolled back %04d %s (%d ms)\n", m->version,
		    m->name, (int)(bs_monotonic_ms() - start));
		done++;
	}
	if (opt->dry_run)
		migrate_printf(opt, "-- dry run: %zu migration%s would be rolled "
		    "back; nothing was changed\n", done, done == 1 ? "" : "s");
	else if (done == 0)
		migrate_printf(opt, "nothing to roll back\n");
	else
		migrate_printf(opt, "the database is at version %04d\n",
		    i > 0 ? st.rows[i - 1].version : 0);
out:
	migrate_end(conn, locked, &st, &rc, err, errlen);
	return rc;
}

static void
migrate_status_row(const struct migrate_options *opt, int version,
    const char *name, const char *state, const char *applied_at,
    const char *problem)
{
	if (problem != NULL)
		migrate_printf(opt, "%04d     %-32s %-8s %-20s %s\n", version,
		    name, state, applied_at, problem);
	else
		migrate_printf(opt, "%04d     %-32s %-8s %s\n", version, name,
		    state, applied_at);
}

bs_err
migrate_status(PGconn *conn, const struct migration_set *set,
    const struct migrate_options *opt, char *err, size_t errlen)
{
	static const struct migrate_options	 defaults;
	struct migrate_state			 st;
	const struct migrate_applied		*a;
	const struct migration			*m;
	size_t					 i = 0, j = 0, pending = 0;
	int					 newest;
	bs_err					 rc;

	if (opt == NULL)
		opt = &defaults;
	memset(&st, 0, sizeof st);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rc = migrate_init(err, errlen);
	if (rc != BS_OK)
		goto out;
	rc = migrate_conn_check(conn, set, err, errlen);
	if (rc != BS_OK)
		goto out;
	rc = migrate_state_load(conn, &st, err, errlen);
	if (rc != BS_OK)
		goto out;
	newest = migrate_state_newest(&st);

	migrate_printf(opt, "%-8s %-32s %-8s %-20s %s\n", "VERSION", "NAME",
	    "STATE", "APPLIED AT", "PROBLEM");
	/* Files and rows are both sorted: walk them together. */
	while (i < set->count || j < st.count) {
		m = i < set->count ? &set->items[i] : NULL;
		a = j < st.count ? &st.rows[j] : NULL;
		if (a != NULL && (m == NULL || a->version < m->version)) {
			migrate_status_row(opt, a->version, a->name, "applied",
			    a->applied_at, "no file in the migrations directory");
			j++;
		} else if (a == NULL || m->version < a->version) {
			migrate_status_row(opt, m->version, m->name, "pending",
			    "-", m->version < newest ? "out of order: older than "
			    "the newest applied migration" : NULL);
			pending++;
			i++;
		} else {
			migrate_status_row(opt, m->version, m->name, "applied",
			    a->applied_at, strcmp(m->checksum, a->checksum) != 0 ?
			    "checksum changed: the up file differs from the "
			    "applied one" : NULL);
			i++;
			j++;
		}
	}
	migrate_printf(opt, "database at version %04d, latest file %04d: %zu "
	    "applied, %zu pending%s\n", newest, migrate_set_latest(set),
	    st.count, pending, st.table_exists ? "" :
	    " (no schema_migrations table yet)");
	rc = migrate_state_check(set, &st, true, err, errlen);
out:
	migrate_state_free(&st);
	return rc;
}

bs_err
migrate_db_version(PGconn *conn, int *version, char *err, size_t errlen)
{
	PGresult	*res = NULL;
	bool		 exists = false;
	bs_err		 rc;

	*version = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		bs_errf(err, errlen, "not connected to PostgreSQL");
		rc = BS_ERR_DB_UNAVAILABLE;
		goto out;
	}
	rc = migrate_table_exists(conn, &exists, err, errlen);
	if (rc != BS_OK || !exists)
		goto out;
	rc = migrate_sql_exec(conn,
	    "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL,
	    &res, NULL, "reading schema_migrations", err, errlen);
	if (rc != BS_OK)
		goto out;
	if (!migrate_int_parse(PQgetvalue(res, 0, 0), version)) {
		bs_errf(err, errlen, "schema_migrations has a bad version "
		    "\"%s\"", PQgetvalue(res, 0, 0));
		rc = BS_ERR_INTERNAL;
	}
out:
	PQclear(res);
	return rc;
}
