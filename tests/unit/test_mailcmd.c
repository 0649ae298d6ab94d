/*
 * test_mailcmd.c - reading a staff command mail: which text the one
 * signature covers (clearsigned, PGP/MIME, encrypted and signed, and
 * every form that is refused), the command lines (quotes, comments,
 * signatures, stop words), the default case, the authentication verdict
 * for each signature state, key, role and time, the replay key, and the
 * transcript. Signature results are given as the milter would have
 * recorded them; the real gpg path is tests/scenario/mail-commands.t.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailcmd.h"

#define ALICE "81291E614864BD4B40862A479F3A85E79FA9BE53"
#define BOB "42453D90E7541B863E94EC88D2416F570C99570C"
#define OUTSIDER "B8227851D0ECE9D26122A705E27707614EFC0225"
#define NOW 1803000000 /* 2027-02-19T01:20:00Z */

static const struct rules *rules;
static const struct tdk_config *config;
static struct cal *cal;

static const struct tdk_config *load_config(const char *role, const char *subject_case)
{
	char path[] = "/tmp/tdk-mailcmd-XXXXXX";
	g_autofree char *text = g_strdup_printf(
		"staff: {\n"
		"  keys = ( { fingerprint = \"%s\"; address = \"alice@desk.example\"; role = \"%s\"; },\n"
		"           { fingerprint = \"%s\"; address = \"bob@desk.example\"; } );\n"
		"  subject_case = \"%s\";\n"
		"};\n", ALICE, role, BOB, subject_case);
	const struct tdk_config *c = NULL;
	tdk_err err;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (conf_load(path, NULL, 0, &c, &err) != TDK_OK)
		fail_msg("%s", err.text);
	unlink(path);
	return c;
}

static int setup(void **state)
{
	const char *srcdir = getenv("TOP_SRCDIR");
	g_autofree char *dir = g_strdup_printf("%s/rules", srcdir != NULL ? srcdir : ".");
	tdk_err err;

	if (rules_load_dir(dir, &rules, &err) != TDK_OK) {
		fprintf(stderr, "rules: %s\n", err.text);
		return -1;
	}
	config = load_config("lead", "signed");
	return rules_build_calendar(rules, "Asia/Tokyo", &cal, &err) == TDK_OK ? 0 : -1;
}

static int teardown(void **state)
{
	cal_free(cal);
	conf_free(config);
	rules_free(rules);
	return 0;
}

/* ---------------------------------------------------------- entries */

struct sig {
	enum spool_sig state;
	const char *fpr;
	int64_t created;
	bool inside;
};

static struct spool_entry *entry(const char *mail, const char *decrypted,
				 const struct sig *sigs, size_t n)
{
	struct spool_entry *e = g_new0(struct spool_entry, 1);

	e->id = 5;
	e->classification = SPOOL_COMMAND;
	e->message_id = g_strdup("cmd.1@staff.example");
	e->original = g_bytes_new(mail, strlen(mail));
	if (decrypted != NULL) {
		e->decrypted = g_bytes_new(decrypted, strlen(decrypted));
		e->crypto = SPOOL_DECRYPTED;
	}
	if (n > 0) {
		e->signatures = g_new0(struct spool_signature, n);
		e->n_signatures = n;
		for (size_t i = 0; i < n; i++) {
			e->signatures[i].state = sigs[i].state;
			e->signatures[i].fingerprint = g_strdup(sigs[i].fpr);
			e->signatures[i].created = sigs[i].created;
			e->signatures[i].inside_encryption = sigs[i].inside;
		}
	}
	return e;
}

static struct sig good_alice(void)
{
	return (struct sig){ SPOOL_SIG_GOOD, ALICE, NOW - 60, false };
}

#define HEAD "From: alice@desk.example\nTo: vuln-control@localhost\nSubject: commands\n" \
	     "Message-ID: <cmd.1@staff.example>\nMIME-Version: 1.0\n"
#define FAKE_SIG "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n=AAAA\n-----END PGP SIGNATURE-----\n"

static char *clearsigned_mail(const char *before, const char *body)
{
	return g_strdup_printf(HEAD "Content-Type: text/plain; charset=UTF-8\n\n"
			       "%s-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n%s\n"
			       FAKE_SIG "after the signature\n", before, body);
}

static char *signed_text_of(const char *mail, const char *decrypted, bool inside,
			    const char **form, char **subject, tdk_err *err, int *rc)
{
	struct sig s = good_alice();
	struct spool_entry *e;
	char *text = NULL, *subj = NULL;

	s.inside = inside;
	e = entry(mail, decrypted, &s, 1);
	*rc = mailcmd_signed_text(e, inside, &text, form, &subj, err);
	spool_entry_free(e);
	if (subject != NULL)
		*subject = subj;
	else
		g_free(subj);
	return text;
}

/* ------------------------------------------------------ signed text */

static void clearsigned_text_only(void **state)
{
	g_autofree char *mail = clearsigned_mail("close IPA#2 fixed\n\n",
						 "accept IPA#1 web   \n- -- \n- note IPA#1 x\n-not escaped");
	const char *form;
	tdk_err err;
	int rc;
	g_autofree char *text = signed_text_of(mail, NULL, false, &form, NULL, &err, &rc);

	assert_int_equal(rc, TDK_OK);
	assert_string_equal(form, "clearsigned");
	assert_string_equal(text, "accept IPA#1 web\n--\nnote IPA#1 x\n-not escaped");
}

static void clearsigned_refusals(void **state)
{
	static const struct {
		const char *mail;
		const char *why;
	} cases[] = {
		{ HEAD "\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\nComment: x\n\nhold IPA#1\n"
		  FAKE_SIG, "armor header other than Hash" },
		{ HEAD "\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhold IPA#1\n-----x\n"
		  FAKE_SIG, "line starting \"-----\"" },
		{ HEAD "\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhold IPA#1\n",
		  "without its signature" },
		{ HEAD "\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhold IPA#1\n" FAKE_SIG
		  "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nclose IPA#1 fixed\n" FAKE_SIG,
		  "two clearsigned blocks in one part" },
		{ HEAD "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n"
		  "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhold IPA#1\n" FAKE_SIG
		  "--b\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nclose IPA#1 fixed\n"
		  FAKE_SIG "--b--\n", "more than one signed part" },
		{ HEAD "\n-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n",
		  "inline PGP message" },
		{ HEAD "\nhold IPA#1\n", "no signed text" },
		{ HEAD "Content-Type: text/html\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
		  "hold IPA#1\n" FAKE_SIG, "no signed text" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *form;
		tdk_err err;
		int rc;
		char *text = signed_text_of(cases[i].mail, NULL, false, &form, NULL, &err, &rc);

		if (rc != TDK_EINVAL || strstr(err.text, cases[i].why) == NULL)
			fail_msg("case %zu: rc %d, '%s' (want '%s')", i, rc,
				 rc != TDK_OK ? err.text : text, cases[i].why);
		assert_null(text);
		assert_null(form);
	}
}

#define SIGNED_PART(subject_header, body) \
	"Content-Type: multipart/signed; micalg=pgp-sha256;\n" \
	" protocol=\"application/pgp-signature\"; boundary=s\n\n" \
	"--s\nContent-Type: multipart/mixed; boundary=m" subject_header "\n\n" \
	"--m\nContent-Type: text/plain; charset=UTF-8\n\n" body "\n" \
	"--m\nContent-Type: text/plain; name=\"notes.txt\"\nContent-Disposition: attachment\n\n" \
	"close IPA#9 fixed (an attachment)\n--m--\n" \
	"--s\nContent-Type: application/pgp-signature\n\n" FAKE_SIG "--s--\n"

static void pgpmime_text_only(void **state)
{
	const char *mail = HEAD "Content-Type: multipart/mixed; boundary=o\n\n"
			   "--o\nContent-Type: text/plain\n\nclose IPA#2 fixed (not signed)\n"
			   "--o\n" SIGNED_PART("\nSubject: [IPA#00000007] protected", "accept web\r\nnote x  ")
			   "--o--\n";
	g_autofree char *subject = NULL;
	const char *form;
	tdk_err err;
	int rc;
	g_autofree char *text = signed_text_of(mail, NULL, false, &form, &subject, &err, &rc);

	if (rc != TDK_OK)
		fail_msg("%s", err.text);
	assert_string_equal(form, "PGP/MIME");
	assert_string_equal(text, "accept web\nnote x\n");
	assert_non_null(subject);
	assert_non_null(strstr(subject, "[IPA#00000007]"));
}

#define ENCRYPTED_ROOT \
	HEAD "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\n\n" \
	"--e\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n" \
	"--e\nContent-Type: application/octet-stream\n\n-----BEGIN PGP MESSAGE-----\n\nAAAA\n" \
	"-----END PGP MESSAGE-----\n--e--\n"

static void encrypted_and_signed(void **state)
{
	const char *inner = "Content-Type: text/plain; charset=UTF-8\n"
			    "Subject: [IPA#00000003] inner\n\nhold\n";
	const char *inner_signed = SIGNED_PART("", "release IPA#3");
	g_autofree char *subject = NULL;
	const char *form;
	tdk_err err;
	int rc;
	char *text = signed_text_of(ENCRYPTED_ROOT, inner, true, &form, &subject, &err, &rc);

	if (rc != TDK_OK)
		fail_msg("%s", err.text);
	assert_string_equal(form, "encrypted and signed");
	assert_string_equal(text, "hold\n");
	assert_non_null(strstr(subject, "[IPA#00000003]"));
	g_free(text);
	g_clear_pointer(&subject, g_free);

	/* A signed part inside the encryption is the signed text. */
	text = signed_text_of(ENCRYPTED_ROOT, inner_signed, true, &form, &subject, &err, &rc);
	assert_int_equal(rc, TDK_OK);
	assert_string_equal(form, "PGP/MIME");
	assert_string_equal(text, "release IPA#3\n");
	g_free(text);

	/* Encrypted, but the signature is not from inside it. */
	text = signed_text_of(ENCRYPTED_ROOT, inner, false, &form, NULL, &err, &rc);
	assert_int_equal(rc, TDK_EINVAL);
	assert_non_null(strstr(err.text, "not on the encrypted content"));
	/* A signature inside encryption, but the mail is not encrypted. */
	g_autofree char *plain = clearsigned_mail("", "hold IPA#1");

	text = signed_text_of(plain, NULL, true, &form, NULL, &err, &rc);
	assert_int_equal(rc, TDK_EINVAL);
	assert_non_null(strstr(err.text, "not the whole mail"));
}

static void encrypted_part_inside(void **state)
{
	const char *mail = HEAD "Content-Type: multipart/mixed; boundary=x\n\n"
			   "--x\nContent-Type: text/plain\n\nhello\n"
			   "--x\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\n\n"
			   "--e\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
			   "--e\nContent-Type: application/octet-stream\n\nAAAA\n--e--\n--x--\n";
	const char *form;
	tdk_err err;
	int rc;
	char *text = signed_text_of(mail, "Content-Type: text/plain\n\nhold IPA#1\n", true,
				    &form, NULL, &err, &rc);

	assert_null(text);
	assert_int_equal(rc, TDK_EINVAL);
}

/* ------------------------------------------------------------ lines */

static void command_lines(void **state)
{
	size_t *linenos = NULL;
	bool stopped;
	char **lines = mailcmd_command_lines("\xEF\xBB\xBF# hello\n\naccept IPA#1 web  \n"
					     "  > quoted\n>close IPA#1 fixed\n\tnote IPA#1 x\n"
					     "Thank You\nclose IPA#1 fixed\n",
					     &linenos, &stopped);

	assert_int_equal(g_strv_length(lines), 2);
	assert_string_equal(lines[0], "accept IPA#1 web");
	assert_int_equal(linenos[0], 3);
	assert_string_equal(lines[1], "\tnote IPA#1 x");
	assert_int_equal(linenos[1], 6);
	assert_true(stopped);
	g_strfreev(lines);
	g_free(linenos);

	lines = mailcmd_command_lines("hold IPA#1\n-- \nAlice\nclose IPA#1 fixed", &linenos, &stopped);
	assert_int_equal(g_strv_length(lines), 1);
	assert_true(stopped);
	g_strfreev(lines);
	g_free(linenos);

	lines = mailcmd_command_lines("hold IPA#1\r\nQUIT\r\n", &linenos, &stopped);
	assert_int_equal(g_strv_length(lines), 1);
	assert_string_equal(lines[0], "hold IPA#1");
	g_strfreev(lines);
	g_free(linenos);

	lines = mailcmd_command_lines("hold IPA#1\nThanks!\nclose IPA#1 fixed", &linenos, &stopped);
	assert_int_equal(g_strv_length(lines), 1);
	assert_true(stopped);
	g_strfreev(lines);
	g_free(linenos);

	lines = mailcmd_command_lines("hold IPA#1\nthank you, Alice\nclose IPA#1 fixed",
				      &linenos, &stopped);
	assert_int_equal(g_strv_length(lines), 1);
	g_strfreev(lines);
	g_free(linenos);

	/* Words that only begin like a stop word are commands (or errors). */
	lines = mailcmd_command_lines("stopped IPA#1\nquit2\nthanks#1\n--x", &linenos, &stopped);
	assert_int_equal(g_strv_length(lines), 4);
	assert_false(stopped);
	g_strfreev(lines);
	g_free(linenos);
}

static void default_case_insertion(void **state)
{
	const struct casenum_format f = { "IPA#", 8 };
	const char *d = "IPA#00000042";
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "close fixed", "close IPA#00000042 fixed" },
		{ "resume", "resume IPA#00000042" },
		{ "  Note  two  spaces", "  Note IPA#00000042  two  spaces" },
		{ "note \"quoted text\"", "note IPA#00000042 \"quoted text\"" },
		{ "note 42 is the answer", "note IPA#00000042 42 is the answer" },
		{ "close IPA#5 fixed", NULL },
		{ "close ipa#5 fixed", NULL },
		{ "close IPA#bad fixed", NULL }, /* meant as a case: the parser says why */
		{ "note \"IPA#5\" x", NULL },
		{ "frobnicate fixed", NULL },
		{ "\"close\" fixed", NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = mailcmd_with_case(cases[i].line, d, &f);

		if (cases[i].want == NULL ? got != NULL
					  : got == NULL || strcmp(got, cases[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].line,
				 got != NULL ? got : "(none)",
				 cases[i].want != NULL ? cases[i].want : "(none)");
	}
	assert_null(mailcmd_with_case("close fixed", NULL, &f));
}

/* ----------------------------------------------------- authentication */

static struct mailcmd *read_with(const struct tdk_config *c, struct spool_entry *e,
				 int64_t now)
{
	struct mailcmd_policy p = { c, rules, { "IPA#", 8 } };
	struct mailcmd *m = NULL;
	tdk_err err;

	assert_int_equal(mailcmd_read(&p, e, now, &m, &err), TDK_OK);
	spool_entry_free(e);
	return m;
}

static struct mailcmd *read_clearsigned(const struct sig *sigs, size_t n, const char *body)
{
	g_autofree char *mail = clearsigned_mail("", body);

	return read_with(config, entry(mail, NULL, sigs, n), NOW);
}

static void signature_verdicts(void **state)
{
	static const struct {
		struct sig s;
		enum mailcmd_auth auth;
		bool known;
		const char *reason;
	} cases[] = {
		{ { SPOOL_SIG_BAD, ALICE, 0, false }, MAILCMD_AUTH_BAD, true, "bad signature" },
		{ { SPOOL_SIG_REVOKED_KEY, BOB, NOW, false }, MAILCMD_AUTH_KEY, true, "revoked key" },
		{ { SPOOL_SIG_EXPIRED_KEY, BOB, NOW, false }, MAILCMD_AUTH_KEY, true, "expired key" },
		{ { SPOOL_SIG_UNKNOWN_KEY, "9F3A85E79FA9BE53", NOW, false }, MAILCMD_AUTH_KEY, false,
		  "a key the desk does not have" },
		{ { SPOOL_SIG_ERROR, NULL, NOW, false }, MAILCMD_AUTH_KEY, false, "could not be checked" },
		{ { SPOOL_SIG_GOOD, OUTSIDER, NOW, false }, MAILCMD_AUTH_NOT_STAFF, false,
		  "key " OUTSIDER " is not a staff key" },
		{ { SPOOL_SIG_GOOD, ALICE, NOW - 259200, false }, MAILCMD_AUTH_OK, true, NULL },
		{ { SPOOL_SIG_GOOD, ALICE, NOW - 259201, false }, MAILCMD_AUTH_TIME, true,
		  "made 259201 seconds before" },
		{ { SPOOL_SIG_GOOD, ALICE, NOW - 4 * 86400, false }, MAILCMD_AUTH_TIME, true,
		  "at most 259200 are accepted (staff.signature_window_past)" },
		{ { SPOOL_SIG_GOOD, ALICE, NOW + 300, false }, MAILCMD_AUTH_OK, true, NULL },
		{ { SPOOL_SIG_GOOD, ALICE, NOW + 301, false }, MAILCMD_AUTH_TIME, true,
		  "staff.signature_window_future" },
		{ { SPOOL_SIG_GOOD, ALICE, 0, false }, MAILCMD_AUTH_TIME, true, "no creation time" },
		{ { SPOOL_SIG_GOOD, "81291e614864bd4b40862a479f3a85e79fa9be53", NOW, false },
		  MAILCMD_AUTH_OK, true, NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct mailcmd *m = read_clearsigned(&cases[i].s, 1, "hold IPA#1");

		if (m->auth != cases[i].auth ||
		    (cases[i].reason != NULL &&
		     (m->reason == NULL || strstr(m->reason, cases[i].reason) == NULL)))
			fail_msg("case %zu: %s '%s'", i, mailcmd_auth_name(m->auth),
				 m->reason != NULL ? m->reason : "");
		assert_int_equal(m->signer != NULL, cases[i].known);
		if (m->auth == MAILCMD_AUTH_OK) {
			assert_null(m->reason);
			assert_int_equal(m->n_lines, 1);
		} else {
			assert_int_equal(m->n_lines, 0);
		}
		mailcmd_free(m);
	}
}

static void mail_level_refusals(void **state)
{
	struct sig two[2] = { good_alice(), good_alice() };
	g_autofree char *mail = clearsigned_mail("", "hold IPA#1");
	struct spool_entry *e;
	struct mailcmd *m;

	m = read_clearsigned(NULL, 0, "hold IPA#1");
	assert_int_equal(m->auth, MAILCMD_AUTH_UNSIGNED);
	assert_null(m->signer);
	mailcmd_free(m);

	two[1].fpr = BOB;
	m = read_clearsigned(two, 2, "hold IPA#1");
	assert_int_equal(m->auth, MAILCMD_AUTH_MANY);
	assert_non_null(m->signer); /* told: a staff key signed */
	mailcmd_free(m);

	e = entry(mail, NULL, two, 1);
	e->crypto = SPOOL_DECRYPT_DEFERRED;
	e->crypto_detail = g_strdup("time budget 10 ms exhausted");
	m = read_with(config, e, NOW);
	assert_int_equal(m->auth, MAILCMD_AUTH_UNCHECKED);
	assert_non_null(strstr(m->reason, "time budget 10 ms exhausted"));
	mailcmd_free(m);

	e = entry(mail, NULL, two, 1);
	g_clear_pointer(&e->message_id, g_free);
	m = read_with(config, e, NOW);
	assert_int_equal(m->auth, MAILCMD_AUTH_NO_ID);
	mailcmd_free(m);

	e = entry(HEAD "\nhold IPA#1\n", NULL, two, 1);
	m = read_with(config, e, NOW);
	assert_int_equal(m->auth, MAILCMD_AUTH_FORM);
	assert_string_equal(m->reason, "no signed text in the mail");
	mailcmd_free(m);
}

static void commands_and_roles(void **state)
{
	struct sig s = good_alice();
	const struct tdk_config *staff = load_config("staff", "signed");
	const struct tdk_config *any = load_config("lead", "any");
	g_autofree char *mail = clearsigned_mail("", "accept IPA#1 web\nbogus\nclose IPA#1 fixed");
	g_autofree char *short_mail = clearsigned_mail("", "hold\nnote IPA#2 x");
	struct spool_entry *e;
	struct mailcmd *m;

	m = read_with(config, entry(mail, NULL, &s, 1), NOW);
	assert_int_equal(m->auth, MAILCMD_AUTH_OK);
	assert_int_equal(m->n_lines, 3);
	assert_int_equal(m->n_errors, 1);
	assert_non_null(m->lines[0].cmd);
	assert_null(m->lines[0].error);
	assert_int_equal(m->lines[1].lineno, 2);
	assert_string_equal(m->lines[1].error, "unknown command 'bogus'");
	assert_null(m->lines[2].error); /* close: alice is lead */
	mailcmd_free(m);

	m = read_with(staff, entry(mail, NULL, &s, 1), NOW);
	assert_int_equal(m->n_errors, 2);
	assert_non_null(strstr(m->lines[2].error, "close: only the lead role may use it"));
	mailcmd_free(m);

	/* The outer Subject is not signed: no default case unless "any". */
	e = entry(short_mail, NULL, &s, 1);
	e->case_subject = g_strdup("IPA#00000009");
	m = read_with(config, e, NOW);
	assert_null(m->default_case);
	assert_string_equal(m->unsigned_case, "IPA#00000009");
	assert_non_null(strstr(m->lines[0].error, "not covered by the signature"));
	assert_null(m->lines[1].error);
	mailcmd_free(m);

	e = entry(short_mail, NULL, &s, 1);
	e->case_subject = g_strdup("IPA#00000009");
	m = read_with(any, e, NOW);
	assert_string_equal(m->default_case, "IPA#00000009");
	assert_int_equal(m->n_errors, 0);
	assert_string_equal(m->lines[0].effective, "hold IPA#00000009");
	assert_int_equal(m->lines[0].cmd->case_number, 9);
	assert_null(m->lines[1].effective);
	mailcmd_free(m);
	conf_free(staff);
	conf_free(any);
}

static void protected_subject_is_the_default(void **state)
{
	struct sig s = good_alice();
	const char *mail = HEAD SIGNED_PART("\nSubject: Re: [IPA#00000007] x", "hold");
	struct spool_entry *e = entry(mail, NULL, &s, 1);
	struct mailcmd *m;

	e->case_subject = g_strdup("IPA#00000001"); /* the outer one differs */
	m = read_with(config, e, NOW);
	assert_int_equal(m->auth, MAILCMD_AUTH_OK);
	assert_string_equal(m->default_case, "IPA#00000007");
	assert_int_equal(m->lines[0].cmd->case_number, 7);
	mailcmd_free(m);
}

static void replay_keys(void **state)
{
	uint8_t a[32], b[32];

	mailcmd_replay_key(ALICE, 100, "hold IPA#1\n", a);
	mailcmd_replay_key("81291e614864bd4b40862a479f3a85e79fa9be53", 100, "hold IPA#1\n", b);
	assert_memory_equal(a, b, 32);
	mailcmd_replay_key(ALICE, 101, "hold IPA#1\n", b);
	assert_memory_not_equal(a, b, 32);
	mailcmd_replay_key(BOB, 100, "hold IPA#1\n", b);
	assert_memory_not_equal(a, b, 32);
	mailcmd_replay_key(ALICE, 100, "hold IPA#2\n", b);
	assert_memory_not_equal(a, b, 32);
}

/* What the attacker may change around a signature does not change the key. */
static void replay_key_ignores_what_is_not_signed(void **state)
{
	struct sig s = good_alice();
	g_autofree char *one = clearsigned_mail("", "hold IPA#1\nnote IPA#1 x");
	g_autofree char *two = clearsigned_mail("other text before\n",
						"- hold IPA#1   \r\nnote IPA#1 x\t");
	struct mailcmd *a = read_with(config, entry(one, NULL, &s, 1), NOW);
	struct spool_entry *e = entry(two, NULL, &s, 1);
	struct mailcmd *b;

	g_free(e->message_id);
	e->message_id = g_strdup("another@id");
	b = read_with(config, e, NOW);
	assert_int_equal(a->auth, MAILCMD_AUTH_OK);
	assert_int_equal(b->auth, MAILCMD_AUTH_OK);
	assert_memory_equal(a->replay_key, b->replay_key, 32);
	mailcmd_free(a);
	mailcmd_free(b);
}

static void transcript_text(void **state)
{
	struct sig s = good_alice();
	g_autofree char *mail = clearsigned_mail("", "accept IPA#1 web\nbogus");
	struct mailcmd *m = read_with(config, entry(mail, NULL, &s, 1), NOW);
	g_autofree char *t = mailcmd_transcript(m, false, NULL, cal);

	assert_non_null(strstr(t, "Message-ID: <cmd.1@staff.example>"));
	assert_non_null(strstr(t, "Signature:  key " ALICE ", made 2027-02-19T10:19:00+09:00 "
				  "(alice@desk.example, lead), clearsigned"));
	assert_non_null(strstr(t, "Result:     refused, nothing was changed: line 2 cannot be applied"));
	assert_non_null(strstr(t, "> accept IPA#1 web\n  not applied"));
	assert_non_null(strstr(t, "> bogus\n  line 2: refused: unknown command 'bogus'"));
	mailcmd_free(m);

	m = read_clearsigned(NULL, 0, "hold IPA#1");
	g_free(t);
	t = mailcmd_transcript(m, false, NULL, cal);
	assert_non_null(strstr(t, "Signature:  none"));
	assert_non_null(strstr(t, "refused, nothing was changed: the mail is not signed"));
	assert_null(strstr(t, "hold")); /* unauthenticated text is not echoed */
	mailcmd_free(m);
}

/* conf's list of verbs for staff.lead_only is the command language's. */
static void lead_only_verbs_are_the_command_verbs(void **state)
{
	const char *const *names = conf_staff_verbs();
	size_t n = 0;

	for (; names[n] != NULL; n++) {
		enum cmd_verb v;

		assert_int_equal(command_verb_from_name(names[n], &v), TDK_OK);
		assert_string_equal(command_verb_name(v), names[n]);
	}
	assert_int_equal(n, CMD_RECORD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clearsigned_text_only),
		cmocka_unit_test(clearsigned_refusals),
		cmocka_unit_test(pgpmime_text_only),
		cmocka_unit_test(encrypted_and_signed),
		cmocka_unit_test(encrypted_part_inside),
		cmocka_unit_test(command_lines),
		cmocka_unit_test(default_case_insertion),
		cmocka_unit_test(signature_verdicts),
		cmocka_unit_test(mail_level_refusals),
		cmocka_unit_test(commands_and_roles),
		cmocka_unit_test(protected_subject_is_the_default),
		cmocka_unit_test(replay_keys),
		cmocka_unit_test(replay_key_ignores_what_is_not_signed),
		cmocka_unit_test(transcript_text),
		cmocka_unit_test(lead_only_verbs_are_the_command_verbs),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, setup, teardown);
	g_mime_shutdown();
	return rc;
}
