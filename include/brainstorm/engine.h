/*
 * The turn engine: runs queued turns (turn.h) as durable jobs. It claims
 * turns from PostgreSQL with a lease (FOR UPDATE SKIP LOCKED), drives the
 * Claude calls of every turn it holds on one event loop (one libcurl multi
 * handle, llm.h), and does each turn's database and Redis work on a few IO
 * threads, so the loop never waits on them. Leases are renewed while the
 * turns run; when an engine dies its leases expire and another engine runs
 * the turn again from its stored message (turn.started says retry), and
 * only the engine that holds the lease can save a turn.
 *
 * Engines run inside each worker process (ENGINE=true) and as their own
 * processes (brainstorm-fcgi --engine-only), all against one database.
 */
#ifndef BRAINSTORM_ENGINE_H
#define BRAINSTORM_ENGINE_H

#include "brainstorm/app.h"
#include "brainstorm/err.h"

struct engine;

struct engine_stats {
	long			 running;	/* turns held now */
	unsigned long long	 claimed;	/* turns leased since start */
	unsigned long long	 finished;	/* turns this engine ended */
	unsigned long long	 taken_over;	/* leases of others' expired turns */
	double			 loop_lag_s;	/* longest loop iteration, last 10 s */
};

/* Start the engine's threads (they take no stop signal). */
bs_err	engine_start(struct app *app, struct engine **out);
/*
 * Stop claiming; let the turns held finish for at most grace_ms, then give
 * the rest up (their leases expire and another engine reruns them).
 */
void	engine_stop(struct engine *en, int grace_ms);
/* A turn was queued: claim now rather than at the next poll. Any thread. */
void	engine_notify(struct engine *en);
void	engine_stats_get(struct engine *en, struct engine_stats *out);
/*
 * The owner a job about to be queued names: this engine's lease name while
 * it has room for the job beside those it runs and those already queued
 * naming it; NULL (any engine's at once) when it is full or stopping, or
 * without an engine. A hint, counted: call it once per job queued.
 */
const char *engine_owner(struct engine *en);

#endif
