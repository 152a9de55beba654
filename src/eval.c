/* Evaluation: forward a dataset in planned-size batches; mean cross-entropy, accuracy, confusion. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net.h"
#include "train.h"
#include "util.h"
#include "ops/ops.h"

enum cn_status cn_data_check(const struct cn_net *net, const struct cn_dataset *ds, char *err)
{
	struct cn_shape s = cn_dataset_shape(ds), in = cn_net_input_shape(net);
	int32_t k = cn_net_output_len(net);
	if (s.c != in.c || s.h != in.h || s.w != in.w)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "the data's images are %dx%dx%d (HxWxC) but the model takes "
		                  "%dx%dx%d",
		                  s.h, s.w, s.c, in.h, in.w, in.c);
	if (cn_dataset_classes(ds) > k)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "the data has %d classes but the model has %d outputs",
		                  cn_dataset_classes(ds), k);
	return CN_OK;
}

enum cn_status cn_evaluate_group(struct cn_net *net, const struct cn_dataset *ds,
                                 const struct cn_group *g, double *loss, double *accuracy,
                                 int64_t *confusion)
{
	if (!net) return CN_ERR_ARG;
	char *err = cn_net_errbuf(net);
	if (!ds) return cn_err_set(err, CN_ERR_ARG, "evaluate: the dataset is NULL");
	int32_t batch = cn_net_batch(net);
	if (!batch) return cn_err_set(err, CN_ERR_STATE, "evaluate before cn_net_plan");
	int32_t count = cn_dataset_count(ds), k = cn_net_output_len(net);
	enum cn_status st = cn_data_check(net, ds, err);
	if (st) return st;
	if (g && (g->size < 1 || g->rank < 0 || g->rank >= g->size || !g->reduce))
		return cn_err_set(err, CN_ERR_ARG, "group: rank %d of %d", g->rank, g->size);
	/* this member's contiguous share [lo, hi) of the set */
	int32_t lo = 0, hi = count;
	if (g) cn_share(count, g->rank, g->size, &lo, &hi);
	int32_t *idx = malloc((size_t)batch * 2 * sizeof(int32_t));
	float *probs = malloc((size_t)batch * (size_t)k * sizeof(float)); /* [BATCH, K] */
	if (!idx || !probs) {
		free(idx);
		free(probs);
		return cn_err_set(err, CN_ERR_NOMEM, "out of memory");
	}
	int32_t *labels = idx + batch;
	if (confusion) memset(confusion, 0, (size_t)k * k * sizeof(int64_t));
	double loss_sum = 0;
	int64_t right = 0;
	int training = cn_net_training(net); /* evaluation: running statistics, no dropout */
	cn_net_set_training(net, 0);
	for (int32_t first = lo; first < hi && !st; first += batch) {
		int32_t n = hi - first < batch ? hi - first : batch;
		for (int32_t i = 0; i < n; i++) idx[i] = first + i;
		cn_dataset_gather(ds, idx, n, cn_net_input(net), labels);
		const float *y;
		st = cn_net_forward(net, cn_net_input(net), n, &y);
		if (st) break;
		loss_sum += (double)cn_softmax_xent_forward(n, k, y, labels, probs) * n;
		for (int32_t i = 0; i < n; i++) {
			int32_t best = cn_argmax(k, probs + (size_t)i * k);
			right += best == labels[i];
			if (confusion) confusion[(size_t)labels[i] * k + best]++;
		}
	}
	cn_net_set_training(net, training);
	free(idx);
	free(probs);
	if (st) return st;
	if (g) {
		/* counts stay exact as doubles up to 2^53 */
		double sums[2] = {loss_sum, (double)right};
		bool failed = g->reduce(g->ctx, sums, 2, CN_REDUCE_DOUBLE) != 0;
		loss_sum = sums[0];
		right = (int64_t)sums[1];
		for (size_t i = 0; confusion && !failed && i < (size_t)k * k; i += 64) {
			double c[64];
			size_t m = (size_t)k * k - i < 64 ? (size_t)k * k - i : 64;
			for (size_t j = 0; j < m; j++) c[j] = (double)confusion[i + j];
			failed = g->reduce(g->ctx, c, m, CN_REDUCE_DOUBLE) != 0;
			for (size_t j = 0; j < m; j++) confusion[i + j] = (int64_t)c[j];
		}
		if (failed)
			return cn_err_set(err, CN_ERR_IO,
			                  "evaluate: the reduction across the group failed");
	}
	if (loss) *loss = count ? loss_sum / count : 0;
	if (accuracy) *accuracy = count ? (double)right / count : 0;
	return CN_OK;
}

enum cn_status cn_evaluate(struct cn_net *net, const struct cn_dataset *ds, double *loss,
                           double *accuracy, int64_t *confusion)
{
	return cn_evaluate_group(net, ds, NULL, loss, accuracy, confusion);
}
