/*
 * processor.c - todoke-processor: command line, signals and the loop.
 *
 * Owns: option parsing, start-up, the main loop (drain the spool, fire
 * due timers, produce the digest, sleep until the next poll or deadline),
 * HUP (reload configuration and rules) and TERM/INT (stop between
 * transactions: nothing is half-applied). The work itself is engine.c.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "calendar.h"
#include "cli.h"
#include "clock.h"
#include "conf.h"
#include "engine.h"
#include "log.h"
#include "privilege.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: todoke-processor [options]\n"
		"\n"
		"The todoke processor: keeps every case of the vulnerability desk,\n"
		"applies its deadline rules and queues its notices.\n"
		"\n"
		"Options:\n");
	cli_print_common_options(out);
	fprintf(out,
		"      --once            drain the spool, fire the timers due, exit\n"
		"      --now ISO8601     take this instant as the current time\n"
		"\nSee todoke-processor(8) and todoke.conf(5).\n");
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void log_stats(const struct engine_stats *s)
{
	if (s->sent + s->deferred_notices + s->failed > 0)
		msg_info("notices sent %zu, deferred %zu, failed %zu", s->sent,
			 s->deferred_notices, s->failed);
	if (s->applied + s->skipped + s->quarantined + s->fired > 0 || s->digest)
		msg_info("applied %zu, skipped %zu, deferred %zu, quarantined %zu, "
			 "timers fired %zu%s",
			 s->applied, s->skipped, s->deferred, s->quarantined, s->fired,
			 s->digest ? ", digest produced" : "");
}

/* One round: drain, fire, digest. *more: work may remain. */
static int round_once(struct engine *eng, int64_t now, size_t batch, bool *more)
{
	struct engine_stats s = { 0 };
	tdk_err err = { "" };
	int rc = engine_drain(eng, now, batch, &s, &err);

	if (rc != TDK_OK)
		msg_error("spool: %s", err.text);
	if (rc == TDK_OK || rc == TDK_EFULL || rc == TDK_EIO) {
		int trc = engine_tick(eng, now, batch, &s, &err);

		if (trc != TDK_OK)
			msg_error("timers: %s", err.text);
		else if (engine_digest(eng, now, &s, &err) != TDK_OK)
			msg_error("digest: %s", err.text);
		if (engine_deliver(eng, now, batch, &s, &err) != TDK_OK)
			msg_error("outbox: %s", err.text);
		if (rc == TDK_OK)
			rc = trc;
	}
	log_stats(&s);
	*more = rc == TDK_OK && (s.applied + s.skipped + s.quarantined >= batch ||
				 s.fired >= batch);
	return rc;
}

static void sleep_until(const struct tdk_clock *clock, struct engine *eng,
			long long poll_ms)
{
	int64_t due, now = tdk_clock_now(clock);
	long long ms = poll_ms;
	struct timespec ts;

	if (engine_next_due(eng, &due, NULL) == TDK_OK && due > now &&
	    (due - now) * 1000 < ms)
		ms = (due - now) * 1000;
	else if (engine_next_due(eng, &due, NULL) == TDK_OK && due <= now)
		ms = 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL); /* a signal ends it early */
}

static int reload(struct cli_common *common, const struct tdk_config **config,
		  struct engine **eng)
{
	const struct tdk_config *fresh = NULL;
	struct engine *next = NULL;
	tdk_err err = { "" };

	if (cli_load_config(common->program, common->config_file,
			    &common->overrides, &fresh) != 0) {
		msg_error("reload: the configuration has errors; keeping the old one");
		return -1;
	}
	engine_close(*eng);
	*eng = NULL;
	if (engine_open(fresh, 0, &next, &err) != TDK_OK) {
		msg_error("reload: %s; keeping the old configuration", err.text);
		conf_free(fresh);
		if (engine_open(*config, 0, eng, &err) != TDK_OK)
			msg_fatal("reload: cannot reopen with the old configuration: %s",
				  err.text);
		return -1;
	}
	conf_free(*config);
	*config = fresh;
	*eng = next;
	msg_info("configuration and rules reloaded");
	return 0;
}

/*
 * Started as root: switches to processor.user, which must not be the
 * milter's user (the milter must not reach the case store). Only --once
 * may stay root when processor.user is empty (maintenance runs).
 */
static int start_unprivileged(const struct tdk_config *config, bool once,
			      tdk_err *err)
{
	if (config->processor_user[0] != '\0' &&
	    strcmp(config->processor_user, config->milter_user) == 0)
		return tdk_err_set(err, TDK_EPERM,
				   "processor.user and milter.user are both '%s'; the "
				   "processor needs a user of its own, so that the milter "
				   "cannot open the case store",
				   config->processor_user);
	if (geteuid() != 0 || (once && config->processor_user[0] == '\0'))
		return TDK_OK;
	return priv_drop(config->processor_user, "processor.user", err);
}

int main(int argc, char **argv)
{
	enum { OPT_ONCE = 256, OPT_NOW };
	static const struct option options[] = {
		CLI_COMMON_LONGOPTS,
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "now", required_argument, NULL, OPT_NOW },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common = { .program = "todoke-processor", .usage = usage };
	const struct tdk_config *config = NULL;
	struct engine *eng = NULL;
	struct tdk_clock clock;
	bool once = false, more;
	const char *now_text = NULL;
	tdk_err err = { "" };
	int opt, rc;

	tdk_clock_init_system(&clock);
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, options,
				  NULL)) != -1) {
		if (opt == OPT_ONCE) {
			once = true;
			continue;
		}
		if (opt == OPT_NOW) {
			now_text = optarg;
			continue;
		}
		rc = cli_common_option(&common, opt, optarg);
		if (rc >= 0)
			return rc;
	}
	if (now_text != NULL) {
		int64_t now;

		if (cal_parse_instant(now_text, &now, &err) != TDK_OK) {
			fprintf(stderr, "todoke-processor: --now: %s\n", err.text);
			return EXIT_USAGE;
		}
		tdk_clock_init_fixed(&clock, now);
	}
	rc = cli_daemon_start(&common, argc, argv, &config);
	if (rc >= 0)
		return rc;
	if (start_unprivileged(config, once, &err) != TDK_OK) {
		msg_error("cannot start: %s", err.text);
		conf_free(config);
		return 1;
	}
	g_mime_init();
	if (engine_open(config, 0, &eng, &err) != TDK_OK) {
		msg_error("cannot start: %s", err.text);
		conf_free(config);
		g_mime_shutdown();
		return 1;
	}
	install_signals();
	msg_info("started%s; store %s/store", once ? " (once)" : "", config->state_dir);
	rc = 0;
	while (!stop_requested) {
		if (reload_requested) {
			reload_requested = 0;
			reload(&common, &config, &eng);
		}
		if (round_once(eng, tdk_clock_now(&clock), (size_t)config->processor_batch,
			       &more) != TDK_OK)
			rc = once ? 1 : 0;
		if (once && !more)
			break;
		if (!more && !stop_requested)
			sleep_until(&clock, eng, config->poll_interval_ms);
	}
	msg_info("stopped");
	engine_close(eng);
	conf_free(config);
	g_mime_shutdown();
	return rc;
}
