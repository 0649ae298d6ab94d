/*
 * lmdb_lock.c - allocates an LMDB lock file's blocks (see lmdb_lock.h).
 */
#include "lmdb_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

int lmdb_lock_reserve(const char *dir, int mode)
{
	g_autofree char *path = g_build_filename(dir, "lock.mdb", NULL);
	struct stat sb;
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0)
		return errno;
	if (fstat(fd, &sb) != 0)
		rc = errno;
	else
		rc = posix_fallocate(fd, 0, sb.st_size > LMDB_LOCK_BYTES
						    ? sb.st_size
						    : LMDB_LOCK_BYTES);
	/* A file system without fallocate cannot run short of blocks in
	 * this way (it never leaves holes to fill); leave it to LMDB. */
	if (rc == EOPNOTSUPP)
		rc = 0;
	close(fd);
	return rc;
}
