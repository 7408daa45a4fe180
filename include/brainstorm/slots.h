/*
 * Slots: at most cap holders at once of something costly in this process
 * (memory or a core), for the threads of one worker. A thread takes a slot
 * before the work and gives it back after; the others wait their turn, or
 * give up after a while and answer that the server is busy.
 */
#ifndef BRAINSTORM_SLOTS_H
#define BRAINSTORM_SLOTS_H

#include <pthread.h>
#include <stdbool.h>

struct slots {
	pthread_mutex_t	 lock;
	pthread_cond_t	 freed;	/* on the monotonic clock */
	long		 cap;
	long		 busy;
};

/* cap of at least 1. */
void	slots_init(struct slots *s, long cap);
void	slots_destroy(struct slots *s);
/* Wait for a slot, however long. */
void	slots_take(struct slots *s);
/* Wait up to wait_ms for a slot: false when none came free. */
bool	slots_take_within(struct slots *s, long wait_ms);
void	slots_give(struct slots *s);

#endif
