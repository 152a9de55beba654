/*
 * Checkpoint files: one reader and one writer for both model-only files and whole training
 * states. The reader distrusts every byte; the writer never leaves a half-written file.
 * checkpoint.c describes the format; checkpoint_train.c and checkpoint_extras.c hold the
 * sections after the parameters.
 */
#ifndef CN_CHECKPOINT_H
#define CN_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "colnet.h"
#include "rng.h"
#include "train_opts.h"

/* What a trainer adds to a model checkpoint. */
struct cn_checkpoint_train {
	int32_t epochs_done;
	struct cn_train_opts opts;
	struct cn_rng rng; /* the shuffling generator after epochs_done epochs */
	int64_t optim_steps;
	size_t optim_state_len;  /* floats */
	float *optim_state;      /* write: borrowed; read: malloc'd, the caller frees */
	struct cn_train_pos pos; /* step > 0: stopped mid-epoch (written as kind 2) */
	/* Version 4 (checkpoint_recipe.c), whenever opts uses a recipe option. With
	   opts.ema_decay > 0 the file's model is the average and the trained values sit in the
	   version-4 section. Write: the average's parameters and state are written as the
	   model, the trained ones in the section (all four borrowed); read: the net receives
	   the average, and trained [n_params + n_state] is malloc'd (the caller frees it). */
	const float *avg_params, *avg_state, *trained_params, *trained_state;
	float *trained;
	int64_t ema_updates;
};

/* Write net (and train, if not NULL) to path atomically. */
enum cn_status cn_checkpoint_write(const char *path, const struct cn_net *net,
                                   const struct cn_checkpoint_train *train, char *err);

/*
 * Read path into a new network; if train is not NULL the file must hold a training state and
 * *train receives it (train->optim_state malloc'd). Errors name the file and the problem.
 */
enum cn_status cn_checkpoint_read(const char *path, struct cn_net **net,
                                  struct cn_checkpoint_train *train, char *err);

/* cn_checkpoint_read on the bytes buf[len] of a file; name is used in messages. No I/O. */
enum cn_status cn_checkpoint_parse(const uint8_t *buf, size_t len, const char *name,
                                   struct cn_net **net, struct cn_checkpoint_train *train,
                                   char *err);

/* ---- the sections, for checkpoint.c ---- */

/* The training section (kinds 1 and 2, checkpoint_train.c): refuse what the reader would
   refuse, write it, read it (t->optim_state malloc'd) for a net of n_params parameters. */
bool cn_checkpoint_train_ok(const struct cn_checkpoint_train *t, size_t n_params);
void cn_checkpoint_put_train(struct cn_bytes_out *o, const struct cn_checkpoint_train *t);
enum cn_status cn_checkpoint_take_train(struct cn_bytes_in *r, uint32_t kind, size_t n_params,
                                        const char *nm, struct cn_checkpoint_train *t, char *err);

/* The format version net is written as (checkpoint_extras.c): 1, 2 with class names, 3 with
   dropout or batchnorm. */
uint32_t cn_checkpoint_version(const struct cn_net *net);
/* The sections that version adds after the training section: the one route for class names,
   the network's generator and its non-trainable state. */
void cn_checkpoint_put_extras(struct cn_bytes_out *o, const struct cn_net *net, uint32_t version,
                              const float *state);
enum cn_status cn_checkpoint_take_extras(struct cn_bytes_in *r, struct cn_net *net,
                                         uint32_t version, const char *nm, char *err);

/* Version 4's section (checkpoint_recipe.c): the recipe options (augmentation, label
   smoothing, EMA, Nesterov, warm-up, one-cycle) and with an EMA the trained values. ok
   refuses what the reader would refuse (message in err). */
bool cn_checkpoint_has_recipe(const struct cn_train_opts *opts);
enum cn_status cn_checkpoint_recipe_ok(const struct cn_checkpoint_train *t, size_t n_params,
                                       size_t n_state, const char *nm, char *err);
void cn_checkpoint_put_recipe(struct cn_bytes_out *o, const struct cn_checkpoint_train *t,
                              size_t n_params, size_t n_state);
enum cn_status cn_checkpoint_take_recipe(struct cn_bytes_in *r, struct cn_checkpoint_train *t,
                                         size_t n_values, const char *nm, char *err);

#endif
