/*
 * What batch norm's two files share (batchnorm.c, and batchnorm_pool.c, which fuses a 2x2 max
 * pool after it): the float expressions both must evaluate identically, and the statistics
 * half of the training forward.
 */
#ifndef CN_OPS_BN_SHARED_H
#define CN_OPS_BN_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "vmath.h"

/* Whether the fused passes handle act themselves (else it gets a pass of its own). */
static inline bool cn_bn_fusable(enum cn_act act)
{
	return act == CN_ACT_IDENTITY || act == CN_ACT_RELU || act == CN_ACT_LEAKY_RELU;
}

/* The normalized, shifted value before the activation: forward's and backward's one formula
   (ISO C: no fused multiply-add, so both give the same bits). */
static inline float cn_bn_pre_act(float x, float mean, float scale, float beta)
{
	return (x - mean) * scale + beta;
}

/* act(t) for a fusable act, as act.c computes it */
static inline __attribute__((always_inline)) float cn_bn_act(enum cn_act act, float slope, float t)
{
	if (act == CN_ACT_IDENTITY) return t;
	float pos = t > 0.0f ? t : 0.0f;
	if (act == CN_ACT_RELU) return pos;
	float neg = t > 0.0f ? 0.0f : t;
	return pos + slope * neg;
}

/* dy with act's derivative applied, act fusable: t = the value before it. act.c's values
   exactly; selects by masks (vmath.h), which vectorize where ?: on a computed t did not (the
   backward ran scalar, 9x slower) */
static inline __attribute__((always_inline)) float cn_bn_undo_act(enum cn_act act, float slope,
                                                                  float t, float dy)
{
	if (act == CN_ACT_IDENTITY) return dy;
	float pos = sel(t > 0.0f, dy, 0.0f);
	if (act == CN_ACT_RELU) return pos;
	float neg = sel(t > 0.0f, 0.0f, dy);
	return pos + slope * neg;
}

/*
 * The training forward's statistics: the batch's mean and 1/sqrt(var + eps) into saved [2, C],
 * the running ones updated (ops.h: cn_batchnorm_forward_train), and scale [C] = gamma istd in
 * float, which every pass that recomputes a pre-activation uses. ws: (2 CN_BN_CHUNKS + 2) C
 * doubles (the head of cn_batchnorm_ws_len(c) floats; scale may be its tail).
 */
void cn_bn_train_stats(size_t m, int32_t c, const float *gamma, const float *x, float *saved,
                       float *run, float *scale, float *ws);

/* The same from the running statistics run [2, C], for an evaluation forward. */
void cn_bn_eval_stats(int32_t c, const float *gamma, const float *run, float *saved, float *scale);

#endif
