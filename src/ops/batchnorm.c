/*
 * Batch normalization (Ioffe & Szegedy) over NHWC rows: x [M, C], channels fastest, so one
 * pass over the rows updates every channel's accumulator with contiguous, vectorizable loads
 * (the reference walks one channel at a time with stride C). Sums are kept in double: M is
 * N*H*W, 78 400 rows for a 28x28 layer at batch 100. Threads split the reductions by channel
 * (each channel is still summed by one thread in row order, so results do not depend on the
 * thread count) and the element-wise passes by row.
 *   forward   xhat = (x - mean) istd,  y = gamma xhat + beta,  istd = 1/sqrt(var + eps)
 *   backward  dgamma += Σ dy xhat,  dbeta += Σ dy,
 *             dx = gamma istd (dy - Σdy/M - xhat Σ(dy xhat)/M)   (batch statistics)
 *             dx = gamma istd dy                                  (running statistics)
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "../util.h"
#include "ops.h"

/* Whether a pass over m rows of c is worth a parallel region (read by pragmas only, which a
   build without OpenMP drops). */
static __attribute__((unused)) bool parallel(size_t m, int32_t c)
{
	return m * (size_t)c >= CN_PAR_MIN_LEN;
}

/* This thread's rows (element-wise passes) or channels (reductions): [*lo, *hi). */
static void share(size_t len, size_t *lo, size_t *hi)
{
	cn_thread_range(len, lo, hi);
}

/*
 * y = (x - mean) * scale + beta per channel for rows [lo, hi); mean, scale, beta [C].
 * Subtracting the mean first (not x * scale + folded shift) keeps a near-constant channel
 * exact: its istd is ~316, and folding the mean into the shift cancelled catastrophically
 * (beta off by 2e-4 measured).
 */
CN_CLONES static void affine_rows(size_t lo, size_t hi, int32_t c, const float *mean,
                                  const float *scale, const float *beta, const float *x, float *y)
{
	for (size_t r = lo; r < hi; r++) {
		const float *xr = x + r * (size_t)c;
		float *yr = y + r * (size_t)c;
		for (int32_t j = 0; j < c; j++) yr[j] = (xr[j] - mean[j]) * scale[j] + beta[j];
	}
}

static void affine(size_t m, int32_t c, const float *mean, const float *scale, const float *beta,
                   const float *x, float *y)
{
#pragma omp parallel if (parallel(m, c))
	{
		size_t lo, hi;
		share(m, &lo, &hi);
		affine_rows(lo, hi, c, mean, scale, beta, x, y);
	}
}

/*
 * The per-channel sums, by blocks of LANES channels whose accumulators stay in registers for
 * the whole walk down the rows (a thread's channels are whole blocks but the last), compiled
 * per vector width. Every channel is still summed in row order: the bits did not change (a
 * deep-cnn-bn checkpoint after 1 000 images was byte-identical). As one loop over the
 * thread's channels in baseline SSE2 with the sums in memory, batch norm was 13% of
 * deep-cnn-bn's training step; at 78 400 rows x 32 channels, 2 threads, forward 0.89 -> 0.30
 * ms and backward 1.04 -> 0.55 ms, and deep-cnn-bn trained at 4 200-4 286 -> 4 752-5 153
 * images/s (batch 100).
 */
#define LANES 16

/*
 * sum[j] = Σ_rows x, then sq[j] = Σ_rows (x - sum[j]/m)², for channels [j0, j0 + w). Inlined
 * with w = LANES where it is (every block but a thread's last), so the accumulators stay in
 * registers.
 */
static inline __attribute__((always_inline)) void
moments_cols(size_t m, int32_t c, int32_t j0, int32_t w, const float *x, double *sum, double *sq)
{
	double s[LANES] = {0}, q[LANES] = {0}, mean[LANES];
	x += j0;
	for (size_t r = 0; r < m; r++)
		for (int32_t j = 0; j < w; j++) s[j] += x[r * (size_t)c + j];
	for (int32_t j = 0; j < LANES; j++) mean[j] = s[j] / (double)m;
	/* two passes: squared deviations, not E[x²] - mean² (cancellation) */
	for (size_t r = 0; r < m; r++)
		for (int32_t j = 0; j < w; j++) {
			double d = x[r * (size_t)c + j] - mean[j];
			q[j] += d * d;
		}
	for (int32_t j = 0; j < w; j++) {
		sum[j0 + j] = mean[j];
		sq[j0 + j] = q[j];
	}
}

CN_CLONES static void moments_block(size_t m, int32_t c, int32_t j0, int32_t w, const float *x,
                                    double *sum, double *sq)
{
	if (w == LANES)
		moments_cols(m, c, j0, LANES, x, sum, sq);
	else
		moments_cols(m, c, j0, w, x, sum, sq);
}

/* sum receives the mean per channel, sq the sum of squared deviations from it. */
static void moments(size_t m, int32_t c, const float *x, double *sum, double *sq)
{
#pragma omp parallel if (parallel(m, c))
	{
		size_t lo, hi;
		share((size_t)c, &lo, &hi);
		for (size_t j = lo; j < hi; j += LANES)
			moments_block(m, c, (int32_t)j, (int32_t)CN_MIN(LANES, hi - j), x, sum, sq);
	}
}

void cn_batchnorm_forward_train(size_t m, int32_t c, const float *gamma, const float *beta,
                                const float *x, float *y, float *saved, float *run, float *ws)
{
	assert(m >= 1 && c >= 1);
	double *sum = (double *)ws, *sq = sum + c; /* [C] each */
	float *scale = ws + 4 * (size_t)c;
	moments(m, c, x, sum, sq);
	for (int32_t j = 0; j < c; j++) {
		double var = sq[j] / (double)m, istd = 1.0 / sqrt(var + CN_BN_EPS);
		saved[j] = (float)sum[j];
		saved[c + j] = (float)istd;
		scale[j] = (float)(gamma[j] * istd);
		/* a batch gone NaN/Inf must not poison the statistics a skipped step leaves */
		if (!isfinite(var)) continue;
		run[j] += CN_BN_MOMENTUM * ((float)sum[j] - run[j]);
		if (m > 1)
			run[c + j] +=
			    CN_BN_MOMENTUM * ((float)(sq[j] / (double)(m - 1)) - run[c + j]);
	}
	affine(m, c, saved, scale, beta, x, y);
}

void cn_batchnorm_forward_eval(size_t m, int32_t c, const float *gamma, const float *beta,
                               const float *run, const float *x, float *y, float *saved, float *ws)
{
	assert(m >= 1 && c >= 1);
	float *scale = ws; /* [C] */
	for (int32_t j = 0; j < c; j++) {
		double istd = 1.0 / sqrt((double)run[c + j] + CN_BN_EPS);
		saved[j] = run[j];
		saved[c + j] = (float)istd;
		scale[j] = (float)(gamma[j] * istd); /* as in training: same statistics, same y */
	}
	affine(m, c, saved, scale, beta, x, y);
}

/* sdy[j] = Σ_rows dy, sdyx[j] = Σ_rows dy·xhat for channels [j0, j0 + w), as moments_cols */
static inline __attribute__((always_inline)) void
grad_sums_cols(size_t m, int32_t c, int32_t j0, int32_t w, const float *restrict x,
               const float *restrict dy, const float *restrict mean, const float *restrict istd,
               double *sdy, double *sdyx)
{
	double s[LANES] = {0}, sx[LANES] = {0};
	x += j0, dy += j0, mean += j0, istd += j0;
	for (size_t r = 0; r < m; r++) {
		const float *restrict xr = x + r * (size_t)c, *restrict dyr = dy + r * (size_t)c;
		for (int32_t j = 0; j < w; j++) {
			float xh = (xr[j] - mean[j]) * istd[j];
			s[j] += dyr[j];
			sx[j] += (double)dyr[j] * xh;
		}
	}
	for (int32_t j = 0; j < w; j++) sdy[j0 + j] = s[j], sdyx[j0 + j] = sx[j];
}

CN_CLONES static void grad_sums_block(size_t m, int32_t c, int32_t j0, int32_t w, const float *x,
                                      const float *dy, const float *mean, const float *istd,
                                      double *sdy, double *sdyx)
{
	if (w == LANES)
		grad_sums_cols(m, c, j0, LANES, x, dy, mean, istd, sdy, sdyx);
	else
		grad_sums_cols(m, c, j0, w, x, dy, mean, istd, sdy, sdyx);
}

/* dx = k (dy - a - xhat b) per channel for rows [lo, hi) */
CN_CLONES static void grad_rows(size_t lo, size_t hi, int32_t c, const float *x, const float *dy,
                                const float *mean, const float *istd, const float *k,
                                const float *a, const float *b, float *dx)
{
	for (size_t r = lo; r < hi; r++) {
		const float *xr = x + r * (size_t)c, *dyr = dy + r * (size_t)c;
		float *dxr = dx + r * (size_t)c;
		for (int32_t j = 0; j < c; j++) {
			float xh = (xr[j] - mean[j]) * istd[j];
			dxr[j] = k[j] * (dyr[j] - a[j] - xh * b[j]);
		}
	}
}

void cn_batchnorm_backward(size_t m, int32_t c, bool batch, const float *gamma, const float *saved,
                           const float *x, const float *dy, float *dx, float *dgamma, float *dbeta,
                           float *ws)
{
	assert(m >= 1 && c >= 1);
	const float *mean = saved, *istd = saved + c;
	double *sdy = (double *)ws, *sdyx = sdy + c; /* [C] each */
	float *k = ws + 4 * (size_t)c, *a = k + c, *b = a + c;
#pragma omp parallel if (parallel(m, c))
	{
		size_t lo, hi;
		share((size_t)c, &lo, &hi);
		for (size_t j = lo; j < hi; j += LANES)
			grad_sums_block(m, c, (int32_t)j, (int32_t)CN_MIN(LANES, hi - j), x, dy,
			                mean, istd, sdy, sdyx);
	}
	for (int32_t j = 0; j < c; j++) {
		dgamma[j] += (float)sdyx[j];
		dbeta[j] += (float)sdy[j];
		k[j] = gamma[j] * istd[j];
		a[j] = batch ? (float)(sdy[j] / (double)m) : 0.0f;
		b[j] = batch ? (float)(sdyx[j] / (double)m) : 0.0f;
	}
	if (!dx) return;
#pragma omp parallel if (parallel(m, c))
	{
		size_t lo, hi;
		share(m, &lo, &hi);
		grad_rows(lo, hi, c, x, dy, mean, istd, k, a, b, dx);
	}
}
