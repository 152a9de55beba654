/*
 * The layers a training plan runs together (net_plan.c: plan_fusion), each call standing for
 * the layers' own forward or backward in the step: batch norm with the 2x2 max pool after it
 * (ops/batchnorm_pool.c), and in the backward also the convolution before them, which then
 * takes their input gradient a chunk of images at a time while it is in cache, instead of a
 * whole tensor written and read back (7.4 MB at mnist-fast's first layer, batch 200).
 */
#include "layer.h"
#include "util.h"

void cn_layer_batchnorm_pool_forward(struct cn_layer *bn, struct cn_layer *pool, float *ws)
{
	cn_batchnorm_pool_forward(&pool->g, bn->x.n, bn->train, bn->d.act, bn->d.slope, bn->w,
	                          bn->b, bn->x.data, pool->y.data, bn->cache, bn->state, ws);
}

void cn_layer_batchnorm_pool_backward(struct cn_layer *bn, const struct cn_layer *pool,
                                      const float *dy, float *dx, float *ws)
{
	cn_batchnorm_pool_backward(&pool->g, bn->x.n, bn->train, bn->d.act, bn->d.slope, bn->w,
	                           bn->b, bn->cache, bn->x.data, dy, dx, bn->dw, bn->db, ws);
}

size_t cn_layer_conv_fed_ws_len(const struct cn_layer *conv, const struct cn_layer *bn)
{
	size_t len = cn_layer_conv_fed_ws_at(conv);
	return len == SIZE_MAX || !cn_add_ok(len, cn_batchnorm_ws_len(bn->in.c), &len) ? SIZE_MAX
	                                                                               : len;
}

/* where batch norm's part of the workspace starts: after the conv's, 16-float aligned (it
   holds doubles) */
size_t cn_layer_conv_fed_ws_at(const struct cn_layer *conv)
{
	size_t len = cn_conv2d_ws_len_fed(&conv->g, conv->d.out, &conv->conv_back);
	return len >= SIZE_MAX - 16 ? SIZE_MAX : (len + 15) / 16 * 16;
}

/* What the conv's threads need to make their chunks of dy. */
struct feed {
	const struct cn_layer *bn, *pool;
	const float *dy; /* the pool output's gradient */
	const float *ws; /* batch norm's sums, from cn_batchnorm_pool_backward_sums */
};

static void feed_chunk(const void *ctx, int32_t first, int32_t count, float *dy)
{
	const struct feed *f = ctx;
	cn_batchnorm_pool_backward_dx(&f->pool->g, first, count, f->bn->d.act, f->bn->d.slope,
	                              f->bn->b, f->bn->cache, f->bn->x.data, f->dy, dy, f->ws);
}

void cn_layer_conv_batchnorm_pool_backward(struct cn_layer *conv, struct cn_layer *bn,
                                           const struct cn_layer *pool, const float *dy, float *dx,
                                           float *ws)
{
	float *bn_ws = ws + cn_layer_conv_fed_ws_at(conv);
	cn_batchnorm_pool_backward_sums(&pool->g, bn->x.n, bn->train, bn->d.act, bn->d.slope, bn->w,
	                                bn->b, bn->cache, bn->x.data, dy, bn->dw, bn->db, bn_ws);
	struct feed f = {.bn = bn, .pool = pool, .dy = dy, .ws = bn_ws};
	struct cn_conv2d_dy_source src = {.fill = feed_chunk, .ctx = &f};
	struct cn_tensor tdx = conv->x;
	tdx.data = dx;
	cn_conv2d_backward_fed(&conv->g, conv->d.out, &conv->conv_back, conv->w, &conv->x, &src,
	                       dx ? &tdx : NULL, conv->dw, conv->db, ws);
}
