/*
 * store.h - the case store: one LMDB environment, owned by the processor.
 *
 * Owns: the on-disk layout of the case store and every read and write of
 * it, in explicit transactions. Named databases (format version 1):
 *   cases      case number (8 bytes BE) -> case record (case.h)
 *   events     case number + sequence (8 + 4 bytes BE) -> event record
 *   timers     due (8) + case (8) + clock (1), BE -> clock parameters;
 *              the index that makes a tick O(due): it is kept in step with
 *              the case records by store_case_put() alone
 *   msgids     Message-ID the desk sent (or received a report as) -> case
 *   consumed   spool entry id (8 BE) -> case + time: exactly-once intake
 *   outbox     notice intent id (8 BE) -> notice intent (outbox.h)
 *   outbox_pending  id (8 BE) -> 'q' or 'd' + rendered (1) + next_try (8):
 *              the notices that are queued or deferred (what delivery
 *              walks)
 *   outbox_sent     lowercased recipient (or NUL + its SHA-256 when longer
 *              than 400 bytes) + NUL + sent (8, offset like the timers) +
 *              id (8) -> "": what the recipients' daily cap counts
 *   outbox_case     case number (8 BE) + id (8 BE) -> "": a case's notices
 *              (none for desk-wide notices, case 0)
 *              The three outbox indexes are kept in step with the outbox
 *              by store_outbox_put() alone; a store without them gets them
 *              built when it is first opened for writing ("outbox_index").
 *   attention  staff notice id (8 BE) -> staff notice (outbox.h)
 *   quarantine "db/" + key -> the raw bytes of a record that did not decode
 *   meta       "format", "outbox_index" (the outbox indexes' version),
 *              "next_case", "next_outbox", "next_attention",
 *              "calendar" (the fingerprint the timers were computed with),
 *              "mailcmd.*" (counters of staff command mail, engine_mailcmd.c),
 *              "last_digest", "digest_attention", "digest_mailcmd" (what
 *              the last staff digest covered, flow_timer.c)
 *   replay     what a staff command mail may use only once: "s" + the
 *              SHA-256 of its signature, "m" + its Message-ID; and "r" +
 *              the Message-ID of any other mail applied, so that the same
 *              mail spooled twice is applied once -> accepted, expires,
 *              spool id (8 + 8 + 8 BE); "x" + expires (8) + that key -> ""
 *              (the index store_replay_prune walks)
 * Discoverer personal data lives apart, in a second environment in the
 * subdirectory "pii", so that it can be destroyed and compacted away.
 *
 * Errors: TDK_EFULL for MDB_MAP_FULL and a full disk (the transaction is
 * then dead: abort it, keep the work, retry later), TDK_ECORRUPT for a
 * record that does not decode (quarantine it), TDK_ENOENT, TDK_EIO.
 * A store_txn is used by one thread; store_commit/store_abort free it.
 */
#ifndef TODOKE_STORE_H
#define TODOKE_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "case.h"
#include "outbox.h"
#include "status.h"

struct store;
struct store_txn;

enum store_open_flags { STORE_READONLY = 1 << 0 };

/* Opens (creating unless STORE_READONLY: directories 0700, files 0600)
 * the store in dir. map_size 0 keeps LMDB's default or the file's size. */
int store_open(const char *dir, size_t map_size, unsigned flags,
	       struct store **out, tdk_err *err);
void store_close(struct store *st); /* NULL is fine */
const char *store_dir(const struct store *st);

int store_begin(struct store *st, bool write, struct store_txn **out,
		tdk_err *err);
/* Durable on return (fsync). Frees txn in every case. */
int store_commit(struct store_txn *txn, tdk_err *err);
void store_abort(struct store_txn *txn); /* NULL is fine */

/* ---- cases */
int store_case_allocate(struct store_txn *txn, uint64_t *number, tdk_err *err);
int store_case_get(struct store_txn *txn, uint64_t number,
		   struct case_rec **out, tdk_err *err);
/* Writes c and brings the timer index in step with its clocks: an active
 * clock of a case that is not paused is armed at its due time (computed
 * with cal), anything else is disarmed. Updates c->clocks[].armed_due. */
int store_case_put(struct store_txn *txn, struct case_rec *c,
		   const struct cal *cal, tdk_err *err);
/* Calls fn for every case after number `after` in order until fn returns
 * non-zero (which is returned). A record that does not decode is passed
 * as NULL with its number. */
typedef int (*store_case_fn)(uint64_t number, const struct case_rec *c,
			     void *ctx);
int store_case_foreach(struct store_txn *txn, uint64_t after, store_case_fn fn,
		       void *ctx, tdk_err *err);
int store_case_count(struct store_txn *txn, size_t *count, tdk_err *err);
/* The next case number that store_case_allocate would give (for checks). */
int store_case_next(struct store_txn *txn, uint64_t *next, tdk_err *err);

/* ---- events (append-only) */
/* Appends e as event number c->n_events and increments it. */
int store_event_append(struct store_txn *txn, struct case_rec *c,
		       const struct case_event *e, tdk_err *err);
typedef int (*store_event_fn)(int seq, const struct case_event *e, void *ctx);
int store_event_foreach(struct store_txn *txn, uint64_t number,
			store_event_fn fn, void *ctx, tdk_err *err);

/* ---- timers */
struct store_timer {
	int64_t due;
	uint64_t number;
	int clock;
};
/* Up to max timers due at or before now, earliest first. */
int store_timers_due(struct store_txn *txn, int64_t now, size_t max,
		     struct store_timer *out, size_t *n, tdk_err *err);
/* The earliest armed timer: TDK_ENOENT when there is none. */
int store_timer_first(struct store_txn *txn, struct store_timer *out,
		      tdk_err *err);
int store_timer_count(struct store_txn *txn, size_t *count, tdk_err *err);
/* Calls fn for every armed timer, earliest first, until it returns non-zero. */
typedef int (*store_timer_fn)(const struct store_timer *tm, void *ctx);
int store_timer_foreach(struct store_txn *txn, store_timer_fn fn, void *ctx,
			tdk_err *err);
/* TDK_OK if that timer is armed, TDK_ENOENT if not. */
int store_timer_exists(struct store_txn *txn, const struct store_timer *tm,
		       tdk_err *err);
/* Recomputes every armed timer's due time with cal; moves those that
 * changed (and the armed_due of their case). *changed may be NULL. */
int store_timers_recompute(struct store_txn *txn, const struct cal *cal,
			   size_t *checked, size_t *changed, tdk_err *err);
/* The same in transactions of its own: one read transaction finds the
 * moved timers, then their cases are rewritten cases_per_txn to a
 * commit, so that a large change never holds more than that many cases'
 * pages in memory. Interrupted, it leaves each case consistent (with its
 * old or its new deadlines); running it again finishes the work. */
int store_timers_recompute_batched(struct store *st, const struct cal *cal,
				   size_t cases_per_txn, size_t *checked,
				   size_t *changed, tdk_err *err);

/* ---- Message-IDs (without angle brackets) */
int store_msgid_put(struct store_txn *txn, const char *msgid, uint64_t number,
		    tdk_err *err);
int store_msgid_get(struct store_txn *txn, const char *msgid, uint64_t *number,
		    tdk_err *err);

/* ---- consumed spool entries */
int store_consumed_get(struct store_txn *txn, uint64_t spool_id,
		       uint64_t *number, tdk_err *err);
int store_consumed_put(struct store_txn *txn, uint64_t spool_id,
		       uint64_t number, int64_t when, tdk_err *err);

/* ---- outbox and staff attention (items in outbox.h) */
/* Assigns item->id when it is 0. Brings the outbox indexes in step. */
int store_outbox_put(struct store_txn *txn, struct outbox_item *item,
		     tdk_err *err);
int store_outbox_get(struct store_txn *txn, uint64_t id,
		     struct outbox_item **out, tdk_err *err);
typedef int (*store_outbox_fn)(const struct outbox_item *item, void *ctx);
int store_outbox_foreach(struct store_txn *txn, store_outbox_fn fn, void *ctx,
			 tdk_err *err);
/* store_outbox_put() of an intent that exists, its old record zeroed
 * first (for forgetting a recipient: scrub.h). */
int store_outbox_replace_scrubbed(struct store_txn *txn, struct outbox_item *item,
				  tdk_err *err);
/* A notice that is queued or deferred, as the pending index has it. */
struct store_pending {
	uint64_t id;
	bool deferred;     /* else queued */
	bool rendered;     /* its message is rendered already */
	int64_t next_try;  /* deferred: not before */
};
typedef int (*store_pending_fn)(const struct store_pending *p, void *ctx);
/* Calls fn for every queued or deferred notice, in id order, until fn
 * returns non-zero (which is returned). Reads no notice record. */
int store_outbox_pending_foreach(struct store_txn *txn, store_pending_fn fn,
				 void *ctx, tdk_err *err);
/* How many notices other than `except` were sent to recipient (compared
 * without case) at or after since. */
int store_outbox_sent_count(struct store_txn *txn, const char *recipient,
			    int64_t since, uint64_t except, size_t *count,
			    tdk_err *err);
/* Calls fn for the notices of case number (not 0) in id order, until fn
 * returns non-zero (which is returned). */
int store_outbox_case_foreach(struct store_txn *txn, uint64_t number,
			      store_outbox_fn fn, void *ctx, tdk_err *err);
/* Compares the outbox indexes with the outbox: fn gets a sentence for
 * every disagreement. *notices and *pending (may be NULL): the notices
 * and the pending index's entries. */
typedef void (*store_problem_fn)(const char *text, void *ctx);
int store_outbox_index_verify(struct store_txn *txn, store_problem_fn fn,
			      void *ctx, size_t *notices, size_t *pending,
			      tdk_err *err);
int store_attention_put(struct store_txn *txn, struct attention_item *item,
			tdk_err *err);
typedef int (*store_attention_fn)(const struct attention_item *item, void *ctx);
/* Items with an id greater than after, in order. */
int store_attention_foreach(struct store_txn *txn, uint64_t after,
			    store_attention_fn fn, void *ctx, tdk_err *err);

/* ---- replay: staff command signatures and Message-IDs, accepted once */
enum store_replay_kind {
	STORE_REPLAY_SIGNATURE = 's',  /* key: a digest (at most 400 bytes) */
	STORE_REPLAY_MESSAGE_ID = 'm', /* key: the Message-ID without <> */
	STORE_REPLAY_MAIL = 'r',       /* key: the Message-ID of a mail applied */
};
struct store_replay {
	int64_t accepted;   /* when it was first seen */
	int64_t expires;    /* when store_replay_prune may forget it */
	uint64_t spool_id;  /* the spool entry that used it */
};
/* TDK_OK and *out (may be NULL) when known, TDK_ENOENT when not. */
int store_replay_get(struct store_txn *txn, enum store_replay_kind kind,
		     const void *key, size_t len, struct store_replay *out,
		     tdk_err *err);
/* Records (or replaces) it. */
int store_replay_put(struct store_txn *txn, enum store_replay_kind kind,
		     const void *key, size_t len, const struct store_replay *r,
		     tdk_err *err);
/* Forgets up to max records that expired at or before now, oldest first;
 * *pruned (may be NULL) tells how many. */
int store_replay_prune(struct store_txn *txn, int64_t now, size_t max,
		       size_t *pruned, tdk_err *err);
/* How many signatures and Message-IDs are remembered (either may be NULL). */
int store_replay_count(struct store_txn *txn, size_t *signatures,
		       size_t *message_ids, tdk_err *err);

/* ---- meta text values */
int store_meta_get(struct store_txn *txn, const char *key, char **value,
		   tdk_err *err);
int store_meta_put(struct store_txn *txn, const char *key, const char *value,
		   tdk_err *err);

/* ---- quarantine: moves the raw record of db/key there */
int store_quarantine_case(struct store_txn *txn, uint64_t number, tdk_err *err);
int store_quarantine_count(struct store_txn *txn, size_t *count, tdk_err *err);

/* ---- discoverer personal data (its own environment, own commits) */
struct pii_rec {
	char *address;
	char *name;
	char *postal;
	char *phone;
	GBytes *report;     /* the report mail as received */
	GBytes *decrypted;  /* its decrypted form, or NULL */
	int64_t stored;
};
void pii_rec_free(struct pii_rec *p);
/* Durable on return. Replaces what was there. */
int store_pii_put(struct store *st, uint64_t number, const struct pii_rec *p,
		  tdk_err *err);
int store_pii_get(struct store *st, uint64_t number, struct pii_rec **out,
		  tdk_err *err);
/* Deletes the record, zeroed first. Its bytes stay in the file's free
 * pages until store_scrub(). */
int store_pii_delete(struct store *st, uint64_t number, tdk_err *err);

/* Overwrites with zeros the free pages of the case store and the personal
 * data store (scrub.h), after personal data was destroyed. Outside any
 * transaction of st. *pages (may be NULL): pages written. */
int store_scrub(struct store *st, size_t *pages, tdk_err *err);

#endif
