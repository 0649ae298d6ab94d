/*
 * test_partykey.c - the keys a mail offers: application/pgp-keys parts,
 * armored blocks in the text, Autocrypt headers (folded keydata, an
 * unknown critical attribute voids it), the caps; and the GPGME check
 * of an offer against the party's address with the INSECURE test keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "partykey.h"

static char *keyfile(const char *name)
{
	const char *top = getenv("TOP_SRCDIR");
	g_autofree char *path = g_strdup_printf("%s/tests/keys/%s.INSECURE.pub.asc",
						top != NULL ? top : ".", name);
	char *text = NULL;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return text;
}

static struct partykey_offers *offers_of(const char *mail)
{
	GBytes *b = g_bytes_new(mail, strlen(mail));
	struct partykey_offers *o = NULL;

	partykey_find(b, b, &o);
	g_bytes_unref(b);
	assert_non_null(o);
	return o;
}

static void attached_and_armored(void **state)
{
	g_autofree char *key = keyfile("operator");
	g_autofree char *mail = g_strdup_printf(
		"From: a@operator.example\nSubject: x\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"b\"\n\n"
		"--b\nContent-Type: text/plain\n\nhello\n%s\nbye\n"
		"--b\nContent-Type: application/pgp-keys\n\n%s\n--b--\n", key, key);
	struct partykey_offers *o = offers_of(mail);

	(void)state;
	assert_int_equal(o->n, 2);
	assert_int_equal(o->items[0].source, PARTYKEY_ARMORED);
	assert_int_equal(o->items[1].source, PARTYKEY_ATTACHED);
	assert_null(o->items[0].autocrypt_addr);
	assert_true(g_str_has_prefix(g_bytes_get_data(o->items[0].data, NULL),
				     "-----BEGIN PGP PUBLIC KEY BLOCK-----"));
	partykey_offers_free(o);
}

static void autocrypt(void **state)
{
	struct partykey_offers *o = offers_of(
		"From: a@operator.example\n"
		"Autocrypt: addr=A@Operator.example; prefer-encrypt=mutual; keydata=\n"
		" AAEC\n AwQF\n"
		"Autocrypt: addr=b@operator.example; critical=1; keydata=AAEC\n"
		"Autocrypt: addr=c@operator.example; _ignored=1; keydata=AAEC\n"
		"Autocrypt: keydata=AAEC\n"
		"Content-Type: text/plain\n\nno key here\n");

	(void)state;
	assert_int_equal(o->n, 2);
	assert_int_equal(o->items[0].source, PARTYKEY_AUTOCRYPT);
	assert_string_equal(o->items[0].autocrypt_addr, "a@operator.example");
	assert_int_equal(g_bytes_get_size(o->items[0].data), 6);
	assert_memory_equal(g_bytes_get_data(o->items[0].data, NULL), "\0\1\2\3\4\5", 6);
	assert_string_equal(o->items[1].autocrypt_addr, "c@operator.example");
	partykey_offers_free(o);
}

static void caps(void **state)
{
	GString *m = g_string_new("From: a@b.example\nContent-Type: text/plain\n\n");
	struct partykey_offers *o;

	(void)state;
	for (int i = 0; i < 10; i++)
		g_string_append(m, "-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n"
				   "-----END PGP PUBLIC KEY BLOCK-----\n");
	o = offers_of(m->str);
	assert_int_equal(o->n, PARTYKEY_MAX);
	partykey_offers_free(o);
	g_string_free(m, TRUE);
	o = offers_of("not a mail at all");
	assert_int_equal(o->n, 0);
	partykey_offers_free(o);
}

static char *home;

static int check_text(const char *text, const char *address, char **fpr, tdk_err *err)
{
	GBytes *b = g_bytes_new(text, strlen(text));
	int rc = partykey_check(home, b, address, fpr, err);

	g_bytes_unref(b);
	return rc;
}

static void check(void **state)
{
	g_autofree char *op = keyfile("operator"), *out = keyfile("outsider");
	g_autofree char *both = g_strconcat(op, out, NULL), *bob = keyfile("bob-revoked");
	char *fpr = NULL;
	tdk_err err;

	(void)state;
	assert_int_equal(check_text(op, "Security@Operator.example", &fpr, &err), TDK_OK);
	assert_string_equal(fpr, "18FE12D12DA237954DB2293C8DDF059BAEF472E6");
	g_free(fpr);
	assert_int_equal(check_text(op, "info@operator.example", &fpr, &err), TDK_EPERM);
	assert_null(fpr);
	assert_non_null(strstr(err.text, "no user ID of key"));
	assert_int_equal(check_text(both, "security@operator.example", &fpr, &err), TDK_EPERM);
	assert_string_equal(err.text, "2 keys in one block");
	assert_int_equal(check_text(bob, "bob@desk.example", &fpr, &err), TDK_EPERM);
	assert_string_equal(err.text, "the key is revoked, expired or invalid");
	assert_int_equal(check_text("garbage", "bob@desk.example", &fpr, &err), TDK_EPERM);
	assert_string_equal(err.text, "no OpenPGP key could be read");
	assert_int_equal(check_text(op, NULL, &fpr, &err), TDK_EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(attached_and_armored),
		cmocka_unit_test(autocrypt),
		cmocka_unit_test(caps),
		cmocka_unit_test(check),
	};

	g_autofree char *rm = NULL;
	int rc;

	g_mime_init();
	home = g_dir_make_tmp("tdk-pk.XXXXXX", NULL);
	assert_non_null(home);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rm = g_strdup_printf("rm -rf %s", home);
	(void)g_spawn_command_line_sync(rm, NULL, NULL, NULL, NULL);
	g_free(home);
	return rc;
}
