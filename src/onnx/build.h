/*
 * Building an ONNX graph for export: protobuf-c message structs allocated from one list of
 * blocks, freed together (a graph is built once, packed, and dropped). An allocation failure
 * sets b->oom and returns a harmless stand-in, so export code reads straight through and
 * checks once, at the end.
 */
#ifndef CN_ONNX_BUILD_H
#define CN_ONNX_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <onnx.pb-c.h>

struct cn_onnx_builder {
	void **blocks; /* [n_blocks] every allocation, freed by cn_onnx_builder_free */
	size_t n_blocks, cap_blocks;
	bool oom;
	Onnx__GraphProto *graph;
	int names; /* counter for unique tensor names */
};

/* A builder holding an empty graph named name; false if out of memory. */
bool cn_onnx_builder_init(struct cn_onnx_builder *b, const char *name);
void cn_onnx_builder_free(struct cn_onnx_builder *b);

/* len zeroed bytes owned by the builder (never NULL: a static stand-in after oom). */
void *cn_onnx_alloc(struct cn_onnx_builder *b, size_t len);
/* A builder-owned copy of printf(fmt, ...). */
char *cn_onnx_str(struct cn_onnx_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Append node op_type(inputs) -> a fresh output named after name; returns the node so
 * attributes can be added, and its output's name through *out (may be NULL).
 */
Onnx__NodeProto *cn_onnx_node(struct cn_onnx_builder *b, const char *op_type, const char *name,
                              const char *const *inputs, size_t n_inputs, const char **out);
void cn_onnx_attr_int(struct cn_onnx_builder *b, Onnx__NodeProto *n, const char *name, int64_t v);
void cn_onnx_attr_float(struct cn_onnx_builder *b, Onnx__NodeProto *n, const char *name, float v);
void cn_onnx_attr_ints(struct cn_onnx_builder *b, Onnx__NodeProto *n, const char *name,
                       const int64_t *v, size_t len);

/*
 * Add a float initializer name [dims] holding data (copied, so callers may pass a scratch
 * buffer); returns its name.
 */
const char *cn_onnx_init(struct cn_onnx_builder *b, const char *name, const int64_t *dims,
                         size_t n_dims, const float *data);
/* An int64 initializer (shapes, axes). */
const char *cn_onnx_init_i64(struct cn_onnx_builder *b, const char *name, const int64_t *dims,
                             size_t n_dims, const int64_t *data);

/* A graph input or output: float tensor name [N, d1, ...] with the batch left symbolic. */
void cn_onnx_io(struct cn_onnx_builder *b, bool input, const char *name, const int64_t *dims,
                size_t n_dims);

#endif
