/*
 * engine.c - the processor's steps: drain the spool, fire timers, digest,
 * apply commands (see engine.h).
 */
#include "engine.h"
#include "sign.h"
#include "flow.h"
#include "log.h"

#include <string.h>

char *engine_calendar_fingerprint(const struct cal *cal)
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	civil_day first = civil_from_ymd(CAL_FIRST_YEAR, 1, 1);
	civil_day last = civil_from_ymd(CAL_LAST_YEAR, 12, 31);
	guint8 bits = 0;
	int nbits = 0;
	char *hex;

	g_checksum_update(sum, (const guchar *)cal_timezone(cal), -1);
	for (civil_day d = first; d <= last; d++) {
		bits = (guint8)((bits << 1) | (cal_is_business_day(cal, d) ? 1 : 0));
		if (++nbits == 8) {
			g_checksum_update(sum, &bits, 1);
			bits = 0;
			nbits = 0;
		}
	}
	g_checksum_update(sum, &bits, 1);
	hex = g_strdup(g_checksum_get_string(sum));
	g_checksum_free(sum);
	return hex;
}

/* Recomputes the timers when the calendar changed since they were set,
 * ENGINE_RECOMPUTE_BATCH cases to a commit; the new calendar's
 * fingerprint is stored last, so that an interrupted recompute is done
 * again at the next start. */
static int check_calendar(struct engine *eng, tdk_err *err)
{
	struct store_txn *txn;
	g_autofree char *stored = NULL;
	size_t checked = 0, changed = 0;
	int rc = store_begin(eng->store, false, &txn, err);

	if (rc != TDK_OK)
		return rc;
	rc = store_meta_get(txn, "calendar", &stored, err);
	store_abort(txn);
	if (rc == TDK_OK && strcmp(stored, eng->calendar_fingerprint) == 0)
		return TDK_OK;
	if (rc == TDK_OK) /* a known, different calendar */
		rc = store_timers_recompute_batched(eng->store, eng->cal,
						    ENGINE_RECOMPUTE_BATCH, &checked,
						    &changed, err);
	else if (rc == TDK_ENOENT)
		rc = TDK_OK;
	if (rc == TDK_OK)
		rc = store_begin(eng->store, true, &txn, err);
	if (rc != TDK_OK)
		return rc;
	rc = store_meta_put(txn, "calendar", eng->calendar_fingerprint, err);
	if (rc != TDK_OK) {
		store_abort(txn);
		return rc;
	}
	rc = store_commit(txn, err);
	if (rc == TDK_OK && stored != NULL)
		msg_info("the calendar changed: %zu pending deadlines checked, %zu moved",
			 checked, changed);
	return rc;
}

int engine_open(const struct tdk_config *config, unsigned flags,
		struct engine **out, tdk_err *err)
{
	struct engine *eng = g_new0(struct engine, 1);
	g_autofree char *store_dir = g_build_filename(config->state_dir, "store", NULL);
	g_autofree char *spool_dir = g_build_filename(config->state_dir, "spool", NULL);
	int rc;

	eng->config = config;
	rc = rules_load_dir(config->rules_dir, &eng->rules, err);
	if (rc == TDK_OK)
		rc = templates_load(config->rules_dir, &eng->templates, err);
	if (rc == TDK_OK)
		rc = rules_build_calendar(eng->rules, config->calendar_timezone,
					  &eng->cal, err);
	if (rc == TDK_OK)
		rc = store_open(store_dir, (size_t)config->store_map_size,
				(flags & ENGINE_READONLY) ? STORE_READONLY : 0,
				&eng->store, err);
	if (rc == TDK_OK && !(flags & ENGINE_NO_SPOOL))
		rc = spool_open_shared(spool_dir, (size_t)config->spool_map_size, 0,
				       config->spool_group, &eng->spool, err);
	if (rc == TDK_OK && !(flags & ENGINE_NO_SPOOL)) {
		struct pgp_config pc = {
			.gnupg_home = conf_processor_gnupg_home(config),
			.time_budget_ms = (int)config->gpg_time_budget_ms,
			.max_concurrent = 1,
			.max_output = (size_t)config->max_decrypted_size + 1,
		};

		intake_config_init(config, &eng->intake);
		eng->retry_at = g_hash_table_new_full(g_int64_hash, g_int64_equal,
						      g_free, g_free);
		rc = pgp_new(&pc, &eng->pgp, err);
	}
	if (rc == TDK_OK) {
		eng->calendar_fingerprint = engine_calendar_fingerprint(eng->cal);
		if (!(flags & ENGINE_READONLY))
			rc = check_calendar(eng, err);
	}
	if (rc != TDK_OK) {
		engine_close(eng);
		return rc;
	}
	*out = eng;
	return TDK_OK;
}

void engine_close(struct engine *eng)
{
	if (eng == NULL)
		return;
	pgp_free(eng->pgp);
	sign_free(eng->signer);
	if (eng->retry_at != NULL)
		g_hash_table_destroy(eng->retry_at);
	spool_close(eng->spool);
	store_close(eng->store);
	cal_free(eng->cal);
	templates_free(eng->templates);
	rules_free(eng->rules);
	g_free(eng->calendar_fingerprint);
	g_free(eng);
}

void engine_flow(struct engine *eng, struct flow *f, struct store_txn *txn,
		 int64_t now, const char *actor, tdk_err *err)
{
	flow_init(f, eng->store, eng->config, eng->rules, eng->cal);
	f->txn = txn;
	f->now = now;
	f->actor = actor;
	f->err = err;
}

static bool storage_trouble(int rc)
{
	return rc == TDK_EFULL || rc == TDK_EIO || rc == TDK_ENOMEM;
}

#define RETRY_FIRST 60     /* seconds before the first retry */
#define RETRY_MAX 3600     /* the longest wait between retries */

/*
 * A decrypt-deferred entry: decrypts it again. *e is replaced by the new
 * entry when that worked or when the retry period is over; *keep is set
 * when the entry waits for a later retry.
 */
static int retry_decryption(struct engine *eng, int64_t now,
			    struct spool_entry **e, bool *keep)
{
	struct spool_entry *old = *e, *fresh = NULL;
	struct intake_result result;
	struct intake_envelope env = {
		.queue_id = old->queue_id != NULL ? old->queue_id : "",
		.sender = old->envelope_from != NULL ? old->envelope_from : "",
		.recipients = (const char *const *)old->recipients,
		.n_recipients = old->n_recipients,
		.received = old->received,
	};
	int64_t *next = g_hash_table_lookup(eng->retry_at, &old->id);
	bool expired = now - old->received >=
		       (int64_t)eng->config->decrypt_retry_hours * 3600;
	gsize len;
	const void *raw = g_bytes_get_data(old->original, &len);
	tdk_err err;

	*keep = false;
	if (next != NULL && now < next[0] && !expired) {
		*keep = true;
		return TDK_OK;
	}
	if (intake_process(&eng->intake, eng->pgp, raw, len, &env, &fresh, &result,
			   &err) != TDK_OK || fresh == NULL) {
		msg_warn("spool entry %" G_GUINT64_FORMAT ": decryption retry failed: %s",
			 old->id, err.text);
		fresh = NULL;
	}
	if (fresh != NULL && fresh->crypto != SPOOL_DECRYPT_DEFERRED) {
		fresh->id = old->id;
		spool_entry_free(old);
		*e = fresh;
		g_hash_table_remove(eng->retry_at, &fresh->id);
		msg_info("spool entry %" G_GUINT64_FORMAT ": decrypted on retry (%s)",
			 fresh->id, spool_crypto_name(fresh->crypto));
		return TDK_OK;
	}
	spool_entry_free(fresh);
	if (expired) {
		msg_warn("spool entry %" G_GUINT64_FORMAT ": still not decrypted after "
			 "%lld hours; applied as it is", old->id,
			 eng->config->decrypt_retry_hours);
		return TDK_OK;
	}
	if (next == NULL) {
		next = g_new(int64_t, 2);
		next[1] = RETRY_FIRST;
		g_hash_table_insert(eng->retry_at, g_memdup2(&old->id, sizeof old->id), next);
	} else {
		next[1] = MIN(next[1] * 2, RETRY_MAX);
	}
	next[0] = now + next[1];
	*keep = true;
	return TDK_OK;
}

static int quarantine_case(struct engine *eng, uint64_t number, tdk_err *err)
{
	struct store_txn *txn;
	int rc = store_begin(eng->store, true, &txn, err);

	if (rc == TDK_OK)
		rc = store_quarantine_case(txn, number, err);
	if (rc == TDK_OK)
		rc = store_commit(txn, err);
	else
		store_abort(txn);
	if (rc == TDK_OK)
		msg_error("case %" G_GUINT64_FORMAT " does not decode: its record is "
			  "quarantined in the store; the mail is applied as for an unknown case", number);
	return rc;
}

/*
 * The same mail can reach the spool twice: the milter commits it and dies
 * before the MTA hears its answer, and the client sends it again. A mail
 * whose Message-ID and body were applied within MAIL_REPLAY_SECONDS
 * (longer than an MTA keeps retrying) is consumed without being applied
 * again. The body counts, not only the Message-ID: mail software that
 * reuses one Message-ID for different mail must not lose the second one
 * (the headers differ between the copies: the MTA's Received line). Staff
 * command mail has its own replay record (engine_mailcmd.c).
 */
#define MAIL_REPLAY_SECONDS (7 * 86400)
#define MAIL_REPLAY_PRUNE 10 /* expired records forgotten per mail at most */

/* "MESSAGE-ID SHA256-OF-BODY" (g_free), or NULL for mail without a
 * Message-ID. The body is what follows the first empty line. */
static char *mail_identity(const struct spool_entry *e)
{
	gsize len = 0;
	const char *raw = e->original != NULL ? g_bytes_get_data(e->original, &len) : NULL;
	const char *body = NULL;
	g_autofree char *digest = NULL;

	if (e->message_id == NULL || *e->message_id == '\0')
		return NULL;
	for (gsize i = 0; raw != NULL && i + 1 < len && body == NULL; i++) {
		if (raw[i] == '\n' && raw[i + 1] == '\n')
			body = raw + i + 2;
		else if (raw[i] == '\n' && raw[i + 1] == '\r' && i + 2 < len &&
			 raw[i + 2] == '\n')
			body = raw + i + 3;
	}
	if (body == NULL)
		body = raw != NULL ? raw + len : "";
	digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)body,
					     raw != NULL ? (gsize)(raw + len - body) : 0);
	return g_strdup_printf("%s %s", e->message_id, digest);
}

/* TDK_EEXIST (and f->what set) when e (its Message-ID and body) was
 * applied before. */
static int seen_before(struct store_txn *txn, const struct spool_entry *e,
		       struct flow *f, tdk_err *err)
{
	struct store_replay r;
	g_autofree char *id = mail_identity(e);
	int rc;

	if (id == NULL)
		return TDK_OK;
	rc = store_replay_get(txn, STORE_REPLAY_MAIL, id, strlen(id), &r, err);
	if (rc == TDK_ENOENT)
		return TDK_OK;
	if (rc != TDK_OK)
		return rc;
	f->what = "a second copy of a mail applied before, not applied again";
	msg_warn("spool entry %" G_GUINT64_FORMAT " has the Message-ID and body of spool "
		 "entry %" G_GUINT64_FORMAT "; consumed, not applied again", e->id, r.spool_id);
	return TDK_EEXIST;
}

static int remember_mail(struct store_txn *txn, const struct spool_entry *e,
			 int64_t now, tdk_err *err)
{
	struct store_replay r = { .accepted = now, .expires = now + MAIL_REPLAY_SECONDS,
				  .spool_id = e->id };
	g_autofree char *id = mail_identity(e);
	int rc;

	if (id == NULL)
		return TDK_OK;
	rc = store_replay_put(txn, STORE_REPLAY_MAIL, id, strlen(id), &r, err);
	return rc == TDK_OK ? store_replay_prune(txn, now, MAIL_REPLAY_PRUNE, NULL, err)
			    : rc;
}

/* One entry in one transaction. An applied entry's id is added to
 * applied_ids, for engine_drain to delete from the spool. */
static int apply_one(struct engine *eng, uint64_t id, int64_t now,
		     struct engine_stats *stats, bool retried, GArray *applied_ids,
		     tdk_err *err)
{
	struct spool_entry *e = NULL;
	struct store_txn *txn = NULL;
	struct flow f;
	uint64_t number = 0;
	int rc;

	rc = spool_get(eng->spool, id, &e, err);
	if (rc == TDK_ECORRUPT) {
		msg_error("spool entry %" G_GUINT64_FORMAT " does not decode (%s); "
			  "quarantined in the spool", id, err != NULL ? err->text : "");
		stats->quarantined++;
		return spool_quarantine(eng->spool, id, err);
	}
	if (rc == TDK_ENOENT)
		return TDK_OK;
	if (rc != TDK_OK)
		return rc;
	if (e->crypto == SPOOL_DECRYPT_DEFERRED && eng->pgp != NULL) {
		bool keep;

		rc = retry_decryption(eng, now, &e, &keep);
		if (rc != TDK_OK || keep) {
			stats->deferred++;
			spool_entry_free(e);
			return rc;
		}
	}
	if (e->classification == SPOOL_COMMAND) {
		rc = engine_command_mail(eng, e, now, stats, err);
		spool_entry_free(e);
		return rc;
	}
	rc = store_begin(eng->store, true, &txn, err);
	if (rc != TDK_OK) {
		spool_entry_free(e);
		return rc;
	}
	if (store_consumed_get(txn, id, NULL, NULL) == TDK_OK) {
		store_abort(txn);
		spool_entry_free(e);
		stats->skipped++;
		return spool_delete(eng->spool, id, err);
	}
	engine_flow(eng, &f, txn, now, "mail", err);
	rc = seen_before(txn, e, &f, err);
	if (rc == TDK_OK) {
		rc = flow_apply_entry(&f, e);
		if (rc == TDK_OK)
			rc = remember_mail(txn, e, now, err);
	} else if (rc == TDK_EEXIST) {
		rc = TDK_OK; /* a second copy: consumed below, not applied */
	}
	number = f.case_number;
	if (rc == TDK_ECORRUPT && number != 0 && !retried) {
		/* The case record is damaged: set it aside where staff can
		 * see it, then apply the mail again (as for an unknown case). */
		store_abort(txn);
		rc = quarantine_case(eng, number, err);
		spool_entry_free(e);
		return rc == TDK_OK ? apply_one(eng, id, now, stats, true, applied_ids, err)
				    : rc;
	}
	if (rc == TDK_OK)
		rc = store_consumed_put(txn, id, number, now, err);
	if (rc != TDK_OK) {
		store_abort(txn);
		spool_entry_free(e);
		return rc;
	}
	rc = store_commit(txn, err);
	if (rc == TDK_OK) {
		g_autofree char *ct = number != 0 ? flow_case_text(&f, number) : NULL;

		stats->applied++;
		msg_info("%s: spool entry %" G_GUINT64_FORMAT " (queue id %s): %s",
			 ct != NULL ? ct : "-", id,
			 e->queue_id != NULL && *e->queue_id ? e->queue_id : "-",
			 f.what != NULL ? f.what : "applied");
		/* Deleted after the commit, with the rest of the batch: a
		 * crash before that only leaves entries skipped next time. */
		g_array_append_val(applied_ids, id);
	}
	spool_entry_free(e);
	return rc;
}

int engine_drain(struct engine *eng, int64_t now, size_t max,
		 struct engine_stats *stats, tdk_err *err)
{
	uint64_t *ids = g_new(uint64_t, max > 0 ? max : 1);
	GArray *applied_ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	size_t n = 0;
	int rc = spool_list(eng->spool, 0, max, ids, &n, err);
	tdk_err derr;

	for (size_t i = 0; rc == TDK_OK && i < n; i++) {
		rc = apply_one(eng, ids[i], now, stats, false, applied_ids, err);
		if (rc != TDK_OK && !storage_trouble(rc)) {
			/* Not the storage: this entry cannot be applied. Keep
			 * it out of the way, visible to staff, and go on. */
			msg_error("spool entry %" G_GUINT64_FORMAT " cannot be applied: "
				  "%s; quarantined in the spool (todokectl spool)",
				  ids[i], err != NULL ? err->text : tdk_strerror(rc));
			stats->quarantined++;
			rc = spool_quarantine(eng->spool, ids[i], err);
		} else if (storage_trouble(rc)) {
			msg_error("spool entry %" G_GUINT64_FORMAT " is kept for a "
				  "later attempt: %s", ids[i],
				  err != NULL ? err->text : tdk_strerror(rc));
			stats->deferred++;
		}
	}
	/* The applied entries leave the spool in one commit (each one is
	 * recorded as consumed in its own store commit already). */
	if (spool_delete_many(eng->spool, (const uint64_t *)(void *)applied_ids->data,
			      applied_ids->len, NULL, &derr) != TDK_OK)
		msg_warn("%u applied spool entries are not yet deleted: %s",
			 applied_ids->len, derr.text);
	g_array_free(applied_ids, TRUE);
	g_free(ids);
	return rc;
}

static int fire_batch(struct engine *eng, int64_t now,
		      const struct store_timer *timers, size_t n, size_t *fired,
		      tdk_err *err)
{
	struct store_txn *txn;
	struct flow f;
	int rc = store_begin(eng->store, true, &txn, err);

	if (rc != TDK_OK)
		return rc;
	engine_flow(eng, &f, txn, now, "timer", err);
	for (size_t i = 0; rc == TDK_OK && i < n; i++)
		rc = flow_fire(&f, &timers[i]);
	if (rc != TDK_OK) {
		store_abort(txn);
		return rc;
	}
	rc = store_commit(txn, err);
	if (rc == TDK_OK)
		*fired += n;
	/* Destroyed personal data: out of the files too. A failure here is
	 * logged; the next destruction scrubs again. */
	if (rc == TDK_OK && f.pii_destroyed > 0) {
		tdk_err scrub_err;

		if (engine_scrub(eng, NULL, &scrub_err) != TDK_OK)
			msg_error("overwriting destroyed personal data: %s", scrub_err.text);
	}
	return rc;
}

int engine_tick(struct engine *eng, int64_t now, size_t max,
		struct engine_stats *stats, tdk_err *err)
{
	struct store_timer *timers = g_new(struct store_timer, max > 0 ? max : 1);
	struct store_txn *txn;
	size_t n = 0;
	int rc = store_begin(eng->store, false, &txn, err);

	if (rc == TDK_OK) {
		rc = store_timers_due(txn, now, max, timers, &n, err);
		store_abort(txn);
	}
	if (rc == TDK_OK && n > 0) {
		rc = fire_batch(eng, now, timers, n, &stats->fired, err);
		/* One timer that cannot fire must not stop the others:
		 * retry them one by one and set the bad one aside. */
		for (size_t i = 0; rc != TDK_OK && !storage_trouble(rc) && i < n; i++) {
			int one = fire_batch(eng, now, &timers[i], 1, &stats->fired, err);

			if (one != TDK_OK && !storage_trouble(one)) {
				msg_error("case %" G_GUINT64_FORMAT ": timer %d cannot fire: %s; "
					  "the case is quarantined",
					  timers[i].number, timers[i].clock, err->text);
				if (store_begin(eng->store, true, &txn, NULL) == TDK_OK) {
					if (store_quarantine_case(txn, timers[i].number, NULL) == TDK_OK)
						store_commit(txn, NULL);
					else
						store_abort(txn);
				}
			}
			if (i + 1 == n)
				rc = TDK_OK;
		}
	}
	g_free(timers);
	return rc;
}

int engine_digest(struct engine *eng, int64_t now, struct engine_stats *stats,
		  tdk_err *err)
{
	struct store_txn *txn;
	struct flow f;
	bool made = false;
	int rc = store_begin(eng->store, true, &txn, err);

	if (rc != TDK_OK)
		return rc;
	engine_flow(eng, &f, txn, now, "timer", err);
	rc = flow_digest(&f, &made);
	if (rc != TDK_OK || !made) {
		store_abort(txn);
		return rc;
	}
	rc = store_commit(txn, err);
	if (rc == TDK_OK)
		stats->digest = true;
	return rc;
}

int engine_next_due(struct engine *eng, int64_t *due, tdk_err *err)
{
	struct store_txn *txn;
	struct store_timer tm;
	int rc = store_begin(eng->store, false, &txn, err);

	if (rc != TDK_OK)
		return rc;
	rc = store_timer_first(txn, &tm, err);
	store_abort(txn);
	if (rc == TDK_OK)
		*due = tm.due;
	return rc;
}

int engine_commands(struct engine *eng, int64_t now, const char *actor,
		    struct command *const *cmds, size_t n, tdk_err *err)
{
	struct store_txn *txn;
	struct flow f;
	int rc = store_begin(eng->store, true, &txn, err);

	if (rc != TDK_OK)
		return rc;
	engine_flow(eng, &f, txn, now, actor, err);
	for (size_t i = 0; rc == TDK_OK && i < n; i++)
		rc = flow_apply_command(&f, cmds[i]);
	/* Every command passed: the personal data first (a crash before the
	 * commit leaves only an unreferenced update), then the cases. */
	if (rc == TDK_OK)
		rc = flow_pii_flush(&f);
	flow_clear(&f);
	if (rc != TDK_OK) {
		store_abort(txn);
		return rc;
	}
	return store_commit(txn, err);
}
