/*
 * casenum.h - finding the desk's case number in an incoming mail
 *             (project decision A9).
 *
 * Owns: the casenum_ module. A case number is a configured prefix plus a
 * zero-padded decimal number of a configured width ("IPA#" and 8 give the
 * canonical form "IPA#00123456"). Operators reply with "[IPA#nnnnnnnn]" in
 * the Subject, often from Japanese mail clients, so the module:
 *
 *   1. decodes the Subject to UTF-8 (casenum_parse_subject): RFC 2047
 *      encoded words, raw 8-bit or raw ISO-2022-JP text, unknown or wrong
 *      charset labels;
 *   2. normalises a copy with NFKC (full-width "［ＩＰＡ＃１］" becomes
 *      "[IPA#1]") and looks for our tag there; the LAST of our tags wins
 *      ("[IPA#00000001] Fwd: [IPA#00000002]" is case 2); bracketed tags of
 *      other trackers ("[JVN#12345678]") are collected as foreign tags;
 *   3. failing that, the caller tries the thread (casenum_thread_refs: the
 *      Message-IDs another component maps to cases), then the body
 *      (casenum_find_in_body: the FIRST "取扱番号" line with a number wins,
 *      because a reply puts the operator's own text above the quoted mail).
 *
 * Matching rules, on the NFKC text:
 *   - The prefix is matched case-insensitively for ASCII letters.
 *     Whitespace (space, tab) may surround each non-alphanumeric prefix
 *     character: "IPA # 1" and "ipa#1" match "IPA#". Two look-alikes that
 *     Japanese input methods produce and NFKC keeps are accepted too: "♯"
 *     (U+266F) for "#", and the dashes U+2010-U+2015, U+2212 and "ー"
 *     (U+30FC) for "-".
 *   - The digits follow the prefix (after that whitespace); 1 to width
 *     digits are zero-padded to width ("IPA#123" -> "IPA#00000123"); more
 *     digits than width is not ours ("IPA#123456789" with width 8).
 *   - A tag is a token of its own in ASCII terms: an ASCII letter or digit
 *     directly before the prefix ("XIPA#1", "2IPA#1") or directly after the
 *     digits ("IPA#1a") means it is part of another word and does not
 *     match. Any other neighbour is fine, so Japanese text may touch the
 *     tag ("案件IPA#00123456について"). U+FFFD, which stands for bytes that
 *     did not decode (and for NUL bytes in a body), counts as a word
 *     character: a tag touching undecodable bytes is not trusted.
 *   - Brackets are optional around our tag.
 *
 * Foreign tags: "[" label "#" digits "]" after NFKC, where the label starts
 * with an ASCII letter and has at most 32 letters, digits or "-_./", the
 * digits are 1 to 20, and whitespace may surround "#" and sit inside the
 * brackets; a tag whose label is our prefix is never foreign. They are
 * recorded as written in the NFKC text ("［ＪＶＮ＃１］" -> "[JVN#1]"),
 * in order, without exact duplicates, at most CASENUM_FOREIGN_MAX.
 *
 * Hostile input: every function works in time linear in its input (times
 * the prefix length). casenum_parse_subject reads at most CASENUM_RAW_MAX
 * bytes of the raw Subject (cut at the last space or tab before that
 * limit) and keeps at most CASENUM_DECODED_MAX bytes of decoded text (cut
 * on a character boundary); only that kept text is searched. Decoding
 * never fails: bytes that decode in no charset become U+FFFD.
 *
 * GMime must have been initialised (g_mime_init()) by the program.
 * Everything returned is heap-allocated (GLib allocator) and released with
 * casenum_subject_clear() or casenum_strv_free(). The functions are
 * thread-safe. The only process-wide state is charset.c's: the first
 * Subject that needs converting opens one iconv descriptor per Japanese
 * charset and keeps it (unused) for the life of the process, because
 * glibc otherwise unloads and reloads the converter modules when charsets
 * alternate (20 times slower; see charset.h).
 */
#ifndef TODOKE_CASENUM_H
#define TODOKE_CASENUM_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define CASENUM_PREFIX_MAX 32           /* bytes in a configured prefix */
#define CASENUM_WIDTH_MAX 18            /* digits in a case number */
#define CASENUM_RAW_MAX (64 * 1024)     /* raw Subject bytes read */
#define CASENUM_DECODED_MAX (16 * 1024) /* decoded Subject bytes kept */
#define CASENUM_FOREIGN_MAX 32          /* foreign tags recorded */
#define CASENUM_REFS_MAX 256            /* Message-IDs returned */

struct casenum_format {
	const char *prefix; /* "IPA#": 1..CASENUM_PREFIX_MAX of '!'..'~', no digit */
	int width;          /* 8: 1..CASENUM_WIDTH_MAX */
};

struct casenum_subject {
	char *decoded;        /* the subject decoded to UTF-8 (before NFKC),
	                         never NULL on success; see below */
	char *case_number;    /* canonical "IPA#00123456" or NULL */
	char **foreign_tags;  /* NULL-terminated, never NULL on success */
	size_t n_foreign_tags;
};

/*
 * Decodes and searches a Subject header value as it arrived (may hold
 * encoded words, 8-bit bytes, folding; NUL-terminated).
 *
 * Decoding: folding is undone (CR/LF before a space or tab removed, other
 * CR/LF become a space). Raw text that is not plain ASCII is read as
 * ISO-2022-JP if it holds an ESC (this 7-bit charset is also valid UTF-8,
 * so it is tried first), else as UTF-8 if valid, else as Shift_JIS
 * (Windows-31J, which Japanese clients really send under that name) or
 * EUC-JP: when both decode, the one with fewer half-width katakana,
 * private-use and C1 characters wins, ties going to Shift_JIS. Encoded
 * words are decoded anywhere (also "Re:=?...?="); whitespace between two
 * encoded words is dropped and adjacent words of one charset are joined
 * before conversion, so a character split across two words survives. A
 * label's charset is tried first (the Japanese ones and their aliases,
 * UTF-8, US-ASCII, and common mail charsets: ISO-8859-n, Windows-125n,
 * KOI8, GB2312/GBK/GB18030, Big5, EUC-KR, TIS-620, UTF-16, UTF-7); any
 * other label, and a conversion that fails, fall back to the chain above. ISO-2022-JP with NEC or
 * IBM extension characters (what Outlook sends) is read through
 * Windows-31J. Control characters (C0, DEL, C1) become spaces, leading and
 * trailing whitespace is removed, and the result is cut to
 * CASENUM_DECODED_MAX bytes.
 *
 * On success out is filled (release it with casenum_subject_clear()); on
 * failure it is left empty. TDK_EINVAL: fmt fails casenum_format_check(),
 * or raw or out is NULL.
 */
int casenum_parse_subject(const struct casenum_format *fmt, const char *raw,
			  struct casenum_subject *out);
/* Releases what s holds and empties it (NULL is fine; clearing twice too). */
void casenum_subject_clear(struct casenum_subject *s);

/*
 * Looks for the case number of a body or text attachment: UTF-8 text of
 * len bytes (text may be NULL when len is 0). NUL bytes and invalid UTF-8
 * are treated as invalid characters (U+FFFD), never as the end of text.
 *
 * A hit is, after NFKC, "取扱番号", optional whitespace, an optional "】"
 * or "]" (for "【取扱番号】"), an optional ":" (or "："), optional
 * whitespace, then our tag in any of the tolerant forms, optionally in
 * brackets, all on one line (CR or LF ends a line). The FIRST hit in the
 * text wins: the operator's own text comes before the quoted mail of the
 * desk. A "取扱番号" without a usable number (such as the template's
 * "取扱番号 IPA#*****") is skipped. Each line holding the keyword is
 * normalised once, so the work is linear in len.
 *
 * *case_number is set to the canonical number or NULL if there is none
 * (both TDK_OK). TDK_EINVAL: fmt fails casenum_format_check(), case_number
 * is NULL, or text is NULL with len > 0.
 */
int casenum_find_in_body(const struct casenum_format *fmt, const char *text,
			 size_t len, char **case_number);

/*
 * The Message-IDs of In-Reply-To then References (either may be NULL),
 * without angle brackets, deduplicated (exact bytes), first occurrence
 * order, at most CASENUM_REFS_MAX. Parsed with GMime's references parser
 * after comments, quoted strings and stray specials outside <...> are
 * blanked (GMime stops at the first ',', ';', ':', '.' or '[' between
 * IDs). An ID is kept only if it is valid UTF-8 of at most 998 bytes with
 * no whitespace, control character, '<' or '>', and has an '@' with
 * something on both sides. Garbage gives an empty list.
 *
 * *ids is a NULL-terminated vector (never NULL on success; release it with
 * casenum_strv_free()), *n_ids its length. TDK_EINVAL: ids or n_ids NULL.
 */
int casenum_thread_refs(const char *in_reply_to, const char *references,
			char ***ids, size_t *n_ids);
void casenum_strv_free(char **v);

/*
 * True if text is exactly fmt's canonical shape: the prefix byte for byte
 * (so "ipa#00123456" is not canonical) followed by exactly width ASCII
 * digits. False for NULL text or an invalid fmt.
 */
bool casenum_is_canonical(const struct casenum_format *fmt, const char *text);

/*
 * Validates a format: the prefix is 1..CASENUM_PREFIX_MAX bytes of
 * printable ASCII without space ('!'..'~'; a space would make matching
 * ambiguous) and without digits; the width is 1..CASENUM_WIDTH_MAX.
 * TDK_EINVAL for a bad or missing prefix (or NULL fmt), TDK_ERANGE for a
 * bad width; err gets a one-line message.
 */
int casenum_format_check(const struct casenum_format *fmt, tdk_err *err);

#endif
