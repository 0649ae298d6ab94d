/*
 * mf_state.c - the milter's process-wide state and its back ends.
 *
 * Owns: mf_state, built once at start from the configuration: the intake
 * settings, the OpenPGP context (whose GnuPG home is checked here; with
 * gpg.helper, its crypto helper is started here, as this program run with
 * --crypto-helper) and the intake spool under paths.state_dir/spool.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "milter.h"

struct mf_state mf_state;

/*
 * The OpenPGP context. With gpg.helper, GPGME runs in a helper that is this
 * program again (by its path, so that ps shows what it is; by
 * /proc/self/exe if the file has been replaced since it was started). It
 * is started after the switch to milter.user, so it runs as that user.
 */
static int open_pgp(const struct tdk_config *config,
		    const struct pgp_config *cfg, tdk_err *err)
{
	static const char deleted[] = " (deleted)";
	char self[PATH_MAX];
	const char *argv[] = { self, "--crypto-helper", NULL };
	ssize_t n;

	if (!config->gpg_helper)
		return pgp_new(cfg, &mf_state.pgp, err);
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 || (size_t)n >= sizeof self - 1)
		n = 0;
	self[n] = '\0';
	if (n == 0 || ((size_t)n > strlen(deleted) &&
		       strcmp(self + n - strlen(deleted), deleted) == 0))
		strcpy(self, "/proc/self/exe");
	return pgp_new_with_helper(cfg, argv, &mf_state.pgp, err);
}

int mf_open_backends(const struct tdk_config *config, bool need_spool,
		     tdk_err *err)
{
	struct pgp_config pgp_cfg = {
		.gnupg_home = config->gnupg_home,
		.time_budget_ms = (int)config->gpg_time_budget_ms,
		.max_concurrent = (int)config->gpg_max_concurrent,
		.max_output = (size_t)config->max_decrypted_size + 1,
	};
	g_autofree char *spool_dir = NULL;
	int rc;

	mf_state.config = config;
	intake_config_init(config, &mf_state.intake);
	mf_state.discard_after_capture =
		g_strcmp0(config->milter_after_capture, "discard") == 0;
	tdk_clock_init_system(&mf_state.clock);
	rc = casenum_format_check(&mf_state.intake.case_format, err);
	if (rc != TDK_OK)
		return rc;
	rc = open_pgp(config, &pgp_cfg, err);
	if (rc != TDK_OK)
		return rc;
	if (!need_spool)
		return TDK_OK;
	spool_dir = g_build_filename(config->state_dir, "spool", NULL);
	if (g_mkdir_with_parents(config->state_dir, 0750) != 0)
		return tdk_err_set(err, TDK_EIO, "%s: cannot create: %s",
				   config->state_dir, g_strerror(errno));
	return spool_open_shared(spool_dir, (size_t)config->spool_map_size, 0,
				 config->spool_group, &mf_state.spool, err);
}

void mf_close_backends(void)
{
	spool_close(mf_state.spool);
	mf_state.spool = NULL;
	pgp_free(mf_state.pgp);
	mf_state.pgp = NULL;
}
