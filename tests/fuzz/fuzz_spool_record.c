/*
 * fuzz_spool_record.c - libFuzzer harness for the spool record decoder:
 * any bytes under an entry key must decode or be refused, never crash.
 */
#include <stdint.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GBytes *record = g_bytes_new(data, size);
	struct spool_entry *entry = NULL;
	tdk_err err;

	if (spool_decode(record, 7, &entry, &err) == TDK_OK)
		spool_entry_free(entry);
	g_bytes_unref(record);
	return 0;
}
