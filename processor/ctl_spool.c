/*
 * ctl_spool.c - `todokectl spool` and `todokectl spool show ID`.
 *
 * Owns: listing the intake spool (one entry per line, or JSON) and
 * printing one entry in full as JSON. Read-only: it opens the spool
 * without the right to write.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_print.h"
#include "ctl.h"
#include "spool.h"

#define LIST_BATCH 512

static int open_spool(const struct ctl_env *env, struct spool **out)
{
	g_autofree char *dir = g_build_filename(env->config->state_dir, "spool", NULL);
	tdk_err err;

	if (spool_open_shared(dir, 0, SPOOL_READONLY, env->config->spool_group, out,
			      &err) != TDK_OK) {
		fprintf(stderr, "%s: %s\n", env->program, err.text);
		return EXIT_NO;
	}
	return 0;
}

static bool parse_id(const char *text, uint64_t *out)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return false;
	*out = g_ascii_strtoull(text, &end, 10);
	return *end == '\0';
}

/* A one-line rendering of text: control characters become spaces. */
static char *one_line(const char *text)
{
	char *copy = g_strdup(text != NULL ? text : "-");

	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return copy;
}

static void print_line(const struct spool_entry *e)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(e->received);
	g_autofree char *stamp = when != NULL ? g_date_time_format(when, "%Y-%m-%dT%H:%M:%SZ")
					      : g_strdup("-");
	g_autofree char *from = one_line(e->envelope_from != NULL && e->envelope_from[0] ? e->envelope_from : "<>");
	g_autofree char *subject = one_line(e->subject);
	const char *case_number = e->case_subject != NULL ? e->case_subject
				  : e->case_body != NULL ? e->case_body : "-";

	printf("%llu\t%s\t%s\t%s\t%s\t%s\t%s\n", (unsigned long long)e->id, stamp,
	       spool_class_name(e->classification), case_number,
	       spool_crypto_name(e->crypto), from, subject);
}

static int list_entries(const struct ctl_env *env, struct spool *sp, bool json)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	uint64_t ids[LIST_BATCH], after = 0;
	size_t n;
	tdk_err err;

	json_builder_begin_array(b);
	do {
		if (spool_list(sp, after, LIST_BATCH, ids, &n, &err) != TDK_OK) {
			fprintf(stderr, "%s: %s\n", env->program, err.text);
			return EXIT_NO;
		}
		for (size_t i = 0; i < n; i++) {
			struct spool_entry *e = NULL;
			int rc = spool_get(sp, ids[i], &e, &err);

			after = ids[i];
			if (rc != TDK_OK) {
				fprintf(stderr, "%s: entry %llu: %s\n", env->program,
					(unsigned long long)ids[i], err.text);
				continue;
			}
			if (json)
				json_builder_add_value(b, spool_entry_to_json(e, false));
			else
				print_line(e);
			spool_entry_free(e);
		}
	} while (n == LIST_BATCH);
	json_builder_end_array(b);
	if (json)
		json_print_builder(b);
	return 0;
}

static int show_entry(const struct ctl_env *env, struct spool *sp,
		      const char *id_text, bool with_bodies)
{
	struct spool_entry *e = NULL;
	g_autofree char *text = NULL;
	uint64_t id;
	tdk_err err;

	if (!parse_id(id_text, &id))
		return ctl_usage_error(env, "'%s' is not a spool entry id", id_text);
	if (spool_get(sp, id, &e, &err) != TDK_OK) {
		fprintf(stderr, "%s: entry %s: %s\n", env->program, id_text, err.text);
		return EXIT_NO;
	}
	text = spool_entry_to_json_text(e, with_bodies, true);
	printf("%s\n", text);
	spool_entry_free(e);
	return 0;
}

int ctl_spool(const struct ctl_env *env, int argc, char **argv)
{
	bool json = ctl_take_flag(&argc, argv, "--json");
	bool bodies = ctl_take_flag(&argc, argv, "--bodies");
	struct spool *sp = NULL;
	int rc;

	if (argc != 1 && !(argc == 3 && strcmp(argv[1], "show") == 0))
		return ctl_usage_error(env, "usage: spool [--json] | spool show ID [--bodies]");
	rc = open_spool(env, &sp);
	if (rc != 0)
		return rc;
	rc = argc == 1 ? list_entries(env, sp, json) : show_entry(env, sp, argv[2], bodies);
	spool_close(sp);
	return rc;
}
