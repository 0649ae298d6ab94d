/*
 * fuzz_conf.c - libFuzzer harness for the configuration loader
 * (libconfig text through the declarative table and the staff lists).
 *
 * The input is loaded as todoke.conf. A refusal must say why and return
 * nothing. A configuration that loads must print every table setting
 * back (conf_format) to a value that, given as an override "path=value"
 * over the built-in defaults, loads and prints the same again; the staff
 * lists are printed too. Seeds: conf/todoke.conf and
 * tests/fuzz/seed/conf.
 */
#define _GNU_SOURCE /* memfd_create */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "fuzz_input_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VALUE_MAX 4096

static void check_round_trip(const struct tdk_config *config)
{
	const struct conf_spec *table;
	const struct tdk_config *again = NULL;
	char value[VALUE_MAX], back[VALUE_MAX];
	size_t n;
	tdk_err err;

	table = conf_table(&n);
	for (size_t i = 0; i < n; i++) {
		char *override;
		const char *overrides[1];

		conf_format(config, &table[i], value, sizeof value);
		if (table[i].type == CONF_CUSTOM || strlen(value) + 1 >= sizeof value)
			continue;
		override = g_strdup_printf("%s=%s", table[i].path, value);
		overrides[0] = override;
		if (conf_load(NULL, overrides, 1, &again, &err) != TDK_OK) {
			fprintf(stderr, "printed setting does not load: %s\n%s\n",
				override, err.text);
			__builtin_trap();
		}
		conf_format(again, &table[i], back, sizeof back);
		if (strcmp(value, back) != 0) {
			fprintf(stderr, "round trip differs: %s -> %s\n", override, back);
			__builtin_trap();
		}
		conf_free(again);
		g_free(override);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tdk_config *config = NULL;
	tdk_err err = { 0 };

	if (conf_load(fuzz_input_file(data, size), NULL, 0, &config, &err) != TDK_OK) {
		if (config != NULL || err.text[0] == '\0')
			__builtin_trap();
		return 0;
	}
	check_round_trip(config);
	conf_free(config);
	return 0;
}
