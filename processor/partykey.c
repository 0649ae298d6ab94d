/*
 * partykey.c - OpenPGP keys that parties send by mail (see partykey.h).
 */
#include "config.h"

#include "partykey.h"
#include "mailtext.h"

#include <gmime/gmime.h>
#include <gpgme.h>
#include <stdbool.h>
#include <string.h>

#define WALK_PARTS_MAX 256
#define WALK_DEPTH_MAX 32
#define ARMOR_BEGIN "-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define ARMOR_END "-----END PGP PUBLIC KEY BLOCK-----"

const char *partykey_source_name(enum partykey_source s)
{
	switch (s) {
	case PARTYKEY_ATTACHED: return "attached key";
	case PARTYKEY_ARMORED: return "key in the text";
	case PARTYKEY_AUTOCRYPT: return "Autocrypt header";
	}
	return "key";
}

const char *partykey_source_tag(enum partykey_source s)
{
	return s == PARTYKEY_AUTOCRYPT ? "autocrypt" : "mail";
}

void partykey_offers_free(struct partykey_offers *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n; i++) {
		g_free(o->items[i].autocrypt_addr);
		if (o->items[i].data != NULL)
			g_bytes_unref(o->items[i].data);
	}
	g_free(o);
}

static void add_offer(struct partykey_offers *o, enum partykey_source source,
		      const char *addr, const void *data, size_t len)
{
	if (o->n >= PARTYKEY_MAX || len == 0 || len > PARTYKEY_BYTES_MAX)
		return;
	o->items[o->n].source = source;
	o->items[o->n].autocrypt_addr = addr != NULL ? g_ascii_strdown(addr, -1) : NULL;
	o->items[o->n].data = g_bytes_new(data, len);
	o->n++;
}

static GMimeMessage *parse(GBytes *bytes)
{
	gsize len;
	const char *p = g_bytes_get_data(bytes, &len);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(p, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	return msg;
}

/* One Autocrypt header value (Autocrypt Level 1, §2.1): addr and keydata
 * required; an unknown attribute not starting with '_' voids it. */
static void autocrypt_header(struct partykey_offers *o, const char *value)
{
	g_auto(GStrv) attrs = g_strsplit(value, ";", 16);
	g_autofree char *addr = NULL;
	g_autoptr(GString) b64 = g_string_new(NULL);
	bool have_keydata = false;
	guchar *key;
	gsize len = 0;

	for (size_t i = 0; attrs[i] != NULL; i++) {
		char *a = g_strstrip(attrs[i]);
		char *eq = strchr(a, '=');

		if (*a == '\0')
			continue;
		if (eq == NULL)
			return;
		*eq = '\0';
		g_strchomp(a);
		if (g_ascii_strcasecmp(a, "addr") == 0) {
			g_free(addr);
			addr = g_strdup(g_strstrip(eq + 1));
		} else if (g_ascii_strcasecmp(a, "keydata") == 0) {
			for (const char *p = eq + 1; *p; p++)
				if (!g_ascii_isspace(*p))
					g_string_append_c(b64, *p);
			have_keydata = true;
		} else if (g_ascii_strcasecmp(a, "prefer-encrypt") != 0 && a[0] != '_') {
			return;
		}
	}
	if (addr == NULL || !have_keydata || b64->len == 0 ||
	    b64->len > PARTYKEY_BYTES_MAX * 4 / 3 + 4)
		return;
	key = g_base64_decode(b64->str, &len);
	add_offer(o, PARTYKEY_AUTOCRYPT, addr, key, len);
	g_free(key);
}

static void armored_blocks(struct partykey_offers *o, const GByteArray *arr)
{
	const char *p, *end;

	if (arr->data == NULL || arr->len == 0)
		return;
	p = (const char *)arr->data;
	end = p + arr->len;
	while (p < end && o->n < PARTYKEY_MAX) {
		const char *b = g_strstr_len(p, end - p, ARMOR_BEGIN), *e;

		if (b == NULL)
			return;
		e = g_strstr_len(b, end - b, ARMOR_END);
		if (e == NULL)
			return;
		e += strlen(ARMOR_END);
		add_offer(o, PARTYKEY_ARMORED, NULL, b, (size_t)(e - b));
		p = e;
	}
}

struct walk {
	struct partykey_offers *o;
	int parts;
};

static void walk(struct walk *w, GMimeObject *obj, int depth)
{
	GMimeContentType *ct;

	if (obj == NULL || depth > WALK_DEPTH_MAX || ++w->parts > WALK_PARTS_MAX ||
	    w->o->n >= PARTYKEY_MAX)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (m != NULL)
			walk(w, g_mime_message_get_mime_part(m), depth + 1);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	ct = g_mime_object_get_content_type(obj);
	if (ct != NULL && g_mime_content_type_is_type(ct, "application", "pgp-keys")) {
		GByteArray *arr = mailtext_part_bytes(GMIME_PART(obj));

		if (arr != NULL)
			add_offer(w->o, PARTYKEY_ATTACHED, NULL, arr->data, arr->len);
		if (arr != NULL)
			g_byte_array_free(arr, TRUE);
	} else if (ct == NULL || g_mime_content_type_is_type(ct, "text", "plain")) {
		GByteArray *arr = mailtext_part_bytes(GMIME_PART(obj));

		if (arr != NULL) {
			armored_blocks(w->o, arr);
			g_byte_array_free(arr, TRUE);
		}
	}
}

void partykey_find(GBytes *original, GBytes *readable, struct partykey_offers **out)
{
	struct partykey_offers *o = g_new0(struct partykey_offers, 1);
	GMimeMessage *msg;

	*out = o;
	if (original != NULL && (msg = parse(original)) != NULL) {
		GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
		int n = g_mime_header_list_get_count(hl);

		for (int i = 0; i < n && o->n < PARTYKEY_MAX; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
			const char *name = g_mime_header_get_name(h);
			const char *raw = g_mime_header_get_raw_value(h);

			if (name != NULL && raw != NULL &&
			    g_ascii_strcasecmp(name, "Autocrypt") == 0)
				autocrypt_header(o, raw);
		}
		if (readable == original || readable == NULL) {
			struct walk w = { .o = o };

			walk(&w, g_mime_message_get_mime_part(msg), 1);
		}
		g_object_unref(msg);
	}
	if (readable != NULL && readable != original && (msg = parse(readable)) != NULL) {
		struct walk w = { .o = o };

		walk(&w, g_mime_message_get_mime_part(msg), 1);
		g_object_unref(msg);
	}
}

static gpgme_error_t context(const char *home, gpgme_ctx_t *ctx)
{
	gpgme_error_t e;

	gpgme_check_version(NULL);
	e = gpgme_new(ctx);
	if (e == 0)
		e = gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP);
	if (e == 0 && home != NULL && home[0] != '\0')
		e = gpgme_ctx_set_engine_info(*ctx, GPGME_PROTOCOL_OpenPGP, NULL, home);
	return e;
}

static bool uid_matches(gpgme_key_t key, const char *address)
{
	for (gpgme_user_id_t u = key->uids; u != NULL; u = u->next)
		if (!u->revoked && !u->invalid && u->email != NULL &&
		    g_ascii_strcasecmp(u->email, address) == 0)
			return true;
	return false;
}

int partykey_check(const char *home, GBytes *data, const char *address, char **fpr,
		   tdk_err *err)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t d = NULL;
	gpgme_key_t key = NULL, first = NULL;
	gpgme_error_t e;
	gsize len;
	const char *p = g_bytes_get_data(data, &len);
	int n = 0, rc;

	*fpr = NULL;
	if (address == NULL)
		return tdk_err_set(err, TDK_EPERM, "the party has no address");
	e = context(home, &ctx);
	if (e == 0)
		e = gpgme_data_new_from_mem(&d, p, len, 0);
	if (e == 0)
		e = gpgme_op_keylist_from_data_start(ctx, d, 0);
	if (e != 0) {
		rc = tdk_err_set(err, TDK_ECRYPTO, "reading a key: %s", gpgme_strerror(e));
		goto out;
	}
	while (gpgme_op_keylist_next(ctx, &key) == 0) {
		if (n++ == 0)
			first = key;
		else
			gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(ctx);
	if (n == 0)
		rc = tdk_err_set(err, TDK_EPERM, "no OpenPGP key could be read");
	else if (n > 1)
		rc = tdk_err_set(err, TDK_EPERM, "%d keys in one block", n);
	else if (first->secret)
		rc = tdk_err_set(err, TDK_EPERM, "a secret key");
	else if (first->revoked || first->expired || first->disabled || first->invalid)
		rc = tdk_err_set(err, TDK_EPERM, "the key is revoked, expired or invalid");
	else if (!first->can_encrypt)
		rc = tdk_err_set(err, TDK_EPERM, "the key cannot encrypt");
	else if (first->fpr == NULL)
		rc = tdk_err_set(err, TDK_EPERM, "the key has no fingerprint");
	else if (!uid_matches(first, address))
		rc = tdk_err_set(err, TDK_EPERM,
				 "no user ID of key %s is the sender's address", first->fpr);
	else {
		*fpr = g_ascii_strup(first->fpr, -1);
		rc = TDK_OK;
	}
out:
	gpgme_key_unref(first);
	gpgme_data_release(d);
	gpgme_release(ctx);
	return rc;
}

int partykey_import(const char *home, GBytes *data, const char *fpr, tdk_err *err)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t d = NULL;
	gpgme_import_result_t res;
	gpgme_error_t e;
	gsize len;
	const char *p = g_bytes_get_data(data, &len);
	bool seen = false;
	int rc = TDK_OK;

	e = context(home, &ctx);
	if (e == 0)
		e = gpgme_data_new_from_mem(&d, p, len, 0);
	if (e == 0)
		e = gpgme_op_import(ctx, d);
	if (e != 0) {
		rc = tdk_err_set(err, TDK_ECRYPTO, "importing a key: %s", gpgme_strerror(e));
		goto out;
	}
	res = gpgme_op_import_result(ctx);
	for (gpgme_import_status_t s = res != NULL ? res->imports : NULL; s != NULL;
	     s = s->next) {
		if (s->result != 0 || s->fpr == NULL || g_ascii_strcasecmp(s->fpr, fpr) != 0) {
			rc = tdk_err_set(err, TDK_ECRYPTO, "the import did not give key %s", fpr);
			goto out;
		}
		seen = true;
	}
	if (!seen || res->secret_read > 0)
		rc = tdk_err_set(err, TDK_ECRYPTO, "the import did not give key %s", fpr);
out:
	gpgme_data_release(d);
	gpgme_release(ctx);
	return rc;
}
