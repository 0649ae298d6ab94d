/*
 * ctl_config.c - `todokectl config [--json] [NAME...]`.
 *
 * Owns: printing the effective configuration, one "name = value" line per
 * setting in table order, or a JSON object.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json_print.h"
#include "ctl.h"

static const struct conf_spec *lookup(const struct conf_spec *table, size_t n,
				      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].path, name) == 0)
			return &table[i];
	return NULL;
}

int ctl_config(const struct ctl_env *env, int argc, char **argv)
{
	bool json = ctl_take_flag(&argc, argv, "--json");
	size_t n_specs;
	const struct conf_spec *table = conf_table(&n_specs);
	const struct conf_spec *selected[64];
	size_t n_selected = 0;
	char value[8192];

	if (argc == 1) {
		for (size_t i = 0; i < n_specs && i < 64; i++)
			selected[n_selected++] = &table[i];
	}
	for (int i = 1; i < argc; i++) {
		const struct conf_spec *spec = lookup(table, n_specs, argv[i]);

		if (spec == NULL)
			return ctl_usage_error(env, "unknown setting '%s'",
					       argv[i]);
		if (n_selected < 64)
			selected[n_selected++] = spec;
	}
	if (json) {
		g_autoptr(JsonBuilder) builder = json_builder_new();

		json_builder_begin_object(builder);
		for (size_t i = 0; i < n_selected; i++) {
			conf_format(env->config, selected[i], value, sizeof value);
			json_builder_set_member_name(builder, selected[i]->path);
			json_builder_add_string_value(builder, value);
		}
		json_builder_end_object(builder);
		json_print_builder(builder);
		return 0;
	}
	for (size_t i = 0; i < n_selected; i++) {
		conf_format(env->config, selected[i], value, sizeof value);
		printf("%s = %s\n", selected[i]->path, value);
	}
	return 0;
}
