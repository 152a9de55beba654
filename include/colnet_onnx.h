/*
 * colnet's ONNX import and export: libcolnet-onnx.a, linked beside libcolnet.a together with
 * protobuf-c (-lcolnet-onnx -lcolnet -lprotobuf-c ...). A program that never reads or writes
 * ONNX needs neither this header nor that archive.
 *
 * The input convention both ways: a graph takes one float input [N, C, H, W] (NCHW, N free),
 * pixels in [0, 1] as PyTorch's ToTensor gives them, and gives one output [N, outputs]: the
 * network's logits, as cn_net_forward gives them. colnet applies no normalisation of its own.
 * Conventions of colnet.h hold (status codes, CN_ERR_LEN message buffers that may be NULL).
 */
#ifndef COLNET_ONNX_H
#define COLNET_ONNX_H

#include <stddef.h>

#include "colnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Write net as an ONNX model (IR 8, opset 13) in inference form: dropout dropped, batch norm
 * with its running statistics, rbf layers as a subgraph of standard ops. colnet flattens NHWC
 * and ONNX NCHW: a linear layer after a flatten gets its weights permuted to NCHW order, and a
 * flatten feeding anything else is preceded by a Transpose. Written atomically (temporary
 * file, fsync, rename) with permissions 0666 minus the umask, or an existing file's.
 * Errors: CN_ERR_ARG (a layer ONNX cannot express, named in the message), CN_ERR_IO,
 * CN_ERR_NOMEM.
 */
enum cn_status cn_onnx_save(const struct cn_net *net, const char *path, char err[CN_ERR_LEN]);

/* As cn_onnx_save, into *buf (malloc'd, *len bytes; free it with free). */
enum cn_status cn_onnx_encode(const struct cn_net *net, void **buf, size_t *len,
                              char err[CN_ERR_LEN]);

/*
 * Build a network from an ONNX file: a sequential CNN as PyTorch 1.13 or cn_onnx_save write
 * it (opsets 11 to 17 of the default domain). The graph becomes a colnet spec and parameter
 * block (cn_net_spec tells the spec); the network is then like any other: plan it, forward
 * it, train it from these weights, save it as a checkpoint. A trailing Softmax or LogSoftmax
 * is dropped, as colnet's outputs are logits (its loss and predictions apply the softmax).
 * Every node colnet cannot run exactly is refused with its name and the reason.
 * Errors: CN_ERR_IO, CN_ERR_FORMAT (malformed or unsupported; the message names the node),
 * CN_ERR_NOMEM.
 */
enum cn_status cn_onnx_load(struct cn_net **net, const char *path, char err[CN_ERR_LEN]);

/* As cn_onnx_load, from len bytes in memory; name starts the messages (NULL: "onnx"). */
enum cn_status cn_onnx_load_mem(struct cn_net **net, const void *data, size_t len, const char *name,
                                char err[CN_ERR_LEN]);

#ifdef __cplusplus
}
#endif

#endif
