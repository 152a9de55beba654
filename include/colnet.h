/*
 * colnet: convolutional networks on the CPU, lowered to GEMM (im2col + OpenBLAS).
 *
 * Conventions of this header:
 * - Every call that can fail returns enum cn_status; results come back through pointers.
 * - Errors, one rule: a failed call always says why. A call on a handle keeps its message in
 *   that handle (cn_net_error, cn_optim_error, cn_dataset_error, cn_trainer_error), also when
 *   the handle is passed const (the message buffer is the only field such a call writes).
 *   Constructors and loaders, which have no handle yet, write into a caller buffer
 *   err[CN_ERR_LEN] (which may be NULL). A message is valid until the next call on the handle.
 * - NULL, one rule: every function takes a NULL handle without crashing. Calls returning a
 *   status return CN_ERR_ARG (and cn_*_error(NULL) says which handle was NULL); getters
 *   return 0, NULL or an all-zero shape; _free(NULL), cn_net_zero_grad(NULL) and the setters
 *   without a status do nothing. NULL in any other pointer argument is CN_ERR_ARG with a
 *   message, unless the declaration says the pointer may be NULL.
 * - Ownership, one rule: whoever creates or loads a handle frees it, and nothing frees a
 *   handle it was given. A trainer borrows its net (from cn_trainer_create or cn_trainer_load
 *   alike): free the trainer first, then the net. A net made by cn_net_share borrows its
 *   model's weights: free it before the model.
 * - Pointers returned by the library are borrowed: valid until the next call that changes the
 *   same handle, and never to be freed by the caller.
 * - Images are float, NHWC (channels last); for one-channel images that is the same as NCHW.
 *   Shapes are written HxWxC everywhere (messages, the colnet tool's options and output).
 * - Threads: no global state, so two networks may be used from two threads at once; one
 *   handle is never used by two threads at once. To serve one model from many threads, give
 *   each thread its own cn_net_share of it (its own plan and workspace, the weights shared
 *   read-only). The one process-wide knob, OpenBLAS's thread count, is behind
 *   cn_set_blas_threads().
 */
#ifndef COLNET_H
#define COLNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libcolnet is built with hidden visibility: what this header declares is its whole ABI. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif

#define CN_VERSION_MAJOR 0
#define CN_VERSION_MINOR 1
#define CN_VERSION_PATCH 0

#define CN_ERR_LEN 256 /* bytes of an error message buffer */

/* ======================== utility ======================== */

enum cn_status {
	CN_OK = 0,
	CN_ERR_ARG,     /* an argument is out of range or NULL */
	CN_ERR_SHAPE,   /* shapes do not fit together */
	CN_ERR_NOMEM,   /* an allocation failed or a size overflowed */
	CN_ERR_IO,      /* a file could not be opened, read or written */
	CN_ERR_FORMAT,  /* a file or spec is malformed */
	CN_ERR_NUMERIC, /* NaN or Inf appeared */
	CN_ERR_STATE,   /* the call is not valid in the handle's current state */
	CN_ERR_STOPPED  /* the caller asked to stop (cn_trainer_epoch: resumable, see there) */
};

/* A short constant name for a status ("invalid argument"). */
const char *cn_status_str(enum cn_status status);

/* "MAJOR.MINOR.PATCH" of the linked library. */
const char *cn_version(void);

/* The BLAS in use, as it describes itself (library, version, core type). */
const char *cn_blas_config(void);

/*
 * The BLAS's kernel family ("Haswell", "SkylakeX", ...). OpenBLAS chooses it when the process
 * starts, from OPENBLAS_CORETYPE if set: a front end that wants other kernels must set that
 * variable and re-execute itself (the colnet tool does so on AVX-512 CPUs given AVX2 kernels).
 */
const char *cn_blas_core(void);

/*
 * The instruction set colnet's own hot loops run on: "avx512f", "avx2" or "default" (baseline
 * x86-64), the widest this CPU supports among those the library was built for (config.mk's
 * CLONES). OpenBLAS chooses its own kernels apart (cn_blas_core).
 */
const char *cn_isa(void);

/*
 * Set OpenBLAS's thread count (process-wide: it is OpenBLAS's only knob). n >= 1. A plan reads
 * it when it is made and decides every layer's threads then (a convolution shares its chunks
 * among them, linear and rbf layers their GEMMs, a dense inference plan its batch): plan
 * again after changing it.
 */
enum cn_status cn_set_blas_threads(int n);

/* ======================== network ======================== */

struct cn_net;

/* Input image shape: channels, height, width. */
struct cn_shape {
	int32_t c, h, w;
};

enum cn_plan_mode {
	CN_PLAN_TRAIN, /* forward, loss and backward */
	CN_PLAN_INFER  /* forward only: no gradients or backward scratch */
};

/*
 * Build a network from a one-line spec and an input shape, initializing its parameters from
 * seed. Spec grammar (layers separated by '|'):
 *   conv CO kK[xK2] [sS[xS2]] [pP[xP2]] [nobias] [ACT]
 *   maxpool K[xK2] [sS[xS2]] [pP[xP2]]      (stride defaults to the kernel)
 *   avgpool K[xK2] [sS[xS2]] [pP[xP2]]
 *   lppool K[xK2] [sS[xS2]] [pP[xP2]] [p=X]  ((Σ|x|^X)^(1/X) per window; X in 1..100, default 2)
 *   linear OUT [nobias] [ACT]               (flattens its input)
 *   rbf K [gaussian|imq] [ACT]              (flattens; gaussian exp(−γ‖x−μ‖²), the default,
 *                                            or imq 1/√(1+γ‖x−μ‖²); K trainable centers μ
 *                                            and widths γ = exp(b))
 *   dropout [P] [ACT]                       (drops with probability P in [0, 1), default 0.5)
 *   batchnorm [ACT]                         (per channel, or per feature after linear)
 *   flatten | ACT
 * where ACT is relu, sigmoid, tanh, identity or leaky[=SLOPE] (default slope 0.01).
 * conv and linear also take init=NAME (default, uniform, gaussian, xavier, xavier-normal, he,
 * he-normal): that layer's initializer, kept whatever cn_net_init is later asked for.
 * Example: "conv 32 k3 p1 relu | maxpool 2 | conv 64 k3 p1 relu | maxpool 2 | linear 10".
 * Errors: CN_ERR_FORMAT (spec), CN_ERR_SHAPE (shapes that cannot work, message names the
 * layer and the numbers), CN_ERR_NOMEM.
 */
enum cn_status cn_net_create(struct cn_net **net, const char *spec, struct cn_shape in,
                             uint64_t seed, char err[CN_ERR_LEN]);

void cn_net_free(struct cn_net *net);

/*
 * A second handle on model's weights, for serving one model from several threads: same spec,
 * input shape and class names, its own plan, workspace and error message, and model's
 * parameters and running statistics shared read-only (no copy). Plan it with CN_PLAN_INFER
 * (CN_PLAN_TRAIN is CN_ERR_STATE, as is cn_net_init); cn_net_grads is NULL. Give each thread
 * its own share: threads then predict at once, each result bit-identical to the same call on
 * model alone. model must outlive its shares and must not be trained, re-initialized or
 * changed while they run. Errors: CN_ERR_ARG, CN_ERR_NOMEM.
 */
enum cn_status cn_net_share(struct cn_net **net, const struct cn_net *model, char err[CN_ERR_LEN]);

/* Message of the last failed call on net ("" if none). Borrowed. */
const char *cn_net_error(const struct cn_net *net);

/*
 * Reserve every buffer the network needs for batches of up to `batch` images: activations,
 * and for CN_PLAN_TRAIN gradients and backward scratch. After this, forward, loss and
 * backward never allocate. Re-planning replaces the previous plan.
 */
enum cn_status cn_net_plan(struct cn_net *net, int32_t batch, enum cn_plan_mode mode);

/* Bytes reserved by the current plan (activations and scratch; 0 before planning). */
size_t cn_net_plan_bytes(const struct cn_net *net);

/*
 * How the plan runs convolution layer i (0-based): images lowered per GEMM in forward and in
 * backward (*backward is 0 in a CN_PLAN_INFER plan). The plan's rule: forward chunks whose
 * column matrix fits about 1 MB, backward chunks that keep each GEMM within 10^6
 * multiply-adds when one image does, never more than a thread's share of the batch.
 * CN_ERR_ARG if layer i is not a convolution, CN_ERR_STATE before a plan.
 */
enum cn_status cn_net_layer_chunks(const struct cn_net *net, int32_t i, int32_t *forward,
                                   int32_t *backward);

/*
 * How the plan runs a forward in evaluation: an inference plan whose layers all work image by
 * image (linear, rbf, activations, flatten, dropout) on more than one thread gives each thread
 * a slice of a batch of *min_images or more (a batch whose GEMM inputs outweigh the weights),
 * which it runs through every layer; *threads is then the thread count. Otherwise (and for
 * smaller batches) each layer shares out its own work; where no batch the plan takes splits,
 * *threads is 1 and *min_images 0. CN_ERR_STATE before a plan.
 */
enum cn_status cn_net_forward_split(const struct cn_net *net, int32_t *threads,
                                    int32_t *min_images);

/*
 * Pin every convolution to at most `images` images per GEMM, forward and backward, instead of
 * the plan's rule (0 gives the rule back). A current plan is re-made at once for its batch
 * and mode. A given choice repeats its results exactly; another choice changes them only by
 * rounding (the sums are grouped differently). CN_ERR_ARG for images < 0.
 */
enum cn_status cn_net_pin_chunks(struct cn_net *net, int32_t images);

/* Number of parameters, and the flat parameter and gradient arrays (same layout). Borrowed. */
size_t cn_net_param_count(const struct cn_net *net);
float *cn_net_params(struct cn_net *net);
float *cn_net_grads(struct cn_net *net);

/* The input shape, and the number of outputs per image (classes, for a classifier). */
struct cn_shape cn_net_input_shape(const struct cn_net *net);
int32_t cn_net_output_len(const struct cn_net *net);

/*
 * The planned input buffer [batch, H, W, C]: fill it and pass it as x to cn_net_forward to
 * save a copy. NULL before planning. Borrowed.
 */
float *cn_net_input(struct cn_net *net);

/*
 * Forward n images x [n, H, W, C] (1 <= n <= planned batch). *y receives the outputs
 * [n, outputs] (borrowed, valid until the next forward). Errors: CN_ERR_STATE (not planned),
 * CN_ERR_ARG.
 */
enum cn_status cn_net_forward(struct cn_net *net, const float *x, int32_t n, const float **y);

/*
 * After a forward: softmax cross-entropy against labels[n] in [0, outputs). *loss receives
 * the mean loss; the gradient is kept for cn_net_backward. probs (may be NULL) receives the
 * softmax [n, outputs] (borrowed). Errors: CN_ERR_ARG (label out of range), CN_ERR_NUMERIC
 * (loss is NaN or Inf), CN_ERR_STATE (no forward, or not planned for training).
 */
enum cn_status cn_net_loss_xent(struct cn_net *net, const int32_t *labels, float *loss,
                                const float **probs);

/*
 * cn_net_loss_xent with label smoothing eps in [0, 1): the target of image i is
 * (1 - eps) one-hot(labels[i]) + eps / outputs, the loss its cross-entropy with the softmax
 * and the gradient softmax - target. eps 0 is cn_net_loss_xent. CN_ERR_ARG for eps out of
 * range, otherwise as cn_net_loss_xent.
 */
enum cn_status cn_net_loss_xent_smooth(struct cn_net *net, const int32_t *labels, float eps,
                                       float *loss, const float **probs);

/* After a forward: mean squared error against targets [n, outputs]. As cn_net_loss_xent. */
enum cn_status cn_net_loss_mse(struct cn_net *net, const float *targets, float *loss);

/*
 * Classify n images x [n, H, W, C] (any n >= 1; slices of the planned batch run in turn):
 * probs [n, outputs] receives each image's softmax of the outputs (may be NULL), classes [n]
 * the index of its largest output (the first of equals; may be NULL). Always with evaluation
 * behaviour (as cn_evaluate; the mode is left as it was). A net not yet planned is planned
 * first for inference at min(n, 64) images (that call allocates; later ones do not).
 * Overwrites the net's last forward. Errors: CN_ERR_ARG, CN_ERR_NOMEM (planning),
 * CN_ERR_NUMERIC (an image's outputs are NaN or Inf; the message names it).
 */
enum cn_status cn_net_predict(struct cn_net *net, const float *x, int32_t n, float *probs,
                              int32_t *classes);

/* Backpropagate the last loss: ADDS this batch's gradients to cn_net_grads(). */
enum cn_status cn_net_backward(struct cn_net *net);

/* Set every gradient to zero (nothing for a share, which has no gradients). */
void cn_net_zero_grad(struct cn_net *net);

/*
 * Training or evaluation behaviour of dropout and batchnorm layers (other layers have none).
 * A forward behaves as in training when the network is in training mode AND planned with
 * CN_PLAN_TRAIN: dropout then draws a fresh inverted mask from the network's seeded generator
 * (seeded by cn_net_create / cn_net_init, so runs repeat for a seed and thread count) and
 * batchnorm normalizes with the batch's statistics and updates its running ones. Otherwise
 * (evaluation mode, or any CN_PLAN_INFER plan) dropout is the identity and batchnorm uses its
 * running statistics. Backward differentiates whichever forward ran last. A network starts in
 * training mode (PyTorch's convention); cn_trainer_epoch and cn_net_train_step switch it on,
 * cn_evaluate always evaluates in evaluation mode and leaves the mode as it was. CN_ERR_ARG if
 * net is NULL.
 */
enum cn_status cn_net_set_training(struct cn_net *net, int on);
int cn_net_training(const struct cn_net *net);

/*
 * The non-trainable state: batchnorm's running mean and variance, [C] each per batchnorm
 * layer, in layer order (0 floats for a network without batchnorm). It is not in the
 * parameter block, so no optimizer or weight decay touches it; checkpoints keep it, and a
 * trainer in a group (cn_trainer_set_group) averages it across the members. Borrowed.
 */
size_t cn_net_state_count(const struct cn_net *net);
float *cn_net_state(struct cn_net *net);

/* Training mode on (cn_net_set_training), then zero_grad + forward + softmax cross-entropy +
   backward, in one call. */
enum cn_status cn_net_train_step(struct cn_net *net, const float *x, const int32_t *labels,
                                 int32_t n, float *loss);

enum cn_init {
	CN_INIT_DEFAULT,        /* PyTorch's default: w, b ~ U(+-1/sqrt(fan_in)) */
	CN_INIT_UNIFORM,        /* w ~ U(+-scale), b = 0 */
	CN_INIT_GAUSSIAN,       /* w ~ N(0, scale^2), b = 0 */
	CN_INIT_XAVIER_UNIFORM, /* w ~ U(+-sqrt(6/(fan_in+fan_out))), b = 0 */
	CN_INIT_XAVIER_NORMAL,  /* w ~ N(0, 2/(fan_in+fan_out)), b = 0 */
	CN_INIT_HE_UNIFORM,     /* w ~ U(+-sqrt(6/fan_in)), b = 0 */
	CN_INIT_HE_NORMAL       /* w ~ N(0, 2/fan_in), b = 0 */
};

/*
 * Re-initialize every parameter with a seeded generator (cn_net_create uses CN_INIT_DEFAULT
 * with its seed). scale is read by UNIFORM and GAUSSIAN only. fan_in is KH*KW*CI for a conv,
 * IN for a linear layer. Whatever kind says, batchnorm restarts as the identity (gamma 1, beta
 * 0, running mean 0, variance 1) and rbf centers are drawn in [0.3, 0.7]^IN with one width
 * 75/IN (made for sigmoid features). The network's generator restarts from seed, and with it
 * the dropout masks.
 */
enum cn_status cn_net_init(struct cn_net *net, enum cn_init kind, float scale, uint64_t seed);

/* The enum cn_init named "default", "uniform", "gaussian", "xavier", "xavier-normal", "he" or
 * "he-normal" (as in specs), or -1. */
int cn_init_from_name(const char *name);

/* Forward FLOPs per image of layer i (a multiply-add counts 2), or -1 if i is out of range. */
int64_t cn_net_layer_flops(const struct cn_net *net, int32_t i);

/* Number of layers, and a one-line description of layer i with its output shape. */
int32_t cn_net_layer_count(const struct cn_net *net);
enum cn_status cn_net_layer_describe(const struct cn_net *net, int32_t i, char *buf, size_t len);

/*
 * Layer i's output from the last cn_net_forward, activation applied: *y [n, H, W, C] (borrowed:
 * valid until the next forward or plan), *shape its per-image shape {C, H, W}, *n the images
 * of that forward. Any of y, shape, n may be NULL; *shape is filled for any valid i, even
 * before a forward. Errors: CN_ERR_ARG (i out of range), CN_ERR_STATE (no forward since the
 * last plan, or a training plan's batch norm that runs together with the max pool after it
 * and so keeps no output of its own: plan for inference to read it; *y is then NULL).
 */
enum cn_status cn_net_layer_output(const struct cn_net *net, int32_t i, const float **y,
                                   struct cn_shape *shape, int32_t *n);

/*
 * Layer i's parameters, borrowed views into cn_net_params(): *w [w_len] and *b [b_len] (NULL
 * and 0 if the layer has none). A conv's w is [CO, KH, KW, CI], a linear layer's [OUT, IN],
 * a batchnorm's w and b its gamma [C] and beta [C], an rbf layer's its centers [K, IN] and
 * log-widths [K] (the filter of both {0, 0, 0});
 * *filter receives the shape of one output's slice of w: {CI, KH, KW} for a conv, {IN, 1, 1}
 * for linear, {0, 0, 0} without weights. Any output pointer may be NULL. CN_ERR_ARG if i is
 * out of range.
 */
enum cn_status cn_net_layer_params(const struct cn_net *net, int32_t i, const float **w,
                                   size_t *w_len, const float **b, size_t *b_len,
                                   struct cn_shape *filter);

#define CN_CLASS_NAME_MAX 255 /* bytes of one class name */

/*
 * Name the outputs of a classifier (say, the folders its images came from): count must equal
 * cn_net_output_len(), each name 1..CN_CLASS_NAME_MAX bytes of printable text (copied);
 * count 0 removes the names. Checkpoints keep them. Errors: CN_ERR_ARG, CN_ERR_NOMEM.
 */
enum cn_status cn_net_set_class_names(struct cn_net *net, const char *const *names, int32_t count);

/* Name of output i, or NULL if the network has no names or i is out of range. Borrowed. */
const char *cn_net_class_name(const struct cn_net *net, int32_t i);

/* ======================== training ======================== */

struct cn_optim;

enum cn_optim_kind {
	CN_OPTIM_SGD,          /* p -= lr * g */
	CN_OPTIM_MOMENTUM,     /* heavy ball: v = mu*v + g; p -= lr * v */
	CN_OPTIM_MOMENTUM_EMA, /* moving average: v = beta*v + (1 - beta)*g; p -= lr * v */
	CN_OPTIM_ADAM          /* Adam with bias correction (Kingma & Ba) */
};

/* Options of an optimizer; start from cn_optim_opts_default() and change fields. */
struct cn_optim_opts {
	enum cn_optim_kind kind;
	float lr;           /* learning rate (a schedule may override it per step) */
	float momentum;     /* mu for MOMENTUM, beta for MOMENTUM_EMA */
	float beta1, beta2; /* Adam */
	float eps;          /* Adam */
	float weight_decay; /* L2: g += weight_decay * p before the update */
	float clip_norm;    /* > 0: scale g so its global L2 norm is at most clip_norm */
	int nesterov;       /* MOMENTUM only, non-zero: Nesterov's look-ahead as PyTorch's
	                       SGD(nesterov=True): v = mu*v + d; p -= lr * (d + mu*v) */
};

/* SGD, lr 0.01, momentum 0.9, Adam betas 0.9/0.999, eps 1e-8, no decay, no clipping. */
struct cn_optim_opts cn_optim_opts_default(void);

/* An optimizer for n_params parameters (its state has the parameters' flat layout). */
enum cn_status cn_optim_create(struct cn_optim **opt, const struct cn_optim_opts *opts,
                               size_t n_params, char err[CN_ERR_LEN]);
void cn_optim_free(struct cn_optim *opt);

/* One update of params [n_params] from grads [n_params] with learning rate lr. Never allocates. */
enum cn_status cn_optim_step(struct cn_optim *opt, float *params, const float *grads, float lr);

/* Message of the optimizer's last failed call ("" if none). Borrowed. */
const char *cn_optim_error(const struct cn_optim *opt);

/* The optimizer's state for checkpoints: its step count and its float state (borrowed). */
int64_t cn_optim_step_count(const struct cn_optim *opt);
void cn_optim_set_step_count(struct cn_optim *opt, int64_t steps);
size_t cn_optim_state_len(const struct cn_optim *opt);
float *cn_optim_state(struct cn_optim *opt);

enum cn_sched_kind {
	CN_SCHED_CONST,  /* lr */
	CN_SCHED_STEP,   /* lr * gamma^floor(epoch / step_epochs) */
	CN_SCHED_COSINE, /* lr_min + (lr - lr_min) (1 + cos(pi t / epochs)) / 2, t fractional */
	/*
	 * 0.2 while loss > 1, 0.1 > 0.5, 0.05 > 0.2, else max(0.005, loss/5), lr while no loss
	 * is known. The trainer reads it once per epoch: the first runs at lr, and after each the
	 * rule of its mean training loss becomes lr for the next (so a checkpoint carries it).
	 */
	CN_SCHED_LOSS,
	CN_SCHED_ONECYCLE, /* one cycle (Smith): linear from lr/25 up to lr over the first
	                      peak*epochs, then linear down to lr_min at epochs */
	CN_SCHED_LINEAR    /* linear decay: lr_min + (lr - lr_min) (1 - t / epochs) */
};

struct cn_sched {
	enum cn_sched_kind kind;
	float lr;            /* base rate */
	int32_t step_epochs; /* STEP */
	float gamma;         /* STEP */
	int32_t epochs;      /* COSINE: length of the run */
	float lr_min;        /* COSINE, ONECYCLE, LINEAR */
	float warmup;        /* > 0: any kind but LOSS is multiplied by a linear warm-up from
	                        0.01 to 1 over the first `warmup` epochs (fractional) */
	float peak;          /* ONECYCLE: fraction of the run spent rising, in (0, 1); 0 is 0.3 */
};

/*
 * Learning rate at fractional epoch t (epoch index + fraction of it done) given a training
 * loss (read by CN_SCHED_LOSS only; NaN: none known, the base rate).
 */
float cn_sched_lr(const struct cn_sched *s, double t, float loss);

/* ======================== data ======================== */

struct cn_dataset;

/*
 * Load images and labels from IDX files, raw or gzip-compressed (detected by content).
 * Images: unsigned bytes with 3 dims [count, H, W] (one channel) or 4 [count, H, W, C];
 * labels: unsigned bytes, 1 dim [count]. Every header field is checked against the file's
 * real length, and the counts against each other. Errors (message names the file and the
 * problem): CN_ERR_IO, CN_ERR_FORMAT, CN_ERR_NOMEM.
 */
enum cn_status cn_dataset_load_idx(struct cn_dataset **ds, const char *images_path,
                                   const char *labels_path, char err[CN_ERR_LEN]);

/*
 * Load the training (train != 0) or test split from a folder holding MNIST's file names:
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte, each raw or with .gz (MNIST, Fashion-MNIST, EMNIST...). Labels may
 * be any byte; cn_dataset_classes counts them.
 */
enum cn_status cn_dataset_load_mnist_dir(struct cn_dataset **ds, const char *dir, int train,
                                         char err[CN_ERR_LEN]);

/* A dataset from memory (copied): count images of shape [H, W, C] bytes and count labels. */
enum cn_status cn_dataset_create(struct cn_dataset **ds, struct cn_shape shape, int32_t count,
                                 const uint8_t *pixels, const uint8_t *labels,
                                 char err[CN_ERR_LEN]);

/*
 * A dataset from float data (copied): count examples x [count, H, W, C] as they are (not
 * scaled; cn_dataset_gather copies them) and labels [count] (classes 0..255), for the trainer
 * and cn_evaluate like any other. cn_dataset_pixels is NULL for it. Errors: CN_ERR_ARG,
 * CN_ERR_SHAPE, CN_ERR_NUMERIC (a NaN or Inf in x; the message names it), CN_ERR_NOMEM.
 */
enum cn_status cn_dataset_create_f32(struct cn_dataset **ds, struct cn_shape shape, int32_t count,
                                     const float *x, const uint8_t *labels, char err[CN_ERR_LEN]);

void cn_dataset_free(struct cn_dataset *ds);

/* Message of the dataset's last failed call ("" if none). Borrowed. */
const char *cn_dataset_error(const struct cn_dataset *ds);

int32_t cn_dataset_count(const struct cn_dataset *ds);
struct cn_shape cn_dataset_shape(const struct cn_dataset *ds);
/* 1 + the largest label. */
int32_t cn_dataset_classes(const struct cn_dataset *ds);
/* Raw bytes, [count, H, W, C] (NULL for a float dataset) and [count] (borrowed). */
const uint8_t *cn_dataset_pixels(const struct cn_dataset *ds);
const uint8_t *cn_dataset_labels(const struct cn_dataset *ds);

/* ======================== augmentation ======================== */

/*
 * Random warps of training images, drawn per image: any combination of translation,
 * rotation, scaling and the elastic distortion of Simard, Steinkraus and Platt (2003),
 * resampled bilinearly (0 outside the image), every channel alike. All zero: off.
 * A trainer applies opts.augment to every batch it gathers: image k of epoch e is warped by
 * a draw keyed by (opts.seed, e, k) alone, so the images repeat for a seed whatever the
 * thread count, and a stopped and resumed run sees exactly the images it would have seen.
 */
struct cn_augment {
	int32_t shift;       /* translation: whole pixels per axis, uniform in [-shift, shift] */
	float rotate;        /* rotation: degrees, uniform in [-rotate, rotate] */
	float scale;         /* scaling: factor uniform in [1 - scale, 1 + scale] */
	float elastic_alpha; /* elastic: per-pixel U(-1, 1) displacements, smoothed by a */
	float elastic_sigma; /* Gaussian of elastic_sigma pixels, times elastic_alpha pixels */
};

/*
 * Parse "shift:2,rotate:10,scale:0.1,elastic:34:4" (items in any order, each at most once
 * meaningful) or "none". Ranges: shift 0..64, rotate 0..180, scale 0..0.9, alpha 0..1000,
 * sigma (0, 16]. CN_ERR_ARG with a message naming the item.
 */
enum cn_status cn_augment_parse(const char *text, struct cn_augment *a, char err[CN_ERR_LEN]);
/* The spec text of a ("none" when off), cut to len bytes. */
void cn_augment_format(const struct cn_augment *a, char *buf, size_t len);
/* Non-zero when a warps anything. */
int cn_augment_on(const struct cn_augment *a);
/* CN_ERR_ARG if a field is out of the ranges above. */
enum cn_status cn_augment_check(const struct cn_augment *a, char err[CN_ERR_LEN]);

/* Floats of scratch cn_augment_batch needs to run on `threads` threads for images of shape. */
size_t cn_augment_scratch_len(struct cn_shape shape, int32_t threads);

/*
 * Warp x [n, H, W, C] in place: image i as image first + i of the stream keyed by seed.
 * Runs on as many threads as scratch [scratch_len] holds room for (at least one). Never
 * allocates. CN_ERR_ARG for bad arguments or options.
 */
enum cn_status cn_augment_batch(const struct cn_augment *a, struct cn_shape shape, float *x,
                                int32_t n, uint64_t seed, int64_t first, float *scratch,
                                size_t scratch_len);

/* Keep only the first count examples (1 <= count <= current count). */
enum cn_status cn_dataset_truncate(struct cn_dataset *ds, int32_t count);

/*
 * Gather examples idx[0..n) into x [n, H, W, C] as floats in [0, 1] (byte / 255) and their
 * labels into labels[n]. Never allocates. CN_ERR_ARG if an index is out of range.
 */
enum cn_status cn_dataset_gather(const struct cn_dataset *ds, const int32_t *idx, int32_t n,
                                 float *x, int32_t *labels);

/* ======================== trainer ======================== */

/* How to train; start from cn_train_opts_default() and change fields. */
struct cn_train_opts {
	int32_t epochs;             /* total epochs of the run */
	int32_t batch;              /* images per step */
	uint64_t seed;              /* shuffling (dropout draws from the network's generator) */
	struct cn_optim_opts optim; /* optim.lr is ignored: the schedule gives the rate */
	struct cn_sched sched;
	int init; /* enum cn_init a front end gives a fresh network (the trainer ignores it) */
	float init_scale;          /* its scale (UNIFORM, GAUSSIAN) */
	int skip_nonfinite;        /* non-zero: skip a batch whose loss or gradients are NaN or Inf
	                       (no update) instead of failing; off by default, not saved */
	struct cn_augment augment; /* warps of the training images (all zero: none) */
	float label_smoothing;     /* in [0, 1): the target is (1 - x) one-hot + x / classes */
	float ema_decay; /* in [0, 1): 0 off; else an exponential moving average of the weights
	                    (and batchnorm statistics), ema = d*ema + (1 - d)*w after every step
	                    with d = min(ema_decay, (1 + steps) / (10 + steps)); see
	                    cn_trainer_use_ema */
};

/* 10 epochs, batch 100, seed 1, Adam, constant lr 0.001, default init. */
struct cn_train_opts cn_train_opts_default(void);

struct cn_trainer;

/* Per-epoch figures. Accuracies are fractions in [0, 1]. */
struct cn_epoch_stats {
	int32_t epoch;     /* 1-based */
	double train_loss; /* mean over the epoch's images */
	double train_acc;
	double seconds;        /* the training part of the epoch */
	double images_per_sec; /* training images / seconds */
	float lr;              /* the rate of the epoch's last step */
	int32_t skipped;       /* batches skipped for NaN or Inf (skip_nonfinite) */
	/*
	 * non-zero: the epoch stayed at chance (accuracy under 1.5/classes, mean loss within 2%
	 * of ln classes): the network learned nothing in it (dead units, or a very slow start)
	 */
	int32_t at_chance;
};

/*
 * Called after every step with images done so far in the epoch and the running mean loss.
 * Return 0 to go on; non-zero stops the epoch after this step (cn_trainer_epoch then returns
 * CN_ERR_STOPPED). A front end stops on a signal by returning a flag its handler sets.
 */
typedef int (*cn_progress_fn)(void *user, int32_t done, int32_t total, double loss);

/*
 * A trainer for net (borrowed: it must outlive the trainer, and cn_trainer_free leaves it). Plans net for training at
 * opts->batch and creates the optimizer. Errors: CN_ERR_ARG (message names the option).
 */
enum cn_status cn_trainer_create(struct cn_trainer **t, struct cn_net *net,
                                 const struct cn_train_opts *opts, char err[CN_ERR_LEN]);
void cn_trainer_free(struct cn_trainer *t);
const char *cn_trainer_error(const struct cn_trainer *t);
int32_t cn_trainer_epochs_done(const struct cn_trainer *t);
const struct cn_train_opts *cn_trainer_opts(const struct cn_trainer *t);
/* Change the total epoch count (e.g. to extend a resumed run); >= 1. */
enum cn_status cn_trainer_set_epochs(struct cn_trainer *t, int32_t epochs);
/* Turn opts.skip_nonfinite on or off (it is not saved: a resumed run says it again). */
void cn_trainer_set_skip_nonfinite(struct cn_trainer *t, int on);

/*
 * With opts.ema_decay > 0: on != 0 puts the averaged weights and batchnorm statistics into
 * the net (the trained ones are kept aside), so cn_evaluate and cn_net_save see the average;
 * on == 0 puts the trained ones back. cn_trainer_epoch always trains the trained ones (it
 * puts them back first). A trainer checkpoint stores the average as its model (what
 * cn_net_load and `colnet eval` read) and the trained weights beside it for the resume.
 * CN_ERR_STATE without an average. No allocation.
 */
enum cn_status cn_trainer_use_ema(struct cn_trainer *t, int on);
/* The average [cn_net_param_count] (borrowed), NULL without one; valid while it is not in
   the net (cn_trainer_use_ema(t, 0)). */
const float *cn_trainer_ema(const struct cn_trainer *t);

/*
 * One epoch over ds in a freshly shuffled order (seeded: the same seed and thread count give
 * the same weights). progress may be NULL. CN_ERR_NUMERIC names the epoch and batch where the
 * loss or the gradients stopped being finite (unless opts.skip_nonfinite: then that batch is
 * skipped, stats->skipped counts it, and only an epoch with every batch skipped fails).
 * CN_ERR_STOPPED: progress asked to stop; the finished steps are kept, and the next call
 * (or cn_trainer_save, cn_trainer_load and then that call) finishes the same epoch on the same
 * data exactly as if it had never stopped. Nothing here allocates except on the first call
 * for a dataset size.
 */
enum cn_status cn_trainer_epoch(struct cn_trainer *t, const struct cn_dataset *ds,
                                cn_progress_fn progress, void *user, struct cn_epoch_stats *stats);

/*
 * Evaluate net on ds in batches of its planned size: mean cross-entropy, accuracy, and if
 * confusion is not NULL the [outputs x outputs] counts (row: true label, column: predicted).
 * Always with evaluation behaviour (no dropout, batchnorm's running statistics, none of them
 * updated), whatever cn_net_training says; the mode is left as it was.
 */
enum cn_status cn_evaluate(struct cn_net *net, const struct cn_dataset *ds, double *loss,
                           double *accuracy, int64_t *confusion);

/* ======================== process groups (data parallel) ======================== */

/*
 * Data-parallel training across processes (or machines) without the library knowing the
 * transport: the front end gives a group, and the trainer calls reduce, which must sum buf
 * [n] elementwise across the group's members in place, every member ending with the same
 * bits (MPI_Allreduce with MPI_SUM and MPI_IN_PLACE, as the colnet tool's MPI build does).
 * Return 0, or non-zero when the reduction failed. Every member makes the same calls in the
 * same order; a member that fails otherwise leaves the others waiting in reduce, so the front
 * end ends the whole job then (MPI_Abort).
 */
enum cn_reduce_type { CN_REDUCE_FLOAT, CN_REDUCE_DOUBLE };
typedef int (*cn_reduce_fn)(void *ctx, void *buf, size_t n, enum cn_reduce_type type);
struct cn_group {
	int32_t rank, size; /* this member, 0 <= rank < size */
	cn_reduce_fn reduce;
	void *ctx; /* passed to reduce */
};

/*
 * Train as member g->rank of g->size (g is copied; NULL: alone again). Every member builds
 * the same net and trainer (same seed, options, or checkpoint) and calls cn_trainer_epoch on
 * the same dataset: each draws the same shuffle, takes its own disjoint slice of each batch
 * of opts.batch images (the last rank's slices may be smaller, or empty), and after backward
 * the gradient block is summed across the group in one reduce call, so every member applies
 * the same step and the weights stay identical; the loss, accuracy, NaN/Inf decision and a
 * stop request (progress returning non-zero on any member) are reduced too. The figures and
 * the checkpoint do not depend on g->size: a run saved by 4 members resumes on 1, and back.
 * In a group, progress is called before each step's update (its answer is reduced with the
 * step's figures). Batchnorm normalizes each member's slice with that slice's statistics
 * (not synchronized); the running statistics are averaged across the group at each epoch's
 * end and stop, so every member holds the same. Re-plans the net for batches of
 * ceil(opts.batch / size). Errors:
 * CN_ERR_ARG, CN_ERR_NOMEM; CN_ERR_IO from cn_trainer_epoch if reduce failed.
 */
enum cn_status cn_trainer_set_group(struct cn_trainer *t, const struct cn_group *g);

/*
 * cn_evaluate split across a group: member r evaluates its contiguous share of ds and the
 * sums are reduced, so every member receives the whole set's figures. g NULL: cn_evaluate.
 */
enum cn_status cn_evaluate_group(struct cn_net *net, const struct cn_dataset *ds,
                                 const struct cn_group *g, double *loss, double *accuracy,
                                 int64_t *confusion);

/* ======================== files ======================== */

/*
 * Checkpoints are self-describing (spec, input shape, parameters, class names if set; for a
 * trainer also the options, optimizer state, epochs done and the shuffling generator's
 * state), versioned, CRC-32 checked, little-endian, and written atomically (temporary file,
 * fsync, rename): a crash mid-save never destroys the previous file.
 */
enum cn_status cn_net_save(const struct cn_net *net, const char *path, char err[CN_ERR_LEN]);
enum cn_status cn_net_load(struct cn_net **net, const char *path, char err[CN_ERR_LEN]);

/*
 * cn_net_load from the bytes of a checkpoint file in memory, buf [len] (firmware images,
 * resources, network buffers): the same checks, the same messages, no file access. buf is
 * only read, and may be freed once this returns.
 */
enum cn_status cn_net_load_mem(struct cn_net **net, const void *buf, size_t len,
                               char err[CN_ERR_LEN]);

/*
 * Save the whole training state; resume with cn_trainer_load, which creates both handles,
 * both the caller's, the trainer borrowing *net as from cn_trainer_create: free the trainer,
 * then the net. After
 * cn_trainer_epoch returned CN_ERR_STOPPED the file also holds where that epoch stood, and
 * the loaded trainer's next cn_trainer_epoch finishes it exactly (on the same dataset).
 */
enum cn_status cn_trainer_save(const struct cn_trainer *t, const char *path, char err[CN_ERR_LEN]);
enum cn_status cn_trainer_load(struct cn_trainer **t, struct cn_net **net, const char *path,
                               char err[CN_ERR_LEN]);

/* The spec a network was built from (borrowed). */
const char *cn_net_spec(const struct cn_net *net);

/* The named model specs ("tutorial-cnn", "lenet5", ...): NULL if unknown. */
const char *cn_zoo_spec(const char *name);
/* Name of zoo entry i, NULL past the end. */
const char *cn_zoo_name(int i);
/* The recipe a zoo model was trained with (optimizer, rate, epochs). CN_ERR_ARG if unknown. */
enum cn_status cn_zoo_train_opts(const char *name, struct cn_train_opts *opts);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
