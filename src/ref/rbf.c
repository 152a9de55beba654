/*
 * Reference radial basis units, straight from the definition in double:
 *   y[n,k] = f(γ_k·Σ_d (x[n,d] − μ[k,d])²),  γ_k = exp(lg[k]),
 *   f = exp(−r) or (1 + r)^(−1/2);  with t = dy·f'(r):
 *   dlg[k] += Σ_n t·r,  dμ[k,d] += Σ_n t·γ_k·2(μ[k,d] − x[n,d]),  dx[n,d] = Σ_k t·γ_k·2(x − μ).
 */
#include <math.h>

#include "ref.h"

static double dist2(int32_t d, const float *a, const float *b)
{
	double s = 0;
	for (int32_t i = 0; i < d; i++) {
		double t = (double)a[i] - b[i];
		s += t * t;
	}
	return s;
}

void cn_rbf_forward_ref(enum cn_rbf_kind kind, int32_t n, int32_t d, int32_t k, const float *mu,
                        const float *lg, const float *x, float *y)
{
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = 0; j < k; j++) {
			double r = exp(lg[j]) * dist2(d, x + (size_t)i * d, mu + (size_t)j * d);
			y[(size_t)i * k + j] =
			    (float)(kind == CN_RBF_GAUSSIAN ? exp(-r) : 1.0 / sqrt(1.0 + r));
		}
}

void cn_rbf_backward_ref(enum cn_rbf_kind kind, int32_t n, int32_t d, int32_t k, const float *mu,
                         const float *lg, const float *x, const float *dy, float *dx, float *dmu,
                         float *dlg)
{
	for (int32_t i = 0; dx && i < n; i++)
		for (int32_t t = 0; t < d; t++) dx[(size_t)i * d + t] = 0.0f;
	for (int32_t i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * d;
		for (int32_t j = 0; j < k; j++) {
			const float *mj = mu + (size_t)j * d;
			double gamma = exp(lg[j]), r = gamma * dist2(d, xi, mj);
			double df = kind == CN_RBF_GAUSSIAN ? -exp(-r) : -0.5 * pow(1.0 + r, -1.5);
			double t = dy[(size_t)i * k + j] * df;
			dlg[j] += (float)(t * r);
			for (int32_t c = 0; c < d; c++) {
				double g = t * gamma * 2.0 * ((double)xi[c] - mj[c]);
				dmu[(size_t)j * d + c] -= (float)g;
				if (dx) dx[(size_t)i * d + c] += (float)g;
			}
		}
	}
}
