/*
 * The nchan publisher against a small HTTP server on a unix socket that
 * runs inside the test: what goes out (method, channels, event type, body),
 * in order; reply.delta events merged while the server holds back; the
 * queue's bound; channel names checked. Nothing here waits on a clock but
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

static Suite *
events_suite(void)
{
	Suite	*s = suite_create("events");
	TCase	*tc = tcase_create("publisher");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, events_go_out_in_order);
	tcase_add_test(tc, deltas_merge_while_nchan_is_slow);
	tcase_add_test(tc, the_queue_is_bounded);
	tcase_add_test(tc, channel_names_are_checked);
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
