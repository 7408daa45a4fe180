/*
 * The database pool against the PostgreSQL in TEST_DATABASE_URL (skipped,
 * exit 77, without it): which connections it keeps between checkouts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libpq-fe.h>

#include "brainstorm/db.h"

static const char	*db_url;

static const struct db_stmt	 length_stmt = {
	"check_pool_length", "SELECT length($1::text)", 1
};
static const struct db_stmt	 lengths_stmt = {
	"check_pool_lengths", "SELECT length($1::text) + length($2::text)", 2
};

/* The length PostgreSQL counts of value, on the pool's one connection. */
static long
exec_length(struct db_conn *conn, const char *value)
{
	const char	*v[] = { value };
	PGresult	*res = NULL;
	long		 n;

	ck_assert_int_eq(db_exec(conn, &length_stmt, v, &res, NULL), BS_OK);
	n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* Checks the one connection out, runs value, and gives it back. */
static int
run_length(struct db_pool *pool, const char *value, long *length)
{
	struct db_conn	*conn;
	int		 pid;

	ck_assert_int_eq(db_pool_checkout(pool, &conn), BS_OK);
	pid = PQbackendPID(db_conn_pg(conn));
	*length = exec_length(conn, value);
	db_pool_release(pool, conn);
	return pid;
}

/* The same with two parameters. */
static int
run_lengths(struct db_pool *pool, const char *a, const char *b, long *length)
{
	const char	*v[] = { a, b };
	struct db_conn	*conn;
	PGresult	*res = NULL;
	int		 pid;

	ck_assert_int_eq(db_pool_checkout(pool, &conn), BS_OK);
	pid = PQbackendPID(db_conn_pg(conn));
	ck_assert_int_eq(db_exec(conn, &lengths_stmt, v, &res, NULL), BS_OK);
	*length = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	db_pool_release(pool, conn);
	return pid;
}

/*
 * libpq keeps a connection's output buffer at its largest message: the
 * pool closes a connection that sent more than 1 MiB of parameters when
 * it is released, and the next checkout connects anew. Others are kept.
 */
START_TEST(test_a_connection_that_sent_a_large_statement_is_not_kept)
{
	struct db_pool_options	 opt = { db_url, 1, 1, 5000, 30000 };
	struct db_pool		*pool;
	size_t			 big = ((size_t)1 << 20) + 1;
	char			*value;
	long			 n;
	int			 pid, pid2;

	ck_assert_int_eq(db_pool_create(&opt, &pool), BS_OK);
	ck_assert_ptr_nonnull(value = malloc(big + 1));
	memset(value, 'x', big);
	value[big] = '\0';

	pid = run_length(pool, "small", &n);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(run_length(pool, "small", &n), pid);	/* kept */

	value[big - 1] = '\0';	/* exactly the bound: kept */
	ck_assert_int_eq(run_length(pool, value, &n), pid);
	ck_assert_int_eq(n, (long)big - 1);
	ck_assert_int_eq(run_length(pool, "small", &n), pid);

	value[big - 1] = 'x';	/* one byte past it: closed at release */
	ck_assert_int_eq(run_length(pool, value, &n), pid);
	ck_assert_int_eq(n, (long)big);
	pid2 = run_length(pool, "small", &n);
	ck_assert_int_ne(pid2, pid);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(run_length(pool, "small", &n), pid2);	/* kept */

	/* The parameters of a statement count together: 2 x (512 KiB + 1). */
	value[big / 2 + 1] = '\0';
	ck_assert_int_eq(run_lengths(pool, value, value, &n), pid2);
	ck_assert_int_eq(n, (long)(big / 2 + 1) * 2);
	ck_assert_int_ne(run_length(pool, "small", &n), pid2);

	free(value);
	db_pool_destroy(pool);
}
END_TEST

static Suite *
pool_suite(void)
{
	Suite	*s = suite_create("pool");
	TCase	*tc = tcase_create("postgresql");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_a_connection_that_sent_a_large_statement_is_not_kept);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	db_url = getenv("TEST_DATABASE_URL");
	if (db_url == NULL || *db_url == '\0') {
		printf("check_pool: TEST_DATABASE_URL is not set; skipped\n");
		return 77;
	}
	sr = srunner_create(pool_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
