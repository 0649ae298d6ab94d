/*
 * civil.c - day numbers for proleptic Gregorian dates.
 *
 * The conversion counts in 400-year eras starting on March 1, so that the
 * leap day is the last day of each shifted year.
 */
#include "civil.h"
#include "status.h"

#include <ctype.h>

civil_day civil_from_ymd(int year, int month, int day)
{
	int y = month <= 2 ? year - 1 : year;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int mp = (month + 9) % 12;
	int doy = (153 * mp + 2) / 5 + day - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (civil_day)(era * 146097 + doe - 719468);
}

void civil_to_ymd(civil_day d, int *year, int *month, int *day)
{
	int z = d + 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;
	int m = mp < 10 ? mp + 3 : mp - 9;

	*year = yoe + era * 400 + (m <= 2);
	*month = m;
	*day = doy - (153 * mp + 2) / 5 + 1;
}

int civil_weekday(civil_day d)
{
	/* 1970-01-01 was a Thursday. */
	int w = (int)((d + 4) % 7);
	return w < 0 ? w + 7 : w;
}

bool civil_is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int civil_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };

	if (month == 2 && civil_is_leap_year(year))
		return 29;
	return days[month - 1];
}

bool civil_valid_ymd(int year, int month, int day)
{
	return year >= 1 && year <= 9999 && month >= 1 && month <= 12 &&
	       day >= 1 && day <= civil_days_in_month(year, month);
}

int civil_parse_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int civil_parse(const char *text, civil_day *out)
{
	int y, m, d;

	if (text == NULL)
		return TDK_EINVAL;
	y = civil_parse_digits(text, 4);
	if (y < 0 || text[4] != '-')
		return TDK_ESYNTAX;
	m = civil_parse_digits(text + 5, 2);
	if (m < 0 || text[7] != '-')
		return TDK_ESYNTAX;
	d = civil_parse_digits(text + 8, 2);
	if (d < 0 || text[10] != '\0')
		return TDK_ESYNTAX;
	if (!civil_valid_ymd(y, m, d))
		return TDK_ERANGE;
	*out = civil_from_ymd(y, m, d);
	return TDK_OK;
}

void civil_format(civil_day d, char buf[static 11])
{
	int y, m, dd;

	civil_to_ymd(d, &y, &m, &dd);
	buf[0] = (char)('0' + y / 1000 % 10);
	buf[1] = (char)('0' + y / 100 % 10);
	buf[2] = (char)('0' + y / 10 % 10);
	buf[3] = (char)('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + m / 10);
	buf[6] = (char)('0' + m % 10);
	buf[7] = '-';
	buf[8] = (char)('0' + dd / 10);
	buf[9] = (char)('0' + dd % 10);
	buf[10] = '\0';
}
