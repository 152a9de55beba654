/*
 * Seeded generator (xoshiro256**, seeded by splitmix64). Its state lives in the handle that
 * uses it (net, trainer), never in a global, so a run is reproducible from its seed.
 */
#ifndef CN_RNG_H
#define CN_RNG_H

#include <stdint.h>

struct cn_rng {
	uint64_t s[4];
};

void cn_rng_seed(struct cn_rng *r, uint64_t seed);
uint64_t cn_rng_next(struct cn_rng *r);
/* Uniform in [0, 1), 53 bits. */
double cn_rng_uniform(struct cn_rng *r);
/* Standard normal (Box-Muller; draws two uniforms, keeps no cache so the state is s[] alone). */
double cn_rng_normal(struct cn_rng *r);
/* Uniform integer in [0, n), unbiased; n >= 1. */
uint32_t cn_rng_below(struct cn_rng *r, uint32_t n);
/* Fisher-Yates shuffle of a[0..n). */
void cn_rng_shuffle(struct cn_rng *r, int32_t *a, int32_t n);

/*
 * Element i of a counter-based stream keyed by one cn_rng_next draw: 32 bits from two rounds
 * of a 32-bit integer hash (Wellons' lowbias32). Each element is computed alone, so a loop
 * over a whole mask vectorizes (xoshiro's sequential draws cost ~10 ns an element in
 * dropout), and any split of it among threads gives the same bits.
 */
static inline uint32_t cn_rng_hash(uint64_t key, uint32_t i)
{
	uint32_t x = i ^ (uint32_t)key;
	for (int round = 0; round < 2; round++) {
		x ^= x >> 16;
		x *= 0x7feb352du;
		x ^= x >> 15;
		x *= 0x846ca68bu;
		x ^= x >> 16;
		x += (uint32_t)(key >> 32);
	}
	return x;
}

#endif
