/*
 * Datasets: loading image/label IDX pairs and MNIST folders written to a temporary folder
 * (shapes, counts that disagree, labels out of range, missing files), creating from memory,
 * truncating, and gathering batches as floats. The real MNIST files are checked too when
 * data/mnist exists (run from the repository root, as `make test` does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "colnet.h"
#include "util.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/cn-test-dataset-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(tmp);
	return 0;
}

/* tmp/name in one of two rotating buffers, so a call can take two paths. */
static const char *at(const char *name)
{
	static char p[2][256];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmp, name);
	return p[k];
}

/* An unsigned-byte IDX file: dims[ndim] header, then data (pattern bytes if data is NULL). */
static void write_idx(const char *path, int gz, int ndim, const uint32_t *dims, const uint8_t *data)
{
	uint8_t b[4096] = {0, 0, 8, (uint8_t)ndim};
	size_t n = 1, o = 4;
	for (int i = 0; i < ndim; i++, o += 4) {
		n *= dims[i];
		for (int k = 0; k < 4; k++) b[o + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
	}
	assert_true(o + n <= sizeof(b));
	for (size_t i = 0; i < n; i++) b[o + i] = data ? data[i] : (uint8_t)(i * 13 + 1);
	if (gz) {
		gzFile g = gzopen(path, "wb");
		assert_non_null(g);
		assert_int_equal(gzwrite(g, b, (unsigned)(o + n)), (int)(o + n));
		assert_int_equal(gzclose(g), Z_OK);
	} else {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(b, 1, o + n, f), o + n);
		assert_int_equal(fclose(f), 0);
	}
}

static void expect(enum cn_status got, enum cn_status want, const char *err, const char *a,
                   const char *b, const char *desc)
{
	if (got != want || (a && !strstr(err, a)) || (b && !strstr(err, b)))
		fail_msg("%s: status %d (want %d), message \"%s\" should mention \"%s\" and \"%s\"",
		         desc, got, want, err, a ? a : "", b ? b : "");
}

static const uint8_t labels5[] = {3, 0, 7, 1, 3};

static void test_load_idx(void **state)
{
	(void)state;
	struct cn_dataset *ds = NULL;
	char err[CN_ERR_LEN] = "";
	write_idx(at("img3"), 0, 3, (uint32_t[]){5, 4, 3}, NULL);
	write_idx(at("lab"), 0, 1, (uint32_t[]){5}, labels5);
	expect(cn_dataset_load_idx(&ds, at("img3"), at("lab"), err), CN_OK, err, 0, 0, "3 dims");
	assert_int_equal(cn_dataset_count(ds), 5);
	struct cn_shape s = cn_dataset_shape(ds);
	assert_true(s.c == 1 && s.h == 4 && s.w == 3);
	assert_int_equal(cn_dataset_classes(ds), 8);
	assert_memory_equal(cn_dataset_labels(ds), labels5, 5);
	for (int i = 0; i < 60; i++)
		assert_int_equal(cn_dataset_pixels(ds)[i], (uint8_t)(i * 13 + 1));
	cn_dataset_free(ds);

	write_idx(at("img4.gz"), 1, 4, (uint32_t[]){5, 2, 3, 4}, NULL);
	expect(cn_dataset_load_idx(&ds, at("img4.gz"), at("lab"), err), CN_OK, err, 0, 0, "4 dims");
	s = cn_dataset_shape(ds);
	assert_true(s.c == 4 && s.h == 2 && s.w == 3);
	assert_int_equal(cn_dataset_pixels(ds)[119], (uint8_t)(119 * 13 + 1));
	cn_dataset_free(ds);
	cn_dataset_free(NULL);
}

static void test_load_idx_bad(void **state)
{
	(void)state;
	struct cn_dataset *ds = (struct cn_dataset *)1;
	char err[CN_ERR_LEN] = "";
	write_idx(at("img"), 0, 3, (uint32_t[]){5, 4, 3}, NULL);
	write_idx(at("lab4"), 0, 1, (uint32_t[]){4}, labels5);
	write_idx(at("lab5"), 0, 1, (uint32_t[]){5}, labels5);
	write_idx(at("lab2d"), 0, 2, (uint32_t[]){5, 1}, labels5);
	expect(cn_dataset_load_idx(&ds, at("img"), at("lab4"), err), CN_ERR_FORMAT, err,
	       "has 5 images but", "lab4 has 4 labels", "count mismatch");
	assert_null(ds);
	expect(cn_dataset_load_idx(&ds, at("lab5"), at("lab5"), err), CN_ERR_FORMAT, err,
	       "images need 3 dimensions", "labels file?", "swapped arguments");
	expect(cn_dataset_load_idx(&ds, at("img"), at("img"), err), CN_ERR_FORMAT, err,
	       "labels need 1 dimension", "images file?", "images as labels");
	expect(cn_dataset_load_idx(&ds, at("img"), at("lab2d"), err), CN_ERR_FORMAT, err,
	       "lab2d: labels need 1 dimension [count], the file has 2", 0, "2-d labels");
	expect(cn_dataset_load_idx(&ds, at("img"), at("nothing"), err), CN_ERR_IO, err, "nothing",
	       0, "missing labels");
	expect(cn_dataset_load_idx(&ds, at("nothing"), at("lab5"), err), CN_ERR_IO, err, "nothing",
	       0, "missing images");
	assert_null(ds);
}

/* A fake MNIST folder: 3 training and 2 test images of 4x4. */
static void make_mnist(const char *dir, int gz, const uint8_t *train_labels)
{
	char p[256];
	const char *ext = gz ? ".gz" : "";
	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/train-images-idx3-ubyte%s", dir, ext);
	write_idx(p, gz, 3, (uint32_t[]){3, 4, 4}, NULL);
	snprintf(p, sizeof(p), "%s/train-labels-idx1-ubyte%s", dir, ext);
	write_idx(p, gz, 1, (uint32_t[]){3}, train_labels);
	snprintf(p, sizeof(p), "%s/t10k-images-idx3-ubyte%s", dir, ext);
	write_idx(p, gz, 3, (uint32_t[]){2, 4, 4}, NULL);
	snprintf(p, sizeof(p), "%s/t10k-labels-idx1-ubyte%s", dir, ext);
	write_idx(p, gz, 1, (uint32_t[]){2}, (const uint8_t[]){9, 2});
}

static void test_mnist_dir(void **state)
{
	(void)state;
	struct cn_dataset *ds = NULL;
	char err[CN_ERR_LEN] = "", dir[128];
	snprintf(dir, sizeof(dir), "%s", at("mnist"));
	make_mnist(dir, 1, (const uint8_t[]){1, 2, 3});
	expect(cn_dataset_load_mnist_dir(&ds, dir, 1, err), CN_OK, err, 0, 0, "gz only");
	assert_int_equal(cn_dataset_labels(ds)[2], 3);
	cn_dataset_free(ds);
	/* raw files beside the .gz ones win */
	make_mnist(dir, 0, (const uint8_t[]){4, 5, 6});
	expect(cn_dataset_load_mnist_dir(&ds, dir, 1, err), CN_OK, err, 0, 0, "raw and gz");
	assert_int_equal(cn_dataset_count(ds), 3);
	assert_int_equal(cn_dataset_labels(ds)[2], 6);
	assert_int_equal(cn_dataset_classes(ds), 7);
	cn_dataset_free(ds);
	expect(cn_dataset_load_mnist_dir(&ds, dir, 0, err), CN_OK, err, 0, 0, "test split");
	assert_int_equal(cn_dataset_count(ds), 2);
	assert_int_equal(cn_dataset_classes(ds), 10);
	struct cn_shape s = cn_dataset_shape(ds);
	assert_true(s.c == 1 && s.h == 4 && s.w == 4);
	cn_dataset_free(ds);
}

static void test_mnist_dir_bad(void **state)
{
	(void)state;
	struct cn_dataset *ds = (struct cn_dataset *)1;
	char err[CN_ERR_LEN] = "", dir[128];
	snprintf(dir, sizeof(dir), "%s", at("badlabels"));
	make_mnist(dir, 0, (const uint8_t[]){1, 9, 10});
	/* labels past 9 are classes like any other (EMNIST letters go to 26, balanced to 46) */
	expect(cn_dataset_load_mnist_dir(&ds, dir, 1, err), CN_OK, err, 0, 0, "label 10");
	assert_int_equal(cn_dataset_classes(ds), 11);
	cn_dataset_free(ds);
	expect(cn_dataset_load_mnist_dir(&ds, dir, 0, err), CN_OK, err, 0, 0, "test split is fine");
	cn_dataset_free(ds);

	snprintf(dir, sizeof(dir), "%s", at("half"));
	mkdir(dir, 0700);
	write_idx(at("half/train-images-idx3-ubyte"), 0, 3, (uint32_t[]){3, 4, 4}, NULL);
	expect(cn_dataset_load_mnist_dir(&ds, dir, 1, err), CN_ERR_IO, err,
	       "half: no train-labels-idx1-ubyte", "make data", "labels missing");
	expect(cn_dataset_load_mnist_dir(&ds, dir, 0, err), CN_ERR_IO, err,
	       "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte", "make data", "split missing");
	expect(cn_dataset_load_mnist_dir(&ds, at("nowhere"), 1, err), CN_ERR_IO, err,
	       "no such folder", "make data", "no folder");
	expect(cn_dataset_load_mnist_dir(&ds, at("half/train-images-idx3-ubyte"), 1, err),
	       CN_ERR_IO, err, "not a folder", 0, "a file");
	/* a file name that is a folder */
	snprintf(dir, sizeof(dir), "%s", at("dirs"));
	make_mnist(dir, 0, (const uint8_t[]){1, 2, 3});
	unlink(at("dirs/t10k-labels-idx1-ubyte"));
	mkdir(at("dirs/t10k-labels-idx1-ubyte"), 0700);
	expect(cn_dataset_load_mnist_dir(&ds, dir, 0, err), CN_ERR_IO, err, "directory", 0,
	       "labels are a folder");
	assert_null(ds);
}

static void test_create_gather_truncate(void **state)
{
	(void)state;
	struct cn_shape s = {2, 3, 2}; /* c, h, w: 12 bytes an image */
	uint8_t px[4 * 12], lb[4] = {2, 0, 5, 1};
	for (int i = 0; i < 48; i++) px[i] = (uint8_t)(i * 37 + 11);
	px[5] = 0, px[6] = 255;
	struct cn_dataset *ds = NULL;
	char err[CN_ERR_LEN] = "";
	expect(cn_dataset_create(&ds, s, 4, px, lb, err), CN_OK, err, 0, 0, "create");
	px[0] ^= 1, lb[0] = 9; /* the dataset holds a copy */
	assert_int_equal(cn_dataset_pixels(ds)[0], 11);
	assert_int_equal(cn_dataset_labels(ds)[0], 2);
	assert_int_equal(cn_dataset_classes(ds), 6);
	px[0] ^= 1, lb[0] = 2;

	int32_t idx[3] = {3, 0, 3}, got[3];
	float x[3 * 12];
	assert_int_equal(cn_dataset_gather(ds, idx, 3, x, got), CN_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(got[i], lb[idx[i]]);
		for (int j = 0; j < 12; j++)
			assert_true(x[i * 12 + j] == (float)px[idx[i] * 12 + j] / 255.0f);
	}
	assert_true(x[12 + 5] == 0.0f && x[12 + 6] == 1.0f);
	/* out of range: refused, and nothing written */
	float before = x[0];
	int32_t bad[2][2] = {{0, 4}, {-1, 0}};
	for (int k = 0; k < 2; k++) {
		x[0] = -7;
		assert_int_equal(cn_dataset_gather(ds, bad[k], 2, x, got), CN_ERR_ARG);
		assert_true(x[0] == -7);
	}
	x[0] = before;
	assert_int_equal(cn_dataset_gather(ds, idx, -1, x, got), CN_ERR_ARG);
	assert_int_equal(cn_dataset_gather(ds, NULL, 0, NULL, NULL), CN_OK);

	assert_int_equal(cn_dataset_truncate(ds, 0), CN_ERR_ARG);
	assert_int_equal(cn_dataset_truncate(ds, 5), CN_ERR_ARG);
	assert_int_equal(cn_dataset_truncate(ds, 2), CN_OK);
	assert_int_equal(cn_dataset_count(ds), 2);
	assert_int_equal(cn_dataset_classes(ds), 3); /* labels 2, 0 */
	assert_int_equal(cn_dataset_gather(ds, (int32_t[]){2}, 1, x, got), CN_ERR_ARG);
	assert_int_equal(cn_dataset_gather(ds, (int32_t[]){1}, 1, x, NULL), CN_OK);
	cn_dataset_free(ds);

	ds = (struct cn_dataset *)1;
	expect(cn_dataset_create(&ds, (struct cn_shape){1, 0, 2}, 4, px, lb, err), CN_ERR_SHAPE,
	       err, "h=0", 0, "zero height");
	assert_null(ds);
	expect(cn_dataset_create(&ds, (struct cn_shape){1, 65536, 65536}, 1, px, lb, err),
	       CN_ERR_SHAPE, err, "2^31-1", 0, "huge image");
	expect(cn_dataset_create(&ds, s, 0, px, lb, err), CN_ERR_ARG, err, "count 0", 0, "count");
	expect(cn_dataset_create(&ds, s, 4, NULL, lb, err), CN_ERR_ARG, err, "NULL", 0, "NULL");
	expect(cn_dataset_create(&ds, (struct cn_shape){1, 46341, 46341}, 2, px, lb, NULL),
	       CN_ERR_SHAPE, "", 0, 0, "NULL err buffer");
	assert_int_equal(cn_dataset_count(NULL), 0);
}

/* The real files, if `make data` has fetched them. */
static void test_real_mnist(void **state)
{
	(void)state;
	struct stat st;
	if (stat("data/mnist", &st) != 0) skip();
	struct cn_dataset *train = NULL, *test = NULL;
	char err[CN_ERR_LEN] = "";
	expect(cn_dataset_load_mnist_dir(&train, "data/mnist", 1, err), CN_OK, err, 0, 0, "train");
	expect(cn_dataset_load_mnist_dir(&test, "data/mnist", 0, err), CN_OK, err, 0, 0, "test");
	assert_int_equal(cn_dataset_count(train), 60000);
	assert_int_equal(cn_dataset_count(test), 10000);
	struct cn_shape s = cn_dataset_shape(train);
	assert_true(s.c == 1 && s.h == 28 && s.w == 28);
	assert_int_equal(cn_dataset_classes(train), 10);
	assert_int_equal(cn_dataset_classes(test), 10);
	/* the first training digit is a 5, the first test digit a 7 */
	assert_int_equal(cn_dataset_labels(train)[0], 5);
	assert_int_equal(cn_dataset_labels(test)[0], 7);
	float x[784];
	int32_t label;
	assert_int_equal(cn_dataset_gather(test, (int32_t[]){9999}, 1, x, &label), CN_OK);
	cn_dataset_free(train);
	cn_dataset_free(test);
}

/* Images long enough for the vector loop (3x37x29 bytes, every byte value): the same floats
   as a scalar (float)byte / 255.0f, bit for bit, whatever clone the CPU runs. */
static void test_gather_long_images(void **state)
{
	(void)state;
	enum { C = 3, H = 37, W = 29, B = C * H * W, COUNT = 3 };
	uint8_t *px = malloc((size_t)COUNT * B), lb[COUNT] = {0, 1, 2};
	float *x = malloc((size_t)COUNT * B * sizeof(float));
	assert_true(px && x);
	for (int i = 0; i < COUNT * B; i++) px[i] = (uint8_t)(i * 7 + i / 256);
	struct cn_dataset *ds = NULL;
	char err[CN_ERR_LEN] = "";
	expect(cn_dataset_create(&ds, (struct cn_shape){C, H, W}, COUNT, px, lb, err), CN_OK, err,
	       0, 0, "create");
	int32_t idx[COUNT] = {2, 0, 1};
	assert_int_equal(cn_dataset_gather(ds, idx, COUNT, x, NULL), CN_OK);
	for (int i = 0; i < COUNT; i++)
		for (int j = 0; j < B; j++) {
			float want = (float)px[idx[i] * B + j] / 255.0f;
			if (memcmp(&x[i * B + j], &want, sizeof want))
				fail_msg("image %d byte %d: %a, want %a", i, j,
				         (double)x[i * B + j], (double)want);
		}
	cn_dataset_free(ds);
	free(px);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_idx),
	    cmocka_unit_test(test_load_idx_bad),
	    cmocka_unit_test(test_mnist_dir),
	    cmocka_unit_test(test_mnist_dir_bad),
	    cmocka_unit_test(test_create_gather_truncate),
	    cmocka_unit_test(test_gather_long_images),
	    cmocka_unit_test(test_real_mnist),
	};
	return cmocka_run_group_tests_name("dataset", tests, setup, teardown);
}
