/*
 * main.c - todoke-milter: command line and start-up.
 *
 * Owns: option parsing and start-up of the milter process. The work
 * itself lives in its own modules.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "conf.h"
#include "log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: todoke-milter [options]\n"
		"\n"
		"The todoke milter: captures mail for the vulnerability desk at\n"
		"SMTP time and hands it durably to todoke-processor.\n"
		"\n"
		"Options:\n");
	cli_print_common_options(out);
	fprintf(out, "\nSee todoke-milter(8) and todoke.conf(5).\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common = { .program = "todoke-milter", .usage = usage };
	const struct tdk_config *config = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, options,
				  NULL)) != -1) {
		rc = cli_common_option(&common, opt, optarg);
		if (rc >= 0)
			return rc;
	}
	rc = cli_daemon_start(&common, argc, argv, &config);
	if (rc >= 0)
		return rc;
	msg_error("this build has no milter loop yet; nothing to run");
	conf_free(config);
	return 1;
}
