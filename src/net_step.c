/*
 * The training step: forward, loss, backward over a planned network. Straight-line code over
 * planned buffers: nothing here allocates, and nothing fails except on bad arguments (checked
 * first) or numerics (the loss is checked for NaN/Inf).
 */
#include <math.h>
#include <string.h>

#include "error.h"
#include "join.h"
#include "net.h"
#include "util.h"

/* Images [lo, hi) of a batch tensor. */
static struct cn_tensor images(struct cn_tensor t, int32_t lo, int32_t hi)
{
	t.data += (size_t)lo * cn_tensor_image_len(&t);
	t.n = hi - lo;
	return t;
}

static void forward_layer(struct cn_layer *l, float *ws)
{
	const struct cn_layer_impl *impl = cn_layer_impls[l->d.kind];
	impl->forward(l, ws);
	if (l->d.act != CN_ACT_IDENTITY && !impl->fuses_act)
		cn_act_forward(l->d.act, l->d.slope, l->y.data, l->y.data, cn_tensor_len(&l->y));
}

/*
 * Images [lo, lo + pass) through every layer, then the next part (net_plan.c: plan_pass). An
 * inference forward reads and writes only its images' rows, so parts change no result beyond
 * rounding (a part's last GEMM may be a smaller one) and repeat it bit for bit for the same
 * plan and batch; training runs the batch as one part.
 */
static void forward_passes(struct cn_net *net, int32_t n, int32_t pass)
{
	if (pass >= n) {
		for (int32_t i = 0; i < net->n_layers; i++) {
			struct cn_layer *l = &net->layers[i];
			if (l->pools_next) /* and the pool after it (net_plan.c: plan_fusion) */
				cn_layer_batchnorm_pool_forward(l, &net->layers[++i], net->ws);
			else
				forward_layer(l, net->ws);
		}
		return;
	}
	for (int32_t lo = 0; lo < n; lo += pass) {
		int32_t hi = CN_MIN(n, lo + pass);
		for (int32_t i = 0; i < net->n_layers; i++) {
			struct cn_layer part =
			    net->layers[i]; /* a view: its fields are read only */
			part.x = images(part.x, lo, hi);
			part.y = images(part.y, lo, hi);
			forward_layer(&part, net->ws);
		}
	}
}

/* Each thread copies in its slice of the images and runs it through every layer. */
static void forward_split(struct cn_net *net, const float *x, int32_t n)
{
	size_t in_len = (size_t)net->in.h * net->in.w * net->in.c;
	int arrived = 0;
#pragma omp parallel num_threads(net->split)
	{
		double start = cn_now();
		int32_t t = (int32_t)cn_thread_id(), nt = (int32_t)cn_thread_count();
		int32_t lo, hi;
		cn_share(n, t, nt, &lo, &hi);
		if (x != net->input)
			memcpy(net->input + lo * in_len, x + lo * in_len,
			       (size_t)(hi - lo) * in_len * sizeof(float));
		float *ws = net->ws + (size_t)t * net->ws_len;
		for (int32_t i = 0; i < net->n_layers; i++) {
			struct cn_layer slice = net->layers[i];
			slice.x = images(slice.x, lo, hi);
			slice.y = images(slice.y, lo, hi);
			forward_layer(&slice, ws);
		}
		cn_join_spin(&arrived, nt, start);
	}
}

enum cn_status cn_net_forward(struct cn_net *net, const float *x, int32_t n, const float **y)
{
	if (!net) return CN_ERR_ARG;
	if (!net->batch) return cn_err_set(net->err, CN_ERR_STATE, "forward before cn_net_plan");
	if (!x || n < 1 || n > net->batch)
		return cn_err_set(net->err, CN_ERR_ARG,
		                  "forward of %d images (planned for 1..%d)%s", n, net->batch,
		                  x ? "" : " from NULL");
	/* training behaviour (dropout masks, batch statistics) only where backward can follow */
	bool train = net->training && net->mode == CN_PLAN_TRAIN;
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		l->x.n = l->y.n = n;
		l->train = train;
	}
	if (net->split > 1 && n >= net->split_min) {
		forward_split(net, x, n);
	} else {
		size_t in_len = (size_t)n * net->in.h * net->in.w * net->in.c;
		if (x != net->input) memcpy(net->input, x, in_len * sizeof(float));
		forward_passes(net, n, net->pass); /* a training plan's pass is its batch */
	}
	net->n = n;
	net->have_dout = false;
	if (y) *y = net->layers[net->n_layers - 1].y.data;
	return CN_OK;
}

static enum cn_status loss_ready(struct cn_net *net)
{
	if (!net->batch || net->mode != CN_PLAN_TRAIN)
		return cn_err_set(net->err, CN_ERR_STATE,
		                  "loss needs a network planned for training");
	if (!net->n) return cn_err_set(net->err, CN_ERR_STATE, "loss before any forward");
	return CN_OK;
}

enum cn_status cn_net_loss_xent(struct cn_net *net, const int32_t *labels, float *loss,
                                const float **probs)
{
	return cn_net_loss_xent_smooth(net, labels, 0.0f, loss, probs);
}

enum cn_status cn_net_loss_xent_smooth(struct cn_net *net, const int32_t *labels, float eps,
                                       float *loss, const float **probs)
{
	if (!net) return CN_ERR_ARG;
	if (!(eps >= 0.0f && eps < 1.0f))
		return cn_err_set(net->err, CN_ERR_ARG, "label smoothing %g must be in [0, 1)",
		                  (double)eps);
	enum cn_status st = loss_ready(net);
	if (st) return st;
	int32_t k = cn_net_output_len(net), n = net->n;
	if (!labels) return cn_err_set(net->err, CN_ERR_ARG, "labels are NULL");
	for (int32_t i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= k)
			return cn_err_set(
			    net->err, CN_ERR_ARG,
			    "label %d of image %d is outside 0..%d (the network has %d "
			    "outputs)",
			    labels[i], i, k - 1, k);
	const float *logits = net->layers[net->n_layers - 1].y.data;
	/* eps 0 keeps the plain loss's own arithmetic (and bits) */
	float l = eps > 0 ? cn_softmax_xent_smooth_forward(n, k, logits, labels, eps, net->probs)
	                  : cn_softmax_xent_forward(n, k, logits, labels, net->probs);
	if (loss) *loss = l;
	if (probs) *probs = net->probs;
	if (!isfinite(l)) return cn_err_set(net->err, CN_ERR_NUMERIC, "loss is %g", (double)l);
	if (eps > 0)
		cn_softmax_xent_smooth_backward(n, k, net->probs, labels, eps, net->dbuf[0]);
	else
		cn_softmax_xent_backward(n, k, net->probs, labels, net->dbuf[0]);
	net->have_dout = true;
	return CN_OK;
}

enum cn_status cn_net_loss_mse(struct cn_net *net, const float *targets, float *loss)
{
	if (!net) return CN_ERR_ARG;
	enum cn_status st = loss_ready(net);
	if (st) return st;
	if (!targets) return cn_err_set(net->err, CN_ERR_ARG, "targets are NULL");
	size_t len = (size_t)net->n * (size_t)cn_net_output_len(net);
	const float *y = net->layers[net->n_layers - 1].y.data;
	float l = cn_mse_forward(len, y, targets);
	if (loss) *loss = l;
	if (!isfinite(l)) return cn_err_set(net->err, CN_ERR_NUMERIC, "loss is %g", (double)l);
	cn_mse_backward(len, y, targets, net->dbuf[0]);
	net->have_dout = true;
	return CN_OK;
}

/* dbuf[0] holds dL/dy of the last layer; walk back, ping-ponging between the two buffers. */
enum cn_status cn_net_backward(struct cn_net *net)
{
	if (!net) return CN_ERR_ARG;
	if (!net->have_dout)
		return cn_err_set(net->err, CN_ERR_STATE,
		                  "backward without a loss for the last forward");
	float *dy = net->dbuf[0], *dx = net->dbuf[1];
	for (int32_t i = net->n_layers - 1; i >= 0; i--) {
		struct cn_layer *l = &net->layers[i];
		/* a pool that the batch norm before it runs: dy passes to that layer as it is */
		if (l->pooled_by_prev) continue;
		if (l->d.act != CN_ACT_IDENTITY && !cn_layer_impls[l->d.kind]->fuses_act_backward)
			cn_act_backward(l->d.act, l->d.slope, l->y.data, dy, dy,
			                cn_tensor_len(&l->y));
		/* the first layer's input gradient feeds nothing: skip it */
		bool need_dx = i > 0;
		if (!need_dx && !l->w_len && !l->b_len) break;
		if (l->pools_next && i > 0 && net->layers[i - 1].dy_fed) { /* and the conv before */
			cn_layer_conv_batchnorm_pool_backward(&net->layers[i - 1], l,
			                                      &net->layers[i + 1], dy,
			                                      i > 1 ? dx : NULL, net->ws);
			i--;
		} else if (l->pools_next)
			cn_layer_batchnorm_pool_backward(l, &net->layers[i + 1], dy,
			                                 need_dx ? dx : NULL, net->ws);
		else
			cn_layer_impls[l->d.kind]->backward(l, dy, need_dx ? dx : NULL, net->ws);
		float *t = dy;
		dy = dx;
		dx = t;
	}
	net->have_dout = false;
	return CN_OK;
}

enum cn_status cn_net_train_step(struct cn_net *net, const float *x, const int32_t *labels,
                                 int32_t n, float *loss)
{
	if (!net) return CN_ERR_ARG;
	net->training = true;
	cn_net_zero_grad(net);
	enum cn_status st = cn_net_forward(net, x, n, NULL);
	if (!st) st = cn_net_loss_xent(net, labels, loss, NULL);
	if (!st) st = cn_net_backward(net);
	return st;
}
