/*
 * What the ONNX files share inside libcolnet-onnx.a: the export of one rbf layer as a
 * subgraph (its import is matched in import_rbf.c), the opset written, and the file helpers.
 */
#ifndef CN_ONNX_INTERNAL_H
#define CN_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../layer.h"
#include "build.h"

#define CN_ONNX_OPSET     13 /* what cn_onnx_save writes */
#define CN_ONNX_OPSET_LO  11 /* what cn_onnx_load reads */
#define CN_ONNX_OPSET_HI  17
#define CN_ONNX_MAX_BYTES ((uint64_t)2 << 30) /* protobuf's own limit on one message */

/*
 * Append rbf layer l on x [N, D] (flat, colnet's order): returns the output's name. The
 * subgraph computes γ·max(‖x‖² − 2x·μᵀ + ‖μ‖², 0) with γ = Exp(log-widths), then
 * Exp(−r) or 1/√(1 + r), keeping μ and the log-widths as initializers so import reads them
 * back bit for bit.
 */
const char *cn_onnx_export_rbf(struct cn_onnx_builder *b, const struct cn_layer *l, int i,
                               const char *x);

/* Whether the protobuf in data nests messages no deeper than protobuf-c's unpacker can
   recurse safely (depth.c); corrupt data passes, for the unpacker to refuse. */
bool cn_onnx_depth_ok(const uint8_t *data, size_t len);

#endif
