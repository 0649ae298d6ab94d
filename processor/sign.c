/*
 * sign.c - PGP/MIME signing and encryption of notices (see sign.h).
 */
#include "config.h"

#include "sign.h"

#include <gpgme.h>
#include <stdbool.h>
#include <string.h>

struct signer {
	GMimeCryptoContext *ctx;
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

int sign_new(const char *home, struct signer **out, tdk_err *err)
{
	struct signer *s;
	char *fpr = NULL;
	int rc;

	gpgme_check_version(NULL);
	if (home != NULL && home[0] != '\0') {
		gpgme_engine_info_t info = NULL;

		/* GMime's context uses GPGME's default home: make it ours
		 * unless another home is the default already. */
		if (gpgme_get_engine_info(&info) == 0) {
			for (; info != NULL; info = info->next) {
				if (info->protocol == GPGME_PROTOCOL_OpenPGP &&
				    (info->home_dir == NULL || strcmp(info->home_dir, home) != 0))
					gpgme_set_engine_info(GPGME_PROTOCOL_OpenPGP, NULL, home);
			}
		}
	} else {
		home = NULL;
	}
	if ((rc = find_desk_key(home, &fpr, err)) != TDK_OK)
		return rc;
	s = g_new0(struct signer, 1);
	s->fpr = fpr;
	s->ctx = g_mime_gpg_context_new();
	*out = s;
	return TDK_OK;
}

void sign_free(struct signer *s)
{
	if (s == NULL)
		return;
	g_clear_object(&s->ctx);
	g_free(s->fpr);
	g_free(s);
}

const char *sign_desk_key(const struct signer *s)
{
	return s->fpr;
}

int sign_entity(struct signer *s, GMimeObject *entity, const char *recipient_fpr,
		GMimeObject **out, tdk_err *err)
{
	GError *gerr = NULL;
	GMimeObject *res;

	if (recipient_fpr == NULL) {
		res = GMIME_OBJECT(g_mime_multipart_signed_sign(s->ctx, entity, s->fpr, &gerr));
	} else {
		GPtrArray *rcpts = g_ptr_array_new();

		g_ptr_array_add(rcpts, (gpointer)recipient_fpr);
		res = GMIME_OBJECT(g_mime_multipart_encrypted_encrypt(
			s->ctx, entity, TRUE, s->fpr, GMIME_ENCRYPT_ALWAYS_TRUST, rcpts, &gerr));
		g_ptr_array_free(rcpts, TRUE);
	}
	if (res == NULL) {
		int rc = tdk_err_set(err, TDK_ECRYPTO, "%s: %s",
				     recipient_fpr != NULL ? "signing and encrypting" : "signing",
				     gerr != NULL ? gerr->message : "failed");

		g_clear_error(&gerr);
		return rc;
	}
	*out = res;
	return TDK_OK;
}
