/*
 * test_store.c - the case store: records round-trip, the timer index stays
 * in step with the clocks (armed, moved, disarmed by pause and stop),
 * a calendar change moves exactly the deadlines it touches, Message-ID
 * and consumed-entry maps, the replay record of staff command mail, quarantine of a damaged record, the personal
 * data store, and damaged bytes never crash the decoder; the outbox
 * indexes follow the notices (put, state changes, a forgotten
 * recipient), are built when a store without them is opened, and the
 * check names what disagrees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <lmdb.h>
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

/* ---- the outbox indexes */

static struct outbox_item *notice(uint64_t number, int party, const char *to,
				  const char *state)
{
	struct outbox_item *o = g_new0(struct outbox_item, 1);

	o->case_number = number;
	o->notice = g_strdup("stage1");
	o->audience = g_strdup(party < 0 ? "staff" : "operator");
	o->party = party;
	o->to = g_strdup(to);
	o->lang = g_strdup("ja");
	o->state = g_strdup(state);
	o->message_id = g_strdup_printf("n%" G_GUINT64_FORMAT "-%d@desk.example", number, party);
	o->created = 1800000000;
	return o;
}

static void set_state(struct outbox_item *o, const char *state)
{
	g_free(o->state);
	o->state = g_strdup(state);
}

struct seen {
	GString *text;
	size_t n;
};

static int list_pending(const struct store_pending *p, void *ctx)
{
	struct seen *s = ctx;

	g_string_append_printf(s->text, "%s%" G_GUINT64_FORMAT "%s%s", s->text->len ? " " : "",
			       p->id, p->deferred ? "d" : "q", p->rendered ? "r" : "");
	if (p->deferred)
		g_string_append_printf(s->text, "@%" G_GINT64_FORMAT, p->next_try);
	return 0;
}

static int list_notice(const struct outbox_item *o, void *ctx)
{
	struct seen *s = ctx;

	g_string_append_printf(s->text, "%s%" G_GUINT64_FORMAT, s->text->len ? " " : "", o->id);
	return 0;
}

static void say_problem(const char *text, void *ctx)
{
	struct seen *s = ctx;

	s->n++;
	g_string_append_printf(s->text, "%s\n", text);
}

/* "1q 3q": the pending index */
static char *pending_of(struct store_txn *txn)
{
	struct seen s = { g_string_new(NULL), 0 };

	assert_int_equal(store_outbox_pending_foreach(txn, list_pending, &s, NULL), TDK_OK);
	return g_string_free(s.text, FALSE);
}

static char *case_notices(struct store_txn *txn, uint64_t number)
{
	struct seen s = { g_string_new(NULL), 0 };

	assert_int_equal(store_outbox_case_foreach(txn, number, list_notice, &s, NULL), TDK_OK);
	return g_string_free(s.text, FALSE);
}

static size_t sent_to(struct store_txn *txn, const char *to, int64_t since, uint64_t except)
{
	size_t n = 99;

	assert_int_equal(store_outbox_sent_count(txn, to, since, except, &n, NULL), TDK_OK);
	return n;
}

/* The problems store_outbox_index_verify finds ("" when none). */
static char *index_problems(struct store_txn *txn, size_t *notices, size_t *pending)
{
	struct seen s = { g_string_new(NULL), 0 };

	assert_int_equal(store_outbox_index_verify(txn, say_problem, &s, notices, pending,
						   NULL), TDK_OK);
	return g_string_free(s.text, FALSE);
}

#define assert_text(expr, want)                        \
	do {                                           \
		char *got_ = (expr);                   \
		assert_string_equal(got_, want);       \
		g_free(got_);                          \
	} while (0)

static void test_outbox_indexes(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct outbox_item *n1 = notice(1, 1, "Sec@Example.co.jp", OUTBOX_QUEUED);
	struct outbox_item *n2 = notice(1, 2, "dev@example.org", OUTBOX_HELD);
	struct outbox_item *n3 = notice(2, 1, "sec@example.co.jp", OUTBOX_QUEUED);
	struct outbox_item *n4 = notice(0, -1, "desk@example.jp", OUTBOX_QUEUED);
	const int64_t sent = 1800003600;
	size_t notices = 0, pending = 0;

	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	assert_int_equal(store_outbox_put(txn, n1, NULL), TDK_OK);
	assert_int_equal(store_outbox_put(txn, n2, NULL), TDK_OK);
	assert_int_equal(store_outbox_put(txn, n3, NULL), TDK_OK);
	assert_int_equal(store_outbox_put(txn, n4, NULL), TDK_OK);
	/* held waits for staff: not pending; the digest has no case */
	assert_text(pending_of(txn), "1q 3q 4q");
	assert_text(case_notices(txn, 1), "1 2");
	assert_text(case_notices(txn, 2), "3");
	assert_text(case_notices(txn, 0), "");
	assert_text(case_notices(txn, 3), "");
	assert_int_equal(sent_to(txn, "sec@example.co.jp", 0, 0), 0);

	/* rendered, then deferred, then sent */
	n1->recipient = g_strdup("Sec@Example.co.jp");
	n1->rendered = g_bytes_new_static("From: desk\n\nhello", 17);
	assert_int_equal(store_outbox_put(txn, n1, NULL), TDK_OK);
	assert_text(pending_of(txn), "1qr 3q 4q");
	set_state(n1, OUTBOX_DEFERRED);
	n1->next_try = sent - 300;
	assert_int_equal(store_outbox_put(txn, n1, NULL), TDK_OK);
	assert_text(pending_of(txn), "1dr@1800003300 3q 4q");
	set_state(n1, OUTBOX_SENT);
	n1->sent = sent;
	assert_int_equal(store_outbox_put(txn, n1, NULL), TDK_OK);
	assert_text(pending_of(txn), "3q 4q");
	/* the recipient compared without case; the window and the notice
	 * being counted for */
	assert_int_equal(sent_to(txn, "SEC@example.CO.JP", sent - 86400, 0), 1);
	assert_int_equal(sent_to(txn, "sec@example.co.jp", sent, 0), 1);
	assert_int_equal(sent_to(txn, "sec@example.co.jp", sent + 1, 0), 0);
	assert_int_equal(sent_to(txn, "sec@example.co.jp", sent - 86400, 1), 0);
	assert_int_equal(sent_to(txn, "sec@example.co", sent - 86400, 0), 0);
	assert_int_equal(sent_to(txn, "sec@example.co.jp.x", sent - 86400, 0), 0);

	/* released by staff: pending again; a second notice to the address */
	set_state(n2, OUTBOX_QUEUED);
	assert_int_equal(store_outbox_put(txn, n2, NULL), TDK_OK);
	assert_text(pending_of(txn), "2q 3q 4q");
	n3->recipient = g_strdup("sec@example.co.jp");
	n3->sent = sent + 100;
	set_state(n3, OUTBOX_SENT);
	assert_int_equal(store_outbox_put(txn, n3, NULL), TDK_OK);
	assert_int_equal(sent_to(txn, "sec@example.co.jp", sent, 0), 2);
	assert_int_equal(sent_to(txn, "sec@example.co.jp", sent + 1, 0), 1);
	/* a bounce keeps the sent time: it still counts */
	set_state(n3, OUTBOX_BOUNCED);
	assert_int_equal(store_outbox_put(txn, n3, NULL), TDK_OK);
	assert_int_equal(sent_to(txn, "sec@example.co.jp", sent, 0), 2);

	/* the recipient forgotten: its entry goes with it */
	g_clear_pointer(&n1->recipient, g_free);
	g_clear_pointer(&n1->rendered, g_bytes_unref);
	assert_int_equal(store_outbox_replace_scrubbed(txn, n1, NULL), TDK_OK);
	assert_int_equal(sent_to(txn, "sec@example.co.jp", 0, 0), 1);
	assert_text(case_notices(txn, 1), "1 2");
	assert_text(index_problems(txn, &notices, &pending), "");
	assert_int_equal(notices, 4);
	assert_int_equal(pending, 2);
	assert_int_equal(store_commit(txn, NULL), TDK_OK);
	outbox_item_free(n1);
	outbox_item_free(n2);
	outbox_item_free(n3);
	outbox_item_free(n4);
}

/* Takes the outbox indexes away as an older todoke's store lacks them
 * (drop: the databases too, else only one pending entry and the flag). */
static void unindex(const char *dir, bool drop)
{
	static const char *const dbs[] = { "outbox_pending", "outbox_sent", "outbox_case" };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val flag = { 12, (void *)"outbox_index" };
	uint8_t id[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };
	MDB_val k = { 8, id };
	int rc;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 20), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	for (size_t i = 0; i < G_N_ELEMENTS(dbs); i++) {
		assert_int_equal(mdb_dbi_open(txn, dbs[i], 0, &dbi), 0);
		if (drop)
			assert_int_equal(mdb_drop(txn, dbi, 1), 0);
		else if (i == 0)
			assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	}
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	rc = mdb_del(txn, dbi, &flag, NULL);
	assert_true(rc == 0 || rc == MDB_NOTFOUND);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_outbox_indexes_built_on_open(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct outbox_item *n1 = notice(7, 1, "sec@example.co.jp", OUTBOX_SENT);
	struct outbox_item *n2 = notice(7, 1, "sec@example.co.jp", OUTBOX_QUEUED);
	struct outbox_item *n3 = notice(8, 1, "ops@example.net", OUTBOX_DEFERRED);
	size_t notices = 0, pending = 0;
	tdk_err err;

	n1->recipient = g_strdup("sec@example.co.jp");
	n1->sent = 1800000000;
	n3->next_try = 1800000900;
	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	assert_int_equal(store_outbox_put(txn, n1, NULL), TDK_OK);
	assert_int_equal(store_outbox_put(txn, n2, NULL), TDK_OK);
	assert_int_equal(store_outbox_put(txn, n3, NULL), TDK_OK);
	assert_int_equal(store_commit(txn, NULL), TDK_OK);
	store_close(fx->st);
	fx->st = NULL;

	/* the flag gone and an entry lost: check says so */
	unindex(fx->dir, false);
	assert_int_equal(store_open(fx->dir, 0, STORE_READONLY, &fx->st, NULL), TDK_OK);
	assert_int_equal(store_begin(fx->st, false, &txn, NULL), TDK_OK);
	assert_text(index_problems(txn, &notices, &pending),
		    "the outbox's indexes were never built: start todoke-processor once "
		    "to build them\n"
		    "notice 2 is queued but not in the outbox's pending index: it is "
		    "never delivered\n");
	assert_int_equal(notices, 3);
	assert_int_equal(pending, 1);
	store_abort(txn);
	store_close(fx->st);
	fx->st = NULL;

	/* a store without the indexes: read-only, it is refused as older */
	unindex(fx->dir, true);
	assert_int_equal(store_open(fx->dir, 0, STORE_READONLY, &fx->st, &err), TDK_ESTATE);
	assert_non_null(strstr(err.text, "older todoke"));
	/* opened for writing, it gets them */
	assert_int_equal(store_open(fx->dir, 0, 0, &fx->st, NULL), TDK_OK);
	assert_int_equal(store_begin(fx->st, false, &txn, NULL), TDK_OK);
	assert_text(pending_of(txn), "2q 3d@1800000900");
	assert_text(case_notices(txn, 7), "1 2");
	assert_text(case_notices(txn, 8), "3");
	assert_int_equal(sent_to(txn, "Sec@example.co.jp", 1800000000, 0), 1);
	assert_text(index_problems(txn, &notices, &pending), "");
	assert_int_equal(notices, 3);
	assert_int_equal(pending, 2);
	store_abort(txn);
	outbox_item_free(n1);
	outbox_item_free(n2);
	outbox_item_free(n3);
}

/* A stale entry and an entry of a notice that is gone are named. */
static void test_outbox_index_strays(void **state)
{
	struct fixture *fx = *state;
	struct store_txn *txn;
	struct outbox_item *n1 = notice(5, 1, "sec@example.co.jp", OUTBOX_QUEUED);
	MDB_env *env;
	MDB_txn *mtxn;
	MDB_dbi dbi;
	uint8_t key[16] = { 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 42 };
	MDB_val k = { 16, key }, v = { 0, (void *)"" };

	assert_int_equal(store_begin(fx->st, true, &txn, NULL), TDK_OK);
	assert_int_equal(store_outbox_put(txn, n1, NULL), TDK_OK);
	assert_int_equal(store_commit(txn, NULL), TDK_OK);
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 20), 0);
	assert_int_equal(mdb_env_open(env, fx->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &mtxn), 0);
	assert_int_equal(mdb_dbi_open(mtxn, "outbox_case", 0, &dbi), 0);
	assert_int_equal(mdb_put(mtxn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(mtxn), 0);
	mdb_env_close(env);
	assert_int_equal(store_open(fx->dir, 0, STORE_READONLY, &fx->st, NULL), TDK_OK);
	assert_int_equal(store_begin(fx->st, false, &txn, NULL), TDK_OK);
	assert_text(index_problems(txn, NULL, NULL),
		    "the outbox's case index has an entry for notice 42 that does not "
		    "exist or does not decode\n");
	store_abort(txn);
	outbox_item_free(n1);
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
		cmocka_unit_test_setup_teardown(test_outbox_indexes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_indexes_built_on_open, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_index_strays, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
