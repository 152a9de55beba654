/*
 * colnet train: load the data, build or resume a model, run the epochs, and after each one
 * print the reports' table row, rewrite the CSV log and save the checkpoint (both atomically).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "data.h"
#include "picture.h"

static const char usage[] =
    "usage: colnet train [options]\n"
    "  --model NAME|SPEC   zoo model or spec line (default tutorial-cnn); zoo models bring\n"
    "                      their recipe (optimizer, rate, epochs), which flags override;\n"
    "                      or FILE.onnx: fine-tune that model from its weights\n"
    "  --data DIR          MNIST-style IDX files, raw or .gz (default " CLI_DEFAULT_DATA "),\n"
    "                      or one folder per class of PNG/JPEG/PGM/PPM images (then\n"
    "                      DIR/train/ and DIR/test/, if present, are the two sets)\n"
    "  --size HxW          resize those images to H x W (default: the first one's size)\n"
    "  --val X             hold out a fraction X of each class for testing when there is\n"
    "                      no test/ folder (default 0.1; the same images every run)\n"
    "  --epochs N          total epochs (default: the recipe's, else 10)\n"
    "  --batch N           images per step (default: the recipe's, else 100)\n"
    "  --lr X              learning rate\n"
    "  --optim NAME        sgd, momentum (heavy ball), ema (moving-average momentum), adam\n"
    "  --momentum X        momentum (or EMA beta), in [0, 1)\n"
    "  --weight-decay X    L2 weight decay\n"
    "  --clip X            clip the gradient's global L2 norm to X (0: off)\n"
    "  --schedule NAME     const, step[:EPOCHS[:GAMMA]], cosine[:LR_MIN], loss (the\n"
    "                      first epoch at --lr, each next one from the last one's mean\n"
    "                      loss: 0.2 above 1, 0.1 above 0.5, 0.05 above 0.2, else\n"
    "                      loss/5, at least 0.005; stops if an epoch stays at chance),\n"
    "                      onecycle[:LR_MIN[:PEAK]] (up from lr/25 to lr over PEAK of the\n"
    "                      run, default 0.3, then down to LR_MIN), linear[:LR_MIN]\n"
    "  --warmup EPOCHS     linear warm-up of the rate over the first EPOCHS (fractional)\n"
    "  --nesterov          Nesterov momentum (with --optim momentum)\n"
    "  --label-smoothing X targets (1 - X) one-hot + X / classes, X in [0, 1)\n"
    "  --ema DECAY         evaluate and save an exponential moving average of the weights\n"
    "                      (DECAY in [0, 1), e.g. 0.999; 0: off)\n"
    "  --augment SPEC      random warps of each training image: shift:PIXELS,\n"
    "                      rotate:DEGREES, scale:FRACTION, elastic:ALPHA:SIGMA (Simard et\n"
    "                      al. 2003), comma-separated, e.g. shift:2,rotate:10,elastic:34:4\n"
    "  --init NAME[:S]     default, uniform:S, gaussian:S, xavier, xavier-normal, he,\n"
    "                      he-normal\n"
    "  --seed N            seed for initialization and shuffling (default 1)\n"
    "  --threads N         BLAS threads (default: all cores; under mpirun, the cores\n"
    "                      shared out among the machine's processes)\n"
    "  --chunk N           at most N images per convolution GEMM, forward and backward\n"
    "                      (default: the plan's rule; `colnet info` shows its choice)\n"
    "  --save FILE         checkpoint written after every epoch\n"
    "  --save-best FILE    checkpoint of the epoch with the best test accuracy so far\n"
    "  --target-acc X      stop once the test accuracy reaches X (a fraction, or percent\n"
    "                      above 1) and print the time since the start\n"
    "  --resume FILE       continue a saved run exactly (its settings; --epochs extends it)\n"
    "  --log FILE.csv      per-epoch CSV: " CLI_CSV_HEADER "\n"
    "  --plot FILE.png     loss and accuracy curves, redrawn after every epoch\n"
    "  --limit N           train on the first N images only (quick runs)\n"
    "  --test-limit N      evaluate on the first N test images only\n"
    "  --skip-nonfinite    skip a batch whose loss or gradients are NaN or Inf instead of\n"
    "                      stopping (the parameters are not updated from it)\n"
    "SIGINT or SIGTERM stops after the current step, saves an exact checkpoint to --save\n"
    "and exits with 128 + the signal number; --resume then finishes the same run.\n";

struct train_args {
	const char *model, *data, *save, *resume, *log, *optim, *schedule, *init, *plot, *size;
	const char *save_best;
	struct cli_recipe_args recipe;
	double target; /* a double: it is compared with k right of n (cli_recipe_after_epoch) */
	int32_t epochs, batch, threads, chunk, limit, test_limit;
	float lr, momentum, weight_decay, clip, val;
	uint64_t seed;
	bool have_seed, have_lr, have_momentum, have_wd, have_clip, have_setting, skip_nonfinite;
};

static int parse(int argc, char **argv, struct train_args *a)
{
	int threads = cli_cores() / cli_group_local_size();
	*a = (struct train_args){
	    .data = CLI_DEFAULT_DATA, .threads = threads > 1 ? threads : 1, .val = 0.1f};
	bool *set = &a->have_setting; /* any flag --resume cannot honour */
	const struct cli_arg args[] = {
	    {"--model", CLI_STR, &a->model, 0, 0, set},
	    {"--data", CLI_STR, &a->data, 0, 0, NULL},
	    {"--save", CLI_STR, &a->save, 0, 0, NULL},
	    {"--resume", CLI_STR, &a->resume, 0, 0, NULL},
	    {"--log", CLI_STR, &a->log, 0, 0, NULL},
	    {"--plot", CLI_STR, &a->plot, 0, 0, NULL},
	    {"--size", CLI_STR, &a->size, 0, 0, NULL},
	    {"--val", CLI_FLOAT, &a->val, 0.001, 0.9, NULL},
	    {"--optim", CLI_STR, &a->optim, 0, 0, set},
	    {"--schedule", CLI_STR, &a->schedule, 0, 0, set},
	    {"--init", CLI_STR, &a->init, 0, 0, set},
	    {"--epochs", CLI_INT, &a->epochs, 1, 100000, NULL},
	    {"--batch", CLI_INT, &a->batch, 1, 1000000, set},
	    {"--threads", CLI_INT, &a->threads, 1, 256, NULL},
	    {"--chunk", CLI_INT, &a->chunk, 1, 1000000, NULL},
	    {"--limit", CLI_INT, &a->limit, 1, INT32_MAX, NULL},
	    {"--test-limit", CLI_INT, &a->test_limit, 1, INT32_MAX, NULL},
	    {"--lr", CLI_FLOAT, &a->lr, 1e-12, 1e3, &a->have_lr},
	    {"--momentum", CLI_FLOAT, &a->momentum, 0, 0.999999, &a->have_momentum},
	    {"--weight-decay", CLI_FLOAT, &a->weight_decay, 0, 1e3, &a->have_wd},
	    {"--clip", CLI_FLOAT, &a->clip, 0, 1e12, &a->have_clip},
	    {"--seed", CLI_U64, &a->seed, 0, 0, &a->have_seed},
	    {"--skip-nonfinite", CLI_BOOL, &a->skip_nonfinite, 0, 0, NULL},
	    {"--augment", CLI_STR, &a->recipe.augment, 0, 0, set},
	    {"--label-smoothing", CLI_FLOAT, &a->recipe.smoothing, 0, 0.999,
	     &a->recipe.have_smoothing},
	    {"--warmup", CLI_FLOAT, &a->recipe.warmup, 0, 1e6, &a->recipe.have_warmup},
	    {"--ema", CLI_FLOAT, &a->recipe.ema, 0, 0.999999, &a->recipe.have_ema},
	    {"--nesterov", CLI_BOOL, &a->recipe.nesterov, 0, 0, set},
	    {"--save-best", CLI_STR, &a->save_best, 0, 0, NULL},
	    {"--target-acc", CLI_DOUBLE, &a->target, 1e-6, 100, NULL},
	};
	int rc = cli_parse(argc, argv, args, (int)(sizeof(args) / sizeof(args[0])), NULL, usage);
	if (rc) return rc;
	if (a->target > 1) a->target /= 100; /* given in percent */
	struct cli_recipe_args *r = &a->recipe;
	if (a->resume &&
	    (a->have_setting || a->have_lr || a->have_momentum || a->have_wd || a->have_clip ||
	     a->have_seed || r->have_smoothing || r->have_warmup || r->have_ema))
		return cli_usage_error(
		    "train: --resume continues the saved run's settings; only "
		    "--epochs, --data (with --size, --val), --save, --log, --plot, "
		    "--threads, --chunk, the limits, --save-best, --target-acc and "
		    "--skip-nonfinite may be given with it");
	if (cli_group_rank() != 0) { /* rank 0 alone writes files */
		a->save = a->log = a->plot = a->save_best = NULL;
		return 0;
	}
	if (a->save && cli_check_writable("--save", a->save)) return 1;
	if (a->save_best && cli_check_writable("--save-best", a->save_best)) return 1;
	if (a->plot && cli_check_writable("--plot", a->plot)) return 1;
	return 0;
}

/* Fold the flags into the options (recipe first, then what the user said). */
static int make_opts(const struct train_args *a, struct cn_train_opts *o)
{
	const char *name = a->model ? a->model : "tutorial-cnn";
	if (cn_zoo_train_opts(name, o) != CN_OK) *o = cn_train_opts_default();
	if (a->epochs) o->epochs = a->epochs;
	/* the decaying schedules run over the whole run */
	if (o->sched.kind == CN_SCHED_COSINE || o->sched.kind == CN_SCHED_ONECYCLE ||
	    o->sched.kind == CN_SCHED_LINEAR)
		o->sched.epochs = o->epochs;
	if (a->batch) o->batch = a->batch;
	if (a->have_seed) o->seed = a->seed;
	if (a->optim && cli_optim_kind(a->optim, &o->optim.kind)) return 2;
	if (a->have_lr) o->optim.lr = o->sched.lr = a->lr;
	if (a->have_momentum) o->optim.momentum = a->momentum;
	if (a->have_wd) o->optim.weight_decay = a->weight_decay;
	if (a->have_clip) o->optim.clip_norm = a->clip;
	if (a->schedule && cli_schedule(a->schedule, o)) return 2;
	if (a->init && cli_init(a->init, o)) return 2;
	if (cli_recipe_apply(&a->recipe, o)) return 2;
	o->skip_nonfinite = a->skip_nonfinite;
	return 0;
}

static int load_data(const struct train_args *a, struct cn_dataset **train,
                     struct cn_dataset **test, struct cli_classes *cls)
{
	struct cli_data_opts o = {a->data, {0, 0, 0}, a->val, a->limit, a->test_limit};
	*cls = (struct cli_classes){0};
	if (a->size && !cli_size(a->size, &o.size)) return 2;
	return cli_data_load(&o, train, test, cls);
}

/* A network read from an ONNX file keeps its weights: no cn_net_init, the options' init aside. */
static int start_from_file(const struct train_args *a, const struct cn_train_opts *o,
                           const struct cn_dataset *train, const struct cli_classes *cls,
                           struct cn_trainer **t, struct cn_net **net)
{
	char err[CN_ERR_LEN];
	if (cli_net_load(net, a->model, err)) return cli_fail("%s", err);
	struct cn_shape want = cn_net_input_shape(*net), have = cn_dataset_shape(train);
	if (want.c != have.c || want.h != have.h || want.w != have.w)
		return cli_fail("%s takes %dx%dx%d images (CxHxW), the data has %dx%dx%d", a->model,
		                want.c, want.h, want.w, have.c, have.h, have.w);
	if (o->batch > cn_dataset_count(train))
		return cli_usage_error("--batch %d is larger than the %d training images", o->batch,
		                       cn_dataset_count(train));
	if (cli_classes_apply(*net, cls, false)) return 1;
	if (cn_trainer_create(t, *net, o, err)) return cli_fail("%s", err);
	return 0;
}

static int setup(const struct train_args *a, const struct cn_dataset *train,
                 const struct cli_classes *cls, struct cn_trainer **t, struct cn_net **net)
{
	char err[CN_ERR_LEN];
	if (a->resume) {
		if (cn_trainer_load(t, net, a->resume, err)) return cli_fail("%s", err);
		if (cli_classes_apply(*net, cls, true)) return 1;
		cn_trainer_set_skip_nonfinite(*t, a->skip_nonfinite);
		if (a->epochs && cn_trainer_set_epochs(*t, a->epochs))
			return cli_fail("%s", cn_trainer_error(*t));
		return 0;
	}
	struct cn_train_opts o;
	int rc = make_opts(a, &o);
	if (rc) return rc;
	if (a->model && cli_is_onnx(a->model)) /* fine-tune the file's weights */
		return start_from_file(a, &o, train, cls, t, net);
	const char *spec = cli_model_spec(a->model ? a->model : "tutorial-cnn");
	char fitted[1024];
	if (!spec) return 2;
	/* one output per class, whatever the labels say (EMNIST has 27 or 47 of them) */
	if (cls->count) spec = cli_spec_for_classes(spec, cls->count, fitted, sizeof(fitted));
	if (o.batch > cn_dataset_count(train))
		return cli_usage_error("--batch %d is larger than the %d training images", o.batch,
		                       cn_dataset_count(train));
	if (cn_net_create(net, spec, cn_dataset_shape(train), o.seed, err))
		return cli_fail("model: %s", err);
	if (cn_net_init(*net, (enum cn_init)o.init, o.init_scale, o.seed))
		return cli_fail("%s", cn_net_error(*net));
	if (cli_classes_apply(*net, cls, false)) return 1;
	if (cn_trainer_create(t, *net, &o, err)) return cli_fail("%s", err);
	return 0;
}

/* Under mpirun: train as one member of the job (mpi.c); alone, nothing to do. */
static int join(struct cn_trainer *t)
{
	const struct cn_group *g = cli_group();
	if (g && cn_trainer_set_group(t, g)) return cli_fail("%s", cn_trainer_error(t));
	return 0;
}

/*
 * A stop signal arrived: save what was trained since the last save (inside an epoch, the exact
 * mid-epoch state) and exit with the shell's status for that signal, 128 + its number. holder
 * is the file that already has the run (NULL: none yet).
 */
static int stopped(const struct train_args *a, const struct cn_trainer *t, bool dirty, bool mid,
                   const char *holder)
{
	int sig = cli_stop_signal();
	if (!sig) sig = SIGTERM;                     /* another member of the job received it */
	if (cli_group_rank() != 0) return 128 + sig; /* rank 0 saves and speaks */
	char err[CN_ERR_LEN], where[CN_ERR_LEN];
	if (mid)
		snprintf(where, sizeof(where), "%s", cn_trainer_error(t));
	else
		snprintf(where, sizeof(where), "after epoch %d", cn_trainer_epochs_done(t));
	if (a->save && dirty) {
		if (cn_trainer_save(t, a->save, err))
			return cli_fail("interrupted by %s (%s), and the save failed: %s",
			                cli_signal_name(sig), where, err);
		holder = a->save;
		dirty = false;
	}
	if (holder && !dirty)
		fprintf(stderr, "colnet: interrupted by %s (%s); continue with --resume %s\n",
		        cli_signal_name(sig), where, holder);
	else if (holder)
		fprintf(stderr,
		        "colnet: interrupted by %s (%s); without --save, what was trained since "
		        "%s is not saved\n",
		        cli_signal_name(sig), where, holder);
	else
		fprintf(stderr, "colnet: interrupted by %s (%s); nothing saved%s\n",
		        cli_signal_name(sig), where, a->save ? "" : " (no --save)");
	return 128 + sig;
}

int cmd_train(int argc, char **argv)
{
	double start = cli_seconds();
	struct train_args a;
	int rc = parse(argc, argv, &a);
	if (rc) return rc < 0 ? 0 : rc;
	cli_stop_install();
	cn_set_blas_threads(a.threads);
	struct cn_dataset *train = NULL, *test = NULL;
	struct cn_trainer *t = NULL;
	struct cn_net *net = NULL;
	struct cli_log log = {0};
	struct cli_classes cls = {0};
	struct cli_plotter plot = {0};
	rc = load_data(&a, &train, &test, &cls);
	if (!rc) rc = setup(&a, train, &cls, &t, &net);
	if (!rc) rc = join(t);
	if (!rc && a.chunk && cn_net_pin_chunks(net, a.chunk))
		rc = cli_fail("%s", cn_net_error(net));
	if (!rc) rc = cli_log_open(&log, a.log, cn_trainer_epochs_done(t));
	/* the legend names the run by its log, else by its model or checkpoint */
	const char *run = a.log ? a.log : a.resume ? a.resume : a.model ? a.model : "tutorial-cnn";
	if (!rc) rc = cli_plotter_open(&plot, a.plot, run, a.log, cn_trainer_epochs_done(t));
	if (rc) goto done;

	const struct cn_train_opts *o = cn_trainer_opts(t);
	printf("model %s\n", cn_net_spec(net));
	printf("%zu parameters, %d training and %d test images, batch %d, %d epochs, %d "
	       "threads, BLAS %s\n",
	       cn_net_param_count(net), cn_dataset_count(train), cn_dataset_count(test), o->batch,
	       o->epochs, a.threads, cn_blas_core());
	if (cli_group())
		printf("%d processes (MPI), each %d threads and its share of every batch\n",
		       cli_group_size(), a.threads);
	if (cn_augment_on(&o->augment) || o->label_smoothing > 0 || o->ema_decay > 0) {
		char aug[128];
		cn_augment_format(&o->augment, aug, sizeof(aug));
		printf("augment %s, label smoothing %g, weight average %g\n", aug,
		       (double)o->label_smoothing, (double)o->ema_decay);
	}
	cli_table_header(stdout);
	struct cli_best best = {.path = a.save_best, .target = a.target, .start = start, .acc = -1};
	bool dirty = false;            /* trained since the last save */
	const char *holder = a.resume; /* the file that has the run so far */
	while (cn_trainer_epochs_done(t) < o->epochs) {
		if (cli_group_any(cli_stop_signal() != 0)) {
			rc = stopped(&a, t, dirty, false, holder);
			break;
		}
		struct cli_progress bar =
		    cli_progress_start(cn_trainer_epochs_done(t) + 1, o->epochs);
		struct cn_epoch_stats s;
		enum cn_status st = cn_trainer_epoch(t, train, cli_progress_update, &bar, &s);
		cli_progress_end(&bar);
		if (st == CN_ERR_STOPPED) {
			rc = stopped(&a, t, true, true, holder);
			break;
		}
		if (st) {
			rc = cli_fail("%s", cn_trainer_error(t));
			break;
		}
		dirty = true;
		if (!cli_group_same(cn_net_params(net), cn_net_param_count(net)) ||
		    !cli_group_same(cn_net_state(net), cn_net_state_count(net))) {
			rc = cli_fail("epoch %d: the processes' weights or statistics differ",
			              s.epoch);
			break;
		}
		if (s.skipped && cli_group_rank() == 0)
			fprintf(stderr,
			        "colnet: epoch %d: skipped %d batches whose loss or gradients "
			        "were not finite\n",
			        s.epoch, s.skipped);
		if (s.at_chance && cli_group_rank() == 0)
			fprintf(
			    stderr,
			    "colnet: warning: epoch %d: training accuracy %.2f%% is at chance "
			    "level for %d classes: the network learned nothing in a whole epoch "
			    "(if it stays there: dead units, from too high a --lr, or a signal "
			    "too weak to start, from too small an --init)\n",
			    s.epoch, 100 * s.train_acc, cn_dataset_classes(train));
		double test_loss, test_acc;
		if (cli_recipe_evaluate(t, net, test, &test_loss, &test_acc)) {
			rc = cli_fail("evaluate: %s", cn_net_error(net));
			break;
		}
		cli_table_row(stdout, &s, test_loss, test_acc);
		bool reached;
		if ((rc = cli_recipe_after_epoch(&best, t, s.epoch, test_acc, &reached))) break;
		char err[CN_ERR_LEN];
		if (a.log && cli_log_row(&log, &s, test_loss, test_acc, err)) {
			rc = cli_fail("log: %s", err);
			break;
		}
		if (a.save && cn_trainer_save(t, a.save, err)) {
			rc = cli_fail("save: %s", err);
			break;
		}
		if ((rc = cli_plotter_epoch(&plot, &s, test_loss, test_acc))) break;
		dirty = !a.save;
		if (a.save) holder = a.save;
		if (reached) break;
	}
	if (!rc && best.acc >= 0 && cli_group())
		printf("weights (and running statistics) bit-identical on all %d processes "
		       "(checked after every epoch)\n",
		       cli_group_size());
	if (!rc) cli_recipe_closing(&best, a.save, a.log);
done:
	cli_log_close(&log);
	cli_plotter_close(&plot);
	cli_classes_free(&cls);
	cn_trainer_free(t);
	cn_net_free(net); /* the trainer never owns it, resumed or not */
	cn_dataset_free(train);
	cn_dataset_free(test);
	return rc;
}
