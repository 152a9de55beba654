/*
 * Planning a network for a batch size: each layer's own decisions (its table entry's plan),
 * whether an inference forward splits the batch over threads, and one arena reservation for
 * every activation, gradient, cache and scratch buffer, so forward, loss and backward never
 * allocate. Also the calls that report what a plan decided.
 */
#include <math.h>

#include "error.h"
#include "gemm.h"
#include "net.h"
#include "spec.h"
#include "util.h"

/* Reserve the plan's buffers; offsets come back in off[] for binding after commit. */
struct plan_offsets {
	size_t input, ws, dbuf[2], probs;
	size_t y[CN_SPEC_MAX_LAYERS], argmax[CN_SPEC_MAX_LAYERS], cache[CN_SPEC_MAX_LAYERS];
};

/* Floats a layer keeps from forward for backward, for out_len outputs (its table entry says). */
static size_t cache_len(const struct cn_layer *l, size_t out_len, bool train)
{
	const struct cn_layer_impl *impl = cn_layer_impls[l->d.kind];
	return impl->cache_len ? impl->cache_len(l, out_len, train) : 0;
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

static void plan_split(struct cn_net *net, bool train, int32_t nt)
{
	net->split = 1;
	net->split_min = INT32_MAX;
	if (train) return;
	double weights = 0, inputs = 0; /* floats: all layers' weights; one image's GEMM inputs */
	for (int32_t i = 0; i < net->n_layers; i++) {
		const struct cn_layer *l = &net->layers[i];
		if (!cn_layer_impls[l->d.kind]->splits_rows) return;
		weights += (double)l->w_len;
		if (l->w_len) inputs += (double)cn_layer_image_len(l->in);
	}
	if (nt < 2) return;
	net->split = nt;
	double min = CN_MAX(weights / CN_MAX(inputs, 1.0), (double)SPLIT_MIN_IMAGES * nt);
	net->split_min = min < INT32_MAX ? (int32_t)ceil(min) : INT32_MAX;
}

/*
 * An inference forward over a large batch runs it through every layer a part at a time, each
 * part small enough that a layer's output is still in cache when the next layer reads it: at
 * batch 1000, tutorial-cnn wrote its 100 MB first activation to memory and read it back for
 * the pool. Parts of PASS_BYTES of the widest layer's input and output; layers keep their own
 * threading within a part. Inference only: training needs the whole batch for backward.
 * Batch 1000 on 2 threads (Zen 5, images/s, no parts -> parts of 2 / 8 / 16 / 32 MB):
 * tutorial-cnn 27.5k -> 28.9k / 31.9k / 31.5k / 29.6k, deep-cnn 16.3k -> 13.7k / 16.2k /
 * 17.2k / 16.6k, mnist-fast 85k -> 68k / 92k / 93k / 88k, mnist-best 16.2k -> 17.3k (16 MB).
 */
#define PASS_BYTES      (16u << 20)
#define PASS_MIN_IMAGES 16

static void plan_pass(struct cn_net *net, int32_t batch, bool train)
{
	net->pass = batch;
	if (train) return;
	size_t widest = 1; /* bytes of one image's input and output at the widest layer */
	for (int32_t i = 0; i < net->n_layers; i++) {
		const struct cn_layer *l = &net->layers[i];
		size_t bytes =
		    (cn_layer_image_len(l->in) + cn_layer_image_len(l->out)) * sizeof(float);
		widest = CN_MAX(widest, bytes);
	}
	size_t images = CN_MAX(PASS_BYTES / widest, (size_t)PASS_MIN_IMAGES);
	if (images < (size_t)batch) net->pass = (int32_t)images;
}

/*
 * A training plan runs "batchnorm act | maxpool 2" as one op where batchnorm_pool.c can: the
 * pair moved a first layer's tensor six times more than it needs. mnist-fast, batch 200,
 * 2 threads (Zen 5), the pair after its first conv, ms apart -> fused: forward 0.56 -> 0.27,
 * backward 0.95 -> 0.63; the whole step 5.9 -> 5.6. A convolution without an activation of
 * its own before the pair then takes the pair's dx a chunk of images at a time, while it is in
 * cache (layer_fused.c). Inference plans keep the layers apart: their outputs are what feature
 * maps draw.
 */
static void plan_fusion(struct cn_net *net, bool train)
{
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		l->pools_next = l->pooled_by_prev = l->dy_fed = false;
	}
	for (int32_t i = 0; train && i + 1 < net->n_layers; i++) {
		struct cn_layer *bn = &net->layers[i], *pool = &net->layers[i + 1];
		if (bn->d.kind != CN_LAYER_BATCHNORM || pool->d.kind != CN_LAYER_MAXPOOL2D ||
		    pool->d.act != CN_ACT_IDENTITY || !cn_batchnorm_pool_fits(&pool->g, bn->d.act))
			continue;
		bn->pools_next = pool->pooled_by_prev = true;
		struct cn_layer *conv = i > 0 ? &net->layers[i - 1] : NULL;
		size_t ws;
		if (conv && conv->d.kind == CN_LAYER_CONV2D && conv->d.act == CN_ACT_IDENTITY &&
		    (ws = cn_layer_conv_fed_ws_len(conv, bn)) != SIZE_MAX) {
			conv->dy_fed = true;
			net->ws_len = CN_MAX(net->ws_len, ws);
		}
	}
}

static enum cn_status reserve(struct cn_net *net, int32_t batch, bool train,
                              struct plan_offsets *off)
{
	struct cn_arena *a = &net->arena;
	size_t max_out = 0;
	/* the one reading of the thread count: every layer's share of it is decided here */
	const int32_t nt = cn_gemm_threads();
	off->input = cn_arena_reserve_array(
	    a, cn_mul4((size_t)batch, cn_layer_image_len(net->in), 1, 1), sizeof(float));
	net->ws_len = 0;
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		size_t out_len = cn_mul4((size_t)batch, cn_layer_image_len(l->out), 1, 1);
		if (out_len == SIZE_MAX || out_len > INT32_MAX)
			return cn_err_set(net->err, CN_ERR_NOMEM,
			                  "layer %d: batch %d x %zu outputs is too large", i + 1,
			                  batch, cn_layer_image_len(l->out));
		off->y[i] = cn_arena_reserve_array(a, out_len, sizeof(float));
		const struct cn_layer_impl *impl = cn_layer_impls[l->d.kind];
		if (impl->argmax)
			off->argmax[i] = cn_arena_reserve_array(a, out_len, sizeof(int32_t));
		size_t cache = cache_len(l, out_len, train);
		off->cache[i] = cache ? cn_arena_reserve_array(a, cache, sizeof(float)) : 0;
		max_out = CN_MAX(max_out, out_len);
		l->threads = nt;
		if (impl->plan) impl->plan(l, batch, net->pinned_chunk, train);
		size_t ws = impl->ws_len(l, train);
		if (ws == SIZE_MAX)
			return cn_err_set(net->err, CN_ERR_NOMEM,
			                  "layer %d: lowering workspace overflows", i + 1);
		net->ws_len = CN_MAX(net->ws_len, ws);
	}
	plan_split(net, train, nt);
	plan_fusion(net, train);
	plan_pass(net, batch, train);
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
		l->argmax =
		    cn_layer_impls[l->d.kind]->argmax ? cn_arena_at(a, off->argmax[i]) : NULL;
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
	if (i < 0 || i >= net->n_layers || !cn_layer_impls[net->layers[i].d.kind]->chunks)
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

int32_t cn_net_batch(const struct cn_net *net)
{
	return net ? net->batch : 0;
}

size_t cn_net_plan_bytes(const struct cn_net *net)
{
	return net && net->batch ? net->arena.bytes : 0;
}
