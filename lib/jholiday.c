/*
 * jholiday.c - Japanese national holidays computed from the law.
 *
 * A year is built in four passes over a per-day table:
 *   1. the named holidays (国民の祝日) in force that year (Art. 2 and its
 *      amendments, plus the 2020/2021 Olympic special measures);
 *   2. the one-off holidays set by special acts;
 *   3. 振替休日 (Art. 3(2)): from 1973-04-12, a holiday on a Sunday gives
 *      the next day; from 2007, the nearest later day that is not a
 *      holiday;
 *   4. 国民の休日 (Art. 3(3)): from 1985-12-27, a day whose neighbours are
 *      both named holidays; until 2006 not if it is a Sunday or a
 *      substitute holiday, from 2007 only if it is not itself a holiday.
 * Equinox days use the usual approximation of the observatory's tables,
 * evaluated in fixed point so no rounding of doubles is involved.
 */
#include "jholiday.h"
#include "status.h"

struct jhol_name {
	const char *ja;
	const char *en;
};

static const struct jhol_name N_NEW_YEAR = { "元日", "New Year's Day" };
static const struct jhol_name N_COMING_OF_AGE = { "成人の日",
						  "Coming of Age Day" };
static const struct jhol_name N_FOUNDATION = { "建国記念の日",
					       "National Foundation Day" };
static const struct jhol_name N_EMPEROR = { "天皇誕生日",
					    "Emperor's Birthday" };
static const struct jhol_name N_VERNAL = { "春分の日",
					   "Vernal Equinox Day" };
static const struct jhol_name N_SHOWA = { "昭和の日", "Showa Day" };
static const struct jhol_name N_GREENERY = { "みどりの日", "Greenery Day" };
static const struct jhol_name N_CONSTITUTION = { "憲法記念日",
						 "Constitution Memorial Day" };
static const struct jhol_name N_CHILDREN = { "こどもの日",
					     "Children's Day" };
static const struct jhol_name N_MARINE = { "海の日", "Marine Day" };
static const struct jhol_name N_MOUNTAIN = { "山の日", "Mountain Day" };
static const struct jhol_name N_AGED = { "敬老の日",
					 "Respect for the Aged Day" };
static const struct jhol_name N_AUTUMNAL = { "秋分の日",
					     "Autumnal Equinox Day" };
static const struct jhol_name N_HEALTH_SPORTS = { "体育の日",
						  "Health and Sports Day" };
static const struct jhol_name N_SPORTS = { "スポーツの日", "Sports Day" };
static const struct jhol_name N_CULTURE = { "文化の日", "Culture Day" };
static const struct jhol_name N_LABOUR = { "勤労感謝の日",
					   "Labour Thanksgiving Day" };
static const struct jhol_name N_SUBSTITUTE = { "振替休日",
					       "Substitute Holiday" };
static const struct jhol_name N_CITIZENS = { "国民の休日",
					     "Citizens' Holiday" };

/*
 * One-off holidays. The 2019 act deems its two days 国民の祝日 for
 * Art. 3(3), which is what makes 2019-04-30 and 2019-05-02 国民の休日;
 * the earlier acts do not, and no other day of theirs could be affected.
 */
static const struct special {
	int y, m, d;
	bool deemed_national;
	struct jhol_name name;
} specials[] = {
	{ 1959, 4, 10, false,
	  { "皇太子明仁親王の結婚の儀",
	    "Wedding Ceremony of Crown Prince Akihito" } },
	{ 1989, 2, 24, false,
	  { "昭和天皇の大喪の礼", "Funeral Ceremony of Emperor Showa" } },
	{ 1990, 11, 12, false,
	  { "即位礼正殿の儀", "Ceremony of the Enthronement of the Emperor" } },
	{ 1993, 6, 9, false,
	  { "皇太子徳仁親王の結婚の儀",
	    "Wedding Ceremony of Crown Prince Naruhito" } },
	{ 2019, 5, 1, true,
	  { "天皇の即位の日", "Day of the Emperor's Enthronement" } },
	{ 2019, 10, 22, true,
	  { "即位礼正殿の儀", "Ceremony of the Enthronement of the Emperor" } },
};

/* One slot per day of the year being built; kind 0 = working day. */
struct slot {
	int kind;
	bool counts_national; /* a 国民の祝日 for Art. 3(3) */
	const struct jhol_name *name;
};

struct year_table {
	int year;
	civil_day first; /* day number of January 1 */
	int ndays;
	struct slot s[366];
};

static int day_index(const struct year_table *t, int month, int day)
{
	return (int)(civil_from_ymd(t->year, month, day) - t->first);
}

static void mark(struct year_table *t, int idx, int kind, bool national,
		 const struct jhol_name *name)
{
	if (idx < 0 || idx >= t->ndays || t->s[idx].kind != 0)
		return;
	t->s[idx].kind = kind;
	t->s[idx].counts_national = national;
	t->s[idx].name = name;
}

static void named(struct year_table *t, int month, int day,
		  const struct jhol_name *name)
{
	mark(t, day_index(t, month, day), JHOL_NATIONAL, true, name);
}

/* Day of month of the n-th Monday of month. */
static int nth_monday(int year, int month, int n)
{
	int wd = civil_weekday(civil_from_ymd(year, month, 1));
	int first = 1 + (CIVIL_MONDAY - wd + 7) % 7;

	return first + 7 * (n - 1);
}

/*
 * Day of March of 春分の日 and of September of 秋分の日:
 * int(base + 0.242194 * (y - 1980) - int((y - ref) / 4)), with
 * base/ref 20.8357, 23.2588 / 1983 up to 1979 and 20.8431, 23.2488 / 1980
 * from 1980. Fixed point in millionths; C division truncates toward zero
 * like the formula's int().
 */
static int equinox_day(int year, bool autumn)
{
	long base, ref;

	if (year <= 1979) {
		base = autumn ? 23258800L : 20835700L;
		ref = 1983;
	} else {
		base = autumn ? 23248800L : 20843100L;
		ref = 1980;
	}
	return (int)((base + 242194L * (year - 1980) -
		      1000000L * ((year - ref) / 4)) / 1000000L);
}

static void add_named(struct year_table *t)
{
	int y = t->year;

	named(t, 1, 1, &N_NEW_YEAR);

	if (y < 2000)
		named(t, 1, 15, &N_COMING_OF_AGE);
	else
		named(t, 1, nth_monday(y, 1, 2), &N_COMING_OF_AGE);

	/* Added by the 1966 amendment; the date came by cabinet order. */
	if (y >= 1967)
		named(t, 2, 11, &N_FOUNDATION);

	/* Moves with each reign; none in 2019 (the change took effect on
	 * 2019-05-01, between the old and the new date). */
	if (y <= 1988)
		named(t, 4, 29, &N_EMPEROR);
	else if (y <= 2018)
		named(t, 12, 23, &N_EMPEROR);
	else if (y >= 2020)
		named(t, 2, 23, &N_EMPEROR);

	named(t, 3, equinox_day(y, false), &N_VERNAL);

	if (y >= 1989 && y <= 2006)
		named(t, 4, 29, &N_GREENERY);
	else if (y >= 2007)
		named(t, 4, 29, &N_SHOWA);

	named(t, 5, 3, &N_CONSTITUTION);
	if (y >= 2007)
		named(t, 5, 4, &N_GREENERY);
	named(t, 5, 5, &N_CHILDREN);

	if (y == 2020)
		named(t, 7, 23, &N_MARINE);
	else if (y == 2021)
		named(t, 7, 22, &N_MARINE);
	else if (y >= 2003)
		named(t, 7, nth_monday(y, 7, 3), &N_MARINE);
	else if (y >= 1996)
		named(t, 7, 20, &N_MARINE);

	if (y == 2020)
		named(t, 8, 10, &N_MOUNTAIN);
	else if (y == 2021)
		named(t, 8, 8, &N_MOUNTAIN);
	else if (y >= 2016)
		named(t, 8, 11, &N_MOUNTAIN);

	if (y >= 2003)
		named(t, 9, nth_monday(y, 9, 3), &N_AGED);
	else if (y >= 1966)
		named(t, 9, 15, &N_AGED);

	named(t, 9, equinox_day(y, true), &N_AUTUMNAL);

	if (y == 2020)
		named(t, 7, 24, &N_SPORTS);
	else if (y == 2021)
		named(t, 7, 23, &N_SPORTS);
	else if (y >= 2022)
		named(t, 10, nth_monday(y, 10, 2), &N_SPORTS);
	else if (y >= 2000)
		named(t, 10, nth_monday(y, 10, 2), &N_HEALTH_SPORTS);
	else if (y >= 1966)
		named(t, 10, 10, &N_HEALTH_SPORTS);

	named(t, 11, 3, &N_CULTURE);
	named(t, 11, 23, &N_LABOUR);
}

static void add_specials(struct year_table *t)
{
	for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
		const struct special *sp = &specials[i];

		if (sp->y == t->year)
			mark(t, day_index(t, sp->m, sp->d), JHOL_SPECIAL,
			     sp->deemed_national, &sp->name);
	}
}

static void add_substitutes(struct year_table *t)
{
	civil_day start = civil_from_ymd(1973, 4, 12);
	bool nearest_rule = t->year >= 2007;

	for (int i = 0; i < t->ndays; i++) {
		civil_day d = t->first + i;
		int j = i + 1;

		if (t->s[i].kind != JHOL_NATIONAL || d < start ||
		    civil_weekday(d) != CIVIL_SUNDAY)
			continue;
		/* 1973 rule: the next day only; 2007 rule: skip holidays. */
		if (nearest_rule)
			while (j < t->ndays && t->s[j].kind == JHOL_NATIONAL)
				j++;
		mark(t, j, JHOL_SUBSTITUTE, false, &N_SUBSTITUTE);
	}
}

static void add_citizens(struct year_table *t)
{
	civil_day start = civil_from_ymd(1985, 12, 27);
	bool old_rule = t->year < 2007;

	for (int i = 1; i + 1 < t->ndays; i++) {
		civil_day d = t->first + i;

		if (d < start || t->s[i].kind != 0 ||
		    !t->s[i - 1].counts_national ||
		    !t->s[i + 1].counts_national)
			continue;
		if (old_rule && civil_weekday(d) == CIVIL_SUNDAY)
			continue;
		mark(t, i, JHOL_CITIZENS, false, &N_CITIZENS);
	}
}

int jhol_year(int year, struct jhol_entry out[JHOL_MAX_PER_YEAR],
	      size_t *count)
{
	struct year_table t = { 0 };
	size_t n = 0;

	if (count != NULL)
		*count = 0;
	if (out == NULL || count == NULL)
		return TDK_EINVAL;
	if (year < JHOL_FIRST_YEAR || year > JHOL_LAST_YEAR)
		return TDK_ERANGE;

	t.year = year;
	t.first = civil_from_ymd(year, 1, 1);
	t.ndays = civil_is_leap_year(year) ? 366 : 365;

	add_named(&t);
	add_specials(&t);
	add_substitutes(&t);
	add_citizens(&t);

	for (int i = 0; i < t.ndays && n < JHOL_MAX_PER_YEAR; i++) {
		if (t.s[i].kind == 0)
			continue;
		out[n].day = t.first + i;
		out[n].kind = (enum jhol_kind)t.s[i].kind;
		out[n].name_ja = t.s[i].name->ja;
		out[n].name_en = t.s[i].name->en;
		n++;
	}
	*count = n;
	return TDK_OK;
}

bool jhol_in_range(civil_day day)
{
	return day >= civil_from_ymd(JHOL_FIRST_YEAR, 1, 1) &&
	       day <= civil_from_ymd(JHOL_LAST_YEAR, 12, 31);
}

int jhol_lookup(civil_day day, struct jhol_entry *entry)
{
	struct jhol_entry list[JHOL_MAX_PER_YEAR];
	size_t n;
	int y, m, d;

	if (!jhol_in_range(day))
		return 0;
	civil_to_ymd(day, &y, &m, &d);
	if (jhol_year(y, list, &n) != TDK_OK)
		return 0;
	for (size_t i = 0; i < n && list[i].day <= day; i++) {
		if (list[i].day == day) {
			if (entry != NULL)
				*entry = list[i];
			return 1;
		}
	}
	return 0;
}
