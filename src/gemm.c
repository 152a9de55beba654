/*
 * The BLAS door: the only file that includes cblas.h. Row-major, contiguous matrices; the
 * leading dimensions follow from the shapes. cn_gemm hands the skinny shapes of few-channel
 * convolutions to gemm_small.c and the rest to OpenBLAS. CN_NAIVE_GEMM=1 at build time routes
 * every call to the reference loops (for instrumented builds: OpenBLAS's assembly is invisible
 * to them).
 */
#include <cblas.h>
#include <stdio.h>

#include "colnet.h"
#include "gemm.h"
#include "util.h"

void cn_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, const float *b,
             float beta, float *c)
{
#ifdef CN_NAIVE_GEMM
	cn_gemm_ref(ta, tb, m, n, k, alpha, a, b, beta, c);
#else
	if (cn_gemm_small(ta, tb, m, n, k, alpha, a, b, beta, c)) return;
	int lda = ta ? m : k, ldb = tb ? k : n;
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
	            m, n, k, alpha, a, lda, b, ldb, beta, c, n);
#endif
}

/* The triple loop on strided matrices: cn_gemm_ref, and cn_gemm_ld in a CN_NAIVE_GEMM build. */
static void ref_ld(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc)
{
	for (int i = 0; i < m; i++) {
		for (int j = 0; j < n; j++) {
			double acc = 0;
			for (int p = 0; p < k; p++) {
				float av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
				float bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
				acc += (double)av * bv;
			}
			float *cij = &c[(size_t)i * ldc + j];
			/* beta == 0 overwrites (BLAS semantics: C may hold NaN garbage) */
			*cij = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *cij));
		}
	}
}

void cn_gemm_ref(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, const float *b,
                 float beta, float *c)
{
	ref_ld(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

void cn_gemm_ld(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                const float *b, int ldb, float beta, float *c, int ldc)
{
#ifdef CN_NAIVE_GEMM
	ref_ld(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
	            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

int cn_gemm_threads(void)
{
#ifdef CN_NAIVE_GEMM
	return 1;
#else
	if (cn_in_parallel()) return 1; /* OpenBLAS then runs each call on its caller alone */
	int n = openblas_get_num_threads();
	return n < 1 ? 1 : n;
#endif
}

int cn_gemm_cap(int threads)
{
#if defined(_OPENMP) && !defined(CN_NAIVE_GEMM)
	int previous = omp_get_max_threads();
	if (threads < previous) omp_set_num_threads(threads < 1 ? 1 : threads);
	return previous;
#else
	return threads;
#endif
}

void cn_gemm_uncap(int previous)
{
#if defined(_OPENMP) && !defined(CN_NAIVE_GEMM)
	if (omp_get_max_threads() != previous) omp_set_num_threads(previous);
#else
	(void)previous;
#endif
}

const char *cn_gemm_blas_config(void)
{
#ifdef CN_NAIVE_GEMM
	return "naive reference GEMM (CN_NAIVE_GEMM build)";
#else
	return openblas_get_config();
#endif
}

const char *cn_blas_config(void)
{
	return cn_gemm_blas_config();
}

const char *cn_blas_core(void)
{
#ifdef CN_NAIVE_GEMM
	return "naive";
#else
	return openblas_get_corename();
#endif
}

enum cn_status cn_set_blas_threads(int n)
{
	if (n < 1) return CN_ERR_ARG;
#ifndef CN_NAIVE_GEMM
	openblas_set_num_threads(n);
#endif
	return CN_OK;
}
