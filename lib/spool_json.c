/*
 * spool_json.c - a spool entry as JSON (json-glib), for todokectl and
 * diagnostics. Times are rendered from the stored values, never from the
 * clock.
 */
#include "spool.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* A text field: null, or the string with invalid UTF-8 repaired. */
static void add_text(JsonBuilder *b, const char *key, const char *s)
{
	json_builder_set_member_name(b, key);
	if (s == NULL) {
		json_builder_add_null_value(b);
	} else if (g_utf8_validate(s, -1, NULL)) {
		json_builder_add_string_value(b, s);
	} else {
		char *valid = g_utf8_make_valid(s, -1);

		json_builder_add_string_value(b, valid);
		g_free(valid);
	}
}

static void add_text_array(JsonBuilder *b, const char *key, char *const *v,
			   size_t n)
{
	json_builder_set_member_name(b, key);
	json_builder_begin_array(b);
	for (size_t i = 0; v != NULL && i < n; i++) {
		if (v[i] == NULL) {
			json_builder_add_null_value(b);
		} else {
			char *valid = g_utf8_make_valid(v[i], -1);

			json_builder_add_string_value(b, valid);
			g_free(valid);
		}
	}
	json_builder_end_array(b);
}

static void add_name(JsonBuilder *b, const char *key, const char *name)
{
	json_builder_set_member_name(b, key);
	if (name != NULL)
		json_builder_add_string_value(b, name);
	else
		json_builder_add_null_value(b);
}

/* "2026-11-22T10:00:00Z", or null outside the years 1..9999. */
static void add_time(JsonBuilder *b, const char *key, int64_t t)
{
	GDateTime *dt = g_date_time_new_from_unix_utc(t);
	char *text = dt != NULL ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;

	json_builder_set_member_name(b, key);
	if (text != NULL)
		json_builder_add_string_value(b, text);
	else
		json_builder_add_null_value(b);
	g_free(text);
	if (dt != NULL)
		g_date_time_unref(dt);
}

static void add_size(JsonBuilder *b, const char *key, GBytes *bytes)
{
	json_builder_set_member_name(b, key);
	if (bytes != NULL)
		json_builder_add_int_value(b, (gint64)g_bytes_get_size(bytes));
	else
		json_builder_add_null_value(b);
}

/* The body under key as text, or under key_base64 when it is not valid
 * UTF-8 or holds a NUL byte; key: null when there is no body. */
static void add_body(JsonBuilder *b, const char *key, GBytes *bytes)
{
	gsize size;
	const char *data;

	if (bytes == NULL) {
		json_builder_set_member_name(b, key);
		json_builder_add_null_value(b);
		return;
	}
	data = g_bytes_get_data(bytes, &size);
	if (size == 0) {
		json_builder_set_member_name(b, key);
		json_builder_add_string_value(b, "");
	} else if (memchr(data, '\0', size) == NULL &&
		   g_utf8_validate_len(data, size, NULL)) {
		char *text = g_strndup(data, size);

		json_builder_set_member_name(b, key);
		json_builder_add_string_value(b, text);
		g_free(text);
	} else {
		char *name = g_strconcat(key, "_base64", NULL);
		char *text = g_base64_encode((const guchar *)data, size);

		json_builder_set_member_name(b, name);
		json_builder_add_string_value(b, text);
		g_free(text);
		g_free(name);
	}
}

JsonNode *spool_entry_to_json(const struct spool_entry *e, bool with_bodies)
{
	JsonBuilder *b;
	JsonNode *root;

	if (e == NULL)
		return NULL;
	b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_int_value(b, (gint64)e->id);
	add_time(b, "received", e->received);
	add_text(b, "queue_id", e->queue_id);
	add_text(b, "envelope_from", e->envelope_from);
	add_text_array(b, "recipients", e->recipients, e->n_recipients);
	add_name(b, "classification", spool_class_name(e->classification));
	add_text(b, "class_reason", e->class_reason);
	add_text(b, "message_id", e->message_id);
	add_text(b, "subject", e->subject);
	add_text(b, "from_header", e->from_header);
	add_text(b, "case_subject", e->case_subject);
	add_text(b, "case_body", e->case_body);
	add_text_array(b, "thread_refs", e->thread_refs, e->n_thread_refs);
	add_text_array(b, "foreign_tags", e->foreign_tags, e->n_foreign_tags);
	add_text(b, "bounce_token", e->bounce_token);
	add_text(b, "bounce_recipient", e->bounce_recipient);
	add_name(b, "crypto", spool_crypto_name(e->crypto));
	add_text(b, "crypto_detail", e->crypto_detail);

	json_builder_set_member_name(b, "signatures");
	json_builder_begin_array(b);
	for (size_t i = 0; e->signatures != NULL && i < e->n_signatures; i++) {
		const struct spool_signature *s = &e->signatures[i];

		json_builder_begin_object(b);
		add_name(b, "state", spool_sig_name(s->state));
		add_text(b, "fingerprint", s->fingerprint);
		add_time(b, "created", s->created);
		json_builder_set_member_name(b, "inside_encryption");
		json_builder_add_boolean_value(b, s->inside_encryption);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);

	add_size(b, "original_size", e->original);
	add_size(b, "decrypted_size", e->decrypted);
	if (with_bodies) {
		add_body(b, "original", e->original);
		add_body(b, "decrypted", e->decrypted);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	g_object_unref(b);
	return root;
}

char *spool_entry_to_json_text(const struct spool_entry *e, bool with_bodies,
			       bool pretty)
{
	JsonNode *root = spool_entry_to_json(e, with_bodies);
	JsonGenerator *gen;
	char *text;

	if (root == NULL)
		return NULL;
	gen = json_generator_new();
	json_generator_set_pretty(gen, pretty);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	g_object_unref(gen);
	json_node_unref(root);
	return text;
}
