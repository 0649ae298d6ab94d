/*
 * intake.h - turning one desk mail into an intake spool entry.
 *
 * Owns: the caps on a mail (size, header size, MIME depth and parts,
 * decrypted size), recipient matching against the desk's addresses, the
 * removal of X-Todoke-* trust headers, the MIME walk with decryption and
 * signature checks, case-number candidates and the classification
 * (report, reply, command, bounce, auto-reply). The milter, its test mode
 * and the fuzz harness all call intake_process(); nothing here talks SMTP
 * or writes the spool.
 *
 * The caller owns the entry it gets back (spool_entry_free()).
 */
#ifndef TODOKE_INTAKE_H
#define TODOKE_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "casenum.h"
#include "pgp.h"
#include "spool.h"
#include "status.h"

struct intake_limits {
	size_t message_size;
	size_t header_size;
	size_t mime_depth;
	size_t mime_parts;
	size_t decrypted_size;
};

struct intake_config {
	const char *report_address;
	const char *contact_address;
	const char *control_address;
	const char *bounce_address;
	struct casenum_format case_format;
	struct intake_limits limits;
};

struct tdk_config;
/* The intake settings of a loaded configuration (pointers into it). */
void intake_config_init(const struct tdk_config *config, struct intake_config *out);

/* Which desk address a recipient is (bit set). */
enum desk_role {
	DESK_NONE = 0,
	DESK_REPORT = 1 << 0,
	DESK_CONTACT = 1 << 1,
	DESK_CONTROL = 1 << 2,
	DESK_BOUNCE = 1 << 3,
};

/*
 * The desk role of an envelope recipient ("<a@b>" or "a@b"); case is
 * ignored and so is a "+extension" of the local part. For the bounce
 * address, *token (if token is not NULL) receives the extension (g_free).
 */
unsigned intake_desk_role(const struct intake_config *cfg, const char *rcpt,
			  char **token);

struct intake_envelope {
	const char *queue_id;      /* "" if none */
	const char *sender;        /* envelope sender, "" or "<>" for null */
	const char *const *recipients;
	size_t n_recipients;
	int64_t received;          /* UTC seconds, from the injected clock */
};

enum intake_verdict {
	INTAKE_SPOOL = 0,        /* spool the entry, then accept */
	INTAKE_REJECT_LIMIT,     /* refuse permanently: a cap was exceeded */
};

struct intake_result {
	enum intake_verdict verdict;
	char smtp_code[4];       /* for a refusal: "552" or "554" */
	char smtp_xcode[8];      /* "5.3.4" or "5.6.0" */
	char reason[200];        /* names the limit */
};

/*
 * Processes one mail. pgp may be NULL (no OpenPGP: encrypted mail is
 * spooled as decrypt-deferred). On TDK_OK either result->verdict is
 * INTAKE_SPOOL and *entry is set, or it is a refusal and *entry is NULL.
 * Other statuses are internal failures (the MTA should retry).
 */
int intake_process(const struct intake_config *cfg, struct pgp *pgp,
		   const void *message, size_t len,
		   const struct intake_envelope *envelope,
		   struct spool_entry **entry, struct intake_result *result,
		   tdk_err *err);

/* True if a header field name is one the desk sets itself (X-Todoke-*). */
bool intake_is_trust_header(const char *name);

#endif
