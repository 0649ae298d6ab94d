/*
 * privilege.h - least privilege for the todoke daemons.
 *
 * Owns: switching a daemon started as root to its unprivileged user
 * (milter.user, processor.user), the process umask of the daemons, and
 * the start-up refusal of a configuration file others could change.
 * The modes of the spool, the case store and the GnuPG homes are checked
 * where those are opened (spool.c, store.c, pgp.c).
 */
#ifndef TODOKE_PRIVILEGE_H
#define TODOKE_PRIVILEGE_H

#include "status.h"

/* The daemons' umask: nothing for others, no group write. */
#define PRIV_UMASK 0027

/*
 * When the process runs as root, switches to user (its uid, gid and
 * supplementary groups) for good; setting names the configuration setting
 * in messages. An empty user while root is TDK_EPERM ("refusing to run as
 * root"), as is a user that is root or a switch that could be undone.
 * Not root: nothing to do, TDK_OK.
 */
int priv_drop(const char *user, const char *setting, tdk_err *err);

/*
 * TDK_EPERM, naming the file and the fix, if the configuration file path
 * is group- or world-writable; TDK_OK otherwise (also for NULL: the
 * built-in defaults).
 */
int priv_check_config_file(const char *path, tdk_err *err);

#endif
