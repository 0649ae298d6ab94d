/*
 * ctl_calendar.c - `todokectl calendar ...`: the desk calendar for people
 * and scripts.
 *
 * Owns: the calendar subcommands (holidays, is-business-day,
 * next-business-day, add, between), their plain-text and JSON output, and
 * their input checks. The calendar is the rules' calendar in the
 * configured time zone.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "cli.h"
#include "json_print.h"
#include "ctl.h"
#include "rules.h"

struct calendar_cmd {
	const struct ctl_env *env;
	struct cal *cal;
	bool json;
};

static int parse_day(const struct calendar_cmd *c, const char *text,
		     civil_day *out)
{
	struct cal_day_info info;
	int rc = civil_parse(text, out);

	if (rc == TDK_OK)
		rc = cal_day_info(c->cal, *out, &info);
	if (rc == TDK_ESYNTAX)
		return ctl_usage_error(c->env, "'%s' is not a date (YYYY-MM-DD)", text);
	if (rc != TDK_OK)
		return ctl_usage_error(c->env, "'%s' is outside the calendar (%d-%d)",
				       text, CAL_FIRST_YEAR, CAL_LAST_YEAR);
	return 0;
}

static const char *reason_word(enum cal_reason reason)
{
	switch (reason) {
	case CAL_BUSINESS: return "business day";
	case CAL_WEEKEND: return "weekend";
	case CAL_HOLIDAY: return "holiday";
	case CAL_CLOSURE: return "office closure";
	}
	return "?";
}

static int cmd_holidays(const struct calendar_cmd *c, int argc, char **argv)
{
	struct cal_named_day days[128];
	size_t count;
	char *end;
	long year;
	char date[11];

	if (argc != 2)
		return ctl_usage_error(c->env, "usage: calendar holidays YEAR [--json]");
	year = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || year < CAL_FIRST_YEAR ||
	    year > CAL_LAST_YEAR)
		return ctl_usage_error(c->env, "year '%s' must be %d-%d", argv[1],
				       CAL_FIRST_YEAR, CAL_LAST_YEAR);
	if (cal_year_holidays(c->cal, (int)year, days, 128, &count) != TDK_OK)
		return ctl_usage_error(c->env, "cannot list holidays of %ld", year);
	if (c->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();

		json_builder_begin_array(b);
		for (size_t i = 0; i < count; i++) {
			struct cal_day_info info;

			cal_day_info(c->cal, days[i].day, &info);
			civil_format(days[i].day, date);
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "date");
			json_builder_add_string_value(b, date);
			json_builder_set_member_name(b, "kind");
			json_builder_add_string_value(b, reason_word(info.reason));
			json_builder_set_member_name(b, "name_ja");
			json_builder_add_string_value(b, days[i].name_ja);
			json_builder_set_member_name(b, "name_en");
			json_builder_add_string_value(b, days[i].name_en);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		json_print_builder(b);
		return 0;
	}
	for (size_t i = 0; i < count; i++) {
		civil_format(days[i].day, date);
		printf("%s\t%s\t%s\n", date, days[i].name_ja, days[i].name_en);
	}
	return 0;
}

static int cmd_is_business_day(const struct calendar_cmd *c, int argc,
			       char **argv)
{
	struct cal_day_info info;
	civil_day day;
	int rc;

	if (argc != 2)
		return ctl_usage_error(c->env,
				       "usage: calendar is-business-day DATE [--json]");
	rc = parse_day(c, argv[1], &day);
	if (rc != 0)
		return rc;
	cal_day_info(c->cal, day, &info);
	if (c->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "date");
		json_builder_add_string_value(b, argv[1]);
		json_builder_set_member_name(b, "business_day");
		json_builder_add_boolean_value(b, info.reason == CAL_BUSINESS);
		json_builder_set_member_name(b, "reason");
		json_builder_add_string_value(b, reason_word(info.reason));
		if (info.name_ja != NULL) {
			json_builder_set_member_name(b, "name_ja");
			json_builder_add_string_value(b, info.name_ja);
			json_builder_set_member_name(b, "name_en");
			json_builder_add_string_value(b, info.name_en);
		}
		json_builder_end_object(b);
		json_print_builder(b);
	} else if (info.reason == CAL_BUSINESS) {
		printf("yes\n");
	} else if (info.name_ja != NULL) {
		printf("no\t%s\t%s\t%s\n", reason_word(info.reason), info.name_ja,
		       info.name_en);
	} else {
		printf("no\t%s\n", reason_word(info.reason));
	}
	return info.reason == CAL_BUSINESS ? EXIT_YES : EXIT_NO;
}

static int cmd_next_business_day(const struct calendar_cmd *c, int argc,
				 char **argv)
{
	civil_day day, next;
	char date[11];
	int rc;

	if (argc != 2)
		return ctl_usage_error(c->env,
				       "usage: calendar next-business-day DATE [--json]");
	rc = parse_day(c, argv[1], &day);
	if (rc != 0)
		return rc;
	if (cal_next_business_day(c->cal, day, &next) != TDK_OK)
		return ctl_usage_error(c->env, "no business day after %s within %d",
				       argv[1], CAL_LAST_YEAR);
	civil_format(next, date);
	if (c->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "after");
		json_builder_add_string_value(b, argv[1]);
		json_builder_set_member_name(b, "next_business_day");
		json_builder_add_string_value(b, date);
		json_builder_end_object(b);
		json_print_builder(b);
	} else {
		printf("%s\n", date);
	}
	return 0;
}

static int cmd_add(const struct calendar_cmd *c, int argc, char **argv)
{
	struct cal_period period;
	char deadline_text[CAL_INSTANT_LEN], start_text[CAL_INSTANT_LEN];
	int64_t start, deadline;
	tdk_err err;
	int rc;

	if (argc != 3)
		return ctl_usage_error(c->env,
				       "usage: calendar add INSTANT PERIOD [--json]");
	if (cal_parse_instant(argv[1], &start, &err) != TDK_OK)
		return ctl_usage_error(c->env, "%s", err.text);
	if (cal_period_parse(argv[2], &period, &err) != TDK_OK)
		return ctl_usage_error(c->env, "%s", err.text);
	rc = cal_add(c->cal, start, period, &deadline);
	if (rc == TDK_OK)
		rc = cal_format_instant(c->cal, start, start_text, sizeof start_text);
	if (rc == TDK_OK)
		rc = cal_format_instant(c->cal, deadline, deadline_text,
					sizeof deadline_text);
	if (rc != TDK_OK)
		return ctl_usage_error(c->env, "%s + %s is outside the calendar (%d-%d)",
				       argv[1], argv[2], CAL_FIRST_YEAR, CAL_LAST_YEAR);
	if (c->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "start");
		json_builder_add_string_value(b, start_text);
		json_builder_set_member_name(b, "period");
		json_builder_add_string_value(b, argv[2]);
		json_builder_set_member_name(b, "deadline");
		json_builder_add_string_value(b, deadline_text);
		json_builder_set_member_name(b, "deadline_utc");
		json_builder_add_int_value(b, deadline);
		json_builder_end_object(b);
		json_print_builder(b);
	} else {
		printf("%s\n", deadline_text);
	}
	return 0;
}

static int cmd_between(const struct calendar_cmd *c, int argc, char **argv)
{
	civil_day from, to;
	int count, rc;

	if (argc != 3)
		return ctl_usage_error(c->env,
				       "usage: calendar between DATE DATE [--json]");
	rc = parse_day(c, argv[1], &from);
	if (rc == 0)
		rc = parse_day(c, argv[2], &to);
	if (rc != 0)
		return rc;
	if (cal_business_days_between(c->cal, from, to, &count) != TDK_OK)
		return ctl_usage_error(c->env, "%s is after %s", argv[1], argv[2]);
	if (c->json) {
		g_autoptr(JsonBuilder) b = json_builder_new();

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "from");
		json_builder_add_string_value(b, argv[1]);
		json_builder_set_member_name(b, "to");
		json_builder_add_string_value(b, argv[2]);
		json_builder_set_member_name(b, "business_days");
		json_builder_add_int_value(b, count);
		json_builder_end_object(b);
		json_print_builder(b);
	} else {
		printf("%d\n", count);
	}
	return 0;
}

static const struct {
	const char *name;
	int (*run)(const struct calendar_cmd *c, int argc, char **argv);
} calendar_commands[] = {
	{ "holidays", cmd_holidays },
	{ "is-business-day", cmd_is_business_day },
	{ "next-business-day", cmd_next_business_day },
	{ "add", cmd_add },
	{ "between", cmd_between },
};

int ctl_calendar(const struct ctl_env *env, int argc, char **argv)
{
	struct calendar_cmd c = { .env = env };
	const struct rules *rules = NULL;
	tdk_err err;
	int rc = EXIT_USAGE;

	c.json = ctl_take_flag(&argc, argv, "--json");
	if (argc < 2)
		return ctl_usage_error(env, "usage: calendar holidays|is-business-day|"
					    "next-business-day|add|between ...");
	for (size_t i = 0; i < sizeof calendar_commands / sizeof calendar_commands[0]; i++) {
		if (strcmp(argv[1], calendar_commands[i].name) != 0)
			continue;
		if (rules_load_dir(env->config->rules_dir, &rules, &err) != TDK_OK ||
		    rules_build_calendar(rules, env->config->calendar_timezone,
					 &c.cal, &err) != TDK_OK) {
			rc = ctl_usage_error(env, "%s", err.text);
		} else {
			rc = calendar_commands[i].run(&c, argc - 1, argv + 1);
		}
		cal_free(c.cal);
		rules_free(rules);
		return rc;
	}
	return ctl_usage_error(env, "unknown calendar command '%s'", argv[1]);
}
