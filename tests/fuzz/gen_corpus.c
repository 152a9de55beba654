/*
 * Writes the fuzzers' seed corpora (tests/fuzz/corpus/<harness>/, committed): small valid
 * inputs of every form each reader accepts, plus a few near misses, so the fuzzers start
 * inside the formats. `make fuzz-corpus` rebuilds them; the files are deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checkpoint.h"
#include "colnet.h"
#include "train.h"

static const char *root;

static void put(const char *sub, const char *name, const void *b, size_t n)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s/%s", root, sub, name);
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "gen_corpus: cannot write %s\n", p);
		exit(1);
	}
}

/* gzip (not zlib) framing, fixed header: deterministic bytes */
static size_t gz(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) exit(1);
	deflateEnd(&z);
	return z.total_out;
}

static size_t idx(uint8_t *b, int ndim, const uint32_t *dims)
{
	size_t n = 4, data = 1;
	b[0] = b[1] = 0, b[2] = 8, b[3] = (uint8_t)ndim;
	for (int i = 0; i < ndim; i++, n += 4) {
		for (int k = 0; k < 4; k++) b[n + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
		data *= dims[i];
	}
	for (size_t i = 0; i < data; i++) b[n + i] = (uint8_t)(i * 37 % 10);
	return n + data;
}

static void idx_seeds(void)
{
	static const uint32_t d1[] = {6}, d3[] = {2, 3, 3}, d4[] = {2, 2, 2, 3}, d2[] = {4, 4};
	const struct {
		const char *name;
		int ndim;
		const uint32_t *dims;
	} f[] = {{"labels", 1, d1}, {"images3", 3, d3}, {"images4", 4, d4}, {"matrix", 2, d2}};
	uint8_t b[256], z[512];
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		size_t n = idx(b, f[i].ndim, f[i].dims);
		char name[32];
		put("idx", f[i].name, b, n);
		snprintf(name, sizeof(name), "%s.gz", f[i].name);
		put("idx", name, z, gz(b, n, z, sizeof(z)));
	}
	size_t n = idx(b, 3, d3);
	put("idx", "truncated", b, n - 3);
	uint8_t swapped[] = {3, 8, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 9};
	put("idx", "swapped", swapped, sizeof(swapped));
	put("idx", "html", "<!DOCTYPE html><html>404", 24);
	uint8_t two[600]; /* two gzip members back to back */
	size_t a = gz(b, n, two, sizeof(two));
	put("idx", "two-members.gz", two, a + gz(b, n, two + a, sizeof(two) - a));
}

/* A checkpoint written by the library, minus its CRC (the harness appends the right one). */
static void ckpt_seed(const char *name, const char *path)
{
	FILE *f = fopen(path, "rb");
	static uint8_t b[1 << 16];
	size_t n = f ? fread(b, 1, sizeof(b), f) : 0;
	if (f) fclose(f);
	if (n < 16 || n == sizeof(b)) exit(1);
	put("checkpoint", name, b, n - 4);
	remove(path);
}

static void checkpoint_seeds(void)
{
	char tmp[512], err[CN_ERR_LEN];
	snprintf(tmp, sizeof(tmp), "%s/checkpoint/.seed.ck", root);
	struct cn_net *net;
	struct cn_shape in = {1, 6, 6};
	if (cn_net_create(&net, "linear 3", in, 1, err) || cn_net_save(net, tmp, err)) exit(1);
	ckpt_seed("model-linear", tmp);
	const char *names[] = {"cat", "dog", "eel"};
	if (cn_net_set_class_names(net, names, 3) || cn_net_save(net, tmp, err)) exit(1);
	ckpt_seed("model-names", tmp);
	cn_net_free(net);
	/* version 3: dropout's generator and batchnorm's running statistics, with names */
	const char *norm = "conv 2 k3 p1 nobias | batchnorm relu | dropout 0.3 | linear 3";
	if (cn_net_create(&net, norm, in, 1, err) || cn_net_set_class_names(net, names, 3) ||
	    cn_net_save(net, tmp, err))
		exit(1);
	ckpt_seed("model-state", tmp);
	cn_net_free(net);
	const char *spec = "conv 2 k3 p1 relu | maxpool 2 | avgpool 1 | flatten | linear 3 tanh";
	static const enum cn_optim_kind kinds[] = {CN_OPTIM_SGD, CN_OPTIM_MOMENTUM, CN_OPTIM_ADAM};
	for (int k = 0; k < 3; k++) {
		struct cn_trainer *t;
		struct cn_train_opts o = cn_train_opts_default();
		o.optim.kind = kinds[k];
		o.batch = 4;
		o.sched = (struct cn_sched){.kind = (enum cn_sched_kind)k,
		                            .lr = 0.01f,
		                            .step_epochs = 1,
		                            .gamma = 0.5f,
		                            .epochs = 10};
		if (cn_net_create(&net, spec, in, 2, err) || cn_trainer_create(&t, net, &o, err))
			exit(1);
		t->epochs_done = 1;
		t->rng_epoch = t->rng;
		if (k == 2) /* a stopped epoch: kind 2 */
			t->pos = (struct cn_train_pos){.step = 2,
			                               .count = 10,
			                               .seen = 8,
			                               .loss_sum = 9.5,
			                               .right = 3,
			                               .seconds = 0.5};
		if (cn_trainer_save(t, tmp, err)) {
			fprintf(stderr, "%s\n", err);
			exit(1);
		}
		char name[32];
		snprintf(name, sizeof(name), "train-%d", k);
		ckpt_seed(name, tmp);
		cn_trainer_free(t);
		cn_net_free(net);
	}
}

static void spec_seeds(void)
{
	for (int i = 0; cn_zoo_name(i); i++)
		put("spec", cn_zoo_name(i), cn_zoo_spec(cn_zoo_name(i)),
		    strlen(cn_zoo_spec(cn_zoo_name(i))));
	static const char *const lines[] = {
	    "conv 6 k1x3 s2x1 sigmoid p0x1 nobias tanh ; maxpool k3 s2 | avgpool 2x3 p1 | flatten "
	    "| leaky=0.001 | linear 7 leaky | sigmoid | identity",
	    "conv 3 k3 p1 init=he relu | linear 5 init=xavier-normal nobias",
	    "maxpool 2 p1 | conv 2 k2 s2 | relu | avgpool 3 s1 p1 | linear 4",
	    "conv 8 k5",
	    "linear 1",
	    "conv 4 k3 sigmoid | maxpool 3 s2 | lppool 2x3 s1 p1 p=3.5 tanh | rbf 7 imq | rbf 3",
	    "conv 3 k3 nobias | batchnorm leaky=0.2 | dropout .25 | linear 4 | batchnorm | dropout",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char name[16];
		snprintf(name, sizeof(name), "line-%zu", i);
		put("spec", name, lines[i], strlen(lines[i]));
	}
}

int main(int argc, char **argv)
{
	root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	idx_seeds();
	checkpoint_seeds();
	spec_seeds();
	return 0;
}
