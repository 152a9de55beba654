/*
 * 2-D convolution as im2col + one GEMM per planned chunk of images, over NHWC.
 * Per chunk of c images (the last chunk may be smaller), with rows = c*HO*WO and
 * col = im2col(x_chunk) [rows, KH*KW*CI], W [CO, KH*KW*CI] (= [CO, KH, KW, CI]):
 *   forward   y = col · Wᵀ + b                  y_chunk [rows, CO] is the NHWC output as is
 *   backward  dW += dYᵀ · col,  db += Σ_rows dY,  dcol = dY · W,  dx = col2im(dcol)
 * A 1x1, stride-1, unpadded kernel needs no lowering: x [N*HI*WI, CI] already is col.
 * Chunking bounds the workspace to one chunk's column matrix and keeps it in cache.
 */
#include <assert.h>
#include <limits.h>

#include "../gemm.h"
#include "../im2col.h"
#include "../util.h"
#include "ops.h"

static bool pointwise(const struct cn_geom *g)
{
	return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* y[r, :] += b for every row r of y [rows, CO] */
static void add_bias(size_t rows, int32_t co, const float *b, float *y)
{
	for (size_t r = 0; r < rows; r++, y += co)
		for (int32_t j = 0; j < co; j++) y[j] += b[j];
}

/* db[j] += Σ_r dy[r, j] for dy [rows, CO]; rows outer so dy is read once, in order. */
static void add_col_sums(size_t rows, int32_t co, const float *dy, float *db)
{
	for (size_t r = 0; r < rows; r++, dy += co)
		for (int32_t j = 0; j < co; j++) db[j] += dy[j];
}

/* Both the forward and backward workspaces; a chunk below one image is refused (SIZE_MAX). */
size_t cn_conv2d_ws_len(const struct cn_geom *g, int32_t chunk, bool backward)
{
	if (chunk < 1) return SIZE_MAX;
	if (pointwise(g)) return 0;
	size_t col = cn_mul4((size_t)chunk, (size_t)g->ho, (size_t)g->wo, cn_geom_patch_len(g));
	size_t len = col;
	if (backward && !cn_add_ok(col, col, &len)) return SIZE_MAX;
	return len;
}

void cn_conv2d_forward(const struct cn_geom *g, int32_t co, int32_t chunk, const float *w,
                       const float *b, const struct cn_tensor *x, struct cn_tensor *y, float *ws)
{
	assert(chunk >= 1 && co >= 1);
	assert(x->h == g->hi && x->w == g->wi && x->c == g->ci);
	assert(y->n == x->n && y->h == g->ho && y->w == g->wo && y->c == co);
	const bool direct = pointwise(g);
	const int k = (int)cn_geom_patch_len(g);
	const size_t pix = cn_geom_out_pixels(g);
	const size_t xlen = cn_tensor_image_len(x), ylen = pix * (size_t)co;
	for (int32_t i = 0; i < x->n; i += chunk) {
		const int32_t c = CN_MIN(chunk, x->n - i);
		const size_t rows = (size_t)c * pix;
		assert(rows <= INT_MAX);
		const float *xc = x->data + (size_t)i * xlen; /* [C, HI, WI, CI] */
		float *yc = y->data + (size_t)i * ylen;       /* [C*HO*WO, CO] */
		const float *col = xc;                        /* [C*HO*WO, KH*KW*CI] */
		if (!direct) {
			cn_im2col(g, c, xc, ws);
			col = ws;
		}
		cn_gemm(false, true, (int)rows, co, k, 1.0f, col, w, 0.0f, yc);
		if (b) add_bias(rows, co, b, yc);
	}
}

/*
 * dW += dYᵀ·col and db += Σ_rows dY accumulate (GEMM beta 1); dx = col2im(dY·W) overwrites.
 * The column matrix is recomputed per chunk rather than kept from forward, so the workspace
 * stays one chunk: ws = [col | dcol], each [CHUNK*HO*WO, KH*KW*CI].
 */
void cn_conv2d_backward(const struct cn_geom *g, int32_t co, int32_t chunk, const float *w,
                        const struct cn_tensor *x, const struct cn_tensor *dy, struct cn_tensor *dx,
                        float *dw, float *db, float *ws)
{
	assert(chunk >= 1 && co >= 1);
	assert(x->h == g->hi && x->w == g->wi && x->c == g->ci);
	assert(dy->n == x->n && dy->h == g->ho && dy->w == g->wo && dy->c == co);
	assert(!dx || (dx->n == x->n && dx->h == g->hi && dx->w == g->wi && dx->c == g->ci));
	const bool direct = pointwise(g);
	const int k = (int)cn_geom_patch_len(g);
	const size_t pix = cn_geom_out_pixels(g);
	const size_t xlen = cn_tensor_image_len(x), ylen = pix * (size_t)co;
	float *dcol = direct ? NULL : ws + (size_t)chunk * pix * (size_t)k; /* second half of ws */
	for (int32_t i = 0; i < x->n; i += chunk) {
		const int32_t c = CN_MIN(chunk, x->n - i);
		const size_t rows = (size_t)c * pix;
		assert(rows <= INT_MAX);
		const float *xc = x->data + (size_t)i * xlen;   /* [C, HI, WI, CI] */
		const float *dyc = dy->data + (size_t)i * ylen; /* [C*HO*WO, CO] */
		const float *col = xc;                          /* [C*HO*WO, KH*KW*CI] */
		if (!direct) {
			cn_im2col(g, c, xc, ws);
			col = ws;
		}
		cn_gemm(true, false, co, k, (int)rows, 1.0f, dyc, col, 1.0f, dw);
		if (db) add_col_sums(rows, co, dyc, db);
		if (!dx) continue;
		float *dxc = dx->data + (size_t)i * xlen; /* [C, HI, WI, CI] */
		if (direct) {
			cn_gemm(false, false, (int)rows, k, co, 1.0f, dyc, w, 0.0f, dxc);
		} else {
			cn_gemm(false, false, (int)rows, k, co, 1.0f, dyc, w, 0.0f, dcol);
			cn_col2im(g, c, dcol, dxc);
		}
	}
}
