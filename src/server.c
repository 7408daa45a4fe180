#include "config.h"

#include <errno.h>
#include <limits.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "brainstorm/log.h"
#include "brainstorm/server.h"
#include "brainstorm/validate.h"

#define LISTEN_BACKLOG		1024
#define UNIX_KEEPER_MS		"60000"	/* LIBFCGI_IS_AF_UNIX_KEEPER_POLL_TIMEOUT */
#define SD_LISTEN_FDS_START	3
#define WAKE_INTERVAL_MS	50
#define TRIM_INTERVAL_S		30	/* heap pages handed back to the kernel */
#define MALLOC_ARENAS		2	/* unless MALLOC_ARENA_MAX says otherwise */

enum worker_state { WORKER_IDLE = 0, WORKER_BUSY, WORKER_DONE };

struct worker {
	pthread_t		 tid;
	atomic_int		 state;
	struct app		*app;
	int			 listen_fd;
};

static atomic_bool	 stopping;

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
	FCGX_Stream	*out = arg;
	size_t		 off = 0;
	int		 chunk, w;

	while (off < n) {
		chunk = n - off > (1 << 20) ? (1 << 20) : (int)(n - off);
		if ((w = FCGX_PutStr(data + off, chunk, out)) < 0)
			return -1;
		off += (size_t)w;
	}
	return (long)n;
}

static int
fcgx_flush(void *arg)
{
	return FCGX_FFlush((FCGX_Stream *)arg);
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

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	FCGX_Request		 req;
	struct http_ctx		 ctx;
	struct http_source	 src;

	if (FCGX_InitRequest(&req, w->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_msgf(LOG_LEVEL_ERROR, "FCGX_InitRequest failed");
		goto out;
	}
	while (!atomic_load(&stopping)) {
		atomic_store(&w->state, WORKER_IDLE);
		if (FCGX_Accept_r(&req) < 0) {
			if (atomic_load(&stopping))
				break;
			if (errno != EINTR) {
				log_msgf(LOG_LEVEL_WARN, "accept failed: %s",
				    strerror(errno));
				usleep(10000);
			}
			continue;
		}
		atomic_store(&w->state, WORKER_BUSY);
		src.param = fcgx_param;
		src.read = fcgx_read;
		src.arg = &req;
		http_ctx_init(&ctx, w->app, &src, fcgx_write, req.out);
		ctx.flush = fcgx_flush;
		app_handle(&ctx);
		http_ctx_free(&ctx);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 0);
out:
	atomic_store(&w->state, WORKER_DONE);
	return NULL;
}

static void
signals_install(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* No SA_RESTART: SIGUSR1 must interrupt a blocked accept(). */
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
}

int
server_signal_wait(const sigset_t *set)
{
	struct timespec	 trim_every = { TRIM_INTERVAL_S, 0 };
	int		 sig;

	/*
	 * A malloc arena keeps the pages its busiest moment needed: resident
	 * memory creeps up for hours. While no signal comes, this idle thread
	 * gives every arena's free pages back to the kernel.
	 */
	while ((sig = sigtimedwait(set, NULL, &trim_every)) < 0)
		if (errno == EAGAIN)
			malloc_trim(0);
	return sig;
}

static double
monotonic_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	/*
	 * libfcgi closes, without a word, a connection on a unix socket whose
	 * first bytes have not come within this many milliseconds of accept()
	 * (2000 by default): on a loaded machine nginx can be that late, and
	 * then answers its client 502 ("upstream prematurely closed
	 * connection"). nginx always sends its request: wait as long as its
	 * fastcgi_send_timeout. An operator's own value stays.
	 */
	setenv("LIBFCGI_IS_AF_UNIX_KEEPER_POLL_TIMEOUT", UNIX_KEEPER_MS, 0);
	if (FCGX_Init() != 0) {
		e = BS_ERR_INTERNAL;
		goto out;
	}
	/* Stop signals are taken by this thread alone, with sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (i = 0; i < nthreads; i++) {
		workers[i].app = app;
		workers[i].listen_fd = listen_fd;
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
	deadline = monotonic_now() + shutdown_timeout_s;
	/*
	 * Idle threads sit in accept(): interrupt them until they leave. A
	 * thread between its stop check and accept() misses one signal, so
	 * the signal is repeated; busy threads finish their request first.
	 */
	while (!workers_done(workers, started) && monotonic_now() < deadline) {
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
	if (e != BS_ERR_TIMEOUT)
		free(workers);
	return e;
}
