/*
 * status.h - the one error convention of todoke.
 *
 * Owns: the status codes every library-like function returns (0 = TDK_OK,
 * anything else a failure), tdk_strerror(), and tdk_err, a small buffer in
 * which a failing function may leave a one-line human message (for example
 * "rules/partnership.conf:12: unknown key 'foo'").
 *
 * Callers own the tdk_err they pass; passing NULL means "no detail wanted".
 */
#ifndef TODOKE_STATUS_H
#define TODOKE_STATUS_H

#include <stddef.h>

enum tdk_status {
	TDK_OK = 0,
	TDK_ENOMEM,    /* out of memory */
	TDK_EINVAL,    /* invalid argument or input */
	TDK_ERANGE,    /* value out of range */
	TDK_ESYNTAX,   /* malformed text (config, rules, period, date) */
	TDK_ENOENT,    /* not found */
	TDK_EEXIST,    /* already exists */
	TDK_EIO,       /* I/O or system call failure */
	TDK_EFULL,     /* store or disk full */
	TDK_EPERM,     /* permission or unsafe file mode */
	TDK_ECRYPTO,   /* OpenPGP operation failed */
	TDK_ETIMEDOUT, /* time budget exhausted */
	TDK_ELIMIT,    /* an input cap was exceeded */
	TDK_ECORRUPT,  /* a stored record does not decode */
	TDK_ESTATE,    /* operation not valid in the current state */
	TDK_STATUS_COUNT
};

/* A static, never-NULL description of a status code. */
const char *tdk_strerror(int status);

#define TDK_ERR_MAX 512

typedef struct tdk_err {
	char text[TDK_ERR_MAX];
} tdk_err;

/* Formats a message into err (if err is not NULL) and returns status. */
int tdk_err_set(tdk_err *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Empties err (if not NULL). */
void tdk_err_clear(tdk_err *err);

#endif
