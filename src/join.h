/*
 * The end of a parallel region's share-out, without the sleep. GNU OpenMP lets a thread that
 * reaches a region's closing barrier spin only GOMP_SPINCOUNT times (the colnet tool sets 300:
 * longer spins starved a machine whose other core was busy) before it sleeps on a futex, and a
 * futex wake took 6-50 us on these 2-core VMs. When the threads' shares finish a few tens of
 * microseconds apart, the first one sleeps and the region ends a wake later. A thread that is
 * done waits here first, spinning for at most a tenth of the time its own share took, so that
 * the threads usually reach the barrier together. rbf inference at batch 1000 on 2 threads, ms
 * per forward (medians of 2000 calls, three processes each): idle machine 0.33-0.37 -> 0.313-
 * 0.320; a busy loop on the other core 0.63-0.65 -> 0.66-0.69 (a quarter of the share's time
 * instead of a tenth: 0.305-0.313 idle, 0.71-0.74 busy).
 * The training step's convolutions and batch-norm passes end this way too, their blocks
 * claimed dynamically (a thread woken late takes fewer): mnist-fast at batch 200 on 2 threads
 * slept 22 times a step, now 4, and the step ran 5.4-6.7 -> 4.9-5.7 ms (three runs each); the
 * whole 2-epoch run 0.89x the wall time (8 paired runs). With a busy loop on the other core
 * the step is ~8% slower (10.6-11.5 -> 11.5-12.5 ms).
 */
#ifndef CN_JOIN_H
#define CN_JOIN_H

#include "util.h"

/*
 * Called once by each of the region's `threads` threads after its share, begun at `start`
 * (cn_now); `arrived` starts at 0 for the region and is shared by its threads.
 */
static inline void cn_join_spin(int *arrived, int threads, double start)
{
	double now = cn_now(), until = now + 0.1 * (now - start);
	__atomic_add_fetch(arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(arrived, __ATOMIC_ACQUIRE) < threads && cn_now() < until) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

#endif
