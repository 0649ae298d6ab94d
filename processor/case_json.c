/*
 * case_json.c - cases and events as JSON, for todokectl (see case.h).
 *
 * Driven by the record field tables, so every stored field appears under
 * its stored name; times are ISO 8601 in the desk's zone.
 */
#include "case.h"
#include "record.h"
#include "store.h"

#include <string.h>

static void add_time(JsonBuilder *b, const char *key, int64_t t,
		     const struct cal *cal)
{
	char buf[CAL_INSTANT_LEN];

	json_builder_set_member_name(b, key);
	if (t != 0 && cal_format_instant(cal, t, buf, sizeof buf) == TDK_OK)
		json_builder_add_string_value(b, buf);
	else
		json_builder_add_null_value(b);
}

static void add_fields(JsonBuilder *b, const struct rec_field *fields, size_t n,
		       const void *obj, const struct cal *cal)
{
	for (size_t i = 0; i < n; i++) {
		const struct rec_field *f = &fields[i];
		const char *at = (const char *)obj + f->offset;

		switch (f->kind) {
		case REC_TIME:
			add_time(b, f->key, *(const int64_t *)at, cal);
			break;
		case REC_I64:
			json_builder_set_member_name(b, f->key);
			json_builder_add_int_value(b, *(const int64_t *)at);
			break;
		case REC_U64:
			json_builder_set_member_name(b, f->key);
			json_builder_add_int_value(b, (gint64)*(const uint64_t *)at);
			break;
		case REC_INT:
			json_builder_set_member_name(b, f->key);
			json_builder_add_int_value(b, *(const int *)at);
			break;
		case REC_BOOL:
			json_builder_set_member_name(b, f->key);
			json_builder_add_boolean_value(b, *(const bool *)at);
			break;
		case REC_STR: {
			const char *s = *(char *const *)at;

			json_builder_set_member_name(b, f->key);
			if (s == NULL)
				json_builder_add_null_value(b);
			else if (g_utf8_validate(s, -1, NULL))
				json_builder_add_string_value(b, s);
			else {
				g_autofree char *fixed = g_utf8_make_valid(s, -1);

				json_builder_add_string_value(b, fixed);
			}
			break;
		}
		case REC_BYTES:
			break; /* never shown */
		}
	}
}

static void add_str(JsonBuilder *b, const char *key, const char *value)
{
	json_builder_set_member_name(b, key);
	if (value != NULL)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

void case_to_json(JsonBuilder *b, const struct case_rec *c, const struct cal *cal,
		  const char *case_text, const struct pii_rec *pii)
{
	size_t n;
	const struct rec_field *fields = case_field_table(&n);

	json_builder_begin_object(b);
	add_str(b, "case", case_text);
	json_builder_set_member_name(b, "number");
	json_builder_add_int_value(b, (gint64)c->number);
	add_str(b, "kind_name", case_kind_name(c->kind));
	add_str(b, "state_name", case_state_name(c->state));
	add_fields(b, fields, n, c, cal);
	json_builder_set_member_name(b, "parties");
	json_builder_begin_array(b);
	fields = case_party_field_table(&n);
	for (size_t i = 0; i < c->n_parties; i++) {
		const struct case_party *p = &c->parties[i];

		json_builder_begin_object(b);
		add_str(b, "role_name", case_role_name(p->role));
		add_fields(b, fields, n, p, cal);
		if (p->role == ROLE_DISCOVERER && pii != NULL) {
			add_str(b, "address", pii->address);
			add_str(b, "name", pii->name);
			add_str(b, "postal", pii->postal);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "clocks");
	json_builder_begin_object(b);
	for (int id = 1; id < CLOCK_COUNT; id++) {
		const struct case_clock *k = &c->clocks[id];
		int64_t due = 0;
		char period[CAL_PERIOD_LEN];

		if (k->start == 0)
			continue;
		json_builder_set_member_name(b, case_clock_name(id));
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "running");
		json_builder_add_boolean_value(b, k->active && !c->paused);
		json_builder_set_member_name(b, "fired");
		json_builder_add_boolean_value(b, k->fired);
		add_time(b, "start", k->start, cal);
		json_builder_set_member_name(b, "paused_seconds");
		json_builder_add_int_value(b, k->paused);
		json_builder_set_member_name(b, "periods");
		json_builder_begin_array(b);
		for (int i = 0; i < k->n_periods; i++) {
			cal_period_format(k->periods[i], period, sizeof period);
			json_builder_add_string_value(b, period);
		}
		json_builder_end_array(b);
		if (case_clock_due(cal, k, &due) != TDK_OK)
			due = 0;
		add_time(b, "due", due, cal);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
}

void case_event_to_json(JsonBuilder *b, int seq, const struct case_event *e,
			const struct cal *cal)
{
	size_t n;
	const struct rec_field *fields = case_event_field_table(&n);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "seq");
	json_builder_add_int_value(b, seq);
	add_fields(b, fields, n, e, cal);
	json_builder_end_object(b);
}
