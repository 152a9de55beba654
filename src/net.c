/*
 * The network: layers built from a spec, shapes inferred once at create, parameters and
 * gradients in two flat arrays of identical layout (the plan for a batch size is net_plan.c).
 * Nothing here names a layer kind: the layer table (layer.h) answers for each.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net.h"
#include "spec.h"
#include "util.h"

static enum cn_status build_layers(struct cn_net *net, const struct cn_layer_desc *descs,
                                   int32_t count, char *err)
{
	char what[96];
	struct cn_shape s = net->in;
	size_t n_params = 0, n_state = 0;
	for (int32_t i = 0; i < count; i++) {
		struct cn_layer *l = &net->layers[i];
		/* from zero: a kind's shape function sets only the fields that kind has (a pool
		   leaves w_len alone), and cn_net_count_params passes uninitialized stack */
		*l = (struct cn_layer){.d = descs[i], .in = s};
		char msg[CN_ERR_LEN];
		enum cn_status st = cn_layer_impls[l->d.kind]->shape(l, msg);
		if (st) {
			cn_layer_format(&l->d, what, sizeof(what));
			return cn_err_set(err, st, "layer %d (%s) on input %dx%dx%d: %s", i + 1,
			                  what, s.h, s.w, s.c, msg);
		}
		if (!cn_add_ok(n_params, l->w_len, &n_params) ||
		    !cn_add_ok(n_params, l->b_len, &n_params) || l->w_len == SIZE_MAX)
			return cn_err_set(err, CN_ERR_NOMEM, "layer %d: parameter count overflows",
			                  i + 1);
		n_state += l->state_len; /* twice the layer's parameters: cannot overflow here */
		s = l->out;
	}
	net->n_params = n_params;
	net->n_state = n_state;
	return CN_OK;
}

enum cn_status cn_net_count_params(const char *spec, struct cn_shape in, size_t *n, char *err)
{
	if (in.c <= 0 || in.h <= 0 || in.w <= 0 || cn_layer_image_len(in) > INT32_MAX)
		return cn_err_set(err, CN_ERR_SHAPE, "input shape %dx%dx%d (HxWxC) is invalid",
		                  in.h, in.w, in.c);
	struct cn_layer_desc descs[CN_SPEC_MAX_LAYERS];
	struct cn_layer layers[CN_SPEC_MAX_LAYERS];
	struct cn_net shell = {.in = in, .layers = layers};
	enum cn_status st = cn_spec_parse(spec, descs, &shell.n_layers, err);
	if (!st) st = build_layers(&shell, descs, shell.n_layers, err);
	if (!st) *n = shell.n_params;
	return st;
}

/* Layers of spec on in, and a generator seeded from seed; no parameters yet. */
static enum cn_status build(struct cn_net **out, const char *spec, struct cn_shape in,
                            uint64_t seed, char *err)
{
	*out = NULL;
	if (!spec) return cn_err_set(err, CN_ERR_ARG, "cn_net_create: spec is NULL");
	if (in.c <= 0 || in.h <= 0 || in.w <= 0 || cn_layer_image_len(in) > INT32_MAX)
		return cn_err_set(err, CN_ERR_SHAPE, "input shape %dx%dx%d (HxWxC) is invalid",
		                  in.h, in.w, in.c);
	struct cn_layer_desc descs[CN_SPEC_MAX_LAYERS];
	int32_t count;
	enum cn_status st = cn_spec_parse(spec, descs, &count, err);
	if (st) return st;

	struct cn_net *net = calloc(1, sizeof(*net));
	if (!net) return cn_err_set(err, CN_ERR_NOMEM, "out of memory");
	net->in = in;
	net->n_layers = count;
	net->layers = calloc((size_t)count, sizeof(*net->layers));
	net->spec = strdup(spec);
	net->training = true;
	cn_rng_seed(&net->rng, seed);
	if (!net->layers || !net->spec) {
		st = cn_err_set(err, CN_ERR_NOMEM, "out of memory");
		goto fail;
	}
	st = build_layers(net, descs, count, err);
	if (st) goto fail;
	*out = net;
	return CN_OK;
fail:
	cn_net_free(net);
	return st;
}

static void bind_params(struct cn_net *net)
{
	size_t off = 0;
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		l->w = l->w_len ? net->params + off : NULL;
		l->dw = l->w_len && net->grads ? net->grads + off : NULL; /* a share has none */
		off += l->w_len;
		l->b = l->b_len ? net->params + off : NULL;
		l->db = l->b_len && net->grads ? net->grads + off : NULL;
		off += l->b_len;
	}
	off = 0;
	for (int32_t i = 0; i < net->n_layers; i++) {
		struct cn_layer *l = &net->layers[i];
		l->state = l->state_len ? net->state + off : NULL;
		l->rng = &net->rng;
		off += l->state_len;
	}
}

enum cn_status cn_net_create(struct cn_net **out, const char *spec, struct cn_shape in,
                             uint64_t seed, char err[CN_ERR_LEN])
{
	if (!out) return cn_err_set(err, CN_ERR_ARG, "cn_net_create: out is NULL");
	struct cn_net *net;
	enum cn_status st = build(out, spec, in, seed, err);
	if (st) return st;
	net = *out;
	*out = NULL;
	size_t bytes;
	if (!cn_mul_ok(net->n_params ? net->n_params : 1, sizeof(float), &bytes)) {
		st = cn_err_set(err, CN_ERR_NOMEM, "%zu parameters overflow memory", net->n_params);
		goto fail;
	}
	net->params = calloc(1, bytes);
	net->grads = calloc(1, bytes);
	net->state = calloc(net->n_state ? net->n_state : 1, sizeof(float));
	if (!net->params || !net->grads || !net->state) {
		st = cn_err_set(err, CN_ERR_NOMEM, "cannot allocate %zu parameters", net->n_params);
		goto fail;
	}
	bind_params(net);
	cn_net_init(net, CN_INIT_DEFAULT, 0.0f, seed);
	*out = net;
	return CN_OK;
fail:
	cn_net_free(net);
	return st;
}

enum cn_status cn_net_share(struct cn_net **out, const struct cn_net *model, char err[CN_ERR_LEN])
{
	if (!out) return cn_err_set(err, CN_ERR_ARG, "cn_net_share: out is NULL");
	*out = NULL;
	if (!model) return cn_err_set(err, CN_ERR_ARG, "cn_net_share: model is NULL");
	struct cn_net *net;
	enum cn_status st = build(&net, model->spec, model->in, 0, err);
	if (st) return st;
	net->shared = true;
	net->training = false;
	net->params = model->params; /* read by forward only: inference plans never write them */
	net->state = model->state;
	bind_params(net);
	if (model->class_names) {
		const char *const *names = (const char *const *)model->class_names;
		if (cn_net_set_class_names(net, names, cn_net_output_len(net))) {
			st = cn_err_set(err, CN_ERR_NOMEM, "cn_net_share: %s", net->err);
			cn_net_free(net);
			return st;
		}
	}
	*out = net;
	return CN_OK;
}

void cn_net_free(struct cn_net *net)
{
	if (!net) return;
	cn_arena_release(&net->arena);
	if (!net->shared) {
		free(net->params);
		free(net->state);
	}
	free(net->grads);
	free(net->layers);
	free(net->spec);
	free(net->class_names);
	free(net);
}

const char *cn_net_error(const struct cn_net *net)
{
	return net ? net->err : "network is NULL";
}

size_t cn_net_param_count(const struct cn_net *net)
{
	return net ? net->n_params : 0;
}

float *cn_net_params(struct cn_net *net)
{
	return net ? net->params : NULL;
}

float *cn_net_grads(struct cn_net *net)
{
	return net ? net->grads : NULL;
}

struct cn_shape cn_net_input_shape(const struct cn_net *net)
{
	return net ? net->in : (struct cn_shape){0, 0, 0};
}

int32_t cn_net_output_len(const struct cn_net *net)
{
	return net ? (int32_t)cn_layer_image_len(net->layers[net->n_layers - 1].out) : 0;
}

float *cn_net_input(struct cn_net *net)
{
	return net && net->batch ? net->input : NULL;
}

void cn_net_zero_grad(struct cn_net *net)
{
	if (net && net->grads) memset(net->grads, 0, net->n_params * sizeof(float));
}

int32_t cn_net_layer_count(const struct cn_net *net)
{
	return net ? net->n_layers : 0;
}

enum cn_status cn_net_layer_describe(const struct cn_net *net, int32_t i, char *buf, size_t len)
{
	if (!net) return CN_ERR_ARG;
	if (!buf || len == 0)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG, "layer describe: no buffer");
	if (i < 0 || i >= net->n_layers)
		return cn_err_set(cn_net_errbuf(net), CN_ERR_ARG, "layer %d is outside 0..%d", i,
		                  net->n_layers - 1);
	const struct cn_layer *l = &net->layers[i];
	char what[96];
	cn_layer_format(&l->d, what, sizeof(what));
	snprintf(buf, len, "%-32s -> %dx%dx%d (HxWxC), %zu params", what, l->out.h, l->out.w,
	         l->out.c, l->w_len + l->b_len);
	return CN_OK;
}

int64_t cn_net_layer_flops(const struct cn_net *net, int32_t i)
{
	if (!net || i < 0 || i >= net->n_layers) return -1;
	const struct cn_layer *l = &net->layers[i];
	const struct cn_layer_impl *impl = cn_layer_impls[l->d.kind];
	if (impl->flops) return impl->flops(l);
	return l->d.act == CN_ACT_IDENTITY ? 0 : (int64_t)cn_layer_image_len(l->out);
}

enum cn_status cn_net_set_training(struct cn_net *net, int on)
{
	if (!net) return CN_ERR_ARG;
	net->training = on != 0;
	return CN_OK;
}

int cn_net_training(const struct cn_net *net)
{
	return net && net->training;
}

size_t cn_net_state_count(const struct cn_net *net)
{
	return net ? net->n_state : 0;
}

float *cn_net_state(struct cn_net *net)
{
	return net ? net->state : NULL;
}
