/*
 * engine.h - the processor's work loop, one step at a time.
 *
 * Owns: the desk's loaded policy (config, rules, templates, calendar), the
 * open case store and intake spool, and the steps the daemon (and
 * todokectl do) repeat: consume spool entries exactly once, fire due
 * timers, produce the daily digest, apply staff commands (typed, or by
 * signed mail: engine_mailcmd.c). Each step runs in store transactions it
 * commits itself; the caller passes the injected time.
 *
 * Exactly once: an entry's id is recorded as consumed in the same store
 * transaction as its case changes; the spool entry is deleted after that
 * commit (the entries a drain applied, in one spool commit at its end),
 * and an entry found consumed is only deleted. A storage failure
 * (TDK_EFULL, TDK_EIO) keeps the entry for the next attempt.
 *
 * A report the milter could not decrypt in time (decrypt-deferred) is
 * decrypted again here, with backoff, until it works or
 * processor.decrypt_retry_hours have passed since it arrived; then it is
 * applied as it is and staff are told.
 */
#ifndef TODOKE_ENGINE_H
#define TODOKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "command.h"
#include "conf.h"
#include "intake.h"
#include "pgp.h"
#include "rules.h"
#include "spool.h"
#include "status.h"
#include "store.h"
#include "template.h"

struct engine {
	const struct tdk_config *config; /* borrowed */
	const struct rules *rules;
	const struct templates *templates; /* rules_dir/templates, checked */
	struct cal *cal;
	struct store *store;
	struct spool *spool;             /* NULL when opened without it */
	char *calendar_fingerprint;
	struct pgp *pgp;                 /* retries deferred decryptions */
	struct intake_config intake;
	GHashTable *retry_at;            /* spool id -> next decryption retry */
	struct signer *signer;           /* the desk key (deliver.c), lazily */
};

/* Cases rewritten per commit when a changed calendar moves deadlines. */
#define ENGINE_RECOMPUTE_BATCH 2000

enum engine_open_flags {
	ENGINE_NO_SPOOL = 1 << 0,   /* todokectl: the store alone */
	ENGINE_READONLY = 1 << 1,   /* the store read-only */
};

/* Loads the rules, the notice templates (a broken template fails like a
 * broken rules file) and the calendar, opens the store (and spool). When
 * the calendar differs from the one the timers were computed with, every
 * armed timer is recomputed (logged with the counts), in commits of
 * ENGINE_RECOMPUTE_BATCH cases. */
int engine_open(const struct tdk_config *config, unsigned flags,
		struct engine **out, tdk_err *err);
void engine_close(struct engine *eng);

struct flow;
/* Sets f up for work in txn at now, as actor ("mail", "timer", ...), on
 * eng's store, configuration, rules and calendar; errors go to err. */
void engine_flow(struct engine *eng, struct flow *f, struct store_txn *txn,
		 int64_t now, const char *actor, tdk_err *err);

struct engine_stats {
	size_t applied;     /* spool entries applied to cases */
	size_t skipped;     /* already consumed: only deleted */
	size_t deferred;    /* left in the spool (storage trouble) */
	size_t quarantined; /* spool records that did not decode */
	size_t fired;       /* timers acted on */
	bool digest;        /* a digest was produced */
	size_t sent;        /* notices handed to sendmail */
	size_t deferred_notices; /* notices sendmail did not take, for now */
	size_t failed;      /* notices failed (permanently, or out of tries) */
};

/* Applies up to max spool entries. A storage failure stops the step
 * with its status; the entry stays. */
int engine_drain(struct engine *eng, int64_t now, size_t max,
		 struct engine_stats *stats, tdk_err *err);
/* Fires up to max timers due at now in one transaction. */
int engine_tick(struct engine *eng, int64_t now, size_t max,
		struct engine_stats *stats, tdk_err *err);
/* The staff digest, if due. */
int engine_digest(struct engine *eng, int64_t now, struct engine_stats *stats,
		  tdk_err *err);
/*
 * Delivers up to max queued (and due deferred) notice intents through
 * outbound.sendmail (deliver.c): each is checked against its case's
 * parties, capped per recipient per day, rendered, signed (encrypted to
 * the recipient's key when known), stored, then handed over; the outcome
 * is recorded (sent, deferred with backoff, failed with staff attention).
 * Nothing is done when outbound.sendmail is empty.
 */
int engine_deliver(struct engine *eng, int64_t now, size_t max,
		   struct engine_stats *stats, tdk_err *err);
/* Renders, signs (encrypts to key, when not NULL) and builds o's message
 * into o->rendered, as delivery does, without threading it to earlier
 * notices and without touching the store (benchmarks, previews). */
struct case_rec;
struct pii_rec;
struct outbox_item;
int engine_render_notice(struct engine *eng, struct outbox_item *o,
			 const struct case_rec *c, const struct pii_rec *pii,
			 const char *to, const char *key, int64_t now, tdk_err *err);
/* The earliest armed timer, or TDK_ENOENT. */
int engine_next_due(struct engine *eng, int64_t *due, tdk_err *err);

/*
 * A staff command mail (engine_mailcmd.c, mailcmd.h): authenticated by
 * its one OpenPGP signature, checked against the replay record, its
 * commands applied all or nothing as "staff:FPR", a transcript intent to
 * the signer; or refused (with a transcript when a staff key signed,
 * silently and counted otherwise). Consumed exactly once in the same
 * transaction; a storage failure keeps it in the spool.
 */
int engine_command_mail(struct engine *eng, const struct spool_entry *e,
			int64_t now, struct engine_stats *stats, tdk_err *err);

/* Applies commands all-or-nothing, as actor, in one transaction. */
int engine_commands(struct engine *eng, int64_t now, const char *actor,
		    struct command *const *cmds, size_t n, tdk_err *err);

/*
 * Personal-data destruction (engine_purge.c). engine_scrub() overwrites
 * the free pages of the case store, the personal data store and the spool
 * (if open) with zeros, so that destroyed data is gone from the files;
 * engine_tick() calls it after a retention timer destroyed data.
 */
int engine_scrub(struct engine *eng, size_t *pages, tdk_err *err);

/* A closed or not-accepted case whose personal data is due for
 * destruction, or kept by a legal hold. No personal data in it. */
struct engine_purge_item {
	uint64_t number;
	int64_t ended;       /* closed, or not accepted */
	int64_t due;         /* end of the retention */
	bool held;           /* legal hold: kept */
	bool name, address, postal, phone; /* which are stored */
	size_t report_bytes, decrypted_bytes;
};
typedef void (*engine_purge_fn)(const struct engine_purge_item *item, void *ctx);
/*
 * Calls fn for every case whose retention ended at or before now, and for
 * every held case; unless dry_run, destroys the personal data of the
 * first kind (as the retention timer does) in one transaction, sets
 * *destroyed, and scrubs.
 */
int engine_purge(struct engine *eng, int64_t now, bool dry_run, engine_purge_fn fn,
		 void *ctx, size_t *destroyed, tdk_err *err);

/* The calendar's fingerprint (hex SHA-256 of its zone and business days). */
char *engine_calendar_fingerprint(const struct cal *cal);

#endif
