/*
 * store.c - the case store on LMDB (see store.h).
 *
 * The processor is single-threaded; todokectl may run beside it, and
 * LMDB serialises writers across processes. Every commit is synchronous.
 */
#include "store.h"
#include "lmdb_lock.h"
#include "bigendian.h"
#include "log.h"
#include "record.h"
#include "scrub.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_FORMAT "1"
#define PII_FORMAT 1
#define TIMER_FORMAT 2 /* the timers' values: see timer_value() */
#define MSGID_KEY_MAX 400 /* longer ids are keyed by their SHA-256 */

#define OUTBOX_INDEX_VERSION "1" /* meta "outbox_index": see store.h */

enum { DB_CASES, DB_EVENTS, DB_TIMERS, DB_MSGIDS, DB_CONSUMED, DB_OUTBOX,
       DB_ATTENTION, DB_QUARANTINE, DB_META, DB_REPLAY, DB_OUTBOX_PENDING,
       DB_OUTBOX_SENT, DB_OUTBOX_CASE, DB_COUNT };
static const char *const db_names[DB_COUNT] = {
	"cases", "events", "timers", "msgids", "consumed", "outbox",
	"attention", "quarantine", "meta", "replay", "outbox_pending",
	"outbox_sent", "outbox_case",
};

struct store {
	char *dir;
	char *pii_dir;
	bool readonly;
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	MDB_env *pii_env;
	MDB_dbi pii_dbi;
};

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	bool write;
};

static int outbox_index_open(struct store_txn *t, tdk_err *err);

/* ------------------------------------------------------------ helpers */

static int fail(const struct store *st, int rc, const char *what, tdk_err *err)
{
	switch (rc) {
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case ENOSPC:
	case EDQUOT:
		return tdk_err_set(err, TDK_EFULL, "case store %s full: %s: %s",
				   st->dir, what, mdb_strerror(rc));
	case MDB_NOTFOUND:
		return tdk_err_set(err, TDK_ENOENT, "case store %s: %s: not found",
				   st->dir, what);
	default:
		return tdk_err_set(err, TDK_EIO, "case store %s: %s: %s", st->dir,
				   what, mdb_strerror(rc));
	}
}

/* TDK_EPERM, naming path and the fix, if others or the group may write it
 * or others may read it. */
static int check_private(const char *what, const char *path,
			 const struct stat *sb, tdk_err *err)
{
	if ((sb->st_mode & (S_IWGRP | S_IRWXO)) == 0)
		return TDK_OK;
	return tdk_err_set(err, TDK_EPERM,
			   "%s %s is open to others (mode %04o); it must be %s; "
			   "fix: chmod %s %s",
			   what, path, (unsigned)(sb->st_mode & 07777),
			   S_ISDIR(sb->st_mode) ? "0700 or 0750" : "0600 or 0640",
			   S_ISDIR(sb->st_mode) ? "0700" : "0600", path);
}

/* Checks (and, if create and missing, makes with mode 0700) a store
 * directory, and checks the modes of its LMDB files. */
static int private_dir(const char *dir, bool create, tdk_err *err)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	struct stat sb;
	int rc;

	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT || !create)
			return tdk_err_set(err, errno == ENOENT ? TDK_ENOENT : TDK_EIO,
					   "%s: %s", dir, g_strerror(errno));
		if (g_mkdir_with_parents(dir, 0700) != 0)
			return tdk_err_set(err, errno == EACCES ? TDK_EPERM : TDK_EIO,
					   "cannot create %s: %s", dir, g_strerror(errno));
		return TDK_OK;
	}
	if (!S_ISDIR(sb.st_mode))
		return tdk_err_set(err, TDK_EINVAL, "%s is not a directory", dir);
	if ((rc = check_private("case store directory", dir, &sb, err)) != TDK_OK)
		return rc;
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		char *path = g_build_filename(dir, files[i], NULL);

		rc = lstat(path, &sb) == 0 ? check_private("case store file", path, &sb, err)
					   : TDK_OK;
		g_free(path);
		if (rc != TDK_OK)
			return rc;
	}
	return TDK_OK;
}

static int env_open(const char *dir, size_t map_size, unsigned maxdbs,
		    bool readonly, MDB_env **out)
{
	MDB_env *env;
	int rc = mdb_env_create(&env);

	if (rc != 0)
		return rc;
	if ((rc = mdb_env_set_maxdbs(env, maxdbs)) != 0 ||
	    (map_size > 0 && (rc = mdb_env_set_mapsize(env, map_size)) != 0) ||
	    (!readonly && (rc = lmdb_lock_reserve(dir, 0600)) != 0) ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS | (readonly ? MDB_RDONLY : 0),
			       0600)) != 0) {
		mdb_env_close(env);
		return rc;
	}
	*out = env;
	return 0;
}

static int open_dbs(struct store *st, tdk_err *err)
{
	MDB_txn *txn;
	MDB_val key = { 6, (void *)"format" }, val;
	unsigned create = st->readonly ? 0 : MDB_CREATE;
	int rc = mdb_txn_begin(st->env, NULL, st->readonly ? MDB_RDONLY : 0, &txn);

	if (rc != 0)
		return fail(st, rc, "opening", err);
	for (int i = 0; i < DB_COUNT && rc == 0; i++)
		rc = mdb_dbi_open(txn, db_names[i], create, &st->dbi[i]);
	if (rc == MDB_NOTFOUND) {
		bool none = true;
		MDB_dbi main_dbi;
		MDB_cursor *cur;
		MDB_val k, v;

		/* Some databases, not all: a store of an older todoke, which
		 * the processor completes when it opens it for writing. */
		if (mdb_dbi_open(txn, NULL, 0, &main_dbi) == 0 &&
		    mdb_cursor_open(txn, main_dbi, &cur) == 0) {
			none = mdb_cursor_get(cur, &k, &v, MDB_FIRST) != 0;
			mdb_cursor_close(cur);
		}
		mdb_txn_abort(txn);
		return none ? tdk_err_set(err, TDK_ENOENT, "no case store in %s", st->dir)
			    : tdk_err_set(err, TDK_ESTATE,
					  "the case store in %s was made by an older todoke; "
					  "start todoke-processor once to bring it up to date",
					  st->dir);
	}
	if (rc == 0) {
		rc = mdb_get(txn, st->dbi[DB_META], &key, &val);
		if (rc == MDB_NOTFOUND && !st->readonly) {
			val.mv_data = (void *)STORE_FORMAT;
			val.mv_size = 1;
			rc = mdb_put(txn, st->dbi[DB_META], &key, &val, 0);
		} else if (rc == 0 && (val.mv_size != 1 ||
				       memcmp(val.mv_data, STORE_FORMAT, 1) != 0)) {
			mdb_txn_abort(txn);
			return tdk_err_set(err, TDK_ECORRUPT,
					   "case store %s has an unknown format", st->dir);
		}
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return fail(st, rc, "opening the databases", err);
	}
	if (!st->readonly) {
		struct store_txn t = { st, txn, true };
		int brc = outbox_index_open(&t, err);

		if (brc != TDK_OK) {
			mdb_txn_abort(txn);
			return brc;
		}
	}
	/* Committed even when read-only: aborting would close the handles. */
	rc = mdb_txn_commit(txn);
	return rc != 0 ? fail(st, rc, "creating the databases", err) : TDK_OK;
}

static int open_pii(struct store *st, size_t map_size, tdk_err *err)
{
	MDB_txn *txn;
	int rc;

	rc = private_dir(st->pii_dir, !st->readonly, err);
	if (rc == TDK_ENOENT && st->readonly)
		return TDK_OK; /* nothing stored yet */
	if (rc != TDK_OK)
		return rc;
	rc = env_open(st->pii_dir, map_size, 2, st->readonly, &st->pii_env);
	if (rc == ENOENT && st->readonly)
		return TDK_OK; /* nothing stored yet */
	if (rc != 0)
		return tdk_err_set(err, rc == EACCES ? TDK_EPERM : TDK_EIO,
				   "personal data store %s: %s", st->pii_dir,
				   mdb_strerror(rc));
	rc = mdb_txn_begin(st->pii_env, NULL, st->readonly ? MDB_RDONLY : 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "pii", st->readonly ? 0 : MDB_CREATE,
				  &st->pii_dbi);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND) {
		mdb_env_close(st->pii_env);
		st->pii_env = NULL;
		return TDK_OK;
	}
	return rc != 0 ? tdk_err_set(err, TDK_EIO, "personal data store %s: %s",
				     st->pii_dir, mdb_strerror(rc))
		       : TDK_OK;
}

int store_open(const char *dir, size_t map_size, unsigned flags,
	       struct store **out, tdk_err *err)
{
	struct store *st = g_new0(struct store, 1);
	int rc;

	st->dir = g_strdup(dir);
	st->pii_dir = g_build_filename(dir, "pii", NULL);
	st->readonly = (flags & STORE_READONLY) != 0;
	if (st->readonly) {
		char *data = g_build_filename(dir, "data.mdb", NULL);
		bool there = access(data, F_OK) == 0;
		int e = errno;

		g_free(data);
		if (!there && e == EACCES) {
			store_close(st);
			return tdk_err_set(err, TDK_EPERM, "cannot open the case store %s: %s",
					   dir, g_strerror(e));
		}
		if (!there) {
			store_close(st);
			return tdk_err_set(err, TDK_ENOENT, "no case store in %s", dir);
		}
	}
	if ((rc = private_dir(dir, !st->readonly, err)) != TDK_OK) {
		store_close(st);
		return rc;
	}
	/* One database more than todoke keeps: scrub.h's own. */
	rc = env_open(dir, map_size, DB_COUNT + 1, st->readonly, &st->env);
	if (rc != 0) {
		rc = tdk_err_set(err, rc == EACCES ? TDK_EPERM : TDK_EIO,
				 "cannot open the case store %s: %s", dir,
				 mdb_strerror(rc));
		store_close(st);
		return rc;
	}
	if ((rc = open_dbs(st, err)) != TDK_OK ||
	    (rc = open_pii(st, map_size, err)) != TDK_OK) {
		store_close(st);
		return rc;
	}
	*out = st;
	return TDK_OK;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->pii_env != NULL)
		mdb_env_close(st->pii_env);
	if (st->env != NULL)
		mdb_env_close(st->env);
	g_free(st->pii_dir);
	g_free(st->dir);
	g_free(st);
}

const char *store_dir(const struct store *st)
{
	return st->dir;
}

int store_begin(struct store *st, bool write, struct store_txn **out,
		tdk_err *err)
{
	MDB_txn *txn;
	int rc;

	if (write && st->readonly)
		return tdk_err_set(err, TDK_ESTATE, "case store %s is open read-only",
				   st->dir);
	rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &txn);
	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(st->env, 0);
		rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &txn);
	}
	if (rc != 0)
		return fail(st, rc, "beginning a transaction", err);
	*out = g_new0(struct store_txn, 1);
	(*out)->st = st;
	(*out)->txn = txn;
	(*out)->write = write;
	return TDK_OK;
}

int store_commit(struct store_txn *t, tdk_err *err)
{
	int rc = mdb_txn_commit(t->txn);
	struct store *st = t->st;

	g_free(t);
	return rc != 0 ? fail(st, rc, "committing", err) : TDK_OK;
}

void store_abort(struct store_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	g_free(t);
}

static int get_u64(struct store_txn *t, int db, const char *key, uint64_t *v,
		   tdk_err *err)
{
	MDB_val k = { strlen(key), (void *)key }, val;
	int rc = mdb_get(t->txn, t->st->dbi[db], &k, &val);

	if (rc == MDB_NOTFOUND) {
		*v = 0;
		return TDK_OK;
	}
	if (rc != 0 || val.mv_size != 8)
		return rc != 0 ? fail(t->st, rc, key, err)
			       : tdk_err_set(err, TDK_ECORRUPT, "meta %s is damaged", key);
	*v = get_be64(val.mv_data);
	return TDK_OK;
}

static int set_u64(struct store_txn *t, int db, const char *key, uint64_t v,
		   tdk_err *err)
{
	uint8_t buf[8];
	MDB_val k = { strlen(key), (void *)key }, val = { 8, buf };
	int rc;

	put_be64(buf, v);
	rc = mdb_put(t->txn, t->st->dbi[db], &k, &val, 0);
	return rc != 0 ? fail(t->st, rc, key, err) : TDK_OK;
}

/* Takes the next id of a sequence kept in meta (ids start at 1). */
static int next_id(struct store_txn *t, const char *key, uint64_t *id,
		   tdk_err *err)
{
	uint64_t v;
	int rc = get_u64(t, DB_META, key, &v, err);

	if (rc != TDK_OK)
		return rc;
	if (v == 0)
		v = 1;
	*id = v;
	return set_u64(t, DB_META, key, v + 1, err);
}

static int put_bytes(struct store_txn *t, int db, const void *key, size_t klen,
		     GBytes *value, const char *what, tdk_err *err)
{
	gsize len;
	const void *data = g_bytes_get_data(value, &len);
	MDB_val k = { klen, (void *)key }, v = { len, (void *)data };
	int rc = mdb_put(t->txn, t->st->dbi[db], &k, &v, 0);

	return rc != 0 ? fail(t->st, rc, what, err) : TDK_OK;
}

/* ------------------------------------------------------------- cases */

int store_case_allocate(struct store_txn *t, uint64_t *number, tdk_err *err)
{
	return next_id(t, "next_case", number, err);
}

int store_case_next(struct store_txn *t, uint64_t *next, tdk_err *err)
{
	int rc = get_u64(t, DB_META, "next_case", next, err);

	if (rc == TDK_OK && *next == 0)
		*next = 1;
	return rc;
}

static int case_raw(struct store_txn *t, uint64_t number, MDB_val *val,
		    tdk_err *err)
{
	uint8_t key[8];
	MDB_val k = { 8, key };
	int rc;

	put_be64(key, number);
	rc = mdb_get(t->txn, t->st->dbi[DB_CASES], &k, val);
	if (rc == MDB_NOTFOUND)
		return tdk_err_set(err, TDK_ENOENT, "no case %" G_GUINT64_FORMAT,
				   number);
	return rc != 0 ? fail(t->st, rc, "reading a case", err) : TDK_OK;
}

int store_case_get(struct store_txn *t, uint64_t number, struct case_rec **out,
		   tdk_err *err)
{
	MDB_val val;
	int rc = case_raw(t, number, &val, err);

	if (rc != TDK_OK)
		return rc;
	return case_decode(val.mv_data, val.mv_size, number, out, err);
}

/* timers key: due (8, offset so that negative times sort) + case + clock */
#define TIMER_KEY_LEN 17

static void timer_key(uint8_t *key, int64_t due, uint64_t number, int clock)
{
	put_be64(key, (uint64_t)due ^ (UINT64_C(1) << 63));
	put_be64(key + 8, number);
	key[16] = (uint8_t)clock;
}

static void timer_unkey(const uint8_t *key, struct store_timer *out)
{
	out->due = (int64_t)(get_be64(key) ^ (UINT64_C(1) << 63));
	out->number = get_be64(key + 8);
	out->clock = key[16];
}

/*
 * The timer's value: what store_timers_recompute needs without the case.
 * Format 2, fixed binary (read for every armed timer when the calendar
 * changes): version byte 2, start (8), paused (8), the number of periods
 * (1), then each period's count (4) and unit (1), big-endian. Format 1,
 * a record (record.h) whose first byte is its version 1, is still read.
 */
#define TIMER_V2_HEAD 18
#define TIMER_V2_PERIOD 5

static GBytes *timer_value(const struct case_clock *k)
{
	int n = CLAMP(k->n_periods, 0, CLOCK_PERIODS_MAX);
	size_t len = TIMER_V2_HEAD + (size_t)n * TIMER_V2_PERIOD;
	uint8_t *v = g_malloc(len);

	v[0] = TIMER_FORMAT;
	put_be64(v + 1, (uint64_t)k->start);
	put_be64(v + 9, (uint64_t)k->paused);
	v[17] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *p = v + TIMER_V2_HEAD + (size_t)i * TIMER_V2_PERIOD;

		put_be32(p, (uint32_t)k->periods[i].count);
		p[4] = (uint8_t)k->periods[i].unit;
	}
	return g_bytes_new_take(v, len);
}

static bool timer_clock_v1(const void *data, size_t len, struct case_clock *k)
{
	GVariant *dict, *periods;
	bool ok = true;

	if (rec_unpack(data, len, 1, NULL, &dict, NULL) != TDK_OK)
		return false;
	ok = g_variant_lookup(dict, "start", "x", &k->start) &&
	     g_variant_lookup(dict, "paused", "x", &k->paused);
	periods = g_variant_lookup_value(dict, "periods", G_VARIANT_TYPE("a(iy)"));
	if (periods != NULL) {
		gsize n = g_variant_n_children(periods);

		for (gsize i = 0; i < n && i < CLOCK_PERIODS_MAX; i++) {
			gint32 count;
			guint8 unit;

			g_variant_get_child(periods, i, "(iy)", &count, &unit);
			k->periods[i].count = count;
			k->periods[i].unit = (enum cal_unit)unit;
			k->n_periods++;
		}
		g_variant_unref(periods);
	}
	g_variant_unref(dict);
	return ok && k->n_periods > 0;
}

static bool timer_clock(const void *data, size_t len, struct case_clock *k)
{
	const uint8_t *v = data;
	int n;

	memset(k, 0, sizeof *k);
	if (len < 1 || v[0] != TIMER_FORMAT)
		return timer_clock_v1(data, len, k);
	if (len < TIMER_V2_HEAD)
		return false;
	n = v[17];
	if (n < 1 || n > CLOCK_PERIODS_MAX ||
	    len != TIMER_V2_HEAD + (size_t)n * TIMER_V2_PERIOD)
		return false;
	k->start = (int64_t)get_be64(v + 1);
	k->paused = (int64_t)get_be64(v + 9);
	for (int i = 0; i < n; i++) {
		const uint8_t *p = v + TIMER_V2_HEAD + (size_t)i * TIMER_V2_PERIOD;

		k->periods[i].count = (int)(int32_t)get_be32(p);
		k->periods[i].unit = (enum cal_unit)p[4];
	}
	k->n_periods = n;
	return true;
}

static int timer_del(struct store_txn *t, int64_t due, uint64_t number,
		     int clock, tdk_err *err)
{
	uint8_t key[TIMER_KEY_LEN];
	MDB_val k = { sizeof key, key };
	int rc;

	timer_key(key, due, number, clock);
	rc = mdb_del(t->txn, t->st->dbi[DB_TIMERS], &k, NULL);
	return rc != 0 && rc != MDB_NOTFOUND ? fail(t->st, rc, "disarming a timer", err)
					     : TDK_OK;
}

static int timer_put(struct store_txn *t, int64_t due, uint64_t number,
		     const struct case_clock *clock, int id, tdk_err *err)
{
	uint8_t key[TIMER_KEY_LEN];
	GBytes *value = timer_value(clock);
	int rc;

	timer_key(key, due, number, id);
	/* A timer armed as it was already is left alone: no page is
	 * written for it. */
	{
		MDB_val k = { sizeof key, key }, old;
		gsize len;
		const void *data = g_bytes_get_data(value, &len);

		if (mdb_get(t->txn, t->st->dbi[DB_TIMERS], &k, &old) == 0 &&
		    old.mv_size == len && memcmp(old.mv_data, data, len) == 0) {
			g_bytes_unref(value);
			return TDK_OK;
		}
	}
	rc = put_bytes(t, DB_TIMERS, key, sizeof key, value, "arming a timer", err);
	g_bytes_unref(value);
	return rc;
}

int store_case_put(struct store_txn *t, struct case_rec *c,
		   const struct cal *cal, tdk_err *err)
{
	uint8_t key[8];
	GBytes *value;
	int rc = TDK_OK;

	for (int id = 1; rc == TDK_OK && id < CLOCK_COUNT; id++) {
		struct case_clock *k = &c->clocks[id];
		int64_t due = 0;

		if (k->active && !c->paused && case_clock_due(cal, k, &due) != TDK_OK) {
			msg_warn("case %" G_GUINT64_FORMAT ": clock %s is out of the "
				    "calendar's range; it is not armed",
				    c->number, case_clock_name(id));
			due = 0;
		}
		if (k->armed_due != 0 && k->armed_due != due)
			rc = timer_del(t, k->armed_due, c->number, id, err);
		if (rc == TDK_OK && due != 0)
			rc = timer_put(t, due, c->number, k, id, err);
		if (rc == TDK_OK)
			k->armed_due = due;
	}
	if (rc != TDK_OK)
		return rc;
	rc = case_encode(c, &value, err);
	if (rc != TDK_OK)
		return rc;
	put_be64(key, c->number);
	rc = put_bytes(t, DB_CASES, key, sizeof key, value, "writing a case", err);
	g_bytes_unref(value);
	return rc;
}

int store_case_foreach(struct store_txn *t, uint64_t after, store_case_fn fn,
		       void *ctx, tdk_err *err)
{
	MDB_cursor *cur;
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int rc, result = 0;

	put_be64(key, after + 1);
	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_CASES], &cur);
	if (rc != 0)
		return fail(t->st, rc, "listing cases", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && result == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t number;
		struct case_rec *c = NULL;

		if (k.mv_size != 8)
			continue;
		number = get_be64(k.mv_data);
		if (case_decode(v.mv_data, v.mv_size, number, &c, NULL) != TDK_OK)
			c = NULL;
		result = fn(number, c, ctx);
		case_free(c);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(t->st, rc, "listing cases", err);
	return result;
}

static int db_count(struct store_txn *t, int db, size_t *count, tdk_err *err)
{
	MDB_stat s;
	int rc = mdb_stat(t->txn, t->st->dbi[db], &s);

	if (rc != 0)
		return fail(t->st, rc, "counting", err);
	*count = s.ms_entries;
	return TDK_OK;
}

int store_case_count(struct store_txn *t, size_t *count, tdk_err *err)
{
	return db_count(t, DB_CASES, count, err);
}

/* ------------------------------------------------------------ events */

int store_event_append(struct store_txn *t, struct case_rec *c,
		       const struct case_event *e, tdk_err *err)
{
	uint8_t key[12];
	GBytes *value;
	int rc;

	put_be64(key, c->number);
	put_be32(key + 8, (uint32_t)c->n_events);
	rc = case_event_encode(e, &value, err);
	if (rc != TDK_OK)
		return rc;
	rc = put_bytes(t, DB_EVENTS, key, sizeof key, value, "appending an event", err);
	g_bytes_unref(value);
	if (rc == TDK_OK)
		c->n_events++;
	return rc;
}

int store_event_foreach(struct store_txn *t, uint64_t number, store_event_fn fn,
			void *ctx, tdk_err *err)
{
	MDB_cursor *cur;
	uint8_t key[12];
	MDB_val k = { 12, key }, v;
	int rc, result = 0;

	put_be64(key, number);
	put_be32(key + 8, 0);
	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_EVENTS], &cur);
	if (rc != 0)
		return fail(t->st, rc, "reading events", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && result == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct case_event e;
		const uint8_t *kp = k.mv_data;

		if (k.mv_size != 12 || get_be64(kp) != number)
			break;
		if (case_event_decode(v.mv_data, v.mv_size, &e, NULL) != TDK_OK) {
			memset(&e, 0, sizeof e);
			e.type = g_strdup("undecodable");
		}
		result = fn((int)get_be32(kp + 8), &e, ctx);
		case_event_clear(&e);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(t->st, rc, "reading events", err);
	return result;
}

/* ------------------------------------------------------------ timers */

int store_timers_due(struct store_txn *t, int64_t now, size_t max,
		     struct store_timer *out, size_t *n, tdk_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_TIMERS], &cur);
	if (rc != 0)
		return fail(t->st, rc, "reading timers", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && *n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct store_timer tm;

		if (k.mv_size != TIMER_KEY_LEN)
			continue;
		timer_unkey(k.mv_data, &tm);
		if (tm.due > now)
			break;
		out[(*n)++] = tm;
	}
	mdb_cursor_close(cur);
	return rc != 0 && rc != MDB_NOTFOUND ? fail(t->st, rc, "reading timers", err)
					     : TDK_OK;
}

int store_timer_first(struct store_txn *t, struct store_timer *out, tdk_err *err)
{
	size_t n = 0;
	int rc = store_timers_due(t, INT64_MAX, 1, out, &n, err);

	if (rc == TDK_OK && n == 0)
		rc = TDK_ENOENT;
	return rc;
}

int store_timer_foreach(struct store_txn *t, store_timer_fn fn, void *ctx,
			tdk_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, result = 0;

	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_TIMERS], &cur);
	if (rc != 0)
		return fail(t->st, rc, "reading timers", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && result == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct store_timer tm;

		if (k.mv_size != TIMER_KEY_LEN)
			continue;
		timer_unkey(k.mv_data, &tm);
		result = fn(&tm, ctx);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(t->st, rc, "reading timers", err);
	return result;
}

int store_timer_exists(struct store_txn *t, const struct store_timer *tm,
		       tdk_err *err)
{
	uint8_t key[TIMER_KEY_LEN];
	MDB_val k = { sizeof key, key }, v;
	int rc;

	timer_key(key, tm->due, tm->number, tm->clock);
	rc = mdb_get(t->txn, t->st->dbi[DB_TIMERS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return TDK_ENOENT;
	return rc != 0 ? fail(t->st, rc, "reading timers", err) : TDK_OK;
}

int store_timer_count(struct store_txn *t, size_t *count, tdk_err *err)
{
	return db_count(t, DB_TIMERS, count, err);
}

struct moved_timer {
	struct store_timer old;
	int64_t due;
};

static gint compare_moved(gconstpointer a, gconstpointer b)
{
	uint64_t x = ((const struct moved_timer *)a)->old.number;
	uint64_t y = ((const struct moved_timer *)b)->old.number;

	return (x > y) - (x < y);
}

/* The armed timers whose due time cal moves, sorted by case number. */
static int timers_moved(struct store_txn *t, const struct cal *cal,
			GArray *moved, size_t *seen, tdk_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(t->txn, t->st->dbi[DB_TIMERS], &cur);

	*seen = 0;
	if (rc != 0)
		return fail(t->st, rc, "reading timers", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct moved_timer m;
		struct case_clock clock;

		if (k.mv_size != TIMER_KEY_LEN)
			continue;
		(*seen)++;
		timer_unkey(k.mv_data, &m.old);
		if (!timer_clock(v.mv_data, v.mv_size, &clock) ||
		    case_clock_due(cal, &clock, &m.due) != TDK_OK || m.due == m.old.due)
			continue;
		g_array_append_val(moved, m);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return fail(t->st, rc, "reading timers", err);
	g_array_sort(moved, compare_moved);
	return TDK_OK;
}

/* Rewrites the cases of moved[*next..] (each once), which re-arms their
 * timers, until max cases are done; *next is where it stopped. */
static int rewrite_moved(struct store_txn *t, const struct cal *cal,
			 const GArray *moved, guint *next, size_t max,
			 tdk_err *err)
{
	size_t done = 0;
	int rc = TDK_OK;

	for (; rc == TDK_OK && *next < moved->len && done < max; (*next)++) {
		const struct moved_timer *m = &g_array_index(moved, struct moved_timer, *next);
		struct case_rec *c;

		if (*next > 0 && g_array_index(moved, struct moved_timer, *next - 1).old.number ==
					 m->old.number)
			continue;
		rc = store_case_get(t, m->old.number, &c, err);
		if (rc == TDK_OK) {
			rc = store_case_put(t, c, cal, err);
			case_free(c);
		}
		done++;
	}
	return rc;
}

int store_timers_recompute(struct store_txn *t, const struct cal *cal,
			   size_t *checked, size_t *changed, tdk_err *err)
{
	GArray *moved = g_array_new(FALSE, FALSE, sizeof(struct moved_timer));
	size_t seen = 0;
	guint next = 0;
	int rc = timers_moved(t, cal, moved, &seen, err);

	if (rc == TDK_OK)
		rc = rewrite_moved(t, cal, moved, &next, SIZE_MAX, err);
	if (checked != NULL)
		*checked = seen;
	if (changed != NULL)
		*changed = moved->len;
	g_array_free(moved, TRUE);
	return rc;
}

int store_timers_recompute_batched(struct store *st, const struct cal *cal,
				   size_t cases_per_txn, size_t *checked,
				   size_t *changed, tdk_err *err)
{
	GArray *moved = g_array_new(FALSE, FALSE, sizeof(struct moved_timer));
	struct store_txn *t;
	size_t seen = 0;
	guint next = 0;
	int rc = store_begin(st, false, &t, err);

	if (rc == TDK_OK) {
		rc = timers_moved(t, cal, moved, &seen, err);
		store_abort(t);
	}
	while (rc == TDK_OK && next < moved->len) {
		rc = store_begin(st, true, &t, err);
		if (rc != TDK_OK)
			break;
		rc = rewrite_moved(t, cal, moved, &next,
				   cases_per_txn > 0 ? cases_per_txn : 1, err);
		if (rc == TDK_OK)
			rc = store_commit(t, err);
		else
			store_abort(t);
	}
	if (checked != NULL)
		*checked = seen;
	if (changed != NULL)
		*changed = moved->len;
	g_array_free(moved, TRUE);
	return rc;
}

/* ---------------------------------------------------------- msgids */

static size_t msgid_key(const char *msgid, uint8_t *buf, size_t cap)
{
	size_t len = strlen(msgid);

	if (len <= MSGID_KEY_MAX && len <= cap) {
		memcpy(buf, msgid, len);
		return len;
	} else {
		GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
		gsize n = 32;

		g_checksum_update(sum, (const guchar *)msgid, (gssize)len);
		buf[0] = '\0'; /* no Message-ID starts with NUL */
		g_checksum_get_digest(sum, buf + 1, &n);
		g_checksum_free(sum);
		return 1 + n;
	}
}

int store_msgid_put(struct store_txn *t, const char *msgid, uint64_t number,
		    tdk_err *err)
{
	uint8_t key[MSGID_KEY_MAX], value[8];
	size_t klen;
	MDB_val k, v = { 8, value };
	int rc;

	if (msgid == NULL || *msgid == '\0')
		return tdk_err_set(err, TDK_EINVAL, "empty Message-ID");
	klen = msgid_key(msgid, key, sizeof key);
	k.mv_size = klen;
	k.mv_data = key;
	put_be64(value, number);
	rc = mdb_put(t->txn, t->st->dbi[DB_MSGIDS], &k, &v, 0);
	return rc != 0 ? fail(t->st, rc, "mapping a Message-ID", err) : TDK_OK;
}

int store_msgid_get(struct store_txn *t, const char *msgid, uint64_t *number,
		    tdk_err *err)
{
	uint8_t key[MSGID_KEY_MAX];
	MDB_val k, v;
	int rc;

	if (msgid == NULL || *msgid == '\0')
		return tdk_err_set(err, TDK_ENOENT, "empty Message-ID");
	k.mv_size = msgid_key(msgid, key, sizeof key);
	k.mv_data = key;
	rc = mdb_get(t->txn, t->st->dbi[DB_MSGIDS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return TDK_ENOENT;
	if (rc != 0 || v.mv_size != 8)
		return rc != 0 ? fail(t->st, rc, "looking up a Message-ID", err)
			       : tdk_err_set(err, TDK_ECORRUPT, "damaged Message-ID map");
	*number = get_be64(v.mv_data);
	return TDK_OK;
}

/* --------------------------------------------------------- consumed */

int store_consumed_get(struct store_txn *t, uint64_t spool_id, uint64_t *number,
		       tdk_err *err)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int rc;

	put_be64(key, spool_id);
	rc = mdb_get(t->txn, t->st->dbi[DB_CONSUMED], &k, &v);
	if (rc == MDB_NOTFOUND)
		return TDK_ENOENT;
	if (rc != 0)
		return fail(t->st, rc, "reading consumed ids", err);
	if (number != NULL)
		*number = v.mv_size >= 8 ? get_be64(v.mv_data) : 0;
	return TDK_OK;
}

int store_consumed_put(struct store_txn *t, uint64_t spool_id, uint64_t number,
		       int64_t when, tdk_err *err)
{
	uint8_t key[8], value[16];
	MDB_val k = { 8, key }, v = { 16, value };
	int rc;

	put_be64(key, spool_id);
	put_be64(value, number);
	put_be64(value + 8, (uint64_t)when);
	rc = mdb_put(t->txn, t->st->dbi[DB_CONSUMED], &k, &v, 0);
	return rc != 0 ? fail(t->st, rc, "recording a consumed entry", err) : TDK_OK;
}

/* ---------------------------------------------------- outbox, attention */

/*
 * The outbox indexes (store.h). The entries a notice has follow from its
 * record alone, so that a write compares the old record's entries with
 * the new one's and touches only those that changed.
 */
#define SENT_KEY_MAX (MSGID_KEY_MAX + 1 + 16)
#define PENDING_VALUE_LEN 10
#define CASE_KEY_LEN 16

struct outbox_keys {
	bool pending;
	uint8_t pending_value[PENDING_VALUE_LEN];
	size_t sent_len;                   /* 0: not in the recipients' index */
	uint8_t sent[SENT_KEY_MAX];
	bool in_case;
	uint8_t case_key[CASE_KEY_LEN];
};

static void put_time(uint8_t *p, int64_t t)
{
	put_be64(p, (uint64_t)t ^ (UINT64_C(1) << 63));
}

static int64_t get_time(const uint8_t *p)
{
	return (int64_t)(get_be64(p) ^ (UINT64_C(1) << 63));
}

/* The recipients' index prefix of an address: lowercased, then NUL. */
static size_t sent_prefix(const char *recipient, uint8_t *buf)
{
	g_autofree char *lower = g_ascii_strdown(recipient, -1);
	size_t n = msgid_key(lower, buf, MSGID_KEY_MAX);

	buf[n] = '\0';
	return n + 1;
}

static void outbox_keys_of(const struct outbox_item *o, struct outbox_keys *k)
{
	bool queued = g_strcmp0(o->state, OUTBOX_QUEUED) == 0;
	bool deferred = g_strcmp0(o->state, OUTBOX_DEFERRED) == 0;

	memset(k, 0, sizeof *k);
	if (queued || deferred) {
		k->pending = true;
		k->pending_value[0] = queued ? 'q' : 'd';
		k->pending_value[1] = o->rendered != NULL;
		put_time(k->pending_value + 2, o->next_try);
	}
	if (o->recipient != NULL && o->sent != 0) {
		size_t n = sent_prefix(o->recipient, k->sent);

		put_time(k->sent + n, o->sent);
		put_be64(k->sent + n + 8, o->id);
		k->sent_len = n + 16;
	}
	if (o->case_number != 0) {
		k->in_case = true;
		put_be64(k->case_key, o->case_number);
		put_be64(k->case_key + 8, o->id);
	}
}

static int index_del(struct store_txn *t, int db, const void *key, size_t len)
{
	MDB_val k = { len, (void *)key };
	int rc = mdb_del(t->txn, t->st->dbi[db], &k, NULL);

	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int index_put(struct store_txn *t, int db, const void *key, size_t len,
		     const void *value, size_t vlen)
{
	MDB_val k = { len, (void *)key }, v = { vlen, (void *)value };

	return mdb_put(t->txn, t->st->dbi[db], &k, &v, 0);
}

/* Moves notice id's index entries from old to new. */
static int index_update(struct store_txn *t, uint64_t id, const struct outbox_keys *old,
			const struct outbox_keys *new, tdk_err *err)
{
	uint8_t key[8];
	int rc = 0;

	put_be64(key, id);
	if (old->pending && !new->pending)
		rc = index_del(t, DB_OUTBOX_PENDING, key, 8);
	else if (new->pending && (!old->pending || memcmp(old->pending_value, new->pending_value,
							  PENDING_VALUE_LEN) != 0))
		rc = index_put(t, DB_OUTBOX_PENDING, key, 8, new->pending_value,
			       PENDING_VALUE_LEN);
	if (old->sent_len != new->sent_len ||
	    memcmp(old->sent, new->sent, old->sent_len) != 0) {
		/* The address is in the key: deleting it takes it out of
		 * the page (store_scrub() clears the page's unused middle). */
		if (rc == 0 && old->sent_len > 0)
			rc = index_del(t, DB_OUTBOX_SENT, old->sent, old->sent_len);
		if (rc == 0 && new->sent_len > 0)
			rc = index_put(t, DB_OUTBOX_SENT, new->sent, new->sent_len, "", 0);
	}
	if (old->in_case != new->in_case ||
	    memcmp(old->case_key, new->case_key, CASE_KEY_LEN) != 0) {
		if (rc == 0 && old->in_case)
			rc = index_del(t, DB_OUTBOX_CASE, old->case_key, CASE_KEY_LEN);
		if (rc == 0 && new->in_case)
			rc = index_put(t, DB_OUTBOX_CASE, new->case_key, CASE_KEY_LEN, "", 0);
	}
	return rc != 0 ? fail(t->st, rc, "indexing a notice intent", err) : TDK_OK;
}

/* The index entries of the stored record of notice id (none if there
 * is none; if it does not decode, only its pending entry, which is
 * keyed by the id alone, is known). */
static int stored_keys(struct store_txn *t, uint64_t id, struct outbox_keys *k,
		       tdk_err *err)
{
	uint8_t key[8];
	MDB_val kv = { 8, key }, v;
	struct outbox_item *old = NULL;
	int rc;

	memset(k, 0, sizeof *k);
	put_be64(key, id);
	rc = mdb_get(t->txn, t->st->dbi[DB_OUTBOX], &kv, &v);
	if (rc == MDB_NOTFOUND)
		return TDK_OK;
	if (rc != 0)
		return fail(t->st, rc, "reading a notice intent", err);
	if (outbox_item_decode(v.mv_data, v.mv_size, id, &old, NULL) != TDK_OK) {
		k->pending = true;
		return TDK_OK;
	}
	outbox_keys_of(old, k);
	outbox_item_free(old);
	return TDK_OK;
}

static int outbox_write(struct store_txn *t, struct outbox_item *o,
			const struct outbox_keys *old, tdk_err *err)
{
	struct outbox_keys *new = g_new(struct outbox_keys, 1);
	uint8_t key[8];
	GBytes *value;
	int rc;

	outbox_keys_of(o, new);
	rc = index_update(t, o->id, old, new, err);
	g_free(new);
	if (rc != TDK_OK)
		return rc;
	outbox_item_encode(o, &value);
	put_be64(key, o->id);
	rc = put_bytes(t, DB_OUTBOX, key, 8, value, "writing a notice intent", err);
	g_bytes_unref(value);
	return rc;
}

int store_outbox_put(struct store_txn *t, struct outbox_item *o, tdk_err *err)
{
	struct outbox_keys *old = g_new0(struct outbox_keys, 1);
	int rc = TDK_OK;

	if (o->id == 0)
		rc = next_id(t, "next_outbox", &o->id, err);
	else
		rc = stored_keys(t, o->id, old, err);
	if (rc == TDK_OK)
		rc = outbox_write(t, o, old, err);
	g_free(old);
	return rc;
}

int store_outbox_replace_scrubbed(struct store_txn *t, struct outbox_item *o,
				  tdk_err *err)
{
	struct outbox_keys *old = g_new0(struct outbox_keys, 1);
	uint8_t key[8];
	MDB_val k = { 8, key };
	int rc;

	put_be64(key, o->id);
	rc = stored_keys(t, o->id, old, err);
	if (rc == TDK_OK && (rc = scrub_zero(t->txn, t->st->dbi[DB_OUTBOX], &k)) != 0)
		rc = fail(t->st, rc, "zeroing a notice intent", err);
	if (rc == TDK_OK)
		rc = outbox_write(t, o, old, err);
	g_free(old);
	return rc;
}

/* Builds the outbox indexes afresh from the outbox, unless meta says
 * they are there (a store of an older todoke, opened for writing). */
static int outbox_index_open(struct store_txn *t, tdk_err *err)
{
	static const struct outbox_keys none;
	struct outbox_keys *k;
	MDB_val mk = { 12, (void *)"outbox_index" }, v;
	MDB_cursor *cur;
	size_t n = 0;
	int rc = mdb_get(t->txn, t->st->dbi[DB_META], &mk, &v);

	if (rc == 0)
		return TDK_OK;
	if (rc != MDB_NOTFOUND)
		return fail(t->st, rc, "reading meta", err);
	for (int db = DB_OUTBOX_PENDING; db <= DB_OUTBOX_CASE; db++)
		if ((rc = mdb_drop(t->txn, t->st->dbi[db], 0)) != 0)
			return fail(t->st, rc, "building the outbox indexes", err);
	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_OUTBOX], &cur);
	if (rc != 0)
		return fail(t->st, rc, "building the outbox indexes", err);
	k = g_new(struct outbox_keys, 1);
	rc = TDK_OK;
	for (int mrc = mdb_cursor_get(cur, &mk, &v, MDB_FIRST); rc == TDK_OK && mrc == 0;
	     mrc = mdb_cursor_get(cur, &mk, &v, MDB_NEXT)) {
		struct outbox_item *o = NULL;
		uint64_t id;

		if (mk.mv_size != 8)
			continue;
		id = get_be64(mk.mv_data);
		if (outbox_item_decode(v.mv_data, v.mv_size, id, &o, NULL) != TDK_OK)
			continue;
		outbox_keys_of(o, k);
		outbox_item_free(o);
		rc = index_update(t, id, &none, k, err);
		n++;
	}
	mdb_cursor_close(cur);
	g_free(k);
	if (rc == TDK_OK)
		rc = store_meta_put(t, "outbox_index", OUTBOX_INDEX_VERSION, err);
	if (rc == TDK_OK && n > 0)
		msg_info("case store %s: built the outbox indexes of %zu notices",
			 t->st->dir, n);
	return rc;
}

int store_outbox_pending_foreach(struct store_txn *t, store_pending_fn fn, void *ctx,
				 tdk_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, result = 0;

	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_OUTBOX_PENDING], &cur);
	if (rc != 0)
		return fail(t->st, rc, "listing pending notices", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && result == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *p = v.mv_data;
		struct store_pending pn;

		if (k.mv_size != 8 || v.mv_size != PENDING_VALUE_LEN)
			continue;
		pn.id = get_be64(k.mv_data);
		pn.deferred = p[0] == 'd';
		pn.rendered = p[1] != 0;
		pn.next_try = get_time(p + 2);
		result = fn(&pn, ctx);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(t->st, rc, "listing pending notices", err);
	return result;
}

int store_outbox_sent_count(struct store_txn *t, const char *recipient, int64_t since,
			    uint64_t except, size_t *count, tdk_err *err)
{
	uint8_t start[SENT_KEY_MAX];
	size_t n = sent_prefix(recipient, start);
	MDB_cursor *cur;
	MDB_val k = { n + 8, start }, v;
	int rc;

	*count = 0;
	put_time(start + n, since);
	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_OUTBOX_SENT], &cur);
	if (rc != 0)
		return fail(t->st, rc, "counting sent notices", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != n + 16 || memcmp(k.mv_data, start, n) != 0)
			break;
		if (get_be64((const uint8_t *)k.mv_data + n + 8) != except)
			(*count)++;
	}
	mdb_cursor_close(cur);
	return rc != 0 && rc != MDB_NOTFOUND ? fail(t->st, rc, "counting sent notices", err)
					     : TDK_OK;
}

int store_outbox_case_foreach(struct store_txn *t, uint64_t number, store_outbox_fn fn,
			      void *ctx, tdk_err *err)
{
	uint8_t start[CASE_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k = { CASE_KEY_LEN, start }, v;
	int rc, result = 0;

	put_be64(start, number);
	put_be64(start + 8, 0);
	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_OUTBOX_CASE], &cur);
	if (rc != 0)
		return fail(t->st, rc, "listing a case's notices", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && result == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		struct outbox_item *o = NULL;

		if (k.mv_size != CASE_KEY_LEN || get_be64(kp) != number)
			break;
		if (store_outbox_get(t, get_be64(kp + 8), &o, NULL) != TDK_OK)
			continue;
		result = fn(o, ctx);
		outbox_item_free(o);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(t->st, rc, "listing a case's notices", err);
	return result;
}

/* ------------------------------------------------ outbox index check */

struct verify {
	struct store_txn *t;
	store_problem_fn fn;
	void *ctx;
};

static void say(const struct verify *vf, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void say(const struct verify *vf, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *text = NULL;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	vf->fn(text, vf->ctx);
}

static bool has_key(struct store_txn *t, int db, const void *key, size_t len, MDB_val *v)
{
	MDB_val k = { len, (void *)key }, dummy;

	return mdb_get(t->txn, t->st->dbi[db], &k, v != NULL ? v : &dummy) == 0;
}

/* Every notice has the entries its record calls for. */
static int verify_notices(const struct verify *vf, struct outbox_keys *k, size_t *notices,
			  tdk_err *err)
{
	MDB_cursor *cur;
	MDB_val key, v;
	int rc = mdb_cursor_open(vf->t->txn, vf->t->st->dbi[DB_OUTBOX], &cur);

	if (rc != 0)
		return fail(vf->t->st, rc, "checking the outbox", err);
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		struct outbox_item *o = NULL;
		uint8_t idkey[8];
		MDB_val pv;
		uint64_t id;
		bool listed;

		if (key.mv_size != 8)
			continue;
		(*notices)++;
		id = get_be64(key.mv_data);
		if (outbox_item_decode(v.mv_data, v.mv_size, id, &o, NULL) != TDK_OK) {
			say(vf, "notice %" G_GUINT64_FORMAT ": the record does not decode", id);
			continue;
		}
		outbox_keys_of(o, k);
		put_be64(idkey, id);
		listed = has_key(vf->t, DB_OUTBOX_PENDING, idkey, 8, &pv);
		if (k->pending && !listed)
			say(vf, "notice %" G_GUINT64_FORMAT " is %s but not in the outbox's "
			    "pending index: it is never delivered", id, o->state);
		else if (!k->pending && listed)
			say(vf, "the outbox's pending index lists notice %" G_GUINT64_FORMAT
			    ", which is %s", id, o->state);
		else if (listed && (pv.mv_size != PENDING_VALUE_LEN ||
				    memcmp(pv.mv_data, k->pending_value, PENDING_VALUE_LEN) != 0))
			say(vf, "the outbox's pending index has notice %" G_GUINT64_FORMAT
			    " with another state or retry time than its record", id);
		if (k->sent_len > 0 && !has_key(vf->t, DB_OUTBOX_SENT, k->sent, k->sent_len, NULL))
			say(vf, "notice %" G_GUINT64_FORMAT " is not in the outbox's recipient "
			    "index: the recipient's daily cap does not count it", id);
		if (k->in_case && !has_key(vf->t, DB_OUTBOX_CASE, k->case_key, CASE_KEY_LEN, NULL))
			say(vf, "notice %" G_GUINT64_FORMAT " is not in the outbox's index of "
			    "case %" G_GUINT64_FORMAT, id, o->case_number);
		outbox_item_free(o);
	}
	mdb_cursor_close(cur);
	return rc != MDB_NOTFOUND ? fail(vf->t->st, rc, "checking the outbox", err) : TDK_OK;
}

/* Every entry of index db belongs to a notice whose record calls for it. */
static int verify_entries(const struct verify *vf, int db, const char *name,
			  struct outbox_keys *k, size_t *entries, tdk_err *err)
{
	MDB_cursor *cur;
	MDB_val key, v;
	int rc = mdb_cursor_open(vf->t->txn, vf->t->st->dbi[db], &cur);

	if (rc != 0)
		return fail(vf->t->st, rc, "checking the outbox", err);
	for (rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
		const uint8_t *kp = key.mv_data;
		struct outbox_item *o = NULL;
		uint64_t id;
		bool match = false;

		(*entries)++;
		if (key.mv_size < 8) {
			say(vf, "the outbox's %s index holds a damaged entry", name);
			continue;
		}
		id = get_be64(kp + key.mv_size - 8);
		if (store_outbox_get(vf->t, id, &o, NULL) == TDK_OK) {
			outbox_keys_of(o, k);
			if (db == DB_OUTBOX_PENDING)
				match = k->pending;
			else if (db == DB_OUTBOX_SENT)
				match = k->sent_len == key.mv_size &&
					memcmp(k->sent, kp, key.mv_size) == 0;
			else
				match = k->in_case && key.mv_size == CASE_KEY_LEN &&
					memcmp(k->case_key, kp, CASE_KEY_LEN) == 0;
			outbox_item_free(o);
		}
		/* Pending entries of existing notices: verify_notices. */
		if (!match && (db != DB_OUTBOX_PENDING || o == NULL))
			say(vf, "the outbox's %s index has an entry for notice %"
			    G_GUINT64_FORMAT " that %s", name, id,
			    o == NULL ? "does not exist or does not decode"
				      : "its record does not call for");
	}
	mdb_cursor_close(cur);
	return rc != MDB_NOTFOUND ? fail(vf->t->st, rc, "checking the outbox", err) : TDK_OK;
}

int store_outbox_index_verify(struct store_txn *t, store_problem_fn fn, void *ctx,
			      size_t *notices, size_t *pending, tdk_err *err)
{
	struct verify vf = { t, fn, ctx };
	struct outbox_keys *k = g_new(struct outbox_keys, 1);
	size_t n = 0, p = 0, other = 0;
	char *version = NULL;
	int rc = store_meta_get(t, "outbox_index", &version, err);

	if (rc == TDK_ENOENT)
		say(&vf, "the outbox's indexes were never built: start todoke-processor "
		    "once to build them");
	else if (rc == TDK_OK && strcmp(version, OUTBOX_INDEX_VERSION) != 0)
		say(&vf, "the outbox's indexes are of an unknown version %s", version);
	g_free(version);
	rc = verify_notices(&vf, k, &n, err);
	if (rc == TDK_OK)
		rc = verify_entries(&vf, DB_OUTBOX_PENDING, "pending", k, &p, err);
	if (rc == TDK_OK)
		rc = verify_entries(&vf, DB_OUTBOX_SENT, "recipient", k, &other, err);
	if (rc == TDK_OK)
		rc = verify_entries(&vf, DB_OUTBOX_CASE, "case", k, &other, err);
	g_free(k);
	if (notices != NULL)
		*notices = n;
	if (pending != NULL)
		*pending = p;
	return rc;
}

int store_outbox_get(struct store_txn *t, uint64_t id, struct outbox_item **out,
		     tdk_err *err)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int rc;

	put_be64(key, id);
	rc = mdb_get(t->txn, t->st->dbi[DB_OUTBOX], &k, &v);
	if (rc == MDB_NOTFOUND)
		return tdk_err_set(err, TDK_ENOENT, "no notice %" G_GUINT64_FORMAT, id);
	if (rc != 0)
		return fail(t->st, rc, "reading a notice intent", err);
	return outbox_item_decode(v.mv_data, v.mv_size, id, out, err);
}

/* Iterates a database keyed by 8-byte ids with a decoder and callback. */
typedef int (*decode_fn)(const void *, size_t, uint64_t, void **, tdk_err *);
typedef int (*item_fn)(const void *item, void *ctx);
typedef void (*free_fn)(void *);

static int foreach_id(struct store_txn *t, int db, uint64_t after,
		      decode_fn decode, item_fn fn, free_fn release, void *ctx,
		      tdk_err *err)
{
	MDB_cursor *cur;
	uint8_t start[8];
	MDB_val k = { 8, start }, v;
	int rc, result = 0;

	put_be64(start, after + 1);
	rc = mdb_cursor_open(t->txn, t->st->dbi[db], &cur);
	if (rc != 0)
		return fail(t->st, rc, "listing", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && result == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		void *item;

		if (k.mv_size != 8 ||
		    decode(v.mv_data, v.mv_size, get_be64(k.mv_data), &item, NULL) != TDK_OK)
			continue;
		result = fn(item, ctx);
		release(item);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(t->st, rc, "listing", err);
	return result;
}

int store_outbox_foreach(struct store_txn *t, store_outbox_fn fn, void *ctx,
			 tdk_err *err)
{
	return foreach_id(t, DB_OUTBOX, 0, (decode_fn)outbox_item_decode, (item_fn)fn,
			  (free_fn)outbox_item_free, ctx, err);
}

int store_attention_put(struct store_txn *t, struct attention_item *a,
			tdk_err *err)
{
	uint8_t key[8];
	GBytes *value;
	int rc = TDK_OK;

	if (a->id == 0)
		rc = next_id(t, "next_attention", &a->id, err);
	if (rc != TDK_OK)
		return rc;
	attention_item_encode(a, &value);
	put_be64(key, a->id);
	rc = put_bytes(t, DB_ATTENTION, key, 8, value, "writing a staff notice", err);
	g_bytes_unref(value);
	return rc;
}

int store_attention_foreach(struct store_txn *t, uint64_t after,
			    store_attention_fn fn, void *ctx, tdk_err *err)
{
	return foreach_id(t, DB_ATTENTION, after, (decode_fn)attention_item_decode,
			  (item_fn)fn, (free_fn)attention_item_free, ctx, err);
}

/* ------------------------------------------------------------- replay */

/*
 * Keys: kind byte + key (a digest, or a Message-ID as msgids keys it)
 * -> accepted (8) + expires (8) + spool id (8), big-endian; and the
 * expiry index "x" + expires (8, offset like the timers) + that key ->
 * nothing, so that pruning reads only what has expired.
 */
#define REPLAY_KEY_MAX (1 + MSGID_KEY_MAX)
#define REPLAY_VALUE_LEN 24

static int replay_key(enum store_replay_kind kind, const void *key, size_t len,
		      uint8_t *out, size_t *out_len, tdk_err *err)
{
	if (key == NULL || len == 0)
		return tdk_err_set(err, TDK_EINVAL, "empty replay key");
	out[0] = (uint8_t)kind;
	if (kind == STORE_REPLAY_MESSAGE_ID || kind == STORE_REPLAY_MAIL) {
		g_autofree char *text = g_strndup(key, len);

		*out_len = 1 + msgid_key(text, out + 1, MSGID_KEY_MAX);
	} else if (kind == STORE_REPLAY_SIGNATURE && len <= MSGID_KEY_MAX) {
		memcpy(out + 1, key, len);
		*out_len = 1 + len;
	} else {
		return tdk_err_set(err, TDK_EINVAL, "bad replay key");
	}
	return TDK_OK;
}

static void replay_index_key(const uint8_t *key, size_t len, int64_t expires,
			     uint8_t *out)
{
	out[0] = 'x';
	put_be64(out + 1, (uint64_t)expires ^ (UINT64_C(1) << 63));
	memcpy(out + 9, key, len);
}

int store_replay_get(struct store_txn *t, enum store_replay_kind kind,
		     const void *key, size_t len, struct store_replay *out,
		     tdk_err *err)
{
	uint8_t kbuf[REPLAY_KEY_MAX];
	size_t klen;
	MDB_val k, v;
	int rc = replay_key(kind, key, len, kbuf, &klen, err);

	if (rc != TDK_OK)
		return rc;
	k.mv_size = klen;
	k.mv_data = kbuf;
	rc = mdb_get(t->txn, t->st->dbi[DB_REPLAY], &k, &v);
	if (rc == MDB_NOTFOUND)
		return TDK_ENOENT;
	if (rc != 0)
		return fail(t->st, rc, "reading the replay record", err);
	if (v.mv_size != REPLAY_VALUE_LEN)
		return tdk_err_set(err, TDK_ECORRUPT, "damaged replay record");
	if (out != NULL) {
		out->accepted = (int64_t)get_be64(v.mv_data);
		out->expires = (int64_t)get_be64((const uint8_t *)v.mv_data + 8);
		out->spool_id = get_be64((const uint8_t *)v.mv_data + 16);
	}
	return TDK_OK;
}

int store_replay_put(struct store_txn *t, enum store_replay_kind kind,
		     const void *key, size_t len, const struct store_replay *r,
		     tdk_err *err)
{
	uint8_t kbuf[REPLAY_KEY_MAX], ibuf[9 + REPLAY_KEY_MAX], value[REPLAY_VALUE_LEN];
	struct store_replay old;
	size_t klen;
	MDB_val k, v = { sizeof value, value }, ik, iv = { 0, (void *)"" };
	int rc = replay_key(kind, key, len, kbuf, &klen, err);

	if (rc != TDK_OK)
		return rc;
	rc = store_replay_get(t, kind, key, len, &old, err);
	if (rc == TDK_OK && old.expires != r->expires) {
		replay_index_key(kbuf, klen, old.expires, ibuf);
		ik.mv_size = 9 + klen;
		ik.mv_data = ibuf;
		rc = mdb_del(t->txn, t->st->dbi[DB_REPLAY], &ik, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return fail(t->st, rc, "updating the replay record", err);
	} else if (rc != TDK_OK && rc != TDK_ENOENT) {
		return rc;
	}
	put_be64(value, (uint64_t)r->accepted);
	put_be64(value + 8, (uint64_t)r->expires);
	put_be64(value + 16, r->spool_id);
	k.mv_size = klen;
	k.mv_data = kbuf;
	replay_index_key(kbuf, klen, r->expires, ibuf);
	ik.mv_size = 9 + klen;
	ik.mv_data = ibuf;
	rc = mdb_put(t->txn, t->st->dbi[DB_REPLAY], &k, &v, 0);
	if (rc == 0)
		rc = mdb_put(t->txn, t->st->dbi[DB_REPLAY], &ik, &iv, 0);
	return rc != 0 ? fail(t->st, rc, "writing the replay record", err) : TDK_OK;
}

int store_replay_prune(struct store_txn *t, int64_t now, size_t max,
		       size_t *pruned, tdk_err *err)
{
	uint8_t first[9];
	MDB_cursor *cur;
	MDB_val k = { 1, first }, v;
	size_t n = 0;
	int rc;

	first[0] = 'x';
	rc = mdb_cursor_open(t->txn, t->st->dbi[DB_REPLAY], &cur);
	if (rc != 0)
		return fail(t->st, rc, "pruning the replay record", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) {
		const uint8_t *kp = k.mv_data;
		uint8_t copy[REPLAY_KEY_MAX];
		MDB_val entry = { k.mv_size - 9, copy };

		if (k.mv_size < 10 || k.mv_size - 9 > sizeof copy || kp[0] != 'x' ||
		    (int64_t)(get_be64(kp + 1) ^ (UINT64_C(1) << 63)) > now)
			break;
		memcpy(copy, kp + 9, k.mv_size - 9);
		rc = mdb_cursor_del(cur, 0);
		if (rc != 0)
			break;
		rc = mdb_del(t->txn, t->st->dbi[DB_REPLAY], &entry, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		rc = 0;
		n++;
		k.mv_size = 1;
		k.mv_data = first;
	}
	mdb_cursor_close(cur);
	if (pruned != NULL)
		*pruned = n;
	return rc != 0 && rc != MDB_NOTFOUND ? fail(t->st, rc, "pruning the replay record", err)
					     : TDK_OK;
}

int store_replay_count(struct store_txn *t, size_t *signatures,
		       size_t *message_ids, tdk_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t s = 0, m = 0;
	int rc = mdb_cursor_open(t->txn, t->st->dbi[DB_REPLAY], &cur);

	if (rc != 0)
		return fail(t->st, rc, "counting the replay record", err);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;

		if (kp[0] == STORE_REPLAY_SIGNATURE)
			s++;
		else if (kp[0] == STORE_REPLAY_MESSAGE_ID)
			m++;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return fail(t->st, rc, "counting the replay record", err);
	if (signatures != NULL)
		*signatures = s;
	if (message_ids != NULL)
		*message_ids = m;
	return TDK_OK;
}

/* --------------------------------------------------------------- meta */

int store_meta_get(struct store_txn *t, const char *key, char **value,
		   tdk_err *err)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc = mdb_get(t->txn, t->st->dbi[DB_META], &k, &v);

	if (rc == MDB_NOTFOUND)
		return TDK_ENOENT;
	if (rc != 0)
		return fail(t->st, rc, key, err);
	*value = g_strndup(v.mv_data, v.mv_size);
	return TDK_OK;
}

int store_meta_put(struct store_txn *t, const char *key, const char *value,
		   tdk_err *err)
{
	MDB_val k = { strlen(key), (void *)key }, v = { strlen(value), (void *)value };
	int rc = mdb_put(t->txn, t->st->dbi[DB_META], &k, &v, 0);

	return rc != 0 ? fail(t->st, rc, key, err) : TDK_OK;
}

/* -------------------------------------------------------- quarantine */

int store_quarantine_case(struct store_txn *t, uint64_t number, tdk_err *err)
{
	uint8_t key[8], qkey[14];
	MDB_val k = { 8, key }, v, qk = { sizeof qkey, qkey };
	int rc;

	put_be64(key, number);
	rc = mdb_get(t->txn, t->st->dbi[DB_CASES], &k, &v);
	if (rc != 0)
		return fail(t->st, rc, "quarantining a case", err);
	memcpy(qkey, "cases/", 6);
	memcpy(qkey + 6, key, 8);
	rc = mdb_put(t->txn, t->st->dbi[DB_QUARANTINE], &qk, &v, 0);
	if (rc == 0)
		rc = mdb_del(t->txn, t->st->dbi[DB_CASES], &k, NULL);
	return rc != 0 ? fail(t->st, rc, "quarantining a case", err) : TDK_OK;
}

int store_quarantine_count(struct store_txn *t, size_t *count, tdk_err *err)
{
	return db_count(t, DB_QUARANTINE, count, err);
}

/* ------------------------------------------------------ personal data */

#define PI(m) offsetof(struct pii_rec, m)
static const struct rec_field pii_fields[] = {
	{ "address", REC_STR, PI(address) },
	{ "name", REC_STR, PI(name) },
	{ "postal", REC_STR, PI(postal) },
	{ "phone", REC_STR, PI(phone) },
	{ "report", REC_BYTES, PI(report) },
	{ "decrypted", REC_BYTES, PI(decrypted) },
	{ "stored", REC_TIME, PI(stored) },
};
#undef PI

void pii_rec_free(struct pii_rec *p)
{
	if (p == NULL)
		return;
	rec_clear(pii_fields, REC_FIELDS(pii_fields), p);
	g_free(p);
}

static int pii_write(struct store *st, uint64_t number, GBytes *value,
		     tdk_err *err)
{
	MDB_txn *txn;
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int rc;

	if (st->pii_env == NULL)
		return tdk_err_set(err, TDK_ESTATE, "no personal data store");
	put_be64(key, number);
	rc = mdb_txn_begin(st->pii_env, NULL, 0, &txn);
	if (rc == 0) {
		if (value != NULL) {
			gsize len;

			v.mv_data = (void *)g_bytes_get_data(value, &len);
			v.mv_size = len;
			/* The old record zeroed first, so that none of its
			 * bytes stay behind in the page (scrub.h). */
			rc = scrub_zero(txn, st->pii_dbi, &k);
			if (rc == 0)
				rc = mdb_put(txn, st->pii_dbi, &k, &v, 0);
		} else {
			rc = scrub_del(txn, st->pii_dbi, &k);
		}
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
	}
	return rc != 0 ? fail(st, rc, "writing personal data", err) : TDK_OK;
}

int store_pii_put(struct store *st, uint64_t number, const struct pii_rec *p,
		  tdk_err *err)
{
	GBytes *value = rec_pack(PII_FORMAT, rec_dict(pii_fields, REC_FIELDS(pii_fields), p));
	int rc = pii_write(st, number, value, err);

	g_bytes_unref(value);
	return rc;
}

int store_pii_delete(struct store *st, uint64_t number, tdk_err *err)
{
	return pii_write(st, number, NULL, err);
}

int store_pii_get(struct store *st, uint64_t number, struct pii_rec **out,
		  tdk_err *err)
{
	MDB_txn *txn;
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	GVariant *dict = NULL;
	int rc;

	if (st->pii_env == NULL)
		return tdk_err_set(err, TDK_ENOENT, "no personal data for case %"
				   G_GUINT64_FORMAT, number);
	put_be64(key, number);
	rc = mdb_txn_begin(st->pii_env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return fail(st, rc, "reading personal data", err);
	rc = mdb_get(txn, st->pii_dbi, &k, &v);
	if (rc == 0)
		rc = rec_unpack(v.mv_data, v.mv_size, PII_FORMAT, NULL, &dict, err);
	else
		rc = rc == MDB_NOTFOUND
			     ? tdk_err_set(err, TDK_ENOENT, "no personal data for case %"
					   G_GUINT64_FORMAT, number)
			     : fail(st, rc, "reading personal data", err);
	mdb_txn_abort(txn);
	if (rc != TDK_OK)
		return rc;
	*out = g_new0(struct pii_rec, 1);
	if (!rec_read(dict, pii_fields, REC_FIELDS(pii_fields), *out)) {
		pii_rec_free(*out);
		*out = NULL;
		rc = tdk_err_set(err, TDK_ECORRUPT, "personal data of case %"
				 G_GUINT64_FORMAT " does not decode", number);
	}
	g_variant_unref(dict);
	return rc;
}

int store_scrub(struct store *st, size_t *pages, tdk_err *err)
{
	size_t main_pages = 0, pii_pages = 0;
	int rc;

	if (pages != NULL)
		*pages = 0;
	if (st->readonly)
		return tdk_err_set(err, TDK_EINVAL, "store_scrub: the store is read-only");
	rc = scrub_free_pages(st->env, &main_pages);
	if (rc == 0 && st->pii_env != NULL)
		rc = scrub_free_pages(st->pii_env, &pii_pages);
	if (pages != NULL)
		*pages = main_pages + pii_pages;
	return rc != 0 ? fail(st, rc, "overwriting free pages", err) : TDK_OK;
}
