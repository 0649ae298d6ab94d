/*
 * recbin.c - the compact binary form of the store's records (see
 * recbin.h).
 */
#include "recbin.h"
#include "bigendian.h"

#include <string.h>
#include <sys/types.h>

#define FIELD(obj, f, type) ((type *)((char *)(obj) + (f)->offset))
#define CFIELD(obj, f, type) ((type const *)((const char *)(obj) + (f)->offset))
#define KEY_MAX 255
#define INITIAL_SIZE 2048
#define BODY_LENGTH 4 /* after the version byte */

/* ------------------------------------------------------------ writing */

GByteArray *rbin_begin(uint8_t version)
{
	static const uint8_t no_length[BODY_LENGTH] = { 0 };
	GByteArray *b = g_byte_array_sized_new(INITIAL_SIZE);

	g_byte_array_append(b, &version, 1);
	g_byte_array_append(b, no_length, BODY_LENGTH);
	return b;
}

GBytes *rbin_end(GByteArray *b)
{
	rbin_close(b, 1);
	return g_byte_array_free_to_bytes(b);
}

GBytes *rbin_pack(uint8_t version, const struct rec_field *fields, size_t n,
		  const void *obj)
{
	GByteArray *b = rbin_begin(version);

	rbin_put_fields(b, fields, n, obj);
	return rbin_end(b);
}

/* Adds the entry's key and type and room for its value: where the value
 * goes. One growth of the buffer per entry. */
static uint8_t *put_key(GByteArray *b, const char *key, int type, size_t value_len)
{
	size_t n = strlen(key), at = b->len;
	uint8_t *p;

	g_assert(n >= 1 && n <= KEY_MAX && value_len <= G_MAXUINT - 2 - n - at);
	g_byte_array_set_size(b, (guint)(at + n + 2 + value_len));
	p = b->data + at;
	p[0] = (uint8_t)n;
	memcpy(p + 1, key, n);
	p[1 + n] = (uint8_t)type;
	return p + n + 2;
}

static void put_u64(GByteArray *b, const char *key, int type, uint64_t v)
{
	put_be64(put_key(b, key, type, 8), v);
}

void rbin_put_i32(GByteArray *b, const char *key, int32_t v)
{
	put_be32(put_key(b, key, RBIN_I32, 4), (uint32_t)v);
}

void rbin_put_bytes(GByteArray *b, const char *key, const void *data, size_t len)
{
	uint8_t *p;

	g_assert(len <= UINT32_MAX);
	p = put_key(b, key, RBIN_BYTES, 4 + len);
	put_be32(p, (uint32_t)len);
	if (len > 0)
		memcpy(p + 4, data, len);
}

void rbin_put_fields(GByteArray *b, const struct rec_field *fields, size_t n,
		     const void *obj)
{
	for (size_t i = 0; i < n; i++) {
		const struct rec_field *f = &fields[i];

		switch (f->kind) {
		case REC_I64:
		case REC_TIME:
			if (*CFIELD(obj, f, int64_t) != 0)
				put_u64(b, f->key, RBIN_I64,
					(uint64_t)*CFIELD(obj, f, int64_t));
			break;
		case REC_U64:
			if (*CFIELD(obj, f, uint64_t) != 0)
				put_u64(b, f->key, RBIN_U64, *CFIELD(obj, f, uint64_t));
			break;
		case REC_INT:
			if (*CFIELD(obj, f, int) != 0)
				rbin_put_i32(b, f->key, *CFIELD(obj, f, int));
			break;
		case REC_BOOL:
			if (*CFIELD(obj, f, bool))
				*put_key(b, f->key, RBIN_BOOL, 1) = 1;
			break;
		case REC_STR: {
			const char *s = *CFIELD(obj, f, char *);

			if (s != NULL)
				rbin_put_bytes(b, f->key, s, strlen(s));
			break;
		}
		case REC_BYTES: {
			GBytes *v = *CFIELD(obj, f, GBytes *);

			if (v != NULL) {
				gsize len;
				const void *data = g_bytes_get_data(v, &len);

				rbin_put_bytes(b, f->key, data, len);
			}
			break;
		}
		}
	}
}

static size_t open_length(GByteArray *b)
{
	static const uint8_t zero[4];
	size_t mark = b->len;

	g_byte_array_append(b, zero, 4);
	return mark;
}

size_t rbin_open_list(GByteArray *b, const char *key)
{
	size_t mark;

	put_key(b, key, RBIN_LIST, 4);
	mark = b->len - 4;
	put_be32(b->data + mark, 0);
	return mark;
}

size_t rbin_open_item(GByteArray *b)
{
	return open_length(b);
}

void rbin_close(GByteArray *b, size_t mark)
{
	size_t len = b->len - mark - 4;

	g_assert(len <= UINT32_MAX);
	put_be32(b->data + mark, (uint32_t)len);
}

/* ------------------------------------------------------------ reading */

bool rbin_body(const void *data, size_t len, const uint8_t **body,
	       size_t *body_len)
{
	const uint8_t *p = data;

	if (len < 1 + BODY_LENGTH || get_be32(p + 1) != len - 1 - BODY_LENGTH)
		return false;
	*body = p + 1 + BODY_LENGTH;
	*body_len = len - 1 - BODY_LENGTH;
	return true;
}

/* The entry at *pos of data[0..len): 1 with its key and value, 0 at the
 * end, -1 if it is cut short or of an unknown type. */
static int next_entry(const uint8_t *data, size_t len, size_t *pos,
		      const char **key, size_t *key_len, struct rbin_value *v)
{
	size_t p = *pos, n, size;

	if (p == len)
		return 0;
	n = data[p++];
	if (n == 0 || len - p < n + 1)
		return -1;
	*key = (const char *)data + p;
	*key_len = n;
	p += n;
	v->type = data[p++];
	switch (v->type) {
	case RBIN_I64:
	case RBIN_U64:
		size = 8;
		break;
	case RBIN_I32:
		size = 4;
		break;
	case RBIN_BOOL:
		size = 1;
		break;
	case RBIN_BYTES:
	case RBIN_LIST:
		if (len - p < 4)
			return -1;
		size = get_be32(data + p);
		p += 4;
		break;
	default:
		return -1;
	}
	if (len - p < size)
		return -1;
	v->data = data + p;
	v->len = size;
	*pos = p + size;
	return 1;
}

static bool read_field(const struct rec_field *f, const struct rbin_value *v,
		       void *obj)
{
	switch (f->kind) {
	case REC_I64:
	case REC_TIME:
		if (v->type != RBIN_I64)
			return false;
		*FIELD(obj, f, int64_t) = (int64_t)get_be64(v->data);
		return true;
	case REC_U64:
		if (v->type != RBIN_U64)
			return false;
		*FIELD(obj, f, uint64_t) = get_be64(v->data);
		return true;
	case REC_INT:
		if (v->type != RBIN_I32)
			return false;
		*FIELD(obj, f, int) = (int)(int32_t)get_be32(v->data);
		return true;
	case REC_BOOL:
		if (v->type != RBIN_BOOL || v->data[0] > 1)
			return false;
		*FIELD(obj, f, bool) = v->data[0] == 1;
		return true;
	case REC_STR:
		if (v->type != RBIN_BYTES || memchr(v->data, '\0', v->len) != NULL)
			return false;
		g_free(*FIELD(obj, f, char *));
		*FIELD(obj, f, char *) = g_strndup((const char *)v->data, v->len);
		return true;
	case REC_BYTES:
		if (v->type != RBIN_BYTES)
			return false;
		if (*FIELD(obj, f, GBytes *) != NULL)
			g_bytes_unref(*FIELD(obj, f, GBytes *));
		*FIELD(obj, f, GBytes *) = g_bytes_new(v->data, v->len);
		return true;
	}
	return false;
}

static bool key_is(const char *name, const char *key, size_t key_len)
{
	return name[0] == key[0] && strlen(name) == key_len &&
	       memcmp(name, key, key_len) == 0;
}

/* The index of the field named key: fields are written in table order,
 * so the one after the last found is tried first. -1 if none. */
static ssize_t find_field(const struct rec_field *fields, size_t n,
			  const char *key, size_t key_len, size_t hint)
{
	size_t i = hint < n ? hint : 0;

	for (size_t j = 0; j < n; j++, i = i + 1 < n ? i + 1 : 0)
		if (key_is(fields[i].key, key, key_len))
			return (ssize_t)i;
	return -1;
}

bool rbin_read(const uint8_t *data, size_t len, const struct rec_field *fields,
	       size_t n, void *obj, const char *const *extra_keys,
	       struct rbin_value *extra, size_t n_extra)
{
	bool ok = true;
	bool seen_small[128] = { false };
	bool *seen = n <= G_N_ELEMENTS(seen_small) ? seen_small : g_new0(bool, n);
	size_t pos = 0, hint = 0;
	const char *key;
	size_t key_len;
	struct rbin_value v;
	int rc;

	for (size_t x = 0; x < n_extra; x++)
		extra[x].type = 0;
	while ((rc = next_entry(data, len, &pos, &key, &key_len, &v)) == 1) {
		ssize_t i = find_field(fields, n, key, key_len, hint);

		if (i >= 0 && !seen[i]) {
			seen[i] = true;
			hint = (size_t)i + 1;
			if (!read_field(&fields[i], &v, obj))
				ok = false;
		} else if (i < 0) {
			for (size_t x = 0; x < n_extra; x++)
				if (extra[x].type == 0 && key_is(extra_keys[x], key, key_len)) {
					extra[x] = v;
					break;
				}
		}
	}
	if (seen != seen_small)
		g_free(seen);
	return ok && rc == 0;
}

bool rbin_unpack(const void *data, size_t len, uint8_t version,
		 const struct rec_field *fields, size_t n, void *obj)
{
	const uint8_t *body;
	size_t body_len;

	return len >= 1 && *(const uint8_t *)data == version &&
	       rbin_body(data, len, &body, &body_len) &&
	       rbin_read(body, body_len, fields, n, obj, NULL, NULL, 0);
}

int rbin_list_next(const struct rbin_value *list, size_t *pos,
		   struct rbin_value *item)
{
	size_t p = *pos, size;

	if (p == list->len)
		return 0;
	if (list->len - p < 4)
		return -1;
	size = get_be32(list->data + p);
	p += 4;
	if (list->len - p < size)
		return -1;
	item->type = RBIN_LIST;
	item->data = list->data + p;
	item->len = size;
	*pos = p + size;
	return 1;
}
