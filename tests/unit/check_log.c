/*
 * The log's lines from many threads at once: each one whole, on a file, a
 * pipe, and across a reopen (SIGHUP after a rotation).
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brainstorm/log.h"
#include "tmp_path.h"

#define THREADS		8
#define LINES		400	/* per thread */
#define LONG_EVERY	25	/* one line in this many is past PIPE_BUF */
#define LONG_LEN	(3 * PIPE_BUF)

struct writer {
	int		 id;
	char		*pad;	/* LONG_LEN x's */
	bool		 reopen;	/* the last thread reopens as it goes */
};

/* Line i of thread id: {"w":id,"i":i,"pad":"..."}, a long pad now and then. */
static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	char		 members[LONG_LEN + 64];
	int		 i, len;

	for (i = 0; i < LINES; i++) {
		len = snprintf(members, sizeof(members),
		    "\"w\":%d,\"i\":%d,\"pad\":\"%s\"", w->id, i,
		    i % LONG_EVERY == 0 ? w->pad : "short");
		log_write_members(LOG_LEVEL_INFO, "line", members, (size_t)len);
		if (w->reopen && i % 50 == 0)
			ck_assert_int_eq(log_reopen(), BS_OK);
	}
	return NULL;
}

static void
write_lines(bool reopen)
{
	struct writer	 w[THREADS];
	pthread_t	 t[THREADS];
	char		*pad;
	int		 i;

	ck_assert_ptr_nonnull(pad = malloc(LONG_LEN + 1));
	memset(pad, 'x', LONG_LEN);
	pad[LONG_LEN] = '\0';
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct writer){ i, pad, reopen && i == THREADS - 1 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	free(pad);
}

/*
 * Every line of the stream parses on its own and names its writer and
 * number; seen[] counts them.
 */
static void
check_lines(FILE *fp, int seen[THREADS][LINES])
{
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	json_object	*o, *v;
	int		 id, i;

	while ((n = getline(&line, &cap, fp)) > 0) {
		ck_assert_msg(line[n - 1] == '\n', "a line without its end");
		o = json_tokener_parse(line);
		ck_assert_msg(o != NULL, "not a whole line: %.80s", line);
		ck_assert(json_object_object_get_ex(o, "w", &v));
		id = json_object_get_int(v);
		ck_assert(json_object_object_get_ex(o, "i", &v));
		i = json_object_get_int(v);
		ck_assert(id >= 0 && id < THREADS && i >= 0 && i < LINES);
		ck_assert(json_object_object_get_ex(o, "pad", &v));
		ck_assert_uint_eq(json_object_get_string_len(v),
		    i % LONG_EVERY == 0 ? LONG_LEN : 5);
		seen[id][i]++;
		json_object_put(o);
	}
	free(line);
}

static void
check_all_once(int seen[THREADS][LINES])
{
	int	 id, i;

	for (id = 0; id < THREADS; id++)
		for (i = 0; i < LINES; i++)
			ck_assert_msg(seen[id][i] == 1, "line %d of writer %d "
			    "seen %d times", i, id, seen[id][i]);
}

/* A new empty file for the log, under TMPDIR. */
static void
log_file_make(char *path, size_t len)
{
	int	 fd;

	tmp_path_template(path, len, "check_log");
	ck_assert_int_ge(fd = mkstemp(path), 0);
	close(fd);
}

/* check_lines on the file at path, which is then removed. */
static void
check_file(const char *path, int seen[THREADS][LINES])
{
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	check_lines(fp, seen);
	fclose(fp);
	unlink(path);
}

START_TEST(test_lines_whole_in_a_file)
{
	char	 path[PATH_MAX];
	int	 seen[THREADS][LINES] = { { 0 } };

	log_file_make(path, sizeof(path));
	ck_assert_int_eq(log_open(LOG_LEVEL_INFO, path), BS_OK);
	write_lines(false);
	log_close();
	check_file(path, seen);
	check_all_once(seen);
}
END_TEST

/* The reader of the pipe that stands for stderr (a container's log). */
struct drain {
	int	 fd;
	FILE	*copy;
};

static void *
drain_main(void *arg)
{
	struct drain	*d = arg;
	char		 buf[65536];
	ssize_t		 n;

	while ((n = read(d->fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, d->copy);
	return NULL;
}

START_TEST(test_lines_whole_in_a_pipe)
{
	struct drain	 d;
	pthread_t	 t;
	int		 p[2], saved, seen[THREADS][LINES] = { { 0 } };

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_ptr_nonnull(d.copy = tmpfile());
	d.fd = p[0];
	ck_assert_int_eq(pthread_create(&t, NULL, drain_main, &d), 0);
	ck_assert_int_ge(saved = dup(STDERR_FILENO), 0);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	ck_assert_int_eq(log_open(LOG_LEVEL_INFO, NULL), BS_OK);
	write_lines(false);
	dup2(saved, STDERR_FILENO);	/* the pipe's last writer gone: EOF */
	close(saved);
	pthread_join(t, NULL);
	close(p[0]);
	rewind(d.copy);
	check_lines(d.copy, seen);
	fclose(d.copy);
	check_all_once(seen);
}
END_TEST

/* Rotated while it writes: each line in the old file or the new, whole. */
START_TEST(test_lines_whole_across_reopen)
{
	char	 path[PATH_MAX], old[PATH_MAX + 2];
	int	 seen[THREADS][LINES] = { { 0 } };

	log_file_make(path, sizeof(path));
	snprintf(old, sizeof(old), "%s.1", path);
	ck_assert_int_eq(log_open(LOG_LEVEL_INFO, path), BS_OK);
	ck_assert_int_eq(rename(path, old), 0);	/* logrotate's move */
	write_lines(true);
	log_close();
	check_file(old, seen);
	check_file(path, seen);
	check_all_once(seen);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("lines");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lines_whole_in_a_file);
	tcase_add_test(tc, test_lines_whole_in_a_pipe);
	tcase_add_test(tc, test_lines_whole_across_reopen);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(log_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
