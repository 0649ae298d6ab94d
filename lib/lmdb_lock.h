/*
 * lmdb_lock.h - disk blocks for an LMDB lock file before LMDB maps it.
 *
 * LMDB sizes its lock file with ftruncate() and then writes to it through
 * a shared mapping; on a full file system the first write to a page
 * without blocks kills the process with SIGBUS. lmdb_lock_reserve()
 * allocates the blocks first, so that a full disk is an error (ENOSPC)
 * instead. Call it on the environment's directory before mdb_env_open()
 * of a writable environment.
 */
#ifndef TODOKE_LMDB_LOCK_H
#define TODOKE_LMDB_LOCK_H

/*
 * The size LMDB gives a new lock file for its default 126 readers:
 * (126 - 1) reader slots of 64 bytes and a 192-byte header. A smaller
 * or empty lock.mdb is filled to this size (what LMDB would make of it);
 * a larger one gets blocks for its whole length and keeps it.
 */
#define LMDB_LOCK_BYTES 8192

/* 0, or the errno value (ENOSPC on a full disk) as LMDB's calls return it. */
int lmdb_lock_reserve(const char *dir, int mode);

#endif
