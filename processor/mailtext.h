/*
 * mailtext.h - the readable text of a captured mail.
 *
 * Owns: the mailtext_ module. The processor gets each mail as raw RFC 5322
 * bytes (the original, or the decrypted MIME of an encrypted one) and needs
 * what a person would read: every text/plain part, and every attachment
 * that is text/plain or named "*.txt" (an attached 修正完了報告書.txt sent
 * as application/octet-stream, say), decoded from base64 or
 * quoted-printable and converted to UTF-8.
 *
 * What is taken:
 *   - leaves whose Content-Type is text/plain (a part without Content-Type
 *     is text/plain), and leaves of any type whose file name (GMime decodes
 *     RFC 2231 and RFC 2047 names) ends in ".txt", case-insensitively;
 *   - in document order, through every multipart (alternative, mixed,
 *     signed: its signature is not text/plain, so it is skipped) and into
 *     attached messages (message/rfc822).
 * What is not: text/html (even in an HTML-only mail: that mail gives no
 * parts; the desk asks for plain text), other text/ subtypes, everything
 * else.
 *
 * Charsets (the chain of charset.h, with CHARSET_LOSSY_FEWEST): the
 * part's charset label is tried first (UTF-8/US-ASCII, ISO-2022-JP,
 * Shift_JIS and its aliases read as Windows-31J, EUC-JP, and a short list
 * of other charsets mail really uses). A missing, unknown or
 * lying label falls back to a guess: text with an ESC byte as ISO-2022-JP
 * (7-bit, so it would also pass as UTF-8 and must be tried first), then
 * UTF-8 if valid, then Shift_JIS (Windows-31J) or EUC-JP (when both
 * convert, the one with fewer half-width katakana, private-use and C1
 * characters wins, ties going to Shift_JIS). If nothing converts cleanly,
 * the label's charset, UTF-8, Shift_JIS and EUC-JP are each converted with
 * every undecodable byte replaced by U+FFFD, and the reading with the
 * fewest replacements is kept. Conversion never fails.
 *
 * The text of each part: UTF-8, NUL-terminated; CRLF and lone CR become
 * LF, NUL bytes become U+FFFD, a leading byte-order mark is dropped.
 *
 * attachment is true when the part has Content-Disposition: attachment, a
 * file name, or lies inside an attached message. filename is the decoded
 * name (valid UTF-8, at most MAILTEXT_FILENAME_MAX bytes) or NULL.
 *
 * Caps (never a failure; truncated is set instead):
 *   - max_bytes: the sum of the parts' text lengths (without NULs) never
 *     exceeds it; the part that crosses it is cut on a character boundary
 *     (at a line end when one is close) and the walk stops;
 *   - MAILTEXT_PARTS_MAX MIME entities are visited (containers included);
 *     the walk stops after that;
 *   - entities deeper than MAILTEXT_DEPTH_MAX levels (the top-level body
 *     is level 1) are skipped, their siblings are still read.
 *
 * GMime must have been initialised (g_mime_init()) by the program.
 * Everything returned is allocated with the GLib allocator; mailtext_free()
 * releases a struct mailtext and all it holds, mailtext_joined()'s result
 * is released with g_free(). Thread-safe; the only process-wide state is
 * charset.c's: one iconv descriptor per Japanese charset, opened on first
 * use and kept (unused) for the life of the process so glibc does not
 * unload and reload the converter modules (see charset.h).
 */
#ifndef TODOKE_MAILTEXT_H
#define TODOKE_MAILTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "status.h"

#define MAILTEXT_PARTS_MAX 256    /* MIME entities visited */
#define MAILTEXT_DEPTH_MAX 32     /* MIME nesting levels read */
#define MAILTEXT_FILENAME_MAX 255 /* bytes of a file name kept */

struct mailtext_part {
	char *filename;  /* decoded file name, or NULL */
	char *text;      /* UTF-8, NUL-terminated, never NULL */
	bool attachment;
};

struct mailtext {
	struct mailtext_part *parts; /* n_parts entries (NULL when 0) */
	size_t n_parts;
	bool truncated;              /* a cap dropped some text */
};

/*
 * Extracts the text parts of mime (raw message bytes; may be empty or
 * garbage). On TDK_OK *out is a new struct mailtext, possibly with no
 * parts: garbage input is not an error. TDK_EINVAL: mime or out is NULL.
 */
int mailtext_extract(GBytes *mime, size_t max_bytes, struct mailtext **out,
		     tdk_err *err);

/* Releases t and everything in it (NULL is fine). */
void mailtext_free(struct mailtext *t);

/* The decoded content of a MIME leaf (its transfer encoding undone), or
 * NULL when it has none; g_byte_array_free(bytes, TRUE) it. */
GByteArray *mailtext_part_bytes(GMimePart *part);

/* All parts' texts joined with "\n" ("" for none or NULL); g_free() it. */
char *mailtext_joined(const struct mailtext *t);

#endif
