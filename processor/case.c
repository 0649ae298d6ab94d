/*
 * case.c - the case model: names, the case and event records, clocks
 * (see case.h).
 */
#include "case.h"
#include "bigendian.h"
#include "recbin.h"
#include "record.h"

#include <string.h>

/* Format 2 is the binary form (recbin.h); format 1, the GVariant form
 * (record.h), is still read. */
#define CASE_FORMAT 2
#define EVENT_FORMAT 2
#define GVARIANT_FORMAT 1
#define PERIOD_LEN 5 /* a clock's period in format 2: count (4), unit (1) */

static const char *const kind_names[] = { "", "web", "product" };
static const char *const state_names[CS_STATE_COUNT] = {
	NULL,          "received",     "not-accepted", "accepted",
	"contacting",  "unreachable",  "contact-known", "detail-sent",
	"acknowledged", "fixing",      "fix-reported", "checking",
	"expired",     "forwarded",    "published",    "closed",
};
static const char *const role_names[ROLE_COUNT] = {
	NULL, "discoverer", "operator", "developer", "coordinator", "staff-cc",
};
static const char *const clock_names[CLOCK_COUNT] = {
	NULL,           "contact", "first-reply", "investigation", "fix",
	"completion",   "long-running", "nondisclosure", "retention",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_in(const char *const *names, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

static int index_in(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 1; name != NULL && i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (int)i;
	return 0;
}

const char *case_kind_name(int kind)
{
	const char *s = name_in(kind_names, N_OF(kind_names), kind);

	return s != NULL ? s : "";
}

const char *case_state_name(int state) { return name_in(state_names, N_OF(state_names), state); }
int case_state_from_name(const char *name) { return index_in(state_names, N_OF(state_names), name); }
const char *case_role_name(int role) { return name_in(role_names, N_OF(role_names), role); }
int case_role_from_name(const char *name) { return index_in(role_names, N_OF(role_names), name); }
const char *case_clock_name(int clock) { return name_in(clock_names, N_OF(clock_names), clock); }
int case_clock_from_name(const char *name) { return index_in(clock_names, N_OF(clock_names), name); }

bool case_state_is_open(int state)
{
	return state != CS_CLOSED && state != CS_NOT_ACCEPTED;
}

/* ------------------------------------------------------------ records */

#define C(m) offsetof(struct case_rec, m)
static const struct rec_field case_fields[] = {
	{ "kind", REC_INT, C(kind) },
	{ "state", REC_INT, C(state) },
	{ "state_before", REC_INT, C(state_before) },
	{ "paused", REC_BOOL, C(paused) },
	{ "paused_at", REC_TIME, C(paused_at) },
	{ "pause_reason", REC_STR, C(pause_reason) },
	{ "hold", REC_BOOL, C(hold) },
	{ "title", REC_STR, C(title) },
	{ "url", REC_STR, C(url) },
	{ "product", REC_STR, C(product) },
	{ "vuln_type", REC_STR, C(vuln_type) },
	{ "threat", REC_STR, C(threat) },
	{ "description", REC_STR, C(description) },
	{ "impact", REC_INT, C(impact) },
	{ "verifiable", REC_INT, C(verifiable) },
	{ "fix_kind", REC_INT, C(fix_kind) },
	{ "check_wanted", REC_INT, C(check_wanted) },
	{ "lang", REC_STR, C(lang) },
	{ "outcome", REC_STR, C(outcome) },
	{ "reason_code", REC_STR, C(reason_code) },
	{ "close_text", REC_STR, C(close_text) },
	{ "received", REC_TIME, C(received) },
	{ "accepted", REC_TIME, C(accepted) },
	{ "not_accepted", REC_TIME, C(not_accepted) },
	{ "stage1_sent", REC_TIME, C(stage1_sent) },
	{ "contact_received", REC_TIME, C(contact_received) },
	{ "stage2_sent", REC_TIME, C(stage2_sent) },
	{ "acknowledged", REC_TIME, C(acknowledged) },
	{ "investigated", REC_TIME, C(investigated) },
	{ "fix_reported", REC_TIME, C(fix_reported) },
	{ "checked", REC_TIME, C(checked) },
	{ "forwarded", REC_TIME, C(forwarded) },
	{ "published", REC_TIME, C(published) },
	{ "priority_provided", REC_TIME, C(priority_provided) },
	{ "gov_notified", REC_TIME, C(gov_notified) },
	{ "unreachable_at", REC_TIME, C(unreachable_at) },
	{ "resumed_at", REC_TIME, C(resumed_at) },
	{ "expired_at", REC_TIME, C(expired_at) },
	{ "closed", REC_TIME, C(closed) },
	{ "pii_destroyed", REC_TIME, C(pii_destroyed) },
	{ "overview_sent", REC_TIME, C(overview_sent) },
	{ "last_activity", REC_TIME, C(last_activity) },
	{ "contact_attempts", REC_INT, C(contact_attempts) },
	{ "contact_party1", REC_INT, C(contact_party) }, /* stored + 1 */
	{ "awaiting_post", REC_BOOL, C(awaiting_post) },
	{ "resumptions", REC_INT, C(resumptions) },
	{ "n_events", REC_INT, C(n_events) },
	{ "n_replies", REC_INT, C(n_replies) },
	{ "n_unverified", REC_INT, C(n_unverified) },
	{ "n_notices", REC_INT, C(n_notices) },
	{ "report_message_id", REC_STR, C(report_message_id) },
};
#undef C

#define P(m) offsetof(struct case_party, m)
static const struct rec_field party_fields[] = {
	{ "role", REC_INT, P(role) },
	{ "address", REC_STR, P(address) },
	{ "name", REC_STR, P(name) },
	{ "lang", REC_STR, P(lang) },
	{ "key", REC_STR, P(key) },
	{ "key_source", REC_STR, P(key_source) },
	{ "postal", REC_STR, P(postal) },
	{ "last_mail_id", REC_STR, P(last_mail_id) },
	{ "added", REC_TIME, P(added) },
};
#undef P

#define K(m) offsetof(struct case_clock, m)
static const struct rec_field clock_fields[] = {
	{ "active", REC_BOOL, K(active) },
	{ "fired", REC_BOOL, K(fired) },
	{ "start", REC_TIME, K(start) },
	{ "paused", REC_I64, K(paused) },
	{ "armed_due", REC_TIME, K(armed_due) },
};
#undef K

#define E(m) offsetof(struct case_event, m)
static const struct rec_field event_fields[] = {
	{ "time", REC_TIME, E(time) },
	{ "actor", REC_STR, E(actor) },
	{ "type", REC_STR, E(type) },
	{ "text", REC_STR, E(text) },
	{ "spool_id", REC_U64, E(spool_id) },
	{ "message_id", REC_STR, E(message_id) },
	{ "state", REC_STR, E(state) },
};
#undef E

struct case_rec *case_new(uint64_t number)
{
	struct case_rec *c = g_new0(struct case_rec, 1);

	c->number = number;
	c->contact_party = -1;
	return c;
}

void case_free(struct case_rec *c)
{
	if (c == NULL)
		return;
	rec_clear(case_fields, REC_FIELDS(case_fields), c);
	for (size_t i = 0; i < c->n_parties; i++)
		rec_clear(party_fields, REC_FIELDS(party_fields), &c->parties[i]);
	g_free(c->parties);
	g_free(c);
}

size_t case_party_add(struct case_rec *c, int role, const char *address,
		      const char *name, const char *lang, const char *key,
		      const char *postal, int64_t now)
{
	struct case_party *p;

	c->parties = g_renew(struct case_party, c->parties, c->n_parties + 1);
	p = &c->parties[c->n_parties];
	memset(p, 0, sizeof *p);
	p->role = role;
	p->address = g_strdup(address);
	p->name = g_strdup(name);
	p->lang = g_strdup(lang);
	p->key = g_strdup(key);
	p->postal = g_strdup(postal);
	p->added = now;
	return c->n_parties++;
}

int case_party_find_role(const struct case_rec *c, int role)
{
	for (size_t i = 0; i < c->n_parties; i++)
		if (c->parties[i].role == role)
			return (int)i;
	return -1;
}

int case_party_find_address(const struct case_rec *c, const char *address)
{
	if (address == NULL || *address == '\0')
		return -1;
	for (size_t i = 0; i < c->n_parties; i++)
		if (c->parties[i].address != NULL &&
		    g_ascii_strcasecmp(c->parties[i].address, address) == 0)
			return (int)i;
	return -1;
}

static void put_clock(GByteArray *b, int id, const struct case_clock *k)
{
	uint8_t periods[CLOCK_PERIODS_MAX * PERIOD_LEN];
	int n = CLAMP(k->n_periods, 0, CLOCK_PERIODS_MAX);
	size_t item = rbin_open_item(b);

	rbin_put_i32(b, "id", id);
	rbin_put_fields(b, clock_fields, REC_FIELDS(clock_fields), k);
	for (int i = 0; i < n; i++) {
		put_be32(periods + i * PERIOD_LEN, (uint32_t)k->periods[i].count);
		periods[i * PERIOD_LEN + 4] = (uint8_t)k->periods[i].unit;
	}
	rbin_put_bytes(b, "periods", periods, (size_t)n * PERIOD_LEN);
	rbin_close(b, item);
}

int case_encode(const struct case_rec *c, GBytes **out, tdk_err *err)
{
	struct case_rec tmp = *c;
	GByteArray *b;
	size_t list;

	if (c->state <= 0 || c->state >= CS_STATE_COUNT)
		return tdk_err_set(err, TDK_EINVAL, "case %" G_GUINT64_FORMAT
				   ": state %d is not valid", c->number, c->state);
	tmp.contact_party = c->contact_party + 1;
	b = rbin_begin(CASE_FORMAT);
	rbin_put_fields(b, case_fields, REC_FIELDS(case_fields), &tmp);
	list = rbin_open_list(b, "parties");
	for (size_t i = 0; i < c->n_parties; i++) {
		size_t item = rbin_open_item(b);

		rbin_put_fields(b, party_fields, REC_FIELDS(party_fields),
				&c->parties[i]);
		rbin_close(b, item);
	}
	rbin_close(b, list);
	list = rbin_open_list(b, "clocks");
	for (int id = 1; id < CLOCK_COUNT; id++)
		if (c->clocks[id].start != 0)
			put_clock(b, id, &c->clocks[id]);
	rbin_close(b, list);
	*out = rbin_end(b);
	return TDK_OK;
}

/* ------------------------------------------- format 1 (GVariant), read */

static bool read_clock(GVariant *dict, struct case_clock *k)
{
	static const char *const extra_keys[] = { "periods" };
	GVariant *periods;
	bool ok = rec_read_extra(dict, clock_fields, REC_FIELDS(clock_fields), k,
				 extra_keys, &periods, 1);

	if (periods != NULL && !g_variant_is_of_type(periods, G_VARIANT_TYPE("a(iy)"))) {
		g_variant_unref(periods);
		periods = NULL;
	}
	if (periods == NULL)
		return false;
	k->n_periods = 0;
	for (gsize i = 0; i < g_variant_n_children(periods); i++) {
		gint32 count;
		guint8 unit;

		if (k->n_periods == CLOCK_PERIODS_MAX) {
			ok = false;
			break;
		}
		g_variant_get_child(periods, i, "(iy)", &count, &unit);
		if (count < 1 || count > CAL_PERIOD_MAX || unit > CAL_YEARS)
			ok = false;
		k->periods[k->n_periods].count = count;
		k->periods[k->n_periods].unit = (enum cal_unit)unit;
		k->n_periods++;
	}
	g_variant_unref(periods);
	return ok && k->n_periods > 0;
}

/* The case fields, parties and clocks of a format 1 record. */
static bool decode_v1(const void *data, size_t len, struct case_rec *c)
{
	static const char *const extra_keys[] = { "parties", "clocks" };
	static const char *const extra_types[] = { "aa{sv}", "a{yv}" };
	GVariant *dict = NULL, *extra[2], *parties, *clocks;
	bool ok;

	if (rec_unpack(data, len, GVARIANT_FORMAT, NULL, &dict, NULL) != TDK_OK)
		return false;
	/* One pass over the record: the fields, the parties and the clocks
	 * (of another type they count as absent). */
	ok = rec_read_extra(dict, case_fields, REC_FIELDS(case_fields), c, extra_keys,
			    extra, G_N_ELEMENTS(extra));
	for (size_t x = 0; x < G_N_ELEMENTS(extra); x++)
		if (extra[x] != NULL &&
		    !g_variant_is_of_type(extra[x], G_VARIANT_TYPE(extra_types[x]))) {
			g_variant_unref(extra[x]);
			extra[x] = NULL;
		}
	parties = extra[0];
	clocks = extra[1];
	if (parties != NULL) {
		gsize n = g_variant_n_children(parties);

		c->parties = g_new0(struct case_party, n > 0 ? n : 1);
		for (gsize i = 0; i < n; i++) {
			GVariant *p = g_variant_get_child_value(parties, i);

			ok = rec_read(p, party_fields, REC_FIELDS(party_fields),
				      &c->parties[i]) && ok;
			c->n_parties++;
			g_variant_unref(p);
		}
	}
	if (clocks != NULL) {
		for (gsize i = 0; i < g_variant_n_children(clocks); i++) {
			guint8 id;
			GVariant *v, *kd;

			g_variant_get_child(clocks, i, "{yv}", &id, &v);
			kd = g_variant_is_of_type(v, G_VARIANT_TYPE_VARDICT) ? v : NULL;
			if (id < 1 || id >= CLOCK_COUNT || kd == NULL ||
			    !read_clock(kd, &c->clocks[id]))
				ok = false;
			g_variant_unref(v);
		}
	}
	if (parties != NULL)
		g_variant_unref(parties);
	if (clocks != NULL)
		g_variant_unref(clocks);
	g_variant_unref(dict);
	return ok;
}

/* ----------------------------------------------- format 2 (binary), read */

static bool read_clock_v2(const struct rbin_value *body, struct case_rec *c)
{
	static const char *const extra_keys[] = { "id", "periods" };
	struct rbin_value extra[2];
	struct case_clock k = { 0 };
	int32_t id;
	size_t n;

	if (!rbin_read(body->data, body->len, clock_fields, REC_FIELDS(clock_fields),
		       &k, extra_keys, extra, G_N_ELEMENTS(extra)) ||
	    extra[0].type != RBIN_I32 || extra[1].type != RBIN_BYTES)
		return false;
	id = (int32_t)get_be32(extra[0].data);
	n = extra[1].len / PERIOD_LEN;
	if (id < 1 || id >= CLOCK_COUNT || extra[1].len % PERIOD_LEN != 0 ||
	    n < 1 || n > CLOCK_PERIODS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = extra[1].data + i * PERIOD_LEN;
		int32_t count = (int32_t)get_be32(p);

		if (count < 1 || count > CAL_PERIOD_MAX || p[4] > CAL_YEARS)
			return false;
		k.periods[i].count = count;
		k.periods[i].unit = (enum cal_unit)p[4];
	}
	k.n_periods = (int)n;
	c->clocks[id] = k;
	return true;
}

/* The case fields, parties and clocks of a format 2 body. */
static bool decode_v2(const uint8_t *data, size_t len, struct case_rec *c)
{
	static const char *const extra_keys[] = { "parties", "clocks" };
	struct rbin_value extra[2], item;
	size_t pos, n = 0;
	int rc;
	bool ok = rbin_read(data, len, case_fields, REC_FIELDS(case_fields), c,
			    extra_keys, extra, G_N_ELEMENTS(extra));

	for (size_t x = 0; x < G_N_ELEMENTS(extra); x++)
		if (extra[x].type != 0 && extra[x].type != RBIN_LIST)
			return false;
	if (!ok)
		return false;
	if (extra[0].type != 0) {
		for (pos = 0; (rc = rbin_list_next(&extra[0], &pos, &item)) == 1;)
			n++;
		if (rc < 0)
			return false;
		c->parties = g_new0(struct case_party, n > 0 ? n : 1);
		for (pos = 0; rbin_list_next(&extra[0], &pos, &item) == 1;) {
			struct case_party *p = &c->parties[c->n_parties++];

			if (!rbin_read(item.data, item.len, party_fields,
				       REC_FIELDS(party_fields), p, NULL, NULL, 0))
				return false;
		}
	}
	if (extra[1].type != 0) {
		for (pos = 0; (rc = rbin_list_next(&extra[1], &pos, &item)) == 1;)
			if (!read_clock_v2(&item, c))
				return false;
		if (rc < 0)
			return false;
	}
	return true;
}

int case_decode(const void *data, size_t len, uint64_t number,
		struct case_rec **out, tdk_err *err)
{
	const uint8_t *p = data, *body;
	size_t body_len;
	struct case_rec *c;
	bool ok;

	if (len == 0)
		return tdk_err_set(err, TDK_ECORRUPT, "case record %" G_GUINT64_FORMAT
				   " does not decode (empty)", number);
	c = case_new(number);
	c->contact_party = 0; /* stored + 1: absent means none */
	if (p[0] == CASE_FORMAT)
		ok = rbin_body(data, len, &body, &body_len) &&
		     decode_v2(body, body_len, c);
	else if (p[0] == GVARIANT_FORMAT)
		ok = decode_v1(data, len, c);
	else
		ok = false;
	c->contact_party -= 1;
	if (c->state <= 0 || c->state >= CS_STATE_COUNT ||
	    c->contact_party < -1 || c->contact_party >= (int)c->n_parties)
		ok = false;
	if (!ok) {
		unsigned version = p[0];

		case_free(c);
		return tdk_err_set(err, TDK_ECORRUPT,
				   "case record %" G_GUINT64_FORMAT " does not decode "
				   "(%zu bytes, format %u)", number, len, version);
	}
	*out = c;
	return TDK_OK;
}

void case_event_clear(struct case_event *e)
{
	if (e != NULL)
		rec_clear(event_fields, REC_FIELDS(event_fields), e);
}

int case_event_encode(const struct case_event *e, GBytes **out, tdk_err *err)
{
	GByteArray *b = rbin_begin(EVENT_FORMAT);

	(void)err;
	rbin_put_fields(b, event_fields, REC_FIELDS(event_fields), e);
	*out = rbin_end(b);
	return TDK_OK;
}

int case_event_decode(const void *data, size_t len, struct case_event *out,
		      tdk_err *err)
{
	const uint8_t *p = data, *body;
	size_t body_len;
	bool ok;

	memset(out, 0, sizeof *out);
	if (len >= 1 && p[0] == EVENT_FORMAT) {
		ok = rbin_body(data, len, &body, &body_len) &&
		     rbin_read(body, body_len, event_fields, REC_FIELDS(event_fields),
			       out, NULL, NULL, 0);
	} else {
		GVariant *dict;
		int rc = rec_unpack(data, len, GVARIANT_FORMAT, NULL, &dict, err);

		if (rc != TDK_OK)
			return rc;
		ok = rec_read(dict, event_fields, REC_FIELDS(event_fields), out);
		g_variant_unref(dict);
	}
	if (!ok || out->type == NULL) {
		case_event_clear(out);
		return tdk_err_set(err, TDK_ECORRUPT, "event record does not decode");
	}
	return TDK_OK;
}

/* ------------------------------------------------------------- clocks */

void case_clock_start(struct case_rec *c, int id, int64_t start,
		      struct cal_period period)
{
	struct case_clock *k = &c->clocks[id];
	int64_t armed = k->armed_due;

	memset(k, 0, sizeof *k);
	k->armed_due = armed; /* the store unhooks the old timer */
	k->active = true;
	k->start = start;
	k->n_periods = 1;
	k->periods[0] = period;
}

int case_clock_due(const struct cal *cal, const struct case_clock *k,
		   int64_t *due)
{
	int64_t t = k->start + k->paused;
	int rc = TDK_OK;

	for (int i = 0; rc == TDK_OK && i < k->n_periods; i++)
		rc = cal_add(cal, t, k->periods[i], &t);
	if (rc == TDK_OK)
		*due = t;
	return rc;
}

const struct rec_field *case_field_table(size_t *n)
{
	*n = REC_FIELDS(case_fields);
	return case_fields;
}

const struct rec_field *case_party_field_table(size_t *n)
{
	*n = REC_FIELDS(party_fields);
	return party_fields;
}

const struct rec_field *case_event_field_table(size_t *n)
{
	*n = REC_FIELDS(event_fields);
	return event_fields;
}
