/*
 * Average pooling over NHWC images, each channel on its own; g->ci is the channels.
 *   y[n,oy,ox,c] = (sum of x over the in-image part of the window at (oy*sh-ph, ox*sw-pw))
 *                  / (kh*kw)   (padding counts as zeros)
 * (max pooling is pool_max.c, L^p pooling pool_lp.c; pool_win.h has what they share.)
 * x and dx [N, HI, WI, C]; y and dy [N, HO, WO, C]. Images are shared out among OpenMP
 * threads (when there is enough work to pay for waking them); each writes only its own images.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "pool_win.h"

/* An unclipped 2x2 average in registers, summed in the general loop's order (same bits). */
static void avgwin2x2(const struct cn_geom *g, const struct win *w, const float *restrict xi,
                      float *restrict yo, float inv)
{
	const float *r0 = xi + pix(g, w, 0, 0), *r1 = xi + pix(g, w, 1, 0); /* [2, C] each */
	const int32_t c = g->ci;
	for (int32_t ch = 0; ch < c; ch++)
		yo[ch] = (r0[ch] + r0[c + ch] + r1[ch] + r1[c + ch]) * inv;
}

/* avgwin2x2 over a k2 s2 p0 image with C a constant (see SMALL_C); the same sums, same bits */
static inline __attribute__((always_inline)) void avg2_image(const struct cn_geom *g,
                                                             const float *restrict xi,
                                                             float *restrict yi, float inv,
                                                             const int32_t c)
{
	const size_t wc = (size_t)g->wi * (size_t)c;
	for (int32_t oy = 0; oy < g->ho; oy++) {
		const float *r0 = xi + 2 * (size_t)oy * wc, *r1 = r0 + wc; /* [WI, C] each */
		for (int32_t ox = 0; ox < g->wo; ox++, yi += c, r0 += 2 * c, r1 += 2 * c)
			for (int32_t ch = 0; ch < c; ch++)
				yi[ch] = (r0[ch] + r0[c + ch] + r1[ch] + r1[c + ch]) * inv;
	}
}

CN_CLONES static bool avg2_small(const struct cn_geom *g, const float *restrict xi,
                                 float *restrict yi, float inv)
{
	SMALL_C(avg2_image, g->ci, g, xi, yi, inv)
}

void cn_avgpool2d_forward(const struct cn_geom *g, const struct cn_tensor *x, struct cn_tensor *y)
{
	const int32_t c = g->ci;
	const size_t xlen = cn_tensor_image_len(x), ylen = cn_tensor_image_len(y);
	const float inv = 1.0f / (float)(g->kh * g->kw);
	const bool small = pool2(g);
#pragma omp parallel for schedule(static) if (cn_tensor_len(x) >= POOL_PAR_MIN_LEN)
	for (int32_t n = 0; n < x->n; n++) {
		const float *xi = x->data + (size_t)n * xlen; /* [HI, WI, C] */
		if (small && avg2_small(g, xi, y->data + (size_t)n * ylen, inv)) continue;
		for (int32_t oy = 0; oy < g->ho; oy++) {
			for (int32_t ox = 0; ox < g->wo; ox++) {
				struct win w = window(g, oy, ox);
				float *yo = y->data + (size_t)n * ylen +
				            ((size_t)oy * g->wo + ox) * c; /* [C] */
				if (g->kh == 2 && g->kw == 2 && w.ky0 == 0 && w.ky1 == 2 &&
				    w.kx0 == 0 && w.kx1 == 2) {
					avgwin2x2(g, &w, xi, yo, inv);
					continue;
				}
				for (int32_t ch = 0; ch < c; ch++) yo[ch] = 0.0f;
				/* padding adds zeros: only the clipped window is summed */
				for (int32_t ky = w.ky0; ky < w.ky1; ky++) {
					for (int32_t kx = w.kx0; kx < w.kx1; kx++) {
						const float *xp = xi + pix(g, &w, ky, kx); /* [C] */
						for (int32_t ch = 0; ch < c; ch++) yo[ch] += xp[ch];
					}
				}
				for (int32_t ch = 0; ch < c; ch++) yo[ch] *= inv;
			}
		}
	}
}

/* avgback_tiled for k2 s2 p0 with C a constant: dx's 2x2 block copies dy's pixel */
static inline __attribute__((always_inline)) void avgback2(const struct cn_geom *g,
                                                           const float *restrict dyi,
                                                           float *restrict dxi, float inv,
                                                           const int32_t c)
{
	const size_t wc = (size_t)g->wi * (size_t)c;
	for (int32_t oy = 0; oy < g->ho; oy++) {
		float *d0 = dxi + 2 * (size_t)oy * wc, *d1 = d0 + wc; /* [WI, C] each */
		for (int32_t ox = 0; ox < g->wo; ox++, dyi += c, d0 += 2 * c, d1 += 2 * c)
			for (int32_t ch = 0; ch < c; ch++) {
				float v = dyi[ch] * inv;
				d0[ch] = v, d0[c + ch] = v, d1[ch] = v, d1[c + ch] = v;
			}
	}
}

CN_CLONES static bool avgback2_small(const struct cn_geom *g, const float *restrict dyi,
                                     float *restrict dxi, float inv)
{
	SMALL_C(avgback2, g->ci, g, dyi, dxi, inv)
}

static void avgback_tiled(const struct cn_geom *g, const float *restrict dyi, float *restrict dxi,
                          float inv)
{
	/* k2 s2 p0 tiles only on even sizes */
	if (pool2(g) && avgback2_small(g, dyi, dxi, inv)) return;
	const size_t c = (size_t)g->ci;
	for (int32_t oy = 0; oy < g->ho; oy++) {
		const float *dyr = dyi + (size_t)oy * (size_t)g->wo * c; /* [WO, C] */
		for (int32_t ky = 0; ky < g->kh; ky++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t kx = 0; kx < g->kw; kx++, dxi += c)
					for (size_t ch = 0; ch < c; ch++)
						dxi[ch] = dyr[(size_t)ox * c + ch] * inv;
	}
}

/* dx = 0, then dx[window] += dy / (kh*kw) for the in-image part of every window. */
void cn_avgpool2d_backward(const struct cn_geom *g, const struct cn_tensor *dy,
                           struct cn_tensor *dx)
{
	if (!dx || !dx->data) return;
	const int32_t c = g->ci;
	const size_t xlen = cn_tensor_image_len(dx), ylen = cn_tensor_image_len(dy);
	const float inv = 1.0f / (float)(g->kh * g->kw);
	const bool tiled = tiles(g);
#pragma omp parallel for schedule(static) if (cn_tensor_len(dx) >= POOL_PAR_MIN_LEN)
	for (int32_t n = 0; n < dy->n; n++) {
		float *dxi = dx->data + (size_t)n * xlen; /* [HI, WI, C] */
		if (tiled) {
			avgback_tiled(g, dy->data + (size_t)n * ylen, dxi, inv);
			continue;
		}
		memset(dxi, 0, xlen * sizeof(float));
		for (int32_t oy = 0; oy < g->ho; oy++) {
			for (int32_t ox = 0; ox < g->wo; ox++) {
				struct win w = window(g, oy, ox);
				const float *dyo = dy->data + (size_t)n * ylen +
				                   ((size_t)oy * g->wo + ox) * c; /* [C] */
				for (int32_t ky = w.ky0; ky < w.ky1; ky++) {
					for (int32_t kx = w.kx0; kx < w.kx1; kx++) {
						float *dxp = dxi + pix(g, &w, ky, kx); /* [C] */
						for (int32_t ch = 0; ch < c; ch++)
							dxp[ch] += dyo[ch] * inv;
					}
				}
			}
		}
	}
}
