/*
 * record.h - the versioned encoding of the case store's records.
 *
 * Owns: turning a C struct into a GVariant dictionary (a{sv}) and back,
 * driven by a table of fields (key, kind, offset), and the stored record
 * form "(ya{sv})": a format version byte and the dictionary, serialized
 * in the host byte order. A reader ignores keys it does not know and
 * leaves absent fields zero/NULL, so a new optional field needs no new
 * version. Decoding never crashes on hostile or damaged bytes: it returns
 * TDK_ECORRUPT.
 *
 * Strings are NUL-terminated byte strings ("ay"); the struct owns them
 * (g_free). rec_clear() frees every string and GBytes of a table.
 *
 * Case, event, notice-intent and staff-notice records are written in the
 * binary form of recbin.h (format 2) from the same tables; this form is
 * what they were before (format 1, still read) and what the personal
 * data records are.
 */
#ifndef TODOKE_RECORD_H
#define TODOKE_RECORD_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

enum rec_kind {
	REC_I64,   /* int64_t; 0 is absent */
	REC_TIME,  /* int64_t UTC seconds; 0 is absent */
	REC_U64,   /* uint64_t; 0 is absent */
	REC_INT,   /* int; 0 is absent */
	REC_BOOL,  /* bool; false is absent */
	REC_STR,   /* char *; NULL is absent */
	REC_BYTES, /* GBytes *; NULL is absent */
};

struct rec_field {
	const char *key;
	enum rec_kind kind;
	size_t offset;
};

#define REC_FIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Adds every present field of obj to b (a builder of type a{sv}). */
void rec_build(GVariantBuilder *b, const struct rec_field *fields, size_t n,
	       const void *obj);
/* The dictionary of obj's fields (floating reference). */
GVariant *rec_dict(const struct rec_field *fields, size_t n, const void *obj);
/* Fills obj (zeroed by the caller) from dict; false if a known key has
 * the wrong type (what the field was is left zero). */
bool rec_read(GVariant *dict, const struct rec_field *fields, size_t n,
	      void *obj);
/* rec_read, and in the same pass the values of the keys extra_keys[0..n_extra)
 * that are not fields: extra[i] is a new reference or NULL if absent. */
bool rec_read_extra(GVariant *dict, const struct rec_field *fields, size_t n,
		    void *obj, const char *const *extra_keys, GVariant **extra,
		    size_t n_extra);
/* Frees the strings and GBytes of obj's fields and zeroes them. */
void rec_clear(const struct rec_field *fields, size_t n, void *obj);

/* The stored form: version byte + dict (consumes a floating dict). */
GBytes *rec_pack(uint8_t version, GVariant *dict);
/* Unpacks a stored record: TDK_ECORRUPT unless it is "(ya{sv})" of a
 * known version (1..max_version). *dict is a new reference. */
int rec_unpack(const void *data, size_t len, uint8_t max_version,
	       uint8_t *version, GVariant **dict, tdk_err *err);

/* Looks up key in dict with type; NULL if absent or of another type. */
GVariant *rec_lookup(GVariant *dict, const char *key, const GVariantType *type);

#endif
