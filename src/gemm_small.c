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
 * per instruction set, tiles sized for its registers: gemm_small_tiles.h) and read A and B
 * where they lie, in order:
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
 * the bits depend on the shapes only, not on threads, the vector width or the tile (no fused
 * multiply-adds: -std=c11 keeps them apart; tests/test_gemm.c compares every width this CPU
 * runs bit for bit). Panels of n that do not divide it overlap the
 * panel before, so every load is inside the row, and only the new columns are stored.
 */
#define NT_KMAX 160 /* k of nt_small: Bᵀ [k, 16] on the stack (10 KB) */

static inline __attribute__((always_inline)) float axpby(float alpha, float s, float beta,
                                                         const float *c)
{
	return beta == 0.0f ? alpha * s : alpha * s + beta * *c;
}

/*
 * One copy of the kernels per instruction set of the build (util.h's CN_CLONE_*), each with
 * its own vector width and register count. (GCC's target_clones compiles one source per set,
 * so one tile shape for all: that is what spilled on AVX2.)
 */
#ifdef CN_CLONE_avx512f
#define KW      16
#define KREGS   32
#define KTARGET __attribute__((target("avx512f")))
#define K(name) name##_avx512f
#include "gemm_small_tiles.h"
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
#include "gemm_small_tiles.h"
#undef KW
#undef KREGS
#undef KTARGET
#undef K
#endif

#define KW    4
#define KREGS 16
#define KTARGET
#define K(name) name##_sse
#include "gemm_small_tiles.h"
#undef KW
#undef KREGS
#undef KTARGET
#undef K

/* The widest copy this CPU runs, capped at `cap` floats (16, 8, 4): what GCC's resolver picks
   for the target_clones loops elsewhere, from the same list. */
static int vector_width(int cap)
{
#ifdef CN_CLONE_avx512f
	if (cap >= 16 && __builtin_cpu_supports("avx512f")) return 16;
#endif
#ifdef CN_CLONE_avx2
	if (cap >= 8 && __builtin_cpu_supports("avx2")) return 8;
#endif
	(void)cap;
	return 4;
}

/* return kernel f of the copy for width w (a local of the caller) */
#ifdef CN_CLONE_avx512f
#define ON_AVX512F(f, ...)                                                                         \
	if (w == 16) return f##_avx512f(__VA_ARGS__);
#else
#define ON_AVX512F(f, ...)
#endif
#ifdef CN_CLONE_avx2
#define ON_AVX2(f, ...)                                                                            \
	if (w == 8) return f##_avx2(__VA_ARGS__);
#else
#define ON_AVX2(f, ...)
#endif
#define BY_WIDTH(f, ...)                                                                           \
	do {                                                                                       \
		ON_AVX512F(f, __VA_ARGS__)                                                         \
		ON_AVX2(f, __VA_ARGS__)                                                            \
		return f##_sse(__VA_ARGS__);                                                       \
	} while (0)

/* The shapes the small kernels take (see above); tall m or long k only, where they win. */
bool cn_gemm_small_width(int max_width, bool ta, bool tb, int m, int n, int k, float alpha,
                         const float *a, const float *b, float beta, float *c)
{
	const int w = vector_width(max_width);
	(void)w; /* read only where the build has wider copies (not on aarch64) */
	if (!ta && tb && n <= 16 && k <= NT_KMAX && m >= 256)
		BY_WIDTH(nt_small, m, n, k, alpha, a, b, beta, c);
	if (ta && !tb && m <= 16 && k >= 256) BY_WIDTH(tn_small, m, n, k, alpha, a, b, beta, c);
	if (ta && tb && n <= 16 && k <= NT_KMAX && m >= 256)
		BY_WIDTH(tt_small, m, n, k, alpha, a, b, beta, c);
	return false;
}

bool cn_gemm_small(bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
                   const float *b, float beta, float *c)
{
	return cn_gemm_small_width(16, ta, tb, m, n, k, alpha, a, b, beta, c);
}
