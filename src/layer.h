/*
 * Layer kinds and the per-kind table {name, shape, workspace, forward, backward}. A layer is an
 * op plus an optional element-wise activation applied in place on its output; backward first
 * turns dy into the op's output gradient in place (activations differentiate from y), then runs
 * the op's backward. Views (x, y, w, b, dw, db, argmax, state, cache) point into the net's
 * memory. Dropout and batch norm behave as in training when the net's forward sets l->train.
 */
#ifndef CN_LAYER_H
#define CN_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "colnet.h"
#include "geom.h"
#include "ops/ops.h"
#include "rng.h"
#include "tensor.h"

enum cn_layer_kind {
	CN_LAYER_CONV2D,
	CN_LAYER_LINEAR,
	CN_LAYER_MAXPOOL2D,
	CN_LAYER_AVGPOOL2D,
	CN_LAYER_ACT,
	CN_LAYER_FLATTEN,
	CN_LAYER_RBF,
	CN_LAYER_LPPOOL2D,
	CN_LAYER_DROPOUT,   /* inverted dropout: training only, identity in evaluation */
	CN_LAYER_BATCHNORM, /* per channel (NHWC) or per feature; gamma in w, beta in b */
	CN_LAYER_COUNT
};

/* What a spec says about one layer, before any shape is known. */
struct cn_layer_desc {
	enum cn_layer_kind kind;
	int32_t out;            /* conv: output channels; linear: outputs */
	int32_t kh, kw, sh, sw; /* conv and pools: kernel and stride */
	int32_t ph, pw;         /* conv and pools: zero padding */
	bool bias;              /* conv and linear */
	enum cn_act act;        /* applied in place on the output */
	float slope;            /* leaky relu */
	int init;               /* enum cn_init for this layer's weights, or -1: the net's choice */
	enum cn_rbf_kind rbf;   /* rbf: the kernel */
	float p;                /* lppool: the norm's exponent, >= 1 */
	float rate;             /* dropout: probability of dropping an element, in [0, 1) */
};

struct cn_layer {
	struct cn_layer_desc d;
	struct cn_shape in, out;    /* per image */
	struct cn_geom g;           /* conv and pools */
	struct cn_conv2d_plan conv; /* conv: chunking, threads, fused activation (plan decisions) */
	struct cn_conv2d_plan conv_back; /* conv: the same for backward, with its own chunking */
	int32_t threads;       /* plan: threads the layer's ops share its work among (>= 1) */
	size_t w_len, b_len;   /* parameters */
	float *w, *b;          /* conv [CO, KH, KW, CI], linear [OUT, IN]; b [CO] or NULL */
	float *dw, *db;        /* same layouts, in the net's gradient block */
	struct cn_tensor x, y; /* [N, H, W, C] views: x is the previous layer's y */
	int32_t *argmax;       /* maxpool: [N, HO, WO, C] */
	size_t state_len;      /* non-trainable state (batchnorm: 2C) */
	float *state;          /* [state_len] in the net's state block: running mean, var */
	float *cache;          /* dropout: mask [N, out] (train plans); batchnorm: [2, C];
	                          rbf, train plans: [2, N, K]: r from forward, e's scratch */
	struct cn_rng *rng;    /* dropout: the net's generator */
	bool train;            /* the last forward used training behaviour */
	/* plan, training only: a batch norm runs the 2x2 max pool after it in one op
	   (batchnorm_pool.c), writing the pool's y and never its own; the pool has no op; and a
	   convolution before them takes their dx a chunk at a time (layer_fused.c) */
	bool pools_next, pooled_by_prev, dy_fed;
};

/* What a kind's spec arguments may be (spec.c reads these from the kind's table entry). */
enum cn_layer_args {
	CN_ARGS_COUNT = 1 << 0,  /* a required output count N (1..1000000) */
	CN_ARGS_WINDOW = 1 << 1, /* kN sN pN (also NxM); the stride defaults to 1 */
	CN_ARGS_POOL = 1 << 2,   /* a required pool size, bare N or kN; the stride defaults to it */
	CN_ARGS_KERNEL = 1 << 3, /* kN is required */
	CN_ARGS_WEIGHTS = 1 << 4, /* init=NAME and nobias */
	CN_ARGS_RATE = 1 << 5,    /* a probability P in [0, 1) */
	CN_ARGS_NORM = 1 << 6,    /* p=X, the norm's exponent in 1..100 */
	CN_ARGS_RBF = 1 << 7,     /* gaussian or imq */
};

/*
 * Everything colnet knows about one kind of layer; the network, the spec parser, the
 * initializer, the checkpoint and the inspection calls ask the table instead of naming kinds.
 * Hooks marked "or NULL" have the default given beside them.
 */
struct cn_layer_impl {
	const char *name; /* the spec's word for the kind */
	unsigned args;    /* enum cn_layer_args: what the spec may say after the word */
	/* "conv 32 k3x3 s1x1 p1x1" for descriptions (without the activation); or NULL: name */
	int (*format)(const struct cn_layer_desc *d, char *buf, size_t len);
	/* infer out, g, w_len, b_len, state_len from in; refuse impossible shapes (message in err) */
	enum cn_status (*shape)(struct cn_layer *l, char *err);
	/* decide how batches of batch images run (chunks, threads) in a training or inference
	   plan; pinned > 0: images per GEMM the caller chose. l->threads comes in as the threads
	   the plan has (the BLAS's count when the plan is made) and may be lowered. Or NULL:
	   nothing to decide */
	void (*plan)(struct cn_layer *l, int32_t batch, int32_t pinned, bool train);
	/* floats of scratch for batches of n (SIZE_MAX on overflow), after plan */
	size_t (*ws_len)(const struct cn_layer *l, bool train);
	/* floats kept from forward for backward for out_len outputs (the batch's); or NULL: 0 */
	size_t (*cache_len)(const struct cn_layer *l, size_t out_len, bool train);
	void (*forward)(struct cn_layer *l, float *ws);
	/*
	 * dy [N, out] is the op's output gradient (activation already undone, unless
	 * fuses_act_backward); dx may be NULL
	 */
	void (*backward)(struct cn_layer *l, const float *dy, float *dx, float *ws);
	/* forward FLOPs per image (a multiply-add is 2); or NULL: the activation's, one an output */
	int64_t (*flops)(const struct cn_layer *l);
	/* fill w, b and state from r: kind and scale are the net's initializer unless the layer
	   names its own (d.init); or NULL: nothing to fill */
	void (*init)(struct cn_layer *l, struct cn_rng *r, enum cn_init kind, float scale);
	/* the shape of one output's slice of w that a picture of the filters may draw; or NULL:
	   {0, 0, 0}, nothing to draw */
	struct cn_shape (*filter)(const struct cn_layer *l);
	bool takes_init; /* init uses the initializer (so UNIFORM and GAUSSIAN need a scale) */
	bool fuses_act;  /* forward applies d.act itself (while its output is in cache) */
	/* backward gets dy before d.act's derivative, applies it itself and may overwrite dy */
	bool fuses_act_backward;
	/*
	 * an inference forward may run on any slice of the batch's images, slices side by side
	 * on threads, each with a workspace of its own: it reads and writes only its images' rows
	 */
	bool splits_rows;
	bool uses_rng; /* draws from the net's generator, which a checkpoint then keeps */
	bool argmax;   /* keeps an int32 index per output from forward for backward */
	bool chunks;   /* lowers images in planned chunks (cn_net_layer_chunks reports them) */
};

/* Every kind's entry (layer_conv.c, layer_dense.c, layer_pool.c, layer_elem.c). */
extern const struct cn_layer_impl cn_layer_conv2d, cn_layer_linear, cn_layer_rbf,
    cn_layer_maxpool2d, cn_layer_avgpool2d, cn_layer_lppool2d, cn_layer_act, cn_layer_flatten,
    cn_layer_dropout, cn_layer_batchnorm;
/* The table, indexed by kind. */
extern const struct cn_layer_impl *const cn_layer_impls[CN_LAYER_COUNT];

/* The kind whose spec word is name, or -1. */
int cn_layer_find(const char *name);

/* Name of an activation ("relu") for descriptions and specs. */
const char *cn_act_name(enum cn_act act);

/* One-line description "conv 32 k3x3 s1x1 p1x1 relu" of a layer's configuration. */
void cn_layer_format(const struct cn_layer_desc *d, char *buf, size_t len);

/*
 * The layers a training plan runs together (layer_fused.c). A batch norm whose plan fuses the
 * max pool after it (bn->pools_next): forward writes pool->y from bn->x; backward takes dy,
 * the pool output's gradient, and writes dx, bn's input gradient (may be NULL). With the
 * convolution before them (conv->dy_fed) the backward runs all three, dx the conv's (may be
 * NULL), in cn_layer_conv_fed_ws_len floats of ws.
 */
void cn_layer_batchnorm_pool_forward(struct cn_layer *bn, struct cn_layer *pool, float *ws);
void cn_layer_batchnorm_pool_backward(struct cn_layer *bn, const struct cn_layer *pool,
                                      const float *dy, float *dx, float *ws);
void cn_layer_conv_batchnorm_pool_backward(struct cn_layer *conv, struct cn_layer *bn,
                                           const struct cn_layer *pool, const float *dy, float *dx,
                                           float *ws);
size_t cn_layer_conv_fed_ws_len(const struct cn_layer *conv, const struct cn_layer *bn);
size_t cn_layer_conv_fed_ws_at(const struct cn_layer *conv);

/* ---- for the kinds' files ---- */

/* H*W*C of one image, SIZE_MAX on overflow. */
size_t cn_layer_image_len(struct cn_shape s);
/* ws_len of kinds without scratch. */
size_t cn_layer_no_ws(const struct cn_layer *l, bool train);
/* Weights of a layer with fan_in = w_len / units and fan_out inputs, drawn by the
   initializer (layer_init.c); biases zero except in CN_INIT_DEFAULT. */
void cn_layer_init_weights(struct cn_layer *l, struct cn_rng *r, enum cn_init kind, float scale,
                           double fan_out);

#endif
