/*
 * The MLP report's experiments through the public header: a 2 -> h -> h -> 1 network trained
 * by plain full-batch gradient descent on mean squared error, on two toy sets made here:
 *   linear  n points uniform in [0,1]^2, label 1 above the diagonal (x2 > x1);
 *   xor     the 21-point cross: (i/10, i/10) labelled 0 and (i/10, 1 - i/10) labelled 1,
 *           i = 0..10 (the centre (0.5, 0.5) lies on both diagonals; it is kept once, as 0).
 * The report's defaults: linear, h 4, lr 0.05, 15 000 epochs, 1 000 points (>= 99%); xor, h 100,
 * lr 0.01, 30 000 epochs (100%). Loss and accuracy print every 1 000 epochs, then every
 * prediction beside its label (--show limits how many).
 *
 * The loss is the report's: the squared errors summed over the points (--loss sum, the
 * default), so the gradient grows with the set. colnet's cn_net_loss_mse is the mean over
 * the points; a step on the sum at rate lr is exactly a step on the mean at rate n * lr, and
 * that is how it is taken. --loss mean keeps colnet's convention (and needs n times the rate).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <colnet.h>

struct opts {
	const char *dataset; /* "linear" or "xor" */
	int hidden;
	float lr;
	long epochs;
	int points; /* linear only */
	uint64_t seed;
	const char *act;   /* sigmoid, tanh, relu, leaky, none */
	const char *optim; /* sgd, momentum */
	float beta;
	int conv1d;
	int loss_sum;
	const char *init; /* NULL: colnet's default */
	long every;
	int show;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mlp [options]  (2 -> h -> h -> 1, full-batch gradient descent on MSE)\n"
	    "  --dataset linear|xor  toy set (default linear)\n"
	    "  --hidden N            units per hidden layer (default 4 linear, 100 xor)\n"
	    "  --lr X                learning rate (default 0.05 linear, 0.01 xor)\n"
	    "  --epochs N            full-batch steps (default 15000 linear, 30000 xor)\n"
	    "  --points N            linear set size (default 1000)\n"
	    "  --seed N              data and initialization seed (default 1)\n"
	    "  --act NAME            hidden activation: sigmoid (default), tanh, relu,\n"
	    "                        leaky (slope 0.001), none; the output is sigmoid\n"
	    "  --optim sgd|momentum  plain steps (default) or v = b v + (1 - b) g, p -= lr v\n"
	    "  --beta X              momentum's b (default 0.95)\n"
	    "  --conv1d              front layer: 1x3 convolution, stride 1, over (0, x1, x2, 0)\n"
	    "  --loss sum|mean       squared errors summed over the points (default, the\n"
	    "                        report's) or averaged (colnet's cn_net_loss_mse)\n"
	    "  --init NAME[:S]       re-initialize: default, uniform:S, gaussian:S, xavier, ...\n"
	    "  --every N             print loss and accuracy every N epochs (default 1000)\n"
	    "  --show N              predictions printed at the end (default 21; 0: none)\n");
}

static int bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "mlp: %s '%s': %s (try --help)\n", opt, val, why);
	return 2;
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		char why[64];
		snprintf(why, sizeof why, "want an integer in %ld..%ld", lo, hi);
		return bad(opt, s, why);
	}
	*out = v;
	return 0;
}

static int parse_float(const char *opt, const char *s, float lo, float hi, float *out)
{
	char *end;
	errno = 0;
	float v = strtof(s, &end);
	if (errno || end == s || *end || !(v > lo && v < hi)) {
		char why[64];
		snprintf(why, sizeof why, "want a number in (%g, %g)", (double)lo, (double)hi);
		return bad(opt, s, why);
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	long hidden = -1, epochs = -1, points = 1000, seed = 1, every = 1000, show = 21;
	float lr = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "--conv1d")) {
			o->conv1d = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) return bad("argument", a, "not an option");
		if (i + 1 >= argc) return bad(a, "", "needs a value");
		const char *v = argv[++i];
		int r = 0;
		if (!strcmp(a, "--dataset")) {
			if (strcmp(v, "linear") && strcmp(v, "xor"))
				return bad(a, v, "want linear or xor");
			o->dataset = v;
		} else if (!strcmp(a, "--hidden"))
			r = parse_long(a, v, 1, 100000, &hidden);
		else if (!strcmp(a, "--lr"))
			r = parse_float(a, v, 0.0f, 1e6f, &lr);
		else if (!strcmp(a, "--epochs"))
			r = parse_long(a, v, 1, 100000000, &epochs);
		else if (!strcmp(a, "--points"))
			r = parse_long(a, v, 2, 1000000, &points);
		else if (!strcmp(a, "--seed"))
			r = parse_long(a, v, 0, 2147483647, &seed);
		else if (!strcmp(a, "--act")) {
			if (strcmp(v, "sigmoid") && strcmp(v, "tanh") && strcmp(v, "relu") &&
			    strcmp(v, "leaky") && strcmp(v, "none"))
				return bad(a, v, "want sigmoid, tanh, relu, leaky or none");
			o->act = v;
		} else if (!strcmp(a, "--optim")) {
			if (strcmp(v, "sgd") && strcmp(v, "momentum"))
				return bad(a, v, "want sgd or momentum");
			o->optim = v;
		} else if (!strcmp(a, "--beta")) {
			/* 0 (no momentum) is allowed: not an open interval like the others */
			r = parse_float(a, v, -1.0f, 1.0f, &o->beta);
			if (!r && !(o->beta >= 0.0f)) return bad(a, v, "want a number in [0, 1)");
		} else if (!strcmp(a, "--loss")) {
			if (strcmp(v, "sum") && strcmp(v, "mean"))
				return bad(a, v, "want sum or mean");
			o->loss_sum = !strcmp(v, "sum");
		} else if (!strcmp(a, "--init")) {
			char name[32];
			snprintf(name, sizeof name, "%s", v);
			name[strcspn(name, ":")] = '\0';
			if (cn_init_from_name(name) < 0) return bad(a, v, "unknown initializer");
			o->init = v;
		} else if (!strcmp(a, "--every"))
			r = parse_long(a, v, 1, 100000000, &every);
		else if (!strcmp(a, "--show"))
			r = parse_long(a, v, 0, 1000000, &show);
		else
			return bad("option", a, "unknown");
		if (r) return r;
	}
	int xor = !strcmp(o->dataset, "xor");
	o->hidden = (int)(hidden > 0 ? hidden : xor? 100 : 4);
	o->lr = lr > 0 ? lr : xor? 0.01f : 0.05f;
	o->epochs = epochs > 0 ? epochs : xor? 30000 : 15000;
	o->points = (int)points;
	o->seed = (uint64_t)seed;
	o->every = every;
	o->show = (int)show;
	return 0;
}

/* splitmix64: the data's own generator, so the sets depend on --seed alone */
static double uniform01(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	z ^= z >> 31;
	return (double)(z >> 11) * 0x1.0p-53;
}

/* Fill x [n, 2] and t [n]; returns n. x and t hold room for max(points, 21). */
static int make_data(const struct opts *o, float *x, float *t)
{
	int n = 0;
	if (!strcmp(o->dataset, "xor")) {
		for (int i = 0; i <= 10; i++, n++) {
			x[2 * n] = x[2 * n + 1] = (float)i / 10;
			t[n] = 0;
		}
		for (int i = 0; i <= 10; i++) {
			if (i == 5) continue; /* (0.5, 0.5) is already there, labelled 0 */
			x[2 * n] = (float)i / 10;
			x[2 * n + 1] = (float)(10 - i) / 10;
			t[n++] = 1;
		}
		return n;
	}
	uint64_t s = o->seed ^ 0x6C696E656172u; /* "linear" */
	for (; n < o->points; n++) {
		x[2 * n] = (float)uniform01(&s);
		x[2 * n + 1] = (float)uniform01(&s);
		t[n] = x[2 * n + 1] > x[2 * n] ? 1.0f : 0.0f;
	}
	return n;
}

static double accuracy(const float *y, const float *t, int n)
{
	int right = 0;
	for (int i = 0; i < n; i++) right += (y[i] > 0.5f) == (t[i] > 0.5f);
	return 100.0 * right / n;
}

int main(int argc, char **argv)
{
	struct opts o = {
	    .dataset = "linear", .act = "sigmoid", .optim = "sgd", .beta = 0.95f, .loss_sum = 1};
	for (int i = 1; i < argc; i++) /* the dataset picks the defaults: find it first */
		if (!strcmp(argv[i], "--dataset") && i + 1 < argc) o.dataset = argv[i + 1];
	if (strcmp(o.dataset, "linear") && strcmp(o.dataset, "xor"))
		return bad("--dataset", o.dataset, "want linear or xor");
	int r = parse_args(argc, argv, &o);
	if (r) return r;

	const char *act = !strcmp(o.act, "none")    ? "identity"
	                  : !strcmp(o.act, "leaky") ? "leaky=0.001"
	                                            : o.act;
	char spec[256];
	/* (0, x1, x2, 0): the conv's own zero padding of one column on each side */
	snprintf(spec, sizeof spec, "%slinear %d %s | linear %d %s | linear 1 sigmoid",
	         o.conv1d ? "conv 1 k1x3 p0x1 | " : "", o.hidden, act, o.hidden, act);

	int cap = o.points > 21 ? o.points : 21;
	float *x = malloc(sizeof(float) * 2 * (size_t)cap),
	      *t = malloc(sizeof(float) * (size_t)cap);
	/* every exit below goes through done: what was made is freed, whatever failed */
	int rc = 1;
	struct cn_net *net = NULL;
	struct cn_optim *opt = NULL;
	if (!x || !t) {
		fprintf(stderr, "mlp: out of memory\n");
		goto done;
	}
	int n = make_data(&o, x, t);

	char err[CN_ERR_LEN];
	struct cn_optim_opts oo = cn_optim_opts_default();
	oo.kind = !strcmp(o.optim, "momentum") ? CN_OPTIM_MOMENTUM_EMA : CN_OPTIM_SGD;
	oo.momentum = o.beta;
	/* a step on the summed loss at lr is a step on colnet's mean at n * lr */
	oo.lr = o.loss_sum ? o.lr * (float)n : o.lr;
	cn_set_blas_threads(1); /* a few thousand multiply-adds a step: threads only cost */
	if (cn_net_create(&net, spec, (struct cn_shape){1, 1, 2}, o.seed, err) ||
	    cn_optim_create(&opt, &oo, cn_net_param_count(net), err)) {
		fprintf(stderr, "mlp: %s\n", err);
		goto done;
	}
	if (o.init) {
		char name[32];
		snprintf(name, sizeof name, "%s", o.init);
		char *colon = strchr(name, ':');
		float scale = 0;
		if (colon) {
			*colon = '\0';
			if (parse_float("--init", colon + 1, 0.0f, 1e6f, &scale)) {
				rc = 2;
				goto done;
			}
		}
		if (cn_net_init(net, (enum cn_init)cn_init_from_name(name), scale, o.seed)) {
			fprintf(stderr, "mlp: --init %s: %s\n", o.init, cn_net_error(net));
			rc = 2;
			goto done;
		}
	}
	if (cn_net_plan(net, n, CN_PLAN_TRAIN)) {
		fprintf(stderr, "mlp: %s\n", cn_net_error(net));
		goto done;
	}
	printf("mlp: %s, %d points; %s; %s loss, %s, lr %g, %ld epochs\n", o.dataset, n, spec,
	       o.loss_sum ? "summed" : "mean", !strcmp(o.optim, "sgd") ? "sgd" : "momentum (EMA)",
	       (double)o.lr, o.epochs);

	const float *y = NULL;
	float loss = 0;
	double scale = o.loss_sum ? n : 1; /* colnet's mean to the printed convention */
	for (long e = 1; e <= o.epochs; e++) {
		cn_net_zero_grad(net);
		if (cn_net_forward(net, x, n, &y) || cn_net_loss_mse(net, t, &loss) ||
		    cn_net_backward(net)) {
			fprintf(stderr, "mlp: epoch %ld: %s\n", e, cn_net_error(net));
			goto done;
		}
		/* the optimizer keeps its own message, as every handle does */
		if (cn_optim_step(opt, cn_net_params(net), cn_net_grads(net), oo.lr)) {
			fprintf(stderr, "mlp: epoch %ld: %s\n", e, cn_optim_error(opt));
			goto done;
		}
		if (e % o.every == 0 || e == o.epochs) {
			/* y is the forward before this step: report the network as it is now */
			if (cn_net_forward(net, x, n, &y) || cn_net_loss_mse(net, t, &loss)) {
				fprintf(stderr, "mlp: %s\n", cn_net_error(net));
				goto done;
			}
			printf("epoch %6ld  loss %.6f  accuracy %.2f%%\n", e, loss * scale,
			       accuracy(y, t, n));
		}
	}
	for (int i = 0; i < n && i < o.show; i++)
		printf("(%.3f, %.3f)  predicted %.4f  label %g\n", (double)x[2 * i],
		       (double)x[2 * i + 1], (double)y[i], (double)t[i]);
	printf("final: loss %.6f, accuracy %.2f%% (%d points)\n", loss * scale, accuracy(y, t, n),
	       n);
	rc = 0;
done:
	cn_optim_free(opt);
	cn_net_free(net);
	free(x);
	free(t);
	return rc;
}
