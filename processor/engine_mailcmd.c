/*
 * engine_mailcmd.c - the engine's step for a staff command mail (see
 * engine.h and mailcmd.h).
 *
 * Owns: what happens to a spool entry of class "command", exactly once,
 * in one store transaction with its consumption: the replay check
 * (signature and Message-ID, store "replay"), the commands applied all
 * or nothing as actor "staff:FPR" through the same flow as `todokectl
 * do`, a "command-mail" event on every case they touched, the replay
 * record (kept until the signature window has passed, plus a day; older
 * records are pruned here), the transcript notice intent to the signer's
 * configured address (delivery signs it and encrypts it to that key; when
 * the key itself is revoked, expired or unknown, a staff attention item
 * instead), at most staff.transcripts_per_hour replies per staff key in
 * each clock hour, and the counters of store meta:
 *   mailcmd.accepted   command mails applied
 *   mailcmd.refused    refused, the signer is a staff key
 *   mailcmd.dropped    refused silently: not signed by a staff key
 *   mailcmd.last_dropped  "TIME REASON" of the latest silent refusal
 *   mailcmd.withheld   replies withheld by staff.transcripts_per_hour
 *   mailcmd.replies.FPR   "HOUR-START COUNT": replies to that key
 * When a command fails while being applied, that transaction is aborted
 * and a second one records the refusal; a storage failure keeps the
 * entry in the spool for the next round, as for any mail.
 */
#include "engine.h"
#include "flow.h"
#include "log.h"
#include "mailcmd.h"

#include <string.h>

#define REPLAY_MARGIN 86400   /* seconds kept beyond the window */
#define PRUNE_BATCH 100       /* replay records forgotten per mail at most */

struct run {
	struct engine *eng;
	const struct spool_entry *e;
	struct mailcmd *m;
	int64_t now;
	char *actor;              /* "staff:FPR" */
	struct store_txn *txn;
	bool applied;
	GArray *touched;          /* case numbers, in order, once each */
	char *cases;              /* the touched cases now, for the transcript */
	const char *reply;        /* what the signer got, for the log */
};

static bool storage_trouble(int rc)
{
	return rc == TDK_EFULL || rc == TDK_EIO || rc == TDK_ENOMEM;
}

static void flow_of(struct run *r, struct flow *f, tdk_err *err)
{
	engine_flow(r->eng, f, r->txn, r->now, r->actor, err);
	f->spool_id = r->e->id;
	f->message_id = r->e->message_id;
}

/* ------------------------------------------------------------ replay */

static int refuse_replay(struct mailcmd *m, const struct store_replay *seen,
			 const struct cal *cal, const char *what)
{
	char when[CAL_INSTANT_LEN] = "?";

	cal_format_instant(cal, seen->accepted, when, sizeof when);
	m->auth = MAILCMD_AUTH_REPLAY;
	g_free(m->reason);
	m->reason = g_strdup_printf("replay: %s was already used by the command mail "
				    "read at %s (spool entry %" G_GUINT64_FORMAT
				    "); a signed command mail is obeyed once",
				    what, when, seen->spool_id);
	return TDK_OK;
}

static int check_replay(struct run *r, tdk_err *err)
{
	struct mailcmd *m = r->m;
	struct store_replay seen;
	int rc = store_replay_get(r->txn, STORE_REPLAY_SIGNATURE, m->replay_key,
				  sizeof m->replay_key, &seen, err);

	if (rc == TDK_OK)
		return refuse_replay(m, &seen, r->eng->cal, "this signature");
	if (rc != TDK_ENOENT)
		return rc;
	rc = store_replay_get(r->txn, STORE_REPLAY_MESSAGE_ID, m->message_id,
			      strlen(m->message_id), &seen, err);
	if (rc == TDK_OK)
		return refuse_replay(m, &seen, r->eng->cal, "this Message-ID");
	return rc == TDK_ENOENT ? TDK_OK : rc;
}

static int remember(struct run *r, tdk_err *err)
{
	const struct tdk_config *c = r->eng->config;
	struct store_replay rec = {
		.accepted = r->now,
		.expires = MAX(r->m->signed_at, r->now) + c->staff_window_past +
			   c->staff_window_future + REPLAY_MARGIN,
		.spool_id = r->e->id,
	};
	int rc = store_replay_put(r->txn, STORE_REPLAY_SIGNATURE, r->m->replay_key,
				  sizeof r->m->replay_key, &rec, err);

	if (rc == TDK_OK)
		rc = store_replay_put(r->txn, STORE_REPLAY_MESSAGE_ID, r->m->message_id,
				      strlen(r->m->message_id), &rec, err);
	return rc;
}

/* ------------------------------------------------------------ applying */

static void touch(struct run *r, uint64_t number)
{
	for (guint i = 0; i < r->touched->len; i++)
		if (g_array_index(r->touched, uint64_t, i) == number)
			return;
	g_array_append_val(r->touched, number);
}

/* One touched case, as the transcript shows it. */
static void case_summary(struct run *r, struct flow *f, uint64_t number, GString *s)
{
	g_autofree char *text = flow_case_text(f, number);
	struct case_rec *c = NULL;
	bool first = true;

	if (store_case_get(r->txn, number, &c, NULL) != TDK_OK) {
		g_string_append_printf(s, "%s  (cannot be read)\n", text);
		return;
	}
	g_string_append_printf(s, "%s  %s%s%s", text, case_state_name(c->state),
			       c->paused ? " (paused)" : "", c->hold ? " (legal hold)" : "");
	for (int id = 1; id < CLOCK_COUNT; id++) {
		char when[CAL_INSTANT_LEN];
		int64_t due;

		if (!c->clocks[id].active ||
		    case_clock_due(r->eng->cal, &c->clocks[id], &due) != TDK_OK ||
		    cal_format_instant(r->eng->cal, due, when, sizeof when) != TDK_OK)
			continue;
		g_string_append_printf(s, "%s%s due %s", first ? "; " : ", ",
				       case_clock_name(id), when);
		first = false;
	}
	g_string_append(s, first ? "; nothing due\n" : "\n");
	case_free(c);
}

/* The event on each touched case and the summary of them. */
static int record_touched(struct run *r, struct flow *f)
{
	const struct mailcmd *m = r->m;
	char when[CAL_INSTANT_LEN] = "?";
	g_autofree char *text = NULL;
	GString *s = g_string_new(NULL);
	int rc = TDK_OK;

	cal_format_instant(r->eng->cal, m->signed_at, when, sizeof when);
	text = g_strdup_printf("signed command mail of key %s (%s, %s), signature made "
			       "%s: %zu command%s", m->fingerprint, m->signer->address,
			       conf_staff_role_name(m->signer->role), when, m->n_lines,
			       m->n_lines == 1 ? "" : "s");
	for (guint i = 0; rc == TDK_OK && i < r->touched->len; i++)
		rc = flow_command_mail(f, g_array_index(r->touched, uint64_t, i), text);
	for (guint i = 0; rc == TDK_OK && i < r->touched->len; i++)
		case_summary(r, f, g_array_index(r->touched, uint64_t, i), s);
	r->cases = g_string_free(s, FALSE);
	return rc;
}

/*
 * Applies every command in r->txn. A command that fails marks its line
 * and returns TDK_OK with r->applied false (the caller aborts r->txn); a
 * storage failure is returned.
 */
static int apply_commands(struct run *r, tdk_err *err)
{
	struct mailcmd *m = r->m;
	struct flow f;
	tdk_err cmd_err;
	int rc = TDK_OK;

	flow_of(r, &f, &cmd_err);
	for (size_t i = 0; i < m->n_lines; i++) {
		struct mailcmd_line *l = &m->lines[i];

		rc = flow_apply_command(&f, l->cmd);
		if (rc != TDK_OK) {
			flow_clear(&f);
			if (storage_trouble(rc)) {
				tdk_err_set(err, rc, "%s", cmd_err.text);
				return rc;
			}
			l->error = g_strdup(cmd_err.text);
			m->n_errors++;
			return TDK_OK;
		}
		l->applied = true;
		touch(r, l->cmd->case_number);
	}
	rc = record_touched(r, &f);
	/* Every command passed: the discoverer's personal data they changed
	 * is written now, before the cases are committed. */
	if (rc == TDK_OK)
		rc = flow_pii_flush(&f);
	flow_clear(&f);
	if (rc != TDK_OK) {
		if (storage_trouble(rc)) {
			tdk_err_set(err, rc, "%s", cmd_err.text);
			return rc;
		}
		m->lines[0].error = g_strdup(cmd_err.text);
		m->n_errors++;
		return TDK_OK;
	}
	r->applied = true;
	return TDK_OK;
}

/* ------------------------------------------------------------ finishing */

static int count(struct store_txn *txn, const char *key, tdk_err *err)
{
	g_autofree char *old = NULL, *next = NULL;
	guint64 v = 0;
	int rc = store_meta_get(txn, key, &old, err);

	if (rc == TDK_OK)
		g_ascii_string_to_unsigned(old, 10, 0, G_MAXUINT64, &v, NULL);
	else if (rc != TDK_ENOENT)
		return rc;
	next = g_strdup_printf("%" G_GUINT64_FORMAT, v + 1);
	return store_meta_put(txn, key, next, err);
}

static int count_outcome(struct run *r, tdk_err *err)
{
	const struct mailcmd *m = r->m;
	char when[CAL_INSTANT_LEN] = "?";
	g_autofree char *last = NULL;
	int rc;

	if (r->applied)
		return count(r->txn, "mailcmd.accepted", err);
	if (m->signer != NULL)
		return count(r->txn, "mailcmd.refused", err);
	rc = count(r->txn, "mailcmd.dropped", err);
	cal_format_instant(r->eng->cal, r->now, when, sizeof when);
	last = g_strdup_printf("%s %s", when, m->reason != NULL ? m->reason : "");
	return rc == TDK_OK ? store_meta_put(r->txn, "mailcmd.last_dropped", last, err)
			    : rc;
}

/* The start of the clock hour of t. */
static int64_t hour_of(int64_t t)
{
	return t - ((t % 3600) + 3600) % 3600;
}

/*
 * The replies to one staff key in the current clock hour, counted in meta
 * "mailcmd.replies.FPR" as "HOUR-START COUNT". *allowed: within
 * staff.transcripts_per_hour; *first_withheld: the first one over it.
 */
static int reply_allowed(struct run *r, bool *allowed, bool *first_withheld,
			 tdk_err *err)
{
	long long limit = r->eng->config->staff_transcripts_per_hour;
	g_autofree char *key = g_strdup_printf("mailcmd.replies.%s",
					       r->m->signer->fingerprint);
	g_autofree char *old = NULL, *next = NULL;
	int64_t hour = hour_of(r->now);
	gint64 start = G_MININT64;
	guint64 n = 0;
	int rc = store_meta_get(r->txn, key, &old, err);

	if (rc == TDK_OK) {
		char *end = NULL;

		start = g_ascii_strtoll(old, &end, 10);
		if (end != NULL && *end == ' ')
			n = g_ascii_strtoull(end + 1, NULL, 10);
	} else if (rc != TDK_ENOENT) {
		return rc;
	}
	if (start != hour)
		n = 0;
	*allowed = n < (guint64)limit;
	*first_withheld = n == (guint64)limit;
	next = g_strdup_printf("%" G_GINT64_FORMAT " %" G_GUINT64_FORMAT, hour, n + 1);
	return store_meta_put(r->txn, key, next, err);
}

/* More replies to this key in this hour than the configuration allows:
 * staff are told once per hour, the rest is counted. */
static int withhold(struct run *r, struct flow *f, bool first, tdk_err *err)
{
	const struct tdk_staff_key *k = r->m->signer;
	char until[CAL_INSTANT_LEN] = "?";
	g_autofree char *text = NULL;
	int rc = count(r->txn, "mailcmd.withheld", err);

	if (rc != TDK_OK || !first)
		return rc;
	cal_format_instant(r->eng->cal, hour_of(r->now) + 3600, until, sizeof until);
	text = g_strdup_printf("more than %lld command mails signed by key %s (%s) "
			       "within an hour: no transcript is sent to it until %s "
			       "(staff.transcripts_per_hour); see todokectl commands",
			       r->eng->config->staff_transcripts_per_hour, k->fingerprint,
			       k->address, until);
	return flow_tell_staff(f, "transcripts-withheld", text);
}

/* Whether the one signature's key is revoked, expired or not in the
 * keyring: nothing can be encrypted to it. */
static bool key_unusable(const struct run *r)
{
	enum spool_sig st;

	if (r->m->auth != MAILCMD_AUTH_KEY || r->e->n_signatures != 1)
		return false;
	st = r->e->signatures[0].state;
	return st == SPOOL_SIG_REVOKED_KEY || st == SPOOL_SIG_EXPIRED_KEY ||
	       st == SPOOL_SIG_UNKNOWN_KEY;
}

/*
 * The reply to a staff key: the transcript, encrypted to that key at
 * delivery. A refusal because that very key is unusable (revoked,
 * expired, not in the keyring) cannot be encrypted to it: staff are told
 * instead. Nothing for mail no staff key signed.
 */
static int transcript(struct run *r, tdk_err *err)
{
	const struct mailcmd *m = r->m;
	struct flow f;
	g_autofree char *text = NULL;
	bool allowed, first_withheld;
	int rc;

	if (m->signer == NULL)
		return TDK_OK;
	rc = reply_allowed(r, &allowed, &first_withheld, err);
	if (rc != TDK_OK)
		return rc;
	flow_of(r, &f, err);
	if (!allowed) {
		r->reply = "reply withheld (staff.transcripts_per_hour)";
		return withhold(r, &f, first_withheld, err);
	}
	if (key_unusable(r)) {
		r->reply = "no transcript (the key is unusable), staff told";
		text = g_strdup_printf("command mail <%s> signed by key %s (%s) refused: "
				       "%s; no transcript, the key cannot be encrypted to",
				       m->message_id != NULL ? m->message_id : "none",
				       m->signer->fingerprint, m->signer->address, m->reason);
		return flow_tell_staff(&f, "command-mail-refused", text);
	}
	r->reply = "transcript to";
	text = mailcmd_transcript(m, r->applied, r->cases, r->eng->cal);
	return flow_desk_notice(&f, "transcript", m->signer->address, "en", text);
}

/* Everything after the commands, in r->txn; then the commit. */
static int finish(struct run *r, bool authenticated, tdk_err *err)
{
	uint64_t first = r->touched->len > 0 ? g_array_index(r->touched, uint64_t, 0) : 0;
	int rc = TDK_OK;

	if (authenticated)
		rc = remember(r, err);
	if (rc == TDK_OK)
		rc = transcript(r, err);
	if (rc == TDK_OK)
		rc = count_outcome(r, err);
	if (rc == TDK_OK)
		rc = store_replay_prune(r->txn, r->now, PRUNE_BATCH, NULL, err);
	if (rc == TDK_OK)
		rc = store_consumed_put(r->txn, r->e->id, first, r->now, err);
	if (rc != TDK_OK) {
		store_abort(r->txn);
		r->txn = NULL;
		return rc;
	}
	rc = store_commit(r->txn, err);
	r->txn = NULL;
	return rc;
}

static void log_outcome(const struct run *r)
{
	const struct spool_entry *e = r->e;
	const struct mailcmd *m = r->m;
	const char *qid = e->queue_id != NULL && *e->queue_id ? e->queue_id : "-";
	const char *msgid = e->message_id != NULL ? e->message_id : "-";
	const char *sender = e->envelope_from != NULL ? e->envelope_from : "";
	bool bracket = sender[0] == '<'; /* as the MTA gave it */
	const char *reply = r->reply != NULL ? r->reply : "no reply";
	bool to_signer = strcmp(reply, "transcript to") == 0;

	if (r->applied) {
		g_autofree char *first = NULL;
		struct flow f;

		flow_init(&f, r->eng->store, r->eng->config, r->eng->rules, r->eng->cal);
		first = flow_case_text(&f, g_array_index(r->touched, uint64_t, 0));
		msg_info("%s: command mail %" G_GUINT64_FORMAT " (queue id %s, "
			 "Message-ID %s) of key %s: %zu command%s applied to %u case%s; %s%s%s",
			 first, e->id, qid, msgid, m->fingerprint, m->n_lines,
			 m->n_lines == 1 ? "" : "s", r->touched->len,
			 r->touched->len == 1 ? "" : "s", reply,
			 to_signer ? " " : "", to_signer ? m->signer->address : "");
	} else if (m->auth == MAILCMD_AUTH_OK) {
		msg_warn("-: command mail %" G_GUINT64_FORMAT " (queue id %s, Message-ID "
			 "%s) of key %s refused: %zu line%s cannot be applied; "
			 "%s%s%s", e->id, qid, msgid, m->fingerprint,
			 m->n_errors, m->n_errors == 1 ? "" : "s", reply,
			 to_signer ? " " : "", to_signer ? m->signer->address : "");
	} else {
		msg_warn("-: command mail %" G_GUINT64_FORMAT " (queue id %s, Message-ID "
			 "%s, envelope sender %s%s%s) refused (%s): %s; %s%s%s", e->id, qid,
			 msgid, bracket ? "" : "<", sender, bracket ? "" : ">",
			 mailcmd_auth_name(m->auth), m->reason,
			 m->signer != NULL ? reply : "dropped without a reply",
			 to_signer ? " " : "", to_signer ? m->signer->address : "");
	}
}

/* Begins the transaction; TDK_EEXIST when the entry is consumed already. */
static int begin(struct run *r, tdk_err *err)
{
	int rc = store_begin(r->eng->store, true, &r->txn, err);

	if (rc == TDK_OK && store_consumed_get(r->txn, r->e->id, NULL, NULL) == TDK_OK) {
		store_abort(r->txn);
		r->txn = NULL;
		return TDK_EEXIST;
	}
	return rc;
}

static int run_mail(struct run *r, struct engine_stats *stats, tdk_err *err)
{
	bool authenticated = r->m->auth == MAILCMD_AUTH_OK, attempted = false;
	int rc = begin(r, err);

	if (rc == TDK_EEXIST) {
		stats->skipped++;
		return spool_delete(r->eng->spool, r->e->id, err);
	}
	if (rc == TDK_OK && authenticated)
		rc = check_replay(r, err);
	authenticated = authenticated && r->m->auth == MAILCMD_AUTH_OK;
	if (rc == TDK_OK && authenticated && r->m->n_errors == 0 && r->m->n_lines > 0) {
		rc = apply_commands(r, err);
		attempted = true;
	}
	if (rc == TDK_OK && attempted && !r->applied) {
		/* A command failed: nothing of the others may be kept. */
		store_abort(r->txn);
		g_array_set_size(r->touched, 0);
		rc = begin(r, err);
		if (rc == TDK_EEXIST)
			rc = TDK_EIO; /* another process consumed it meanwhile */
	}
	if (rc == TDK_OK)
		rc = finish(r, authenticated, err);
	if (r->txn != NULL) {
		store_abort(r->txn);
		r->txn = NULL;
	}
	if (rc != TDK_OK)
		return rc;
	stats->applied++;
	log_outcome(r);
	tdk_err derr;

	if (spool_delete(r->eng->spool, r->e->id, &derr) != TDK_OK)
		msg_warn("spool entry %" G_GUINT64_FORMAT
			 " is applied but not yet deleted: %s", r->e->id, derr.text);
	return TDK_OK;
}

int engine_command_mail(struct engine *eng, const struct spool_entry *e,
			int64_t now, struct engine_stats *stats, tdk_err *err)
{
	struct mailcmd_policy p = {
		.config = eng->config,
		.rules = eng->rules,
		.format = { eng->config->case_prefix, (int)eng->config->case_width },
	};
	struct run r = { .eng = eng, .e = e, .now = now };
	int rc = mailcmd_read(&p, e, now, &r.m, err);

	if (rc != TDK_OK)
		return rc;
	r.actor = g_strdup_printf("staff:%s", r.m->fingerprint != NULL ? r.m->fingerprint : "?");
	r.touched = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	rc = run_mail(&r, stats, err);
	g_array_free(r.touched, TRUE);
	g_free(r.cases);
	g_free(r.actor);
	mailcmd_free(r.m);
	return rc;
}
