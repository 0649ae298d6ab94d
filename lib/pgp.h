/*
 * pgp.h - OpenPGP decryption and signature verification through GPGME.
 *
 * Owns: every OpenPGP operation of todoke (decrypting reports, checking the
 * signatures of staff commands), the time budget of each operation and the
 * cap on how many decryptions run at once.
 *
 * One struct pgp is shared by all threads of a program. Each operation gets
 * its own gpgme context and runs in a worker thread, so the caller can stop
 * waiting when the time budget is spent: the operation is then cancelled, the
 * caller gets PGP_DECRYPT_DEFERRED, and the abandoned worker frees what it
 * holds when gpg finally ends. The cost of an operation is the one gpg process
 * GPGME starts for it.
 *
 * GPGME forks for every gpg it starts, and a fork costs in proportion to
 * the memory of the process that forks. A large, busy process (the milter)
 * therefore makes its struct pgp with pgp_new_with_helper(): GPGME then
 * runs in a small crypto helper process, a fresh exec of a program that
 * calls pgp_helper_main(), and every operation is sent to it over a
 * socket. The results, the time budget, the concurrency cap, the output
 * cap and the deferrals are the same; a helper that dies, or that stops
 * answering, turns the operations it had into deferrals and is started
 * again.
 *
 * Decryption failure is data on the message, never an error that loses it:
 * the functions return TDK_OK whenever they reached an answer (including
 * "cannot be decrypted" and "bad signature") or decided to defer; only
 * programming errors (TDK_EINVAL) and out of memory (TDK_ENOMEM) return
 * anything else. PGP_DECRYPT_DEFERRED means "no answer now, retry later"
 * (budget spent, no concurrency slot, gpg-agent or gpg unreachable): the
 * caller spools the original and retries.
 *
 * Nothing here logs plaintext or key material; detail strings hold only
 * error texts, sizes and key IDs.
 *
 * The GNUPGHOME's own gpg.conf decides the trust model (the tests use
 * trust-model always). Secret keys must have no passphrase: no pinentry is
 * ever used (pinentry mode loopback, and a passphrase request is refused).
 */
#ifndef TODOKE_PGP_H
#define TODOKE_PGP_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "status.h"

struct pgp_config {
	const char *gnupg_home; /* NULL: use $GNUPGHOME / default (~/.gnupg) */
	int time_budget_ms;     /* per operation, 1..600000 */
	int max_concurrent;     /* decryptions at once, 1..64 */
	size_t max_output;      /* cap on decrypted (or signed) bytes, >= 1 */
};

enum pgp_decrypt_state {
	PGP_NOT_ENCRYPTED = 0, /* "plain": not an encrypted message (or a verify) */
	PGP_DECRYPTED,         /* "decrypted": plaintext holds the content */
	PGP_DECRYPT_FAILED,    /* "failed": cannot be decrypted; detail says why */
	PGP_DECRYPT_DEFERRED,  /* "deferred": no answer now, retry later */
};

enum pgp_sig_state {
	PGP_SIG_GOOD = 1,    /* valid, key neither revoked nor expired */
	PGP_SIG_BAD,         /* the signed data does not match */
	PGP_SIG_UNKNOWN_KEY, /* the signer's public key is not in the keyring */
	PGP_SIG_EXPIRED_KEY, /* made by an expired key (or the signature expired) */
	PGP_SIG_REVOKED_KEY, /* made by a revoked key */
	PGP_SIG_ERROR,       /* anything else (unsupported algorithm, distrusted) */
};

struct pgp_signature {
	enum pgp_sig_state state;
	/* The signer's primary key fingerprint, 40 upper-case hex digits, when
	 * the key is known; for an unknown key the issuer fingerprint or the
	 * 16-digit key ID the signature names; "" if none. */
	char fingerprint[41];
	int64_t created; /* UTC seconds, 0 if unknown */
};

#define PGP_MAX_SIGS 4

struct pgp_result {
	enum pgp_decrypt_state decrypt;
	char detail[160]; /* why it failed or was deferred, short, no secrets */
	struct pgp_signature sigs[PGP_MAX_SIGS];
	size_t n_sigs; /* more than 4: the first 4 are kept, detail says so */
	/* malloc'd, NUL-terminated for convenience (not counted in
	 * plaintext_len); the decrypted content, or for pgp_verify_inline and an
	 * unencrypted message given to pgp_decrypt the signed content; NULL when
	 * there is none. Free with pgp_result_clear(), which also wipes it. */
	unsigned char *plaintext;
	size_t plaintext_len;
	bool output_exceeded; /* failed because of max_output */
};

struct pgp; /* shared by threads; thread-safe */

/*
 * Checks the configuration ranges and gnupg_home (or the home gpg will use
 * when it is NULL): it must exist, be a directory owned by the calling user,
 * not group- or world-writable and not world-readable (secret keys!);
 * otherwise TDK_EPERM (or TDK_ENOENT) with a message naming the path and its
 * mode. Initialises GPGME once per process (version check, locale) and
 * checks that the OpenPGP engine is usable (TDK_ECRYPTO if not).
 */
int pgp_new(const struct pgp_config *cfg, struct pgp **out, tdk_err *err);

/*
 * As pgp_new(), but every operation runs in a crypto helper: the program
 * helper_argv[0] (a path; NULL-terminated arguments, helper_argv[0]
 * included), which must call pgp_helper_main(0). The helper is started
 * here, with this process's user, groups and environment, its signals at
 * their defaults and no descriptor but its control socket (on 0), /dev/null
 * (1) and stderr; it logs the way this process does at this moment. Its
 * own start-up errors (GnuPG not usable, the home refused) come back here
 * in err. This process never initialises GPGME and never forks gpg.
 *
 * Operations answer as with pgp_new(), plus these deferrals: "crypto
 * helper unavailable: ..." (not running, being restarted; a restart is
 * tried at most once a second), "crypto helper failed: ..." (it died or
 * broke the protocol during the operation; it is started again), and
 * "time budget N ms exhausted" when it does not answer in time. A helper
 * that has answered nothing for a second while three operations in a row
 * ran out of time is killed and started again.
 */
int pgp_new_with_helper(const struct pgp_config *cfg,
			const char *const *helper_argv, struct pgp **out,
			tdk_err *err);

/*
 * The crypto helper's main loop, for the program pgp_new_with_helper()
 * starts: serves the client on the control socket ctl_fd until it closes,
 * then returns the exit status (0; 1 when the client's configuration is
 * refused or the protocol broken at start). Call it first thing in main(),
 * before any thread is started.
 */
int pgp_helper_main(int ctl_fd);

/* NULL ok. Waits for nothing: abandoned workers free what they hold (and
 * their share of p) when their gpg process ends. With a helper: closes its
 * socket, and reaps it (killing it if it has not ended within a second). */
void pgp_free(struct pgp *p);

/*
 * Decrypts an OpenPGP message, binary or ASCII armored, and verifies any
 * signature inside it. out is overwritten (call pgp_result_clear() on it
 * before reusing it). out->decrypt:
 *   PGP_DECRYPTED         plaintext set, sigs for the signatures inside;
 *   PGP_NOT_ENCRYPTED     an OpenPGP message that is only signed (or only
 *                         literal data): plaintext and sigs as for
 *                         pgp_verify_inline;
 *   PGP_DECRYPT_FAILED    detail: "no secret key for ...", "corrupt data:
 *                         ...", "decrypted output exceeds N bytes", ...;
 *   PGP_DECRYPT_DEFERRED  detail: "time budget N ms exhausted", "no
 *                         decryption slot free within N ms", "gpg-agent
 *                         unavailable: ...".
 * When FAILED or DEFERRED there is no plaintext and no signature.
 * A "no secret key" answer from gpg is double-checked against the secret
 * keys gpg-agent knows (one more gpg run, only on that path), so an agent
 * outage is deferred rather than recorded as undecryptable.
 */
int pgp_decrypt(struct pgp *p, const void *data, size_t len,
		struct pgp_result *out);

/*
 * Verifies a detached signature: signed_data is the signed part exactly as
 * in the message (PGP/MIME multipart/signed), sig the signature (armored or
 * binary). No decryption slot is used. out->decrypt is PGP_NOT_ENCRYPTED, or
 * PGP_DECRYPT_DEFERRED (same meaning as above). No signature found:
 * n_sigs == 0 and a detail.
 */
int pgp_verify_detached(struct pgp *p, const void *signed_data,
			size_t signed_len, const void *sig, size_t sig_len,
			struct pgp_result *out);

/* Verifies an inline clearsigned or opaque signed message; the signed text
 * is returned in plaintext (capped at max_output). Otherwise as
 * pgp_verify_detached. */
int pgp_verify_inline(struct pgp *p, const void *data, size_t len,
		      struct pgp_result *out);

/* Wipes and frees the plaintext and empties r. NULL ok. */
void pgp_result_clear(struct pgp_result *r);

/* "good", "bad", "unknown-key", "expired-key", "revoked-key", "error" */
const char *pgp_sig_state_name(enum pgp_sig_state s);
/* "plain", "decrypted", "failed", "deferred" */
const char *pgp_decrypt_state_name(enum pgp_decrypt_state s);

#endif
