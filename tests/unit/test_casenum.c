/*
 * test_casenum.c - case number extraction (decision A9): Subject decoding
 * and matching, foreign tags, the 取扱番号 line of a body, thread
 * references, formats, hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "casenum.h"
#include "status.h"

static const struct casenum_format ipa = { "IPA#", 8 };

/* ---------------------------------------------------------- helpers */

/* UTF-8 text converted to charset (asserted to work); *len its length. */
static char *to_charset(const char *utf8, const char *charset, size_t *len)
{
	gsize written = 0;
	char *s = g_convert(utf8, -1, charset, "UTF-8", NULL, &written, NULL);

	assert_non_null(s);
	*len = written;
	return s;
}

/* "=?label?B?...?=" of bytes. */
static char *ew_b_bytes(const char *label, const char *bytes, size_t len)
{
	char *b64 = g_base64_encode((const guchar *)bytes, len);
	char *word = g_strdup_printf("=?%s?B?%s?=", label, b64);

	g_free(b64);
	return word;
}

/* "=?label?B?...?=" of UTF-8 text converted to charset. */
static char *ew_b(const char *label, const char *charset, const char *utf8)
{
	size_t len;
	char *bytes = to_charset(utf8, charset, &len);
	char *word = ew_b_bytes(label, bytes, len);

	g_free(bytes);
	return word;
}

/* "=?label?Q?...?=" of UTF-8 text converted to charset. */
static char *ew_q(const char *label, const char *charset, const char *utf8)
{
	size_t len;
	char *bytes = to_charset(utf8, charset, &len);
	GString *word = g_string_new(NULL);

	g_string_append_printf(word, "=?%s?Q?", label);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)bytes[i];

		if (g_ascii_isalnum(c))
			g_string_append_c(word, (char)c);
		else
			g_string_append_printf(word, "=%02X", c);
	}
	g_string_append(word, "?=");
	g_free(bytes);
	return g_string_free(word, FALSE);
}

/* Parses raw with fmt and checks the case number (NULL: none) and, unless
 * NULL, the decoded text; returns nothing, leaves no memory behind. */
static void check_fmt(const struct casenum_format *fmt, const char *raw,
		      const char *want_case, const char *want_decoded)
{
	struct casenum_subject s;

	assert_int_equal(casenum_parse_subject(fmt, raw, &s), TDK_OK);
	assert_non_null(s.decoded);
	assert_true(g_utf8_validate(s.decoded, -1, NULL));
	assert_non_null(s.foreign_tags);
	assert_null(s.foreign_tags[s.n_foreign_tags]);
	if (want_case == NULL)
		assert_null(s.case_number);
	else
		assert_string_equal(s.case_number, want_case);
	if (want_decoded != NULL)
		assert_string_equal(s.decoded, want_decoded);
	casenum_subject_clear(&s);
}

static void check(const char *raw, const char *want_case,
		  const char *want_decoded)
{
	check_fmt(&ipa, raw, want_case, want_decoded);
}

static int group_setup(void **state)
{
	(void)state;
	g_mime_init();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	g_mime_shutdown();
	return 0;
}

/* ------------------------------------------------- subject: ASCII */

static void subject_plain_tag(void **state)
{
	(void)state;
	check("[IPA#00123456] お問い合わせ", "IPA#00123456",
	      "[IPA#00123456] お問い合わせ");
	check("Re: [IPA#00123456]", "IPA#00123456", "Re: [IPA#00123456]");
	check("RE: Fwd: [IPA#00123456] 修正完了報告", "IPA#00123456", NULL);
}

static void subject_bare_number_is_padded(void **state)
{
	(void)state;
	check("IPA#123", "IPA#00000123", "IPA#123");
	check("Re: IPA#1 の件", "IPA#00000001", NULL);
	check("IPA#0", "IPA#00000000", NULL);
	check("(IPA#42).", "IPA#00000042", NULL);
}

static void subject_spaces_around_hash(void **state)
{
	(void)state;
	check("IPA # 00123456", "IPA#00123456", "IPA # 00123456");
	check("IPA  #00123456", "IPA#00123456", NULL);
	check("Re: [ IPA#\t123 ]", "IPA#00000123", NULL);
	/* whitespace is allowed only around non-alphanumeric characters */
	check("I PA#00123456", NULL, NULL);
}

static void subject_prefix_is_case_insensitive(void **state)
{
	(void)state;
	check("ipa#00123456", "IPA#00123456", "ipa#00123456");
	check("[Ipa#00123456]", "IPA#00123456", NULL);
}

static void subject_folding_and_trimming(void **state)
{
	(void)state;
	check("  Re: [IPA#00123456]\r\n \tお問い合わせ  ", "IPA#00123456",
	      "Re: [IPA#00123456]  お問い合わせ");
	check("Re:\r\nIPA#5", "IPA#00000005", "Re: IPA#5");
	check("", NULL, "");
}

static void subject_word_boundaries(void **state)
{
	(void)state;
	/* an ASCII letter or digit touching the tag: part of another word */
	check("XIPA#00123456", NULL, NULL);
	check("2IPA#00123456", NULL, NULL);
	check("IPA#00123456x", NULL, NULL);
	check("IPA#1IPA#2", NULL, NULL);
	/* Japanese text may touch it */
	check("案件IPA#00123456について", "IPA#00123456", NULL);
	check("件名：IPA#00123456_再送", "IPA#00123456", NULL);
}

static void subject_too_many_digits(void **state)
{
	struct casenum_subject s;

	(void)state;
	check("IPA#123456789", NULL, NULL);
	check("IPA#000000001", NULL, NULL);
	/* a valid tag elsewhere still counts */
	check("IPA#123456789 IPA#7", "IPA#00000007", NULL);
	/* a malformed tag of ours is not foreign */
	assert_int_equal(casenum_parse_subject(&ipa, "[IPA#123456789]", &s),
			 TDK_OK);
	assert_null(s.case_number);
	assert_int_equal(s.n_foreign_tags, 0);
	casenum_subject_clear(&s);
}

static void subject_last_tag_wins(void **state)
{
	(void)state;
	check("[IPA#00000001] Fwd: [IPA#00000002]", "IPA#00000002", NULL);
	check("IPA#3 IPA # 4 ipa#5 [IPA#6] xIPA#7", "IPA#00000006", NULL);
}

static void subject_foreign_tags(void **state)
{
	struct casenum_subject s;

	(void)state;
	assert_int_equal(casenum_parse_subject(&ipa, "[JVN#12345678][IPA#00000005]",
					       &s), TDK_OK);
	assert_string_equal(s.case_number, "IPA#00000005");
	assert_int_equal(s.n_foreign_tags, 1);
	assert_string_equal(s.foreign_tags[0], "[JVN#12345678]");
	assert_null(s.foreign_tags[1]);
	casenum_subject_clear(&s);

	/* in order, exact duplicates once, full width normalised */
	assert_int_equal(casenum_parse_subject(&ipa,
		"[JPCERT#91234567] Re: [Ticket#123][VU#123456] [JVN#12345678] "
		"［ＪＶＮ＃１２３４５６７８］ [ JVNVU # 99 ] 件名", &s), TDK_OK);
	assert_null(s.case_number);
	assert_int_equal(s.n_foreign_tags, 5);
	assert_string_equal(s.foreign_tags[0], "[JPCERT#91234567]");
	assert_string_equal(s.foreign_tags[1], "[Ticket#123]");
	assert_string_equal(s.foreign_tags[2], "[VU#123456]");
	assert_string_equal(s.foreign_tags[3], "[JVN#12345678]");
	assert_string_equal(s.foreign_tags[4], "[ JVNVU # 99 ]");
	assert_null(s.foreign_tags[5]);
	casenum_subject_clear(&s);

	/* not tags: no number, no label, a number too long */
	assert_int_equal(casenum_parse_subject(&ipa,
		"[JVN#] [#123] [重要#1] [X#123456789012345678901]", &s), TDK_OK);
	assert_int_equal(s.n_foreign_tags, 0);
	assert_non_null(s.foreign_tags);
	assert_null(s.foreign_tags[0]);
	casenum_subject_clear(&s);
}

static void subject_other_format(void **state)
{
	static const struct casenum_format vr = { "VR-", 6 };

	(void)state;
	check_fmt(&vr, "[VR-42]", "VR-000042", "[VR-42]");
	check_fmt(&vr, "Re: vr - 42", "VR-000042", NULL);
	check_fmt(&vr, "ＶＲ－４２", "VR-000042", NULL);
	check_fmt(&vr, "VRー42", "VR-000042", NULL); /* katakana long mark */
	check_fmt(&vr, "VR-1234567", NULL, NULL);
	check_fmt(&vr, "[IPA#00123456]", NULL, NULL);
	check_fmt(&ipa, "[VR-42]", NULL, NULL);
}

/* --------------------------------------------- subject: full width */

static void subject_full_width_utf8(void **state)
{
	char *word;

	(void)state;
	check("［ＩＰＡ＃００１２３４５６］ 脆弱性の修正について", "IPA#00123456",
	      "［ＩＰＡ＃００１２３４５６］ 脆弱性の修正について");
	check("ｉｐａ　＃　１２３", "IPA#00000123", NULL);
	check("IPA♯00123456", "IPA#00123456", NULL); /* music sharp sign */

	word = ew_b("UTF-8", "UTF-8", "［ＩＰＡ＃００１２３４５６］お問い合わせ");
	check(word, "IPA#00123456", "［ＩＰＡ＃００１２３４５６］お問い合わせ");
	g_free(word);
	word = ew_b("utf-8", "UTF-8", "ＩＰＡ＃１２３");
	check(word, "IPA#00000123", "ＩＰＡ＃１２３");
	g_free(word);
}

/* ------------------------------------------- subject: ISO-2022-JP */

static void subject_iso2022jp_tag_inside_word(void **state)
{
	char *word = ew_b("ISO-2022-JP", "ISO-2022-JP",
			  "［ＩＰＡ＃００１２３４５６］お問い合わせ");
	char *raw = g_strconcat("Re: ", word, NULL);

	(void)state;
	check(raw, "IPA#00123456", "Re: ［ＩＰＡ＃００１２３４５６］お問い合わせ");
	g_free(raw);
	g_free(word);

	/* the tag in ASCII beside an encoded word, lower-case label */
	word = ew_b("iso-2022-jp", "ISO-2022-JP", "脆弱性関連情報の修正について");
	raw = g_strconcat("Re: [IPA#00000042] ", word, NULL);
	check(raw, "IPA#00000042", "Re: [IPA#00000042] 脆弱性関連情報の修正について");
	g_free(raw);
	g_free(word);
}

static void subject_iso2022jp_split_words(void **state)
{
	const char *text = "［ＩＰＡ＃００１２３４５６］お問い合わせ";
	char *a, *b, *raw, *bytes;
	size_t len, cut;

	(void)state;
	/* each part converted on its own, as RFC 2047 wants */
	a = ew_b("ISO-2022-JP", "ISO-2022-JP", "［ＩＰＡ＃００１");
	b = ew_b("ISO-2022-JP", "ISO-2022-JP", "２３４５６］お問い合わせ");
	raw = g_strconcat(a, "\r\n ", b, NULL);
	check(raw, "IPA#00123456", text);
	g_free(raw);
	g_free(a);
	g_free(b);

	/* one conversion cut in the middle of a character (broken clients) */
	bytes = to_charset(text, "ISO-2022-JP", &len);
	cut = 3 + 2 * 5 + 1;
	a = ew_b_bytes("ISO-2022-JP", bytes, cut);
	b = ew_b_bytes("ISO-2022-JP", bytes + cut, len - cut);
	raw = g_strconcat("Re: ", a, " ", b, " 【至急】", NULL);
	check(raw, "IPA#00123456", "Re: ［ＩＰＡ＃００１２３４５６］お問い合わせ 【至急】");
	g_free(raw);
	g_free(a);
	g_free(b);
	g_free(bytes);

	/* a base64 quantum split across two words */
	check("=?UTF-8?B?44G?= =?UTF-8?B?K?= IPA#9", "IPA#00000009", "お IPA#9");
}

static void subject_iso2022jp_q_encoding(void **state)
{
	char *word = ew_q("ISO-2022-JP", "ISO-2022-JP",
			  "【ご連絡】［ＩＰＡ＃００１２３４５６］");

	(void)state;
	check(word, "IPA#00123456", "【ご連絡】［ＩＰＡ＃００１２３４５６］");
	g_free(word);
	check("=?UTF-8?Q?Re:_[IPA#00000077]_=E3=81=82?=", "IPA#00000077",
	      "Re: [IPA#00000077] あ");
}

static void subject_iso2022jp_nec_characters(void **state)
{
	/* "①" is JIS row 13 (NEC), which Outlook writes in ISO-2022-JP */
	static const char jis[] = "\x1b$B-!$\"\x1b(B [IPA#00000003]";
	char *word = ew_b_bytes("ISO-2022-JP", jis, sizeof jis - 1);

	(void)state;
	check(word, "IPA#00000003", "①あ [IPA#00000003]");
	g_free(word);
}

static void subject_shift_jis_word(void **state)
{
	char *word;

	(void)state;
	/* Windows clients label Windows-31J as Shift_JIS; "①" must survive */
	word = ew_b("Shift_JIS", "CP932", "①［ＩＰＡ＃００１２３４５６］お問い合わせ");
	check(word, "IPA#00123456", "①［ＩＰＡ＃００１２３４５６］お問い合わせ");
	g_free(word);
	word = ew_b("shift_jis", "SHIFT_JIS", "修正完了報告 [IPA#00000011]");
	check(word, "IPA#00000011", "修正完了報告 [IPA#00000011]");
	g_free(word);
}

/* ------------------------------------------------ subject: raw 8-bit */

static void subject_raw_shift_jis(void **state)
{
	const char *text = "Re: ［ＩＰＡ＃００１２３４５６］ 修正完了のご報告";
	size_t len;
	char *raw = to_charset(text, "CP932", &len);

	(void)state;
	assert_false(g_utf8_validate(raw, (gssize)len, NULL));
	check(raw, "IPA#00123456", text);
	g_free(raw);
}

static void subject_raw_iso2022jp(void **state)
{
	const char *text = "Re: ［ＩＰＡ＃００１２３４５６］ ご報告";
	size_t len;
	char *raw = to_charset(text, "ISO-2022-JP", &len);

	(void)state;
	assert_non_null(strchr(raw, 0x1b));
	check(raw, "IPA#00123456", text);
	g_free(raw);
}

static void subject_raw_euc_jp(void **state)
{
	const char *text = "Re: [IPA#00000010] お問い合わせ";
	size_t len;
	char *raw = to_charset(text, "EUC-JP", &len);

	(void)state;
	check(raw, "IPA#00000010", text);
	g_free(raw);
}

static void subject_raw_utf8_with_encoded_word(void **state)
{
	char *word = ew_b("UTF-8", "UTF-8", "［ＩＰＡ＃７］");
	char *raw = g_strconcat("返信：", word, " 確認しました", NULL);

	(void)state;
	check(raw, "IPA#00000007", "返信：［ＩＰＡ＃７］ 確認しました");
	g_free(raw);
	g_free(word);
}

/* ---------------------------------------------- subject: hostile */

static void hostile_repeated_prefix(void **state)
{
	struct casenum_subject s;
	GString *raw = g_string_new(NULL);

	(void)state;
	while (raw->len < 64 * 1024)
		g_string_append(raw, "IPA#");
	assert_int_equal(casenum_parse_subject(&ipa, raw->str, &s), TDK_OK);
	assert_null(s.case_number);
	assert_int_equal(strlen(s.decoded), CASENUM_DECODED_MAX);
	assert_int_equal(s.n_foreign_tags, 0);
	casenum_subject_clear(&s);

	/* "IPA#1IPA#1...": every tag touches a letter */
	g_string_truncate(raw, 0);
	while (raw->len < 64 * 1024)
		g_string_append(raw, "IPA#1");
	check(raw->str, NULL, NULL);

	/* the last tag inside the kept 16 KiB wins; input beyond 64 KiB */
	g_string_truncate(raw, 0);
	for (int i = 0; raw->len < 200 * 1024; i++)
		g_string_append_printf(raw, "[IPA#%d][JVN#%d] ", i, i);
	assert_int_equal(casenum_parse_subject(&ipa, raw->str, &s), TDK_OK);
	assert_true(strlen(s.decoded) <= CASENUM_DECODED_MAX);
	assert_non_null(s.case_number);
	assert_true(casenum_is_canonical(&ipa, s.case_number));
	assert_int_equal(s.n_foreign_tags, CASENUM_FOREIGN_MAX);
	assert_string_equal(s.foreign_tags[CASENUM_FOREIGN_MAX - 1], "[JVN#31]");
	casenum_subject_clear(&s);
	g_string_free(raw, TRUE);
}

static void hostile_many_encoded_words(void **state)
{
	struct casenum_subject s;
	GString *raw = g_string_new(NULL);

	(void)state;
	/* 2,000 words of 14 full-width characters (42 bytes) each: the kept
	 * 16 KiB hold 390 whole tags and a "［", so #389 is the last one */
	for (int i = 0; i < 2000; i++) {
		GString *text = g_string_new("［ＩＰＡ＃");
		char *digits = g_strdup_printf("%08d", i);
		char *word;

		for (int k = 0; k < 8; k++) { /* U+FF10 + digit */
			g_string_append(text, "\xef\xbc");
			g_string_append_c(text, (char)(0x90 + (digits[k] - '0')));
		}
		g_string_append(text, "］");
		word = ew_b("ISO-2022-JP", "ISO-2022-JP", text->str);
		g_string_append(raw, word);
		g_string_append_c(raw, ' ');
		g_free(word);
		g_free(digits);
		g_string_free(text, TRUE);
	}
	assert_true(raw->len > CASENUM_RAW_MAX);
	assert_int_equal(casenum_parse_subject(&ipa, raw->str, &s), TDK_OK);
	assert_string_equal(s.case_number, "IPA#00000389");
	assert_int_equal(strlen(s.decoded), 390 * 42 + 3);
	assert_true(g_str_has_prefix(s.decoded, "［ＩＰＡ＃００００００００］［ＩＰＡ＃０００００００１］"));
	assert_true(g_str_has_suffix(s.decoded, "［ＩＰＡ＃０００００３８９］［"));
	casenum_subject_clear(&s);

	/* 2,000 broken words: unknown charset, bad base64, no end */
	g_string_truncate(raw, 0);
	for (int i = 0; i < 2000; i++)
		g_string_append(raw, i % 3 == 0 ? "=?x-bogus?B?gqiW4oKi?= " :
				     i % 3 == 1 ? "=?UTF-8?B?!!!*?==?" : "=?=?a?b?");
	g_string_append(raw, " [IPA#00000012]");
	assert_int_equal(casenum_parse_subject(&ipa, raw->str, &s), TDK_OK);
	assert_true(g_str_has_suffix(s.decoded, " [IPA#00000012]"));
	assert_string_equal(s.case_number, "IPA#00000012");
	casenum_subject_clear(&s);
	g_string_free(raw, TRUE);
}

static void hostile_invalid_utf8(void **state)
{
	(void)state;
	check("[IPA#00000007] \xff\xfe\x80 abc", "IPA#00000007",
	      "[IPA#00000007] \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd abc");
	/* a tag touching undecodable bytes is not trusted */
	check("IPA#00000008\xff", NULL, NULL);
	check("\xffIPA#00000008", NULL, NULL);
	/* control characters, NUL and C1 from encoded words become spaces */
	check("=?UTF-8?Q?a=0D=0Ab=00c=C2=85d?= IPA#1", "IPA#00000001",
	      "a  b c d IPA#1");
	check("=?UTF-8?B?\?= IPA#2", "IPA#00000002", "IPA#2");
}

static void hostile_unknown_charset(void **state)
{
	char *word = ew_b("x-unknown", "CP932", "お問い合わせ [IPA#00000009]");

	(void)state;
	check(word, "IPA#00000009", "お問い合わせ [IPA#00000009]");
	g_free(word);
	/* bytes valid in no charset: U+FFFD, the tag still found */
	check("=?x-unknown?Q?=FF=FE_[IPA#4]?=", "IPA#00000004",
	      "\xef\xbf\xbd\xef\xbf\xbd [IPA#4]");
	/* labels iconv must not see ("//" suffixes), RFC 2231 language */
	word = ew_b("UTF-8//IGNORE", "UTF-8", "件名 IPA#5");
	check(word, "IPA#00000005", "件名 IPA#5");
	g_free(word);
	word = ew_b("ISO-2022-JP*ja", "ISO-2022-JP", "件名 ＩＰＡ＃６");
	check(word, "IPA#00000006", "件名 ＩＰＡ＃６");
	g_free(word);
	/* a known charset other than the Japanese ones */
	check("=?ISO-8859-1?Q?caf=E9_IPA#3?=", "IPA#00000003", "café IPA#3");
	/* a charset iconv knows but mail does not use: the guess chain */
	word = ew_b("IBM037", "UTF-8", "件名 IPA#5");
	check(word, "IPA#00000005", "件名 IPA#5");
	g_free(word);
	/* NUL among undecodable bytes is a space, not U+FFFD */
	check("=?x-unknown?Q?IPA#1=00=FF?=", "IPA#00000001",
	      "IPA#1 \xef\xbf\xbd");
	/* US-ASCII label on UTF-8 bytes (a common mistake) */
	word = ew_b("US-ASCII", "UTF-8", "確認 IPA#8");
	check(word, "IPA#00000008", "確認 IPA#8");
	g_free(word);
}

static void subject_bad_arguments(void **state)
{
	static const struct casenum_format bad = { "", 8 };
	struct casenum_subject s;

	(void)state;
	assert_int_equal(casenum_parse_subject(&ipa, NULL, &s), TDK_EINVAL);
	assert_null(s.decoded);
	assert_null(s.foreign_tags);
	assert_int_equal(casenum_parse_subject(&bad, "IPA#1", &s), TDK_EINVAL);
	assert_null(s.decoded);
	assert_int_equal(casenum_parse_subject(NULL, "IPA#1", &s), TDK_EINVAL);
	assert_int_equal(casenum_parse_subject(&ipa, "IPA#1", NULL), TDK_EINVAL);
	casenum_subject_clear(&s);
	casenum_subject_clear(&s);
	casenum_subject_clear(NULL);
}

/* ------------------------------------------------------------- body */

static void check_body(const char *text, size_t len, const char *want)
{
	char *cn = (char *)"unset";

	assert_int_equal(casenum_find_in_body(&ipa, text, len, &cn), TDK_OK);
	if (want == NULL)
		assert_null(cn);
	else
		assert_string_equal(cn, want);
	g_free(cn);
}

static void check_body_str(const char *text, const char *want)
{
	check_body(text, strlen(text), want);
}

static void body_forms(void **state)
{
	(void)state;
	check_body_str("取扱番号: IPA#00001234", "IPA#00001234");
	check_body_str("取扱番号：ＩＰＡ＃００００１２３４", "IPA#00001234");
	check_body_str("取扱番号 IPA#00001234", "IPA#00001234");
	check_body_str("修正完了報告書\n\n1. 取扱番号 : [IPA # 1234]\n2. 対象",
		       "IPA#00001234");
	check_body_str("【取扱番号】ipa#00001234\r\n", "IPA#00001234");
	check_body_str("■取扱番号：　ＩＰＡ＃１２３４。", "IPA#00001234");
}

static void body_none(void **state)
{
	char *cn = (char *)"unset";

	(void)state;
	check_body_str("お世話になっております。\nIPA#00001234 の件です。", NULL);
	check_body_str("取扱番号 IPA#*****", NULL);          /* the template */
	check_body_str("取扱番号:\nIPA#00001234", NULL);     /* another line */
	check_body_str("取扱番号: IPA#123456789", NULL);
	check_body_str("取扱番号: XIPA#1", NULL);
	check_body_str("取扱番号", NULL);
	check_body_str("", NULL);
	check_body("取扱番号: IPA#1", 10, NULL);  /* cut inside the keyword */
	check_body("取扱番号: \xef\xbc", 15, NULL);  /* cut inside a character */
	assert_int_equal(casenum_find_in_body(&ipa, NULL, 0, &cn), TDK_OK);
	assert_null(cn);
	assert_int_equal(casenum_find_in_body(&ipa, NULL, 5, &cn), TDK_EINVAL);
	assert_null(cn);
	assert_int_equal(casenum_find_in_body(&ipa, "x", 1, NULL), TDK_EINVAL);
	assert_int_equal(casenum_find_in_body(NULL, "x", 1, &cn), TDK_EINVAL);
}

static void body_first_line_wins(void **state)
{
	(void)state;
	check_body_str("取扱番号: IPA#00000001\n\n> 取扱番号: IPA#00000002\n",
		       "IPA#00000001");
	/* an unfilled template line does not count */
	check_body_str("取扱番号 IPA#*****\n本文\n> 取扱番号: IPA#00000002\n",
		       "IPA#00000002");
}

static void body_nul_bytes(void **state)
{
	static const char touching[] =
		"取扱番号: IPA#00001234\0\n取扱番号: IPA#00005678\n";
	static const char elsewhere[] = "前文\0\0\n取扱番号: IPA#00001234\n";
	static const char in_keyword[] = "取扱\0番号: IPA#00001234\n";
	static const char in_number[] = "取扱番号: IPA#0000\0" "1234\n";

	(void)state;
	/* NUL is an invalid character, not the end of the text */
	check_body(touching, sizeof touching - 1, "IPA#00005678");
	check_body(elsewhere, sizeof elsewhere - 1, "IPA#00001234");
	check_body(in_keyword, sizeof in_keyword - 1, NULL);
	check_body(in_number, sizeof in_number - 1, NULL);
}

static void body_large(void **state)
{
	GString *text = g_string_new(NULL);

	(void)state;
	while (text->len < 1024 * 1024)
		g_string_append(text, "取扱番号取扱番号 IPA#IPA#\xff\n");
	g_string_append(text, "取扱番号: IPA#00000099\n");
	check_body(text->str, text->len, "IPA#00000099");
	g_string_free(text, TRUE);
}

/* ------------------------------------------------------ thread refs */

static void check_refs(const char *irt, const char *refs, size_t want_n,
		       const char *const *want)
{
	char **ids = NULL;
	size_t n = 99;

	assert_int_equal(casenum_thread_refs(irt, refs, &ids, &n), TDK_OK);
	assert_non_null(ids);
	assert_int_equal(n, want_n);
	for (size_t i = 0; i < want_n; i++)
		assert_string_equal(ids[i], want[i]);
	assert_null(ids[n]);
	casenum_strv_free(ids);
}

static void refs_order_and_dedup(void **state)
{
	static const char *const want[] = { "a@x", "b@y", "c@z" };

	(void)state;
	check_refs("<a@x>", "<b@y> <a@x> <c@z>", 3, want);
	check_refs(NULL, "<a@x>\r\n\t<b@y> <b@y>\r\n <c@z>", 3, want);
	check_refs("<a@x>", NULL, 1, want);
}

static void refs_lenient_headers(void **state)
{
	static const char *const want[] = { "a@x", "b@y", "c@z" };

	(void)state;
	/* phrases, commas and comments that stop GMime's parser */
	check_refs("Your message of \"Mon, 1 Jan 2024 10:00:00 +0900\" <a@x>",
		   "<b@y>, <c@z> (comment <d@w>)", 3, want);
	check_refs("<a@x> (Taro's message of Mon, 1 Jan 2024)",
		   "<b@y>; <c@z>", 3, want);
}

static void refs_garbage(void **state)
{
	GString *many = g_string_new(NULL);
	char **ids = NULL;
	size_t n = 0;

	(void)state;
	check_refs("garbage", "<<<>>> @@@ < ( \" \\", 0, NULL);
	check_refs(NULL, NULL, 0, NULL);
	check_refs("", "", 0, NULL);
	check_refs("<a b@c> <@> <x@> <\xff@x> <noat>", "a@b", 0, NULL);
	for (int i = 0; i < 1000; i++)
		g_string_append_printf(many, "<%d@many> ", i);
	assert_int_equal(casenum_thread_refs(NULL, many->str, &ids, &n), TDK_OK);
	assert_int_equal(n, CASENUM_REFS_MAX);
	assert_string_equal(ids[0], "0@many");
	assert_null(ids[CASENUM_REFS_MAX]);
	casenum_strv_free(ids);
	casenum_strv_free(NULL);
	assert_int_equal(casenum_thread_refs("<a@x>", NULL, NULL, &n), TDK_EINVAL);
	assert_int_equal(casenum_thread_refs("<a@x>", NULL, &ids, NULL), TDK_EINVAL);
	assert_null(ids);
	g_string_free(many, TRUE);
}

/* ---------------------------------------------------------- formats */

static void canonical_shape(void **state)
{
	static const struct casenum_format vr = { "VR-", 6 };
	static const struct casenum_format bad = { "IPA#", 0 };

	(void)state;
	assert_true(casenum_is_canonical(&ipa, "IPA#00123456"));
	assert_false(casenum_is_canonical(&ipa, "IPA#0012345"));
	assert_false(casenum_is_canonical(&ipa, "IPA#001234567"));
	assert_false(casenum_is_canonical(&ipa, "ipa#00123456"));
	assert_false(casenum_is_canonical(&ipa, "IPA#0012345a"));
	assert_false(casenum_is_canonical(&ipa, "[IPA#00123456]"));
	assert_false(casenum_is_canonical(&ipa, "IPA#00123456 "));
	assert_false(casenum_is_canonical(&ipa, ""));
	assert_false(casenum_is_canonical(&ipa, NULL));
	assert_true(casenum_is_canonical(&vr, "VR-000042"));
	assert_false(casenum_is_canonical(&vr, "IPA#00123456"));
	assert_false(casenum_is_canonical(&bad, "IPA#"));
	assert_false(casenum_is_canonical(NULL, "IPA#00123456"));
}

static void format_check_rules(void **state)
{
	static const struct {
		const char *prefix;
		int width;
		int want;
	} cases[] = {
		{ "IPA#", 8, TDK_OK },
		{ "VR-", 6, TDK_OK },
		{ "X", 1, TDK_OK },
		{ "X", 18, TDK_OK },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ#-_/.!@", 8, TDK_EINVAL }, /* 33 */
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ#-_/.!", 8, TDK_OK },       /* 32 */
		{ "", 8, TDK_EINVAL },
		{ NULL, 8, TDK_EINVAL },
		{ "IP1#", 8, TDK_EINVAL },
		{ "IPA #", 8, TDK_EINVAL },
		{ "IPA\t#", 8, TDK_EINVAL },
		{ "ＩＰＡ#", 8, TDK_EINVAL },
		{ "IPA#", 0, TDK_ERANGE },
		{ "IPA#", 19, TDK_ERANGE },
		{ "IPA#", -1, TDK_ERANGE },
	};
	tdk_err err;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct casenum_format fmt = { cases[i].prefix, cases[i].width };

		tdk_err_clear(&err);
		assert_int_equal(casenum_format_check(&fmt, &err), cases[i].want);
		if (cases[i].want != TDK_OK)
			assert_true(strlen(err.text) > 0);
		assert_int_equal(casenum_format_check(&fmt, NULL), cases[i].want);
	}
	assert_int_equal(casenum_format_check(NULL, &err), TDK_EINVAL);
	{
		struct casenum_format fmt = { "IP1#", 8 };

		casenum_format_check(&fmt, &err);
		assert_string_equal(err.text,
				    "case number prefix \"IP1#\" contains a digit");
		fmt.prefix = "IPA#";
		fmt.width = 19;
		casenum_format_check(&fmt, &err);
		assert_string_equal(err.text, "case number width 19 is not in 1..18");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(subject_plain_tag),
		cmocka_unit_test(subject_bare_number_is_padded),
		cmocka_unit_test(subject_spaces_around_hash),
		cmocka_unit_test(subject_prefix_is_case_insensitive),
		cmocka_unit_test(subject_folding_and_trimming),
		cmocka_unit_test(subject_word_boundaries),
		cmocka_unit_test(subject_too_many_digits),
		cmocka_unit_test(subject_last_tag_wins),
		cmocka_unit_test(subject_foreign_tags),
		cmocka_unit_test(subject_other_format),
		cmocka_unit_test(subject_full_width_utf8),
		cmocka_unit_test(subject_iso2022jp_tag_inside_word),
		cmocka_unit_test(subject_iso2022jp_split_words),
		cmocka_unit_test(subject_iso2022jp_q_encoding),
		cmocka_unit_test(subject_iso2022jp_nec_characters),
		cmocka_unit_test(subject_shift_jis_word),
		cmocka_unit_test(subject_raw_shift_jis),
		cmocka_unit_test(subject_raw_iso2022jp),
		cmocka_unit_test(subject_raw_euc_jp),
		cmocka_unit_test(subject_raw_utf8_with_encoded_word),
		cmocka_unit_test(hostile_repeated_prefix),
		cmocka_unit_test(hostile_many_encoded_words),
		cmocka_unit_test(hostile_invalid_utf8),
		cmocka_unit_test(hostile_unknown_charset),
		cmocka_unit_test(subject_bad_arguments),
		cmocka_unit_test(body_forms),
		cmocka_unit_test(body_none),
		cmocka_unit_test(body_first_line_wins),
		cmocka_unit_test(body_nul_bytes),
		cmocka_unit_test(body_large),
		cmocka_unit_test(refs_order_and_dedup),
		cmocka_unit_test(refs_lenient_headers),
		cmocka_unit_test(refs_garbage),
		cmocka_unit_test(canonical_shape),
		cmocka_unit_test(format_check_rules),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
