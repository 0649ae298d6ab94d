/*
 * flow.c - the state machine's shared core: loading and saving cases,
 * events, notice intents, staff attention, and the transitions that mail,
 * commands and timers all use (contact attempts, unreachable, stage 2,
 * closing, personal-data destruction). See flow.h.
 */
#include "flow_int.h"
#include "log.h"

#include <stdarg.h>
#include <string.h>

void flow_init(struct flow *f, struct store *store,
	       const struct tdk_config *config, const struct rules *rules,
	       const struct cal *cal)
{
	memset(f, 0, sizeof *f);
	f->store = store;
	f->config = config;
	f->rules = rules;
	f->cal = cal;
	f->format.prefix = config->case_prefix;
	f->format.width = (int)config->case_width;
	f->actor = "processor";
}

static void pii_free_cb(gpointer p)
{
	pii_rec_free(p);
}

static struct pii_rec *pii_copy(const struct pii_rec *p)
{
	struct pii_rec *c = g_new0(struct pii_rec, 1);

	c->address = g_strdup(p->address);
	c->name = g_strdup(p->name);
	c->postal = g_strdup(p->postal);
	c->phone = g_strdup(p->phone);
	c->report = p->report != NULL ? g_bytes_ref(p->report) : NULL;
	c->decrypted = p->decrypted != NULL ? g_bytes_ref(p->decrypted) : NULL;
	c->stored = p->stored;
	return c;
}

int flow_pii_pending_get(struct flow *f, uint64_t number, struct pii_rec **copy)
{
	const struct pii_rec *p = f->pii_pending != NULL
		? g_hash_table_lookup(f->pii_pending, &number) : NULL;

	if (p != NULL) {
		*copy = pii_copy(p);
		return TDK_OK;
	}
	return store_pii_get(f->store, number, copy, NULL);
}

void flow_pii_pending_set(struct flow *f, uint64_t number, struct pii_rec *pii)
{
	if (f->pii_pending == NULL)
		f->pii_pending = g_hash_table_new_full(g_int64_hash, g_int64_equal,
						       g_free, pii_free_cb);
	g_hash_table_replace(f->pii_pending, g_memdup2(&number, sizeof number), pii);
}

int flow_pii_flush(struct flow *f)
{
	GHashTableIter it;
	gpointer key, value;
	int rc = TDK_OK;

	if (f->pii_pending == NULL)
		return TDK_OK;
	g_hash_table_iter_init(&it, f->pii_pending);
	while (rc == TDK_OK && g_hash_table_iter_next(&it, &key, &value))
		rc = store_pii_put(f->store, *(const uint64_t *)key, value, f->err);
	flow_clear(f);
	return rc;
}

void flow_clear(struct flow *f)
{
	if (f->pii_pending != NULL)
		g_hash_table_destroy(f->pii_pending);
	f->pii_pending = NULL;
}

char *flow_case_text(const struct flow *f, uint64_t number)
{
	return g_strdup_printf("%s%0*" G_GUINT64_FORMAT, f->format.prefix,
			       f->format.width, number);
}

int flow_load(struct flow *f, uint64_t number, struct case_rec **out)
{
	int rc = store_case_get(f->txn, number, out, f->err);

	if (rc == TDK_ECORRUPT) {
		g_autofree char *text = flow_case_text(f, number);

		tdk_err_set(f->err, TDK_ECORRUPT,
			    "%s: the case record does not decode", text);
	}
	return rc;
}

int flow_save(struct flow *f, struct case_rec *c)
{
	c->last_activity = f->now;
	return store_case_put(f->txn, c, f->cal, f->err);
}

int flow_event(struct flow *f, struct case_rec *c, const char *type,
	       uint64_t spool_id, const char *message_id, const char *fmt, ...)
{
	struct case_event e = { 0 };
	va_list ap;
	int rc;

	e.time = f->now;
	e.actor = (char *)f->actor;
	e.type = (char *)type;
	e.spool_id = spool_id;
	e.message_id = (char *)message_id;
	e.state = (char *)case_state_name(c->state);
	va_start(ap, fmt);
	e.text = fmt != NULL ? g_strdup_vprintf(fmt, ap) : NULL;
	va_end(ap);
	rc = store_event_append(f->txn, c, &e, f->err);
	g_free(e.text);
	return rc;
}

static const char *desk_domain(const struct flow *f)
{
	const char *at = strrchr(f->config->contact_address, '@');

	return at != NULL ? at + 1 : "localhost";
}

static bool party_has_key(const struct case_rec *c, int party)
{
	return party >= 0 && (size_t)party < c->n_parties &&
	       c->parties[party].key != NULL;
}

/* The name the rules' notice lists use: every reminder is "reminder". */
static const char *policy_name(const char *notice)
{
	if (g_str_has_prefix(notice, "reminder-") || g_str_has_suffix(notice, "-reminder"))
		return "reminder";
	return notice;
}

int flow_notice(struct flow *f, struct case_rec *c, const char *notice,
		int party, const char *detail, int attempt)
{
	struct outbox_item o = { 0 };
	g_autofree char *text = c != NULL ? flow_case_text(f, c->number) : NULL;
	g_autofree char *compact = NULL;
	int rc;

	o.case_number = c != NULL ? c->number : 0;
	o.notice = (char *)notice;
	o.party = party;
	if (party >= 0) {
		const struct case_party *p = &c->parties[party];

		o.audience = (char *)case_role_name(p->role);
		o.to = p->address; /* NULL for the discoverer */
		o.lang = p->lang != NULL ? p->lang
					 : (p->role == ROLE_DISCOVERER && c->lang != NULL
						    ? c->lang : "ja");
	} else {
		o.audience = "staff";
		o.to = f->config->control_address;
		o.lang = "ja";
	}
	o.state = OUTBOX_QUEUED;
	if (strcmp(notice, "postal-letter") == 0) {
		o.state = OUTBOX_HELD;
		o.hold_reason = "a letter for staff to print and post";
	} else if (party >= 0 && c->parties[party].role != ROLE_DISCOVERER &&
		   !party_has_key(c, party) &&
		   rules_hold_without_key(f->rules, policy_name(notice))) {
		o.state = OUTBOX_HELD;
		o.hold_reason = FLOW_HOLD_NO_KEY;
	}
	o.detail = (char *)detail;
	o.attempt = attempt;
	o.created = f->now;
	o.updated = f->now;
	rc = store_outbox_put(f->txn, &o, f->err);
	if (rc != TDK_OK)
		return rc;
	/* A stable Message-ID: replies thread back to the case. */
	if (text != NULL) {
		compact = g_strdup(text);
		g_strdelimit(compact, "#", '-');
	}
	o.message_id = g_strdup_printf("todoke.%s.n%" G_GUINT64_FORMAT "@%s",
				       compact != NULL ? compact : "desk", o.id,
				       desk_domain(f));
	rc = store_outbox_put(f->txn, &o, f->err);
	if (rc == TDK_OK && c != NULL)
		rc = store_msgid_put(f->txn, o.message_id, c->number, f->err);
	if (rc == TDK_OK && c != NULL) {
		c->n_notices++;
		bool held = o.hold_reason != NULL;

		rc = flow_event(f, c, "notice", 0, o.message_id, "%s to %s%s%s%s",
				notice, o.audience, held ? " (held: " : "",
				held ? o.hold_reason : "", held ? ")" : "");
	}
	g_free(o.message_id);
	return rc;
}

int flow_desk_notice(struct flow *f, const char *notice, const char *to,
		     const char *lang, const char *detail)
{
	struct outbox_item o = { 0 };
	int rc;

	o.notice = (char *)notice;
	o.party = -1;
	o.audience = "staff";
	o.to = (char *)to;
	o.lang = (char *)lang;
	o.state = OUTBOX_QUEUED;
	o.detail = (char *)detail;
	o.created = f->now;
	o.updated = f->now;
	rc = store_outbox_put(f->txn, &o, f->err);
	if (rc != TDK_OK)
		return rc;
	o.message_id = g_strdup_printf("todoke.desk.n%" G_GUINT64_FORMAT "@%s",
				       o.id, desk_domain(f));
	rc = store_outbox_put(f->txn, &o, f->err);
	g_free(o.message_id);
	return rc;
}

int flow_notice_role(struct flow *f, struct case_rec *c, const char *notice,
		     int role, const char *detail)
{
	int rc = TDK_OK;

	for (size_t i = 0; rc == TDK_OK && i < c->n_parties; i++)
		if (c->parties[i].role == role)
			rc = flow_notice(f, c, notice, (int)i, detail, 0);
	return rc;
}

int flow_attention(struct flow *f, struct case_rec *c, const char *kind,
		   const char *fmt, ...)
{
	struct attention_item a = { 0 };
	va_list ap;
	int rc;

	a.case_number = c != NULL ? c->number : 0;
	a.kind = (char *)kind;
	va_start(ap, fmt);
	a.text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	a.created = f->now;
	rc = store_attention_put(f->txn, &a, f->err);
	if (rc == TDK_OK)
		rc = flow_notice(f, c, "staff-notice", -1, kind, 0);
	if (rc == TDK_OK && c != NULL)
		rc = flow_event(f, c, "staff-told", 0, NULL, "%s: %s", kind, a.text);
	g_free(a.text);
	return rc;
}

int flow_tell_staff(struct flow *f, const char *kind, const char *text)
{
	return flow_attention(f, NULL, kind, "%s", text);
}

/* ---------------------------------------------------------- states */

void flow_set_state(struct case_rec *c, int state)
{
	c->state = state;
}

void flow_stop_clock(struct case_rec *c, int clock)
{
	c->clocks[clock].active = false;
}

void flow_stop_all_clocks(struct case_rec *c)
{
	for (int id = 1; id < CLOCK_COUNT; id++)
		c->clocks[id].active = false;
}

int flow_contact_party(const struct case_rec *c)
{
	return c->contact_party >= 0 && (size_t)c->contact_party < c->n_parties
		       ? c->contact_party : -1;
}

int flow_contact_start(struct flow *f, struct case_rec *c, int party)
{
	c->contact_party = party;
	c->contact_attempts = 0;
	c->awaiting_post = false;
	flow_set_state(c, CS_CONTACTING);
	return flow_contact_next(f, c);
}

/* The next attempt under the contact policy, or unreachable after the last. */
int flow_contact_next(struct flow *f, struct case_rec *c)
{
	int party = flow_contact_party(c);
	int n = c->contact_attempts + 1;
	g_autofree char *detail = NULL;
	int rc;

	flow_stop_clock(c, CLOCK_CONTACT);
	if (n > f->rules->contact.attempts)
		return flow_unreachable(f, c, "no answer to the last contact attempt");
	detail = g_strdup_printf("attempt %d of %d", n, f->rules->contact.attempts);
	c->contact_attempts = n;
	if (n == f->rules->contact.postal_attempt && party >= 0 &&
	    c->parties[party].postal != NULL) {
		c->awaiting_post = true;
		rc = flow_notice(f, c, "postal-letter", party, detail, n);
		if (rc == TDK_OK)
			rc = flow_attention(f, c, "post-letter",
					    "contact %s is by post: print the held letter, "
					    "post it and confirm with 'contacted CASE post'",
					    detail);
		return rc;
	}
	if (c->kind == CASE_KIND_WEB || n == 1)
		rc = flow_notice(f, c, n == 1 ? "stage1" : "stage1-reminder", party,
				 detail, n);
	else
		rc = flow_notice(f, c, "contact-reminder", party, detail, n);
	if (rc == TDK_OK && n == 1)
		c->stage1_sent = f->now;
	if (rc == TDK_OK)
		case_clock_start(c, CLOCK_CONTACT, f->now, f->rules->contact.interval);
	return rc;
}

int flow_unreachable(struct flow *f, struct case_rec *c, const char *why)
{
	enum rule_proposal proposal;
	int rc;

	flow_stop_clock(c, CLOCK_CONTACT);
	c->awaiting_post = false;
	c->state_before = c->state;
	flow_set_state(c, CS_UNREACHABLE);
	c->unreachable_at = f->now;
	proposal = rules_unreachable_proposal(
		f->rules, c->impact,
		c->verifiable == 0 ? -1 : (c->verifiable == 1 ? 1 : 0),
		c->kind == CASE_KIND_PRODUCT);
	rc = flow_event(f, c, "unreachable", 0, NULL, "%s after %d attempts; proposed: %s",
			why, c->contact_attempts, rules_proposal_name(proposal));
	if (rc == TDK_OK)
		rc = flow_attention(f, c, "unreachable",
				    "the %s did not answer %d contact attempts; "
				    "proposed next step: %s",
				    c->kind == CASE_KIND_PRODUCT ? "developer" : "operator",
				    c->contact_attempts, rules_proposal_name(proposal));
	if (rc == TDK_OK)
		rc = flow_notice_role(f, c, "unreachable", ROLE_DISCOVERER, NULL);
	return rc;
}

int flow_send_stage2(struct flow *f, struct case_rec *c, int party)
{
	const struct rules *r = f->rules;
	int rc;

	flow_stop_clock(c, CLOCK_CONTACT);
	c->awaiting_post = false;
	c->contact_party = party;
	rc = flow_notice(f, c, "stage2", party, NULL, 0);
	if (rc != TDK_OK)
		return rc;
	flow_set_state(c, CS_DETAIL_SENT);
	c->stage2_sent = f->now;
	if (c->kind == CASE_KIND_WEB) {
		case_clock_start(c, CLOCK_FIRST_REPLY, f->now, r->reminders.first_reply.after);
		case_clock_start(c, CLOCK_INVESTIGATION, f->now, r->web.investigation);
		case_clock_start(c, CLOCK_FIX, f->now, r->web.fix);
		case_clock_start(c, CLOCK_COMPLETION, f->now, r->web.completion);
		case_clock_start(c, CLOCK_LONG_RUNNING, f->now, r->web.long_running);
	}
	return flow_event(f, c, "stage2-sent", 0, NULL, "detail notice sent%s",
			  c->kind == CASE_KIND_WEB ? "; the web clocks start" : "");
}

/* The notice a closure sends, by outcome. */
static const char *closing_notice(const char *outcome)
{
	if (g_str_has_prefix(outcome, "fixed"))
		return "completion";
	if (g_str_has_prefix(outcome, "published"))
		return "published";
	return "ended";
}

int flow_close(struct flow *f, struct case_rec *c, const char *outcome,
	       const char *code, const char *text)
{
	const char *notice = closing_notice(outcome);
	int rc = TDK_OK;

	flow_stop_all_clocks(c);
	c->awaiting_post = false;
	c->state_before = c->state;
	flow_set_state(c, CS_CLOSED);
	c->closed = f->now;
	g_free(c->outcome);
	c->outcome = g_strdup(outcome);
	g_free(c->reason_code);
	c->reason_code = g_strdup(code);
	g_free(c->close_text);
	c->close_text = g_strdup(text);
	case_clock_start(c, CLOCK_RETENTION, f->now, f->rules->retention.personal_data);
	if (c->hold)
		flow_stop_clock(c, CLOCK_RETENTION);
	rc = flow_event(f, c, "closed", 0, NULL, "outcome %s%s%s", outcome,
			code != NULL ? ", reason " : "", code != NULL ? code : "");
	if (rc == TDK_OK && !(strcmp(notice, "published") == 0 && c->published != 0))
		rc = flow_notice_role(f, c, notice, ROLE_DISCOVERER, code);
	/* Web: ending the handling is told to the operator too (the
	 * discoverer's non-disclosure request lapses). */
	if (rc == TDK_OK && c->kind == CASE_KIND_WEB && strcmp(notice, "ended") == 0 &&
	    flow_contact_party(c) >= 0 && (c->stage1_sent != 0 || c->stage2_sent != 0))
		rc = flow_notice(f, c, "ended", flow_contact_party(c), code, 0);
	return rc;
}

struct discoverer_notices {
	uint64_t number;
	GArray *ids;
};

static int collect_discoverer_notice(const struct outbox_item *o, void *ctx)
{
	struct discoverer_notices *dn = ctx;

	if (o->case_number == dn->number && g_strcmp0(o->audience, "discoverer") == 0 &&
	    (o->recipient != NULL || o->rendered != NULL))
		g_array_append_val(dn->ids, o->id);
	return 0;
}

/* The notices to the discoverer keep their intent (which notice, when,
 * its state: statistics) but lose the address and the message, which
 * carries the address and may carry the name. */
static int forget_discoverer_notices(struct flow *f, uint64_t number, size_t *count)
{
	struct discoverer_notices dn = { number, g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
	int rc = store_outbox_case_foreach(f->txn, number, collect_discoverer_notice, &dn,
					   f->err);

	*count = 0;
	for (guint i = 0; rc == TDK_OK && i < dn.ids->len; i++) {
		struct outbox_item *o = NULL;

		rc = store_outbox_get(f->txn, g_array_index(dn.ids, uint64_t, i), &o, f->err);
		if (rc == TDK_OK) {
			g_clear_pointer(&o->recipient, g_free);
			g_clear_pointer(&o->rendered, g_bytes_unref);
			rc = store_outbox_replace_scrubbed(f->txn, o, f->err);
		}
		outbox_item_free(o);
		if (rc == TDK_OK)
			(*count)++;
	}
	g_array_free(dn.ids, TRUE);
	return rc;
}

int flow_destroy_personal_data(struct flow *f, struct case_rec *c)
{
	size_t notices = 0;
	int rc = store_pii_delete(f->store, c->number, f->err);

	if (rc == TDK_OK)
		rc = forget_discoverer_notices(f, c->number, &notices);
	if (rc != TDK_OK)
		return rc;
	c->pii_destroyed = f->now;
	flow_stop_clock(c, CLOCK_RETENTION);
	f->pii_destroyed++;
	/* The discoverer's key and the id of its last mail point to the
	 * person too. */
	for (size_t i = 0; i < c->n_parties; i++) {
		if (c->parties[i].role != ROLE_DISCOVERER)
			continue;
		g_clear_pointer(&c->parties[i].key, g_free);
		g_clear_pointer(&c->parties[i].key_source, g_free);
		g_clear_pointer(&c->parties[i].last_mail_id, g_free);
	}
	return flow_event(f, c, "personal-data-destroyed", 0, NULL,
			  "the discoverer's name, addresses, phone number and report "
			  "mail were destroyed; %zu notice%s to the discoverer kept "
			  "without address and text",
			  notices, notices == 1 ? "" : "s");
}

bool flow_case_overdue(const struct case_rec *c, const struct cal *cal,
		       int64_t now, int *clock)
{
	static const int watched[] = { CLOCK_FIRST_REPLY, CLOCK_INVESTIGATION,
				       CLOCK_FIX, CLOCK_COMPLETION };

	if (!case_state_is_open(c->state))
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(watched); i++) {
		const struct case_clock *k = &c->clocks[watched[i]];
		int64_t due;
		bool waiting;

		switch (watched[i]) {
		case CLOCK_FIRST_REPLY: waiting = c->acknowledged == 0; break;
		case CLOCK_INVESTIGATION: waiting = c->investigated == 0; break;
		default: waiting = c->fix_reported == 0; break;
		}
		if (k->start == 0 || !waiting || !(k->active || k->fired) ||
		    case_clock_due(cal, k, &due) != TDK_OK || due > now)
			continue;
		if (clock != NULL)
			*clock = watched[i];
		return true;
	}
	return false;
}

/* ---------------------------------------------------------- helpers */

char *flow_address_domain(const char *address)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	return at != NULL && at[1] != '\0' ? g_ascii_strdown(at + 1, -1) : NULL;
}

char *flow_url_host(const char *url)
{
	const char *p, *end;

	if (url == NULL)
		return NULL;
	if (g_ascii_strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (g_ascii_strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return NULL;
	end = p + strcspn(p, "/:?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL) /* user@host */
		p = (const char *)memchr(p, '@', (size_t)(end - p)) + 1;
	return end > p ? g_ascii_strdown(p, end - p) : NULL;
}
