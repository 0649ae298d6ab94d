/*
 * test_jholiday.c - unit tests for the jhol_ module (lib/jholiday.c).
 *
 * The core test compares every year 1955-2027 with the Cabinet Office's
 * published list (内閣府「国民の祝日」, syukujitsu.csv), transcribed below
 * by hand as MMDD dates. The rest are named checks of the law's edge cases,
 * equinox dates, range handling and structural invariants over 1955-2099.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "jholiday.h"
#include "status.h"

/*
 * Published holidays, every day off including 振替休日, 国民の休日 and
 * one-off days. Sunday holidays before 1973-04-12 have no substitute.
 */
static const struct {
	int year;
	const char *dates;
} published[] = {
	{ 1955, "0101 0115 0321 0429 0503 0505 0924 1103 1123" },
	{ 1956, "0101 0115 0321 0429 0503 0505 0923 1103 1123" },
	{ 1957, "0101 0115 0321 0429 0503 0505 0923 1103 1123" },
	{ 1958, "0101 0115 0321 0429 0503 0505 0923 1103 1123" },
	/* 04-10: wedding of Crown Prince Akihito. */
	{ 1959, "0101 0115 0321 0410 0429 0503 0505 0924 1103 1123" },
	{ 1960, "0101 0115 0320 0429 0503 0505 0923 1103 1123" },
	{ 1961, "0101 0115 0321 0429 0503 0505 0923 1103 1123" },
	{ 1962, "0101 0115 0321 0429 0503 0505 0923 1103 1123" },
	{ 1963, "0101 0115 0321 0429 0503 0505 0924 1103 1123" },
	{ 1964, "0101 0115 0320 0429 0503 0505 0923 1103 1123" },
	{ 1965, "0101 0115 0321 0429 0503 0505 0923 1103 1123" },
	/* 1966 amendment: 敬老の日 and 体育の日 from this year. */
	{ 1966, "0101 0115 0321 0429 0503 0505 0915 0923 1010 1103 1123" },
	/* 建国記念の日 from 1967. */
	{ 1967, "0101 0115 0211 0321 0429 0503 0505 0915 0924 1010 1103 "
		"1123" },
	{ 1968, "0101 0115 0211 0320 0429 0503 0505 0915 0923 1010 1103 "
		"1123" },
	{ 1969, "0101 0115 0211 0321 0429 0503 0505 0915 0923 1010 1103 "
		"1123" },
	{ 1970, "0101 0115 0211 0321 0429 0503 0505 0915 0923 1010 1103 "
		"1123" },
	{ 1971, "0101 0115 0211 0321 0429 0503 0505 0915 0924 1010 1103 "
		"1123" },
	{ 1972, "0101 0115 0211 0320 0429 0503 0505 0915 0923 1010 1103 "
		"1123" },
	/* Substitute holidays from 1973-04-12: 02-11 (Sunday) has none,
	 * 04-30 is the first one. */
	{ 1973, "0101 0115 0211 0321 0429 0430 0503 0505 0915 0923 0924 "
		"1010 1103 1123" },
	{ 1974, "0101 0115 0211 0321 0429 0503 0505 0506 0915 0916 0923 "
		"1010 1103 1104 1123" },
	{ 1975, "0101 0115 0211 0321 0429 0503 0505 0915 0924 1010 1103 "
		"1123 1124" },
	{ 1976, "0101 0115 0211 0320 0429 0503 0505 0915 0923 1010 1011 "
		"1103 1123" },
	{ 1977, "0101 0115 0211 0321 0429 0503 0505 0915 0923 1010 1103 "
		"1123" },
	{ 1978, "0101 0102 0115 0116 0211 0321 0429 0503 0505 0915 0923 "
		"1010 1103 1123" },
	/* Last 09-24 autumnal equinox day of the century. */
	{ 1979, "0101 0115 0211 0212 0321 0429 0430 0503 0505 0915 0924 "
		"1010 1103 1123" },
	{ 1980, "0101 0115 0211 0320 0429 0503 0505 0915 0923 1010 1103 "
		"1123 1124" },
	/* 05-04 after a Sunday 05-03 is a substitute holiday. */
	{ 1981, "0101 0115 0211 0321 0429 0503 0504 0505 0915 0923 1010 "
		"1103 1123" },
	{ 1982, "0101 0115 0211 0321 0322 0429 0503 0505 0915 0923 1010 "
		"1011 1103 1123" },
	{ 1983, "0101 0115 0211 0321 0429 0503 0505 0915 0923 1010 1103 "
		"1123" },
	{ 1984, "0101 0102 0115 0116 0211 0320 0429 0430 0503 0505 0915 "
		"0923 0924 1010 1103 1123" },
	{ 1985, "0101 0115 0211 0321 0429 0503 0505 0506 0915 0916 0923 "
		"1010 1103 1104 1123" },
	/* 国民の休日 rule in force, but 05-04 is a Sunday: excluded. */
	{ 1986, "0101 0115 0211 0321 0429 0503 0505 0915 0923 1010 1103 "
		"1123 1124" },
	/* 05-04 is a Monday after Sunday 05-03: substitute, not citizens'. */
	{ 1987, "0101 0115 0211 0321 0429 0503 0504 0505 0915 0923 1010 "
		"1103 1123" },
	/* 05-04: first 国民の休日. */
	{ 1988, "0101 0115 0211 0320 0321 0429 0503 0504 0505 0915 0923 "
		"1010 1103 1123" },
	/* Heisei: 02-24 funeral of Emperor Showa; 04-29 becomes みどりの日,
	 * 天皇誕生日 moves to 12-23. */
	{ 1989, "0101 0102 0115 0116 0211 0224 0321 0429 0503 0504 0505 "
		"0915 0923 1010 1103 1123 1223" },
	/* 11-12: enthronement ceremony. */
	{ 1990, "0101 0115 0211 0212 0321 0429 0430 0503 0504 0505 0915 "
		"0923 0924 1010 1103 1112 1123 1223 1224" },
	/* 05-04 is a Saturday: still a 国民の休日. */
	{ 1991, "0101 0115 0211 0321 0429 0503 0504 0505 0506 0915 0916 "
		"0923 1010 1103 1104 1123 1223" },
	{ 1992, "0101 0115 0211 0320 0429 0503 0504 0505 0915 0923 1010 "
		"1103 1123 1223" },
	/* 06-09: wedding of Crown Prince Naruhito. */
	{ 1993, "0101 0115 0211 0320 0429 0503 0504 0505 0609 0915 0923 "
		"1010 1011 1103 1123 1223" },
	{ 1994, "0101 0115 0211 0321 0429 0503 0504 0505 0915 0923 1010 "
		"1103 1123 1223" },
	{ 1995, "0101 0102 0115 0116 0211 0321 0429 0503 0504 0505 0915 "
		"0923 1010 1103 1123 1223" },
	/* 海の日 07-20 from 1996. */
	{ 1996, "0101 0115 0211 0212 0320 0429 0503 0504 0505 0506 0720 "
		"0915 0916 0923 1010 1103 1104 1123 1223" },
	/* 05-04 Sunday: no 国民の休日. */
	{ 1997, "0101 0115 0211 0320 0429 0503 0505 0720 0721 0915 0923 "
		"1010 1103 1123 1124 1223" },
	{ 1998, "0101 0115 0211 0321 0429 0503 0504 0505 0720 0915 0923 "
		"1010 1103 1123 1223" },
	{ 1999, "0101 0115 0211 0321 0322 0429 0503 0504 0505 0720 0915 "
		"0923 1010 1011 1103 1123 1223" },
	/* Happy Monday: 成人の日 and 体育の日 on Mondays from 2000. */
	{ 2000, "0101 0110 0211 0320 0429 0503 0504 0505 0720 0915 0923 "
		"1009 1103 1123 1223" },
	{ 2001, "0101 0108 0211 0212 0320 0429 0430 0503 0504 0505 0720 "
		"0915 0923 0924 1008 1103 1123 1223 1224" },
	{ 2002, "0101 0114 0211 0321 0429 0503 0504 0505 0506 0720 0915 "
		"0916 0923 1014 1103 1104 1123 1223" },
	/* 海の日 and 敬老の日 on Mondays from 2003. */
	{ 2003, "0101 0113 0211 0321 0429 0503 0505 0721 0915 0923 1013 "
		"1103 1123 1124 1223" },
	{ 2004, "0101 0112 0211 0320 0429 0503 0504 0505 0719 0920 0923 "
		"1011 1103 1123 1223" },
	{ 2005, "0101 0110 0211 0320 0321 0429 0503 0504 0505 0718 0919 "
		"0923 1010 1103 1123 1223" },
	{ 2006, "0101 0102 0109 0211 0321 0429 0503 0504 0505 0717 0918 "
		"0923 1009 1103 1123 1223" },
	/* 2007: 昭和の日 04-29, みどりの日 05-04, new substitute rule. */
	{ 2007, "0101 0108 0211 0212 0321 0429 0430 0503 0504 0505 0716 "
		"0917 0923 0924 1008 1103 1123 1223 1224" },
	/* 05-06: substitute for Sunday 05-04 under the 2007 rule. */
	{ 2008, "0101 0114 0211 0320 0429 0503 0504 0505 0506 0721 0915 "
		"0923 1013 1103 1123 1124 1223" },
	/* 09-22: first September 国民の休日. */
	{ 2009, "0101 0112 0211 0320 0429 0503 0504 0505 0506 0720 0921 "
		"0922 0923 1012 1103 1123 1223" },
	{ 2010, "0101 0111 0211 0321 0322 0429 0503 0504 0505 0719 0920 "
		"0923 1011 1103 1123 1223" },
	{ 2011, "0101 0110 0211 0321 0429 0503 0504 0505 0718 0919 0923 "
		"1010 1103 1123 1223" },
	/* 09-22: first 09-22 autumnal equinox day since 1896. */
	{ 2012, "0101 0102 0109 0211 0320 0429 0430 0503 0504 0505 0716 "
		"0917 0922 1008 1103 1123 1223 1224" },
	{ 2013, "0101 0114 0211 0320 0429 0503 0504 0505 0506 0715 0916 "
		"0923 1014 1103 1104 1123 1223" },
	{ 2014, "0101 0113 0211 0321 0429 0503 0504 0505 0506 0721 0915 "
		"0923 1013 1103 1123 1124 1223" },
	{ 2015, "0101 0112 0211 0321 0429 0503 0504 0505 0506 0720 0921 "
		"0922 0923 1012 1103 1123 1223" },
	/* 山の日 08-11 from 2016. */
	{ 2016, "0101 0111 0211 0320 0321 0429 0503 0504 0505 0718 0811 "
		"0919 0922 1010 1103 1123 1223" },
	{ 2017, "0101 0102 0109 0211 0320 0429 0503 0504 0505 0717 0811 "
		"0918 0923 1009 1103 1123 1223" },
	{ 2018, "0101 0108 0211 0212 0321 0429 0430 0503 0504 0505 0716 "
		"0811 0917 0923 0924 1008 1103 1123 1223 1224" },
	/* 2019: accession 05-01 and enthronement ceremony 10-22; 04-30 and
	 * 05-02 国民の休日; 05-06 substitute; no 天皇誕生日. 22 days. */
	{ 2019, "0101 0114 0211 0321 0429 0430 0501 0502 0503 0504 0505 "
		"0506 0715 0811 0812 0916 0923 1014 1022 1103 1104 1123" },
	/* Olympics: 海の日 07-23, スポーツの日 07-24, 山の日 08-10;
	 * 天皇誕生日 02-23 from 2020. */
	{ 2020, "0101 0113 0211 0223 0224 0320 0429 0503 0504 0505 0506 "
		"0723 0724 0810 0921 0922 1103 1123" },
	/* Olympics: 海の日 07-22, スポーツの日 07-23, 山の日 08-08 (Sunday,
	 * so 08-09 substitute). */
	{ 2021, "0101 0111 0211 0223 0320 0429 0503 0504 0505 0722 0723 "
		"0808 0809 0920 0923 1103 1123" },
	{ 2022, "0101 0110 0211 0223 0321 0429 0503 0504 0505 0718 0811 "
		"0919 0923 1010 1103 1123" },
	{ 2023, "0101 0102 0109 0211 0223 0321 0429 0503 0504 0505 0717 "
		"0811 0918 0923 1009 1103 1123" },
	/* 09-22 equinox on a Sunday: 09-23 substitute. */
	{ 2024, "0101 0108 0211 0212 0223 0320 0429 0503 0504 0505 0506 "
		"0715 0811 0812 0916 0922 0923 1014 1103 1104 1123" },
	{ 2025, "0101 0113 0211 0223 0224 0320 0429 0503 0504 0505 0506 "
		"0721 0811 0915 0923 1013 1103 1123 1124" },
	/* Vernal equinox 03-20 (the first y % 4 == 2 year with 03-20 in this
	 * table); 09-22 国民の休日. */
	{ 2026, "0101 0112 0211 0223 0320 0429 0503 0504 0505 0506 0720 "
		"0811 0921 0922 0923 1012 1103 1123" },
	/* Equinoxes 03-21 (Sunday, so 03-22 substitute) and 09-23. */
	{ 2027, "0101 0111 0211 0223 0321 0322 0429 0503 0504 0505 0719 "
		"0811 0920 0923 1011 1103 1123" },
};

static civil_day ymd(int y, int m, int d)
{
	return civil_from_ymd(y, m, d);
}

/* Parses "MMDD MMDD ..." into day numbers of year; returns the count. */
static size_t parse_dates(int year, const char *s, civil_day *out,
			  size_t max)
{
	size_t n = 0;

	while (*s != '\0') {
		int mmdd;
		char *end;

		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		mmdd = (int)strtol(s, &end, 10);
		assert_true(end == s + 4);
		assert_true(civil_valid_ymd(year, mmdd / 100, mmdd % 100));
		assert_true(n < max);
		out[n] = ymd(year, mmdd / 100, mmdd % 100);
		/* The transcription itself must be sorted, no duplicates. */
		assert_true(n == 0 || out[n - 1] < out[n]);
		n++;
		s = end;
	}
	return n;
}

static void print_days(const char *label, const civil_day *d, size_t n)
{
	char buf[11];

	fprintf(stderr, "#   %s:", label);
	for (size_t i = 0; i < n; i++) {
		civil_format(d[i], buf);
		fprintf(stderr, " %s", buf + 5);
	}
	fprintf(stderr, "\n");
}

static void test_published_years(void **state)
{
	int failures = 0;

	(void)state;
	/* The table must cover every year 1955-2027, in order. */
	assert_int_equal(sizeof published / sizeof published[0],
			 2027 - 1955 + 1);
	for (size_t i = 0; i < sizeof published / sizeof published[0]; i++) {
		int year = published[i].year;
		civil_day want[JHOL_MAX_PER_YEAR];
		civil_day got[JHOL_MAX_PER_YEAR];
		struct jhol_entry list[JHOL_MAX_PER_YEAR];
		size_t nwant, ngot;
		bool same;

		assert_int_equal(year, 1955 + (int)i);
		nwant = parse_dates(year, published[i].dates, want,
				    JHOL_MAX_PER_YEAR);
		assert_int_equal(jhol_year(year, list, &ngot), TDK_OK);
		for (size_t k = 0; k < ngot; k++)
			got[k] = list[k].day;
		same = nwant == ngot &&
		       memcmp(want, got, ngot * sizeof got[0]) == 0;
		if (!same) {
			fprintf(stderr, "# %d differs from the published list\n",
				year);
			print_days("published", want, nwant);
			print_days("computed ", got, ngot);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Asserts that y-m-d is a holiday of the given kind and names. */
static void expect(int y, int m, int d, enum jhol_kind kind,
		   const char *ja, const char *en)
{
	struct jhol_entry e;

	memset(&e, 0, sizeof e);
	if (jhol_lookup(ymd(y, m, d), &e) != 1)
		fail_msg("%04d-%02d-%02d should be a holiday", y, m, d);
	assert_int_equal(e.day, ymd(y, m, d));
	assert_int_equal(e.kind, kind);
	if (ja != NULL)
		assert_string_equal(e.name_ja, ja);
	if (en != NULL)
		assert_string_equal(e.name_en, en);
}

static void expect_none(int y, int m, int d)
{
	if (jhol_lookup(ymd(y, m, d), NULL) != 0)
		fail_msg("%04d-%02d-%02d should not be a holiday", y, m, d);
}

static void test_2019(void **state)
{
	struct jhol_entry list[JHOL_MAX_PER_YEAR];
	size_t n;

	(void)state;
	assert_int_equal(jhol_year(2019, list, &n), TDK_OK);
	assert_int_equal(n, 22);
	expect(2019, 4, 29, JHOL_NATIONAL, "昭和の日", "Showa Day");
	expect(2019, 4, 30, JHOL_CITIZENS, "国民の休日", "Citizens' Holiday");
	expect(2019, 5, 1, JHOL_SPECIAL, "天皇の即位の日", NULL);
	expect(2019, 5, 2, JHOL_CITIZENS, "国民の休日", "Citizens' Holiday");
	expect(2019, 5, 3, JHOL_NATIONAL, "憲法記念日", NULL);
	expect(2019, 5, 6, JHOL_SUBSTITUTE, "振替休日", "Substitute Holiday");
	expect(2019, 10, 22, JHOL_SPECIAL, "即位礼正殿の儀", NULL);
	/* The Emperor's Birthday moved from 12-23 to 02-23 on 2019-05-01. */
	expect_none(2019, 2, 23);
	expect_none(2019, 12, 23);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(list[i].name_ja, "天皇誕生日");
	expect(2018, 12, 23, JHOL_NATIONAL, "天皇誕生日", "Emperor's Birthday");
	expect(2020, 2, 23, JHOL_NATIONAL, "天皇誕生日", "Emperor's Birthday");
	expect(2020, 2, 24, JHOL_SUBSTITUTE, "振替休日", NULL);
}

static void test_olympics(void **state)
{
	(void)state;
	expect(2020, 7, 23, JHOL_NATIONAL, "海の日", "Marine Day");
	expect(2020, 7, 24, JHOL_NATIONAL, "スポーツの日", "Sports Day");
	expect(2020, 8, 10, JHOL_NATIONAL, "山の日", "Mountain Day");
	expect_none(2020, 7, 20);
	expect_none(2020, 8, 11);
	expect_none(2020, 10, 12);
	expect(2021, 7, 22, JHOL_NATIONAL, "海の日", "Marine Day");
	expect(2021, 7, 23, JHOL_NATIONAL, "スポーツの日", "Sports Day");
	expect(2021, 8, 8, JHOL_NATIONAL, "山の日", "Mountain Day");
	expect(2021, 8, 9, JHOL_SUBSTITUTE, "振替休日", NULL);
	expect_none(2021, 7, 19);
	expect_none(2021, 8, 11);
	expect_none(2021, 10, 11);
	/* Back to the Monday rules in 2022, under the new name. */
	expect(2022, 7, 18, JHOL_NATIONAL, "海の日", NULL);
	expect(2022, 10, 10, JHOL_NATIONAL, "スポーツの日", "Sports Day");
	expect(2019, 10, 14, JHOL_NATIONAL, "体育の日",
	       "Health and Sports Day");
}

static void test_special_days(void **state)
{
	(void)state;
	expect(1959, 4, 10, JHOL_SPECIAL, "皇太子明仁親王の結婚の儀", NULL);
	expect(1989, 2, 24, JHOL_SPECIAL, "昭和天皇の大喪の礼", NULL);
	expect(1990, 11, 12, JHOL_SPECIAL, "即位礼正殿の儀", NULL);
	expect(1993, 6, 9, JHOL_SPECIAL, "皇太子徳仁親王の結婚の儀", NULL);
	expect(2019, 5, 1, JHOL_SPECIAL, NULL, NULL);
	expect(2019, 10, 22, JHOL_SPECIAL, NULL, NULL);
	/* Only those years. */
	expect_none(1960, 4, 10);
	expect_none(1990, 2, 24);
	expect_none(1991, 11, 12);
	expect_none(2020, 5, 1);
	expect_none(2020, 10, 22);
}

static void test_substitute_rules(void **state)
{
	(void)state;
	/* Before the 1973 amendment, Sunday holidays gave nothing. */
	expect_none(1956, 1, 2);
	expect_none(1973, 2, 12);
	/* First substitute holiday: 1973-04-29 was a Sunday. */
	expect(1973, 4, 30, JHOL_SUBSTITUTE, "振替休日", "Substitute Holiday");
	/* 1973 rule: 05-04 after Sunday 05-03 (05-04 not yet a holiday). */
	expect(1987, 5, 4, JHOL_SUBSTITUTE, "振替休日", NULL);
	expect(1998, 5, 4, JHOL_SUBSTITUTE, NULL, NULL);
	/* 2007 rule: the next day that is not a holiday. */
	expect(2008, 5, 4, JHOL_NATIONAL, "みどりの日", "Greenery Day");
	expect(2008, 5, 6, JHOL_SUBSTITUTE, "振替休日", NULL);
	expect(2009, 5, 6, JHOL_SUBSTITUTE, NULL, NULL);
	expect(2014, 5, 6, JHOL_SUBSTITUTE, NULL, NULL);
	expect(2024, 9, 23, JHOL_SUBSTITUTE, NULL, NULL);
	/* Under the 1973 rule a Sunday 05-04 gave nothing. */
	expect_none(1997, 5, 4);
	expect_none(2003, 5, 6);
}

static void test_citizens_rules(void **state)
{
	(void)state;
	/* First 国民の休日. */
	expect(1988, 5, 4, JHOL_CITIZENS, "国民の休日", "Citizens' Holiday");
	/* The rule came in 1985-12-27; 1986-05-04 was a Sunday. */
	expect_none(1985, 5, 4);
	expect_none(1986, 5, 4);
	/* Saturday is not excluded. */
	expect(1991, 5, 4, JHOL_CITIZENS, NULL, NULL);
	expect(2006, 5, 4, JHOL_CITIZENS, NULL, NULL);
	/* September sandwiches from 2009. */
	expect(2009, 9, 22, JHOL_CITIZENS, "国民の休日", NULL);
	expect(2015, 9, 22, JHOL_CITIZENS, NULL, NULL);
	expect(2026, 9, 22, JHOL_CITIZENS, NULL, NULL);
	expect(2032, 9, 21, JHOL_CITIZENS, NULL, NULL);
	expect(2037, 9, 22, JHOL_CITIZENS, NULL, NULL);
	/* 2020-09-22 is the equinox itself; 2020-09-21 敬老の日. */
	expect(2020, 9, 22, JHOL_NATIONAL, "秋分の日", NULL);
}

static void test_names(void **state)
{
	(void)state;
	expect(1970, 1, 1, JHOL_NATIONAL, "元日", "New Year's Day");
	expect(1970, 1, 15, JHOL_NATIONAL, "成人の日", "Coming of Age Day");
	expect(2024, 1, 8, JHOL_NATIONAL, "成人の日", "Coming of Age Day");
	expect(1967, 2, 11, JHOL_NATIONAL, "建国記念の日",
	       "National Foundation Day");
	expect_none(1966, 2, 11);
	expect(1988, 4, 29, JHOL_NATIONAL, "天皇誕生日", "Emperor's Birthday");
	expect(1989, 4, 29, JHOL_NATIONAL, "みどりの日", "Greenery Day");
	expect(2006, 4, 29, JHOL_NATIONAL, "みどりの日", "Greenery Day");
	expect(2007, 4, 29, JHOL_NATIONAL, "昭和の日", "Showa Day");
	expect(1989, 12, 23, JHOL_NATIONAL, "天皇誕生日", NULL);
	expect(2000, 3, 20, JHOL_NATIONAL, "春分の日", "Vernal Equinox Day");
	expect(2000, 5, 3, JHOL_NATIONAL, "憲法記念日",
	       "Constitution Memorial Day");
	expect(2000, 5, 5, JHOL_NATIONAL, "こどもの日", "Children's Day");
	expect(1996, 7, 20, JHOL_NATIONAL, "海の日", "Marine Day");
	expect_none(1995, 7, 20);
	expect(2016, 8, 11, JHOL_NATIONAL, "山の日", "Mountain Day");
	expect_none(2015, 8, 11);
	expect(1966, 9, 15, JHOL_NATIONAL, "敬老の日",
	       "Respect for the Aged Day");
	expect(2003, 9, 15, JHOL_NATIONAL, "敬老の日", NULL);
	expect(2000, 9, 23, JHOL_NATIONAL, "秋分の日", "Autumnal Equinox Day");
	expect(1966, 10, 10, JHOL_NATIONAL, "体育の日",
	       "Health and Sports Day");
	expect(2000, 10, 9, JHOL_NATIONAL, "体育の日", NULL);
	expect(2000, 11, 3, JHOL_NATIONAL, "文化の日", "Culture Day");
	expect(2000, 11, 23, JHOL_NATIONAL, "勤労感謝の日",
	       "Labour Thanksgiving Day");
	expect_none(2000, 1, 15);
	expect_none(2000, 10, 10);
}

/* Equinox days: published through 2027, the standard formula after. */
static void test_equinoxes(void **state)
{
	static const struct {
		int year, spring, autumn;
	} eq[] = {
		{ 1955, 21, 24 }, { 1956, 21, 23 }, { 1959, 21, 24 },
		{ 1960, 20, 23 }, { 1963, 21, 24 }, { 1968, 20, 23 },
		{ 1975, 21, 24 }, { 1976, 20, 23 }, { 1978, 21, 23 },
		{ 1979, 21, 24 }, { 1980, 20, 23 }, { 1983, 21, 23 },
		{ 1988, 20, 23 }, { 1992, 20, 23 }, { 1993, 20, 23 },
		{ 1995, 21, 23 }, { 1997, 20, 23 }, { 2000, 20, 23 },
		{ 2005, 20, 23 }, { 2011, 21, 23 }, { 2012, 20, 22 },
		{ 2016, 20, 22 }, { 2019, 21, 23 }, { 2020, 20, 22 },
		{ 2022, 21, 23 }, { 2023, 21, 23 }, { 2024, 20, 22 },
		{ 2025, 20, 23 }, { 2026, 20, 23 }, { 2027, 21, 23 },
		/* From the formula (each agrees with an astronomical
		 * computation of the equinox in JST). 2092 and 2096 fall on
		 * 03-19; 2099 is 03-20, not 03-21. */
		{ 2030, 20, 23 }, { 2032, 20, 22 }, { 2044, 20, 22 },
		{ 2050, 20, 23 }, { 2055, 21, 23 }, { 2059, 20, 23 },
		{ 2060, 20, 22 }, { 2075, 20, 23 }, { 2092, 19, 22 },
		{ 2096, 19, 22 }, { 2099, 20, 23 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof eq / sizeof eq[0]; i++) {
		expect(eq[i].year, 3, eq[i].spring, JHOL_NATIONAL, "春分の日",
		       "Vernal Equinox Day");
		expect(eq[i].year, 9, eq[i].autumn, JHOL_NATIONAL, "秋分の日",
		       "Autumnal Equinox Day");
	}
}

static void test_range(void **state)
{
	struct jhol_entry list[JHOL_MAX_PER_YEAR];
	struct jhol_entry e;
	size_t n = 99;

	(void)state;
	assert_int_equal(jhol_year(1954, list, &n), TDK_ERANGE);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(jhol_year(2100, list, &n), TDK_ERANGE);
	assert_int_equal(n, 0);
	assert_int_equal(jhol_year(-1, list, &n), TDK_ERANGE);
	assert_int_equal(jhol_year(1955, list, &n), TDK_OK);
	assert_int_equal(jhol_year(2099, list, &n), TDK_OK);
	assert_int_equal(jhol_year(2000, NULL, &n), TDK_EINVAL);
	assert_int_equal(jhol_year(2000, list, NULL), TDK_EINVAL);

	assert_int_equal(jhol_lookup(ymd(1954, 1, 1), &e), 0);
	assert_false(jhol_in_range(ymd(1954, 1, 1)));
	assert_false(jhol_in_range(ymd(1954, 12, 31)));
	assert_true(jhol_in_range(ymd(1955, 1, 1)));
	assert_true(jhol_in_range(ymd(2099, 12, 31)));
	assert_false(jhol_in_range(ymd(2100, 1, 1)));
	assert_int_equal(jhol_lookup(ymd(2100, 1, 1), NULL), 0);
	assert_int_equal(jhol_lookup(ymd(1955, 1, 1), NULL), 1);
	assert_int_equal(jhol_lookup(ymd(2099, 1, 1), NULL), 1);
	assert_int_equal(jhol_lookup(INT32_MIN, NULL), 0);
	assert_int_equal(jhol_lookup(INT32_MAX, NULL), 0);
}

static bool in_list(const struct jhol_entry *l, size_t n, civil_day d,
		    enum jhol_kind kind)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].day == d && l[i].kind == kind)
			return true;
	return false;
}

/* Structural properties of every year the module covers. */
static void test_invariants(void **state)
{
	(void)state;
	for (int y = JHOL_FIRST_YEAR; y <= JHOL_LAST_YEAR; y++) {
		struct jhol_entry l[JHOL_MAX_PER_YEAR];
		size_t n;

		assert_int_equal(jhol_year(y, l, &n), TDK_OK);
		assert_in_range(n, 9, 22);
		for (size_t i = 0; i < n; i++) {
			int yy, mm, dd;

			civil_to_ymd(l[i].day, &yy, &mm, &dd);
			assert_int_equal(yy, y);
			/* Sorted, hence also no date twice. */
			if (i > 0)
				assert_true(l[i - 1].day < l[i].day);
			assert_non_null(l[i].name_ja);
			assert_non_null(l[i].name_en);
			assert_true(strlen(l[i].name_ja) > 0);
			assert_true(strlen(l[i].name_en) > 0);

			if (l[i].kind == JHOL_SUBSTITUTE) {
				/* Walk back over the holiday chain to its
				 * Sunday; before 2007 the chain is one day. */
				civil_day d = l[i].day - 1;

				assert_string_equal(l[i].name_ja, "振替休日");
				while (civil_weekday(d) != CIVIL_SUNDAY) {
					assert_true(y >= 2007);
					assert_true(in_list(l, n, d,
							    JHOL_NATIONAL));
					d--;
				}
				assert_true(in_list(l, n, d, JHOL_NATIONAL));
				assert_true(d >= ymd(1973, 4, 12));
			} else if (l[i].kind == JHOL_CITIZENS) {
				civil_day d = l[i].day;

				assert_string_equal(l[i].name_ja,
						    "国民の休日");
				assert_true(d >= ymd(1985, 12, 27));
				assert_true(in_list(l, n, d - 1,
						    JHOL_NATIONAL) ||
					    in_list(l, n, d - 1,
						    JHOL_SPECIAL));
				assert_true(in_list(l, n, d + 1,
						    JHOL_NATIONAL) ||
					    in_list(l, n, d + 1,
						    JHOL_SPECIAL));
				assert_int_not_equal(civil_weekday(d),
						     CIVIL_SUNDAY);
			} else if (l[i].kind == JHOL_NATIONAL &&
				   civil_weekday(l[i].day) == CIVIL_SUNDAY &&
				   l[i].day >= ymd(1973, 4, 12)) {
				/* Every Sunday holiday after 1973 is
				 * followed by a substitute, directly or
				 * after the rest of its chain. */
				civil_day d = l[i].day + 1;

				while (in_list(l, n, d, JHOL_NATIONAL))
					d++;
				assert_true(in_list(l, n, d,
						    JHOL_SUBSTITUTE) ||
					    y < 2007);
			}
		}
	}
}

/* jhol_lookup() agrees with jhol_year() on every day of the range. */
static void test_lookup_matches_year(void **state)
{
	civil_day first = ymd(JHOL_FIRST_YEAR, 1, 1);
	civil_day last = ymd(JHOL_LAST_YEAR, 12, 31);
	struct jhol_entry l[JHOL_MAX_PER_YEAR];
	size_t n = 0, k = 0;
	int year = 0;

	(void)state;
	for (civil_day d = first; d <= last; d++) {
		int y, m, dd;
		struct jhol_entry e;
		int r;

		civil_to_ymd(d, &y, &m, &dd);
		if (y != year) {
			assert_int_equal(jhol_year(y, l, &n), TDK_OK);
			year = y;
			k = 0;
		}
		r = jhol_lookup(d, &e);
		if (k < n && l[k].day == d) {
			assert_int_equal(r, 1);
			assert_int_equal(e.day, d);
			assert_int_equal(e.kind, l[k].kind);
			assert_ptr_equal(e.name_ja, l[k].name_ja);
			assert_ptr_equal(e.name_en, l[k].name_en);
			k++;
		} else {
			assert_int_equal(r, 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_years),
		cmocka_unit_test(test_2019),
		cmocka_unit_test(test_olympics),
		cmocka_unit_test(test_special_days),
		cmocka_unit_test(test_substitute_rules),
		cmocka_unit_test(test_citizens_rules),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_equinoxes),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_lookup_matches_year),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
