/*
 * Radial basis units over a batch, by GEMMs. x [N, D], centers mu [K, D], lg [K] = log γ,
 *   forward   r[n,k] = γ_k·max(‖x_n‖² − 2·x_n·μ_k + ‖μ_k‖², 0),  y = f(r)
 *             f = exp(−r) (Gaussian) or (1 + r)^(−1/2) (inverse multiquadric)
 *   backward  t = dy·f'(r),  e = t·γ  (dL/d‖x−μ‖²),  dlg += Σ_n t·r  (dr/dlg = r)
 *             dmu += 2(diag(Σ_n e)·μ − eᵀ·x),  dx = 2(diag(Σ_k e)·x − e·μ)
 * The −2x·μᵀ term and the two gradient products are the only O(N·K·D) work, each one GEMM.
 * f' comes from r (cached by forward), not from y: a Gaussian y that underflowed to 0 would
 * lose r, and the layer's activation may have overwritten y.
 */
#include <assert.h>
#include <math.h>

#include "../gemm.h"
#include "ops.h"

size_t cn_rbf_ws_len(int32_t k)
{
	return 2 * (size_t)k;
}

static float kernel_f(enum cn_rbf_kind kind, float r)
{
	return kind == CN_RBF_GAUSSIAN ? expf(-r) : 1.0f / sqrtf(1.0f + r);
}

/* f'(r): −exp(−r), or −½(1 + r)^(−3/2) */
static float kernel_df(enum cn_rbf_kind kind, float r)
{
	if (kind == CN_RBF_GAUSSIAN) return -expf(-r);
	float s = 1.0f / sqrtf(1.0f + r);
	return -0.5f * s * s * s;
}

void cn_rbf_forward(enum cn_rbf_kind kind, int32_t n, int32_t d, int32_t k, const float *mu,
                    const float *lg, const float *x, float *y, float *r, float *ws)
{
	assert(n >= 1 && d >= 1 && k >= 1);
	float *gamma = ws, *mu2 = ws + k; /* [K] each */
	for (int32_t j = 0; j < k; j++) {
		const float *m = mu + (size_t)j * d;
		float s = 0.0f;
		for (int32_t i = 0; i < d; i++) s += m[i] * m[i];
		mu2[j] = s;
		gamma[j] = expf(lg[j]);
	}
	cn_gemm(false, true, n, k, d, -2.0f, x, mu, 0.0f, y); /* y = −2·x·μᵀ */
	for (int32_t i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * d;
		float x2 = 0.0f;
		for (int32_t t = 0; t < d; t++) x2 += xi[t] * xi[t];
		float *yi = y + (size_t)i * k;
		for (int32_t j = 0; j < k; j++) {
			float d2 = yi[j] + x2 + mu2[j];
			float rj = gamma[j] * (d2 > 0.0f ? d2 : 0.0f);
			if (r) r[(size_t)i * k + j] = rj;
			yi[j] = kernel_f(kind, rj);
		}
	}
}

/* dmu and dlg accumulate, dx is overwritten; e [N, K] and ws [2K] are scratch. */
void cn_rbf_backward(enum cn_rbf_kind kind, int32_t n, int32_t d, int32_t k, const float *mu,
                     const float *lg, const float *x, const float *r, const float *dy, float *dx,
                     float *dmu, float *dlg, float *e, float *ws)
{
	assert(n >= 1 && d >= 1 && k >= 1);
	float *gamma = ws, *esum = ws + k; /* [K] each: γ, Σ_n e */
	for (int32_t j = 0; j < k; j++) {
		gamma[j] = expf(lg[j]);
		esum[j] = 0.0f;
	}
	for (int32_t i = 0; i < n; i++) {
		for (int32_t j = 0; j < k; j++) {
			size_t at = (size_t)i * k + j;
			float t = dy[at] * kernel_df(kind, r[at]);
			/* r·f'(r) → 0 as r → ∞, but at r = Inf (γ‖x−μ‖² past FLT_MAX) 0·Inf is NaN */
			dlg[j] += t != 0.0f ? t * r[at] : 0.0f;
			e[at] = t * gamma[j];
			esum[j] += e[at];
		}
	}
	/* dmu += −2·eᵀ·x, then + 2·Σ_n e·μ row by row */
	cn_gemm(true, false, k, d, n, -2.0f, e, x, 1.0f, dmu);
	for (int32_t j = 0; j < k; j++) {
		float s = 2.0f * esum[j];
		const float *m = mu + (size_t)j * d;
		float *dm = dmu + (size_t)j * d;
		for (int32_t t = 0; t < d; t++) dm[t] += s * m[t];
	}
	if (!dx) return;
	cn_gemm(false, false, n, d, k, -2.0f, e, mu, 0.0f, dx); /* dx = −2·e·μ */
	for (int32_t i = 0; i < n; i++) {
		const float *ei = e + (size_t)i * k, *xi = x + (size_t)i * d;
		float s = 0.0f;
		for (int32_t j = 0; j < k; j++) s += ei[j];
		s *= 2.0f;
		float *dxi = dx + (size_t)i * d;
		for (int32_t t = 0; t < d; t++) dxi[t] += s * xi[t];
	}
}
