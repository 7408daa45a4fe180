/*
 * The Claude client against a scripted HTTP server that runs inside the
 * test, in threads: each request gets the next step of the script (status,
 * headers, body pieces with delays, or a dropped or hung connection). The
 * server counts open requests itself, so parallelism is observed without
 * timing anything.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "brainstorm/llm.h"
#include "brainstorm/log.h"

#define API_KEY		"sk-ant-api03-test-KEY-0123456789abcdefghij"
#define PIECES_MAX	8
#define REQUESTS_MAX	16
#define CONNS_MAX	64
#define STEPS_MAX	16
#define HOLD_MAX_S	10	/* a hold that never fills fails the test, not hangs it */

enum action {
	ACT_REPLY = 0,
	ACT_DROP,		/* read the request, close without a word */
	ACT_HANG,		/* read the request, answer nothing until the client leaves */
	ACT_DROP_MID		/* send headers and pieces, then close mid-body */
};

struct step {
	int		 status;
	const char	*headers;	/* extra lines, each ending "\r\n" */
	const char	*pieces[PIECES_MAX];
	int		 delay_ms;	/* before each piece after the first */
	bool		 stream;	/* text/event-stream, chunked */
	enum action	 action;
	int		 hold;		/* answer once this many requests are open */
};

/*
 * A step picked by what the request contains, not by its rank: a request
 * containing match gets the first such route not yet used (then the last
 * one again), so batches running at once each get their own script.
 */
struct route {
	const char	*match;
	int		 after_hangs;	/* answer once this many hung requests were left */
	struct step	 step;
};

/* lock guards everything below it; the script is read-only. */
struct server {
	int			 lfd;
	int			 port;
	int			 wake[2];
	pthread_t		 acceptor;
	const struct step	*steps;
	size_t			 nsteps;
	const struct route	*routes;	/* instead of steps when set */
	size_t			 nroutes;
	pthread_mutex_t		 lock;
	pthread_cond_t		 changed;
	bool			 stop;
	pthread_t		 conns[CONNS_MAX];
	size_t			 nconns;
	int			 nreq;
	int			 active;
	int			 max_active;
	int			 hangs_left;	/* ACT_HANG requests the client closed */
	bool			 used[STEPS_MAX];	/* routes taken */
	char			*req[REQUESTS_MAX];	/* raw requests, in order */
};

static struct server	 srv;

static void
msleep(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static bool
send_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Headers up to the blank line, then Content-Length bytes of body. */
static char *
read_request(int fd)
{
	struct buf	 b;
	char		 chunk[4096], *end, *lower = NULL, *cl;
	size_t		 head = 0, want = 0, i;
	ssize_t		 n;

	buf_init(&b, 1 << 20);
	for (;;) {
		if (head == 0 && (end = strstr(buf_cstr(&b), "\r\n\r\n")) != NULL) {
			head = (size_t)(end - b.data) + 4;
			lower = strndup(b.data, head);
			for (i = 0; lower != NULL && lower[i] != '\0'; i++)
				lower[i] = (char)tolower((unsigned char)lower[i]);
			if (lower != NULL &&
			    (cl = strstr(lower, "\r\ncontent-length:")) != NULL)
				want = strtoul(cl + 17, NULL, 10);
			free(lower);
		}
		if (head > 0 && b.len >= head + want)
			return b.data;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf_append(&b, chunk, (size_t)n) != BS_OK)
			break;
	}
	buf_free(&b);
	return NULL;
}

static bool
server_stopping(void)
{
	bool	 stop;

	pthread_mutex_lock(&srv.lock);
	stop = srv.stop;
	pthread_mutex_unlock(&srv.lock);
	return stop;
}

/* Until the client closes its end, or the server stops. */
static void
hang(int fd)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		 c;

	while (!server_stopping()) {
		if (poll(&pfd, 1, 20) > 0 && recv(fd, &c, 1, 0) <= 0) {
			pthread_mutex_lock(&srv.lock);
			srv.hangs_left++;
			pthread_cond_broadcast(&srv.changed);
			pthread_mutex_unlock(&srv.lock);
			return;
		}
	}
}

/* The step for a request: by its content with routes, else by its rank. */
static const struct step *
step_pick(const char *req, int idx, int *after_hangs)
{
	const struct route	*last = NULL;
	size_t			 i;

	*after_hangs = 0;
	if (srv.nroutes == 0)
		return &srv.steps[(size_t)idx < srv.nsteps ? (size_t)idx :
		    srv.nsteps - 1];
	for (i = 0; i < srv.nroutes && i < STEPS_MAX; i++) {
		if (strstr(req, srv.routes[i].match) == NULL)
			continue;
		last = &srv.routes[i];
		if (!srv.used[i]) {
			srv.used[i] = true;
			break;
		}
	}
	ck_assert_ptr_nonnull(last);
	*after_hangs = last->after_hangs;
	return &last->step;
}

static void
reply(int fd, const struct step *st)
{
	struct buf	 out;
	size_t		 i, total = 0;
	char		 size[32];

	buf_init(&out, 1 << 20);
	for (i = 0; i < PIECES_MAX && st->pieces[i] != NULL; i++)
		total += strlen(st->pieces[i]);
	buf_printf(&out, "HTTP/1.1 %d Scripted\r\nrequest-id: req_%d\r\n"
	    "Connection: close\r\nContent-Type: %s\r\n%s", st->status,
	    st->status, st->stream ? "text/event-stream; charset=utf-8" :
	    "application/json", st->headers != NULL ? st->headers : "");
	if (st->stream)
		buf_puts(&out, "Transfer-Encoding: chunked\r\n\r\n");
	else
		buf_printf(&out, "Content-Length: %zu\r\n\r\n", total);
	if (!send_all(fd, out.data, out.len))
		goto out;
	for (i = 0; i < PIECES_MAX && st->pieces[i] != NULL; i++) {
		if (i > 0 && st->delay_ms > 0)
			msleep(st->delay_ms);
		if (st->stream) {
			snprintf(size, sizeof(size), "%zx\r\n", strlen(st->pieces[i]));
			if (!send_all(fd, size, strlen(size)))
				goto out;
		}
		if (!send_all(fd, st->pieces[i], strlen(st->pieces[i])) ||
		    (st->stream && !send_all(fd, "\r\n", 2)))
			goto out;
	}
	if (st->stream && st->action != ACT_DROP_MID)
		send_all(fd, "0\r\n\r\n", 5);
out:
	buf_free(&out);
}

static void *
serve_conn(void *arg)
{
	int			 fd = (int)(intptr_t)arg;
	const struct step	*st;
	struct timespec		 until;
	char			*req;
	int			 idx, after_hangs;

	if ((req = read_request(fd)) == NULL)
		goto out;
	pthread_mutex_lock(&srv.lock);
	idx = srv.nreq++;
	st = step_pick(req, idx, &after_hangs);
	if (idx < REQUESTS_MAX)
		srv.req[idx] = req;
	else
		free(req);
	if (++srv.active > srv.max_active)
		srv.max_active = srv.active;
	pthread_cond_broadcast(&srv.changed);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HOLD_MAX_S;
	/* max_active, not active: the first answered may already have left. */
	while (((st->hold > 0 && srv.max_active < st->hold) ||
	    srv.hangs_left < after_hangs) && !srv.stop &&
	    pthread_cond_timedwait(&srv.changed, &srv.lock, &until) == 0)
		;
	pthread_mutex_unlock(&srv.lock);

	switch (st->action) {
	case ACT_DROP:
		break;
	case ACT_HANG:
		hang(fd);
		break;
	default:
		reply(fd, st);
		break;
	}
	pthread_mutex_lock(&srv.lock);
	srv.active--;
	pthread_cond_broadcast(&srv.changed);
	pthread_mutex_unlock(&srv.lock);
out:
	close(fd);
	return NULL;
}

static void *
serve(void *arg)
{
	struct pollfd	 pfd[2];
	pthread_t	 t;
	int		 fd;

	(void)arg;
	pfd[0].fd = srv.lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = srv.wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		if ((fd = accept(srv.lfd, NULL, NULL)) < 0)
			continue;
		pthread_mutex_lock(&srv.lock);
		if (srv.nconns < CONNS_MAX &&
		    pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
			srv.conns[srv.nconns++] = t;
		else
			close(fd);
		pthread_mutex_unlock(&srv.lock);
	}
	return NULL;
}

static void
server_start_any(const struct step *steps, size_t nsteps,
    const struct route *routes, size_t nroutes)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	int			 one = 1;

	memset(&srv, 0, sizeof(srv));
	srv.steps = steps;
	srv.nsteps = nsteps;
	srv.routes = routes;
	srv.nroutes = nroutes;
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.changed, NULL);
	ck_assert_int_eq(pipe(srv.wake), 0);
	ck_assert_int_ge(srv.lfd = socket(AF_INET, SOCK_STREAM, 0), 0);
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(srv.lfd, 64), 0);
	ck_assert_int_eq(getsockname(srv.lfd, (struct sockaddr *)&sa, &len), 0);
	srv.port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&srv.acceptor, NULL, serve, NULL), 0);
}

static void
server_start(const struct step *steps, size_t nsteps)
{
	server_start_any(steps, nsteps, NULL, 0);
}

static void
server_start_routes(const struct route *routes, size_t nroutes)
{
	server_start_any(NULL, 0, routes, nroutes);
}

static void
server_stop(void)
{
	size_t	 i;

	pthread_mutex_lock(&srv.lock);
	srv.stop = true;
	pthread_cond_broadcast(&srv.changed);
	pthread_mutex_unlock(&srv.lock);
	ck_assert_int_eq(write(srv.wake[1], "x", 1), 1);
	pthread_join(srv.acceptor, NULL);
	/* The acceptor is gone: nconns no longer changes. */
	for (i = 0; i < srv.nconns; i++)
		pthread_join(srv.conns[i], NULL);
	for (i = 0; i < REQUESTS_MAX; i++)
		free(srv.req[i]);
	close(srv.lfd);
	close(srv.wake[0]);
	close(srv.wake[1]);
	pthread_cond_destroy(&srv.changed);
	pthread_mutex_destroy(&srv.lock);
}

/* A counter the server threads write, read under their lock. */
static int
srv_read(const int *field)
{
	int	 v;

	pthread_mutex_lock(&srv.lock);
	v = *field;
	pthread_mutex_unlock(&srv.lock);
	return v;
}

/* The body of the server's idx-th request, parsed. */
static json_object *
request_json(int idx)
{
	const char	*body;

	ck_assert_ptr_nonnull(srv.req[idx]);
	ck_assert_ptr_nonnull(body = strstr(srv.req[idx], "\r\n\r\n"));
	return json_tokener_parse(body + 4);
}

static const char *
jpath_str(json_object *o, const char *a, const char *b)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_get_string(v);
}

/* Observed calls, for the metrics hook. */
static int	 observed;
static char	 observed_kinds[256];

static void
observe(void *arg, const struct llm_call *call)
{
	(void)arg;
	observed++;
	strncat(observed_kinds, llm_error_kind_name(call->kind),
	    sizeof(observed_kinds) - strlen(observed_kinds) - 2);
	strcat(observed_kinds, ",");
}

static struct llm_client *
client_new_version(long per_call_ms, size_t max_response, const char *version)
{
	struct llm_client_options	 opt;
	struct llm_client		*c;
	char				 url[64], err[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);
	memset(&opt, 0, sizeof(opt));
	opt.base_url = url;
	opt.api_key = API_KEY;
	opt.api_version = version;
	opt.per_call_timeout_ms = per_call_ms;
	opt.connect_timeout_ms = 2000;
	opt.max_attempts = 3;
	opt.backoff_base_ms = 10;
	opt.backoff_max_ms = 40;
	opt.max_response_bytes = max_response;
	opt.observe = observe;
	observed = 0;
	observed_kinds[0] = '\0';
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_OK);
	return c;
}

static struct llm_client *
client_new(long per_call_ms, size_t max_response)
{
	return client_new_version(per_call_ms, max_response, NULL);
}

static const struct llm_message	 hello[] = {
	{ "user", "Let us brainstorm a name." },
	{ "assistant", "Sure." },
	{ "user", "Go on, caf\xc3\xa9 \xe2\x9c\x93" },
};

static void
request_init(struct llm_request *req, bool stream)
{
	memset(req, 0, sizeof(*req));
	req->model = "claude-sonnet-5-5";
	req->max_tokens = 1024;
	req->system = "You are the conversation agent.";
	req->system_cache = true;
	req->messages = hello;
	req->nmessages = 3;
	req->stream = stream;
}

/* One call through a fresh client; the caller frees call. */
static void
run_one(const struct llm_request *req, struct llm_call *call, long per_call_ms,
    long budget_ms)
{
	struct llm_client	*c = client_new(per_call_ms, 1 << 20);

	llm_call_init(call, req);
	ck_assert_int_eq(llm_batch_run(c, call, 1, budget_ms), BS_OK);
	ck_assert_int_eq(observed, 1);
	llm_client_free(c);
}

#define OK_TEXT	"{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\"," \
	"\"model\":\"claude-sonnet-5-5\",\"content\":[{\"type\":\"text\"," \
	"\"text\":\"Call it Ember.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null," \
	"\"usage\":{\"input_tokens\":1500,\"output_tokens\":6," \
	"\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1400}}"
#define ERR_BODY(t, m)	"{\"type\":\"error\",\"error\":{\"type\":\"" t "\",\"message\":\"" m "\"}}"

#define EV(name, json)	"event: " name "\ndata: " json "\n\n"
#define S_START		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\"," \
			    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\"," \
			    "\"stop_reason\":null,\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}")
#define S_TEXT0		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0," \
			    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
#define S_DELTA(t)	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0," \
			    "\"delta\":{\"type\":\"text_delta\",\"text\":\"" t "\"}}")
#define S_PING		EV("ping", "{\"type\": \"ping\"}")
#define S_END		EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}") \
			EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":" \
			    "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}") \
			EV("message_stop", "{\"type\":\"message_stop\"}")
#define S_OVERLOADED	EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"," \
			    "\"message\":\"Overloaded\"}}")

static const struct step	 step_ok = { 200, NULL, { OK_TEXT }, 0, false, ACT_REPLY, 0 };

START_TEST(test_text_answer)
{
	static const struct step	 steps[] = { step_ok };
	struct llm_request		 req;
	struct llm_call			 call;
	json_object			*body, *v;

	server_start(steps, 1);
	request_init(&req, false);
	req.has_temperature = true;
	req.temperature = 0.7;
	req.user_id = "u-42";
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_OK);
	ck_assert_int_eq(call.kind, LLM_ERR_NONE);
	ck_assert_int_eq(call.http_status, 200);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(call.error, "");
	ck_assert_str_eq(call.request_id, "req_200");
	ck_assert_str_eq(buf_cstr(&call.res.text), "Call it Ember.");
	ck_assert_str_eq(call.res.id, "msg_01");
	ck_assert_str_eq(call.res.stop_reason, "end_turn");
	ck_assert_int_eq(call.res.usage.input_tokens, 1500);
	ck_assert_int_eq(call.res.usage.cache_read_input_tokens, 1400);
	ck_assert_str_eq(observed_kinds, "ok,");

	/* What went over the wire. */
	ck_assert_int_eq(srv_read(&srv.nreq), 1);
	ck_assert_ptr_nonnull(strstr(srv.req[0], "POST /v1/messages HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strcasestr(srv.req[0],
	    "\r\nauthorization: Bearer " API_KEY "\r\n"));
	ck_assert_ptr_null(strcasestr(srv.req[0], "x-api-key"));
	ck_assert_ptr_nonnull(strcasestr(srv.req[0],
	    "\r\nanthropic-version: 2026-10-21\r\n"));
	ck_assert_ptr_nonnull(strcasestr(srv.req[0],
	    "\r\ncontent-type: application/json\r\n"));
	ck_assert_ptr_nonnull(body = request_json(0));
	ck_assert_str_eq(jpath_str(body, "model", NULL), "claude-sonnet-5-5");
	ck_assert_str_eq(jpath_str(body, "max_tokens", NULL), "1024");
	ck_assert_str_eq(jpath_str(body, "temperature", NULL), "0.7");
	ck_assert_str_eq(jpath_str(body, "metadata", "user_id"), "u-42");
	ck_assert(!json_object_object_get_ex(body, "stream", NULL));
	ck_assert(!json_object_object_get_ex(body, "tools", NULL));
	ck_assert(json_object_object_get_ex(body, "system", &v));
	ck_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
	    "[{\"type\":\"text\",\"text\":\"You are the conversation agent.\","
	    "\"cache_control\":{\"type\":\"ephemeral\"}}]");
	ck_assert(json_object_object_get_ex(body, "messages", &v));
	ck_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE),
	    "[{\"role\":\"user\",\"content\":\"Let us brainstorm a name.\"},"
	    "{\"role\":\"assistant\",\"content\":\"Sure.\"},"
	    "{\"role\":\"user\",\"content\":\"Go on, caf\xc3\xa9 \xe2\x9c\x93\"}]");
	json_object_put(body);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_forced_tool)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { "{\"id\":\"msg_t\",\"type\":\"message\",\"role\":\"assistant\","
		    "\"model\":\"claude-haiku-4-5-20251001\",\"content\":[{\"type\":\"tool_use\","
		    "\"id\":\"toolu_9\",\"name\":\"classify_intent\",\"input\":{\"intent\":"
		    "\"deciding\",\"confidence\":91}}],\"stop_reason\":\"tool_use\","
		    "\"usage\":{\"input_tokens\":300,\"output_tokens\":20}}" }, 0, false,
		    ACT_REPLY, 0 },
	};
	struct llm_tool		 tool;
	struct llm_request	 req;
	struct llm_call		 call;
	json_object		*schema, *body, *v;

	server_start(steps, 1);
	schema = json_tokener_parse("{\"type\":\"object\",\"properties\":{\"intent\":"
	    "{\"type\":\"string\"},\"confidence\":{\"type\":\"integer\"}},"
	    "\"required\":[\"intent\",\"confidence\"]}");
	tool.name = "classify_intent";
	tool.description = "Classify the user's intent.";
	tool.input_schema = schema;
	request_init(&req, false);
	req.system_cache = false;
	req.tool = &tool;
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_OK);
	ck_assert_str_eq(call.res.tool_name, "classify_intent");
	ck_assert_str_eq(call.res.tool_id, "toolu_9");
	/* The structured answer is the tool input itself. */
	ck_assert_ptr_eq(call.res.output, call.res.tool_input);
	ck_assert_str_eq(json_object_to_json_string_ext(call.res.tool_input,
	    JSON_C_TO_STRING_PLAIN), "{\"intent\":\"deciding\",\"confidence\":91}");

	ck_assert_ptr_nonnull(body = request_json(0));
	ck_assert_str_eq(jpath_str(body, "system", NULL),
	    "You are the conversation agent.");
	ck_assert_str_eq(jpath_str(body, "tool_choice", "type"), "tool");
	ck_assert_str_eq(jpath_str(body, "tool_choice", "name"), "classify_intent");
	ck_assert(json_object_object_get_ex(body, "tools", &v));
	ck_assert_int_eq(json_object_array_length(v), 1);
	v = json_object_array_get_idx(v, 0);
	ck_assert_str_eq(jpath_str(v, "name", NULL), "classify_intent");
	ck_assert_str_eq(jpath_str(v, "description", NULL),
	    "Classify the user's intent.");
	ck_assert(json_object_object_get_ex(v, "input_schema", &v));
	ck_assert(json_object_equal(v, schema));
	json_object_put(body);
	/* The caller's schema was copied, not referenced. */
	ck_assert_int_eq(json_object_put(schema), 1);
	llm_call_free(&call);
	server_stop();
}
END_TEST

/* A tool was forced but the answer is plain text: the caller cannot use it. */
START_TEST(test_forced_tool_missing)
{
	static const struct step	 steps[] = { step_ok };
	struct llm_tool		 tool = { "record", NULL, NULL };
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	tool.input_schema = json_object_new_object();
	request_init(&req, false);
	req.tool = &tool;
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_ERR_INVALID);
	ck_assert_int_eq(call.kind, LLM_ERR_MALFORMED);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(call.error, "the answer did not call the tool record "
	    "(stop_reason end_turn)");
	json_object_put(tool.input_schema);
	llm_call_free(&call);
	server_stop();
}
END_TEST

static void
collect_text(void *arg, const char *text, size_t len)
{
	struct buf	*b = arg;

	ck_assert_int_eq(buf_append(b, text, len), BS_OK);
	ck_assert_int_eq(buf_append(b, "|", 1), BS_OK);
}

START_TEST(test_stream_in_pieces)
{
	/* Cut mid-line, mid-event and inside the two bytes of "é". */
	static const struct step	 steps[] = {
		{ 200, NULL, { S_START S_TEXT0 "event: content_block_delta\ndata: {\"type\":"
		    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
		    "\"text\":\"Hel\"}}\n", "\n" S_PING "event: content_block_delta\n"
		    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
		    "{\"type\":\"text_delta\",\"text\":\"lo, caf\xc3",
		    "\xa9\"}}\n\n" S_DELTA(" world"), S_END }, 20, true, ACT_REPLY, 0 },
	};
	struct llm_request	 req;
	struct llm_call		 call;
	struct buf		 seen;
	json_object		*body;

	server_start(steps, 1);
	buf_init(&seen, 4096);
	request_init(&req, true);
	req.on_text = collect_text;
	req.on_text_arg = &seen;
	run_one(&req, &call, 5000, 10000);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(buf_cstr(&seen), "Hel|lo, caf\xc3\xa9| world|");
	ck_assert_str_eq(buf_cstr(&call.res.text), "Hello, caf\xc3\xa9 world");
	ck_assert_str_eq(call.res.stop_reason, "end_turn");
	ck_assert_int_eq(call.res.usage.input_tokens, 11);
	ck_assert_int_eq(call.res.usage.output_tokens, 7);
	ck_assert_ptr_nonnull(body = request_json(0));
	ck_assert_str_eq(jpath_str(body, "stream", NULL), "true");
	json_object_put(body);
	buf_free(&seen);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_429_retry_after)
{
	static const struct step	 steps[] = {
		{ 429, "retry-after: 1\r\n", { ERR_BODY("rate_limit_error",
		    "Number of requests has exceeded your rate limit") }, 0, false,
		    ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_request	 req;
	struct llm_call		 call;

	char			 path[] = "/tmp/check_llm_client.XXXXXX", line[1024];
	FILE			*fp;
	bool			 logged = false;
	int			 fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	close(fd);
	ck_assert_int_eq(log_open(LOG_LEVEL_INFO, path), BS_OK);
	server_start(steps, 2);
	request_init(&req, false);
	run_one(&req, &call, 5000, 10000);
	log_open(LOG_LEVEL_ERROR, NULL);
	ck_assert_int_eq(call.err, BS_OK);
	ck_assert_int_eq(call.attempts, 2);
	ck_assert_int_eq(call.http_status, 200);
	ck_assert_int_eq(srv_read(&srv.nreq), 2);

	/* The retry was logged, with the server's wait and never the key. */
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		ck_assert_ptr_null(strstr(line, "sk-ant"));
		if (strstr(line, "claude call retried") != NULL) {
			logged = true;
			ck_assert_ptr_nonnull(strstr(line, "\"wait_ms\":1000"));
			ck_assert_ptr_nonnull(strstr(line, "\"kind\":\"rate_limited\""));
		}
	}
	fclose(fp);
	unlink(path);
	ck_assert(logged);
	llm_call_free(&call);
	server_stop();
}
END_TEST

/* A retry-after beyond the budget: the retry could not start in time. */
START_TEST(test_429_beyond_budget)
{
	static const struct step	 steps[] = {
		{ 429, "retry-after: 30\r\n", { ERR_BODY("rate_limit_error",
		    "slow down") }, 0, false, ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 2);
	request_init(&req, false);
	run_one(&req, &call, 5000, 2000);
	ck_assert_int_eq(call.err, BS_ERR_RATE_LIMITED);
	ck_assert_int_eq(call.kind, LLM_ERR_RATE_LIMITED);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(call.error, "HTTP 429: rate_limit_error: slow down; "
	    "no time left to retry");
	ck_assert_int_eq(srv_read(&srv.nreq), 1);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_529_then_ok)
{
	static const struct step	 steps[] = {
		{ 529, NULL, { ERR_BODY("overloaded_error", "Overloaded") }, 0, false,
		    ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 2);
	request_init(&req, false);
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_OK);
	ck_assert_int_eq(call.attempts, 2);
	ck_assert_str_eq(buf_cstr(&call.res.text), "Call it Ember.");
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_500_until_attempts_run_out)
{
	static const struct step	 steps[] = {
		{ 500, NULL, { ERR_BODY("api_error", "Internal server error") }, 0,
		    false, ACT_REPLY, 0 },
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	request_init(&req, false);
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_ERR_IO);
	ck_assert_int_eq(call.kind, LLM_ERR_SERVER);
	ck_assert_int_eq(call.attempts, 3);
	ck_assert_int_eq(call.http_status, 500);
	ck_assert_int_eq(srv_read(&srv.nreq), 3);
	ck_assert_str_eq(call.error, "HTTP 500: api_error: Internal server error");
	ck_assert_str_eq(observed_kinds, "server,");
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_400_not_retried)
{
	static const struct step	 steps[] = {
		{ 400, NULL, { ERR_BODY("invalid_request_error",
		    "messages: roles must alternate") }, 0, false, ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 2);
	request_init(&req, false);
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_ERR_INVALID);
	ck_assert_int_eq(call.kind, LLM_ERR_BAD_REQUEST);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_int_eq(call.http_status, 400);
	ck_assert_str_eq(call.error, "HTTP 400: invalid_request_error: messages: "
	    "roles must alternate");
	ck_assert_int_eq(srv_read(&srv.nreq), 1);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_401_hides_the_key)
{
	/* A server that echoes the key back, whole and cut off. */
	static const struct step	 steps[] = {
		{ 401, NULL, { ERR_BODY("authentication_error",
		    "invalid x-api-key " API_KEY) }, 0, false, ACT_REPLY, 0 },
		{ 403, NULL, { "<html>" API_KEY API_KEY "</html>" }, 0, false,
		    ACT_REPLY, 0 },
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 2);
	request_init(&req, false);
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_ERR_UNAUTHORIZED);
	ck_assert_int_eq(call.kind, LLM_ERR_AUTH);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_ptr_null(strstr(call.error, API_KEY));
	ck_assert_ptr_null(strstr(call.error, "sk-ant-api03"));
	ck_assert_ptr_nonnull(strstr(call.error, "authentication_error"));
	llm_call_free(&call);

	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.kind, LLM_ERR_AUTH);
	ck_assert_int_eq(call.http_status, 403);
	ck_assert_ptr_null(strstr(call.error, "sk-ant-api03"));
	ck_assert_ptr_null(strstr(call.error, "KEY-0123"));
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_malformed_200_not_retried)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { "{\"id\":\"msg\",\"type\":\"message\",\"content\":" }, 0,
		    false, ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 2);
	request_init(&req, false);
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_ERR_INVALID);
	ck_assert_int_eq(call.kind, LLM_ERR_MALFORMED);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_int_eq(srv_read(&srv.nreq), 1);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_dropped_connection_retried)
{
	static const struct step	 steps[] = {
		{ 0, NULL, { NULL }, 0, false, ACT_DROP, 0 },
		step_ok,
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 2);
	request_init(&req, false);
	run_one(&req, &call, 5000, 10000);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(call.attempts, 2);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_stream_cut_mid_body_retried)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { S_START S_TEXT0, "event: content_block_delta\ndata: {" },
		    0, true, ACT_DROP_MID, 0 },
		{ 200, NULL, { S_START S_TEXT0 S_DELTA("again") S_END }, 0, true,
		    ACT_REPLY, 0 },
	};
	struct llm_request	 req;
	struct llm_call		 call;
	struct buf		 seen;

	server_start(steps, 2);
	buf_init(&seen, 4096);
	request_init(&req, true);
	req.on_text = collect_text;
	req.on_text_arg = &seen;
	run_one(&req, &call, 5000, 10000);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(call.attempts, 2);
	ck_assert_str_eq(buf_cstr(&seen), "again|");
	ck_assert_str_eq(buf_cstr(&call.res.text), "again");
	buf_free(&seen);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_hang_hits_the_budget)
{
	static const struct step	 steps[] = {
		{ 0, NULL, { NULL }, 0, false, ACT_HANG, 0 },
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	request_init(&req, false);
	run_one(&req, &call, 60000, 500);
	ck_assert_int_eq(call.err, BS_ERR_TIMEOUT);
	ck_assert_int_eq(call.kind, LLM_ERR_BUDGET);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(call.error, "no answer within the batch's 500 ms");
	llm_call_free(&call);
	server_stop();
}
END_TEST

/* The per-call timeout is retried; the attempts run out before the budget. */
START_TEST(test_hang_hits_the_call_timeout)
{
	static const struct step	 steps[] = {
		{ 0, NULL, { NULL }, 0, false, ACT_HANG, 0 },
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	request_init(&req, false);
	run_one(&req, &call, 150, 30000);
	ck_assert_int_eq(call.err, BS_ERR_TIMEOUT);
	ck_assert_int_eq(call.kind, LLM_ERR_TIMEOUT);
	ck_assert_int_eq(call.attempts, 3);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_overloaded_before_text_retried)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { S_START S_TEXT0 S_PING, S_OVERLOADED }, 10, true,
		    ACT_REPLY, 0 },
		{ 200, NULL, { S_START S_TEXT0 S_DELTA("second"), S_END }, 10, true,
		    ACT_REPLY, 0 },
	};
	struct llm_request	 req;
	struct llm_call		 call;
	struct buf		 seen;

	server_start(steps, 2);
	buf_init(&seen, 4096);
	request_init(&req, true);
	req.on_text = collect_text;
	req.on_text_arg = &seen;
	run_one(&req, &call, 5000, 10000);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(call.attempts, 2);
	ck_assert_str_eq(buf_cstr(&seen), "second|");
	ck_assert_str_eq(buf_cstr(&call.res.text), "second");
	buf_free(&seen);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_overloaded_after_text_not_retried)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { S_START S_TEXT0 S_DELTA("shown"), S_OVERLOADED }, 10,
		    true, ACT_REPLY, 0 },
		{ 200, NULL, { S_START S_TEXT0 S_DELTA("never") S_END }, 0, true,
		    ACT_REPLY, 0 },
	};
	struct llm_request	 req;
	struct llm_call		 call;
	struct buf		 seen;

	server_start(steps, 2);
	buf_init(&seen, 4096);
	request_init(&req, true);
	req.on_text = collect_text;
	req.on_text_arg = &seen;
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_ERR_IO);
	ck_assert_int_eq(call.kind, LLM_ERR_OVERLOADED);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_int_eq(srv_read(&srv.nreq), 1);
	ck_assert_str_eq(buf_cstr(&seen), "shown|");
	ck_assert_str_eq(call.error, "overloaded_error: Overloaded; not retried: "
	    "part of the reply was already streamed");
	buf_free(&seen);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_parallel_batch)
{
	/* Nobody is answered until five requests are open at once. */
	static const struct step	 steps[] = {
		{ 200, NULL, { OK_TEXT }, 0, false, ACT_REPLY, 5 },
	};
	struct llm_client	*c;
	struct llm_request	 req;
	struct llm_call		 calls[5];
	size_t			 i;

	server_start(steps, 1);
	c = client_new(15000, 1 << 20);
	request_init(&req, false);
	for (i = 0; i < 5; i++)
		llm_call_init(&calls[i], &req);
	ck_assert_int_eq(llm_batch_run(c, calls, 5, 20000), BS_OK);
	for (i = 0; i < 5; i++) {
		ck_assert_msg(calls[i].err == BS_OK, "%s", calls[i].error);
		ck_assert_int_eq(calls[i].attempts, 1);
		ck_assert_str_eq(buf_cstr(&calls[i].res.text), "Call it Ember.");
		llm_call_free(&calls[i]);
	}
	ck_assert_int_eq(srv_read(&srv.max_active), 5);
	ck_assert_int_eq(srv_read(&srv.nreq), 5);
	ck_assert_int_eq(observed, 5);
	llm_client_free(c);
	server_stop();
}
END_TEST

/* One call of a batch failing fails only itself. */
START_TEST(test_batch_mixed)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { OK_TEXT }, 0, false, ACT_REPLY, 2 },
	};
	struct llm_client	*c;
	struct llm_request	 good, bad;
	struct llm_call		 calls[3];
	size_t			 i;

	server_start(steps, 1);
	c = client_new(15000, 1 << 20);
	request_init(&good, false);
	request_init(&bad, false);
	bad.model = NULL;
	llm_call_init(&calls[0], &good);
	llm_call_init(&calls[1], &bad);
	llm_call_init(&calls[2], &good);
	ck_assert_int_eq(llm_batch_run(c, calls, 3, 20000), BS_OK);
	ck_assert_int_eq(calls[0].err, BS_OK);
	ck_assert_int_eq(calls[2].err, BS_OK);
	ck_assert_int_eq(calls[1].err, BS_ERR_INVALID);
	ck_assert_int_eq(calls[1].kind, LLM_ERR_BAD_REQUEST);
	ck_assert_int_eq(calls[1].attempts, 0);
	ck_assert_str_eq(calls[1].error, "the request has no model");
	ck_assert_int_eq(srv_read(&srv.nreq), 2);
	ck_assert_int_eq(observed, 3);
	for (i = 0; i < 3; i++)
		llm_call_free(&calls[i]);
	llm_client_free(c);
	server_stop();
}
END_TEST

START_TEST(test_answer_too_large)
{
	static const struct step	 steps[] = { step_ok };
	static const struct step	 stream_steps[] = {
		{ 200, NULL, { S_START S_TEXT0, S_DELTA("0123456789") S_END }, 0,
		    true, ACT_REPLY, 0 },
	};
	struct llm_client	*c;
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	c = client_new(5000, 64);
	request_init(&req, false);
	llm_call_init(&call, &req);
	ck_assert_int_eq(llm_batch_run(c, &call, 1, 10000), BS_OK);
	ck_assert_int_eq(call.err, BS_ERR_TOO_LARGE);
	ck_assert_int_eq(call.kind, LLM_ERR_TOO_LARGE);
	ck_assert_int_eq(call.attempts, 1);
	llm_call_free(&call);
	llm_client_free(c);
	server_stop();

	server_start(stream_steps, 1);
	c = client_new(5000, 300);
	request_init(&req, true);
	llm_call_init(&call, &req);
	ck_assert_int_eq(llm_batch_run(c, &call, 1, 10000), BS_OK);
	ck_assert_int_eq(call.kind, LLM_ERR_TOO_LARGE);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(call.error, "stream larger than 300 bytes");
	llm_call_free(&call);
	llm_client_free(c);
	server_stop();
}
END_TEST

START_TEST(test_connection_refused_retried)
{
	static const struct step	 steps[] = { step_ok };
	struct llm_client	*c;
	struct llm_request	 req;
	struct llm_call		 call;

	/* A port that was just free: nothing listens on it now. */
	server_start(steps, 1);
	c = client_new(5000, 1 << 20);
	server_stop();
	request_init(&req, false);
	llm_call_init(&call, &req);
	ck_assert_int_eq(llm_batch_run(c, &call, 1, 10000), BS_OK);
	ck_assert_int_eq(call.err, BS_ERR_IO);
	ck_assert_int_eq(call.kind, LLM_ERR_NETWORK);
	ck_assert_int_eq(call.attempts, 3);
	ck_assert_int_eq(call.http_status, 0);
	llm_call_free(&call);
	llm_client_free(c);
}
END_TEST

START_TEST(test_stream_wrong_content_type)
{
	static const struct step	 steps[] = { step_ok };
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	request_init(&req, true);
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.kind, LLM_ERR_MALFORMED);
	ck_assert_int_eq(call.attempts, 1);
	llm_call_free(&call);
	server_stop();
}
END_TEST

START_TEST(test_request_body)
{
	static const struct llm_message	 alone[] = { { "assistant", "hi" } };
	static const struct llm_message	 badutf[] = { { "user", "\xc3(" } };
	struct llm_request	 req;
	struct buf		 out;
	char			 err[256];

	buf_init(&out, 1 << 20);
	request_init(&req, true);
	req.system_cache = false;
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)), BS_OK);
	ck_assert_str_eq(buf_cstr(&out), "{\"model\":\"claude-sonnet-5-5\","
	    "\"max_tokens\":1024,\"system\":\"You are the conversation agent.\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Let us brainstorm a name.\"},"
	    "{\"role\":\"assistant\",\"content\":\"Sure.\"},{\"role\":\"user\","
	    "\"content\":\"Go on, caf\xc3\xa9 \xe2\x9c\x93\"}],\"stream\":true}");

	req.max_tokens = 0;
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)),
	    BS_ERR_INVALID);
	request_init(&req, false);
	req.messages = alone;
	req.nmessages = 1;
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)),
	    BS_ERR_INVALID);
	req.messages = badutf;
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)),
	    BS_ERR_INVALID);
	request_init(&req, false);
	req.has_temperature = true;
	req.temperature = 1.5;
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)),
	    BS_ERR_INVALID);
	buf_free(&out);
}
END_TEST

START_TEST(test_client_options)
{
	struct llm_client_options	 opt;
	struct llm_client		*c = NULL;
	char				 err[256];

	memset(&opt, 0, sizeof(opt));
	opt.api_key = API_KEY;
	opt.base_url = "ftp://example.org";
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_ERR_INVALID);
	ck_assert_ptr_null(c);
	opt.base_url = "https://api.anthropic.com";
	opt.api_key = "key\r\nx-evil: 1";
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_ERR_INVALID);
	ck_assert_ptr_null(strstr(err, "evil"));
	opt.api_key = "";
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_ERR_INVALID);
	opt.api_key = API_KEY;
	opt.max_attempts = 100;
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_ERR_INVALID);
	opt.max_attempts = 0;
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_OK);
	ck_assert_str_eq(llm_client_api_version(c), LLM_API_VERSION_CURRENT);
	llm_client_free(c);
	/* Only the two versions the client speaks. */
	opt.api_version = "2024-01-01";
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_ERR_INVALID);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "CLAUDE_API_VERSION must be 2026-10-21 or 2023-06-01");
	opt.api_version = "";
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_ERR_INVALID);
	opt.api_version = "2026-10-21\r\nx-evil: 1";
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_ERR_INVALID);
	opt.api_version = LLM_API_VERSION_LEGACY;
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_OK);
	ck_assert_str_eq(llm_client_api_version(c), "2023-06-01");
	llm_client_free(c);
}
END_TEST

/* A zero budget starts nothing. */
START_TEST(test_zero_budget)
{
	static const struct step	 steps[] = { step_ok };
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	request_init(&req, false);
	run_one(&req, &call, 5000, 0);
	ck_assert_int_eq(call.err, BS_ERR_TIMEOUT);
	ck_assert_int_eq(call.kind, LLM_ERR_BUDGET);
	ck_assert_int_eq(call.attempts, 0);
	ck_assert_int_eq(srv_read(&srv.nreq), 0);
	llm_call_free(&call);
	server_stop();
}
END_TEST

/* The retry waits the client logged, in order; the log goes back to stderr. */
static int
log_waits_end(char *path, long *waits, int max)
{
	char	 line[1024], *p;
	FILE	*fp;
	int	 n = 0;

	log_open(LOG_LEVEL_ERROR, NULL);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		ck_assert_ptr_null(strstr(line, "sk-ant"));
		if (strstr(line, "claude call retried") == NULL ||
		    (p = strstr(line, "\"wait_ms\":")) == NULL)
			continue;
		ck_assert_int_lt(n, max);
		waits[n++] = strtol(p + 10, NULL, 10);
	}
	fclose(fp);
	unlink(path);
	return n;
}

/* The log into a new temporary file, path a mkstemp template. */
static void
log_waits_begin(char *path)
{
	int	 fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	close(fd);
	ck_assert_int_eq(log_open(LOG_LEVEL_INFO, path), BS_OK);
}

START_TEST(test_legacy_version)
{
	static const struct step	 steps[] = { step_ok };
	struct llm_client	*c;
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	c = client_new_version(5000, 1 << 20, LLM_API_VERSION_LEGACY);
	ck_assert_str_eq(llm_client_api_version(c), "2023-06-01");
	request_init(&req, false);
	llm_call_init(&call, &req);
	ck_assert_int_eq(llm_batch_run(c, &call, 1, 10000), BS_OK);
	ck_assert_int_eq(call.err, BS_OK);
	ck_assert_ptr_nonnull(strcasestr(srv.req[0], "\r\nx-api-key: " API_KEY "\r\n"));
	ck_assert_ptr_null(strcasestr(srv.req[0], "authorization"));
	ck_assert_ptr_nonnull(strcasestr(srv.req[0],
	    "\r\nanthropic-version: 2023-06-01\r\n"));
	llm_call_free(&call);
	llm_client_free(c);
	server_stop();
}
END_TEST

/* A short request, so whole bodies can be compared. */
static void
request_short(struct llm_request *req, const struct llm_tool *tool,
    enum llm_answer answer)
{
	static const struct llm_message	 one[] = { { "user", "Classify: hi" } };

	memset(req, 0, sizeof(*req));
	req->model = "claude-haiku-5-5";
	req->max_tokens = 2048;
	req->messages = one;
	req->nmessages = 1;
	req->answer = answer;
	req->tool = tool;
}

#define BODY_HEAD	"{\"model\":\"claude-haiku-5-5\",\"max_tokens\":2048," \
			"\"messages\":[{\"role\":\"user\",\"content\":\"Classify: hi\"}]"
#define SCHEMA		"{\"type\":\"object\",\"properties\":{\"intent\":{\"type\":\"string\"}}," \
			"\"required\":[\"intent\"],\"additionalProperties\":false}"

START_TEST(test_request_body_modes)
{
	static const struct {
		enum llm_answer		 answer;
		enum llm_thinking	 thinking;
		int			 budget;
		const char		*effort;
		const char		*want;
	} cases[] = {
		{ LLM_ANSWER_TEXT, LLM_THINKING_OMIT, 0, NULL, BODY_HEAD "}" },
		{ LLM_ANSWER_JSON_SCHEMA, LLM_THINKING_OMIT, 0, NULL, BODY_HEAD
		    ",\"output_config\":{\"format\":{\"type\":\"json_schema\","
		    "\"schema\":" SCHEMA "}}}" },
		{ LLM_ANSWER_JSON_SCHEMA, LLM_THINKING_DISABLED, 0, "low", BODY_HEAD
		    ",\"thinking\":{\"type\":\"disabled\"},\"output_config\":"
		    "{\"format\":{\"type\":\"json_schema\",\"schema\":" SCHEMA "},"
		    "\"effort\":\"low\"}}" },
		{ LLM_ANSWER_STRICT_TOOL, LLM_THINKING_ADAPTIVE, 0, "xhigh", BODY_HEAD
		    ",\"tools\":[{\"name\":\"classify_intent\",\"description\":"
		    "\"Classify.\",\"input_schema\":" SCHEMA ",\"strict\":true}],"
		    "\"tool_choice\":{\"type\":\"auto\",\"disable_parallel_tool_use\":"
		    "true},\"thinking\":{\"type\":\"adaptive\"},\"output_config\":"
		    "{\"effort\":\"xhigh\"}}" },
		{ LLM_ANSWER_FORCED_TOOL, LLM_THINKING_OMIT, 0, NULL, BODY_HEAD
		    ",\"tools\":[{\"name\":\"classify_intent\",\"description\":"
		    "\"Classify.\",\"input_schema\":" SCHEMA "}],\"tool_choice\":"
		    "{\"type\":\"tool\",\"name\":\"classify_intent\"}}" },
		{ LLM_ANSWER_TEXT, LLM_THINKING_BETWEEN_TOOLS, 0, "medium", BODY_HEAD
		    ",\"thinking\":{\"type\":\"between_tools\"},\"output_config\":"
		    "{\"effort\":\"medium\"}}" },
		{ LLM_ANSWER_TEXT, LLM_THINKING_ENABLED, 1024, "max", BODY_HEAD
		    ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},"
		    "\"output_config\":{\"effort\":\"max\"}}" },
		/* A budget is only sent with enabled thinking. */
		{ LLM_ANSWER_TEXT, LLM_THINKING_ADAPTIVE, 4096, NULL, BODY_HEAD
		    ",\"thinking\":{\"type\":\"adaptive\"}}" },
	};
	struct llm_tool		 tool;
	struct llm_request	 req;
	struct buf		 out, again;
	char			 err[256];
	size_t			 i;

	buf_init(&out, 1 << 20);
	buf_init(&again, 1 << 20);
	ck_assert_ptr_nonnull(tool.input_schema = json_tokener_parse(SCHEMA));
	tool.name = "classify_intent";
	tool.description = "Classify.";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		request_short(&req, cases[i].answer == LLM_ANSWER_TEXT ? NULL :
		    &tool, cases[i].answer);
		req.thinking = cases[i].thinking;
		req.thinking_budget = cases[i].budget;
		req.effort = cases[i].effort;
		if (llm_request_body(&req, &out, err, sizeof(err)) != BS_OK)
			ck_abort_msg("case %zu: %s", i, err);
		ck_assert_str_eq(buf_cstr(&out), cases[i].want);
		/* Deterministic: it is a cache key too. */
		ck_assert_int_eq(llm_request_body(&req, &again, err, sizeof(err)),
		    BS_OK);
		ck_assert_str_eq(buf_cstr(&again), buf_cstr(&out));
	}
	/* A tool without an answer mode is forced, as before the modes. */
	request_short(&req, &tool, LLM_ANSWER_TEXT);
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)), BS_OK);
	ck_assert_str_eq(buf_cstr(&out), cases[4].want);
	/* The schema was copied into each body, never referenced. */
	ck_assert_int_eq(json_object_put(tool.input_schema), 1);
	buf_free(&out);
	buf_free(&again);
}
END_TEST

START_TEST(test_request_body_refused)
{
	static const struct {
		enum llm_answer		 answer;
		bool			 tool;
		enum llm_thinking	 thinking;
		int			 budget;
		const char		*effort;
		const char		*err;
	} cases[] = {
		{ LLM_ANSWER_JSON_SCHEMA, false, 0, 0, NULL,
		    "a structured answer needs a tool: its name and schema" },
		{ LLM_ANSWER_STRICT_TOOL, false, 0, 0, NULL,
		    "a structured answer needs a tool: its name and schema" },
		{ LLM_ANSWER_FORCED_TOOL, false, 0, 0, NULL,
		    "a structured answer needs a tool: its name and schema" },
		{ (enum llm_answer)7, true, 0, 0, NULL, "unknown answer mode 7" },
		{ LLM_ANSWER_TEXT, false, (enum llm_thinking)9, 0, NULL,
		    "unknown thinking type 9" },
		{ LLM_ANSWER_TEXT, false, LLM_THINKING_ENABLED, 1023, NULL,
		    "the thinking budget must be at least 1024 and below "
		    "max_tokens (2048)" },
		{ LLM_ANSWER_TEXT, false, LLM_THINKING_ENABLED, 2048, NULL,
		    "the thinking budget must be at least 1024 and below "
		    "max_tokens (2048)" },
		{ LLM_ANSWER_TEXT, false, LLM_THINKING_OMIT, 0, "extreme",
		    "effort must be low, medium, high, xhigh or max" },
		{ LLM_ANSWER_TEXT, false, LLM_THINKING_OMIT, 0, "",
		    "effort must be low, medium, high, xhigh or max" },
		{ LLM_ANSWER_TEXT, false, LLM_THINKING_OMIT, 0, "High",
		    "effort must be low, medium, high, xhigh or max" },
		{ LLM_ANSWER_JSON_SCHEMA, true, LLM_THINKING_DISABLED, 0, "xhigh",
		    "disabled thinking goes only with effort low, medium or high" },
		{ LLM_ANSWER_TEXT, false, LLM_THINKING_DISABLED, 0, "max",
		    "disabled thinking goes only with effort low, medium or high" },
	};
	struct llm_tool		 tool = { "classify_intent", NULL, NULL };
	struct llm_request	 req;
	struct buf		 out;
	char			 err[256];
	size_t			 i;

	buf_init(&out, 1 << 20);
	tool.input_schema = json_object_new_object();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		request_short(&req, cases[i].tool ? &tool : NULL,
		    cases[i].answer);
		req.thinking = cases[i].thinking;
		req.thinking_budget = cases[i].budget;
		req.effort = cases[i].effort;
		if (llm_request_body(&req, &out, err, sizeof(err)) !=
		    BS_ERR_INVALID)
			ck_abort_msg("case %zu was accepted", i);
		ck_assert_str_eq(err, cases[i].err);
	}
	/* The edges that are fine. */
	request_short(&req, NULL, LLM_ANSWER_TEXT);
	req.thinking = LLM_THINKING_ENABLED;
	req.thinking_budget = 2047;
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)), BS_OK);
	req.thinking = LLM_THINKING_DISABLED;
	req.effort = "high";
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)), BS_OK);
	/* A tool whose schema is not an object. */
	json_object_put(tool.input_schema);
	tool.input_schema = json_object_new_array();
	request_short(&req, &tool, LLM_ANSWER_JSON_SCHEMA);
	ck_assert_int_eq(llm_request_body(&req, &out, err, sizeof(err)),
	    BS_ERR_INVALID);
	json_object_put(tool.input_schema);
	buf_free(&out);
}
END_TEST

/* llm_answer_check alone: the verdict on a complete answer, by table. */
START_TEST(test_answer_check)
{
	static const struct {
		enum llm_answer		 answer;
		const char		*stop;
		const char		*details;
		const char		*text;
		const char		*tool;	/* tool_use name, input {"a":1} */
		enum llm_error_kind	 kind;
		const char		*msg;
		const char		*output;
	} cases[] = {
		{ LLM_ANSWER_TEXT, "end_turn", "", "Hi", NULL, LLM_ERR_NONE, "",
		    NULL },
		{ LLM_ANSWER_TEXT, "", "", "Hi", NULL, LLM_ERR_NONE, "", NULL },
		{ LLM_ANSWER_TEXT, "stop_sequence", "", "Hi", NULL, LLM_ERR_NONE,
		    "", NULL },
		{ LLM_ANSWER_TEXT, "a_reason_to_come", "", "Hi", NULL,
		    LLM_ERR_NONE, "", NULL },
		{ LLM_ANSWER_TEXT, "max_tokens", "", "Hi", NULL,
		    LLM_ERR_TRUNCATED, "the answer was cut at max_tokens (2048)",
		    NULL },
		{ LLM_ANSWER_TEXT, "refusal", "bio: Not this.", "", NULL,
		    LLM_ERR_REFUSAL, "the model refused to answer: bio: Not "
		    "this.", NULL },
		{ LLM_ANSWER_TEXT, "refusal", "", "", NULL, LLM_ERR_REFUSAL,
		    "the model refused to answer", NULL },
		{ LLM_ANSWER_TEXT, "model_context_window_exceeded", "", "", NULL,
		    LLM_ERR_CONTEXT, "the request fills the model's context "
		    "window", NULL },
		{ LLM_ANSWER_TEXT, "pause_turn", "", "", NULL, LLM_ERR_PAUSED,
		    "the model paused its turn (pause_turn); it is not "
		    "continued", NULL },
		{ LLM_ANSWER_JSON_SCHEMA, "end_turn", "", " {\"intent\":\"x\"}\n",
		    NULL, LLM_ERR_NONE, "", "{\"intent\":\"x\"}" },
		{ LLM_ANSWER_JSON_SCHEMA, "end_turn", "", "{\"intent\":", NULL,
		    LLM_ERR_MALFORMED, "the answer is not JSON: unexpected end "
		    "of JSON", NULL },
		{ LLM_ANSWER_JSON_SCHEMA, "end_turn", "", "[1]", NULL,
		    LLM_ERR_MALFORMED, "the answer is not JSON: not an object",
		    NULL },
		{ LLM_ANSWER_JSON_SCHEMA, "end_turn", "", "```json\n{}\n```", NULL,
		    LLM_ERR_MALFORMED, NULL, NULL },
		{ LLM_ANSWER_JSON_SCHEMA, "end_turn", "", "{\"a\":[[[[[[[[1]]]]]]]]}",
		    NULL, LLM_ERR_MALFORMED, NULL, NULL },
		/* Cut JSON is truncated, not malformed: stop_reason comes first. */
		{ LLM_ANSWER_JSON_SCHEMA, "max_tokens", "", "{\"intent\":", NULL,
		    LLM_ERR_TRUNCATED, "the answer was cut at max_tokens (2048)",
		    NULL },
		{ LLM_ANSWER_STRICT_TOOL, "tool_use", "", "", "classify_intent",
		    LLM_ERR_NONE, "", "{\"a\":1}" },
		{ LLM_ANSWER_FORCED_TOOL, "tool_use", "", "", "classify_intent",
		    LLM_ERR_NONE, "", "{\"a\":1}" },
		{ LLM_ANSWER_STRICT_TOOL, "end_turn", "", "I would rather talk.",
		    NULL, LLM_ERR_MALFORMED, "the answer did not call the tool "
		    "classify_intent (stop_reason end_turn)", NULL },
		{ LLM_ANSWER_STRICT_TOOL, "tool_use", "", "", "other_tool",
		    LLM_ERR_MALFORMED, "the answer did not call the tool "
		    "classify_intent (stop_reason tool_use)", NULL },
		{ LLM_ANSWER_STRICT_TOOL, "", "", "", NULL, LLM_ERR_MALFORMED,
		    "the answer did not call the tool classify_intent "
		    "(stop_reason none)", NULL },
	};
	struct llm_tool		 tool = { "classify_intent", NULL, NULL };
	struct llm_request	 req;
	struct llm_response	 res;
	enum llm_error_kind	 kind;
	char			 msg[LLM_ERROR_MAX];
	size_t			 i;

	tool.input_schema = json_object_new_object();
	llm_response_init(&res, 4096);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		request_short(&req, cases[i].answer == LLM_ANSWER_TEXT ? NULL :
		    &tool, cases[i].answer);
		llm_response_reset(&res);
		snprintf(res.stop_reason, sizeof(res.stop_reason), "%s",
		    cases[i].stop);
		snprintf(res.stop_details, sizeof(res.stop_details), "%s",
		    cases[i].details);
		buf_puts(&res.text, cases[i].text);
		res.usage.output_tokens = 77;
		if (cases[i].tool != NULL) {
			snprintf(res.tool_name, sizeof(res.tool_name), "%s",
			    cases[i].tool);
			res.tool_input = json_tokener_parse("{\"a\":1}");
		}
		msg[0] = '\0';
		kind = llm_answer_check(&req, &res, 8, msg, sizeof(msg));
		if (kind != cases[i].kind)
			ck_abort_msg("case %zu: %s (%s)", i,
			    llm_error_kind_name(kind), msg);
		if (cases[i].msg != NULL)
			ck_assert_str_eq(msg, cases[i].msg);
		else
			ck_assert_ptr_nonnull(strstr(msg, "the answer is not JSON"));
		if (cases[i].output == NULL)
			ck_assert_ptr_null(res.output);
		else
			ck_assert_str_eq(json_object_to_json_string_ext(res.output,
			    JSON_C_TO_STRING_PLAIN), cases[i].output);
		/* Whatever the verdict, the answer is left as it came. */
		ck_assert_str_eq(buf_cstr(&res.text), cases[i].text);
		ck_assert_int_eq(res.usage.output_tokens, 77);
	}
	/* Checked twice, the output is replaced, not leaked. */
	ck_assert_int_eq(llm_answer_check(&req, &res, 8, msg, sizeof(msg)),
	    LLM_ERR_MALFORMED);
	/* A request that never could have been sent. */
	request_short(&req, NULL, LLM_ANSWER_STRICT_TOOL);
	ck_assert_int_eq(llm_answer_check(&req, &res, 8, msg, sizeof(msg)),
	    LLM_ERR_BAD_REQUEST);
	llm_response_free(&res);
	json_object_put(tool.input_schema);
}
END_TEST

#define JSON_ANSWER(content, stop) "{\"id\":\"msg_j\",\"type\":\"message\"," \
	"\"role\":\"assistant\",\"model\":\"claude-haiku-5-5\",\"content\":[" content \
	"],\"stop_reason\":\"" stop "\",\"stop_details\":null,\"usage\":{\"input_tokens\":" \
	"300,\"output_tokens\":20,\"output_tokens_details\":{\"thinking_tokens\":0}}}"

START_TEST(test_json_schema_answer)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { JSON_ANSWER("{\"type\":\"thinking\",\"thinking\":\"\","
		    "\"signature\":\"s\"},{\"type\":\"text\",\"text\":"
		    "\"{\\\"intent\\\":\\\"deciding\\\"}\"}", "end_turn") }, 0, false,
		    ACT_REPLY, 0 },
		{ 200, NULL, { JSON_ANSWER("{\"type\":\"text\",\"text\":"
		    "\"Sure! Here is the JSON.\"}", "end_turn") }, 0, false,
		    ACT_REPLY, 0 },
	};
	struct llm_tool		 tool = { "classify_intent", "Classify.", NULL };
	struct llm_request	 req;
	struct llm_call		 call;
	json_object		*body;

	server_start(steps, 2);
	ck_assert_ptr_nonnull(tool.input_schema = json_tokener_parse(SCHEMA));
	request_short(&req, &tool, LLM_ANSWER_JSON_SCHEMA);
	req.effort = "low";
	req.thinking = LLM_THINKING_DISABLED;
	run_one(&req, &call, 5000, 10000);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(call.res.thinking_blocks, 1);
	ck_assert_str_eq(json_object_to_json_string_ext(call.res.output,
	    JSON_C_TO_STRING_PLAIN), "{\"intent\":\"deciding\"}");
	ck_assert_ptr_nonnull(body = request_json(0));
	ck_assert(!json_object_object_get_ex(body, "tools", NULL));
	ck_assert(!json_object_object_get_ex(body, "tool_choice", NULL));
	ck_assert_str_eq(jpath_str(body, "thinking", "type"), "disabled");
	ck_assert_str_eq(jpath_str(body, "output_config", "effort"), "low");
	json_object_put(body);
	llm_call_free(&call);

	/* Prose where JSON was asked: not retried, the text kept to look at. */
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.err, BS_ERR_INVALID);
	ck_assert_int_eq(call.kind, LLM_ERR_MALFORMED);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_ptr_nonnull(strstr(call.error, "the answer is not JSON"));
	ck_assert_ptr_null(call.res.output);
	ck_assert_str_eq(buf_cstr(&call.res.text), "Sure! Here is the JSON.");
	ck_assert_int_eq(srv_read(&srv.nreq), 2);
	llm_call_free(&call);
	json_object_put(tool.input_schema);
	server_stop();
}
END_TEST

START_TEST(test_strict_tool_answer)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { JSON_ANSWER("{\"type\":\"thinking\",\"thinking\":\"x\","
		    "\"signature\":\"s\"},{\"type\":\"text\",\"text\":\"Let me record.\"},"
		    "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"classify_intent\","
		    "\"input\":{\"intent\":\"deciding\"}}", "tool_use") }, 0, false,
		    ACT_REPLY, 0 },
	};
	struct llm_tool		 tool = { "classify_intent", "Classify.", NULL };
	struct llm_request	 req;
	struct llm_call		 call;
	json_object		*body;

	server_start(steps, 1);
	ck_assert_ptr_nonnull(tool.input_schema = json_tokener_parse(SCHEMA));
	request_short(&req, &tool, LLM_ANSWER_STRICT_TOOL);
	req.thinking = LLM_THINKING_ADAPTIVE;
	run_one(&req, &call, 5000, 10000);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_ptr_eq(call.res.output, call.res.tool_input);
	ck_assert_str_eq(json_object_to_json_string_ext(call.res.output,
	    JSON_C_TO_STRING_PLAIN), "{\"intent\":\"deciding\"}");
	/* Text between tools is not the answer, but it is not thinking either. */
	ck_assert_str_eq(buf_cstr(&call.res.text), "Let me record.");
	ck_assert_int_eq(call.res.thinking_blocks, 1);
	ck_assert_ptr_nonnull(body = request_json(0));
	ck_assert_str_eq(jpath_str(body, "tool_choice", "type"), "auto");
	ck_assert_str_eq(jpath_str(body, "tool_choice",
	    "disable_parallel_tool_use"), "true");
	json_object_put(body);
	llm_call_free(&call);
	json_object_put(tool.input_schema);
	server_stop();
}
END_TEST

/* A complete answer that stopped for a reason the caller must see: never retried. */
START_TEST(test_stop_reasons_not_retried)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { JSON_ANSWER("{\"type\":\"text\",\"text\":\"Half a \"}",
		    "max_tokens") }, 0, false, ACT_REPLY, 0 },
		{ 200, NULL, { "{\"id\":\"msg_r\",\"type\":\"message\",\"content\":[],"
		    "\"stop_reason\":\"refusal\",\"stop_details\":{\"type\":\"refusal\","
		    "\"category\":\"cyber\",\"explanation\":\"This could enable "
		    "malware.\"},\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}" },
		    0, false, ACT_REPLY, 0 },
		{ 200, NULL, { JSON_ANSWER("", "model_context_window_exceeded") }, 0,
		    false, ACT_REPLY, 0 },
		{ 200, NULL, { JSON_ANSWER("", "pause_turn") }, 0, false, ACT_REPLY, 0 },
		step_ok,
	};
	static const struct {
		enum llm_error_kind	 kind;
		bs_err			 err;
		const char		*error;
		const char		*observed;
	} want[] = {
		{ LLM_ERR_TRUNCATED, BS_ERR_TOO_LARGE,
		    "the answer was cut at max_tokens (1024)", "truncated," },
		{ LLM_ERR_REFUSAL, BS_ERR_INVALID, "the model refused to answer: "
		    "cyber: This could enable malware.", "refusal," },
		{ LLM_ERR_CONTEXT, BS_ERR_TOO_LARGE, "the request fills the "
		    "model's context window", "context_exceeded," },
		{ LLM_ERR_PAUSED, BS_ERR_IO, "the model paused its turn "
		    "(pause_turn); it is not continued", "paused," },
	};
	struct llm_request	 req;
	struct llm_call		 call;
	size_t			 i;

	server_start(steps, 5);
	request_init(&req, false);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		run_one(&req, &call, 5000, 10000);
		ck_assert_int_eq(call.kind, want[i].kind);
		ck_assert_int_eq(call.err, want[i].err);
		ck_assert_int_eq(call.attempts, 1);
		ck_assert_int_eq(call.http_status, 200);
		ck_assert_str_eq(call.error, want[i].error);
		ck_assert_str_eq(observed_kinds, want[i].observed);
		ck_assert_int_eq(srv_read(&srv.nreq), (int)i + 1);
		if (i == 0) {
			/* The cut answer is kept, for a caller that wants it. */
			ck_assert_str_eq(buf_cstr(&call.res.text), "Half a ");
			ck_assert_int_eq(call.res.usage.output_tokens, 20);
		}
		if (i == 1)
			ck_assert_str_eq(call.res.stop_details,
			    "cyber: This could enable malware.");
		llm_call_free(&call);
	}
	server_stop();
}
END_TEST

#define S_THINK0	EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0," \
			    "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}") \
			EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0," \
			    "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"secret\"}}") \
			EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0," \
			    "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}") \
			EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
#define S_TEXT1		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1," \
			    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
#define S_DELTA1(t)	EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1," \
			    "\"delta\":{\"type\":\"text_delta\",\"text\":\"" t "\"}}")
#define S_STOP_MAX(i)	EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" #i "}") \
			EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":" \
			    "\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1024," \
			    "\"output_tokens_details\":{\"thinking_tokens\":300}}}") \
			EV("message_stop", "{\"type\":\"message_stop\"}")

/* A streamed reply cut at max_tokens: what the person saw is kept. */
START_TEST(test_stream_truncated_keeps_text)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { S_START S_THINK0 S_TEXT1 S_DELTA1("Three ideas: "),
		    S_DELTA1("one, two") S_STOP_MAX(1) }, 10, true, ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_request	 req;
	struct llm_call		 call;
	struct buf		 seen;

	server_start(steps, 2);
	buf_init(&seen, 4096);
	request_init(&req, true);
	req.thinking = LLM_THINKING_BETWEEN_TOOLS;
	req.effort = "medium";
	req.on_text = collect_text;
	req.on_text_arg = &seen;
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.kind, LLM_ERR_TRUNCATED);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(call.error, "the answer was cut at max_tokens (1024)");
	ck_assert_str_eq(buf_cstr(&seen), "Three ideas: |one, two|");
	ck_assert_str_eq(buf_cstr(&call.res.text), "Three ideas: one, two");
	ck_assert_int_eq(call.res.thinking_blocks, 1);
	ck_assert_int_eq(call.res.usage.output_tokens, 1024);
	ck_assert_int_eq(call.res.usage.thinking_tokens, 300);
	ck_assert_str_eq(call.res.stop_reason, "max_tokens");
	ck_assert_int_eq(srv_read(&srv.nreq), 1);
	buf_free(&seen);
	llm_call_free(&call);
	server_stop();
}
END_TEST

/* A streamed tool input cut by max_tokens is truncated, not malformed. */
START_TEST(test_stream_tool_cut)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { S_START EV("content_block_start", "{\"type\":"
		    "\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
		    "\"tool_use\",\"id\":\"toolu_7\",\"name\":\"classify_intent\","
		    "\"input\":{}}}") EV("content_block_delta", "{\"type\":"
		    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
		    "\"input_json_delta\",\"partial_json\":\"{\\\"intent\\\": \\\"dec\"}}")
		    S_STOP_MAX(0) }, 0, true, ACT_REPLY, 0 },
	};
	struct llm_tool		 tool = { "classify_intent", NULL, NULL };
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 1);
	tool.input_schema = json_object_new_object();
	request_short(&req, &tool, LLM_ANSWER_STRICT_TOOL);
	req.stream = true;
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.kind, LLM_ERR_TRUNCATED);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(call.res.tool_name, "classify_intent");
	ck_assert_ptr_null(call.res.tool_input);
	ck_assert_ptr_null(call.res.output);
	llm_call_free(&call);
	json_object_put(tool.input_schema);
	server_stop();
}
END_TEST

/* Each HTTP status to its kind, and whether it was tried again. */
START_TEST(test_status_kinds)
{
	static const struct {
		struct step		 step;
		enum llm_error_kind	 kind;
		bs_err			 err;
		int			 attempts;	/* until step_ok answers */
	} cases[] = {
		{ { 402, NULL, { ERR_BODY("billing_error", "Your credit balance "
		    "is too low") }, 0, false, ACT_REPLY, 0 }, LLM_ERR_BILLING,
		    BS_ERR_UNAUTHORIZED, 1 },
		{ { 404, NULL, { ERR_BODY("not_found_error", "model: "
		    "claude-sonnet-4-5-20250929") }, 0, false, ACT_REPLY, 0 },
		    LLM_ERR_NOT_FOUND, BS_ERR_NOT_FOUND, 1 },
		{ { 413, NULL, { ERR_BODY("request_too_large", "big") }, 0, false,
		    ACT_REPLY, 0 }, LLM_ERR_TOO_LARGE, BS_ERR_TOO_LARGE, 1 },
		{ { 422, NULL, { ERR_BODY("invalid_request_error", "no") }, 0,
		    false, ACT_REPLY, 0 }, LLM_ERR_BAD_REQUEST, BS_ERR_INVALID, 1 },
		{ { 408, NULL, { ERR_BODY("timeout_error", "slow") }, 0, false,
		    ACT_REPLY, 0 }, LLM_ERR_NONE, BS_OK, 2 },
		{ { 409, NULL, { ERR_BODY("conflict_error", "lock") }, 0, false,
		    ACT_REPLY, 0 }, LLM_ERR_NONE, BS_OK, 2 },
		{ { 504, NULL, { ERR_BODY("timeout_error", "gateway") }, 0, false,
		    ACT_REPLY, 0 }, LLM_ERR_NONE, BS_OK, 2 },
		{ { 503, NULL, { "<html>down</html>" }, 0, false, ACT_REPLY, 0 },
		    LLM_ERR_NONE, BS_OK, 2 },
		/* x-should-retry decides first, either way. */
		{ { 504, "x-should-retry: false\r\n", { ERR_BODY("timeout_error",
		    "gateway") }, 0, false, ACT_REPLY, 0 }, LLM_ERR_TIMEOUT,
		    BS_ERR_TIMEOUT, 1 },
		{ { 409, "x-should-retry: false\r\n", { ERR_BODY("conflict_error",
		    "lock") }, 0, false, ACT_REPLY, 0 }, LLM_ERR_CONFLICT,
		    BS_ERR_CONFLICT, 1 },
		{ { 500, "X-Should-Retry: false\r\n", { ERR_BODY("api_error",
		    "no") }, 0, false, ACT_REPLY, 0 }, LLM_ERR_SERVER, BS_ERR_IO, 1 },
		{ { 429, "x-should-retry: false\r\n", { ERR_BODY("rate_limit_error",
		    "no") }, 0, false, ACT_REPLY, 0 }, LLM_ERR_RATE_LIMITED,
		    BS_ERR_RATE_LIMITED, 1 },
		{ { 400, "x-should-retry: true\r\n", { ERR_BODY(
		    "invalid_request_error", "try again") }, 0, false, ACT_REPLY,
		    0 }, LLM_ERR_NONE, BS_OK, 2 },
		{ { 529, "x-should-retry: maybe\r\n", { ERR_BODY(
		    "overloaded_error", "busy") }, 0, false, ACT_REPLY, 0 },
		    LLM_ERR_NONE, BS_OK, 2 },
	};
	struct step		 steps[2];
	struct llm_request	 req;
	struct llm_call		 call;
	size_t			 i;

	request_init(&req, false);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		steps[0] = cases[i].step;
		steps[1] = step_ok;
		server_start(steps, 2);
		run_one(&req, &call, 5000, 10000);
		if (call.kind != cases[i].kind || call.err != cases[i].err ||
		    call.attempts != cases[i].attempts)
			ck_abort_msg("case %zu (HTTP %d): kind %s, attempts %d: %s",
			    i, cases[i].step.status, llm_error_kind_name(call.kind),
			    call.attempts, call.error);
		if (cases[i].attempts == 1)
			ck_assert_int_eq(call.http_status, cases[i].step.status);
		llm_call_free(&call);
		server_stop();
	}
}
END_TEST

START_TEST(test_spend_cap_never_retried)
{
	static const struct step	 steps[] = {
		{ 429, "x-should-retry: true\r\nretry-after: 1\r\n", {
		    "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
		    "\"message\":\"You have reached your specified workspace API "
		    "usage limits.\",\"details\":{\"error_code\":"
		    "\"enforced_spend_limit_reached\"}},\"request_id\":\"req_x\"}" },
		    0, false, ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_request	 req;
	struct llm_call		 call;

	server_start(steps, 2);
	request_init(&req, false);
	run_one(&req, &call, 5000, 10000);
	ck_assert_int_eq(call.kind, LLM_ERR_SPEND_CAP);
	ck_assert_int_eq(call.err, BS_ERR_RATE_LIMITED);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_int_eq(call.http_status, 429);
	ck_assert_str_eq(call.error, "HTTP 429: the Claude spending limit is "
	    "reached (enforced_spend_limit_reached): rate_limit_error: You have "
	    "reached your specified workspace API usage limits.");
	ck_assert_str_eq(observed_kinds, "spend_cap,");
	ck_assert_int_eq(srv_read(&srv.nreq), 1);
	llm_call_free(&call);
	server_stop();
}
END_TEST

/* retry-after-ms first, then retry-after as seconds or a date, else backoff. */
START_TEST(test_retry_wait_headers)
{
	struct step		 steps[2];
	struct llm_request	 req;
	struct llm_call		 call;
	struct tm		 tm;
	time_t			 t;
	char			 future[128], past[128], path[64];
	long			 waits[4];
	int			 n;

	t = time(NULL) + 3600;
	gmtime_r(&t, &tm);
	strftime(future, sizeof(future), "retry-after: %a, %d %b %Y %H:%M:%S GMT\r\n",
	    &tm);
	t = time(NULL) - 3600;
	gmtime_r(&t, &tm);
	strftime(past, sizeof(past), "retry-after: %a, %d %b %Y %H:%M:%S GMT\r\n",
	    &tm);
	request_init(&req, false);
	steps[1] = step_ok;
	memset(&steps[0], 0, sizeof(steps[0]));
	steps[0].status = 429;
	steps[0].pieces[0] = ERR_BODY("rate_limit_error", "slow down");

	/* A wait in milliseconds beats one in seconds. */
	steps[0].headers = "retry-after: 30\r\nretry-after-ms: 25\r\n";
	server_start(steps, 2);
	snprintf(path, sizeof(path), "/tmp/check_llm_client.XXXXXX");
	log_waits_begin(path);
	run_one(&req, &call, 5000, 3000);
	n = log_waits_end(path, waits, 4);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(call.attempts, 2);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(waits[0], 25);
	llm_call_free(&call);
	server_stop();

	/* ...and beyond the budget it stops the retry. */
	steps[0].headers = "retry-after-ms: 30000\r\nretry-after: 0\r\n";
	server_start(steps, 2);
	run_one(&req, &call, 5000, 2000);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_str_eq(call.error, "HTTP 429: rate_limit_error: slow down; "
	    "no time left to retry");
	llm_call_free(&call);
	server_stop();

	/* Fractions of a second. */
	steps[0].headers = "retry-after: 0.04\r\n";
	server_start(steps, 2);
	snprintf(path, sizeof(path), "/tmp/check_llm_client.XXXXXX");
	log_waits_begin(path);
	run_one(&req, &call, 5000, 3000);
	n = log_waits_end(path, waits, 4);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(waits[0], 40);
	llm_call_free(&call);
	server_stop();

	/* An HTTP date an hour ahead: no retry within the budget. */
	steps[0].headers = future;
	server_start(steps, 2);
	run_one(&req, &call, 5000, 2000);
	ck_assert_int_eq(call.attempts, 1);
	ck_assert_ptr_nonnull(strstr(call.error, "no time left to retry"));
	llm_call_free(&call);
	server_stop();

	/* A date past, zero, or nonsense: our own backoff (base 10 ms here). */
	steps[0].headers = past;
	server_start(steps, 2);
	snprintf(path, sizeof(path), "/tmp/check_llm_client.XXXXXX");
	log_waits_begin(path);
	run_one(&req, &call, 5000, 3000);
	n = log_waits_end(path, waits, 4);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(n, 1);
	ck_assert_int_ge(waits[0], 8);
	ck_assert_int_le(waits[0], 10);
	llm_call_free(&call);
	server_stop();

	steps[0].headers = "retry-after-ms: 0\r\nretry-after: soon\r\n";
	server_start(steps, 2);
	run_one(&req, &call, 5000, 3000);
	ck_assert_msg(call.err == BS_OK, "%s", call.error);
	ck_assert_int_eq(call.attempts, 2);
	llm_call_free(&call);
	server_stop();
}
END_TEST

/* base * 2^(n-1) up to the max, less at most a quarter (base 10, max 40). */
START_TEST(test_backoff_jitter)
{
	static const struct step	 steps[] = {
		{ 500, NULL, { ERR_BODY("api_error", "x") }, 0, false, ACT_REPLY, 0 },
	};
	struct llm_client_options	 opt;
	struct llm_client		*c;
	struct llm_request		 req;
	struct llm_call			 call;
	char				 url[64], err[256], path[64];
	long				 waits[8];
	int				 n, round;

	server_start(steps, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
	memset(&opt, 0, sizeof(opt));
	opt.base_url = url;
	opt.api_key = API_KEY;
	opt.max_attempts = 5;
	opt.backoff_base_ms = 10;
	opt.backoff_max_ms = 40;
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_OK);
	request_init(&req, false);
	for (round = 0; round < 3; round++) {
		snprintf(path, sizeof(path), "/tmp/check_llm_client.XXXXXX");
		log_waits_begin(path);
		llm_call_init(&call, &req);
		ck_assert_int_eq(llm_batch_run(c, &call, 1, 20000), BS_OK);
		n = log_waits_end(path, waits, 8);
		ck_assert_int_eq(call.attempts, 5);
		ck_assert_int_eq(n, 4);
		ck_assert(waits[0] >= 8 && waits[0] <= 10);
		ck_assert(waits[1] >= 15 && waits[1] <= 20);
		ck_assert(waits[2] >= 30 && waits[2] <= 40);
		ck_assert(waits[3] >= 30 && waits[3] <= 40);
		llm_call_free(&call);
	}
	llm_client_free(c);
	server_stop();
}
END_TEST

START_TEST(test_client_get)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { "{\"id\":\"claude-haiku-5-5\",\"type\":\"model\"}" }, 0,
		    false, ACT_REPLY, 0 },
		{ 404, NULL, { ERR_BODY("not_found_error", "model: claude-x") }, 0,
		    false, ACT_REPLY, 0 },
		{ 401, NULL, { ERR_BODY("authentication_error", "bad key " API_KEY) },
		    0, false, ACT_REPLY, 0 },
		{ 200, NULL, { "0123456789", "0123456789" }, 0, false, ACT_REPLY, 0 },
		{ 0, NULL, { NULL }, 0, false, ACT_HANG, 0 },
	};
	struct llm_client	*c;
	struct buf		 out;
	char			 err[256];
	int			 status;

	server_start(steps, 5);
	c = client_new(5000, 1 << 20);
	buf_init(&out, 4096);
	ck_assert_int_eq(llm_client_get(c, "/v1/models/claude-haiku-5-5", 0,
	    &status, &out, err, sizeof(err)), BS_OK);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(buf_cstr(&out), "{\"id\":\"claude-haiku-5-5\",\"type\":\"model\"}");
	ck_assert_ptr_nonnull(strstr(srv.req[0],
	    "GET /v1/models/claude-haiku-5-5 HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strcasestr(srv.req[0],
	    "\r\nauthorization: Bearer " API_KEY "\r\n"));
	ck_assert_ptr_nonnull(strcasestr(srv.req[0],
	    "\r\nanthropic-version: 2026-10-21\r\n"));

	/* An HTTP error is an answer: the caller reads the status. */
	ck_assert_int_eq(llm_client_get(c, "/v1/models/claude-x", 0, &status,
	    &out, err, sizeof(err)), BS_OK);
	ck_assert_int_eq(status, 404);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "not_found_error"));
	/* The key echoed back is scrubbed from the body. */
	ck_assert_int_eq(llm_client_get(c, "/v1/models", 0, &status, &out, err,
	    sizeof(err)), BS_OK);
	ck_assert_int_eq(status, 401);
	ck_assert_ptr_null(strstr(buf_cstr(&out), API_KEY));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "bad key"));
	/* The body's cap. */
	buf_free(&out);
	buf_init(&out, 15);
	ck_assert_int_eq(llm_client_get(c, "/v1/models", 0, &status, &out, err,
	    sizeof(err)), BS_ERR_TOO_LARGE);
	ck_assert_str_eq(err, "GET /v1/models: the answer is too large");
	/* The timeout. */
	ck_assert_int_eq(llm_client_get(c, "/v1/models/slow", 200, &status,
	    &out, err, sizeof(err)), BS_ERR_IO);
	ck_assert_int_eq(status, 0);
	ck_assert_ptr_nonnull(strstr(err, "GET /v1/models/slow: "));
	ck_assert_int_eq(srv_read(&srv.nreq), 5);
	/* Paths that could bend the URL never leave. */
	ck_assert_int_eq(llm_client_get(c, "v1/models", 0, &status, &out, err,
	    sizeof(err)), BS_ERR_INVALID);
	ck_assert_int_eq(llm_client_get(c, "/v1/models x", 0, &status, &out,
	    err, sizeof(err)), BS_ERR_INVALID);
	ck_assert_int_eq(llm_client_get(c, "/v1/models\r\nx: y", 0, &status,
	    &out, err, sizeof(err)), BS_ERR_INVALID);
	ck_assert_int_eq(srv_read(&srv.nreq), 5);
	buf_free(&out);
	llm_client_free(c);
	server_stop();

	/* Nobody listens: a transport failure. */
	server_start(steps, 1);
	c = client_new(5000, 1 << 20);
	server_stop();
	buf_init(&out, 4096);
	ck_assert_int_eq(llm_client_get(c, "/v1/models", 0, &status, &out, err,
	    sizeof(err)), BS_ERR_IO);
	ck_assert_int_eq(status, 0);
	buf_free(&out);
	llm_client_free(c);
}
END_TEST

/* ---- the loop: many batches on one multi handle ---- */

/* How often, and in which order, a batch's done ran. */
struct seen {
	int	 calls;
	int	 order;
};

static int	 done_order;

static void
seen_done(void *arg)
{
	struct seen	*d = arg;

	d->calls++;
	d->order = ++done_order;
}

/* Run the loop until every batch's done has run. */
static void
loop_drain(struct llm_loop *loop)
{
	while (llm_loop_batches(loop) > 0)
		ck_assert_int_eq(llm_loop_run(loop, 1000), BS_OK);
}

/* Run the loop until the server has seen n requests. */
static void
loop_until_requests(struct llm_loop *loop, int n)
{
	while (srv_read(&srv.nreq) < n)
		ck_assert_int_eq(llm_loop_run(loop, 50), BS_OK);
}

static void
request_for(struct llm_request *req, const char *who)
{
	request_init(req, false);
	req->user_id = who;	/* metadata.user_id: what the server matches */
}

/* Two batches on one loop are in flight at once: neither is answered alone. */
START_TEST(test_loop_two_batches_concurrent)
{
	static const struct step	 steps[] = {
		{ 200, NULL, { OK_TEXT }, 0, false, ACT_REPLY, 3 },
	};
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_batch	*ba, *bb;
	struct llm_request	 req;
	struct llm_call		 a[2], b;
	struct seen		 da = { 0, 0 }, db = { 0, 0 };

	server_start(steps, 1);
	c = client_new(15000, 1 << 20);
	request_init(&req, false);
	llm_call_init(&a[0], &req);
	llm_call_init(&a[1], &req);
	llm_call_init(&b, &req);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, a, 2, 20000, seen_done, &da, &ba),
	    BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, &b, 1, 20000, seen_done, &db, &bb),
	    BS_OK);
	ck_assert_ptr_nonnull(ba);
	ck_assert_ptr_nonnull(bb);
	ck_assert_uint_eq(llm_loop_calls(loop), 3);
	ck_assert_uint_eq(llm_loop_batches(loop), 2);
	loop_drain(loop);
	ck_assert_uint_eq(llm_loop_calls(loop), 0);
	/* The server answered nobody before all three were open. */
	ck_assert_int_eq(srv_read(&srv.max_active), 3);
	ck_assert_int_eq(srv_read(&srv.nreq), 3);
	ck_assert_msg(a[0].err == BS_OK, "%s", a[0].error);
	ck_assert_msg(a[1].err == BS_OK, "%s", a[1].error);
	ck_assert_msg(b.err == BS_OK, "%s", b.error);
	ck_assert_str_eq(buf_cstr(&b.res.text), "Call it Ember.");
	ck_assert_int_eq(da.calls, 1);
	ck_assert_int_eq(db.calls, 1);
	ck_assert_int_eq(observed, 3);
	/* Nothing left: another run calls nobody again. */
	ck_assert_int_eq(llm_loop_run(loop, 0), BS_OK);
	ck_assert_int_eq(da.calls, 1);
	ck_assert_int_eq(db.calls, 1);
	llm_loop_destroy(loop);
	ck_assert_int_eq(da.calls, 1);
	llm_call_free(&a[0]);
	llm_call_free(&a[1]);
	llm_call_free(&b);
	llm_client_free(c);
	server_stop();
}
END_TEST

/*
 * "anthropic-ratelimit-requests-remaining: 0" with its reset in after_s
 * seconds, as RFC 3339: in UTC ("Z", as the double sends it), or with a
 * fraction and an offset of +01:00.
 */
static void
limit_spent_headers(char *out, size_t len, int after_s, bool offset)
{
	time_t		 t = time(NULL) + after_s + (offset ? 3600 : 0);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	snprintf(out, len, "anthropic-ratelimit-requests-limit: 50\r\n"
	    "anthropic-ratelimit-requests-remaining: 0\r\n"
	    "Anthropic-RateLimit-Requests-Reset: "
	    "%04d-%02d-%02dT%02d:%02d:%02d%s\r\n"
	    "anthropic-ratelimit-tokens-remaining: 7000\r\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, offset ? ".250+01:00" : "Z");
}

/* One call of model on the loop, run to its end. */
static void
loop_one(struct llm_loop *loop, struct llm_call *call, struct llm_request *req,
    const char *model, long deadline_ms)
{
	struct seen	 d = { 0, 0 };

	request_init(req, false);
	req->model = model;
	llm_call_init(call, req);
	ck_assert_int_eq(llm_loop_add(loop, call, 1, deadline_ms, seen_done,
	    &d, NULL), BS_OK);
	loop_drain(loop);
	ck_assert_int_eq(d.calls, 1);
}

/*
 * An answer that says a model's requests are spent until a reset 30 s
 * away: the loop's next call of that model waits for it instead of
 * spending an attempt on a 429, and is cut at its deadline without a
 * request; another model's call goes at once.
 */
START_TEST(test_loop_holds_a_spent_model)
{
	char			 headers[512];
	struct step		 steps[2] = {
		{ 200, headers, { OK_TEXT }, 0, false, ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_request	 req[3];
	struct llm_call		 call[3];
	int			 i;

	limit_spent_headers(headers, sizeof(headers), 30, false);
	server_start(steps, 2);
	c = client_new(15000, 1 << 20);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	loop_one(loop, &call[0], &req[0], "claude-sonnet-5-5", 20000);
	ck_assert_msg(call[0].err == BS_OK, "%s", call[0].error);
	loop_one(loop, &call[1], &req[1], "claude-sonnet-5-5", 300);
	ck_assert_int_eq(call[1].err, BS_ERR_TIMEOUT);
	ck_assert_int_eq(call[1].kind, LLM_ERR_BUDGET);
	ck_assert_int_eq(call[1].attempts, 0);
	ck_assert_str_eq(call[1].error, "waiting for the API's rate limit of "
	    "claude-sonnet-5-5; no time left within the batch's 300 ms");
	/* It waited all the while; the call before it did not. */
	ck_assert_int_gt(call[1].held_ms, 0);
	ck_assert_int_le(call[1].held_ms, call[1].latency_ms);
	ck_assert_int_eq(call[0].held_ms, 0);
	ck_assert_int_eq(srv_read(&srv.nreq), 1);
	loop_one(loop, &call[2], &req[2], "claude-haiku-5-5", 20000);
	ck_assert_msg(call[2].err == BS_OK, "%s", call[2].error);
	ck_assert_int_eq(srv_read(&srv.nreq), 2);
	llm_loop_destroy(loop);
	for (i = 0; i < 3; i++)
		llm_call_free(&call[i]);
	llm_client_free(c);
	server_stop();
}
END_TEST

/*
 * One request left of the window: of a batch of three calls of that model,
 * one starts and two wait for the window's end (cut here by the batch's
 * deadline), where they would each have spent an attempt on a 429.
 */
START_TEST(test_loop_paces_by_the_requests_left)
{
	static const struct step	 steps[] = {
		{ 200, "anthropic-ratelimit-requests-limit: 5\r\n"
		    "anthropic-ratelimit-requests-remaining: 1\r\n"
		    "anthropic-ratelimit-requests-reset: 2999-01-01T00:00:00Z\r\n",
		    { OK_TEXT }, 0, false, ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_request	 req;
	struct llm_call		 first, three[3];
	struct seen		 d = { 0, 0 };
	int			 i, ok = 0;

	server_start(steps, 2);
	c = client_new(15000, 1 << 20);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	loop_one(loop, &first, &req, "claude-sonnet-5-5", 20000);
	ck_assert_msg(first.err == BS_OK, "%s", first.error);
	for (i = 0; i < 3; i++)
		llm_call_init(&three[i], &req);
	ck_assert_int_eq(llm_loop_add(loop, three, 3, 500, seen_done, &d, NULL),
	    BS_OK);
	loop_drain(loop);
	for (i = 0; i < 3; i++) {
		if (three[i].err == BS_OK) {
			ok++;
			continue;
		}
		ck_assert_int_eq(three[i].attempts, 0);
		ck_assert_str_eq(three[i].error, "waiting for the API's rate "
		    "limit of claude-sonnet-5-5; no time left within the "
		    "batch's 500 ms");
	}
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(srv_read(&srv.nreq), 2);
	llm_loop_destroy(loop);
	llm_call_free(&first);
	for (i = 0; i < 3; i++)
		llm_call_free(&three[i]);
	llm_client_free(c);
	server_stop();
}
END_TEST

/*
 * A reset a second away: the held call starts once it has passed, and the
 * hold is logged once, with its model and limit.
 */
START_TEST(test_loop_hold_ends_at_the_reset)
{
	char			 headers[512], line[1024];
	char			 path[] = "/tmp/check_llm_client.XXXXXX";
	struct step		 steps[2] = {
		{ 200, headers, { OK_TEXT }, 0, false, ACT_REPLY, 0 },
		step_ok,
	};
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_request	 req[2];
	struct llm_call		 call[2];
	FILE			*fp;
	int			 held = 0;

	log_waits_begin(path);
	limit_spent_headers(headers, sizeof(headers), 1, true);
	server_start(steps, 2);
	c = client_new(15000, 1 << 20);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	loop_one(loop, &call[0], &req[0], "claude-haiku-5-5", 20000);
	loop_one(loop, &call[1], &req[1], "claude-haiku-5-5", 20000);
	log_open(LOG_LEVEL_ERROR, NULL);
	ck_assert_msg(call[1].err == BS_OK, "%s", call[1].error);
	ck_assert_int_eq(call[1].attempts, 1);
	ck_assert_int_eq(srv_read(&srv.nreq), 2);
	ck_assert_int_gt(call[1].held_ms, 0);

	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, "claude calls held for the rate limit")) {
			held++;
			ck_assert_ptr_nonnull(strstr(line,
			    "\"model\":\"claude-haiku-5-5\""));
			ck_assert_ptr_nonnull(strstr(line,
			    "\"limit\":\"requests\""));
		}
	fclose(fp);
	unlink(path);
	ck_assert_int_eq(held, 1);
	llm_loop_destroy(loop);
	llm_call_free(&call[0]);
	llm_call_free(&call[1]);
	llm_client_free(c);
	server_stop();
}
END_TEST

/* done runs once, from llm_loop_run, even for batches that end at once. */
START_TEST(test_loop_done_once)
{
	static const struct step	 steps[] = { step_ok };
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_request	 bad;
	struct llm_call		 call;
	struct seen		 dempty = { 0, 0 }, dbad = { 0, 0 };

	server_start(steps, 1);
	c = client_new(15000, 1 << 20);
	request_init(&bad, false);
	bad.model = NULL;
	llm_call_init(&call, &bad);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, NULL, 0, 1000, seen_done, &dempty,
	    NULL), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, &call, 1, 1000, seen_done, &dbad,
	    NULL), BS_OK);
	/* The invalid call has ended, but done waits for the loop. */
	ck_assert_int_eq(call.kind, LLM_ERR_BAD_REQUEST);
	ck_assert_int_eq(dempty.calls + dbad.calls, 0);
	ck_assert_uint_eq(llm_loop_calls(loop), 0);
	ck_assert_uint_eq(llm_loop_batches(loop), 2);
	ck_assert_int_eq(llm_loop_run(loop, 0), BS_OK);
	ck_assert_int_eq(dempty.calls, 1);
	ck_assert_int_eq(dbad.calls, 1);
	ck_assert_int_lt(dempty.order, dbad.order);	/* in the order they ended */
	ck_assert_uint_eq(llm_loop_batches(loop), 0);
	ck_assert_int_eq(llm_loop_run(loop, 0), BS_OK);
	llm_loop_destroy(loop);
	ck_assert_int_eq(dempty.calls, 1);
	ck_assert_int_eq(dbad.calls, 1);
	ck_assert_int_eq(srv_read(&srv.nreq), 0);
	ck_assert_int_eq(llm_loop_run(NULL, 0), BS_ERR_INVALID);
	llm_call_free(&call);
	llm_client_free(c);
	server_stop();
}
END_TEST

/*
 * Deadlines are per batch: a hung batch is cut off at its own, while the
 * other, answered only after the hung request was left, completes.
 */
START_TEST(test_loop_deadlines_independent)
{
	static const struct route	 routes[] = {
		{ "\"hung\"", 0, { 0, NULL, { NULL }, 0, false, ACT_HANG, 0 } },
		{ "\"patient\"", 1, { 200, NULL, { OK_TEXT }, 0, false,
		    ACT_REPLY, 0 } },
	};
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_request	 rh, rp;
	struct llm_call		 hung, patient;
	struct seen		 dh = { 0, 0 }, dp = { 0, 0 };

	server_start_routes(routes, 2);
	c = client_new(60000, 1 << 20);
	request_for(&rh, "hung");
	request_for(&rp, "patient");
	llm_call_init(&hung, &rh);
	llm_call_init(&patient, &rp);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, &hung, 1, 300, seen_done, &dh,
	    NULL), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, &patient, 1, 30000, seen_done, &dp,
	    NULL), BS_OK);
	loop_drain(loop);
	ck_assert_int_eq(hung.kind, LLM_ERR_BUDGET);
	ck_assert_int_eq(hung.err, BS_ERR_TIMEOUT);
	ck_assert_str_eq(hung.error, "no answer within the batch's 300 ms");
	ck_assert_msg(patient.err == BS_OK, "%s", patient.error);
	ck_assert_int_eq(patient.attempts, 1);
	ck_assert_int_eq(dh.calls, 1);
	ck_assert_int_eq(dp.calls, 1);
	/* The patient answer came only after the hung call was cut off. */
	ck_assert_int_lt(dh.order, dp.order);
	ck_assert_int_eq(srv_read(&srv.hangs_left), 1);
	llm_loop_destroy(loop);
	llm_call_free(&hung);
	llm_call_free(&patient);
	llm_client_free(c);
	server_stop();
}
END_TEST

START_TEST(test_loop_cancel)
{
	static const struct route	 routes[] = {
		{ "\"doomed\"", 0, { 0, NULL, { NULL }, 0, false, ACT_HANG, 0 } },
		{ "\"kept\"", 2, { 200, NULL, { OK_TEXT }, 0, false, ACT_REPLY,
		    0 } },
	};
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_batch	*doomed;
	struct llm_request	 rd, rk;
	struct llm_call		 d[2], k;
	struct seen		 dd = { 0, 0 }, dk = { 0, 0 };

	server_start_routes(routes, 2);
	c = client_new(60000, 1 << 20);
	request_for(&rd, "doomed");
	request_for(&rk, "kept");
	llm_call_init(&d[0], &rd);
	llm_call_init(&d[1], &rd);
	llm_call_init(&k, &rk);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, d, 2, 30000, seen_done, &dd,
	    &doomed), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, &k, 1, 30000, seen_done, &dk, NULL),
	    BS_OK);
	loop_until_requests(loop, 3);
	llm_loop_cancel(loop, doomed);
	llm_loop_cancel(loop, doomed);	/* twice is once */
	ck_assert_int_eq(dd.calls, 0);	/* done waits for the loop */
	loop_drain(loop);
	ck_assert_int_eq(dd.calls, 1);
	ck_assert_int_eq(dk.calls, 1);
	ck_assert_int_eq(d[0].kind, LLM_ERR_BUDGET);
	ck_assert_int_eq(d[1].kind, LLM_ERR_BUDGET);
	ck_assert_str_eq(d[0].error, "the batch was cancelled");
	ck_assert_int_eq(d[0].attempts, 1);
	/* The kept call was answered only once both doomed ones were left. */
	ck_assert_msg(k.err == BS_OK, "%s", k.error);
	ck_assert_int_eq(srv_read(&srv.hangs_left), 2);
	ck_assert_int_eq(observed, 3);
	llm_loop_destroy(loop);
	llm_call_free(&d[0]);
	llm_call_free(&d[1]);
	llm_call_free(&k);
	llm_client_free(c);
	server_stop();
}
END_TEST

/* One batch waiting 30 s to retry does not hold up another. */
START_TEST(test_loop_retry_does_not_block)
{
	static const struct route	 routes[] = {
		{ "\"waits\"", 0, { 429, "retry-after: 30\r\n", {
		    ERR_BODY("rate_limit_error", "slow down") }, 0, false,
		    ACT_REPLY, 0 } },
		{ "\"waits\"", 0, { 200, NULL, { OK_TEXT }, 0, false, ACT_REPLY,
		    0 } },
		{ "\"goes\"", 0, { 200, NULL, { OK_TEXT }, 0, false, ACT_REPLY,
		    0 } },
	};
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_batch	*bw;
	struct llm_request	 rw, rg;
	struct llm_call		 w, g;
	struct seen		 dw = { 0, 0 }, dg = { 0, 0 };

	server_start_routes(routes, 3);
	c = client_new(15000, 1 << 20);
	request_for(&rw, "waits");
	request_for(&rg, "goes");
	llm_call_init(&w, &rw);
	llm_call_init(&g, &rg);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, &w, 1, 50000, seen_done, &dw, &bw),
	    BS_OK);
	/* Until the 429 is read and the retry scheduled. */
	while (w.http_status != 429 || llm_loop_calls(loop) != 1 ||
	    observed != 0)
		ck_assert_int_eq(llm_loop_run(loop, 50), BS_OK);
	ck_assert_int_eq(w.attempts, 1);
	ck_assert_int_eq(llm_loop_add(loop, &g, 1, 50000, seen_done, &dg, NULL),
	    BS_OK);
	while (dg.calls == 0)
		ck_assert_int_eq(llm_loop_run(loop, 1000), BS_OK);
	ck_assert_msg(g.err == BS_OK, "%s", g.error);
	/* The waiting batch is still waiting. */
	ck_assert_int_eq(dw.calls, 0);
	ck_assert_int_eq(w.attempts, 1);
	ck_assert_uint_eq(llm_loop_calls(loop), 1);
	/* A batch waiting for its retry can be cancelled too. */
	llm_loop_cancel(loop, bw);
	loop_drain(loop);
	ck_assert_int_eq(dw.calls, 1);
	ck_assert_int_eq(w.kind, LLM_ERR_BUDGET);
	ck_assert_str_eq(w.error, "HTTP 429: rate_limit_error: slow down; "
	    "the batch was cancelled");
	ck_assert_int_eq(srv_read(&srv.nreq), 2);
	llm_loop_destroy(loop);
	llm_call_free(&w);
	llm_call_free(&g);
	llm_client_free(c);
	server_stop();
}
END_TEST

/* Stage B after stage A: a done callback adds the next batch to the loop. */
struct chain {
	struct llm_loop	*loop;
	struct llm_call	*next;
	struct seen	 first, second;
	bs_err		 added;
};

static void
chain_second_done(void *arg)
{
	struct chain	*ch = arg;

	seen_done(&ch->second);
}

static void
chain_first_done(void *arg)
{
	struct chain	*ch = arg;

	seen_done(&ch->first);
	ch->added = llm_loop_add(ch->loop, ch->next, 1, 20000,
	    chain_second_done, ch, NULL);
}

START_TEST(test_loop_add_from_done)
{
	static const struct step	 steps[] = { step_ok };
	struct llm_client	*c;
	struct llm_request	 req;
	struct llm_call		 a, b;
	struct chain		 ch;

	server_start(steps, 1);
	c = client_new(15000, 1 << 20);
	request_init(&req, false);
	llm_call_init(&a, &req);
	llm_call_init(&b, &req);
	memset(&ch, 0, sizeof(ch));
	ch.next = &b;
	ck_assert_int_eq(llm_loop_create(c, 1, &ch.loop), BS_OK);
	ck_assert_int_eq(llm_loop_add(ch.loop, &a, 1, 20000, chain_first_done,
	    &ch, NULL), BS_OK);
	loop_drain(ch.loop);
	/* The first batch's call no longer counts against a cap of one. */
	ck_assert_int_eq(ch.added, BS_OK);
	ck_assert_int_eq(ch.first.calls, 1);
	ck_assert_int_eq(ch.second.calls, 1);
	ck_assert_msg(a.err == BS_OK, "%s", a.error);
	ck_assert_msg(b.err == BS_OK, "%s", b.error);
	ck_assert_int_eq(srv_read(&srv.nreq), 2);
	llm_loop_destroy(ch.loop);
	llm_call_free(&a);
	llm_call_free(&b);
	llm_client_free(c);
	server_stop();
}
END_TEST

static void *
wake_thread(void *arg)
{
	llm_loop_wakeup(arg);
	return NULL;
}

/*
 * A wakeup from another thread ends the wait of an idle loop: the run would
 * otherwise outlast the test case's timeout.
 */
START_TEST(test_loop_wakeup)
{
	struct llm_client_options	 opt;
	struct llm_client		*c;
	struct llm_loop			*loop;
	pthread_t			 t;
	char				 err[256];

	memset(&opt, 0, sizeof(opt));
	opt.base_url = "http://127.0.0.1:9";
	opt.api_key = API_KEY;
	ck_assert_int_eq(llm_client_new(&opt, &c, err, sizeof(err)), BS_OK);
	ck_assert_int_eq(llm_loop_create(c, 0, &loop), BS_OK);
	ck_assert_int_eq(pthread_create(&t, NULL, wake_thread, loop), 0);
	ck_assert_int_eq(llm_loop_run(loop, 120000), BS_OK);
	ck_assert_uint_eq(llm_loop_calls(loop), 0);
	ck_assert_uint_eq(llm_loop_batches(loop), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(llm_loop_run(loop, -1), BS_ERR_INVALID);
	llm_loop_destroy(loop);
	llm_client_free(c);
}
END_TEST

static struct llm_loop	*refused_loop;
static bs_err		 refused_add;

/* A done run by llm_loop_destroy: adding is refused. */
static void
add_in_destroy(void *arg)
{
	seen_done(arg);
	refused_add = llm_loop_add(refused_loop, NULL, 0, 1000, NULL, NULL,
	    NULL);
}

/* The cap on calls in flight, and a destroy with calls still running. */
START_TEST(test_loop_cap_and_destroy)
{
	static const struct step	 steps[] = {
		{ 0, NULL, { NULL }, 0, false, ACT_HANG, 0 },
	};
	struct llm_client	*c;
	struct llm_loop		*loop;
	struct llm_request	 req;
	struct llm_call		 calls[3];
	struct seen		 d = { 0, 0 }, never = { 0, 0 };
	size_t			 i;

	server_start(steps, 1);
	c = client_new(60000, 1 << 20);
	request_init(&req, false);
	for (i = 0; i < 3; i++)
		llm_call_init(&calls[i], &req);
	ck_assert_int_eq(llm_loop_create(c, 2, &loop), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, calls, 3, 30000, seen_done, &never,
	    NULL), BS_ERR_TOO_LARGE);
	ck_assert_int_eq(llm_loop_add(loop, calls, 2, 30000, add_in_destroy, &d,
	    NULL), BS_OK);
	ck_assert_int_eq(llm_loop_add(loop, &calls[2], 1, 30000, seen_done,
	    &never, NULL), BS_ERR_TOO_LARGE);
	ck_assert_uint_eq(llm_loop_calls(loop), 2);
	ck_assert_uint_eq(llm_loop_batches(loop), 1);
	loop_until_requests(loop, 2);
	refused_loop = loop;
	refused_add = BS_OK;
	llm_loop_destroy(loop);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(never.calls, 0);
	ck_assert_int_eq(refused_add, BS_ERR_INVALID);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(calls[i].kind, LLM_ERR_BUDGET);
		ck_assert_str_eq(calls[i].error, "the client loop was shut down");
	}
	ck_assert_int_eq(observed, 2);
	for (i = 0; i < 3; i++)
		llm_call_free(&calls[i]);
	llm_client_free(c);
	server_stop();
	ck_assert_int_eq(srv.hangs_left, 2);
}
END_TEST

static Suite *
llm_client_suite(void)
{
	Suite	*s = suite_create("llm_client");
	TCase	*tc = tcase_create("client");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_text_answer);
	tcase_add_test(tc, test_forced_tool);
	tcase_add_test(tc, test_forced_tool_missing);
	tcase_add_test(tc, test_stream_in_pieces);
	tcase_add_test(tc, test_429_retry_after);
	tcase_add_test(tc, test_429_beyond_budget);
	tcase_add_test(tc, test_529_then_ok);
	tcase_add_test(tc, test_500_until_attempts_run_out);
	tcase_add_test(tc, test_400_not_retried);
	tcase_add_test(tc, test_401_hides_the_key);
	tcase_add_test(tc, test_malformed_200_not_retried);
	tcase_add_test(tc, test_dropped_connection_retried);
	tcase_add_test(tc, test_stream_cut_mid_body_retried);
	tcase_add_test(tc, test_hang_hits_the_budget);
	tcase_add_test(tc, test_hang_hits_the_call_timeout);
	tcase_add_test(tc, test_overloaded_before_text_retried);
	tcase_add_test(tc, test_overloaded_after_text_not_retried);
	tcase_add_test(tc, test_parallel_batch);
	tcase_add_test(tc, test_batch_mixed);
	tcase_add_test(tc, test_answer_too_large);
	tcase_add_test(tc, test_connection_refused_retried);
	tcase_add_test(tc, test_stream_wrong_content_type);
	tcase_add_test(tc, test_request_body);
	tcase_add_test(tc, test_client_options);
	tcase_add_test(tc, test_zero_budget);
	tcase_add_test(tc, test_legacy_version);
	tcase_add_test(tc, test_request_body_modes);
	tcase_add_test(tc, test_request_body_refused);
	tcase_add_test(tc, test_answer_check);
	tcase_add_test(tc, test_json_schema_answer);
	tcase_add_test(tc, test_strict_tool_answer);
	tcase_add_test(tc, test_stop_reasons_not_retried);
	tcase_add_test(tc, test_stream_truncated_keeps_text);
	tcase_add_test(tc, test_stream_tool_cut);
	tcase_add_test(tc, test_status_kinds);
	tcase_add_test(tc, test_spend_cap_never_retried);
	tcase_add_test(tc, test_retry_wait_headers);
	tcase_add_test(tc, test_backoff_jitter);
	tcase_add_test(tc, test_client_get);
	suite_add_tcase(s, tc);
	/* A hang guard, never a timing check: a missed wakeup waits 120 s. */
	tc = tcase_create("loop");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_loop_two_batches_concurrent);
	tcase_add_test(tc, test_loop_holds_a_spent_model);
	tcase_add_test(tc, test_loop_paces_by_the_requests_left);
	tcase_add_test(tc, test_loop_hold_ends_at_the_reset);
	tcase_add_test(tc, test_loop_done_once);
	tcase_add_test(tc, test_loop_deadlines_independent);
	tcase_add_test(tc, test_loop_cancel);
	tcase_add_test(tc, test_loop_retry_does_not_block);
	tcase_add_test(tc, test_loop_add_from_done);
	tcase_add_test(tc, test_loop_wakeup);
	tcase_add_test(tc, test_loop_cap_and_destroy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if (llm_global_init() != BS_OK)
		return EXIT_FAILURE;
	/* Retries log at info; the tests check them through their outcomes. */
	log_open(LOG_LEVEL_ERROR, NULL);
	sr = srunner_create(llm_client_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	llm_global_cleanup();
	log_close();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
