/*
 * Embedding colnet: load a checkpoint once, then classify any number of digits from binary PGM
 * files without a single allocation per image. Files are read with open/read into a buffer
 * sized for the model at load time (stdio's fopen would allocate its FILE), pixels go straight
 * into the network's planned input buffer, and the forward pass only does arithmetic.
 *
 *   cc classify.c $(pkg-config --cflags colnet) $(pkg-config --static --libs colnet)
 *   ./classify model.ckpt digit.pgm ...      prints "digit.pgm: 7 (p = 0.998)" per file
 *
 * Built with -DEMBED_COUNT_ALLOCS and -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc it counts
 * the allocations colnet and this file make after loading, and fails unless there are none.
 */
#define _POSIX_C_SOURCE 200809L /* open, read */

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <colnet.h>

#ifdef EMBED_COUNT_ALLOCS
static long allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
	allocs++;
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size)
{
	allocs++;
	return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n)
{
	allocs++;
	return __real_realloc(p, n);
}
#else
static const long allocs = 0;
#endif

/* Next header number of a PGM at *p (blanks and # comments skipped), or -1. */
static long pgm_int(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *q = *p;
	while (q < end && (isspace(*q) || *q == '#')) {
		if (*q == '#')
			while (q < end && *q != '\n') q++;
		else
			q++;
	}
	long v = -1;
	for (; q < end && isdigit(*q) && v < 100000; q++) v = (v < 0 ? 0 : 10 * v) + (*q - '0');
	*p = q;
	return v;
}

/* An 8-bit binary PGM of exactly the model's size into x [H, W] as values in [0, 1]. */
static int read_pgm(const char *path, unsigned char *buf, size_t cap, struct cn_shape s, float *x)
{
	int fd = open(path, O_RDONLY);
	ssize_t got = fd < 0 ? -1 : read(fd, buf, cap);
	if (fd >= 0) close(fd);
	if (got < 3 || buf[0] != 'P' || buf[1] != '5')
		return fprintf(stderr, "%s: not a binary PGM\n", path), 1;
	const unsigned char *p = buf + 2, *end = buf + got;
	long w = pgm_int(&p, end), h = pgm_int(&p, end), maxval = pgm_int(&p, end);
	if (w != s.w || h != s.h || maxval != 255 || end - p - 1 < (ptrdiff_t)(w * h))
		return fprintf(stderr, "%s: need an 8-bit %dx%d PGM\n", path, s.w, s.h), 1;
	for (long i = 0; i < w * h; i++) x[i] = p[1 + i] / 255.0f;
	return 0;
}

int main(int argc, char **argv)
{
	struct cn_net *net = NULL;
	char err[CN_ERR_LEN];
	if (argc < 3) return fprintf(stderr, "usage: classify model.ckpt digit.pgm ...\n"), 2;
	if (cn_net_load(&net, argv[1], err)) return fprintf(stderr, "%s\n", err), 1;
	struct cn_shape s = cn_net_input_shape(net);
	if (s.c != 1 || cn_net_plan(net, 1, CN_PLAN_INFER)) {
		fprintf(stderr, "%s: need a one-channel model (%s)\n", argv[1], cn_net_error(net));
		cn_net_free(net);
		return 1;
	}
	/* everything per image lives here, sized once: the header, the pixels, a margin */
	size_t cap = 64 + (size_t)s.h * s.w;
	unsigned char *buf = malloc(cap);
	float *x = cn_net_input(net); /* [1, H, W, 1]: forward then copies nothing */
	float *probs = malloc((size_t)cn_net_output_len(net) * sizeof(float));
	int32_t failed = 0;
	long before = allocs;
	for (int f = 2; f < argc && buf && probs; f++) {
		int32_t best;
		if (read_pgm(argv[f], buf, cap, s, x) || cn_net_predict(net, x, 1, probs, &best)) {
			failed++;
			continue;
		}
		printf("%s: %d (p = %.3f)\n", argv[f], best, probs[best]);
	}
	long during = allocs - before;
#ifdef EMBED_COUNT_ALLOCS
	printf("allocations after loading: %ld\n", during);
#endif
	free(buf);
	free(probs);
	cn_net_free(net);
	return failed || during || !buf || !probs ? 1 : 0;
}
