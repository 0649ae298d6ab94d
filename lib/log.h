/*
 * log.h - Postfix-style logging for every todoke program.
 *
 * Owns: where log lines go (syslog facility mail by default, or stderr when
 * a program runs in the foreground or as a command-line tool) and how they
 * are cleaned (control characters are replaced, so hostile input cannot
 * forge log lines). Callers must never pass secrets: plaintext report
 * content, key material or passphrases.
 *
 * msg_fatal() is for start-up only; it logs and exits with status 1.
 */
#ifndef TODOKE_LOG_H
#define TODOKE_LOG_H

#include <stdbool.h>

enum msg_level { MSG_DEBUG = 0, MSG_INFO, MSG_WARN, MSG_ERROR, MSG_FATAL };

enum msg_sink {
	MSG_SINK_SYSLOG = 1, /* syslog only (daemons in the background) */
	MSG_SINK_STDERR = 2, /* stderr only (tools, foreground) */
};

/* ident is kept by pointer; facility is a syslog name such as "mail" or
 * "local3". Returns 0, or -1 if the facility name is unknown. */
int msg_open(const char *ident, const char *facility, int sinks);
/* Where lines go now (MSG_SINK_* bits) and the syslog facility's name, so
 * that a helper process can log the same way. */
int msg_sinks(void);
const char *msg_facility(void);
void msg_set_level(enum msg_level min_level);
int msg_level_from_name(const char *name, enum msg_level *out);
int msg_facility_from_name(const char *name, int *out);
void msg_close(void);

void msg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
