/*
 * conv2d_direct.c's dW kernels for one vector width, included by conv2d_direct_tiles.h (whose
 * vector helpers and K() naming they use) once per instruction set of the build.
 */
/* ---- dW: lanes (channel, t of T taps of a kernel row), nv vectors a group of taps ---- */

/* T taps per vector: KW / (co rounded up to a power of 2), 1 to 4 */
#define K_DW_T(co)  ((co) > KW / 2 ? 1 : (co) > KW / 4 || KW < 8 ? 2 : 4)
#define K_DW_NV(co) (K_DW_T(co) == 1 ? ((co) + KW - 1) / KW : 1)
#define K_DW_NG(nv) CN_MIN(25, (KREGS - 2 - (nv)) / (nv))
#define K_DW_NVMAX  4

/* d = one pixel's dy [co] in nv vectors, spread t-fold; past the chunk's last whole vector
   load (ld floats) through zeros, so no load leaves dy */
KTARGET static inline AI void K(load_dy)(K(vec) * d, const float *dy, const float *dy_end,
                                         const int ld, const int co, const int nv, const int t)
{
	if (dy + ld <= dy_end) {
		for (int v = 0; v < nv; v++) K(ld)(&d[v], dy + KW * v);
	} else {
		float z[K_DW_NVMAX * KW] = {0};
		memcpy(z, dy, (size_t)co * sizeof(float));
		for (int v = 0; v < nv; v++) K(ld)(&d[v], z + KW * v);
	}
	if (t > 1) K(spread)(&d[0], t);
}

/*
 * acc[g] (tile [G, nv·KW] in memory between images and passes) += Σ over the image's pixels
 * in order of x[pixel + off[g] + t] · dy[pixel, j], for the ng groups g of this pass: every
 * lane one sum in row order, as tn_small's. dy rows whose vector load would run past the
 * chunk's dy (dy_end) are copied into zeros first.
 */
KTARGET static inline AI void K(dw_pass)(const int co, const int ng, const struct cn_geom *g,
                                         const float *restrict x, const float *dy,
                                         const float *dy_end, const int *restrict off,
                                         float *restrict tile)
{
	const int t = K_DW_T(co), nv = K_DW_NV(co), ld = t == 1 ? nv * KW : KW;
	const size_t wp = (size_t)(g->wi + 2 * g->pw);
	K(vec) acc[25][K_DW_NVMAX];
	UNROLL for (int i = 0; i < ng; i++) for (int v = 0; v < nv; v++)
	    K(ld)(&acc[i][v], tile + (size_t)(i * nv + v) * KW);
	for (int oy = 0; oy < g->ho; oy++) {
		const float *xr = x + (size_t)oy * (size_t)g->sh * wp;
		for (int ox = 0; ox < g->wo; ox++, dy += co) {
			K(vec) d[K_DW_NVMAX];
			K(load_dy)(d, dy, dy_end, ld, co, nv, t);
			const float *xp = xr + (size_t)ox * (size_t)g->sw;
			UNROLL for (int i = 0; i < ng; i++)
			{
				if (t == 1) { /* a scalar times a vector: the broadcast */
					for (int v = 0; v < nv; v++) acc[i][v] += xp[off[i]] * d[v];
					continue;
				}
				K(vec) xb;
				K(bcast)(&xb, xp + off[i], t);
				acc[i][0] += xb * d[0];
			}
		}
	}
	UNROLL for (int i = 0; i < ng; i++) for (int v = 0; v < nv; v++)
	    K(st)(tile + (size_t)(i * nv + v) * KW, &acc[i][v]);
}

/*
 * dw_pass for kernel rows [0, rp) of x (the padded image from the pass's first kernel row), gx
 * groups a row, both constants: a group's x is then at a row pointer plus an immediate
 * displacement (a table of 25 offsets ran out of registers: 1.85 ms, then 0.91 unrolled,
 * against 0.81 for tn_small with the lowering, mnist-fast's L1).
 */
KTARGET static inline AI void K(dw_rows)(const int co, const int rp, const int gx,
                                         const struct cn_geom *g, const float *restrict x,
                                         const float *dy, const float *dy_end, float *restrict tile)
{
	const int t = K_DW_T(co), nv = K_DW_NV(co), ld = t == 1 ? nv * KW : KW;
	const size_t wp = (size_t)(g->wi + 2 * g->pw);
	K(vec) acc[25]; /* [rp·gx, nv], flat: [25][4] stayed in memory */
	UNROLL for (int i = 0; i < rp * gx * nv; i++) K(ld)(&acc[i], tile + (size_t)i * KW);
	for (int oy = 0; oy < g->ho; oy++) {
		const float *xr = x + (size_t)oy * (size_t)g->sh * wp;
		for (int ox = 0; ox < g->wo; ox++, dy += co) {
			K(vec) d[K_DW_NVMAX];
			K(load_dy)(d, dy, dy_end, ld, co, nv, t);
			const float *xp = xr + (size_t)ox * (size_t)g->sw;
			UNROLL for (int ky = 0; ky < rp; ky++)
			{
				const float *row = xp + (size_t)ky * wp;
				UNROLL for (int j = 0; j < gx; j++)
				{
					const int i = ky * gx + j;
					if (t == 1) {
						for (int v = 0; v < nv; v++)
							acc[i * nv + v] += row[j] * d[v];
						continue;
					}
					K(vec) xb;
					K(bcast)(&xb, row + j * t, t);
					acc[i] += xb * d[0];
				}
			}
		}
	}
	UNROLL for (int i = 0; i < rp * gx * nv; i++) K(st)(tile + (size_t)i * KW, &acc[i]);
}

/* dW of a kh x kw kernel (constants) in passes of whole kernel rows, as many as the copy holds */
KTARGET static inline AI void K(dw_fixed)(const int co, const int kh, const int kw,
                                          const struct cn_geom *g, const float *xi,
                                          const float *dyi, const float *dy_end, float *tile)
{
	const int t = K_DW_T(co), nv = K_DW_NV(co), gx = (kw + t - 1) / t;
	const int rp = CN_MIN(kh, K_DW_NG(nv) / gx), wp = g->wi + 2 * g->pw;
	int ky = 0;
	for (; ky + rp <= kh; ky += rp)
		K(dw_rows)(co, rp, gx, g, xi + ky * wp, dyi, dy_end, tile + ky * gx * nv * KW);
	if (kh % rp)
		K(dw_rows)(co, kh % rp, gx, g, xi + ky * wp, dyi, dy_end, tile + ky * gx * nv * KW);
}

KTARGET static inline AI void K(dw_co)(const int co, const struct dw_args *a)
{
	const int t = K_DW_T(co), nv = K_DW_NV(co), NG = K_DW_NG(nv);
	const struct cn_geom *g = a->g;
	const int gx = (g->kw + t - 1) / t, groups = g->kh * gx;
	const int passes = (groups + NG - 1) / NG, ng = (groups + passes - 1) / passes;
	int off[TAPS_MAX + 25] = {0}; /* group (ky, kx / t) at ky·wp + kx; past groups: dummies */
	for (int ky = 0; ky < g->kh; ky++)
		for (int j = 0; j < gx; j++) off[ky * gx + j] = ky * (g->wi + 2 * g->pw) + j * t;
	float tile[(TAPS_MAX + 25) * 16] = {0};
	float p[PAD_MAX + SLACK];
	const size_t ylen = (size_t)(g->ho * g->wo * co);
	const float *dy_end = a->dy + (size_t)a->n * ylen;
	for (int32_t img = 0; img < a->n; img++) {
		const float *xi = pad(g, a->x + (size_t)img * a->xlen, p);
		const float *dyi = a->dy + (size_t)img * ylen;
		/* the zoo's kernels with their shape as constants, where a kernel row fits */
		if (g->kh == 5 && g->kw == 5 && K_DW_NG(nv) >= (5 + t - 1) / t) {
			K(dw_fixed)(co, 5, 5, g, xi, dyi, dy_end, tile);
			continue;
		}
		if (g->kh == 3 && g->kw == 3 && K_DW_NG(nv) >= (3 + t - 1) / t) {
			K(dw_fixed)(co, 3, 3, g, xi, dyi, dy_end, tile);
			continue;
		}
		for (int g0 = 0; g0 < groups; g0 += ng) {
			float *tl = tile + (size_t)(g0 * nv * KW);
			{ /* NG groups, those past this pass's ng in a scratch tile */
				float tmp[25 * 16] = {0};
				int o[25] = {0};
				memcpy(tmp, tl, (size_t)(ng * nv * KW) * sizeof(float));
				memcpy(o, off + g0, (size_t)ng * sizeof(int));
				K(dw_pass)(co, NG, g, xi, dyi, dy_end, o, tmp);
				memcpy(tl, tmp, (size_t)(ng * nv * KW) * sizeof(float));
			}
		}
	}
	/* tn_small's 1·sum + 1·dw, lane (j, t) of group (ky, kx0) being dW[j, ky, kx0 + t] */
	for (int ky = 0; ky < g->kh; ky++)
		for (int j = 0; j < gx; j++)
			for (int u = 0; u < t && j * t + u < g->kw; u++)
				for (int c = 0; c < co; c++) {
					const int lane = t == 1 ? c : c * t + u;
					float *dwe = a->dw + (size_t)c * (size_t)(g->kh * g->kw) +
					             (size_t)(ky * g->kw + j * t + u);
					*dwe =
					    tile[(size_t)((ky * gx + j) * nv * KW + lane)] + *dwe;
				}
}

/* one function a channel count: inlined all into one, the accumulators were spilled */
#define K_DW_FN(c)                                                                                 \
	KTARGET __attribute__((noinline)) static void K(dw_##c)(const struct dw_args *a)           \
	{                                                                                          \
		K(dw_co)(c, a);                                                                    \
	}
DW_COS(K_DW_FN)
#undef K_DW_FN

KTARGET static void K(dw)(const struct dw_args *a)
{
	switch (a->co) {
#define K_DW_CO(c)                                                                                 \
	case c:                                                                                    \
		K(dw_##c)(a);                                                                      \
		break;
		DW_COS(K_DW_CO)
#undef K_DW_CO
	}
}

#undef K_DW_T
#undef K_DW_NV
#undef K_DW_NG
#undef K_DW_NVMAX
