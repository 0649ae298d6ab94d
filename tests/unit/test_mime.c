/*
 * test_mime.c - the MIME form of a notice: headers, thread, RFC 2047
 * subjects in UTF-8 and ISO-2022-JP (parsed back), attachments, and no
 * header injection through CR/LF in case data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gmime/gmime.h>
#include <string.h>

#include "mime.h"

static const char *const thread[] = { "r1@discoverer.example",
				      "n5.IPA00000001@desk.example", NULL };

static struct mime_notice notice(void)
{
	return (struct mime_notice){
		.from = "vuln-contact@desk.example",
		.to = "info@example.co.jp",
		.subject = "[IPA#00000001] ウェブサイトの脆弱性に関するお知らせ",
		.body = "ご担当者様\n\n検索欄に問題があります。\n",
		.message_id = "n7.IPA00000001@desk.example",
		.references = thread,
		.date = 1803862800, /* 2027-03-01T10:00:00+09:00 */
		.zone = "Asia/Tokyo",
	};
}

static char *build(const struct mime_notice *n)
{
	GMimeObject *content = NULL;
	GMimeMessage *msg = NULL;
	GBytes *b;
	char *text;
	tdk_err err;

	assert_int_equal(mime_content(n, &content, &err), TDK_OK);
	assert_int_equal(mime_message(n, content, &msg, &err), TDK_OK);
	g_object_unref(content);
	b = mime_to_bytes(msg);
	text = g_strndup(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	g_bytes_unref(b);
	g_object_unref(msg);
	return text;
}

static GMimeMessage *parse(const char *text)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(s);
	assert_non_null(m);
	return m;
}

/* The header block of text: everything before the first empty line. */
static char *headers(const char *text)
{
	const char *end = strstr(text, "\n\n");

	return g_strndup(text, end != NULL ? (gsize)(end - text) : strlen(text));
}

static void test_headers(void **state)
{
	struct mime_notice n = notice();
	g_autofree char *text = build(&n);
	g_autofree char *h = headers(text);
	GMimeMessage *m = parse(text);

	(void)state;
	assert_non_null(strstr(h, "\nAuto-Submitted: auto-generated"));
	assert_non_null(strstr(h, "\nX-Loop: vuln-contact@desk.example"));
	assert_non_null(strstr(h, "Message-Id: <n7.IPA00000001@desk.example>"));
	assert_non_null(strstr(h, "In-Reply-To: <n5.IPA00000001@desk.example>"));
	assert_non_null(strstr(h, "References: <r1@discoverer.example> <n5.IPA00000001@desk.example>"));
	assert_non_null(strstr(h, "Reply-To: vuln-contact@desk.example"));
	assert_non_null(strstr(h, "+0900"));
	assert_null(strstr(h, "X-Todoke-"));
	assert_string_equal(g_mime_message_get_subject(m), n.subject);
	assert_string_equal(g_mime_message_get_message_id(m), n.message_id);
	{
		GMimeTextPart *tp = GMIME_TEXT_PART(g_mime_message_get_mime_part(m));
		g_autofree char *body = g_mime_text_part_get_text(tp);

		assert_string_equal(body, n.body);
	}
	g_object_unref(m);
}

static void test_iso2022jp(void **state)
{
	struct mime_notice n = notice();
	g_autofree char *text = NULL, *h = NULL;
	GMimeMessage *m;

	(void)state;
	n.charset = "ISO-2022-JP";
	text = build(&n);
	h = headers(text);
	/* RFC 1468: the case tag as it is, the rest "B" encoded */
	assert_non_null(strstr(h, "\nSubject: [IPA#00000001]\n =?ISO-2022-JP?B?"));
	assert_non_null(strstr(text, "charset=ISO-2022-JP"));
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		assert_true(*p < 0x80); /* 7-bit throughout */
	m = parse(text);
	assert_string_equal(g_mime_message_get_subject(m), n.subject);
	{
		GMimeTextPart *tp = GMIME_TEXT_PART(g_mime_message_get_mime_part(m));
		g_autofree char *body = g_mime_text_part_get_text(tp);

		assert_string_equal(body, n.body);
	}
	g_object_unref(m);
}

/* Subjects in ISO-2022-JP: long ones become several encoded-words of at
 * most 75 characters that decode to the text; one with a character
 * ISO-2022-JP lacks stays UTF-8. */
static void test_iso2022jp_subjects(void **state)
{
	static const char *const subjects[] = {
		"[IPA#00000001] セキュリティ上の問題に関する詳細情報送付の件(再送)について、"
		"ご確認のほどよろしくお願いいたします ABC 123",
		"取扱番号なしの件名",
		"[IPA#00000001] 問題 (re: 2)",
	};
	struct mime_notice n = notice();

	(void)state;
	n.charset = "ISO-2022-JP";
	for (size_t i = 0; i < G_N_ELEMENTS(subjects); i++) {
		g_autofree char *text = NULL, *h = NULL;
		g_auto(GStrv) lines = NULL;
		GMimeMessage *m;

		n.subject = subjects[i];
		text = build(&n);
		h = headers(text);
		lines = g_strsplit(h, "\n", -1);
		for (char **l = lines; *l != NULL; l++) {
			assert_true(strlen(*l) <= 78);
			if (strstr(*l, "=?") != NULL)
				assert_non_null(strstr(*l, "=?ISO-2022-JP?B?"));
		}
		m = parse(text);
		assert_string_equal(g_mime_message_get_subject(m), n.subject);
		g_object_unref(m);
	}
	{
		g_autofree char *text = NULL, *h = NULL;
		GMimeMessage *m;

		n.subject = "[IPA#00000001] 髙橋様 🙂";
		text = build(&n);
		h = headers(text);
		assert_null(strstr(h, "ISO-2022-JP?B?"));
		m = parse(text);
		assert_string_equal(g_mime_message_get_subject(m), n.subject);
		g_object_unref(m);
	}
}

static void test_attachment(void **state)
{
	struct mime_notice n = notice();
	struct mime_attachment a = { "修正完了報告書.txt", "1. 修正完了報告書\n" };
	g_autofree char *text = NULL;
	GMimeMessage *m;
	GMimeMultipart *mp;
	GMimePart *part;

	(void)state;
	n.attachments = &a;
	n.n_attachments = 1;
	text = build(&n);
	m = parse(text);
	assert_true(GMIME_IS_MULTIPART(g_mime_message_get_mime_part(m)));
	mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
	assert_int_equal(g_mime_multipart_get_count(mp), 2);
	part = GMIME_PART(g_mime_multipart_get_part(mp, 1));
	assert_string_equal(g_mime_part_get_filename(part), a.filename);
	{
		g_autofree char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(part));

		assert_string_equal(t, a.text);
	}
	g_object_unref(m);
}

/* CR/LF in a subject or a file name becomes a space; in an address or a
 * Message-ID it is refused. No header appears that case data names. */
static void test_injection(void **state)
{
	struct mime_notice n = notice();
	struct mime_attachment a = { "x\r\nBcc: evil@attacker.example\r\n.txt", "t\n" };
	g_autofree char *text = NULL, *h = NULL;
	GMimeObject *content = NULL;
	GMimeMessage *msg = NULL;
	tdk_err err;

	(void)state;
	n.subject = "[IPA#00000001] 田中\r\nBcc: evil@attacker.example\n\rX: y";
	n.attachments = &a;
	n.n_attachments = 1;
	text = build(&n);
	h = headers(text);
	assert_null(strstr(text, "\nBcc:"));
	assert_null(strstr(text, "\nX: y"));
	assert_null(strstr(h, "\r"));
	{
		GMimeMessage *m = parse(text);

		assert_null(strchr(g_mime_message_get_subject(m), '\n'));
		assert_null(strchr(g_mime_message_get_subject(m), '\r'));
		g_object_unref(m);
	}

	assert_int_equal(mime_content(&n, &content, &err), TDK_OK);
	n = notice();
	n.to = "info@example.co.jp\r\nBcc: evil@attacker.example";
	assert_int_equal(mime_message(&n, content, &msg, &err), TDK_EINVAL);
	n.to = "Name <info@example.co.jp>";
	assert_int_equal(mime_message(&n, content, &msg, &err), TDK_EINVAL);
	n.to = "a@b@c";
	assert_int_equal(mime_message(&n, content, &msg, &err), TDK_EINVAL);
	n = notice();
	n.message_id = "x@y>\r\nBcc: evil@attacker.example";
	assert_int_equal(mime_message(&n, content, &msg, &err), TDK_EINVAL);
	n = notice();
	n.from = "desk@example\n";
	assert_int_equal(mime_message(&n, content, &msg, &err), TDK_EINVAL);
	assert_null(msg);
	g_object_unref(content);

	assert_true(mime_address_ok("taro@discoverer.example"));
	assert_false(mime_address_ok("taro @discoverer.example"));
	assert_false(mime_address_ok(NULL));
	assert_true(mime_message_id_ok("n1.IPA00000001@desk"));
	assert_false(mime_message_id_ok("n1 x@desk"));
}

/* A reference that is not a safe Message-ID is left out of the thread. */
static void test_bad_reference(void **state)
{
	static const char *const refs[] = { "ok@one", "bad\r\nBcc: x@y", NULL };
	struct mime_notice n = notice();
	g_autofree char *text = NULL;

	(void)state;
	n.references = refs;
	text = build(&n);
	assert_null(strstr(text, "Bcc"));
	assert_non_null(strstr(text, "In-Reply-To: <ok@one>"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_iso2022jp),
		cmocka_unit_test(test_iso2022jp_subjects),
		cmocka_unit_test(test_attachment),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_bad_reference),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
