/*
 * The element-wise kinds: an activation on its own and flatten (the op is the identity: the
 * activation, if any, is applied by the network after it), dropout, and batch normalization
 * over rows of C channels (N*H*W of them).
 */
#include <stdio.h>

#include "layer.h"

/* ---- activation and flatten ---- */

static int act_format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	return snprintf(buf, len, "%s", cn_act_name(d->act));
}

static enum cn_status same_shape(struct cn_layer *l, char *err)
{
	(void)err;
	l->out = l->in;
	return CN_OK;
}

static enum cn_status flatten_shape(struct cn_layer *l, char *err)
{
	(void)err;
	l->out = (struct cn_shape){.c = (int32_t)cn_layer_image_len(l->in), .h = 1, .w = 1};
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

/* the spec writes it as an activation's name (spec.c), not as "act" */
const struct cn_layer_impl cn_layer_act = {
    .name = "act",
    .format = act_format,
    .shape = same_shape,
    .ws_len = cn_layer_no_ws,
    .forward = copy_forward,
    .backward = copy_backward,
    .splits_rows = true,
};

const struct cn_layer_impl cn_layer_flatten = {
    .name = "flatten",
    .shape = flatten_shape,
    .ws_len = cn_layer_no_ws,
    .forward = copy_forward,
    .backward = copy_backward,
    .splits_rows = true,
};

/* ---- dropout: its mask drawn from the net's generator ---- */

static int dropout_format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	return snprintf(buf, len, "dropout %g", (double)d->rate);
}

/* the mask [N, out]: only a training plan draws one */
static size_t dropout_cache_len(const struct cn_layer *l, size_t out_len, bool train)
{
	(void)l;
	return train ? out_len : 0;
}

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

const struct cn_layer_impl cn_layer_dropout = {
    .name = "dropout",
    .args = CN_ARGS_RATE,
    .format = dropout_format,
    .shape = same_shape,
    .ws_len = cn_layer_no_ws,
    .cache_len = dropout_cache_len,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .splits_rows = true,
    .uses_rng = true,
};

/* ---- batch normalization: gamma in w, beta in b ---- */

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

/* its statistics [2, C] (the evaluation forward needs them too) */
static size_t batchnorm_cache_len(const struct cn_layer *l, size_t out_len, bool train)
{
	(void)out_len, (void)train;
	return 2 * (size_t)l->in.c;
}

static size_t rows(const struct cn_layer *l)
{
	return (size_t)l->x.n * (size_t)l->in.h * (size_t)l->in.w;
}

static void batchnorm_forward(struct cn_layer *l, float *ws)
{
	if (l->train)
		cn_batchnorm_forward_train_act(rows(l), l->in.c, l->d.act, l->d.slope, l->w, l->b,
		                               l->x.data, l->y.data, l->cache, l->state, ws);
	else
		cn_batchnorm_forward_eval_act(rows(l), l->in.c, l->d.act, l->d.slope, l->w, l->b,
		                              l->state, l->x.data, l->y.data, l->cache, ws);
}

static void batchnorm_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	/* fuses_act_backward: dy is the network's scratch gradient buffer, which it may overwrite */
	cn_batchnorm_backward_act(rows(l), l->in.c, l->train, l->d.act, l->d.slope, l->w, l->b,
	                          l->cache, l->x.data, l->y.data, (float *)dy, dx, l->dw, l->db,
	                          ws);
}

/* a multiply-add per element, then the activation */
static int64_t batchnorm_flops(const struct cn_layer *l)
{
	int64_t out = (int64_t)cn_layer_image_len(l->out);
	return 2 * out + (l->d.act == CN_ACT_IDENTITY ? 0 : out);
}

/* the identity map (gamma 1, beta 0) and fresh statistics (mean 0, variance 1), whatever the
   initializer */
static void batchnorm_init(struct cn_layer *l, struct cn_rng *r, enum cn_init kind, float scale)
{
	(void)r, (void)kind, (void)scale;
	for (size_t j = 0; j < l->w_len; j++) l->w[j] = 1.0f, l->b[j] = 0.0f;
	for (size_t j = 0; j < l->state_len; j++) l->state[j] = j < l->state_len / 2 ? 0.0f : 1.0f;
}

/* does not split: its evaluation forward writes the shared scale and shift to its cache */
const struct cn_layer_impl cn_layer_batchnorm = {
    .name = "batchnorm",
    .shape = batchnorm_shape,
    .ws_len = batchnorm_ws_len,
    .cache_len = batchnorm_cache_len,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .flops = batchnorm_flops,
    .init = batchnorm_init,
    .fuses_act = true,
    .fuses_act_backward = true,
};
