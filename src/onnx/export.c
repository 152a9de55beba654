/*
 * colnet network -> ONNX graph (opset 13), in inference form. Activations in colnet are NHWC
 * and in ONNX NCHW, so the graph's 4-D tensors are [N, C, H, W]: conv weights are permuted
 * [CO, KH, KW, CI] -> [CO, CI, KH, KW], and a flatten of a spatial tensor gives ONNX's CHW
 * order where colnet has HWC. A linear layer right after such a flatten takes its weights
 * permuted to CHW (the graph then reads like PyTorch's); anything else after it (rbf, batch
 * norm, the graph's output) gets a Transpose to NHWC before the Flatten, so the flat order is
 * colnet's. Dropout is the identity in inference and leaves no node.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"
#include "../error.h"
#include "../net.h"
#include "colnet_onnx.h"
#include "onnx.h"

/* The tensor being built: its name, per-image shape, and whether it is [N, F] yet. */
struct cursor {
	const char *x;
	struct cn_shape s;         /* colnet's per-image shape */
	bool flat;                 /* [N, C*H*W] rather than [N, C, H, W] */
	bool chw;                  /* flat in ONNX's CHW order (a linear layer comes next) */
	struct cn_shape flat_from; /* what the last flatten flattened */
};

static const char *act_op(enum cn_act act)
{
	switch (act) {
	case CN_ACT_RELU:
		return "Relu";
	case CN_ACT_LEAKY_RELU:
		return "LeakyRelu";
	case CN_ACT_SIGMOID:
		return "Sigmoid";
	case CN_ACT_TANH:
		return "Tanh";
	default:
		return NULL;
	}
}

static void activate(struct cn_onnx_builder *b, struct cursor *c, const struct cn_layer_desc *d,
                     int i)
{
	const char *op = act_op(d->act);
	if (!op) return;
	Onnx__NodeProto *n =
	    cn_onnx_node(b, op, cn_onnx_str(b, "layer%d_%s", i, op), &c->x, 1, &c->x);
	if (n && d->act == CN_ACT_LEAKY_RELU) cn_onnx_attr_float(b, n, "alpha", d->slope);
}

/* [N, F] back to [N, C, H, W] for a conv or pool after a linear layer (H = W = 1 there) */
static void unflatten(struct cn_onnx_builder *b, struct cursor *c, int i)
{
	if (!c->flat) return;
	int64_t dims[1] = {4}, shape[4] = {0, c->s.c, c->s.h, c->s.w};
	const char *in[2] = {
	    c->x, cn_onnx_init_i64(b, cn_onnx_str(b, "layer%d.shape", i), dims, 1, shape)};
	cn_onnx_node(b, "Reshape", cn_onnx_str(b, "layer%d_reshape", i), in, 2, &c->x);
	c->flat = c->chw = false;
}

/* [N, C, H, W] to [N, C*H*W]: in CHW order if chw_ok, else in colnet's HWC order */
static void flatten(struct cn_onnx_builder *b, struct cursor *c, int i, bool chw_ok)
{
	if (c->flat) return;
	bool mixed = c->s.c > 1 && (int64_t)c->s.h * c->s.w > 1; /* the orders differ */
	if (mixed && !chw_ok) {
		int64_t perm[4] = {0, 2, 3, 1};
		Onnx__NodeProto *n = cn_onnx_node(b, "Transpose", cn_onnx_str(b, "layer%d_nhwc", i),
		                                  &c->x, 1, &c->x);
		if (n) cn_onnx_attr_ints(b, n, "perm", perm, 4);
	}
	Onnx__NodeProto *n =
	    cn_onnx_node(b, "Flatten", cn_onnx_str(b, "layer%d_flatten", i), &c->x, 1, &c->x);
	if (n) cn_onnx_attr_int(b, n, "axis", 1);
	c->flat = true;
	c->chw = mixed && chw_ok;
	c->flat_from = c->s;
}

/* The kind of the next layer after i that is not an activation or dropout, or -1. */
static int next_kind(const struct cn_net *net, int i)
{
	for (int j = i + 1; j < net->n_layers; j++) {
		enum cn_layer_kind k = net->layers[j].d.kind;
		if (k != CN_LAYER_ACT && k != CN_LAYER_DROPOUT) return (int)k;
	}
	return -1;
}

static void window_attrs(struct cn_onnx_builder *b, Onnx__NodeProto *n, const struct cn_geom *g)
{
	if (!n) return;
	int64_t k[2] = {g->kh, g->kw}, s[2] = {g->sh, g->sw}, p[4] = {g->ph, g->pw, g->ph, g->pw};
	cn_onnx_attr_ints(b, n, "kernel_shape", k, 2);
	cn_onnx_attr_ints(b, n, "strides", s, 2);
	cn_onnx_attr_ints(b, n, "pads", p, 4);
}

static void conv(struct cn_onnx_builder *b, struct cursor *c, const struct cn_layer *l, int i,
                 float *tmp)
{
	const struct cn_geom *g = &l->g;
	int32_t co = l->out.c, ci = g->ci, kk = g->kh * g->kw;
	for (int32_t o = 0; o < co; o++) /* [CO, KH*KW, CI] -> [CO, CI, KH*KW] */
		for (int32_t p = 0; p < kk; p++)
			for (int32_t j = 0; j < ci; j++)
				tmp[((size_t)o * ci + j) * kk + p] =
				    l->w[((size_t)o * kk + p) * ci + j];
	int64_t wd[4] = {co, ci, g->kh, g->kw}, bd[1] = {co};
	const char *in[3] = {c->x, cn_onnx_init(b, cn_onnx_str(b, "layer%d.weight", i), wd, 4, tmp),
	                     NULL};
	if (l->b) in[2] = cn_onnx_init(b, cn_onnx_str(b, "layer%d.bias", i), bd, 1, l->b);
	Onnx__NodeProto *n =
	    cn_onnx_node(b, "Conv", cn_onnx_str(b, "layer%d_conv", i), in, l->b ? 3 : 2, &c->x);
	window_attrs(b, n, g);
}

static void linear(struct cn_onnx_builder *b, struct cursor *c, const struct cn_layer *l, int i,
                   float *tmp)
{
	/* the flattened shape, not l->in: after a flatten layer, l->in is already [C*H*W] */
	int32_t out = l->out.c, h = c->flat_from.h, w = c->flat_from.w, ch = c->flat_from.c;
	size_t in_len = (size_t)l->in.h * l->in.w * l->in.c;
	const float *wt = l->w;
	if (c->chw) { /* colnet's inputs are (y, x, c), ONNX's (c, y, x) */
		for (int32_t o = 0; o < out; o++)
			for (int32_t p = 0; p < h * w; p++)
				for (int32_t j = 0; j < ch; j++)
					tmp[o * in_len + (size_t)j * h * w + p] =
					    l->w[o * in_len + (size_t)p * ch + j];
		wt = tmp;
	}
	int64_t wd[2] = {out, (int64_t)in_len}, bd[1] = {out};
	const char *in[3] = {c->x, cn_onnx_init(b, cn_onnx_str(b, "layer%d.weight", i), wd, 2, wt),
	                     NULL};
	if (l->b) in[2] = cn_onnx_init(b, cn_onnx_str(b, "layer%d.bias", i), bd, 1, l->b);
	Onnx__NodeProto *n =
	    cn_onnx_node(b, "Gemm", cn_onnx_str(b, "layer%d_linear", i), in, l->b ? 3 : 2, &c->x);
	if (n) cn_onnx_attr_int(b, n, "transB", 1);
	c->chw = false;
}

static void batchnorm(struct cn_onnx_builder *b, struct cursor *c, const struct cn_layer *l, int i)
{
	int64_t d[1] = {l->in.c};
	const char *in[5] = {
	    c->x, cn_onnx_init(b, cn_onnx_str(b, "layer%d.weight", i), d, 1, l->w),
	    cn_onnx_init(b, cn_onnx_str(b, "layer%d.bias", i), d, 1, l->b),
	    cn_onnx_init(b, cn_onnx_str(b, "layer%d.running_mean", i), d, 1, l->state),
	    cn_onnx_init(b, cn_onnx_str(b, "layer%d.running_var", i), d, 1, l->state + l->in.c)};
	Onnx__NodeProto *n = cn_onnx_node(b, "BatchNormalization",
	                                  cn_onnx_str(b, "layer%d_batchnorm", i), in, 5, &c->x);
	if (n) cn_onnx_attr_float(b, n, "epsilon", CN_BN_EPS);
}

static enum cn_status pool(struct cn_onnx_builder *b, struct cursor *c, const struct cn_layer *l,
                           int i, char *err)
{
	const char *op = l->d.kind == CN_LAYER_MAXPOOL2D   ? "MaxPool"
	                 : l->d.kind == CN_LAYER_AVGPOOL2D ? "AveragePool"
	                                                   : "LpPool";
	if (l->d.kind == CN_LAYER_LPPOOL2D && l->d.p != floorf(l->d.p))
		return cn_err_set(err, CN_ERR_ARG,
		                  "layer %d (lppool p=%g): ONNX's LpPool takes an integer p", i,
		                  (double)l->d.p);
	Onnx__NodeProto *n =
	    cn_onnx_node(b, op, cn_onnx_str(b, "layer%d_%s", i, op), &c->x, 1, &c->x);
	window_attrs(b, n, &l->g);
	/* colnet's average divides by the whole window: padding counts as zeros */
	if (n && l->d.kind == CN_LAYER_AVGPOOL2D) cn_onnx_attr_int(b, n, "count_include_pad", 1);
	if (n && l->d.kind == CN_LAYER_LPPOOL2D) cn_onnx_attr_int(b, n, "p", (int64_t)l->d.p);
	return CN_OK;
}

static enum cn_status layer(struct cn_onnx_builder *b, struct cursor *c, const struct cn_net *net,
                            int i, float *tmp, char *err)
{
	const struct cn_layer *l = &net->layers[i];
	switch (l->d.kind) {
	case CN_LAYER_CONV2D:
		unflatten(b, c, i);
		conv(b, c, l, i, tmp);
		break;
	case CN_LAYER_LINEAR:
		flatten(b, c, i, true);
		linear(b, c, l, i, tmp);
		break;
	case CN_LAYER_MAXPOOL2D:
	case CN_LAYER_AVGPOOL2D:
	case CN_LAYER_LPPOOL2D: {
		unflatten(b, c, i);
		enum cn_status st = pool(b, c, l, i, err);
		if (st) return st;
		break;
	}
	case CN_LAYER_FLATTEN:
		flatten(b, c, i, next_kind(net, i) == CN_LAYER_LINEAR);
		break;
	case CN_LAYER_RBF:
		flatten(b, c, i, false);
		c->x = cn_onnx_export_rbf(b, l, i, c->x);
		break;
	case CN_LAYER_BATCHNORM:
		if (c->flat && c->chw) /* per-feature statistics are in colnet's order */
			return cn_err_set(err, CN_ERR_ARG, "layer %d: internal: CHW order", i);
		batchnorm(b, c, l, i);
		break;
	case CN_LAYER_ACT:
	case CN_LAYER_DROPOUT:
		break; /* dropout: the identity in inference */
	default:
		return cn_err_set(err, CN_ERR_ARG, "layer %d: its kind has no ONNX form", i);
	}
	activate(b, c, &l->d, i);
	c->s = l->out;
	return CN_OK;
}

/* The largest scratch a layer needs to permute its weights. */
static size_t max_w_len(const struct cn_net *net)
{
	size_t m = 1;
	for (int i = 0; i < net->n_layers; i++)
		if (net->layers[i].w_len > m) m = net->layers[i].w_len;
	return m;
}

static enum cn_status build_graph(struct cn_onnx_builder *b, const struct cn_net *net, char *err)
{
	float *tmp = malloc(max_w_len(net) * sizeof(float));
	if (!tmp) return cn_err_set(err, CN_ERR_NOMEM, "onnx export: out of memory");
	struct cursor c = {"input", net->in, false, false, net->in};
	int64_t in_dims[3] = {net->in.c, net->in.h, net->in.w};
	cn_onnx_io(b, true, "input", in_dims, 3);
	enum cn_status st = CN_OK;
	for (int i = 0; i < net->n_layers && !st; i++) st = layer(b, &c, net, i, tmp, err);
	free(tmp);
	if (st) return st;
	flatten(b, &c, net->n_layers, false);
	/* the output gets a plain name, like the input */
	Onnx__GraphProto *g = b->graph;
	if (g->n_node) {
		Onnx__NodeProto *last = g->node[g->n_node - 1];
		last->output[0] = "logits";
	}
	int64_t out_dims[1] = {(int64_t)c.s.c * c.s.h * c.s.w};
	cn_onnx_io(b, false, g->n_node ? "logits" : "input", out_dims, 1);
	return b->oom ? cn_err_set(err, CN_ERR_NOMEM, "onnx export: out of memory") : CN_OK;
}

enum cn_status cn_onnx_encode(const struct cn_net *net, void **buf, size_t *len,
                              char err[CN_ERR_LEN])
{
	if (!net || !buf || !len) return cn_err_set(err, CN_ERR_ARG, "onnx export: NULL argument");
	*buf = NULL;
	*len = 0;
	struct cn_onnx_builder b;
	if (!cn_onnx_builder_init(&b, "colnet")) {
		cn_onnx_builder_free(&b);
		return cn_err_set(err, CN_ERR_NOMEM, "onnx export: out of memory");
	}
	enum cn_status st = build_graph(&b, net, err);
	if (st) goto done;
	Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = {&opset};
	opset.domain = "";
	opset.has_version = 1;
	opset.version = CN_ONNX_OPSET;
	Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
	m.has_ir_version = 1;
	m.ir_version = 8;
	m.producer_name = "colnet";
	m.producer_version = (char *)cn_version();
	m.doc_string = net->spec;
	m.n_opset_import = 1;
	m.opset_import = opsets;
	m.graph = b.graph;
	size_t n = onnx__model_proto__get_packed_size(&m);
	if (n > CN_ONNX_MAX_BYTES) {
		st = cn_err_set(err, CN_ERR_ARG, "onnx export: %zu bytes exceed protobuf's 2 GiB",
		                n);
		goto done;
	}
	*buf = malloc(n ? n : 1);
	if (!*buf) {
		st = cn_err_set(err, CN_ERR_NOMEM, "onnx export: out of memory");
		goto done;
	}
	*len = onnx__model_proto__pack(&m, *buf);
done:
	cn_onnx_builder_free(&b);
	return st;
}

/* the encoded model behind cn_bytes_write_atomic */
struct encoded {
	const void *buf;
	size_t len;
};

static void put_encoded(struct cn_bytes_out *o, const void *ctx)
{
	const struct encoded *e = ctx;
	cn_bytes_put(o, e->buf, e->len);
}

enum cn_status cn_onnx_save(const struct cn_net *net, const char *path, char err[CN_ERR_LEN])
{
	if (!path || !*path) return cn_err_set(err, CN_ERR_ARG, "onnx export: no file name");
	void *buf;
	size_t len;
	enum cn_status st = cn_onnx_encode(net, &buf, &len, err);
	if (st) return st;
	st = cn_bytes_write_atomic(path, path, put_encoded, &(struct encoded){buf, len}, err);
	free(buf);
	return st;
}
