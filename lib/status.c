/*
 * status.c - status code descriptions and the tdk_err message buffer.
 */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const status_text[TDK_STATUS_COUNT] = {
	[TDK_OK] = "success",
	[TDK_ENOMEM] = "out of memory",
	[TDK_EINVAL] = "invalid argument",
	[TDK_ERANGE] = "value out of range",
	[TDK_ESYNTAX] = "syntax error",
	[TDK_ENOENT] = "not found",
	[TDK_EEXIST] = "already exists",
	[TDK_EIO] = "input/output error",
	[TDK_EFULL] = "storage full",
	[TDK_EPERM] = "permission denied or unsafe permissions",
	[TDK_ECRYPTO] = "OpenPGP operation failed",
	[TDK_ETIMEDOUT] = "time budget exhausted",
	[TDK_ELIMIT] = "input limit exceeded",
	[TDK_ECORRUPT] = "stored record is corrupt",
	[TDK_ESTATE] = "not allowed in the current state",
};

const char *tdk_strerror(int status)
{
	if (status < 0 || status >= TDK_STATUS_COUNT)
		return "unknown status";
	return status_text[status];
}

int tdk_err_set(tdk_err *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof err->text, fmt, ap);
		va_end(ap);
	}
	return status;
}

void tdk_err_clear(tdk_err *err)
{
	if (err != NULL)
		err->text[0] = '\0';
}
