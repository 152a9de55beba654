/*
 * The importer's non-window nodes (import.h): Gemm and MatMul (+ Add) as linear layers,
 * BatchNormalization, activations (fused into the layer before when colnet's spec allows),
 * Dropout, Identity, a final Softmax or LogSoftmax (dropped: colnet's outputs are logits),
 * and a Transpose to NHWC before a flatten. A linear layer after an ONNX Flatten of
 * [C, H, W] reads its inputs in CHW order; colnet's are HWC, so its weights are permuted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "import.h"

#define REFUSE(...) return cn_onnx_refuse(m, n, __VA_ARGS__)

static bool is(const Onnx__NodeProto *n, const char *op)
{
	return n->op_type && strcmp(n->op_type, op) == 0;
}

static const Onnx__TensorProto *const_in(struct imp *m, const Onnx__NodeProto *n, size_t i)
{
	const Onnx__TensorProto *t = i < n->n_input ? cn_onnx_const(m, n->input[i]) : NULL;
	if (!t)
		cn_onnx_refuse(m, n, "input %zu must be a constant (an initializer or Constant)",
		               i);
	return t;
}

static bool has_input(const Onnx__NodeProto *n, size_t i)
{
	return i < n->n_input && n->input[i] && *n->input[i];
}

static enum cn_status oom(struct imp *m)
{
	return cn_err_set(m->err, CN_ERR_NOMEM, "%s: out of memory", m->name);
}

/* A linear layer from weights wt: [OUT, IN] if trans, else [IN, OUT]; IN is m's features. */
static enum cn_status linear(struct imp *m, const Onnx__NodeProto *n, const Onnx__TensorProto *wt,
                             bool trans)
{
	if (!m->flat) REFUSE("needs a flat [N, F] input (Flatten or Reshape first)");
	int64_t d[4];
	size_t nd;
	if (!cn_onnx_dims(m, n, wt, d, &nd)) return CN_ERR_FORMAT;
	int64_t in = m->s.c, out = trans ? d[0] : d[1];
	if (nd != 2 || (trans ? d[1] : d[0]) != in)
		REFUSE("weights must be 2-D with %lld inputs", (long long)in);
	struct imp_layer *l =
	    cn_onnx_add_layer(m, n, CN_LAYER_LINEAR, "linear %lld nobias", (long long)out);
	if (!l) return CN_ERR_FORMAT;
	float *w;
	enum cn_status st = cn_onnx_floats(m, n, wt, (size_t)(in * out), &w);
	if (st) return st;
	if (!(l->w = malloc((size_t)(in * out) * sizeof(float)))) {
		free(w);
		return oom(m);
	}
	l->w_len = (size_t)(in * out);
	/* ONNX input i is (c, y, x) of the flattened [C, H, W] when m->chw; colnet's is (y, x, c) */
	struct cn_shape f = m->flat_from;
	int64_t hw = (int64_t)f.h * f.w;
	for (int64_t i = 0; i < in; i++) {
		int64_t to = m->chw ? (i % hw) * f.c + i / hw : i;
		for (int64_t o = 0; o < out; o++)
			l->w[o * in + to] = trans ? w[o * in + i] : w[i * out + o];
	}
	free(w);
	m->chw = false;
	m->s = (struct cn_shape){(int32_t)out, 1, 1};
	return CN_OK;
}

/* the bias vector of linear layer l, from tensor t of [OUT] or [1, OUT] */
static enum cn_status bias(struct imp *m, const Onnx__NodeProto *n, struct imp_layer *l,
                           const Onnx__TensorProto *t)
{
	int64_t out = m->s.c;
	float *b;
	if (t->n_dims == 2 && t->dims[0] == 1) {
		Onnx__TensorProto flat = *t; /* [1, OUT] is [OUT] */
		flat.n_dims = 1;
		flat.dims = &t->dims[1];
		if (cn_onnx_floats(m, n, &flat, (size_t)out, &b)) return CN_ERR_FORMAT;
	} else if (cn_onnx_floats(m, n, t, (size_t)out, &b)) {
		return CN_ERR_FORMAT;
	}
	l->b = b;
	l->b_len = (size_t)out;
	snprintf(l->text, sizeof(l->text), "linear %lld", (long long)out);
	return CN_OK;
}

static enum cn_status gemm(struct imp *m, const Onnx__NodeProto *n)
{
	if (cn_onnx_attr_i(n, "transA", 0)) REFUSE("transA is not supported");
	if (cn_onnx_attr_f(n, "alpha", 1.0f) != 1.0f) REFUSE("alpha other than 1");
	if (has_input(n, 2) && cn_onnx_attr_f(n, "beta", 1.0f) != 1.0f) REFUSE("beta other than 1");
	const Onnx__TensorProto *wt = const_in(m, n, 1);
	if (!wt) return CN_ERR_FORMAT;
	enum cn_status st = linear(m, n, wt, cn_onnx_attr_i(n, "transB", 0) != 0);
	if (st || !has_input(n, 2)) return st;
	const Onnx__TensorProto *bt = const_in(m, n, 2);
	return bt ? bias(m, n, &m->layers[m->n_layers - 1], bt) : CN_ERR_FORMAT;
}

/* Add after MatMul: the bias colnet's linear layer adds itself */
static enum cn_status add(struct imp *m, const Onnx__NodeProto *n)
{
	struct imp_layer *l = m->n_layers ? &m->layers[m->n_layers - 1] : NULL;
	if (!l || l->kind != CN_LAYER_LINEAR || l->b || l->act != CN_ACT_IDENTITY ||
	    n->n_input != 2)
		REFUSE("Add is supported only as the bias of a MatMul");
	const Onnx__TensorProto *t = const_in(m, n, strcmp(n->input[0], m->x) == 0 ? 1 : 0);
	return t ? bias(m, n, l, t) : CN_ERR_FORMAT;
}

static enum cn_status batchnorm(struct imp *m, const Onnx__NodeProto *n)
{
	if (cn_onnx_attr_i(n, "training_mode", 0)) REFUSE("training_mode is not supported");
	if (m->flat && m->chw) REFUSE("normalizes features of a CHW flatten (not supported)");
	size_t c = (size_t)m->s.c; /* flat: s is {F, 1, 1} */
	struct imp_layer *l = cn_onnx_add_layer(m, n, CN_LAYER_BATCHNORM, "batchnorm");
	if (!l) return CN_ERR_FORMAT;
	const Onnx__TensorProto *t[4];
	for (size_t i = 0; i < 4; i++)
		if (!(t[i] = const_in(m, n, i + 1))) return CN_ERR_FORMAT;
	float *mean, *var;
	if (cn_onnx_floats(m, n, t[0], c, &l->w) || cn_onnx_floats(m, n, t[1], c, &l->b))
		return CN_ERR_FORMAT;
	l->w_len = l->b_len = c;
	if (cn_onnx_floats(m, n, t[2], c, &mean)) return CN_ERR_FORMAT;
	if (cn_onnx_floats(m, n, t[3], c, &var)) {
		free(mean);
		return CN_ERR_FORMAT;
	}
	l->state = malloc(2 * c * sizeof(float));
	if (!l->state) {
		free(mean);
		free(var);
		return oom(m);
	}
	l->state_len = 2 * c;
	/* colnet's epsilon is fixed, so var + eps is carried in colnet's variance:
	   v = var + eps - CN_BN_EPS. Where that is negative (an epsilon below colnet's over a
	   near-constant channel), v is 0 and the scale takes the difference instead,
	   gamma * sqrt(CN_BN_EPS / (var + eps)): the same outputs, and a variance that
	   checkpoints and the exporter accept. */
	float eps = cn_onnx_attr_f(n, "epsilon", 1e-5f);
	enum cn_status st = CN_OK;
	for (size_t j = 0; j < c && !st; j++) {
		double denom = (double)var[j] + eps, v = denom - CN_BN_EPS;
		if (eps == CN_BN_EPS) v = var[j];
		if (v < 0.0 && denom > 0.0) {
			l->w[j] = (float)(l->w[j] * sqrt(CN_BN_EPS / denom));
			v = 0.0;
		}
		if (!(var[j] >= 0.0f) || !(eps >= 0.0f) || !(denom > 0.0) || !isfinite((float)v) ||
		    !isfinite(l->w[j]))
			st = cn_onnx_refuse(m, n, "variance %g with epsilon %g", (double)var[j],
			                    (double)eps);
		l->state[j] = mean[j];
		l->state[c + j] = (float)v;
	}
	free(mean);
	free(var);
	return st;
}

/* An activation: onto the previous layer if its spec takes one, else a layer of its own. */
static enum cn_status activation(struct imp *m, const Onnx__NodeProto *n, enum cn_act act)
{
	float slope = 0.0f;
	if (act == CN_ACT_LEAKY_RELU) {
		slope = cn_onnx_attr_f(n, "alpha", 0.01f);
		if (!(slope >= 0.0f && slope < 1.0f))
			REFUSE("alpha %g is outside [0, 1)", (double)slope);
	}
	struct imp_layer *l = m->n_layers ? &m->layers[m->n_layers - 1] : NULL;
	bool takes =
	    l && l->act == CN_ACT_IDENTITY &&
	    (l->kind == CN_LAYER_CONV2D || l->kind == CN_LAYER_LINEAR || l->kind == CN_LAYER_RBF ||
	     l->kind == CN_LAYER_DROPOUT || l->kind == CN_LAYER_BATCHNORM);
	if (!takes && !(l = cn_onnx_add_layer(m, n, CN_LAYER_ACT, "%s", ""))) return CN_ERR_FORMAT;
	l->act = act;
	l->slope = slope;
	return CN_OK;
}

static enum cn_status dropout(struct imp *m, const Onnx__NodeProto *n)
{
	float rate = cn_onnx_attr_f(n, "ratio", 0.5f), *v;
	if (has_input(n, 1)) {
		const Onnx__TensorProto *t = const_in(m, n, 1);
		if (!t || cn_onnx_floats(m, n, t, 1, &v)) return CN_ERR_FORMAT;
		rate = *v;
		free(v);
	}
	if (has_input(n, 2)) REFUSE("training_mode is not supported");
	if (!(rate >= 0.0f && rate < 1.0f)) REFUSE("ratio %g is outside [0, 1)", (double)rate);
	return cn_onnx_add_layer(m, n, CN_LAYER_DROPOUT, "dropout %.9g", (double)rate)
	           ? CN_OK
	           : CN_ERR_FORMAT;
}

enum cn_status cn_onnx_import_dense(struct imp *m, const Onnx__NodeProto *n)
{
	if (is(n, "Gemm")) return gemm(m, n);
	if (is(n, "MatMul")) {
		const Onnx__TensorProto *wt = const_in(m, n, 1);
		return wt ? linear(m, n, wt, false) : CN_ERR_FORMAT;
	}
	if (is(n, "Add")) return add(m, n);
	if (is(n, "BatchNormalization")) return batchnorm(m, n);
	if (is(n, "Relu")) return activation(m, n, CN_ACT_RELU);
	if (is(n, "LeakyRelu")) return activation(m, n, CN_ACT_LEAKY_RELU);
	if (is(n, "Sigmoid")) return activation(m, n, CN_ACT_SIGMOID);
	if (is(n, "Tanh")) return activation(m, n, CN_ACT_TANH);
	if (is(n, "Dropout")) return dropout(m, n);
	if (is(n, "Identity")) return CN_OK;
	if (is(n, "Softmax") || is(n, "LogSoftmax")) {
		int64_t axis = cn_onnx_attr_i(n, "axis", m->opset >= 13 ? -1 : 1);
		if (strcmp(n->output[0], m->output) != 0 || !m->flat || (axis != 1 && axis != -1))
			REFUSE("only a softmax over the classes, ending the graph, is supported");
		return CN_OK; /* colnet's outputs are logits; its loss and predict apply softmax */
	}
	if (is(n, "Transpose")) {
		const Onnx__AttributeProto *p = cn_onnx_attr(n, "perm");
		if (m->flat || !p || p->n_ints != 4 || p->ints[0] != 0 || p->ints[1] != 2 ||
		    p->ints[2] != 3 || p->ints[3] != 1)
			REFUSE("only a Transpose to NHWC before a flatten is supported");
		m->nhwc = true;
		return CN_OK;
	}
	REFUSE("operator %.24s is not supported", n->op_type);
}
