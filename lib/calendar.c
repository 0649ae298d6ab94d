/*
 * calendar.c - business-day tables and deadline arithmetic.
 *
 * cal_new() precomputes, for every day of CAL_FIRST_YEAR..CAL_LAST_YEAR,
 * its reason and name, the number of business days before it, the list of
 * business days by ordinal and the UTC instant of its last local second;
 * it also reads the UTC offset changes of the desk zone over the range
 * from GLib once. Every query afterwards is an array lookup (plus a binary
 * search over the offset changes, which is empty for Asia/Tokyo) and never
 * calls GLib.
 */
#include "calendar.h"
#include "jholiday.h"

#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CAL_FIRST_YEAR >= JHOL_FIRST_YEAR &&
		       CAL_LAST_YEAR <= JHOL_LAST_YEAR,
	       "the calendar range must be covered by jholiday");

#define SECONDS_PER_DAY 86400
/* Instants this far outside the day range are still looked up. */
#define INSTANT_MARGIN (2 * (int64_t)SECONDS_PER_DAY)
#define EXCERPT_MAX 40

static const struct cal_span default_closures[] = {
	{ 12, 29, 1, 3, "年末年始休業", "Year-end and New Year closure" },
};

#define GENERIC_HOLIDAY_JA "休日"
#define GENERIC_HOLIDAY_EN "Holiday"
#define GENERIC_CLOSURE_JA "休業日"
#define GENERIC_CLOSURE_EN "Office closure"

struct cal_name {
	char *ja;
	char *en;
};

/* From instant `from` on (UTC), local time is UTC + offset seconds. */
struct offset_change {
	int64_t from;
	int32_t offset;
};

struct cal {
	char *timezone;
	civil_day first_day;          /* CAL_FIRST_YEAR-01-01 */
	int32_t n_days;               /* days in the range; "index" = day - first_day */
	uint8_t *reason;              /* per index: enum cal_reason */
	uint16_t *name_of_day;        /* per index: into names, 0 = no name */
	struct cal_name *names;       /* names[0] is {NULL, NULL} */
	size_t n_names, cap_names;
	int32_t *business_before;     /* n_days + 1: business days with a smaller index */
	int32_t *business_days;       /* index of the k-th business day, k from 0 */
	int32_t n_business;
	int64_t *day_end;             /* per index: last UTC second of the local date */
	int32_t base_offset;          /* offset before the first change */
	struct offset_change *changes;
	size_t n_changes, cap_changes;
	int64_t instant_min, instant_max; /* instants whose offset is known */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

/* A printable, bounded copy of user text for one-line messages. */
static void excerpt(const char *text, char out[EXCERPT_MAX + 4])
{
	size_t i;

	for (i = 0; text[i] != '\0' && i < EXCERPT_MAX; i++)
		out[i] = iscntrl((unsigned char)text[i]) ? '?' : text[i];
	if (text[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static void format_ymd(civil_day day, char *buf, size_t len)
{
	int y, m, d;

	civil_to_ymd(day, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

static bool index_of(const struct cal *cal, civil_day day, int32_t *index)
{
	int64_t i = (int64_t)day - cal->first_day;

	if (i < 0 || i >= cal->n_days)
		return false;
	*index = (int32_t)i;
	return true;
}

/* Number of offset changes at or before t = index of t's offset interval. */
static size_t changes_until(const struct cal *cal, int64_t t)
{
	size_t lo = 0, hi = cal->n_changes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cal->changes[mid].from <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int32_t interval_offset(const struct cal *cal, size_t interval)
{
	return interval == 0 ? cal->base_offset
			     : cal->changes[interval - 1].offset;
}

static int32_t offset_at(const struct cal *cal, int64_t t)
{
	if (cal->n_changes == 0)
		return cal->base_offset;
	return interval_offset(cal, changes_until(cal, t));
}

static int local_index(const struct cal *cal, int64_t instant, int32_t *index)
{
	int64_t day;

	if (instant < cal->instant_min || instant > cal->instant_max)
		return TDK_ERANGE;
	day = floor_div(instant + offset_at(cal, instant), SECONDS_PER_DAY);
	if (day < cal->first_day || day - cal->first_day >= cal->n_days)
		return TDK_ERANGE;
	*index = (int32_t)(day - cal->first_day);
	return TDK_OK;
}

/*
 * The last instant whose local date is day or earlier: 23:59:59 local,
 * the later one if the clock goes back over it, or the last second before
 * a gap that swallows it. Intervals further than a day from the local end
 * of day cannot matter because offsets are below a day.
 */
static int64_t last_second_of(const struct cal *cal, civil_day day)
{
	int64_t local_end = ((int64_t)day + 1) * SECONDS_PER_DAY - 1;
	size_t first = changes_until(cal, local_end - SECONDS_PER_DAY);
	size_t last = changes_until(cal, local_end + SECONDS_PER_DAY);
	int64_t best = INT64_MIN;

	for (size_t k = first; k <= last; k++) {
		int64_t start = k == 0 ? INT64_MIN : cal->changes[k - 1].from;
		int64_t end = k == cal->n_changes ? INT64_MAX
						  : cal->changes[k].from - 1;
		int64_t candidate = local_end - interval_offset(cal, k);

		if (candidate > end)
			candidate = end;
		if (candidate >= start && candidate > best)
			best = candidate;
	}
	return best;
}

static int record_change(struct cal *cal, int64_t from, int32_t offset)
{
	int32_t previous = cal->n_changes == 0
				   ? cal->base_offset
				   : cal->changes[cal->n_changes - 1].offset;

	if (offset == previous)
		return TDK_OK;
	if (cal->n_changes == cal->cap_changes) {
		size_t cap = cal->cap_changes == 0 ? 64 : cal->cap_changes * 2;
		struct offset_change *grown =
			realloc(cal->changes, cap * sizeof *grown);

		if (grown == NULL)
			return TDK_ENOMEM;
		cal->changes = grown;
		cal->cap_changes = cap;
	}
	cal->changes[cal->n_changes].from = from;
	cal->changes[cal->n_changes].offset = offset;
	cal->n_changes++;
	return TDK_OK;
}

/*
 * Records, in time order, the offset changes in (lo, hi]. GLib numbers
 * its intervals in time order, so equal interval numbers at both ends
 * mean no transition in between; bisect until the transition second.
 */
static int find_changes(struct cal *cal, GTimeZone *tz, int64_t lo, int lo_iv,
			int64_t hi, int hi_iv)
{
	int64_t mid;
	int mid_iv, status;

	if (hi - lo == 1)
		return record_change(cal, hi, g_time_zone_get_offset(tz, hi_iv));
	mid = lo + (hi - lo) / 2;
	mid_iv = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, mid);
	if (mid_iv != lo_iv) {
		status = find_changes(cal, tz, lo, lo_iv, mid, mid_iv);
		if (status != TDK_OK)
			return status;
	}
	if (mid_iv != hi_iv)
		return find_changes(cal, tz, mid, mid_iv, hi, hi_iv);
	return TDK_OK;
}

/*
 * An IANA name such as "Asia/Tokyo" or "Etc/GMT-9": GLib would also read
 * an absolute path or a relative one with "..", which a rules file must
 * not be able to point at.
 */
static bool zone_name_valid(const char *name)
{
	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_-+", *p) == NULL)
			return false;
	return true;
}

static int load_zone(struct cal *cal, const char *name, tdk_err *err)
{
	GTimeZone *tz = NULL;
	int lo_iv, hi_iv, status;

	if (!zone_name_valid(name)) {
		char shown[EXCERPT_MAX + 4];

		excerpt(name, shown);
		status = tdk_err_set(err, TDK_EINVAL,
				     "time zone \"%s\" is not an IANA zone name",
				     shown);
		goto out;
	}
	tz = g_time_zone_new_identifier(name);
	if (tz == NULL) {
		char shown[EXCERPT_MAX + 4];

		excerpt(name, shown);
		status = tdk_err_set(err, TDK_EINVAL, "unknown time zone \"%s\"",
				     shown);
		goto out;
	}
	lo_iv = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL,
					  cal->instant_min);
	hi_iv = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL,
					  cal->instant_max);
	cal->base_offset = g_time_zone_get_offset(tz, lo_iv);
	status = TDK_OK;
	if (lo_iv != hi_iv)
		status = find_changes(cal, tz, cal->instant_min, lo_iv,
				      cal->instant_max, hi_iv);
	if (status != TDK_OK) {
		tdk_err_set(err, status, "time zone %s: out of memory", name);
		goto out;
	}
	for (size_t k = 0; k <= cal->n_changes; k++) {
		int32_t offset = interval_offset(cal, k);

		if (offset <= -SECONDS_PER_DAY || offset >= SECONDS_PER_DAY) {
			status = tdk_err_set(err, TDK_EINVAL,
					     "time zone %s: offset of a day or more",
					     name);
			goto out;
		}
	}
out:
	if (tz != NULL)
		g_time_zone_unref(tz);
	return status;
}

/* Index into cal->names of a copy of the pair, reusing an equal one. */
static int intern_name(struct cal *cal, const char *ja, const char *en,
		       uint16_t *index)
{
	char *ja_copy = NULL, *en_copy = NULL;
	int status;

	for (size_t i = 1; i < cal->n_names; i++) {
		if (strcmp(cal->names[i].ja, ja) == 0 &&
		    strcmp(cal->names[i].en, en) == 0) {
			*index = (uint16_t)i;
			return TDK_OK;
		}
	}
	if (cal->n_names > UINT16_MAX) {
		status = TDK_ELIMIT;
		goto out;
	}
	if (cal->n_names == cal->cap_names) {
		size_t cap = cal->cap_names * 2;
		struct cal_name *grown = realloc(cal->names, cap * sizeof *grown);

		if (grown == NULL) {
			status = TDK_ENOMEM;
			goto out;
		}
		cal->names = grown;
		cal->cap_names = cap;
	}
	ja_copy = strdup(ja);
	en_copy = strdup(en);
	if (ja_copy == NULL || en_copy == NULL) {
		status = TDK_ENOMEM;
		goto out;
	}
	cal->names[cal->n_names].ja = ja_copy;
	cal->names[cal->n_names].en = en_copy;
	*index = (uint16_t)cal->n_names++;
	ja_copy = en_copy = NULL;
	status = TDK_OK;
out:
	free(en_copy);
	free(ja_copy);
	return status;
}

static int mark_day(struct cal *cal, int32_t index, enum cal_reason reason,
		    const char *ja, const char *en)
{
	uint16_t name;
	int status = intern_name(cal, ja, en, &name);

	if (status != TDK_OK)
		return status;
	cal->reason[index] = (uint8_t)reason;
	cal->name_of_day[index] = name;
	return TDK_OK;
}

static bool span_valid(const struct cal_span *span)
{
	/* 2000 is a leap year, so 02-29 is allowed (it applies in leap years). */
	return span->from_month >= 1 && span->from_month <= 12 &&
	       span->to_month >= 1 && span->to_month <= 12 &&
	       span->from_day >= 1 &&
	       span->from_day <= civil_days_in_month(2000, span->from_month) &&
	       span->to_day >= 1 &&
	       span->to_day <= civil_days_in_month(2000, span->to_month);
}

static bool span_contains(const struct cal_span *span, int month, int day)
{
	int key = month * 100 + day;
	int from = span->from_month * 100 + span->from_day;
	int to = span->to_month * 100 + span->to_day;

	return from <= to ? key >= from && key <= to : key >= from || key <= to;
}

static int check_day(const struct cal *cal, const char *what, civil_day day,
		     tdk_err *err)
{
	char shown[32];
	int32_t index;

	if (index_of(cal, day, &index))
		return TDK_OK;
	format_ymd(day, shown, sizeof shown);
	return tdk_err_set(err, TDK_ERANGE, "calendar %s: %s is outside %d..%d",
			   what, shown, CAL_FIRST_YEAR, CAL_LAST_YEAR);
}

static int check_config(const struct cal *cal, const struct cal_config *cfg,
			tdk_err *err)
{
	int status = TDK_OK;

	if ((cfg->n_holiday_add > 0 && cfg->holiday_add == NULL) ||
	    (cfg->n_holiday_remove > 0 && cfg->holiday_remove == NULL) ||
	    (cfg->n_closure_spans > 0 && cfg->closure_spans == NULL) ||
	    (cfg->n_closure_days > 0 && cfg->closure_days == NULL))
		return tdk_err_set(err, TDK_EINVAL,
				   "calendar configuration: NULL list with a count");
	for (size_t i = 0; i < cfg->n_closure_spans; i++) {
		const struct cal_span *span = &cfg->closure_spans[i];

		if (!span_valid(span))
			return tdk_err_set(err, TDK_EINVAL,
					   "calendar closure span %02d-%02d..%02d-%02d is not a valid month-day range",
					   span->from_month, span->from_day,
					   span->to_month, span->to_day);
	}
	for (size_t i = 0; i < cfg->n_holiday_add && status == TDK_OK; i++)
		status = check_day(cal, "holiday addition",
				   cfg->holiday_add[i].day, err);
	for (size_t i = 0; i < cfg->n_holiday_remove && status == TDK_OK; i++)
		status = check_day(cal, "holiday removal",
				   cfg->holiday_remove[i], err);
	for (size_t i = 0; i < cfg->n_closure_days && status == TDK_OK; i++)
		status = check_day(cal, "closure date",
				   cfg->closure_days[i].day, err);
	return status;
}

static const char *or_default(const char *name, const char *fallback)
{
	return name != NULL ? name : fallback;
}

/* Storing names fails only for memory or more than 65535 names. */
static int names_error(tdk_err *err, int status)
{
	return tdk_err_set(err, status, "calendar names: %s",
			   tdk_strerror(status));
}

/* Recurring closure spans, then explicit closure dates. */
static int mark_closures(struct cal *cal, const struct cal_config *cfg)
{
	int status = TDK_OK;

	for (int32_t i = 0; i < cal->n_days && status == TDK_OK; i++) {
		int y, m, d;

		civil_to_ymd(cal->first_day + i, &y, &m, &d);
		for (size_t s = 0; s < cfg->n_closure_spans; s++) {
			const struct cal_span *span = &cfg->closure_spans[s];

			if (!span_contains(span, m, d))
				continue;
			status = mark_day(cal, i, CAL_CLOSURE,
					  or_default(span->name_ja, GENERIC_CLOSURE_JA),
					  or_default(span->name_en, GENERIC_CLOSURE_EN));
			break;
		}
	}
	for (size_t c = 0; c < cfg->n_closure_days && status == TDK_OK; c++) {
		const struct cal_named_day *closure = &cfg->closure_days[c];

		status = mark_day(cal, closure->day - cal->first_day, CAL_CLOSURE,
				  or_default(closure->name_ja, GENERIC_CLOSURE_JA),
				  or_default(closure->name_en, GENERIC_CLOSURE_EN));
	}
	return status;
}

/* The law's holidays less holiday_remove, then holiday_add. */
static int mark_holidays(struct cal *cal, const struct cal_config *cfg,
			 tdk_err *err)
{
	struct jhol_entry entries[JHOL_MAX_PER_YEAR];
	uint8_t *removed = NULL;
	int status = TDK_OK;

	removed = calloc((size_t)cal->n_days, 1);
	if (removed == NULL) {
		status = tdk_err_set(err, TDK_ENOMEM, "calendar: out of memory");
		goto out;
	}
	for (size_t r = 0; r < cfg->n_holiday_remove; r++)
		removed[cfg->holiday_remove[r] - cal->first_day] = 1;
	for (int year = CAL_FIRST_YEAR; year <= CAL_LAST_YEAR; year++) {
		size_t count = 0;

		status = jhol_year(year, entries, &count);
		if (status != TDK_OK) {
			tdk_err_set(err, status, "national holidays of %d: %s",
				    year, tdk_strerror(status));
			goto out;
		}
		for (size_t h = 0; h < count; h++) {
			const struct jhol_entry *holiday = &entries[h];
			int32_t index;

			if (!index_of(cal, holiday->day, &index) || removed[index])
				continue;
			status = mark_day(cal, index, CAL_HOLIDAY,
					  or_default(holiday->name_ja, GENERIC_HOLIDAY_JA),
					  or_default(holiday->name_en, GENERIC_HOLIDAY_EN));
			if (status != TDK_OK) {
				names_error(err, status);
				goto out;
			}
		}
	}
	for (size_t a = 0; a < cfg->n_holiday_add; a++) {
		const struct cal_named_day *holiday = &cfg->holiday_add[a];

		status = mark_day(cal, holiday->day - cal->first_day, CAL_HOLIDAY,
				  or_default(holiday->name_ja, GENERIC_HOLIDAY_JA),
				  or_default(holiday->name_en, GENERIC_HOLIDAY_EN));
		if (status != TDK_OK) {
			names_error(err, status);
			goto out;
		}
	}
out:
	free(removed);
	return status;
}

/* Reasons and names of every day: holiday over closure over weekend. */
static int fill_days(struct cal *cal, const struct cal_config *cfg,
		     tdk_err *err)
{
	int status;

	for (int32_t i = 0; i < cal->n_days; i++) {
		int weekday = civil_weekday(cal->first_day + i);
		bool weekend = weekday == CIVIL_SATURDAY ||
			       weekday == CIVIL_SUNDAY;

		cal->reason[i] = weekend ? CAL_WEEKEND : CAL_BUSINESS;
	}
	status = mark_closures(cal, cfg);
	if (status != TDK_OK)
		return names_error(err, status);
	return mark_holidays(cal, cfg, err);
}

static int fill_counts(struct cal *cal)
{
	int32_t k = 0;

	cal->business_before[0] = 0;
	for (int32_t i = 0; i < cal->n_days; i++)
		cal->business_before[i + 1] = cal->business_before[i] +
					      (cal->reason[i] == CAL_BUSINESS);
	cal->n_business = cal->business_before[cal->n_days];
	/* At least one element, so that an all-closed calendar still works. */
	cal->business_days = malloc(((size_t)cal->n_business + 1) *
				    sizeof *cal->business_days);
	if (cal->business_days == NULL)
		return TDK_ENOMEM;
	for (int32_t i = 0; i < cal->n_days; i++)
		if (cal->reason[i] == CAL_BUSINESS)
			cal->business_days[k++] = i;
	return TDK_OK;
}

void cal_config_default(struct cal_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->timezone = CAL_DEFAULT_TIMEZONE;
	cfg->closure_spans = default_closures;
	cfg->n_closure_spans = sizeof default_closures / sizeof default_closures[0];
}

int cal_new(const struct cal_config *cfg, struct cal **out, tdk_err *err)
{
	struct cal_config defaults;
	struct cal *cal = NULL;
	size_t n_days;
	int status;

	*out = NULL;
	if (cfg == NULL) {
		cal_config_default(&defaults);
		cfg = &defaults;
	}
	cal = calloc(1, sizeof *cal);
	if (cal == NULL) {
		status = tdk_err_set(err, TDK_ENOMEM, "calendar: out of memory");
		goto out;
	}
	cal->first_day = civil_from_ymd(CAL_FIRST_YEAR, 1, 1);
	cal->n_days = civil_from_ymd(CAL_LAST_YEAR, 12, 31) - cal->first_day + 1;
	cal->instant_min = (int64_t)cal->first_day * SECONDS_PER_DAY - INSTANT_MARGIN;
	cal->instant_max = ((int64_t)cal->first_day + cal->n_days) * SECONDS_PER_DAY +
			   INSTANT_MARGIN;
	status = check_config(cal, cfg, err);
	if (status != TDK_OK)
		goto out;
	n_days = (size_t)cal->n_days;
	cal->timezone = strdup(cfg->timezone != NULL ? cfg->timezone
						     : CAL_DEFAULT_TIMEZONE);
	cal->reason = calloc(n_days, sizeof *cal->reason);
	cal->name_of_day = calloc(n_days, sizeof *cal->name_of_day);
	cal->business_before = calloc(n_days + 1, sizeof *cal->business_before);
	cal->day_end = calloc(n_days, sizeof *cal->day_end);
	cal->cap_names = 64;
	cal->names = calloc(cal->cap_names, sizeof *cal->names);
	cal->n_names = 1;
	if (cal->timezone == NULL || cal->reason == NULL ||
	    cal->name_of_day == NULL || cal->business_before == NULL ||
	    cal->day_end == NULL || cal->names == NULL) {
		status = tdk_err_set(err, TDK_ENOMEM, "calendar: out of memory");
		goto out;
	}
	status = load_zone(cal, cal->timezone, err);
	if (status != TDK_OK)
		goto out;
	status = fill_days(cal, cfg, err);
	if (status != TDK_OK)
		goto out;
	status = fill_counts(cal);
	if (status != TDK_OK) {
		tdk_err_set(err, status, "calendar: out of memory");
		goto out;
	}
	for (int32_t i = 0; i < cal->n_days; i++)
		cal->day_end[i] = last_second_of(cal, cal->first_day + i);
	*out = cal;
	cal = NULL;
out:
	cal_free(cal);
	return status;
}

void cal_free(struct cal *cal)
{
	if (cal == NULL)
		return;
	free(cal->changes);
	free(cal->day_end);
	free(cal->business_days);
	free(cal->business_before);
	for (size_t i = 0; i < cal->n_names && cal->names != NULL; i++) {
		free(cal->names[i].en);
		free(cal->names[i].ja);
	}
	free(cal->names);
	free(cal->name_of_day);
	free(cal->reason);
	free(cal->timezone);
	free(cal);
}

const char *cal_timezone(const struct cal *cal)
{
	return cal->timezone;
}

int cal_day_info(const struct cal *cal, civil_day day,
		 struct cal_day_info *info)
{
	const struct cal_name *name;
	int32_t index;

	if (!index_of(cal, day, &index))
		return TDK_ERANGE;
	name = &cal->names[cal->name_of_day[index]];
	info->reason = (enum cal_reason)cal->reason[index];
	info->name_ja = name->ja;
	info->name_en = name->en;
	return TDK_OK;
}

bool cal_is_business_day(const struct cal *cal, civil_day day)
{
	int32_t index;

	return index_of(cal, day, &index) && cal->reason[index] == CAL_BUSINESS;
}

int cal_next_business_day(const struct cal *cal, civil_day day, civil_day *out)
{
	int32_t index, ordinal;

	if (!index_of(cal, day, &index))
		return TDK_ERANGE;
	ordinal = cal->business_before[index + 1];
	if (ordinal >= cal->n_business)
		return TDK_ERANGE;
	*out = cal->first_day + cal->business_days[ordinal];
	return TDK_OK;
}

int cal_business_days_between(const struct cal *cal, civil_day from,
			      civil_day to, int *count)
{
	int32_t from_index, to_index;

	if (!index_of(cal, from, &from_index) || !index_of(cal, to, &to_index))
		return TDK_ERANGE;
	if (from_index > to_index)
		return TDK_EINVAL;
	*count = cal->business_before[to_index + 1] -
		 cal->business_before[from_index];
	return TDK_OK;
}

int cal_year_holidays(const struct cal *cal, int year,
		      struct cal_named_day *out, size_t cap, size_t *count)
{
	int32_t first, last;
	size_t total = 0;

	if (year < CAL_FIRST_YEAR || year > CAL_LAST_YEAR)
		return TDK_ERANGE;
	first = civil_from_ymd(year, 1, 1) - cal->first_day;
	last = civil_from_ymd(year, 12, 31) - cal->first_day;
	for (int32_t i = first; i <= last; i++) {
		const struct cal_name *name;

		if (cal->reason[i] != CAL_HOLIDAY && cal->reason[i] != CAL_CLOSURE)
			continue;
		if (total < cap) {
			name = &cal->names[cal->name_of_day[i]];
			out[total].day = cal->first_day + i;
			out[total].name_ja = name->ja;
			out[total].name_en = name->en;
		}
		total++;
	}
	*count = total;
	return total > cap ? TDK_ELIMIT : TDK_OK;
}

static const struct {
	const char *text;
	enum cal_unit unit;
} unit_names[] = {
	{ "bd", CAL_BUSINESS_DAYS },
	{ "d", CAL_DAYS },
	{ "w", CAL_WEEKS },
	{ "M", CAL_MONTHS },
	{ "y", CAL_YEARS },
};

#define N_UNITS (sizeof unit_names / sizeof unit_names[0])

int cal_period_parse(const char *text, struct cal_period *out, tdk_err *err)
{
	char shown[EXCERPT_MAX + 4];
	const char *p = text;
	long count = 0;

	if (text == NULL)
		return tdk_err_set(err, TDK_EINVAL, "period: no text");
	if (*p == '\0')
		return tdk_err_set(err, TDK_ESYNTAX,
				   "empty period (expected a count and a unit, e.g. 20bd)");
	excerpt(text, shown);
	if (*p == '-' || *p == '+')
		return tdk_err_set(err, TDK_ESYNTAX,
				   "period \"%s\": the count must be a positive number without sign",
				   shown);
	if (!isdigit((unsigned char)*p))
		return tdk_err_set(err, TDK_ESYNTAX,
				   "period \"%s\": missing count before the unit",
				   shown);
	for (; isdigit((unsigned char)*p); p++)
		if (count <= CAL_PERIOD_MAX)
			count = count * 10 + (*p - '0');
	if (*p == '\0')
		return tdk_err_set(err, TDK_ESYNTAX,
				   "period \"%s\": missing unit (bd, d, w, M or y)",
				   shown);
	if (isspace((unsigned char)*p))
		return tdk_err_set(err, TDK_ESYNTAX,
				   "period \"%s\": spaces are not allowed", shown);
	for (size_t u = 0; u < N_UNITS; u++) {
		size_t len = strlen(unit_names[u].text);

		if (strncmp(p, unit_names[u].text, len) != 0)
			continue;
		if (p[len] != '\0')
			return tdk_err_set(err, TDK_ESYNTAX,
					   "period \"%s\": unexpected text after the unit",
					   shown);
		if (count == 0)
			return tdk_err_set(err, TDK_ERANGE,
					   "period \"%s\": the count must be at least 1",
					   shown);
		if (count > CAL_PERIOD_MAX)
			return tdk_err_set(err, TDK_ERANGE,
					   "period \"%s\": the count must not exceed %d",
					   shown, CAL_PERIOD_MAX);
		out->count = (int)count;
		out->unit = unit_names[u].unit;
		return TDK_OK;
	}
	return tdk_err_set(err, TDK_ESYNTAX,
			   "period \"%s\": unknown unit (expected bd, d, w, M or y)",
			   shown);
}

void cal_period_format(struct cal_period period, char *buf, size_t len)
{
	const char *unit = "?";

	for (size_t u = 0; u < N_UNITS; u++)
		if (unit_names[u].unit == period.unit)
			unit = unit_names[u].text;
	if (len > 0)
		snprintf(buf, len, "%d%s", period.count, unit);
}

static int add_months(const struct cal *cal, int32_t index, int64_t months,
		      int64_t *target)
{
	int y, m, d, new_month, last_day;
	int64_t total, new_year;

	civil_to_ymd(cal->first_day + index, &y, &m, &d);
	total = (int64_t)y * 12 + (m - 1) + months;
	new_year = total / 12;
	new_month = (int)(total % 12) + 1;
	if (new_year > CAL_LAST_YEAR)
		return TDK_ERANGE;
	last_day = civil_days_in_month((int)new_year, new_month);
	*target = civil_from_ymd((int)new_year, new_month, d < last_day ? d : last_day) -
		  cal->first_day;
	return TDK_OK;
}

int cal_add(const struct cal *cal, int64_t start, struct cal_period period,
	    int64_t *deadline)
{
	int32_t index;
	int64_t target;
	int status;

	if (period.count < 1 || period.count > CAL_PERIOD_MAX)
		return TDK_EINVAL;
	status = local_index(cal, start, &index);
	if (status != TDK_OK)
		return status;
	switch (period.unit) {
	case CAL_BUSINESS_DAYS:
		target = (int64_t)cal->business_before[index + 1] + period.count - 1;
		if (target >= cal->n_business)
			return TDK_ERANGE;
		target = cal->business_days[target];
		break;
	case CAL_DAYS:
		target = (int64_t)index + period.count;
		break;
	case CAL_WEEKS:
		target = (int64_t)index + 7 * (int64_t)period.count;
		break;
	case CAL_MONTHS:
		status = add_months(cal, index, period.count, &target);
		break;
	case CAL_YEARS:
		status = add_months(cal, index, 12 * (int64_t)period.count, &target);
		break;
	default:
		return TDK_EINVAL;
	}
	if (status != TDK_OK)
		return status;
	if (target >= cal->n_days)
		return TDK_ERANGE;
	*deadline = cal->day_end[target];
	return TDK_OK;
}

int cal_local_day(const struct cal *cal, int64_t instant, civil_day *out)
{
	int32_t index;
	int status = local_index(cal, instant, &index);

	if (status == TDK_OK)
		*out = cal->first_day + index;
	return status;
}

int cal_end_of_day(const struct cal *cal, civil_day day, int64_t *instant)
{
	int32_t index;

	if (!index_of(cal, day, &index))
		return TDK_ERANGE;
	*instant = cal->day_end[index];
	return TDK_OK;
}

int cal_parse_instant(const char *text, int64_t *out, tdk_err *err)
{
	char shown[EXCERPT_MAX + 4];
	int year, month, day, hour, minute, second;
	int offset_hours = 0, offset_minutes = 0, sign = 1;
	const char *zone, *end;

	if (text == NULL)
		return tdk_err_set(err, TDK_EINVAL, "instant: no text");
	excerpt(text, shown);
	/* Each check reads one character further only after the previous held. */
	if ((year = civil_parse_digits(text, 4)) < 0 || text[4] != '-' ||
	    (month = civil_parse_digits(text + 5, 2)) < 0 || text[7] != '-' ||
	    (day = civil_parse_digits(text + 8, 2)) < 0 || text[10] != 'T' ||
	    (hour = civil_parse_digits(text + 11, 2)) < 0 || text[13] != ':' ||
	    (minute = civil_parse_digits(text + 14, 2)) < 0 || text[16] != ':' ||
	    (second = civil_parse_digits(text + 17, 2)) < 0)
		return tdk_err_set(err, TDK_ESYNTAX,
				   "instant \"%s\": expected YYYY-MM-DDTHH:MM:SS followed by Z or an offset",
				   shown);
	zone = text + 19;
	if (*zone == 'Z') {
		end = zone + 1;
	} else if (*zone == '+' || *zone == '-') {
		sign = *zone == '-' ? -1 : 1;
		offset_hours = civil_parse_digits(zone + 1, 2);
		if (offset_hours >= 0 && zone[3] == ':') {
			offset_minutes = civil_parse_digits(zone + 4, 2);
			end = zone + 6;
		} else {
			offset_minutes = offset_hours >= 0 ? civil_parse_digits(zone + 3, 2) : -1;
			end = zone + 5;
		}
		if (offset_hours < 0 || offset_minutes < 0)
			return tdk_err_set(err, TDK_ESYNTAX,
					   "instant \"%s\": malformed offset (expected +HH:MM or +HHMM)",
					   shown);
	} else {
		return tdk_err_set(err, TDK_ESYNTAX,
				   "instant \"%s\": missing offset (Z, +HH:MM or +HHMM)",
				   shown);
	}
	if (*end != '\0')
		return tdk_err_set(err, TDK_ESYNTAX,
				   "instant \"%s\": unexpected text after the offset",
				   shown);
	if (!civil_valid_ymd(year, month, day))
		return tdk_err_set(err, TDK_ERANGE, "instant \"%s\": no such date",
				   shown);
	if (hour > 23 || minute > 59 || second > 59)
		return tdk_err_set(err, TDK_ERANGE, "instant \"%s\": no such time",
				   shown);
	if (offset_hours > 23 || offset_minutes > 59)
		return tdk_err_set(err, TDK_ERANGE,
				   "instant \"%s\": offset out of range", shown);
	*out = (int64_t)civil_from_ymd(year, month, day) * SECONDS_PER_DAY +
	       hour * 3600 + minute * 60 + second -
	       sign * (offset_hours * 3600 + offset_minutes * 60);
	return TDK_OK;
}

int cal_format_instant(const struct cal *cal, int64_t instant, char *buf,
		       size_t len)
{
	char text[CAL_INSTANT_LEN];
	int32_t index, offset, magnitude;
	int64_t seconds_of_day;
	int y, m, d, n, status;

	status = local_index(cal, instant, &index);
	if (status != TDK_OK)
		return status;
	offset = offset_at(cal, instant);
	magnitude = offset < 0 ? -offset : offset;
	seconds_of_day = instant + offset -
			 ((int64_t)cal->first_day + index) * SECONDS_PER_DAY;
	civil_to_ymd(cal->first_day + index, &y, &m, &d);
	n = snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		     y, m, d, (int)(seconds_of_day / 3600),
		     (int)(seconds_of_day / 60 % 60), (int)(seconds_of_day % 60),
		     offset < 0 ? '-' : '+', magnitude / 3600, magnitude / 60 % 60);
	/* Offsets with seconds (historic local mean times) keep them. */
	if (magnitude % 60 != 0)
		n += snprintf(text + n, sizeof text - (size_t)n, ":%02d",
			      magnitude % 60);
	if ((size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return TDK_EINVAL;
	}
	memcpy(buf, text, (size_t)n + 1);
	return TDK_OK;
}
