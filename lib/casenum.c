/*
 * casenum.c - the case number of an incoming mail: Subject decoding,
 * tolerant matching, the 取扱番号 line of a body, thread references.
 *
 * The rules are in casenum.h. Implementation notes:
 *
 * - RFC 2047 decoding is done here rather than with
 *   g_mime_utils_header_decode_text(): GMime 3.2 does not apply its
 *   fallback charsets inside an encoded word whose label is unknown or
 *   wrong (Shift_JIS bytes labelled UTF-8 come out as Korean), and it
 *   converts "Shift_JIS" with glibc's strict table, so "①" or "㈱" from a
 *   Windows client become "?". GMime still parses the references.
 * - Every scan is linear: a match attempt starts only where the prefix's
 *   first character is, and the prefix has no digits, so no digit run or
 *   whitespace run is rescanned more than CASENUM_PREFIX_MAX times.
 * - Bytes become UTF-8 through charset_decode() (charset.h), with the
 *   UTF-8 last resort: bytes that decode cleanly in no charset are read as
 *   UTF-8, each bad byte U+FFFD, so a tag next to them is not trusted
 *   rather than read next to a guessed character.
 * - The NFKC copy comes from charset_nfkc(), which keeps at most
 *   CHARSET_STREAM_SAFE_RUN combining marks in a row (g_utf8_normalize
 *   sorts them with a quadratic sort); that changes nothing a tag is made
 *   of.
 */
#include "casenum.h"

#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "charset.h"

#define FOREIGN_LABEL_MAX 32
#define FOREIGN_DIGITS_MAX 20
#define EW_CHARSET_MAX 75
#define MSGID_MAX 998

static const char replacement_char[] = "\xef\xbf\xbd"; /* U+FFFD */

/* ------------------------------------------------------------ bytes */

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(unsigned char c)
{
	return is_digit(c) || is_alpha(c);
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool has_at(const char *t, size_t n, size_t i, const char *s)
{
	size_t len = strlen(s);

	return i <= n && n - i >= len && memcmp(t + i, s, len) == 0;
}

/* A word character in the sense of casenum.h: ASCII alnum or U+FFFD. */
static bool word_before(const char *t, size_t i)
{
	if (i == 0)
		return false;
	if (is_alnum((unsigned char)t[i - 1]))
		return true;
	return i >= 3 && memcmp(t + i - 3, replacement_char, 3) == 0;
}

static bool word_at(const char *t, size_t n, size_t i)
{
	if (i >= n)
		return false;
	return is_alnum((unsigned char)t[i]) || has_at(t, n, i, replacement_char);
}

static size_t skip_blanks(const char *t, size_t n, size_t i)
{
	while (i < n && is_blank((unsigned char)t[i]))
		i++;
	return i;
}

static bool is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* ---------------------------------------------------------- format */

int casenum_format_check(const struct casenum_format *fmt, tdk_err *err)
{
	size_t len;

	if (fmt == NULL)
		return tdk_err_set(err, TDK_EINVAL, "no case number format");
	if (fmt->prefix == NULL || fmt->prefix[0] == '\0')
		return tdk_err_set(err, TDK_EINVAL,
				   "case number prefix is empty");
	len = strnlen(fmt->prefix, CASENUM_PREFIX_MAX + 1);
	if (len > CASENUM_PREFIX_MAX)
		return tdk_err_set(err, TDK_EINVAL,
				   "case number prefix is longer than %d bytes",
				   CASENUM_PREFIX_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)fmt->prefix[i] <= ' ' ||
		    (unsigned char)fmt->prefix[i] > '~')
			return tdk_err_set(err, TDK_EINVAL,
					   "case number prefix: byte %zu is not printable ASCII (space excluded)",
					   i + 1);
	for (size_t i = 0; i < len; i++)
		if (is_digit((unsigned char)fmt->prefix[i]))
			return tdk_err_set(err, TDK_EINVAL,
					   "case number prefix \"%s\" contains a digit",
					   fmt->prefix);
	if (fmt->width < 1 || fmt->width > CASENUM_WIDTH_MAX)
		return tdk_err_set(err, TDK_ERANGE,
				   "case number width %d is not in 1..%d",
				   fmt->width, CASENUM_WIDTH_MAX);
	return TDK_OK;
}

bool casenum_is_canonical(const struct casenum_format *fmt, const char *text)
{
	size_t plen;

	if (text == NULL || casenum_format_check(fmt, NULL) != TDK_OK)
		return false;
	plen = strlen(fmt->prefix);
	if (strncmp(text, fmt->prefix, plen) != 0)
		return false;
	text += plen;
	for (int i = 0; i < fmt->width; i++)
		if (!is_digit((unsigned char)text[i]))
			return false;
	return text[fmt->width] == '\0';
}

/* -------------------------------------------------------- matching */

/*
 * Length of the text at t[i] that stands for the prefix character pc
 * (ASCII letters fold case; "♯" stands for '#', dashes for '-'), or 0.
 */
static size_t match_pchar(const char *t, size_t n, size_t i, char pc)
{
	static const char *const dashes[] = {
		"\xe2\x80\x90", "\xe2\x80\x91", "\xe2\x80\x92", /* U+2010.. */
		"\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95", /* ..U+2015 */
		"\xe2\x88\x92",                                 /* U+2212 − */
		"\xe3\x83\xbc",                                 /* U+30FC ー */
	};
	unsigned char c = (unsigned char)t[i];

	if (is_alpha((unsigned char)pc))
		return g_ascii_tolower(c) == g_ascii_tolower(pc) ? 1 : 0;
	if (c == (unsigned char)pc)
		return 1;
	if (pc == '#' && has_at(t, n, i, "\xe2\x99\xaf")) /* U+266F ♯ */
		return 3;
	if (pc == '-')
		for (size_t k = 0; k < G_N_ELEMENTS(dashes); k++)
			if (has_at(t, n, i, dashes[k]))
				return 3;
	return 0;
}

/*
 * The prefix at t[i]; on success *after is where the digits may start
 * (whitespace after a final non-alphanumeric character skipped).
 */
static bool match_prefix(const char *prefix, const char *t, size_t n,
			 size_t i, size_t *after)
{
	size_t pos = i;

	for (size_t k = 0; prefix[k] != '\0'; k++) {
		bool punct = !is_alnum((unsigned char)prefix[k]);
		size_t len;

		if (punct && k > 0)
			pos = skip_blanks(t, n, pos);
		if (pos >= n || (len = match_pchar(t, n, pos, prefix[k])) == 0)
			return false;
		pos += len;
		if (punct)
			pos = skip_blanks(t, n, pos);
	}
	*after = pos;
	return true;
}

struct hit {
	size_t digits; /* offset of the digits */
	size_t n_digits;
	size_t end;    /* offset after the digits */
};

/* Our tag with its prefix at t[i] (the caller checks what precedes it). */
static bool match_ours(const struct casenum_format *fmt, const char *t,
		       size_t n, size_t i, struct hit *h)
{
	size_t pos, d = 0;

	if (!match_prefix(fmt->prefix, t, n, i, &pos))
		return false;
	while (pos + d < n && is_digit((unsigned char)t[pos + d]))
		d++;
	if (d == 0 || d > (size_t)fmt->width || word_at(t, n, pos + d))
		return false;
	h->digits = pos;
	h->n_digits = d;
	h->end = pos + d;
	return true;
}

static char *canonical(const struct casenum_format *fmt, const char *digits,
		       size_t n_digits)
{
	size_t plen = strlen(fmt->prefix), width = (size_t)fmt->width;
	char *s = g_malloc(plen + width + 1);

	memcpy(s, fmt->prefix, plen);
	memset(s + plen, '0', width - n_digits);
	memcpy(s + plen + width - n_digits, digits, n_digits);
	s[plen + width] = '\0';
	return s;
}

static bool is_label_char(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '/';
}

/* A foreign tag "[label#digits]" at t[i] == '['; *end is after the ']'. */
static bool match_foreign(const struct casenum_format *fmt, const char *t,
			  size_t n, size_t i, size_t *end)
{
	size_t pos = skip_blanks(t, n, i + 1), label = pos, len, d = 0, unused;

	if (pos >= n || !is_alpha((unsigned char)t[pos]))
		return false;
	while (pos < n && pos - label <= FOREIGN_LABEL_MAX &&
	       is_label_char((unsigned char)t[pos]))
		pos++;
	if (pos - label > FOREIGN_LABEL_MAX)
		return false;
	pos = skip_blanks(t, n, pos);
	if (pos >= n || (len = match_pchar(t, n, pos, '#')) == 0)
		return false;
	pos = skip_blanks(t, n, pos + len);
	while (pos + d < n && d <= FOREIGN_DIGITS_MAX &&
	       is_digit((unsigned char)t[pos + d]))
		d++;
	if (d == 0 || d > FOREIGN_DIGITS_MAX)
		return false;
	pos = skip_blanks(t, n, pos + d);
	if (pos >= n || t[pos] != ']')
		return false;
	if (match_prefix(fmt->prefix, t, n, label, &unused))
		return false; /* one of ours, well formed or not */
	*end = pos + 1;
	return true;
}

static void add_foreign(GPtrArray *tags, const char *s, size_t len)
{
	if (tags->len >= CASENUM_FOREIGN_MAX)
		return;
	for (guint k = 0; k < tags->len; k++) {
		const char *old = g_ptr_array_index(tags, k);

		if (strlen(old) == len && memcmp(old, s, len) == 0)
			return;
	}
	g_ptr_array_add(tags, g_strndup(s, len));
}

/*
 * Scans normalised text: the last of our tags wins, foreign tags are
 * collected in tags.
 */
static char *scan_subject(const struct casenum_format *fmt, const char *t,
			  size_t n, GPtrArray *tags)
{
	struct hit h, last = { 0, 0, 0 };
	bool found = false;
	size_t i = 0, end;

	while (i < n) {
		if (t[i] == '[' && match_foreign(fmt, t, n, i, &end)) {
			add_foreign(tags, t + i, end - i);
			i = end;
			continue;
		}
		if (!word_before(t, i) && match_ours(fmt, t, n, i, &h)) {
			last = h;
			found = true;
			i = h.end;
			continue;
		}
		i++;
	}
	return found ? canonical(fmt, t + last.digits, last.n_digits) : NULL;
}

/* --------------------------------------------------------- RFC 2047 */

struct ew {
	char charset[EW_CHARSET_MAX + 1]; /* without an RFC 2231 "*lang" */
	char encoding;                       /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t end;                          /* offset after "?=" */
};

/* An encoded word "=?charset?B|Q?text?=" at s[i]. */
static bool ew_parse(const char *s, size_t n, size_t i, struct ew *w)
{
	size_t p = i + 2, cs = p, len;

	while (p < n && s[p] != '?' && s[p] > ' ' && s[p] < 0x7f &&
	       p - cs <= EW_CHARSET_MAX)
		p++;
	len = p - cs;
	if (len == 0 || len > EW_CHARSET_MAX || p + 2 >= n || s[p] != '?' ||
	    s[p + 2] != '?')
		return false;
	w->encoding = g_ascii_toupper(s[p + 1]);
	if (w->encoding != 'B' && w->encoding != 'Q')
		return false;
	memcpy(w->charset, s + cs, len);
	w->charset[len] = '\0';
	w->charset[strcspn(w->charset, "*")] = '\0';
	p += 3;
	w->text = s + p;
	while (p < n && s[p] != '?' && s[p] > ' ' && s[p] < 0x7f)
		p++;
	if (p + 1 >= n || s[p] != '?' || s[p + 1] != '=')
		return false;
	w->text_len = (size_t)(s + p - w->text);
	w->end = p + 2;
	return true;
}

/* Encoded words of one charset waiting for conversion. */
struct ew_run {
	bool active;
	char charset[EW_CHARSET_MAX + 1];
	char encoding;
	gint b64_state;
	guint b64_save;
	GString *bytes;
};

static void run_flush(struct ew_run *run, GString *out)
{
	if (!run->active)
		return;
	charset_decode(out, run->charset, run->bytes->str, run->bytes->len,
		       CHARSET_LOSSY_UTF8);
	g_string_truncate(run->bytes, 0);
	run->active = false;
}

static void run_add(struct ew_run *run, const struct ew *w)
{
	if (!run->active) {
		run->active = true;
		memcpy(run->charset, w->charset, sizeof run->charset);
		run->encoding = 0;
	}
	if (w->encoding != run->encoding) {
		run->encoding = w->encoding;
		run->b64_state = 0;
		run->b64_save = 0;
	}
	if (w->encoding == 'B') {
		/* The state carries over, so a quantum split across two
		 * words decodes; a padded word leaves it empty. */
		guchar *buf = g_malloc(w->text_len / 4 * 3 + 3);
		gsize len = g_base64_decode_step(w->text, w->text_len, buf,
						 &run->b64_state, &run->b64_save);

		g_string_append_len(run->bytes, (const char *)buf, (gssize)len);
		g_free(buf);
		return;
	}
	for (size_t k = 0; k < w->text_len; k++) {
		char c = w->text[k];
		int hi, lo;

		if (c == '_') {
			c = ' ';
		} else if (c == '=' && k + 2 < w->text_len &&
			   (hi = g_ascii_xdigit_value(w->text[k + 1])) >= 0 &&
			   (lo = g_ascii_xdigit_value(w->text[k + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			k += 2;
		}
		g_string_append_c(run->bytes, c);
	}
}

static bool only_blanks(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_blank((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * Decodes the encoded words of UTF-8 text s (anywhere, as GMime's loose
 * mode does). Blanks between two encoded words are dropped; adjacent
 * words of one charset are converted together.
 */
static void rfc2047_decode(GString *out, const char *s, size_t n)
{
	struct ew_run run = { .active = false };
	size_t i = 0, lit = 0;
	struct ew w;

	run.bytes = g_string_new(NULL);
	while (i + 1 < n) {
		const char *eq = memchr(s + i, '=', n - i - 1);

		if (eq == NULL)
			break;
		i = (size_t)(eq - s);
		if (s[i + 1] != '?' || !ew_parse(s, n, i, &w)) {
			i++;
			continue;
		}
		if (run.active && only_blanks(s + lit, i - lit)) {
			if (g_ascii_strcasecmp(run.charset, w.charset) != 0)
				run_flush(&run, out);
		} else {
			run_flush(&run, out);
			g_string_append_len(out, s + lit, (gssize)(i - lit));
		}
		run_add(&run, &w);
		i = lit = w.end;
	}
	run_flush(&run, out);
	g_string_append_len(out, s + lit, (gssize)(n - lit));
	g_string_free(run.bytes, TRUE);
}

/* ---------------------------------------------------------- subject */

/* Undoes folding: CR/LF before a blank go, other CR/LF become a space. */
static GString *unfold(const char *raw, size_t n)
{
	GString *s = g_string_sized_new(n);
	size_t i = 0;

	while (i < n) {
		if (raw[i] == '\r' || raw[i] == '\n') {
			while (i < n && (raw[i] == '\r' || raw[i] == '\n'))
				i++;
			if (i >= n || !is_blank((unsigned char)raw[i]))
				g_string_append_c(s, ' ');
			continue;
		}
		g_string_append_c(s, raw[i++]);
	}
	return s;
}

/*
 * Valid UTF-8 without control characters: C0 and DEL (NUL included)
 * become spaces, invalid bytes U+FFFD, C1 spaces.
 */
static char *sanitise(GString *s)
{
	GString *clean;
	char *valid;

	for (size_t i = 0; i < s->len; i++)
		if ((unsigned char)s->str[i] < 0x20 || s->str[i] == 0x7f)
			s->str[i] = ' ';
	valid = g_utf8_make_valid(s->str, (gssize)s->len);
	clean = g_string_sized_new(s->len);
	for (const char *p = valid; *p != '\0'; p++) {
		if ((unsigned char)p[0] == 0xc2 && (unsigned char)p[1] >= 0x80 &&
		    (unsigned char)p[1] <= 0x9f) {
			g_string_append_c(clean, ' ');
			p++;
		} else {
			g_string_append_c(clean, *p);
		}
	}
	g_free(valid);
	return g_string_free(clean, FALSE);
}

/* Strips blanks and cuts to CASENUM_DECODED_MAX on a character boundary. */
static void trim_and_cap(char *s)
{
	size_t len;

	g_strchug(s);
	len = strlen(s);
	if (len > CASENUM_DECODED_MAX) {
		len = CASENUM_DECODED_MAX;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		s[len] = '\0';
	}
	g_strchomp(s);
}

static char *decode_subject(const char *raw)
{
	size_t n = strnlen(raw, CASENUM_RAW_MAX + 1);
	GString *unfolded, *text, *decoded;
	char *clean;

	if (n > CASENUM_RAW_MAX) {
		/* Cut at the last blank, which never splits an encoded word
		 * nor a character of the Japanese charsets. */
		n = CASENUM_RAW_MAX;
		while (n > 0 && !is_blank((unsigned char)raw[n]))
			n--;
		if (n == 0)
			n = CASENUM_RAW_MAX;
	}
	unfolded = unfold(raw, n);
	if (is_ascii(unfolded->str, unfolded->len) &&
	    memchr(unfolded->str, 0x1b, unfolded->len) == NULL) {
		text = unfolded;
	} else {
		text = g_string_sized_new(unfolded->len);
		charset_decode(text, NULL, unfolded->str, unfolded->len,
			       CHARSET_LOSSY_UTF8);
		g_string_free(unfolded, TRUE);
	}
	if (strstr(text->str, "=?") != NULL) {
		decoded = g_string_sized_new(text->len);
		rfc2047_decode(decoded, text->str, text->len);
		g_string_free(text, TRUE);
	} else {
		decoded = text;
	}
	clean = sanitise(decoded);
	g_string_free(decoded, TRUE);
	trim_and_cap(clean);
	return clean;
}

int casenum_parse_subject(const struct casenum_format *fmt, const char *raw,
			  struct casenum_subject *out)
{
	GPtrArray *tags;
	char *norm;

	if (out != NULL)
		memset(out, 0, sizeof *out);
	if (out == NULL || raw == NULL ||
	    casenum_format_check(fmt, NULL) != TDK_OK)
		return TDK_EINVAL;
	out->decoded = decode_subject(raw);
	norm = charset_nfkc(out->decoded, strlen(out->decoded));
	tags = g_ptr_array_new();
	out->case_number = scan_subject(fmt, norm, strlen(norm), tags);
	out->n_foreign_tags = tags->len;
	g_ptr_array_add(tags, NULL);
	out->foreign_tags = (char **)g_ptr_array_free(tags, FALSE);
	g_free(norm);
	return TDK_OK;
}

void casenum_subject_clear(struct casenum_subject *s)
{
	if (s == NULL)
		return;
	g_free(s->decoded);
	g_free(s->case_number);
	g_strfreev(s->foreign_tags);
	memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------- body */

static const char body_keyword[] = "取扱番号";

/*
 * The first of our tags right after a 取扱番号 in t, normalised text from a
 * keyword to the end of its line.
 */
static char *body_line_scan(const struct casenum_format *fmt, const char *t,
			    size_t n)
{
	const size_t kwlen = sizeof body_keyword - 1;
	const char *kw = t;
	struct hit h;

	while ((kw = strstr(kw, body_keyword)) != NULL) {
		size_t pos = skip_blanks(t, n, (size_t)(kw - t) + kwlen);

		if (has_at(t, n, pos, "】"))
			pos = skip_blanks(t, n, pos + strlen("】"));
		else if (has_at(t, n, pos, "]"))
			pos = skip_blanks(t, n, pos + 1);
		if (has_at(t, n, pos, ":"))
			pos = skip_blanks(t, n, pos + 1);
		if (has_at(t, n, pos, "["))
			pos = skip_blanks(t, n, pos + 1);
		if (match_ours(fmt, t, n, pos, &h))
			return canonical(fmt, t + h.digits, h.n_digits);
		kw += kwlen;
	}
	return NULL;
}

/* Offset of the first 取扱番号 in text[from, len), or len. */
static size_t body_find_keyword(const char *text, size_t len, size_t from)
{
	const size_t kwlen = sizeof body_keyword - 1;

	while (len >= kwlen && from <= len - kwlen) {
		const char *p = memchr(text + from, body_keyword[0],
				       len - kwlen + 1 - from);

		if (p == NULL)
			break;
		from = (size_t)(p - text);
		if (memcmp(p, body_keyword, kwlen) == 0)
			return from;
		from++;
	}
	return len;
}

int casenum_find_in_body(const struct casenum_format *fmt, const char *text,
			 size_t len, char **case_number)
{
	size_t i = 0;

	if (case_number != NULL)
		*case_number = NULL;
	if (case_number == NULL || (text == NULL && len > 0) ||
	    casenum_format_check(fmt, NULL) != TDK_OK)
		return TDK_EINVAL;
	/* Each line holding the keyword is made valid (NUL and bad bytes
	 * become U+FFFD) and normalised once, from its first keyword on. */
	while ((i = body_find_keyword(text, len, i)) < len) {
		size_t end = i;
		char *valid, *norm;

		while (end < len && text[end] != '\n' && text[end] != '\r')
			end++;
		valid = g_utf8_make_valid(text + i, (gssize)(end - i));
		norm = charset_nfkc(valid, strlen(valid));
		*case_number = body_line_scan(fmt, norm, strlen(norm));
		g_free(norm);
		g_free(valid);
		if (*case_number != NULL)
			break;
		i = end;
	}
	return TDK_OK;
}

/* ------------------------------------------------------ thread refs */

/*
 * A copy of a References/In-Reply-To value for GMime's parser: outside
 * <...>, comments and quoted strings are blanked, and so are the specials
 * at which GMime's parser stops (",;:.@[]\" and stray ">").
 */
static char *refs_blank(const char *s)
{
	enum { NORMAL, ANGLE, COMMENT, QUOTE } state = NORMAL;
	char *copy = g_strdup(s);
	int depth = 0;

	for (char *p = copy; *p != '\0'; p++) {
		switch (state) {
		case NORMAL:
			if (*p == '<') {
				state = ANGLE;
			} else if (*p == '(') {
				state = COMMENT;
				depth = 1;
				*p = ' ';
			} else if (*p == '"') {
				state = QUOTE;
				*p = ' ';
			} else if (strchr(">),;:.@[]\\", *p) != NULL) {
				*p = ' ';
			}
			break;
		case ANGLE:
			if (*p == '>')
				state = NORMAL;
			break;
		case COMMENT:
		case QUOTE:
			if (*p == '\\' && p[1] != '\0') {
				*p++ = ' ';
			} else if (state == COMMENT && *p == '(') {
				depth++;
			} else if ((state == COMMENT && *p == ')' && --depth == 0) ||
				   (state == QUOTE && *p == '"')) {
				state = NORMAL;
			}
			*p = ' ';
			break;
		}
	}
	return copy;
}

static bool msgid_ok(const char *id)
{
	size_t len = strlen(id);
	const char *at = strchr(id, '@');

	if (len < 3 || len > MSGID_MAX || at == NULL || id[0] == '@' ||
	    id[len - 1] == '@' || !g_utf8_validate(id, (gssize)len, NULL))
		return false;
	for (const char *p = id; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c <= ' ' || c == '<' || c == '>' || g_unichar_iscntrl(c) ||
		    g_unichar_isspace(c))
			return false;
	}
	return true;
}

static void refs_add(GPtrArray *ids, GHashTable *seen, const char *header)
{
	GMimeReferences *refs;
	char *blanked;

	if (header == NULL)
		return;
	blanked = refs_blank(header);
	refs = g_mime_references_parse(NULL, blanked);
	g_free(blanked);
	if (refs == NULL)
		return;
	for (int k = 0; k < g_mime_references_length(refs); k++) {
		const char *id = g_mime_references_get_message_id(refs, k);
		char *copy;

		if (ids->len >= CASENUM_REFS_MAX)
			break;
		if (id == NULL || !msgid_ok(id) || g_hash_table_contains(seen, id))
			continue;
		copy = g_strdup(id);
		g_ptr_array_add(ids, copy);
		g_hash_table_add(seen, copy);
	}
	g_mime_references_free(refs);
}

int casenum_thread_refs(const char *in_reply_to, const char *references,
			char ***ids, size_t *n_ids)
{
	GPtrArray *list;
	GHashTable *seen;

	if (ids != NULL)
		*ids = NULL;
	if (n_ids != NULL)
		*n_ids = 0;
	if (ids == NULL || n_ids == NULL)
		return TDK_EINVAL;
	list = g_ptr_array_new();
	seen = g_hash_table_new(g_str_hash, g_str_equal);
	refs_add(list, seen, in_reply_to);
	refs_add(list, seen, references);
	g_hash_table_destroy(seen);
	*n_ids = list->len;
	g_ptr_array_add(list, NULL);
	*ids = (char **)g_ptr_array_free(list, FALSE);
	return TDK_OK;
}

void casenum_strv_free(char **v)
{
	g_strfreev(v);
}
