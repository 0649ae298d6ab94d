/*
 * test_pgp.c - the OpenPGP module against real gpg and gpg-agent.
 *
 * The group setup makes three temporary GNUPGHOMEs with tests/lib/gnupg.sh
 * and the INSECURE test keys in tests/keys ($TOP_SRCDIR, default "."):
 *   desk      what todoke uses: the desk's secret keys, everyone else's
 *             public keys (so mail to the outsider cannot be decrypted);
 *   signer    the senders' secret keys (bob's from before its revocation)
 *             and the desk's public keys: messages are made here with gpg;
 *   stranger  a throwaway key nobody knows, for "unknown key".
 * The teardown kills their agents and removes them.
 *
 * The whole group runs twice: with GPGME in this process (pgp_new), then
 * with GPGME in a crypto helper (pgp_new_with_helper), which is this test
 * program run as "test_pgp --crypto-helper". The answers must not differ.
 * The group with the helper also kills and stops its helper.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgp.h"

/* Fingerprints of the committed test keys (tests/keys/README). */
#define FPR_DISCOVERER "510F47EB564249207CD29EFAB6951DB633DA42E0"
#define FPR_ALICE "81291E614864BD4B40862A479F3A85E79FA9BE53"
#define FPR_BOB "42453D90E7541B863E94EC88D2416F570C99570C"
#define FPR_CAROL "C8469F697A53EF13806983D8FC9F6A10178F0041"
#define FPR_OUTSIDER "B8227851D0ECE9D26122A705E27707614EFC0225"

#define DESK "vuln-info@desk.example"
#define DESK_RSA "vuln-info-rsa@desk.example"

static struct {
	char script[PATH_MAX]; /* tests/lib/gnupg.sh */
	char work[64];         /* scratch files */
	char desk[64];
	char signer[64];
	char stranger[64];
	char extra[2][64]; /* homes of single tests, removed on failure too */
	int fake_agent;    /* listening socket of the stuck "agent", or -1 */
	struct pgp *pgp;   /* on desk, budget 30 s, 2 at once, 1 MiB */
	bool helper;       /* this group runs GPGME in a crypto helper */
	char self[PATH_MAX]; /* this program, for the helper */
} T = { .fake_agent = -1 };

/* ------------------------------------------------------------- helpers */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Runs argv; its stdout goes to *out (if out), stderr to work/cmd.err.
 * Returns the exit status, or -1. */
static int run(char *const argv[], char **out, size_t *out_len)
{
	char errpath[PATH_MAX];
	int pfd[2];
	pid_t pid;
	int status;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	snprintf(errpath, sizeof errpath, "%s/cmd.err", T.work);
	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int efd = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int nfd = open("/dev/null", O_RDONLY);

		if (efd >= 0)
			dup2(efd, 2);
		if (nfd >= 0)
			dup2(nfd, 0);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (buf == NULL)
				abort();
		}
		n = read(pfd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pfd[0]);
	buf[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out != NULL) {
		*out = buf;
		if (out_len != NULL)
			*out_len = len;
	} else {
		free(buf);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A new GNUPGHOME from tests/lib/gnupg.sh with keys (NULL-terminated). */
static int new_home(char *dst, size_t cap, const char *const keys[])
{
	char *argv[32];
	char *out = NULL;
	int n = 0, rc;

	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = ". \"$0\" && gnupg_new_home \"$@\" >&2 && printf '%s' \"$GNUPGHOME\"";
	argv[n++] = T.script;
	for (int i = 0; keys[i] != NULL && n < 31; i++)
		argv[n++] = (char *)keys[i];
	argv[n] = NULL;
	rc = run(argv, &out, NULL);
	if (rc == 0 && strncmp(out, "/tmp/tdk-gpg.", 13) == 0 && strlen(out) < cap)
		strcpy(dst, out);
	else
		rc = -1;
	free(out);
	return rc;
}

static void cleanup_home(const char *home)
{
	char *argv[] = { "/bin/sh", "-c", ". \"$0\" && gnupg_cleanup \"$1\"",
			 T.script, (char *)home, NULL };

	if (home[0] != '\0')
		run(argv, NULL, NULL);
}

/* Runs gpg in home on work/in (the given bytes) with args, output to
 * work/out; returns the output. args end with NULL. */
static char *gpg_make(const char *home, const void *in, size_t in_len,
		      size_t *out_len, ...)
{
	char inpath[PATH_MAX], outpath[PATH_MAX];
	char *argv[40];
	const char *a;
	va_list ap;
	int n = 0;
	char *res;

	snprintf(inpath, sizeof inpath, "%s/in", T.work);
	snprintf(outpath, sizeof outpath, "%s/out", T.work);
	write_file(inpath, in, in_len);
	unlink(outpath);
	argv[n++] = "gpg";
	argv[n++] = "--homedir";
	argv[n++] = (char *)home;
	argv[n++] = "--batch";
	argv[n++] = "--yes";
	argv[n++] = "--no-tty";
	argv[n++] = "--quiet";
	argv[n++] = "--trust-model";
	argv[n++] = "always";
	va_start(ap, out_len);
	while ((a = va_arg(ap, const char *)) != NULL && n < 35)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n++] = "--output";
	argv[n++] = outpath;
	argv[n++] = inpath;
	argv[n] = NULL;
	if (run(argv, NULL, NULL) != 0) {
		size_t elen;
		char errpath[PATH_MAX];
		char *e;

		snprintf(errpath, sizeof errpath, "%s/cmd.err", T.work);
		e = read_file(errpath, &elen);
		print_message("# gpg failed: %s\n", e ? e : "?");
		free(e);
		fail();
	}
	res = read_file(outpath, out_len);
	assert_non_null(res);
	return res;
}

static const char report[] =
	"To the desk: XSS in the login form of www.example.jp, details below.\n";

/* Number of threads of this process. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

/* Waits (up to ms) until only `want` threads are left: abandoned workers
 * must end on their own once gpg does. */
static bool wait_threads(int want, int ms)
{
	int64_t end = mono_ms() + ms;

	while (thread_count() > want) {
		if (mono_ms() > end)
			return false;
		sleep_ms(20);
	}
	return true;
}

/* With TDK_TEST_VERBOSE set, shows what an operation answered. */
static void show(const char *what, const struct pgp_result *r)
{
	if (getenv("TDK_TEST_VERBOSE") == NULL)
		return;
	print_message("# %s: %s [%s] %zu sig(s)", what,
		      pgp_decrypt_state_name(r->decrypt), r->detail, r->n_sigs);
	for (size_t i = 0; i < r->n_sigs; i++)
		print_message(" %s/%s", pgp_sig_state_name(r->sigs[i].state),
			      r->sigs[i].fingerprint);
	print_message("\n");
}

/* pgp_new, or pgp_new_with_helper in the group with the helper. */
static int new_pgp(const struct pgp_config *cfg, struct pgp **out, tdk_err *err)
{
	const char *argv[] = { T.self, "--crypto-helper", NULL };

	if (T.helper)
		return pgp_new_with_helper(cfg, argv, out, err);
	return pgp_new(cfg, out, err);
}

static struct pgp *make_pgp(const char *home, int budget, int conc, size_t cap)
{
	struct pgp_config cfg = { home, budget, conc, cap };
	struct pgp *p = NULL;
	tdk_err err = { "" };

	if (new_pgp(&cfg, &p, &err) != TDK_OK)
		print_message("# new_pgp: %s\n", err.text);
	assert_non_null(p);
	return p;
}

/* --------------------------------------------------------------- setup */

static int group_setup(void **state)
{
	static const char *const desk_keys[] = {
		"desk-cv25519", "desk-rsa3072", "discoverer.pub", "operator.pub",
		"alice.pub", "bob-revoked.pub", "carol-expired.pub", "outsider.pub",
		NULL
	};
	static const char *const signer_keys[] = {
		"discoverer.sec", "operator.sec", "alice.sec", "bob-revoked.sec",
		"carol-expired.sec", "outsider.sec", "desk-cv25519.pub",
		"desk-rsa3072.pub", NULL
	};
	static const char *const stranger_keys[] = { "desk-cv25519.pub", NULL };
	const char *top = getenv("TOP_SRCDIR");
	char *argv[16];
	char spec[64];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	{
		ssize_t n = readlink("/proc/self/exe", T.self, sizeof T.self - 1);

		if (n <= 0)
			return -1;
		T.self[n] = '\0';
	}
	if (top == NULL || *top == '\0')
		top = ".";
	snprintf(T.script, sizeof T.script, "%s/tests/lib/gnupg.sh", top);
	if (access(T.script, R_OK) != 0) {
		fprintf(stderr, "test_pgp: cannot read %s (set TOP_SRCDIR)\n", T.script);
		return -1;
	}
	snprintf(T.work, sizeof T.work, "/tmp/tdk-test.XXXXXX");
	if (mkdtemp(T.work) == NULL)
		return -1;
	if (new_home(T.desk, sizeof T.desk, desk_keys) != 0 ||
	    new_home(T.signer, sizeof T.signer, signer_keys) != 0 ||
	    new_home(T.stranger, sizeof T.stranger, stranger_keys) != 0) {
		fprintf(stderr, "test_pgp: cannot set up GNUPGHOMEs (see %s/cmd.err)\n",
			T.work);
		return -1;
	}
	/* The stranger's throwaway key, known to nobody else. */
	snprintf(spec, sizeof spec, "Stranger <stranger@example.com>");
	argv[0] = "gpg";
	argv[1] = "--homedir";
	argv[2] = T.stranger;
	argv[3] = "--batch";
	argv[4] = "--quiet";
	argv[5] = "--passphrase=";
	argv[6] = "--quick-gen-key";
	argv[7] = spec;
	argv[8] = "future-default";
	argv[9] = "default";
	argv[10] = "never";
	argv[11] = NULL;
	if (run(argv, NULL, NULL) != 0)
		return -1;
	{
		struct pgp_config cfg = { T.desk, 30000, 2, 1 << 20 };
		tdk_err err = { "" };

		if (new_pgp(&cfg, &T.pgp, &err) != TDK_OK) {
			fprintf(stderr, "test_pgp: pgp_new: %s\n", err.text);
			return -1;
		}
	}
	return 0;
}

static int group_teardown(void **state)
{
	char *argv[] = { "rm", "-rf", T.work, NULL };

	(void)state;
	if (T.fake_agent >= 0)
		close(T.fake_agent);
	pgp_free(T.pgp);
	T.pgp = NULL;
	for (int i = 0; i < 2; i++)
		cleanup_home(T.extra[i]);
	cleanup_home(T.desk);
	cleanup_home(T.signer);
	cleanup_home(T.stranger);
	if (strncmp(T.work, "/tmp/tdk-test.", 14) == 0)
		run(argv, NULL, NULL);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void state_names(void **state)
{
	(void)state;
	assert_string_equal(pgp_sig_state_name(PGP_SIG_GOOD), "good");
	assert_string_equal(pgp_sig_state_name(PGP_SIG_BAD), "bad");
	assert_string_equal(pgp_sig_state_name(PGP_SIG_UNKNOWN_KEY), "unknown-key");
	assert_string_equal(pgp_sig_state_name(PGP_SIG_EXPIRED_KEY), "expired-key");
	assert_string_equal(pgp_sig_state_name(PGP_SIG_REVOKED_KEY), "revoked-key");
	assert_string_equal(pgp_sig_state_name(PGP_SIG_ERROR), "error");
	assert_string_equal(pgp_decrypt_state_name(PGP_NOT_ENCRYPTED), "plain");
	assert_string_equal(pgp_decrypt_state_name(PGP_DECRYPTED), "decrypted");
	assert_string_equal(pgp_decrypt_state_name(PGP_DECRYPT_FAILED), "failed");
	assert_string_equal(pgp_decrypt_state_name(PGP_DECRYPT_DEFERRED), "deferred");
}

static void new_checks_home_mode(void **state)
{
	struct pgp_config cfg = { NULL, 1000, 1, 1000 };
	struct pgp *p = (struct pgp *)&cfg; /* not NULL: pgp_new must reset it */
	char dir[PATH_MAX];
	tdk_err err;

	(void)state;
	snprintf(dir, sizeof dir, "%s/home", T.work);
	assert_int_equal(mkdir(dir, 0700), 0);
	cfg.gnupg_home = dir;

	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_EPERM);
	assert_null(p);
	assert_non_null(strstr(err.text, dir));
	assert_non_null(strstr(err.text, "0777"));

	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_EPERM);
	assert_non_null(strstr(err.text, dir));
	assert_non_null(strstr(err.text, "0755"));
	assert_non_null(strstr(err.text, "world-readable"));

	assert_int_equal(chmod(dir, 0720), 0);
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_EPERM);

	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_OK);
	assert_non_null(p);
	pgp_free(p);

	assert_int_equal(chmod(dir, 0750), 0); /* the group must not read it */
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_EPERM);
	assert_null(p);
	assert_non_null(strstr(err.text, "group-readable"));
	assert_non_null(strstr(err.text, "chmod 700"));
	assert_int_equal(chmod(dir, 0700), 0);

	/* the secret keys' own directory */
	{
		char keys[PATH_MAX + 32];

		snprintf(keys, sizeof keys, "%s/private-keys-v1.d", dir);
		assert_int_equal(mkdir(keys, 0700), 0);
		assert_int_equal(chmod(keys, 0755), 0);
		assert_int_equal(new_pgp(&cfg, &p, &err), TDK_EPERM);
		assert_null(p);
		assert_non_null(strstr(err.text, keys));
		assert_non_null(strstr(err.text, "0755"));
		assert_non_null(strstr(err.text, "chmod 700"));
		assert_int_equal(chmod(keys, 0700), 0);
		assert_int_equal(new_pgp(&cfg, &p, &err), TDK_OK);
		pgp_free(p);
		rmdir(keys);
	}
	rmdir(dir);

	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_ENOENT);
	assert_non_null(strstr(err.text, dir));
	pgp_free(NULL);
}

static void new_checks_ranges(void **state)
{
	struct pgp_config cfg = { NULL, 0, 1, 1000 };
	struct pgp *p = NULL;
	tdk_err err;

	(void)state;
	cfg.gnupg_home = T.desk;
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_ERANGE);
	cfg.time_budget_ms = 600001;
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_ERANGE);
	cfg.time_budget_ms = 600000;
	cfg.max_concurrent = 0;
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_ERANGE);
	cfg.max_concurrent = 65;
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_ERANGE);
	cfg.max_concurrent = 64;
	cfg.max_output = 0;
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_ERANGE);
	cfg.max_output = 1;
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_OK);
	pgp_free(p);
	assert_int_equal(new_pgp(NULL, &p, &err), TDK_EINVAL);
}

/* gnupg_home NULL: $GNUPGHOME, checked the same way, found by gpg. */
static void new_default_home(void **state)
{
	struct pgp_config cfg = { NULL, 30000, 1, 1000 };
	char dir[PATH_MAX];
	struct pgp_result r;
	struct pgp *p = NULL;
	tdk_err err;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK,
		       "--encrypt", NULL);
	assert_int_equal(setenv("GNUPGHOME", T.desk, 1), 0);
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_OK);
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	pgp_result_clear(&r);
	pgp_free(p);

	snprintf(dir, sizeof dir, "%s/open", T.work);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(setenv("GNUPGHOME", dir, 1), 0);
	assert_int_equal(new_pgp(&cfg, &p, &err), TDK_EPERM);
	assert_non_null(strstr(err.text, dir));
	unsetenv("GNUPGHOME");
	rmdir(dir);
	free(msg);
}

static void decrypt_unsigned(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK,
		       "--encrypt", NULL);
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	assert_int_equal(r.n_sigs, 0);
	assert_int_equal(r.plaintext_len, strlen(report));
	assert_memory_equal(r.plaintext, report, strlen(report));
	assert_int_equal(r.plaintext[r.plaintext_len], '\0');
	assert_string_equal(r.detail, "");
	show("decrypt_unsigned/1", &r);
	pgp_result_clear(&r);
	assert_null(r.plaintext);
	free(msg);
}

static void decrypt_signed_by_discoverer(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "--armor", "-r",
		       DESK, "-u", "discoverer@example.org", "--encrypt", "--sign",
		       NULL);
	assert_non_null(strstr(msg, "-----BEGIN PGP MESSAGE-----"));
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	assert_memory_equal(r.plaintext, report, strlen(report));
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_GOOD);
	assert_string_equal(r.sigs[0].fingerprint, FPR_DISCOVERER);
	assert_true(r.sigs[0].created > now - 60 && r.sigs[0].created < now + 60);
	show("decrypt_signed_by_discoverer/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void decrypt_with_rsa_desk_key(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK_RSA,
		       "-u", "alice@desk.example", "--encrypt", "--sign", NULL);
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	assert_memory_equal(r.plaintext, report, strlen(report));
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_GOOD);
	assert_string_equal(r.sigs[0].fingerprint, FPR_ALICE);
	show("decrypt_with_rsa_desk_key/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void decrypt_for_someone_else(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r",
		       "outsider@example.net", "--encrypt", NULL);
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_non_null(strstr(r.detail, "no secret key"));
	assert_null(r.plaintext);
	show("decrypt_for_someone_else/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void decrypt_garbage(void **state)
{
	struct pgp_result r;
	unsigned char noise[2048];
	size_t len;
	char *msg, *p;
	unsigned seed = 12345;

	(void)state;
	/* Random bytes. */
	for (size_t i = 0; i < sizeof noise; i++) {
		seed = seed * 1103515245u + 12345u;
		noise[i] = (unsigned char)(seed >> 16);
	}
	assert_int_equal(pgp_decrypt(T.pgp, noise, sizeof noise, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_true(r.detail[0] != '\0');
	assert_null(r.plaintext);
	show("decrypt_garbage/1", &r);
	pgp_result_clear(&r);

	/* Empty input. */
	assert_int_equal(pgp_decrypt(T.pgp, "", 0, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_string_equal(r.detail, "empty input");
	show("decrypt_garbage/2", &r);
	pgp_result_clear(&r);
	assert_int_equal(pgp_decrypt(T.pgp, NULL, 0, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	show("decrypt_garbage/3", &r);
	pgp_result_clear(&r);

	/* Corrupted armor: characters of the body replaced. */
	msg = gpg_make(T.signer, report, strlen(report), &len, "--armor", "-r",
		       DESK, "--encrypt", NULL);
	p = strstr(msg, "\n\n");
	assert_non_null(p);
	for (int i = 10; i < 60; i++)
		p[i] = p[i] == 'A' ? 'B' : 'A';
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_true(r.detail[0] != '\0');
	assert_null(r.plaintext);
	show("decrypt_garbage/4", &r);
	pgp_result_clear(&r);

	/* Armor cut off in the middle. */
	assert_int_equal(pgp_decrypt(T.pgp, msg, len / 2, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	show("decrypt_garbage/5", &r);
	pgp_result_clear(&r);
	free(msg);

	/* One bit flipped near the end: gpg writes the plaintext and only
	 * then finds the modification (BADMDC): none of it may come back. */
	msg = gpg_make(T.signer, report, strlen(report), &len, "-z", "0", "-r",
		       DESK, "--encrypt", NULL);
	msg[len - 5] ^= 1;
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_non_null(strstr(r.detail, "corrupt data"));
	assert_null(r.plaintext);
	show("decrypt_garbage/mdc", &r);
	pgp_result_clear(&r);
	free(msg);

	/* Binary message with its encrypted payload damaged. */
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK,
		       "--encrypt", NULL);
	for (size_t i = len - 40; i < len - 20; i++)
		msg[i] ^= 0x55;
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_null(r.plaintext);
	show("decrypt_garbage/6", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void decrypt_symmetric(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len,
		       "--pinentry-mode", "loopback", "--passphrase", "opensesame",
		       "--symmetric", NULL);
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_non_null(strstr(r.detail, "passphrase"));
	assert_null(r.plaintext);
	show("decrypt_symmetric/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void decrypt_signed_by_revoked_key(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK, "-u",
		       "bob@desk.example", "--encrypt", "--sign", NULL);
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_REVOKED_KEY);
	assert_string_equal(r.sigs[0].fingerprint, FPR_BOB);
	show("decrypt_signed_by_revoked_key/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void decrypt_signed_by_unknown_key(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.stranger, report, strlen(report), &len, "-r", DESK, "-u",
		       "stranger@example.com", "--encrypt", "--sign", NULL);
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	assert_memory_equal(r.plaintext, report, strlen(report));
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_UNKNOWN_KEY);
	/* The issuer fingerprint (or key ID) the signature names. */
	assert_true(strlen(r.sigs[0].fingerprint) == 40 ||
		    strlen(r.sigs[0].fingerprint) == 16);
	show("decrypt_signed_by_unknown_key/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void decrypt_signed_only_message(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-u",
		       "alice@desk.example", "--sign", NULL);
	assert_int_equal(pgp_decrypt(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_NOT_ENCRYPTED);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_GOOD);
	assert_string_equal(r.sigs[0].fingerprint, FPR_ALICE);
	assert_int_equal(r.plaintext_len, strlen(report));
	show("decrypt_signed_only_message/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void verify_expired_key(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	/* carol's key was valid only on 2020-01-01 (see tests/keys/make-keys). */
	msg = gpg_make(T.signer, report, strlen(report), &len,
		       "--faked-system-time", "20200101T120000!", "-u",
		       "carol@desk.example", "--sign", NULL);
	assert_int_equal(pgp_verify_inline(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_NOT_ENCRYPTED);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_EXPIRED_KEY);
	assert_string_equal(r.sigs[0].fingerprint, FPR_CAROL);
	assert_int_equal(r.sigs[0].created, 1577880000); /* 2020-01-01 12:00 UTC */
	show("verify_expired_key/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void verify_tampered_signed_data(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg, *p;

	(void)state;
	/* Uncompressed, so the literal text can be changed in place. */
	msg = gpg_make(T.signer, report, strlen(report), &len, "-z", "0", "-u",
		       "alice@desk.example", "--sign", NULL);
	assert_int_equal(pgp_verify_inline(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_GOOD);
	assert_memory_equal(r.plaintext, report, strlen(report));
	show("verify_tampered_signed_data/1", &r);
	pgp_result_clear(&r);

	p = memmem(msg, len, "XSS", 3);
	assert_non_null(p);
	p[0] = 'Y';
	assert_int_equal(pgp_verify_inline(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_NOT_ENCRYPTED);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_BAD);
	show("verify_tampered_signed_data/2", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void verify_detached(void **state)
{
	static const char part[] =
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		"close IPA#12345678 reason=fixed\r\n";
	char changed[sizeof part];
	struct pgp_result r;
	size_t len;
	char *sig;

	(void)state;
	sig = gpg_make(T.signer, part, strlen(part), &len, "--armor", "-u",
		       "alice@desk.example", "--detach-sign", NULL);
	assert_int_equal(pgp_verify_detached(T.pgp, part, strlen(part), sig, len, &r),
			 TDK_OK);
	assert_int_equal(r.decrypt, PGP_NOT_ENCRYPTED);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_GOOD);
	assert_string_equal(r.sigs[0].fingerprint, FPR_ALICE);
	assert_null(r.plaintext);
	show("verify_detached/1", &r);
	pgp_result_clear(&r);

	memcpy(changed, part, sizeof part);
	memcpy(strstr(changed, "fixed"), "wrong", 5);
	assert_int_equal(pgp_verify_detached(T.pgp, changed, strlen(changed), sig,
					     len, &r),
			 TDK_OK);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_BAD);
	show("verify_detached/2", &r);
	pgp_result_clear(&r);

	/* Not a signature at all. */
	assert_int_equal(pgp_verify_detached(T.pgp, part, strlen(part), "hello", 5,
					     &r),
			 TDK_OK);
	assert_int_equal(r.decrypt, PGP_NOT_ENCRYPTED);
	assert_int_equal(r.n_sigs, 0);
	assert_true(r.detail[0] != '\0');
	show("verify_detached/3", &r);
	pgp_result_clear(&r);
	free(sig);
}

static void verify_clearsigned(void **state)
{
	static const char cmd[] = "assign IPA#12345678 to alice\n";
	struct pgp_result r;
	size_t len;
	char *msg, *p;

	(void)state;
	msg = gpg_make(T.signer, cmd, strlen(cmd), &len, "-u", "alice@desk.example",
		       "--clearsign", NULL);
	assert_int_equal(pgp_verify_inline(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_GOOD);
	assert_string_equal(r.sigs[0].fingerprint, FPR_ALICE);
	assert_non_null(r.plaintext);
	assert_non_null(strstr((char *)r.plaintext, "assign IPA#12345678 to alice"));
	show("verify_clearsigned/1", &r);
	pgp_result_clear(&r);

	p = strstr(msg, "to alice");
	assert_non_null(p);
	memcpy(p, "to mallo", 8);
	assert_int_equal(pgp_verify_inline(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.n_sigs, 1);
	assert_int_equal(r.sigs[0].state, PGP_SIG_BAD);
	show("verify_clearsigned/2", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void verify_more_than_four_signatures(void **state)
{
	struct pgp_result r;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-u",
		       "discoverer@example.org", "-u", "alice@desk.example", "-u",
		       "outsider@example.net", "-u", "security@operator.example",
		       "-u", "bob@desk.example", "--sign", NULL);
	assert_int_equal(pgp_verify_inline(T.pgp, msg, len, &r), TDK_OK);
	assert_int_equal(r.n_sigs, 4);
	assert_non_null(strstr(r.detail, "5 signatures"));
	for (size_t i = 0; i < r.n_sigs; i++)
		assert_int_equal(strlen(r.sigs[i].fingerprint), 40);
	show("verify_more_than_four_signatures/1", &r);
	pgp_result_clear(&r);
	free(msg);
}

static void output_cap(void **state)
{
	struct pgp_result r;
	char big[10240];
	struct pgp *p;
	size_t len;
	char *msg;

	(void)state;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + (i * 7 + i / 13) % 26);
	msg = gpg_make(T.signer, big, sizeof big, &len, "-r", DESK, "--encrypt",
		       NULL);
	p = make_pgp(T.desk, 30000, 2, 100);
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_FAILED);
	assert_non_null(strstr(r.detail, "exceeds 100 bytes"));
	assert_null(r.plaintext);
	show("output_cap/1", &r);
	pgp_result_clear(&r);
	pgp_free(p);

	/* Exactly at the cap is fine. */
	p = make_pgp(T.desk, 30000, 2, sizeof big);
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	assert_int_equal(r.plaintext_len, sizeof big);
	assert_memory_equal(r.plaintext, big, sizeof big);
	show("output_cap/2", &r);
	pgp_result_clear(&r);
	pgp_free(p);
	free(msg);
}

/* A gpg-agent that accepts connections and never says a word. */
static void budget_with_stuck_agent(void **state)
{
	static const char *const keys[] = { "desk-cv25519", NULL };
	char *home = T.extra[0], sock[PATH_MAX];
	char *kill_argv[] = { "gpgconf", "--homedir", home, "--kill", "gpg-agent",
			      NULL };
	struct sockaddr_un sa;
	struct pgp_result r;
	struct pgp *p;
	int64_t t0, elapsed;
	int fd, threads;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK,
		       "--encrypt", NULL);
	assert_int_equal(new_home(home, sizeof T.extra[0], keys), 0);
	assert_int_equal(run(kill_argv, NULL, NULL), 0);
	snprintf(sock, sizeof sock, "%s/S.gpg-agent", home);
	for (int i = 0; i < 100 && access(sock, F_OK) == 0; i++)
		sleep_ms(20);
	unlink(sock);
	T.fake_agent = fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	assert_true(strlen(sock) < sizeof sa.sun_path);
	strcpy(sa.sun_path, sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 16), 0);

	threads = thread_count();
	p = make_pgp(home, 500, 2, 1 << 20);
	t0 = mono_ms();
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	elapsed = mono_ms() - t0;
	assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
	assert_string_equal(r.detail, "time budget 500 ms exhausted");
	assert_null(r.plaintext);
	assert_true(elapsed >= 450 && elapsed < 700);
	show("budget_with_stuck_agent/1", &r);
	pgp_result_clear(&r);

	/* The abandoned decryption keeps its slot while its gpg runs: with
	 * max 2, one more starts (and is abandoned too); the third finds no
	 * slot within its budget... */
	t0 = mono_ms();
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
	show("budget_with_stuck_agent/2", &r);
	pgp_result_clear(&r);
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	elapsed = mono_ms() - t0;
	assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
	assert_non_null(strstr(r.detail, "no decryption slot free within 500 ms"));
	assert_true(elapsed < 1200);
	show("budget_with_stuck_agent/3", &r);
	pgp_result_clear(&r);
	pgp_free(p); /* waits for nothing */

	/* ...and once the "agent" goes away, gpg ends and so do the workers. */
	close(fd);
	T.fake_agent = -1;
	unlink(sock);
	assert_true(wait_threads(threads, 30000));
	cleanup_home(home);
	home[0] = '\0';
	free(msg);
}

static void budget_too_small(void **state)
{
	struct pgp_result r;
	struct pgp *p;
	int64_t t0, elapsed;
	int threads;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK,
		       "--encrypt", NULL);
	threads = thread_count();
	p = make_pgp(T.desk, 1, 1, 1 << 20);
	t0 = mono_ms();
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	elapsed = mono_ms() - t0;
	assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
	assert_string_equal(r.detail, "time budget 1 ms exhausted");
	assert_true(elapsed < 201);
	show("budget_too_small/1", &r);
	pgp_result_clear(&r);
	pgp_free(p);
	assert_true(wait_threads(threads, 30000));
	free(msg);
}

static void agent_unavailable(void **state)
{
	static const char *const keys[] = { "desk-cv25519", NULL };
	char *home = T.extra[1], conf[PATH_MAX];
	char *kill_argv[] = { "gpgconf", "--homedir", home, "--kill", "gpg-agent",
			      NULL };
	struct pgp_result r;
	struct pgp *p;
	FILE *f;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK,
		       "--encrypt", NULL);
	assert_int_equal(new_home(home, sizeof T.extra[1], keys), 0);
	assert_int_equal(run(kill_argv, NULL, NULL), 0);
	snprintf(conf, sizeof conf, "%s/gpg.conf", home);
	f = fopen(conf, "a");
	assert_non_null(f);
	fputs("no-autostart\n", f);
	fclose(f);

	p = make_pgp(home, 20000, 1, 1 << 20);
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
	assert_non_null(strstr(r.detail, "gpg-agent unavailable"));
	assert_null(r.plaintext);
	show("agent_unavailable/1", &r);
	pgp_result_clear(&r);
	pgp_free(p);
	cleanup_home(home);
	home[0] = '\0';
	free(msg);
}

/* -------------------------------------------------------- concurrency */

#define N_THREADS 8
#define N_EACH 10

struct conc {
	struct pgp *p;
	const char *msg;
	size_t len;
	int decrypted, other;
	char detail[200];
	pthread_mutex_t mu;
	atomic_int stop;
	int max_gpg; /* most gpg processes on desk seen at once */
};

static void *conc_worker(void *arg)
{
	struct conc *c = arg;

	for (int i = 0; i < N_EACH; i++) {
		struct pgp_result r;
		int rc = pgp_decrypt(c->p, c->msg, c->len, &r);
		bool ok = rc == TDK_OK && r.decrypt == PGP_DECRYPTED &&
			  r.plaintext_len == strlen(report) &&
			  memcmp(r.plaintext, report, strlen(report)) == 0;

		pthread_mutex_lock(&c->mu);
		if (ok) {
			c->decrypted++;
		} else {
			c->other++;
			snprintf(c->detail, sizeof c->detail, "rc %d, %s: %s", rc,
				 pgp_decrypt_state_name(r.decrypt), r.detail);
		}
		pthread_mutex_unlock(&c->mu);
		pgp_result_clear(&r);
	}
	return NULL;
}

/* Counts running gpg processes (not gpg-agent) working on home. */
static int count_gpg(const char *home)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[4096];
		ssize_t got;
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		got = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		/* argv[0] is "gpg" or ".../gpg"; then look for home in argv. */
		{
			const char *base = strrchr(buf, '/');

			base = base ? base + 1 : buf;
			if (strcmp(base, "gpg") != 0)
				continue;
		}
		for (ssize_t off = 0; off < got; off += (ssize_t)strlen(buf + off) + 1) {
			if (strcmp(buf + off, home) == 0) {
				n++;
				break;
			}
		}
	}
	closedir(d);
	return n;
}

static void *conc_sampler(void *arg)
{
	struct conc *c = arg;

	while (!atomic_load(&c->stop)) {
		int n = count_gpg(T.desk);

		if (n > c->max_gpg)
			c->max_gpg = n;
		sleep_ms(2);
	}
	return NULL;
}

static void concurrency(void **state)
{
	pthread_t th[N_THREADS], sampler;
	struct conc c;
	size_t len;
	char *msg;

	(void)state;
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK, "-u",
		       "discoverer@example.org", "--encrypt", "--sign", NULL);
	memset(&c, 0, sizeof c);
	pthread_mutex_init(&c.mu, NULL);
	c.p = make_pgp(T.desk, 120000, 2, 1 << 20);
	c.msg = msg;
	c.len = len;
	assert_int_equal(pthread_create(&sampler, NULL, conc_sampler, &c), 0);
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, conc_worker, &c), 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&c.stop, 1);
	pthread_join(sampler, NULL);
	pgp_free(c.p);
	pthread_mutex_destroy(&c.mu);
	if (c.other)
		print_message("# %d failed, last: %s\n", c.other, c.detail);
	print_message("# at most %d gpg processes at once\n", c.max_gpg);
	assert_int_equal(c.other, 0);
	assert_int_equal(c.decrypted, N_THREADS * N_EACH);
	assert_true(c.max_gpg <= 2);
	free(msg);
}

/* ------------------------------------------------------ the helper */

/* The crypto helpers this process has started and that still run. */
static int helper_pids(pid_t *pids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char path[300], buf[512], st;
		const char *rp;
		ssize_t got;
		int fd, ppid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		got = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		rp = strrchr(buf, ')');
		if (rp == NULL || sscanf(rp + 1, " %c %d", &st, &ppid) != 2 ||
		    ppid != getpid() || st == 'Z')
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		got = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		if (memmem(buf, (size_t)got, "\0--crypto-helper", 17) != NULL)
			pids[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}

/* The helper of a struct pgp made after the `before` helpers. */
static pid_t new_helper(const pid_t *before, int n_before)
{
	pid_t now[16];
	int n = helper_pids(now, 16);

	for (int i = 0; i < n; i++) {
		bool old = false;

		for (int j = 0; j < n_before; j++)
			old = old || now[i] == before[j];
		if (!old)
			return now[i];
	}
	return 0;
}

static bool process_exists(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%ld", (long)pid);
	return access(path, F_OK) == 0;
}

static void expect_decrypted(struct pgp *p, const char *msg, size_t len)
{
	struct pgp_result r;

	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	show("expect_decrypted", &r);
	assert_int_equal(r.decrypt, PGP_DECRYPTED);
	assert_int_equal(r.n_sigs, 1);
	assert_string_equal(r.sigs[0].fingerprint, FPR_DISCOVERER);
	assert_memory_equal(r.plaintext, report, strlen(report));
	pgp_result_clear(&r);
}

/* A helper killed between operations is replaced, and the next one is
 * answered as if nothing had happened; pgp_free reaps the helper. */
static void helper_killed(void **state)
{
	pid_t before[16], pid, pid2;
	int n_before;
	struct pgp *p;
	size_t len;
	char *msg;

	(void)state;
	assert_true(T.helper);
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK, "-u",
		       "discoverer@example.org", "--encrypt", "--sign", NULL);
	n_before = helper_pids(before, 16);
	p = make_pgp(T.desk, 30000, 2, 1 << 20);
	pid = new_helper(before, n_before);
	assert_true(pid > 0);
	expect_decrypted(p, msg, len);

	assert_int_equal(kill(pid, SIGKILL), 0);
	sleep_ms(1100); /* a helper is started at most once a second */
	expect_decrypted(p, msg, len);
	assert_false(process_exists(pid)); /* reaped, not a zombie */
	pid2 = new_helper(before, n_before);
	assert_true(pid2 > 0 && pid2 != pid);

	pgp_free(p);
	assert_false(process_exists(pid2));
	free(msg);
}

/* A helper killed during an operation, and again at once: deferrals
 * until the next start is due, then answers again. */
static void helper_dies_during_operation(void **state)
{
	pid_t before[16], pid;
	struct pgp_result r;
	int n_before;
	int64_t started;
	struct pgp *p;
	size_t len;
	char *msg;

	(void)state;
	assert_true(T.helper);
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK, "-u",
		       "discoverer@example.org", "--encrypt", "--sign", NULL);
	n_before = helper_pids(before, 16);
	started = mono_ms();
	p = make_pgp(T.desk, 30000, 2, 1 << 20);
	pid = new_helper(before, n_before);
	assert_true(pid > 0);
	/* Stopped, it takes the request but cannot answer; killed, it never
	 * will. */
	assert_int_equal(kill(pid, SIGSTOP), 0);
	{
		pid_t child = fork();

		assert_true(child >= 0);
		if (child == 0) {
			sleep_ms(300);
			kill(pid, SIGKILL);
			_exit(0);
		}
		assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
		show("helper_dies_during_operation/1", &r);
		assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
		assert_string_equal(r.detail,
				    "crypto helper failed: the operation was cut off");
		assert_null(r.plaintext);
		pgp_result_clear(&r);
		waitpid(child, NULL, 0);
	}
	assert_false(process_exists(pid));
	/* Started less than a second ago: not again yet (unless this machine
	 * was too slow to tell). */
	assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
	show("helper_dies_during_operation/2", &r);
	if (mono_ms() - started < 900) {
		assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
		assert_string_equal(r.detail, "crypto helper unavailable: restarting");
	}
	pgp_result_clear(&r);
	sleep_ms(1000);
	expect_decrypted(p, msg, len);
	pgp_free(p);
	free(msg);
}

/* A helper that stops answering: each operation runs out of its budget;
 * after three in a row and a second of silence the helper is killed and a
 * new one answers. */
static void helper_stops_answering(void **state)
{
	pid_t before[16], pid;
	struct pgp_result r;
	int n_before, calls = 0;
	struct pgp *p;
	size_t len;
	char *msg;

	(void)state;
	assert_true(T.helper);
	msg = gpg_make(T.signer, report, strlen(report), &len, "-r", DESK, "-u",
		       "discoverer@example.org", "--encrypt", "--sign", NULL);
	n_before = helper_pids(before, 16);
	p = make_pgp(T.desk, 500, 2, 1 << 20);
	pid = new_helper(before, n_before);
	assert_true(pid > 0);
	expect_decrypted(p, msg, len);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	while (process_exists(pid) && calls < 10) {
		int64_t t0 = mono_ms(), elapsed;

		assert_int_equal(pgp_decrypt(p, msg, len, &r), TDK_OK);
		elapsed = mono_ms() - t0;
		show("helper_stops_answering", &r);
		assert_int_equal(r.decrypt, PGP_DECRYPT_DEFERRED);
		assert_string_equal(r.detail, "time budget 500 ms exhausted");
		assert_true(elapsed >= 490 && elapsed < 800);
		pgp_result_clear(&r);
		calls++;
	}
	print_message("# killed after %d operations without an answer\n", calls);
	assert_false(process_exists(pid));
	assert_true(calls >= 3 && calls <= 4);
	expect_decrypted(p, msg, len);
	pgp_free(p);
	free(msg);
}

/* Each test runs once with GPGME here and once in a helper; these switch
 * T.pgp over. */
static int switch_mode(bool helper)
{
	struct pgp_config cfg = { T.desk, 30000, 2, 1 << 20 };
	tdk_err err = { "" };

	if (T.helper == helper && T.pgp != NULL)
		return 0;
	pgp_free(T.pgp);
	T.pgp = NULL;
	T.helper = helper;
	if (new_pgp(&cfg, &T.pgp, &err) != TDK_OK) {
		fprintf(stderr, "test_pgp: new_pgp: %s\n", err.text);
		return -1;
	}
	return 0;
}

static int in_process(void **state)
{
	(void)state;
	return switch_mode(false);
}

static int in_helper(void **state)
{
	(void)state;
	return switch_mode(true);
}

#define HERE(f) { #f, f, in_process, NULL, NULL }
#define HELPER(f) { "helper: " #f, f, in_helper, NULL, NULL }
#define BOTH(f) HERE(f), HELPER(f)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		HERE(state_names),
		BOTH(new_checks_home_mode),
		BOTH(new_checks_ranges),
		BOTH(new_default_home),
		BOTH(decrypt_unsigned),
		BOTH(decrypt_signed_by_discoverer),
		BOTH(decrypt_with_rsa_desk_key),
		BOTH(decrypt_for_someone_else),
		BOTH(decrypt_garbage),
		BOTH(decrypt_symmetric),
		BOTH(decrypt_signed_by_revoked_key),
		BOTH(decrypt_signed_by_unknown_key),
		BOTH(decrypt_signed_only_message),
		BOTH(verify_expired_key),
		BOTH(verify_tampered_signed_data),
		BOTH(verify_detached),
		BOTH(verify_clearsigned),
		BOTH(verify_more_than_four_signatures),
		BOTH(output_cap),
		BOTH(budget_with_stuck_agent),
		BOTH(budget_too_small),
		BOTH(agent_unavailable),
		BOTH(concurrency),
		HELPER(helper_killed),
		HELPER(helper_dies_during_operation),
		HELPER(helper_stops_answering),
	};

	/* Run as the crypto helper of the tests above. */
	if (argc == 2 && strcmp(argv[1], "--crypto-helper") == 0)
		return pgp_helper_main(0);
	return cmocka_run_group_tests_name("pgp", tests, group_setup,
					   group_teardown);
}
