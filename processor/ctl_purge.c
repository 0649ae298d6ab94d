/*
 * ctl_purge.c - `todokectl purge [--dry-run] [--now ISO]`: destroying the
 * discoverers' personal data whose retention ended, now, instead of at
 * the processor's next tick.
 *
 * Owns: the arguments and the output. Which cases are due and the
 * destruction itself are engine_purge()'s; the output names cases and
 * what kind of data goes, never the data.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "ctl.h"
#include "engine.h"

struct purge_out {
	const struct engine *eng;
	const struct tdk_config *config;
	bool dry_run;
	size_t due, held;
};

static void add_kind(GString *s, bool present, const char *what)
{
	if (!present)
		return;
	if (s->len > 0)
		g_string_append(s, ", ");
	g_string_append(s, what);
}

static void print_item(const struct engine_purge_item *it, void *ctx)
{
	struct purge_out *po = ctx;
	char ended[64], due[64];
	GString *what = g_string_new(NULL);

	cal_format_instant(po->eng->cal, it->ended, ended, sizeof ended);
	cal_format_instant(po->eng->cal, it->due, due, sizeof due);
	add_kind(what, it->name, "name");
	add_kind(what, it->address, "mail address");
	add_kind(what, it->postal, "postal address");
	add_kind(what, it->phone, "phone");
	if (it->report_bytes > 0)
		g_string_append_printf(what, "%sreport mail (%zu bytes)",
				       what->len > 0 ? ", " : "", it->report_bytes);
	if (it->decrypted_bytes > 0)
		g_string_append_printf(what, "%sdecrypted report (%zu bytes)",
				       what->len > 0 ? ", " : "", it->decrypted_bytes);
	if (what->len == 0)
		g_string_append(what, "no stored personal data");
	printf("%s%0*" G_GUINT64_FORMAT "  ended %s  retention until %s  %s: %s\n",
	       po->config->case_prefix, (int)po->config->case_width, it->number,
	       ended, due,
	       it->held ? "kept (legal hold)" : po->dry_run ? "would destroy" : "destroyed",
	       what->str);
	g_string_free(what, TRUE);
	if (it->held)
		po->held++;
	else
		po->due++;
}

int ctl_purge(const struct ctl_env *env, int argc, char **argv)
{
	struct purge_out po = { .config = env->config };
	struct engine *eng = NULL;
	struct tdk_clock clock;
	int64_t now;
	size_t destroyed = 0;
	tdk_err err;
	int rc;

	tdk_clock_init_system(&clock);
	now = tdk_clock_now(&clock);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0) {
			po.dry_run = true;
		} else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
			if (cal_parse_instant(argv[++i], &now, &err) != TDK_OK)
				return ctl_usage_error(env, "--now: %s", err.text);
		} else {
			return ctl_usage_error(env, "usage: purge [--dry-run] [--now ISO]");
		}
	}
	/* The spool too, to overwrite its free pages (not for --dry-run). */
	if (engine_open(env->config, po.dry_run ? ENGINE_NO_SPOOL | ENGINE_READONLY : 0,
			&eng, &err) != TDK_OK) {
		fprintf(stderr, "%s: %s\n", env->program, err.text);
		return EXIT_NO;
	}
	po.eng = eng;
	rc = engine_purge(eng, now, po.dry_run, print_item, &po, &destroyed, &err);
	engine_close(eng);
	if (rc != TDK_OK) {
		fprintf(stderr, "%s: %s\n%s: nothing was destroyed\n", env->program,
			err.text, env->program);
		return EXIT_NO;
	}
	if (po.dry_run)
		printf("%zu case%s due, %zu kept by a legal hold; nothing destroyed "
		       "(--dry-run)\n", po.due, po.due == 1 ? "" : "s", po.held);
	else
		printf("%zu case%s destroyed, %zu kept by a legal hold\n", destroyed,
		       destroyed == 1 ? "" : "s", po.held);
	return 0;
}
