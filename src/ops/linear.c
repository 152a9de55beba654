/*
 * Fully connected layer, one GEMM per pass. x [N, IN] (an NHWC batch flattened: no copy),
 * W [OUT, IN] row-major, b [OUT], y [N, OUT]:
 *   forward   y = x · Wᵀ + b
 *   backward  dW += dyᵀ · x,  db += Σ_rows dy,  dx = dy · W
 */
#include <assert.h>

#include "../gemm.h"
#include "ops.h"

void cn_linear_forward(int32_t n, int32_t in, int32_t out, const float *w, const float *b,
                       const float *x, float *y)
{
	assert(n >= 1 && in >= 1 && out >= 1);
	/* y = b, then y += x·Wᵀ: a beta-0 GEMM would zero y in a pass of its own first */
	if (b)
		for (int32_t i = 0; i < n; i++)
			for (int32_t j = 0; j < out; j++) y[(size_t)i * out + j] = b[j];
	cn_gemm(false, true, n, out, in, 1.0f, x, w, b ? 1.0f : 0.0f, y);
}

/* dW and db accumulate (GEMM beta 1), dx is overwritten (beta 0); dx and db may be NULL. */
void cn_linear_backward(int32_t n, int32_t in, int32_t out, const float *w, const float *x,
                        const float *dy, float *dx, float *dw, float *db)
{
	assert(n >= 1 && in >= 1 && out >= 1);
	cn_gemm(true, false, out, in, n, 1.0f, dy, x, 1.0f, dw);
	if (db)
		for (int32_t i = 0; i < n; i++)
			for (int32_t j = 0; j < out; j++) db[j] += dy[(size_t)i * out + j];
	if (dx) cn_gemm(false, false, n, in, out, 1.0f, dy, w, 0.0f, dx);
}
