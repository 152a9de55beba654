/*
 * A tensor is a view: a pointer into arena memory plus an NHWC shape (channels fastest).
 * It owns nothing. A vector batch is n x 1 x 1 x c. Dimension vocabulary used everywhere:
 * n batch; h w c spatial and channels; ci co in/out channels; kh kw kernel; sh sw stride;
 * ph pw padding; ho wo output size.
 */
#ifndef CN_TENSOR_H
#define CN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

struct cn_tensor {
	float *data; /* [N, H, W, C] */
	int32_t n, h, w, c;
};

static inline struct cn_tensor cn_tensor_make(float *data, int32_t n, int32_t h, int32_t w,
                                              int32_t c)
{
	struct cn_tensor t = {data, n, h, w, c};
	return t;
}

/* Elements in one image (h*w*c) and in the whole batch. Shapes were checked at plan time. */
static inline size_t cn_tensor_image_len(const struct cn_tensor *t)
{
	return (size_t)t->h * (size_t)t->w * (size_t)t->c;
}

static inline size_t cn_tensor_len(const struct cn_tensor *t)
{
	return (size_t)t->n * cn_tensor_image_len(t);
}

#endif
