/*
 * intake.c - one desk mail in, one intake spool entry out.
 *
 * Steps: cap the size and the header section, strip X-Todoke-* headers,
 * parse with GMime, walk the MIME tree (capping depth and parts,
 * decrypting PGP/MIME and inline PGP, verifying signatures, reading text
 * for 取扱番号 lines and DSNs for the failed recipient), then classify.
 * Every result is data on the entry; only caps refuse a mail.
 */
#define _GNU_SOURCE /* memmem */
#include "intake.h"
#include "conf.h"

#include <gmime/gmime.h>
#include <string.h>
#include <strings.h>

#define MAX_CRYPTO_OPS 4           /* decryptions/verifications at SMTP time */
#define MAX_TEXT_SCAN (1u << 20)   /* bytes of one text part searched */
#define MAX_SIGNATURES 8

/* What the MIME walk gathers. */
struct walk {
	const struct intake_config *cfg;
	struct pgp *pgp;
	size_t parts;
	bool over_limit;
	struct intake_result *result;
	int crypto_ops;
	enum spool_crypto crypto;
	char *crypto_detail;
	struct spool_signature sigs[MAX_SIGNATURES];
	size_t n_sigs;
	GBytes *decrypted;
	char *inner_subject_raw;   /* protected Subject of the decrypted part */
	char *body_case;
	bool is_dsn;
	char *dsn_recipient;
	bool count_only;           /* inside an attached message: caps only */
};

bool intake_is_trust_header(const char *name)
{
	return g_ascii_strncasecmp(name, "X-Todoke-", 9) == 0;
}

/* ------------------------------------------------------------ addresses */

/* Removes RFC 5321 quoting from a local part in place: "a\\"b" -> a"b. */
static void unquote_local_part(char *local)
{
	size_t len = strlen(local), out = 0;

	if (len < 2 || local[0] != '"' || local[len - 1] != '"')
		return;
	for (size_t i = 1; i + 1 < len; i++) {
		if (local[i] == '\\' && i + 2 < len)
			i++;
		local[out++] = local[i];
	}
	local[out] = '\0';
}

/*
 * Splits "<Local+ext@Domain.>" into the lower-case local part (unquoted,
 * without the extension), the extension and the domain (without a
 * trailing dot), so that every spelling of a desk address matches.
 */
static bool split_address(const char *address, char **local, char **ext,
			  char **domain)
{
	g_autofree char *bare = g_strstrip(g_strdup(address));
	size_t len = strlen(bare);
	char *at, *plus, *dom;
	size_t dom_len;

	if (len >= 2 && bare[0] == '<' && bare[len - 1] == '>') {
		bare[len - 1] = '\0';
		memmove(bare, bare + 1, len - 1);
	}
	at = strrchr(bare, '@');
	if (at == NULL || at == bare || at[1] == '\0')
		return false;
	*at = '\0';
	dom = at + 1;
	dom_len = strlen(dom);
	if (dom_len > 1 && dom[dom_len - 1] == '.')
		dom[dom_len - 1] = '\0';
	unquote_local_part(bare);
	plus = strchr(bare, '+');
	if (plus != NULL)
		*plus = '\0';
	*local = g_ascii_strdown(bare, -1);
	*ext = plus != NULL ? g_strdup(plus + 1) : NULL;
	*domain = g_ascii_strdown(dom, -1);
	return true;
}

static bool same_address(const char *desk, const char *local,
			 const char *domain)
{
	g_autofree char *d_local = NULL, *d_ext = NULL, *d_domain = NULL;

	if (desk == NULL || *desk == '\0' ||
	    !split_address(desk, &d_local, &d_ext, &d_domain))
		return false;
	return strcmp(d_local, local) == 0 && strcmp(d_domain, domain) == 0;
}

unsigned intake_desk_role(const struct intake_config *cfg, const char *rcpt,
			  char **token)
{
	g_autofree char *local = NULL, *ext = NULL, *domain = NULL;
	unsigned role = DESK_NONE;

	if (token != NULL)
		*token = NULL;
	if (rcpt == NULL || !split_address(rcpt, &local, &ext, &domain))
		return DESK_NONE;
	if (same_address(cfg->report_address, local, domain))
		role |= DESK_REPORT;
	if (same_address(cfg->contact_address, local, domain))
		role |= DESK_CONTACT;
	if (same_address(cfg->control_address, local, domain))
		role |= DESK_CONTROL;
	if (same_address(cfg->bounce_address, local, domain)) {
		role |= DESK_BOUNCE;
		if (token != NULL && ext != NULL)
			*token = g_strdup(ext);
	}
	return role;
}

/* --------------------------------------------------------- raw headers */

/* Length of the header section (up to and including the blank line). */
static size_t header_section_length(const char *msg, size_t len)
{
	const char *crcr;

	if (len >= 1 && msg[0] == '\n')
		return 1;
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 2;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (i + 1 < len && msg[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')
			return i + 3;
	}
	/* No LF at all: a mail with bare CR line ends. */
	crcr = memchr(msg, '\n', len) == NULL ? memmem(msg, len, "\r\r", 2) : NULL;
	return crcr != NULL ? (size_t)(crcr - msg) + 2 : len;
}

/* Copies msg without X-Todoke-* header fields (and their continuations). */
static GBytes *strip_trust_headers(const char *msg, size_t len)
{
	size_t header_len = header_section_length(msg, len);
	GByteArray *out = g_byte_array_sized_new((guint)len);
	bool dropping = false;
	size_t pos = 0;

	while (pos < header_len) {
		const char *nl = memchr(msg + pos, '\n', header_len - pos);
		size_t line_len = nl != NULL ? (size_t)(nl - (msg + pos)) + 1
					     : header_len - pos;
		bool continuation = msg[pos] == ' ' || msg[pos] == '\t';

		if (!continuation) {
			const char *colon = memchr(msg + pos, ':', line_len);
			g_autofree char *name = colon != NULL
				? g_strndup(msg + pos, (gsize)(colon - (msg + pos)))
				: NULL;

			dropping = name != NULL && intake_is_trust_header(g_strstrip(name));
		}
		if (!dropping)
			g_byte_array_append(out, (const guint8 *)msg + pos, (guint)line_len);
		pos += line_len;
	}
	g_byte_array_append(out, (const guint8 *)msg + header_len,
			    (guint)(len - header_len));
	return g_byte_array_free_to_bytes(out);
}

static const char *raw_header(GMimeObject *object, const char *name)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(object);
	GMimeHeader *header = list != NULL ? g_mime_header_list_get_header(list, name)
					   : NULL;

	return header != NULL ? g_mime_header_get_raw_value(header) : NULL;
}

/* Decoded (RFC 2047) and unfolded header value, or NULL. */
static char *decoded_header(GMimeObject *object, const char *name)
{
	const char *value = g_mime_object_get_header(object, name);

	return value != NULL ? g_strdup(value) : NULL;
}

/* -------------------------------------------------------------- limits */

static void refuse(struct walk *w, const char *code, const char *xcode,
		   const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void refuse(struct walk *w, const char *code, const char *xcode,
		   const char *fmt, ...)
{
	va_list ap;

	if (w->over_limit)
		return;
	w->over_limit = true;
	w->result->verdict = INTAKE_REJECT_LIMIT;
	g_strlcpy(w->result->smtp_code, code, sizeof w->result->smtp_code);
	g_strlcpy(w->result->smtp_xcode, xcode, sizeof w->result->smtp_xcode);
	va_start(ap, fmt);
	g_vsnprintf(w->result->reason, sizeof w->result->reason, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ OpenPGP */

static enum spool_sig sig_state(enum pgp_sig_state state)
{
	switch (state) {
	case PGP_SIG_GOOD: return SPOOL_SIG_GOOD;
	case PGP_SIG_BAD: return SPOOL_SIG_BAD;
	case PGP_SIG_UNKNOWN_KEY: return SPOOL_SIG_UNKNOWN_KEY;
	case PGP_SIG_EXPIRED_KEY: return SPOOL_SIG_EXPIRED_KEY;
	case PGP_SIG_REVOKED_KEY: return SPOOL_SIG_REVOKED_KEY;
	case PGP_SIG_ERROR: break;
	}
	return SPOOL_SIG_ERROR;
}

static void record_signatures(struct walk *w, const struct pgp_result *r,
			      bool inside_encryption)
{
	for (size_t i = 0; i < r->n_sigs && w->n_sigs < MAX_SIGNATURES; i++) {
		struct spool_signature *s = &w->sigs[w->n_sigs++];

		s->state = sig_state(r->sigs[i].state);
		s->fingerprint = r->sigs[i].fingerprint[0] != '\0'
					 ? g_strdup(r->sigs[i].fingerprint)
					 : NULL;
		s->created = r->sigs[i].created;
		s->inside_encryption = inside_encryption;
	}
}

/*
 * The entry's crypto state summarises every OpenPGP step of the mail; a
 * later step only raises it: plain < decrypted < decrypt-failed <
 * decrypt-deferred. Deferred means "the processor must redo the OpenPGP
 * work on the original", which is always spooled.
 */
static int crypto_rank(enum spool_crypto state)
{
	switch (state) {
	case SPOOL_PLAIN: return 0;
	case SPOOL_DECRYPTED: return 1;
	case SPOOL_DECRYPT_FAILED: return 2;
	case SPOOL_DECRYPT_DEFERRED: return 3;
	}
	return 0;
}

static void raise_crypto(struct walk *w, enum spool_crypto state,
			 const char *detail)
{
	bool higher = crypto_rank(state) > crypto_rank(w->crypto);

	if (!higher && (state != w->crypto || w->crypto_detail != NULL))
		return;
	w->crypto = state;
	if (detail != NULL && *detail != '\0') {
		g_free(w->crypto_detail);
		w->crypto_detail = g_strdup(detail);
	}
}

static bool crypto_allowed(struct walk *w)
{
	if (w->pgp == NULL) {
		raise_crypto(w, SPOOL_DECRYPT_DEFERRED, "OpenPGP not available");
		return false;
	}
	if (w->crypto_ops >= MAX_CRYPTO_OPS) {
		raise_crypto(w, SPOOL_DECRYPT_DEFERRED,
			     "more OpenPGP parts than are checked at SMTP time");
		return false;
	}
	w->crypto_ops++;
	return true;
}

/*
 * Takes the answer of pgp_decrypt. Returns true when r->plaintext is
 * content to walk (decrypted, or an opaque signed message's text).
 */
static bool take_decryption(struct walk *w, int rc, const struct pgp_result *r,
			    bool inside_encryption)
{
	if (rc != TDK_OK) {
		g_autofree char *why = g_strdup_printf("OpenPGP error: %s",
						       tdk_strerror(rc));

		raise_crypto(w, SPOOL_DECRYPT_DEFERRED, why);
		return false;
	}
	if (r->output_exceeded ||
	    (r->decrypt == PGP_DECRYPTED && r->plaintext_len > w->cfg->limits.decrypted_size)) {
		refuse(w, "552", "5.3.4", "decrypted content exceeds the limit of %zu bytes",
		       w->cfg->limits.decrypted_size);
		return false;
	}
	switch (r->decrypt) {
	case PGP_DECRYPTED:
		raise_crypto(w, SPOOL_DECRYPTED, r->detail);
		record_signatures(w, r, true);
		if (w->decrypted == NULL)
			w->decrypted = g_bytes_new(r->plaintext, r->plaintext_len);
		else
			raise_crypto(w, SPOOL_DECRYPT_DEFERRED,
				     "several encrypted parts: only the first is kept at SMTP time");
		return r->plaintext != NULL;
	case PGP_NOT_ENCRYPTED: /* an opaque signed message */
		record_signatures(w, r, inside_encryption);
		return r->plaintext != NULL;
	case PGP_DECRYPT_FAILED:
		raise_crypto(w, SPOOL_DECRYPT_FAILED, r->detail);
		return false;
	case PGP_DECRYPT_DEFERRED:
		raise_crypto(w, SPOOL_DECRYPT_DEFERRED, r->detail);
		return false;
	}
	return false;
}

/* Takes the answer of a signature check. */
static void take_verification(struct walk *w, int rc, const struct pgp_result *r,
			      bool inside_encryption)
{
	if (rc != TDK_OK) {
		g_autofree char *why = g_strdup_printf("signature check: OpenPGP error: %s",
						       tdk_strerror(rc));

		raise_crypto(w, SPOOL_DECRYPT_DEFERRED, why);
	} else if (r->decrypt == PGP_DECRYPT_DEFERRED) {
		g_autofree char *why = g_strdup_printf("signature check deferred: %s",
						       r->detail);

		raise_crypto(w, SPOOL_DECRYPT_DEFERRED, why);
	} else {
		record_signatures(w, r, inside_encryption);
	}
}

/* Decoded content of a leaf part. */
static GByteArray *part_bytes(GMimePart *part, size_t cap)
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
	if (bytes->len > cap)
		g_byte_array_set_size(bytes, (guint)cap);
	return bytes;
}

/* Bytes of an object as it stands in the message, lines ending in CRLF. */
static GByteArray *canonical_bytes(GMimeObject *object)
{
	GByteArray *bytes = g_byte_array_new();
	GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);
	GMimeStream *filtered = g_mime_stream_filter_new(mem);
	GMimeFilter *crlf = g_mime_filter_dos2unix_new(FALSE);
	GMimeFilter *unix2dos = g_mime_filter_unix2dos_new(FALSE);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), crlf);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), unix2dos);
	g_mime_object_write_to_stream(object, NULL, filtered);
	g_mime_stream_flush(filtered);
	g_object_unref(crlf);
	g_object_unref(unix2dos);
	g_object_unref(filtered);
	g_object_unref(mem);
	return bytes;
}

/* ------------------------------------------------------------ the walk */

static void walk_object(struct walk *w, GMimeObject *object, size_t depth,
			bool inside_encryption);

static GMimeObject *parse_entity(const guint8 *data, size_t len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeObject *object;

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	object = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return object;
}

static void walk_encrypted(struct walk *w, GMimeMultipart *mp, size_t depth,
			   bool inside_encryption)
{
	GMimeObject *payload = g_mime_multipart_get_count(mp) > 1
		? g_mime_multipart_get_part(mp, GMIME_MULTIPART_ENCRYPTED_CONTENT)
		: NULL;
	struct pgp_result r = { 0 };
	GByteArray *cipher;
	GMimeObject *inner;
	int rc;

	if (payload == NULL || !GMIME_IS_PART(payload)) {
		raise_crypto(w, SPOOL_DECRYPT_FAILED, "multipart/encrypted without a payload");
		return;
	}
	cipher = part_bytes(GMIME_PART(payload), w->cfg->limits.message_size);
	if (cipher == NULL || cipher->len == 0) {
		raise_crypto(w, SPOOL_DECRYPT_FAILED, "empty encrypted payload");
		if (cipher != NULL)
			g_byte_array_unref(cipher);
		return;
	}
	if (!crypto_allowed(w)) {
		g_byte_array_unref(cipher);
		return;
	}
	rc = pgp_decrypt(w->pgp, cipher->data, cipher->len, &r);
	g_byte_array_unref(cipher);
	if (take_decryption(w, rc, &r, inside_encryption)) {
		inner = parse_entity(r.plaintext, r.plaintext_len);
		if (inner != NULL) {
			const char *subject = raw_header(inner, "Subject");

			if (subject != NULL && w->inner_subject_raw == NULL)
				w->inner_subject_raw = g_strdup(subject);
			walk_object(w, inner, depth + 1, true);
			g_object_unref(inner);
		}
	}
	pgp_result_clear(&r);
}

static void walk_signed(struct walk *w, GMimeMultipart *mp, size_t depth,
			bool inside_encryption)
{
	GMimeObject *content, *signature;
	struct pgp_result r = { 0 };
	GByteArray *signed_bytes, *sig_bytes;

	if (g_mime_multipart_get_count(mp) < 2)
		return;
	content = g_mime_multipart_get_part(mp, GMIME_MULTIPART_SIGNED_CONTENT);
	signature = g_mime_multipart_get_part(mp, GMIME_MULTIPART_SIGNED_SIGNATURE);
	if (GMIME_IS_PART(signature) && crypto_allowed(w)) {
		signed_bytes = canonical_bytes(content);
		sig_bytes = part_bytes(GMIME_PART(signature), 1u << 20);
		if (sig_bytes != NULL) {
			int rc = pgp_verify_detached(w->pgp, signed_bytes->data,
						     signed_bytes->len, sig_bytes->data,
						     sig_bytes->len, &r);

			take_verification(w, rc, &r, inside_encryption);
			pgp_result_clear(&r);
			g_byte_array_unref(sig_bytes);
		}
		g_byte_array_unref(signed_bytes);
	}
	walk_object(w, content, depth + 1, inside_encryption);
}

static void scan_text_for_case(struct walk *w, const char *text, size_t len)
{
	char *found = NULL;

	if (w->body_case != NULL)
		return;
	if (casenum_find_in_body(&w->cfg->case_format, text, len, &found) == TDK_OK &&
	    found != NULL)
		w->body_case = found;
}

/*
 * Inline PGP inside a text part: decrypt or verify the first armored
 * block. The whole part is given to gpg; only the case-number search is
 * limited to MAX_TEXT_SCAN bytes.
 */
static void walk_inline_pgp(struct walk *w, const char *text, size_t len,
			    bool inside_encryption)
{
	static const char begin_message[] = "-----BEGIN PGP MESSAGE-----";
	static const char begin_signed[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	const char *block = memmem(text, len, begin_message, sizeof begin_message - 1);
	struct pgp_result r = { 0 };
	int rc;

	if (block != NULL) {
		if (!crypto_allowed(w))
			return;
		rc = pgp_decrypt(w->pgp, block, len - (size_t)(block - text), &r);
		if (take_decryption(w, rc, &r, inside_encryption))
			scan_text_for_case(w, (const char *)r.plaintext,
					   MIN(r.plaintext_len, MAX_TEXT_SCAN));
		pgp_result_clear(&r);
		return;
	}
	block = memmem(text, len, begin_signed, sizeof begin_signed - 1);
	if (block != NULL && crypto_allowed(w)) {
		rc = pgp_verify_inline(w->pgp, block, len - (size_t)(block - text), &r);
		take_verification(w, rc, &r, inside_encryption);
		pgp_result_clear(&r);
	}
}

/* Final-Recipient of a message/delivery-status part. */
static void read_delivery_status(struct walk *w, GMimePart *part)
{
	GByteArray *bytes = part_bytes(part, 64 * 1024);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (bytes == NULL || bytes->len == 0) {
		if (bytes != NULL)
			g_byte_array_unref(bytes);
		return;
	}
	text = g_strndup((const char *)bytes->data, bytes->len);
	g_byte_array_unref(bytes);
	lines = g_strsplit_set(text, "\r\n", -1);
	for (char **line = lines; *line != NULL && w->dsn_recipient == NULL; line++) {
		const char *value, *semi;

		if (g_ascii_strncasecmp(*line, "Final-Recipient:", 16) != 0)
			continue;
		value = *line + 16;
		semi = strchr(value, ';');
		value = semi != NULL ? semi + 1 : value;
		w->dsn_recipient = g_strstrip(g_strdup(value));
		if (*w->dsn_recipient == '\0' || !g_utf8_validate(w->dsn_recipient, -1, NULL))
			g_clear_pointer(&w->dsn_recipient, g_free);
	}
}

/* True for a charset whose bytes are already UTF-8 (or no charset at all). */
static bool is_utf8_charset(const char *charset)
{
	return charset == NULL || g_ascii_strcasecmp(charset, "utf-8") == 0 ||
	       g_ascii_strcasecmp(charset, "us-ascii") == 0;
}

static void walk_leaf(struct walk *w, GMimePart *part, size_t depth,
		      bool inside_encryption)
{
	GMimeContentType *type = g_mime_object_get_content_type(GMIME_OBJECT(part));
	GByteArray *bytes = NULL;
	char *text = NULL;
	size_t len;

	/* A delivery status counts at the top of the mail or directly under a
	 * top-level multipart/report, never inside encrypted content. */
	if (g_mime_content_type_is_type(type, "message", "delivery-status")) {
		if (!inside_encryption && depth <= 2) {
			w->is_dsn = true;
			read_delivery_status(w, part);
		}
		return;
	}
	if (!g_mime_content_type_is_type(type, "text", "*") ||
	    g_mime_content_type_is_type(type, "text", "html") ||
	    !GMIME_IS_TEXT_PART(part))
		return;
	/* UTF-8 text is searched as bytes, so a NUL does not end it early;
	 * other charsets are converted by GMime first. */
	if (is_utf8_charset(g_mime_text_part_get_charset(GMIME_TEXT_PART(part)))) {
		bytes = part_bytes(part, w->cfg->limits.message_size);
		if (bytes == NULL)
			return;
		text = (char *)bytes->data;
		len = bytes->len;
	} else {
		text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
		if (text == NULL)
			return;
		len = strlen(text);
	}
	if (len > 0) {
		walk_inline_pgp(w, text, len, inside_encryption);
		scan_text_for_case(w, text, MIN(len, MAX_TEXT_SCAN));
	}
	if (bytes != NULL)
		g_byte_array_unref(bytes);
	else
		g_free(text);
}

static void walk_object(struct walk *w, GMimeObject *object, size_t depth,
			bool inside_encryption)
{
	GMimeContentType *type;

	if (object == NULL || w->over_limit)
		return;
	if (depth > w->cfg->limits.mime_depth) {
		refuse(w, "554", "5.6.0", "MIME nesting exceeds the limit of %zu levels",
		       w->cfg->limits.mime_depth);
		return;
	}
	if (++w->parts > w->cfg->limits.mime_parts) {
		refuse(w, "554", "5.6.0", "message has more than the limit of %zu MIME parts",
		       w->cfg->limits.mime_parts);
		return;
	}
	type = g_mime_object_get_content_type(object);
	if (w->count_only && GMIME_IS_MULTIPART(object)) {
		GMimeMultipart *mp = GMIME_MULTIPART(object);

		for (int i = 0; i < g_mime_multipart_get_count(mp) && !w->over_limit; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, false);
	} else if (w->count_only) {
		if (GMIME_IS_MESSAGE_PART(object)) {
			GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));

			if (m != NULL)
				walk_object(w, g_mime_message_get_mime_part(m), depth + 1, false);
		}
	} else if (GMIME_IS_MULTIPART_ENCRYPTED(object)) {
		walk_encrypted(w, GMIME_MULTIPART(object), depth, inside_encryption);
	} else if (GMIME_IS_MULTIPART_SIGNED(object)) {
		walk_signed(w, GMIME_MULTIPART(object), depth, inside_encryption);
	} else if (GMIME_IS_MULTIPART(object)) {
		GMimeMultipart *mp = GMIME_MULTIPART(object);

		if (depth == 1 && !inside_encryption && type != NULL &&
		    g_mime_content_type_is_type(type, "multipart", "report")) {
			const char *report = g_mime_content_type_get_parameter(type, "report-type");

			if (report != NULL && g_ascii_strcasecmp(report, "delivery-status") == 0)
				w->is_dsn = true;
		}
		for (int i = 0; i < g_mime_multipart_get_count(mp) && !w->over_limit; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1,
				    inside_encryption);
	} else if (GMIME_IS_MESSAGE_PART(object)) {
		GMimeMessage *attached = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));

		/* Attached mail (a DSN's copy, a forward) counts toward the caps
		 * but is not decrypted or searched for case numbers. */
		if (attached != NULL) {
			bool was_count_only = w->count_only;

			w->count_only = true;
			walk_object(w, g_mime_message_get_mime_part(attached),
				    depth + 1, false);
			w->count_only = was_count_only;
		}
	} else if (GMIME_IS_PART(object)) {
		walk_leaf(w, GMIME_PART(object), depth, inside_encryption);
	}
}

/* -------------------------------------------------------- classification */

static bool header_says_auto(GMimeObject *message, const char *sender,
			     char **reason)
{
	const char *auto_submitted = g_mime_object_get_header(message, "Auto-Submitted");
	const char *precedence = g_mime_object_get_header(message, "Precedence");
	g_autofree char *local = NULL, *ext = NULL, *domain = NULL;

	if (auto_submitted != NULL) {
		g_autofree char *value = g_strstrip(g_strdup(auto_submitted));
		char *semi = strchr(value, ';');

		if (semi != NULL)
			*semi = '\0';
		g_strstrip(value);
		if (g_ascii_strcasecmp(value, "no") != 0) {
			*reason = g_strdup_printf("Auto-Submitted: %s", value);
			return true;
		}
	}
	if (precedence != NULL) {
		g_autofree char *value = g_strstrip(g_strdup(precedence));

		if (g_ascii_strcasecmp(value, "bulk") == 0 ||
		    g_ascii_strcasecmp(value, "junk") == 0 ||
		    g_ascii_strcasecmp(value, "list") == 0) {
			*reason = g_strdup_printf("Precedence: %s", value);
			return true;
		}
	}
	if (sender == NULL || *sender == '\0' || strcmp(sender, "<>") == 0) {
		*reason = g_strdup("null envelope sender");
		return true;
	}
	if (split_address(sender, &local, &ext, &domain) &&
	    (strcmp(local, "mailer-daemon") == 0 || strcmp(local, "postmaster") == 0)) {
		*reason = g_strdup_printf("sender %s@", local);
		return true;
	}
	return false;
}

static void classify(const struct intake_config *cfg, const struct intake_envelope *env,
		     GMimeObject *message, const struct walk *w,
		     struct spool_entry *e)
{
	unsigned roles = DESK_NONE;
	char *reason = NULL;

	for (size_t i = 0; i < env->n_recipients; i++) {
		char *token = NULL;
		unsigned role = intake_desk_role(cfg, env->recipients[i], &token);

		roles |= role;
		if ((role & DESK_BOUNCE) && e->bounce_token == NULL)
			e->bounce_token = token;
		else
			g_free(token);
	}
	if (roles & DESK_CONTROL) {
		e->classification = SPOOL_COMMAND;
		e->class_reason = g_strdup("to the control address");
	} else if (roles & DESK_BOUNCE) {
		e->classification = SPOOL_BOUNCE;
		e->class_reason = g_strdup(w->is_dsn ? "delivery status notification to the bounce address"
						     : "to the bounce address");
	} else if (w->is_dsn) {
		e->classification = SPOOL_BOUNCE;
		e->class_reason = g_strdup("delivery status notification");
	} else if (header_says_auto(message, env->sender, &reason)) {
		e->classification = SPOOL_AUTO_REPLY;
		e->class_reason = reason;
	} else if (e->case_subject != NULL || e->case_body != NULL) {
		e->classification = SPOOL_REPLY;
		e->class_reason = g_strdup(e->case_subject != NULL ? "case number in the subject"
								   : "case number in the body");
	} else if (e->n_thread_refs > 0 && !(roles & DESK_REPORT)) {
		e->classification = SPOOL_REPLY;
		e->class_reason = g_strdup("reply on a thread");
	} else if (roles & DESK_REPORT) {
		e->classification = SPOOL_REPORT;
		e->class_reason = g_strdup("to the report address without a case number");
	} else if (roles & DESK_CONTACT) {
		e->classification = SPOOL_REPLY;
		e->class_reason = g_strdup("to the contact address without a case number");
	} else {
		e->classification = SPOOL_REPLY;
		e->class_reason = g_strdup("no desk recipient (test mode)");
	}
	if (e->classification == SPOOL_BOUNCE && w->dsn_recipient != NULL)
		e->bounce_recipient = g_strdup(w->dsn_recipient);
}

/* ---------------------------------------------------------------- entry */

static void fill_case_candidates(const struct intake_config *cfg,
				 GMimeObject *message, struct walk *w,
				 struct spool_entry *e)
{
	struct casenum_subject outer = { 0 }, inner = { 0 };
	const char *raw = raw_header(message, "Subject");
	bool have_outer = casenum_parse_subject(&cfg->case_format, raw != NULL ? raw : "",
						&outer) == TDK_OK;
	bool have_inner = w->inner_subject_raw != NULL &&
			  casenum_parse_subject(&cfg->case_format, w->inner_subject_raw,
						&inner) == TDK_OK;

	/* A protected (encrypted) Subject counts first: it is what the sender wrote. */
	if (have_inner) {
		e->subject = g_strdup(inner.decoded);
		e->case_subject = g_strdup(inner.case_number);
	} else if (have_outer) {
		e->subject = g_strdup(outer.decoded);
	}
	if (e->case_subject == NULL && have_outer)
		e->case_subject = g_strdup(outer.case_number);
	if (have_outer && outer.n_foreign_tags > 0) {
		e->foreign_tags = g_strdupv(outer.foreign_tags);
		e->n_foreign_tags = outer.n_foreign_tags;
	}
	casenum_subject_clear(&outer);
	casenum_subject_clear(&inner);
	e->case_body = w->body_case;
	w->body_case = NULL;
	casenum_thread_refs(raw_header(message, "In-Reply-To"),
			    raw_header(message, "References"), &e->thread_refs,
			    &e->n_thread_refs);
}

static char *dup_or_empty(const char *s)
{
	return g_strdup(s != NULL ? s : "");
}

/* An envelope address as stored: the MTA's "<a@b>" (the milter protocol
 * keeps the brackets) as "a@b", the null sender "<>" as "". */
static char *envelope_address(const char *s)
{
	char *bare = g_strstrip(dup_or_empty(s));
	size_t len = strlen(bare);

	if (len >= 2 && bare[0] == '<' && bare[len - 1] == '>') {
		bare[len - 1] = '\0';
		memmove(bare, bare + 1, len - 1);
	}
	return bare;
}

static void walk_clear(struct walk *w)
{
	for (size_t i = 0; i < w->n_sigs; i++)
		g_free(w->sigs[i].fingerprint);
	g_free(w->crypto_detail);
	if (w->decrypted != NULL)
		g_bytes_unref(w->decrypted);
	g_free(w->inner_subject_raw);
	g_free(w->body_case);
	g_free(w->dsn_recipient);
}

int intake_process(const struct intake_config *cfg, struct pgp *pgp,
		   const void *message, size_t len,
		   const struct intake_envelope *envelope,
		   struct spool_entry **entry, struct intake_result *result,
		   tdk_err *err)
{
	struct walk w = { .cfg = cfg, .pgp = pgp, .result = result };
	struct spool_entry *e = NULL;
	GBytes *original = NULL;
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *parsed = NULL;
	const char *data;
	size_t size, header_len;

	*entry = NULL;
	memset(result, 0, sizeof *result);
	if (len > cfg->limits.message_size) {
		refuse(&w, "552", "5.3.4", "message exceeds the limit of %zu bytes",
		       cfg->limits.message_size);
		goto out;
	}
	original = strip_trust_headers(message, len);
	data = g_bytes_get_data(original, &size);
	if (data == NULL)
		data = ""; /* an empty mail: GMime wants a buffer all the same */
	header_len = header_section_length(data, size);
	if (header_len > cfg->limits.header_size) {
		refuse(&w, "552", "5.3.4", "header section exceeds the limit of %zu bytes",
		       cfg->limits.header_size);
		goto out;
	}
	/* GMime caps its own recursion (1024 levels); walk_object applies
	 * limits.mime_depth and limits.mime_parts to what it built. */

	stream = g_mime_stream_mem_new_with_buffer(data, size);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	parsed = g_mime_parser_construct_message(parser, NULL);
	if (parsed == NULL) {
		/* Not even a header could be read: keep the bytes as they are. */
		parsed = g_mime_message_new(TRUE);
	}
	walk_object(&w, g_mime_message_get_mime_part(parsed), 1, false);
	if (w.over_limit)
		goto out;

	e = g_new0(struct spool_entry, 1);
	e->received = envelope->received;
	e->queue_id = dup_or_empty(envelope->queue_id);
	e->envelope_from = envelope_address(envelope->sender);
	e->recipients = g_new0(char *, envelope->n_recipients + 1);
	for (size_t i = 0; i < envelope->n_recipients; i++)
		e->recipients[i] = envelope_address(envelope->recipients[i]);
	e->n_recipients = envelope->n_recipients;
	e->message_id = g_strdup(g_mime_message_get_message_id(parsed));
	e->from_header = decoded_header(GMIME_OBJECT(parsed), "From");
	fill_case_candidates(cfg, GMIME_OBJECT(parsed), &w, e);
	classify(cfg, envelope, GMIME_OBJECT(parsed), &w, e);
	e->crypto = w.crypto;
	e->crypto_detail = w.crypto_detail;
	w.crypto_detail = NULL;
	if (w.n_sigs > 0) {
		e->signatures = g_new0(struct spool_signature, w.n_sigs);
		memcpy(e->signatures, w.sigs, w.n_sigs * sizeof w.sigs[0]);
		e->n_signatures = w.n_sigs;
		w.n_sigs = 0;
	}
	e->decrypted = w.decrypted;
	w.decrypted = NULL;
	e->original = g_bytes_ref(original);
	result->verdict = INTAKE_SPOOL;
	*entry = e;
out:
	if (parsed != NULL)
		g_object_unref(parsed);
	if (parser != NULL)
		g_object_unref(parser);
	if (stream != NULL)
		g_object_unref(stream);
	if (original != NULL)
		g_bytes_unref(original);
	walk_clear(&w);
	(void)err;
	return TDK_OK;
}

void intake_config_init(const struct tdk_config *config, struct intake_config *out)
{
	*out = (struct intake_config){
		.report_address = config->report_address,
		.contact_address = config->contact_address,
		.control_address = config->control_address,
		.bounce_address = config->bounce_address,
		.case_format = { .prefix = config->case_prefix,
				 .width = (int)config->case_width },
		.limits = {
			.message_size = (size_t)config->max_message_size,
			.header_size = (size_t)config->max_header_size,
			.mime_depth = (size_t)config->max_mime_depth,
			.mime_parts = (size_t)config->max_mime_parts,
			.decrypted_size = (size_t)config->max_decrypted_size,
		},
	};
}
