/*
 * conf_staff.c - the staff group of todoke.conf: who may sign commands.
 *
 * Owns: reading and checking the two lists of the staff group, which the
 * declarative table cannot describe (CONF_CUSTOM there): staff.keys, the
 * OpenPGP keys whose signatures on mail to the control address are
 * obeyed, each with the address transcripts go to and a role; and
 * staff.lead_only, the command verbs only the lead role may use. Also the
 * lookups the processor makes in them and their text form for
 * `todokectl config` (conf_format). Every mistake is "file:line: message".
 *
 * The lists belong to the tdk_config; conf_staff_release() frees them.
 */
#include "conf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The verbs of the command language (processor/command.h). */
static const char *const verbs[] = {
	"accept", "reject", "party", "set", "send", "contacted", "extend",
	"pause", "resume", "unreachable", "reopen", "close", "hold", "release",
	"note", "record", NULL
};

static const char *const default_lead_only[] = { "close", "hold", "release",
						 "reopen", NULL };

#define ADDRESS_MAX 254

const char *const *conf_staff_verbs(void)
{
	return verbs;
}

const char *conf_staff_role_name(enum tdk_staff_role role)
{
	return role == TDK_STAFF_ROLE_LEAD ? "lead" : "staff";
}

/* "file:line: staff.keys: message" */
static int fail_at(const config_setting_t *s, const char *file, tdk_err *err,
		   int status, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail_at(const config_setting_t *s, const char *file, tdk_err *err,
		   int status, const char *fmt, ...)
{
	const char *src = config_setting_source_file(s);
	char msg[TDK_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return tdk_err_set(err, status, "%s:%d: %s", src != NULL ? src : file,
			   config_setting_source_line(s), msg);
}

/* Upper-case hex without spaces, or NULL when it is not 40 or 64 digits. */
static char *normal_fingerprint(const char *text)
{
	size_t len = strlen(text), n = 0;
	char *out = malloc(len + 1);

	if (out == NULL)
		return NULL;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F'))) {
			free(out);
			return NULL;
		}
		out[n++] = (char)(*p >= 'a' ? *p - 'a' + 'A' : *p);
	}
	out[n] = '\0';
	if (n != 40 && n != 64) {
		free(out);
		return NULL;
	}
	return out;
}

/* A bare local@domain without blanks, controls or angle brackets. */
static bool plausible_address(const char *a)
{
	const char *at = strrchr(a, '@');
	size_t len = strlen(a);

	if (len == 0 || len > ADDRESS_MAX || at == NULL || at == a ||
	    at[1] == '\0' || strchr(at + 1, '.') == NULL)
		return false;
	for (const char *p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7F ||
		    strchr("<>()[]\\,;:\"", *p) != NULL)
			return false;
	return true;
}

static const config_setting_t *get_list(const config_t *cfg, const char *path,
					const char *file, tdk_err *err, int *rc)
{
	const config_setting_t *s = cfg != NULL ? config_lookup(cfg, path) : NULL;

	*rc = TDK_OK;
	if (s != NULL && config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		*rc = fail_at(s, file, err, TDK_EINVAL,
			      "setting '%s' must be a list ( ... ) or [ ... ]", path);
		return NULL;
	}
	return s;
}

/* A string member of a key group; *out NULL when absent. */
static int member(const config_setting_t *item, const char *name,
		  const char *file, tdk_err *err, const char **out)
{
	const config_setting_t *m = config_setting_get_member(item, name);

	*out = NULL;
	if (m == NULL)
		return TDK_OK;
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return fail_at(m, file, err, TDK_EINVAL,
			       "staff.keys: '%s' must be a string", name);
	*out = config_setting_get_string(m);
	return TDK_OK;
}

static int check_key_members(const config_setting_t *item, const char *file,
			     tdk_err *err)
{
	static const char *const allowed[] = { "fingerprint", "address", "role", NULL };

	if (config_setting_type(item) != CONFIG_TYPE_GROUP)
		return fail_at(item, file, err, TDK_EINVAL,
			       "each item of 'staff.keys' must be a group "
			       "{ fingerprint = \"...\"; address = \"...\"; role = \"...\"; }");
	for (int i = 0; i < config_setting_length(item); i++) {
		const config_setting_t *m = config_setting_get_elem(item, (unsigned)i);
		const char *name = config_setting_name(m);
		bool known = false;

		for (const char *const *a = allowed; *a != NULL && !known; a++)
			known = strcmp(*a, name) == 0;
		if (!known)
			return fail_at(m, file, err, TDK_ENOENT,
				       "unknown setting '%s' in an item of 'staff.keys'",
				       name);
	}
	return TDK_OK;
}

/* Reads one item of staff.keys into *key (which it owns on success). */
static int load_key(const config_setting_t *item, const char *file,
		    struct tdk_staff_key *key, tdk_err *err)
{
	const char *fpr, *address, *role;
	int rc = check_key_members(item, file, err);

	if (rc == TDK_OK)
		rc = member(item, "fingerprint", file, err, &fpr);
	if (rc == TDK_OK)
		rc = member(item, "address", file, err, &address);
	if (rc == TDK_OK)
		rc = member(item, "role", file, err, &role);
	if (rc != TDK_OK)
		return rc;
	if (fpr == NULL || address == NULL)
		return fail_at(item, file, err, TDK_ENOENT,
			       "item of 'staff.keys' lacks '%s'",
			       fpr == NULL ? "fingerprint" : "address");
	if (role != NULL && strcmp(role, "staff") != 0 && strcmp(role, "lead") != 0)
		return fail_at(item, file, err, TDK_EINVAL,
			       "staff.keys: role is \"%s\", must be one of: staff, lead",
			       role);
	if (!plausible_address(address))
		return fail_at(item, file, err, TDK_EINVAL,
			       "staff.keys: \"%s\" is not a mail address (local@domain)",
			       address);
	key->fingerprint = normal_fingerprint(fpr);
	if (key->fingerprint == NULL)
		return fail_at(item, file, err, TDK_EINVAL,
			       "staff.keys: fingerprint \"%s\" must be 40 or 64 hex digits "
			       "(the primary key's full fingerprint)", fpr);
	key->address = strdup(address);
	if (key->address == NULL) {
		free(key->fingerprint);
		key->fingerprint = NULL;
		return tdk_err_set(err, TDK_ENOMEM, "out of memory");
	}
	key->role = role != NULL && strcmp(role, "lead") == 0 ? TDK_STAFF_ROLE_LEAD
							      : TDK_STAFF_ROLE_STAFF;
	return TDK_OK;
}

static int load_keys(const config_t *cfg, const char *file,
		     struct tdk_config *config, tdk_err *err)
{
	int rc;
	const config_setting_t *list = get_list(cfg, "staff.keys", file, err, &rc);
	int n = list != NULL ? config_setting_length(list) : 0;

	if (rc != TDK_OK || n == 0)
		return rc;
	config->staff_keys = calloc((size_t)n, sizeof *config->staff_keys);
	if (config->staff_keys == NULL)
		return tdk_err_set(err, TDK_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		const config_setting_t *item = config_setting_get_elem(list, (unsigned)i);
		struct tdk_staff_key *key = &config->staff_keys[i];

		rc = load_key(item, file, key, err);
		if (rc != TDK_OK)
			return rc;
		config->n_staff_keys = (size_t)i + 1;
		if (conf_staff_find(config, key->fingerprint) != key)
			return fail_at(item, file, err, TDK_EEXIST,
				       "staff.keys: key %s is listed twice",
				       key->fingerprint);
	}
	return TDK_OK;
}

static bool known_verb(const char *name)
{
	for (const char *const *v = verbs; *v != NULL; v++)
		if (strcmp(*v, name) == 0)
			return true;
	return false;
}

static int set_lead_only(struct tdk_config *config, const char *const *names,
			 size_t n, tdk_err *err)
{
	config->staff_lead_only = calloc(n + 1, sizeof(char *));
	if (config->staff_lead_only == NULL)
		return tdk_err_set(err, TDK_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		config->staff_lead_only[i] = strdup(names[i]);
		if (config->staff_lead_only[i] == NULL)
			return tdk_err_set(err, TDK_ENOMEM, "out of memory");
		config->n_staff_lead_only = i + 1;
	}
	return TDK_OK;
}

static int load_lead_only(const config_t *cfg, const char *file,
			  struct tdk_config *config, tdk_err *err)
{
	int rc;
	const config_setting_t *list = get_list(cfg, "staff.lead_only", file, err, &rc);
	const char *names[32];
	int n;

	if (rc != TDK_OK)
		return rc;
	if (list == NULL)
		return set_lead_only(config, default_lead_only,
				     sizeof default_lead_only / sizeof default_lead_only[0] - 1,
				     err);
	n = config_setting_length(list);
	if (n > (int)(sizeof names / sizeof names[0]))
		return fail_at(list, file, err, TDK_ELIMIT,
			       "staff.lead_only: more than %zu verbs",
			       sizeof names / sizeof names[0]);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
		const char *name = config_setting_type(s) == CONFIG_TYPE_STRING
					   ? config_setting_get_string(s) : NULL;

		if (name == NULL || !known_verb(name))
			return fail_at(s, file, err, TDK_EINVAL,
				       "staff.lead_only: \"%s\" is not a command verb",
				       name != NULL ? name : "(not a string)");
		names[i] = name;
	}
	return set_lead_only(config, names, (size_t)n, err);
}

int conf_staff_load(const config_t *cfg, const char *file,
		    struct tdk_config *config, tdk_err *err)
{
	int rc = load_keys(cfg, file, config, err);

	if (rc == TDK_OK)
		rc = load_lead_only(cfg, file, config, err);
	return rc;
}

void conf_staff_release(struct tdk_config *config)
{
	for (size_t i = 0; i < config->n_staff_keys; i++) {
		free(config->staff_keys[i].fingerprint);
		free(config->staff_keys[i].address);
	}
	free(config->staff_keys);
	config->staff_keys = NULL;
	config->n_staff_keys = 0;
	for (size_t i = 0; i < config->n_staff_lead_only; i++)
		free(config->staff_lead_only[i]);
	free(config->staff_lead_only);
	config->staff_lead_only = NULL;
	config->n_staff_lead_only = 0;
}

const struct tdk_staff_key *conf_staff_find(const struct tdk_config *config,
					    const char *fingerprint)
{
	char *want = fingerprint != NULL ? normal_fingerprint(fingerprint) : NULL;
	const struct tdk_staff_key *found = NULL;

	for (size_t i = 0; want != NULL && found == NULL && i < config->n_staff_keys; i++)
		if (strcmp(config->staff_keys[i].fingerprint, want) == 0)
			found = &config->staff_keys[i];
	free(want);
	return found;
}

bool conf_staff_lead_only(const struct tdk_config *config, const char *verb)
{
	for (size_t i = 0; i < config->n_staff_lead_only; i++)
		if (strcasecmp(config->staff_lead_only[i], verb) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ text form */

static void append(char *buf, size_t len, size_t *used, const char *text)
{
	int n;

	if (*used >= len)
		return;
	n = snprintf(buf + *used, len - *used, "%s", text);
	*used += n > 0 ? (size_t)n : 0;
}

void conf_format(const struct tdk_config *config, const struct conf_spec *spec,
		 char *buf, size_t len)
{
	size_t used = 0;
	char item[512];

	if (strcmp(spec->path, "staff.keys") == 0) {
		append(buf, len, &used, "(");
		for (size_t i = 0; i < config->n_staff_keys; i++) {
			const struct tdk_staff_key *k = &config->staff_keys[i];

			snprintf(item, sizeof item,
				 "%s { fingerprint = \"%s\"; address = \"%s\"; role = \"%s\"; }",
				 i == 0 ? "" : ",", k->fingerprint, k->address,
				 conf_staff_role_name(k->role));
			append(buf, len, &used, item);
		}
		append(buf, len, &used, " )");
	} else if (strcmp(spec->path, "staff.lead_only") == 0) {
		append(buf, len, &used, "[");
		for (size_t i = 0; i < config->n_staff_lead_only; i++) {
			snprintf(item, sizeof item, "%s \"%s\"", i == 0 ? "" : ",",
				 config->staff_lead_only[i]);
			append(buf, len, &used, item);
		}
		append(buf, len, &used, " ]");
	} else {
		conf_engine_format(spec, config, buf, len);
	}
}
