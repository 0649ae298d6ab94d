/*
 * scrub.h - removing deleted bytes from LMDB files.
 *
 * Owns: what it takes for data deleted from an LMDB environment to be
 * gone from its file, not only unreachable. LMDB copies a page before it
 * changes it and frees the old copy, bytes and all; a freed page keeps
 * its content until LMDB happens to reuse it. And the unused middle of a
 * live page (between its index and its nodes) keeps whatever was there:
 * bytes of a record deleted or moved in that page, or of another page
 * whose memory LMDB recycled for it. So:
 *   - scrub_zero() overwrites a value in place with zeros before it is
 *     deleted or replaced (cheap; it narrows the window until the next
 *     scrub_free_pages());
 *   - scrub_free_pages() holds the environment's write lock and overwrites
 *     with zeros, in the file, every free page no reader can reach, the
 *     unused middle of every branch and leaf page and the unused tail of
 *     every overflow run (after the big value it holds), then syncs. It reads
 *     LMDB's page header (lmdb 0.9 layout), writes only bytes LMDB does
 *     not use, and works while other processes have the environment open;
 *     a page an open read transaction may still see is left for the next
 *     call. It costs a read of every page header of the file.
 * Functions return an LMDB status or errno (0 = success; mdb_strerror()).
 */
#ifndef TODOKE_SCRUB_H
#define TODOKE_SCRUB_H

#include <lmdb.h>
#include <stddef.h>

/* Zeros the value of key in place (nothing if it is not there, or if it
 * is big enough to have pages of its own, which are freed whole). */
int scrub_zero(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key);

/* scrub_zero(), then deletes key (0 also if it was not there). */
int scrub_del(MDB_txn *txn, MDB_dbi dbi, const MDB_val *key);

/* Overwrites the unreachable free pages of env, and the unused middle of
 * its other pages, with zeros (after two small commits of its own in a
 * database "scrub", which needs one spare slot of mdb_env_set_maxdbs).
 * env must be opened with MDB_NOTLS (a read transaction is begun while the
 * write lock is held), and the caller must have no transaction open on it.
 * *pages (may be NULL): pages written to. */
int scrub_free_pages(MDB_env *env, size_t *pages);

#endif
