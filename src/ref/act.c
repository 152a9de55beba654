/*
 * Reference activations: one element at a time, in double, straight from the definitions
 * (sigmoid y = 1 / (1 + e^-x), split by sign so e^-x never overflows). Backward, like the fast
 * path, uses only y: relu/leaky look at y > 0, sigmoid' = y(1-y), tanh' = 1-y².
 */
#include <math.h>

#include "ref.h"

static double act1(enum cn_act act, double slope, double x)
{
	switch (act) {
	case CN_ACT_IDENTITY:
		return x;
	case CN_ACT_RELU:
		return x > 0 ? x : 0;
	case CN_ACT_LEAKY_RELU:
		return x > 0 ? x : slope * x;
	case CN_ACT_SIGMOID:
		return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
	case CN_ACT_TANH:
		return tanh(x);
	case CN_ACT_COUNT:
		break;
	}
	return x;
}

/* act'(x) expressed through y = act(x) */
static double grad1(enum cn_act act, double slope, double y)
{
	switch (act) {
	case CN_ACT_IDENTITY:
		return 1;
	case CN_ACT_RELU:
		return y > 0 ? 1 : 0;
	case CN_ACT_LEAKY_RELU:
		return y > 0 ? 1 : slope;
	case CN_ACT_SIGMOID:
		return y * (1 - y);
	case CN_ACT_TANH:
		return 1 - y * y;
	case CN_ACT_COUNT:
		break;
	}
	return 1;
}

void cn_act_forward_ref(enum cn_act act, float slope, const float *x, float *y, size_t len)
{
	for (size_t i = 0; i < len; i++) y[i] = (float)act1(act, slope, x[i]);
}

void cn_act_backward_ref(enum cn_act act, float slope, const float *y, const float *dy, float *dx,
                         size_t len)
{
	if (!dx) return;
	for (size_t i = 0; i < len; i++) dx[i] = (float)(dy[i] * grad1(act, slope, y[i]));
}
