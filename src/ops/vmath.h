/*
 * Branch-free float helpers that GCC vectorizes, shared by the element-wise ops (act.c, rbf.c):
 * bit casts, a select by masks, and vexp, an e^x without a libm call. Include only from files
 * whose loops are compiled per vector width (CN_CLONES); every clone gives the same bits.
 */
#ifndef CN_OPS_VMATH_H
#define CN_OPS_VMATH_H

#include <stdint.h>
#include <string.h>

static inline uint32_t fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static inline float bitsf(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/*
 * c ? a : b by bit masks. A plain ?: lets GCC sink the arm's arithmetic into a branch, and it
 * will not turn that back into a vector select without AVX-512's masks (-ftrapping-math).
 */
static inline float sel(int c, float a, float b)
{
	uint32_t m = 0u - (uint32_t)c;
	return bitsf((fbits(a) & m) | (fbits(b) & ~m));
}

/*
 * e^x for every float x, without a branch or a libm call (Cephes expf's reduction and
 * polynomial): x = n ln2 + r with |r| <= ln2/2, e^x = p(r) * 2^n. n is rounded by adding
 * 1.5*2^23 (its low bits then hold n), and 2^n is applied as two halves 2^(n/2) 2^(n-n/2), each
 * a normal float, so results overflow to inf and underflow through the subnormals to 0 as
 * they should. x is clamped to [-104, 89], past which e^x is 0 or inf anyway; NaN passes both
 * clamps (its compares are false) and comes out NaN.
 */
static inline float vexp(float x)
{
	const float magic = 12582912.0f; /* 1.5 * 2^23 */
	x = sel(x < -104.0f, -104.0f, x);
	x = sel(x > 89.0f, 89.0f, x);
	float t = x * 1.44269504088896341f + magic;
	float n = t - magic;
	int32_t ni = (int32_t)(fbits(t) - fbits(magic)); /* |n| <= 150, or garbage for NaN */
	int32_t n1 = ni / 2, n2 = ni - n1;
	float s1 = bitsf((uint32_t)(n1 + 127) << 23), s2 = bitsf((uint32_t)(n2 + 127) << 23);
	/* ln2 = C1 + C2 with C1 = 355/512: n*C1 is exact */
	float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
	float z = r * r;
	float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
	            4.1665795894e-2f) *
	               r +
	           1.6666665459e-1f) *
	              r +
	          5.0000001201e-1f;
	p = p * z + r + 1.0f;
	return p * s1 * s2;
}

#endif
