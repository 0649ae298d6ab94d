/*
 * bench_calendar.c - benchmark of cal_add(20bd) (lib/calendar) against a
 * naive baseline that walks day by day asking civil_weekday, the closure
 * rule and jhol_lookup, converting time zones through GLib on every call.
 *
 * Usage: bench_calendar [CALLS]   (default 1000000)
 * Starts are random (fixed seed) over 2000-01-01..2090-12-31, desk default
 * configuration (Asia/Tokyo, closure 12-29..01-03). Exits 1 if the two
 * implementations disagree on any input, 2 on setup failure.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "calendar.h"
#include "jholiday.h"

#define DEFAULT_CALLS 1000000
#define PERIOD_BD 20
#define SEED UINT64_C(0x746f646f6b65) /* "todoke" */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

/* The desk default closure, 12-29..01-03, spelled out. */
static bool naive_closed(civil_day day)
{
	int y, m, d;

	civil_to_ymd(day, &y, &m, &d);
	return (m == 12 && d >= 29) || (m == 1 && d <= 3);
}

static bool naive_business_day(civil_day day)
{
	int weekday = civil_weekday(day);

	if (weekday == CIVIL_SATURDAY || weekday == CIVIL_SUNDAY)
		return false;
	if (naive_closed(day))
		return false;
	return jhol_lookup(day, NULL) == 0;
}

/* Baseline: the rule as written, no tables, GLib for both conversions. */
static int naive_add_bd(GTimeZone *tz, int64_t start, int count,
			int64_t *deadline)
{
	int interval = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, start);
	int64_t local = start + g_time_zone_get_offset(tz, interval);
	civil_day day = (civil_day)floor_div(local, 86400);
	gint64 local_end;

	if (!jhol_in_range(day))
		return TDK_ERANGE;
	while (count > 0) {
		day++;
		if (!jhol_in_range(day))
			return TDK_ERANGE;
		if (naive_business_day(day))
			count--;
	}
	local_end = (gint64)day * 86400 + 86399;
	interval = g_time_zone_adjust_time(tz, G_TIME_TYPE_STANDARD, &local_end);
	*deadline = local_end - g_time_zone_get_offset(tz, interval);
	return TDK_OK;
}

int main(int argc, char **argv)
{
	struct cal_period period = { PERIOD_BD, CAL_BUSINESS_DAYS };
	int64_t *starts = NULL, *fast = NULL, *naive = NULL;
	int64_t first, span;
	struct cal *cal = NULL;
	GTimeZone *tz = NULL;
	tdk_err err = { "" };
	uint64_t seed = SEED;
	size_t calls = DEFAULT_CALLS, mismatches = 0, errors = 0;
	double t0, build_ns, fast_ns, naive_ns;
	int status = 2;

	if (argc > 1) {
		calls = (size_t)strtoull(argv[1], NULL, 10);
		if (calls == 0) {
			fprintf(stderr, "usage: %s [CALLS]\n", argv[0]);
			goto out;
		}
	}
	starts = malloc(calls * sizeof *starts);
	fast = malloc(calls * sizeof *fast);
	naive = malloc(calls * sizeof *naive);
	tz = g_time_zone_new_identifier(CAL_DEFAULT_TIMEZONE);
	if (starts == NULL || fast == NULL || naive == NULL || tz == NULL) {
		fprintf(stderr, "bench_calendar: setup failed\n");
		goto out;
	}
	t0 = now_ns();
	if (cal_new(NULL, &cal, &err) != TDK_OK) {
		fprintf(stderr, "bench_calendar: cal_new: %s\n", err.text);
		goto out;
	}
	build_ns = now_ns() - t0;

	first = (int64_t)civil_from_ymd(2000, 1, 1) * 86400;
	span = (int64_t)civil_from_ymd(2091, 1, 1) * 86400 - first;
	for (size_t i = 0; i < calls; i++)
		starts[i] = first + (int64_t)(splitmix64(&seed) % (uint64_t)span);

	t0 = now_ns();
	for (size_t i = 0; i < calls; i++)
		if (cal_add(cal, starts[i], period, &fast[i]) != TDK_OK)
			fast[i] = -1;
	fast_ns = (now_ns() - t0) / (double)calls;

	t0 = now_ns();
	for (size_t i = 0; i < calls; i++)
		if (naive_add_bd(tz, starts[i], PERIOD_BD, &naive[i]) != TDK_OK)
			naive[i] = -1;
	naive_ns = (now_ns() - t0) / (double)calls;

	for (size_t i = 0; i < calls; i++) {
		errors += fast[i] == -1;
		if (fast[i] != naive[i]) {
			if (mismatches++ < 5)
				fprintf(stderr, "mismatch: start %" PRId64 ": cal_add %" PRId64
					", naive %" PRId64 "\n", starts[i], fast[i], naive[i]);
		}
	}

	printf("calendar benchmark: %zu x add %dbd, %s, starts 2000..2090, seed %#" PRIx64 "\n",
	       calls, PERIOD_BD, CAL_DEFAULT_TIMEZONE, (uint64_t)SEED);
	printf("%-34s %12s\n", "implementation", "ns/call");
	printf("%-34s %12.1f\n", "cal_add (precomputed tables)", fast_ns);
	printf("%-34s %12.1f\n", "naive (day walk, GTimeZone)", naive_ns);
	printf("%-34s %12.1f\n", "ratio naive/cal_add", naive_ns / fast_ns);
	printf("%-34s %12.1f\n", "cal_new build time (ms)", build_ns / 1e6);
	printf("%-34s %12zu\n", "identical results", calls - mismatches);
	printf("%-34s %12zu\n", "range errors (both)", errors);
	status = mismatches == 0 ? 0 : 1;
	if (mismatches != 0)
		fprintf(stderr, "bench_calendar: %zu mismatches\n", mismatches);
out:
	cal_free(cal);
	if (tz != NULL)
		g_time_zone_unref(tz);
	free(naive);
	free(fast);
	free(starts);
	return status;
}
