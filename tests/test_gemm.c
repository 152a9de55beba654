/*
 * The BLAS door: cn_gemm against the triple-loop cn_gemm_ref for all four transpose
 * combinations, odd sizes and several alpha/beta, including beta = 0 over NaN garbage (BLAS
 * semantics: C is then write-only). The oracle itself is checked on a hand-computed product.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "util.h"

#define TOL    1e-5
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A [2,3] times B [3,2] = [[58, 64], [139, 154]], written out by hand. */
static void test_ref_by_hand(void **state)
{
	(void)state;
	const float a[] = {1, 2, 3, 4, 5, 6};     /* [2,3] */
	const float at[] = {1, 4, 2, 5, 3, 6};    /* the same A stored as Aᵀ [3,2] */
	const float b[] = {7, 8, 9, 10, 11, 12};  /* [3,2] */
	const float bt[] = {7, 9, 11, 8, 10, 12}; /* the same B stored as Bᵀ [2,3] */
	const float want[] = {58, 64, 139, 154};  /* [2,2] */
	const float *as[2] = {a, at}, *bs[2] = {b, bt};
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			float c[4] = {NAN, NAN, NAN, NAN};
			cn_gemm_ref(ta, tb, 2, 2, 3, 1.0f, as[ta], bs[tb], 0.0f, c);
			for (int i = 0; i < 4; i++) assert_true(c[i] == want[i]);
			/* alpha 2, beta 1 on top: 3x the product */
			cn_gemm_ref(ta, tb, 2, 2, 3, 2.0f, as[ta], bs[tb], 1.0f, c);
			for (int i = 0; i < 4; i++) assert_true(c[i] == 3 * want[i]);
		}
}

static double worst;
static int cases;

static void one(struct tu_rng *r, bool ta, bool tb, int m, int n, int k, float alpha, float beta)
{
	size_t al = (size_t)m * k, bl = (size_t)k * n, cl = (size_t)m * n;
	float *a = tu_floats(al), *b = tu_floats(bl), *c = tu_floats(cl), *cr = tu_floats(cl);
	tu_fill_uniform(r, a, al, -1, 1);
	tu_fill_uniform(r, b, bl, -1, 1);
	if (beta == 0.0f) {
		for (size_t i = 0; i < cl; i++) c[i] = cr[i] = NAN;
	} else {
		tu_fill_uniform(r, c, cl, -1, 1);
		memcpy(cr, c, cl * sizeof(*c));
	}
	float *c0 = tu_floats(cl), *cw = tu_floats(cl);
	memcpy(c0, c, cl * sizeof(*c));
	cn_gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
	cn_gemm_ref(ta, tb, m, n, k, alpha, a, b, beta, cr);
	char cfg[128];
	snprintf(cfg, sizeof(cfg), "ta %d tb %d m %d n %d k %d alpha %g beta %g", ta, tb, m, n, k,
	         (double)alpha, (double)beta);
	tu_track(&worst, tu_check_close("C", c, cr, cl, TOL, cfg));
	cases++;
	/* the small kernels' copies for narrower vectors (those this CPU runs) give the same bits
	   as the widest: the same sums in the same order, tiles apart */
	memcpy(c, c0, cl * sizeof(*c));
	if (cn_gemm_small_width(16, ta, tb, m, n, k, alpha, a, b, beta, c))
		for (int w = 8; w >= 4; w /= 2) {
			memcpy(cw, c0, cl * sizeof(*c));
			assert_true(cn_gemm_small_width(w, ta, tb, m, n, k, alpha, a, b, beta, cw));
			if (memcmp(c, cw, cl * sizeof(*c)) != 0)
				fail_msg(
				    "small GEMM, %d floats a vector, differs from the widest: %s",
				    w, cfg);
		}
	free(c0);
	free(cw);
	free(a);
	free(b);
	free(c);
	free(cr);
}

static void test_transposes_odd_sizes(void **state)
{
	(void)state;
	static const int sizes[] = {1, 2, 3, 7, 17, 33, 65};
	static const float ab[][2] = {{1, 0}, {1, 1}, {0.5f, 0}, {-2, 0.25f}, {0, 1}, {1.5f, -1}};
	struct tu_rng r = tu_rng_make(1);
	for (int t = 0; t < 4; t++)
		for (size_t mi = 0; mi < LEN(sizes); mi++)
			for (size_t ni = 0; ni < LEN(sizes); ni += 2)
				for (size_t ki = 0; ki < LEN(sizes); ki += 3) {
					size_t p = (mi + ni + ki) % LEN(ab);
					one(&r, t & 1, t >> 1, sizes[mi], sizes[ni], sizes[ki],
					    ab[p][0], ab[p][1]);
				}
}

/* Sizes a blocked kernel splits unevenly, with every alpha/beta pair per transpose. */
static void test_random_sweep(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(2);
	for (int i = 0; i < 200; i++) {
		int m = tu_int(&r, 1, 150), n = tu_int(&r, 1, 150), k = tu_int(&r, 1, 300);
		float alpha = tu_int(&r, 0, 3) ? tu_uniform(&r, -2, 2) : 1.0f;
		float beta = tu_int(&r, 0, 2) ? 0.0f : tu_uniform(&r, -1, 1);
		one(&r, tu_int(&r, 0, 1), tu_int(&r, 0, 1), m, n, k, alpha, beta);
	}
	print_message("gemm: %d cases, largest relative error %.3g\n", cases, worst);
}

/*
 * cn_gemm_ld on sub-matrices: A, B and C sit in wider arrays (row strides padded by 1..9
 * floats holding a guard value); C must match cn_gemm_ref on packed copies and every padding
 * float must be left as it was.
 */
static void test_strided(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(3);
	const float guard = 12345.0f;
	for (int i = 0; i < 120; i++) {
		bool ta = i & 1, tb = (i >> 1) & 1;
		int m = tu_int(&r, 1, 70), n = tu_int(&r, 1, 70), k = tu_int(&r, 1, 90);
		int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
		int lda = ac + tu_int(&r, 1, 9), ldb = bc + tu_int(&r, 1, 9),
		    ldc = n + tu_int(&r, 1, 9);
		float beta = i % 3 ? 0.0f : 0.5f;
		float *a = tu_floats((size_t)ar * lda), *b = tu_floats((size_t)br * ldb);
		float *c = tu_floats((size_t)m * ldc), *ap = tu_floats((size_t)ar * ac);
		float *bp = tu_floats((size_t)br * bc), *cr = tu_floats((size_t)m * n);
		for (size_t t = 0; t < (size_t)m * ldc; t++) c[t] = guard;
		tu_fill_uniform(&r, a, (size_t)ar * lda, -1, 1);
		tu_fill_uniform(&r, b, (size_t)br * ldb, -1, 1);
		for (int y = 0; y < ar; y++)
			for (int x = 0; x < ac; x++) ap[y * ac + x] = a[y * lda + x];
		for (int y = 0; y < br; y++)
			for (int x = 0; x < bc; x++) bp[y * bc + x] = b[y * ldb + x];
		for (int y = 0; y < m; y++)
			for (int x = 0; x < n; x++)
				cr[y * n + x] = c[y * ldc + x] =
				    beta == 0.0f ? NAN : (float)(x - y);
		cn_gemm_ld(ta, tb, m, n, k, 1.5f, a, lda, b, ldb, beta, c, ldc);
		cn_gemm_ref(ta, tb, m, n, k, 1.5f, ap, bp, beta, cr);
		char cfg[128];
		snprintf(cfg, sizeof(cfg),
		         "strided ta %d tb %d m %d n %d k %d lda %d ldb %d ldc %d", ta, tb, m, n, k,
		         lda, ldb, ldc);
		for (int y = 0; y < m; y++) {
			tu_track(&worst, tu_check_close("C", c + (size_t)y * ldc,
			                                cr + (size_t)y * n, (size_t)n, TOL, cfg));
			for (int x = n; x < ldc; x++) assert_true(c[y * ldc + x] == guard);
		}
		free(a), free(b), free(c), free(ap), free(bp), free(cr);
	}
}

/*
 * gemm.c's small kernels take tall or long skinny products (see small_gemm): A·Bᵀ with
 * n <= 16, k <= 160, m >= 256, Aᵀ·Bᵀ with n <= 16, k <= 160, m >= 256, and Aᵀ·B with
 * m <= 16, k >= 256. Every case of
 * tn_small's switch, panel widths that divide n and that do not (the overlapping last panel),
 * m not a multiple of nt_small's 8 rows, the edges of both windows, and the convolutions'
 * own shapes, each with alpha/beta pairs including beta 0 over NaN.
 */
static void test_small_kernels(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(3);
	static const float ab[][2] = {{1, 0}, {1, 1}, {-2, 0.25f}, {0.5f, -1}};
	static const int nt_n[] = {1, 2, 4, 6, 7, 12, 15, 16};
	static const int nt_k[] = {64, 65, 100, 150, 160};
	static const int nt_m[] = {256, 257, 263, 1600};
	for (size_t ni = 0; ni < LEN(nt_n); ni++)
		for (size_t ki = 0; ki < LEN(nt_k); ki++) {
			int m = nt_m[(ni + ki) % LEN(nt_m)];
			const float *p = ab[(ni * 3 + ki) % LEN(ab)];
			one(&r, false, true, m, nt_n[ni], nt_k[ki], p[0], p[1]);
		}
	static const int tn_m[] = {1, 4, 5, 6, 8, 10, 12, 16};
	static const int tn_n[] = {1, 3, 9, 15, 16, 17, 25, 31, 32, 33, 36, 150};
	static const int tn_k[] = {256, 257, 1000};
	for (size_t mi = 0; mi < LEN(tn_m); mi++)
		for (size_t ni = 0; ni < LEN(tn_n); ni++) {
			int k = tn_k[(mi + ni) % LEN(tn_k)];
			const float *p = ab[(mi + ni * 3) % LEN(ab)];
			one(&r, true, false, tn_m[mi], tn_n[ni], k, p[0], p[1]);
		}
	static const int tt_n[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16};
	static const int tt_k[] = {1, 9, 25, 150, 160};
	static const int tt_m[] = {256, 257, 270, 287, 576 * 3};
	for (size_t ni = 0; ni < LEN(tt_n); ni++)
		for (size_t ki = 0; ki < LEN(tt_k); ki++) {
			int m = tt_m[(ni + ki) % LEN(tt_m)];
			const float *p = ab[(ni + ki * 3) % LEN(ab)];
			one(&r, true, true, m, tt_n[ni], tt_k[ki], p[0], p[1]);
		}
	/* just outside: OpenBLAS's side of each bound */
	one(&r, true, true, 255, 6, 25, 1, 1);
	one(&r, true, true, 256, 17, 25, 1, 1);
	one(&r, true, true, 256, 6, 161, 1, 1);
	one(&r, false, true, 256, 17, 100, 1, 1);
	one(&r, false, true, 256, 6, 161, 1, 1);
	one(&r, false, true, 255, 6, 100, 1, 1);
	one(&r, true, false, 17, 25, 300, 1, 1);
	one(&r, true, false, 4, 9, 256, 1, 0); /* tn_narrow: the last rows' copy */
	one(&r, true, false, 4, 9, 784 * 34, 1, 1);
	one(&r, true, false, 6, 25, 255, 1, 1);
	/* sigmoid-cnn's and lenet5's layers at one chunk */
	one(&r, false, true, 64 * 25, 12, 150, 1, 1);
	one(&r, true, false, 6, 25, 576 * 17, 1, 1);
	one(&r, true, false, 12, 150, 64 * 25, 1, 1);
	one(&r, true, false, 16, 150, 100 * 17, 1, 1);
	one(&r, false, true, 100 * 17, 16, 150, 1, 1);
}

static void test_blas_config(void **state)
{
	(void)state;
	const char *s = cn_gemm_blas_config();
	assert_non_null(s);
	assert_true(strlen(s) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ref_by_hand),   cmocka_unit_test(test_transposes_odd_sizes),
	    cmocka_unit_test(test_random_sweep),  cmocka_unit_test(test_strided),
	    cmocka_unit_test(test_small_kernels), cmocka_unit_test(test_blas_config),
	};
	return cmocka_run_group_tests_name("gemm", tests, NULL, NULL);
}
