/*
 * Hostile bytes that earlier tests missed, each a regression: mid-epoch (kind 2) checkpoints
 * with every byte flipped, every truncation and every impossible position; a parameter count
 * computed on a dirty stack; input shapes whose element count overflows 64 bits (found by
 * fuzz_checkpoint). The tests/fuzz/ corpus replays the fuzzers' finds under the sanitizers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "colnet.h"
#include "geom.h"
#include "net.h"
#include "util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/cn-test-hostile-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static const char *at(const char *name)
{
	static char p[2][256];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static int teardown(void **state)
{
	(void)state;
	unlink(at("p.ck"));
	unlink(at("q.ck"));
	return rmdir(dir);
}

/* Kind-2 files: every flip and truncation refused; impossible positions refused both ways. */
static void kind2_files(void **state)
{
	(void)state;
	struct cn_net *net;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_net_create(&net, "linear 3", (struct cn_shape){1, 8, 8}, 3, err),
	                 CN_OK);
	float mom[4 * 64 * 3];
	memset(mom, 0, sizeof(mom));
	struct cn_checkpoint_train t = {
	    .epochs_done = 1,
	    .opts = cn_train_opts_default(),
	    .rng = {{1, 2, 3, 4}},
	    .optim_steps = 9,
	    .optim_state_len = cn_net_param_count(net),
	    .optim_state = mom,
	    .pos = {.step = 3,
	            .count = 240,
	            .seen = 64,
	            .skipped = 1,
	            .loss_sum = 77.5,
	            .right = 50,
	            .seconds = 0.25},
	};
	t.opts.optim.kind = CN_OPTIM_MOMENTUM;
	t.opts.batch = 32;
	assert_int_equal(cn_checkpoint_write(at("p.ck"), net, &t, err), CN_OK);
	struct cn_net *back;
	struct cn_checkpoint_train u;
	assert_int_equal(cn_checkpoint_read(at("p.ck"), &back, &u, err), CN_OK);
	assert_memory_equal(&u.pos, &t.pos, sizeof(t.pos));
	free(u.optim_state);
	cn_net_free(back);
	size_t len;
	uint8_t *file = tu_read_file(at("p.ck"), &len), *b = tu_alloc(len);
	int tried = 0;
	for (size_t i = 0; i < len; i++, tried++) {
		memcpy(b, file, len);
		b[i] ^= 0x5a;
		assert_int_equal(cn_checkpoint_parse(b, len, "p", &back, &u, err), CN_ERR_FORMAT);
		assert_null(back);
	}
	for (size_t n = 0; n < len; n++, tried++)
		assert_int_equal(cn_checkpoint_parse(file, n, "p", &back, &u, err), CN_ERR_FORMAT);
	/* positions the writer refuses (and so the reader would) */
	const struct cn_train_pos bad[] = {
	    {.step = 8, .count = 240},             /* the epoch is finished */
	    {.step = 3, .count = 240, .seen = 97}, /* more images than 3 batches of 32 */
	    {.step = 3, .count = 240, .skipped = 4},
	    {.step = 3, .count = 0},
	    {.step = -1, .count = 240},
	    {.step = 3, .count = 240, .seen = 9, .right = 10},
	    {.step = 3, .count = 240, .loss_sum = NAN},
	    {.step = 3, .count = 240, .seconds = -1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++, tried++) {
		t.pos = bad[i];
		assert_int_equal(cn_checkpoint_write(at("p.ck"), net, &t, err), CN_ERR_ARG);
		assert_false(cn_train_pos_ok(&bad[i], t.opts.batch));
	}
	/* an all-zero generator, which the reader refuses, is not written either */
	t.pos = (struct cn_train_pos){.step = 3, .count = 240};
	t.rng = (struct cn_rng){{0, 0, 0, 0}};
	assert_int_equal(cn_checkpoint_write(at("p.ck"), net, &t, err), CN_ERR_ARG);
	tried++;
	/* and the reader names the problem when a writer elsewhere got it wrong */
	uint8_t *p = file + len - 4 - 40; /* the position section: step is its first field */
	p[0] = 8;
	uint32_t crc = cn_bytes_crc32(0, file, len - 4);
	for (int i = 0; i < 4; i++) file[len - 4 + i] = (uint8_t)(crc >> 8 * i);
	tu_write_file(at("q.ck"), file, len);
	assert_int_equal(cn_checkpoint_read(at("q.ck"), &back, &u, err), CN_ERR_FORMAT);
	assert_non_null(strstr(err, "stopped epoch's position is impossible (batch 8 of 240"));
	print_message("%d broken mid-epoch checkpoints refused\n", tried + 1);
	free(file);
	free(b);
	cn_net_free(net);
}

/* Leave 0xff bytes in the stack below this frame, where the next call's locals will live. */
__attribute__((noinline)) static void dirty_stack(void)
{
	volatile unsigned char junk[1 << 17];
	for (size_t i = 0; i < sizeof(junk); i++) junk[i] = 0xff;
}

/*
 * Regression: the checkpoint reader's parameter count (cn_net_count_params) built its layers
 * in an uninitialized stack array, and pool, activation and flatten layers never set their
 * parameter counts, so a valid checkpoint of any net with a pool was refused ("spec has
 * 34359738677 parameters") whenever the stack held old data. Found by test_faults' resume.
 */
static void count_params_on_a_dirty_stack(void **state)
{
	(void)state;
	size_t n = 0;
	char err[CN_ERR_LEN];
	dirty_stack();
	assert_int_equal(cn_net_count_params("conv 2 k3 | maxpool 2 | relu | flatten | linear 3",
	                                     (struct cn_shape){1, 8, 8}, &n, err),
	                 CN_OK);
	assert_int_equal(n, 2 * 9 + 2 + 18 * 3 + 3);
}

/*
 * Regressions found by fuzz_checkpoint: a stored input shape whose H*W*C overflows 64 bits.
 * cn_geom_init multiplied three int32s in int64 (UBSan: signed overflow), and the net's
 * element counts wrapped in size_t, so 4194304x2097152x2097152 counted as 0 inputs and a
 * "linear 3" on it was built, loaded and planned with a zero-sized input.
 */
static void huge_shapes_refused(void **state)
{
	(void)state;
	struct cn_geom g;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_geom_init(&g, 100000, 2019140, 1634533377, 2, 2, 2, 2, 0, 0, err),
	                 CN_ERR_SHAPE);
	assert_non_null(strstr(err, "over 2^31 elements"));
	assert_int_equal(cn_geom_init(&g, 8, 8, 1, 1 << 30, 1 << 30, 1, 1, 0, 0, err),
	                 CN_ERR_SHAPE);
	const struct cn_shape wrap = {4194304, 2097152, 2097152}; /* c*h*w = 2^64 */
	static const char *const specs[] = {"linear 3", "maxpool 2", "relu | linear 2",
	                                    "conv 1 k1"};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		size_t n = 0;
		struct cn_net *net = (struct cn_net *)1;
		assert_int_equal(cn_net_count_params(specs[i], wrap, &n, err), CN_ERR_SHAPE);
		assert_int_equal(cn_net_create(&net, specs[i], wrap, 1, err), CN_ERR_SHAPE);
		assert_null(net);
		assert_non_null(strstr(err, "2097152x2097152x4194304 (HxWxC)"));
	}
}

/* A save never renames over a FIFO (or, as root, a device: its node would become a file). */
static void save_never_replaces_a_special_file(void **state)
{
	(void)state;
	struct cn_net *net;
	char err[CN_ERR_LEN];
	assert_int_equal(cn_net_create(&net, "linear 3", (struct cn_shape){1, 2, 2}, 3, err),
	                 CN_OK);
	assert_int_equal(mkfifo(at("fifo.ck"), 0600), 0);
	assert_int_equal(cn_net_save(net, at("fifo.ck"), err), CN_ERR_IO);
	assert_non_null(strstr(err, "cannot replace: not a regular file"));
	struct stat s;
	assert_int_equal(stat(at("fifo.ck"), &s), 0);
	assert_true(S_ISFIFO(s.st_mode));
	unlink(at("fifo.ck"));
	cn_net_free(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kind2_files),
	    cmocka_unit_test(count_params_on_a_dirty_stack),
	    cmocka_unit_test(huge_shapes_refused),
	    cmocka_unit_test(save_never_replaces_a_special_file),
	};
	return cmocka_run_group_tests_name("hostile", tests, setup, teardown);
}
