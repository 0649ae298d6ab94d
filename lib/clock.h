/*
 * clock.h - the injectable clock.
 *
 * Owns: the only path by which todoke reads the current time. Rules and
 * daemons take a tdk_clock; tests and `--now` use a fixed clock, so a case
 * can be walked across months in milliseconds. Nothing else in todoke may
 * call time(), gettimeofday() or clock_gettime(CLOCK_REALTIME); a test
 * enforces this.
 */
#ifndef TODOKE_CLOCK_H
#define TODOKE_CLOCK_H

#include <stdint.h>

struct tdk_clock {
	int fixed;      /* nonzero: always answer fixed_now */
	int64_t fixed_now; /* seconds since the Unix epoch, UTC */
};

/* The wall clock. */
void tdk_clock_init_system(struct tdk_clock *clock);
/* A clock that always answers now (seconds since the epoch, UTC). */
void tdk_clock_init_fixed(struct tdk_clock *clock, int64_t now);
/* Moves a fixed clock forward (tests); no effect on the system clock. */
void tdk_clock_advance(struct tdk_clock *clock, int64_t seconds);
/* Seconds since the epoch, UTC. */
int64_t tdk_clock_now(const struct tdk_clock *clock);

#endif
