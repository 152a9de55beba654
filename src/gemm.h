/*
 * The BLAS door. cn_gemm is the one call every op makes; gemm.c is the only file that
 * includes cblas.h. Matrices are contiguous and row-major:
 *   C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C
 * where op(A) = A ([m,k]) or Aᵀ (A stored [k,m]) when ta is true; likewise B.
 */
#ifndef CN_GEMM_H
#define CN_GEMM_H

#include <stdbool.h>

void cn_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, const float *b,
             float beta, float *c);

/*
 * cn_gemm on sub-matrices of larger row-major arrays: lda, ldb, ldc are the row strides of the
 * stored A, B and C in floats (A stored [m,k] has lda >= k, stored [k,m] (ta) lda >= m).
 */
void cn_gemm_ld(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                const float *b, int ldb, float beta, float *c, int ldc);

/*
 * GEMMs of fewer multiply-adds (m·n·k) than this stay on one thread: OpenBLAS's own threshold
 * (65536 · GEMM_MULTITHREAD_THRESHOLD 4); ops that share a GEMM out among threads themselves
 * do it only past it.
 */
#define CN_GEMM_PAR_MIN_MNK 262144.0

/*
 * The skinny products OpenBLAS runs poorly (few-channel convolutions: see gemm_small.c), with
 * cn_gemm's arguments: computes C and returns true for the shapes it takes, else false.
 */
bool cn_gemm_small(bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
                   const float *b, float beta, float *c);

/* cn_gemm_small on the kernels of at most max_width floats a vector (16 AVX-512, 8 AVX2,
   4 SSE) the build has and the CPU runs: the tests compare the copies. */
bool cn_gemm_small_width(int max_width, bool ta, bool tb, int m, int n, int k, float alpha,
                         const float *a, const float *b, float beta, float *c);

/* Triple loop with double accumulation: the oracle for tests and the bench's naive baseline. */
void cn_gemm_ref(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, const float *b,
                 float beta, float *c);

/* Threads the BLAS would use for one GEMM: read by cn_net_plan alone, which decides every
   layer's share of them; the step never asks. */
int cn_gemm_threads(void);

/*
 * Cap at `threads` the threads the calling thread's BLAS calls and its OpenMP regions without a
 * num_threads clause may use, until cn_gemm_uncap(the returned value). Debian's OpenMP build
 * of OpenBLAS follows the caller's OpenMP thread count (omp_get_max_threads) call by call, so
 * a one-thread cap runs each GEMM on the caller alone without touching the BLAS's process-wide
 * count; a BLAS without OpenMP keeps its own count. Never raises the count.
 */
int cn_gemm_cap(int threads);
void cn_gemm_uncap(int previous);

/* Name of the BLAS and its core type as it reports them ("OpenBLAS 0.3.21 ... SkylakeX"). */
const char *cn_gemm_blas_config(void);

#endif
