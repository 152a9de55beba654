/*
 * Small GEMM kernels for skinny products, behind cn_gemm (gemm.c asks cn_gemm_small first).
 */
#include <stdbool.h>
#include <string.h>

#include "gemm.h"
#include "util.h"

/*
 * Skinny products, where OpenBLAS's packing and 16x? register tiles are mostly waste: the
 * few-channel convolutions (sigmoid-cnn, avgpool-cnn, lenet5) multiply a column matrix of
 * thousands of rows by 4 to 16 output channels, and OpenBLAS ran them at 20-60 GFLOP/s with
 * a third of the time in its packing routines. These two loops keep a small tile of C in
 * vector registers (GCC vectorizes the constant-length inner loops, one copy per vector width
 * by CN_CLONES) and read A and B where they lie, in order:
 *   nt_small  C[m,n] = A·Bᵀ, n <= 16, k <= 160, m >= 256: forward y = col·Wᵀ (Bᵀ packed on
 *             the stack); sigmoid-cnn's second layer 0.38 -> 0.22 ms (forward, batch 100)
 *   tn_small  C[m,n] = Aᵀ·B, m <= 16, k >= 256: dW = dYᵀ·col, k = the chunk's rows;
 *             sigmoid-cnn's layers' backward_weights 0.78 -> 0.30 and 0.30 -> 0.16 ms,
 *             avgpool-cnn's first 0.37 -> 0.26 (n = 9: tn_narrow)
 *   tt_small  C[m,n] = Aᵀ·Bᵀ, n <= 16, k <= 160, m >= 256: forward y = colᵀᵀ·Wᵀ of a one-channel
 *             layer lowered transposed (cn_im2col_t), the rows of C along the vectors
 * (bench_layers, 1 thread; dcol = dY·W with k <= 16 was tried the same way and did not beat
 * OpenBLAS.)
 * Each C element is one sum in p order, then alpha·sum + beta·C (beta 0 never reads C), so
 * the bits depend on the shapes only, not on threads or the vector width (no fused
 * multiply-adds: -std=c11 keeps them apart). Panels of n that do not divide it overlap the
 * panel before, so every load is inside the row, and only the new columns are stored.
 */
#define NT_KMAX 160 /* k of nt_small: Bᵀ [k, 16] on the stack (10 KB) */

/*
 * 16 floats as one value (GCC's generic vectors, not an instruction set's intrinsics: one
 * AVX-512 register, two AVX2 ones, four SSE ones, per CN_CLONES copy). Plain loops over
 * acc[i][16] tiles were vectorized along p with permutes and spilled every tile (30x slower).
 */
typedef float v16 __attribute__((vector_size(64)));

/* *v = p[0..16), unaligned (through pointers: a vector returned by value trips -Wpsabi) */
static inline __attribute__((always_inline)) void ld16(v16 *v, const float *p)
{
	memcpy(v, p, sizeof *v);
}

static inline __attribute__((always_inline)) float axpby(float alpha, float s, float beta,
                                                         const float *c)
{
	return beta == 0.0f ? alpha * s : alpha * s + beta * *c;
}

/* c[j] = alpha·acc[j] + beta·c[j] for j in [from, to): a whole vector when it is all of it */
static inline __attribute__((always_inline)) void st16(float *c, const v16 *acc, float alpha,
                                                       float beta, int from, int to)
{
	if (from == 0 && to == 16) {
		v16 v = alpha * *acc;
		if (beta != 0.0f) {
			v16 old;
			ld16(&old, c);
			v += beta * old;
		}
		memcpy(c, &v, sizeof v);
		return;
	}
	float t[16];
	memcpy(t, acc, sizeof t);
	for (int j = from; j < to; j++) c[j] = axpby(alpha, t[j], beta, c + j);
}

/* C rows [0, r): acc[i] = Σ_p a[i, p] · bt[p] with bt = Bᵀ [k, 16] (zeros past n) */
static inline __attribute__((always_inline)) void nt_rows(const int r, int n, int k, float alpha,
                                                          const float *restrict a,
                                                          const v16 *restrict bt, float beta,
                                                          float *restrict c)
{
	v16 acc[8];
	for (int i = 0; i < r; i++) acc[i] = (v16){0};
	for (int p = 0; p < k; p++) {
		const v16 b = bt[p];
		for (int i = 0; i < r; i++) acc[i] += a[(size_t)i * (size_t)k + (size_t)p] * b;
	}
	/* rows [0, r) of C are one run of r*n floats: gather them, then one vector loop */
	float t[8][16], u[8 * 16];
	memcpy(t, acc, (size_t)r * sizeof acc[0]);
	for (int i = 0; i < r; i++)
		for (int j = 0; j < n; j++) u[i * n + j] = t[i][j];
	for (int e = 0; e < r * n; e++)
		c[e] = beta == 0.0f ? alpha * u[e] : alpha * u[e] + beta * c[e];
}

CN_CLONES static void nt_small(int m, int n, int k, float alpha, const float *restrict a,
                               const float *restrict b, float beta, float *restrict c)
{
	v16 bt[NT_KMAX]; /* [k, 16] */
	for (int p = 0; p < k; p++)
		for (int j = 0; j < 16; j++) bt[p][j] = j < n ? b[(size_t)j * (size_t)k + p] : 0.0f;
	int i = 0;
	for (; i + 8 <= m; i += 8)
		nt_rows(8, n, k, alpha, a + (size_t)i * (size_t)k, bt, beta,
		        c + (size_t)i * (size_t)n);
	for (; i < m; i++)
		nt_rows(1, n, k, alpha, a + (size_t)i * (size_t)k, bt, beta,
		        c + (size_t)i * (size_t)n);
}

/*
 * C[0..mm, j0 + j] for j in [from, 16*nv) of Aᵀ·B, A [k, m] and B [k, n]: the mm x 16nv
 * tile in registers while p runs over all k rows.
 */
static inline __attribute__((always_inline)) void
tn_panel(const int mm, const int nv, int m, int n, int k, float alpha, const float *restrict a,
         const float *restrict b, float beta, float *restrict c, int j0, int from)
{
	v16 acc[16][2];
	for (int i = 0; i < mm; i++)
		for (int v = 0; v < nv; v++) acc[i][v] = (v16){0};
	for (int p = 0; p < k; p++) {
		const float *ap = a + (size_t)p * (size_t)m, *bp = b + (size_t)p * (size_t)n + j0;
		v16 bv[2];
		for (int v = 0; v < nv; v++) ld16(&bv[v], bp + 16 * v);
		for (int i = 0; i < mm; i++)
			for (int v = 0; v < nv; v++) acc[i][v] += ap[i] * bv[v];
	}
	for (int i = 0; i < mm; i++)
		for (int v = 0; v < nv; v++)
			if (from < 16 * (v + 1))
				st16(c + (size_t)i * (size_t)n + (size_t)(j0 + 16 * v), &acc[i][v],
				     alpha, beta, CN_MAX(from - 16 * v, 0), 16);
}

/* tn_small with m and the panel width 16*nv constants: the last panel overlaps */
static inline __attribute__((always_inline)) void tn_cols(const int mm, const int nv, int n, int k,
                                                          float alpha, const float *restrict a,
                                                          const float *restrict b, float beta,
                                                          float *restrict c)
{
	const int w = 16 * nv;
	int j0 = 0;
	for (; j0 + w <= n; j0 += w) tn_panel(mm, nv, mm, n, k, alpha, a, b, beta, c, j0, 0);
	if (j0 < n) tn_panel(mm, nv, mm, n, k, alpha, a, b, beta, c, n - w, w - (n - j0));
}

/*
 * tn_small for n < 16 (a one-channel 3x3 layer's dW is 4 x 9): row p of B is loaded as the
 * 16 floats from its start, the lanes past n being the next row's and never stored, so that
 * one load feeds mm multiply-adds; the last rows, whose 16 floats would run past B, are
 * copied into a zeroed vector first. Same sums in the same order either way.
 */
static inline __attribute__((always_inline)) void tn_narrow(const int mm, int n, int k, float alpha,
                                                            const float *restrict a,
                                                            const float *restrict b, float beta,
                                                            float *restrict c)
{
	v16 acc[16];
	for (int i = 0; i < mm; i++) acc[i] = (v16){0};
	const size_t end = (size_t)k * (size_t)n;
	for (int p = 0; p < k; p++) {
		const float *ap = a + (size_t)p * (size_t)mm, *bp = b + (size_t)p * (size_t)n;
		v16 bv = {0};
		if ((size_t)p * (size_t)n + 16 <= end)
			ld16(&bv, bp);
		else
			memcpy(&bv, bp, (size_t)n * sizeof(float));
		for (int i = 0; i < mm; i++) acc[i] += ap[i] * bv;
	}
	for (int i = 0; i < mm; i++) st16(c + (size_t)i * (size_t)n, &acc[i], alpha, beta, 0, n);
}

/* false if m has no case here */
CN_CLONES static bool tn_small(int m, int n, int k, float alpha, const float *restrict a,
                               const float *restrict b, float beta, float *restrict c)
{
#define TN_CASE(mm)                                                                                \
	case mm:                                                                                   \
		if (n < 16)                                                                        \
			tn_narrow(mm, n, k, alpha, a, b, beta, c);                                 \
		else if (n >= 32 && mm <= 12)                                                      \
			tn_cols(mm, 2, n, k, alpha, a, b, beta, c);                                \
		else                                                                               \
			tn_cols(mm, 1, n, k, alpha, a, b, beta, c);                                \
		return true;
	switch (m) {
		TN_CASE(4)
		TN_CASE(6)
		TN_CASE(8)
		TN_CASE(10)
		TN_CASE(12)
		TN_CASE(16)
	default:
		return false;
	}
#undef TN_CASE
}

/*
 * C rows [i0 + from, i0 + 16nv) of Aᵀ·Bᵀ for A [k, m] and B [nn, k] (nn = n): the rows run along
 * the vectors, so one load of A feeds nn multiply-adds, and the tile goes out transposed.
 */
static inline __attribute__((always_inline)) void tt_block(const int nn, const int nv, int m, int k,
                                                           float alpha, const float *restrict a,
                                                           const float *restrict b, float beta,
                                                           float *restrict c, int i0, int from)
{
	v16 acc[16][2];
	for (int j = 0; j < nn; j++)
		for (int v = 0; v < nv; v++) acc[j][v] = (v16){0};
	for (int p = 0; p < k; p++) {
		v16 av[2];
		for (int v = 0; v < nv; v++) ld16(&av[v], a + (size_t)p * (size_t)m + i0 + 16 * v);
		for (int j = 0; j < nn; j++) {
			const float bj = b[(size_t)j * (size_t)k + (size_t)p];
			for (int v = 0; v < nv; v++) acc[j][v] += bj * av[v];
		}
	}
	/* the tile transposed to C's row-major order, where rows [i0, i0 + 16nv) of C are one
	 * contiguous run: moves, then one vector loop for alpha and beta (a scalar alpha/beta
	 * per element cost more than the products at nn = 6, k = 25) */
	float t[16][32], u[32 * 16];
	for (int j = 0; j < nn; j++)
		for (int v = 0; v < nv; v++) memcpy(&t[j][16 * v], &acc[j][v], sizeof acc[j][v]);
	for (int r = 0; r < 16 * nv; r++)
		for (int j = 0; j < nn; j++) u[r * nn + j] = t[j][r];
	float *restrict cb = c + (size_t)i0 * (size_t)nn;
	for (int e = from * nn; e < 16 * nv * nn; e++)
		cb[e] = beta == 0.0f ? alpha * u[e] : alpha * u[e] + beta * cb[e];
}

/* tt_small with n and the block height 16*nv constants: the last block overlaps (m >= 16nv) */
static inline __attribute__((always_inline)) void tt_rows(const int nn, const int nv, int m, int k,
                                                          float alpha, const float *restrict a,
                                                          const float *restrict b, float beta,
                                                          float *restrict c)
{
	const int h = 16 * nv;
	int i0 = 0;
	for (; i0 + h <= m; i0 += h) tt_block(nn, nv, m, k, alpha, a, b, beta, c, i0, 0);
	if (i0 < m) tt_block(nn, nv, m, k, alpha, a, b, beta, c, m - h, h - (m - i0));
}

/* false if n has no case here */
CN_CLONES static bool tt_small(int m, int n, int k, float alpha, const float *restrict a,
                               const float *restrict b, float beta, float *restrict c)
{
#define TT_CASE(nn)                                                                                \
	case nn:                                                                                   \
		tt_rows(nn, nn <= 8 ? 2 : 1, m, k, alpha, a, b, beta, c);                          \
		return true;
	switch (n) {
		TT_CASE(1)
		TT_CASE(2)
		TT_CASE(3)
		TT_CASE(4)
		TT_CASE(6)
		TT_CASE(8)
		TT_CASE(10)
		TT_CASE(12)
		TT_CASE(16)
	default:
		return false;
	}
#undef TT_CASE
}

/* The shapes the small kernels take (see above); tall m or long k only, where they win. */
bool cn_gemm_small(bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
                   const float *b, float beta, float *c)
{
	if (!ta && tb && n <= 16 && k <= NT_KMAX && m >= 256) {
		nt_small(m, n, k, alpha, a, b, beta, c);
		return true;
	}
	if (ta && !tb && m <= 16 && k >= 256) return tn_small(m, n, k, alpha, a, b, beta, c);
	if (ta && tb && n <= 16 && k <= NT_KMAX && m >= 256)
		return tt_small(m, n, k, alpha, a, b, beta, c);
	return false;
}
