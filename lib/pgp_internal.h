/*
 * pgp_internal.h - what pgp.c, pgp_client.c and pgp_helper.c share.
 *
 * Owns nothing: the seams between the three. pgp.c is the API of pgp.h
 * and the GPGME engine; pgp_client.c sends the API's operations to a
 * crypto helper process instead; pgp_helper.c is that process, running
 * the engine for its client. Nothing outside lib/pgp*.c includes this.
 */
#ifndef TODOKE_PGP_INTERNAL_H
#define TODOKE_PGP_INTERNAL_H

#include "pgp.h"
#include "pgp_wire.h"

/*
 * Runs one operation in this process (GPGME), waiting at most wait_ms
 * (1..PGP_WIRE_MAX_BUDGET_MS) instead of the configured budget; detail
 * texts still name the configured budget. op is not PGP_WIRE_HELLO. As
 * pgp_decrypt() otherwise; data2 is the signed part of a detached
 * verification.
 */
int pgp_engine_run(struct pgp *p, enum pgp_wire_op op, const void *data,
		   size_t len, const void *data2, size_t len2, int wait_ms,
		   struct pgp_result *out);

/* The client side of a crypto helper (pgp_client.c). */
struct pgp_client;

/* Starts the helper (argv[0]: a path to execute) and waits for its
 * answer to the hello: TDK_OK, or an error in err (the helper's own, for
 * example a GnuPG that is not usable). cfg was checked by the caller. */
int pgp_client_new(const struct pgp_config *cfg, const char *const *argv,
		   struct pgp_client **out, tdk_err *err);
/* NULL ok. Closes the control socket and reaps the helper. */
void pgp_client_free(struct pgp_client *c);
/* One operation through the helper, under the configured budget; the
 * contract of pgp_decrypt() and the verifications. */
int pgp_client_run(struct pgp_client *c, enum pgp_wire_op op, const void *data,
		   size_t len, const void *data2, size_t len2,
		   struct pgp_result *out);

#endif
