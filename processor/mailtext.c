/*
 * mailtext.c - the readable text of a captured mail (see mailtext.h).
 *
 * Functions: mailtext_extract() parses with GMime and walks the tree;
 * each text leaf goes through decode_valid() (charset.c's chain: label,
 * guess, lossy fallback) and clean_text(); mailtext_free(),
 * mailtext_joined().
 *
 * The charset chain is the one casenum.c uses for Subjects, with the
 * fewest-replacements last resort (CHARSET_LOSSY_FEWEST) for bodies, so
 * that a long Shift_JIS text with one bad byte keeps its Japanese instead
 * of becoming a row of U+FFFD.
 */
#include "mailtext.h"

#include <stdint.h>
#include <string.h>

#include <gmime/gmime.h>

#include "charset.h"

static const char replacement_char[] = "\xef\xbf\xbd"; /* U+FFFD */

/* Converts to UTF-8 (valid apart from NULs, which clean_text replaces);
 * never fails. */
static GString *decode_valid(const char *label, const char *in, size_t n)
{
	GString *out = g_string_sized_new(n + n / 2);

	charset_decode(out, label, in, n, CHARSET_LOSSY_FEWEST);
	return out;
}

/*
 * The final text: CRLF and CR -> LF, NUL -> U+FFFD, a leading BOM
 * dropped. s is valid UTF-8 apart from NULs.
 */
static GString *clean_text(const GString *s)
{
	GString *t = g_string_sized_new(s->len);
	size_t i = 0;

	if (s->len >= 3 && memcmp(s->str, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i < s->len; i++) {
		char c = s->str[i];

		if (c == '\r') {
			g_string_append_c(t, '\n');
			if (i + 1 < s->len && s->str[i + 1] == '\n')
				i++;
		} else if (c == '\0') {
			g_string_append(t, replacement_char);
		} else {
			g_string_append_c(t, c);
		}
	}
	return t;
}

/* Cuts valid UTF-8 s to at most max bytes on a character boundary, at a
 * line end if one lies in the last quarter. */
static void cut_text(GString *s, size_t max)
{
	size_t cut = max, floor;

	if (s->len <= max)
		return;
	while (cut > 0 && ((unsigned char)s->str[cut] & 0xc0) == 0x80)
		cut--;
	floor = cut - cut / 4;
	for (size_t i = cut; i > floor; i--) {
		if (s->str[i - 1] == '\n') {
			cut = i;
			break;
		}
	}
	g_string_truncate(s, cut);
}

/* ------------------------------------------------------------ the walk */

struct walk {
	GArray *parts;     /* of struct mailtext_part */
	size_t entities;   /* MIME entities visited */
	size_t used;       /* text bytes kept */
	size_t max_bytes;
	bool truncated;
	bool stop;
};

GByteArray *mailtext_part_bytes(GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *stream;
	GByteArray *bytes;

	if (content == NULL)
		return NULL;
	bytes = g_byte_array_new();
	stream = g_mime_stream_mem_new_with_byte_array(bytes);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	g_mime_data_wrapper_write_to_stream(content, stream);
	g_object_unref(stream);
	return bytes;
}

static bool ends_with_txt(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;

	return len >= 4 && g_ascii_strcasecmp(name + len - 4, ".txt") == 0;
}

/* A file name fit to keep: valid UTF-8, at most MAILTEXT_FILENAME_MAX
 * bytes (cut on a character boundary); NULL for none or "". */
static char *clean_filename(const char *name)
{
	char *valid;
	size_t len;

	if (name == NULL || name[0] == '\0')
		return NULL;
	valid = g_utf8_make_valid(name, -1);
	len = strlen(valid);
	if (len > MAILTEXT_FILENAME_MAX) {
		len = MAILTEXT_FILENAME_MAX;
		while (len > 0 && ((unsigned char)valid[len] & 0xc0) == 0x80)
			len--;
		valid[len] = '\0';
	}
	return valid;
}

static void walk_leaf(struct walk *w, GMimePart *part, bool in_message)
{
	GMimeObject *object = GMIME_OBJECT(part);
	GMimeContentType *type = g_mime_object_get_content_type(object);
	GMimeContentDisposition *disp = g_mime_object_get_content_disposition(object);
	const char *name = g_mime_part_get_filename(part);
	bool is_plain = type == NULL || g_mime_content_type_is_type(type, "text", "plain");
	size_t room = w->max_bytes - w->used, raw_cap;
	GByteArray *bytes;
	GString *utf8, *text;
	struct mailtext_part out;

	if (!is_plain && !ends_with_txt(name))
		return;
	if ((bytes = mailtext_part_bytes(part)) == NULL)
		return;
	/* Read no more raw bytes than could fill the room left (four per
	 * output byte is more than any charset here needs), so a huge part
	 * is not converted in full only to be cut. */
	raw_cap = room > (SIZE_MAX - 64) / 4 ? SIZE_MAX : room * 4 + 64;
	if (bytes->len > raw_cap) {
		size_t cut = raw_cap;

		for (size_t i = raw_cap; i > raw_cap / 2; i--) {
			if (bytes->data[i - 1] == '\n') {
				cut = i;
				break;
			}
		}
		g_byte_array_set_size(bytes, (guint)cut);
		w->truncated = true;
	}
	utf8 = decode_valid(g_mime_object_get_content_type_parameter(object, "charset"),
			    (const char *)bytes->data, bytes->len);
	g_byte_array_unref(bytes);
	text = clean_text(utf8);
	g_string_free(utf8, TRUE);
	if (text->len > room) {
		cut_text(text, room);
		w->truncated = true;
		w->stop = true;
		if (text->len == 0) {
			g_string_free(text, TRUE);
			return;
		}
	}
	w->used += text->len;
	out.filename = clean_filename(name);
	out.attachment = in_message || out.filename != NULL ||
			 (disp != NULL && g_mime_content_disposition_is_attachment(disp));
	out.text = g_string_free(text, FALSE);
	g_array_append_val(w->parts, out);
}

static void walk_object(struct walk *w, GMimeObject *object, size_t depth,
			bool in_message)
{
	if (object == NULL || w->stop)
		return;
	if (depth > MAILTEXT_DEPTH_MAX) {
		w->truncated = true;
		return;
	}
	if (++w->entities > MAILTEXT_PARTS_MAX) {
		w->truncated = true;
		w->stop = true;
		return;
	}
	if (GMIME_IS_MULTIPART(object)) {
		GMimeMultipart *mp = GMIME_MULTIPART(object);

		for (int i = 0; i < g_mime_multipart_get_count(mp) && !w->stop; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1,
				    in_message);
	} else if (GMIME_IS_MESSAGE_PART(object)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));

		if (m != NULL)
			walk_object(w, g_mime_message_get_mime_part(m), depth + 1, true);
	} else if (GMIME_IS_PART(object)) {
		walk_leaf(w, GMIME_PART(object), in_message);
	}
}

int mailtext_extract(GBytes *mime, size_t max_bytes, struct mailtext **out,
		     tdk_err *err)
{
	struct walk w = { .max_bytes = max_bytes };
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *message;
	struct mailtext *t;
	const char *data;
	gsize size;

	if (out != NULL)
		*out = NULL;
	if (mime == NULL || out == NULL)
		return tdk_err_set(err, TDK_EINVAL, "mailtext: no message or no result");
	data = g_bytes_get_data(mime, &size);
	if (data == NULL)
		data = ""; /* an empty message: GMime wants a buffer all the same */
	w.parts = g_array_new(FALSE, FALSE, sizeof(struct mailtext_part));
	stream = g_mime_stream_mem_new_with_buffer(data, size);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	message = g_mime_parser_construct_message(parser, NULL);
	if (message != NULL) {
		walk_object(&w, g_mime_message_get_mime_part(message), 1, false);
		g_object_unref(message);
	}
	g_object_unref(parser);
	g_object_unref(stream);

	t = g_new0(struct mailtext, 1);
	t->n_parts = w.parts->len;
	t->truncated = w.truncated;
	t->parts = (struct mailtext_part *)g_array_free(w.parts, t->n_parts == 0);
	*out = t;
	return TDK_OK;
}

void mailtext_free(struct mailtext *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_parts; i++) {
		g_free(t->parts[i].filename);
		g_free(t->parts[i].text);
	}
	g_free(t->parts);
	g_free(t);
}

char *mailtext_joined(const struct mailtext *t)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; t != NULL && i < t->n_parts; i++) {
		if (i > 0)
			g_string_append_c(s, '\n');
		g_string_append(s, t->parts[i].text);
	}
	return g_string_free(s, FALSE);
}
