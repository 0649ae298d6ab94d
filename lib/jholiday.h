/*
 * jholiday.h - Japanese national holidays as the law defines them, 1955-2099.
 *
 * Owns: the jhol_ module. It computes, from the rules of the Act on National
 * Holidays (国民の祝日に関する法律) and the special acts for imperial events,
 * every day off the law grants in a year: the named holidays, 振替休日
 * (substitute holidays), 国民の休日 (days sandwiched between holidays) and
 * the one-off holidays. Pure functions, no allocation, no global state.
 */
#ifndef TODOKE_JHOLIDAY_H
#define TODOKE_JHOLIDAY_H

#include <stdbool.h>
#include <stddef.h>

#include "civil.h"

#define JHOL_FIRST_YEAR 1955
#define JHOL_LAST_YEAR 2099

enum jhol_kind {
	JHOL_NATIONAL = 1, /* a named 国民の祝日 */
	JHOL_SUBSTITUTE,   /* 振替休日 */
	JHOL_CITIZENS,     /* 国民の休日 */
	JHOL_SPECIAL       /* one-off holiday set by a special act */
};

struct jhol_entry {
	civil_day day;
	enum jhol_kind kind;
	const char *name_ja; /* static strings, UTF-8 */
	const char *name_en;
};

#define JHOL_MAX_PER_YEAR 32

/*
 * Fills out[] with the year's holidays in date order and sets *count.
 * TDK_ERANGE outside JHOL_FIRST_YEAR..JHOL_LAST_YEAR (and *count = 0),
 * TDK_EINVAL if out or count is NULL.
 */
int jhol_year(int year, struct jhol_entry out[JHOL_MAX_PER_YEAR],
	      size_t *count);

/*
 * 1 if day is a holiday (and fills *entry unless it is NULL), 0 if not.
 * Days outside the supported range are simply not holidays; use
 * jhol_in_range() to tell.
 */
int jhol_lookup(civil_day day, struct jhol_entry *entry);

/* Whether day lies in JHOL_FIRST_YEAR-01-01 .. JHOL_LAST_YEAR-12-31. */
bool jhol_in_range(civil_day day);

#endif
