/*
 * test_fixreport.c - reading the 修正完了報告書: the seed form blank and
 * filled in the ways operators fill it, the English form, quoted replies,
 * option marks, dates, content kinds, the survey, non-reports and hostile
 * input. Fixtures are in tests/unit/data/fixreport ($TOP_SRCDIR, default
 * "."): form-ja.txt is the seed form and survey verbatim (DOMAIN.md §3.3,
 * §3.4), form-en.txt the English form, filled-ja.txt a filled-in form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "fixreport.h"

static char *fixture(const char *name)
{
	const char *top = getenv("TOP_SRCDIR");
	char *path = g_build_filename(top != NULL ? top : ".", "tests", "unit",
				      "data", "fixreport", name, NULL);
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		fail_msg("cannot read %s (set TOP_SRCDIR)", path);
	g_free(path);
	return text;
}

static struct fixreport *parse_ok(const char *text)
{
	struct fixreport *r = NULL;
	tdk_err err;
	int rc;

	assert_true(fixreport_detect(text));
	rc = fixreport_parse(text, strlen(text), &r, &err);
	if (rc != TDK_OK)
		fail_msg("fixreport_parse: %s", err.text);
	assert_non_null(r);
	return r;
}

static void assert_not_report(const char *text)
{
	struct fixreport *r = NULL;
	tdk_err err;

	assert_false(fixreport_detect(text));
	assert_int_equal(fixreport_parse(text, strlen(text), &r, &err), TDK_EINVAL);
	assert_null(r);
	assert_string_equal(err.text, "not a fix-completion report");
}

static void assert_date(const struct fixreport *r, int y, int m, int d)
{
	assert_true(r->has_date);
	assert_int_equal(r->date, civil_from_ymd(y, m, d));
}

/* --------------------------------------------------------- the forms */

static void seed_form_blank(void **state)
{
	char *text = fixture("form-ja.txt");
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#*****");
	assert_string_equal(r->url, "http://example.co.jp/xxxxxxx/yyyyyy.html");
	assert_null(r->content);
	assert_int_equal(r->kind, FIXREPORT_KIND_UNKNOWN);
	/* both options of each question remain, none marked */
	assert_int_equal(r->check, FIXREPORT_CHECK_UNKNOWN);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_UNKNOWN);
	assert_null(r->contact_address);
	assert_null(r->contact_name);
	assert_false(r->has_date); /* "平成 年 月 日" */
	assert_null(r->organization);
	assert_null(r->department);
	assert_null(r->name);
	assert_true(r->has_survey);
	for (int k = 0; k < FIXREPORT_SURVEY_N; k++)
		assert_null(r->survey[k]);
	fixreport_free(r);
	g_free(text);
}

/* The operator deleted the options not chosen; ASCII colons; 令和元年. */
static void seed_form_options_deleted(void **state)
{
	static const char text[] =
		"セキュリティ上の問題の修正完了報告書\n\n"
		"1. セキュリティ上の問題の修正完了報告\n\n"
		"セキュリティ上の問題の修正が完了したことを以下の通り報告します。\n\n"
		"取扱番号:IPA#00000042\n\n"
		"対象ウェブページ URL: <http://example.co.jp/contact/form.php>\n\n"
		"対応内容:\n"
		"問い合わせフォームの入力値をサーバ側でエスケープするよう修正しました。\n\n"
		"2. IPA による確認作業\n\n"
		"この報告の後、IPA によるセキュリティ上の問題の修正に対する確認作業を\n\n"
		"希望しません\n\n"
		"3. 今後、同じサイトにセキュリティ上の問題があるとの届出があった場合の連絡先\n\n"
		"ウェブサイトの受付窓口を通じて、その都度担当者を決定する\n\n"
		"令和元年5月7日\n\n"
		"組織名: 株式会社サンプル\n\n"
		"所属: 総務部\n\n"
		"氏名: 佐藤 花子\n";
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000042");
	assert_string_equal(r->url, "http://example.co.jp/contact/form.php");
	assert_string_equal(r->content,
			    "問い合わせフォームの入力値をサーバ側でエスケープするよう修正しました。");
	assert_int_equal(r->kind, FIXREPORT_KIND_FIX);
	assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_EACH_TIME);
	assert_null(r->contact_address);
	assert_date(r, 2019, 5, 7);
	assert_string_equal(r->organization, "株式会社サンプル");
	assert_string_equal(r->department, "総務部");
	assert_string_equal(r->name, "佐藤 花子");
	assert_false(r->has_survey);
	fixreport_free(r);
}

/* ○ and ● marks, full-width colons, digits and spaces, a value on the
 * line after its label, 令和 date in full-width digits. */
static void seed_form_circle_marks(void **state)
{
	static const char text[] =
		"セキュリティ上の問題の修正完了報告書\n"
		"\n"
		"１．セキュリティ上の問題の修正完了報告\n"
		"取扱番号：ＩＰＡ＃００００００４３\n"
		"対象ウェブページ URL：\n"
		"https://www.example.jp/news/detail.html\n"
		"対応内容：当該パラメータの値を検証するよう修正しました。\n"
		"\n"
		"２．IPA による確認作業\n"
		"この報告の後、IPA によるセキュリティ上の問題の修正に対する確認作業を\n"
		"○　希望します (希望される場合は、同意書を提出いただきます)\n"
		"　　希望しません\n"
		"\n"
		"３．今後、同じサイトにセキュリティ上の問題があるとの届出があった場合の連絡先\n"
		"●　以下のアドレスを使用する\n"
		"　　メールアドレス：\n"
		"　　ｗｅｂｍａｓｔｅｒ＠ｅｘａｍｐｌｅ．ｊｐ\n"
		"　　ご担当者名：鈴木\n"
		"　　ウェブサイトの受付窓口を通じて、その都度担当者を決定する\n"
		"\n"
		"令和８年１１月２２日\n"
		"組織名：株式会社エグザンプル\n"
		"所属：広報部\n"
		"氏名：鈴木　一郎\n";
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000043");
	assert_string_equal(r->url, "https://www.example.jp/news/detail.html");
	assert_string_equal(r->content, "当該パラメータの値を検証するよう修正しました。");
	assert_int_equal(r->check, FIXREPORT_CHECK_WANTED);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_ADDRESS);
	assert_string_equal(r->contact_address, "webmaster@example.jp");
	assert_string_equal(r->contact_name, "鈴木");
	assert_date(r, 2026, 11, 22);
	assert_string_equal(r->department, "広報部");
	assert_string_equal(r->name, "鈴木 一郎");
	fixreport_free(r);
}

/* Check boxes [x] / [ ] (full-width too), Gregorian date, no section
 * headings, multi-line indented content with a numbered list. */
static void seed_form_check_boxes(void **state)
{
	static const char text[] =
		"【セキュリティ上の問題の修正完了報告書】\r\n"
		"【取扱番号】IPA#00000044\r\n"
		"【対象ウェブページURL】http://example.co.jp/a.html （ログイン後の画面）\r\n"
		"【対応内容】\r\n"
		"　以下の２点を実施しました。\r\n"
		"　１．入力値の検証を追加\r\n"
		"　２．出力時のエスケープ処理を追加\r\n"
		"\r\n"
		"［　］希望します (希望される場合は、同意書を提出いただきます)\r\n"
		"［Ｘ］希望しません\r\n"
		"[ ] 以下のアドレスを使用する\r\n"
		"メールアドレス:\r\n"
		"ご担当者名:\r\n"
		"[x] ウェブサイトの受付窓口を通じて、その都度担当者を決定する\r\n"
		"2026年11月22日\r\n"
		"組織名:ＡＢＣ㈱\r\n"
		"所属:\r\n"
		"氏名:田中\r\n";
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000044");
	assert_string_equal(r->url, "http://example.co.jp/a.html");
	assert_string_equal(r->content,
			    "以下の2点を実施しました。\n1.入力値の検証を追加\n2.出力時のエスケープ処理を追加");
	assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_EACH_TIME);
	assert_null(r->contact_address);
	assert_null(r->contact_name);
	assert_date(r, 2026, 11, 22);
	assert_string_equal(r->organization, "ABC(株)"); /* NFKC */
	assert_null(r->department);
	assert_string_equal(r->name, "田中");
	fixreport_free(r);
}

/* The filled fixture: survey answers, single and multi-line. */
static void seed_form_filled_with_survey(void **state)
{
	char *text = fixture("filled-ja.txt");
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000123");
	assert_string_equal(r->url, "https://shop.example.co.jp/search.php");
	assert_string_equal(r->content,
			    "検索キーワードを出力する箇所でHTMLエスケープ処理を行うよう修正しました。\n"
			    "1. 入力値の検証を追加\n"
			    "2. 出力時のエスケープ処理を追加");
	assert_int_equal(r->kind, FIXREPORT_KIND_FIX);
	assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_ADDRESS);
	assert_string_equal(r->contact_address, "security@shop.example.co.jp");
	assert_string_equal(r->contact_name, "情報システム部 山田");
	assert_date(r, 2026, 11, 22);
	assert_string_equal(r->organization, "株式会社エグザンプル");
	assert_string_equal(r->department, "情報システム部");
	assert_string_equal(r->name, "山田 太郎");
	assert_true(r->has_survey);
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q1A], "a");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q1B], "d");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q2A], "j");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q2B], "b, e");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q2C], "氏名、メールアドレス");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q3],
			    "特にありません。\n迅速な連絡に感謝します。");
	fixreport_free(r);
	g_free(text);
}

static void english_form_blank(void **state)
{
	char *text = fixture("form-en.txt");
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#*****");
	assert_string_equal(r->url, "http://example.co.jp/xxxxxxx/yyyyyy.html");
	assert_null(r->content);
	assert_int_equal(r->check, FIXREPORT_CHECK_UNKNOWN);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_UNKNOWN);
	assert_null(r->contact_name);
	assert_null(r->name);
	assert_false(r->has_date);
	assert_true(r->has_survey);
	for (int k = 0; k < FIXREPORT_SURVEY_N; k++)
		assert_null(r->survey[k]);
	fixreport_free(r);
	g_free(text);
}

static void english_form_filled(void **state)
{
	static const char text[] =
		"Security problem fix completion report\n"
		"\n"
		"1. Fix completion report\n"
		"Case number: IPA#00000077\n"
		"Target web page URL: <https://shop.example.com/cart>\n"
		"What was done:\n"
		"  We added output encoding to the cart page.\n"
		"  Deployed on 20 November.\n"
		"\n"
		"2. Check by the desk\n"
		"[ ] I would like a check (if so, we will ask you to submit a consent form)\n"
		"[X] No check needed\n"
		"\n"
		"3. Contact for future reports on this site\n"
		"(x) Use the following address\n"
		"    Mail address: Security Team <mailto:security@shop.example.com>\n"
		"    Name: Jane Doe\n"
		"( ) Decide each time via the site's reception desk\n"
		"\n"
		"Date: November 22, 2026\n"
		"Organization: Example Shop Ltd.\n"
		"Department: IT Security\n"
		"Name: John Smith\n"
		"\n"
		"[ Survey ]\n"
		"Answers\n"
		"1(a) [a]\n"
		"(b) [d]\n"
		"2(a) [j]\n"
		"(b) [e]\n"
		"(c) []\n"
		"3 [Thank you for the quick notice.]\n";
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000077");
	assert_string_equal(r->url, "https://shop.example.com/cart");
	assert_string_equal(r->content,
			    "We added output encoding to the cart page.\nDeployed on 20 November.");
	assert_int_equal(r->kind, FIXREPORT_KIND_FIX);
	assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_ADDRESS);
	assert_string_equal(r->contact_address, "security@shop.example.com");
	assert_string_equal(r->contact_name, "Jane Doe");
	assert_date(r, 2026, 11, 22);
	assert_string_equal(r->organization, "Example Shop Ltd.");
	assert_string_equal(r->department, "IT Security");
	assert_string_equal(r->name, "John Smith");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q1A], "a");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q1B], "d");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q2A], "j");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q2B], "e");
	assert_null(r->survey[FIXREPORT_SURVEY_Q2C]);
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q3], "Thank you for the quick notice.");
	fixreport_free(r);
}

/* Without section 3, an English "Name:" is the signer's. */
static void english_name_outside_section3(void **state)
{
	static const char text[] =
		"Fix completion report\n"
		"Case number: IPA#1\n"
		"What was done: fixed\n"
		"I would like a check\n"
		"Name: John Smith\n";
	struct fixreport *r = parse_ok(text);

	assert_null(r->contact_name);
	assert_string_equal(r->name, "John Smith");
	assert_int_equal(r->check, FIXREPORT_CHECK_WANTED);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_UNKNOWN);
	fixreport_free(r);
}

/* The headings as label-like lines, without numbers. */
static void english_unnumbered_headings(void **state)
{
	static const char text[] =
		"Fix completion report\n"
		"Case number IPA#00000078\n"
		"Target web page URL: http://a.example/\n"
		"What was done: The page was deleted.\n"
		"Check by the desk:\n"
		"No check needed\n"
		"Contact for future reports on this site:\n"
		"Use the following address\n"
		"E-mail address: ops@a.example\n"
		"Name:\n"
		"Date: 2026/11/22\n"
		"Name: J. Smith\n";
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000078");
	assert_string_equal(r->content, "The page was deleted.");
	assert_int_equal(r->kind, FIXREPORT_KIND_PAGE_DELETED);
	assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
	assert_int_equal(r->contact, FIXREPORT_CONTACT_ADDRESS);
	assert_string_equal(r->contact_address, "ops@a.example");
	assert_null(r->contact_name);
	assert_date(r, 2026, 11, 22);
	assert_string_equal(r->name, "J. Smith");
	fixreport_free(r);
}

/* ------------------------------------------------------------- quoting */

/* The form quoted in a reply, answers typed between the quoted lines. */
static void quoted_reply(void **state)
{
	static const char text[] =
		"山田です。下記の通り記入しました。\n"
		"\n"
		"> セキュリティ上の問題の修正完了報告書\n"
		">\n"
		"> 取扱番号:IPA#00000123\n"
		"> 対象ウェブページ URL: <http://example.co.jp/a.html>\n"
		"> 対応内容:\n"
		"入力値のエスケープ処理を追加しました。\n"
		">\n"
		"> 2. IPA による確認作業\n"
		"> 希望します (希望される場合は、同意書を提出いただきます)\n"
		"→ 希望しません\n"
		">\n"
		">> 取扱番号:IPA#99999999\n"
		">> 希望します\n"
		">\n"
		"> 組織名: 株式会社サンプル\n";
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000123");
	assert_string_equal(r->url, "http://example.co.jp/a.html");
	assert_string_equal(r->content, "入力値のエスケープ処理を追加しました。");
	assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
	assert_string_equal(r->organization, "株式会社サンプル");
	fixreport_free(r);
}

/* Only one level of quoting is removed. */
static void doubly_quoted_is_not_detected(void **state)
{
	assert_not_report(">> セキュリティ上の問題の修正完了報告書\n"
			  ">> 取扱番号:IPA#00000123\n"
			  ">> 対応内容: 修正しました\n");
	assert_true(fixreport_detect(">セキュリティ上の問題の修正完了報告書\n"
				     ">取扱番号:IPA#00000123\n"));
}

/* A filled form above a quoted blank one: the quoted copy is ignored. */
static void quoted_copy_below_is_ignored(void **state)
{
	static const char text[] =
		"修正完了報告書\n"
		"取扱番号: IPA#00000001\n"
		"対応内容: 修正しました\n"
		"希望しません\n"
		"\n"
		"> 修正完了報告書\n"
		"> 取扱番号: IPA#*****\n"
		"> 希望します\n"
		"> 希望しません\n";
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000001");
	assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
	fixreport_free(r);
}

/* ------------------------------------------------------------- options */

static struct fixreport *parse_options(const char *options)
{
	char *text = g_strdup_printf("修正完了報告書\n取扱番号: IPA#1\n"
				     "2. IPA による確認作業\n%s\n組織名: X\n", options);
	struct fixreport *r = parse_ok(text);

	g_free(text);
	return r;
}

static void check_marks(void **state)
{
	static const char *const marks[] = {
		"○", "●", "◯", "◎", "■", "☑", "✓", "✔", "[x]", "[X]", "［ｘ］",
		"［Ｘ］", "(x)", "（ｘ）", "[ x ]", "＊", "*", "→", "⇒", "->", "=>",
		"x", "レ", "[レ]", "[*]",
	};
	static const char *const not_marks[] = { "□", "☐", "[ ]", "( )", "［　］", "・", "-" };

	for (size_t i = 0; i < G_N_ELEMENTS(marks); i++) {
		char *opts = g_strdup_printf("希望します\n%s 希望しません", marks[i]);
		char *opts2 = g_strdup_printf("%s希望します\n希望しません", marks[i]);
		struct fixreport *r = parse_options(opts), *r2 = parse_options(opts2);

		if (r->check != FIXREPORT_CHECK_NOT_WANTED || r2->check != FIXREPORT_CHECK_WANTED)
			fail_msg("mark \"%s\": %s / %s", marks[i],
				 fixreport_check_name(r->check),
				 fixreport_check_name(r2->check));
		fixreport_free(r);
		fixreport_free(r2);
		g_free(opts);
		g_free(opts2);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(not_marks); i++) {
		char *opts = g_strdup_printf("%s 希望します\n%s 希望しません",
					     not_marks[i], not_marks[i]);
		struct fixreport *r = parse_options(opts);

		if (r->check != FIXREPORT_CHECK_UNKNOWN)
			fail_msg("\"%s\" taken for a mark", not_marks[i]);
		fixreport_free(r);
		g_free(opts);
	}
}

static void check_choice_rules(void **state)
{
	static const struct {
		const char *options;
		enum fixreport_check want;
	} cases[] = {
		{ "希望します", FIXREPORT_CHECK_WANTED },
		{ "希望しません", FIXREPORT_CHECK_NOT_WANTED },
		{ "確認は不要です", FIXREPORT_CHECK_NOT_WANTED },
		{ "希望します\n希望しません", FIXREPORT_CHECK_UNKNOWN },
		{ "○希望します\n○希望しません", FIXREPORT_CHECK_UNKNOWN },
		{ "希望します\n希望しません ←", FIXREPORT_CHECK_NOT_WANTED },
		{ "希望します ←\n希望しません", FIXREPORT_CHECK_WANTED },
		{ "○希望します / 希望しません", FIXREPORT_CHECK_WANTED },
		{ "希望します / ●希望しません", FIXREPORT_CHECK_NOT_WANTED },
		{ "[ ] 希望します [x] 希望しません", FIXREPORT_CHECK_NOT_WANTED },
		{ "希 望 し ま せ ん", FIXREPORT_CHECK_NOT_WANTED },
		{ "", FIXREPORT_CHECK_UNKNOWN },
		{ "I would like a check\n[x] No check needed", FIXREPORT_CHECK_NOT_WANTED },
		{ "=> I WOULD LIKE A CHECK\nNo check needed", FIXREPORT_CHECK_WANTED },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct fixreport *r = parse_options(cases[i].options);

		if (r->check != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i,
				 fixreport_check_name(r->check),
				 fixreport_check_name(cases[i].want));
		fixreport_free(r);
	}
}

static void contact_choice_rules(void **state)
{
	static const struct {
		const char *options;
		enum fixreport_contact want;
	} cases[] = {
		{ "以下のアドレスを使用する\nメールアドレス: a@b.example", FIXREPORT_CONTACT_ADDRESS },
		{ "ウェブサイトの受付窓口を通じて、その都度担当者を決定する", FIXREPORT_CONTACT_EACH_TIME },
		{ "以下のアドレスを使用する\nウェブサイトの受付窓口を通じて、その都度担当者を決定する",
		  FIXREPORT_CONTACT_UNKNOWN },
		{ "■以下のアドレスを使用する\n□ウェブサイトの受付窓口を通じて、その都度担当者を決定する",
		  FIXREPORT_CONTACT_ADDRESS },
		{ "以下のアドレスを使用する\n○ウェブサイトの受付窓口を通じて、その都度担当者を決定する",
		  FIXREPORT_CONTACT_EACH_TIME },
		{ "Use the following address\n[x] Decide each time via the site's reception desk",
		  FIXREPORT_CONTACT_EACH_TIME },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct fixreport *r = parse_options(cases[i].options);

		if (r->contact != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i,
				 fixreport_contact_name(r->contact),
				 fixreport_contact_name(cases[i].want));
		fixreport_free(r);
	}
}

/* ---------------------------------------------------------------- kind */

static void content_kinds(void **state)
{
	static const struct {
		const char *content;
		enum fixreport_kind want;
	} cases[] = {
		{ "入力値のエスケープ処理を追加しました。", FIXREPORT_KIND_FIX },
		{ "当面は運用で回避しています(管理画面へのアクセスをIP制限)。", FIXREPORT_KIND_WORKAROUND },
		{ "運用により回避しました。", FIXREPORT_KIND_WORKAROUND },
		{ "回避策として WAF で当該パラメータを遮断しました。", FIXREPORT_KIND_WORKAROUND },
		{ "当該ページを削除しました。", FIXREPORT_KIND_PAGE_DELETED },
		{ "該当ページは既に削除済みです。", FIXREPORT_KIND_PAGE_DELETED },
		{ "キャンペーン終了に伴いページ自体を削除しました。", FIXREPORT_KIND_PAGE_DELETED },
		{ "ページ削除", FIXREPORT_KIND_PAGE_DELETED },
		{ "サイトを閉鎖しました。", FIXREPORT_KIND_PAGE_DELETED },
		{ "当該ページは非公開としました。", FIXREPORT_KIND_PAGE_DELETED },
		{ "回避策として、当該ページを削除しました。", FIXREPORT_KIND_PAGE_DELETED },
		{ "ページ内の不要なスクリプトを削除しました。", FIXREPORT_KIND_FIX },
		{ "We applied a workaround: the form is disabled.", FIXREPORT_KIND_WORKAROUND },
		{ "The page was removed from the server.", FIXREPORT_KIND_PAGE_DELETED },
		{ "We deleted the vulnerable page.", FIXREPORT_KIND_PAGE_DELETED },
		{ "We took down the old campaign site.", FIXREPORT_KIND_PAGE_DELETED },
		{ "Fixed the escaping in the search page.", FIXREPORT_KIND_FIX },
		{ "Removed the debug parameter; the page is still online.", FIXREPORT_KIND_FIX },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = g_strdup_printf("修正完了報告書\n取扱番号: IPA#1\n対応内容:\n%s\n\n"
					     "2. IPA による確認作業\n", cases[i].content);
		struct fixreport *r = parse_ok(text);

		assert_string_equal(r->content, cases[i].content);
		if (r->kind != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i,
				 fixreport_kind_name(r->kind),
				 fixreport_kind_name(cases[i].want));
		fixreport_free(r);
		g_free(text);
	}
}

/* Content ends at the next label even with no section heading. */
static void content_ends_at_label(void **state)
{
	struct fixreport *r = parse_ok("修正完了報告書\n対応内容:\n\n  line 1\n\n    line 2  \n\n"
				       "組織名: X\n氏名: Y\n");

	assert_string_equal(r->content, "line 1\n\n  line 2");
	assert_string_equal(r->organization, "X");
	assert_string_equal(r->name, "Y");
	assert_int_equal(r->kind, FIXREPORT_KIND_FIX);
	fixreport_free(r);
}

/* --------------------------------------------------------------- dates */

static void dates(void **state)
{
	static const struct {
		const char *line;
		int y, m, d; /* y 0: no date */
	} cases[] = {
		{ "令和元年5月7日", 2019, 5, 7 },
		{ "令和1年5月7日", 2019, 5, 7 },
		{ "令和 8 年 11 月 22 日", 2026, 11, 22 },
		{ "令和８年１１月２２日", 2026, 11, 22 },
		{ "令和8年11月22日(日)", 2026, 11, 22 },
		{ "㋿8年11月22日", 2026, 11, 22 },
		{ "平成31年4月30日", 2019, 4, 30 },
		{ "平成38年11月22日", 2026, 11, 22 },
		{ "平成元年1月8日", 1989, 1, 8 },
		{ "平成 年 月 日", 0, 0, 0 },
		{ "令和　年　月　日", 0, 0, 0 },
		{ "2026年11月22日", 2026, 11, 22 },
		{ "２０２６年１１月２２日", 2026, 11, 22 },
		{ "2026-11-22", 2026, 11, 22 },
		{ "2026/11/22", 2026, 11, 22 },
		{ "2026.11.22", 2026, 11, 22 },
		{ "R8.11.22", 2026, 11, 22 },
		{ "H30.1.5", 2018, 1, 5 },
		{ "Date: November 22, 2026", 2026, 11, 22 },
		{ "Date: Nov. 22nd, 2026", 2026, 11, 22 },
		{ "Date: 22 November 2026", 2026, 11, 22 },
		{ "日付: 2026/2/3", 2026, 2, 3 },
		{ "Date: 2026-11-22", 2026, 11, 22 },
		{ "2026年2月30日", 0, 0, 0 },
		{ "2026/11/22/33", 0, 0, 0 },
		{ "2026-11/22", 0, 0, 0 },
		{ "令和0年1月1日", 0, 0, 0 },
		{ "2026/11\x01" "22", 0, 0, 0 },
		{ "2026年11月22日に修正を適用しました", 0, 0, 0 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = g_strdup_printf("修正完了報告書\n取扱番号: IPA#1\n%s\n組織名: X\n",
					     cases[i].line);
		struct fixreport *r = parse_ok(text);

		if (cases[i].y == 0) {
			if (r->has_date)
				fail_msg("case %zu (%s): unexpected date", i, cases[i].line);
		} else {
			if (!r->has_date || r->date != civil_from_ymd(cases[i].y, cases[i].m,
								       cases[i].d))
				fail_msg("case %zu (%s): wrong or no date", i, cases[i].line);
		}
		assert_string_equal(r->organization, "X");
		fixreport_free(r);
		g_free(text);
	}
}

/* -------------------------------------------------------------- labels */

static void label_forms(void **state)
{
	static const char text[] =
		"修正完了報告書\n"
		"・取扱番号 IPA#00000005\n"
		"取扱番号: IPA#00000006\n"           /* the first value wins */
		"対象 ウェブ ページ URL : http://a.example/x.html http://b.example/\n"
		"メール アドレス：<ops@a.example>\n"
		"ご担当者名\n"                          /* no colon: loose label */
		"所属部署: 開発部\n"
		"氏名 山田\n";
	struct fixreport *r = parse_ok(text);

	assert_string_equal(r->case_text, "IPA#00000005");
	assert_string_equal(r->url, "http://a.example/x.html");
	assert_string_equal(r->contact_address, "ops@a.example");
	assert_null(r->contact_name); /* "所属部署:" is a label, not its value */
	assert_string_equal(r->department, "開発部");
	assert_string_equal(r->name, "山田");
	fixreport_free(r);
}

/* -------------------------------------------------------------- survey */

static void survey_forms(void **state)
{
	static const char text[] =
		"修正完了報告書\n取扱番号: IPA#1\n"
		"【アンケート】\n"
		"1 セキュリティ上の問題の原因\n"
		"(ア) 原因が何に依存していたか\n"  /* questions, no 回答欄: not answers */
		"問1(ア): [b]\n"
		"(イ) [g その他(設定の誤り)]\n"
		"2(イ) [a,\n"
		"b]\n"
		"3 [開いたまま\n";
	struct fixreport *r = parse_ok(text);

	assert_true(r->has_survey);
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q1A], "b");
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q1B], "g その他(設定の誤り)");
	assert_null(r->survey[FIXREPORT_SURVEY_Q2A]);
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q2B], "a,\nb");
	assert_null(r->survey[FIXREPORT_SURVEY_Q2C]);
	assert_string_equal(r->survey[FIXREPORT_SURVEY_Q3], "開いたまま");
	fixreport_free(r);
}

/* ---------------------------------------------------------- non-reports */

static void not_reports(void **state)
{
	assert_not_report("");
	assert_not_report("お世話になっております。\n修正完了報告書は後日お送りします。\n"
			  "取扱番号: IPA#00000123\n");
	assert_not_report("修正完了報告書\n\nよろしくお願いします。\n");
	assert_not_report("取扱番号: IPA#1\n対応内容: 修正しました\n");
	assert_not_report("添付ファイル: 修正完了報告書.txt\n取扱番号: IPA#1\n");
	assert_not_report("Hello,\nthe fix completion report will follow next week.\n"
			  "Case number: IPA#1\n");
	assert_false(fixreport_detect(NULL));
}

/* ------------------------------------------------------------- hostile */

static void hostile_size(void **state)
{
	GString *s = g_string_new(NULL);
	struct fixreport *r = NULL;
	tdk_err err;

	while (s->len < FIXREPORT_INPUT_MAX)
		g_string_append(s, "修正完了報告書\n取扱番号: IPA#1\n希望します ○希望しません\n");
	g_string_truncate(s, FIXREPORT_INPUT_MAX);
	assert_int_equal(fixreport_parse(s->str, s->len, &r, &err), TDK_OK);
	assert_string_equal(r->case_text, "IPA#1");
	assert_int_equal(r->check, FIXREPORT_CHECK_NOT_WANTED);
	fixreport_free(r);
	g_string_append_c(s, 'x');
	assert_true(fixreport_detect(s->str)); /* looks at the first part */
	assert_int_equal(fixreport_parse(s->str, s->len, &r, &err), TDK_ELIMIT);
	assert_null(r);
	assert_true(strlen(err.text) > 0);
	g_string_free(s, TRUE);
}

static void hostile_nul_and_invalid_utf8(void **state)
{
	static const char text[] = "修正完了報告書\n取扱番号: IPA#1\0\0\n"
				   "対応内容: a\0b\xff\xfe\xc3\n組織名: \xe4\xbf\n";
	struct fixreport *r = NULL;
	tdk_err err;

	assert_int_equal(fixreport_parse(text, sizeof text - 1, &r, &err), TDK_OK);
	assert_string_equal(r->case_text, "IPA#1\xef\xbf\xbd\xef\xbf\xbd");
	assert_true(g_utf8_validate(r->content, -1, NULL));
	assert_non_null(strstr(r->content, "a\xef\xbf\xbd" "b"));
	assert_true(g_utf8_validate(r->organization, -1, NULL));
	fixreport_free(r);
}

/* Inputs that would be slow if any step were quadratic. */
static void hostile_shapes(void **state)
{
	GString *s = g_string_new("修正完了報告書\n取扱番号: IPA#1\n対応内容: a");
	struct fixreport *r;

	for (int i = 0; i < 40000; i++)
		g_string_append(s, "\xcc\x81"); /* U+0301 */
	g_string_append(s, "\n");
	for (int i = 0; i < 3000; i++)
		g_string_append(s, "ページ"); /* content: every one is looked at */
	g_string_append(s, "\n");
	for (int i = 0; i < 4000; i++)
		g_string_append(s, "○希望します");
	g_string_append(s, "\n");
	for (int i = 0; i < 20000; i++)
		g_string_append(s, ">\n");
	assert_true(s->len <= FIXREPORT_INPUT_MAX);
	r = parse_ok(s->str);
	assert_int_equal(r->check, FIXREPORT_CHECK_WANTED);
	assert_int_equal(r->kind, FIXREPORT_KIND_FIX);
	fixreport_free(r);

	/* a single line of nothing but ":" and spaces, and one of labels */
	g_string_assign(s, "修正完了報告書\n取扱番号:");
	for (int i = 0; i < 60000; i++)
		g_string_append(s, " :");
	g_string_append(s, "\n対応内容:");
	for (int i = 0; i < 5000; i++)
		g_string_append(s, "対応内容:");
	assert_true(s->len <= FIXREPORT_INPUT_MAX);
	r = parse_ok(s->str);
	fixreport_free(r);
	g_string_free(s, TRUE);
}

static void bad_arguments(void **state)
{
	struct fixreport *r = (struct fixreport *)1;
	tdk_err err;

	assert_int_equal(fixreport_parse("修正完了報告書\n取扱番号: 1\n", 10, NULL, &err),
			 TDK_EINVAL);
	assert_int_equal(fixreport_parse(NULL, 5, &r, &err), TDK_EINVAL);
	assert_null(r);
	assert_int_equal(fixreport_parse(NULL, 0, &r, NULL), TDK_EINVAL);
	fixreport_free(NULL);
}

static void names(void **state)
{
	assert_string_equal(fixreport_kind_name(FIXREPORT_KIND_UNKNOWN), "unknown");
	assert_string_equal(fixreport_kind_name(FIXREPORT_KIND_FIX), "fix");
	assert_string_equal(fixreport_kind_name(FIXREPORT_KIND_WORKAROUND), "workaround");
	assert_string_equal(fixreport_kind_name(FIXREPORT_KIND_PAGE_DELETED), "page-deleted");
	assert_string_equal(fixreport_kind_name((enum fixreport_kind)42), "unknown");
	assert_string_equal(fixreport_check_name(FIXREPORT_CHECK_UNKNOWN), "unknown");
	assert_string_equal(fixreport_check_name(FIXREPORT_CHECK_WANTED), "wanted");
	assert_string_equal(fixreport_check_name(FIXREPORT_CHECK_NOT_WANTED), "not-wanted");
	assert_string_equal(fixreport_check_name((enum fixreport_check)-1), "unknown");
	assert_string_equal(fixreport_contact_name(FIXREPORT_CONTACT_UNKNOWN), "unknown");
	assert_string_equal(fixreport_contact_name(FIXREPORT_CONTACT_ADDRESS), "address");
	assert_string_equal(fixreport_contact_name(FIXREPORT_CONTACT_EACH_TIME), "each-time");
	assert_string_equal(fixreport_contact_name((enum fixreport_contact)9), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_form_blank),
		cmocka_unit_test(seed_form_options_deleted),
		cmocka_unit_test(seed_form_circle_marks),
		cmocka_unit_test(seed_form_check_boxes),
		cmocka_unit_test(seed_form_filled_with_survey),
		cmocka_unit_test(english_form_blank),
		cmocka_unit_test(english_form_filled),
		cmocka_unit_test(english_name_outside_section3),
		cmocka_unit_test(english_unnumbered_headings),
		cmocka_unit_test(quoted_reply),
		cmocka_unit_test(doubly_quoted_is_not_detected),
		cmocka_unit_test(quoted_copy_below_is_ignored),
		cmocka_unit_test(check_marks),
		cmocka_unit_test(check_choice_rules),
		cmocka_unit_test(contact_choice_rules),
		cmocka_unit_test(content_kinds),
		cmocka_unit_test(content_ends_at_label),
		cmocka_unit_test(dates),
		cmocka_unit_test(label_forms),
		cmocka_unit_test(survey_forms),
		cmocka_unit_test(not_reports),
		cmocka_unit_test(hostile_size),
		cmocka_unit_test(hostile_nul_and_invalid_utf8),
		cmocka_unit_test(hostile_shapes),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
