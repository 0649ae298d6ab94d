/*
 * test_rules.c - loading rules/partnership.conf and refusing broken ones.
 *
 * Broken files are made by changing one line of the shipped file, so each
 * test also checks that the error names that line.
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
#include <unistd.h>

#include "rules.h"

static char *shipped_path(void)
{
	const char *srcdir = getenv("TOP_SRCDIR");

	return g_strdup_printf("%s/rules/partnership.conf",
			       srcdir != NULL ? srcdir : ".");
}

static char *shipped_text(void)
{
	g_autofree char *path = shipped_path();
	char *text = NULL;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return text;
}

/* 1-based line of the first occurrence of needle in text. */
static int line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	int line = 1;

	assert_non_null(at);
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

/* Writes the shipped file with `from` replaced by `to`; returns the path. */
static char *write_changed(const char *from, const char *to)
{
	g_autofree char *text = shipped_text();
	char *path = g_strdup("/tmp/todoke-rules-XXXXXX");
	GString *changed = g_string_new(text);
	int fd;

	assert_true(g_string_replace(changed, from, to, 1) == 1);
	fd = g_mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, changed->str, changed->len), (ssize_t)changed->len);
	close(fd);
	g_string_free(changed, TRUE);
	return path;
}

/* Loads the shipped file with `from` replaced by `to`, which must load. */
static const struct rules *load_changed(const char *from, const char *to)
{
	g_autofree char *path = write_changed(from, to);
	const struct rules *rules = NULL;
	tdk_err err;

	if (rules_load(path, &rules, &err) != TDK_OK)
		fail_msg("%s", err.text);
	unlink(path);
	return rules;
}

/*
 * Loads the shipped file with `from` replaced by `to`, expects status and
 * an error "file:LINE: <contains>", LINE being where `at` stands in the
 * shipped file.
 */
static void expect_refusal_at(const char *from, const char *to, int status,
			      const char *contains, const char *at)
{
	g_autofree char *text = shipped_text();
	g_autofree char *path = write_changed(from, to);
	g_autofree char *prefix = NULL;
	const struct rules *rules = NULL;
	tdk_err err;
	int line = line_of(text, at);

	assert_int_equal(rules_load(path, &rules, &err), status);
	assert_null(rules);
	prefix = g_strdup_printf("%s:%d: ", path, line);
	if (strncmp(err.text, prefix, strlen(prefix)) != 0 ||
	    strstr(err.text, contains) == NULL)
		fail_msg("got \"%s\", want \"%s...%s...\"", err.text, prefix, contains);
	unlink(path);
}

/* The same, the error naming the line where `from` stood. */
static void expect_refusal(const char *from, const char *to, int status,
			   const char *contains)
{
	expect_refusal_at(from, to, status, contains, from);
}

/* Loads the shipped file without `line`, expects "required setting". */
static void expect_required(const char *line, const char *setting)
{
	g_autofree char *path = write_changed(line, "");
	g_autofree char *want = g_strdup_printf("required setting '%s' is missing",
						setting);
	const struct rules *rules = NULL;
	tdk_err err;

	assert_int_equal(rules_load(path, &rules, &err), TDK_ENOENT);
	assert_null(rules);
	if (strstr(err.text, want) == NULL)
		fail_msg("got \"%s\", want \"...%s\"", err.text, want);
	unlink(path);
}

static void shipped_rules_hold_the_desk_defaults(void **state)
{
	g_autofree char *path = shipped_path();
	const struct rules *r = NULL;
	tdk_err err;

	if (rules_load(path, &r, &err) != TDK_OK)
		fail_msg("%s", err.text);
	/* DOMAIN decisions A1-A5, A12 */
	assert_int_equal(r->web.investigation.count, 20);
	assert_int_equal(r->web.investigation.unit, CAL_BUSINESS_DAYS);
	assert_int_equal(r->web.fix.count, 3);
	assert_int_equal(r->web.fix.unit, CAL_MONTHS);
	assert_int_equal(r->web.completion.count, 9);
	assert_int_equal(r->web.completion.unit, CAL_MONTHS);
	assert_int_equal(r->web.long_running.count, 90);
	assert_int_equal(r->web.long_running.unit, CAL_DAYS);
	assert_false(r->web.auto_close);
	assert_int_equal(r->reminders.first_reply.after.count, 5);
	assert_int_equal(r->reminders.first_reply.after.unit, CAL_BUSINESS_DAYS);
	assert_true(r->reminders.first_reply.operator);
	assert_false(r->reminders.first_reply.staff);
	assert_true(r->reminders.investigation.operator);
	assert_true(r->reminders.investigation.staff);
	assert_true(r->reminders.fix.operator);
	assert_true(r->reminders.fix.staff);
	assert_int_equal(r->contact.attempts, 3);
	assert_int_equal(r->contact.interval.count, 10);
	assert_int_equal(r->contact.interval.unit, CAL_BUSINESS_DAYS);
	assert_int_equal(r->contact.postal_attempt, 2);
	assert_int_equal(r->retention.personal_data.count, 30);
	assert_int_equal(r->retention.personal_data.unit, CAL_DAYS);
	assert_int_equal(r->contact.auto_stage2, RULE_AUTO_STAGE2_DOMAIN);
	/* §2.4: 起算日 + 1 year */
	assert_int_equal(r->product.nondisclosure_withdrawal.count, 1);
	assert_int_equal(r->product.nondisclosure_withdrawal.unit, CAL_YEARS);
	assert_int_equal(r->digest.minute_of_day, 9 * 60);
	assert_int_equal(r->limits.recipient_daily_cap, 20);
	/* §2.6: impact x verifiability */
	assert_int_equal(r->unreachable_product[RULE_IMPACT_PRIORITY - 1][1],
			 RULE_PROPOSE_COMMITTEE);
	assert_int_equal(r->unreachable_product[RULE_IMPACT_PRIORITY - 1][0],
			 RULE_PROPOSE_COMMITTEE);
	assert_int_equal(r->unreachable_product[RULE_IMPACT_NORMAL - 1][1],
			 RULE_PROPOSE_COMMITTEE);
	assert_int_equal(r->unreachable_product[RULE_IMPACT_NORMAL - 1][0],
			 RULE_PROPOSE_END);
	assert_int_equal(r->unreachable_product[RULE_IMPACT_SIMPLE - 1][1],
			 RULE_PROPOSE_END);
	assert_int_equal(r->unreachable_product[RULE_IMPACT_SIMPLE - 1][0],
			 RULE_PROPOSE_END);
	assert_int_equal(r->unreachable_otherwise, RULE_PROPOSE_STAFF);
	/* A19: details are held for staff without a key */
	assert_non_null(r->notices.hold_without_key);
	assert_string_equal(r->notices.hold_without_key[0], "stage2");
	assert_string_equal(r->notices.hold_without_key[1], "forward");
	assert_null(r->notices.hold_without_key[2]);

	assert_int_equal(r->calendar.n_closure_spans, 1);
	assert_int_equal(r->calendar.closure_spans[0].from_month, 12);
	assert_int_equal(r->calendar.closure_spans[0].from_day, 29);
	assert_int_equal(r->calendar.closure_spans[0].to_month, 1);
	assert_int_equal(r->calendar.closure_spans[0].to_day, 3);
	assert_int_equal(r->calendar.n_closure_days, 0);
	assert_int_equal(r->calendar.n_holiday_add, 0);
	assert_int_equal(r->calendar.n_holiday_remove, 0);

	/* web (ア)-(エ), product (ア)-(オ) */
	assert_int_equal(r->web_end.count, 4);
	assert_int_equal(r->product_end.count, 5);
	assert_string_equal(rules_find_reason(&r->product_end, "e")->mark, "(オ)");
	assert_string_equal(rules_find_reason(&r->web_end, "a")->label_ja,
			    "脆弱性関連情報に該当しない");
	assert_null(rules_find_reason(&r->web_end, "e"));
	assert_non_null(rules_find_reason(&r->not_accepted, "illegal"));

	assert_true(rules_find_outcome(r, "declined")->kinds == RULE_KIND_WEB);
	assert_true(rules_find_outcome(r, "published")->kinds == RULE_KIND_PRODUCT);
	assert_true(rules_find_outcome(r, "ended")->needs_reason);
	assert_false(rules_find_outcome(r, "fixed")->needs_reason);
	assert_non_null(rules_find_outcome(r, "expired"));
	assert_null(rules_find_outcome(r, "nonsense"));
	rules_free(r);
}

static void calendar_from_rules_closes_year_end(void **state)
{
	g_autofree char *path = shipped_path();
	const struct rules *r = NULL;
	struct cal *cal = NULL;
	tdk_err err;

	assert_int_equal(rules_load(path, &r, &err), TDK_OK);
	assert_int_equal(rules_build_calendar(r, "Asia/Tokyo", &cal, &err), TDK_OK);
	assert_true(cal_is_business_day(cal, civil_from_ymd(2026, 12, 28)));
	assert_false(cal_is_business_day(cal, civil_from_ymd(2026, 12, 29)));
	assert_false(cal_is_business_day(cal, civil_from_ymd(2027, 1, 1)));
	assert_false(cal_is_business_day(cal, civil_from_ymd(2027, 1, 3)));
	assert_true(cal_is_business_day(cal, civil_from_ymd(2027, 1, 4)));
	cal_free(cal);
	assert_int_equal(rules_build_calendar(r, "Mars/Olympus", &cal, &err),
			 TDK_EINVAL);
	rules_free(r);
}

static void overrides_reach_the_calendar(void **state)
{
	g_autofree char *text = shipped_text();
	g_autofree char *path = g_strdup("/tmp/todoke-rules-XXXXXX");
	GString *changed = g_string_new(text);
	const struct rules *r = NULL;
	struct cal *cal = NULL;
	struct cal_day_info info;
	tdk_err err;
	int fd;

	g_string_replace(changed, "closure_dates = ( );",
			 "closure_dates = ( { date = \"2026-11-24\"; name_ja = \"臨時休業\"; name_en = \"Office closed\"; } );",
			 1);
	g_string_replace(changed, "holidays_add = ( );",
			 "holidays_add = ( { date = \"2026-11-25\"; name_ja = \"新しい祝日\"; name_en = \"New holiday\"; } );",
			 1);
	g_string_replace(changed, "holidays_remove = [ ];",
			 "holidays_remove = [ \"2026-11-23\" ];", 1);
	fd = g_mkstemp(path);
	assert_int_equal(write(fd, changed->str, changed->len), (ssize_t)changed->len);
	close(fd);
	g_string_free(changed, TRUE);

	if (rules_load(path, &r, &err) != TDK_OK)
		fail_msg("%s", err.text);
	unlink(path);
	assert_int_equal(rules_build_calendar(r, "Asia/Tokyo", &cal, &err), TDK_OK);
	/* 2026-11-23 (Mon) 勤労感謝の日 removed: a business day again */
	assert_true(cal_is_business_day(cal, civil_from_ymd(2026, 11, 23)));
	assert_int_equal(cal_day_info(cal, civil_from_ymd(2026, 11, 24), &info), TDK_OK);
	assert_int_equal(info.reason, CAL_CLOSURE);
	assert_string_equal(info.name_en, "Office closed");
	assert_int_equal(cal_day_info(cal, civil_from_ymd(2026, 11, 25), &info), TDK_OK);
	assert_int_equal(info.reason, CAL_HOLIDAY);
	assert_string_equal(info.name_ja, "新しい祝日");
	cal_free(cal);
	rules_free(r);
}

static void malformed_rules_are_refused_with_file_and_line(void **state)
{
	expect_refusal("fix = \"3M\";", "fix = \"3Q\";", TDK_ESYNTAX,
		       "setting 'web.fix'");
	expect_refusal("investigation = \"20bd\";", "investigation = \"0bd\";",
		       TDK_ESYNTAX, "setting 'web.investigation'");
	expect_refusal("interval = \"10bd\";", "interval = \"-10bd\";",
		       TDK_ESYNTAX, "setting 'contact.interval'");
	expect_refusal("attempts = 3;", "attempts = 0;", TDK_ERANGE,
		       "setting 'contact.attempts' is 0, must be between 1 and 10");
	expect_refusal("attempts = 3;", "attempts = \"3\";", TDK_EINVAL,
		       "must be an integer");
	expect_refusal("postal_attempt = 2;", "postal_attempt = 5;", TDK_ERANGE,
		       "only 3 attempts");
	expect_refusal("auto_close = false;", "auto_close = false; autoclose = true;",
		       TDK_ENOENT, "unknown setting 'web.autoclose'");
	expect_refusal("{ from = \"12-29\";", "{ from = \"12-32\";", TDK_ESYNTAX,
		       "\"12-32\" must be a month and day");
	expect_refusal("holidays_remove = [ ];", "holidays_remove = [ \"2026-02-30\" ];",
		       TDK_ERANGE, "date \"2026-02-30\"");
	expect_refusal("holidays_remove = [ ];", "holidays_remove = [ \"2100-01-01\" ];",
		       TDK_ERANGE, "within 1955-2099");
	expect_refusal("closure_dates = ( );",
		       "closure_dates = ( { day = \"2026-01-05\"; } );", TDK_ENOENT,
		       "unknown setting 'day' in an item of 'calendar.closure_dates'");
	expect_refusal("{ code = \"e\"; mark = \"(オ)\";",
		       "{ code = \"d\"; mark = \"(オ)\";", TDK_EEXIST,
		       "reason code \"d\" appears twice");
	expect_refusal("{ code = \"declined\"; kinds = [ \"web\" ];",
		       "{ code = \"declined\"; kinds = [ \"mobile\" ];", TDK_EINVAL,
		       "'kinds' may hold only");
	expect_refusal("{ code = \"expired\";", "{ code = \"fixed\";", TDK_EEXIST,
		       "outcome \"fixed\" appears twice");
}

static void policy_settings_are_checked(void **state)
{
	expect_refusal("auto_stage2 = \"domain\";", "auto_stage2 = \"always\";",
		       TDK_EINVAL,
		       "setting 'contact.auto_stage2' is \"always\", must be one of: domain, never");
	expect_refusal("auto_stage2 = \"domain\";", "auto_stage2 = true;",
		       TDK_EINVAL, "setting 'contact.auto_stage2' must be a string");
	expect_refusal("nondisclosure_withdrawal = \"1y\";",
		       "nondisclosure_withdrawal = \"1 year\";", TDK_ESYNTAX,
		       "setting 'product.nondisclosure_withdrawal'");
	expect_refusal("nondisclosure_withdrawal = \"1y\";",
		       "nondisclosure_withdrawal = \"0y\";", TDK_ESYNTAX,
		       "setting 'product.nondisclosure_withdrawal'");
	expect_refusal("time = \"09:00\";", "time = \"24:00\";", TDK_ERANGE,
		       "setting 'digest.time' is \"24:00\", must be between 00:00 and 23:59");
	expect_refusal("time = \"09:00\";", "time = \"09:60\";", TDK_ERANGE,
		       "must be between 00:00 and 23:59");
	expect_refusal("time = \"09:00\";", "time = \"9:00\";", TDK_ESYNTAX,
		       "setting 'digest.time' is \"9:00\", must be a local time HH:MM");
	expect_refusal("time = \"09:00\";", "time = \"09:00:00\";", TDK_ESYNTAX,
		       "must be a local time HH:MM");
	expect_refusal("time = \"09:00\";", "time = \"0a:00\";", TDK_ESYNTAX,
		       "must be a local time HH:MM");
	expect_refusal("time = \"09:00\";", "time = 900;", TDK_EINVAL,
		       "setting 'digest.time' must be a string");
	expect_refusal("recipient_daily_cap = 20;", "recipient_daily_cap = 0;",
		       TDK_ERANGE,
		       "setting 'limits.recipient_daily_cap' is 0, must be between 1 and 10000");
	expect_refusal("recipient_daily_cap = 20;", "recipient_daily_cap = 10001;",
		       TDK_ERANGE, "must be between 1 and 10000");
	expect_refusal("recipient_daily_cap = 20;", "recipient_daily_cap = 20; cap = 1;",
		       TDK_ENOENT, "unknown setting 'limits.cap'");

	expect_required("auto_stage2 = \"domain\";", "contact.auto_stage2");
	expect_required("nondisclosure_withdrawal = \"1y\";",
			"product.nondisclosure_withdrawal");
	expect_required("time = \"09:00\";", "digest.time");
	expect_required("recipient_daily_cap = 20;", "limits.recipient_daily_cap");
}

static void policy_settings_take_other_values(void **state)
{
	const struct rules *r;

	r = load_changed("auto_stage2 = \"domain\";", "auto_stage2 = \"never\";");
	assert_int_equal(r->contact.auto_stage2, RULE_AUTO_STAGE2_NEVER);
	rules_free(r);
	r = load_changed("time = \"09:00\";", "time = \"23:59\";");
	assert_int_equal(r->digest.minute_of_day, 23 * 60 + 59);
	rules_free(r);
	r = load_changed("time = \"09:00\";", "time = \"00:00\";");
	assert_int_equal(r->digest.minute_of_day, 0);
	rules_free(r);
	r = load_changed("nondisclosure_withdrawal = \"1y\";",
			 "nondisclosure_withdrawal = \"18M\";");
	assert_int_equal(r->product.nondisclosure_withdrawal.count, 18);
	assert_int_equal(r->product.nondisclosure_withdrawal.unit, CAL_MONTHS);
	rules_free(r);
	r = load_changed("recipient_daily_cap = 20;", "recipient_daily_cap = 10000;");
	assert_int_equal(r->limits.recipient_daily_cap, 10000);
	rules_free(r);
	r = load_changed("recipient_daily_cap = 20;", "recipient_daily_cap = 1;");
	assert_int_equal(r->limits.recipient_daily_cap, 1);
	rules_free(r);
}

static void missing_section_and_file(void **state)
{
	const struct rules *r = NULL;
	tdk_err err;
	char path[] = "/tmp/todoke-rules-XXXXXX";
	const char *text = "web: { investigation = \"20bd\"; };\n";
	int fd = mkstemp(path);

	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(rules_load(path, &r, &err), TDK_ENOENT);
	assert_non_null(strstr(err.text, "required setting"));
	unlink(path);
	assert_int_equal(rules_load("/nonexistent/partnership.conf", &r, &err),
			 TDK_EIO);
	assert_int_equal(rules_load_dir("/nonexistent", &r, &err), TDK_EIO);
	assert_non_null(strstr(err.text, "/nonexistent/partnership.conf"));
	assert_null(r);
}

static void unreachable_table_is_checked(void **state)
{
	const char *row = "{ impact = \"normal\";   verifiable = false; propose = \"end\"; },";
	const char *list = "product = (";

	expect_refusal(row, "{ impact = \"high\"; verifiable = false; propose = \"end\"; },",
		       TDK_EINVAL,
		       "'impact' is \"high\", must be one of: priority, normal, simple");
	expect_refusal(row, "{ impact = 2; verifiable = false; propose = \"end\"; },",
		       TDK_EINVAL, "'impact' must be a string");
	expect_refusal(row, "{ impact = \"normal\"; verifiable = \"no\"; propose = \"end\"; },",
		       TDK_EINVAL, "'verifiable' must be true or false");
	expect_refusal(row, "{ impact = \"normal\"; verifiable = false; propose = \"close\"; },",
		       TDK_EINVAL,
		       "'propose' is \"close\", must be one of: committee, end");
	/* "staff" is only for unreachable.otherwise */
	expect_refusal(row, "{ impact = \"normal\"; verifiable = false; propose = \"staff\"; },",
		       TDK_EINVAL, "'propose' is \"staff\"");
	expect_refusal(row, "{ impact = \"normal\"; verifiable = false; },",
		       TDK_ENOENT, "item of 'unreachable.product' lacks 'propose'");
	expect_refusal(row, "{ impact = \"normal\"; verifiable = false; propose = \"end\"; note = \"x\"; },",
		       TDK_ENOENT,
		       "unknown setting 'note' in an item of 'unreachable.product'");
	expect_refusal(row, "\"normal\",", TDK_EINVAL,
		       "each item of 'unreachable.product' must be a group");
	/* a duplicate is named where it stands */
	expect_refusal(row, "{ impact = \"normal\"; verifiable = true; propose = \"end\"; },",
		       TDK_EEXIST,
		       "impact = \"normal\"; verifiable = true appears twice in 'unreachable.product'");
	/* a missing combination is named at the list */
	expect_refusal_at(row, "", TDK_ENOENT,
			  "'unreachable.product' lacks the row impact = \"normal\"; verifiable = false",
			  list);
	expect_refusal_at("{ impact = \"priority\"; verifiable = true;  propose = \"committee\"; },",
			  "", TDK_ENOENT,
			  "'unreachable.product' lacks the row impact = \"priority\"; verifiable = true",
			  list);
	{
		g_autofree char *text = shipped_text();
		const char *from = strstr(text, list);
		const char *to = strstr(from, "\n  );");
		g_autofree char *whole = g_strndup(from, (gsize)(to - from + 5));

		expect_refusal(whole, "product = ( );", TDK_EINVAL,
			       "'unreachable.product' may not be empty");
		expect_refusal(whole, "product = \"committee\";", TDK_EINVAL,
			       "setting 'unreachable.product' must be a list");
		expect_required(whole, "unreachable.product");
	}
	expect_refusal("otherwise = \"staff\";", "otherwise = \"ask\";", TDK_EINVAL,
		       "setting 'unreachable.otherwise' is \"ask\", must be one of: staff, committee, end");
	expect_required("otherwise = \"staff\";", "unreachable.otherwise");
}

static void unreachable_proposals(void **state)
{
	g_autofree char *path = shipped_path();
	const struct rules *r = NULL;
	tdk_err err;

	assert_int_equal(rules_load(path, &r, &err), TDK_OK);
	/* every cell of the product table */
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_PRIORITY, 1, true),
			 RULE_PROPOSE_COMMITTEE);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_PRIORITY, 0, true),
			 RULE_PROPOSE_COMMITTEE);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_NORMAL, 1, true),
			 RULE_PROPOSE_COMMITTEE);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_NORMAL, 0, true),
			 RULE_PROPOSE_END);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_SIMPLE, 1, true),
			 RULE_PROPOSE_END);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_SIMPLE, 0, true),
			 RULE_PROPOSE_END);
	/* unset impact, unset verifiability, both: staff decide */
	for (int v = -1; v <= 1; v++)
		assert_int_equal(rules_unreachable_proposal(r, 0, v, true),
				 RULE_PROPOSE_STAFF);
	for (int i = RULE_IMPACT_PRIORITY; i <= RULE_IMPACT_SIMPLE; i++) {
		assert_int_equal(rules_unreachable_proposal(r, i, -1, true),
				 RULE_PROPOSE_STAFF);
		/* web cases never use the table */
		assert_int_equal(rules_unreachable_proposal(r, i, 1, false),
				 RULE_PROPOSE_STAFF);
		assert_int_equal(rules_unreachable_proposal(r, i, 0, false),
				 RULE_PROPOSE_STAFF);
	}
	assert_int_equal(rules_unreachable_proposal(r, 0, -1, false),
			 RULE_PROPOSE_STAFF);
	/* values that are not an impact or a verifiability count as unset */
	assert_int_equal(rules_unreachable_proposal(r, 4, 1, true), RULE_PROPOSE_STAFF);
	assert_int_equal(rules_unreachable_proposal(r, -1, 1, true), RULE_PROPOSE_STAFF);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_NORMAL, 2, true),
			 RULE_PROPOSE_STAFF);
	rules_free(r);

	/* the table and the fallback are data */
	r = load_changed("{ impact = \"simple\";   verifiable = true;  propose = \"end\"; },",
			 "{ impact = \"simple\";   verifiable = true;  propose = \"committee\"; },");
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_SIMPLE, 1, true),
			 RULE_PROPOSE_COMMITTEE);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_SIMPLE, 0, true),
			 RULE_PROPOSE_END);
	rules_free(r);
	r = load_changed("otherwise = \"staff\";", "otherwise = \"end\";");
	assert_int_equal(rules_unreachable_proposal(r, 0, -1, true), RULE_PROPOSE_END);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_PRIORITY, 1, false),
			 RULE_PROPOSE_END);
	assert_int_equal(rules_unreachable_proposal(r, RULE_IMPACT_PRIORITY, 1, true),
			 RULE_PROPOSE_COMMITTEE);
	rules_free(r);
	r = load_changed("otherwise = \"staff\";", "otherwise = \"committee\";");
	assert_int_equal(r->unreachable_otherwise, RULE_PROPOSE_COMMITTEE);
	rules_free(r);
}

static void impact_and_proposal_names(void **state)
{
	assert_string_equal(rules_impact_name(RULE_IMPACT_PRIORITY), "priority");
	assert_string_equal(rules_impact_name(RULE_IMPACT_NORMAL), "normal");
	assert_string_equal(rules_impact_name(RULE_IMPACT_SIMPLE), "simple");
	assert_null(rules_impact_name(0));
	assert_null(rules_impact_name(4));
	assert_int_equal(rules_impact_from_name("priority"), RULE_IMPACT_PRIORITY);
	assert_int_equal(rules_impact_from_name("normal"), RULE_IMPACT_NORMAL);
	assert_int_equal(rules_impact_from_name("simple"), RULE_IMPACT_SIMPLE);
	assert_int_equal(rules_impact_from_name("Normal"), 0);
	assert_int_equal(rules_impact_from_name(""), 0);
	assert_int_equal(rules_impact_from_name(NULL), 0);
	assert_string_equal(rules_proposal_name(RULE_PROPOSE_STAFF), "staff");
	assert_string_equal(rules_proposal_name(RULE_PROPOSE_COMMITTEE), "committee");
	assert_string_equal(rules_proposal_name(RULE_PROPOSE_END), "end");
	assert_null(rules_proposal_name(0));
	assert_null(rules_proposal_name(4));
}

static void held_notices(void **state)
{
	static const char *const all[] = {
		"stage1", "stage2", "forward", "reminder", "unreachable",
		"completion", "ended", "published", "priority-provided",
		"acknowledgement", "acceptance", "non-acceptance",
	};
	const char *line = "hold_without_key = [ \"stage2\", \"forward\" ];";
	g_autofree char *path = shipped_path();
	GString *every = g_string_new("hold_without_key = [ ");
	const struct rules *r = NULL;
	tdk_err err;

	assert_int_equal(rules_load(path, &r, &err), TDK_OK);
	assert_true(rules_hold_without_key(r, "stage2"));
	assert_true(rules_hold_without_key(r, "forward"));
	assert_false(rules_hold_without_key(r, "stage1"));
	assert_false(rules_hold_without_key(r, "acknowledgement"));
	assert_false(rules_hold_without_key(r, "Stage2"));
	assert_false(rules_hold_without_key(r, ""));
	assert_false(rules_hold_without_key(r, NULL));
	rules_free(r);

	r = load_changed(line, "hold_without_key = [ ];");
	assert_null(r->notices.hold_without_key[0]);
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		assert_false(rules_hold_without_key(r, all[i]));
	rules_free(r);

	/* every name is allowed */
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		g_string_append_printf(every, "%s\"%s\"", i == 0 ? "" : ", ", all[i]);
	g_string_append(every, " ];");
	r = load_changed(line, every->str);
	g_string_free(every, TRUE);
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		assert_true(rules_hold_without_key(r, all[i]));
	assert_null(r->notices.hold_without_key[sizeof all / sizeof all[0]]);
	rules_free(r);

	r = load_changed(line, "hold_without_key = ( \"published\" );");
	assert_true(rules_hold_without_key(r, "published"));
	assert_false(rules_hold_without_key(r, "stage2"));
	rules_free(r);

	expect_refusal(line, "hold_without_key = [ \"stage2\", \"details\" ];",
		       TDK_EINVAL,
		       "unknown notice \"details\" in 'notices.hold_without_key', must be one of: stage1, stage2,");
	expect_refusal(line, "hold_without_key = [ \"stage2\", \"Forward\" ];",
		       TDK_EINVAL, "unknown notice \"Forward\"");
	expect_refusal(line, "hold_without_key = [ \"stage2\", \"stage2\" ];",
		       TDK_EEXIST,
		       "notice \"stage2\" appears twice in 'notices.hold_without_key'");
	expect_refusal(line, "hold_without_key = ( \"stage2\", 2 );", TDK_EINVAL,
		       "'notices.hold_without_key' holds notice names as strings");
	expect_refusal(line, "hold_without_key = \"stage2\";", TDK_EINVAL,
		       "setting 'notices.hold_without_key' must be a list");
	expect_refusal(line, "hold_without_key = [ \"stage2\" ]; hold = [ ];",
		       TDK_ENOENT, "unknown setting 'notices.hold'");
	expect_required(line, "notices.hold_without_key");
}

static void iso_2022_jp_audiences(void **state)
{
	const char *line = "iso_2022_jp = [ ];";
	g_autofree char *path = shipped_path();
	const struct rules *r = NULL;
	tdk_err err;

	assert_int_equal(rules_load(path, &r, &err), TDK_OK);
	assert_false(rules_iso_2022_jp(r, "operator"));
	assert_false(rules_iso_2022_jp(r, "discoverer"));
	rules_free(r);

	r = load_changed(line, "iso_2022_jp = [ \"operator\", \"developer\" ];");
	assert_true(rules_iso_2022_jp(r, "operator"));
	assert_true(rules_iso_2022_jp(r, "developer"));
	assert_false(rules_iso_2022_jp(r, "discoverer"));
	assert_false(rules_iso_2022_jp(r, "staff"));
	assert_false(rules_iso_2022_jp(r, "Operator"));
	assert_false(rules_iso_2022_jp(r, NULL));
	rules_free(r);

	r = load_changed(line, "iso_2022_jp = [ \"discoverer\", \"operator\", "
			       "\"developer\", \"coordinator\", \"staff\" ];");
	assert_true(rules_iso_2022_jp(r, "coordinator"));
	assert_true(rules_iso_2022_jp(r, "staff"));
	assert_null(r->notices.iso_2022_jp[5]);
	rules_free(r);

	/* optional: a rules file without it names no audience */
	r = load_changed(line, "");
	assert_null(r->notices.iso_2022_jp[0]);
	assert_false(rules_iso_2022_jp(r, "operator"));
	rules_free(r);

	expect_refusal(line, "iso_2022_jp = [ \"operator\", \"site\" ];", TDK_EINVAL,
		       "unknown audience \"site\" in 'notices.iso_2022_jp', must be one of: "
		       "discoverer, operator, developer, coordinator, staff");
	expect_refusal(line, "iso_2022_jp = [ \"operator\", \"operator\" ];", TDK_EEXIST,
		       "audience \"operator\" appears twice in 'notices.iso_2022_jp'");
	expect_refusal(line, "iso_2022_jp = [ 1 ];", TDK_EINVAL,
		       "'notices.iso_2022_jp' holds audience names as strings");
	expect_refusal(line, "iso_2022_jp = \"operator\";", TDK_EINVAL,
		       "setting 'notices.iso_2022_jp' must be a list");
}

static void domain_relation(void **state)
{
	/* equal, ignoring case and a trailing dot */
	assert_true(rules_domain_related("example.co.jp", "example.co.jp"));
	assert_true(rules_domain_related("Example.CO.jp", "example.co.JP."));
	assert_true(rules_domain_related("example.com", "example.com"));
	/* a subdomain, either way round */
	assert_true(rules_domain_related("www.example.co.jp", "example.co.jp"));
	assert_true(rules_domain_related("example.co.jp", "www.example.co.jp"));
	assert_true(rules_domain_related("a.b.example.com", "example.com"));
	assert_true(rules_domain_related("mail.example.jp", "EXAMPLE.JP"));
	assert_true(rules_domain_related("www.example.co.uk", "example.co.uk"));
	assert_true(rules_domain_related("www.city.example.lg.jp",
					 "city.example.lg.jp"));
	/* siblings are not related: neither is a suffix of the other */
	assert_false(rules_domain_related("www.example.co.jp", "mail.example.co.jp"));
	/* only at a dot */
	assert_false(rules_domain_related("badexample.co.jp", "example.co.jp"));
	assert_false(rules_domain_related("example.co.jp", "badexample.co.jp"));
	assert_false(rules_domain_related("xexample.com", "example.com"));
	assert_false(rules_domain_related("example.com", "example.org"));
	assert_false(rules_domain_related("example.co.jp", "example.ne.jp"));
	/* never through a public suffix */
	assert_false(rules_domain_related("co.jp", "co.jp"));
	assert_false(rules_domain_related("example.co.jp", "co.jp"));
	assert_false(rules_domain_related("co.jp", "other.co.jp"));
	assert_false(rules_domain_related("www.example.ne.jp", "NE.JP"));
	static const char *const second_levels[] = {
		"co", "ne", "or", "ac", "go", "ed", "gr", "lg", "ad",
		"com", "net", "org", "gov", "edu",
	};
	for (size_t i = 0; i < sizeof second_levels / sizeof second_levels[0]; i++) {
		g_autofree char *suffix = g_strdup_printf("%s.jp", second_levels[i]);
		g_autofree char *uk = g_strdup_printf("%s.uk", second_levels[i]);
		g_autofree char *site = g_strdup_printf("example.%s.jp",
							 second_levels[i]);
		g_autofree char *www = g_strdup_printf("www.example.%s.jp",
							second_levels[i]);

		assert_false(rules_domain_related(site, suffix));
		assert_false(rules_domain_related(suffix, suffix));
		assert_false(rules_domain_related(uk, uk));
		assert_true(rules_domain_related(www, site));
	}
	assert_false(rules_domain_related("com.au", "example.com.au"));
	assert_true(rules_domain_related("www.example.com.au", "example.com.au"));
	/* the second-level rule applies only under a two-letter code */
	assert_true(rules_domain_related("www.co.com", "co.com"));
	assert_true(rules_domain_related("www.example.jp", "example.jp"));
	/* a single label or a bare top-level domain relates to nothing */
	assert_false(rules_domain_related("jp", "jp"));
	assert_false(rules_domain_related("example.jp", "jp"));
	assert_false(rules_domain_related("localhost", "localhost"));
	assert_false(rules_domain_related("www.example.com", "com"));
	/* IPv4 addresses only when equal */
	assert_true(rules_domain_related("192.0.2.1", "192.0.2.1"));
	assert_false(rules_domain_related("192.0.2.1", "0.2.1"));
	assert_false(rules_domain_related("10.192.0.2.1", "192.0.2.1"));
	assert_false(rules_domain_related("192.0.2.1", "example.com"));
	/* malformed */
	assert_false(rules_domain_related(NULL, "example.com"));
	assert_false(rules_domain_related("example.com", NULL));
	assert_false(rules_domain_related("", ""));
	assert_false(rules_domain_related(".", "."));
	assert_false(rules_domain_related("www..example.com", "example.com"));
	assert_false(rules_domain_related(".example.com", "example.com"));
	assert_false(rules_domain_related("example.com..", "example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_rules_hold_the_desk_defaults),
		cmocka_unit_test(calendar_from_rules_closes_year_end),
		cmocka_unit_test(overrides_reach_the_calendar),
		cmocka_unit_test(malformed_rules_are_refused_with_file_and_line),
		cmocka_unit_test(missing_section_and_file),
		cmocka_unit_test(policy_settings_are_checked),
		cmocka_unit_test(policy_settings_take_other_values),
		cmocka_unit_test(unreachable_table_is_checked),
		cmocka_unit_test(unreachable_proposals),
		cmocka_unit_test(impact_and_proposal_names),
		cmocka_unit_test(held_notices),
		cmocka_unit_test(iso_2022_jp_audiences),
		cmocka_unit_test(domain_relation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
