/*
 * bench_processor.c - the processor's costs on a generated case store of
 * N open cases, each against a named baseline measured in the same run.
 *
 * Usage: bench_processor DIR SRCDIR N
 *   DIR     an empty directory on the disk under test (the store, the
 *           spool and the baseline environments are made in it)
 *   SRCDIR  the source tree: conf/todoke.conf and rules/ are used as the
 *           daemon would use them
 *   N       open cases to generate (e.g. 10000, 1000000)
 *
 * A child process generates the store through the store API (store.h) in
 * transactions of GEN_BATCH cases: web cases contacting, detail-sent,
 * acknowledged or fixing, and forwarded product cases, with the clocks
 * the flow would have started (about 3.4 armed timers per case), two
 * events and one Message-ID each. The parent then measures, with the
 * processor's own code (engine.c, flow*.c, store.c):
 *   startup   conf_load + engine_open (rules, templates, calendar, store,
 *             spool), as todoke-processor starts
 *   find_due  store_timers_due of 1,000 due timers in a read transaction
 *   tick_idle engine_tick when nothing is due
 *   tick_1000 engine_tick firing 1,000 due timers, committed
 *   rearm     engine_commands "extend CASE fix 5bd", durable, p99
 *   lookup    store_case_get by number in its own read transaction
 *   replies   engine_drain of plaintext replies written with spool_put
 *   recompute store_timers_recompute_batched after a holiday is added, as
 *             engine_open does when the calendar changed
 *   rss       the process's anonymous resident memory (RssAnon), the
 *             largest seen; LMDB's mapped pages are file pages, not in it
 * Baselines: bare LMDB calls on the same data (the store opened raw while
 * the engine is closed) or, for durable commits, a separate environment in
 * DIR, interleaved with the measured work so that the disk's drifting
 * fsync rate hits both alike.
 *
 * Output: "row KEY VALUE UNIT BASELINE_VALUE NOTE" lines (the run script
 * tabulates them) and a few "info" lines. Exits 1 on a failure, 2 on bad
 * usage.
 */
#include <errno.h>
#include <glib.h>
#include <gmime/gmime.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bigendian.h"
#include "calendar.h"
#include "case.h"
#include "command.h"
#include "conf.h"
#include "engine.h"
#include "log.h"
#include "rules.h"
#include "spool.h"
#include "store.h"

#define GEN_BATCH 20000           /* cases per generating transaction */
#define MAP_SIZE "34359738368"    /* 32 GiB: room for 1M cases and more */
#define BASE_TIME INT64_C(1767571200) /* 2026-01-05T00:00:00Z */
#define DUE_BATCH 1000
#define IDLE_REPS 2000
#define FIND_REPS 200
#define TICK_REPS 5
#define REARM_REPS 400
#define LOOKUP_REPS 100000
#define REPLY_TOTAL 2000
#define REPLY_SLICES 8
#define FLOOR_DIR "floor"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_processor: %s: %s\n", what, why);
	exit(1);
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of n samples (sorts them). */
static double quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof *v, compare_double);
	return v[(size_t)((double)(n - 1) * q)];
}

/* CPU seconds of this process: what the load of other work on the
 * machine does not add to. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_anon_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "RssAnon: %ld", &kib) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kib;
}

static long rss_max;

static void rss_sample(const char *after)
{
	long k = rss_anon_kib();

	printf("info rss_anon_mib %.1f after %s\n", k / 1024.0, after);

	if (k > rss_max)
		rss_max = k;
}

/* splitmix64: a case's class and start follow from its number alone, so
 * that the measuring process knows them without reading the store. */
static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

enum gen_class { GEN_PRODUCT, GEN_CONTACTING, GEN_DETAIL_SENT, GEN_ACKNOWLEDGED,
		 GEN_FIXING };

static enum gen_class class_of(uint64_t number)
{
	unsigned u = (unsigned)(mix(number) % 100);

	if (u < 20)
		return GEN_PRODUCT;
	if (u < 32)
		return GEN_CONTACTING;
	if (u < 76)
		return GEN_DETAIL_SENT;
	if (u < 88)
		return GEN_ACKNOWLEDGED;
	return GEN_FIXING;
}

static int64_t start_of(uint64_t number)
{
	return BASE_TIME + (int64_t)(mix(number ^ 0x5a5a) % (365 * 86400));
}

struct bench {
	const char *dir, *srcdir;
	size_t n_cases;
	char *state_dir, *store_dir, *gnupg_dir, *floor_dir;
	const struct tdk_config *config;
	size_t case_size;  /* mean case record size, from the raw walk */
};

/* ---------------------------------------------------------- config */

static const struct tdk_config *load_config(const struct bench *b)
{
	g_autofree char *file = g_build_filename(b->srcdir, "conf", "todoke.conf", NULL);
	g_autofree char *o_state = g_strdup_printf("paths.state_dir=%s", b->state_dir);
	g_autofree char *o_rules = g_strdup_printf("paths.rules_dir=%s/rules", b->srcdir);
	g_autofree char *o_gpg = g_strdup_printf("gpg.home=%s", b->gnupg_dir);
	const char *overrides[] = {
		o_state, o_rules, o_gpg, "processor.store_map_size=" MAP_SIZE,
		"spool.map_size=1073741824",
	};
	const struct tdk_config *config = NULL;
	tdk_err err = { "" };

	if (conf_load(file, overrides, G_N_ELEMENTS(overrides), &config, &err) != TDK_OK)
		die("configuration", err.text);
	return config;
}

/* ------------------------------------------------------- generation */

static char *case_text(uint64_t number)
{
	return g_strdup_printf("IPA#%08" PRIu64, number);
}

static void add_event(struct store_txn *txn, struct case_rec *c, int64_t when,
		      const char *type, const char *text, const char *state)
{
	struct case_event e = {
		.time = when, .actor = (char *)"mail", .type = (char *)type,
		.text = (char *)text, .state = (char *)state,
	};
	tdk_err err = { "" };

	if (store_event_append(txn, c, &e, &err) != TDK_OK)
		die("event", err.text);
}

static struct case_rec *make_case(struct store_txn *txn, uint64_t number,
				  const struct rules *r)
{
	struct case_rec *c = case_new(number);
	enum gen_class cls = class_of(number);
	int64_t s = start_of(number);
	g_autofree char *site = g_strdup_printf("site%" PRIu64 ".example", number);
	g_autofree char *addr = g_strdup_printf("webmaster@%s", site);

	c->received = s - 9 * 86400;
	c->accepted = s - 8 * 86400;
	c->last_activity = s;
	c->lang = g_strdup("ja");
	c->vuln_type = g_strdup("クロスサイト・スクリプティング");
	c->threat = g_strdup("利用者のブラウザ上で任意のスクリプトが実行される");
	c->description = g_strdup("検索フォームの入力値が、エスケープされずに結果ページに"
				  "出力されるため、細工したリンクを開いた利用者の"
				  "ブラウザ上で任意のスクリプトが実行される可能性がある。");
	c->impact = 2;
	c->verifiable = 1;
	c->contact_party = -1;
	c->report_message_id = g_strdup_printf("report.%" PRIu64 "@finder.example", number);
	case_party_add(c, ROLE_DISCOVERER, NULL, NULL, "ja", NULL, NULL, c->received);
	add_event(txn, c, c->received, "received", "a report arrived", "received");
	if (cls == GEN_PRODUCT) {
		c->kind = CASE_KIND_PRODUCT;
		c->title = g_strdup_printf("Product %" PRIu64 " の脆弱性", number);
		c->product = g_strdup_printf("Example Router RT-%" PRIu64, number % 977);
		case_party_add(c, ROLE_COORDINATOR, "vuldisclosure@coordinator.example",
			       "調整機関", "ja", NULL, NULL, c->accepted);
		c->state = CS_FORWARDED;
		c->forwarded = s;
		case_clock_start(c, CLOCK_NONDISCLOSURE, s, r->product.nondisclosure_withdrawal);
		add_event(txn, c, s, "forwarded", "forwarded to the coordinator", "forwarded");
		return c;
	}
	c->kind = CASE_KIND_WEB;
	c->title = g_strdup_printf("%s の検索フォームにおけるクロスサイト・スクリプティング", site);
	c->url = g_strdup_printf("https://%s/search", site);
	c->contact_party = (int)case_party_add(c, ROLE_OPERATOR, addr, "サイト運営者",
					       "ja", NULL, NULL, c->accepted);
	if (cls == GEN_CONTACTING) {
		c->state = CS_CONTACTING;
		c->contact_attempts = 1;
		c->stage1_sent = s;
		case_clock_start(c, CLOCK_CONTACT, s, r->contact.interval);
		add_event(txn, c, s, "stage1-sent", "stage-1 notice sent", "contacting");
		return c;
	}
	c->state = CS_DETAIL_SENT;
	c->stage1_sent = s - 6 * 86400;
	c->contact_received = s - 86400;
	c->stage2_sent = s;
	case_clock_start(c, CLOCK_FIRST_REPLY, s, r->reminders.first_reply.after);
	case_clock_start(c, CLOCK_INVESTIGATION, s, r->web.investigation);
	case_clock_start(c, CLOCK_FIX, s, r->web.fix);
	case_clock_start(c, CLOCK_COMPLETION, s, r->web.completion);
	case_clock_start(c, CLOCK_LONG_RUNNING, s, r->web.long_running);
	add_event(txn, c, s, "stage2-sent", "detail notice sent; the web clocks start",
		  "detail-sent");
	if (cls == GEN_DETAIL_SENT)
		return c;
	c->state = CS_ACKNOWLEDGED;
	c->acknowledged = s + 2 * 86400;
	c->clocks[CLOCK_FIRST_REPLY].active = false;
	if (cls == GEN_ACKNOWLEDGED)
		return c;
	c->state = CS_FIXING;
	c->investigated = s + 12 * 86400;
	c->clocks[CLOCK_INVESTIGATION].active = false;
	return c;
}

static int generate(const struct bench *b)
{
	struct engine *eng = NULL;
	tdk_err err = { "" };
	size_t done = 0;
	double t0 = now_s();

	/* engine_open makes the store and records the calendar's fingerprint,
	 * so that the measured start-up recomputes nothing. */
	if (engine_open(b->config, ENGINE_NO_SPOOL, &eng, &err) != TDK_OK)
		die("engine_open", err.text);
	while (done < b->n_cases) {
		struct store_txn *txn;
		size_t n = MIN((size_t)GEN_BATCH, b->n_cases - done);

		if (store_begin(eng->store, true, &txn, &err) != TDK_OK)
			die("store_begin", err.text);
		for (size_t i = 0; i < n; i++) {
			uint64_t number;
			struct case_rec *c;
			g_autofree char *msgid = NULL;

			if (store_case_allocate(txn, &number, &err) != TDK_OK)
				die("store_case_allocate", err.text);
			c = make_case(txn, number, eng->rules);
			msgid = g_strdup_printf("n%" PRIu64 ".stage@desk.example", number);
			if (store_msgid_put(txn, msgid, number, &err) != TDK_OK ||
			    store_case_put(txn, c, eng->cal, &err) != TDK_OK)
				die("store_case_put", err.text);
			case_free(c);
		}
		if (store_commit(txn, &err) != TDK_OK)
			die("store_commit", err.text);
		done += n;
	}
	engine_close(eng);
	printf("info generate %zu cases in %.1f s\n", b->n_cases, now_s() - t0);
	fflush(stdout);
	return 0;
}

/* ---------------------------------------------------- raw baselines */

enum { RAW_CASES, RAW_TIMERS, RAW_COUNT };

struct raw {
	MDB_env *env;
	MDB_dbi dbi[RAW_COUNT];
};

static const char *const raw_names[] = { "cases", "events", "timers", "msgids",
					 "consumed", "outbox", "attention",
					 "quarantine", "meta", "replay" };

/* The store's environment opened as store_open does, with its databases. */
static void raw_open(const struct bench *b, struct raw *r)
{
	MDB_txn *txn;
	MDB_dbi all[G_N_ELEMENTS(raw_names)];
	int rc = mdb_env_create(&r->env);

	if (rc == 0)
		rc = mdb_env_set_maxdbs(r->env, 10);
	if (rc == 0)
		rc = mdb_env_set_mapsize(r->env, (size_t)strtoull(MAP_SIZE, NULL, 10));
	if (rc == 0)
		rc = mdb_env_open(r->env, b->store_dir, MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(r->env, NULL, 0, &txn);
	for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(raw_names); i++)
		rc = mdb_dbi_open(txn, raw_names[i], 0, &all[i]);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	if (rc != 0)
		die("raw open", mdb_strerror(rc));
	r->dbi[RAW_CASES] = all[0];
	r->dbi[RAW_TIMERS] = all[2];
}

/* The durable-commit floor: a separate environment in DIR. */
struct floor {
	MDB_env *env;
	MDB_dbi dbi;
	uint64_t next;
	GBytes *value;
};

static void floor_open(const struct bench *b, struct floor *fl, size_t value_size)
{
	MDB_txn *txn;
	guint8 *v = g_malloc(value_size);
	int rc;

	for (size_t i = 0; i < value_size; i++)
		v[i] = (guint8)(i * 31 + 7);
	fl->value = g_bytes_new_take(v, value_size);
	g_mkdir_with_parents(b->floor_dir, 0700);
	rc = mdb_env_create(&fl->env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(fl->env, (size_t)1 << 30);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(fl->env, 2);
	if (rc == 0)
		rc = mdb_env_open(fl->env, b->floor_dir, MDB_NOTLS, 0600);
	if (rc == 0 && (rc = mdb_txn_begin(fl->env, NULL, 0, &txn)) == 0) {
		rc = mdb_dbi_open(txn, "floor", MDB_CREATE, &fl->dbi);
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	}
	if (rc != 0)
		die("floor open", mdb_strerror(rc));
}

/* One put of the value and one synchronous commit: seconds taken. */
static double floor_commit(struct floor *fl)
{
	uint8_t k[8];
	MDB_val key = { 8, k }, val;
	MDB_txn *txn;
	double t0 = now_s();
	int rc;

	put_be64(k, ++fl->next);
	val.mv_data = (void *)g_bytes_get_data(fl->value, &val.mv_size);
	rc = mdb_txn_begin(fl->env, NULL, 0, &txn);
	if (rc == 0) {
		rc = mdb_put(txn, fl->dbi, &key, &val, 0);
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	}
	if (rc != 0)
		die("floor commit", mdb_strerror(rc));
	return now_s() - t0;
}

static void floor_close(struct floor *fl)
{
	mdb_env_close(fl->env);
	g_bytes_unref(fl->value);
}

struct raw_figures {
	double open_s;          /* env open + every database, median */
	double lookup_s;        /* txn + mdb_get + abort, mean */
	double find_s;          /* txn + cursor scan of DUE_BATCH keys, median */
	double idle_s;          /* txn + first key, median */
	double walk_s;          /* cursor walk over every case */
	double tick_s;          /* DUE_BATCH cases rewritten + durable commit */
	size_t timers;
};

static double raw_open_time(const struct bench *b)
{
	double t[5];

	for (int i = 0; i < 5; i++) {
		struct raw r;
		double t0 = now_s();

		raw_open(b, &r);
		t[i] = now_s() - t0;
		mdb_env_close(r.env);
	}
	return quantile(t, 5, 0.5);
}

static void raw_measure(const struct bench *b, struct raw_figures *out,
			size_t *case_size)
{
	struct raw r;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_stat st;
	double *t = g_new(double, MAX(IDLE_REPS, FIND_REPS));
	uint8_t key[8];
	size_t total = 0, n = 0;
	GRand *rand = g_rand_new_with_seed(7);
	double t0;
	int rc;

	out->open_s = raw_open_time(b);
	raw_open(b, &r);

	/* lookups: the same random numbers as the measured ones (seed 7) */
	t0 = now_s();
	for (int i = 0; i < LOOKUP_REPS; i++) {
		MDB_val kk = { 8, key };

		put_be64(key, (uint64_t)g_rand_int_range(rand, 1, (gint32)b->n_cases + 1));
		mdb_txn_begin(r.env, NULL, MDB_RDONLY, &txn);
		rc = mdb_get(txn, r.dbi[RAW_CASES], &kk, &v);
		mdb_txn_abort(txn);
		if (rc != 0)
			die("raw lookup", mdb_strerror(rc));
	}
	out->lookup_s = (now_s() - t0) / LOOKUP_REPS;

	/* the idle tick's floor: a read transaction and the first timer key */
	for (int i = 0; i < IDLE_REPS; i++) {
		t0 = now_s();
		mdb_txn_begin(r.env, NULL, MDB_RDONLY, &txn);
		mdb_cursor_open(txn, r.dbi[RAW_TIMERS], &cur);
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		t[i] = now_s() - t0;
	}
	out->idle_s = quantile(t, IDLE_REPS, 0.5);

	/* finding DUE_BATCH due timers: a bare cursor range scan */
	for (int i = 0; i < FIND_REPS; i++) {
		int got = 0;

		t0 = now_s();
		mdb_txn_begin(r.env, NULL, MDB_RDONLY, &txn);
		mdb_cursor_open(txn, r.dbi[RAW_TIMERS], &cur);
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && got < DUE_BATCH;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
			got++;
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		t[i] = now_s() - t0;
	}
	out->find_s = quantile(t, FIND_REPS, 0.5);

	/* a plain walk over every case record */
	t0 = now_s();
	mdb_txn_begin(r.env, NULL, MDB_RDONLY, &txn);
	mdb_cursor_open(txn, r.dbi[RAW_CASES], &cur);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		total += v.mv_size + ((const uint8_t *)v.mv_data)[v.mv_size / 2];
		n++;
	}
	mdb_cursor_close(cur);
	mdb_stat(txn, r.dbi[RAW_TIMERS], &st);
	mdb_txn_abort(txn);
	out->walk_s = now_s() - t0;
	out->timers = st.ms_entries;
	*case_size = n > 0 ? total / n : 0;

	/* the tick's floor: scan DUE_BATCH timers, rewrite each one's case
	 * record as it is, one durable commit (not kept: aborted after the
	 * timing would not be durable, so it is committed; same bytes) */
	t0 = now_s();
	rc = mdb_txn_begin(r.env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_cursor_open(txn, r.dbi[RAW_TIMERS], &cur);
	if (rc != 0)
		die("raw tick", mdb_strerror(rc));
	int got = 0;

	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && got < DUE_BATCH; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		MDB_val ck = { 8, (uint8_t *)k.mv_data + 8 }, cv;
		uint8_t copy[8];

		memcpy(copy, ck.mv_data, 8);
		ck.mv_data = copy;
		if (mdb_get(txn, r.dbi[RAW_CASES], &ck, &cv) != 0)
			die("raw tick", "a timer without its case");
		g_autofree void *dup = g_memdup2(cv.mv_data, cv.mv_size);

		cv.mv_data = dup;
		if ((rc = mdb_put(txn, r.dbi[RAW_CASES], &ck, &cv, 0)) != 0)
			die("raw tick", mdb_strerror(rc));
		got++;
	}
	mdb_cursor_close(cur);
	if (got != DUE_BATCH)
		die("raw tick", "too few timers");
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		die("raw tick", mdb_strerror(rc));
	out->tick_s = now_s() - t0;

	mdb_env_close(r.env);
	g_rand_free(rand);
	g_free(t);
}

/* ------------------------------------------------- measured: engine */

static struct engine *start(const struct bench *b, const struct tdk_config **config,
			    double *seconds)
{
	struct engine *eng = NULL;
	tdk_err err = { "" };
	double t0 = now_s();

	*config = load_config(b);
	if (engine_open(*config, 0, &eng, &err) != TDK_OK)
		die("engine_open", err.text);
	*seconds = now_s() - t0;
	return eng;
}

static void stop(struct engine *eng, const struct tdk_config *config)
{
	engine_close(eng);
	conf_free(config);
}

/* The due time of the n-th earliest armed timer. */
static int64_t nth_due(struct engine *eng, size_t n)
{
	struct store_timer *tm = g_new(struct store_timer, n);
	struct store_txn *txn;
	size_t got = 0;
	tdk_err err = { "" };
	int64_t due;

	if (store_begin(eng->store, false, &txn, &err) != TDK_OK ||
	    store_timers_due(txn, INT64_MAX, n, tm, &got, &err) != TDK_OK || got < n)
		die("nth_due", got < n ? "too few timers" : err.text);
	store_abort(txn);
	due = tm[n - 1].due;
	g_free(tm);
	return due;
}

struct spool_reply {
	GBytes *original;
};

static GBytes *reply_mail(uint64_t number, const char *from)
{
	g_autofree char *ct = case_text(number);
	GString *m = g_string_new(NULL);

	g_string_append_printf(m,
		"From: サイト運営者 <%s>\r\n"
		"To: vuln@desk.example\r\n"
		"Subject: Re: 【%s】脆弱性関連情報に関するご連絡\r\n"
		"Message-ID: <r%" PRIu64 ".%s>\r\n"
		"Date: Mon, 02 Nov 2026 10:00:00 +0900\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n",
		from, ct, number, strchr(from, '@') + 1);
	for (int i = 0; i < 12; i++)
		g_string_append(m, "ご連絡いただいた件について、社内で確認を進めております。"
				   "結果がわかり次第、改めてご報告いたします。\r\n");
	g_string_append_printf(m, "\r\n> 取扱番号: %s\r\n", ct);
	return g_string_free_to_bytes(m);
}

static void spool_reply_put(struct engine *eng, uint64_t number, uint64_t seq)
{
	struct spool_entry *e = g_new0(struct spool_entry, 1);
	g_autofree char *from = g_strdup_printf("webmaster@site%" PRIu64 ".example", number);
	g_autofree char *ct = case_text(number);
	tdk_err err = { "" };

	e->received = BASE_TIME;
	e->queue_id = g_strdup_printf("4Xk9Lm%06" PRIu64, seq);
	e->envelope_from = g_strdup(from);
	e->recipients = g_new0(char *, 2);
	e->recipients[0] = g_strdup("vuln@desk.example");
	e->n_recipients = 1;
	e->classification = SPOOL_REPLY;
	e->message_id = g_strdup_printf("r%" PRIu64 ".site%" PRIu64 ".example", number, number);
	e->from_header = g_strdup_printf("サイト運営者 <%s>", from);
	e->subject = g_strdup_printf("Re: 【%s】脆弱性関連情報に関するご連絡", ct);
	e->case_subject = g_strdup(ct);
	e->crypto = SPOOL_PLAIN;
	e->original = reply_mail(number, from);
	if (spool_put(eng->spool, e, &err) != TDK_OK)
		die("spool_put", err.text);
	spool_entry_free(e);
}

/* The next case number > *after of class cls (web cases with the clocks
 * of a detail notice). */
static uint64_t next_of_class(const struct bench *b, uint64_t *after,
			      enum gen_class cls)
{
	for (uint64_t n = *after + 1; n <= b->n_cases; n++)
		if (class_of(n) == cls) {
			*after = n;
			return n;
		}
	die("cases", "too few cases of a class: make N larger");
	return 0;
}

struct figures {
	double tick_cpu_s, lookup_cpu_s, recompute_cpu_s;
	double startup_s, find_s, idle_s, tick_s, rearm_p99_s, rearm_p50_s,
	       rearm_floor_p99_s, rearm_floor_p50_s, lookup_s, reply_eps,
	       reply_floor_cps, recompute_s;
	size_t checked, moved, rearm_n;
};

static void measure(const struct bench *b, struct figures *fg)
{
	const struct tdk_config *config = NULL;
	struct engine *eng = NULL;
	struct floor fl;
	double t[MAX(IDLE_REPS, FIND_REPS)], ts[5];
	double *lat, *flat;
	struct store_timer *tm = g_new(struct store_timer, DUE_BATCH);
	struct store_txn *txn;
	tdk_err err = { "" };
	GRand *rand;
	int64_t t_idle, t_due;
	uint64_t cursor = 0;
	size_t n;
	double t0, c0, c1, tick_cpu = 0;

	/* start-up, five times, median; the last stays open */
	for (int i = 0; i < 5; i++) {
		if (eng != NULL)
			stop(eng, config);
		eng = start(b, &config, &ts[i]);
		if (i == 4)
			rss_sample("start-up");
	}
	fg->startup_s = quantile(ts, 5, 0.5);

	/* finding DUE_BATCH due timers */
	t_due = nth_due(eng, DUE_BATCH);
	for (int i = 0; i < FIND_REPS; i++) {
		t0 = now_s();
		if (store_begin(eng->store, false, &txn, &err) != TDK_OK ||
		    store_timers_due(txn, t_due, DUE_BATCH, tm, &n, &err) != TDK_OK)
			die("store_timers_due", err.text);
		store_abort(txn);
		t[i] = now_s() - t0;
		if (n != DUE_BATCH)
			die("store_timers_due", "not every due timer found");
	}
	fg->find_s = quantile(t, FIND_REPS, 0.5);

	/* a tick with nothing due */
	t_idle = nth_due(eng, 1) - 1;
	for (int i = 0; i < IDLE_REPS; i++) {
		struct engine_stats s = { 0 };

		t0 = now_s();
		if (engine_tick(eng, t_idle, (size_t)config->processor_batch, &s, &err) != TDK_OK)
			die("engine_tick", err.text);
		t[i] = now_s() - t0;
		if (s.fired != 0)
			die("engine_tick", "a timer fired before its time");
	}
	fg->idle_s = quantile(t, IDLE_REPS, 0.5);

	/* ticks with DUE_BATCH due timers, applied and committed */
	c0 = cpu_s();
	for (int i = 0; i < TICK_REPS; i++) {
		struct engine_stats s = { 0 };
		int64_t when = nth_due(eng, DUE_BATCH);

		c1 = cpu_s();
		t0 = now_s();
		if (engine_tick(eng, when, DUE_BATCH, &s, &err) != TDK_OK)
			die("engine_tick", err.text);
		ts[i] = now_s() - t0;
		tick_cpu += cpu_s() - c1;
		if (s.fired != DUE_BATCH)
			die("engine_tick", "not every due timer fired");
	}
	fg->tick_s = quantile(ts, TICK_REPS, 0.5);
	fg->tick_cpu_s = tick_cpu / TICK_REPS;
	rss_sample("ticks");

	/* durable re-arm: "extend CASE fix 5bd", interleaved with the floor */
	floor_open(b, &fl, b->case_size);
	fg->rearm_n = MIN((size_t)REARM_REPS, b->n_cases / 20);
	lat = g_new(double, fg->rearm_n);
	flat = g_new(double, fg->rearm_n);
	for (size_t i = 0; i < fg->rearm_n; i++) {
		uint64_t number = next_of_class(b, &cursor, GEN_ACKNOWLEDGED);
		g_autofree char *ct = case_text(number);
		g_autofree char *line = g_strdup_printf("extend %s fix 5bd reason \"bench\"", ct);
		struct casenum_format fmt = { config->case_prefix, (int)config->case_width };
		struct command *cmd = NULL;

		t0 = now_s();
		if (command_parse(line, &fmt, eng->rules, &cmd, &err) != TDK_OK ||
		    engine_commands(eng, t_idle, "todokectl:bench", &cmd, 1, &err) != TDK_OK)
			die(line, err.text);
		lat[i] = now_s() - t0;
		command_free(cmd);
		flat[i] = floor_commit(&fl);
	}
	fg->rearm_p99_s = quantile(lat, fg->rearm_n, 0.99);
	fg->rearm_p50_s = quantile(lat, fg->rearm_n, 0.5);
	fg->rearm_floor_p99_s = quantile(flat, fg->rearm_n, 0.99);
	fg->rearm_floor_p50_s = quantile(flat, fg->rearm_n, 0.5);
	g_free(lat);
	g_free(flat);
	rss_sample("re-arms");

	/* lookups by number, each in its own read transaction (seed 7 as the
	 * baseline) */
	rand = g_rand_new_with_seed(7);
	t0 = now_s();
	c0 = cpu_s();
	for (int i = 0; i < LOOKUP_REPS; i++) {
		struct case_rec *c = NULL;
		uint64_t number = (uint64_t)g_rand_int_range(rand, 1, (gint32)b->n_cases + 1);

		if (store_begin(eng->store, false, &txn, &err) != TDK_OK ||
		    store_case_get(txn, number, &c, &err) != TDK_OK)
			die("store_case_get", err.text);
		store_abort(txn);
		case_free(c);
	}
	fg->lookup_s = (now_s() - t0) / LOOKUP_REPS;
	fg->lookup_cpu_s = (cpu_s() - c0) / LOOKUP_REPS;
	g_rand_free(rand);
	rss_sample("lookups");

	/* replies: plaintext spool entries from the operator of detail-sent
	 * cases (the 一次返信), drained in slices interleaved with the floor */
	{
		size_t total = MIN((size_t)REPLY_TOTAL, b->n_cases / 20);
		size_t slice = total / REPLY_SLICES, applied = 0, floors = 0;
		double busy = 0, floor_busy = 0;

		for (size_t i = 0; i < slice * REPLY_SLICES; i++)
			spool_reply_put(eng, next_of_class(b, &cursor, GEN_DETAIL_SENT), i);
		for (int s = 0; s < REPLY_SLICES; s++) {
			struct engine_stats st = { 0 };

			t0 = now_s();
			if (engine_drain(eng, t_idle, slice, &st, &err) != TDK_OK)
				die("engine_drain", err.text);
			busy += now_s() - t0;
			if (st.applied != slice)
				die("engine_drain", "not every reply was applied");
			applied += st.applied;
			for (size_t i = 0; i < slice; i++, floors++)
				floor_busy += floor_commit(&fl);
		}
		fg->reply_eps = applied / busy;
		fg->reply_floor_cps = floors / floor_busy;
		printf("info replies %zu applied in %.3f s; floor %zu commits in %.3f s\n",
		       applied, busy, floors, floor_busy);
	}
	floor_close(&fl);
	rss_sample("replies");

	/* recompute after a calendar change: one more holiday, a Wednesday
	 * in the middle of the year the clocks start in */
	{
		struct cal_config cc = eng->rules->calendar;
		struct cal_named_day *days = g_new0(struct cal_named_day, cc.n_holiday_add + 1);
		struct cal *changed = NULL;

		memcpy(days, cc.holiday_add, cc.n_holiday_add * sizeof *days);
		days[cc.n_holiday_add] = (struct cal_named_day){
			civil_from_ymd(2026, 7, 1), "臨時休業日", "Extra closure" };
		cc.holiday_add = days;
		cc.n_holiday_add++;
		cc.timezone = config->calendar_timezone;
		if (cal_new(&cc, &changed, &err) != TDK_OK)
			die("cal_new", err.text);
		/* as engine_open does it (check_calendar) */
		t0 = now_s();
		c0 = cpu_s();
		if (store_timers_recompute_batched(eng->store, changed, ENGINE_RECOMPUTE_BATCH,
						   &fg->checked, &fg->moved, &err) != TDK_OK ||
		    store_begin(eng->store, true, &txn, &err) != TDK_OK ||
		    store_meta_put(txn, "calendar", "bench", &err) != TDK_OK ||
		    store_commit(txn, &err) != TDK_OK)
			die("store_timers_recompute_batched", err.text);
		fg->recompute_s = now_s() - t0;
		fg->recompute_cpu_s = cpu_s() - c0;
		cal_free(changed);
		g_free(days);
		rss_sample("recompute");
	}
	g_free(tm);
	stop(eng, config);
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct raw_figures raw = { 0 };
	struct figures fg = { 0 };
	pid_t pid;
	int status;
	char *end;

	if (argc != 4 || (b.n_cases = strtoul(argv[3], &end, 10)) < 1000 || *end != '\0' ||
	    b.n_cases > 100000000) {
		fprintf(stderr, "usage: bench_processor DIR SRCDIR N (N >= 1000)\n");
		return 2;
	}
	b.dir = argv[1];
	b.srcdir = argv[2];
	b.state_dir = g_build_filename(b.dir, "state", NULL);
	b.store_dir = g_build_filename(b.state_dir, "store", NULL);
	b.gnupg_dir = g_build_filename(b.dir, "gnupg", NULL);
	b.floor_dir = g_build_filename(b.dir, FLOOR_DIR, NULL);
	if (g_mkdir_with_parents(b.state_dir, 0700) != 0 ||
	    g_mkdir_with_parents(b.gnupg_dir, 0700) != 0)
		die(b.dir, g_strerror(errno));
	msg_open("bench_processor", "mail", MSG_SINK_SYSLOG);
	g_mime_init();

	/* Generation in a child, so that its memory is not counted. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		b.config = load_config(&b);
		status = generate(&b);
		conf_free(b.config);
		fflush(stdout);
		_exit(status);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("generate", "the generating process failed");

	raw_measure(&b, &raw, &b.case_size);
	measure(&b, &fg);

	printf("info cases %zu timers %zu mean_case_record_bytes %zu\n", b.n_cases,
	       raw.timers, b.case_size);
	printf("info recompute checked %zu moved %zu\n", fg.checked, fg.moved);
	printf("info rearm p50_ms %.3f floor_p50_ms %.3f\n", fg.rearm_p50_s * 1e3,
	       fg.rearm_floor_p50_s * 1e3);
	printf("info cpu tick_1000_ms %.1f lookup_us %.1f recompute_s %.2f\n",
	       fg.tick_cpu_s * 1e3, fg.lookup_cpu_s * 1e6, fg.recompute_cpu_s);
	/* row KEY VALUE UNIT BASELINE GOAL */
	printf("row startup %.1f ms %.1f <2000\n", fg.startup_s * 1e3, raw.open_s * 1e3);
	printf("row find_due %.3f ms %.3f <10\n", fg.find_s * 1e3, raw.find_s * 1e3);
	printf("row tick_1000 %.1f ms %.1f <50\n", fg.tick_s * 1e3, raw.tick_s * 1e3);
	printf("row tick_idle %.1f us %.1f <1000\n", fg.idle_s * 1e6, raw.idle_s * 1e6);
	printf("row rearm_p99 %.3f ms %.3f <1\n", fg.rearm_p99_s * 1e3,
	       fg.rearm_floor_p99_s * 1e3);
	printf("row recompute %.2f s %.3f <5\n", fg.recompute_s, raw.walk_s);
	printf("row lookup %.1f us %.1f <50\n", fg.lookup_s * 1e6, raw.lookup_s * 1e6);
	printf("row replies %.0f /s %.0f >2000\n", fg.reply_eps, fg.reply_floor_cps);
	printf("row rss_anon %.1f MiB - <200\n", rss_max / 1024.0);
	g_mime_shutdown();
	g_free(b.state_dir);
	g_free(b.store_dir);
	g_free(b.gnupg_dir);
	g_free(b.floor_dir);
	return 0;
}
