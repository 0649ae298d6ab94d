/*
 * command.h - the staff command language: syntax and static validation.
 *
 * Owns: the command_ module. Staff steer cases with one-line commands,
 * typed locally (`todokectl do 'COMMAND'`, or a script on stdin) and later
 * sent by signed mail; both go through this parser. A command is checked
 * completely here against everything known without the case store: the
 * grammar, the case number format, and the codes of the rules file.
 * Whether the case exists and whether the command suits its state is
 * decided later, by the module that applies it.
 *
 * Grammar, one command per line:
 *
 *   accept CASE web|product
 *   reject CASE CODE [TEXT]             CODE from reasons.not_accepted
 *   party CASE ROLE ADDRESS [name WORD] [lang ja|en] [key FPR] [postal WORD]
 *   set CASE FIELD VALUE
 *   send CASE stage1|stage2|forward|reminder
 *   contacted CASE post|phone [TEXT]
 *   extend CASE CLOCK PERIOD reason TEXT
 *   pause CASE reason TEXT
 *   resume CASE          unreachable CASE       reopen CASE
 *   hold CASE            release CASE
 *   close CASE OUTCOME [CODE] [TEXT]    CODE only (and then required) when
 *                                       the outcome needs a reason
 *   note CASE TEXT
 *   record CASE EVENT YYYY-MM-DD [TEXT]
 *
 * Tokens are separated by spaces or tabs. A WORD is either a run of
 * characters without space, tab or '"', or a double-quoted string in which
 * \" stands for '"' and \\ for '\' (no other escape exists; the closing
 * quote must end the token). A TEXT is the rest of the line: either one
 * quoted string and nothing after it, or the unquoted rest with its
 * trailing blanks removed. Verbs, keywords (name, lang, key, postal,
 * reason), and every enumerated value (roles, fields, clocks, yes/no, ...)
 * and rules code match case-insensitively (ASCII) and are stored in their
 * canonical lower-case spelling.
 *
 *   CASE     the configured prefix (any case) and 1..width digits, not all
 *            zero: "IPA#12", "ipa#00000012"; stored as its number and its
 *            canonical text "IPA#00000012".
 *   ROLE     discoverer, operator, developer, coordinator, staff-cc.
 *   ADDRESS  a bare addr-spec local@domain of at most 254 bytes: the local
 *            part (at most 64) is dot-separated runs of letters, digits
 *            and !#$%&'*+-/=?^_`{|}~; the domain is two or more labels of
 *            letters, digits and '-' (not at either end of a label), each
 *            at most 63. No quoted local parts, no IP literals.
 *   FPR      40 or 64 hex digits; inside quotes spaces may group them.
 *            Stored in upper case without spaces.
 *   FIELD    url (http:// or https:// with a host; no whitespace, control
 *            characters, '"', '<', '>' or '\'); product, vuln-type,
 *            threat, description, title (a TEXT); impact
 *            priority|normal|simple; verifiable yes|no; fix-kind
 *            fix|workaround|page-deleted; check-wanted yes|no; lang ja|en.
 *   CLOCK    investigation, fix, completion, contact, first-reply.
 *   PERIOD   as cal_period_parse() reads it: "20bd", "10d", "2w", "3M".
 *   EVENT    published, priority-provided, gov-notified,
 *            coordinator-update, checked.
 *   OUTCOME  an outcome code of the rules. When it needs a reason, CODE
 *            must be a code of web_end (if the outcome applies to web
 *            cases) or product_end (if to product cases); whether it fits
 *            the case's kind is checked when the command is applied.
 *
 * Every line is at most COMMAND_LINE_MAX bytes of valid UTF-8 without
 * control characters other than TAB (no CR, LF, NUL, DEL, C1, U+2028 or
 * U+2029), so no command can carry a header or a line break into a mail.
 * Each TEXT and WORD value is at most COMMAND_TEXT_MAX bytes. A required
 * TEXT must hold more than blanks; an optional TEXT that is empty or blank
 * (such as "") counts as not given.
 *
 * Errors: TDK_ESYNTAX for the shape of the line (unknown command, missing
 * or extra tokens, bad quoting), TDK_EINVAL for a bad value (case number,
 * address, code, period, date, ...), TDK_ELIMIT for a line, text or script
 * over its cap. err gets a one-line message naming the verb and the
 * offending token, e.g. "accept: expected 'web' or 'product', got 'webb'".
 *
 * Memory: every string of a struct command is allocated with GLib and
 * owned by it; command_free() releases one command with its strings
 * (NULL is fine), command_free_all() a vector from command_parse_script()
 * with its commands. command_to_text() returns a string to g_free(). On
 * failure nothing is returned (*out is NULL). The functions keep no state
 * and are thread-safe; fmt and rules are only read.
 */
#ifndef TODOKE_COMMAND_H
#define TODOKE_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "casenum.h"
#include "civil.h"
#include "rules.h"
#include "status.h"

#define COMMAND_LINE_MAX 8192     /* bytes in one line, without its end */
#define COMMAND_TEXT_MAX 4096     /* bytes in one TEXT or WORD value */
#define COMMAND_ADDRESS_MAX 254   /* bytes in a party's address */
#define COMMAND_SCRIPT_MAX 10000  /* commands in one script */

enum cmd_verb {
	CMD_ACCEPT = 1, CMD_REJECT, CMD_PARTY, CMD_SET, CMD_SEND, CMD_CONTACTED,
	CMD_EXTEND, CMD_PAUSE, CMD_RESUME, CMD_UNREACHABLE, CMD_REOPEN,
	CMD_CLOSE, CMD_HOLD, CMD_RELEASE, CMD_NOTE, CMD_RECORD
};

enum cmd_role {
	CMD_ROLE_DISCOVERER = 1, CMD_ROLE_OPERATOR, CMD_ROLE_DEVELOPER,
	CMD_ROLE_COORDINATOR, CMD_ROLE_STAFF_CC
};

enum cmd_send {
	CMD_SEND_STAGE1 = 1, CMD_SEND_STAGE2, CMD_SEND_FORWARD, CMD_SEND_REMINDER
};

enum cmd_clock {
	CMD_CLOCK_INVESTIGATION = 1, CMD_CLOCK_FIX, CMD_CLOCK_COMPLETION,
	CMD_CLOCK_CONTACT, CMD_CLOCK_FIRST_REPLY
};

enum cmd_record {
	CMD_REC_PUBLISHED = 1, CMD_REC_PRIORITY_PROVIDED, CMD_REC_GOV_NOTIFIED,
	CMD_REC_COORDINATOR_UPDATE, CMD_REC_CHECKED
};

/*
 * One parsed command. Members a verb does not use are 0 or NULL; optional
 * arguments not given are NULL.
 */
struct command {
	enum cmd_verb verb;
	uint64_t case_number;      /* numeric value, >= 1 */
	char *case_text;           /* canonical, e.g. "IPA#00000012" */
	int kind;                  /* accept: RULE_KIND_WEB or RULE_KIND_PRODUCT */
	char *code;                /* reject: not_accepted code; close: end
	                              reason code (outcomes needing one) */
	char *outcome;             /* close: outcome code */
	char *text;                /* reject, contacted, close, record: optional
	                              text; note: the note; extend, pause: the
	                              reason */
	enum cmd_role role;        /* party */
	char *address;             /* party: as typed */
	char *name, *lang, *key, *postal; /* party options: name, "ja"/"en",
	                                     fingerprint (upper-case hex), postal
	                                     address */
	char *field, *value;       /* set: canonical field name and value
	                              ("yes"/"no", "priority", the URL, text) */
	enum cmd_send send;        /* send */
	char *channel;             /* contacted: "post" or "phone" */
	enum cmd_clock clock;      /* extend */
	struct cal_period period;  /* extend */
	enum cmd_record record;    /* record */
	civil_day date;            /* record: CAL_FIRST_YEAR..CAL_LAST_YEAR */
};

/*
 * Parses one command line (no line end). A blank or comment line is an
 * error here ("empty command"). TDK_EINVAL also for NULL arguments or a
 * format casenum_format_check() refuses.
 */
int command_parse(const char *line, const struct casenum_format *fmt,
		  const struct rules *rules, struct command **out, tdk_err *err);

/*
 * Parses a script of len bytes: lines end with LF or CRLF (the last may
 * have no end); a UTF-8 byte order mark at the start is skipped; blank
 * lines and lines whose first non-blank character is '#' are skipped (but
 * must obey the line rules too: length, UTF-8, no control characters or
 * NUL). All or nothing: the first bad line fails the whole script with
 * "line N: <message>" (N counts every line from 1). On success *out is a
 * NULL-terminated vector of *n commands (an empty vector when the script
 * holds none), released with command_free_all(); on failure *out is NULL
 * and *n 0. More than COMMAND_SCRIPT_MAX commands is TDK_ELIMIT.
 */
int command_parse_script(const char *text, size_t len,
			 const struct casenum_format *fmt,
			 const struct rules *rules, struct command ***out,
			 size_t *n, tdk_err *err);

void command_free(struct command *c);                  /* NULL is fine */
void command_free_all(struct command **v, size_t n);   /* NULL is fine */

/*
 * The command as one canonical line: lower-case verb and values, the
 * canonical case number, single spaces, WORDs quoted only when they must
 * be, TEXTs unquoted when that reads back the same. command_parse() of it
 * gives an equal command; the line is never longer than the one parsed
 * except that the case number may grow to its full width. g_free() it.
 * NULL for NULL or a command this module could not have produced.
 */
char *command_to_text(const struct command *c);

/* Canonical names ("accept", "staff-cc", "stage1", "first-reply",
 * "gov-notified"); never NULL ("?" for a value outside the enum). */
const char *command_verb_name(enum cmd_verb v);
const char *command_role_name(enum cmd_role r);
const char *command_send_name(enum cmd_send s);
const char *command_clock_name(enum cmd_clock c);
const char *command_record_name(enum cmd_record r);

/* Reverse lookups, case-insensitive: TDK_OK, or TDK_EINVAL for an unknown
 * or NULL name (then *out is unchanged). */
int command_verb_from_name(const char *name, enum cmd_verb *out);
int command_role_from_name(const char *name, enum cmd_role *out);
int command_send_from_name(const char *name, enum cmd_send *out);
int command_clock_from_name(const char *name, enum cmd_clock *out);
int command_record_from_name(const char *name, enum cmd_record *out);

#endif
