/* Check suite: finite-difference gradient check (central differences, double sums) of every differentiable autograd op. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ig_autograd.h"
#include "ig_test_util.h"

static struct ig_backend *be;

static void setup(void) { be = ig_test_backend_open(); }
static void teardown(void) { ig_test_backend_close(&be); }

/* A parameter filled with U(lo, hi) from seed. */
static struct ig_var *param(int ndim, const int64_t *shape, uint64_t seed, float lo, float hi)
{
    struct ig_var *p = ig_param_new(be, ndim, shape);
    ck_assert_ptr_nonnull(p);
    int64_t n = ig_tensor_numel(ig_var_value(p));
    float *h = malloc((size_t)n * sizeof *h);
    ig_test_fill_uniform(h, (size_t)n, seed, lo, hi);
    ck_assert_int_eq(ig_tensor_from_host_into(ig_var_value(p), h, (size_t)n * sizeof *h), IG_OK);
    free(h);
    return p;
}

/* Values with gaps >= spacing (distinct maxima, away from ReLU's kink): a shuffled grid. */
static struct ig_var *param_spread(int ndim, const int64_t *shape, uint64_t seed, float spacing)
{
    struct ig_var *p = ig_param_new(be, ndim, shape);
    int64_t n = ig_tensor_numel(ig_var_value(p));
    float *h = malloc((size_t)n * sizeof *h), *u = malloc((size_t)n * sizeof *u);
    ig_test_fill_uniform(u, (size_t)n, seed, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) {
        int64_t rank = 0;   /* rank of u[i]: a permutation of 0..n-1 */
        for (int64_t j = 0; j < n; j++) rank += u[j] < u[i] || (u[j] == u[i] && j < i);
        h[i] = ((float)rank - (float)n / 2.0f + 0.5f) * spacing;
    }
    ck_assert_int_eq(ig_tensor_from_host_into(ig_var_value(p), h, (size_t)n * sizeof *h), IG_OK);
    free(h);
    free(u);
    return p;
}

/* Returns the worst normalised error (<= 1 passes); frees the inputs. */
static double run_check(ig_gradcheck_fn fn, void *user, int n, struct ig_var **in, double eps)
{
    struct ig_gradcheck_params p = ig_gradcheck_params_default();
    p.eps = eps;
    double worst = 0.0;
    enum ig_status s = ig_gradcheck(be, fn, user, n, in, p, &worst);
    if (s != IG_OK) ck_abort_msg("gradcheck failed: %s (worst %.3g)", ig_last_error(), worst);
    for (int i = 0; i < n; i++) ig_param_free(in[i]);
    return worst;
}

/* ---------------------------------------------------------------- functions under test */

struct mm_opts { bool ta, tb; };
static struct ig_var *f_matmul(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    struct mm_opts *o = u;
    return ig_ag_matmul(g, in[0], in[1], o->ta, o->tb);
}

START_TEST(test_matmul)
{
    for (int k = 0; k < 4; k++) {
        struct mm_opts o = {k & 1, (k >> 1) & 1};
        int64_t as[2] = {o.ta ? 4 : 3, o.ta ? 3 : 4}, bs[2] = {o.tb ? 5 : 4, o.tb ? 4 : 5};
        struct ig_var *in[2] = {param(2, as, 1 + k, -1, 1), param(2, bs, 11 + k, -1, 1)};
        ck_assert_double_le(run_check(f_matmul, &o, 2, in, 1e-2), 1.0);
    }
}
END_TEST

static struct ig_var *f_linear(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    return ig_ag_linear(g, in[0], in[1], u ? in[2] : NULL);
}

START_TEST(test_linear)
{
    int64_t xs[2] = {5, 7}, ws[2] = {3, 7}, bs[1] = {3};
    struct ig_var *in[3] = {param(2, xs, 1, -1, 1), param(2, ws, 2, -1, 1), param(1, bs, 3, -1, 1)};
    ck_assert_double_le(run_check(f_linear, in, 3, in, 1e-2), 1.0);
    struct ig_var *in2[2] = {param(2, xs, 4, -1, 1), param(2, ws, 5, -1, 1)};
    ck_assert_double_le(run_check(f_linear, NULL, 2, in2, 1e-2), 1.0);
}
END_TEST

struct conv_opts { struct ig_conv2d_params p; bool bias; };
static struct ig_var *f_conv(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    struct conv_opts *o = u;
    return ig_ag_conv2d(g, in[0], in[1], o->bias ? in[2] : NULL, o->p);
}

START_TEST(test_conv2d)
{
    struct conv_opts cases[3] = {
        {{1, 1, 1, 1}, true},   /* the paper's 3x3 pad 1 */
        {{2, 2, 0, 0}, true},   /* strided, no padding */
        {{1, 2, 2, 1}, false},  /* asymmetric, no bias */
    };
    for (int k = 0; k < 3; k++) {
        int64_t xs[4] = {2, 3, 6, 5}, ws[4] = {4, 3, 3, 3}, bs[1] = {4};
        struct ig_var *in[3] = {param(4, xs, 21 + k, -1, 1), param(4, ws, 31 + k, -0.5f, 0.5f), param(1, bs, 41 + k, -1, 1)};
        ck_assert_double_le(run_check(f_conv, &cases[k], cases[k].bias ? 3 : 2, in, 1e-2), 1.0);
        if (!cases[k].bias) ig_param_free(in[2]);
    }
}
END_TEST

static struct ig_var *f_bias_add(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    (void)u;
    return ig_ag_bias_add(g, in[0], in[1]);
}

START_TEST(test_bias_add)
{
    int64_t xs4[4] = {2, 3, 2, 2}, xs2[2] = {4, 3}, bs[1] = {3};
    struct ig_var *in[2] = {param(4, xs4, 1, -1, 1), param(1, bs, 2, -1, 1)};
    ck_assert_double_le(run_check(f_bias_add, NULL, 2, in, 1e-2), 1.0);
    struct ig_var *in2[2] = {param(2, xs2, 3, -1, 1), param(1, bs, 4, -1, 1)};
    ck_assert_double_le(run_check(f_bias_add, NULL, 2, in2, 1e-2), 1.0);
}
END_TEST

static struct ig_var *f_maxpool(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    struct ig_pool2d_params *p = u;
    return ig_ag_maxpool2d(g, in[0], *p);
}

START_TEST(test_maxpool2d)
{
    struct ig_pool2d_params ps[2] = {{2, 2}, {3, 2}};   /* non-overlapping, overlapping */
    for (int k = 0; k < 2; k++) {
        int64_t xs[4] = {2, 2, 7, 6};
        struct ig_var *in[1] = {param_spread(4, xs, 5 + k, 0.05f)};
        ck_assert_double_le(run_check(f_maxpool, &ps[k], 1, in, 1e-2), 1.0);
    }
}
END_TEST

static struct ig_var *f_relu(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    (void)u;
    return ig_ag_relu(g, in[0]);
}

START_TEST(test_relu)
{
    int64_t xs[2] = {6, 7};
    struct ig_var *in[1] = {param_spread(2, xs, 9, 0.05f)};
    ck_assert_double_le(run_check(f_relu, NULL, 1, in, 1e-2), 1.0);
}
END_TEST

struct bn_opts { struct ig_tensor *rm, *rv; bool train; };
static struct ig_var *f_bn(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    struct bn_opts *o = u;
    /* a following nonlinearity makes the projection non-trivial for every input */
    struct ig_var *y = ig_ag_batchnorm2d(g, in[0], in[1], in[2], o->rm, o->rv, o->train, ig_bn_params_default());
    return ig_ag_mul(g, y, y);
}

START_TEST(test_batchnorm2d)
{
    int64_t xs[4] = {3, 2, 3, 2}, cs[1] = {2};
    for (int train = 1; train >= 0; train--) {
        float rm[2] = {0.1f, -0.2f}, rv[2] = {0.8f, 1.5f};
        struct bn_opts o = {ig_tensor_from_host(be, IG_DTYPE_F32, 1, cs, rm), ig_tensor_from_host(be, IG_DTYPE_F32, 1, cs, rv),
                            train};
        struct ig_var *in[3] = {param(4, xs, 13 + train, -2, 2), param(1, cs, 15, 0.5f, 1.5f), param(1, cs, 16, -1, 1)};
        ck_assert_double_le(run_check(f_bn, &o, 3, in, train ? 3e-3 : 1e-2), 1.0);
        ig_tensor_free(o.rm);
        ig_tensor_free(o.rv);
    }
}
END_TEST

static struct ig_var *f_dropout(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    struct ig_dropout_params *p = u;   /* fixed seed: the same mask on every run */
    return ig_ag_dropout(g, in[0], *p);
}

START_TEST(test_dropout)
{
    int64_t xs[4] = {3, 4, 2, 3};
    struct ig_dropout_params p = {0.3f, 77, 5, false};
    struct ig_var *in[1] = {param(4, xs, 17, -1, 1)};
    ck_assert_double_le(run_check(f_dropout, &p, 1, in, 1e-2), 1.0);
    p.per_channel = true;
    struct ig_var *in2[1] = {param(4, xs, 18, -1, 1)};
    ck_assert_double_le(run_check(f_dropout, &p, 1, in2, 1e-2), 1.0);
}
END_TEST

static struct ig_var *f_reshape(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    (void)u;
    int64_t s[2] = {4, -1};
    /* reshape + flatten feeding a nonlinear op, and the input used twice (accumulation) */
    struct ig_var *a = ig_ag_reshape(g, in[0], 2, s);
    struct ig_var *b = ig_ag_flatten(g, in[0]);
    return ig_ag_mul(g, a, ig_ag_scale(g, b, 0.5f));
}

START_TEST(test_reshape_flatten)
{
    int64_t xs[4] = {4, 2, 3, 2};
    struct ig_var *in[1] = {param(4, xs, 19, -1, 1)};
    ck_assert_double_le(run_check(f_reshape, NULL, 1, in, 1e-2), 1.0);
}
END_TEST

static struct ig_var *f_softmax(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    return u ? ig_ag_log_softmax(g, in[0]) : ig_ag_softmax(g, in[0]);
}

START_TEST(test_softmax)
{
    int64_t xs[2] = {4, 6};
    struct ig_var *in[1] = {param(2, xs, 23, -2, 2)};
    ck_assert_double_le(run_check(f_softmax, NULL, 1, in, 1e-2), 1.0);
    struct ig_var *in2[1] = {param(2, xs, 24, -2, 2)};
    ck_assert_double_le(run_check(f_softmax, in2, 1, in2, 1e-2), 1.0);
}
END_TEST

struct xent_opts { struct ig_tensor *labels; enum ig_reduction red; };
static struct ig_var *f_xent(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    struct xent_opts *o = u;
    return ig_ag_cross_entropy(g, in[0], o->labels, o->red);
}

START_TEST(test_cross_entropy)
{
    int64_t xs[2] = {5, 4}, ls[1] = {5};
    int32_t lab[5] = {0, 3, 1, 1, 2};
    struct ig_tensor *labels = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ls, lab);
    enum ig_reduction reds[3] = {IG_REDUCTION_MEAN, IG_REDUCTION_SUM, IG_REDUCTION_NONE};
    for (int k = 0; k < 3; k++) {
        struct xent_opts o = {labels, reds[k]};
        struct ig_var *in[1] = {param(2, xs, 25 + k, -2, 2)};
        ck_assert_double_le(run_check(f_xent, &o, 1, in, 1e-2), 1.0);
    }
    ig_tensor_free(labels);
}
END_TEST

struct red_opts { int axis; bool mean; bool all; };
static struct ig_var *f_reduce(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    struct red_opts *o = u;
    struct ig_var *x = ig_ag_mul(g, in[0], in[0]);  /* nonlinear before the reduction */
    if (o->all) return ig_ag_sum(g, x);
    return o->mean ? ig_ag_mean_axis(g, x, o->axis) : ig_ag_sum_axis(g, x, o->axis);
}

START_TEST(test_sum_mean)
{
    int64_t xs[3] = {3, 4, 5};
    for (int axis = 0; axis < 3; axis++) {
        for (int mean = 0; mean < 2; mean++) {
            struct red_opts o = {axis, mean, false};
            struct ig_var *in[1] = {param(3, xs, 30 + axis * 2 + mean, -1, 1)};
            ck_assert_double_le(run_check(f_reduce, &o, 1, in, 1e-2), 1.0);
        }
    }
    struct red_opts all = {0, false, true};
    struct ig_var *in[1] = {param(3, xs, 40, -1, 1)};
    ck_assert_double_le(run_check(f_reduce, &all, 1, in, 1e-2), 1.0);
}
END_TEST

static struct ig_var *f_elementwise(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    (void)u;
    /* (x + y) * (x - y) * 1.5 */
    return ig_ag_scale(g, ig_ag_mul(g, ig_ag_add(g, in[0], in[1]), ig_ag_sub(g, in[0], in[1])), 1.5f);
}

START_TEST(test_add_sub_mul_scale)
{
    int64_t xs[3] = {2, 3, 4};
    struct ig_var *in[2] = {param(3, xs, 41, -1, 1), param(3, xs, 42, -1, 1)};
    ck_assert_double_le(run_check(f_elementwise, NULL, 2, in, 1e-2), 1.0);
}
END_TEST

static struct ig_var *f_rows(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    return u ? ig_ag_row_dot(g, in[0], in[1]) : ig_ag_row_sqnorm(g, in[0]);
}

START_TEST(test_row_ops)
{
    int64_t xs[2] = {4, 6}, vs[1] = {6};
    struct ig_var *in[1] = {param(2, xs, 43, -1, 1)};
    ck_assert_double_le(run_check(f_rows, NULL, 1, in, 1e-2), 1.0);
    struct ig_var *in2[2] = {param(2, xs, 44, -1, 1), param(1, vs, 45, -1, 1)};
    ck_assert_double_le(run_check(f_rows, in2, 2, in2, 1e-2), 1.0);
}
END_TEST

/* A whole small network: conv, BN (train), ReLU, maxpool, dropout2d, flatten, linear, loss. */
struct net_opts { struct ig_tensor *rm, *rv, *labels; };
static struct ig_var *f_net(struct ig_graph *g, struct ig_var *const *in, void *u)
{
    struct net_opts *o = u;
    struct ig_conv2d_params cp = {1, 1, 1, 1};
    struct ig_pool2d_params pp = {2, 2};
    struct ig_dropout_params dp = {0.2f, 99, 0, true};
    struct ig_var *h = ig_ag_conv2d(g, in[0], in[1], in[2], cp);
    h = ig_ag_batchnorm2d(g, h, in[3], in[4], o->rm, o->rv, true, ig_bn_params_default());
    h = ig_ag_maxpool2d(g, ig_ag_relu(g, h), pp);
    h = ig_ag_flatten(g, ig_ag_dropout(g, h, dp));
    return ig_ag_cross_entropy(g, ig_ag_linear(g, h, in[5], in[6]), o->labels, IG_REDUCTION_SUM);
}

START_TEST(test_small_network)
{
    int64_t xs[4] = {3, 2, 4, 4}, ws[4] = {3, 2, 3, 3}, cs[1] = {3}, ls[2] = {4, 12}, lb[1] = {4}, n3[1] = {3};
    int32_t lab[3] = {2, 0, 3};
    float rm[3] = {0, 0, 0}, rv[3] = {1, 1, 1};
    struct net_opts o = {ig_tensor_from_host(be, IG_DTYPE_F32, 1, cs, rm), ig_tensor_from_host(be, IG_DTYPE_F32, 1, cs, rv),
                         ig_tensor_from_host(be, IG_DTYPE_I32, 1, n3, lab)};
    struct ig_var *in[7] = {param(4, xs, 51, -1, 1), param(4, ws, 52, -0.5f, 0.5f), param(1, cs, 53, -0.1f, 0.1f),
                            param(1, cs, 54, 0.8f, 1.2f), param(1, cs, 55, -0.1f, 0.1f), param(2, ls, 56, -0.5f, 0.5f),
                            param(1, lb, 57, -0.1f, 0.1f)};
    /* kinks of ReLU / maxpool can be crossed by a step: use a small one */
    ck_assert_double_le(run_check(f_net, &o, 7, in, 2e-3), 1.0);
    ig_tensor_free(o.rm);
    ig_tensor_free(o.rv);
    ig_tensor_free(o.labels);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = IG_TEST_CASE(s, "ops", 120, test_matmul, test_linear, test_conv2d, test_bias_add, test_maxpool2d,
                                            test_relu, test_batchnorm2d, test_dropout, test_reshape_flatten,
                                            test_softmax, test_cross_entropy, test_sum_mean, test_add_sub_mul_scale,
                                            test_row_ops, test_small_network);
    tcase_add_checked_fixture(tc, setup, teardown);
    return ig_test_run(s);
}
