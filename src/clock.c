#include "config.h"

#include "brainstorm/clock.h"

long long
bs_clock_us(clockid_t id)
{
	struct timespec	 ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long
bs_clock_ms(clockid_t id)
{
	return bs_clock_us(id) / 1000;
}

long long
bs_monotonic_ms(void)
{
	return bs_clock_us(CLOCK_MONOTONIC) / 1000;
}

double
bs_monotonic_s(void)
{
	return (double)bs_clock_us(CLOCK_MONOTONIC) / 1e6;
}
