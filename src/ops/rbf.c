/*
 * Radial basis units over a batch, by GEMMs. x [N, D], centers mu [K, D], lg [K] = log γ,
 *   forward   r[n,k] = γ_k·max(‖x_n‖² − 2·x_n·μ_k + ‖μ_k‖², 0),  y = f(r)
 *             f = exp(−r) (Gaussian) or (1 + r)^(−1/2) (inverse multiquadric)
 *   backward  t = dy·f'(r),  e = t·γ  (dL/d‖x−μ‖²),  dlg += Σ_n t·r  (dr/dlg = r)
 *             dmu += 2(diag(Σ_n e)·μ − eᵀ·x),  dx = 2(diag(Σ_k e)·x − e·μ)
 * The −2x·μᵀ term and the two gradient products are the only O(N·K·D) work, each one GEMM;
 * pairs too near for that form's rounding take the differences instead (see NEAR_FWD).
 * f' comes from r (cached by forward), not from y: a Gaussian y that underflowed to 0 would
 * lose r, and the layer's activation may have overwritten y.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "../gemm.h"
#include "../util.h"
#include "ops.h"
#include "vmath.h"

size_t cn_rbf_ws_len(int32_t k)
{
	return 3 * (size_t)k;
}

/*
 * The GEMM form carries the rounding of the norms, a few ulps of ‖x‖² + ‖μ‖², into ‖x−μ‖²:
 * where a centre sits near its input, as trained centres do, that is most of the distance
 * (‖x‖² ≈ 99 and ‖x−μ‖² ≈ 0.03 kept 2.9e-3 relative). A pair whose distance is below
 * NEAR_FWD of its norms is computed from the differences instead, so the GEMM's rounding
 * reaches the others by at most 1/NEAR_FWD ulps of the distance. Backward cancels less: its
 * terms are e·(x − μ), a vector of length ‖x−μ‖ beside ‖x‖ + ‖μ‖, the square root of the
 * ratio; below NEAR_BACK (a ratio of 64 in length) they come from the differences too.
 * The direct path has a price where many pairs take it: trained rbf puts its centres on its
 * saturated sigmoid features, and at 1/16 both ways its training epoch took 30% more
 * instructions (callgrind); with these thresholds, and a vector pass that skips rows with
 * no near pair, 2.7% (fresh rbf 1.0%, trained cnn-rbf 0.5%).
 */
#define NEAR_FWD  (1.0f / 128.0f)
#define NEAR_BACK (1.0f / 4096.0f)

static inline bool is_near(float d2, float norms, float ratio)
{
	return d2 < ratio * norms;
}

/* Σ a², in sixteen lanes: one running sum is a chain of dependent adds; lanes vectorize */
static inline float sum_sq(const float *a, int32_t len)
{
	float lane[16] = {0}, s = 0.0f;
	int32_t i = 0;
	for (; i + 16 <= len; i += 16)
		for (int32_t j = 0; j < 16; j++) lane[j] += a[i + j] * a[i + j];
	for (; i < len; i++) s += a[i] * a[i];
	for (int32_t j = 0; j < 16; j++) s += lane[j];
	return s;
}

/* ‖a − b‖², the same way */
static inline float dist_sq(const float *a, const float *b, int32_t len)
{
	float lane[16] = {0}, s = 0.0f;
	int32_t i = 0;
	for (; i + 16 <= len; i += 16)
		for (int32_t j = 0; j < 16; j++) {
			float t = a[i + j] - b[i + j];
			lane[j] += t * t;
		}
	for (; i < len; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
	for (int32_t j = 0; j < 16; j++) s += lane[j];
	return s;
}

/*
 * One block of rows [i0, i1) of the forward after the GEMM left y = −2·x·μᵀ: add the norms,
 * clamp, scale by γ, apply f. Each element's arithmetic does not depend on the block, so the
 * rows may be shared out among threads. f runs over the block as one flat array: row by row,
 * K = 100 left 4 of every 100 elements to the scalar tail (rbf inference 0.065 -> 0.045 ms for
 * 500 rows of 64 -> 100, one thread). e^−r is vexp (vmath.h), not libm's expf: a scalar call
 * per element was a fifth of the layer's inference.
 */
CN_CLONES static void forward_rows(enum cn_rbf_kind kind, int32_t i0, int32_t i1, int32_t d,
                                   int32_t k, const float *x, const float *mu, float *y, float *r,
                                   const float *gamma, const float *mu2)
{
	for (int32_t i = i0; i < i1; i++) {
		const float *xi = x + (size_t)i * d;
		float x2 = sum_sq(xi, d);
		float *restrict yi = y + (size_t)i * k;
		int any = 0; /* a vector pass finds whether the row has a near pair at all */
		for (int32_t j = 0; j < k; j++) {
			yi[j] += x2 + mu2[j];
			any |= is_near(yi[j], x2 + mu2[j], NEAR_FWD);
		}
		for (int32_t j = 0; any && j < k; j++)
			if (is_near(yi[j], x2 + mu2[j], NEAR_FWD))
				yi[j] = dist_sq(xi, mu + (size_t)j * d, d);
		for (int32_t j = 0; j < k; j++)
			yi[j] = gamma[j] * (yi[j] > 0.0f ? yi[j] : 0.0f); /* r for now */
	}
	size_t lo = (size_t)i0 * k, len = (size_t)(i1 - i0) * k;
	float *restrict yb = y + lo;
	if (r) memcpy(r + lo, yb, len * sizeof(float));
	if (kind == CN_RBF_GAUSSIAN)
		for (size_t j = 0; j < len; j++) yb[j] = vexp(-yb[j]);
	else
		for (size_t j = 0; j < len; j++) yb[j] = 1.0f / sqrtf(1.0f + yb[j]);
}

void cn_rbf_forward(enum cn_rbf_kind kind, int threads, int32_t n, int32_t d, int32_t k,
                    const float *mu, const float *lg, const float *x, float *y, float *r, float *ws)
{
	assert(threads >= 1 && n >= 1 && d >= 1 && k >= 1);
	float *gamma = ws, *mu2 = ws + k; /* [K] each */
	for (int32_t j = 0; j < k; j++) {
		mu2[j] = sum_sq(mu + (size_t)j * d, d);
		gamma[j] = expf(lg[j]);
	}
	/*
	 * y = −2·x·μᵀ, then the rows. Where linear.c would split the GEMM's columns (see there),
	 * one region does both: the columns on one-threaded GEMMs, a barrier, then each thread's
	 * rows. Otherwise OpenBLAS runs the GEMM its own way and the rows are shared out past
	 * CN_PAR_MIN_LEN outputs (with threads > 1: the plan's choice).
	 */
	bool split = threads >= 2 && k >= 32 * threads && n <= 4 * k &&
	             (double)n * (double)d * (double)k > CN_GEMM_PAR_MIN_MNK;
	int cap = cn_gemm_cap(threads);
	if (!split) cn_gemm(false, true, n, k, d, -2.0f, x, mu, 0.0f, y);
#pragma omp parallel num_threads(                                                                  \
    threads) if (split || (threads > 1 && (size_t)n * (size_t)k >= CN_PAR_MIN_LEN))
	{
		if (split) {
			size_t lo, hi;
			cn_thread_range((size_t)k, &lo, &hi);
			if (hi > lo)
				cn_gemm_ld(false, true, n, (int)(hi - lo), d, -2.0f, x, d,
				           mu + lo * (size_t)d, d, 0.0f, y + lo, k);
#pragma omp barrier
		}
		int32_t t = (int32_t)cn_thread_id(), nt = (int32_t)cn_thread_count();
		int32_t i0, i1;
		cn_share(n, t, nt, &i0, &i1);
		forward_rows(kind, i0, i1, d, k, x, mu, y, r, gamma, mu2);
	}
	cn_gemm_uncap(cap);
}

/*
 * A near pair's share of the gradients, from the differences: dx += 2e(x − μ),
 * dmu −= 2e(x − μ). Its e is then left out of the GEMMs (set to 0).
 */
static void near_terms(int32_t d, const float *restrict xi, const float *restrict mj, float e2,
                       float *restrict dxi, float *restrict dmj)
{
	for (int32_t t = 0; t < d; t++) {
		float v = e2 * (xi[t] - mj[t]);
		dmj[t] -= v;
		if (dxi) dxi[t] += v;
	}
}

/*
 * t = dy·f'(r) with f' = −e^−r (Gaussian) or −½(1 + r)^(−3/2); e = t·γ; dlg += t·r;
 * esum += e, except the near pairs (NEAR_BACK, on r = γ‖x−μ‖²), whose terms go straight
 * into dx and dmu. Row by row in order, so the sums over rows do not depend on threads.
 */
CN_CLONES static void backward_terms(enum cn_rbf_kind kind, int32_t n, int32_t d, int32_t k,
                                     const float *mu, const float *x, const float *restrict r,
                                     const float *restrict dy, const float *restrict gamma,
                                     const float *restrict mu2, float *restrict e,
                                     float *restrict esum, float *restrict dlg, float *dx,
                                     float *dmu)
{
	for (int32_t i = 0; i < n; i++) {
		const float *ri = r + (size_t)i * k, *dyi = dy + (size_t)i * k;
		float *ei = e + (size_t)i * k;
		if (kind == CN_RBF_GAUSSIAN)
			for (int32_t j = 0; j < k; j++) ei[j] = dyi[j] * -vexp(-ri[j]);
		else
			for (int32_t j = 0; j < k; j++) {
				float s = 1.0f / sqrtf(1.0f + ri[j]);
				ei[j] = dyi[j] * (-0.5f * s * s * s);
			}
		const float *xi = x + (size_t)i * d;
		float x2 = sum_sq(xi, d), *dxi = dx ? dx + (size_t)i * d : NULL;
		int any = 0;
		for (int32_t j = 0; j < k; j++) {
			float t = ei[j];
			/* r·f'(r) → 0 as r → ∞, but at r = Inf (γ‖x−μ‖² past FLT_MAX) 0·Inf is NaN */
			float tr = t * ri[j];
			dlg[j] += sel(t != 0.0f, tr, 0.0f);
			ei[j] = t * gamma[j];
			any |= is_near(ri[j], gamma[j] * (x2 + mu2[j]), NEAR_BACK);
		}
		for (int32_t j = 0; any && j < k; j++)
			if (ei[j] != 0.0f && is_near(ri[j], gamma[j] * (x2 + mu2[j]), NEAR_BACK)) {
				near_terms(d, xi, mu + (size_t)j * d, 2.0f * ei[j], dxi,
				           dmu + (size_t)j * d);
				ei[j] = 0.0f;
			}
		for (int32_t j = 0; j < k; j++) esum[j] += ei[j];
	}
}

/* dmu += −2·eᵀ·x, then + 2·Σ_n e·μ row by row */
static void dmu_product(int32_t n, int32_t d, int32_t k, const float *mu, const float *x,
                        const float *e, const float *esum, float *dmu)
{
	cn_gemm(true, false, k, d, n, -2.0f, e, x, 1.0f, dmu);
	for (int32_t j = 0; j < k; j++) {
		float s = 2.0f * esum[j];
		const float *m = mu + (size_t)j * d;
		float *dm = dmu + (size_t)j * d;
		for (int32_t t = 0; t < d; t++) dm[t] += s * m[t];
	}
}

/* dx += −2·e·μ, then + 2·Σ_k e·x row by row */
static void dx_product(int32_t n, int32_t d, int32_t k, const float *mu, const float *x,
                       const float *e, float *dx)
{
	cn_gemm(false, false, n, d, k, -2.0f, e, mu, 1.0f, dx); /* onto the near pairs' terms */
	for (int32_t i = 0; i < n; i++) {
		const float *ei = e + (size_t)i * k, *xi = x + (size_t)i * d;
		float s = 0.0f;
		for (int32_t j = 0; j < k; j++) s += ei[j];
		s *= 2.0f;
		float *dxi = dx + (size_t)i * d;
		for (int32_t t = 0; t < d; t++) dxi[t] += s * xi[t];
	}
}

/* dmu and dlg accumulate, dx is overwritten; e [N, K] and ws [2K] are scratch. */
void cn_rbf_backward(enum cn_rbf_kind kind, int threads, int32_t n, int32_t d, int32_t k,
                     const float *mu, const float *lg, const float *x, const float *r,
                     const float *dy, float *dx, float *dmu, float *dlg, float *e, float *ws)
{
	assert(threads >= 1 && n >= 1 && d >= 1 && k >= 1);
	float *gamma = ws, *esum = ws + k, *mu2 = ws + 2 * (size_t)k; /* [K] each */
	for (int32_t j = 0; j < k; j++) {
		gamma[j] = expf(lg[j]);
		esum[j] = 0.0f;
		mu2[j] = sum_sq(mu + (size_t)j * d, d);
	}
	if (dx) memset(dx, 0, (size_t)n * (size_t)d * sizeof(float));
	backward_terms(kind, n, d, k, mu, x, r, dy, gamma, mu2, e, esum, dlg, dx, dmu);
	/* dmu and dx side by side, one a thread (each as one thread alone computes it) */
	bool par = threads > 1 && dx && (double)n * (double)d * (double)k > CN_GEMM_PAR_MIN_MNK;
	(void)par; /* read by the pragma only, which a build without OpenMP drops */
	int cap = cn_gemm_cap(threads);
#pragma omp parallel num_threads(2) if (par)
	{
		int t = cn_thread_id(), nt = cn_thread_count();
		if (t == 0) dmu_product(n, d, k, mu, x, e, esum, dmu);
		if (dx && t == (nt > 1 ? 1 : 0)) dx_product(n, d, k, mu, x, e, dx);
	}
	cn_gemm_uncap(cap);
}
