/*
 * kh_be.h - big-endian integers in byte strings: LMDB keys that sort in
 * number order, and envelope frames on the wire.
 */
#ifndef KH_BE_H
#define KH_BE_H

#include <stdint.h>

static inline void kh_put_u32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static inline uint32_t kh_get_u32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void kh_put_u64(uint8_t *b, uint64_t v)
{
    kh_put_u32(b, (uint32_t)(v >> 32));
    kh_put_u32(b + 4, (uint32_t)v);
}

static inline uint64_t kh_get_u64(const uint8_t *b)
{
    return (uint64_t)kh_get_u32(b) << 32 | kh_get_u32(b + 4);
}

#endif
