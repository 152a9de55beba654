/*
 * L^p pooling over NHWC images, each channel on its own; g->ci is the channels:
 *   y[n,oy,ox,c] = (sum of |x|^p over the in-image part of the window)^(1/p)
 * (PyTorch LPPool2d, with |x|). x and dx [N, HI, WI, C]; y and dy [N, HO, WO, C]. Images are
 * shared out among OpenMP threads as in pool_max.c and pool_avg.c.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "pool_win.h"

#define LP_BLOCK 64 /* channels handled together: per-channel scale and sums on the stack */

/* v^p for v in [0, 1], with the common exponents exact and cheap */
static float powp(float v, float p)
{
	return p == 2.0f ? v * v : p == 1.0f ? v : powf(v, p);
}

/*
 * yb[j] = (Σ over window w of |x|^p)^(1/p) for channels ch0 .. ch0+nb-1 (nb <= LP_BLOCK),
 * as m·(Σ (|x|/m)^p)^(1/p) with m the largest |x|, so no power overflows; m = 0 gives 0.
 * A NaN in the window makes m NaN and an Inf makes it Inf, and yb is then m itself: scaling
 * by 1/m would turn an Inf into 0 and hide a diverged input from the loss.
 */
static void lp_block(const struct cn_geom *g, const struct win *w, const float *xi, float p,
                     int32_t ch0, int32_t nb, float *yb)
{
	float m[LP_BLOCK], inv[LP_BLOCK], s[LP_BLOCK];
	for (int32_t j = 0; j < nb; j++) m[j] = 0.0f, s[j] = 0.0f;
	for (int32_t ky = w->ky0; ky < w->ky1; ky++)
		for (int32_t kx = w->kx0; kx < w->kx1; kx++) {
			const float *xp = xi + pix(g, w, ky, kx) + ch0; /* [nb] */
			for (int32_t j = 0; j < nb; j++) {
				float a = fabsf(xp[j]);
				m[j] = a > m[j] || a != a
				           ? a
				           : m[j]; /* a NaN sticks (fmaxf drops it) */
			}
		}
	for (int32_t j = 0; j < nb; j++)
		inv[j] = m[j] > 0.0f && m[j] < INFINITY ? 1.0f / m[j] : 0.0f;
	for (int32_t ky = w->ky0; ky < w->ky1; ky++)
		for (int32_t kx = w->kx0; kx < w->kx1; kx++) {
			const float *xp = xi + pix(g, w, ky, kx) + ch0; /* [nb] */
			for (int32_t j = 0; j < nb; j++) s[j] += powp(fabsf(xp[j]) * inv[j], p);
		}
	for (int32_t j = 0; j < nb; j++) {
		float root = p == 2.0f ? sqrtf(s[j]) : p == 1.0f ? s[j] : powf(s[j], 1.0f / p);
		yb[j] = inv[j] > 0.0f ? root / inv[j] : m[j]; /* m: 0, NaN or Inf */
	}
}

void cn_lppool2d_forward(const struct cn_geom *g, float p, const struct cn_tensor *x,
                         struct cn_tensor *y)
{
	const int32_t c = g->ci;
	const size_t xlen = cn_tensor_image_len(x), ylen = cn_tensor_image_len(y);
#pragma omp parallel for schedule(static) if (cn_tensor_len(x) >= CN_PAR_MIN_LEN)
	for (int32_t n = 0; n < x->n; n++) {
		const float *xi = x->data + (size_t)n * xlen; /* [HI, WI, C] */
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++) {
				struct win w = window(g, oy, ox);
				float *yo = y->data + (size_t)n * ylen +
				            ((size_t)oy * g->wo + ox) * c; /* [C] */
				for (int32_t ch0 = 0; ch0 < c; ch0 += LP_BLOCK)
					lp_block(g, &w, xi, p, ch0, CN_MIN(LP_BLOCK, c - ch0),
					         yo + ch0);
			}
	}
}

/* dx = 0, then dx += dy·sign(x)·(|x|/y)^(p-1) per window, y recomputed; y = 0 passes nothing. */
void cn_lppool2d_backward(const struct cn_geom *g, float p, const struct cn_tensor *x,
                          const struct cn_tensor *dy, struct cn_tensor *dx)
{
	if (!dx || !dx->data) return;
	const int32_t c = g->ci;
	const size_t xlen = cn_tensor_image_len(dx), ylen = cn_tensor_image_len(dy);
#pragma omp parallel for schedule(static) if (cn_tensor_len(dx) >= CN_PAR_MIN_LEN)
	for (int32_t n = 0; n < dy->n; n++) {
		const float *xi = x->data + (size_t)n * xlen; /* [HI, WI, C] */
		float *dxi = dx->data + (size_t)n * xlen;     /* [HI, WI, C] */
		memset(dxi, 0, xlen * sizeof(float));
		for (int32_t oy = 0; oy < g->ho; oy++)
			for (int32_t ox = 0; ox < g->wo; ox++) {
				struct win w = window(g, oy, ox);
				const float *dyo = dy->data + (size_t)n * ylen +
				                   ((size_t)oy * g->wo + ox) * c; /* [C] */
				for (int32_t ch0 = 0; ch0 < c; ch0 += LP_BLOCK) {
					int32_t nb = CN_MIN(LP_BLOCK, c - ch0);
					float inv[LP_BLOCK], d[LP_BLOCK];
					lp_block(g, &w, xi, p, ch0, nb, inv);
					for (int32_t j = 0; j < nb; j++) {
						bool live = inv[j] != 0.0f; /* NaN passes on */
						d[j] = live ? dyo[ch0 + j] : 0.0f;
						inv[j] = live ? 1.0f / inv[j] : 0.0f;
					}
					for (int32_t ky = w.ky0; ky < w.ky1; ky++)
						for (int32_t kx = w.kx0; kx < w.kx1; kx++) {
							size_t off = pix(g, &w, ky, kx) + ch0;
							const float *xp = xi + off; /* [nb] */
							float *dxp = dxi + off;     /* [nb] */
							for (int32_t j = 0; j < nb; j++) {
								float v = xp[j];
								float a = powp(fabsf(v) * inv[j],
								               p - 1.0f);
								float sg = v > 0.0f   ? 1.0f
								           : v < 0.0f ? -1.0f
								                      : 0.0f;
								dxp[j] += d[j] * sg * a;
							}
						}
				}
			}
	}
}
