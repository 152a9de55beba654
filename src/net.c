/*
 * The network: layers built from a spec, shapes inferred once at create, parameters and
 * gradients in two flat arrays of identical layout, and a plan that reserves every activation,
 * gradient and scratch buffer for a batch size so forward, loss and backward never allocate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "net.h"
#include "spec.h"
#include "util.h"

/* Lowered column matrices up to about this size stay in the cache between im2col and GEMM. */
#define CN_CHUNK_TARGET_BYTES (1u << 20)

/*
 * Backward GEMMs of at most this many multiply-adds run OpenBLAS's small-matrix kernels, which
 * skip packing: on the skinny shapes of few-channel layers (dW [32, 9] summed over 784 rows per
 * image) they ran 2-3x faster than its packed path (see plan_conv_backward).
 */
#define CN_SMALL_GEMM_MACS 1000000.0

/* H*W*C, SIZE_MAX if it overflows (three factors near 2^31 exceed 64 bits and would wrap) */
static size_t shape_len(struct cn_shape s)
{
	return cn_mul4((size_t)s.h, (size_t)s.w, (size_t)s.c, 1);
}

static enum cn_status build_layers(struct cn_net *net, const struct cn_layer_desc *descs,
                                   int32_t count, char *err)
{
	char what[96];
	struct cn_shape s = net->in;
	size_t n_params = 0, n_state = 0;
	for (int32_t i = 0; i < count; i++) {
		struct cn_layer *l = &net->layers[i];
		/* from zero: a kind's shape function sets only the fields that kind has (a pool
		   leaves w_len alone), and cn_net_count_params passes uninitialized stack */
		*l = (struct cn_layer){.d = descs[i], .in = s};
		char msg[CN_ERR_LEN];
		enum cn_status st = cn_layer_impls[l->d.kind].shape(l, msg);
		if (st) {
			cn_layer_format(&l->d, what, sizeof(what));
			return cn_err_set(err, st, "layer %d (%s) on input %dx%dx%d: %s", i + 1,
			                  what, s.h, s.w, s.c, msg);
		}
		if (!cn_add_ok(n_params, l->w_len, &n_params) ||
		    !cn_add_ok(n_params, l->b_len, &n_params) || l->w_len == SIZE_MAX)
			return cn_err_set(err, CN_ERR_NOMEM, "layer %d: parameter count overflows",
			                  i + 1);
		n_state += l->state_len; /* twice the layer's parameters: cannot overflow here */
		s = l->out;
	}
	net->n_params = n_params;
	net->n_state = n_state;
	return CN_OK;
}

enum cn_status cn_net_count_params(const char *spec, struct cn_shape in, size_t *n, char *err)
{
	if (in.c <= 0 || in.h <= 0 || in.w <= 0 || shape_len(in) > INT32_MAX)
		return cn_err_set(err, CN_ERR_SHAPE, "input shape %dx%dx%d (HxWxC) is invalid",
		                  in.h, in.w, in.c);
	struct cn_layer_desc descs[CN_SPEC_MAX_LAYERS];
	struct cn_layer layers[CN_SPEC_MAX_LAYERS];
	struct cn_net shell = {.in = in, .layers = layers};
	enum cn_status st = cn_spec_parse(spec, descs, &shell.n_layers, err);
	if (!st) st = build_layers(&shell, descs, shell.n_layers, err);
	if (!st) *n = shell.n_params;
	return st;
}

/* Layers of spec on in, and a generator seeded from seed; no parameters yet. */
static enum cn_status build(struct cn_net **out, const char *spec, struct cn_shape in,
                            uint64_t seed, char *err)
{
	*out = NULL;
	if (!spec) return cn_err_set(err, CN_ERR_ARG, "cn_net_create: spec is NULL");
	if (in.c <= 0 || in.h <= 0 || in.w <= 0 || shape_len(in) > INT32_MAX)
		return cn_err_set(err, CN_ERR_SHAPE, "input shape %dx%dx%d (HxWxC) is invalid",
		                  in.h, in.w, in.c);
	struct cn_layer_desc descs[CN_SPEC_MAX_LAYERS];
	int32_t count;
	enum cn_status st = cn_spec_parse(spec, descs, &count, err);
	if (st) return st;

	struct cn_net *net = calloc(1, sizeof(*net));
	if (!net) return cn_err_set(err, CN_ERR_NOMEM, "out of memory");
	net->in = in;
	net->n_layers = count;
	net->layers = calloc((size_t)count, sizeof(*net->layers));
	net->spec = strdup(spec);
	net->training = true;
	cn_rng_seed(&net->rng, seed);
	if (!net->layers || !net->spec) {
		st = cn_err_set(err, CN_ERR_NOMEM, "out of memory");
		goto fail;
	}
	st = build_layers(net, descs, count, err);
	if (st) goto fail;
	*out = net;
	return CN_OK;
fail:
	cn_net_free(net);
	return st;
}

static void bind_params(struct cn_net *net)
{
	size_t off = 0;
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		l->w = l->w_len ? net->params + off : NULL;
		l->dw = l->w_len && net->grads ? net->grads + off : NULL; /* a share has none */
		off += l->w_len;
		l->b = l->b_len ? net->params + off : NULL;
		l->db = l->b_len && net->grads ? net->grads + off : NULL;
		off += l->b_len;
	}
	off = 0;
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		l->state = l->state_len ? net->state + off : NULL;
		l->rng = &net->rng;
		off += l->state_len;
	}
}

enum cn_status cn_net_create(struct cn_net **out, const char *spec, struct cn_shape in,
                             uint64_t seed, char err[CN_ERR_LEN])
{
	if (!out) return cn_err_set(err, CN_ERR_ARG, "cn_net_create: out is NULL");
	struct cn_net *net;
	enum cn_status st = build(out, spec, in, seed, err);
	if (st) return st;
	net = *out;
	*out = NULL;
	size_t bytes;
	if (!cn_mul_ok(net->n_params ? net->n_params : 1, sizeof(float), &bytes)) {
		st = cn_err_set(err, CN_ERR_NOMEM, "%zu parameters overflow memory", net->n_params);
		goto fail;
	}
	net->params = calloc(1, bytes);
	net->grads = calloc(1, bytes);
	net->state = calloc(net->n_state ? net->n_state : 1, sizeof(float));
	if (!net->params || !net->grads || !net->state) {
		st = cn_err_set(err, CN_ERR_NOMEM, "cannot allocate %zu parameters", net->n_params);
		goto fail;
	}
	bind_params(net);
	cn_net_init(net, CN_INIT_DEFAULT, 0.0f, seed);
	*out = net;
	return CN_OK;
fail:
	cn_net_free(net);
	return st;
}

enum cn_status cn_net_share(struct cn_net **out, const struct cn_net *model, char err[CN_ERR_LEN])
{
	if (!out) return cn_err_set(err, CN_ERR_ARG, "cn_net_share: out is NULL");
	*out = NULL;
	if (!model) return cn_err_set(err, CN_ERR_ARG, "cn_net_share: model is NULL");
	struct cn_net *net;
	enum cn_status st = build(&net, model->spec, model->in, 0, err);
	if (st) return st;
	net->shared = true;
	net->training = false;
	net->params = model->params; /* read by forward only: inference plans never write them */
	net->state = model->state;
	bind_params(net);
	if (model->class_names) {
		const char *const *names = (const char *const *)model->class_names;
		if (cn_net_set_class_names(net, names, cn_net_output_len(net))) {
			st = cn_err_set(err, CN_ERR_NOMEM, "cn_net_share: %s", net->err);
			cn_net_free(net);
			return st;
		}
	}
	*out = net;
	return CN_OK;
}

void cn_net_free(struct cn_net *net)
{
	if (!net) return;
	cn_arena_release(&net->arena);
	if (!net->shared) {
		free(net->params);
		free(net->state);
	}
	free(net->grads);
	free(net->layers);
	free(net->spec);
	free(net->class_names);
	free(net);
}

const char *cn_net_error(const struct cn_net *net)
{
	return net ? net->err : "network is NULL";
}

/* The largest even split of `batch` into chunks of at most `chunk` images. */
static int32_t even_chunk(int32_t batch, int32_t chunk)
{
	int32_t pieces = (batch + chunk - 1) / chunk;
	return (batch + pieces - 1) / pieces;
}

/*
 * How a convolution's forward runs: chunks whose column matrix fits the cache target, at least
 * one per thread, split evenly (no small tail chunk); threads as many as the BLAS has.
 */
static struct cn_conv2d_plan plan_conv(const struct cn_layer *l, int32_t batch, int32_t pinned)
{
	struct cn_conv2d_plan p = {
	    .threads = cn_gemm_threads(), .act = l->d.act, .slope = l->d.slope};
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
 * Its backward: the forward's plan, but with chunks small enough that each GEMM (dW += dYᵀ·col,
 * dcol = dY·W: both chunk*HO*WO x CO x KH*KW*CI) stays within CN_SMALL_GEMM_MACS, when one
 * image does. Measured here, 1 thread, batch 100, backward for dW, db and dx (ms, chunk 1 / 4 /
 * 34 images): 28x28x1 k3 -> 32 0.75 / 0.76 / 1.54 (dW only); 12x12x6 k5 -> 12 0.42 / 0.42 /
 * 0.57; 28x28x1 k5 -> 6 1.03 / 1.02 / 1.38. Layers whose one image is already past the bound
 * (64 channels and up) keep the forward's chunks: there chunking made no difference.
 */
static struct cn_conv2d_plan plan_conv_backward(const struct cn_layer *l, int32_t batch,
                                                struct cn_conv2d_plan fwd, int32_t pinned)
{
	if (pinned) return fwd; /* the caller's choice holds for both */
	double macs = (double)cn_geom_out_pixels(&l->g) * (double)l->d.out *
	              (double)cn_geom_patch_len(&l->g); /* per image */
	int32_t fit = (int32_t)CN_MIN(CN_SMALL_GEMM_MACS / macs, (double)fwd.chunk);
	if (fit >= 1) fwd.chunk = even_chunk(batch, fit);
	return fwd;
}

/* Reserve the plan's buffers; offsets come back in off[] for binding after commit. */
struct plan_offsets {
	size_t input, ws, dbuf[2], probs;
	size_t y[CN_SPEC_MAX_LAYERS], argmax[CN_SPEC_MAX_LAYERS], cache[CN_SPEC_MAX_LAYERS];
};

/* Floats a layer keeps from forward for backward: dropout's mask (only a training plan draws
   one), batchnorm's statistics (the evaluation forward needs them too). */
static size_t cache_len(const struct cn_layer *l, size_t out_len, bool train)
{
	if (l->d.kind == CN_LAYER_DROPOUT) return train ? out_len : 0;
	if (l->d.kind == CN_LAYER_BATCHNORM) return 2 * (size_t)l->in.c;
	/* rbf: r from forward, then backward's dL/d‖x−μ‖² */
	if (l->d.kind == CN_LAYER_RBF) return train ? cn_mul4(out_len, 2, 1, 1) : 0;
	return 0;
}

/*
 * An inference plan whose layers all split by rows (layer.h) may run its forward as one slice
 * of the batch per thread, each thread through every layer on one-threaded GEMMs, instead of
 * every layer sharing out its own work: one parallel region per forward, not one or two per
 * layer with a barrier each. Each thread then reads all the weights where a layer's own split
 * (linear.c: by output columns) has each read all the activations, so the forward splits only
 * batches whose GEMM inputs outweigh the weights, and at least SPLIT_MIN_IMAGES a thread.
 * Forward ms on 2 threads, layers' own split -> batch split (medians of 2000 calls, Zen 5):
 * rbf (784 -> 64 -> 100 -> 10, splits from 61 images) batch 64 0.048 -> 0.039, 100 0.069 ->
 * 0.050, 1000 0.37 -> 0.31; mlp (784 -> 256 -> 10, from 196) batch 32 0.048 -> 0.062, 100
 * 0.105 -> 0.121, 256 0.246 -> 0.259, 400 0.374 -> 0.378, 1000 0.95 -> 0.90.
 * Convolutions and pools keep their own threading (their plans share chunks among threads);
 * batch norm writes shared state.
 */
#define SPLIT_MIN_IMAGES 16

static void plan_split(struct cn_net *net, bool train)
{
	net->split = 1;
	net->split_min = INT32_MAX;
	if (train) return;
	double weights = 0, inputs = 0; /* floats: all layers' weights; one image's GEMM inputs */
	for (int32_t i = 0; i < net->n_layers; i++) {
		const struct cn_layer *l = &net->layers[i];
		if (!cn_layer_impls[l->d.kind].splits_rows) return;
		weights += (double)l->w_len;
		if (l->w_len) inputs += (double)shape_len(l->in);
	}
	int32_t nt = cn_gemm_threads();
	if (nt < 2) return;
	net->split = nt;
	double min = CN_MAX(weights / CN_MAX(inputs, 1.0), (double)SPLIT_MIN_IMAGES * nt);
	net->split_min = min < INT32_MAX ? (int32_t)ceil(min) : INT32_MAX;
}

static enum cn_status reserve(struct cn_net *net, int32_t batch, bool train,
                              struct plan_offsets *off)
{
	struct cn_arena *a = &net->arena;
	size_t max_out = 0;
	off->input = cn_arena_reserve_array(a, cn_mul4((size_t)batch, shape_len(net->in), 1, 1),
	                                    sizeof(float));
	net->ws_len = 0;
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		size_t out_len = cn_mul4((size_t)batch, shape_len(l->out), 1, 1);
		if (out_len == SIZE_MAX || out_len > INT32_MAX)
			return cn_err_set(net->err, CN_ERR_NOMEM,
			                  "layer %d: batch %d x %zu outputs is too large", i + 1,
			                  batch, shape_len(l->out));
		off->y[i] = cn_arena_reserve_array(a, out_len, sizeof(float));
		if (l->d.kind == CN_LAYER_MAXPOOL2D)
			off->argmax[i] = cn_arena_reserve_array(a, out_len, sizeof(int32_t));
		size_t cache = cache_len(l, out_len, train);
		off->cache[i] = cache ? cn_arena_reserve_array(a, cache, sizeof(float)) : 0;
		max_out = CN_MAX(max_out, out_len);
		if (l->d.kind == CN_LAYER_CONV2D) {
			l->conv = plan_conv(l, batch, net->pinned_chunk);
			l->conv_back = plan_conv_backward(l, batch, l->conv, net->pinned_chunk);
		}
		size_t ws = cn_layer_impls[l->d.kind].ws_len(l, train);
		if (ws == SIZE_MAX)
			return cn_err_set(net->err, CN_ERR_NOMEM,
			                  "layer %d: lowering workspace overflows", i + 1);
		net->ws_len = CN_MAX(net->ws_len, ws);
	}
	plan_split(net, train);
	size_t ws_all = cn_mul4(net->ws_len, (size_t)net->split, 1, 1);
	if (ws_all == SIZE_MAX)
		return cn_err_set(net->err, CN_ERR_NOMEM, "workspace of %d threads overflows",
		                  net->split);
	off->ws = cn_arena_reserve_array(a, ws_all, sizeof(float));
	if (train) {
		off->dbuf[0] = cn_arena_reserve_array(a, max_out, sizeof(float));
		off->dbuf[1] = cn_arena_reserve_array(a, max_out, sizeof(float));
	}
	size_t outs = (size_t)cn_net_output_len(net);
	off->probs = cn_arena_reserve_array(a, cn_mul4((size_t)batch, outs, 1, 1), sizeof(float));
	return CN_OK;
}

static void bind_plan(struct cn_net *net, int32_t batch, bool train, const struct plan_offsets *off)
{
	struct cn_arena *a = &net->arena;
	net->input = cn_arena_at(a, off->input);
	net->ws = cn_arena_at(a, off->ws);
	net->dbuf[0] = train ? cn_arena_at(a, off->dbuf[0]) : NULL;
	net->dbuf[1] = train ? cn_arena_at(a, off->dbuf[1]) : NULL;
	net->probs = cn_arena_at(a, off->probs);
	struct cn_tensor x = cn_tensor_make(net->input, batch, net->in.h, net->in.w, net->in.c);
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		l->x = x;
		l->y =
		    cn_tensor_make(cn_arena_at(a, off->y[i]), batch, l->out.h, l->out.w, l->out.c);
		l->argmax = l->d.kind == CN_LAYER_MAXPOOL2D ? cn_arena_at(a, off->argmax[i]) : NULL;
		l->cache = cache_len(l, 1, train) ? cn_arena_at(a, off->cache[i]) : NULL;
		l->train = false;
		x = l->y;
	}
}

enum cn_status cn_net_plan(struct cn_net *net, int32_t batch, enum cn_plan_mode mode)
{
	if (!net) return CN_ERR_ARG;
	if (batch < 1)
		return cn_err_set(net->err, CN_ERR_ARG, "batch size %d must be at least 1", batch);
	if (mode != CN_PLAN_TRAIN && mode != CN_PLAN_INFER)
		return cn_err_set(net->err, CN_ERR_ARG, "unknown plan mode %d", (int)mode);
	if (net->shared && mode == CN_PLAN_TRAIN)
		return cn_err_set(net->err, CN_ERR_STATE,
		                  "a shared network (cn_net_share) reads its model's weights: it "
		                  "plans for inference only");
	cn_arena_release(&net->arena);
	net->batch = 0;
	net->n = 0;
	net->have_dout = false;
	bool train = mode == CN_PLAN_TRAIN;
	struct plan_offsets off_storage = {0}, *off = &off_storage;
	enum cn_status st = reserve(net, batch, train, off);
	if (!st && cn_arena_commit(&net->arena))
		st = cn_err_set(net->err, CN_ERR_NOMEM, "cannot allocate %zu bytes for batch %d",
		                net->arena.bytes, batch);
	if (!st) {
		bind_plan(net, batch, train, off);
		net->batch = batch;
		net->mode = mode;
	} else {
		cn_arena_release(&net->arena);
	}
	return st;
}

enum cn_status cn_net_layer_chunks(const struct cn_net *net, int32_t i, int32_t *forward,
                                   int32_t *backward)
{
	if (!net) return CN_ERR_ARG;
	if (!forward || !backward)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG, "layer chunks: NULL output");
	if (i < 0 || i >= net->n_layers || net->layers[i].d.kind != CN_LAYER_CONV2D)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG,
		                  "layer %d is not a convolution (layers 0..%d)", i,
		                  net->n_layers - 1);
	if (!net->batch)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_STATE,
		                  "layer chunks before cn_net_plan");
	*forward = net->layers[i].conv.chunk;
	*backward = net->mode == CN_PLAN_TRAIN ? net->layers[i].conv_back.chunk : 0;
	return CN_OK;
}

enum cn_status cn_net_forward_split(const struct cn_net *net, int32_t *threads, int32_t *min_images)
{
	if (!net) return CN_ERR_ARG;
	if (!threads || !min_images)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG, "forward split: NULL output");
	if (!net->batch)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_STATE,
		                  "forward split before cn_net_plan");
	bool splits = net->split > 1 && net->split_min <= net->batch;
	*threads = splits ? net->split : 1;
	*min_images = splits ? net->split_min : 0;
	return CN_OK;
}

enum cn_status cn_net_pin_chunks(struct cn_net *net, int32_t images)
{
	if (!net) return CN_ERR_ARG;
	if (images < 0)
		return cn_err_set(net->err, CN_ERR_ARG,
		                  "images per GEMM %d must be 0 (the plan's "
		                  "rule) or more",
		                  images);
	net->pinned_chunk = images;
	return net->batch ? cn_net_plan(net, net->batch, net->mode) : CN_OK;
}

size_t cn_net_plan_bytes(const struct cn_net *net)
{
	return net && net->batch ? net->arena.bytes : 0;
}

size_t cn_net_param_count(const struct cn_net *net)
{
	return net ? net->n_params : 0;
}

float *cn_net_params(struct cn_net *net)
{
	return net ? net->params : NULL;
}

float *cn_net_grads(struct cn_net *net)
{
	return net ? net->grads : NULL;
}

struct cn_shape cn_net_input_shape(const struct cn_net *net)
{
	return net ? net->in : (struct cn_shape){0, 0, 0};
}

int32_t cn_net_output_len(const struct cn_net *net)
{
	return net ? (int32_t)shape_len(net->layers[net->n_layers - 1].out) : 0;
}

float *cn_net_input(struct cn_net *net)
{
	return net && net->batch ? net->input : NULL;
}

void cn_net_zero_grad(struct cn_net *net)
{
	if (net && net->grads) memset(net->grads, 0, net->n_params * sizeof(float));
}

int32_t cn_net_layer_count(const struct cn_net *net)
{
	return net ? net->n_layers : 0;
}

enum cn_status cn_net_layer_describe(const struct cn_net *net, int32_t i, char *buf, size_t len)
{
	if (!net) return CN_ERR_ARG;
	if (!buf || len == 0)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG, "layer describe: no buffer");
	if (i < 0 || i >= net->n_layers)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG, "layer %d is outside 0..%d", i,
		                  net->n_layers - 1);
	const struct cn_layer *l = &net->layers[i];
	char what[96];
	cn_layer_format(&l->d, what, sizeof(what));
	snprintf(buf, len, "%-32s -> %dx%dx%d (HxWxC), %zu params", what, l->out.h, l->out.w,
	         l->out.c, l->w_len + l->b_len);
	return CN_OK;
}

int64_t cn_net_layer_flops(const struct cn_net *net, int32_t i)
{
	if (!net || i < 0 || i >= net->n_layers) return -1;
	const struct cn_layer *l = &net->layers[i];
	int64_t out = (int64_t)shape_len(l->out);
	switch (l->d.kind) {
	case CN_LAYER_CONV2D:
	case CN_LAYER_LINEAR: /* every weight meets every output pixel once: 2 FLOPs */
		return 2 * (int64_t)l->w_len / l->d.out * out;
	case CN_LAYER_RBF: /* the GEMM, plus the norms and the kernel */
		return 2 * (int64_t)l->w_len + 4 * out;
	case CN_LAYER_MAXPOOL2D:
	case CN_LAYER_AVGPOOL2D:
	case CN_LAYER_LPPOOL2D:
		return out * l->d.kh * l->d.kw;
	case CN_LAYER_BATCHNORM: /* a multiply-add per element, then the activation */
		return 2 * out + (l->d.act == CN_ACT_IDENTITY ? 0 : out);
	default:
		return l->d.act == CN_ACT_IDENTITY ? 0 : out;
	}
}

enum cn_status cn_net_set_training(struct cn_net *net, int on)
{
	if (!net) return CN_ERR_ARG;
	net->training = on != 0;
	return CN_OK;
}

int cn_net_training(const struct cn_net *net)
{
	return net && net->training;
}

size_t cn_net_state_count(const struct cn_net *net)
{
	return net ? net->n_state : 0;
}

float *cn_net_state(struct cn_net *net)
{
	return net ? net->state : NULL;
}
