/*
 * Constant tensors of an ONNX file, distrusted: the type, every dimension, the product of the
 * dimensions and the length of the data that is really there are checked before a byte is
 * copied, so a file's claims never size an allocation by themselves. raw_data is read as
 * little-endian, as ONNX defines it; external data is refused (colnet reads one file).
 */
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "import.h"

static bool stored_inline(struct imp *m, const Onnx__NodeProto *n, const Onnx__TensorProto *t)
{
	if (t->n_external_data ||
	    (t->has_data_location &&
	     t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)) {
		cn_onnx_refuse(m, n, "tensor '%.40s' keeps its data in another file", t->name);
		return false;
	}
	return true;
}

bool cn_onnx_dims(struct imp *m, const Onnx__NodeProto *n, const Onnx__TensorProto *t,
                  int64_t dims[4], size_t *n_dims)
{
	if (!stored_inline(m, n, t)) return false;
	if (t->n_dims > 4) {
		cn_onnx_refuse(m, n, "tensor '%.40s' has %zu dimensions", t->name, t->n_dims);
		return false;
	}
	for (size_t i = 0; i < t->n_dims; i++) {
		if (t->dims[i] < 1 || t->dims[i] > INT32_MAX) {
			cn_onnx_refuse(m, n, "tensor '%.40s': dimension %zu is %lld", t->name, i,
			               (long long)t->dims[i]);
			return false;
		}
		dims[i] = t->dims[i];
	}
	*n_dims = t->n_dims;
	return true;
}

/* The element count of t's dims, or 0 if it overflows 2^31 (no colnet tensor is that big). */
static size_t elements(const Onnx__TensorProto *t)
{
	size_t len = 1;
	for (size_t i = 0; i < t->n_dims; i++) {
		if (t->dims[i] < 0 || t->dims[i] > INT32_MAX) return 0;
		len *= (size_t)t->dims[i];
		if (len > INT32_MAX) return 0;
	}
	return len;
}

static float le_float(const uint8_t *p)
{
	uint32_t u =
	    (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	float f;
	memcpy(&f, &u, sizeof(f));
	return f;
}

enum cn_status cn_onnx_floats(struct imp *m, const Onnx__NodeProto *n, const Onnx__TensorProto *t,
                              size_t len, float **out)
{
	*out = NULL;
	int64_t dims[4];
	size_t nd;
	if (!cn_onnx_dims(m, n, t, dims, &nd)) return CN_ERR_FORMAT;
	if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
		return cn_onnx_refuse(m, n, "tensor '%.40s' is not float (type %d)", t->name,
		                      t->data_type);
	size_t have = elements(t);
	if (have != len)
		return cn_onnx_refuse(m, n, "tensor '%.40s' holds %zu values where %zu belong",
		                      t->name, have, len);
	size_t stored = t->has_raw_data ? t->raw_data.len / 4 : t->n_float_data;
	if ((t->has_raw_data && t->raw_data.len % 4) || stored != len)
		return cn_onnx_refuse(m, n,
		                      "tensor '%.40s': its data has %zu values, its dims "
		                      "say %zu",
		                      t->name, stored, len);
	float *v = malloc((len ? len : 1) * sizeof(float));
	if (!v) return cn_err_set(m->err, CN_ERR_NOMEM, "%s: out of memory", m->name);
	for (size_t i = 0; i < len; i++) {
		v[i] = t->has_raw_data ? le_float(t->raw_data.data + 4 * i) : t->float_data[i];
		if (v[i] != v[i] || v[i] - v[i] != 0.0f) {
			free(v);
			return cn_onnx_refuse(m, n, "tensor '%.40s' holds NaN or Inf at %zu",
			                      t->name, i);
		}
	}
	*out = v;
	return CN_OK;
}

bool cn_onnx_ints(struct imp *m, const Onnx__NodeProto *n, const Onnx__TensorProto *t, int64_t v[8],
                  size_t *len)
{
	if (!stored_inline(m, n, t)) return false;
	if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || t->n_dims > 1) {
		cn_onnx_refuse(m, n, "tensor '%.40s' is not a list of int64", t->name);
		return false;
	}
	size_t k = t->n_dims ? elements(t) : 1;
	size_t stored = t->has_raw_data ? t->raw_data.len / 8 : t->n_int64_data;
	if (k > 8 || stored != k || (t->has_raw_data && t->raw_data.len % 8)) {
		cn_onnx_refuse(m, n, "tensor '%.40s': %zu values stored, %zu expected (at most 8)",
		               t->name, stored, k);
		return false;
	}
	for (size_t i = 0; i < k; i++) {
		if (!t->has_raw_data) {
			v[i] = t->int64_data[i];
			continue;
		}
		uint64_t u = 0;
		for (int j = 7; j >= 0; j--) u = u << 8 | t->raw_data.data[8 * i + (size_t)j];
		memcpy(&v[i], &u, sizeof(u));
	}
	*len = k;
	return true;
}
