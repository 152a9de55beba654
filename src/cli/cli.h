/*
 * The colnet tool's shared helpers: strict argument parsing (every number is range-checked,
 * garbage and NaN are refused with one line naming the flag) and the commands' entry points.
 * Front-end code: it uses only the public header.
 */
#ifndef CN_CLI_H
#define CN_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "colnet.h"

#define CLI_DEFAULT_DATA "data/mnist"

/* Print "colnet: <message>" to stderr; returns 2 (usage) or 1 (failure) for exit codes. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse s as an integer or float in [lo, hi] for flag; false (after printing) if it is not. */
bool cli_int(const char *flag, const char *s, long lo, long hi, int32_t *out);
bool cli_u64(const char *flag, const char *s, uint64_t *out);
bool cli_float(const char *flag, const char *s, double lo, double hi, float *out);
bool cli_double(const char *flag, const char *s, double lo, double hi, double *out);

/* One long option of a command: "--flag VALUE" or "--flag=VALUE". */
enum cli_arg_kind {
	CLI_STR,
	CLI_INT,
	CLI_U64,
	CLI_FLOAT,
	CLI_DOUBLE,
	CLI_LIST,
	CLI_BOOL,
	CLI_ALIAS
};
struct cli_arg {
	const char *flag;
	enum cli_arg_kind kind;
	void *dst; /* const char *, int32_t, uint64_t, float or double; CLI_LIST: struct cli_list;
	              CLI_BOOL: bool, set by the bare flag (it takes no value);
	              CLI_ALIAS: the long flag (a const char *) this short one stands for */
	double lo, hi; /* CLI_INT, CLI_FLOAT and CLI_DOUBLE range */
	bool *seen;    /* may be NULL: set when the flag was given */
};

/* Positional arguments (and CLI_LIST values) collected in order; points into argv. */
struct cli_list {
	const char **items;
	int n, cap;
};

/*
 * Parse argv against args; positional arguments go to pos (or are refused if pos is NULL).
 * An option's value is the next argument or follows '='; "--" ends the options (all that
 * follows is positional, even "-h" or "--x"); a short alias ({"-o", CLI_ALIAS, "--output"})
 * is an option only where an option may stand, never as a value. --help prints usage.
 * Returns 0 to go on, -1 after --help, 2 after printing an error.
 */
int cli_parse(int argc, char **argv, const struct cli_arg *args, int n_args, struct cli_list *pos,
              const char *usage);

/* A zoo name or a literal spec; NULL and a message if it is neither usable. */
const char *cli_model_spec(const char *model);

/* ---- model.c: --model as a checkpoint, an ONNX file (named *.onnx), a zoo name or a spec ---- */

bool cli_is_onnx(const char *path);
/* A saved model: cn_onnx_load for *.onnx, else cn_net_load. */
enum cn_status cli_net_load(struct cn_net **net, const char *path, char err[CN_ERR_LEN]);
/* A file as cli_net_load, else a zoo name or spec built for input in from seed; 0, or an exit
   code after a message. */
int cli_model_open(const char *model, struct cn_shape in, uint64_t seed, struct cn_net **net);
/* "HxWxC" (each 1..65536) for --shape; false if it is not that. */
bool cli_shape(const char *s, struct cn_shape *in);

/* Option words into the library's enums and structs; non-zero (after a message) if unknown. */
int cli_optim_kind(const char *name, enum cn_optim_kind *kind);
int cli_schedule(const char *text, struct cn_train_opts *o);
int cli_init(const char *text, struct cn_train_opts *o);

/* Write data to path atomically (temporary file, fsync, rename); message in err on failure. */
int cli_write_atomic(const char *path, const char *data, size_t len, char *err, size_t err_len);

/* Whether a file can be created beside path (so a save fails before training, not after). */
int cli_check_writable(const char *flag, const char *path);

/* ---- stop.c: SIGINT/SIGTERM stop training after the current step ---- */

void cli_stop_install(void);
/* The signal received (0: none yet). */
int cli_stop_signal(void);
const char *cli_signal_name(int sig);

/* ---- report.c: what training shows ---- */

#define CLI_CSV_HEADER "epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_sec"

void cli_table_header(FILE *f);
void cli_table_row(FILE *f, const struct cn_epoch_stats *s, double test_loss, double test_acc);

/* A progress bar on a terminal's stderr; nothing when stderr is not a terminal. */
struct cli_progress {
	int epoch, epochs;
	bool tty;
	double start, last_draw;
};
struct cli_progress cli_progress_start(int epoch, int epochs);
/* A cn_progress_fn: draws the bar; returns non-zero once a stop signal has arrived. */
int cli_progress_update(void *bar, int32_t done, int32_t total, double loss);
void cli_progress_end(struct cli_progress *bar);

/* The CSV log: kept in memory and rewritten atomically after every epoch. */
struct cli_log {
	const char *path;
	char *text;
	size_t len, cap;
};
/* Start the log (NULL path: none); a resumed run keeps the existing rows up to `epochs_done`. */
int cli_log_open(struct cli_log *log, const char *path, int32_t epochs_done);
int cli_log_row(struct cli_log *log, const struct cn_epoch_stats *s, double test_loss,
                double test_acc, char *err);
void cli_log_close(struct cli_log *log);

/* Number of online processors (the default thread count). */
int cli_cores(void);

/* ---- runtime.c: settings the BLAS and OpenMP read at start-up ---- */

/* Set the preferred OPENBLAS_CORETYPE and OMP_WAIT_POLICY and re-execute, if needed. */
void cli_tune_runtime(char **argv);
bool cli_cpu_has_avx512(void);
bool cli_core_is_avx512(const char *core);
/* The kernel family in use and how it was chosen, for info and the bench. */
const char *cli_runtime_note(char *buf, size_t len);

/*
 * ---- group.c (default build) or mpi.c (make MPI=1): the processes training one model ----
 * Alone, rank 0 of 1 and no group. Under mpirun, rank 0 alone prints, logs and saves (the
 * others' stdout goes to /dev/null; their errors still reach stderr).
 */

/* Join the job (MPI_Init) if this is the MPI build; non-zero after a message if that failed. */
int cli_group_init(int *argc, char ***argv);
/* The group for cn_trainer_set_group and cn_evaluate_group; NULL when alone. */
const struct cn_group *cli_group(void);
int cli_group_rank(void);
int cli_group_size(void);
/* Processes of the job on this machine (for the default thread count). */
int cli_group_local_size(void);
/* Whether flag is true on any member (every member must call it). */
bool cli_group_any(bool flag);
/* Whether a[n] holds the same bytes on every member (a hash compared across the group). */
bool cli_group_same(const float *a, size_t n);
/* Leave the job with exit status rc (a failure on one member ends all: MPI_Abort). */
int cli_group_end(int rc);

/* ---- recipe.c: colnet train's recipe options and what follows each epoch's test ---- */

struct cli_recipe_args {
	const char *augment;
	float smoothing, warmup, ema;
	bool have_smoothing, have_warmup, have_ema, nesterov;
};
/* Fold the recipe flags into o; non-zero (after a message) when they do not fit. */
int cli_recipe_apply(const struct cli_recipe_args *r, struct cn_train_opts *o);

/* Seconds on the monotonic clock. */
double cli_seconds(void);

/* The best epoch so far, --save-best's file and --target-acc's target (0: none). */
struct cli_best {
	const char *path;
	double target, start, acc, reached_at;
	int32_t epoch;
	bool reached;
};
/* Test the model (the weight average, if the run keeps one) on test. */
enum cn_status cli_recipe_evaluate(struct cn_trainer *t, struct cn_net *net,
                                   const struct cn_dataset *test, double *loss, double *acc);
/* After epoch's test accuracy: keep the best (saving it to b->path), *stop at the target. */
int cli_recipe_after_epoch(struct cli_best *b, const struct cn_trainer *t, int32_t epoch,
                           double acc, bool *stop);
/* The closing lines: the best epoch, where it and the last one were saved, the target. */
void cli_recipe_closing(const struct cli_best *b, const char *save, const char *log);

/* A checkpoint (--model, required) planned for inference at batch; non-zero after a message. */
int cli_load_model(const char *path, int32_t batch, struct cn_net **net);

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_featuremaps(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
