/*
 * Shared test helpers: a seeded RNG (never rand()), fills, relative-error comparison that
 * names the failing index, and a central-difference gradient check accumulated in double.
 * Include after <cmocka.h>'s prerequisites.
 */
#ifndef CN_TESTS_UTIL_H
#define CN_TESTS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tu_rng {
	uint64_t s;
};

struct tu_rng tu_rng_make(uint64_t seed);
uint64_t tu_next(struct tu_rng *r);
/* Uniform float in [lo, hi). */
float tu_uniform(struct tu_rng *r, float lo, float hi);
/* Uniform integer in [lo, hi] (inclusive). */
int tu_int(struct tu_rng *r, int lo, int hi);
void tu_fill_uniform(struct tu_rng *r, float *a, size_t len, float lo, float hi);

/* malloc that fails the test instead of returning NULL; free with free(). */
void *tu_alloc(size_t bytes);
float *tu_floats(size_t len);

/*
 * Largest element-wise relative error of got against want: |got - want| / max(|want|, rms),
 * where rms is want's root-mean-square (so entries that cancel to ~0 are judged on the
 * tensor's scale, not their own). *at (may be NULL) receives the index.
 */
/* Fresh arrays: all NaN (nothing may read them before writing), uniform in [-1, 1), a copy. */
float *tu_nans(size_t len);
float *tu_rand_floats(struct tu_rng *r, size_t len);
float *tu_copy(const float *a, size_t len);

double tu_max_rel_err(const float *got, const float *want, size_t len, size_t *at);

/*
 * Fail the current test if tu_max_rel_err > tol, printing what, the index, both values and
 * the configuration string cfg. Returns the error seen (for "largest error" reports).
 */
double tu_check_close(const char *what, const float *got, const float *want, size_t len, double tol,
                      const char *cfg);

/*
 * Central-difference gradient check. loss(ctx) evaluates a scalar (double) from the current
 * contents of x; analytic holds d loss / d x. Probes up to max_probes indices (all if len is
 * smaller, else an evenly spread sample), with step eps. Fails if any probe has
 * |num - ana| > tol * max(|num|, |ana|, 1e-3 * max|analytic|), or if the analytic gradient
 * is all zero.
 * Restores x. Returns the largest error seen.
 */
double tu_gradcheck(const char *what, double (*loss)(void *ctx), void *ctx, float *x, size_t len,
                    const float *analytic, double eps, double tol, size_t max_probes);

/* Remove path and, for a directory, everything under it (test scratch folders). */
void tu_rm_rf(const char *path);

/* A whole file's bytes (tu_alloc'd, *len of them), and a file written with exactly n bytes;
   both assert success. */
uint8_t *tu_read_file(const char *path, size_t *len);
void tu_write_file(const char *path, const void *b, size_t n);

/*
 * The trainer tests' four-class problem: which quadrant of a side x side image holds a bright
 * 2x2 blob, on noise up to 80 (separable, not trivially). px [count, side, side], labels
 * [count]; the dataset form asserts its creation.
 */
void tu_quadrant_images(uint64_t seed, int32_t count, int side, uint8_t *px, uint8_t *labels);
struct cn_dataset *tu_quadrant_dataset(uint64_t seed, int32_t count, int side);

/* Update *worst with v if v is larger (for per-op "largest error" summaries). */
static inline void tu_track(double *worst, double v)
{
	if (v > *worst) *worst = v;
}

#endif
