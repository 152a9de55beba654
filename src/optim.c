/*
 * Optimizers over the flat parameter array: each step is one loop over n floats. With
 * d = s*g + wd*p, where s = min(1, clip_norm / ||g||) (1 without clipping; the norm is of the
 * raw gradients, accumulated in double, as PyTorch's clip_grad_norm_ before step) and wd*p is
 * L2 decay added to the gradient (PyTorch's SGD/Adam weight_decay, not AdamW):
 *   SGD           p -= lr*d
 *   MOMENTUM      v = mu*v + d;             p -= lr*v   (PyTorch SGD, dampening 0)
 *     nesterov    v = mu*v + d;             p -= lr*(d + mu*v)  (PyTorch's nesterov=True)
 *   MOMENTUM_EMA  v = beta*v + (1-beta)*d;  p -= lr*v
 *   ADAM          m = b1*m + (1-b1)*d;  v = b2*v + (1-b2)*d^2;
 *                 p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps),  t = steps taken
 * State is one block in the parameters' layout: [v] for the momentum kinds, [m | v] for Adam.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "colnet.h"
#include "error.h"
#include "util.h"

struct cn_optim {
	char err[CN_ERR_LEN]; /* message of the last failed call */
	struct cn_optim_opts opts;
	size_t n;         /* parameters */
	int64_t t;        /* steps taken: Adam's bias-correction exponent */
	size_t state_len; /* 0, n or 2n floats */
	float *state;     /* [state_len]: v [n], or m [n] then v [n]; NULL for SGD */
};

/*
 * Every field is checked whatever the kind, so a set of options that one kind accepts is
 * accepted by all (the defaults pass). Comparisons are written so that NaN fails them.
 */
static enum cn_status check_opts(const struct cn_optim_opts *o, char *err)
{
	if ((unsigned)o->kind > CN_OPTIM_ADAM)
		return cn_err_set(err, CN_ERR_ARG, "optimizer kind %d is not a known kind",
		                  (int)o->kind);
	if (!(o->lr > 0.0f && isfinite(o->lr)))
		return cn_err_set(err, CN_ERR_ARG, "lr %g must be finite and > 0", (double)o->lr);
	if (!(o->momentum >= 0.0f && o->momentum < 1.0f))
		return cn_err_set(err, CN_ERR_ARG, "momentum %g must be in [0, 1)",
		                  (double)o->momentum);
	if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f))
		return cn_err_set(err, CN_ERR_ARG, "beta1 %g must be in [0, 1)", (double)o->beta1);
	if (!(o->beta2 >= 0.0f && o->beta2 < 1.0f))
		return cn_err_set(err, CN_ERR_ARG, "beta2 %g must be in [0, 1)", (double)o->beta2);
	if (!(o->eps > 0.0f && isfinite(o->eps)))
		return cn_err_set(err, CN_ERR_ARG, "eps %g must be finite and > 0", (double)o->eps);
	if (!(o->weight_decay >= 0.0f && isfinite(o->weight_decay)))
		return cn_err_set(err, CN_ERR_ARG, "weight_decay %g must be finite and >= 0",
		                  (double)o->weight_decay);
	if (!(o->clip_norm >= 0.0f && isfinite(o->clip_norm)))
		return cn_err_set(err, CN_ERR_ARG, "clip_norm %g must be finite and >= 0",
		                  (double)o->clip_norm);
	return CN_OK;
}

enum cn_status cn_optim_create(struct cn_optim **opt, const struct cn_optim_opts *opts,
                               size_t n_params, char err[CN_ERR_LEN])
{
	if (!opt || !opts)
		return cn_err_set(err, CN_ERR_ARG,
		                  "cn_optim_create: opt and opts must not be NULL");
	*opt = NULL;
	enum cn_status st = check_opts(opts, err);
	if (st != CN_OK) return st;
	if (n_params == 0) return cn_err_set(err, CN_ERR_ARG, "n_params %zu must be > 0", n_params);

	/* the parameters themselves must be addressable, even for SGD, which keeps no state */
	size_t per = opts->kind == CN_OPTIM_ADAM ? 2 : opts->kind == CN_OPTIM_SGD ? 0 : 1;
	size_t len, bytes;
	if (!cn_mul_ok(n_params, sizeof(float), &bytes) || !cn_mul_ok(n_params, per, &len) ||
	    !cn_mul_ok(len, sizeof(float), &bytes))
		return cn_err_set(err, CN_ERR_NOMEM,
		                  "n_params %zu: optimizer state size overflows size_t", n_params);

	struct cn_optim *o = calloc(1, sizeof(*o));
	if (!o) goto nomem;
	o->opts = *opts;
	o->n = n_params;
	o->state_len = len;
	/* zero state is the right start: v = mu*0 + g makes the first heavy-ball step v = g */
	if (len && !(o->state = calloc(len, sizeof(float)))) goto nomem;
	*opt = o;
	return CN_OK;
nomem:
	free(o);
	return cn_err_set(err, CN_ERR_NOMEM, "cannot allocate an optimizer with %zu bytes of state",
	                  bytes);
}

void cn_optim_free(struct cn_optim *opt)
{
	if (!opt) return;
	free(opt->state);
	free(opt);
}

/*
 * Parameters from which an update is shared among threads. It is often the step's only
 * parallel region once the dense layers' plan keeps small ones on one thread
 * (layer_dense.c), and a lone region pays a whole wake of the sleeping second thread: rbf's
 * 57k parameters, momentum, batch 100 on 1 -> 2 threads (bench_train, Zen 5, one run each
 * pair) 405k -> 252k, 426k -> 271k, 408k -> 254k images/s shared; 414k -> 414k,
 * 421k -> 420k, 410k -> 410k on one thread. mlp's 203k gained from the split: 185k -> 223k
 * and 160k -> 200k shared, 165k -> 140k and 178k -> 136k (a loss) on one thread.
 */
#define PAR_MIN_PARAMS 131072

/*
 * The four update loops. params, grads and the state never overlap (checked by the caller),
 * so restrict lets the compiler vectorize; s and wd are applied on the fly so grads stay
 * untouched and nothing is allocated. Compiled per vector width (CN_CLONES: same bits in
 * every clone); past PAR_MIN_PARAMS parameters each thread updates a contiguous share.
 */
CN_CLONES static void step_sgd(size_t n, float *restrict p, const float *restrict g, float lr,
                               float s, float wd)
{
	for (size_t i = 0; i < n; i++) p[i] -= lr * (s * g[i] + wd * p[i]);
}

CN_CLONES static void step_momentum(size_t n, float *restrict p, const float *restrict g,
                                    float *restrict v, float lr, float s, float wd, float mu)
{
	for (size_t i = 0; i < n; i++) {
		v[i] = mu * v[i] + (s * g[i] + wd * p[i]);
		p[i] -= lr * v[i];
	}
}

CN_CLONES static void step_nesterov(size_t n, float *restrict p, const float *restrict g,
                                    float *restrict v, float lr, float s, float wd, float mu)
{
	for (size_t i = 0; i < n; i++) {
		float d = s * g[i] + wd * p[i];
		v[i] = mu * v[i] + d;
		p[i] -= lr * (d + mu * v[i]);
	}
}

CN_CLONES static void step_ema(size_t n, float *restrict p, const float *restrict g,
                               float *restrict v, float lr, float s, float wd, float beta)
{
	float a = 1.0f - beta;
	for (size_t i = 0; i < n; i++) {
		v[i] = beta * v[i] + a * (s * g[i] + wd * p[i]);
		p[i] -= lr * v[i];
	}
}

/*
 * lr*(m/bc1) / (sqrt(v/bc2) + eps) as PyTorch evaluates it: step = lr/bc1, and
 * sqrt(v)/sqrt(bc2) + eps, so eps is added to the bias-corrected root, not the raw one.
 */
CN_CLONES static void step_adam(size_t n, float *restrict p, const float *restrict g,
                                float *restrict m, float *restrict v, float step, float rsqrt_bc2,
                                float s, float wd, float b1, float b2, float eps)
{
	float a1 = 1.0f - b1, a2 = 1.0f - b2;
	for (size_t i = 0; i < n; i++) {
		float d = s * g[i] + wd * p[i];
		m[i] = b1 * m[i] + a1 * d;
		v[i] = b2 * v[i] + a2 * d * d;
		p[i] -= step * m[i] / (sqrtf(v[i]) * rsqrt_bc2 + eps);
	}
}

static bool overlap(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
	return x < y + b_bytes && y < x + a_bytes;
}

enum cn_status cn_optim_step(struct cn_optim *opt, float *params, const float *grads, float lr)
{
	if (!opt) return CN_ERR_ARG;
	if (!params || !grads)
		return cn_err_set(opt->err, CN_ERR_ARG, "optimizer step: params or grads is NULL");
	if (!(lr > 0.0f && isfinite(lr)))
		return cn_err_set(opt->err, CN_ERR_ARG,
		                  "optimizer step: learning rate %g must be finite and > 0",
		                  (double)lr);
	size_t n = opt->n, bytes = n * sizeof(float); /* cannot overflow: checked at create */
	/* restrict in the loops below promises this */
	if (overlap(params, bytes, grads, bytes))
		return cn_err_set(opt->err, CN_ERR_ARG,
		                  "optimizer step: params and grads overlap in memory");
	const struct cn_optim_opts *o = &opt->opts;

	float s = 1.0f;
	if (o->clip_norm > 0.0f) {
		double ss = 0.0;
		for (size_t i = 0; i < n; i++) ss += (double)grads[i] * grads[i];
		double norm = sqrt(ss);
		/* a NaN/Inf gradient would turn every parameter into NaN: refuse before writing */
		if (!isfinite(norm))
			return cn_err_set(
			    opt->err, CN_ERR_NUMERIC,
			    "optimizer step: the gradient norm is %g; nothing updated", norm);
		if (norm > o->clip_norm) s = (float)(o->clip_norm / norm);
	}
	if (opt->t < INT64_MAX) opt->t++;

	float wd = o->weight_decay, step = 0.0f, rsqrt_bc2 = 0.0f;
	if (o->kind == CN_OPTIM_ADAM) {
		/* bias corrections in double: 1 - b2^t for b2 = 0.999 loses digits in float */
		double t = (double)opt->t;
		step = (float)(lr / (1.0 - pow(o->beta1, t)));
		rsqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(o->beta2, t)));
	}
	/* element-wise, so each thread's contiguous share gives the same bits as one thread */
#pragma omp parallel if (n >= PAR_MIN_PARAMS)
	{
		size_t lo, hi;
		cn_thread_range(n, &lo, &hi);
		size_t len = hi - lo;
		float *p = params + lo, *st = opt->state ? opt->state + lo : NULL;
		const float *g = grads + lo;
		switch (o->kind) {
		case CN_OPTIM_SGD:
			step_sgd(len, p, g, lr, s, wd);
			break;
		case CN_OPTIM_MOMENTUM:
			if (o->nesterov)
				step_nesterov(len, p, g, st, lr, s, wd, o->momentum);
			else
				step_momentum(len, p, g, st, lr, s, wd, o->momentum);
			break;
		case CN_OPTIM_MOMENTUM_EMA:
			step_ema(len, p, g, st, lr, s, wd, o->momentum);
			break;
		case CN_OPTIM_ADAM:
			step_adam(len, p, g, st, st + n, step, rsqrt_bc2, s, wd, o->beta1, o->beta2,
			          o->eps);
			break;
		}
	}
	return CN_OK;
}

const char *cn_optim_error(const struct cn_optim *opt)
{
	return opt ? opt->err : "optimizer is NULL";
}

int64_t cn_optim_step_count(const struct cn_optim *opt)
{
	return opt ? opt->t : 0;
}

/* A negative count would make Adam's bias corrections negative: it is taken as 0. */
void cn_optim_set_step_count(struct cn_optim *opt, int64_t steps)
{
	if (opt) opt->t = steps > 0 ? steps : 0;
}

size_t cn_optim_state_len(const struct cn_optim *opt)
{
	return opt ? opt->state_len : 0;
}

float *cn_optim_state(struct cn_optim *opt)
{
	return opt ? opt->state : NULL;
}
