/*
 * Reading an ONNX model into a colnet network. protobuf-c's generated reader unpacks the
 * bytes; this file checks the model's frame (opset, one image input [N, C, H, W] with only N
 * free, one output), then walks the single path from the input to the output node by node,
 * refusing branches, cycles and nodes off the path, and finally builds the network from the
 * spec and parameters the walk collected, through cn_net_create like any other.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"
#include "../error.h"
#include "colnet_onnx.h"
#include "import.h"
#include "onnx.h"

enum cn_status cn_onnx_refuse(struct imp *m, const Onnx__NodeProto *n, const char *fmt, ...)
{
	char why[CN_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (n)
		return cn_err_set(m->err, CN_ERR_FORMAT, "%s: node '%.40s' (%.24s): %s", m->name,
		                  n->name && *n->name ? n->name : "(unnamed)",
		                  n->op_type ? n->op_type : "?", why);
	return cn_err_set(m->err, CN_ERR_FORMAT, "%s: %s", m->name, why);
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

const Onnx__AttributeProto *cn_onnx_attr(const Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++)
		if (n->attribute[i] && same(n->attribute[i]->name, name)) return n->attribute[i];
	return NULL;
}

int64_t cn_onnx_attr_i(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
	const Onnx__AttributeProto *a = cn_onnx_attr(n, name);
	return a && a->has_i ? a->i : dflt;
}

float cn_onnx_attr_f(const Onnx__NodeProto *n, const char *name, float dflt)
{
	const Onnx__AttributeProto *a = cn_onnx_attr(n, name);
	return a && a->has_f ? a->f : dflt;
}

const Onnx__TensorProto *cn_onnx_const(const struct imp *m, const char *name)
{
	if (!name || !*name) return NULL;
	for (size_t i = 0; i < m->g->n_initializer; i++)
		if (same(m->g->initializer[i]->name, name)) return m->g->initializer[i];
	for (size_t i = 0; i < m->g->n_node; i++) {
		const Onnx__NodeProto *n = m->g->node[i];
		if (!same(n->op_type, "Constant") || n->n_output != 1 || !same(n->output[0], name))
			continue;
		const Onnx__AttributeProto *v = cn_onnx_attr(n, "value");
		return v ? v->t : NULL;
	}
	return NULL;
}

int cn_onnx_readers(const struct imp *m, const char *name, size_t *first)
{
	int k = 0;
	for (size_t i = 0; i < m->g->n_node; i++) {
		const Onnx__NodeProto *n = m->g->node[i];
		for (size_t j = 0; j < n->n_input; j++)
			if (same(n->input[j], name)) {
				if (!k++ && first) *first = i;
				break;
			}
	}
	return k;
}

struct imp_layer *cn_onnx_add_layer(struct imp *m, const Onnx__NodeProto *n,
                                    enum cn_layer_kind kind, const char *fmt, ...)
{
	if (m->n_layers == CN_SPEC_MAX_LAYERS) {
		cn_onnx_refuse(m, n, "more than %d layers", CN_SPEC_MAX_LAYERS);
		return NULL;
	}
	struct imp_layer *l = &m->layers[m->n_layers++];
	*l = (struct imp_layer){.kind = kind};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
	return l;
}

/* The default domain's opset, which must be one colnet knows the operators of. */
static enum cn_status check_opset(struct imp *m, const Onnx__ModelProto *mp)
{
	m->opset = -1;
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
		if (!o->domain || !*o->domain || same(o->domain, "ai.onnx")) m->opset = o->version;
	}
	if (m->opset < 0) return cn_onnx_refuse(m, NULL, "no opset of the default ONNX domain");
	if (m->opset < CN_ONNX_OPSET_LO || m->opset > CN_ONNX_OPSET_HI)
		return cn_onnx_refuse(m, NULL, "opset %lld: colnet reads opsets %d to %d",
		                      (long long)m->opset, CN_ONNX_OPSET_LO, CN_ONNX_OPSET_HI);
	return CN_OK;
}

/* One static dimension of an input's type, in 1..IMP_MAX_DIM; -1 if symbolic or absurd. */
static int64_t static_dim(const Onnx__TensorShapeProto *sh, size_t i)
{
	const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
	if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) return -1;
	return d->dim_value >= 1 && d->dim_value <= IMP_MAX_DIM ? d->dim_value : -1;
}

/* The one input that is not an initializer: float [N, C, H, W] with C, H, W fixed. */
static enum cn_status check_io(struct imp *m)
{
	const Onnx__ValueInfoProto *in = NULL;
	for (size_t i = 0; i < m->g->n_input; i++) {
		if (cn_onnx_const(m, m->g->input[i]->name)) continue; /* IR < 4 lists them */
		if (in) return cn_onnx_refuse(m, NULL, "more than one graph input");
		in = m->g->input[i];
	}
	if (!in || !in->name || !*in->name) return cn_onnx_refuse(m, NULL, "no graph input");
	if (m->g->n_output != 1 || !m->g->output[0]->name)
		return cn_onnx_refuse(m, NULL, "%zu graph outputs: colnet gives one",
		                      m->g->n_output);
	m->output = m->g->output[0]->name;
	const Onnx__TypeProto *t = in->type;
	if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type ||
	    t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
		return cn_onnx_refuse(m, NULL, "input '%.40s' is not a float tensor", in->name);
	const Onnx__TensorShapeProto *sh = t->tensor_type->shape;
	if (!sh || sh->n_dim != 4)
		return cn_onnx_refuse(m, NULL,
		                      "input '%.40s' is not [N, C, H, W] (colnet takes "
		                      "images)",
		                      in->name);
	int64_t c = static_dim(sh, 1), h = static_dim(sh, 2), w = static_dim(sh, 3);
	if (c < 0 || h < 0 || w < 0)
		return cn_onnx_refuse(m, NULL,
		                      "input '%.40s': C, H and W must be fixed sizes in "
		                      "1..%d (only the batch may be dynamic)",
		                      in->name, IMP_MAX_DIM);
	if (c * h * w > (int64_t)1 << 28)
		return cn_onnx_refuse(m, NULL, "input %lldx%lldx%lld is too large", (long long)c,
		                      (long long)h, (long long)w);
	m->x = in->name;
	m->s = (struct cn_shape){(int32_t)c, (int32_t)h, (int32_t)w};
	return CN_OK;
}

/* Follow the path from the input: each tensor must have exactly one reader. */
static enum cn_status walk(struct imp *m)
{
	for (size_t steps = 0; !same(m->x, m->output); steps++) {
		if (steps > m->g->n_node) return cn_onnx_refuse(m, NULL, "the graph has a cycle");
		size_t i = 0;
		int k = cn_onnx_readers(m, m->x, &i);
		if (k == 0)
			return cn_onnx_refuse(m, NULL,
			                      "tensor '%.40s' leads nowhere: the output "
			                      "'%.40s' is not reached",
			                      m->x, m->output);
		if (k > 1) {
			enum cn_status st = CN_OK;
			if (cn_onnx_match_rbf(m, &st)) {
				if (st) return st;
				continue;
			}
			for (size_t j = i; j < m->g->n_node; j++)
				if (same(m->g->node[j]->op_type, "Shape"))
					return cn_onnx_refuse(
					    m, m->g->node[j],
					    "dynamic shapes are not supported (flatten "
					    "with Flatten or a constant Reshape)");
			return cn_onnx_refuse(m, m->g->node[i],
			                      "tensor '%.40s' has %d readers: "
			                      "branches are not supported",
			                      m->x, k);
		}
		if (m->done[i]) return cn_onnx_refuse(m, m->g->node[i], "the graph has a cycle");
		m->done[i] = true;
		enum cn_status st = cn_onnx_import_node(m, i);
		if (st) return st;
	}
	if (m->padh || m->padw)
		return cn_onnx_refuse(m, NULL, "Pad '%.40s' feeds no Conv or pool", m->pad_node);
	for (size_t i = 0; i < m->g->n_node; i++)
		if (!m->done[i] && !same(m->g->node[i]->op_type, "Constant"))
			return cn_onnx_refuse(m, m->g->node[i],
			                      "not on the path from the input to "
			                      "the output: branches are not supported");
	return CN_OK;
}

/* The spec and parameter block the walk collected, as a network. */
static enum cn_status build(struct imp *m, struct cn_shape in, struct cn_net **net)
{
	size_t cap = (size_t)m->n_layers * 160 + 1, len = 0, n_params = 0, n_state = 0;
	char *spec = malloc(cap);
	if (!spec) return cn_err_set(m->err, CN_ERR_NOMEM, "%s: out of memory", m->name);
	spec[0] = '\0';
	for (int32_t i = 0; i < m->n_layers; i++) {
		const struct imp_layer *l = &m->layers[i];
		char act[32] = "";
		if (l->act == CN_ACT_LEAKY_RELU)
			snprintf(act, sizeof(act), " leaky=%.9g", (double)l->slope);
		else if (l->act != CN_ACT_IDENTITY)
			snprintf(act, sizeof(act), " %s", cn_act_name(l->act));
		len +=
		    (size_t)snprintf(spec + len, cap - len, "%s%s%s", i ? " | " : "", l->text, act);
		n_params += l->w_len + l->b_len;
		n_state += l->state_len;
	}
	enum cn_status st = m->n_layers ? cn_net_create(net, spec, in, 1, m->err)
	                                : cn_onnx_refuse(m, NULL, "the graph has no layers");
	if (!st && (cn_net_param_count(*net) != n_params || cn_net_state_count(*net) != n_state)) {
		st = cn_onnx_refuse(m, NULL, "internal: %zu parameters read, %zu in '%s'", n_params,
		                    cn_net_param_count(*net), spec);
		cn_net_free(*net);
		*net = NULL;
	}
	free(spec);
	if (st) return st;
	float *p = cn_net_params(*net), *s = cn_net_state(*net);
	for (int32_t i = 0; i < m->n_layers; i++) {
		const struct imp_layer *l = &m->layers[i];
		if (l->w_len) memcpy(p, l->w, l->w_len * sizeof(float));
		p += l->w_len;
		if (l->b_len) memcpy(p, l->b, l->b_len * sizeof(float));
		p += l->b_len;
		if (l->state_len) memcpy(s, l->state, l->state_len * sizeof(float));
		s += l->state_len;
	}
	cn_net_set_training(*net, 0); /* a model read for inference; train switches it on */
	return CN_OK;
}

enum cn_status cn_onnx_load_mem(struct cn_net **net, const void *data, size_t len, const char *name,
                                char err[CN_ERR_LEN])
{
	if (!net || (!data && len)) return cn_err_set(err, CN_ERR_ARG, "onnx: NULL argument");
	*net = NULL;
	struct imp *m = calloc(1, sizeof(*m));
	if (!m) return cn_err_set(err, CN_ERR_NOMEM, "onnx: out of memory");
	m->name = name ? name : "onnx";
	m->err = err;
	enum cn_status st = CN_OK;
	Onnx__ModelProto *mp = NULL;
	if (!cn_onnx_depth_ok((const uint8_t *)data, len)) {
		st = cn_onnx_refuse(m, NULL,
		                    "messages nested deeper than any model (corrupt or "
		                    "hostile)");
		goto done;
	}
	mp = onnx__model_proto__unpack(NULL, len, data);
	if (!mp) {
		st = cn_onnx_refuse(m, NULL,
		                    "not an ONNX model (protobuf decoding failed: "
		                    "truncated or corrupt)");
		goto done;
	}
	if (!mp->graph) {
		st = cn_onnx_refuse(m, NULL, "the model has no graph");
		goto done;
	}
	m->g = mp->graph;
	if (m->g->n_node > IMP_MAX_NODES) {
		st =
		    cn_onnx_refuse(m, NULL, "%zu nodes: more than %d", m->g->n_node, IMP_MAX_NODES);
		goto done;
	}
	m->done = calloc(m->g->n_node + 1, sizeof(bool));
	if (!m->done) {
		st = cn_err_set(err, CN_ERR_NOMEM, "%s: out of memory", m->name);
		goto done;
	}
	if ((st = check_opset(m, mp)) || (st = check_io(m))) goto done;
	struct cn_shape in = m->s;
	if ((st = walk(m))) goto done;
	st = build(m, in, net);
done:
	for (int32_t i = 0; i < m->n_layers; i++) {
		free(m->layers[i].w);
		free(m->layers[i].b);
		free(m->layers[i].state);
	}
	free(m->done);
	free(m);
	if (mp) onnx__model_proto__free_unpacked(mp, NULL);
	return st;
}

enum cn_status cn_onnx_load(struct cn_net **net, const char *path, char err[CN_ERR_LEN])
{
	if (!net || !path) return cn_err_set(err, CN_ERR_ARG, "onnx: NULL argument");
	*net = NULL;
	uint8_t *buf;
	size_t len;
	enum cn_status st = cn_bytes_read_file(path, path, CN_ONNX_MAX_BYTES, &buf, &len, err);
	if (st) return st;
	st = cn_onnx_load_mem(net, buf, len, path, err);
	free(buf);
	return st;
}
