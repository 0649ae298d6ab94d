/*
 * privilege.c - switching users and refusing unsafe configuration files
 * (see privilege.h).
 */
#include "config.h"

#include "privilege.h"

#include <errno.h>
#include <glib.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int priv_drop(const char *user, const char *setting, tdk_err *err)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return TDK_OK;
	if (user == NULL || user[0] == '\0')
		return tdk_err_set(err, TDK_EPERM,
				   "refusing to run as root: set %s to an unprivileged user",
				   setting);
	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL)
		return tdk_err_set(err, TDK_EINVAL, "%s: no such user '%s'", setting, user);
	if (pw->pw_uid == 0)
		return tdk_err_set(err, TDK_EPERM,
				   "%s '%s' is root; choose an unprivileged user",
				   setting, user);
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		return tdk_err_set(err, TDK_EPERM, "cannot switch to user '%s': %s",
				   user, g_strerror(errno));
	if (setuid(0) == 0)
		return tdk_err_set(err, TDK_EPERM,
				   "still able to regain root after switching to '%s'",
				   user);
	return TDK_OK;
}

int priv_check_config_file(const char *path, tdk_err *err)
{
	struct stat st;

	if (path == NULL)
		return TDK_OK;
	if (stat(path, &st) != 0)
		return tdk_err_set(err, TDK_EIO, "%s: %s", path, g_strerror(errno));
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return tdk_err_set(err, TDK_EPERM,
				   "%s is %s-writable (mode %04o): whoever can change it "
				   "decides where todoke keeps its data and whose "
				   "signatures it obeys; fix: chmod go-w %s",
				   path, (st.st_mode & S_IWOTH) ? "world" : "group",
				   (unsigned)(st.st_mode & 07777), path);
	return TDK_OK;
}
