/*
 * The dense kinds, which flatten their input (NHWC makes that free): linear, y = x·Wᵀ + b, and
 * rbf, a layer of radial basis units whose centers are w [K, D] and log-widths b [K].
 */
#include <math.h>
#include <stdio.h>

#include "error.h"
#include "layer.h"
#include "util.h"
/*
 * Threads for a dense layer (linear, rbf) in a training plan: all the plan has when one
 * forward GEMM at the planned batch holds at least TRAIN_PAR_MIN_MACS multiply-adds, else
 * one, its GEMMs included (the op caps the BLAS: cn_gemm_cap). A split saves at most half a
 * GEMM and wakes the second thread, which sleeps between the regions of a step (the tool's
 * GOMP_SPINCOUNT=300): 6-50 us a wake on these 2-core VMs, more on a busy one. Measured on
 * the Zen 5, batch 100, bench_train training images/s 1 -> 2 threads (both figures of a pair
 * from one run, under the bench lock on the shared machine; optimizer as in optim.c):
 *   rbf (784 -> 64 -> rbf 100 -> 10; largest GEMM 5M), every layer split as before: 427k ->
 *   334k, 359k -> 270k, 411k -> 338k, 421k -> 322k (0.77x); by this rule (all on one
 *   thread): 408k -> 401k, 426k -> 418k (1.0x);
 *   mlp (784 -> 256 -> 10; 20M): 185k -> 223k, 160k -> 200k, 179k -> 224k, 160k -> 245k
 *   (1.2-1.5x); with the 784 -> 256 layer on one thread too, 170k -> 168k, 180k -> 175k.
 * lenet5's and cnn-rbf's dense layers (5M and less) made no difference either way; deep-cnn's
 * 2048 -> 625 (128M) keeps both threads. Inference plans keep all the threads: one GEMM a
 * layer, dense nets split the batch (net_plan.c), and mlp's inference at batch 100 gained
 * (360k -> 445k-520k images/s).
 */
#define TRAIN_PAR_MIN_MACS 10e6

static void dense_plan(struct cn_layer *l, int32_t batch, int32_t pinned, bool train)
{
	(void)pinned;
	double macs = (double)batch * (double)cn_layer_image_len(l->in) * (double)l->d.out;
	if (train && macs < TRAIN_PAR_MIN_MACS) l->threads = 1;
}

/* ---- linear ---- */

static int linear_format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	return snprintf(buf, len, "linear %d%s", d->out, d->bias ? "" : " nobias");
}

static enum cn_status linear_shape(struct cn_layer *l, char *err)
{
	size_t in = cn_layer_image_len(l->in);
	if (in > INT32_MAX || l->d.out <= 0)
		return cn_err_set(err, CN_ERR_SHAPE, "%zu inputs to %d outputs is out of range", in,
		                  l->d.out);
	l->out = (struct cn_shape){.c = l->d.out, .h = 1, .w = 1};
	l->w_len = cn_mul4(in, (size_t)l->d.out, 1, 1);
	l->b_len = l->d.bias ? (size_t)l->d.out : 0;
	return CN_OK;
}

static void linear_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	cn_linear_forward(l->threads, l->x.n, (int32_t)cn_layer_image_len(l->in), l->d.out, l->w,
	                  l->b, l->x.data, l->y.data);
}

static void linear_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	cn_linear_backward(l->threads, l->x.n, (int32_t)cn_layer_image_len(l->in), l->d.out, l->w,
	                   l->x.data, dy, dx, l->dw, l->db);
}

/* every weight meets every output once: 2 FLOPs */
static int64_t linear_flops(const struct cn_layer *l)
{
	return 2 * (int64_t)l->w_len / l->d.out * (int64_t)cn_layer_image_len(l->out);
}

static void linear_init(struct cn_layer *l, struct cn_rng *r, enum cn_init kind, float scale)
{
	cn_layer_init_weights(l, r, kind, scale, (double)l->d.out);
}

/* one row of [OUT, IN] per output */
static struct cn_shape linear_filter(const struct cn_layer *l)
{
	return (struct cn_shape){(int32_t)(l->w_len / (size_t)l->d.out), 1, 1};
}

const struct cn_layer_impl cn_layer_linear = {
    .name = "linear",
    .args = CN_ARGS_COUNT | CN_ARGS_WEIGHTS,
    .format = linear_format,
    .shape = linear_shape,
    .plan = dense_plan,
    .ws_len = cn_layer_no_ws,
    .forward = linear_forward,
    .backward = linear_backward,
    .flops = linear_flops,
    .init = linear_init,
    .filter = linear_filter,
    .takes_init = true,
    .splits_rows = true,
};

/* ---- rbf ---- */

static int rbf_format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	return snprintf(buf, len, "rbf %d %s", d->out,
	                d->rbf == CN_RBF_GAUSSIAN ? "gaussian" : "imq");
}

static enum cn_status rbf_shape(struct cn_layer *l, char *err)
{
	size_t in = cn_layer_image_len(l->in);
	if (in > INT32_MAX || l->d.out <= 0)
		return cn_err_set(err, CN_ERR_SHAPE, "%zu inputs to %d units is out of range", in,
		                  l->d.out);
	l->out = (struct cn_shape){.c = l->d.out, .h = 1, .w = 1};
	l->w_len = cn_mul4(in, (size_t)l->d.out, 1, 1);
	l->b_len = (size_t)l->d.out;
	return CN_OK;
}

static size_t rbf_ws_len(const struct cn_layer *l, bool train)
{
	(void)train;
	return cn_rbf_ws_len(l->d.out);
}

/* training plans: r from forward [N, K], then backward's dL/d‖x−μ‖² [N, K] */
static size_t rbf_cache_len(const struct cn_layer *l, size_t out_len, bool train)
{
	(void)l;
	return train ? cn_mul4(out_len, 2, 1, 1) : 0;
}

static void rbf_forward(struct cn_layer *l, float *ws)
{
	cn_rbf_forward(l->d.rbf, l->threads, l->x.n, (int32_t)cn_layer_image_len(l->in), l->d.out,
	               l->w, l->b, l->x.data, l->y.data, l->cache, ws);
}

static void rbf_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	size_t nk = (size_t)l->x.n * (size_t)l->d.out;
	cn_rbf_backward(l->d.rbf, l->threads, l->x.n, (int32_t)cn_layer_image_len(l->in), l->d.out,
	                l->w, l->b, l->x.data, l->cache, dy, dx, l->dw, l->db, l->cache + nk, ws);
}

/* the GEMM, plus the norms and the kernel */
static int64_t rbf_flops(const struct cn_layer *l)
{
	return 2 * (int64_t)l->w_len + 4 * (int64_t)cn_layer_image_len(l->out);
}

/*
 * RBF units keep their own scheme whatever the initializer (a weight initializer means nothing
 * for centers). They are made for sigmoid features, which a fresh network puts near 0.5 in
 * every dimension: centers uniform in [0.3, 0.7]^D around that point, and one width for all,
 * γ = 75/D = 1/E‖x̄ − μ‖² (the variance of U[0.3, 0.7] is 0.4²/12 per dimension), so r starts
 * near 1 and every unit answers with a usable gradient for x, μ and γ. Measured on MNIST
 * (cnn-rbf, 3 epochs at lr 0.05): centers in [0, 1] with γ = 6/D reached 58% test accuracy,
 * these 92.8% (seed 7: 93.2%); [0.4, 0.6] with γ = 300/D, or [0, 1] with γ = 60/D, did not
 * learn at all (the units saturate).
 */
static void rbf_init(struct cn_layer *l, struct cn_rng *r, enum cn_init kind, float scale)
{
	(void)kind, (void)scale;
	size_t d = l->w_len / (size_t)l->d.out;
	for (size_t i = 0; i < l->w_len; i++) l->w[i] = (float)(0.3 + 0.4 * cn_rng_uniform(r));
	for (size_t j = 0; j < l->b_len; j++) l->b[j] = (float)log(75.0 / (double)d);
}

/* splits: an inference plan gives it no cache, and its ws is its own */
const struct cn_layer_impl cn_layer_rbf = {
    .name = "rbf",
    .args = CN_ARGS_COUNT | CN_ARGS_RBF,
    .format = rbf_format,
    .shape = rbf_shape,
    .plan = dense_plan,
    .ws_len = rbf_ws_len,
    .cache_len = rbf_cache_len,
    .forward = rbf_forward,
    .backward = rbf_backward,
    .flops = rbf_flops,
    .init = rbf_init,
    .splits_rows = true,
};
