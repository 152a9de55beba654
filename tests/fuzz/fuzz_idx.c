/*
 * libFuzzer harness for the IDX reader: every input through the pure parser, and inputs that
 * start with the gzip magic also through the file reader (from a memfd, so no disk), which
 * inflates them under a 4 MiB cap first. Anything but a clean status is a bug.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "idx.h"

static int fd = -1;
static volatile uint8_t sink;
static char path[64];

static void check(enum cn_status st, const struct cn_idx *x, size_t len)
{
	if (st == CN_OK) {
		/* what the parser vouches for must hold */
		size_t want = 1;
		for (int i = 0; i < x->ndim; i++) want *= (size_t)x->dims[i];
		if (x->ndim < 1 || x->ndim > CN_IDX_MAX_DIMS || want != x->len ||
		    x->header + x->len != len)
			abort();
	} else if (st != CN_ERR_FORMAT && st != CN_ERR_IO && st != CN_ERR_NOMEM) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cn_idx x;
	char err[CN_ERR_LEN];
	enum cn_status st = cn_idx_parse(data, size, "fuzz", &x, err);
	check(st, &x, size);
	if (st == CN_OK) { /* touch every byte it points at (ASan checks each) */
		uint8_t sum = 0;
		for (size_t i = 0; i < x.len; i++) sum += x.data[i];
		sink = sum;
	}
	if (size < 2 || data[0] != 0x1f || data[1] != 0x8b) return 0;
	if (fd < 0) {
		fd = memfd_create("fuzz_idx", 0);
		if (fd < 0) abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
	uint8_t *buf = NULL;
	size_t len = 0;
	st = cn_idx_read_file(path, (size_t)4 << 20, &buf, &len, err);
	if (st == CN_OK) {
		st = cn_idx_parse(buf, len, path, &x, err);
		check(st, &x, len);
		free(buf);
	} else if (buf) {
		abort(); /* a failed read hands back nothing */
	}
	return 0;
}
