/* The network handle's insides, for the library's own upper layers (train, checkpoint). */
#ifndef CN_NET_H
#define CN_NET_H

#include <stdbool.h>

#include "arena.h"
#include "colnet.h"
#include "layer.h"
#include "rng.h"

struct cn_net {
	char err[CN_ERR_LEN];
	char *spec; /* the spec it was built from (checkpoints store it) */
	struct cn_shape in;
	int32_t n_layers;
	struct cn_layer *layers; /* [n_layers] */
	size_t n_params;
	float *params, *grads; /* [n_params] each, every layer's w then b, in order */
	size_t n_state;
	float *state;       /* [n_state] non-trainable state (batchnorm running mean and variance),
	                      layer by layer; the optimizer never sees it, checkpoints keep it */
	bool training;      /* forward in a CN_PLAN_TRAIN plan uses training behaviour */
	struct cn_rng rng;  /* initialization, then dropout masks */
	char **class_names; /* [outputs] names of the outputs, or NULL (one allocation) */

	bool shared; /* params and state are another net's (cn_net_share): read-only, not freed */

	int32_t pinned_chunk; /* images per convolution GEMM chosen by the caller, 0: the rule */

	/* the plan */
	struct cn_arena arena;
	int32_t batch; /* 0 when not planned */
	enum cn_plan_mode mode;
	float *input; /* [BATCH, H, W, C] */
	float *ws;    /* [split, ws_len] scratch shared by all layers (they run one at a time) */
	size_t ws_len;
	int32_t split;     /* threads that each run the whole forward on a slice of the batch, */
	int32_t split_min; /* for batches of this many images and more (net.c: plan_split) */
	int32_t pass;      /* an inference forward runs this many images through every layer at
	                      a time (net_plan.c: plan_pass); the batch when training */
	float *dbuf[2];    /* ping-pong activation gradients, each [BATCH, max layer output] */
	float *probs;      /* [BATCH, outputs] softmax of the last loss */
	int32_t n;         /* images in the last forward (0: none since planning) */
	bool have_dout;    /* a loss has set dbuf[0] for the last forward */
};

/*
 * The message buffer of a net passed as const: the one field a failing call on a const handle
 * writes (colnet.h's error rule). Every net is allocated by cn_net_create, never const itself.
 */
static inline char *cn_net_errbuf(const struct cn_net *net)
{
	return ((struct cn_net *)net)->err;
}

/* The batch size the net is planned for, 0 before a plan. */
int32_t cn_net_batch(const struct cn_net *net);

/*
 * Parameters a spec would have on input `in`, without allocating them (a file's claims are
 * checked with this before anything is built from them).
 */
enum cn_status cn_net_count_params(const char *spec, struct cn_shape in, size_t *n, char *err);

#endif
