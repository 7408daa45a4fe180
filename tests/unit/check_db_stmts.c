/* The pool's statement tables: complete rows, names unique across them. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db.h"

/* An enum-indexed table with a missing row has a hole: no name, no SQL. */
START_TEST(test_rows_complete)
{
	const struct db_stmt_table	*t;
	const struct db_stmt		*s;
	size_t				 i, k;
	int				 n;
	const char			*p;

	ck_assert_uint_gt(db_stmt_ntables, 0);
	for (i = 0; i < db_stmt_ntables; i++) {
		t = &db_stmt_tables[i];
		ck_assert_uint_gt(*t->n, 0);
		for (k = 0; k < *t->n; k++) {
			s = &t->stmts[k];
			ck_assert_msg(s->name != NULL && s->name[0] != '\0' &&
			    s->sql != NULL, "%s: row %zu is empty", t->module, k);
			/* nparams is the highest $N the SQL names. */
			n = 0;
			for (p = strchr(s->sql, '$'); p != NULL;
			    p = strchr(p + 1, '$'))
				if (strtol(p + 1, NULL, 10) > n)
					n = (int)strtol(p + 1, NULL, 10);
			ck_assert_msg(n == s->nparams, "%s: %s takes $%d, says %d",
			    t->module, s->name, n, s->nparams);
		}
	}
}
END_TEST

START_TEST(test_names_unique_across_the_pool)
{
	const struct db_stmt_table	*a, *b;
	size_t				 i, j, k, l;

	for (i = 0; i < db_stmt_ntables; i++) {
		a = &db_stmt_tables[i];
		for (k = 0; k < *a->n; k++)
			for (j = i; j < db_stmt_ntables; j++) {
				b = &db_stmt_tables[j];
				for (l = i == j ? k + 1 : 0; l < *b->n; l++)
					ck_assert_msg(strcmp(a->stmts[k].name,
					    b->stmts[l].name) != 0, "%s in %s and %s",
					    a->stmts[k].name, a->module, b->module);
			}
	}
}
END_TEST

static Suite *
db_stmts_suite(void)
{
	Suite	*s = suite_create("db_stmts");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_rows_complete);
	tcase_add_test(tc, test_names_unique_across_the_pool);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(db_stmts_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
