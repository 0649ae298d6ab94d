/*
 * conf.h - configuration from one declarative table.
 *
 * Owns: loading libconfig files against a table of settings (path, type,
 * default, bounds, required) into a plain struct, command-line overrides
 * ("-o path=value", as postconf does), and the messages for every mistake:
 * unknown settings, wrong types and out-of-range values are refused with
 * "file:line: message". The generic engine (conf_engine_*) also serves the
 * rules loader; tdk_config is todoke's own table and record.
 *
 * A loaded tdk_config is immutable; conf_free() releases it (NULL is fine).
 */
#ifndef TODOKE_CONF_H
#define TODOKE_CONF_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "status.h"

enum conf_type {
	CONF_BOOL,   /* bool field */
	CONF_INT,    /* long long field, bounded by min..max */
	CONF_STRING, /* char * field, never NULL after loading */
	CONF_ENUM,   /* char * field, one of choices */
	CONF_CUSTOM, /* a group or list the caller reads itself; not descended */
};

struct conf_spec {
	const char *path;          /* dotted libconfig path, e.g. "log.level" */
	enum conf_type type;
	size_t offset;             /* of the field in the record */
	const char *default_value; /* text, parsed like an override; NULL = none */
	long long min, max;        /* CONF_INT bounds */
	const char *const *choices; /* CONF_ENUM values, NULL-terminated */
	bool required;
	const char *summary;       /* one line, for listings */
};

/*
 * Applies defaults, then the settings of cfg (read from file), then the
 * overrides ("path=value") to record. Unknown paths, type mismatches,
 * bounds violations and missing required settings are errors with
 * file:line. Strings in record are allocated; release with
 * conf_engine_release().
 */
int conf_engine_load(const struct conf_spec *table, size_t n_specs,
		     void *record, const config_t *cfg, const char *file,
		     const char *const *overrides, size_t n_overrides,
		     tdk_err *err);
void conf_engine_release(const struct conf_spec *table, size_t n_specs,
			 void *record);
/* The value of one setting of a loaded record, as text. */
void conf_engine_format(const struct conf_spec *spec, const void *record,
			char *buf, size_t len);
/* Reads a libconfig file; a syntax error becomes "file:line: message". */
int conf_read_file(config_t *cfg, const char *file, tdk_err *err);

/* todoke's configuration. */
struct tdk_config {
	const char *source; /* the file read, or NULL for built-in defaults */
	char *log_facility;
	char *log_level;
	char *state_dir;
	char *rules_dir;
	char *calendar_timezone;
	char *report_address;
	char *contact_address;
	char *control_address;
	char *bounce_address;
	char *case_prefix;
	long long case_width;
	long long max_message_size;
	long long max_header_size;
	long long max_mime_depth;
	long long max_mime_parts;
	long long max_decrypted_size;
	char *gnupg_home;
	long long gpg_time_budget_ms;
	long long gpg_max_concurrent;
	bool gpg_helper;
	char *milter_socket;
	char *milter_user;
	char *milter_after_capture;
	long long spool_map_size;
};

/* file may be NULL: built-in defaults plus overrides. */
int conf_load(const char *file, const char *const *overrides,
	      size_t n_overrides, const struct tdk_config **out, tdk_err *err);
void conf_free(const struct tdk_config *config);
const struct conf_spec *conf_table(size_t *n_specs);

#endif
