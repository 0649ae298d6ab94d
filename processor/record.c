/*
 * record.c - table-driven GVariant encoding of the store's records
 * (see record.h).
 */
#include "record.h"

#include <string.h>
#include <sys/types.h>

#define RECORD_TYPE "(ya{sv})"
#define RECORD_SLACK 16

#define FIELD(obj, f, type) ((type *)((char *)(obj) + (f)->offset))
#define CFIELD(obj, f, type) ((type const *)((const char *)(obj) + (f)->offset))

static GVariant *field_value(const struct rec_field *f, const void *obj)
{
	switch (f->kind) {
	case REC_I64:
	case REC_TIME: {
		int64_t v = *CFIELD(obj, f, int64_t);

		return v != 0 ? g_variant_new_int64(v) : NULL;
	}
	case REC_U64: {
		uint64_t v = *CFIELD(obj, f, uint64_t);

		return v != 0 ? g_variant_new_uint64(v) : NULL;
	}
	case REC_INT: {
		int v = *CFIELD(obj, f, int);

		return v != 0 ? g_variant_new_int32(v) : NULL;
	}
	case REC_BOOL:
		return *CFIELD(obj, f, bool) ? g_variant_new_boolean(TRUE) : NULL;
	case REC_STR: {
		const char *s = *CFIELD(obj, f, char *);

		return s != NULL ? g_variant_new_bytestring(s) : NULL;
	}
	case REC_BYTES: {
		GBytes *b = *CFIELD(obj, f, GBytes *);

		return b != NULL ? g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING,
							    b, TRUE)
				 : NULL;
	}
	}
	return NULL;
}

void rec_build(GVariantBuilder *b, const struct rec_field *fields, size_t n,
	       const void *obj)
{
	for (size_t i = 0; i < n; i++) {
		GVariant *v = field_value(&fields[i], obj);

		if (v != NULL)
			g_variant_builder_add(b, "{sv}", fields[i].key, v);
	}
}

GVariant *rec_dict(const struct rec_field *fields, size_t n, const void *obj)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	rec_build(&b, fields, n, obj);
	return g_variant_builder_end(&b);
}

GVariant *rec_lookup(GVariant *dict, const char *key, const GVariantType *type)
{
	return g_variant_lookup_value(dict, key, type);
}

/* A bytestring's text, if it is NUL-terminated with no NUL inside. */
static char *bytestring_dup(GVariant *v)
{
	gsize len = 0;
	const char *p = g_variant_get_fixed_array(v, &len, 1);

	if (len == 0 || p[len - 1] != '\0' || memchr(p, '\0', len - 1) != NULL)
		return NULL;
	return g_strndup(p, len - 1);
}

static bool read_field(const struct rec_field *f, GVariant *v, void *obj)
{
	const GVariantType *t = g_variant_get_type(v);

	switch (f->kind) {
	case REC_I64:
	case REC_TIME:
		if (!g_variant_type_equal(t, G_VARIANT_TYPE_INT64))
			return false;
		*FIELD(obj, f, int64_t) = g_variant_get_int64(v);
		return true;
	case REC_U64:
		if (!g_variant_type_equal(t, G_VARIANT_TYPE_UINT64))
			return false;
		*FIELD(obj, f, uint64_t) = g_variant_get_uint64(v);
		return true;
	case REC_INT:
		if (!g_variant_type_equal(t, G_VARIANT_TYPE_INT32))
			return false;
		*FIELD(obj, f, int) = g_variant_get_int32(v);
		return true;
	case REC_BOOL:
		if (!g_variant_type_equal(t, G_VARIANT_TYPE_BOOLEAN))
			return false;
		*FIELD(obj, f, bool) = g_variant_get_boolean(v);
		return true;
	case REC_STR: {
		char *s;

		if (!g_variant_type_equal(t, G_VARIANT_TYPE_BYTESTRING) ||
		    (s = bytestring_dup(v)) == NULL)
			return false;
		g_free(*FIELD(obj, f, char *));
		*FIELD(obj, f, char *) = s;
		return true;
	}
	case REC_BYTES:
		if (!g_variant_type_equal(t, G_VARIANT_TYPE_BYTESTRING))
			return false;
		if (*FIELD(obj, f, GBytes *) != NULL)
			g_bytes_unref(*FIELD(obj, f, GBytes *));
		*FIELD(obj, f, GBytes *) = g_variant_get_data_as_bytes(v);
		return true;
	}
	return false;
}

/* The index of the field named key: fields are stored in table order,
 * so the one after the last found is tried first. -1 if none. */
static ssize_t find_field(const struct rec_field *fields, size_t n,
			  const char *key, size_t hint)
{
	for (size_t j = 0; j < n; j++) {
		size_t i = (hint + j) % n;

		if (strcmp(fields[i].key, key) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* One pass over the dictionary (a lookup per field would read it again
 * for every field). The first entry of a key counts, as with
 * g_variant_lookup_value. */
bool rec_read_extra(GVariant *dict, const struct rec_field *fields, size_t n,
		    void *obj, const char *const *extra_keys, GVariant **extra,
		    size_t n_extra)
{
	bool ok = true;
	bool seen_small[128] = { false };
	bool *seen = n <= G_N_ELEMENTS(seen_small) ? seen_small : g_new0(bool, n);
	size_t hint = 0, count = g_variant_n_children(dict);

	for (size_t x = 0; x < n_extra; x++)
		extra[x] = NULL;
	for (size_t c = 0; c < count; c++) {
		GVariant *entry = g_variant_get_child_value(dict, c);
		GVariant *k = g_variant_get_child_value(entry, 0);
		GVariant *boxed = g_variant_get_child_value(entry, 1);
		const char *key = g_variant_get_string(k, NULL);
		ssize_t i = find_field(fields, n, key, hint);

		if (i >= 0 && !seen[i]) {
			GVariant *v = g_variant_get_variant(boxed);

			seen[i] = true;
			hint = (size_t)i + 1;
			if (!read_field(&fields[i], v, obj))
				ok = false;
			g_variant_unref(v);
		} else if (i < 0) {
			for (size_t x = 0; x < n_extra; x++)
				if (extra[x] == NULL && strcmp(extra_keys[x], key) == 0) {
					extra[x] = g_variant_get_variant(boxed);
					break;
				}
		}
		g_variant_unref(boxed);
		g_variant_unref(k);
		g_variant_unref(entry);
	}
	if (seen != seen_small)
		g_free(seen);
	return ok;
}

bool rec_read(GVariant *dict, const struct rec_field *fields, size_t n,
	      void *obj)
{
	return rec_read_extra(dict, fields, n, obj, NULL, NULL, 0);
}

void rec_clear(const struct rec_field *fields, size_t n, void *obj)
{
	for (size_t i = 0; i < n; i++) {
		const struct rec_field *f = &fields[i];

		if (f->kind == REC_STR) {
			g_free(*FIELD(obj, f, char *));
			*FIELD(obj, f, char *) = NULL;
		} else if (f->kind == REC_BYTES) {
			if (*FIELD(obj, f, GBytes *) != NULL)
				g_bytes_unref(*FIELD(obj, f, GBytes *));
			*FIELD(obj, f, GBytes *) = NULL;
		}
	}
}

GBytes *rec_pack(uint8_t version, GVariant *dict)
{
	GVariant *record = g_variant_ref_sink(g_variant_new("(y@a{sv})", version, dict));
	GBytes *bytes = g_variant_get_data_as_bytes(record);

	g_variant_unref(record);
	return bytes;
}

int rec_unpack(const void *data, size_t len, uint8_t max_version,
	       uint8_t *version, GVariant **dict, tdk_err *err)
{
	GBytes *bytes;
	GVariant *record;
	guint8 v = 0;

	if (len == 0)
		return tdk_err_set(err, TDK_ECORRUPT, "empty record");
	/* Copy: LMDB's pages are read-only and may move after the txn. The
	 * copy has zeroed slack after its end: GLib 2.74's normal-form check
	 * reads a byte past the end of some damaged records. */
	{
		guint8 *copy = g_malloc0(len + RECORD_SLACK);

		memcpy(copy, data, len);
		bytes = g_bytes_new_with_free_func(copy, len, g_free, copy);
	}
	record = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE(RECORD_TYPE), bytes, FALSE));
	g_bytes_unref(bytes);
	if (!g_variant_is_normal_form(record)) {
		g_variant_unref(record);
		return tdk_err_set(err, TDK_ECORRUPT,
				   "record of %zu bytes is not in normal form", len);
	}
	g_variant_get_child(record, 0, "y", &v);
	if (v < 1 || v > max_version) {
		g_variant_unref(record);
		return tdk_err_set(err, TDK_ECORRUPT,
				   "record of unknown format version %u", (unsigned)v);
	}
	*dict = g_variant_get_child_value(record, 1);
	if (version != NULL)
		*version = v;
	g_variant_unref(record);
	return TDK_OK;
}
