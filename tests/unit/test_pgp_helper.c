/*
 * test_pgp_helper.c - the crypto helper protocol, and what a client does
 * when its helper misbehaves. No gpg is run.
 *
 * The frame tests encode and decode requests, hellos and responses and
 * break every rule of pgp_wire.h once. The I/O tests use socketpairs. The
 * client tests start this program as a fake helper ("test_pgp_helper
 * --fake-helper DIR"): it answers the hello, then behaves as DIR/mode says
 * (ok, die, hang, oversize, garbage, refuse-hello) and appends its pid to
 * DIR/starts. pgp_new_with_helper needs a GnuPG home with a safe mode: DIR
 * itself, which the fake never reads.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgp.h"
#include "pgp_wire.h"

#define FPR "510F47EB564249207CD29EFAB6951DB633DA42E0"
#define FAKE_TEXT "the fake helper's plaintext"

static struct {
	char dir[64];
	char self[PATH_MAX];
} T;

/* ------------------------------------------------------------- helpers */

static int64_t mono_ms(void)
{
	return pgp_wire_now_ms();
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void set_mode(const char *mode)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/mode", T.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(mode, f);
	assert_int_equal(fclose(f), 0);
}

/* The pids the fake helper wrote, oldest first; returns how many. */
static int starts(pid_t *pids, int max)
{
	char path[PATH_MAX];
	FILE *f;
	long v;
	int n = 0;

	snprintf(path, sizeof path, "%s/starts", T.dir);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (n < max && fscanf(f, "%ld", &v) == 1)
		pids[n++] = (pid_t)v;
	fclose(f);
	return n;
}

static pid_t last_start(void)
{
	pid_t pids[32];
	int n = starts(pids, 32);

	return n > 0 ? pids[n - 1] : 0;
}

/* Running and not a zombie. */
static bool running(pid_t pid)
{
	char path[64], buf[512];
	const char *rp;
	ssize_t got;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	got = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (got <= 0)
		return false;
	buf[got] = '\0';
	rp = strrchr(buf, ')');
	return rp != NULL && rp[1] == ' ' && rp[2] != 'Z';
}

static bool exists(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%ld", (long)pid);
	return access(path, F_OK) == 0;
}

static struct pgp *fake(int budget_ms, size_t max_output, int expect_rc,
			tdk_err *err)
{
	struct pgp_config cfg = { T.dir, budget_ms, 2, max_output };
	const char *argv[] = { T.self, "--fake-helper", T.dir, NULL };
	struct pgp *p = NULL;

	assert_int_equal(pgp_new_with_helper(&cfg, argv, &p, err), expect_rc);
	if (expect_rc == TDK_OK)
		assert_non_null(p);
	else
		assert_null(p);
	return p;
}

static void setup_dir(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/starts", T.dir);
	unlink(path);
	set_mode("ok");
}

/* ------------------------------------------------------ the fake helper */

static void skip_bytes(int fd, uint64_t n, const struct timespec *deadline)
{
	unsigned char buf[4096];

	while (n > 0) {
		size_t k = n < sizeof buf ? (size_t)n : sizeof buf;

		if (pgp_wire_read(fd, buf, k, deadline) != TDK_OK)
			return;
		n -= k;
	}
}

static void fake_answer(int fd, const char *mode)
{
	static unsigned char text[] = FAKE_TEXT;
	unsigned char buf[PGP_WIRE_RESP_MAX];
	struct pgp_result r = { 0 };
	size_t n;

	r.decrypt = PGP_DECRYPTED;
	r.plaintext = text;
	r.plaintext_len = strlen(FAKE_TEXT);
	r.n_sigs = 1;
	r.sigs[0].state = PGP_SIG_GOOD;
	r.sigs[0].created = 1700000000;
	strcpy(r.sigs[0].fingerprint, FPR);
	n = pgp_wire_response_encode(TDK_OK, &r, NULL, buf);
	if (strcmp(mode, "oversize") == 0) {
		/* Claims 1 TiB of plaintext. */
		memset(buf + 16, 0, 8);
		buf[21] = 1;
		pgp_wire_write(fd, buf, n, NULL);
	} else if (strcmp(mode, "garbage") == 0) {
		memset(buf, 0xab, sizeof buf);
		pgp_wire_write(fd, buf, sizeof buf, NULL);
	} else {
		pgp_wire_write(fd, buf, n, NULL);
		pgp_wire_write(fd, text, r.plaintext_len, NULL);
	}
}

static int fake_helper(const char *dir)
{
	unsigned char head[PGP_WIRE_REQ_SIZE], resp[PGP_WIRE_RESP_MAX];
	char path[PATH_MAX], mode[32] = "ok";
	struct pgp_wire_request rq;
	struct timespec deadline;
	FILE *f;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof path, "%s/mode", dir);
	f = fopen(path, "r");
	if (f != NULL) {
		if (fgets(mode, sizeof mode, f) == NULL)
			strcpy(mode, "ok");
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/starts", dir);
	f = fopen(path, "a");
	if (f != NULL) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	/* The hello. */
	if (pgp_wire_recv_fd(0, &fd) != TDK_OK)
		return 1;
	pgp_wire_deadline(&deadline, 5000);
	if (pgp_wire_read(fd, head, sizeof head, &deadline) != TDK_OK ||
	    pgp_wire_request_decode(head, PGP_WIRE_MAX_HELLO, &rq) != TDK_OK)
		return 1;
	skip_bytes(fd, rq.len1, &deadline);
	if (strcmp(mode, "refuse-hello") == 0) {
		size_t n = pgp_wire_response_encode(TDK_ECRYPTO, NULL,
						    "fake helper: GnuPG is not usable",
						    resp);

		pgp_wire_write(fd, resp, n, NULL);
		return 1;
	}
	pgp_wire_write(fd, resp, pgp_wire_response_encode(TDK_OK, NULL, "", resp), NULL);
	close(fd);
	/* The requests. */
	while (pgp_wire_recv_fd(0, &fd) == TDK_OK) {
		pgp_wire_deadline(&deadline, 5000);
		if (pgp_wire_read(fd, head, sizeof head, &deadline) != TDK_OK ||
		    pgp_wire_request_decode(head, PGP_WIRE_MAX_INPUT, &rq) != TDK_OK) {
			close(fd);
			continue;
		}
		skip_bytes(fd, rq.len1 + rq.len2, &deadline);
		if (strcmp(mode, "die") == 0)
			_exit(3);
		if (strcmp(mode, "hang") == 0)
			continue; /* keeps the channel open, never answers */
		fake_answer(fd, mode);
		close(fd);
	}
	return 0;
}

/* ------------------------------------------------------------- frames */

static void request_round_trip(void **state)
{
	struct pgp_wire_request rq = { PGP_WIRE_VERIFY_DETACHED, 4500, 1234, 99 };
	struct pgp_wire_request back;
	unsigned char head[PGP_WIRE_REQ_SIZE];

	(void)state;
	pgp_wire_request_encode(&rq, head);
	assert_memory_equal(head, "TDKq", 4);
	assert_int_equal(pgp_wire_request_decode(head, 10000, &back), TDK_OK);
	assert_int_equal(back.op, PGP_WIRE_VERIFY_DETACHED);
	assert_int_equal(back.budget_ms, 4500);
	assert_int_equal(back.len1, 1234);
	assert_int_equal(back.len2, 99);
}

static int decode_changed(const struct pgp_wire_request *rq, size_t off,
			  unsigned char value, uint64_t max_input)
{
	unsigned char head[PGP_WIRE_REQ_SIZE];
	struct pgp_wire_request back;

	pgp_wire_request_encode(rq, head);
	if (off < sizeof head)
		head[off] = value;
	return pgp_wire_request_decode(head, max_input, &back);
}

static void request_refused(void **state)
{
	struct pgp_wire_request ok = { PGP_WIRE_DECRYPT, 5000, 100, 0 };
	struct pgp_wire_request rq;

	(void)state;
	assert_int_equal(decode_changed(&ok, 99, 0, 1000), TDK_OK);
	assert_int_equal(decode_changed(&ok, 0, 'X', 1000), TDK_ECORRUPT); /* magic */
	assert_int_equal(decode_changed(&ok, 4, 2, 1000), TDK_ECORRUPT);   /* version */
	assert_int_equal(decode_changed(&ok, 6, 0, 1000), TDK_ECORRUPT);   /* op 0 */
	assert_int_equal(decode_changed(&ok, 6, 5, 1000), TDK_ECORRUPT);   /* op 5 */
	assert_int_equal(decode_changed(&ok, 13, 1, 1000), TDK_ECORRUPT);  /* padding */
	/* Budget 0 and over 600 s. */
	rq = ok;
	rq.budget_ms = 0;
	assert_int_equal(decode_changed(&rq, 99, 0, 1000), TDK_ECORRUPT);
	rq.budget_ms = 600001;
	assert_int_equal(decode_changed(&rq, 99, 0, 1000), TDK_ECORRUPT);
	/* A second part only for a detached verification. */
	rq = ok;
	rq.len2 = 1;
	assert_int_equal(decode_changed(&rq, 99, 0, 1000), TDK_ECORRUPT);
	/* Lengths over the cap; the cap never over PGP_WIRE_MAX_INPUT. */
	rq = ok;
	rq.len1 = 1001;
	assert_int_equal(decode_changed(&rq, 99, 0, 1000), TDK_ELIMIT);
	rq.op = PGP_WIRE_VERIFY_DETACHED;
	rq.len1 = 10;
	rq.len2 = 1001;
	assert_int_equal(decode_changed(&rq, 99, 0, 1000), TDK_ELIMIT);
	rq.len2 = PGP_WIRE_MAX_INPUT + 1;
	assert_int_equal(decode_changed(&rq, 99, 0, UINT64_MAX), TDK_ELIMIT);
	rq.len1 = UINT64_MAX;
	rq.len2 = 0;
	assert_int_equal(decode_changed(&rq, 99, 0, UINT64_MAX), TDK_ELIMIT);
	/* A hello body over its cap. */
	rq = (struct pgp_wire_request){ PGP_WIRE_HELLO, 5000, PGP_WIRE_MAX_HELLO + 1, 0 };
	assert_int_equal(decode_changed(&rq, 99, 0, UINT64_MAX), TDK_ELIMIT);
}

static void hello_round_trip(void **state)
{
	struct pgp_wire_hello h = { .budget_ms = 5000, .max_concurrent = 3,
				    .max_output = 52428801, .has_home = true,
				    .home = "/var/lib/todoke/gnupg", .log_sinks = 1,
				    .log_facility = "local3" };
	struct pgp_wire_hello back;
	unsigned char buf[PGP_WIRE_MAX_HELLO];
	size_t n;

	(void)state;
	n = pgp_wire_hello_encode(&h, buf);
	assert_int_equal(n, 20 + strlen(h.home) + strlen("local3"));
	assert_int_equal(pgp_wire_hello_decode(buf, n, 5000, &back), TDK_OK);
	assert_int_equal(back.max_concurrent, 3);
	assert_int_equal(back.max_output, 52428801);
	assert_true(back.has_home);
	assert_string_equal(back.home, "/var/lib/todoke/gnupg");
	assert_int_equal(back.log_sinks, 1);
	assert_string_equal(back.log_facility, "local3");

	/* No home: gpg's default. */
	h.has_home = false;
	n = pgp_wire_hello_encode(&h, buf);
	assert_int_equal(pgp_wire_hello_decode(buf, n, 5000, &back), TDK_OK);
	assert_false(back.has_home);
	assert_string_equal(back.home, "");
}

static void hello_refused(void **state)
{
	struct pgp_wire_hello h = { .budget_ms = 5000, .max_concurrent = 2,
				    .max_output = 100, .has_home = true,
				    .home = "/home", .log_sinks = 2,
				    .log_facility = "mail" };
	struct pgp_wire_hello back;
	unsigned char buf[PGP_WIRE_MAX_HELLO], bad[PGP_WIRE_MAX_HELLO];
	size_t n;

	(void)state;
	n = pgp_wire_hello_encode(&h, buf);
	assert_int_equal(pgp_wire_hello_decode(buf, n - 1, 5000, &back), TDK_ECORRUPT);
	assert_int_equal(pgp_wire_hello_decode(buf, 19, 5000, &back), TDK_ECORRUPT);
	memcpy(bad, buf, n);
	bad[16] = 2; /* has_home neither 0 nor 1 */
	assert_int_equal(pgp_wire_hello_decode(bad, n, 5000, &back), TDK_ECORRUPT);
	memcpy(bad, buf, n);
	bad[21] = '\0'; /* NUL inside the home */
	assert_int_equal(pgp_wire_hello_decode(bad, n, 5000, &back), TDK_ECORRUPT);
	memcpy(bad, buf, n);
	memset(bad + 8, 0, 8); /* output cap 0 */
	assert_int_equal(pgp_wire_hello_decode(bad, n, 5000, &back), TDK_ECORRUPT);
	memcpy(bad, buf, n);
	bad[4] = 4; /* no such log sink */
	assert_int_equal(pgp_wire_hello_decode(bad, n, 5000, &back), TDK_ECORRUPT);
	memcpy(bad, buf, n);
	bad[18] = 0xff; /* home length past the end */
	bad[19] = 0xff;
	assert_int_equal(pgp_wire_hello_decode(bad, n, 5000, &back), TDK_ECORRUPT);
	/* The longest home there is still goes through. */
	memset(h.home, 'a', PGP_WIRE_MAX_HOME);
	h.home[PGP_WIRE_MAX_HOME] = '\0';
	n = pgp_wire_hello_encode(&h, buf);
	assert_int_equal(n, 20 + PGP_WIRE_MAX_HOME + strlen("mail"));
	assert_int_equal(pgp_wire_hello_decode(buf, n, 5000, &back), TDK_OK);
	assert_int_equal(strlen(back.home), PGP_WIRE_MAX_HOME);
}

static struct pgp_result sample_result(void)
{
	static unsigned char text[] = "plain text\n";
	struct pgp_result r = { 0 };

	r.decrypt = PGP_DECRYPTED;
	strcpy(r.detail, "2 signatures");
	r.n_sigs = 2;
	r.sigs[0] = (struct pgp_signature){ PGP_SIG_GOOD, FPR, 1700000000 };
	r.sigs[1] = (struct pgp_signature){ PGP_SIG_UNKNOWN_KEY, "B6951DB633DA42E0", 0 };
	r.plaintext = text;
	r.plaintext_len = sizeof text - 1;
	return r;
}

static void response_round_trip(void **state)
{
	struct pgp_result r = sample_result(), back;
	struct pgp_wire_response resp;
	unsigned char buf[PGP_WIRE_RESP_MAX];
	size_t n;

	(void)state;
	n = pgp_wire_response_encode(TDK_OK, &r, NULL, buf);
	assert_int_equal(n, PGP_WIRE_RESP_SIZE + strlen(r.detail));
	assert_memory_equal(buf, "TDKr", 4);
	assert_int_equal(pgp_wire_response_decode(buf, 100, &resp, &back), TDK_OK);
	assert_int_equal(resp.rc, TDK_OK);
	assert_int_equal(resp.detail_len, strlen(r.detail));
	assert_true(resp.has_plaintext);
	assert_int_equal(resp.plaintext_len, r.plaintext_len);
	assert_int_equal(back.decrypt, PGP_DECRYPTED);
	assert_int_equal(back.n_sigs, 2);
	assert_int_equal(back.sigs[0].state, PGP_SIG_GOOD);
	assert_string_equal(back.sigs[0].fingerprint, FPR);
	assert_int_equal(back.sigs[0].created, 1700000000);
	assert_int_equal(back.sigs[1].state, PGP_SIG_UNKNOWN_KEY);
	assert_string_equal(back.sigs[1].fingerprint, "B6951DB633DA42E0");
	assert_null(back.plaintext);
	assert_false(back.output_exceeded);
	/* The plaintext must fit the reader's cap, exactly at it is fine. */
	assert_int_equal(pgp_wire_response_decode(buf, r.plaintext_len, &resp, &back),
			 TDK_OK);
	assert_int_equal(pgp_wire_response_decode(buf, r.plaintext_len - 1, &resp, &back),
			 TDK_ELIMIT);

	/* An operation's error: a status and nothing else. */
	n = pgp_wire_response_encode(TDK_ENOMEM, &r, NULL, buf);
	assert_int_equal(n, PGP_WIRE_RESP_SIZE);
	assert_int_equal(pgp_wire_response_decode(buf, 100, &resp, &back), TDK_OK);
	assert_int_equal(resp.rc, TDK_ENOMEM);
	assert_false(resp.has_plaintext);

	/* A failure carries the output flag. */
	memset(&r, 0, sizeof r);
	r.decrypt = PGP_DECRYPT_FAILED;
	r.output_exceeded = true;
	strcpy(r.detail, "decrypted output exceeds 100 bytes");
	n = pgp_wire_response_encode(TDK_OK, &r, NULL, buf);
	assert_int_equal(pgp_wire_response_decode(buf, 100, &resp, &back), TDK_OK);
	assert_true(back.output_exceeded);
	assert_int_equal(back.decrypt, PGP_DECRYPT_FAILED);
	assert_false(resp.has_plaintext);
}

/* Decodes buf after setting one byte. */
static int resp_changed(const unsigned char *buf, size_t off, unsigned char v)
{
	unsigned char b[PGP_WIRE_RESP_SIZE];
	struct pgp_wire_response resp;
	struct pgp_result out;

	memcpy(b, buf, sizeof b);
	b[off] = v;
	return pgp_wire_response_decode(b, 1000, &resp, &out);
}

static void response_refused(void **state)
{
	struct pgp_result r = sample_result();
	unsigned char buf[PGP_WIRE_RESP_MAX], fail[PGP_WIRE_RESP_MAX];
	const size_t sig0 = 24, sig1 = 24 + 56, sig2 = 24 + 2 * 56;

	(void)state;
	pgp_wire_response_encode(TDK_OK, &r, NULL, buf);
	assert_int_equal(resp_changed(buf, 3, 'q'), TDK_ECORRUPT);        /* magic */
	assert_int_equal(resp_changed(buf, 4, 9), TDK_ECORRUPT);          /* version */
	assert_int_equal(resp_changed(buf, 6, TDK_STATUS_COUNT), TDK_ECORRUPT);
	assert_int_equal(resp_changed(buf, 8, 4), TDK_ECORRUPT);          /* state */
	assert_int_equal(resp_changed(buf, 9, 4 | 2), TDK_ECORRUPT);      /* flags */
	assert_int_equal(resp_changed(buf, 9, 0), TDK_ECORRUPT);          /* length, no flag */
	assert_int_equal(resp_changed(buf, 10, 5), TDK_ECORRUPT);         /* 5 signatures */
	assert_int_equal(resp_changed(buf, 10, 1), TDK_ECORRUPT);         /* 2nd slot not empty */
	assert_int_equal(resp_changed(buf, 10, 3), TDK_ECORRUPT);         /* 3rd slot empty */
	assert_int_equal(resp_changed(buf, 11, 1), TDK_ECORRUPT);         /* padding */
	assert_int_equal(resp_changed(buf, 13, 2), TDK_ELIMIT);           /* detail 512+ */
	assert_int_equal(resp_changed(buf, sig0, 0), TDK_ECORRUPT);       /* sig state 0 */
	assert_int_equal(resp_changed(buf, sig0, 7), TDK_ECORRUPT);       /* sig state 7 */
	assert_int_equal(resp_changed(buf, sig0 + 1, 20), TDK_ECORRUPT);  /* fpr length */
	assert_int_equal(resp_changed(buf, sig0 + 1, 41), TDK_ECORRUPT);
	assert_int_equal(resp_changed(buf, sig0 + 16, 'G'), TDK_ECORRUPT); /* not hex */
	assert_int_equal(resp_changed(buf, sig1 + 16 + 16, 'A'), TDK_ECORRUPT); /* past fpr */
	assert_int_equal(resp_changed(buf, sig0 + 15, 0x80), TDK_ECORRUPT); /* negative time */
	assert_int_equal(resp_changed(buf, sig2 + 3, 1), TDK_ECORRUPT);   /* empty slot */
	assert_int_equal(resp_changed(buf, 21, 1), TDK_ELIMIT);           /* 1 TiB */

	/* Failures and deferrals carry neither plaintext nor signatures. */
	assert_int_equal(resp_changed(buf, 8, PGP_DECRYPT_FAILED), TDK_ECORRUPT);
	memset(&r, 0, sizeof r);
	r.decrypt = PGP_DECRYPT_DEFERRED;
	pgp_wire_response_encode(TDK_OK, &r, NULL, fail);
	assert_int_equal(resp_changed(fail, 9, 1), TDK_ECORRUPT); /* output flag */
	assert_int_equal(resp_changed(fail, 8, PGP_DECRYPT_DEFERRED), TDK_OK);
	/* Decrypted without plaintext. */
	assert_int_equal(resp_changed(fail, 8, PGP_DECRYPTED), TDK_ECORRUPT);
	/* An error status with anything beside it. */
	pgp_wire_response_encode(TDK_EINVAL, NULL, NULL, fail);
	assert_int_equal(resp_changed(fail, 8, 1), TDK_ECORRUPT);
	assert_int_equal(resp_changed(fail, sig0 + 9, 1), TDK_ECORRUPT);
}

static void detail_cleaned(void **state)
{
	static const unsigned char raw[] = "bad\nline\0x\x7f" "end";
	char dst[8];

	(void)state;
	pgp_wire_detail_copy(dst, sizeof dst, raw, sizeof raw - 1);
	assert_string_equal(dst, "bad?lin");
	{
		char big[32];

		pgp_wire_detail_copy(big, sizeof big, raw, sizeof raw - 1);
		assert_string_equal(big, "bad?line?x?end");
	}
}

/* ----------------------------------------------------------------- I/O */

static void io_round_trip_and_deadline(void **state)
{
	unsigned char out[200000], in[200000], *big;
	const size_t big_len = 16 << 20; /* more than any socket buffer */
	struct timespec deadline;
	int sv[2];
	int64_t t0;
	pid_t child;

	(void)state;
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (unsigned char)(i * 31);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* More than a socket buffer holds: a reader on the other end. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(sv[0]);
		pgp_wire_deadline(&deadline, 5000);
		if (pgp_wire_read(sv[1], in, sizeof in, &deadline) != TDK_OK ||
		    memcmp(in, out, sizeof in) != 0)
			_exit(1);
		_exit(pgp_wire_write(sv[1], "ok", 2, &deadline) == TDK_OK ? 0 : 1);
	}
	close(sv[1]);
	pgp_wire_deadline(&deadline, 5000);
	assert_int_equal(pgp_wire_write(sv[0], out, sizeof out, &deadline), TDK_OK);
	assert_int_equal(pgp_wire_read(sv[0], in, 2, &deadline), TDK_OK);
	assert_memory_equal(in, "ok", 2);
	{
		int st;

		assert_int_equal(waitpid(child, &st, 0), child);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	/* End of file before the whole frame. */
	assert_int_equal(pgp_wire_read(sv[0], in, 1, &deadline), TDK_EIO);
	/* Writing to a closed peer: an error, not SIGPIPE. */
	assert_int_equal(pgp_wire_write(sv[0], out, 10, &deadline), TDK_EIO);
	close(sv[0]);

	/* Nobody reads, nobody writes: the deadline. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	big = calloc(1, big_len);
	assert_non_null(big);
	t0 = mono_ms();
	pgp_wire_deadline(&deadline, 200);
	assert_int_equal(pgp_wire_read(sv[0], in, 1, &deadline), TDK_ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 190 && mono_ms() - t0 < 400);
	t0 = mono_ms();
	pgp_wire_deadline(&deadline, 200);
	assert_int_equal(pgp_wire_write(sv[0], big, big_len, &deadline), TDK_ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 190 && mono_ms() - t0 < 400);
	free(big);
	close(sv[0]);
	close(sv[1]);
}

static void fd_passing(void **state)
{
	int ctl[2], ch[2], got = -1, n_sent = 0;
	char byte = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, ch), 0);
	assert_int_equal(pgp_wire_send_fd(ctl[0], ch[1]), TDK_OK);
	assert_int_equal(pgp_wire_recv_fd(ctl[1], &got), TDK_OK);
	assert_true(got >= 0 && got != ch[1]);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(got, "x", 1), 1);
	assert_int_equal(read(ch[0], &byte, 1), 1);
	assert_int_equal(byte, 'x');
	close(got);

	/* A message without a descriptor, or with two. */
	assert_int_equal(send(ctl[0], "C", 1, 0), 1);
	assert_int_equal(pgp_wire_recv_fd(ctl[1], &got), TDK_ECORRUPT);
	assert_int_equal(got, -1);
	{
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(2 * sizeof(int))];
		} cm;
		struct iovec iov = { .iov_base = "C", .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cm.buf,
				     .msg_controllen = sizeof cm.buf };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		int two[2] = { ch[1], ch[1] };

		memset(&cm, 0, sizeof cm);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof two);
		memcpy(CMSG_DATA(c), two, sizeof two);
		assert_int_equal(sendmsg(ctl[0], &mh, 0), 1);
		assert_int_equal(pgp_wire_recv_fd(ctl[1], &got), TDK_ECORRUPT);
	}
	/* Whoever is not read fills the queue: no waiting, "full". */
	for (;;) {
		int rc = pgp_wire_send_fd(ctl[0], ch[1]);

		if (rc != TDK_OK) {
			assert_int_equal(rc, TDK_EFULL);
			break;
		}
		assert_true(++n_sent < 100000);
	}
	/* The end of file. */
	close(ctl[0]);
	while (n_sent-- > 0) {
		assert_int_equal(pgp_wire_recv_fd(ctl[1], &got), TDK_OK);
		close(got);
	}
	assert_int_equal(pgp_wire_recv_fd(ctl[1], &got), TDK_ENOENT);
	close(ctl[1]);
	/* Sending to a helper that is gone. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl), 0);
	close(ctl[1]);
	assert_int_equal(pgp_wire_send_fd(ctl[0], ch[1]), TDK_EIO);
	close(ctl[0]);
	close(ch[0]);
	close(ch[1]);
}

/* ----------------------------------------------- the client, fake helper */

static void client_answers(void **state)
{
	struct pgp_result r;
	tdk_err err;
	struct pgp *p;
	pid_t pid;

	(void)state;
	setup_dir();
	p = fake(5000, 1000, TDK_OK, &err);
	pid = last_start();
	assert_true(running(pid));
	assert_int_equal(pgp_decrypt(p, "cipher", 6, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	assert_int_equal(r.plaintext_len, strlen(FAKE_TEXT));
	assert_string_equal((char *)r.plaintext, FAKE_TEXT);
	assert_int_equal(r.n_sigs, 1);
	assert_string_equal(r.sigs[0].fingerprint, FPR);
	pgp_result_clear(&r);
	assert_int_equal(pgp_verify_detached(p, "signed", 6, "sig", 3, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED); /* whatever the fake says */
	pgp_result_clear(&r);

	/* Arguments are checked here, not sent. */
	assert_int_equal(pgp_decrypt(p, NULL, 5, &r), TDK_EINVAL);
	assert_int_equal(pgp_decrypt(p, "x", 1, NULL), TDK_EINVAL);
	assert_int_equal(pgp_verify_detached(p, NULL, 1, "s", 1, &r), TDK_EINVAL);
	/* Larger than any mail: refused without being sent (never read). */
	assert_int_equal(pgp_decrypt(p, "x", (size_t)PGP_WIRE_MAX_INPUT + 1, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_non_null(strstr(r.detail, "input exceeds"));
	assert_int_equal(pgp_verify_inline(p, "x", (size_t)PGP_WIRE_MAX_INPUT + 1, &r),
			 TDK_OK);
	assert_int_equal(r.decrypt, PGP_NOT_ENCRYPTED);

	/* Still the one helper; pgp_free reaps it. */
	{
		pid_t pids[8];

		assert_int_equal(starts(pids, 8), 1);
	}
	pgp_free(p);
	assert_false(exists(pid));
}

static void client_start_refused(void **state)
{
	struct pgp_config cfg = { T.dir, 5000, 2, 1000 };
	const char *argv[] = { "/nonexistent/helper", "--crypto-helper", NULL };
	struct pgp *p = NULL;
	tdk_err err;

	(void)state;
	setup_dir();
	set_mode("refuse-hello");
	fake(5000, 1000, TDK_ECRYPTO, &err);
	assert_string_equal(err.text, "fake helper: GnuPG is not usable");
	assert_false(exists(last_start()));

	assert_int_equal(pgp_new_with_helper(&cfg, argv, &p, &err), TDK_ECRYPTO);
	assert_null(p);
	/* posix_spawn says so, or (under valgrind) the child ends at once. */
	assert_non_null(strstr(err.text, "/nonexistent/helper"));

	/* The configuration is checked before anything is started. */
	cfg.max_concurrent = 0;
	argv[0] = T.self;
	assert_int_equal(pgp_new_with_helper(&cfg, argv, &p, &err), TDK_ERANGE);
	assert_int_equal(pgp_new_with_helper(&cfg, NULL, &p, &err), TDK_EINVAL);
}

static void client_helper_dies(void **state)
{
	struct pgp_result r;
	tdk_err err;
	struct pgp *p;
	pid_t pids[8];
	int64_t started;

	(void)state;
	setup_dir();
	set_mode("die");
	started = mono_ms();
	p = fake(5000, 1000, TDK_OK, &err);
	assert_int_equal(pgp_decrypt(p, "cipher", 6, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
	assert_string_equal(r.detail, "crypto helper failed: the operation was cut off");
	assert_false(exists(last_start())); /* reaped */
	/* Started less than a second ago: not again yet (unless this machine
	 * was too slow to tell). */
	if (mono_ms() - started < 900) {
		assert_int_equal(pgp_decrypt(p, "cipher", 6, &r), TDK_OK);
		assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
		assert_string_equal(r.detail, "crypto helper unavailable: restarting");
		assert_int_equal(starts(pids, 8), 1);
	}
	/* A second later, a new helper answers. */
	set_mode("ok");
	sleep_ms(1000);
	assert_int_equal(pgp_decrypt(p, "cipher", 6, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	pgp_result_clear(&r);
	assert_int_equal(starts(pids, 8), 2);
	pgp_free(p);
	assert_false(exists(pids[1]));
}

static void client_bad_answers(void **state)
{
	static const char *const modes[] = { "oversize", "garbage" };
	struct pgp_result r;
	tdk_err err;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct pgp *p;
		pid_t pid;

		setup_dir();
		set_mode(modes[i]);
		p = fake(5000, 1000, TDK_OK, &err);
		pid = last_start();
		assert_int_equal(pgp_decrypt(p, "cipher", 6, &r), TDK_OK);
		assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
		assert_string_equal(r.detail, "crypto helper failed: a bad answer");
		assert_null(r.plaintext);
		assert_int_equal(r.n_sigs, 0);
		/* A helper that breaks the protocol is not trusted again. */
		assert_false(exists(pid));
		pgp_free(p);
	}
}

static void client_helper_hangs(void **state)
{
	struct pgp_result r;
	tdk_err err;
	struct pgp *p;
	pid_t pid, pids[8];
	int calls = 0;

	(void)state;
	setup_dir();
	set_mode("hang");
	p = fake(200, 1000, TDK_OK, &err);
	pid = last_start();
	while (exists(pid) && calls < 12) {
		int64_t t0 = mono_ms(), elapsed;

		assert_int_equal(pgp_decrypt(p, "cipher", 6, &r), TDK_OK);
		elapsed = mono_ms() - t0;
		assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
		assert_string_equal(r.detail, "time budget 200 ms exhausted");
		assert_true(elapsed >= 190 && elapsed < 400);
		calls++;
	}
	/* Three in a row and a second without an answer. */
	assert_false(exists(pid));
	assert_true(calls >= 5 && calls <= 7);
	set_mode("ok");
	assert_int_equal(pgp_decrypt(p, "cipher", 6, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	pgp_result_clear(&r);
	assert_int_equal(starts(pids, 8), 2);
	pgp_free(p);
}

/* --------------------------------------------------------------- main */

static int group_setup(void **state)
{
	ssize_t n;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	n = readlink("/proc/self/exe", T.self, sizeof T.self - 1);
	if (n <= 0)
		return -1;
	T.self[n] = '\0';
	snprintf(T.dir, sizeof T.dir, "/tmp/tdk-helper.XXXXXX");
	return mkdtemp(T.dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof path, "%s/mode", T.dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/starts", T.dir);
	unlink(path);
	rmdir(T.dir);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_round_trip),
		cmocka_unit_test(request_refused),
		cmocka_unit_test(hello_round_trip),
		cmocka_unit_test(hello_refused),
		cmocka_unit_test(response_round_trip),
		cmocka_unit_test(response_refused),
		cmocka_unit_test(detail_cleaned),
		cmocka_unit_test(io_round_trip_and_deadline),
		cmocka_unit_test(fd_passing),
		cmocka_unit_test(client_answers),
		cmocka_unit_test(client_start_refused),
		cmocka_unit_test(client_helper_dies),
		cmocka_unit_test(client_bad_answers),
		cmocka_unit_test(client_helper_hangs),
	};

	if (argc == 3 && strcmp(argv[1], "--fake-helper") == 0)
		return fake_helper(argv[2]);
	return cmocka_run_group_tests_name("pgp_helper", tests, group_setup,
					   group_teardown);
}
