/* Error reports: the DSN, the envelope, the flood guard, crash files. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#include "brainstorm/config.h"
#include "brainstorm/llm.h"
#include "brainstorm/log.h"
#include "brainstorm/report.h"

/* ---- the DSN ------------------------------------------------------------ */

static const struct {
	const char	*dsn;
	const char	*scheme, *key, *secret, *host, *path, *project;
} dsn_good[] = {
	{ "https://abc123@o1.ingest.sentry.io/42", "https", "abc123", "",
	  "o1.ingest.sentry.io", "", "42" },
	{ "http://k@127.0.0.1:9000/7", "http", "k", "", "127.0.0.1:9000", "",
	  "7" },
	{ "https://pub:sec@errors.example.com/sentry/prefix/1", "https", "pub",
	  "sec", "errors.example.com", "/sentry/prefix", "1" },
	{ "https://k@[::1]:8443/project-a_b", "https", "k", "", "[::1]:8443", "",
	  "project-a_b" },
	{ "https://k:@host/3", "https", "k", "", "host", "", "3" },
};

static const char *const dsn_bad[] = {
	"",
	"sentry.io/1",
	"ftp://k@host/1",
	"https://host/1",			/* no public key */
	"https://@host/1",			/* empty public key */
	"https://k@host",			/* no project */
	"https://k@host/",			/* empty project */
	"https://k@host/1/",			/* trailing slash */
	"https://k@/1",				/* no host */
	"https://k@host/1?x=1",
	"https://k@host/1#frag",
	"https://k ey@host/1",
	"https://k@ho st/1",
	"https://k\n@host/1",
	"https://k-ey@host/1",			/* keys are letters and digits */
	"https://k:s/x@host/1",
	"https://k@host@other/1",
	"https://k@host/a b/1",
};

START_TEST(test_dsn_parse_good)
{
	struct report_dsn	 d;
	char			 err[128] = "";

	ck_assert_int_eq(report_dsn_parse(dsn_good[_i].dsn, &d, err,
	    sizeof(err)), BS_OK);
	ck_assert_str_eq(d.scheme, dsn_good[_i].scheme);
	ck_assert_str_eq(d.public_key, dsn_good[_i].key);
	ck_assert_str_eq(d.secret_key, dsn_good[_i].secret);
	ck_assert_str_eq(d.host, dsn_good[_i].host);
	ck_assert_str_eq(d.path, dsn_good[_i].path);
	ck_assert_str_eq(d.project_id, dsn_good[_i].project);
}
END_TEST

START_TEST(test_dsn_parse_bad)
{
	struct report_dsn	 d;
	char			 err[128] = "";

	ck_assert_int_eq(report_dsn_parse(dsn_bad[_i], &d, err, sizeof(err)),
	    BS_ERR_INVALID);
	ck_assert_msg(err[0] != '\0', "no reason for %s", dsn_bad[_i]);
}
END_TEST

START_TEST(test_dsn_parse_too_long)
{
	struct report_dsn	 d;
	char			 dsn[REPORT_DSN_MAX + 16], err[128];

	memset(dsn, 'a', sizeof(dsn));
	memcpy(dsn, "https://k@", 10);
	strcpy(dsn + sizeof(dsn) - 4, "/1");
	ck_assert_int_eq(report_dsn_parse(dsn, &d, err, sizeof(err)),
	    BS_ERR_INVALID);
}
END_TEST

/* A problem text never repeats the DSN: it may hold a secret key. */
START_TEST(test_dsn_reason_keeps_the_secret)
{
	struct report_dsn	 d;
	char			 err[256];

	ck_assert_int_eq(report_dsn_parse("https://pub:topsecret99@host/1/",
	    &d, err, sizeof(err)), BS_ERR_INVALID);
	ck_assert_ptr_null(strstr(err, "topsecret99"));
	ck_assert_ptr_null(strstr(err, "pub"));
}
END_TEST

START_TEST(test_dsn_url_and_auth)
{
	struct report_dsn	 d;
	char			 out[512], err[128];

	ck_assert_int_eq(report_dsn_parse("https://abc@h.example:9000/pre/fix/77",
	    &d, err, sizeof(err)), BS_OK);
	ck_assert_int_eq(report_dsn_envelope_url(&d, out, sizeof(out)), BS_OK);
	ck_assert_str_eq(out, "https://h.example:9000/pre/fix/api/77/envelope/");
	ck_assert_int_eq(report_dsn_auth(&d, "brainstorm/1.0", out,
	    sizeof(out)), BS_OK);
	ck_assert_str_eq(out, "Sentry sentry_version=7, "
	    "sentry_client=brainstorm/1.0, sentry_key=abc");
	ck_assert_int_eq(report_dsn_envelope_url(&d, out, 10), BS_ERR_TOO_LARGE);

	ck_assert_int_eq(report_dsn_parse("http://abc:def@h/1", &d, err,
	    sizeof(err)), BS_OK);
	ck_assert_int_eq(report_dsn_auth(&d, "c/2", out, sizeof(out)), BS_OK);
	ck_assert_str_eq(out, "Sentry sentry_version=7, sentry_client=c/2, "
	    "sentry_key=abc, sentry_secret=def");
}
END_TEST

/* ---- the envelope ------------------------------------------------------- */

static bool
hex32(const char *s)
{
	size_t	 i;

	if (strlen(s) != 32)
		return false;
	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

START_TEST(test_event_id_is_uuid4_hex)
{
	char	 a[REPORT_EVENT_ID_LEN], b[REPORT_EVENT_ID_LEN];

	ck_assert_int_ge(sodium_init(), 0);
	report_event_id_new(a);
	report_event_id_new(b);
	ck_assert(hex32(a));
	ck_assert(hex32(b));
	ck_assert_int_eq(a[12], '4');
	ck_assert(strchr("89ab", a[16]) != NULL);
	ck_assert_str_ne(a, b);
}
END_TEST

/* The envelope split into its three lines, each parsed. */
struct envelope {
	json_object	*head, *item, *event;
	size_t		 payload_len;
};

static void
envelope_parse(const char *text, struct envelope *env)
{
	const char	*nl1, *nl2, *nl3;
	char		*line;

	nl1 = strchr(text, '\n');
	ck_assert_ptr_nonnull(nl1);
	nl2 = strchr(nl1 + 1, '\n');
	ck_assert_ptr_nonnull(nl2);
	nl3 = strchr(nl2 + 1, '\n');
	ck_assert_ptr_nonnull(nl3);
	ck_assert_msg(nl3[1] == '\0', "more than three lines: %s", text);
	line = strndup(text, (size_t)(nl1 - text));
	env->head = json_tokener_parse(line);
	free(line);
	line = strndup(nl1 + 1, (size_t)(nl2 - nl1 - 1));
	env->item = json_tokener_parse(line);
	free(line);
	env->payload_len = (size_t)(nl3 - nl2 - 1);
	line = strndup(nl2 + 1, env->payload_len);
	env->event = json_tokener_parse(line);
	free(line);
	ck_assert_ptr_nonnull(env->head);
	ck_assert_ptr_nonnull(env->item);
	ck_assert_ptr_nonnull(env->event);
}

static void
envelope_free(struct envelope *env)
{
	json_object_put(env->head);
	json_object_put(env->item);
	json_object_put(env->event);
}

/* The string at a path of members ("tags", "route"), NULL when absent. */
static const char *
jstr(json_object *obj, const char *a, const char *b)
{
	json_object	*v;

	if (!json_object_object_get_ex(obj, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static void
event_fill_http(struct report_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = REPORT_HTTP_5XX;
	strcpy(ev->event_id, "0123456789abcdef0123456789abcdef");
	ev->time_ms = 1764842400123LL;		/* 2025-12-04T10:00:00.123Z */
	strcpy(ev->request_id, "req-42");
	strcpy(ev->method, "PATCH");
	strcpy(ev->route, "/api/projects/{id}");
	ev->status = 503;
	strcpy(ev->release, "brainstorm@1.2.3");
	strcpy(ev->environment, "staging");
	strcpy(ev->server_name, "web-1");
}

START_TEST(test_envelope_http_5xx)
{
	struct report_dsn	 d;
	struct report_event	 ev;
	struct envelope		 env;
	struct buf		 out;
	json_object		*v;
	char			 err[128];

	ck_assert_int_eq(report_dsn_parse("https://pub:hidden@h.example/9", &d,
	    err, sizeof(err)), BS_OK);
	event_fill_http(&ev);
	buf_init(&out, REPORT_ENVELOPE_MAX);
	ck_assert_int_eq(report_envelope_build(&d, &ev, 1764842401000LL, &out),
	    BS_OK);
	ck_assert_ptr_null(strstr(buf_cstr(&out), "hidden"));
	envelope_parse(buf_cstr(&out), &env);

	ck_assert_str_eq(jstr(env.head, "event_id", NULL), ev.event_id);
	ck_assert_str_eq(jstr(env.head, "dsn", NULL), "https://pub@h.example/9");
	ck_assert_str_eq(jstr(env.head, "sent_at", NULL),
	    "2025-12-04T10:00:01.000Z");

	ck_assert_str_eq(jstr(env.item, "type", NULL), "event");
	ck_assert(json_object_object_get_ex(env.item, "length", &v));
	ck_assert_int_eq(json_object_get_int64(v), (int64_t)env.payload_len);

	ck_assert_str_eq(jstr(env.event, "event_id", NULL), ev.event_id);
	ck_assert_str_eq(jstr(env.event, "timestamp", NULL),
	    "2025-12-04T10:00:00.123Z");
	ck_assert_str_eq(jstr(env.event, "level", NULL), "error");
	ck_assert_str_eq(jstr(env.event, "platform", NULL), "c");
	ck_assert_str_eq(jstr(env.event, "release", NULL), "brainstorm@1.2.3");
	ck_assert_str_eq(jstr(env.event, "environment", NULL), "staging");
	ck_assert_str_eq(jstr(env.event, "server_name", NULL), "web-1");
	ck_assert_str_eq(jstr(env.event, "transaction", NULL),
	    "PATCH /api/projects/{id}");
	ck_assert_str_eq(jstr(env.event, "message", "formatted"),
	    "PATCH /api/projects/{id} answered 503");
	ck_assert_str_eq(jstr(env.event, "tags", "kind"), "http_5xx");
	ck_assert_str_eq(jstr(env.event, "tags", "request_id"), "req-42");
	ck_assert_str_eq(jstr(env.event, "tags", "route"), "/api/projects/{id}");
	ck_assert_str_eq(jstr(env.event, "tags", "method"), "PATCH");
	ck_assert_str_eq(jstr(env.event, "tags", "status"), "503");
	ck_assert_ptr_null(jstr(env.event, "exception", NULL));
	ck_assert_ptr_null(jstr(env.event, "request", NULL));
	envelope_free(&env);
	buf_free(&out);
}
END_TEST

START_TEST(test_envelope_crash)
{
	struct report_dsn	 d;
	struct report_event	 ev;
	struct envelope		 env;
	struct buf		 out;
	json_object		*values, *value, *mechanism, *handled;
	char			 err[128];

	ck_assert_int_eq(report_dsn_parse("http://k@127.0.0.1:1/1", &d, err,
	    sizeof(err)), BS_OK);
	memset(&ev, 0, sizeof(ev));
	ev.kind = REPORT_CRASH;
	strcpy(ev.event_id, "fedcba9876543210fedcba9876543210");
	ev.time_ms = 1764842400000LL;
	ev.signal = SIGSEGV;
	ev.origin = REPORT_ORIGIN_FAULT;
	strcpy(ev.fault_addr, "0x10");
	strcpy(ev.release, "brainstorm@0.9");
	buf_init(&out, REPORT_ENVELOPE_MAX);
	ck_assert_int_eq(report_envelope_build(&d, &ev, ev.time_ms, &out), BS_OK);
	envelope_parse(buf_cstr(&out), &env);
	ck_assert_str_eq(jstr(env.event, "level", NULL), "fatal");
	ck_assert_str_eq(jstr(env.event, "tags", "kind"), "crash");
	ck_assert_str_eq(jstr(env.event, "tags", "signal"), "SIGSEGV");
	ck_assert_str_eq(jstr(env.event, "tags", "origin"), "fault");
	ck_assert_ptr_null(jstr(env.event, "tags", "request_id"));
	ck_assert_ptr_null(jstr(env.event, "environment", NULL));	/* empty */
	ck_assert(json_object_object_get_ex(env.event, "exception", &values));
	ck_assert(json_object_object_get_ex(values, "values", &values));
	ck_assert_int_eq(json_object_array_length(values), 1);
	value = json_object_array_get_idx(values, 0);
	ck_assert_str_eq(jstr(value, "type", NULL), "SIGSEGV");
	ck_assert_ptr_nonnull(strstr(jstr(value, "value", NULL), "0x10"));
	ck_assert(json_object_object_get_ex(value, "mechanism", &mechanism));
	ck_assert_str_eq(jstr(mechanism, "type", NULL), "signalhandler");
	ck_assert(json_object_object_get_ex(mechanism, "handled", &handled));
	ck_assert(!json_object_get_boolean(handled));
	envelope_free(&env);
	buf_free(&out);
}
END_TEST

/* A route or an id with quotes or a line break stays on its line. */
START_TEST(test_envelope_lines_are_single)
{
	struct report_dsn	 d;
	struct report_event	 ev;
	struct envelope		 env;
	struct buf		 out;
	char			 err[128];

	ck_assert_int_eq(report_dsn_parse("https://k@h/1", &d, err, sizeof(err)),
	    BS_OK);
	event_fill_http(&ev);
	strcpy(ev.route, "/odd\n\"route\"");
	buf_init(&out, REPORT_ENVELOPE_MAX);
	ck_assert_int_eq(report_envelope_build(&d, &ev, ev.time_ms, &out), BS_OK);
	envelope_parse(buf_cstr(&out), &env);
	ck_assert_str_eq(jstr(env.event, "tags", "route"), "/odd\n\"route\"");
	envelope_free(&env);
	buf_free(&out);
}
END_TEST

START_TEST(test_envelope_capped)
{
	struct report_dsn	 d;
	struct report_event	 ev;
	struct buf		 out;
	char			 err[128];

	ck_assert_int_eq(report_dsn_parse("https://k@h/1", &d, err, sizeof(err)),
	    BS_OK);
	event_fill_http(&ev);
	buf_init(&out, 200);
	ck_assert_int_eq(report_envelope_build(&d, &ev, ev.time_ms, &out),
	    BS_ERR_TOO_LARGE);
	buf_free(&out);
	strcpy(ev.event_id, "not-an-id");
	buf_init(&out, REPORT_ENVELOPE_MAX);
	ck_assert_int_eq(report_envelope_build(&d, &ev, ev.time_ms, &out),
	    BS_ERR_INVALID);
	buf_free(&out);
}
END_TEST

/* ---- the flood guard ---------------------------------------------------- */

START_TEST(test_limiter_same_signature)
{
	struct report_limiter	 l;
	struct report_event	 ev;
	int			 i;

	memset(&l, 0, sizeof(l));
	event_fill_http(&ev);
	for (i = 0; i < REPORT_SAME_PER_MINUTE; i++)
		ck_assert(report_limiter_admit(&l, &ev, 1000 + i));
	ck_assert(!report_limiter_admit(&l, &ev, 2000));
	/* Another status of the same route is another signature. */
	ev.status = 500;
	ck_assert(report_limiter_admit(&l, &ev, 2000));
	ev.status = 503;
	ck_assert(!report_limiter_admit(&l, &ev, 60999));
	/* A new minute, a new window. */
	ck_assert(report_limiter_admit(&l, &ev, 61000));
}
END_TEST

START_TEST(test_limiter_total_per_minute)
{
	struct report_limiter	 l;
	struct report_event	 ev;
	int			 i, admitted = 0;

	memset(&l, 0, sizeof(l));
	event_fill_http(&ev);
	/* Many routes, each once: the total caps them. */
	for (i = 0; i < REPORT_PER_MINUTE + 40; i++) {
		snprintf(ev.route, sizeof(ev.route), "/api/r%d", i);
		admitted += report_limiter_admit(&l, &ev, 5000);
	}
	ck_assert_int_eq(admitted, REPORT_PER_MINUTE);
	/* A clock that went back starts a window too. */
	ck_assert(report_limiter_admit(&l, &ev, 4000));
}
END_TEST

/* ---- crash files -------------------------------------------------------- */

START_TEST(test_crash_parse_good)
{
	static const char text[] = "brainstorm-crash 1\n"
	    "release=brainstorm@1.0\nenvironment=production\n"
	    "server_name=web-2.example\nsignal=11\norigin=fault\n"
	    "time=1764842400\naddr=0x7FFdead\nfuture_key=whatever\n";
	struct report_event	 ev;

	ck_assert_int_eq(report_crash_parse(text, strlen(text), &ev), BS_OK);
	ck_assert_int_eq(ev.kind, REPORT_CRASH);
	ck_assert_int_eq(ev.signal, SIGSEGV);
	ck_assert_int_eq(ev.origin, REPORT_ORIGIN_FAULT);
	ck_assert_int_eq(ev.time_ms, 1764842400000LL);
	ck_assert_str_eq(ev.fault_addr, "0x7ffdead");
	ck_assert_str_eq(ev.release, "brainstorm@1.0");
	ck_assert_str_eq(ev.environment, "production");
	ck_assert_str_eq(ev.server_name, "web-2.example");
	ck_assert_str_eq(ev.event_id, "");
}
END_TEST

static const char *const crash_bad[] = {
	"",
	"brainstorm-crash 2\nsignal=11\ntime=5\n",
	"brainstorm-crash 1\ntime=5\n",				/* no signal */
	"brainstorm-crash 1\nsignal=11\n",			/* no time */
	"brainstorm-crash 1\nsignal=9\ntime=5\n",		/* not ours */
	"brainstorm-crash 1\nsignal=11\ntime=5",		/* cut short */
	"brainstorm-crash 1\nsignal=11x\ntime=5\n",
	"brainstorm-crash 1\nsignal=11\ntime=0\n",
	"brainstorm-crash 1\nsignal=11\ntime=5\norigin=elsewhere\n",
	"brainstorm-crash 1\nsignal=11\ntime=5\naddr=12\n",
	"brainstorm-crash 1\nsignal=11\ntime=5\naddr=0x12345678901234567\n",
	"brainstorm-crash 1\nsignal=11\ntime=5\nrelease=a b\n",
	"brainstorm-crash 1\nsignal=11\ntime=5\nenvironment=\n",
	"brainstorm-crash 1\nsignal=11\ntime=5\nserver_name=x/y\n",
};

START_TEST(test_crash_parse_bad)
{
	struct report_event	 ev;

	ck_assert_int_eq(report_crash_parse(crash_bad[_i], strlen(crash_bad[_i]),
	    &ev), BS_ERR_INVALID);
}
END_TEST

START_TEST(test_crash_parse_limits)
{
	static const char text[] = "brainstorm-crash 1\nsignal=11\0\ntime=5\n";
	char			 big[REPORT_CRASH_FILE_MAX + 2];
	struct report_event	 ev;
	size_t			 n;

	ck_assert_int_eq(report_crash_parse(text, sizeof(text) - 1, &ev),
	    BS_ERR_INVALID);
	n = (size_t)snprintf(big, sizeof(big), "brainstorm-crash 1\nsignal=11\n"
	    "time=5\n");
	memset(big + n, '\n', sizeof(big) - n);
	ck_assert_int_eq(report_crash_parse(big, sizeof(big), &ev),
	    BS_ERR_INVALID);
	ck_assert_int_eq(report_crash_parse(big, REPORT_CRASH_FILE_MAX, &ev),
	    BS_OK);
}
END_TEST

/* The one crash-*.report file in dir, read whole. */
static size_t
crash_file_slurp(const char *dir, char *text, size_t textlen)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	char		 path[512];
	FILE		*fp;
	size_t		 n = 0, files = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "crash-", 6) != 0)
			continue;
		ck_assert_ptr_nonnull(strstr(de->d_name, ".report"));
		files++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_ptr_nonnull(fp = fopen(path, "r"));
		n = fread(text, 1, textlen - 1, fp);
		text[n] = '\0';
		fclose(fp);
		unlink(path);
	}
	closedir(d);
	ck_assert_int_eq(files, 1);
	return n;
}

/*
 * A child that faults writes a crash file and still dies of the signal;
 * the file parses back to what happened.
 */
START_TEST(test_crash_handler_writes_a_report)
{
	char			 dir[] = "/tmp/check_report.XXXXXX";
	char			 text[REPORT_CRASH_FILE_MAX + 1], err[128];
	struct report_event	 ev;
	struct rlimit		 no_core = { 0, 0 };
	volatile char		*page;
	pid_t			 pid;
	int			 status;
	size_t			 n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(page != MAP_FAILED);
	if ((pid = fork()) == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		if (report_crash_handlers_install(dir, "brainstorm@9.9",
		    "development", "unit-host", err, sizeof(err)) != BS_OK)
			_exit(3);
		page[1] = 1;	/* a write to a read-only page */
		_exit(4);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status), "the child exited with %d",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ck_assert_int_eq(WTERMSIG(status), SIGSEGV);

	n = crash_file_slurp(dir, text, sizeof(text));
	ck_assert_int_eq(report_crash_parse(text, n, &ev), BS_OK);
	ck_assert_int_eq(ev.signal, SIGSEGV);
	ck_assert_int_eq(ev.origin, REPORT_ORIGIN_FAULT);
	ck_assert_str_eq(ev.release, "brainstorm@9.9");
	ck_assert_str_eq(ev.environment, "development");
	ck_assert_str_eq(ev.server_name, "unit-host");
	snprintf(err, sizeof(err), "%p", (void *)(page + 1));
	ck_assert_str_eq(ev.fault_addr, err);
	munmap((void *)page, 4096);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* abort() is the process's own signal, not another's. */
START_TEST(test_crash_handler_abort)
{
	char			 dir[] = "/tmp/check_report.XXXXXX";
	char			 text[REPORT_CRASH_FILE_MAX + 1], err[128];
	struct report_event	 ev;
	struct rlimit		 no_core = { 0, 0 };
	pid_t			 pid;
	int			 status;
	size_t			 n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	if ((pid = fork()) == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		if (report_crash_handlers_install(dir, "r", "e", "s", err,
		    sizeof(err)) != BS_OK)
			_exit(3);
		abort();
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGABRT);
	n = crash_file_slurp(dir, text, sizeof(text));
	ck_assert_int_eq(report_crash_parse(text, n, &ev), BS_OK);
	ck_assert_int_eq(ev.signal, SIGABRT);
	ck_assert_int_eq(ev.origin, REPORT_ORIGIN_SELF);
	ck_assert_str_eq(ev.fault_addr, "");
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_crash_handlers_refuse_bad_settings)
{
	char	 err[128];

	ck_assert_int_eq(report_crash_handlers_install("relative/dir", "r", "e",
	    "s", err, sizeof(err)), BS_ERR_INVALID);
	ck_assert_int_eq(report_crash_handlers_install("/tmp", "r\nx=1", "e",
	    "s", err, sizeof(err)), BS_ERR_INVALID);
}
END_TEST

/* ---- configuration ------------------------------------------------------ */

static void
env_clean(void)
{
	const struct config_key_info	*keys;
	size_t				 i, n = config_keys(&keys);

	for (i = 0; i < n; i++)
		unsetenv(keys[i].name);
	unsetenv("APP_ENV");
}

START_TEST(test_config_keys)
{
	struct bs_config	 cfg;
	struct config_problems	 problems;
	size_t			 i;
	bool			 found = false;

	env_clean();
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	ck_assert_str_eq(cfg.sentry_dsn, "");
	ck_assert_str_eq(cfg.sentry_environment, "");
	ck_assert_str_eq(cfg.sentry_release, "");
	ck_assert_str_eq(cfg.sentry_crash_dir, "/var/lib/brainstorm/crash");
	config_free(&cfg);

	setenv("SENTRY_DSN", "https://pub:verysecret1@host/1/", 1);
	setenv("SENTRY_ENVIRONMENT", "blue/green", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
	for (i = 0; i < problems.count; i++) {
		ck_assert_ptr_null(strstr(problems.text[i], "verysecret1"));
		if (strncmp(problems.text[i], "SENTRY_DSN:", 11) == 0)
			found = true;
	}
	ck_assert(found);
	config_free(&cfg);

	setenv("SENTRY_DSN", "https://pub@host/1", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(problems.text[0], "SENTRY_ENVIRONMENT"));
	config_free(&cfg);

	setenv("SENTRY_ENVIRONMENT", "blue-green", 1);
	setenv("SENTRY_CRASH_DIR", "crash", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(problems.text[0], "SENTRY_CRASH_DIR"));
	config_free(&cfg);

	setenv("SENTRY_CRASH_DIR", "", 1);
	setenv("SENTRY_RELEASE", "brainstorm@1.2.3+abc", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	config_free(&cfg);
	env_clean();
}
END_TEST

/* Off, the reporter does nothing and costs nothing. */
START_TEST(test_reports_off)
{
	struct bs_config	 cfg;
	struct config_problems	 problems;
	char			 err[128] = "";

	env_clean();
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	ck_assert_int_eq(report_start(&cfg, err, sizeof(err)), BS_OK);
	report_http_error("id", "GET", "/api/x", 500);
	report_stop();
	config_free(&cfg);
}
END_TEST

/* ---- the sender, against a receiver of the test's own ------------------ */

#define RECEIVER_MAX	8

/* Written by the receiver thread until it ends; read after the join. */
static struct {
	int	 lfd;
	int	 want;		/* requests to take before ending */
	int	 got;
	char	 head[RECEIVER_MAX][2048];
	char	*body[RECEIVER_MAX];
} rcv;

/* Read one HTTP request from fd into rcv; false at end or on error. */
static bool
receiver_take(int fd)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "\r\n{}";
	char		 buf[2048], *end, *cl;
	size_t		 have = 0, need;
	ssize_t		 r;
	struct pollfd	 p = { fd, POLLIN, 0 };

	for (;;) {
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (have == sizeof(buf) - 1 || poll(&p, 1, 10000) != 1 ||
		    (r = read(fd, buf + have, sizeof(buf) - 1 - have)) <= 0)
			return false;
		have += (size_t)r;
	}
	*end = '\0';
	if ((cl = strcasestr(buf, "\r\nContent-Length:")) == NULL)
		return false;
	need = (size_t)strtoul(cl + 17, NULL, 10);
	memcpy(rcv.head[rcv.got], buf, (size_t)(end - buf) + 1);
	rcv.body[rcv.got] = calloc(1, need + 1);
	have -= (size_t)(end + 4 - buf);
	memcpy(rcv.body[rcv.got], end + 4, have < need ? have : need);
	while (have < need) {
		if (poll(&p, 1, 10000) != 1 ||
		    (r = read(fd, rcv.body[rcv.got] + have, need - have)) <= 0)
			return false;
		have += (size_t)r;
	}
	rcv.got++;
	return write(fd, answer, strlen(answer)) == (ssize_t)strlen(answer);
}

static void *
receiver_main(void *arg)
{
	struct pollfd	 p = { 0, POLLIN, 0 };
	int		 fd;

	(void)arg;
	p.fd = rcv.lfd;
	while (rcv.got < rcv.want && poll(&p, 1, 10000) == 1 &&
	    (fd = accept(rcv.lfd, NULL, NULL)) >= 0) {
		while (rcv.got < rcv.want && receiver_take(fd))
			;
		close(fd);
	}
	return NULL;
}

static int
receiver_start(int want)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);

	memset(&rcv, 0, sizeof(rcv));
	rcv.want = want;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(rcv.lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(rcv.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(rcv.lfd, 8), 0);
	ck_assert_int_eq(getsockname(rcv.lfd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static void
receiver_free(void)
{
	int	 i;

	close(rcv.lfd);
	for (i = 0; i < rcv.got; i++)
		free(rcv.body[i]);
}

static void
file_put(const char *dir, const char *name, const char *text)
{
	char	 path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/*
 * Crash files of earlier runs and two 5xx answers: the crashes go first,
 * then the queue; report_stop sends what is queued. A crash file is gone
 * once sent, one that is not a report is removed unsent, one claimed by a
 * dead sender is taken over, one claimed by a live one is left alone.
 */
START_TEST(test_sender_sends_crash_then_queue)
{
	static const char crash[] = "brainstorm-crash 1\nrelease=old@1\n"
	    "environment=e\nserver_name=h\nsignal=7\norigin=fault\n"
	    "time=1764842400\naddr=0x8\n";
	struct bs_config	 cfg;
	struct config_problems	 problems;
	struct envelope		 env;
	pthread_t		 t;
	char			 dir[] = "/tmp/check_report.XXXXXX";
	char			 dsn[128], name[64], path[256], err[256] = "";
	const char		*release[2];
	pid_t			 dead;
	int			 port, i;

	env_clean();
	ck_assert_int_eq(llm_global_init(), BS_OK);
	log_open(LOG_LEVEL_ERROR + 1, NULL);	/* quiet */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	file_put(dir, "crash-1-2.report", crash);
	file_put(dir, "crash-3-4.report", "not a crash report\n");
	if ((dead = fork()) == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
	snprintf(name, sizeof(name), "crash-5-6.report.sending-%ld", (long)dead);
	file_put(dir, name, "brainstorm-crash 1\nrelease=older@0\nsignal=6\n"
	    "origin=self\ntime=1764842000\n");
	file_put(dir, "crash-7-8.report.sending-1", crash);	/* init lives */

	port = receiver_start(4);
	ck_assert_int_eq(pthread_create(&t, NULL, receiver_main, NULL), 0);
	snprintf(dsn, sizeof(dsn), "http://abc@127.0.0.1:%d/5", port);
	setenv("SENTRY_DSN", dsn, 1);
	setenv("SENTRY_CRASH_DIR", dir, 1);
	setenv("SENTRY_RELEASE", "now@2", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	ck_assert_int_eq(report_start(&cfg, err, sizeof(err)), BS_OK);
	ck_assert_int_eq(report_start(&cfg, err, sizeof(err)), BS_ERR_INVALID);
	report_http_error("rid-1", "GET", "/api/projects/{id}", 500);
	report_http_error("rid-2", "POST", "/api/projects", 503);
	report_stop();
	report_http_error("rid-3", "GET", "/api/late", 500);	/* off: ignored */
	pthread_join(t, NULL);

	ck_assert_int_eq(rcv.got, 4);
	ck_assert_ptr_nonnull(strstr(rcv.head[0], "POST /api/5/envelope/ "));
	ck_assert_ptr_nonnull(strstr(rcv.head[0], "\r\nX-Sentry-Auth: Sentry "
	    "sentry_version=7, sentry_client=brainstorm/"));
	ck_assert_ptr_nonnull(strstr(rcv.head[0], ", sentry_key=abc"));
	ck_assert_ptr_nonnull(strstr(rcv.head[0],
	    "\r\nContent-Type: application/x-sentry-envelope"));
	/* The two crashes, in the directory's order. */
	for (i = 0; i < 2; i++) {
		envelope_parse(rcv.body[i], &env);
		ck_assert_str_eq(jstr(env.event, "tags", "kind"), "crash");
		release[i] = strcmp(jstr(env.event, "release", NULL), "old@1") == 0 ?
		    "old@1" : "older@0";
		ck_assert_str_eq(jstr(env.event, "tags", "signal"),
		    strcmp(release[i], "old@1") == 0 ? "SIGBUS" : "SIGABRT");
		envelope_free(&env);
	}
	ck_assert_str_ne(release[0], release[1]);
	envelope_parse(rcv.body[2], &env);
	ck_assert_str_eq(jstr(env.event, "tags", "request_id"), "rid-1");
	ck_assert_str_eq(jstr(env.event, "release", NULL), "now@2");
	ck_assert_str_eq(jstr(env.event, "environment", NULL), "development");
	envelope_free(&env);
	envelope_parse(rcv.body[3], &env);
	ck_assert_str_eq(jstr(env.event, "tags", "request_id"), "rid-2");
	envelope_free(&env);

	/* Only the live sender's file is left. */
	snprintf(path, sizeof(path), "%s/crash-7-8.report.sending-1", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	receiver_free();
	config_free(&cfg);
	llm_global_cleanup();
	env_clean();
}
END_TEST

static Suite *
report_suite(void)
{
	Suite	*s = suite_create("report");
	TCase	*tc;

	tc = tcase_create("dsn");
	tcase_add_loop_test(tc, test_dsn_parse_good, 0,
	    sizeof(dsn_good) / sizeof(dsn_good[0]));
	tcase_add_loop_test(tc, test_dsn_parse_bad, 0,
	    sizeof(dsn_bad) / sizeof(dsn_bad[0]));
	tcase_add_test(tc, test_dsn_parse_too_long);
	tcase_add_test(tc, test_dsn_reason_keeps_the_secret);
	tcase_add_test(tc, test_dsn_url_and_auth);
	suite_add_tcase(s, tc);

	tc = tcase_create("envelope");
	tcase_add_test(tc, test_event_id_is_uuid4_hex);
	tcase_add_test(tc, test_envelope_http_5xx);
	tcase_add_test(tc, test_envelope_crash);
	tcase_add_test(tc, test_envelope_lines_are_single);
	tcase_add_test(tc, test_envelope_capped);
	suite_add_tcase(s, tc);

	tc = tcase_create("limiter");
	tcase_add_test(tc, test_limiter_same_signature);
	tcase_add_test(tc, test_limiter_total_per_minute);
	suite_add_tcase(s, tc);

	tc = tcase_create("crash");
	tcase_add_test(tc, test_crash_parse_good);
	tcase_add_loop_test(tc, test_crash_parse_bad, 0,
	    sizeof(crash_bad) / sizeof(crash_bad[0]));
	tcase_add_test(tc, test_crash_parse_limits);
	tcase_add_test(tc, test_crash_handler_writes_a_report);
	tcase_add_test(tc, test_crash_handler_abort);
	tcase_add_test(tc, test_crash_handlers_refuse_bad_settings);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, test_config_keys);
	tcase_add_test(tc, test_reports_off);
	suite_add_tcase(s, tc);

	tc = tcase_create("sender");
	tcase_add_test(tc, test_sender_sends_crash_then_queue);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(report_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
