/*
 * One ONNX node -> colnet layers (import.h). Weights arrive NCHW ([CO, CI, KH, KW] for Conv,
 * CHW-ordered inputs for a Gemm after a Flatten) and are permuted to colnet's NHWC layouts.
 * Anything colnet would compute differently is refused with the reason: colnet's windows are
 * symmetric, undilated and ungrouped; its max pooling never sees padding while ONNX's Pad
 * feeds zeros; its average counts padding as zeros (count_include_pad).
 */
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

/* ints attribute name of exactly len values in [lo, hi] into v; absent: fill with dflt */
static enum cn_status attr_ints(struct imp *m, const Onnx__NodeProto *n, const char *name,
                                size_t len, int64_t lo, int64_t hi, int64_t dflt, int64_t *v)
{
	const Onnx__AttributeProto *a = cn_onnx_attr(n, name);
	for (size_t i = 0; i < len; i++) v[i] = dflt;
	if (!a) return CN_OK;
	if (a->n_ints != len) REFUSE("%s has %zu values, not %zu (2-D only)", name, a->n_ints, len);
	for (size_t i = 0; i < len; i++) {
		if (a->ints[i] < lo || a->ints[i] > hi)
			REFUSE("%s[%zu] = %lld is outside %lld..%lld", name, i,
			       (long long)a->ints[i], (long long)lo, (long long)hi);
		v[i] = a->ints[i];
	}
	return CN_OK;
}

/* Attributes colnet's windows cannot honour. */
static enum cn_status plain_window(struct imp *m, const Onnx__NodeProto *n)
{
	const Onnx__AttributeProto *ap = cn_onnx_attr(n, "auto_pad");
	if (ap && !(ap->has_s && ap->s.len == 6 && memcmp(ap->s.data, "NOTSET", 6) == 0))
		REFUSE("auto_pad is not supported (give explicit pads)");
	int64_t d[2];
	enum cn_status st = attr_ints(m, n, "dilations", 2, 1, 1, 1, d);
	if (st) return cn_onnx_refuse(m, n, "dilations other than 1 are not supported");
	if (cn_onnx_attr_i(n, "ceil_mode", 0))
		REFUSE("ceil_mode is not supported (colnet rounds down)");
	if (cn_onnx_attr_i(n, "storage_order", 0)) REFUSE("storage_order 1 is not supported");
	if (m->flat) REFUSE("needs [N, C, H, W], but its input is flat");
	return CN_OK;
}

/* kernel, strides and symmetric pads (plus a pending Pad) into the spec words of a window */
static enum cn_status window(struct imp *m, const Onnx__NodeProto *n, int64_t kh, int64_t kw,
                             char *words, size_t cap, struct cn_shape *out)
{
	int64_t s[2], p[4];
	enum cn_status st;
	if ((st = attr_ints(m, n, "strides", 2, 1, IMP_MAX_DIM, 1, s)) ||
	    (st = attr_ints(m, n, "pads", 4, 0, IMP_MAX_DIM, 0, p)))
		return st;
	if (p[0] != p[2] || p[1] != p[3])
		REFUSE("pads [%lld, %lld, %lld, %lld] are not symmetric", (long long)p[0],
		       (long long)p[1], (long long)p[2], (long long)p[3]);
	int64_t ph = p[0] + m->padh, pw = p[1] + m->padw;
	m->padh = m->padw = 0;
	if (ph >= kh || pw >= kw)
		REFUSE("padding %lldx%lld is not smaller than the kernel %lldx%lld", (long long)ph,
		       (long long)pw, (long long)kh, (long long)kw);
	if (kh > m->s.h + 2 * ph || kw > m->s.w + 2 * pw)
		REFUSE("kernel %lldx%lld is larger than its padded input", (long long)kh,
		       (long long)kw);
	snprintf(words, cap, "k%lldx%lld s%lldx%lld p%lldx%lld", (long long)kh, (long long)kw,
	         (long long)s[0], (long long)s[1], (long long)ph, (long long)pw);
	*out = (struct cn_shape){m->s.c, (int32_t)((m->s.h + 2 * ph - kh) / s[0] + 1),
	                         (int32_t)((m->s.w + 2 * pw - kw) / s[1] + 1)};
	return CN_OK;
}

/* The constant at input i of n, or a refusal. */
static const Onnx__TensorProto *const_in(struct imp *m, const Onnx__NodeProto *n, size_t i)
{
	const Onnx__TensorProto *t = i < n->n_input ? cn_onnx_const(m, n->input[i]) : NULL;
	if (!t)
		cn_onnx_refuse(m, n, "input %zu must be a constant (an initializer or Constant)",
		               i);
	return t;
}

static enum cn_status conv(struct imp *m, const Onnx__NodeProto *n)
{
	enum cn_status st = plain_window(m, n);
	if (st) return st;
	if (cn_onnx_attr_i(n, "group", 1) != 1)
		REFUSE("group %lld: grouped convolutions are not supported",
		       (long long)cn_onnx_attr_i(n, "group", 1));
	const Onnx__TensorProto *wt = const_in(m, n, 1);
	if (!wt) return CN_ERR_FORMAT;
	int64_t d[4], k[2];
	size_t nd;
	if (!cn_onnx_dims(m, n, wt, d, &nd)) return CN_ERR_FORMAT;
	if (nd != 4 || d[1] != m->s.c)
		REFUSE("weights must be [CO, %d, KH, KW] for its %d input channels", m->s.c,
		       m->s.c);
	if (d[0] > IMP_MAX_DIM || d[2] > IMP_MAX_DIM || d[3] > IMP_MAX_DIM)
		REFUSE("weights [%lld, %lld, %lld, %lld] are too large", (long long)d[0],
		       (long long)d[1], (long long)d[2], (long long)d[3]);
	if ((st = attr_ints(m, n, "kernel_shape", 2, 1, IMP_MAX_DIM, 0, k))) return st;
	if (k[0] && (k[0] != d[2] || k[1] != d[3])) REFUSE("kernel_shape disagrees with weights");
	char words[96];
	struct cn_shape out;
	if ((st = window(m, n, d[2], d[3], words, sizeof(words), &out))) return st;
	bool bias = n->n_input > 2 && n->input[2] && *n->input[2];
	struct imp_layer *l = cn_onnx_add_layer(m, n, CN_LAYER_CONV2D, "conv %lld %s%s",
	                                        (long long)d[0], words, bias ? "" : " nobias");
	if (!l) return CN_ERR_FORMAT;
	size_t co = (size_t)d[0], ci = (size_t)d[1], kk = (size_t)(d[2] * d[3]);
	float *w;
	if ((st = cn_onnx_floats(m, n, wt, co * ci * kk, &w))) return st;
	l->w = malloc(co * ci * kk * sizeof(float));
	if (!l->w) {
		free(w);
		return cn_err_set(m->err, CN_ERR_NOMEM, "%s: out of memory", m->name);
	}
	l->w_len = co * ci * kk;
	for (size_t o = 0; o < co; o++) /* [CO, CI, KH*KW] -> [CO, KH*KW, CI] */
		for (size_t j = 0; j < ci; j++)
			for (size_t p = 0; p < kk; p++)
				l->w[(o * kk + p) * ci + j] = w[(o * ci + j) * kk + p];
	free(w);
	if (bias) {
		const Onnx__TensorProto *bt = const_in(m, n, 2);
		if (!bt || (st = cn_onnx_floats(m, n, bt, co, &l->b)))
			return bt ? st : CN_ERR_FORMAT;
		l->b_len = co;
	}
	out.c = (int32_t)co;
	m->s = out;
	return CN_OK;
}

static enum cn_status pool(struct imp *m, const Onnx__NodeProto *n)
{
	enum cn_status st = plain_window(m, n);
	if (st) return st;
	int64_t k[2];
	if ((st = attr_ints(m, n, "kernel_shape", 2, 1, IMP_MAX_DIM, 0, k))) return st;
	if (!k[0]) REFUSE("kernel_shape is missing");
	bool avg = is(n, "AveragePool"), lp = is(n, "LpPool");
	if (is(n, "MaxPool") && (m->padh || m->padw))
		REFUSE("follows Pad '%.40s': colnet's max pooling ignores padding, ONNX's Pad adds "
		       "zeros",
		       m->pad_node);
	int64_t p[4];
	attr_ints(m, n, "pads", 4, 0, INT64_MAX, 0, p);
	if (avg && !cn_onnx_attr_i(n, "count_include_pad", 0) && (p[0] || p[1] || p[2] || p[3]))
		REFUSE(
		    "count_include_pad 0 with padding: colnet's average counts padding as zeros");
	int64_t pe = lp ? cn_onnx_attr_i(n, "p", 2) : 0;
	if (lp && (pe < 1 || pe > 100)) REFUSE("p = %lld is outside 1..100", (long long)pe);
	char words[96];
	struct cn_shape out;
	if ((st = window(m, n, k[0], k[1], words, sizeof(words), &out))) return st;
	if (lp) {
		if (!cn_onnx_add_layer(m, n, CN_LAYER_LPPOOL2D, "lppool %s p=%lld", words,
		                       (long long)pe))
			return CN_ERR_FORMAT;
	} else if (!cn_onnx_add_layer(m, n, avg ? CN_LAYER_AVGPOOL2D : CN_LAYER_MAXPOOL2D, "%s %s",
	                              avg ? "avgpool" : "maxpool", words)) {
		return CN_ERR_FORMAT;
	}
	m->s = out;
	return CN_OK;
}

/* Pad before a Conv or pool: constant zeros on H and W only, the same on both sides. */
static enum cn_status pad(struct imp *m, const Onnx__NodeProto *n)
{
	const Onnx__AttributeProto *mode = cn_onnx_attr(n, "mode");
	if (mode && !(mode->has_s && mode->s.len == 8 && !memcmp(mode->s.data, "constant", 8)))
		REFUSE("only constant padding is supported");
	int64_t p[8];
	size_t len = 0;
	const Onnx__TensorProto *pt = const_in(m, n, 1);
	if (!pt || !cn_onnx_ints(m, n, pt, p, &len)) return CN_ERR_FORMAT;
	if (n->n_input > 2 && n->input[2] && *n->input[2]) {
		const Onnx__TensorProto *vt = const_in(m, n, 2);
		float *v;
		if (!vt || cn_onnx_floats(m, n, vt, 1, &v)) return CN_ERR_FORMAT;
		float value = *v;
		free(v);
		if (value != 0.0f) REFUSE("pads with %g, not zeros", (double)value);
	}
	if (n->n_input > 3 && n->input[3] && *n->input[3]) REFUSE("axes are not supported");
	if (len != 8 || m->flat) REFUSE("pads a tensor that is not [N, C, H, W]");
	if (p[0] || p[1] || p[4] || p[5]) REFUSE("pads the batch or channels");
	if (p[2] != p[6] || p[3] != p[7] || p[2] < 0 || p[3] < 0 || p[2] > IMP_MAX_DIM ||
	    p[3] > IMP_MAX_DIM)
		REFUSE("pads H and W unevenly or by a negative amount");
	if (p[2] || p[3]) {
		m->padh += (int32_t)p[2];
		m->padw += (int32_t)p[3];
		m->pad_node = n->name ? n->name : "";
	}
	return CN_OK;
}

/* The flattened order: CHW as ONNX flattens, unless a Transpose to NHWC came first. */
static void flatten_to(struct imp *m)
{
	bool mixed = m->s.c > 1 && (int64_t)m->s.h * m->s.w > 1;
	m->chw = !m->flat && mixed && !m->nhwc;
	m->flat_from = m->s;
	m->nhwc = false;
	m->flat = true;
}

static enum cn_status reshape(struct imp *m, const Onnx__NodeProto *n, bool flatten_op)
{
	int64_t f = (int64_t)m->s.c * m->s.h * m->s.w;
	if (flatten_op) {
		if (cn_onnx_attr_i(n, "axis", 1) != 1)
			REFUSE("flattens from axis %lld, not 1",
			       (long long)cn_onnx_attr_i(n, "axis", 1));
	} else {
		int64_t v[8];
		size_t len = 0;
		const Onnx__TensorProto *t = const_in(m, n, 1);
		if (!t)
			return cn_onnx_refuse(m, n,
			                      "dynamic shapes are not supported (the shape "
			                      "must be a constant)");
		if (!cn_onnx_ints(m, n, t, v, &len)) return CN_ERR_FORMAT;
		if (cn_onnx_attr_i(n, "allowzero", 0)) REFUSE("allowzero is not supported");
		/* [N, F] -> [N, F, 1, 1]: what colnet's conv after a linear layer sees anyway */
		if (len == 4 && m->flat && m->s.h == 1 && m->s.w == 1 &&
		    (v[0] == 0 || v[0] == -1) && v[1] == f && v[2] == 1 && v[3] == 1) {
			m->flat = m->chw = false;
			return CN_OK;
		}
		if (len != 2 || (v[0] != 0 && v[0] != -1) || (v[1] != f && v[1] != -1) ||
		    (v[0] == -1 && v[1] == -1))
			REFUSE("reshapes to something other than [N, %lld] (only flattening is "
			       "supported, and the batch must stay free)",
			       (long long)f);
	}
	if (m->flat) return CN_OK;
	flatten_to(m);
	if (!cn_onnx_add_layer(m, n, CN_LAYER_FLATTEN, "flatten")) return CN_ERR_FORMAT;
	m->s = (struct cn_shape){(int32_t)f, 1, 1};
	return CN_OK;
}

enum cn_status cn_onnx_import_node(struct imp *m, size_t i)
{
	const Onnx__NodeProto *n = m->g->node[i];
	if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0)
		REFUSE("domain '%.40s' is not supported", n->domain);
	if (!n->op_type || n->n_output < 1 || !n->output[0] || !*n->output[0])
		REFUSE("has no op type or output");
	if (n->n_input < 1 || !n->input[0] || strcmp(n->input[0], m->x) != 0) {
		bool commutes = is(n, "Add") && n->n_input == 2 && n->input[1] &&
		                strcmp(n->input[1], m->x) == 0;
		if (!commutes) REFUSE("reads '%.40s' other than as its first input", m->x);
	}
	for (size_t j = 1; j < n->n_output; j++) /* MaxPool's indices, Dropout's mask, ... */
		if (n->output[j] && *n->output[j] && cn_onnx_readers(m, n->output[j], NULL))
			REFUSE("its output %zu is used: branches are not supported", j);
	if ((m->padh || m->padw) && !is(n, "Conv") && !is(n, "AveragePool") && !is(n, "LpPool") &&
	    !is(n, "MaxPool") && !is(n, "Pad"))
		REFUSE("follows Pad '%.40s', which colnet can only fold into a Conv or pool",
		       m->pad_node);
	if (m->nhwc && !is(n, "Flatten") && !is(n, "Reshape"))
		REFUSE("follows a Transpose to NHWC, which colnet reads only before a flatten");
	enum cn_status st;
	if (is(n, "Conv"))
		st = conv(m, n);
	else if (is(n, "MaxPool") || is(n, "AveragePool") || is(n, "LpPool"))
		st = pool(m, n);
	else if (is(n, "Pad"))
		st = pad(m, n);
	else if (is(n, "Flatten") || is(n, "Reshape"))
		st = reshape(m, n, is(n, "Flatten"));
	else
		st = cn_onnx_import_dense(m, n);
	if (st) return st;
	m->x = n->output[0];
	return CN_OK;
}
