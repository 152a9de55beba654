/*
 * The dense kinds, which flatten their input (NHWC makes that free): linear, y = x·Wᵀ + b, and
 * rbf, a layer of radial basis units whose centers are w [K, D] and log-widths b [K].
 */
#include <math.h>
#include <stdio.h>

#include "error.h"
#include "layer.h"
#include "util.h"

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
    .ws_len = rbf_ws_len,
    .cache_len = rbf_cache_len,
    .forward = rbf_forward,
    .backward = rbf_backward,
    .flops = rbf_flops,
    .init = rbf_init,
    .splits_rows = true,
};
