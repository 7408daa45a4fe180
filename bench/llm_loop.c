/*
 * The client loop under load: N batches of C calls each, all added at
 * once to one llm_loop driven by this one thread, against CLAUDE_BASE_URL
 * (bench/llm_loop.sh starts the Claude double). Prints wall time, calls/s,
 * this process's CPU time per call, its peak RSS, and latency percentiles.
 * A benchmark, not a test: it prints numbers and fails only when calls fail.
 */
#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brainstorm/llm.h"
#include "brainstorm/log.h"

#define BENCH_ARG_MAX	1000000L

struct bench_batch {
	struct llm_call	*calls;
	size_t		 n;
	size_t		*done;		/* batches whose done ran */
};

static size_t	 bench_text_bytes;	/* streamed text seen by on_text */

static void
bench_on_text(void *arg, const char *text, size_t len)
{
	(void)arg;
	(void)text;
	bench_text_bytes += len;
}

static void
bench_done(void *arg)
{
	struct bench_batch	*b = arg;

	(*b->done)++;
}

static double
bench_now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A positive decimal argument up to BENCH_ARG_MAX, -1 when it is not. */
static long
bench_arg(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > BENCH_ARG_MAX)
		return -1;
	return v;
}

static int
bench_cmp_long(const void *a, const void *b)
{
	long	 x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* VmHWM (peak resident set) from /proc/self/status, in KiB; -1 when unknown. */
static long
bench_peak_rss_kib(void)
{
	char	 line[256];
	long	 kib = -1;
	FILE	*fp;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

/* One socket per running call: lift the soft limit on descriptors. */
static void
bench_raise_nofile(size_t want)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want + 64)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void
bench_usage(void)
{
	fprintf(stderr, "usage: llm_loop [-b batches] [-c calls] [-d deadline_ms] "
	    "[-s]\n\tCLAUDE_BASE_URL names the API (or the double)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct llm_message	 msg[] = {
		{ "user", "Name three colours of a brainstorm board." },
	};
	struct llm_client_options	 opt;
	struct llm_client		*client = NULL;
	struct llm_loop			*loop = NULL;
	struct llm_request		 req;
	struct bench_batch		*batches = NULL;
	struct llm_call			*calls = NULL;
	struct rusage			 ru0, ru1;
	long				 nbatches = 512, ncalls = 3, deadline_ms = 120000;
	long				*lat = NULL, kib;
	size_t				 i, total, ok = 0, done = 0, iterations = 0;
	double				 t0, wall, cpu;
	char				 err[256];
	const char			*url;
	bool				 stream = false;
	int				 ch, rc = 1;

	while ((ch = getopt(argc, argv, "b:c:d:s")) != -1) {
		switch (ch) {
		case 'b':
			if ((nbatches = bench_arg(optarg)) < 0)
				bench_usage();
			break;
		case 'c':
			if ((ncalls = bench_arg(optarg)) < 0)
				bench_usage();
			break;
		case 'd':
			if ((deadline_ms = bench_arg(optarg)) < 0)
				bench_usage();
			break;
		case 's':
			stream = true;
			break;
		default:
			bench_usage();
		}
	}
	if ((url = getenv("CLAUDE_BASE_URL")) == NULL)
		bench_usage();
	total = (size_t)nbatches * (size_t)ncalls;
	bench_raise_nofile(total);
	log_open(LOG_LEVEL_ERROR, NULL);
	if (llm_global_init() != BS_OK)
		goto out;
	memset(&opt, 0, sizeof(opt));
	opt.base_url = url;
	opt.api_key = getenv("CLAUDE_API_KEY") != NULL ?
	    getenv("CLAUDE_API_KEY") : "sk-ant-bench";
	opt.per_call_timeout_ms = deadline_ms;
	if (llm_client_new(&opt, &client, err, sizeof(err)) != BS_OK) {
		fprintf(stderr, "llm_loop: %s\n", err);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.model = "claude-haiku-4-5";
	req.max_tokens = 256;
	req.messages = msg;
	req.nmessages = 1;
	req.stream = stream;
	req.on_text = bench_on_text;
	if ((batches = calloc((size_t)nbatches, sizeof(*batches))) == NULL ||
	    (calls = calloc(total, sizeof(*calls))) == NULL ||
	    (lat = calloc(total, sizeof(*lat))) == NULL ||
	    llm_loop_create(client, total, &loop) != BS_OK) {
		fprintf(stderr, "llm_loop: out of memory\n");
		goto out;
	}
	for (i = 0; i < total; i++)
		llm_call_init(&calls[i], &req);
	getrusage(RUSAGE_SELF, &ru0);
	t0 = bench_now_s();
	for (i = 0; i < (size_t)nbatches; i++) {
		batches[i].calls = &calls[i * (size_t)ncalls];
		batches[i].n = (size_t)ncalls;
		batches[i].done = &done;
		if (llm_loop_add(loop, batches[i].calls, batches[i].n, deadline_ms,
		    bench_done, &batches[i], NULL) != BS_OK) {
			fprintf(stderr, "llm_loop: batch %zu refused\n", i);
			goto out;
		}
	}
	while (llm_loop_batches(loop) > 0) {
		if (llm_loop_run(loop, 1000) != BS_OK) {
			fprintf(stderr, "llm_loop: the loop failed\n");
			goto out;
		}
		iterations++;
	}
	wall = bench_now_s() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
	    (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	    (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	for (i = 0; i < total; i++) {
		if (calls[i].err == BS_OK)
			ok++;
		else if (total - ok <= 3 || i < 3)
			fprintf(stderr, "llm_loop: call %zu: %s: %s\n", i,
			    llm_error_kind_name(calls[i].kind), calls[i].error);
		lat[i] = calls[i].latency_ms;
	}
	qsort(lat, total, sizeof(*lat), bench_cmp_long);
	kib = bench_peak_rss_kib();
	printf("batches %ld x calls %ld = %zu calls (%s), %zu ok, %zu done "
	    "callbacks\n", nbatches, ncalls, total, stream ? "streamed" :
	    "plain", ok, done);
	printf("wall %.3f s, %.1f calls/s, %zu loop iterations\n", wall,
	    (double)total / wall, iterations);
	printf("cpu %.3f s (%.3f ms per call), peak RSS %.1f MiB\n", cpu,
	    cpu * 1000.0 / (double)total, kib >= 0 ? (double)kib / 1024.0 : -1.0);
	printf("latency ms p50 %ld, p90 %ld, p99 %ld, max %ld\n",
	    lat[total / 2], lat[total * 9 / 10], lat[total * 99 / 100],
	    lat[total - 1]);
	if (stream)
		printf("streamed text %zu bytes\n", bench_text_bytes);
	rc = ok == total && done == (size_t)nbatches ? 0 : 1;
out:
	llm_loop_destroy(loop);
	for (i = 0; calls != NULL && i < total; i++)
		llm_call_free(&calls[i]);
	free(calls);
	free(batches);
	free(lat);
	llm_client_free(client);
	llm_global_cleanup();
	return rc;
}
