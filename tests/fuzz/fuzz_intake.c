/*
 * fuzz_intake.c - libFuzzer harness for the intake: MIME parsing, caps,
 * trust-header removal, case-number extraction, DSN reading and
 * classification (OpenPGP off: encrypted parts take the deferral path;
 * the OpenPGP input itself goes to gpg, which is not ours to fuzz).
 *
 * The first byte picks the envelope recipient, so every classification
 * path is reached; the rest is the mail. Each accepted entry is also
 * encoded and decoded as a spool record.
 */
#include <gmime/gmime.h>
#include <stdint.h>
#include <string.h>

#include "intake.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const recipients[] = {
	"vuln-info@desk.example", "vuln-contact@desk.example",
	"vuln-control@desk.example", "vuln-bounce+N1@desk.example",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	static const struct intake_config cfg = {
		.report_address = "vuln-info@desk.example",
		.contact_address = "vuln-contact@desk.example",
		.control_address = "vuln-control@desk.example",
		.bounce_address = "vuln-bounce@desk.example",
		.case_format = { .prefix = "IPA#", .width = 8 },
		.limits = { .message_size = 1 << 20, .header_size = 64 * 1024,
			    .mime_depth = 20, .mime_parts = 500,
			    .decrypted_size = 1 << 20 },
	};
	const char *rcpt[1];
	struct intake_envelope env = { .queue_id = "FUZZ", .sender = "a@b.example",
				       .recipients = rcpt, .n_recipients = 1,
				       .received = 1790000000 };
	struct intake_result result;
	struct spool_entry *entry = NULL, *back = NULL;
	GBytes *record = NULL;
	tdk_err err;

	if (!initialised) {
		g_mime_init();
		initialised = true;
	}
	if (size == 0)
		return 0;
	rcpt[0] = recipients[data[0] % G_N_ELEMENTS(recipients)];
	if (intake_process(&cfg, NULL, data + 1, size - 1, &env, &entry, &result,
			   &err) != TDK_OK)
		__builtin_trap();
	if (entry != NULL) {
		if (spool_encode(entry, &record, &err) == TDK_OK) {
			if (spool_decode(record, 1, &back, &err) != TDK_OK)
				__builtin_trap(); /* what we encode must decode */
			spool_entry_free(back);
			g_bytes_unref(record);
		}
		spool_entry_free(entry);
	}
	return 0;
}
