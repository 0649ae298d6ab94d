/*
 * mf_state.c - the milter's process-wide state and its back ends.
 *
 * Owns: mf_state, built once at start from the configuration: the intake
 * settings, the OpenPGP context (whose GnuPG home is checked here) and the
 * intake spool under paths.state_dir/spool.
 */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>

#include "milter.h"

struct mf_state mf_state;

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
	rc = pgp_new(&pgp_cfg, &mf_state.pgp, err);
	if (rc != TDK_OK)
		return rc;
	if (!need_spool)
		return TDK_OK;
	spool_dir = g_build_filename(config->state_dir, "spool", NULL);
	if (g_mkdir_with_parents(config->state_dir, 0750) != 0)
		return tdk_err_set(err, TDK_EIO, "%s: cannot create: %s",
				   config->state_dir, g_strerror(errno));
	return spool_open(spool_dir, (size_t)config->spool_map_size, 0,
			  &mf_state.spool, err);
}

void mf_close_backends(void)
{
	spool_close(mf_state.spool);
	mf_state.spool = NULL;
	pgp_free(mf_state.pgp);
	mf_state.pgp = NULL;
}
