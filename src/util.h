/* Tiny shared helpers: alignment, counting, overflow-checked sizes. Not an umbrella header. */
#ifndef CN_UTIL_H
#define CN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CN_ALIGN     64 /* bytes; one AVX-512 register, one cache line */
#define CN_LEN(a)    (sizeof(a) / sizeof((a)[0]))
#define CN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CN_MAX(a, b) ((a) > (b) ? (a) : (b))

/* *r = a * b; false if it overflowed. Every buffer size goes through these. */
static inline bool cn_mul_ok(size_t a, size_t b, size_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}

static inline bool cn_add_ok(size_t a, size_t b, size_t *r)
{
	return !__builtin_add_overflow(a, b, r);
}

/* Product of up to four factors, SIZE_MAX on overflow (callers test for it once). */
static inline size_t cn_mul4(size_t a, size_t b, size_t c, size_t d)
{
	size_t r;
	if (!cn_mul_ok(a, b, &r) || !cn_mul_ok(r, c, &r) || !cn_mul_ok(r, d, &r)) return SIZE_MAX;
	return r;
}

#endif
