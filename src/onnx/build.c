/*
 * The export's graph builder (build.h): protobuf-c structs carved from a list of malloc'd
 * blocks. Tensor data is copied into float_data/int64_data (packed repeated fields), so
 * protobuf-c, not colnet, decides the byte order on the wire.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"

void *cn_onnx_alloc(struct cn_onnx_builder *b, size_t len)
{
	if (b->oom) goto oom;
	if (b->n_blocks == b->cap_blocks) {
		size_t cap = b->cap_blocks ? 2 * b->cap_blocks : 256;
		void **p = realloc(b->blocks, cap * sizeof(*p));
		if (!p) goto oom;
		b->blocks = p;
		b->cap_blocks = cap;
	}
	void *p = calloc(1, len ? len : 1);
	if (!p) goto oom;
	b->blocks[b->n_blocks++] = p;
	return p;
oom:
	b->oom = true;
	return NULL;
}

char *cn_onnx_str(struct cn_onnx_builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = cn_onnx_alloc(b, n > 0 ? (size_t)n + 1 : 1);
	if (b->oom || !s) return "";
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* append p to the array *arr of *n pointers */
static void push(struct cn_onnx_builder *b, void ***arr, size_t *n, void *p)
{
	void **a = cn_onnx_alloc(b, (*n + 1) * sizeof(*a));
	if (b->oom || !a) return;
	if (*n) memcpy(a, *arr, *n * sizeof(*a));
	a[(*n)++] = p;
	*arr = a;
}

bool cn_onnx_builder_init(struct cn_onnx_builder *b, const char *name)
{
	*b = (struct cn_onnx_builder){0};
	b->graph = cn_onnx_alloc(b, sizeof(*b->graph));
	if (b->oom) return false;
	onnx__graph_proto__init(b->graph);
	b->graph->name = cn_onnx_str(b, "%s", name);
	return !b->oom;
}

void cn_onnx_builder_free(struct cn_onnx_builder *b)
{
	for (size_t i = 0; i < b->n_blocks; i++) free(b->blocks[i]);
	free(b->blocks);
	*b = (struct cn_onnx_builder){0};
}

Onnx__NodeProto *cn_onnx_node(struct cn_onnx_builder *b, const char *op_type, const char *name,
                              const char *const *inputs, size_t n_inputs, const char **out)
{
	Onnx__NodeProto *n = cn_onnx_alloc(b, sizeof(*n));
	char **in = cn_onnx_alloc(b, (n_inputs ? n_inputs : 1) * sizeof(char *));
	char **o = cn_onnx_alloc(b, sizeof(char *));
	if (!b->oom) {
		onnx__node_proto__init(n);
		n->op_type = cn_onnx_str(b, "%s", op_type);
		n->name = cn_onnx_str(b, "%s", name);
		for (size_t i = 0; i < n_inputs; i++)
			in[i] = (char *)inputs[i]; /* before *out moves */
		n->input = in;
		n->n_input = n_inputs;
		o[0] = cn_onnx_str(b, "%s_out%d", name, b->names++);
		n->output = o;
		n->n_output = 1;
		push(b, (void ***)&b->graph->node, &b->graph->n_node, n);
	}
	if (out) *out = b->oom ? "" : o[0];
	return b->oom ? NULL : n;
}

static Onnx__AttributeProto *attr(struct cn_onnx_builder *b, Onnx__NodeProto *n, const char *name,
                                  Onnx__AttributeProto__AttributeType type)
{
	Onnx__AttributeProto *a = b->oom ? NULL : cn_onnx_alloc(b, sizeof(*a));
	if (b->oom) return NULL;
	onnx__attribute_proto__init(a);
	a->name = cn_onnx_str(b, "%s", name);
	a->has_type = 1;
	a->type = type;
	push(b, (void ***)&n->attribute, &n->n_attribute, a);
	return a;
}

void cn_onnx_attr_int(struct cn_onnx_builder *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
	if (b->oom) return;
	a->has_i = 1;
	a->i = v;
}

void cn_onnx_attr_float(struct cn_onnx_builder *b, Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
	if (b->oom) return;
	a->has_f = 1;
	a->f = v;
}

void cn_onnx_attr_ints(struct cn_onnx_builder *b, Onnx__NodeProto *n, const char *name,
                       const int64_t *v, size_t len)
{
	Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
	int64_t *copy = b->oom ? NULL : cn_onnx_alloc(b, len * sizeof(*copy));
	if (b->oom) return;
	memcpy(copy, v, len * sizeof(*copy));
	a->ints = copy;
	a->n_ints = len;
}

static Onnx__TensorProto *tensor(struct cn_onnx_builder *b, const char *name, const int64_t *dims,
                                 size_t n_dims, Onnx__TensorProto__DataType type)
{
	Onnx__TensorProto *t = cn_onnx_alloc(b, sizeof(*t));
	if (b->oom) return NULL;
	onnx__tensor_proto__init(t);
	t->name = cn_onnx_str(b, "%s", name);
	t->has_data_type = 1;
	t->data_type = type;
	t->dims = cn_onnx_alloc(b, (n_dims ? n_dims : 1) * sizeof(*t->dims));
	if (b->oom) return t;
	memcpy(t->dims, dims, n_dims * sizeof(*dims));
	t->n_dims = n_dims;
	push(b, (void ***)&b->graph->initializer, &b->graph->n_initializer, t);
	return t;
}

static size_t count(const int64_t *dims, size_t n_dims)
{
	size_t len = 1;
	for (size_t i = 0; i < n_dims; i++) len *= (size_t)dims[i];
	return len;
}

const char *cn_onnx_init(struct cn_onnx_builder *b, const char *name, const int64_t *dims,
                         size_t n_dims, const float *data)
{
	Onnx__TensorProto *t = tensor(b, name, dims, n_dims, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
	size_t len = count(dims, n_dims);
	float *copy = b->oom ? NULL : cn_onnx_alloc(b, len * sizeof(*copy));
	if (b->oom) return "";
	memcpy(copy, data, len * sizeof(*copy));
	t->float_data = copy;
	t->n_float_data = len;
	return t->name;
}

const char *cn_onnx_init_i64(struct cn_onnx_builder *b, const char *name, const int64_t *dims,
                             size_t n_dims, const int64_t *data)
{
	Onnx__TensorProto *t = tensor(b, name, dims, n_dims, ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
	size_t len = count(dims, n_dims);
	int64_t *copy = b->oom ? NULL : cn_onnx_alloc(b, len * sizeof(*copy));
	if (b->oom) return "";
	memcpy(copy, data, len * sizeof(*copy));
	t->int64_data = copy;
	t->n_int64_data = len;
	return t->name;
}

void cn_onnx_io(struct cn_onnx_builder *b, bool input, const char *name, const int64_t *dims,
                size_t n_dims)
{
	Onnx__ValueInfoProto *v = cn_onnx_alloc(b, sizeof(*v));
	Onnx__TypeProto *tp = cn_onnx_alloc(b, sizeof(*tp));
	Onnx__TypeProto__Tensor *tt = cn_onnx_alloc(b, sizeof(*tt));
	Onnx__TensorShapeProto *sh = cn_onnx_alloc(b, sizeof(*sh));
	Onnx__TensorShapeProto__Dimension **d = cn_onnx_alloc(b, (n_dims + 1) * sizeof(*d));
	if (b->oom) return;
	onnx__value_info_proto__init(v);
	onnx__type_proto__init(tp);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sh);
	for (size_t i = 0; i <= n_dims; i++) {
		d[i] = cn_onnx_alloc(b, sizeof(*d[i]));
		if (b->oom) return;
		onnx__tensor_shape_proto__dimension__init(d[i]);
		if (i == 0) {
			d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			d[i]->dim_param = "N";
		} else {
			d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			d[i]->dim_value = dims[i - 1];
		}
	}
	sh->dim = d;
	sh->n_dim = n_dims + 1;
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	v->name = (char *)name;
	v->type = tp;
	if (input)
		push(b, (void ***)&b->graph->input, &b->graph->n_input, v);
	else
		push(b, (void ***)&b->graph->output, &b->graph->n_output, v);
}
