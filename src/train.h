/* The trainer's insides, shared by the epoch loop (train.c) and its save/load (train_io.c). */
#ifndef CN_TRAIN_H
#define CN_TRAIN_H

#include <stdbool.h>

#include "colnet.h"
#include "rng.h"
#include "train_opts.h"

struct cn_trainer {
	char err[CN_ERR_LEN];
	struct cn_net *net; /* borrowed, always: the caller frees it after the trainer */
	struct cn_train_opts opts;
	struct cn_optim *optim;
	struct cn_rng rng; /* shuffling; saved in checkpoints so a resume continues exactly */
	int32_t epochs_done;
	struct cn_rng rng_epoch; /* rng before the current epoch's shuffle (a resume reshuffles) */
	struct cn_train_pos pos; /* where a stopped epoch stands; step 0: none */
	int32_t *perm;           /* [perm_len] example order of the current epoch */
	int32_t perm_len;
	int32_t *labels;       /* [opts.batch] labels of the current batch */
	struct cn_group group; /* size 0: alone; else a member of it (cn_trainer_set_group) */
	float *aug_scratch;    /* [aug_len] cn_augment_batch's scratch, when opts.augment is on */
	size_t aug_len;
	float *ema; /* [n_params + n_state] the average (or, while ema_in_net, the trained
	               values), when opts.ema_decay > 0 (train_recipe.c) */
	int64_t ema_updates;
	bool ema_in_net;
};

/* ---- train_recipe.c: what the recipe options add to the plain loop ---- */

/* Validate the recipe options (augment, label smoothing, EMA, warm-up, one-cycle). */
enum cn_status cn_train_recipe_check(const struct cn_train_opts *opts, char *err);
/* Reserve the augmentation scratch and the average (a copy of the net's weights). */
enum cn_status cn_trainer_recipe_plan(struct cn_trainer *t, char *err);
void cn_trainer_recipe_free(struct cn_trainer *t);
/* Warp the batch just gathered: images [first, first + n) of epoch `epoch`'s order. */
void cn_trainer_augment(struct cn_trainer *t, int32_t epoch, int64_t first, int32_t n);
/* Fold the net's weights into the average after an update. */
void cn_trainer_ema_update(struct cn_trainer *t);

/* Whether ds fits net: images of its input shape, no more classes than its outputs (the
   check training and evaluation share); the message goes to err. */
enum cn_status cn_data_check(const struct cn_net *net, const struct cn_dataset *ds, char *err);

#endif
