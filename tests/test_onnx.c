/*
 * ONNX export and import inside colnet (libcolnet-onnx.a): every zoo model and a table of
 * specs that walk each export path (flatten before linear, before anything else, at the
 * end; a conv after a linear layer; non-square windows, padding, leaky relu, lppool, both rbf
 * kinds, standalone activations, 3-channel input) is exported and imported back: the same
 * spec-level network, the same parameters and statistics, and the same outputs bit for bit.
 * Then what must be refused, and truncated or damaged files, which must fail cleanly.
 * (tests/onnx.sh holds the files against ONNX Runtime and PyTorch.)
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "colnet.h"
#include "colnet_onnx.h"
#include "ops/ops.h" /* CN_BN_EPS */
#include "util.h"

/* a network for spec with random parameters and batch norm statistics that matter */
static struct cn_net *make_net(const char *spec, struct cn_shape in, uint64_t seed)
{
	char err[CN_ERR_LEN];
	struct cn_net *net = NULL;
	if (cn_net_create(&net, spec, in, seed, err)) fail_msg("%s: %s", spec, err);
	struct tu_rng r = tu_rng_make(seed);
	float *p = cn_net_params(net), *s = cn_net_state(net);
	for (size_t i = 0; i < cn_net_param_count(net); i++) p[i] += tu_uniform(&r, -0.05f, 0.05f);
	for (int32_t i = 0, at = 0; i < cn_net_layer_count(net); i++) {
		char d[160];
		cn_net_layer_describe(net, i, d, sizeof(d));
		if (strncmp(d, "batchnorm", 9) != 0) continue;
		struct cn_shape sh;
		cn_net_layer_output(net, i, NULL, &sh, NULL);
		int32_t c = sh.c;
		for (int32_t j = 0; j < c; j++) {
			s[at + j] = tu_uniform(&r, -0.5f, 0.5f);     /* mean */
			s[at + c + j] = tu_uniform(&r, 0.25f, 2.0f); /* variance */
		}
		at += 2 * c;
	}
	return net;
}

/* net's outputs on n seeded images (owned copy) */
static float *outputs(struct cn_net *net, int32_t n, uint64_t seed)
{
	struct cn_shape s = cn_net_input_shape(net);
	size_t len = (size_t)n * s.c * s.h * s.w;
	float *x = tu_floats(len);
	struct tu_rng r = tu_rng_make(seed);
	tu_fill_uniform(&r, x, len, 0.0f, 1.0f);
	const float *y;
	assert_int_equal(cn_net_plan(net, n, CN_PLAN_INFER), CN_OK);
	assert_int_equal(cn_net_forward(net, x, n, &y), CN_OK);
	free(x);
	return tu_copy(y, (size_t)n * cn_net_output_len(net));
}

static void round_trip(const char *spec, struct cn_shape in)
{
	char err[CN_ERR_LEN];
	struct cn_net *a = make_net(spec, in, 11), *b = NULL;
	void *buf;
	size_t len;
	if (cn_onnx_encode(a, &buf, &len, err)) fail_msg("%s: export: %s", spec, err);
	if (cn_onnx_load_mem(&b, buf, len, "round trip", err))
		fail_msg("%s: import: %s", spec, err);
	free(buf);
	assert_int_equal(cn_net_param_count(a), cn_net_param_count(b));
	assert_int_equal(cn_net_state_count(a), cn_net_state_count(b));
	assert_int_equal(cn_net_output_len(a), cn_net_output_len(b));
	/* dropout leaves no trace in inference form: compare outputs, then the parameters */
	assert_memory_equal(cn_net_params(a), cn_net_params(b),
	                    cn_net_param_count(a) * sizeof(float));
	if (cn_net_state_count(a))
		assert_memory_equal(cn_net_state(a), cn_net_state(b),
		                    cn_net_state_count(a) * sizeof(float));
	float *ya = outputs(a, 5, 3), *yb = outputs(b, 5, 3);
	if (memcmp(ya, yb, 5 * (size_t)cn_net_output_len(a) * sizeof(float)) != 0)
		fail_msg("%s: outputs differ after export and import (imported as '%s')", spec,
		         cn_net_spec(b));
	free(ya);
	free(yb);
	cn_net_free(a);
	cn_net_free(b);
}

static void test_zoo_round_trip(void **state)
{
	(void)state;
	for (int i = 0; cn_zoo_name(i); i++)
		round_trip(cn_zoo_spec(cn_zoo_name(i)), (struct cn_shape){1, 28, 28});
}

static const struct {
	const char *what, *spec;
	struct cn_shape in;
} paths[] = {
    {"flatten before linear, 3 channels", "conv 5 k3 relu | maxpool 2 | linear 7", {3, 9, 8}},
    {"explicit flatten, then linear (as imports have)",
     "conv 3 k3 | flatten | linear 4",
     {2, 6, 6}},
    {"explicit flatten, then batchnorm",
     "conv 4 k3 | flatten | batchnorm tanh | linear 3",
     {2, 6, 6}},
    {"ends in a conv (transposed output)",
     "conv 3 k2x3 s2x1 p1x2 leaky=0.2 | conv 2 k1",
     {2, 7, 5}},
    {"conv after linear", "linear 12 relu | conv 3 k1 sigmoid | linear 2", {1, 4, 4}},
    {"pool padding, non-square",
     "conv 4 k3 p1 | maxpool 3x2 s2x1 p1 | avgpool 2 p1 | linear 3",
     {1, 9, 7}},
    {"lppool p=3 and p=1", "conv 3 k3 | lppool 2 p=3 | lppool 2 s1 p=1 | linear 4", {1, 10, 10}},
    {"rbf imq after a conv", "conv 3 k3 sigmoid | rbf 6 imq relu | linear 2", {1, 6, 6}},
    {"standalone activations, dropout with act",
     "conv 2 k3 | tanh | dropout 0.2 relu | linear 3 | sigmoid",
     {1, 5, 5}},
    {"batchnorm after linear, nobias",
     "linear 8 nobias | batchnorm relu | linear 4 nobias",
     {1, 3, 3}},
};

static void test_export_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		print_message("  %s: %s\n", paths[i].what, paths[i].spec);
		round_trip(paths[i].spec, paths[i].in);
	}
}

static void test_refused_export(void **state)
{
	(void)state;
	char err[CN_ERR_LEN];
	struct cn_net *net =
	    make_net("conv 2 k3 | lppool 2 p=2.5 | linear 3", (struct cn_shape){1, 8, 8}, 1);
	void *buf = NULL;
	size_t len;
	assert_int_equal(cn_onnx_encode(net, &buf, &len, err), CN_ERR_ARG);
	assert_null(buf);
	assert_non_null(strstr(err, "layer 1 (lppool p=2.5)"));
	assert_int_equal(cn_onnx_save(net, "", err), CN_ERR_ARG);
	cn_net_free(net);
}

static void test_file(void **state)
{
	(void)state;
	char err[CN_ERR_LEN], dir[] = "/tmp/test_onnx.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.onnx", dir);
	struct cn_net *a = make_net(cn_zoo_spec("lenet5"), (struct cn_shape){1, 28, 28}, 2), *b;
	mode_t mask = umask(022);
	assert_int_equal(cn_onnx_save(a, path, err), CN_OK);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644); /* 0666 - umask, like any new file */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(cn_onnx_save(a, path, err), CN_OK); /* replacing keeps the mode */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	umask(mask);
	assert_int_equal(cn_onnx_load(&b, path, err), CN_OK);
	assert_memory_equal(cn_net_params(a), cn_net_params(b), cn_net_param_count(a) * 4);
	cn_net_free(b);
	assert_int_equal(cn_onnx_save(a, dir, err), CN_ERR_IO); /* a folder is never replaced */
	assert_int_equal(cn_onnx_load(&b, dir, err), CN_ERR_IO);
	assert_null(b);
	snprintf(path, sizeof(path), "%s/none.onnx", dir);
	assert_int_equal(cn_onnx_load(&b, path, err), CN_ERR_IO);
	cn_net_free(a);
	tu_rm_rf(dir);
}

/* An ONNX batch norm whose epsilon is below colnet's, over a channel of variance 0 (a dead
   channel): var + eps - CN_BN_EPS < 0 cannot be colnet's variance. The import keeps the
   variance at 0 and scales gamma instead: the outputs are ONNX's, and the network saves as a
   checkpoint and exports again (the fuzzer found an import whose export did not load). */
static void test_small_epsilon(void **state)
{
	(void)state;
	char err[CN_ERR_LEN], dir[] = "/tmp/test_onnx_eps.XXXXXX", path[80];
	const float small = 1e-7f;
	struct cn_net *a = make_net("conv 2 k3 | batchnorm relu | linear 3",
	                            (struct cn_shape){1, 5, 5}, 4),
	              *b = NULL, *c = NULL;
	float *s = cn_net_state(a); /* mean[2], variance[2] */
	s[2] = 0.0f;
	uint8_t *buf;
	size_t len, at = 0, hits = 0;
	assert_int_equal(cn_onnx_encode(a, (void **)&buf, &len, err), CN_OK);
	const float eps = CN_BN_EPS; /* the exporter's epsilon attribute, rewritten to small */
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(buf + i, &eps, 4) == 0) at = i, hits++;
	assert_int_equal(hits, 1);
	memcpy(buf + at, &small, 4);
	if (cn_onnx_load_mem(&b, buf, len, "small epsilon", err)) fail_msg("import: %s", err);
	const float *sb = cn_net_state(b);
	assert_true(sb[2] == 0.0f && sb[3] >= 0.0f);
	/* the ONNX model's own arithmetic: a's variance v with v + CN_BN_EPS = var + small */
	s[2] = small - CN_BN_EPS;
	s[3] = s[3] + small - CN_BN_EPS;
	float *ya = outputs(a, 4, 8), *yb = outputs(b, 4, 8);
	for (int32_t i = 0; i < 4 * cn_net_output_len(a); i++)
		if (fabsf(ya[i] - yb[i]) > 1e-5f * (1.0f + fabsf(ya[i])))
			fail_msg("output %d: %g imported, %g by ONNX's formula", i, (double)yb[i],
			         (double)ya[i]);
	free(buf);
	assert_int_equal(cn_onnx_encode(b, (void **)&buf, &len, err), CN_OK);
	if (cn_onnx_load_mem(&c, buf, len, "again", err)) fail_msg("export again: %s", err);
	assert_memory_equal(cn_net_params(b), cn_net_params(c), cn_net_param_count(b) * 4);
	cn_net_free(c);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.ckpt", dir);
	assert_int_equal(cn_net_save(b, path, err), CN_OK);
	if (cn_net_load(&c, path, err)) fail_msg("checkpoint: %s", err);
	assert_memory_equal(cn_net_state(b), cn_net_state(c), cn_net_state_count(b) * 4);
	tu_rm_rf(dir);
	free(ya);
	free(yb);
	free(buf);
	cn_net_free(a);
	cn_net_free(b);
	cn_net_free(c);
}

/* every prefix and many single-byte changes of a small model: OK or a clean refusal */
static void test_damaged(void **state)
{
	(void)state;
	char err[CN_ERR_LEN];
	struct cn_net *a = make_net("conv 2 k3 p1 relu | avgpool 2 | batchnorm | rbf 3 | linear 2",
	                            (struct cn_shape){1, 6, 6}, 5),
	              *b;
	uint8_t *buf;
	size_t len;
	assert_int_equal(cn_onnx_encode(a, (void **)&buf, &len, err), CN_OK);
	int ok = 0, refused = 0;
	for (size_t n = 0; n < len; n++) {
		enum cn_status st = cn_onnx_load_mem(&b, buf, n, "prefix", err);
		assert_true(st == CN_OK || st == CN_ERR_FORMAT);
		if (st) assert_null(b);
		st ? refused++ : ok++;
		cn_net_free(b);
	}
	struct tu_rng r = tu_rng_make(9);
	uint8_t *copy = tu_alloc(len);
	for (int k = 0; k < 4000; k++) {
		memcpy(copy, buf, len);
		for (int j = tu_int(&r, 1, 3); j > 0; j--)
			copy[tu_int(&r, 0, (int)len - 1)] = (uint8_t)tu_int(&r, 0, 255);
		enum cn_status st = cn_onnx_load_mem(&b, copy, len, "damaged", err);
		assert_true(st == CN_OK || st == CN_ERR_FORMAT);
		st ? refused++ : ok++;
		cn_net_free(b);
	}
	print_message(
	    "  %zu prefixes and 4000 damaged copies of %zu bytes: %d loaded, %d refused\n", len,
	    len, ok, refused);
	assert_true(refused > (int)len / 2);
	free(copy);
	free(buf);
	cn_net_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zoo_round_trip), cmocka_unit_test(test_export_paths),
	    cmocka_unit_test(test_refused_export), cmocka_unit_test(test_file),
	    cmocka_unit_test(test_small_epsilon),  cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests_name("onnx", tests, NULL, NULL);
}
