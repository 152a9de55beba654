/*
 * Max and average pooling over NHWC images, each channel on its own; g->ci is the channels.
 *   max: y[n,oy,ox,c] = max of x over the in-image part of the window at (oy*sh-ph, ox*sw-pw)
 *   avg: y[n,oy,ox,c] = (sum of x over that part) / (kh*kw)   (padding counts as zeros)
 *   L^p: y[n,oy,ox,c] = (sum of |x|^p over that part)^(1/p)   (PyTorch LPPool2d, with |x|)
 * x and dx [N, HI, WI, C]; y, dy and argmax [N, HO, WO, C]. Each window is clipped to the image
 * once per output pixel, so the inner loops run over C contiguous channels with no bounds checks.
 * Max ties go to the first maximum in scan order (ky, then kx), as in ref/pool.c.
 * Images are shared out among OpenMP threads (when there is enough work to pay for waking
 * them); each writes only its own images.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../util.h"
#include "ops.h"

/* The in-image part of one window: kernel rows [ky0, ky1), columns [kx0, kx1). */
struct win {
	int32_t iy0, ix0; /* top-left corner in image coordinates (negative inside padding) */
	int32_t ky0, ky1, kx0, kx1;
};

/* Clip the window of output pixel (oy, ox) once, so the loops over it need no bounds checks. */
static struct win window(const struct cn_geom *g, int32_t oy, int32_t ox)
{
	struct win w = {.iy0 = oy * g->sh - g->ph, .ix0 = ox * g->sw - g->pw};
	w.ky0 = w.iy0 < 0 ? -w.iy0 : 0;
	w.ky1 = w.iy0 + g->kh > g->hi ? g->hi - w.iy0 : g->kh;
	w.kx0 = w.ix0 < 0 ? -w.ix0 : 0;
	w.kx1 = w.ix0 + g->kw > g->wi ? g->wi - w.ix0 : g->kw;
	/* geom's padding < kernel rule: no window is empty */
	assert(w.ky0 < w.ky1 && w.kx0 < w.kx1);
	return w;
}

/* Offset inside the image of channel 0 at kernel position (ky, kx) of window w. */
static size_t pix(const struct cn_geom *g, const struct win *w, int32_t ky, int32_t kx)
{
	return ((size_t)(w->iy0 + ky) * g->wi + (size_t)(w->ix0 + kx)) * g->ci;
}

/*
 * Max over one window for all channels: yo, am [C]; xi [HI, WI, C]. Seeded with the first
 * in-image element, so padding never competes; strict > keeps the first maximum. The argmax
 * update is a bit mask, not a ?: whose other arm reloads am[ch]: GCC turns that into a
 * conditional store and then will not vectorize the loop.
 */
static inline __attribute__((always_inline)) void
maxwin(const struct cn_geom *g, const struct win *w, const float *xi, float *yo, int32_t *am)
{
	const int32_t c = g->ci;
	int32_t first = (int32_t)pix(g, w, w->ky0, w->kx0);
	for (int32_t ch = 0; ch < c; ch++) {
		yo[ch] = xi[first + ch];
		am[ch] = first + ch;
	}
	for (int32_t ky = w->ky0; ky < w->ky1; ky++) {
		for (int32_t kx = w->kx0; kx < w->kx1; kx++) {
			int32_t off = (int32_t)pix(g, w, ky, kx);
			const float *xp = xi + off; /* [C] */
			for (int32_t ch = 0; ch < c; ch++) {
				float v = xp[ch], b = yo[ch];
				int32_t m = -(int32_t)(v > b); /* all ones where v wins */
				am[ch] = (am[ch] & ~m) | ((off + ch) & m);
				yo[ch] = v > b ? v : b;
			}
		}
	}
}

/*
 * maxwin for an unclipped 2x2 window, the zoo's pooling: the four rows of C channels are read
 * once each and the running maximum stays in registers (maxwin stores it back to y and argmax
 * after every kernel position, as y might alias x for all the compiler knows). Same scan order
 * and strict >, so the same ties.
 */
static inline __attribute__((always_inline)) void
maxwin2x2(const struct cn_geom *g, const struct win *w, const float *restrict xi,
          float *restrict yo, int32_t *restrict am)
{
	const int32_t c = g->ci, o00 = (int32_t)pix(g, w, 0, 0), o01 = o00 + c;
	const int32_t o10 = (int32_t)pix(g, w, 1, 0), o11 = o10 + c;
	for (int32_t ch = 0; ch < c; ch++) {
		float b = xi[o00 + ch], v1 = xi[o01 + ch], v2 = xi[o10 + ch], v3 = xi[o11 + ch];
		int32_t a = o00 + ch, m;
		m = -(int32_t)(v1 > b), a = (a & ~m) | ((o01 + ch) & m), b = v1 > b ? v1 : b;
		m = -(int32_t)(v2 > b), a = (a & ~m) | ((o10 + ch) & m), b = v2 > b ? v2 : b;
		m = -(int32_t)(v3 > b), a = (a & ~m) | ((o11 + ch) & m), b = v3 > b ? v3 : b;
		yo[ch] = b;
		am[ch] = a;
	}
}

/*
 * One image, y and argmax [HO, WO, C] from xi [HI, WI, C]; compiled per vector width
 * (CN_CLONES): at 16 channels a vector, the 2x2 window's compares and blends take a quarter of
 * baseline SSE's instructions (8% of tutorial-cnn's 1-thread training, as SSE).
 */
CN_CLONES static void maxpool_image(const struct cn_geom *g, const float *restrict xi,
                                    float *restrict yi, int32_t *restrict ami)
{
	for (int32_t oy = 0; oy < g->ho; oy++) {
		for (int32_t ox = 0; ox < g->wo; ox++) {
			struct win w = window(g, oy, ox);
			size_t at = ((size_t)oy * g->wo + ox) * g->ci;
			if (g->kh == 2 && g->kw == 2 && w.ky0 == 0 && w.ky1 == 2 && w.kx0 == 0 &&
			    w.kx1 == 2)
				maxwin2x2(g, &w, xi, yi + at, ami + at);
			else
				maxwin(g, &w, xi, yi + at, ami + at);
		}
	}
}

void cn_maxpool2d_forward(const struct cn_geom *g, const struct cn_tensor *x, struct cn_tensor *y,
                          int32_t *argmax)
{
	const size_t xlen = cn_tensor_image_len(x), ylen = cn_tensor_image_len(y);
	/* argmax holds offsets inside one image as int32 */
	assert(xlen <= INT32_MAX);
#pragma omp parallel for schedule(static) if (cn_tensor_len(x) >= CN_PAR_MIN_LEN)
	for (int32_t n = 0; n < x->n; n++)
		maxpool_image(g, x->data + (size_t)n * xlen, y->data + (size_t)n * ylen,
		              argmax + (size_t)n * ylen);
}

static bool tiles(const struct cn_geom *g);

/*
 * Windows that tile the image: every element of dx is in exactly one window, so each window
 * writes dy at its argmax and 0 elsewhere, in order, with no zeroing pass and no
 * read-modify-write scatter. am holds offsets inside the image, as the forward wrote them.
 */
CN_CLONES static void maxback_tiled(const struct cn_geom *g, const float *restrict dyi,
                                    const int32_t *restrict ami, float *restrict dxi)
{
	const int32_t c = g->ci;
	for (int32_t oy = 0; oy < g->ho; oy++) {
		const size_t yrow = (size_t)oy * (size_t)g->wo * (size_t)c;
		for (int32_t ky = 0; ky < g->kh; ky++)
			for (int32_t ox = 0; ox < g->wo; ox++)
				for (int32_t kx = 0; kx < g->kw; kx++) {
					const int32_t base = (int32_t)(((oy * g->sh + ky) * g->wi +
					                                ox * g->sw + kx) *
					                               c);
					const float *dyo = dyi + yrow + (size_t)ox * (size_t)c;
					const int32_t *amo = ami + yrow + (size_t)ox * (size_t)c;
					float *dxo = dxi + base;
					for (int32_t ch = 0; ch < c; ch++)
						dxo[ch] = amo[ch] == base + ch ? dyo[ch] : 0.0f;
				}
	}
}

/* dx = 0, then dx[argmax] += dy: overlapping windows that pick the same element add up. */
void cn_maxpool2d_backward(const struct cn_geom *g, const struct cn_tensor *dy,
                           const int32_t *argmax, struct cn_tensor *dx)
{
	if (!dx || !dx->data) return;
	const size_t xlen = cn_tensor_image_len(dx), ylen = cn_tensor_image_len(dy);
	const bool tiled = tiles(g);
#pragma omp parallel for schedule(static) if (cn_tensor_len(dx) >= CN_PAR_MIN_LEN)
	for (int32_t n = 0; n < dy->n; n++) {
		float *dxi = dx->data + (size_t)n * xlen;       /* [HI, WI, C] */
		const float *dyi = dy->data + (size_t)n * ylen; /* [HO, WO, C] */
		const int32_t *ami = argmax + (size_t)n * ylen; /* [HO, WO, C] */
		if (tiled) {
			maxback_tiled(g, dyi, ami, dxi);
			continue;
		}
		memset(dxi, 0, xlen * sizeof(float));
		for (size_t i = 0; i < ylen; i++) dxi[ami[i]] += dyi[i];
	}
}

/* An unclipped 2x2 average in registers, summed in the general loop's order (same bits). */
static void avgwin2x2(const struct cn_geom *g, const struct win *w, const float *restrict xi,
                      float *restrict yo, float inv)
{
	const float *r0 = xi + pix(g, w, 0, 0), *r1 = xi + pix(g, w, 1, 0); /* [2, C] each */
	const int32_t c = g->ci;
	for (int32_t ch = 0; ch < c; ch++)
		yo[ch] = (r0[ch] + r0[c + ch] + r1[ch] + r1[c + ch]) * inv;
}

void cn_avgpool2d_forward(const struct cn_geom *g, const struct cn_tensor *x, struct cn_tensor *y)
{
	const int32_t c = g->ci;
	const size_t xlen = cn_tensor_image_len(x), ylen = cn_tensor_image_len(y);
	const float inv = 1.0f / (float)(g->kh * g->kw);
#pragma omp parallel for schedule(static) if (cn_tensor_len(x) >= CN_PAR_MIN_LEN)
	for (int32_t n = 0; n < x->n; n++) {
		const float *xi = x->data + (size_t)n * xlen; /* [HI, WI, C] */
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

/*
 * Windows that tile the image exactly (stride = kernel, no padding, nothing left over, as the
 * zoo's 2x2 pools on even sizes): each element of x is in one window, so dx is written once,
 * in order, dx = dy(window) / (kh*kw), with no zeroing pass and no read-modify-write.
 */
static bool tiles(const struct cn_geom *g)
{
	return g->sh == g->kh && g->sw == g->kw && g->ph == 0 && g->pw == 0 &&
	       g->ho * g->sh == g->hi && g->wo * g->sw == g->wi;
}

static void avgback_tiled(const struct cn_geom *g, const float *restrict dyi, float *restrict dxi,
                          float inv)
{
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
#pragma omp parallel for schedule(static) if (cn_tensor_len(dx) >= CN_PAR_MIN_LEN)
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

/* ---- L^p pooling ---- */

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
