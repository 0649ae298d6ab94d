/*
 * flow_mail.c - applying a captured mail to the cases: new reports,
 * correspondence from parties (and from anyone else), bounces and
 * auto-replies. See flow.h.
 *
 * Who sent a mail: the envelope sender, or the From header when its
 * domain is that of the envelope sender (a From header alone is never
 * trusted), or a good signature by a party's key.
 */
#include "flow_int.h"
#include "fixreport.h"
#include "log.h"
#include "mailtext.h"

#include <gmime/gmime.h>
#include <string.h>

#define TEXT_MAX (1024 * 1024) /* text read from one mail */

struct sender {
	char *envelope;  /* lower-cased, or NULL */
	char *header;    /* the From address, lower-cased, or NULL */
	char *name;      /* the From display name, or NULL */
};

static void sender_clear(struct sender *s)
{
	g_free(s->envelope);
	g_free(s->header);
	g_free(s->name);
}

static void sender_read(const struct spool_entry *e, struct sender *s)
{
	InternetAddressList *list;

	memset(s, 0, sizeof *s);
	if (e->envelope_from != NULL) {
		/* The MTA hands the milter the SMTP path: "<a@b>", "<>". */
		const char *p = e->envelope_from;
		size_t len = strlen(p);

		if (len >= 2 && p[0] == '<' && p[len - 1] == '>') {
			p++;
			len -= 2;
		}
		if (len > 0)
			s->envelope = g_ascii_strdown(p, (gssize)len);
	}
	if (e->from_header == NULL)
		return;
	list = internet_address_list_parse(NULL, e->from_header);
	if (list == NULL)
		return;
	for (int i = 0; i < internet_address_list_length(list); i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			const char *addr = internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(a));
			const char *name = internet_address_get_name(a);

			s->header = addr != NULL ? g_ascii_strdown(addr, -1) : NULL;
			s->name = name != NULL && *name != '\0' ? g_strdup(name) : NULL;
			break;
		}
	}
	g_object_unref(list);
}

/* The address to believe: the envelope's, or an aligned From. */
static const char *sender_address(const struct sender *s)
{
	g_autofree char *ed = NULL, *hd = NULL;

	if (s->header == NULL)
		return s->envelope;
	if (s->envelope == NULL)
		return s->header;
	ed = flow_address_domain(s->envelope);
	hd = flow_address_domain(s->header);
	return ed != NULL && hd != NULL && strcmp(ed, hd) == 0 ? s->header
							       : s->envelope;
}

/* The party that sent e, or -1. */
static int sender_party(const struct case_rec *c, const struct spool_entry *e,
			const struct sender *s)
{
	int p = case_party_find_address(c, s->envelope);
	g_autofree char *ed = NULL, *hd = NULL;

	if (p >= 0)
		return p;
	if (s->header != NULL) {
		ed = flow_address_domain(s->envelope);
		hd = flow_address_domain(s->header);
		if (s->envelope == NULL ||
		    (ed != NULL && hd != NULL && strcmp(ed, hd) == 0))
			if ((p = case_party_find_address(c, s->header)) >= 0)
				return p;
	}
	for (size_t i = 0; i < e->n_signatures; i++) {
		const struct spool_signature *sig = &e->signatures[i];

		if (sig->state != SPOOL_SIG_GOOD || sig->fingerprint == NULL)
			continue;
		for (size_t k = 0; k < c->n_parties; k++)
			if (c->parties[k].key != NULL &&
			    g_ascii_strcasecmp(c->parties[k].key, sig->fingerprint) == 0)
				return (int)k;
	}
	return -1;
}

static bool text_is_japanese(const char *s)
{
	if (s == NULL || !g_utf8_validate(s, -1, NULL))
		return false;
	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);

		if (ch >= 0x3000 && ch <= 0x9fff)
			return true;
	}
	return false;
}

static GBytes *readable_mime(const struct spool_entry *e)
{
	return e->decrypted != NULL ? e->decrypted : e->original;
}

/* Finds the case a mail belongs to: subject, then body, then thread. */
static int find_case(struct flow *f, const struct spool_entry *e,
		     uint64_t *number, const char **tag)
{
	const char *texts[] = { e->case_subject, e->case_body };

	*tag = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		const char *t = texts[i];
		guint64 v;

		if (t == NULL || strlen(t) <= strlen(f->format.prefix))
			continue;
		*tag = t;
		if (g_ascii_string_to_unsigned(t + strlen(f->format.prefix), 10, 1,
					       G_MAXUINT64, &v, NULL)) {
			struct case_rec *c;
			int rc = store_case_get(f->txn, v, &c, NULL);

			if (rc == TDK_OK) {
				case_free(c);
				*number = v;
				return TDK_OK;
			}
			if (rc == TDK_ECORRUPT) {
				*number = v;
				return TDK_OK; /* flow_load reports it */
			}
		}
	}
	for (size_t i = 0; i < e->n_thread_refs; i++) {
		int rc = store_msgid_get(f->txn, e->thread_refs[i], number, f->err);

		if (rc == TDK_OK)
			return TDK_OK;
		if (rc != TDK_ENOENT)
			return rc;
	}
	return TDK_ENOENT;
}

/* ------------------------------------------------------- new reports */

static int new_report(struct flow *f, const struct spool_entry *e,
		      const struct sender *s, const char *unknown_tag)
{
	struct case_rec *c = NULL;
	struct pii_rec pii = { 0 };
	uint64_t number;
	g_autofree char *text = NULL;
	int party, rc;

	rc = store_case_allocate(f->txn, &number, f->err);
	if (rc != TDK_OK)
		return rc;
	c = case_new(number);
	f->case_number = number;
	f->what = "new case";
	flow_set_state(c, CS_RECEIVED);
	c->received = f->now;
	c->lang = g_strdup(text_is_japanese(e->subject) ? "ja" : "en");
	c->report_message_id = g_strdup(e->message_id);
	party = (int)case_party_add(c, ROLE_DISCOVERER, NULL, NULL, NULL, NULL,
				    NULL, f->now);
	/* Personal data first, in its own store: on a replay it is simply
	 * written again. */
	pii.address = (char *)sender_address(s);
	pii.name = s->name;
	pii.report = e->original;
	pii.decrypted = e->decrypted;
	pii.stored = f->now;
	rc = store_pii_put(f->store, number, &pii, f->err);
	if (rc == TDK_OK && e->message_id != NULL)
		rc = store_msgid_put(f->txn, e->message_id, number, f->err);
	if (rc == TDK_OK)
		rc = flow_event(f, c, "received", e->id, e->message_id,
				"report received (%s)", spool_crypto_name(e->crypto));
	if (rc == TDK_OK && pii.address != NULL)
		rc = flow_notice_role(f, c, "acknowledgement", ROLE_DISCOVERER, NULL);
	if (rc == TDK_OK && pii.address != NULL)
		rc = flow_party_keys(f, c, e, party, pii.address, s->header);
	text = flow_case_text(f, number);
	if (rc == TDK_OK && unknown_tag != NULL)
		rc = flow_attention(f, c, "unknown-case",
				    "a mail named %s, which is not a case; it was "
				    "taken as a new report, %s", unknown_tag, text);
	else if (rc == TDK_OK)
		rc = flow_attention(f, c, "new-report", "new report %s", text);
	if (rc == TDK_OK && (e->crypto == SPOOL_DECRYPT_FAILED ||
			     e->crypto == SPOOL_DECRYPT_DEFERRED))
		rc = flow_attention(f, c, "decrypt-failed",
				    "the report could not be decrypted (%s): %s",
				    spool_crypto_name(e->crypto),
				    e->crypto_detail != NULL ? e->crypto_detail : "");
	if (rc == TDK_OK)
		rc = flow_save(f, c);
	case_free(c);
	return rc;
}

/* ------------------------------------------------------ correspondence */

static struct fixreport *find_fix_report(const struct spool_entry *e)
{
	struct mailtext *mt = NULL;
	struct fixreport *r = NULL;

	if (mailtext_extract(readable_mime(e), TEXT_MAX, &mt, NULL) != TDK_OK)
		return NULL;
	for (size_t i = 0; r == NULL && i < mt->n_parts; i++) {
		const char *t = mt->parts[i].text;

		if (fixreport_detect(t) &&
		    fixreport_parse(t, strlen(t), &r, NULL) != TDK_OK)
			r = NULL;
	}
	mailtext_free(mt);
	return r;
}

static int apply_fix_report(struct flow *f, struct case_rec *c,
			    const struct spool_entry *e, const struct fixreport *r)
{
	flow_stop_clock(c, CLOCK_FIRST_REPLY);
	flow_stop_clock(c, CLOCK_INVESTIGATION);
	flow_stop_clock(c, CLOCK_FIX);
	flow_stop_clock(c, CLOCK_COMPLETION);
	flow_stop_clock(c, CLOCK_LONG_RUNNING);
	c->fix_reported = f->now;
	if (c->acknowledged == 0)
		c->acknowledged = f->now;
	if (c->investigated == 0)
		c->investigated = f->now;
	c->fix_kind = (int)r->kind;
	c->check_wanted = r->check == FIXREPORT_CHECK_WANTED ? 1
			  : r->check == FIXREPORT_CHECK_NOT_WANTED ? 2 : 0;
	flow_set_state(c, r->check == FIXREPORT_CHECK_WANTED ? CS_CHECKING
							     : CS_FIX_REPORTED);
	f->what = "fix report";
	int rc = flow_event(f, c, "fix-reported", e->id, e->message_id,
			    "修正完了報告書: %s; check %s", fixreport_kind_name(r->kind),
			    fixreport_check_name(r->check));

	if (rc == TDK_OK)
		rc = flow_attention(f, c, "fix-reported",
				    r->check == FIXREPORT_CHECK_WANTED
					    ? "fix reported (%s); the operator asks for the "
					      "desk's check: record it with 'record CASE checked DATE'"
					    : "fix reported (%s); close the case when satisfied",
				    fixreport_kind_name(r->kind));
	return rc;
}

/* A contact reply in a contacting (or unreachable) case. */
static int contact_reply(struct flow *f, struct case_rec *c,
			 const struct spool_entry *e, int party)
{
	const struct case_party *p = &c->parties[party];
	g_autofree char *domain = flow_address_domain(p->address);
	g_autofree char *host = flow_url_host(c->url);
	int first = flow_contact_party(c);
	g_autofree char *first_domain =
		first >= 0 ? flow_address_domain(c->parties[first].address) : NULL;
	bool resumed = c->state == CS_UNREACHABLE;
	bool related;
	int rc;

	flow_stop_clock(c, CLOCK_CONTACT);
	c->awaiting_post = false;
	c->contact_received = f->now;
	flow_set_state(c, CS_CONTACT_KNOWN);
	if (resumed) {
		c->resumed_at = f->now;
		c->resumptions++;
	}
	f->what = resumed ? "late contact reply" : "contact reply";
	rc = flow_event(f, c, resumed ? "resumed" : "contact-reply", e->id,
			e->message_id, "%s answered%s", case_role_name(p->role),
			resumed ? " after being declared unreachable" : "");
	if (rc != TDK_OK)
		return rc;
	if (c->kind == CASE_KIND_PRODUCT) {
		c->contact_party = party;
		return flow_attention(f, c, "contact-reply",
				      "the developer answered; send the details with "
				      "'send CASE stage2'");
	}
	related = domain != NULL &&
		  ((host != NULL && rules_domain_related(domain, host)) ||
		   (first_domain != NULL && rules_domain_related(domain, first_domain)));
	if (f->rules->contact.auto_stage2 == RULE_AUTO_STAGE2_DOMAIN && related)
		return flow_send_stage2(f, c, party);
	c->contact_party = party;
	return flow_attention(f, c, "contact-reply",
			      related ? "the operator answered; stage 2 waits for staff "
					"('send CASE stage2')"
				      : "the operator answered from a domain that is not "
					"the site's; check it, then 'send CASE stage2'");
}

/* Mail from an operator or developer who is a party of the case. */
static int party_reply(struct flow *f, struct case_rec *c,
		       const struct spool_entry *e, int party)
{
	struct fixreport *r = NULL;
	int rc = TDK_OK;

	c->n_replies++;
	if (c->state == CS_CONTACTING || c->state == CS_UNREACHABLE)
		return contact_reply(f, c, e, party);
	if (c->kind == CASE_KIND_WEB && (r = find_fix_report(e)) != NULL) {
		rc = apply_fix_report(f, c, e, r);
		fixreport_free(r);
		return rc;
	}
	switch (c->state) {
	case CS_DETAIL_SENT:
		flow_stop_clock(c, CLOCK_FIRST_REPLY);
		c->acknowledged = f->now;
		flow_set_state(c, CS_ACKNOWLEDGED);
		f->what = "一次返信";
		return flow_event(f, c, "acknowledged", e->id, e->message_id,
				  "the detail notice was acknowledged (一次返信)");
	case CS_ACKNOWLEDGED:
		flow_stop_clock(c, CLOCK_INVESTIGATION);
		c->investigated = f->now;
		flow_set_state(c, CS_FIXING);
		f->what = "investigation result";
		rc = flow_event(f, c, "investigated", e->id, e->message_id,
				"the investigation result arrived");
		if (rc == TDK_OK)
			rc = flow_attention(f, c, "investigation-result",
					    "the investigation result arrived; read it");
		return rc;
	default:
		f->what = "correspondence";
		rc = flow_event(f, c, "correspondence", e->id, e->message_id,
				"mail from the %s", case_role_name(c->parties[party].role));
		if (rc == TDK_OK)
			rc = flow_attention(f, c, "correspondence",
					    "mail from the %s while the case is %s",
					    case_role_name(c->parties[party].role),
					    case_state_name(c->state));
		return rc;
	}
}

/* Stage-1 replies may come from another address of the site. */
static int maybe_new_contact(struct flow *f, struct case_rec *c,
			     const struct sender *s)
{
	const char *addr = sender_address(s);
	g_autofree char *domain = flow_address_domain(addr);
	g_autofree char *host = flow_url_host(c->url);
	int first = flow_contact_party(c);
	g_autofree char *first_domain =
		first >= 0 ? flow_address_domain(c->parties[first].address) : NULL;

	if ((c->state != CS_CONTACTING && c->state != CS_UNREACHABLE) ||
	    domain == NULL)
		return -1;
	if (!((host != NULL && rules_domain_related(domain, host)) ||
	      (first_domain != NULL && rules_domain_related(domain, first_domain))))
		return -1;
	return (int)case_party_add(c,
				   c->kind == CASE_KIND_PRODUCT ? ROLE_DEVELOPER
								: ROLE_OPERATOR,
				   addr, s->name, first >= 0 ? c->parties[first].lang : "ja",
				   NULL, NULL, f->now);
}

/* The discoverer, whose address is in the personal data store. */
static int sender_discoverer(struct flow *f, const struct case_rec *c,
			     const struct sender *s)
{
	struct pii_rec *pii = NULL;
	int d = case_party_find_role(c, ROLE_DISCOVERER);
	const char *addr = sender_address(s);
	bool match;

	if (d < 0 || addr == NULL ||
	    store_pii_get(f->store, c->number, &pii, NULL) != TDK_OK)
		return -1;
	match = pii->address != NULL && g_ascii_strcasecmp(pii->address, addr) == 0;
	pii_rec_free(pii);
	return match ? d : -1;
}

/* Keys the party's mail offers; the discoverer's address is personal data. */
static int party_keys(struct flow *f, struct case_rec *c, const struct spool_entry *e,
		      int party, const struct sender *s)
{
	struct pii_rec *pii = NULL;
	const char *address = c->parties[party].address;
	int rc;

	if (c->parties[party].role == ROLE_DISCOVERER &&
	    store_pii_get(f->store, c->number, &pii, NULL) == TDK_OK)
		address = pii->address;
	rc = flow_party_keys(f, c, e, party, address, s->header);
	pii_rec_free(pii);
	return rc;
}

static int correspondence(struct flow *f, struct case_rec *c,
			  const struct spool_entry *e, const struct sender *s)
{
	int party = sender_party(c, e, s);
	int rc;

	if (party < 0)
		party = sender_discoverer(f, c, s);
	if (party < 0)
		party = maybe_new_contact(f, c, s);
	if (party < 0) {
		c->n_unverified++;
		rc = flow_keys_ignored(f, c, e, sender_address(s));
		if (rc != TDK_OK)
			return rc;
		f->what = "unverified correspondence";
		rc = flow_event(f, c, "unverified", e->id, e->message_id,
				"mail from %s, who is not a party of the case",
				sender_address(s) != NULL ? sender_address(s) : "(no sender)");
		if (rc == TDK_OK)
			rc = flow_attention(f, c, "unverified",
					    "unverified correspondence from %s (not a party); "
					    "nothing was applied or sent",
					    sender_address(s) != NULL ? sender_address(s)
								      : "(no sender)");
		return rc;
	}
	if (e->message_id != NULL) {
		g_free(c->parties[party].last_mail_id);
		c->parties[party].last_mail_id = g_strdup(e->message_id);
	}
	rc = party_keys(f, c, e, party, s);
	if (rc != TDK_OK)
		return rc;
	if (!case_state_is_open(c->state)) {
		f->what = "mail to a closed case";
		rc = flow_event(f, c, "after-close", e->id, e->message_id,
				"mail from the %s after the case ended",
				case_role_name(c->parties[party].role));
		if (rc == TDK_OK)
			rc = flow_attention(f, c, "after-close",
					    "mail from the %s to a %s case; it reopens "
					    "nothing by itself",
					    case_role_name(c->parties[party].role),
					    case_state_name(c->state));
		return rc;
	}
	switch (c->parties[party].role) {
	case ROLE_OPERATOR:
	case ROLE_DEVELOPER:
		return party_reply(f, c, e, party);
	case ROLE_COORDINATOR:
		c->n_replies++;
		f->what = "coordinator update";
		rc = flow_event(f, c, "coordinator-update", e->id, e->message_id,
				"mail from the coordinator");
		return rc == TDK_OK ? flow_attention(f, c, "coordinator-update",
						     "mail from the coordinator")
				    : rc;
	default:
		c->n_replies++;
		f->what = "correspondence";
		rc = flow_event(f, c, "correspondence", e->id, e->message_id,
				"mail from the %s", case_role_name(c->parties[party].role));
		return rc == TDK_OK ? flow_attention(f, c, "correspondence",
						     "mail from the %s",
						     case_role_name(c->parties[party].role))
				    : rc;
	}
}

/* ------------------------------------------------------------ bounces */

static bool bounce_is_hard(const struct spool_entry *e)
{
	gsize len;
	const char *raw = g_bytes_get_data(e->original, &len);
	g_autofree char *low = g_ascii_strdown(raw, (gssize)MIN(len, 256 * 1024));

	return strstr(low, "action: failed") != NULL ||
	       strstr(low, "status: 5.") != NULL;
}

static int bounce(struct flow *f, const struct spool_entry *e)
{
	struct outbox_item *o = NULL;
	struct case_rec *c = NULL;
	uint64_t id;
	bool hard = bounce_is_hard(e);
	int rc;

	if (outbox_token_parse(e->bounce_token, &id) != TDK_OK ||
	    store_outbox_get(f->txn, id, &o, NULL) != TDK_OK || o->case_number == 0) {
		outbox_item_free(o);
		f->what = "bounce for no notice";
		msg_info("bounce with token %s matches no notice; ignored",
			 e->bounce_token != NULL ? e->bounce_token : "(none)");
		return TDK_OK;
	}
	rc = flow_load(f, o->case_number, &c);
	if (rc != TDK_OK) {
		outbox_item_free(o);
		return rc;
	}
	f->case_number = c->number;
	f->what = hard ? "hard bounce" : "delay notice";
	rc = flow_event(f, c, hard ? "bounce" : "delay", e->id, e->message_id,
			"%s for notice %s (%s)", hard ? "delivery failed" : "delivery delayed",
			o->notice, o->message_id != NULL ? o->message_id : "");
	/* A hard bounce of the current contact attempt is a failed attempt. */
	if (rc == TDK_OK && hard && c->state == CS_CONTACTING && o->attempt > 0 &&
	    o->attempt == c->contact_attempts && !c->awaiting_post)
		rc = flow_contact_next(f, c);
	else if (rc == TDK_OK && hard)
		rc = flow_attention(f, c, "bounce", "notice %s to the %s bounced",
				    o->notice, o->audience);
	/* The notice's delivery to that recipient failed: staff see it in
	 * the outbox. */
	if (rc == TDK_OK && hard) {
		g_free(o->state);
		o->state = g_strdup(OUTBOX_BOUNCED);
		g_free(o->hold_reason);
		o->hold_reason = g_strdup("a bounce came back");
		o->updated = f->now;
		rc = store_outbox_put(f->txn, o, f->err);
	}
	if (rc == TDK_OK)
		rc = flow_save(f, c);
	case_free(c);
	outbox_item_free(o);
	return rc;
}

/* -------------------------------------------------------------- entry */

int flow_apply_entry(struct flow *f, const struct spool_entry *e)
{
	struct sender s;
	struct case_rec *c = NULL;
	uint64_t number = 0;
	const char *tag = NULL;
	int rc;

	f->case_number = 0;
	f->what = NULL;
	if (e->classification == SPOOL_BOUNCE)
		return bounce(f, e);
	if (e->classification == SPOOL_COMMAND) {
		f->what = "staff command mail";
		return TDK_OK; /* the caller hands it to the command module */
	}
	sender_read(e, &s);
	rc = find_case(f, e, &number, &tag);
	if (rc == TDK_ENOENT) {
		if (e->classification == SPOOL_AUTO_REPLY) {
			f->what = "auto-reply for no case";
			rc = TDK_OK;
		} else {
			rc = new_report(f, e, &s, tag);
		}
		sender_clear(&s);
		return rc;
	}
	f->case_number = number;
	if (rc == TDK_OK)
		rc = flow_load(f, number, &c);
	if (rc != TDK_OK) {
		sender_clear(&s);
		return rc;
	}
	if (e->classification == SPOOL_AUTO_REPLY) {
		f->what = "auto-reply";
		rc = flow_event(f, c, "auto-reply", e->id, e->message_id,
				"an automatic reply (%s); not an answer",
				e->class_reason != NULL ? e->class_reason : "auto-reply");
	} else {
		rc = correspondence(f, c, e, &s);
	}
	if (rc == TDK_OK)
		rc = flow_save(f, c);
	case_free(c);
	sender_clear(&s);
	return rc;
}
