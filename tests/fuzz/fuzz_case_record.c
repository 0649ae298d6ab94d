/*
 * fuzz_case_record.c - libFuzzer harness for the case store's record
 * decoders (case, event, notice intent, staff notice; both formats): any
 * bytes must decode or be refused, never crash; a case that decodes is
 * written again as it is read, and read back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "case.h"
#include "outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void case_again(const struct case_rec *c)
{
	GBytes *first, *second;
	struct case_rec *back = NULL;

	if (case_encode(c, &first, NULL) != TDK_OK)
		abort();
	if (case_decode(g_bytes_get_data(first, NULL), g_bytes_get_size(first),
			c->number, &back, NULL) != TDK_OK)
		abort();
	if (case_encode(back, &second, NULL) != TDK_OK || !g_bytes_equal(first, second))
		abort();
	g_bytes_unref(second);
	g_bytes_unref(first);
	case_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct case_rec *c = NULL;
	struct case_event e;
	struct outbox_item *o = NULL;
	struct attention_item *a = NULL;

	if (case_decode(data, size, 7, &c, NULL) == TDK_OK) {
		case_again(c);
		case_free(c);
	}
	if (case_event_decode(data, size, &e, NULL) == TDK_OK)
		case_event_clear(&e);
	if (outbox_item_decode(data, size, 7, &o, NULL) == TDK_OK)
		outbox_item_free(o);
	if (attention_item_decode(data, size, 7, &a, NULL) == TDK_OK)
		attention_item_free(a);
	return 0;
}
