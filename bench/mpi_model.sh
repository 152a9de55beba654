#!/bin/sh
# The "Scaling out" model of README: time per step of data-parallel training on K machines,
#   T(K) = B / (K R) + 2 (K-1)/K S / BW + 2 ceil(log2 K) a
# compute of a global batch of B images split K ways at R images/s per machine, plus one
# allreduce of the S-byte gradient: the bytes a ring (or reduce-scatter + allgather) puts on
# each link, and the latency of the 2 log2 K rounds MPI runs for such sizes.
# Usage: bench/mpi_model.sh [R [S [B]]] (defaults: tutorial-cnn measured here: 3900 images/s,
# 200744 bytes, batch 100). Links: 10 Gb/s (1.1 GB/s, a 25 us) and 100 Gb/s (11 GB/s, 3 us).
R=${1:-3900}
S=${2:-200744}
B=${3:-100}
awk -v R="$R" -v S="$S" -v B="$B" 'BEGIN {
	t1 = B / R
	printf "R %d images/s per machine, gradient %.0f kB, global batch %d: one machine %.2f ms/step\n", R, S / 1e3, B, t1 * 1e3
	printf "%4s | %28s | %28s\n", "K", "10 Gb/s: ms/step, speed-up", "100 Gb/s: ms/step, speed-up"
	for (K = 2; K <= 64; K *= 2) {
		lg = log(K) / log(2)
		c = t1 / K
		t10 = c + 2 * (K - 1) / K * S / 1.1e9 + 2 * lg * 25e-6
		t100 = c + 2 * (K - 1) / K * S / 11e9 + 2 * lg * 3e-6
		printf "%4d | %12.3f %8.1fx (%3.0f%%) | %12.3f %8.1fx (%3.0f%%)\n", K, t10 * 1e3, t1 / t10, 100 * t1 / t10 / K, t100 * 1e3, t1 / t100, 100 * t1 / t100 / K
	}
}'
