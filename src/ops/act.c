/*
 * Element-wise activations over flat arrays of len floats (any layout):
 *   relu y = max(x, 0); leaky y = x > 0 ? x : slope*x; sigmoid y = 1 / (1 + e^-x); tanh.
 * Backward reads y only (relu/leaky: y > 0 iff x > 0 for slope >= 0; sigmoid' = y(1-y);
 * tanh' = 1-y²), so forward may run in place (y == x) and backward too (dx == dy).
 * The switch sits outside the loops so each loop is one tight, branch-free pass that GCC -O3
 * vectorizes. Sigmoid and tanh do not call libm (a scalar call per element was 40% of
 * lenet5's training): they use vexp (vmath.h), a branch-free e^x, and are compiled for AVX-512,
 * AVX2 and baseline x86-64 (target_clones, chosen once at load time). The build is ISO C
 * (-std=c11 implies -ffp-contract=off), so no clone fuses a multiply-add and every clone gives
 * the same bits. Long arrays are split into one contiguous range per OpenMP thread (inside a
 * convolution's threads, this runs serially).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "vmath.h"

/* sigmoid without overflow: e^-|x| is in [0, 1], so neither arm can reach inf or 0/0. */
static inline float sigmoid(float x)
{
	float e = vexp(-fabsf(x));
	float s = 1.0f / (1.0f + e), es = e * s;
	return sel(x >= 0.0f, s, es);
}

/*
 * tanh: near 0 Cephes tanhf's odd polynomial (1 - 2/(e^2x + 1) would cancel there), else
 * 1 - 2/(e^2|x| + 1), which saturates to exactly 1 (e^2|x| = inf past |x| = 44.5). Both arms
 * are computed and one selected, so the loop has no branch; x's sign bit is then put on the
 * result, which also makes tanh(-0) = -0. NaN comes through the second arm.
 */
static inline float vtanh(float x)
{
	float ax = fabsf(x), z = x * x;
	float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
	                1.33314422036e-1f) *
	                   z -
	               3.33332819422e-1f) *
	                  z * ax +
	              ax;
	float big = 1.0f - 2.0f / (vexp(2.0f * ax) + 1.0f);
	return bitsf(fbits(sel(ax < 0.625f, small, big)) | (fbits(x) & 0x80000000u));
}

/* in place (x == y) gets its own loop: restrict would be a lie, and without it GCC's alias
 * check sends x == y to the scalar fallback */
CN_CLONES static void sigmoid_loop(const float *restrict x, float *restrict y, size_t len)
{
	for (size_t i = 0; i < len; i++) y[i] = sigmoid(x[i]);
}

CN_CLONES static void sigmoid_inplace(float *y, size_t len)
{
	for (size_t i = 0; i < len; i++) y[i] = sigmoid(y[i]);
}

CN_CLONES static void tanh_loop(const float *restrict x, float *restrict y, size_t len)
{
	for (size_t i = 0; i < len; i++) y[i] = vtanh(x[i]);
}

CN_CLONES static void tanh_inplace(float *y, size_t len)
{
	for (size_t i = 0; i < len; i++) y[i] = vtanh(y[i]);
}

CN_CLONES static void forward_range(enum cn_act act, float slope, const float *x, float *y,
                                    size_t len)
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
		if (y == x)
			sigmoid_inplace(y, len);
		else
			sigmoid_loop(x, y, len);
		break;
	case CN_ACT_TANH:
		if (y == x)
			tanh_inplace(y, len);
		else
			tanh_loop(x, y, len);
		break;
	case CN_ACT_COUNT:
		break;
	}
}

/* dx = dy * act'(x), with act' written in terms of y = act(x). */
CN_CLONES static void backward_range(enum cn_act act, float slope, const float *y, const float *dy,
                                     float *dx, size_t len)
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
