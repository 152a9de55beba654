/*
 * Reference losses, all in double. Softmax xent per row: m = max l, s = sum e^(l_j - m),
 * p_j = e^(l_j - m) / s, loss = (m - l[label]) + log s (never -log p, which is log(0) when p
 * underflows); mean over the batch. d/dl = (p - onehot) / n.
 * MSE: mean (y - t)², d/dy = 2 (y - t) / len.
 */
#include <math.h>

#include "ref.h"

float cn_softmax_xent_forward_ref(int32_t n, int32_t k, const float *logits, const int32_t *labels,
                                  float *prob)
{
	double total = 0;
	for (int32_t i = 0; i < n; i++) {
		const float *l = logits + (size_t)i * k; /* [K] */
		double m = l[0], s = 0;
		for (int32_t j = 1; j < k; j++)
			if (l[j] > m) m = l[j];
		for (int32_t j = 0; j < k; j++) s += exp(l[j] - m);
		for (int32_t j = 0; j < k; j++)
			prob[(size_t)i * k + j] = (float)(exp(l[j] - m) / s);
		total += (m - l[labels[i]]) + log(s);
	}
	return (float)(total / n);
}

void cn_softmax_xent_backward_ref(int32_t n, int32_t k, const float *prob, const int32_t *labels,
                                  float *dlogits)
{
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = 0; j < k; j++) {
			double onehot = j == labels[i] ? 1 : 0;
			size_t o = (size_t)i * k + j;
			dlogits[o] = (float)((prob[o] - onehot) / n);
		}
}

/* The smoothed loss as written: -sum_j q_j log p_j with log p_j = l_j - m - log s. */
float cn_softmax_xent_smooth_forward_ref(int32_t n, int32_t k, const float *logits,
                                         const int32_t *labels, float eps, float *prob)
{
	double total = 0;
	for (int32_t i = 0; i < n; i++) {
		const float *l = logits + (size_t)i * k; /* [K] */
		double m = l[0], s = 0;
		for (int32_t j = 1; j < k; j++)
			if (l[j] > m) m = l[j];
		for (int32_t j = 0; j < k; j++) s += exp(l[j] - m);
		for (int32_t j = 0; j < k; j++) {
			prob[(size_t)i * k + j] = (float)(exp(l[j] - m) / s);
			double q = (j == labels[i] ? 1.0 - eps : 0.0) + (double)eps / k;
			total -= q * (l[j] - m - log(s));
		}
	}
	return (float)(total / n);
}

void cn_softmax_xent_smooth_backward_ref(int32_t n, int32_t k, const float *prob,
                                         const int32_t *labels, float eps, float *dlogits)
{
	for (int32_t i = 0; i < n; i++)
		for (int32_t j = 0; j < k; j++) {
			double q = (j == labels[i] ? 1.0 - eps : 0.0) + (double)eps / k;
			size_t o = (size_t)i * k + j;
			dlogits[o] = (float)((prob[o] - q) / n);
		}
}

float cn_mse_forward_ref(size_t len, const float *y, const float *t)
{
	double s = 0;
	for (size_t i = 0; i < len; i++) s += ((double)y[i] - t[i]) * ((double)y[i] - t[i]);
	return (float)(s / (double)len);
}

void cn_mse_backward_ref(size_t len, const float *y, const float *t, float *dy)
{
	for (size_t i = 0; i < len; i++) dy[i] = (float)(2 * ((double)y[i] - t[i]) / (double)len);
}
