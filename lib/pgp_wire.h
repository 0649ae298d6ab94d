/*
 * pgp_wire.h - the wire protocol between a program and its crypto helper.
 *
 * Owns: the frames a pgp client (pgp_client.c) and the crypto helper
 * (pgp_helper.c) exchange, their encoding, the caps on every length in
 * them, and the I/O that carries them under a deadline.
 *
 * Two kinds of socket:
 *   control  one SOCK_SEQPACKET pair per helper. The client sends one
 *            1-byte message per request, carrying (SCM_RIGHTS) one end of
 *            a fresh SOCK_STREAM socketpair: the request's channel. The
 *            helper never writes to it; end of file means the other side
 *            is gone.
 *   channel  one per request: a request frame, then the helper's response
 *            frame, then both ends close. A client that stops waiting
 *            closes its end, which is all the helper needs to know.
 *
 * Request frame: a 32-byte head (magic "TDKq", version, op, time budget,
 * two lengths), then len1 bytes (the message, the signature of a detached
 * verification, or the hello body) and len2 bytes (the signed part of a
 * detached verification). Response frame: a 248-byte head (magic "TDKr",
 * version, status, decryption state, flags, signatures, detail and
 * plaintext lengths), the detail text, then the plaintext. All integers
 * little-endian.
 *
 * Both sides treat what comes from the other as hostile: every decoder
 * checks magic, version, enumerations and each length against a cap before
 * anything is allocated, and a frame that breaks a rule is refused whole.
 */
#ifndef TODOKE_PGP_WIRE_H
#define TODOKE_PGP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pgp.h"
#include "status.h"

#define PGP_WIRE_VERSION 1
/* The largest message the milter takes (limits.message_size). */
#define PGP_WIRE_MAX_INPUT ((uint64_t)1 << 30)
/* The largest output cap (limits.decrypted_size + 1). */
#define PGP_WIRE_MAX_OUTPUT (((uint64_t)1 << 30) + 1)
#define PGP_WIRE_MAX_DETAIL 511 /* hello errors are longer than pgp_result's */
#define PGP_WIRE_MAX_HOME 4095
#define PGP_WIRE_MAX_HELLO (20 + PGP_WIRE_MAX_HOME + 15)
#define PGP_WIRE_MAX_BUDGET_MS 600000

#define PGP_WIRE_REQ_SIZE 32
#define PGP_WIRE_RESP_SIZE 248
#define PGP_WIRE_RESP_MAX (PGP_WIRE_RESP_SIZE + PGP_WIRE_MAX_DETAIL)

enum pgp_wire_op {
	PGP_WIRE_HELLO = 1,       /* len1: hello body; answer: rc and detail */
	PGP_WIRE_DECRYPT,         /* len1: message */
	PGP_WIRE_VERIFY_DETACHED, /* len1: signature, len2: signed part */
	PGP_WIRE_VERIFY_INLINE,   /* len1: message */
};

struct pgp_wire_request {
	enum pgp_wire_op op;
	uint32_t budget_ms; /* 1..PGP_WIRE_MAX_BUDGET_MS */
	uint64_t len1, len2;
};

/* What a helper is started with: its pgp_config and how to log. */
struct pgp_wire_hello {
	uint32_t budget_ms;      /* the configured budget (the request's field) */
	uint32_t max_concurrent;
	uint64_t max_output;
	bool has_home;
	char home[PGP_WIRE_MAX_HOME + 1];
	uint32_t log_sinks;      /* MSG_SINK_* bits */
	char log_facility[16];
};

/* The head of a response, as decoded: lengths of what follows. */
struct pgp_wire_response {
	int rc;                  /* TDK_* of the operation */
	size_t detail_len;       /* <= PGP_WIRE_MAX_DETAIL */
	uint64_t plaintext_len;  /* <= the caller's max_output */
	bool has_plaintext;
};

void pgp_wire_request_encode(const struct pgp_wire_request *rq,
			     unsigned char head[PGP_WIRE_REQ_SIZE]);
/* TDK_OK, or TDK_ECORRUPT (bad magic, version, op, budget or padding) or
 * TDK_ELIMIT (a length over max_input, or a hello body over its cap). */
int pgp_wire_request_decode(const unsigned char head[PGP_WIRE_REQ_SIZE],
			    uint64_t max_input, struct pgp_wire_request *out);

/* Encodes the hello body into buf (PGP_WIRE_MAX_HELLO bytes); returns its
 * length, or 0 if a string is too long. */
size_t pgp_wire_hello_encode(const struct pgp_wire_hello *h, unsigned char *buf);
/* TDK_OK or TDK_ECORRUPT. budget_ms is taken from the request head. */
int pgp_wire_hello_decode(const unsigned char *buf, size_t len,
			  uint32_t budget_ms, struct pgp_wire_hello *out);

/*
 * Encodes a response head and its detail into buf (PGP_WIRE_RESP_MAX
 * bytes) and returns the length; the plaintext (r->plaintext_len bytes)
 * follows it on the wire. r is the operation's answer when rc is TDK_OK
 * and ignored otherwise; text, if not NULL, is the detail instead of
 * r->detail (a hello's error message).
 */
size_t pgp_wire_response_encode(int rc, const struct pgp_result *r,
				const char *text, unsigned char *buf);
/*
 * Decodes a response head: fills resp and, when rc is TDK_OK, out's state,
 * flags and signatures (out is zeroed first; no detail or plaintext yet).
 * TDK_OK, or TDK_ECORRUPT for anything out of place, or TDK_ELIMIT for a
 * plaintext longer than max_output or a detail over its cap.
 */
int pgp_wire_response_decode(const unsigned char head[PGP_WIRE_RESP_SIZE],
			     uint64_t max_output, struct pgp_wire_response *resp,
			     struct pgp_result *out);
/* Copies a detail received into dst (cap bytes, NUL-terminated, cut if
 * needed), replacing NUL and control characters. */
void pgp_wire_detail_copy(char *dst, size_t cap, const unsigned char *src,
			  size_t len);

/*
 * Blocking-style I/O on a non-blocking or blocking socket, waiting with
 * poll() until deadline (CLOCK_MONOTONIC; NULL: no limit). TDK_OK, or
 * TDK_ETIMEDOUT, or TDK_EIO (the peer closed or the socket failed; for a
 * read, end of file before len bytes). SIGPIPE is never raised.
 */
int pgp_wire_write(int fd, const void *buf, size_t len,
		   const struct timespec *deadline);
int pgp_wire_read(int fd, void *buf, size_t len, const struct timespec *deadline);

/* Sends fd over the control socket ctl, without waiting: TDK_OK, or
 * TDK_EFULL (the helper is not taking requests now), or TDK_EIO (gone). */
int pgp_wire_send_fd(int ctl, int fd);
/* Receives one channel from ctl (waits): TDK_OK with *fd set (close-on-
 * exec), TDK_ENOENT at end of file, TDK_ECORRUPT for a message without
 * exactly one descriptor (any received is closed), TDK_EIO on error. */
int pgp_wire_recv_fd(int ctl, int *fd);

/* Monotonic deadlines in milliseconds. */
void pgp_wire_deadline(struct timespec *ts, int64_t ms_from_now);
/* Milliseconds left until deadline (negative when passed). */
int64_t pgp_wire_ms_left(const struct timespec *deadline);
int64_t pgp_wire_now_ms(void);

#endif
