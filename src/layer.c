/*
 * The layer table: how each kind infers its output shape, sizes its scratch, and calls its
 * op. Dispatch is by enum through one const table (no per-instance function pointers).
 */
#include <stdio.h>

#include "error.h"
#include "layer.h"
#include "util.h"

static const char *const act_names[CN_ACT_COUNT] = {
    [CN_ACT_IDENTITY] = "identity", [CN_ACT_RELU] = "relu", [CN_ACT_LEAKY_RELU] = "leaky",
    [CN_ACT_SIGMOID] = "sigmoid",   [CN_ACT_TANH] = "tanh",
};

const char *cn_act_name(enum cn_act act)
{
	return (unsigned)act < CN_ACT_COUNT ? act_names[act] : "?";
}

static size_t image_len(struct cn_shape s) /* SIZE_MAX on overflow */
{
	return cn_mul4((size_t)s.h, (size_t)s.w, (size_t)s.c, 1);
}

/* ---- conv2d ---- */

static enum cn_status conv_shape(struct cn_layer *l, char *err)
{
	const struct cn_layer_desc *d = &l->d;
	enum cn_status st = cn_geom_init(&l->g, l->in.h, l->in.w, l->in.c, d->kh, d->kw, d->sh,
	                                 d->sw, d->ph, d->pw, err);
	if (st) return st;
	l->out = (struct cn_shape){.c = d->out, .h = l->g.ho, .w = l->g.wo};
	l->w_len = cn_mul4((size_t)d->out, cn_geom_patch_len(&l->g), 1, 1);
	l->b_len = d->bias ? (size_t)d->out : 0;
	return CN_OK;
}

static size_t conv_ws_len(const struct cn_layer *l, bool train)
{
	size_t fwd = cn_conv2d_ws_len(&l->g, l->d.out, &l->conv, false);
	return train ? CN_MAX(fwd, cn_conv2d_ws_len(&l->g, l->d.out, &l->conv_back, true)) : fwd;
}

static void conv_forward(struct cn_layer *l, float *ws)
{
	cn_conv2d_forward(&l->g, l->d.out, &l->conv, l->w, l->b, &l->x, &l->y, ws);
}

static void conv_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	struct cn_tensor tdy = l->y, tdx = l->x;
	tdy.data = (float *)dy;
	tdx.data = dx;
	/* fuses_act_backward: dy is the network's scratch gradient buffer, dy*act'(y) overwrites it */
	cn_conv2d_backward_act(&l->g, l->d.out, &l->conv_back, l->w, &l->x, l->y.data, &tdy,
	                       dx ? &tdx : NULL, l->dw, l->db, ws);
}

/* ---- linear (flattens its input: NHWC makes that free) ---- */

static enum cn_status linear_shape(struct cn_layer *l, char *err)
{
	size_t in = image_len(l->in);
	if (in > INT32_MAX || l->d.out <= 0)
		return cn_err_set(err, CN_ERR_SHAPE, "%zu inputs to %d outputs is out of range", in,
		                  l->d.out);
	l->out = (struct cn_shape){.c = l->d.out, .h = 1, .w = 1};
	l->w_len = cn_mul4(in, (size_t)l->d.out, 1, 1);
	l->b_len = l->d.bias ? (size_t)l->d.out : 0;
	return CN_OK;
}

static size_t no_ws(const struct cn_layer *l, bool train)
{
	(void)l, (void)train;
	return 0;
}

static void linear_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	cn_linear_forward(l->x.n, (int32_t)image_len(l->in), l->d.out, l->w, l->b, l->x.data,
	                  l->y.data);
}

static void linear_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	cn_linear_backward(l->x.n, (int32_t)image_len(l->in), l->d.out, l->w, l->x.data, dy, dx,
	                   l->dw, l->db);
}

/* ---- pools ---- */

static enum cn_status pool_shape(struct cn_layer *l, char *err)
{
	const struct cn_layer_desc *d = &l->d;
	enum cn_status st = cn_geom_init(&l->g, l->in.h, l->in.w, l->in.c, d->kh, d->kw, d->sh,
	                                 d->sw, d->ph, d->pw, err);
	if (st) return st;
	l->out = (struct cn_shape){.c = l->in.c, .h = l->g.ho, .w = l->g.wo};
	return CN_OK;
}

static void maxpool_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	cn_maxpool2d_forward(&l->g, &l->x, &l->y, l->argmax);
}

static void maxpool_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	struct cn_tensor tdy = l->y, tdx = l->x;
	tdy.data = (float *)dy;
	tdx.data = dx;
	cn_maxpool2d_backward(&l->g, &tdy, l->argmax, &tdx);
}

static void avgpool_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	cn_avgpool2d_forward(&l->g, &l->x, &l->y);
}

static void avgpool_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	struct cn_tensor tdy = l->y, tdx = l->x;
	tdy.data = (float *)dy;
	tdx.data = dx;
	cn_avgpool2d_backward(&l->g, &tdy, &tdx);
}

/* ---- L^p pooling: backward recomputes y from x, so an activation may overwrite y ---- */

static void lppool_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	cn_lppool2d_forward(&l->g, l->d.p, &l->x, &l->y);
}

static void lppool_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	struct cn_tensor tdy = l->y, tdx = l->x;
	tdy.data = (float *)dy;
	tdx.data = dx;
	cn_lppool2d_backward(&l->g, l->d.p, &l->x, &tdy, &tdx);
}

/* ---- rbf (flattens its input): centers are w [K, D], log-widths are b [K] ---- */

static enum cn_status rbf_shape(struct cn_layer *l, char *err)
{
	size_t in = image_len(l->in);
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

static void rbf_forward(struct cn_layer *l, float *ws)
{
	cn_rbf_forward(l->d.rbf, l->x.n, (int32_t)image_len(l->in), l->d.out, l->w, l->b, l->x.data,
	               l->y.data, l->cache, ws);
}

static void rbf_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	size_t nk = (size_t)l->x.n * (size_t)l->d.out;
	cn_rbf_backward(l->d.rbf, l->x.n, (int32_t)image_len(l->in), l->d.out, l->w, l->b,
	                l->x.data, l->cache, dy, dx, l->dw, l->db, l->cache + nk, ws);
}

/* ---- activation and flatten: the op is the identity ---- */

static enum cn_status same_shape(struct cn_layer *l, char *err)
{
	(void)err;
	l->out = l->in;
	return CN_OK;
}

static enum cn_status flatten_shape(struct cn_layer *l, char *err)
{
	(void)err;
	l->out = (struct cn_shape){.c = (int32_t)image_len(l->in), .h = 1, .w = 1};
	return CN_OK;
}

static void copy_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	size_t len = cn_tensor_len(&l->x);
	for (size_t i = 0; i < len; i++) l->y.data[i] = l->x.data[i];
}

static void copy_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	if (!dx) return;
	size_t len = cn_tensor_len(&l->x);
	for (size_t i = 0; i < len; i++) dx[i] = dy[i];
}

/* ---- dropout: element-wise, its mask drawn from the net's generator ---- */

static void dropout_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	if (l->train)
		cn_dropout_forward(cn_tensor_len(&l->x), l->d.rate, l->rng, l->x.data, l->y.data,
		                   l->cache);
	else
		copy_forward(l, ws);
}

static void dropout_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	if (!l->train) {
		copy_backward(l, dy, dx, ws);
		return;
	}
	if (dx) cn_dropout_backward(cn_tensor_len(&l->x), l->cache, dy, dx);
}

/* ---- batch normalization: rows of C channels, N*H*W of them ---- */

static enum cn_status batchnorm_shape(struct cn_layer *l, char *err)
{
	(void)err;
	l->out = l->in;
	l->w_len = l->b_len = (size_t)l->in.c;
	l->state_len = 2 * (size_t)l->in.c;
	return CN_OK;
}

static size_t batchnorm_ws_len(const struct cn_layer *l, bool train)
{
	return train ? cn_batchnorm_ws_len(l->in.c) : cn_batchnorm_eval_ws_len(l->in.c);
}

static size_t rows(const struct cn_layer *l)
{
	return (size_t)l->x.n * (size_t)l->in.h * (size_t)l->in.w;
}

static void batchnorm_forward(struct cn_layer *l, float *ws)
{
	if (l->train)
		cn_batchnorm_forward_train(rows(l), l->in.c, l->w, l->b, l->x.data, l->y.data,
		                           l->cache, l->state, ws);
	else
		cn_batchnorm_forward_eval(rows(l), l->in.c, l->w, l->b, l->state, l->x.data,
		                          l->y.data, l->cache, ws);
}

static void batchnorm_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	cn_batchnorm_backward(rows(l), l->in.c, l->train, l->w, l->cache, l->x.data, dy, dx, l->dw,
	                      l->db, ws);
}

const struct cn_layer_impl cn_layer_impls[CN_LAYER_COUNT] = {
    [CN_LAYER_CONV2D] = {"conv", conv_shape, conv_ws_len, conv_forward, conv_backward,
                         .fuses_act = true, .fuses_act_backward = true},
    [CN_LAYER_LINEAR] = {"linear", linear_shape, no_ws, linear_forward, linear_backward,
                         .splits_rows = true},
    [CN_LAYER_MAXPOOL2D] = {"maxpool", pool_shape, no_ws, maxpool_forward, maxpool_backward},
    [CN_LAYER_AVGPOOL2D] = {"avgpool", pool_shape, no_ws, avgpool_forward, avgpool_backward},
    [CN_LAYER_ACT] = {"act", same_shape, no_ws, copy_forward, copy_backward, .splits_rows = true},
    [CN_LAYER_FLATTEN] = {"flatten", flatten_shape, no_ws, copy_forward, copy_backward,
                          .splits_rows = true},
    /* splits: an inference plan gives it no cache, and its ws is its own */
    [CN_LAYER_RBF] = {"rbf", rbf_shape, rbf_ws_len, rbf_forward, rbf_backward, .splits_rows = true},
    [CN_LAYER_LPPOOL2D] = {"lppool", pool_shape, no_ws, lppool_forward, lppool_backward},
    [CN_LAYER_DROPOUT] = {"dropout", same_shape, no_ws, dropout_forward, dropout_backward,
                          .splits_rows = true, .uses_rng = true},
    /* does not split: its evaluation forward writes the shared scale and shift to its cache */
    [CN_LAYER_BATCHNORM] = {"batchnorm", batchnorm_shape, batchnorm_ws_len, batchnorm_forward,
                            batchnorm_backward},
};

void cn_layer_format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	int k = 0;
	switch (d->kind) {
	case CN_LAYER_CONV2D:
		k = snprintf(buf, len, "conv %d k%dx%d s%dx%d p%dx%d%s", d->out, d->kh, d->kw,
		             d->sh, d->sw, d->ph, d->pw, d->bias ? "" : " nobias");
		break;
	case CN_LAYER_LINEAR:
		k = snprintf(buf, len, "linear %d%s", d->out, d->bias ? "" : " nobias");
		break;
	case CN_LAYER_MAXPOOL2D:
	case CN_LAYER_AVGPOOL2D:
		k = snprintf(buf, len, "%s k%dx%d s%dx%d p%dx%d", cn_layer_impls[d->kind].name,
		             d->kh, d->kw, d->sh, d->sw, d->ph, d->pw);
		break;
	case CN_LAYER_LPPOOL2D:
		k = snprintf(buf, len, "lppool k%dx%d s%dx%d p%dx%d p=%g", d->kh, d->kw, d->sh,
		             d->sw, d->ph, d->pw, (double)d->p);
		break;
	case CN_LAYER_RBF:
		k = snprintf(buf, len, "rbf %d %s", d->out,
		             d->rbf == CN_RBF_GAUSSIAN ? "gaussian" : "imq");
		break;
	case CN_LAYER_ACT:
		k = snprintf(buf, len, "%s", cn_act_name(d->act));
		break;
	case CN_LAYER_DROPOUT:
		k = snprintf(buf, len, "dropout %g", (double)d->rate);
		break;
	default:
		k = snprintf(buf, len, "%s", cn_layer_impls[d->kind].name);
		break;
	}
	if (k < 0 || (size_t)k >= len || d->act == CN_ACT_IDENTITY || d->kind == CN_LAYER_ACT)
		return;
	if (d->act == CN_ACT_LEAKY_RELU)
		snprintf(buf + k, len - (size_t)k, " leaky=%g", (double)d->slope);
	else
		snprintf(buf + k, len - (size_t)k, " %s", cn_act_name(d->act));
}
