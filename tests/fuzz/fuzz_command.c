/*
 * fuzz_command.c - libFuzzer harness for the staff command language.
 *
 * The input is parsed as a script (and, when it holds no NUL, also as one
 * line). Every command of a script that parses must print back to a line
 * that parses to the same command and prints the same again; any
 * difference is a crash. The rules file is read once, from
 * $TOP_SRCDIR/rules or else the source tree this harness was built from.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"

#ifndef FUZZ_RULES_DIR
#define FUZZ_RULES_DIR "rules"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct casenum_format fmt = { "IPA#", 8 };

static bool same_text(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static bool same(const struct command *a, const struct command *b)
{
	return a->verb == b->verb && a->case_number == b->case_number &&
	       same_text(a->case_text, b->case_text) && a->kind == b->kind &&
	       same_text(a->code, b->code) && same_text(a->outcome, b->outcome) &&
	       same_text(a->text, b->text) && a->role == b->role &&
	       same_text(a->address, b->address) && same_text(a->name, b->name) &&
	       same_text(a->lang, b->lang) && same_text(a->key, b->key) &&
	       same_text(a->postal, b->postal) && same_text(a->field, b->field) &&
	       same_text(a->value, b->value) && a->send == b->send &&
	       same_text(a->channel, b->channel) && a->clock == b->clock &&
	       a->period.count == b->period.count &&
	       a->period.unit == b->period.unit && a->record == b->record &&
	       a->date == b->date;
}

static const struct rules *load_rules(void)
{
	static const struct rules *rules;
	const char *srcdir;
	char *dir;
	tdk_err err;

	if (rules != NULL)
		return rules;
	srcdir = getenv("TOP_SRCDIR");
	dir = srcdir != NULL ? g_strdup_printf("%s/rules", srcdir)
			     : g_strdup(FUZZ_RULES_DIR);
	if (rules_load_dir(dir, &rules, &err) != TDK_OK) {
		fprintf(stderr, "fuzz_command: %s\n", err.text);
		abort();
	}
	g_free(dir);
	return rules;
}

static void check_round_trip(const struct rules *rules, const struct command *c)
{
	char *line = command_to_text(c), *again;
	struct command *back = NULL;
	tdk_err err;

	if (line == NULL)
		__builtin_trap(); /* every parsed command prints */
	/* Only a longer canonical case number can push past the line cap. */
	if (strlen(line) <= COMMAND_LINE_MAX) {
		if (command_parse(line, &fmt, rules, &back, &err) != TDK_OK) {
			fprintf(stderr, "printed line does not parse: %s\n%s\n",
				err.text, line);
			__builtin_trap();
		}
		again = command_to_text(back);
		if (!same(c, back) || again == NULL || strcmp(line, again) != 0) {
			fprintf(stderr, "round trip differs: %s\n", line);
			__builtin_trap();
		}
		g_free(again);
		command_free(back);
	}
	g_free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rules *rules = load_rules();
	struct command **v = NULL, *c = NULL;
	size_t n = 0;
	tdk_err err;

	if (command_parse_script((const char *)data, size, &fmt, rules, &v, &n,
				 &err) == TDK_OK) {
		for (size_t i = 0; i < n; i++)
			check_round_trip(rules, v[i]);
		command_free_all(v, n);
	} else if (v != NULL || n != 0) {
		__builtin_trap(); /* nothing is returned on failure */
	}
	if (size <= COMMAND_LINE_MAX + 1 && memchr(data, '\0', size) == NULL) {
		char *line = g_strndup((const char *)data, size);

		if (command_parse(line, &fmt, rules, &c, &err) == TDK_OK) {
			check_round_trip(rules, c);
			command_free(c);
		} else if (c != NULL) {
			__builtin_trap();
		}
		g_free(line);
	}
	return 0;
}
