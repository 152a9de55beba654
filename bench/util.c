/*
 * Bench helpers. Timing is "median of single calls after a warm-up": on a shared, noisy
 * machine the median resists the slow outliers another tenant causes, and min/max show how
 * noisy the run was. The kernel choice mirrors src/cli/main.c so the bench measures what a
 * user of the colnet tool gets; keep the two in step.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "colnet.h"
#include "gemm.h"
#include "cli/cli.h"
#include "util.h"

#ifndef CN_BENCH_CFLAGS
#define CN_BENCH_CFLAGS "(not recorded: build with make bench)"
#endif
#ifndef CN_BENCH_CLONES
#define CN_BENCH_CLONES "(not recorded: build with make bench)"
#endif

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct bench_stat bench_stat_of(double *t, int n)
{
	struct bench_stat s = {0, 0, 0, n};
	if (n < 1) return s;
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	s.min = t[0];
	s.max = t[n - 1];
	s.med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
	return s;
}

struct bench_stat bench_time(void (*fn)(void *ctx), void *ctx, int warmup, int min_reps,
                             int max_reps, double budget_s)
{
	double t[BENCH_MAX_REPS];
	if (max_reps > BENCH_MAX_REPS) max_reps = BENCH_MAX_REPS;
	if (min_reps > max_reps) min_reps = max_reps;
	for (int i = 0; i < warmup; i++) fn(ctx);
	int n = 0;
	double start = bench_now();
	while (n < max_reps && (n < min_reps || bench_now() - start < budget_s)) {
		double t0 = bench_now();
		fn(ctx);
		t[n++] = bench_now() - t0;
	}
	return bench_stat_of(t, n);
}

float *bench_floats(size_t len)
{
	size_t bytes = (len * sizeof(float) + 63) / 64 * 64;
	float *p = aligned_alloc(64, bytes ? bytes : 64);
	if (!p) {
		fprintf(stderr, "bench: out of memory for %zu floats\n", len);
		exit(1);
	}
	return p;
}

void bench_fill(float *a, size_t len, uint64_t seed, float lo, float hi)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < len; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
		a[i] = lo + (hi - lo) * (float)(s >> 40) * (1.0f / 16777216.0f);
	}
}

struct sgemm_ctx {
	bool ta, tb;
	int m, n, k;
	float beta;
	const float *a, *b;
	float *c;
};

static void sgemm_once(void *p)
{
	struct sgemm_ctx *g = p;
	cn_gemm(g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, g->b, g->beta, g->c);
}

double bench_sgemm(bool ta, bool tb, int m, int n, int k, float beta, double budget_s,
                   struct bench_stat *st)
{
	size_t la = (size_t)m * (size_t)k, lb = (size_t)k * (size_t)n, lc = (size_t)m * (size_t)n;
	float *a = bench_floats(la), *b = bench_floats(lb), *c = bench_floats(lc);
	bench_fill(a, la, 1, -1, 1);
	bench_fill(b, lb, 2, -1, 1);
	bench_fill(c, lc, 3, -1, 1);
	struct sgemm_ctx g = {ta, tb, m, n, k, beta, a, b, c};
	struct bench_stat s = bench_time(sgemm_once, &g, 1, 3, 20, budget_s);
	free(a), free(b), free(c);
	if (st) *st = s;
	return 2.0 * m * (double)n * k / s.med * 1e-9;
}

/* The colnet tool's rules (src/cli/runtime.c), so the bench measures what users run. */
bool bench_cpu_has_avx512(void)
{
	return cli_cpu_has_avx512();
}

bool bench_avx512_core(const char *core)
{
	return cli_core_is_avx512(core);
}

void bench_prefer_avx512(char **argv)
{
	cli_tune_runtime(argv);
}

bool bench_avx512_applied(const char **from)
{
	const char *f = getenv("COLNET_CORETYPE_FROM");
	if (from) *from = f;
	return f && bench_avx512_core(cn_blas_core());
}

const char *bench_avx512_note(void)
{
	static char note[256];
	const char *from, *core = cn_blas_core();
	if (bench_avx512_applied(&from))
		snprintf(note, sizeof(note),
		         "applied: OpenBLAS ran %s, re-executed with OPENBLAS_CORETYPE=SkylakeX",
		         from);
	else if (!bench_cpu_has_avx512())
		snprintf(note, sizeof(note), "not needed: the CPU has no AVX-512");
	else if (bench_avx512_core(core))
		snprintf(note, sizeof(note), "not needed: OpenBLAS runs %s", core);
	else if (getenv("COLNET_KEEP_CORETYPE"))
		snprintf(note, sizeof(note), "not applied: COLNET_KEEP_CORETYPE keeps %s", core);
	else
		snprintf(note, sizeof(note), "FAILED: still %s (re-execution did not happen)",
		         core);
	return note;
}

/* The value of the first "key : value" line of /proc/cpuinfo starting with key, or "?". */
static void cpuinfo(const char *key, char *out, size_t len)
{
	snprintf(out, len, "?");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f) return;
	char line[1024];
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) != 0) continue;
		char *v = strchr(line, ':');
		if (!v || strspn(line + klen, " \t") != (size_t)(v - line) - klen) continue;
		v += 1 + strspn(v + 1, " ");
		v[strcspn(v, "\n")] = 0;
		snprintf(out, len, "%s", v);
		break;
	}
	fclose(f);
}

void bench_print_machine(FILE *f, int threads)
{
	char model[256], family[32], mnum[32];
	cpuinfo("model name", model, sizeof(model));
	cpuinfo("cpu family", family, sizeof(family));
	cpuinfo("model", mnum, sizeof(mnum));
	fprintf(f, "colnet %s\n", cn_version());
	fprintf(f, "BLAS:     %s (core %s)\n", cn_blas_config(), cn_blas_core());
	fprintf(f, "AVX-512 kernel choice: %s\n", bench_avx512_note());
	fprintf(f, "colnet loops: the %s clone runs (built for CLONES=\"%s\")\n", cn_isa(),
	        CN_BENCH_CLONES);
	fprintf(f, "CPU:      %s (family %s, model %s), %ld online, AVX-512 %s\n", model, family,
	        mnum, sysconf(_SC_NPROCESSORS_ONLN), bench_cpu_has_avx512() ? "yes" : "no");
	fprintf(f, "threads:  %d (set with cn_set_blas_threads)\n", threads);
	FILE *la = fopen("/proc/loadavg", "r");
	char load[64] = "?";
	if (la && fgets(load, sizeof(load), la)) load[strcspn(load, "\n")] = 0;
	if (la) fclose(la);
	fprintf(f,
	        "load:     %s (/proc/loadavg at start: other work on the machine skews results)\n",
	        load);
	const char *vars[] = {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_L2_SIZE",
	                      "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (getenv(vars[i])) fprintf(f, "env:      %s=%s\n", vars[i], getenv(vars[i]));
	fprintf(f, "compiler: %s\nflags:    %s\n", __VERSION__, CN_BENCH_CFLAGS);
}

void bench_check_scaling(double peak1, double peak2)
{
	if (peak1 > 0 && peak2 > 0 && peak2 < 1.3 * peak1)
		printf(
		    "WARNING: 2-thread sgemm (%.0f GFLOP/s) is barely faster than 1 thread (%.0f): "
		    "another process\nis using a core, and every 2-thread figure of this run is "
		    "unreliable. Rerun on a quiet machine.\n",
		    peak2, peak1);
}

int bench_csv_open(struct bench_csv *c, const char *path, const char *header)
{
	c->f = NULL;
	if (!path || strcmp(path, "-") == 0) return 0;
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->tmp, sizeof(c->tmp), "%s.tmp", path);
	/* a rename over /dev/null would replace the device with a regular file */
	struct stat st;
	c->direct = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
	if (c->direct) snprintf(c->tmp, sizeof(c->tmp), "%s", path);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && !c->direct) {
		*slash = 0;
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "bench: cannot create %s: %s\n", dir, strerror(errno));
			return -1;
		}
	}
	c->f = fopen(c->tmp, "w");
	if (!c->f) {
		fprintf(stderr, "bench: cannot write %s: %s\n", c->tmp, strerror(errno));
		return -1;
	}
	fprintf(c->f, "%s\n", header);
	return 0;
}

void bench_csv_row(struct bench_csv *c, const char *fmt, ...)
{
	if (!c->f) return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(c->f, fmt, ap);
	va_end(ap);
}

int bench_csv_close(struct bench_csv *c)
{
	if (!c->f) return 0;
	int bad = fflush(c->f) != 0 || ferror(c->f) || (!c->direct && fsync(fileno(c->f)) != 0);
	bad |= fclose(c->f) != 0;
	c->f = NULL;
	if (c->direct) return bad ? -1 : 0;
	if (!bad && rename(c->tmp, c->path) == 0) {
		printf("wrote %s\n", c->path);
		return 0;
	}
	fprintf(stderr, "bench: could not write %s: %s (previous file kept)\n", c->path,
	        strerror(errno));
	remove(c->tmp);
	return -1;
}

int bench_split(char *list, char **items, int max)
{
	int n = 0;
	for (char *tok = strtok(list, ","); tok && n < max; tok = strtok(NULL, ","))
		items[n++] = tok;
	return n;
}
