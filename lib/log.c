/*
 * log.c - one place where todoke writes log lines.
 *
 * Lines are formatted into a fixed buffer, cleaned of control characters
 * and written to syslog and/or stderr with a severity tag as Postfix does
 * ("warning: ...", "error: ...", "fatal: ...").
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#define MSG_LINE_MAX 2048

static const char *log_ident = "todoke";
static int log_sinks = MSG_SINK_STDERR;
static char log_facility[16] = "mail";
static enum msg_level log_min_level = MSG_INFO;

static const struct {
	const char *name;
	int facility;
} facility_names[] = {
	{ "mail", LOG_MAIL },     { "daemon", LOG_DAEMON },
	{ "user", LOG_USER },     { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

static const char *const level_names[] = { "debug", "info", "warning",
					   "error", "fatal" };

int msg_facility_from_name(const char *name, int *out)
{
	for (size_t i = 0; i < sizeof facility_names / sizeof facility_names[0]; i++) {
		if (strcasecmp(name, facility_names[i].name) == 0) {
			*out = facility_names[i].facility;
			return 0;
		}
	}
	return -1;
}

int msg_level_from_name(const char *name, enum msg_level *out)
{
	for (int i = MSG_DEBUG; i <= MSG_ERROR; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum msg_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warn") == 0) {
		*out = MSG_WARN;
		return 0;
	}
	return -1;
}

int msg_open(const char *ident, const char *facility, int sinks)
{
	int fac = LOG_MAIL;

	if (facility != NULL && msg_facility_from_name(facility, &fac) != 0)
		return -1;
	log_ident = ident;
	log_sinks = sinks;
	if (facility != NULL)
		snprintf(log_facility, sizeof log_facility, "%s", facility);
	if (sinks & MSG_SINK_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, fac);
	return 0;
}

int msg_sinks(void)
{
	return log_sinks;
}

const char *msg_facility(void)
{
	return log_facility;
}

void msg_set_level(enum msg_level min_level)
{
	log_min_level = min_level;
}

void msg_close(void)
{
	if (log_sinks & MSG_SINK_SYSLOG)
		closelog();
}

/* Replaces bytes that could split or disguise a log line. UTF-8 is kept. */
static void clean_line(char *line)
{
	for (unsigned char *p = (unsigned char *)line; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

static void log_vline(enum msg_level level, const char *fmt, va_list ap)
{
	static const int priorities[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING,
					  LOG_ERR, LOG_CRIT };
	char line[MSG_LINE_MAX];
	const char *tag = level == MSG_INFO || level == MSG_DEBUG
				  ? ""
				  : level_names[level];

	if (level < log_min_level)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	clean_line(line);
	if (log_sinks & MSG_SINK_SYSLOG)
		syslog(priorities[level], "%s%s%s", tag, *tag ? ": " : "", line);
	if (log_sinks & MSG_SINK_STDERR)
		fprintf(stderr, "%s: %s%s%s\n", log_ident, tag, *tag ? ": " : "",
			line);
}

#define DEFINE_MSG_FUNCTION(function, level)      \
	void function(const char *fmt, ...)       \
	{                                         \
		va_list ap;                       \
		va_start(ap, fmt);                \
		log_vline(level, fmt, ap);        \
		va_end(ap);                       \
	}

DEFINE_MSG_FUNCTION(msg_debug, MSG_DEBUG)
DEFINE_MSG_FUNCTION(msg_info, MSG_INFO)
DEFINE_MSG_FUNCTION(msg_warn, MSG_WARN)
DEFINE_MSG_FUNCTION(msg_error, MSG_ERROR)

void msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(MSG_FATAL, fmt, ap);
	va_end(ap);
	exit(1);
}
