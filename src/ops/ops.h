/*
 * Every op's fast path. Contract (see each file's head for the math):
 * - forward writes all of y (never accumulates) and whatever backward needs (argmax);
 * - backward ACCUMULATES parameter gradients (dw += ..., db += ...) and OVERWRITES dx;
 *   dx == NULL means "do not compute it" (the first layer of a network).
 * - Shapes were validated at plan time; ops do arithmetic only and cannot fail.
 * Layouts: activations NHWC; conv weights [CO, KH, KW, CI]; linear weights [OUT, IN].
 */
#ifndef CN_OPS_H
#define CN_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../geom.h"
#include "../tensor.h"

/* ---- act.c: element-wise activations. Backward reads y, never x, so y may overwrite x. ---- */

enum cn_act {
	CN_ACT_IDENTITY,
	CN_ACT_RELU,
	CN_ACT_LEAKY_RELU, /* y = x > 0 ? x : slope*x, slope in [0, 1) */
	CN_ACT_SIGMOID,
	CN_ACT_TANH,
	CN_ACT_COUNT
};

/* ---- conv2d.c: im2col + GEMM, a planned chunk of images per GEMM ---- */

/*
 * How a convolution runs, decided at plan time. Chunks of `chunk` images are lowered and
 * multiplied one at a time; with threads > 1 the chunks are shared out among that many
 * OpenMP threads, each with its own slice of the workspace and one-threaded GEMMs (inside a
 * parallel region the OpenMP OpenBLAS runs single-threaded), so im2col, col2im, bias and the
 * activation run in parallel too. The assignment of chunks to threads is static: results are
 * reproducible for a given thread count.
 */
struct cn_conv2d_plan {
	int32_t chunk;   /* images per lowering GEMM, >= 1 */
	int32_t threads; /* >= 1 */
	enum cn_act act; /* applied to each chunk's output while it is in cache */
	float slope;     /* leaky relu */
};

/*
 * Floats of workspace for plan p (SIZE_MAX on overflow or a chunk or thread count below 1).
 * Per thread: forward, one column matrix [CHUNK*HO*WO, KH*KW*CI] (none for 1x1 stride-1
 * unpadded kernels, which need no lowering); backward, the same matrix (reused for the column
 * gradient) plus, for every thread but the first, private dw [CO, KH*KW*CI] and db [CO].
 */
size_t cn_conv2d_ws_len(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                        bool backward);

/*
 * y = act(conv(x, w) + b) for x [N, HI, WI, CI], w [CO, KH, KW, CI], b [CO] or NULL,
 * y [N, HO, WO, CO]. ws holds cn_conv2d_ws_len(g, co, p, false) floats.
 */
void cn_conv2d_forward(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                       const float *w, const float *b, const struct cn_tensor *x,
                       struct cn_tensor *y, float *ws);

/*
 * dw += dYᵀ·col, db += column sums of dY (db may be NULL), dx = col2im(dY·W) (dx may be
 * NULL). dy is the gradient after the activation's derivative (p->act is not applied here).
 * ws holds cn_conv2d_ws_len(g, co, p, true) floats.
 */
void cn_conv2d_backward(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                        const float *w, const struct cn_tensor *x, const struct cn_tensor *dy,
                        struct cn_tensor *dx, float *dw, float *db, float *ws);

/*
 * cn_conv2d_backward that first undoes p->act itself, chunk by chunk while the chunk is in
 * cache: dy holds the gradient of the activation's output and is overwritten in place with
 * dy * act'(y), y the forward's output (saves the separate pass of cn_act_backward).
 */
void cn_conv2d_backward_act(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                            const float *w, const struct cn_tensor *x, const float *y,
                            struct cn_tensor *dy, struct cn_tensor *dx, float *dw, float *db,
                            float *ws);

/* ---- linear.c: y[n, out] = x[n, in] · Wᵀ + b ---- */

void cn_linear_forward(int32_t n, int32_t in, int32_t out, const float *w, const float *b,
                       const float *x, float *y);

/* dw += dyᵀ·x, db += column sums of dy (b may be NULL), dx = dy·W (dx may be NULL). */
void cn_linear_backward(int32_t n, int32_t in, int32_t out, const float *w, const float *x,
                        const float *dy, float *dx, float *dw, float *db);

/* ---- pool.c: max and average pooling over each channel; g->ci is the channel count ---- */

/*
 * y = max over each window; padding never wins (it is -inf). argmax [N, HO, WO, C] receives,
 * per output, the offset of the winning element inside its input image ((y*wi + x)*c + ch).
 */
void cn_maxpool2d_forward(const struct cn_geom *g, const struct cn_tensor *x, struct cn_tensor *y,
                          int32_t *argmax);

/* dx = 0, then dx[argmax] += dy (overlapping windows add up). */
void cn_maxpool2d_backward(const struct cn_geom *g, const struct cn_tensor *dy,
                           const int32_t *argmax, struct cn_tensor *dx);

/* y = sum over the window / (kh*kw); padding counts as zeros (PyTorch's default). */
void cn_avgpool2d_forward(const struct cn_geom *g, const struct cn_tensor *x, struct cn_tensor *y);

/* dx = 0, then each dy / (kh*kw) is added to every in-image element of its window. */
void cn_avgpool2d_backward(const struct cn_geom *g, const struct cn_tensor *dy,
                           struct cn_tensor *dx);

/* y = act(x); y == x is allowed. slope is read only by leaky relu. */
void cn_act_forward(enum cn_act act, float slope, const float *x, float *y, size_t len);

/* dx = dy * act'(x), computed from y; dx == dy is allowed. */
void cn_act_backward(enum cn_act act, float slope, const float *y, const float *dy, float *dx,
                     size_t len);

/* ---- loss.c ---- */

/*
 * Softmax + cross-entropy, fused and stable (max-subtracted log-sum-exp). logits [N, K],
 * labels[i] in [0, K) (checked by the caller), prob [N, K] receives the softmax.
 * Returns the mean over the batch of -log p[label].
 */
float cn_softmax_xent_forward(int32_t n, int32_t k, const float *logits, const int32_t *labels,
                              float *prob);

/* dlogits = (prob - onehot(labels)) / n. */
void cn_softmax_xent_backward(int32_t n, int32_t k, const float *prob, const int32_t *labels,
                              float *dlogits);

/* Mean squared error over all len elements: mean((y - t)^2). */
float cn_mse_forward(size_t len, const float *y, const float *t);

/* dy = 2 (y - t) / len. */
void cn_mse_backward(size_t len, const float *y, const float *t, float *dy);

#endif
