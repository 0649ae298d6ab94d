/*
 * deliver.c - the outbox delivery step of the engine (engine.h).
 *
 * Owns: engine_deliver(). For each notice intent that is queued (or
 * deferred and due; the store's pending index lists them): check that
 * its recipient is a party of its case with the audience's role (or,
 * for staff, the control address or a staff key's address), check the
 * recipient's daily cap (rules/; counted in the store's index of sent
 * notices by recipient), render it (template.h; the discoverer's
 * personal data only for the discoverer and staff), thread it
 * (References: the report for the discoverer, the earlier notices of
 * the case to the same party, the party's last mail; In-Reply-To: that
 * mail, else the first notice to the party), build the MIME message
 * (mime.h), sign it and encrypt it to
 * the recipient's key when one is known (sign.h), and store the result
 * in the intent in one transaction. Japanese notices to an audience the
 * rules' notices.iso_2022_jp names are ISO-2022-JP. Then hand the stored
 * message to outbound.sendmail (split into words as sh would, but never
 * run by a shell; posix_spawn of that argument vector with -i -f SENDER
 * -- RCPT added, the message on a pipe) and record the outcome: sent,
 * deferred (with a growing pause) or failed (staff are told). Outcomes are recorded together, up to
 * DELIVER_BATCH in one transaction, or in the next transaction that
 * renders a notice (before its recipient's cap is counted), so that a
 * durable commit is not paid for every notice.
 *
 * A crash after sendmail took a message and before its outcome is
 * recorded sends it once more (at most DELIVER_BATCH messages), with
 * the same Message-ID: the message is rendered once, so nothing else can
 * differ.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "mime.h"
#include "sign.h"

extern char **environ;

#define DAY (24 * 3600)
/* Outcomes recorded together: a crash may send this many notices once
 * more (each with its Message-ID), never more than once. */
#define DELIVER_BATCH 16

struct pending {
	GArray *ids;
	int64_t now;
	bool render;   /* one of them is still to be rendered (and signed) */
};

static bool deliverable(const struct outbox_item *o, int64_t now)
{
	if (strcmp(o->state, OUTBOX_QUEUED) == 0)
		return true;
	return strcmp(o->state, OUTBOX_DEFERRED) == 0 && o->next_try <= now;
}

/* A notice the pending index lists: deliverable() without its record. */
static int collect(const struct store_pending *pn, void *ctx)
{
	struct pending *p = ctx;

	if (!pn->deferred || pn->next_try <= p->now) {
		g_array_append_val(p->ids, pn->id);
		p->render = p->render || !pn->rendered;
	}
	return TDK_OK;
}

static bool same_party(const struct outbox_item *a, const struct outbox_item *b)
{
	if (a->case_number == 0 || a->case_number != b->case_number || a->party != b->party)
		return false;
	return a->party >= 0 ||
	       (a->to != NULL && b->to != NULL && g_ascii_strcasecmp(a->to, b->to) == 0);
}

/* The earlier notices of a case to the same party (the thread), from
 * that case's notices alone. */
#define THREAD_DONE (-1)

struct thread_scan {
	const struct outbox_item *self;
	GPtrArray *earlier;   /* Message-IDs, oldest first (copies) */
};

static int earlier_notice(const struct outbox_item *o, void *ctx)
{
	struct thread_scan *ts = ctx;

	if (o->id >= ts->self->id)
		return THREAD_DONE; /* in id order: the rest are later */
	if (o->message_id != NULL && o->sent != 0 && same_party(o, ts->self))
		g_ptr_array_add(ts->earlier, g_strdup(o->message_id));
	return TDK_OK;
}

#define THREAD_MAX 20 /* Message-IDs in References */

/* The thread of o: References (the report for the discoverer, the earlier
 * notices to the party, the party's last mail) and In-Reply-To (the
 * party's last mail, else the first notice to the party). */
static void thread_of(const struct outbox_item *o, const struct case_rec *c,
		      GPtrArray *earlier, GPtrArray *refs, const char **in_reply_to)
{
	const struct case_party *p = c != NULL && o->party >= 0 &&
						     (size_t)o->party < c->n_parties
					     ? &c->parties[o->party] : NULL;
	const char *report = p != NULL && p->role == ROLE_DISCOVERER
				     ? c->report_message_id : NULL;
	const char *last = p != NULL && p->last_mail_id != NULL ? p->last_mail_id : report;
	guint from = 0;

	*in_reply_to = NULL;
	if (report != NULL)
		g_ptr_array_add(refs, (gpointer)report);
	if (earlier->len > 0) {
		g_ptr_array_add(refs, g_ptr_array_index(earlier, 0));
		/* Long threads keep the first notice and the newest ones. */
		from = earlier->len > THREAD_MAX - 3 ? earlier->len - (THREAD_MAX - 3) : 1;
	}
	for (guint i = from; i < earlier->len; i++)
		g_ptr_array_add(refs, g_ptr_array_index(earlier, i));
	if (last != NULL && last != report)
		g_ptr_array_add(refs, (gpointer)last);
	if (last != NULL)
		*in_reply_to = last;
	else if (earlier->len > 0)
		*in_reply_to = g_ptr_array_index(earlier, 0);
	g_ptr_array_add(refs, NULL);
}

static bool is_staff_address(const struct tdk_config *cfg, const char *to)
{
	if (to == NULL)
		return false;
	if (g_ascii_strcasecmp(to, cfg->control_address) == 0)
		return true;
	for (size_t i = 0; i < cfg->n_staff_keys; i++)
		if (cfg->staff_keys[i].address != NULL &&
		    g_ascii_strcasecmp(to, cfg->staff_keys[i].address) == 0)
			return true;
	return false;
}

static const char *staff_key_for(const struct tdk_config *cfg, const char *to)
{
	for (size_t i = 0; i < cfg->n_staff_keys; i++)
		if (cfg->staff_keys[i].address != NULL &&
		    g_ascii_strcasecmp(to, cfg->staff_keys[i].address) == 0)
			return cfg->staff_keys[i].fingerprint;
	return NULL;
}

/* The recipient of o and the key to encrypt to (or NULL). A refusal
 * (TDK_EPERM) says why in err. */
static int recipient_of(struct engine *eng, const struct outbox_item *o,
			const struct case_rec *c, const struct pii_rec *pii,
			const char **to, const char **key, tdk_err *err)
{
	const struct case_party *p;

	*key = NULL;
	if (strcmp(o->audience, "staff") == 0) {
		if (!is_staff_address(eng->config, o->to))
			return tdk_err_set(err, TDK_EPERM, "not a staff address");
		*to = o->to;
		*key = staff_key_for(eng->config, o->to);
		return TDK_OK;
	}
	if (c == NULL || o->party < 0 || (size_t)o->party >= c->n_parties)
		return tdk_err_set(err, TDK_EPERM, "not a party of the case");
	p = &c->parties[o->party];
	if (strcmp(case_role_name(p->role), o->audience) != 0)
		return tdk_err_set(err, TDK_EPERM, "the party's role is not the notice's audience");
	if (p->role == ROLE_DISCOVERER) {
		if (pii == NULL || pii->address == NULL)
			return tdk_err_set(err, TDK_EPERM, "the discoverer's address is gone");
		*to = pii->address;
	} else {
		if (o->to == NULL || p->address == NULL ||
		    g_ascii_strcasecmp(o->to, p->address) != 0)
			return tdk_err_set(err, TDK_EPERM, "not a party of the case");
		*to = p->address;
	}
	*key = p->key;
	return TDK_OK;
}

/* Renders, signs (encrypts) and builds the message of o into o->rendered. */
static int render(struct engine *eng, struct outbox_item *o, const struct case_rec *c,
		  const struct pii_rec *pii, const char *to, const char *key,
		  GPtrArray *earlier, int64_t now, tdk_err *err)
{
	struct render_input in = { .c = c, .item = o, .rules = eng->rules, .cal = eng->cal,
				   .config = eng->config, .pii = pii,
				   .desk_key = sign_desk_key(eng->signer), .now = now };
	g_autofree char *subject = NULL, *body = NULL;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *texts = g_ptr_array_new_with_free_func(g_free);
	struct mime_attachment *atts = NULL;
	GPtrArray *refs = g_ptr_array_new();
	const char *in_reply_to = NULL;
	struct mime_notice n = { 0 };
	GMimeObject *content = NULL, *signed_ = NULL;
	GMimeMessage *msg = NULL;
	int rc;

	if (!template_audience_sees_pii(o->audience))
		in.pii = NULL;
	rc = template_render(eng->templates, &in, &subject, &body, err);
	for (size_t i = 0; rc == TDK_OK; i++) {
		char *name = NULL, *text = NULL;
		int arc = template_render_attachment(eng->templates, &in, i, &name, &text, err);

		if (arc == TDK_ENOENT)
			break;
		rc = arc;
		if (rc == TDK_OK) {
			g_ptr_array_add(names, name);
			g_ptr_array_add(texts, text);
		}
	}
	if (rc != TDK_OK)
		goto out;
	atts = g_new0(struct mime_attachment, names->len + 1);
	for (guint i = 0; i < names->len; i++) {
		atts[i].filename = g_ptr_array_index(names, i);
		atts[i].text = g_ptr_array_index(texts, i);
	}
	thread_of(o, c, earlier, refs, &in_reply_to);
	n = (struct mime_notice){ .from = eng->config->contact_address, .to = to,
				  .subject = subject, .body = body,
				  .charset = o->lang != NULL && strcmp(o->lang, "ja") == 0 &&
						     rules_iso_2022_jp(eng->rules, o->audience)
					     ? "ISO-2022-JP" : NULL,
				  .message_id = o->message_id,
				  .references = (const char *const *)refs->pdata,
				  .in_reply_to = in_reply_to,
				  .date = now, .zone = eng->config->calendar_timezone,
				  .attachments = atts, .n_attachments = names->len };
	rc = mime_content(&n, &content, err);
	if (rc == TDK_OK)
		rc = sign_entity(eng->signer, content, key, &signed_, err);
	if (rc == TDK_OK)
		rc = mime_message(&n, signed_, &msg, err);
	if (rc == TDK_OK) {
		if (o->rendered != NULL)
			g_bytes_unref(o->rendered);
		o->rendered = mime_to_bytes(msg);
		g_free(o->recipient);
		o->recipient = g_strdup(to);
	}
out:
	if (msg != NULL)
		g_object_unref(msg);
	if (signed_ != NULL)
		g_object_unref(signed_);
	if (content != NULL)
		g_object_unref(content);
	g_free(atts);
	g_ptr_array_unref(refs);
	g_ptr_array_unref(names);
	g_ptr_array_unref(texts);
	return rc;
}

int engine_render_notice(struct engine *eng, struct outbox_item *o,
			 const struct case_rec *c, const struct pii_rec *pii,
			 const char *to, const char *key, int64_t now, tdk_err *err)
{
	GPtrArray *earlier = g_ptr_array_new();
	int rc = TDK_OK;

	if (eng->signer == NULL)
		rc = sign_new(conf_processor_gnupg_home(eng->config), &eng->signer, err);
	if (rc == TDK_OK)
		rc = render(eng, o, c, pii, to, key, earlier, now, err);
	g_ptr_array_unref(earlier);
	return rc;
}

static void attention(struct store_txn *txn, uint64_t number, const char *kind,
		      const char *text, int64_t now)
{
	struct attention_item a = { .case_number = number, .kind = (char *)kind,
				    .text = (char *)text, .created = now };

	(void)store_attention_put(txn, &a, NULL);
}

enum prep { PREP_SEND, PREP_SKIP };

static int record_pending(struct engine *eng, struct store_txn *txn, GArray *pending,
			  int64_t now, struct engine_stats *stats, tdk_err *err);

/* First transaction: checks, cap, rendering. The outcomes of earlier
 * hand-overs still pending are recorded in it when it is committed (and
 * before the cap is counted). */
/* The message prepare() found ready for sendmail. */
struct ready {
	GBytes *message;
	char *recipient;
};

static int prepare(struct engine *eng, uint64_t id, int64_t now, enum prep *what,
		   struct ready *ready, GArray *pending, struct engine_stats *stats,
		   tdk_err *err)
{
	bool folded = false;
	struct store_txn *txn = NULL;
	struct outbox_item *o = NULL;
	struct case_rec *c = NULL;
	struct pii_rec *pii = NULL;
	const char *to = NULL, *key = NULL;
	GPtrArray *earlier = g_ptr_array_new_with_free_func(g_free);
	tdk_err why;
	int rc;

	*what = PREP_SKIP;
	rc = store_begin(eng->store, true, &txn, err);
	if (rc == TDK_OK)
		rc = store_outbox_get(txn, id, &o, err);
	if (rc != TDK_OK || !deliverable(o, now))
		goto out;
	if (o->case_number != 0 && (rc = store_case_get(txn, o->case_number, &c, err)) != TDK_OK)
		goto out;
	if (c != NULL && template_audience_sees_pii(o->audience) &&
	    store_pii_get(eng->store, c->number, &pii, NULL) != TDK_OK)
		pii = NULL;
	/* The recipient is checked again at every try. */
	if (recipient_of(eng, o, c, pii, &to, &key, &why) != TDK_OK ||
	    !mime_address_ok(to)) {
		g_autofree char *text = g_strdup_printf(
			"notice %s to the %s refused: %s", o->notice, o->audience,
			to == NULL || mime_address_ok(to) ? why.text : "unsafe address");

		if ((rc = record_pending(eng, txn, pending, now, stats, err)) != TDK_OK)
			goto out;
		folded = true;
		g_free(o->state);
		o->state = g_strdup(OUTBOX_FAILED);
		g_free(o->hold_reason);
		o->hold_reason = g_strdup(text);
		o->updated = now;
		msg_warn("%s", text);
		attention(txn, o->case_number, "delivery-refused", text, now);
		goto put;
	}
	if (o->rendered == NULL) {
		if ((rc = record_pending(eng, txn, pending, now, stats, err)) != TDK_OK)
			goto out;
		folded = true;
	}
	if (o->rendered == NULL) {
		struct thread_scan ts = { .self = o, .earlier = earlier };
		int cap = eng->rules->limits.recipient_daily_cap;
		size_t sent = 0;

		/* The recipient's daily cap: the notices sent to it in the
		 * last day, counted in the recipients' index. */
		rc = store_outbox_sent_count(txn, to, now - DAY, o->id, &sent, err);
		if (rc == TDK_OK && o->case_number != 0)
			rc = store_outbox_case_foreach(txn, o->case_number, earlier_notice, &ts, err);
		if (rc != TDK_OK && rc != THREAD_DONE)
			goto out;
		rc = TDK_OK;
		/* Staff addresses are the desk's own: its notices to them are
		 * not capped (command mail replies have their own hourly limit,
		 * and the milter hands the desk's own mail back). */
		if (cap > 0 && sent >= (size_t)cap && !is_staff_address(eng->config, to)) {
			g_free(o->state);
			o->state = g_strdup(OUTBOX_HELD);
			g_free(o->hold_reason);
			o->hold_reason = g_strdup_printf(
				"the daily cap of %d notices to this recipient is reached", cap);
			o->updated = now;
			attention(txn, o->case_number, "daily-cap", o->hold_reason, now);
			goto put;
		}
		rc = render(eng, o, c, pii, to, key, earlier, now, &why);
		if (rc != TDK_OK) {
			g_free(o->state);
			o->state = g_strdup(OUTBOX_FAILED);
			g_free(o->hold_reason);
			o->hold_reason = g_strdup_printf("cannot be rendered: %s", why.text);
			o->updated = now;
			msg_error("notice %" G_GUINT64_FORMAT ": %s", o->id, o->hold_reason);
			attention(txn, o->case_number, "delivery-failed", o->hold_reason, now);
			rc = TDK_OK;
			goto put;
		}
		o->updated = now;
	} else {
		/* Rendered before (a retry): nothing changed, nothing to
		 * write; the read-write transaction is dropped unsynced. */
		*what = PREP_SEND;
		goto out;
	}
	*what = PREP_SEND;
put:
	rc = store_outbox_put(txn, o, err);
	if (rc == TDK_OK) {
		rc = store_commit(txn, err);
		txn = NULL;
	}
	if (rc == TDK_OK && folded)
		g_array_set_size(pending, 0);
out:
	if (rc != TDK_OK || o == NULL || o->rendered == NULL || o->recipient == NULL)
		*what = PREP_SKIP;
	if (*what == PREP_SEND) {
		ready->message = g_bytes_ref(o->rendered);
		ready->recipient = g_strdup(o->recipient);
	}
	store_abort(txn);
	g_ptr_array_unref(earlier);
	pii_rec_free(pii);
	case_free(c);
	outbox_item_free(o);
	return rc == TDK_ENOENT ? TDK_OK : rc;
}

/* bounce_address local+TOKEN@domain */
static char *envelope_sender(const struct tdk_config *cfg, uint64_t id)
{
	const char *at = strrchr(cfg->bounce_address, '@');
	g_autofree char *token = outbox_token(id);

	if (at == NULL)
		return g_strdup_printf("%s+%s", cfg->bounce_address, token);
	return g_strdup_printf("%.*s+%s%s", (int)(at - cfg->bounce_address),
			       cfg->bounce_address, token, at);
}

/* Runs sendmail with data on its stdin: its exit status, or -1. */
static int run_sendmail(char *const *command, const char *sender, const char *rcpt,
			GBytes *data, char *why, size_t why_len)
{
	const char *program = command[0];
	const char *tail[] = { "-i", "-f", sender, "--", rcpt, NULL };
	size_t words = g_strv_length((char **)command);
	g_autofree const char **argv = g_new0(const char *, words + G_N_ELEMENTS(tail));
	int fds[2], status = 0;
	pid_t pid;
	gsize len;
	const char *p = g_bytes_get_data(data, &len);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	memcpy(argv, command, words * sizeof *argv);
	memcpy(argv + words, tail, sizeof tail);
	/* Said here, not left to posix_spawn: where it runs as fork + exec
	 * (under valgrind, say) a missing program is only an exit 127. */
	if (access(program, X_OK) != 0) {
		snprintf(why, why_len, "cannot run %s: %s", program, strerror(errno));
		return -1;
	}
	if (pipe(fds) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(why, why_len, "pipe: %s", strerror(errno));
		return -1;
	}
	/* posix_spawn (a vfork in glibc): no copy of the processor's page
	 * tables for every notice. */
	{
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t attr;
		sigset_t none, deflt;
		int e;

		sigemptyset(&none);
		sigemptyset(&deflt);
		sigaddset(&deflt, SIGPIPE);
		sigaddset(&deflt, SIGTERM);
		sigaddset(&deflt, SIGHUP);
		sigaddset(&deflt, SIGINT);
		posix_spawn_file_actions_init(&fa);
		posix_spawnattr_init(&attr);
		posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
		if (fds[0] != 0)
			posix_spawn_file_actions_addclose(&fa, fds[0]);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &deflt);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		e = posix_spawn(&pid, program, &fa, &attr, (char *const *)argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		if (e != 0) {
			snprintf(why, why_len, "cannot run %s: %s", program, strerror(e));
			close(fds[0]);
			close(fds[1]);
			return -1;
		}
	}
	close(fds[0]);
	sigaction(SIGPIPE, &ign, &old);
	while (len > 0) {
		ssize_t n = write(fds[1], p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		len -= (gsize)n;
	}
	close(fds[1]);
	sigaction(SIGPIPE, &old, NULL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(why, why_len, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status)) {
		snprintf(why, why_len, "%s exited with %d", program, WEXITSTATUS(status));
		return len > 0 && WEXITSTATUS(status) == 0 ? -1 : WEXITSTATUS(status);
	}
	snprintf(why, why_len, "%s was killed by signal %d", program,
		 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

static bool permanent(int code)
{
	return code == EX_USAGE || code == EX_DATAERR || code == EX_NOUSER ||
	       code == EX_NOHOST || code == EX_UNAVAILABLE;
}

/* A hand-over to sendmail whose outcome is not recorded yet. */
struct outcome {
	uint64_t id;
	int code;         /* sendmail's exit status, or -1 */
	char why[256];
};

/* Records oc in txn: sent, deferred (with a growing pause) or failed. */
static int record_outcome(struct engine *eng, struct store_txn *txn,
			  const struct outcome *oc, int64_t now,
			  struct engine_stats *stats, tdk_err *err)
{
	struct outbox_item *o = NULL;
	int rc = store_outbox_get(txn, oc->id, &o, err);

	if (rc != TDK_OK)
		return rc;
	g_free(o->state);
	o->updated = now;
	if (oc->code == 0) {
		o->state = g_strdup(OUTBOX_SENT);
		o->sent = now;
		g_clear_pointer(&o->hold_reason, g_free);
		stats->sent++;
		msg_info("notice %" G_GUINT64_FORMAT " (%s) sent, <%s>", o->id, o->notice,
			 o->message_id);
	} else {
		o->tries++;
		g_free(o->hold_reason);
		o->hold_reason = g_strdup(oc->why);
		if (permanent(oc->code) || o->tries >= eng->config->outbound_max_tries) {
			g_autofree char *text = g_strdup_printf(
				"notice %s to the %s failed after %d tries: %s", o->notice,
				o->audience, o->tries, oc->why);

			o->state = g_strdup(OUTBOX_FAILED);
			attention(txn, o->case_number, "delivery-failed", text, now);
			stats->failed++;
			msg_warn("%s", text);
		} else {
			int64_t pause = 300;

			for (int i = 1; i < o->tries && pause < 6 * 3600; i++)
				pause *= 2;
			if (pause > 6 * 3600)
				pause = 6 * 3600;
			o->state = g_strdup(OUTBOX_DEFERRED);
			o->next_try = now + pause;
			stats->deferred_notices++;
			msg_info("notice %" G_GUINT64_FORMAT " deferred: %s", o->id, oc->why);
		}
	}
	rc = store_outbox_put(txn, o, err);
	outbox_item_free(o);
	return rc;
}

/* Records the pending outcomes in txn (the caller commits, then empties
 * pending). */
static int record_pending(struct engine *eng, struct store_txn *txn, GArray *pending,
			  int64_t now, struct engine_stats *stats, tdk_err *err)
{
	int rc = TDK_OK;

	for (guint i = 0; rc == TDK_OK && i < pending->len; i++)
		rc = record_outcome(eng, txn, &g_array_index(pending, struct outcome, i), now,
				    stats, err);
	return rc;
}

/* Records the pending outcomes in a transaction of their own. */
static int flush_pending(struct engine *eng, GArray *pending, int64_t now,
			 struct engine_stats *stats, tdk_err *err)
{
	struct store_txn *txn = NULL;
	int rc;

	if (pending->len == 0)
		return TDK_OK;
	rc = store_begin(eng->store, true, &txn, err);
	if (rc == TDK_OK)
		rc = record_pending(eng, txn, pending, now, stats, err);
	if (rc == TDK_OK) {
		rc = store_commit(txn, err);
		txn = NULL;
	}
	store_abort(txn);
	if (rc == TDK_OK)
		g_array_set_size(pending, 0);
	return rc;
}

/* Second half: hand the message prepare() found to sendmail; the outcome
 * joins pending. */
static void hand_over(struct engine *eng, char *const *command, uint64_t id,
		      struct ready *ready, GArray *pending)
{
	g_autofree char *sender = envelope_sender(eng->config, id);
	struct outcome oc = { .id = id };

	oc.code = run_sendmail(command, sender, ready->recipient,
			       ready->message, oc.why, sizeof oc.why);
	g_array_append_val(pending, oc);
}

int engine_deliver(struct engine *eng, int64_t now, size_t max,
		   struct engine_stats *stats, tdk_err *err)
{
	struct store_txn *txn = NULL;
	struct pending p = { .ids = NULL, .now = now };
	g_auto(GStrv) command = NULL;
	GError *gerr = NULL;
	GArray *pending;
	int rc;

	if (eng->config->outbound_sendmail == NULL || eng->config->outbound_sendmail[0] == '\0')
		return TDK_OK; /* delivery is off */
	if (!g_shell_parse_argv(eng->config->outbound_sendmail, NULL, &command, &gerr)) {
		rc = tdk_err_set(err, TDK_EINVAL, "outbound.sendmail: %s", gerr->message);
		g_error_free(gerr);
		return rc;
	}
	if (!g_path_is_absolute(command[0]))
		return tdk_err_set(err, TDK_EINVAL,
				   "outbound.sendmail: \"%s\" is not an absolute path", command[0]);
	p.ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	pending = g_array_new(FALSE, FALSE, sizeof(struct outcome));
	rc = store_begin(eng->store, false, &txn, err);
	if (rc == TDK_OK)
		rc = store_outbox_pending_foreach(txn, collect, &p, err);
	store_abort(txn);
	if (rc == TDK_OK && p.render && eng->signer == NULL)
		rc = sign_new(conf_processor_gnupg_home(eng->config), &eng->signer, err);
	for (guint i = 0; rc == TDK_OK && i < p.ids->len && i < max; i++) {
		uint64_t id = g_array_index(p.ids, uint64_t, i);
		struct ready ready = { NULL, NULL };
		enum prep what;

		rc = prepare(eng, id, now, &what, &ready, pending, stats, err);
		if (rc == TDK_OK && what == PREP_SEND)
			hand_over(eng, command, id, &ready, pending);
		if (ready.message != NULL)
			g_bytes_unref(ready.message);
		g_free(ready.recipient);
		if (rc == TDK_OK && pending->len >= DELIVER_BATCH)
			rc = flush_pending(eng, pending, now, stats, err);
	}
	/* Even after a failure: what sendmail took is recorded if it can be. */
	{
		int frc = flush_pending(eng, pending, now, stats, rc == TDK_OK ? err : NULL);

		if (rc == TDK_OK)
			rc = frc;
	}
	g_array_unref(pending);
	g_array_unref(p.ids);
	return rc;
}
