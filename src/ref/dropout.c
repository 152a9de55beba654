/*
 * Reference dropout: one element at a time, deciding and scaling in one expression. It keys
 * its stream from the generator exactly as the fast version does (one draw per call), so
 * given the same generator state the two must agree; mask receives 1/(1-p) or 0 per element.
 */
#include "ref.h"

void cn_dropout_forward_ref(size_t len, float p, struct cn_rng *rng, const float *x, float *y,
                            float *mask)
{
	const uint64_t key = cn_rng_next(rng);
	for (size_t i = 0; i < len; i++) {
		double u = (double)(cn_rng_hash(key, (uint32_t)i) >> 8) / 16777216.0;
		int keep = u >= (double)p;
		y[i] = keep ? (float)((double)x[i] / (1.0 - p)) : 0.0f;
		mask[i] = keep ? (float)(1.0 / (1.0 - p)) : 0.0f;
	}
}

void cn_dropout_backward_ref(size_t len, const float *mask, const float *dy, float *dx)
{
	for (size_t i = 0; i < len; i++) dx[i] = (float)((double)dy[i] * mask[i]);
}
