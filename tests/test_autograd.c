/* Check suite for the autograd tape: known-answer gradients, accumulation, no-grad, tape release, storage reuse, layer hooks, parameter gradient hooks. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ig_autograd.h"
#include "ig_test_util.h"
#include "ig_util.h"

/* internal tables (autograd/ig_ag_internal.h) */
extern const int ig_ag_kernel_coverage[IG_OP_COUNT];
enum ig_status ig_ag_check_tables(void);

static struct ig_backend *be;

static void setup(void) { be = ig_test_backend_open(); }
static void teardown(void) { ig_test_backend_close(&be); }

static struct ig_var *param_from(int ndim, const int64_t *shape, const float *data)
{
    struct ig_var *p = ig_param_new(be, ndim, shape);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(ig_tensor_from_host_into(ig_var_value(p), data, ig_tensor_nbytes(ig_var_value(p))), IG_OK);
    return p;
}

static void readt(const struct ig_tensor *t, float *out)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ig_tensor_to_host(t, out, ig_tensor_nbytes(t)), IG_OK);
}

START_TEST(test_tables)
{
    ck_assert_int_eq(ig_ag_check_tables(), IG_OK);
    ck_assert_str_eq(ig_ag_op_name(IG_AG_OP_CONV2D), "conv2d");
    /* every forward kernel that has a gradient is recorded by some autograd op */
    int differentiable = 0;
    for (int i = 0; i < IG_OP_COUNT; i++) {
        int c = ig_ag_kernel_coverage[i];
        ck_assert(c >= -2 && c < IG_AG_OP_COUNT);
        differentiable += c >= 0;
    }
    ck_assert_int_eq(ig_ag_kernel_coverage[IG_OP_CONV2D_FWD], IG_AG_OP_CONV2D);
    ck_assert_int_eq(ig_ag_kernel_coverage[IG_OP_BN2D_FWD_TRAIN], IG_AG_OP_BATCHNORM2D_TRAIN);
    ck_assert_int_eq(differentiable, 19);
}
END_TEST

/* y = x W^T + b, loss = sum(y): dW[o,i] = sum_n x[n,i], db[o] = N, dx[n,i] = sum_o W[o,i] */
static const float lin_x[6] = {1, 2, 3, 4, 5, 6}, lin_w[6] = {0.5f, -1, 2, 1, 0, -0.5f}, lin_b[2] = {0.25f, -0.75f};
static const float lin_dw[6] = {5, 7, 9, 5, 7, 9}, lin_db[2] = {2, 2}, lin_dx[6] = {1.5f, -1, 1.5f, 1.5f, -1, 1.5f};
static void linear_params(struct ig_var **X, struct ig_var **W, struct ig_var **B)
{
    *X = param_from(2, (int64_t[]){2, 3}, lin_x);
    *W = param_from(2, (int64_t[]){2, 3}, lin_w);
    *B = param_from(1, (int64_t[]){2}, lin_b);
}

START_TEST(test_linear_known_answer)
{
    struct ig_var *X, *W, *B;
    linear_params(&X, &W, &B);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    struct ig_var *y = ig_ag_linear(g, X, W, B);
    struct ig_var *loss = ig_ag_sum(g, y);
    ck_assert_ptr_nonnull(loss);
    float yv[4], lv;
    readt(ig_var_value(y), yv);
    /* row 0: 0.5-2+6+0.25 = 4.75 ; 1+0-1.5-0.75 = -1.25 ; row 1: 2-5+12+0.25 = 9.25 ; 4+0-3-0.75 = 0.25 */
    float ye[4] = {4.75f, -1.25f, 9.25f, 0.25f};
    ck_assert(ig_test_close_ratio(yv, ye, 4, 1e-6, 1e-6) <= 1.0);
    ck_assert_int_eq(ig_tensor_item(ig_var_value(loss), &lv), IG_OK);
    ck_assert_float_eq_tol(lv, 13.0f, 1e-5f);
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    float dw[6], db[2], dx[6];
    readt(ig_var_grad(W), dw);
    readt(ig_var_grad(B), db);
    readt(ig_var_grad(X), dx);
    ck_assert(ig_test_close_ratio(dw, lin_dw, 6, 1e-6, 1e-6) <= 1.0);
    ck_assert(ig_test_close_ratio(db, lin_db, 2, 1e-6, 1e-6) <= 1.0);
    ck_assert(ig_test_close_ratio(dx, lin_dx, 6, 1e-6, 1e-6) <= 1.0);
    ig_graph_free(g);
    ig_param_free(X);
    ig_param_free(W);
    ig_param_free(B);
}
END_TEST

/* The same layer with W frozen: no gradient reaches W, X and B get the known ones; unfreezing restores W's. */
START_TEST(test_frozen_param)
{
    struct ig_var *X, *W, *B;
    linear_params(&X, &W, &B);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ck_assert_ptr_eq(ig_graph_backend(g), be);
    ck_assert_ptr_null(ig_graph_backend(NULL));
    ig_param_set_requires_grad(W, false);
    ck_assert(!ig_var_requires_grad(W));
    ck_assert_int_eq(ig_graph_backward(g, ig_ag_sum(g, ig_ag_linear(g, X, W, B))), IG_OK);
    ck_assert(!ig_param_has_grad(W));
    ck_assert(ig_param_has_grad(X) && ig_param_has_grad(B));
    float db[2], dx[6], dw[6];
    readt(ig_var_grad(B), db);
    readt(ig_var_grad(X), dx);
    ck_assert(ig_test_close_ratio(db, lin_db, 2, 1e-6, 1e-6) <= 1.0);
    ck_assert(ig_test_close_ratio(dx, lin_dx, 6, 1e-6, 1e-6) <= 1.0);
    ig_param_set_requires_grad(W, true);
    ig_param_zero_grad(X);
    ig_param_zero_grad(B);
    ig_graph_reset(g);
    ck_assert_int_eq(ig_graph_backward(g, ig_ag_sum(g, ig_ag_linear(g, X, W, B))), IG_OK);
    ck_assert(ig_param_has_grad(W));
    readt(ig_var_grad(W), dw);
    ck_assert(ig_test_close_ratio(dw, lin_dw, 6, 1e-6, 1e-6) <= 1.0);
    ig_graph_free(g);
    ig_param_free(X);
    ig_param_free(W);
    ig_param_free(B);
}
END_TEST

/* x used twice: d/dx sum(x*x + x) = 2x + 1; parameter gradients accumulate across backwards */
START_TEST(test_accumulation)
{
    int64_t s[1] = {4};
    float x[4] = {1, -2, 0.5f, 3};
    struct ig_var *X = param_from(1, s, x);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    for (int step = 0; step < 2; step++) {
        ig_graph_reset(g);
        struct ig_var *loss = ig_ag_sum(g, ig_ag_add(g, ig_ag_mul(g, X, X), X));
        ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    }
    float gx[4];
    readt(ig_var_grad(X), gx);
    for (int i = 0; i < 4; i++) ck_assert_float_eq_tol(gx[i], 2.0f * (2 * x[i] + 1), 1e-5f);
    ig_param_zero_grad(X);
    ck_assert(!ig_param_has_grad(X));
    readt(ig_var_grad(X), gx);      /* zeroed gradient reads as zeros */
    for (int i = 0; i < 4; i++) ck_assert_float_eq(gx[i], 0.0f);
    ig_graph_free(g);
    ig_param_free(X);
}
END_TEST

START_TEST(test_no_grad_and_release)
{
    int64_t s[2] = {2, 2};
    float x[4] = {1, 2, 3, 4};
    struct ig_var *X = param_from(2, s, x);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ig_graph_set_grad_enabled(g, false);
    struct ig_var *loss = ig_ag_sum(g, ig_ag_scale(g, X, 2.0f));
    ck_assert_ptr_nonnull(loss);
    float v;
    ck_assert_int_eq(ig_tensor_item(ig_var_value(loss), &v), IG_OK);
    ck_assert_float_eq_tol(v, 20.0f, 1e-5f);
    ck_assert(!ig_var_requires_grad(loss));
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_ERR_STATE);
    ig_graph_set_grad_enabled(g, true);
    ig_graph_reset(g);
    loss = ig_ag_sum(g, ig_ag_scale(g, X, 2.0f));
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    /* the tape is released: a second backward is refused, values stay readable */
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_ERR_STATE);
    ck_assert_int_eq(ig_tensor_item(ig_var_value(loss), &v), IG_OK);
    ck_assert_float_eq_tol(v, 20.0f, 1e-5f);
    /* using a var of the released tape in a new op is an error */
    ck_assert_ptr_null(ig_ag_relu(g, loss));
    ck_assert_int_eq(ig_graph_status(g), IG_ERR_STATE);
    ig_graph_free(g);
    ig_param_free(X);
}
END_TEST

/* Gradient of x and w for logits = relu(x) w^T against labels lab, recorded fresh. */
static void fresh_grads(struct ig_var *W, struct ig_tensor *xt, const struct ig_tensor *lab, float *gx, float *gw)
{
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ig_param_zero_grad(W);
    struct ig_var *X = ig_graph_input(g, xt, true);
    struct ig_var *loss = ig_ag_cross_entropy(g, ig_ag_linear(g, ig_ag_relu(g, X), W, NULL), lab, IG_REDUCTION_SUM);
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    readt(ig_var_grad(X), gx);
    readt(ig_var_grad(W), gw);
    ig_graph_free(g);
}

START_TEST(test_retain_backward)
{
    /* with retain on, one forward serves several backwards: the labels the loss borrows changed
     * between them give each class's gradients exactly (bit for bit a fresh forward + backward);
     * graph vars start from empty gradients, parameters accumulate; retain off releases again */
    int64_t sx[2] = {3, 4}, sw[2] = {5, 4}, sl[1] = {3};
    float x[12], w[20];
    for (int i = 0; i < 12; i++) x[i] = 0.3f * (float)(i % 5) - 0.5f;
    for (int i = 0; i < 20; i++) w[i] = 0.1f * (float)((i * 7) % 11) - 0.45f;
    int32_t l0[3] = {0, 1, 2}, l1[3] = {4, 4, 3};
    struct ig_var *W = param_from(2, sw, w);
    struct ig_tensor *xt = ig_tensor_from_host(be, IG_DTYPE_F32, 2, sx, x);
    struct ig_tensor *lab = ig_tensor_from_host(be, IG_DTYPE_I32, 1, sl, l0);
    struct ig_tensor *lab1 = ig_tensor_from_host(be, IG_DTYPE_I32, 1, sl, l1);
    ck_assert(xt && lab && lab1);
    float fx0[12], fw0[20], fx1[12], fw1[20], gx[12], gw[20];
    fresh_grads(W, xt, lab, fx0, fw0);
    fresh_grads(W, xt, lab1, fx1, fw1);

    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ig_param_zero_grad(W);
    ig_graph_set_retain(g, true);
    struct ig_var *X = ig_graph_input(g, xt, true);
    struct ig_var *loss = ig_ag_cross_entropy(g, ig_ag_linear(g, ig_ag_relu(g, X), W, NULL), lab, IG_REDUCTION_SUM);
    int ops = ig_graph_size(g);
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    readt(ig_var_grad(X), gx);
    ck_assert_mem_eq(gx, fx0, sizeof gx);
    ck_assert_int_eq(ig_tensor_from_host_into(lab, l1, sizeof l1), IG_OK);   /* the borrowed labels change */
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    ck_assert_int_eq(ig_graph_size(g), ops);   /* no op recorded again */
    readt(ig_var_grad(X), gx);
    ck_assert_mem_eq(gx, fx1, sizeof gx);      /* not fx0 + fx1: graph vars start empty */
    readt(ig_var_grad(W), gw);
    for (int i = 0; i < 20; i++) ck_assert_float_eq_tol(gw[i], fw0[i] + fw1[i], 1e-6f);   /* parameters accumulate */
    /* retain off: the next backward releases, the one after is refused */
    ig_graph_set_retain(g, false);
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_ERR_STATE);
    ig_graph_free(g);
    ig_tensor_free(lab1);
    ig_tensor_free(lab);
    ig_tensor_free(xt);
    ig_param_free(W);
}
END_TEST

START_TEST(test_errors_propagate)
{
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    int64_t a[2] = {2, 3}, b[2] = {4, 5};
    float z[20] = {0};
    struct ig_var *A = param_from(2, a, z), *B = param_from(2, b, z);
    struct ig_var *c = ig_ag_matmul(g, A, B, false, false);   /* 3 != 4 */
    ck_assert_ptr_null(c);
    ck_assert_int_ne(ig_graph_status(g), IG_OK);
    /* NULL flows through the rest of the forward without crashing */
    ck_assert_ptr_null(ig_ag_relu(g, ig_ag_sum(g, c)));
    ck_assert_int_ne(ig_graph_backward(g, c), IG_OK);
    ig_graph_reset(g);
    ck_assert_int_eq(ig_graph_status(g), IG_OK);
    ck_assert_ptr_null(ig_ag_add(g, A, B));                    /* shapes differ */
    ck_assert_int_eq(ig_graph_status(g), IG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "add"));
    ig_graph_free(g);
    ig_param_free(A);
    ig_param_free(B);
}
END_TEST

/* Steady state: the same step recorded again allocates no new buffers. */
START_TEST(test_storage_reuse)
{
    int64_t xs[4] = {4, 3, 8, 8}, ws[4] = {5, 3, 3, 3}, ls[2] = {10, 5 * 4 * 4}, ns[1] = {4};
    float *h = malloc(1024 * sizeof *h);
    ig_test_fill_uniform(h, 1024, 3, -1, 1);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, h);
    struct ig_var *W = param_from(4, ws, h), *L = param_from(2, ls, h);
    int32_t lab[4] = {1, 2, 3, 4};
    struct ig_tensor *labels = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ns, lab);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    size_t used0 = 0, pooled0 = 0;
    for (int step = 0; step < 4; step++) {
        ig_graph_reset(g);
        struct ig_conv2d_params cp = {1, 1, 1, 1};
        struct ig_pool2d_params pp = {2, 2};
        struct ig_var *y = ig_ag_maxpool2d(g, ig_ag_relu(g, ig_ag_conv2d(g, ig_graph_input(g, x, false), W, NULL, cp)), pp);
        struct ig_var *loss = ig_ag_cross_entropy(g, ig_ag_linear(g, ig_ag_flatten(g, y), L, NULL), labels, IG_REDUCTION_MEAN);
        ig_param_zero_grad(W);
        ig_param_zero_grad(L);
        ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
        size_t used, pooled;
        ig_backend_memory(be, &used, &pooled);
        if (step == 1) used0 = used, pooled0 = pooled;
        if (step > 1) {
            ck_assert_uint_eq(used, used0);
            ck_assert_uint_eq(pooled, pooled0);
        }
        ck_assert_int_eq(ig_graph_size(g), 7);
    }
    ig_graph_free(g);
    ig_param_free(W);
    ig_param_free(L);
    ig_tensor_free(x);
    ig_tensor_free(labels);
    free(h);
}
END_TEST

/* Layer hook: sum over samples of dy_n^T x_n equals the weight gradient; dy_n is the
 * per-sample gradient with reduction SUM. */
struct hook_data { float *x, *dy; int64_t n, in, out; int calls; };

/* host copies of a hook's input x and grad_output dy (the test frees them) */
static void hook_copy(const struct ig_layer_grad *lg, float **x, float **dy)
{
    *x = malloc(ig_tensor_nbytes(lg->input));
    *dy = malloc(ig_tensor_nbytes(lg->grad_output));
    ck_assert_int_eq(ig_tensor_to_host(lg->input, *x, ig_tensor_nbytes(lg->input)), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(lg->grad_output, *dy, ig_tensor_nbytes(lg->grad_output)), IG_OK);
}

static enum ig_status hook(const struct ig_layer_grad *lg, void *user)
{
    struct hook_data *d = user;
    ck_assert_int_eq(lg->op, IG_AG_OP_LINEAR);
    d->n = lg->input->shape[0];
    d->in = lg->input->shape[1];
    d->out = lg->grad_output->shape[1];
    hook_copy(lg, &d->x, &d->dy);
    d->calls++;
    return IG_OK;
}

START_TEST(test_layer_hook)
{
    int64_t xs[2] = {6, 5}, w1s[2] = {4, 5}, w2s[2] = {3, 4}, ns[1] = {6};
    float h[40];
    ig_test_fill_uniform(h, 40, 8, -1, 1);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 2, xs, h);
    struct ig_var *W1 = param_from(2, w1s, h + 10), *W2 = param_from(2, w2s, h + 20);
    int32_t lab[6] = {0, 1, 2, 0, 1, 2};
    struct ig_tensor *labels = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ns, lab);
    struct hook_data d = {0};
    ig_param_set_watch(W2, true);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ig_graph_set_layer_hook(g, hook, &d);
    struct ig_var *hid = ig_ag_relu(g, ig_ag_linear(g, ig_graph_input(g, x, false), W1, NULL));
    struct ig_var *loss = ig_ag_cross_entropy(g, ig_ag_linear(g, hid, W2, NULL), labels, IG_REDUCTION_SUM);
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    ck_assert_int_eq(d.calls, 1);
    ck_assert_int_eq(d.n, 6);
    float gw[12], sum[12] = {0};
    readt(ig_var_grad(W2), gw);
    for (int64_t n = 0; n < d.n; n++)
        for (int64_t o = 0; o < d.out; o++)
            for (int64_t i = 0; i < d.in; i++) sum[o * d.in + i] += d.dy[n * d.out + o] * d.x[n * d.in + i];
    ck_assert(ig_test_close_ratio(sum, gw, 12, 1e-5, 1e-6) <= 1.0);
    /* each row of dy is a per-sample softmax - onehot: it sums to zero */
    for (int64_t n = 0; n < d.n; n++) {
        double s = 0;
        for (int64_t o = 0; o < d.out; o++) s += d.dy[n * d.out + o];
        ck_assert(fabs(s) < 1e-5);
    }
    /* without parameter gradients the hook still runs and the grads stay untouched */
    free(d.x);
    free(d.dy);
    d.calls = 0;
    ig_param_zero_grad(W1);
    ig_param_zero_grad(W2);
    ig_graph_set_param_grads(g, false);
    ig_graph_reset(g);
    hid = ig_ag_relu(g, ig_ag_linear(g, ig_graph_input(g, x, false), W1, NULL));
    loss = ig_ag_cross_entropy(g, ig_ag_linear(g, hid, W2, NULL), labels, IG_REDUCTION_SUM);
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    ck_assert_int_eq(d.calls, 1);
    ck_assert(!ig_param_has_grad(W2));
    ck_assert(!ig_param_has_grad(W1));
    free(d.x);
    free(d.dy);
    ig_graph_free(g);
    ig_param_free(W1);
    ig_param_free(W2);
    ig_tensor_free(x);
    ig_tensor_free(labels);
}
END_TEST

/* Parameter gradient hook: what each call saw (count, call order, the gradient then). */
struct grad_rec { int count, order, fail; float snap[9]; };
static int grad_calls;

static enum ig_status grad_final(struct ig_var *p, void *user)
{
    struct grad_rec *r = user;
    r->count++;
    r->order = grad_calls++;
    readt(ig_var_grad(p), r->snap);
    return r->fail ? ig_error(IG_ERR_IO, "hook refused") : IG_OK;
}

/* loss = sum(y*y), y = (W2 (W1 relu(W1 x + B1)) + B2) + Z: W1 tied across two ops. */
static struct ig_var *tied_loss(struct ig_graph *g, struct ig_tensor *x, struct ig_var *const *P)
{
    ig_graph_reset(g);
    struct ig_var *h = ig_ag_relu(g, ig_ag_linear(g, ig_graph_input(g, x, false), P[0], P[1]));
    struct ig_var *y = ig_ag_bias_add(g, ig_ag_linear(g, ig_ag_linear(g, h, P[0], NULL), P[2], P[3]), P[4]);
    return ig_ag_sum(g, ig_ag_mul(g, y, y));
}

/* The hook fires once per parameter of the tape, after its last contribution: the gradient it
 * sees is the final one (W1's first use runs last), later layers first; not for a frozen or an
 * unused parameter, nor without parameter gradients; an error aborts the backward. */
START_TEST(test_param_grad_hook)
{
    static const int64_t shapes[6][2] = {{3, 3}, {3, 0}, {2, 3}, {2, 0}, {2, 0}, {2, 0}};
    float h[60];
    ig_test_fill_uniform(h, 60, 11, -1, 1);
    struct ig_var *P[6];   /* W1, B1, W2, B2, Z (frozen), U (unused) */
    struct grad_rec rec[6];
    memset(rec, 0, sizeof rec);
    for (int i = 0; i < 6; i++) {
        P[i] = param_from(shapes[i][1] ? 2 : 1, shapes[i], h + 12 + 9 * (i % 5));
        ig_param_set_grad_hook(P[i], grad_final, &rec[i]);
    }
    ig_param_set_requires_grad(P[4], false);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 2, (int64_t[]){4, 3}, h);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    for (int pass = 1; pass <= 2; pass++) {   /* the second backward accumulates (no zero_grad) */
        ck_assert_int_eq(ig_graph_backward(g, tied_loss(g, x, P)), IG_OK);
        for (int i = 0; i < 4; i++) {
            float fin[9];
            readt(ig_var_grad(P[i]), fin);
            ck_assert_int_eq(rec[i].count, pass);
            ck_assert_msg(!memcmp(fin, rec[i].snap, ig_tensor_nbytes(ig_var_value(P[i]))), "param %d: not final", i);
        }
        ck_assert(rec[2].order < rec[0].order && rec[3].order < rec[0].order && rec[3].order < rec[1].order);
        ck_assert_int_eq(rec[4].count + rec[5].count, 0);
    }
    ig_graph_set_param_grads(g, false);
    ck_assert_int_eq(ig_graph_backward(g, tied_loss(g, x, P)), IG_OK);
    ck_assert_int_eq(rec[0].count, 2);
    ig_graph_set_param_grads(g, true);
    rec[2].fail = 1;
    ck_assert_int_eq(ig_graph_backward(g, tied_loss(g, x, P)), IG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "parameter gradient hook: hook refused"));
    ck_assert_int_eq(rec[0].count, 2);   /* aborted before W1 */
    ig_param_set_grad_hook(P[2], NULL, NULL);
    ig_param_set_grad_hook(NULL, grad_final, NULL);
    ck_assert_int_eq(ig_graph_backward(g, tied_loss(g, x, P)), IG_OK);
    ck_assert_int_eq(rec[2].count, 3);
    ck_assert_int_eq(rec[0].count, 3);
    /* one op using X twice (x * x + x): one call, with the gradient 2x + 1 */
    ig_param_zero_grad(P[1]);
    ig_graph_reset(g);
    ck_assert_int_eq(ig_graph_backward(g, ig_ag_sum(g, ig_ag_add(g, ig_ag_mul(g, P[1], P[1]), P[1]))), IG_OK);
    ck_assert_int_eq(rec[1].count, 4);
    for (int i = 0; i < 3; i++) ck_assert_float_eq_tol(rec[1].snap[i], 2 * h[12 + 9 + i] + 1, 1e-6f);
    ig_graph_free(g);
    ig_tensor_free(x);
    for (int i = 0; i < 6; i++) ig_param_free(P[i]);
}
END_TEST

/* Conv hook: the per-sample correlations of dy_n with x_n sum to the weight gradient. */
struct conv_hook_data { float *x, *dy; int64_t xs[4], ys[4]; struct ig_conv2d_params p; int calls; };

static enum ig_status conv_hook(const struct ig_layer_grad *lg, void *user)
{
    struct conv_hook_data *d = user;
    ck_assert_int_eq(lg->op, IG_AG_OP_CONV2D);
    for (int i = 0; i < 4; i++) d->xs[i] = lg->input->shape[i], d->ys[i] = lg->grad_output->shape[i];
    d->p = lg->conv;
    hook_copy(lg, &d->x, &d->dy);
    d->calls++;
    return IG_OK;
}

START_TEST(test_conv_hook)
{
    int64_t xs[4] = {3, 2, 5, 6}, ws[4] = {4, 2, 3, 3}, ls[2] = {2, 4 * 3 * 3}, ns[1] = {3};
    float h[512];
    ig_test_fill_uniform(h, 512, 12, -1, 1);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, h);
    struct ig_var *W = param_from(4, ws, h + 200), *L = param_from(2, ls, h + 300);
    int32_t lab[3] = {1, 0, 1};
    struct ig_tensor *labels = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ns, lab);
    struct conv_hook_data d = {0};
    ig_param_set_watch(W, true);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ig_graph_set_layer_hook(g, conv_hook, &d);
    struct ig_conv2d_params cp = {2, 2, 1, 1};
    struct ig_var *y = ig_ag_relu(g, ig_ag_conv2d(g, ig_graph_input(g, x, false), W, NULL, cp));
    struct ig_var *loss = ig_ag_cross_entropy(g, ig_ag_linear(g, ig_ag_flatten(g, y), L, NULL), labels, IG_REDUCTION_SUM);
    ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
    ck_assert_int_eq(d.calls, 1);
    ck_assert_int_eq(d.ys[2], 3);
    ck_assert_int_eq(d.ys[3], 3);
    float gw[72], sum[72] = {0};
    readt(ig_var_grad(W), gw);
    for (int64_t n = 0; n < d.xs[0]; n++)
        for (int64_t o = 0; o < 4; o++)
            for (int64_t c = 0; c < 2; c++)
                for (int64_t kh = 0; kh < 3; kh++)
                    for (int64_t kw = 0; kw < 3; kw++)
                        for (int64_t ho = 0; ho < d.ys[2]; ho++)
                            for (int64_t wo = 0; wo < d.ys[3]; wo++) {
                                int64_t hi = ho * 2 - 1 + kh, wi = wo * 2 - 1 + kw;
                                if (hi < 0 || hi >= d.xs[2] || wi < 0 || wi >= d.xs[3]) continue;
                                sum[((o * 2 + c) * 3 + kh) * 3 + kw] += d.dy[((n * 4 + o) * 3 + ho) * 3 + wo]
                                                                        * d.x[((n * 2 + c) * 5 + hi) * 6 + wi];
                            }
    ck_assert(ig_test_close_ratio(sum, gw, 72, 1e-4, 1e-6) <= 1.0);
    free(d.x);
    free(d.dy);
    ig_graph_free(g);
    ig_param_free(W);
    ig_param_free(L);
    ig_tensor_free(x);
    ig_tensor_free(labels);
}
END_TEST

/* The checker itself fails on a wrong gradient: a function whose dropout mask changes on
 * every call has no consistent derivative. */
static struct ig_var *f_inconsistent(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    uint64_t *counter = u;
    struct ig_dropout_params p = {0.5f, 1, (*counter)++ * 1000, false};
    return ig_ag_dropout(g, in[0], p);
}

START_TEST(test_gradcheck_detects_errors)
{
    int64_t s[1] = {32};
    float h[32];
    ig_test_fill_uniform(h, 32, 4, 0.5f, 1.0f);
    struct ig_var *X = param_from(1, s, h);
    uint64_t counter = 0;
    double worst = 0;
    struct ig_gradcheck_params p = ig_gradcheck_params_default();
    ck_assert_int_eq(ig_gradcheck(be, f_inconsistent, &counter, 1, &X, p, &worst), IG_ERR_INTERNAL);
    ck_assert(worst > 1.0);
    ig_param_free(X);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("autograd");
    TCase *tc = tcase_create("tape");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_tables);
    tcase_add_test(tc, test_linear_known_answer);
    tcase_add_test(tc, test_frozen_param);
    tcase_add_test(tc, test_accumulation);
    tcase_add_test(tc, test_no_grad_and_release);
    tcase_add_test(tc, test_retain_backward);
    tcase_add_test(tc, test_errors_propagate);
    tcase_add_test(tc, test_storage_reuse);
    tcase_add_test(tc, test_layer_hook);
    tcase_add_test(tc, test_conv_hook);
    tcase_add_test(tc, test_param_grad_hook);
    tcase_add_test(tc, test_gradcheck_detects_errors);
    suite_add_tcase(s, tc);
    return ig_test_run(s);
}
