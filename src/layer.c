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
	return cn_conv2d_ws_len(&l->g, l->d.out, &l->conv, train);
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
	cn_conv2d_backward_act(&l->g, l->d.out, &l->conv, l->w, &l->x, l->y.data, &tdy,
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

const struct cn_layer_impl cn_layer_impls[CN_LAYER_COUNT] = {
    [CN_LAYER_CONV2D] = {"conv", conv_shape, conv_ws_len, conv_forward, conv_backward, true, true},
    [CN_LAYER_LINEAR] = {"linear", linear_shape, no_ws, linear_forward, linear_backward, false},
    [CN_LAYER_MAXPOOL2D] = {"maxpool", pool_shape, no_ws, maxpool_forward, maxpool_backward, false},
    [CN_LAYER_AVGPOOL2D] = {"avgpool", pool_shape, no_ws, avgpool_forward, avgpool_backward, false},
    [CN_LAYER_ACT] = {"act", same_shape, no_ws, copy_forward, copy_backward, false},
    [CN_LAYER_FLATTEN] = {"flatten", flatten_shape, no_ws, copy_forward, copy_backward, false},
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
	case CN_LAYER_ACT:
		k = snprintf(buf, len, "%s", cn_act_name(d->act));
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
