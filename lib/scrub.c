/*
 * scrub.c - zeroing deleted LMDB data in place and in free pages (see
 * scrub.h).
 */
#include "config.h"

#include "scrub.h"

#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SCRUB_DB "scrub"

static size_t page_size(MDB_env *env)
{
	MDB_stat st;

	return mdb_env_stat(env, &st) == 0 ? st.ms_psize : 4096;
}

int scrub_zero(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key)
{
	MDB_env *env = mdb_txn_env(txn);
	MDB_val k = *key, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size == 0 || v.mv_size >= page_size(env) / 2)
		return 0;
	v.mv_data = NULL;
	rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
	if (rc == 0)
		memset(v.mv_data, 0, v.mv_size);
	return rc;
}

int scrub_del(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key)
{
	MDB_val k = *key;
	int rc = scrub_zero(txn, dbi, &k);

	if (rc == 0)
		rc = mdb_del(txn, dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ------------------------------------------------ the file, page by page */

/* LMDB's on-disk page header (lmdb 0.9, mdb.c): pgno, pad, flags, then
 * lower and upper (offsets from the page start), or for an overflow page
 * the number of its pages. */
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_LEAF2 0x20
#define META_PAGES 2

struct page_header {
	uint64_t pgno;
	uint16_t pad, flags;
	union {
		struct { uint16_t lower, upper; } pb;
		uint32_t pages;
	} u;
};

static int read_header(int fd, size_t psize, uint64_t pgno, struct page_header *h)
{
	ssize_t n = pread(fd, h, sizeof *h, (off_t)(pgno * psize));

	return n == (ssize_t)sizeof *h ? 0 : (n < 0 ? errno : EIO);
}

static int write_zeros(int fd, const char *zeros, size_t off, size_t len)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, zeros, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* LMDB's leaf node (lmdb 0.9, mdb.c, little-endian): data size in two
 * halves, flags, key size, then the key and the data; for F_BIGDATA the
 * data is the number of the first page of its overflow run. */
#define PAGE_HEADER_SIZE 16
#define NODE_HEADER_SIZE 8
#define F_BIGDATA 0x01

/*
 * The pages of an overflow run hold one value from the start of the first
 * page's content; the rest of its last page is unused and may hold bytes
 * of what the memory held before. Zeros that tail for every big value of
 * the leaf page p (its bytes in page).
 */
static int zero_overflow_tails(int fd, const char *zeros, size_t psize,
			       const uint8_t *page, size_t *tails)
{
	uint16_t lower, n;

	memcpy(&lower, page + 12, sizeof lower);
	if (lower < PAGE_HEADER_SIZE || lower > psize)
		return 0;
	n = (uint16_t)((lower - PAGE_HEADER_SIZE) / 2);
	for (uint16_t i = 0; i < n; i++) {
		uint16_t off, lo, hi, flags, ksize;
		uint64_t ovpg;
		size_t size, used, run;
		struct page_header h;
		int rc;

		memcpy(&off, page + PAGE_HEADER_SIZE + 2 * i, sizeof off);
		if (off < lower || (size_t)off + NODE_HEADER_SIZE > psize)
			continue;
		memcpy(&lo, page + off, 2);
		memcpy(&hi, page + off + 2, 2);
		memcpy(&flags, page + off + 4, 2);
		memcpy(&ksize, page + off + 6, 2);
		if (!(flags & F_BIGDATA) ||
		    (size_t)off + NODE_HEADER_SIZE + ksize + sizeof ovpg > psize)
			continue;
		memcpy(&ovpg, page + off + NODE_HEADER_SIZE + ksize, sizeof ovpg);
		size = (size_t)lo | ((size_t)hi << 16);
		if ((rc = read_header(fd, psize, ovpg, &h)) != 0)
			return rc;
		if (h.pgno != ovpg || !(h.flags & P_OVERFLOW) || h.u.pages == 0)
			continue;
		run = (size_t)h.u.pages * psize;
		used = PAGE_HEADER_SIZE + size;
		if (used >= run || run - used >= psize)
			continue;
		if ((rc = write_zeros(fd, zeros, ovpg * psize + used, run - used)) != 0)
			return rc;
		(*tails)++;
	}
	return 0;
}

/* The oldest snapshot a reader holds (mdb_reader_list's third column). */
static int oldest_reader(const char *line, void *ctx)
{
	uint64_t *oldest = ctx;
	unsigned long long txnid;

	if (sscanf(line, "%*d %*x %llu", &txnid) == 1 && txnid < *oldest)
		*oldest = txnid;
	return 0;
}

/*
 * Reads LMDB's free list (database 0, only readable in a read
 * transaction) and marks in free[] the pages no snapshot can reach: freed
 * by a transaction older than every reader and than the last commit.
 */
static int reusable_pages(MDB_env *env, uint64_t last_txnid, uint8_t *free,
			  size_t n_pages, size_t *count)
{
	uint64_t oldest = last_txnid; /* pages freed by the last commit wait */
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	*count = 0;
	mdb_reader_list(env, oldest_reader, &oldest);
	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	rc = mdb_cursor_open(txn, 0, &cur);
	while (rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		const size_t *idl = v.mv_data; /* count, then page numbers */
		uint64_t freed_by;

		if (k.mv_size != sizeof(size_t) || v.mv_size < sizeof(size_t))
			continue;
		memcpy(&freed_by, k.mv_data, sizeof freed_by);
		if (freed_by >= oldest)
			continue;
		for (size_t i = 1; i <= idl[0] && i < v.mv_size / sizeof(size_t); i++)
			if (idl[i] >= META_PAGES && idl[i] < n_pages && !free[idl[i]]) {
				free[idl[i]] = 1;
				(*count)++;
			}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* One small commit in the scrub database: moves the "last commit" on. */
static int bump(MDB_env *env)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t key = 1;
	MDB_val k = { sizeof key, &key }, v = { 0, NULL };
	int rc = mdb_txn_begin(env, NULL, 0, &txn);

	if (rc != 0)
		return rc;
	rc = mdb_dbi_open(txn, SCRUB_DB, MDB_CREATE | MDB_INTEGERKEY, &dbi);
	if (rc == 0)
		rc = mdb_put(txn, dbi, &k, &v, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

int scrub_free_pages(MDB_env *env, size_t *pages)
{
	MDB_envinfo info;
	MDB_txn *writer = NULL;
	size_t psize = page_size(env), n_pages, n_free = 0, n_gaps = 0;
	uint8_t *free = NULL, *page = NULL;
	char *zeros = NULL;
	int fd, dead, rc;

	if (pages != NULL)
		*pages = 0;
	mdb_reader_check(env, &dead);
	/* Pages freed by the last two commits before this call become
	 * unreachable only after two more (LMDB keeps the previous snapshot
	 * whole for a reader that has just read the meta page). */
	if ((rc = bump(env)) != 0 || (rc = bump(env)) != 0)
		return rc;
	if ((rc = mdb_env_get_fd(env, &fd)) != 0)
		return rc;
	/* The write lock, held throughout: no writer may reuse a page while
	 * it is overwritten. Nothing is written through it. */
	if ((rc = mdb_txn_begin(env, NULL, 0, &writer)) != 0)
		return rc;
	mdb_env_info(env, &info);
	n_pages = info.me_last_pgno + 1;
	free = g_malloc0(n_pages);
	zeros = g_malloc0(psize);
	page = g_malloc(psize);
	rc = reusable_pages(env, info.me_last_txnid, free, n_pages, &n_free);
	for (size_t p = META_PAGES; rc == 0 && p < n_pages; p++) {
		struct page_header h;

		if (free[p]) {
			rc = write_zeros(fd, zeros, p * psize, psize);
			continue;
		}
		if ((rc = read_header(fd, psize, p, &h)) != 0 || h.pgno != p)
			continue; /* not a page start: inside an overflow run */
		if ((h.flags & P_OVERFLOW) != 0) {
			p += h.u.pages > 0 ? h.u.pages - 1 : 0;
			continue;
		}
		/* A branch or leaf page: the bytes between its index and its
		 * nodes are unused, and may hold what was moved or deleted. */
		if ((h.flags & (P_BRANCH | P_LEAF)) != 0 && (h.flags & P_LEAF2) == 0 &&
		    h.u.pb.lower >= sizeof h && h.u.pb.lower < h.u.pb.upper &&
		    h.u.pb.upper <= psize) {
			rc = write_zeros(fd, zeros, p * psize + h.u.pb.lower,
					 (size_t)(h.u.pb.upper - h.u.pb.lower));
			n_gaps++;
		}
		if (rc == 0 && (h.flags & P_LEAF) != 0 && (h.flags & P_LEAF2) == 0) {
			ssize_t got = pread(fd, page, psize, (off_t)(p * psize));

			if (got == (ssize_t)psize)
				rc = zero_overflow_tails(fd, zeros, psize, page, &n_gaps);
			else
				rc = got < 0 ? errno : EIO;
		}
	}
	if (rc == 0 && fdatasync(fd) != 0)
		rc = errno;
	mdb_txn_abort(writer);
	g_free(free);
	g_free(zeros);
	g_free(page);
	if (rc == 0 && pages != NULL)
		*pages = n_free + n_gaps;
	return rc;
}
