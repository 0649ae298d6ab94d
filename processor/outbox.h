/*
 * outbox.h - notice intents and staff attention items.
 *
 * Owns: the records the state machine creates when the desk must say
 * something: a notice intent (which notice, to which party of which case,
 * in which language, with a stable Message-ID), and a staff attention item
 * (something a person must look at). Rendering and delivery of intents
 * belong to the outbound side; here they are created and inspectable.
 *
 * Both own their strings; *_free() releases them (NULL is fine). Their
 * records are format 2 (recbin.h); format 1 (record.h) is still read.
 */
#ifndef TODOKE_OUTBOX_H
#define TODOKE_OUTBOX_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "status.h"

/* Notice intent states. */
#define OUTBOX_QUEUED "queued"   /* to be rendered and sent */
#define OUTBOX_HELD "held"       /* waits for staff (e.g. a postal letter) */
#define OUTBOX_DEFERRED "deferred" /* sendmail failed for now: next_try */
#define OUTBOX_SENT "sent"       /* handed to sendmail */
#define OUTBOX_FAILED "failed"   /* permanent failure, or out of tries */
#define OUTBOX_BOUNCED "bounced" /* sent, and a bounce came back */

struct outbox_item {
	uint64_t id;
	uint64_t case_number;   /* 0 for desk-wide notices (the digest) */
	char *notice;           /* template name: "acknowledgement", "stage1", ... */
	char *audience;         /* discoverer, operator, developer, coordinator, staff */
	int party;              /* index of the party in the case, -1 for staff */
	char *to;               /* address; NULL for the discoverer (PII store) */
	char *lang;             /* "ja" | "en" */
	char *state;            /* OUTBOX_QUEUED, OUTBOX_HELD, ... */
	char *hold_reason;
	char *message_id;       /* stable, without angle brackets */
	char *detail;           /* a reason code, staff text, attempt info */
	int attempt;            /* contact attempt number, 0 if none */
	int64_t created;
	int64_t updated;
	/* Delivery (deliver.c): the message is rendered once and kept. */
	char *recipient;        /* the address it is sent to */
	GBytes *rendered;       /* the signed (encrypted) message, or NULL */
	int tries;              /* hand-overs to sendmail that failed */
	int64_t next_try;       /* deferred: not before */
	int64_t sent;           /* when sendmail took it */
};

struct attention_item {
	uint64_t id;
	uint64_t case_number;
	char *kind;             /* "new-report", "unverified", "expired", ... */
	char *text;
	int64_t created;
	int64_t cleared;
};

void outbox_item_free(struct outbox_item *o);
void attention_item_free(struct attention_item *a);

int outbox_item_encode(const struct outbox_item *o, GBytes **out);
int outbox_item_decode(const void *data, size_t len, uint64_t id,
		       struct outbox_item **out, tdk_err *err);
int attention_item_encode(const struct attention_item *a, GBytes **out);
int attention_item_decode(const void *data, size_t len, uint64_t id,
			  struct attention_item **out, tdk_err *err);

/* The VERP token of a notice ("n" + id in decimal) and back. */
char *outbox_token(uint64_t id);
int outbox_token_parse(const char *token, uint64_t *id);

#endif
