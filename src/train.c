/*
 * The epoch loop: shuffle with the trainer's seeded generator, gather each batch straight into
 * the net's planned input, forward + loss + backward, one optimizer step over the flat arrays.
 * Nothing in the loop allocates; the permutation is sized once per dataset size.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "finite.h"
#include "net.h"
#include "train.h"
#include "util.h"

enum cn_status cn_trainer_create(struct cn_trainer **out, struct cn_net *net,
                                 const struct cn_train_opts *opts, char err[CN_ERR_LEN])
{
	if (!out || !net || !opts)
		return cn_err_set(err, CN_ERR_ARG, "cn_trainer_create: NULL argument");
	*out = NULL;
	enum cn_status st = cn_train_opts_check(opts, err);
	if (!st) st = cn_train_recipe_check(opts, err);
	if (st) return st;
	struct cn_trainer *t = calloc(1, sizeof(*t));
	if (!t) return cn_err_set(err, CN_ERR_NOMEM, "out of memory");
	t->net = net;
	t->opts = *opts;
	cn_rng_seed(&t->rng, opts->seed);
	t->labels = malloc((size_t)opts->batch * sizeof(int32_t));
	if (!t->labels) {
		st = cn_err_set(err, CN_ERR_NOMEM, "out of memory");
		goto fail;
	}
	/* the schedule gives every step's rate; the optimizer's own lr is only its default */
	struct cn_optim_opts oo = opts->optim;
	oo.lr = opts->sched.lr;
	st = cn_optim_create(&t->optim, &oo, cn_net_param_count(net), err);
	if (st) goto fail;
	if (cn_net_plan(net, opts->batch, CN_PLAN_TRAIN)) {
		st = cn_err_set(err, CN_ERR_NOMEM, "%s", cn_net_error(net));
		goto fail;
	}
	if ((st = cn_trainer_recipe_plan(t, err))) goto fail;
	*out = t;
	return CN_OK;
fail:
	cn_trainer_free(t);
	return st;
}

void cn_trainer_free(struct cn_trainer *t)
{
	if (!t) return;
	cn_optim_free(t->optim); /* never the net: it is the caller's (colnet.h) */
	cn_trainer_recipe_free(t);
	free(t->perm);
	free(t->labels);
	free(t);
}

const char *cn_trainer_error(const struct cn_trainer *t)
{
	return t ? t->err : "trainer is NULL";
}

int32_t cn_trainer_epochs_done(const struct cn_trainer *t)
{
	return t ? t->epochs_done : 0;
}

const struct cn_train_opts *cn_trainer_opts(const struct cn_trainer *t)
{
	return t ? &t->opts : NULL;
}

enum cn_status cn_trainer_set_epochs(struct cn_trainer *t, int32_t epochs)
{
	if (!t) return CN_ERR_ARG;
	if (epochs < 1 || epochs > 1000000)
		return cn_err_set(t->err, CN_ERR_ARG, "epochs %d must be in 1..1000000", epochs);
	t->opts.epochs = epochs;
	enum cn_sched_kind k = t->opts.sched.kind;
	if (k == CN_SCHED_COSINE || k == CN_SCHED_ONECYCLE || k == CN_SCHED_LINEAR)
		t->opts.sched.epochs = epochs;
	return CN_OK;
}

void cn_trainer_set_skip_nonfinite(struct cn_trainer *t, int on)
{
	if (t) t->opts.skip_nonfinite = on != 0;
}

enum cn_status cn_trainer_set_group(struct cn_trainer *t, const struct cn_group *g)
{
	if (!t) return CN_ERR_ARG;
	if (g && (g->size < 1 || g->rank < 0 || g->rank >= g->size || !g->reduce))
		return cn_err_set(t->err, CN_ERR_ARG,
		                  "group: rank %d of %d (needs 0 <= rank < size and a reduce "
		                  "function)",
		                  g->rank, g->size);
	t->group = g ? *g : (struct cn_group){0};
	/* a member holds at most its share of a batch: plan (and spend memory) for that only */
	int32_t size = g ? g->size : 1, local = (t->opts.batch + size - 1) / size;
	if (cn_net_plan(t->net, local, CN_PLAN_TRAIN))
		return cn_err_set(t->err, CN_ERR_NOMEM, "%s", cn_net_error(t->net));
	return CN_OK;
}

/*
 * An epoch at chance learned nothing: accuracy under 1.5/classes and a mean loss within 2%
 * of ln(classes), a uniform guess's. A dead network answers one class whatever the image
 * (MNIST: 9.8-11.4%, loss 2.3026 = ln 10); a healthy avgpool-cnn epoch 1 is above 75%
 * (loss under 0.7). A very slow start may be flagged too: for the CLI, a warning.
 * (With classes far from balanced, a dead network's loss is lower and goes unflagged.)
 */
static bool at_chance(double acc, double loss, int32_t classes)
{
	return classes > 1 && acc < 1.5 / classes && loss > 0.98 * log((double)classes);
}

/*
 * Batch norm's running statistics are per member (each normalizes its own slice, as DDP does by
 * default); averaging them whenever the trainer hands control back keeps every member's state,
 * and so every saved file, the same. 0, or the reduce's failure.
 */
static int average_state(struct cn_net *net, const struct cn_group *g)
{
	size_t len = cn_net_state_count(net);
	float *state = cn_net_state(net);
	if (!len || g->size == 1) return 0;
	if (g->reduce(g->ctx, state, len, CN_REDUCE_FLOAT)) return -1;
	float inv = 1.0f / (float)g->size;
	for (size_t i = 0; i < len; i++) state[i] *= inv;
	return 0;
}

/* Checks the epoch's data against the run, and orders it: the shuffle of count indices, or
   for a stopped epoch the same shuffle again. *p receives where the epoch starts. */
static enum cn_status begin_epoch(struct cn_trainer *t, int32_t count, struct cn_train_pos *p)
{
	if (count < t->opts.batch)
		return cn_err_set(t->err, CN_ERR_ARG, "batch %d is larger than the %d examples",
		                  t->opts.batch, count);
	/* a stopped epoch resumes on the same data: its order is the shuffle of count indices */
	*p = t->pos;
	if (p->step && p->count != count)
		return cn_err_set(t->err, CN_ERR_ARG,
		                  "epoch %d stopped after batch %d of its %d images; resuming it "
		                  "needs the same data, not %d images",
		                  t->epochs_done + 1, p->step, p->count, count);
	if (t->perm_len != count) {
		free(t->perm);
		t->perm_len = 0;
		t->perm = malloc((size_t)count * sizeof(int32_t));
		if (!t->perm) return cn_err_set(t->err, CN_ERR_NOMEM, "out of memory");
		t->perm_len = count;
	}
	for (int32_t i = 0; i < count; i++) t->perm[i] = i;
	if (p->step) {
		t->rng = t->rng_epoch;
	} else {
		t->rng_epoch = t->rng;
		*p = (struct cn_train_pos){.count = count};
	}
	t->pos = (struct cn_train_pos){0};           /* set again only if this call stops */
	if (t->ema_in_net) cn_trainer_use_ema(t, 0); /* train the trained weights */
	cn_rng_shuffle(&t->rng, t->perm, count);
	return CN_OK;
}

/* One step of the epoch: this member's figures, then (after reduce_step) the group's. */
struct step {
	int32_t index;     /* 0-based, in the epoch */
	int32_t first, n;  /* the batch: images [first, first + n) of the epoch's order */
	int32_t lo, ln;    /* this member's slice of it, possibly empty */
	double loss_sum;   /* sum of per-image losses */
	int64_t right;     /* correct predictions */
	enum cn_status st; /* CN_ERR_NUMERIC: a loss or a gradient is not finite */
	bool stop;         /* the caller asked to stop after this step */
};

/* Forward, loss and backward of this member's slice: the gradients hold its mean. Fails only
   on errors other than numerics, which st records. */
static enum cn_status local_step(struct cn_trainer *t, const struct cn_dataset *ds, struct step *s)
{
	struct cn_net *net = t->net;
	int32_t k = cn_net_output_len(net);
	float loss = 0;
	const float *probs = NULL;
	cn_net_zero_grad(net);
	if (s->ln > 0) {
		cn_dataset_gather(ds, t->perm + s->lo, s->ln, cn_net_input(net), t->labels);
		cn_trainer_augment(t, t->epochs_done, s->lo, s->ln);
		s->st = cn_net_forward(net, cn_net_input(net), s->ln, NULL);
		if (!s->st)
			s->st = cn_net_loss_xent_smooth(net, t->labels, t->opts.label_smoothing,
			                                &loss, &probs);
		if (!s->st) s->st = cn_net_backward(net);
	}
	if (s->st && s->st != CN_ERR_NUMERIC)
		return cn_err_set(t->err, s->st, "%s", cn_net_error(net));
	if (s->st) return CN_OK;
	for (int32_t i = 0; i < s->ln; i++)
		s->right += cn_argmax(k, probs + (size_t)i * k) == t->labels[i];
	s->loss_sum = (double)loss * s->ln;
	return CN_OK;
}

/* The group's step: each member's gradients weighed by its share of the batch and summed,
   its figures summed, and a stop if any member's caller asked for one (want). */
static enum cn_status reduce_step(struct cn_trainer *t, const struct cn_group *g, struct step *s,
                                  bool want)
{
	float *grads = cn_net_grads(t->net);
	size_t np = cn_net_param_count(t->net);
	if (s->ln > 0 && s->ln != s->n) {
		float w = (float)s->ln / (float)s->n;
		for (size_t i = 0; i < np; i++) grads[i] *= w;
	}
	double sums[4] = {s->loss_sum, (double)s->right, s->st ? 1 : 0, want ? 1 : 0};
	if (g->reduce(g->ctx, grads, np, CN_REDUCE_FLOAT) ||
	    g->reduce(g->ctx, sums, 4, CN_REDUCE_DOUBLE))
		return cn_err_set(t->err, CN_ERR_IO,
		                  "epoch %d, batch %d: the reduction across the group failed",
		                  t->epochs_done + 1, s->index + 1);
	s->loss_sum = sums[0];
	s->right = (int64_t)sums[1];
	s->st = sums[2] > 0 ? CN_ERR_NUMERIC : CN_OK;
	s->stop = sums[3] > 0;
	return CN_OK;
}

/* The step counted into the epoch's position and the optimizer's step taken, or, for a loss
   or gradients that are not finite, skipped (when the options allow) or refused. */
static enum cn_status update(struct cn_trainer *t, struct step *s, int32_t steps,
                             struct cn_train_pos *p, float *lr)
{
	float *grads = cn_net_grads(t->net);
	size_t np = cn_net_param_count(t->net);
	int32_t epoch = t->epochs_done;
	if (!s->st && !cn_all_finite(grads, np)) s->st = CN_ERR_NUMERIC;
	if (s->st && !t->opts.skip_nonfinite)
		return cn_err_set(t->err, s->st,
		                  "epoch %d, batch %d: loss or gradients are not finite (try a "
		                  "lower learning rate)",
		                  epoch + 1, s->index + 1);
	if (s->st) {
		p->skipped++; /* no update: the parameters and optimizer stay as they were */
		return CN_OK;
	}
	p->right += s->right;
	p->loss_sum += s->loss_sum;
	p->seen += s->n;
	/* the loss rule is read once an epoch, in cn_trainer_epoch: within one, its rate is lr */
	*lr = cn_sched_lr(&t->opts.sched, epoch + (double)s->index / steps, NAN);
	enum cn_status st = cn_optim_step(t->optim, cn_net_params(t->net), grads, *lr);
	if (st) return cn_err_set(t->err, st, "%s", cn_optim_error(t->optim));
	cn_trainer_ema_update(t);
	return CN_OK;
}

/* Stopped after step s: the group's statistics averaged, the position kept for a resume. */
static enum cn_status stop_epoch(struct cn_trainer *t, const struct cn_group *g,
                                 const struct step *s, int32_t steps, struct cn_train_pos *p,
                                 double t0)
{
	int32_t epoch = t->epochs_done;
	if (g && average_state(t->net, g))
		return cn_err_set(t->err, CN_ERR_IO,
		                  "epoch %d, batch %d: averaging the running statistics across "
		                  "the group failed",
		                  epoch + 1, s->index + 1);
	p->step = s->index + 1;
	p->seconds += cn_now() - t0;
	t->pos = *p;
	return cn_err_set(t->err, CN_ERR_STOPPED, "stopped in epoch %d after batch %d of %d",
	                  epoch + 1, s->index + 1, steps);
}

static double running_loss(const struct cn_train_pos *p)
{
	return p->seen ? p->loss_sum / p->seen : 0;
}

enum cn_status cn_trainer_epoch(struct cn_trainer *t, const struct cn_dataset *ds,
                                cn_progress_fn progress, void *user, struct cn_epoch_stats *stats)
{
	if (!t) return CN_ERR_ARG;
	if (!ds) return cn_err_set(t->err, CN_ERR_ARG, "train epoch: the dataset is NULL");
	struct cn_net *net = t->net;
	struct cn_train_pos p;
	int32_t count = cn_dataset_count(ds);
	enum cn_status st = cn_data_check(net, ds, t->err);
	if (!st) st = begin_epoch(t, count, &p);
	if (st) return st;

	int32_t batch = t->opts.batch, steps = (count + batch - 1) / batch;
	int32_t epoch = t->epochs_done; /* 0-based index of this epoch */
	double t0 = cn_now();
	float lr = t->opts.sched.lr;
	cn_net_set_training(net, 1); /* dropout and batch statistics, whatever a caller set */
	const struct cn_group *g = t->group.size ? &t->group : NULL;
	for (int32_t i = p.step; i < steps; i++) {
		struct step s = {.index = i, .first = i * batch};
		s.n = CN_MIN(batch, count - s.first);
		s.lo = s.first, s.ln = s.n;
		if (g) {
			int32_t a, b;
			cn_share(s.n, g->rank, g->size, &a, &b);
			s.lo = s.first + a, s.ln = b - a;
		}
		if ((st = local_step(t, ds, &s))) return st;
		/* a group asks before the update, so every member learns of a stop in the sums */
		if (g && (st = reduce_step(
		              t, g, &s,
		              progress && progress(user, s.first + s.n, count, running_loss(&p)))))
			return st;
		if ((st = update(t, &s, steps, &p, &lr))) return st;
		if (!g) s.stop = progress && progress(user, s.first + s.n, count, running_loss(&p));
		if (s.stop && i + 1 < steps) return stop_epoch(t, g, &s, steps, &p, t0);
	}
	if (g && average_state(net, g))
		return cn_err_set(
		    t->err, CN_ERR_IO,
		    "epoch %d: averaging the running statistics across the group failed",
		    epoch + 1);
	if (p.skipped == steps)
		return cn_err_set(t->err, CN_ERR_NUMERIC,
		                  "epoch %d: all %d batches had a loss or gradients that are not "
		                  "finite (try a lower learning rate)",
		                  epoch + 1, steps);
	double mean_loss = p.seen ? p.loss_sum / p.seen : NAN;
	double acc = p.seen ? (double)p.right / p.seen : 0;
	int32_t classes = cn_dataset_classes(ds);
	bool chance = at_chance(acc, mean_loss, classes);
	if (t->opts.sched.kind == CN_SCHED_LOSS) {
		float next = cn_sched_lr(&t->opts.sched, epoch + 1, (float)mean_loss);
		if (chance)
			return cn_err_set(
			    t->err, CN_ERR_NUMERIC,
			    "epoch %d: training accuracy %.2f%% is at chance level for "
			    "%d classes: the network learned nothing in a whole epoch, and "
			    "the loss-driven rate would go on at %g; stopping (try a lower "
			    "learning rate)",
			    epoch + 1, 100 * acc, classes, (double)next);
		t->opts.sched.lr = next;
	}
	double secs = p.seconds + (cn_now() - t0);
	t->epochs_done++;
	if (stats) {
		*stats = (struct cn_epoch_stats){
		    .epoch = t->epochs_done,
		    .train_loss = p.seen ? mean_loss : 0,
		    .train_acc = acc,
		    .seconds = secs,
		    .images_per_sec = secs > 0 ? count / secs : 0,
		    .lr = lr,
		    .skipped = p.skipped,
		    .at_chance = chance,
		};
	}
	return CN_OK;
}
