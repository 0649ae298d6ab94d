/*
 * todokectl.c - todokectl: people's window on the desk.
 *
 * Owns: the global options, the subcommand table and the dispatch. Each
 * subcommand lives in its own ctl_*.c module.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ctl.h"

static const char *const program = "todokectl";

static const struct {
	const char *name;
	int (*run)(const struct ctl_env *env, int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "attention", ctl_attention, "what staff were told to look at" },
	{ "calendar", ctl_calendar, "business days, holidays and deadlines" },
	{ "case", ctl_case, "one case: state, parties, clocks, counts" },
	{ "check", ctl_check, "is the desk set up right, is its store sound" },
	{ "cases", ctl_cases, "list cases (by state, or overdue)" },
	{ "commands", ctl_commands, "staff command mail: applied, refused, dropped" },
	{ "config", ctl_config, "print the effective configuration" },
	{ "do", ctl_do, "apply staff commands (all or nothing)" },
	{ "outbox", ctl_outbox, "the notices the desk is to send" },
	{ "purge", ctl_purge, "destroy personal data whose retention ended" },
	{ "render", ctl_render, "preview a notice of a case; --check the templates" },
	{ "spool", ctl_spool, "list the intake spool, or show one entry" },
	{ "timeline", ctl_timeline, "the event log of a case" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-c FILE] [-o NAME=VALUE] COMMAND [ARGS]\n"
		"\n"
		"Read and manage the todoke vulnerability desk.\n"
		"\n"
		"Commands:\n",
		program);
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(out, "  %-12s %s\n", subcommands[i].name,
			subcommands[i].summary);
	fprintf(out,
		"\n"
		"Options:\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -o NAME=VALUE         override one setting of the file\n"
		"  -h, --help            show this help and exit\n"
		"  -V, --version         show the version and exit\n"
		"\n"
		"See todokectl(1).\n",
		cli_default_config_file());
}

int ctl_usage_error(const struct ctl_env *env, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", env->program);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

bool ctl_take_flag(int *argc, char **argv, const char *flag)
{
	bool found = false;
	int kept = 0;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], flag) == 0)
			found = true;
		else
			argv[kept++] = argv[i];
	}
	*argc = kept;
	argv[kept] = NULL;
	return found;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_overrides overrides = { .count = 0 };
	const char *config_file = NULL;
	struct ctl_env env = { .program = program };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+c:o:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_file = optarg; break;
		case 'o':
			if (cli_add_override(&overrides, optarg) != 0)
				return EXIT_USAGE;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': cli_print_version(program); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
		if (strcmp(argv[optind], subcommands[i].name) != 0)
			continue;
		rc = cli_load_config(program, config_file, &overrides,
				     &env.config);
		if (rc != 0)
			return rc;
		rc = subcommands[i].run(&env, argc - optind, argv + optind);
		conf_free(env.config);
		return rc;
	}
	fprintf(stderr, "%s: unknown command '%s' (try --help)\n", program,
		argv[optind]);
	return EXIT_USAGE;
}
