/* Tiny shared helpers: alignment, counting, overflow-checked sizes. Not an umbrella header. */
#ifndef CN_UTIL_H
#define CN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

/* Element-wise loops shorter than this stay on one thread: a parallel region costs more. */
#define CN_PAR_MIN_LEN 32768

/*
 * A hot loop compiled for each instruction set of CN_CLONE_LIST (config.mk's CLONES; by default
 * AVX-512, AVX2 and baseline x86-64), chosen once at load time (target_clones; the build
 * itself targets baseline x86-64). Clones give the same bits: the build is ISO C (-std=c11
 * implies -ffp-contract=off), so none fuses a multiply-add. cn_isa() names the one that runs.
 * CLONES=default (CN_NO_CLONES) compiles every loop once, for baseline x86-64. CN_CLONE_avx2
 * and CN_CLONE_avx512f say which sets the list has, for code that is written per width.
 */
#ifndef CN_CLONE_LIST
#define CN_CLONE_LIST "avx512f", "avx2", "default"
#if !defined(CN_NO_CLONES)
#define CN_CLONE_avx512f
#define CN_CLONE_avx2
#endif
#endif
/* other architectures (aarch64) have none of these sets: one portable copy of everything */
#if !defined(__x86_64__)
#undef CN_CLONE_avx512f
#undef CN_CLONE_avx2
#endif
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute) && !defined(CN_NO_CLONES)
#if __has_attribute(target_clones)
#define CN_CLONES __attribute__((target_clones(CN_CLONE_LIST)))
#endif
#endif
#ifndef CN_CLONES
#define CN_CLONES
#endif

/* This thread's index in the current OpenMP team, and the team's size (0 and 1 outside one);
   whether an active (more than one thread) region encloses the caller. */
#ifdef _OPENMP
#include <omp.h>
static inline int cn_thread_id(void)
{
	return omp_get_thread_num();
}
static inline int cn_thread_count(void)
{
	return omp_get_num_threads();
}
static inline bool cn_in_parallel(void)
{
	return omp_in_parallel();
}
#else
static inline int cn_thread_id(void)
{
	return 0;
}
static inline int cn_thread_count(void)
{
	return 1;
}
static inline bool cn_in_parallel(void)
{
	return false;
}
#endif

/*
 * Part i's contiguous share [*lo, *hi) of n items cut into parts as evenly as integers allow
 * (shares differ by at most one): the one rule by which threads and group members split
 * images, rows or examples.
 */
static inline void cn_share(int64_t n, int64_t i, int64_t parts, int32_t *lo, int32_t *hi)
{
	*lo = (int32_t)(n * i / parts);
	*hi = (int32_t)(n * (i + 1) / parts);
}

/* Seconds on the monotonic clock, for timing and spin deadlines. */
static inline double cn_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* This thread's contiguous share [*lo, *hi) of len elements, in 16-float (64-byte) blocks. */
static inline void cn_thread_range(size_t len, size_t *lo, size_t *hi)
{
	size_t t = (size_t)cn_thread_id(), n = (size_t)cn_thread_count();
	size_t blocks = (len + 15) / 16, per = (blocks + n - 1) / n;
	*lo = CN_MIN(t * per * 16, len);
	*hi = CN_MIN((t + 1) * per * 16, len);
}

#endif
