/*
 * mailcmd.c - reading a staff command mail: the signature's verdict, the
 * signed text, its command lines (see mailcmd.h).
 *
 * Steps of mailcmd_read: check_signature (the spool's signature results
 * against staff.keys and the time window), mailcmd_signed_text (the MIME
 * walk that finds the one signed text), the default case, then each
 * command line through the command parser and the role check.
 */
#define _GNU_SOURCE /* memmem */
#include "mailcmd.h"

#include <gmime/gmime.h>
#include <string.h>

#include "mailtext.h"

#define WALK_DEPTH_MAX 32
#define WALK_PARTS_MAX 1000

static const char begin_signed[] = "-----BEGIN PGP SIGNED MESSAGE-----";
static const char begin_signature[] = "-----BEGIN PGP SIGNATURE-----";
static const char begin_message[] = "-----BEGIN PGP MESSAGE-----";

const char *mailcmd_auth_name(enum mailcmd_auth a)
{
	switch (a) {
	case MAILCMD_AUTH_OK: return "ok";
	case MAILCMD_AUTH_UNCHECKED: return "unchecked";
	case MAILCMD_AUTH_UNSIGNED: return "unsigned";
	case MAILCMD_AUTH_MANY: return "many";
	case MAILCMD_AUTH_BAD: return "bad";
	case MAILCMD_AUTH_KEY: return "key";
	case MAILCMD_AUTH_NOT_STAFF: return "not-staff";
	case MAILCMD_AUTH_TIME: return "time";
	case MAILCMD_AUTH_FORM: return "form";
	case MAILCMD_AUTH_NO_ID: return "no-message-id";
	case MAILCMD_AUTH_REPLAY: return "replay";
	}
	return "?";
}

/* ------------------------------------------------------------ text */

/* Appends line[0..len) without trailing blanks and CR, and a LF. */
static void append_line(GString *out, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
			   line[len - 1] == '\r'))
		len--;
	g_string_append_len(out, line, (gssize)len);
	g_string_append_c(out, '\n');
}

/* Text with every line's trailing blanks removed and LF line ends. */
static char *normalise(const char *text, size_t len)
{
	GString *out = g_string_sized_new(len + 1);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;

		append_line(out, p, (size_t)(stop - p));
		p = nl != NULL ? nl + 1 : end;
	}
	return g_string_free(out, FALSE);
}

/*
 * The text of the first clearsigned block at block (which starts with
 * its BEGIN line), as gpg reads it; NULL and *why when gpg could read it
 * differently or not at all.
 */
static char *clearsigned_text(const char *block, size_t len, const char **why)
{
	const char *p = block, *end = block + len;
	GString *out = g_string_new(NULL);
	bool in_header = true, first = true, ended = false;

	while (p < end && !ended) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		size_t n = (size_t)(stop - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (first) {
			first = false;
		} else if (in_header) {
			bool blank = true;

			for (size_t i = 0; i < n; i++)
				blank = blank && (p[i] == ' ' || p[i] == '\t');
			if (blank)
				in_header = false;
			else if (n < 5 || g_ascii_strncasecmp(p, "Hash:", 5) != 0) {
				*why = "a clearsigned block with an armor header other than Hash";
				goto fail;
			}
		} else if (n >= 2 && p[0] == '-' && p[1] == ' ') {
			append_line(out, p + 2, n - 2);
		} else if (n >= 5 && strncmp(p, "-----", 5) == 0) {
			if (n < sizeof begin_signature - 1 ||
			    strncmp(p, begin_signature, sizeof begin_signature - 1) != 0) {
				*why = "a clearsigned block with a line starting \"-----\" in its text";
				goto fail;
			}
			ended = true;
		} else {
			append_line(out, p, n);
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (!ended) {
		*why = "a clearsigned block without its signature";
		goto fail;
	}
	/* The line end before the signature is not signed text. */
	if (out->len > 0)
		g_string_truncate(out, out->len - 1);
	return g_string_free(out, FALSE);
fail:
	g_string_free(out, TRUE);
	return NULL;
}

/* ------------------------------------------------------------ the walk */

struct region {
	char *text;
	char *subject;      /* raw Subject covered by the signature, or NULL */
	const char *form;
};

struct finder {
	GPtrArray *regions; /* of struct region */
	size_t parts;
	const char *problem;
};

static void region_free(gpointer data)
{
	struct region *r = data;

	g_free(r->text);
	g_free(r->subject);
	g_free(r);
}

static void add_region(struct finder *f, char *text, char *subject,
		       const char *form)
{
	struct region *r = g_new0(struct region, 1);

	r->text = text;
	r->subject = subject;
	r->form = form;
	g_ptr_array_add(f->regions, r);
}

static char *raw_subject(GMimeObject *object)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(object);
	GMimeHeader *h = list != NULL ? g_mime_header_list_get_header(list, "Subject")
				      : NULL;
	const char *raw = h != NULL ? g_mime_header_get_raw_value(h) : NULL;

	return raw != NULL ? g_strdup(raw) : NULL;
}

/* The text/plain parts of a MIME entity's bytes that are not attachments,
 * joined and normalised; NULL (with f->problem) when too long. */
static char *entity_text(struct finder *f, GBytes *bytes)
{
	struct mailtext *mt = NULL;
	GString *joined = g_string_new(NULL);
	char *text = NULL;

	if (mailtext_extract(bytes, MAILCMD_TEXT_MAX, &mt, NULL) != TDK_OK) {
		f->problem = "the signed part cannot be read";
	} else if (mt->truncated) {
		f->problem = "the signed text is longer than the command mail limit";
	} else {
		for (size_t i = 0; i < mt->n_parts; i++) {
			if (mt->parts[i].attachment)
				continue;
			if (joined->len > 0)
				g_string_append_c(joined, '\n');
			g_string_append(joined, mt->parts[i].text);
		}
		text = normalise(joined->str, joined->len);
	}
	mailtext_free(mt);
	g_string_free(joined, TRUE);
	return text;
}

/* The bytes of a MIME object as GMime writes it (what the milter verified). */
static GBytes *object_bytes(GMimeObject *object)
{
	GByteArray *bytes = g_byte_array_new();
	GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_object_write_to_stream(object, NULL, mem);
	g_mime_stream_flush(mem);
	g_object_unref(mem);
	return g_byte_array_free_to_bytes(bytes);
}

static void walk(struct finder *f, GMimeObject *object, size_t depth);

static void walk_signed(struct finder *f, GMimeMultipart *mp, size_t depth)
{
	GMimeObject *content, *signature;

	if (g_mime_multipart_get_count(mp) < 2)
		return;
	content = g_mime_multipart_get_part(mp, GMIME_MULTIPART_SIGNED_CONTENT);
	signature = g_mime_multipart_get_part(mp, GMIME_MULTIPART_SIGNED_SIGNATURE);
	if (GMIME_IS_PART(signature)) {
		GBytes *bytes = object_bytes(content);
		char *text = entity_text(f, bytes);

		g_bytes_unref(bytes);
		if (text != NULL)
			add_region(f, text, raw_subject(content), "PGP/MIME");
	}
	walk(f, content, depth + 1);
}

/* The decoded text of a text leaf, the way the milter gave it to gpg. */
static GBytes *leaf_text(GMimePart *part)
{
	const char *charset = g_mime_text_part_get_charset(GMIME_TEXT_PART(part));

	if (charset == NULL || g_ascii_strcasecmp(charset, "utf-8") == 0 ||
	    g_ascii_strcasecmp(charset, "us-ascii") == 0) {
		GMimeDataWrapper *content = g_mime_part_get_content(part);
		GByteArray *bytes;
		GMimeStream *mem;

		if (content == NULL)
			return NULL;
		bytes = g_byte_array_new();
		mem = g_mime_stream_mem_new_with_byte_array(bytes);
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
		g_mime_data_wrapper_write_to_stream(content, mem);
		g_object_unref(mem);
		return g_byte_array_free_to_bytes(bytes);
	} else {
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));

		return text != NULL ? g_bytes_new_take(text, strlen(text)) : NULL;
	}
}

static void walk_leaf(struct finder *f, GMimePart *part)
{
	GMimeContentType *type = g_mime_object_get_content_type(GMIME_OBJECT(part));
	GBytes *bytes;
	const char *data, *block;
	gsize len;

	if (!g_mime_content_type_is_type(type, "text", "*") ||
	    g_mime_content_type_is_type(type, "text", "html") ||
	    !GMIME_IS_TEXT_PART(part))
		return;
	bytes = leaf_text(part);
	if (bytes == NULL)
		return;
	data = g_bytes_get_data(bytes, &len);
	if (data == NULL || len == 0) {
		g_bytes_unref(bytes);
		return;
	}
	if (memmem(data, len, begin_message, sizeof begin_message - 1) != NULL) {
		f->problem = "an inline PGP message (use PGP/MIME, or clearsign the commands)";
	} else if ((block = memmem(data, len, begin_signed, sizeof begin_signed - 1)) != NULL) {
		size_t rest = len - (size_t)(block - data);
		const char *why = NULL;
		char *text = NULL;

		if (memmem(block + 1, rest - 1, begin_signed, sizeof begin_signed - 1) != NULL)
			f->problem = "two clearsigned blocks in one part";
		else if (memchr(block, '\0', rest) != NULL)
			f->problem = "a NUL byte in the clearsigned text";
		else if ((text = clearsigned_text(block, rest, &why)) == NULL)
			f->problem = why;
		else
			add_region(f, text, NULL, "clearsigned");
	}
	g_bytes_unref(bytes);
}

static void walk(struct finder *f, GMimeObject *object, size_t depth)
{
	if (object == NULL || f->problem != NULL)
		return;
	if (depth > WALK_DEPTH_MAX || ++f->parts > WALK_PARTS_MAX) {
		f->problem = "the mail nests too deeply or has too many parts";
		return;
	}
	if (GMIME_IS_MULTIPART_ENCRYPTED(object)) {
		f->problem = "an encrypted part inside the mail (encrypt the whole mail)";
	} else if (GMIME_IS_MULTIPART_SIGNED(object)) {
		walk_signed(f, GMIME_MULTIPART(object), depth);
	} else if (GMIME_IS_MULTIPART(object)) {
		GMimeMultipart *mp = GMIME_MULTIPART(object);

		for (int i = 0; i < g_mime_multipart_get_count(mp) && f->problem == NULL; i++)
			walk(f, g_mime_multipart_get_part(mp, i), depth + 1);
	} else if (GMIME_IS_PART(object)) {
		walk_leaf(f, GMIME_PART(object));
	}
	/* Attached messages are not read: the milter checks nothing in them. */
}

static GMimeObject *parse_bytes(GBytes *bytes, bool message)
{
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data != NULL ? data : "",
								 data != NULL ? len : 0);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeObject *object;

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	if (message) {
		GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);

		object = m != NULL ? GMIME_OBJECT(m) : NULL;
	} else {
		object = g_mime_parser_construct_part(parser, NULL);
	}
	g_object_unref(parser);
	g_object_unref(stream);
	return object;
}

/* Walks the decrypted content of an encrypted mail. */
static int encrypted_text(const struct spool_entry *e, bool inside_encryption,
			  struct finder *f, char **text, const char **form,
			  char **subject, tdk_err *err)
{
	GMimeObject *inner;

	if (e->decrypted == NULL)
		return tdk_err_set(err, TDK_EINVAL, "the mail was not decrypted");
	inner = parse_bytes(e->decrypted, false);
	if (inner == NULL)
		return tdk_err_set(err, TDK_EINVAL, "the decrypted content cannot be read");
	walk(f, inner, 2);
	if (f->problem == NULL && f->regions->len == 0) {
		if (!inside_encryption) {
			f->problem = "the signature is not on the encrypted content";
		} else {
			*text = entity_text(f, e->decrypted);
			*subject = raw_subject(inner);
			*form = "encrypted and signed";
		}
	}
	g_object_unref(inner);
	return TDK_OK;
}

int mailcmd_signed_text(const struct spool_entry *e, bool inside_encryption,
			char **text, const char **form, char **subject,
			tdk_err *err)
{
	struct finder f = { .regions = g_ptr_array_new_with_free_func(region_free) };
	GMimeObject *message = NULL, *root;
	int rc = TDK_OK;

	*text = NULL;
	*form = NULL;
	*subject = NULL;
	if (e->original == NULL)
		return tdk_err_set(err, TDK_EINVAL, "the mail is missing");
	message = parse_bytes(e->original, true);
	root = message != NULL ? g_mime_message_get_mime_part(GMIME_MESSAGE(message)) : NULL;
	if (root == NULL) {
		rc = tdk_err_set(err, TDK_EINVAL, "the mail cannot be read");
	} else if (GMIME_IS_MULTIPART_ENCRYPTED(root)) {
		rc = encrypted_text(e, inside_encryption, &f, text, form, subject, err);
	} else if (inside_encryption) {
		rc = tdk_err_set(err, TDK_EINVAL,
				 "the signature is inside an encrypted part that is not the whole mail");
	} else {
		walk(&f, root, 1);
	}
	if (rc == TDK_OK && f.problem == NULL && *text == NULL) {
		if (f.regions->len == 1) {
			struct region *r = g_ptr_array_index(f.regions, 0);

			*text = g_steal_pointer(&r->text);
			*subject = g_steal_pointer(&r->subject);
			*form = r->form;
		} else if (f.regions->len == 0) {
			f.problem = "no signed text in the mail";
		} else {
			f.problem = "more than one signed part in the mail";
		}
	}
	if (rc == TDK_OK && f.problem != NULL) {
		g_clear_pointer(text, g_free);
		g_clear_pointer(subject, g_free);
		*form = NULL;
		rc = tdk_err_set(err, TDK_EINVAL, "%s", f.problem);
	}
	g_ptr_array_free(f.regions, TRUE);
	if (message != NULL)
		g_object_unref(message);
	return rc;
}

/* ------------------------------------------------------------ lines */

/* "--" alone, or a line whose first word is a stop word ("Thanks!",
 * "thank you", "quit."): no command verb is one. */
static bool is_stop_line(const char *line)
{
	static const char *const words[] = { "thanks", "thank", "thankyou", "quit",
					     "stop", NULL };
	size_t n = 0;

	while (*line == ' ' || *line == '\t')
		line++;
	if (strcmp(line, "--") == 0)
		return true;
	while (g_ascii_isalpha(line[n]))
		n++;
	if (n == 0 || g_ascii_isalnum(line[n]) || line[n] == '#')
		return false;
	for (const char *const *w = words; *w != NULL; w++)
		if (strlen(*w) == n && g_ascii_strncasecmp(line, *w, n) == 0)
			return true;
	return false;
}

char **mailcmd_command_lines(const char *text, size_t **linenos, bool *stopped)
{
	GPtrArray *lines = g_ptr_array_new();
	GArray *numbers = g_array_new(FALSE, FALSE, sizeof(size_t));
	const char *p = text;
	size_t lineno = 0;

	*stopped = false;
	if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (*p != '\0' && !*stopped) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		g_autofree char *line = NULL;
		const char *first;

		lineno++;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
				   p[len - 1] == '\r'))
			len--;
		line = g_strndup(p, len);
		p = nl != NULL ? nl + 1 : p + strlen(p);
		for (first = line; *first == ' ' || *first == '\t'; first++)
			;
		if (*first == '\0' || *first == '#' || *first == '>')
			continue;
		if (is_stop_line(line)) {
			*stopped = true;
			break;
		}
		g_ptr_array_add(lines, g_steal_pointer(&line));
		g_array_append_val(numbers, lineno);
	}
	g_ptr_array_add(lines, NULL);
	*linenos = (size_t *)(void *)g_array_free(numbers, FALSE);
	return (char **)g_ptr_array_free(lines, FALSE);
}

/* The token at p (up to a blank), its length in *len; p after blanks. */
static const char *token(const char *p, size_t *len)
{
	while (*p == ' ' || *p == '\t')
		p++;
	*len = strcspn(p, " \t");
	return p;
}

char *mailcmd_with_case(const char *line, const char *default_case,
			const struct casenum_format *fmt)
{
	size_t vlen, nlen, plen = strlen(fmt->prefix);
	const char *verb = token(line, &vlen);
	const char *next = token(verb + vlen, &nlen);
	g_autofree char *v = g_strndup(verb, vlen);
	enum cmd_verb parsed;

	if (default_case == NULL || vlen == 0 ||
	    command_verb_from_name(v, &parsed) != TDK_OK)
		return NULL;
	if (nlen > 0 && *next == '"') {
		next++;
		nlen--;
	}
	if (nlen >= plen && g_ascii_strncasecmp(next, fmt->prefix, plen) == 0)
		return NULL;
	return g_strdup_printf("%.*s %s%s%s", (int)(verb + vlen - line), line,
			       default_case, *(verb + vlen) != '\0' ? " " : "",
			       *(verb + vlen) != '\0' ? verb + vlen + 1 : "");
}

/* ------------------------------------------------------------ signature */

void mailcmd_replay_key(const char *fingerprint, int64_t created,
			const char *text, uint8_t out[32])
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree char *fpr = g_ascii_strup(fingerprint, -1);
	g_autofree char *when = g_strdup_printf("%" G_GINT64_FORMAT, created);
	gsize n = 32;

	g_checksum_update(sum, (const guchar *)"todoke command signature\n", -1);
	g_checksum_update(sum, (const guchar *)fpr, -1);
	g_checksum_update(sum, (const guchar *)"\n", 1);
	g_checksum_update(sum, (const guchar *)when, -1);
	g_checksum_update(sum, (const guchar *)"\n", 1);
	g_checksum_update(sum, (const guchar *)text, -1);
	g_checksum_get_digest(sum, out, &n);
	g_checksum_free(sum);
}

static int refuse(struct mailcmd *m, enum mailcmd_auth auth, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static int refuse(struct mailcmd *m, enum mailcmd_auth auth, const char *fmt, ...)
{
	va_list ap;

	m->auth = auth;
	va_start(ap, fmt);
	g_free(m->reason);
	m->reason = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return TDK_OK;
}

static const char *state_problem(enum spool_sig state)
{
	switch (state) {
	case SPOOL_SIG_GOOD: return NULL;
	case SPOOL_SIG_BAD: return "bad signature: the signed text was changed after signing";
	case SPOOL_SIG_UNKNOWN_KEY: return "signed with a key the desk does not have";
	case SPOOL_SIG_EXPIRED_KEY: return "signed with an expired key";
	case SPOOL_SIG_REVOKED_KEY: return "signed with a revoked key";
	case SPOOL_SIG_ERROR: break;
	}
	return "the signature could not be checked";
}

/* Everything about the one signature except the text it covers. */
static int check_signature(const struct mailcmd_policy *p,
			   const struct spool_entry *e, int64_t now,
			   struct mailcmd *m)
{
	const struct tdk_config *c = p->config;
	const struct spool_signature *s;

	for (size_t i = 0; i < e->n_signatures && m->signer == NULL; i++)
		m->signer = conf_staff_find(c, e->signatures[i].fingerprint);
	if (e->crypto == SPOOL_DECRYPT_FAILED || e->crypto == SPOOL_DECRYPT_DEFERRED)
		return refuse(m, MAILCMD_AUTH_UNCHECKED,
			      "the mail's OpenPGP content could not be %s at intake (%s)",
			      e->crypto == SPOOL_DECRYPT_FAILED ? "decrypted" : "checked",
			      e->crypto_detail != NULL ? e->crypto_detail : "no detail");
	if (e->n_signatures == 0)
		return refuse(m, MAILCMD_AUTH_UNSIGNED, "the mail is not signed");
	if (e->n_signatures > 1)
		return refuse(m, MAILCMD_AUTH_MANY,
			      "the mail has %zu signatures; a command mail must have exactly one",
			      e->n_signatures);
	s = &e->signatures[0];
	m->fingerprint = g_strdup(s->fingerprint);
	m->signed_at = s->created;
	if (state_problem(s->state) != NULL)
		return refuse(m, s->state == SPOOL_SIG_BAD ? MAILCMD_AUTH_BAD : MAILCMD_AUTH_KEY,
			      "%s (key %s)", state_problem(s->state),
			      s->fingerprint != NULL ? s->fingerprint : "unknown");
	if (m->signer == NULL)
		return refuse(m, MAILCMD_AUTH_NOT_STAFF, "key %s is not a staff key",
			      s->fingerprint != NULL ? s->fingerprint : "unknown");
	if (s->created == 0)
		return refuse(m, MAILCMD_AUTH_TIME, "the signature has no creation time");
	if (s->created < now - c->staff_window_past)
		return refuse(m, MAILCMD_AUTH_TIME,
			      "the signature was made %" G_GINT64_FORMAT " seconds before "
			      "the desk read the mail; at most %lld are accepted "
			      "(staff.signature_window_past)",
			      now - s->created, c->staff_window_past);
	if (s->created > now + c->staff_window_future)
		return refuse(m, MAILCMD_AUTH_TIME,
			      "the signature was made %" G_GINT64_FORMAT " seconds after "
			      "the desk read the mail; at most %lld are accepted "
			      "(staff.signature_window_future)",
			      s->created - now, c->staff_window_future);
	return TDK_OK;
}

/* The default case: from a signed Subject, or any with subject_case "any". */
static void default_case(const struct mailcmd_policy *p,
			 const struct spool_entry *e, const char *subject,
			 struct mailcmd *m)
{
	struct casenum_subject parsed = { 0 };

	if (subject != NULL &&
	    casenum_parse_subject(&p->format, subject, &parsed) == TDK_OK &&
	    parsed.case_number != NULL)
		m->default_case = g_strdup(parsed.case_number);
	casenum_subject_clear(&parsed);
	if (m->default_case != NULL || e->case_subject == NULL)
		return;
	if (strcmp(p->config->staff_subject_case, "any") == 0)
		m->default_case = g_strdup(e->case_subject);
	else
		m->unsigned_case = g_strdup(e->case_subject);
}

/* ------------------------------------------------------------ commands */

static void line_error(struct mailcmd *m, struct mailcmd_line *l, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static void line_error(struct mailcmd *m, struct mailcmd_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	l->error = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	m->n_errors++;
}

static void parse_one(const struct mailcmd_policy *p, struct mailcmd *m,
		      struct mailcmd_line *l)
{
	const char *line = l->effective != NULL ? l->effective : l->text;
	tdk_err err;

	if (m->default_case == NULL && m->unsigned_case != NULL) {
		g_autofree char *would = mailcmd_with_case(l->text, m->unsigned_case,
							   &p->format);

		if (would != NULL) {
			line_error(m, l, "no case number: the Subject's %s is not covered "
				   "by the signature, so it is not taken (write the case "
				   "number in the command, or sign the Subject: "
				   "staff.subject_case)", m->unsigned_case);
			return;
		}
	}
	if (command_parse(line, &p->format, p->rules, &l->cmd, &err) != TDK_OK) {
		line_error(m, l, "%s", err.text);
		return;
	}
	if (conf_staff_lead_only(p->config, command_verb_name(l->cmd->verb)) &&
	    m->signer->role != TDK_STAFF_ROLE_LEAD)
		line_error(m, l, "%s: only the lead role may use it; key %s has the "
			   "role staff (staff.lead_only)",
			   command_verb_name(l->cmd->verb), m->signer->fingerprint);
}

static void read_commands(const struct mailcmd_policy *p, struct mailcmd *m)
{
	size_t *linenos = NULL;
	bool stopped;
	char **lines = mailcmd_command_lines(m->text, &linenos, &stopped);
	size_t n = g_strv_length(lines);

	m->lines = g_new0(struct mailcmd_line, n > 0 ? n : 1);
	for (size_t i = 0; i < n; i++) {
		struct mailcmd_line *l = &m->lines[m->n_lines++];

		l->lineno = linenos[i];
		l->text = g_strdup(lines[i]);
		if (m->n_lines > MAILCMD_LINES_MAX) {
			line_error(m, l, "more than %d commands in one mail", MAILCMD_LINES_MAX);
			break;
		}
		l->effective = mailcmd_with_case(l->text, m->default_case, &p->format);
		parse_one(p, m, l);
	}
	g_strfreev(lines);
	g_free(linenos);
}

int mailcmd_read(const struct mailcmd_policy *p, const struct spool_entry *e,
		 int64_t now, struct mailcmd **out, tdk_err *err)
{
	struct mailcmd *m;
	g_autofree char *subject = NULL;
	tdk_err why;

	*out = NULL;
	if (e == NULL || e->classification != SPOOL_COMMAND || e->original == NULL)
		return tdk_err_set(err, TDK_EINVAL, "not a command mail");
	m = g_new0(struct mailcmd, 1);
	m->message_id = e->message_id != NULL && *e->message_id != '\0'
				? g_strdup(e->message_id) : NULL;
	check_signature(p, e, now, m);
	if (m->auth == MAILCMD_AUTH_OK &&
	    mailcmd_signed_text(e, e->signatures[0].inside_encryption, &m->text,
				&m->form, &subject, &why) != TDK_OK)
		refuse(m, MAILCMD_AUTH_FORM, "%s", why.text);
	if (m->auth == MAILCMD_AUTH_OK && m->message_id == NULL)
		refuse(m, MAILCMD_AUTH_NO_ID, "the mail has no Message-ID");
	if (m->auth == MAILCMD_AUTH_OK) {
		mailcmd_replay_key(m->fingerprint, m->signed_at, m->text, m->replay_key);
		default_case(p, e, subject, m);
		read_commands(p, m);
	}
	*out = m;
	return TDK_OK;
}

void mailcmd_free(struct mailcmd *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_lines; i++) {
		g_free(m->lines[i].text);
		g_free(m->lines[i].effective);
		command_free(m->lines[i].cmd);
		g_free(m->lines[i].error);
	}
	g_free(m->lines);
	g_free(m->reason);
	g_free(m->fingerprint);
	g_free(m->message_id);
	g_free(m->default_case);
	g_free(m->unsigned_case);
	g_free(m->text);
	g_free(m);
}
