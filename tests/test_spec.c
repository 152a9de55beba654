/* Spec grammar: every form parses to the right descriptor; every malformed spec is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

static struct cn_layer_desc descs[CN_SPEC_MAX_LAYERS];

static int32_t parse_ok(const char *spec)
{
	char err[CN_ERR_LEN] = "";
	int32_t n = -1;
	enum cn_status st = cn_spec_parse(spec, descs, &n, err);
	if (st != CN_OK) print_error("'%s' refused: %s\n", spec, err);
	assert_int_equal(st, CN_OK);
	return n;
}

static void parse_bad(const char *spec, const char *needle)
{
	char err[CN_ERR_LEN] = "";
	int32_t n;
	enum cn_status st = cn_spec_parse(spec, descs, &n, err);
	if (st == CN_OK || !strstr(err, needle))
		print_error("'%.60s': status %d, message '%s' lacks '%s'\n", spec, st, err, needle);
	assert_int_not_equal(st, CN_OK);
	assert_non_null(strstr(err, needle));
}

static void tutorial_cnn(void **state)
{
	(void)state;
	int32_t n = parse_ok("conv 32 k3 p1 relu | maxpool 2 | conv 64 k3 p1 relu | maxpool 2 | "
	                     "linear 10");
	assert_int_equal(n, 5);
	assert_int_equal(descs[0].kind, CN_LAYER_CONV2D);
	assert_int_equal(descs[0].out, 32);
	assert_int_equal(descs[0].kh, 3);
	assert_int_equal(descs[0].kw, 3);
	assert_int_equal(descs[0].sh, 1);
	assert_int_equal(descs[0].ph, 1);
	assert_int_equal(descs[0].pw, 1);
	assert_true(descs[0].bias);
	assert_int_equal(descs[0].act, CN_ACT_RELU);
	assert_int_equal(descs[1].kind, CN_LAYER_MAXPOOL2D);
	assert_int_equal(descs[1].kh, 2);
	assert_int_equal(descs[1].sh, 2); /* pool stride defaults to its size */
	assert_int_equal(descs[1].ph, 0);
	assert_int_equal(descs[4].kind, CN_LAYER_LINEAR);
	assert_int_equal(descs[4].out, 10);
	assert_int_equal(descs[4].act, CN_ACT_IDENTITY);
}

static void every_form(void **state)
{
	(void)state;
	int32_t n =
	    parse_ok("  conv 6 k1x3 s2x1 sigmoid p0x1 nobias tanh ; maxpool k3 s2 | avgpool 2x3 p1 "
	             "| flatten | leaky=0.001 | linear 7 leaky | sigmoid | identity");
	assert_int_equal(n, 8);
	assert_int_equal(descs[0].kh, 1);
	assert_int_equal(descs[0].kw, 3);
	assert_int_equal(descs[0].sh, 2);
	assert_int_equal(descs[0].sw, 1);
	assert_int_equal(descs[0].ph, 0);
	assert_int_equal(descs[0].pw, 1);
	assert_false(descs[0].bias);
	assert_int_equal(descs[0].act, CN_ACT_TANH);
	assert_int_equal(descs[1].kh, 3);
	assert_int_equal(descs[1].sh, 2);
	assert_int_equal(descs[2].kind, CN_LAYER_AVGPOOL2D);
	assert_int_equal(descs[2].kh, 2);
	assert_int_equal(descs[2].kw, 3);
	assert_int_equal(descs[2].sw, 3);
	assert_int_equal(descs[2].ph, 1);
	assert_int_equal(descs[3].kind, CN_LAYER_FLATTEN);
	assert_int_equal(descs[4].kind, CN_LAYER_ACT);
	assert_int_equal(descs[4].act, CN_ACT_LEAKY_RELU);
	assert_float_equal(descs[4].slope, 0.001f, 1e-9);
	assert_int_equal(descs[5].act, CN_ACT_LEAKY_RELU);
	assert_float_equal(descs[5].slope, 0.01f, 1e-9);
	assert_int_equal(descs[6].act, CN_ACT_SIGMOID);
	assert_int_equal(descs[7].act, CN_ACT_IDENTITY);
}

/* The report layers: L^p pooling and radial basis units. */
static void lppool_and_rbf(void **state)
{
	(void)state;
	int32_t n =
	    parse_ok("lppool 3 s2 p=3.5 | lppool 2x3 p1 tanh | rbf 100 | rbf 7 imq sigmoid | "
	             "rbf 1 gaussian | maxpool 3 s2");
	assert_int_equal(n, 6);
	assert_int_equal(descs[0].kind, CN_LAYER_LPPOOL2D);
	assert_int_equal(descs[0].kh, 3);
	assert_int_equal(descs[0].sh, 2);
	assert_float_equal(descs[0].p, 3.5f, 1e-9);
	assert_int_equal(descs[1].kw, 3);
	assert_int_equal(descs[1].sw, 3); /* stride defaults to the kernel, as for every pool */
	assert_int_equal(descs[1].ph, 1); /* p1 is padding, p=X the exponent */
	assert_float_equal(descs[1].p, 2.0f, 1e-9);
	assert_int_equal(descs[1].act, CN_ACT_TANH);
	assert_int_equal(descs[2].kind, CN_LAYER_RBF);
	assert_int_equal(descs[2].out, 100);
	assert_int_equal(descs[2].rbf, CN_RBF_GAUSSIAN); /* the default kernel */
	assert_int_equal(descs[3].rbf, CN_RBF_IMQ);
	assert_int_equal(descs[3].act, CN_ACT_SIGMOID);
	assert_int_equal(descs[4].out, 1);
	assert_int_equal(descs[5].kind, CN_LAYER_MAXPOOL2D);
	assert_int_equal(descs[5].kh, 3);
	assert_int_equal(descs[5].sh, 2);
	parse_bad("lppool 2 p=0.5", "norm exponent");
	parse_bad("lppool 2 p=101", "norm exponent");
	parse_bad("lppool 2 p=", "norm exponent");
	parse_bad("lppool 2 p=nan", "norm exponent");
	parse_bad("lppool 2 p=2x", "norm exponent");
	parse_bad("lppool p=2", "missing pool size");
	parse_bad("maxpool 2 p=2", "unexpected argument 'p=2'");
	parse_bad("rbf", "missing output count");
	parse_bad("rbf 0", "output count");
	parse_bad("rbf 10 nobias", "unexpected argument 'nobias'");
	parse_bad("rbf 10 init=xavier", "unexpected argument 'init=xavier'");
	parse_bad("rbf 10 k3", "unexpected argument 'k3'");
	parse_bad("linear 10 imq", "unexpected argument 'imq'");
}

static void malformed(void **state)
{
	(void)state;
	parse_bad("conv 32 k3 | bogus 3", "unknown layer kind 'bogus'");
	parse_bad("conv 32 k3 | bogus 3", "layer 2");
	parse_bad("conv k3", "missing output count");
	parse_bad("conv 8", "missing kernel");
	parse_bad("conv -8 k3", "unexpected argument '-8'");
	parse_bad("conv 0 k3", "output count");
	parse_bad("conv 8 k0", "kernel");
	parse_bad("conv 8 kx", "unexpected argument 'kx'");
	parse_bad("conv 8 k3 sigmoidx", "unexpected argument 'sigmoidx'");
	parse_bad("conv 8 k3x", "kernel");
	parse_bad("conv 8 k3 s0", "stride");
	parse_bad("conv 8 k3 p-1", "unexpected argument 'p-1'");
	parse_bad("conv 8 k3 p99999", "padding");
	parse_bad("conv 99999999999 k3", "output count");
	parse_bad("maxpool", "missing pool size");
	parse_bad("maxpool 2 nobias", "unexpected argument 'nobias'");
	parse_bad("linear 10 k3", "unexpected argument 'k3'");
	parse_bad("linear 10 leaky=2", "unexpected argument");
	parse_bad("linear 10 leaky=nan", "unexpected argument");
	parse_bad("linear 10 |", "empty layer");
	parse_bad("", "empty layer");
	parse_bad("relu 3", "unexpected argument '3'");
}

static void too_big(void **state)
{
	(void)state;
	/* 10 000 layers: refused by count, not by running out of anything */
	size_t len = 10000 * 5 + 1;
	char *spec = malloc(len);
	assert_non_null(spec);
	char *end = spec;
	for (int i = 0; i < 10000; i++) end += sprintf(end, "%s", i ? "|relu" : "relu");
	parse_bad(spec, "more than 256 layers");
	/* a very long line */
	char *lng = malloc(CN_SPEC_MAX_LEN + 100);
	assert_non_null(lng);
	memset(lng, 'a', CN_SPEC_MAX_LEN + 99);
	lng[CN_SPEC_MAX_LEN + 99] = '\0';
	parse_bad(lng, "longer than");
	/* a long token */
	lng[200] = '\0';
	parse_bad(lng, "token too long");
	free(lng);
	free(spec);
	char err[CN_ERR_LEN];
	int32_t n;
	assert_int_equal(cn_spec_parse(NULL, descs, &n, err), CN_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tutorial_cnn),   cmocka_unit_test(every_form),
	    cmocka_unit_test(lppool_and_rbf), cmocka_unit_test(malformed),
	    cmocka_unit_test(too_big),
	};
	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
