/*
 * The convolution kind: shape, plan (how many images each GEMM lowers, forward and backward),
 * scratch, forward, backward, FLOPs, initialization and the filters a picture may draw.
 */
#include <stdio.h>

#include "error.h"
#include "layer.h"
#include "util.h"

/* Lowered column matrices up to about this size stay in the cache between im2col and GEMM. */
#define CN_CHUNK_TARGET_BYTES (1u << 20)

/*
 * Backward GEMMs of at most this many multiply-adds run OpenBLAS's small-matrix kernels, which
 * skip packing: on the skinny shapes of few-channel layers (dW [32, 9] summed over 784 rows per
 * image) they ran 2-3x faster than its packed path (see plan_backward).
 */
#define CN_SMALL_GEMM_MACS 1000000.0

static int format(const struct cn_layer_desc *d, char *buf, size_t len)
{
	return snprintf(buf, len, "conv %d k%dx%d s%dx%d p%dx%d%s", d->out, d->kh, d->kw, d->sh,
	                d->sw, d->ph, d->pw, d->bias ? "" : " nobias");
}

static enum cn_status shape(struct cn_layer *l, char *err)
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

/* The largest even split of `batch` into chunks of at most `chunk` images. */
static int32_t even_chunk(int32_t batch, int32_t chunk)
{
	int32_t pieces = (batch + chunk - 1) / chunk;
	return (batch + pieces - 1) / pieces;
}

/*
 * How the forward runs: chunks whose column matrix fits the cache target, at least one per
 * thread, split evenly (no small tail chunk); threads as many as the plan has.
 */
static struct cn_conv2d_plan plan_forward(const struct cn_layer *l, int32_t batch, int32_t pinned)
{
	struct cn_conv2d_plan p = {.threads = l->threads, .act = l->d.act, .slope = l->d.slope};
	size_t per_image =
	    cn_mul4(cn_geom_out_pixels(&l->g), cn_geom_patch_len(&l->g), sizeof(float), 1);
	size_t fit = pinned ? (size_t)pinned : CN_CHUNK_TARGET_BYTES / per_image;
	/* 1x1 kernels lower nothing but follow the same rule */
	int32_t chunk = fit < 1 ? 1 : fit > (size_t)batch ? batch : (int32_t)fit;
	int32_t per_thread = (batch + p.threads - 1) / p.threads;
	if (chunk > per_thread) chunk = per_thread;
	p.chunk = even_chunk(batch, chunk);
	return p;
}

/*
 * The backward: the forward's plan, but with chunks small enough that each GEMM (dW += dYᵀ·col,
 * dcol = dY·W: both chunk*HO*WO x CO x KH*KW*CI) stays within CN_SMALL_GEMM_MACS, when one
 * image does. Measured here, 1 thread, batch 100, backward for dW, db and dx (ms, chunk 1 / 4 /
 * 34 images): 28x28x1 k3 -> 32 0.75 / 0.76 / 1.54 (dW only); 12x12x6 k5 -> 12 0.42 / 0.42 /
 * 0.57; 28x28x1 k5 -> 6 1.03 / 1.02 / 1.38. Layers whose one image is already past the bound
 * (64 channels and up) keep the forward's chunks: there chunking made no difference.
 */
static struct cn_conv2d_plan plan_backward(const struct cn_layer *l, int32_t batch,
                                           struct cn_conv2d_plan fwd, int32_t pinned)
{
	if (pinned) return fwd; /* the caller's choice holds for both */
	double macs = (double)cn_geom_out_pixels(&l->g) * (double)l->d.out *
	              (double)cn_geom_patch_len(&l->g); /* per image */
	int32_t fit = (int32_t)CN_MIN(CN_SMALL_GEMM_MACS / macs, (double)fwd.chunk);
	if (fit >= 1) fwd.chunk = even_chunk(batch, fit);
	return fwd;
}

static void plan(struct cn_layer *l, int32_t batch, int32_t pinned, bool train)
{
	(void)train;
	l->conv = plan_forward(l, batch, pinned);
	l->conv_back = plan_backward(l, batch, l->conv, pinned);
}

static size_t ws_len(const struct cn_layer *l, bool train)
{
	size_t fwd = cn_conv2d_ws_len(&l->g, l->d.out, &l->conv, false);
	return train ? CN_MAX(fwd, cn_conv2d_ws_len(&l->g, l->d.out, &l->conv_back, true)) : fwd;
}

static void forward(struct cn_layer *l, float *ws)
{
	cn_conv2d_forward(&l->g, l->d.out, &l->conv, l->w, l->b, &l->x, &l->y, ws);
}

static void backward(struct cn_layer *l, const float *dy, float *dx, float *ws)
{
	struct cn_tensor tdy = l->y, tdx = l->x;
	tdy.data = (float *)dy;
	tdx.data = dx;
	/* fuses_act_backward: dy is the network's scratch gradient buffer, dy*act'(y) overwrites it */
	cn_conv2d_backward_act(&l->g, l->d.out, &l->conv_back, l->w, &l->x, l->y.data, &tdy,
	                       dx ? &tdx : NULL, l->dw, l->db, ws);
}

/* every weight meets every output pixel once: 2 FLOPs */
static int64_t flops(const struct cn_layer *l)
{
	return 2 * (int64_t)l->w_len / l->d.out * (int64_t)cn_layer_image_len(l->out);
}

static void init(struct cn_layer *l, struct cn_rng *r, enum cn_init kind, float scale)
{
	cn_layer_init_weights(l, r, kind, scale, (double)l->d.out * l->d.kh * l->d.kw);
}

static struct cn_shape filter(const struct cn_layer *l)
{
	return (struct cn_shape){l->in.c, l->d.kh, l->d.kw};
}

const struct cn_layer_impl cn_layer_conv2d = {
    .name = "conv",
    .args = CN_ARGS_COUNT | CN_ARGS_WINDOW | CN_ARGS_KERNEL | CN_ARGS_WEIGHTS,
    .format = format,
    .shape = shape,
    .plan = plan,
    .ws_len = ws_len,
    .forward = forward,
    .backward = backward,
    .flops = flops,
    .init = init,
    .filter = filter,
    .takes_init = true,
    .fuses_act = true,
    .fuses_act_backward = true,
    .chunks = true,
};
