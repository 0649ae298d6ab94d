/*
 * spool.c - the intake spool: record encoding, the durable writer with
 * group commit, and the reader.
 *
 * Group commit: spool_put() encodes its entry outside any lock, then
 * queues it. If no batch is being written, the caller becomes the leader:
 * it takes the queue (up to BATCH_MAX_ENTRIES / BATCH_MAX_BYTES), writes
 * every entry in one LMDB write transaction, commits it once (LMDB's
 * commit is synchronous: fsync of the data, then of the meta page) and
 * hands each caller of the batch its own id, or the batch's one failure.
 * While a leader waits for the disk, later callers queue up and form the
 * next batch; one of them leads it once the current batch is done.
 *
 * Every LMDB transaction of this process runs under txn_lock held for
 * reading; it is taken for writing only to adopt a map that another
 * process grew (MDB_MAP_RESIZED), which LMDB allows only while this
 * process has no transaction open.
 */
#include "spool.h"
#include "lmdb_lock.h"
#include "bigendian.h"
#include "log.h"
#include "scrub.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_FORMAT 1
#define RECORD_TYPE "(ya{sv})"
#define SIGS_TYPE "a(ymayxb)"
#define BATCH_MAX_ENTRIES 1024
#define BATCH_MAX_BYTES ((size_t)64 << 20)

#define DB_ENTRIES "entries"
#define DB_QUARANTINE "quarantine"
#define DB_META "meta"
#define META_FORMAT "format"
#define META_NEXT_ID "next_id"

/* ------------------------------------------------------------------ */
/* Names */

static const char *const class_names[] = {
	[SPOOL_REPORT] = "report",   [SPOOL_REPLY] = "reply",
	[SPOOL_COMMAND] = "command", [SPOOL_BOUNCE] = "bounce",
	[SPOOL_AUTO_REPLY] = "auto-reply",
};
static const char *const crypto_names[] = {
	[SPOOL_PLAIN] = "plain",
	[SPOOL_DECRYPTED] = "decrypted",
	[SPOOL_DECRYPT_FAILED] = "decrypt-failed",
	[SPOOL_DECRYPT_DEFERRED] = "decrypt-deferred",
};
static const char *const sig_names[] = {
	[SPOOL_SIG_GOOD] = "good",
	[SPOOL_SIG_BAD] = "bad",
	[SPOOL_SIG_UNKNOWN_KEY] = "unknown-key",
	[SPOOL_SIG_EXPIRED_KEY] = "expired-key",
	[SPOOL_SIG_REVOKED_KEY] = "revoked-key",
	[SPOOL_SIG_ERROR] = "error",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, long value)
{
	if (value < 0 || (size_t)value >= n)
		return NULL;
	return names[value];
}

static int value_of(const char *const *names, size_t n, const char *name,
		    int *out)
{
	if (name == NULL)
		return TDK_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], name) == 0) {
			*out = (int)i;
			return TDK_OK;
		}
	}
	return TDK_EINVAL;
}

const char *spool_class_name(enum spool_class c)
{
	return name_of(class_names, N_OF(class_names), (long)c);
}

const char *spool_crypto_name(enum spool_crypto c)
{
	return name_of(crypto_names, N_OF(crypto_names), (long)c);
}

const char *spool_sig_name(enum spool_sig s)
{
	return name_of(sig_names, N_OF(sig_names), (long)s);
}

int spool_class_from_name(const char *name, enum spool_class *out)
{
	int v, rc = value_of(class_names, N_OF(class_names), name, &v);

	if (rc == TDK_OK && out != NULL)
		*out = (enum spool_class)v;
	return rc;
}

int spool_crypto_from_name(const char *name, enum spool_crypto *out)
{
	int v, rc = value_of(crypto_names, N_OF(crypto_names), name, &v);

	if (rc == TDK_OK && out != NULL)
		*out = (enum spool_crypto)v;
	return rc;
}

int spool_sig_from_name(const char *name, enum spool_sig *out)
{
	int v, rc = value_of(sig_names, N_OF(sig_names), name, &v);

	if (rc == TDK_OK && out != NULL)
		*out = (enum spool_sig)v;
	return rc;
}

/* ------------------------------------------------------------------ */
/* The entry */

void spool_entry_free(struct spool_entry *e)
{
	if (e == NULL)
		return;
	g_free(e->queue_id);
	g_free(e->envelope_from);
	g_strfreev(e->recipients);
	g_free(e->class_reason);
	g_free(e->message_id);
	g_free(e->subject);
	g_free(e->from_header);
	g_free(e->case_subject);
	g_free(e->case_body);
	g_strfreev(e->thread_refs);
	g_strfreev(e->foreign_tags);
	g_free(e->bounce_token);
	g_free(e->bounce_recipient);
	g_free(e->crypto_detail);
	if (e->signatures != NULL) {
		for (size_t i = 0; i < e->n_signatures; i++)
			g_free(e->signatures[i].fingerprint);
		g_free(e->signatures);
	}
	if (e->original != NULL)
		g_bytes_unref(e->original);
	if (e->decrypted != NULL)
		g_bytes_unref(e->decrypted);
	g_free(e);
}

/* ------------------------------------------------------------------ */
/* The record: (ya{sv}), version byte first, one dictionary key a field */

enum field_kind {
	F_INT64,  /* x */
	F_STR,    /* ay, NUL-terminated, no NUL inside */
	F_STRV,   /* aay of the above */
	F_CLASS,  /* y */
	F_CRYPTO, /* y */
	F_BYTES,  /* ay, raw */
	F_SIGS,   /* a(ymayxb) */
};

struct field {
	const char *key;
	enum field_kind kind;
	size_t offset;       /* of the member in struct spool_entry */
	size_t count_offset; /* F_STRV, F_SIGS: of the n_* member */
	bool required;
};

#define AT(m) offsetof(struct spool_entry, m)
static const struct field fields[] = {
	{ "received", F_INT64, AT(received), 0, true },
	{ "queue_id", F_STR, AT(queue_id), 0, false },
	{ "envelope_from", F_STR, AT(envelope_from), 0, false },
	{ "recipients", F_STRV, AT(recipients), AT(n_recipients), false },
	{ "class", F_CLASS, AT(classification), 0, true },
	{ "class_reason", F_STR, AT(class_reason), 0, false },
	{ "message_id", F_STR, AT(message_id), 0, false },
	{ "subject", F_STR, AT(subject), 0, false },
	{ "from_header", F_STR, AT(from_header), 0, false },
	{ "case_subject", F_STR, AT(case_subject), 0, false },
	{ "case_body", F_STR, AT(case_body), 0, false },
	{ "thread_refs", F_STRV, AT(thread_refs), AT(n_thread_refs), false },
	{ "foreign_tags", F_STRV, AT(foreign_tags), AT(n_foreign_tags), false },
	{ "bounce_token", F_STR, AT(bounce_token), 0, false },
	{ "bounce_recipient", F_STR, AT(bounce_recipient), 0, false },
	{ "crypto", F_CRYPTO, AT(crypto), 0, true },
	{ "crypto_detail", F_STR, AT(crypto_detail), 0, false },
	{ "signatures", F_SIGS, AT(signatures), AT(n_signatures), false },
	{ "original", F_BYTES, AT(original), 0, true },
	{ "decrypted", F_BYTES, AT(decrypted), 0, false },
};
#undef AT

_Static_assert(N_OF(fields) <= 32, "fields are tracked in a 32-bit mask");

#define MEMBER(e, f, type) ((type *)((char *)(e) + (f)->offset))
#define CMEMBER(e, f, type) ((type const *)((const char *)(e) + (f)->offset))
#define COUNT(e, f) ((size_t *)((char *)(e) + (f)->count_offset))
#define CCOUNT(e, f) ((const size_t *)((const char *)(e) + (f)->count_offset))

/* One field's value, or NULL when the field is absent (NULL / empty). */
static GVariant *encode_field(const struct spool_entry *e,
			      const struct field *f, tdk_err *err, int *rc)
{
	GVariantBuilder b;

	switch (f->kind) {
	case F_INT64:
		return g_variant_new_int64(*CMEMBER(e, f, int64_t));
	case F_STR: {
		const char *s = *CMEMBER(e, f, char *);

		return s != NULL ? g_variant_new_bytestring(s) : NULL;
	}
	case F_STRV: {
		char *const *v = *CMEMBER(e, f, char **);
		size_t n = *CCOUNT(e, f);

		if (n == 0)
			return NULL;
		if (v == NULL) {
			*rc = tdk_err_set(err, TDK_EINVAL,
					  "spool entry: %s has %zu members but no array",
					  f->key, n);
			return NULL;
		}
		g_variant_builder_init(&b, G_VARIANT_TYPE_BYTESTRING_ARRAY);
		for (size_t i = 0; i < n; i++) {
			if (v[i] == NULL) {
				g_variant_builder_clear(&b);
				*rc = tdk_err_set(err, TDK_EINVAL,
						  "spool entry: %s[%zu] is NULL",
						  f->key, i);
				return NULL;
			}
			g_variant_builder_add_value(&b, g_variant_new_bytestring(v[i]));
		}
		return g_variant_builder_end(&b);
	}
	case F_CLASS: {
		enum spool_class c = *CMEMBER(e, f, enum spool_class);

		if (spool_class_name(c) == NULL) {
			*rc = tdk_err_set(err, TDK_EINVAL,
					  "spool entry: classification %d is not valid",
					  (int)c);
			return NULL;
		}
		return g_variant_new_byte((guint8)c);
	}
	case F_CRYPTO: {
		enum spool_crypto c = *CMEMBER(e, f, enum spool_crypto);

		if (spool_crypto_name(c) == NULL) {
			*rc = tdk_err_set(err, TDK_EINVAL,
					  "spool entry: crypto state %d is not valid",
					  (int)c);
			return NULL;
		}
		return g_variant_new_byte((guint8)c);
	}
	case F_BYTES: {
		GBytes *bytes = *CMEMBER(e, f, GBytes *);

		if (bytes == NULL) {
			if (f->required)
				*rc = tdk_err_set(err, TDK_EINVAL,
						  "spool entry: no %s message",
						  f->key);
			return NULL;
		}
		return g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING,
						bytes, TRUE);
	}
	case F_SIGS: {
		const struct spool_signature *sigs =
			*CMEMBER(e, f, struct spool_signature *);
		size_t n = *CCOUNT(e, f);

		if (n == 0)
			return NULL;
		if (sigs == NULL) {
			*rc = tdk_err_set(err, TDK_EINVAL,
					  "spool entry: %zu signatures but no array",
					  n);
			return NULL;
		}
		g_variant_builder_init(&b, G_VARIANT_TYPE(SIGS_TYPE));
		for (size_t i = 0; i < n; i++) {
			const struct spool_signature *s = &sigs[i];

			if (spool_sig_name(s->state) == NULL) {
				g_variant_builder_clear(&b);
				*rc = tdk_err_set(err, TDK_EINVAL,
						  "spool entry: signature %zu has state %d",
						  i, (int)s->state);
				return NULL;
			}
			g_variant_builder_add_value(
				&b,
				g_variant_new("(y@mayxb)", (guint8)s->state,
					      g_variant_new_maybe(
						      G_VARIANT_TYPE_BYTESTRING,
						      s->fingerprint != NULL
							      ? g_variant_new_bytestring(s->fingerprint)
							      : NULL),
					      (gint64)s->created,
					      (gboolean)s->inside_encryption));
		}
		return g_variant_builder_end(&b);
	}
	}
	return NULL;
}

int spool_encode(const struct spool_entry *e, GBytes **out, tdk_err *err)
{
	GVariantBuilder dict;
	GVariant *record;
	int rc = TDK_OK;

	if (e == NULL || out == NULL)
		return tdk_err_set(err, TDK_EINVAL, "spool_encode: NULL argument");
	*out = NULL;
	g_variant_builder_init(&dict, G_VARIANT_TYPE_VARDICT);
	for (size_t i = 0; i < N_OF(fields); i++) {
		GVariant *v = encode_field(e, &fields[i], err, &rc);

		if (rc != TDK_OK) {
			g_variant_builder_clear(&dict);
			return rc;
		}
		if (v != NULL)
			g_variant_builder_add(&dict, "{sv}", fields[i].key, v);
	}
	record = g_variant_ref_sink(g_variant_new("(y@a{sv})", (guint8)SPOOL_FORMAT,
						  g_variant_builder_end(&dict)));
	*out = g_variant_get_data_as_bytes(record);
	g_variant_unref(record);
	return TDK_OK;
}

/* A NUL-terminated byte string without NUL inside, copied. */
static bool decode_str(GVariant *v, char **out)
{
	gsize n;
	const char *p;

	if (!g_variant_is_of_type(v, G_VARIANT_TYPE_BYTESTRING))
		return false;
	p = g_variant_get_fixed_array(v, &n, 1);
	if (n == 0 || p[n - 1] != '\0' || memchr(p, '\0', n - 1) != NULL)
		return false;
	*out = g_strndup(p, n - 1);
	return true;
}

static bool decode_strv(GVariant *v, char ***out, size_t *count)
{
	size_t n;
	char **strv;

	if (!g_variant_is_of_type(v, G_VARIANT_TYPE_BYTESTRING_ARRAY))
		return false;
	n = g_variant_n_children(v);
	if (n == 0)
		return true; /* written as absent; accept as empty */
	strv = g_new0(char *, n + 1);
	for (size_t i = 0; i < n; i++) {
		GVariant *child = g_variant_get_child_value(v, i);
		bool ok = decode_str(child, &strv[i]);

		g_variant_unref(child);
		if (!ok) {
			g_strfreev(strv);
			return false;
		}
	}
	*out = strv;
	*count = n;
	return true;
}

static bool decode_sigs(GVariant *v, struct spool_signature **out,
			size_t *count)
{
	size_t n;
	struct spool_signature *sigs;

	if (!g_variant_is_of_type(v, G_VARIANT_TYPE(SIGS_TYPE)))
		return false;
	n = g_variant_n_children(v);
	if (n == 0)
		return true;
	sigs = g_new0(struct spool_signature, n);
	for (size_t i = 0; i < n; i++) {
		GVariant *child = g_variant_get_child_value(v, i);
		GVariant *maybe = g_variant_get_child_value(child, 1);
		GVariant *fp = g_variant_get_maybe(maybe);
		guint8 state;
		gint64 created;
		gboolean inside;
		bool ok = true;

		g_variant_get_child(child, 0, "y", &state);
		g_variant_get_child(child, 2, "x", &created);
		g_variant_get_child(child, 3, "b", &inside);
		if (spool_sig_name((enum spool_sig)state) == NULL)
			ok = false;
		if (ok && fp != NULL)
			ok = decode_str(fp, &sigs[i].fingerprint);
		sigs[i].state = (enum spool_sig)state;
		sigs[i].created = created;
		sigs[i].inside_encryption = inside;
		if (fp != NULL)
			g_variant_unref(fp);
		g_variant_unref(maybe);
		g_variant_unref(child);
		if (!ok) {
			for (size_t j = 0; j <= i; j++)
				g_free(sigs[j].fingerprint);
			g_free(sigs);
			return false;
		}
	}
	*out = sigs;
	*count = n;
	return true;
}

static bool decode_field(struct spool_entry *e, const struct field *f,
			 GVariant *v)
{
	switch (f->kind) {
	case F_INT64:
		if (!g_variant_is_of_type(v, G_VARIANT_TYPE_INT64))
			return false;
		*MEMBER(e, f, int64_t) = g_variant_get_int64(v);
		return true;
	case F_STR:
		return decode_str(v, MEMBER(e, f, char *));
	case F_STRV:
		return decode_strv(v, MEMBER(e, f, char **), COUNT(e, f));
	case F_CLASS:
		if (!g_variant_is_of_type(v, G_VARIANT_TYPE_BYTE) ||
		    spool_class_name((enum spool_class)g_variant_get_byte(v)) == NULL)
			return false;
		*MEMBER(e, f, enum spool_class) =
			(enum spool_class)g_variant_get_byte(v);
		return true;
	case F_CRYPTO:
		if (!g_variant_is_of_type(v, G_VARIANT_TYPE_BYTE) ||
		    spool_crypto_name((enum spool_crypto)g_variant_get_byte(v)) == NULL)
			return false;
		*MEMBER(e, f, enum spool_crypto) =
			(enum spool_crypto)g_variant_get_byte(v);
		return true;
	case F_BYTES:
		if (!g_variant_is_of_type(v, G_VARIANT_TYPE_BYTESTRING))
			return false;
		*MEMBER(e, f, GBytes *) = g_variant_get_data_as_bytes(v);
		return true;
	case F_SIGS:
		return decode_sigs(v, MEMBER(e, f, struct spool_signature *),
				   COUNT(e, f));
	}
	return false;
}

int spool_decode(GBytes *record, uint64_t id, struct spool_entry **out,
		 tdk_err *err)
{
	const guint8 *data;
	gsize size;
	GVariant *rec, *dict, *value;
	GVariantIter iter;
	const char *key;
	struct spool_entry *e;
	uint32_t seen = 0;
	int rc = TDK_OK;

	if (record == NULL || out == NULL)
		return tdk_err_set(err, TDK_EINVAL, "spool_decode: NULL argument");
	*out = NULL;
	data = g_bytes_get_data(record, &size);
	/* The dictionary starts 8-aligned, so no record is shorter than 8
	 * bytes; GLib 2.74 reads past the end of such short input while
	 * checking its padding, so it never sees it. */
	if (size < 8)
		return tdk_err_set(err, TDK_ECORRUPT,
				   "spool record %" PRIu64 " is too short (%zu bytes)",
				   id, (size_t)size);
	if (data[0] != SPOOL_FORMAT)
		return tdk_err_set(err, TDK_ECORRUPT,
				   "spool record %" PRIu64 " has format version %u, not %u",
				   id, data[0], SPOOL_FORMAT);
	rec = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE(RECORD_TYPE), record, FALSE));
	if (!g_variant_is_normal_form(rec)) {
		g_variant_unref(rec);
		return tdk_err_set(err, TDK_ECORRUPT,
				   "spool record %" PRIu64 " (%zu bytes) is not a valid %s",
				   id, (size_t)size, RECORD_TYPE);
	}
	e = g_new0(struct spool_entry, 1);
	e->id = id;
	dict = g_variant_get_child_value(rec, 1);
	g_variant_iter_init(&iter, dict);
	while (rc == TDK_OK && g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		for (size_t i = 0; i < N_OF(fields); i++) {
			if (strcmp(fields[i].key, key) != 0)
				continue;
			if (seen & (UINT32_C(1) << i))
				rc = tdk_err_set(err, TDK_ECORRUPT,
						 "spool record %" PRIu64 ": field %s twice",
						 id, key);
			else if (!decode_field(e, &fields[i], value))
				rc = tdk_err_set(err, TDK_ECORRUPT,
						 "spool record %" PRIu64 ": field %s does not decode",
						 id, key);
			seen |= UINT32_C(1) << i;
			break;
		}
		/* Unknown keys are ignored: a later writer may add optional
		 * fields without a new format version. */
		g_variant_unref(value);
	}
	for (size_t i = 0; rc == TDK_OK && i < N_OF(fields); i++) {
		if (fields[i].required && !(seen & (UINT32_C(1) << i)))
			rc = tdk_err_set(err, TDK_ECORRUPT,
					 "spool record %" PRIu64 ": field %s is missing",
					 id, fields[i].key);
	}
	g_variant_unref(dict);
	g_variant_unref(rec);
	if (rc != TDK_OK) {
		spool_entry_free(e);
		return rc;
	}
	*out = e;
	return TDK_OK;
}

/* ------------------------------------------------------------------ */
/* The environment */

struct put_req {
	GBytes *record;
	tdk_err *err;
	uint64_t id;
	int status;
	bool done;
	struct put_req *next;
};

struct spool {
	MDB_env *env;
	MDB_dbi entries, quarantine, meta;
	char *dir;
	size_t map_size; /* for messages; atomic: a resize may change it */
	bool readonly;

	pthread_rwlock_t txn_lock;

	/* group commit */
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct put_req *head, *tail;
	bool leading;
	struct spool_stats stats;
};

/* Maps an LMDB (or errno) failure to a status and a message. */
static int mdb_fail(struct spool *sp, int rc, const char *what, tdk_err *err)
{
	switch (rc) {
	case MDB_MAP_FULL:
		return tdk_err_set(err, TDK_EFULL,
				   "spool full: %s in %s (map size %zu bytes)",
				   what, sp->dir,
				   __atomic_load_n(&sp->map_size, __ATOMIC_RELAXED));
	case MDB_TXN_FULL:
		return tdk_err_set(err, TDK_EFULL,
				   "spool full: %s in %s: transaction too large",
				   what, sp->dir);
	case ENOSPC:
	case EDQUOT:
		return tdk_err_set(err, TDK_EFULL, "spool full: %s in %s: %s",
				   what, sp->dir, mdb_strerror(rc));
	case MDB_NOTFOUND:
		return tdk_err_set(err, TDK_ENOENT, "spool %s: %s: not found",
				   sp->dir, what);
	case MDB_READERS_FULL:
		return tdk_err_set(err, TDK_EIO,
				   "spool %s: %s: too many readers (%s)", sp->dir,
				   what, mdb_strerror(rc));
	case MDB_PANIC:
		return tdk_err_set(err, TDK_EIO,
				   "spool %s: %s: the environment failed and must be reopened",
				   sp->dir, what);
	default:
		return tdk_err_set(err, TDK_EIO, "spool %s: %s: %s", sp->dir,
				   what, mdb_strerror(rc));
	}
}

/*
 * Begins a transaction holding txn_lock for reading until txn_commit() or
 * txn_abort().
 * Recovers once from a full reader table (slots of dead processes) and
 * from a map grown by another process.
 */
static int txn_begin(struct spool *sp, unsigned flags, MDB_txn **txn)
{
	int rc, dead;

	pthread_rwlock_rdlock(&sp->txn_lock);
	for (int attempt = 0;; attempt++) {
		rc = mdb_txn_begin(sp->env, NULL, flags, txn);
		if (rc == 0 || attempt > 0)
			break;
		if (rc == MDB_READERS_FULL) {
			mdb_reader_check(sp->env, &dead);
		} else if (rc == MDB_MAP_RESIZED) {
			pthread_rwlock_unlock(&sp->txn_lock);
			pthread_rwlock_wrlock(&sp->txn_lock);
			rc = mdb_env_set_mapsize(sp->env, 0);
			if (rc == 0) {
				MDB_envinfo info;

				mdb_env_info(sp->env, &info);
				__atomic_store_n(&sp->map_size, info.me_mapsize,
						 __ATOMIC_RELAXED);
			}
			pthread_rwlock_unlock(&sp->txn_lock);
			pthread_rwlock_rdlock(&sp->txn_lock);
			if (rc != 0)
				break;
		} else {
			break;
		}
	}
	if (rc != 0)
		pthread_rwlock_unlock(&sp->txn_lock);
	return rc;
}

static int txn_commit(struct spool *sp, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);

	pthread_rwlock_unlock(&sp->txn_lock);
	return rc;
}

static void txn_abort(struct spool *sp, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&sp->txn_lock);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		rc = errno;
	close(fd);
	return rc;
}

/*
 * TDK_EPERM, naming path and the fix, if its mode lets others in, or the
 * group write (unless the spool is shared with that group: gid != -1).
 */
static int check_mode(const char *what, const char *path, const struct stat *st,
		      gid_t gid, tdk_err *err)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if ((st->st_mode & (S_IRWXO)) != 0)
		return tdk_err_set(err, TDK_EPERM,
				   "%s %s is open to others (mode %04o): it holds "
				   "unprocessed reports; fix: chmod o-rwx %s",
				   what, path, mode, path);
	if ((st->st_mode & S_IWGRP) != 0 && (gid == (gid_t)-1 || st->st_gid != gid))
		return tdk_err_set(err, TDK_EPERM,
				   "%s %s is group-writable (mode %04o) but not shared "
				   "through spool.group; fix: chmod g-w %s, or set "
				   "spool.group to its group",
				   what, path, mode, path);
	return TDK_OK;
}

static int check_file_mode(const char *dir, const char *name, gid_t gid,
			   tdk_err *err)
{
	char *path = g_build_filename(dir, name, NULL);
	struct stat st;
	int rc = TDK_OK;

	if (lstat(path, &st) == 0)
		rc = check_mode("spool file", path, &st, gid, err);
	g_free(path);
	return rc;
}

/* A new spool directory: mode 0700, or 2770 with the shared group. */
static int make_dir(const char *dir, gid_t gid, tdk_err *err)
{
	char *parent;
	int rc;

	if (mkdir(dir, 0700) != 0)
		return tdk_err_set(err,
				   errno == EACCES || errno == EROFS ? TDK_EPERM : TDK_EIO,
				   "cannot create spool directory %s: %s", dir,
				   g_strerror(errno));
	if (gid != (gid_t)-1 &&
	    (chown(dir, (uid_t)-1, gid) != 0 || chmod(dir, 02770) != 0))
		return tdk_err_set(err, TDK_EPERM,
				   "cannot give spool directory %s to its group: %s",
				   dir, g_strerror(errno));
	parent = g_path_get_dirname(dir);
	rc = fsync_dir(parent);
	g_free(parent);
	if (rc != 0)
		return tdk_err_set(err, TDK_EIO,
				   "cannot sync the parent of spool directory %s: %s",
				   dir, g_strerror(rc));
	return TDK_OK;
}

static int check_dir(const char *dir, bool readonly, gid_t gid, tdk_err *err)
{
	struct stat st;
	int rc;

	if (stat(dir, &st) != 0) {
		if (errno != ENOENT)
			return tdk_err_set(err, errno == EACCES ? TDK_EPERM : TDK_EIO,
					   "spool directory %s: %s", dir,
					   g_strerror(errno));
		if (readonly)
			return tdk_err_set(err, TDK_ENOENT,
					   "spool directory %s does not exist", dir);
		if ((rc = make_dir(dir, gid, err)) != TDK_OK)
			return rc;
		if (stat(dir, &st) != 0)
			return tdk_err_set(err, TDK_EIO, "spool directory %s: %s",
					   dir, g_strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return tdk_err_set(err, TDK_EINVAL,
				   "spool directory %s is not a directory", dir);
	if ((rc = check_mode("spool directory", dir, &st, gid, err)) != TDK_OK)
		return rc;
	/* A reader writes only lock.mdb (see its mode below); a writer may
	 * create the files. */
	if (access(dir, readonly ? (R_OK | X_OK) : (R_OK | W_OK | X_OK)) != 0)
		return tdk_err_set(err, TDK_EPERM, "spool directory %s is not %s: %s",
				   dir, readonly ? "readable" : "writable",
				   g_strerror(errno));
	if ((rc = check_file_mode(dir, "data.mdb", gid, err)) != TDK_OK ||
	    (rc = check_file_mode(dir, "lock.mdb", gid, err)) != TDK_OK)
		return rc;
	if (readonly) {
		char *path = g_build_filename(dir, "data.mdb", NULL);

		rc = access(path, F_OK) == 0
			     ? TDK_OK
			     : tdk_err_set(err, TDK_ENOENT, "no spool in %s", dir);
		g_free(path);
		return rc;
	}
	return TDK_OK;
}

/* Shared spool: the files this process owns get the group and mode 0660. */
static int share_files(const char *dir, gid_t gid, tdk_err *err)
{
	static const char *const names[] = { "data.mdb", "lock.mdb" };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(dir, names[i], NULL);
		struct stat st;
		int bad = 0;

		if (stat(path, &st) == 0 && st.st_uid == geteuid() &&
		    (st.st_gid != gid || (st.st_mode & 07777) != 0660) &&
		    (chown(path, (uid_t)-1, gid) != 0 || chmod(path, 0660) != 0))
			bad = errno;
		if (bad != 0) {
			int rc = tdk_err_set(err, TDK_EPERM,
					     "cannot give spool file %s to its group: %s",
					     path, g_strerror(bad));
			g_free(path);
			return rc;
		}
		g_free(path);
	}
	return TDK_OK;
}

/* Opens the databases, and creates them and the format mark if writing. */
static int open_dbs(struct spool *sp, tdk_err *err)
{
	unsigned create = sp->readonly ? 0 : MDB_CREATE;
	MDB_txn *txn;
	MDB_val key = { strlen(META_FORMAT), (void *)META_FORMAT }, val;
	uint8_t format = SPOOL_FORMAT;
	int rc;

	rc = txn_begin(sp, sp->readonly ? MDB_RDONLY : 0, &txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "beginning the first transaction", err);
	if ((rc = mdb_dbi_open(txn, DB_ENTRIES, create, &sp->entries)) != 0 ||
	    (rc = mdb_dbi_open(txn, DB_QUARANTINE, create, &sp->quarantine)) != 0 ||
	    (rc = mdb_dbi_open(txn, DB_META, create, &sp->meta)) != 0) {
		txn_abort(sp, txn);
		if (rc == MDB_NOTFOUND)
			return tdk_err_set(err, TDK_ENOENT,
					   "no spool in %s (its databases are missing)",
					   sp->dir);
		if (rc == MDB_INCOMPATIBLE)
			return tdk_err_set(err, TDK_ECORRUPT,
					   "%s is not a todoke spool", sp->dir);
		return mdb_fail(sp, rc, "opening the databases", err);
	}
	rc = mdb_get(txn, sp->meta, &key, &val);
	if (rc == MDB_NOTFOUND && !sp->readonly) {
		val.mv_size = 1;
		val.mv_data = &format;
		rc = mdb_put(txn, sp->meta, &key, &val, 0);
		if (rc != 0) {
			txn_abort(sp, txn);
			return mdb_fail(sp, rc, "writing the format mark", err);
		}
	} else if (rc == MDB_NOTFOUND) {
		txn_abort(sp, txn);
		return tdk_err_set(err, TDK_ENOENT, "no spool in %s (no format mark)",
				   sp->dir);
	} else if (rc != 0) {
		txn_abort(sp, txn);
		return mdb_fail(sp, rc, "reading the format mark", err);
	} else if (val.mv_size != 1 || *(const uint8_t *)val.mv_data != SPOOL_FORMAT) {
		unsigned found = val.mv_size == 1 ? *(const uint8_t *)val.mv_data : 0;

		txn_abort(sp, txn);
		return tdk_err_set(err, TDK_ECORRUPT,
				   "spool %s has format %u; this todoke reads format %u",
				   sp->dir, found, SPOOL_FORMAT);
	}
	rc = txn_commit(sp, txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "creating the databases", err);
	return TDK_OK;
}

int spool_open(const char *dir, size_t map_size, unsigned flags,
	       struct spool **out, tdk_err *err)
{
	return spool_open_shared(dir, map_size, flags, NULL, out, err);
}

int spool_open_shared(const char *dir, size_t map_size, unsigned flags,
		      const char *group, struct spool **out, tdk_err *err)
{
	struct spool *sp;
	MDB_envinfo info;
	gid_t gid = (gid_t)-1;
	int rc, dead;

	if (out != NULL)
		*out = NULL;
	if (dir == NULL || *dir == '\0' || out == NULL ||
	    (flags & ~(unsigned)SPOOL_READONLY) != 0)
		return tdk_err_set(err, TDK_EINVAL, "spool_open: invalid argument");
	if (group != NULL && *group != '\0') {
		struct group *gr = getgrnam(group);

		if (gr == NULL)
			return tdk_err_set(err, TDK_EINVAL, "spool.group: no such group '%s'",
					   group);
		gid = gr->gr_gid;
	}
	rc = check_dir(dir, (flags & SPOOL_READONLY) != 0, gid, err);
	if (rc != TDK_OK)
		return rc;

	sp = g_new0(struct spool, 1);
	sp->dir = g_strdup(dir);
	sp->readonly = (flags & SPOOL_READONLY) != 0;
	pthread_rwlock_init(&sp->txn_lock, NULL);
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->done, NULL);

	rc = mdb_env_create(&sp->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(sp->env, 4);
	if (rc == 0 && map_size > 0)
		rc = mdb_env_set_mapsize(sp->env, map_size);
	if (rc != 0) {
		rc = mdb_fail(sp, rc, "creating the environment", err);
		goto fail;
	}
	/* Synchronous commits (no MDB_NOSYNC / MDB_NOMETASYNC): a committed
	 * put is on disk. MDB_NOTLS: read transactions are not tied to
	 * threads, so any thread may read. */
	{
		mode_t mode = gid != (gid_t)-1 ? 0660 : 0600;

		if (!sp->readonly)
			rc = lmdb_lock_reserve(dir, mode);
		if (rc == 0)
			rc = mdb_env_open(sp->env, dir,
					  MDB_NOTLS | (sp->readonly ? MDB_RDONLY : 0), mode);
	}
	if (rc != 0) {
		if (rc == EACCES || rc == EPERM || rc == EROFS)
			rc = tdk_err_set(err, TDK_EPERM, "cannot open spool %s: %s",
					 dir, mdb_strerror(rc));
		else if (rc == ENOENT)
			rc = tdk_err_set(err, TDK_ENOENT, "no spool in %s", dir);
		else if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
			rc = tdk_err_set(err, TDK_ECORRUPT,
					 "%s does not hold an LMDB spool: %s", dir,
					 mdb_strerror(rc));
		else
			rc = mdb_fail(sp, rc, "opening", err);
		goto fail;
	}
	if (gid != (gid_t)-1 && (rc = share_files(dir, gid, err)) != TDK_OK)
		goto fail;
	if (gid != (gid_t)-1 && (rc = share_files(dir, gid, err)) != TDK_OK)
		goto fail;
	mdb_reader_check(sp->env, &dead);
	mdb_env_info(sp->env, &info);
	sp->map_size = info.me_mapsize;

	rc = open_dbs(sp, err);
	if (rc != TDK_OK)
		goto fail;
	if (!sp->readonly) {
		/* The data and lock files may be new: make their names durable. */
		int sys = fsync_dir(dir);

		if (sys != 0) {
			rc = tdk_err_set(err, TDK_EIO, "cannot sync spool directory %s: %s",
					 dir, g_strerror(sys));
			goto fail;
		}
	}
	*out = sp;
	return TDK_OK;

fail:
	spool_close(sp);
	return rc;
}

void spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->env != NULL)
		mdb_env_close(sp->env);
	pthread_cond_destroy(&sp->done);
	pthread_mutex_destroy(&sp->lock);
	pthread_rwlock_destroy(&sp->txn_lock);
	g_free(sp->dir);
	g_free(sp);
}

/* ------------------------------------------------------------------ */
/* The writer */

/* The highest key of db plus one, or 1 if it is empty. */
static int after_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *out)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*out = 1;
		return 0;
	}
	if (rc != 0)
		return rc;
	*out = key.mv_size == 8 ? get_be64(key.mv_data) + 1 : 1;
	return 0;
}

/* The next id to give out: the stored counter, and never an id at or
 * below one that exists (should the counter ever be lost). */
static int read_next_id(struct spool *sp, MDB_txn *txn, uint64_t *out)
{
	MDB_val key = { strlen(META_NEXT_ID), (void *)META_NEXT_ID }, val;
	uint64_t next = 1, last;
	int rc = mdb_get(txn, sp->meta, &key, &val);

	if (rc == 0 && val.mv_size == 8)
		next = get_be64(val.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if ((rc = after_last(txn, sp->entries, &last)) != 0)
		return rc;
	if (last > next)
		next = last;
	if ((rc = after_last(txn, sp->quarantine, &last)) != 0)
		return rc;
	if (last > next)
		next = last;
	if (next == 0)
		next = 1;
	*out = next;
	return 0;
}

/* Writes one batch in one transaction; sets every request's status. */
static void write_batch(struct spool *sp, struct put_req *batch)
{
	MDB_txn *txn;
	MDB_val key, val;
	uint8_t kbuf[8], nbuf[8];
	uint64_t next = 0;
	const char *what = "beginning a transaction";
	tdk_err msg;
	int rc, status;

	rc = txn_begin(sp, 0, &txn);
	if (rc == 0) {
		what = "allocating an id";
		rc = read_next_id(sp, txn, &next);
		for (struct put_req *r = batch; rc == 0 && r != NULL; r = r->next) {
			what = "writing an entry";
			r->id = next++;
			put_be64(kbuf, r->id);
			key.mv_size = sizeof kbuf;
			key.mv_data = kbuf;
			val.mv_data = (void *)g_bytes_get_data(r->record, &val.mv_size);
			rc = mdb_put(txn, sp->entries, &key, &val,
				     MDB_NOOVERWRITE | MDB_APPEND);
		}
		if (rc == 0) {
			what = "writing the next id";
			put_be64(nbuf, next);
			key.mv_size = strlen(META_NEXT_ID);
			key.mv_data = (void *)META_NEXT_ID;
			val.mv_size = sizeof nbuf;
			val.mv_data = nbuf;
			rc = mdb_put(txn, sp->meta, &key, &val, 0);
		}
		if (rc == 0) {
			what = "committing";
			rc = txn_commit(sp, txn);
		} else {
			txn_abort(sp, txn);
		}
	}
	if (rc == 0) {
		for (struct put_req *r = batch; r != NULL; r = r->next)
			r->status = TDK_OK;
		return;
	}
	status = mdb_fail(sp, rc, what, &msg);
	for (struct put_req *r = batch; r != NULL; r = r->next) {
		r->id = 0;
		r->status = status;
		tdk_err_set(r->err, status, "%s", msg.text);
	}
}

int spool_put(struct spool *sp, struct spool_entry *e, tdk_err *err)
{
	struct put_req req = { 0 };
	struct put_req *batch, *last;
	size_t n, bytes;
	int rc;

	if (sp == NULL || e == NULL)
		return tdk_err_set(err, TDK_EINVAL, "spool_put: NULL argument");
	if (sp->readonly)
		return tdk_err_set(err, TDK_ESTATE, "spool %s is open read-only",
				   sp->dir);
	rc = spool_encode(e, &req.record, err);
	if (rc != TDK_OK)
		return rc;
	req.err = err;

	pthread_mutex_lock(&sp->lock);
	if (sp->tail != NULL)
		sp->tail->next = &req;
	else
		sp->head = &req;
	sp->tail = &req;
	while (!req.done) {
		if (sp->leading) {
			pthread_cond_wait(&sp->done, &sp->lock);
			continue;
		}
		/* Lead: take the queue (bounded), write it, wake its callers. */
		sp->leading = true;
		batch = last = sp->head;
		n = 1;
		bytes = g_bytes_get_size(batch->record);
		while (last->next != NULL && n < BATCH_MAX_ENTRIES &&
		       bytes + g_bytes_get_size(last->next->record) <= BATCH_MAX_BYTES) {
			last = last->next;
			bytes += g_bytes_get_size(last->record);
			n++;
		}
		sp->head = last->next;
		if (sp->head == NULL)
			sp->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&sp->lock);

		write_batch(sp, batch);

		pthread_mutex_lock(&sp->lock);
		if (batch->status == TDK_OK) {
			sp->stats.puts += n;
			sp->stats.commits++;
			if (n > sp->stats.max_batch)
				sp->stats.max_batch = n;
		} else {
			sp->stats.failed_puts += n;
			sp->stats.failed_commits++;
		}
		/* Under the lock: a follower may return (and its request
		 * vanish) as soon as it sees done. */
		for (struct put_req *r = batch, *next; r != NULL; r = next) {
			next = r->next;
			r->done = true;
		}
		sp->leading = false;
		pthread_cond_broadcast(&sp->done);
	}
	pthread_mutex_unlock(&sp->lock);

	g_bytes_unref(req.record);
	if (req.status == TDK_OK)
		e->id = req.id;
	return req.status;
}

void spool_stats(struct spool *sp, struct spool_stats *out)
{
	if (out == NULL)
		return;
	if (sp == NULL) {
		memset(out, 0, sizeof *out);
		return;
	}
	pthread_mutex_lock(&sp->lock);
	*out = sp->stats;
	pthread_mutex_unlock(&sp->lock);
}

/* ------------------------------------------------------------------ */
/* The reader and maintenance */

static int read_raw(struct spool *sp, MDB_dbi dbi, uint64_t id, GBytes **out,
		    tdk_err *err)
{
	MDB_txn *txn;
	MDB_val key, val;
	uint8_t kbuf[8];
	bool quarantined = false;
	int rc;

	put_be64(kbuf, id);
	key.mv_size = sizeof kbuf;
	key.mv_data = kbuf;
	rc = txn_begin(sp, MDB_RDONLY, &txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "beginning a read transaction", err);
	rc = mdb_get(txn, dbi, &key, &val);
	if (rc == 0)
		*out = g_bytes_new(val.mv_data, val.mv_size);
	else if (rc == MDB_NOTFOUND && dbi == sp->entries)
		quarantined = mdb_get(txn, sp->quarantine, &key, &val) == 0;
	txn_abort(sp, txn);
	if (rc == MDB_NOTFOUND && quarantined)
		return tdk_err_set(err, TDK_ENOENT,
				   "spool entry %" PRIu64 " is quarantined", id);
	if (rc == MDB_NOTFOUND)
		return tdk_err_set(err, TDK_ENOENT, "no spool %s %" PRIu64,
				   dbi == sp->entries ? "entry" : "quarantined record",
				   id);
	if (rc != 0)
		return mdb_fail(sp, rc, "reading an entry", err);
	return TDK_OK;
}

int spool_get(struct spool *sp, uint64_t id, struct spool_entry **out,
	      tdk_err *err)
{
	GBytes *raw = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (sp == NULL || out == NULL)
		return tdk_err_set(err, TDK_EINVAL, "spool_get: NULL argument");
	rc = read_raw(sp, sp->entries, id, &raw, err);
	if (rc != TDK_OK)
		return rc;
	rc = spool_decode(raw, id, out, err);
	g_bytes_unref(raw);
	return rc;
}

int spool_quarantined_get(struct spool *sp, uint64_t id, GBytes **raw,
			  tdk_err *err)
{
	if (raw != NULL)
		*raw = NULL;
	if (sp == NULL || raw == NULL)
		return tdk_err_set(err, TDK_EINVAL,
				   "spool_quarantined_get: NULL argument");
	return read_raw(sp, sp->quarantine, id, raw, err);
}

int spool_list(struct spool *sp, uint64_t after_id, size_t max,
	       uint64_t *ids, size_t *n, tdk_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	uint8_t kbuf[8];
	size_t count = 0;
	int rc;

	if (n != NULL)
		*n = 0;
	if (sp == NULL || n == NULL || (ids == NULL && max > 0))
		return tdk_err_set(err, TDK_EINVAL, "spool_list: invalid argument");
	if (max == 0 || after_id == UINT64_MAX)
		return TDK_OK;
	rc = txn_begin(sp, MDB_RDONLY, &txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "beginning a read transaction", err);
	rc = mdb_cursor_open(txn, sp->entries, &cur);
	if (rc != 0) {
		txn_abort(sp, txn);
		return mdb_fail(sp, rc, "opening a cursor", err);
	}
	put_be64(kbuf, after_id + 1);
	key.mv_size = sizeof kbuf;
	key.mv_data = kbuf;
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && count < max) {
		if (key.mv_size == 8)
			ids[count++] = get_be64(key.mv_data);
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	txn_abort(sp, txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_fail(sp, rc, "listing entries", err);
	*n = count;
	return TDK_OK;
}

int spool_count(struct spool *sp, size_t *entries, size_t *quarantined,
		tdk_err *err)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if (sp == NULL)
		return tdk_err_set(err, TDK_EINVAL, "spool_count: NULL argument");
	rc = txn_begin(sp, MDB_RDONLY, &txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "beginning a read transaction", err);
	if (rc == 0 && entries != NULL && (rc = mdb_stat(txn, sp->entries, &st)) == 0)
		*entries = st.ms_entries;
	if (rc == 0 && quarantined != NULL &&
	    (rc = mdb_stat(txn, sp->quarantine, &st)) == 0)
		*quarantined = st.ms_entries;
	txn_abort(sp, txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "counting entries", err);
	return TDK_OK;
}

/*
 * Starts a write transaction on the entry id: checks the spool may be
 * written, fills the key (kbuf holds its bytes) and begins the txn.
 */
static int begin_entry_write(struct spool *sp, uint64_t id, const char *caller,
			     uint8_t kbuf[8], MDB_val *key, MDB_txn **txn,
			     tdk_err *err)
{
	int rc;

	if (sp == NULL)
		return tdk_err_set(err, TDK_EINVAL, "%s: NULL argument", caller);
	if (sp->readonly)
		return tdk_err_set(err, TDK_ESTATE, "spool %s is open read-only",
				   sp->dir);
	put_be64(kbuf, id);
	key->mv_size = 8;
	key->mv_data = kbuf;
	rc = txn_begin(sp, 0, txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "beginning a transaction", err);
	return TDK_OK;
}

int spool_delete(struct spool *sp, uint64_t id, tdk_err *err)
{
	MDB_txn *txn;
	MDB_val key;
	uint8_t kbuf[8];
	int rc = begin_entry_write(sp, id, "spool_delete", kbuf, &key, &txn, err);

	if (rc != TDK_OK)
		return rc;
	/* Zeroed first: a small entry's bytes would stay in its page. */
	rc = scrub_zero(txn, sp->entries, &key);
	if (rc == 0)
		rc = mdb_del(txn, sp->entries, &key, NULL);
	if (rc != 0) {
		txn_abort(sp, txn);
		if (rc == MDB_NOTFOUND)
			return tdk_err_set(err, TDK_ENOENT,
					   "no spool entry %" PRIu64, id);
		return mdb_fail(sp, rc, "deleting an entry", err);
	}
	rc = txn_commit(sp, txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "committing a delete", err);
	return TDK_OK;
}

int spool_scrub(struct spool *sp, size_t *pages, tdk_err *err)
{
	MDB_txn *txn;
	int rc;

	if (pages != NULL)
		*pages = 0;
	if (sp == NULL || sp->readonly)
		return tdk_err_set(err, TDK_EINVAL, "spool_scrub: invalid argument");
	/* A read transaction first: it takes up a map another process grew. */
	rc = txn_begin(sp, MDB_RDONLY, &txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "scrubbing", err);
	txn_abort(sp, txn);
	pthread_rwlock_rdlock(&sp->txn_lock);
	rc = scrub_free_pages(sp->env, pages);
	pthread_rwlock_unlock(&sp->txn_lock);
	return rc != 0 ? mdb_fail(sp, rc, "overwriting free pages", err) : TDK_OK;
}

int spool_delete_many(struct spool *sp, const uint64_t *ids, size_t n,
		      size_t *deleted, tdk_err *err)
{
	MDB_txn *txn;
	MDB_val key;
	uint8_t kbuf[8];
	size_t gone = 0;
	int rc;

	if (deleted != NULL)
		*deleted = 0;
	if (n == 0)
		return TDK_OK;
	if (ids == NULL)
		return tdk_err_set(err, TDK_EINVAL, "spool_delete_many: NULL argument");
	rc = begin_entry_write(sp, ids[0], "spool_delete_many", kbuf, &key, &txn, err);
	if (rc != TDK_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		put_be64(kbuf, ids[i]);
		rc = mdb_del(txn, sp->entries, &key, NULL);
		if (rc == 0)
			gone++;
		else if (rc != MDB_NOTFOUND) {
			txn_abort(sp, txn);
			return mdb_fail(sp, rc, "deleting entries", err);
		}
	}
	rc = txn_commit(sp, txn);
	if (rc != 0)
		return mdb_fail(sp, rc, "committing a delete", err);
	if (deleted != NULL)
		*deleted = gone;
	return TDK_OK;
}

int spool_quarantine(struct spool *sp, uint64_t id, tdk_err *err)
{
	MDB_txn *txn;
	MDB_val key, val;
	uint8_t kbuf[8];
	void *copy = NULL;
	size_t size = 0;
	const char *what = "reading the entry";
	int rc = begin_entry_write(sp, id, "spool_quarantine", kbuf, &key, &txn, err);

	if (rc != TDK_OK)
		return rc;
	rc = mdb_get(txn, sp->entries, &key, &val);
	if (rc == 0) {
		/* Copied: the value points into the map, which the puts below
		 * may change. */
		size = val.mv_size;
		copy = g_malloc(size > 0 ? size : 1);
		memcpy(copy, val.mv_data, size);
		val.mv_data = copy;
		what = "writing the quarantined record";
		rc = mdb_put(txn, sp->quarantine, &key, &val, 0);
	}
	if (rc == 0) {
		what = "removing the entry";
		rc = mdb_del(txn, sp->entries, &key, NULL);
	}
	if (rc == 0) {
		what = "committing";
		rc = txn_commit(sp, txn);
	} else {
		txn_abort(sp, txn);
	}
	g_free(copy);
	if (rc == MDB_NOTFOUND && strcmp(what, "reading the entry") == 0)
		return tdk_err_set(err, TDK_ENOENT, "no spool entry %" PRIu64, id);
	if (rc != 0)
		return mdb_fail(sp, rc, what, err);
	msg_warn("spool %s: entry %" PRIu64 " (%zu bytes) moved to quarantine",
		 sp->dir, id, size);
	return TDK_OK;
}
