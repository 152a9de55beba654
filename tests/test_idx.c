/*
 * The IDX reader against files written to a temporary folder: good 3- and 4-dimension files,
 * raw and gzip, and a table of broken ones (each must fail with the right status and a message
 * naming the problem), plus the reader's refusals: folders, FIFOs, oversized files, gzip bombs.
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

#include "idx.h"
#include "util.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/cn-test-idx-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(tmp);
	return 0;
}

static const char *at(const char *name)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/%s", tmp, name);
	return p;
}

static void write_gz(const char *path, const void *b, size_t n)
{
	gzFile g = gzopen(path, "wb");
	assert_non_null(g);
	if (n) assert_int_equal(gzwrite(g, b, (unsigned)n), (int)n);
	assert_int_equal(gzclose(g), Z_OK);
}

/* A header 00 00 type ndim + big-endian dims, then data_len bytes of a known pattern. */
static size_t make_idx(uint8_t *b, uint8_t type, int ndim, const uint32_t *dims, size_t data_len)
{
	b[0] = 0, b[1] = 0, b[2] = type, b[3] = (uint8_t)ndim;
	size_t o = 4;
	for (int i = 0; i < ndim; i++, o += 4)
		for (int k = 0; k < 4; k++) b[o + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
	for (size_t i = 0; i < data_len; i++) b[o + i] = (uint8_t)(i * 7 + 3);
	return o + data_len;
}

static void expect(enum cn_status got, enum cn_status want, const char *err, const char *a,
                   const char *b, const char *desc)
{
	if (got != want || (a && !strstr(err, a)) || (b && !strstr(err, b)))
		fail_msg("%s: status %d (want %d), message \"%s\" should mention \"%s\" and \"%s\"",
		         desc, got, want, err, a ? a : "", b ? b : "");
}

static void good_file(const char *name, int gz, int ndim, const uint32_t *dims, size_t n)
{
	uint8_t b[1024];
	size_t len = make_idx(b, CN_IDX_UBYTE, ndim, dims, n);
	if (gz)
		write_gz(at(name), b, len);
	else
		tu_write_file(at(name), b, len);
	uint8_t *buf = NULL;
	struct cn_idx x;
	char err[CN_ERR_LEN] = "";
	expect(cn_idx_load(at(name), CN_IDX_MAX_BYTES, &buf, &x, err), CN_OK, err, NULL, NULL,
	       name);
	assert_int_equal(x.ndim, ndim);
	for (int i = 0; i < ndim; i++) assert_int_equal(x.dims[i], dims[i]);
	assert_int_equal(x.header, 4 + 4 * (size_t)ndim);
	assert_int_equal(x.len, n);
	assert_ptr_equal(x.data, buf + x.header);
	assert_memory_equal(x.data, b + x.header, n);
	free(buf);
}

static void test_good(void **state)
{
	(void)state;
	good_file("three", 0, 3, (uint32_t[]){5, 4, 3}, 60);
	good_file("four", 0, 4, (uint32_t[]){2, 3, 4, 2}, 48);
	good_file("one", 0, 1, (uint32_t[]){7}, 7);
	good_file("three.gz", 1, 3, (uint32_t[]){5, 4, 3}, 60);
	good_file("gz-without-suffix", 1, 4, (uint32_t[]){2, 3, 4, 2}, 48);
}

/* Two gzip members back to back are one file to gzip(1); to us too. */
static void test_gzip_members(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t len = make_idx(b, CN_IDX_UBYTE, 1, (uint32_t[]){20}, 20);
	write_gz(at("m1"), b, 10);
	write_gz(at("m2"), b + 10, len - 10);
	FILE *f = fopen(at("both"), "wb");
	assert_non_null(f);
	for (int i = 0; i < 2; i++) {
		uint8_t part[256];
		FILE *g = fopen(at(i ? "m2" : "m1"), "rb");
		size_t n = fread(part, 1, sizeof(part), g);
		fclose(g);
		fwrite(part, 1, n, f);
	}
	fclose(f);
	uint8_t *buf;
	struct cn_idx x;
	char err[CN_ERR_LEN] = "";
	expect(cn_idx_load(at("both"), CN_IDX_MAX_BYTES, &buf, &x, err), CN_OK, err, 0, 0, "m");
	assert_int_equal(x.len, 20);
	assert_memory_equal(x.data, b + 8, 20);
	free(buf);
}

struct bad {
	const char *desc;
	uint8_t head[24]; /* the file's first bytes */
	size_t head_len;
	size_t data_len; /* pattern bytes appended */
	const char *want1, *want2;
};

#define DIM(v) (uint8_t)((v) >> 24), (uint8_t)((v) >> 16), (uint8_t)((v) >> 8), (uint8_t)(v)

static const struct bad bad_files[] = {
    {"empty file", {0}, 0, 0, "empty", NULL},
    {"3-byte header", {0, 0, 8}, 3, 0, "truncated", "3 bytes"},
    {"dims cut short", {0, 0, 8, 3, DIM(2), DIM(3)}, 12, 0, "truncated IDX header", "16"},
    {"wrong magic", {0x12, 0x34, 0x56, 0x78, DIM(1)}, 8, 1, "not an IDX file", "12 34 56 78"},
    {"float type", {0, 0, 0x0D, 1, DIM(4)}, 8, 16, "0x0d", "32-bit float"},
    {"int type", {0, 0, 0x0C, 1, DIM(4)}, 8, 16, "0x0c", "32-bit integer"},
    {"unknown type", {0, 0, 0x42, 1, DIM(4)}, 8, 4, "0x42", "unknown"},
    {"0 dimensions", {0, 0, 8, 0}, 4, 0, "0 dimensions", "1 to 4"},
    {"5 dimensions",
     {0, 0, 8, 5, DIM(1), DIM(1), DIM(1), DIM(1), DIM(1)},
     24,
     1,
     "5 dimensions",
     NULL},
    {"zero size", {0, 0, 8, 3, DIM(2), DIM(0), DIM(3)}, 16, 0, "dimension 1", "zero"},
    {"overflow 32",
     {0, 0, 8, 3, DIM(65536), DIM(65536), DIM(2)},
     16,
     10,
     "8589934592",
     "truncated"},
    {"overflow 64",
     {0, 0, 8, 3, DIM(0x7fffffff), DIM(0x7fffffff), DIM(0x7fffffff)},
     16,
     10,
     "overflows 64 bits",
     "2147483647x2147483647x2147483647"},
    {"dim > int32", {0, 0, 8, 1, DIM(0x80000000u)}, 8, 3, "2^31-1", "2147483648"},
    {"declared larger",
     {0, 0, 8, 3, DIM(2), DIM(3), DIM(4)},
     16,
     20,
     "2x3x4 = 24 data bytes but the file has 20 after its 16-byte header",
     "truncated"},
    {"declared smaller",
     {0, 0, 8, 3, DIM(2), DIM(3), DIM(4)},
     16,
     25,
     "24 data bytes but the file has 25",
     "trailing"},
    {"byte-swapped header",
     {3, 8, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0},
     16,
     24,
     "byte-swapped IDX header",
     "03 08 00 00"},
    {"byte-swapped sizes",
     {0, 0, 8, 2, 2, 0, 0, 0, 3, 0, 0, 0},
     12,
     6,
     "byte-swapped IDX sizes",
     "little-endian"},
    {"HTML page", "<!DOCTYPE html><html>", 21, 0, "text", "\"<!DOCTYPE html><html>\""},
    {"text", "Not Found\r\n", 11, 0, "text", "Not Found\\r\\n"},
};

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(bad_files); i++) {
		const struct bad *t = &bad_files[i];
		uint8_t b[128];
		memcpy(b, t->head, t->head_len);
		for (size_t k = 0; k < t->data_len; k++) b[t->head_len + k] = (uint8_t)k;
		size_t len = t->head_len + t->data_len;
		char name[32];
		snprintf(name, sizeof(name), "bad%zu", i);
		tu_write_file(at(name), b, len);
		for (int gz = 0; gz < 2; gz++) { /* the same content gzipped fails the same way */
			if (gz) write_gz(at(name), b, len);
			uint8_t *buf = (uint8_t *)1;
			struct cn_idx x;
			char err[CN_ERR_LEN] = "";
			enum cn_status st = cn_idx_load(at(name), CN_IDX_MAX_BYTES, &buf, &x, err);
			expect(st, CN_ERR_FORMAT, err, t->want1, t->want2, t->desc);
			expect(st, CN_ERR_FORMAT, err, name, NULL, t->desc); /* names the file */
			assert_null(buf);
			/* the pure parser agrees on the raw bytes */
			if (!gz) {
				st = cn_idx_parse(b, len, "x", &x, err);
				expect(st, CN_ERR_FORMAT, err, t->want1, t->want2, t->desc);
			}
		}
	}
}

/* A gzip file cut in half, with a flipped byte, and with junk after it. */
static void test_bad_gzip(void **state)
{
	(void)state;
	uint8_t b[4096 + 12];
	size_t len = make_idx(b, CN_IDX_UBYTE, 2, (uint32_t[]){64, 64}, 4096);
	write_gz(at("g"), b, len);
	uint8_t z[8192];
	FILE *f = fopen(at("g"), "rb");
	size_t zn = fread(z, 1, sizeof(z), f);
	fclose(f);
	assert_true(zn > 40 && zn < sizeof(z) - 8);
	struct {
		const char *name, *want;
		size_t len;
	} cases[] = {{"half.gz", "truncated gzip", zn / 2},
	             {"trailer-cut.gz", "truncated gzip", zn - 4},
	             {"flipped.gz", "corrupt gzip", zn},
	             {"junk.gz", "garbage", zn + 5}};
	for (size_t i = 0; i < LEN(cases); i++) {
		uint8_t c[8192];
		memcpy(c, z, zn);
		if (i == 2) c[zn - 6] ^= 0x55; /* inside the CRC-32: caught even if inflate isn't */
		if (i == 3) memcpy(c + zn, "junk!", 5);
		tu_write_file(at(cases[i].name), c, cases[i].len);
		uint8_t *buf = (uint8_t *)1;
		size_t n = 1;
		char err[CN_ERR_LEN] = "";
		enum cn_status st =
		    cn_idx_read_file(at(cases[i].name), CN_IDX_MAX_BYTES, &buf, &n, err);
		expect(st, CN_ERR_FORMAT, err, cases[i].want, cases[i].name, cases[i].name);
		assert_null(buf);
	}
	/* a flipped byte inside the deflate data */
	z[zn / 2] ^= 0xff;
	z[zn / 2 + 1] ^= 0xff;
	tu_write_file(at("mid.gz"), z, zn);
	uint8_t *buf;
	size_t n;
	char err[CN_ERR_LEN] = "";
	expect(cn_idx_read_file(at("mid.gz"), CN_IDX_MAX_BYTES, &buf, &n, err), CN_ERR_FORMAT, err,
	       "corrupt gzip", "mid.gz", "mid.gz");
}

/* Sizes past the cap are refused, raw by the file's size and gzip by what inflate produces. */
static void test_limits(void **state)
{
	(void)state;
	size_t n = (size_t)3 << 20;
	uint8_t *zeros = calloc(n, 1);
	assert_non_null(zeros);
	write_gz(at("bomb.gz"), zeros, n);
	tu_write_file(at("big"), zeros, n);
	free(zeros);
	uint8_t *buf;
	size_t len;
	char err[CN_ERR_LEN] = "";
	expect(cn_idx_read_file(at("bomb.gz"), (size_t)1 << 20, &buf, &len, err), CN_ERR_FORMAT,
	       err, "1048576-byte limit", "bomb.gz", "bomb");
	expect(cn_idx_read_file(at("big"), (size_t)1 << 20, &buf, &len, err), CN_ERR_FORMAT, err,
	       "3145728 bytes, more than the 1048576-byte limit", "big", "big");
	expect(cn_idx_read_file(at("bomb.gz"), CN_IDX_MAX_BYTES, &buf, &len, err), CN_OK, err, 0, 0,
	       "bomb under the cap");
	assert_int_equal(len, n);
	free(buf);
}

static void test_not_files(void **state)
{
	(void)state;
	uint8_t *buf = (uint8_t *)1;
	size_t len;
	char err[CN_ERR_LEN] = "";
	assert_int_equal(mkdir(at("adir"), 0700), 0);
	expect(cn_idx_read_file(at("adir"), CN_IDX_MAX_BYTES, &buf, &len, err), CN_ERR_IO, err,
	       "adir", "directory", "directory");
	assert_null(buf);
	/* nobody writes to this FIFO: the reader must refuse it, not wait */
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	expect(cn_idx_read_file(at("fifo"), CN_IDX_MAX_BYTES, &buf, &len, err), CN_ERR_IO, err,
	       "fifo", "FIFO", "fifo");
	expect(cn_idx_read_file(at("missing"), CN_IDX_MAX_BYTES, &buf, &len, err), CN_ERR_IO, err,
	       "missing", "No such file", "missing");
	expect(cn_idx_read_file(NULL, CN_IDX_MAX_BYTES, &buf, &len, err), CN_ERR_ARG, err, 0, 0,
	       "NULL path");
	write_gz(at("empty.gz"), "", 0);
	struct cn_idx x;
	expect(cn_idx_load(at("empty.gz"), CN_IDX_MAX_BYTES, &buf, &x, err), CN_ERR_FORMAT, err,
	       "empty", "empty.gz", "empty gzip");
}

/* The parser alone: gzip bytes are named, and long paths keep their file name. */
static void test_parse_only(void **state)
{
	(void)state;
	struct cn_idx x;
	char err[CN_ERR_LEN] = "";
	const uint8_t gz[] = {0x1f, 0x8b, 8, 0, 0, 0};
	expect(cn_idx_parse(gz, sizeof(gz), "f", &x, err), CN_ERR_FORMAT, err, "gzip", 0, "gz");
	char longp[600];
	memset(longp, 'd', sizeof(longp));
	memcpy(longp + 480, "/train-images-idx3-ubyte", 25);
	expect(cn_idx_parse(gz, 0, longp, &x, err), CN_ERR_FORMAT, err, "train-images-idx3-ubyte",
	       "empty", "long path");
	assert_true(strlen(err) < CN_ERR_LEN - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),       cmocka_unit_test(test_gzip_members),
	    cmocka_unit_test(test_bad_files),  cmocka_unit_test(test_bad_gzip),
	    cmocka_unit_test(test_limits),     cmocka_unit_test(test_not_files),
	    cmocka_unit_test(test_parse_only),
	};
	return cmocka_run_group_tests_name("idx", tests, setup, teardown);
}
