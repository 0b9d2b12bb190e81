/* Check suite for the per-sample gradient engine (vs one backward per instance) and the active-learning loop (budget, sharing, resume). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ig_al.h"
#include "ig_test_al.h"
#include "ig_nn.h"
#include "ig_test_util.h"

static struct ig_backend *be;

/* CPU by default; IG_AL_TEST_DEVICE=opencl runs the same checks on an OpenCL device. */
static void setup(void)
{
    const char *dev = getenv("IG_AL_TEST_DEVICE");
    if (dev && *dev) ck_assert_msg(ig_backend_init(dev, &be) == IG_OK, "%s", ig_last_error());
    else ck_assert_int_eq(ig_backend_init_cpu(&be, 2), IG_OK);
}
static void teardown(void) { ig_backend_free(be); }

static double dotd(const float *a, const float *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* |got - want| <= 1e-4 |want| + 1e-6 scale */
static void assert_close(double got, double want, double scale, const char *what, int n)
{
    double tol = 1e-4 * fabs(want) + 1e-6 * scale;
    ck_assert_msg(fabs(got - want) <= tol, "%s[%d]: engine %.9g, brute force %.9g (tol %.3g)", what, n, got, want, tol);
}

/* Move BN running statistics and weights away from their initial values with a few
 * training steps, so eval mode really differs from train mode. */
static void warm_up(struct ig_model *m, int64_t N, int C, int H, int W, int classes)
{
    int64_t xs[4] = {N, C, H, W}, ys[1] = {N};
    float *hx = malloc((size_t)(N * C * H * W) * sizeof *hx);
    int32_t *hy = malloc((size_t)N * sizeof *hy);
    ig_test_fill_uniform(hx, (size_t)(N * C * H * W), 99, -1, 1);
    for (int64_t i = 0; i < N; i++) hy[i] = (int32_t)(i % classes);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx);
    struct ig_tensor *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy);
    struct ig_optim *opt;
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 1e-2f;
    ck_assert_int_eq(ig_optim_adam_new(&opt, m, ap), IG_OK);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ig_model_set_train(m, true);
    for (int s = 0; s < 3; s++) ck_assert_int_eq(ig_model_train_step(m, opt, g, x, y, NULL, NULL), IG_OK);
    ig_graph_free(g);
    ig_optim_free(opt);
    ig_tensor_free(x);
    ig_tensor_free(y);
    free(hx);
    free(hy);
}

/* The engine's per-instance D·g, θ·g, ‖g‖² against one backward per instance (batch of
 * one, reduction SUM), dot products in double. Also checks the full reference and the
 * DS / LD scores against explicit vectors δ_x = g_x + wd θ. */
static void check_engine(struct ig_model *m, enum ig_al_param_set set, int64_t N, int C, int H, int W, int classes,
                         int64_t expect_params, int expect_layers)
{
    warm_up(m, 8, C, H, W, classes);
    ig_model_set_train(m, false);
    struct ig_al_engine *e;
    struct ig_al_engine_opts o = ig_al_engine_opts_default();
    o.params = set;
    ck_assert_int_eq(ig_al_engine_new_opts(&e, m, &o), IG_OK);
    ck_assert_int_eq(ig_al_engine_param_set(e), set);
    int64_t P = ig_al_engine_num_params(e);
    ck_assert_int_eq(P, expect_params);
    ck_assert_int_eq(ig_al_engine_num_layers(e), expect_layers);

    int64_t xs[4] = {N, C, H, W}, ys[1] = {N};
    size_t nx = (size_t)(N * C * H * W);
    float *hx = malloc(nx * sizeof *hx);
    int32_t *hy = malloc((size_t)N * sizeof *hy);
    ig_test_fill_uniform(hx, nx, 7, -1, 1);
    for (int64_t i = 0; i < N; i++) hy[i] = (int32_t)((i * 7 + 3) % classes);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx);
    struct ig_tensor *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy);
    ck_assert_ptr_nonnull(x);

    float *D = malloc((size_t)P * sizeof *D), *theta = malloc((size_t)P * sizeof *theta);
    float *g = malloc((size_t)(N * P) * sizeof *g), *tmp = malloc((size_t)P * sizeof *tmp);
    ig_test_fill_uniform(D, (size_t)P, 5, -0.05f, 0.05f);
    ck_assert_int_eq(ig_al_engine_theta_to_host(e, theta, P), IG_OK);

    /* brute force: g_n from the ordinary parameter gradients of a batch of one */
    for (int64_t n = 0; n < N; n++) {
        struct ig_tensor *xn = ig_tensor_slice(x, n, 1), *yn = ig_tensor_slice(y, n, 1);
        ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
        ck_assert_int_eq(ig_al_engine_ref_add_batch(e, xn, yn), IG_OK);
        ck_assert_int_eq(ig_al_engine_ref_to_host(e, g + n * P, P), IG_OK);
        ig_tensor_free(xn);
        ig_tensor_free(yn);
    }

    /* full reference over the batch: Σ g_n + N wd θ */
    const float wd = 5e-3f;
    ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_add_batch(e, x, y), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_add_theta(e, (float)N * wd), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_to_host(e, tmp, P), IG_OK);
    double worst = 0, gmax = 0;
    for (int64_t j = 0; j < P; j++) {
        double want = (double)N * wd * theta[j];
        for (int64_t n = 0; n < N; n++) want += g[n * P + j];
        if (fabs(want) > gmax) gmax = fabs(want);
        double d = fabs(tmp[j] - want);
        if (d > worst) worst = d;
    }
    ck_assert_msg(worst <= 1e-4 * gmax + 1e-7, "full reference off by %g (max %g)", worst, gmax);

    /* the engine against the brute force, with a random reference D */
    ck_assert_int_eq(ig_al_engine_ref_from_host(e, D, P), IG_OK);
    double dot[16], tdot[16], sq[16];
    ck_assert_int_lt(N, 17);
    ck_assert_int_eq(ig_al_engine_batch(e, x, y, dot, tdot, sq), IG_OK);
    double dd_norm = sqrt(dotd(D, D, P)), th_norm = sqrt(dotd(theta, theta, P));
    for (int64_t n = 0; n < N; n++) {
        const float *gn = g + n * P;
        double gsq = dotd(gn, gn, P);
        ck_assert_msg(gsq > 0, "zero gradient for instance %d", (int)n);
        assert_close(dot[n], dotd(D, gn, P), dd_norm * sqrt(gsq), "D.g", (int)n);
        assert_close(tdot[n], dotd(theta, gn, P), th_norm * sqrt(gsq), "theta.g", (int)n);
        assert_close(sq[n], gsq, gsq, "|g|^2", (int)n);
    }

    /* scores: δ = D, δ_x = g_x + wd θ, explicit cosines */
    struct ig_al_ref_stats rs;
    ck_assert_int_eq(ig_al_engine_ref_stats(e, &rs), IG_OK);
    ck_assert_double_eq_tol(rs.ref_sq, dotd(D, D, P), 1e-5 * dotd(D, D, P));
    ck_assert_double_eq_tol(rs.theta_sq, dotd(theta, theta, P), 1e-5 * dotd(theta, theta, P));
    ck_assert_double_eq_tol(rs.ref_dot_theta, dotd(D, theta, P), 1e-5 * dd_norm * th_norm);
    double dd[16], dsq[16], ds[16], ld[16];
    ig_al_instance_terms((size_t)N, dot, tdot, sq, wd, &rs, dd, dsq);
    ig_al_scores_from_dots(IG_AL_DS, (size_t)N, dd, dsq, rs.ref_sq, ds);
    ig_al_scores_from_dots(IG_AL_LD, (size_t)N, dd, dsq, rs.ref_sq, ld);
    for (int64_t n = 0; n < N; n++) {
        double a = 0, b = 0, c = 0, rest_sq = 0, rest_dot = 0;
        for (int64_t j = 0; j < P; j++) {
            double dx = g[n * P + j] + (double)wd * theta[j];
            a += D[j] * dx;
            b += dx * dx;
            c += (double)D[j] * D[j];
            double rj = D[j] - dx;
            rest_sq += rj * rj;
            rest_dot += D[j] * rj;
        }
        ck_assert_double_eq_tol(ds[n], a / sqrt(b * c), 1e-4);
        ck_assert_double_eq_tol(ld[n], 1.0 - rest_dot / sqrt(c * rest_sq), 1e-4);
    }

    /* the hook leaves no parameter gradients behind and the model still trains */
    ig_al_engine_free(e);
    ig_tensor_free(x);
    ig_tensor_free(y);
    free(hx);
    free(hy);
    free(D);
    free(theta);
    free(g);
    free(tmp);
}

/* conv 3->16 k3 (432+16), BN 16, conv 16->32 k3 (4608+32), BN 32, linear 128->64 (8192+64), linear 64->10 (640+10) */
enum { SMALL_CONV_LINEAR = 432 + 16 + 4608 + 32 + 128 * 64 + 64 + 640 + 10, SMALL_BN = 2 * 16 + 2 * 32 };

START_TEST(test_engine_small_cnn)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, 3, 8, 8, 10, 3), IG_OK);
    check_engine(m, IG_AL_PARAMS_ALL, 6, 3, 8, 8, 10, SMALL_CONV_LINEAR + SMALL_BN, 6);
    ig_model_free(m);
}
END_TEST

START_TEST(test_engine_small_cnn_conv_linear)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, 3, 8, 8, 10, 3), IG_OK);
    check_engine(m, IG_AL_PARAMS_CONV_LINEAR, 6, 3, 8, 8, 10, SMALL_CONV_LINEAR, 4);
    ig_model_free(m);
}
END_TEST

START_TEST(test_engine_mlp)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_mlp(&m, be, 3 * 4 * 4, 20, 5, 11), IG_OK);
    /* no batch norm: both sets are the same */
    check_engine(m, IG_AL_PARAMS_ALL, 7, 3, 4, 4, 5, 48 * 20 + 20 + 20 * 5 + 5, 2);
    ig_model_free(m);
}
END_TEST

static int64_t paper_conv_linear(void)
{
    int64_t convs = (3 * 32 * 9 + 32) + (32 * 64 * 9 + 64) + (64 * 128 * 9 + 128) + (128 * 128 * 9 + 128) +
                    (128 * 256 * 9 + 256) + (256 * 256 * 9 + 256);
    return convs + (1024 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 10 + 10);
}

START_TEST(test_engine_paper_cnn)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_paper_cnn(&m, be, 3, 16, 16, 10, 5), IG_OK);
    /* + BN 32, 128, 256: γ and β each; 6 convs + 3 BN + 3 linears */
    check_engine(m, IG_AL_PARAMS_ALL, 3, 3, 16, 16, 10, paper_conv_linear() + 2 * (32 + 128 + 256), 12);
    ig_model_free(m);
}
END_TEST

START_TEST(test_engine_paper_cnn_conv_linear)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_paper_cnn(&m, be, 3, 16, 16, 10, 5), IG_OK);
    check_engine(m, IG_AL_PARAMS_CONV_LINEAR, 3, 3, 16, 16, 10, paper_conv_linear(), 9);
    ig_model_free(m);
}
END_TEST

/* The generic batch-norm terms (the engine's path on other backends): x̂ from the eval kernel with
 * γ = 1, β = 0, times dy, position sums of that and of dy ([N,C] each), on the host. */
static void bn_terms_generic(const struct ig_tensor *x, const struct ig_tensor *dy, const struct ig_tensor *rm,
                             const struct ig_tensor *rv, struct ig_bn_params p, float *dg, float *db)
{
    int64_t N = x->shape[0], C = x->shape[1], HW = ig_tensor_numel(x) / (N * C), cs[1] = {C};
    struct ig_tensor *ones = ig_tensor_new(be, IG_DTYPE_F32, 1, cs), *zeros = ig_tensor_zeros(be, IG_DTYPE_F32, 1, cs);
    struct ig_tensor *xh = ig_tensor_new(be, IG_DTYPE_F32, 4, x->shape);
    ck_assert_int_eq(ig_fill(ones, 1.0f), IG_OK);
    ck_assert_int_eq(ig_batchnorm2d_forward_eval(xh, x, ones, zeros, rm, rv, p), IG_OK);
    ck_assert_int_eq(ig_mul(xh, xh, dy), IG_OK);
    float *hp = malloc((size_t)(N * C * HW) * sizeof *hp), *hd = malloc((size_t)(N * C * HW) * sizeof *hd);
    ck_assert_int_eq(ig_tensor_to_host(xh, hp, ig_tensor_nbytes(xh)), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(dy, hd, ig_tensor_nbytes(dy)), IG_OK);
    for (int64_t q = 0; q < N * C; q++) {
        double a = 0, b = 0;
        for (int64_t i = 0; i < HW; i++) a += hp[q * HW + i], b += hd[q * HW + i];
        dg[q] = (float)a;
        db[q] = (float)b;
    }
    free(hp); free(hd);
    ig_tensor_free(ones); ig_tensor_free(zeros); ig_tensor_free(xh);
}

/* ig_bn2d_persample_terms (the CPU engine's fused pass) against the generic path: planes shorter
 * and longer than a vector and than a summation block, N not a multiple of the thread count,
 * with and without β and references; bad arguments. */
START_TEST(test_bn_persample_terms_vs_generic)
{
    static const int64_t s[][4] = {{3, 5, 7, 9}, {4, 3, 1, 1}, {17, 6, 4, 4}, {2, 2, 70, 70}, {9, 37, 13, 11}};
    struct ig_bn_params p = ig_bn_params_default();
    for (int k = 0; k < 5; k++) {
        int64_t N = s[k][0], C = s[k][1], nx = N * C * s[k][2] * s[k][3], cs[1] = {C};
        float *h = malloc((size_t)nx * sizeof *h), hv[4][64];
        ig_test_fill_uniform(h, (size_t)nx, 11 + k, 1, 3);   /* x away from 0: the centring matters */
        struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, s[k], h);
        ig_test_fill_uniform(h, (size_t)nx, 21 + k, -1, 1);
        struct ig_tensor *dy = ig_tensor_from_host(be, IG_DTYPE_F32, 4, s[k], h);
        struct ig_tensor *v[4];   /* rm, rv, refw, refb */
        for (int j = 0; j < 4; j++) {
            ig_test_fill_uniform(hv[j], (size_t)C, 31 + 4 * k + j, j == 1 ? 0.5f : -1, j == 1 ? 2 : 1);
            if (j == 0) for (int64_t c = 0; c < C; c++) hv[0][c] += 2.0f;
            v[j] = ig_tensor_from_host(be, IG_DTYPE_F32, 1, cs, hv[j]);
        }
        bool bias = k % 2 == 0, refs = k != 3;
        double dot[17] = {0}, dot2[17] = {0}, sq[17] = {0}, *dots[2] = {dot, dot2};
        /* two references: (refw, refb) and (refb, refw), the second with the β term whenever the first has it */
        const struct ig_tensor *rw[2] = {v[2], v[3]}, *rb[2] = {k != 4 ? v[3] : NULL, k != 4 ? v[2] : NULL};
        enum ig_status st = ig_bn2d_persample_terms(be, x, dy, v[0], v[1], p, bias, refs ? 2 : 0, rw, rb, dots, sq);
        if (ig_backend_kind(be) != IG_BACKEND_CPU) {
            ck_assert_int_eq(st, IG_ERR_UNSUPPORTED);
        } else {
            ck_assert_msg(st == IG_OK, "%s", ig_last_error());
            float *dg = malloc((size_t)(N * C) * sizeof *dg), *db = malloc((size_t)(N * C) * sizeof *db);
            bn_terms_generic(x, dy, v[0], v[1], p, dg, db);
            for (int64_t n = 0; n < N; n++) {
                double wd = 0, wd2 = 0, wq = 0, scale = 0;
                for (int64_t c = 0; c < C; c++) {
                    double g = dg[n * C + c], b = bias ? db[n * C + c] : 0.0;
                    wq += g * g + b * b;
                    if (refs) wd += g * hv[2][c] + (k != 4 ? b * hv[3][c] : 0.0);
                    if (refs) wd2 += g * hv[3][c] + (k != 4 ? b * hv[2][c] : 0.0);
                    scale += fabs(g) + fabs(b);
                }
                assert_close(sq[n], wq, wq, "bn |g|^2", (int)n);
                assert_close(dot[n], wd, scale, "bn D.g", (int)n);
                assert_close(dot2[n], wd2, scale, "bn D2.g", (int)n);
            }
            free(dg); free(db);
        }
        free(h);
        ig_tensor_free(x); ig_tensor_free(dy);
        for (int j = 0; j < 4; j++) ig_tensor_free(v[j]);
    }
}
END_TEST

/* ig_conv2d_persample_terms without references on shapes where it takes the ghost norm (P (K + O) <
 * K O): stride 1 through the Gram of the input pixels (3x3 with padding 0, 1 and 2, so planes
 * smaller, equal and larger than the input; non-square planes; 1x1; a 5x3 kernel with unequal
 * padding), stride 2 through im2col; with and without bias; against one backward-weight and
 * backward-bias per instance. */
START_TEST(test_conv_persample_ghost_vs_generic)
{
    if (ig_backend_kind(be) != IG_BACKEND_CPU) return;   /* the CPU path */
    static const struct { int64_t N, C, O, H, W, KH, KW; int sh, ph, pw; } cs[] = {
        {3, 48, 40, 5, 5, 3, 3, 1, 1, 1}, {2, 64, 32, 7, 6, 3, 3, 1, 0, 0}, {3, 64, 64, 4, 5, 3, 3, 1, 2, 2},
        {5, 64, 64, 4, 4, 1, 1, 1, 0, 0}, {2, 32, 48, 6, 5, 5, 3, 1, 2, 1}, {3, 64, 64, 8, 8, 3, 3, 2, 1, 1},
    };
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        int64_t N = cs[k].N, C = cs[k].C, O = cs[k].O;
        struct ig_conv2d_params p = {cs[k].sh, cs[k].sh, cs[k].ph, cs[k].pw};
        int64_t Ho = ig_conv_out_size(cs[k].H, cs[k].KH, cs[k].sh, cs[k].ph);
        int64_t Wo = ig_conv_out_size(cs[k].W, cs[k].KW, cs[k].sh, cs[k].pw);
        int64_t xs[4] = {N, C, cs[k].H, cs[k].W}, ds[4] = {N, O, Ho, Wo}, ws[4] = {O, C, cs[k].KH, cs[k].KW};
        int64_t nx = N * C * cs[k].H * cs[k].W, nd = N * O * Ho * Wo, nw = O * C * cs[k].KH * cs[k].KW;
        float *hx = malloc((size_t)nx * sizeof *hx), *hd = malloc((size_t)nd * sizeof *hd);
        ig_test_fill_uniform(hx, (size_t)nx, 41 + k, -1, 1);
        ig_test_fill_uniform(hd, (size_t)nd, 51 + k, -1, 1);
        struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx), *dy = ig_tensor_from_host(be, IG_DTYPE_F32, 4, ds, hd);
        struct ig_tensor *w = ig_tensor_zeros(be, IG_DTYPE_F32, 4, ws), *dw = ig_tensor_new(be, IG_DTYPE_F32, 4, ws);
        struct ig_tensor *db = ig_tensor_new(be, IG_DTYPE_F32, 1, &O);
        ck_assert_msg(ig_conv2d_persample_uses_ghost(w, p, Ho, Wo), "case %zu does not take the ghost norm", k);
        bool bias = k % 2 == 0;
        double sq[8] = {0};
        ck_assert_int_eq(ig_conv2d_persample_terms(be, x, dy, w, p, bias, 0, NULL, NULL, NULL, sq), IG_OK);
        float *g = malloc((size_t)nw * sizeof *g), gb[64];
        for (int64_t n = 0; n < N; n++) {
            struct ig_tensor *xn = ig_tensor_slice(x, n, 1), *dn = ig_tensor_slice(dy, n, 1);
            ck_assert_int_eq(ig_conv2d_backward_weight(dw, dn, xn, p), IG_OK);
            ck_assert_int_eq(ig_conv2d_backward_bias(db, dn), IG_OK);
            ck_assert_int_eq(ig_tensor_to_host(dw, g, (size_t)nw * sizeof *g), IG_OK);
            ck_assert_int_eq(ig_tensor_to_host(db, gb, (size_t)O * sizeof *gb), IG_OK);
            double want = dotd(g, g, nw) + (bias ? dotd(gb, gb, O) : 0.0);
            assert_close(sq[n], want, want, "conv ghost |g|^2", (int)(k * 10 + (size_t)n));
            ig_tensor_free(xn);
            ig_tensor_free(dn);
        }
        free(g); free(hx); free(hd);
        ig_tensor_free(x); ig_tensor_free(dy); ig_tensor_free(w); ig_tensor_free(dw); ig_tensor_free(db);
    }
}
END_TEST

START_TEST(test_bn_persample_terms_bad_args)
{
    if (ig_backend_kind(be) != IG_BACKEND_CPU) return;   /* UNSUPPORTED first: test_bn_persample_terms_vs_generic */
    int64_t xs[4] = {2, 3, 4, 4}, ds[4] = {2, 3, 4, 5}, c3[1] = {3}, c4[1] = {4};
    struct ig_tensor *x = ig_tensor_zeros(be, IG_DTYPE_F32, 4, xs), *dy = ig_tensor_zeros(be, IG_DTYPE_F32, 4, ds);
    struct ig_tensor *v3 = ig_tensor_zeros(be, IG_DTYPE_F32, 1, c3), *v4 = ig_tensor_zeros(be, IG_DTYPE_F32, 1, c4);
    struct ig_bn_params p = ig_bn_params_default();
    double d[2], q[2], *dd[1] = {d}, *dnull[1] = {NULL};
    const struct ig_tensor *r3[1] = {v3}, *r4[1] = {v4}, *rnull[1] = {NULL};
    ck_assert_int_eq(ig_bn2d_persample_terms(be, x, NULL, v3, v3, p, true, 0, NULL, NULL, NULL, q), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_bn2d_persample_terms(be, x, x, v3, v3, p, true, 1, r3, rnull, dnull, q), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_bn2d_persample_terms(be, x, x, v3, v3, p, true, 3, r3, r3, dd, q), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_bn2d_persample_terms(be, x, x, v3, v3, p, true, 1, rnull, rnull, dd, q), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_bn2d_persample_terms(be, x, dy, v3, v3, p, true, 0, NULL, NULL, NULL, q), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_bn2d_persample_terms(be, x, x, v4, v3, p, true, 0, NULL, NULL, NULL, q), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_bn2d_persample_terms(be, x, x, v3, v3, p, true, 1, r3, r4, dd, q), IG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "[3]"));
    ig_tensor_free(x); ig_tensor_free(dy); ig_tensor_free(v3); ig_tensor_free(v4);
}
END_TEST

/* EGL's per-class squared norms against one backward per class per instance (batch of one,
 * label c), for both parameter sets. The small CNN at 8x8 has a 4x4 second conv, where the
 * CPU path takes the ghost norm (P (K + O) < K O), and a first conv where it does not. */
static void check_class_sq(enum ig_al_param_set set)
{
    enum { N = 4, NC = 4 };
    struct ig_model *m;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, 3, 8, 8, NC, 13), IG_OK);
    warm_up(m, 8, 3, 8, 8, NC);
    ig_model_set_train(m, false);
    struct ig_al_engine *e;
    struct ig_al_engine_opts o = {.params = set};
    ck_assert_int_eq(ig_al_engine_new_opts(&e, m, &o), IG_OK);
    int64_t P = ig_al_engine_num_params(e), xs[4] = {N, 3, 8, 8}, one = 1;
    float hx[N * 3 * 8 * 8];
    ig_test_fill_uniform(hx, N * 3 * 8 * 8, 31, -1, 1);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx);
    double sq[N * NC];
    ck_assert_int_eq(ig_al_engine_class_sq(e, x, NC, sq), IG_OK);
    float *g = malloc((size_t)P * sizeof *g);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < NC; c++) {
            int32_t lab = c;
            struct ig_tensor *xn = ig_tensor_slice(x, n, 1), *yn = ig_tensor_from_host(be, IG_DTYPE_I32, 1, &one, &lab);
            ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
            ck_assert_int_eq(ig_al_engine_ref_add_batch(e, xn, yn), IG_OK);
            ck_assert_int_eq(ig_al_engine_ref_to_host(e, g, P), IG_OK);
            double want = dotd(g, g, P);
            ck_assert_msg(want > 0, "zero gradient");
            assert_close(sq[n * NC + c], want, want, "class |g|^2", n * NC + c);
            ig_tensor_free(xn);
            ig_tensor_free(yn);
        }
    /* the model has NC classes: any other count is refused */
    ck_assert_int_eq(ig_al_engine_class_sq(e, x, NC + 1, sq), IG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "n_classes"));
    ck_assert_int_eq(ig_al_engine_class_sq(e, x, 0, sq), IG_ERR_INVALID_ARG);
    free(g);
    ig_tensor_free(x);
    ig_al_engine_free(e);
    ig_model_free(m);
}

START_TEST(test_engine_class_sq_all) { check_class_sq(IG_AL_PARAMS_ALL); } END_TEST
START_TEST(test_engine_class_sq_conv_linear) { check_class_sq(IG_AL_PARAMS_CONV_LINEAR); } END_TEST

/* ref_add_batch_scaled(alpha) adds alpha times what ref_add_batch adds (the full:N estimate). */
START_TEST(test_engine_ref_scaled)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, 3, 6, 6, 3, 4), IG_OK);
    ig_model_set_train(m, false);
    struct ig_al_engine *e;
    ck_assert_int_eq(ig_al_engine_new(&e, m), IG_OK);
    int64_t P = ig_al_engine_num_params(e), xs[4] = {5, 3, 6, 6}, ys[1] = {5};
    float hx[5 * 3 * 6 * 6];
    int32_t hy[5] = {0, 1, 2, 0, 1};
    ig_test_fill_uniform(hx, 5 * 3 * 6 * 6, 41, -1, 1);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx), *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy);
    float *a = malloc((size_t)P * sizeof *a), *b = malloc((size_t)P * sizeof *b);
    ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_add_batch(e, x, y), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_to_host(e, a, P), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_add_batch_scaled(e, x, y, 2.5f), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_to_host(e, b, P), IG_OK);
    for (int64_t i = 0; i < P; i++) a[i] *= 2.5f;
    ck_assert_double_le(ig_test_close_ratio(b, a, (size_t)P, 1e-5, 1e-7), 1.0);
    free(a);
    free(b);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_al_engine_free(e);
    ig_model_free(m);
}
END_TEST

/* The `running` reference: D += B (mean minibatch gradient + wd θ) after each training
 * step equals the full reference Σ ∇L_x + n wd θ when θ does not move (lr ~ 0) and
 * train mode equals eval mode (an MLP: no batch norm, no dropout). */
START_TEST(test_running_reference_matches_full_at_fixed_theta)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_mlp(&m, be, 12, 9, 4, 2), IG_OK);
    struct ig_al_engine *e;
    ck_assert_int_eq(ig_al_engine_new(&e, m), IG_OK);
    int64_t P = ig_al_engine_num_params(e);
    enum { N = 10, B = 4 };
    int64_t xs[4] = {N, 3, 2, 2}, ys[1] = {N};
    float hx[N * 12];
    int32_t hy[N];
    ig_test_fill_uniform(hx, N * 12, 17, -1, 1);
    for (int i = 0; i < N; i++) hy[i] = i % 4;
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx);
    struct ig_tensor *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy);
    const float wd = 0.01f;
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 1e-20f;
    ap.weight_decay = wd;
    struct ig_optim *opt;
    struct ig_graph *g;
    ck_assert_int_eq(ig_optim_adam_new(&opt, m, ap), IG_OK);
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
    for (int i = 0; i < N; i += B) {
        int nb = N - i < B ? N - i : B;
        struct ig_tensor *xb = ig_tensor_slice(x, i, nb), *yb = ig_tensor_slice(y, i, nb);
        ck_assert_int_eq(ig_model_train_step(m, opt, g, xb, yb, NULL, NULL), IG_OK);
        ck_assert_int_eq(ig_al_engine_ref_add_param_grads(e, (float)nb), IG_OK);
        ck_assert_int_eq(ig_al_engine_ref_add_theta(e, (float)nb * wd), IG_OK);
        ig_tensor_free(xb);
        ig_tensor_free(yb);
    }
    float *run = malloc((size_t)P * sizeof *run), *full = malloc((size_t)P * sizeof *full);
    ck_assert_int_eq(ig_al_engine_ref_to_host(e, run, P), IG_OK);
    ig_model_set_train(m, false);
    ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_add_batch(e, x, y), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_add_theta(e, (float)N * wd), IG_OK);
    ck_assert_int_eq(ig_al_engine_ref_to_host(e, full, P), IG_OK);
    ck_assert_double_le(ig_test_close_ratio(run, full, (size_t)P, 1e-4, 1e-6), 1.0);
    free(run);
    free(full);
    ig_graph_free(g);
    ig_optim_free(opt);
    ig_al_engine_free(e);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_model_free(m);
}
END_TEST

START_TEST(test_engine_bad_args)
{
    struct ig_al_engine *e = NULL;
    ck_assert_int_eq(ig_al_engine_new(&e, NULL), IG_ERR_INVALID_ARG);
    struct ig_model *m;
    ck_assert_int_eq(ig_model_mlp(&m, be, 4, 3, 2, 1), IG_OK);
    ck_assert_int_eq(ig_al_engine_new(&e, m), IG_OK);
    float v[3];
    ck_assert_int_eq(ig_al_engine_ref_to_host(e, v, 3), IG_ERR_SHAPE);
    ig_al_engine_free(e);
    ig_model_free(m);
    /* the parameter set: names, and an out-of-range value */
    enum ig_al_param_set ps = IG_AL_PARAMS_ALL;
    ck_assert_int_eq(ig_al_param_set_parse("Conv-Linear", &ps), 1);
    ck_assert_int_eq(ps, IG_AL_PARAMS_CONV_LINEAR);
    ck_assert_str_eq(ig_al_param_set_name(IG_AL_PARAMS_ALL), "all");
    ck_assert_int_eq(ig_al_param_set_parse("bn", &ps), 0);
    ck_assert_int_eq(ig_al_param_set_parse(NULL, &ps), 0);
    ck_assert_int_eq(ig_model_small_cnn(&m, be, 3, 6, 6, 3, 4), IG_OK);
    struct ig_al_engine_opts o = {.params = (enum ig_al_param_set)7};
    ck_assert_int_eq(ig_al_engine_new_opts(&e, m, &o), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "parameter set"));
    /* batch norm in train mode couples the instances: refused with ALL */
    ck_assert_int_eq(ig_al_engine_new(&e, m), IG_OK);
    int64_t xs[4] = {2, 3, 6, 6}, ys[1] = {2};
    float hx[2 * 3 * 6 * 6] = {0};
    int32_t hy[2] = {0, 1};
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx), *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy);
    double d[2], q[2], cq[6];
    ig_model_set_train(m, true);
    ck_assert_int_eq(ig_al_engine_batch(e, x, y, d, NULL, q), IG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "eval mode"));
    ck_assert_int_eq(ig_al_engine_class_sq(e, x, 3, cq), IG_ERR_STATE);
    ck_assert_int_eq(ig_al_engine_class_sq(e, x, 3, NULL), IG_ERR_INVALID_ARG);
    ig_model_set_train(m, false);
    ck_assert_int_eq(ig_al_engine_batch(e, x, y, d, NULL, q), IG_OK);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_al_engine_free(e);
    ig_model_free(m);
}
END_TEST

/* ---------------------------------------------------------------- loop */

enum { NTR = 240, NTE = 80, CH = 3, HH = 6, WW = 6, NCL = 3 };
static uint8_t tr_img[NTR * CH * HH * WW], te_img[NTE * CH * HH * WW];
static int32_t tr_lab[NTR], te_lab[NTE];

/* Class c brightens channel c; noise elsewhere. Learnable but not trivially. */
static void make_data(uint8_t *img, int32_t *lab, int n, uint64_t seed)
{
    ig_test_class_images(img, lab, n, CH, HH * WW, NCL, seed);
}

static struct ig_dataset tr_data(void)
{
    return (struct ig_dataset){.n = NTR, .channels = CH, .height = HH, .width = WW, .images = tr_img, .labels = tr_lab, .num_classes = NCL};
}
static struct ig_dataset te_data(void)
{
    return (struct ig_dataset){.n = NTE, .channels = CH, .height = HH, .width = WW, .images = te_img, .labels = te_lab, .num_classes = NCL};
}

/* The loop tests' training (seed 1) and test (seed 2) sets */
static void loop_data(struct ig_dataset *tr, struct ig_dataset *te)
{
    make_data(tr_img, tr_lab, NTR, 1);
    make_data(te_img, te_lab, NTE, 2);
    *tr = tr_data();
    *te = te_data();
}

static struct ig_al_params loop_params(enum ig_al_method method) { return ig_test_al_params(method, 2); }

static struct ig_model *new_model(void)
{
    struct ig_model *m = NULL;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, CH, HH, WW, NCL, 21), IG_OK);
    return m;
}

static char tmpdir[256];
static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/igal_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}
static void rm_tmpdir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_loop_methods_budget_and_sharing)
{
    struct ig_dataset tr, te;
    loop_data(&tr, &te);
    int64_t li[NTR], ui[NTR], nli, nui;
    ck_assert_int_eq(ig_al_split(NTR, 0.5, 3, li, &nli, ui, &nui), IG_OK);
    ck_assert_int_eq(nli, 120);
    ck_assert_int_eq(nui, 120);
    make_tmpdir();
    char init[400];
    snprintf(init, sizeof init, "%s/init.safetensors", tmpdir);
    double a0_first = -1;
    for (int meth = 0; meth < IG_AL_METHOD_COUNT; meth++) {
        struct ig_al_params p = loop_params((enum ig_al_method)meth);
        p.init_path = init;
        if (meth == IG_AL_METHOD_LD) p.reference = IG_AL_REF_NLI;
        struct ig_model *m = new_model();
        struct ig_al_result res;
        if (meth == IG_AL_METHOD_DS) {   /* the removed running reference is refused, with the reason */
            p.reference = IG_AL_REF_RUNNING;
            ck_assert_int_eq(ig_al_run(&res, m, &tr, &te, li, nli, ui, nui, &p), IG_ERR_INVALID_ARG);
            ck_assert_ptr_nonnull(strstr(ig_last_error(), "stale"));
            p.reference = IG_AL_REF_FULL;
        }
        enum ig_status s = ig_al_run(&res, m, &tr, &te, li, nli, ui, nui, &p);
        ck_assert_msg(s == IG_OK, "%s: %s", ig_al_method_name((enum ig_al_method)meth), ig_last_error());
        /* budget: k at line 2 plus k per AL epoch, all distinct, none from the original LI twice */
        ck_assert_int_eq(res.n_labeled, nli + p.k * (p.al_epochs + 1));
        char seen[NTR] = {0};
        for (int64_t i = 0; i < res.n_labeled; i++) {
            ck_assert_int_eq(seen[res.labeled[i]], 0);
            seen[res.labeled[i]] = 1;
        }
        for (int64_t i = 0; i < nli; i++) ck_assert_int_eq(res.labeled[i], li[i]);
        /* line 1 is shared: the same A(0) for every method */
        if (a0_first < 0) a0_first = res.a0;
        ck_assert_double_eq(res.a0, a0_first);
        ck_assert(res.a >= 0 && res.a <= 1);
        for (int i = 0; i < p.al_epochs; i++) {
            ck_assert(res.epochs[i].train_s > 0);
            if (meth <= IG_AL_METHOD_RLD) ck_assert(isfinite(res.epochs[i].score_mean));
            else ck_assert(isnan(res.epochs[i].score_mean));
        }
        ig_al_result_free(&res);
        ig_model_free(m);
    }
    ck_assert(a0_first > 0.5);   /* the line-1 model learned the brightness classes */
    rm_tmpdir();
}
END_TEST

static int stop_after_first(const struct ig_al_progress *ev, void *user)
{
    (void)user;
    return !strcmp(ev->stage, "select") && ev->al_epoch == 1;
}

START_TEST(test_loop_resume_equals_uninterrupted)
{
    struct ig_dataset tr, te;
    loop_data(&tr, &te);
    int64_t li[NTR], ui[NTR], nli, nui;
    ck_assert_int_eq(ig_al_split(NTR, 0.5, 4, li, &nli, ui, &nui), IG_OK);
    make_tmpdir();
    char d1[400], d2[400];
    snprintf(d1, sizeof d1, "%s/a", tmpdir);
    snprintf(d2, sizeof d2, "%s/b", tmpdir);
    ck_assert_int_eq(mkdir(d1, 0755), 0);
    ck_assert_int_eq(mkdir(d2, 0755), 0);

    struct ig_al_params p = loop_params(IG_AL_METHOD_RLD);
    p.checkpoint_dir = d1;
    struct ig_model *m = new_model();
    struct ig_al_result full;
    ck_assert_msg(ig_al_run(&full, m, &tr, &te, li, nli, ui, nui, &p) == IG_OK, "%s", ig_last_error());
    ig_model_free(m);

    p.checkpoint_dir = d2;
    p.progress = stop_after_first;
    m = new_model();
    struct ig_al_result part;
    ck_assert_int_eq(ig_al_run(&part, m, &tr, &te, li, nli, ui, nui, &p), IG_ERR_STATE);
    ig_model_free(m);

    p.progress = NULL;
    p.resume = true;
    m = new_model();
    struct ig_al_result res;
    ck_assert_msg(ig_al_run(&res, m, &tr, &te, li, nli, ui, nui, &p) == IG_OK, "%s", ig_last_error());
    ck_assert(res.resumed);
    ck_assert_int_eq(res.n_labeled, full.n_labeled);
    for (int64_t i = 0; i < res.n_labeled; i++) ck_assert_int_eq(res.labeled[i], full.labeled[i]);
    ck_assert_double_eq(res.a0, full.a0);
    ck_assert_double_eq_tol(res.a, full.a, 1e-12);
    ig_model_free(m);
    ig_al_result_free(&res);

    /* a finished run resumes to its stored result without training */
    m = new_model();
    ck_assert_msg(ig_al_run(&res, m, &tr, &te, li, nli, ui, nui, &p) == IG_OK, "%s", ig_last_error());
    ck_assert_double_eq_tol(res.a, full.a, 1e-12);
    ck_assert_int_eq(res.n_labeled, full.n_labeled);
    ig_al_result_free(&res);
    ig_model_free(m);

    /* a checkpoint of another run is refused */
    p.k = 11;
    m = new_model();
    ck_assert_int_eq(ig_al_run(&res, m, &tr, &te, li, nli, ui, nui, &p), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "differing: k (stored 12, now 11)") != NULL, "%s", ig_last_error());
    ig_model_free(m);
    ig_al_result_free(&full);
    rm_tmpdir();
}
END_TEST

/* The scores of the first scoring step (AL 1, training epoch 1). */
struct first_scores { double v[NTR]; int64_t n; };
static int keep_first_scores(const struct ig_al_progress *ev, void *user)
{
    struct first_scores *f = user;
    if (!strcmp(ev->stage, "score") && ev->al_epoch == 1 && ev->train_epoch == 1 && ev->scores) {
        f->n = ev->n_scores;
        memcpy(f->v, ev->scores, (size_t)ev->n_scores * sizeof *f->v);
    }
    return 0;
}

static void run_ds(struct ig_al_params *p, struct first_scores *f, struct ig_al_result *res)
{
    struct ig_dataset tr = tr_data(), te = te_data();
    int64_t li[NTR], ui[NTR], nli, nui;
    ck_assert_int_eq(ig_al_split(NTR, 0.5, 5, li, &nli, ui, &nui), IG_OK);
    p->progress = keep_first_scores;
    p->progress_user = f;
    struct ig_model *m = new_model();
    ck_assert_msg(ig_al_run(res, m, &tr, &te, li, nli, ui, nui, p) == IG_OK, "%s", ig_last_error());
    ig_model_free(m);
}

/* --reference full:N: N >= |LI ∪ NLI| is the exact reference; a smaller N is an estimate whose
 * scores differ from the exact ones but rank the instances alike (same θ at the first scoring). */
START_TEST(test_loop_reference_subset)
{
    make_data(tr_img, tr_lab, NTR, 1);
    make_data(te_img, te_lab, NTE, 2);
    static struct first_scores exact, big, sub;
    struct ig_al_result r_exact, r_big, r_sub;
    struct ig_al_params p = loop_params(IG_AL_METHOD_DS);
    run_ds(&p, &exact, &r_exact);
    p.reference_subset = NTR;   /* >= every |LI ∪ NLI| of the run */
    run_ds(&p, &big, &r_big);
    ck_assert_int_eq(r_big.n_labeled, r_exact.n_labeled);
    for (int64_t i = 0; i < r_exact.n_labeled; i++) ck_assert_int_eq(r_big.labeled[i], r_exact.labeled[i]);
    ck_assert_double_eq(r_big.a, r_exact.a);
    p.reference_subset = 40;    /* of |LI ∪ NLI| = 132 at AL epoch 1 */
    run_ds(&p, &sub, &r_sub);
    ck_assert_int_eq(r_sub.n_labeled, r_exact.n_labeled);
    ck_assert_int_eq(exact.n, p.k);
    ck_assert_int_eq(sub.n, p.k);
    double max_diff = 0;
    for (int64_t i = 0; i < exact.n; i++) max_diff = fmax(max_diff, fabs(sub.v[i] - exact.v[i]));
    ck_assert_msg(max_diff > 1e-6, "the subset estimate gave the exact scores");
    double rho = ig_al_spearman(sub.v, exact.v, (size_t)exact.n);
    ck_assert_msg(rho > 0.6, "Spearman(full:40, full) = %g", rho);
    ig_al_result_free(&r_exact);
    ig_al_result_free(&r_big);
    ig_al_result_free(&r_sub);
}
END_TEST

START_TEST(test_loop_bad_params)
{
    struct ig_dataset tr = tr_data(), te = te_data();
    int64_t li[4] = {0, 1, 2, 3}, ui[4] = {4, 5, 6, 7};
    struct ig_al_params p = loop_params(IG_AL_METHOD_DS);
    struct ig_model *m = new_model();
    struct ig_al_result res;
    ck_assert_int_eq(ig_al_run(&res, m, &tr, &te, li, 4, ui, 4, &p), IG_ERR_INVALID_ARG);  /* budget > pool */
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "budget"));
    p.k = 1;
    ui[0] = NTR + 5;
    ck_assert_int_eq(ig_al_run(&res, m, &tr, &te, li, 4, ui, 4, &p), IG_ERR_INVALID_ARG);
    ui[0] = 4;
    p.reference_subset = -1;
    ck_assert_int_eq(ig_al_run(&res, m, &tr, &te, li, 4, ui, 4, &p), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "reference_subset"));
    p.reference_subset = 10;
    p.reference = IG_AL_REF_NLI;   /* a subset estimates the full reference only */
    ck_assert_int_eq(ig_al_run(&res, m, &tr, &te, li, 4, ui, 4, &p), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "reference_subset"));
    ig_model_free(m);
    int64_t a[4], b[4], na, nb;
    ck_assert_int_eq(ig_al_split(4, 1.5, 1, a, &na, b, &nb), IG_ERR_INVALID_ARG);
}
END_TEST

int main(void)
{
    const char *dev = getenv("IG_AL_TEST_DEVICE");
    if (dev && *dev) {   /* the OpenCL run is skipped (77) where the machine has no such device */
        struct ig_backend *probe;
        if (ig_backend_init(dev, &probe) != IG_OK) {
            fprintf(stderr, "test_al_engine: %s: %s, skipping\n", dev, ig_last_error());
            return IG_TEST_SKIP;
        }
        ig_backend_free(probe);
    }
    Suite *s = suite_create("al_engine");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_engine_small_cnn);
    tcase_add_test(tc, test_engine_small_cnn_conv_linear);
    tcase_add_test(tc, test_engine_mlp);
    tcase_add_test(tc, test_engine_paper_cnn);
    tcase_add_test(tc, test_engine_paper_cnn_conv_linear);
    tcase_add_test(tc, test_engine_class_sq_all);
    tcase_add_test(tc, test_engine_class_sq_conv_linear);
    tcase_add_test(tc, test_engine_ref_scaled);
    tcase_add_test(tc, test_running_reference_matches_full_at_fixed_theta);
    tcase_add_test(tc, test_engine_bad_args);
    tcase_add_test(tc, test_bn_persample_terms_vs_generic);
    tcase_add_test(tc, test_bn_persample_terms_bad_args);
    tcase_add_test(tc, test_conv_persample_ghost_vs_generic);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("loop");
    tcase_add_checked_fixture(tl, setup, teardown);
    tcase_set_timeout(tl, 240);
    tcase_add_test(tl, test_loop_methods_budget_and_sharing);
    tcase_add_test(tl, test_loop_resume_equals_uninterrupted);
    tcase_add_test(tl, test_loop_bad_params);
    tcase_add_test(tl, test_loop_reference_subset);
    suite_add_tcase(s, tl);
    return ig_test_run(s);
}
