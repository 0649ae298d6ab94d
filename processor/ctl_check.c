/*
 * ctl_check.c - `todokectl check`: is this desk set up right, and is its
 * store sound?
 *
 * Owns: the checks and their wording for a desk operator: the
 * configuration, the rules, calendar and templates, the desk's GnuPG home
 * and secret key, the staff keys (present, not revoked or expired), the
 * case store (every record decodes; the timer index and the
 * cases' clocks agree; the outbox and its indexes agree; quarantined
 * records), and the intake spool. Reads
 * only; exits 0 when everything is fine, 1 otherwise.
 */
#include "config.h"

#include <gpgme.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ctl.h"
#include "engine.h"

struct check {
	int problems;
};

static void ok(const char *what, const char *detail)
{
	printf("ok       %s%s%s\n", what, detail != NULL ? ": " : "",
	       detail != NULL ? detail : "");
}

static void problem(struct check *ck, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct check *ck, const char *fmt, ...)
{
	va_list ap;

	ck->problems++;
	fputs("PROBLEM  ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* ------------------------------------------------------------ GnuPG */

/* The desk's own key: it must sign notices and decrypt reports. */
static void check_desk_key(struct check *ck, gpgme_ctx_t ctx, const char *home)
{
	gpgme_key_t key;
	int usable = 0, decrypting = 0;

	if (gpgme_op_keylist_start(ctx, NULL, 1) != 0) {
		problem(ck, "cannot list the secret keys in %s", home);
		return;
	}
	while (gpgme_op_keylist_next(ctx, &key) == 0) {
		if (!key->revoked && !key->expired && !key->disabled && key->can_sign &&
		    key->subkeys != NULL) {
			usable++;
			decrypting += key->can_encrypt ? 1 : 0;
			printf("ok       desk secret key %s (%s)%s\n", key->subkeys->fpr,
			       key->uids != NULL && key->uids->uid != NULL ? key->uids->uid : "",
			       key->can_encrypt ? "" : ", signs only");
		}
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(ctx);
	if (usable == 0)
		problem(ck, "no usable secret key in %s: the desk can neither decrypt "
			"reports nor sign notices", home);
	else if (decrypting == 0)
		problem(ck, "the desk's secret key in %s has no encryption subkey: "
			"reports encrypted to the desk cannot be read", home);
}

/* Each staff key of the configuration: in the keyring, neither revoked
 * nor expired, or the milter refuses that person's command mail. */
static void check_staff_keys(struct check *ck, gpgme_ctx_t ctx, const struct tdk_config *cfg)
{
	for (size_t i = 0; i < cfg->n_staff_keys; i++) {
		const struct tdk_staff_key *sk = &cfg->staff_keys[i];
		const char *who = sk->address != NULL ? sk->address : "no address";
		gpgme_key_t key = NULL;

		if (gpgme_get_key(ctx, sk->fingerprint, &key, 0) != 0 || key == NULL) {
			problem(ck, "staff key %s (%s) is not in the desk's keyring (gpg.home): "
				"commands signed with it are refused; import it", sk->fingerprint, who);
			continue;
		}
		if (key->revoked)
			problem(ck, "staff key %s (%s) is revoked: commands signed with it are "
				"refused; remove it from staff.keys", sk->fingerprint, who);
		else if (key->expired)
			problem(ck, "staff key %s (%s) has expired: commands signed with it are "
				"refused; import its new expiry date or remove it from staff.keys",
				sk->fingerprint, who);
		else if (key->disabled || !key->can_sign)
			problem(ck, "staff key %s (%s) cannot sign: commands signed with it are "
				"refused", sk->fingerprint, who);
		else
			printf("ok       staff key %s (%s, %s)\n", sk->fingerprint, who,
			       conf_staff_role_name(sk->role));
		gpgme_key_unref(key);
	}
}

static void check_gnupg(struct check *ck, const struct tdk_config *cfg)
{
	const char *home = conf_processor_gnupg_home(cfg);
	struct stat sb;
	gpgme_ctx_t ctx = NULL;

	if (stat(home, &sb) != 0) {
		problem(ck, "the desk's GnuPG home %s does not exist (processor.gpg_home, or gpg.home)", home);
		return;
	}
	if ((sb.st_mode & 077) != 0) {
		problem(ck, "the desk's GnuPG home %s is open to others (mode %04o); "
			"it must be 0700", home, (unsigned)(sb.st_mode & 07777));
		return;
	}
	fflush(stdout); /* gpg is forked from here: no buffered lines twice */
	gpgme_check_version(NULL);
	if (gpgme_new(&ctx) != 0 ||
	    gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home) != 0) {
		problem(ck, "cannot use GnuPG with the home %s", home);
		gpgme_release(ctx);
		return;
	}
	check_desk_key(ck, ctx, home);
	check_staff_keys(ck, ctx, cfg);
	gpgme_release(ctx);
}

/* ------------------------------------------------------------ store */

struct store_check {
	struct check *ck;
	struct engine *eng;
	struct store_txn *txn;
	size_t cases, undecodable, clocks, missing;
	size_t timers, stray;
	size_t outbox_problems;
};

static int check_case(uint64_t number, const struct case_rec *c, void *ctx)
{
	struct store_check *sc = ctx;

	sc->cases++;
	if (c == NULL) {
		sc->undecodable++;
		problem(sc->ck, "case %" G_GUINT64_FORMAT ": the record does not decode",
			number);
		return 0;
	}
	for (int id = 1; id < CLOCK_COUNT; id++) {
		const struct case_clock *k = &c->clocks[id];
		struct store_timer tm = { 0, number, id };

		if (!k->active || c->paused)
			continue;
		sc->clocks++;
		if (case_clock_due(sc->eng->cal, k, &tm.due) != TDK_OK ||
		    store_timer_exists(sc->txn, &tm, NULL) != TDK_OK) {
			sc->missing++;
			problem(sc->ck, "case %" G_GUINT64_FORMAT ": the %s clock runs "
				"but no timer is armed for it", number, case_clock_name(id));
		}
	}
	return 0;
}

static int check_timer(const struct store_timer *tm, void *ctx)
{
	struct store_check *sc = ctx;
	struct case_rec *c = NULL;

	sc->timers++;
	if (store_case_get(sc->txn, tm->number, &c, NULL) != TDK_OK ||
	    tm->clock <= 0 || tm->clock >= CLOCK_COUNT ||
	    !c->clocks[tm->clock].active || c->clocks[tm->clock].armed_due != tm->due) {
		sc->stray++;
		problem(sc->ck, "a timer for case %" G_GUINT64_FORMAT " (clock %d) "
			"matches no running clock", tm->number, tm->clock);
	}
	case_free(c);
	return 0;
}

static void outbox_problem(const char *text, void *ctx)
{
	struct store_check *sc = ctx;

	sc->outbox_problems++;
	problem(sc->ck, "%s", text);
}

static void check_store(struct check *ck, struct engine *eng)
{
	struct store_check sc = { .ck = ck, .eng = eng };
	size_t quarantined = 0, notices = 0, pending = 0;
	tdk_err err;
	char line[160];

	if (store_begin(eng->store, false, &sc.txn, &err) != TDK_OK) {
		problem(ck, "case store: %s", err.text);
		return;
	}
	if (store_case_foreach(sc.txn, 0, check_case, &sc, &err) != TDK_OK ||
	    store_timer_foreach(sc.txn, check_timer, &sc, &err) != TDK_OK ||
	    store_quarantine_count(sc.txn, &quarantined, &err) != TDK_OK ||
	    store_outbox_index_verify(sc.txn, outbox_problem, &sc, &notices, &pending,
				      &err) != TDK_OK)
		problem(ck, "case store: %s", err.text);
	store_abort(sc.txn);
	g_snprintf(line, sizeof line,
		   "%zu cases, %zu running clocks, %zu armed timers, %zu quarantined records",
		   sc.cases, sc.clocks, sc.timers, quarantined);
	if (sc.undecodable + sc.missing + sc.stray == 0)
		ok("case store", line);
	g_snprintf(line, sizeof line, "%zu notices, %zu queued or deferred; its indexes agree",
		   notices, pending);
	if (sc.outbox_problems == 0)
		ok("outbox", line);
	if (quarantined > 0)
		problem(ck, "the case store holds %zu quarantined records that did not "
			"decode: they need a person", quarantined);
}

static void check_spool(struct check *ck, const struct ctl_env *env)
{
	g_autofree char *dir = g_build_filename(env->config->state_dir, "spool", NULL);
	struct spool *sp;
	size_t entries = 0, quarantined = 0;
	char line[120];
	tdk_err err;

	if (spool_open_shared(dir, 0, SPOOL_READONLY, env->config->spool_group, &sp,
			      &err) != TDK_OK) {
		problem(ck, "intake spool: %s", err.text);
		return;
	}
	if (spool_count(sp, &entries, &quarantined, &err) != TDK_OK)
		problem(ck, "intake spool: %s", err.text);
	spool_close(sp);
	g_snprintf(line, sizeof line, "%zu entries waiting, %zu quarantined",
		   entries, quarantined);
	ok("intake spool", line);
	if (quarantined > 0)
		problem(ck, "the intake spool holds %zu quarantined mails: see "
			"'todokectl spool'", quarantined);
}

int ctl_check(const struct ctl_env *env, int argc, char **argv)
{
	struct check ck = { 0 };
	struct engine *eng = NULL;
	tdk_err err;
	int rc;

	if (argc != 1)
		return ctl_usage_error(env, "usage: check");
	ok("configuration", env->config->source != NULL ? env->config->source
							: "built-in defaults");
	rc = engine_open(env->config, ENGINE_NO_SPOOL | ENGINE_READONLY, &eng, &err);
	if (rc == TDK_ENOENT && strncmp(err.text, "no case store", 13) == 0) {
		problem(&ck, "%s yet: todoke-processor makes it when it first starts",
			err.text);
	} else if (rc != TDK_OK) {
		problem(&ck, "%s", err.text);
	} else {
		ok("rules, business calendar and notice templates", env->config->rules_dir);
		check_store(&ck, eng);
		engine_close(eng);
	}
	check_gnupg(&ck, env->config);
	check_spool(&ck, env);
	printf("%s\n", ck.problems == 0 ? "everything is fine"
					: "some things need attention (PROBLEM above)");
	return ck.problems == 0 ? 0 : EXIT_NO;
}
