/*
 * test_store.c - the case store: records round-trip, the timer index stays
 * in step with the clocks (armed, moved, disarmed by pause and stop),
 * a calendar change moves exactly the deadlines it touches, Message-ID
 * and consumed-entry maps, the replay record of staff command mail, quarantine of a damaged record, the personal
 * data store, and damaged bytes never crash the decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "calendar.h"
#include "case.h"
#include "store.h"

struct fixture {
	char *dir;
	struct store *st;
	struct cal *cal;
};

static int setup(void **state)
{
	struct fixture *fx = g_new0(struct fixture, 1);

	fx->dir = g_dir_make_tmp("tdk-store-XXXXXX", NULL);
	assert_non_null(fx->dir);
	assert_int_equal(store_open(fx->dir, 64 << 20, 0, &fx->st, NULL), TDK_OK);
	assert_int_equal(cal_new(NULL, &fx->cal, NULL), TDK_OK);
	*state = fx;
	return 0;
}

static void rm_rf(const char *path)
{
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", path);

	assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(fx->st);
	cal_free(fx->cal);
	rm_rf(fx->dir);
	g_free(fx->dir);
	g_free(fx);
	return 0;
}

static int64_t at(const char *iso)
{
	int64_t t;

	assert_int_equal(cal_parse_instant(iso, &t, NULL), TDK_OK);
	return t;
}

static struct case_rec *web_case(struct fixture *fx, struct store_txn *txn,
				 const char *start)
{
	struct case_rec *c;
	uint64_t n;
	struct cal_period bd20 = { 20, CAL_BUSINESS_DAYS }, m3 = { 3, CAL_MONTHS };

	assert_int_equal(store_case_allocate(txn, &n, NULL), TDK_OK);
	c = case_new(n);
	c->state = CS_DETAIL_SENT;
	c->kind = CASE_KIND_WEB;
	c->url = g_strdup("https://www.example.co.jp/");
	c->description = g_strdup("検索欄のスクリプトが実行される");
	case_party_add(c, ROLE_DISCOVERER, NULL, NULL, "ja", NULL, NULL, at(start));
	case_party_add(c, ROLE_OPERATOR, "sec@example.co.jp", "運用者", "ja",
		       "0123456789ABCDEF0123456789ABCDEF01234567", "東京都", at(start));
	c->contact_party = 1;
	case_clock_start(c, CLOCK_INVESTIGATION, at(start), bd20);
	case_clock_start(c, CLOCK_FIX, at(start), m3);
	assert_int_equal(store_case_put(txn, c, fx->cal, NULL), TDK_OK);
	return c;
}

static size_t count_timers(struct store_txn *txn)
{
	size_t n = 0;

	assert_int_equal(store_timer_count(txn, &n, NULL), TDK_OK);
	return n;
}

static void test_case_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct case_rec *c, *back;

	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	c = web_case(fx, txn, "2027-04-20T10:00:00+09:00");
	assert_int_equal(c->number, 1);
	assert_int_equal(store_case_get(txn, 1, &back, NULL), TDK_OK);
	assert_int_equal(back->state, CS_DETAIL_SENT);
	assert_string_equal(back->url, "https://www.example.co.jp/");
	assert_string_equal(back->description, "検索欄のスクリプトが実行される");
	assert_int_equal(back->n_parties, 2);
	assert_null(back->parties[0].address);
	assert_string_equal(back->parties[1].name, "運用者");
	assert_string_equal(back->parties[1].postal, "東京都");
	assert_int_equal(back->contact_party, 1);
	assert_true(back->clocks[CLOCK_FIX].active);
	assert_int_equal(back->clocks[CLOCK_FIX].periods[0].count, 3);
	assert_int_equal(back->clocks[CLOCK_FIX].armed_due, at("2027-07-20T23:59:59+09:00"));
	assert_int_equal(back->clocks[CLOCK_INVESTIGATION].armed_due,
			 at("2027-05-24T23:59:59+09:00"));
	case_free(back);
	case_free(c);
	assert_int_equal(store_commit(txn, NULL), TDK_OK);
}

static void test_timers_follow_clocks(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct store_timer due[8];
	size_t n;
	struct case_rec *c;
	struct cal_period m1 = { 1, CAL_MONTHS };

	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	c = web_case(fx, txn, "2027-04-20T10:00:00+09:00");
	assert_int_equal(count_timers(txn), 2);
	assert_int_equal(store_timers_due(txn, at("2027-05-24T23:59:58+09:00"), 8, due, &n, NULL), TDK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_timers_due(txn, at("2027-05-24T23:59:59+09:00"), 8, due, &n, NULL), TDK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(due[0].clock, CLOCK_INVESTIGATION);
	assert_int_equal(due[0].number, c->number);

	/* an extension moves the timer, it does not add one */
	c->clocks[CLOCK_FIX].periods[c->clocks[CLOCK_FIX].n_periods++] = m1;
	assert_int_equal(store_case_put(txn, c, fx->cal, NULL), TDK_OK);
	assert_int_equal(count_timers(txn), 2);
	assert_int_equal(store_timers_due(txn, at("2027-07-21T00:00:00+09:00"), 8, due, &n, NULL), TDK_OK);
	assert_int_equal(n, 1);

	/* pausing disarms everything; resuming arms it again */
	c->paused = true;
	assert_int_equal(store_case_put(txn, c, fx->cal, NULL), TDK_OK);
	assert_int_equal(count_timers(txn), 0);
	c->paused = false;
	assert_int_equal(store_case_put(txn, c, fx->cal, NULL), TDK_OK);
	assert_int_equal(count_timers(txn), 2);

	/* a stopped clock is disarmed */
	c->clocks[CLOCK_INVESTIGATION].active = false;
	assert_int_equal(store_case_put(txn, c, fx->cal, NULL), TDK_OK);
	assert_int_equal(count_timers(txn), 1);
	assert_int_equal(store_timer_first(txn, &due[0], NULL), TDK_OK);
	assert_int_equal(due[0].clock, CLOCK_FIX);
	assert_int_equal(due[0].due, at("2027-08-20T23:59:59+09:00"));
	case_free(c);
	store_abort(txn);
}

/* In commits of its own, two cases to a commit: the same deadlines. */
static void test_recompute_batched(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct case_rec *c[4], *back;
	struct cal *closed;
	struct cal_config cfg;
	struct cal_named_day extra = { civil_from_ymd(2027, 5, 20), "臨時休業", "Closed" };
	struct store_timer due[16];
	size_t checked = 0, changed = 0, n = 0;

	cal_config_default(&cfg);
	cfg.closure_days = &extra;
	cfg.n_closure_days = 1;
	assert_int_equal(cal_new(&cfg, &closed, NULL), TDK_OK);
	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	c[0] = web_case(fx, txn, "2027-04-20T10:00:00+09:00"); /* 20bd: 05-24 */
	c[1] = web_case(fx, txn, "2027-04-21T10:00:00+09:00"); /* 20bd: 05-25 */
	c[2] = web_case(fx, txn, "2027-06-01T10:00:00+09:00"); /* after the day */
	c[3] = web_case(fx, txn, "2027-04-22T10:00:00+09:00"); /* 20bd: 05-26 */
	assert_int_equal(store_commit(txn, NULL), TDK_OK);

	assert_int_equal(store_timers_recompute_batched(fx->st, closed, 2, &checked,
							&changed, NULL), TDK_OK);
	assert_int_equal(checked, 8);
	assert_int_equal(changed, 3); /* the investigation deadlines of 0, 1, 3 */
	assert_int_equal(store_begin(fx->st, false, &txn, NULL), TDK_OK);
	assert_int_equal(store_case_get(txn, c[0]->number, &back, NULL), TDK_OK);
	assert_int_equal(back->clocks[CLOCK_INVESTIGATION].armed_due,
			 at("2027-05-25T23:59:59+09:00"));
	case_free(back);
	assert_int_equal(store_case_get(txn, c[3]->number, &back, NULL), TDK_OK);
	assert_int_equal(back->clocks[CLOCK_INVESTIGATION].armed_due,
			 at("2027-05-27T23:59:59+09:00"));
	case_free(back);
	assert_int_equal(count_timers(txn), 8);
	/* the index holds the new deadlines, not the old ones */
	assert_int_equal(store_timers_due(txn, at("2027-05-25T23:59:59+09:00"), 16, due,
					  &n, NULL), TDK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(due[0].number, c[0]->number);
	store_abort(txn);
	/* done: a second run moves nothing */
	assert_int_equal(store_timers_recompute_batched(fx->st, closed, 2, &checked,
							&changed, NULL), TDK_OK);
	assert_int_equal(checked, 8);
	assert_int_equal(changed, 0);
	for (int i = 0; i < 4; i++)
		case_free(c[i]);
	cal_free(closed);
}

static void test_recompute_after_calendar_change(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct case_rec *a, *b, *back;
	struct cal *closed;
	struct cal_config cfg;
	struct cal_named_day extra = { civil_from_ymd(2027, 5, 20), "臨時休業", "Closed" };
	size_t checked = 0, changed = 0;

	cal_config_default(&cfg);
	cfg.closure_days = &extra;
	cfg.n_closure_days = 1;
	assert_int_equal(cal_new(&cfg, &closed, NULL), TDK_OK);
	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	a = web_case(fx, txn, "2027-04-20T10:00:00+09:00"); /* 20bd: 05-24 */
	b = web_case(fx, txn, "2027-06-01T10:00:00+09:00"); /* after the day */
	assert_int_equal(store_timers_recompute(txn, closed, &checked, &changed, NULL), TDK_OK);
	assert_int_equal(checked, 4);
	assert_int_equal(changed, 1); /* only a's investigation deadline */
	assert_int_equal(store_case_get(txn, a->number, &back, NULL), TDK_OK);
	assert_int_equal(back->clocks[CLOCK_INVESTIGATION].armed_due,
			 at("2027-05-25T23:59:59+09:00"));
	case_free(back);
	assert_int_equal(count_timers(txn), 4);
	case_free(a);
	case_free(b);
	cal_free(closed);
	store_abort(txn);
}

static void test_maps_and_events(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct case_rec *c;
	struct case_event e = { .time = 1, .actor = "mail", .type = "received",
				.text = "report", .spool_id = 7 };
	g_autofree char *long_id = g_strnfill(2000, 'x');
	uint64_t n = 0;

	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	c = web_case(fx, txn, "2027-04-20T10:00:00+09:00");
	assert_int_equal(store_msgid_put(txn, "a@b", c->number, NULL), TDK_OK);
	assert_int_equal(store_msgid_put(txn, long_id, 42, NULL), TDK_OK);
	assert_int_equal(store_msgid_get(txn, "a@b", &n, NULL), TDK_OK);
	assert_int_equal(n, c->number);
	assert_int_equal(store_msgid_get(txn, long_id, &n, NULL), TDK_OK);
	assert_int_equal(n, 42);
	long_id[1999] = 'y';
	assert_int_equal(store_msgid_get(txn, long_id, &n, NULL), TDK_ENOENT);
	assert_int_equal(store_consumed_get(txn, 9, NULL, NULL), TDK_ENOENT);
	assert_int_equal(store_consumed_put(txn, 9, c->number, 5, NULL), TDK_OK);
	assert_int_equal(store_consumed_get(txn, 9, &n, NULL), TDK_OK);
	assert_int_equal(n, c->number);
	assert_int_equal(store_event_append(txn, c, &e, NULL), TDK_OK);
	assert_int_equal(store_event_append(txn, c, &e, NULL), TDK_OK);
	assert_int_equal(c->n_events, 2);
	case_free(c);
	assert_int_equal(store_commit(txn, NULL), TDK_OK);
}

/* The replay record: each key once, found again across commits, and
 * forgotten only after it expires, oldest first and at most max at once. */
static void test_replay_record(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct store_replay r = { 0 }, got;
	uint8_t sig[32], sig2[32];
	g_autofree char *long_id = g_strnfill(1000, 'm');
	size_t n = 0, s = 0, m = 0;

	memset(sig, 0xA5, sizeof sig);
	memset(sig2, 0x5A, sizeof sig2);
	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	assert_int_equal(store_replay_get(txn, STORE_REPLAY_SIGNATURE, sig, sizeof sig,
					  &got, NULL), TDK_ENOENT);
	r.accepted = 100;
	r.expires = 1000;
	r.spool_id = 7;
	assert_int_equal(store_replay_put(txn, STORE_REPLAY_SIGNATURE, sig, sizeof sig,
					  &r, NULL), TDK_OK);
	assert_int_equal(store_replay_put(txn, STORE_REPLAY_MESSAGE_ID, "a@b", 3, &r,
					  NULL), TDK_OK);
	r.expires = 2000;
	r.spool_id = 8;
	assert_int_equal(store_replay_put(txn, STORE_REPLAY_SIGNATURE, sig2, sizeof sig2,
					  &r, NULL), TDK_OK);
	assert_int_equal(store_replay_put(txn, STORE_REPLAY_MESSAGE_ID, long_id,
					  strlen(long_id), &r, NULL), TDK_OK);
	assert_int_equal(store_commit(txn, NULL), TDK_OK);

	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	assert_int_equal(store_replay_get(txn, STORE_REPLAY_SIGNATURE, sig, sizeof sig,
					  &got, NULL), TDK_OK);
	assert_int_equal(got.accepted, 100);
	assert_int_equal(got.expires, 1000);
	assert_int_equal(got.spool_id, 7);
	/* The kinds are apart: a digest is not a Message-ID. */
	assert_int_equal(store_replay_get(txn, STORE_REPLAY_MESSAGE_ID, sig, sizeof sig,
					  NULL, NULL), TDK_ENOENT);
	assert_int_equal(store_replay_get(txn, STORE_REPLAY_MESSAGE_ID, long_id,
					  strlen(long_id), &got, NULL), TDK_OK);
	assert_int_equal(got.spool_id, 8);
	assert_int_equal(store_replay_count(txn, &s, &m, NULL), TDK_OK);
	assert_int_equal(s, 2);
	assert_int_equal(m, 2);
	/* Nothing has expired yet. */
	assert_int_equal(store_replay_prune(txn, 999, 100, &n, NULL), TDK_OK);
	assert_int_equal(n, 0);
	/* At 1000 the first two expire; max 1 takes one of them. */
	assert_int_equal(store_replay_prune(txn, 1000, 1, &n, NULL), TDK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_replay_prune(txn, 1500, 100, &n, NULL), TDK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_replay_get(txn, STORE_REPLAY_SIGNATURE, sig, sizeof sig,
					  NULL, NULL), TDK_ENOENT);
	assert_int_equal(store_replay_get(txn, STORE_REPLAY_MESSAGE_ID, "a@b", 3,
					  NULL, NULL), TDK_ENOENT);
	assert_int_equal(store_replay_get(txn, STORE_REPLAY_SIGNATURE, sig2, sizeof sig2,
					  NULL, NULL), TDK_OK);
	/* A record put again with a later expiry moves in the index. */
	r.expires = 5000;
	assert_int_equal(store_replay_put(txn, STORE_REPLAY_SIGNATURE, sig2, sizeof sig2,
					  &r, NULL), TDK_OK);
	assert_int_equal(store_replay_prune(txn, 4999, 100, &n, NULL), TDK_OK);
	assert_int_equal(n, 1); /* the long Message-ID only */
	assert_int_equal(store_replay_get(txn, STORE_REPLAY_SIGNATURE, sig2, sizeof sig2,
					  NULL, NULL), TDK_OK);
	assert_int_equal(store_replay_prune(txn, 5000, 100, &n, NULL), TDK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_replay_count(txn, &s, &m, NULL), TDK_OK);
	assert_int_equal(s + m, 0);
	assert_int_equal(store_replay_put(txn, STORE_REPLAY_SIGNATURE, NULL, 0, &r, NULL),
			 TDK_EINVAL);
	assert_int_equal(store_commit(txn, NULL), TDK_OK);
}

static void test_damaged_record_is_quarantined(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct case_rec *c, *back = NULL;
	GBytes *good;
	size_t q = 0;

	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	c = web_case(fx, txn, "2027-04-20T10:00:00+09:00");
	assert_int_equal(case_encode(c, &good, NULL), TDK_OK);
	/* every truncation and every flipped byte decodes or is refused */
	gsize len;
	const guint8 *p = g_bytes_get_data(good, &len);
	for (gsize cut = 0; cut < len; cut++) {
		int rc = case_decode(p, cut, 1, &back, NULL);

		assert_true(rc == TDK_OK || rc == TDK_ECORRUPT);
		if (rc == TDK_OK)
			case_free(back);
	}
	guint8 *copy = g_memdup2(p, len);
	for (gsize i = 0; i < len; i++) {
		copy[i] ^= 0x5a;
		int rc = case_decode(copy, len, 1, &back, NULL);

		assert_true(rc == TDK_OK || rc == TDK_ECORRUPT);
		if (rc == TDK_OK)
			case_free(back);
		copy[i] ^= 0x5a;
	}
	g_free(copy);
	g_bytes_unref(good);
	assert_int_equal(store_quarantine_case(txn, c->number, NULL), TDK_OK);
	assert_int_equal(store_case_get(txn, c->number, &back, NULL), TDK_ENOENT);
	assert_int_equal(store_quarantine_count(txn, &q, NULL), TDK_OK);
	assert_int_equal(q, 1);
	case_free(c);
	store_abort(txn);
}

static void test_personal_data(void **state)
{
	struct fixture *fx = *state;
	struct pii_rec p = { .address = "taro@example.jp", .name = "山田太郎" };
	struct pii_rec *back = NULL;

	p.report = g_bytes_new_static("From: x\n\nreport", 15);
	assert_int_equal(store_pii_put(fx->st, 3, &p, NULL), TDK_OK);
	assert_int_equal(store_pii_get(fx->st, 3, &back, NULL), TDK_OK);
	assert_string_equal(back->name, "山田太郎");
	assert_int_equal(g_bytes_get_size(back->report), 15);
	pii_rec_free(back);
	assert_int_equal(store_pii_delete(fx->st, 3, NULL), TDK_OK);
	assert_int_equal(store_pii_get(fx->st, 3, &back, NULL), TDK_ENOENT);
	g_bytes_unref(p.report);
}

static void test_readonly_and_modes(void **state)
{
	struct fixture *fx = *state;
	struct store *ro;
	struct store_txn *txn;
	tdk_err err;
	g_autofree char *open_dir = g_build_filename(fx->dir, "open", NULL);

	assert_int_equal(store_open(fx->dir, 0, STORE_READONLY, &ro, NULL), TDK_OK);
	assert_int_equal(store_begin(ro, true, &txn, NULL), TDK_ESTATE);
	assert_int_equal(store_begin(ro, false, &txn, NULL), TDK_OK);
	store_abort(txn);
	store_close(ro);
	assert_int_equal(g_mkdir(open_dir, 0777), 0);
	assert_int_equal(g_chmod(open_dir, 0777), 0);
	assert_int_equal(store_open(open_dir, 0, 0, &ro, &err), TDK_EPERM);
	assert_non_null(strstr(err.text, "open to others"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_case_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timers_follow_clocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recompute_batched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recompute_after_calendar_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maps_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_record_is_quarantined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_personal_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_and_modes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
