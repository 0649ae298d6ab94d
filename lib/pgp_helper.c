/*
 * pgp_helper.c - the crypto helper process (pgp_helper_main, pgp.h).
 *
 * Owns: the helper's life. It is a fresh exec, started by pgp_client.c:
 * small, holding nothing of its parent but the control socket. It reads
 * the hello (the parent's pgp_config and logging), makes its struct pgp
 * with pgp_new() and answers whether that worked; then, for every request
 * channel the control socket brings, one detached thread reads the
 * request, runs it through the GPGME engine of pgp.c under the budget the
 * request names, writes the response and closes the channel. The engine
 * keeps its own concurrency cap, so abandoned operations keep their slots
 * here as they would in the parent. End of file on the control socket (the
 * parent closed it or died) ends the helper.
 *
 * Requests are checked (pgp_wire.c) before anything is allocated; the
 * buffers of a request and of its answer are wiped before they are freed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pgp_internal.h"

#define HELPER_MAX_REQUESTS 256  /* channels served at once */
#define HELPER_IO_MS 60000       /* to read a request, to write an answer */
#define HELPER_HELLO_MS 10000

static struct {
	struct pgp *pgp;
	pthread_mutex_t mu;
	int active; /* request threads running */
} H = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Reads len bytes into a new buffer (*out, NULL for 0 bytes). */
static int read_part(int fd, uint64_t len, unsigned char **out,
		     const struct timespec *deadline)
{
	unsigned char *buf;
	int rc;

	*out = NULL;
	if (len == 0)
		return TDK_OK;
	buf = malloc((size_t)len);
	if (buf == NULL)
		return TDK_ENOMEM;
	rc = pgp_wire_read(fd, buf, (size_t)len, deadline);
	if (rc != TDK_OK) {
		explicit_bzero(buf, (size_t)len);
		free(buf);
		return rc;
	}
	*out = buf;
	return TDK_OK;
}

static void wipe_free(unsigned char *buf, uint64_t len)
{
	if (buf != NULL) {
		explicit_bzero(buf, (size_t)len);
		free(buf);
	}
}

/* Writes the answer: head and detail, then the plaintext. */
static int send_response(int fd, int rc, const struct pgp_result *r,
			 const char *text)
{
	unsigned char head[PGP_WIRE_RESP_MAX];
	struct timespec deadline;
	size_t n = pgp_wire_response_encode(rc, r, text, head);
	int wrc;

	pgp_wire_deadline(&deadline, HELPER_IO_MS);
	wrc = pgp_wire_write(fd, head, n, &deadline);
	if (wrc == TDK_OK && rc == TDK_OK && r != NULL && r->plaintext != NULL &&
	    r->plaintext_len > 0)
		wrc = pgp_wire_write(fd, r->plaintext, r->plaintext_len, &deadline);
	return wrc;
}

/* One request on one channel. */
static void serve(int fd)
{
	unsigned char head[PGP_WIRE_REQ_SIZE];
	struct pgp_wire_request rq = { 0 };
	unsigned char *d1 = NULL, *d2 = NULL;
	struct pgp_result r = { 0 };
	struct timespec deadline;
	int rc;

	pgp_wire_deadline(&deadline, HELPER_IO_MS);
	rc = pgp_wire_read(fd, head, sizeof head, &deadline);
	if (rc == TDK_OK)
		rc = pgp_wire_request_decode(head, PGP_WIRE_MAX_INPUT, &rq);
	if (rc == TDK_OK && rq.op == PGP_WIRE_HELLO)
		rc = TDK_ECORRUPT;
	if (rc == TDK_OK)
		rc = read_part(fd, rq.len1, &d1, &deadline);
	if (rc == TDK_OK)
		rc = read_part(fd, rq.len2, &d2, &deadline);
	if (rc == TDK_ECORRUPT || rc == TDK_ELIMIT)
		msg_warn("crypto helper: request refused: %s", tdk_strerror(rc));
	if (rc == TDK_OK) {
		rc = pgp_engine_run(H.pgp, rq.op, d1, (size_t)rq.len1, d2,
				    (size_t)rq.len2, (int)rq.budget_ms, &r);
		/* A client that gave up has closed its end: nothing to do. */
		send_response(fd, rc, &r, NULL);
	}
	pgp_result_clear(&r);
	wipe_free(d1, rq.len1);
	wipe_free(d2, rq.len2);
}

static void *serve_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;

	serve(fd);
	close(fd);
	pthread_mutex_lock(&H.mu);
	H.active--;
	pthread_mutex_unlock(&H.mu);
	return NULL;
}

/* Hands a channel to a new thread; refuses it (closing it) when too many
 * run already or no thread can be started. */
static void dispatch(int fd)
{
	pthread_attr_t attr;
	pthread_t tid;
	bool room;
	int rc;

	pthread_mutex_lock(&H.mu);
	room = H.active < HELPER_MAX_REQUESTS;
	if (room)
		H.active++;
	pthread_mutex_unlock(&H.mu);
	if (!room) {
		close(fd);
		return;
	}
	rc = pthread_attr_init(&attr);
	if (rc == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&tid, &attr, serve_thread, (void *)(intptr_t)fd);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		msg_warn("crypto helper: cannot start a thread: %s", strerror(rc));
		close(fd);
		pthread_mutex_lock(&H.mu);
		H.active--;
		pthread_mutex_unlock(&H.mu);
	}
}

/* Reads the hello on fd and makes H.pgp; answers with the outcome. */
static int hello(int fd)
{
	static struct pgp_wire_hello h;
	unsigned char head[PGP_WIRE_REQ_SIZE], body[PGP_WIRE_MAX_HELLO];
	struct pgp_wire_request rq;
	struct timespec deadline;
	struct pgp_config cfg;
	tdk_err err = { "" };
	int rc;

	pgp_wire_deadline(&deadline, HELPER_HELLO_MS);
	rc = pgp_wire_read(fd, head, sizeof head, &deadline);
	if (rc == TDK_OK)
		rc = pgp_wire_request_decode(head, PGP_WIRE_MAX_HELLO, &rq);
	if (rc == TDK_OK && rq.op != PGP_WIRE_HELLO)
		rc = TDK_ECORRUPT;
	if (rc == TDK_OK)
		rc = pgp_wire_read(fd, body, (size_t)rq.len1, &deadline);
	if (rc == TDK_OK)
		rc = pgp_wire_hello_decode(body, (size_t)rq.len1, rq.budget_ms, &h);
	if (rc != TDK_OK) {
		send_response(fd, rc, NULL, "crypto helper: bad hello");
		return rc;
	}
	msg_open("todoke-crypto", h.log_facility, (int)h.log_sinks);
	cfg = (struct pgp_config){
		.gnupg_home = h.has_home ? h.home : NULL,
		.time_budget_ms = (int)h.budget_ms,
		.max_concurrent = (int)h.max_concurrent,
		.max_output = (size_t)h.max_output,
	};
	rc = pgp_new(&cfg, &H.pgp, &err);
	send_response(fd, rc, NULL, rc == TDK_OK ? "" : err.text);
	return rc;
}

int pgp_helper_main(int ctl)
{
	bool bye = false;
	int fd, rc;

	signal(SIGPIPE, SIG_IGN);
	rc = pgp_wire_recv_fd(ctl, &fd);
	if (rc != TDK_OK)
		return 1;
	rc = hello(fd);
	close(fd);
	if (rc != TDK_OK)
		return 1;
	while (!bye) {
		rc = pgp_wire_recv_fd(ctl, &fd);
		if (rc == TDK_OK)
			dispatch(fd);
		else if (rc == TDK_ECORRUPT)
			msg_warn("crypto helper: a control message without a channel");
		else
			bye = true;
	}
	close(ctl);
	pthread_mutex_lock(&H.mu);
	bye = H.active == 0;
	pthread_mutex_unlock(&H.mu);
	if (!bye)
		_exit(0); /* threads still in GPGME: do not run exit handlers */
	pgp_free(H.pgp);
	msg_close();
	return 0;
}
