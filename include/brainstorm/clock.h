/*
 * Clocks, read one way (src/clock.c): CLOCK_MONOTONIC for durations,
 * timers and deadlines, CLOCK_REALTIME for dates.
 */
#ifndef BRAINSTORM_CLOCK_H
#define BRAINSTORM_CLOCK_H

#include <time.h>

long long	 bs_clock_us(clockid_t id);	/* microseconds */
long long	 bs_clock_ms(clockid_t id);	/* milliseconds */
long long	 bs_monotonic_ms(void);		/* CLOCK_MONOTONIC, milliseconds */
double		 bs_monotonic_s(void);		/* CLOCK_MONOTONIC, seconds */

#endif
