/*
 * One model, two serving threads: the checkpoint is loaded once, and each thread classifies
 * the same digits through its own cn_net_share of it (its own plan and workspace, the weights
 * shared read-only, nothing copied). The run checks that both threads agree bit for bit with
 * each other (one BLAS thread each, so the sums are added in the same order) and prints each
 * file's class once.
 *
 *   cc threads.c $(pkg-config --cflags colnet) $(pkg-config --static --libs colnet) -lpthread
 *   ./threads model.ckpt digit.pgm ...
 */
#define _POSIX_C_SOURCE 200809L /* pthreads */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <colnet.h>

#define MAX_FILES 256

struct job {
	const struct cn_net *model;
	char **files;
	int n;
	int32_t best[MAX_FILES];
	float top[MAX_FILES]; /* the winning probability, compared bit for bit */
	char err[CN_ERR_LEN];
};

/* An 8-bit binary PGM of the model's size into x [H, W] in [0, 1]; non-zero if it is not. */
static int read_pgm(const char *path, struct cn_shape s, float *x)
{
	FILE *f = fopen(path, "rb");
	int w, h, maxval,
	    ok = f && fscanf(f, "P5 %d %d %d", &w, &h, &maxval) == 3 && w == s.w && h == s.h &&
	         maxval == 255 && fgetc(f) != EOF;
	for (int i = 0; ok && i < w * h; i++) {
		int c = fgetc(f);
		ok = c != EOF;
		x[i] = (float)c / 255.0f;
	}
	if (f) fclose(f);
	return !ok;
}

static void *classify(void *arg)
{
	struct job *j = arg;
	struct cn_net *net = NULL;
	if (cn_net_share(&net, j->model, j->err)) return j;
	struct cn_shape s = cn_net_input_shape(net);
	float *probs = malloc((size_t)cn_net_output_len(net) * sizeof(float));
	if (!probs || cn_net_plan(net, 1, CN_PLAN_INFER)) {
		snprintf(j->err, sizeof(j->err), "cannot plan: %s", cn_net_error(net));
		goto done;
	}
	for (int f = 0; f < j->n; f++) {
		if (read_pgm(j->files[f], s, cn_net_input(net))) {
			snprintf(j->err, sizeof(j->err), "%s: not an 8-bit %dx%d PGM", j->files[f],
			         s.w, s.h);
			break;
		}
		if (cn_net_predict(net, cn_net_input(net), 1, probs, &j->best[f])) {
			snprintf(j->err, sizeof(j->err), "%s: %s", j->files[f], cn_net_error(net));
			break;
		}
		j->top[f] = probs[j->best[f]];
	}
done:
	free(probs);
	cn_net_free(net);
	return j;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc - 2 > MAX_FILES)
		return fprintf(stderr, "usage: threads model.ckpt digit.pgm ... (1..%d files)\n",
		               MAX_FILES),
		       2;
	cn_set_blas_threads(1); /* two threads of ours already fill two cores */
	struct cn_net *model;
	char err[CN_ERR_LEN];
	if (cn_net_load(&model, argv[1], err)) return fprintf(stderr, "threads: %s\n", err), 1;
	if (cn_net_input_shape(model).c != 1) {
		fprintf(stderr, "threads: %s: need a one-channel model\n", argv[1]);
		cn_net_free(model);
		return 1;
	}
	static struct job jobs[2];
	pthread_t tid[2];
	for (int t = 0; t < 2; t++) {
		jobs[t] = (struct job){.model = model, .files = argv + 2, .n = argc - 2};
		if (pthread_create(&tid[t], NULL, classify, &jobs[t]))
			return fprintf(stderr, "threads: cannot start a thread\n"), 1;
	}
	for (int t = 0; t < 2; t++) pthread_join(tid[t], NULL);
	cn_net_free(model); /* after its shares */
	for (int t = 0; t < 2; t++)
		if (jobs[t].err[0]) return fprintf(stderr, "thread %d: %s\n", t, jobs[t].err), 1;
	int same = 1;
	for (int f = 0; f < argc - 2; f++) {
		same &= jobs[0].best[f] == jobs[1].best[f] &&
		        memcmp(&jobs[0].top[f], &jobs[1].top[f], sizeof(float)) == 0;
		printf("%s: %d\n", argv[f + 2], jobs[0].best[f]);
	}
	printf("two threads, one shared model: %s\n",
	       same ? "identical results" : "DIFFERENT results");
	return same ? 0 : 1;
}
