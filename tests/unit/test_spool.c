/*
 * test_spool.c - the intake spool: format round trip, ids, group commit,
 * a full map, corrupt records, directory permissions and JSON. Every test
 * works on real LMDB files in a fresh mkdtemp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"
#include "status.h"

#define T_2026_11_22_10_00 INT64_C(1795341600) /* 2026-11-22T10:00:00Z */
#define MIB ((size_t)1 << 20)

struct fixture {
	char root[64];  /* the mkdtemp directory */
	char *dir;      /* root/spool, not created */
};

static int setup(void **state)
{
	struct fixture *fx = g_new0(struct fixture, 1);

	snprintf(fx->root, sizeof fx->root, "/tmp/todoke-spool-XXXXXX");
	if (mkdtemp(fx->root) == NULL)
		return -1;
	fx->dir = g_build_filename(fx->root, "spool", NULL);
	*state = fx;
	return 0;
}

/* Removes path and everything under it (not following symlinks). */
static void remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		GDir *d;
		const char *name;

		chmod(path, 0700);
		d = g_dir_open(path, 0, NULL);
		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			char *child = g_build_filename(path, name, NULL);

			remove_tree(child);
			g_free(child);
		}
		if (d != NULL)
			g_dir_close(d);
	}
	remove(path);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	remove_tree(fx->root);
	g_free(fx->dir);
	g_free(fx);
	return 0;
}

static char **strv(const char *first, ...)
{
	GPtrArray *a = g_ptr_array_new();
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
		g_ptr_array_add(a, g_strdup(s));
	va_end(ap);
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

#define DECRYPTED_TEXT "Content-Type: text/plain\r\n\r\n報告\r\n"

static const char binary_original[] =
	"Received: from x\r\nSubject: =?UTF-8?B?5aCx5ZGK?=\r\n\r\nbody\0with\0NULs\xff\xfe\x80 end";

/* Every field set; some strings empty, some NULL. */
static struct spool_entry *full_entry(void)
{
	struct spool_entry *e = g_new0(struct spool_entry, 1);

	e->received = T_2026_11_22_10_00;
	e->queue_id = g_strdup("4Xk9Lm0Qz1");
	e->envelope_from = g_strdup(""); /* null sender */
	e->recipients = strv("vuln@desk.example", "cc@desk.example",
			     "third@desk.example", NULL);
	e->n_recipients = 3;
	e->classification = SPOOL_REPLY;
	e->class_reason = g_strdup("subject carries [IPA#12345678]");
	e->message_id = g_strdup("<reply-1@vendor.example>");
	e->subject = g_strdup("Re: 【IPA#12345678】脆弱性のご報告");
	e->from_header = g_strdup("Vendor PSIRT <psirt@vendor.example>");
	e->case_subject = g_strdup("IPA#12345678");
	e->case_body = NULL;
	e->thread_refs = strv("<notice-1@desk.example>", "<notice-0@desk.example>", NULL);
	e->n_thread_refs = 2;
	e->foreign_tags = strv("[JVN#00000001]", NULL);
	e->n_foreign_tags = 1;
	e->bounce_token = NULL;
	e->bounce_recipient = NULL;
	e->crypto = SPOOL_DECRYPTED;
	e->crypto_detail = g_strdup("");
	e->n_signatures = 2;
	e->signatures = g_new0(struct spool_signature, 2);
	e->signatures[0].state = SPOOL_SIG_GOOD;
	e->signatures[0].fingerprint = g_strdup("0123456789ABCDEF0123456789ABCDEF01234567");
	e->signatures[0].created = T_2026_11_22_10_00 - 60;
	e->signatures[0].inside_encryption = true;
	e->signatures[1].state = SPOOL_SIG_UNKNOWN_KEY;
	e->signatures[1].fingerprint = NULL;
	e->signatures[1].created = -1;
	e->signatures[1].inside_encryption = false;
	e->original = g_bytes_new(binary_original, sizeof binary_original);
	e->decrypted = g_bytes_new_static(DECRYPTED_TEXT, strlen(DECRYPTED_TEXT));
	return e;
}

/* A small entry for bulk puts; subject identifies it. */
static struct spool_entry *small_entry(const char *subject, size_t original_size)
{
	struct spool_entry *e = g_new0(struct spool_entry, 1);
	guint8 *body = g_malloc(original_size);

	for (size_t i = 0; i < original_size; i++)
		body[i] = (guint8)(i * 31 + original_size);
	e->received = T_2026_11_22_10_00;
	e->queue_id = g_strdup("");
	e->envelope_from = g_strdup("finder@example.org");
	e->recipients = strv("vuln@desk.example", NULL);
	e->n_recipients = 1;
	e->classification = SPOOL_REPORT;
	e->subject = g_strdup(subject);
	e->crypto = SPOOL_PLAIN;
	e->original = g_bytes_new_take(body, original_size);
	return e;
}

static void assert_same_str(const char *a, const char *b)
{
	if (a == NULL) {
		assert_null(b);
	} else {
		assert_non_null(b);
		assert_string_equal(a, b);
	}
}

static void assert_same_strv(char **a, size_t na, char **b, size_t nb)
{
	assert_int_equal(na, nb);
	if (na == 0) {
		assert_null(b);
		return;
	}
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
	assert_null(b[nb]);
}

static void assert_same_bytes(GBytes *a, GBytes *b)
{
	if (a == NULL) {
		assert_null(b);
		return;
	}
	assert_non_null(b);
	assert_int_equal(g_bytes_get_size(a), g_bytes_get_size(b));
	assert_memory_equal(g_bytes_get_data(a, NULL), g_bytes_get_data(b, NULL),
			    g_bytes_get_size(a));
}

static void assert_same_entry(const struct spool_entry *a,
			      const struct spool_entry *b)
{
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->received, b->received);
	assert_same_str(a->queue_id, b->queue_id);
	assert_same_str(a->envelope_from, b->envelope_from);
	assert_same_strv(a->recipients, a->n_recipients, b->recipients, b->n_recipients);
	assert_int_equal(a->classification, b->classification);
	assert_same_str(a->class_reason, b->class_reason);
	assert_same_str(a->message_id, b->message_id);
	assert_same_str(a->subject, b->subject);
	assert_same_str(a->from_header, b->from_header);
	assert_same_str(a->case_subject, b->case_subject);
	assert_same_str(a->case_body, b->case_body);
	assert_same_strv(a->thread_refs, a->n_thread_refs, b->thread_refs, b->n_thread_refs);
	assert_same_strv(a->foreign_tags, a->n_foreign_tags, b->foreign_tags,
			 b->n_foreign_tags);
	assert_same_str(a->bounce_token, b->bounce_token);
	assert_same_str(a->bounce_recipient, b->bounce_recipient);
	assert_int_equal(a->crypto, b->crypto);
	assert_same_str(a->crypto_detail, b->crypto_detail);
	assert_int_equal(a->n_signatures, b->n_signatures);
	if (a->n_signatures == 0)
		assert_null(b->signatures);
	for (size_t i = 0; i < a->n_signatures; i++) {
		assert_int_equal(a->signatures[i].state, b->signatures[i].state);
		assert_same_str(a->signatures[i].fingerprint, b->signatures[i].fingerprint);
		assert_int_equal(a->signatures[i].created, b->signatures[i].created);
		assert_int_equal(a->signatures[i].inside_encryption,
				 b->signatures[i].inside_encryption);
	}
	assert_same_bytes(a->original, b->original);
	assert_same_bytes(a->decrypted, b->decrypted);
}

static struct spool *open_ok(const char *dir, size_t map_size, unsigned flags)
{
	struct spool *sp = NULL;
	tdk_err err = { "" };
	int rc = spool_open(dir, map_size, flags, &sp, &err);

	if (rc != TDK_OK)
		print_error("spool_open(%s): %s\n", dir, err.text);
	assert_int_equal(rc, TDK_OK);
	assert_non_null(sp);
	return sp;
}

/* ------------------------------------------------------------------ */

static void names_and_parsers(void **state)
{
	static const char *const classes[] = { "report", "reply", "command",
					       "bounce", "auto-reply" };
	static const char *const cryptos[] = { "plain", "decrypted",
					       "decrypt-failed", "decrypt-deferred" };
	static const char *const sigs[] = { "good", "bad", "unknown-key",
					    "expired-key", "revoked-key", "error" };
	enum spool_class c;
	enum spool_crypto k;
	enum spool_sig s;

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_string_equal(spool_class_name((enum spool_class)(SPOOL_REPORT + i)),
				    classes[i]);
		assert_int_equal(spool_class_from_name(classes[i], &c), TDK_OK);
		assert_int_equal(c, SPOOL_REPORT + i);
	}
	for (int i = 0; i < 4; i++) {
		assert_string_equal(spool_crypto_name((enum spool_crypto)i), cryptos[i]);
		assert_int_equal(spool_crypto_from_name(cryptos[i], &k), TDK_OK);
		assert_int_equal(k, i);
	}
	for (int i = 0; i < 6; i++) {
		assert_string_equal(spool_sig_name((enum spool_sig)(SPOOL_SIG_GOOD + i)),
				    sigs[i]);
		assert_int_equal(spool_sig_from_name(sigs[i], &s), TDK_OK);
		assert_int_equal(s, SPOOL_SIG_GOOD + i);
	}
	assert_null(spool_class_name((enum spool_class)0));
	assert_null(spool_class_name((enum spool_class)6));
	assert_null(spool_crypto_name((enum spool_crypto)-1));
	assert_null(spool_sig_name((enum spool_sig)0));
	assert_int_equal(spool_class_from_name("Reply", &c), TDK_EINVAL);
	assert_int_equal(spool_crypto_from_name(NULL, &k), TDK_EINVAL);
	assert_int_equal(spool_sig_from_name("", &s), TDK_EINVAL);
	spool_entry_free(NULL);
}

static void round_trip_full_entry(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, 16 * MIB, 0);
	struct spool_entry *e = full_entry(), *got = NULL;
	struct stat st;
	tdk_err err = { "" };

	assert_int_equal(e->id, 0);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	assert_int_equal(e->id, 1);
	assert_int_equal(spool_get(sp, 1, &got, &err), TDK_OK);
	assert_same_entry(e, got);
	/* NULL and "" stay apart */
	assert_string_equal(got->envelope_from, "");
	assert_string_equal(got->crypto_detail, "");
	assert_null(got->case_body);
	assert_null(got->signatures[1].fingerprint);
	spool_entry_free(got);
	spool_close(sp);

	/* the same after reopening, read-only */
	sp = open_ok(fx->dir, 16 * MIB, SPOOL_READONLY);
	assert_int_equal(spool_get(sp, 1, &got, &err), TDK_OK);
	assert_same_entry(e, got);
	spool_entry_free(got);
	assert_int_equal(spool_put(sp, e, &err), TDK_ESTATE);
	assert_int_equal(spool_delete(sp, 1, &err), TDK_ESTATE);
	spool_close(sp);

	/* directory 0700, files 0600 */
	assert_int_equal(stat(fx->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	{
		char *data = g_build_filename(fx->dir, "data.mdb", NULL);

		assert_int_equal(stat(data, &st), 0);
		assert_int_equal(st.st_mode & 0077, 0);
		g_free(data);
	}
	spool_entry_free(e);
}

static void round_trip_minimal_entry(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, 0, 0);
	struct spool_entry *e = g_new0(struct spool_entry, 1), *got = NULL;
	tdk_err err = { "" };

	e->received = -5; /* before the epoch: still stored as given */
	e->classification = SPOOL_BOUNCE;
	e->crypto = SPOOL_PLAIN;
	e->original = g_bytes_new(NULL, 0);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	assert_int_equal(spool_get(sp, e->id, &got, &err), TDK_OK);
	assert_same_entry(e, got);
	assert_null(got->queue_id);
	assert_null(got->recipients);
	assert_int_equal(got->n_recipients, 0);
	assert_null(got->decrypted);
	assert_int_equal(g_bytes_get_size(got->original), 0);
	spool_entry_free(got);
	spool_entry_free(e);
	spool_close(sp);
}

static void invalid_entries_are_refused(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, 0, 0);
	struct spool_entry *e = small_entry("x", 10);
	tdk_err err = { "" };
	size_t n = 99;
	char *saved;

	g_bytes_unref(e->original);
	e->original = NULL;
	assert_int_equal(spool_put(sp, e, &err), TDK_EINVAL);
	assert_non_null(strstr(err.text, "original"));
	e->original = g_bytes_new("m", 1);

	e->classification = (enum spool_class)0;
	assert_int_equal(spool_put(sp, e, &err), TDK_EINVAL);
	e->classification = SPOOL_COMMAND;
	e->crypto = (enum spool_crypto)9;
	assert_int_equal(spool_put(sp, e, &err), TDK_EINVAL);
	e->crypto = SPOOL_DECRYPT_DEFERRED;

	saved = e->recipients[0];
	e->recipients[0] = NULL;
	assert_int_equal(spool_put(sp, e, &err), TDK_EINVAL);
	e->recipients[0] = saved;

	e->n_signatures = 1;
	assert_int_equal(spool_put(sp, e, &err), TDK_EINVAL); /* no array */
	e->signatures = g_new0(struct spool_signature, 1);
	assert_int_equal(spool_put(sp, e, &err), TDK_EINVAL); /* state 0 */
	e->signatures[0].state = SPOOL_SIG_REVOKED_KEY;

	assert_int_equal(e->id, 0);
	assert_int_equal(spool_count(sp, &n, NULL, &err), TDK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	assert_int_equal(e->id, 1); /* refused puts used no id */
	assert_int_equal(spool_put(NULL, e, &err), TDK_EINVAL);
	assert_int_equal(spool_put(sp, NULL, &err), TDK_EINVAL);
	spool_entry_free(e);
	spool_close(sp);
}

static void ids_sequence_list_delete_reopen(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, 0, 0);
	struct spool_entry *e, *got;
	uint64_t ids[8];
	size_t n, nq;
	tdk_err err = { "" };

	for (uint64_t i = 1; i <= 3; i++) {
		e = small_entry("seq", 100);
		assert_int_equal(spool_put(sp, e, &err), TDK_OK);
		assert_int_equal(e->id, i);
		spool_entry_free(e);
	}
	spool_close(sp);
	sp = open_ok(fx->dir, 0, 0);
	e = small_entry("after reopen", 100);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	assert_int_equal(e->id, 4);
	spool_entry_free(e);

	assert_int_equal(spool_list(sp, 0, 8, ids, &n, &err), TDK_OK);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ids[i], i + 1);
	assert_int_equal(spool_list(sp, 2, 8, ids, &n, &err), TDK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 4);
	assert_int_equal(spool_list(sp, 0, 3, ids, &n, &err), TDK_OK);
	assert_int_equal(n, 3);
	assert_int_equal(ids[2], 3);
	assert_int_equal(spool_list(sp, 4, 8, ids, &n, &err), TDK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(spool_list(sp, UINT64_MAX, 8, ids, &n, &err), TDK_OK);
	assert_int_equal(n, 0);

	assert_int_equal(spool_delete(sp, 2, &err), TDK_OK);
	assert_int_equal(spool_delete(sp, 2, &err), TDK_ENOENT);
	assert_int_equal(spool_get(sp, 2, &got, &err), TDK_ENOENT);
	assert_null(got);
	assert_int_equal(spool_get(sp, 99, &got, &err), TDK_ENOENT);
	assert_int_equal(spool_list(sp, 1, 8, ids, &n, &err), TDK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 3);
	/* deleting the newest entry does not let its id come back */
	assert_int_equal(spool_delete(sp, 4, &err), TDK_OK);
	spool_close(sp);
	sp = open_ok(fx->dir, 0, 0);
	e = small_entry("no reuse", 100);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	assert_int_equal(e->id, 5);
	assert_int_equal(spool_get(sp, 5, &got, &err), TDK_OK);
	assert_string_equal(got->subject, "no reuse");
	spool_entry_free(got);
	spool_entry_free(e);
	assert_int_equal(spool_count(sp, &n, &nq, &err), TDK_OK);
	assert_int_equal(n, 3);
	assert_int_equal(nq, 0);
	spool_close(sp);
}

static void delete_many_in_one_commit(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, 0, 0);
	struct spool_entry *e;
	const uint64_t gone[] = { 2, 4, 9, 5 };
	uint64_t ids[8];
	size_t n, deleted = 99;
	tdk_err err = { "" };

	for (int i = 0; i < 5; i++) {
		e = small_entry("many", 100);
		assert_int_equal(spool_put(sp, e, &err), TDK_OK);
		spool_entry_free(e);
	}
	assert_int_equal(spool_delete_many(sp, gone, 0, &deleted, &err), TDK_OK);
	assert_int_equal(deleted, 0);
	/* 9 was never there: not an error, not counted */
	assert_int_equal(spool_delete_many(sp, gone, 4, &deleted, &err), TDK_OK);
	assert_int_equal(deleted, 3);
	assert_int_equal(spool_list(sp, 0, 8, ids, &n, &err), TDK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 3);
	assert_int_equal(spool_delete_many(sp, gone, 4, NULL, &err), TDK_OK);
	assert_int_equal(spool_delete_many(sp, NULL, 1, &deleted, &err), TDK_EINVAL);
	spool_close(sp);
	sp = open_ok(fx->dir, 0, SPOOL_READONLY);
	assert_int_equal(spool_delete_many(sp, ids, 1, &deleted, &err), TDK_ESTATE);
	assert_int_equal(spool_count(sp, &n, NULL, &err), TDK_OK);
	assert_int_equal(n, 2);
	spool_close(sp);
}

#define THREADS 8
#define PUTS_PER_THREAD 200

struct worker {
	struct spool *sp;
	int index;
	uint64_t ids[PUTS_PER_THREAD];
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	tdk_err err;

	for (int i = 0; i < PUTS_PER_THREAD; i++) {
		char subject[32];
		struct spool_entry *e;

		snprintf(subject, sizeof subject, "t%d-%d", w->index, i);
		e = small_entry(subject, 200 + (size_t)i);
		if (spool_put(w->sp, e, &err) != TDK_OK)
			w->failures++;
		w->ids[i] = e->id;
		spool_entry_free(e);
	}
	return NULL;
}

static void concurrent_puts_are_group_committed(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, 64 * MIB, 0);
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	uint8_t *seen = g_malloc0(THREADS * PUTS_PER_THREAD + 1);
	struct spool_stats st;
	size_t n;
	tdk_err err = { "" };

	for (int t = 0; t < THREADS; t++) {
		workers[t] = (struct worker){ .sp = sp, .index = t };
		assert_int_equal(pthread_create(&threads[t], NULL, worker_run, &workers[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);

	for (int t = 0; t < THREADS; t++) {
		assert_int_equal(workers[t].failures, 0);
		for (int i = 0; i < PUTS_PER_THREAD; i++) {
			uint64_t id = workers[t].ids[i];
			struct spool_entry *got = NULL;
			char subject[32];

			assert_true(id >= 1 && id <= THREADS * PUTS_PER_THREAD);
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
			if (i > 0) /* one thread's puts are ordered */
				assert_true(id > workers[t].ids[i - 1]);
			assert_int_equal(spool_get(sp, id, &got, &err), TDK_OK);
			snprintf(subject, sizeof subject, "t%d-%d", t, i);
			assert_string_equal(got->subject, subject);
			assert_int_equal(g_bytes_get_size(got->original), 200 + (size_t)i);
			spool_entry_free(got);
		}
	}
	assert_int_equal(spool_count(sp, &n, NULL, &err), TDK_OK);
	assert_int_equal(n, THREADS * PUTS_PER_THREAD);
	spool_stats(sp, &st);
	print_message("# group commit: %" PRIu64 " puts in %" PRIu64
		      " commits (largest batch %" PRIu64 ")\n",
		      st.puts, st.commits, st.max_batch);
	assert_int_equal(st.puts, THREADS * PUTS_PER_THREAD);
	assert_true(st.commits < st.puts);
	assert_true(st.max_batch > 1);
	assert_int_equal(st.failed_puts, 0);
	g_free(seen);
	spool_close(sp);
}

/* Puts entries of size bytes until the spool is full; returns how many fit. */
static int fill(struct spool *sp, size_t size, int limit, tdk_err *err)
{
	for (int i = 0; i < limit; i++) {
		struct spool_entry *e = small_entry("fill", size);
		int rc = spool_put(sp, e, err);

		if (rc != TDK_OK) {
			assert_int_equal(rc, TDK_EFULL);
			assert_int_equal(e->id, 0);
			spool_entry_free(e);
			return i;
		}
		assert_int_equal(e->id, (uint64_t)i + 1);
		spool_entry_free(e);
	}
	fail_msg("the spool never filled up");
	return -1;
}

static void full_map_then_space_again(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, 8 * MIB, 0);
	struct spool_entry *e, *got;
	struct spool_stats st;
	tdk_err err = { "" };
	int fitted = fill(sp, MIB, 100, &err);

	assert_true(fitted >= 2);
	assert_non_null(strstr(err.text, "spool full"));
	spool_stats(sp, &st);
	assert_true(st.failed_puts >= 1);
	/* the earlier entries are intact */
	for (int i = 1; i <= fitted; i++) {
		assert_int_equal(spool_get(sp, (uint64_t)i, &got, &err), TDK_OK);
		assert_int_equal(g_bytes_get_size(got->original), MIB);
		assert_int_equal(((const guint8 *)g_bytes_get_data(got->original, NULL))[7],
				 (guint8)(7 * 31 + MIB));
		spool_entry_free(got);
	}
	/* still full; small entries still fit */
	e = small_entry("still full", MIB);
	assert_int_equal(spool_put(sp, e, &err), TDK_EFULL);
	spool_entry_free(e);
	/* room again after deletes */
	assert_int_equal(spool_delete(sp, 1, &err), TDK_OK);
	assert_int_equal(spool_delete(sp, 2, &err), TDK_OK);
	e = small_entry("fits again", MIB);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	assert_int_equal(e->id, (uint64_t)fitted + 1);
	spool_entry_free(e);
	spool_close(sp);
}

static void brim_full_map_can_still_delete(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, 256 * 1024, 0);
	struct spool_entry *e;
	tdk_err err = { "" };
	int fitted = fill(sp, 3000, 1000, &err);

	assert_true(fitted > 10);
	assert_int_equal(spool_delete(sp, 5, &err), TDK_OK);
	assert_int_equal(spool_delete(sp, 6, &err), TDK_OK);
	assert_int_equal(spool_delete(sp, 7, &err), TDK_OK);
	e = small_entry("fits again", 3000);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	spool_entry_free(e);
	spool_close(sp);
}

/* Another process (the processor, or a second milter) opened the spool
 * with a larger map_size and filled it past this process's map: LMDB
 * answers MDB_MAP_RESIZED, and the spool adopts the larger map. */
static void map_grown_by_another_process(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = open_ok(fx->dir, MIB, 0);
	struct spool_entry *e = small_entry("before", 100), *got;
	tdk_err err = { "" };
	pid_t pid;
	int wstatus;

	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	spool_entry_free(e);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* no cmocka here: report by exit status */
		struct spool *other = NULL;
		int bad = spool_open(fx->dir, 16 * MIB, 0, &other, &err) != TDK_OK;

		for (int i = 0; !bad && i < 3; i++) {
			struct spool_entry *big = small_entry("from the other process", MIB);

			bad = spool_put(other, big, &err) != TDK_OK;
			spool_entry_free(big);
		}
		spool_close(other);
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);

	assert_int_equal(spool_get(sp, 3, &got, &err), TDK_OK);
	assert_string_equal(got->subject, "from the other process");
	assert_int_equal(g_bytes_get_size(got->original), MIB);
	spool_entry_free(got);
	e = small_entry("after", 100);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	assert_int_equal(e->id, 5);
	spool_entry_free(e);
	spool_close(sp);
}

/* Overwrites (or adds) the record under id with raw bytes, bypassing the
 * spool, as a damaged disk or a bug would. */
static void poke_record(const char *dir, uint64_t id, const void *data, size_t size)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t k[8];
	MDB_val key = { sizeof k, k }, val = { size, (void *)data };

	for (int i = 0; i < 8; i++)
		k[i] = (uint8_t)(id >> (56 - 8 * i));
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "entries", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void corrupt_record_is_reported_and_quarantined(void **state)
{
	struct fixture *fx = *state;
	static const char garbage[] = "\x01garbage\0\xff not a record";
	struct spool *sp = open_ok(fx->dir, 0, 0);
	struct spool_entry *e, *got = NULL;
	GBytes *raw;
	uint64_t ids[8];
	size_t n, nq;
	tdk_err err = { "" };

	for (int i = 0; i < 3; i++) {
		e = small_entry("good", 50);
		assert_int_equal(spool_put(sp, e, &err), TDK_OK);
		spool_entry_free(e);
	}
	spool_close(sp);
	poke_record(fx->dir, 2, garbage, sizeof garbage);
	poke_record(fx->dir, 4, "", 0);

	sp = open_ok(fx->dir, 0, 0);
	assert_int_equal(spool_get(sp, 2, &got, &err), TDK_ECORRUPT);
	assert_null(got);
	assert_non_null(strstr(err.text, "2"));
	assert_int_equal(spool_get(sp, 4, &got, &err), TDK_ECORRUPT);
	assert_int_equal(spool_get(sp, 1, &got, &err), TDK_OK);
	spool_entry_free(got);
	assert_int_equal(spool_get(sp, 3, &got, &err), TDK_OK);
	spool_entry_free(got);

	assert_int_equal(spool_quarantine(sp, 2, &err), TDK_OK);
	assert_int_equal(spool_quarantine(sp, 4, &err), TDK_OK);
	assert_int_equal(spool_quarantine(sp, 2, &err), TDK_ENOENT);
	assert_int_equal(spool_list(sp, 0, 8, ids, &n, &err), TDK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 3);
	assert_int_equal(spool_get(sp, 2, &got, &err), TDK_ENOENT);
	assert_non_null(strstr(err.text, "quarantine"));
	assert_int_equal(spool_quarantined_get(sp, 2, &raw, &err), TDK_OK);
	assert_int_equal(g_bytes_get_size(raw), sizeof garbage);
	assert_memory_equal(g_bytes_get_data(raw, NULL), garbage, sizeof garbage);
	g_bytes_unref(raw);
	assert_int_equal(spool_quarantined_get(sp, 1, &raw, &err), TDK_ENOENT);
	assert_int_equal(spool_count(sp, &n, &nq, &err), TDK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(nq, 2);
	/* quarantined ids are not given out again */
	e = small_entry("after quarantine", 50);
	assert_int_equal(spool_put(sp, e, &err), TDK_OK);
	assert_int_equal(e->id, 5);
	spool_entry_free(e);
	spool_close(sp);
}

/* A record built by hand from a dictionary, to test the decoder's checks. */
static GBytes *record_from(guint8 version, GVariant *dict)
{
	GVariant *v = g_variant_ref_sink(g_variant_new("(y@a{sv})", version, dict));
	GBytes *b = g_variant_get_data_as_bytes(v);

	g_variant_unref(v);
	return b;
}

static GVariant *minimal_dict(const char *extra_key, GVariant *extra_value)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "received", g_variant_new_int64(1));
	g_variant_builder_add(&b, "{sv}", "class", g_variant_new_byte(SPOOL_REPORT));
	g_variant_builder_add(&b, "{sv}", "crypto", g_variant_new_byte(SPOOL_PLAIN));
	g_variant_builder_add(&b, "{sv}", "original", g_variant_new_bytestring("m"));
	if (extra_key != NULL)
		g_variant_builder_add(&b, "{sv}", extra_key, extra_value);
	return g_variant_builder_end(&b);
}

static int decode_status(GBytes *record)
{
	struct spool_entry *e = NULL;
	tdk_err err;
	int rc = spool_decode(record, 7, &e, &err);

	if (rc == TDK_OK) {
		assert_non_null(e);
		assert_int_equal(e->id, 7);
	} else {
		assert_null(e);
	}
	spool_entry_free(e);
	return rc;
}

static void decoder_survives_damage(void **state)
{
	struct spool_entry *e = full_entry();
	GBytes *good, *b;
	const guint8 *data;
	gsize size;
	guint8 *copy;
	GRand *rand = g_rand_new_with_seed(20261122);
	tdk_err err;
	GVariantBuilder sigs;

	(void)state;
	assert_int_equal(spool_encode(e, &good, &err), TDK_OK);
	data = g_bytes_get_data(good, &size);
	assert_int_equal(data[0], 1); /* the format version leads */
	assert_int_equal(decode_status(good), TDK_OK);

	/* every truncation */
	for (gsize len = 0; len < size; len++) {
		b = g_bytes_new(data, len);
		assert_int_equal(decode_status(b), TDK_ECORRUPT);
		g_bytes_unref(b);
	}
	/* random byte damage: decodes or is refused, never crashes */
	copy = g_malloc(size);
	for (int round = 0; round < 3000; round++) {
		memcpy(copy, data, size);
		for (int k = 0; k < 1 + round % 4; k++)
			copy[g_rand_int_range(rand, 0, (gint32)size)] = (guint8)g_rand_int(rand);
		b = g_bytes_new(copy, size);
		int rc = decode_status(b);
		assert_true(rc == TDK_OK || rc == TDK_ECORRUPT);
		g_bytes_unref(b);
	}
	/* random bytes */
	for (int round = 0; round < 1000; round++) {
		gsize len = (gsize)g_rand_int_range(rand, 1, 300);

		for (gsize i = 0; i < len; i++)
			copy[i] = (guint8)g_rand_int(rand);
		copy[0] = 1;
		b = g_bytes_new(copy, len);
		int rc = decode_status(b);
		assert_true(rc == TDK_OK || rc == TDK_ECORRUPT);
		g_bytes_unref(b);
	}
	g_free(copy);
	g_rand_free(rand);

	/* the checks on well-formed GVariants */
	b = record_from(1, minimal_dict(NULL, NULL));
	assert_int_equal(decode_status(b), TDK_OK);
	g_bytes_unref(b);
	b = record_from(2, minimal_dict(NULL, NULL));
	{
		struct spool_entry *none = NULL;

		assert_int_equal(spool_decode(b, 7, &none, &err), TDK_ECORRUPT);
		assert_null(none);
	}
	assert_non_null(strstr(err.text, "format version 2"));
	g_bytes_unref(b);
	b = record_from(1, minimal_dict("future_field", g_variant_new_string("ignored")));
	assert_int_equal(decode_status(b), TDK_OK);
	g_bytes_unref(b);
	b = record_from(1, minimal_dict("subject", g_variant_new_string("a string, not ay")));
	assert_int_equal(decode_status(b), TDK_ECORRUPT);
	g_bytes_unref(b);
	b = record_from(1, minimal_dict("subject",
					g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "ab", 2, 1)));
	assert_int_equal(decode_status(b), TDK_ECORRUPT); /* no NUL terminator */
	g_bytes_unref(b);
	b = record_from(1, minimal_dict("subject",
					g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "a\0b", 4, 1)));
	assert_int_equal(decode_status(b), TDK_ECORRUPT); /* NUL inside */
	g_bytes_unref(b);
	b = record_from(1, minimal_dict("class", g_variant_new_byte(1)));
	assert_int_equal(decode_status(b), TDK_ECORRUPT); /* twice */
	g_bytes_unref(b);
	g_variant_builder_init(&sigs, G_VARIANT_TYPE("a(ymayxb)"));
	g_variant_builder_add(&sigs, "(y@mayxb)", 42,
			      g_variant_new_maybe(G_VARIANT_TYPE_BYTESTRING, NULL),
			      (gint64)0, FALSE);
	b = record_from(1, minimal_dict("signatures", g_variant_builder_end(&sigs)));
	assert_int_equal(decode_status(b), TDK_ECORRUPT); /* signature state 42 */
	g_bytes_unref(b);
	{
		GVariantBuilder d;

		g_variant_builder_init(&d, G_VARIANT_TYPE_VARDICT);
		g_variant_builder_add(&d, "{sv}", "received", g_variant_new_int64(1));
		g_variant_builder_add(&d, "{sv}", "class", g_variant_new_byte(SPOOL_REPORT));
		g_variant_builder_add(&d, "{sv}", "crypto", g_variant_new_byte(SPOOL_PLAIN));
		b = record_from(1, g_variant_builder_end(&d));
		assert_int_equal(decode_status(b), TDK_ECORRUPT); /* no original */
		g_bytes_unref(b);
	}
	g_bytes_unref(good);
	spool_entry_free(e);
}

static void unsafe_directories_are_refused(void **state)
{
	struct fixture *fx = *state;
	struct spool *sp = NULL;
	tdk_err err = { "" };
	char *file, *data;
	FILE *f;

	/* missing, read-only */
	assert_int_equal(spool_open(fx->dir, 0, SPOOL_READONLY, &sp, &err), TDK_ENOENT);
	assert_null(sp);
	assert_non_null(strstr(err.text, fx->dir));

	/* world- or group-writable */
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	assert_int_equal(chmod(fx->dir, 0777), 0);
	assert_int_equal(spool_open(fx->dir, 0, 0, &sp, &err), TDK_EPERM);
	assert_null(sp);
	assert_non_null(strstr(err.text, "open to others (mode 0777)"));
	assert_non_null(strstr(err.text, fx->dir));
	assert_int_equal(spool_open(fx->dir, 0, SPOOL_READONLY, &sp, &err), TDK_EPERM);
	assert_int_equal(chmod(fx->dir, 0770), 0);
	assert_int_equal(spool_open(fx->dir, 0, 0, &sp, &err), TDK_EPERM);
	assert_non_null(strstr(err.text, "group-writable"));
	assert_non_null(strstr(err.text, "chmod g-w"));
	/* readable by others */
	assert_int_equal(chmod(fx->dir, 0755), 0);
	assert_int_equal(spool_open(fx->dir, 0, 0, &sp, &err), TDK_EPERM);
	assert_non_null(strstr(err.text, "open to others (mode 0755)"));
	assert_non_null(strstr(err.text, "chmod o-rwx"));
	/* group-readable is fine */
	assert_int_equal(chmod(fx->dir, 0750), 0);
	sp = open_ok(fx->dir, 0, 0);
	spool_close(sp);

	/* a writable or readable spool file */
	data = g_build_filename(fx->dir, "data.mdb", NULL);
	assert_int_equal(chmod(data, 0666), 0);
	assert_int_equal(spool_open(fx->dir, 0, 0, &sp, &err), TDK_EPERM);
	assert_non_null(strstr(err.text, "data.mdb"));
	assert_int_equal(chmod(data, 0644), 0);
	assert_int_equal(spool_open(fx->dir, 0, SPOOL_READONLY, &sp, &err), TDK_EPERM);
	assert_non_null(strstr(err.text, "data.mdb is open to others (mode 0644)"));
	assert_int_equal(chmod(data, 0600), 0);
	g_free(data);

	/* not writable (only checkable when not root) */
	if (geteuid() != 0) {
		assert_int_equal(chmod(fx->dir, 0500), 0);
		assert_int_equal(spool_open(fx->dir, 0, 0, &sp, &err), TDK_EPERM);
		assert_non_null(strstr(err.text, "not writable"));
		assert_int_equal(chmod(fx->dir, 0700), 0);
	}

	/* not a directory */
	file = g_build_filename(fx->root, "plain-file", NULL);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(spool_open(file, 0, 0, &sp, &err), TDK_EINVAL);
	assert_non_null(strstr(err.text, "not a directory"));
	g_free(file);

	/* a missing parent */
	file = g_build_filename(fx->root, "no", "such", NULL);
	assert_int_not_equal(spool_open(file, 0, 0, &sp, &err), TDK_OK);
	assert_non_null(strstr(err.text, "cannot create"));
	g_free(file);

	assert_int_equal(spool_open(NULL, 0, 0, &sp, &err), TDK_EINVAL);
	assert_int_equal(spool_open(fx->dir, 0, 0x80, &sp, &err), TDK_EINVAL);
	spool_close(NULL);
}

static void json_rendering(void **state)
{
	struct spool_entry *e = full_entry();
	JsonNode *node;
	JsonObject *o, *sig;
	JsonArray *a;
	char *text;
	guchar *decoded;
	gsize len;

	(void)state;
	e->id = 42;
	text = spool_entry_to_json_text(e, false, true);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"classification\""));
	assert_non_null(strstr(text, "\"reply\""));
	assert_non_null(strstr(text, "IPA#12345678"));
	assert_non_null(strstr(text, "Re: 【IPA#12345678】脆弱性のご報告"));
	assert_non_null(strstr(text, "\"2026-11-22T10:00:00Z\""));
	assert_null(strstr(text, "\"original\""));
	assert_null(strstr(text, "_base64"));

	node = json_from_string(text, NULL);
	assert_non_null(node);
	o = json_node_get_object(node);
	assert_int_equal(json_object_get_int_member(o, "id"), 42);
	assert_string_equal(json_object_get_string_member(o, "classification"), "reply");
	assert_string_equal(json_object_get_string_member(o, "case_subject"), "IPA#12345678");
	assert_true(json_object_get_null_member(o, "case_body"));
	assert_string_equal(json_object_get_string_member(o, "envelope_from"), "");
	assert_string_equal(json_object_get_string_member(o, "crypto"), "decrypted");
	assert_string_equal(json_object_get_string_member(o, "received"), "2026-11-22T10:00:00Z");
	assert_int_equal(json_object_get_int_member(o, "original_size"), sizeof binary_original);
	assert_int_equal(json_object_get_int_member(o, "decrypted_size"), strlen(DECRYPTED_TEXT));
	a = json_object_get_array_member(o, "recipients");
	assert_int_equal(json_array_get_length(a), 3);
	assert_string_equal(json_array_get_string_element(a, 1), "cc@desk.example");
	a = json_object_get_array_member(o, "signatures");
	assert_int_equal(json_array_get_length(a), 2);
	sig = json_array_get_object_element(a, 0);
	assert_string_equal(json_object_get_string_member(sig, "state"), "good");
	assert_string_equal(json_object_get_string_member(sig, "created"), "2026-11-22T09:59:00Z");
	assert_true(json_object_get_boolean_member(sig, "inside_encryption"));
	sig = json_array_get_object_element(a, 1);
	assert_string_equal(json_object_get_string_member(sig, "state"), "unknown-key");
	assert_true(json_object_get_null_member(sig, "fingerprint"));
	assert_false(json_object_has_member(o, "original"));
	assert_false(json_object_has_member(o, "decrypted"));
	json_node_unref(node);
	g_free(text);

	/* with the bodies: binary as base64, text as text */
	text = spool_entry_to_json_text(e, true, false);
	node = json_from_string(text, NULL);
	assert_non_null(node);
	o = json_node_get_object(node);
	assert_false(json_object_has_member(o, "original"));
	decoded = g_base64_decode(json_object_get_string_member(o, "original_base64"), &len);
	assert_int_equal(len, sizeof binary_original);
	assert_memory_equal(decoded, binary_original, len);
	g_free(decoded);
	assert_string_equal(json_object_get_string_member(o, "decrypted"), DECRYPTED_TEXT);
	json_node_unref(node);
	g_free(text);

	/* invalid UTF-8 in a header field is repaired, absent bodies are null */
	g_free(e->from_header);
	e->from_header = g_strdup("Bad \xff\xfe name <x@example>");
	g_bytes_unref(e->decrypted);
	e->decrypted = NULL;
	text = spool_entry_to_json_text(e, true, false);
	assert_true(g_utf8_validate(text, -1, NULL));
	node = json_from_string(text, NULL);
	o = json_node_get_object(node);
	assert_non_null(strstr(json_object_get_string_member(o, "from_header"), "\xef\xbf\xbd"));
	assert_true(json_object_get_null_member(o, "decrypted"));
	assert_true(json_object_get_null_member(o, "decrypted_size"));
	json_node_unref(node);
	g_free(text);

	assert_null(spool_entry_to_json(NULL, true));
	assert_null(spool_entry_to_json_text(NULL, true, true));
	spool_entry_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_parsers),
		cmocka_unit_test_setup_teardown(round_trip_full_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(round_trip_minimal_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_entries_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(ids_sequence_list_delete_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(delete_many_in_one_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_puts_are_group_committed, setup, teardown),
		cmocka_unit_test_setup_teardown(full_map_then_space_again, setup, teardown),
		cmocka_unit_test_setup_teardown(brim_full_map_can_still_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(map_grown_by_another_process, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_record_is_reported_and_quarantined, setup, teardown),
		cmocka_unit_test(decoder_survives_damage),
		cmocka_unit_test_setup_teardown(unsafe_directories_are_refused, setup, teardown),
		cmocka_unit_test(json_rendering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
