/*
 * Max pooling over NHWC images, each channel on its own; g->ci is the channels.
 *   y[n,oy,ox,c] = max of x over the in-image part of the window at (oy*sh-ph, ox*sw-pw)
 * (average pooling is pool_avg.c, L^p pooling pool_lp.c; pool_win.h has what they share.)
 * x and dx [N, HI, WI, C]; y, dy and argmax [N, HO, WO, C]. Each window is clipped to the image
 * once per output pixel, so the inner loops run over C contiguous channels with no bounds checks.
 * Ties go to the first maximum in scan order (ky, then kx), as in ref/pool.c.
 * Images are shared out among OpenMP threads (when there is enough work to pay for waking
 * them); each writes only its own images.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "pool_win.h"
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
static inline __attribute__((always_inline)) void maxwin2x2_at(const float *restrict xi,
                                                               float *restrict yo,
                                                               int32_t *restrict am, int32_t o00,
                                                               int32_t o10, int32_t c)
{
	const int32_t o01 = o00 + c, o11 = o10 + c;
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

static inline __attribute__((always_inline)) void
maxwin2x2(const struct cn_geom *g, const struct win *w, const float *restrict xi,
          float *restrict yo, int32_t *restrict am)
{
	maxwin2x2_at(xi, yo, am, (int32_t)pix(g, w, 0, 0), (int32_t)pix(g, w, 1, 0), g->ci);
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

/* maxwin2x2 over a k2 s2 p0 image, one window at a time, with C a constant */
static inline __attribute__((always_inline)) void
max2w_image(const struct cn_geom *g, const float *restrict xi, float *restrict yi,
            int32_t *restrict ami, const int32_t c)
{
	const int32_t wi = g->wi;
	for (int32_t oy = 0; oy < g->ho; oy++)
		for (int32_t ox = 0; ox < g->wo; ox++, yi += c, ami += c) {
			const int32_t o00 = (2 * oy * wi + 2 * ox) * c;
			maxwin2x2_at(xi, yi, ami, o00, o00 + wi * c, c);
		}
}

/* floats of one input row that max2_image keeps on the stack (wi*c), twice */
#define ROW_MAX 2048

/*
 * maxwin2x2 over a k2 s2 p0 image with C a constant: same scan order and strict >, so the
 * same ties. Per pair of input rows, the window rule runs over the rows as flat vectors,
 * t[j] for the window whose top-left is element j, which vectorizes whatever C is (a loop
 * over C channels per window does not for C = 6); then the windows that exist (j in an even
 * pixel) are picked out, C floats at a time. Twice the compares, at 16 a vector.
 */
static inline __attribute__((always_inline)) void max2_image(const struct cn_geom *g,
                                                             const float *restrict xi,
                                                             float *restrict yi,
                                                             int32_t *restrict ami, const int32_t c)
{
	const int32_t wc = g->wi * c, len = (2 * g->wo - 1) * c;
	float t[ROW_MAX];
	int32_t ta[ROW_MAX];
	for (int32_t oy = 0; oy < g->ho; oy++) {
		const int32_t o0 = 2 * oy * wc, o1 = o0 + wc;
		const float *r0 = xi + o0, *r1 = xi + o1; /* [WI, C] each */
		for (int32_t j = 0; j < len; j++) {
			float b = r0[j], v1 = r0[j + c], v2 = r1[j], v3 = r1[j + c];
			int32_t a = o0 + j, m;
			m = -(int32_t)(v1 > b), a = (a & ~m) | ((o0 + j + c) & m);
			b = v1 > b ? v1 : b;
			m = -(int32_t)(v2 > b), a = (a & ~m) | ((o1 + j) & m);
			b = v2 > b ? v2 : b;
			m = -(int32_t)(v3 > b), a = (a & ~m) | ((o1 + j + c) & m);
			b = v3 > b ? v3 : b;
			t[j] = b;
			ta[j] = a;
		}
		for (int32_t ox = 0; ox < g->wo; ox++, yi += c, ami += c)
			for (int32_t ch = 0; ch < c; ch++) {
				yi[ch] = t[2 * ox * c + ch];
				ami[ch] = ta[2 * ox * c + ch];
			}
	}
}

/* max2_image for a few channels; false if C is not one of them */
CN_CLONES static bool max2_small(const struct cn_geom *g, const float *restrict xi,
                                 float *restrict yi, int32_t *restrict ami)
{
	/* from 8 channels on, the window loop's vectors are full enough, and it reads x once */
	if (g->ci >= 8) {
		SMALL_C(max2w_image, g->ci, g, xi, yi, ami)
	}
	SMALL_C(max2_image, g->ci, g, xi, yi, ami)
}

void cn_maxpool2d_forward(const struct cn_geom *g, const struct cn_tensor *x, struct cn_tensor *y,
                          int32_t *argmax)
{
	const size_t xlen = cn_tensor_image_len(x), ylen = cn_tensor_image_len(y);
	/* argmax holds offsets inside one image as int32 */
	assert(xlen <= INT32_MAX);
	const bool small = pool2(g) && (size_t)g->wi * (size_t)g->ci <= ROW_MAX;
#pragma omp parallel for schedule(static) if (cn_tensor_len(x) >= POOL_PAR_MIN_LEN)
	for (int32_t n = 0; n < x->n; n++) {
		const float *xi = x->data + (size_t)n * xlen;
		float *yi = y->data + (size_t)n * ylen;
		int32_t *ami = argmax + (size_t)n * ylen;
		if (!small || !max2_small(g, xi, yi, ami)) maxpool_image(g, xi, yi, ami);
	}
}

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

/*
 * dx = 0, then dx[argmax] += dy: overlapping windows that pick the same element add up.
 * Tiling windows with fewer channels than a vector zero dx and store dy at the argmax instead
 * of maxback_tiled: its channel loop does not vectorize there, and its compare became a branch
 * that mispredicted on every other element (17% of sigmoid-cnn's training at C = 6 and 12, 20x
 * slower than this). A store rather than += keeps maxback_tiled's bits (-0.0 stays -0.0).
 */
void cn_maxpool2d_backward(const struct cn_geom *g, const struct cn_tensor *dy,
                           const int32_t *argmax, struct cn_tensor *dx)
{
	if (!dx || !dx->data) return;
	const size_t xlen = cn_tensor_image_len(dx), ylen = cn_tensor_image_len(dy);
	const bool tiled = tiles(g), wide = g->ci >= 16;
#pragma omp parallel for schedule(static) if (cn_tensor_len(dx) >= POOL_PAR_MIN_LEN)
	for (int32_t n = 0; n < dy->n; n++) {
		float *dxi = dx->data + (size_t)n * xlen;       /* [HI, WI, C] */
		const float *dyi = dy->data + (size_t)n * ylen; /* [HO, WO, C] */
		const int32_t *ami = argmax + (size_t)n * ylen; /* [HO, WO, C] */
		if (tiled && wide) {
			maxback_tiled(g, dyi, ami, dxi);
			continue;
		}
		memset(dxi, 0, xlen * sizeof(float));
		if (tiled)
			for (size_t i = 0; i < ylen; i++) dxi[ami[i]] = dyi[i];
		else
			for (size_t i = 0; i < ylen; i++) dxi[ami[i]] += dyi[i];
	}
}
