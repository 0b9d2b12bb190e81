/* Check suite for the active-learning module: scores against explicit vector math, binning, LCS, top-k, the baselines (margin, entropy, EGL, BADGE, Core-set) against brute force, regressor edge cases, whole runs of every method. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ig_al.h"
#include "ig_al_internal.h"
#include "ig_nn.h"
#include "ig_test_al.h"
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

/* ---------------------------------------------------------------- warnings */

static int n_warn;
static char last_warn[512];
static void capture(enum ig_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level != IG_LOG_WARN) return;
    n_warn++;
    snprintf(last_warn, sizeof last_warn, "%s", msg);
}

/* Q1 = Q3: the documented rule (tied scores get 1, none 0.5) and one warning. */
/* full:N draws N distinct rows of the set, ascending, the same for one seed; every row
 * is drawn about equally often over many seeds (uniform without replacement). */
START_TEST(test_reference_subset_draw)
{
    enum { N = 50, S = 10, DRAWS = 4000 };
    int64_t set[N], a[S], b[S], count[N] = {0};
    for (int i = 0; i < N; i++) set[i] = 1000 + 7 * i;
    ck_assert_int_eq(ig_al_reference_subset(set, N, S, 42, a), IG_OK);
    ck_assert_int_eq(ig_al_reference_subset(set, N, S, 42, b), IG_OK);
    for (int i = 0; i < S; i++) {
        ck_assert_int_eq(a[i], b[i]);
        ck_assert(a[i] >= 1000 && (a[i] - 1000) % 7 == 0 && a[i] < 1000 + 7 * N);
        if (i) ck_assert(a[i] > a[i - 1]);
    }
    for (uint64_t seed = 0; seed < DRAWS; seed++) {
        ck_assert_int_eq(ig_al_reference_subset(set, N, S, seed, a), IG_OK);
        for (int i = 0; i < S; i++) count[(a[i] - 1000) / 7]++;
    }
    double expect = (double)DRAWS * S / N;   /* 800 per row; sd about 25 */
    for (int i = 0; i < N; i++) ck_assert_msg(fabs((double)count[i] - expect) < 6 * 26, "row %d drawn %lld times", i, (long long)count[i]);
    ck_assert_int_eq(ig_al_reference_subset(set, N, N + 1, 1, a), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_al_reference_subset(set, N, 0, 1, a), IG_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_rank_bin_q1_equals_q3)
{
    ig_log_set_handler(capture, NULL);
    n_warn = 0;
    double s[6] = {1, 1, 1, 1, 0, 2}, out[6];
    ck_assert_int_eq(ig_al_rank_bin(s, 6, out), IG_OK);
    double want[6] = {1, 1, 1, 1, 0, 1};
    for (int i = 0; i < 6; i++) ck_assert_double_eq(out[i], want[i]);
    ck_assert_int_eq(n_warn, 1);
    ck_assert_ptr_nonnull(strstr(last_warn, "Q1 = Q3"));
    double t[5] = {1, 2, 3, 4, 5};
    ck_assert_int_eq(ig_al_rank_bin(t, 5, out), IG_OK);
    ck_assert_int_eq(n_warn, 1);   /* distinct quartiles: no warning */
    ck_assert_double_eq(out[2], 0.5);
    ig_log_set_handler(NULL, NULL);
}
END_TEST

/* ---------------------------------------------------------------- margin, entropy */

START_TEST(test_margin_entropy_known_values)
{
    float p[6] = {0.7f, 0.2f, 0.1f, 1 / 3.0f, 1 / 3.0f, 1 / 3.0f};
    double m[2], h[2];
    ck_assert_int_eq(ig_al_margin_scores(p, 2, 3, m), IG_OK);
    ck_assert_double_eq_tol(m[0], 1.0 - (0.7 - 0.2), 1e-6);
    ck_assert_double_eq_tol(m[1], 1.0, 1e-6);
    ck_assert_int_eq(ig_al_entropy_scores(p, 2, 3, h), IG_OK);
    ck_assert_double_eq_tol(h[0], -(0.7 * log(0.7) + 0.2 * log(0.2) + 0.1 * log(0.1)), 1e-6);
    ck_assert_double_eq_tol(h[1], log(3.0), 1e-6);
    ck_assert_int_eq(ig_al_margin_scores(p, 2, 1, m), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_al_entropy_scores(NULL, 2, 3, h), IG_ERR_INVALID_ARG);
    double sq[6] = {4, 9, 16, 1, 1, 1}, e[2];
    ck_assert_int_eq(ig_al_egl_scores(p, sq, 2, 3, e), IG_OK);
    ck_assert_double_eq_tol(e[0], 0.7 * 2 + 0.2 * 3 + 0.1 * 4, 1e-6);
    ck_assert_double_eq_tol(e[1], 1.0, 1e-6);
}
END_TEST

/* ---------------------------------------------------------------- BADGE, Core-set vs brute force */

enum { NB = 50, CB = 4, FB = 6 };

static void random_probs_feats(float *probs, float *feats, uint64_t seed)
{
    float u[NB * CB];
    ig_test_fill_uniform(u, NB * CB, seed, -2, 2);
    for (int i = 0; i < NB; i++) {
        double z = 0;
        for (int c = 0; c < CB; c++) z += exp(u[i * CB + c]);
        for (int c = 0; c < CB; c++) probs[i * CB + c] = (float)(exp(u[i * CB + c]) / z);
    }
    ig_test_fill_uniform(feats, NB * FB, seed + 1, 0, 1);
}

/* k-means++ with the embeddings materialised: g_i = (p_i - onehot) ⊗ f_i, [C*F] each. */
static void badge_brute(const float *probs, const float *feats, int k, uint64_t seed, size_t *picked)
{
    static double g[NB][CB * FB];
    for (int i = 0; i < NB; i++) {
        int best = 0;
        for (int c = 1; c < CB; c++)
            if (probs[i * CB + c] > probs[i * CB + best]) best = c;
        for (int c = 0; c < CB; c++)
            for (int f = 0; f < FB; f++)
                g[i][c * FB + f] = ((double)probs[i * CB + c] - (c == best)) * (double)feats[i * FB + f];
    }
    double d2[NB], norm[NB];
    char taken[NB] = {0};
    for (int i = 0; i < NB; i++) norm[i] = dotv(g[i], g[i], CB * FB);
    int c = 0;
    for (int i = 1; i < NB; i++)
        if (norm[i] > norm[c]) c = i;
    uint64_t state = seed;
    for (int j = 0;; j++) {
        picked[j] = (size_t)c;
        taken[c] = 1;
        if (j + 1 == k) break;
        for (int i = 0; i < NB; i++) {
            double d = 0;
            for (int q = 0; q < CB * FB; q++) d += (g[i][q] - g[c][q]) * (g[i][q] - g[c][q]);
            if (taken[i]) d = 0;
            d2[i] = j == 0 || d < d2[i] ? d : d2[i];
        }
        double u = ig_rng_unit(ig_splitmix64_next(&state)), total = 0, acc = 0;
        for (int i = 0; i < NB; i++) total += taken[i] ? 0 : d2[i];
        for (int i = 0; i < NB; i++) {
            if (taken[i]) continue;
            c = i;
            acc += d2[i];
            if (acc > u * total) break;
        }
    }
}

START_TEST(test_badge_matches_brute_force)
{
    float probs[NB * CB], feats[NB * FB];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        random_probs_feats(probs, feats, seed * 11);
        size_t got[12], want[12];
        ck_assert_int_eq(ig_al_badge_select(probs, feats, NB, CB, FB, 12, seed, got), IG_OK);
        badge_brute(probs, feats, 12, seed, want);
        char seen[NB] = {0};
        for (int j = 0; j < 12; j++) {
            ck_assert_uint_eq(got[j], want[j]);
            ck_assert_int_eq(seen[got[j]]++, 0);
        }
    }
    size_t p[NB + 1];
    ck_assert_int_eq(ig_al_badge_select(probs, feats, NB, CB, FB, NB + 1, 1, p), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_al_badge_select(probs, feats, NB, CB, FB, NB, 1, p), IG_OK);   /* the whole pool */
}
END_TEST

START_TEST(test_coreset_matches_brute_force)
{
    enum { F = 3, NL = 5, K = 10 };
    float pool[NB * F], lab[NL * F];
    ig_test_fill_uniform(pool, NB * F, 5, -1, 1);
    ig_test_fill_uniform(lab, NL * F, 6, -1, 1);
    /* brute force: the full distance matrix, centres = labeled + picked, argmax of min distance */
    double D[NB][NB + NL];
    for (int i = 0; i < NB; i++)
        for (int j = 0; j < NB + NL; j++) {
            const float *c = j < NB ? pool + j * F : lab + (j - NB) * F;
            double s = 0;
            for (int f = 0; f < F; f++) s += ((double)pool[i * F + f] - c[f]) * ((double)pool[i * F + f] - c[f]);
            D[i][j] = s;
        }
    char centre[NB + NL] = {0}, picked[NB] = {0};
    for (int j = NB; j < NB + NL; j++) centre[j] = 1;
    size_t want[K], got[K];
    for (int s = 0; s < K; s++) {
        int best = -1;
        double bd = -1;
        for (int i = 0; i < NB; i++) {
            if (picked[i]) continue;
            double m = INFINITY;
            for (int j = 0; j < NB + NL; j++)
                if (centre[j] && D[i][j] < m) m = D[i][j];
            if (m > bd) bd = m, best = i;
        }
        want[s] = (size_t)best;
        picked[best] = 1;
        centre[best] = 1;
    }
    ck_assert_int_eq(ig_al_coreset_select(pool, NB, lab, NL, F, K, got), IG_OK);
    for (int s = 0; s < K; s++) ck_assert_uint_eq(got[s], want[s]);
    /* no labeled set: the first pick is row 0 (every distance infinite, ties to the lower index) */
    ck_assert_int_eq(ig_al_coreset_select(pool, NB, NULL, 0, F, 2, got), IG_OK);
    ck_assert_uint_eq(got[0], 0);
    ck_assert_int_eq(ig_al_coreset_select(pool, NB, lab, NL, F, NB + 1, got), IG_ERR_INVALID_ARG);
}
END_TEST

/* Greedy k-centre by the definition: distances in double, features summed in order. */
static void coreset_brute(const float *pool, int n, const float *lab, int nl, int F, int k, size_t *want)
{
    double *dmin = malloc((size_t)n * sizeof *dmin);
    ck_assert_ptr_nonnull(dmin);
    for (int i = 0; i < n; i++) {
        dmin[i] = INFINITY;
        for (int j = 0; j < nl + n; j++) {
            if (j >= nl) break;   /* the labeled rows first; picked rows join below */
            double s = 0;
            for (int f = 0; f < F; f++) s += ((double)pool[i * F + f] - lab[j * F + f]) * ((double)pool[i * F + f] - lab[j * F + f]);
            if (s < dmin[i]) dmin[i] = s;
        }
    }
    for (int t = 0; t < k; t++) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (dmin[i] > dmin[best]) best = i;
        want[t] = (size_t)best;
        dmin[best] = -1;
        for (int i = 0; i < n; i++) {
            if (dmin[i] < 0) continue;
            double s = 0;
            for (int f = 0; f < F; f++)
                s += ((double)pool[i * F + f] - pool[best * F + f]) * ((double)pool[i * F + f] - pool[best * F + f]);
            if (s < dmin[i]) dmin[i] = s;
        }
    }
    free(dmin);
}

START_TEST(test_coreset_every_isa)
{
    /* the blocked, vectorised distance kernels of every instruction set this CPU runs pick exactly
     * what the definition picks: rows not a multiple of the 32-row blocks (padding), enough
     * features that the labeled rows span several L2 tiles, equal rows and rows on a 1/64 grid so
     * that distances tie (ties go to the lower index); a set the CPU lacks is refused by name */
    enum { N = 77, NL = 203, F = 600, K = 25 };
    float *pool = malloc((size_t)N * F * sizeof *pool), *lab = malloc((size_t)NL * F * sizeof *lab);
    ck_assert(pool && lab);
    ig_test_fill_uniform(pool, N * F, 11, -1, 1);
    ig_test_fill_uniform(lab, NL * F, 12, -1, 1);
    for (int i = 0; i < 38 * F; i++) pool[i] = roundf(pool[i] * 64) / 64;   /* half the rows on a grid */
    for (int i = 0; i < 5; i++) memcpy(pool + (size_t)(40 + i) * F, pool + (size_t)i * F, F * sizeof *pool);  /* equal rows */
    size_t want[K], got[K];
    coreset_brute(pool, N, lab, NL, F, K, want);
    int ran = 0;
    for (enum ig_regress_isa isa = IG_REGRESS_ISA_AUTO; isa <= IG_REGRESS_ISA_AVX512; isa++) {
        enum ig_status st = ig_al_coreset_select_isa(pool, N, lab, NL, F, K, got, isa);
        if (isa != IG_REGRESS_ISA_AUTO && isa != IG_REGRESS_ISA_GENERIC && st == IG_ERR_UNSUPPORTED) {
            ck_assert_ptr_nonnull(strstr(ig_last_error(), ig_regress_isa_name(isa)));
            continue;
        }
        ck_assert_msg(st == IG_OK, "%s: %s", ig_regress_isa_name(isa), ig_last_error());
        for (int t = 0; t < K; t++)
            ck_assert_msg(got[t] == want[t], "%s: pick %d is %zu, the definition's %zu", ig_regress_isa_name(isa), t,
                          got[t], want[t]);
        ran++;
    }
    ck_assert_int_ge(ran, 2);
    /* and without labeled rows: every distance infinite at first, so row 0, then the farthest */
    coreset_brute(pool, N, lab, 0, F, K, want);
    ck_assert_int_eq(ig_al_coreset_select_isa(pool, N, NULL, 0, F, K, got, IG_REGRESS_ISA_GENERIC), IG_OK);
    for (int t = 0; t < K; t++) ck_assert_uint_eq(got[t], want[t]);
    ck_assert_int_eq(ig_al_coreset_select_isa(pool, N, lab, NL, F, K, got, (enum ig_regress_isa)9), IG_ERR_UNSUPPORTED);
    free(pool);
    free(lab);
}
END_TEST

/* ---------------------------------------------------------------- a tiny image set and model */

enum { NT = 120, TC = 3, TH = 8, TW = 8, NCLS = 3 };
static uint8_t img[NT * TC * TH * TW];
static int32_t lab_t[NT];

static struct ig_dataset tiny_data(int64_t n, uint64_t seed)
{
    int f = TC * TH * TW;
    float *u = malloc((size_t)(n * f) * sizeof *u);
    ig_test_fill_uniform(u, (size_t)(n * f), seed, 0, 1);
    for (int64_t i = 0; i < n; i++) {
        lab_t[i] = (int32_t)((i * 7 + (int64_t)seed) % NCLS);
        for (int j = 0; j < f; j++) {
            float v = 160.0f * u[i * f + j] + (j / (TH * TW) == lab_t[i] ? 60.0f : 0.0f);
            img[i * f + j] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    free(u);
    return (struct ig_dataset){.n = n, .channels = TC, .height = TH, .width = TW, .images = img, .labels = lab_t,
                               .num_classes = NCLS};
}

/* ‖∇_θ CE(c, f(x_i))‖² over every parameter, one backward for one instance and one class. */
static double one_backward_sq(struct ig_model *m, struct ig_backend *be, struct ig_tensor *x1, int c)
{
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    int64_t one = 1;
    int32_t lc = c;
    struct ig_tensor *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, &one, &lc);
    ig_graph_set_param_grads(g, true);
    for (int i = 0; i < ig_model_num_param_tensors(m); i++) ig_param_zero_grad(ig_model_param_at(m, i, NULL, NULL));
    struct ig_var *logits = ig_model_forward(m, g, ig_graph_input(g, x1, false));
    ck_assert_int_eq(ig_graph_backward(g, ig_ag_cross_entropy(g, logits, y, IG_REDUCTION_SUM)), IG_OK);
    double s = 0;
    for (int i = 0; i < ig_model_num_param_tensors(m); i++) {
        struct ig_tensor *gr = ig_var_grad(ig_model_param_at(m, i, NULL, NULL));
        ck_assert_ptr_nonnull(gr);
        int64_t n = ig_tensor_numel(gr);
        float *h = malloc((size_t)n * sizeof *h);
        ck_assert_int_eq(ig_tensor_to_host(gr, h, (size_t)n * sizeof *h), IG_OK);
        for (int64_t j = 0; j < n; j++) s += (double)h[j] * h[j];
        free(h);
    }
    ig_tensor_free(y);
    ig_graph_free(g);
    return s;
}

/* EGL on a small CNN with batch norm: the engine's batched per-class norms and the score
 * against one backward per class per instance. */
START_TEST(test_egl_against_per_class_backward)
{
    enum { N = 6 };
    struct ig_backend *be;
    ck_assert_int_eq(ig_backend_init_cpu(&be, 2), IG_OK);
    struct ig_dataset ds = tiny_data(N, 3);
    struct ig_model *m;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, TC, TH, TW, NCLS, 7), IG_OK);
    ig_model_set_train(m, false);
    struct ig_al_engine *e;
    ck_assert_int_eq(ig_al_engine_new(&e, m), IG_OK);
    struct ig_batcher *b;
    ck_assert_int_eq(ig_batcher_new(&b, be, &ds, N, ig_data_norm_default()), IG_OK);
    int64_t rows[N] = {0, 1, 2, 3, 4, 5};
    struct ig_tensor *x;
    ck_assert_int_eq(ig_batcher_fill(b, rows, N, &x, NULL), IG_OK);
    double sq[N * NCLS], egl[N];
    ck_assert_msg(ig_al_engine_class_sq(e, x, NCLS, sq) == IG_OK, "%s", ig_last_error());
    float probs[N * NCLS];
    struct ig_predict_out po = {.probs = probs};
    ck_assert_int_eq(ig_model_predict(m, &ds, NULL, N, 4, ig_data_norm_default(), &po), IG_OK);
    ck_assert_int_eq(ig_al_egl_scores(probs, sq, N, NCLS, egl), IG_OK);
    for (int i = 0; i < N; i++) {
        struct ig_tensor *x1 = ig_tensor_slice(x, i, 1);
        double ref = 0;
        for (int c = 0; c < NCLS; c++) {
            double s1 = one_backward_sq(m, be, x1, c);
            ck_assert_msg(fabs(sq[i * NCLS + c] - s1) <= 1e-4 * s1 + 1e-9, "instance %d class %d: %g vs %g", i, c,
                          sq[i * NCLS + c], s1);
            ref += probs[i * NCLS + c] * sqrt(s1);
        }
        ck_assert_double_eq_tol(egl[i], ref, 1e-4 * ref);
        ig_tensor_free(x1);
    }
    ig_batcher_free(b);
    ig_al_engine_free(e);
    ig_model_free(m);
    ig_backend_free(be);
}
END_TEST

/* ---------------------------------------------------------------- the removed running reference */

/* The `running` reference summed B·(minibatch gradient + wd θ) over a training epoch, in
 * train mode, and was compared with `full` (Σ ∇L + n wd θ at the end of the epoch, eval
 * mode). After a line-1 phase, one epoch on LI ∪ NLI: with θ held (lr 1e-6) the running sum
 * ranks NLI as full does; with lr 1e-3 (θ moves during the epoch) the agreement drops. That
 * drift is the defect, so the mode was removed. *sp_out: Spearman of DS on NLI, running vs full. */
enum { NR = 600, RC = 3, RH = 16, RW = 16, RCL = 4, RK = 120 };
static uint8_t r_img[NR * RC * RH * RW];
static int32_t r_lab[NR];

static void running_scores(struct ig_al_engine *e, struct ig_batcher *bt, int64_t *nli, double *out)
{
    struct ig_al_ref_stats rs;
    ck_assert_int_eq(ig_al_engine_ref_stats(e, &rs), IG_OK);
    double dot[RK], tdot[RK], sq[RK], dd[RK], dsq[RK];
    for (int i = 0; i < RK; i += 60) {
        struct ig_tensor *x, *y;
        ck_assert_int_eq(ig_batcher_fill(bt, nli + i, 60, &x, &y), IG_OK);
        ck_assert_int_eq(ig_al_engine_batch(e, x, y, dot + i, tdot + i, sq + i), IG_OK);
    }
    ig_al_instance_terms(RK, dot, tdot, sq, 5e-4, &rs, dd, dsq);
    ig_al_scores_from_dots(IG_AL_DS, RK, dd, dsq, rs.ref_sq, out);
}

static void running_vs_full(float lr, double *sp_out)
{
    for (int i = 0; i < NR; i++) {
        r_lab[i] = i % RCL;
        for (int j = 0; j < RC * RH * RW; j++) {
            float v = (float)(ig_hash64((uint64_t)i * 100003u + (uint64_t)j) % 160) + (j / (RH * RW) == r_lab[i] % 3 ? 50.0f : 0) +
                      (r_lab[i] == 3 && j % RW < 8 ? 40.0f : 0);
            r_img[i * RC * RH * RW + j] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    struct ig_dataset ds = {.n = NR, .channels = RC, .height = RH, .width = RW, .images = r_img, .labels = r_lab, .num_classes = RCL};
    struct ig_backend *be;
    ck_assert_int_eq(ig_backend_init_cpu(&be, 2), IG_OK);
    struct ig_model *m;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, RC, RH, RW, RCL, 1), IG_OK);
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = lr;
    ap.weight_decay = 5e-4f;
    struct ig_optim *opt;
    struct ig_graph *g;
    struct ig_batcher *bt;
    struct ig_al_engine *e;
    ck_assert_int_eq(ig_optim_adam_new(&opt, m, ap), IG_OK);
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ck_assert_int_eq(ig_batcher_new(&bt, be, &ds, 64, ig_data_norm_default()), IG_OK);
    ck_assert_int_eq(ig_al_engine_new(&e, m), IG_OK);
    int64_t all[NR], nli[RK], rows[32];
    for (int i = 0; i < NR; i++) all[i] = i;
    for (int i = 0; i < RK; i++) nli[i] = NR - RK + i;
    struct ig_tensor *x, *y;
    for (int ep = 0; ep < 3; ep++)   /* line 1 on LI */
        for (int i = 0; i < NR - RK; i += 32) {
            int nb = NR - RK - i < 32 ? NR - RK - i : 32;
            ck_assert_int_eq(ig_batcher_fill(bt, all + i, nb, &x, &y), IG_OK);
            ck_assert_int_eq(ig_model_train_step(m, opt, g, x, y, NULL, NULL), IG_OK);
        }
    ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
    for (int i = 0; i < NR; i += 32) {   /* the epoch on LI ∪ NLI with the running accumulation */
        int nb = NR - i < 32 ? NR - i : 32;
        for (int j = 0; j < nb; j++) rows[j] = (i * 7 + j * 13) % NR;
        ck_assert_int_eq(ig_batcher_fill(bt, rows, nb, &x, &y), IG_OK);
        ck_assert_int_eq(ig_model_train_step(m, opt, g, x, y, NULL, NULL), IG_OK);
        ck_assert_int_eq(ig_al_engine_ref_add_param_grads(e, (float)nb), IG_OK);
        ck_assert_int_eq(ig_al_engine_ref_add_theta(e, (float)nb * 5e-4f), IG_OK);
    }
    ig_model_set_train(m, false);
    double run[RK], full[RK];
    running_scores(e, bt, nli, run);
    ck_assert_int_eq(ig_al_engine_ref_zero(e), IG_OK);
    for (int i = 0; i < NR; i += 60) {
        ck_assert_int_eq(ig_batcher_fill(bt, all + i, 60, &x, &y), IG_OK);
        ck_assert_int_eq(ig_al_engine_ref_add_batch(e, x, y), IG_OK);
    }
    ck_assert_int_eq(ig_al_engine_ref_add_theta(e, NR * 5e-4f), IG_OK);
    running_scores(e, bt, nli, full);
    *sp_out = ig_al_spearman(run, full, RK);
    ig_al_engine_free(e);
    ig_batcher_free(bt);
    ig_graph_free(g);
    ig_optim_free(opt);
    ig_model_free(m);
    ig_backend_free(be);
}

START_TEST(test_running_reference_drifts_with_theta)
{
    double sp_fixed, sp_moving;
    running_vs_full(1e-6f, &sp_fixed);
    running_vs_full(1e-3f, &sp_moving);
    printf("running vs full, DS Spearman on NLI: theta held %.3f, one real epoch %.3f\n", sp_fixed, sp_moving);
    ck_assert_double_gt(sp_fixed, 0.95);
    ck_assert_double_lt(sp_moving, sp_fixed - 0.05);
}
END_TEST

/* ---------------------------------------------------------------- regressor edge cases */

/* RF labels of one class: a warning, every r̂ the class value; a NaN GBR target keeps its
 * cause (invalid argument), not an internal error. */
START_TEST(test_regressor_one_class_and_error_cause)
{
    struct ig_dataset ds = tiny_data(40, 9);
    struct ig_al_params p = ig_al_params_default();
    p.gbr_estimators = 5;
    p.rf_estimators = 5;
    p.cv_folds = 2;
    int64_t nli[20], ui[20];
    for (int i = 0; i < 20; i++) nli[i] = i, ui[i] = 20 + i;
    struct ig_al_run r = {.p = &p, .row = ig_al_method_row(IG_AL_METHOD_RDS), .train = &ds, .feat = TC * TH * TW,
                          .nli = nli, .n_nli = 20, .ui = ui, .n_ui = 20, .mname = "rds"};
    double target[20], pool[20], sp;
    struct ig_al_epoch_stats st;
    for (int i = 0; i < 20; i++) target[i] = 1.0;
    ig_log_set_handler(capture, NULL);
    n_warn = 0;
    ck_assert_int_eq(ig_al_fit_predict(&r, target, 1, pool, &st), IG_OK);
    ck_assert_int_eq(n_warn, 1);
    ck_assert_ptr_nonnull(strstr(last_warn, "random-forest labels"));
    for (int i = 0; i < 20; i++) ck_assert_double_eq(pool[i], 1.0);
    for (int i = 0; i < 20; i++) target[i] = i % 3 * 0.5;
    ck_assert_int_eq(ig_al_fit_predict(&r, target, 1, pool, &st), IG_OK);
    ck_assert_int_eq(n_warn, 1);
    for (int i = 0; i < 20; i++) ck_assert(pool[i] >= 0 && pool[i] <= 1);
    ck_assert_int_eq(ig_al_fit_cv(&r, target, 1, &sp), IG_OK);
    ck_assert(sp >= -1 && sp <= 1);
    ig_log_set_handler(NULL, NULL);
    r.row = ig_al_method_row(IG_AL_METHOD_DS);
    target[3] = NAN;
    ck_assert_int_eq(ig_al_fit_predict(&r, target, 1, pool, &st), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "GBR fit"));
}
END_TEST

/* ---------------------------------------------------------------- whole runs */

/* Every method through ig_al_run: the budget is spent on distinct pool rows, the class
 * histogram counts the selected batch, accuracy and labels spent are recorded per epoch. */
START_TEST(test_every_method_runs)
{
    struct ig_backend *be;
    ck_assert_int_eq(ig_backend_init_cpu(&be, 2), IG_OK);
    struct ig_dataset tr = tiny_data(NT, 1);
    static uint8_t te_img[40 * TC * TH * TW];
    static int32_t te_lab[40];
    memcpy(te_img, img, sizeof te_img);
    memcpy(te_lab, lab_t, sizeof te_lab);
    struct ig_dataset te = tr;
    te.n = 40;
    te.images = te_img;
    te.labels = te_lab;
    int64_t li[NT], ui[NT], nl, nu;
    ck_assert_int_eq(ig_al_split(NT, 0.6, 3, li, &nl, ui, &nu), IG_OK);
    for (int mi = 0; mi < IG_AL_METHOD_COUNT; mi++) {
        struct ig_al_params p = ig_test_al_sized((enum ig_al_method)mi, (struct ig_test_al_size){
                                                     .k = 8, .train_epochs = 1, .gbr_estimators = 10, .lr = 1e-3f});
        p.cv_folds = 2;
        struct ig_model *m;
        ck_assert_int_eq(ig_model_small_cnn(&m, be, TC, TH, TW, NCLS, 5), IG_OK);
        struct ig_al_result res;
        ck_assert_msg(ig_al_run(&res, m, &tr, &te, li, nl, ui, nu, &p) == IG_OK, "%s: %s", ig_al_method_name(p.method),
                      ig_last_error());
        ck_assert_int_eq(res.n_labeled, nl + 3 * p.k);
        char seen[NT] = {0};
        for (int64_t i = 0; i < res.n_labeled; i++) ck_assert_int_eq(seen[res.labeled[i]]++, 0);
        for (int i = 0; i < p.al_epochs; i++) {
            const struct ig_al_epoch_stats *st = &res.epochs[i];
            int64_t h = 0;
            for (int c = 0; c < IG_AL_MAX_CLASSES; c++) h += st->class_hist[c];
            ck_assert_int_eq(h, p.k);
            ck_assert_int_eq(st->n_labeled, nl + (i + 1) * p.k);
            ck_assert(st->test_acc >= 0 && st->test_acc <= 1);
            bool lal = mi <= IG_AL_METHOD_RLD;
            ck_assert_int_eq(isnan(st->delta_cos), !lal);
            ck_assert_int_eq(isnan(st->reg_spearman), !lal);
        }
        ig_al_result_free(&res);
        ig_model_free(m);
    }
    ig_backend_free(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("al");
    IG_TEST_CASE(s, "scores", 0, test_scores_match_explicit_vectors, test_degenerate_norms, test_quantile_like_numpy,
                                 test_lcs_and_topk, test_spearman_and_names, test_method_names_and_split,
                                 test_rank_bin_q1_equals_q3, test_reference_subset_draw,
                                 test_margin_entropy_known_values, test_badge_matches_brute_force,
                                 test_coreset_matches_brute_force, test_coreset_every_isa);
    IG_TEST_CASE(s, "model", 300, test_egl_against_per_class_backward, test_regressor_one_class_and_error_cause,
                                  test_every_method_runs, test_running_reference_drifts_with_theta);
    return ig_test_run(s);
}
