/*
 * fuzz_partykey.c - libFuzzer harness for partykey_find(): the input as a
 * captured mail (its headers for Autocrypt, its MIME tree for key parts
 * and armored blocks), given as original and, split in two, as original
 * and decrypted MIME.
 *
 * Checked besides memory safety: the caps of partykey.h hold (at most
 * PARTYKEY_MAX offers of 1 to PARTYKEY_BYTES_MAX bytes), only an
 * Autocrypt offer has an addr, and that addr is lower-case.
 */
#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "partykey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(struct partykey_offers *o)
{
	if (o->n > PARTYKEY_MAX)
		__builtin_trap();
	for (size_t i = 0; i < o->n; i++) {
		gsize len = g_bytes_get_size(o->items[i].data);
		const char *a = o->items[i].autocrypt_addr;

		if (len == 0 || len > PARTYKEY_BYTES_MAX)
			__builtin_trap();
		if ((o->items[i].source == PARTYKEY_AUTOCRYPT) != (a != NULL))
			__builtin_trap();
		for (; a != NULL && *a; a++)
			if (g_ascii_isupper(*a))
				__builtin_trap();
	}
	partykey_offers_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	GBytes *all = g_bytes_new(data, size);
	GBytes *head = g_bytes_new(data, size / 2);
	GBytes *tail = g_bytes_new(data + size / 2, size - size / 2);
	struct partykey_offers *o = NULL;

	if (!ready) {
		g_mime_init();
		ready = true;
	}
	partykey_find(all, all, &o);
	check(o);
	partykey_find(head, tail, &o);
	check(o);
	partykey_find(NULL, NULL, &o);
	check(o);
	g_bytes_unref(all);
	g_bytes_unref(head);
	g_bytes_unref(tail);
	return 0;
}
