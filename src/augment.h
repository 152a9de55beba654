/*
 * Data augmentation (augment.c): a random geometric warp per image, applied in place to a
 * gathered float batch. The public side is in colnet.h (struct cn_augment, cn_augment_*);
 * this header adds the one-image warp with explicit parameters, for the tests.
 */
#ifndef CN_AUGMENT_H
#define CN_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "colnet.h"

/* One image's draw: translation (pixels, +x right, +y down), angle (radians, counter-clockwise
   as seen on screen), scale factor; field_key 0 means no elastic field. */
struct cn_warp {
	float tx, ty, angle, scale;
	uint64_t field_key;
};

/*
 * dst [H, W, C] = src warped by w: output pixel p (centred coordinates) samples src at
 * M⁻¹((p + alpha·g_sigma(field)(p)) − t), bilinearly, 0 outside the image. dx, dy and tmp are
 * scratch of H·W floats each (read only with an elastic field). src and dst must not overlap.
 * A warp for which cn_augment_shift_only holds is done by row copies.
 */
void cn_augment_warp(const struct cn_augment *a, const struct cn_warp *w, struct cn_shape s,
                     const float *src, float *dst, float *dx, float *dy, float *tmp);

/* Whether w is a whole-pixel translation alone (no rotation, scaling or elastic field). */
bool cn_augment_shift_only(const struct cn_warp *w);

/* cn_augment_warp's per-pixel resampling for any w: what the row-copy path must equal bit for
   bit, exposed so the tests can compare the two. */
void cn_augment_warp_general(const struct cn_augment *a, const struct cn_warp *w, struct cn_shape s,
                             const float *src, float *dst, float *dx, float *dy, float *tmp);

/* The draw for image `index` of the stream keyed by seed (what cn_augment_batch applies). */
struct cn_warp cn_augment_draw(const struct cn_augment *a, uint64_t seed, int64_t index);

#endif
