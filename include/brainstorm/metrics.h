/* Process-wide Prometheus metrics; every function is safe from any thread. */
#ifndef BRAINSTORM_METRICS_H
#define BRAINSTORM_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"

/* The PostgreSQL pool's connections, as db_pool_stats reads them. */
struct metrics_pool {
	int	idle, busy, max;
};

void	metrics_init(void);
void	metrics_http_observe(const char *method, const char *route, int status,
	    double seconds);
void	metrics_db_observe(double seconds);
/* One agent call of a turn: status ok, error or cached. */
void	metrics_agent_run(const char *agent, const char *status, double seconds);
/* One Claude Messages API call and its tokens. */
void	metrics_claude_request(const char *model, const char *status,
	    long input, long output, long cache_read, long cache_write);
/* The time a Claude call waited for the API's rate limit (llm_client.c). */
void	metrics_claude_held(const char *model, const char *status,
	    double seconds);
/*
 * What the Models API last said of a configured model (model_watch.c): its
 * lifecycle (active, deprecated, retired, or unknown: the API does not know
 * the id) and the retirement it announced (Unix time; 0: none).
 */
void	metrics_claude_model(const char *model, const char *lifecycle,
	    long long retires_at);
/* When the Models API last answered about every configured model. */
void	metrics_claude_models_checked(long long when);
void	metrics_turn(const char *intent, const char *status);
/* One error report (report.c): kind http_5xx or crash; its outcome. */
void	metrics_error_report(const char *kind, const char *outcome);
/* Render the text exposition format (version 0.0.4); pool may be NULL. */
bs_err	metrics_render(struct buf *out, const struct metrics_pool *pool);

/* The live path's figures, read at scrape time; -1 where unknown. */
struct metrics_live {
	long			 fastcgi_open;	/* server_connections */
	unsigned long long	 fastcgi_accepted;
	long			 streams;	/* nchan's subscribers, this nginx */
	long			 channels;
	long			 nchan_shm_used_kib, nchan_shm_limit_kib;
	unsigned long long	 events_published, events_merged;
	unsigned long long	 events_dropped, events_failed;
	size_t			 events_queued_bytes;
	long			 turns_queued, turns_running;	/* everybody's */
	bool			 engine;	/* this process runs one */
	long			 engine_turns;
	unsigned long long	 engine_claimed, engine_finished, engine_taken_over;
	double			 engine_loop_lag_s;
};

/* Append the live figures to what metrics_render wrote. */
bs_err	metrics_render_live(struct buf *out, const struct metrics_live *m);

#endif
