#include "config.h"

#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brainstorm/metrics.h"

#define HTTP_SERIES_MAX		512
#define ROUTES_MAX		128

static const double buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

struct histogram {
	unsigned long long	 counts[NBUCKETS];	/* cumulative at render */
	unsigned long long	 count;
	double			 sum;
};

struct http_series {
	char			 method[16];
	const char		*route;		/* a static route pattern */
	int			 status;
	unsigned long long	 count;
};

struct route_histogram {
	const char		*route;
	struct histogram	 h;
};

/* Every field below is guarded by metrics_lock; handlers on all threads
 * observe, /metrics renders. */
static pthread_mutex_t		 metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_series	 http_series[HTTP_SERIES_MAX];
static size_t			 http_nseries;
static unsigned long long	 http_series_dropped;
static struct route_histogram	 route_hist[ROUTES_MAX];
static size_t			 route_nhist;
static struct histogram		 db_hist;

/* Labelled counters of the agents and the model, one table. */
enum counter_family {
	COUNTER_AGENT_RUNS = 0,
	COUNTER_CLAUDE_REQUESTS,
	COUNTER_CLAUDE_TOKENS,
	COUNTER_TURNS,
	COUNTER_ERROR_REPORTS,
	COUNTER_CLAUDE_HELD,
	COUNTER__COUNT
};

static const struct {
	const char	*name;
	const char	*help;
} counter_families[COUNTER__COUNT] = {
	{ "agent_runs_total", "Agent calls by agent and status (ok, error, cached)." },
	{ "claude_requests_total", "Claude Messages API calls by model and status." },
	{ "claude_tokens_total", "Claude tokens by model and kind (input, output, "
	    "cache_read, cache_write)." },
	{ "turns_total", "Turns by intent and status." },
	{ "error_reports_total", "Error reports (SENTRY_DSN) by kind (http_5xx, "
	    "crash) and outcome (sent, failed, dropped, rate_limited)." },
	{ "claude_rate_limit_wait_seconds_total", "Time Claude calls waited for "
	    "the API's rate limit before they started, by model and the call's "
	    "status." },
};

#define COUNTER_SERIES_MAX	1024
#define AGENTS_MAX		32

struct counter_series {
	enum counter_family	 family;
	char			 labels[192];	/* already escaped */
	double			 value;
};

struct agent_histogram {
	char			 agent[64];
	struct histogram	 h;
};

/*
 * What the Models API last said of each configured model (model_watch.c):
 * a lifecycle by index in model_lifecycles, and the retirement it
 * announced (Unix time, 0 when none). A model it has not answered about
 * has no row.
 */
#define MODELS_MAX	16
static const char *const model_lifecycles[] = {
	"active", "deprecated", "retired", "unknown"
};
#define NLIFECYCLES	(sizeof(model_lifecycles) / sizeof(model_lifecycles[0]))

struct model_row {
	char		 model[80];	/* cleaned for a label */
	size_t		 lifecycle;
	long long	 retires_at;
};

/* Guarded by metrics_lock, like everything above. */
static struct counter_series	 counters[COUNTER_SERIES_MAX];
static size_t			 ncounters;
static struct agent_histogram	 agent_hist[AGENTS_MAX];
static size_t			 nagent_hist;
static struct model_row		 models[MODELS_MAX];
static size_t			 nmodels;
static long long		 models_checked_at;

void
metrics_init(void)
{
	pthread_mutex_lock(&metrics_lock);
	memset(http_series, 0, sizeof(http_series));
	http_nseries = 0;
	http_series_dropped = 0;
	memset(route_hist, 0, sizeof(route_hist));
	route_nhist = 0;
	memset(&db_hist, 0, sizeof(db_hist));
	ncounters = 0;
	nagent_hist = 0;
	nmodels = 0;
	models_checked_at = 0;
	pthread_mutex_unlock(&metrics_lock);
}

static void
histogram_observe(struct histogram *h, double v)
{
	size_t	 i;

	for (i = 0; i < NBUCKETS; i++) {
		if (v <= buckets[i]) {
			h->counts[i]++;
			break;
		}
	}
	h->count++;
	h->sum += v;
}

void
metrics_http_observe(const char *method, const char *route, int status,
    double seconds)
{
	size_t	 i;

	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < http_nseries; i++) {
		if (http_series[i].status == status && http_series[i].route == route &&
		    strcmp(http_series[i].method, method) == 0)
			break;
	}
	if (i == http_nseries && http_nseries < HTTP_SERIES_MAX) {
		snprintf(http_series[i].method, sizeof(http_series[i].method), "%s",
		    method);
		http_series[i].route = route;
		http_series[i].status = status;
		http_nseries++;
	}
	if (i < http_nseries)
		http_series[i].count++;
	else
		http_series_dropped++;

	for (i = 0; i < route_nhist; i++)
		if (route_hist[i].route == route)
			break;
	if (i == route_nhist && route_nhist < ROUTES_MAX)
		route_hist[route_nhist++].route = route;
	if (i < route_nhist)
		histogram_observe(&route_hist[i].h, seconds);
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_db_observe(double seconds)
{
	pthread_mutex_lock(&metrics_lock);
	histogram_observe(&db_hist, seconds);
	pthread_mutex_unlock(&metrics_lock);
}

/* A label value safe inside quotes: printable, no quote or backslash. */
static void
label_clean(char *dst, size_t len, const char *v)
{
	size_t	 i;

	for (i = 0; i + 1 < len && v[i] != '\0'; i++)
		dst[i] = (v[i] == '"' || v[i] == '\\' || (unsigned char)v[i] < ' ') ?
		    '_' : v[i];
	dst[i] = '\0';
}

/* Add v to the series of family with labels (formatted, cleaned values). */
static void
counter_add(enum counter_family family, const char *k1, const char *v1,
    const char *k2, const char *v2, double v)
{
	char	 a[80], b[80], labels[192];
	size_t	 i;

	label_clean(a, sizeof(a), v1);
	label_clean(b, sizeof(b), v2);
	snprintf(labels, sizeof(labels), "%s=\"%s\",%s=\"%s\"", k1, a, k2, b);
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < ncounters; i++)
		if (counters[i].family == family &&
		    strcmp(counters[i].labels, labels) == 0)
			break;
	if (i == ncounters && ncounters < COUNTER_SERIES_MAX) {
		counters[i].family = family;
		memcpy(counters[i].labels, labels, sizeof(labels));
		counters[i].value = 0;
		ncounters++;
	}
	if (i < ncounters)
		counters[i].value += v;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_agent_run(const char *agent, const char *status, double seconds)
{
	size_t	 i;

	counter_add(COUNTER_AGENT_RUNS, "agent", agent, "status", status, 1);
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < nagent_hist; i++)
		if (strcmp(agent_hist[i].agent, agent) == 0)
			break;
	if (i == nagent_hist && nagent_hist < AGENTS_MAX) {
		label_clean(agent_hist[i].agent, sizeof(agent_hist[i].agent), agent);
		memset(&agent_hist[i].h, 0, sizeof(agent_hist[i].h));
		nagent_hist++;
	}
	if (i < nagent_hist)
		histogram_observe(&agent_hist[i].h, seconds);
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_claude_request(const char *model, const char *status, long input,
    long output, long cache_read, long cache_write)
{
	counter_add(COUNTER_CLAUDE_REQUESTS, "model", model, "status", status, 1);
	counter_add(COUNTER_CLAUDE_TOKENS, "model", model, "kind", "input",
	    (double)input);
	counter_add(COUNTER_CLAUDE_TOKENS, "model", model, "kind", "output",
	    (double)output);
	counter_add(COUNTER_CLAUDE_TOKENS, "model", model, "kind", "cache_read",
	    (double)cache_read);
	counter_add(COUNTER_CLAUDE_TOKENS, "model", model, "kind", "cache_write",
	    (double)cache_write);
}

void
metrics_claude_held(const char *model, const char *status, double seconds)
{
	counter_add(COUNTER_CLAUDE_HELD, "model", model, "status", status,
	    seconds);
}

void
metrics_claude_model(const char *model, const char *lifecycle,
    long long retires_at)
{
	char	 name[sizeof(models[0].model)];
	size_t	 i, l;

	label_clean(name, sizeof(name), model);
	for (l = 0; l < NLIFECYCLES; l++)
		if (strcmp(model_lifecycles[l], lifecycle) == 0)
			break;
	if (l == NLIFECYCLES)
		l = NLIFECYCLES - 1;	/* unknown */
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < nmodels; i++)
		if (strcmp(models[i].model, name) == 0)
			break;
	if (i == nmodels && nmodels < MODELS_MAX)
		memcpy(models[nmodels++].model, name, sizeof(name));
	if (i < nmodels) {
		models[i].lifecycle = l;
		models[i].retires_at = retires_at;
	}
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_claude_models_checked(long long when)
{
	pthread_mutex_lock(&metrics_lock);
	models_checked_at = when;
	pthread_mutex_unlock(&metrics_lock);
}

void
metrics_turn(const char *intent, const char *status)
{
	counter_add(COUNTER_TURNS, "intent", intent, "status", status, 1);
}

void
metrics_error_report(const char *kind, const char *outcome)
{
	counter_add(COUNTER_ERROR_REPORTS, "kind", kind, "outcome", outcome, 1);
}

/* Label values: escape backslash, quote and newline. */
static bs_err
label_put(struct buf *out, const char *v)
{
	bs_err	 e = BS_OK;

	for (; *v != '\0' && e == BS_OK; v++) {
		if (*v == '\\' || *v == '"')
			e = buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			e = buf_puts(out, "\\n");
		else
			e = buf_append(out, v, 1);
	}
	return e;
}

/* One histogram's series; labels is "" or `route="..."` already escaped. */
static bs_err
histogram_render(struct buf *out, const char *name, const char *labels,
    const struct histogram *h)
{
	unsigned long long	 cum = 0;
	size_t			 i;
	const char		*sep = *labels != '\0' ? "," : "";
	bs_err			 e = BS_OK;

	for (i = 0; i < NBUCKETS && e == BS_OK; i++) {
		cum += h->counts[i];
		e = buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
		    sep, buckets[i], cum);
	}
	if (e == BS_OK)
		e = buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
		    sep, h->count);
	if (e == BS_OK)
		e = buf_printf(out, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "",
		    labels, *labels ? "}" : "", h->sum);
	if (e == BS_OK)
		e = buf_printf(out, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "",
		    labels, *labels ? "}" : "", h->count);
	return e;
}

/* /proc/self/stat fields 14, 15 (utime, stime), 22 (starttime), 24 (rss). */
static void
process_stat(double *cpu_s, double *start_s, double *rss_bytes)
{
	FILE			*fp;
	char			 line[2048], *p;
	unsigned long long	 utime = 0, stime = 0, start = 0;
	long long		 rss = 0;
	double			 ticks = (double)sysconf(_SC_CLK_TCK);
	double			 boot = 0;
	char			 key[32];
	unsigned long long	 btime;

	*cpu_s = *start_s = *rss_bytes = 0;
	if ((fp = fopen("/proc/self/stat", "r")) == NULL)
		return;
	p = fgets(line, sizeof(line), fp);
	fclose(fp);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return;
	/* After ")": state(3) ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24). */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
	    "%*d %*d %*d %*d %*d %*d %llu %*u %lld", &utime, &stime, &start,
	    &rss) != 4)
		return;
	*cpu_s = (double)(utime + stime) / ticks;
	*rss_bytes = (double)rss * (double)sysconf(_SC_PAGESIZE);
	if ((fp = fopen("/proc/stat", "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (sscanf(line, "%31s %llu", key, &btime) == 2 &&
			    strcmp(key, "btime") == 0) {
				boot = (double)btime;
				break;
			}
		}
		fclose(fp);
	}
	*start_s = boot + (double)start / ticks;
}

static long
process_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory stream's own descriptor */
}

bs_err
metrics_render(struct buf *out, const struct metrics_pool *pool)
{
	struct http_series	 series[HTTP_SERIES_MAX];
	struct route_histogram	*hist = NULL;
	struct histogram	 dbh;
	struct counter_series	*cs = NULL;
	struct agent_histogram	 ah[AGENTS_MAX];
	struct model_row	 mr[MODELS_MAX];
	long long		 checked_at;
	size_t			 ncs, nah, nmr, f, l;
	struct buf		 labels;
	size_t			 nseries, nhist, i;
	unsigned long long	 dropped;
	double			 cpu, start, rss;
	struct mallinfo2	 heap;
	struct metrics_pool	 none = { 0, 0, 0 };
	bs_err			 e = BS_OK;

	buf_init(&labels, 1024);
	if ((hist = calloc(ROUTES_MAX, sizeof(*hist))) == NULL ||
	    (cs = calloc(COUNTER_SERIES_MAX, sizeof(*cs))) == NULL) {
		free(hist);
		return BS_ERR_NOMEM;
	}
	/* Copy under the lock, format without it. */
	pthread_mutex_lock(&metrics_lock);
	nseries = http_nseries;
	memcpy(series, http_series, nseries * sizeof(series[0]));
	dropped = http_series_dropped;
	nhist = route_nhist;
	memcpy(hist, route_hist, nhist * sizeof(hist[0]));
	dbh = db_hist;
	ncs = ncounters;
	memcpy(cs, counters, ncs * sizeof(cs[0]));
	nah = nagent_hist;
	memcpy(ah, agent_hist, nah * sizeof(ah[0]));
	nmr = nmodels;
	memcpy(mr, models, nmr * sizeof(mr[0]));
	checked_at = models_checked_at;
	pthread_mutex_unlock(&metrics_lock);

#define TRY(expr)	do { if ((e = (expr)) != BS_OK) goto out; } while (0)
	TRY(buf_puts(out, "# HELP http_requests_total HTTP requests by method, "
	    "route pattern and status.\n# TYPE http_requests_total counter\n"));
	for (i = 0; i < nseries; i++) {
		TRY(buf_printf(out, "http_requests_total{method=\"%s\",route=\"",
		    series[i].method));
		TRY(label_put(out, series[i].route));
		TRY(buf_printf(out, "\",status=\"%d\"} %llu\n", series[i].status,
		    series[i].count));
	}
	TRY(buf_printf(out, "# HELP brainstorm_metrics_series_dropped_total "
	    "Observations not counted because the series table was full.\n"
	    "# TYPE brainstorm_metrics_series_dropped_total counter\n"
	    "brainstorm_metrics_series_dropped_total %llu\n", dropped));
	TRY(buf_puts(out, "# HELP http_request_duration_seconds Time from request "
	    "to response, by route pattern.\n"
	    "# TYPE http_request_duration_seconds histogram\n"));
	for (i = 0; i < nhist; i++) {
		buf_reset(&labels);
		TRY(buf_puts(&labels, "route=\""));
		TRY(label_put(&labels, hist[i].route));
		TRY(buf_puts(&labels, "\""));
		TRY(histogram_render(out, "http_request_duration_seconds",
		    buf_cstr(&labels), &hist[i].h));
	}
	TRY(buf_puts(out, "# HELP db_query_duration_seconds PostgreSQL query time.\n"
	    "# TYPE db_query_duration_seconds histogram\n"));
	TRY(histogram_render(out, "db_query_duration_seconds", "", &dbh));

	for (f = 0; f < COUNTER__COUNT; f++) {
		TRY(buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n",
		    counter_families[f].name, counter_families[f].help,
		    counter_families[f].name));
		for (i = 0; i < ncs; i++)
			if (cs[i].family == f)
				TRY(buf_printf(out, "%s{%s} %.0f\n",
				    counter_families[f].name, cs[i].labels, cs[i].value));
	}
	TRY(buf_puts(out, "# HELP agent_run_duration_seconds Agent call time, "
	    "retries included.\n# TYPE agent_run_duration_seconds histogram\n"));
	for (i = 0; i < nah; i++) {
		buf_reset(&labels);
		TRY(buf_printf(&labels, "agent=\"%s\"", ah[i].agent));
		TRY(histogram_render(out, "agent_run_duration_seconds",
		    buf_cstr(&labels), &ah[i].h));
	}

	TRY(buf_puts(out, "# HELP claude_model_lifecycle What the Models API "
	    "last said of each configured model: 1 for its lifecycle.\n"
	    "# TYPE claude_model_lifecycle gauge\n"));
	for (i = 0; i < nmr; i++)
		for (l = 0; l < NLIFECYCLES; l++)
			TRY(buf_printf(out, "claude_model_lifecycle{model=\"%s\","
			    "lifecycle=\"%s\"} %d\n", mr[i].model,
			    model_lifecycles[l], l == mr[i].lifecycle));
	TRY(buf_puts(out, "# HELP claude_model_retires_at_seconds The "
	    "retirement the Models API announced for a configured model, "
	    "since the Unix epoch.\n"
	    "# TYPE claude_model_retires_at_seconds gauge\n"));
	for (i = 0; i < nmr; i++)
		if (mr[i].retires_at > 0)
			TRY(buf_printf(out, "claude_model_retires_at_seconds"
			    "{model=\"%s\"} %lld\n", mr[i].model,
			    mr[i].retires_at));
	TRY(buf_printf(out, "# HELP claude_models_checked_at_seconds When the "
	    "Models API last answered about every configured model, since the "
	    "Unix epoch (0: not yet).\n"
	    "# TYPE claude_models_checked_at_seconds gauge\n"
	    "claude_models_checked_at_seconds %lld\n", checked_at));

	if (pool == NULL)
		pool = &none;
	TRY(buf_printf(out, "# HELP db_pool_connections PostgreSQL pool "
	    "connections by state.\n# TYPE db_pool_connections gauge\n"
	    "db_pool_connections{state=\"idle\"} %d\n"
	    "db_pool_connections{state=\"busy\"} %d\n"
	    "db_pool_connections{state=\"max\"} %d\n", pool->idle, pool->busy,
	    pool->max));

	process_stat(&cpu, &start, &rss);
	TRY(buf_printf(out,
	    "# HELP process_cpu_seconds_total User and system CPU time.\n"
	    "# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total %.2f\n"
	    "# HELP process_resident_memory_bytes Resident memory size.\n"
	    "# TYPE process_resident_memory_bytes gauge\n"
	    "process_resident_memory_bytes %.0f\n"
	    "# HELP process_open_fds Open file descriptors.\n"
	    "# TYPE process_open_fds gauge\n"
	    "process_open_fds %ld\n"
	    "# HELP process_start_time_seconds Start time since the Unix epoch.\n"
	    "# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %.2f\n"
	    "# HELP brainstorm_build_info The running version.\n"
	    "# TYPE brainstorm_build_info gauge\n"
	    "brainstorm_build_info{version=\"%s\"} 1\n",
	    cpu, rss, process_open_fds(), start, PACKAGE_VERSION));
	heap = mallinfo2();
	TRY(buf_printf(out,
	    "# HELP process_heap_bytes The C heap: bytes in use by the program, "
	    "and bytes free but still held (fragmentation).\n"
	    "# TYPE process_heap_bytes gauge\n"
	    "process_heap_bytes{state=\"in_use\"} %zu\n"
	    "process_heap_bytes{state=\"free\"} %zu\n"
	    "process_heap_bytes{state=\"mapped\"} %zu\n",
	    heap.uordblks, heap.fordblks, heap.hblkhd));
#undef TRY
out:
	buf_free(&labels);
	free(hist);
	free(cs);
	return e;
}

/* A gauge or counter line, left out when its value is unknown (-1). */
static bs_err
live_line(struct buf *out, const char *name, const char *type,
    const char *help, double v)
{
	if (v < 0)
		return BS_OK;
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name,
	    help, name, type, name, v);
}

bs_err
metrics_render_live(struct buf *out, const struct metrics_live *m)
{
	bs_err	 e = BS_OK;

#define LIVE(name, type, help, v) \
	if (e == BS_OK) \
		e = live_line(out, name, type, help, (double)(v))
	LIVE("fastcgi_connections", "gauge", "FastCGI connections from nginx "
	    "open in this process, idle or serving.", m->fastcgi_open);
	LIVE("fastcgi_connections_accepted_total", "counter", "FastCGI "
	    "connections accepted (nginx's keepalive reuses them: far fewer "
	    "than requests).", m->fastcgi_accepted);
	LIVE("nchan_streams", "gauge", "Streams nchan holds open on this nginx.",
	    m->streams);
	LIVE("nchan_channels", "gauge", "Channels nchan knows on this nginx.",
	    m->channels);
	LIVE("nchan_shared_memory_used_bytes", "gauge", "nchan's shared memory "
	    "in use.", m->nchan_shm_used_kib < 0 ? -1 : m->nchan_shm_used_kib * 1024.0);
	LIVE("nchan_shared_memory_limit_bytes", "gauge", "nchan's shared memory "
	    "limit.", m->nchan_shm_limit_kib < 0 ? -1 : m->nchan_shm_limit_kib * 1024.0);
	LIVE("events_published_total", "counter", "Events nchan took from this "
	    "process.", m->events_published);
	LIVE("events_merged_total", "counter", "Reply deltas merged into a held "
	    "or queued one.", m->events_merged);
	LIVE("events_dropped_total", "counter", "Events refused: the queue to "
	    "nchan was full (EVENTS_QUEUE_BYTES).", m->events_dropped);
	LIVE("events_failed_total", "counter", "Events nchan did not take.",
	    m->events_failed);
	LIVE("events_queued_bytes", "gauge", "Event data waiting for nchan.",
	    m->events_queued_bytes);
	LIVE("turns_queued", "gauge", "Turns and document generations waiting "
	    "for an engine (everybody's).", m->turns_queued);
	LIVE("turns_running", "gauge", "Turns and document generations leased "
	    "to an engine (everybody's).", m->turns_running);
	if (m->engine) {
		LIVE("engine_turns", "gauge", "Turns this process's engine holds.",
		    m->engine_turns);
		LIVE("engine_claimed_total", "counter", "Turns this engine leased.",
		    m->engine_claimed);
		LIVE("engine_finished_total", "counter", "Turns this engine ended "
		    "or gave up.", m->engine_finished);
		LIVE("engine_lease_takeovers_total", "counter", "Turns this engine "
		    "took over after another engine's lease expired.",
		    m->engine_taken_over);
		LIVE("engine_loop_lag_seconds", "gauge", "The engine loop's longest "
		    "iteration over the last 10 s.", m->engine_loop_lag_s);
	}
#undef LIVE
	return e;
}
