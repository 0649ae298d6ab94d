/*
 * ctl_mailcmd.c - `todokectl commands [--json]`: staff command mail at a
 * glance.
 *
 * Owns: printing the counters the processor keeps for mail to the control
 * address (engine_mailcmd.c): command mails applied, refused with a
 * transcript to the signer, dropped silently (not signed by a staff key:
 * forged or stray mail, counted so that staff see it), the latest silent
 * refusal, the replies withheld by staff.transcripts_per_hour, how many signatures and Message-IDs the replay record holds,
 * and how many staff keys the configuration lists. Read-only.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ctl.h"
#include "engine.h"
#include "json_print.h"

struct counters {
	guint64 accepted, refused, dropped, withheld;
	char *last_dropped;
	size_t signatures, message_ids;
};

static guint64 meta_number(struct store_txn *txn, const char *key)
{
	g_autofree char *text = NULL;
	guint64 v = 0;

	if (store_meta_get(txn, key, &text, NULL) == TDK_OK)
		g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, &v, NULL);
	return v;
}

static int read_counters(struct engine *eng, struct counters *c, tdk_err *err)
{
	struct store_txn *txn;
	int rc = store_begin(eng->store, false, &txn, err);

	if (rc != TDK_OK)
		return rc;
	c->accepted = meta_number(txn, "mailcmd.accepted");
	c->refused = meta_number(txn, "mailcmd.refused");
	c->dropped = meta_number(txn, "mailcmd.dropped");
	c->withheld = meta_number(txn, "mailcmd.withheld");
	if (store_meta_get(txn, "mailcmd.last_dropped", &c->last_dropped, NULL) != TDK_OK)
		c->last_dropped = NULL;
	rc = store_replay_count(txn, &c->signatures, &c->message_ids, err);
	store_abort(txn);
	return rc;
}

static void print_json(const struct counters *c, size_t keys)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "accepted");
	json_builder_add_int_value(b, (gint64)c->accepted);
	json_builder_set_member_name(b, "refused");
	json_builder_add_int_value(b, (gint64)c->refused);
	json_builder_set_member_name(b, "dropped");
	json_builder_add_int_value(b, (gint64)c->dropped);
	json_builder_set_member_name(b, "last_dropped");
	if (c->last_dropped != NULL)
		json_builder_add_string_value(b, c->last_dropped);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "withheld");
	json_builder_add_int_value(b, (gint64)c->withheld);
	json_builder_set_member_name(b, "signatures_remembered");
	json_builder_add_int_value(b, (gint64)c->signatures);
	json_builder_set_member_name(b, "message_ids_remembered");
	json_builder_add_int_value(b, (gint64)c->message_ids);
	json_builder_set_member_name(b, "staff_keys");
	json_builder_add_int_value(b, (gint64)keys);
	json_builder_end_object(b);
	json_print_builder(b);
}

int ctl_commands(const struct ctl_env *env, int argc, char **argv)
{
	bool json = ctl_take_flag(&argc, argv, "--json");
	struct counters c = { 0 };
	struct engine *eng = NULL;
	tdk_err err;
	int rc;

	if (argc != 1)
		return ctl_usage_error(env, "usage: commands [--json]");
	rc = engine_open(env->config, ENGINE_NO_SPOOL | ENGINE_READONLY, &eng, &err);
	if (rc == TDK_OK)
		rc = read_counters(eng, &c, &err);
	engine_close(eng);
	if (rc != TDK_OK) {
		fprintf(stderr, "%s: %s\n", env->program, err.text);
		g_free(c.last_dropped);
		return EXIT_NO;
	}
	if (json) {
		print_json(&c, env->config->n_staff_keys);
	} else {
		printf("accepted\t%" G_GUINT64_FORMAT "\n", c.accepted);
		printf("refused\t%" G_GUINT64_FORMAT "\n", c.refused);
		printf("dropped\t%" G_GUINT64_FORMAT "\n", c.dropped);
		printf("last dropped\t%s\n", c.last_dropped != NULL ? c.last_dropped : "-");
		printf("withheld\t%" G_GUINT64_FORMAT "\n", c.withheld);
		printf("signatures remembered\t%zu\n", c.signatures);
		printf("message-ids remembered\t%zu\n", c.message_ids);
		printf("staff keys\t%zu\n", env->config->n_staff_keys);
	}
	g_free(c.last_dropped);
	return 0;
}
