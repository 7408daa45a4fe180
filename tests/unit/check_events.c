/*
 * The nchan publisher against a small HTTP server on a unix socket that
 * runs inside the test: what goes out (method, channels, event type, body),
 * in order; reply.delta events merged while the server holds back, and
 * coalesced over the delta window (held until the window, a size, another
 * event of one of their channels or a flush); the queue's bound; channel
 * names checked. Windows of a minute keep the clock out of the coalescing
 * tests. Nothing here waits on a clock but
 * events_flush, whose bound only keeps a broken test from hanging.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "brainstorm/events.h"

#define SEEN_MAX	64

struct seen {
	char	 method[8];
	char	 path[200];
	char	 event[40];
	char	 body[4096];
};

/* lock guards everything below it. */
struct server {
	int		 lfd;
	char		 path[108];
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 changed;
	bool		 hold;		/* answer nothing until released */
	int		 waiting;	/* requests read and held */
	int		 accepted;	/* connections */
	struct seen	 seen[SEEN_MAX];
	int		 nseen;
};

static struct server srv;

/* One request from fd into s; false at the end of the connection. */
static bool
request_read(int fd, struct seen *s)
{
	char	 head[8192], *p, *end;
	size_t	 len = 0, want;
	ssize_t	 n;

	memset(s, 0, sizeof(*s));
	head[0] = '\0';
	while ((end = strstr(head, "\r\n\r\n")) == NULL) {
		if (len >= sizeof(head) - 1 ||
		    (n = read(fd, head + len, sizeof(head) - 1 - len)) <= 0)
			return false;
		len += (size_t)n;
		head[len] = '\0';
	}
	sscanf(head, "%7s %199s", s->method, s->path);
	if ((p = strcasestr(head, "\r\nX-EventSource-Event: ")) != NULL && p < end)
		sscanf(p + 23, "%39[^\r]", s->event);
	want = 0;
	if ((p = strcasestr(head, "\r\nContent-Length: ")) != NULL && p < end)
		want = strtoul(p + 18, NULL, 10);
	end += 4;
	len -= (size_t)(end - head);
	memmove(s->body, end, len < sizeof(s->body) ? len : sizeof(s->body) - 1);
	while (len < want && len < sizeof(s->body) - 1) {
		if ((n = read(fd, s->body + len, sizeof(s->body) - 1 - len)) <= 0)
			return false;
		len += (size_t)n;
	}
	s->body[len] = '\0';
	return true;
}

static void *
server_main(void *arg)
{
	static const char answer[] = "HTTP/1.1 201 Created\r\n"
	    "Content-Type: text/json\r\nContent-Length: 2\r\n\r\n{}";
	struct seen	 s;
	int		 fd;

	(void)arg;
	while ((fd = accept(srv.lfd, NULL, NULL)) >= 0) {
		pthread_mutex_lock(&srv.lock);
		srv.accepted++;
		pthread_mutex_unlock(&srv.lock);
		while (request_read(fd, &s)) {
			pthread_mutex_lock(&srv.lock);
			srv.waiting++;
			pthread_cond_broadcast(&srv.changed);
			while (srv.hold)
				pthread_cond_wait(&srv.changed, &srv.lock);
			srv.waiting--;
			if (srv.nseen < SEEN_MAX)
				srv.seen[srv.nseen++] = s;
			pthread_cond_broadcast(&srv.changed);
			pthread_mutex_unlock(&srv.lock);
			if (write(fd, answer, sizeof(answer) - 1) < 0)
				break;
		}
		close(fd);
	}
	return NULL;
}

static void
server_start(void)
{
	struct sockaddr_un	 sa;

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.changed, NULL);
	snprintf(srv.path, sizeof(srv.path), "/tmp/check_events.%ld.sock",
	    (long)getpid());
	unlink(srv.path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.path);
	srv.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(srv.lfd, 0);
	ck_assert_int_eq(bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(srv.lfd, 8), 0);
	ck_assert_int_eq(pthread_create(&srv.thread, NULL, server_main, NULL), 0);
}

static void
server_stop(void)
{
	shutdown(srv.lfd, SHUT_RDWR);
	close(srv.lfd);
	pthread_join(srv.thread, NULL);
	unlink(srv.path);
}

static void
server_hold(bool hold)
{
	pthread_mutex_lock(&srv.lock);
	srv.hold = hold;
	pthread_cond_broadcast(&srv.changed);
	pthread_mutex_unlock(&srv.lock);
}

/* Until the server holds a request: the sender has taken one off its queue. */
static void
server_wait_held(void)
{
	pthread_mutex_lock(&srv.lock);
	while (srv.waiting == 0)
		pthread_cond_wait(&srv.changed, &srv.lock);
	pthread_mutex_unlock(&srv.lock);
}

/* Until the server has answered n requests. */
static void
server_wait_seen(int n)
{
	pthread_mutex_lock(&srv.lock);
	while (srv.nseen < n)
		pthread_cond_wait(&srv.changed, &srv.lock);
	pthread_mutex_unlock(&srv.lock);
}

/* The "text" of the i-th request's body ("" when it has none). */
static void
seen_text(int i, char *out, size_t len)
{
	json_object	*body = json_tokener_parse(srv.seen[i].body);
	const char	*t;

	t = json_object_get_string(json_object_object_get(body, "text"));
	snprintf(out, len, "%s", t != NULL ? t : "");
	json_object_put(body);
}

static struct events *
publisher(size_t max_bytes)
{
	struct events	*ev;
	char		 url[128];

	snprintf(url, sizeof(url), "unix:%s", srv.path);
	ck_assert_int_eq(events_create(url, max_bytes, &ev), BS_OK);
	return ev;
}

static bs_err
delta(struct events *ev, const char *channels, const char *turn, const char *text)
{
	json_object	*d = json_object_new_object();
	bs_err		 e;

	json_object_object_add(d, "text", json_object_new_string(text));
	json_object_object_add(d, "turn_id", json_object_new_string(turn));
	e = events_publish(ev, channels, "reply.delta", d);
	json_object_put(d);
	return e;
}

START_TEST(events_go_out_in_order)
{
	struct events		*ev;
	json_object		*d = json_object_new_object();
	struct events_counters	 n;

	server_start();
	ev = publisher(1 << 20);
	json_object_object_add(d, "items", json_object_new_array());
	ck_assert_int_eq(events_publish_project(ev, "p1", "items.changed", d), BS_OK);
	ck_assert_int_eq(events_close(ev, "t-1"), BS_OK);
	ck_assert_int_eq(events_flush(ev, 10000), BS_OK);
	json_object_put(d);
	ck_assert_int_eq(srv.nseen, 2);
	ck_assert_str_eq(srv.seen[0].method, "POST");
	ck_assert_str_eq(srv.seen[0].path, "/pub/p-p1");
	ck_assert_str_eq(srv.seen[0].event, "items.changed");
	ck_assert_str_eq(srv.seen[0].body, "{\"items\":[]}");
	ck_assert_str_eq(srv.seen[1].method, "DELETE");
	ck_assert_str_eq(srv.seen[1].path, "/pub/t-1");
	events_counters_get(ev, &n);
	ck_assert_uint_eq(n.published, 2);
	ck_assert_uint_eq(n.queued_bytes, 0);
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(deltas_merge_while_nchan_is_slow)
{
	struct events		*ev;
	struct events_counters	 n;
	json_object		*body;

	server_start();
	ev = publisher(1 << 20);
	server_hold(true);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "one "), BS_OK);
	server_wait_held();	/* "one " is on the wire; the rest queue */
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "two "), BS_OK);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "three"), BS_OK);
	ck_assert_int_eq(delta(ev, "t-z,p-b", "z", "other"), BS_OK);
	server_hold(false);
	ck_assert_int_eq(events_flush(ev, 10000), BS_OK);
	ck_assert_int_eq(srv.nseen, 3);
	body = json_tokener_parse(srv.seen[1].body);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(body,
	    "text")), "two three");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(body,
	    "turn_id")), "a");
	json_object_put(body);
	ck_assert_str_eq(srv.seen[2].path, "/pub/t-z,p-b");
	events_counters_get(ev, &n);
	ck_assert_uint_eq(n.merged, 1);
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(deltas_coalesce_over_the_window)
{
	struct events		*ev;
	struct events_counters	 n;
	char			 text[64];

	server_start();
	ev = publisher(1 << 20);
	events_delta_window(ev, 60000);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "one "), BS_OK);
	ck_assert_int_eq(delta(ev, "t-z,p-y", "z", "other "), BS_OK);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "two "), BS_OK);
	ck_assert_int_eq(delta(ev, "t-z,p-y", "z", "turn"), BS_OK);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "three"), BS_OK);
	/* Held: nothing went out, and nothing goes before the flush. */
	events_counters_get(ev, &n);
	ck_assert_uint_eq(n.published, 0);
	ck_assert_uint_eq(n.merged, 3);
	ck_assert_uint_gt(n.queued_bytes, 0);
	ck_assert_int_eq(events_flush(ev, 10000), BS_OK);
	ck_assert_int_eq(srv.nseen, 2);
	ck_assert_str_eq(srv.seen[0].path, "/pub/t-a,p-b");
	ck_assert_str_eq(srv.seen[0].event, "reply.delta");
	seen_text(0, text, sizeof(text));
	ck_assert_str_eq(text, "one two three");
	ck_assert_str_eq(srv.seen[1].path, "/pub/t-z,p-y");
	seen_text(1, text, sizeof(text));
	ck_assert_str_eq(text, "other turn");
	events_counters_get(ev, &n);
	ck_assert_uint_eq(n.published, 2);
	ck_assert_uint_eq(n.queued_bytes, 0);
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(held_deltas_go_before_other_events)
{
	struct events	*ev;
	json_object	*d = json_object_new_object();
	char		 text[64];

	server_start();
	ev = publisher(1 << 20);
	events_delta_window(ev, 60000);
	json_object_object_add(d, "status", json_object_new_string("done"));
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "one "), BS_OK);
	ck_assert_int_eq(delta(ev, "t-z,p-y", "z", "elsewhere"), BS_OK);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "two "), BS_OK);
	/* On a channel of turn a's: its text goes first; turn z's stays. */
	ck_assert_int_eq(events_publish_project(ev, "b", "items.changed", d), BS_OK);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "three"), BS_OK);
	ck_assert_int_eq(events_publish(ev, "t-a,p-b", "turn.done", d), BS_OK);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "late"), BS_OK);
	ck_assert_int_eq(events_close(ev, "t-a"), BS_OK);
	server_wait_seen(6);
	ck_assert_str_eq(srv.seen[0].event, "reply.delta");
	seen_text(0, text, sizeof(text));
	ck_assert_str_eq(text, "one two ");
	ck_assert_str_eq(srv.seen[1].path, "/pub/p-b");
	ck_assert_str_eq(srv.seen[1].event, "items.changed");
	seen_text(2, text, sizeof(text));
	ck_assert_str_eq(text, "three");
	ck_assert_str_eq(srv.seen[3].event, "turn.done");
	seen_text(4, text, sizeof(text));
	ck_assert_str_eq(text, "late");
	ck_assert_str_eq(srv.seen[5].method, "DELETE");
	ck_assert_str_eq(srv.seen[5].path, "/pub/t-a");
	/* Turn z's delta shares no channel with any of them: still held. */
	ck_assert_int_eq(events_flush(ev, 10000), BS_OK);
	ck_assert_int_eq(srv.nseen, 7);
	ck_assert_str_eq(srv.seen[6].path, "/pub/t-z,p-y");
	seen_text(6, text, sizeof(text));
	ck_assert_str_eq(text, "elsewhere");
	json_object_put(d);
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(a_long_held_delta_goes_at_once)
{
	struct events	*ev;
	char		 chunk[257], text[4096];
	int		 i;

	server_start();
	ev = publisher(1 << 20);
	events_delta_window(ev, 60000);
	memset(chunk, 'x', sizeof(chunk) - 1);
	chunk[sizeof(chunk) - 1] = '\0';
	/* 9 x 256 bytes passes the size a held delta is sent at. */
	for (i = 0; i < 9; i++)
		ck_assert_int_eq(delta(ev, "t-a,p-b", "a", chunk), BS_OK);
	server_wait_seen(1);	/* without a flush and long before the window */
	seen_text(0, text, sizeof(text));
	ck_assert_uint_ge(strlen(text), 2048);
	ck_assert_int_eq(events_flush(ev, 10000), BS_OK);
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(a_held_delta_goes_when_its_window_ends)
{
	struct events	*ev;
	char		 text[64];

	server_start();
	ev = publisher(1 << 20);
	events_delta_window(ev, 20);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "soon"), BS_OK);
	server_wait_seen(1);	/* no flush: the window alone sends it */
	seen_text(0, text, sizeof(text));
	ck_assert_str_eq(text, "soon");
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(window_zero_sends_every_delta)
{
	struct events		*ev;
	struct events_counters	 n;
	char			 text[64];

	server_start();
	ev = publisher(1 << 20);
	events_delta_window(ev, 60000);
	events_delta_window(ev, 0);
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "one "), BS_OK);
	server_wait_seen(1);	/* no flush, no window */
	ck_assert_int_eq(delta(ev, "t-a,p-b", "a", "two"), BS_OK);
	server_wait_seen(2);
	seen_text(0, text, sizeof(text));
	ck_assert_str_eq(text, "one ");
	seen_text(1, text, sizeof(text));
	ck_assert_str_eq(text, "two");
	events_counters_get(ev, &n);
	ck_assert_uint_eq(n.merged, 0);
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(held_deltas_count_against_the_bound)
{
	struct events		*ev;
	struct events_counters	 n;
	char			 chunk[1001], turn[16], ch[40];
	int			 i, refused = 0;

	server_start();
	ev = publisher(64 * 1024);
	events_delta_window(ev, 60000);
	memset(chunk, 'y', sizeof(chunk) - 1);
	chunk[sizeof(chunk) - 1] = '\0';
	for (i = 0; i < 200; i++) {
		snprintf(turn, sizeof(turn), "t%d", i);
		snprintf(ch, sizeof(ch), "t-t%d,p-b", i);
		if (delta(ev, ch, turn, chunk) == BS_ERR_TOO_LARGE)
			refused++;
	}
	events_counters_get(ev, &n);
	ck_assert_int_gt(refused, 0);
	ck_assert_uint_eq(n.dropped, (unsigned)refused);
	ck_assert_uint_le(n.queued_bytes, 64 * 1024);
	ck_assert_int_eq(events_flush(ev, 30000), BS_OK);
	events_counters_get(ev, &n);
	ck_assert_uint_eq(n.queued_bytes, 0);
	ck_assert_uint_eq(n.published, 200 - (unsigned)refused);
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(the_queue_is_bounded)
{
	struct events		*ev;
	struct events_counters	 n;
	json_object		*d = json_object_new_object();
	int			 i, refused = 0;

	server_start();
	ev = publisher(64 * 1024);
	json_object_object_add(d, "text", json_object_new_string(
	    "a board change of some length, repeated until the queue is full"));
	server_hold(true);
	ck_assert_int_eq(events_publish(ev, "p-x", "items.changed", d), BS_OK);
	server_wait_held();
	for (i = 0; i < 10000; i++)
		if (events_publish(ev, "p-x", "items.changed", d) == BS_ERR_TOO_LARGE)
			refused++;
	events_counters_get(ev, &n);
	ck_assert_int_gt(refused, 0);
	ck_assert_uint_eq(n.dropped, (unsigned)refused);
	ck_assert_uint_le(n.queued_bytes, 64 * 1024);
	server_hold(false);
	ck_assert_int_eq(events_flush(ev, 30000), BS_OK);
	events_counters_get(ev, &n);
	ck_assert_uint_eq(n.queued_bytes, 0);
	json_object_put(d);
	events_destroy(ev);
	server_stop();
}
END_TEST

START_TEST(channel_names_are_checked)
{
	struct events	*ev, *other;
	json_object	*d = json_object_new_object();

	server_start();
	ev = publisher(1 << 20);
	ck_assert_int_eq(events_publish(ev, "", "x", d), BS_ERR_INVALID);
	ck_assert_int_eq(events_publish(ev, "p-a/../b", "x", d), BS_ERR_INVALID);
	ck_assert_int_eq(events_publish(ev, "a,b,c,d,e", "x", d), BS_ERR_INVALID);
	ck_assert_int_eq(events_publish(ev, "p-A", "x", d), BS_ERR_INVALID);
	ck_assert_int_eq(events_close(ev, "p a"), BS_ERR_INVALID);
	ck_assert_int_eq(events_create("tcp://x", 1024, &other), BS_ERR_INVALID);
	json_object_put(d);
	events_destroy(ev);
	server_stop();
}
END_TEST

/* A request thread's publish keeps its connection for the next one. */
START_TEST(requests_keep_their_connection)
{
	struct events	*ev;
	json_object	*d = json_object_new_object();
	int		 i;

	server_start();
	ev = publisher(1 << 20);
	json_object_object_add(d, "turn_id", json_object_new_string("t"));
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(events_publish_now(ev, "t-a", "turn.queued", d),
		    BS_OK);
	server_wait_seen(3);
	pthread_mutex_lock(&srv.lock);
	ck_assert_int_eq(srv.accepted, 1);
	ck_assert_str_eq(srv.seen[2].event, "turn.queued");
	pthread_mutex_unlock(&srv.lock);
	json_object_put(d);
	events_destroy(ev);
	server_stop();
}
END_TEST

static Suite *
events_suite(void)
{
	Suite	*s = suite_create("events");
	TCase	*tc = tcase_create("publisher");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, events_go_out_in_order);
	tcase_add_test(tc, deltas_merge_while_nchan_is_slow);
	tcase_add_test(tc, deltas_coalesce_over_the_window);
	tcase_add_test(tc, held_deltas_go_before_other_events);
	tcase_add_test(tc, a_long_held_delta_goes_at_once);
	tcase_add_test(tc, a_held_delta_goes_when_its_window_ends);
	tcase_add_test(tc, window_zero_sends_every_delta);
	tcase_add_test(tc, held_deltas_count_against_the_bound);
	tcase_add_test(tc, the_queue_is_bounded);
	tcase_add_test(tc, channel_names_are_checked);
	tcase_add_test(tc, requests_keep_their_connection);
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
