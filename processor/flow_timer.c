/*
 * flow_timer.c - what happens when a clock falls due, and the daily staff
 * digest (see flow.h). Reminders follow rules/ reminders; the completion
 * deadline expires the case (or closes it when rules/ say auto_close).
 */
#include "flow_int.h"

#include <string.h>

/* A reminder to the contact party and/or a note to staff, per the rules. */
static int remind(struct flow *f, struct case_rec *c,
		  const struct rule_reminder *rule, const char *notice,
		  const char *what)
{
	int p = flow_contact_party(c);
	int rc = flow_event(f, c, "overdue", 0, NULL, "%s", what);

	if (rc == TDK_OK && rule->operator && p >= 0)
		rc = flow_notice(f, c, notice, p, NULL, 0);
	if (rc == TDK_OK && rule->staff)
		rc = flow_attention(f, c, "overdue", "%s", what);
	return rc;
}

static int expire(struct flow *f, struct case_rec *c)
{
	if (f->rules->web.auto_close)
		return flow_close(f, c, "expired", NULL,
				  "the completion deadline passed");
	c->state_before = c->state;
	flow_set_state(c, CS_EXPIRED);
	c->expired_at = f->now;
	int rc = flow_event(f, c, "expired", 0, NULL,
			    "no completion report by the deadline; awaiting staff");

	return rc == TDK_OK
		       ? flow_attention(f, c, "expired",
					"the completion deadline passed: extend "
					"('extend CASE completion PERIOD reason …') or close "
					"('close CASE expired')")
		       : rc;
}

static int fire_clock(struct flow *f, struct case_rec *c, int id)
{
	const struct rules *r = f->rules;

	switch (id) {
	case CLOCK_CONTACT:
		if (c->state != CS_CONTACTING || c->awaiting_post)
			return TDK_OK;
		return flow_contact_next(f, c);
	case CLOCK_FIRST_REPLY:
		if (c->state != CS_DETAIL_SENT)
			return TDK_OK;
		return remind(f, c, &r->reminders.first_reply, "reminder-first-reply",
			      "no 一次返信 to the detail notice");
	case CLOCK_INVESTIGATION:
		if (c->investigated != 0 || !case_state_is_open(c->state))
			return TDK_OK;
		return remind(f, c, &r->reminders.investigation, "reminder-investigation",
			      "the investigation result is overdue");
	case CLOCK_FIX:
		if (c->fix_reported != 0 || !case_state_is_open(c->state))
			return TDK_OK;
		return remind(f, c, &r->reminders.fix, "reminder-fix",
			      "the fix is overdue");
	case CLOCK_COMPLETION:
		if (c->fix_reported != 0 || !case_state_is_open(c->state))
			return TDK_OK;
		return expire(f, c);
	case CLOCK_LONG_RUNNING:
		if (c->fix_reported != 0)
			return TDK_OK;
		return flow_event(f, c, "long-running", 0, NULL,
				  "no fix report since the detail notice: long-running");
	case CLOCK_NONDISCLOSURE:
		return flow_attention(f, c, "nondisclosure",
				      "the discoverer may now ask to withdraw the "
				      "non-disclosure request (起算日 + period)");
	case CLOCK_RETENTION:
		if (c->hold || c->pii_destroyed != 0)
			return TDK_OK;
		return flow_destroy_personal_data(f, c);
	}
	return TDK_OK;
}

int flow_fire(struct flow *f, const struct store_timer *tm)
{
	struct case_rec *c = NULL;
	struct case_clock *k;
	int rc = flow_load(f, tm->number, &c);

	f->case_number = tm->number;
	f->what = case_clock_name(tm->clock);
	if (rc != TDK_OK)
		return rc;
	if (tm->clock <= 0 || tm->clock >= CLOCK_COUNT) {
		case_free(c);
		return tdk_err_set(f->err, TDK_ECORRUPT, "timer of unknown clock %d",
				   tm->clock);
	}
	k = &c->clocks[tm->clock];
	/* The clock stops before acting: the action may restart it. */
	k->active = false;
	k->fired = true;
	rc = fire_clock(f, c, tm->clock);
	if (rc == TDK_OK)
		rc = flow_save(f, c);
	case_free(c);
	return rc;
}

/* ------------------------------------------------------------- digest */

struct digest_news {
	struct flow *f;
	GString *text;
	uint64_t last_id;
	size_t count;
};

static int digest_news_one(const struct attention_item *a, void *ctx)
{
	struct digest_news *d = ctx;
	g_autofree char *ct = a->case_number != 0 ? flow_case_text(d->f, a->case_number)
						  : g_strdup("-");

	d->last_id = a->id;
	if (a->created > d->f->now)
		return 0;
	d->count++;
	g_string_append_printf(d->text, "%s %s: %s\n", ct, a->kind,
			       a->text != NULL ? a->text : "");
	return 0;
}

/* What staff were told since the last digest (after the id kept in meta). */
static int digest_news(struct flow *f, GString *text, size_t *count,
		       uint64_t *last_id)
{
	g_autofree char *kept = NULL;
	struct digest_news d = { .f = f, .text = text };
	guint64 after = 0;
	int rc;

	if (store_meta_get(f->txn, "digest_attention", &kept, NULL) == TDK_OK)
		g_ascii_string_to_unsigned(kept, 10, 0, G_MAXUINT64, &after, NULL);
	d.last_id = after;
	rc = store_attention_foreach(f->txn, after, digest_news_one, &d, f->err);
	*count = d.count;
	*last_id = d.last_id;
	return rc;
}

int flow_digest(struct flow *f, bool *made)
{
	civil_day today, next;
	int64_t start_of_day, digest_at, horizon;
	char day_text[16];
	g_autofree char *last = NULL, *last_id_text = NULL;
	struct store_timer *timers;
	size_t n = 0, overdue = 0, upcoming = 0, news = 0;
	uint64_t last_id = 0;
	GString *text, *due;
	int rc;

	*made = false;
	if (cal_local_day(f->cal, f->now, &today) != TDK_OK ||
	    !cal_is_business_day(f->cal, today))
		return TDK_OK;
	civil_format(today, day_text);
	if (store_meta_get(f->txn, "last_digest", &last, NULL) == TDK_OK &&
	    strcmp(last, day_text) >= 0)
		return TDK_OK;
	if (cal_end_of_day(f->cal, today - 1, &start_of_day) != TDK_OK)
		return TDK_OK;
	digest_at = start_of_day + 1 + (int64_t)f->rules->digest.minute_of_day * 60;
	if (f->now < digest_at)
		return TDK_OK;
	/* Due up to the end of the next business day. */
	if (cal_next_business_day(f->cal, today, &next) != TDK_OK ||
	    cal_end_of_day(f->cal, next, &horizon) != TDK_OK)
		return TDK_OK;
	timers = g_new(struct store_timer, 10000);
	rc = store_timers_due(f->txn, horizon, 10000, timers, &n, f->err);
	due = g_string_new(NULL);
	for (size_t i = 0; rc == TDK_OK && i < n; i++) {
		g_autofree char *ct = flow_case_text(f, timers[i].number);
		char when[CAL_INSTANT_LEN] = "";

		if (timers[i].clock == CLOCK_RETENTION || timers[i].clock == CLOCK_LONG_RUNNING)
			continue;
		cal_format_instant(f->cal, timers[i].due, when, sizeof when);
		if (timers[i].due <= f->now)
			overdue++;
		else
			upcoming++;
		g_string_append_printf(due, "%s %s %s %s\n", ct,
				       case_clock_name(timers[i].clock),
				       timers[i].due <= f->now ? "overdue since" : "due",
				       when);
	}
	g_free(timers);
	text = g_string_new(NULL);
	if (rc == TDK_OK)
		rc = digest_news(f, text, &news, &last_id);
	if (rc == TDK_OK) {
		struct outbox_item o = { 0 };

		o.notice = "digest";
		o.audience = "staff";
		o.party = -1;
		o.to = f->config->control_address;
		o.lang = "ja";
		o.state = OUTBOX_QUEUED;
		o.detail = g_strdup_printf("%s: %zu overdue, %zu due by the next business "
					   "day, %zu staff notices since the last digest\n"
					   "%s%s",
					   day_text, overdue, upcoming, news, due->str, text->str);
		o.created = o.updated = f->now;
		rc = store_outbox_put(f->txn, &o, f->err);
		if (rc == TDK_OK) {
			/* Like every notice, a stable Message-ID (the id is
			 * known once it is stored). */
			const char *at = strrchr(f->config->contact_address, '@');

			o.message_id = g_strdup_printf("todoke.desk.n%" G_GUINT64_FORMAT "@%s",
						       o.id, at != NULL ? at + 1 : "localhost");
			rc = store_outbox_put(f->txn, &o, f->err);
			g_free(o.message_id);
		}
		g_free(o.detail);
	}
	g_string_free(text, TRUE);
	g_string_free(due, TRUE);
	last_id_text = g_strdup_printf("%" G_GUINT64_FORMAT, last_id);
	if (rc == TDK_OK)
		rc = store_meta_put(f->txn, "last_digest", day_text, f->err);
	if (rc == TDK_OK)
		rc = store_meta_put(f->txn, "digest_attention", last_id_text, f->err);
	if (rc == TDK_OK)
		*made = true;
	return rc;
}
