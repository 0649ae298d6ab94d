/*
 * civil.h - proleptic Gregorian calendar dates as day numbers.
 *
 * Owns: the day-number representation used across todoke. A day number is
 * the count of days since 1970-01-01 (negative before it); it names a civil
 * date with no time zone attached. Pure functions, no allocation.
 */
#ifndef TODOKE_CIVIL_H
#define TODOKE_CIVIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t civil_day;

enum civil_weekday {
	CIVIL_SUNDAY = 0, CIVIL_MONDAY, CIVIL_TUESDAY, CIVIL_WEDNESDAY,
	CIVIL_THURSDAY, CIVIL_FRIDAY, CIVIL_SATURDAY
};

/* Day number of year-month-day; month and day must be valid. */
civil_day civil_from_ymd(int year, int month, int day);

/* Year, month (1-12) and day (1-31) of a day number. */
void civil_to_ymd(civil_day d, int *year, int *month, int *day);

/* 0 = Sunday ... 6 = Saturday. */
int civil_weekday(civil_day d);

bool civil_is_leap_year(int year);
int civil_days_in_month(int year, int month);
bool civil_valid_ymd(int year, int month, int day);

/* The value of exactly n decimal digits at text, or -1. */
int civil_parse_digits(const char *text, int n);

/* Parses exactly "YYYY-MM-DD"; returns TDK_OK or TDK_ESYNTAX/TDK_ERANGE. */
int civil_parse(const char *text, civil_day *out);

/* Writes "YYYY-MM-DD" (needs 11 bytes). */
void civil_format(civil_day d, char buf[static 11]);

#endif
