/*
 * One-channel convolutions (the first layers of mnist-fast, sigmoid-cnn, lenet5, avgpool-cnn)
 * without the lowering: conv2d.c lowered x into a column matrix per chunk, then ran
 * gemm_small's tt_small (forward) or tn_small (dW) over it, and the lowering was half of the
 * forward's time and 46% of dW's (bench_layers, mnist-fast's conv 16 k5). Here the same
 * products read x where it lies, in a padded copy of one image on the stack:
 *   forward  y [HO·WO, CO]: blocks of B pixels of an output row × CO channels, lcm(CO, KW)
 *            floats of y, so stores are whole vectors and no lane is idle; x comes from the
 *            image expanded CO-fold (each pixel repeated CO times, so a block's lanes are one
 *            load per tap), or broadcast one pixel a block when CO is a multiple of KW
 *   dW       dW[CO, KH·KW] += Σ_rows dYᵀ·patch: lanes (channel, T taps of a kernel row), the
 *            dY row spread T-fold once per pixel, T neighbouring pixels of x broadcast per
 *            group of taps; all groups' accumulators stay in registers across the image
 * The bits are those of the lowered path (tests/test_conv2d_direct.c compares them bit for
 * bit): every output element is one sum over the same terms in the same order (the patch
 * order for y, the chunk's rows for dW), with separate multiplies and adds, then gemm_small's
 * alpha·sum + beta·C with alpha 1 and beta 1 over the bias or dW, beta 0 without a bias. So
 * cn_conv2d_direct_fits takes exactly the shapes whose lowered GEMM goes to those kernels,
 * not OpenBLAS's (whose blocking and FMAs give other bits).
 */
#include <stdint.h>
#include <string.h>

#include "../geom.h"
#include "../util.h"
#include "ops.h"

#define AI __attribute__((always_inline))
/* the loops over a tile's accumulators, fully: GCC's own limit left 25 of them in memory */
#define UNROLL _Pragma("GCC unroll 32")

#define TAPS_MAX 160   /* KH·KW, as gemm_small's tt_small (NT_KMAX) */
#define PAD_MAX  8192  /* floats of a padded image, as im2col.c's (cn_im2col_t_fits) */
#define EXP_MAX  12288 /* floats of an expanded image on the stack (48 KB; lenet5's 6144) */
#define WPAT_MAX 4096  /* floats of the forward's packed weights, KH·KW · lcm(CO, 16) */
#define SLACK    256   /* zeros after an image: partial blocks' lanes, expand's last stores */

/* the channel counts tt_small (forward) and tn_small (dW) take */
#define FW_COS(X) X(1) X(2) X(3) X(4) X(6) X(8) X(10) X(12) X(16)
#define DW_COS(X) X(4) X(6) X(8) X(10) X(12) X(16)

struct fw_args {
	const struct cn_geom *g;
	int co, n, k;
	size_t xlen;
	const float *x, *w, *b;
	float *y;
};

struct dw_args {
	const struct cn_geom *g;
	int co, n;
	size_t xlen;
	const float *x, *dy;
	float *dw;
};

static int gcd(int a, int b)
{
	return b ? gcd(b, a % b) : a;
}

/* Floats of an expanded row: sw phases of wq = ceil(WP/sw) pixels, rep floats each. */
static int row_len(const struct cn_geom *g, int rep)
{
	const int wp = g->wi + 2 * g->pw;
	return (wp + g->sw - 1) / g->sw * g->sw * rep;
}

/* off[p] of tap p = (ky, kx) in an expanded image: row ky, phase kx % sw, pixel kx / sw */
static void tap_offsets(const struct cn_geom *g, int rep, int *off)
{
	const int rl = row_len(g, rep), wq = rl / g->sw / rep;
	for (int ky = 0; ky < g->kh; ky++)
		for (int kx = 0; kx < g->kw; kx++)
			off[ky * g->kw + kx] =
			    ky * rl + (kx % g->sw) * wq * rep + (kx / g->sw) * rep;
}

/* p [HP, WP] = x with zeros around it, then SLACK zeros */
static const float *pad(const struct cn_geom *g, const float *x, float *p)
{
	const int wp = g->wi + 2 * g->pw, hp = g->hi + 2 * g->ph;
	memset(p, 0, (size_t)(g->ph * wp + g->pw) * sizeof(float));
	for (int iy = 0; iy < g->hi; iy++) {
		float *d = p + (size_t)((iy + g->ph) * wp + g->pw);
		memcpy(d, x + (size_t)iy * (size_t)g->wi, (size_t)g->wi * sizeof(float));
		memset(d + g->wi, 0, (size_t)(2 * g->pw) * sizeof(float));
	}
	const int tail = (hp - g->ph) * wp + g->pw;
	memset(p + tail, 0, (size_t)(hp * wp - tail + SLACK) * sizeof(float));
	return p;
}

/* One copy of the kernels per instruction set of the build, as gemm_small.c's. */
#ifdef CN_CLONE_avx512f
#define KW      16
#define KREGS   32
#define KTARGET __attribute__((target("avx512f")))
#define K(name) name##_avx512f
#include "conv2d_direct_tiles.h"
#undef KW
#undef KREGS
#undef KTARGET
#undef K
#endif

#ifdef CN_CLONE_avx2
#define KW      8
#define KREGS   16
#define KTARGET __attribute__((target("avx2")))
#define K(name) name##_avx2
#include "conv2d_direct_tiles.h"
#undef KW
#undef KREGS
#undef KTARGET
#undef K
#endif

#define KW    4
#define KREGS 16
#define KTARGET
#define K(name) name##_sse
#include "conv2d_direct_tiles.h"
#undef KW
#undef KREGS
#undef KTARGET
#undef K

/* the widest copy this CPU runs, at most max_width floats (gemm_small.c's rule) */
static int vector_width(int max_width)
{
#ifdef CN_CLONE_avx512f
	if (max_width >= 16 && __builtin_cpu_supports("avx512f")) return 16;
#endif
#ifdef CN_CLONE_avx2
	if (max_width >= 8 && __builtin_cpu_supports("avx2")) return 8;
#endif
	(void)max_width;
	return 4;
}

#define IS_CO(c) || co == c

bool cn_conv2d_direct_fits(const struct cn_geom *g, int32_t co, size_t rows, bool backward)
{
#ifdef CN_NAIVE_GEMM
	(void)g, (void)co, (void)rows, (void)backward, (void)gcd;
	return false; /* the lowered path's GEMM is the reference loops: other bits */
#else
	const int k = (int)cn_geom_patch_len(g), wp = g->wi + 2 * g->pw, hp = g->hi + 2 * g->ph;
	if (g->ci != 1 || rows < 256 || k > TAPS_MAX || (size_t)hp * (size_t)wp > PAD_MAX)
		return false;
	/* dW over more than 8 channels on AVX2 (two vectors a tap group, 5 groups a pass) spilled
	 * 4 of its 10 accumulators: 1.87 ms against 1.70 lowered, mnist-fast's L1; lowered there */
	if (backward && co > 8 && vector_width(16) < 16) return false;
	if (backward) return false DW_COS(IS_CO);
	/* the expanded image at the widest copy: CO floats a pixel, 1 for 16 channels */
	const size_t rep = co % 16 ? (size_t)co : 1;
	const size_t len = (size_t)hp * (size_t)row_len(g, 1) * rep;
	if (len > EXP_MAX || (size_t)k * (size_t)(co * 16 / gcd(co, 16)) > WPAT_MAX) return false;
	return false FW_COS(IS_CO);
#endif
}

void cn_conv2d_direct_forward(int max_width, const struct cn_geom *g, int32_t co, int32_t n,
                              const float *x, const float *w, const float *b, float *y)
{
	const struct fw_args a = {.g = g,
	                          .co = co,
	                          .n = n,
	                          .k = (int)cn_geom_patch_len(g),
	                          .xlen = (size_t)g->hi * (size_t)g->wi,
	                          .x = x,
	                          .w = w,
	                          .b = b,
	                          .y = y};
	const int width = vector_width(max_width);
	(void)width; /* read only where the build has wider copies */
#ifdef CN_CLONE_avx512f
	if (width == 16) {
		fw_avx512f(&a);
		return;
	}
#endif
#ifdef CN_CLONE_avx2
	if (width == 8) {
		fw_avx2(&a);
		return;
	}
#endif
	fw_sse(&a);
}

void cn_conv2d_direct_dw(int max_width, const struct cn_geom *g, int32_t co, int32_t n,
                         const float *x, const float *dy, float *dw)
{
	const struct dw_args a = {.g = g,
	                          .co = co,
	                          .n = n,
	                          .xlen = (size_t)g->hi * (size_t)g->wi,
	                          .x = x,
	                          .dy = dy,
	                          .dw = dw};
	const int width = vector_width(max_width);
	(void)width;
#ifdef CN_CLONE_avx512f
	if (width == 16) {
		dw_avx512f(&a);
		return;
	}
#endif
#ifdef CN_CLONE_avx2
	if (width == 8) {
		dw_avx2(&a);
		return;
	}
#endif
	dw_sse(&a);
}
