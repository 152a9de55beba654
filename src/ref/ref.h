/*
 * Naive references: the same ops as ops/ops.h written as plain loops, for obviousness and not
 * speed. Tests use them as the oracle, the bench as the baseline. Same contracts (backward
 * accumulates dw/db and overwrites dx; dx/db may be NULL), no workspace, no chunking.
 */
#ifndef CN_REF_H
#define CN_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../geom.h"
#include "../ops/ops.h"
#include "../tensor.h"

void cn_conv2d_forward_ref(const struct cn_geom *g, int32_t co, const float *w, const float *b,
                           const struct cn_tensor *x, struct cn_tensor *y);
/* Backward references: dx, dw and db may each be NULL (not computed), so a pass can be timed
 * alone (bench_layers). */
void cn_conv2d_backward_ref(const struct cn_geom *g, int32_t co, const float *w,
                            const struct cn_tensor *x, const struct cn_tensor *dy,
                            struct cn_tensor *dx, float *dw, float *db);

void cn_linear_forward_ref(int32_t n, int32_t in, int32_t out, const float *w, const float *b,
                           const float *x, float *y);
void cn_linear_backward_ref(int32_t n, int32_t in, int32_t out, const float *w, const float *x,
                            const float *dy, float *dx, float *dw, float *db);

void cn_maxpool2d_forward_ref(const struct cn_geom *g, const struct cn_tensor *x,
                              struct cn_tensor *y, int32_t *argmax);
void cn_maxpool2d_backward_ref(const struct cn_geom *g, const struct cn_tensor *dy,
                               const int32_t *argmax, struct cn_tensor *dx);
void cn_avgpool2d_forward_ref(const struct cn_geom *g, const struct cn_tensor *x,
                              struct cn_tensor *y);
void cn_avgpool2d_backward_ref(const struct cn_geom *g, const struct cn_tensor *dy,
                               struct cn_tensor *dx);

void cn_lppool2d_forward_ref(const struct cn_geom *g, float p, const struct cn_tensor *x,
                             struct cn_tensor *y);
void cn_lppool2d_backward_ref(const struct cn_geom *g, float p, const struct cn_tensor *x,
                              const struct cn_tensor *dy, struct cn_tensor *dx);

/* r may be NULL; backward needs no workspace (it recomputes r from x, μ and γ). */
void cn_rbf_forward_ref(enum cn_rbf_kind kind, int32_t n, int32_t d, int32_t k, const float *mu,
                        const float *lg, const float *x, float *y);
void cn_rbf_backward_ref(enum cn_rbf_kind kind, int32_t n, int32_t d, int32_t k, const float *mu,
                         const float *lg, const float *x, const float *dy, float *dx, float *dmu,
                         float *dlg);

void cn_act_forward_ref(enum cn_act act, float slope, const float *x, float *y, size_t len);
void cn_act_backward_ref(enum cn_act act, float slope, const float *y, const float *dy, float *dx,
                         size_t len);

float cn_softmax_xent_forward_ref(int32_t n, int32_t k, const float *logits, const int32_t *labels,
                                  float *prob);
void cn_softmax_xent_backward_ref(int32_t n, int32_t k, const float *prob, const int32_t *labels,
                                  float *dlogits);
float cn_softmax_xent_smooth_forward_ref(int32_t n, int32_t k, const float *logits,
                                         const int32_t *labels, float eps, float *prob);
void cn_softmax_xent_smooth_backward_ref(int32_t n, int32_t k, const float *prob,
                                         const int32_t *labels, float eps, float *dlogits);
float cn_mse_forward_ref(size_t len, const float *y, const float *t);
void cn_mse_backward_ref(size_t len, const float *y, const float *t, float *dy);

void cn_dropout_forward_ref(size_t len, float p, struct cn_rng *rng, const float *x, float *y,
                            float *mask);
void cn_dropout_backward_ref(size_t len, const float *mask, const float *dy, float *dx);

void cn_batchnorm_forward_train_ref(size_t m, int32_t c, const float *gamma, const float *beta,
                                    const float *x, float *y, float *saved, float *run);
void cn_batchnorm_forward_eval_ref(size_t m, int32_t c, const float *gamma, const float *beta,
                                   const float *run, const float *x, float *y, float *saved);
void cn_batchnorm_backward_ref(size_t m, int32_t c, bool batch, const float *gamma,
                               const float *saved, const float *x, const float *dy, float *dx,
                               float *dgamma, float *dbeta);

#endif
