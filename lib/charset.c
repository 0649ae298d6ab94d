/*
 * charset.c - mail text to UTF-8 (see charset.h for the rules).
 *
 * Functions: charset_decode() classifies the label (cs_classify), tries
 * it, then the guess (decode_guess), then the last resort (decode_lossy),
 * and checks what it appended; charset_nfkc().
 *
 * Conversions go through g_convert() (iconv) and fail as a whole on a bad
 * byte, except the lossy ones: lossy_append() steps over each byte iconv
 * refuses, lossy_utf8_append() reads UTF-8 with GLib's validator.
 */
#include "charset.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char replacement_char[] = "\xef\xbf\xbd"; /* U+FFFD */

/* ------------------------------------------------------------ bytes */

static bool is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* UTF-8 validity that lets NUL bytes through (the caller handles them). */
static bool utf8_valid(const char *s, size_t n)
{
	const char *end;

	while (n > 0) {
		if (g_utf8_validate_len(s, n, &end))
			return true;
		if (*end != '\0')
			return false;
		n -= (size_t)(end - s) + 1;
		s = end + 1;
	}
	return true;
}

/* -------------------------------------------------------- labels */

enum cs_family {
	CS_UNKNOWN, /* no label */
	CS_ASCII,
	CS_UTF8,
	CS_ISO2022JP,
	CS_SJIS,
	CS_EUCJP,
	CS_OTHER
};

static bool label_in(const char *label, const char *const *names)
{
	for (; *names != NULL; names++)
		if (g_ascii_strcasecmp(label, *names) == 0)
			return true;
	return false;
}

static enum cs_family cs_classify(const char *label)
{
	static const char *const ascii[] = {
		"us-ascii", "ascii", "us", "ansi_x3.4-1968", NULL
	};
	static const char *const utf8[] = { "utf-8", "utf8", NULL };
	static const char *const jis[] = {
		"iso-2022-jp", "iso2022jp", "csiso2022jp", "iso-2022-jp-1",
		"iso-2022-jp-2", "iso-2022-jp-3", "iso-2022-jp-ms",
		"x-iso-2022-jp", "cp50220", "cp50221", "cp50222", NULL
	};
	static const char *const sjis[] = {
		"shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji",
		"csshiftjis", "windows-31j", "cswindows31j", "cp932", "ms932",
		"x-ms-cp932", "ibm-943", NULL
	};
	static const char *const eucjp[] = {
		"euc-jp", "eucjp", "x-euc-jp", "x-euc", "cseucpkdfmtjapanese",
		"euc-jp-ms", "eucjp-ms", "cp51932", NULL
	};

	if (label == NULL || label[0] == '\0')
		return CS_UNKNOWN;
	if (label_in(label, ascii))
		return CS_ASCII;
	if (label_in(label, utf8))
		return CS_UTF8;
	if (label_in(label, jis))
		return CS_ISO2022JP;
	if (label_in(label, sjis))
		return CS_SJIS;
	if (label_in(label, eucjp))
		return CS_EUCJP;
	return CS_OTHER;
}

/* Other charsets that mail really uses: the only labels iconv sees. */
static bool label_is_common(const char *label)
{
	static const char *const families[] = {
		"iso-8859-", "windows-125", "cp125", NULL
	};
	static const char *const names[] = {
		"koi8-r", "koi8-u", "gb2312", "gbk", "gb18030", "big5",
		"big5-hkscs", "euc-kr", "ks_c_5601-1987", "cp949", "tis-620",
		"windows-874", "utf-16", "utf-16be", "utf-16le", "utf-7", NULL
	};

	for (const char *const *f = families; *f != NULL; f++) {
		size_t len = strlen(*f);
		const char *rest = label + len;

		if (g_ascii_strncasecmp(label, *f, len) != 0 || *rest == '\0' ||
		    strlen(rest) > 2)
			continue;
		while (g_ascii_isdigit(*rest))
			rest++;
		if (*rest == '\0')
			return true;
	}
	return label_in(label, names);
}

/* ---------------------------------------------------- pinned modules */

/*
 * glibc unloads a gconv module soon after its last descriptor is closed,
 * so text in alternating charsets would dlopen() and dlclose() a module
 * for nearly every conversion (measured: 20 times slower). One descriptor
 * per Japanese charset is held open for the life of the process; they are
 * never used for converting, so sharing them between threads is safe.
 * This is the module's only process-wide state.
 */
static const char *const pinned_names[] = {
	"ISO-2022-JP", "CP932", "SHIFT_JIS", "EUC-JP", "EUC-JP-MS"
};
/* External linkage on purpose: the compiler keeps the stores, so leak
 * checkers see the descriptors as still reachable. */
GIConv charset_pinned_converters[G_N_ELEMENTS(pinned_names)];
extern GIConv charset_pinned_converters[G_N_ELEMENTS(pinned_names)];

static void pin_converters(void)
{
	static gsize pinned;

	if (g_once_init_enter(&pinned)) {
		for (size_t k = 0; k < G_N_ELEMENTS(pinned_names); k++)
			charset_pinned_converters[k] = g_iconv_open("UTF-8", pinned_names[k]);
		g_once_init_leave(&pinned, 1);
	}
}

/* ------------------------------------------------------- conversions */

/* Appends in converted from charset to UTF-8; false (out unchanged) if
 * iconv does not know charset or in is not valid in it. */
static bool conv_append(GString *out, const char *charset, const char *in,
			size_t n)
{
	gsize written = 0;
	char *utf8;

	if (n == 0)
		return true;
	utf8 = g_convert(in, (gssize)n, "UTF-8", charset, NULL, &written, NULL);
	if (utf8 == NULL)
		return false;
	g_string_append_len(out, utf8, (gssize)written);
	g_free(utf8);
	return true;
}

/*
 * Converts in from charset, replacing each byte iconv refuses by U+FFFD.
 * Returns the number of replacements, or SIZE_MAX (out unchanged) if
 * iconv does not know charset.
 */
static size_t lossy_append(GString *out, const char *charset, const char *in,
			   size_t n)
{
	GIConv cd = g_iconv_open("UTF-8", charset);
	char buf[4096];
	char *inp = (char *)in;
	gsize inleft = n;
	size_t bad = 0;

	if (cd == (GIConv)-1)
		return SIZE_MAX;
	while (inleft > 0) {
		char *outp = buf;
		gsize outleft = sizeof buf;
		gsize r = g_iconv(cd, &inp, &inleft, &outp, &outleft);
		int saved = errno;

		g_string_append_len(out, buf, outp - buf);
		if (r != (gsize)-1 || saved == E2BIG)
			continue;
		/* EILSEQ, or EINVAL for a sequence cut at the end */
		g_string_append(out, replacement_char);
		bad++;
		inp++;
		inleft--;
		g_iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
	}
	g_iconv_close(cd);
	return bad;
}

/*
 * The UTF-8 reading of in, each byte of an invalid sequence replaced by
 * U+FFFD (NUL bytes kept); the number of replacements. Not through iconv:
 * glibc's UTF-8 decoder lets 5- and 6-byte sequences through.
 */
static size_t lossy_utf8_append(GString *out, const char *in, size_t n)
{
	size_t bad = 0;

	while (n > 0) {
		const char *end;

		if (g_utf8_validate_len(in, n, &end)) {
			g_string_append_len(out, in, (gssize)n);
			break;
		}
		g_string_append_len(out, in, end - in);
		if (*end == '\0') {
			g_string_append_c(out, '\0');
		} else {
			g_string_append(out, replacement_char);
			bad++;
		}
		n -= (size_t)(end - in) + 1;
		in = end + 1;
	}
	return bad;
}

/*
 * ISO-2022-JP to Shift_JIS bytes, for the NEC and IBM extension rows that
 * Outlook writes in ISO-2022-JP (CP50220/CP50221) and glibc's ISO-2022-JP
 * refuses; the result is read as Windows-31J. Also takes JIS X 0201 kana
 * (ESC ( I, SO/SI). NULL for anything else (JIS X 0212, 8-bit bytes, an
 * odd byte in a two-byte run).
 */
static GString *jis_to_sjis(const char *in, size_t n)
{
	enum { M_ASCII, M_KANJI, M_KANA } mode = M_ASCII;
	GString *s = g_string_sized_new(n);
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)in[i];

		if (c == 0x1b) {
			char a = i + 1 < n ? in[i + 1] : 0;
			char b = i + 2 < n ? in[i + 2] : 0;

			if (a == '$' && (b == 'B' || b == '@'))
				mode = M_KANJI;
			else if (a == '(' && (b == 'B' || b == 'J'))
				mode = M_ASCII;
			else if (a == '(' && b == 'I')
				mode = M_KANA;
			else
				goto fail;
			i += 3;
		} else if (c == 0x0e || c == 0x0f) {
			mode = c == 0x0e ? M_KANA : M_ASCII;
			i++;
		} else if (c >= 0x80) {
			goto fail;
		} else if (mode == M_KANJI && c >= 0x21 && c <= 0x7e) {
			unsigned char c2 = i + 1 < n ? (unsigned char)in[i + 1] : 0;

			if (c2 < 0x21 || c2 > 0x7e)
				goto fail;
			g_string_append_c(s, (char)(((c + 1) >> 1) +
						    (c <= 0x5e ? 0x70 : 0xb0)));
			g_string_append_c(s, (char)(c2 + ((c & 1) ?
						    (c2 >= 0x60 ? 0x20 : 0x1f) :
						    0x7e)));
			i += 2;
		} else if (mode == M_KANA && c >= 0x21 && c <= 0x5f) {
			g_string_append_c(s, (char)(c + 0x80));
			i++;
		} else {
			if (mode == M_KANJI && (c == '\n' || c == '\r'))
				mode = M_ASCII; /* a line never stays in kanji */
			g_string_append_c(s, (char)c);
			i++;
		}
	}
	return s;
fail:
	g_string_free(s, TRUE);
	return NULL;
}

static bool iso2022jp_append(GString *out, const char *in, size_t n)
{
	GString *sjis;
	bool ok;

	if (!is_ascii(in, n))
		return false;
	if (conv_append(out, "ISO-2022-JP", in, n))
		return true;
	if ((sjis = jis_to_sjis(in, n)) == NULL)
		return false;
	ok = conv_append(out, "CP932", sjis->str, sjis->len);
	g_string_free(sjis, TRUE);
	return ok;
}

static bool sjis_append(GString *out, const char *in, size_t n)
{
	return conv_append(out, "CP932", in, n) ||
	       conv_append(out, "SHIFT_JIS", in, n);
}

static bool eucjp_append(GString *out, const char *in, size_t n)
{
	return conv_append(out, "EUC-JP", in, n) ||
	       conv_append(out, "EUC-JP-MS", in, n);
}

/* ------------------------------------------------------------- chain */

/* Characters that betray a wrong guess: half-width katakana, private
 * use, C1 controls. */
static size_t odd_chars(const GString *s)
{
	size_t count = 0;

	for (const char *p = s->str; p < s->str + s->len; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if ((c >= 0xff61 && c <= 0xff9f) || (c >= 0xe000 && c <= 0xf8ff) ||
		    (c >= 0x80 && c <= 0x9f))
			count++;
	}
	return count;
}

/* Bytes of unknown charset: ESC -> ISO-2022-JP, UTF-8, Windows-31J or
 * EUC-JP; false (out unchanged) if none converts cleanly. */
static bool decode_guess(GString *out, const char *in, size_t n)
{
	GString *sjis, *euc;
	bool sjis_ok, euc_ok, done = true;

	if (memchr(in, 0x1b, n) != NULL && iso2022jp_append(out, in, n))
		return true;
	if (utf8_valid(in, n)) {
		g_string_append_len(out, in, (gssize)n);
		return true;
	}
	sjis = g_string_new(NULL);
	euc = g_string_new(NULL);
	sjis_ok = sjis_append(sjis, in, n);
	/* a clean Shift_JIS reading cannot lose: ties go to Shift_JIS */
	euc_ok = !(sjis_ok && odd_chars(sjis) == 0) && eucjp_append(euc, in, n);
	if (sjis_ok && (!euc_ok || odd_chars(sjis) <= odd_chars(euc)))
		g_string_append_len(out, sjis->str, (gssize)sjis->len);
	else if (euc_ok)
		g_string_append_len(out, euc->str, (gssize)euc->len);
	else
		done = false;
	g_string_free(sjis, TRUE);
	g_string_free(euc, TRUE);
	return done;
}

/* The last resort (see enum charset_last_resort). */
static void decode_lossy(GString *out, const char *label, const char *in,
			 size_t n, enum charset_last_resort last)
{
	const char *candidates[4];
	size_t n_cand = 0, best_bad = SIZE_MAX;
	GString *best = NULL;

	if (last == CHARSET_LOSSY_FEWEST) {
		switch (cs_classify(label)) {
		case CS_ISO2022JP:
			candidates[n_cand++] = "ISO-2022-JP";
			break;
		case CS_OTHER:
			if (label_is_common(label))
				candidates[n_cand++] = label;
			break;
		default:
			break;
		}
	}
	candidates[n_cand++] = "UTF-8";
	if (last == CHARSET_LOSSY_FEWEST) {
		candidates[n_cand++] = "CP932";
		candidates[n_cand++] = "EUC-JP";
	}
	for (size_t k = 0; k < n_cand && best_bad > 0; k++) {
		GString *s = g_string_sized_new(n + n / 2);
		size_t bad = strcmp(candidates[k], "UTF-8") == 0
			? lossy_utf8_append(s, in, n)
			: lossy_append(s, candidates[k], in, n);

		if (bad < best_bad) {
			if (best != NULL)
				g_string_free(best, TRUE);
			best = s;
			best_bad = bad;
		} else {
			g_string_free(s, TRUE);
		}
	}
	/* the UTF-8 candidate always gives a reading */
	g_string_append_len(out, best->str, (gssize)best->len);
	g_string_free(best, TRUE);
}

/* The label, then the guess, then the last resort. */
static void decode_chain(GString *out, const char *label, const char *in,
			 size_t n, enum charset_last_resort last)
{
	switch (cs_classify(label)) {
	case CS_ASCII:
	case CS_UTF8:
		if (memchr(in, 0x1b, n) == NULL && utf8_valid(in, n)) {
			g_string_append_len(out, in, (gssize)n);
			return;
		}
		break;
	case CS_ISO2022JP:
		if (iso2022jp_append(out, in, n))
			return;
		break;
	case CS_SJIS:
		if (sjis_append(out, in, n))
			return;
		break;
	case CS_EUCJP:
		if (eucjp_append(out, in, n))
			return;
		break;
	case CS_OTHER:
		if (label_is_common(label) && conv_append(out, label, in, n))
			return;
		break;
	case CS_UNKNOWN:
		break;
	}
	if (!decode_guess(out, in, n))
		decode_lossy(out, label, in, n, last);
}

void charset_decode(GString *out, const char *label, const char *in,
		    size_t n, enum charset_last_resort last)
{
	size_t start = out->len, len;
	char *copy;

	if (n == 0)
		return;
	pin_converters();
	decode_chain(out, label, in, n, last);
	/* iconv's output is not trusted to be valid UTF-8 */
	len = out->len - start;
	if (utf8_valid(out->str + start, len))
		return;
	copy = g_memdup2(out->str + start, len);
	g_string_truncate(out, start);
	lossy_utf8_append(out, copy, len);
	g_free(copy);
}

/* ---------------------------------------------------------- NFKC */

char *charset_nfkc(const char *s, size_t n)
{
	GString *safe;
	const char *p, *end = s + n;
	int run = 0;
	char *norm;

	if (is_ascii(s, n))
		return g_strndup(s, n);
	safe = g_string_sized_new(n);
	for (p = s; p < end; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_combining_class(c) != 0) {
			if (++run > CHARSET_STREAM_SAFE_RUN)
				continue;
		} else {
			run = 0;
		}
		g_string_append_len(safe, p, g_utf8_next_char(p) - p);
	}
	norm = g_utf8_normalize(safe->str, (gssize)safe->len, G_NORMALIZE_NFKC);
	if (norm == NULL)
		return g_string_free(safe, FALSE);
	g_string_free(safe, TRUE);
	return norm;
}
