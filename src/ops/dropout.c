/*
 * Inverted dropout (Srivastava et al., with the scaling moved to training time): in training
 * each element survives with probability 1 - p and is scaled by 1/(1 - p), so evaluation is
 * the identity and needs no op at all. The mask is drawn in element order from the net's
 * seeded generator, one cn_rng_uniform per element, on one thread: a run is reproducible from
 * its seed whatever the thread count. Layout-free: [len] elements of any shape.
 *   forward   mask = (u >= p) / (1 - p),  y = x * mask
 *   backward  dx = dy * mask
 */
#include <assert.h>

#include "ops.h"

void cn_dropout_forward(size_t len, float p, struct cn_rng *rng, const float *x, float *y,
                        float *mask)
{
	assert(p >= 0.0f && p < 1.0f);
	const float scale = 1.0f / (1.0f - p);
	const double pd = p;
	for (size_t i = 0; i < len; i++) mask[i] = cn_rng_uniform(rng) >= pd ? scale : 0.0f;
	for (size_t i = 0; i < len; i++) y[i] = x[i] * mask[i];
}

void cn_dropout_backward(size_t len, const float *mask, const float *dy, float *dx)
{
	for (size_t i = 0; i < len; i++) dx[i] = dy[i] * mask[i];
}
