/*
 * bigendian.h - fixed-width big-endian integers in byte strings.
 *
 * Owns: the byte order of todoke's LMDB keys (the spool's ids, the case
 * store's numbers, sequences and due times), so that keys sort as the
 * numbers they hold.
 */
#ifndef TODOKE_BIGENDIAN_H
#define TODOKE_BIGENDIAN_H

#include <stdint.h>

static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

#endif
