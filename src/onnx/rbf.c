/*
 * rbf layers in ONNX, which has no radial-basis op: the standard-op subgraph colnet writes
 * (node names layerI_rbf_*), in the order of colnet's own forward (ops/rbf.c):
 *   xx = ReduceSumSquare(x, axes [1], keepdims)        [N, 1]   ‖x‖²
 *   mm = ReduceSumSquare(μ, axes [1], no keepdims)     [K]      ‖μ‖²
 *   d  = Gemm(x, μ, mm, alpha -2, transB)              [N, K]   −2x·μᵀ + ‖μ‖²
 *   r  = Mul(Max(Add(d, xx), 0), Exp(lg))              [N, K]   γ·max(‖x − μ‖², 0)
 *   y  = Exp(Neg(r))  or  Reciprocal(Sqrt(Add(r, 1)))
 * μ and the log-widths lg stay initializers, so the import (import_rbf.c) reads them back
 * bit for bit.
 */
#include "onnx.h"

static const char *op1(struct cn_onnx_builder *b, const char *op, int i, const char *what,
                       const char *x)
{
	const char *y = "";
	cn_onnx_node(b, op, cn_onnx_str(b, "layer%d_rbf_%s", i, what), &x, 1, &y);
	return y;
}

static const char *op2(struct cn_onnx_builder *b, const char *op, int i, const char *what,
                       const char *x, const char *z)
{
	const char *in[2] = {x, z}, *y = "";
	cn_onnx_node(b, op, cn_onnx_str(b, "layer%d_rbf_%s", i, what), in, 2, &y);
	return y;
}

static const char *sumsq(struct cn_onnx_builder *b, int i, const char *what, const char *x,
                         int keep)
{
	const char *y = "";
	Onnx__NodeProto *n = cn_onnx_node(b, "ReduceSumSquare",
	                                  cn_onnx_str(b, "layer%d_rbf_%s", i, what), &x, 1, &y);
	int64_t axes[1] = {1};
	if (n) cn_onnx_attr_ints(b, n, "axes", axes, 1);
	if (n) cn_onnx_attr_int(b, n, "keepdims", keep);
	return y;
}

const char *cn_onnx_export_rbf(struct cn_onnx_builder *b, const struct cn_layer *l, int i,
                               const char *x)
{
	int64_t k = l->out.c, d = (int64_t)l->in.c * l->in.h * l->in.w;
	int64_t md[2] = {k, d}, kd[1] = {k}, sd[1] = {1};
	const float zero = 0.0f, one = 1.0f;
	const char *mu = cn_onnx_init(b, cn_onnx_str(b, "layer%d.centers", i), md, 2, l->w);
	const char *lg = cn_onnx_init(b, cn_onnx_str(b, "layer%d.log_widths", i), kd, 1, l->b);
	const char *xx = sumsq(b, i, "xx", x, 1), *mm = sumsq(b, i, "mm", mu, 0);
	const char *in[3] = {x, mu, mm}, *dist = "";
	Onnx__NodeProto *n =
	    cn_onnx_node(b, "Gemm", cn_onnx_str(b, "layer%d_rbf_dot", i), in, 3, &dist);
	if (n) cn_onnx_attr_float(b, n, "alpha", -2.0f);
	if (n) cn_onnx_attr_int(b, n, "transB", 1);
	dist = op2(b, "Add", i, "dist", dist, xx);
	dist = op2(b, "Max", i, "clamp", dist,
	           cn_onnx_init(b, cn_onnx_str(b, "layer%d.zero", i), sd, 1, &zero));
	const char *r = op2(b, "Mul", i, "r", dist, op1(b, "Exp", i, "gamma", lg));
	if (l->d.rbf == CN_RBF_GAUSSIAN)
		return op1(b, "Exp", i, "gauss", op1(b, "Neg", i, "neg", r));
	const char *s = op2(b, "Add", i, "one_plus", r,
	                    cn_onnx_init(b, cn_onnx_str(b, "layer%d.one", i), sd, 1, &one));
	return op1(b, "Reciprocal", i, "imq", op1(b, "Sqrt", i, "sqrt", s));
}
