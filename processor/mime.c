/*
 * mime.c - an outbound notice as a MIME message (see mime.h).
 */
#include "config.h"

#include "mime.h"

#include <string.h>

bool mime_address_ok(const char *text)
{
	const char *at;
	size_t len;

	if (text == NULL || (len = strlen(text)) < 3 || len > 320 ||
	    !g_utf8_validate(text, -1, NULL))
		return false;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || strchr("<>()[]\",;:\\", *p) != NULL)
			return false;
	}
	at = strchr(text, '@');
	return at != NULL && at != text && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

bool mime_message_id_ok(const char *text)
{
	size_t len;

	if (text == NULL || (len = strlen(text)) == 0 || len > 250)
		return false;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()\",;\\", *p) != NULL)
			return false;
	}
	return strchr(text, '@') != NULL;
}

/* A copy with every control character (and DEL, and the C1 range) a
 * space: what may appear in an encoded header word. */
static char *clean_header_text(const char *text)
{
	char *s = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_sized_new(strlen(s));

	for (const char *p = s; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) ||
		    c == 0x2028 || c == 0x2029)
			g_string_append_c(out, ' ');
		else
			g_string_append_unichar(out, c);
	}
	g_free(s);
	return g_string_free(out, FALSE);
}

static bool is_iso2022jp(const char *charset)
{
	return charset != NULL && g_ascii_strcasecmp(charset, "ISO-2022-JP") == 0;
}

/* The raw Subject value (leading blank, folded, trailing LF) for an
 * ISO-2022-JP subject as RFC 1468 writes it: the ASCII words before the
 * first non-ASCII one as they are, the rest as "B" encoded-words, each a
 * whole ISO-2022-JP text (back in ASCII at its end) of at most 75
 * characters on a line of its own. NULL when the text is all ASCII or has
 * a character ISO-2022-JP lacks. */
static char *iso2022jp_subject(const char *text)
{
	enum { MAX_BYTES = 42 }; /* 56 base64 characters + 18 = 74 */
	const char *rest = text, *p, *start;
	g_autoptr(GString) raw = g_string_new(" ");
	g_autofree char *done = NULL;
	gsize done_len = 0;
	bool first = true;

	for (p = text; *p != '\0' && (unsigned char)*p < 0x80; p++)
		if (*p == ' ')
			rest = p + 1;
	if (*p == '\0')
		return NULL;
	if (rest > text)
		g_string_append_printf(raw, "%.*s\n ", (int)(rest - 1 - text), text);
	for (start = p = rest; *start != '\0'; p = g_utf8_next_char(p)) {
		gsize len = 0;
		char *jis = *p != '\0' ? g_convert(start, g_utf8_next_char(p) - start,
						    "ISO-2022-JP", "UTF-8", NULL, &len, NULL)
				       : NULL;

		if (*p != '\0' && jis == NULL)
			return NULL;
		if (*p == '\0' || (len > MAX_BYTES && done != NULL)) {
			g_autofree char *b64 = g_base64_encode((const guchar *)done, done_len);

			g_string_append_printf(raw, "%s=?ISO-2022-JP?B?%s?=",
					       first ? "" : "\n ", b64);
			first = false;
			g_clear_pointer(&done, g_free);
			g_free(jis);
			start = p;
			if (*p == '\0')
				break;
			jis = g_convert(start, g_utf8_next_char(p) - start, "ISO-2022-JP",
					"UTF-8", NULL, &len, NULL);
			if (jis == NULL)
				return NULL;
		}
		g_free(done);
		done = jis;
		done_len = len;
	}
	g_string_append_c(raw, '\n');
	return g_string_free(g_steal_pointer(&raw), FALSE);
}

/* A text/plain part in charset (when text converts to it, else UTF-8),
 * with a 7-bit transfer encoding; an attachment when filename is set. */
static GMimeObject *text_part(const char *text, const char *charset,
			      const char *filename)
{
	GMimePart *part = GMIME_PART(g_mime_text_part_new_with_subtype("plain"));
	g_autofree char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	char *data = NULL;
	gsize len = 0;
	const char *cs = "UTF-8";
	GMimeStream *stream;
	GMimeDataWrapper *wrapper;

	if (is_iso2022jp(charset)) {
		data = g_convert(valid, -1, "ISO-2022-JP", "UTF-8", NULL, &len, NULL);
		if (data != NULL)
			cs = "ISO-2022-JP";
	}
	if (data == NULL) {
		len = strlen(valid);
		data = g_memdup2(valid, len);
	}
	stream = g_mime_stream_mem_new_with_buffer(data, len);
	g_free(data);
	wrapper = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, wrapper);
	g_object_unref(wrapper);
	g_object_unref(stream);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", cs);
	if (filename != NULL) {
		g_autofree char *name = clean_header_text(filename);

		g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
		g_mime_part_set_filename(part, name);
	}
	g_mime_part_set_content_encoding(
		part, g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT));
	return GMIME_OBJECT(part);
}

int mime_content(const struct mime_notice *n, GMimeObject **out, tdk_err *err)
{
	GMimeMultipart *mixed;

	if (n == NULL || n->body == NULL || out == NULL)
		return tdk_err_set(err, TDK_EINVAL, "mime: no body");
	if (n->n_attachments == 0) {
		*out = text_part(n->body, n->charset, NULL);
		return TDK_OK;
	}
	mixed = g_mime_multipart_new_with_subtype("mixed");
	{
		GMimeObject *body = text_part(n->body, n->charset, NULL);

		g_mime_multipart_add(mixed, body);
		g_object_unref(body);
	}
	for (size_t i = 0; i < n->n_attachments; i++) {
		GMimeObject *a = text_part(n->attachments[i].text, n->charset,
					   n->attachments[i].filename != NULL
						   ? n->attachments[i].filename
						   : "attachment.txt");

		g_mime_multipart_add(mixed, a);
		g_object_unref(a);
	}
	*out = GMIME_OBJECT(mixed);
	return TDK_OK;
}

int mime_message(const struct mime_notice *n, GMimeObject *content,
		 GMimeMessage **out, tdk_err *err)
{
	GMimeMessage *msg;
	GMimeObject *obj;
	g_autofree char *subject = NULL;
	g_autoptr(GString) refs = NULL;
	const char *loop;
	GDateTime *utc, *dt;
	GTimeZone *tz = NULL;

	if (n == NULL || content == NULL || out == NULL)
		return tdk_err_set(err, TDK_EINVAL, "mime: nothing to wrap");
	if (!mime_address_ok(n->from))
		return tdk_err_set(err, TDK_EINVAL, "mime: unsafe From address");
	if (!mime_address_ok(n->to))
		return tdk_err_set(err, TDK_EINVAL, "mime: unsafe recipient address");
	if (!mime_message_id_ok(n->message_id))
		return tdk_err_set(err, TDK_EINVAL, "mime: unsafe Message-ID");
	loop = n->loop != NULL ? n->loop : n->from;
	if (!mime_address_ok(loop))
		return tdk_err_set(err, TDK_EINVAL, "mime: unsafe loop header value");
	refs = g_string_new(NULL);
	for (size_t i = 0; n->references != NULL && n->references[i] != NULL; i++) {
		if (!mime_message_id_ok(n->references[i]))
			continue; /* a thread id we cannot trust is left out */
		g_string_append_printf(refs, "%s<%s>", refs->len > 0 ? " " : "",
				       n->references[i]);
	}

	msg = g_mime_message_new(TRUE);
	obj = GMIME_OBJECT(msg);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, NULL, n->from);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, n->from);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, n->to);
	subject = clean_header_text(n->subject);
	g_mime_message_set_subject(msg, subject,
				   is_iso2022jp(n->charset) ? "iso-2022-jp" : "utf-8");
	if (is_iso2022jp(n->charset)) {
		g_autofree char *raw = iso2022jp_subject(subject);

		if (raw != NULL)
			g_mime_header_set_raw_value(
				g_mime_header_list_get_header(g_mime_object_get_header_list(obj),
							      "Subject"),
				raw);
	}
	utc = g_date_time_new_from_unix_utc(n->date);
	if (n->zone != NULL)
		tz = g_time_zone_new_identifier(n->zone);
	dt = tz != NULL ? g_date_time_to_timezone(utc, tz) : g_date_time_ref(utc);
	g_mime_message_set_date(msg, dt);
	g_date_time_unref(dt);
	g_date_time_unref(utc);
	if (tz != NULL)
		g_time_zone_unref(tz);
	g_mime_message_set_message_id(msg, n->message_id);
	if (refs->len > 0) {
		g_autofree char *irt = mime_message_id_ok(n->in_reply_to)
					       ? g_strdup_printf("<%s>", n->in_reply_to)
					       : g_strdup(strrchr(refs->str, '<'));

		g_mime_object_set_header(obj, "In-Reply-To", irt, NULL);
		g_mime_object_set_header(obj, "References", refs->str, NULL);
	}
	g_mime_object_set_header(obj, "Auto-Submitted", "auto-generated", NULL);
	g_mime_object_set_header(obj, MIME_LOOP_HEADER, loop, NULL);
	g_mime_message_set_mime_part(msg, content);
	*out = msg;
	return TDK_OK;
}

GBytes *mime_to_bytes(GMimeMessage *msg)
{
	GMimeStream *stream = g_mime_stream_mem_new();
	GByteArray *arr;
	GBytes *b;

	g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, stream);
	arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
	b = g_bytes_new(arr->data, arr->len);
	g_object_unref(stream);
	return b;
}
