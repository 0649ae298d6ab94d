/*
 * fuzz_calendar.c - libFuzzer harness for the period, date and instant
 * parsers of the business calendar (cal_period_parse, civil_parse,
 * cal_parse_instant) and the deadline arithmetic they feed.
 *
 * The input, up to its first NUL, is given to each parser whole, and
 * split at its first space into "INSTANT PERIOD" for cal_add(). A crash
 * is any of:
 *   - a refusal without an error text;
 *   - a parsed period, date or instant that does not print back to text
 *     parsing to the same value;
 *   - a deadline that is not later than its start, or (in Asia/Tokyo,
 *     which has no clock changes) not at 23:59:59 local.
 * Deadlines are also computed in America/New_York, whose clock changes
 * exercise the offset tables.
 */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cal *calendar(const char *zone)
{
	struct cal_config cfg;
	struct cal *cal = NULL;
	tdk_err err;

	cal_config_default(&cfg);
	cfg.timezone = zone;
	if (cal_new(&cfg, &cal, &err) != TDK_OK)
		abort();
	return cal;
}

static void check_period(const char *text)
{
	struct cal_period p, back;
	char buf[CAL_PERIOD_LEN];
	tdk_err err = { 0 };

	if (cal_period_parse(text, &p, &err) != TDK_OK) {
		if (err.text[0] == '\0')
			__builtin_trap();
		return;
	}
	if (p.count < 1 || p.count > CAL_PERIOD_MAX)
		__builtin_trap();
	cal_period_format(p, buf, sizeof buf);
	if (cal_period_parse(buf, &back, &err) != TDK_OK ||
	    back.count != p.count || back.unit != p.unit)
		__builtin_trap();
}

static void check_date(const char *text)
{
	civil_day day, back;
	char buf[11];

	if (civil_parse(text, &day) != 0)
		return;
	civil_format(day, buf);
	if (civil_parse(buf, &back) != 0 || back != day)
		__builtin_trap();
}

static void check_instant(const struct cal *cal, const char *text)
{
	char buf[CAL_INSTANT_LEN];
	int64_t t, back;
	tdk_err err = { 0 };

	if (cal_parse_instant(text, &t, &err) != TDK_OK) {
		if (err.text[0] == '\0')
			__builtin_trap();
		return;
	}
	if (cal_format_instant(cal, t, buf, sizeof buf) != TDK_OK)
		return; /* outside the calendar's range */
	if (cal_parse_instant(buf, &back, &err) != TDK_OK || back != t)
		__builtin_trap();
}

static void check_deadline(const struct cal *cal, const char *start_text,
			   const char *period_text, bool fixed_offset)
{
	struct cal_period period;
	char buf[CAL_INSTANT_LEN];
	int64_t start, deadline;
	tdk_err err;

	if (cal_parse_instant(start_text, &start, &err) != TDK_OK ||
	    cal_period_parse(period_text, &period, &err) != TDK_OK ||
	    cal_add(cal, start, period, &deadline) != TDK_OK)
		return;
	if (deadline <= start)
		__builtin_trap();
	if (fixed_offset &&
	    (cal_format_instant(cal, deadline, buf, sizeof buf) != TDK_OK ||
	     strncmp(buf + 10, "T23:59:59", 9) != 0))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cal *tokyo, *new_york;
	char *text = g_strndup((const char *)data, size), *space;

	if (tokyo == NULL) {
		tokyo = calendar("Asia/Tokyo");
		new_york = calendar("America/New_York");
	}
	check_period(text);
	check_date(text);
	check_instant(tokyo, text);
	check_instant(new_york, text);
	space = strchr(text, ' ');
	if (space != NULL) {
		*space = '\0';
		check_deadline(tokyo, text, space + 1, true);
		check_deadline(new_york, text, space + 1, false);
	}
	g_free(text);
	return 0;
}
