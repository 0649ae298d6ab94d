/*
 * fixreport.c - reading a 修正完了報告書 (see fixreport.h for the rules).
 *
 * Functions: the text is cleaned and cut into NFKC lines (make_lines);
 * a view of them, as given or with one level of "> " quoting removed,
 * gets per-line compact (no whitespace) and lower-case copies
 * (view_build); view_find_form() finds the title and a label after it;
 * parse_form() walks the form line by line (labels, sections, options,
 * dates, content), parse_survey() the answers; classify_kind() reads the
 * content. fixreport_free() and the *_name() functions.
 *
 * Japanese phrases are searched in the compact copy (so "希望 します"
 * matches), English ones in the lower-case copy (whitespace runs made one
 * space), labels in the NFKC line itself.
 */
#include "fixreport.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "charset.h"

#define TITLE_MAX_CHARS 40    /* a longer line is prose, not a title */
#define TITLE_MAX_CHARS_EN 80
#define KIND_GAP_MAX 8        /* characters between ページ and 削除 */

static const char replacement_char[] = "\xef\xbf\xbd"; /* U+FFFD */

/* ------------------------------------------------------------ strings */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static const char *skip_ws(const char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* A copy of [p, p + n) without surrounding whitespace and line ends, or
 * NULL if that is empty. */
static char *trimmed_dup(const char *p, size_t n)
{
	while (n > 0 && (is_ws(*p) || *p == '\n')) {
		p++;
		n--;
	}
	while (n > 0 && (is_ws(p[n - 1]) || p[n - 1] == '\n'))
		n--;
	return n > 0 ? g_strndup(p, n) : NULL;
}

static bool is_blank(const char *s)
{
	return *skip_ws(s) == '\0';
}

static bool is_blank_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_ws(s[i]))
			return false;
	return true;
}

/* -------------------------------------------------------------- lines */

/* NFKC of one valid UTF-8 line (charset_nfkc), tabs made spaces. */
static char *normalise_line(const char *s, size_t n)
{
	char *norm = charset_nfkc(s, n);

	for (char *q = norm; *q != '\0'; q++)
		if (*q == '\t')
			*q = ' ';
	return norm;
}

/* The text cleaned (NUL -> U+FFFD, valid UTF-8) and cut into NFKC lines:
 * a NULL-terminated vector. */
static char **make_lines(const char *text, size_t len, size_t *n_lines)
{
	GString *clean = g_string_sized_new(len + 16);
	GPtrArray *lines = g_ptr_array_new();
	char *valid;
	const char *p, *end;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\0')
			g_string_append(clean, replacement_char);
		else
			g_string_append_c(clean, text[i]);
	}
	valid = g_utf8_make_valid(clean->str, (gssize)clean->len);
	g_string_free(clean, TRUE);
	p = valid;
	end = valid + strlen(valid);
	while (p < end) {
		const char *eol = p;

		while (eol < end && *eol != '\n' && *eol != '\r')
			eol++;
		g_ptr_array_add(lines, normalise_line(p, (size_t)(eol - p)));
		if (eol < end && *eol == '\r' && eol + 1 < end && eol[1] == '\n')
			eol++;
		p = eol + 1;
	}
	g_free(valid);
	*n_lines = lines->len;
	g_ptr_array_add(lines, NULL);
	return (char **)g_ptr_array_free(lines, FALSE);
}

struct line {
	const char *norm; /* the NFKC line (quoting removed in that view) */
	char *compact;    /* norm without whitespace */
	char *lower;      /* norm in ASCII lower case, whitespace runs as one
			     space, trimmed */
	bool quoted;      /* still quoted in this view: ignored */
};

struct view {
	struct line *lines;
	size_t n;
};

static char *compact_of(const char *s)
{
	char *c = g_malloc(strlen(s) + 1), *q = c;

	for (; *s != '\0'; s++)
		if (!is_ws(*s))
			*q++ = *s;
	*q = '\0';
	return c;
}

static char *lower_of(const char *s)
{
	char *c = g_malloc(strlen(s) + 1), *q = c;

	s = skip_ws(s);
	while (*s != '\0') {
		if (is_ws(*s)) {
			s = skip_ws(s);
			if (*s != '\0')
				*q++ = ' ';
			continue;
		}
		*q++ = g_ascii_tolower(*s++);
	}
	*q = '\0';
	return c;
}

static void view_build(struct view *v, char **lines, size_t n, bool unquote)
{
	v->n = n;
	v->lines = g_new0(struct line, n > 0 ? n : 1);
	for (size_t i = 0; i < n; i++) {
		const char *s = lines[i];

		if (unquote && s[0] == '>')
			s += s[1] == ' ' ? 2 : 1;
		v->lines[i].norm = s;
		v->lines[i].quoted = s[0] == '>';
		v->lines[i].compact = compact_of(s);
		v->lines[i].lower = lower_of(s);
	}
}

static void view_clear(struct view *v)
{
	for (size_t i = 0; i < v->n; i++) {
		g_free(v->lines[i].compact);
		g_free(v->lines[i].lower);
	}
	g_free(v->lines);
	v->lines = NULL;
	v->n = 0;
}

/* ------------------------------------------------------------- labels */

enum field {
	F_CASE, F_URL, F_CONTENT, F_ADDRESS, F_CONTACT_NAME, F_DATE, F_ORG,
	F_DEPT, F_NAME, F_EN_NAME
};

struct label {
	const char *text; /* NFKC; a space matches any whitespace or none */
	enum field field;
	bool loose;       /* whitespace may stand for the ":" */
};

/* Longer labels before their prefixes. */
static const struct label labels[] = {
	{ "取扱番号", F_CASE, true },
	{ "取り扱い番号", F_CASE, true },
	{ "取扱い番号", F_CASE, true },
	{ "Case number", F_CASE, true },
	{ "Case No.", F_CASE, false },
	{ "Case No", F_CASE, false },
	{ "対象ウェブページURL", F_URL, true },
	{ "対象ウェブページ", F_URL, false },
	{ "対象ページURL", F_URL, false },
	{ "対象URL", F_URL, false },
	{ "Target web page URL", F_URL, true },
	{ "Target web page", F_URL, false },
	{ "Target URL", F_URL, false },
	{ "URL", F_URL, false },
	{ "対応内容", F_CONTENT, true },
	{ "修正内容", F_CONTENT, false },
	{ "対策内容", F_CONTENT, false },
	{ "What was done", F_CONTENT, true },
	{ "Action taken", F_CONTENT, false },
	{ "メールアドレス", F_ADDRESS, true },
	{ "E-mailアドレス", F_ADDRESS, false },
	{ "Eメールアドレス", F_ADDRESS, false },
	{ "メール", F_ADDRESS, false },
	{ "Mail address", F_ADDRESS, true },
	{ "E-mail address", F_ADDRESS, false },
	{ "Email address", F_ADDRESS, false },
	{ "E-mail", F_ADDRESS, false },
	{ "Email", F_ADDRESS, false },
	{ "ご担当者名", F_CONTACT_NAME, true },
	{ "担当者名", F_CONTACT_NAME, true },
	{ "ご担当者", F_CONTACT_NAME, false },
	{ "担当者", F_CONTACT_NAME, false },
	{ "Contact name", F_CONTACT_NAME, false },
	{ "Contact person", F_CONTACT_NAME, false },
	{ "報告年月日", F_DATE, false },
	{ "報告日", F_DATE, false },
	{ "日付", F_DATE, false },
	{ "Date", F_DATE, false },
	{ "組織名", F_ORG, true },
	{ "組織", F_ORG, false },
	{ "会社名", F_ORG, false },
	{ "Organization", F_ORG, false },
	{ "Organisation", F_ORG, false },
	{ "Company", F_ORG, false },
	{ "所属部署", F_DEPT, false },
	{ "所属", F_DEPT, true },
	{ "部署名", F_DEPT, false },
	{ "部署", F_DEPT, false },
	{ "Department", F_DEPT, false },
	{ "Division", F_DEPT, false },
	{ "氏名", F_NAME, true },
	{ "お名前", F_NAME, false },
	{ "名前", F_NAME, false },
	{ "Name", F_EN_NAME, false },
};

/* The label text at p (whitespace skipped anywhere, ASCII case folded);
 * the position after it, or NULL. */
static const char *match_label_text(const char *p, const char *label)
{
	while (*label != '\0') {
		if (*label == ' ') {
			label++;
			continue;
		}
		p = skip_ws(p);
		if ((unsigned char)*label < 0x80) {
			if (g_ascii_tolower(*p) != g_ascii_tolower(*label))
				return NULL;
			p++;
			label++;
		} else {
			size_t clen = (size_t)(g_utf8_next_char(label) - label);

			if (strncmp(p, label, clen) != 0)
				return NULL;
			p += clen;
			label += clen;
		}
	}
	return p;
}

/* Matches lb at the start of line; *value is the text after it. */
static bool match_label(const char *line, const struct label *lb,
			const char **value)
{
	const char *p = skip_ws(line), *q;
	bool bracket = false, closed = false, ws_after;

	if (has_prefix(p, "・"))
		p = skip_ws(p + strlen("・"));
	if (has_prefix(p, "【")) {
		p += strlen("【");
		bracket = true;
	} else if (*p == '[') {
		p++;
		bracket = true;
	}
	if ((q = match_label_text(p, lb->text)) == NULL)
		return false;
	ws_after = *q == '\0' || is_ws(*q);
	q = skip_ws(q);
	if (bracket && has_prefix(q, "】")) {
		q += strlen("】");
		closed = true;
	} else if (bracket && *q == ']') {
		q++;
		closed = true;
	}
	if (bracket && !closed)
		return false;
	q = skip_ws(q);
	if (*q == ':')
		q++;
	else if (!closed && !(lb->loose && ws_after))
		return false;
	*value = skip_ws(q);
	return true;
}

static const struct label *find_label(const char *line, const char **value)
{
	for (size_t k = 0; k < G_N_ELEMENTS(labels); k++)
		if (match_label(line, &labels[k], value))
			return &labels[k];
	return NULL;
}

/* ------------------------------------------------------ line classes */

/* A leading "2.", "2)", "(2)", "2、" or "2 ": the number (or -1) and the
 * rest. */
static int leading_number(const char *s, const char **rest)
{
	const char *p = skip_ws(s);
	bool paren = false;
	int num = 0, digits = 0;

	if (*p == '(') {
		paren = true;
		p++;
	}
	while (g_ascii_isdigit(*p) && digits < 4) {
		num = num * 10 + (*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || g_ascii_isdigit(*p))
		return -1;
	if (paren) {
		if (*p != ')')
			return -1;
		p++;
	} else if (*p == '.' || *p == ')' || *p == ':') {
		p++;
	} else if (has_prefix(p, "、")) {
		p += strlen("、");
	}
	*rest = skip_ws(p);
	return num;
}

static bool is_section2(const struct line *l)
{
	const char *rest;
	int num = leading_number(l->norm, &rest);

	if (num == 2 && (strstr(rest, "確認") != NULL ||
			 strstr(l->lower, "check") != NULL))
		return true;
	return strstr(l->compact, "この報告の後") != NULL ||
	       has_prefix(l->lower, "after this report") ||
	       has_prefix(l->lower, "check by the desk") ||
	       strcmp(l->compact, "IPAによる確認作業") == 0 ||
	       strcmp(l->compact, "IPAによる確認") == 0;
}

static bool is_section3(const struct line *l)
{
	const char *rest;
	int num = leading_number(l->norm, &rest);

	if (num == 3 && (strstr(rest, "連絡先") != NULL ||
			 strstr(l->lower, "contact") != NULL))
		return true;
	return strstr(l->compact, "同じサイトに") != NULL ||
	       has_prefix(l->lower, "contact for future reports");
}

/* Removes leading and trailing brackets of a compact or lower copy. */
static void strip_brackets(const char **s, size_t *len)
{
	static const char *const open[] = { "【", "[", "「", "『", "<", "(", "〔", "《", NULL };
	static const char *const close[] = { "】", "]", "」", "』", ">", ")", "〕", "》", NULL };
	bool again = true;

	while (again) {
		again = false;
		for (const char *const *o = open; *o != NULL; o++) {
			size_t n = strlen(*o);

			if (*len >= n && memcmp(*s, *o, n) == 0) {
				*s += n;
				*len -= n;
				again = true;
			}
		}
		for (const char *const *c = close; *c != NULL; c++) {
			if (has_suffix(*s, *len, *c)) {
				*len -= strlen(*c);
				again = true;
			}
		}
		while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '.' ||
				    (*s)[*len - 1] == ':'))
			(*len)--, again = true;
		while (*len > 0 && (*s)[0] == ' ')
			(*s)++, (*len)--, again = true;
	}
}

static bool is_title(const struct line *l)
{
	const char *s, *rest;
	size_t len;

	/* Japanese: ends in 修正完了報告書 or 修正完了報告, "(...)" allowed */
	s = l->compact;
	if (leading_number(s, &rest) >= 0)
		s = rest;
	len = strlen(s);
	if (len > 0 && s[len - 1] == ')') {
		const char *open = g_strrstr_len(s, (gssize)len, "(");

		if (open != NULL && open > s)
			len = (size_t)(open - s);
	}
	strip_brackets(&s, &len);
	if ((has_suffix(s, len, "修正完了報告書") || has_suffix(s, len, "修正完了報告")) &&
	    g_utf8_strlen(s, (gssize)len) <= TITLE_MAX_CHARS)
		return true;
	/* English */
	s = l->lower;
	if (leading_number(s, &rest) >= 0)
		s = rest;
	len = strlen(s);
	strip_brackets(&s, &len);
	return has_suffix(s, len, "fix completion report") &&
	       len <= TITLE_MAX_CHARS_EN;
}

static bool is_survey(const struct line *l)
{
	const char *s = l->compact;
	size_t len = strlen(s);

	strip_brackets(&s, &len);
	if (len == strlen("アンケート") && memcmp(s, "アンケート", len) == 0)
		return true;
	s = l->lower;
	len = strlen(s);
	strip_brackets(&s, &len);
	return len == strlen("survey") && memcmp(s, "survey", len) == 0;
}

/* ---------------------------------------------------------------- dates */

static const char *parse_uint(const char *p, int max_digits, int *value)
{
	int v = 0, d = 0;

	while (g_ascii_isdigit(*p) && d < max_digits) {
		v = v * 10 + (*p++ - '0');
		d++;
	}
	if (d == 0 || g_ascii_isdigit(*p))
		return NULL;
	*value = v;
	return p;
}

static const char *const month_names[] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"
};

/* An English month name (full, or its first three letters with an
 * optional '.') at p: 1-12 and the end, or 0. */
static int parse_month_name(const char *p, const char **end)
{
	for (int m = 0; m < 12; m++) {
		size_t full = strlen(month_names[m]);

		if (g_ascii_strncasecmp(p, month_names[m], full) == 0 &&
		    !g_ascii_isalpha(p[full])) {
			*end = p + full;
			return m + 1;
		}
		if (g_ascii_strncasecmp(p, month_names[m], 3) == 0 &&
		    !g_ascii_isalpha(p[3])) {
			*end = p[3] == '.' ? p + 4 : p + 3;
			return m + 1;
		}
	}
	return 0;
}

static bool make_date(int y, int m, int d, civil_day *out)
{
	if (y < 1900 || y > 2999 || !civil_valid_ymd(y, m, d))
		return false;
	*out = civil_from_ymd(y, m, d);
	return true;
}

/* The separator after the year: "年" (*ascii stays 0) or one of ". / -"
 * (kept in *ascii: the same one must follow the month). */
static const char *year_sep(const char *p, char *ascii)
{
	p = skip_ws(p);
	if (has_prefix(p, "年"))
		return skip_ws(p + strlen("年"));
	if (*p == '.' || *p == '/' || *p == '-') {
		*ascii = *p;
		return skip_ws(p + 1);
	}
	return NULL;
}

/* Year, separator, month, separator, day [日]. */
static const char *parse_ymd_tail(const char *p, int era_base, civil_day *out)
{
	char ascii = 0;
	int y, m, d;

	p = skip_ws(p);
	if (era_base > 0 && has_prefix(p, "元")) {
		y = 1;
		p += strlen("元");
	} else if ((p = parse_uint(p, era_base > 0 ? 3 : 4, &y)) == NULL) {
		return NULL;
	}
	if ((era_base == 0 && y < 1000) || (era_base > 0 && y == 0))
		return NULL;
	if ((p = year_sep(p, &ascii)) == NULL || (p = parse_uint(p, 2, &m)) == NULL)
		return NULL;
	p = skip_ws(p);
	if (ascii == 0 && has_prefix(p, "月"))
		p = skip_ws(p + strlen("月"));
	else if (ascii != 0 && *p == ascii)
		p = skip_ws(p + 1);
	else
		return NULL;
	if ((p = parse_uint(p, 2, &d)) == NULL)
		return NULL;
	p = skip_ws(p);
	if (has_prefix(p, "日"))
		p += strlen("日");
	if (!make_date(era_base + y, m, d, out))
		return NULL;
	return p;
}

/* A date at the start of s; the position after it, or NULL. */
static const char *parse_date(const char *s, civil_day *out)
{
	const char *p = skip_ws(s), *q;
	int m, d, y;

	if (has_prefix(p, "令和"))
		return parse_ymd_tail(p + strlen("令和"), 2018, out);
	if (has_prefix(p, "平成"))
		return parse_ymd_tail(p + strlen("平成"), 1988, out);
	if ((*p == 'R' || *p == 'r' || *p == 'H' || *p == 'h') &&
	    (g_ascii_isdigit(p[1]) || (p[1] == ' ' && g_ascii_isdigit(p[2]))))
		return parse_ymd_tail(p + 1, (*p == 'R' || *p == 'r') ? 2018 : 1988, out);
	if (g_ascii_isdigit(*p)) {
		if ((q = parse_ymd_tail(p, 0, out)) != NULL)
			return q;
		/* "22 November 2026" */
		if ((q = parse_uint(p, 2, &d)) == NULL)
			return NULL;
		q = skip_ws(q);
		if ((m = parse_month_name(q, &q)) == 0)
			return NULL;
		q = skip_ws(q);
		if (*q == ',')
			q = skip_ws(q + 1);
		if ((q = parse_uint(q, 4, &y)) == NULL || !make_date(y, m, d, out))
			return NULL;
		return q;
	}
	/* "November 22, 2026" */
	if ((m = parse_month_name(p, &q)) == 0)
		return NULL;
	q = skip_ws(q);
	if ((q = parse_uint(q, 2, &d)) == NULL)
		return NULL;
	if (g_ascii_strncasecmp(q, "st", 2) == 0 || g_ascii_strncasecmp(q, "nd", 2) == 0 ||
	    g_ascii_strncasecmp(q, "rd", 2) == 0 || g_ascii_strncasecmp(q, "th", 2) == 0)
		q += 2;
	q = skip_ws(q);
	if (*q == ',')
		q = skip_ws(q + 1);
	if ((q = parse_uint(q, 4, &y)) == NULL || !make_date(y, m, d, out))
		return NULL;
	return q;
}

/* A line that is a date (possibly with a "(曜日)" after it) or the
 * blank "平成 年 月 日"; *ok tells whether a date was read. */
static bool is_date_line(const struct line *l, civil_day *day, bool *ok)
{
	const char *end = parse_date(l->norm, day);

	*ok = false;
	if (end != NULL) {
		end = skip_ws(end);
		if (*end == '\0' || *end == '(') {
			*ok = true;
			return true;
		}
		return false;
	}
	return strcmp(l->compact, "平成年月日") == 0 ||
	       strcmp(l->compact, "令和年月日") == 0 ||
	       strcmp(l->compact, "年月日") == 0;
}

/* ------------------------------------------------------------- options */

enum { OPT_A, OPT_B };

struct option_pair {
	const char *const *ja[2];
	const char *const *en[2];
	bool present[2];
	bool marked[2];
};

static const char *const check_wanted_ja[] = { "希望します", "希望する", NULL };
static const char *const check_not_ja[] = {
	"希望しません", "希望しない", "確認不要", "確認作業不要",
	"確認作業は不要", "確認は不要", NULL
};
static const char *const check_wanted_en[] = {
	"i would like a check", "i want a check", "check requested", NULL
};
static const char *const check_not_en[] = {
	"no check needed", "no check is needed", "no check required",
	"check not needed", "check is not needed", "i do not need a check",
	"i don't need a check", NULL
};
static const char *const contact_address_ja[] = {
	"アドレスを使用", "アドレスを利用", NULL
};
static const char *const contact_each_ja[] = { "その都度", "受付窓口", NULL };
static const char *const contact_address_en[] = {
	"use the following address", "use this address",
	"use the address below", NULL
};
static const char *const contact_each_en[] = {
	"decide each time", "each time", NULL
};

static bool any_phrase(const char *s, const char *const *phrases)
{
	for (; *phrases != NULL; phrases++)
		if (strstr(s, *phrases) != NULL)
			return true;
	return false;
}

static bool line_has_option(const struct line *l, const struct option_pair *p)
{
	for (int k = 0; k < 2; k++)
		if (any_phrase(l->compact, p->ja[k]) || any_phrase(l->lower, p->en[k]))
			return true;
	return false;
}

/* A choice mark in [p, p + n) (whitespace ignored). */
static bool prefix_marked(const char *p, size_t n)
{
	static const char *const marks[] = {
		"○", "●", "◯", "◎", "◉", "■", "◆", "☑", "☒", "✓", "✔", "✅",
		"→", "⇒", "=>", "->", "*", "[x]", "(x)", "[*]", "(*)", "[v]",
		"[o]", "[レ]", "(レ)", NULL
	};
	char *c = g_malloc(n + 1), *q = c;
	bool marked = false;

	for (size_t i = 0; i < n; i++)
		if (!is_ws(p[i]))
			*q++ = g_ascii_tolower(p[i]);
	*q = '\0';
	if (strcmp(c, "x") == 0 || strcmp(c, "レ") == 0)
		marked = true;
	for (const char *const *m = marks; !marked && *m != NULL; m++)
		marked = strstr(c, *m) != NULL;
	g_free(c);
	return marked;
}

/* A mark right after an option: an arrow pointing back at it, or, when
 * no other option follows on the line, a circle (a circle between two
 * options is the second one's, marks coming before what they mark). */
static bool suffix_marked(const char *p, bool last)
{
	static const char *const arrows[] = { "←", "<-", "<=", "⇐", NULL };
	static const char *const circles[] = { "○", "◯", "●", NULL };

	p = skip_ws(p);
	for (const char *const *m = arrows; *m != NULL; m++)
		if (has_prefix(p, *m))
			return true;
	for (const char *const *m = circles; last && *m != NULL; m++)
		if (has_prefix(p, *m))
			return true;
	return false;
}

struct occurrence {
	size_t start, end;
	int which;
};

static gint occurrence_cmp(gconstpointer a, gconstpointer b)
{
	const struct occurrence *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end > y->end ? -1 : x->end < y->end; /* longer first */
}

/* Records the options of pair in s (phrases[0], phrases[1]). */
static void scan_options_in(struct option_pair *pair, const char *s,
			    const char *const *const phrases[2])
{
	GArray *occ = g_array_new(FALSE, FALSE, sizeof(struct occurrence));
	size_t prev_end = 0;

	for (int k = 0; k < 2; k++) {
		for (const char *const *ph = phrases[k]; *ph != NULL; ph++) {
			size_t plen = strlen(*ph);

			for (const char *h = strstr(s, *ph); h != NULL;
			     h = strstr(h + plen, *ph)) {
				struct occurrence o = { (size_t)(h - s),
							(size_t)(h - s) + plen, k };

				g_array_append_val(occ, o);
			}
		}
	}
	g_array_sort(occ, occurrence_cmp);
	for (guint i = 0; i < occ->len; i++) {
		const struct occurrence *o = &g_array_index(occ, struct occurrence, i);

		if (o->start < prev_end)
			continue; /* inside a longer phrase already counted */
		pair->present[o->which] = true;
		if (prefix_marked(s + prev_end, o->start - prev_end) ||
		    suffix_marked(s + o->end, i + 1 == occ->len))
			pair->marked[o->which] = true;
		prev_end = o->end;
	}
	g_array_unref(occ);
}

static void scan_options(struct option_pair *pair, const struct line *l)
{
	scan_options_in(pair, l->compact, pair->ja);
	scan_options_in(pair, l->lower, pair->en);
}

/* The rule of fixreport.h: 0 (unknown), 1 (first option) or 2 (second). */
static int option_choice(const struct option_pair *p)
{
	if (p->present[OPT_A] && p->present[OPT_B]) {
		if (p->marked[OPT_A] != p->marked[OPT_B])
			return p->marked[OPT_A] ? 1 : 2;
		return 0;
	}
	if (p->present[OPT_A])
		return 1;
	if (p->present[OPT_B])
		return 2;
	return 0;
}

/* ---------------------------------------------------------------- kind */

static bool ja_page_deleted(const char *compact)
{
	static const char *const subjects[] = { "ページ", "サイト", NULL };
	static const char *const verbs[] = { "削除", "閉鎖", "非公開", "廃止", NULL };
	static const char *const gap_kanji[] = { "自", "体", "全", "部", "既", NULL };

	for (const char *const *s = subjects; *s != NULL; s++) {
		for (const char *h = strstr(compact, *s); h != NULL;
		     h = strstr(h + strlen(*s), *s)) {
			const char *p = h + strlen(*s);

			for (int gap = 0; gap <= KIND_GAP_MAX && *p != '\0'; gap++) {
				bool allowed = false;
				gunichar c;

				for (const char *const *v = verbs; *v != NULL; v++)
					if (has_prefix(p, *v))
						return true;
				c = g_utf8_get_char(p);
				if (c >= 0x3041 && c <= 0x309f)
					allowed = true;
				for (const char *const *k = gap_kanji; !allowed && *k != NULL; k++)
					allowed = has_prefix(p, *k);
				if (!allowed)
					break;
				p = g_utf8_next_char(p);
			}
		}
	}
	return false;
}

static bool word_in(const char *w, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(w, *set) == 0)
			return true;
	return false;
}

/* In one clause: "page" with deleted/removed/closed/"taken down" up to 4
 * words after it, or delete(d)/remove(d)/"took down" up to 5 before. */
static bool en_clause_page_deleted(char **words)
{
	static const char *const pages[] = {
		"page", "pages", "site", "webpage", "webpages", "website", NULL
	};
	static const char *const after[] = { "deleted", "removed", "closed", NULL };
	static const char *const before[] = {
		"delete", "deleted", "deleting", "remove", "removed", "removing", NULL
	};
	size_t n = g_strv_length(words);

	for (size_t i = 0; i < n; i++) {
		if (!word_in(words[i], pages))
			continue;
		for (size_t j = i + 1; j < n && j <= i + 4; j++)
			if (word_in(words[j], after) ||
			    (strcmp(words[j], "taken") == 0 && j + 1 < n &&
			     strcmp(words[j + 1], "down") == 0))
				return true;
		for (size_t j = i >= 5 ? i - 5 : 0; j < i; j++)
			if (word_in(words[j], before) ||
			    ((strcmp(words[j], "took") == 0 ||
			      strcmp(words[j], "taken") == 0) &&
			     strcmp(words[j + 1], "down") == 0))
				return true;
	}
	return false;
}

static bool en_page_deleted(const char *lower)
{
	GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
	const char *p = lower;
	bool found = false;

	for (;;) {
		char c = *p;

		if (g_ascii_isalnum(c) || c == '\'') {
			const char *start = p;

			while (g_ascii_isalnum(*p) || *p == '\'')
				p++;
			g_ptr_array_add(words, g_strndup(start, (gsize)(p - start)));
			continue;
		}
		if (c == '\0' || strchr(".;:,!?\n()", c) != NULL) {
			/* end of a clause */
			g_ptr_array_add(words, NULL);
			found = en_clause_page_deleted((char **)words->pdata);
			g_ptr_array_set_size(words, 0);
			if (found || c == '\0')
				break;
		}
		p++;
	}
	g_ptr_array_unref(words);
	return found;
}

static enum fixreport_kind classify_kind(const char *content)
{
	static const char *const workaround_ja[] = {
		"運用で回避", "運用により回避", "運用にて回避", "運用による回避",
		"運用回避", "回避策", NULL
	};
	static const char *const workaround_en[] = {
		"workaround", "work-around", "work around", NULL
	};
	enum fixreport_kind kind = FIXREPORT_KIND_FIX;
	char *compact, *lower;

	if (content == NULL || is_blank(content))
		return FIXREPORT_KIND_UNKNOWN;
	compact = compact_of(content);
	lower = lower_of(content);
	if (ja_page_deleted(compact) || en_page_deleted(lower))
		kind = FIXREPORT_KIND_PAGE_DELETED;
	else if (any_phrase(compact, workaround_ja) || any_phrase(lower, workaround_en))
		kind = FIXREPORT_KIND_WORKAROUND;
	g_free(compact);
	g_free(lower);
	return kind;
}

/* --------------------------------------------------------------- form */

static struct option_pair check_pair(void)
{
	struct option_pair p = {
		.ja = { check_wanted_ja, check_not_ja },
		.en = { check_wanted_en, check_not_en },
	};
	return p;
}

static struct option_pair contact_pair(void)
{
	struct option_pair p = {
		.ja = { contact_address_ja, contact_each_ja },
		.en = { contact_address_en, contact_each_en },
	};
	return p;
}

/* Lines that end the content and are never a label's value. */
static bool is_structural(const struct line *l, const struct option_pair *check,
			  const struct option_pair *contact)
{
	const char *value;
	civil_day day;
	bool ok;

	return find_label(l->norm, &value) != NULL || is_section2(l) ||
	       is_section3(l) || is_title(l) || is_survey(l) ||
	       line_has_option(l, check) || line_has_option(l, contact) ||
	       is_date_line(l, &day, &ok);
}

/* The form's title: the first title line with a label after it. */
static bool view_find_form(const struct view *v, size_t *title)
{
	bool have_title = false;

	for (size_t i = 0; i < v->n; i++) {
		const struct line *l = &v->lines[i];
		const char *value;

		if (l->quoted)
			continue;
		if (!have_title) {
			if (is_title(l)) {
				have_title = true;
				*title = i;
			}
		} else if (find_label(l->norm, &value) != NULL) {
			return true;
		}
	}
	return false;
}

static void set_once(char **slot, char *value)
{
	if (*slot == NULL)
		*slot = value;
	else
		g_free(value);
}

/* url: inside the first <...>, else the first word. */
static char *url_of(const char *value)
{
	const char *lt = strchr(value, '<'), *gt, *end;

	if (lt != NULL && (gt = strchr(lt + 1, '>')) != NULL)
		return trimmed_dup(lt + 1, (size_t)(gt - lt - 1));
	for (end = value; *end != '\0' && !is_ws(*end); end++)
		;
	return trimmed_dup(value, (size_t)(end - value));
}

static char *address_of(const char *value)
{
	const char *lt = strchr(value, '<'), *gt;
	char *a;

	if (lt != NULL && (gt = strchr(lt + 1, '>')) != NULL)
		a = trimmed_dup(lt + 1, (size_t)(gt - lt - 1));
	else
		a = trimmed_dup(value, strlen(value));
	if (a != NULL && g_ascii_strncasecmp(a, "mailto:", 7) == 0) {
		char *b = trimmed_dup(a + 7, strlen(a + 7));

		g_free(a);
		a = b;
	}
	return a;
}

struct form_state {
	struct fixreport *r;
	int section;
	bool sign;            /* in the signature block */
	bool address_seen;    /* a contact mail address label was read */
	bool contact_name_seen;
	bool field_seen;
	GString *content;     /* being collected, or NULL */
};

/* Removes the indentation all non-blank lines of c share. */
static void dedent(GString *c)
{
	size_t common = SIZE_MAX, i = 0, out = 0;

	while (i < c->len) {
		size_t ws = 0, eol;

		while (i + ws < c->len && is_ws(c->str[i + ws]))
			ws++;
		for (eol = i + ws; eol < c->len && c->str[eol] != '\n'; eol++)
			;
		if (eol > i + ws && ws < common)
			common = ws;
		i = eol + 1;
	}
	if (common == 0 || common == SIZE_MAX)
		return;
	for (i = 0; i < c->len;) {
		size_t eol, skip = 0;

		while (skip < common && i + skip < c->len && is_ws(c->str[i + skip]))
			skip++;
		for (eol = i + skip; eol < c->len && c->str[eol] != '\n'; eol++)
			;
		memmove(c->str + out, c->str + i + skip, eol - i - skip);
		out += eol - i - skip;
		if (eol < c->len)
			c->str[out++] = '\n';
		i = eol + 1;
	}
	g_string_truncate(c, out);
}

static void content_finish(struct form_state *st)
{
	GString *c = st->content;
	size_t start = 0;

	if (c == NULL)
		return;
	st->content = NULL;
	/* drop leading blank lines and trailing whitespace */
	while (start < c->len) {
		size_t eol = start;

		while (eol < c->len && c->str[eol] != '\n')
			eol++;
		if (eol < c->len && is_blank_n(c->str + start, eol - start))
			start = eol + 1;
		else
			break;
	}
	g_string_erase(c, 0, (gssize)start);
	while (c->len > 0 && (is_ws(c->str[c->len - 1]) || c->str[c->len - 1] == '\n'))
		g_string_truncate(c, c->len - 1);
	dedent(c);
	if (c->len > 0 && st->r->content == NULL)
		st->r->content = g_string_free(c, FALSE);
	else
		g_string_free(c, TRUE);
}

static void content_add(GString *c, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && is_ws(line[n - 1]))
		n--;
	g_string_append_len(c, line, (gssize)n);
	g_string_append_c(c, '\n');
}

static void store_field(struct form_state *st, const struct label *lb,
			const char *value)
{
	struct fixreport *r = st->r;
	enum field f = lb->field;
	civil_day day;

	if (f == F_EN_NAME)
		f = !st->sign && (st->section == 3 || st->address_seen) &&
		    !st->contact_name_seen ? F_CONTACT_NAME : F_NAME;
	switch (f) {
	case F_CASE:
		set_once(&r->case_text, trimmed_dup(value, strlen(value)));
		break;
	case F_URL:
		set_once(&r->url, url_of(value));
		break;
	case F_ADDRESS:
		st->address_seen = true;
		set_once(&r->contact_address, address_of(value));
		break;
	case F_CONTACT_NAME:
		st->contact_name_seen = true;
		set_once(&r->contact_name, trimmed_dup(value, strlen(value)));
		break;
	case F_DATE:
		st->sign = true;
		if (!r->has_date && parse_date(value, &day) != NULL) {
			r->has_date = true;
			r->date = day;
		}
		break;
	case F_ORG:
		st->sign = true;
		set_once(&r->organization, trimmed_dup(value, strlen(value)));
		break;
	case F_DEPT:
		st->sign = true;
		set_once(&r->department, trimmed_dup(value, strlen(value)));
		break;
	case F_NAME:
		set_once(&r->name, trimmed_dup(value, strlen(value)));
		break;
	case F_CONTENT:
	case F_EN_NAME:
		break;
	}
}

/* Parses the form from its title line t; returns where the survey
 * heading is (or v->n). */
static size_t parse_form(const struct view *v, size_t t, struct fixreport *r)
{
	struct form_state st = { .r = r, .section = 1 };
	struct option_pair check = check_pair(), contact = contact_pair();
	size_t i;

	for (i = t; i < v->n; i++) {
		const struct line *l = &v->lines[i];
		const struct label *lb;
		const char *value;
		civil_day day;
		bool date_ok;

		if (l->quoted)
			continue;
		if (is_survey(l))
			break;
		if (i > t && st.field_seen && is_title(l))
			break;
		if (st.content != NULL && !is_structural(l, &check, &contact)) {
			content_add(st.content, l->norm);
			continue;
		}
		content_finish(&st);
		scan_options(&check, l);
		scan_options(&contact, l);
		if ((lb = find_label(l->norm, &value)) != NULL) {
			st.field_seen = true;
			if (lb->field == F_CONTENT) {
				st.content = g_string_new(NULL);
				if (*value != '\0')
					content_add(st.content, value);
				continue;
			}
			if (*value == '\0' && lb->field != F_DATE && i + 1 < v->n &&
			    !v->lines[i + 1].quoted && !is_blank(v->lines[i + 1].norm) &&
			    !is_structural(&v->lines[i + 1], &check, &contact))
				value = v->lines[++i].norm;
			store_field(&st, lb, value);
		} else if (is_section2(l)) {
			st.section = 2;
		} else if (is_section3(l)) {
			st.section = 3;
		} else if (is_date_line(l, &day, &date_ok)) {
			st.sign = true;
			if (date_ok && !r->has_date) {
				r->has_date = true;
				r->date = day;
			}
		}
	}
	content_finish(&st);
	switch (option_choice(&check)) {
	case 1:
		r->check = FIXREPORT_CHECK_WANTED;
		break;
	case 2:
		r->check = FIXREPORT_CHECK_NOT_WANTED;
		break;
	default:
		r->check = FIXREPORT_CHECK_UNKNOWN;
	}
	switch (option_choice(&contact)) {
	case 1:
		r->contact = FIXREPORT_CONTACT_ADDRESS;
		break;
	case 2:
		r->contact = FIXREPORT_CONTACT_EACH_TIME;
		break;
	default:
		r->contact = FIXREPORT_CONTACT_UNKNOWN;
	}
	r->kind = classify_kind(r->content);
	/* the survey, if any, is at or after i */
	for (; i < v->n; i++)
		if (!v->lines[i].quoted && is_survey(&v->lines[i]))
			return i;
	return v->n;
}

/* -------------------------------------------------------------- survey */

/*
 * An answer key at the start of norm ("1(ア)", "(イ)", "問3", "2(a)");
 * its slot in fixreport.survey or -1, *value the text after it.
 * *current_q is the question number a lone sub-question belongs to.
 */
static int answer_key(const char *norm, int *current_q, const char **value)
{
	static const char *const subs_ja[] = { "ア", "イ", "ウ" };
	const char *p = skip_ws(norm), *after;
	int q = 0, sub = -1;

	if (has_prefix(p, "問"))
		p = skip_ws(p + strlen("問"));
	else if ((*p == 'Q' || *p == 'q') && g_ascii_isdigit(p[1]))
		p++;
	if (*p >= '1' && *p <= '3' && !g_ascii_isdigit(p[1])) {
		q = *p - '0';
		p++;
	}
	after = skip_ws(p);
	if (*after == '(') {
		const char *s = skip_ws(after + 1);

		for (int k = 0; k < 3 && sub < 0; k++) {
			if (has_prefix(s, subs_ja[k])) {
				sub = k;
				s += strlen(subs_ja[k]);
			} else if (g_ascii_tolower(*s) == 'a' + k && !g_ascii_isalnum(s[1])) {
				sub = k;
				s++;
			}
		}
		s = skip_ws(s);
		if (sub >= 0 && *s == ')')
			p = s + 1;
		else
			sub = -1;
	}
	if (q == 0 && sub < 0)
		return -1;
	if (q != 0 && sub < 0 && !(*p == '\0' || is_ws(*p) || *p == '[' || *p == ':'))
		return -1; /* "3つの…", "1." */
	if (q == 0)
		q = *current_q;
	else
		*current_q = q;
	p = skip_ws(p);
	if (*p == ':')
		p = skip_ws(p + 1);
	*value = p;
	switch (q) {
	case 1:
		return sub == 0 ? FIXREPORT_SURVEY_Q1A : sub == 1 ? FIXREPORT_SURVEY_Q1B : -1;
	case 2:
		return sub < 0 ? -1 : FIXREPORT_SURVEY_Q2A + sub;
	case 3:
		return FIXREPORT_SURVEY_Q3;
	default:
		return -1;
	}
}

/* A line that is just 回答欄 (or 回答, "Answers"), brackets and ":"
 * allowed. */
static bool is_answers_heading(const struct line *l)
{
	static const char *const names[] = { "回答欄", "回答", "answers", "answer", NULL };
	const char *s = l->compact;
	size_t len = strlen(s);
	char *lower = g_ascii_strdown(s, (gssize)len);
	bool found = false;

	s = lower;
	strip_brackets(&s, &len);
	for (const char *const *n = names; *n != NULL && !found; n++)
		found = len == strlen(*n) && memcmp(s, *n, len) == 0;
	g_free(lower);
	return found;
}

static void parse_survey(const struct view *v, size_t heading, struct fixreport *r)
{
	size_t i = heading + 1;
	bool in_answers = false;
	int current_q = 0;

	r->has_survey = true;
	for (size_t j = heading + 1; j < v->n; j++) {
		const struct line *l = &v->lines[j];

		if (!l->quoted && is_answers_heading(l)) {
			in_answers = true;
			i = j + 1;
			break;
		}
	}
	for (; i < v->n; i++) {
		const struct line *l = &v->lines[i];
		const char *value, *close;
		int slot;
		char *answer;

		if (l->quoted || (slot = answer_key(l->norm, &current_q, &value)) < 0)
			continue;
		if (!in_answers && *value != '[')
			continue;
		if (*value != '[') {
			answer = trimmed_dup(value, strlen(value));
		} else if ((close = strchr(value + 1, ']')) != NULL) {
			answer = trimmed_dup(value + 1, (size_t)(close - value - 1));
		} else {
			/* "[" not closed: the answer goes on to the "]" */
			GString *g = g_string_new(value + 1);

			while (i + 1 < v->n) {
				const struct line *next = &v->lines[i + 1];
				const char *dummy;
				int q = current_q;

				if (next->quoted || answer_key(next->norm, &q, &dummy) >= 0)
					break;
				i++;
				g_string_append_c(g, '\n');
				if ((close = strchr(next->norm, ']')) != NULL) {
					g_string_append_len(g, next->norm,
							    close - next->norm);
					break;
				}
				g_string_append(g, next->norm);
			}
			answer = trimmed_dup(g->str, g->len);
			g_string_free(g, TRUE);
		}
		set_once(&r->survey[slot], answer);
	}
}

/* ---------------------------------------------------------------- API */

/* Builds the view in which the text is a form: as given, else with one
 * level of quoting removed. False (v empty) if neither is. */
static bool find_form(char **lines, size_t n, struct view *v, size_t *title)
{
	bool any_quoted = false;

	view_build(v, lines, n, false);
	if (view_find_form(v, title))
		return true;
	for (size_t i = 0; i < n && !any_quoted; i++)
		any_quoted = lines[i][0] == '>';
	view_clear(v);
	if (!any_quoted)
		return false;
	view_build(v, lines, n, true);
	if (view_find_form(v, title))
		return true;
	view_clear(v);
	return false;
}

bool fixreport_detect(const char *text)
{
	struct view v;
	size_t n, title;
	char **lines;
	bool found;

	if (text == NULL)
		return false;
	lines = make_lines(text, strnlen(text, FIXREPORT_INPUT_MAX), &n);
	found = find_form(lines, n, &v, &title);
	if (found)
		view_clear(&v);
	g_strfreev(lines);
	return found;
}

int fixreport_parse(const char *text, size_t len, struct fixreport **out,
		    tdk_err *err)
{
	struct fixreport *r;
	struct view v;
	size_t n, title, survey;
	char **lines;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (text == NULL && len > 0))
		return tdk_err_set(err, TDK_EINVAL, "fixreport: no text or no result");
	if (len > FIXREPORT_INPUT_MAX)
		return tdk_err_set(err, TDK_ELIMIT,
				   "fix-completion report of %zu bytes exceeds the limit of %d",
				   len, FIXREPORT_INPUT_MAX);
	lines = make_lines(text != NULL ? text : "", len, &n);
	if (!find_form(lines, n, &v, &title)) {
		g_strfreev(lines);
		return tdk_err_set(err, TDK_EINVAL, "not a fix-completion report");
	}
	r = g_new0(struct fixreport, 1);
	survey = parse_form(&v, title, r);
	if (survey < v.n)
		parse_survey(&v, survey, r);
	view_clear(&v);
	g_strfreev(lines);
	*out = r;
	return TDK_OK;
}

void fixreport_free(struct fixreport *r)
{
	if (r == NULL)
		return;
	g_free(r->case_text);
	g_free(r->url);
	g_free(r->content);
	g_free(r->contact_address);
	g_free(r->contact_name);
	g_free(r->organization);
	g_free(r->department);
	g_free(r->name);
	for (size_t k = 0; k < FIXREPORT_SURVEY_N; k++)
		g_free(r->survey[k]);
	g_free(r);
}

const char *fixreport_kind_name(enum fixreport_kind k)
{
	switch (k) {
	case FIXREPORT_KIND_FIX:
		return "fix";
	case FIXREPORT_KIND_WORKAROUND:
		return "workaround";
	case FIXREPORT_KIND_PAGE_DELETED:
		return "page-deleted";
	case FIXREPORT_KIND_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *fixreport_check_name(enum fixreport_check c)
{
	switch (c) {
	case FIXREPORT_CHECK_WANTED:
		return "wanted";
	case FIXREPORT_CHECK_NOT_WANTED:
		return "not-wanted";
	case FIXREPORT_CHECK_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *fixreport_contact_name(enum fixreport_contact c)
{
	switch (c) {
	case FIXREPORT_CONTACT_ADDRESS:
		return "address";
	case FIXREPORT_CONTACT_EACH_TIME:
		return "each-time";
	case FIXREPORT_CONTACT_UNKNOWN:
		break;
	}
	return "unknown";
}
