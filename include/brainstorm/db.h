/*
 * PostgreSQL: a pool of libpq connections shared by the worker threads.
 * A connection is checked out only for the queries, never across a slow call.
 * Statements are rows of per-resource tables and are prepared lazily on each
 * connection; every value is passed as a parameter.
 */
#ifndef BRAINSTORM_DB_H
#define BRAINSTORM_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "brainstorm/err.h"
#include "brainstorm/json_write.h"

/* A timestamp column as the API writes it: ISO 8601, UTC, milliseconds. */
#define DB_ISO_UTC(col) \
	"to_char(" col " AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/*
 * The same column for a binary result (db_exec_binary): the value as it is,
 * which db_row_write_members writes as DB_ISO_UTC would, at no cost to the
 * server. A select list written with a macro parameter for its timestamps
 * serves both.
 */
#define DB_AS_IS(col)	col

struct db_pool;
struct db_conn;

struct db_stmt {
	const char	*name;		/* unique, used as the prepared name */
	const char	*sql;
	int		 nparams;
};

/*
 * Every statement table, for the test that prepared names are unique
 * across the pool (db_stmts.c): a table is an enum-indexed array.
 */
struct db_stmt_table {
	const char		*module;
	const struct db_stmt	*stmts;
	const size_t		*n;
};
extern const struct db_stmt_table	db_stmt_tables[];
extern const size_t			db_stmt_ntables;

struct db_pool_options {
	const char	*conninfo;
	int		 min;
	int		 max;
	int		 checkout_timeout_ms;
	int		 statement_timeout_ms;
};

bs_err	db_pool_create(const struct db_pool_options *opt, struct db_pool **out);
void	db_pool_destroy(struct db_pool *pool);
/* BS_ERR_POOL_TIMEOUT when every connection stays busy past the timeout,
 * BS_ERR_DB_UNAVAILABLE when PostgreSQL cannot be reached. */
bs_err	db_pool_checkout(struct db_pool *pool, struct db_conn **out);
/* NULL-safe. A connection whose session broke is reset before reuse. */
void	db_pool_release(struct db_pool *pool, struct db_conn *conn);
void	db_pool_stats(struct db_pool *pool, int *idle, int *busy, int *max);

PGconn	*db_conn_pg(struct db_conn *conn);
/*
 * Execute a table statement. values may contain NULLs (SQL NULL). On success
 * *out holds the result (PGRES_TUPLES_OK or PGRES_COMMAND_OK), to PQclear.
 * sqlstate (6 bytes, may be NULL) receives the SQLSTATE on BS_ERR_DB.
 */
bs_err	db_exec(struct db_conn *conn, const struct db_stmt *stmt,
	    const char *const *values, PGresult **out, char *sqlstate);
/*
 * db_exec with the result in binary format: no output function runs in the
 * server (no to_char, no uuid or integer text), and db_row_write_members
 * formats the values by their type. For the lists read most often.
 */
bs_err	db_exec_binary(struct db_conn *conn, const struct db_stmt *stmt,
	    const char *const *values, PGresult **out, char *sqlstate);
/* db_exec for a statement whose result is not needed. */
bs_err	db_run(struct db_conn *conn, const struct db_stmt *stmt,
	    const char *const *values);
/* db_exec for one row whose first n columns are whole numbers: out[0..n). */
bs_err	db_exec_int64s(struct db_conn *conn, const struct db_stmt *stmt,
	    const char *const *values, long long *out, int n);
/* Plain command without parameters (BEGIN, COMMIT, ROLLBACK). */
bs_err	db_command(struct db_conn *conn, const char *sql);

/* One statement of a pipeline, and its values. */
struct db_step {
	const struct db_stmt	*stmt;
	const char *const	*values;
};
#define DB_PIPELINE_MAX	8
/*
 * The steps in one round trip (libpq's pipeline mode), as one transaction:
 * each sees what the ones before it did, and what others committed before
 * it began (a lock taken by a step holds for the steps after it); the
 * first error ends the rest and undoes them all. On success *out holds the
 * last step's result, to PQclear. sqlstate as for db_exec.
 */
bs_err	db_pipeline(struct db_conn *conn, const struct db_step *steps,
	    size_t n, PGresult **out, char *sqlstate);

/* A result column as a JSON member: its name, and whether it is a number. */
struct db_column {
	const char	*name;
	bool		 number;
};

/*
 * The first ncols columns of a row as a JSON object named by cols (a result
 * may have more columns); SQL NULL becomes null, numbers are parsed whole.
 * BS_ERR_INTERNAL when the result does not fit cols.
 */
bs_err	db_row_json(const PGresult *res, int row, const struct db_column *cols,
	    int ncols, json_object **out);
/* Every row as a JSON array of such objects. */
bs_err	db_rows_json(const PGresult *res, const struct db_column *cols,
	    int ncols, json_object **out);
/*
 * The members db_row_json makes, from column first on, written as JSON text
 * ("name":value,...) without the braces, so a caller can add its own. Text
 * results as db_row_json reads them; binary ones (db_exec_binary) by their
 * column type: bool, int2, int4, int8, text, varchar, uuid, and timestamptz
 * as DB_ISO_UTC writes it. Errors stay in the writer: BS_ERR_INTERNAL for
 * a result that does not fit cols.
 */
void	db_row_write_members(const PGresult *res, int row, int first,
	    const struct db_column *cols, int ncols, struct json_writer *w);
/* A uuid column, text or binary, as its 36 characters and a NUL. */
bs_err	db_uuid_text(const PGresult *res, int row, int col, char out[37]);
/*
 * A binary timestamptz as microseconds since 1970-01-01 UTC; BS_ERR_INTERNAL
 * when the column is not one (or is NULL or infinite).
 */
bs_err	db_timestamp_us(const PGresult *res, int row, int col, int64_t *out);
/* An integer column (int2, int4, int8), text or binary. */
bs_err	db_integer(const PGresult *res, int row, int col, int64_t *out);
/* A whole decimal number from a result value. */
bs_err	db_int64(const char *s, long long *out);
/*
 * A cap as a statement's value: its digits in buf, or NULL (SQL NULL: no
 * cap) when it is 0 or less.
 */
#define DB_CAP_LEN	24
const char *db_cap_value(long cap, char buf[DB_CAP_LEN]);
/* An integer constant of C (a macro) as SQL text in a statement. */
#define DB_SQL_INT(x)	DB_SQL_INT_(x)
#define DB_SQL_INT_(x)	#x

#endif
