/*
 * test_charset.c - mail text to UTF-8: each charset path (UTF-8 and
 * US-ASCII, ISO-2022-JP with Outlook's extensions, Shift_JIS as
 * Windows-31J, EUC-JP and EUC-JP-MS, the common other charsets), lying and
 * unknown labels, the guess, invalid bytes, both last resorts, output
 * validity, threads, and the NFKC copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "charset.h"

#define FFFD "\xef\xbf\xbd"

/* Defined in charset.c, deliberately not in charset.h. */
extern GIConv charset_pinned_converters[5];

/* ---------------------------------------------------------- helpers */

/* The decoding of n bytes of in labelled label; g_free() it. */
static char *decode_len(const char *label, const char *in, size_t n,
			enum charset_last_resort last, size_t *len)
{
	GString *out = g_string_new(NULL);

	charset_decode(out, label, in, n, last);
	if (len != NULL)
		*len = out->len;
	return g_string_free(out, FALSE);
}

/* Decodes the NUL-terminated in with both last resorts and checks the
 * result of each (want NULL: not checked; want_fewest NULL: the same as
 * want). */
static void check2(const char *label, const char *in, const char *want,
		   const char *want_fewest)
{
	char *got = decode_len(label, in, strlen(in), CHARSET_LOSSY_UTF8, NULL);

	if (want != NULL && strcmp(got, want) != 0)
		fail_msg("label %s, lossy UTF-8: got \"%s\", want \"%s\"",
			 label != NULL ? label : "(none)", got, want);
	g_free(got);
	want = want_fewest != NULL ? want_fewest : want;
	got = decode_len(label, in, strlen(in), CHARSET_LOSSY_FEWEST, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("label %s, fewest: got \"%s\", want \"%s\"",
			 label != NULL ? label : "(none)", got, want);
	g_free(got);
}

static void check(const char *label, const char *in, const char *want)
{
	check2(label, in, want, NULL);
}

/* n bytes of in (NULs allowed) decode to the n_want bytes of want with
 * either last resort. */
static void check_len(const char *label, const char *in, size_t n,
		      const char *want, size_t n_want)
{
	for (int last = CHARSET_LOSSY_UTF8; last <= CHARSET_LOSSY_FEWEST; last++) {
		size_t len;
		char *got = decode_len(label, in, n, (enum charset_last_resort)last, &len);

		assert_int_equal(len, n_want);
		assert_memory_equal(got, want, n_want);
		g_free(got);
	}
}

/* Valid UTF-8 apart from NUL bytes (s is changed: NULs become spaces). */
static bool valid_but_nul(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			s[i] = ' ';
	return g_utf8_validate_len(s, n, NULL);
}

/* ---------------------------------------------------- UTF-8, ASCII */

static void utf8_and_ascii(void **state)
{
	GString *out = g_string_new("kept ");

	(void)state;
	check("utf-8", "報告書 IPA#1", "報告書 IPA#1");
	check("UTF8", "報告書", "報告書");
	check("us-ascii", "plain", "plain");
	/* a US-ASCII label on UTF-8 bytes (a common mistake) */
	check("US-ASCII", "確認", "確認");
	check(NULL, "報告書", "報告書");
	check("", "報告書", "報告書");
	/* NUL bytes pass through as NUL */
	check_len("utf-8", "a\0b", 3, "a\0b", 3);
	check_len(NULL, "\0報", 4, "\0報", 4);
	/* appends; nothing for no bytes, in may then be NULL */
	charset_decode(out, "utf-8", "text", 4, CHARSET_LOSSY_UTF8);
	charset_decode(out, "utf-8", NULL, 0, CHARSET_LOSSY_FEWEST);
	charset_decode(out, NULL, "", 0, CHARSET_LOSSY_UTF8);
	assert_string_equal(out->str, "kept text");
	g_string_free(out, TRUE);
}

/* ---------------------------------------------------- ISO-2022-JP */

static void iso2022jp(void **state)
{
	(void)state;
	check("ISO-2022-JP", "\x1b$BJs9p=q\x1b(B", "報告書");
	check("csISO2022JP", "\x1b$BJs9p=q\x1b(B IPA#1", "報告書 IPA#1");
	check("cp50220", "\x1b$BJs9p=q\x1b(B", "報告書");
	/* Outlook: NEC row 13 in ISO-2022-JP, read through Windows-31J */
	check("iso-2022-jp", "\x1b$B-!$NBP1~\x1b(B", "①の対応");
	/* on that path JIS X 0201 kana too: ESC ( I, and SO/SI */
	check("iso-2022-jp", "\x1b$B-!\x1b(I12\x1b(B", "①ｱｲ");
	check("iso-2022-jp", "\x1b$B-!\x0e\x31\x0f\x1b(B", "①ｱ");
	/* unlabelled: the ESC gives it away (it is valid UTF-8 too) */
	check(NULL, "\x1b$BJs9p=q\x1b(B", "報告書");
	check(NULL, "\x1b$B-!$NBP1~\x1b(B", "①の対応");
	/* a line end leaves kanji mode on the Outlook path */
	check("iso-2022-jp", "\x1b$B-!\nIPA#1\x1b(B", "①\nIPA#1");
	check("iso-2022-jp", "\x1b$B-!\r\nIPA#1", "①\r\nIPA#1");
}

/* ------------------------------------------------------- Shift_JIS */

static void shift_jis(void **state)
{
	(void)state;
	/* read as Windows-31J: NEC and IBM extensions, "～" as U+FF5E */
	check("shift_jis", "\x95\xf1\x8d\x90\x8f\x91", "報告書");
	check("Shift_JIS", "\x87\x40\x87\x8a", "①㈱");
	check("shift_jis", "\x81\x60", "\xef\xbd\x9e");
	check("windows-31j", "\x87\x40", "①");
	check("MS_Kanji", "\x87\x40", "①");
	check("x-sjis", "\x95\xf1", "報");
	check("cp932", "\xb1\xb2", "ｱｲ");
}

/* ---------------------------------------------------------- EUC-JP */

static void euc_jp(void **state)
{
	(void)state;
	check("euc-jp", "\xca\xf3\xb9\xf0\xbd\xf1", "報告書");
	check("EUCJP", "\xa4\xc7\xa4\xb9", "です");
	check("x-euc-jp", "\x8e\xb1", "ｱ");
	/* NEC row 13 is not in glibc's EUC-JP: EUC-JP-MS reads it */
	check("euc-jp", "\xad\xa1", "①");
	check("cp51932", "\xad\xa1\xca\xf3", "①報");
}

/* -------------------------------------------------- other charsets */

static void other_charsets(void **state)
{
	(void)state;
	check("iso-8859-1", "caf\xe9", "café");
	check("ISO-8859-15", "\xa4", "€");
	check("windows-1252", "\x80", "€");
	check("koi8-r", "\xf0\xd2\xc9", "При");
	check("euc-kr", "\xc7\xd1", "한");
	check_len("utf-16le", "A\0\xb1\x30", 4, "Aケ", 4);
	check_len("UTF-16", "\xfe\xff\x4e\x00", 4, "一", 3);
	/* a charset iconv knows but mail does not use: never converted (in
	 * IBM037 these bytes are "AB"); the guess prefers EUC-JP to
	 * half-width katakana */
	check("IBM037", "\xc1\xc2", "疎");
	check("IBM037", "件名", "件名");
	/* nor labels with iconv's "//" suffixes */
	check("UTF-8//IGNORE", "a\xff" "b", "a" FFFD "b");
	check("x-unknown", "\x95\xf1\x8d\x90\x8f\x91", "報告書");
}

/* ----------------------------------------------- lying labels, guess */

static void lying_labels(void **state)
{
	(void)state;
	/* Shift_JIS bytes labelled UTF-8 */
	check("utf-8", "\x95\xf1\x8d\x90\x8f\x91", "報告書");
	/* UTF-8 bytes labelled ISO-2022-JP or EUC-JP (a label is believed
	 * whenever its charset converts the bytes) */
	check("iso-2022-jp", "報告書", "報告書");
	check("euc-jp", "報告書", "報告書");
	/* ISO-2022-JP bytes labelled US-ASCII or UTF-8 */
	check("us-ascii", "\x1b$BJs9p=q\x1b(B", "報告書");
	check("utf-8", "\x1b$BJs9p=q\x1b(B", "報告書");
	/* EUC-JP labelled with an unknown charset */
	check("x-unknown-charset", "\xca\xf3\xb9\xf0\xbd\xf1", "報告書");
	/* Shift_JIS labelled EUC-JP */
	check("euc-jp", "\x95\xf1\x8d\x90\x8f\x91\x82\xc5\x82\xb7", "報告書です");
	/* the label of a common charset that does not fit */
	check("windows-1252", "\x95\xf1\x8d\x90\x8f\x91", "報告書");
}

static void guess_shift_jis_or_euc(void **state)
{
	(void)state;
	/* valid in both: Windows-31J reads half-width katakana, EUC-JP not */
	check(NULL, "\xa4\xc7\xa4\xb9", "です");
	/* valid in both without odd characters: ties go to Shift_JIS */
	check(NULL, "\xe4\xe4", "蒿");
	/* only one of them converts */
	check(NULL, "\xca\xf3\xb9\xf0\xbd\xf1", "報告書");
	check(NULL, "\x95\xf1\x8d\x90\x8f\x91", "報告書");
}

/* ----------------------------------------------------- invalid bytes */

static void invalid_bytes(void **state)
{
	(void)state;
	/* valid in no charset of the chain: each bad byte is U+FFFD */
	check(NULL, "a\xff" "b", "a" FFFD "b");
	check2("utf-8", "\xff\xfe\x80 abc", FFFD FFFD FFFD " abc",
	       FFFD FFFD "\xc2\x80 abc"); /* EUC-JP reads 0x80 as U+0080 */
	check("utf-8", "IPA#1\xff", "IPA#1" FFFD);
	/* read as UTF-8: each byte of a cut or overlong sequence, of a 5-byte
	 * form, of a surrogate; the fewest replacements read Windows-31J */
	check2(NULL, "\xff\xe3\x81", FFFD FFFD FFFD, FFFD "縺");
	check2(NULL, "\xff\xc0\xaf", FFFD FFFD FFFD, FFFD "ﾀｯ");
	check2("utf-8", "\xff\xf8\xa5\x9d\xa9\x9e",
	       FFFD FFFD FFFD FFFD FFFD FFFD, FFFD "\xee\x99\x84" "擠" FFFD);
	check2("utf-8", "\xff\xed\xa0\x80", FFFD FFFD FFFD FFFD, FFFD "恝" FFFD);
	/* NUL among bad bytes stays NUL */
	check_len("x-unknown", "IPA#1\0\xff", 7, "IPA#1\0" FFFD, 9);
}

/* Whatever the label and bytes, the output is valid UTF-8 (NULs aside). */
static void output_is_always_valid(void **state)
{
	static const char *const bodies[] = {
		"a\xf8\xa5\x9d\xa9\x9e" "b\xff",
		"\xe3\x81\x94\xf8\xa5\x9d\xa9\x9e",
		"\xfc\x84\x80\x80\x80\x80\xed\xa0\x80\xc0\xaf",
		"\x1b$B-!\x80\x1b(B\xff",
		"\xd8\x00\xdc\x00\xd8\x00",
		"+2D3cAA-+AAA",
	};
	static const char *const labels[] = {
		NULL, "utf-8", "x-bogus", "utf-16", "utf-16le", "utf-7",
		"iso-2022-jp", "shift_jis", "euc-jp", "gb18030", "big5",
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
		for (size_t k = 0; k < G_N_ELEMENTS(labels); k++) {
			for (int last = CHARSET_LOSSY_UTF8; last <= CHARSET_LOSSY_FEWEST; last++) {
				size_t len;
				char *got = decode_len(labels[k], bodies[i], strlen(bodies[i]),
						       (enum charset_last_resort)last, &len);

				if (!valid_but_nul(got, len))
					fail_msg("body %zu, label %s: invalid UTF-8", i,
						 labels[k] != NULL ? labels[k] : "(none)");
				g_free(got);
			}
		}
	}
}

/* -------------------------------------------------- the last resort */

static void fewest_replacements(void **state)
{
	/* "報告書を送ります", a broken byte, "報告書" in Shift_JIS */
	static const char sjis[] =
		"\x95\xf1\x8d\x90\x8f\x91\x82\xf0\x91\x97\x82\xe8\x82\xdc\x82\xb7\xff"
		"\x95\xf1\x8d\x90\x8f\x91";
	char *got;

	(void)state;
	check2("utf-8", sjis, NULL, "報告書を送ります" FFFD "報告書");
	/* the UTF-8 reading: a row of U+FFFD, no Japanese */
	got = decode_len("utf-8", sjis, strlen(sjis), CHARSET_LOSSY_UTF8, NULL);
	assert_non_null(strstr(got, FFFD FFFD FFFD));
	assert_null(strstr(got, "報"));
	g_free(got);
	/* EUC-JP with a broken byte */
	check2(NULL, "\xca\xf3\xb9\xf0\xbd\xf1\xff", FFFD FFFD FFFD FFFD FFFD FFFD FFFD,
	       "報告書" FFFD);
	/* a tie goes to the earlier reading: the label's charset first ... */
	check2("iso-2022-jp", "\x1b$BJs9p=q\x1b(B\xff", "\x1b$BJs9p=q\x1b(B" FFFD,
	       "報告書" FFFD);
	/* ... and UTF-8 before Windows-31J and EUC-JP */
	check2("x-unknown", "IPA#4 \xff\xfe", "IPA#4 " FFFD FFFD, NULL);
	/* valid UTF-8 with one bad byte stays UTF-8 */
	check2(NULL, "報告書\xff", "報告書" FFFD, NULL);
}

/* ------------------------------------------------ threads, pinning */

struct job {
	const char *label, *in, *want;
	enum charset_last_resort last;
};

static const struct job jobs[] = {
	{ "iso-2022-jp", "\x1b$B-!$NBP1~\x1b(B", "①の対応", CHARSET_LOSSY_UTF8 },
	{ NULL, "\xa4\xc7\xa4\xb9", "です", CHARSET_LOSSY_UTF8 },
	{ "shift_jis", "\x87\x40", "①", CHARSET_LOSSY_FEWEST },
	{ "euc-jp", "\xad\xa1", "①", CHARSET_LOSSY_FEWEST },
	{ "utf-8", "\x95\xf1\xff", "報" FFFD, CHARSET_LOSSY_FEWEST },
	{ "koi8-r", "\xf0", "П", CHARSET_LOSSY_UTF8 },
};

static gpointer worker(gpointer data)
{
	gint *failures = data;

	for (int round = 0; round < 200; round++) {
		for (size_t k = 0; k < G_N_ELEMENTS(jobs); k++) {
			GString *out = g_string_new(NULL);

			charset_decode(out, jobs[k].label, jobs[k].in,
				       strlen(jobs[k].in), jobs[k].last);
			if (strcmp(out->str, jobs[k].want) != 0)
				g_atomic_int_inc(failures);
			g_string_free(out, TRUE);
		}
	}
	return NULL;
}

static void threads_and_pinned_converters(void **state)
{
	GThread *threads[4];
	gint failures = 0;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
		threads[i] = g_thread_new("decode", worker, &failures);
	for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
		g_thread_join(threads[i]);
	assert_int_equal(failures, 0);
	/* one descriptor per Japanese charset, open for the process */
	for (size_t k = 0; k < 5; k++)
		assert_true(charset_pinned_converters[k] != (GIConv)-1 &&
			    charset_pinned_converters[k] != NULL);
}

/* ------------------------------------------------------------- NFKC */

static void nfkc(void **state)
{
	GString *marks = g_string_new("e");
	char *got;

	(void)state;
	got = charset_nfkc("［ＩＰＡ＃１］ ｱ ①", strlen("［ＩＰＡ＃１］ ｱ ①"));
	assert_string_equal(got, "[IPA#1] ア 1");
	g_free(got);
	got = charset_nfkc("plain\tascii", 11);
	assert_string_equal(got, "plain\tascii");
	g_free(got);
	/* n bytes only */
	got = charset_nfkc("ＡＢ", 3);
	assert_string_equal(got, "A");
	g_free(got);
	got = charset_nfkc("", 0);
	assert_string_equal(got, "");
	g_free(got);
	/* 50 combining marks: 30 kept, the first composed with the e */
	for (int i = 0; i < 50; i++)
		g_string_append(marks, "\xcc\x81"); /* U+0301 */
	g_string_append(marks, "x");
	got = charset_nfkc(marks->str, marks->len);
	assert_true(g_str_has_prefix(got, "é\xcc\x81"));
	assert_int_equal(g_utf8_strlen(got, -1), 1 + 29 + 1);
	assert_true(g_str_has_suffix(got, "\xcc\x81x"));
	g_free(got);
	g_string_free(marks, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_and_ascii),
		cmocka_unit_test(iso2022jp),
		cmocka_unit_test(shift_jis),
		cmocka_unit_test(euc_jp),
		cmocka_unit_test(other_charsets),
		cmocka_unit_test(lying_labels),
		cmocka_unit_test(guess_shift_jis_or_euc),
		cmocka_unit_test(invalid_bytes),
		cmocka_unit_test(output_is_always_valid),
		cmocka_unit_test(fewest_replacements),
		cmocka_unit_test(threads_and_pinned_converters),
		cmocka_unit_test(nfkc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
