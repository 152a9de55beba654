/*
 * Reference batch normalization: one channel at a time, straight from the definitions, in
 * double. x [M, C] rows of C channels (NHWC flattened); run [2, C] running mean then
 * variance; saved [2, C] mean then 1/sqrt(var + eps). Same contracts as ops/batchnorm.c.
 */
#include <math.h>

#include "ref.h"

void cn_batchnorm_forward_train_ref(size_t m, int32_t c, const float *gamma, const float *beta,
                                    const float *x, float *y, float *saved, float *run)
{
	for (int32_t j = 0; j < c; j++) {
		double mean = 0, var = 0;
		for (size_t r = 0; r < m; r++) mean += x[r * c + j];
		mean /= (double)m;
		for (size_t r = 0; r < m; r++) var += (x[r * c + j] - mean) * (x[r * c + j] - mean);
		double unbiased = m > 1 ? var / (double)(m - 1) : 0;
		var /= (double)m;
		double istd = 1.0 / sqrt(var + CN_BN_EPS);
		for (size_t r = 0; r < m; r++)
			y[r * c + j] = (float)(gamma[j] * (x[r * c + j] - mean) * istd + beta[j]);
		saved[j] = (float)mean;
		saved[c + j] = (float)istd;
		if (!isfinite(var)) continue; /* a non-finite batch leaves the statistics alone */
		run[j] = (float)((1.0 - CN_BN_MOMENTUM) * run[j] + CN_BN_MOMENTUM * mean);
		if (m > 1)
			run[c + j] = (float)((1.0 - CN_BN_MOMENTUM) * run[c + j] +
			                     CN_BN_MOMENTUM * unbiased);
	}
}

void cn_batchnorm_forward_eval_ref(size_t m, int32_t c, const float *gamma, const float *beta,
                                   const float *run, const float *x, float *y, float *saved)
{
	for (int32_t j = 0; j < c; j++) {
		double istd = 1.0 / sqrt((double)run[c + j] + CN_BN_EPS);
		for (size_t r = 0; r < m; r++)
			y[r * c + j] = (float)(gamma[j] * (x[r * c + j] - run[j]) * istd + beta[j]);
		if (saved) {
			saved[j] = run[j];
			saved[c + j] = (float)istd;
		}
	}
}

void cn_batchnorm_backward_ref(size_t m, int32_t c, bool batch, const float *gamma,
                               const float *saved, const float *x, const float *dy, float *dx,
                               float *dgamma, float *dbeta)
{
	for (int32_t j = 0; j < c; j++) {
		double mean = saved[j], istd = saved[c + j], sdy = 0, sdyx = 0;
		for (size_t r = 0; r < m; r++) {
			sdy += dy[r * c + j];
			sdyx += dy[r * c + j] * (x[r * c + j] - mean) * istd;
		}
		dgamma[j] += (float)sdyx;
		dbeta[j] += (float)sdy;
		if (!dx) continue;
		for (size_t r = 0; r < m; r++) {
			double xh = (x[r * c + j] - mean) * istd, g = dy[r * c + j];
			if (batch) g -= sdy / (double)m + xh * sdyx / (double)m;
			dx[r * c + j] = (float)(gamma[j] * istd * g);
		}
	}
}
