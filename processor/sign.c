/*
 * sign.c - PGP/MIME signing and encryption of notices (see sign.h).
 */
#include "config.h"

#include "sign.h"

#include <gpgme.h>
#include <stdbool.h>
#include <string.h>

struct signer {
	gpgme_ctx_t ctx;      /* one context for every operation: armor, the
			       * desk key as signer, the home set once */
	char *fpr;
};

static int find_desk_key(const char *home, char **fpr, tdk_err *err)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_error_t e;
	int rc = TDK_ENOENT;

	e = gpgme_new(&ctx);
	if (e == 0)
		e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
	if (e == 0 && home != NULL)
		e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home);
	if (e == 0)
		e = gpgme_op_keylist_start(ctx, NULL, 1);
	if (e != 0) {
		rc = tdk_err_set(err, TDK_ECRYPTO, "desk key: %s", gpgme_strerror(e));
		goto out;
	}
	while (gpgme_op_keylist_next(ctx, &key) == 0) {
		bool usable = key->can_sign && !key->revoked && !key->expired &&
			      !key->disabled && key->fpr != NULL;

		if (usable && *fpr == NULL)
			*fpr = g_ascii_strup(key->fpr, -1);
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(ctx);
	rc = *fpr != NULL ? TDK_OK
			  : tdk_err_set(err, TDK_ENOENT, "no secret key that can sign in %s",
					home != NULL ? home : "the default GnuPG home");
out:
	gpgme_release(ctx);
	return rc;
}

/* The context every operation uses: the desk key is looked up once. */
static int signing_context(const char *home, const char *fpr, gpgme_ctx_t *out,
			   tdk_err *err)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_key_t key = NULL;
	gpgme_error_t e = gpgme_new(&ctx);

	if (e == 0)
		e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
	if (e == 0 && home != NULL)
		e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, home);
	if (e == 0) {
		gpgme_set_armor(ctx, 1);
		gpgme_set_textmode(ctx, 0);
		e = gpgme_get_key(ctx, fpr, &key, 1);
	}
	if (e == 0)
		e = gpgme_signers_add(ctx, key);
	gpgme_key_unref(key);
	if (e != 0) {
		gpgme_release(ctx);
		return tdk_err_set(err, TDK_ECRYPTO, "desk key: %s", gpgme_strerror(e));
	}
	*out = ctx;
	return TDK_OK;
}

int sign_new(const char *home, struct signer **out, tdk_err *err)
{
	struct signer *s;
	gpgme_ctx_t ctx = NULL;
	char *fpr = NULL;
	int rc;

	gpgme_check_version(NULL);
	if (home == NULL || home[0] == '\0')
		home = NULL;
	if ((rc = find_desk_key(home, &fpr, err)) != TDK_OK)
		return rc;
	if ((rc = signing_context(home, fpr, &ctx, err)) != TDK_OK) {
		g_free(fpr);
		return rc;
	}
	s = g_new0(struct signer, 1);
	s->fpr = fpr;
	s->ctx = ctx;
	*out = s;
	return TDK_OK;
}

void sign_free(struct signer *s)
{
	if (s == NULL)
		return;
	gpgme_release(s->ctx);
	g_free(s->fpr);
	g_free(s);
}

const char *sign_desk_key(const struct signer *s)
{
	return s->fpr;
}

/* entity as RFC 3156 wants it signed or encrypted: for signing, "From "
 * armored and trailing whitespace stripped (§3, §5.4); always CRLF
 * (§5.1). *lf gets the same text with LF line ends, for the signed part. */
static GByteArray *canonical(GMimeObject *entity, bool for_signing, GMimeStream **lf)
{
	GMimeStream *plain = g_mime_stream_mem_new(), *filtered, *crlf;
	GByteArray *arr;

	filtered = g_mime_stream_filter_new(plain);
	if (for_signing) {
		GMimeFilter *from = g_mime_filter_from_new(GMIME_FILTER_FROM_MODE_ARMOR);
		GMimeFilter *strip = g_mime_filter_strip_new();

		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), from);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), strip);
		g_object_unref(from);
		g_object_unref(strip);
	}
	g_mime_object_write_to_stream(entity, NULL, filtered);
	g_mime_stream_flush(filtered);
	g_object_unref(filtered);
	g_mime_stream_reset(plain);

	crlf = g_mime_stream_mem_new();
	filtered = g_mime_stream_filter_new(crlf);
	{
		GMimeFilter *u2d = g_mime_filter_unix2dos_new(FALSE);

		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), u2d);
		g_object_unref(u2d);
	}
	g_mime_stream_write_to_stream(plain, filtered);
	g_mime_stream_flush(filtered);
	g_object_unref(filtered);
	g_mime_stream_reset(plain);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(crlf), FALSE);
	arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(crlf));
	g_object_unref(crlf);
	if (lf != NULL)
		*lf = plain;
	else
		g_object_unref(plain);
	return arr;
}

/* A leaf of type/subtype holding data (7bit). */
static GMimePart *armored_part(const char *type, const char *subtype, const char *data,
			       size_t len)
{
	GMimePart *part = g_mime_part_new_with_type(type, subtype);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(stream,
								   GMIME_CONTENT_ENCODING_7BIT);

	g_mime_part_set_content(part, w);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_7BIT);
	g_object_unref(w);
	g_object_unref(stream);
	return part;
}

static char *data_text(gpgme_data_t d, size_t *len)
{
	char *mem = gpgme_data_release_and_get_mem(d, len);
	char *copy = g_memdup2(mem != NULL ? mem : "", mem != NULL ? *len : 0);

	gpgme_free(mem);
	return copy;
}

static int sign_only(struct signer *s, GMimeObject *entity, GMimeObject **out,
		     tdk_err *err)
{
	GMimeStream *lf = NULL;
	GByteArray *canon = canonical(entity, true, &lf);
	gpgme_data_t in = NULL, sig = NULL;
	gpgme_sign_result_t res;
	gpgme_error_t e;
	GMimeParser *parser;
	GMimeObject *content;
	GMimeMultipartSigned *mps;
	GMimePart *sigpart;
	g_autofree char *micalg = NULL, *sigtext = NULL;
	size_t siglen = 0;
	int rc = TDK_OK;

	e = gpgme_data_new_from_mem(&in, (const char *)canon->data, canon->len, 0);
	if (e == 0)
		e = gpgme_data_new(&sig);
	if (e == 0)
		e = gpgme_op_sign(s->ctx, in, sig, GPGME_SIG_MODE_DETACH);
	res = e == 0 ? gpgme_op_sign_result(s->ctx) : NULL;
	if (e != 0 || res == NULL || res->signatures == NULL || res->invalid_signers != NULL) {
		rc = tdk_err_set(err, TDK_ECRYPTO, "signing: %s",
				 e != 0 ? gpgme_strerror(e) : "no signature");
		gpgme_data_release(sig);
		goto out;
	}
	micalg = g_ascii_strdown(gpgme_hash_algo_name(res->signatures->hash_algo), -1);
	sigtext = data_text(sig, &siglen);

	parser = g_mime_parser_new_with_stream(lf);
	content = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	if (content == NULL) {
		rc = tdk_err_set(err, TDK_ECRYPTO, "signing: the signed part does not parse");
		goto out;
	}
	mps = g_mime_multipart_signed_new();
	g_mime_multipart_set_boundary(GMIME_MULTIPART(mps), NULL);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(mps), "protocol",
						 "application/pgp-signature");
	{
		g_autofree char *m = g_strconcat("pgp-", micalg, NULL);

		g_mime_object_set_content_type_parameter(GMIME_OBJECT(mps), "micalg", m);
	}
	sigpart = armored_part("application", "pgp-signature", sigtext, siglen);
	g_mime_multipart_add(GMIME_MULTIPART(mps), content);
	g_mime_multipart_add(GMIME_MULTIPART(mps), GMIME_OBJECT(sigpart));
	g_object_unref(content);
	g_object_unref(sigpart);
	*out = GMIME_OBJECT(mps);
out:
	gpgme_data_release(in);
	g_byte_array_free(canon, TRUE);
	g_object_unref(lf);
	return rc;
}

static int sign_encrypt(struct signer *s, GMimeObject *entity, const char *recipient_fpr,
			GMimeObject **out, tdk_err *err)
{
	GByteArray *plain = canonical(entity, false, NULL);
	gpgme_data_t in = NULL, cipher = NULL;
	gpgme_encrypt_result_t eres;
	gpgme_sign_result_t sres;
	gpgme_error_t e;
	GMimeMultipartEncrypted *mpe;
	GMimePart *version, *encrypted;
	g_autofree char *text = NULL;
	size_t len = 0;
	int rc = TDK_OK;

	if (strpbrk(recipient_fpr, " \n\r\t") != NULL || recipient_fpr[0] == '-') {
		rc = tdk_err_set(err, TDK_EINVAL, "signing and encrypting: not a fingerprint");
		goto out;
	}
	e = gpgme_data_new_from_mem(&in, (const char *)plain->data, plain->len, 0);
	if (e == 0)
		e = gpgme_data_new(&cipher);
	/* The recipient by fingerprint: no key listing before each mail. */
	if (e == 0)
		e = gpgme_op_encrypt_sign_ext(s->ctx, NULL, recipient_fpr,
					      GPGME_ENCRYPT_ALWAYS_TRUST, in, cipher);
	eres = e == 0 ? gpgme_op_encrypt_result(s->ctx) : NULL;
	sres = e == 0 ? gpgme_op_sign_result(s->ctx) : NULL;
	if (e != 0 || eres == NULL || eres->invalid_recipients != NULL || sres == NULL ||
	    sres->signatures == NULL) {
		rc = tdk_err_set(err, TDK_ECRYPTO, "signing and encrypting: %s",
				 e != 0 ? gpgme_strerror(e) : "the recipient's key is not usable");
		gpgme_data_release(cipher);
		goto out;
	}
	text = data_text(cipher, &len);
	mpe = g_mime_multipart_encrypted_new();
	g_mime_multipart_set_boundary(GMIME_MULTIPART(mpe), NULL);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(mpe), "protocol",
						 "application/pgp-encrypted");
	version = armored_part("application", "pgp-encrypted", "Version: 1\n", 11);
	encrypted = armored_part("application", "octet-stream", text, len);
	g_mime_multipart_add(GMIME_MULTIPART(mpe), GMIME_OBJECT(version));
	g_mime_multipart_add(GMIME_MULTIPART(mpe), GMIME_OBJECT(encrypted));
	g_object_unref(version);
	g_object_unref(encrypted);
	*out = GMIME_OBJECT(mpe);
out:
	gpgme_data_release(in);
	g_byte_array_free(plain, TRUE);
	return rc;
}

int sign_entity(struct signer *s, GMimeObject *entity, const char *recipient_fpr,
		GMimeObject **out, tdk_err *err)
{
	if (recipient_fpr == NULL)
		return sign_only(s, entity, out, err);
	return sign_encrypt(s, entity, recipient_fpr, out, err);
}
