/* Check suite cpu_ops: every fast CPU kernel (through the public op functions, on every instruction set the CPU runs) against its reference kernel, known answers, backend options, bad arguments. */
#include "ig_cpu_isa.h"
#include "ig_cpu_util.h"
#include "ig_test_util.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct ig_backend *be;

/* The instruction set of the "ops" test cases running now (one test case per ISA the CPU runs). */
static enum ig_cpu_isa cur_isa = IG_CPU_ISA_AUTO;

static void setup(void)
{
    struct ig_backend_options o = ig_backend_options_default();
    o.threads = 2;
    o.cpu_isa = cur_isa;
    ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &be), IG_OK);
}
static void setup_generic(void) { cur_isa = IG_CPU_ISA_GENERIC; setup(); }
static void setup_avx2(void) { cur_isa = IG_CPU_ISA_AVX2; setup(); }
static void setup_avx512(void) { cur_isa = IG_CPU_ISA_AVX512; setup(); }
static void teardown(void) { ig_backend_free(be); be = NULL; }

/* ---------------------------------------------------------------- tensor helpers */

static uint64_t seed_ctr = 1;

/* f32 tensor of the given shape, uniform in [lo, hi) from a fresh seed. */
static struct ig_tensor *rnd(int ndim, const int64_t *shape, float lo, float hi)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    float *h = malloc((size_t)(n ? n : 1) * sizeof(float));
    ig_test_fill_uniform(h, (size_t)n, seed_ctr++ * 7919u, lo, hi);
    struct ig_tensor *t = ig_tensor_from_host(be, IG_DTYPE_F32, ndim, shape, h);
    free(h);
    ck_assert_ptr_nonnull(t);
    return t;
}
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define NDIM(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define RND(lo, hi, ...) rnd(NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), lo, hi)

static struct ig_tensor *labels(int64_t n, int64_t m)
{
    int32_t *h = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) h[i] = (int32_t)((i * 7 + 3) % m);
    struct ig_tensor *t = ig_tensor_from_host(be, IG_DTYPE_I32, 1, (int64_t[]){n}, h);
    free(h);
    ck_assert_ptr_nonnull(t);
    return t;
}

static float *host_f32(const struct ig_tensor *t)
{
    size_t bytes = ig_tensor_nbytes(t);
    float *h = malloc(bytes ? bytes : 4);
    ck_assert_int_eq(ig_tensor_to_host(t, h, bytes), IG_OK);
    return h;
}

/* ---------------------------------------------------------------- fast vs reference harness */

/* Call the public op function that corresponds to a kernel call. */
static enum ig_status call_public(struct ig_op_call *c)
{
    struct ig_tensor **t = c->t;
    switch (c->op) {
    case IG_OP_GEMM: return ig_gemm(t[0], t[1], t[2], c->p.gemm);
    case IG_OP_CONV2D_FWD: return ig_conv2d_forward(t[0], t[1], t[2], t[3], c->p.conv);
    case IG_OP_CONV2D_BWD_DATA: return ig_conv2d_backward_data(t[0], t[1], t[2], c->p.conv);
    case IG_OP_CONV2D_BWD_WEIGHT: return ig_conv2d_backward_weight(t[0], t[1], t[2], c->p.conv);
    case IG_OP_CONV2D_BWD_BIAS: return ig_conv2d_backward_bias(t[0], t[1]);
    case IG_OP_CONV2D_BWD_WEIGHT_PERSAMPLE: return ig_conv2d_backward_weight_persample(t[0], t[1], t[2], c->p.conv);
    case IG_OP_MAXPOOL2D_FWD: return ig_maxpool2d_forward(t[0], t[1], t[2], c->p.pool);
    case IG_OP_MAXPOOL2D_BWD: return ig_maxpool2d_backward(t[0], t[1], t[2], c->p.pool);
    case IG_OP_RELU_FWD: return ig_relu_forward(t[0], t[1]);
    case IG_OP_RELU_BWD: return ig_relu_backward(t[0], t[1], t[2]);
    case IG_OP_BN2D_FWD_TRAIN: return ig_batchnorm2d_forward_train(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], c->p.bn);
    case IG_OP_BN2D_FWD_EVAL: return ig_batchnorm2d_forward_eval(t[0], t[1], t[2], t[3], t[4], t[5], c->p.bn);
    case IG_OP_BN2D_BWD: return ig_batchnorm2d_backward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], c->p.bn);
    case IG_OP_DROPOUT_FWD: return ig_dropout_forward(t[0], t[1], t[2], c->p.dropout);
    case IG_OP_BIAS_ADD: return ig_bias_add(t[0], t[1]);
    case IG_OP_SOFTMAX: return ig_softmax(t[0], t[1]);
    case IG_OP_LOG_SOFTMAX: return ig_log_softmax(t[0], t[1]);
    case IG_OP_XENT_FWD: return ig_cross_entropy_forward(t[0], t[1], t[2], c->p.xent);
    case IG_OP_XENT_BWD: return ig_cross_entropy_backward(t[0], t[1], t[2], t[3], c->p.xent);
    case IG_OP_SUM_AXIS: return ig_sum_axis(t[0], t[1], c->p.axis);
    case IG_OP_MEAN_AXIS: return ig_mean_axis(t[0], t[1], c->p.axis);
    case IG_OP_ADD: return ig_add(t[0], t[1], t[2]);
    case IG_OP_SUB: return ig_sub(t[0], t[1], t[2]);
    case IG_OP_MUL: return ig_mul(t[0], t[1], t[2]);
    case IG_OP_SCALE: return ig_scale(t[0], t[1], c->p.alpha);
    case IG_OP_AXPY: return ig_axpy(t[0], c->p.alpha, t[1]);
    case IG_OP_ARGMAX_ROWS: return ig_argmax_rows(t[0], t[1]);
    case IG_OP_NORMALIZE_U8: return ig_normalize_u8(t[0], t[1], c->p.norm);
    case IG_OP_ADAM_STEP: return ig_adam_step(t[0], t[1], t[2], t[3], c->p.adam);
    case IG_OP_SGD_STEP: return ig_sgd_step(t[0], t[1], t[2], c->p.sgd);
    case IG_OP_COPY: return ig_tensor_copy(t[0], t[1]);
    case IG_OP_FILL: return ig_fill(t[0], c->p.alpha);
    case IG_OP_ROW_SQNORM: return ig_row_sqnorm(t[0], t[1]);
    case IG_OP_ROW_DOT: return ig_row_dot(t[0], t[1], t[2]);
    default: return IG_ERR_INTERNAL;
    }
}

/* Same logical values in a fresh contiguous tensor. */
static struct ig_tensor *deep_clone(const struct ig_tensor *t)
{
    struct ig_tensor *c = ig_tensor_contiguous(t);
    ck_assert_ptr_nonnull(c);
    return c;
}

static bool ops_tested[IG_OP_COUNT];

/* Root mean square of n floats (1 for n == 0). */
static double rms_f32(const float *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)v[i] * v[i];
    return n ? sqrt(s / (double)n) : 1.0;
}

/* Run c through the public function (fast kernel) and a deep copy of it through the reference
 * kernel; every tensor slot (outputs, in/out state, inputs) must agree within rtol and an absolute
 * tolerance of atol + scale * rms(reference slot): the scale term is for kernels whose error is a
 * fraction of the output's magnitude rather than of each value (Winograd F(4x4,3x3), whose
 * transforms mix values of the whole tile). Frees the tensors of c. */
static void check_vs_ref_scaled(struct ig_op_call *c, double rtol, double atol, double scale, const char *what)
{
    struct ig_op_call r = *c;
    for (int i = 0; i < IG_OP_MAX_TENSORS; i++) r.t[i] = c->t[i] ? deep_clone(c->t[i]) : NULL;
    ops_tested[c->op] = true;
    enum ig_status s = call_public(c);
    ck_assert_msg(s == IG_OK, "%s (%s): %s", what, ig_op_name(c->op), ig_last_error());
    s = ig_cpu_ref_kernels[c->op](be, &r);
    ck_assert_msg(s == IG_OK, "%s (%s) reference: %s", what, ig_op_name(c->op), ig_last_error());
    for (int i = 0; i < IG_OP_MAX_TENSORS; i++) {
        if (!c->t[i]) continue;
        size_t bytes = ig_tensor_nbytes(c->t[i]);
        void *a = malloc(bytes ? bytes : 4), *b = malloc(bytes ? bytes : 4);
        ck_assert_int_eq(ig_tensor_to_host(c->t[i], a, bytes), IG_OK);
        ck_assert_int_eq(ig_tensor_to_host(r.t[i], b, bytes), IG_OK);
        if (c->t[i]->dtype == IG_DTYPE_F32) {
            double q = ig_test_close_ratio(a, b, bytes / 4, rtol, atol + scale * rms_f32(b, bytes / 4));
            ck_assert_msg(q <= 1.0, "%s (%s): slot %d differs from the reference (ratio %g)", what, ig_op_name(c->op), i, q);
        } else {
            ck_assert_msg(memcmp(a, b, bytes) == 0, "%s (%s): slot %d differs from the reference", what, ig_op_name(c->op), i);
        }
        free(a);
        free(b);
        ig_tensor_free(c->t[i]);
        ig_tensor_free(r.t[i]);
    }
}

static void check_vs_ref(struct ig_op_call *c, double rtol, double atol, const char *what)
{
    check_vs_ref_scaled(c, rtol, atol, 0.0, what);
}

/* ---------------------------------------------------------------- GEMM */

START_TEST(test_gemm_vs_ref)
{
    static const int64_t dims[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 130, 96}, {1, 100, 37}, {70, 129, 300}, {300, 40, 200}};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int64_t M = dims[d][0], N = dims[d][1], K = dims[d][2];
                struct ig_op_call c = {.op = IG_OP_GEMM};
                c.t[0] = RND(-1, 1, M, N);
                c.t[1] = ta ? RND(-1, 1, K, M) : RND(-1, 1, M, K);
                c.t[2] = tb ? RND(-1, 1, N, K) : RND(-1, 1, K, N);
                c.p.gemm = (struct ig_gemm_params){.trans_a = ta, .trans_b = tb, .alpha = 0.75f, .beta = d % 2 ? 0.5f : 0.0f};
                check_vs_ref(&c, 1e-4, 1e-4, "gemm");
            }
    /* a transpose view as operand (column-major storage) */
    struct ig_tensor *a = RND(-1, 1, 9, 6);   /* storage [K=9, M=6] */
    struct ig_op_call c = {.op = IG_OP_GEMM};
    c.t[1] = ig_tensor_transpose(a, 0, 1);    /* view [6, 9] */
    ig_tensor_free(a);
    c.t[0] = RND(-1, 1, 6, 4);
    c.t[2] = RND(-1, 1, 9, 4);
    c.p.gemm = ig_gemm_params_default();
    check_vs_ref(&c, 1e-4, 1e-4, "gemm transpose view");
}
END_TEST

/* ---------------------------------------------------------------- convolution */

struct conv_case { int64_t N, C, H, W, O, KH, KW; int stride, pad; };
static const struct conv_case conv_cases[] = {
    {1, 3, 5, 5, 4, 3, 3, 1, 1},      /* batch 1 */
    {2, 5, 7, 6, 3, 3, 3, 2, 1},      /* odd sizes, stride 2 */
    {3, 4, 8, 8, 6, 1, 1, 1, 0},      /* 1x1 */
    {4, 3, 9, 7, 5, 2, 3, 2, 0},      /* rectangular kernel, no padding */
    {2, 2, 4, 4, 3, 3, 3, 1, 2},      /* padding larger than needed */
    {17, 64, 16, 16, 8, 3, 3, 1, 1},  /* several multi-image chunks with a remainder */
    {2, 64, 64, 64, 4, 3, 3, 1, 1},   /* one image per chunk (large planes) */
    {2, 3, 20, 37, 4, 3, 3, 1, 1},    /* rows spanning three 16-lane chunks */
    {3, 2, 9, 11, 4, 2, 3, 1, 1},     /* rectangular kernel, stride 1 */
    {2, 2, 6, 70, 3, 3, 3, 1, 1},     /* rows longer than the stride-1 fast path */
    /* Winograd path (forward and backward data) through the public functions */
    {9, 64, 8, 8, 64, 3, 3, 1, 1},    /* 64 channels, several image chunks */
    {2, 128, 16, 16, 128, 3, 3, 1, 1}, /* conv4 of the paper CNN */
    {3, 70, 7, 9, 66, 3, 3, 1, 1},    /* channel counts not multiples of 16, odd planes */
    /* direct path (few input channels, stride 1) */
    {3, 3, 32, 32, 32, 3, 3, 1, 1},   /* conv1 of the paper CNN */
    {2, 1, 11, 19, 5, 3, 3, 1, 1},    /* one channel, widths not multiples of 8 or 16 */
};

/* Forward and backward data may run Winograd F(4x4,3x3): its float error is ~2e-6 of the output
 * rms (largest ~1e-5 of it); 2e-5 of the rms still fails any wrong tap or tile by orders of magnitude. */
#define WINO_SCALE_TOL 2e-5

static void conv_case_run(const struct conv_case *k, bool bias)
{
    struct ig_conv2d_params p = {.stride_h = k->stride, .stride_w = k->stride, .pad_h = k->pad, .pad_w = k->pad};
    int64_t Ho = ig_conv_out_size(k->H, k->KH, k->stride, k->pad), Wo = ig_conv_out_size(k->W, k->KW, k->stride, k->pad);
    struct ig_op_call c = {.op = IG_OP_CONV2D_FWD, .p.conv = p};
    c.t[0] = RND(-1, 1, k->N, k->O, Ho, Wo);
    c.t[1] = RND(-1, 1, k->N, k->C, k->H, k->W);
    c.t[2] = RND(-1, 1, k->O, k->C, k->KH, k->KW);
    c.t[3] = bias ? RND(-1, 1, k->O) : NULL;
    check_vs_ref_scaled(&c, 1e-4, 1e-4, WINO_SCALE_TOL, "conv2d_fwd");

    c = (struct ig_op_call){.op = IG_OP_CONV2D_BWD_DATA, .p.conv = p};
    c.t[0] = RND(-1, 1, k->N, k->C, k->H, k->W);
    c.t[1] = RND(-1, 1, k->N, k->O, Ho, Wo);
    c.t[2] = RND(-1, 1, k->O, k->C, k->KH, k->KW);
    check_vs_ref_scaled(&c, 1e-4, 1e-4, WINO_SCALE_TOL, "conv2d_bwd_data");

    c = (struct ig_op_call){.op = IG_OP_CONV2D_BWD_WEIGHT, .p.conv = p};
    c.t[0] = RND(-1, 1, k->O, k->C, k->KH, k->KW);
    c.t[1] = RND(-1, 1, k->N, k->O, Ho, Wo);
    c.t[2] = RND(-1, 1, k->N, k->C, k->H, k->W);
    check_vs_ref(&c, 1e-4, 1e-3, "conv2d_bwd_weight");

    c = (struct ig_op_call){.op = IG_OP_CONV2D_BWD_WEIGHT_PERSAMPLE, .p.conv = p};
    c.t[0] = RND(-1, 1, k->N * k->O, k->C, k->KH, k->KW);
    c.t[1] = RND(-1, 1, k->N, k->O, Ho, Wo);
    c.t[2] = RND(-1, 1, k->N, k->C, k->H, k->W);
    check_vs_ref(&c, 1e-4, 1e-3, "conv2d_bwd_weight_persample");

    c = (struct ig_op_call){.op = IG_OP_CONV2D_BWD_BIAS};
    c.t[0] = RND(-1, 1, k->O);
    c.t[1] = RND(-1, 1, k->N, k->O, Ho, Wo);
    check_vs_ref(&c, 1e-4, 1e-3, "conv2d_bwd_bias");
}

/* The bias gradient's two paths: planes of at least a vector (summed one by one, in parallel) and
 * shorter ones (linear layers: [N,O,1,1]), with odd counts, remainders of the 256-output blocks,
 * a plane longer than a summation block and parallel-sized tensors. */
START_TEST(test_bias_grad_vs_ref)
{
    static const int64_t s[][4] = {{1, 1, 1, 1}, {3, 5, 1, 1}, {2, 3, 3, 3}, {5, 7, 5, 7}, {64, 1024, 1, 1},
                                   {3, 300, 1, 2}, {64, 256, 8, 8}, {1, 3, 70, 70}, {9, 37, 13, 11}, {0, 4, 3, 3}};
    for (int i = 0; i < 10; i++) {
        struct ig_op_call c = {.op = IG_OP_CONV2D_BWD_BIAS};
        c.t[0] = RND(-1, 1, s[i][1]);
        c.t[1] = RND(-1, 1, s[i][0], s[i][1], s[i][2], s[i][3]);
        check_vs_ref(&c, 1e-5, 1e-5, "conv2d_bwd_bias");
    }
}
END_TEST

START_TEST(test_conv_known)
{
    /* x = 1..9 in a 3x3 plane, w = ones 2x2, no padding: y = window sums */
    float xh[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, wh[4] = {1, 1, 1, 1}, bh[1] = {0.5f}, yh[4];
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, SHAPE(1, 1, 3, 3), xh);
    struct ig_tensor *w = ig_tensor_from_host(be, IG_DTYPE_F32, 4, SHAPE(1, 1, 2, 2), wh);
    struct ig_tensor *b = ig_tensor_from_host(be, IG_DTYPE_F32, 1, SHAPE(1), bh);
    struct ig_tensor *y = ig_tensor_new(be, IG_DTYPE_F32, 4, SHAPE(1, 1, 2, 2));
    ck_assert_int_eq(ig_conv2d_forward(y, x, w, b, ig_conv2d_params_default()), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(y, yh, sizeof yh), IG_OK);
    ck_assert_float_eq_tol(yh[0], 12.5f, 1e-5f);
    ck_assert_float_eq_tol(yh[1], 16.5f, 1e-5f);
    ck_assert_float_eq_tol(yh[2], 24.5f, 1e-5f);
    ck_assert_float_eq_tol(yh[3], 28.5f, 1e-5f);
    /* backward data of an all-ones dy: each input counts the windows covering it */
    struct ig_tensor *dy = ig_tensor_new(be, IG_DTYPE_F32, 4, SHAPE(1, 1, 2, 2));
    struct ig_tensor *dx = ig_tensor_new(be, IG_DTYPE_F32, 4, SHAPE(1, 1, 3, 3));
    ig_fill(dy, 1.0f);
    ck_assert_int_eq(ig_conv2d_backward_data(dx, dy, w, ig_conv2d_params_default()), IG_OK);
    float dxh[9], want[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    ck_assert_int_eq(ig_tensor_to_host(dx, dxh, sizeof dxh), IG_OK);
    for (int i = 0; i < 9; i++) ck_assert_float_eq_tol(dxh[i], want[i], 1e-6f);
    /* backward weight of an all-ones dy: dw = window sums of x = {12, 16, 24, 28} */
    struct ig_tensor *dw = ig_tensor_new(be, IG_DTYPE_F32, 4, SHAPE(1, 1, 2, 2));
    ck_assert_int_eq(ig_conv2d_backward_weight(dw, dy, x, ig_conv2d_params_default()), IG_OK);
    float dwh[4];
    ck_assert_int_eq(ig_tensor_to_host(dw, dwh, sizeof dwh), IG_OK);
    ck_assert_float_eq_tol(dwh[0], 12.0f, 1e-5f);
    ck_assert_float_eq_tol(dwh[3], 28.0f, 1e-5f);
    ig_tensor_free(x); ig_tensor_free(w); ig_tensor_free(b); ig_tensor_free(y);
    ig_tensor_free(dy); ig_tensor_free(dx); ig_tensor_free(dw);
}
END_TEST

/* Per-sample weight gradients: block n equals the batch op on instance n alone, the blocks sum to the batch's
 * gradient, and a dw without N*O rows is refused with a message naming it. */
START_TEST(test_conv_persample_weight)
{
    struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    const int64_t N = 5, C = 6, H = 9, W = 7, O = 4, K = C * 9;
    struct ig_tensor *x = RND(-1, 1, N, C, H, W), *dy = RND(-1, 1, N, O, H, W);
    struct ig_tensor *dws = ig_tensor_new(be, IG_DTYPE_F32, 4, SHAPE(N * O, C, 3, 3));
    struct ig_tensor *dw = ig_tensor_new(be, IG_DTYPE_F32, 4, SHAPE(O, C, 3, 3));
    ck_assert_int_eq(ig_conv2d_backward_weight_persample(dws, dy, x, p), IG_OK);
    float *per = host_f32(dws);
    ck_assert_int_eq(ig_conv2d_backward_weight(dw, dy, x, p), IG_OK);
    float *all = host_f32(dw);
    for (int64_t i = 0; i < O * K; i++) {
        double s = 0.0;
        for (int64_t n = 0; n < N; n++) s += per[n * O * K + i];
        ck_assert_msg(fabs(s - all[i]) <= 1e-4 * (1.0 + fabs(all[i])), "sum of dW_n [%lld]: %g vs %g", (long long)i, s,
                      all[i]);
    }
    for (int64_t n = 0; n < N; n++) {
        struct ig_tensor *xn = ig_tensor_slice(x, n, 1), *dyn = ig_tensor_slice(dy, n, 1);
        ck_assert_int_eq(ig_conv2d_backward_weight(dw, dyn, xn, p), IG_OK);
        float *one = host_f32(dw);
        for (int64_t i = 0; i < O * K; i++)
            ck_assert_msg(fabs(per[n * O * K + i] - one[i]) <= 1e-5 * (1.0 + fabs(one[i])), "dW_%lld [%lld]: %g vs %g",
                          (long long)n, (long long)i, per[n * O * K + i], one[i]);
        free(one);
        ig_tensor_free(xn), ig_tensor_free(dyn);
    }
    struct ig_tensor *bad = ig_tensor_new(be, IG_DTYPE_F32, 4, SHAPE(O, C, 3, 3));
    ck_assert_int_eq(ig_conv2d_backward_weight_persample(bad, dy, x, p), IG_ERR_SHAPE);
    ck_assert_msg(strstr(ig_last_error(), "dw has 4 rows, expected N*O = 5*4"), "%s", ig_last_error());
    free(per), free(all);
    ig_tensor_free(x), ig_tensor_free(dy), ig_tensor_free(dws), ig_tensor_free(dw), ig_tensor_free(bad);
}
END_TEST

/* reps more weight gradients of the same inputs are bit-identical to the first (frees the tensors) */
static void check_bwd_weight_repeatable(struct ig_tensor *dw, struct ig_tensor *dy, struct ig_tensor *x, int reps)
{
    struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    ck_assert_int_eq(ig_conv2d_backward_weight(dw, dy, x, p), IG_OK);
    float *first = host_f32(dw);
    for (int r = 0; r < reps; r++) {
        ck_assert_int_eq(ig_conv2d_backward_weight(dw, dy, x, p), IG_OK);
        float *again = host_f32(dw);
        ck_assert(memcmp(first, again, ig_tensor_nbytes(dw)) == 0);
        free(again);
    }
    free(first);
    ig_tensor_free(x); ig_tensor_free(dy); ig_tensor_free(dw);
}

START_TEST(test_conv_deterministic)
{
    /* threads take image chunks dynamically; the weight gradient must still be bit-identical (same
     * ISA, same binary), for im2col and for the Winograd path (64 channels: partial sums in fixed groups) */
    check_bwd_weight_repeatable(RND(0, 1, 16, 32, 3, 3), RND(-1, 1, 33, 16, 8, 8), RND(-1, 1, 33, 32, 8, 8), 8);
    check_bwd_weight_repeatable(RND(0, 1, 64, 64, 3, 3), RND(-1, 1, 33, 64, 8, 8), RND(-1, 1, 33, 64, 8, 8), 4);
    /* and the direct kernel (3 input channels: image groups summed in fixed order) */
    check_bwd_weight_repeatable(RND(0, 1, 32, 3, 3, 3), RND(-1, 1, 33, 32, 16, 16), RND(-1, 1, 33, 3, 16, 16), 8);
}
END_TEST

/* ---------------------------------------------------------------- instruction sets and backend options */

static const enum ig_cpu_isa isas[] = {IG_CPU_ISA_GENERIC, IG_CPU_ISA_AVX2, IG_CPU_ISA_AVX512};
#define N_ISAS ((int)(sizeof isas / sizeof isas[0]))

/* be = a 2-thread CPU backend on isas[i] with the given conv algorithm; false (and no backend)
 * when this build or CPU lacks that instruction set, after checking that forcing it fails. */
static bool isa_backend(int i, enum ig_conv_algo conv)
{
    struct ig_backend_options o = ig_backend_options_default();
    o.threads = 2;
    o.cpu_isa = isas[i];
    o.conv = conv;
    enum ig_status s = ig_backend_init_opts("cpu", &o, &be);
    if (!ig_cpu_isa_table(isas[i])) {
        ck_assert_int_eq(s, IG_ERR_UNSUPPORTED);
        ck_assert_ptr_null(be);
        ck_assert_ptr_nonnull(strstr(ig_last_error(), "IGRADV_CPU"));
        return false;
    }
    ck_assert_msg(s == IG_OK, "%s", ig_last_error());
    ck_assert_int_eq(ig_cpu_isa_of(be)->isa, isas[i]);
    return true;
}

/* Every conv case through the public functions on every instruction set. */
START_TEST(test_isa_conv_vs_ref)
{
    int ncase = (int)(sizeof conv_cases / sizeof conv_cases[0]);
    if (!isa_backend(_i / ncase, IG_CONV_AUTO)) return;
    conv_case_run(&conv_cases[_i % ncase], _i % 2 == 0);
    teardown();
}
END_TEST

/* Winograd forced (IGRADV_CONV=winograd) on every 3x3 stride-1 case, including those it does not
 * suit (3 channels, 4x4 planes); im2col forced, and the 2x2 tiles forced (winograd2), on the
 * Winograd- and direct-sized ones; and the direct kernel forced (IGRADV_CONV=direct) on every
 * stride-1 case (any channel count, 1x1 and rectangular kernels; all three passes go through it). */
START_TEST(test_isa_conv_forced)
{
    static const enum ig_conv_algo algos[] = {IG_CONV_WINOGRAD, IG_CONV_IM2COL, IG_CONV_WINOGRAD2, IG_CONV_DIRECT};
    for (int a = 0; a < 4; a++) {
        if (!isa_backend(_i, algos[a])) return;
        for (size_t k = 0; k < sizeof conv_cases / sizeof conv_cases[0]; k++) {
            const struct conv_case *c = &conv_cases[k];
            bool s1_3x3 = c->KH == 3 && c->KW == 3 && c->stride == 1 && c->H * c->W <= 1024;
            bool run = algos[a] == IG_CONV_WINOGRAD  ? s1_3x3
                     : algos[a] == IG_CONV_IM2COL    ? s1_3x3 && (c->C >= 32 || c->C <= 4)
                     : algos[a] == IG_CONV_WINOGRAD2 ? s1_3x3 && c->C >= 32
                                                     : c->stride == 1 && c->H * c->W <= 1024;
            if (run) conv_case_run(c, k % 2 == 1);
        }
        teardown();
    }
}
END_TEST

/* Appends the values of t to out[*at..]. */
static void append_host(const struct ig_tensor *t, float *out, size_t *at)
{
    ck_assert_int_eq(ig_tensor_to_host(t, out + *at, ig_tensor_nbytes(t)), IG_OK);
    *at += (size_t)ig_tensor_numel(t);
}

/* The outputs of the reduction kernels (bias gradient, BN train forward and backward, Adam) from
 * fixed inputs, on isas[i] with `threads` OpenMP threads; 333 planes of 143 values (split unevenly
 * across 2 or 3 threads). out: TAIL_FLOATS floats. */
enum { TN = 9, TC = 37, THW = 143, TNX = TN * TC * THW, TADAM = 100003, TAIL_FLOATS = 2 * TNX + 7 * TC + 3 * TADAM };
static void tail_outputs(int i, int threads, float *out)
{
    struct ig_backend_options o = ig_backend_options_default();
    o.threads = threads;
    o.cpu_isa = isas[i];
    ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &be), IG_OK);
    seed_ctr = 1000;   /* the same inputs on every call */
    struct ig_tensor *x = RND(2, 4, TN, TC, 13, 11), *dy = RND(-1, 1, TN, TC, 13, 11), *y = RND(0, 1, TN, TC, 13, 11);
    struct ig_tensor *v[7];
    for (int k = 0; k < 7; k++) v[k] = RND(0.5f, 1.5f, TC);   /* db, gamma, beta, rm, rv, smean, sinv */
    struct ig_bn_params p = ig_bn_params_default();
    size_t at = 0;
    ck_assert_int_eq(ig_conv2d_backward_bias(v[0], dy), IG_OK);
    ck_assert_int_eq(ig_batchnorm2d_forward_train(y, x, v[1], v[2], v[3], v[4], v[5], v[6], p), IG_OK);
    append_host(y, out, &at);
    ck_assert_int_eq(ig_batchnorm2d_backward(y, v[3], v[4], dy, x, v[1], v[5], v[6], p), IG_OK);
    append_host(y, out, &at);
    for (int k = 0; k < 7; k++) append_host(v[k], out, &at);
    struct ig_tensor *a[4] = {RND(-1, 1, TADAM), RND(-1, 1, TADAM), RND(-0.1f, 0.1f, TADAM), RND(0, 0.01f, TADAM)};
    struct ig_adam_params ap = ig_adam_params_default();
    ap.step = 3;
    ap.weight_decay = 5e-4f;
    ck_assert_int_eq(ig_adam_step(a[0], a[1], a[2], a[3], ap), IG_OK);
    append_host(a[0], out, &at);
    append_host(a[2], out, &at);
    append_host(a[3], out, &at);
    ck_assert_uint_eq(at, TAIL_FLOATS);
    for (int k = 0; k < 4; k++) ig_tensor_free(a[k]);
    for (int k = 0; k < 7; k++) ig_tensor_free(v[k]);
    ig_tensor_free(x); ig_tensor_free(dy); ig_tensor_free(y);
    teardown();
}

/* Those outputs are the same bits on 1, 2 and 3 threads: the partial sums do not depend on the split. */
START_TEST(test_isa_reductions_thread_independent)
{
    if (!ig_cpu_isa_table(isas[_i])) return;
    float *ref = malloc(TAIL_FLOATS * sizeof(float)), *got = malloc(TAIL_FLOATS * sizeof(float));
    tail_outputs(_i, 1, ref);
    for (int threads = 2; threads <= 3; threads++) {
        tail_outputs(_i, threads, got);
        ck_assert_msg(memcmp(ref, got, TAIL_FLOATS * sizeof(float)) == 0, "%s: %d threads differ from 1",
                      ig_cpu_isa_table(isas[_i])->name, threads);
    }
    free(ref);
    free(got);
}
END_TEST

/* ig_backend_init("cpu") with one variable set to value: its status, and the error must name the variable. */
static enum ig_status init_with_env(const char *var, const char *value)
{
    char *saved = getenv(var) ? strdup(getenv(var)) : NULL;
    setenv(var, value, 1);
    struct ig_backend *b = NULL;
    enum ig_status s = ig_backend_init("cpu", &b);
    if (s != IG_OK) {
        ck_assert_ptr_null(b);
        ck_assert_msg(strstr(ig_last_error(), var) != NULL, "error does not name %s: %s", var, ig_last_error());
    }
    ig_backend_free(b);
    if (saved) setenv(var, saved, 1);
    else unsetenv(var);
    free(saved);
    return s;
}

START_TEST(test_options_env)
{
    ck_assert_int_eq(init_with_env("IGRADV_CPU", "avx9"), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "generic, avx2, avx512"));
    ck_assert_int_eq(init_with_env("IGRADV_CONV", "fft"), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "winograd, im2col, winograd2, direct"));
    ck_assert_int_eq(init_with_env("IGRADV_CONV", "Direct"), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(init_with_env("IGRADV_CONV", "direct"), IG_OK);
    ck_assert_int_eq(init_with_env("IGRADV_CL_SPLITK", "-3"), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(init_with_env("IGRADV_CL_CONV_IMAGES", "4x"), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(init_with_env("IGRADV_CL_CACHE", "yes"), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(init_with_env("OMP_NUM_THREADS", "many"), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(init_with_env("IGRADV_CPU", "generic"), IG_OK);
    ck_assert_int_eq(init_with_env("IGRADV_CONV", "winograd2"), IG_OK);
    ck_assert_int_eq(init_with_env("OMP_NUM_THREADS", "3,2"), IG_OK);
    /* the reader fills the options, the backend keeps them */
    struct ig_backend_options o = ig_backend_options_default();
    setenv("IGRADV_CPU", "generic", 1);
    setenv("IGRADV_CONV", "im2col", 1);
    setenv("IGRADV_CL_SPLITK", "0", 1);
    setenv("XDG_CACHE_HOME", "/tmp/igradv-test-xdg", 1);
    ck_assert_int_eq(ig_backend_options_from_env(&o), IG_OK);
    unsetenv("IGRADV_CPU"); unsetenv("IGRADV_CONV"); unsetenv("IGRADV_CL_SPLITK"); unsetenv("XDG_CACHE_HOME");
    ck_assert_int_eq(o.cpu_isa, IG_CPU_ISA_GENERIC);
    ck_assert_int_eq(o.conv, IG_CONV_IM2COL);
    ck_assert_int_eq(o.cl_splitk, 0);
    ck_assert_str_eq(o.cl_cache_dir, "/tmp/igradv-test-xdg/igradv");
    o.threads = 3;
    struct ig_backend *b = NULL;
    ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &b), IG_OK);
    ck_assert_str_eq(ig_backend_isa_name(b), "generic");
    ck_assert_int_eq(ig_backend_options_of(b)->conv, IG_CONV_IM2COL);
    ck_assert_int_eq(ig_backend_options_of(b)->threads, 3);
    ig_backend_free(b);
}
END_TEST

START_TEST(test_options_bad)
{
    struct ig_backend *b = NULL;
    struct ig_backend_options o = ig_backend_options_default();
    o.cpu_isa = (enum ig_cpu_isa)9;
    ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &b), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "cpu_isa"));
    o = ig_backend_options_default();
    o.conv = (enum ig_conv_algo)(IG_CONV_DIRECT + 1);
    ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &b), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "conv"));
    o = ig_backend_options_default();
    o.threads = -2;
    ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &b), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "threads"));
    o = ig_backend_options_default();
    o.cl_splitk = -1;
    ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &b), IG_ERR_INVALID_ARG);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(ig_backend_options_from_env(NULL), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_backend_init_opts("cpu", NULL, NULL), IG_ERR_INVALID_ARG);
    /* forcing each instruction set: works exactly when the table exists, and is then the one in use */
    for (int i = 0; i < N_ISAS; i++) {
        o = ig_backend_options_default();
        o.cpu_isa = isas[i];
        enum ig_status s = ig_backend_init_opts("cpu", &o, &b);
        if (ig_cpu_isa_table(isas[i])) {
            ck_assert_int_eq(s, IG_OK);
            ck_assert_str_eq(ig_backend_isa_name(b), ig_cpu_isa_table(isas[i])->name);
            ig_backend_free(b);
            b = NULL;
        } else {
            ck_assert_int_eq(s, IG_ERR_UNSUPPORTED);
        }
    }
    /* auto picks the best the CPU runs */
    ck_assert_int_eq(ig_backend_init_opts("cpu", &(struct ig_backend_options){.cl_splitk = 1}, &b), IG_OK);
    ck_assert_ptr_eq(ig_cpu_isa_of(b), ig_cpu_isa_table(IG_CPU_ISA_AUTO));
    ck_assert_int_ge(ig_cpu_isa_of(b)->isa, IG_CPU_ISA_GENERIC);
    ig_backend_free(b);
}
END_TEST

/* The Winograd kernels of each instruction set directly on odd shapes (clipped edge tiles,
 * padding 0..2, batch 1, several chunks, channel counts not multiples of 8 or 16, widths around the
 * vector width): forward and rotated (backward data) with 2x2 and 4x4 output tiles, and the weight
 * gradient, against the reference kernels. */
START_TEST(test_isa_winograd_vs_ref)
{
    if (!isa_backend(_i, IG_CONV_AUTO)) return;
    const struct ig_cpu_isa_fns *f = ig_cpu_isa_of(be);
    static const struct conv_case wc[] = {
        {3, 5, 9, 7, 6, 3, 3, 1, 1}, {2, 4, 6, 6, 7, 3, 3, 1, 0}, {1, 3, 5, 5, 2, 3, 3, 1, 2}, {9, 8, 8, 8, 8, 3, 3, 1, 1},
        /* the point products' register blocks (ig_cpu_winograd_gemm.c): 1, 17, 40, 80 and 100 channels
         * leave every remainder of 2..4 output vectors and of 4 or 6 tile rows (5, 11 tiles); 1400 input
         * channels span several K blocks (at most 512 for AVX-512, 1365 for AVX2) */
        {1, 1, 10, 2, 17, 3, 3, 1, 1}, {1, 17, 22, 2, 40, 3, 3, 1, 1}, {3, 40, 5, 7, 1, 3, 3, 1, 2},
        {2, 100, 6, 6, 80, 3, 3, 1, 1}, {1, 400, 4, 5, 9, 3, 3, 1, 1}, {1, 1400, 4, 4, 3, 3, 3, 1, 1},
        /* the channels-last layout blocks of IG_VW = 16 / 8 / 4 channels x pixels: widths of exactly
         * one block, below one, two blocks + 3 and 32; 1, 17 and 33 channels (both directions) */
        {2, 17, 5, 16, 33, 3, 3, 1, 1}, {1, 33, 4, 8, 17, 3, 3, 1, 0}, {2, 1, 6, 4, 1, 3, 3, 1, 2},
        {1, 16, 3, 35, 17, 3, 3, 1, 1}, {1, 8, 7, 19, 16, 3, 3, 1, 2}, {2, 4, 5, 11, 8, 3, 3, 1, 1},
        {1, 33, 3, 3, 33, 3, 3, 1, 1},  {1, 32, 6, 32, 16, 3, 3, 1, 1},
    };
    for (size_t k = 0; k < 2 * (sizeof wc / sizeof wc[0]); k++) {
        const struct conv_case *c = &wc[k / 2];
        int tile = k % 2 ? 4 : 2;
        struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = c->pad, .pad_w = c->pad};
        int64_t Ho = ig_conv_out_size(c->H, 3, 1, c->pad), Wo = ig_conv_out_size(c->W, 3, 1, c->pad);
        struct ig_tensor *x = RND(-1, 1, c->N, c->C, c->H, c->W), *w = RND(-1, 1, c->O, c->C, 3, 3);
        struct ig_tensor *b = RND(-1, 1, c->O), *y = RND(0, 1, c->N, c->O, Ho, Wo), *yr = RND(0, 1, c->N, c->O, Ho, Wo);
        struct ig_tensor *dy = RND(-1, 1, c->N, c->O, Ho, Wo);
        struct ig_tensor *dx = RND(0, 1, c->N, c->C, c->H, c->W), *dxr = RND(0, 1, c->N, c->C, c->H, c->W);
        ck_assert_int_eq(f->winograd_conv(be, ig_cpu_f32(x), c->N, c->C, c->H, c->W, ig_cpu_f32(w), false, c->O, c->pad,
                                              c->pad, ig_cpu_f32(b), ig_cpu_f32(y), Ho, Wo, tile), IG_OK);
        struct ig_op_call r = {.op = IG_OP_CONV2D_FWD, .t = {yr, x, w, b}, .p.conv = p};
        ck_assert_int_eq(ig_cpu_ref_conv2d_fwd(be, &r), IG_OK);
        ck_assert_int_eq(f->winograd_conv(be, ig_cpu_f32(dy), c->N, c->O, Ho, Wo, ig_cpu_f32(w), true, c->C, 2 - c->pad,
                                              2 - c->pad, NULL, ig_cpu_f32(dx), c->H, c->W, tile), IG_OK);
        r = (struct ig_op_call){.op = IG_OP_CONV2D_BWD_DATA, .t = {dxr, dy, w}, .p.conv = p};
        ck_assert_int_eq(ig_cpu_ref_conv2d_bwd_data(be, &r), IG_OK);
        {   /* weight gradient of the same tiling */
            struct ig_tensor *dw = RND(0, 1, c->O, c->C, 3, 3), *dwr = RND(0, 1, c->O, c->C, 3, 3);
            ck_assert_int_eq(f->winograd_bwd_weight(be, ig_cpu_f32(x), ig_cpu_f32(dy), c->N, c->C, c->H, c->W, c->O,
                                                        c->pad, c->pad, Ho, Wo, ig_cpu_f32(dw), tile), IG_OK);
            struct ig_op_call rw = {.op = IG_OP_CONV2D_BWD_WEIGHT, .t = {dwr, dy, x}, .p.conv = p};
            ck_assert_int_eq(ig_cpu_ref_conv2d_bwd_weight(be, &rw), IG_OK);
            float *wa = host_f32(dw), *we = host_f32(dwr);
            ck_assert_double_le(ig_test_close_ratio(wa, we, (size_t)ig_tensor_numel(dw), 1e-4, 1e-3), 1.0);
            free(wa); free(we);
            ig_tensor_free(dw); ig_tensor_free(dwr);
        }
        float *a = host_f32(y), *e = host_f32(yr), *da = host_f32(dx), *de = host_f32(dxr);
        /* float rounding grows with the terms summed in order (9 C for y, 9 O for dx: up to 12600) */
        double tol = c->C * c->O > 2000 ? (c->C > 1000 || c->O > 1000 ? 6e-4 : 3e-4) : 1e-4;
        ck_assert_double_le(ig_test_close_ratio(a, e, (size_t)ig_tensor_numel(y), tol, tol), 1.0);
        ck_assert_double_le(ig_test_close_ratio(da, de, (size_t)ig_tensor_numel(dx), tol, tol), 1.0);
        free(a); free(e); free(da); free(de);
        ig_tensor_free(x); ig_tensor_free(w); ig_tensor_free(b); ig_tensor_free(y); ig_tensor_free(yr);
        ig_tensor_free(dy); ig_tensor_free(dx); ig_tensor_free(dxr);
    }
    teardown();
}
END_TEST

/* C[M,N] = 0.75 op(A) op(B) + beta C through one ISA's gemm_small (ig_cpu_gemm_small.c) on be,
 * against the reference kernel; with beta 0, C starts as NaN (it must not be read). */
static void gemm_small_case(const struct ig_cpu_isa_fns *f, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                            float beta)
{
    struct ig_tensor *A = ta ? RND(-1, 1, K, M) : RND(-1, 1, M, K), *B = tb ? RND(-1, 1, N, K) : RND(-1, 1, K, N);
    struct ig_tensor *C = RND(-1, 1, M, N), *Cr = RND(-1, 1, M, N);
    if (beta == 0.0f) ck_assert_int_eq(ig_fill(C, NAN), IG_OK);
    else ck_assert_int_eq(ig_tensor_copy(Cr, C), IG_OK);
    ck_assert_int_eq(f->gemm_small(be, ta, tb, M, N, K, 0.75f, ig_cpu_f32(A), ta ? M : K, ig_cpu_f32(B), tb ? K : N,
                                   beta, ig_cpu_f32(C), N), IG_OK);
    struct ig_op_call r = {.op = IG_OP_GEMM, .t = {Cr, A, B}, .p.gemm = {ta, tb, 0.75f, beta}};
    ck_assert_int_eq(ig_cpu_ref_gemm(be, &r), IG_OK);
    float *a = host_f32(C), *e = host_f32(Cr);
    double tol = K > 1000 ? 3e-4 : 1e-4;   /* float sums of K terms in order */
    double q = ig_test_close_ratio(a, e, (size_t)(M * N), tol, tol);
    ck_assert_msg(q <= 1.0, "%s gemm_small %c%c M=%lld N=%lld K=%lld beta %g: ratio %g", f->name, ta ? 'T' : 'N',
                  tb ? 'T' : 'N', (long long)M, (long long)N, (long long)K, beta, q);
    free(a); free(e);
    ig_tensor_free(A); ig_tensor_free(B); ig_tensor_free(C); ig_tensor_free(Cr);
}

/* The small-batch GEMM of each instruction set on shapes that leave every remainder of its blocks:
 * rows of C (NN, TN) or of C^T (NT) not multiples of the block rows (6, 8, 12, 24 on AVX-512; 4, 6,
 * 12 on AVX2; 4, 8 in plain C) nor of the row chunks (96 NT, 24 TN), columns of C (NN, TN) or M (NT)
 * leaving 1..3 whole vectors after the widest strips and a masked tail vector, several copied panels
 * of 32 vectors (N 613) and K blocks (NN: K 300 in 3 blocks of 100; NT: K 2100 in 2 of 1050), K not a
 * multiple of the vector width (A^T transposes), alpha and beta. Then the routing of the gemm op:
 * the paper CNN's linear layers at b32 / b64 take this path on AVX-512 (all three layouts) and AVX2
 * (NT, TN with beta 0; the last one, 512 -> 10, on neither), and the public op on such shapes agrees
 * with the reference. */
START_TEST(test_isa_gemm_small_vs_ref)
{
    if (!isa_backend(_i, IG_CONV_AUTO)) return;
    const struct ig_cpu_isa_fns *f = ig_cpu_isa_of(be);
    static const int64_t nt[][3] = {{1, 5, 7}, {17, 203, 33}, {33, 97, 64}, {50, 130, 300}, {64, 23, 2100},
                                    {63, 1, 17}};
    static const int64_t nn[][3] = {{1, 3, 5}, {7, 613, 300}, {15, 40, 1}, {31, 17, 129}, {64, 100, 64}, {41, 516, 20}};
    static const int64_t tn[][3] = {{5, 613, 1}, {50, 17, 17}, {97, 130, 64}, {23, 7, 9}, {130, 515, 32}};
    for (size_t k = 0; k < sizeof nt / sizeof nt[0]; k++)
        gemm_small_case(f, false, true, nt[k][0], nt[k][1], nt[k][2], k % 2 ? 0.5f : 0.0f);
    for (size_t k = 0; k < sizeof nn / sizeof nn[0]; k++)
        gemm_small_case(f, false, false, nn[k][0], nn[k][1], nn[k][2], k % 2 ? 0.0f : -1.0f);
    for (size_t k = 0; k < sizeof tn / sizeof tn[0]; k++)
        gemm_small_case(f, true, false, tn[k][0], tn[k][1], tn[k][2], k % 2 ? 0.5f : 0.0f);
    bool simd = f->isa != IG_CPU_ISA_GENERIC, wide = f->isa == IG_CPU_ISA_AVX512;
    static const int64_t lin[3][2] = {{4096, 1024}, {1024, 512}, {512, 10}};
    for (int b = 32; b <= 64; b += 32)
        for (int l = 0; l < 3; l++) {
            int64_t in = lin[l][0], out = lin[l][1];
            bool big = l < 2;   /* 512 -> 10: too few products */
            ck_assert(f->gemm_small_suits(false, true, b, out, in, true) == (simd && big));    /* forward */
            ck_assert(f->gemm_small_suits(false, false, b, in, out, false) == (wide && big));  /* backward data */
            ck_assert(f->gemm_small_suits(true, false, out, in, b, true) == (simd && big));    /* weight gradient */
            ck_assert(!f->gemm_small_suits(true, false, out, in, b, false));   /* beta 1: OpenBLAS measured faster */
        }
    ck_assert(!f->gemm_small_suits(false, true, 65, 1024, 4096, true));   /* more rows, other layouts: OpenBLAS */
    ck_assert(!f->gemm_small_suits(true, true, 32, 1024, 4096, true));
    ck_assert(!f->gemm_small_suits(true, false, 1024, 4096, 65, true));
    static const int64_t pub[][3] = {{32, 300, 200}, {64, 200, 130}, {65, 200, 100}};   /* >= 2^20 products */
    for (size_t k = 0; k < 3; k++)
        for (int lay = 0; lay < 3; lay++) {
            int64_t M = pub[k][0], N = pub[k][1], K = pub[k][2];
            bool ta = lay == 2, tb = lay == 1;
            if (ta) M = pub[k][1], K = k == 2 ? 65 : 40;
            struct ig_op_call c = {.op = IG_OP_GEMM};
            c.t[0] = RND(-1, 1, M, N);
            c.t[1] = ta ? RND(-1, 1, K, M) : RND(-1, 1, M, K);
            c.t[2] = tb ? RND(-1, 1, N, K) : RND(-1, 1, K, N);
            c.p.gemm = (struct ig_gemm_params){ta, tb, 1.5f, k == 1 ? 0.25f : 0.0f};
            check_vs_ref(&c, 1e-4, 1e-4, "gemm small batch");
        }
    teardown();
}
END_TEST

/* The small-batch GEMM gives the same bits on 1, 2 and 3 threads (the split moves column or row
 * ranges between threads, never a sum). */
START_TEST(test_isa_gemm_small_thread_independent)
{
    if (!ig_cpu_isa_table(isas[_i])) return;
    /* NT, NN, TN with > 2e6 products (threaded) */
    static const int64_t shp[3][3] = {{33, 300, 301}, {20, 700, 300}, {300, 701, 20}};
    float *ref[3] = {NULL, NULL, NULL};
    for (int threads = 1; threads <= 3; threads++) {
        struct ig_backend_options o = ig_backend_options_default();
        o.threads = threads;
        o.cpu_isa = isas[_i];
        ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &be), IG_OK);
        const struct ig_cpu_isa_fns *f = ig_cpu_isa_of(be);
        for (int lay = 0; lay < 3; lay++) {
            seed_ctr = 500 + (uint64_t)lay;
            int64_t M = shp[lay][0], N = shp[lay][1], K = shp[lay][2];
            bool ta = lay == 2, tb = lay == 0;
            struct ig_tensor *A = ta ? RND(-1, 1, K, M) : RND(-1, 1, M, K);
            struct ig_tensor *B = tb ? RND(-1, 1, N, K) : RND(-1, 1, K, N), *C = RND(-1, 1, M, N);
            ck_assert_int_eq(f->gemm_small(be, ta, tb, M, N, K, 1.0f, ig_cpu_f32(A), ta ? M : K, ig_cpu_f32(B),
                                           tb ? K : N, 0.5f, ig_cpu_f32(C), N), IG_OK);
            float *h = host_f32(C);
            if (!ref[lay]) ref[lay] = h;
            else {
                ck_assert_msg(memcmp(ref[lay], h, (size_t)(M * N) * sizeof(float)) == 0,
                              "%s layout %d: %d threads differ from 1", f->name, lay, threads);
                free(h);
            }
            ig_tensor_free(A); ig_tensor_free(B); ig_tensor_free(C);
        }
        teardown();
    }
    for (int lay = 0; lay < 3; lay++) free(ref[lay]);
}
END_TEST

/* Per-sample weight-gradient terms from the Winograd tiles of each ISA (winograd_persample) against
 * the reference weight gradient of each 1-image slice: |dW_n|^2 and <dW_n, ref_r> for 0, 1 and 2
 * references, both tiles and the pick by shape; channel counts that leave every register block
 * shape and its two- and single-vector remainders, output channels not multiples of the row block
 * and the shorter blocks of the last padded rows, padding 0..2, planes under one 4x4 tile; the
 * accumulators are added to, not overwritten. Blocks (R x CV) hit, by (C, O):
 *   AVX2 (8 lanes): 8x1 (5, 6); 6x2 + 6x1 and the 2-row 2x4 as 2x2 + 2x1 (17, 7); 4x2 + 4x1 after
 *     6-row blocks (33, 9); 2x4 + 2x2 (48, 32); 2x4 + 2x1 (40, 8); 6x2 and 4x2 on 14 vectors (112, 16)
 *   AVX-512 (16 lanes): 16x1 (5, 6), (16, 16); 12x2 + 12x1 (33, 9); 12x2, 12x1, then 8x2 + 8x1 (48, 32);
 *     12x2 + 12x1, then 4x4 + 4x2 + 4x1 (112, 16)
 *   plain C (4 lanes): 4x2 + 4x1 (17, 7). */
START_TEST(test_isa_winograd_persample_vs_ref)
{
    if (!isa_backend(_i, IG_CONV_AUTO)) return;
    const struct ig_cpu_isa_fns *f = ig_cpu_isa_of(be);
    static const struct conv_case pc[] = {
        {3, 5, 9, 7, 6, 3, 3, 1, 1},  {2, 17, 6, 6, 7, 3, 3, 1, 0}, {1, 33, 5, 5, 9, 3, 3, 1, 2},
        {4, 40, 8, 8, 20, 3, 3, 1, 1}, {2, 70, 4, 4, 36, 3, 3, 1, 1}, {3, 16, 3, 3, 16, 3, 3, 1, 1},
        {2, 48, 5, 5, 32, 3, 3, 1, 1}, {1, 40, 4, 4, 8, 3, 3, 1, 0},  {2, 112, 4, 4, 16, 3, 3, 1, 1},
    };
    enum { NMAX = 4 };
    for (size_t k = 0; k < 3 * (sizeof pc / sizeof pc[0]); k++) {
        const struct conv_case *c = &pc[k / 3];
        int tile = (int[]){2, 4, 0}[k % 3], n_refs = (int)(k % 3);
        struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = c->pad, .pad_w = c->pad};
        int64_t Ho = ig_conv_out_size(c->H, 3, 1, c->pad), Wo = ig_conv_out_size(c->W, 3, 1, c->pad);
        struct ig_tensor *x = RND(-1, 1, c->N, c->C, c->H, c->W), *dy = RND(-1, 1, c->N, c->O, Ho, Wo);
        struct ig_tensor *r0 = RND(-1, 1, c->O, c->C, 3, 3), *r1 = RND(-1, 1, c->O, c->C, 3, 3);
        const float *refw[2] = {ig_cpu_f32(r0), ig_cpu_f32(r1)};
        double sq[NMAX], d0[NMAX], d1[NMAX], *dots[2] = {d0, d1};
        for (int n = 0; n < NMAX; n++) sq[n] = d0[n] = d1[n] = 0.5;
        ck_assert_int_le(c->N, NMAX);
        ck_assert_int_eq(f->winograd_persample(be, ig_cpu_f32(x), ig_cpu_f32(dy), c->N, c->C, c->H, c->W, c->O, c->pad,
                                               c->pad, Ho, Wo, n_refs, refw, dots, sq, tile), IG_OK);
        struct ig_tensor *dw = RND(0, 1, c->O, c->C, 3, 3);
        float *hr0 = host_f32(r0), *hr1 = host_f32(r1);
        for (int64_t n = 0; n < c->N; n++) {
            struct ig_tensor *xs = ig_tensor_slice(x, n, 1), *ds = ig_tensor_slice(dy, n, 1);
            struct ig_op_call rw = {.op = IG_OP_CONV2D_BWD_WEIGHT, .t = {dw, ds, xs}, .p.conv = p};
            ck_assert_int_eq(ig_cpu_ref_conv2d_bwd_weight(be, &rw), IG_OK);
            float *h = host_f32(dw);
            double want = 0, w0 = 0, w1 = 0, rr0 = 0, rr1 = 0;
            for (int64_t i = 0; i < ig_tensor_numel(dw); i++) {
                want += (double)h[i] * h[i];
                w0 += (double)h[i] * hr0[i], w1 += (double)h[i] * hr1[i];
                rr0 += (double)hr0[i] * hr0[i], rr1 += (double)hr1[i] * hr1[i];
            }
            ck_assert_msg(fabs(sq[n] - 0.5 - want) <= 1e-4 * want + 1e-6, "%s case %zu n %lld: |dW|^2 %.9g, ref %.9g",
                          f->name, k, (long long)n, sq[n] - 0.5, want);
            double w[2] = {w0, w1}, rr[2] = {rr0, rr1};
            for (int r = 0; r < 2; r++) {
                double got = dots[r][n] - 0.5, want_r = r < n_refs ? w[r] : 0.0;
                ck_assert_msg(fabs(got - want_r) <= 1e-4 * sqrt(want * rr[r]) + 1e-6,
                              "%s case %zu n %lld: dot %d %.9g, ref %.9g", f->name, k, (long long)n, r, got, want_r);
            }
            free(h);
            ig_tensor_free(xs);
            ig_tensor_free(ds);
        }
        free(hr0); free(hr1);
        ig_tensor_free(dw); ig_tensor_free(x); ig_tensor_free(dy); ig_tensor_free(r0); ig_tensor_free(r1);
    }
    teardown();
}
END_TEST

/* ig_conv2d_persample_uses_ghost: the ghost norm exactly where P (K + O) < K O (the paper CNN's 8x8
 * layers yes, its 32x32 and 16x16 ones no); no weight or not a 4-d weight: no. */
START_TEST(test_persample_uses_ghost)
{
    struct ig_conv2d_params p = {1, 1, 1, 1};
    struct ig_tensor *w6 = RND(-1, 1, 256, 256, 3, 3), *w2 = RND(-1, 1, 64, 32, 3, 3), *w4 = RND(-1, 1, 128, 128, 3, 3);
    struct ig_tensor *flat = RND(-1, 1, 64, 288);
    ck_assert(ig_conv2d_persample_uses_ghost(w6, p, 8, 8));       /* 64 (2304 + 256) < 2304 * 256 */
    ck_assert(!ig_conv2d_persample_uses_ghost(w2, p, 32, 32));    /* 1024 (288 + 64) > 288 * 64 */
    ck_assert(!ig_conv2d_persample_uses_ghost(w4, p, 16, 16));    /* 256 (1152 + 128) > 1152 * 128 */
    ck_assert(ig_conv2d_persample_uses_ghost(w4, p, 8, 8));
    ck_assert(!ig_conv2d_persample_uses_ghost(NULL, p, 8, 8));
    ck_assert(!ig_conv2d_persample_uses_ghost(flat, p, 8, 8));
    ig_tensor_free(w6); ig_tensor_free(w2); ig_tensor_free(w4); ig_tensor_free(flat);
}
END_TEST

/* ig_row_pair_dot_acc against a double loop: rows shorter and longer than a summation block, one row,
 * a 4-d tensor; it adds to acc; bad arguments are refused with the reason. */
START_TEST(test_row_pair_dot_acc)
{
    static const int64_t shapes[][2] = {{3, 5}, {2, 9000}, {1, 17}, {7, 4096}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int64_t N = shapes[k][0], M = shapes[k][1];
        struct ig_tensor *a = RND(-1, 1, N, M), *b = RND(-1, 1, N, M);
        float *ha = host_f32(a), *hb = host_f32(b);
        double acc[8];
        for (int n = 0; n < 8; n++) acc[n] = 1.0;
        ck_assert_int_eq(ig_row_pair_dot_acc(be, a, b, acc), IG_OK);
        for (int64_t n = 0; n < N; n++) {
            double want = 1.0, mag = 0.0;
            for (int64_t m = 0; m < M; m++) want += (double)ha[n * M + m] * hb[n * M + m], mag += fabs(ha[n * M + m] * hb[n * M + m]);
            ck_assert_msg(fabs(acc[n] - want) <= 1e-6 * mag + 1e-9, "shape %zu row %lld: %.12g vs %.12g", k, (long long)n,
                          acc[n], want);
        }
        free(ha); free(hb);
        ig_tensor_free(a); ig_tensor_free(b);
    }
    struct ig_tensor *a = RND(-1, 1, 2, 3, 2, 2), *b = RND(-1, 1, 2, 12), *c = RND(-1, 1, 3, 8);
    double acc[3] = {0, 0, 0};
    ck_assert_int_eq(ig_row_pair_dot_acc(be, a, b, acc), IG_OK);   /* same rows and size: any shapes */
    ck_assert_int_eq(ig_row_pair_dot_acc(be, a, c, acc), IG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "same rows"));
    ck_assert_int_eq(ig_row_pair_dot_acc(be, a, NULL, acc), IG_ERR_INVALID_ARG);
    ig_tensor_free(a); ig_tensor_free(b); ig_tensor_free(c);
}
END_TEST

/* y (fast) and yr (reference) agree within 1e-4 (frees both). */
static void assert_close_free(struct ig_tensor *y, struct ig_tensor *yr)
{
    float *a = host_f32(y), *e = host_f32(yr);
    ck_assert_double_le(ig_test_close_ratio(a, e, (size_t)ig_tensor_numel(y), 1e-4, 1e-4), 1.0);
    free(a); free(e);
    ig_tensor_free(y); ig_tensor_free(yr);
}

/* The direct kernel of each instruction set directly, against the reference kernels: input channels
 * 1..4, widths odd and not multiples of 8 or 16, padding 0..2, output channels not multiples of the
 * register block (4 or 8), batch 1 (split into row blocks over the threads) and more, with and
 * without bias, 1x1, 3x3, 5x5 and rectangular kernels; the rotated kernel (backward data) and the
 * weight gradient (tap counts not multiples of its block) too. */
START_TEST(test_isa_direct_vs_ref)
{
    if (!isa_backend(_i, IG_CONV_AUTO)) return;
    const struct ig_cpu_isa_fns *f = ig_cpu_isa_of(be);
    static const struct conv_case dc[] = {
        {3, 3, 9, 7, 6, 3, 3, 1, 1},    {2, 1, 6, 17, 7, 3, 3, 1, 0},  {1, 2, 5, 5, 2, 3, 3, 1, 2},
        {1, 4, 37, 37, 32, 3, 3, 1, 1}, {5, 3, 12, 33, 11, 3, 3, 1, 2}, {2, 4, 8, 13, 9, 1, 1, 1, 0},
        {2, 2, 9, 21, 13, 5, 5, 1, 2},  {3, 3, 7, 10, 5, 2, 3, 1, 1},  {64, 3, 32, 32, 32, 3, 3, 1, 1},
    };
    for (size_t k = 0; k < sizeof dc / sizeof dc[0]; k++) {
        const struct conv_case *c = &dc[k];
        struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = c->pad, .pad_w = c->pad};
        int64_t Ho = ig_conv_out_size(c->H, c->KH, 1, c->pad), Wo = ig_conv_out_size(c->W, c->KW, 1, c->pad);
        struct ig_tensor *x = RND(-1, 1, c->N, c->C, c->H, c->W), *w = RND(-1, 1, c->O, c->C, c->KH, c->KW);
        struct ig_tensor *b = k % 2 ? NULL : RND(-1, 1, c->O);
        struct ig_tensor *y = RND(0, 1, c->N, c->O, Ho, Wo), *yr = RND(0, 1, c->N, c->O, Ho, Wo);
        ck_assert_int_eq(f->direct_conv(be, ig_cpu_f32(x), c->N, c->C, c->H, c->W, ig_cpu_f32(w), false, c->O, c->KH,
                                        c->KW, c->pad, c->pad, b ? ig_cpu_f32(b) : NULL, ig_cpu_f32(y), Ho, Wo), IG_OK);
        struct ig_op_call r = {.op = IG_OP_CONV2D_FWD, .t = {yr, x, w, b}, .p.conv = p};
        ck_assert_int_eq(ig_cpu_ref_conv2d_fwd(be, &r), IG_OK);
        assert_close_free(y, yr);
        /* rotated: dx[N,C,H,W] from dy[N,O,Ho,Wo], padding K - 1 - pad */
        struct ig_tensor *dy = RND(-1, 1, c->N, c->O, Ho, Wo);
        struct ig_tensor *dx = RND(0, 1, c->N, c->C, c->H, c->W), *dxr = RND(0, 1, c->N, c->C, c->H, c->W);
        ck_assert_int_eq(f->direct_conv(be, ig_cpu_f32(dy), c->N, c->O, Ho, Wo, ig_cpu_f32(w), true, c->C, c->KH, c->KW,
                                        (int)c->KH - 1 - c->pad, (int)c->KW - 1 - c->pad, NULL, ig_cpu_f32(dx), c->H,
                                        c->W), IG_OK);
        r = (struct ig_op_call){.op = IG_OP_CONV2D_BWD_DATA, .t = {dxr, dy, w}, .p.conv = p};
        ck_assert_int_eq(ig_cpu_ref_conv2d_bwd_data(be, &r), IG_OK);
        assert_close_free(dx, dxr);
        /* weight gradient of the same conv */
        struct ig_tensor *dw = RND(0, 1, c->O, c->C, c->KH, c->KW), *dwr = RND(0, 1, c->O, c->C, c->KH, c->KW);
        ck_assert_int_eq(f->direct_bwd_weight(be, ig_cpu_f32(x), ig_cpu_f32(dy), c->N, c->C, c->H, c->W, c->O, c->KH,
                                              c->KW, c->pad, c->pad, Ho, Wo, ig_cpu_f32(dw)), IG_OK);
        r = (struct ig_op_call){.op = IG_OP_CONV2D_BWD_WEIGHT, .t = {dwr, dy, x}, .p.conv = p};
        ck_assert_int_eq(ig_cpu_ref_conv2d_bwd_weight(be, &r), IG_OK);
        float *wa = host_f32(dw), *we = host_f32(dwr);
        ck_assert_double_le(ig_test_close_ratio(wa, we, (size_t)ig_tensor_numel(dw), 1e-4, 1e-3), 1.0);
        free(wa); free(we);
        ig_tensor_free(dw); ig_tensor_free(dwr);
        ig_tensor_free(x); ig_tensor_free(w); ig_tensor_free(b); ig_tensor_free(dy);
    }
    /* conv1 of the paper CNN is what auto sends to it on the SIMD builds; never stride 2 or 64 channels */
    for (int weight = 0; weight < 2; weight++) {
        ck_assert(f->direct_suits(3, 32, 3, 3, 1, 1, 32, 32, weight) == (f->isa != IG_CPU_ISA_GENERIC));
        ck_assert(!f->direct_suits(3, 32, 3, 3, 2, 2, 32, 32, weight));
        ck_assert(!f->direct_suits(64, 64, 3, 3, 1, 1, 32, 32, weight));
    }
    ck_assert(!f->direct_suits(16, 64, 3, 3, 1, 1, 8, 8, true));   /* weight gradient: few channels, larger planes */
    teardown();
}
END_TEST

/* ---------------------------------------------------------------- pooling, relu, bn, dropout, bias */

/* f32 tensor of values in {-1, 0, 0.5, 1} (many ties: the first maximum of a window must win) */
static struct ig_tensor *ties(int ndim, const int64_t *shape)
{
    static const float vals[4] = {-1.0f, 0.0f, 0.5f, 1.0f};
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    float *h = malloc((size_t)n * sizeof(float));
    for (int64_t k = 0; k < n; k++) h[k] = vals[(k * 2654435761u >> 7) % 4];
    struct ig_tensor *t = ig_tensor_from_host(be, IG_DTYPE_F32, ndim, shape, h);
    free(h);
    ck_assert_ptr_nonnull(t);
    return t;
}

START_TEST(test_pool_vs_ref)
{
    /* 2x2 rows of 17 (a vector and a remainder), 8 and 4 outputs (several rows per vector, with a
     * remainder: 3x4 outputs), parallel-sized ones; k 3 s 2; odd i: inputs full of ties */
    static const int64_t s[][4] = {{1, 1, 4, 4}, {2, 3, 7, 9}, {3, 5, 32, 32}, {2, 2, 9, 8}, {2, 3, 6, 34},
                                   {5, 3, 16, 16}, {3, 7, 8, 8}, {8, 33, 32, 32}, {16, 40, 8, 8}, {9, 20, 16, 16}};
    static const int ks[][2] = {{2, 2}, {2, 2}, {2, 2}, {3, 2}, {2, 2}, {2, 2}, {2, 2}, {2, 2}, {2, 2}, {2, 2}};
    for (int i = 0; i < 10; i++) {
        struct ig_pool2d_params p = {.kernel = ks[i][0], .stride = ks[i][1]};
        int64_t Ho = ig_conv_out_size(s[i][2], p.kernel, p.stride, 0), Wo = ig_conv_out_size(s[i][3], p.kernel, p.stride, 0);
        struct ig_op_call c = {.op = IG_OP_MAXPOOL2D_FWD, .p.pool = p};
        c.t[0] = RND(0, 1, s[i][0], s[i][1], Ho, Wo);
        c.t[1] = ig_tensor_zeros(be, IG_DTYPE_I32, 4, SHAPE(s[i][0], s[i][1], Ho, Wo));
        c.t[2] = i % 2 ? ties(4, s[i]) : RND(-1, 1, s[i][0], s[i][1], s[i][2], s[i][3]);
        struct ig_tensor *idx = ig_tensor_view(c.t[1]);
        check_vs_ref(&c, 0, 0, "maxpool2d_fwd");
        /* idx now holds the fast kernel's argmax positions: use them for the backward */
        c = (struct ig_op_call){.op = IG_OP_MAXPOOL2D_BWD, .p.pool = p};
        c.t[0] = RND(0, 1, s[i][0], s[i][1], s[i][2], s[i][3]);
        c.t[1] = RND(-1, 1, s[i][0], s[i][1], Ho, Wo);
        c.t[2] = idx;
        check_vs_ref(&c, 1e-6, 1e-6, "maxpool2d_bwd");
    }
}
END_TEST

START_TEST(test_relu_vs_ref)
{
    static const int64_t n[] = {1, 15, 16, 17, 100003};
    for (int i = 0; i < 5; i++) {
        struct ig_op_call c = {.op = IG_OP_RELU_FWD};
        c.t[0] = RND(0, 1, n[i]);
        c.t[1] = RND(-1, 1, n[i]);
        check_vs_ref(&c, 0, 0, "relu_fwd");
        c = (struct ig_op_call){.op = IG_OP_RELU_BWD};
        c.t[0] = RND(0, 1, n[i]);
        c.t[1] = RND(-1, 1, n[i]);
        c.t[2] = RND(-1, 1, n[i]);
        check_vs_ref(&c, 0, 0, "relu_bwd");
    }
}
END_TEST

START_TEST(test_bn_vs_ref)
{
    /* planes shorter than, equal to and longer than a vector, one plane longer than a summation
     * block (4096), odd N*C, N*C not a multiple of the thread count, parallel-sized ones */
    static const int64_t s[][4] = {{2, 1, 1, 1}, {1, 3, 5, 7}, {4, 6, 3, 3}, {64, 32, 8, 8}, {50, 7, 1, 1},
                                   {3, 5, 3, 5}, {5, 7, 4, 4}, {7, 3, 9, 9}, {2, 3, 70, 70}, {9, 37, 13, 11}};
    struct ig_bn_params p = ig_bn_params_default();
    for (int i = 0; i < 10; i++) {
        int64_t N = s[i][0], C = s[i][1], H = s[i][2], W = s[i][3];
        struct ig_op_call c = {.op = IG_OP_BN2D_FWD_TRAIN, .p.bn = p};
        c.t[0] = RND(0, 1, N, C, H, W);
        c.t[1] = RND(2, 4, N, C, H, W);   /* offset mean: tests the variance's accuracy */
        c.t[2] = RND(0.5f, 1.5f, C);
        c.t[3] = RND(-1, 1, C);
        c.t[4] = RND(-1, 1, C);
        c.t[5] = RND(0.5f, 2, C);
        c.t[6] = RND(0, 1, C);
        c.t[7] = RND(0, 1, C);
        check_vs_ref(&c, 1e-4, 1e-4, "bn2d_fwd_train");

        c = (struct ig_op_call){.op = IG_OP_BN2D_FWD_EVAL, .p.bn = p};
        c.t[0] = RND(0, 1, N, C, H, W);
        c.t[1] = RND(-2, 2, N, C, H, W);
        c.t[2] = RND(0.5f, 1.5f, C);
        c.t[3] = RND(-1, 1, C);
        c.t[4] = RND(-1, 1, C);
        c.t[5] = RND(0.5f, 2, C);
        check_vs_ref(&c, 1e-5, 1e-5, "bn2d_fwd_eval");

        c = (struct ig_op_call){.op = IG_OP_BN2D_BWD, .p.bn = p};
        c.t[0] = RND(0, 1, N, C, H, W);
        c.t[1] = RND(0, 1, C);
        c.t[2] = RND(0, 1, C);
        c.t[3] = RND(-1, 1, N, C, H, W);
        c.t[4] = RND(-2, 2, N, C, H, W);
        c.t[5] = RND(0.5f, 1.5f, C);
        c.t[6] = RND(-0.1f, 0.1f, C);
        c.t[7] = RND(0.5f, 1.5f, C);
        check_vs_ref(&c, 1e-4, 1e-4, "bn2d_bwd");
    }
}
END_TEST

START_TEST(test_dropout_vs_ref)
{
    static const int64_t s[][4] = {{1, 1, 1, 3}, {2, 3, 5, 7}, {64, 128, 8, 8}};
    for (int i = 0; i < 3; i++)
        for (int pc = 0; pc < 2; pc++) {
            struct ig_op_call c = {.op = IG_OP_DROPOUT_FWD};
            c.p.dropout = (struct ig_dropout_params){.p = 0.3f, .seed = 1234u + (uint64_t)i, .counter = 99, .per_channel = pc};
            c.t[0] = RND(0, 1, s[i][0], s[i][1], s[i][2], s[i][3]);
            c.t[1] = RND(0, 1, s[i][0], s[i][1], s[i][2], s[i][3]);
            c.t[2] = RND(-1, 1, s[i][0], s[i][1], s[i][2], s[i][3]);
            check_vs_ref(&c, 0, 0, "dropout_fwd");
        }
}
END_TEST

START_TEST(test_dropout_known)
{
    /* p = 0.25 on 100000 elements: about 75% kept, kept values scaled by 4/3, mask reproducible */
    int64_t n = 100000;
    struct ig_tensor *x = ig_tensor_new(be, IG_DTYPE_F32, 1, &n), *y = ig_tensor_new(be, IG_DTYPE_F32, 1, &n);
    struct ig_tensor *m = ig_tensor_new(be, IG_DTYPE_F32, 1, &n), *m2 = ig_tensor_new(be, IG_DTYPE_F32, 1, &n);
    ig_fill(x, 2.0f);
    struct ig_dropout_params p = {.p = 0.25f, .seed = 7, .counter = 0, .per_channel = false};
    ck_assert_int_eq(ig_dropout_forward(y, m, x, p), IG_OK);
    ck_assert_int_eq(ig_dropout_forward(y, m2, x, p), IG_OK);
    float *yh = host_f32(y), *mh = host_f32(m), *m2h = host_f32(m2);
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert(mh[i] == 0.0f || fabsf(mh[i] - 4.0f / 3.0f) < 1e-6f);
        ck_assert(mh[i] == m2h[i]);
        ck_assert_float_eq_tol(yh[i], 2.0f * mh[i], 1e-6f);
        kept += mh[i] != 0.0f;
        if (i < 50) ck_assert((mh[i] != 0.0f) == (ig_hash_uniform(7, (uint64_t)i) >= 0.25f));
    }
    ck_assert_int_gt(kept, 74000);
    ck_assert_int_lt(kept, 76000);
    free(yh); free(mh); free(m2h);
    ig_tensor_free(x); ig_tensor_free(y); ig_tensor_free(m); ig_tensor_free(m2);
}
END_TEST

START_TEST(test_bias_add_vs_ref)
{
    struct ig_op_call c = {.op = IG_OP_BIAS_ADD};
    c.t[0] = RND(-1, 1, 3, 5, 4, 7);
    c.t[1] = RND(-1, 1, 5);
    check_vs_ref(&c, 1e-6, 1e-6, "bias_add 4d");
    c.t[0] = RND(-1, 1, 1, 10);
    c.t[1] = RND(-1, 1, 10);
    check_vs_ref(&c, 1e-6, 1e-6, "bias_add 2d batch 1");
    c.t[0] = RND(-1, 1, 64, 1024);
    c.t[1] = RND(-1, 1, 1024);
    check_vs_ref(&c, 1e-6, 1e-6, "bias_add 2d");
}
END_TEST

/* ---------------------------------------------------------------- softmax, cross-entropy, argmax */

START_TEST(test_softmax_xent_vs_ref)
{
    static const int64_t s[][2] = {{1, 1}, {1, 10}, {7, 3}, {64, 10}, {33, 1000}};
    for (int i = 0; i < 5; i++) {
        int64_t N = s[i][0], M = s[i][1];
        struct ig_op_call c = {.op = IG_OP_SOFTMAX};
        c.t[0] = RND(0, 1, N, M);
        c.t[1] = RND(-20, 20, N, M);
        check_vs_ref(&c, 1e-5, 1e-7, "softmax");
        c = (struct ig_op_call){.op = IG_OP_LOG_SOFTMAX};
        c.t[0] = RND(0, 1, N, M);
        c.t[1] = RND(-20, 20, N, M);
        check_vs_ref(&c, 1e-5, 1e-5, "log_softmax");
        for (int red = 0; red < 3; red++) {
            int64_t ln = red == IG_REDUCTION_NONE ? N : 1;
            c = (struct ig_op_call){.op = IG_OP_XENT_FWD, .p.xent.reduction = (enum ig_reduction)red};
            c.t[0] = RND(0, 1, ln);
            c.t[1] = RND(-5, 5, N, M);
            c.t[2] = labels(N, M);
            check_vs_ref(&c, 1e-5, 1e-5, "xent_fwd");
            c = (struct ig_op_call){.op = IG_OP_XENT_BWD, .p.xent.reduction = (enum ig_reduction)red};
            c.t[0] = RND(0, 1, N, M);
            c.t[1] = RND(-5, 5, N, M);
            c.t[2] = labels(N, M);
            c.t[3] = RND(0.5f, 2, ln);
            check_vs_ref(&c, 1e-5, 1e-6, "xent_bwd");
        }
        c = (struct ig_op_call){.op = IG_OP_ARGMAX_ROWS};
        c.t[0] = labels(N, 1);
        c.t[1] = RND(-1, 1, N, M);
        check_vs_ref(&c, 0, 0, "argmax_rows");
    }
}
END_TEST

START_TEST(test_softmax_xent_known)
{
    /* equal logits: softmax = 1/M, loss = log M, dlogits (mean) = (1/M - onehot)/N */
    int64_t N = 4, M = 10;
    struct ig_tensor *x = ig_tensor_new(be, IG_DTYPE_F32, 2, SHAPE(N, M)), *y = ig_tensor_new(be, IG_DTYPE_F32, 2, SHAPE(N, M));
    struct ig_tensor *lab = labels(N, M), *loss = ig_tensor_new(be, IG_DTYPE_F32, 1, SHAPE(1));
    struct ig_tensor *dl = ig_tensor_new(be, IG_DTYPE_F32, 1, SHAPE(1)), *am = labels(N, 1);
    ig_fill(x, 3.0f);
    ig_fill(dl, 1.0f);
    ck_assert_int_eq(ig_softmax(y, x), IG_OK);
    float *yh = host_f32(y);
    for (int i = 0; i < N * M; i++) ck_assert_float_eq_tol(yh[i], 0.1f, 1e-6f);
    free(yh);
    ck_assert_int_eq(ig_cross_entropy_forward(loss, x, lab, (struct ig_xent_params){IG_REDUCTION_MEAN}), IG_OK);
    float l;
    ck_assert_int_eq(ig_tensor_item(loss, &l), IG_OK);
    ck_assert_float_eq_tol(l, logf(10.0f), 1e-5f);
    ck_assert_int_eq(ig_cross_entropy_forward(loss, x, lab, (struct ig_xent_params){IG_REDUCTION_SUM}), IG_OK);
    ck_assert_int_eq(ig_tensor_item(loss, &l), IG_OK);
    ck_assert_float_eq_tol(l, 4.0f * logf(10.0f), 1e-4f);
    ck_assert_int_eq(ig_cross_entropy_backward(y, x, lab, dl, (struct ig_xent_params){IG_REDUCTION_MEAN}), IG_OK);
    yh = host_f32(y);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < M; j++)
            ck_assert_float_eq_tol(yh[n * M + j], (0.1f - (j == (n * 7 + 3) % M ? 1.0f : 0.0f)) / 4.0f, 1e-6f);
    free(yh);
    /* argmax: first maximum wins on ties */
    ck_assert_int_eq(ig_argmax_rows(am, x), IG_OK);
    int32_t ah[4];
    ck_assert_int_eq(ig_tensor_to_host(am, ah, sizeof ah), IG_OK);
    for (int n = 0; n < N; n++) ck_assert_int_eq(ah[n], 0);
    /* a label out of range is an error, not a crash */
    int32_t bad[4] = {0, 1, 10, 2};
    ck_assert_int_eq(ig_tensor_from_host_into(lab, bad, sizeof bad), IG_OK);
    ck_assert_int_ne(ig_cross_entropy_forward(loss, x, lab, (struct ig_xent_params){IG_REDUCTION_MEAN}), IG_OK);
    ig_tensor_free(x); ig_tensor_free(y); ig_tensor_free(lab); ig_tensor_free(loss); ig_tensor_free(dl); ig_tensor_free(am);
}
END_TEST

/* ---------------------------------------------------------------- reductions, elementwise */

START_TEST(test_reduce_vs_ref)
{
    for (int axis = 0; axis < 4; axis++) {
        int64_t s[4] = {3, 5, 4, 7}, o[4] = {3, 5, 4, 7};
        o[axis] = 1;
        for (int mean = 0; mean < 2; mean++) {
            struct ig_op_call c = {.op = mean ? IG_OP_MEAN_AXIS : IG_OP_SUM_AXIS, .p.axis = axis};
            c.t[0] = rnd(4, o, 0, 1);
            c.t[1] = rnd(4, s, -1, 1);
            check_vs_ref(&c, 1e-5, 1e-5, "sum/mean_axis 4d");
        }
    }
    struct ig_op_call c = {.op = IG_OP_SUM_AXIS, .p.axis = 0};
    c.t[0] = RND(0, 1, 1, 1000);
    c.t[1] = RND(-1, 1, 64, 1000);
    check_vs_ref(&c, 1e-5, 1e-5, "sum_axis rows");
    c = (struct ig_op_call){.op = IG_OP_MEAN_AXIS, .p.axis = 1};
    c.t[0] = RND(0, 1, 1, 1);
    c.t[1] = RND(-1, 1, 1, 9);
    check_vs_ref(&c, 1e-5, 1e-5, "mean_axis batch 1");
    static const int64_t r[][2] = {{1, 1}, {5, 13}, {64, 5000}};
    for (int i = 0; i < 3; i++) {
        c = (struct ig_op_call){.op = IG_OP_ROW_SQNORM};
        c.t[0] = RND(0, 1, r[i][0]);
        c.t[1] = RND(-1, 1, r[i][0], r[i][1]);
        check_vs_ref(&c, 1e-4, 1e-4, "row_sqnorm");
        c = (struct ig_op_call){.op = IG_OP_ROW_DOT};
        c.t[0] = RND(0, 1, r[i][0]);
        c.t[1] = RND(-1, 1, r[i][0], r[i][1]);
        c.t[2] = RND(-1, 1, r[i][1]);
        check_vs_ref(&c, 1e-4, 1e-4, "row_dot");
    }
}
END_TEST

START_TEST(test_elementwise_vs_ref)
{
    static const int64_t n[] = {1, 31, 200001};
    static const enum ig_op bin[] = {IG_OP_ADD, IG_OP_SUB, IG_OP_MUL};
    for (int i = 0; i < 3; i++) {
        for (int b = 0; b < 3; b++) {
            struct ig_op_call c = {.op = bin[b]};
            c.t[0] = RND(0, 1, n[i]);
            c.t[1] = RND(-1, 1, n[i]);
            c.t[2] = RND(-1, 1, n[i]);
            check_vs_ref(&c, 1e-6, 1e-7, "binary");
        }
        struct ig_op_call c = {.op = IG_OP_SCALE, .p.alpha = -1.5f};
        c.t[0] = RND(0, 1, n[i]);
        c.t[1] = RND(-1, 1, n[i]);
        check_vs_ref(&c, 1e-6, 1e-7, "scale");
        c = (struct ig_op_call){.op = IG_OP_AXPY, .p.alpha = 0.25f};
        c.t[0] = RND(0, 1, n[i]);
        c.t[1] = RND(-1, 1, n[i]);
        check_vs_ref(&c, 1e-6, 1e-7, "axpy");
        c = (struct ig_op_call){.op = IG_OP_FILL, .p.alpha = 3.0f};
        c.t[0] = RND(0, 1, n[i]);
        check_vs_ref(&c, 0, 0, "fill f32");
    }
    struct ig_op_call c = {.op = IG_OP_FILL, .p.alpha = 7.0f};
    c.t[0] = labels(11, 3);
    check_vs_ref(&c, 0, 0, "fill i32");
    /* aliasing: z = x + z */
    struct ig_tensor *x = RND(-1, 1, 1000), *z = RND(-1, 1, 1000);
    float *xh = host_f32(x), *zh = host_f32(z);
    ck_assert_int_eq(ig_add(z, x, z), IG_OK);
    float *rh = host_f32(z);
    for (int i = 0; i < 1000; i++) ck_assert_float_eq_tol(rh[i], xh[i] + zh[i], 1e-6f);
    free(xh); free(zh); free(rh);
    ig_tensor_free(x); ig_tensor_free(z);
}
END_TEST

START_TEST(test_copy_vs_ref)
{
    /* strided sources: transposes of 2-D, 3-D and 4-D tensors, and a slice */
    struct ig_tensor *a = RND(-1, 1, 7, 5), *b = RND(-1, 1, 3, 4, 6), *d = RND(-1, 1, 2, 3, 4, 5);
    struct ig_op_call c = {.op = IG_OP_COPY};
    c.t[1] = ig_tensor_transpose(a, 0, 1);
    c.t[0] = RND(0, 1, 5, 7);
    check_vs_ref(&c, 0, 0, "copy 2d transpose");
    c.t[1] = ig_tensor_transpose(b, 0, 2);
    c.t[0] = RND(0, 1, 6, 4, 3);
    check_vs_ref(&c, 0, 0, "copy 3d transpose");
    c.t[1] = ig_tensor_transpose(d, 1, 3);
    c.t[0] = RND(0, 1, 2, 5, 4, 3);
    check_vs_ref(&c, 0, 0, "copy 4d transpose");
    c.t[1] = ig_tensor_slice(d, 1, 1);
    c.t[0] = RND(0, 1, 1, 3, 4, 5);
    check_vs_ref(&c, 0, 0, "copy slice");
    ig_tensor_free(a); ig_tensor_free(b); ig_tensor_free(d);
}
END_TEST

START_TEST(test_normalize_vs_ref)
{
    static const int64_t s[][4] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {64, 3, 32, 32}};
    struct ig_norm_params p = {.mean = {0.5f, 0.4f, 0.3f, 0.2f}, .std = {0.5f, 0.25f, 0.2f, 1.0f}};
    for (int i = 0; i < 3; i++) {
        int64_t n = s[i][0] * s[i][1] * s[i][2] * s[i][3];
        uint8_t *h = malloc((size_t)n);
        for (int64_t k = 0; k < n; k++) h[k] = (uint8_t)((k * 37 + 11) % 256);
        struct ig_op_call c = {.op = IG_OP_NORMALIZE_U8, .p.norm = p};
        c.t[0] = rnd(4, s[i], 0, 1);
        c.t[1] = ig_tensor_from_host(be, IG_DTYPE_U8, 4, s[i], h);
        free(h);
        check_vs_ref(&c, 1e-6, 1e-6, "normalize_u8");
    }
}
END_TEST

/* ---------------------------------------------------------------- optimizers */

START_TEST(test_optim_vs_ref)
{
    static const int64_t n[] = {1, 37, 100000, 15, 16, 100003};
    for (int i = 0; i < 6; i++)
        for (int step = 1; step <= 3; step += 2) {
            struct ig_adam_params p = ig_adam_params_default();
            p.weight_decay = 5e-4f;
            p.step = step;
            struct ig_op_call c = {.op = IG_OP_ADAM_STEP, .p.adam = p};
            c.t[0] = RND(-1, 1, n[i]);
            c.t[1] = RND(-1, 1, n[i]);
            c.t[2] = RND(-0.1f, 0.1f, n[i]);
            c.t[3] = RND(0, 0.01f, n[i]);
            check_vs_ref(&c, 1e-5, 1e-6, "adam_step");
        }
    for (int i = 0; i < 3; i++)
        for (int v = 0; v < 4; v++) {
            struct ig_sgd_params p = {.lr = 0.1f, .momentum = v ? 0.9f : 0.0f, .dampening = v == 2 ? 0.1f : 0.0f,
                                      .weight_decay = 1e-3f, .nesterov = v == 3, .first_step = v == 1};
            struct ig_op_call c = {.op = IG_OP_SGD_STEP, .p.sgd = p};
            c.t[0] = RND(-1, 1, n[i]);
            c.t[1] = RND(-1, 1, n[i]);
            c.t[2] = v ? RND(-1, 1, n[i]) : NULL;
            check_vs_ref(&c, 1e-5, 1e-6, "sgd_step");
        }
}
END_TEST

START_TEST(test_optim_known)
{
    /* Adam's first step moves every parameter by lr * sign(g) (m/sqrt(v) = g/|g| after bias correction) */
    float wh[4] = {1, -2, 3, 0}, gh[4] = {0.5f, -0.01f, 2e-3f, -4}, out[4];
    struct ig_tensor *w = ig_tensor_from_host(be, IG_DTYPE_F32, 1, SHAPE(4), wh);
    struct ig_tensor *g = ig_tensor_from_host(be, IG_DTYPE_F32, 1, SHAPE(4), gh);
    struct ig_tensor *m = ig_tensor_zeros(be, IG_DTYPE_F32, 1, SHAPE(4)), *v = ig_tensor_zeros(be, IG_DTYPE_F32, 1, SHAPE(4));
    struct ig_adam_params p = ig_adam_params_default();
    p.lr = 0.01f;
    p.step = 1;
    ck_assert_int_eq(ig_adam_step(w, g, m, v, p), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(w, out, sizeof out), IG_OK);
    for (int i = 0; i < 4; i++) ck_assert_float_eq_tol(out[i], wh[i] - 0.01f * (gh[i] > 0 ? 1.0f : -1.0f), 1e-6f);
    /* SGD momentum 0.9, two steps with the same gradient g: w -= lr*g, then w -= lr*(0.9 g + g) */
    float sw[1] = {1.0f}, sg[1] = {2.0f}, r;
    struct ig_tensor *w1 = ig_tensor_from_host(be, IG_DTYPE_F32, 1, SHAPE(1), sw);
    struct ig_tensor *g1 = ig_tensor_from_host(be, IG_DTYPE_F32, 1, SHAPE(1), sg);
    struct ig_tensor *buf = ig_tensor_zeros(be, IG_DTYPE_F32, 1, SHAPE(1));
    struct ig_sgd_params sp = {.lr = 0.1f, .momentum = 0.9f, .first_step = true};
    ck_assert_int_eq(ig_sgd_step(w1, g1, buf, sp), IG_OK);
    sp.first_step = false;
    ck_assert_int_eq(ig_sgd_step(w1, g1, buf, sp), IG_OK);
    ck_assert_int_eq(ig_tensor_item(w1, &r), IG_OK);
    ck_assert_float_eq_tol(r, 1.0f - 0.2f - 0.38f, 1e-6f);
    ig_tensor_free(w); ig_tensor_free(g); ig_tensor_free(m); ig_tensor_free(v);
    ig_tensor_free(w1); ig_tensor_free(g1); ig_tensor_free(buf);
}
END_TEST

/* ---------------------------------------------------------------- bad arguments */

START_TEST(test_bad_args)
{
    struct ig_tensor *x = RND(-1, 1, 2, 3, 8, 8), *w = RND(-1, 1, 4, 3, 3, 3), *y = RND(0, 1, 2, 4, 6, 6);
    struct ig_tensor *wbad = RND(-1, 1, 4, 5, 3, 3), *ybad = RND(0, 1, 2, 4, 5, 6);
    struct ig_tensor *a = RND(-1, 1, 4, 6), *b = RND(-1, 1, 6, 4), *cc = RND(0, 1, 4, 4), *c2 = RND(0, 1, 4, 5);
    struct ig_tensor *xi = labels(4, 3);
    struct ig_conv2d_params p = ig_conv2d_params_default();
    /* NULL */
    ck_assert_int_eq(ig_conv2d_forward(NULL, x, w, NULL, p), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_conv2d_forward(y, NULL, w, NULL, p), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_gemm(cc, NULL, b, ig_gemm_params_default()), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_relu_forward(NULL, x), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_add(cc, NULL, cc), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_fill(NULL, 1.0f), IG_ERR_INVALID_ARG);
    /* shape mismatch */
    ck_assert_int_eq(ig_conv2d_forward(y, x, wbad, NULL, p), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_conv2d_forward(ybad, x, w, NULL, p), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_conv2d_backward_data(x, ybad, w, p), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_gemm(c2, a, b, ig_gemm_params_default()), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_add(cc, a, a), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_relu_forward(cc, a), IG_ERR_SHAPE);
    /* bad parameters */
    p.stride_h = 0;
    ck_assert_int_eq(ig_conv2d_forward(y, x, w, NULL, p), IG_ERR_INVALID_ARG);
    p = ig_conv2d_params_default();
    p.pad_w = -1;
    ck_assert_int_eq(ig_conv2d_forward(y, x, w, NULL, p), IG_ERR_INVALID_ARG);
    /* wrong dtype */
    ck_assert_int_eq(ig_relu_forward(xi, xi), IG_ERR_DTYPE);
    struct ig_tensor *l1 = RND(0, 1, 1);   /* freed below (the sanitizer CI step checks leaks) */
    ck_assert_int_eq(ig_cross_entropy_forward(l1, a, a, (struct ig_xent_params){IG_REDUCTION_MEAN}), IG_ERR_DTYPE);
    ig_tensor_free(l1);
    /* non-contiguous */
    struct ig_tensor *at = ig_tensor_transpose(a, 0, 1), *bt = ig_tensor_contiguous(at);
    ck_assert_int_eq(ig_add(bt, at, bt), IG_ERR_LAYOUT);
    ck_assert_int_eq(ig_relu_forward(bt, at), IG_ERR_LAYOUT);
    ig_tensor_free(at); ig_tensor_free(bt);
    ig_tensor_free(x); ig_tensor_free(w); ig_tensor_free(y); ig_tensor_free(wbad); ig_tensor_free(ybad);
    ig_tensor_free(a); ig_tensor_free(b); ig_tensor_free(cc); ig_tensor_free(c2); ig_tensor_free(xi);
}
END_TEST

/* Last test of the suite: every op of ig_ops.def went through check_vs_ref. */
START_TEST(test_all_ops_covered)
{
    for (int op = 0; op < IG_OP_COUNT; op++) ck_assert_msg(ops_tested[op], "op %s has no fast-vs-reference test", ig_op_name(op));
}
END_TEST

static void add_ops_tests(TCase *tc)
{
    tcase_add_test(tc, test_gemm_vs_ref);
    tcase_add_test(tc, test_row_pair_dot_acc);
    tcase_add_test(tc, test_persample_uses_ghost);
    tcase_add_test(tc, test_bias_grad_vs_ref);
    tcase_add_test(tc, test_conv_known);
    tcase_add_test(tc, test_conv_persample_weight);
    tcase_add_test(tc, test_conv_deterministic);
    tcase_add_test(tc, test_pool_vs_ref);
    tcase_add_test(tc, test_relu_vs_ref);
    tcase_add_test(tc, test_bn_vs_ref);
    tcase_add_test(tc, test_dropout_vs_ref);
    tcase_add_test(tc, test_dropout_known);
    tcase_add_test(tc, test_bias_add_vs_ref);
    tcase_add_test(tc, test_softmax_xent_vs_ref);
    tcase_add_test(tc, test_softmax_xent_known);
    tcase_add_test(tc, test_reduce_vs_ref);
    tcase_add_test(tc, test_elementwise_vs_ref);
    tcase_add_test(tc, test_copy_vs_ref);
    tcase_add_test(tc, test_normalize_vs_ref);
    tcase_add_test(tc, test_optim_vs_ref);
    tcase_add_test(tc, test_optim_known);
    tcase_add_test(tc, test_bad_args);
}

static Suite *cpu_ops_suite(void)
{
    Suite *s = suite_create("cpu_ops");
    /* these create their own backend per instruction set (the conv ops are covered here) */
    TCase *ti = tcase_create("isa");
    tcase_set_timeout(ti, 300);
    int ncase = (int)(sizeof conv_cases / sizeof conv_cases[0]);
    tcase_add_loop_test(ti, test_isa_conv_vs_ref, 0, N_ISAS * ncase);
    tcase_add_loop_test(ti, test_isa_conv_forced, 0, N_ISAS);
    tcase_add_loop_test(ti, test_isa_winograd_vs_ref, 0, N_ISAS);
    tcase_add_loop_test(ti, test_isa_winograd_persample_vs_ref, 0, N_ISAS);
    tcase_add_loop_test(ti, test_isa_reductions_thread_independent, 0, N_ISAS);
    tcase_add_loop_test(ti, test_isa_direct_vs_ref, 0, N_ISAS);
    tcase_add_loop_test(ti, test_isa_gemm_small_vs_ref, 0, N_ISAS);
    tcase_add_loop_test(ti, test_isa_gemm_small_thread_independent, 0, N_ISAS);
    tcase_add_test(ti, test_options_env);
    tcase_add_test(ti, test_options_bad);
    suite_add_tcase(s, ti);
    /* every fast kernel against its reference, once per instruction set this CPU runs */
    static const struct { enum ig_cpu_isa isa; const char *name; void (*setup)(void); } runs[] = {
        {IG_CPU_ISA_GENERIC, "ops_generic", setup_generic},
        {IG_CPU_ISA_AVX2, "ops_avx2", setup_avx2},
        {IG_CPU_ISA_AVX512, "ops_avx512", setup_avx512},
    };
    for (int r = 0; r < N_ISAS; r++) {
        if (!ig_cpu_isa_table(runs[r].isa)) continue;   /* forcing it is an error: test_options_bad */
        TCase *tc = tcase_create(runs[r].name);
        tcase_add_checked_fixture(tc, runs[r].setup, teardown);
        tcase_set_timeout(tc, 300);
        add_ops_tests(tc);
        suite_add_tcase(s, tc);
    }
    IG_TEST_CASE(s, "coverage", 0, test_all_ops_covered);
    return s;
}

int main(void)
{
    /* one process: ops_tested[] accumulates across tests for the coverage check */
    return ig_test_run_nofork(cpu_ops_suite());
}
