#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "brainstorm/clock.h"
#include "brainstorm/log.h"
#include "brainstorm/server.h"
#include "brainstorm/validate.h"

#define LISTEN_BACKLOG		1024
#define READ_TIMEOUT_S		60	/* a request begun: nginx's fastcgi_send_timeout */
#define SD_LISTEN_FDS_START	3
#define WAKE_INTERVAL_MS	50
#define TRIM_INTERVAL_S		30	/* heap pages handed back to the kernel, at most */
#define TRIM_CHECK_S		1	/* how often a due trim looks for a quiet moment */
#define MALLOC_ARENAS		2	/* unless MALLOC_ARENA_MAX says otherwise */
#define MALLOC_MMAP_BYTES	((size_t)4 << 20) /* blocks mapped apart; an arena's top kept */
#define ACCEPT_BATCH		64	/* connections taken per wake of the listen socket */
#define CONNS_FLOOR		16	/* connections allowed whatever the files limit */

enum worker_state { WORKER_IDLE = 0, WORKER_BUSY, WORKER_DONE };

struct worker {
	pthread_t		 tid;
	atomic_int		 state;
	struct app		*app;
};

static atomic_bool	 stopping;
static atomic_int	 in_flight;	/* requests this process is serving */
static atomic_bool	 trim_asked;	/* server_trim_soon: before it is due */
static double		 trim_due;	/* monotonic; the signal thread's */

/*
 * The process's FastCGI connections. nginx keeps its connections to the
 * workers open between requests (fastcgi_keep_conn and an upstream
 * keepalive): an idle one waits in this epoll set, not in a thread, and the
 * first free thread takes whichever connection has a request. Every
 * connection and the listen socket are armed one-shot, so that one event
 * reaches one thread, which owns the descriptor until it arms it again or
 * closes it. Connections that nginx does not keep are closed after their
 * request, as libfcgi always did.
 */
static struct {
	int		 epfd;
	int		 listen_fd;
	int		 max;		/* open connections, at most */
	int		 nfds;		/* size of armed[]: the files limit */
	atomic_uchar	*armed;		/* by descriptor: idle, in the set */
	atomic_int	 open;
	atomic_ullong	 accepted;
	atomic_bool	 listen_paused;	/* at max: the listen socket waits */
} conns = { .epfd = -1, .listen_fd = -1 };

/* Signals only interrupt blocking calls; the signal thread does the work. */
static void
signal_noop(int sig)
{
	(void)sig;
}

int
server_thread_start(pthread_t *thread, const char *name, void *(*fn)(void *),
    void *arg)
{
	sigset_t	 all, old;
	int		 rc;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		(void)pthread_setname_np(*thread, name);
	return rc;
}

static bs_err
listen_from_systemd(int *fd)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char	*errstr;
	long long	 v;

	if (pid == NULL || fds == NULL)
		return BS_ERR_NOT_FOUND;
	v = bs_strtonum(pid, 1, LLONG_MAX, &errstr);
	if (errstr != NULL || v != (long long)getpid())
		return BS_ERR_NOT_FOUND;
	v = bs_strtonum(fds, 1, INT_MAX, &errstr);
	if (errstr != NULL)
		return BS_ERR_NOT_FOUND;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	*fd = SD_LISTEN_FDS_START;
	return BS_OK;
}

static bool
fd_is_socket(int fd)
{
	struct stat	 st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

bs_err
server_listen_socket(const char *listen, int *fd, char *err, size_t errlen)
{
	const char	*addr;

	*fd = -1;
	if (listen_from_systemd(fd) == BS_OK)
		return BS_OK;
	if (listen != NULL && *listen != '\0') {
		/* libfcgi: "host:port" or ":port" is TCP, anything else a path. */
		addr = strncmp(listen, "unix:", 5) == 0 ? listen + 5 : listen;
		if (strncmp(listen, "unix:", 5) == 0 && addr[0] != '/') {
			snprintf(err, errlen, "listen address %s: the socket path "
			    "must be absolute", listen);
			return BS_ERR_CONFIG;
		}
		if (addr == listen && strchr(addr, ':') == NULL) {
			snprintf(err, errlen, "listen address %s: expected "
			    "unix:/path or HOST:PORT", listen);
			return BS_ERR_CONFIG;
		}
		if ((*fd = FCGX_OpenSocket(addr, LISTEN_BACKLOG)) < 0) {
			snprintf(err, errlen, "cannot listen on %s: %s", listen,
			    strerror(errno));
			return BS_ERR_IO;
		}
		return BS_OK;
	}
	if (!fd_is_socket(0)) {
		snprintf(err, errlen, "no listen socket: give --listen (or LISTEN), "
		    "or start under spawn-fcgi or systemd socket activation");
		return BS_ERR_CONFIG;
	}
	*fd = 0;
	return BS_OK;
}

static long
fcgx_write(void *arg, const char *data, size_t n)
{
	FCGX_Request	*req = arg;
	size_t		 off = 0;
	int		 chunk, w;

	while (off < n) {
		chunk = n - off > (1 << 20) ? (1 << 20) : (int)(n - off);
		if ((w = FCGX_PutStr(data + off, chunk, req->out)) < 0)
			return -1;
		off += (size_t)w;
	}
	return (long)n;
}

static int
fcgx_flush(void *arg)
{
	return FCGX_FFlush(((FCGX_Request *)arg)->out);
}

/*
 * Whatever nginx sent of the body and the handler did not read: the next
 * request on a kept connection starts after it. nginx caps a body
 * (client_max_body_size); it has sent it all before it reads the answer.
 */
static void
stdin_drain(FCGX_Request *req)
{
	char	 buf[4096];

	while (FCGX_GetStr(buf, (int)sizeof(buf), req->in) > 0)
		;
}

/*
 * The request's end, before the access line: first the rest of its body
 * (once nginx has FCGI_END_REQUEST it may send the next request on this
 * connection, and a read must not take that too), then stderr's stream
 * (nothing was written to it: it adds nothing), then stdout's, whose
 * close writes what is buffered, its end and FCGI_END_REQUEST, in one
 * write for an answer that fits libfcgi's buffer. FCGX_Finish_r closes
 * them again, a no-op.
 */
static int
fcgx_finish(void *arg)
{
	FCGX_Request	*req = arg;
	int		 rc;

	if (req->keepConnection)
		stdin_drain(req);
	rc = FCGX_FClose(req->err);
	return FCGX_FClose(req->out) != 0 || rc != 0 ? -1 : 0;
}

static const char *
fcgx_param(void *arg, const char *name)
{
	FCGX_Request	*req = arg;

	return FCGX_GetParam(name, req->envp);
}

static long
fcgx_read(void *arg, char *dst, size_t n)
{
	FCGX_Request	*req = arg;
	int		 got;

	got = FCGX_GetStr(dst, n > (1 << 20) ? (1 << 20) : (int)n, req->in);
	if (got == 0 && FCGX_GetError(req->in) != 0)
		return -1;
	return got;
}

static int
conn_arm(int fd, int op)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.fd = fd;
	if (fd != conns.listen_fd && fd < conns.nfds)
		atomic_store(&conns.armed[fd], 1);
	return epoll_ctl(conns.epfd, op, fd, &ev);
}

static void
listen_resume(void)
{
	bool	 paused = true;

	if (atomic_compare_exchange_strong(&conns.listen_paused, &paused, false) &&
	    conn_arm(conns.listen_fd, EPOLL_CTL_MOD) != 0)
		log_msgf(LOG_LEVEL_ERROR, "the listen socket cannot be armed: %s",
		    strerror(errno));
}

/* A connection is gone (closed here or by libfcgi): room for another. */
static void
conn_gone(void)
{
	if (atomic_fetch_sub(&conns.open, 1) - 1 < conns.max)
		listen_resume();
}

static void
conn_close(int fd)
{
	if (fd < conns.nfds)
		atomic_store(&conns.armed[fd], 0);
	close(fd);
	conn_gone();
}

/*
 * Out of descriptors (the Claude calls of the turn engine count too): the
 * connection waits in the backlog; said at most once a second.
 */
static void
accept_failed(int err)
{
	static atomic_llong	 said;
	struct timespec		 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (atomic_exchange(&said, (long long)now.tv_sec) != (long long)now.tv_sec)
		log_msgf(LOG_LEVEL_WARN, "accept failed: %s", strerror(err));
	usleep(10000);	/* let connections close */
}

/*
 * The listen socket is ready: take what connections wait (up to a batch,
 * and up to conns.max open), each into the set, then arm the socket again.
 * At the limit the socket stays unarmed until a connection closes.
 */
static void
conns_accept(void)
{
	struct sockaddr_storage	 sa;
	struct timeval		 rcv = { READ_TIMEOUT_S, 0 };
	socklen_t		 len;
	int			 fd, i, one = 1;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (atomic_load(&conns.open) >= conns.max) {
			atomic_store(&conns.listen_paused, true);
			/* A connection closed meanwhile would not have resumed. */
			if (atomic_load(&conns.open) < conns.max)
				listen_resume();
			return;
		}
		len = sizeof(sa);
		fd = accept4(conns.listen_fd, (struct sockaddr *)&sa, &len,
		    SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				accept_failed(errno);
			break;
		}
		/* libfcgi's own: no replies to wait for, so no Nagle. */
		if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		/*
		 * A connection waits for its first bytes in the set, without
		 * a thread, as long as nginx keeps it; a request that stops
		 * halfway frees its thread after this long.
		 */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
		atomic_fetch_add(&conns.open, 1);
		atomic_fetch_add(&conns.accepted, 1);
		if (fd >= conns.nfds || conn_arm(fd, EPOLL_CTL_ADD) != 0) {
			log_msgf(LOG_LEVEL_WARN, "a connection cannot be "
			    "watched: %s", fd >= conns.nfds ? "descriptor past "
			    "the files limit" : strerror(errno));
			conn_close(fd);
		}
	}
	if (conn_arm(conns.listen_fd, EPOLL_CTL_MOD) != 0)
		log_msgf(LOG_LEVEL_ERROR, "the listen socket cannot be armed: %s",
		    strerror(errno));
}

/* One request on a connection that had something to read. */
static void
conn_serve(struct worker *w, FCGX_Request *req, int fd)
{
	struct http_ctx		 ctx;
	struct http_source	 src;

	atomic_store(&conns.armed[fd], 0);
	req->ipcFd = fd;
	/* FCGX_Accept_r finishes a previous request first: not this socket. */
	req->keepConnection = 1;
	if (FCGX_Accept_r(req) < 0) {
		/* Closed by nginx, or no request on it: libfcgi closed it. */
		conn_gone();
		return;
	}
	src.param = fcgx_param;
	src.read = fcgx_read;
	src.arg = req;
	http_ctx_init(&ctx, w->app, &src, fcgx_write, req);
	ctx.flush = fcgx_flush;
	ctx.finish = fcgx_finish;
	app_handle(&ctx);
	http_ctx_free(&ctx);
	/* The answer has ended (fcgx_finish); this closes the connection
	 * unless nginx keeps it. */
	FCGX_Finish_r(req);
	if (req->ipcFd < 0) {
		conn_gone();
		return;
	}
	fd = req->ipcFd;
	req->ipcFd = -1;
	if (atomic_load(&stopping) || conn_arm(fd, EPOLL_CTL_MOD) != 0)
		conn_close(fd);
}

/*
 * WORKER_SCHED_BATCH: this thread runs as SCHED_BATCH. Woken by a request
 * or by PostgreSQL's answer, a batch thread takes a core that is free, but
 * does not preempt the task running on a busy one (nginx, most often); it
 * waits for that task to block or for its slice to end. nginx's event loop
 * then answers the connections it has ready in one run instead of losing
 * its core at each wake. Needs no privilege; refused (a seccomp filter), it
 * is reported once and the thread stays as it was.
 */
static void
worker_sched_batch(void)
{
	static atomic_flag	 reported = ATOMIC_FLAG_INIT;
	struct sched_param	 param = { .sched_priority = 0 };
	int			 rc;

	rc = pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
	if (rc != 0 && !atomic_flag_test_and_set(&reported))
		log_msgf(LOG_LEVEL_WARN, "WORKER_SCHED_BATCH: SCHED_BATCH "
		    "refused (%s); request threads keep their policy",
		    strerror(rc));
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	FCGX_Request		 req;
	struct epoll_event	 ev;
	int			 n;

	if (w->app->cfg->worker_sched_batch)
		worker_sched_batch();
	/* No listen socket for libfcgi: connections come from the set. */
	if (FCGX_InitRequest(&req, -1, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_msgf(LOG_LEVEL_ERROR, "FCGX_InitRequest failed");
		goto out;
	}
	while (!atomic_load(&stopping)) {
		atomic_store(&w->state, WORKER_IDLE);
		if ((n = epoll_wait(conns.epfd, &ev, 1, -1)) <= 0) {
			if (n < 0 && errno != EINTR) {
				log_msgf(LOG_LEVEL_WARN, "epoll_wait failed: %s",
				    strerror(errno));
				usleep(10000);
			}
			continue;
		}
		if (ev.data.fd == conns.listen_fd) {
			conns_accept();
			continue;
		}
		atomic_store(&w->state, WORKER_BUSY);
		server_request_begin();
		conn_serve(w, &req, ev.data.fd);
		server_request_end();
	}
	FCGX_Free(&req, 0);
out:
	atomic_store(&w->state, WORKER_DONE);
	return NULL;
}

/*
 * The set, with the listen socket in it: non-blocking (a wake may find its
 * connection taken by another process on the same socket), and room for
 * half the files limit in connections (the rest: PostgreSQL, Redis, the
 * Claude API, the logs).
 */
static bs_err
conns_open(int listen_fd)
{
	struct rlimit	 rl;
	int		 flags;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > INT_MAX)
		rl.rlim_cur = 65536;
	conns.nfds = (int)rl.rlim_cur;
	conns.max = conns.nfds / 2 > CONNS_FLOOR ? conns.nfds / 2 : CONNS_FLOOR;
	if ((conns.armed = calloc((size_t)conns.nfds, sizeof(*conns.armed))) == NULL)
		return BS_ERR_NOMEM;
	conns.listen_fd = listen_fd;
	if ((flags = fcntl(listen_fd, F_GETFL)) < 0 ||
	    fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    (conns.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    conn_arm(listen_fd, EPOLL_CTL_ADD) != 0) {
		log_msgf(LOG_LEVEL_ERROR, "the listen socket cannot be watched: %s",
		    strerror(errno));
		return BS_ERR_IO;
	}
	return BS_OK;
}

/*
 * After the threads: nothing more is accepted here, and nginx learns at
 * once that the idle connections are gone (rather than sending requests
 * down them while the turn engine stops).
 */
static void
conns_close(void)
{
	int	 fd;

	if (conns.listen_fd >= 0)
		close(conns.listen_fd);
	for (fd = 0; conns.armed != NULL && fd < conns.nfds; fd++)
		if (atomic_load(&conns.armed[fd]))
			close(fd);
	if (conns.epfd >= 0)
		close(conns.epfd);
	free(conns.armed);
	conns.armed = NULL;
	conns.epfd = conns.listen_fd = -1;
}

void
server_connections(long *open, unsigned long long *accepted)
{
	*open = atomic_load(&conns.open);
	*accepted = atomic_load(&conns.accepted);
}

static void
signals_install(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* SIGUSR1 interrupts a thread waiting in epoll_wait(). */
	sa.sa_handler = signal_noop;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void
server_malloc_setup(void)
{
	/*
	 * glibc gives each thread an arena of its own, up to 8 per core, and
	 * each keeps its own free pages: with a dozen threads a worker's
	 * resident memory crept up (a 10-minute soak: 16.4 to 17.5 MB with
	 * glibc's default, 14.6 to 15.1 MB with two arenas). The threads
	 * mostly wait on sockets; two arenas are plenty.
	 */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		mallopt(M_ARENA_MAX, MALLOC_ARENAS);
	/*
	 * Blocks of 4 MiB and more (an export's or an import's buffers) are
	 * mapped apart and unmapped when freed. glibc's own threshold moves
	 * up to a block's size once such a block is freed; the next ones then
	 * came from a thread's arena, whose free top malloc_trim does not give
	 * back: a worker kept 16 MB after a few 26 MiB imports, free in its
	 * arena (malloc_info) and resident for good. The trim threshold is
	 * fixed at the same size: free() gives back an arena's top past it,
	 * and below it a request's buffers are reused, not faulted in again.
	 */
	if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
		mallopt(M_MMAP_THRESHOLD, (int)MALLOC_MMAP_BYTES);
	if (getenv("MALLOC_TRIM_THRESHOLD_") == NULL)
		mallopt(M_TRIM_THRESHOLD, (int)MALLOC_MMAP_BYTES);
}

void
server_request_begin(void)
{
	atomic_fetch_add(&in_flight, 1);
}

void
server_request_end(void)
{
	atomic_fetch_sub(&in_flight, 1);
}

void
server_trim_soon(void)
{
	atomic_store(&trim_asked, true);
}

bool
server_trim_tick(double now)
{
	if (trim_due == 0)
		trim_due = now + TRIM_INTERVAL_S;
	if ((now < trim_due && !atomic_load(&trim_asked)) ||
	    atomic_load(&in_flight) > 0)
		return false;
	atomic_store(&trim_asked, false);
	malloc_trim(0);
	trim_due = now + TRIM_INTERVAL_S;
	return true;
}

int
server_signal_wait(const sigset_t *set)
{
	struct timespec	 tick = { TRIM_CHECK_S, 0 };
	int		 sig;

	/*
	 * A malloc arena keeps the pages its busiest moment needed: resident
	 * memory creeps up for hours. While no signal comes, this idle thread
	 * gives every arena's free pages back to the kernel, at most every
	 * TRIM_INTERVAL_S and only while no request is being served:
	 * malloc_trim holds each arena's lock while it walks it (0.1 to 14 ms
	 * under wrk on the item page), and every thread of the process that
	 * allocates meanwhile waits for it. A process that is never idle
	 * keeps the pages it keeps using.
	 */
	while ((sig = sigtimedwait(set, NULL, &tick)) < 0)
		if (errno == EAGAIN)
			(void)server_trim_tick(bs_monotonic_s());
	return sig;
}

static bool
workers_done(struct worker *w, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (atomic_load(&w[i].state) != WORKER_DONE)
			return false;
	return true;
}

bs_err
server_run(struct app *app, int listen_fd, int nthreads, int shutdown_timeout_s)
{
	struct worker	*workers;
	sigset_t	 set;
	struct timespec	 wake = { 0, WAKE_INTERVAL_MS * 1000000L };
	double		 deadline;
	int		 i, sig, started = 0;
	bs_err		 e = BS_OK;

	if ((workers = calloc((size_t)nthreads, sizeof(*workers))) == NULL)
		return BS_ERR_NOMEM;
	/* Ours before FCGX_Init, whose handlers only set a flag. */
	signals_install();
	if (FCGX_Init() != 0) {
		e = BS_ERR_INTERNAL;
		goto out;
	}
	if ((e = conns_open(listen_fd)) != BS_OK)
		goto out;
	/* Stop signals are taken by this thread alone, with sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (i = 0; i < nthreads; i++) {
		workers[i].app = app;
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) {
			e = BS_ERR_INTERNAL;
			break;
		}
		(void)pthread_setname_np(workers[i].tid, "bs-request");
		started++;
	}
	if (started == 0)
		goto out;
	log_msgf(LOG_LEVEL_INFO, "serving with %d threads", started);

	while (e == BS_OK) {
		sig = server_signal_wait(&set);
		if (sig == SIGHUP) {
			if (log_reopen() != BS_OK)
				log_msgf(LOG_LEVEL_ERROR, "log reopen failed");
			else
				log_msgf(LOG_LEVEL_INFO, "log reopened");
			continue;
		}
		break;
	}
	log_msgf(LOG_LEVEL_INFO, "stopping: draining in-flight requests "
	    "(up to %d s)", shutdown_timeout_s);
	atomic_store(&stopping, true);
	FCGX_ShutdownPending();
	deadline = bs_monotonic_s() + shutdown_timeout_s;
	/*
	 * Idle threads sit in epoll_wait(): interrupt them until they leave. A
	 * thread between its stop check and epoll_wait() misses one signal, so
	 * the signal is repeated; busy threads finish their request first.
	 */
	while (!workers_done(workers, started) && bs_monotonic_s() < deadline) {
		for (i = 0; i < started; i++)
			if (atomic_load(&workers[i].state) == WORKER_IDLE)
				pthread_kill(workers[i].tid, SIGUSR1);
		nanosleep(&wake, NULL);
	}
	if (!workers_done(workers, started)) {
		log_msgf(LOG_LEVEL_WARN, "shutdown deadline passed with requests "
		    "in flight");
		e = BS_ERR_TIMEOUT;	/* exiting ends the remaining threads */
		goto out;
	}
	for (i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	log_msgf(LOG_LEVEL_INFO, "stopped");
out:
	/* Threads that still run keep their memory until the process exits. */
	if (e != BS_ERR_TIMEOUT) {
		conns_close();
		free(workers);
	}
	return e;
}
