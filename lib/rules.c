/*
 * rules.c - loading and validating rules/partnership.conf.
 *
 * Scalars go through the configuration engine (conf.h), so unknown keys
 * and wrong types get the same file:line messages as todoke.conf. Lists
 * (closures, reason codes, outcomes, the unreachable table, held notices,
 * ISO-2022-JP audiences), periods and times of day are read here; each
 * list element is a group whose keys are checked against the fields it may
 * hold, or a name checked against the names todoke knows. The helpers that
 * read a loaded policy (rules_unreachable_proposal, rules_hold_without_key,
 * rules_iso_2022_jp) and the pure rules_domain_related are at the end.
 */
#include "rules.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

/* The scalars of the file, as the engine loads them. */
struct rule_scalars {
	char *investigation, *fix, *completion, *long_running;
	bool auto_close;
	char *first_reply_after;
	bool first_reply_operator, first_reply_staff;
	bool investigation_operator, investigation_staff;
	bool fix_operator, fix_staff;
	long long attempts;
	char *interval;
	long long postal_attempt;
	char *auto_stage2;
	char *personal_data;
	char *nondisclosure_withdrawal;
	char *unreachable_otherwise;
	char *digest_time;
	long long recipient_daily_cap;
};

static const char *const auto_stage2_names[] = { "domain", "never", NULL };
/* By enum value - 1. */
static const char *const impact_names[] = { "priority", "normal", "simple",
					    NULL };
static const char *const proposal_names[] = { "staff", "committee", "end",
					      NULL };
/* The notices todoke sends, as notices.hold_without_key names them. */
static const char *const notice_names[] = {
	"stage1", "stage2", "forward", "reminder", "unreachable", "completion",
	"ended", "published", "priority-provided", "acknowledgement",
	"acceptance", "non-acceptance", NULL
};
/* The audiences of notices, as notices.iso_2022_jp names them. */
static const char *const audience_names[] = {
	"discoverer", "operator", "developer", "coordinator", "staff", NULL
};

#define S(field) offsetof(struct rule_scalars, field)
static const struct conf_spec rule_table[] = {
	{ "calendar.closures", CONF_CUSTOM, 0, NULL, 0, 0, NULL, false, NULL },
	{ "calendar.closure_dates", CONF_CUSTOM, 0, NULL, 0, 0, NULL, false, NULL },
	{ "calendar.holidays_add", CONF_CUSTOM, 0, NULL, 0, 0, NULL, false, NULL },
	{ "calendar.holidays_remove", CONF_CUSTOM, 0, NULL, 0, 0, NULL, false, NULL },
	{ "web.investigation", CONF_STRING, S(investigation), NULL, 0, 0, NULL, true, NULL },
	{ "web.fix", CONF_STRING, S(fix), NULL, 0, 0, NULL, true, NULL },
	{ "web.completion", CONF_STRING, S(completion), NULL, 0, 0, NULL, true, NULL },
	{ "web.long_running", CONF_STRING, S(long_running), NULL, 0, 0, NULL, true, NULL },
	{ "web.auto_close", CONF_BOOL, S(auto_close), "false", 0, 0, NULL, false, NULL },
	{ "reminders.first_reply.after", CONF_STRING, S(first_reply_after), NULL, 0, 0, NULL, true, NULL },
	{ "reminders.first_reply.operator", CONF_BOOL, S(first_reply_operator), "true", 0, 0, NULL, false, NULL },
	{ "reminders.first_reply.staff", CONF_BOOL, S(first_reply_staff), "false", 0, 0, NULL, false, NULL },
	{ "reminders.investigation.operator", CONF_BOOL, S(investigation_operator), "true", 0, 0, NULL, false, NULL },
	{ "reminders.investigation.staff", CONF_BOOL, S(investigation_staff), "true", 0, 0, NULL, false, NULL },
	{ "reminders.fix.operator", CONF_BOOL, S(fix_operator), "true", 0, 0, NULL, false, NULL },
	{ "reminders.fix.staff", CONF_BOOL, S(fix_staff), "true", 0, 0, NULL, false, NULL },
	{ "contact.attempts", CONF_INT, S(attempts), NULL, 1, 10, NULL, true, NULL },
	{ "contact.interval", CONF_STRING, S(interval), NULL, 0, 0, NULL, true, NULL },
	{ "contact.postal_attempt", CONF_INT, S(postal_attempt), "0", 0, 10, NULL, false, NULL },
	{ "contact.auto_stage2", CONF_ENUM, S(auto_stage2), NULL, 0, 0, auto_stage2_names, true, NULL },
	{ "retention.personal_data", CONF_STRING, S(personal_data), NULL, 0, 0, NULL, true, NULL },
	{ "unreachable.product", CONF_CUSTOM, 0, NULL, 0, 0, NULL, true, NULL },
	{ "unreachable.otherwise", CONF_ENUM, S(unreachable_otherwise), NULL, 0, 0, proposal_names, true, NULL },
	{ "product.nondisclosure_withdrawal", CONF_STRING, S(nondisclosure_withdrawal), NULL, 0, 0, NULL, true, NULL },
	{ "notices.hold_without_key", CONF_CUSTOM, 0, NULL, 0, 0, NULL, true, NULL },
	{ "notices.iso_2022_jp", CONF_CUSTOM, 0, NULL, 0, 0, NULL, false, NULL },
	{ "digest.time", CONF_STRING, S(digest_time), NULL, 0, 0, NULL, true, NULL },
	{ "limits.recipient_daily_cap", CONF_INT, S(recipient_daily_cap), NULL, 1, 10000, NULL, true, NULL },
	{ "reasons.not_accepted", CONF_CUSTOM, 0, NULL, 0, 0, NULL, true, NULL },
	{ "reasons.web_end", CONF_CUSTOM, 0, NULL, 0, 0, NULL, true, NULL },
	{ "reasons.product_end", CONF_CUSTOM, 0, NULL, 0, 0, NULL, true, NULL },
	{ "outcomes", CONF_CUSTOM, 0, NULL, 0, 0, NULL, true, NULL },
};
#undef S
#define N_RULE_SPECS (sizeof rule_table / sizeof rule_table[0])

/* Everything needed while loading one file. */
struct loader {
	const config_t *cfg;
	const char *file;
	struct rules *rules;
	tdk_err *err;
};

static void where_of(const struct loader *ld, const config_setting_t *s,
		     char *buf, size_t len)
{
	snprintf(buf, len, "%s:%d", ld->file, config_setting_source_line(s));
}

static int fail_at(const struct loader *ld, const config_setting_t *s,
		   int status, const char *what)
{
	char where[512];

	where_of(ld, s, where, sizeof where);
	return tdk_err_set(ld->err, status, "%s: %s", where, what);
}

static char *dup_or_empty(const char *text)
{
	return strdup(text != NULL ? text : "");
}

static int parse_period_at(const struct loader *ld, const char *path,
			   const char *text, struct cal_period *out)
{
	const config_setting_t *s = config_lookup(ld->cfg, path);
	char where[512];
	tdk_err perr;

	if (cal_period_parse(text, out, &perr) == TDK_OK)
		return TDK_OK;
	if (s != NULL)
		where_of(ld, s, where, sizeof where);
	else
		snprintf(where, sizeof where, "%s", ld->file);
	return tdk_err_set(ld->err, TDK_ESYNTAX, "%s: setting '%s': %s", where,
			   path, perr.text);
}

/* A local time "HH:MM" (00:00 to 23:59) as minutes after midnight. */
static int parse_time_at(const struct loader *ld, const char *path,
			 const char *text, int *minute_of_day)
{
	const config_setting_t *s = config_lookup(ld->cfg, path);
	bool digits = strlen(text) == 5 && text[2] == ':';
	char msg[200];
	int hour, minute;

	for (int i = 0; digits && i < 5; i++)
		digits = i == 2 || (text[i] >= '0' && text[i] <= '9');
	if (!digits) {
		snprintf(msg, sizeof msg,
			 "setting '%s' is \"%s\", must be a local time HH:MM",
			 path, text);
		return fail_at(ld, s, TDK_ESYNTAX, msg);
	}
	hour = (text[0] - '0') * 10 + (text[1] - '0');
	minute = (text[3] - '0') * 10 + (text[4] - '0');
	if (hour > 23 || minute > 59) {
		snprintf(msg, sizeof msg,
			 "setting '%s' is \"%s\", must be between 00:00 and 23:59",
			 path, text);
		return fail_at(ld, s, TDK_ERANGE, msg);
	}
	*minute_of_day = hour * 60 + minute;
	return TDK_OK;
}

/*
 * Checks that every member of a list element group is one of the allowed
 * names, and that the required ones are there.
 */
static int check_members(const struct loader *ld, const config_setting_t *elem,
			 const char *list_path, const char *const *allowed,
			 const char *const *required)
{
	char msg[300];

	if (config_setting_type(elem) != CONFIG_TYPE_GROUP) {
		snprintf(msg, sizeof msg, "each item of '%s' must be a group { ... }",
			 list_path);
		return fail_at(ld, elem, TDK_EINVAL, msg);
	}
	for (int i = 0; i < config_setting_length(elem); i++) {
		const config_setting_t *m = config_setting_get_elem(elem, (unsigned)i);
		const char *name = config_setting_name(m);
		bool known = false;

		for (const char *const *a = allowed; *a != NULL && !known; a++)
			known = strcmp(*a, name) == 0;
		if (!known) {
			snprintf(msg, sizeof msg, "unknown setting '%s' in an item of '%s'",
				 name, list_path);
			return fail_at(ld, m, TDK_ENOENT, msg);
		}
	}
	for (const char *const *r = required; *r != NULL; r++) {
		if (config_setting_get_member(elem, *r) == NULL) {
			snprintf(msg, sizeof msg, "item of '%s' lacks '%s'",
				 list_path, *r);
			return fail_at(ld, elem, TDK_ENOENT, msg);
		}
	}
	return TDK_OK;
}

/* A member that must be a string; *out points into the libconfig tree. */
static int member_string(const struct loader *ld, const config_setting_t *elem,
			 const char *name, const char **out)
{
	const config_setting_t *m = config_setting_get_member(elem, name);
	char msg[200];

	*out = NULL;
	if (m == NULL)
		return TDK_OK;
	if (config_setting_type(m) != CONFIG_TYPE_STRING) {
		snprintf(msg, sizeof msg, "'%s' must be a string", name);
		return fail_at(ld, m, TDK_EINVAL, msg);
	}
	*out = config_setting_get_string(m);
	return TDK_OK;
}

static int member_date(const struct loader *ld, const config_setting_t *s,
		       const char *text, civil_day *out)
{
	char msg[200];
	int rc = civil_parse(text, out);

	if (rc == TDK_OK && (*out < civil_from_ymd(CAL_FIRST_YEAR, 1, 1) ||
			     *out > civil_from_ymd(CAL_LAST_YEAR, 12, 31)))
		rc = TDK_ERANGE;
	if (rc == TDK_OK)
		return TDK_OK;
	snprintf(msg, sizeof msg, "date \"%s\" must be YYYY-MM-DD within %d-%d",
		 text, CAL_FIRST_YEAR, CAL_LAST_YEAR);
	return fail_at(ld, s, rc, msg);
}

static int parse_month_day(const struct loader *ld, const config_setting_t *s,
			   const char *text, int *month, int *day)
{
	char msg[200];
	char tail;

	if (sscanf(text, "%2d-%2d%c", month, day, &tail) == 2 &&
	    strlen(text) == 5 && civil_valid_ymd(2000, *month, *day))
		return TDK_OK;
	snprintf(msg, sizeof msg, "\"%s\" must be a month and day, MM-DD", text);
	return fail_at(ld, s, TDK_ESYNTAX, msg);
}

/* A list setting (( ... ) or [ ... ]) or NULL if absent. */
static int get_list(const struct loader *ld, const char *path,
		    const config_setting_t **out)
{
	const config_setting_t *s = config_lookup(ld->cfg, path);
	char msg[200];

	*out = s;
	if (s == NULL)
		return TDK_OK;
	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		snprintf(msg, sizeof msg, "setting '%s' must be a list ( ... )", path);
		return fail_at(ld, s, TDK_EINVAL, msg);
	}
	return TDK_OK;
}

/*
 * Loads the list at path into a new array of item_size elements (one more,
 * zeroed, at the end), calling load_item for each element. load_item sets
 * an item only once the element is valid, so that on failure the first
 * *count items are complete and the rest zero. An absent list is empty;
 * nonempty refuses an empty one.
 */
typedef int (*item_loader)(const struct loader *ld, const char *path,
			   const config_setting_t *elem, void *items,
			   size_t index);

static int load_list(const struct loader *ld, const char *path, bool nonempty,
		     size_t item_size, item_loader load_item, void **items,
		     size_t *count)
{
	const config_setting_t *list;
	char msg[200];
	int n, rc = get_list(ld, path, &list);

	*items = NULL;
	*count = 0;
	if (rc != TDK_OK)
		return rc;
	n = list != NULL ? config_setting_length(list) : 0;
	if (n == 0 && nonempty && list != NULL) {
		snprintf(msg, sizeof msg, "'%s' may not be empty", path);
		return fail_at(ld, list, TDK_EINVAL, msg);
	}
	*items = calloc((size_t)n + 1, item_size);
	if (*items == NULL)
		return tdk_err_set(ld->err, TDK_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		rc = load_item(ld, path, config_setting_get_elem(list, (unsigned)i),
			       *items, (size_t)i);
		if (rc != TDK_OK)
			return rc;
		*count = (size_t)i + 1;
	}
	return TDK_OK;
}

static int load_named_day(const struct loader *ld, const char *path,
			  const config_setting_t *e, void *items, size_t index)
{
	static const char *const allowed[] = { "date", "name_ja", "name_en", NULL };
	static const char *const required[] = { "date", NULL };
	struct cal_named_day *day = (struct cal_named_day *)items + index;
	const char *date, *ja, *en;
	int rc = check_members(ld, e, path, allowed, required);

	if (rc == TDK_OK)
		rc = member_string(ld, e, "date", &date);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "name_ja", &ja);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "name_en", &en);
	if (rc == TDK_OK)
		rc = member_date(ld, config_setting_get_member(e, "date"), date,
				 &day->day);
	if (rc != TDK_OK)
		return rc;
	day->name_ja = ja != NULL ? strdup(ja) : NULL;
	day->name_en = en != NULL ? strdup(en) : NULL;
	return TDK_OK;
}

static int load_closure_span(const struct loader *ld, const char *path,
			     const config_setting_t *e, void *items, size_t index)
{
	static const char *const allowed[] = { "from", "to", "name_ja", "name_en",
					       NULL };
	static const char *const required[] = { "from", "to", NULL };
	struct cal_span *span = (struct cal_span *)items + index;
	const char *from, *to, *ja, *en;
	int rc = check_members(ld, e, path, allowed, required);

	if (rc == TDK_OK)
		rc = member_string(ld, e, "from", &from);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "to", &to);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "name_ja", &ja);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "name_en", &en);
	if (rc == TDK_OK)
		rc = parse_month_day(ld, config_setting_get_member(e, "from"), from,
				     &span->from_month, &span->from_day);
	if (rc == TDK_OK)
		rc = parse_month_day(ld, config_setting_get_member(e, "to"), to,
				     &span->to_month, &span->to_day);
	if (rc != TDK_OK)
		return rc;
	span->name_ja = ja != NULL ? strdup(ja) : NULL;
	span->name_en = en != NULL ? strdup(en) : NULL;
	return TDK_OK;
}

static int load_removed_holiday(const struct loader *ld, const char *path,
				const config_setting_t *e, void *items,
				size_t index)
{
	if (config_setting_type(e) != CONFIG_TYPE_STRING)
		return fail_at(ld, e, TDK_EINVAL,
			       "'calendar.holidays_remove' holds dates as \"YYYY-MM-DD\"");
	return member_date(ld, e, config_setting_get_string(e),
			   (civil_day *)items + index);
}

static int load_reason(const struct loader *ld, const char *path,
		       const config_setting_t *e, void *items, size_t index)
{
	static const char *const allowed[] = { "code", "mark", "label_ja",
					       "label_en", NULL };
	static const char *const required[] = { "code", "label_ja", "label_en",
						NULL };
	struct rule_reason *r = (struct rule_reason *)items + index;
	struct rule_reason_list earlier = { items, index };
	const char *code, *mark, *ja, *en;
	char msg[200];
	int rc = check_members(ld, e, path, allowed, required);

	if (rc == TDK_OK)
		rc = member_string(ld, e, "code", &code);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "mark", &mark);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "label_ja", &ja);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "label_en", &en);
	if (rc != TDK_OK)
		return rc;
	if (*code == '\0' || strcspn(code, " \t\"") != strlen(code)) {
		snprintf(msg, sizeof msg, "reason code \"%s\" must be one word", code);
		return fail_at(ld, e, TDK_EINVAL, msg);
	}
	if (rules_find_reason(&earlier, code) != NULL) {
		snprintf(msg, sizeof msg, "reason code \"%s\" appears twice in '%s'",
			 code, path);
		return fail_at(ld, e, TDK_EEXIST, msg);
	}
	r->code = strdup(code);
	r->mark = dup_or_empty(mark);
	r->label_ja = strdup(ja);
	r->label_en = strdup(en);
	if (!r->code || !r->mark || !r->label_ja || !r->label_en)
		return tdk_err_set(ld->err, TDK_ENOMEM, "out of memory");
	return TDK_OK;
}

static int load_reasons(const struct loader *ld, const char *path,
			struct rule_reason_list *out)
{
	void *items;
	int rc = load_list(ld, path, true, sizeof(struct rule_reason), load_reason,
			   &items, &out->count);

	out->items = items;
	return rc;
}

static int outcome_kinds(const struct loader *ld, const config_setting_t *e,
			 unsigned *kinds)
{
	const config_setting_t *k = config_setting_get_member(e, "kinds");

	*kinds = 0;
	if (config_setting_type(k) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(k) != CONFIG_TYPE_LIST)
		return fail_at(ld, k, TDK_EINVAL, "'kinds' must be a list like [ \"web\" ]");
	for (int i = 0; i < config_setting_length(k); i++) {
		const char *kind = config_setting_get_string_elem(k, i);

		if (kind != NULL && strcmp(kind, "web") == 0)
			*kinds |= RULE_KIND_WEB;
		else if (kind != NULL && strcmp(kind, "product") == 0)
			*kinds |= RULE_KIND_PRODUCT;
		else
			return fail_at(ld, k, TDK_EINVAL,
				       "'kinds' may hold only \"web\" and \"product\"");
	}
	if (*kinds == 0)
		return fail_at(ld, k, TDK_EINVAL, "'kinds' may not be empty");
	return TDK_OK;
}

static int load_outcome(const struct loader *ld, const char *path,
			const config_setting_t *e, void *items, size_t index)
{
	static const char *const allowed[] = { "code", "kinds", "reason",
					       "label_ja", "label_en", NULL };
	static const char *const required[] = { "code", "kinds", "label_ja",
						"label_en", NULL };
	struct rule_outcome *o = (struct rule_outcome *)items + index;
	struct rules earlier = { .outcomes = items, .n_outcomes = index };
	const config_setting_t *reason;
	const char *code, *ja, *en;
	unsigned kinds;
	char msg[200];
	int rc = check_members(ld, e, path, allowed, required);

	if (rc == TDK_OK)
		rc = member_string(ld, e, "code", &code);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "label_ja", &ja);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "label_en", &en);
	if (rc == TDK_OK)
		rc = outcome_kinds(ld, e, &kinds);
	if (rc != TDK_OK)
		return rc;
	reason = config_setting_get_member(e, "reason");
	if (reason != NULL && config_setting_type(reason) != CONFIG_TYPE_BOOL)
		return fail_at(ld, reason, TDK_EINVAL, "'reason' must be true or false");
	if (rules_find_outcome(&earlier, code) != NULL) {
		snprintf(msg, sizeof msg, "outcome \"%s\" appears twice", code);
		return fail_at(ld, e, TDK_EEXIST, msg);
	}
	o->kinds = kinds;
	o->needs_reason = reason != NULL && config_setting_get_bool(reason);
	o->code = strdup(code);
	o->label_ja = strdup(ja);
	o->label_en = strdup(en);
	if (!o->code || !o->label_ja || !o->label_en)
		return tdk_err_set(ld->err, TDK_ENOMEM, "out of memory");
	return TDK_OK;
}

static enum rule_proposal proposal_from_name(const char *name)
{
	for (int i = 0; proposal_names[i] != NULL; i++)
		if (strcmp(proposal_names[i], name) == 0)
			return (enum rule_proposal)(i + 1);
	return 0;
}

/* One row of unreachable.product, as read. */
struct unreachable_row {
	enum rule_impact impact;
	bool verifiable;
	enum rule_proposal propose;
};

static void describe_cell(char *buf, size_t len, enum rule_impact impact,
			  bool verifiable)
{
	snprintf(buf, len, "impact = \"%s\"; verifiable = %s",
		 rules_impact_name(impact), verifiable ? "true" : "false");
}

static int load_unreachable_row(const struct loader *ld, const char *path,
				const config_setting_t *e, void *items,
				size_t index)
{
	static const char *const allowed[] = { "impact", "verifiable", "propose",
					       NULL };
	struct unreachable_row *row = (struct unreachable_row *)items + index;
	const config_setting_t *verifiable;
	const char *impact, *propose;
	enum rule_impact i;
	enum rule_proposal p;
	char msg[300], cell[100];
	int rc = check_members(ld, e, path, allowed, allowed);

	if (rc == TDK_OK)
		rc = member_string(ld, e, "impact", &impact);
	if (rc == TDK_OK)
		rc = member_string(ld, e, "propose", &propose);
	if (rc != TDK_OK)
		return rc;
	i = rules_impact_from_name(impact);
	if (i == 0) {
		snprintf(msg, sizeof msg,
			 "'impact' is \"%s\", must be one of: priority, normal, simple",
			 impact);
		return fail_at(ld, config_setting_get_member(e, "impact"),
			       TDK_EINVAL, msg);
	}
	verifiable = config_setting_get_member(e, "verifiable");
	if (config_setting_type(verifiable) != CONFIG_TYPE_BOOL)
		return fail_at(ld, verifiable, TDK_EINVAL,
			       "'verifiable' must be true or false");
	p = proposal_from_name(propose);
	if (p != RULE_PROPOSE_COMMITTEE && p != RULE_PROPOSE_END) {
		snprintf(msg, sizeof msg,
			 "'propose' is \"%s\", must be one of: committee, end",
			 propose);
		return fail_at(ld, config_setting_get_member(e, "propose"),
			       TDK_EINVAL, msg);
	}
	for (size_t k = 0; k < index; k++) {
		const struct unreachable_row *earlier =
			(const struct unreachable_row *)items + k;

		if (earlier->impact == i &&
		    earlier->verifiable == (config_setting_get_bool(verifiable) != 0)) {
			describe_cell(cell, sizeof cell, i, earlier->verifiable);
			snprintf(msg, sizeof msg, "%s appears twice in '%s'", cell,
				 path);
			return fail_at(ld, e, TDK_EEXIST, msg);
		}
	}
	row->impact = i;
	row->verifiable = config_setting_get_bool(verifiable) != 0;
	row->propose = p;
	return TDK_OK;
}

/* The product table: every impact and verifiability exactly once. */
static int load_unreachable(const struct loader *ld)
{
	static const char path[] = "unreachable.product";
	struct unreachable_row *rows;
	char msg[300], cell[100];
	void *items;
	size_t n;
	int rc = load_list(ld, path, true, sizeof(struct unreachable_row),
			   load_unreachable_row, &items, &n);

	rows = items;
	for (size_t k = 0; rc == TDK_OK && k < n; k++)
		ld->rules->unreachable_product[rows[k].impact - 1][rows[k].verifiable] =
			rows[k].propose;
	for (int i = 0; rc == TDK_OK && i < 3; i++) {
		for (int v = 1; rc == TDK_OK && v >= 0; v--) {
			if (ld->rules->unreachable_product[i][v] != 0)
				continue;
			describe_cell(cell, sizeof cell, (enum rule_impact)(i + 1),
				      v == 1);
			snprintf(msg, sizeof msg, "'%s' lacks the row %s", path, cell);
			rc = fail_at(ld, config_lookup(ld->cfg, path), TDK_ENOENT, msg);
		}
	}
	free(items);
	return rc;
}

static bool name_in(const char *const *names, const char *name)
{
	for (; *names != NULL; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

/* An item of a list of names: notices.hold_without_key names notices,
 * notices.iso_2022_jp audiences. */
static int load_listed_name(const struct loader *ld, const char *path,
			    const config_setting_t *e, void *items, size_t index)
{
	bool audiences = strcmp(path, "notices.iso_2022_jp") == 0;
	const char *const *names = audiences ? audience_names : notice_names;
	const char *what = audiences ? "audience" : "notice";
	char **held = items;
	const char *name = config_setting_get_string(e);
	char msg[400];

	if (config_setting_type(e) != CONFIG_TYPE_STRING) {
		snprintf(msg, sizeof msg, "'%s' holds %s names as strings", path, what);
		return fail_at(ld, e, TDK_EINVAL, msg);
	}
	if (!name_in(names, name)) {
		size_t used = (size_t)snprintf(msg, sizeof msg,
					       "unknown %s \"%s\" in '%s', must be one of: ",
					       what, name, path);

		for (size_t i = 0; names[i] != NULL && used < sizeof msg; i++)
			used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s",
						 i == 0 ? "" : ", ", names[i]);
		return fail_at(ld, e, TDK_EINVAL, msg);
	}
	for (size_t k = 0; k < index; k++) {
		if (strcmp(held[k], name) == 0) {
			snprintf(msg, sizeof msg, "%s \"%s\" appears twice in '%s'",
				 what, name, path);
			return fail_at(ld, e, TDK_EEXIST, msg);
		}
	}
	held[index] = strdup(name);
	if (held[index] == NULL)
		return tdk_err_set(ld->err, TDK_ENOMEM, "out of memory");
	return TDK_OK;
}

static int load_scalars(const struct loader *ld, const struct rule_scalars *s)
{
	struct rules *r = ld->rules;
	int rc = TDK_OK;

	r->web.auto_close = s->auto_close;
	r->reminders.first_reply.operator = s->first_reply_operator;
	r->reminders.first_reply.staff = s->first_reply_staff;
	r->reminders.investigation.operator = s->investigation_operator;
	r->reminders.investigation.staff = s->investigation_staff;
	r->reminders.fix.operator = s->fix_operator;
	r->reminders.fix.staff = s->fix_staff;
	r->contact.attempts = (int)s->attempts;
	r->contact.postal_attempt = (int)s->postal_attempt;
	r->contact.auto_stage2 = strcmp(s->auto_stage2, "domain") == 0
					 ? RULE_AUTO_STAGE2_DOMAIN
					 : RULE_AUTO_STAGE2_NEVER;
	r->limits.recipient_daily_cap = (int)s->recipient_daily_cap;
	r->unreachable_otherwise = proposal_from_name(s->unreachable_otherwise);
	if (r->contact.postal_attempt > r->contact.attempts) {
		char msg[200];

		snprintf(msg, sizeof msg,
			 "setting 'contact.postal_attempt' is %d, but there are only %d attempts",
			 r->contact.postal_attempt, r->contact.attempts);
		return fail_at(ld, config_lookup(ld->cfg, "contact.postal_attempt"),
			       TDK_ERANGE, msg);
	}
	struct {
		const char *path;
		const char *text;
		struct cal_period *out;
	} periods[] = {
		{ "web.investigation", s->investigation, &r->web.investigation },
		{ "web.fix", s->fix, &r->web.fix },
		{ "web.completion", s->completion, &r->web.completion },
		{ "web.long_running", s->long_running, &r->web.long_running },
		{ "reminders.first_reply.after", s->first_reply_after,
		  &r->reminders.first_reply.after },
		{ "contact.interval", s->interval, &r->contact.interval },
		{ "retention.personal_data", s->personal_data,
		  &r->retention.personal_data },
		{ "product.nondisclosure_withdrawal", s->nondisclosure_withdrawal,
		  &r->product.nondisclosure_withdrawal },
	};
	for (size_t i = 0; rc == TDK_OK && i < sizeof periods / sizeof periods[0]; i++)
		rc = parse_period_at(ld, periods[i].path, periods[i].text,
				     periods[i].out);
	if (rc == TDK_OK)
		rc = parse_time_at(ld, "digest.time", s->digest_time,
				   &r->digest.minute_of_day);
	return rc;
}

int rules_load(const char *file, const struct rules **out, tdk_err *err)
{
	struct rule_scalars scalars = { 0 };
	void *items = NULL;
	struct rules *rules;
	struct loader ld;
	config_t cfg;
	int rc;

	rules = calloc(1, sizeof *rules);
	if (rules == NULL)
		return tdk_err_set(err, TDK_ENOMEM, "out of memory");
	config_init(&cfg);
	ld = (struct loader){ .cfg = &cfg, .file = file, .rules = rules, .err = err };
	rc = conf_read_file(&cfg, file, err);
	if (rc == TDK_OK)
		rc = conf_engine_load(rule_table, N_RULE_SPECS, &scalars, &cfg, file,
				      NULL, 0, err);
	if (rc == TDK_OK)
		rc = load_scalars(&ld, &scalars);
	if (rc == TDK_OK) {
		rc = load_list(&ld, "calendar.closures", false, sizeof(struct cal_span),
			       load_closure_span, &items, &rules->calendar.n_closure_spans);
		rules->calendar.closure_spans = items;
	}
	if (rc == TDK_OK) {
		rc = load_list(&ld, "calendar.closure_dates", false,
			       sizeof(struct cal_named_day), load_named_day, &items,
			       &rules->calendar.n_closure_days);
		rules->calendar.closure_days = items;
	}
	if (rc == TDK_OK) {
		rc = load_list(&ld, "calendar.holidays_add", false,
			       sizeof(struct cal_named_day), load_named_day, &items,
			       &rules->calendar.n_holiday_add);
		rules->calendar.holiday_add = items;
	}
	if (rc == TDK_OK) {
		rc = load_list(&ld, "calendar.holidays_remove", false, sizeof(civil_day),
			       load_removed_holiday, &items,
			       &rules->calendar.n_holiday_remove);
		rules->calendar.holiday_remove = items;
	}
	if (rc == TDK_OK)
		rc = load_unreachable(&ld);
	if (rc == TDK_OK) {
		size_t n;

		rc = load_list(&ld, "notices.hold_without_key", false, sizeof(char *),
			       load_listed_name, &items, &n);
		rules->notices.hold_without_key = items;
	}
	if (rc == TDK_OK) {
		size_t n;

		rc = load_list(&ld, "notices.iso_2022_jp", false, sizeof(char *),
			       load_listed_name, &items, &n);
		rules->notices.iso_2022_jp = items;
	}
	if (rc == TDK_OK)
		rc = load_reasons(&ld, "reasons.not_accepted", &rules->not_accepted);
	if (rc == TDK_OK)
		rc = load_reasons(&ld, "reasons.web_end", &rules->web_end);
	if (rc == TDK_OK)
		rc = load_reasons(&ld, "reasons.product_end", &rules->product_end);
	if (rc == TDK_OK) {
		rc = load_list(&ld, "outcomes", true, sizeof(struct rule_outcome),
			       load_outcome, &items, &rules->n_outcomes);
		rules->outcomes = items;
	}
	if (rc == TDK_OK) {
		rules->source = strdup(file);
		if (rules->source == NULL)
			rc = tdk_err_set(err, TDK_ENOMEM, "out of memory");
	}
	conf_engine_release(rule_table, N_RULE_SPECS, &scalars);
	config_destroy(&cfg);
	if (rc != TDK_OK) {
		rules_free(rules);
		return rc;
	}
	*out = rules;
	return TDK_OK;
}

int rules_load_dir(const char *dir, const struct rules **out, tdk_err *err)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, RULES_FILE_NAME) >=
	    sizeof path)
		return tdk_err_set(err, TDK_EINVAL, "%s: path too long", dir);
	return rules_load(path, out, err);
}

int rules_build_calendar(const struct rules *rules, const char *timezone,
			 struct cal **out, tdk_err *err)
{
	struct cal_config config = rules->calendar;

	config.timezone = timezone;
	return cal_new(&config, out, err);
}

static void free_reasons(struct rule_reason_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].code);
		free(list->items[i].mark);
		free(list->items[i].label_ja);
		free(list->items[i].label_en);
	}
	free(list->items);
}

static void free_named_days(const struct cal_named_day *days, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)days[i].name_ja);
		free((char *)days[i].name_en);
	}
	free((void *)days);
}

void rules_free(const struct rules *rules)
{
	struct rules *r = (struct rules *)rules;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->calendar.n_closure_spans; i++) {
		free((char *)r->calendar.closure_spans[i].name_ja);
		free((char *)r->calendar.closure_spans[i].name_en);
	}
	free((void *)r->calendar.closure_spans);
	free_named_days(r->calendar.closure_days, r->calendar.n_closure_days);
	free_named_days(r->calendar.holiday_add, r->calendar.n_holiday_add);
	free((void *)r->calendar.holiday_remove);
	free_reasons(&r->not_accepted);
	free_reasons(&r->web_end);
	free_reasons(&r->product_end);
	for (size_t i = 0; i < r->n_outcomes; i++) {
		free(r->outcomes[i].code);
		free(r->outcomes[i].label_ja);
		free(r->outcomes[i].label_en);
	}
	free(r->outcomes);
	for (char **n = r->notices.hold_without_key; n != NULL && *n != NULL; n++)
		free(*n);
	free(r->notices.hold_without_key);
	for (char **n = r->notices.iso_2022_jp; n != NULL && *n != NULL; n++)
		free(*n);
	free(r->notices.iso_2022_jp);
	free(r->source);
	free(r);
}

const struct rule_reason *rules_find_reason(const struct rule_reason_list *list,
					    const char *code)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].code != NULL &&
		    strcmp(list->items[i].code, code) == 0)
			return &list->items[i];
	return NULL;
}

const struct rule_outcome *rules_find_outcome(const struct rules *rules,
					      const char *code)
{
	for (size_t i = 0; i < rules->n_outcomes; i++)
		if (rules->outcomes[i].code != NULL &&
		    strcmp(rules->outcomes[i].code, code) == 0)
			return &rules->outcomes[i];
	return NULL;
}

/* The length of name without one trailing dot; 0 for a malformed name. */
static size_t host_length(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || name[0] == '.')
		return 0;
	for (size_t i = 1; i < len; i++)
		if (name[i] == '.' && name[i - 1] == '.')
			return 0;
	return len;
}

static bool ascii_equal_n(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/*
 * Splits the name (len bytes, well formed) at its last two dots: the
 * number of labels, and where the last and second-to-last labels start.
 */
static int host_labels(const char *name, size_t len, size_t *last,
		       size_t *second)
{
	int labels = 1;

	*last = *second = 0;
	for (size_t i = len; i-- > 0;) {
		if (name[i] != '.')
			continue;
		if (labels == 1)
			*last = i + 1;
		else if (labels == 2)
			*second = i + 1;
		labels++;
	}
	return labels;
}

/* Whether the (shorter) name may stand for an organisation's domain. */
static bool host_registrable(const char *name, size_t len)
{
	static const char *const second_levels[] = {
		"co", "ne", "or", "ac", "go", "ed", "gr", "lg", "ad",
		"com", "net", "org", "gov", "edu", NULL
	};
	size_t last, second, second_len;
	int labels = host_labels(name, len, &last, &second);
	bool cc = len - last == 2;

	if (labels < 2)
		return false;
	for (size_t i = 0; cc && i < 2; i++) {
		unsigned char c = (unsigned char)name[last + i];

		cc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	}
	if (!cc || labels >= 3)
		return true;
	second_len = last - 1 - second;
	for (const char *const *s = second_levels; *s != NULL; s++)
		if (strlen(*s) == second_len &&
		    ascii_equal_n(name + second, *s, second_len))
			return false;
	return true;
}

static bool host_numeric(const char *name, size_t len)
{
	size_t last, second;

	host_labels(name, len, &last, &second);
	for (size_t i = last; i < len; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	return true;
}

bool rules_domain_related(const char *a, const char *b)
{
	size_t la = host_length(a), lb = host_length(b);
	const char *longer = a, *shorter = b;
	size_t ll = la, ls = lb;

	if (la == 0 || lb == 0)
		return false;
	if (lb > la) {
		longer = b;
		shorter = a;
		ll = lb;
		ls = la;
	}
	if (host_numeric(shorter, ls) || host_numeric(longer, ll))
		return ll == ls && ascii_equal_n(longer, shorter, ls);
	if (!host_registrable(shorter, ls))
		return false;
	if (ll == ls)
		return ascii_equal_n(longer, shorter, ls);
	return longer[ll - ls - 1] == '.' &&
	       ascii_equal_n(longer + (ll - ls), shorter, ls);
}

enum rule_proposal rules_unreachable_proposal(const struct rules *rules,
					      int impact, int verifiable,
					      bool product)
{
	if (product && impact >= RULE_IMPACT_PRIORITY &&
	    impact <= RULE_IMPACT_SIMPLE && (verifiable == 0 || verifiable == 1))
		return rules->unreachable_product[impact - 1][verifiable];
	return rules->unreachable_otherwise;
}

const char *rules_impact_name(enum rule_impact impact)
{
	if (impact < RULE_IMPACT_PRIORITY || impact > RULE_IMPACT_SIMPLE)
		return NULL;
	return impact_names[impact - 1];
}

enum rule_impact rules_impact_from_name(const char *name)
{
	for (int i = 0; name != NULL && impact_names[i] != NULL; i++)
		if (strcmp(impact_names[i], name) == 0)
			return (enum rule_impact)(i + 1);
	return 0;
}

const char *rules_proposal_name(enum rule_proposal proposal)
{
	if (proposal < RULE_PROPOSE_STAFF || proposal > RULE_PROPOSE_END)
		return NULL;
	return proposal_names[proposal - 1];
}

bool rules_iso_2022_jp(const struct rules *rules, const char *audience)
{
	for (char **n = rules->notices.iso_2022_jp; n != NULL && *n != NULL; n++)
		if (audience != NULL && strcmp(*n, audience) == 0)
			return true;
	return false;
}

bool rules_hold_without_key(const struct rules *rules, const char *notice)
{
	for (char **n = rules->notices.hold_without_key; n != NULL && *n != NULL;
	     n++)
		if (notice != NULL && strcmp(*n, notice) == 0)
			return true;
	return false;
}
