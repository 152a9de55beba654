/*
 * colnet train's recipe options (augmentation, label smoothing, warm-up, Nesterov, weight
 * average) folded into the library's options, and what happens after each epoch's test:
 * the evaluation of the average when there is one, --save-best and --target-acc.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_recipe_apply(const struct cli_recipe_args *r, struct cn_train_opts *o)
{
	char err[CN_ERR_LEN];
	if (r->augment && cn_augment_parse(r->augment, &o->augment, err))
		return cli_usage_error("--augment: %s", err);
	if (r->have_smoothing) o->label_smoothing = r->smoothing;
	if (r->have_warmup) o->sched.warmup = r->warmup;
	if (r->have_ema) o->ema_decay = r->ema;
	if (r->nesterov) {
		if (o->optim.kind != CN_OPTIM_MOMENTUM)
			return cli_usage_error("--nesterov needs --optim momentum");
		o->optim.nesterov = 1;
	}
	return 0;
}

double cli_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum cn_status cli_recipe_evaluate(struct cn_trainer *t, struct cn_net *net,
                                   const struct cn_dataset *test, double *loss, double *acc)
{
	/* with an average, it is the model: the net holds it until the next epoch swaps back */
	if (cn_trainer_opts(t)->ema_decay > 0 && cn_trainer_use_ema(t, 1)) return CN_ERR_STATE;
	return cn_evaluate_group(net, test, cli_group(), loss, acc, NULL);
}

int cli_recipe_after_epoch(struct cli_best *b, const struct cn_trainer *t, int32_t epoch,
                           double acc, bool *stop)
{
	*stop = false;
	if (acc > b->acc) {
		b->acc = acc;
		b->epoch = epoch;
		char err[CN_ERR_LEN];
		if (b->path && cli_group_rank() == 0 && cn_trainer_save(t, b->path, err))
			return cli_fail("--save-best: %s", err);
	}
	/* 9 900 right of 10 000 reaches 99%: the target, a decimal the user wrote, and k/n may
	   sit an ulp apart in binary (99 / 100 above 0.99, as 0.99f did before), while distinct
	   accuracies of any test set under 10^8 images are 10^-8 apart or more */
	if (b->target > 0 && acc >= b->target - 1e-9 && !b->reached) {
		b->reached = true;
		b->reached_at = cli_seconds() - b->start;
		*stop = true;
		if (cli_group_rank() == 0)
			printf("target %.2f%% reached at epoch %d (%.2f%%), %.2f s after start\n",
			       100 * b->target, epoch, 100 * acc, b->reached_at);
	}
	return 0;
}

void cli_recipe_closing(const struct cli_best *b, const char *save, const char *log)
{
	if (b->acc < 0 || cli_group_rank() != 0) return;
	printf("best test accuracy %.2f%% (epoch %d%s%s)", 100 * b->acc, b->epoch,
	       b->path ? ", saved in " : "", b->path ? b->path : "");
	if (save) printf("; last epoch's checkpoint %s", save);
	if (log) printf("; log %s", log);
	printf("\n");
	if (b->target > 0 && !b->reached)
		printf("target %.2f%% not reached (%.2f s after start)\n", 100 * b->target,
		       cli_seconds() - b->start);
}
