/*
 * Reference fully connected layer: y[i, j] = b[j] + Σ_k x[i, k] * w[j, k], and its gradients,
 * as plain loops accumulating in double. x [N, IN], w [OUT, IN], y [N, OUT].
 */
#include "ref.h"

void cn_linear_forward_ref(int32_t n, int32_t in, int32_t out, const float *w, const float *b,
                           const float *x, float *y)
{
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = 0; j < out; j++) {
			double acc = b ? b[j] : 0.0;
			for (int32_t k = 0; k < in; k++)
				acc += (double)x[(size_t)i * in + k] * w[(size_t)j * in + k];
			y[(size_t)i * out + j] = (float)acc;
		}
}

void cn_linear_backward_ref(int32_t n, int32_t in, int32_t out, const float *w, const float *x,
                            const float *dy, float *dx, float *dw, float *db)
{
	/* dw[j, k] += Σ_i dy[i, j] * x[i, k] (dw NULL: skipped) */
	for (int32_t j = 0; dw && j < out; j++)
		for (int32_t k = 0; k < in; k++) {
			double acc = 0;
			for (int32_t i = 0; i < n; i++)
				acc += (double)dy[(size_t)i * out + j] * x[(size_t)i * in + k];
			dw[(size_t)j * in + k] += (float)acc;
		}
	/* db[j] += Σ_i dy[i, j] */
	for (int32_t j = 0; db && j < out; j++) {
		double acc = 0;
		for (int32_t i = 0; i < n; i++) acc += dy[(size_t)i * out + j];
		db[j] += (float)acc;
	}
	/* dx[i, k] = Σ_j dy[i, j] * w[j, k] */
	for (int32_t i = 0; dx && i < n; i++)
		for (int32_t k = 0; k < in; k++) {
			double acc = 0;
			for (int32_t j = 0; j < out; j++)
				acc += (double)dy[(size_t)i * out + j] * w[(size_t)j * in + k];
			dx[(size_t)i * in + k] = (float)acc;
		}
}
