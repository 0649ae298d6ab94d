/*
 * flow.h - the coordination state machine.
 *
 * Owns: every change to a case. An incoming mail (a spool entry), a staff
 * command, a timer that falls due and the daily digest each become one
 * call here, made inside a store write transaction the caller commits or
 * aborts as a whole. Every number comes from the rules; every instant
 * from flow.now (never the wall clock).
 *
 * A function that fails leaves a message in flow.err and the caller must
 * abort the transaction: nothing of a failed call may be kept.
 */
#ifndef TODOKE_FLOW_H
#define TODOKE_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "calendar.h"
#include "casenum.h"
#include "command.h"
#include "conf.h"
#include "rules.h"
#include "spool.h"
#include "status.h"
#include "store.h"

struct flow {
	struct store *store;         /* for the personal data store */
	struct store_txn *txn;       /* the write transaction */
	const struct tdk_config *config;
	const struct rules *rules;
	const struct cal *cal;
	struct casenum_format format;
	int64_t now;
	const char *actor;           /* who acts: "mail", "timer", "staff:FPR" */
	uint64_t spool_id;           /* the mail commands came in, for their */
	const char *message_id;      /* events (0 and NULL: typed locally) */
	tdk_err *err;
	/* personal data to write before the commit: number -> struct pii_rec */
	GHashTable *pii_pending;
	/* results of the last call, for logs */
	uint64_t case_number;
	const char *what;            /* a static word: "new case", "reply", ... */
};

/* Fills the fields that come from the configuration. */
void flow_init(struct flow *f, struct store *store, const struct tdk_config *config,
	       const struct rules *rules, const struct cal *cal);
/* Writes the personal data the calls left pending (durably), then
 * forgets it; flow_clear() forgets it without writing. */
int flow_pii_flush(struct flow *f);
void flow_clear(struct flow *f);

/* The canonical text of a case number ("IPA#00000012"), g_free it. */
char *flow_case_text(const struct flow *f, uint64_t number);

/* Whether a deadline of c passed at now without what it waited for (the
 * 一次返信, the investigation result, the fix report); *clock the first
 * such clock. Reads the case only. */
bool flow_case_overdue(const struct case_rec *c, const struct cal *cal,
		       int64_t now, int *clock);

/* Applies one captured mail. The caller records the spool id as consumed
 * in the same transaction. */
int flow_apply_entry(struct flow *f, const struct spool_entry *e);

/* Validates and applies one staff command. */
int flow_apply_command(struct flow *f, const struct command *cmd);

/* Records in case number's event log that a signed command mail changed
 * it ("command-mail", with f->spool_id and f->message_id); text says by
 * whom and what. */
int flow_command_mail(struct flow *f, uint64_t number, const char *text);

/* Creates a notice intent for no case to one address of the desk's staff
 * (audience "staff") in language lang, e.g. the transcript of a command
 * mail or the daily digest; its Message-ID is set into *message_id
 * (g_free) when that is not NULL. */
int flow_desk_notice(struct flow *f, const char *notice, const char *to,
		     const char *lang, const char *detail, char **message_id);

/* Acts on a timer that fell due (its case's clock). */
int flow_fire(struct flow *f, const struct store_timer *tm);

/* Produces the staff digest for the business day of f->now if it is due
 * and not yet produced. *made tells whether it was. */
int flow_digest(struct flow *f, bool *made);

#endif
