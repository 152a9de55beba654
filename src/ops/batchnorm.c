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
 * y = (x - mean) * scale + beta per channel; mean, scale, beta [C]. Subtracting the mean first
 * (not x * scale + folded shift) keeps a near-constant channel exact: its istd is ~316, and
 * folding the mean into the shift cancelled catastrophically (beta off by 2e-4 measured).
 */
static void affine(size_t m, int32_t c, const float *mean, const float *scale, const float *beta,
                   const float *x, float *y)
{
#pragma omp parallel if (parallel(m, c))
	{
		size_t lo, hi;
		share(m, &lo, &hi);
		for (size_t r = lo; r < hi; r++) {
			const float *xr = x + r * (size_t)c;
			float *yr = y + r * (size_t)c;
			for (int32_t j = 0; j < c; j++)
				yr[j] = (xr[j] - mean[j]) * scale[j] + beta[j];
		}
	}
}

/* sum[j] = Σ_rows x, then sq[j] = Σ_rows (x - sum[j]/m)²; sum receives the mean. */
static void moments(size_t m, int32_t c, const float *x, double *sum, double *sq)
{
	memset(sum, 0, 2 * (size_t)c * sizeof(double)); /* sum and sq are adjacent */
#pragma omp parallel if (parallel(m, c))
	{
		size_t lo, hi;
		share((size_t)c, &lo, &hi);
		for (size_t r = 0; r < m; r++) {
			const float *xr = x + r * (size_t)c;
			for (size_t j = lo; j < hi; j++) sum[j] += xr[j];
		}
		for (size_t j = lo; j < hi; j++) sum[j] /= (double)m; /* now the mean */
		/* two passes: squared deviations, not E[x²] - mean² (cancellation) */
		for (size_t r = 0; r < m; r++) {
			const float *xr = x + r * (size_t)c;
			for (size_t j = lo; j < hi; j++) {
				double d = xr[j] - sum[j];
				sq[j] += d * d;
			}
		}
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

void cn_batchnorm_backward(size_t m, int32_t c, bool batch, const float *gamma, const float *saved,
                           const float *x, const float *dy, float *dx, float *dgamma, float *dbeta,
                           float *ws)
{
	assert(m >= 1 && c >= 1);
	const float *mean = saved, *istd = saved + c;
	double *sdy = (double *)ws, *sdyx = sdy + c; /* [C] each */
	float *k = ws + 4 * (size_t)c, *a = k + c, *b = a + c;
	memset(sdy, 0, 2 * (size_t)c * sizeof(double));
#pragma omp parallel if (parallel(m, c))
	{
		size_t lo, hi;
		share((size_t)c, &lo, &hi);
		for (size_t r = 0; r < m; r++) {
			const float *xr = x + r * (size_t)c, *dyr = dy + r * (size_t)c;
			for (size_t j = lo; j < hi; j++) {
				float xh = (xr[j] - mean[j]) * istd[j];
				sdy[j] += dyr[j];
				sdyx[j] += (double)dyr[j] * xh;
			}
		}
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
		for (size_t r = lo; r < hi; r++) {
			const float *xr = x + r * (size_t)c, *dyr = dy + r * (size_t)c;
			float *dxr = dx + r * (size_t)c;
			for (int32_t j = 0; j < c; j++) {
				float xh = (xr[j] - mean[j]) * istd[j];
				dxr[j] = k[j] * (dyr[j] - a[j] - xh * b[j]);
			}
		}
	}
}
