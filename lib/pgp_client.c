/*
 * pgp_client.c - running the operations of pgp.h in a crypto helper.
 *
 * Owns: the helper process of one struct pgp made by
 * pgp_new_with_helper(): starting it (posix_spawn, which does not copy the
 * caller's memory, so a large multi-threaded caller may start it at any
 * time), its hello, noticing that it ended or stopped answering, killing,
 * reaping and restarting it, and sending each operation to it on a
 * channel of its own (pgp_wire.h) under the caller's time budget.
 *
 * Each operation: a fresh socketpair; one end goes to the helper over the
 * control socket (under the mutex, without waiting), the request is
 * written on the other and the answer read there, both until the deadline
 * the budget sets. The helper gets a little less time than the caller has
 * left, so that its own answer ("time budget ... exhausted", "no
 * decryption slot free ...") arrives before the caller stops waiting. A
 * caller that stops waiting closes its channel; the helper notices when it
 * writes its answer.
 *
 * The answer is checked against the caps before anything is allocated for
 * it: a helper that breaks the protocol is killed and replaced, and the
 * operation is deferred. Nothing is logged about content.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "pgp_internal.h"

extern char **environ;

#define CLIENT_HELLO_MS 10000 /* the first start's answer */
#define CLIENT_RESPAWN_MS 1000 /* at most one start a second */
#define CLIENT_MAX_MISSES 3    /* operations in a row without an answer... */
#define CLIENT_SILENCE_MS 1000 /* ...and this long since the last one */
#define CLIENT_REAP_MS 1000    /* wait for the helper to end, then kill */
#define CLIENT_MARGIN_MS 100   /* most kept back from the helper's budget */
#define CLIENT_EXIT_MS 20      /* a channel closed: is the helper ending? */

struct pgp_client {
	pthread_mutex_t mu;
	char **argv;
	struct pgp_wire_hello hello;
	int budget_ms;
	uint64_t max_output;

	/* The helper, under mu. */
	int ctl;            /* control socket; -1: none running */
	pid_t pid;
	unsigned gen;       /* helpers started so far */
	int64_t started_ms; /* when the last one was started; 0: never */
	int64_t answer_ms;  /* its last complete answer, or its start */
	int misses;         /* operations in a row that got no answer in time */
};

/* How an exchange on a channel ended. */
enum xfer {
	XFER_ANSWER,    /* a complete, valid answer */
	XFER_TIMEOUT,   /* the deadline passed first */
	XFER_CLOSED,    /* the channel closed or failed */
	XFER_BAD,       /* the helper broke the protocol */
	XFER_NOMEM,     /* no memory for the answer */
};

static void defer(struct pgp_result *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void defer(struct pgp_result *out, const char *fmt, ...)
{
	va_list ap;

	pgp_result_clear(out);
	out->decrypt = PGP_DECRYPT_DEFERRED;
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof out->detail, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------ the helper process */

static void argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static char **argv_copy(const char *const *argv)
{
	size_t n = 0;
	char **copy;

	while (argv[n] != NULL)
		n++;
	copy = calloc(n + 1, sizeof *copy);
	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(argv[i]);
		if (copy[i] == NULL) {
			argv_free(copy);
			return NULL;
		}
	}
	return copy;
}

/* File actions of the helper: control socket on 0, /dev/null on 1 (and on
 * 2 when this process has no stderr), nothing else open. */
static int spawn_actions(posix_spawn_file_actions_t *fa, int child_end)
{
	int rc = posix_spawn_file_actions_init(fa);

	if (rc != 0)
		return rc;
	rc = posix_spawn_file_actions_adddup2(fa, child_end, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
	if (rc == 0 && fcntl(2, F_GETFD) < 0)
		rc = posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
	if (rc != 0)
		posix_spawn_file_actions_destroy(fa);
	return rc;
}

/* Signals of the helper: none blocked, every one at its default. */
static int spawn_attr(posix_spawnattr_t *attr)
{
	sigset_t none, all;
	int rc = posix_spawnattr_init(attr);

	if (rc != 0)
		return rc;
	sigemptyset(&none);
	sigfillset(&all);
	rc = posix_spawnattr_setsigmask(attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(attr, &all);
	if (rc == 0)
		rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF);
	if (rc != 0)
		posix_spawnattr_destroy(attr);
	return rc;
}

/* Starts the process on the child end of a control socketpair. */
static int spawn_process(struct pgp_client *c, int sv[2], pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return errno;
	rc = spawn_actions(&fa, sv[1]);
	if (rc == 0) {
		rc = spawn_attr(&attr);
		if (rc == 0) {
			rc = posix_spawn(pid, c->argv[0], &fa, &attr, c->argv, environ);
			posix_spawnattr_destroy(&attr);
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	close(sv[1]);
	if (rc != 0)
		close(sv[0]);
	return rc;
}

/* Opens a request channel to the helper on ctl: our end in *fd. */
static int open_channel(int ctl, int *fd)
{
	int sv[2], rc;

	*fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return errno == ENOMEM || errno == ENOBUFS ? TDK_ENOMEM : TDK_EIO;
	rc = pgp_wire_send_fd(ctl, sv[1]);
	close(sv[1]);
	if (rc != TDK_OK) {
		close(sv[0]);
		return rc;
	}
	*fd = sv[0];
	return TDK_OK;
}

/* Sends the hello on a new channel; our end in *fd, for the answer. */
static int send_hello(const struct pgp_client *c, int ctl, int *fd)
{
	unsigned char head[PGP_WIRE_REQ_SIZE], body[PGP_WIRE_MAX_HELLO];
	struct pgp_wire_request rq = { .op = PGP_WIRE_HELLO,
				       .budget_ms = (uint32_t)c->budget_ms };
	struct timespec deadline;
	int rc;

	rq.len1 = pgp_wire_hello_encode(&c->hello, body);
	if (rq.len1 == 0)
		return TDK_EINVAL;
	rc = open_channel(ctl, fd);
	if (rc != TDK_OK)
		return rc;
	pgp_wire_request_encode(&rq, head);
	pgp_wire_deadline(&deadline, CLIENT_HELLO_MS);
	rc = pgp_wire_write(*fd, head, sizeof head, &deadline);
	if (rc == TDK_OK)
		rc = pgp_wire_write(*fd, body, (size_t)rq.len1, &deadline);
	if (rc != TDK_OK) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

/* Ends the helper (if it has not ended) and reaps it. Under mu. */
static void reap(struct pgp_client *c)
{
	if (c->ctl >= 0)
		close(c->ctl);
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	c->ctl = -1;
	c->pid = 0;
}

/*
 * Starts a helper and sends its hello; *hello_fd (if not NULL) gets the
 * channel of the hello's answer, else it is closed unread (a helper that
 * refuses the hello ends, and the next operation notices). Under mu.
 */
static int start_helper(struct pgp_client *c, int *hello_fd, char *why,
			size_t why_len)
{
	int sv[2], fd = -1, rc;
	pid_t pid;

	c->started_ms = pgp_wire_now_ms();
	rc = spawn_process(c, sv, &pid);
	if (rc != 0) {
		snprintf(why, why_len, "cannot start %s: %s", c->argv[0], strerror(rc));
		return TDK_EIO;
	}
	c->ctl = sv[0];
	c->pid = pid;
	c->gen++;
	c->answer_ms = c->started_ms;
	c->misses = 0;
	rc = send_hello(c, c->ctl, &fd);
	if (rc != TDK_OK) {
		snprintf(why, why_len, "cannot send the hello to %s: %s", c->argv[0],
			 tdk_strerror(rc));
		reap(c);
		return rc;
	}
	if (hello_fd != NULL)
		*hello_fd = fd;
	else
		close(fd);
	return TDK_OK;
}

/* True when the helper's end of the control socket is closed (or closes
 * within wait_ms). */
static bool helper_gone(int ctl, int wait_ms)
{
	struct pollfd pfd = { .fd = ctl, .events = POLLIN };

	/* The helper never writes here: anything readable is its end. */
	return poll(&pfd, 1, wait_ms) > 0;
}

/*
 * Gives the helper the channel of one operation, starting a helper when
 * none runs (at most once in CLIENT_RESPAWN_MS). TDK_OK with *gen set, or
 * a reason in why (for a deferral).
 */
static int send_channel(struct pgp_client *c, int *fd, unsigned *gen,
			char *why, size_t why_len)
{
	int rc = TDK_EIO;

	pthread_mutex_lock(&c->mu);
	for (int attempt = 0; attempt < 2 && rc != TDK_OK; attempt++) {
		if (c->ctl >= 0 && helper_gone(c->ctl, 0)) {
			msg_warn("crypto helper (pid %ld) has ended; starting a new one",
				 (long)c->pid);
			reap(c);
		}
		if (c->ctl < 0) {
			if (pgp_wire_now_ms() - c->started_ms < CLIENT_RESPAWN_MS) {
				snprintf(why, why_len, "unavailable: restarting");
				break;
			}
			if (start_helper(c, NULL, why, why_len) != TDK_OK) {
				msg_warn("crypto helper: %s", why);
				snprintf(why, why_len, "unavailable: cannot start it");
				break;
			}
		}
		rc = open_channel(c->ctl, fd);
		if (rc == TDK_EFULL || rc == TDK_ENOMEM) {
			snprintf(why, why_len, "unavailable: %s",
				 rc == TDK_EFULL ? "busy" : "out of memory");
			break;
		}
		if (rc != TDK_OK) {
			/* The helper went away just now: once more. */
			reap(c);
			snprintf(why, why_len, "unavailable: it ended");
		}
	}
	*gen = c->gen;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* Takes note of how an exchange with helper gen ended. */
static void account(struct pgp_client *c, unsigned gen, enum xfer x)
{
	int64_t now = pgp_wire_now_ms();

	pthread_mutex_lock(&c->mu);
	if (gen != c->gen || c->ctl < 0) {
		pthread_mutex_unlock(&c->mu);
		return; /* a helper already replaced */
	}
	if (x == XFER_ANSWER) {
		c->misses = 0;
		c->answer_ms = now;
	} else if (x == XFER_TIMEOUT) {
		c->misses++;
		if (c->misses >= CLIENT_MAX_MISSES &&
		    now - c->answer_ms >= CLIENT_SILENCE_MS) {
			msg_warn("crypto helper (pid %ld) has not answered for %lld ms; "
				 "killing it", (long)c->pid,
				 (long long)(now - c->answer_ms));
			reap(c);
		}
	} else if (x == XFER_BAD) {
		msg_warn("crypto helper (pid %ld) broke the protocol; killing it",
			 (long)c->pid);
		reap(c);
	} else if (x == XFER_CLOSED && helper_gone(c->ctl, CLIENT_EXIT_MS)) {
		/* A dying process closes its descriptors in no set order. */
		msg_warn("crypto helper (pid %ld) ended during an operation",
			 (long)c->pid);
		reap(c);
	}
	pthread_mutex_unlock(&c->mu);
}

/* --------------------------------------------------------------- exchange */

static enum xfer xfer_of(int rc)
{
	switch (rc) {
	case TDK_OK:
		return XFER_ANSWER;
	case TDK_ETIMEDOUT:
		return XFER_TIMEOUT;
	case TDK_ECORRUPT:
	case TDK_ELIMIT:
		return XFER_BAD;
	case TDK_ENOMEM:
		return XFER_NOMEM;
	default:
		return XFER_CLOSED;
	}
}

/* Of the time left, what the helper gets: a little less. */
static uint32_t helper_budget(int64_t left)
{
	int64_t margin = left / 10 < CLIENT_MARGIN_MS ? left / 10 : CLIENT_MARGIN_MS;
	int64_t b = left - margin;

	if (b < 1)
		b = 1;
	if (b > PGP_WIRE_MAX_BUDGET_MS)
		b = PGP_WIRE_MAX_BUDGET_MS;
	return (uint32_t)b;
}

static enum xfer send_request(int fd, enum pgp_wire_op op, const void *data,
			      size_t len, const void *data2, size_t len2,
			      const struct timespec *deadline)
{
	unsigned char head[PGP_WIRE_REQ_SIZE];
	struct pgp_wire_request rq = { .op = op, .len1 = len, .len2 = len2 };
	int64_t left = pgp_wire_ms_left(deadline);
	int rc;

	if (left <= 0)
		return XFER_TIMEOUT;
	rq.budget_ms = helper_budget(left);
	pgp_wire_request_encode(&rq, head);
	rc = pgp_wire_write(fd, head, sizeof head, deadline);
	if (rc == TDK_OK && len > 0)
		rc = pgp_wire_write(fd, data, len, deadline);
	if (rc == TDK_OK && len2 > 0)
		rc = pgp_wire_write(fd, data2, len2, deadline);
	return xfer_of(rc);
}

/* Reads the plaintext of an answer into out. */
static int read_plaintext(int fd, uint64_t len, struct pgp_result *out,
			  const struct timespec *deadline)
{
	unsigned char *buf = malloc((size_t)len + 1);
	int rc;

	if (buf == NULL)
		return TDK_ENOMEM;
	rc = pgp_wire_read(fd, buf, (size_t)len, deadline);
	if (rc != TDK_OK) {
		explicit_bzero(buf, (size_t)len + 1);
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	out->plaintext = buf;
	out->plaintext_len = (size_t)len;
	return TDK_OK;
}

/* Reads and checks an answer: *op_rc is the operation's status, out its
 * result (cleared unless XFER_ANSWER and *op_rc is TDK_OK). */
static enum xfer read_response(int fd, uint64_t max_output, int *op_rc,
			       struct pgp_result *out, char *text, size_t text_len,
			       const struct timespec *deadline)
{
	unsigned char head[PGP_WIRE_RESP_SIZE], detail[PGP_WIRE_MAX_DETAIL];
	struct pgp_wire_response resp;
	int rc;

	*op_rc = TDK_OK;
	rc = pgp_wire_read(fd, head, sizeof head, deadline);
	if (rc == TDK_OK)
		rc = pgp_wire_response_decode(head, max_output, &resp, out);
	if (rc == TDK_OK)
		rc = pgp_wire_read(fd, detail, resp.detail_len, deadline);
	if (rc == TDK_OK && resp.has_plaintext)
		rc = read_plaintext(fd, resp.plaintext_len, out, deadline);
	if (rc != TDK_OK) {
		pgp_result_clear(out);
		return xfer_of(rc);
	}
	*op_rc = resp.rc;
	if (text != NULL)
		pgp_wire_detail_copy(text, text_len, detail, resp.detail_len);
	if (resp.rc != TDK_OK)
		pgp_result_clear(out);
	else
		pgp_wire_detail_copy(out->detail, sizeof out->detail, detail,
				     resp.detail_len);
	return XFER_ANSWER;
}

/* ------------------------------------------------------------- the API */

int pgp_client_new(const struct pgp_config *cfg, const char *const *argv,
		   struct pgp_client **out, tdk_err *err)
{
	struct pgp_client *c;
	struct pgp_result r = { 0 };
	struct timespec deadline;
	char why[TDK_ERR_MAX] = "";
	int fd = -1, op_rc = TDK_OK, rc;
	enum xfer x;

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL || (c->argv = argv_copy(argv)) == NULL) {
		free(c);
		return tdk_err_set(err, TDK_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	c->ctl = -1;
	c->budget_ms = cfg->time_budget_ms;
	c->max_output = cfg->max_output;
	c->hello = (struct pgp_wire_hello){
		.budget_ms = (uint32_t)cfg->time_budget_ms,
		.max_concurrent = (uint32_t)cfg->max_concurrent,
		.max_output = cfg->max_output,
		.has_home = cfg->gnupg_home != NULL,
		.log_sinks = (uint32_t)msg_sinks(),
	};
	snprintf(c->hello.log_facility, sizeof c->hello.log_facility, "%s",
		 msg_facility());
	if (cfg->gnupg_home != NULL &&
	    strlen(cfg->gnupg_home) > PGP_WIRE_MAX_HOME) {
		pgp_client_free(c);
		return tdk_err_set(err, TDK_ERANGE, "GnuPG home %.64s...: too long",
				   cfg->gnupg_home);
	}
	if (cfg->gnupg_home != NULL)
		strcpy(c->hello.home, cfg->gnupg_home);

	pthread_mutex_lock(&c->mu);
	rc = start_helper(c, &fd, why, sizeof why);
	pthread_mutex_unlock(&c->mu);
	if (rc != TDK_OK) {
		pgp_client_free(c);
		return tdk_err_set(err, TDK_ECRYPTO, "crypto helper: %s", why);
	}
	pgp_wire_deadline(&deadline, CLIENT_HELLO_MS);
	x = read_response(fd, 0, &op_rc, &r, why, sizeof why, &deadline);
	close(fd);
	if (x != XFER_ANSWER || op_rc != TDK_OK) {
		pgp_client_free(c);
		if (x == XFER_ANSWER)
			return tdk_err_set(err, op_rc, "%s", why);
		return tdk_err_set(err, TDK_ECRYPTO,
				   "crypto helper %s did not start: %s", argv[0],
				   x == XFER_TIMEOUT ? "no answer within 10 s"
				   : x == XFER_BAD ? "a bad answer"
						   : "it ended");
	}
	*out = c;
	return TDK_OK;
}

void pgp_client_free(struct pgp_client *c)
{
	if (c == NULL)
		return;
	if (c->ctl >= 0) {
		/* End of file tells the helper to end. */
		close(c->ctl);
		c->ctl = -1;
		for (int waited = 0; waited < CLIENT_REAP_MS; waited += 5) {
			pid_t w = waitpid(c->pid, NULL, WNOHANG);

			if (w == c->pid || (w < 0 && errno != EINTR)) {
				c->pid = 0;
				break;
			}
			usleep(5000);
		}
	}
	reap(c);
	argv_free(c->argv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The answer to an input larger than any the protocol carries. */
static void too_large(struct pgp_result *out, enum pgp_wire_op op)
{
	out->decrypt = op == PGP_WIRE_DECRYPT ? PGP_DECRYPT_FAILED : PGP_NOT_ENCRYPTED;
	snprintf(out->detail, sizeof out->detail, "input exceeds %llu bytes",
		 (unsigned long long)PGP_WIRE_MAX_INPUT);
}

int pgp_client_run(struct pgp_client *c, enum pgp_wire_op op, const void *data,
		   size_t len, const void *data2, size_t len2,
		   struct pgp_result *out)
{
	struct timespec deadline;
	char why[96];
	unsigned gen = 0;
	int fd = -1, op_rc = TDK_OK, rc;
	enum xfer x;

	if (out == NULL)
		return TDK_EINVAL;
	memset(out, 0, sizeof *out);
	if (c == NULL || (data == NULL && len > 0) || (data2 == NULL && len2 > 0) ||
	    op == PGP_WIRE_HELLO)
		return TDK_EINVAL;
	pgp_wire_deadline(&deadline, c->budget_ms);
	if (len > PGP_WIRE_MAX_INPUT || len2 > PGP_WIRE_MAX_INPUT) {
		too_large(out, op);
		return TDK_OK;
	}
	rc = send_channel(c, &fd, &gen, why, sizeof why);
	if (rc != TDK_OK) {
		defer(out, "crypto helper %s", why);
		return TDK_OK;
	}
	x = send_request(fd, op, data, len, data2, len2, &deadline);
	if (x == XFER_ANSWER || x == XFER_CLOSED) /* it may have said why */
		x = read_response(fd, c->max_output, &op_rc, out, NULL, 0, &deadline);
	close(fd);
	account(c, gen, x);
	switch (x) {
	case XFER_ANSWER:
		return op_rc;
	case XFER_TIMEOUT:
		defer(out, "time budget %d ms exhausted", c->budget_ms);
		return TDK_OK;
	case XFER_NOMEM:
		pgp_result_clear(out);
		return TDK_ENOMEM;
	case XFER_BAD:
		defer(out, "crypto helper failed: a bad answer");
		return TDK_OK;
	case XFER_CLOSED:
		break;
	}
	defer(out, "crypto helper failed: the operation was cut off");
	return TDK_OK;
}
