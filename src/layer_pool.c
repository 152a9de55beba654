/* The pooling kinds: max, average and L^p, over each channel of a window (ops/pool_*.c). */
#include <stdio.h>

#include "layer.h"

static int pool_format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	return snprintf(buf, len, "%s k%dx%d s%dx%d p%dx%d", cn_layer_impls[d->kind]->name, d->kh,
	                d->kw, d->sh, d->sw, d->ph, d->pw);
}

static enum cn_status pool_shape(struct cn_layer *l, char *err)
{
	const struct cn_layer_desc *d = &l->d;
	enum cn_status st = cn_geom_init(&l->g, l->in.h, l->in.w, l->in.c, d->kh, d->kw, d->sh,
	                                 d->sw, d->ph, d->pw, err);
	if (st) return st;
	l->out = (struct cn_shape){.c = l->in.c, .h = l->g.ho, .w = l->g.wo};
	return CN_OK;
}

/* a compare or add per window element */
static int64_t pool_flops(const struct cn_layer *l)
{
	return (int64_t)cn_layer_image_len(l->out) * l->d.kh * l->d.kw;
}

/* The gradient views of a layer: its output's shape over dy, its input's over dx. */
static void grad_views(const struct cn_layer *l, const float *dy, float *dx, struct cn_tensor *tdy,
                       struct cn_tensor *tdx)
{
	*tdy = l->y;
	*tdx = l->x;
	tdy->data = (float *)dy;
	tdx->data = dx;
}

/* ---- max: backward routes dy to the argmax forward kept ---- */

static void maxpool_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	cn_maxpool2d_forward(&l->g, &l->x, &l->y, l->argmax);
}

static void maxpool_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	struct cn_tensor tdy, tdx;
	grad_views(l, dy, dx, &tdy, &tdx);
	cn_maxpool2d_backward(&l->g, &tdy, l->argmax, &tdx);
}

const struct cn_layer_impl cn_layer_maxpool2d = {
    .name = "maxpool",
    .args = CN_ARGS_WINDOW | CN_ARGS_POOL,
    .format = pool_format,
    .shape = pool_shape,
    .ws_len = cn_layer_no_ws,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .flops = pool_flops,
    .argmax = true,
};

/* ---- average ---- */

static void avgpool_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	cn_avgpool2d_forward(&l->g, &l->x, &l->y);
}

static void avgpool_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	struct cn_tensor tdy, tdx;
	grad_views(l, dy, dx, &tdy, &tdx);
	cn_avgpool2d_backward(&l->g, &tdy, &tdx);
}

const struct cn_layer_impl cn_layer_avgpool2d = {
    .name = "avgpool",
    .args = CN_ARGS_WINDOW | CN_ARGS_POOL,
    .format = pool_format,
    .shape = pool_shape,
    .ws_len = cn_layer_no_ws,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .flops = pool_flops,
};

/* ---- L^p: backward recomputes y from x, so an activation may overwrite y ---- */

static int lppool_format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	return snprintf(buf, len, "lppool k%dx%d s%dx%d p%dx%d p=%g", d->kh, d->kw, d->sh, d->sw,
	                d->ph, d->pw, (double)d->p);
}

static void lppool_forward(struct cn_layer *l, float *ws)
{
	(void)ws;
	cn_lppool2d_forward(&l->g, l->d.p, &l->x, &l->y);
}

static void lppool_backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	(void)ws;
	struct cn_tensor tdy, tdx;
	grad_views(l, dy, dx, &tdy, &tdx);
	cn_lppool2d_backward(&l->g, l->d.p, &l->x, &tdy, &tdx);
}

const struct cn_layer_impl cn_layer_lppool2d = {
    .name = "lppool",
    .args = CN_ARGS_WINDOW | CN_ARGS_POOL | CN_ARGS_NORM,
    .format = lppool_format,
    .shape = pool_shape,
    .ws_len = cn_layer_no_ws,
    .forward = lppool_forward,
    .backward = lppool_backward,
    .flops = pool_flops,
};
