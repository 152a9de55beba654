/*
 * Learning-rate schedules at fractional epoch t (t < 0 or NaN is taken as 0):
 *   CONST   lr
 *   STEP    lr * gamma^floor(t / step_epochs)
 *   COSINE  lr_min + (lr - lr_min) * (1 + cos(pi * min(t, epochs) / epochs)) / 2
 *   LOSS    0.2 while loss > 1, 0.1 while > 0.5, 0.05 while > 0.2, else max(0.005, loss/5);
 *           lr while no loss has been measured (NaN)
 *   ONECYCLE  x = min(t, epochs) / epochs, rise = peak (0.3 if not in (0, 1)):
 *             x < rise: lr/25 + (lr - lr/25) * x / rise;
 *             else      lr + (lr_min - lr) * (x - rise) / (1 - rise)
 *   LINEAR  lr_min + (lr - lr_min) * (1 - min(t, epochs) / epochs)
 * Warm-up (warmup > 0, every kind but LOSS): the rate above times 0.01 + 0.99 * t / warmup
 * while t < warmup (it starts small, never at 0, which cn_optim_step refuses).
 * The function cannot report an error, so fields it cannot use (step_epochs <= 0 for STEP,
 * epochs <= 0 for COSINE, an unknown kind) give the base lr instead of a division by zero;
 * a NULL schedule gives 0, which cn_optim_step refuses.
 */
#include <math.h>

#include "colnet.h"

#define PI 3.14159265358979323846 /* M_PI is POSIX/XSI, not C11 */

/* The loss rule compares in float, so loss = 0.2f is "not above 0.2" as a user reads it
 * (in double, 0.2f is 0.2000000029... > 0.2). */
static float loss_rule(float loss)
{
	if (loss > 1.0f) return 0.2f;
	if (loss > 0.5f) return 0.1f;
	if (loss > 0.2f) return 0.05f;
	float r = loss / 5.0f;
	return r > 0.005f ? r : 0.005f;
}

static float warm(const struct cn_sched *s, double t, float lr)
{
	if (!(s->warmup > 0.0f) || t >= s->warmup) return lr;
	return (float)(lr * (0.01 + 0.99 * t / s->warmup));
}

static float base_lr(const struct cn_sched *s, double t, float loss);

float cn_sched_lr(const struct cn_sched *s, double t, float loss)
{
	if (!s) return 0.0f;
	if (!(t > 0.0)) t = 0.0; /* also NaN */
	float lr = base_lr(s, t, loss);
	return s->kind == CN_SCHED_LOSS ? lr : warm(s, t, lr);
}

static float base_lr(const struct cn_sched *s, double t, float loss)
{
	switch (s->kind) {
	case CN_SCHED_CONST:
		break;
	case CN_SCHED_STEP:
		if (s->step_epochs <= 0) break;
		return (float)(s->lr * pow(s->gamma, floor(t / s->step_epochs)));
	case CN_SCHED_COSINE: {
		if (s->epochs <= 0) break;
		double x = t < s->epochs ? t / s->epochs : 1.0;
		return (float)(s->lr_min + ((double)s->lr - s->lr_min) * (1.0 + cos(PI * x)) / 2.0);
	}
	case CN_SCHED_LOSS:
		/* no loss yet: the base rate, not 0.2 (heavy-ball momentum 0.9 makes that an
		 * effective 2 on a fresh network, which killed avgpool-cnn on 2 seeds of 5) */
		if (isnan(loss)) break;
		return loss_rule(loss);
	case CN_SCHED_ONECYCLE: {
		if (s->epochs <= 0) break;
		double x = t < s->epochs ? t / s->epochs : 1.0, lr = s->lr, lo = lr / 25.0;
		double rise = s->peak > 0.0f && s->peak < 1.0f ? s->peak : 0.3;
		if (x < rise) return (float)(lo + (lr - lo) * x / rise);
		return (float)(lr + ((double)s->lr_min - lr) * (x - rise) / (1.0 - rise));
	}
	case CN_SCHED_LINEAR: {
		if (s->epochs <= 0) break;
		double x = t < s->epochs ? t / s->epochs : 1.0;
		return (float)(s->lr_min + ((double)s->lr - s->lr_min) * (1.0 - x));
	}
	}
	return s->lr;
}
