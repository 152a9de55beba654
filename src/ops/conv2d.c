/*
 * 2-D convolution as im2col + one GEMM per planned chunk of images, over NHWC.
 * Per chunk of c images (the last chunk may be smaller), with rows = c*HO*WO and
 * col = im2col(x_chunk) [rows, KH*KW*CI], W [CO, KH*KW*CI] (= [CO, KH, KW, CI]):
 *   forward   y = act(b + col · Wᵀ)             y_chunk [rows, CO] is the NHWC output as is
 *   backward  dW += dYᵀ · col,  db += Σ_rows dY,  dcol = dY · W,  dx = col2im(dcol)
 * A 1x1, stride-1, unpadded kernel needs no lowering: x [N*HI*WI, CI] already is col.
 * Chunking bounds the workspace to one chunk's column matrix per thread and keeps it in cache
 * between its im2col and its GEMM; bias and activation are applied while the chunk's output
 * is still there. Threads take whole chunks (see struct cn_conv2d_plan).
 */
#include <assert.h>
#include <limits.h>
#include <string.h>

#include "../gemm.h"
#include "../im2col.h"
#include "../join.h"
#include "../util.h"
#include "ops.h"

static bool pointwise(const struct cn_geom *g)
{
	return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* Floats of one thread's column matrix. */
static size_t col_len(const struct cn_geom *g, int32_t chunk)
{
	if (pointwise(g)) return 0;
	return cn_mul4((size_t)chunk, (size_t)g->ho, (size_t)g->wo, cn_geom_patch_len(g));
}

size_t cn_conv2d_ws_len(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                        bool backward)
{
	if (p->chunk < 1 || p->threads < 1 || co < 1) return SIZE_MAX;
	size_t per_thread = col_len(g, p->chunk), len;
	if (per_thread == SIZE_MAX) return SIZE_MAX;
	if (backward) { /* private dw and db for threads after the first */
		size_t grads = cn_mul4((size_t)co, cn_geom_patch_len(g) + 1, 1, 1);
		if (grads == SIZE_MAX || !cn_add_ok(per_thread, grads, &per_thread))
			return SIZE_MAX;
	}
	len = cn_mul4(per_thread, (size_t)p->threads, 1, 1);
	return len;
}

size_t cn_conv2d_ws_len_fed(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p)
{
	size_t len = cn_conv2d_ws_len(g, co, p, true);
	size_t fed =
	    cn_mul4((size_t)p->chunk, cn_geom_out_pixels(g), (size_t)co, (size_t)p->threads);
	return len == SIZE_MAX || fed == SIZE_MAX || !cn_add_ok(len, fed, &len) ? SIZE_MAX : len;
}

/*
 * y[r, :] = b for every row r of y [rows, CO], before a GEMM with beta 1 adds col·Wᵀ: with
 * beta 0 OpenBLAS zeroes C in a pass of its own (sgemm_beta, 8% of tutorial-cnn's
 * instructions), and the bias would take another pass after it.
 */
CN_CLONES static void fill_bias(size_t rows, int32_t co, const float *b, float *y)
{
	/* few channels: copy 64 rows at a time from a pattern of them (GCC makes the copy a
	 * memcpy call, worth it at 64 rows), where the row loop's co = 6 stores did not
	 * vectorize (4% of sigmoid-cnn) */
	if (co <= 16) {
		float pat[64 * 16];
		const size_t len = 64 * (size_t)co;
		for (size_t j = 0; j < len; j++) pat[j] = b[j % (size_t)co];
		for (; rows >= 64; rows -= 64, y += len) memcpy(y, pat, len * sizeof(*y));
	}
	for (size_t r = 0; r < rows; r++, y += co)
		for (int32_t j = 0; j < co; j++) y[j] = b[j];
}

/*
 * db[j] += Σ_r dy[r, j] for dy [rows, CO]; rows outer so dy is read once, in order. The sums
 * run in a local array, so that they can stay in registers (db might alias dy for all the
 * compiler knows), and few-channel layers get a copy with CO fixed, whose row loop is a few
 * vector adds rather than a loop too short to vectorize (CO = 4: most of backward_chunk's 11%
 * of avgpool-cnn).
 */
static inline __attribute__((always_inline)) void
col_sums(size_t rows, int32_t co, const float *restrict dy, float *restrict db)
{
	/* seeded with db: the same additions in the same order as into db, so db does not
	 * depend on the chunking (test_chunks_agree) */
	float acc[16];
	for (int32_t j = 0; j < co; j++) acc[j] = db[j];
	for (size_t r = 0; r < rows; r++, dy += co)
		for (int32_t j = 0; j < co; j++) acc[j] += dy[j];
	for (int32_t j = 0; j < co; j++) db[j] = acc[j];
}

CN_CLONES static void add_col_sums(size_t rows, int32_t co, const float *dy, float *db)
{
	switch (co) {
	case 4:
		col_sums(rows, 4, dy, db);
		return;
	case 6:
		col_sums(rows, 6, dy, db);
		return;
	case 8:
		col_sums(rows, 8, dy, db);
		return;
	case 12:
		col_sums(rows, 12, dy, db);
		return;
	case 16:
		col_sums(rows, 16, dy, db);
		return;
	default:
		break;
	}
	for (size_t r = 0; r < rows; r++, dy += co)
		for (int32_t j = 0; j < co; j++) db[j] += dy[j];
}

/* Threads worth starting for n images: never more than there are images. */
static int threads_for(const struct cn_conv2d_plan *p, int32_t n)
{
	return n < p->threads ? n : p->threads;
}

/*
 * Thread t of threads takes images [*first, *first + *count), an even share of n, which it
 * runs in chunks of *chunk <= p->chunk images, as even as the plan's chunk allows. Sharing
 * images rather than chunks keeps the threads equal when the batch's chunk count is not a
 * multiple of them (tutorial-cnn's conv 1 at batch 100: 3 chunks of 34 on 2 threads made one
 * wait for the other's second chunk).
 */
static void thread_share(const struct cn_conv2d_plan *p, int32_t n, int t, int threads,
                         int32_t *first, int32_t *count, int32_t *chunk)
{
	int32_t lo, hi;
	cn_share(n, t, threads, &lo, &hi);
	*first = lo;
	*count = hi - lo;
	const int32_t pieces = *count < 1 ? 1 : (*count + p->chunk - 1) / p->chunk;
	*chunk = (*count + pieces - 1) / pieces;
	if (*chunk < 1) *chunk = 1;
}

/*
 * One-channel layers with few outputs (the first layers of sigmoid-cnn, lenet5, avgpool-cnn)
 * lower x transposed in the forward: colᵀ's rows are runs of WO floats, not KW-float runs
 * (cn_im2col was 20% of sigmoid-cnn's training), and y = (colᵀ)ᵀ·Wᵀ is a product gemm.c runs
 * with the rows of y along its vectors. The backward keeps col, for dW = dYᵀ·col.
 */
static bool transposed(const struct cn_geom *g, int32_t co)
{
	return !pointwise(g) && co <= 16 && cn_im2col_t_fits(g);
}

/* What every chunk of one call shares. */
struct conv_call {
	const struct cn_geom *g;
	const struct cn_conv2d_plan *p;
	int32_t co;
	const float *w, *b;
	const struct cn_tensor *x, *dy;
	struct cn_tensor *y, *dx;
	const float *yact; /* backward: the forward's output, to undo p->act on dy (NULL: done) */
	const struct cn_conv2d_dy_source *src; /* backward: dy made a chunk at a time, or NULL */
	bool direct;                           /* 1x1 stride-1 unpadded: x is the column matrix */
	bool trans;        /* forward lowers x transposed (colᵀ, cn_im2col_t) */
	int k;             /* KH*KW*CI */
	size_t pix;        /* HO*WO */
	size_t xlen, ylen; /* floats per input and output image */
};

static struct conv_call call_make(const struct cn_geom *g, int32_t co,
                                  const struct cn_conv2d_plan *p, const struct cn_tensor *x)
{
	return (struct conv_call){.g = g,
	                          .p = p,
	                          .co = co,
	                          .x = x,
	                          .direct = pointwise(g),
	                          .trans = transposed(g, co),
	                          .k = (int)cn_geom_patch_len(g),
	                          .pix = cn_geom_out_pixels(g),
	                          .xlen = cn_tensor_image_len(x),
	                          .ylen = cn_geom_out_pixels(g) * (size_t)co};
}

/* Images [i, i+n): y = act(im2col(x) · Wᵀ + b), lowering into col_ws. */
static void forward_chunk(const struct conv_call *c, int32_t i, int32_t n, float *col_ws)
{
	const size_t rows = (size_t)n * c->pix;
	assert(rows <= INT_MAX);
	const float *xc = c->x->data + (size_t)i * c->xlen; /* [N, HI, WI, CI] */
	float *yc = c->y->data + (size_t)i * c->ylen;       /* [N*HO*WO, CO] */
	const float *col = xc;                              /* [N*HO*WO, KH*KW*CI] */
	if (c->trans && cn_conv2d_direct_fits(c->g, c->co, rows, false)) {
		cn_conv2d_direct_forward(16, c->g, c->co, n, xc, c->w, c->b, yc);
		if (c->p->act != CN_ACT_IDENTITY)
			cn_act_forward(c->p->act, c->p->slope, yc, yc, rows * (size_t)c->co);
		return;
	}
	if (c->trans)
		cn_im2col_t(c->g, n, xc, col_ws);
	else if (!c->direct)
		cn_im2col(c->g, n, xc, col_ws);
	if (!c->direct) col = col_ws;
	if (c->b) fill_bias(rows, c->co, c->b, yc);
	cn_gemm(c->trans, true, (int)rows, c->co, c->k, 1.0f, col, c->w, c->b ? 1.0f : 0.0f, yc);
	if (c->p->act != CN_ACT_IDENTITY)
		cn_act_forward(c->p->act, c->p->slope, yc, yc, rows * (size_t)c->co);
}

/*
 * One chunk to a thread at a time, or, with one thread, no parallel region at all: a GEMM
 * called inside even a one-thread region would open a nested team for OpenBLAS's threads.
 */
void cn_conv2d_forward(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                       const float *w, const float *b, const struct cn_tensor *x,
                       struct cn_tensor *y, float *ws)
{
	assert(p->chunk >= 1 && p->threads >= 1 && co >= 1);
	assert(x->h == g->hi && x->w == g->wi && x->c == g->ci);
	assert(y->n == x->n && y->h == g->ho && y->w == g->wo && y->c == co);
	struct conv_call c = call_make(g, co, p, x);
	c.w = w, c.b = b, c.y = y;
	const size_t per_thread = col_len(g, p->chunk);
	const int threads = threads_for(p, x->n);
	if (threads == 1) {
		for (int32_t i = 0; i < x->n; i += p->chunk)
			forward_chunk(&c, i, CN_MIN(p->chunk, x->n - i), ws);
		return;
	}
	int arrived = 0;
#pragma omp parallel num_threads(threads)
	{
		double start = cn_now();
		const int t = cn_thread_id();
		int32_t first, count, chunk;
		thread_share(p, x->n, t, cn_thread_count(), &first, &count, &chunk);
		for (int32_t i = first; i < first + count; i += chunk)
			forward_chunk(&c, i, CN_MIN(chunk, first + count - i),
			              ws + (size_t)t * per_thread);
		cn_join_spin(&arrived, cn_thread_count(), start);
	}
}

/* Images [i, i+n): dw += dYᵀ·col, db += Σ_rows dY, dx = col2im(dY·W), col_ws as scratch,
   fed_ws for dy when c->src makes it. */
static void backward_chunk(const struct conv_call *c, int32_t i, int32_t n, float *col_ws,
                           float *fed_ws, float *dw, float *db)
{
	const size_t rows = (size_t)n * c->pix;
	assert(rows <= INT_MAX);
	const float *xc = c->x->data + (size_t)i * c->xlen; /* [N, HI, WI, CI] */
	const float *dyc = fed_ws;                          /* [N*HO*WO, CO] */
	const float *col = xc;                              /* [N*HO*WO, KH*KW*CI] */
	if (c->src)
		c->src->fill(c->src->ctx, i, n, fed_ws);
	else
		dyc = c->dy->data + (size_t)i * c->ylen;
	if (c->yact) { /* dy's storage is the caller's to overwrite (cn_conv2d_backward_act) */
		float *dyw = c->dy->data + (size_t)i * c->ylen;
		cn_act_backward(c->p->act, c->p->slope, c->yact + (size_t)i * c->ylen, dyw, dyw,
		                rows * (size_t)c->co);
	}
	if (c->trans && cn_conv2d_direct_fits(c->g, c->co, rows, true)) {
		cn_conv2d_direct_dw(16, c->g, c->co, n, xc, dyc, dw);
	} else {
		if (!c->direct) {
			cn_im2col(c->g, n, xc, col_ws);
			col = col_ws;
		}
		cn_gemm(true, false, c->co, c->k, (int)rows, 1.0f, dyc, col, 1.0f, dw);
	}
	if (db) add_col_sums(rows, c->co, dyc, db);
	if (!c->dx) return;
	float *dxc = c->dx->data + (size_t)i * c->xlen; /* [N, HI, WI, CI] */
	if (c->direct) {
		cn_gemm(false, false, (int)rows, c->k, c->co, 1.0f, dyc, c->w, 0.0f, dxc);
	} else { /* the column matrix is spent: it now receives the column gradient */
		cn_gemm(false, false, (int)rows, c->k, c->co, 1.0f, dyc, c->w, 0.0f, col_ws);
		cn_col2im(c->g, n, col_ws, dxc);
	}
}

/*
 * dW += dYᵀ·col and db += Σ_rows dY accumulate (GEMM beta 1); dx = col2im(dY·W) overwrites.
 * The column matrix is recomputed per chunk rather than kept from forward, so the workspace
 * stays one chunk per thread. Thread t > 0 accumulates into its own zeroed dw/db (after its
 * column matrix in ws), added to the caller's in thread order at the end: a given thread
 * count always gives the same sums.
 */
static void backward(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                     const float *w, const struct cn_tensor *x, const float *yact,
                     const struct cn_tensor *dy, const struct cn_conv2d_dy_source *src,
                     struct cn_tensor *dx, float *dw, float *db, float *ws)
{
	assert(p->chunk >= 1 && p->threads >= 1 && co >= 1);
	assert(x->h == g->hi && x->w == g->wi && x->c == g->ci);
	assert(dy->n == x->n && dy->h == g->ho && dy->w == g->wo && dy->c == co);
	assert(!dx || (dx->n == x->n && dx->h == g->hi && dx->w == g->wi && dx->c == g->ci));
	struct conv_call c = call_make(g, co, p, x);
	c.w = w, c.dy = dy, c.dx = dx;
	c.yact = p->act != CN_ACT_IDENTITY ? yact : NULL;
	c.src = src;
	assert(!src || !c.yact); /* a fed dy is the op's output gradient already */
	const size_t cols = col_len(g, p->chunk), wlen = (size_t)co * (size_t)c.k;
	const size_t fed = src ? (size_t)p->chunk * c.pix * (size_t)co : 0;
	const size_t per_thread = cols + wlen + (size_t)co + fed;
	const int threads = threads_for(p, x->n);
	if (threads == 1) {
		for (int32_t i = 0; i < x->n; i += p->chunk)
			backward_chunk(&c, i, CN_MIN(p->chunk, x->n - i), ws, ws + per_thread - fed,
			               dw, db);
		return;
	}
	int team = 1, arrived = 0; /* team: what OpenMP gave (num_threads is a request) */
#pragma omp parallel num_threads(threads)
	{
		double start = cn_now();
		const int t = cn_thread_id();
		float *col_ws = ws + (size_t)t * per_thread;   /* [CHUNK*HO*WO, KH*KW*CI] */
		float *tdw = t ? col_ws + cols : dw;           /* [CO, KH*KW*CI] */
		float *tdb = !db ? NULL : t ? tdw + wlen : db; /* [CO] */
		if (t) {
			memset(tdw, 0, wlen * sizeof(float));
			if (tdb) memset(tdb, 0, (size_t)co * sizeof(float));
		}
		int32_t first, count, chunk;
		thread_share(p, x->n, t, cn_thread_count(), &first, &count, &chunk);
		if (t == 0) team = cn_thread_count();
		for (int32_t i = first; i < first + count; i += chunk)
			backward_chunk(&c, i, CN_MIN(chunk, first + count - i), col_ws,
			               col_ws + per_thread - fed, tdw, tdb);
		cn_join_spin(&arrived, cn_thread_count(), start);
	}
	for (int t = 1; t < team; t++) {
		const float *tdw = ws + (size_t)t * per_thread + cols;
		for (size_t j = 0; j < wlen; j++) dw[j] += tdw[j];
		if (db)
			for (int32_t j = 0; j < co; j++) db[j] += tdw[wlen + (size_t)j];
	}
}

void cn_conv2d_backward(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                        const float *w, const struct cn_tensor *x, const struct cn_tensor *dy,
                        struct cn_tensor *dx, float *dw, float *db, float *ws)
{
	backward(g, co, p, w, x, NULL, dy, NULL, dx, dw, db, ws);
}

void cn_conv2d_backward_act(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                            const float *w, const struct cn_tensor *x, const float *y,
                            struct cn_tensor *dy, struct cn_tensor *dx, float *dw, float *db,
                            float *ws)
{
	backward(g, co, p, w, x, y, dy, NULL, dx, dw, db, ws);
}

void cn_conv2d_backward_fed(const struct cn_geom *g, int32_t co, const struct cn_conv2d_plan *p,
                            const float *w, const struct cn_tensor *x,
                            const struct cn_conv2d_dy_source *src, struct cn_tensor *dx, float *dw,
                            float *db, float *ws)
{
	struct cn_tensor dy = {.n = x->n, .h = g->ho, .w = g->wo, .c = co}; /* its shape */
	backward(g, co, p, w, x, NULL, &dy, src, dx, dw, db, ws);
}
