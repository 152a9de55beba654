/*
 * Shared bench helpers: a monotonic clock, "warm up, repeat, take the median" timing, the
 * machine's sgemm rate for any shape, the AVX-512 kernel choice the colnet tool makes, a
 * machine description (so a result explains itself), and CSV files written atomically.
 * Benches are white-box: they include the headers under src/ to time ops against their references.
 */
#ifndef CN_BENCH_UTIL_H
#define CN_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Seconds on the monotonic clock. */
double bench_now(void);

/* Timing of one repeated call, in seconds. */
struct bench_stat {
	double med, min, max;
	int reps;
};

/*
 * Call fn(ctx) `warmup` times untimed, then time single calls until at least min_reps were
 * made and either budget_s seconds were spent or max_reps (<= BENCH_MAX_REPS) were made.
 */
#define BENCH_MAX_REPS 64
struct bench_stat bench_time(void (*fn)(void *ctx), void *ctx, int warmup, int min_reps,
                             int max_reps, double budget_s);

/* Median, min and max of t[0..n) (reorders t). */
struct bench_stat bench_stat_of(double *t, int n);

/*
 * GFLOP/s of one plain cn_gemm C[m,n] = op(A)·op(B) + beta·C (median of repeated calls over
 * about budget_s seconds) at the current BLAS thread count. *st (may be NULL) gets the times.
 * Returns a negative number if the buffers cannot be allocated.
 */
double bench_sgemm(bool ta, bool tb, int m, int n, int k, float beta, double budget_s,
                   struct bench_stat *st);

/*
 * The colnet tool's kernel choice, made before any timing: on a CPU with AVX-512 whose
 * OpenBLAS runs an AVX2 family, set OPENBLAS_CORETYPE=SkylakeX and re-execute (argv is this
 * program's), unless COLNET_KEEP_CORETYPE is set. Call first in main.
 */
void bench_prefer_avx512(char **argv);

/* Whether this process was re-executed with AVX-512 kernels; *from (may be NULL) gets the
 * family OpenBLAS ran before. */
bool bench_avx512_applied(const char **from);

/* Whether this CPU has the AVX-512 subsets SkylakeX kernels use. */
bool bench_cpu_has_avx512(void);

/* Whether an OpenBLAS core name is an AVX-512 family (SkylakeX, Cooperlake, SapphireRapids). */
bool bench_avx512_core(const char *core);

/* One line saying what bench_prefer_avx512 did and why. */
const char *bench_avx512_note(void);

/* Print a warning when the 2-thread sgemm peak is not clearly above the 1-thread one. */
void bench_check_scaling(double peak1, double peak2);

/* Print version, BLAS, kernel choice, CPU model, threads and compiler flags. */
void bench_print_machine(FILE *f, int threads);

/* Deterministic fill of a[0..len) with uniform values in [lo, hi). */
void bench_fill(float *a, size_t len, uint64_t seed, float lo, float hi);

/* 64-byte aligned allocation of len floats (never NULL: exits with a message on failure). */
float *bench_floats(size_t len);

/*
 * A CSV file written to path.tmp and renamed over path on close, so a reader never sees half
 * a file and an interrupted run leaves the previous results intact. The directory is created
 * if missing (one level). path "-" disables the file (every call then does nothing).
 */
struct bench_csv {
	FILE *f;
	char path[512], tmp[520];
	bool direct; /* path is a device or FIFO (/dev/null, say): written in place, not renamed */
};

int bench_csv_open(struct bench_csv *c, const char *path, const char *header);
/* printf-style row; the format must supply the trailing newline. */
void bench_csv_row(struct bench_csv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0 on success; on failure the previous file is kept and a message is printed. */
int bench_csv_close(struct bench_csv *c);

/* Split a comma-separated list in place into at most max items; returns the count. */
int bench_split(char *list, char **items, int max);

#endif
