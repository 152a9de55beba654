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
#include "../rng.h"
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
 * multiplied one at a time; with threads > 1 each of that many OpenMP threads takes an even
 * share of the images, in chunks of at most `chunk`, with its own slice of the workspace and
 * one-threaded GEMMs (inside a parallel region the OpenMP OpenBLAS runs single-threaded), so
 * im2col, col2im, bias and the activation run in parallel too. The assignment of images to threads is static: results are
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
 * _fed: cn_conv2d_backward_fed's, the backward's and a chunk of dy [CHUNK*HO*WO, CO] a thread.
 */
size_t cn_conv2d_ws_len(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                        bool backward);
size_t cn_conv2d_ws_len_fed(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p);

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

/*
 * A backward's dy made a chunk at a time by the layer after, while the chunk is in cache:
 * fill writes dy of images [first, first + count) into dy [count, HO, WO, CO]. It runs on
 * the thread that then uses the chunk, several threads at once.
 */
struct cn_conv2d_dy_source {
	void (*fill)(const void *ctx, int32_t first, int32_t count, float *dy);
	const void *ctx;
};

/* cn_conv2d_backward with dy from src (p->act must be the identity): the same bits as that
   call on the dy src makes, without the whole tensor ever written. ws: cn_conv2d_ws_len_fed. */
void cn_conv2d_backward_fed(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                            const float *w, const struct cn_tensor *x,
                            const struct cn_conv2d_dy_source *src, struct cn_tensor *dx, float *dw,
                            float *db, float *ws);

/* ---- conv2d_direct.c: one-channel convolutions without the lowering (conv2d.c calls them) ---- */

/*
 * Whether the direct kernels take a one-channel layer's chunk of `rows` output pixels: exactly
 * where the lowered path's GEMM would run gemm_small's tt_small (forward) or tn_small
 * (backward, dW), whose bits they reproduce.
 */
bool cn_conv2d_direct_fits(const struct cn_geom *g, int32_t co, size_t rows, bool backward);

/* y [N, HO, WO, CO] = conv(x [N, HI, WI, 1], w [CO, KH, KW]) + b (b may be NULL); vectors of at
   most max_width floats (16, 8, 4: the tests run every width; the library 16) */
void cn_conv2d_direct_forward(int max_width, const struct cn_geom *g, int32_t co, int32_t n,
                              const float *x, const float *w, const float *b, float *y);

/* dw [CO, KH, KW] += Σ over the n images' output pixels, in order, of dy[pixel]ᵀ·patch */
void cn_conv2d_direct_dw(int max_width, const struct cn_geom *g, int32_t co, int32_t n,
                         const float *x, const float *dy, float *dw);

/*
 * ---- linear.c: y[n, out] = x[n, in] · Wᵀ + b ----
 * threads (>= 1, the plan's choice): how many threads the op may use; with 1 it opens no
 * parallel region and runs its GEMMs on the caller alone (cn_gemm_cap), with more it shares
 * its work among them or lets the BLAS do so. A given thread count always gives the same bits.
 */

void cn_linear_forward(int threads, int32_t n, int32_t in, int32_t out, const float *w,
                       const float *b, const float *x, float *y);

/* dw += dyᵀ·x, db += column sums of dy (b may be NULL), dx = dy·W (dx may be NULL). */
void cn_linear_backward(int threads, int32_t n, int32_t in, int32_t out, const float *w,
                        const float *x, const float *dy, float *dx, float *dw, float *db);

/* ---- pool_max.c, pool_avg.c: max and average pooling over each channel; g->ci: channels ---- */

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

/*
 * pool_lp.c: L^p pooling (PyTorch's LPPool2d without its sign quirk): y = (Σ_window |x|^p)^(1/p),
 * a sum (not a mean) over the in-image part of the window; padding adds nothing. p >= 1.
 * Computed as m·(Σ (|x|/m)^p)^(1/p) with m the window's max |x|, so large p cannot overflow.
 * A window holding a NaN gives NaN, else one holding an Inf gives Inf.
 */
void cn_lppool2d_forward(const struct cn_geom *g, float p, const struct cn_tensor *x,
                         struct cn_tensor *y);

/*
 * dx = 0, then dx += dy · sign(x)·(|x|/y)^(p-1) over every window (overlaps add up), with y
 * recomputed from x (the layer's y may have been overwritten by its activation). A window
 * whose elements are all zero has y = 0 and passes no gradient (the subgradient 0).
 */
void cn_lppool2d_backward(const struct cn_geom *g, float p, const struct cn_tensor *x,
                          const struct cn_tensor *dy, struct cn_tensor *dx);

/* y = act(x); y == x is allowed. slope is read only by leaky relu. */
void cn_act_forward(enum cn_act act, float slope, const float *x, float *y, size_t len);

/* dx = dy * act'(x), computed from y; dx == dy is allowed. */
void cn_act_backward(enum cn_act act, float slope, const float *y, const float *dy, float *dx,
                     size_t len);

/*
 * ---- rbf.c: radial basis units. x [N, D], centers mu [K, D], lg [K] = log γ (γ = exp(lg)
 * stays positive whatever the optimizer does), r [N, K] = γ_k·‖x_n − μ_k‖², y = f(r) with
 * f(r) = exp(−r) (Gaussian) or 1/√(1 + r) (inverse multiquadric). ‖x − μ‖² is computed as
 * ‖x‖² − 2x·μᵀ + ‖μ‖² (one GEMM), clamped at 0 against rounding; a pair whose distance is
 * under 1/128 of ‖x‖² + ‖μ‖², where that form's rounding would dominate, is computed from the
 * differences instead (backward: under 1/4096; see rbf.c).
 */
enum cn_rbf_kind { CN_RBF_GAUSSIAN, CN_RBF_IMQ, CN_RBF_COUNT };

/* Floats of workspace forward and backward need: [3K]. */
size_t cn_rbf_ws_len(int32_t k);

/* y [N, K] = f(r); r [N, K] receives r for backward (may be NULL: inference). threads as
   for linear. */
void cn_rbf_forward(enum cn_rbf_kind kind, int threads, int32_t n, int32_t d, int32_t k,
                    const float *mu, const float *lg, const float *x, float *y, float *r,
                    float *ws);

/*
 * With e = dy·f'(r)·γ (dL/d‖x−μ‖², stored in e [N, K], scratch):
 *   dlg[k] += Σ_n dy·f'(r)·r,  dmu += 2(diag(Σ_n e)·μ − eᵀ·x),  dx = 2(diag(Σ_k e)·x − e·μ).
 * dmu and dlg accumulate; dx is overwritten (may be NULL). x, μ and lg as forward had them.
 */
void cn_rbf_backward(enum cn_rbf_kind kind, int threads, int32_t n, int32_t d, int32_t k,
                     const float *mu, const float *lg, const float *x, const float *r,
                     const float *dy, float *dx, float *dmu, float *dlg, float *e, float *ws);

/* ---- loss.c ---- */

/*
 * Softmax + cross-entropy, fused and stable (max-subtracted log-sum-exp). logits [N, K],
 * labels[i] in [0, K) (checked by the caller), prob [N, K] receives the softmax.
 * Returns the mean over the batch of -log p[label].
 */
float cn_softmax_xent_forward(int32_t n, int32_t k, const float *logits, const int32_t *labels,
                              float *prob);

/*
 * Softmax of one row of logits [K] into prob [K] (may be logits), max-subtracted as above;
 * returns the index of the largest logit (the first of equals), which is also the most probable
 * class. The one argmax of the library (training accuracy, cn_net_predict).
 */
int32_t cn_softmax_argmax(int32_t k, const float *logits, float *prob);

/* Index of the largest of v [K] (the first of equals). */
int32_t cn_argmax(int32_t k, const float *v);

/* dlogits = (prob - onehot(labels)) / n. */
void cn_softmax_xent_backward(int32_t n, int32_t k, const float *prob, const int32_t *labels,
                              float *dlogits);

/*
 * Label smoothing eps in [0, 1): as cn_softmax_xent_forward against the target
 * q = (1 - eps) onehot(label) + eps/K; backward gives (prob - q) / n.
 */
float cn_softmax_xent_smooth_forward(int32_t n, int32_t k, const float *logits,
                                     const int32_t *labels, float eps, float *prob);
void cn_softmax_xent_smooth_backward(int32_t n, int32_t k, const float *prob, const int32_t *labels,
                                     float eps, float *dlogits);

/* Mean squared error over all len elements: mean((y - t)^2). */
float cn_mse_forward(size_t len, const float *y, const float *t);

/* dy = 2 (y - t) / len. */
void cn_mse_backward(size_t len, const float *y, const float *t, float *dy);

/* ---- dropout.c: inverted dropout, element-wise over any layout ---- */

/*
 * Training: element i is kept when the i-th uniform draw from rng (cn_rng_uniform, in order)
 * is >= p; mask[i] = kept ? 1/(1-p) : 0 and y = x * mask, so the expected output is x and
 * evaluation is the identity. p in [0, 1). mask [len] is what backward reads.
 */
void cn_dropout_forward(size_t len, float p, struct cn_rng *rng, const float *x, float *y,
                        float *mask);

/* dx = dy * mask (the mask of the forward; never redrawn). dx == dy is allowed. */
void cn_dropout_backward(size_t len, const float *mask, const float *dy, float *dx);

/* ---- batchnorm.c: batch normalization per channel of NHWC rows ---- */

#define CN_BN_MOMENTUM 0.1f  /* running = (1 - m) running + m batch (PyTorch's convention) */
#define CN_BN_EPS      1e-5f /* added to the variance */
#define CN_BN_CHUNKS   16    /* fixed row blocks of the sums: their order ignores thread count */

/*
 * x [M, C] is M rows of C channels: M = N*H*W after a convolution (statistics per channel
 * over N, H, W), M = N after a linear layer (per feature). run [2, C] holds the running mean
 * then the running variance; saved [2, C] receives the statistics backward needs: the mean
 * then 1/sqrt(var + eps). Both forwards write all of y.
 *
 * Training: mean and biased variance of the batch; y = gamma (x - mean) / sqrt(var + eps) +
 * beta; run mean += momentum (mean - run mean), run var += momentum (var * M/(M-1) - run var)
 * (the unbiased variance, as PyTorch). With M = 1 the variance is 0, y = beta, and the running
 * variance is left as it was (one value has no unbiased variance). A channel whose batch
 * statistics are NaN or Inf leaves its running ones untouched (a skipped step stays skipped).
 * ws: cn_batchnorm_ws_len(c).
 */
void cn_batchnorm_forward_train(size_t m, int32_t c, const float *gamma, const float *beta,
                                const float *x, float *y, float *saved, float *run, float *ws);

/* Evaluation: the same affine map with the running statistics, which saved receives.
   ws: cn_batchnorm_eval_ws_len(c). */
void cn_batchnorm_forward_eval(size_t m, int32_t c, const float *gamma, const float *beta,
                               const float *run, const float *x, float *y, float *saved, float *ws);

/*
 * With xhat = (x - mean) * istd from saved: dgamma += Σ_rows dy xhat, dbeta += Σ_rows dy;
 * dx (overwritten; may be NULL) is, for batch statistics (batch true),
 *   dx = gamma istd (dy - Σdy/M - xhat Σ(dy xhat)/M),
 * and for running statistics (a forward in evaluation mode) dx = gamma istd dy.
 */
void cn_batchnorm_backward(size_t m, int32_t c, bool batch, const float *gamma, const float *saved,
                           const float *x, const float *dy, float *dx, float *dgamma, float *dbeta,
                           float *ws);

/*
 * The same three with the layer's activation act (slope: leaky relu's) fused: forward writes
 * y = act(batch norm of x); backward takes dy, the gradient of act's output, and undoes act
 * itself (relu and leaky relu recomputed from x, the others from y, their output), and may
 * overwrite dy. beta is the forward's. The plain calls are these with CN_ACT_IDENTITY.
 */
void cn_batchnorm_forward_train_act(size_t m, int32_t c, enum cn_act act, float slope,
                                    const float *gamma, const float *beta, const float *x, float *y,
                                    float *saved, float *run, float *ws);
void cn_batchnorm_forward_eval_act(size_t m, int32_t c, enum cn_act act, float slope,
                                   const float *gamma, const float *beta, const float *run,
                                   const float *x, float *y, float *saved, float *ws);
void cn_batchnorm_backward_act(size_t m, int32_t c, bool batch, enum cn_act act, float slope,
                               const float *gamma, const float *beta, const float *saved,
                               const float *x, const float *y, float *dy, float *dx, float *dgamma,
                               float *dbeta, float *ws);

/* Floats of workspace the training passes need: per row block and channel two double partial
   sums, per channel two doubles and three floats (5 floats, rounded up to keep it even). */
static inline size_t cn_batchnorm_ws_len(int32_t c)
{
	return (4 * CN_BN_CHUNKS + 6) * (size_t)c;
}

/* Floats of workspace the evaluation forward alone needs: the per-channel scale. */
static inline size_t cn_batchnorm_eval_ws_len(int32_t c)
{
	return (size_t)c;
}

/* ---- batchnorm_pool.c: batch norm and its activation, then a 2x2 stride-2 max pool ---- */

/*
 * Whether one op can run batch norm with act followed by a max pool of geometry g (g->ci the
 * channels): a 2x2 stride-2 unpadded window over an even height and width (so the windows
 * tile the image), and act identity, relu or leaky relu.
 */
bool cn_batchnorm_pool_fits(const struct cn_geom *g, enum cn_act act);

/*
 * x [N, HI, WI, C] -> y [N, HO, WO, C] = maxpool(act(batch norm of x)), as the two ops would
 * give it bit for bit, without writing the normalised tensor. train: the batch's statistics
 * (run updated as cn_batchnorm_forward_train does); else the running ones in run. saved [2, C]
 * receives the statistics used. ws: cn_batchnorm_ws_len(C).
 */
void cn_batchnorm_pool_forward(const struct cn_geom *g, int32_t n, bool train, enum cn_act act,
                               float slope, const float *gamma, const float *beta, const float *x,
                               float *y, float *saved, float *run, float *ws);

/*
 * The pair's backward from dy [N, HO, WO, C], the pooled output's gradient: dgamma and dbeta
 * accumulate, dx [N, HI, WI, C] (overwritten; may be NULL) as cn_batchnorm_backward_act gives
 * it from the pool's dx, to rounding. batch: the forward used the batch's statistics.
 */
void cn_batchnorm_pool_backward(const struct cn_geom *g, int32_t n, bool batch, enum cn_act act,
                                float slope, const float *gamma, const float *beta,
                                const float *saved, const float *x, const float *dy, float *dx,
                                float *dgamma, float *dbeta, float *ws);

/*
 * The same backward in two halves, for a consumer that takes dx a few images at a time while
 * they are in cache: _sums accumulates dgamma and dbeta and leaves in ws what _dx needs; then
 * _dx writes dx for images [first, first + count) into dx [count, HI, WI, C] (on the calling
 * thread; any number of calls, from any threads, until ws is reused). Bits as the whole call.
 */
void cn_batchnorm_pool_backward_sums(const struct cn_geom *g, int32_t n, bool batch,
                                     enum cn_act act, float slope, const float *gamma,
                                     const float *beta, const float *saved, const float *x,
                                     const float *dy, float *dgamma, float *dbeta, float *ws);
void cn_batchnorm_pool_backward_dx(const struct cn_geom *g, int32_t first, int32_t count,
                                   enum cn_act act, float slope, const float *beta,
                                   const float *saved, const float *x, const float *dy, float *dx,
                                   const float *ws);

#endif
