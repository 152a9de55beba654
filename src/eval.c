/* Evaluation: forward a dataset in planned-size batches; mean cross-entropy, accuracy, confusion. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net.h"
#include "ops/ops.h"

enum cn_status cn_evaluate(struct cn_net *net, const struct cn_dataset *ds, double *loss,
                           double *accuracy, int64_t *confusion)
{
	if (!net || !ds) return CN_ERR_ARG;
	if (!net->batch) return cn_err_set(net->err, CN_ERR_STATE, "evaluate before cn_net_plan");
	int32_t count = cn_dataset_count(ds), k = cn_net_output_len(net), batch = net->batch;
	struct cn_shape s = cn_dataset_shape(ds);
	if (s.c != net->in.c || s.h != net->in.h || s.w != net->in.w)
		return cn_err_set(net->err, CN_ERR_SHAPE,
		                  "the data's images are %dx%dx%d (CxHxW) but the model takes "
		                  "%dx%dx%d",
		                  s.c, s.h, s.w, net->in.c, net->in.h, net->in.w);
	if (cn_dataset_classes(ds) > k)
		return cn_err_set(net->err, CN_ERR_SHAPE,
		                  "the data has %d classes but the model has %d outputs",
		                  cn_dataset_classes(ds), k);
	int32_t *idx = malloc((size_t)batch * 2 * sizeof(int32_t));
	if (!idx) return cn_err_set(net->err, CN_ERR_NOMEM, "out of memory");
	int32_t *labels = idx + batch;
	if (confusion) memset(confusion, 0, (size_t)k * k * sizeof(int64_t));
	double loss_sum = 0;
	int64_t right = 0;
	enum cn_status st = CN_OK;
	bool training = net->training; /* evaluation always uses running statistics, no dropout */
	net->training = false;
	for (int32_t first = 0; first < count && !st; first += batch) {
		int32_t n = count - first < batch ? count - first : batch;
		for (int32_t i = 0; i < n; i++) idx[i] = first + i;
		cn_dataset_gather(ds, idx, n, net->input, labels);
		const float *y;
		st = cn_net_forward(net, net->input, n, &y);
		if (st) break;
		loss_sum += (double)cn_softmax_xent_forward(n, k, y, labels, net->probs) * n;
		for (int32_t i = 0; i < n; i++) {
			const float *p = net->probs + (size_t)i * k;
			int32_t best = 0;
			for (int32_t j = 1; j < k; j++)
				if (p[j] > p[best]) best = j;
			right += best == labels[i];
			if (confusion) confusion[(size_t)labels[i] * k + best]++;
		}
	}
	net->training = training;
	free(idx);
	if (st) return st;
	if (loss) *loss = count ? loss_sum / count : 0;
	if (accuracy) *accuracy = count ? (double)right / count : 0;
	return CN_OK;
}
