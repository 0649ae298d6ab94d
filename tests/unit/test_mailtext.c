/*
 * test_mailtext.c - the readable text of a mail: part selection, transfer
 * encodings, Japanese charsets (labelled, unlabelled, lying), RFC 2231 and
 * RFC 2047 file names, nesting, caps, garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gmime/gmime.h>
#include <string.h>

#include "fixreport.h"
#include "mailtext.h"

#define BIG (1u << 20)

static struct mailtext *extract_len(const char *mime, size_t len, size_t max)
{
	GBytes *b = g_bytes_new(mime, len);
	struct mailtext *t = NULL;
	tdk_err err;

	assert_int_equal(mailtext_extract(b, max, &t, &err), TDK_OK);
	assert_non_null(t);
	g_bytes_unref(b);
	return t;
}

static struct mailtext *extract(const char *mime, size_t max)
{
	return extract_len(mime, strlen(mime), max);
}

/* The seed's use: an ISO-2022-JP body and the form attached as a base64
 * Shift_JIS .txt whose name is RFC 2231-encoded in ISO-2022-JP. */
static const char mail_rfc2231[] =
	"From: operator@shop.example.co.jp\n"
	"To: vuln-contact@desk.example\n"
	"Subject: [IPA#00000123] fix report\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"=_b1\"\n"
	"\n"
	"This is a multi-part message in MIME format.\n"
	"--=_b1\n"
	"Content-Type: text/plain; charset=ISO-2022-JP\n"
	"Content-Transfer-Encoding: 7bit\n"
	"\n"
	"\x1b$B=$@5$,40N;$7$^$7$?$N$G!\"Js9p=q$rE:IU$7$^$9!#\x1b(B\n"
	"\x1b$B<h07HV9f\x1b(B IPA#00000123\n"
	"--=_b1\n"
	"Content-Type: application/octet-stream\n"
	"Content-Disposition: attachment;\n"
	" filename*=ISO-2022-JP''%1B%24B%3D%24%40540N%3BJs9p%3Dq%1B%28B.txt\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"g1qDTIOFg4qDZYNCj+OCzJbikeiCzI9DkLOKrpe5lfGNkI+RCgqO5oi1lNSNhjpJUEEjMDAwMDAx\n"
	"MjMKCpHOiZ6T4JdlOgqDR4NYg1CBW4N2j4iXnYLwkseJwYK1gtyCtYK9gUIK\n"
	"--=_b1--\n";

static const char report_text[] =
	"セキュリティ上の問題の修正完了報告書\n\n取扱番号:IPA#00000123\n\n"
	"対応内容:\nエスケープ処理を追加しました。\n";

static void iso2022jp_body_and_rfc2231_attachment(void **state)
{
	struct mailtext *t = extract(mail_rfc2231, BIG);
	struct fixreport *r = NULL;
	tdk_err err;

	assert_int_equal(t->n_parts, 2);
	assert_false(t->truncated);
	assert_string_equal(t->parts[0].text,
			    "修正が完了しましたので、報告書を添付します。\n"
			    "取扱番号 IPA#00000123");
	assert_null(t->parts[0].filename);
	assert_false(t->parts[0].attachment);
	assert_string_equal(t->parts[1].filename, "修正完了報告書.txt");
	assert_true(t->parts[1].attachment);
	assert_string_equal(t->parts[1].text, report_text);
	/* what the processor does next */
	assert_false(fixreport_detect(t->parts[0].text));
	assert_true(fixreport_detect(t->parts[1].text));
	assert_int_equal(fixreport_parse(t->parts[1].text, strlen(t->parts[1].text),
					 &r, &err), TDK_OK);
	assert_string_equal(r->case_text, "IPA#00000123");
	assert_int_equal(r->kind, FIXREPORT_KIND_FIX);
	fixreport_free(r);
	mailtext_free(t);
}

/* Outlook style: an RFC 2047 word as the name, text/plain Shift_JIS. */
static void rfc2047_filename_and_sjis_text(void **state)
{
	static const char mail[] =
		"From: a@shop.example\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n"
		"\n"
		"--b\n"
		"Content-Type: text/plain; charset=\"Shift_JIS\"\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"\x95\xf1\x8d\x90\x8f\x91\x82\xf0\x91\x97\x82\xe8\x82\xdc\x82\xb7\x81"
		"B\x95\x5c\x8e\xa6\x87@\n"
		"--b\n"
		"Content-Type: text/plain; charset=\"Shift_JIS\";\n"
		" name=\"=?ISO-2022-JP?B?GyRCPSRANTQwTjtKczlwPXEbKEIudHh0?=\"\n"
		"Content-Disposition: attachment;\n"
		" filename=\"=?ISO-2022-JP?B?GyRCPSRANTQwTjtKczlwPXEbKEIudHh0?=\"\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"g1qDTIOFg4qDZYNCj+OCzJbikeiCzI9DkLOKrpe5lfGNkI+RCgqO5oi1lNSNhjpJUEEjMDAwMDAx\n"
		"MjMKCpHOiZ6T4JdlOgqDR4NYg1CBW4N2j4iXnYLwkseJwYK1gtyCtYK9gUIK\n"
		"--b--\n";
	struct mailtext *t = extract(mail, BIG);

	assert_int_equal(t->n_parts, 2);
	/* "①" exists only in Windows-31J, which Shift_JIS labels really mean */
	assert_string_equal(t->parts[0].text, "報告書を送ります。表示①");
	assert_string_equal(t->parts[1].filename, "修正完了報告書.txt");
	assert_string_equal(t->parts[1].text, report_text);
	mailtext_free(t);
}

/* Nested: alternative (QP UTF-8 + HTML), a forwarded message in EUC-JP,
 * a PDF, a text/plain attachment without a name, an inline text/html. */
static void nested_multipart(void **state)
{
	static const char mail[] =
		"From: a@shop.example\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=outer\n"
		"\n"
		"--outer\n"
		"Content-Type: multipart/alternative; boundary=alt\n"
		"\n"
		"--alt\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"=E5=A0=B1=E5=91=8A=E6=9B=B8=E3=81=A7=E3=81=99=E3=80=82 soft=\n"
		" break\n"
		"--alt\n"
		"Content-Type: text/html; charset=utf-8\n"
		"\n"
		"<p>HTML version</p>\n"
		"--alt--\n"
		"--outer\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"From: colleague@shop.example\n"
		"Subject: fwd\n"
		"Content-Type: text/plain; charset=EUC-JP\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"\xc5\xbe\xc1\xf7\xa4\xb5\xa4\xec\xa4\xbf\xca\xf3\xb9\xf0\xa4\xc7\xa4\xb9\xa1\xa3\n"
		"--outer\n"
		"Content-Type: application/pdf; name=\"a.pdf\"\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"JVBERi0xLjQK\n"
		"--outer\n"
		"Content-Type: text/plain\n"
		"Content-Disposition: attachment\n"
		"\n"
		"plain attachment\n"
		"--outer\n"
		"Content-Type: text/html\n"
		"\n"
		"<p>inline html</p>\n"
		"--outer--\n";
	struct mailtext *t = extract(mail, BIG);

	assert_int_equal(t->n_parts, 3);
	assert_string_equal(t->parts[0].text, "報告書です。 soft break");
	assert_false(t->parts[0].attachment);
	assert_string_equal(t->parts[1].text, "転送された報告です。");
	assert_true(t->parts[1].attachment); /* inside an attached message */
	assert_null(t->parts[1].filename);
	assert_string_equal(t->parts[2].text, "plain attachment");
	assert_true(t->parts[2].attachment);
	assert_false(t->truncated);
	mailtext_free(t);
}

static void html_only_gives_nothing(void **state)
{
	struct mailtext *t = extract("From: a@b.example\nContent-Type: text/html\n\n"
				     "<p>修正完了報告書</p>\n", BIG);
	char *joined = mailtext_joined(t);

	assert_int_equal(t->n_parts, 0);
	assert_null(t->parts);
	assert_string_equal(joined, "");
	g_free(joined);
	mailtext_free(t);
}

static void single_part_without_content_type(void **state)
{
	struct mailtext *t = extract("From: a@b.example\nSubject: x\n\nhello\r\nworld\r\n", BIG);

	assert_int_equal(t->n_parts, 1);
	assert_string_equal(t->parts[0].text, "hello\nworld\n");
	mailtext_free(t);
}

/* Labels that lie, and none at all. */
static void lying_charsets(void **state)
{
	static const struct {
		const char *label, *bytes, *want;
	} cases[] = {
		/* Shift_JIS bytes labelled UTF-8 */
		{ "utf-8", "\x95\xf1\x8d\x90\x8f\x91", "報告書" },
		/* UTF-8 bytes labelled ISO-2022-JP */
		{ "iso-2022-jp", "報告書", "報告書" },
		/* ISO-2022-JP bytes labelled US-ASCII */
		{ "us-ascii", "\x1b$BJs9p=q\x1b(B", "報告書" },
		/* EUC-JP labelled with an unknown charset */
		{ "x-unknown-charset", "\xca\xf3\xb9\xf0\xbd\xf1", "報告書" },
		/* Shift_JIS labelled EUC-JP */
		{ "euc-jp", "\x95\xf1\x8d\x90\x8f\x91\x82\xc5\x82\xb7", "報告書です" },
		/* no label: ISO-2022-JP with an Outlook (NEC row 13) character */
		{ NULL, "\x1b$B-!$NBP1~\x1b(B", "①の対応" },
		/* a label iconv knows, used honestly */
		{ "iso-8859-1", "caf\xe9", "café" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *mail;
		struct mailtext *t;

		if (cases[i].label != NULL)
			mail = g_strdup_printf("Content-Type: text/plain; charset=\"%s\"\n"
					       "Content-Transfer-Encoding: 8bit\n\n%s",
					       cases[i].label, cases[i].bytes);
		else
			mail = g_strdup_printf("Subject: x\n\n%s", cases[i].bytes);
		t = extract(mail, BIG);
		assert_int_equal(t->n_parts, 1);
		if (strcmp(t->parts[0].text, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i,
				 t->parts[0].text, cases[i].want);
		mailtext_free(t);
		g_free(mail);
	}
}

/* A long Shift_JIS text with one broken byte keeps its Japanese. */
static void lossy_fallback_keeps_text(void **state)
{
	static const char mail[] =
		"Content-Type: text/plain; charset=utf-8\n\n"
		"\x95\xf1\x8d\x90\x8f\x91\x82\xf0\x91\x97\x82\xe8\x82\xdc\x82\xb7\xff"
		"\x95\xf1\x8d\x90\x8f\x91";
	struct mailtext *t = extract(mail, BIG);

	assert_int_equal(t->n_parts, 1);
	assert_string_equal(t->parts[0].text, "報告書を送ります\xef\xbf\xbd報告書");
	mailtext_free(t);
}

/* glibc's iconv lets 5-byte "UTF-8" through; the output never has it. */
static void output_is_always_valid_utf8(void **state)
{
	static const char *const bodies[] = {
		"a\xf8\xa5\x9d\xa9\x9e" "b\xff",
		"\xe3\x81\x94\xf8\xa5\x9d\xa9\x9e",
		"\xfc\x84\x80\x80\x80\x80\xed\xa0\x80\xc0\xaf",
	};
	static const char *const labels[] = { "utf-8", "x-bogus", "utf-16", "utf-7", "iso-2022-jp" };

	for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
		for (size_t k = 0; k < G_N_ELEMENTS(labels); k++) {
			char *mail = g_strdup_printf("Content-Type: text/plain; charset=%s\n\n%s",
						     labels[k], bodies[i]);
			struct mailtext *t = extract(mail, BIG);

			assert_int_equal(t->n_parts, 1);
			if (!g_utf8_validate(t->parts[0].text, -1, NULL))
				fail_msg("body %zu, label %s: invalid UTF-8", i, labels[k]);
			mailtext_free(t);
			g_free(mail);
		}
	}
}

static void nul_bytes_bom_and_line_ends(void **state)
{
	static const char mail[] =
		"Content-Type: text/plain; charset=utf-8\n\n"
		"\xef\xbb\xbf" "a\0b\r\nc\rd\n";
	struct mailtext *t = extract_len(mail, sizeof mail - 1, BIG);

	assert_int_equal(t->n_parts, 1);
	assert_string_equal(t->parts[0].text, "a\xef\xbf\xbd" "b\nc\nd\n");
	mailtext_free(t);
}

static void garbage_and_bad_arguments(void **state)
{
	static const char garbage[] = "\x01\x02\xff\xfe garbage \x80\x81\0\0\x1b$B";
	struct mailtext *t = NULL;
	GBytes *empty = g_bytes_new(NULL, 0);
	tdk_err err;

	t = extract_len(garbage, sizeof garbage - 1, BIG);
	mailtext_free(t);
	assert_int_equal(mailtext_extract(empty, BIG, &t, &err), TDK_OK);
	assert_int_equal(t->n_parts, 0);
	assert_false(t->truncated);
	mailtext_free(t);
	assert_int_equal(mailtext_extract(NULL, BIG, &t, &err), TDK_EINVAL);
	assert_null(t);
	assert_int_equal(mailtext_extract(empty, BIG, NULL, NULL), TDK_EINVAL);
	g_bytes_unref(empty);
	/* an unterminated multipart, a broken base64 body */
	t = extract("Content-Type: multipart/mixed; boundary=x\n\n--x\n"
		    "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
		    "!!!!@@@@====", BIG);
	assert_true(t->n_parts <= 1);
	mailtext_free(t);
	mailtext_free(NULL);
	{
		char *joined = mailtext_joined(NULL);

		assert_string_equal(joined, "");
		g_free(joined);
	}
}

/* max_bytes: the crossing part is cut on a character boundary. */
static void cap_on_bytes(void **state)
{
	GString *m = g_string_new("Content-Type: multipart/mixed; boundary=b\n\n"
				  "--b\nContent-Type: text/plain; charset=utf-8\n\n");
	struct mailtext *t;
	char *joined;

	for (int i = 0; i < 100; i++)
		g_string_append(m, "あ"); /* 300 bytes */
	g_string_append(m, "\n--b\nContent-Type: text/plain\n\nsecond\n--b--\n");

	t = extract(m->str, 100);
	assert_int_equal(t->n_parts, 1);
	assert_true(t->truncated);
	assert_int_equal(strlen(t->parts[0].text), 99); /* 33 characters */
	assert_true(g_utf8_validate(t->parts[0].text, -1, NULL));
	mailtext_free(t);

	t = extract(m->str, 300);
	assert_int_equal(t->n_parts, 1); /* no room for "second": dropped */
	assert_true(t->truncated);
	mailtext_free(t);

	t = extract(m->str, 303);
	assert_int_equal(t->n_parts, 2);
	assert_string_equal(t->parts[1].text, "sec");
	assert_true(t->truncated);
	joined = mailtext_joined(t);
	assert_int_equal(strlen(joined), 300 + 1 + 3);
	g_free(joined);
	mailtext_free(t);

	t = extract(m->str, 306);
	assert_int_equal(t->n_parts, 2);
	assert_false(t->truncated);
	mailtext_free(t);

	t = extract(m->str, 0);
	assert_int_equal(t->n_parts, 0);
	assert_true(t->truncated);
	mailtext_free(t);
	g_string_free(m, TRUE);
}

/* A line end close to the cut is preferred. */
static void cap_prefers_line_end(void **state)
{
	struct mailtext *t = extract("Subject: x\n\n0123456789\nabcdefghijklmnopqrstuvwxyz\n"
				     "0123456789\n", 40);

	assert_int_equal(t->n_parts, 1);
	assert_string_equal(t->parts[0].text, "0123456789\nabcdefghijklmnopqrstuvwxyz\n");
	mailtext_free(t);
}

static void cap_on_parts(void **state)
{
	GString *m = g_string_new("Content-Type: multipart/mixed; boundary=b\n\n");
	struct mailtext *t;

	for (int i = 0; i < 300; i++)
		g_string_append_printf(m, "--b\nContent-Type: text/plain\n\npart %d\n", i);
	g_string_append(m, "--b--\n");
	t = extract(m->str, BIG);
	/* the multipart itself is one of the MAILTEXT_PARTS_MAX entities */
	assert_int_equal(t->n_parts, MAILTEXT_PARTS_MAX - 1);
	assert_string_equal(t->parts[0].text, "part 0"); /* its "\n" is the boundary's */
	assert_true(t->truncated);
	mailtext_free(t);
	g_string_free(m, TRUE);
}

/* Too deep a subtree is skipped; its shallower siblings are read. */
static void cap_on_depth(void **state)
{
	GString *m = g_string_new("Content-Type: multipart/mixed; boundary=b0\n\n"
				  "--b0\nContent-Type: text/plain\n\nshallow\n");
	struct mailtext *t;
	int levels = MAILTEXT_DEPTH_MAX + 5;

	/* b0 is level 1; b1..b(levels) nest below it */
	for (int i = 1; i <= levels; i++)
		g_string_append_printf(m, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n",
				       i - 1, i);
	g_string_append_printf(m, "--b%d\nContent-Type: text/plain\n\ndeep\n--b%d--\n",
			       levels, levels);
	for (int i = levels - 1; i >= 1; i--)
		g_string_append_printf(m, "--b%d--\n", i);
	g_string_append(m, "--b0\nContent-Type: text/plain\n\nafter\n--b0--\n");

	t = extract(m->str, BIG);
	assert_int_equal(t->n_parts, 2);
	assert_string_equal(t->parts[0].text, "shallow");
	assert_string_equal(t->parts[1].text, "after");
	assert_true(t->truncated);
	mailtext_free(t);
	g_string_free(m, TRUE);
}

static void joined_text(void **state)
{
	struct mailtext *t = extract(mail_rfc2231, BIG);
	char *joined = mailtext_joined(t);
	char *want = g_strconcat(t->parts[0].text, "\n", t->parts[1].text, NULL);

	assert_string_equal(joined, want);
	g_free(want);
	g_free(joined);
	mailtext_free(t);
}

static int group_setup(void **state)
{
	g_mime_init();
	return 0;
}

static int group_teardown(void **state)
{
	g_mime_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(iso2022jp_body_and_rfc2231_attachment),
		cmocka_unit_test(rfc2047_filename_and_sjis_text),
		cmocka_unit_test(nested_multipart),
		cmocka_unit_test(html_only_gives_nothing),
		cmocka_unit_test(single_part_without_content_type),
		cmocka_unit_test(lying_charsets),
		cmocka_unit_test(lossy_fallback_keeps_text),
		cmocka_unit_test(output_is_always_valid_utf8),
		cmocka_unit_test(nul_bytes_bom_and_line_ends),
		cmocka_unit_test(garbage_and_bad_arguments),
		cmocka_unit_test(cap_on_bytes),
		cmocka_unit_test(cap_prefers_line_end),
		cmocka_unit_test(cap_on_parts),
		cmocka_unit_test(cap_on_depth),
		cmocka_unit_test(joined_text),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
