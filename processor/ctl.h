/*
 * ctl.h - the subcommands of todokectl.
 *
 * Each subcommand takes the arguments after its name (argv[0] is the
 * subcommand) and the loaded configuration, and returns an exit status
 * of the cli.h convention.
 */
#ifndef TODOKE_CTL_H
#define TODOKE_CTL_H

#include <stdbool.h>

#include "conf.h"

struct ctl_env {
	const char *program;
	const struct tdk_config *config;
};

int ctl_config(const struct ctl_env *env, int argc, char **argv);
int ctl_calendar(const struct ctl_env *env, int argc, char **argv);
int ctl_spool(const struct ctl_env *env, int argc, char **argv);
int ctl_do(const struct ctl_env *env, int argc, char **argv);
int ctl_check(const struct ctl_env *env, int argc, char **argv);
int ctl_cases(const struct ctl_env *env, int argc, char **argv);
int ctl_case(const struct ctl_env *env, int argc, char **argv);
int ctl_timeline(const struct ctl_env *env, int argc, char **argv);
int ctl_outbox(const struct ctl_env *env, int argc, char **argv);
int ctl_attention(const struct ctl_env *env, int argc, char **argv);
int ctl_commands(const struct ctl_env *env, int argc, char **argv);
int ctl_purge(const struct ctl_env *env, int argc, char **argv);
int ctl_render(const struct ctl_env *env, int argc, char **argv);

/* Prints "todokectl: message" to stderr and returns EXIT_USAGE. */
int ctl_usage_error(const struct ctl_env *env, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Removes "--json" from argv (compacting it) and tells whether it was there. */
bool ctl_take_flag(int *argc, char **argv, const char *flag);

#endif
