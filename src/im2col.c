/*
 * im2col / col2im over NHWC with Caffe's loop order: the column matrix is walked strictly
 * sequentially, one output pixel (one row of col) at a time. In NHWC, kernel row ky of a
 * window is a contiguous run of kw*ci floats of image row iy, so each (pixel, ky) costs at most
 * three bulk operations: zeros for the part left of the image, one copy of the in-image part,
 * zeros for the part right of it (a whole run of zeros above or below the image). No branch
 * runs per element. col2im is the mirror image: zero x, then add every in-image run back,
 * which makes it the exact adjoint of im2col.
 * Images whose zero-padded copy fits PAD_MAX floats (all of the zoo's) are first copied into a
 * padded stack buffer and lowered from it without any clipping (see im2col_padded); col2im
 * then accumulates there and copies the inside out. The clipping loops remain for larger ones.
 * Runs are short in the layers that matter most here (kw*ci = 3..30 floats for first layers
 * and few channels), where a libc memcpy/memset call per run cost more than the copy (im2col
 * and memmove were 30% of sigmoid-cnn's training): runs under 64 floats are copied inline in
 * blocks of 4 floats, the last block overlapping the one before rather than taking a tail loop.
 */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "im2col.h"
#include "util.h"

/* runs of at least this many floats go to libc, whose wide-vector loops win there */
#define LONG_RUN 64

/*
 * The run lengths (kw*ci) compiled with the length as a constant, so each kernel row is a
 * fixed sequence of vector moves rather than a loop: the zoo's first layers (one channel,
 * 3x3 and 5x5), few-channel layers, and 3x3 over 32 and 64 channels (tutorial-cnn,
 * deep-cnn). BY_RUN(run, f) calls f(r, true) with the constant r equal to run when it is
 * one of them, else f(run, false): one table for im2col, col2im and both of their paths.
 */
#define FIXED_RUNS(X, f) X(3, f) X(5, f) X(12, f) X(18, f) X(30, f) X(96, f) X(192, f)
#define RUN_CASE(r, f)                                                                             \
	case r:                                                                                    \
		f(r, true);                                                                        \
		break;
#define BY_RUN(run, f)                                                                             \
	do {                                                                                       \
		switch (run) {                                                                     \
			FIXED_RUNS(RUN_CASE, f)                                                    \
		default:                                                                           \
			f(run, false);                                                             \
			break;                                                                     \
		}                                                                                  \
	} while (0)

/* d[0..n) = s[0..n); short (n < LONG_RUN) says to copy inline */
static inline void copy_run(float *restrict d, const float *restrict s, size_t n, bool short_)
{
	if (!short_ || n >= LONG_RUN || __builtin_constant_p(n)) {
		/* a constant length is expanded inline into the widest moves the clone has */
		memcpy(d, s, n * sizeof(*d));
	} else if (n >= 4) {
		/* fixed 16-byte copies: one vector load and store each */
		for (size_t j = 0; j + 4 < n; j += 4) memcpy(d + j, s + j, 4 * sizeof(*d));
		memcpy(d + n - 4, s + n - 4, 4 * sizeof(*d));
	} else {
		for (size_t j = 0; j < n; j++) d[j] = s[j];
	}
}

/* d[0..n) = 0, inline when short_ */
static inline void zero_run(float *d, size_t n, bool short_)
{
	static const float zeros[4];
	if (!short_ || n >= LONG_RUN) {
		memset(d, 0, n * sizeof(*d));
	} else if (n >= 4) {
		for (size_t j = 0; j + 4 < n; j += 4) memcpy(d + j, zeros, sizeof zeros);
		memcpy(d + n - 4, zeros, sizeof zeros);
	} else {
		for (size_t j = 0; j < n; j++) d[j] = 0.0f;
	}
}

/*
 * Kernel columns [*lo, *hi) of a window whose left edge is image column ix0 that fall inside
 * the image (wi columns). Clamped so that lo <= hi even when the window misses the image.
 */
static void span(int32_t ix0, int32_t kw, int32_t wi, int32_t *lo, int32_t *hi)
{
	int32_t l = -ix0, h = wi - ix0;
	l = l < 0 ? 0 : l > kw ? kw : l;
	h = h < l ? l : h > kw ? kw : h;
	*lo = l;
	*hi = h;
}

/*
 * One image. Inlined once per run length of FIXED_RUNS, so that for a window inside the
 * image the copy of each kernel row is a fixed sequence of vector moves, not a loop.
 */
static inline __attribute__((always_inline)) void
im2col_image(const struct cn_geom *g, const float *xi, float *col, size_t run, bool fixed)
{
	const size_t ci = (size_t)g->ci;
	for (int32_t oy = 0; oy < g->ho; oy++) {
		for (int32_t ox = 0; ox < g->wo; ox++) {
			int32_t ix0 = ox * g->sw - g->pw, lo, hi;
			span(ix0, g->kw, g->wi, &lo, &hi);
			const size_t left = (size_t)lo * ci, mid = (size_t)(hi - lo) * ci;
			for (int32_t ky = 0; ky < g->kh; ky++, col += run) {
				int32_t iy = oy * g->sh - g->ph + ky;
				/* one unsigned compare covers iy < 0 and iy >= hi */
				if ((uint32_t)iy >= (uint32_t)g->hi) {
					zero_run(col, run, fixed);
					continue;
				}
				const float *src =
				    xi + ((size_t)iy * (size_t)g->wi + (size_t)(ix0 + lo)) * ci;
				if (fixed && mid == run) { /* whole row in the image */
					copy_run(col, src, run, true);
					continue;
				}
				if (left) zero_run(col, left, fixed);
				/* cn_geom_init's padding < kernel means every window meets the
				 * image, but a window that missed it must not index x */
				if (mid) copy_run(col + left, src, mid, fixed);
				if (left + mid < run)
					zero_run(col + left + mid, run - left - mid, fixed);
			}
		}
	}
}

/*
 * Images whose zero-padded copy has at most PAD_MAX floats (every zoo layer; 32 KB of stack)
 * are lowered from that copy: every kernel row of every window is then a whole run inside it,
 * so the loop has no clipping and no branch at all, and each run is one fixed-length copy.
 * The copy costs (HI+2PH)(WI+2PW)CI writes against the column matrix's HO*WO*KH*KW*CI.
 */
#define PAD_MAX 8192

static size_t padded_len(const struct cn_geom *g)
{
	return (size_t)(g->hi + 2 * g->ph) * (size_t)(g->wi + 2 * g->pw) * (size_t)g->ci;
}

/* p [HI+2PH, WI+2PW, CI] = x with zeros around it */
static void pad_image(const struct cn_geom *g, const float *xi, float *p);

/* The padded image: x itself when there is no padding (no copy), else p filled by pad_image. */
static const float *padded(const struct cn_geom *g, const float *xi, float *p)
{
	if (g->ph == 0 && g->pw == 0) return xi;
	pad_image(g, xi, p);
	return p;
}

static void pad_image(const struct cn_geom *g, const float *xi, float *p)
{
	const size_t ci = (size_t)g->ci, wpc = (size_t)(g->wi + 2 * g->pw) * ci;
	const size_t left = (size_t)g->pw * ci, in = (size_t)g->wi * ci;
	for (int32_t py = 0; py < g->hi + 2 * g->ph; py++, p += wpc) {
		int32_t iy = py - g->ph;
		if ((uint32_t)iy >= (uint32_t)g->hi) {
			memset(p, 0, wpc * sizeof(*p));
			continue;
		}
		memset(p, 0, left * sizeof(*p));
		if (in == 28) /* a 28-wide one-channel image (lenet5, avgpool-cnn): no libc call */
			copy_run(p + left, xi + (size_t)iy * in, 28, true);
		else
			memcpy(p + left, xi + (size_t)iy * in, in * sizeof(*p));
		memset(p + left + in, 0, (wpc - left - in) * sizeof(*p));
	}
}

/* im2col of one padded image p: kernel row ky of the window at (oy, ox) starts at padded
 * (oy*sh + ky, ox*sw); inlined per run length like im2col_image */
static inline __attribute__((always_inline)) void
im2col_padded(const struct cn_geom *g, const float *p, float *col, size_t run)
{
	const size_t ci = (size_t)g->ci, wpc = (size_t)(g->wi + 2 * g->pw) * ci;
	const size_t step = (size_t)g->sw * ci;
	for (int32_t oy = 0; oy < g->ho; oy++) {
		const float *prow = p + (size_t)oy * (size_t)g->sh * wpc;
		for (int32_t ox = 0; ox < g->wo; ox++) {
			const float *src = prow + (size_t)ox * step;
			for (int32_t ky = 0; ky < g->kh; ky++, col += run, src += wpc)
				copy_run(col, src, run, true);
		}
	}
}

/*
 * The exported functions call static clones: clang (the fuzz build) resolves target_clones of
 * an external function only where every declaration carries the attribute.
 */
CN_CLONES static void im2col_batch(const struct cn_geom *g, int32_t n, const float *x, float *col)
{
	const size_t run = (size_t)g->kw * (size_t)g->ci; /* one kernel row: kw*ci floats */
	const size_t img = (size_t)g->hi * (size_t)g->wi * (size_t)g->ci;
	const size_t clen = cn_geom_out_pixels(g) * cn_geom_patch_len(g);
	if (padded_len(g) <= PAD_MAX) {
		float p[PAD_MAX];
		for (int32_t i = 0; i < n; i++) {
			const float *pi = padded(g, x + (size_t)i * img, p);
			float *c = col + (size_t)i * clen;
#define LOWER(r, fixed) im2col_padded(g, pi, c, r)
			BY_RUN(run, LOWER);
#undef LOWER
		}
		return;
	}
	for (int32_t i = 0; i < n; i++) {
		const float *xi = x + (size_t)i * img; /* [HI, WI, CI] */
		float *ci = col + (size_t)i * clen;
#define LOWER(r, fixed) im2col_image(g, xi, ci, r, fixed)
		BY_RUN(run, LOWER);
#undef LOWER
	}
}

void cn_im2col(const struct cn_geom *g, int32_t n, const float *x, float *col)
{
	im2col_batch(g, n, x, col);
}

/* HO runs of wo floats, from padded rows s + oy*sh*wp to d + oy*wo (stride 1) */
static inline __attribute__((always_inline)) void rows_t(const struct cn_geom *g, const float *s,
                                                         float *d, size_t wp, size_t wo)
{
	for (int32_t oy = 0; oy < g->ho; oy++, d += wo, s += (size_t)g->sh * wp)
		copy_run(d, s, wo, true);
}

bool cn_im2col_t_fits(const struct cn_geom *g)
{
	return g->ci == 1 && padded_len(g) <= PAD_MAX;
}

CN_CLONES static void im2col_t_batch(const struct cn_geom *g, int32_t n, const float *x,
                                     float *colt)
{
	assert(cn_im2col_t_fits(g));
	const size_t img = (size_t)g->hi * (size_t)g->wi, wp = (size_t)(g->wi + 2 * g->pw);
	const size_t pix = cn_geom_out_pixels(g), rows = (size_t)n * pix, wo = (size_t)g->wo;
	float p[PAD_MAX];
	for (int32_t i = 0; i < n; i++) {
		const float *pi = padded(g, x + (size_t)i * img, p);
		float *dst = colt + (size_t)i * pix; /* row 0 of colt, image i's columns */
		for (int32_t ky = 0; ky < g->kh; ky++)
			for (int32_t kx = 0; kx < g->kw; kx++, dst += rows) {
				float *d = dst;
				const float *s = pi + (size_t)ky * wp + (size_t)kx;
				if (g->sw != 1) {
					for (int32_t oy = 0; oy < g->ho; oy++, d += wo)
						for (size_t ox = 0; ox < wo; ox++)
							d[ox] = s[(size_t)oy * (size_t)g->sh * wp +
							          ox * (size_t)g->sw];
					continue;
				}
				/* the zoo's widths as constants: fixed moves, not a libc call per
				 * run (GCC turns a copy loop of runtime length into one) */
				switch (wo) {
				case 24:
					rows_t(g, s, d, wp, 24);
					break;
				case 28:
					rows_t(g, s, d, wp, 28);
					break;
				default:
					rows_t(g, s, d, wp, wo);
					break;
				}
			}
	}
}

void cn_im2col_t(const struct cn_geom *g, int32_t n, const float *x, float *colt)
{
	im2col_t_batch(g, n, x, colt);
}

/* dst[0..n) += src[0..n), inlined like copy_run for constant n */
static inline void add_run(float *restrict dst, const float *restrict src, size_t n)
{
	for (size_t j = 0; j < n; j++) dst[j] += src[j];
}

/* One image of col2im, inlined per run length like im2col_image. */
static inline __attribute__((always_inline)) void
col2im_image(const struct cn_geom *g, const float *col, float *xi, size_t run, bool fixed)
{
	const size_t ci = (size_t)g->ci;
	for (int32_t oy = 0; oy < g->ho; oy++) {
		for (int32_t ox = 0; ox < g->wo; ox++) {
			int32_t ix0 = ox * g->sw - g->pw, lo, hi;
			span(ix0, g->kw, g->wi, &lo, &hi);
			const size_t left = (size_t)lo * ci, mid = (size_t)(hi - lo) * ci;
			for (int32_t ky = 0; ky < g->kh; ky++, col += run) {
				int32_t iy = oy * g->sh - g->ph + ky;
				if ((uint32_t)iy >= (uint32_t)g->hi || !mid) continue;
				float *dst =
				    xi + ((size_t)iy * (size_t)g->wi + (size_t)(ix0 + lo)) * ci;
				if (fixed && mid == run)
					add_run(dst, col, run);
				else
					add_run(dst, col + left, mid);
			}
		}
	}
}

/* col2im into a zeroed padded image p, the mirror of im2col_padded */
static inline __attribute__((always_inline)) void
col2im_padded(const struct cn_geom *g, const float *col, float *p, size_t run)
{
	const size_t ci = (size_t)g->ci, wpc = (size_t)(g->wi + 2 * g->pw) * ci;
	const size_t step = (size_t)g->sw * ci;
	for (int32_t oy = 0; oy < g->ho; oy++) {
		float *prow = p + (size_t)oy * (size_t)g->sh * wpc;
		for (int32_t ox = 0; ox < g->wo; ox++) {
			float *dst = prow + (size_t)ox * step;
			for (int32_t ky = 0; ky < g->kh; ky++, col += run, dst += wpc)
				add_run(dst, col, run);
		}
	}
}

void cn_col2im(const struct cn_geom *g, int32_t n, const float *col, float *x)
{
	const size_t run = (size_t)g->kw * (size_t)g->ci;
	const size_t img = (size_t)g->hi * (size_t)g->wi * (size_t)g->ci;
	const size_t clen = cn_geom_out_pixels(g) * cn_geom_patch_len(g);
	const size_t plen = padded_len(g);
	if (plen <= PAD_MAX) {
		/* accumulate in the padded image, then copy its inside out: x is overwritten
		 * without a zeroing pass of its own, and the padding's entries are dropped */
		float p[PAD_MAX];
		const size_t ci = (size_t)g->ci, wpc = (size_t)(g->wi + 2 * g->pw) * ci;
		const size_t in = (size_t)g->wi * ci;
		for (int32_t i = 0; i < n; i++) {
			const float *c = col + (size_t)i * clen;
			memset(p, 0, plen * sizeof(*p));
#define RAISE(r, fixed) col2im_padded(g, c, p, r)
			BY_RUN(run, RAISE);
#undef RAISE
			float *xi = x + (size_t)i * img;
			for (int32_t iy = 0; iy < g->hi; iy++)
				memcpy(xi + (size_t)iy * in,
				       p + (size_t)(iy + g->ph) * wpc + (size_t)g->pw * ci,
				       in * sizeof(*p));
		}
		return;
	}
	/* overwrite, not accumulate: the padding entries of col have nowhere to go */
	memset(x, 0, (size_t)n * img * sizeof(*x));
	for (int32_t i = 0; i < n; i++) {
		float *xi = x + (size_t)i * img; /* [HI, WI, CI] */
		const float *ci = col + (size_t)i * clen;
#define RAISE(r, fixed) col2im_image(g, ci, xi, r, fixed)
		BY_RUN(run, RAISE);
#undef RAISE
	}
}
