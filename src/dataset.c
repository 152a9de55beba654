/*
 * An in-memory image classification dataset: pixels [count, H, W, C] and labels [count], both
 * unsigned bytes (4x smaller than floats; 47 MB for MNIST's training set). Loaded IDX files
 * are kept as read, the dataset pointing past their headers, so loading copies nothing.
 * Batches are converted to floats in [0, 1] by cn_dataset_gather, straight into the net's
 * input buffer. A dataset made from floats (cn_dataset_create_f32) keeps them as given and
 * gathers them with a copy.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "error.h"
#include "idx.h"
#include "util.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

struct cn_dataset {
	char err[CN_ERR_LEN]; /* message of the last failed call */
	int32_t count;
	struct cn_shape shape; /* of one image */
	size_t image_bytes;    /* H * W * C */
	int32_t classes;       /* 1 + the largest label among the first count */
	const uint8_t *pixels; /* [count, H, W, C], or NULL for a float dataset */
	float *floats;         /* [count, H, W, C] of a float dataset (owned), else NULL */
	const uint8_t *labels; /* [count] */
	uint8_t *pixel_buf;    /* owned storage behind pixels and labels */
	uint8_t *label_buf;
};

static int32_t max_label(const uint8_t *labels, int32_t count)
{
	int32_t m = 0;
	for (int32_t i = 0; i < count; i++) m = CN_MAX(m, (int32_t)labels[i]);
	return m + 1;
}

/* Check an image shape and return H*W*C, or 0 if it is not positive or overflows int32. */
static size_t image_bytes(struct cn_shape s)
{
	if (s.c < 1 || s.h < 1 || s.w < 1) return 0;
	size_t n = cn_mul4((size_t)s.h, (size_t)s.w, (size_t)s.c, 1);
	return n <= INT32_MAX ? n : 0;
}

void cn_dataset_free(struct cn_dataset *ds)
{
	if (!ds) return;
	free(ds->pixel_buf);
	free(ds->label_buf);
	free(ds->floats);
	free(ds);
}

enum cn_status cn_dataset_create(struct cn_dataset **out, struct cn_shape shape, int32_t count,
                                 const uint8_t *pixels, const uint8_t *labels, char err[CN_ERR_LEN])
{
	if (!out) return cn_err_set(err, CN_ERR_ARG, "cn_dataset_create: NULL output");
	*out = NULL;
	if (!pixels || !labels)
		return cn_err_set(err, CN_ERR_ARG, "cn_dataset_create: NULL pixels or labels");
	size_t ib = image_bytes(shape), total;
	if (!ib)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "image shape c=%d h=%d w=%d: each must be >= 1 and their product "
		                  "at most 2^31-1",
		                  shape.c, shape.h, shape.w);
	if (count < 1) return cn_err_set(err, CN_ERR_ARG, "image count %d must be >= 1", count);
	if (!cn_mul_ok(ib, (size_t)count, &total))
		return cn_err_set(err, CN_ERR_NOMEM, "%d images of %zu bytes overflow size_t",
		                  count, ib);
	struct cn_dataset *ds = calloc(1, sizeof(*ds));
	if (!ds) goto nomem;
	ds->pixel_buf = malloc(total);
	ds->label_buf = malloc((size_t)count);
	if (!ds->pixel_buf || !ds->label_buf) goto nomem;
	memcpy(ds->pixel_buf, pixels, total);
	memcpy(ds->label_buf, labels, (size_t)count);
	ds->count = count;
	ds->shape = shape;
	ds->image_bytes = ib;
	ds->pixels = ds->pixel_buf;
	ds->labels = ds->label_buf;
	ds->classes = max_label(ds->labels, count);
	*out = ds;
	return CN_OK;
nomem:
	cn_dataset_free(ds);
	return cn_err_set(err, CN_ERR_NOMEM, "no memory for %d images of %zu bytes", count, ib);
}

enum cn_status cn_dataset_load_idx(struct cn_dataset **out, const char *images_path,
                                   const char *labels_path, char err[CN_ERR_LEN])
{
	if (!out) return cn_err_set(err, CN_ERR_ARG, "cn_dataset_load_idx: NULL output");
	*out = NULL;
	if (!images_path || !labels_path)
		return cn_err_set(err, CN_ERR_ARG, "cn_dataset_load_idx: NULL file name");
	const char *inm = cn_bytes_name(images_path), *lnm = cn_bytes_name(labels_path);
	struct cn_idx im, lb;
	enum cn_status st;
	struct cn_dataset *ds = calloc(1, sizeof(*ds));
	if (!ds) return cn_err_set(err, CN_ERR_NOMEM, "no memory for a dataset");
	if ((st = cn_idx_load(images_path, CN_IDX_MAX_BYTES, &ds->pixel_buf, &im, err))) goto fail;
	if (im.ndim != 3 && im.ndim != 4) {
		st = cn_err_set(err, CN_ERR_FORMAT,
		                "%s: images need 3 dimensions [count, H, W] or 4 [count, H, W, C], "
		                "the file has %d%s",
		                inm, im.ndim, im.ndim == 1 ? " (is it a labels file?)" : "");
		goto fail;
	}
	struct cn_shape s = {im.ndim == 4 ? im.dims[3] : 1, im.dims[1], im.dims[2]};
	size_t ib = image_bytes(s);
	if (!ib) {
		st = cn_err_set(err, CN_ERR_FORMAT,
		                "%s: images of %dx%dx%d bytes: H*W*C must be at most 2^31-1", inm,
		                s.h, s.w, s.c);
		goto fail;
	}
	if ((st = cn_idx_load(labels_path, CN_IDX_MAX_BYTES, &ds->label_buf, &lb, err))) goto fail;
	if (lb.ndim != 1) {
		st = cn_err_set(err, CN_ERR_FORMAT,
		                "%s: labels need 1 dimension [count], the file has %d%s", lnm,
		                lb.ndim, lb.ndim >= 3 ? " (is it an images file?)" : "");
		goto fail;
	}
	if (lb.dims[0] != im.dims[0]) {
		st = cn_err_set(err, CN_ERR_FORMAT, "%s has %d images but %s has %d labels", inm,
		                im.dims[0], lnm, lb.dims[0]);
		goto fail;
	}
	ds->count = im.dims[0];
	ds->shape = s;
	ds->image_bytes = ib;
	ds->pixels = im.data;
	ds->labels = lb.data;
	ds->classes = max_label(ds->labels, ds->count);
	*out = ds;
	return CN_OK;
fail:
	cn_dataset_free(ds);
	return st;
}

/* dir/name into buf; false if it does not fit. */
static int join(char *buf, size_t cap, const char *dir, const char *name, const char *ext)
{
	int k = snprintf(buf, cap, "%s/%s%s", dir, name, ext);
	return k >= 0 && (size_t)k < cap;
}

/* Pick dir/name, else dir/name.gz (raw first: it is what `make data` writes). */
static enum cn_status find(const char *dir, const char *name, const char *images,
                           const char *labels, char *path, size_t cap, char *err)
{
	struct stat s;
	if (!join(path, cap, dir, name, ".gz"))
		return cn_err_set(err, CN_ERR_ARG, "%s: folder name too long", cn_bytes_name(dir));
	join(path, cap, dir, name, ""); /* fits: it is shorter */
	if (stat(path, &s) == 0) return CN_OK;
	join(path, cap, dir, name, ".gz");
	if (stat(path, &s) == 0) return CN_OK;
	return cn_err_set(err, CN_ERR_IO,
	                  "%s: no %s (or .gz); the folder needs %s and %s, raw or .gz: run "
	                  "`make data` to fetch MNIST",
	                  cn_bytes_name(dir), name, images, labels);
}

enum cn_status cn_dataset_load_mnist_dir(struct cn_dataset **out, const char *dir, int train,
                                         char err[CN_ERR_LEN])
{
	if (!out) return cn_err_set(err, CN_ERR_ARG, "cn_dataset_load_mnist_dir: NULL output");
	*out = NULL;
	if (!dir || !*dir) return cn_err_set(err, CN_ERR_ARG, "no data folder given");
	const char *dn = cn_bytes_name(dir);
	struct stat s;
	if (stat(dir, &s) != 0)
		return cn_err_set(err, CN_ERR_IO, "%s: %s; run `make data` to fetch MNIST into it",
		                  dn, errno == ENOENT ? "no such folder" : strerror(errno));
	if (!S_ISDIR(s.st_mode)) return cn_err_set(err, CN_ERR_IO, "%s: not a folder", dn);
	const char *images = train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte";
	const char *labels = train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte";
	char ip[PATH_MAX], lp[PATH_MAX];
	enum cn_status st;
	if ((st = find(dir, images, images, labels, ip, sizeof(ip), err)) ||
	    (st = find(dir, labels, images, labels, lp, sizeof(lp), err)))
		return st;
	/* any labels 0..255: EMNIST keeps MNIST's file names with 27 or 47 classes, and the
	   trainer checks the classes against the model's outputs */
	return cn_dataset_load_idx(out, ip, lp, err);
}

enum cn_status cn_dataset_create_f32(struct cn_dataset **out, struct cn_shape shape, int32_t count,
                                     const float *x, const uint8_t *labels, char err[CN_ERR_LEN])
{
	if (!out) return cn_err_set(err, CN_ERR_ARG, "cn_dataset_create_f32: NULL output");
	*out = NULL;
	if (!x || !labels)
		return cn_err_set(err, CN_ERR_ARG, "cn_dataset_create_f32: NULL data or labels");
	size_t len = image_bytes(shape), total, bytes;
	if (!len)
		return cn_err_set(err, CN_ERR_SHAPE,
		                  "example shape %dx%dx%d (HxWxC): each must be >= 1 and their "
		                  "product at most 2^31-1",
		                  shape.h, shape.w, shape.c);
	if (count < 1) return cn_err_set(err, CN_ERR_ARG, "example count %d must be >= 1", count);
	if (!cn_mul_ok(len, (size_t)count, &total) || !cn_mul_ok(total, sizeof(float), &bytes))
		return cn_err_set(err, CN_ERR_NOMEM, "%d examples of %zu floats overflow size_t",
		                  count, len);
	/* a NaN or Inf would only surface epochs later as a failed step: refuse it here */
	for (size_t i = 0; i < total; i++)
		if (!isfinite(x[i]))
			return cn_err_set(err, CN_ERR_NUMERIC, "example %zu, value %zu is %g",
			                  i / len, i % len, (double)x[i]);
	struct cn_dataset *ds = calloc(1, sizeof(*ds));
	if (!ds) goto nomem;
	ds->floats = malloc(bytes);
	ds->label_buf = malloc((size_t)count);
	if (!ds->floats || !ds->label_buf) goto nomem;
	memcpy(ds->floats, x, bytes);
	memcpy(ds->label_buf, labels, (size_t)count);
	ds->count = count;
	ds->shape = shape;
	ds->image_bytes = len;
	ds->labels = ds->label_buf;
	ds->classes = max_label(ds->labels, count);
	*out = ds;
	return CN_OK;
nomem:
	cn_dataset_free(ds);
	return cn_err_set(err, CN_ERR_NOMEM, "no memory for %d examples of %zu floats", count, len);
}

const char *cn_dataset_error(const struct cn_dataset *ds)
{
	return ds ? ds->err : "dataset is NULL";
}

int32_t cn_dataset_count(const struct cn_dataset *ds)
{
	return ds ? ds->count : 0;
}

struct cn_shape cn_dataset_shape(const struct cn_dataset *ds)
{
	struct cn_shape none = {0, 0, 0};
	return ds ? ds->shape : none;
}

int32_t cn_dataset_classes(const struct cn_dataset *ds)
{
	return ds ? ds->classes : 0;
}

const uint8_t *cn_dataset_pixels(const struct cn_dataset *ds)
{
	return ds ? ds->pixels : NULL;
}

const uint8_t *cn_dataset_labels(const struct cn_dataset *ds)
{
	return ds ? ds->labels : NULL;
}

enum cn_status cn_dataset_truncate(struct cn_dataset *ds, int32_t count)
{
	if (!ds) return CN_ERR_ARG;
	if (count < 1 || count > ds->count)
		return cn_err_set(ds->err, CN_ERR_ARG, "truncate to %d examples: must be in 1..%d",
		                  count, ds->count);
	/* The bytes past count stay allocated: shrinking a 47 MB buffer is not worth a copy. */
	ds->count = count;
	ds->classes = max_label(ds->labels, count);
	return CN_OK;
}

/* One image's bytes to floats in [0, 1]; a division, not a multiply by 1/255 (same bits as
   before), in 16-wide vectors where the CPU has them: SSE2's four were 8% of mlp's training */
CN_CLONES static void to_unit(const uint8_t *restrict p, float *restrict x, size_t len)
{
	for (size_t j = 0; j < len; j++) x[j] = (float)p[j] / 255.0f;
}

enum cn_status cn_dataset_gather(const struct cn_dataset *ds, const int32_t *idx, int32_t n,
                                 float *x, int32_t *labels)
{
	if (!ds) return CN_ERR_ARG;
	/* the message buffer is the one field a failing call on a const handle writes (colnet.h);
	   every dataset is allocated here, never const itself */
	char *err = ((struct cn_dataset *)ds)->err;
	if (n < 0 || (n > 0 && (!idx || !x)))
		return cn_err_set(err, CN_ERR_ARG, "gather %d examples%s", n,
		                  n < 0 ? ": count is negative" : " into or from NULL");
	/* Check every index before writing, so a bad call leaves x and labels untouched. */
	for (int32_t i = 0; i < n; i++)
		if (idx[i] < 0 || idx[i] >= ds->count)
			return cn_err_set(err, CN_ERR_ARG,
			                  "gather: index %d (entry %d) is outside 0..%d", idx[i], i,
			                  ds->count - 1);
	size_t ib = ds->image_bytes;
	/* shared out over the threads: run serially, a batch's conversion (6% of mlp's epoch) also
	   let the other thread fall asleep, and waking it cost as much again */
#pragma omp parallel for schedule(static) if ((size_t)n * ib >= CN_PAR_MIN_LEN)
	for (int32_t i = 0; i < n; i++) {
		if (ds->floats)
			memcpy(x + (size_t)i * ib, ds->floats + (size_t)idx[i] * ib,
			       ib * sizeof(float));
		else
			to_unit(ds->pixels + (size_t)idx[i] * ib, x + (size_t)i * ib, ib);
		if (labels) labels[i] = ds->labels[idx[i]];
	}
	return CN_OK;
}
