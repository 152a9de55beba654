/*
 * Inference for embedders: the softmax probabilities and the most probable class of any
 * number of images, in evaluation behaviour (no dropout, batchnorm's running statistics),
 * run through the planned batch in slices. The one argmax of the library sits in ops/loss.c.
 */
#include <math.h>
#include <stdbool.h>

#include "error.h"
#include "finite.h"
#include "net.h"
#include "util.h"

/* An unplanned net is planned for inference at up to this many images per forward. */
#define CN_PREDICT_BATCH 64

enum cn_status cn_net_predict(struct cn_net *net, const float *x, int32_t n, float *probs,
                              int32_t *classes)
{
	if (!net) return CN_ERR_ARG;
	if (!x || n < 1)
		return cn_err_set(net->err, CN_ERR_ARG, "predict %d images%s", n,
		                  x ? ": the count must be >= 1" : " from NULL");
	if (!net->batch) {
		enum cn_status st = cn_net_plan(net, CN_MIN(n, CN_PREDICT_BATCH), CN_PLAN_INFER);
		if (st) return st;
	}
	int32_t k = cn_net_output_len(net);
	size_t in_len = (size_t)net->in.h * net->in.w * net->in.c;
	bool training = net->training;
	net->training = false;
	enum cn_status st = CN_OK;
	for (int32_t lo = 0; lo < n && !st; lo += net->batch) {
		int32_t m = CN_MIN(net->batch, n - lo);
		const float *y; /* [m, K] */
		st = cn_net_forward(net, x + (size_t)lo * in_len, m, &y);
		for (int32_t i = 0; i < m && !st; i++) {
			const float *logits = y + (size_t)i * k;
			if (!cn_all_finite(logits, (size_t)k)) {
				st =
				    cn_err_set(net->err, CN_ERR_NUMERIC,
				               "predict: image %d's outputs are not finite (NaN or "
				               "Inf in the input or the weights)",
				               lo + i);
				break;
			}
			int32_t best =
			    probs ? cn_softmax_argmax(k, logits, probs + (size_t)(lo + i) * k)
			          : cn_argmax(k, logits);
			if (classes) classes[lo + i] = best;
		}
	}
	net->training = training;
	return st;
}
