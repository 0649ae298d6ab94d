/*
 * fuzz_fixreport.c - libFuzzer harness for the processor's reading of an
 * operator's mail: mailtext_extract() on the input as a mail, then
 * fixreport_detect()/fixreport_parse() on every text part it gives and on
 * the input itself as text.
 *
 * Checked besides memory safety: the caps of mailtext.h hold, every text
 * is valid UTF-8, fixreport_parse() succeeds exactly when
 * fixreport_detect() says the text is a form, and every string of a
 * report is valid UTF-8.
 */
#include <gmime/gmime.h>
#include <stdint.h>
#include <string.h>

#include "fixreport.h"
#include "mailtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT (64 * 1024)

static void check_utf8(const char *s)
{
	if (s != NULL && !g_utf8_validate(s, -1, NULL))
		__builtin_trap();
}

static void check_report(const char *text, size_t len, bool detected)
{
	struct fixreport *r = NULL;
	tdk_err err;
	int rc = fixreport_parse(text, len, &r, &err);

	if (len > FIXREPORT_INPUT_MAX) {
		if (rc != TDK_ELIMIT || r != NULL)
			__builtin_trap();
		return;
	}
	if (rc != (detected ? TDK_OK : TDK_EINVAL))
		__builtin_trap();
	if (r == NULL)
		return;
	check_utf8(r->case_text);
	check_utf8(r->url);
	check_utf8(r->content);
	check_utf8(r->contact_address);
	check_utf8(r->contact_name);
	check_utf8(r->organization);
	check_utf8(r->department);
	check_utf8(r->name);
	for (int k = 0; k < FIXREPORT_SURVEY_N; k++)
		check_utf8(r->survey[k]);
	if ((r->content == NULL) != (r->kind == FIXREPORT_KIND_UNKNOWN))
		__builtin_trap();
	fixreport_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	GBytes *mime;
	struct mailtext *t = NULL;
	tdk_err err;
	size_t total = 0;
	char *joined, *copy;

	if (!initialised) {
		g_mime_init();
		initialised = true;
	}

	mime = g_bytes_new_static(data, size);
	if (mailtext_extract(mime, MAX_TEXT, &t, &err) != TDK_OK || t == NULL)
		__builtin_trap();
	if (t->n_parts > MAILTEXT_PARTS_MAX)
		__builtin_trap();
	for (size_t i = 0; i < t->n_parts; i++) {
		const char *text = t->parts[i].text;
		size_t len = strlen(text);

		check_utf8(text);
		check_utf8(t->parts[i].filename);
		if (t->parts[i].filename != NULL &&
		    strlen(t->parts[i].filename) > MAILTEXT_FILENAME_MAX)
			__builtin_trap();
		total += len;
		check_report(text, len, fixreport_detect(text));
	}
	if (total > MAX_TEXT)
		__builtin_trap();
	joined = mailtext_joined(t);
	check_utf8(joined);
	g_free(joined);
	mailtext_free(t);
	g_bytes_unref(mime);

	/* The input as a text part itself. Without NUL bytes (which detect,
	 * reading a C string, cannot see) detect and parse must agree. */
	if (memchr(data, 0, size) == NULL) {
		copy = g_strndup((const char *)data, size);
		check_report(copy, size, fixreport_detect(copy));
		g_free(copy);
	} else {
		struct fixreport *r = NULL;

		if (fixreport_parse((const char *)data, size, &r, &err) == TDK_OK)
			fixreport_free(r);
	}
	return 0;
}
