/*
 * test_record.c - the case and event record formats: format 2 (binary,
 * recbin.h) round-trips every field and is what is written; format 1
 * (GVariant) records of existing stores still read; malformed, mistyped
 * or out-of-range records are refused as corrupt, unknown keys skipped.
 * Notice intents and staff notices: both formats read, format 2 written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "case.h"
#include "outbox.h"
#include "recbin.h"
#include "record.h"

#define FIELD(obj, f, type) ((type *)((char *)(obj) + (f)->offset))

/* Sets every field of a table to a value that differs from field to field. */
static void fill_fields(const struct rec_field *fields, size_t n, void *obj,
			int seed)
{
	for (size_t i = 0; i < n; i++) {
		const struct rec_field *f = &fields[i];
		int v = seed + (int)i + 1;

		switch (f->kind) {
		case REC_I64:
		case REC_TIME:
			*FIELD(obj, f, int64_t) = -((int64_t)v << 33) - v;
			break;
		case REC_U64:
			*FIELD(obj, f, uint64_t) = UINT64_MAX - (uint64_t)v;
			break;
		case REC_INT:
			*FIELD(obj, f, int) = v;
			break;
		case REC_BOOL:
			*FIELD(obj, f, bool) = true;
			break;
		case REC_STR:
			*FIELD(obj, f, char *) = g_strdup_printf("%s-%d 値", f->key, v);
			break;
		case REC_BYTES:
			break;
		}
	}
}

static void assert_fields_equal(const struct rec_field *fields, size_t n,
				const void *a, const void *b)
{
	for (size_t i = 0; i < n; i++) {
		const struct rec_field *f = &fields[i];

		switch (f->kind) {
		case REC_I64:
		case REC_TIME:
			assert_true(*FIELD(a, f, int64_t) == *FIELD(b, f, int64_t));
			break;
		case REC_U64:
			assert_true(*FIELD(a, f, uint64_t) == *FIELD(b, f, uint64_t));
			break;
		case REC_INT:
			assert_int_equal(*FIELD(a, f, int), *FIELD(b, f, int));
			break;
		case REC_BOOL:
			assert_int_equal(*FIELD(a, f, bool), *FIELD(b, f, bool));
			break;
		case REC_STR:
			assert_string_equal(*FIELD(a, f, char *), *FIELD(b, f, char *));
			break;
		case REC_BYTES:
			break;
		}
	}
}

static struct case_rec *full_case(void)
{
	size_t n, np;
	const struct rec_field *fields = case_field_table(&n);
	const struct rec_field *pf = case_party_field_table(&np);
	struct case_rec *c = case_new(77);

	fill_fields(fields, n, c, 0);
	c->state = CS_FIXING;
	c->kind = CASE_KIND_WEB;
	c->contact_party = 1;
	for (int p = 0; p < 3; p++) {
		case_party_add(c, 0, NULL, NULL, NULL, NULL, NULL, 0);
		fill_fields(pf, np, &c->parties[p], 100 * (p + 1));
	}
	for (int id = 1; id < CLOCK_COUNT; id++) {
		struct case_clock *k = &c->clocks[id];

		k->active = id % 2 == 0;
		k->fired = id % 3 == 0;
		k->start = 1767571200 + id;
		k->paused = id == 5 ? -86400 : 3600 * id;
		k->armed_due = 1800000000 + id;
		k->n_periods = id;
		for (int i = 0; i < id; i++)
			k->periods[i] = (struct cal_period){ i + 1, (enum cal_unit)(i % 5) };
	}
	return c;
}

static void test_every_field_round_trips(void **state)
{
	struct case_rec *c = full_case(), *back = NULL;
	GBytes *b, *again;
	size_t n;
	const struct rec_field *fields = case_field_table(&n);
	const struct rec_field *pf;
	size_t np;

	(void)state;
	assert_int_equal(case_encode(c, &b, NULL), TDK_OK);
	assert_int_equal(((const uint8_t *)g_bytes_get_data(b, NULL))[0], 2);
	assert_int_equal(case_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b), 77,
				     &back, NULL), TDK_OK);
	assert_true(back->number == 77);
	/* contact_party is stored + 1: compare the table's view of both */
	assert_int_equal(back->contact_party, 1);
	back->contact_party = c->contact_party;
	assert_fields_equal(fields, n, c, back);
	assert_int_equal(back->n_parties, 3);
	pf = case_party_field_table(&np);
	for (size_t p = 0; p < 3; p++)
		assert_fields_equal(pf, np, &c->parties[p], &back->parties[p]);
	for (int id = 1; id < CLOCK_COUNT; id++) {
		const struct case_clock *k = &c->clocks[id], *kb = &back->clocks[id];

		assert_int_equal(kb->active, k->active);
		assert_int_equal(kb->fired, k->fired);
		assert_true(kb->start == k->start);
		assert_true(kb->paused == k->paused);
		assert_true(kb->armed_due == k->armed_due);
		assert_int_equal(kb->n_periods, id);
		for (int i = 0; i < id; i++) {
			assert_int_equal(kb->periods[i].count, i + 1);
			assert_int_equal(kb->periods[i].unit, i % 5);
		}
	}
	/* what is read is written again byte for byte */
	assert_int_equal(case_encode(back, &again, NULL), TDK_OK);
	assert_true(g_bytes_equal(b, again));
	g_bytes_unref(again);
	g_bytes_unref(b);
	case_free(back);
	case_free(c);
}

/* A format 1 record as todoke wrote them before format 2. */
static GBytes *format1(GVariant *dict)
{
	GVariant *v = g_variant_ref_sink(g_variant_new("(y@a{sv})", 1, dict));
	GBytes *b = g_variant_get_data_as_bytes(v);

	g_variant_unref(v);
	return b;
}

static void test_format1_case_is_read(void **state)
{
	GVariantBuilder d, parties, party, clocks, clock, periods;
	GBytes *b;
	struct case_rec *c = NULL;

	(void)state;
	g_variant_builder_init(&d, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&d, "{sv}", "kind", g_variant_new_int32(CASE_KIND_WEB));
	g_variant_builder_add(&d, "{sv}", "state", g_variant_new_int32(CS_FIXING));
	g_variant_builder_add(&d, "{sv}", "hold", g_variant_new_boolean(TRUE));
	g_variant_builder_add(&d, "{sv}", "title", g_variant_new_bytestring("題名"));
	g_variant_builder_add(&d, "{sv}", "received", g_variant_new_int64(1767571200));
	g_variant_builder_add(&d, "{sv}", "contact_party1", g_variant_new_int32(2));
	g_variant_builder_add(&d, "{sv}", "a_future_key", g_variant_new_string("skipped"));
	g_variant_builder_init(&parties, G_VARIANT_TYPE("aa{sv}"));
	g_variant_builder_init(&party, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&party, "{sv}", "role", g_variant_new_int32(ROLE_DISCOVERER));
	g_variant_builder_add(&party, "{sv}", "lang", g_variant_new_bytestring("ja"));
	g_variant_builder_add_value(&parties, g_variant_builder_end(&party));
	g_variant_builder_init(&party, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&party, "{sv}", "role", g_variant_new_int32(ROLE_OPERATOR));
	g_variant_builder_add(&party, "{sv}", "address", g_variant_new_bytestring("sec@example.jp"));
	g_variant_builder_add_value(&parties, g_variant_builder_end(&party));
	g_variant_builder_add(&d, "{sv}", "parties", g_variant_builder_end(&parties));
	g_variant_builder_init(&clocks, G_VARIANT_TYPE("a{yv}"));
	g_variant_builder_init(&clock, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&clock, "{sv}", "active", g_variant_new_boolean(TRUE));
	g_variant_builder_add(&clock, "{sv}", "start", g_variant_new_int64(1767571200));
	g_variant_builder_add(&clock, "{sv}", "armed_due", g_variant_new_int64(1775000000));
	g_variant_builder_init(&periods, G_VARIANT_TYPE("a(iy)"));
	g_variant_builder_add(&periods, "(iy)", 3, (guint8)CAL_MONTHS);
	g_variant_builder_add(&periods, "(iy)", 10, (guint8)CAL_BUSINESS_DAYS);
	g_variant_builder_add(&clock, "{sv}", "periods", g_variant_builder_end(&periods));
	g_variant_builder_add(&clocks, "{yv}", (guint8)CLOCK_FIX, g_variant_builder_end(&clock));
	g_variant_builder_add(&d, "{sv}", "clocks", g_variant_builder_end(&clocks));
	b = format1(g_variant_builder_end(&d));

	assert_int_equal(case_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b), 5,
				     &c, NULL), TDK_OK);
	assert_int_equal(c->kind, CASE_KIND_WEB);
	assert_int_equal(c->state, CS_FIXING);
	assert_true(c->hold);
	assert_string_equal(c->title, "題名");
	assert_true(c->received == 1767571200);
	assert_int_equal(c->contact_party, 1);
	assert_int_equal(c->n_parties, 2);
	assert_int_equal(c->parties[0].role, ROLE_DISCOVERER);
	assert_null(c->parties[0].address);
	assert_string_equal(c->parties[1].address, "sec@example.jp");
	assert_true(c->clocks[CLOCK_FIX].active);
	assert_true(c->clocks[CLOCK_FIX].armed_due == 1775000000);
	assert_int_equal(c->clocks[CLOCK_FIX].n_periods, 2);
	assert_int_equal(c->clocks[CLOCK_FIX].periods[1].count, 10);
	assert_int_equal(c->clocks[CLOCK_FIX].periods[1].unit, CAL_BUSINESS_DAYS);
	assert_false(c->clocks[CLOCK_INVESTIGATION].active);
	g_bytes_unref(b);
	case_free(c);
}

static void test_format1_event_is_read(void **state)
{
	GVariantBuilder d;
	GBytes *b;
	struct case_event e;

	(void)state;
	g_variant_builder_init(&d, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&d, "{sv}", "time", g_variant_new_int64(1767571200));
	g_variant_builder_add(&d, "{sv}", "type", g_variant_new_bytestring("reply"));
	g_variant_builder_add(&d, "{sv}", "spool_id", g_variant_new_uint64(42));
	b = format1(g_variant_builder_end(&d));
	assert_int_equal(case_event_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
					   &e, NULL), TDK_OK);
	assert_true(e.time == 1767571200);
	assert_string_equal(e.type, "reply");
	assert_true(e.spool_id == 42);
	assert_null(e.actor);
	case_event_clear(&e);
	g_bytes_unref(b);
}

static void test_event_round_trips(void **state)
{
	struct case_event e = { .time = -5, .actor = "timer", .type = "expired",
				.text = "", .spool_id = UINT64_MAX,
				.message_id = "a@b", .state = "expired" }, back;
	GBytes *b;

	(void)state;
	assert_int_equal(case_event_encode(&e, &b, NULL), TDK_OK);
	assert_int_equal(((const uint8_t *)g_bytes_get_data(b, NULL))[0], 2);
	assert_int_equal(case_event_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
					   &back, NULL), TDK_OK);
	assert_true(back.time == -5);
	assert_string_equal(back.actor, "timer");
	assert_string_equal(back.text, ""); /* empty, not absent */
	assert_true(back.spool_id == UINT64_MAX);
	assert_string_equal(back.message_id, "a@b");
	case_event_clear(&back);
	g_bytes_unref(b);
}

static void test_outbox_formats(void **state)
{
	struct outbox_item o = { .case_number = 3, .notice = "stage1", .party = -1,
				 .state = "queued", .to = "a@b", .created = 100 };
	struct attention_item a = { .case_number = 3, .kind = "unknown-case",
				    .text = "見て", .created = 5 };
	struct outbox_item *ob = NULL;
	struct attention_item *ab = NULL;
	GVariantBuilder d;
	GBytes *b;

	(void)state;
	o.rendered = g_bytes_new_static("a\0b", 3);
	assert_int_equal(outbox_item_encode(&o, &b), TDK_OK);
	assert_int_equal(((const uint8_t *)g_bytes_get_data(b, NULL))[0], 2);
	assert_int_equal(outbox_item_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
					    8, &ob, NULL), TDK_OK);
	assert_true(ob->id == 8 && ob->case_number == 3);
	assert_int_equal(ob->party, -1);
	assert_string_equal(ob->notice, "stage1");
	assert_string_equal(ob->to, "a@b");
	assert_true(g_bytes_equal(ob->rendered, o.rendered));
	outbox_item_free(ob);
	g_bytes_unref(b);
	g_bytes_unref(o.rendered);

	assert_int_equal(attention_item_encode(&a, &b), TDK_OK);
	assert_int_equal(attention_item_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
					       9, &ab, NULL), TDK_OK);
	assert_string_equal(ab->text, "見て");
	assert_true(ab->created == 5 && ab->cleared == 0);
	attention_item_free(ab);
	g_bytes_unref(b);

	/* format 1 */
	g_variant_builder_init(&d, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&d, "{sv}", "case", g_variant_new_uint64(4));
	g_variant_builder_add(&d, "{sv}", "notice", g_variant_new_bytestring("stage2"));
	g_variant_builder_add(&d, "{sv}", "state", g_variant_new_bytestring("sent"));
	g_variant_builder_add(&d, "{sv}", "party1", g_variant_new_int32(2));
	b = format1(g_variant_builder_end(&d));
	assert_int_equal(outbox_item_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
					    1, &ob, NULL), TDK_OK);
	assert_true(ob->case_number == 4);
	assert_int_equal(ob->party, 1);
	assert_string_equal(ob->state, "sent");
	outbox_item_free(ob);
	g_bytes_unref(b);
	g_variant_builder_init(&d, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&d, "{sv}", "kind", g_variant_new_bytestring("k"));
	g_variant_builder_add(&d, "{sv}", "created", g_variant_new_int64(6));
	b = format1(g_variant_builder_end(&d));
	assert_int_equal(attention_item_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
					       2, &ab, NULL), TDK_OK);
	assert_string_equal(ab->kind, "k");
	assert_true(ab->created == 6);
	attention_item_free(ab);
	g_bytes_unref(b);

	/* refused: no state; a format of neither kind */
	o.state = NULL;
	o.rendered = NULL;
	assert_int_equal(outbox_item_encode(&o, &b), TDK_OK);
	assert_int_equal(outbox_item_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
					    1, &ob, NULL), TDK_ECORRUPT);
	g_bytes_unref(b);
	assert_int_equal(attention_item_decode((const uint8_t[]){ 3, 0 }, 2, 1, &ab, NULL),
			 TDK_ECORRUPT);
}

/* A format 2 case record: state, the given extra entries, then a clock. */
static int decode_with(void (*extra)(GByteArray *), struct case_rec **out)
{
	GByteArray *b = rbin_begin(2);
	uint8_t period[5] = { 0, 0, 0, 3, CAL_MONTHS };
	size_t list, item;
	GBytes *rec;
	int rc;

	rbin_put_i32(b, "state", CS_FIXING);
	if (extra != NULL)
		extra(b);
	list = rbin_open_list(b, "clocks");
	item = rbin_open_item(b);
	rbin_put_i32(b, "id", CLOCK_FIX);
	rbin_put_bytes(b, "periods", period, sizeof period);
	rbin_close(b, item);
	rbin_close(b, list);
	rec = rbin_end(b);
	*out = NULL;
	rc = case_decode(g_bytes_get_data(rec, NULL), g_bytes_get_size(rec), 9, out, NULL);
	g_bytes_unref(rec);
	return rc;
}

static void unknown_key(GByteArray *b) { rbin_put_bytes(b, "later", "x", 1); }
static void kind_as_bytes(GByteArray *b) { rbin_put_bytes(b, "kind", "x", 1); }
static void state_again(GByteArray *b) { rbin_put_bytes(b, "state", "x", 1); }
static void title_with_nul(GByteArray *b) { rbin_put_bytes(b, "title", "a\0b", 3); }
static void parties_as_int(GByteArray *b) { rbin_put_i32(b, "parties", 1); }
static void unknown_type(GByteArray *b)
{
	static const uint8_t entry[] = { 1, 'z', 'q', 0 };

	g_byte_array_append(b, entry, sizeof entry);
}
static void bool_of_two(GByteArray *b)
{
	static const uint8_t entry[] = { 4, 'h', 'o', 'l', 'd', 'b', 2 };

	g_byte_array_append(b, entry, sizeof entry);
}
static void bad_clock(GByteArray *b)
{
	uint8_t zero_count[5] = { 0, 0, 0, 0, CAL_DAYS };
	size_t list = rbin_open_list(b, "clocks"), item = rbin_open_item(b);

	rbin_put_i32(b, "id", CLOCK_FIX);
	rbin_put_bytes(b, "periods", zero_count, sizeof zero_count);
	rbin_close(b, item);
	rbin_close(b, list);
}
static void contact_out_of_range(GByteArray *b) { rbin_put_i32(b, "contact_party1", 3); }

static void test_format2_refusals(void **state)
{
	struct case_rec *c;
	static const uint8_t format3[] = { 3, 0 }, empty[] = { 0 };
	struct case_event e;
	struct case_rec *good;
	GBytes *empty_body, *rec;
	uint8_t *longer;

	(void)state;
	assert_int_equal(decode_with(NULL, &c), TDK_OK);
	assert_int_equal(c->clocks[CLOCK_FIX].periods[0].count, 3);
	case_free(c);
	assert_int_equal(decode_with(unknown_key, &c), TDK_OK);
	case_free(c);
	assert_int_equal(decode_with(kind_as_bytes, &c), TDK_ECORRUPT);
	/* the first entry of a key counts */
	assert_int_equal(decode_with(state_again, &c), TDK_OK);
	assert_int_equal(c->state, CS_FIXING);
	case_free(c);
	assert_int_equal(decode_with(title_with_nul, &c), TDK_ECORRUPT);
	assert_int_equal(decode_with(parties_as_int, &c), TDK_ECORRUPT);
	assert_int_equal(decode_with(unknown_type, &c), TDK_ECORRUPT);
	assert_int_equal(decode_with(bool_of_two, &c), TDK_ECORRUPT);
	assert_int_equal(decode_with(bad_clock, &c), TDK_ECORRUPT);
	assert_int_equal(decode_with(contact_out_of_range, &c), TDK_ECORRUPT);
	assert_null(c);
	assert_int_equal(case_decode(format3, sizeof format3, 9, &c, NULL), TDK_ECORRUPT);
	assert_int_equal(case_decode(empty, 0, 9, &c, NULL), TDK_ECORRUPT);
	assert_int_equal(case_decode((const uint8_t[]){ 2 }, 1, 9, &c, NULL), TDK_ECORRUPT);
	/* a record of an empty body has no state; an event needs its type */
	empty_body = rbin_end(rbin_begin(2));
	assert_int_equal(g_bytes_get_size(empty_body), 5);
	assert_int_equal(case_decode(g_bytes_get_data(empty_body, NULL), 5, 9, &c, NULL),
			 TDK_ECORRUPT);
	assert_int_equal(case_event_decode(g_bytes_get_data(empty_body, NULL), 5, &e, NULL),
			 TDK_ECORRUPT);
	g_bytes_unref(empty_body);
	assert_int_equal(case_event_decode(format3, sizeof format3, &e, NULL), TDK_ECORRUPT);
	/* a byte more than the body's length says */
	good = full_case();
	assert_int_equal(case_encode(good, &rec, NULL), TDK_OK);
	longer = g_malloc0(g_bytes_get_size(rec) + 1);
	memcpy(longer, g_bytes_get_data(rec, NULL), g_bytes_get_size(rec));
	assert_int_equal(case_decode(longer, g_bytes_get_size(rec), 9, &c, NULL), TDK_OK);
	case_free(c);
	assert_int_equal(case_decode(longer, g_bytes_get_size(rec) + 1, 9, &c, NULL),
			 TDK_ECORRUPT);
	g_free(longer);
	g_bytes_unref(rec);
	case_free(good);
}

/* Every truncation and every flipped byte of a full record is read or
 * refused, never read past its end (run under ASan or valgrind). */
static void test_damage_never_crashes(void **state)
{
	struct case_rec *c = full_case(), *back;
	GBytes *b;
	gsize len;
	const guint8 *p;

	(void)state;
	assert_int_equal(case_encode(c, &b, NULL), TDK_OK);
	p = g_bytes_get_data(b, &len);
	for (gsize cut = 0; cut < len; cut++) {
		guint8 *part = g_memdup2(p, cut);
		int rc = case_decode(part, cut, 1, &back, NULL);

		assert_int_equal(rc, TDK_ECORRUPT);
		g_free(part);
	}
	for (gsize i = 0; i < len; i++) {
		guint8 *copy = g_memdup2(p, len);
		int rc;

		copy[i] ^= 0xa5;
		rc = case_decode(copy, len, 1, &back, NULL);
		assert_true(rc == TDK_OK || rc == TDK_ECORRUPT);
		if (rc == TDK_OK)
			case_free(back);
		g_free(copy);
	}
	g_bytes_unref(b);
	case_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field_round_trips),
		cmocka_unit_test(test_format1_case_is_read),
		cmocka_unit_test(test_format1_event_is_read),
		cmocka_unit_test(test_event_round_trips),
		cmocka_unit_test(test_outbox_formats),
		cmocka_unit_test(test_format2_refusals),
		cmocka_unit_test(test_damage_never_crashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
