/*
 * pgp_wire.c - frames and I/O of the crypto helper protocol (pgp_wire.h).
 *
 * Owns: encoding and checking request, hello and response frames, and
 * moving bytes and descriptors over the helper's sockets under a deadline.
 * Nothing here allocates: callers own every buffer.
 */
#include "pgp_wire.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static const unsigned char req_magic[4] = { 'T', 'D', 'K', 'q' };
static const unsigned char resp_magic[4] = { 'T', 'D', 'K', 'r' };

#define SIG_SIZE 56 /* state, fpr length, 6 zero bytes, created, fpr */

/* ------------------------------------------------------------ integers */

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------- requests */

void pgp_wire_request_encode(const struct pgp_wire_request *rq,
			     unsigned char head[PGP_WIRE_REQ_SIZE])
{
	memset(head, 0, PGP_WIRE_REQ_SIZE);
	memcpy(head, req_magic, 4);
	put16(head + 4, PGP_WIRE_VERSION);
	put16(head + 6, (uint16_t)rq->op);
	put32(head + 8, rq->budget_ms);
	put64(head + 16, rq->len1);
	put64(head + 24, rq->len2);
}

int pgp_wire_request_decode(const unsigned char head[PGP_WIRE_REQ_SIZE],
			    uint64_t max_input, struct pgp_wire_request *out)
{
	uint16_t op = get16(head + 6);

	memset(out, 0, sizeof *out);
	if (memcmp(head, req_magic, 4) != 0 || get16(head + 4) != PGP_WIRE_VERSION ||
	    op < PGP_WIRE_HELLO || op > PGP_WIRE_VERIFY_INLINE ||
	    !all_zero(head + 12, 4))
		return TDK_ECORRUPT;
	out->op = (enum pgp_wire_op)op;
	out->budget_ms = get32(head + 8);
	out->len1 = get64(head + 16);
	out->len2 = get64(head + 24);
	if (out->budget_ms < 1 || out->budget_ms > PGP_WIRE_MAX_BUDGET_MS)
		return TDK_ECORRUPT;
	if (out->len2 != 0 && out->op != PGP_WIRE_VERIFY_DETACHED)
		return TDK_ECORRUPT;
	if (max_input > PGP_WIRE_MAX_INPUT)
		max_input = PGP_WIRE_MAX_INPUT;
	if (out->op == PGP_WIRE_HELLO && out->len1 > PGP_WIRE_MAX_HELLO)
		return TDK_ELIMIT;
	if (out->len1 > max_input || out->len2 > max_input)
		return TDK_ELIMIT;
	return TDK_OK;
}

/* ---------------------------------------------------------------- hello */

size_t pgp_wire_hello_encode(const struct pgp_wire_hello *h, unsigned char *buf)
{
	size_t home_len = h->has_home ? strlen(h->home) : 0;
	size_t fac_len = strlen(h->log_facility);

	if (home_len > PGP_WIRE_MAX_HOME || fac_len > 15)
		return 0;
	memset(buf, 0, 20);
	put32(buf, h->max_concurrent);
	put32(buf + 4, h->log_sinks);
	put64(buf + 8, h->max_output);
	buf[16] = h->has_home ? 1 : 0;
	buf[17] = (unsigned char)fac_len;
	put16(buf + 18, (uint16_t)home_len);
	memcpy(buf + 20, h->home, home_len);
	memcpy(buf + 20 + home_len, h->log_facility, fac_len);
	return 20 + home_len + fac_len;
}

static bool has_nul(const unsigned char *p, size_t n)
{
	return memchr(p, '\0', n) != NULL;
}

int pgp_wire_hello_decode(const unsigned char *buf, size_t len,
			  uint32_t budget_ms, struct pgp_wire_hello *out)
{
	size_t home_len, fac_len;

	memset(out, 0, sizeof *out);
	if (len < 20 || len > PGP_WIRE_MAX_HELLO)
		return TDK_ECORRUPT;
	home_len = get16(buf + 18);
	fac_len = buf[17];
	if (buf[16] > 1 || home_len > PGP_WIRE_MAX_HOME || fac_len > 15 ||
	    len != 20 + home_len + fac_len || (buf[16] == 0 && home_len != 0) ||
	    has_nul(buf + 20, home_len + fac_len))
		return TDK_ECORRUPT;
	out->budget_ms = budget_ms;
	out->max_concurrent = get32(buf);
	out->log_sinks = get32(buf + 4);
	out->max_output = get64(buf + 8);
	out->has_home = buf[16] == 1;
	if (out->max_output < 1 || out->max_output > PGP_WIRE_MAX_OUTPUT ||
	    out->log_sinks < 1 || out->log_sinks > 3)
		return TDK_ECORRUPT;
	memcpy(out->home, buf + 20, home_len);
	out->home[home_len] = '\0';
	memcpy(out->log_facility, buf + 20 + home_len, fac_len);
	out->log_facility[fac_len] = '\0';
	return TDK_OK;
}

/* ------------------------------------------------------------ responses */

size_t pgp_wire_response_encode(int rc, const struct pgp_result *r,
				const char *text, unsigned char *buf)
{
	const char *detail = "";
	size_t detail_len = 0;

	if (text != NULL) {
		detail = text;
		detail_len = strnlen(text, PGP_WIRE_MAX_DETAIL);
	} else if (rc == TDK_OK && r != NULL) {
		detail = r->detail;
		detail_len = strnlen(r->detail, sizeof r->detail);
	}

	memset(buf, 0, PGP_WIRE_RESP_SIZE);
	memcpy(buf, resp_magic, 4);
	put16(buf + 4, PGP_WIRE_VERSION);
	put16(buf + 6, (uint16_t)rc);
	if (rc == TDK_OK && r != NULL) {
		size_t n = r->n_sigs < PGP_MAX_SIGS ? r->n_sigs : PGP_MAX_SIGS;

		buf[8] = (unsigned char)r->decrypt;
		buf[9] = (unsigned char)((r->output_exceeded ? 1 : 0) |
					 (r->plaintext ? 2 : 0));
		buf[10] = (unsigned char)n;
		put64(buf + 16, r->plaintext ? r->plaintext_len : 0);
		for (size_t i = 0; i < n; i++) {
			unsigned char *s = buf + 24 + i * SIG_SIZE;
			size_t fl = strnlen(r->sigs[i].fingerprint, 40);

			s[0] = (unsigned char)r->sigs[i].state;
			s[1] = (unsigned char)fl;
			put64(s + 8, (uint64_t)r->sigs[i].created);
			memcpy(s + 16, r->sigs[i].fingerprint, fl);
		}
	}
	put16(buf + 12, (uint16_t)detail_len);
	memcpy(buf + PGP_WIRE_RESP_SIZE, detail, detail_len);
	return PGP_WIRE_RESP_SIZE + detail_len;
}

static bool is_hex_string(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit(s[i]))
			return false;
	}
	return true;
}

/* One signature slot: in use (i < n) or all zero. */
static int decode_sig(const unsigned char *s, bool used, struct pgp_signature *out)
{
	size_t fl = s[1];

	if (!used)
		return all_zero(s, SIG_SIZE) ? TDK_OK : TDK_ECORRUPT;
	if (s[0] < PGP_SIG_GOOD || s[0] > PGP_SIG_ERROR || !all_zero(s + 2, 6) ||
	    (fl != 0 && fl != 16 && fl != 40) || !is_hex_string(s + 16, fl) ||
	    !all_zero(s + 16 + fl, 40 - fl) || get64(s + 8) > INT64_MAX)
		return TDK_ECORRUPT;
	out->state = (enum pgp_sig_state)s[0];
	out->created = (int64_t)get64(s + 8);
	memcpy(out->fingerprint, s + 16, fl);
	out->fingerprint[fl] = '\0';
	return TDK_OK;
}

/* The rules of pgp.h: what each state may carry. */
static bool state_consistent(const struct pgp_result *r, bool has_plaintext)
{
	switch (r->decrypt) {
	case PGP_NOT_ENCRYPTED:
		return !r->output_exceeded;
	case PGP_DECRYPTED:
		return !r->output_exceeded && has_plaintext;
	case PGP_DECRYPT_FAILED:
	case PGP_DECRYPT_DEFERRED:
		return !has_plaintext && r->n_sigs == 0 &&
		       (!r->output_exceeded || r->decrypt == PGP_DECRYPT_FAILED);
	}
	return false;
}

int pgp_wire_response_decode(const unsigned char head[PGP_WIRE_RESP_SIZE],
			     uint64_t max_output, struct pgp_wire_response *resp,
			     struct pgp_result *out)
{
	uint8_t flags = head[9];

	memset(resp, 0, sizeof *resp);
	memset(out, 0, sizeof *out);
	if (memcmp(head, resp_magic, 4) != 0 ||
	    get16(head + 4) != PGP_WIRE_VERSION || get16(head + 6) >= TDK_STATUS_COUNT ||
	    head[11] != 0 || !all_zero(head + 14, 2) || (flags & ~3u) != 0)
		return TDK_ECORRUPT;
	resp->rc = get16(head + 6);
	resp->detail_len = get16(head + 12);
	resp->plaintext_len = get64(head + 16);
	resp->has_plaintext = (flags & 2) != 0;
	if (resp->detail_len > PGP_WIRE_MAX_DETAIL)
		return TDK_ELIMIT;
	if (resp->rc != TDK_OK)
		return all_zero(head + 8, 4) && all_zero(head + 16, 8 + PGP_MAX_SIGS * SIG_SIZE)
			       ? TDK_OK : TDK_ECORRUPT;
	if (head[8] > PGP_DECRYPT_DEFERRED || head[10] > PGP_MAX_SIGS)
		return TDK_ECORRUPT;
	if (!resp->has_plaintext && resp->plaintext_len != 0)
		return TDK_ECORRUPT;
	if (resp->plaintext_len > max_output || resp->plaintext_len > PGP_WIRE_MAX_OUTPUT)
		return TDK_ELIMIT;
	out->decrypt = (enum pgp_decrypt_state)head[8];
	out->output_exceeded = (flags & 1) != 0;
	out->n_sigs = head[10];
	for (size_t i = 0; i < PGP_MAX_SIGS; i++) {
		if (decode_sig(head + 24 + i * SIG_SIZE, i < out->n_sigs,
			       &out->sigs[i]) != TDK_OK)
			return TDK_ECORRUPT;
	}
	return state_consistent(out, resp->has_plaintext) ? TDK_OK : TDK_ECORRUPT;
}

void pgp_wire_detail_copy(char *dst, size_t cap, const unsigned char *src,
			  size_t len)
{
	size_t n = len < cap ? len : cap - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] < 0x20 || src[i] == 0x7f ? '?' : (char)src[i];
	dst[n] = '\0';
}

/* ------------------------------------------------------------------ time */

int64_t pgp_wire_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pgp_wire_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int64_t pgp_wire_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	/* Round a part of a millisecond still left up, not down to 0. */
	if (ms == 0 && (deadline->tv_sec > now.tv_sec ||
			(deadline->tv_sec == now.tv_sec && deadline->tv_nsec > now.tv_nsec)))
		ms = 1;
	return ms;
}

/* -------------------------------------------------------------------- I/O */

/* Waits until fd is ready for events: TDK_OK, TDK_ETIMEDOUT or TDK_EIO. */
static int wait_ready(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline ? pgp_wire_ms_left(deadline) : -1;
		int n;

		if (deadline != NULL && left <= 0)
			return TDK_ETIMEDOUT;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return TDK_EIO;
		if (n > 0)
			return TDK_OK; /* errors and hang-ups show in the I/O */
	}
}

int pgp_wire_write(int fd, const void *buf, size_t len,
		   const struct timespec *deadline)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_ready(fd, POLLOUT, deadline);

			if (rc != TDK_OK)
				return rc;
		} else {
			return TDK_EIO;
		}
	}
	return TDK_OK;
}

int pgp_wire_read(int fd, void *buf, size_t len, const struct timespec *deadline)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_ready(fd, POLLIN, deadline);

			if (rc != TDK_OK)
				return rc;
		} else {
			return TDK_EIO; /* end of file or an error */
		}
	}
	return TDK_OK;
}

int pgp_wire_send_fd(int ctl, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = "C", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
	struct cmsghdr *c;
	ssize_t n;

	memset(&cm, 0, sizeof cm);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	do
		n = sendmsg(ctl, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		return TDK_OK;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
		return TDK_EFULL;
	return TDK_EIO;
}

/* Closes every descriptor a control message brought. */
static int close_received(struct msghdr *mh)
{
	int n_fds = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t off = 0; CMSG_LEN(off + sizeof(int)) <= c->cmsg_len;
		     off += sizeof(int)) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + off, sizeof fd);
			close(fd);
			n_fds++;
		}
	}
	return n_fds;
}

int pgp_wire_recv_fd(int ctl, int *fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	unsigned char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return TDK_ENOENT;
	if (n < 0)
		return TDK_EIO;
	c = CMSG_FIRSTHDR(&mh);
	if (byte != 'C' || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || c == NULL ||
	    c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)) || CMSG_NXTHDR(&mh, c) != NULL) {
		close_received(&mh);
		return TDK_ECORRUPT;
	}
	memcpy(fd, CMSG_DATA(c), sizeof *fd);
	return TDK_OK;
}
