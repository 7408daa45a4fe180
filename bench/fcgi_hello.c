/*
 * The ceiling bench/api.sh measures the API against: a libfcgi program that
 * does nothing but answer, with the same accept loop as brainstorm-fcgi
 * (threads in FCGX_Accept_r on one socket). Not part of the build; the
 * benchmark compiles it:
 *
 *   cc -O2 -o fcgi-hello bench/fcgi_hello.c -lfcgi -lpthread
 *   fcgi-hello unix:/path/to.sock THREADS
 */
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS_MAX	256

/* About the size of /api/health's answer, headers included. */
static const char hello[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 33\r\n"
    "Cache-Control: no-store\r\n"
    "\r\n"
    "{\"status\":\"ok\",\"version\":\"hello\"}";

static int	 listen_fd;

static void *
serve(void *arg)
{
	FCGX_Request	 req;

	(void)arg;
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(hello, (int)sizeof(hello) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t	 tids[THREADS_MAX];
	const char	*addr;
	char		*end;
	long		 n;
	int		 i;

	if (argc != 3) {
		fprintf(stderr,
		    "usage: fcgi-hello unix:/path|HOST:PORT THREADS\n");
		return 2;
	}
	addr = strncmp(argv[1], "unix:", 5) == 0 ? argv[1] + 5 : argv[1];
	errno = 0;
	n = strtol(argv[2], &end, 10);
	if (errno != 0 || end == argv[2] || *end != '\0' || n < 1 ||
	    n > THREADS_MAX) {
		fprintf(stderr, "fcgi-hello: THREADS must be 1 to %d\n",
		    THREADS_MAX);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || (listen_fd = FCGX_OpenSocket(addr, 1024)) < 0) {
		fprintf(stderr, "fcgi-hello: cannot listen on %s\n", argv[1]);
		return 1;
	}
	/* libfcgi's SIGTERM handler only sets a flag: let SIGTERM end us. */
	signal(SIGTERM, SIG_DFL);
	for (i = 0; i < n; i++)
		if (pthread_create(&tids[i], NULL, serve, NULL) != 0) {
			fprintf(stderr, "fcgi-hello: pthread_create failed\n");
			return 1;
		}
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
