/*
 * cli.c - configuration discovery and shared command-line behaviour.
 */
#include "config.h"

#include "cli.h"
#include "log.h"
#include "privilege.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TDK_CONFIG_FILE
#define TDK_CONFIG_FILE "/etc/todoke/todoke.conf"
#endif

const char *cli_default_config_file(void)
{
	return TDK_CONFIG_FILE;
}

int cli_add_override(struct cli_overrides *overrides, const char *item)
{
	if (overrides->count >= CLI_MAX_OVERRIDES) {
		fprintf(stderr, "too many -o options (at most %d)\n",
			CLI_MAX_OVERRIDES);
		return -1;
	}
	overrides->items[overrides->count++] = item;
	return 0;
}

int cli_load_config(const char *program, const char *explicit_file,
		    const struct cli_overrides *overrides,
		    const struct tdk_config **out)
{
	const char *file = explicit_file;
	tdk_err err;
	int rc;

	if (file == NULL && access(TDK_CONFIG_FILE, F_OK) == 0)
		file = TDK_CONFIG_FILE;
	rc = conf_load(file, overrides->items, overrides->count, out, &err);
	if (rc != TDK_OK) {
		fprintf(stderr, "%s: %s\n", program, err.text);
		return EXIT_USAGE;
	}
	return 0;
}

void cli_print_version(const char *program)
{
	printf("%s (%s) %s\n", program, PACKAGE_NAME, PACKAGE_VERSION);
}

void cli_print_common_options(FILE *out)
{
	fprintf(out,
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -o NAME=VALUE         override one setting of the file\n"
		"  -n, --check-config    load and check the configuration, then exit\n"
		"  -f, --foreground      log to stderr instead of syslog\n"
		"  -h, --help            show this help and exit\n"
		"  -V, --version         show the version and exit\n",
		TDK_CONFIG_FILE);
}

int cli_common_option(struct cli_common *common, int opt, const char *arg)
{
	switch (opt) {
	case 'c':
		common->config_file = arg;
		return -1;
	case 'o':
		return cli_add_override(&common->overrides, arg) == 0 ? -1
								       : EXIT_USAGE;
	case 'n':
		common->check_only = 1;
		return -1;
	case 'f':
		common->foreground = 1;
		return -1;
	case 'h':
		common->usage(stdout);
		return 0;
	case 'V':
		cli_print_version(common->program);
		return 0;
	default:
		common->usage(stderr);
		return EXIT_USAGE;
	}
}

int cli_daemon_start(struct cli_common *common, int argc, char **argv,
		     const struct tdk_config **config)
{
	tdk_err err;
	int rc;

	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n",
			common->program, argv[optind]);
		return EXIT_USAGE;
	}
	umask(PRIV_UMASK);
	rc = cli_load_config(common->program, common->config_file,
			     &common->overrides, config);
	if (rc != 0)
		return rc;
	if (priv_check_config_file((*config)->source, &err) != TDK_OK) {
		fprintf(stderr, "%s: %s\n", common->program, err.text);
		conf_free(*config);
		*config = NULL;
		return EXIT_USAGE;
	}
	if (common->check_only) {
		printf("%s: configuration OK (%s)\n", common->program,
		       (*config)->source != NULL ? (*config)->source
						 : "built-in defaults");
		conf_free(*config);
		*config = NULL;
		return 0;
	}
	msg_open(common->program, (*config)->log_facility,
		 common->foreground ? MSG_SINK_STDERR : MSG_SINK_SYSLOG);
	return -1;
}
