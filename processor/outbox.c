/*
 * outbox.c - notice intent and staff attention records (see outbox.h).
 */
#include "outbox.h"
#include "recbin.h"
#include "record.h"

#include <stdlib.h>
#include <string.h>

/* Format 2 is the binary form (recbin.h); format 1, the GVariant form
 * (record.h), is still read. */
#define OUTBOX_FORMAT 2
#define ATTENTION_FORMAT 2
#define GVARIANT_FORMAT 1

#define O(m) offsetof(struct outbox_item, m)
static const struct rec_field outbox_fields[] = {
	{ "case", REC_U64, O(case_number) },
	{ "notice", REC_STR, O(notice) },
	{ "audience", REC_STR, O(audience) },
	{ "party1", REC_INT, O(party) }, /* stored + 1 */
	{ "to", REC_STR, O(to) },
	{ "lang", REC_STR, O(lang) },
	{ "state", REC_STR, O(state) },
	{ "hold_reason", REC_STR, O(hold_reason) },
	{ "message_id", REC_STR, O(message_id) },
	{ "detail", REC_STR, O(detail) },
	{ "attempt", REC_INT, O(attempt) },
	{ "created", REC_TIME, O(created) },
	{ "updated", REC_TIME, O(updated) },
	{ "recipient", REC_STR, O(recipient) },
	{ "rendered", REC_BYTES, O(rendered) },
	{ "tries", REC_INT, O(tries) },
	{ "next_try", REC_TIME, O(next_try) },
	{ "sent", REC_TIME, O(sent) },
};
#undef O

#define A(m) offsetof(struct attention_item, m)
static const struct rec_field attention_fields[] = {
	{ "case", REC_U64, A(case_number) },
	{ "kind", REC_STR, A(kind) },
	{ "text", REC_STR, A(text) },
	{ "created", REC_TIME, A(created) },
	{ "cleared", REC_TIME, A(cleared) },
};
#undef A

void outbox_item_free(struct outbox_item *o)
{
	if (o == NULL)
		return;
	rec_clear(outbox_fields, REC_FIELDS(outbox_fields), o);
	g_free(o);
}

void attention_item_free(struct attention_item *a)
{
	if (a == NULL)
		return;
	rec_clear(attention_fields, REC_FIELDS(attention_fields), a);
	g_free(a);
}

int outbox_item_encode(const struct outbox_item *o, GBytes **out)
{
	struct outbox_item tmp = *o;

	tmp.party = o->party + 1;
	*out = rbin_pack(OUTBOX_FORMAT, outbox_fields, REC_FIELDS(outbox_fields), &tmp);
	return TDK_OK;
}

/* Fills obj (zeroed) from a record of format 2, or of format 1. TDK_ECORRUPT
 * is left to the caller, which names the record. */
static int read_record(const void *data, size_t len, uint8_t format,
		       const struct rec_field *fields, size_t n, void *obj,
		       bool *ok, tdk_err *err)
{
	GVariant *dict;
	int rc;

	if (len >= 1 && *(const uint8_t *)data == format) {
		*ok = rbin_unpack(data, len, format, fields, n, obj);
		return TDK_OK;
	}
	rc = rec_unpack(data, len, GVARIANT_FORMAT, NULL, &dict, err);
	if (rc != TDK_OK)
		return rc;
	*ok = rec_read(dict, fields, n, obj);
	g_variant_unref(dict);
	return TDK_OK;
}

int outbox_item_decode(const void *data, size_t len, uint64_t id,
		       struct outbox_item **out, tdk_err *err)
{
	struct outbox_item *o = g_new0(struct outbox_item, 1);
	bool ok = false;
	int rc = read_record(data, len, OUTBOX_FORMAT, outbox_fields,
			    REC_FIELDS(outbox_fields), o, &ok, err);

	if (rc != TDK_OK) {
		outbox_item_free(o);
		return rc;
	}
	o->id = id;
	if (!ok || o->notice == NULL || o->state == NULL) {
		outbox_item_free(o);
		return tdk_err_set(err, TDK_ECORRUPT,
				   "notice intent %" G_GUINT64_FORMAT " does not decode", id);
	}
	o->party -= 1;
	*out = o;
	return TDK_OK;
}

int attention_item_encode(const struct attention_item *a, GBytes **out)
{
	*out = rbin_pack(ATTENTION_FORMAT, attention_fields,
			 REC_FIELDS(attention_fields), a);
	return TDK_OK;
}

int attention_item_decode(const void *data, size_t len, uint64_t id,
			  struct attention_item **out, tdk_err *err)
{
	struct attention_item *a = g_new0(struct attention_item, 1);
	bool ok = false;
	int rc = read_record(data, len, ATTENTION_FORMAT, attention_fields,
			    REC_FIELDS(attention_fields), a, &ok, err);

	if (rc != TDK_OK) {
		attention_item_free(a);
		return rc;
	}
	a->id = id;
	if (!ok || a->kind == NULL) {
		attention_item_free(a);
		return tdk_err_set(err, TDK_ECORRUPT,
				   "staff notice %" G_GUINT64_FORMAT " does not decode", id);
	}
	*out = a;
	return TDK_OK;
}

char *outbox_token(uint64_t id)
{
	return g_strdup_printf("n%" G_GUINT64_FORMAT, id);
}

int outbox_token_parse(const char *token, uint64_t *id)
{
	guint64 v;

	if (token == NULL || (token[0] != 'n' && token[0] != 'N') ||
	    !g_ascii_isdigit(token[1]) ||
	    !g_ascii_string_to_unsigned(token + 1, 10, 1, G_MAXUINT64, &v, NULL))
		return TDK_EINVAL;
	*id = v;
	return TDK_OK;
}
