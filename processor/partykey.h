/*
 * partykey.h - OpenPGP keys that parties send by mail.
 *
 * Owns: the partykey_ module. partykey_find() collects the public keys a
 * captured mail offers: Autocrypt headers of the top-level header
 * section (addr=...; keydata=...), parts of type application/pgp-keys,
 * and armored PUBLIC KEY BLOCKs in the text of the mail (the original,
 * or the decrypted MIME of an encrypted one). partykey_check() reads one
 * offer with GPGME without importing it (gpg --show-keys) and accepts it
 * only when it holds exactly one key, usable for encryption (not
 * revoked, expired, disabled or invalid), with a user ID whose address
 * is the party's address. partykey_import() then imports it into the
 * desk's GnuPG home and confirms that exactly that key was imported.
 *
 * Notices are encrypted to the fingerprint recorded on each party, so a
 * key imported for one party never changes what another party's notices
 * are encrypted to; a block holding more than one key is refused, so an
 * offer cannot slip in a second key. Only public keys are imported.
 *
 * Caps: PARTYKEY_MAX offers per mail, PARTYKEY_BYTES_MAX bytes each;
 * more, or larger, are not read.
 *
 * Memory: partykey_offers_free() releases the list (NULL ok); the
 * fingerprint partykey_check() returns is the caller's (g_free).
 */
#ifndef TODOKE_PARTYKEY_H
#define TODOKE_PARTYKEY_H

#include <glib.h>
#include <stddef.h>

#include "status.h"

#define PARTYKEY_MAX 4
#define PARTYKEY_BYTES_MAX (64 * 1024)

enum partykey_source {
	PARTYKEY_ATTACHED = 1, /* an application/pgp-keys part */
	PARTYKEY_ARMORED,      /* an armored block in the text */
	PARTYKEY_AUTOCRYPT     /* an Autocrypt header */
};

struct partykey_offer {
	enum partykey_source source;
	char *autocrypt_addr;  /* Autocrypt: the addr attribute, lower-case */
	GBytes *data;          /* the key, binary or armored */
};

struct partykey_offers {
	struct partykey_offer items[PARTYKEY_MAX];
	size_t n;
};

/* "attached key", "key in the text", "Autocrypt header" */
const char *partykey_source_name(enum partykey_source s);
/* The word kept on a party: "mail" or "autocrypt". */
const char *partykey_source_tag(enum partykey_source s);

/* The offers of a mail: headers from original, content from readable
 * (the decrypted MIME, or the original). Never fails; *out may be empty. */
void partykey_find(GBytes *original, GBytes *readable, struct partykey_offers **out);
void partykey_offers_free(struct partykey_offers *o);

/* TDK_OK with *fpr (upper-case hex) for an acceptable key for address;
 * TDK_EPERM with the reason in err otherwise; TDK_ECRYPTO when GnuPG
 * cannot be run. home NULL: GPGME's default. */
int partykey_check(const char *home, GBytes *data, const char *address, char **fpr,
		   tdk_err *err);
/* Imports data (checked by partykey_check) and confirms fpr came in. */
int partykey_import(const char *home, GBytes *data, const char *fpr, tdk_err *err);

#endif
