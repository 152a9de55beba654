/*
 * Batch norm with its activation, then a 2x2 stride-2 max pool, as one op over NHWC images
 * whose windows tile them: the zoo's "batchnorm relu | maxpool 2" after a convolution. Apart,
 * the pair moved a first layer's whole tensor (7.4 MB for mnist-fast at batch 200) six times
 * more than it needs: batch norm wrote y and the pool read it back, the pool's backward wrote
 * a gradient that is zero in three places of four, and batch norm's backward read it twice.
 * Fused, with q a window row (output row q % HO of image q / HO, input rows 2q and 2q + 1 of
 * the batch's N*HI rows):
 *   forward   the batch's statistics over x (batchnorm.c's pass), then one pass that writes
 *             only the pooled output: the max over each window of act(normalised x)
 *   backward  per window the winner is found again from x by the pool's rule (first maximum
 *             in scan order, strict >), and only it carries the pooled gradient: one pass for
 *             the sums over winners, one that writes dx for every element
 * The forward's outputs and statistics are batchnorm.c + pool_max.c's bit for bit (the same
 * float expressions in the same order), and so is dx given the sums. The sums add the same
 * nonzero terms in another order (window by window, in double, over CN_BN_CHUNKS fixed blocks
 * of window rows, so the bits do not depend on the thread count): dgamma, dbeta and dx agree
 * with the separate ops to rounding (tests/test_batchnorm_pool.c).
 */
#include <assert.h>

#include "../join.h"
#include "../util.h"
#include "bn_shared.h"
#include "pool_win.h"

#define LANES 16 /* channels whose accumulators stay in registers during a walk over windows */

bool cn_batchnorm_pool_fits(const struct cn_geom *g, enum cn_act act)
{
	return cn_bn_fusable(act) && pool2(g) && g->hi % 2 == 0 && g->wi % 2 == 0;
}

/* Whether a pass over m elements is worth a parallel region (read by pragmas only). */
static __attribute__((unused)) bool parallel(size_t m)
{
	return m >= CN_PAR_MIN_LEN;
}

/* window rows [block_start(rows, i), block_start(rows, i + 1)) form block i of the sums */
static size_t block_start(size_t rows, int i)
{
	return rows * (size_t)i / CN_BN_CHUNKS;
}

/*
 * One window of channel j: x0..x3 in scan order (top left, top right, bottom left, bottom
 * right). Returns the pool's output max act(t); *k the winner's index, *tw its t, *xw its x.
 * The compares and the max are pool_max.c's on the values batchnorm.c would have written.
 */
static inline __attribute__((always_inline)) float window_max(enum cn_act act, float slope,
                                                              const float x[4], float mean,
                                                              float scale, float beta, int32_t *k,
                                                              float *tw, float *xw)
{
	float t = cn_bn_pre_act(x[0], mean, scale, beta), b = cn_bn_act(act, slope, t);
	*k = 0, *tw = t, *xw = x[0];
	for (int32_t i = 1; i < 4; i++) {
		t = cn_bn_pre_act(x[i], mean, scale, beta);
		float v = cn_bn_act(act, slope, t);
		int m = v > b;
		*k = (int32_t)((uint32_t)*k & ~(0u - (uint32_t)m)) | (i & -(int32_t)m);
		*tw = sel(m, t, *tw);
		*xw = sel(m, x[i], *xw);
		b = v > b ? v : b;
	}
	return b;
}

/* the window at column pair ox of rows r0, r1, channel j */
static inline __attribute__((always_inline)) void load_window(const float *r0, const float *r1,
                                                              size_t o, int32_t c, float x[4])
{
	x[0] = r0[o], x[1] = r0[o + (size_t)c], x[2] = r1[o], x[3] = r1[o + (size_t)c];
}

/* ---- forward ---- */

static inline __attribute__((always_inline)) void
pool_rows_act(const struct cn_geom *g, size_t q0, size_t q1, enum cn_act act, float slope,
              const float *mean, const float *scale, const float *beta, const float *x, float *y)
{
	const int32_t c = g->ci;
	const size_t wc = (size_t)g->wi * (size_t)c, yc = (size_t)g->wo * (size_t)c;
	for (size_t q = q0; q < q1; q++) {
		const float *r0 = x + 2 * q * wc, *r1 = r0 + wc;
		float *yq = y + q * yc;
		for (int32_t ox = 0; ox < g->wo; ox++)
			for (int32_t j = 0; j < c; j++) {
				float xs[4], tw, xw;
				int32_t k;
				load_window(r0, r1, 2 * (size_t)ox * c + (size_t)j, c, xs);
				yq[(size_t)ox * c + j] = window_max(
				    act, slope, xs, mean[j], scale[j], beta[j], &k, &tw, &xw);
			}
	}
}

/* y [N*HO, WO, C] for window rows [q0, q1); act fusable, a constant in each inlined copy */
CN_CLONES static void pool_rows(const struct cn_geom *g, size_t q0, size_t q1, enum cn_act act,
                                float slope, const float *mean, const float *scale,
                                const float *beta, const float *x, float *y)
{
	if (act == CN_ACT_RELU)
		pool_rows_act(g, q0, q1, CN_ACT_RELU, slope, mean, scale, beta, x, y);
	else if (act == CN_ACT_LEAKY_RELU)
		pool_rows_act(g, q0, q1, CN_ACT_LEAKY_RELU, slope, mean, scale, beta, x, y);
	else
		pool_rows_act(g, q0, q1, CN_ACT_IDENTITY, slope, mean, scale, beta, x, y);
}

void cn_batchnorm_pool_forward(const struct cn_geom *g, int32_t n, bool train, enum cn_act act,
                               float slope, const float *gamma, const float *beta, const float *x,
                               float *y, float *saved, float *run, float *ws)
{
	assert(n >= 1 && cn_batchnorm_pool_fits(g, act));
	const int32_t c = g->ci;
	const size_t m = (size_t)n * (size_t)g->hi * (size_t)g->wi, rows = (size_t)n * g->ho;
	float *scale = ws + 2 * (2 * CN_BN_CHUNKS + 2) * (size_t)c; /* after the doubles */
	if (train)
		cn_bn_train_stats(m, c, gamma, x, saved, run, scale, ws);
	else
		cn_bn_eval_stats(c, gamma, run, saved, scale);
	int arrived = 0;
#pragma omp parallel if (parallel(m * (size_t)c))
	{
		double start = cn_now();
#pragma omp for schedule(dynamic, 1) nowait
		for (int i = 0; i < CN_BN_CHUNKS; i++)
			pool_rows(g, block_start(rows, i), block_start(rows, i + 1), act, slope,
			          saved, scale, beta, x, y);
		cn_join_spin(&arrived, cn_thread_count(), start);
	}
}

/* ---- backward ---- */

/* sg = Σ g, sgx = Σ g·xhat over the winners of window rows [q0, q1), channels [j0, j0 + w) */
static inline __attribute__((always_inline)) void
sums_cols(const struct cn_geom *g, size_t q0, size_t q1, int32_t j0, int32_t w, enum cn_act act,
          float slope, const float *x, const float *dy, const float *mean, const float *istd,
          const float *scale, const float *beta, double *sg, double *sgx)
{
	double s[LANES] = {0}, sx[LANES] = {0};
	const int32_t c = g->ci;
	const size_t wc = (size_t)g->wi * (size_t)c, yc = (size_t)g->wo * (size_t)c;
	for (size_t q = q0; q < q1; q++) {
		const float *r0 = x + 2 * q * wc, *r1 = r0 + wc, *dq = dy + q * yc;
		for (int32_t ox = 0; ox < g->wo; ox++)
			for (int32_t i = 0; i < w; i++) {
				const int32_t j = j0 + i;
				float xs[4], tw, xw;
				int32_t k;
				load_window(r0, r1, 2 * (size_t)ox * c + (size_t)j, c, xs);
				window_max(act, slope, xs, mean[j], scale[j], beta[j], &k, &tw,
				           &xw);
				float gw = cn_bn_undo_act(act, slope, tw, dq[(size_t)ox * c + j]);
				float xh = (xw - mean[j]) * istd[j];
				s[i] += gw;
				sx[i] += (double)gw * xh;
			}
	}
	for (int32_t i = 0; i < w; i++) sg[j0 + i] = s[i], sgx[j0 + i] = sx[i];
}

static inline __attribute__((always_inline)) void
sums_act(const struct cn_geom *g, size_t q0, size_t q1, enum cn_act act, float slope,
         const float *x, const float *dy, const float *mean, const float *istd, const float *scale,
         const float *beta, double *sg, double *sgx)
{
	for (int32_t j = 0; j < g->ci; j += LANES) {
		if (g->ci - j >= LANES)
			sums_cols(g, q0, q1, j, LANES, act, slope, x, dy, mean, istd, scale, beta,
			          sg, sgx);
		else
			sums_cols(g, q0, q1, j, g->ci - j, act, slope, x, dy, mean, istd, scale,
			          beta, sg, sgx);
	}
}

/* One block of window rows, every channel: sg, sgx [C] its partial sums. */
CN_CLONES static void pool_grad_sums(const struct cn_geom *g, size_t q0, size_t q1, enum cn_act act,
                                     float slope, const float *x, const float *dy,
                                     const float *mean, const float *istd, const float *scale,
                                     const float *beta, double *sg, double *sgx)
{
	if (act == CN_ACT_RELU)
		sums_act(g, q0, q1, CN_ACT_RELU, slope, x, dy, mean, istd, scale, beta, sg, sgx);
	else if (act == CN_ACT_LEAKY_RELU)
		sums_act(g, q0, q1, CN_ACT_LEAKY_RELU, slope, x, dy, mean, istd, scale, beta, sg,
		         sgx);
	else
		sums_act(g, q0, q1, CN_ACT_IDENTITY, slope, x, dy, mean, istd, scale, beta, sg,
		         sgx);
}

/* batchnorm.c's dx of one element from its g */
static inline __attribute__((always_inline)) float dx_at(float x, float g, float mean, float istd,
                                                         float scale, float a, float b)
{
	float xh = (x - mean) * istd;
	return scale * (g - a - xh * b);
}

/* dx for window rows [q0, q1): batchnorm.c's formula, g the pooled gradient at the winner
   and +0 elsewhere (what the pool's backward writes there and the activation keeps) */
static inline __attribute__((always_inline)) void
dx_rows_act(const struct cn_geom *g, size_t q0, size_t q1, enum cn_act act, float slope,
            const float *restrict x, const float *restrict dy, const float *restrict mean,
            const float *restrict istd, const float *restrict scale, const float *restrict beta,
            const float *restrict a, const float *restrict b, float *restrict dx)
{
	const int32_t c = g->ci;
	const size_t wc = (size_t)g->wi * (size_t)c, yc = (size_t)g->wo * (size_t)c;
	for (size_t q = q0; q < q1; q++) {
		const float *r0 = x + 2 * q * wc, *r1 = r0 + wc, *dq = dy + q * yc;
		float *d0 = dx + 2 * q * wc, *d1 = d0 + wc;
		for (int32_t ox = 0; ox < g->wo; ox++)
			for (int32_t j = 0; j < c; j++) {
				const size_t o = 2 * (size_t)ox * c + (size_t)j;
				float xs[4], tw, xw;
				int32_t k;
				load_window(r0, r1, o, c, xs);
				window_max(act, slope, xs, mean[j], scale[j], beta[j], &k, &tw,
				           &xw);
				float gw = cn_bn_undo_act(act, slope, tw, dq[(size_t)ox * c + j]);
				d0[o] = dx_at(xs[0], sel(k == 0, gw, 0.0f), mean[j], istd[j],
				              scale[j], a[j], b[j]);
				d0[o + (size_t)c] = dx_at(xs[1], sel(k == 1, gw, 0.0f), mean[j],
				                          istd[j], scale[j], a[j], b[j]);
				d1[o] = dx_at(xs[2], sel(k == 2, gw, 0.0f), mean[j], istd[j],
				              scale[j], a[j], b[j]);
				d1[o + (size_t)c] = dx_at(xs[3], sel(k == 3, gw, 0.0f), mean[j],
				                          istd[j], scale[j], a[j], b[j]);
			}
	}
}

CN_CLONES static void dx_rows(const struct cn_geom *g, size_t q0, size_t q1, enum cn_act act,
                              float slope, const float *x, const float *dy, const float *mean,
                              const float *istd, const float *scale, const float *beta,
                              const float *a, const float *b, float *dx)
{
	if (act == CN_ACT_RELU)
		dx_rows_act(g, q0, q1, CN_ACT_RELU, slope, x, dy, mean, istd, scale, beta, a, b,
		            dx);
	else if (act == CN_ACT_LEAKY_RELU)
		dx_rows_act(g, q0, q1, CN_ACT_LEAKY_RELU, slope, x, dy, mean, istd, scale, beta, a,
		            b, dx);
	else
		dx_rows_act(g, q0, q1, CN_ACT_IDENTITY, slope, x, dy, mean, istd, scale, beta, a, b,
		            dx);
}

/* The sums half's products in ws: partial sums [2, CHUNKS, C] doubles, then scale, a, b [C]. */
struct grads_ws {
	double *p1, *p2;
	float *scale, *a, *b;
};

static struct grads_ws grads_ws(int32_t c, float *ws)
{
	struct grads_ws w = {.p1 = (double *)ws};
	w.p2 = w.p1 + CN_BN_CHUNKS * (size_t)c;
	w.scale = (float *)(w.p2 + CN_BN_CHUNKS * (size_t)c);
	w.a = w.scale + c, w.b = w.a + c;
	return w;
}

void cn_batchnorm_pool_backward_sums(const struct cn_geom *g, int32_t n, bool batch,
                                     enum cn_act act, float slope, const float *gamma,
                                     const float *beta, const float *saved, const float *x,
                                     const float *dy, float *dgamma, float *dbeta, float *ws)
{
	assert(n >= 1 && cn_batchnorm_pool_fits(g, act));
	const int32_t c = g->ci;
	const size_t m = (size_t)n * (size_t)g->hi * (size_t)g->wi, rows = (size_t)n * g->ho;
	const float *mean = saved, *istd = saved + c;
	struct grads_ws w = grads_ws(c, ws);
	for (int32_t j = 0; j < c; j++)
		w.scale[j] = gamma[j] * istd[j]; /* forward's, bit for bit */
	int arrived = 0;
#pragma omp parallel if (parallel(m * (size_t)c))
	{
		double start = cn_now();
#pragma omp for schedule(dynamic, 1) nowait
		for (int i = 0; i < CN_BN_CHUNKS; i++)
			pool_grad_sums(g, block_start(rows, i), block_start(rows, i + 1), act,
			               slope, x, dy, mean, istd, w.scale, beta,
			               w.p1 + (size_t)i * c, w.p2 + (size_t)i * c);
		cn_join_spin(&arrived, cn_thread_count(), start);
	}
	for (int32_t j = 0; j < c; j++) {
		double sg = 0, sgx = 0;
		for (int i = 0; i < CN_BN_CHUNKS; i++)
			sg += w.p1[i * c + j], sgx += w.p2[i * c + j];
		dgamma[j] += (float)sgx;
		dbeta[j] += (float)sg;
		w.a[j] = batch ? (float)(sg / (double)m) : 0.0f;
		w.b[j] = batch ? (float)(sgx / (double)m) : 0.0f;
	}
}

void cn_batchnorm_pool_backward_dx(const struct cn_geom *g, int32_t first, int32_t count,
                                   enum cn_act act, float slope, const float *beta,
                                   const float *saved, const float *x, const float *dy, float *dx,
                                   const float *ws)
{
	const int32_t c = g->ci;
	const size_t xlen = (size_t)g->hi * g->wi * c, ylen = (size_t)g->ho * g->wo * c;
	struct grads_ws w = grads_ws(c, (float *)ws);
	dx_rows(g, 0, (size_t)count * g->ho, act, slope, x + (size_t)first * xlen,
	        dy + (size_t)first * ylen, saved, saved + c, w.scale, beta, w.a, w.b, dx);
}

void cn_batchnorm_pool_backward(const struct cn_geom *g, int32_t n, bool batch, enum cn_act act,
                                float slope, const float *gamma, const float *beta,
                                const float *saved, const float *x, const float *dy, float *dx,
                                float *dgamma, float *dbeta, float *ws)
{
	cn_batchnorm_pool_backward_sums(g, n, batch, act, slope, gamma, beta, saved, x, dy, dgamma,
	                                dbeta, ws);
	if (!dx) return;
	const int32_t c = g->ci;
	const size_t m = (size_t)n * (size_t)g->hi * (size_t)g->wi, rows = (size_t)n * g->ho;
	struct grads_ws w = grads_ws(c, ws);
	int arrived = 0;
#pragma omp parallel if (parallel(m * (size_t)c))
	{
		double start = cn_now();
#pragma omp for schedule(dynamic, 1) nowait
		for (int i = 0; i < CN_BN_CHUNKS; i++)
			dx_rows(g, block_start(rows, i), block_start(rows, i + 1), act, slope, x,
			        dy, saved, saved + c, w.scale, beta, w.a, w.b, dx);
		cn_join_spin(&arrived, cn_thread_count(), start);
	}
}
