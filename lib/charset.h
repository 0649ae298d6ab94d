/*
 * charset.h - mail text in a declared or unknown charset to UTF-8, and the
 *             NFKC copy of UTF-8 text that matching works on.
 *
 * Owns: the charset_ module, the one place where bytes of mail text
 * become UTF-8: casenum.c decodes Subjects with it, mailtext.c the text
 * parts of a mail; fixreport.c and casenum.c normalise with charset_nfkc().
 *
 * Decoding (charset_decode) never fails. The label is tried first:
 *   - US-ASCII and UTF-8 (and their aliases): the bytes as they are, if
 *     they are valid UTF-8 and hold no ESC;
 *   - ISO-2022-JP and its aliases (CP5022x too): glibc's ISO-2022-JP, and
 *     for the NEC and IBM extension rows that Outlook writes (and glibc
 *     refuses) the text read through Windows-31J; JIS X 0201 kana
 *     (ESC ( I, SO/SI) are taken, a line end leaves kanji mode;
 *   - Shift_JIS and its aliases: Windows-31J (CP932), which is what
 *     Japanese clients send under that name, then strict Shift_JIS;
 *   - EUC-JP and its aliases: EUC-JP, then EUC-JP-MS;
 *   - a short list of other charsets mail really uses (ISO-8859-n,
 *     Windows-125n, KOI8-R/U, GB2312/GBK/GB18030, Big5, EUC-KR, TIS-620,
 *     UTF-16, UTF-7): iconv. No other label reaches iconv: a hostile mail
 *     naming obscure charsets would make glibc load converter modules
 *     nobody needs.
 * A missing, unknown or lying label (the conversion fails) falls back to a
 * guess: bytes with an ESC as ISO-2022-JP (7-bit, so they would also pass
 * as UTF-8), then UTF-8 if valid, then Windows-31J or EUC-JP: when both
 * convert, the one with fewer half-width katakana, private-use and C1
 * characters wins, ties going to Windows-31J. If nothing converts
 * cleanly, the last resort is the caller's choice (enum
 * charset_last_resort): the bytes read as UTF-8, or the reading with the
 * fewest replacements. Either way every byte that does not decode becomes
 * U+FFFD.
 *
 * The output is valid UTF-8 apart from NUL bytes, which pass through as
 * NUL (the caller decides what a NUL becomes). It is checked once more
 * after conversion, because iconv is not trusted to produce valid UTF-8
 * (glibc's UTF-8 decoder lets 5- and 6-byte sequences through): a byte of
 * an invalid sequence becomes U+FFFD.
 *
 * Time is linear in the input. The caller owns the GString appended to;
 * charset_nfkc() returns a new string to release with g_free(). Nothing
 * here needs GMime.
 *
 * Thread-safe. The only process-wide state: on the first conversion one
 * iconv descriptor per Japanese charset is opened and kept (unused) for
 * the life of the process, because glibc otherwise unloads a converter
 * module soon after its last descriptor is closed and reloads it for the
 * next mail (20 times slower when charsets alternate).
 */
#ifndef TODOKE_CHARSET_H
#define TODOKE_CHARSET_H

#include <stddef.h>

#include <glib.h>

#define CHARSET_STREAM_SAFE_RUN 30 /* combining marks kept in a row by NFKC */

/* What becomes of bytes that convert cleanly in no charset of the chain. */
enum charset_last_resort {
	/* The bytes read as UTF-8, each byte of an invalid sequence U+FFFD. */
	CHARSET_LOSSY_UTF8,
	/* The label's charset (ISO-2022-JP or one of the common ones), UTF-8,
	 * Windows-31J and EUC-JP, each read with every byte it cannot decode
	 * replaced by U+FFFD; the reading with the fewest replacements wins,
	 * ties going to the earlier one. A long Shift_JIS text with one bad
	 * byte keeps its Japanese instead of becoming a row of U+FFFD. */
	CHARSET_LOSSY_FEWEST
};

/*
 * Appends n bytes of in, labelled label (NULL or "" for none; a label is
 * matched case-insensitively and never passed to iconv unless it is one of
 * the charsets above), converted to UTF-8 to out. in may be NULL when n is
 * 0, which appends nothing.
 */
void charset_decode(GString *out, const char *label, const char *in,
		    size_t n, enum charset_last_resort last);

/*
 * The NFKC form of n bytes of valid UTF-8 (read up to a NUL), never NULL;
 * g_free() it. Runs of combining marks are first cut to
 * CHARSET_STREAM_SAFE_RUN (the Stream-Safe Text Format of UAX #15), since
 * g_utf8_normalize() sorts them with a quadratic sort; that changes
 * nothing real text is made of. ASCII text is copied as it is.
 */
char *charset_nfkc(const char *s, size_t n);

#endif
