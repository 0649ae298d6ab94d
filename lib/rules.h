/*
 * rules.h - the desk's policy, loaded from rules/partnership.conf.
 *
 * Owns: reading and validating the rules file (calendar closures and
 * holiday overrides, the web-case clocks, reminders, the contact policy,
 * the proposals for unreachable parties, retention, the product
 * non-disclosure period, the staff digest time, the per-recipient cap,
 * the notices held without a key, reason codes and outcome categories)
 * into an immutable struct rules. Every mistake is refused with
 * "file:line: message". The calendar member is ready for cal_new().
 *
 * Also the pure helpers that read the policy: rules_domain_related()
 * (when a contact reply may release stage 2 by itself) and
 * rules_unreachable_proposal(), with the names of impacts and proposals.
 *
 * rules_free() releases everything (NULL is fine).
 */
#ifndef TODOKE_RULES_H
#define TODOKE_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "calendar.h"
#include "status.h"

#define RULES_FILE_NAME "partnership.conf"

struct rule_reason {
	char *code;     /* what staff type: "a", "illegal" */
	char *mark;     /* the guideline's numbering: "(ア)", or "" */
	char *label_ja;
	char *label_en;
};

struct rule_reason_list {
	struct rule_reason *items;
	size_t count;
};

enum rule_case_kind { RULE_KIND_WEB = 1 << 0, RULE_KIND_PRODUCT = 1 << 1 };

struct rule_outcome {
	char *code;
	unsigned kinds;     /* RULE_KIND_* bits */
	bool needs_reason;  /* close must name a reason of the kind's list */
	char *label_ja;
	char *label_en;
};

struct rule_reminder {
	struct cal_period after; /* count 0 where the deadline is the anchor */
	bool operator;
	bool staff;
};

/* When stage 2 (the details) follows a contact reply without staff. */
enum rule_auto_stage2 {
	RULE_AUTO_STAGE2_NEVER = 0, /* always wait for staff */
	RULE_AUTO_STAGE2_DOMAIN,    /* the sender's domain is the site's or the
				     * stage-1 recipient's (rules_domain_related) */
};

/* 影響度 of a product case, set by staff; 0 where not yet set. */
enum rule_impact {
	RULE_IMPACT_PRIORITY = 1, /* 優先対応 */
	RULE_IMPACT_NORMAL,       /* 通常対応 */
	RULE_IMPACT_SIMPLE,       /* 簡易対応 */
};

/* The next step proposed to staff when a developer is unreachable. */
enum rule_proposal {
	RULE_PROPOSE_STAFF = 1, /* no proposal: staff decide */
	RULE_PROPOSE_COMMITTEE, /* to the publication committee (公表判定委員会) */
	RULE_PROPOSE_END,       /* end the handling and delist */
};

struct rules {
	char *source;
	struct cal_config calendar; /* timezone left NULL: it is config */
	struct {
		struct cal_period investigation, fix, completion, long_running;
		bool auto_close;
	} web;
	struct {
		struct rule_reminder first_reply, investigation, fix;
	} reminders;
	struct {
		int attempts;
		struct cal_period interval;
		int postal_attempt; /* 0 = never by post */
		enum rule_auto_stage2 auto_stage2;
	} contact;
	struct {
		struct cal_period personal_data;
	} retention;
	struct {
		/* from the 起算日 (overview notice to the developer) until the
		 * discoverer may ask to withdraw the non-disclosure request */
		struct cal_period nondisclosure_withdrawal;
	} product;
	/* unreachable developer (DOMAIN §2.6): product cases by
	 * [impact - 1][verifiable ? 1 : 0]; web cases and unset ones */
	enum rule_proposal unreachable_product[3][2];
	enum rule_proposal unreachable_otherwise;
	struct {
		int minute_of_day; /* local time of the staff digest, 0..1439 */
	} digest;
	struct {
		int recipient_daily_cap; /* outbound notices per recipient a day */
	} limits;
	struct {
		/* notices (stage1, stage2, forward, reminder, unreachable,
		 * completion, ended, published, priority-provided,
		 * acknowledgement, acceptance, non-acceptance) held for staff
		 * when the recipient has no OpenPGP key; NULL-terminated */
		char **hold_without_key;
		/* audiences (discoverer, operator, developer, coordinator,
		 * staff) whose Japanese notices are ISO-2022-JP, for old
		 * mail clients; NULL-terminated */
		char **iso_2022_jp;
	} notices;
	struct rule_reason_list not_accepted, web_end, product_end;
	struct rule_outcome *outcomes;
	size_t n_outcomes;
};

/* Loads file (a path to a rules file). */
int rules_load(const char *file, const struct rules **out, tdk_err *err);
/* Loads RULES_FILE_NAME from the directory dir. */
int rules_load_dir(const char *dir, const struct rules **out, tdk_err *err);
void rules_free(const struct rules *rules);

/* The desk calendar: the rules' closures and overrides in timezone. */
int rules_build_calendar(const struct rules *rules, const char *timezone,
			 struct cal **out, tdk_err *err);

const struct rule_reason *rules_find_reason(const struct rule_reason_list *list,
					    const char *code);
const struct rule_outcome *rules_find_outcome(const struct rules *rules,
					      const char *code);

/*
 * The next step to propose for an unreachable case: the product table for
 * a product case whose impact (0 = unset) and verifiable (-1 = unset, 0,
 * 1) are both set, unreachable_otherwise for the rest.
 */
enum rule_proposal rules_unreachable_proposal(const struct rules *rules,
					      int impact, int verifiable,
					      bool product);

/* "priority", "normal", "simple"; NULL for anything else. */
const char *rules_impact_name(enum rule_impact impact);
/* The impact of such a name, or 0 if it is none (or NULL). */
enum rule_impact rules_impact_from_name(const char *name);
/* "staff", "committee", "end"; NULL for anything else. */
const char *rules_proposal_name(enum rule_proposal proposal);

/* Whether Japanese notices to audience are sent in ISO-2022-JP. */
bool rules_iso_2022_jp(const struct rules *rules, const char *audience);
/* Whether the notice is held for staff when its recipient has no key. */
bool rules_hold_without_key(const struct rules *rules, const char *notice);

/*
 * Whether two host names belong together: equal, or one a suffix of the
 * other at a dot (www.example.co.jp and example.co.jp), ignoring ASCII
 * case and one trailing dot. The shorter name must not be public-suffix
 * like: it needs two labels, or three when it ends in a two-letter
 * country code under co, ne, or, ac, go, ed, gr, lg, ad, com, net, org,
 * gov or edu (so co.jp relates to nothing). A name whose last label is
 * all digits (an IPv4 address) relates only to itself. NULL, empty
 * names and empty labels relate to nothing.
 */
bool rules_domain_related(const char *a, const char *b);

#endif
