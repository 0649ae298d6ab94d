/*
 * test_calendar.c - unit tests of lib/calendar (business days, periods,
 * instants), against the real Japanese holidays of lib/jholiday.
 *
 * Every expected value below was worked out by hand from a wall calendar;
 * the comments give the counting so that it can be checked again.
 * 2026: Jan 1 Thu, Feb 1 Sun, Mar 1 Sun, Apr 1 Wed, May 1 Fri, Jun 1 Mon,
 * Jul 1 Wed, Aug 1 Sat, Sep 1 Tue, Oct 1 Thu, Nov 1 Sun, Dec 1 Tue;
 * 2027-01-01 is a Friday.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "calendar.h"

struct fixture {
	struct cal *tokyo;     /* default configuration */
	struct cal *new_york;  /* default closures, America/New_York */
};

static civil_day ymd(int year, int month, int day)
{
	return civil_from_ymd(year, month, day);
}

static int64_t instant(const char *text)
{
	tdk_err err = { "" };
	int64_t value = 0;

	assert_int_equal(cal_parse_instant(text, &value, &err), TDK_OK);
	return value;
}

/* Formats start + period in the zone of cal and compares with expected. */
static void check_add(const struct cal *cal, const char *start,
		      const char *period_text, const char *expected)
{
	struct cal_period period;
	char text[CAL_INSTANT_LEN];
	int64_t deadline = 0;

	assert_int_equal(cal_period_parse(period_text, &period, NULL), TDK_OK);
	assert_int_equal(cal_add(cal, instant(start), period, &deadline), TDK_OK);
	assert_int_equal(cal_format_instant(cal, deadline, text, sizeof text),
			 TDK_OK);
	if (strcmp(text, expected) != 0)
		fail_msg("%s + %s: got %s, expected %s", start, period_text,
			 text, expected);
}

static void check_add_fails(const struct cal *cal, const char *start,
			    const char *period_text, int expected_status)
{
	struct cal_period period;
	int64_t deadline = 0;

	assert_int_equal(cal_period_parse(period_text, &period, NULL), TDK_OK);
	assert_int_equal(cal_add(cal, instant(start), period, &deadline),
			 expected_status);
}

static void check_reason(const struct cal *cal, civil_day day,
			 enum cal_reason reason, const char *name_ja)
{
	struct cal_day_info info;

	assert_int_equal(cal_day_info(cal, day, &info), TDK_OK);
	assert_int_equal(info.reason, reason);
	assert_int_equal(cal_is_business_day(cal, day), reason == CAL_BUSINESS);
	if (name_ja == NULL) {
		assert_null(info.name_ja);
		assert_null(info.name_en);
	} else {
		assert_string_equal(info.name_ja, name_ja);
		assert_non_null(info.name_en);
	}
}

static int group_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	struct cal_config cfg;
	tdk_err err = { "" };

	if (fx == NULL)
		return -1;
	*state = fx;
	if (cal_new(NULL, &fx->tokyo, &err) != TDK_OK)
		return -1;
	cal_config_default(&cfg);
	cfg.timezone = "America/New_York";
	if (cal_new(&cfg, &fx->new_york, &err) != TDK_OK)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx != NULL) {
		cal_free(fx->new_york);
		cal_free(fx->tokyo);
		free(fx);
	}
	return 0;
}

static void test_weekends(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	check_reason(cal, ymd(2026, 9, 18), CAL_BUSINESS, NULL);   /* Fri */
	check_reason(cal, ymd(2026, 9, 19), CAL_WEEKEND, NULL);    /* Sat */
	check_reason(cal, ymd(2026, 9, 20), CAL_WEEKEND, NULL);    /* Sun */
	check_reason(cal, ymd(2026, 9, 24), CAL_BUSINESS, NULL);   /* Thu */
	check_reason(cal, ymd(2026, 6, 6), CAL_WEEKEND, NULL);     /* Sat */
	check_reason(cal, ymd(2026, 6, 8), CAL_BUSINESS, NULL);    /* Mon */
}

static void test_holidays(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	/* Silver Week 2026: Mon 21 敬老の日, Tue 22 sandwiched, Wed 23 秋分. */
	check_reason(cal, ymd(2026, 9, 21), CAL_HOLIDAY, "敬老の日");
	check_reason(cal, ymd(2026, 9, 22), CAL_HOLIDAY, "国民の休日");
	check_reason(cal, ymd(2026, 9, 23), CAL_HOLIDAY, "秋分の日");
	/* Golden Week 2026: 5/3 falls on Sunday, so 5/6 is the substitute. */
	check_reason(cal, ymd(2026, 4, 29), CAL_HOLIDAY, "昭和の日");
	check_reason(cal, ymd(2026, 4, 30), CAL_BUSINESS, NULL);
	check_reason(cal, ymd(2026, 5, 1), CAL_BUSINESS, NULL);
	check_reason(cal, ymd(2026, 5, 2), CAL_WEEKEND, NULL);
	check_reason(cal, ymd(2026, 5, 3), CAL_HOLIDAY, "憲法記念日");
	check_reason(cal, ymd(2026, 5, 4), CAL_HOLIDAY, "みどりの日");
	check_reason(cal, ymd(2026, 5, 5), CAL_HOLIDAY, "こどもの日");
	check_reason(cal, ymd(2026, 5, 6), CAL_HOLIDAY, "振替休日");
	check_reason(cal, ymd(2026, 5, 7), CAL_BUSINESS, NULL);
	check_reason(cal, ymd(2026, 1, 12), CAL_HOLIDAY, "成人の日");
}

static void test_year_end_closure(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	check_reason(cal, ymd(2026, 12, 28), CAL_BUSINESS, NULL);  /* Mon */
	check_reason(cal, ymd(2026, 12, 29), CAL_CLOSURE, "年末年始休業");
	check_reason(cal, ymd(2026, 12, 30), CAL_CLOSURE, "年末年始休業");
	check_reason(cal, ymd(2026, 12, 31), CAL_CLOSURE, "年末年始休業");
	/* A holiday inside the closure is reported as the holiday. */
	check_reason(cal, ymd(2027, 1, 1), CAL_HOLIDAY, "元日");
	/* Closure takes precedence over the weekend (Sat, Sun). */
	check_reason(cal, ymd(2027, 1, 2), CAL_CLOSURE, "年末年始休業");
	check_reason(cal, ymd(2027, 1, 3), CAL_CLOSURE, "年末年始休業");
	check_reason(cal, ymd(2027, 1, 4), CAL_BUSINESS, NULL);   /* Mon */
	check_reason(cal, ymd(2026, 1, 2), CAL_CLOSURE, "年末年始休業");  /* Fri */
	check_reason(cal, ymd(2026, 1, 5), CAL_BUSINESS, NULL);   /* Mon */
}

static void test_config_overrides(void **state)
{
	char founding_ja[] = "創立記念日";
	const struct cal_span spans[] = {
		{ 12, 29, 1, 3, "年末年始休業", "Year-end closure" },
		{ 8, 13, 8, 14, NULL, NULL }, /* unnamed: generic names */
	};
	const struct cal_named_day closures[] = {
		{ ymd(2026, 10, 2), founding_ja, "Founding day" }, /* Fri */
	};
	const struct cal_named_day added[] = {
		{ ymd(2026, 7, 21), "新しい祝日", "New holiday" },  /* Tue */
		{ ymd(2026, 11, 3), "改名された祝日", "Renamed" },   /* was 文化の日 */
	};
	const civil_day removed[] = { ymd(2026, 9, 22) };
	struct cal_config cfg = {
		.timezone = "Asia/Tokyo",
		.holiday_add = added, .n_holiday_add = 2,
		.holiday_remove = removed, .n_holiday_remove = 1,
		.closure_spans = spans, .n_closure_spans = 2,
		.closure_days = closures, .n_closure_days = 1,
	};
	struct cal_day_info info;
	struct cal *cal = NULL;
	tdk_err err = { "" };
	civil_day next;

	(void)state;
	assert_int_equal(cal_new(&cfg, &cal, &err), TDK_OK);
	/* cal_new copied the names. */
	founding_ja[0] = 'X';
	check_reason(cal, ymd(2026, 10, 2), CAL_CLOSURE, "創立記念日");
	check_reason(cal, ymd(2026, 10, 1), CAL_BUSINESS, NULL);
	check_reason(cal, ymd(2026, 7, 21), CAL_HOLIDAY, "新しい祝日");
	check_reason(cal, ymd(2026, 11, 3), CAL_HOLIDAY, "改名された祝日");
	/* Removing the 国民の休日 makes Tuesday 9/22 a business day again. */
	check_reason(cal, ymd(2026, 9, 22), CAL_BUSINESS, NULL);
	check_reason(cal, ymd(2026, 9, 21), CAL_HOLIDAY, "敬老の日");
	/* Non-wrapping span 08-13..08-14 (Thu, Fri), generic names. */
	assert_int_equal(cal_day_info(cal, ymd(2026, 8, 13), &info), TDK_OK);
	assert_int_equal(info.reason, CAL_CLOSURE);
	assert_non_null(info.name_ja);
	assert_non_null(info.name_en);
	check_reason(cal, ymd(2026, 8, 14), CAL_CLOSURE, info.name_ja);
	check_reason(cal, ymd(2026, 8, 12), CAL_BUSINESS, NULL);
	check_reason(cal, ymd(2026, 12, 29), CAL_CLOSURE, "年末年始休業");
	assert_int_equal(cal_next_business_day(cal, ymd(2026, 9, 18), &next),
			 TDK_OK);
	assert_int_equal(next, ymd(2026, 9, 22));
	/* Each deadline differs from the default calendar's (in brackets). */
	check_add(cal, "2026-09-18T10:00:00+09:00", "1bd",
		  "2026-09-22T23:59:59+09:00"); /* [9/24] */
	/* 9/22 (1), 9/24 (2), 9/25 (3), 9/28-10/1 (4-7); [10/2] */
	check_add(cal, "2026-09-18T10:00:00+09:00", "7bd",
		  "2026-10-01T23:59:59+09:00");
	check_add(cal, "2026-10-01T10:00:00+09:00", "1bd",
		  "2026-10-05T23:59:59+09:00"); /* [10/2] */
	check_add(cal, "2026-07-20T10:00:00+09:00", "1bd",
		  "2026-07-22T23:59:59+09:00"); /* [7/21] */
	check_add(cal, "2026-08-12T10:00:00+09:00", "1bd",
		  "2026-08-17T23:59:59+09:00"); /* [8/13] */
	cal_free(cal);
}

static void test_bad_configs(void **state)
{
	const struct cal_span bad_span[] = { { 2, 30, 3, 1, NULL, NULL } };
	const struct cal_named_day late[] = { { ymd(2100, 1, 1), "x", "x" } };
	struct cal_config cfg;
	struct cal *cal = (struct cal *)0x1;
	tdk_err err = { "" };

	(void)state;
	cal_config_default(&cfg);
	cfg.timezone = "Asia/Tokio";
	assert_int_equal(cal_new(&cfg, &cal, &err), TDK_EINVAL);
	assert_null(cal);
	assert_non_null(strstr(err.text, "Asia/Tokio"));

	cfg.timezone = "";
	assert_int_equal(cal_new(&cfg, &cal, &err), TDK_EINVAL);
	assert_null(cal);
	/* GLib would read these as files; only zone names are accepted. */
	cfg.timezone = "/usr/share/zoneinfo/Asia/Tokyo";
	assert_int_equal(cal_new(&cfg, &cal, &err), TDK_EINVAL);
	assert_null(cal);
	cfg.timezone = "Asia/../Asia/Tokyo";
	assert_int_equal(cal_new(&cfg, &cal, &err), TDK_EINVAL);
	assert_null(cal);

	cal_config_default(&cfg);
	cfg.closure_spans = bad_span;
	cfg.n_closure_spans = 1;
	err.text[0] = '\0';
	assert_int_equal(cal_new(&cfg, &cal, &err), TDK_EINVAL);
	assert_null(cal);
	assert_true(err.text[0] != '\0');

	cal_config_default(&cfg);
	cfg.closure_days = late;
	cfg.n_closure_days = 1;
	err.text[0] = '\0';
	assert_int_equal(cal_new(&cfg, &cal, &err), TDK_ERANGE);
	assert_null(cal);
	assert_non_null(strstr(err.text, "2100-01-01"));

	cal_free(NULL);
}

static void test_next_business_day(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;
	civil_day next;

	/* Fri 5/1, then Sat, Sun 5/3, 5/4, 5/5, substitute 5/6: Thu 5/7. */
	assert_int_equal(cal_next_business_day(cal, ymd(2026, 5, 1), &next), TDK_OK);
	assert_int_equal(next, ymd(2026, 5, 7));
	assert_int_equal(cal_next_business_day(cal, ymd(2026, 9, 18), &next), TDK_OK);
	assert_int_equal(next, ymd(2026, 9, 24));
	/* Strictly after: a business day is not its own successor. */
	assert_int_equal(cal_next_business_day(cal, ymd(2026, 12, 25), &next), TDK_OK);
	assert_int_equal(next, ymd(2026, 12, 28));
	assert_int_equal(cal_next_business_day(cal, ymd(2026, 12, 28), &next), TDK_OK);
	assert_int_equal(next, ymd(2027, 1, 4));
	assert_int_equal(cal_next_business_day(cal, ymd(2099, 12, 28), &next),
			 TDK_ERANGE);
	assert_int_equal(cal_next_business_day(cal, ymd(1954, 12, 31), &next),
			 TDK_ERANGE);
}

static void test_business_days_2026(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;
	int count = -1;

	/*
	 * 2026 has 365 days = 52 weeks + 1 day; that day is Thursday Jan 1,
	 * so there are 52 * 5 + 1 = 261 weekdays and 104 weekend days.
	 * Holidays on weekdays (17): 1/1 Thu, 1/12 Mon, 2/11 Wed, 2/23 Mon,
	 * 3/20 Fri, 4/29 Wed, 5/4 Mon, 5/5 Tue, 5/6 Wed, 7/20 Mon, 8/11 Tue,
	 * 9/21 Mon, 9/22 Tue, 9/23 Wed, 10/12 Mon, 11/3 Tue, 11/23 Mon
	 * (5/3 憲法記念日 is a Sunday and already a weekend day).
	 * Closure days 12-29..01-03 on weekdays not already holidays (4):
	 * 1/2 Fri, 12/29 Tue, 12/30 Wed, 12/31 Thu (1/1 is 元日, 1/3 Sat).
	 * 261 - 17 - 4 = 240.
	 */
	assert_int_equal(cal_business_days_between(cal, ymd(2026, 1, 1),
						   ymd(2026, 12, 31), &count),
			 TDK_OK);
	assert_int_equal(count, 240);
	/* Both ends are included. */
	assert_int_equal(cal_business_days_between(cal, ymd(2026, 12, 28),
						   ymd(2026, 12, 28), &count),
			 TDK_OK);
	assert_int_equal(count, 1);
	assert_int_equal(cal_business_days_between(cal, ymd(2026, 12, 29),
						   ymd(2027, 1, 3), &count),
			 TDK_OK);
	assert_int_equal(count, 0);
	/* Silver Week: Fri 9/18 .. Thu 9/24 has 2 business days. */
	assert_int_equal(cal_business_days_between(cal, ymd(2026, 9, 18),
						   ymd(2026, 9, 24), &count),
			 TDK_OK);
	assert_int_equal(count, 2);
	assert_int_equal(cal_business_days_between(cal, ymd(2026, 2, 1),
						   ymd(2026, 1, 31), &count),
			 TDK_EINVAL);
	assert_int_equal(cal_business_days_between(cal, ymd(2026, 1, 1),
						   ymd(2100, 1, 1), &count),
			 TDK_ERANGE);
}

static void test_add_bd_silver_week(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	/*
	 * From Fri 9/18: 9/19-9/20 weekend, 9/21-9/23 holidays;
	 * 9/24 (1), 9/25 (2), 9/28-10/2 (3-7), 10/5-10/9 (8-12),
	 * 10/12 スポーツの日, 10/13-10/16 (13-16), 10/19-10/22 (17-20).
	 */
	check_add(cal, "2026-09-18T10:00:00+09:00", "20bd",
		  "2026-10-22T23:59:59+09:00");
	check_add(cal, "2026-09-18T10:00:00+09:00", "1bd",
		  "2026-09-24T23:59:59+09:00");
	check_add(cal, "2026-09-18T10:00:00+09:00", "16bd",
		  "2026-10-16T23:59:59+09:00");
}

static void test_add_bd_golden_week(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	/*
	 * From Tue 4/28: 4/29 昭和の日, 4/30 (1), 5/1 (2), 5/2-5/6 off,
	 * 5/7 (3), 5/8 (4), 5/11 (5), 5/12-5/15 (6-9), 5/18-22 (10-14),
	 * 5/25-29 (15-19), Mon 6/1 (20).
	 */
	check_add(cal, "2026-04-28T10:00:00+09:00", "1bd",
		  "2026-04-30T23:59:59+09:00");
	check_add(cal, "2026-04-28T10:00:00+09:00", "3bd",
		  "2026-05-07T23:59:59+09:00");
	check_add(cal, "2026-04-28T10:00:00+09:00", "5bd",
		  "2026-05-11T23:59:59+09:00");
	check_add(cal, "2026-04-28T10:00:00+09:00", "20bd",
		  "2026-06-01T23:59:59+09:00");
}

static void test_add_bd_year_end(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	/*
	 * From Fri 12/25: Mon 12/28 (1), closed 12/29-1/3, Mon 1/4 (2),
	 * 1/5-1/8 (3-6), 1/11 成人の日, 1/12-1/15 (7-10), 1/18-22 (11-15),
	 * 1/25-1/29 (16-20).
	 */
	check_add(cal, "2026-12-25T15:00:00+09:00", "1bd",
		  "2026-12-28T23:59:59+09:00");
	check_add(cal, "2026-12-25T15:00:00+09:00", "2bd",
		  "2027-01-04T23:59:59+09:00");
	check_add(cal, "2026-12-25T15:00:00+09:00", "20bd",
		  "2027-01-29T23:59:59+09:00");
}

static void test_add_bd_weekend_start(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	/* Sat 5/2: 5/3-5/6 off, Thu 5/7 (1), Fri 5/8 (2), Mon 5/11 (3). */
	check_add(cal, "2026-05-02T09:00:00+09:00", "1bd",
		  "2026-05-07T23:59:59+09:00");
	check_add(cal, "2026-05-02T09:00:00+09:00", "3bd",
		  "2026-05-11T23:59:59+09:00");
	/* Sat 10/10: Sun, 10/12 holiday, 10/13 (1), 10/14 (2), 10/15 (3). */
	check_add(cal, "2026-10-10T12:00:00+09:00", "3bd",
		  "2026-10-15T23:59:59+09:00");
}

static void test_add_bd_day_edges(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	/* The last second of Thu 9/24 still belongs to 9/24. */
	check_add(cal, "2026-09-24T23:59:59+09:00", "1bd",
		  "2026-09-25T23:59:59+09:00");
	/*
	 * From 9/24: 9/25 (1), 9/28-10/2 (2-6), 10/5-10/9 (7-11),
	 * 10/13-10/16 (12-15), 10/19-10/23 (16-20).
	 */
	check_add(cal, "2026-09-24T23:59:59+09:00", "20bd",
		  "2026-10-23T23:59:59+09:00");
	/* Starting at midnight of a business day: that day does not count. */
	check_add(cal, "2026-09-25T00:00:00+09:00", "1bd",
		  "2026-09-28T23:59:59+09:00");
}

static void test_add_bd_utc_start(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	/* 16:00Z on 9/17 is 01:00 on Fri 9/18 in Tokyo: same as from 9/18. */
	check_add(cal, "2026-09-17T16:00:00Z", "20bd",
		  "2026-10-22T23:59:59+09:00");
	/*
	 * One second earlier is Thu 9/17 23:59:59 JST: 9/18 (1), 9/24 (2),
	 * 9/25 (3), 9/28-10/2 (4-8), 10/5-10/9 (9-13), 10/13-16 (14-17),
	 * 10/19-10/21 (18-20).
	 */
	check_add(cal, "2026-09-17T14:59:59Z", "20bd",
		  "2026-10-21T23:59:59+09:00");
	check_add(cal, "2026-09-18T01:00:00+0000", "1bd",
		  "2026-09-24T23:59:59+09:00");
}

static void test_add_months_years(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	check_add(cal, "2026-11-30T10:00:00+09:00", "3M",
		  "2027-02-28T23:59:59+09:00");
	check_add(cal, "2027-11-30T10:00:00+09:00", "3M",
		  "2028-02-29T23:59:59+09:00"); /* 2028 is a leap year */
	check_add(cal, "2026-01-31T10:00:00+09:00", "1M",
		  "2026-02-28T23:59:59+09:00");
	check_add(cal, "2026-01-30T10:00:00+09:00", "2M",
		  "2026-03-30T23:59:59+09:00");
	check_add(cal, "2026-05-31T10:00:00+09:00", "9M",
		  "2027-02-28T23:59:59+09:00");
	check_add(cal, "2026-03-31T10:00:00+09:00", "9M",
		  "2026-12-31T23:59:59+09:00");
	check_add(cal, "2026-10-15T10:00:00+09:00", "3M",
		  "2027-01-15T23:59:59+09:00");
	check_add(cal, "2024-02-29T10:00:00+09:00", "1y",
		  "2025-02-28T23:59:59+09:00");
	check_add(cal, "2024-02-29T10:00:00+09:00", "4y",
		  "2028-02-29T23:59:59+09:00");
	check_add(cal, "2026-09-18T10:00:00+09:00", "1y",
		  "2027-09-18T23:59:59+09:00");
	check_add(cal, "2026-09-18T10:00:00+09:00", "12M",
		  "2027-09-18T23:59:59+09:00");
	/* The local date counts: 20:00Z on 1/30 is 1/31 in Tokyo. */
	check_add(cal, "2026-01-30T20:00:00Z", "1M",
		  "2026-02-28T23:59:59+09:00");
}

static void test_add_days_weeks(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;

	/* 9/18 + 12 = 9/30, + 31 = 10/31 (43), + 30 = 11/30 (73), + 17 = 12/17. */
	check_add(cal, "2026-09-18T10:00:00+09:00", "90d",
		  "2026-12-17T23:59:59+09:00");
	/* Calendar days count closures: 12/25 + 10 = 1/4. */
	check_add(cal, "2026-12-25T10:00:00+09:00", "10d",
		  "2027-01-04T23:59:59+09:00");
	check_add(cal, "2026-09-18T23:59:59+09:00", "1d",
		  "2026-09-19T23:59:59+09:00");
	check_add(cal, "2026-09-18T10:00:00+09:00", "2w",
		  "2026-10-02T23:59:59+09:00");
	check_add(cal, "2026-02-22T10:00:00+09:00", "1w",
		  "2026-03-01T23:59:59+09:00"); /* 2026 is not a leap year */
}

static void test_period_parse(void **state)
{
	static const struct {
		const char *text;
		int count;
		enum cal_unit unit;
	} good[] = {
		{ "20bd", 20, CAL_BUSINESS_DAYS }, { "10d", 10, CAL_DAYS },
		{ "2w", 2, CAL_WEEKS }, { "3M", 3, CAL_MONTHS },
		{ "1y", 1, CAL_YEARS }, { "100000d", 100000, CAL_DAYS },
	};
	struct cal_period period;
	char text[CAL_PERIOD_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(cal_period_parse(good[i].text, &period, NULL),
				 TDK_OK);
		assert_int_equal(period.count, good[i].count);
		assert_int_equal(period.unit, good[i].unit);
		cal_period_format(period, text, sizeof text);
		assert_string_equal(text, good[i].text);
	}
}

static void test_period_parse_errors(void **state)
{
	static const char *const bad[] = {
		"0bd", "-3d", "+3d", "20x", "bd", "", "20 bd", " 20bd", "20bd ",
		"99999999bd", "100001d", "20", "20bdx", "20m", "20D", "3.5d",
		"20\nbd",
	};
	struct cal_period period = { 7, CAL_DAYS };
	tdk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		strcpy(err.text, "");
		if (cal_period_parse(bad[i], &period, &err) == TDK_OK)
			fail_msg("period \"%s\" accepted", bad[i]);
		if (err.text[0] == '\0' || strchr(err.text, '\n') != NULL)
			fail_msg("period \"%s\": bad message \"%s\"", bad[i],
				 err.text);
	}
	/* Failures leave the output alone. */
	assert_int_equal(period.count, 7);
	assert_int_equal(cal_period_parse("0bd", &period, NULL), TDK_ERANGE);
	assert_int_equal(cal_period_parse("99999999bd", &period, NULL),
			 TDK_ERANGE);
	assert_int_equal(cal_period_parse("20x", &period, NULL), TDK_ESYNTAX);
}

static void test_range_errors(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;
	struct cal_period zero = { 0, CAL_DAYS };
	struct cal_day_info info;
	int64_t when = 0;
	civil_day day;

	assert_int_equal(cal_day_info(cal, ymd(1954, 12, 31), &info), TDK_ERANGE);
	assert_int_equal(cal_day_info(cal, ymd(2100, 1, 1), &info), TDK_ERANGE);
	assert_false(cal_is_business_day(cal, ymd(1954, 12, 31)));
	assert_false(cal_is_business_day(cal, ymd(2100, 1, 4)));
	check_reason(cal, ymd(1955, 1, 1), CAL_HOLIDAY, "元日");
	check_reason(cal, ymd(2099, 12, 31), CAL_CLOSURE, "年末年始休業");

	check_add_fails(cal, "1954-12-31T12:00:00+09:00", "1bd", TDK_ERANGE);
	check_add_fails(cal, "2099-12-20T10:00:00+09:00", "20bd", TDK_ERANGE);
	/* 12/29-12/31 are closed, so nothing follows 12/28 in range. */
	check_add_fails(cal, "2099-12-28T10:00:00+09:00", "1bd", TDK_ERANGE);
	check_add_fails(cal, "2099-12-31T10:00:00+09:00", "1d", TDK_ERANGE);
	check_add_fails(cal, "2099-12-01T10:00:00+09:00", "1M", TDK_ERANGE);
	check_add_fails(cal, "2099-01-01T10:00:00+09:00", "1y", TDK_ERANGE);
	check_add_fails(cal, "2026-01-01T10:00:00+09:00", "100000y", TDK_ERANGE);
	check_add_fails(cal, "2026-01-01T10:00:00+09:00", "100000bd", TDK_ERANGE);
	check_add(cal, "2099-12-30T10:00:00+09:00", "1d",
		  "2099-12-31T23:59:59+09:00");
	assert_int_equal(cal_add(cal, instant("2026-01-01T10:00:00Z"), zero, &when),
			 TDK_EINVAL);
	assert_int_equal(cal_add(cal, INT64_MAX, (struct cal_period){ 1, CAL_DAYS },
				 &when),
			 TDK_ERANGE);
	assert_int_equal(cal_add(cal, INT64_MIN, (struct cal_period){ 1, CAL_DAYS },
				 &when),
			 TDK_ERANGE);

	assert_int_equal(cal_local_day(cal, instant("2100-01-01T00:00:00+09:00"), &day),
			 TDK_ERANGE);
	assert_int_equal(cal_local_day(cal, instant("2099-12-31T23:59:59+09:00"), &day),
			 TDK_OK);
	assert_int_equal(day, ymd(2099, 12, 31));
	/* 1954-12-31T15:00Z is already 1955-01-01 in Tokyo. */
	assert_int_equal(cal_local_day(cal, instant("1954-12-31T15:00:00Z"), &day),
			 TDK_OK);
	assert_int_equal(day, ymd(1955, 1, 1));
	assert_int_equal(cal_local_day(cal, instant("1954-12-31T14:59:59Z"), &day),
			 TDK_ERANGE);
	assert_int_equal(cal_end_of_day(cal, ymd(2100, 1, 1), &when), TDK_ERANGE);
	assert_int_equal(cal_end_of_day(cal, ymd(1954, 12, 31), &when), TDK_ERANGE);
}

static void test_year_holidays(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;
	struct cal_named_day days[40];
	size_t count = 0;

	/*
	 * 18 holidays (17 on weekdays plus 5/3) and closures 1/2, 1/3,
	 * 12/29, 12/30, 12/31 (1/1 is listed once, as 元日): 23 days.
	 */
	assert_int_equal(cal_year_holidays(cal, 2026, days, 40, &count), TDK_OK);
	assert_int_equal(count, 23);
	assert_int_equal(days[0].day, ymd(2026, 1, 1));
	assert_string_equal(days[0].name_ja, "元日");
	assert_int_equal(days[1].day, ymd(2026, 1, 2));
	assert_string_equal(days[1].name_ja, "年末年始休業");
	assert_int_equal(days[2].day, ymd(2026, 1, 3));
	assert_int_equal(days[3].day, ymd(2026, 1, 12));
	assert_string_equal(days[3].name_ja, "成人の日");
	/* 4-11: 2/11 2/23 3/20 4/29 5/3 5/4 5/5 5/6; 12: 7/20; 13: 8/11 */
	assert_int_equal(days[13].day, ymd(2026, 8, 11));
	assert_int_equal(days[14].day, ymd(2026, 9, 21));
	assert_int_equal(days[15].day, ymd(2026, 9, 22));
	assert_string_equal(days[15].name_ja, "国民の休日");
	assert_int_equal(days[22].day, ymd(2026, 12, 31));
	for (size_t i = 1; i < count; i++)
		assert_true(days[i - 1].day < days[i].day);

	count = 0;
	assert_int_equal(cal_year_holidays(cal, 2026, days, 5, &count), TDK_ELIMIT);
	assert_int_equal(count, 23);
	assert_int_equal(cal_year_holidays(cal, 2026, NULL, 0, &count), TDK_ELIMIT);
	assert_int_equal(count, 23);
	assert_int_equal(cal_year_holidays(cal, 2100, days, 40, &count), TDK_ERANGE);
	assert_int_equal(cal_year_holidays(cal, 1954, days, 40, &count), TDK_ERANGE);
}

static void test_instant_round_trip(void **state)
{
	const struct fixture *fx = *state;
	char text[CAL_INSTANT_LEN];
	int64_t ten_jst = (int64_t)ymd(2026, 9, 18) * 86400 + 1 * 3600;

	/* 2026-01-01 is 56 * 365 + 14 leap days = 20454 days after 1970. */
	assert_int_equal(instant("2026-01-01T00:00:00Z"), 1767225600);
	assert_int_equal(instant("2026-09-18T10:00:00+09:00"), ten_jst);
	assert_int_equal(instant("2026-09-18T10:00:00+0900"), ten_jst);
	assert_int_equal(instant("2026-09-18T01:00:00Z"), ten_jst);
	assert_int_equal(instant("2026-09-17T21:00:00-04:00"), ten_jst);
	assert_int_equal(instant("2026-09-17T21:00:00-0400"), ten_jst);
	assert_int_equal(instant("1969-12-31T23:59:59Z"), -1);

	assert_int_equal(cal_format_instant(fx->tokyo, ten_jst, text, sizeof text),
			 TDK_OK);
	assert_string_equal(text, "2026-09-18T10:00:00+09:00");
	assert_int_equal(cal_format_instant(fx->new_york, ten_jst, text, sizeof text),
			 TDK_OK);
	assert_string_equal(text, "2026-09-17T21:00:00-04:00");
	/* Exactly enough room, then one byte short. */
	assert_int_equal(cal_format_instant(fx->tokyo, ten_jst, text, 26), TDK_OK);
	assert_int_equal(cal_format_instant(fx->tokyo, ten_jst, text, 25),
			 TDK_EINVAL);

	/* Every formatted instant parses back to itself, in both zones. */
	for (int64_t t = instant("1955-01-02T00:00:00Z");
	     t < instant("2099-12-30T00:00:00Z"); t += 7777777) {
		assert_int_equal(cal_format_instant(fx->tokyo, t, text, sizeof text),
				 TDK_OK);
		assert_int_equal(instant(text), t);
		assert_int_equal(cal_format_instant(fx->new_york, t, text,
						    sizeof text),
				 TDK_OK);
		assert_int_equal(instant(text), t);
	}
}

static void test_instant_rejects(void **state)
{
	static const char *const bad[] = {
		"2026-13-01T00:00:00Z", "2026-09-18 10:00",
		"2026-09-18T10:00:00", "2026-09-18 10:00:00Z",
		"2026-02-29T00:00:00Z", "2026-09-18T24:00:00Z",
		"2026-09-18T10:60:00Z", "2026-09-18T10:00:60Z",
		"2026-09-18T10:00:00+09", "2026-09-18T10:00:00+9:00",
		"2026-09-18T10:00:00+09:0", "2026-09-18T10:00:00+09:00 ",
		"2026-09-18T10:00:00.5Z", "2026-09-18t10:00:00z",
		"2026-9-18T10:00:00Z", "2026-09-18T10:00Z", "2026-09-18",
		"2026-09-18T10:00:00+24:00", "2026-09-18T10:00:00ZZ", "",
		"0000-01-01T00:00:00Z",
	};
	int64_t value = 42;
	tdk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		strcpy(err.text, "");
		if (cal_parse_instant(bad[i], &value, &err) == TDK_OK)
			fail_msg("instant \"%s\" accepted", bad[i]);
		if (err.text[0] == '\0' || strchr(err.text, '\n') != NULL)
			fail_msg("instant \"%s\": bad message", bad[i]);
	}
	assert_int_equal(value, 42);
}

static void test_new_york_dst(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->new_york;
	char text[CAL_INSTANT_LEN];
	int64_t when = 0;
	civil_day day = 0;

	/* US DST 2026: from Sun 3/8 02:00 EST to Sun 11/1 02:00 EDT. */
	assert_int_equal(cal_end_of_day(cal, ymd(2026, 3, 7), &when), TDK_OK);
	assert_int_equal(when, instant("2026-03-08T04:59:59Z"));
	assert_int_equal(cal_end_of_day(cal, ymd(2026, 3, 8), &when), TDK_OK);
	assert_int_equal(when, instant("2026-03-09T03:59:59Z"));
	assert_int_equal(cal_end_of_day(cal, ymd(2026, 10, 31), &when), TDK_OK);
	assert_int_equal(when, instant("2026-11-01T03:59:59Z"));
	assert_int_equal(cal_end_of_day(cal, ymd(2026, 11, 1), &when), TDK_OK);
	assert_int_equal(when, instant("2026-11-02T04:59:59Z"));

	/* 01:30 happens twice on 11/1: once in EDT, once in EST. */
	assert_int_equal(cal_format_instant(cal, instant("2026-11-01T05:30:00Z"),
					    text, sizeof text), TDK_OK);
	assert_string_equal(text, "2026-11-01T01:30:00-04:00");
	assert_int_equal(cal_format_instant(cal, instant("2026-11-01T06:30:00Z"),
					    text, sizeof text), TDK_OK);
	assert_string_equal(text, "2026-11-01T01:30:00-05:00");
	assert_int_equal(cal_local_day(cal, instant("2026-11-01T03:59:59Z"), &day),
			 TDK_OK);
	assert_int_equal(day, ymd(2026, 10, 31));
	assert_int_equal(cal_local_day(cal, instant("2026-11-01T04:00:00Z"), &day),
			 TDK_OK);
	assert_int_equal(day, ymd(2026, 11, 1));
	assert_int_equal(cal_local_day(cal, instant("2026-03-08T06:59:59Z"), &day),
			 TDK_OK); /* 01:59:59 EST, then 03:00 EDT */
	assert_int_equal(day, ymd(2026, 3, 8));

	/* Japanese holidays still apply: Tue 11/3 is 文化の日. */
	check_add(cal, "2026-03-06T12:00:00-05:00", "1bd",
		  "2026-03-09T23:59:59-04:00");
	check_add(cal, "2026-03-07T12:00:00-05:00", "1d",
		  "2026-03-08T23:59:59-04:00");
	check_add(cal, "2026-10-30T12:00:00-04:00", "1bd",
		  "2026-11-02T23:59:59-05:00");
	check_add(cal, "2026-10-30T12:00:00-04:00", "2bd",
		  "2026-11-04T23:59:59-05:00");
	/* 02:00Z on 9/18 is still 9/17 in New York: Fri 9/18 is next. */
	check_add(cal, "2026-09-18T02:00:00Z", "1bd",
		  "2026-09-18T23:59:59-04:00");
}

/* A zone of the given name with the default closures; NULL if refused. */
static struct cal *zone_calendar(const char *zone)
{
	struct cal_config cfg;
	struct cal *cal = NULL;

	cal_config_default(&cfg);
	cfg.timezone = zone;
	assert_int_equal(cal_new(&cfg, &cal, NULL), TDK_OK);
	return cal;
}

static void test_midnight_transitions(void **state)
{
	struct cal *beirut = zone_calendar("Asia/Beirut");
	struct cal *apia = zone_calendar("Pacific/Apia");
	int64_t when = 0;
	civil_day day = 0;

	(void)state;
	/*
	 * Lebanon ends DST on the last Sunday of October at 00:00 EEST
	 * (+03), back to 23:00 EET (+02): in 2019 Saturday 10/26 has
	 * 23:00-23:59:59 twice and ends at the second 23:59:59 (21:59:59Z).
	 */
	assert_int_equal(cal_end_of_day(beirut, ymd(2019, 10, 26), &when), TDK_OK);
	assert_int_equal(when, instant("2019-10-26T23:59:59+02:00"));
	assert_int_equal(cal_local_day(beirut, instant("2019-10-26T21:30:00Z"), &day),
			 TDK_OK);
	assert_int_equal(day, ymd(2019, 10, 26));
	/* It starts on the last Sunday of March at 00:00, skipping to 01:00. */
	assert_int_equal(cal_end_of_day(beirut, ymd(2019, 3, 30), &when), TDK_OK);
	assert_int_equal(when, instant("2019-03-30T23:59:59+02:00"));
	assert_int_equal(cal_end_of_day(beirut, ymd(2019, 3, 31), &when), TDK_OK);
	assert_int_equal(when, instant("2019-03-31T23:59:59+03:00"));
	/*
	 * Samoa skipped Friday 2011-12-30, going from 12/29 24:00 (-10) to
	 * 12/31 00:00 (+14); a skipped date ends when the day before does.
	 */
	assert_int_equal(cal_end_of_day(apia, ymd(2011, 12, 29), &when), TDK_OK);
	assert_int_equal(when, instant("2011-12-29T23:59:59-10:00"));
	assert_int_equal(cal_end_of_day(apia, ymd(2011, 12, 30), &when), TDK_OK);
	assert_int_equal(when, instant("2011-12-29T23:59:59-10:00"));
	assert_int_equal(cal_end_of_day(apia, ymd(2011, 12, 31), &when), TDK_OK);
	assert_int_equal(when, instant("2011-12-31T23:59:59+14:00"));
	assert_int_equal(cal_local_day(apia, instant("2011-12-30T10:00:00Z"), &day),
			 TDK_OK);
	assert_int_equal(day, ymd(2011, 12, 31));
	cal_free(apia);
	cal_free(beirut);
}

static void test_tokyo_has_no_dst(void **state)
{
	const struct cal *cal = ((struct fixture *)*state)->tokyo;
	char text[CAL_INSTANT_LEN];
	int64_t when = 0;

	assert_string_equal(cal_timezone(cal), "Asia/Tokyo");
	assert_int_equal(cal_end_of_day(cal, ymd(1955, 1, 1), &when), TDK_OK);
	assert_int_equal(cal_format_instant(cal, when, text, sizeof text), TDK_OK);
	assert_string_equal(text, "1955-01-01T23:59:59+09:00");
	assert_int_equal(when, instant("1955-01-01T14:59:59Z"));
	assert_int_equal(cal_end_of_day(cal, ymd(2099, 12, 31), &when), TDK_OK);
	assert_int_equal(when, instant("2099-12-31T14:59:59Z"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weekends),
		cmocka_unit_test(test_holidays),
		cmocka_unit_test(test_year_end_closure),
		cmocka_unit_test(test_config_overrides),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_next_business_day),
		cmocka_unit_test(test_business_days_2026),
		cmocka_unit_test(test_add_bd_silver_week),
		cmocka_unit_test(test_add_bd_golden_week),
		cmocka_unit_test(test_add_bd_year_end),
		cmocka_unit_test(test_add_bd_weekend_start),
		cmocka_unit_test(test_add_bd_day_edges),
		cmocka_unit_test(test_add_bd_utc_start),
		cmocka_unit_test(test_add_months_years),
		cmocka_unit_test(test_add_days_weeks),
		cmocka_unit_test(test_period_parse),
		cmocka_unit_test(test_period_parse_errors),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_year_holidays),
		cmocka_unit_test(test_instant_round_trip),
		cmocka_unit_test(test_instant_rejects),
		cmocka_unit_test(test_new_york_dst),
		cmocka_unit_test(test_midnight_transitions),
		cmocka_unit_test(test_tokyo_has_no_dst),
	};

	return cmocka_run_group_tests_name("calendar", tests, group_setup,
					   group_teardown);
}
