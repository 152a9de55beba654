/*
 * ONNX -> colnet, shared by the importer's files: the walk over the graph (import.c) keeps a
 * cursor on the one tensor flowing from the input to the output and a list of colnet layers
 * (spec text + parameters); each node it meets is translated by import_ops.c (or, for the
 * rbf subgraph colnet writes, import_rbf.c). Everything here distrusts the file.
 */
#ifndef CN_ONNX_IMPORT_H
#define CN_ONNX_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <onnx.pb-c.h>

#include "../layer.h"
#include "../spec.h"

#define IMP_MAX_NODES 65536 /* more than any sequential CNN has; bounds the walk's work */
#define IMP_MAX_DIM   65536 /* per image dimension */

struct imp_layer {
	enum cn_layer_kind kind;
	char text[112];  /* spec words without the activation */
	enum cn_act act; /* applied on the output (CN_ACT_IDENTITY: none) */
	float slope;
	float *w, *b, *state; /* malloc'd, colnet's layouts; NULL when absent */
	size_t w_len, b_len, state_len;
};

struct imp {
	const char *name; /* starts every message */
	char *err;
	const Onnx__GraphProto *g;
	int64_t opset;
	/* the tensor flowing through, and its per-image shape in colnet's terms */
	const char *x;
	struct cn_shape s;
	bool flat; /* [N, F] rather than [N, C, H, W] */
	bool chw;  /* flat in ONNX's CHW order: the next Gemm's weights need permuting */
	bool nhwc; /* a Transpose to NHWC is pending: the next Flatten keeps colnet's order */
	struct cn_shape flat_from; /* the shape the last flatten flattened */
	int32_t padh, padw;        /* a Pad waiting for the next Conv or pool */
	const char *pad_node;
	struct imp_layer layers[CN_SPEC_MAX_LAYERS];
	int32_t n_layers;
	bool *done;         /* [n_node] nodes already translated */
	const char *output; /* the graph's output */
};

/* Set the message "NAME: node 'N' (Op): ..." and return CN_ERR_FORMAT. */
enum cn_status cn_onnx_refuse(struct imp *m, const Onnx__NodeProto *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A constant: an initializer or a Constant node's value; NULL if name is neither. */
const Onnx__TensorProto *cn_onnx_const(const struct imp *m, const char *name);

/*
 * The float tensor t as len floats into a malloc'd *out, checking its type, dims (each in
 * 1..2^31, product == len) and data length. CN_ERR_FORMAT with a message naming node n.
 */
enum cn_status cn_onnx_floats(struct imp *m, const Onnx__NodeProto *n, const Onnx__TensorProto *t,
                              size_t len, float **out);
/* t's dims (*n_dims of them, at most 4) after the checks above; false after a message. */
bool cn_onnx_dims(struct imp *m, const Onnx__NodeProto *n, const Onnx__TensorProto *t,
                  int64_t dims[4], size_t *n_dims);
/* An int64 tensor of at most 8 elements (shapes, pads) into v; *len its element count. */
bool cn_onnx_ints(struct imp *m, const Onnx__NodeProto *n, const Onnx__TensorProto *t, int64_t v[8],
                  size_t *len);

/* A node's attribute by name, or NULL; an int or float attribute's value, or dflt. */
const Onnx__AttributeProto *cn_onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t cn_onnx_attr_i(const Onnx__NodeProto *n, const char *name, int64_t dflt);
float cn_onnx_attr_f(const Onnx__NodeProto *n, const char *name, float dflt);

/* A new layer of kind (spec words from fmt); NULL after a message if there are too many. */
struct imp_layer *cn_onnx_add_layer(struct imp *m, const Onnx__NodeProto *n,
                                    enum cn_layer_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* How many nodes read tensor name (as any input), and the first of them (index) in *first. */
int cn_onnx_readers(const struct imp *m, const char *name, size_t *first);

/* Translate node n (the one reading m->x); moves m->x to its output. */
enum cn_status cn_onnx_import_node(struct imp *m, size_t node);

/* Gemm, MatMul (+ Add), BatchNormalization, activations, Dropout, Identity, Softmax at the
   end, Transpose to NHWC (import_dense.c); anything else is refused. */
enum cn_status cn_onnx_import_dense(struct imp *m, const Onnx__NodeProto *n);

/* The rbf subgraph colnet writes, starting at the two readers of m->x; false if it is not. */
bool cn_onnx_match_rbf(struct imp *m, enum cn_status *st);

#endif
