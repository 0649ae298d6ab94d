/*
 * template_render.c - the variables of a notice and rendering (see
 * template.h).
 *
 * Owns: the schema (every variable a template may name, its type, where
 * its value comes from, and whether it is the discoverer's personal data),
 * the values of one notice intent of one case, the filters, and walking a
 * parsed template into a subject and a body.
 *
 * Values from case data are cleaned before they reach the text: CR LF,
 * lone CR, U+2028 and U+2029 become LF, other control characters are
 * dropped, invalid UTF-8 is repaired. The subject is fixed words and the
 * case number, with any control character replaced by a space.
 */
#include "template_int.h"
#include "mailtext.h"

#include <stdio.h>
#include <string.h>

#define REPORT_TEXT_MAX (256 * 1024)

/* ------------------------------------------------------------- schema */

#define CASE_TEXT(path, member) \
	{ path, TT_TEXT, TV_CASE, SRC_CASE_TEXT, offsetof(struct case_rec, member) }
#define CASE_TIME(path, member) \
	{ path, TT_TIME, TV_CASE, SRC_CASE_TIME, offsetof(struct case_rec, member) }
#define DUE(path, clock) { path, TT_TIME, TV_CASE, SRC_CLOCK_DUE, clock }
#define PERIOD(path, clock) { path, TT_PERIOD, 0, SRC_RULE_PERIOD, clock }
#define SPECIAL(path, type, flags, id) { path, type, flags, SRC_SPECIAL, id }

static const struct tpl_var vars[] = {
	SPECIAL("case", TT_TEXT, 0, SP_CASE),
	SPECIAL("kind", TT_TEXT, TV_CASE, SP_KIND),
	SPECIAL("state", TT_TEXT, TV_CASE, SP_STATE),
	CASE_TEXT("url", url),
	CASE_TEXT("product", product),
	CASE_TEXT("vuln_type", vuln_type),
	CASE_TEXT("threat", threat),
	CASE_TEXT("title", title),
	CASE_TEXT("description", description),
	SPECIAL("impact", TT_TEXT, TV_CASE, SP_IMPACT),
	SPECIAL("lang", TT_TEXT, 0, SP_LANG),
	SPECIAL("now", TT_TIME, 0, SP_NOW),
	SPECIAL("detail", TT_TEXT, 0, SP_DETAIL),
	SPECIAL("attempt", TT_INT, 0, SP_ATTEMPT),
	SPECIAL("attempts", TT_INT, 0, SP_ATTEMPTS),

	CASE_TIME("dates.received", received),
	CASE_TIME("dates.accepted", accepted),
	CASE_TIME("dates.not_accepted", not_accepted),
	CASE_TIME("dates.stage1_sent", stage1_sent),
	CASE_TIME("dates.contact_received", contact_received),
	CASE_TIME("dates.stage2_sent", stage2_sent),
	CASE_TIME("dates.acknowledged", acknowledged),
	CASE_TIME("dates.investigated", investigated),
	CASE_TIME("dates.fix_reported", fix_reported),
	CASE_TIME("dates.checked", checked),
	CASE_TIME("dates.forwarded", forwarded),
	CASE_TIME("dates.overview_sent", overview_sent),
	CASE_TIME("dates.published", published),
	CASE_TIME("dates.priority_provided", priority_provided),
	CASE_TIME("dates.unreachable", unreachable_at),
	CASE_TIME("dates.closed", closed),

	DUE("due.contact", CLOCK_CONTACT),
	DUE("due.first_reply", CLOCK_FIRST_REPLY),
	DUE("due.investigation", CLOCK_INVESTIGATION),
	DUE("due.fix", CLOCK_FIX),
	DUE("due.completion", CLOCK_COMPLETION),
	DUE("due.long_running", CLOCK_LONG_RUNNING),
	DUE("due.nondisclosure", CLOCK_NONDISCLOSURE),
	DUE("due.retention", CLOCK_RETENTION),

	PERIOD("period.contact", CLOCK_CONTACT),
	PERIOD("period.first_reply", CLOCK_FIRST_REPLY),
	PERIOD("period.investigation", CLOCK_INVESTIGATION),
	PERIOD("period.fix", CLOCK_FIX),
	PERIOD("period.completion", CLOCK_COMPLETION),
	PERIOD("period.long_running", CLOCK_LONG_RUNNING),
	PERIOD("period.nondisclosure", CLOCK_NONDISCLOSURE),
	PERIOD("period.retention", CLOCK_RETENTION),

	SPECIAL("reason.code", TT_TEXT, TV_CASE, SP_REASON_CODE),
	SPECIAL("reason.mark", TT_TEXT, TV_CASE, SP_REASON_MARK),
	SPECIAL("reason.label", TT_TEXT, TV_CASE, SP_REASON_LABEL),
	SPECIAL("outcome.code", TT_TEXT, TV_CASE, SP_OUTCOME_CODE),
	SPECIAL("outcome.label", TT_TEXT, TV_CASE, SP_OUTCOME_LABEL),

	SPECIAL("desk.report_address", TT_TEXT, 0, SP_DESK_REPORT),
	SPECIAL("desk.contact_address", TT_TEXT, 0, SP_DESK_CONTACT),
	SPECIAL("desk.control_address", TT_TEXT, 0, SP_DESK_CONTROL),
	SPECIAL("desk.coordinator_address", TT_TEXT, 0, SP_DESK_COORDINATOR),
	SPECIAL("desk.key", TT_TEXT, 0, SP_DESK_KEY),

	SPECIAL("recipient.role", TT_TEXT, TV_CASE, SP_RECIPIENT_ROLE),
	SPECIAL("recipient.name", TT_TEXT, TV_CASE, SP_RECIPIENT_NAME),
	SPECIAL("recipient.address", TT_TEXT, TV_CASE, SP_RECIPIENT_ADDRESS),
	SPECIAL("recipient.postal", TT_TEXT, TV_CASE, SP_RECIPIENT_POSTAL),
	SPECIAL("recipient.lang", TT_TEXT, TV_CASE, SP_RECIPIENT_LANG),
	SPECIAL("parties", TT_LIST, TV_CASE, SP_PARTIES),

	SPECIAL("discoverer.name", TT_TEXT, TV_CASE | TV_PII, SP_DISCOVERER_NAME),
	SPECIAL("discoverer.address", TT_TEXT, TV_CASE | TV_PII, SP_DISCOVERER_ADDRESS),
	SPECIAL("discoverer.postal", TT_TEXT, TV_CASE | TV_PII, SP_DISCOVERER_POSTAL),
	SPECIAL("discoverer.phone", TT_TEXT, TV_CASE | TV_PII, SP_DISCOVERER_PHONE),
	SPECIAL("report.text", TT_TEXT, TV_CASE | TV_PII, SP_REPORT_TEXT),
};

static const struct tpl_var party_fields[] = {
	{ "role", TT_TEXT, TV_CASE, SRC_PARTY, PF_ROLE },
	{ "name", TT_TEXT, TV_CASE, SRC_PARTY, PF_NAME },
	{ "address", TT_TEXT, TV_CASE, SRC_PARTY, PF_ADDRESS },
	{ "postal", TT_TEXT, TV_CASE, SRC_PARTY, PF_POSTAL },
	{ "lang", TT_TEXT, TV_CASE, SRC_PARTY, PF_LANG },
};

static const struct tpl_var loop_fields[] = {
	{ "index", TT_INT, 0, SRC_LOOP, 0 },
	{ "first", TT_BOOL, 0, SRC_LOOP, 1 },
	{ "last", TT_BOOL, 0, SRC_LOOP, 2 },
};

static const struct tpl_var *find_in(const struct tpl_var *table, size_t n,
				     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].path, name) == 0)
			return &table[i];
	return NULL;
}

const struct tpl_var *tpl_var_find(const char *path)
{
	return find_in(vars, G_N_ELEMENTS(vars), path);
}

const struct tpl_var *tpl_party_field_find(const char *name)
{
	return find_in(party_fields, G_N_ELEMENTS(party_fields), name);
}

const struct tpl_var *tpl_loop_field_find(const char *name)
{
	return find_in(loop_fields, G_N_ELEMENTS(loop_fields), name);
}

bool tpl_var_is_root(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < G_N_ELEMENTS(vars); i++)
		if (strncmp(vars[i].path, name, len) == 0 &&
		    (vars[i].path[len] == '.' || vars[i].path[len] == '\0'))
			return true;
	return false;
}

const char *tpl_type_name(enum tpl_type type)
{
	switch (type) {
	case TT_TEXT: return "text";
	case TT_TIME: return "a date";
	case TT_PERIOD: return "a period";
	case TT_INT: return "a number";
	case TT_BOOL: return "true or false";
	case TT_LIST: return "a list";
	}
	return "?";
}

/* ------------------------------------------------------------- values */

struct tval {
	enum tpl_type type;
	const char *s;      /* TT_TEXT; never NULL */
	char *owned;        /* what s points to when it was made here */
	int64_t t;
	struct cal_period p;
	long long n;
	bool b;
};

static void tval_clear(struct tval *v)
{
	g_free(v->owned);
	memset(v, 0, sizeof *v);
}

#define LOOPS_MAX TEMPLATE_NESTING_MAX

struct rctx {
	const struct template *tp;
	const struct render_input *in;
	const struct case_rec *c;   /* NULL: no case (case variables are empty) */
	const char *lang;
	GString *out;
	int loop_party[LOOPS_MAX], loop_index[LOOPS_MAX], loop_count[LOOPS_MAX];
	int n_loops;
	char *case_text;
	char *report_text;
	bool report_done;
	long steps;
	tdk_err *err;
};

/* Case data as text: line ends as LF, no other control characters. */
static char *clean_text(const char *s)
{
	g_autofree char *valid = g_utf8_make_valid(s != NULL ? s : "", -1);
	GString *out = g_string_sized_new(strlen(valid));

	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);

		if (ch == '\r') {
			if (p[1] != '\n')
				g_string_append_c(out, '\n');
		} else if (ch == '\n' || ch == '\t') {
			g_string_append_c(out, (char)ch);
		} else if (ch == 0x2028 || ch == 0x2029) {
			g_string_append_c(out, '\n');
		} else if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0)) {
			continue;
		} else {
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
		}
	}
	return g_string_free(out, FALSE);
}

static void set_text(struct tval *v, const char *s)
{
	v->type = TT_TEXT;
	v->owned = clean_text(s);
	v->s = v->owned;
}

static struct cal_period rule_period(const struct rules *r, int clock)
{
	switch (clock) {
	case CLOCK_CONTACT: return r->contact.interval;
	case CLOCK_FIRST_REPLY: return r->reminders.first_reply.after;
	case CLOCK_INVESTIGATION: return r->web.investigation;
	case CLOCK_FIX: return r->web.fix;
	case CLOCK_COMPLETION: return r->web.completion;
	case CLOCK_LONG_RUNNING: return r->web.long_running;
	case CLOCK_NONDISCLOSURE: return r->product.nondisclosure_withdrawal;
	case CLOCK_RETENTION: return r->retention.personal_data;
	}
	return (struct cal_period){ 0, CAL_DAYS };
}

static int64_t base_time(const struct rctx *x)
{
	return x->in->now != 0 ? x->in->now : x->in->item->created;
}

/* A running or stopped clock's deadline; one not yet started: its
 * deadline were it started now (what stage 2 will say). */
static int64_t clock_due(const struct rctx *x, int clock)
{
	const struct case_clock *k = &x->c->clocks[clock];
	int64_t due = 0;

	if (k->start != 0) {
		if (case_clock_due(x->in->cal, k, &due) != TDK_OK)
			due = 0;
		return due;
	}
	if (cal_add(x->in->cal, base_time(x), rule_period(x->in->rules, clock), &due) != TDK_OK)
		due = 0;
	return due;
}

static const struct rule_reason *reason(const struct rctx *x)
{
	const struct rules *r = x->in->rules;
	const struct rule_reason_list *list = &r->not_accepted;
	const struct rule_reason *found = NULL;

	if (strcmp(x->in->item->notice, "non-acceptance") != 0 &&
	    x->c->state != CS_NOT_ACCEPTED) {
		if (x->c->kind == CASE_KIND_WEB)
			list = &r->web_end;
		else if (x->c->kind == CASE_KIND_PRODUCT)
			list = &r->product_end;
	}
	if (x->in->item->detail != NULL)
		found = rules_find_reason(list, x->in->item->detail);
	if (found == NULL && x->c->reason_code != NULL)
		found = rules_find_reason(list, x->c->reason_code);
	return found;
}

/* The recipient party: a party of the case other than the discoverer. */
static const struct case_party *recipient(const struct rctx *x)
{
	int p = x->in->item->party;

	if (p < 0 || (size_t)p >= x->c->n_parties || x->c->parties[p].role == ROLE_DISCOVERER)
		return NULL;
	return &x->c->parties[p];
}

static const char *report_text(struct rctx *x)
{
	const struct pii_rec *pii = x->in->pii;
	GBytes *mail;
	struct mailtext *mt = NULL;

	if (x->report_done)
		return x->report_text;
	x->report_done = true;
	mail = pii == NULL ? NULL : pii->decrypted != NULL ? pii->decrypted : pii->report;
	if (mail != NULL && mailtext_extract(mail, REPORT_TEXT_MAX, &mt, NULL) == TDK_OK) {
		x->report_text = mailtext_joined(mt);
		mailtext_free(mt);
	}
	return x->report_text;
}

static const char *lang_label(const struct rctx *x, const char *ja, const char *en)
{
	return strcmp(x->lang, "en") == 0 ? en : ja;
}

static void special(struct rctx *x, int id, struct tval *v)
{
	const struct render_input *in = x->in;
	const struct tdk_config *cf = in->config;
	const struct pii_rec *pii = in->pii;
	const struct case_party *rp = NULL;
	const struct rule_reason *rr = NULL;
	const struct rule_outcome *ro = NULL;

	if (id >= SP_RECIPIENT_ROLE && id <= SP_RECIPIENT_LANG)
		rp = recipient(x);
	if (id >= SP_REASON_CODE && id <= SP_REASON_LABEL)
		rr = reason(x);
	if ((id == SP_OUTCOME_CODE || id == SP_OUTCOME_LABEL) && x->c->outcome != NULL)
		ro = rules_find_outcome(in->rules, x->c->outcome);
	switch (id) {
	case SP_CASE: set_text(v, x->case_text); return;
	case SP_KIND: set_text(v, case_kind_name(x->c->kind)); return;
	case SP_STATE: set_text(v, case_state_name(x->c->state)); return;
	case SP_IMPACT: set_text(v, rules_impact_name(x->c->impact)); return;
	case SP_LANG: set_text(v, x->lang); return;
	case SP_NOW: v->t = base_time(x); return;
	case SP_DETAIL: set_text(v, in->item->detail); return;
	case SP_ATTEMPT: v->n = in->item->attempt; return;
	case SP_ATTEMPTS: v->n = in->rules->contact.attempts; return;
	case SP_REASON_CODE: set_text(v, rr != NULL ? rr->code : NULL); return;
	case SP_REASON_MARK: set_text(v, rr != NULL ? rr->mark : NULL); return;
	case SP_REASON_LABEL:
		set_text(v, rr != NULL ? lang_label(x, rr->label_ja, rr->label_en) : NULL);
		return;
	case SP_OUTCOME_CODE: set_text(v, ro != NULL ? ro->code : NULL); return;
	case SP_OUTCOME_LABEL:
		set_text(v, ro != NULL ? lang_label(x, ro->label_ja, ro->label_en) : NULL);
		return;
	case SP_DESK_REPORT: set_text(v, cf->report_address); return;
	case SP_DESK_CONTACT: set_text(v, cf->contact_address); return;
	case SP_DESK_CONTROL: set_text(v, cf->control_address); return;
	case SP_DESK_COORDINATOR: set_text(v, cf->coordinator_address); return;
	case SP_DESK_KEY: set_text(v, in->desk_key); return;
	case SP_RECIPIENT_ROLE: set_text(v, rp ? case_role_name(rp->role) : NULL); return;
	case SP_RECIPIENT_NAME: set_text(v, rp ? rp->name : NULL); return;
	case SP_RECIPIENT_ADDRESS: set_text(v, rp ? rp->address : NULL); return;
	case SP_RECIPIENT_POSTAL: set_text(v, rp ? rp->postal : NULL); return;
	case SP_RECIPIENT_LANG: set_text(v, rp ? rp->lang : NULL); return;
	case SP_DISCOVERER_NAME: set_text(v, pii ? pii->name : NULL); return;
	case SP_DISCOVERER_ADDRESS: set_text(v, pii ? pii->address : NULL); return;
	case SP_DISCOVERER_POSTAL: set_text(v, pii ? pii->postal : NULL); return;
	case SP_DISCOVERER_PHONE: set_text(v, pii ? pii->phone : NULL); return;
	case SP_REPORT_TEXT: set_text(v, report_text(x)); return;
	}
}

/* The parties other than the discoverer, in the case's order. */
static int party_list(const struct rctx *x, int *out, int cap)
{
	int n = 0;

	for (size_t i = 0; x->c != NULL && i < x->c->n_parties && n < cap; i++)
		if (x->c->parties[i].role != ROLE_DISCOVERER)
			out[n++] = (int)i;
	return n;
}

static void eval(struct rctx *x, const struct tpl_expr *e, struct tval *v)
{
	const struct tpl_var *var = e->var;

	memset(v, 0, sizeof *v);
	v->s = "";
	if (var == NULL) {
		v->type = TT_TEXT;
		v->s = e->literal;
		return;
	}
	v->type = var->type;
	if ((var->flags & TV_CASE) && x->c == NULL)
		return; /* empty */
	switch (var->source) {
	case SRC_CASE_TEXT:
		set_text(v, *(char *const *)((const char *)x->c + var->arg));
		return;
	case SRC_CASE_TIME:
		v->t = *(const int64_t *)((const char *)x->c + var->arg);
		return;
	case SRC_CLOCK_DUE:
		v->t = clock_due(x, (int)var->arg);
		return;
	case SRC_RULE_PERIOD:
		v->p = rule_period(x->in->rules, (int)var->arg);
		return;
	case SRC_SPECIAL:
		if (var->arg == SP_PARTIES) {
			int idx[1];

			v->n = party_list(x, idx, 1);
			return;
		}
		special(x, (int)var->arg, v);
		return;
	case SRC_PARTY: {
		const struct case_party *p = &x->c->parties[x->loop_party[e->loop]];

		switch (var->arg) {
		case PF_ROLE: set_text(v, case_role_name(p->role)); return;
		case PF_NAME: set_text(v, p->name); return;
		case PF_ADDRESS: set_text(v, p->address); return;
		case PF_POSTAL: set_text(v, p->postal); return;
		case PF_LANG: set_text(v, p->lang); return;
		}
		return;
	}
	case SRC_LOOP:
		if (var->arg == 0)
			v->n = x->loop_index[e->loop] + 1;
		else if (var->arg == 1)
			v->b = x->loop_index[e->loop] == 0;
		else
			v->b = x->loop_index[e->loop] == x->loop_count[e->loop] - 1;
		return;
	}
}

static bool truthy(const struct tval *v)
{
	switch (v->type) {
	case TT_TEXT: return v->s[0] != '\0';
	case TT_TIME: return v->t != 0;
	case TT_PERIOD: return v->p.count > 0;
	case TT_INT: return v->n != 0;
	case TT_BOOL: return v->b;
	case TT_LIST: return v->n > 0;
	}
	return false;
}

/* ------------------------------------------------------------ filters */

static void format_date(const struct rctx *x, int64_t t, GString *out)
{
	civil_day d;
	char buf[11];

	if (t != 0 && cal_local_day(x->in->cal, t, &d) == TDK_OK) {
		civil_format(d, buf);
		g_string_append(out, buf);
	}
}

/* 令和 from 2019-05-01 (元年 for its first year), 平成 from 1989-01-08,
 * 昭和 from 1926-12-25; Gregorian before that. */
static void format_era(const struct rctx *x, int64_t t, GString *out)
{
	civil_day d;
	int y, m, day, ey;
	const char *era;

	if (t == 0 || cal_local_day(x->in->cal, t, &d) != TDK_OK)
		return;
	civil_to_ymd(d, &y, &m, &day);
	if (d >= civil_from_ymd(2019, 5, 1)) {
		era = "令和";
		ey = y - 2018;
	} else if (d >= civil_from_ymd(1989, 1, 8)) {
		era = "平成";
		ey = y - 1988;
	} else if (d >= civil_from_ymd(1926, 12, 25)) {
		era = "昭和";
		ey = y - 1925;
	} else {
		g_string_append_printf(out, "%d年%d月%d日", y, m, day);
		return;
	}
	if (ey == 1)
		g_string_append_printf(out, "%s元年%d月%d日", era, m, day);
	else
		g_string_append_printf(out, "%s%d年%d月%d日", era, ey, m, day);
}

/* "2026-10-22 23:59 +09:00" */
static void format_datetime(const struct rctx *x, int64_t t, GString *out)
{
	char buf[CAL_INSTANT_LEN];

	if (t == 0 || cal_format_instant(x->in->cal, t, buf, sizeof buf) != TDK_OK)
		return;
	/* YYYY-MM-DDTHH:MM:SS+HH:MM */
	g_string_append_printf(out, "%.10s %.5s %s", buf, buf + 11, buf + 19);
}

static void format_period(const struct rctx *x, struct cal_period p, GString *out)
{
	static const char *const ja[] = {
		[CAL_BUSINESS_DAYS] = "営業日", [CAL_DAYS] = "日", [CAL_WEEKS] = "週間",
		[CAL_MONTHS] = "ヶ月", [CAL_YEARS] = "年",
	};
	static const char *const en[] = {
		[CAL_BUSINESS_DAYS] = "business day", [CAL_DAYS] = "day",
		[CAL_WEEKS] = "week", [CAL_MONTHS] = "month", [CAL_YEARS] = "year",
	};

	if (p.count <= 0 || (unsigned)p.unit > CAL_YEARS)
		return;
	if (strcmp(x->lang, "en") == 0)
		g_string_append_printf(out, "%d %s%s", p.count, en[p.unit],
				       p.count == 1 ? "" : "s");
	else
		g_string_append_printf(out, "%d %s", p.count, ja[p.unit]);
}

/* The value as text, without filters. */
static void to_text(const struct rctx *x, const struct tval *v, GString *out)
{
	char buf[CAL_PERIOD_LEN];

	switch (v->type) {
	case TT_TEXT: g_string_append(out, v->s); return;
	case TT_TIME: format_date(x, v->t, out); return;
	case TT_PERIOD:
		if (v->p.count > 0) {
			cal_period_format(v->p, buf, sizeof buf);
			g_string_append(out, buf);
		}
		return;
	case TT_INT: g_string_append_printf(out, "%lld", v->n); return;
	case TT_BOOL: g_string_append(out, v->b ? "true" : "false"); return;
	case TT_LIST: return;
	}
}

/* Prefixes every line of text (empty lines get the prefix without its
 * trailing blanks, unless skip_empty). */
static char *prefix_lines(const char *text, const char *prefix, bool skip_empty)
{
	GString *out = g_string_new(NULL);
	const char *p = text;
	size_t plen = strlen(prefix), trimmed = plen;

	while (trimmed > 0 && prefix[trimmed - 1] == ' ')
		trimmed--;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (n > 0)
			g_string_append(out, prefix);
		else if (!skip_empty)
			g_string_append_len(out, prefix, (gssize)trimmed);
		g_string_append_len(out, p, (gssize)n);
		if (nl == NULL)
			break;
		g_string_append_c(out, '\n');
		p = nl + 1;
	}
	return g_string_free(out, FALSE);
}

static void apply_filter(const struct rctx *x, const struct tpl_filter *f,
			 struct tval *v)
{
	GString *out = g_string_new(NULL);
	char *text;

	switch (f->id) {
	case TF_DATE: format_date(x, v->t, out); break;
	case TF_ERA: format_era(x, v->t, out); break;
	case TF_DATETIME: format_datetime(x, v->t, out); break;
	case TF_PERIOD_WORDS: format_period(x, v->p, out); break;
	case TF_INDENT: {
		char pad[33];

		to_text(x, v, out);
		memset(pad, ' ', (size_t)f->arg);
		pad[f->arg] = '\0';
		text = prefix_lines(out->str, pad, true);
		g_string_assign(out, text);
		g_free(text);
		break;
	}
	case TF_QUOTE:
		to_text(x, v, out);
		text = prefix_lines(out->str, "> ", false);
		g_string_assign(out, text);
		g_free(text);
		break;
	case TF_UPPER:
		to_text(x, v, out);
		text = g_utf8_strup(out->str, -1);
		g_string_assign(out, text);
		g_free(text);
		break;
	case TF_DEFAULT:
		to_text(x, v, out);
		if (out->len == 0)
			g_string_assign(out, f->text);
		break;
	}
	tval_clear(v);
	v->type = TT_TEXT;
	v->owned = g_string_free(out, FALSE);
	v->s = v->owned;
}

/* ------------------------------------------------------------- walking */

static bool test(struct rctx *x, const struct tpl_cond *c)
{
	struct tval v;
	bool r;

	if (c->op == TC_AND)
		return test(x, c->left) && test(x, c->right);
	if (c->op == TC_OR)
		return test(x, c->left) || test(x, c->right);
	eval(x, &c->expr, &v);
	if (c->compare != 0) {
		GString *s = g_string_new(NULL);

		to_text(x, &v, s);
		r = (strcmp(s->str, c->operand) == 0) == (c->compare == 1);
		g_string_free(s, TRUE);
	} else {
		r = truthy(&v);
	}
	tval_clear(&v);
	return c->negate ? !r : r;
}

static int render_nodes(struct rctx *x, const GPtrArray *nodes);

static int check_size(struct rctx *x, int line)
{
	if (x->out->len > TEMPLATE_OUTPUT_MAX)
		return tdk_err_set(x->err, TDK_ELIMIT, "%s:%d: the rendered text exceeds %d bytes",
				   x->tp->path, line, TEMPLATE_OUTPUT_MAX);
	return TDK_OK;
}

static int render_node(struct rctx *x, const struct tpl_node *n)
{
	struct tval v;
	int rc = TDK_OK;

	if (++x->steps > TEMPLATE_STEPS_MAX)
		return tdk_err_set(x->err, TDK_ELIMIT, "%s:%d: the rendering takes more than "
				   "%d steps", x->tp->path, n->line, TEMPLATE_STEPS_MAX);
	switch (n->kind) {
	case TN_TEXT:
		g_string_append(x->out, n->text);
		break;
	case TN_CASE_TAG:
		break; /* subjects only */
	case TN_OUT:
		eval(x, &n->expr, &v);
		for (int i = 0; i < n->n_filters; i++)
			apply_filter(x, &n->filters[i], &v);
		to_text(x, &v, x->out);
		tval_clear(&v);
		break;
	case TN_IF:
		for (int i = 0; i < n->n_branches; i++)
			if (n->branches[i].cond == NULL || test(x, n->branches[i].cond))
				return render_nodes(x, n->branches[i].body);
		break;
	case TN_FOR: {
		int idx[256];
		int count = party_list(x, idx, (int)G_N_ELEMENTS(idx));
		int d = x->n_loops++;

		x->loop_count[d] = count;
		for (int i = 0; rc == TDK_OK && i < count; i++) {
			x->loop_party[d] = idx[i];
			x->loop_index[d] = i;
			rc = render_nodes(x, n->body);
		}
		x->n_loops--;
		break;
	}
	}
	return rc == TDK_OK ? check_size(x, n->line) : rc;
}

static int render_nodes(struct rctx *x, const GPtrArray *nodes)
{
	int rc = TDK_OK;

	for (guint i = 0; rc == TDK_OK && i < nodes->len; i++)
		rc = render_node(x, g_ptr_array_index(nodes, i));
	return rc;
}

/* Fixed words and [case]; control characters become spaces, runs of
 * blanks one space. Without a case the tag and the blank after it go. */
static char *render_subject(struct rctx *x)
{
	GString *s = g_string_new(NULL), *out;
	bool skip_blank = false;

	for (guint i = 0; i < x->tp->subject->len; i++) {
		const struct tpl_node *n = g_ptr_array_index(x->tp->subject, i);
		const char *t = n->text;

		if (n->kind == TN_CASE_TAG) {
			if (x->case_text != NULL && x->case_text[0] != '\0')
				g_string_append_printf(s, "[%s]", x->case_text);
			else
				skip_blank = true;
			continue;
		}
		if (skip_blank)
			while (*t == ' ' || *t == '\t')
				t++;
		skip_blank = false;
		g_string_append(s, t);
	}
	out = g_string_new(NULL);
	{
		g_autofree char *valid = g_utf8_make_valid(s->str, -1);
		bool blank_run = true; /* drops leading blanks */

		for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
			gunichar ch = g_utf8_get_char(p);
			bool is_blank = ch == ' ' || ch == '\t' || ch < 0x20 || ch == 0x7f ||
					(ch >= 0x80 && ch < 0xa0) || ch == 0x2028 || ch == 0x2029;

			if (is_blank) {
				if (!blank_run)
					g_string_append_c(out, ' ');
				blank_run = true;
			} else {
				g_string_append_len(out, p, g_utf8_next_char(p) - p);
				blank_run = false;
			}
		}
	}
	while (out->len > 0 && out->str[out->len - 1] == ' ')
		g_string_truncate(out, out->len - 1);
	g_string_free(s, TRUE);
	return g_string_free(out, FALSE);
}

/* The checks every rendering makes before it reads any data. */
static int check_input(const struct template *tp, const struct render_input *in,
		       tdk_err *err)
{
	const struct outbox_item *it = in->item;
	unsigned bit = tpl_audience_bit(it->audience);

	if (bit == 0)
		return tdk_err_set(err, TDK_EINVAL, "notice %s: unknown audience '%s'",
				   it->notice, it->audience != NULL ? it->audience : "");
	if (!(tp->audiences & bit))
		return tdk_err_set(err, TDK_EPERM,
				   "refused: %s is not for the %s", tp->path, it->audience);
	if (!(bit & TA_PII_ALLOWED) && (tp->uses_pii || in->pii != NULL))
		return tdk_err_set(err, TDK_EPERM,
				   "refused: the discoverer's personal data may not go to the %s "
				   "(notice %s)", it->audience, it->notice);
	if (tp->scope == TEMPLATE_CASE || tp->scope == TEMPLATE_ATTACHMENT) {
		if (in->c == NULL)
			return tdk_err_set(err, TDK_EINVAL, "notice %s needs a case", it->notice);
	}
	if (in->c != NULL && it->party >= 0) {
		const struct case_party *p;

		if ((size_t)it->party >= in->c->n_parties)
			return tdk_err_set(err, TDK_EINVAL, "notice %s: no party %d in the case",
					   it->notice, it->party);
		p = &in->c->parties[it->party];
		if (tpl_audience_bit(case_role_name(p->role)) != bit)
			return tdk_err_set(err, TDK_EPERM,
					   "refused: notice %s is for the %s, but its party is "
					   "the %s", it->notice, it->audience,
					   case_role_name(p->role));
	}
	if (bit == TA_DISCOVERER && in->c != NULL && it->party < 0)
		return tdk_err_set(err, TDK_EINVAL, "notice %s: the discoverer is no party",
				   it->notice);
	return TDK_OK;
}

static int render(const struct template *tp, const struct render_input *in,
		  char **subject, char **body, tdk_err *err)
{
	struct rctx x = { .tp = tp, .in = in, .err = err };
	int rc = check_input(tp, in, err);

	if (rc != TDK_OK)
		return rc;
	x.lang = in->item->lang != NULL && strcmp(in->item->lang, "en") == 0 ? "en" : "ja";
	x.c = tp->scope == TEMPLATE_DESK ? NULL : in->c;
	if (x.c != NULL)
		x.case_text = g_strdup_printf("%s%0*" G_GUINT64_FORMAT, in->config->case_prefix,
					      (int)in->config->case_width, x.c->number);
	x.out = g_string_new(NULL);
	rc = render_nodes(&x, tp->body);
	if (rc == TDK_OK && (x.out->len == 0 || x.out->str[x.out->len - 1] != '\n'))
		g_string_append_c(x.out, '\n');
	if (rc == TDK_OK) {
		*subject = tp->subject != NULL ? render_subject(&x) : g_strdup(tp->filename);
		*body = g_string_free(x.out, FALSE);
	} else {
		g_string_free(x.out, TRUE);
	}
	g_free(x.case_text);
	g_free(x.report_text);
	return rc;
}

int template_render_with(const struct template *tp,
			 const struct render_input *in, char **subject,
			 char **body, tdk_err *err)
{
	return render(tp, in, subject, body, err);
}

static const struct template *find_for(const struct templates *t,
				       const struct render_input *in,
				       const char *notice, tdk_err *err)
{
	const struct outbox_item *it = in->item;
	const struct template *tp = templates_find(t, notice, it->audience, it->lang);

	if (tp == NULL)
		tdk_err_set(err, TDK_ENOENT, "no template for notice '%s' to the %s in '%s'",
			    notice, it->audience != NULL ? it->audience : "?",
			    it->lang != NULL ? it->lang : "?");
	return tp;
}

int template_render(const struct templates *t, const struct render_input *in,
		    char **subject, char **body, tdk_err *err)
{
	const struct template *tp = find_for(t, in, in->item->notice, err);

	return tp != NULL ? render(tp, in, subject, body, err) : TDK_ENOENT;
}

int template_render_attachment(const struct templates *t,
			       const struct render_input *in, size_t index,
			       char **filename, char **body, tdk_err *err)
{
	const struct template *tp = find_for(t, in, in->item->notice, err);
	const char *const *names;
	size_t n = 0;

	if (tp == NULL)
		return TDK_ENOENT;
	names = template_attachments(tp);
	while (names[n] != NULL)
		n++;
	if (index >= n)
		return tdk_err_set(err, TDK_ENOENT, "no attachment %zu", index);
	tp = find_for(t, in, names[index], err);
	return tp != NULL ? render(tp, in, filename, body, err) : TDK_ENOENT;
}
