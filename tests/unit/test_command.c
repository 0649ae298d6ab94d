/*
 * test_command.c - the staff command language: every verb with all its
 * arguments, every error message, quoting, hostile characters, limits,
 * scripts, and printing back (command_to_text) for each parsed command.
 *
 * Rules come from the shipped rules/partnership.conf (TOP_SRCDIR).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"

static const struct rules *rules;
static const struct casenum_format ipa = { "IPA#", 8 };

static int load_rules(void **state)
{
	const char *srcdir = getenv("TOP_SRCDIR");
	g_autofree char *dir = g_strdup_printf("%s/rules",
					       srcdir != NULL ? srcdir : ".");
	tdk_err err;

	if (rules_load_dir(dir, &rules, &err) != TDK_OK) {
		fprintf(stderr, "rules: %s\n", err.text);
		return -1;
	}
	return 0;
}

static int free_rules(void **state)
{
	rules_free(rules);
	return 0;
}

/* ---------------------------------------------------------- helpers */

static bool str_eq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void assert_same(const struct command *a, const struct command *b)
{
	assert_int_equal(a->verb, b->verb);
	assert_true(a->case_number == b->case_number);
	assert_true(str_eq(a->case_text, b->case_text));
	assert_int_equal(a->kind, b->kind);
	assert_true(str_eq(a->code, b->code));
	assert_true(str_eq(a->outcome, b->outcome));
	assert_true(str_eq(a->text, b->text));
	assert_int_equal(a->role, b->role);
	assert_true(str_eq(a->address, b->address));
	assert_true(str_eq(a->name, b->name));
	assert_true(str_eq(a->lang, b->lang));
	assert_true(str_eq(a->key, b->key));
	assert_true(str_eq(a->postal, b->postal));
	assert_true(str_eq(a->field, b->field));
	assert_true(str_eq(a->value, b->value));
	assert_int_equal(a->send, b->send);
	assert_true(str_eq(a->channel, b->channel));
	assert_int_equal(a->clock, b->clock);
	assert_int_equal(a->period.count, b->period.count);
	assert_int_equal(a->period.unit, b->period.unit);
	assert_int_equal(a->record, b->record);
	assert_int_equal(a->date, b->date);
}

/* Prints c, parses the line back, and expects the same command. */
static void round_trip(const struct casenum_format *fmt,
		       const struct command *c)
{
	g_autofree char *line = command_to_text(c);
	g_autofree char *again = NULL;
	struct command *back = NULL;
	tdk_err err;

	assert_non_null(line);
	if (command_parse(line, fmt, rules, &back, &err) != TDK_OK)
		fail_msg("printed '%s' does not parse: %s", line, err.text);
	assert_same(c, back);
	again = command_to_text(back);
	assert_string_equal(line, again);
	command_free(back);
}

static struct command *parse_fmt(const struct casenum_format *fmt,
				 const char *line)
{
	struct command *c = NULL;
	tdk_err err;

	if (command_parse(line, fmt, rules, &c, &err) != TDK_OK)
		fail_msg("'%s': %s", line, err.text);
	assert_non_null(c);
	round_trip(fmt, c);
	return c;
}

static struct command *parse(const char *line)
{
	return parse_fmt(&ipa, line);
}

/* Parses line and expects status with a message containing want. */
static void expect_error(const char *line, int status, const char *want)
{
	struct command *c = (struct command *)1;
	tdk_err err;
	int rc = command_parse(line, &ipa, rules, &c, &err);

	if (rc != status || strstr(err.text, want) == NULL)
		fail_msg("'%s': got %d \"%s\", want %d \"...%s...\"", line, rc,
			 err.text, status, want);
	assert_null(c);
}

/* The members no verb but the given ones uses are empty. */
static void assert_only_case(const struct command *c)
{
	assert_int_equal(c->kind, 0);
	assert_null(c->code);
	assert_null(c->outcome);
	assert_null(c->text);
	assert_int_equal(c->role, 0);
	assert_null(c->address);
	assert_null(c->name);
	assert_null(c->lang);
	assert_null(c->key);
	assert_null(c->postal);
	assert_null(c->field);
	assert_null(c->value);
	assert_int_equal(c->send, 0);
	assert_null(c->channel);
	assert_int_equal(c->clock, 0);
	assert_int_equal(c->period.count, 0);
	assert_int_equal(c->record, 0);
	assert_int_equal(c->date, 0);
}

static void assert_printed(const char *line, const char *want)
{
	struct command *c = parse(line);
	g_autofree char *text = command_to_text(c);

	assert_string_equal(text, want);
	command_free(c);
}

/* ----------------------------------------------------------- verbs */

static void accept_cases(void **state)
{
	struct command *c = parse("accept IPA#00000012 web");

	assert_int_equal(c->verb, CMD_ACCEPT);
	assert_true(c->case_number == 12);
	assert_string_equal(c->case_text, "IPA#00000012");
	assert_int_equal(c->kind, RULE_KIND_WEB);
	c->kind = 0;
	assert_only_case(c);
	command_free(c);

	c = parse("ACCEPT  ipa#12\tProduct");
	assert_int_equal(c->verb, CMD_ACCEPT);
	assert_true(c->case_number == 12);
	assert_string_equal(c->case_text, "IPA#00000012");
	assert_int_equal(c->kind, RULE_KIND_PRODUCT);
	command_free(c);

	c = parse("  accept IPA#99999999 web  ");
	assert_true(c->case_number == 99999999);
	command_free(c);
	assert_printed("ACCEPT  ipa#12\tWEB", "accept IPA#00000012 web");
}

static void reject_cases(void **state)
{
	struct command *c = parse("reject IPA#1 a 届出の記載事項が不足しています");

	assert_int_equal(c->verb, CMD_REJECT);
	assert_true(c->case_number == 1);
	assert_string_equal(c->code, "a");
	assert_string_equal(c->text, "届出の記載事項が不足しています");
	command_free(c);

	c = parse("reject IPA#2 ILLEGAL");
	assert_string_equal(c->code, "illegal");
	assert_null(c->text);
	c->code = (g_free(c->code), NULL);
	assert_only_case(c);
	command_free(c);

	c = parse("reject IPA#2 d \"not a vulnerability\"");
	assert_string_equal(c->code, "d");
	assert_string_equal(c->text, "not a vulnerability");
	command_free(c);

	c = parse("reject IPA#2 b \"\"");
	assert_null(c->text);
	command_free(c);
}

static void party_cases(void **state)
{
	struct command *c = parse(
		"party IPA#3 operator webmaster@example.co.jp name \"山田 太郎\" "
		"lang ja key \"0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567\" "
		"postal \"〒100-0001 東京都千代田区千代田1-1\"");

	assert_int_equal(c->verb, CMD_PARTY);
	assert_true(c->case_number == 3);
	assert_int_equal(c->role, CMD_ROLE_OPERATOR);
	assert_string_equal(c->address, "webmaster@example.co.jp");
	assert_string_equal(c->name, "山田 太郎");
	assert_string_equal(c->lang, "ja");
	assert_string_equal(c->key, "0123456789ABCDEF0123456789ABCDEF01234567");
	assert_string_equal(c->postal, "〒100-0001 東京都千代田区千代田1-1");
	assert_null(c->text);
	assert_null(c->code);
	command_free(c);

	/* Options in another order, other spelling, a 64-digit key. */
	c = parse("Party IPA#4 STAFF-CC \"o'brien+tag@mail.example.org\" "
		  "KEY 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef "
		  "Lang EN name Smith");
	assert_int_equal(c->role, CMD_ROLE_STAFF_CC);
	assert_string_equal(c->address, "o'brien+tag@mail.example.org");
	assert_string_equal(c->key,
			    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
	assert_string_equal(c->lang, "en");
	assert_string_equal(c->name, "Smith");
	assert_null(c->postal);
	command_free(c);

	/* No options. */
	c = parse("party IPA#5 discoverer a.b-c_d@x-1.example");
	assert_int_equal(c->role, CMD_ROLE_DISCOVERER);
	assert_null(c->name);
	assert_null(c->lang);
	assert_null(c->key);
	assert_null(c->postal);
	command_free(c);

	c = parse("party IPA#5 developer dev@vendor.example");
	assert_int_equal(c->role, CMD_ROLE_DEVELOPER);
	command_free(c);
	c = parse("party IPA#5 coordinator cert@coord.example name \"\\\"CERT\\\" \\\\ team\"");
	assert_int_equal(c->role, CMD_ROLE_COORDINATOR);
	assert_string_equal(c->name, "\"CERT\" \\ team");
	command_free(c);

	assert_printed("party ipa#3 operator w@example.jp postal \"東京 1\" lang JA "
		       "name 山田 key \"0123 4567 89ab cdef 0123 4567 89AB CDEF 0123 4567\"",
		       "party IPA#00000003 operator w@example.jp name 山田 lang ja "
		       "key 0123456789ABCDEF0123456789ABCDEF01234567 postal \"東京 1\"");
}

static void set_cases(void **state)
{
	static const struct {
		const char *line, *field, *value;
	} ok[] = {
		{ "set IPA#7 url https://www.example.jp/login?next=/a#top", "url",
		  "https://www.example.jp/login?next=/a#top" },
		{ "set IPA#7 URL HTTP://例え.jp/パス", "url", "HTTP://例え.jp/パス" },
		{ "set IPA#7 product ExampleCMS 3.2 以前", "product", "ExampleCMS 3.2 以前" },
		{ "set IPA#7 product \"ExampleCMS  3.2\"", "product", "ExampleCMS  3.2" },
		{ "set IPA#7 vuln-type クロスサイト・スクリプティング", "vuln-type",
		  "クロスサイト・スクリプティング" },
		{ "set IPA#7 threat Arbitrary script runs in the user's browser  ", "threat",
		  "Arbitrary script runs in the user's browser" },
		{ "set IPA#7 description \"Submitting <script> in the q field runs it\"",
		  "description", "Submitting <script> in the q field runs it" },
		{ "set IPA#7 title \"\\\"Login\\\" page XSS\"", "title", "\"Login\" page XSS" },
		{ "set IPA#7 impact PRIORITY", "impact", "priority" },
		{ "set IPA#7 impact normal", "impact", "normal" },
		{ "set IPA#7 impact simple", "impact", "simple" },
		{ "set IPA#7 verifiable yes", "verifiable", "yes" },
		{ "set IPA#7 verifiable No", "verifiable", "no" },
		{ "set IPA#7 fix-kind fix", "fix-kind", "fix" },
		{ "set IPA#7 fix-kind workaround", "fix-kind", "workaround" },
		{ "set IPA#7 Fix-Kind page-deleted", "fix-kind", "page-deleted" },
		{ "set IPA#7 check-wanted yes", "check-wanted", "yes" },
		{ "set IPA#7 check-wanted \"no\"", "check-wanted", "no" },
		{ "set IPA#7 lang en", "lang", "en" },
		{ "set IPA#7 lang ja", "lang", "ja" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		struct command *c = parse(ok[i].line);

		assert_int_equal(c->verb, CMD_SET);
		assert_true(c->case_number == 7);
		assert_string_equal(c->field, ok[i].field);
		assert_string_equal(c->value, ok[i].value);
		c->field = (g_free(c->field), NULL);
		c->value = (g_free(c->value), NULL);
		assert_only_case(c);
		command_free(c);
	}
	assert_printed("set IPA#7 title \"\\\"Login\\\" page XSS\"",
		       "set IPA#00000007 title \"\\\"Login\\\" page XSS\"");
	assert_printed("set IPA#7 product \"  padded\"",
		       "set IPA#00000007 product \"  padded\"");
	assert_printed("set IPA#7 title \"plain words\"",
		       "set IPA#00000007 title plain words");
}

static void send_and_contacted(void **state)
{
	static const struct {
		const char *word;
		enum cmd_send send;
	} sends[] = {
		{ "stage1", CMD_SEND_STAGE1 }, { "STAGE2", CMD_SEND_STAGE2 },
		{ "forward", CMD_SEND_FORWARD }, { "reminder", CMD_SEND_REMINDER },
	};
	struct command *c;

	for (size_t i = 0; i < G_N_ELEMENTS(sends); i++) {
		g_autofree char *line = g_strdup_printf("send IPA#8 %s", sends[i].word);

		c = parse(line);
		assert_int_equal(c->verb, CMD_SEND);
		assert_true(c->case_number == 8);
		assert_int_equal(c->send, sends[i].send);
		c->send = 0;
		assert_only_case(c);
		command_free(c);
	}

	c = parse("contacted IPA#9 post 簡易書留 番号 1234-5678");
	assert_int_equal(c->verb, CMD_CONTACTED);
	assert_string_equal(c->channel, "post");
	assert_string_equal(c->text, "簡易書留 番号 1234-5678");
	command_free(c);
	c = parse("contacted IPA#9 PHONE");
	assert_string_equal(c->channel, "phone");
	assert_null(c->text);
	c->channel = (g_free(c->channel), NULL);
	assert_only_case(c);
	command_free(c);
}

static void extend_and_pause(void **state)
{
	static const struct {
		const char *line;
		enum cmd_clock clock;
		int count;
		enum cal_unit unit;
		const char *text;
	} ok[] = {
		{ "extend IPA#10 investigation 20bd reason operator asked", CMD_CLOCK_INVESTIGATION,
		  20, CAL_BUSINESS_DAYS, "operator asked" },
		{ "extend IPA#10 fix 3M reason \"vendor release in June\"", CMD_CLOCK_FIX, 3,
		  CAL_MONTHS, "vendor release in June" },
		{ "Extend IPA#10 COMPLETION 1y REASON 大規模改修のため", CMD_CLOCK_COMPLETION, 1,
		  CAL_YEARS, "大規模改修のため" },
		{ "extend IPA#10 contact 2w reason x", CMD_CLOCK_CONTACT, 2, CAL_WEEKS, "x" },
		{ "extend IPA#10 first-reply 10d reason holidays", CMD_CLOCK_FIRST_REPLY, 10,
		  CAL_DAYS, "holidays" },
	};
	struct command *c;

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		c = parse(ok[i].line);
		assert_int_equal(c->verb, CMD_EXTEND);
		assert_true(c->case_number == 10);
		assert_int_equal(c->clock, ok[i].clock);
		assert_int_equal(c->period.count, ok[i].count);
		assert_int_equal(c->period.unit, ok[i].unit);
		assert_string_equal(c->text, ok[i].text);
		command_free(c);
	}
	assert_printed("extend ipa#10 fix 3M reason \"vendor release\"",
		       "extend IPA#00000010 fix 3M reason vendor release");

	c = parse("pause IPA#11 reason waiting for the discoverer");
	assert_int_equal(c->verb, CMD_PAUSE);
	assert_string_equal(c->text, "waiting for the discoverer");
	c->text = (g_free(c->text), NULL);
	assert_only_case(c);
	command_free(c);
}

static void bare_verbs(void **state)
{
	static const struct {
		const char *word;
		enum cmd_verb verb;
	} bare[] = {
		{ "resume", CMD_RESUME }, { "unreachable", CMD_UNREACHABLE },
		{ "reopen", CMD_REOPEN }, { "hold", CMD_HOLD }, { "RELEASE", CMD_RELEASE },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bare); i++) {
		g_autofree char *line = g_strdup_printf("%s IPA#00000013", bare[i].word);
		struct command *c = parse(line);

		assert_int_equal(c->verb, bare[i].verb);
		assert_true(c->case_number == 13);
		assert_string_equal(c->case_text, "IPA#00000013");
		assert_only_case(c);
		command_free(c);
	}
}

static void close_cases(void **state)
{
	struct command *c = parse("close IPA#14 fixed");

	assert_int_equal(c->verb, CMD_CLOSE);
	assert_string_equal(c->outcome, "fixed");
	assert_null(c->code);
	assert_null(c->text);
	c->outcome = (g_free(c->outcome), NULL);
	assert_only_case(c);
	command_free(c);

	/* Without a reason, the rest is text even if it looks like a code. */
	c = parse("close IPA#14 Declined a decision of the operator");
	assert_string_equal(c->outcome, "declined");
	assert_null(c->code);
	assert_string_equal(c->text, "a decision of the operator");
	command_free(c);

	c = parse("close IPA#14 ended c 影響が小さいため");
	assert_string_equal(c->outcome, "ended");
	assert_string_equal(c->code, "c");
	assert_string_equal(c->text, "影響が小さいため");
	command_free(c);

	/* "e" is only in product_end: accepted, the kind is checked later. */
	c = parse("close IPA#14 ended E");
	assert_string_equal(c->code, "e");
	assert_null(c->text);
	command_free(c);

	c = parse("close IPA#14 published-by-committee \"公表判定委員会\"");
	assert_string_equal(c->outcome, "published-by-committee");
	assert_string_equal(c->text, "公表判定委員会");
	command_free(c);
}

static void note_and_record(void **state)
{
	static const struct {
		const char *word;
		enum cmd_record record;
	} events[] = {
		{ "published", CMD_REC_PUBLISHED },
		{ "priority-provided", CMD_REC_PRIORITY_PROVIDED },
		{ "gov-notified", CMD_REC_GOV_NOTIFIED },
		{ "coordinator-update", CMD_REC_COORDINATOR_UPDATE },
		{ "Checked", CMD_REC_CHECKED },
	};
	struct command *c = parse("note IPA#15 運営者に電話で確認済み\t(担当: 佐藤)");

	assert_int_equal(c->verb, CMD_NOTE);
	assert_string_equal(c->text, "運営者に電話で確認済み\t(担当: 佐藤)");
	c->text = (g_free(c->text), NULL);
	assert_only_case(c);
	command_free(c);

	c = parse("record IPA#16 published 2026-04-01 JVN#12345678");
	assert_int_equal(c->verb, CMD_RECORD);
	assert_int_equal(c->record, CMD_REC_PUBLISHED);
	assert_int_equal(c->date, civil_from_ymd(2026, 4, 1));
	assert_string_equal(c->text, "JVN#12345678");
	command_free(c);

	for (size_t i = 0; i < G_N_ELEMENTS(events); i++) {
		g_autofree char *line = g_strdup_printf("record IPA#16 %s 2099-12-31",
							events[i].word);

		c = parse(line);
		assert_int_equal(c->record, events[i].record);
		assert_int_equal(c->date, civil_from_ymd(2099, 12, 31));
		assert_null(c->text);
		c->record = 0;
		c->date = 0;
		assert_only_case(c);
		command_free(c);
	}
	c = parse("record IPA#16 checked 1955-01-01 \"\"");
	assert_int_equal(c->date, civil_from_ymd(1955, 1, 1));
	assert_null(c->text);
	command_free(c);
}

/* ------------------------------------------------------------ errors */

static void verb_and_case_errors(void **state)
{
	expect_error("acept IPA#1 web", TDK_ESYNTAX, "unknown command 'acept'");
	expect_error("", TDK_ESYNTAX, "empty command");
	expect_error(" \t ", TDK_ESYNTAX, "empty command");
	expect_error("# accept IPA#1 web", TDK_ESYNTAX, "empty command");
	expect_error("accept", TDK_ESYNTAX, "accept: missing case number");
	expect_error("accept IPA#123456789 web", TDK_EINVAL,
		     "accept: IPA#123456789: not a case number (at most 8 digits)");
	expect_error("accept IPA#000000012 web", TDK_EINVAL,
		     "IPA#000000012: not a case number (at most 8 digits)");
	expect_error("accept IPA#0 web", TDK_EINVAL,
		     "IPA#0: not a case number (numbers start at 1)");
	expect_error("accept IPA#00000000 web", TDK_EINVAL, "(numbers start at 1)");
	expect_error("accept JVN#1 web", TDK_EINVAL,
		     "accept: JVN#1: not a case number (expected IPA# and 1 to 8 digits)");
	expect_error("accept IPA# web", TDK_EINVAL, "IPA#: not a case number");
	expect_error("accept IPA#12a web", TDK_EINVAL, "IPA#12a: not a case number");
	expect_error("accept IPA#-1 web", TDK_EINVAL, "IPA#-1: not a case number");
	expect_error("accept IPA web", TDK_EINVAL, "IPA: not a case number");
	expect_error("accept １２ web", TDK_EINVAL, "１２: not a case number");
	expect_error("hold IPA#1 now", TDK_ESYNTAX,
		     "hold: unexpected 'now' after the case number");
	expect_error("resume IPA#1 \"\"", TDK_ESYNTAX, "resume: unexpected '\"\"'");
}

static void argument_errors(void **state)
{
	expect_error("accept IPA#1 webb", TDK_EINVAL,
		     "accept: expected 'web' or 'product', got 'webb'");
	expect_error("accept IPA#1", TDK_ESYNTAX, "accept: missing case kind");
	expect_error("accept IPA#1 web now", TDK_ESYNTAX,
		     "accept: unexpected 'now' after the case kind");

	expect_error("reject IPA#1 z", TDK_EINVAL,
		     "reject: unknown reason code 'z' (known: a, b, c, d, illegal)");
	expect_error("reject IPA#1", TDK_ESYNTAX,
		     "reject: missing reason code (known: a, b, c, d, illegal)");

	expect_error("send IPA#1 stage3", TDK_EINVAL,
		     "send: expected stage1, stage2, forward or reminder, got 'stage3'");
	expect_error("send IPA#1", TDK_ESYNTAX, "send: missing what to send");
	expect_error("send IPA#1 stage1 now", TDK_ESYNTAX,
		     "send: unexpected 'now' after what to send");

	expect_error("contacted IPA#1 email", TDK_EINVAL,
		     "contacted: expected 'post' or 'phone', got 'email'");
	expect_error("contacted IPA#1", TDK_ESYNTAX, "contacted: missing channel");

	expect_error("note IPA#1", TDK_ESYNTAX, "note: missing text");
	expect_error("note IPA#1 \"  \t \"", TDK_ESYNTAX, "note: missing text");
	expect_error("note IPA#1 \"a\" b", TDK_ESYNTAX,
		     "note: unexpected 'b' after the quoted text");
}

/* w as a quoted WORD, in a buffer reused by the next call. */
static const char *quote_word(const char *w)
{
	static char buf[1024];
	size_t n = 0;

	buf[n++] = '"';
	for (; *w != '\0' && n < sizeof buf - 3; w++) {
		if (*w == '"' || *w == '\\')
			buf[n++] = '\\';
		buf[n++] = *w;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

/*
 * A party with an address of a local part of local bytes and a domain of
 * domain bytes (labels of at most 63, or one longer label if domain is
 * 64), expecting status and, on failure, want.
 */
static void expect_length(size_t local, size_t domain, int status,
			  const char *want)
{
	GString *line = g_string_new("party IPA#1 operator ");
	size_t start;

	for (size_t i = 0; i < local; i++)
		g_string_append_c(line, 'l');
	g_string_append_c(line, '@');
	start = line->len;
	if (domain == 64) {
		for (size_t i = 0; i < 64; i++)
			g_string_append_c(line, 'd');
		g_string_append(line, ".example");
	} else {
		while (line->len - start < domain) {
			size_t left = domain - (line->len - start);

			if (line->len > start) {
				g_string_append_c(line, '.');
				left--;
			}
			for (size_t i = 0; i < MIN(left, 63); i++)
				g_string_append_c(line, 'd');
		}
	}
	if (status == TDK_OK) {
		struct command *c = NULL;
		tdk_err err;

		assert_int_equal(strlen(strchr(line->str, '@') + 1), domain);
		if (command_parse(line->str, &ipa, rules, &c, &err) != TDK_OK)
			fail_msg("%s", err.text);
		assert_int_equal(strlen(c->address), local + 1 + domain);
		command_free(c);
	} else {
		expect_error(line->str, status, want);
	}
	g_string_free(line, TRUE);
}

static void party_errors(void **state)
{
	static const struct {
		const char *address, *why;
	} bad[] = {
		{ "foo", "bad address 'foo' (no '@')" },
		{ "a@b@c.example", "more than one '@'" },
		{ "@x.example", "empty local part" },
		{ "a@", "empty domain" },
		{ ".a@x.example", "starts or ends with '.'" },
		{ "a.@x.example", "starts or ends with '.'" },
		{ "a..b@x.example", "'..' in the local part" },
		{ "\"a b\"@x.example", "the local part may hold only" },
		{ "<a@x.example>", "the local part may hold only" },
		{ "山田@x.example", "the local part may hold only" },
		{ "a(b)@x.example", "the local part may hold only" },
		{ "a@-x.example", "starts or ends with '-'" },
		{ "a@x-.example", "starts or ends with '-'" },
		{ "a@x..example", "empty label" },
		{ "a@.x.example", "empty label" },
		{ "a@x.example.", "empty label" },
		{ "a@localhost", "needs at least one '.'" },
		{ "a@x_y.example", "the domain may hold only" },
		{ "a@[192.0.2.1]", "the domain may hold only" },
		{ "a@例え.jp", "the domain may hold only" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *line = g_strdup_printf("party IPA#1 operator %s",
							quote_word(bad[i].address));

		expect_error(line, TDK_EINVAL, bad[i].why);
		expect_error(line, TDK_EINVAL, "party: bad address '");
	}
	expect_length(65, 10, TDK_EINVAL, "local part longer than 64 bytes");
	expect_length(64, 64, TDK_EINVAL, "domain label longer than 63 bytes");
	/* 254 bytes is fine, 255 is not. */
	expect_length(64, 189, TDK_OK, NULL);
	expect_length(64, 190, TDK_EINVAL, "(longer than 254 bytes)");

	expect_error("party IPA#1 vendor a@x.example", TDK_EINVAL,
		     "party: expected discoverer, operator, developer, coordinator or "
		     "staff-cc, got 'vendor'");
	expect_error("party IPA#1", TDK_ESYNTAX, "party: missing role");
	expect_error("party IPA#1 operator", TDK_ESYNTAX, "party: missing address");
	expect_error("party IPA#1 operator a@x.example nam Smith", TDK_ESYNTAX,
		     "party: unknown option 'nam' (expected name, lang, key or postal)");
	expect_error("party IPA#1 operator a@x.example name A lang ja NAME B",
		     TDK_ESYNTAX, "party: 'name' given twice");
	expect_error("party IPA#1 operator a@x.example name", TDK_ESYNTAX,
		     "party: missing a value after 'name'");
	expect_error("party IPA#1 operator a@x.example postal \"\"", TDK_EINVAL,
		     "party: 'postal' must not be empty");
	expect_error("party IPA#1 operator a@x.example lang fr", TDK_EINVAL,
		     "party: lang must be 'ja' or 'en', got 'fr'");
	expect_error("party IPA#1 operator a@x.example key abc", TDK_EINVAL,
		     "party: bad key fingerprint 'abc' (expected 40 or 64 hex digits)");
	/* 41 digits; 40 with a non-hex one; spaces only inside quotes. */
	expect_error("party IPA#1 operator a@x.example key "
		     "0123456789ABCDEF0123456789ABCDEF012345678", TDK_EINVAL,
		     "bad key fingerprint");
	expect_error("party IPA#1 operator a@x.example key "
		     "0123456789ABCDEF0123456789ABCDEF0123456G", TDK_EINVAL,
		     "bad key fingerprint");
	expect_error("party IPA#1 operator a@x.example key "
		     "0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567", TDK_EINVAL,
		     "bad key fingerprint '0123'");
	expect_error("party IPA#1 operator a@x.example key \"0123\t4567 89AB CDEF 0123 "
		     "4567 89AB CDEF 0123 4567\"", TDK_EINVAL, "bad key fingerprint");
}

static void set_errors(void **state)
{
	expect_error("set IPA#1 colour red", TDK_EINVAL,
		     "set: unknown field 'colour' (expected url, product, vuln-type, "
		     "threat, description, title, impact, verifiable, fix-kind, "
		     "check-wanted or lang)");
	expect_error("set IPA#1", TDK_ESYNTAX, "set: missing field");
	expect_error("set IPA#1 title", TDK_ESYNTAX, "set: missing value");
	expect_error("set IPA#1 title \"\"", TDK_ESYNTAX, "set: missing value");
	expect_error("set IPA#1 impact", TDK_ESYNTAX, "set: missing value for 'impact'");
	expect_error("set IPA#1 url \"\"", TDK_ESYNTAX, "set: missing value for 'url'");
	expect_error("set IPA#1 impact high", TDK_EINVAL,
		     "set: impact must be priority, normal or simple, got 'high'");
	expect_error("set IPA#1 verifiable maybe", TDK_EINVAL,
		     "set: verifiable must be yes or no, got 'maybe'");
	expect_error("set IPA#1 fix-kind patch", TDK_EINVAL,
		     "set: fix-kind must be fix, workaround or page-deleted, got 'patch'");
	expect_error("set IPA#1 check-wanted y", TDK_EINVAL,
		     "set: check-wanted must be yes or no");
	expect_error("set IPA#1 lang fr", TDK_EINVAL, "set: lang must be ja or en, got 'fr'");
	expect_error("set IPA#1 verifiable yes please", TDK_ESYNTAX,
		     "set: unexpected 'please' after the value");
	expect_error("set IPA#1 url ftp://x.example/", TDK_EINVAL,
		     "set: bad URL 'ftp://x.example/' (expected http:// or https://)");
	expect_error("set IPA#1 url www.example.jp", TDK_EINVAL, "bad URL");
	expect_error("set IPA#1 url https://", TDK_EINVAL, "(no host)");
	expect_error("set IPA#1 url http:///path", TDK_EINVAL, "(no host)");
	expect_error("set IPA#1 url \"https://x.example/a b\"", TDK_EINVAL,
		     "whitespace is not allowed");
	expect_error("set IPA#1 url https://x.example/a\xe3\x80\x80" "b", TDK_EINVAL,
		     "whitespace is not allowed");
	expect_error("set IPA#1 url https://x.example/<script>", TDK_EINVAL,
		     "are not allowed");
	expect_error("set IPA#1 url https://x.example/ more", TDK_ESYNTAX,
		     "set: unexpected 'more' after the value");
}

static void extend_close_record_errors(void **state)
{
	expect_error("extend IPA#1 fix 3x reason r", TDK_EINVAL,
		     "extend: bad period '3x': period \"3x\": unknown unit");
	expect_error("extend IPA#1 fix 0d reason r", TDK_EINVAL,
		     "extend: bad period '0d': ");
	expect_error("extend IPA#1 fix bd reason r", TDK_EINVAL, "bad period 'bd'");
	expect_error("extend IPA#1 fix", TDK_ESYNTAX, "extend: missing period");
	expect_error("extend IPA#1 deadline 3d reason r", TDK_EINVAL,
		     "extend: expected investigation, fix, completion, contact or "
		     "first-reply, got 'deadline'");
	expect_error("extend IPA#1 fix 3d", TDK_ESYNTAX,
		     "extend: missing 'reason' and its text");
	expect_error("extend IPA#1 fix 3d because r", TDK_ESYNTAX,
		     "extend: expected 'reason', got 'because'");
	expect_error("extend IPA#1 fix 3d reason", TDK_ESYNTAX,
		     "extend: missing reason text");
	expect_error("extend IPA#1 fix 3d reason \"\"", TDK_ESYNTAX,
		     "extend: missing reason text");
	expect_error("pause IPA#1", TDK_ESYNTAX, "pause: missing 'reason' and its text");
	expect_error("pause IPA#1 reason   ", TDK_ESYNTAX, "pause: missing reason text");

	expect_error("close IPA#1 done", TDK_EINVAL,
		     "close: unknown outcome 'done' (known: fixed, fixed-workaround, ");
	expect_error("close IPA#1", TDK_ESYNTAX, "close: missing outcome (known: fixed,");
	expect_error("close IPA#1 ended", TDK_ESYNTAX,
		     "close: outcome 'ended' needs a reason code (known: a, b, c, d, e)");
	expect_error("close IPA#1 ended z", TDK_EINVAL,
		     "close: unknown reason code 'z' for outcome 'ended' (known: a, b, c, d, e)");

	expect_error("record IPA#1 released 2026-01-01", TDK_EINVAL,
		     "record: expected published, priority-provided, gov-notified, "
		     "coordinator-update or checked, got 'released'");
	expect_error("record IPA#1 published", TDK_ESYNTAX,
		     "record: missing date (YYYY-MM-DD)");
	expect_error("record IPA#1 published 2026-13-01", TDK_EINVAL,
		     "record: bad date '2026-13-01' (no such day)");
	expect_error("record IPA#1 published 2026-02-29", TDK_EINVAL, "(no such day)");
	expect_error("record IPA#1 published 2026/01/01", TDK_EINVAL,
		     "record: bad date '2026/01/01' (expected YYYY-MM-DD)");
	expect_error("record IPA#1 published 2026-1-1", TDK_EINVAL, "(expected YYYY-MM-DD)");
	expect_error("record IPA#1 published 2026-01-011", TDK_EINVAL,
		     "(expected YYYY-MM-DD)");
	expect_error("record IPA#1 published 1954-12-31", TDK_EINVAL,
		     "bad date '1954-12-31' (outside 1955..2099)");
	expect_error("record IPA#1 published 2100-01-01", TDK_EINVAL, "(outside 1955..2099)");
}

/* ------------------------------------------- quoting and characters */

static void quoting(void **state)
{
	struct command *c = parse("note IPA#1 \"say \\\"hi\\\" \\\\ ok\"");

	assert_string_equal(c->text, "say \"hi\" \\ ok");
	command_free(c);

	/* A backslash outside quotes is an ordinary character. */
	c = parse("note IPA#1 C:\\path\\to");
	assert_string_equal(c->text, "C:\\path\\to");
	command_free(c);

	/* Unquoted rest of line keeps inner quotes and spacing. */
	c = parse("note IPA#1 He said \"no\"  twice ");
	assert_string_equal(c->text, "He said \"no\"  twice");
	command_free(c);

	/* Every token may be quoted, tabs separate too. */
	c = parse("\"accept\"\t\"IPA#2\" \"web\"");
	assert_int_equal(c->verb, CMD_ACCEPT);
	assert_true(c->case_number == 2);
	command_free(c);

	/* A '#' later in the line is text, not a comment. */
	c = parse("note IPA#1 # not a comment");
	assert_string_equal(c->text, "# not a comment");
	command_free(c);

	expect_error("note IPA#1 \"unterminated", TDK_ESYNTAX,
		     "note: unterminated quoted string \"unterminated");
	expect_error("note IPA#1 \"ends in backslash\\", TDK_ESYNTAX,
		     "unterminated quoted string");
	expect_error("note IPA#1 \"a\\nb\"", TDK_ESYNTAX,
		     "note: bad escape '\\n' in a quoted string (only \\\" and \\\\)");
	expect_error("note IPA#1 \"a\\あb\"", TDK_ESYNTAX, "bad escape '\\あ'");
	expect_error("party IPA#1 operator \"a@x.example\"name", TDK_ESYNTAX,
		     "party: text directly after a closing quote");
	expect_error("party IPA#1 operator a@x.example name ab\"c", TDK_ESYNTAX,
		     "party: '\"' inside the word 'ab\"c' (quote the whole word)");
	expect_error("accept IPA#1 we\"b\"", TDK_ESYNTAX, "'\"' inside the word");

	assert_printed("note IPA#1 \"\\\"quoted\\\" start\"",
		       "note IPA#00000001 \"\\\"quoted\\\" start\"");
	assert_printed("note IPA#1 \" lead\"", "note IPA#00000001 \" lead\"");
	assert_printed("note IPA#1 \"trail\t\"", "note IPA#00000001 \"trail\t\"");
	assert_printed("note IPA#1 a \"b\" c", "note IPA#00000001 a \"b\" c");
	assert_printed("note IPA#1 \"back\\\\slash\"", "note IPA#00000001 back\\slash");
}

static void hostile_characters(void **state)
{
	expect_error("note IPA#1 a\rb", TDK_EINVAL,
		     "carriage return (U+000D) at byte 13 is not allowed");
	expect_error("note IPA#1 a\nBcc: x@evil.example", TDK_EINVAL,
		     "line feed (U+000A) at byte 13 is not allowed");
	expect_error("note IPA#1 \"a\r\nb\"", TDK_EINVAL, "carriage return");
	expect_error("accept IPA#1 web\n", TDK_EINVAL, "line feed");
	expect_error("note IPA#1 bell\a", TDK_EINVAL,
		     "control character U+0007 at byte 16 is not allowed");
	expect_error("note IPA#1 esc\x1b[31m", TDK_EINVAL, "control character U+001B");
	expect_error("note IPA#1 del\x7f", TDK_EINVAL, "control character U+007F");
	expect_error("note IPA#1 c1\xc2\x85", TDK_EINVAL, "control character U+0085");
	expect_error("note IPA#1 ls\xe2\x80\xa8", TDK_EINVAL, "control character U+2028");
	expect_error("note IPA#1 ps\xe2\x80\xa9", TDK_EINVAL, "control character U+2029");
	expect_error("note IPA#1 \xff", TDK_EINVAL, "invalid UTF-8 at byte 12");
	expect_error("note IPA#1 \xc0\xaf", TDK_EINVAL, "invalid UTF-8");
	expect_error("note IPA#1 \xe3\x81", TDK_EINVAL, "invalid UTF-8");
	expect_error("note IPA#1 \xed\xa0\x80", TDK_EINVAL, "invalid UTF-8"); /* surrogate */
	expect_error("note IPA#1 \xf4\x90\x80\x80", TDK_EINVAL, "invalid UTF-8");
	expect_error("acc\xff" "ept IPA#1 web", TDK_EINVAL, "invalid UTF-8 at byte 4");

	/* Japanese text, full-width spaces and emoji are fine. */
	{
		struct command *c = parse("note IPA#1 脆弱性の詳細を送付しました\xe3\x80\x80🙂");

		assert_string_equal(c->text, "脆弱性の詳細を送付しました\xe3\x80\x80🙂");
		command_free(c);
	}
}

static void limits(void **state)
{
	GString *line = g_string_new("note IPA#1 ");
	struct command *c = NULL;
	size_t prefix;
	tdk_err err;

	/* A text of exactly COMMAND_TEXT_MAX bytes, then one more. */
	for (int i = 0; i < COMMAND_TEXT_MAX / 3; i++)
		g_string_append(line, "あ");
	g_string_append(line, "x");
	assert_int_equal(line->len - strlen("note IPA#1 "), COMMAND_TEXT_MAX);
	c = parse(line->str);
	assert_int_equal(strlen(c->text), COMMAND_TEXT_MAX);
	command_free(c);
	g_string_append(line, "y");
	expect_error(line->str, TDK_ELIMIT, "note: text longer than 4096 bytes");
	g_string_assign(line, "note IPA#1 \"");
	for (int i = 0; i < COMMAND_TEXT_MAX; i++)
		g_string_append_c(line, 'x');
	g_string_append(line, "y\"");
	expect_error(line->str, TDK_ELIMIT, "note: quoted string longer than 4096 bytes");
	g_string_assign(line, "party IPA#1 operator a@x.example name ");
	for (int i = 0; i <= COMMAND_TEXT_MAX; i++)
		g_string_append_c(line, 'n');
	expect_error(line->str, TDK_ELIMIT, "party: word longer than 4096 bytes");

	/* A line of exactly COMMAND_LINE_MAX bytes, then one more. */
	g_string_assign(line, "party IPA#1 operator a@x.example name \"");
	for (int i = 0; i < 4090; i++)
		g_string_append_c(line, 'n');
	g_string_append(line, "\" postal \"");
	prefix = line->len;
	while (line->len < COMMAND_LINE_MAX - 1)
		g_string_append_c(line, 'p');
	g_string_append_c(line, '"');
	assert_int_equal(line->len, COMMAND_LINE_MAX);
	assert_int_equal(command_parse(line->str, &ipa, rules, &c, &err), TDK_OK);
	assert_int_equal(strlen(c->name), 4090);
	assert_int_equal(strlen(c->postal), COMMAND_LINE_MAX - 1 - prefix);
	command_free(c);
	g_string_insert_c(line, line->len - 1, 'p');
	expect_error(line->str, TDK_ELIMIT, "line longer than 8192 bytes");
	g_string_free(line, TRUE);
}

/* ----------------------------------------------------------- scripts */

static void script_ok(void **state)
{
	static const char text[] =
		"\xEF\xBB\xBF# intake of the week\r\n"
		"accept IPA#21 web\r\n"
		"\r\n"
		"   # indented comment\n"
		"\t\n"
		"party IPA#21 operator admin@shop.example lang ja\n"
		"send IPA#21 stage1\n"
		"note IPA#21 最後の行に改行なし";
	struct command **v = NULL;
	size_t n = 99;
	tdk_err err;

	assert_int_equal(command_parse_script(text, sizeof text - 1, &ipa, rules,
					      &v, &n, &err), TDK_OK);
	assert_int_equal(n, 4);
	assert_int_equal(v[0]->verb, CMD_ACCEPT);
	assert_int_equal(v[1]->verb, CMD_PARTY);
	assert_string_equal(v[1]->address, "admin@shop.example");
	assert_int_equal(v[2]->verb, CMD_SEND);
	assert_int_equal(v[3]->verb, CMD_NOTE);
	assert_string_equal(v[3]->text, "最後の行に改行なし");
	assert_null(v[4]);
	command_free_all(v, n);

	/* Nothing but comments: an empty vector. */
	assert_int_equal(command_parse_script("# nothing\n\n", 11, &ipa, rules, &v,
					      &n, &err), TDK_OK);
	assert_int_equal(n, 0);
	assert_non_null(v);
	assert_null(v[0]);
	command_free_all(v, n);
	assert_int_equal(command_parse_script(NULL, 0, &ipa, rules, &v, &n, &err),
			 TDK_OK);
	assert_int_equal(n, 0);
	command_free_all(v, n);
	command_free_all(NULL, 0);
	command_free(NULL);
}

static void expect_script_error(const char *text, size_t len, int status,
				const char *want)
{
	struct command **v = (struct command **)1;
	size_t n = 99;
	tdk_err err;
	int rc = command_parse_script(text, len, &ipa, rules, &v, &n, &err);

	if (rc != status || strstr(err.text, want) == NULL)
		fail_msg("got %d \"%s\", want %d \"...%s...\"", rc, err.text, status,
			 want);
	assert_null(v);
	assert_int_equal(n, 0);
}

static void script_all_or_nothing(void **state)
{
	static const char bad_verb[] =
		"accept IPA#21 web\n"
		"# comment\n"
		"\n"
		"send IPA#21 stage1\n"
		"accept IPA#22 webb\n"
		"note IPA#22 never reached\n";
	static const char nul[] = "hold IPA#1\nnote IPA#1 a\0b\nhold IPA#2\n";
	static const char lone_cr[] = "hold IPA#1\rhold IPA#2\n";
	GString *many = g_string_new(NULL);

	expect_script_error(bad_verb, sizeof bad_verb - 1, TDK_EINVAL,
			    "line 5: accept: expected 'web' or 'product', got 'webb'");
	expect_script_error(nul, sizeof nul - 1, TDK_EINVAL,
			    "line 2: NUL byte at byte 13 is not allowed");
	expect_script_error(lone_cr, sizeof lone_cr - 1, TDK_EINVAL,
			    "line 1: carriage return (U+000D) at byte 11");
	expect_script_error("hold IPA#1\n# bad \xff comment\n", 27, TDK_EINVAL,
			    "line 2: invalid UTF-8");
	expect_script_error("hold IPA#1\nhold\n", 16, TDK_ESYNTAX,
			    "line 2: hold: missing case number");

	/* An over-long line, and one command too many. */
	for (int i = 0; i < COMMAND_LINE_MAX; i++)
		g_string_append_c(many, ' ');
	g_string_prepend(many, "hold IPA#1\n");
	g_string_append(many, "x\n");
	expect_script_error(many->str, many->len, TDK_ELIMIT,
			    "line 2: line longer than 8192 bytes");
	g_string_truncate(many, 0);
	for (int i = 0; i <= COMMAND_SCRIPT_MAX; i++)
		g_string_append(many, "hold IPA#1\n");
	expect_script_error(many->str, many->len, TDK_ELIMIT,
			    "line 10001: more than 10000 commands in one script");
	g_string_free(many, TRUE);
}

/* ----------------------------------------------------- names, misc */

static void names(void **state)
{
	static const char *const verbs[] = {
		"accept", "reject", "party", "set", "send", "contacted", "extend",
		"pause", "resume", "unreachable", "reopen", "close", "hold",
		"release", "note", "record",
	};
	enum cmd_verb v = 0;
	enum cmd_role r = 0;
	enum cmd_send s = 0;
	enum cmd_clock k = 0;
	enum cmd_record e = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
		assert_string_equal(command_verb_name((enum cmd_verb)(i + 1)), verbs[i]);
		assert_int_equal(command_verb_from_name(verbs[i], &v), TDK_OK);
		assert_int_equal(v, i + 1);
	}
	assert_int_equal(command_verb_from_name("CLOSE", &v), TDK_OK);
	assert_int_equal(v, CMD_CLOSE);
	assert_int_equal(command_verb_from_name("closed", &v), TDK_EINVAL);
	assert_int_equal(v, CMD_CLOSE);
	assert_int_equal(command_verb_from_name(NULL, &v), TDK_EINVAL);
	assert_string_equal(command_verb_name(0), "?");
	assert_string_equal(command_verb_name(CMD_RECORD + 1), "?");

	assert_string_equal(command_role_name(CMD_ROLE_STAFF_CC), "staff-cc");
	assert_int_equal(command_role_from_name("Coordinator", &r), TDK_OK);
	assert_int_equal(r, CMD_ROLE_COORDINATOR);
	assert_int_equal(command_role_from_name("staff", &r), TDK_EINVAL);
	assert_string_equal(command_role_name(99), "?");

	assert_string_equal(command_send_name(CMD_SEND_STAGE2), "stage2");
	assert_int_equal(command_send_from_name("reminder", &s), TDK_OK);
	assert_int_equal(s, CMD_SEND_REMINDER);
	assert_int_equal(command_send_from_name("", &s), TDK_EINVAL);

	assert_string_equal(command_clock_name(CMD_CLOCK_FIRST_REPLY), "first-reply");
	assert_int_equal(command_clock_from_name("contact", &k), TDK_OK);
	assert_int_equal(k, CMD_CLOCK_CONTACT);
	assert_int_equal(command_clock_from_name("first_reply", &k), TDK_EINVAL);

	assert_string_equal(command_record_name(CMD_REC_GOV_NOTIFIED), "gov-notified");
	assert_int_equal(command_record_from_name("coordinator-update", &e), TDK_OK);
	assert_int_equal(e, CMD_REC_COORDINATOR_UPDATE);
	assert_int_equal(command_record_from_name("update", &e), TDK_EINVAL);
	assert_string_equal(command_record_name(-1), "?");
}

static void formats_and_arguments(void **state)
{
	static const struct casenum_format vu = { "VU-", 6 };
	static const struct casenum_format quote = { "Q\"", 4 };
	static const struct casenum_format wide = { "T#", 18 };
	static const struct casenum_format broken = { "IPA#", 0 };
	struct command *c = parse_fmt(&vu, "hold vu-12");
	tdk_err err;

	assert_string_equal(c->case_text, "VU-000012");
	command_free(c);

	/* A prefix holding '"' must be quoted, and prints quoted. */
	c = parse_fmt(&quote, "hold \"q\\\"1\"");
	assert_string_equal(c->case_text, "Q\"0001");
	{
		g_autofree char *text = command_to_text(c);

		assert_string_equal(text, "hold \"Q\\\"0001\"");
	}
	command_free(c);

	c = parse_fmt(&wide, "hold T#999999999999999999");
	assert_true(c->case_number == UINT64_C(999999999999999999));
	command_free(c);

	c = (struct command *)1;
	assert_int_equal(command_parse("hold IPA#1", &broken, rules, &c, &err),
			 TDK_EINVAL);
	assert_null(c);
	assert_int_equal(command_parse("hold IPA#1", NULL, rules, &c, &err), TDK_EINVAL);
	assert_int_equal(command_parse("hold IPA#1", &ipa, NULL, &c, &err), TDK_EINVAL);
	assert_int_equal(command_parse(NULL, &ipa, rules, &c, &err), TDK_EINVAL);
	assert_int_equal(command_parse("hold IPA#1", &ipa, rules, NULL, NULL), TDK_EINVAL);
	{
		struct command **v = NULL;
		size_t n;

		assert_int_equal(command_parse_script(NULL, 3, &ipa, rules, &v, &n, &err),
				 TDK_EINVAL);
		assert_int_equal(command_parse_script("x", 1, &ipa, rules, NULL, &n, &err),
				 TDK_EINVAL);
	}
	/* Errors may go nowhere. */
	assert_int_equal(command_parse("acept", &ipa, rules, &c, NULL), TDK_ESYNTAX);

	/* Printing refuses what the parser cannot produce. */
	{
		struct command bad = { .verb = 0, .case_text = (char *)"IPA#00000001" };

		assert_null(command_to_text(NULL));
		assert_null(command_to_text(&bad));
		bad.verb = CMD_ACCEPT;
		assert_null(command_to_text(&bad));
		bad.verb = CMD_NOTE;
		assert_null(command_to_text(&bad));
		bad.verb = CMD_SEND;
		assert_null(command_to_text(&bad));
		bad.send = CMD_SEND_FORWARD;
		{
			g_autofree char *text = command_to_text(&bad);

			assert_string_equal(text, "send IPA#00000001 forward");
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accept_cases),
		cmocka_unit_test(reject_cases),
		cmocka_unit_test(party_cases),
		cmocka_unit_test(set_cases),
		cmocka_unit_test(send_and_contacted),
		cmocka_unit_test(extend_and_pause),
		cmocka_unit_test(bare_verbs),
		cmocka_unit_test(close_cases),
		cmocka_unit_test(note_and_record),
		cmocka_unit_test(verb_and_case_errors),
		cmocka_unit_test(argument_errors),
		cmocka_unit_test(party_errors),
		cmocka_unit_test(set_errors),
		cmocka_unit_test(extend_close_record_errors),
		cmocka_unit_test(quoting),
		cmocka_unit_test(hostile_characters),
		cmocka_unit_test(limits),
		cmocka_unit_test(script_ok),
		cmocka_unit_test(script_all_or_nothing),
		cmocka_unit_test(names),
		cmocka_unit_test(formats_and_arguments),
	};

	return cmocka_run_group_tests(tests, load_rules, free_rules);
}
