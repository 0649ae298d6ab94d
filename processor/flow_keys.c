/*
 * flow_keys.c - a party's OpenPGP key taken from its mail (see flow.h,
 * partykey.h).
 *
 * Owns: flow_party_keys() and flow_keys_ignored(). A mail from a party
 * of the case may offer a key (attached, armored in the text, or in an
 * Autocrypt header). An offer is taken only when its key has a user ID
 * with the party's address and, for Autocrypt, when addr is the mail's
 * From address and that is the party's address. A taken key is imported
 * into the desk's GnuPG home, recorded on the party with its source, and
 * notices to the party held for want of a key are queued again. A key
 * staff set is never replaced: an offer of another key is imported (so
 * that staff can choose it) and staff are told. Without an offer, an
 * encrypted mail signed by a key the desk has, with the party's address,
 * gives the key (so the desk's answer to encrypted mail is encrypted).
 * Every refusal is a "key-refused" event on the timeline.
 *
 * The import happens inside the case's transaction: a replay imports the
 * same key again, which changes nothing.
 */
#include "flow_int.h"
#include "log.h"
#include "partykey.h"

#include <gpgme.h>
#include <string.h>

static bool staff_set(const struct case_party *p)
{
	return p->key != NULL &&
	       (p->key_source == NULL || strcmp(p->key_source, "staff") == 0);
}

struct held {
	uint64_t number;
	int party;
	GArray *ids;
};

static int find_held(const struct outbox_item *o, void *ctx)
{
	struct held *h = ctx;

	if (o->case_number == h->number && o->party == h->party &&
	    strcmp(o->state, OUTBOX_HELD) == 0 && o->hold_reason != NULL &&
	    strcmp(o->hold_reason, FLOW_HOLD_NO_KEY) == 0)
		g_array_append_val(h->ids, o->id);
	return TDK_OK;
}

/* Queues again the notices to party held for want of a key. */
static int release_held(struct flow *f, struct case_rec *c, int party)
{
	struct held h = { .number = c->number, .party = party,
			  .ids = g_array_new(FALSE, FALSE, sizeof(uint64_t)) };
	int rc = store_outbox_case_foreach(f->txn, c->number, find_held, &h, f->err);

	for (guint i = 0; rc == TDK_OK && i < h.ids->len; i++) {
		struct outbox_item *o = NULL;

		rc = store_outbox_get(f->txn, g_array_index(h.ids, uint64_t, i), &o, f->err);
		if (rc != TDK_OK)
			break;
		g_free(o->state);
		o->state = g_strdup(OUTBOX_QUEUED);
		g_clear_pointer(&o->hold_reason, g_free);
		o->updated = f->now;
		rc = store_outbox_put(f->txn, o, f->err);
		if (rc == TDK_OK)
			rc = flow_event(f, c, "notice-released", 0, o->message_id,
					"%s to the %s is no longer held: the key is known",
					o->notice, o->audience);
		outbox_item_free(o);
	}
	g_array_unref(h.ids);
	return rc;
}

/* Records fpr (already checked) as party's key from source. */
static int take_key(struct flow *f, struct case_rec *c, const struct spool_entry *e,
		    int party, const char *fpr, const char *tag, const char *what)
{
	struct case_party *p = &c->parties[party];
	g_autofree char *was = g_strdup(p->key);
	int rc;

	g_free(p->key);
	p->key = g_strdup(fpr);
	g_free(p->key_source);
	p->key_source = g_strdup(tag);
	f->what = "party key";
	rc = flow_event(f, c, "key", e->id, e->message_id, "the %s's key is now %s (%s)%s%s",
			case_role_name(p->role), fpr, what, was != NULL ? "; it was " : "",
			was != NULL ? was : "");
	if (rc == TDK_OK)
		rc = release_held(f, c, party);
	return rc;
}

/* The primary fingerprint of the key that made a good signature inside
 * the encryption of e, when it can encrypt and names address. */
static char *signing_key(struct flow *f, const struct spool_entry *e, const char *address)
{
	gpgme_ctx_t ctx = NULL;
	char *fpr = NULL;

	if (e->crypto != SPOOL_DECRYPTED || address == NULL)
		return NULL;
	gpgme_check_version(NULL);
	if (gpgme_new(&ctx) != 0)
		return NULL;
	if (f->config->gnupg_home != NULL && f->config->gnupg_home[0] != '\0')
		gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL,
					  f->config->gnupg_home);
	for (size_t i = 0; fpr == NULL && i < e->n_signatures; i++) {
		const struct spool_signature *s = &e->signatures[i];
		gpgme_key_t key = NULL;

		if (s->state != SPOOL_SIG_GOOD || !s->inside_encryption ||
		    s->fingerprint == NULL || gpgme_get_key(ctx, s->fingerprint, &key, 0) != 0)
			continue;
		if (key->can_encrypt && !key->revoked && !key->expired && !key->disabled &&
		    !key->invalid && key->fpr != NULL) {
			for (gpgme_user_id_t u = key->uids; u != NULL; u = u->next)
				if (!u->revoked && !u->invalid && u->email != NULL &&
				    g_ascii_strcasecmp(u->email, address) == 0) {
					fpr = g_ascii_strup(key->fpr, -1);
					break;
				}
		}
		gpgme_key_unref(key);
	}
	gpgme_release(ctx);
	return fpr;
}

static int refuse(struct flow *f, struct case_rec *c, const struct spool_entry *e,
		  const char *role, const struct partykey_offer *o, const char *why)
{
	f->what = "party key refused";
	return flow_event(f, c, "key-refused", e->id, e->message_id,
			  "%s in mail from the %s ignored: %s", partykey_source_name(o->source),
			  role, why);
}

int flow_party_keys(struct flow *f, struct case_rec *c, const struct spool_entry *e,
		    int party, const char *address, const char *from_header)
{
	struct partykey_offers *offers = NULL;
	struct case_party *p = &c->parties[party];
	const char *role = case_role_name(p->role);
	const char *home = f->config->gnupg_home;
	g_autofree char *taken = NULL;
	int rc = TDK_OK;

	partykey_find(e->original, e->decrypted != NULL ? e->decrypted : e->original,
		      &offers);
	for (size_t i = 0; rc == TDK_OK && i < offers->n; i++) {
		const struct partykey_offer *o = &offers->items[i];
		g_autofree char *fpr = NULL;
		tdk_err why;
		int crc;

		if (o->source == PARTYKEY_AUTOCRYPT &&
		    (from_header == NULL || address == NULL ||
		     g_ascii_strcasecmp(o->autocrypt_addr, from_header) != 0 ||
		     g_ascii_strcasecmp(from_header, address) != 0)) {
			g_autofree char *text = g_strdup_printf(
				"its addr %s is not the sender's From address", o->autocrypt_addr);

			rc = refuse(f, c, e, role, o, text);
			continue;
		}
		crc = partykey_check(home, o->data, address, &fpr, &why);
		if (crc != TDK_OK) {
			if (crc != TDK_EPERM)
				msg_warn("case %" G_GUINT64_FORMAT ": %s", c->number, why.text);
			rc = refuse(f, c, e, role, o, why.text);
			continue;
		}
		if (taken != NULL) {
			if (strcmp(taken, fpr) != 0)
				rc = refuse(f, c, e, role, o, "another key of this mail was taken");
			continue;
		}
		if (p->key != NULL && g_ascii_strcasecmp(p->key, fpr) == 0) {
			taken = g_steal_pointer(&fpr);
			continue; /* known already */
		}
		if (partykey_import(home, o->data, fpr, &why) != TDK_OK) {
			msg_warn("case %" G_GUINT64_FORMAT ": %s", c->number, why.text);
			rc = refuse(f, c, e, role, o, why.text);
			continue;
		}
		if (staff_set(p)) {
			f->what = "party key offered";
			rc = flow_event(f, c, "key-offered", e->id, e->message_id,
					"the %s offered key %s (%s); the key staff set, %s, stays",
					role, fpr, partykey_source_name(o->source), p->key);
			if (rc == TDK_OK)
				rc = flow_attention(f, c, "key-offered",
						    "the %s offered key %s (%s), not the key %s "
						    "staff set; to use it: 'party CASE %s%s%s key %s'",
						    role, fpr, partykey_source_name(o->source), p->key,
						    role, p->role == ROLE_DISCOVERER ? "" : " ",
						    p->role == ROLE_DISCOVERER ? "" : p->address, fpr);
			taken = g_steal_pointer(&fpr);
			continue;
		}
		rc = take_key(f, c, e, party, fpr, partykey_source_tag(o->source),
			      partykey_source_name(o->source));
		taken = g_steal_pointer(&fpr);
	}
	if (rc == TDK_OK && taken == NULL && p->key == NULL) {
		g_autofree char *fpr = signing_key(f, e, address);

		if (fpr != NULL)
			rc = take_key(f, c, e, party, fpr, "signature",
				      "it signed the party's encrypted mail");
	}
	partykey_offers_free(offers);
	return rc;
}

int flow_keys_ignored(struct flow *f, struct case_rec *c, const struct spool_entry *e,
		      const char *sender)
{
	struct partykey_offers *offers = NULL;
	int rc = TDK_OK;

	partykey_find(e->original, e->decrypted != NULL ? e->decrypted : e->original,
		      &offers);
	if (offers->n > 0)
		rc = flow_event(f, c, "key-refused", e->id, e->message_id,
				"%s in mail from %s, who is not a party, ignored",
				partykey_source_name(offers->items[0].source),
				sender != NULL ? sender : "(no sender)");
	partykey_offers_free(offers);
	return rc;
}
