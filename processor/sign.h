/*
 * sign.h - OpenPGP for outbound notices: PGP/MIME signing and
 * encryption (RFC 3156) with the desk key.
 *
 * Owns: the sign_ module. sign_new() finds the desk key (the first
 * secret key of the GnuPG home that can sign) and keeps one GPGME
 * context for that home with the desk key as its signer. sign_entity()
 * turns a body entity (mime.h) into multipart/signed, or, given a
 * recipient's key fingerprint, into multipart/encrypted holding a signed
 * and encrypted OpenPGP message; the structure is built with GMime as
 * RFC 3156 says (the signed text "From "-armored, trailing space
 * stripped, CRLF), the cryptography done by GPGME. Each notice costs one
 * gpg process: the desk key is looked up once, the recipient is named
 * by fingerprint (no key listing per mail). Nothing here logs content
 * or key material.
 *
 * Not thread-safe: one signer per thread.
 *
 * Memory: sign_free() releases (NULL ok); the entity returned is the
 * caller's (g_object_unref).
 */
#ifndef TODOKE_SIGN_H
#define TODOKE_SIGN_H

#include <gmime/gmime.h>

#include "status.h"

struct signer;

/* home NULL: $GNUPGHOME or ~/.gnupg. TDK_ENOENT without a signing key. */
int sign_new(const char *home, struct signer **out, tdk_err *err);
void sign_free(struct signer *s);
/* The desk key's fingerprint (upper-case hex). */
const char *sign_desk_key(const struct signer *s);
/* Signs entity; with recipient_fpr also encrypts to that key (trusted as
 * given: the fingerprint comes from staff or the case). */
int sign_entity(struct signer *s, GMimeObject *entity, const char *recipient_fpr,
		GMimeObject **out, tdk_err *err);

#endif
