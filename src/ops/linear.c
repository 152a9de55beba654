/*
 * Fully connected layer, one GEMM per pass. x [N, IN] (an NHWC batch flattened: no copy),
 * W [OUT, IN] row-major, b [OUT], y [N, OUT]:
 *   forward   y = x · Wᵀ + b
 *   backward  dW += dyᵀ · x,  db += Σ_rows dy,  dx = dy · W
 * threads is the plan's choice (layer_dense.c); with 1 everything runs on the caller, GEMMs
 * included. With more, past CN_GEMM_PAR_MIN_MNK multiply-adds, the layer may share the work
 * out itself, each thread calling a one-threaded GEMM (OpenBLAS runs one thread inside a
 * parallel region): forward by blocks of output columns, backward dW and dx side by side, one
 * a thread (one region instead of two, and the bits of one thread computing both). Otherwise
 * OpenBLAS splits each GEMM its own way. At batch 100 on 2 threads (medians of quiet runs):
 * mlp training 336k -> 383k images/s, rbf inference 1.42M -> 2.09M.
 */
#include <assert.h>

#include "../gemm.h"
#include "../util.h"
#include "ops.h"

static bool parallel_worth(int32_t n, int32_t in, int32_t out)
{
	return (double)n * (double)in * (double)out > CN_GEMM_PAR_MIN_MNK;
}

/*
 * Forward splits the output columns among the threads when there are at least two 16-column
 * blocks a thread and the batch is at most 4x the outputs: each thread packs all of x, so at
 * a larger batch OpenBLAS's own split did better (rbf's 784 -> 64 at batch 1000: 13%).
 */
void cn_linear_forward(int threads, int32_t n, int32_t in, int32_t out, const float *w,
                       const float *b, const float *x, float *y)
{
	assert(threads >= 1 && n >= 1 && in >= 1 && out >= 1);
	if (threads < 2 || out < 32 * threads || n > 4 * out || !parallel_worth(n, in, out)) {
		/* y = b, then y += x·Wᵀ: a beta-0 GEMM would zero y in a pass of its own first */
		if (b)
			for (int32_t i = 0; i < n; i++)
				for (int32_t j = 0; j < out; j++) y[(size_t)i * out + j] = b[j];
		int cap = cn_gemm_cap(threads);
		cn_gemm(false, true, n, out, in, 1.0f, x, w, b ? 1.0f : 0.0f, y);
		cn_gemm_uncap(cap);
		return;
	}
#pragma omp parallel num_threads(threads)
	{
		size_t lo, hi; /* this thread's output columns, in 16-column blocks */
		cn_thread_range((size_t)out, &lo, &hi);
		if (hi > lo) {
			if (b)
				for (int32_t i = 0; i < n; i++)
					for (size_t j = lo; j < hi; j++)
						y[(size_t)i * out + j] = b[j];
			cn_gemm_ld(false, true, n, (int)(hi - lo), in, 1.0f, x, in,
			           w + lo * (size_t)in, in, b ? 1.0f : 0.0f, y + lo, out);
		}
	}
}

/* dW and db accumulate (GEMM beta 1), dx is overwritten (beta 0); dx and db may be NULL. */
void cn_linear_backward(int threads, int32_t n, int32_t in, int32_t out, const float *w,
                        const float *x, const float *dy, float *dx, float *dw, float *db)
{
	assert(threads >= 1 && n >= 1 && in >= 1 && out >= 1);
	if (db)
		for (int32_t i = 0; i < n; i++)
			for (int32_t j = 0; j < out; j++) db[j] += dy[(size_t)i * out + j];
	int cap = cn_gemm_cap(threads);
	if (!dx) {
		cn_gemm(true, false, out, in, n, 1.0f, dy, x, 1.0f, dw);
	} else {
#pragma omp parallel num_threads(2) if (threads > 1 && parallel_worth(n, in, out))
		{
			int t = cn_thread_id(), nt = cn_thread_count();
			if (t == 0) cn_gemm(true, false, out, in, n, 1.0f, dy, x, 1.0f, dw);
			if (t == (nt > 1 ? 1 : 0))
				cn_gemm(false, false, n, in, out, 1.0f, dy, w, 0.0f, dx);
		}
	}
	cn_gemm_uncap(cap);
}
