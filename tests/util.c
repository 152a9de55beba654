/* Shared test helpers; see util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "colnet.h"
#include "util.h"

struct tu_rng tu_rng_make(uint64_t seed)
{
	struct tu_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
	return r;
}

/* splitmix64: small, seeded, good enough for test data */
uint64_t tu_next(struct tu_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

float tu_uniform(struct tu_rng *r, float lo, float hi)
{
	double u = (double)(tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
	return (float)(lo + (hi - lo) * u);
}

int tu_int(struct tu_rng *r, int lo, int hi)
{
	return lo + (int)(tu_next(r) % (uint64_t)(hi - lo + 1));
}

void tu_fill_uniform(struct tu_rng *r, float *a, size_t len, float lo, float hi)
{
	for (size_t i = 0; i < len; i++) a[i] = tu_uniform(r, lo, hi);
}

void *tu_alloc(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);
	assert_non_null(p);
	return p;
}

float *tu_floats(size_t len)
{
	return tu_alloc(len * sizeof(float));
}

float *tu_nans(size_t len)
{
	float *a = tu_floats(len);
	for (size_t i = 0; i < len; i++) a[i] = NAN;
	return a;
}

float *tu_rand_floats(struct tu_rng *r, size_t len)
{
	float *a = tu_floats(len);
	tu_fill_uniform(r, a, len, -1, 1);
	return a;
}

float *tu_copy(const float *a, size_t len)
{
	float *b = tu_floats(len);
	memcpy(b, a, len * sizeof(*a));
	return b;
}

double tu_max_rel_err(const float *got, const float *want, size_t len, size_t *at)
{
	double ss = 0;
	for (size_t i = 0; i < len; i++) ss += (double)want[i] * want[i];
	double rms = len ? sqrt(ss / (double)len) : 0;
	if (rms == 0) rms = 1e-30;
	double worst = 0;
	size_t worst_at = 0;
	for (size_t i = 0; i < len; i++) {
		double d = fabs((double)got[i] - want[i]);
		double scale = fabs((double)want[i]) > rms ? fabs((double)want[i]) : rms;
		double e = d / scale;
		if (!(e <= worst)) { /* also catches NaN */
			worst = isnan(e) ? INFINITY : e;
			worst_at = i;
		}
	}
	if (at) *at = worst_at;
	return worst;
}

double tu_check_close(const char *what, const float *got, const float *want, size_t len, double tol,
                      const char *cfg)
{
	size_t at;
	double e = tu_max_rel_err(got, want, len, &at);
	if (e > tol) {
		print_error("%s: relative error %.3g > %.3g at [%zu]: got %.9g want %.9g (%s)\n",
		            what, e, tol, at, (double)got[at], (double)want[at], cfg ? cfg : "");
		fail();
	}
	return e;
}

double tu_gradcheck(const char *what, double (*loss)(void *ctx), void *ctx, float *x, size_t len,
                    const float *analytic, double eps, double tol, size_t max_probes)
{
	/* errors are relative to the larger gradient, floored at 1e-3 of the tensor's largest:
	 * a floor of 1 would pass any wrong gradient smaller than the tolerance */
	double gmax = 0;
	/* a compare, not fmax: GCC 12.2 for aarch64 crashes vectorizing an fmax(fabs) reduction */
	for (size_t i = 0; i < len; i++) {
		double a = fabs((double)analytic[i]);
		if (a > gmax) gmax = a;
	}
	if (gmax == 0) {
		print_error("%s: analytic gradient is all zero: the check would prove nothing\n",
		            what);
		fail();
	}
	size_t probes = len < max_probes ? len : max_probes;
	double worst = 0;
	for (size_t p = 0; p < probes; p++) {
		size_t i = probes == len ? p : (size_t)((double)p * (double)len / (double)probes);
		float saved = x[i];
		x[i] = (float)(saved + eps);
		double up = loss(ctx);
		x[i] = (float)(saved - eps);
		double down = loss(ctx);
		x[i] = saved;
		/* the step actually taken in float, not the one asked for */
		double h = (double)(float)(saved + eps) - (double)(float)(saved - eps);
		double num = (up - down) / h;
		double ana = analytic[i];
		double scale = fmax(1e-3 * gmax, fmax(fabs(num), fabs(ana)));
		double e = fabs(num - ana) / scale;
		if (e > worst) worst = e;
		if (e > tol) {
			print_error("%s: gradient at [%zu]: numeric %.9g analytic %.9g (err %.3g > "
			            "%.3g)\n",
			            what, i, num, ana, e, tol);
			fail();
		}
	}
	return worst;
}

void tu_rm_rf(const char *path)
{
	struct stat s;
	if (lstat(path, &s) != 0) return;
	if (S_ISDIR(s.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
			char sub[512];
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			tu_rm_rf(sub);
		}
		if (d) closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

void tu_quadrant_images(uint64_t seed, int32_t count, int side, uint8_t *px, uint8_t *labels)
{
	struct tu_rng r = tu_rng_make(seed);
	int half = side / 2;
	for (int32_t i = 0; i < count; i++) {
		uint8_t *img = px + (size_t)i * side * side;
		int q = tu_int(&r, 0, 3);
		labels[i] = (uint8_t)q;
		for (int p = 0; p < side * side; p++) img[p] = (uint8_t)tu_int(&r, 0, 80);
		int oy = (q / 2) * half + tu_int(&r, 0, half - 2);
		int ox = (q % 2) * half + tu_int(&r, 0, half - 2);
		for (int dy = 0; dy < 2; dy++)
			for (int dx = 0; dx < 2; dx++) img[(oy + dy) * side + ox + dx] = 255;
	}
}

struct cn_dataset *tu_quadrant_dataset(uint64_t seed, int32_t count, int side)
{
	uint8_t *px = tu_alloc((size_t)count * side * side), *labels = tu_alloc((size_t)count);
	tu_quadrant_images(seed, count, side, px, labels);
	struct cn_dataset *ds;
	char err[CN_ERR_LEN];
	assert_int_equal(
	    cn_dataset_create(&ds, (struct cn_shape){1, side, side}, count, px, labels, err),
	    CN_OK);
	free(px);
	free(labels);
	return ds;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	uint8_t *b = tu_alloc((size_t)size + 1);
	*len = fread(b, 1, (size_t)size, f);
	assert_int_equal(*len, (size_t)size);
	fclose(f);
	return b;
}

void tu_write_file(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}
