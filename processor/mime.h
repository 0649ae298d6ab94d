/*
 * mime.h - an outbound notice as a MIME message (GMime 3).
 *
 * Owns: the mime_ module. mime_content() builds the body entity of a
 * notice: one text/plain part, or multipart/mixed with the text and its
 * text attachments (the 修正完了報告書 form). mime_message() wraps an
 * entity (plain, or signed / encrypted by sign.h) in the notice's
 * headers: From and Reply-To (the desk), To, Date, Message-ID,
 * In-Reply-To and References (the case's thread), Subject (RFC 2047),
 * Auto-Submitted: auto-generated (RFC 3834) and the desk's loop header
 * (MIME_LOOP_HEADER, which the milter does not strip: only X-Todoke-*
 * headers are stripped on intake).
 *
 * Text is UTF-8; with charset "ISO-2022-JP" the body, the attachments
 * and the subject are converted to it (falling back to UTF-8 when the
 * text has characters ISO-2022-JP lacks). Every part is encoded 7-bit
 * safe, so that a signature survives transport.
 *
 * Header injection is impossible by construction: addresses and
 * Message-IDs are checked (no whitespace, controls or angle brackets,
 * one @) and refused with TDK_EINVAL; the subject and file names have
 * every control character replaced by a space before GMime encodes them.
 *
 * Memory: returned GMime objects are the caller's (g_object_unref);
 * mime_to_bytes() returns a GBytes (g_bytes_unref).
 */
#ifndef TODOKE_MIME_H
#define TODOKE_MIME_H

#include <gmime/gmime.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define MIME_LOOP_HEADER "X-Loop"

struct mime_attachment {
	const char *filename; /* UTF-8 */
	const char *text;     /* UTF-8 */
};

struct mime_notice {
	const char *from;        /* the desk's address: From and Reply-To */
	const char *to;          /* the recipient's address */
	const char *subject;     /* UTF-8 */
	const char *body;        /* UTF-8 */
	const char *charset;     /* NULL or "UTF-8", or "ISO-2022-JP" */
	const char *message_id;  /* without angle brackets */
	/* The thread, oldest first, without angle brackets, NULL-terminated;
	 * the last one is In-Reply-To unless in_reply_to is set. NULL: no
	 * thread. */
	const char *const *references;
	const char *in_reply_to;  /* without angle brackets, or NULL */
	int64_t date;            /* UTC seconds */
	const char *zone;        /* IANA zone of the Date header; NULL: UTC */
	const char *loop;        /* value of the loop header; NULL: from */
	const struct mime_attachment *attachments;
	size_t n_attachments;
};

/* Whether text is a safe bare address (local@domain, printable ASCII or
 * UTF-8, no whitespace, controls, <>, (), quotes, commas or semicolons). */
bool mime_address_ok(const char *text);
/* Whether text is a safe Message-ID without angle brackets. */
bool mime_message_id_ok(const char *text);

/* The body entity of n (text and attachments), 7-bit safe. */
int mime_content(const struct mime_notice *n, GMimeObject **out, tdk_err *err);
/* The message: n's headers around content (referenced, not copied). */
int mime_message(const struct mime_notice *n, GMimeObject *content,
		 GMimeMessage **out, tdk_err *err);
/* The message as bytes, LF line ends. */
GBytes *mime_to_bytes(GMimeMessage *msg);

#endif
