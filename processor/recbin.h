/*
 * recbin.h - the compact binary form of the store's records (format 2).
 *
 * Owns: writing the fields of a table (record.h) as keyed binary entries
 * and reading them back, without a GVariant per field. The same rules as
 * the GVariant form: absent fields are not written and read as zero/NULL,
 * keys a reader does not know are skipped, the first entry of a key
 * counts, and damaged or hostile bytes are refused (false / -1), never
 * read past their end.
 *
 * A record is its version byte, the length of its body (4) and the body,
 * so that a record cut short is always refused. A body is a sequence
 * of entries: key length (1 byte, 1..255), the key, a type byte, then
 * the value, integers big-endian:
 *   'x' int64 (8)   't' uint64 (8)   'i' int32 (4)   'b' bool (1: 0 or 1)
 *   'a' bytes: length (4) and the bytes (a string has no NUL inside;
 *       the NUL that ends it in memory is not written)
 *   'r' a list of bodies: length (4) of what follows, then each body as
 *       its length (4) and its entries.
 */
#ifndef TODOKE_RECBIN_H
#define TODOKE_RECBIN_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

enum {
	RBIN_I64 = 'x',
	RBIN_U64 = 't',
	RBIN_I32 = 'i',
	RBIN_BOOL = 'b',
	RBIN_BYTES = 'a',
	RBIN_LIST = 'r',
};

/* A value as read: its type byte, where its bytes are and how many (for
 * 'a' the bytes, for 'r' the list after its length). type 0: absent. */
struct rbin_value {
	int type;
	const uint8_t *data;
	size_t len;
};

/* ------------------------------------------------------------ writing */

/* A new buffer holding the version byte. */
GByteArray *rbin_begin(uint8_t version);
/* The buffer as the stored record (frees b). */
GBytes *rbin_end(GByteArray *b);

/* The record of version holding obj's fields: rbin_begin, rbin_put_fields,
 * rbin_end. */
GBytes *rbin_pack(uint8_t version, const struct rec_field *fields, size_t n,
		  const void *obj);
/* Every present field of obj, as rec_build does for the GVariant form. */
void rbin_put_fields(GByteArray *b, const struct rec_field *fields, size_t n,
		     const void *obj);
void rbin_put_i32(GByteArray *b, const char *key, int32_t v);
void rbin_put_bytes(GByteArray *b, const char *key, const void *data, size_t len);
/* Starts the list named key; returns what rbin_close() takes. */
size_t rbin_open_list(GByteArray *b, const char *key);
/* Starts a body inside an open list; returns what rbin_close() takes. */
size_t rbin_open_item(GByteArray *b);
/* Ends the list or body that rbin_open_list/item started at mark. */
void rbin_close(GByteArray *b, size_t mark);

/* ------------------------------------------------------------ reading */

/* The body of the record data[0..len) after its version byte; false if
 * the record is shorter or longer than its length says. */
bool rbin_body(const void *data, size_t len, const uint8_t **body,
	       size_t *body_len);

/*
 * Fills obj (zeroed by the caller) from the body data[0..len): the fields
 * of the table, and in the same pass the values of extra_keys[0..n_extra)
 * (extra[i].type is 0 if absent). False if the body is malformed or a
 * known key has the wrong type or a string has a NUL inside; what was
 * read stays in obj for the caller to clear.
 */
bool rbin_read(const uint8_t *data, size_t len, const struct rec_field *fields,
	       size_t n, void *obj, const char *const *extra_keys,
	       struct rbin_value *extra, size_t n_extra);

/* Fills obj (zeroed by the caller) from a record of version: false if it
 * is of another version or rbin_body or rbin_read refuse it. */
bool rbin_unpack(const void *data, size_t len, uint8_t version,
		 const struct rec_field *fields, size_t n, void *obj);

/* Walks the bodies of a list value: *pos starts at 0; 1 and the next body
 * in *item, 0 at the end, -1 if the list is malformed. */
int rbin_list_next(const struct rbin_value *list, size_t *pos,
		   struct rbin_value *item);

#endif
