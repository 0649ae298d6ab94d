/*
 * conf.c - the configuration engine and todoke's settings table.
 *
 * Order of application: defaults, file, overrides. After loading, every
 * scalar setting present in the file has been matched to the table; any
 * other setting is an error naming its file and line.
 */
#include "conf.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef TDK_RULES_DIR
#define TDK_RULES_DIR "/usr/share/todoke/rules"
#endif
#ifndef TDK_STATE_DIR
#define TDK_STATE_DIR "/var/lib/todoke"
#endif

#define FIELD(record, spec, type) ((type *)((char *)(record) + (spec)->offset))

static const char *const facility_choices[] = {
	"mail", "daemon", "user", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7", NULL
};
static const char *const level_choices[] = { "debug", "info", "warning",
					     "error", NULL };

static const char *const after_capture_choices[] = { "deliver", "discard",
						     NULL };
static const char *const subject_case_choices[] = { "signed", "any", NULL };

#define MIB (1024LL * 1024LL)

static const struct conf_spec tdk_table[] = {
	{ .path = "log.facility", .type = CONF_ENUM,
	  .offset = offsetof(struct tdk_config, log_facility),
	  .default_value = "mail", .choices = facility_choices,
	  .summary = "syslog facility of every todoke program" },
	{ .path = "log.level", .type = CONF_ENUM,
	  .offset = offsetof(struct tdk_config, log_level),
	  .default_value = "info", .choices = level_choices,
	  .summary = "least severe level that is logged" },
	{ .path = "paths.state_dir", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, state_dir),
	  .default_value = TDK_STATE_DIR,
	  .summary = "directory of the case store and the intake spool" },
	{ .path = "paths.rules_dir", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, rules_dir),
	  .default_value = TDK_RULES_DIR,
	  .summary = "directory of the desk's rules and templates" },
	{ .path = "calendar.timezone", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, calendar_timezone),
	  .default_value = "Asia/Tokyo",
	  .summary = "IANA time zone in which deadlines are counted" },
	{ .path = "desk.report_address", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, report_address),
	  .default_value = "vuln-info@localhost",
	  .summary = "where discoverers send reports" },
	{ .path = "desk.contact_address", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, contact_address),
	  .default_value = "vuln-contact@localhost",
	  .summary = "where operators and developers reply; notices come from it" },
	{ .path = "desk.control_address", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, control_address),
	  .default_value = "vuln-control@localhost",
	  .summary = "where staff send signed commands" },
	{ .path = "desk.bounce_address", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, bounce_address),
	  .default_value = "vuln-bounce@localhost",
	  .summary = "envelope sender of notices; bounces come back to local+TOKEN" },
	{ .path = "desk.coordinator_address", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, coordinator_address),
	  .default_value = "vuln-coordinator@localhost",
	  .summary = "where accepted product cases are forwarded (the coordinator)" },
	{ .path = "case_number.prefix", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, case_prefix),
	  .default_value = "IPA#",
	  .summary = "text before the digits of a case number" },
	{ .path = "case_number.width", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, case_width),
	  .default_value = "8", .min = 4, .max = 18,
	  .summary = "digits of a case number, zero-padded" },
	{ .path = "limits.message_size", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, max_message_size),
	  .default_value = "26214400", .min = 4096, .max = 1024 * MIB,
	  .summary = "largest desk mail accepted, in bytes" },
	{ .path = "limits.header_size", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, max_header_size),
	  .default_value = "262144", .min = 1024, .max = 64 * MIB,
	  .summary = "largest header section accepted, in bytes" },
	{ .path = "limits.mime_depth", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, max_mime_depth),
	  .default_value = "20", .min = 2, .max = 100,
	  .summary = "deepest MIME nesting accepted" },
	{ .path = "limits.mime_parts", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, max_mime_parts),
	  .default_value = "500", .min = 2, .max = 10000,
	  .summary = "most MIME parts accepted in one mail" },
	{ .path = "limits.decrypted_size", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, max_decrypted_size),
	  .default_value = "52428800", .min = 4096, .max = 1024 * MIB,
	  .summary = "largest decrypted content kept, in bytes" },
	{ .path = "gpg.home", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, gnupg_home),
	  .default_value = TDK_STATE_DIR "/gnupg",
	  .summary = "GnuPG home with the desk's secret key" },
	{ .path = "gpg.time_budget_ms", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, gpg_time_budget_ms),
	  .default_value = "5000", .min = 10, .max = 600000,
	  .summary = "longest a decryption may hold up SMTP, in milliseconds" },
	{ .path = "gpg.max_concurrent", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, gpg_max_concurrent),
	  .default_value = "2", .min = 1, .max = 64,
	  .summary = "decryptions running at once" },
	{ .path = "gpg.helper", .type = CONF_BOOL,
	  .offset = offsetof(struct tdk_config, gpg_helper),
	  .default_value = "true",
	  .summary = "run GnuPG from a small crypto helper process" },
	{ .path = "milter.socket", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, milter_socket),
	  .default_value = "unix:/run/todoke/milter.sock",
	  .summary = "where the MTA connects: unix:PATH or inet:PORT@HOST" },
	{ .path = "milter.user", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, milter_user),
	  .default_value = "",
	  .summary = "user the milter switches to when started as root" },
	{ .path = "milter.after_capture", .type = CONF_ENUM,
	  .offset = offsetof(struct tdk_config, milter_after_capture),
	  .default_value = "deliver", .choices = after_capture_choices,
	  .summary = "deliver captured mail on to the mailbox, or discard it" },
	{ .path = "spool.map_size", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, spool_map_size),
	  .default_value = "1073741824", .min = MIB, .max = 1024LL * 1024 * MIB,
	  .summary = "largest size of the intake spool file, in bytes" },
	{ .path = "spool.group", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, spool_group),
	  .default_value = "",
	  .summary = "group the milter and the processor share the spool through" },
	{ .path = "processor.user", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, processor_user),
	  .default_value = "",
	  .summary = "user the processor switches to when started as root" },
	{ .path = "processor.gpg_home", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, processor_gnupg_home),
	  .default_value = "",
	  .summary = "the processor's GnuPG home with the desk's secret key; empty: gpg.home" },
	{ .path = "processor.store_map_size", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, store_map_size),
	  .default_value = "4294967296", .min = MIB, .max = 1024LL * 1024 * MIB,
	  .summary = "largest size of the case store file, in bytes" },
	{ .path = "processor.poll_interval_ms", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, poll_interval_ms),
	  .default_value = "1000", .min = 10, .max = 60000,
	  .summary = "how often the processor looks for new spool entries" },
	{ .path = "processor.decrypt_retry_hours", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, decrypt_retry_hours),
	  .default_value = "24", .min = 1, .max = 720,
	  .summary = "how long the processor retries a report the milter could not decrypt" },
	{ .path = "processor.batch", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, processor_batch),
	  .default_value = "1000", .min = 1, .max = 100000,
	  .summary = "most spool entries or timers applied between checks for signals" },
	{ .path = "outbound.sendmail", .type = CONF_STRING,
	  .offset = offsetof(struct tdk_config, outbound_sendmail),
	  .default_value = "",
	  .summary = "the sendmail(1) program notices are handed to; empty: none sent" },
	{ .path = "outbound.max_tries", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, outbound_max_tries),
	  .default_value = "8", .min = 1, .max = 100,
	  .summary = "hand-overs to sendmail before a notice counts as failed" },
	{ .path = "staff.keys", .type = CONF_CUSTOM,
	  .summary = "OpenPGP keys that may sign staff commands, with address and role" },
	{ .path = "staff.lead_only", .type = CONF_CUSTOM,
	  .summary = "command verbs only keys of the lead role may use" },
	{ .path = "staff.signature_window_past", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, staff_window_past),
	  .default_value = "259200", .min = 60, .max = 30 * 86400,
	  .summary = "how old a command signature may be, in seconds" },
	{ .path = "staff.signature_window_future", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, staff_window_future),
	  .default_value = "300", .min = 0, .max = 86400,
	  .summary = "how far ahead of the processor's clock a signature may be, in seconds" },
	{ .path = "staff.transcripts_per_hour", .type = CONF_INT,
	  .offset = offsetof(struct tdk_config, staff_transcripts_per_hour),
	  .default_value = "20", .min = 1, .max = 10000,
	  .summary = "transcripts (or staff notices instead) per staff key in each hour" },
	{ .path = "staff.subject_case", .type = CONF_ENUM,
	  .offset = offsetof(struct tdk_config, staff_subject_case),
	  .default_value = "signed", .choices = subject_case_choices,
	  .summary = "whose Subject gives the default case: a signed one, or any" },
};

const struct conf_spec *conf_table(size_t *n_specs)
{
	*n_specs = sizeof tdk_table / sizeof tdk_table[0];
	return tdk_table;
}

static const char *type_name(enum conf_type type)
{
	switch (type) {
	case CONF_BOOL: return "a boolean (true or false)";
	case CONF_INT: return "an integer";
	case CONF_STRING: return "a string";
	case CONF_ENUM: return "a string";
	case CONF_CUSTOM: return "a group or list";
	}
	return "?";
}

static const struct conf_spec *find_spec(const struct conf_spec *table,
					 size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].path, path) == 0)
			return &table[i];
	return NULL;
}

/* True if path is a proper prefix group of some table entry. */
static bool is_group_path(const struct conf_spec *table, size_t n,
			  const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < n; i++)
		if (strncmp(table[i].path, path, len) == 0 &&
		    table[i].path[len] == '.')
			return true;
	return false;
}

static int check_choice(const struct conf_spec *spec, const char *value)
{
	for (const char *const *c = spec->choices; *c != NULL; c++)
		if (strcmp(*c, value) == 0)
			return 0;
	return -1;
}

static void describe_choices(const struct conf_spec *spec, char *buf,
			     size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const char *const *c = spec->choices; *c != NULL && used < len; c++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 c == spec->choices ? "" : ", ", *c);
}

static int store_string(const struct conf_spec *spec, void *record,
			const char *value, const char *where, tdk_err *err)
{
	char **field = FIELD(record, spec, char *);
	char *copy;

	if (spec->type == CONF_ENUM && check_choice(spec, value) != 0) {
		char choices[256];

		describe_choices(spec, choices, sizeof choices);
		return tdk_err_set(err, TDK_EINVAL,
				   "%s: setting '%s' is \"%s\", must be one of: %s",
				   where, spec->path, value, choices);
	}
	copy = strdup(value);
	if (copy == NULL)
		return tdk_err_set(err, TDK_ENOMEM, "%s: out of memory", where);
	free(*field);
	*field = copy;
	return TDK_OK;
}

static int store_int(const struct conf_spec *spec, void *record,
		     long long value, const char *where, tdk_err *err)
{
	if (value < spec->min || value > spec->max)
		return tdk_err_set(err, TDK_ERANGE,
				   "%s: setting '%s' is %lld, must be between %lld and %lld",
				   where, spec->path, value, spec->min, spec->max);
	*FIELD(record, spec, long long) = value;
	return TDK_OK;
}

/* Parses an override or a default value given as text. */
static int store_text(const struct conf_spec *spec, void *record,
		      const char *text, const char *where, tdk_err *err)
{
	switch (spec->type) {
	case CONF_BOOL:
		if (strcasecmp(text, "true") == 0 || strcasecmp(text, "yes") == 0) {
			*FIELD(record, spec, bool) = true;
		} else if (strcasecmp(text, "false") == 0 ||
			   strcasecmp(text, "no") == 0) {
			*FIELD(record, spec, bool) = false;
		} else {
			return tdk_err_set(err, TDK_EINVAL,
					   "%s: setting '%s' must be %s", where,
					   spec->path, type_name(spec->type));
		}
		return TDK_OK;
	case CONF_INT: {
		char *end;
		long long value;

		errno = 0;
		value = strtoll(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0')
			return tdk_err_set(err, TDK_EINVAL,
					   "%s: setting '%s' must be %s", where,
					   spec->path, type_name(spec->type));
		return store_int(spec, record, value, where, err);
	}
	case CONF_STRING:
	case CONF_ENUM:
		return store_string(spec, record, text, where, err);
	case CONF_CUSTOM:
		return tdk_err_set(err, TDK_EINVAL,
				   "%s: setting '%s' cannot be given on the command line",
				   where, spec->path);
	}
	return TDK_EINVAL;
}

static int store_setting(const struct conf_spec *spec, void *record,
			 const config_setting_t *s, const char *where,
			 tdk_err *err)
{
	int type = config_setting_type(s);

	switch (spec->type) {
	case CONF_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			break;
		*FIELD(record, spec, bool) = config_setting_get_bool(s) != 0;
		return TDK_OK;
	case CONF_INT:
		if (type == CONFIG_TYPE_INT)
			return store_int(spec, record, config_setting_get_int(s),
					 where, err);
		if (type == CONFIG_TYPE_INT64)
			return store_int(spec, record,
					 config_setting_get_int64(s), where, err);
		break;
	case CONF_STRING:
	case CONF_ENUM:
		if (type != CONFIG_TYPE_STRING)
			break;
		return store_string(spec, record, config_setting_get_string(s),
				    where, err);
	case CONF_CUSTOM:
		return TDK_OK;
	}
	return tdk_err_set(err, TDK_EINVAL, "%s: setting '%s' must be %s", where,
			   spec->path, type_name(spec->type));
}

static void setting_where(const config_setting_t *s, const char *file,
			  char *buf, size_t len)
{
	const char *src = config_setting_source_file(s);

	snprintf(buf, len, "%s:%d", src != NULL ? src : file,
		 config_setting_source_line(s));
}

/* Walks a group, matching every member against the table. */
static int walk_group(const struct conf_spec *table, size_t n, void *record,
		      const config_setting_t *group, const char *prefix,
		      const char *file, tdk_err *err)
{
	int count = config_setting_length(group);

	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		char path[256], where[512];
		const struct conf_spec *spec;
		int rc;

		setting_where(s, file, where, sizeof where);
		if (name == NULL)
			return tdk_err_set(err, TDK_ESYNTAX,
					   "%s: unnamed setting inside '%s'",
					   where, prefix);
		snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "",
			 name);
		spec = find_spec(table, n, path);
		if (spec != NULL) {
			rc = store_setting(spec, record, s, where, err);
		} else if (is_group_path(table, n, path)) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP)
				return tdk_err_set(err, TDK_EINVAL,
						   "%s: '%s' must be a group { ... }",
						   where, path);
			rc = walk_group(table, n, record, s, path, file, err);
		} else {
			return tdk_err_set(err, TDK_ENOENT,
					   "%s: unknown setting '%s'", where,
					   path);
		}
		if (rc != TDK_OK)
			return rc;
	}
	return TDK_OK;
}

static int apply_override(const struct conf_spec *table, size_t n,
			  void *record, const char *override, tdk_err *err)
{
	const char *eq = strchr(override, '=');
	char path[256], where[300];
	const struct conf_spec *spec;

	snprintf(where, sizeof where, "-o %s", override);
	if (eq == NULL || eq == override ||
	    (size_t)(eq - override) >= sizeof path)
		return tdk_err_set(err, TDK_ESYNTAX,
				   "%s: expected -o name=value", where);
	memcpy(path, override, (size_t)(eq - override));
	path[eq - override] = '\0';
	spec = find_spec(table, n, path);
	if (spec == NULL)
		return tdk_err_set(err, TDK_ENOENT, "%s: unknown setting '%s'",
				   where, path);
	return store_text(spec, record, eq + 1, where, err);
}

int conf_read_file(config_t *cfg, const char *file, tdk_err *err)
{
	if (config_read_file(cfg, file) == CONFIG_TRUE)
		return TDK_OK;
	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
		return tdk_err_set(err, TDK_EIO, "%s: cannot read file: %s", file,
				   strerror(errno));
	return tdk_err_set(err, TDK_ESYNTAX, "%s:%d: %s",
			   config_error_file(cfg) ? config_error_file(cfg) : file,
			   config_error_line(cfg), config_error_text(cfg));
}

int conf_engine_load(const struct conf_spec *table, size_t n_specs,
		     void *record, const config_t *cfg, const char *file,
		     const char *const *overrides, size_t n_overrides,
		     tdk_err *err)
{
	int rc;

	for (size_t i = 0; i < n_specs; i++) {
		if (table[i].default_value == NULL)
			continue;
		rc = store_text(&table[i], record, table[i].default_value,
				"built-in default", err);
		if (rc != TDK_OK)
			return rc;
	}
	if (cfg != NULL) {
		rc = walk_group(table, n_specs, record, config_root_setting(cfg),
				"", file, err);
		if (rc != TDK_OK)
			return rc;
	}
	for (size_t i = 0; i < n_overrides; i++) {
		rc = apply_override(table, n_specs, record, overrides[i], err);
		if (rc != TDK_OK)
			return rc;
	}
	for (size_t i = 0; i < n_specs; i++) {
		bool present = table[i].default_value != NULL;

		if (cfg != NULL && config_lookup(cfg, table[i].path) != NULL)
			present = true;
		for (size_t j = 0; !present && j < n_overrides; j++)
			present = strncmp(overrides[j], table[i].path,
					  strlen(table[i].path)) == 0 &&
				  overrides[j][strlen(table[i].path)] == '=';
		if (table[i].required && !present)
			return tdk_err_set(err, TDK_ENOENT,
					   "%s: required setting '%s' is missing",
					   file != NULL ? file : "configuration",
					   table[i].path);
	}
	return TDK_OK;
}

void conf_engine_release(const struct conf_spec *table, size_t n_specs,
			 void *record)
{
	for (size_t i = 0; i < n_specs; i++) {
		if (table[i].type == CONF_STRING || table[i].type == CONF_ENUM) {
			char **field = FIELD(record, &table[i], char *);

			free(*field);
			*field = NULL;
		}
	}
}

void conf_engine_format(const struct conf_spec *spec, const void *record,
			char *buf, size_t len)
{
	const char *base = record;

	switch (spec->type) {
	case CONF_BOOL:
		snprintf(buf, len, "%s",
			 *(const bool *)(base + spec->offset) ? "true" : "false");
		break;
	case CONF_INT:
		snprintf(buf, len, "%lld",
			 *(const long long *)(base + spec->offset));
		break;
	case CONF_STRING:
	case CONF_ENUM: {
		const char *value = *(char *const *)(base + spec->offset);

		snprintf(buf, len, "%s", value != NULL ? value : "");
		break;
	}
	case CONF_CUSTOM:
		snprintf(buf, len, "(list)");
		break;
	}
}

int conf_load(const char *file, const char *const *overrides,
	      size_t n_overrides, const struct tdk_config **out, tdk_err *err)
{
	struct tdk_config *config;
	config_t cfg;
	int rc;

	config = calloc(1, sizeof *config);
	if (config == NULL)
		return tdk_err_set(err, TDK_ENOMEM, "out of memory");
	config_init(&cfg);
	if (file != NULL) {
		rc = conf_read_file(&cfg, file, err);
		if (rc != TDK_OK)
			goto out;
	}
	rc = conf_engine_load(tdk_table, sizeof tdk_table / sizeof tdk_table[0],
			      config, file != NULL ? &cfg : NULL, file, overrides,
			      n_overrides, err);
	if (rc == TDK_OK)
		rc = conf_staff_load(file != NULL ? &cfg : NULL, file, config, err);
	if (rc != TDK_OK)
		goto out;
	config->source = file != NULL ? strdup(file) : NULL;
	if (file != NULL && config->source == NULL) {
		rc = tdk_err_set(err, TDK_ENOMEM, "out of memory");
		goto out;
	}
	*out = config;
	config = NULL;
out:
	config_destroy(&cfg);
	conf_free(config);
	return rc;
}

const char *conf_processor_gnupg_home(const struct tdk_config *config)
{
	return config->processor_gnupg_home[0] != '\0' ? config->processor_gnupg_home
							: config->gnupg_home;
}

void conf_free(const struct tdk_config *config)
{
	struct tdk_config *mutable_config = (struct tdk_config *)config;

	if (config == NULL)
		return;
	conf_engine_release(tdk_table, sizeof tdk_table / sizeof tdk_table[0],
			    mutable_config);
	conf_staff_release(mutable_config);
	free((char *)mutable_config->source);
	free(mutable_config);
}
