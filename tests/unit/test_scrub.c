/*
 * test_scrub.c - deleted LMDB data gone from the file: a record deleted
 * (small, in a leaf page among others, after updates that moved it; and
 * big, on overflow pages) is found in data.mdb before scrub_free_pages()
 * and not after, while every other record reads back unchanged; a read
 * transaction open during the scrub keeps what it sees until the next
 * one; scrub_del() of a missing key is fine; the unused tail of an
 * overflow run is zeroed.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scrub.h"

#define N_KEEP 60

struct fixture {
	char dir[64];
	MDB_env *env;
	MDB_dbi dbi;
};

static int setup(void **state)
{
	struct fixture *fx = g_new0(struct fixture, 1);
	MDB_txn *txn;

	snprintf(fx->dir, sizeof fx->dir, "/tmp/todoke-scrub-XXXXXX");
	if (mkdtemp(fx->dir) == NULL || mdb_env_create(&fx->env) != 0 ||
	    mdb_env_set_maxdbs(fx->env, 2) != 0 ||
	    mdb_env_set_mapsize(fx->env, 16 << 20) != 0 ||
	    mdb_env_open(fx->env, fx->dir, MDB_NOTLS, 0600) != 0 ||
	    mdb_txn_begin(fx->env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, "d", MDB_CREATE, &fx->dbi) != 0 || mdb_txn_commit(txn) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char *path;

	mdb_env_close(fx->env);
	path = g_build_filename(fx->dir, "data.mdb", NULL);
	unlink(path);
	g_free(path);
	path = g_build_filename(fx->dir, "lock.mdb", NULL);
	unlink(path);
	g_free(path);
	rmdir(fx->dir);
	g_free(fx);
	return 0;
}

/* How many times needle is in the environment's data file. */
static int in_file(const struct fixture *fx, const char *needle)
{
	char *path = g_build_filename(fx->dir, "data.mdb", NULL), *data = NULL;
	gsize len = 0;
	const char *p;
	int n = 0;

	assert_true(g_file_get_contents(path, &data, &len, NULL));
	for (p = data; (p = memmem(p, len - (size_t)(p - data), needle, strlen(needle))) != NULL;
	     p++)
		n++;
	g_free(data);
	g_free(path);
	return n;
}

static void put(struct fixture *fx, const char *key, const char *value, size_t size)
{
	MDB_txn *txn;
	MDB_val k = { strlen(key), (void *)key }, v = { size, (void *)value };

	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_put(txn, fx->dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

static void del(struct fixture *fx, const char *key)
{
	MDB_txn *txn;
	MDB_val k = { strlen(key), (void *)key };

	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_del(txn, fx->dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
}

static void keep_records(struct fixture *fx)
{
	for (int i = 0; i < N_KEEP; i++) {
		char key[16], value[64];

		snprintf(key, sizeof key, "k%03d", i);
		snprintf(value, sizeof value, "kept value %03d", i);
		put(fx, key, value, strlen(value) + 1);
	}
}

static void check_kept(struct fixture *fx)
{
	MDB_txn *txn;

	assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
	for (int i = 0; i < N_KEEP; i++) {
		char key[16], value[64];
		MDB_val k = { 0, key }, v;

		snprintf(key, sizeof key, "k%03d", i);
		k.mv_size = strlen(key);
		snprintf(value, sizeof value, "kept value %03d", i);
		assert_int_equal(mdb_get(txn, fx->dbi, &k, &v), 0);
		assert_string_equal(v.mv_data, value);
	}
	mdb_txn_abort(txn);
}

/* A value of size bytes made of the marker repeated. */
static char *marked(const char *marker, size_t size)
{
	char *v = g_malloc(size);

	for (size_t i = 0; i < size; i++)
		v[i] = marker[i % strlen(marker)];
	return v;
}

static void test_deleted_bytes_are_gone(void **state)
{
	struct fixture *fx = *state;
	char *small = marked("SECRET-small;", 200), *big = marked("SECRET-big;", 20000);
	size_t pages = 0;

	keep_records(fx);
	/* The small one changes size twice: each update moves it within
	 * its page and leaves the old bytes in the page's unused middle. */
	put(fx, "k030x", small, 120);
	put(fx, "k030x", small, 200);
	put(fx, "k030x", small, 90);
	put(fx, "zbig", big, 20000);
	del(fx, "k030x");
	del(fx, "zbig");
	assert_true(in_file(fx, "SECRET-small;") > 0);
	assert_true(in_file(fx, "SECRET-big;") > 0);

	assert_int_equal(scrub_free_pages(fx->env, &pages), 0);
	assert_true(pages > 0);
	assert_int_equal(in_file(fx, "SECRET-small;"), 0);
	assert_int_equal(in_file(fx, "SECRET-big;"), 0);
	assert_int_equal(in_file(fx, "kept value 059"), 1);
	check_kept(fx);
	/* And LMDB goes on using the file. */
	put(fx, "after", "after the scrub", 16);
	check_kept(fx);
	g_free(small);
	g_free(big);
}

static void test_open_reader_keeps_its_pages(void **state)
{
	struct fixture *fx = *state;
	char *big = marked("SECRET-seen;", 12000);
	MDB_txn *reader;

	keep_records(fx);
	put(fx, "zbig", big, 12000);
	assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &reader), 0);
	del(fx, "zbig");
	assert_int_equal(scrub_free_pages(fx->env, NULL), 0);
	assert_true(in_file(fx, "SECRET-seen;") > 0); /* the reader sees it */
	{
		MDB_val k = { 4, "zbig" }, v;

		assert_int_equal(mdb_get(reader, fx->dbi, &k, &v), 0);
		assert_int_equal(v.mv_size, 12000);
		assert_memory_equal(v.mv_data, big, 12000);
	}
	mdb_txn_abort(reader);
	assert_int_equal(scrub_free_pages(fx->env, NULL), 0);
	assert_int_equal(in_file(fx, "SECRET-seen;"), 0);
	check_kept(fx);
	g_free(big);
}

static void test_scrub_del(void **state)
{
	struct fixture *fx = *state;
	MDB_txn *txn;
	MDB_val k = { 4, "none" }, there = { 4, "k001" }, v;

	keep_records(fx);
	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	assert_int_equal(scrub_del(txn, fx->dbi, &k), 0);
	assert_int_equal(scrub_del(txn, fx->dbi, &there), 0);
	assert_int_equal(mdb_get(txn, fx->dbi, &there, &v), MDB_NOTFOUND);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(scrub_free_pages(fx->env, NULL), 0);
	assert_int_equal(in_file(fx, "kept value 001"), 0);
	assert_int_equal(in_file(fx, "kept value 002"), 1);
}

/* A big value shrunk in place (in the transaction that wrote it, LMDB
 * rewrites its overflow pages): the old value's end stays in the unused
 * tail of the run until the scrub, which leaves the new value whole. */
static void test_overflow_tail_is_zeroed(void **state)
{
	struct fixture *fx = *state;
	char *big = marked("TAILSECRET-", 7000), *small = marked("kept-", 4500);
	MDB_txn *txn;
	MDB_val k = { 3, (void *)"big" }, v;

	assert_int_equal(mdb_txn_begin(fx->env, NULL, 0, &txn), 0);
	v = (MDB_val){ 7000, big };
	assert_int_equal(mdb_put(txn, fx->dbi, &k, &v, 0), 0);
	v = (MDB_val){ 4500, small };
	assert_int_equal(mdb_put(txn, fx->dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_true(in_file(fx, "TAILSECRET-") > 0);
	assert_int_equal(scrub_free_pages(fx->env, NULL), 0);
	assert_int_equal(in_file(fx, "TAILSECRET-"), 0);
	assert_int_equal(mdb_txn_begin(fx->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_get(txn, fx->dbi, &k, &v), 0);
	assert_int_equal(v.mv_size, 4500);
	assert_memory_equal(v.mv_data, small, 4500);
	mdb_txn_abort(txn);
	g_free(big);
	g_free(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deleted_bytes_are_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_reader_keeps_its_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scrub_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_tail_is_zeroed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
