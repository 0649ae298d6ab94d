/*
 * case.h - the case model: a case's state, parties, clocks and events.
 *
 * Owns: the enums of the coordination flow (kinds, states, roles, clocks)
 * and their names, struct case_rec and its record encoding (format 2, the
 * binary form of recbin.h; format 1, the GVariant form of record.h, is
 * still read), the event record, and the deadline arithmetic of a clock.
 *
 * A case_rec owns every string and array in it; case_free() releases it
 * (NULL is fine). case_party_add() copies what it is given.
 *
 * States (DOMAIN.md §2.4, §2.8 and §9):
 *   received      a report arrived; staff decide acceptance
 *   not-accepted  closed at intake (reason code)
 *   accepted      kind known (web or product); nothing sent to a party yet
 *   contacting    stage-1 notice / contact attempts under the contact policy
 *   unreachable   the last attempt's wait passed with no answer
 *   contact-known the operator (developer) answered with a contact
 *   detail-sent   stage-2 (detail) notice sent: the web clocks run
 *   acknowledged  the 一次返信 arrived
 *   fixing        the investigation result arrived; the fix is awaited
 *   fix-reported  the 修正完了報告書 arrived
 *   checking      ... and it asks for the desk's check
 *   expired       the completion deadline passed: awaiting staff decision
 *   forwarded     product: forwarded to the coordinator
 *   published     product: published
 *   closed        ended with an outcome (rules/ outcomes)
 */
#ifndef TODOKE_CASE_H
#define TODOKE_CASE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "status.h"

enum case_kind { CASE_KIND_NONE = 0, CASE_KIND_WEB = 1, CASE_KIND_PRODUCT = 2 };

enum case_state {
	CS_RECEIVED = 1,
	CS_NOT_ACCEPTED,
	CS_ACCEPTED,
	CS_CONTACTING,
	CS_UNREACHABLE,
	CS_CONTACT_KNOWN,
	CS_DETAIL_SENT,
	CS_ACKNOWLEDGED,
	CS_FIXING,
	CS_FIX_REPORTED,
	CS_CHECKING,
	CS_EXPIRED,
	CS_FORWARDED,
	CS_PUBLISHED,
	CS_CLOSED,
	CS_STATE_COUNT
};

/* Party roles; the numbers are part of the record format. */
enum case_role {
	ROLE_DISCOVERER = 1,
	ROLE_OPERATOR,
	ROLE_DEVELOPER,
	ROLE_COORDINATOR,
	ROLE_STAFF_CC,
	ROLE_COUNT
};

/* Clocks; the numbers are part of the record format and the timer keys. */
enum case_clock_id {
	CLOCK_CONTACT = 1,    /* wait after a contact attempt */
	CLOCK_FIRST_REPLY,    /* 一次返信 reminder after stage 2 */
	CLOCK_INVESTIGATION,  /* 20bd investigation result */
	CLOCK_FIX,            /* 3M fix */
	CLOCK_COMPLETION,     /* 9M completion report */
	CLOCK_LONG_RUNNING,   /* 90d statistics flag */
	CLOCK_NONDISCLOSURE,  /* product: 1y after the 起算日 */
	CLOCK_RETENTION,      /* personal data destruction after closure */
	CLOCK_COUNT
};

#define CLOCK_PERIODS_MAX 8 /* the base period and up to 7 extensions */

struct case_clock {
	bool active;        /* running (armed unless the case is paused) */
	bool fired;         /* its deadline passed and was acted on */
	int64_t start;      /* when it started */
	int64_t paused;     /* seconds spent paused, added to start */
	int n_periods;      /* periods[0] is the base; the rest extensions */
	struct cal_period periods[CLOCK_PERIODS_MAX];
	int64_t armed_due;  /* the due time in the timer index, or 0 */
};

struct case_party {
	int role;           /* enum case_role */
	char *address;      /* NULL for the discoverer: kept in the PII store */
	char *name;         /* NULL for the discoverer */
	char *lang;         /* "ja" | "en" */
	char *key;          /* OpenPGP fingerprint, upper-case hex, or NULL */
	char *key_source;   /* where key came from: NULL or "staff" (a staff
			     * command), "mail" (a key the party attached),
			     * "autocrypt", "signature" (the key that signed
			     * the party's encrypted mail) */
	char *postal;       /* NULL for the discoverer */
	char *last_mail_id; /* Message-ID of the party's last mail, or NULL */
	int64_t added;
};

struct case_rec {
	uint64_t number;
	int kind;            /* enum case_kind */
	int state;           /* enum case_state */
	int state_before;    /* the state left for unreachable / expired */
	bool paused;
	int64_t paused_at;
	char *pause_reason;
	bool hold;           /* legal hold: personal data is kept */

	char *title, *url, *product, *vuln_type, *threat;
	char *description;   /* the problem as the detail notice tells it */
	int impact;          /* enum rule_impact, 0 unset */
	int verifiable;      /* 0 unset, 1 yes, 2 no */
	int fix_kind;        /* enum fixreport_kind */
	int check_wanted;    /* 0 unset, 1 yes, 2 no */
	char *lang;          /* the discoverer's language */
	char *outcome, *reason_code, *close_text;

	int64_t received, accepted, not_accepted, stage1_sent, contact_received,
		stage2_sent, acknowledged, investigated, fix_reported, checked,
		forwarded, published, priority_provided, gov_notified,
		unreachable_at, resumed_at, expired_at, closed, pii_destroyed,
		overview_sent, last_activity;

	int contact_attempts; /* attempts made to the contact party */
	int contact_party;    /* index into parties, or -1 */
	bool awaiting_post;   /* a postal attempt is waiting for staff */
	int resumptions;

	int n_events;         /* events appended so far (next seq) */
	int n_replies;        /* party correspondence applied */
	int n_unverified;     /* unverified correspondence stored */
	int n_notices;        /* notice intents created */

	char *report_message_id;

	struct case_party *parties;
	size_t n_parties;
	struct case_clock clocks[CLOCK_COUNT]; /* index 0 unused */
};

struct case_event {
	int64_t time;
	char *actor;      /* "mail", "timer", "staff:FPR", "todokectl:USER" */
	char *type;       /* "received", "accepted", "reply", ... */
	char *text;       /* a line for people; no report content */
	uint64_t spool_id;
	char *message_id;
	char *state;      /* the state after the event */
};

const char *case_kind_name(int kind);        /* "web", "product", "" */
const char *case_state_name(int state);      /* NULL when unknown */
int case_state_from_name(const char *name);  /* 0 when unknown */
const char *case_role_name(int role);
int case_role_from_name(const char *name);
const char *case_clock_name(int clock);      /* "investigation", ... */
int case_clock_from_name(const char *name);
bool case_state_is_open(int state);          /* not closed / not-accepted */

struct case_rec *case_new(uint64_t number);
void case_free(struct case_rec *c);
/* Copies; returns the index of the new party. */
size_t case_party_add(struct case_rec *c, int role, const char *address,
		      const char *name, const char *lang, const char *key,
		      const char *postal, int64_t now);
/* The index of the first party of role, or -1. */
int case_party_find_role(const struct case_rec *c, int role);
/* The index of the party whose address is address (ASCII case-insensitive), or -1. */
int case_party_find_address(const struct case_rec *c, const char *address);

int case_encode(const struct case_rec *c, GBytes **out, tdk_err *err);
int case_decode(const void *data, size_t len, uint64_t number,
		struct case_rec **out, tdk_err *err);

void case_event_clear(struct case_event *e);
int case_event_encode(const struct case_event *e, GBytes **out, tdk_err *err);
int case_event_decode(const void *data, size_t len, struct case_event *out,
		      tdk_err *err);

/* Starts clock id at start with one base period. */
void case_clock_start(struct case_rec *c, int id, int64_t start,
		      struct cal_period period);
/* The deadline of a clock: start + paused, plus each period in turn. */
int case_clock_due(const struct cal *cal, const struct case_clock *k,
		   int64_t *due);


/* JSON (case_json.c): the case with every field by name, times in the
 * desk zone, clocks with their due dates; parties without the discoverer's
 * personal data unless pii is given (then it is added). */
#include <json-glib/json-glib.h>
struct pii_rec;
void case_to_json(JsonBuilder *b, const struct case_rec *c, const struct cal *cal,
		  const char *case_text, const struct pii_rec *pii);
void case_event_to_json(JsonBuilder *b, int seq, const struct case_event *e,
			const struct cal *cal);
/* The record field tables, for case_json.c. */
struct rec_field;
const struct rec_field *case_field_table(size_t *n);
const struct rec_field *case_party_field_table(size_t *n);
const struct rec_field *case_event_field_table(size_t *n);

#endif
