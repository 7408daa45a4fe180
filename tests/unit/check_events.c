/*
 * The in-process event rings (src/events.c) without Redis: what a
 * subscriber receives, and the byte bound that keeps a worker's memory
 * flat however many events are published.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/events.h"

#define BOUND	(256 * 1024)

static json_object *
event_data(size_t i, size_t size)
{
	json_object	*d = json_object_new_object();
	char		*text = malloc(size + 1);

	memset(text, 'x', size);
	text[size] = '\0';
	json_object_object_add(d, "n", json_object_new_int64((int64_t)i));
	json_object_object_add(d, "text", json_object_new_string(text));
	free(text);
	return d;
}

struct seen {
	size_t	 count;
	long	 last_n;
};

static void
on_event(void *arg, const char *id, const char *type, const char *data)
{
	struct seen	*s = arg;
	json_object	*d = json_tokener_parse(data), *n;

	(void)id;
	ck_assert_str_eq(type, "items.changed");
	ck_assert(json_object_object_get_ex(d, "n", &n));
	s->last_n = (long)json_object_get_int64(n);
	s->count++;
	json_object_put(d);
}

/* 16,384 events of 2 KB over many projects stay within the bound. */
START_TEST(test_ring_is_bounded_in_bytes)
{
	struct events	*ev;
	json_object	*d;
	char		 project[40];
	size_t		 i, peak = 0;

	ck_assert_int_eq(events_create(NULL, BOUND, &ev), BS_OK);
	for (i = 0; i < 16384; i++) {
		snprintf(project, sizeof(project), "p%zu", i % 100);
		d = event_data(i, 2048);
		ck_assert_int_eq(events_publish(ev, project, "items.changed", d),
		    BS_OK);
		json_object_put(d);
		if (events_ring_bytes(ev) > peak)
			peak = events_ring_bytes(ev);
	}
	ck_assert_msg(peak <= BOUND, "the rings held %zu bytes", peak);
	ck_assert_uint_gt(peak, BOUND / 2);
	events_destroy(ev);
}
END_TEST

/* The newest events are the ones kept: a subscriber still gets them. */
START_TEST(test_newest_events_survive)
{
	struct events		*ev;
	struct events_sub	*sub;
	struct seen		 seen = { 0, -1 };
	json_object		*d;
	size_t			 i;

	ck_assert_int_eq(events_create(NULL, BOUND, &ev), BS_OK);
	ck_assert_int_eq(events_subscribe(ev, "quiet", NULL, 10, &sub), BS_OK);
	d = event_data(1, 100);
	ck_assert_int_eq(events_publish(ev, "quiet", "items.changed", d), BS_OK);
	json_object_put(d);
	/* A busy project pushes the quiet one's old event out. */
	for (i = 0; i < 2000; i++) {
		d = event_data(i, 4096);
		ck_assert_int_eq(events_publish(ev, "busy", "items.changed", d),
		    BS_OK);
		json_object_put(d);
	}
	ck_assert_int_eq(events_next(sub, on_event, &seen), BS_ERR_TIMEOUT);
	ck_assert_uint_eq(seen.count, 0);
	d = event_data(7, 100);
	ck_assert_int_eq(events_publish(ev, "quiet", "items.changed", d), BS_OK);
	json_object_put(d);
	ck_assert_int_eq(events_next(sub, on_event, &seen), BS_OK);
	ck_assert_uint_eq(seen.count, 1);
	ck_assert_int_eq(seen.last_n, 7);
	events_unsubscribe(sub);
	ck_assert_uint_le(events_ring_bytes(ev), BOUND);
	events_destroy(ev);
}
END_TEST

/* An event larger than the whole bound is not kept, and nothing breaks. */
START_TEST(test_event_larger_than_the_bound)
{
	struct events	*ev;
	json_object	*d;

	ck_assert_int_eq(events_create(NULL, 65536, &ev), BS_OK);
	d = event_data(1, 100000);
	ck_assert_int_eq(events_publish(ev, "p", "items.changed", d), BS_OK);
	json_object_put(d);
	ck_assert_uint_eq(events_ring_bytes(ev), 0);
	events_destroy(ev);
}
END_TEST

static Suite *
events_suite(void)
{
	Suite	*s = suite_create("events");
	TCase	*tc = tcase_create("ring");

	tcase_add_test(tc, test_ring_is_bounded_in_bytes);
	tcase_add_test(tc, test_newest_events_survive);
	tcase_add_test(tc, test_event_larger_than_the_bound);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(events_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
