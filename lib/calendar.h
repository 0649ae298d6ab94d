/*
 * calendar.h - the desk's business calendar and deadline arithmetic.
 *
 * Owns: which days are business days (Monday-Friday, minus Japanese
 * national holidays from jholiday, minus recurring and explicit office
 * closures, with configured holiday additions and removals), the desk time
 * zone, and deadline periods ("20bd", "10d", "2w", "3M", "1y") added to
 * instants. Instants are int64 seconds since the Unix epoch, UTC; days are
 * civil_day numbers (see civil.h) naming local dates in the desk zone.
 *
 * A struct cal is built once by cal_new() for the whole supported range
 * CAL_FIRST_YEAR..CAL_LAST_YEAR and is immutable afterwards: every query
 * is a table lookup and the object may be shared between threads.
 *
 * When a day is non-business for several reasons, cal_day_info() reports
 * the first of: holiday, closure, weekend.
 */
#ifndef TODOKE_CALENDAR_H
#define TODOKE_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "civil.h"
#include "status.h"

#define CAL_FIRST_YEAR 1955
#define CAL_LAST_YEAR 2099
#define CAL_DEFAULT_TIMEZONE "Asia/Tokyo"
#define CAL_PERIOD_MAX 100000 /* largest count accepted in a period */
#define CAL_INSTANT_LEN 32    /* buffer size for cal_format_instant() */
#define CAL_PERIOD_LEN 16     /* buffer size for cal_period_format() */

struct cal_named_day {
	civil_day day;
	const char *name_ja;
	const char *name_en;
};

/* A closure recurring every year, inclusive; may wrap: 12-29..01-03. */
struct cal_span {
	int from_month, from_day, to_month, to_day;
	const char *name_ja;
	const char *name_en;
};

/*
 * What cal_new() reads. Names may be NULL (a generic name is used). A
 * holiday_add date that is already a holiday renames it; holiday_remove
 * applies to the built-in holidays only.
 */
struct cal_config {
	const char *timezone; /* IANA name (no paths); NULL = CAL_DEFAULT_TIMEZONE */
	const struct cal_named_day *holiday_add;
	size_t n_holiday_add;
	const civil_day *holiday_remove;
	size_t n_holiday_remove;
	const struct cal_span *closure_spans;
	size_t n_closure_spans;
	const struct cal_named_day *closure_days;
	size_t n_closure_days;
};

/* The desk default: Asia/Tokyo and the 12-29..01-03 year-end closure. */
void cal_config_default(struct cal_config *cfg);

struct cal;

/*
 * Builds a calendar; cfg NULL means cal_config_default(). Copies what it
 * keeps. Unknown time zone -> TDK_EINVAL; dates outside the range or
 * invalid spans -> TDK_ERANGE / TDK_EINVAL; messages in err.
 */
int cal_new(const struct cal_config *cfg, struct cal **out, tdk_err *err);
void cal_free(struct cal *cal); /* NULL is fine */
const char *cal_timezone(const struct cal *cal);

enum cal_reason { CAL_BUSINESS = 0, CAL_WEEKEND, CAL_HOLIDAY, CAL_CLOSURE };

/* Names are NULL for business days and weekends; owned by cal. */
struct cal_day_info {
	enum cal_reason reason;
	const char *name_ja;
	const char *name_en;
};

/* Days outside CAL_FIRST_YEAR-01-01..CAL_LAST_YEAR-12-31 -> TDK_ERANGE. */
int cal_day_info(const struct cal *cal, civil_day day,
		 struct cal_day_info *info);
bool cal_is_business_day(const struct cal *cal, civil_day day);
/* The first business day strictly after day. */
int cal_next_business_day(const struct cal *cal, civil_day day,
			  civil_day *out);
/* Business days in from..to, both ends included; from > to -> TDK_EINVAL. */
int cal_business_days_between(const struct cal *cal, civil_day from,
			      civil_day to, int *count);
/*
 * The holidays and closures of year in date order, one entry per day
 * (names as cal_day_info() gives them, owned by cal). *count is the total;
 * if it exceeds cap, the first cap entries are written and TDK_ELIMIT is
 * returned (out may be NULL when cap is 0).
 */
int cal_year_holidays(const struct cal *cal, int year,
		      struct cal_named_day *out, size_t cap, size_t *count);

enum cal_unit { CAL_BUSINESS_DAYS, CAL_DAYS, CAL_WEEKS, CAL_MONTHS, CAL_YEARS };

struct cal_period {
	int count; /* 1..CAL_PERIOD_MAX */
	enum cal_unit unit;
};

/* "20bd", "10d", "2w", "3M", "1y"; anything else is an error with a message. */
int cal_period_parse(const char *text, struct cal_period *out, tdk_err *err);
void cal_period_format(struct cal_period period, char *buf, size_t len);

/*
 * The deadline of a period starting at start: 23:59:59 local of
 *   bd   the count-th business day after the local date of start
 *        (that date itself never counts);
 *   d/w  the local date plus count (7 * count) days;
 *   M/y  the local date plus count (12 * count) months, the day clamped
 *        to the end of a shorter month.
 * TDK_ERANGE when start or the result leaves the supported range;
 * TDK_EINVAL for a count outside 1..CAL_PERIOD_MAX or an unknown unit.
 */
int cal_add(const struct cal *cal, int64_t start, struct cal_period period,
	    int64_t *deadline);

/* The local date of an instant in the desk zone. */
int cal_local_day(const struct cal *cal, int64_t instant, civil_day *out);
/*
 * The last second of a local date: 23:59:59, or the later of two when the
 * clock is set back over it, or for a date the zone skips altogether the
 * last second of the day before; TDK_ERANGE outside the range.
 */
int cal_end_of_day(const struct cal *cal, civil_day day, int64_t *instant);

/*
 * Strict ISO 8601 with an offset: YYYY-MM-DDTHH:MM:SS followed by Z,
 * +HH:MM or +HHMM (or -). No fractions, no spaces, no missing offset.
 */
int cal_parse_instant(const char *text, int64_t *out, tdk_err *err);
/*
 * Writes the instant in the desk zone with its offset, e.g.
 * "2026-10-22T23:59:59+09:00". TDK_EINVAL if buf is too small
 * (CAL_INSTANT_LEN always suffices), TDK_ERANGE if the local date is
 * outside the range.
 */
int cal_format_instant(const struct cal *cal, int64_t instant, char *buf,
		       size_t len);

#endif
