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

/* A key that may sign staff commands (staff.keys, conf_staff.c). */
enum tdk_staff_role { TDK_STAFF_ROLE_STAFF = 1, TDK_STAFF_ROLE_LEAD };

struct tdk_staff_key {
	char *fingerprint;         /* primary key: 40 or 64 upper-case hex digits */
	char *address;             /* where transcripts go */
	enum tdk_staff_role role;
};

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
	char *coordinator_address;
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
	char *spool_group;               /* "" = the spool is one user's */
	char *processor_user;
	char *processor_gnupg_home;      /* "" = gpg.home */
	long long store_map_size;
	long long poll_interval_ms;
	long long processor_batch;
	long long decrypt_retry_hours;
	long long staff_window_past;     /* seconds a signature may be old */
	long long staff_window_future;   /* seconds it may be ahead */
	char *staff_subject_case;        /* "signed" or "any" */
	long long staff_transcripts_per_hour; /* replies to one key per hour */
	char *outbound_sendmail;
	long long outbound_max_tries;
	/* Lists, read by conf_staff.c (CONF_CUSTOM in the table): */
	struct tdk_staff_key *staff_keys;
	size_t n_staff_keys;
	char **staff_lead_only;          /* verb names, NULL-terminated */
	size_t n_staff_lead_only;
};

/* file may be NULL: built-in defaults plus overrides. */
int conf_load(const char *file, const char *const *overrides,
	      size_t n_overrides, const struct tdk_config **out, tdk_err *err);
/* The processor's GnuPG home: processor.gpg_home, or gpg.home when empty. */
const char *conf_processor_gnupg_home(const struct tdk_config *config);

void conf_free(const struct tdk_config *config);
const struct conf_spec *conf_table(size_t *n_specs);
/* The value of one setting of a loaded tdk_config as text: the lists of
 * the staff group in libconfig syntax, every other setting as
 * conf_engine_format() gives it. */
void conf_format(const struct tdk_config *config, const struct conf_spec *spec,
		 char *buf, size_t len);

/*
 * The staff group's lists (conf_staff.c). conf_load() calls
 * conf_staff_load() after the table is applied (cfg NULL: the defaults)
 * and conf_free() calls conf_staff_release(). staff.keys is a list of
 * groups { fingerprint = "..."; address = "..."; role = "staff"|"lead"; }
 * (role defaults to "staff"; a fingerprint may hold spaces; no two items
 * may name the same key); staff.lead_only a list of command verbs, by
 * default close, hold, release and reopen.
 */
int conf_staff_load(const config_t *cfg, const char *file,
		    struct tdk_config *config, tdk_err *err);
void conf_staff_release(struct tdk_config *config);
/* The command verbs staff.lead_only may name, NULL-terminated (the same
 * names as command_verb_name() of the processor; a unit test checks). */
const char *const *conf_staff_verbs(void);
/* The staff key with this fingerprint (any case, spaces ignored), or NULL. */
const struct tdk_staff_key *conf_staff_find(const struct tdk_config *config,
					    const char *fingerprint);
/* Whether verb is reserved for the lead role. */
bool conf_staff_lead_only(const struct tdk_config *config, const char *verb);
/* "staff" or "lead". */
const char *conf_staff_role_name(enum tdk_staff_role role);

#endif
