/*
 * test_conf.c - the configuration engine and todoke's settings table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

/* Writes text to a fresh temporary file and returns its path (static). */
static const char *write_temp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof path, "/tmp/todoke-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Loads text as a todoke configuration; returns the status. */
static int load_text(const char *text, tdk_err *err,
		     const struct tdk_config **out)
{
	const char *path = write_temp(text);
	const struct tdk_config *config = NULL;
	int rc = conf_load(path, NULL, 0, &config, err);

	if (out != NULL)
		*out = config;
	else
		conf_free(config);
	unlink(path);
	return rc;
}

static void defaults_without_file(void **state)
{
	const struct tdk_config *config = NULL;
	tdk_err err;

	assert_int_equal(conf_load(NULL, NULL, 0, &config, &err), TDK_OK);
	assert_null(config->source);
	assert_string_equal(config->log_facility, "mail");
	assert_string_equal(config->log_level, "info");
	assert_string_equal(config->calendar_timezone, "Asia/Tokyo");
	conf_free(config);
}

static void file_values_are_read(void **state)
{
	const struct tdk_config *config = NULL;
	tdk_err err;

	assert_int_equal(load_text("log: { level = \"debug\"; };\n"
				   "calendar: { timezone = \"UTC\"; };\n",
				   &err, &config),
			 TDK_OK);
	assert_string_equal(config->log_level, "debug");
	assert_string_equal(config->calendar_timezone, "UTC");
	assert_string_equal(config->log_facility, "mail");
	conf_free(config);
}

static void unknown_key_names_file_and_line(void **state)
{
	tdk_err err;
	char expected[128];
	const char *path = write_temp("log: {\n  level = \"info\";\n"
				      "  colour = \"red\";\n};\n");
	const struct tdk_config *config = NULL;

	assert_int_equal(conf_load(path, NULL, 0, &config, &err), TDK_ENOENT);
	snprintf(expected, sizeof expected,
		 "%s:3: unknown setting 'log.colour'", path);
	assert_string_equal(err.text, expected);
	assert_null(config);
	unlink(path);
}

static void unknown_group_is_refused(void **state)
{
	tdk_err err;

	assert_int_equal(load_text("\n\nmystery: { a = 1; };\n", &err, NULL),
			 TDK_ENOENT);
	assert_non_null(strstr(err.text, ":3: unknown setting 'mystery'"));
}

static void wrong_type_names_file_and_line(void **state)
{
	tdk_err err;

	assert_int_equal(load_text("calendar: {\n  timezone = 9;\n};\n", &err,
				   NULL),
			 TDK_EINVAL);
	assert_non_null(strstr(err.text,
			       ":2: setting 'calendar.timezone' must be a string"));
}

static void group_given_as_scalar_is_refused(void **state)
{
	tdk_err err;

	assert_int_equal(load_text("log = \"mail\";\n", &err, NULL), TDK_EINVAL);
	assert_non_null(strstr(err.text, ":1: 'log' must be a group"));
}

static void enum_value_outside_choices(void **state)
{
	tdk_err err;

	assert_int_equal(load_text("log: { facility = \"kern\"; };\n", &err,
				   NULL),
			 TDK_EINVAL);
	assert_non_null(strstr(err.text, ":1: setting 'log.facility' is \"kern\""));
	assert_non_null(strstr(err.text, "mail, daemon"));
}

static void syntax_error_names_line(void **state)
{
	tdk_err err;

	assert_int_equal(load_text("log: {\n level = ;\n};\n", &err, NULL),
			 TDK_ESYNTAX);
	assert_non_null(strstr(err.text, ":2: "));
}

static void missing_file_is_io_error(void **state)
{
	const struct tdk_config *config = NULL;
	tdk_err err;

	assert_int_equal(conf_load("/nonexistent/todoke.conf", NULL, 0, &config,
				   &err),
			 TDK_EIO);
	assert_non_null(strstr(err.text, "/nonexistent/todoke.conf: cannot read"));
}

static void overrides_apply_after_file(void **state)
{
	const char *overrides[] = { "log.level=error",
				    "calendar.timezone=Europe/Paris" };
	const struct tdk_config *config = NULL;
	tdk_err err;

	assert_int_equal(conf_load(NULL, overrides, 2, &config, &err), TDK_OK);
	assert_string_equal(config->log_level, "error");
	assert_string_equal(config->calendar_timezone, "Europe/Paris");
	conf_free(config);
}

static void bad_overrides_are_refused(void **state)
{
	const char *unknown[] = { "log.volume=11" };
	const char *no_equals[] = { "log.level" };
	const char *bad_choice[] = { "log.level=loud" };
	const struct tdk_config *config = NULL;
	tdk_err err;

	assert_int_equal(conf_load(NULL, unknown, 1, &config, &err), TDK_ENOENT);
	assert_string_equal(err.text,
			    "-o log.volume=11: unknown setting 'log.volume'");
	assert_int_equal(conf_load(NULL, no_equals, 1, &config, &err),
			 TDK_ESYNTAX);
	assert_int_equal(conf_load(NULL, bad_choice, 1, &config, &err),
			 TDK_EINVAL);
	assert_null(config);
}

/* A private table exercises types the todoke table does not use yet. */
struct sample {
	bool flag;
	long long count;
	char *name;
};

static const struct conf_spec sample_table[] = {
	{ .path = "a.flag", .type = CONF_BOOL, .offset = offsetof(struct sample, flag),
	  .default_value = "false" },
	{ .path = "a.count", .type = CONF_INT, .offset = offsetof(struct sample, count),
	  .default_value = "5", .min = 1, .max = 10 },
	{ .path = "name", .type = CONF_STRING, .offset = offsetof(struct sample, name),
	  .required = true },
};

static int load_sample(const char *text, struct sample *out, tdk_err *err)
{
	config_t cfg;
	int rc;

	config_init(&cfg);
	memset(out, 0, sizeof *out);
	assert_int_equal(config_read_string(&cfg, text), CONFIG_TRUE);
	rc = conf_engine_load(sample_table, 3, out, &cfg, "sample.conf", NULL, 0,
			      err);
	config_destroy(&cfg);
	return rc;
}

static void bounds_and_required(void **state)
{
	struct sample s;
	tdk_err err;

	assert_int_equal(load_sample("name = \"x\";", &s, &err), TDK_OK);
	assert_int_equal(s.count, 5);
	assert_false(s.flag);
	conf_engine_release(sample_table, 3, &s);

	assert_int_equal(load_sample("name = \"x\";\na: { count = 10; flag = true; };",
				     &s, &err),
			 TDK_OK);
	assert_int_equal(s.count, 10);
	assert_true(s.flag);
	conf_engine_release(sample_table, 3, &s);

	assert_int_equal(load_sample("name = \"x\";\na: { count = 11; };", &s,
				     &err),
			 TDK_ERANGE);
	assert_string_equal(err.text, "sample.conf:2: setting 'a.count' is 11, "
				      "must be between 1 and 10");
	conf_engine_release(sample_table, 3, &s);

	assert_int_equal(load_sample("a: { count = 0; };", &s, &err), TDK_ERANGE);
	conf_engine_release(sample_table, 3, &s);

	assert_int_equal(load_sample("a: { count = 3; };", &s, &err), TDK_ENOENT);
	assert_string_equal(err.text,
			    "sample.conf: required setting 'name' is missing");
	conf_engine_release(sample_table, 3, &s);

	assert_int_equal(load_sample("name = \"x\";\na: { flag = \"yes\"; };", &s,
				     &err),
			 TDK_EINVAL);
	assert_non_null(strstr(err.text, "'a.flag' must be a boolean"));
	conf_engine_release(sample_table, 3, &s);

	assert_int_equal(load_sample("name = \"x\";\na: { count = 2.5; };", &s,
				     &err),
			 TDK_EINVAL);
	assert_non_null(strstr(err.text, "'a.count' must be an integer"));
	conf_engine_release(sample_table, 3, &s);
}

/* conf/todoke.conf documents every setting of the table and loads cleanly. */
static void example_file_lists_every_setting(void **state)
{
	const char *srcdir = getenv("TOP_SRCDIR");
	char path[1024];
	const struct conf_spec *table;
	const struct tdk_config *config = NULL;
	size_t n;
	config_t cfg;
	tdk_err err;

	snprintf(path, sizeof path, "%s/conf/todoke.conf",
		 srcdir != NULL ? srcdir : ".");
	config_init(&cfg);
	assert_int_equal(conf_read_file(&cfg, path, &err), TDK_OK);
	table = conf_table(&n);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		if (config_lookup(&cfg, table[i].path) == NULL)
			fail_msg("%s does not document setting '%s'", path,
				 table[i].path);
	}
	config_destroy(&cfg);
	assert_int_equal(conf_load(path, NULL, 0, &config, &err), TDK_OK);
	conf_free(config);
}

/* ------------------------------------------------------- staff group */

static void staff_defaults(void **state)
{
	const struct tdk_config *config = NULL;
	tdk_err err;

	assert_int_equal(conf_load(NULL, NULL, 0, &config, &err), TDK_OK);
	assert_int_equal(config->n_staff_keys, 0);
	assert_int_equal(config->n_staff_lead_only, 4);
	assert_true(conf_staff_lead_only(config, "close"));
	assert_true(conf_staff_lead_only(config, "HOLD"));
	assert_true(conf_staff_lead_only(config, "release"));
	assert_true(conf_staff_lead_only(config, "reopen"));
	assert_false(conf_staff_lead_only(config, "note"));
	assert_int_equal(config->staff_window_past, 259200);
	assert_int_equal(config->staff_window_future, 300);
	assert_string_equal(config->staff_subject_case, "signed");
	assert_null(conf_staff_find(config, "81291E614864BD4B40862A479F3A85E79FA9BE53"));
	conf_free(config);
}

static void staff_keys_are_read(void **state)
{
	const struct tdk_config *config = NULL;
	const struct conf_spec *table;
	char buf[1024];
	size_t n;
	tdk_err err;

	assert_int_equal(load_text(
		"staff: {\n"
		"  keys = (\n"
		"    { fingerprint = \"8129 1e61 4864 BD4B 4086  2A47 9F3A 85E7 9FA9 BE53\";\n"
		"      address = \"alice@desk.example\"; role = \"lead\"; },\n"
		"    { fingerprint = \"42453D90E7541B863E94EC88D2416F570C99570C\";\n"
		"      address = \"bob@desk.example\"; }\n"
		"  );\n"
		"  lead_only = [ \"close\", \"send\" ];\n"
		"};\n", &err, &config),
		TDK_OK);
	assert_int_equal(config->n_staff_keys, 2);
	assert_string_equal(config->staff_keys[0].fingerprint,
			    "81291E614864BD4B40862A479F3A85E79FA9BE53");
	assert_int_equal(config->staff_keys[0].role, TDK_STAFF_ROLE_LEAD);
	assert_int_equal(config->staff_keys[1].role, TDK_STAFF_ROLE_STAFF);
	assert_ptr_equal(conf_staff_find(config, "81291e614864bd4b40862a479f3a85e79fa9be53"),
			 &config->staff_keys[0]);
	assert_ptr_equal(conf_staff_find(config, "4245 3D90 E754 1B86 3E94 EC88 D241 6F57 0C99 570C"),
			 &config->staff_keys[1]);
	/* A key ID or a prefix is not the key. */
	assert_null(conf_staff_find(config, "9F3A85E79FA9BE53"));
	assert_null(conf_staff_find(config, "81291E614864BD4B40862A479F3A85E79FA9BE5"));
	assert_null(conf_staff_find(config, NULL));
	assert_true(conf_staff_lead_only(config, "send"));
	assert_false(conf_staff_lead_only(config, "hold"));
	table = conf_table(&n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(table[i].path, "staff.keys") == 0) {
			conf_format(config, &table[i], buf, sizeof buf);
			assert_string_equal(buf,
				"( { fingerprint = \"81291E614864BD4B40862A479F3A85E79FA9BE53\"; "
				"address = \"alice@desk.example\"; role = \"lead\"; }, "
				"{ fingerprint = \"42453D90E7541B863E94EC88D2416F570C99570C\"; "
				"address = \"bob@desk.example\"; role = \"staff\"; } )");
		} else if (strcmp(table[i].path, "staff.lead_only") == 0) {
			conf_format(config, &table[i], buf, sizeof buf);
			assert_string_equal(buf, "[ \"close\", \"send\" ]");
		}
	}
	conf_free(config);
}

static void staff_mistakes_name_the_line(void **state)
{
	static const struct {
		const char *text;
		int status;
		const char *message;
	} cases[] = {
		{ "staff: {\n keys = \"x\";\n};\n", TDK_EINVAL,
		  ":2: setting 'staff.keys' must be a list" },
		{ "staff: {\n keys = ( \"x\" );\n};\n", TDK_EINVAL,
		  ":2: each item of 'staff.keys' must be a group" },
		{ "staff: {\n keys = ( {\n address = \"a@b.example\"; } );\n};\n",
		  TDK_ENOENT, ":2: item of 'staff.keys' lacks 'fingerprint'" },
		{ "staff: {\n keys = ( { fingerprint = \"81291E614864BD4B40862A479F3A85E79FA9BE53\"; } );\n};\n",
		  TDK_ENOENT, ":2: item of 'staff.keys' lacks 'address'" },
		{ "staff: {\n keys = ( { fingerprint = \"9F3A85E79FA9BE53\"; address = \"a@b.example\"; } );\n};\n",
		  TDK_EINVAL, "fingerprint \"9F3A85E79FA9BE53\" must be 40 or 64 hex digits" },
		{ "staff: {\n keys = ( { fingerprint = \"81291E614864BD4B40862A479F3A85E79FA9BE53\"; address = \"alice\"; } );\n};\n",
		  TDK_EINVAL, "\"alice\" is not a mail address" },
		{ "staff: {\n keys = ( { fingerprint = \"81291E614864BD4B40862A479F3A85E79FA9BE53\"; address = \"a@b.example\"; role = \"boss\"; } );\n};\n",
		  TDK_EINVAL, "role is \"boss\", must be one of: staff, lead" },
		{ "staff: {\n keys = ( { fingerprint = \"81291E614864BD4B40862A479F3A85E79FA9BE53\"; address = \"a@b.example\";\n colour = \"red\"; } );\n};\n",
		  TDK_ENOENT, ":3: unknown setting 'colour' in an item of 'staff.keys'" },
		{ "staff: {\n keys = ( { fingerprint = \"81291E614864BD4B40862A479F3A85E79FA9BE53\"; address = \"a@b.example\"; },\n"
		  " { fingerprint = \"81291e614864bd4b40862a479f3a85e79fa9be53\"; address = \"c@b.example\"; } );\n};\n",
		  TDK_EEXIST, ":3: staff.keys: key 81291E614864BD4B40862A479F3A85E79FA9BE53 is listed twice" },
		{ "staff: {\n lead_only = [ \"close\",\n \"shut\" ];\n};\n", TDK_EINVAL,
		  ":3: staff.lead_only: \"shut\" is not a command verb" },
		{ "staff: {\n subject_case = \"maybe\";\n};\n", TDK_EINVAL,
		  ":2: setting 'staff.subject_case' is \"maybe\", must be one of: signed, any" },
		{ "staff: {\n signature_window_past = 10;\n};\n", TDK_ERANGE,
		  ":2: setting 'staff.signature_window_past' is 10, must be between 60 and 2592000" },
		{ "staff: {\n transcripts_per_hour = 0;\n};\n", TDK_ERANGE,
		  ":2: setting 'staff.transcripts_per_hour' is 0, must be between 1 and 10000" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tdk_err err;

		assert_int_equal(load_text(cases[i].text, &err, NULL), cases[i].status);
		if (strstr(err.text, cases[i].message) == NULL)
			fail_msg("case %zu: '%s' does not contain '%s'", i, err.text,
				 cases[i].message);
	}
}

static void staff_lists_cannot_be_overridden(void **state)
{
	const char *const over[] = { "staff.keys=()" };
	const struct tdk_config *config = NULL;
	tdk_err err;

	assert_int_equal(conf_load(NULL, over, 1, &config, &err), TDK_EINVAL);
	assert_non_null(strstr(err.text, "cannot be given on the command line"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_without_file),
		cmocka_unit_test(file_values_are_read),
		cmocka_unit_test(unknown_key_names_file_and_line),
		cmocka_unit_test(unknown_group_is_refused),
		cmocka_unit_test(wrong_type_names_file_and_line),
		cmocka_unit_test(group_given_as_scalar_is_refused),
		cmocka_unit_test(enum_value_outside_choices),
		cmocka_unit_test(syntax_error_names_line),
		cmocka_unit_test(missing_file_is_io_error),
		cmocka_unit_test(overrides_apply_after_file),
		cmocka_unit_test(bad_overrides_are_refused),
		cmocka_unit_test(bounds_and_required),
		cmocka_unit_test(example_file_lists_every_setting),
		cmocka_unit_test(staff_defaults),
		cmocka_unit_test(staff_keys_are_read),
		cmocka_unit_test(staff_mistakes_name_the_line),
		cmocka_unit_test(staff_lists_cannot_be_overridden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
