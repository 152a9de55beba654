/*
 * The rbf subgraph colnet writes (rbf.c has its shape) read back as one rbf layer: the only
 * place the importer accepts a tensor with two readers. Each node of the pattern must be the
 * only reader of its input, with the ops and constants export writes; anything else is not
 * this pattern, and the walk then refuses the branch.
 */
#include <stdlib.h>
#include <string.h>

#include "import.h"

/* the node reading tensor t whose op is op (and, if sole, t's only reader), or NULL */
static const Onnx__NodeProto *reader(struct imp *m, const char *t, const char *op, bool sole,
                                     size_t *at)
{
	if (!t || (sole && cn_onnx_readers(m, t, NULL) != 1)) return NULL;
	for (size_t i = 0; i < m->g->n_node; i++) {
		const Onnx__NodeProto *n = m->g->node[i];
		if (m->done[i] || !n->op_type || strcmp(n->op_type, op) || n->n_output < 1)
			continue;
		for (size_t j = 0; j < n->n_input; j++)
			if (n->input[j] && strcmp(n->input[j], t) == 0) {
				*at = i;
				return n;
			}
	}
	return NULL;
}

/* the other input of binary node n, which reads t */
static const char *other(const Onnx__NodeProto *n, const char *t)
{
	if (n->n_input != 2 || !n->input[0] || !n->input[1]) return NULL;
	return strcmp(n->input[0], t) == 0 ? n->input[1] : n->input[0];
}

/* a constant scalar (one float) equal to v */
static bool scalar(struct imp *m, const Onnx__NodeProto *n, const char *name, float v)
{
	const Onnx__TensorProto *t = name ? cn_onnx_const(m, name) : NULL;
	float *f;
	if (!t || t->n_dims > 1 || cn_onnx_floats(m, n, t, 1, &f)) return false;
	bool ok = *f == v;
	free(f);
	return ok;
}

bool cn_onnx_match_rbf(struct imp *m, enum cn_status *st)
{
	size_t at[10];
	const Onnx__NodeProto *xx = reader(m, m->x, "ReduceSumSquare", false, &at[0]);
	const Onnx__NodeProto *dot = reader(m, m->x, "Gemm", false, &at[1]);
	if (!m->flat || m->chw || !xx || !dot || cn_onnx_readers(m, m->x, NULL) != 2 ||
	    dot->n_input != 3 || cn_onnx_attr_f(dot, "alpha", 1) != -2.0f ||
	    cn_onnx_attr_i(dot, "transB", 0) != 1)
		return false;
	const Onnx__TensorProto *mu = cn_onnx_const(m, dot->input[1]);
	const Onnx__NodeProto *mm = reader(m, dot->input[1], "ReduceSumSquare", false, &at[2]);
	if (!mu || !mm || mm->n_output < 1 || strcmp(mm->output[0], dot->input[2]) != 0)
		return false;
	const Onnx__NodeProto *dist = reader(m, dot->output[0], "Add", true, &at[3]);
	if (!dist || !other(dist, dot->output[0]) ||
	    strcmp(other(dist, dot->output[0]), xx->output[0]))
		return false;
	const Onnx__NodeProto *clamp = reader(m, dist->output[0], "Max", true, &at[4]);
	if (!clamp || !scalar(m, clamp, other(clamp, dist->output[0]), 0.0f)) return false;
	const Onnx__NodeProto *r = reader(m, clamp->output[0], "Mul", true, &at[5]);
	const char *gamma = r ? other(r, clamp->output[0]) : NULL;
	size_t ge = 0;
	const Onnx__NodeProto *exp_lg = NULL;
	for (size_t i = 0; gamma && i < m->g->n_node && !exp_lg; i++)
		if (m->g->node[i]->n_output && m->g->node[i]->output[0] &&
		    strcmp(m->g->node[i]->output[0], gamma) == 0 && m->g->node[i]->n_input == 1 &&
		    m->g->node[i]->op_type && strcmp(m->g->node[i]->op_type, "Exp") == 0)
			exp_lg = m->g->node[ge = i];
	if (!exp_lg || !cn_onnx_const(m, exp_lg->input[0])) return false;
	at[6] = ge;
	const Onnx__NodeProto *last, *neg = reader(m, r->output[0], "Neg", true, &at[7]);
	bool gauss = neg != NULL;
	size_t n_at;
	if (gauss) {
		if (!(last = reader(m, neg->output[0], "Exp", true, &at[8]))) return false;
		n_at = 9;
	} else {
		const Onnx__NodeProto *s = reader(m, r->output[0], "Add", true, &at[7]), *q;
		if (!s || !scalar(m, s, other(s, r->output[0]), 1.0f) ||
		    !(q = reader(m, s->output[0], "Sqrt", true, &at[8])) ||
		    !(last = reader(m, q->output[0], "Reciprocal", true, &at[9])))
			return false;
		n_at = 10;
	}
	/* the pattern holds: from here on a bad tensor is an error, not a mismatch */
	int64_t k = mu->n_dims == 2 ? mu->dims[0] : 0;
	struct imp_layer *l = cn_onnx_add_layer(m, dot, CN_LAYER_RBF, "rbf %lld %s", (long long)k,
	                                        gauss ? "gaussian" : "imq");
	if (!l) return *st = CN_ERR_FORMAT, true;
	if (mu->n_dims != 2 || mu->dims[1] != m->s.c || k < 1 || k > (int64_t)1 << 24) {
		*st = cn_onnx_refuse(m, dot, "centers must be [K, %d]", m->s.c);
		return true;
	}
	if ((*st = cn_onnx_floats(m, dot, mu, (size_t)(k * m->s.c), &l->w))) return true;
	l->w_len = (size_t)(k * m->s.c);
	if ((*st = cn_onnx_floats(m, exp_lg, cn_onnx_const(m, exp_lg->input[0]), (size_t)k, &l->b)))
		return true;
	l->b_len = (size_t)k;
	for (size_t i = 0; i < n_at; i++) m->done[at[i]] = true;
	m->x = last->output[0];
	m->s = (struct cn_shape){(int32_t)k, 1, 1};
	return true;
}
