/* Check suite for the active-learning module: scores against explicit vector math, binning, LCS, top-k. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ig_al.h"
#include "ig_test_util.h"

static double dotv(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* LD/DS from explicit gradient vectors must equal the closed form from dot products. */
START_TEST(test_scores_match_explicit_vectors)
{
    enum { K = 7, D = 13 };
    float g[K][D];
    ig_test_fill_uniform(&g[0][0], K * D, 11, -1, 1);
    double gx[K][D], delta[D] = {0};
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++) {
            gx[i][j] = g[i][j];
            delta[j] += gx[i][j];
        }
    double dots[K], sq[K], ds[K], ld[K];
    for (int i = 0; i < K; i++) {
        dots[i] = dotv(delta, gx[i], D);
        sq[i] = dotv(gx[i], gx[i], D);
    }
    double dsq = dotv(delta, delta, D);
    ig_al_scores_from_dots(IG_AL_DS, K, dots, sq, dsq, ds);
    ig_al_scores_from_dots(IG_AL_LD, K, dots, sq, dsq, ld);
    for (int i = 0; i < K; i++) {
        double rest[D];
        for (int j = 0; j < D; j++) rest[j] = delta[j] - gx[i][j];
        double cos_ds = dots[i] / sqrt(dsq * sq[i]);
        double cos_ld = dotv(delta, rest, D) / sqrt(dsq * dotv(rest, rest, D));
        ck_assert_double_eq_tol(ds[i], cos_ds, 1e-12);
        ck_assert_double_eq_tol(ld[i], 1.0 - cos_ld, 1e-12);
        ck_assert(ds[i] >= -1.0 && ds[i] <= 1.0);
    }
}
END_TEST

START_TEST(test_degenerate_norms)
{
    double dot[2] = {0, 4}, sq[2] = {0, 4}, out[2];
    ig_al_scores_from_dots(IG_AL_DS, 2, dot, sq, 4.0, out);
    ck_assert_double_eq(out[0], 0.0);      /* zero gradient: cosine 0, not NaN */
    ck_assert_double_eq_tol(out[1], 1.0, 1e-12);
    ig_al_scores_from_dots(IG_AL_LD, 2, dot, sq, 4.0, out);
    ck_assert_double_eq_tol(out[0], 0.0, 1e-12);  /* removing nothing leaves δ: distance 0 */
    ck_assert_double_eq(out[1], 1.0);      /* δ - δ_x = 0: cosine 0, distance 1 */
}
END_TEST

START_TEST(test_quantile_like_numpy)
{
    /* numpy.quantile([3,1,4,1,5,9,2,6], [0.25, 0.75]) = [1.75, 5.25] */
    double x[8] = {3, 1, 4, 1, 5, 9, 2, 6}, w[8];
    ck_assert_double_eq_tol(ig_al_quantile(x, 8, 0.25, w), 1.75, 1e-12);
    ck_assert_double_eq_tol(ig_al_quantile(x, 8, 0.75, w), 5.25, 1e-12);
    ck_assert_double_eq_tol(ig_al_quantile(x, 8, 1.0, w), 9.0, 1e-12);
    ck_assert_double_eq_tol(ig_al_quantile(x, 1, 0.5, w), 3.0, 1e-12);
    double bins[8];
    ck_assert_int_eq(ig_al_rank_bin(x, 8, bins), IG_OK);
    const double want[8] = {0.5, 0, 0.5, 0, 0.5, 1, 0.5, 1};
    for (int i = 0; i < 8; i++) ck_assert_double_eq(bins[i], want[i]);
    /* all equal: Q1 == Q3, every score >= Q3 -> 1 */
    double same[3] = {2, 2, 2};
    ck_assert_int_eq(ig_al_rank_bin(same, 3, same), IG_OK);
    ck_assert_double_eq(same[1], 1.0);
    ck_assert_int_eq(ig_al_rank_bin(NULL, 3, same), IG_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_lcs_and_topk)
{
    const float p[3 * 4] = {0.25f, 0.25f, 0.25f, 0.25f, 1, 0, 0, 0, 0.7f, 0.1f, 0.1f, 0.1f};
    double phi[3];
    ck_assert_int_eq(ig_al_lcs_scores(p, 3, 4, phi), IG_OK);
    ck_assert_double_eq_tol(phi[0], 1.0, 1e-7);
    ck_assert_double_eq_tol(phi[1], 0.0, 1e-7);
    ck_assert_double_eq_tol(phi[2], 0.3 * 4 / 3, 1e-6);
    ck_assert_int_eq(ig_al_lcs_scores(p, 3, 1, phi), IG_ERR_INVALID_ARG);

    double s[6] = {0.5, NAN, 2.0, 0.5, -1.0, 2.0};
    size_t idx[4];
    ck_assert_int_eq(ig_al_topk(s, 6, 4, idx), IG_OK);
    ck_assert_uint_eq(idx[0], 2);
    ck_assert_uint_eq(idx[1], 5);
    ck_assert_uint_eq(idx[2], 0);
    ck_assert_uint_eq(idx[3], 3);
    ck_assert_int_eq(ig_al_topk(s, 6, 7, idx), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "exceeds"));
}
END_TEST

START_TEST(test_spearman_and_names)
{
    double a[5] = {1, 2, 3, 4, 5}, b[5] = {10, 20, 30, 40, 50}, c[5] = {5, 4, 3, 2, 1};
    ck_assert_double_eq_tol(ig_al_spearman(a, b, 5), 1.0, 1e-12);
    ck_assert_double_eq_tol(ig_al_spearman(a, c, 5), -1.0, 1e-12);
    enum ig_al_score k;
    ck_assert_int_eq(ig_al_score_parse("rld", &k), 1);
    ck_assert_int_eq(k, IG_AL_RLD);
    ck_assert_int_eq(ig_al_score_parse("LDX", &k), 0);
    ck_assert_str_eq(ig_al_score_name(IG_AL_RDS), "RDS");
}
END_TEST

START_TEST(test_method_names_and_split)
{
    enum ig_al_method m;
    ck_assert_int_eq(ig_al_method_parse("LCS", &m), 1);
    ck_assert_int_eq(m, IG_AL_METHOD_LCS);
    ck_assert_int_eq(ig_al_method_parse("dss", &m), 0);
    ck_assert_str_eq(ig_al_method_name(IG_AL_METHOD_RLD), "rld");
    enum ig_al_reference r;
    ck_assert_int_eq(ig_al_reference_parse("running", &r), 1);
    ck_assert_int_eq(r, IG_AL_REF_RUNNING);
    ck_assert_int_eq(ig_al_reference_parse("partial", &r), 0);
    struct ig_al_params p = ig_al_params_default();
    ck_assert_int_eq(p.k, 500);
    ck_assert_int_eq(p.batch_size, 32);
    ck_assert_int_eq(p.gbr_estimators, 200);
    ck_assert_int_eq(p.rf_max_depth, 5);
    ck_assert_float_eq(p.lr, 1e-4f);
    ck_assert_float_eq(p.weight_decay, 5e-4f);

    /* split: sizes, a partition of 0..n-1, the same for the same seed, another for another */
    enum { N = 101 };
    int64_t li[N], ui[N], li2[N], ui2[N], nl, nu, nl2, nu2;
    ck_assert_int_eq(ig_al_split(N, 0.3, 7, li, &nl, ui, &nu), IG_OK);
    ck_assert_int_eq(nu, 30);
    ck_assert_int_eq(nl, 71);
    char seen[N] = {0};
    for (int64_t i = 0; i < nl; i++) seen[li[i]]++;
    for (int64_t i = 0; i < nu; i++) seen[ui[i]]++;
    for (int i = 0; i < N; i++) ck_assert_int_eq(seen[i], 1);
    ck_assert_int_eq(ig_al_split(N, 0.3, 7, li2, &nl2, ui2, &nu2), IG_OK);
    ck_assert_int_eq(memcmp(ui, ui2, sizeof(int64_t) * 30), 0);
    ck_assert_int_eq(ig_al_split(N, 0.3, 8, li2, &nl2, ui2, &nu2), IG_OK);
    ck_assert_int_ne(memcmp(ui, ui2, sizeof(int64_t) * 30), 0);
    ck_assert_int_eq(ig_al_split(N, 0.0, 7, li, &nl, ui, &nu), IG_ERR_INVALID_ARG);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("al");
    TCase *tc = tcase_create("scores");
    tcase_add_test(tc, test_scores_match_explicit_vectors);
    tcase_add_test(tc, test_degenerate_norms);
    tcase_add_test(tc, test_quantile_like_numpy);
    tcase_add_test(tc, test_lcs_and_topk);
    tcase_add_test(tc, test_spearman_and_names);
    tcase_add_test(tc, test_method_names_and_split);
    suite_add_tcase(s, tc);
    return ig_test_run(s);
}
