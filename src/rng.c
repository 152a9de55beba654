/* xoshiro256** (Blackman & Vigna), seeded through splitmix64 so any seed, even 0, is fine. */
#include <math.h>

#include "rng.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void cn_rng_seed(struct cn_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t cn_rng_next(struct cn_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double cn_rng_uniform(struct cn_rng *r)
{
	return (double)(cn_rng_next(r) >> 11) * 0x1.0p-53;
}

double cn_rng_normal(struct cn_rng *r)
{
	double u1 = 1.0 - cn_rng_uniform(r); /* (0, 1]: log never sees 0 */
	double u2 = cn_rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t cn_rng_below(struct cn_rng *r, uint32_t n)
{
	/* Lemire's multiply-shift with rejection of the biased low range */
	uint64_t m = (uint64_t)(uint32_t)(cn_rng_next(r) >> 32) * n;
	uint32_t low = (uint32_t)m;
	if (low < n) {
		uint32_t threshold = (uint32_t)-n % n;
		while (low < threshold) {
			m = (uint64_t)(uint32_t)(cn_rng_next(r) >> 32) * n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

void cn_rng_shuffle(struct cn_rng *r, int32_t *a, int32_t n)
{
	for (int32_t i = n - 1; i > 0; i--) {
		int32_t j = (int32_t)cn_rng_below(r, (uint32_t)i + 1);
		int32_t t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}
