/*
 * cli.h - what every todoke command line shares.
 *
 * Owns: the exit status convention (0 success or "yes", 1 "no" or a
 * runtime failure, 2 bad input or usage), the default configuration file
 * and how a program finds and loads its configuration, and the
 * --version text.
 */
#ifndef TODOKE_CLI_H
#define TODOKE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"

enum { EXIT_YES = 0, EXIT_NO = 1, EXIT_USAGE = 2 };

#define CLI_MAX_OVERRIDES 64

struct cli_overrides {
	const char *items[CLI_MAX_OVERRIDES];
	size_t count;
};

/* Adds one "-o name=value"; returns 0, or -1 (with a message) when full. */
int cli_add_override(struct cli_overrides *overrides, const char *item);

/*
 * Loads the configuration: the explicit file if given (it must exist),
 * else the default file if it exists, else the built-in defaults. On
 * error prints "program: file:line: message" and returns EXIT_USAGE.
 */
int cli_load_config(const char *program, const char *explicit_file,
		    const struct cli_overrides *overrides,
		    const struct tdk_config **out);

const char *cli_default_config_file(void);

/* The options both daemons share: -c -o -n -f -h -V. */
struct cli_common {
	const char *program;
	const char *config_file;
	struct cli_overrides overrides;
	int check_only;
	int foreground;
	void (*usage)(FILE *out);
};

#define CLI_COMMON_SHORTOPTS "c:o:nfhV"
#define CLI_COMMON_LONGOPTS                                   \
	{ "config", required_argument, NULL, 'c' },           \
	{ "check-config", no_argument, NULL, 'n' },           \
	{ "foreground", no_argument, NULL, 'f' },             \
	{ "help", no_argument, NULL, 'h' },                   \
	{ "version", no_argument, NULL, 'V' }

/* Help text lines for the common options. */
void cli_print_common_options(FILE *out);

/* Handles one getopt result; returns -1 to go on, or an exit status. */
int cli_common_option(struct cli_common *common, int opt, const char *arg);

/*
 * After option parsing: refuses leftover arguments, loads the
 * configuration, answers --check-config and opens the log. Returns -1 to
 * go on running (with *config set), or an exit status.
 */
int cli_daemon_start(struct cli_common *common, int argc, char **argv,
		     const struct tdk_config **config);

void cli_print_version(const char *program);

#endif
