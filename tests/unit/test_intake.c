/*
 * test_intake.c - recipient matching, trust headers, caps and
 * classification of the intake, without OpenPGP (pgp NULL). Encrypted
 * mail is covered by the corpus test with real keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gmime/gmime.h>
#include <string.h>

#include "intake.h"

static const struct intake_config cfg = {
	.report_address = "vuln-info@desk.example",
	.contact_address = "vuln-contact@desk.example",
	.control_address = "vuln-control@desk.example",
	.bounce_address = "vuln-bounce@desk.example",
	.case_format = { .prefix = "IPA#", .width = 8 },
	.limits = { .message_size = 100000, .header_size = 4096,
		    .mime_depth = 5, .mime_parts = 20,
		    .decrypted_size = 100000 },
};

static int setup(void **state)
{
	g_mime_init();
	return 0;
}

static int teardown(void **state)
{
	g_mime_shutdown();
	return 0;
}

/* Runs the intake on text for one recipient; returns the entry or NULL. */
static struct spool_entry *run(const char *text, const char *rcpt,
			       const char *sender, struct intake_result *result)
{
	const char *rcpts[] = { rcpt };
	struct intake_envelope env = { .queue_id = "4XyZ", .sender = sender,
				       .recipients = rcpts, .n_recipients = 1,
				       .received = 1790000000 };
	struct spool_entry *e = NULL;
	tdk_err err;

	assert_int_equal(intake_process(&cfg, NULL, text, strlen(text), &env, &e,
					result, &err),
			 TDK_OK);
	return e;
}

static void recipients_match_case_and_extension(void **state)
{
	char *token = NULL;

	assert_int_equal(intake_desk_role(&cfg, "<Vuln-Info@Desk.Example>", NULL),
			 DESK_REPORT);
	assert_int_equal(intake_desk_role(&cfg, "vuln-contact+x@desk.example", NULL),
			 DESK_CONTACT);
	assert_int_equal(intake_desk_role(&cfg, "<vuln-bounce+N42.abc@desk.example>",
					  &token),
			 DESK_BOUNCE);
	assert_string_equal(token, "N42.abc");
	g_free(token);
	assert_int_equal(intake_desk_role(&cfg, "vuln-info@other.example", NULL),
			 DESK_NONE);
	assert_int_equal(intake_desk_role(&cfg, "vuln-infox@desk.example", NULL),
			 DESK_NONE);
	assert_int_equal(intake_desk_role(&cfg, "<\"vuln-info\"@desk.example>", NULL),
			 DESK_REPORT);
	assert_int_equal(intake_desk_role(&cfg, "<\"vuln\\-info\"@desk.example>", NULL),
			 DESK_REPORT);
	assert_int_equal(intake_desk_role(&cfg, "vuln-info@desk.example.", NULL),
			 DESK_REPORT);
	assert_int_equal(intake_desk_role(&cfg, "nobody", NULL), DESK_NONE);
	assert_int_equal(intake_desk_role(&cfg, "<>", NULL), DESK_NONE);
	assert_int_equal(intake_desk_role(&cfg, "@desk.example", NULL), DESK_NONE);
}

static void report_and_reply(void **state)
{
	struct intake_result r;
	struct spool_entry *e;

	e = run("From: d@example.org\r\nSubject: XSS on www.example.jp\r\n"
		"Message-ID: <r1@example.org>\r\n\r\nDetails.\r\n",
		"vuln-info@desk.example", "d@example.org", &r);
	assert_int_equal(r.verdict, INTAKE_SPOOL);
	assert_int_equal(e->classification, SPOOL_REPORT);
	assert_null(e->case_subject);
	assert_string_equal(e->message_id, "r1@example.org");
	assert_string_equal(e->queue_id, "4XyZ");
	assert_int_equal(e->received, 1790000000);
	assert_int_equal(e->crypto, SPOOL_PLAIN);
	spool_entry_free(e);

	e = run("From: op@operator.example\r\nSubject: Re: [IPA#00000123] お問い合わせ\r\n\r\nOK\r\n",
		"vuln-contact@desk.example", "op@operator.example", &r);
	assert_int_equal(e->classification, SPOOL_REPLY);
	assert_string_equal(e->case_subject, "IPA#00000123");
	spool_entry_free(e);

	/* a case number in the body counts as well */
	e = run("From: op@operator.example\r\nSubject: report\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n\r\n"
		"取扱番号: IPA#00000077\r\n",
		"vuln-contact@desk.example", "op@operator.example", &r);
	assert_int_equal(e->classification, SPOOL_REPLY);
	assert_string_equal(e->case_body, "IPA#00000077");
	spool_entry_free(e);
}

static void commands_bounces_auto_replies(void **state)
{
	struct intake_result r;
	struct spool_entry *e;

	e = run("From: alice@desk.example\r\nSubject: [IPA#00000001]\r\n\r\naccept\r\n",
		"vuln-control@desk.example", "alice@desk.example", &r);
	assert_int_equal(e->classification, SPOOL_COMMAND);
	spool_entry_free(e);

	e = run("From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\n"
		"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
		"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
		"Reporting-MTA: dns; mx.example\r\n\r\n"
		"Final-Recipient: rfc822; nobody@operator.example\r\nAction: failed\r\n"
		"--b--\r\n",
		"vuln-bounce+N17@desk.example", "", &r);
	assert_int_equal(e->classification, SPOOL_BOUNCE);
	assert_string_equal(e->bounce_token, "N17");
	assert_string_equal(e->bounce_recipient, "nobody@operator.example");
	assert_string_equal(e->envelope_from, "");
	spool_entry_free(e);

	/* a milter gets the envelope sender as the MTA spells it: <> and <addr> */
	e = run("From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\n\r\nfailed\r\n",
		"vuln-bounce+N17@desk.example", "<>", &r);
	assert_string_equal(e->envelope_from, "");
	spool_entry_free(e);
	e = run("From: Taro <taro@discoverer.example>\r\nSubject: report\r\n\r\nXSS\r\n",
		"vuln-info@desk.example", "<taro@discoverer.example>", &r);
	assert_string_equal(e->envelope_from, "taro@discoverer.example");
	spool_entry_free(e);

	e = run("From: op@operator.example\r\nAuto-Submitted: auto-replied\r\n"
		"Subject: Out of office Re: [IPA#00000005]\r\n\r\naway\r\n",
		"vuln-contact@desk.example", "op@operator.example", &r);
	assert_int_equal(e->classification, SPOOL_AUTO_REPLY);
	assert_string_equal(e->class_reason, "Auto-Submitted: auto-replied");
	assert_string_equal(e->case_subject, "IPA#00000005");
	spool_entry_free(e);

	e = run("From: op@operator.example\r\nAuto-Submitted: no\r\n"
		"Subject: Re: [IPA#00000005]\r\n\r\nhere\r\n",
		"vuln-contact@desk.example", "op@operator.example", &r);
	assert_int_equal(e->classification, SPOOL_REPLY);
	spool_entry_free(e);

	e = run("From: list@example.org\r\nPrecedence: bulk\r\nSubject: news\r\n\r\nx\r\n",
		"vuln-info@desk.example", "list@example.org", &r);
	assert_int_equal(e->classification, SPOOL_AUTO_REPLY);
	spool_entry_free(e);

	e = run("From: x@example.org\r\nSubject: hi\r\n\r\nx\r\n",
		"vuln-info@desk.example", "<>", &r);
	assert_int_equal(e->classification, SPOOL_AUTO_REPLY);
	assert_string_equal(e->class_reason, "null envelope sender");
	assert_string_equal(e->envelope_from, "");
	spool_entry_free(e);
}

/* The milter hands the addresses over as the MTA has them, in brackets;
 * the spool keeps them bare, as the processor compares and mails them. */
static void envelope_addresses_are_stored_bare(void **state)
{
	struct intake_result r;
	struct spool_entry *e;

	(void)state;
	e = run("From: Taro <taro@discoverer.example>\r\nSubject: report\r\n\r\nx\r\n",
		"<vuln-info@desk.example>", "<Taro@Discoverer.example>", &r);
	assert_int_equal(e->classification, SPOOL_REPORT);
	assert_string_equal(e->envelope_from, "Taro@Discoverer.example");
	assert_string_equal(e->recipients[0], "vuln-info@desk.example");
	spool_entry_free(e);
	e = run("From: x@example.org\r\nSubject: hi\r\n\r\nx\r\n",
		"vuln-info@desk.example", " x@example.org ", &r);
	assert_string_equal(e->envelope_from, "x@example.org");
	spool_entry_free(e);
}

static void trust_headers_are_removed(void **state)
{
	struct intake_result r;
	struct spool_entry *e;
	const char *data;
	gsize len;

	e = run("From: x@example.org\r\nX-Todoke-Case: IPA#99999999\r\n"
		"X-TODOKE-Class: command\r\n\tcontinued\r\nSubject: hello\r\n\r\nbody\r\n",
		"vuln-info@desk.example", "x@example.org", &r);
	assert_int_equal(e->classification, SPOOL_REPORT);
	assert_null(e->case_subject);
	data = g_bytes_get_data(e->original, &len);
	assert_null(g_strstr_len(data, (gssize)len, "X-Todoke"));
	assert_null(g_strstr_len(data, (gssize)len, "continued"));
	assert_non_null(g_strstr_len(data, (gssize)len, "Subject: hello"));
	assert_true(intake_is_trust_header("x-todoke-anything"));
	assert_false(intake_is_trust_header("X-Todokex"));
	spool_entry_free(e);
}

static void caps_refuse_with_the_limit_named(void **state)
{
	struct intake_result r;
	GString *text = g_string_new("From: x@example.org\r\n");
	struct spool_entry *e;

	/* header section over 4096 bytes */
	for (int i = 0; i < 100; i++)
		g_string_append_printf(text, "X-Filler-%d: %060d\r\n", i, i);
	g_string_append(text, "\r\nbody\r\n");
	e = run(text->str, "vuln-info@desk.example", "x@example.org", &r);
	assert_null(e);
	assert_int_equal(r.verdict, INTAKE_REJECT_LIMIT);
	assert_string_equal(r.smtp_code, "552");
	assert_string_equal(r.smtp_xcode, "5.3.4");
	assert_string_equal(r.reason, "header section exceeds the limit of 4096 bytes");

	/* whole message over 100000 bytes */
	g_string_assign(text, "Subject: big\r\n\r\n");
	while (text->len <= 100000)
		g_string_append(text, "0123456789abcdef0123456789abcdef0123456789\r\n");
	e = run(text->str, "vuln-info@desk.example", "x@example.org", &r);
	assert_null(e);
	assert_string_equal(r.reason, "message exceeds the limit of 100000 bytes");

	/* 30 parts, over the 20-part cap */
	g_string_assign(text, "Subject: parts\r\nMIME-Version: 1.0\r\n"
			      "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (int i = 0; i < 30; i++)
		g_string_append_printf(text, "--p\r\nContent-Type: text/plain\r\n\r\n%d\r\n", i);
	g_string_append(text, "--p--\r\n");
	e = run(text->str, "vuln-info@desk.example", "x@example.org", &r);
	assert_null(e);
	assert_string_equal(r.smtp_code, "554");
	assert_string_equal(r.smtp_xcode, "5.6.0");
	assert_string_equal(r.reason, "message has more than the limit of 20 MIME parts");

	/* 8 levels of nesting, over the depth cap of 5 */
	g_string_assign(text, "Subject: deep\r\nMIME-Version: 1.0\r\n"
			      "Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
	for (int i = 1; i <= 8; i++)
		g_string_append_printf(text, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n",
				       i - 1, i);
	g_string_append(text, "--b8\r\nContent-Type: text/plain\r\n\r\nleaf\r\n");
	for (int i = 8; i >= 0; i--)
		g_string_append_printf(text, "--b%d--\r\n", i);
	e = run(text->str, "vuln-info@desk.example", "x@example.org", &r);
	assert_null(e);
	assert_string_equal(r.reason, "MIME nesting exceeds the limit of 5 levels");
	g_string_free(text, TRUE);
}

static void malformed_mail_is_kept(void **state)
{
	static const char nul_body[] = "Subject: nul\r\n\r\nab\0cd\r\n";
	const char *rcpts[] = { "vuln-info@desk.example" };
	struct intake_envelope env = { .queue_id = "", .sender = "x@example.org",
				       .recipients = rcpts, .n_recipients = 1 };
	struct intake_result r;
	struct spool_entry *e = NULL;
	tdk_err err;
	gsize len;

	/* unterminated boundary */
	e = run("Subject: broken\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
		"--zz\r\nContent-Type: text/plain\r\n\r\nno end\r\n",
		"vuln-info@desk.example", "x@example.org", &r);
	assert_non_null(e);
	assert_int_equal(e->classification, SPOOL_REPORT);
	spool_entry_free(e);

	/* NUL bytes survive byte for byte */
	assert_int_equal(intake_process(&cfg, NULL, nul_body, sizeof nul_body - 1, &env,
					&e, &r, &err),
			 TDK_OK);
	assert_non_null(e);
	g_bytes_get_data(e->original, &len);
	assert_int_equal(len, sizeof nul_body - 1);
	spool_entry_free(e);

	/* empty input and bare CRs */
	e = run("", "vuln-info@desk.example", "x@example.org", &r);
	assert_non_null(e);
	spool_entry_free(e);
	e = run("Subject: cr\rFrom: a@b\r\rbody\r", "vuln-info@desk.example",
		"x@example.org", &r);
	assert_non_null(e);
	spool_entry_free(e);
}

static void headerless_mail_keeps_its_body(void **state)
{
	struct intake_result r;
	struct spool_entry *e;
	gsize len;

	/* A mail that starts with its blank line has no header section: a
	 * body line that looks like a trust header stays. */
	e = run("\r\nX-Todoke-Case: IPA#00000001\r\nbody\r\n", "vuln-info@desk.example",
		"x@example.org", &r);
	g_bytes_get_data(e->original, &len);
	assert_int_equal(len, 37);
	spool_entry_free(e);
}

static void only_a_top_level_report_is_a_bounce(void **state)
{
	struct intake_result r;
	struct spool_entry *e;

	/* a delivery report forwarded inside a mixed mail is not a bounce */
	e = run("From: op@operator.example\r\nSubject: fwd\r\n"
		"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
		"--m\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
		"--m\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
		"Final-Recipient: rfc822; x@y.example\r\n--b--\r\n--m--\r\n",
		"vuln-info@desk.example", "op@operator.example", &r);
	assert_int_equal(e->classification, SPOOL_REPORT);
	assert_null(e->bounce_recipient);
	spool_entry_free(e);
}

static void encrypted_without_openpgp_is_deferred(void **state)
{
	struct intake_result r;
	struct spool_entry *e;

	e = run("Subject: ...\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\r\n\r\n"
		"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
		"--e\r\nContent-Type: application/octet-stream\r\n\r\n"
		"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n--e--\r\n",
		"vuln-info@desk.example", "d@example.org", &r);
	assert_int_equal(e->crypto, SPOOL_DECRYPT_DEFERRED);
	assert_string_equal(e->crypto_detail, "OpenPGP not available");
	assert_int_equal(e->classification, SPOOL_REPORT);
	spool_entry_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recipients_match_case_and_extension),
		cmocka_unit_test(report_and_reply),
		cmocka_unit_test(commands_bounces_auto_replies),
		cmocka_unit_test(envelope_addresses_are_stored_bare),
		cmocka_unit_test(trust_headers_are_removed),
		cmocka_unit_test(caps_refuse_with_the_limit_named),
		cmocka_unit_test(malformed_mail_is_kept),
		cmocka_unit_test(headerless_mail_keeps_its_body),
		cmocka_unit_test(only_a_top_level_report_is_a_bounce),
		cmocka_unit_test(encrypted_without_openpgp_is_deferred),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
