/*
 * Spec parser. Layers are separated by '|' (';' also works); inside a layer, tokens are
 * separated by blanks: a kind, then its arguments in any order. Pool kernels may be given bare
 * ("maxpool 2") or as kN; strides default to the pool kernel, to 1 for convolutions.
 * "dropout P" takes the probability of DROPPING an element (PyTorch's p; default 0.5, so
 * "dropout 0.5" keeps half), "batchnorm" no argument but an optional activation.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "spec.h"

#define MAX_DIM   4096    /* kernel, stride, padding */
#define MAX_UNITS 1000000 /* output channels or units of one layer */
#define MAX_TOKEN 64

struct cursor {
	int32_t layer;    /* 1-based, for messages */
	const char *text; /* the layer's text */
	int text_len;
	char *err;
};

static enum cn_status bad(const struct cursor *c, const char *what, const char *tok)
{
	return cn_err_set(c->err, CN_ERR_FORMAT, "layer %d ('%.*s'): %s '%s'", c->layer,
	                  c->text_len > 80 ? 80 : c->text_len, c->text, what, tok);
}

/* Parse a decimal integer in [lo, hi] spanning the whole of s up to end (or 'x'). */
static bool parse_int(const char *s, const char **end, long lo, long hi, int32_t *out)
{
	if (!isdigit((unsigned char)*s)) return false;
	errno = 0;
	char *e;
	long v = strtol(s, &e, 10);
	if (errno || v < lo || v > hi) return false;
	*out = (int32_t)v;
	*end = e;
	return true;
}

/* "N" or "NxM" (M defaults to N) for kernels, strides and paddings. */
static bool parse_pair(const char *s, long lo, int32_t *a, int32_t *b)
{
	const char *e;
	if (!parse_int(s, &e, lo, MAX_DIM, a)) return false;
	if (*e == '\0') {
		*b = *a;
		return true;
	}
	if (*e != 'x') return false;
	return parse_int(e + 1, &e, lo, MAX_DIM, b) && *e == '\0';
}

static bool parse_act(const char *tok, struct cn_layer_desc *d)
{
	static const struct {
		const char *name;
		enum cn_act act;
	} acts[] = {{"identity", CN_ACT_IDENTITY},
	            {"relu", CN_ACT_RELU},
	            {"sigmoid", CN_ACT_SIGMOID},
	            {"tanh", CN_ACT_TANH},
	            {"leaky", CN_ACT_LEAKY_RELU}};
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		if (strcmp(tok, acts[i].name) == 0) {
			d->act = acts[i].act;
			d->slope = 0.01f;
			return true;
		}
	}
	if (strncmp(tok, "leaky=", 6) == 0) {
		char *e;
		errno = 0;
		float s = strtof(tok + 6, &e);
		/* backward decides from y > 0, which needs a non-negative slope; < 1 keeps it leaky */
		if (errno || *e != '\0' || !(s >= 0.0f && s < 1.0f)) return false;
		d->act = CN_ACT_LEAKY_RELU;
		d->slope = s;
		return true;
	}
	return false;
}

int cn_init_from_name(const char *name)
{
	static const char *const names[] = {
	    [CN_INIT_DEFAULT] = "default",
	    [CN_INIT_UNIFORM] = "uniform",
	    [CN_INIT_GAUSSIAN] = "gaussian",
	    [CN_INIT_XAVIER_UNIFORM] = "xavier",
	    [CN_INIT_XAVIER_NORMAL] = "xavier-normal",
	    [CN_INIT_HE_UNIFORM] = "he",
	    [CN_INIT_HE_NORMAL] = "he-normal",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) return (int)i;
	return -1;
}

static enum cn_status parse_kind(const struct cursor *c, const char *tok, struct cn_layer_desc *d)
{
	*d = (struct cn_layer_desc){
	    .kh = 1, .kw = 1, .sh = 0, .sw = 0, .bias = true, .init = -1, .p = 2.0f, .rate = 0.5f};
	int k = cn_layer_find(tok);
	if (k >= 0) {
		d->kind = (enum cn_layer_kind)k;
		return CN_OK;
	}
	if (parse_act(tok, d)) { /* an activation on its own: the one kind without a word */
		d->kind = CN_LAYER_ACT;
		return CN_OK;
	}
	return bad(c, "unknown layer kind", tok);
}

/* One argument token of the current layer. */
static enum cn_status parse_arg(const struct cursor *c, const char *tok, struct cn_layer_desc *d,
                                bool *have_count, bool *have_kernel)
{
	unsigned args = cn_layer_impls[d->kind]->args;
	bool pool = args & CN_ARGS_POOL, windowed = args & CN_ARGS_WINDOW;
	bool weighted = args & CN_ARGS_WEIGHTS;
	const char *e;

	if ((args & CN_ARGS_NORM) && strncmp(tok, "p=", 2) == 0) {
		char *pe;
		errno = 0;
		float p = strtof(tok + 2, &pe);
		/* below 1 it is no norm (and its gradient is infinite at 0); above 100 only the
		   maximum matters */
		if (errno || pe == tok + 2 || *pe != '\0' || !(p >= 1.0f && p <= 100.0f))
			return bad(c, "norm exponent must be p=X with X in 1..100, got", tok);
		d->p = p;
		return CN_OK;
	}
	if ((args & CN_ARGS_RBF) && (strcmp(tok, "gaussian") == 0 || strcmp(tok, "imq") == 0)) {
		d->rbf = tok[0] == 'g' ? CN_RBF_GAUSSIAN : CN_RBF_IMQ;
		return CN_OK;
	}
	if ((args & CN_ARGS_COUNT) && !*have_count && isdigit((unsigned char)tok[0])) {
		if (!parse_int(tok, &e, 1, MAX_UNITS, &d->out) || *e != '\0')
			return bad(c, "output count must be an integer in 1..1000000, got", tok);
		*have_count = true;
		return CN_OK;
	}
	if ((args & CN_ARGS_RATE) && !*have_count &&
	    (isdigit((unsigned char)tok[0]) || tok[0] == '.')) {
		char *end;
		errno = 0;
		float p = strtof(tok, &end);
		if (errno || *end != '\0' || !(p >= 0.0f && p < 1.0f))
			return bad(c, "dropout probability must be a number in [0, 1), got", tok);
		d->rate = p;
		*have_count = true;
		return CN_OK;
	}
	if (pool && !*have_kernel && isdigit((unsigned char)tok[0])) {
		if (!parse_pair(tok, 1, &d->kh, &d->kw))
			return bad(c, "pool size must be N or NxM in 1..4096, got", tok);
		*have_kernel = true;
		return CN_OK;
	}
	if (windowed && tok[0] == 'k' && isdigit((unsigned char)tok[1])) {
		if (!parse_pair(tok + 1, 1, &d->kh, &d->kw))
			return bad(c, "kernel must be kN or kNxM with N, M in 1..4096, got", tok);
		*have_kernel = true;
		return CN_OK;
	}
	if (windowed && tok[0] == 's' && isdigit((unsigned char)tok[1])) {
		if (!parse_pair(tok + 1, 1, &d->sh, &d->sw))
			return bad(c, "stride must be sN or sNxM with N, M in 1..4096, got", tok);
		return CN_OK;
	}
	if (windowed && tok[0] == 'p' && isdigit((unsigned char)tok[1])) {
		if (!parse_pair(tok + 1, 0, &d->ph, &d->pw))
			return bad(c, "padding must be pN or pNxM with N, M in 0..4096, got", tok);
		return CN_OK;
	}
	if (weighted && strncmp(tok, "init=", 5) == 0) {
		d->init = cn_init_from_name(tok + 5);
		if (d->init < 0) return bad(c, "unknown initializer", tok);
		return CN_OK;
	}
	if (weighted && strcmp(tok, "nobias") == 0) {
		d->bias = false;
		return CN_OK;
	}
	if (d->kind != CN_LAYER_ACT && parse_act(tok, d)) return CN_OK;
	return bad(c, "unexpected argument", tok);
}

static enum cn_status parse_layer(struct cursor *c, struct cn_layer_desc *d)
{
	char tok[MAX_TOKEN + 1];
	bool first = true, have_count = false, have_kernel = false;
	const char *p = c->text, *end = c->text + c->text_len;
	enum cn_status st;
	while (p < end) {
		while (p < end && isspace((unsigned char)*p)) p++;
		if (p == end) break;
		const char *t = p;
		while (p < end && !isspace((unsigned char)*p)) p++;
		if (p - t > MAX_TOKEN) {
			memcpy(tok, t, MAX_TOKEN);
			tok[MAX_TOKEN] = '\0';
			return bad(c, "token too long", tok);
		}
		memcpy(tok, t, (size_t)(p - t));
		tok[p - t] = '\0';
		st =
		    first ? parse_kind(c, tok, d) : parse_arg(c, tok, d, &have_count, &have_kernel);
		if (st) return st;
		first = false;
	}
	if (first) return bad(c, "empty layer", "");
	const struct cn_layer_impl *impl = cn_layer_impls[d->kind];
	if ((impl->args & CN_ARGS_COUNT) && !have_count)
		return bad(c, "missing output count after", impl->name);
	if ((impl->args & CN_ARGS_KERNEL) && !have_kernel)
		return bad(c, "missing kernel size (kN) for", impl->name);
	bool pool = impl->args & CN_ARGS_POOL;
	if (pool && !have_kernel) return bad(c, "missing pool size for", impl->name);
	/* stride defaults: a pool tiles its input, a convolution slides by one */
	if (d->sh == 0) {
		d->sh = pool ? d->kh : 1;
		d->sw = pool ? d->kw : 1;
	}
	return CN_OK;
}

enum cn_status cn_spec_parse(const char *spec, struct cn_layer_desc *descs, int32_t *count,
                             char *err)
{
	if (!spec) return cn_err_set(err, CN_ERR_ARG, "model spec is NULL");
	size_t len = strnlen(spec, CN_SPEC_MAX_LEN + 1);
	if (len > CN_SPEC_MAX_LEN)
		return cn_err_set(err, CN_ERR_FORMAT, "model spec longer than %d bytes",
		                  CN_SPEC_MAX_LEN);
	struct cursor c = {.err = err};
	int32_t n = 0;
	const char *p = spec, *end = spec + len;
	while (p <= end) {
		const char *q = p;
		while (q < end && *q != '|' && *q != ';') q++;
		if (n == CN_SPEC_MAX_LAYERS)
			return cn_err_set(err, CN_ERR_FORMAT, "model spec has more than %d layers",
			                  CN_SPEC_MAX_LAYERS);
		c.layer = n + 1;
		c.text = p;
		c.text_len = (int)(q - p);
		enum cn_status st = parse_layer(&c, &descs[n]);
		if (st) return st;
		n++;
		p = q + 1;
	}
	*count = n;
	return CN_OK;
}
