/*
 * test_status.c - status codes, tdk_err and the injectable clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "clock.h"
#include "status.h"

static void every_status_has_text(void **state)
{
	for (int s = 0; s < TDK_STATUS_COUNT; s++) {
		assert_non_null(tdk_strerror(s));
		assert_true(strlen(tdk_strerror(s)) > 0);
		assert_string_not_equal(tdk_strerror(s), "unknown status");
	}
	assert_string_equal(tdk_strerror(TDK_OK), "success");
	assert_string_equal(tdk_strerror(-1), "unknown status");
	assert_string_equal(tdk_strerror(TDK_STATUS_COUNT), "unknown status");
}

static void err_set_returns_status(void **state)
{
	tdk_err err;

	assert_int_equal(tdk_err_set(&err, TDK_ERANGE, "%s:%d: bad", "f", 3),
			 TDK_ERANGE);
	assert_string_equal(err.text, "f:3: bad");
	assert_int_equal(tdk_err_set(NULL, TDK_EIO, "ignored"), TDK_EIO);
	tdk_err_clear(&err);
	assert_string_equal(err.text, "");
}

static void fixed_clock_is_injected(void **state)
{
	struct tdk_clock clock;

	tdk_clock_init_fixed(&clock, 1790000000);
	assert_int_equal(tdk_clock_now(&clock), 1790000000);
	tdk_clock_advance(&clock, 86400);
	assert_int_equal(tdk_clock_now(&clock), 1790086400);
}

static void system_clock_is_plausible(void **state)
{
	struct tdk_clock clock;

	tdk_clock_init_system(&clock);
	tdk_clock_advance(&clock, 1000000000); /* no effect on the wall clock */
	/* after 2025-01-01 and before 2100-01-01 */
	assert_true(tdk_clock_now(&clock) > 1735689600);
	assert_true(tdk_clock_now(&clock) < 4102444800);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_status_has_text),
		cmocka_unit_test(err_set_returns_status),
		cmocka_unit_test(fixed_clock_is_injected),
		cmocka_unit_test(system_clock_is_plausible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
