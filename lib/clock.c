/*
 * clock.c - the injectable clock; the one place that reads wall time.
 */
#include "clock.h"

#include <time.h>

void tdk_clock_init_system(struct tdk_clock *clock)
{
	clock->fixed = 0;
	clock->fixed_now = 0;
}

void tdk_clock_init_fixed(struct tdk_clock *clock, int64_t now)
{
	clock->fixed = 1;
	clock->fixed_now = now;
}

void tdk_clock_advance(struct tdk_clock *clock, int64_t seconds)
{
	if (clock->fixed)
		clock->fixed_now += seconds;
}

int64_t tdk_clock_now(const struct tdk_clock *clock)
{
	struct timespec ts;

	if (clock->fixed)
		return clock->fixed_now;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}
