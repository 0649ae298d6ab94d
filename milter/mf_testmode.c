/*
 * mf_testmode.c - `todoke-milter -t FILE --rcpt ADDR`: the whole intake on
 * a file, without an MTA.
 *
 * Owns: reading the file, running intake_process() exactly as the milter
 * does, printing the verdict and the spool entry as JSON, and writing the
 * entry unless --dry-run. Exit status: 0 spooled (or would be), 1 refused
 * or failed.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "json_print.h"
#include "log.h"
#include "milter.h"

static void print_result(const char *verdict, const char *reply,
			 const struct spool_entry *entry, bool written)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "verdict");
	json_builder_add_string_value(b, verdict);
	if (reply != NULL) {
		json_builder_set_member_name(b, "smtp_reply");
		json_builder_add_string_value(b, reply);
	}
	json_builder_set_member_name(b, "written");
	json_builder_add_boolean_value(b, written);
	if (entry != NULL) {
		json_builder_set_member_name(b, "entry");
		json_builder_add_value(b, spool_entry_to_json(entry, false));
	}
	json_builder_end_object(b);
	json_print_builder(b);
}

int mf_test_mode(const char *file, const char *const *recipients,
		 size_t n_recipients, const char *sender, bool dry_run)
{
	struct intake_envelope env = {
		.queue_id = "",
		.sender = sender,
		.recipients = recipients,
		.n_recipients = n_recipients,
		.received = tdk_clock_now(&mf_state.clock),
	};
	g_autofree char *data = NULL;
	g_autoptr(GError) error = NULL;
	struct intake_result result;
	struct spool_entry *entry = NULL;
	g_autofree char *reply = NULL;
	gsize len = 0;
	tdk_err err;
	int rc, status = 1;

	if (!g_file_get_contents(file, &data, &len, &error)) {
		msg_error("%s", error->message);
		return 1;
	}
	rc = intake_process(&mf_state.intake, mf_state.pgp, data, len, &env, &entry,
			    &result, &err);
	if (rc != TDK_OK) {
		print_result("tempfail", "451 4.3.0 todoke: cannot process the message", NULL, false);
		msg_error("intake failed: %s", err.text);
		goto out;
	}
	if (result.verdict == INTAKE_REJECT_LIMIT) {
		reply = g_strdup_printf("%s %s todoke: %s", result.smtp_code,
					result.smtp_xcode, result.reason);
		print_result("reject", reply, NULL, false);
		goto out;
	}
	if (!dry_run) {
		rc = spool_put(mf_state.spool, entry, &err);
		if (rc != TDK_OK) {
			print_result("tempfail", "451 4.3.0 todoke: intake spool unavailable",
				     entry, false);
			msg_error("cannot spool: %s", err.text);
			goto out;
		}
	}
	print_result("accept", NULL, entry, !dry_run);
	status = 0;
out:
	spool_entry_free(entry);
	return status;
}
