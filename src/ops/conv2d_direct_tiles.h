/*
 * The direct one-channel convolution kernels for one vector width: conv2d_direct.c includes
 * this file once per instruction set of the build, after defining KW (floats per vector),
 * KREGS (vector registers), KTARGET and K(name), as gemm_small.c does for its tiles. Every
 * tile is sized from KW and KREGS so that no copy spills it. No include guard: that is the point.
 * The forward is here, dW in conv2d_direct_dw.h (included below).
 */

typedef float K(vec) __attribute__((vector_size(KW * 4)));
typedef int32_t K(ivec) __attribute__((vector_size(KW * 4)));
typedef uint64_t K(lvec) __attribute__((vector_size(KW * 4)));

/* *v = p[0..KW) and back, unaligned (through pointers: a vector returned by value trips -Wpsabi) */
KTARGET static inline AI void K(ld)(K(vec) * v, const float *p)
{
	memcpy(v, p, sizeof *v);
}

KTARGET static inline AI void K(st)(float *p, const K(vec) * v)
{
	memcpy(p, v, sizeof *v);
}

/* *v = lanes l / t of *v (t = 2, 4): each of the first KW/t floats repeated t times */
KTARGET static inline AI void K(spread)(K(vec) * v, const int t)
{
#ifdef __clang__ /* no __builtin_shuffle; the fuzz build, not timed */
	K(vec) s = *v;
	for (int l = 0; l < KW; l++) (*v)[l] = s[l / t];
#else
	K(ivec) m;
	for (int l = 0; l < KW; l++) m[l] = l / t;
	*v = __builtin_shuffle(*v, m);
#endif
}

/* *o = lanes (u·KW + l) / rep of *v: vector u of KW pixels each repeated rep times */
KTARGET static inline AI void K(perm)(K(vec) * o, const K(vec) * v, const int u, const int rep)
{
#ifdef __clang__
	for (int l = 0; l < KW; l++) (*o)[l] = (*v)[(u * KW + l) / rep];
#else
	K(ivec) m;
	for (int l = 0; l < KW; l++) m[l] = (u * KW + l) / rep;
	*o = __builtin_shuffle(*v, m);
#endif
}

/* *v = p[0..t) repeated across the vector (t = 2, 4): a broadcast load */
KTARGET static inline AI void K(bcast)(K(vec) * v, const float *p, const int t)
{
	if (t == 2) {
		uint64_t u;
		memcpy(&u, p, sizeof u);
		K(lvec) l = u + (K(lvec)){0};
		memcpy(v, &l, sizeof l);
	} else {
#ifdef __clang__
		for (int l = 0; l < KW; l++) (*v)[l] = p[l % 4];
#else
		K(ivec) m;
		for (int l = 0; l < KW; l++) m[l] = l % 4;
		K(ld)(v, p);
		*v = __builtin_shuffle(*v, m);
#endif
	}
}

/* ---- forward: blocks of B pixels of an output row x co channels, nv vectors (FW_SHAPE) ---- */

/* nv·KW = lcm(co, KW) floats: B = KW/g pixels of co = nv·g channels, g = gcd(co, KW) */
#define K_G(co)    CN_MIN((co) & -(co), KW)
#define K_FW_R(nv) CN_MIN(8, (KREGS - 1 - (nv)) / (nv))
/* tiles along a row: one pointer, up to a row of 24 (mnist-fast's L1 0.61 -> 0.45 ms from 8) */
#define K_FW_RROW(nv) CN_MIN(24, (KREGS - 2 - (nv)) / (nv))
#define K_FW_NVMAX    5 /* co 10 over 16 lanes */

/*
 * r blocks, block i's first pixel at s[i] in the expanded image and its y at y[i]: y = Σ_p
 * s[i][off[p] + lane] · wp[p] (+ bias), p in patch order; with B = 1 the one pixel of a block
 * is broadcast. len < B: only the first len pixels are stored. row: the blocks follow s[0] and
 * y[0] along one output row, so that their distances are the loads' immediate displacements,
 * one pointer a tap (B = 1, mnist-fast's L1: 0.53 ms, 0.65-0.95 with a pointer a block).
 */
KTARGET static inline AI void K(fw_tile)(const int co, const int r, const bool row, const int k,
                                         const float *const *restrict s, const int *restrict off,
                                         const K(vec) *restrict wp, const K(vec) *restrict bp,
                                         float *const *restrict y, int len)
{
	const int nv = co / K_G(co), B = KW / K_G(co);
	K(vec) acc[32]; /* [r, nv], flat */
	const float *sp[24];
	float *yp[24];
	UNROLL for (int i = 0; i < r; i++)
	{
		sp[i] = row ? NULL : s[i];
		yp[i] = row ? y[0] + i * nv * KW : y[i];
	}
	UNROLL for (int i = 0; i < r * nv; i++) acc[i] = (K(vec)){0};
	for (int p = 0; p < k; p++) {
		K(vec) w[K_FW_NVMAX];
		for (int v = 0; v < nv; v++) w[v] = wp[p * nv + v];
		const int o = off[p];
		/* row: block i at sr + i·B·rep, an immediate displacement; the empty asm keeps sr
		 * one register (GCC otherwise kept an index a block, 24 of them: 0.63 ms against
		 * 0.46 for mnist-fast's L1) */
		const float *sr = s[0] + o;
		__asm__("" : "+r"(sr));
		UNROLL for (int i = 0; i < r; i++)
		{
			const float *si = row ? sr + i * B * (B == 1 ? 1 : co) : sp[i] + o;
			for (int v = 0; v < nv; v++) {
				if (B == 1) {
					acc[i * nv + v] += si[0] * w[v];
				} else {
					K(vec) xv;
					K(ld)(&xv, si + KW * v);
					acc[i * nv + v] += xv * w[v];
				}
			}
		}
	}
	UNROLL for (int i = 0; i < r; i++)
	{
		float t[K_FW_NVMAX * KW];
		float *d = len < B ? t : yp[i];
		for (int v = 0; v < nv; v++) {
			K(vec) out = acc[i * nv + v];
			if (bp) out += bp[v]; /* gemm_small's 1·sum + 1·b over fill_bias's b */
			K(st)(d + KW * v, &out);
		}
		if (len < B) memcpy(yp[i], t, (size_t)(len * co) * sizeof(float));
	}
}

/*
 * e = the padded image, each padded row split into sw phases (columns q, q + sw, …), each
 * pixel repeated rep times: the pixels a tap reads for consecutive outputs of a row are then
 * consecutive, at any stride. A pixel is one broadcast store (the next overwrites its excess),
 * not rep scalar ones. Zeros after it (SLACK).
 */
KTARGET static inline AI void K(expand)(const struct cn_geom *g, const float *x, const int rep,
                                        float *e)
{
	const int wp = g->wi + 2 * g->pw, hp = g->hi + 2 * g->ph, wq = (wp + g->sw - 1) / g->sw;
	const int rl = row_len(g, rep);
	for (int py = 0; py < hp; py++, e += rl) {
		const int iy = py - g->ph;
		if ((uint32_t)iy >= (uint32_t)g->hi) {
			memset(e, 0, (size_t)rl * sizeof(float));
			continue;
		}
		const float *xr = x + (size_t)iy * (size_t)g->wi;
		if (rep == 1 && g->sw == 1) {
			memset(e, 0, (size_t)g->pw * sizeof(float));
			memcpy(e + g->pw, xr, (size_t)g->wi * sizeof(float));
			memset(e + g->pw + g->wi, 0, (size_t)(rl - g->pw - g->wi) * sizeof(float));
			continue;
		}
		if (g->sw == 1 && wp <= 256) { /* KW pixels to rep vectors, each permuted */
			float row[256 + KW];
			memset(row, 0, (size_t)g->pw * sizeof(float));
			memcpy(row + g->pw, xr, (size_t)g->wi * sizeof(float));
			memset(row + g->pw + g->wi, 0, (size_t)(g->pw + KW) * sizeof(float));
			for (int i = 0; i < wp; i += KW) {
				K(vec) px;
				K(ld)(&px, row + i);
				UNROLL for (int u = 0; u < rep; u++)
				{
					K(vec) o;
					K(perm)(&o, &px, u, rep);
					K(st)(e + i * rep + u * KW, &o);
				}
			}
			continue;
		}
		for (int q = 0; q < g->sw; q++)
			for (int i = 0; i < wq; i++) {
				const int ix = i * g->sw + q - g->pw;
				const float v = (uint32_t)ix < (uint32_t)g->wi ? xr[ix] : 0.0f;
				float *d = e + (q * wq + i) * rep;
				const K(vec) bv = v - (K(vec)){0}; /* v - 0 is v, even -0 */
				for (int c = 0; c < rep; c += KW) K(st)(d + c, &bv);
			}
	}
	memset(e, 0, SLACK * sizeof(float));
}

KTARGET static inline AI void K(fw_co)(const int co, const struct fw_args *a)
{
	const int nv = co / K_G(co), B = KW / K_G(co), R = K_FW_R(nv), k = a->k;
	const int RR = K_FW_RROW(nv);
	const int rep = B == 1 ? 1 : co; /* floats per pixel of the expanded image */
	K(vec) wp[WPAT_MAX / KW], bp[K_FW_NVMAX];
	for (int p = 0; p < k; p++) /* wp[p][v] lane l = w[(v·KW + l) % co, p] */
		for (int v = 0; v < nv; v++)
			for (int l = 0; l < KW; l++)
				wp[p * nv + v][l] =
				    a->w[(size_t)((KW * v + l) % co) * (size_t)k + p];
	for (int v = 0; v < nv; v++)
		for (int l = 0; l < KW; l++) bp[v][l] = a->b ? a->b[(KW * v + l) % co] : 0.0f;
	int off[TAPS_MAX];
	tap_offsets(a->g, rep, off);
	const int wo = a->g->wo, ho = a->g->ho, rl = row_len(a->g, rep);
	const K(vec) *bpp = a->b ? bp : NULL;
	const int len = CN_MIN(B, wo), per_row = (wo + B - 1) / B;
	float e[EXP_MAX + SLACK];
	for (int32_t img = 0; img < a->n; img++) {
		K(expand)(a->g, a->x + (size_t)img * a->xlen, rep, e);
		float *y = a->y + (size_t)img * (size_t)(ho * wo * co);
		const float *sb[8];
		float *yb[8];
		int r = 0;
		for (int oy = 0; oy < ho; oy++) {
			const float *er = e + oy * a->g->sh * rl;
			float *yr = y + oy * wo * co;
			int j = 0;
			/* one pixel a block: tiles along the row (all of mnist-fast's 24 in 3) */
			if (B == 1)
				for (; j + RR <= per_row; j += RR) {
					const float *s0 = er + j;
					float *y0 = yr + j * co;
					K(fw_tile)(co, RR, true, k, &s0, off, wp, bpp, &y0, len);
				}
			/* else tiles of any blocks, across rows (lenet5's 28 pixels a row are 3.5
			 * blocks of 8); the last block of a row overlaps the one before it, storing
			 * the same bits again, rather than running past the row */
			for (; j < per_row; j++) {
				const int ox = j == per_row - 1 ? CN_MAX(wo - B, 0) : j * B;
				sb[r] = er + ox * rep;
				yb[r++] = yr + ox * co;
				if (r < R) continue;
				K(fw_tile)(co, R, false, k, sb, off, wp, bpp, yb, len);
				r = 0;
			}
		}
		for (int i = 0; i < r; i++)
			K(fw_tile)(co, 1, false, k, sb + i, off, wp, bpp, yb + i, len);
	}
}

#define K_FW_FN(c)                                                                                 \
	KTARGET __attribute__((noinline)) static void K(fw_##c)(const struct fw_args *a)           \
	{                                                                                          \
		K(fw_co)(c, a);                                                                    \
	}
FW_COS(K_FW_FN)
#undef K_FW_FN

KTARGET static void K(fw)(const struct fw_args *a)
{
	switch (a->co) {
#define K_FW_CASE(c)                                                                               \
	case c:                                                                                    \
		K(fw_##c)(a);                                                                      \
		break;
		FW_COS(K_FW_CASE)
#undef K_FW_CASE
	}
}

#include "conv2d_direct_dw.h"

#undef K_G
#undef K_FW_R
#undef K_FW_NVMAX
