/* A trainer's checkpoint: the net plus options, optimizer state, epochs done and the generator. */
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"
#include "train.h"

enum cn_status cn_trainer_save(const struct cn_trainer *t, const char *path, char err[CN_ERR_LEN])
{
	if (!t || !path) return cn_err_set(err, CN_ERR_ARG, "cn_trainer_save: NULL argument");
	struct cn_checkpoint_train ct = {
	    .epochs_done = t->epochs_done,
	    .opts = t->opts,
	    .rng = t->rng,
	    .optim_steps = cn_optim_step_count(t->optim),
	    .optim_state_len = cn_optim_state_len(t->optim),
	    .optim_state = cn_optim_state(t->optim),
	    .pos = t->pos,
	    .ema_updates = t->ema_updates,
	};
	/* with an average, the file's model is the average and the trained net rides beside it
	   (the net holds whichever cn_trainer_use_ema last put there; t->ema the other) */
	if (t->ema) {
		const float *np = cn_net_params(t->net), *ns = cn_net_state(t->net);
		const float *ep = t->ema, *es = t->ema + cn_net_param_count(t->net);
		ct.avg_params = t->ema_in_net ? np : ep;
		ct.avg_state = t->ema_in_net ? ns : es;
		ct.trained_params = t->ema_in_net ? ep : np;
		ct.trained_state = t->ema_in_net ? es : ns;
	}
	if (t->pos.step) ct.rng = t->rng_epoch; /* the stopped epoch is reshuffled from it */
	return cn_checkpoint_write(path, t->net, &ct, err);
}

enum cn_status cn_trainer_load(struct cn_trainer **out, struct cn_net **net_out, const char *path,
                               char err[CN_ERR_LEN])
{
	if (!out || !net_out || !path)
		return cn_err_set(err, CN_ERR_ARG, "cn_trainer_load: NULL argument");
	*out = NULL;
	*net_out = NULL;
	struct cn_checkpoint_train ct = {0};
	struct cn_net *net = NULL;
	struct cn_trainer *t = NULL;
	enum cn_status st = cn_checkpoint_read(path, &net, &ct, err);
	if (st) return st;
	st = cn_trainer_create(&t, net, &ct.opts, err);
	if (st) goto fail;
	if (cn_optim_state_len(t->optim) != ct.optim_state_len) {
		st = cn_err_set(err, CN_ERR_FORMAT,
		                "%s: optimizer state has %zu values, expected %zu", path,
		                ct.optim_state_len, cn_optim_state_len(t->optim));
		goto fail;
	}
	if (ct.optim_state_len)
		memcpy(cn_optim_state(t->optim), ct.optim_state,
		       ct.optim_state_len * sizeof(float));
	cn_optim_set_step_count(t->optim, ct.optim_steps);
	t->rng = t->rng_epoch = ct.rng;
	t->pos = ct.pos;
	t->epochs_done = ct.epochs_done;
	if (t->ema) {
		/* the net was read with the average; the trained values go back into it */
		size_t np = cn_net_param_count(net), ns = cn_net_state_count(net);
		memcpy(t->ema, cn_net_params(net), np * sizeof(float));
		if (ns) memcpy(t->ema + np, cn_net_state(net), ns * sizeof(float));
		memcpy(cn_net_params(net), ct.trained, np * sizeof(float));
		if (ns) memcpy(cn_net_state(net), ct.trained + np, ns * sizeof(float));
		t->ema_updates = ct.ema_updates;
	}
	free(ct.trained);
	free(ct.optim_state);
	*out = t;
	*net_out = net;
	return CN_OK;
fail:
	free(ct.trained);
	free(ct.optim_state);
	cn_trainer_free(t);
	cn_net_free(net);
	return st;
}
