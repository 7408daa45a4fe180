/* The FastCGI front: the listen socket, the worker threads and shutdown. */
#ifndef BRAINSTORM_SERVER_H
#define BRAINSTORM_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "brainstorm/app.h"
#include "brainstorm/err.h"

/*
 * The listen socket, in order of preference: systemd socket activation
 * (LISTEN_FDS), an explicit address (unix:/path or HOST:PORT), else fd 0 as
 * spawn-fcgi leaves it. Returns the descriptor in *fd.
 */
bs_err	server_listen_socket(const char *listen, int *fd, char *err, size_t errlen);

/*
 * Serve until SIGTERM/SIGINT: nthreads threads accept and handle requests;
 * on a stop signal accepting ends and in-flight requests get up to
 * shutdown_timeout_s seconds to finish. SIGHUP reopens the log.
 */
bs_err	server_run(struct app *app, int listen_fd, int nthreads,
	    int shutdown_timeout_s);

/* The FastCGI connections of this process: open now, accepted so far. */
void	server_connections(long *open, unsigned long long *accepted);

/* Before any thread: at most 2 malloc arenas unless MALLOC_ARENA_MAX is set. */
void	server_malloc_setup(void);
/*
 * Wait for one of the signals in set (blocked by the caller) and return it;
 * meanwhile, every 30 s at most, hand the heap's free pages back to the
 * kernel at a moment when no request is being served (server_trim_tick).
 */
int	server_signal_wait(const sigset_t *set);
/* A request thread's request, from its first byte to its answer's last. */
void	server_request_begin(void);
void	server_request_end(void);
/*
 * The signal thread's tick at monotonic time now (seconds): trims the heap
 * when TRIM_INTERVAL_S has passed since the first tick or the last trim,
 * or a trim was asked for, and no request is in flight; says whether it
 * did.
 */
bool	server_trim_tick(double now);
/* Ask for a trim at the next tick with no request in flight (a large
 * request's memory just freed). */
void	server_trim_soon(void);
/*
 * Start a thread that takes no process signal: SIGTERM, SIGINT and SIGHUP
 * belong to the thread that sigwaits for them; faults stay open. name (at
 * most 15 bytes) is what top -H, ps -L and perf show for it. The
 * pthread_create result.
 */
int	server_thread_start(pthread_t *thread, const char *name,
	    void *(*fn)(void *), void *arg);

#endif
