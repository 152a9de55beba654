/*
 * Inverted dropout (Srivastava et al., with the scaling moved to training time): in training
 * each element survives with probability 1 - p and is scaled by 1/(1 - p), so evaluation is
 * the identity and needs no op at all. Each forward takes one draw from the net's seeded
 * generator as the key of a counter-based stream (cn_rng_hash): element i is kept when the
 * top 24 bits of its hash, as a fraction of 2^24, are at least p. A run is reproducible from
 * its seed whatever the thread count. Layout-free: [len] elements of any shape.
 *   forward   mask = (u >= p) / (1 - p),  y = x * mask
 *   backward  dx = dy * mask
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>

#include "../util.h"
#include "ops.h"

/* The mask and y in one pass; compiled per vector width (the hash's multiplies vectorize). */
CN_CLONES static void keep_scaled(size_t len, uint64_t key, uint32_t below, float scale,
                                  const float *restrict x, float *restrict y, float *restrict mask)
{
	for (size_t i = 0; i < len; i++) {
		float m = cn_rng_hash(key, (uint32_t)i) >> 8 >= below ? scale : 0.0f;
		mask[i] = m;
		y[i] = x[i] * m;
	}
}

void cn_dropout_forward(size_t len, float p, struct cn_rng *rng, const float *x, float *y,
                        float *mask)
{
	assert(p >= 0.0f && p < 1.0f && len <= UINT32_MAX);
	/* u = h / 2^24 >= p  <=>  h >= ceil(p * 2^24), exactly (p * 2^24 is exact in double) */
	const uint32_t below = (uint32_t)ceil((double)p * 16777216.0);
	keep_scaled(len, cn_rng_next(rng), below, 1.0f / (1.0f - p), x, y, mask);
}

void cn_dropout_backward(size_t len, const float *mask, const float *dy, float *dx)
{
	for (size_t i = 0; i < len; i++) dx[i] = dy[i] * mask[i];
}
