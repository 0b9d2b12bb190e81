/* OpenCL backend suite: every op forward and backward vs the CPU backend (per-op tolerance, odd shapes, batch 1),
 * a 3-step paper-CNN training step, program cache, build errors, CL error names, device memory accounting. */
#include "ig_config.h"
#include "ig_test_util.h"
#include <stdio.h>
#if !IG_HAVE_OPENCL
int main(void)
{
    fprintf(stderr, "test_opencl: built without OpenCL, skipping\n");
    return IG_TEST_SKIP;
}
#else
#include "ig_cl.h"
#include "ig_nn.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ig_backend *cpu, *gpu;
static const char *gpu_spec = "opencl";

/* ---------------------------------------------------------------- helpers: the same tensor on both backends */

struct pair { struct ig_tensor *c, *g; };

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

static struct pair pair_from(enum ig_dtype dt, int nd, const int64_t *shape, const void *host)
{
    struct pair p = {ig_tensor_from_host(cpu, dt, nd, shape, host), ig_tensor_from_host(gpu, dt, nd, shape, host)};
    ck_assert_msg(p.c && p.g, "tensor creation failed: %s", ig_last_error());
    return p;
}

/* f32 pair, uniform in [lo, hi) from seed */
static struct pair pair_f(int nd, const int64_t *shape, uint64_t seed, float lo, float hi)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    float *h = xmalloc((size_t)n * 4);
    ig_test_fill_uniform(h, (size_t)n, seed, lo, hi);
    struct pair p = pair_from(IG_DTYPE_F32, nd, shape, h);
    free(h);
    return p;
}

/* output pair: CPU side zero, device side NaN, so elements the device kernel forgets to write fail */
static struct pair pair_out(enum ig_dtype dt, int nd, const int64_t *shape)
{
    struct pair p = {ig_tensor_new(cpu, dt, nd, shape), ig_tensor_new(gpu, dt, nd, shape)};
    ck_assert_msg(p.c && p.g, "tensor creation failed: %s", ig_last_error());
    ck_assert_int_eq(ig_fill(p.c, 0.0f), IG_OK);
    ck_assert_int_eq(ig_fill(p.g, dt == IG_DTYPE_F32 ? NAN : -7.0f), IG_OK);
    return p;
}

static struct pair pair_i32(int nd, const int64_t *shape, uint64_t seed, int mod)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    int32_t *h = xmalloc((size_t)n * 4);
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) h[i] = (int32_t)(ig_hash64(s++) % (uint64_t)mod);
    struct pair p = pair_from(IG_DTYPE_I32, nd, shape, h);
    free(h);
    return p;
}

static void pair_free(struct pair p)
{
    ig_tensor_free(p.c);
    ig_tensor_free(p.g);
}

#define OK2(call_c, call_g)                                                                 \
    do {                                                                                    \
        enum ig_status s1_ = (call_c);                                                      \
        ck_assert_msg(s1_ == IG_OK, "cpu: %s", ig_last_error());                            \
        enum ig_status s2_ = (call_g);                                                      \
        ck_assert_msg(s2_ == IG_OK, "opencl: %s", ig_last_error());                         \
    } while (0)

/* Both sides of p agree within rtol/atol (f32) or exactly (i32/u8). */
static void expect_close(struct pair p, double rtol, double atol, const char *what)
{
    size_t nb = ig_tensor_nbytes(p.c);
    void *a = xmalloc(nb), *b = xmalloc(nb);
    ck_assert_int_eq(ig_tensor_to_host(p.c, a, nb), IG_OK);
    ck_assert_msg(ig_tensor_to_host(p.g, b, nb) == IG_OK, "%s: %s", what, ig_last_error());
    if (p.c->dtype == IG_DTYPE_F32) {
        double r = ig_test_close_ratio(b, a, nb / 4, rtol, atol);
        ck_assert_msg(r <= 1.0, "%s: opencl vs cpu close ratio %g (rtol %g, atol %g)", what, r, rtol, atol);
    } else {
        ck_assert_msg(memcmp(a, b, nb) == 0, "%s: opencl and cpu differ", what);
    }
    free(a);
    free(b);
}

/* ---------------------------------------------------------------- GEMM */

START_TEST(test_gemm)
{
    static const int64_t mnk[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 65}, {64, 10, 1}, {1, 40, 300}};
    for (size_t s = 0; s < sizeof mnk / sizeof mnk[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bi = 0; bi < 2; bi++) {
                    int64_t M = mnk[s][0], N = mnk[s][1], K = mnk[s][2];
                    /* A stored with 2 extra leading rows, used through a slice (non-zero offset) */
                    int64_t ash[2] = {(ta ? K : M) + 2, ta ? M : K}, bsh[2] = {tb ? N : K, tb ? K : N}, csh[2] = {M, N};
                    struct pair A0 = pair_f(2, ash, 100 + s, -1, 1), B = pair_f(2, bsh, 200 + s, -1, 1);
                    struct pair C = pair_f(2, csh, 300 + s, -1, 1);
                    struct pair A = {ig_tensor_slice(A0.c, 2, ash[0] - 2), ig_tensor_slice(A0.g, 2, ash[0] - 2)};
                    struct ig_gemm_params p = {ta, tb, 0.7f, bi ? 0.5f : 0.0f};
                    OK2(ig_gemm(C.c, A.c, B.c, p), ig_gemm(C.g, A.g, B.g, p));
                    char what[96];
                    snprintf(what, sizeof what, "gemm %lldx%lldx%lld ta=%d tb=%d beta=%g", (long long)M, (long long)N,
                             (long long)K, ta, tb, (double)p.beta);
                    expect_close(C, 1e-4, 1e-5 * (double)K + 1e-6, what);
                    pair_free(A), pair_free(A0), pair_free(B), pair_free(C);
                }
    /* transposed views as operands: C = A^T(view) B^T(view) */
    int64_t ash[2] = {6, 9}, bsh[2] = {4, 6}, csh[2] = {9, 4};
    struct pair A = pair_f(2, ash, 7, -1, 1), B = pair_f(2, bsh, 8, -1, 1), C = pair_out(IG_DTYPE_F32, 2, csh);
    struct pair At = {ig_tensor_transpose(A.c, 0, 1), ig_tensor_transpose(A.g, 0, 1)};
    struct pair Bt = {ig_tensor_transpose(B.c, 0, 1), ig_tensor_transpose(B.g, 0, 1)};
    struct ig_gemm_params p = ig_gemm_params_default();
    OK2(ig_gemm(C.c, At.c, Bt.c, p), ig_gemm(C.g, At.g, Bt.g, p));
    expect_close(C, 1e-4, 1e-5, "gemm of transposed views");
    pair_free(A), pair_free(B), pair_free(C), pair_free(At), pair_free(Bt);
}
END_TEST

/* ---------------------------------------------------------------- convolution */

struct conv_case { int64_t N, C, H, W, O, KH, KW; int sh, sw, ph, pw; bool bias; const char *chunk; };

START_TEST(test_conv2d)
{
    static const struct conv_case cases[] = {
        {1, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, true, NULL},      /* batch 1, odd sizes */
        {2, 2, 9, 8, 3, 3, 2, 2, 1, 0, 1, false, NULL},     /* non-square kernel, mixed stride/pad */
        {3, 5, 6, 6, 7, 1, 1, 1, 1, 0, 0, true, NULL},      /* 1x1 */
        {5, 3, 8, 8, 4, 3, 3, 2, 2, 1, 1, true, "2"},       /* stride 2, chunks of 2 images (2+2+1), split-K 10 */
        {2, 4, 5, 5, 6, 5, 5, 1, 1, 2, 2, true, NULL},      /* 5x5, pad 2 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct conv_case *k = &cases[i];
        struct ig_backend *shared_gpu = gpu;   /* chunked cases: a device backend with these options */
        if (k->chunk) {
            struct ig_backend_options o = ig_backend_options_default();
            ck_assert_int_eq(ig_backend_options_from_env(&o), IG_OK);   /* the program cache folder */
            o.cl_conv_images = atoi(k->chunk);
            o.cl_splitk = 10;   /* 32 columns per chunk: 3 slices + a tail of 2 */
            ck_assert_msg(ig_backend_init_opts(gpu_spec, &o, &gpu) == IG_OK, "%s", ig_last_error());
        }
        struct ig_conv2d_params p = {k->sh, k->sw, k->ph, k->pw};
        int64_t Ho = ig_conv_out_size(k->H, k->KH, k->sh, k->ph), Wo = ig_conv_out_size(k->W, k->KW, k->sw, k->pw);
        int64_t xs[4] = {k->N, k->C, k->H, k->W}, ws[4] = {k->O, k->C, k->KH, k->KW}, ys[4] = {k->N, k->O, Ho, Wo}, bs[1] = {k->O};
        struct pair x = pair_f(4, xs, 10 + i, -1, 1), w = pair_f(4, ws, 20 + i, -0.5f, 0.5f), b = pair_f(1, bs, 30 + i, -1, 1);
        struct pair y = pair_out(IG_DTYPE_F32, 4, ys), dy = pair_f(4, ys, 40 + i, -1, 1);
        struct pair dx = pair_out(IG_DTYPE_F32, 4, xs), dw = pair_out(IG_DTYPE_F32, 4, ws), db = pair_out(IG_DTYPE_F32, 1, bs);
        char what[64];
        double tol = 1e-5 * (double)(k->C * k->KH * k->KW);
        OK2(ig_conv2d_forward(y.c, x.c, w.c, k->bias ? b.c : NULL, p), ig_conv2d_forward(y.g, x.g, w.g, k->bias ? b.g : NULL, p));
        snprintf(what, sizeof what, "conv2d_fwd case %zu", i);
        expect_close(y, 1e-4, tol, what);
        OK2(ig_conv2d_backward_data(dx.c, dy.c, w.c, p), ig_conv2d_backward_data(dx.g, dy.g, w.g, p));
        snprintf(what, sizeof what, "conv2d_bwd_data case %zu", i);
        expect_close(dx, 1e-4, 1e-5 * (double)(k->O * k->KH * k->KW), what);
        OK2(ig_conv2d_backward_weight(dw.c, dy.c, x.c, p), ig_conv2d_backward_weight(dw.g, dy.g, x.g, p));
        snprintf(what, sizeof what, "conv2d_bwd_weight case %zu", i);
        expect_close(dw, 1e-4, 1e-5 * (double)(k->N * Ho * Wo), what);
        OK2(ig_conv2d_backward_bias(db.c, dy.c), ig_conv2d_backward_bias(db.g, dy.g));
        snprintf(what, sizeof what, "conv2d_bwd_bias case %zu", i);
        expect_close(db, 1e-4, 1e-5 * (double)(k->N * Ho * Wo), what);
        int64_t pws[4] = {k->N * k->O, k->C, k->KH, k->KW};   /* per-sample: one batched product per chunk */
        struct pair pw = pair_out(IG_DTYPE_F32, 4, pws);
        OK2(ig_conv2d_backward_weight_persample(pw.c, dy.c, x.c, p), ig_conv2d_backward_weight_persample(pw.g, dy.g, x.g, p));
        snprintf(what, sizeof what, "conv2d_bwd_weight_persample case %zu", i);
        expect_close(pw, 1e-4, 1e-5 * (double)(Ho * Wo), what);
        pair_free(pw);
        pair_free(x), pair_free(w), pair_free(b), pair_free(y), pair_free(dy), pair_free(dx), pair_free(dw), pair_free(db);
        if (k->chunk) ig_backend_free(gpu);
        gpu = shared_gpu;
    }
}
END_TEST

/* ---------------------------------------------------------------- pooling, relu */

START_TEST(test_maxpool)
{
    static const int64_t cases[][6] = {{1, 2, 7, 7, 2, 2}, {2, 3, 8, 9, 3, 2}, {1, 1, 5, 6, 3, 1}, {3, 4, 4, 4, 2, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int64_t *k = cases[i];
        struct ig_pool2d_params p = {(int)k[4], (int)k[5]};
        int64_t Ho = ig_conv_out_size(k[2], k[4], (int)k[5], 0), Wo = ig_conv_out_size(k[3], k[4], (int)k[5], 0);
        int64_t xs[4] = {k[0], k[1], k[2], k[3]}, ys[4] = {k[0], k[1], Ho, Wo};
        struct pair x = pair_f(4, xs, 50 + i, -2, 2), y = pair_out(IG_DTYPE_F32, 4, ys), idx = pair_out(IG_DTYPE_I32, 4, ys);
        struct pair dy = pair_f(4, ys, 60 + i, -1, 1), dx = pair_out(IG_DTYPE_F32, 4, xs);
        OK2(ig_maxpool2d_forward(y.c, idx.c, x.c, p), ig_maxpool2d_forward(y.g, idx.g, x.g, p));
        expect_close(y, 0, 0, "maxpool2d_fwd y");
        expect_close(idx, 0, 0, "maxpool2d_fwd idx");
        OK2(ig_maxpool2d_backward(dx.c, dy.c, idx.c, p), ig_maxpool2d_backward(dx.g, dy.g, idx.g, p));
        expect_close(dx, 1e-6, 1e-6, "maxpool2d_bwd");
        pair_free(x), pair_free(y), pair_free(idx), pair_free(dy), pair_free(dx);
    }
}
END_TEST

START_TEST(test_relu)
{
    int64_t s[3] = {3, 7, 47};
    struct pair x = pair_f(3, s, 70, -1, 1), y = pair_out(IG_DTYPE_F32, 3, s), dy = pair_f(3, s, 71, -1, 1);
    struct pair dx = pair_out(IG_DTYPE_F32, 3, s);
    OK2(ig_relu_forward(y.c, x.c), ig_relu_forward(y.g, x.g));
    expect_close(y, 0, 0, "relu_fwd");
    OK2(ig_relu_backward(dx.c, dy.c, y.c), ig_relu_backward(dx.g, dy.g, y.g));
    expect_close(dx, 0, 0, "relu_bwd");
    OK2(ig_relu_forward(x.c, x.c), ig_relu_forward(x.g, x.g)); /* in place */
    expect_close(x, 0, 0, "relu_fwd in place");
    pair_free(x), pair_free(y), pair_free(dy), pair_free(dx);
}
END_TEST

/* ---------------------------------------------------------------- batch norm */

START_TEST(test_batchnorm)
{
    static const int64_t cases[][4] = {{1, 3, 5, 7}, {4, 5, 3, 3}, {7, 16, 1, 1}, {2, 2, 33, 31}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t xs[4] = {cases[i][0], cases[i][1], cases[i][2], cases[i][3]}, cs[1] = {cases[i][1]};
        struct pair x = pair_f(4, xs, 80 + i, -3, 5), g = pair_f(1, cs, 81 + i, 0.5f, 1.5f), b = pair_f(1, cs, 82 + i, -1, 1);
        struct pair rm = pair_f(1, cs, 83 + i, -0.1f, 0.1f), rv = pair_f(1, cs, 84 + i, 0.5f, 1.5f);
        struct pair sm = pair_out(IG_DTYPE_F32, 1, cs), si = pair_out(IG_DTYPE_F32, 1, cs), y = pair_out(IG_DTYPE_F32, 4, xs);
        struct ig_bn_params p = ig_bn_params_default();
        OK2(ig_batchnorm2d_forward_train(y.c, x.c, g.c, b.c, rm.c, rv.c, sm.c, si.c, p),
            ig_batchnorm2d_forward_train(y.g, x.g, g.g, b.g, rm.g, rv.g, sm.g, si.g, p));
        expect_close(y, 1e-4, 1e-4, "bn2d_fwd_train y");
        expect_close(sm, 1e-4, 1e-5, "bn2d_fwd_train save_mean");
        expect_close(si, 1e-4, 1e-5, "bn2d_fwd_train save_invstd");
        expect_close(rm, 1e-4, 1e-5, "bn2d_fwd_train running_mean");
        expect_close(rv, 1e-4, 1e-5, "bn2d_fwd_train running_var");
        struct pair dy = pair_f(4, xs, 85 + i, -1, 1), dx = pair_out(IG_DTYPE_F32, 4, xs);
        struct pair dg = pair_out(IG_DTYPE_F32, 1, cs), dbt = pair_out(IG_DTYPE_F32, 1, cs);
        OK2(ig_batchnorm2d_backward(dx.c, dg.c, dbt.c, dy.c, x.c, g.c, sm.c, si.c, p),
            ig_batchnorm2d_backward(dx.g, dg.g, dbt.g, dy.g, x.g, g.g, sm.g, si.g, p));
        expect_close(dx, 1e-3, 1e-4, "bn2d_bwd dx");
        expect_close(dg, 1e-4, 1e-4 * (double)(xs[0] * xs[2] * xs[3]) / 10, "bn2d_bwd dgamma");
        expect_close(dbt, 1e-4, 1e-5 * (double)(xs[0] * xs[2] * xs[3]), "bn2d_bwd dbeta");
        OK2(ig_batchnorm2d_forward_eval(y.c, x.c, g.c, b.c, rm.c, rv.c, p), ig_batchnorm2d_forward_eval(y.g, x.g, g.g, b.g, rm.g, rv.g, p));
        expect_close(y, 1e-4, 1e-4, "bn2d_fwd_eval");
        pair_free(x), pair_free(g), pair_free(b), pair_free(rm), pair_free(rv), pair_free(sm), pair_free(si), pair_free(y);
        pair_free(dy), pair_free(dx), pair_free(dg), pair_free(dbt);
    }
}
END_TEST

/* ---------------------------------------------------------------- dropout, bias, softmax, cross-entropy */

START_TEST(test_dropout)
{
    int64_t s[4] = {3, 5, 4, 7};
    for (int pc = 0; pc < 2; pc++) {
        struct pair x = pair_f(4, s, 90, -1, 1), y = pair_out(IG_DTYPE_F32, 4, s), m = pair_out(IG_DTYPE_F32, 4, s);
        struct ig_dropout_params p = {0.3f, 12345u, 777u, pc == 1};
        OK2(ig_dropout_forward(y.c, m.c, x.c, p), ig_dropout_forward(y.g, m.g, x.g, p));
        expect_close(m, 0, 0, pc ? "dropout2d mask" : "dropout mask");
        expect_close(y, 0, 0, pc ? "dropout2d y" : "dropout y");
        pair_free(x), pair_free(y), pair_free(m);
    }
}
END_TEST

START_TEST(test_bias_add)
{
    int64_t s4[4] = {3, 5, 2, 3}, s2[2] = {7, 4}, b4[1] = {5}, b2[1] = {4};
    struct pair y = pair_f(4, s4, 100, -1, 1), b = pair_f(1, b4, 101, -1, 1);
    OK2(ig_bias_add(y.c, b.c), ig_bias_add(y.g, b.g));
    expect_close(y, 0, 0, "bias_add 4-D");
    pair_free(y), pair_free(b);
    y = pair_f(2, s2, 102, -1, 1), b = pair_f(1, b2, 103, -1, 1);
    OK2(ig_bias_add(y.c, b.c), ig_bias_add(y.g, b.g));
    expect_close(y, 0, 0, "bias_add 2-D");
    pair_free(y), pair_free(b);
}
END_TEST

/* A label outside [0, M) is an error on the read of the loss (a device-side flag), not a NaN loss. */
START_TEST(test_xent_bad_label_is_an_error)
{
    int64_t s[2] = {3, 4}, n1[1] = {3}, one[1] = {1};
    float logits[12] = {0.1f, 0.2f, 0.3f, 0.4f, 1, 2, 3, 4, -1, 0, 1, 2};
    int32_t bad[3] = {0, 4, 1}, good[3] = {0, 3, 1};
    struct ig_tensor *x = ig_tensor_from_host(gpu, IG_DTYPE_F32, 2, s, logits);
    struct ig_tensor *lb = ig_tensor_from_host(gpu, IG_DTYPE_I32, 1, n1, bad);
    struct ig_tensor *lg = ig_tensor_from_host(gpu, IG_DTYPE_I32, 1, n1, good);
    struct ig_tensor *loss = ig_tensor_new(gpu, IG_DTYPE_F32, 1, one);
    ck_assert(x && lb && lg && loss);
    struct ig_xent_params p = {IG_REDUCTION_MEAN};
    float v = 0;
    ck_assert_int_eq(ig_cross_entropy_forward(loss, x, lb, p), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(loss, &v, sizeof v), IG_ERR_INVALID_ARG);
    ck_assert_msg(strstr(ig_last_error(), "label is outside") != NULL, "%s", ig_last_error());
    /* the flag is reset: a good batch afterwards reads back a finite loss */
    ck_assert_int_eq(ig_cross_entropy_forward(loss, x, lg, p), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(loss, &v, sizeof v), IG_OK);
    ck_assert(isfinite(v) && v > 0);
    ig_tensor_free(x), ig_tensor_free(lb), ig_tensor_free(lg), ig_tensor_free(loss);
}
END_TEST

START_TEST(test_softmax_xent)
{
    static const int64_t cases[][2] = {{1, 10}, {13, 7}, {5, 37}, {2, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t s[2] = {cases[i][0], cases[i][1]}, n1[1] = {cases[i][0]}, one[1] = {1};
        struct pair x = pair_f(2, s, 110 + i, -30, 30), y = pair_out(IG_DTYPE_F32, 2, s);
        OK2(ig_softmax(y.c, x.c), ig_softmax(y.g, x.g));
        expect_close(y, 1e-5, 1e-7, "softmax");
        OK2(ig_log_softmax(y.c, x.c), ig_log_softmax(y.g, x.g));
        expect_close(y, 1e-5, 1e-5, "log_softmax");
        struct pair lab = pair_i32(1, n1, 120 + i, (int)s[1]);
        for (int r = 0; r < 3; r++) {
            struct ig_xent_params p = {(enum ig_reduction)r};
            bool none = r == IG_REDUCTION_NONE;
            struct pair loss = pair_out(IG_DTYPE_F32, 1, none ? n1 : one);
            struct pair dloss = pair_f(1, none ? n1 : one, 130 + i, 0.5f, 2.0f), dx = pair_out(IG_DTYPE_F32, 2, s);
            OK2(ig_cross_entropy_forward(loss.c, x.c, lab.c, p), ig_cross_entropy_forward(loss.g, x.g, lab.g, p));
            expect_close(loss, 1e-5, 1e-5, "xent_fwd");
            OK2(ig_cross_entropy_backward(dx.c, x.c, lab.c, dloss.c, p), ig_cross_entropy_backward(dx.g, x.g, lab.g, dloss.g, p));
            expect_close(dx, 1e-5, 1e-6, "xent_bwd");
            pair_free(loss), pair_free(dloss), pair_free(dx);
        }
        pair_free(x), pair_free(y), pair_free(lab);
    }
}
END_TEST

/* ---------------------------------------------------------------- reductions, elementwise */

START_TEST(test_axis_reduce)
{
    int64_t s[4] = {3, 4, 5, 2};
    struct pair x = pair_f(4, s, 140, -1, 1);
    for (int axis = 0; axis < 4; axis++) {
        int64_t ys[4] = {3, 4, 5, 2};
        ys[axis] = 1;
        struct pair y = pair_out(IG_DTYPE_F32, 4, ys);
        OK2(ig_sum_axis(y.c, x.c, axis), ig_sum_axis(y.g, x.g, axis));
        expect_close(y, 1e-5, 1e-6, "sum_axis");
        OK2(ig_mean_axis(y.c, x.c, axis), ig_mean_axis(y.g, x.g, axis));
        expect_close(y, 1e-5, 1e-6, "mean_axis");
        pair_free(y);
    }
    pair_free(x);
    int64_t s1[1] = {1001}, o1[1] = {1};
    x = pair_f(1, s1, 141, -1, 1);
    struct pair y = pair_out(IG_DTYPE_F32, 1, o1);
    OK2(ig_sum_axis(y.c, x.c, 0), ig_sum_axis(y.g, x.g, 0));
    expect_close(y, 1e-4, 1e-4, "sum_axis 1-D");
    pair_free(x), pair_free(y);
}
END_TEST

START_TEST(test_elementwise)
{
    int64_t big[2] = {5, 333}, s[2] = {3, 333};
    struct pair X = pair_f(2, big, 150, -2, 2), Y = pair_f(2, big, 151, -2, 2);
    /* slices with a non-zero element offset */
    struct pair x = {ig_tensor_slice(X.c, 1, 3), ig_tensor_slice(X.g, 1, 3)}, y = {ig_tensor_slice(Y.c, 2, 3), ig_tensor_slice(Y.g, 2, 3)};
    struct pair z = pair_out(IG_DTYPE_F32, 2, s);
    OK2(ig_add(z.c, x.c, y.c), ig_add(z.g, x.g, y.g));
    expect_close(z, 0, 0, "add");
    OK2(ig_sub(z.c, x.c, y.c), ig_sub(z.g, x.g, y.g));
    expect_close(z, 0, 0, "sub");
    OK2(ig_mul(z.c, x.c, y.c), ig_mul(z.g, x.g, y.g));
    expect_close(z, 0, 0, "mul");
    OK2(ig_scale(z.c, x.c, -1.5f), ig_scale(z.g, x.g, -1.5f));
    expect_close(z, 0, 0, "scale");
    OK2(ig_axpy(z.c, 0.25f, y.c), ig_axpy(z.g, 0.25f, y.g));
    expect_close(z, 1e-6, 1e-7, "axpy");
    OK2(ig_add(x.c, x.c, y.c), ig_add(x.g, x.g, y.g)); /* aliasing output */
    expect_close(X, 0, 0, "add in place (rows outside the slice untouched)");
    pair_free(X), pair_free(Y), pair_free(x), pair_free(y), pair_free(z);
}
END_TEST

START_TEST(test_argmax_rows)
{
    int64_t s[2] = {9, 13}, n[1] = {9};
    float h[9 * 13];
    ig_test_fill_uniform(h, 9 * 13, 160, -1, 1);
    for (int m = 0; m < 13; m++) h[4 * 13 + m] = 0.25f;   /* a row of ties: first wins */
    h[5 * 13 + 3] = h[5 * 13 + 9] = 5.0f;
    struct pair x = pair_from(IG_DTYPE_F32, 2, s, h), out = pair_out(IG_DTYPE_I32, 1, n);
    OK2(ig_argmax_rows(out.c, x.c), ig_argmax_rows(out.g, x.g));
    expect_close(out, 0, 0, "argmax_rows");
    int32_t r[9];
    ig_tensor_to_host(out.g, r, sizeof r);
    ck_assert_int_eq(r[4], 0);
    ck_assert_int_eq(r[5], 3);
    pair_free(x), pair_free(out);
}
END_TEST

START_TEST(test_normalize_u8)
{
    int64_t s[4] = {2, 3, 5, 7};
    uint8_t h[2 * 3 * 5 * 7];
    for (size_t i = 0; i < sizeof h; i++) h[i] = (uint8_t)(ig_hash64(i) & 255);
    struct pair x = pair_from(IG_DTYPE_U8, 4, s, h), y = pair_out(IG_DTYPE_F32, 4, s);
    struct ig_norm_params p = {{0.5f, 0.4f, 0.3f, 0}, {0.5f, 0.25f, 0.2f, 1}};
    OK2(ig_normalize_u8(y.c, x.c, p), ig_normalize_u8(y.g, x.g, p));
    expect_close(y, 1e-6, 1e-6, "normalize_u8");
    pair_free(x), pair_free(y);
}
END_TEST

START_TEST(test_optimizers)
{
    int64_t s[2] = {7, 143};
    struct pair w = pair_f(2, s, 170, -1, 1), m = pair_f(2, s, 171, -0.1f, 0.1f), v = pair_f(2, s, 172, 0, 0.01f);
    struct ig_adam_params ap = {1e-2f, 0.9f, 0.999f, 1e-8f, 5e-4f, 1};
    for (int step = 1; step <= 3; step++) {
        struct pair g = pair_f(2, s, 180 + (uint64_t)step, -1, 1);
        ap.step = step;
        OK2(ig_adam_step(w.c, g.c, m.c, v.c, ap), ig_adam_step(w.g, g.g, m.g, v.g, ap));
        pair_free(g);
    }
    expect_close(w, 1e-5, 1e-6, "adam param");
    expect_close(m, 1e-5, 1e-7, "adam m");
    expect_close(v, 1e-5, 1e-8, "adam v");
    struct pair buf = pair_out(IG_DTYPE_F32, 2, s);
    for (int variant = 0; variant < 3; variant++) {
        struct ig_sgd_params sp = {0.05f, variant ? 0.9f : 0.0f, 0.0f, 1e-3f, variant == 2, true};
        for (int step = 0; step < 3; step++) {
            struct pair g = pair_f(2, s, 190 + (uint64_t)step, -1, 1);
            sp.first_step = step == 0;
            OK2(ig_sgd_step(w.c, g.c, variant ? buf.c : NULL, sp), ig_sgd_step(w.g, g.g, variant ? buf.g : NULL, sp));
            pair_free(g);
        }
        expect_close(w, 1e-5, 1e-6, "sgd param");
        if (variant) expect_close(buf, 1e-5, 1e-6, "sgd momentum buffer");
    }
    pair_free(w), pair_free(m), pair_free(v), pair_free(buf);
}
END_TEST

START_TEST(test_copy_fill)
{
    int64_t s[3] = {4, 5, 6};
    struct pair x = pair_f(3, s, 200, -1, 1);
    struct pair xt = {ig_tensor_transpose(x.c, 0, 2), ig_tensor_transpose(x.g, 0, 2)};
    struct pair c = {ig_tensor_contiguous(xt.c), ig_tensor_contiguous(xt.g)};
    ck_assert_msg(c.c && c.g, "%s", ig_last_error());
    expect_close(c, 0, 0, "copy of a transposed f32 view");
    pair_free(c), pair_free(xt), pair_free(x);
    struct pair xi = pair_i32(3, s, 201, 1000);
    xt = (struct pair){ig_tensor_transpose(xi.c, 1, 2), ig_tensor_transpose(xi.g, 1, 2)};
    c = (struct pair){ig_tensor_contiguous(xt.c), ig_tensor_contiguous(xt.g)};
    expect_close(c, 0, 0, "copy of a transposed i32 view");
    pair_free(c), pair_free(xt), pair_free(xi);
    uint8_t h[120];
    for (int i = 0; i < 120; i++) h[i] = (uint8_t)(i * 7);
    struct pair xu = pair_from(IG_DTYPE_U8, 3, s, h);
    xt = (struct pair){ig_tensor_transpose(xu.c, 0, 1), ig_tensor_transpose(xu.g, 0, 1)};
    c = (struct pair){ig_tensor_contiguous(xt.c), ig_tensor_contiguous(xt.g)};
    expect_close(c, 0, 0, "copy of a transposed u8 view");
    /* fills through slices (offsets) of every dtype */
    struct pair us = {ig_tensor_slice(xu.c, 1, 2), ig_tensor_slice(xu.g, 1, 2)};
    OK2(ig_fill(us.c, 200.0f), ig_fill(us.g, 200.0f));
    expect_close(xu, 0, 0, "fill u8 slice");
    pair_free(us), pair_free(c), pair_free(xt), pair_free(xu);
    x = pair_f(3, s, 202, -1, 1);
    struct pair fs = {ig_tensor_slice(x.c, 3, 1), ig_tensor_slice(x.g, 3, 1)};
    OK2(ig_fill(fs.c, -2.5f), ig_fill(fs.g, -2.5f));
    expect_close(x, 0, 0, "fill f32 slice");
    pair_free(fs), pair_free(x);
    xi = pair_i32(3, s, 203, 10);
    struct pair is = {ig_tensor_slice(xi.c, 0, 1), ig_tensor_slice(xi.g, 0, 1)};
    OK2(ig_fill(is.c, 42.0f), ig_fill(is.g, 42.0f));
    expect_close(xi, 0, 0, "fill i32 slice");
    pair_free(is), pair_free(xi);
    /* cross-backend copy */
    int64_t s2[2] = {3, 11};
    struct pair a = pair_f(2, s2, 204, -1, 1), b = pair_out(IG_DTYPE_F32, 2, s2);
    ck_assert_int_eq(ig_tensor_copy(b.g, a.c), IG_OK);
    ck_assert_int_eq(ig_tensor_copy(b.c, a.g), IG_OK);
    expect_close(b, 0, 0, "cross-backend copy");
    pair_free(a), pair_free(b);
}
END_TEST

START_TEST(test_row_reductions)
{
    static const int64_t cases[][2] = {{3, 1000}, {1, 5}, {4, 300}, {2, 70001}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t s[2] = {cases[i][0], cases[i][1]}, n[1] = {cases[i][0]}, m[1] = {cases[i][1]};
        struct pair x = pair_f(2, s, 210 + i, -1, 1), v = pair_f(1, m, 220 + i, -1, 1), out = pair_out(IG_DTYPE_F32, 1, n);
        double tol = 1e-6 * (double)s[1];
        OK2(ig_row_sqnorm(out.c, x.c), ig_row_sqnorm(out.g, x.g));
        expect_close(out, 1e-5, tol, "row_sqnorm");
        OK2(ig_row_dot(out.c, x.c, v.c), ig_row_dot(out.g, x.g, v.g));
        expect_close(out, 1e-5, tol, "row_dot");
        pair_free(x), pair_free(v), pair_free(out);
    }
}
END_TEST

/* ---------------------------------------------------------------- end to end: 3 Adam steps of the paper CNN */

/* Relative L2 distance between two host vectors. */
static double rel_l2(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

static float *host_copy(const struct ig_tensor *t)
{
    float *h = xmalloc(ig_tensor_nbytes(t));
    ck_assert_int_eq(ig_tensor_to_host(t, h, ig_tensor_nbytes(t)), IG_OK);
    return h;
}

START_TEST(test_paper_cnn_train_steps)
{
    enum { NB = 4, STEPS = 3 };
    struct ig_model *mc = NULL, *mg = NULL;
    ck_assert_msg(ig_model_paper_cnn(&mc, cpu, 3, 32, 32, 10, 7) == IG_OK, "%s", ig_last_error());
    ck_assert_msg(ig_model_paper_cnn(&mg, gpu, 3, 32, 32, 10, 7) == IG_OK, "%s", ig_last_error());
    ck_assert_int_eq(mc->n_params, mg->n_params);
    /* initial parameters, to compare the updates (deltas) afterwards */
    float **init = xmalloc(sizeof(float *) * (size_t)mc->n_params);
    for (int i = 0; i < mc->n_params; i++) {
        init[i] = host_copy(ig_var_value(mc->params[i].var));
        float *g0 = host_copy(ig_var_value(mg->params[i].var));
        ck_assert_msg(memcmp(init[i], g0, ig_tensor_nbytes(ig_var_value(mc->params[i].var))) == 0,
                      "%s: initial values differ between backends", mc->params[i].name);
        free(g0);
    }
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 1e-4f;
    ap.weight_decay = 5e-4f;
    struct ig_optim *oc = NULL, *og = NULL;
    struct ig_graph *gc = NULL, *gg = NULL;
    ck_assert_int_eq(ig_optim_adam_new(&oc, mc, ap), IG_OK);
    ck_assert_int_eq(ig_optim_adam_new(&og, mg, ap), IG_OK);
    ck_assert_int_eq(ig_graph_new(cpu, &gc), IG_OK);
    ck_assert_int_eq(ig_graph_new(gpu, &gg), IG_OK);
    ig_model_set_train(mc, true);
    ig_model_set_train(mg, true);
    int64_t xs[4] = {NB, 3, 32, 32}, ls[1] = {NB};
    for (int step = 0; step < STEPS; step++) {
        struct pair x = pair_f(4, xs, 1000 + (uint64_t)step, -1, 1), y = pair_i32(1, ls, 2000 + (uint64_t)step, 10);
        float lc = 0, lg = 0;
        int64_t cc = 0, cg = 0, w0, r0, bw0, br0, w1, r1, bw1, br1;
        ig_cl_transfer_stats(gpu, &w0, &r0, &bw0, &br0);
        OK2(ig_model_train_step(mc, oc, gc, x.c, y.c, &lc, &cc), ig_model_train_step(mg, og, gg, x.g, y.g, &lg, &cg));
        ig_cl_transfer_stats(gpu, &w1, &r1, &bw1, &br1);
        /* resident: a training step uploads nothing and reads back only the loss and per-row predictions
         * for the correct count (the batch itself was uploaded by pair_f/pair_i32 above) */
        ck_assert_msg(w1 == w0, "step %d wrote %lld times to the device", step, (long long)(w1 - w0));
        ck_assert_msg(br1 - br0 <= (int64_t)(sizeof(float) + NB * sizeof(int32_t) + 64),
                      "step %d read %lld bytes back (%lld reads)", step, (long long)(br1 - br0), (long long)(r1 - r0));
        ck_assert_msg(fabsf(lc - lg) <= 1e-4f * fabsf(lc) + 1e-5f, "step %d: loss cpu %.7f opencl %.7f", step, (double)lc, (double)lg);
        ck_assert_int_eq(cc, cg);
        /* the whole gradient of this step, relative L2: within 1% on step 0 (same parameters), 5% after
         * (Adam steps of ~lr on near-zero gradients, below). Not tighter: a forward difference of 1e-6
         * already flips a few max-pool choices and ReLU signs of near-ties, each moving a whole gradient
         * value to another pixel (measured with the Winograd F(4x4) CPU forward: 0.3% on step 0, 2.2%
         * on step 1; 2e-6 and 7e-5 with F(2x2)). */
        double dd = 0, ss = 0;
        for (int i = 0; i < mc->n_params; i++) {
            const struct ig_tensor *dc = ig_var_grad(mc->params[i].var), *dg = ig_var_grad(mg->params[i].var);
            float *a = host_copy(dc), *b = host_copy(dg);
            for (int64_t j = 0; j < ig_tensor_numel(dc); j++) {
                dd += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
                ss += (double)a[j] * a[j];
            }
            free(a), free(b);
        }
        double tol = step == 0 ? 1e-2 : 5e-2;
        ck_assert_msg(dd <= tol * tol * ss, "step %d: the gradients differ by %.3g (relative L2)", step, sqrt(dd / ss));
        pair_free(x), pair_free(y);
    }
    /* parameters: the 3-step updates agree to 10% (relative L2 of the deltas) and values closely. Adam's
     * first steps move every element by ~lr whatever the size of its gradient, so an element whose
     * gradient is within float noise of 0 may step the other way on the other backend: at most 1% of
     * the elements may leave the close tolerance, and none by more than those flipped steps. */
    for (int i = 0; i < mc->n_params; i++) {
        const struct ig_tensor *tc = ig_var_value(mc->params[i].var), *tg = ig_var_value(mg->params[i].var);
        size_t n = (size_t)ig_tensor_numel(tc), off = 0;
        float *a = host_copy(tc), *b = host_copy(tg);
        for (size_t j = 0; j < n; j++) {
            if (ig_test_close_ratio(b + j, a + j, 1, 1e-3, 2e-5) <= 1.0) continue;
            off++;
            ck_assert_msg(fabsf(a[j] - b[j]) <= 2.0f * STEPS * ap.lr + 2e-5f, "%s[%zu] after %d steps: cpu %g opencl %g",
                          mc->params[i].name, j, STEPS, (double)a[j], (double)b[j]);
        }
        ck_assert_msg(off <= n / 100, "%s after %d steps: %zu of %zu values differ", mc->params[i].name, STEPS, off, n);
        for (size_t j = 0; j < n; j++) {
            a[j] -= init[i][j];
            b[j] -= init[i][j];
        }
        double d = rel_l2(b, a, n);
        ck_assert_msg(d < 1e-1, "%s: update differs by %.3g (relative L2)", mc->params[i].name, d);
        free(a), free(b), free(init[i]);
    }
    free(init);
    for (int i = 0; i < mc->n_buffers; i++) {
        if (mc->buffers[i].is_count) continue;
        struct pair bpair = {mc->buffers[i].t, mg->buffers[i].t};
        expect_close(bpair, 1e-3, 1e-4, mc->buffers[i].name);   /* batch statistics of the parameters above */
    }
    ig_graph_free(gc), ig_graph_free(gg), ig_optim_free(oc), ig_optim_free(og), ig_model_free(mc), ig_model_free(mg);
}
END_TEST

/* ---------------------------------------------------------------- infrastructure */

static char last_log[8192];
static void capture_log(enum ig_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level == IG_LOG_ERROR) snprintf(last_log, sizeof last_log, "%s", msg);
}

START_TEST(test_build_failure)
{
    last_log[0] = '\0';
    ig_log_set_handler(capture_log, NULL);
    enum ig_status s = ig_cl_build_check(gpu, "__kernel void broken(__global float *x) { x[0] = no_such_symbol; }\n");
    ig_log_set_handler(NULL, NULL);
    ck_assert_int_eq(s, IG_ERR_BUILD);
    ck_assert_msg(strstr(ig_last_error(), "CL_BUILD_PROGRAM_FAILURE") != NULL, "error text: %s", ig_last_error());
    ck_assert_msg(strstr(last_log, "no_such_symbol") != NULL, "build log not logged: '%s'", last_log);
    ck_assert_int_eq(ig_cl_build_check(gpu, "__kernel void fine(__global float *x) { x[0] = 1.0f; }\n"), IG_OK);
}
END_TEST

START_TEST(test_error_names)
{
    ck_assert_str_eq(ig_cl_error_name(CL_INVALID_VALUE), "CL_INVALID_VALUE");
    ck_assert_str_eq(ig_cl_error_name(CL_MEM_OBJECT_ALLOCATION_FAILURE), "CL_MEM_OBJECT_ALLOCATION_FAILURE");
    ck_assert_str_eq(ig_cl_error_name(-1017), "CLBlastInvalidDimension");
    ck_assert_int_eq(ig_cl_fail(CL_INVALID_KERNEL_ARGS, "launching %s", "k"), IG_ERR_DEVICE);
    ck_assert_str_eq(ig_last_error(), "launching k: CL_INVALID_KERNEL_ARGS (-52)");
    ck_assert_int_eq(ig_cl_fail(CL_MEM_OBJECT_ALLOCATION_FAILURE, "alloc"), IG_ERR_OOM);
}
END_TEST

START_TEST(test_program_cache)
{
    struct ig_cl_info info;
    ck_assert_int_eq(ig_cl_info_get(gpu, &info), IG_OK);
    if (!info.cache_path[0]) return; /* caching switched off (IGRADV_CL_CACHE=0) */
    ck_assert_msg(access(info.cache_path, R_OK) == 0, "cache file %s missing", info.cache_path);
    /* a second context of the same device loads the binary instead of compiling */
    struct ig_backend *again = NULL;
    char spec[64];
    snprintf(spec, sizeof spec, "opencl:%d:%d", info.platform_index, info.device_index);
    ck_assert_msg(ig_backend_init(spec, &again) == IG_OK, "%s", ig_last_error());
    struct ig_cl_info info2;
    ck_assert_int_eq(ig_cl_info_get(again, &info2), IG_OK);
    ck_assert_msg(info2.program_from_cache, "second backend did not load %s", info2.cache_path);
    ck_assert_str_eq(info.cache_path, info2.cache_path);
    /* and it works: a small op through the cached program */
    int64_t s[1] = {5};
    float h[5] = {-1, 2, -3, 4, -5}, r[5];
    struct ig_tensor *x = ig_tensor_from_host(again, IG_DTYPE_F32, 1, s, h);
    ck_assert_int_eq(ig_relu_forward(x, x), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(x, r, sizeof r), IG_OK);
    ck_assert(r[0] == 0 && r[1] == 2 && r[4] == 0);
    ig_tensor_free(x);
    ig_backend_free(again);
}
END_TEST

START_TEST(test_devices_and_selection)
{
    char buf[8192];
    ck_assert_int_eq(ig_backend_list_devices(buf, sizeof buf), IG_OK);
    ck_assert_msg(strstr(buf, "opencl:0:0") != NULL, "listing: %s", buf);
    ck_assert_int_eq(ig_backend_kind(gpu), IG_BACKEND_OPENCL);
    ck_assert_msg(strncmp(ig_backend_name(gpu), "opencl:", 7) == 0, "name %s", ig_backend_name(gpu));
    struct ig_backend *be = NULL;
    ck_assert_int_eq(ig_backend_init("opencl:99:0", &be), IG_ERR_DEVICE);
    ck_assert_int_eq(ig_backend_init("opencl:x", &be), IG_ERR_INVALID_ARG);
    setenv("IGRADV_DEVICE", "opencl", 1);
    ck_assert_msg(ig_backend_init_best(&be) == IG_OK, "%s", ig_last_error());
    ck_assert_int_eq(ig_backend_kind(be), IG_BACKEND_OPENCL);
    ig_backend_free(be);
    unsetenv("IGRADV_DEVICE");
}
END_TEST

/* Every buffer handed out comes back: device memory accounting after the other tests. */
START_TEST(test_device_memory_balance)
{
    size_t in_use = 1, pooled = 0;
    long before = ig_cl_live_mems(gpu);
    int64_t s[2] = {64, 1000};
    struct ig_tensor *a = ig_tensor_new(gpu, IG_DTYPE_F32, 2, s), *b = ig_tensor_zeros(gpu, IG_DTYPE_F32, 2, s);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(ig_add(a, b, b), IG_OK);
    ig_tensor_free(a), ig_tensor_free(b);
    ig_backend_memory(gpu, &in_use, &pooled);
    ck_assert_uint_eq(in_use, 0);
    ig_backend_trim(gpu);
    ig_backend_memory(gpu, &in_use, &pooled);
    ck_assert_uint_eq(pooled, 0);
    ck_assert_int_le(ig_cl_live_mems(gpu), before);
    ck_assert_int_le(ig_cl_live_mems(gpu), 2 + IG_CL_SCRATCH_COUNT); /* dummy, label flag + scratch only */
}
END_TEST

/* Per-op times (dispatch hooks) and per-kernel device times (profiling events). */
START_TEST(test_profiling)
{
    int64_t xs[4] = {2, 3, 9, 9}, ws[4] = {4, 3, 3, 3}, ys[4] = {2, 4, 9, 9};
    struct ig_tensor *x = ig_tensor_zeros(gpu, IG_DTYPE_F32, 4, xs), *w = ig_tensor_zeros(gpu, IG_DTYPE_F32, 4, ws);
    struct ig_tensor *y = ig_tensor_new(gpu, IG_DTYPE_F32, 4, ys);
    struct ig_conv2d_params p = {1, 1, 1, 1};
    ig_backend_profile_reset(gpu);
    ig_cl_kernel_profile_reset(gpu);
    ig_backend_profile_enable(gpu, true);
    ck_assert_int_eq(ig_conv2d_forward(y, x, w, NULL, p), IG_OK);
    ck_assert_int_eq(ig_conv2d_forward(y, x, w, NULL, p), IG_OK);
    ig_backend_profile_enable(gpu, false);
    double sec[IG_OP_COUNT];
    int64_t calls[IG_OP_COUNT];
    ig_backend_profile_read(gpu, sec, calls);
    ck_assert_int_eq(calls[IG_OP_CONV2D_FWD], 2);
    ck_assert(sec[IG_OP_CONV2D_FWD] > 0);
    bool saw_im2col = false, saw_gemm = false;
    for (int i = 0; i < ig_cl_kernel_count(); i++) {
        const char *name;
        double s;
        int64_t n;
        ck_assert(ig_cl_kernel_profile(gpu, i, &name, &s, &n));
        if (!strcmp(name, "im2col")) saw_im2col = n == 2 && s > 0;
        if (!strcmp(name, "clblast_sgemm")) saw_gemm = n == 2;
    }
    ck_assert_msg(saw_im2col && saw_gemm, "kernel profile lacks im2col or clblast_sgemm");
    ck_assert(!ig_cl_kernel_profile(gpu, ig_cl_kernel_count(), NULL, NULL, NULL));
    ig_tensor_free(x), ig_tensor_free(w), ig_tensor_free(y);
}
END_TEST

/* Errors from bad calls are values on the OpenCL backend too. */
START_TEST(test_errors_are_values)
{
    int64_t s[2] = {3, 4}, t[2] = {4, 3};
    struct ig_tensor *a = ig_tensor_zeros(gpu, IG_DTYPE_F32, 2, s), *b = ig_tensor_zeros(gpu, IG_DTYPE_F32, 2, t);
    struct ig_tensor *h = ig_tensor_zeros(cpu, IG_DTYPE_F32, 2, s);
    ck_assert_int_eq(ig_add(a, a, b), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_add(a, a, h), IG_ERR_BACKEND);
    ig_tensor_free(a), ig_tensor_free(b), ig_tensor_free(h);
}
END_TEST

static Suite *opencl_suite(void)
{
    Suite *s = suite_create("opencl");
    IG_TEST_CASE(s, "ops", 600, test_gemm, test_conv2d, test_maxpool, test_relu, test_batchnorm, test_dropout,
                                test_bias_add, test_softmax_xent, test_xent_bad_label_is_an_error, test_axis_reduce,
                                test_elementwise, test_argmax_rows, test_normalize_u8, test_optimizers,
                                test_copy_fill, test_row_reductions);
    TCase *train = tcase_create("train");
    tcase_set_timeout(train, 600);
    if (!getenv("IGRADV_TEST_SKIP_TRAIN")) tcase_add_test(train, test_paper_cnn_train_steps);
    suite_add_tcase(s, train);
    IG_TEST_CASE(s, "infra", 300, test_build_failure, test_error_names, test_program_cache,
                                  test_devices_and_selection, test_errors_are_values, test_profiling,
                                  test_device_memory_balance);
    return s;
}

int main(void)
{
    char list[4096];
    if (ig_backend_list_devices(list, sizeof list) != IG_OK) {
        fprintf(stderr, "test_opencl: no OpenCL platform/device (%s), skipping\n", ig_last_error());
        return IG_TEST_SKIP;
    }
    /* IGRADV_TEST_DEVICE picks the device (e.g. opencl:1:0 on a GPU machine); default: best device */
    const char *spec = getenv("IGRADV_TEST_DEVICE");
    if (spec && *spec) gpu_spec = spec;
    if (ig_backend_init(gpu_spec, &gpu) != IG_OK) {
        fprintf(stderr, "test_opencl: no usable OpenCL device (%s), skipping\n", ig_last_error());
        return IG_TEST_SKIP;
    }
    if (ig_backend_init_cpu(&cpu, 0) != IG_OK) {
        fprintf(stderr, "test_opencl: cpu backend: %s\n", ig_last_error());
        return 1;
    }
    fprintf(stderr, "test_opencl: %s vs %s\n", ig_backend_name(gpu), ig_backend_name(cpu));
    /* one OpenCL context for all tests; no fork after OpenCL init */
    int failed = ig_test_run_nofork(opencl_suite());
    ig_backend_free(gpu);
    ig_backend_free(cpu);
    return failed;
}
#endif
