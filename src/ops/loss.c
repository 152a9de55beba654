/*
 * Losses, returning the mean over the batch (or over all elements) of:
 *   softmax xent: lse(l) - l[label], lse(l) = m + log(sum_j e^(l_j - m)), m = max_j l_j;
 *                 d/dl = softmax(l) - onehot(label)                 logits, prob [N, K]
 *   mse:          (y - t)²;                 d/dy = 2 (y - t)        y, t [len]
 *   smoothed xent (label smoothing e): target q = (1 - e) onehot(label) + e/K;
 *                 loss = -sum_j q_j log p_j = (1 - e)(m - l[label]) + (e/K) sum_j (m - l_j)
 *                 + log(sum);  d/dl = softmax(l) - q
 * The xent loss is (m - l[label]) + log(sum): the sum is >= 1 (the max term is e^0), so there
 * is no log(0), no overflow at logits of ±1e4, and no cancellation of two huge numbers.
 */
#include <math.h>

#include "ops.h"

float cn_softmax_xent_forward(int32_t n, int32_t k, const float *logits, const int32_t *labels,
                              float *prob)
{
	double total = 0.0; /* a batch of float losses summed in float loses digits */
	for (int32_t i = 0; i < n; i++) {
		const float *l = logits + (size_t)i * k; /* [K] */
		float *p = prob + (size_t)i * k;         /* [K] */
		float m = l[0];
		for (int32_t j = 1; j < k; j++) m = l[j] > m ? l[j] : m;
		float sum = 0.0f;
		for (int32_t j = 0; j < k; j++) {
			p[j] = expf(l[j] - m);
			sum += p[j];
		}
		float inv = 1.0f / sum;
		for (int32_t j = 0; j < k; j++) p[j] *= inv;
		total += (double)(m - l[labels[i]]) + log((double)sum);
	}
	return (float)(total / n);
}

int32_t cn_argmax(int32_t k, const float *v)
{
	int32_t best = 0;
	for (int32_t j = 1; j < k; j++)
		if (v[j] > v[best]) best = j;
	return best;
}

int32_t cn_softmax_argmax(int32_t k, const float *logits, float *prob)
{
	int32_t best = cn_argmax(k, logits);
	float m = logits[best], sum = 0.0f;
	for (int32_t j = 0; j < k; j++) {
		prob[j] = expf(logits[j] - m);
		sum += prob[j];
	}
	float inv = 1.0f / sum;
	for (int32_t j = 0; j < k; j++) prob[j] *= inv;
	return best;
}

/* dlogits = (prob - onehot(labels)) / n; dlogits may be prob itself. */
void cn_softmax_xent_backward(int32_t n, int32_t k, const float *prob, const int32_t *labels,
                              float *dlogits)
{
	const float inv = 1.0f / (float)n;
	for (int32_t i = 0; i < n; i++) {
		const float *p = prob + (size_t)i * k; /* [K] */
		float *d = dlogits + (size_t)i * k;    /* [K] */
		float pl = p[labels[i]];               /* read before an in-place write */
		for (int32_t j = 0; j < k; j++) d[j] = p[j] * inv;
		d[labels[i]] = (pl - 1.0f) * inv;
	}
}

float cn_softmax_xent_smooth_forward(int32_t n, int32_t k, const float *logits,
                                     const int32_t *labels, float eps, float *prob)
{
	double total = 0.0;
	for (int32_t i = 0; i < n; i++) {
		const float *l = logits + (size_t)i * k; /* [K] */
		float *p = prob + (size_t)i * k;         /* [K] */
		float m = l[0];
		for (int32_t j = 1; j < k; j++) m = l[j] > m ? l[j] : m;
		float sum = 0.0f;
		double gap = 0.0; /* sum_j (m - l_j) >= 0: no cancellation */
		for (int32_t j = 0; j < k; j++) {
			p[j] = expf(l[j] - m);
			sum += p[j];
			gap += (double)(m - l[j]);
		}
		float inv = 1.0f / sum;
		for (int32_t j = 0; j < k; j++) p[j] *= inv;
		total +=
		    (1.0 - eps) * (double)(m - l[labels[i]]) + eps * gap / k + log((double)sum);
	}
	return (float)(total / n);
}

/* dlogits = (prob - q) / n; dlogits may be prob itself. */
void cn_softmax_xent_smooth_backward(int32_t n, int32_t k, const float *prob, const int32_t *labels,
                                     float eps, float *dlogits)
{
	const float inv = 1.0f / (float)n, off = eps / (float)k, on = 1.0f - eps + off;
	for (int32_t i = 0; i < n; i++) {
		const float *p = prob + (size_t)i * k; /* [K] */
		float *d = dlogits + (size_t)i * k;    /* [K] */
		float pl = p[labels[i]];               /* read before an in-place write */
		for (int32_t j = 0; j < k; j++) d[j] = (p[j] - off) * inv;
		d[labels[i]] = (pl - on) * inv;
	}
}

float cn_mse_forward(size_t len, const float *y, const float *t)
{
	double sum = 0.0;
	for (size_t i = 0; i < len; i++) {
		double e = (double)y[i] - t[i];
		sum += e * e;
	}
	return (float)(sum / (double)len);
}

/* dy = 2 (y - t) / len. */
void cn_mse_backward(size_t len, const float *y, const float *t, float *dy)
{
	const float scale = 2.0f / (float)len;
	for (size_t i = 0; i < len; i++) dy[i] = scale * (y[i] - t[i]);
}
