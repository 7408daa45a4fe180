#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "brainstorm/slots.h"

START_TEST(test_take_within_gives_up_when_all_are_held)
{
	struct slots	 s;

	slots_init(&s, 2);
	ck_assert(slots_take_within(&s, 0));
	ck_assert(slots_take_within(&s, 0));
	ck_assert(!slots_take_within(&s, 0));
	ck_assert(!slots_take_within(&s, 20));
	ck_assert_int_eq(s.busy, 2);
	slots_give(&s);
	ck_assert(slots_take_within(&s, 0));
	slots_give(&s);
	slots_give(&s);
	ck_assert_int_eq(s.busy, 0);
	slots_destroy(&s);
}
END_TEST

START_TEST(test_a_cap_below_one_is_one)
{
	struct slots	 s;

	slots_init(&s, 0);
	ck_assert_int_eq(s.cap, 1);
	slots_take(&s);
	ck_assert(!slots_take_within(&s, 0));
	slots_give(&s);
	slots_destroy(&s);
}
END_TEST

/* Threads that each hold a slot for a while, counting who holds one. */
struct holders {
	struct slots	 slots;
	pthread_mutex_t	 lock;
	int		 now, most, done;
};

static void *
holder(void *arg)
{
	struct holders	*h = arg;
	volatile long	 spin;
	int		 round;

	for (round = 0; round < 50; round++) {
		slots_take(&h->slots);
		pthread_mutex_lock(&h->lock);
		if (++h->now > h->most)
			h->most = h->now;
		pthread_mutex_unlock(&h->lock);
		for (spin = 0; spin < 20000; spin++)
			;
		pthread_mutex_lock(&h->lock);
		h->now--;
		h->done++;
		pthread_mutex_unlock(&h->lock);
		slots_give(&h->slots);
	}
	return NULL;
}

START_TEST(test_no_more_than_cap_hold_at_once)
{
	struct holders	 h = { .now = 0, .most = 0, .done = 0 };
	pthread_t	 t[8];
	int		 i;

	slots_init(&h.slots, 3);
	pthread_mutex_init(&h.lock, NULL);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, holder, &h), 0);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(h.done, 8 * 50);
	ck_assert_int_le(h.most, 3);
	ck_assert_int_ge(h.most, 1);
	ck_assert_int_eq(h.slots.busy, 0);
	pthread_mutex_destroy(&h.lock);
	slots_destroy(&h.slots);
}
END_TEST

static Suite *
slots_suite(void)
{
	Suite	*s = suite_create("slots");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_take_within_gives_up_when_all_are_held);
	tcase_add_test(tc, test_a_cap_below_one_is_one);
	tcase_add_test(tc, test_no_more_than_cap_hold_at_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(slots_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
