#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "brainstorm/buf.h"
#include "brainstorm/clock.h"
#include "brainstorm/document.h"
#include "brainstorm/engine.h"
#include "brainstorm/events.h"
#include "brainstorm/log.h"
#include "brainstorm/server.h"
#include "brainstorm/turn.h"

#define CLAIM_MAX	32	/* turns leased by one claim */
#define POLL_MS		1000	/* claims without a notice, for other hosts' turns */
#define LOOP_WAIT_MS	250
#define LAG_WINDOW_S	10
#define CALLS_PER_TURN	8	/* the most calls of one stage (STAGE_MAX) */
/*
 * An ended turn's channel lives this long after its last event, so that a
 * client handed to it just before the end still finds it (and reads the
 * turn to turn.done); then it is deleted, which ends what still listens.
 */
#define LINGER_MS	5000

enum step {
	STEP_CLAIM,
	STEP_RENEW,
	STEP_BEGIN,
	STEP_MIDDLE,
	STEP_END,
};

/*
 * What the engine runs: a turn (turn.h) or a document generation
 * (document.h), both rows of turns, leased alike. Steps marked IO run on
 * an IO thread, the others on the loop thread.
 */
struct job_ops {
	bs_err		 (*create)(struct app *, const struct db_turn_job *,
			    const char *, const struct turn_sink *, void **);
	void		 (*destroy)(void *);
	const char	*(*id)(const void *);
	bool		 (*over)(const void *);
	void		 (*begin)(void *);		/* IO */
	size_t		 (*calls)(void *, struct llm_call **, long *);
	bool		 (*stage_end)(void *);	/* true: middle, then a stage */
	void		 (*middle)(void *);		/* IO */
	void		 (*end)(void *);		/* IO */
};

static bs_err
turn_create(struct app *app, const struct db_turn_job *job, const char *owner,
    const struct turn_sink *sink, void **out)
{
	struct turn	*t = NULL;
	bs_err		 e;

	e = turn_new(app, job, owner, sink, &t);
	*out = t;
	return e;
}

static void
turn_destroy(void *t)
{
	turn_free(t);
}

static const char *
turn_id_of(const void *t)
{
	return turn_id(t);
}

static bool
turn_over_of(const void *t)
{
	return turn_over(t);
}

static void
turn_begin_of(void *t)
{
	turn_begin(t);
}

static void
turn_middle_of(void *t)
{
	turn_middle(t);
}

static void
turn_end_of(void *t)
{
	turn_end(t);
}

static size_t
turn_calls_of(void *t, struct llm_call **calls, long *deadline_ms)
{
	return turn_stage_calls(t, calls, deadline_ms);
}

/* turn_stage_end moves the turn on to stage B after stage A. */
static bool
turn_stage_end_of(void *t)
{
	bool	 after_a = turn_stage(t) == 0;

	turn_stage_end(t);
	return after_a;
}

static bs_err
document_create(struct app *app, const struct db_turn_job *job,
    const char *owner, const struct turn_sink *sink, void **out)
{
	struct document_job	*g = NULL;
	bs_err			 e;

	e = document_job_new(app, job, owner, sink, &g);
	*out = g;
	return e;
}

static void
document_destroy(void *g)
{
	document_job_free(g);
}

static const char *
document_id_of(const void *g)
{
	return document_job_id(g);
}

static bool
document_over_of(const void *g)
{
	return document_job_over(g);
}

static void
document_begin_of(void *g)
{
	document_job_begin(g);
}

static void
document_end_of(void *g)
{
	document_job_end(g);
}

static size_t
document_calls_of(void *g, struct llm_call **calls, long *deadline_ms)
{
	return document_job_calls(g, calls, deadline_ms);
}

/* One stage: the end comes next. */
static bool
document_stage_end_of(void *g)
{
	document_job_stage_end(g);
	return false;
}

static const struct job_ops turn_ops = {
	turn_create, turn_destroy, turn_id_of, turn_over_of, turn_begin_of,
	turn_calls_of, turn_stage_end_of, turn_middle_of, turn_end_of,
};
static const struct job_ops document_ops = {
	document_create, document_destroy, document_id_of, document_over_of,
	document_begin_of, document_calls_of, document_stage_end_of, NULL,
	document_end_of,
};

/* A turn or a generation the engine holds. */
struct held {
	struct held	*prev, *next;	/* the engine's list, under held_lock */
	struct engine	*en;
	const struct job_ops *ops;
	void		*turn;		/* the ops' job */
	char		 channels[EVENTS_CHANNELS_MAX];	/* t-TURN,p-PROJECT */
	char		 turn_channel[EVENTS_CHANNELS_MAX];
};

/* An ended turn's channel, to delete once its time is up. */
struct linger {
	struct linger	*next;
	long long	 due_ms;
	char		 channel[EVENTS_CHANNELS_MAX];
};

/* Work for the IO threads, and back to the loop once done. */
struct job {
	struct job	*next;
	enum step	 step;
	struct held	*held;		/* NULL for CLAIM and RENEW */
	int		 want;		/* CLAIM: turns to lease */
	int		 got;		/* CLAIM: turns leased, in leased[] */
	struct held	*leased[CLAIM_MAX];
};

struct queue {
	struct job	*head, *tail;
};

/*
 * io_lock guards io (work for the IO threads) and stopping_io; in_lock
 * guards inbox (finished work for the loop thread). Everything else
 * belongs to the loop thread, but for the counters and notified.
 */
struct engine {
	struct app		*app;
	char			 owner[TURN_OWNER_MAX];
	struct llm_loop		*loop;
	pthread_t		 loop_thread;
	pthread_t		*io_threads;
	int			 nio;
	pthread_mutex_t		 io_lock, in_lock, held_lock;
	struct held		*held;		/* every turn held, for renewals */
	pthread_cond_t		 io_ready;
	struct queue		 io, inbox;
	bool			 stopping_io;

	atomic_bool		 notified;
	atomic_bool		 stopping;	/* no more claims */
	atomic_long		 grace_until_ms;	/* then abandon */
	bool			 abandoning;
	int			 max_turns;
	long			 running;	/* loop thread only */
	struct linger		*linger_head, *linger_tail;	/* loop thread */
	bool			 claim_pending, renew_pending;
	long long		 next_claim_ms, next_renew_ms;

	atomic_long		 n_running;
	atomic_long		 owed;		/* jobs queued naming us, not yet claimed */
	atomic_ullong		 n_claimed, n_finished, n_taken_over;
	atomic_long		 lag_us;
	long long		 lag_since_ms;
	long			 lag_max_us;
};

static void
queue_push(struct queue *q, struct job *j)
{
	j->next = NULL;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct job *
queue_pop(struct queue *q)
{
	struct job	*j = q->head;

	if (j != NULL && (q->head = j->next) == NULL)
		q->tail = NULL;
	return j;
}

/* Work for an IO thread. Any thread. */
static void
io_post(struct engine *en, struct job *j)
{
	pthread_mutex_lock(&en->io_lock);
	queue_push(&en->io, j);
	pthread_cond_signal(&en->io_ready);
	pthread_mutex_unlock(&en->io_lock);
}

static bs_err
io_post_step(struct engine *en, enum step step, struct held *h)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return BS_ERR_NOMEM;
	j->step = step;
	j->held = h;
	io_post(en, j);
	return BS_OK;
}

/* Finished work back to the loop thread, which wakes. */
static void
inbox_post(struct engine *en, struct job *j)
{
	pthread_mutex_lock(&en->in_lock);
	queue_push(&en->inbox, j);
	pthread_mutex_unlock(&en->in_lock);
	llm_loop_wakeup(en->loop);
}

/* A turn's events: to its own stream and the project's. */
static void
held_emit(void *arg, const char *type, json_object *data)
{
	struct held	*h = arg;

	if (events_publish(h->en->app->events, h->channels, type, data) != BS_OK)
		log_msgf(LOG_LEVEL_DEBUG, "a %s event of turn %s was not queued",
		    type, h->ops->id(h->turn));
}

static void
held_link(struct engine *en, struct held *h)
{
	pthread_mutex_lock(&en->held_lock);
	h->prev = NULL;
	if ((h->next = en->held) != NULL)
		en->held->prev = h;
	en->held = h;
	pthread_mutex_unlock(&en->held_lock);
}

/* The turn is no longer this engine's: its lease is not renewed again. */
static void
held_free(struct held *h)
{
	struct engine	*en;

	if (h == NULL)
		return;
	if ((en = h->en) != NULL) {
		pthread_mutex_lock(&en->held_lock);
		if (h->prev != NULL)
			h->prev->next = h->next;
		else if (en->held == h)
			en->held = h->next;
		if (h->next != NULL)
			h->next->prev = h->prev;
		pthread_mutex_unlock(&en->held_lock);
	}
	if (h->turn != NULL)
		h->ops->destroy(h->turn);
	free(h);
}

/* IO: lease turns; the loop counts and starts them (job_done). */
static void
io_claim(struct engine *en, struct job *j)
{
	struct db_turn_job	 jobs[CLAIM_MAX];
	struct db_conn		*conn = NULL;
	struct turn_sink	 sink;
	struct held		*h;
	int			 n = 0, i;
	bs_err			 e;

	if ((e = db_pool_checkout(en->app->db, &conn)) == BS_OK)
		e = db_turns_claim(conn, en->owner, j->want,
		    en->app->cfg->turn_lease_s, jobs, &n);
	db_pool_release(en->app->db, conn);
	if (e != BS_OK) {
		log_msgf(LOG_LEVEL_WARN, "engine %s: no turns claimed: %s",
		    en->owner, bs_strerror(e));
		return;
	}
	for (i = 0; i < n; i++) {
		h = calloc(1, sizeof(*h));
		sink.emit = held_emit;
		sink.arg = h;
		if (h != NULL)
			h->ops = jobs[i].document_kind[0] != '\0' ? &document_ops :
			    &turn_ops;
		if (h == NULL || h->ops->create(en->app, &jobs[i], en->owner,
		    &sink, &h->turn) != BS_OK) {
			/* The lease runs out; an engine with memory takes it. */
			log_msgf(LOG_LEVEL_ERROR, "engine %s: turn %s dropped: out "
			    "of memory", en->owner, jobs[i].turn_id);
			free(h);
			continue;
		}
		h->en = en;
		held_link(en, h);
		events_channel_turn(h->channels, sizeof(h->channels),
		    jobs[i].turn_id, jobs[i].project_id);
		snprintf(h->turn_channel, sizeof(h->turn_channel), "t-%.36s",
		    jobs[i].turn_id);
		atomic_fetch_add(&en->n_claimed, 1);
		if (jobs[i].runs > 1)
			atomic_fetch_add(&en->n_taken_over, 1);
		/* The loop counts them, then starts them (job_done). */
		j->leased[j->got++] = h;
	}
	if (n > 0)
		log_msgf(LOG_LEVEL_DEBUG, "engine %s: %d turns claimed", en->owner, n);
}

/*
 * IO: extend the leases of the turns held now, and only those: a turn
 * given up (its database was gone) lets its lease run out.
 */
static void
io_renew(struct engine *en)
{
	struct db_conn	*conn = NULL;
	struct held	*h;
	struct buf	 ids;
	bs_err		 e;

	buf_init(&ids, (size_t)en->max_turns * 40 + 16);
	pthread_mutex_lock(&en->held_lock);
	e = buf_puts(&ids, "{");
	for (h = en->held; h != NULL && e == BS_OK; h = h->next)
		e = buf_printf(&ids, "%s%s", ids.len > 1 ? "," : "",
		    h->ops->id(h->turn));
	pthread_mutex_unlock(&en->held_lock);
	if (e == BS_OK)
		e = buf_puts(&ids, "}");
	if (e == BS_OK && (e = db_pool_checkout(en->app->db, &conn)) == BS_OK)
		e = db_turns_renew(conn, en->owner, buf_cstr(&ids),
		    en->app->cfg->turn_lease_s);
	db_pool_release(en->app->db, conn);
	buf_free(&ids);
	if (e != BS_OK)
		log_msgf(LOG_LEVEL_WARN, "engine %s: leases not renewed: %s",
		    en->owner, bs_strerror(e));
}

static void *
io_main(void *arg)
{
	struct engine	*en = arg;
	struct job	*j;

	for (;;) {
		pthread_mutex_lock(&en->io_lock);
		while (en->io.head == NULL && !en->stopping_io)
			pthread_cond_wait(&en->io_ready, &en->io_lock);
		/* Stopping: what waits stays for engine_stop to free. */
		j = en->stopping_io ? NULL : queue_pop(&en->io);
		pthread_mutex_unlock(&en->io_lock);
		if (j == NULL)
			break;
		switch (j->step) {
		case STEP_CLAIM:
			io_claim(en, j);
			break;
		case STEP_RENEW:
			io_renew(en);
			break;
		case STEP_BEGIN:
			j->held->ops->begin(j->held->turn);
			break;
		case STEP_MIDDLE:
			j->held->ops->middle(j->held->turn);
			break;
		case STEP_END:
			j->held->ops->end(j->held->turn);
			break;
		}
		inbox_post(en, j);
	}
	return NULL;
}

/* Loop: the channels whose time is up (all of them when stopping). */
static void
linger_run(struct engine *en, long long now, bool all)
{
	struct linger	*l;

	while ((l = en->linger_head) != NULL && (all || l->due_ms <= now)) {
		if ((en->linger_head = l->next) == NULL)
			en->linger_tail = NULL;
		events_close(en->app->events, l->channel);
		free(l);
	}
}

/* The turn is over: its own stream ends a little after its last event. */
static void
held_done(struct engine *en, struct held *h)
{
	struct linger	*l;

	if (!en->abandoning) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			events_close(en->app->events, h->turn_channel);
		else {
			l->due_ms = bs_monotonic_ms() + LINGER_MS;
			snprintf(l->channel, sizeof(l->channel), "%s",
			    h->turn_channel);
			if (en->linger_tail != NULL)
				en->linger_tail->next = l;
			else
				en->linger_head = l;
			en->linger_tail = l;
		}
	}
	held_free(h);
	en->running--;
	atomic_store(&en->n_running, en->running);
	atomic_fetch_add(&en->n_finished, 1);
}

static void stage_start(struct engine *en, struct held *h);

/* Loop: a stage's calls all ended (or were cut off). */
static void
stage_done(void *arg)
{
	struct held	*h = arg;
	struct engine	*en = h->en;
	bool		 after_a;

	if (en->abandoning) {
		held_done(en, h);
		return;
	}
	after_a = h->ops->stage_end(h->turn);
	if (io_post_step(en, after_a ? STEP_MIDDLE : STEP_END, h) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "engine %s: turn %s given up: out of "
		    "memory", en->owner, h->ops->id(h->turn));
		held_done(en, h);
	}
}

/* Loop: start the calls of the turn's current stage on the loop. */
static void
stage_start(struct engine *en, struct held *h)
{
	struct llm_call	*calls;
	long		 deadline_ms;
	size_t		 n;
	bs_err		 e;

	n = h->ops->calls(h->turn, &calls, &deadline_ms);
	if (n == 0) {
		stage_done(h);
		return;
	}
	if ((e = llm_loop_add(en->loop, calls, n, deadline_ms, stage_done, h,
	    NULL)) != BS_OK) {
		/* The calls did not start: each ends as an agent error. */
		log_msgf(LOG_LEVEL_ERROR, "engine %s: turn %s: calls not started: "
		    "%s", en->owner, h->ops->id(h->turn), bs_strerror(e));
		stage_done(h);
	}
}

/*
 * What a claim took off what is owed: a claim that found fewer jobs than it
 * wanted leaves nothing owed (a request that failed after engine_owner
 * queued nothing).
 */
static void
owed_settle(struct engine *en, int got, bool drained)
{
	long	 owed = atomic_load(&en->owed);

	while (!atomic_compare_exchange_weak(&en->owed, &owed,
	    drained || owed < got ? 0 : owed - got))
		;
}

/* Loop: what an IO thread finished. */
static void
job_done(struct engine *en, struct job *j)
{
	struct held	*h = j->held;
	int		 i;

	switch (j->step) {
	case STEP_CLAIM:
		en->claim_pending = false;
		en->running += j->got;
		atomic_store(&en->n_running, en->running);
		owed_settle(en, j->got, j->got < j->want);
		for (i = 0; i < j->got; i++) {
			if (en->abandoning)
				held_done(en, j->leased[i]);
			else if (io_post_step(en, STEP_BEGIN, j->leased[i]) != BS_OK)
				held_done(en, j->leased[i]);
		}
		/* A full claim: more may be waiting. */
		if (j->got == j->want)
			en->next_claim_ms = 0;
		break;
	case STEP_RENEW:
		en->renew_pending = false;
		break;
	case STEP_BEGIN:
	case STEP_MIDDLE:
		if (en->abandoning || h->ops->over(h->turn))
			held_done(en, h);
		else
			stage_start(en, h);
		break;
	case STEP_END:
		held_done(en, h);
		break;
	}
	free(j);
}

/* Loop: claims and renewals when they are due. */
static void
timers_run(struct engine *en, long long now)
{
	struct job	*j;
	int		 room = en->max_turns - (int)en->running;

	if (atomic_exchange(&en->notified, false))
		en->next_claim_ms = 0;
	linger_run(en, now, false);
	if (!atomic_load(&en->stopping) && !en->claim_pending && room > 0 &&
	    now >= en->next_claim_ms && (j = calloc(1, sizeof(*j))) != NULL) {
		j->step = STEP_CLAIM;
		j->want = room < CLAIM_MAX ? room : CLAIM_MAX;
		en->claim_pending = true;
		en->next_claim_ms = now + POLL_MS;
		io_post(en, j);
	}
	if (en->running > 0 && !en->renew_pending && now >= en->next_renew_ms &&
	    (j = calloc(1, sizeof(*j))) != NULL) {
		j->step = STEP_RENEW;
		en->renew_pending = true;
		en->next_renew_ms = now + en->app->cfg->turn_lease_s * 1000 / 3;
		io_post(en, j);
	}
}

/* The longest iteration of the last LAG_WINDOW_S, for /metrics. */
static void
lag_note(struct engine *en, long long began_us, long long now)
{
	long		 us;

	us = (long)(bs_clock_us(CLOCK_MONOTONIC) - began_us);
	if (us > en->lag_max_us)
		en->lag_max_us = us;
	if (now - en->lag_since_ms >= LAG_WINDOW_S * 1000) {
		atomic_store(&en->lag_us, en->lag_max_us);
		en->lag_max_us = 0;
		en->lag_since_ms = now;
	}
}

static void *
loop_main(void *arg)
{
	struct engine	*en = arg;
	struct job	*j;
	struct queue	 done;
	long long	 now, began_us;

	for (;;) {
		now = bs_monotonic_ms();
		if (atomic_load(&en->stopping)) {
			if (en->running == 0 && !en->claim_pending)
				break;
			if (!en->abandoning && now >= atomic_load(&en->grace_until_ms)) {
				log_msgf(LOG_LEVEL_WARN, "engine %s: %ld turns given "
				    "up at shutdown; their leases expire and "
				    "another engine runs them", en->owner,
				    en->running);
				en->abandoning = true;
				break;
			}
		}
		began_us = bs_clock_us(CLOCK_MONOTONIC);
		pthread_mutex_lock(&en->in_lock);
		done = en->inbox;
		en->inbox.head = en->inbox.tail = NULL;
		pthread_mutex_unlock(&en->in_lock);
		while ((j = queue_pop(&done)) != NULL)
			job_done(en, j);
		timers_run(en, now);
		lag_note(en, began_us, now);
		if (llm_loop_run(en->loop, LOOP_WAIT_MS) != BS_OK)
			log_msgf(LOG_LEVEL_ERROR, "engine %s: the event loop "
			    "failed; its calls ended as errors", en->owner);
	}
	return NULL;
}

bs_err
engine_start(struct app *app, struct engine **out)
{
	struct engine	*en;
	char		 host[64] = "host";
	unsigned char	 r[4];
	int		 i;
	bs_err		 e = BS_OK;

	*out = NULL;
	if ((en = calloc(1, sizeof(*en))) == NULL)
		return BS_ERR_NOMEM;
	en->app = app;
	en->max_turns = (int)app->cfg->engine_turns;
	gethostname(host, sizeof(host) - 1);
	randombytes_buf(r, sizeof(r));
	snprintf(en->owner, sizeof(en->owner), "%.60s:%ld:%02x%02x%02x%02x",
	    host, (long)getpid(), r[0], r[1], r[2], r[3]);
	pthread_mutex_init(&en->io_lock, NULL);
	pthread_mutex_init(&en->in_lock, NULL);
	pthread_mutex_init(&en->held_lock, NULL);
	pthread_cond_init(&en->io_ready, NULL);
	en->lag_since_ms = bs_monotonic_ms();
	if ((e = llm_loop_create(app->llm, (size_t)en->max_turns * CALLS_PER_TURN,
	    &en->loop)) != BS_OK)
		goto fail;
	if ((en->io_threads = calloc((size_t)app->cfg->engine_io_threads,
	    sizeof(pthread_t))) == NULL) {
		e = BS_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < app->cfg->engine_io_threads; i++) {
		if (server_thread_start(&en->io_threads[i], "bs-engine-io",
		    io_main, en) != 0) {
			e = BS_ERR_INTERNAL;
			goto fail;
		}
		en->nio++;
	}
	if (server_thread_start(&en->loop_thread, "bs-engine",
	    loop_main, en) != 0) {
		e = BS_ERR_INTERNAL;
		goto fail;
	}
	log_msgf(LOG_LEVEL_INFO, "turn engine %s: up to %d turns at once, %d IO "
	    "threads, leases of %ld s", en->owner, en->max_turns, en->nio,
	    app->cfg->turn_lease_s);
	*out = en;
	return BS_OK;
fail:
	pthread_mutex_lock(&en->io_lock);
	en->stopping_io = true;
	pthread_cond_broadcast(&en->io_ready);
	pthread_mutex_unlock(&en->io_lock);
	for (i = 0; i < en->nio; i++)
		pthread_join(en->io_threads[i], NULL);
	free(en->io_threads);
	llm_loop_destroy(en->loop);
	free(en);
	return e;
}

void
engine_stop(struct engine *en, int grace_ms)
{
	struct job	*j;
	int		 i;

	if (en == NULL)
		return;
	atomic_store(&en->grace_until_ms, bs_monotonic_ms() + grace_ms);
	atomic_store(&en->stopping, true);
	llm_loop_wakeup(en->loop);
	pthread_join(en->loop_thread, NULL);
	/* Each IO thread ends its step, whose answer waits in the inbox. */
	pthread_mutex_lock(&en->io_lock);
	en->stopping_io = true;
	pthread_cond_broadcast(&en->io_ready);
	pthread_mutex_unlock(&en->io_lock);
	for (i = 0; i < en->nio; i++)
		pthread_join(en->io_threads[i], NULL);
	/* Given up: the calls end, and no step of those turns runs again. */
	en->abandoning = true;
	llm_loop_destroy(en->loop);
	linger_run(en, 0, true);
	/* Steps that were waiting for an IO thread, and their answers. */
	while ((j = queue_pop(&en->io)) != NULL) {
		if (j->held != NULL)
			held_free(j->held);
		free(j);
	}
	while ((j = queue_pop(&en->inbox)) != NULL) {
		if (j->held != NULL && j->step != STEP_CLAIM && j->step != STEP_RENEW)
			held_free(j->held);
		while (j->step == STEP_CLAIM && j->got > 0)
			held_free(j->leased[--j->got]);
		free(j);
	}
	free(en->io_threads);
	pthread_cond_destroy(&en->io_ready);
	pthread_mutex_destroy(&en->in_lock);
	pthread_mutex_destroy(&en->held_lock);
	pthread_mutex_destroy(&en->io_lock);
	log_msgf(LOG_LEVEL_INFO, "turn engine %s stopped", en->owner);
	free(en);
}

void
engine_notify(struct engine *en)
{
	if (en == NULL)
		return;
	atomic_store(&en->notified, true);
	llm_loop_wakeup(en->loop);
}

void
engine_stats_get(struct engine *en, struct engine_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (en == NULL)
		return;
	out->running = atomic_load(&en->n_running);
	out->claimed = atomic_load(&en->n_claimed);
	out->finished = atomic_load(&en->n_finished);
	out->taken_over = atomic_load(&en->n_taken_over);
	out->loop_lag_s = (double)atomic_load(&en->lag_us) / 1e6;
}

const char *
engine_owner(struct engine *en)
{
	if (en == NULL || atomic_load(&en->stopping))
		return NULL;
	if (atomic_fetch_add(&en->owed, 1) + atomic_load(&en->n_running) >=
	    en->max_turns) {
		atomic_fetch_sub(&en->owed, 1);
		return NULL;
	}
	return en->owner;
}
