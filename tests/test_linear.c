/*
 * linear: the GEMM version against the plain-loop reference, forward and backward, over a table
 * of hand-picked shapes and a seeded random sweep; backward semantics (dw/db accumulate, dx
 * overwritten, dx/db NULL skipped); central-difference gradient checks of x, w and b; and one
 * product checked by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "ops/ops.h"
#include "ref/ref.h"
#include "util.h"

/* the thread count a plan made now would give the op */
#define THREADS cn_gemm_threads()

#define TOL    1e-4
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

struct cfg {
	const char *desc;
	int32_t n, in, out;
	bool bias;
};

static const struct cfg edges[] = {
    {"1 -> 1, batch 1", 1, 1, 1, true},
    {"one input feature", 5, 1, 7, true},
    {"one output (a regression head)", 6, 13, 1, true},
    {"batch 1, wide input", 1, 300, 9, true},
    {"odd sizes", 7, 33, 17, true},
    {"no bias", 4, 10, 6, false},
    {"flattened 16x4x4 features to 10 classes", 8, 256, 10, true},
    {"mnist 784 -> 10, batch 3", 3, 784, 10, true},
    {"many outputs, few inputs", 2, 3, 130, true},
    {"large batch, tiny layer", 257, 2, 3, false},
    {"GEMMs shared among threads, odd sizes", 37, 301, 67, true},
    {"GEMMs shared among threads, no bias", 50, 200, 40, false},
    {"mnist 784 -> 256, batch 5 (shared among threads)", 5, 784, 256, true},
    {"a classifier past the threading threshold", 61, 700, 10, true},
};

struct stats {
	int configs;
	double y, dx, dw, db;
};

/*
 * Fast vs reference. Backward runs twice: with dx and (if bias) db, then with dx = NULL and
 * the other choice for db. dw/db start nonzero (must accumulate), y/dx start NaN (must be
 * overwritten).
 */
static void run(const struct cfg *c, struct stats *st)
{
	char name[200];
	snprintf(name, sizeof(name), "%s: n%d in%d out%d%s", c->desc, c->n, c->in, c->out,
	         c->bias ? "" : " nobias");
	const size_t xl = (size_t)c->n * c->in, yl = (size_t)c->n * c->out;
	const size_t wl = (size_t)c->out * c->in, bl = (size_t)c->out;
	struct tu_rng r = tu_rng_make(500 + (uint64_t)st->configs);
	float *x = tu_rand_floats(&r, xl), *w = tu_rand_floats(&r, wl), *b = tu_rand_floats(&r, bl),
	      *dy = tu_rand_floats(&r, yl);
	float *y = tu_nans(yl), *yr = tu_nans(yl), *dx = tu_nans(xl), *dxr = tu_nans(xl);
	float *dw = tu_rand_floats(&r, wl), *dwr = tu_copy(dw, wl), *dw2 = tu_copy(dw, wl);
	float *db = tu_rand_floats(&r, bl), *dbr = tu_copy(db, bl), *db2 = tu_copy(db, bl),
	      *db0 = tu_copy(db, bl);
	const float *bias = c->bias ? b : NULL;

	cn_linear_forward(THREADS, c->n, c->in, c->out, w, bias, x, y);
	cn_linear_forward_ref(c->n, c->in, c->out, w, bias, x, yr);
	tu_track(&st->y, tu_check_close("y", y, yr, yl, TOL, name));

	cn_linear_backward(THREADS, c->n, c->in, c->out, w, x, dy, dx, dw, c->bias ? db : NULL);
	cn_linear_backward(THREADS, c->n, c->in, c->out, w, x, dy, NULL, dw2, c->bias ? NULL : db2);
	cn_linear_backward_ref(c->n, c->in, c->out, w, x, dy, dxr, dwr, dbr);
	tu_track(&st->dx, tu_check_close("dx", dx, dxr, xl, TOL, name));
	tu_track(&st->dw, tu_check_close("dw", dw, dwr, wl, TOL, name));
	tu_track(&st->dw, tu_check_close("dw (dx NULL)", dw2, dwr, wl, TOL, name));
	tu_track(&st->db, tu_check_close("db", c->bias ? db : db2, dbr, bl, TOL, name));
	assert_memory_equal(c->bias ? db2 : db, db0, bl * sizeof(*db0)); /* NULL db: untouched */
	st->configs++;

	float *all[] = {x, w, b, dy, y, yr, dx, dxr, dw, dwr, dw2, db, dbr, db2, db0};
	for (size_t i = 0; i < LEN(all); i++) free(all[i]);
}

static void report(const char *what, const struct stats *st)
{
	print_message("linear %s: %d configurations; largest relative error y %.3g, dx %.3g, "
	              "dw %.3g, db %.3g\n",
	              what, st->configs, st->y, st->dx, st->dw, st->db);
}

/* x [2,3], W [2,3], b [2]: y = x·Wᵀ + b worked out by hand, and its gradients for dy = 1. */
static void test_by_hand(void **state)
{
	(void)state;
	const float x[] = {1, 2, 3, 4, 5, 6}, w[] = {1, 0, -1, 2, 1, 0}, b[] = {10, 20};
	const float want_y[] = {8, 24, 8, 33};
	const float dy[] = {1, 1, 1, 1};
	const float want_dw[] = {5, 7, 9, 5, 7, 9}, want_dx[] = {3, 1, -1, 3, 1, -1};
	float y[4], dx[6], dw[6] = {0}, db[2] = {0};
	cn_linear_forward(THREADS, 2, 3, 2, w, b, x, y);
	for (int i = 0; i < 4; i++) assert_true(y[i] == want_y[i]);
	cn_linear_backward(THREADS, 2, 3, 2, w, x, dy, dx, dw, db);
	for (int i = 0; i < 6; i++) assert_true(dw[i] == want_dw[i] && dx[i] == want_dx[i]);
	assert_true(db[0] == 2 && db[1] == 2);
}

static void test_edges(void **state)
{
	(void)state;
	struct stats st = {0};
	for (size_t i = 0; i < LEN(edges); i++) run(&edges[i], &st);
	report("edge table", &st);
}

static void test_random_sweep(void **state)
{
	(void)state;
	struct tu_rng r = tu_rng_make(43);
	struct stats st = {0};
	while (st.configs < 200) {
		struct cfg c = {"random", tu_int(&r, 0, 2) ? tu_int(&r, 1, 32) : 1,
		                tu_int(&r, 1, 400), tu_int(&r, 1, 120), tu_int(&r, 0, 3) != 0};
		run(&c, &st);
	}
	report("random sweep", &st);
}

/* Gradient check context: loss = Σ r .* (x·Wᵀ + b), r fixed, in double. */
struct gc {
	int32_t n, in, out;
	float *x, *w, *b, *y;
	const double *r;
};

static double loss(void *p)
{
	struct gc *c = p;
	cn_linear_forward(THREADS, c->n, c->in, c->out, c->w, c->b, c->x, c->y);
	double s = 0;
	for (size_t i = 0; i < (size_t)c->n * c->out; i++) s += c->r[i] * c->y[i];
	return s;
}

static void test_gradcheck(void **state)
{
	(void)state;
	static const int32_t shapes[][3] = {{1, 1, 1}, {3, 5, 4}, {2, 17, 3}, {5, 2, 9}};
	struct tu_rng r = tu_rng_make(9);
	double worst[3] = {0};
	for (size_t s = 0; s < LEN(shapes); s++) {
		struct gc c = {shapes[s][0], shapes[s][1], shapes[s][2], NULL,
		               NULL,         NULL,         NULL,         NULL};
		const size_t xl = (size_t)c.n * c.in, yl = (size_t)c.n * c.out;
		const size_t wl = (size_t)c.out * c.in, bl = (size_t)c.out;
		c.x = tu_rand_floats(&r, xl), c.w = tu_rand_floats(&r, wl),
		c.b = tu_rand_floats(&r, bl), c.y = tu_floats(yl);
		float *dy = tu_rand_floats(&r, yl); /* dloss/dy = r exactly: r is dy widened */
		double *rr = tu_alloc(yl * sizeof(double));
		for (size_t i = 0; i < yl; i++) rr[i] = dy[i];
		c.r = rr;
		float *dx = tu_floats(xl), *dw = tu_floats(wl), *db = tu_floats(bl);
		memset(dw, 0, wl * sizeof(*dw));
		memset(db, 0, bl * sizeof(*db));
		cn_linear_backward(THREADS, c.n, c.in, c.out, c.w, c.x, dy, dx, dw, db);
		/* the loss is linear in each of x, w, b: a wide step costs no truncation error */
		tu_track(&worst[0], tu_gradcheck("dx", loss, &c, c.x, xl, dx, 0.05, 1e-3, 200));
		tu_track(&worst[1], tu_gradcheck("dw", loss, &c, c.w, wl, dw, 0.05, 1e-3, 200));
		tu_track(&worst[2], tu_gradcheck("db", loss, &c, c.b, bl, db, 0.05, 1e-3, 200));
		float *all[] = {c.x, c.w, c.b, c.y, dy, dx, dw, db};
		for (size_t i = 0; i < LEN(all); i++) free(all[i]);
		free(rr);
	}
	print_message("linear gradcheck: %zu shapes; largest error dx %.3g, dw %.3g, db %.3g\n",
	              LEN(shapes), worst[0], worst[1], worst[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_by_hand),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_random_sweep),
	    cmocka_unit_test(test_gradcheck),
	};
	return cmocka_run_group_tests_name("linear", tests, NULL, NULL);
}
