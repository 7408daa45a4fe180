/*
 * The database pool against the PostgreSQL in TEST_DATABASE_URL (skipped,
 * exit 77, without it): which connections it keeps between checkouts.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <libpq-fe.h>

#include "brainstorm/db.h"

static const char	*db_url;

/* The lengths of its two parameters, and whether the session was marked. */
static const struct db_stmt	 lengths_stmt = {
	"check_pool_lengths",
	"SELECT length($1::text) + length($2::text),"
	" coalesce(current_setting('check_pool.mark', true), '') = 'marked'", 2
};

/*
 * Checks the pool's one connection out, sends a and b, marks its session
 * (a setting that lives as long as the session) and gives it back. Says
 * whether the session was marked already, that is, kept since the last
 * call; *length is what PostgreSQL counted of a and b.
 */
static bool
run(struct db_pool *pool, const char *a, const char *b, long *length)
{
	const char	*v[] = { a, b };
	struct db_conn	*conn;
	PGresult	*res = NULL;
	bool		 kept;

	ck_assert_int_eq(db_pool_checkout(pool, &conn), BS_OK);
	ck_assert_int_eq(db_exec(conn, &lengths_stmt, v, &res, NULL), BS_OK);
	*length = atol(PQgetvalue(res, 0, 0));
	kept = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	ck_assert_int_eq(db_command(conn,
	    "SELECT set_config('check_pool.mark', 'marked', false)"), BS_OK);
	db_pool_release(pool, conn);
	return kept;
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

	ck_assert_int_eq(db_pool_create(&opt, &pool), BS_OK);
	ck_assert_ptr_nonnull(value = malloc(big + 1));
	memset(value, 'x', big);
	value[big] = '\0';

	ck_assert(!run(pool, "small", "", &n));	/* a new session */
	ck_assert_int_eq(n, 5);
	ck_assert(run(pool, "small", "", &n));	/* kept */

	value[big - 1] = '\0';	/* exactly the bound: kept */
	ck_assert(run(pool, value, "", &n));
	ck_assert_int_eq(n, (long)big - 1);
	ck_assert(run(pool, "small", "", &n));

	value[big - 1] = 'x';	/* one byte past it: closed at release */
	ck_assert(run(pool, value, "", &n));
	ck_assert_int_eq(n, (long)big);
	ck_assert(!run(pool, "small", "", &n));
	ck_assert_int_eq(n, 5);
	ck_assert(run(pool, "small", "", &n));	/* kept */

	/* The parameters of a statement count together: 2 x (512 KiB + 1). */
	value[big / 2 + 1] = '\0';
	ck_assert(run(pool, value, value, &n));
	ck_assert_int_eq(n, (long)(big / 2 + 1) * 2);
	ck_assert(!run(pool, "small", "", &n));

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
