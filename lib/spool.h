/*
 * spool.h - the intake spool: the durable hand-off from the milter to the
 * processor.
 *
 * Owns: the spool's on-disk format (one LMDB environment in its own
 * directory), the durable writer with group commit that the milter calls
 * from every SMTP session thread, the reader the processor uses, and the
 * JSON rendering of an entry (spool_json.c) for todokectl and the logs.
 *
 * The milter answers "accept" only after spool_put() returned TDK_OK: by
 * then the entry is committed with fsync. Any other status (TDK_EFULL,
 * TDK_EIO, ...) means nothing of the entry was kept and the milter must
 * answer "temporary failure" so that the MTA retries.
 *
 * On disk (format version 1): named databases
 *   entries     key: id as 8 bytes big-endian; value: the encoded record
 *   quarantine  same keys; value: the raw bytes of a record that did not
 *               decode, moved here by spool_quarantine()
 *   meta        "format" -> 1 byte (1), "next_id" -> 8 bytes big-endian
 * The record is a serialized GVariant of type (ya{sv}) in the host's byte
 * order (as LMDB's own files are): a format version byte (1, always the
 * record's first byte) and a dictionary of the entry's fields:
 *   received x, class y, crypto y, original ay      (required)
 *   queue_id, envelope_from, class_reason, message_id, subject,
 *   from_header, case_subject, case_body, bounce_token, bounce_recipient,
 *   crypto_detail                                    ay (text)
 *   recipients, thread_refs, foreign_tags            aay (text)
 *   signatures a(ymayxb): state, fingerprint (text) or nothing, created,
 *                         inside_encryption
 *   decrypted ay
 * Text is a NUL-terminated byte string ("ay"), so no byte of a hostile
 * header is changed or refused. A missing key is a NULL field (or an
 * empty array); a reader ignores keys it does not know, so a new optional
 * field needs no new version. The enum numbers below are part of the
 * format and must never change.
 *
 * Thread safety: every function may be called from any thread on one
 * struct spool, except spool_close(), which must come after all others.
 * Ids are allocated in sequence in the same transaction as the entry, are
 * never reused, and keep increasing across restarts.
 */
#ifndef TODOKE_SPOOL_H
#define TODOKE_SPOOL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* From json-glib; only spool_json.c needs its header. */
typedef struct _JsonNode JsonNode;

enum spool_class {
	SPOOL_REPORT = 1,
	SPOOL_REPLY,
	SPOOL_COMMAND,
	SPOOL_BOUNCE,
	SPOOL_AUTO_REPLY
};
enum spool_crypto {
	SPOOL_PLAIN = 0,
	SPOOL_DECRYPTED,
	SPOOL_DECRYPT_FAILED,
	SPOOL_DECRYPT_DEFERRED
};
enum spool_sig {
	SPOOL_SIG_GOOD = 1,
	SPOOL_SIG_BAD,
	SPOOL_SIG_UNKNOWN_KEY,
	SPOOL_SIG_EXPIRED_KEY,
	SPOOL_SIG_REVOKED_KEY,
	SPOOL_SIG_ERROR
};

struct spool_signature {
	enum spool_sig state;
	char *fingerprint;      /* or NULL */
	int64_t created;        /* UTC seconds */
	bool inside_encryption;
};

/*
 * One captured mail. Every pointer member is owned by the entry and freed
 * by spool_entry_free() (strings with g_free, char ** arrays with
 * g_strfreev: they are NULL-terminated, and n_* counts their members).
 * An entry read back by spool_get() has NULL (and a count of 0) for an
 * empty array, and NULL exactly where the stored entry had NULL.
 */
struct spool_entry {
	uint64_t id;              /* assigned by spool_put; 0 before */
	int64_t received;         /* UTC seconds (the caller's injected clock) */
	char *queue_id;           /* MTA queue id; "" in test mode */
	char *envelope_from;      /* "" for the null sender */
	char **recipients;        /* envelope recipients */
	size_t n_recipients;
	enum spool_class classification;
	char *class_reason;       /* short, e.g. "Auto-Submitted: auto-replied" */
	char *message_id;
	char *subject;            /* decoded to UTF-8 */
	char *from_header;
	char *case_subject;       /* canonical case number from the subject, or NULL */
	char *case_body;          /* from a 取扱番号 line, or NULL */
	char **thread_refs;       /* In-Reply-To/References ids */
	size_t n_thread_refs;
	char **foreign_tags;
	size_t n_foreign_tags;
	char *bounce_token;       /* bounces only, else NULL */
	char *bounce_recipient;   /* bounces only, else NULL */
	enum spool_crypto crypto;
	char *crypto_detail;      /* why failed/deferred, or NULL */
	struct spool_signature *signatures; /* g_free'd array, fingerprints g_free'd */
	size_t n_signatures;
	GBytes *original;         /* the message exactly as received; required */
	GBytes *decrypted;        /* the decrypted MIME, or NULL */
};

/* Frees every member and the entry itself. NULL is allowed. */
void spool_entry_free(struct spool_entry *e);

/* Static names ("report", "plain", "good", ...), or NULL for a value that
 * is not a member of the enum. */
const char *spool_class_name(enum spool_class c);
const char *spool_crypto_name(enum spool_crypto c);
const char *spool_sig_name(enum spool_sig s);
/* The reverse: TDK_OK, or TDK_EINVAL for an unknown or NULL name. */
int spool_class_from_name(const char *name, enum spool_class *out);
int spool_crypto_from_name(const char *name, enum spool_crypto *out);
int spool_sig_from_name(const char *name, enum spool_sig *out);

/* The record encoding, exposed for tools and tests. spool_encode returns
 * TDK_EINVAL for an entry that cannot be stored (no original, an enum out
 * of range, a NULL member inside an array). spool_decode returns
 * TDK_ECORRUPT for bytes that are not a version 1 record; it never crashes
 * on any input. The id is not part of the record: decode sets it to id. */
int spool_encode(const struct spool_entry *e, GBytes **out, tdk_err *err);
int spool_decode(GBytes *record, uint64_t id, struct spool_entry **out,
		 tdk_err *err);

struct spool;

enum spool_open_flags {
	SPOOL_READONLY = 1 << 0, /* reader only; the spool must exist */
};

/*
 * Opens (and, unless SPOOL_READONLY, creates: directory mode 0700, files
 * 0600) the spool in dir. map_size is the most the spool may hold, in
 * bytes (rounded up to a page; 0 means LMDB's default of 1 MiB, or the
 * size of an existing spool if larger). Refuses with TDK_EPERM a directory
 * (or spool file) that others may read or write, one that is
 * group-writable, or, for writing, one the process cannot write;
 * TDK_ENOENT for a missing spool opened read-only; TDK_ECORRUPT for a
 * spool of an unknown format version.
 */
int spool_open(const char *dir, size_t map_size, unsigned flags,
	       struct spool **out, tdk_err *err);
/*
 * The same for a spool shared through a group (spool.group): the milter
 * writes it, the processor reads and deletes, and every LMDB reader
 * writes lock.mdb. A NULL or empty group is spool_open(). Otherwise the
 * directory is created setgid with mode 2770 and that group, the files
 * get mode 0660 and the group, and group write is accepted on them only
 * when they belong to that group. TDK_EINVAL for an unknown group.
 */
int spool_open_shared(const char *dir, size_t map_size, unsigned flags,
		      const char *group, struct spool **out, tdk_err *err);
/* NULL is allowed. No other call on sp may be running or follow. */
void spool_close(struct spool *sp);

/*
 * Stores e durably and sets e->id. Returns TDK_OK only once the entry is
 * committed to disk with fsync. Concurrent callers are committed together
 * (group commit): one of them writes the whole queue in one transaction
 * and one fsync. A failed batch is reported to each of its callers and
 * nothing of it is kept: TDK_EFULL ("spool full", also for a full disk),
 * TDK_EIO (any other storage failure), TDK_EINVAL (e cannot be stored:
 * reported for e alone), TDK_ESTATE (read-only spool). e->id stays 0 on
 * failure. e itself is not changed otherwise and stays the caller's.
 */
int spool_put(struct spool *sp, struct spool_entry *e, tdk_err *err);

/* Reads entry id: TDK_OK, TDK_ENOENT (never stored, deleted or
 * quarantined) or TDK_ECORRUPT (the record does not decode: report it and
 * call spool_quarantine). *out is the caller's, for spool_entry_free. */
int spool_get(struct spool *sp, uint64_t id, struct spool_entry **out,
	      tdk_err *err);
/* Fills ids[0..*n) with up to max ids greater than after_id, in increasing
 * order. Quarantined entries are not listed. */
int spool_list(struct spool *sp, uint64_t after_id, size_t max,
	       uint64_t *ids, size_t *n, tdk_err *err);
/* Numbers of entries and of quarantined records (either pointer may be
 * NULL). */
int spool_count(struct spool *sp, size_t *entries, size_t *quarantined,
		tdk_err *err);
/* Removes entry id (after the processor has consumed it): TDK_ENOENT if
 * it is not there. Durable on return. */
int spool_delete(struct spool *sp, uint64_t id, tdk_err *err);
/*
 * Overwrites with zeros the spool file's free pages, where deleted
 * entries (reports, decrypted reports) leave their bytes (scrub.h). Not
 * for a spool opened read-only. *pages (may be NULL): pages written.
 */
int spool_scrub(struct spool *sp, size_t *pages, tdk_err *err);
/* Removes those of the entries ids[0..n) that are there, in one
 * transaction (one fsync for all); *deleted (may be NULL) tells how many
 * were. Durable on return. */
int spool_delete_many(struct spool *sp, const uint64_t *ids, size_t n,
		      size_t *deleted, tdk_err *err);
/* Moves the raw bytes of entry id, as they are, into the quarantine
 * database in one transaction; it is no longer listed or returned by
 * spool_get. TDK_ENOENT if id is not an entry. */
int spool_quarantine(struct spool *sp, uint64_t id, tdk_err *err);
/* The raw bytes of a quarantined record (for inspection and repair). */
int spool_quarantined_get(struct spool *sp, uint64_t id, GBytes **raw,
			  tdk_err *err);

struct spool_stats {
	uint64_t puts;           /* entries committed by spool_put */
	uint64_t commits;        /* transactions committed by spool_put */
	uint64_t failed_puts;    /* spool_put calls that failed in a batch */
	uint64_t failed_commits; /* batches that failed */
	uint64_t max_batch;      /* most entries committed in one transaction */
};

/* Counters since spool_open, for this process. */
void spool_stats(struct spool *sp, struct spool_stats *out);

/*
 * JSON (spool_json.c, json-glib). Every field by name; NULL fields are
 * null; the enums by their names; times as ISO 8601 UTC
 * ("2026-11-22T10:00:00Z", null outside years 1..9999); text that is not
 * valid UTF-8 is repaired with U+FFFD. "original_size" and
 * "decrypted_size" (null without decrypted) are always there; with_bodies
 * adds "original" and "decrypted" as text when they are valid UTF-8
 * without NUL bytes, else "original_base64" / "decrypted_base64".
 */
JsonNode *spool_entry_to_json(const struct spool_entry *e, bool with_bodies);
/* The same as text (g_free it); pretty: indented over several lines. */
char *spool_entry_to_json_text(const struct spool_entry *e, bool with_bodies,
			       bool pretty);

#endif
