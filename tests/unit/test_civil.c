/*
 * test_civil.c - day numbers for civil dates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "civil.h"
#include "status.h"

static void known_day_numbers(void **state)
{
	assert_int_equal(civil_from_ymd(1970, 1, 1), 0);
	assert_int_equal(civil_from_ymd(1969, 12, 31), -1);
	assert_int_equal(civil_from_ymd(2000, 3, 1), 11017);
	assert_int_equal(civil_from_ymd(2026, 11, 22), 20779);
	assert_int_equal(civil_from_ymd(1955, 1, 1), -5479);
}

static void round_trip_every_day_1900_2199(void **state)
{
	civil_day first = civil_from_ymd(1900, 1, 1);
	civil_day last = civil_from_ymd(2199, 12, 31);
	int y, m, d, prev_y = 1899, prev_m = 12, prev_d = 31;

	for (civil_day day = first; day <= last; day++) {
		civil_to_ymd(day, &y, &m, &d);
		assert_int_equal(civil_from_ymd(y, m, d), day);
		/* consecutive: the next day or the first of the next month/year */
		if (d != prev_d + 1) {
			assert_int_equal(d, 1);
			assert_int_equal(prev_d, civil_days_in_month(prev_y, prev_m));
		}
		prev_y = y;
		prev_m = m;
		prev_d = d;
	}
}

static void weekdays(void **state)
{
	assert_int_equal(civil_weekday(civil_from_ymd(1970, 1, 1)), CIVIL_THURSDAY);
	assert_int_equal(civil_weekday(civil_from_ymd(1955, 1, 1)), CIVIL_SATURDAY);
	assert_int_equal(civil_weekday(civil_from_ymd(2026, 11, 22)), CIVIL_SUNDAY);
	assert_int_equal(civil_weekday(civil_from_ymd(2099, 12, 31)), CIVIL_THURSDAY);
}

static void leap_years(void **state)
{
	assert_true(civil_is_leap_year(2000));
	assert_false(civil_is_leap_year(1900));
	assert_true(civil_is_leap_year(2024));
	assert_false(civil_is_leap_year(2026));
	assert_int_equal(civil_days_in_month(2028, 2), 29);
	assert_int_equal(civil_days_in_month(2100, 2), 28);
}

static void parse_and_format(void **state)
{
	civil_day day;
	char buf[11];

	assert_int_equal(civil_parse("2026-09-22", &day), TDK_OK);
	assert_int_equal(day, civil_from_ymd(2026, 9, 22));
	civil_format(day, buf);
	assert_string_equal(buf, "2026-09-22");
	assert_int_equal(civil_parse("2026-02-29", &day), TDK_ERANGE);
	assert_int_equal(civil_parse("2026-13-01", &day), TDK_ERANGE);
	assert_int_equal(civil_parse("2026-9-22", &day), TDK_ESYNTAX);
	assert_int_equal(civil_parse("2026-09-22x", &day), TDK_ESYNTAX);
	assert_int_equal(civil_parse("", &day), TDK_ESYNTAX);
	assert_int_equal(civil_parse(NULL, &day), TDK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_day_numbers),
		cmocka_unit_test(round_trip_every_day_1900_2199),
		cmocka_unit_test(weekdays),
		cmocka_unit_test(leap_years),
		cmocka_unit_test(parse_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
