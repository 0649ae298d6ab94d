/*
 * mf_policy.c - the one function that decides what the MTA is told.
 *
 * Every callback ends in mf_verdict(); nowhere else sets an SMTP reply or
 * picks an sfsistat. Our own failures always answer 451 4.3.0 so that no
 * mail is lost; only a cap on the mail refuses it permanently.
 */
#include "config.h"

#include "milter.h"

sfsistat mf_verdict(SMFICTX *ctx, enum mf_outcome outcome, const char *code,
		    const char *xcode, const char *text, bool no_reply)
{
	switch (outcome) {
	case MF_NOT_FOR_DESK:
		return SMFIS_ACCEPT;
	case MF_CONTINUE:
		return no_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	case MF_SPOOLED:
		return mf_state.discard_after_capture ? SMFIS_DISCARD : SMFIS_CONTINUE;
	case MF_SPOOLED_SHARED:
		return SMFIS_CONTINUE;
	case MF_REFUSED_LIMIT:
		smfi_setreply(ctx, (char *)code, (char *)xcode, (char *)text);
		return SMFIS_REJECT;
	case MF_TEMPFAIL:
		smfi_setreply(ctx, "451", "4.3.0", (char *)text);
		return SMFIS_TEMPFAIL;
	}
	smfi_setreply(ctx, "451", "4.3.0", "todoke: internal error");
	return SMFIS_TEMPFAIL;
}
