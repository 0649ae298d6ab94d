/*
 * mailtext.c - the readable text of a captured mail (see mailtext.h).
 *
 * Functions: mailtext_extract() parses with GMime and walks the tree;
 * each text leaf goes through decode_text() (label, guess, lossy
 * fallback) and clean_text(); mailtext_free(), mailtext_joined().
 *
 * The charset chain follows the one casenum.c uses for Subjects (same
 * aliases, the same Outlook ISO-2022-JP fix-up), with one addition for
 * bodies: a lossy last resort, so that a long Shift_JIS text with one bad
 * byte keeps its Japanese instead of becoming a row of U+FFFD.
 */
#include "mailtext.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <gmime/gmime.h>

static const char replacement_char[] = "\xef\xbf\xbd"; /* U+FFFD */

/* ------------------------------------------------------------ bytes */

static bool is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* UTF-8 validity that lets NUL bytes through (clean_text replaces them). */
static bool utf8_valid(const char *s, size_t n)
{
	const char *end;

	while (n > 0) {
		if (g_utf8_validate_len(s, n, &end))
			return true;
		if (*end != '\0')
			return false;
		n -= (size_t)(end - s) + 1;
		s = end + 1;
	}
	return true;
}

/* -------------------------------------------------------- charsets */

enum cs_family {
	CS_UNKNOWN, /* no label */
	CS_ASCII,
	CS_UTF8,
	CS_ISO2022JP,
	CS_SJIS,
	CS_EUCJP,
	CS_OTHER
};

static bool label_in(const char *label, const char *const *names)
{
	for (; *names != NULL; names++)
		if (g_ascii_strcasecmp(label, *names) == 0)
			return true;
	return false;
}

static enum cs_family cs_classify(const char *label)
{
	static const char *const ascii[] = {
		"us-ascii", "ascii", "us", "ansi_x3.4-1968", NULL
	};
	static const char *const utf8[] = { "utf-8", "utf8", NULL };
	static const char *const jis[] = {
		"iso-2022-jp", "iso2022jp", "csiso2022jp", "iso-2022-jp-1",
		"iso-2022-jp-2", "iso-2022-jp-3", "iso-2022-jp-ms",
		"x-iso-2022-jp", "cp50220", "cp50221", "cp50222", NULL
	};
	static const char *const sjis[] = {
		"shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji",
		"csshiftjis", "windows-31j", "cswindows31j", "cp932", "ms932",
		"x-ms-cp932", "ibm-943", NULL
	};
	static const char *const eucjp[] = {
		"euc-jp", "eucjp", "x-euc-jp", "x-euc", "cseucpkdfmtjapanese",
		"euc-jp-ms", "eucjp-ms", "cp51932", NULL
	};

	if (label == NULL || label[0] == '\0')
		return CS_UNKNOWN;
	if (label_in(label, ascii))
		return CS_ASCII;
	if (label_in(label, utf8))
		return CS_UTF8;
	if (label_in(label, jis))
		return CS_ISO2022JP;
	if (label_in(label, sjis))
		return CS_SJIS;
	if (label_in(label, eucjp))
		return CS_EUCJP;
	return CS_OTHER;
}

/*
 * Other charsets mail really uses. Only these reach iconv: a hostile mail
 * naming obscure charsets would otherwise make glibc load converter
 * modules nobody needs.
 */
static bool label_is_common(const char *label)
{
	static const char *const families[] = {
		"iso-8859-", "windows-125", "cp125", NULL
	};
	static const char *const names[] = {
		"koi8-r", "koi8-u", "gb2312", "gbk", "gb18030", "big5",
		"big5-hkscs", "euc-kr", "ks_c_5601-1987", "cp949", "tis-620",
		"windows-874", "utf-16", "utf-16be", "utf-16le", "utf-7", NULL
	};

	for (const char *const *f = families; *f != NULL; f++) {
		size_t len = strlen(*f);
		const char *rest = label + len;

		if (g_ascii_strncasecmp(label, *f, len) != 0 || *rest == '\0' ||
		    strlen(rest) > 2)
			continue;
		while (g_ascii_isdigit(*rest))
			rest++;
		if (*rest == '\0')
			return true;
	}
	return label_in(label, names);
}

/*
 * One descriptor per Japanese charset held open for the life of the
 * process: glibc unloads a gconv module soon after its last descriptor is
 * closed, so mail in alternating charsets would load and unload modules
 * for nearly every part. They are never used for converting.
 */
static const char *const pinned_names[] = {
	"ISO-2022-JP", "CP932", "SHIFT_JIS", "EUC-JP", "EUC-JP-MS"
};
/* External linkage on purpose: leak checkers see them as reachable. */
GIConv mailtext_pinned_converters[G_N_ELEMENTS(pinned_names)];
extern GIConv mailtext_pinned_converters[G_N_ELEMENTS(pinned_names)];

static void pin_converters(void)
{
	static gsize pinned;

	if (g_once_init_enter(&pinned)) {
		for (size_t k = 0; k < G_N_ELEMENTS(pinned_names); k++)
			mailtext_pinned_converters[k] = g_iconv_open("UTF-8", pinned_names[k]);
		g_once_init_leave(&pinned, 1);
	}
}

/* Appends in converted from charset; false (out unchanged) if iconv does
 * not know charset or in is not valid in it. */
static bool conv_append(GString *out, const char *charset, const char *in,
			size_t n)
{
	gsize written = 0;
	char *utf8;

	if (n == 0)
		return true;
	utf8 = g_convert(in, (gssize)n, "UTF-8", charset, NULL, &written, NULL);
	if (utf8 == NULL)
		return false;
	g_string_append_len(out, utf8, (gssize)written);
	g_free(utf8);
	return true;
}

/*
 * Converts in from charset, replacing each byte iconv refuses by U+FFFD.
 * Returns the number of replacements, or SIZE_MAX (out unchanged) if
 * iconv does not know charset.
 */
static size_t lossy_append(GString *out, const char *charset, const char *in,
			   size_t n)
{
	GIConv cd = g_iconv_open("UTF-8", charset);
	char buf[4096];
	char *inp = (char *)in;
	gsize inleft = n;
	size_t bad = 0;

	if (cd == (GIConv)-1)
		return SIZE_MAX;
	while (inleft > 0) {
		char *outp = buf;
		gsize outleft = sizeof buf;
		gsize r = g_iconv(cd, &inp, &inleft, &outp, &outleft);
		int saved = errno;

		g_string_append_len(out, buf, outp - buf);
		if (r != (gsize)-1 || saved == E2BIG)
			continue;
		/* EILSEQ, or EINVAL for a sequence cut at the end */
		g_string_append(out, replacement_char);
		bad++;
		inp++;
		inleft--;
		g_iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
	}
	g_iconv_close(cd);
	return bad;
}

/*
 * The UTF-8 reading of in, each byte of an invalid sequence replaced by
 * U+FFFD (NUL bytes kept for clean_text); the number of replacements.
 * Not through iconv: glibc's UTF-8 decoder lets 5- and 6-byte sequences
 * through.
 */
static size_t lossy_utf8_append(GString *out, const char *in, size_t n)
{
	size_t bad = 0;

	while (n > 0) {
		const char *end;

		if (g_utf8_validate_len(in, n, &end)) {
			g_string_append_len(out, in, (gssize)n);
			break;
		}
		g_string_append_len(out, in, end - in);
		if (*end == '\0') {
			g_string_append_c(out, '\0');
		} else {
			g_string_append(out, replacement_char);
			bad++;
		}
		n -= (size_t)(end - in) + 1;
		in = end + 1;
	}
	return bad;
}

/*
 * ISO-2022-JP to Shift_JIS bytes, for the NEC and IBM extension rows that
 * Outlook writes in ISO-2022-JP (CP50220/CP50221) and glibc's ISO-2022-JP
 * refuses; the result is read as Windows-31J. Also takes JIS X 0201 kana
 * (ESC ( I, SO/SI). NULL for anything else.
 */
static GString *jis_to_sjis(const char *in, size_t n)
{
	enum { M_ASCII, M_KANJI, M_KANA } mode = M_ASCII;
	GString *s = g_string_sized_new(n);
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)in[i];

		if (c == 0x1b) {
			char a = i + 1 < n ? in[i + 1] : 0;
			char b = i + 2 < n ? in[i + 2] : 0;

			if (a == '$' && (b == 'B' || b == '@'))
				mode = M_KANJI;
			else if (a == '(' && (b == 'B' || b == 'J'))
				mode = M_ASCII;
			else if (a == '(' && b == 'I')
				mode = M_KANA;
			else
				goto fail;
			i += 3;
		} else if (c == 0x0e || c == 0x0f) {
			mode = c == 0x0e ? M_KANA : M_ASCII;
			i++;
		} else if (c >= 0x80) {
			goto fail;
		} else if (mode == M_KANJI && c >= 0x21 && c <= 0x7e) {
			unsigned char c2 = i + 1 < n ? (unsigned char)in[i + 1] : 0;

			if (c2 < 0x21 || c2 > 0x7e)
				goto fail;
			g_string_append_c(s, (char)(((c + 1) >> 1) +
						    (c <= 0x5e ? 0x70 : 0xb0)));
			g_string_append_c(s, (char)(c2 + ((c & 1) ?
						    (c2 >= 0x60 ? 0x20 : 0x1f) :
						    0x7e)));
			i += 2;
		} else if (mode == M_KANA && c >= 0x21 && c <= 0x5f) {
			g_string_append_c(s, (char)(c + 0x80));
			i++;
		} else {
			if (mode == M_KANJI && (c == '\n' || c == '\r'))
				mode = M_ASCII; /* a line never stays in kanji */
			g_string_append_c(s, (char)c);
			i++;
		}
	}
	return s;
fail:
	g_string_free(s, TRUE);
	return NULL;
}

static bool iso2022jp_append(GString *out, const char *in, size_t n)
{
	GString *sjis;
	bool ok;

	if (!is_ascii(in, n))
		return false;
	if (conv_append(out, "ISO-2022-JP", in, n))
		return true;
	if ((sjis = jis_to_sjis(in, n)) == NULL)
		return false;
	ok = conv_append(out, "CP932", sjis->str, sjis->len);
	g_string_free(sjis, TRUE);
	return ok;
}

static bool sjis_append(GString *out, const char *in, size_t n)
{
	return conv_append(out, "CP932", in, n) ||
	       conv_append(out, "SHIFT_JIS", in, n);
}

static bool eucjp_append(GString *out, const char *in, size_t n)
{
	return conv_append(out, "EUC-JP", in, n) ||
	       conv_append(out, "EUC-JP-MS", in, n);
}

/* Characters that betray a wrong guess: half-width katakana, private
 * use, C1 controls. */
static size_t odd_chars(const GString *s)
{
	size_t count = 0;

	for (const char *p = s->str; p < s->str + s->len; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if ((c >= 0xff61 && c <= 0xff9f) || (c >= 0xe000 && c <= 0xf8ff) ||
		    (c >= 0x80 && c <= 0x9f))
			count++;
	}
	return count;
}

/* The lossy last resort: the reading with the fewest replacements. */
static void decode_lossy(GString *out, const char *label, const char *in,
			 size_t n)
{
	const char *candidates[4];
	size_t n_cand = 0, best_bad = SIZE_MAX;
	GString *best = NULL;

	switch (cs_classify(label)) {
	case CS_ISO2022JP:
		candidates[n_cand++] = "ISO-2022-JP";
		break;
	case CS_OTHER:
		if (label_is_common(label))
			candidates[n_cand++] = label;
		break;
	default:
		break;
	}
	candidates[n_cand++] = "UTF-8";
	candidates[n_cand++] = "CP932";
	candidates[n_cand++] = "EUC-JP";
	for (size_t k = 0; k < n_cand && best_bad > 0; k++) {
		GString *s = g_string_sized_new(n + n / 2);
		size_t bad = strcmp(candidates[k], "UTF-8") == 0
			? lossy_utf8_append(s, in, n)
			: lossy_append(s, candidates[k], in, n);

		if (bad < best_bad) {
			if (best != NULL)
				g_string_free(best, TRUE);
			best = s;
			best_bad = bad;
		} else {
			g_string_free(s, TRUE);
		}
	}
	/* the UTF-8 candidate always gives a reading */
	g_string_append_len(out, best->str, (gssize)best->len);
	g_string_free(best, TRUE);
}

/* Bytes of unknown charset: ESC -> ISO-2022-JP, UTF-8, Shift_JIS/EUC-JP. */
static bool decode_guess(GString *out, const char *in, size_t n)
{
	GString *sjis, *euc;
	bool sjis_ok, euc_ok, done = true;

	if (memchr(in, 0x1b, n) != NULL && iso2022jp_append(out, in, n))
		return true;
	if (utf8_valid(in, n)) {
		g_string_append_len(out, in, (gssize)n);
		return true;
	}
	sjis = g_string_new(NULL);
	euc = g_string_new(NULL);
	sjis_ok = sjis_append(sjis, in, n);
	/* a clean Shift_JIS reading cannot lose: ties go to Shift_JIS */
	euc_ok = !(sjis_ok && odd_chars(sjis) == 0) && eucjp_append(euc, in, n);
	if (sjis_ok && (!euc_ok || odd_chars(sjis) <= odd_chars(euc)))
		g_string_append_len(out, sjis->str, (gssize)sjis->len);
	else if (euc_ok)
		g_string_append_len(out, euc->str, (gssize)euc->len);
	else
		done = false;
	g_string_free(sjis, TRUE);
	g_string_free(euc, TRUE);
	return done;
}

/* Converts n bytes labelled charset (may be NULL) to UTF-8; never fails. */
static void decode_text(GString *out, const char *label, const char *in,
			size_t n)
{
	if (n == 0)
		return;
	pin_converters();
	switch (cs_classify(label)) {
	case CS_ASCII:
	case CS_UTF8:
		if (memchr(in, 0x1b, n) == NULL && utf8_valid(in, n)) {
			g_string_append_len(out, in, (gssize)n);
			return;
		}
		break;
	case CS_ISO2022JP:
		if (iso2022jp_append(out, in, n))
			return;
		break;
	case CS_SJIS:
		if (sjis_append(out, in, n))
			return;
		break;
	case CS_EUCJP:
		if (eucjp_append(out, in, n))
			return;
		break;
	case CS_OTHER:
		if (label_is_common(label) && conv_append(out, label, in, n))
			return;
		break;
	case CS_UNKNOWN:
		break;
	}
	if (!decode_guess(out, in, n))
		decode_lossy(out, label, in, n);
}

/* Converts to UTF-8 and makes sure of the result: iconv's output for the
 * less common charsets is not trusted to be valid. */
static GString *decode_valid(const char *label, const char *in, size_t n)
{
	GString *out = g_string_sized_new(n + n / 2), *valid;

	decode_text(out, label, in, n);
	if (utf8_valid(out->str, out->len))
		return out;
	valid = g_string_sized_new(out->len);
	lossy_utf8_append(valid, out->str, out->len);
	g_string_free(out, TRUE);
	return valid;
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

/* Decoded content of a leaf (transfer encoding undone). */
static GByteArray *part_bytes(GMimePart *part)
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
	if ((bytes = part_bytes(part)) == NULL)
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
