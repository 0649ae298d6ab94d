/*
 * pgp.c - OpenPGP decryption and verification through GPGME, under a time
 * budget and a concurrency cap.
 *
 * Every operation is a job: the caller copies its input into the job, makes
 * one gpgme context for it and starts a detached worker thread that runs the
 * synchronous gpgme operation and turns its outcome into a pgp_result. The
 * caller waits on the job's condition variable (CLOCK_MONOTONIC) until the
 * deadline. If the deadline passes first it calls gpgme_cancel_async(),
 * marks the job abandoned and reports PGP_DECRYPT_DEFERRED. The job is
 * reference counted (caller and worker), so whoever lets go last frees it;
 * each job also holds a reference to the struct pgp, which is why
 * pgp_free() need not wait for abandoned workers.
 *
 * Decryptions first take a slot (at most max_concurrent at once, waited for
 * with the same deadline). The worker gives the slot back when gpg is done,
 * not when the caller stops waiting: a hung gpg-agent then turns further
 * decryptions into quick deferrals instead of piling up gpg processes.
 *
 * gpg's status lines are watched through a full-status callback: GPGME does
 * not pass on the primary key fingerprint of a signer (VALIDSIG's last
 * field), whether a literal data packet was seen, or the error code behind a
 * generic "decryption failed" (needed to tell a transient gpg-agent failure
 * from a message that cannot be decrypted).
 *
 * A struct pgp made by pgp_new_with_helper() holds a pgp_client instead
 * and never touches GPGME: its operations go to the crypto helper
 * (pgp_client.c), which runs them here, in its own process, through
 * pgp_engine_run() with the time the client has left.
 */
#include "pgp.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <pwd.h>
#include <unistd.h>

#include <gpgme.h>

#include "log.h"
#include "pgp_internal.h"

#define PGP_BUDGET_MAX_MS PGP_WIRE_MAX_BUDGET_MS
#define PGP_CONCURRENT_MAX 64

struct pgp {
	pthread_mutex_t mu;
	pthread_cond_t slot_cv; /* CLOCK_MONOTONIC */
	int refs;               /* the owner's and one per live job */
	int active;             /* decryptions holding a slot */
	char *home;             /* NULL: gpg's default */
	bool home_is_engine_default; /* set once for the process: no per-job setup */
	int budget_ms;
	int max_concurrent;
	size_t max_output;
	struct pgp_client *client; /* set: every operation runs in a helper */
};

enum job_kind { JOB_DECRYPT, JOB_VERIFY_DETACHED, JOB_VERIFY_INLINE };

/* What the status callback learns about one signature, in the order gpg
 * reports signatures (the order of GPGME's list as well). */
struct sig_extra {
	char primary[41]; /* VALIDSIG primary fpr, else the last KEY_CONSIDERED */
	char issuer[41];  /* ERRSIG: issuer fingerprint, if the signature has one */
};

/* The cap on output: a gpgme_data callback object. */
struct outbuf {
	unsigned char *buf;
	size_t len, cap, max;
	bool exceeded;
};

struct job {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	int refs;
	bool done;
	bool abandoned;
	bool holds_slot;

	struct pgp *p;
	enum job_kind kind;
	gpgme_ctx_t ctx;     /* the operation's context */
	gpgme_ctx_t cur_ctx; /* the one to cancel: ctx, or the keylist's */
	gpgme_data_t in;     /* message, or signature for a detached verify */
	gpgme_data_t signed_part;
	gpgme_data_t out;
	struct outbuf ob;

	/* Status lines seen (written by the worker only). */
	struct sig_extra sx[PGP_MAX_SIGS];
	size_t n_sig_lines;
	char considered[41];
	bool plaintext_seen;
	bool symmetric;
	bool passphrase_asked;
	gpgme_error_t status_err; /* from ERROR/FAILURE lines, see status_seen */

	struct pgp_result res; /* the answer, handed over when done */
	int rc;                /* TDK_OK or TDK_ENOMEM */
};

/* ------------------------------------------------------------------ misc */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static gpgme_error_t init_err;

static void init_gpgme(void)
{
	const char *lc;

	gpgme_check_version(NULL);
	lc = setlocale(LC_CTYPE, NULL);
	if (lc != NULL)
		gpgme_set_locale(NULL, LC_CTYPE, lc);
#ifdef LC_MESSAGES
	lc = setlocale(LC_MESSAGES, NULL);
	if (lc != NULL)
		gpgme_set_locale(NULL, LC_MESSAGES, lc);
#endif
	init_err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
}

/* Thread-safe error texts (gpgme_strerror() and strerror() are not). */
struct errtext {
	char s[96];
};

static const char *gerr(gpgme_error_t e, struct errtext *t)
{
	gpgme_strerror_r(e, t->s, sizeof t->s);
	return t->s;
}

static const char *syserr(int e, struct errtext *t)
{
	return gerr(gpgme_error_from_errno(e), t);
}

/* Appends to the detail text, separated by "; ". */
static void detail_add(struct pgp_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void detail_add(struct pgp_result *r, const char *fmt, ...)
{
	size_t used = strlen(r->detail);
	va_list ap;

	if (used > 0 && used + 2 < sizeof r->detail) {
		memcpy(r->detail + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= sizeof r->detail)
		return;
	va_start(ap, fmt);
	vsnprintf(r->detail + used, sizeof r->detail - used, fmt, ap);
	va_end(ap);
}

static void set_state(struct pgp_result *r, enum pgp_decrypt_state st,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_state(struct pgp_result *r, enum pgp_decrypt_state st,
		      const char *fmt, ...)
{
	va_list ap;

	r->decrypt = st;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* Copies the first whitespace-separated field of s (at most cap-1 chars,
 * only when it is all hex) upper-cased into dst; returns its length or 0. */
static size_t copy_hex_field(char *dst, size_t cap, const char *s)
{
	size_t n = strcspn(s, " ");

	dst[0] = '\0';
	if (n == 0 || n >= cap || !is_hex(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)toupper((unsigned char)s[i]);
	dst[n] = '\0';
	return n;
}

/* The nth (0-based) space-separated field of s, or NULL. */
static const char *nth_field(const char *s, int nth)
{
	while (nth-- > 0) {
		s = strchr(s, ' ');
		if (s == NULL)
			return NULL;
		while (*s == ' ')
			s++;
	}
	return *s ? s : NULL;
}

static const char *last_field(const char *s)
{
	const char *sp = strrchr(s, ' ');

	return sp ? sp + 1 : s;
}

/* ------------------------------------------------- error classification */

static bool is_agent_error(gpgme_error_t e)
{
	gpg_err_code_t c = gpg_err_code(e);

	if (c >= GPG_ERR_ASS_GENERAL && c <= GPG_ERR_ASS_UNKNOWN_INQUIRE)
		return true;
	switch (c) {
	case GPG_ERR_NO_AGENT:
	case GPG_ERR_AGENT:
	case GPG_ERR_NO_DIRMNGR:
	case GPG_ERR_ECONNREFUSED:
	case GPG_ERR_ECONNRESET:
	case GPG_ERR_EPIPE:
		return true;
	default:
		return false;
	}
}

/* Errors after which the same message may well decrypt on a retry. */
static bool is_transient(gpgme_error_t e)
{
	switch (gpg_err_code(e)) {
	case GPG_ERR_ENOMEM:
	case GPG_ERR_EAGAIN:
	case GPG_ERR_EINTR:
	case GPG_ERR_ETIMEDOUT:
	case GPG_ERR_TIMEOUT:
	case GPG_ERR_CANCELED:
	case GPG_ERR_FULLY_CANCELED:
	case GPG_ERR_INV_ENGINE:
	case GPG_ERR_ENGINE_TOO_OLD:
	case GPG_ERR_ENOSPC:
	case GPG_ERR_EMFILE:
	case GPG_ERR_ENFILE:
	case GPG_ERR_EIO:
	case GPG_ERR_LOCKED:
		return true;
	default:
		return is_agent_error(e);
	}
}

static bool is_corrupt(gpgme_error_t e)
{
	switch (gpg_err_code(e)) {
	case GPG_ERR_BAD_DATA:
	case GPG_ERR_INV_PACKET:
	case GPG_ERR_INV_ARMOR:
	case GPG_ERR_CHECKSUM:
	case GPG_ERR_BAD_MPI:
	case GPG_ERR_INV_DATA:
	case GPG_ERR_INV_KEYRING:
	case GPG_ERR_UNEXPECTED:
	case GPG_ERR_TRUNCATED:
	case GPG_ERR_EOF:
	case GPG_ERR_INV_LENGTH:
	case GPG_ERR_BAD_SIGNATURE:
	case GPG_ERR_DECRYPT_FAILED:
		return true;
	default:
		return false;
	}
}

/* Sets a deferral for a transient error e. */
static void defer_transient(struct pgp_result *r, gpgme_error_t e)
{
	struct errtext et;

	if (is_agent_error(e))
		set_state(r, PGP_DECRYPT_DEFERRED, "gpg-agent unavailable: %s",
			  gerr(e, &et));
	else
		set_state(r, PGP_DECRYPT_DEFERRED, "transient gpg failure: %s",
			  gerr(e, &et));
}

/* ------------------------------------------------------- gpgme callbacks */

static ssize_t out_write(void *hook, const void *buf, size_t size)
{
	struct outbuf *ob = hook;

	if (size > ob->max - ob->len) {
		ob->exceeded = true;
		errno = EFBIG;
		return -1;
	}
	if (ob->len + size + 1 > ob->cap) {
		size_t cap = ob->cap ? ob->cap : 4096;
		unsigned char *nb;

		while (cap < ob->len + size + 1)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (ob->max < SIZE_MAX && cap > ob->max + 1)
			cap = ob->max + 1;
		/* No realloc: the old buffer (plaintext) is wiped, not left
		 * behind on the heap. */
		nb = malloc(cap);
		if (nb == NULL) {
			errno = ENOMEM;
			return -1;
		}
		if (ob->len > 0)
			memcpy(nb, ob->buf, ob->len);
		if (ob->buf != NULL) {
			explicit_bzero(ob->buf, ob->cap);
			free(ob->buf);
		}
		ob->buf = nb;
		ob->cap = cap;
	}
	memcpy(ob->buf + ob->len, buf, size);
	ob->len += size;
	return (ssize_t)size;
}

static void outbuf_wipe(struct outbuf *ob)
{
	if (ob->buf != NULL) {
		explicit_bzero(ob->buf, ob->cap);
		free(ob->buf);
	}
	ob->buf = NULL;
	ob->len = ob->cap = 0;
}

static gpgme_error_t passphrase_refused(void *hook, const char *uid_hint,
					const char *info, int prev_was_bad,
					int fd)
{
	struct job *j = hook;

	(void)uid_hint;
	(void)info;
	(void)prev_was_bad;
	(void)fd;
	j->passphrase_asked = true;
	return gpg_error(GPG_ERR_NO_PASSPHRASE);
}

static gpgme_error_t status_seen(void *hook, const char *keyword,
				 const char *args)
{
	struct job *j = hook;
	struct sig_extra *sx;

	if (keyword == NULL)
		return 0;
	if (args == NULL)
		args = "";
	if (strcmp(keyword, "NEWSIG") == 0) {
		j->considered[0] = '\0';
	} else if (strcmp(keyword, "KEY_CONSIDERED") == 0) {
		if (copy_hex_field(j->considered, sizeof j->considered, args) != 40)
			j->considered[0] = '\0';
	} else if (strcmp(keyword, "GOODSIG") == 0 ||
		   strcmp(keyword, "EXPSIG") == 0 ||
		   strcmp(keyword, "EXPKEYSIG") == 0 ||
		   strcmp(keyword, "REVKEYSIG") == 0 ||
		   strcmp(keyword, "BADSIG") == 0 ||
		   strcmp(keyword, "ERRSIG") == 0) {
		/* GPGME starts one signature on each of these lines. */
		if (j->n_sig_lines < PGP_MAX_SIGS) {
			sx = &j->sx[j->n_sig_lines];
			memcpy(sx->primary, j->considered, sizeof sx->primary);
			sx->issuer[0] = '\0';
			if (strcmp(keyword, "ERRSIG") == 0) {
				/* ERRSIG keyid algo hash class time rc fpr */
				const char *f = nth_field(args, 6);

				if (f == NULL ||
				    copy_hex_field(sx->issuer, sizeof sx->issuer, f) != 40)
					sx->issuer[0] = '\0';
			}
		}
		j->n_sig_lines++;
	} else if (strcmp(keyword, "VALIDSIG") == 0) {
		if (j->n_sig_lines > 0 && j->n_sig_lines <= PGP_MAX_SIGS) {
			sx = &j->sx[j->n_sig_lines - 1];
			if (copy_hex_field(sx->primary, sizeof sx->primary,
					   last_field(args)) != 40)
				sx->primary[0] = '\0';
		}
	} else if (strcmp(keyword, "PLAINTEXT") == 0) {
		j->plaintext_seen = true;
	} else if (strcmp(keyword, "NEED_PASSPHRASE_SYM") == 0) {
		j->symmetric = true;
	} else if (strcmp(keyword, "ERROR") == 0 || strcmp(keyword, "FAILURE") == 0) {
		const char *code = nth_field(args, 1);
		unsigned long v = code ? strtoul(code, NULL, 10) : 0;

		/* Keep the first error, unless a later one is the transient
		 * reason behind it. */
		if (v != 0 && (j->status_err == 0 ||
			       (!is_transient(j->status_err) &&
				is_transient((gpgme_error_t)v))))
			j->status_err = (gpgme_error_t)v;
	}
	return 0;
}

/* A context set up the one way todoke uses gpg. */
static gpgme_error_t ctx_new(struct job *j, gpgme_ctx_t *out)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_error_t e;

	*out = NULL;
	e = gpgme_new(&ctx);
	if (e)
		return e;
	e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
	/* Setting a context's engine makes GPGME run "gpg --version" again;
	 * only a second, different home in one process pays for that. */
	if (!e && j->p->home != NULL && !j->p->home_is_engine_default)
		e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL,
					      j->p->home);
	if (!e)
		e = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK);
	if (!e)
		e = gpgme_set_ctx_flag(ctx, "full-status", "1");
	if (e) {
		gpgme_release(ctx);
		return e;
	}
	gpgme_set_armor(ctx, 0);
	gpgme_set_textmode(ctx, 0);
	gpgme_set_offline(ctx, 1); /* no key lookups on the network */
	gpgme_set_passphrase_cb(ctx, passphrase_refused, j);
	gpgme_set_status_cb(ctx, status_seen, j);
	*out = ctx;
	return 0;
}

/* --------------------------------------------------------------- results */

static enum pgp_sig_state sig_state(gpgme_signature_t s)
{
	gpg_err_code_t c = gpg_err_code(s->status);
	gpgme_sigsum_t sum = s->summary;

	if (c == GPG_ERR_NO_PUBKEY || (sum & GPGME_SIGSUM_KEY_MISSING))
		return PGP_SIG_UNKNOWN_KEY;
	if (c == GPG_ERR_BAD_SIGNATURE)
		return PGP_SIG_BAD;
	if (c == GPG_ERR_CERT_REVOKED || (sum & GPGME_SIGSUM_KEY_REVOKED))
		return PGP_SIG_REVOKED_KEY;
	if (c == GPG_ERR_KEY_EXPIRED || c == GPG_ERR_SIG_EXPIRED ||
	    (sum & (GPGME_SIGSUM_KEY_EXPIRED | GPGME_SIGSUM_SIG_EXPIRED)))
		return PGP_SIG_EXPIRED_KEY;
	if (sum & (GPGME_SIGSUM_VALID | GPGME_SIGSUM_GREEN))
		return PGP_SIG_GOOD;
	/* Trust models that vouch for no key (trust-model always) leave the
	 * validity unknown: a correct signature by a usable key is good. */
	if (c == GPG_ERR_NO_ERROR && s->validity != GPGME_VALIDITY_NEVER &&
	    !(sum & (GPGME_SIGSUM_RED | GPGME_SIGSUM_SYS_ERROR |
		     GPGME_SIGSUM_BAD_POLICY)))
		return PGP_SIG_GOOD;
	return PGP_SIG_ERROR;
}

static void collect_sigs(struct job *j)
{
	gpgme_verify_result_t vr = gpgme_op_verify_result(j->ctx);
	struct pgp_result *r = &j->res;
	size_t total = 0;

	if (vr == NULL)
		return;
	for (gpgme_signature_t s = vr->signatures; s != NULL; s = s->next, total++) {
		struct pgp_signature *ps;
		const struct sig_extra *sx;

		if (total >= PGP_MAX_SIGS)
			continue;
		ps = &r->sigs[r->n_sigs++];
		ps->state = sig_state(s);
		ps->created = (int64_t)s->timestamp;
		sx = total < j->n_sig_lines ? &j->sx[total] : NULL;
		if (sx != NULL && ps->state != PGP_SIG_UNKNOWN_KEY && sx->primary[0])
			memcpy(ps->fingerprint, sx->primary, sizeof ps->fingerprint);
		else if (sx != NULL && sx->issuer[0])
			memcpy(ps->fingerprint, sx->issuer, sizeof ps->fingerprint);
		else if (s->fpr == NULL ||
			 copy_hex_field(ps->fingerprint, sizeof ps->fingerprint,
					s->fpr) == 0)
			ps->fingerprint[0] = '\0';
	}
	if (total > PGP_MAX_SIGS)
		detail_add(r, "%zu signatures, only the first %d reported", total,
			   PGP_MAX_SIGS);
}

static void take_output(struct job *j)
{
	struct pgp_result *r = &j->res;

	if (j->ob.buf == NULL) {
		/* Empty content: still a valid, NUL-terminated buffer. */
		j->ob.buf = malloc(1);
		if (j->ob.buf == NULL) {
			j->rc = TDK_ENOMEM;
			return;
		}
		j->ob.cap = 1;
	}
	j->ob.buf[j->ob.len] = '\0';
	r->plaintext = j->ob.buf;
	r->plaintext_len = j->ob.len;
	j->ob.buf = NULL;
	j->ob.len = j->ob.cap = 0;
}

/* Makes ctx the context a caller who gives up cancels. Returns false,
 * changing nothing, if the caller has given up already and want_go. */
static bool switch_ctx(struct job *j, gpgme_ctx_t ctx, bool want_go)
{
	bool go;

	pthread_mutex_lock(&j->mu);
	go = !(want_go && j->abandoned);
	if (go)
		j->cur_ctx = ctx;
	pthread_mutex_unlock(&j->mu);
	return go;
}

/*
 * gpg says "no secret key" also when it cannot reach gpg-agent. Lists the
 * secret keys gpg-agent knows: none at all means the agent (or the home) is
 * unusable; a secret key for a recipient means gpg's answer was spurious.
 */
static void check_no_seckey(struct job *j, gpgme_decrypt_result_t dr)
{
	struct pgp_result *r = &j->res;
	gpgme_ctx_t kc = NULL;
	gpgme_key_t key;
	gpgme_error_t e;
	size_t n_secret = 0;
	const char *have = NULL;
	char ids[80] = "";
	size_t n_ids = 0;
	struct errtext et;

	for (gpgme_recipient_t rc = dr ? dr->recipients : NULL; rc; rc = rc->next) {
		size_t used = strlen(ids);

		if (n_ids++ == 3) {
			snprintf(ids + used, sizeof ids - used, ", ...");
			break;
		}
		snprintf(ids + used, sizeof ids - used, "%s%s", used ? ", " : "",
			 rc->keyid);
	}

	e = ctx_new(j, &kc);
	if (e) {
		if (gpg_err_code(e) == GPG_ERR_ENOMEM)
			j->rc = TDK_ENOMEM;
		defer_transient(r, e);
		return;
	}
	if (!switch_ctx(j, kc, true)) {
		gpgme_release(kc);
		return;
	}
	e = gpgme_op_keylist_start(kc, NULL, 1);
	while (!e && (e = gpgme_op_keylist_next(kc, &key)) == 0) {
		for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next) {
			if (!sk->secret)
				continue;
			n_secret++;
			for (gpgme_recipient_t rc = dr ? dr->recipients : NULL;
			     rc && have == NULL; rc = rc->next) {
				if (sk->keyid && strcasecmp(sk->keyid, rc->keyid) == 0)
					have = rc->keyid;
			}
		}
		gpgme_key_unref(key);
	}
	gpgme_op_keylist_end(kc);
	switch_ctx(j, j->ctx, false);
	if (gpg_err_code(e) != GPG_ERR_EOF) {
		defer_transient(r, e);
		if (!is_transient(e))
			set_state(r, PGP_DECRYPT_DEFERRED,
				  "cannot list secret keys: %s", gerr(e, &et));
	} else if (n_secret == 0) {
		set_state(r, PGP_DECRYPT_DEFERRED,
			  "gpg-agent unavailable: no secret key reachable");
	} else if (have != NULL) {
		set_state(r, PGP_DECRYPT_DEFERRED,
			  "gpg reported no secret key but gpg-agent has %.16s", have);
	} else {
		set_state(r, PGP_DECRYPT_FAILED, "no secret key (encrypted to %s)",
			  n_ids ? ids : "hidden recipients");
	}
	gpgme_release(kc);
}

static void run_decrypt(struct job *j)
{
	struct pgp_result *r = &j->res;
	gpgme_decrypt_result_t dr;
	gpgme_error_t e;
	bool any_recipient;
	struct errtext et;

	e = gpgme_op_decrypt_verify(j->ctx, j->in, j->out);
	dr = gpgme_op_decrypt_result(j->ctx);
	any_recipient = dr != NULL && dr->recipients != NULL;
	collect_sigs(j);
	if (j->ob.exceeded) {
		set_state(r, PGP_DECRYPT_FAILED, "decrypted output exceeds %zu bytes",
			  j->ob.max);
		r->output_exceeded = true;
	} else if (!e) {
		r->decrypt = PGP_DECRYPTED;
		take_output(j);
	} else if (gpg_err_code(e) == GPG_ERR_NO_DATA) {
		if (j->plaintext_seen && !any_recipient && !j->symmetric &&
		    !j->status_err) {
			/* Signed (or literal) OpenPGP data, not encrypted. */
			r->decrypt = PGP_NOT_ENCRYPTED;
			take_output(j);
		} else if (any_recipient || j->symmetric) {
			/* Encrypted, but gpg stopped before the end (for
			 * example "zlib inflate problem"). */
			set_state(r, PGP_DECRYPT_FAILED,
				  "corrupt data: decryption did not complete");
		} else {
			set_state(r, PGP_DECRYPT_FAILED,
				  "no valid OpenPGP encrypted data found");
		}
	} else if (j->passphrase_asked || j->symmetric) {
		if (j->symmetric && !any_recipient)
			set_state(r, PGP_DECRYPT_FAILED,
				  "encrypted with a passphrase, not to a key");
		else
			set_state(r, PGP_DECRYPT_DEFERRED,
				  "secret key needs a passphrase (keys for "
				  "unattended use must have none)");
	} else if (is_transient(e)) {
		defer_transient(r, e);
	} else if (j->status_err && is_transient(j->status_err)) {
		/* "decryption failed" with the reason only in an ERROR line,
		 * for example "Cannot allocate memory" from gpg-agent. */
		defer_transient(r, j->status_err);
	} else if (gpg_err_code(e) == GPG_ERR_NO_SECKEY) {
		check_no_seckey(j, dr);
	} else if (dr != NULL && dr->unsupported_algorithm != NULL) {
		set_state(r, PGP_DECRYPT_FAILED, "unsupported algorithm %.40s",
			  dr->unsupported_algorithm);
	} else if (is_corrupt(e)) {
		set_state(r, PGP_DECRYPT_FAILED, "corrupt data: %s",
			  gerr(j->status_err && gpg_err_code(e) ==
						 GPG_ERR_DECRYPT_FAILED
					 ? j->status_err : e, &et));
	} else {
		set_state(r, PGP_DECRYPT_FAILED, "decryption failed: %s",
			  gerr(e, &et));
	}
	if (r->decrypt != PGP_DECRYPTED && r->decrypt != PGP_NOT_ENCRYPTED) {
		outbuf_wipe(&j->ob);
		/* Signatures over content that is not returned (a manipulated
		 * message may still carry a good one) mean nothing. */
		memset(r->sigs, 0, sizeof r->sigs);
		r->n_sigs = 0;
	}
}

static void run_verify(struct job *j)
{
	struct pgp_result *r = &j->res;
	gpgme_error_t e;
	struct errtext et;

	if (j->kind == JOB_VERIFY_DETACHED)
		e = gpgme_op_verify(j->ctx, j->in, j->signed_part, NULL);
	else
		e = gpgme_op_verify(j->ctx, j->in, NULL, j->out);
	r->decrypt = PGP_NOT_ENCRYPTED;
	if (j->ob.exceeded) {
		/* The operation stopped: its signatures are not verified. */
		detail_add(r, "signed text exceeds %zu bytes", j->ob.max);
		outbuf_wipe(&j->ob);
		return;
	}
	if (e && is_transient(e)) {
		defer_transient(r, e);
		outbuf_wipe(&j->ob);
		return;
	}
	collect_sigs(j);
	if (gpg_err_code(e) == GPG_ERR_NO_DATA)
		detail_add(r, "no OpenPGP signature found");
	else if (e)
		detail_add(r, "%s: %s", is_corrupt(e) ? "corrupt data" :
			   "verification failed", gerr(e, &et));
	else if (r->n_sigs == 0)
		detail_add(r, "no signature");
	if (j->kind == JOB_VERIFY_INLINE && !e)
		take_output(j);
	else
		outbuf_wipe(&j->ob);
}

/* ------------------------------------------------------------ jobs, slots */

static void pgp_unref(struct pgp *p)
{
	bool last;

	pthread_mutex_lock(&p->mu);
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (!last)
		return;
	pgp_client_free(p->client);
	pthread_cond_destroy(&p->slot_cv);
	pthread_mutex_destroy(&p->mu);
	free(p->home);
	free(p);
}

static void job_unref(struct job *j)
{
	bool last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (!last)
		return;
	if (j->ctx != NULL)
		gpgme_release(j->ctx);
	gpgme_data_release(j->in);
	gpgme_data_release(j->signed_part);
	gpgme_data_release(j->out);
	outbuf_wipe(&j->ob);
	pgp_result_clear(&j->res);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	pgp_unref(j->p);
	free(j);
}

static void slot_release(struct pgp *p)
{
	pthread_mutex_lock(&p->mu);
	p->active--;
	pthread_cond_signal(&p->slot_cv);
	pthread_mutex_unlock(&p->mu);
}

/* Takes a decryption slot, waiting until the deadline at most. */
static bool slot_acquire(struct pgp *p, const struct timespec *deadline,
			 int *running)
{
	bool got = true;

	pthread_mutex_lock(&p->mu);
	while (p->active >= p->max_concurrent) {
		if (pthread_cond_timedwait(&p->slot_cv, &p->mu, deadline) == ETIMEDOUT &&
		    p->active >= p->max_concurrent) {
			got = false;
			break;
		}
	}
	if (got)
		p->active++;
	*running = p->active;
	pthread_mutex_unlock(&p->mu);
	return got;
}

static void *worker_main(void *arg)
{
	struct job *j = arg;

	if (j->kind == JOB_DECRYPT)
		run_decrypt(j);
	else
		run_verify(j);
	/* The slot goes back before the caller hears of it, so a caller's
	 * next decryption finds it free. */
	if (j->holds_slot)
		slot_release(j->p);
	pthread_mutex_lock(&j->mu);
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
	return NULL;
}

static gpgme_error_t data_from(gpgme_data_t *d, const void *buf, size_t len)
{
	if (len == 0)
		return gpgme_data_new(d);
	return gpgme_data_new_from_mem(d, buf, len, 1);
}

static struct job *job_new(struct pgp *p, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return NULL;
	if (pthread_mutex_init(&j->mu, NULL) != 0) {
		free(j);
		return NULL;
	}
	if (cond_init_monotonic(&j->cv) != 0) {
		pthread_mutex_destroy(&j->mu);
		free(j);
		return NULL;
	}
	j->refs = 1;
	j->kind = kind;
	j->ob.max = p->max_output;
	pthread_mutex_lock(&p->mu);
	p->refs++;
	pthread_mutex_unlock(&p->mu);
	j->p = p;
	return j;
}

static struct gpgme_data_cbs out_cbs = { NULL, out_write, NULL, NULL };

/* The common part of the three operations; the caller waits wait_ms. */
static int run_job(struct pgp *p, enum job_kind kind, const void *data,
		   size_t len, const void *signed_data, size_t signed_len,
		   int wait_ms, struct pgp_result *out)
{
	struct timespec deadline;
	pthread_attr_t attr;
	pthread_t tid;
	struct job *j;
	gpgme_error_t e;
	int running = 0, rc;
	bool done;
	struct errtext et;

	if (out == NULL)
		return TDK_EINVAL;
	memset(out, 0, sizeof *out);
	if (p == NULL || (data == NULL && len > 0) ||
	    (signed_data == NULL && signed_len > 0))
		return TDK_EINVAL;

	deadline_after(&deadline, wait_ms);
	if (kind == JOB_DECRYPT && len == 0) {
		set_state(out, PGP_DECRYPT_FAILED, "empty input");
		return TDK_OK;
	}
	if (kind == JOB_DECRYPT && !slot_acquire(p, &deadline, &running)) {
		set_state(out, PGP_DECRYPT_DEFERRED,
			  "no decryption slot free within %d ms (%d running)",
			  p->budget_ms, running);
		return TDK_OK;
	}

	j = job_new(p, kind);
	if (j == NULL) {
		if (kind == JOB_DECRYPT)
			slot_release(p);
		return TDK_ENOMEM;
	}
	j->holds_slot = kind == JOB_DECRYPT;
	e = data_from(&j->in, data, len);
	if (!e && kind == JOB_VERIFY_DETACHED)
		e = data_from(&j->signed_part, signed_data, signed_len);
	if (!e && kind != JOB_VERIFY_DETACHED)
		e = gpgme_data_new_from_cbs(&j->out, &out_cbs, &j->ob);
	if (!e)
		e = ctx_new(j, &j->ctx);
	j->cur_ctx = j->ctx;
	if (e) {
		rc = gpg_err_code(e) == GPG_ERR_ENOMEM ? TDK_ENOMEM : TDK_OK;
		if (rc == TDK_OK)
			set_state(out, PGP_DECRYPT_DEFERRED, "gpg unavailable: %s",
				  gerr(e, &et));
		goto fail;
	}

	j->refs = 2; /* caller and worker */
	rc = pthread_attr_init(&attr);
	if (rc == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&tid, &attr, worker_main, j);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		j->refs = 1;
		set_state(out, PGP_DECRYPT_DEFERRED,
			  "cannot start a worker thread: %s", syserr(rc, &et));
		msg_warn("pgp: cannot start a worker thread: %s", et.s);
		rc = TDK_OK;
		goto fail;
	}

	pthread_mutex_lock(&j->mu);
	while (!j->done) {
		if (pthread_cond_timedwait(&j->cv, &j->mu, &deadline) == ETIMEDOUT)
			break;
	}
	done = j->done;
	if (!done) {
		gpgme_cancel_async(j->cur_ctx);
		j->abandoned = true;
	}
	pthread_mutex_unlock(&j->mu);

	if (!done) {
		set_state(out, PGP_DECRYPT_DEFERRED, "time budget %d ms exhausted",
			  p->budget_ms);
		job_unref(j);
		return TDK_OK;
	}
	/* The worker is done with res: hand it over. */
	rc = j->rc;
	if (rc == TDK_OK) {
		*out = j->res;
		memset(&j->res, 0, sizeof j->res);
	}
	job_unref(j);
	return rc;

fail:
	if (j->holds_slot)
		slot_release(p);
	j->holds_slot = false;
	job_unref(j);
	return rc;
}

/* ------------------------------------------------------------ public API */

/* The home gpg will use when none is configured. */
static char *default_home(void)
{
	const char *env = getenv("GNUPGHOME");
	const char *home;
	struct passwd pw, *pwp = NULL;
	char buf[1024];
	char *path;

	if (env != NULL && *env)
		return strdup(env);
	home = getenv("HOME");
	if (home == NULL || !*home) {
		if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &pwp) != 0 || pwp == NULL)
			return NULL;
		home = pw.pw_dir;
	}
	path = malloc(strlen(home) + sizeof "/.gnupg");
	if (path != NULL)
		sprintf(path, "%s/.gnupg", home);
	return path;
}

/* The secret keys themselves: private-keys-v1.d, if there, must be
 * closed to group and others as well. */
static int check_key_dir(const char *home, tdk_err *err)
{
	char *path = malloc(strlen(home) + sizeof "/private-keys-v1.d");
	struct stat st;
	int rc = TDK_OK;

	if (path == NULL)
		return tdk_err_set(err, TDK_ENOMEM, "out of memory");
	sprintf(path, "%s/private-keys-v1.d", home);
	if (lstat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		rc = tdk_err_set(err, TDK_EPERM,
				 "GnuPG secret key directory %s has unsafe mode %04o: "
				 "others may read the desk's secret key (use chmod 700 %s)",
				 path, (unsigned)(st.st_mode & 07777), path);
	free(path);
	return rc;
}

static int check_home(const char *path, tdk_err *err)
{
	struct stat st;
	unsigned mode;
	struct errtext et;

	if (stat(path, &st) != 0) {
		int e = errno;

		return tdk_err_set(err, e == ENOENT ? TDK_ENOENT : TDK_EPERM,
				   "GnuPG home %s: %s", path, syserr(e, &et));
	}
	mode = (unsigned)(st.st_mode & 07777);
	if (!S_ISDIR(st.st_mode))
		return tdk_err_set(err, TDK_EPERM, "GnuPG home %s is not a directory",
				   path);
	if (st.st_uid != geteuid())
		return tdk_err_set(err, TDK_EPERM,
				   "GnuPG home %s (mode %04o) is owned by uid %lu, "
				   "not by the calling user (uid %lu)",
				   path, mode, (unsigned long)st.st_uid,
				   (unsigned long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return tdk_err_set(err, TDK_EPERM,
				   "GnuPG home %s has unsafe mode %04o: group- or "
				   "world-writable (use chmod 700)",
				   path, mode);
	if (st.st_mode & (S_IROTH | S_IXOTH))
		return tdk_err_set(err, TDK_EPERM,
				   "GnuPG home %s has unsafe mode %04o: world-readable, "
				   "and it holds secret keys (use chmod 700)",
				   path, mode);
	if (st.st_mode & (S_IRGRP | S_IXGRP))
		return tdk_err_set(err, TDK_EPERM,
				   "GnuPG home %s has unsafe mode %04o: group-readable, "
				   "and it holds secret keys that only its owner may "
				   "read (use chmod 700)",
				   path, mode);
	return check_key_dir(path, err);
}

/*
 * The first GnuPG home of the process becomes GPGME's default engine
 * setting, so that every context made for it starts without probing gpg.
 */
static pthread_mutex_t engine_default_mu = PTHREAD_MUTEX_INITIALIZER;
static char *engine_default_home;

static bool make_engine_default(const char *home)
{
	bool is_default = false;

	pthread_mutex_lock(&engine_default_mu);
	if (engine_default_home == NULL &&
	    gpgme_set_engine_info(GPGME_PROTOCOL_OpenPGP, NULL, home) == 0)
		engine_default_home = strdup(home);
	is_default = engine_default_home != NULL &&
		     strcmp(engine_default_home, home) == 0;
	pthread_mutex_unlock(&engine_default_mu);
	return is_default;
}

/* Checks cfg's ranges and GnuPG home; *home is the configured home (NULL:
 * gpg's default, checked all the same). */
static int check_config(const struct pgp_config *cfg, char **home, tdk_err *err)
{
	char *path;
	int rc;

	*home = NULL;
	if (cfg->time_budget_ms < 1 || cfg->time_budget_ms > PGP_BUDGET_MAX_MS)
		return tdk_err_set(err, TDK_ERANGE,
				   "OpenPGP time budget %d ms is out of range 1..%d",
				   cfg->time_budget_ms, PGP_BUDGET_MAX_MS);
	if (cfg->max_concurrent < 1 || cfg->max_concurrent > PGP_CONCURRENT_MAX)
		return tdk_err_set(err, TDK_ERANGE,
				   "OpenPGP concurrency %d is out of range 1..%d",
				   cfg->max_concurrent, PGP_CONCURRENT_MAX);
	if (cfg->max_output < 1)
		return tdk_err_set(err, TDK_ERANGE,
				   "OpenPGP output cap must be at least 1 byte");

	path = cfg->gnupg_home ? strdup(cfg->gnupg_home) : default_home();
	if (path == NULL)
		return tdk_err_set(err, TDK_ENOMEM,
				   "cannot determine the GnuPG home directory");
	rc = check_home(path, err);
	if (rc != TDK_OK || cfg->gnupg_home == NULL) {
		/* Checked, but gpg finds it by itself. */
		free(path);
		path = NULL;
	}
	*home = path;
	return rc;
}

/* A struct pgp for cfg, taking home. */
static int pgp_alloc(const struct pgp_config *cfg, char *home, struct pgp **out,
		     tdk_err *err)
{
	struct pgp *p = calloc(1, sizeof *p);

	if (p == NULL) {
		free(home);
		return tdk_err_set(err, TDK_ENOMEM, "out of memory");
	}
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(home);
		free(p);
		return tdk_err_set(err, TDK_ENOMEM, "cannot create a mutex");
	}
	if (cond_init_monotonic(&p->slot_cv) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(home);
		free(p);
		return tdk_err_set(err, TDK_ENOMEM, "cannot create a condition variable");
	}
	p->refs = 1;
	p->home = home;
	p->budget_ms = cfg->time_budget_ms;
	p->max_concurrent = cfg->max_concurrent;
	p->max_output = cfg->max_output;
	*out = p;
	return TDK_OK;
}

int pgp_new(const struct pgp_config *cfg, struct pgp **out, tdk_err *err)
{
	struct errtext et;
	char *home;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (cfg == NULL || out == NULL)
		return tdk_err_set(err, TDK_EINVAL, "pgp_new: no configuration");
	rc = check_config(cfg, &home, err);
	if (rc != TDK_OK)
		return rc;
	pthread_once(&init_once, init_gpgme);
	if (init_err) {
		free(home);
		return tdk_err_set(err, TDK_ECRYPTO, "GnuPG (gpg) is not usable: %s",
				   gerr(init_err, &et));
	}
	rc = pgp_alloc(cfg, home, out, err);
	if (rc == TDK_OK)
		(*out)->home_is_engine_default = home != NULL && make_engine_default(home);
	return rc;
}

int pgp_new_with_helper(const struct pgp_config *cfg,
			const char *const *helper_argv, struct pgp **out,
			tdk_err *err)
{
	char *home;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (cfg == NULL || out == NULL || helper_argv == NULL ||
	    helper_argv[0] == NULL)
		return tdk_err_set(err, TDK_EINVAL,
				   "pgp_new_with_helper: no configuration");
	rc = check_config(cfg, &home, err);
	if (rc != TDK_OK)
		return rc;
	rc = pgp_alloc(cfg, home, out, err);
	if (rc != TDK_OK)
		return rc;
	rc = pgp_client_new(cfg, helper_argv, &(*out)->client, err);
	if (rc != TDK_OK) {
		pgp_free(*out);
		*out = NULL;
	}
	return rc;
}

void pgp_free(struct pgp *p)
{
	if (p != NULL)
		pgp_unref(p);
}

static enum job_kind job_kind_of(enum pgp_wire_op op)
{
	switch (op) {
	case PGP_WIRE_VERIFY_DETACHED:
		return JOB_VERIFY_DETACHED;
	case PGP_WIRE_VERIFY_INLINE:
		return JOB_VERIFY_INLINE;
	default:
		return JOB_DECRYPT;
	}
}

int pgp_engine_run(struct pgp *p, enum pgp_wire_op op, const void *data,
		   size_t len, const void *data2, size_t len2, int wait_ms,
		   struct pgp_result *out)
{
	if (out != NULL && (op == PGP_WIRE_HELLO || wait_ms < 1 ||
			    wait_ms > PGP_BUDGET_MAX_MS)) {
		memset(out, 0, sizeof *out);
		return TDK_EINVAL;
	}
	return run_job(p, job_kind_of(op), data, len, data2, len2, wait_ms, out);
}

/* An operation of the API: in the helper if there is one, else here. */
static int run_op(struct pgp *p, enum pgp_wire_op op, const void *data,
		  size_t len, const void *data2, size_t len2,
		  struct pgp_result *out)
{
	if (p != NULL && p->client != NULL)
		return pgp_client_run(p->client, op, data, len, data2, len2, out);
	return run_job(p, job_kind_of(op), data, len, data2, len2,
		       p != NULL ? p->budget_ms : 1, out);
}

int pgp_decrypt(struct pgp *p, const void *data, size_t len,
		struct pgp_result *out)
{
	return run_op(p, PGP_WIRE_DECRYPT, data, len, NULL, 0, out);
}

int pgp_verify_detached(struct pgp *p, const void *signed_data,
			size_t signed_len, const void *sig, size_t sig_len,
			struct pgp_result *out)
{
	return run_op(p, PGP_WIRE_VERIFY_DETACHED, sig, sig_len, signed_data,
		      signed_len, out);
}

int pgp_verify_inline(struct pgp *p, const void *data, size_t len,
		      struct pgp_result *out)
{
	return run_op(p, PGP_WIRE_VERIFY_INLINE, data, len, NULL, 0, out);
}

void pgp_result_clear(struct pgp_result *r)
{
	if (r == NULL)
		return;
	if (r->plaintext != NULL) {
		explicit_bzero(r->plaintext, r->plaintext_len);
		free(r->plaintext);
	}
	memset(r, 0, sizeof *r);
}

const char *pgp_sig_state_name(enum pgp_sig_state s)
{
	switch (s) {
	case PGP_SIG_GOOD:
		return "good";
	case PGP_SIG_BAD:
		return "bad";
	case PGP_SIG_UNKNOWN_KEY:
		return "unknown-key";
	case PGP_SIG_EXPIRED_KEY:
		return "expired-key";
	case PGP_SIG_REVOKED_KEY:
		return "revoked-key";
	case PGP_SIG_ERROR:
		break;
	}
	return "error";
}

const char *pgp_decrypt_state_name(enum pgp_decrypt_state s)
{
	switch (s) {
	case PGP_NOT_ENCRYPTED:
		return "plain";
	case PGP_DECRYPTED:
		return "decrypted";
	case PGP_DECRYPT_FAILED:
		return "failed";
	case PGP_DECRYPT_DEFERRED:
		return "deferred";
	}
	return "failed";
}
