#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "brainstorm/server.h"

/*
 * The heap trim of the signal thread (server_trim_tick): at most every 30
 * s, and never while a request is being served. Times are the tick's own
 * argument, so nothing here waits.
 */
START_TEST(test_a_due_trim_waits_for_no_request_in_flight)
{
	double	 t = 1000.0;

	ck_assert(!server_trim_tick(t));	/* the first tick sets the due time */
	ck_assert(!server_trim_tick(t + 29.0));
	server_request_begin();
	server_request_begin();
	ck_assert(!server_trim_tick(t + 30.0));
	server_request_end();
	ck_assert(!server_trim_tick(t + 31.0));	/* one still in flight */
	server_request_end();
	ck_assert(server_trim_tick(t + 32.0));
	/* The next one is due 30 s after this trim, not after the first due. */
	ck_assert(!server_trim_tick(t + 33.0));
	ck_assert(!server_trim_tick(t + 61.0));
	ck_assert(server_trim_tick(t + 62.0));
}
END_TEST

/* A large request's end asks for a trim: at the next tick with none in flight. */
START_TEST(test_an_asked_trim_comes_before_its_time_when_nothing_runs)
{
	double	 t = 5000.0;

	/* Due now or never set (the test before, with CK_FORK=no): 30 s on. */
	(void)server_trim_tick(t);
	server_trim_soon();
	server_request_begin();
	ck_assert(!server_trim_tick(t + 1.0));	/* a request in flight */
	server_request_end();
	ck_assert(server_trim_tick(t + 2.0));
	ck_assert(!server_trim_tick(t + 3.0));	/* asked once, trimmed once */
	ck_assert(server_trim_tick(t + 32.0));
}
END_TEST

static Suite *
server_suite(void)
{
	Suite	*s = suite_create("server");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_a_due_trim_waits_for_no_request_in_flight);
	tcase_add_test(tc, test_an_asked_trim_comes_before_its_time_when_nothing_runs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(server_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
