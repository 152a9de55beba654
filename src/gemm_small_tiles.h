/*
 * The small-GEMM kernels for one vector width: gemm_small.c includes this file once per
 * instruction set the build has (config.mk's CLONES), after defining
 *   KW       floats per vector register (16 AVX-512, 8 AVX2, 4 baseline SSE)
 *   KREGS    vector registers the tiles may fill (32 with AVX-512, 16 with AVX2 and SSE)
 *   KTARGET  the attribute that compiles a function for that set (empty for the baseline)
 *   K(name)  name with the set's suffix, so the copies do not collide
 * Every tile below is sized from KW and KREGS: accumulators + the vectors one step loads + one
 * broadcast scalar fit in KREGS, so no copy spills its tile. (One tile shape for all widths,
 * sized for 32 ZMM registers, spilled on 16 YMM ones: tn_small's AVX2 copy had 15 of every 22
 * instructions touching the stack, and tt_small.avx2 was 21% of lenet5's training.) Each C
 * element is still one sum in p order whatever the tile, so every copy gives the same bits.
 * No include guard: that is the point.
 */

typedef float K(vec) __attribute__((vector_size(KW * 4)));

/* *v = p[0..KW), unaligned (through pointers: a vector returned by value trips -Wpsabi) */
KTARGET static inline __attribute__((always_inline)) void K(ld)(K(vec) * v, const float *p)
{
	memcpy(v, p, sizeof *v);
}

/* c[j] = alpha·acc[j] + beta·c[j] for j in [from, KW): a whole vector when it is all of it */
KTARGET static inline __attribute__((always_inline)) void
K(st)(float *c, const K(vec) * acc, float alpha, float beta, int from, int to)
{
	if (from == 0 && to == KW) {
		K(vec) v = alpha * *acc;
		if (beta != 0.0f) {
			K(vec) old;
			K(ld)(&old, c);
			v += beta * old;
		}
		memcpy(c, &v, sizeof v);
		return;
	}
	float t[KW];
	memcpy(t, acc, sizeof t);
	for (int j = from; j < to; j++) c[j] = axpby(alpha, t[j], beta, c + j);
}

/* ---- nt: C[m,n] = A·Bᵀ, n <= 16 as nv vectors per row of C, r rows of C per tile ---- */

/* rows of an nt tile: r·nv accumulators, nv of Bᵀ, one broadcast of A; at most 8 */
#define K_NT_ROWS(nv) CN_MIN(8, (KREGS - 1 - (nv)) / (nv))

/* C rows [0, r): acc[i] = Σ_p a[i, p] · bt[p] with bt = Bᵀ [k, nv·KW] (zeros past n) */
KTARGET static inline __attribute__((always_inline)) void
K(nt_rows)(const int r, const int nv, int n, int k, float alpha, const float *restrict a,
           const K(vec) *restrict bt, float beta, float *restrict c)
{
	K(vec) acc[8][16 / KW];
	for (int i = 0; i < r; i++)
		for (int v = 0; v < nv; v++) acc[i][v] = (K(vec)){0};
	for (int p = 0; p < k; p++) {
		K(vec) b[16 / KW];
		for (int v = 0; v < nv; v++) b[v] = bt[p * nv + v];
		for (int i = 0; i < r; i++) {
			const float ai = a[(size_t)i * (size_t)k + (size_t)p];
			for (int v = 0; v < nv; v++) acc[i][v] += ai * b[v];
		}
	}
	/* rows [0, r) of C are one run of r*n floats: gather them, then one vector loop */
	float t[8][16], u[8 * 16];
	for (int i = 0; i < r; i++)
		for (int v = 0; v < nv; v++) memcpy(&t[i][KW * v], &acc[i][v], sizeof acc[i][v]);
	for (int i = 0; i < r; i++)
		for (int j = 0; j < n; j++) u[i * n + j] = t[i][j];
	for (int e = 0; e < r * n; e++)
		c[e] = beta == 0.0f ? alpha * u[e] : alpha * u[e] + beta * c[e];
}

KTARGET static inline __attribute__((always_inline)) void
K(nt_tiles)(const int nv, int m, int n, int k, float alpha, const float *restrict a,
            const float *restrict b, float beta, float *restrict c)
{
	K(vec) bt[NT_KMAX * (16 / KW)]; /* [k, nv·KW] */
	for (int p = 0; p < k; p++)
		for (int j = 0; j < nv * KW; j++)
			bt[p * nv + j / KW][j % KW] = j < n ? b[(size_t)j * (size_t)k + p] : 0.0f;
	const int r = K_NT_ROWS(nv);
	int i = 0;
	for (; i + r <= m; i += r) {
		const float *ai = a + (size_t)i * (size_t)k;
		K(nt_rows)(r, nv, n, k, alpha, ai, bt, beta, c + (size_t)i * (size_t)n);
	}
	for (; i < m; i++) {
		const float *ai = a + (size_t)i * (size_t)k;
		K(nt_rows)(1, nv, n, k, alpha, ai, bt, beta, c + (size_t)i * (size_t)n);
	}
}

KTARGET static bool K(nt_small)(int m, int n, int k, float alpha, const float *restrict a,
                                const float *restrict b, float beta, float *restrict c)
{
	switch ((n + KW - 1) / KW) {
	case 1:
		K(nt_tiles)(1, m, n, k, alpha, a, b, beta, c);
		break;
#if KW < 16
	case 2:
		K(nt_tiles)(2, m, n, k, alpha, a, b, beta, c);
		break;
#endif
#if KW < 8
	case 3:
		K(nt_tiles)(3, m, n, k, alpha, a, b, beta, c);
		break;
	case 4:
		K(nt_tiles)(4, m, n, k, alpha, a, b, beta, c);
		break;
#endif
	}
	return true;
}

/* ---- tn: C[m,n] = Aᵀ·B, m <= 16, k long ---- */

/*
 * C[0..mm, j0 + j] for j in [from, KW·nv) of Aᵀ·B, A [k, m] (this group's mm columns of it)
 * and B [k, n]: the mm x KW·nv tile in registers while p runs over all k rows.
 */
KTARGET static inline __attribute__((always_inline)) void
K(tn_panel)(const int mm, const int nv, int m, int n, int k, float alpha, const float *restrict a,
            const float *restrict b, float beta, float *restrict c, int j0, int from)
{
	K(vec) acc[16][32 / KW];
	for (int i = 0; i < mm; i++)
		for (int v = 0; v < nv; v++) acc[i][v] = (K(vec)){0};
	for (int p = 0; p < k; p++) {
		const float *ap = a + (size_t)p * (size_t)m, *bp = b + (size_t)p * (size_t)n + j0;
		K(vec) bv[32 / KW];
		for (int v = 0; v < nv; v++) K(ld)(&bv[v], bp + KW * v);
		for (int i = 0; i < mm; i++)
			for (int v = 0; v < nv; v++) acc[i][v] += ap[i] * bv[v];
	}
	for (int i = 0; i < mm; i++)
		for (int v = 0; v < nv; v++)
			if (from < KW * (v + 1)) {
				float *cv = c + (size_t)i * (size_t)n + (size_t)(j0 + KW * v);
				K(st)(cv, &acc[i][v], alpha, beta, CN_MAX(from - KW * v, 0), KW);
			}
}

/* mm rows of C in panels KW·nv wide (a constant): the last panel overlaps (n >= KW·nv) */
KTARGET static inline __attribute__((always_inline)) void
K(tn_cols)(const int mm, const int nv, int m, int n, int k, float alpha, const float *restrict a,
           const float *restrict b, float beta, float *restrict c)
{
	const int w = KW * nv;
	int j0 = 0;
	for (; j0 + w <= n; j0 += w) K(tn_panel)(mm, nv, m, n, k, alpha, a, b, beta, c, j0, 0);
	if (j0 < n) K(tn_panel)(mm, nv, m, n, k, alpha, a, b, beta, c, n - w, w - (n - j0));
}

/*
 * tn for n < 16 (a one-channel 3x3 layer's dW is 4 x 9): row p of B is loaded as the nv·KW
 * floats from its start, the lanes past n being the next row's and never stored, so that one
 * load feeds mm multiply-adds; the last rows, whose load would run past B, are copied into
 * zeroed vectors first. Same sums in the same order either way.
 */
KTARGET static inline __attribute__((always_inline)) void
K(tn_narrow)(const int mm, const int nv, int m, int n, int k, float alpha, const float *restrict a,
             const float *restrict b, float beta, float *restrict c)
{
	K(vec) acc[16][16 / KW];
	for (int i = 0; i < mm; i++)
		for (int v = 0; v < nv; v++) acc[i][v] = (K(vec)){0};
	const size_t end = (size_t)k * (size_t)n;
	for (int p = 0; p < k; p++) {
		const float *ap = a + (size_t)p * (size_t)m, *bp = b + (size_t)p * (size_t)n;
		K(vec) bv[16 / KW];
		if ((size_t)p * (size_t)n + (size_t)(nv * KW) <= end) {
			for (int v = 0; v < nv; v++) K(ld)(&bv[v], bp + KW * v);
		} else {
			float t[16] = {0};
			memcpy(t, bp, (size_t)n * sizeof(float));
			for (int v = 0; v < nv; v++) K(ld)(&bv[v], t + KW * v);
		}
		for (int i = 0; i < mm; i++)
			for (int v = 0; v < nv; v++) acc[i][v] += ap[i] * bv[v];
	}
	for (int i = 0; i < mm; i++)
		for (int v = 0; v < nv; v++)
			if (KW * v < n) {
				float *cv = c + (size_t)i * (size_t)n + (size_t)(KW * v);
				K(st)(cv, &acc[i][v], alpha, beta, 0, CN_MIN(n - KW * v, KW));
			}
}

/* rows of C a tn tile holds with nv vectors each: mm·nv accumulators + nv of B + a broadcast */
#define K_TN_ROWS(nv) CN_MIN(16, (KREGS - 1 - (nv)) / (nv))

/*
 * mm rows of C (a constant) in groups of g rows, the most a tile of nv vectors a row holds, as
 * equal as may be (AVX2's 16 rows as 6 + 6 + 4): each group reads B once more, from cache.
 */
KTARGET static inline __attribute__((always_inline)) void
K(tn_groups)(const int mm, const int nv, const bool narrow, int n, int k, float alpha,
             const float *restrict a, const float *restrict b, float beta, float *restrict c)
{
	const int cap = K_TN_ROWS(nv);
	const int groups = (mm + cap - 1) / cap, g = (mm + groups - 1) / groups, rest = mm % g;
	for (int i0 = 0; i0 + g <= mm; i0 += g) {
		float *ci = c + (size_t)i0 * (size_t)n;
		if (narrow)
			K(tn_narrow)(g, nv, mm, n, k, alpha, a + i0, b, beta, ci);
		else
			K(tn_cols)(g, nv, mm, n, k, alpha, a + i0, b, beta, ci);
	}
	if (rest > 0) {
		const int i0 = mm - rest;
		float *ci = c + (size_t)i0 * (size_t)n;
		if (narrow)
			K(tn_narrow)(rest, nv, mm, n, k, alpha, a + i0, b, beta, ci);
		else
			K(tn_cols)(rest, nv, mm, n, k, alpha, a + i0, b, beta, ci);
	}
}

/*
 * tn for m = mm: panels two vectors wide (AVX2's 6 x 16 tile, the classic one for 16 YMM
 * registers), or on AVX-512 32 columns where the rows leave room, else 16; under 16 columns,
 * tn_narrow with as many vectors as n needs.
 */
KTARGET static inline __attribute__((always_inline)) void
K(tn_rows)(const int mm, int n, int k, float alpha, const float *restrict a,
           const float *restrict b, float beta, float *restrict c)
{
	if (n >= 16) {
		if (KW == 16 && !(n >= 32 && mm <= 12))
			K(tn_groups)(mm, 1, false, n, k, alpha, a, b, beta, c);
		else
			K(tn_groups)(mm, 2, false, n, k, alpha, a, b, beta, c);
		return;
	}
	switch ((n + KW - 1) / KW) {
	case 1:
		K(tn_groups)(mm, 1, true, n, k, alpha, a, b, beta, c);
		break;
#if KW < 16
	case 2:
		K(tn_groups)(mm, 2, true, n, k, alpha, a, b, beta, c);
		break;
#endif
#if KW < 8
	case 3:
		K(tn_groups)(mm, 3, true, n, k, alpha, a, b, beta, c);
		break;
	case 4:
		K(tn_groups)(mm, 4, true, n, k, alpha, a, b, beta, c);
		break;
#endif
	}
}

/* false if m has no case here */
KTARGET static bool K(tn_small)(int m, int n, int k, float alpha, const float *restrict a,
                                const float *restrict b, float beta, float *restrict c)
{
	switch (m) {
	case 4:
		K(tn_rows)(4, n, k, alpha, a, b, beta, c);
		return true;
	case 6:
		K(tn_rows)(6, n, k, alpha, a, b, beta, c);
		return true;
	case 8:
		K(tn_rows)(8, n, k, alpha, a, b, beta, c);
		return true;
	case 10:
		K(tn_rows)(10, n, k, alpha, a, b, beta, c);
		return true;
	case 12:
		K(tn_rows)(12, n, k, alpha, a, b, beta, c);
		return true;
	case 16:
		K(tn_rows)(16, n, k, alpha, a, b, beta, c);
		return true;
	default:
		return false;
	}
}

/* ---- tt: C[m,n] = Aᵀ·Bᵀ, n <= 16, the rows of C along the vectors ---- */

/*
 * C rows [i0 + from, i0 + KW·nv) of Aᵀ·Bᵀ for A [k, m] and B [nn, k] (nn = n): one load of A
 * feeds nn multiply-adds, and the tile goes out transposed.
 */
KTARGET static inline __attribute__((always_inline)) void
K(tt_block)(const int nn, const int nv, int m, int k, float alpha, const float *restrict a,
            const float *restrict b, float beta, float *restrict c, int i0, int from)
{
	K(vec) acc[16][32 / KW];
	for (int j = 0; j < nn; j++)
		for (int v = 0; v < nv; v++) acc[j][v] = (K(vec)){0};
	for (int p = 0; p < k; p++) {
		K(vec) av[32 / KW];
		for (int v = 0; v < nv; v++) K(ld)(&av[v], a + (size_t)p * (size_t)m + i0 + KW * v);
		for (int j = 0; j < nn; j++) {
			const float bj = b[(size_t)j * (size_t)k + (size_t)p];
			for (int v = 0; v < nv; v++) acc[j][v] += bj * av[v];
		}
	}
	/* the tile transposed to C's row-major order, where rows [i0, i0 + KW·nv) of C are one
	 * contiguous run: moves, then one vector loop for alpha and beta (a scalar alpha/beta
	 * per element cost more than the products at nn = 6, k = 25) */
	float t[16][32], u[32 * 16];
	for (int j = 0; j < nn; j++)
		for (int v = 0; v < nv; v++) memcpy(&t[j][KW * v], &acc[j][v], sizeof acc[j][v]);
	for (int r = 0; r < KW * nv; r++)
		for (int j = 0; j < nn; j++) u[r * nn + j] = t[j][r];
	float *restrict cb = c + (size_t)i0 * (size_t)nn;
	for (int e = from * nn; e < KW * nv * nn; e++)
		cb[e] = beta == 0.0f ? alpha * u[e] : alpha * u[e] + beta * cb[e];
}

/* tt with n and the block height KW·nv constants: the last block overlaps (m >= KW·nv) */
KTARGET static inline __attribute__((always_inline)) void
K(tt_rows)(const int nn, const int nv, int m, int k, float alpha, const float *restrict a,
           const float *restrict b, float beta, float *restrict c)
{
	const int h = KW * nv;
	int i0 = 0;
	for (; i0 + h <= m; i0 += h) K(tt_block)(nn, nv, m, k, alpha, a, b, beta, c, i0, 0);
	if (i0 < m) K(tt_block)(nn, nv, m, k, alpha, a, b, beta, c, m - h, h - (m - i0));
}

/*
 * Vectors of rows per tt block: nn·nv accumulators + nv of A + a broadcast + one spare (AVX2
 * at nn = 4 spilled with none), at most 32 rows.
 * (Past 16 YMM registers, as AVX2's nn = 16 must go, it spills the least with nv = 1.)
 */
#define K_TT_NV(nn) CN_MAX(1, CN_MIN(32 / KW, (KREGS - 2) / ((nn) + 1)))

/* false if n has no case here */
KTARGET static bool K(tt_small)(int m, int n, int k, float alpha, const float *restrict a,
                                const float *restrict b, float beta, float *restrict c)
{
#define K_TT_CASE(nn)                                                                              \
	case nn:                                                                                   \
		K(tt_rows)(nn, K_TT_NV(nn), m, k, alpha, a, b, beta, c);                           \
		return true;
	switch (n) {
		K_TT_CASE(1)
		K_TT_CASE(2)
		K_TT_CASE(3)
		K_TT_CASE(4)
		K_TT_CASE(6)
		K_TT_CASE(8)
		K_TT_CASE(10)
		K_TT_CASE(12)
		K_TT_CASE(16)
	default:
		return false;
	}
#undef K_TT_CASE
}

#undef K_NT_ROWS
#undef K_TN_ROWS
#undef K_TT_NV
