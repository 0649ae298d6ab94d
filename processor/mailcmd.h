/*
 * mailcmd.h - staff commands by signed mail: who signed a command mail,
 * which text the signature covers, and the commands in it.
 *
 * Owns: the mailcmd_ module. mailcmd.c turns a spool entry of class
 * "command" (mail to desk.control_address) into a struct mailcmd: the
 * authentication verdict and its precise reason, the staff key that
 * signed (even when refused, so that the refusal can be told to it), the
 * text the one signature covers, the replay key of that signature, and
 * each command line parsed (or why not). mailcmd_transcript.c writes the
 * transcript reply. Nothing here opens the store: the replay check, the
 * application of the commands and the transcript intent are the engine's
 * (engine_mailcmd.c), in one store transaction.
 *
 * Authentication is by OpenPGP signature alone, as the milter checked it
 * at SMTP time (spool signatures), never by a header. In order:
 *   - the OpenPGP work must have been completed at intake (crypto not
 *     decrypt-failed or decrypt-deferred);
 *   - exactly one signature, and it is good (not bad, not by an unknown,
 *     expired or revoked key);
 *   - its key (the primary key's full fingerprint) is in staff.keys;
 *   - it was made within staff.signature_window_past before and
 *     staff.signature_window_future after the processor's now;
 *   - exactly one signed text can be found, and it is the one the
 *     signature covers (below);
 *   - the mail has a Message-ID.
 *
 * The signed text. The MIME tree is walked the way the milter walked it
 * (lib/intake.c), counting the places a signature can come from: each
 * multipart/signed whose second part is a leaf (PGP/MIME; the text is the
 * text/plain parts of its first part, attachments excepted), and each
 * clearsigned block in a text part (the text between its armor header
 * and "-----BEGIN PGP SIGNATURE-----", dash-escaping undone). When the
 * whole mail is multipart/encrypted, its decrypted content is walked, and
 * if it holds no signed part the signature came from the decryption: the
 * signed text is then the text of the whole decrypted content. Anything
 * else is refused: two signed parts, an encrypted part inside the mail,
 * an inline "BEGIN PGP MESSAGE" block, a clearsigned block with armor
 * headers other than Hash, or with a line starting "-----" inside it.
 * Text outside the signed part is never read. Lines are compared without
 * their trailing blanks (OpenPGP ignores them in clearsigned text).
 *
 * Replay key: SHA-256 over the signer's fingerprint, the signature's
 * creation time and the signed text (normalised as above). Not the
 * signature packet's bytes: those are malleable without the key (its
 * unhashed subpackets, packet length encoding and armor can all change
 * and gpg still says "good"), and for encrypted-and-signed mail the
 * packet is inside the encryption and not in the spool entry. The three
 * inputs are fixed by the signature itself: no one without the key can
 * change any of them and keep a good signature.
 *
 * Command lines, from the signed text: a byte-order mark is skipped;
 * lines starting with ">" (quoted text, after optional blanks) and with
 * "#", and blank lines are skipped; a line "--" (a mail signature
 * separator, trailing blanks ignored) or a line whose first word is a
 * stop word ("thanks", "thank", "quit", "stop", any case: "Thanks!",
 * "thank you, Alice") ends the commands.
 * Each other line is one command of command.h. A command whose first
 * token after the verb is not a case number (does not start with the
 * configured prefix) gets the default case inserted there: the case
 * number of a Subject the signature covers (a protected Subject header
 * inside the signed part or inside the encrypted-and-signed content), or
 * with staff.subject_case = "any" the mail's Subject as the milter read
 * it (which anyone on the path can change). A verb in staff.lead_only
 * needs a key of role lead.
 *
 * Memory: a struct mailcmd owns everything in it (signer points into the
 * configuration); mailcmd_free() releases it (NULL is fine). Strings
 * returned by the other functions are g_free()d by the caller. GMime
 * must have been initialised.
 */
#ifndef TODOKE_MAILCMD_H
#define TODOKE_MAILCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "casenum.h"
#include "command.h"
#include "conf.h"
#include "rules.h"
#include "spool.h"
#include "status.h"

#define MAILCMD_TEXT_MAX (256 * 1024) /* bytes of signed text read */
#define MAILCMD_LINES_MAX 1000        /* commands in one mail */

enum mailcmd_auth {
	MAILCMD_AUTH_OK = 0,
	MAILCMD_AUTH_UNCHECKED,  /* OpenPGP failed or was deferred at intake */
	MAILCMD_AUTH_UNSIGNED,   /* no signature */
	MAILCMD_AUTH_MANY,       /* more than one signature */
	MAILCMD_AUTH_BAD,        /* a bad signature: the text was changed */
	MAILCMD_AUTH_KEY,        /* unknown, expired or revoked key; gpg error */
	MAILCMD_AUTH_NOT_STAFF,  /* good, but not a key of staff.keys */
	MAILCMD_AUTH_TIME,       /* made outside the window */
	MAILCMD_AUTH_FORM,       /* no single signed text can be found */
	MAILCMD_AUTH_NO_ID,      /* no Message-ID */
	MAILCMD_AUTH_REPLAY,     /* already used (set by the engine) */
};

struct mailcmd_line {
	size_t lineno;          /* in the signed text, from 1 */
	char *text;             /* as written, trailing blanks removed */
	char *effective;        /* with the default case inserted, or NULL */
	struct command *cmd;    /* parsed, or NULL */
	char *error;            /* why it cannot be applied, or NULL */
	bool applied;           /* set by the engine */
};

struct mailcmd {
	enum mailcmd_auth auth;
	char *reason;           /* why it is refused; NULL when auth is OK */
	const struct tdk_staff_key *signer; /* a staff key a signature names,
					       also when refused; or NULL */
	char *fingerprint;      /* of the single signature, or NULL */
	int64_t signed_at;      /* its creation time */
	char *message_id;       /* without <>, or NULL */
	const char *form;       /* "PGP/MIME", "clearsigned", "encrypted and
				   signed" (static), or NULL */
	char *default_case;     /* canonical case number, or NULL */
	char *unsigned_case;    /* a Subject's case the signature does not
				   cover (when it is not used), or NULL */
	char *text;             /* the signed text, normalised */
	uint8_t replay_key[32]; /* when auth is OK */
	struct mailcmd_line *lines;
	size_t n_lines;
	size_t n_errors;        /* lines with an error */
};

struct mailcmd_policy {
	const struct tdk_config *config;  /* staff.* settings */
	const struct rules *rules;        /* for the command parser */
	struct casenum_format format;
};

/*
 * Reads a command mail. TDK_OK whenever a verdict was reached (also a
 * refusal: see m->auth); TDK_EINVAL for an entry that is not a command
 * mail or has no original, TDK_ENOMEM.
 */
int mailcmd_read(const struct mailcmd_policy *p, const struct spool_entry *e,
		 int64_t now, struct mailcmd **out, tdk_err *err);
void mailcmd_free(struct mailcmd *m);

/* A name for logs and counters: "ok", "unchecked", "unsigned", "many",
 * "bad", "key", "not-staff", "time", "form", "no-message-id", "replay". */
const char *mailcmd_auth_name(enum mailcmd_auth a);

/* --- the parts of mailcmd_read, for tests --- */

/*
 * The text the entry's one signature covers (see above), normalised, in
 * *text; *form as above; *subject the raw Subject header covered by the
 * signature, or NULL. TDK_OK, or TDK_EINVAL with the reason in err.
 * inside_encryption is the signature's flag from the spool.
 */
int mailcmd_signed_text(const struct spool_entry *e, bool inside_encryption,
			char **text, const char **form, char **subject,
			tdk_err *err);

/*
 * The command lines of a signed text: a NULL-terminated vector of the
 * lines (trailing blanks removed) to parse, and their line numbers in
 * *linenos (g_free); *stopped tells whether a stop word or "--" ended
 * them. g_strfreev the vector.
 */
char **mailcmd_command_lines(const char *text, size_t **linenos, bool *stopped);

/* line with default_case inserted after the verb, when the verb is known
 * and its next token is not a case number (does not start with the
 * prefix, case-insensitively, after an optional '"'); else NULL. */
char *mailcmd_with_case(const char *line, const char *default_case,
			const struct casenum_format *fmt);

/* The replay key of a signature (see above). */
void mailcmd_replay_key(const char *fingerprint, int64_t created,
			const char *text, uint8_t out[32]);

/*
 * The transcript reply (mailcmd_transcript.c): the mail's Message-ID and
 * signature, the verdict, each command line with its result (or the
 * precise reason it was refused, and "not applied" for the others when
 * one line fails), and cases: the touched cases' new states and due
 * dates, one per line, already formatted (may be NULL). g_free it.
 */
char *mailcmd_transcript(const struct mailcmd *m, bool applied,
			 const char *cases, const struct cal *cal);

#endif
