/*
 * Slots: a counting semaphore on a mutex and a condition variable, whose
 * timed wait runs on the monotonic clock (a change of the wall clock does
 * not cut it short or stretch it).
 */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "brainstorm/slots.h"

void
slots_init(struct slots *s, long cap)
{
	pthread_condattr_t	 attr;

	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->freed, &attr);
	pthread_condattr_destroy(&attr);
	s->cap = cap < 1 ? 1 : cap;
	s->busy = 0;
}

void
slots_destroy(struct slots *s)
{
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
}

void
slots_take(struct slots *s)
{
	pthread_mutex_lock(&s->lock);
	while (s->busy >= s->cap)
		pthread_cond_wait(&s->freed, &s->lock);
	s->busy++;
	pthread_mutex_unlock(&s->lock);
}

bool
slots_take_within(struct slots *s, long wait_ms)
{
	struct timespec	 until;
	bool		 taken = false;
	int		 rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->busy >= s->cap && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->freed, &s->lock, &until);
	if (s->busy < s->cap) {
		s->busy++;
		taken = true;
	}
	pthread_mutex_unlock(&s->lock);
	return taken;
}

void
slots_give(struct slots *s)
{
	pthread_mutex_lock(&s->lock);
	s->busy--;
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}
