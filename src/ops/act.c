/*
 * Element-wise activations over flat arrays of len floats (any layout):
 *   relu y = max(x, 0); leaky y = x > 0 ? x : slope*x; sigmoid y = 1 / (1 + e^-x); tanh.
 * Backward reads y only (relu/leaky: y > 0 iff x > 0 for slope >= 0; sigmoid' = y(1-y);
 * tanh' = 1-y²), so forward may run in place (y == x) and backward too (dx == dy).
 * The switch sits outside the loops so each loop is one tight, branch-free pass (all but
 * sigmoid's and tanh's, which call libm, vectorize at -O3). Long arrays are split into one
 * contiguous range per OpenMP thread (inside a convolution's threads, this runs serially).
 */
#include <math.h>
#include <string.h>

#include "../util.h"
#include "ops.h"

/* sigmoid without overflow: e^-|x| is in (0, 1], so neither branch can reach inf or 0/0. */
static inline float sigmoid(float x)
{
	float e = expf(-fabsf(x));
	float s = 1.0f / (1.0f + e);
	return x >= 0.0f ? s : e * s;
}

static void forward_range(enum cn_act act, float slope, const float *x, float *y, size_t len)
{
	switch (act) {
	case CN_ACT_IDENTITY:
		if (y != x) memcpy(y, x, len * sizeof(float));
		break;
	case CN_ACT_RELU:
		for (size_t i = 0; i < len; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
		break;
	case CN_ACT_LEAKY_RELU:
		/*
		 * pos + slope*neg rather than x > 0 ? x : slope*x: GCC will not if-convert a ?:
		 * with float arithmetic in one arm (-ftrapping-math); selects against 0 vectorize.
		 */
		for (size_t i = 0; i < len; i++) {
			float pos = x[i] > 0.0f ? x[i] : 0.0f, neg = x[i] > 0.0f ? 0.0f : x[i];
			y[i] = pos + slope * neg;
		}
		break;
	case CN_ACT_SIGMOID:
		for (size_t i = 0; i < len; i++) y[i] = sigmoid(x[i]);
		break;
	case CN_ACT_TANH:
		for (size_t i = 0; i < len; i++) y[i] = tanhf(x[i]);
		break;
	case CN_ACT_COUNT:
		break;
	}
}

/* dx = dy * act'(x), with act' written in terms of y = act(x). */
static void backward_range(enum cn_act act, float slope, const float *y, const float *dy, float *dx,
                           size_t len)
{
	switch (act) {
	case CN_ACT_IDENTITY:
		if (dx != dy) memcpy(dx, dy, len * sizeof(float));
		break;
	case CN_ACT_RELU:
		/* dy is loaded before the select so GCC does not sink the load into a branch */
		for (size_t i = 0; i < len; i++) {
			float d = dy[i];
			dx[i] = y[i] > 0.0f ? d : 0.0f;
		}
		break;
	case CN_ACT_LEAKY_RELU:
		for (size_t i = 0; i < len; i++) {
			float d = dy[i], pos = y[i] > 0.0f ? d : 0.0f, neg = y[i] > 0.0f ? 0.0f : d;
			dx[i] = pos + slope * neg;
		}
		break;
	case CN_ACT_SIGMOID:
		for (size_t i = 0; i < len; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
		break;
	case CN_ACT_TANH:
		for (size_t i = 0; i < len; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
		break;
	case CN_ACT_COUNT:
		break;
	}
}

void cn_act_forward(enum cn_act act, float slope, const float *x, float *y, size_t len)
{
#pragma omp parallel if (len >= CN_PAR_MIN_LEN)
	{
		size_t lo, hi;
		cn_thread_range(len, &lo, &hi);
		forward_range(act, slope, x + lo, y + lo, hi - lo);
	}
}

void cn_act_backward(enum cn_act act, float slope, const float *y, const float *dy, float *dx,
                     size_t len)
{
	if (!dx) return;
#pragma omp parallel if (len >= CN_PAR_MIN_LEN)
	{
		size_t lo, hi;
		cn_thread_range(len, &lo, &hi);
		backward_range(act, slope, y + lo, dy + lo, dx + lo, hi - lo);
	}
}
