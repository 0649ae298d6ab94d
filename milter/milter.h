/*
 * milter.h - what the milter's modules share.
 *
 * Owns: the process-wide state the callbacks read (configuration, intake
 * settings, OpenPGP, spool, clock), set once at start and read-only after.
 * mf_callbacks.c owns the libmilter callbacks and the per-connection and
 * per-message context; mf_policy.c owns every SMTP verdict; mf_testmode.c
 * owns `todoke-milter -t`.
 */
#ifndef TODOKE_MILTER_H
#define TODOKE_MILTER_H

#include <libmilter/mfapi.h>
#include <stdbool.h>

#include "clock.h"
#include "conf.h"
#include "intake.h"
#include "pgp.h"
#include "spool.h"

struct mf_state {
	const struct tdk_config *config;
	struct intake_config intake;
	struct pgp *pgp;
	struct spool *spool;
	struct tdk_clock clock;
	bool discard_after_capture;
};

extern struct mf_state mf_state;

/* Opens OpenPGP and the spool for mf_state; 0 or an error message in err. */
int mf_open_backends(const struct tdk_config *config, bool need_spool,
		     tdk_err *err);
void mf_close_backends(void);

/* The filter description for smfi_register(). */
extern struct smfiDesc mf_filter;

/* Every outcome of a message, and the one place that turns it into SMTP. */
enum mf_outcome {
	MF_NOT_FOR_DESK,   /* no desk recipient: hand the mail back */
	MF_CONTINUE,       /* keep collecting */
	MF_SPOOLED,        /* durably spooled: deliver or discard per config */
	MF_SPOOLED_SHARED, /* spooled, desk recipients removed, others go on */
	MF_REFUSED_LIMIT,  /* a cap was exceeded: permanent refusal */
	MF_TEMPFAIL,       /* our own failure: the MTA retries */
};

sfsistat mf_verdict(SMFICTX *ctx, enum mf_outcome outcome, const char *code,
		    const char *xcode, const char *text, bool no_reply);

int mf_test_mode(const char *file, const char *const *recipients,
		 size_t n_recipients, const char *sender, bool dry_run);

#endif
