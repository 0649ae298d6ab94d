/*
 * bench_spool.c - throughput of the intake spool's durable writer
 * (lib/spool: spool_put with group commit) against the named baseline, a
 * loop of single-entry LMDB put + synchronous commit from one thread.
 *
 * Usage: bench_spool [DIR [SECONDS]]
 *   DIR      where the spools are made (default: the current directory);
 *            it must be on the disk under test: on tmpfs fsync costs
 *            nothing and the figures mean little.
 *   SECONDS  time given to each configuration (default 3).
 *
 * Each configuration (the baseline; spool_put from 1, 4 and 20 threads)
 * has a fresh spool in DIR/bench_spool.XXXXXX, removed afterwards, and
 * runs SECONDS in all, in ROUNDS slices interleaved with the other
 * configurations' (the fsync rate of a shared disk drifts a lot within
 * seconds; interleaving spreads that drift over all of them). Entries
 * carry a 4096-byte original; spool_put encodes each one (as the milter
 * does), the baseline writes one pre-encoded record.
 * Exits 1 if a put fails, 2 on bad usage or setup failure.
 */
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

#define ORIGINAL_SIZE 4096
#define MAP_SIZE ((size_t)8 << 30)
#define TMPFS_MAGIC_NUMBER 0x01021994
#define ROUNDS 6 /* slices per configuration */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct spool_entry *make_entry(unsigned seed)
{
	struct spool_entry *e = g_new0(struct spool_entry, 1);
	guint8 *body = g_malloc(ORIGINAL_SIZE);

	for (size_t i = 0; i < ORIGINAL_SIZE; i++)
		body[i] = (guint8)(' ' + (i * 7 + seed) % 90);
	e->received = INT64_C(1795341600);
	e->queue_id = g_strdup("4Xk9Lm0Qz1");
	e->envelope_from = g_strdup("finder@example.org");
	e->recipients = g_new0(char *, 2);
	e->recipients[0] = g_strdup("vuln@desk.example");
	e->n_recipients = 1;
	e->classification = SPOOL_REPLY;
	e->message_id = g_strdup("<bench@example.org>");
	e->subject = g_strdup("Re: 【IPA#12345678】脆弱性のご報告");
	e->case_subject = g_strdup("IPA#12345678");
	e->crypto = SPOOL_PLAIN;
	e->original = g_bytes_new_take(body, ORIGINAL_SIZE);
	return e;
}

static void remove_tree(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		char *child = g_build_filename(path, name, NULL);

		remove(child);
		g_free(child);
	}
	if (d != NULL)
		g_dir_close(d);
	rmdir(path);
}

/* One configuration measured in slices; the slices of all configurations
 * are interleaved, so that a disk whose fsync rate drifts (shared and
 * cloud disks do, by a factor of several within seconds) weighs on each
 * configuration alike. */
struct config {
	const char *mode;
	int threads;          /* 0: the baseline */
	char *dir;
	struct spool *sp;     /* spool_put runs */
	MDB_env *env;         /* the baseline */
	MDB_dbi dbi;
	GBytes *record;       /* the baseline's pre-encoded record */
	uint64_t next_key;
	uint64_t entries, commits;
	double seconds;
	GArray *lat;          /* seconds per put */
	int failed;
};

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void latency_figures(GArray *lat, double *mean_ms, double *p99_ms)
{
	double sum = 0;

	*mean_ms = *p99_ms = 0;
	if (lat->len == 0)
		return;
	qsort(lat->data, lat->len, sizeof(double), compare_double);
	for (guint i = 0; i < lat->len; i++)
		sum += g_array_index(lat, double, i);
	*mean_ms = sum / lat->len * 1e3;
	*p99_ms = g_array_index(lat, double, (guint)((lat->len - 1) * 0.99)) * 1e3;
}

/* ------------------------------------------------------------------ */

static int baseline_open(struct config *c)
{
	struct spool_entry *e = make_entry(0);
	MDB_txn *txn;
	tdk_err err;
	int rc;

	if (spool_encode(e, &c->record, &err) != TDK_OK) {
		fprintf(stderr, "bench_spool: encode: %s\n", err.text);
		spool_entry_free(e);
		return 2;
	}
	spool_entry_free(e);
	rc = mdb_env_create(&c->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(c->env, 4);
	if (rc == 0)
		rc = mdb_env_set_mapsize(c->env, MAP_SIZE);
	/* The same flags as the spool: synchronous commits. */
	if (rc == 0)
		rc = mdb_env_open(c->env, c->dir, MDB_NOTLS, 0600);
	if (rc == 0 && (rc = mdb_txn_begin(c->env, NULL, 0, &txn)) == 0) {
		rc = mdb_dbi_open(txn, "entries", MDB_CREATE, &c->dbi);
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	}
	if (rc != 0) {
		fprintf(stderr, "bench_spool: baseline setup: %s\n", mdb_strerror(rc));
		return 2;
	}
	return 0;
}

/* The baseline: one entry, one transaction, one synchronous commit. */
static int baseline_slice(struct config *c, double seconds)
{
	double start = now_s(), end = start + seconds, t0;
	MDB_txn *txn;
	int rc;

	for (t0 = start; t0 < end;) {
		uint8_t k[8];
		MDB_val key = { sizeof k, k }, val;
		uint64_t id = ++c->next_key;
		double t1;

		for (int i = 0; i < 8; i++)
			k[i] = (uint8_t)(id >> (56 - 8 * i));
		val.mv_data = (void *)g_bytes_get_data(c->record, &val.mv_size);
		rc = mdb_txn_begin(c->env, NULL, 0, &txn);
		if (rc == 0) {
			rc = mdb_put(txn, c->dbi, &key, &val, MDB_NOOVERWRITE | MDB_APPEND);
			rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
		}
		if (rc != 0) {
			fprintf(stderr, "bench_spool: baseline put: %s\n", mdb_strerror(rc));
			return 1;
		}
		t1 = now_s();
		g_array_append_val(c->lat, (double){ t1 - t0 });
		t0 = t1;
		c->entries++;
		c->commits++;
	}
	c->seconds += t0 - start;
	return 0;
}

struct worker {
	struct spool *sp;
	unsigned seed;
	double end;
	uint64_t puts;
	int failures;
	char error[TDK_ERR_MAX];
	GArray *lat;
	double finished;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct spool_entry *e = make_entry(w->seed);
	tdk_err err;
	double t0 = now_s();

	while (t0 < w->end) {
		double t1;

		e->id = 0;
		if (spool_put(w->sp, e, &err) != TDK_OK) {
			w->failures++;
			snprintf(w->error, sizeof w->error, "%s", err.text);
			break;
		}
		w->puts++;
		t1 = now_s();
		g_array_append_val(w->lat, (double){ t1 - t0 });
		t0 = t1;
	}
	w->finished = t0;
	spool_entry_free(e);
	return NULL;
}

/* threads callers of spool_put, each putting entries back to back. */
static int spool_slice(struct config *c, double seconds)
{
	struct spool_stats before, after;
	struct worker *w = g_new0(struct worker, c->threads);
	pthread_t *tid = g_new0(pthread_t, c->threads);
	double start, last = 0;
	int status = 0;

	spool_stats(c->sp, &before);
	start = now_s();
	for (int t = 0; t < c->threads; t++) {
		w[t] = (struct worker){ .sp = c->sp, .seed = (unsigned)t,
					.end = start + seconds,
					.lat = g_array_new(FALSE, FALSE, sizeof(double)) };
		if (pthread_create(&tid[t], NULL, worker_run, &w[t]) != 0) {
			fprintf(stderr, "bench_spool: cannot start a thread\n");
			exit(2);
		}
	}
	for (int t = 0; t < c->threads; t++) {
		pthread_join(tid[t], NULL);
		c->entries += w[t].puts;
		if (w[t].failures > 0) {
			fprintf(stderr, "bench_spool: put failed: %s\n", w[t].error);
			status = 1;
		}
		if (w[t].finished > last)
			last = w[t].finished;
		g_array_append_vals(c->lat, w[t].lat->data, w[t].lat->len);
		g_array_free(w[t].lat, TRUE);
	}
	spool_stats(c->sp, &after);
	c->commits += after.commits - before.commits;
	c->seconds += last - start;
	g_free(w);
	g_free(tid);
	return status;
}

int main(int argc, char **argv)
{
	struct config configs[] = {
		{ .mode = "lmdb put+commit (baseline)", .threads = 0 },
		{ .mode = "spool_put (group commit)", .threads = 1 },
		{ .mode = "spool_put (group commit)", .threads = 4 },
		{ .mode = "spool_put (group commit)", .threads = 20 },
	};
	const int n = (int)(sizeof configs / sizeof configs[0]);
	const char *base = argc > 1 ? argv[1] : ".";
	double seconds = argc > 2 ? strtod(argv[2], NULL) : 3.0;
	double base_eps;
	struct statfs fs;
	tdk_err err;
	int status = 0;

	if (argc > 3 || !(seconds > 0 && seconds <= 600)) {
		fprintf(stderr, "usage: bench_spool [DIR [SECONDS]]\n");
		return 2;
	}
	if (statfs(base, &fs) == 0 && fs.f_type == TMPFS_MAGIC_NUMBER)
		fprintf(stderr, "bench_spool: warning: %s is tmpfs: fsync costs nothing there\n",
			base);

	for (int i = 0; i < n && status == 0; i++) {
		struct config *c = &configs[i];

		c->lat = g_array_new(FALSE, FALSE, sizeof(double));
		c->dir = g_build_filename(base, "bench_spool.XXXXXX", NULL);
		if (g_mkdtemp_full(c->dir, 0700) == NULL) {
			fprintf(stderr, "bench_spool: cannot create a directory in %s: %s\n",
				base, g_strerror(errno));
			g_free(c->dir);
			c->dir = NULL;
			status = 2;
		} else if (c->threads == 0) {
			status = baseline_open(c);
		} else if (spool_open(c->dir, MAP_SIZE, 0, &c->sp, &err) != TDK_OK) {
			fprintf(stderr, "bench_spool: %s\n", err.text);
			status = 2;
		}
	}
	for (int round = 0; round < ROUNDS && status == 0; round++) {
		for (int i = 0; i < n && status == 0; i++) {
			struct config *c = &configs[i];

			status = c->threads == 0 ? baseline_slice(c, seconds / ROUNDS)
						 : spool_slice(c, seconds / ROUNDS);
		}
	}

	if (status == 0) {
		printf("bench_spool: %d-byte originals, %.1f s per configuration "
		       "(%d interleaved slices), synchronous commits, in %s\n",
		       ORIGINAL_SIZE, seconds, ROUNDS, base);
		printf("%-28s %7s %9s %11s %11s %10s %9s %9s %10s\n", "mode", "threads",
		       "entries", "entries/s", "commits/s", "per_commit", "mean_ms",
		       "p99_ms", "x_baseline");
		base_eps = configs[0].entries / configs[0].seconds;
		for (int i = 0; i < n; i++) {
			const struct config *c = &configs[i];
			double eps = c->entries / c->seconds, mean_ms, p99_ms;

			latency_figures(c->lat, &mean_ms, &p99_ms);
			printf("%-28s %7d %9" PRIu64 " %11.1f %11.1f %10.2f %9.3f %9.3f %10.2f\n",
			       c->mode, c->threads > 0 ? c->threads : 1, c->entries, eps,
			       c->commits / c->seconds,
			       c->commits > 0 ? (double)c->entries / c->commits : 0.0,
			       mean_ms, p99_ms, eps / base_eps);
		}
	}
	for (int i = 0; i < n; i++) {
		struct config *c = &configs[i];

		spool_close(c->sp);
		if (c->env != NULL)
			mdb_env_close(c->env);
		if (c->record != NULL)
			g_bytes_unref(c->record);
		if (c->dir != NULL)
			remove_tree(c->dir);
		g_free(c->dir);
		if (c->lat != NULL)
			g_array_free(c->lat, TRUE);
	}
	return status;
}
