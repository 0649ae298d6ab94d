/*
 * flow_int.h - what the parts of the state machine share (flow.c,
 * flow_mail.c, flow_command.c, flow_timer.c). Not for other modules.
 */
#ifndef TODOKE_FLOW_INT_H
#define TODOKE_FLOW_INT_H

#include "flow.h"

#include <glib.h>

/* Reads case number; a record that does not decode is quarantined. */
int flow_load(struct flow *f, uint64_t number, struct case_rec **out);
/* Writes c (and its timers); sets last_activity. */
int flow_save(struct flow *f, struct case_rec *c);

/* Appends an event to c's log. */
int flow_event(struct flow *f, struct case_rec *c, const char *type,
	       uint64_t spool_id, const char *message_id, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Creates a notice intent to party (index, or -1 for the desk's staff);
 * detail may be NULL; attempt is the contact attempt it makes, or 0. */
int flow_notice(struct flow *f, struct case_rec *c, const char *notice,
		int party, const char *detail, int attempt);
/* Creates a notice to every party of role (none: nothing). */
int flow_notice_role(struct flow *f, struct case_rec *c, const char *notice,
		     int role, const char *detail);
/* Tells staff: an attention item and a staff notice intent. */
int flow_attention(struct flow *f, struct case_rec *c, const char *kind,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Personal data changed by commands, read back before it is written. */
int flow_pii_pending_get(struct flow *f, uint64_t number, struct pii_rec **copy);
void flow_pii_pending_set(struct flow *f, uint64_t number, struct pii_rec *pii);

/* State changes shared by mail, commands and timers. */
void flow_set_state(struct case_rec *c, int state);
void flow_stop_clock(struct case_rec *c, int clock);
void flow_stop_all_clocks(struct case_rec *c);
int flow_contact_start(struct flow *f, struct case_rec *c, int party);
int flow_contact_next(struct flow *f, struct case_rec *c);
int flow_unreachable(struct flow *f, struct case_rec *c, const char *why);
int flow_send_stage2(struct flow *f, struct case_rec *c, int party);
int flow_close(struct flow *f, struct case_rec *c, const char *outcome,
	       const char *code, const char *text);
int flow_destroy_personal_data(struct flow *f, struct case_rec *c);

/* The hold reason of a notice that waits for the recipient's key. */
#define FLOW_HOLD_NO_KEY "no OpenPGP key for a notice with vulnerability details"

/* Keys in a captured mail (flow_keys.c): from party (whose address is
 * address; from_header is the mail's From address, lower-case, or NULL),
 * or from someone who is not a party (only noted on the timeline). */
int flow_party_keys(struct flow *f, struct case_rec *c, const struct spool_entry *e,
		    int party, const char *address, const char *from_header);
int flow_keys_ignored(struct flow *f, struct case_rec *c, const struct spool_entry *e,
		      const char *sender);

/* The contact party (the one stage 1 / stage 2 went to), or -1. */
int flow_contact_party(const struct case_rec *c);
/* The domain of an address ("a@B.example" -> "b.example"), g_free. */
char *flow_address_domain(const char *address);
/* The host of an http(s) URL, lower-case, g_free; NULL if none. */
char *flow_url_host(const char *url);

#endif
