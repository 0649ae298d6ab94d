/*
 * main.c - todoke-milter: command line, start-up and the milter loop.
 *
 * Owns: option parsing (the common options plus the test mode), switching
 * to the unprivileged user, opening the back ends, and handing control to
 * libmilter. The callbacks are in mf_callbacks.c. Run with the single
 * (undocumented) argument --crypto-helper, the program is the crypto
 * helper the milter starts for itself (pgp.h), and nothing else.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "log.h"
#include "milter.h"
#include "privilege.h"

#define MAX_TEST_RECIPIENTS 64

enum { OPT_RCPT = 256, OPT_FROM, OPT_DRY_RUN };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: todoke-milter [options]\n"
		"       todoke-milter [options] -t FILE --rcpt ADDR [--rcpt ADDR]...\n"
		"                     [--from ADDR] [--dry-run]\n"
		"\n"
		"The todoke milter: captures mail for the vulnerability desk at\n"
		"SMTP time and hands it durably to todoke-processor.\n"
		"\n"
		"Options:\n");
	cli_print_common_options(out);
	fprintf(out,
		"  -t, --test FILE       run the intake on FILE without an MTA and\n"
		"                        print the verdict and spool entry as JSON\n"
		"      --rcpt ADDR       envelope recipient for -t (repeatable)\n"
		"      --from ADDR       envelope sender for -t (default: null sender)\n"
		"      --dry-run         with -t: do not write the spool entry\n"
		"\nSee todoke-milter(8) and todoke.conf(5).\n");
}

static int run_milter(const struct tdk_config *config)
{
	tdk_err err;
	int rc;

	if (priv_drop(config->milter_user, "milter.user", &err) != TDK_OK)
		msg_fatal("%s", err.text);
	if (mf_open_backends(config, true, &err) != TDK_OK)
		msg_fatal("%s", err.text);
	/* The MTA's user must be in the milter's group to use a unix socket. */
	umask(0007);
	if (smfi_setconn(config->milter_socket) != MI_SUCCESS)
		msg_fatal("milter.socket '%s' is not usable", config->milter_socket);
	if (smfi_register(mf_filter) != MI_SUCCESS)
		msg_fatal("cannot register with libmilter");
	errno = 0;
	if (smfi_opensocket(true) != MI_SUCCESS)
		msg_fatal("cannot open milter.socket '%s': %s", config->milter_socket,
			  errno != 0 ? g_strerror(errno)
				     : "address in use or not permitted");
	msg_info("starting: socket %s, spool %s/spool", config->milter_socket,
		 config->state_dir);
	rc = smfi_main();
	msg_info("stopping");
	mf_close_backends();
	return rc == MI_SUCCESS ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_LONGOPTS,
		{ "test", required_argument, NULL, 't' },
		{ "rcpt", required_argument, NULL, OPT_RCPT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common = { .program = "todoke-milter", .usage = usage };
	const char *recipients[MAX_TEST_RECIPIENTS];
	const struct tdk_config *config = NULL;
	const char *test_file = NULL, *sender = "";
	size_t n_recipients = 0;
	bool dry_run = false;
	tdk_err err;
	int opt, rc;

	/* Before anything else: the helper is to stay small. */
	if (argc == 2 && strcmp(argv[1], "--crypto-helper") == 0)
		return pgp_helper_main(STDIN_FILENO);
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS "t:", options,
				  NULL)) != -1) {
		switch (opt) {
		case 't':
			test_file = optarg;
			break;
		case OPT_RCPT:
			if (n_recipients == MAX_TEST_RECIPIENTS) {
				fprintf(stderr, "todoke-milter: at most %d --rcpt\n",
					MAX_TEST_RECIPIENTS);
				return EXIT_USAGE;
			}
			recipients[n_recipients++] = optarg;
			break;
		case OPT_FROM:
			sender = optarg;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		default:
			rc = cli_common_option(&common, opt, optarg);
			if (rc >= 0)
				return rc;
		}
	}
	if (test_file == NULL && (n_recipients > 0 || dry_run)) {
		fprintf(stderr, "todoke-milter: --rcpt, --from and --dry-run need -t FILE\n");
		return EXIT_USAGE;
	}
	if (test_file != NULL && n_recipients == 0) {
		fprintf(stderr, "todoke-milter: -t needs at least one --rcpt\n");
		return EXIT_USAGE;
	}
	if (test_file != NULL)
		common.foreground = 1;
	rc = cli_daemon_start(&common, argc, argv, &config);
	if (rc >= 0)
		return rc;
	g_mime_init();
	if (test_file != NULL) {
		if (mf_open_backends(config, !dry_run, &err) != TDK_OK) {
			fprintf(stderr, "todoke-milter: %s\n", err.text);
			rc = EXIT_USAGE;
		} else {
			rc = mf_test_mode(test_file, recipients, n_recipients, sender,
					  dry_run);
		}
		mf_close_backends();
	} else {
		rc = run_milter(config);
	}
	g_mime_shutdown();
	conf_free(config);
	return rc;
}
