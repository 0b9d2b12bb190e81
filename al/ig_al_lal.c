/* LAL-IGradV scoring (line 5): the reference gradient δ (full or NLI) and the DS / LD score of every NLI instance from the per-sample engine. */
#include "ig_al_internal.h"
#include "ig_dist.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

enum ig_status ig_al_reference_subset(const int64_t *set, int64_t n, int64_t n_sub, uint64_t seed, int64_t *out)
{
    if (!set || !out || n_sub < 1 || n_sub > n) return ig_error(IG_ERR_INVALID_ARG, "reference subset: need 1 <= N <= n");
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return ig_error(IG_ERR_OOM, "reference subset: out of host memory");
    memcpy(perm, set, (size_t)n * sizeof *perm);
    uint64_t st = seed;
    for (int64_t i = 0; i < n_sub; i++) {   /* the first n_sub steps of a Fisher-Yates shuffle */
        int64_t j = i + (int64_t)ig_splitmix64_below(&st, (uint64_t)(n - i)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    qsort(perm, (size_t)n_sub, sizeof *perm, cmp_i64);   /* ascending rows: the batches read memory in order */
    memcpy(out, perm, (size_t)n_sub * sizeof *out);
    free(perm);
    return IG_OK;
}

/* D += alpha · Σ_{x in set[0..n)} ∇L_x, this rank's block of the rows. */
static enum ig_status reference_add_rows(struct ig_al_run *r, const int64_t *set, int64_t n, float alpha)
{
    int64_t B = r->p->eval_batch, lo, hi;
    ig_dist_range(r->p->dist, n, &lo, &hi);   /* data parallel: this rank's block, then the sum */
    enum ig_status s = IG_OK;
    for (int64_t i = lo; s == IG_OK && i < hi; i += B) {
        int64_t nb = hi - i < B ? hi - i : B;
        struct ig_tensor *x = NULL, *y = NULL;
        s = ig_batcher_fill(r->batch, set + i, nb, &x, &y);
        if (s == IG_OK) s = ig_al_engine_ref_add_batch_scaled(r->e, x, y, alpha);
    }
    if (s == IG_OK && (lo != 0 || hi != n)) s = ig_al_ref_sum_ranks(r);
    return s;
}

/* D = Σ_{x in set} ∇L_x + n wd θ at the current θ (eval mode); with reference_subset N < n
 * the sum is (n / N) Σ over N rows drawn afresh for this scoring step (an unbiased estimate). */
static enum ig_status reference_full(struct ig_al_run *r, const int64_t *set, int64_t n, int64_t n_sub)
{
    IG_TRY(ig_al_engine_ref_zero(r->e));
    enum ig_status s;
    if (n_sub > 0 && n_sub < n) {
        int64_t *sub = malloc((size_t)n_sub * sizeof *sub);
        if (!sub) return ig_error(IG_ERR_OOM, "reference subset: out of host memory");
        s = ig_al_reference_subset(set, n, n_sub, r->ref_draw_seed, sub);
        if (s == IG_OK) s = reference_add_rows(r, sub, n_sub, (float)((double)n / (double)n_sub));
        free(sub);
    } else {
        s = reference_add_rows(r, set, n, 1.0f);
    }
    if (s == IG_OK) s = ig_al_engine_ref_add_theta(r->e, (float)n * r->p->weight_decay);
    return s;
}

/* The published code's |cos|: DS = |cos(δ, δ_x)|, LD = 1 - |cos(δ, δ - δ_x)|. */
static void abs_cosine(enum ig_al_score kind, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = kind == IG_AL_DS ? fabs(out[i]) : 1.0 - fabs(1.0 - out[i]);
}

/* δ = G + n·wd·θ: ‖G‖, ‖n·wd·θ‖ and cos(G, θ) from ‖δ‖², δ·θ and ‖θ‖² (n = the reference's set size). */
static void delta_composition(struct ig_al_run *r, int64_t n)
{
    struct ig_al_ref_stats rs;
    r->delta_grad_norm = r->delta_wd_norm = r->delta_cos = NAN;
    if (ig_al_engine_ref_stats(r->e, &rs) != IG_OK) return;
    double a = (double)n * r->p->weight_decay;
    double g_sq = rs.ref_sq - 2.0 * a * rs.ref_dot_theta + a * a * rs.theta_sq, g_theta = rs.ref_dot_theta - a * rs.theta_sq;
    r->delta_grad_norm = sqrt(g_sq > 0 ? g_sq : 0);
    r->delta_wd_norm = a * sqrt(rs.theta_sq);
    double den = r->delta_grad_norm * sqrt(rs.theta_sq);
    r->delta_cos = den > 0 ? g_theta / den : NAN;
}

/* DS or LD score of the rows against the reference now in the engine. */
static enum ig_status score_with_reference(struct ig_al_run *r, enum ig_al_score kind, const int64_t *rows, int64_t k,
                                           double *out)
{
    int64_t B = r->p->eval_batch;
    struct ig_al_ref_stats rs;
    IG_TRY(ig_al_engine_ref_stats(r->e, &rs));
    double *dot = malloc((size_t)k * sizeof *dot), *tdot = malloc((size_t)k * sizeof *tdot);
    double *sq = malloc((size_t)k * sizeof *sq), *dd = malloc((size_t)k * sizeof *dd), *dsq = malloc((size_t)k * sizeof *dsq);
    enum ig_status s = (!dot || !tdot || !sq || !dd || !dsq) ? ig_error(IG_ERR_OOM, "scoring: out of host memory") : IG_OK;
    for (int64_t i = 0; s == IG_OK && i < k; i += B) {
        int64_t nb = k - i < B ? k - i : B;
        struct ig_tensor *x = NULL, *y = NULL;
        s = ig_batcher_fill(r->batch, rows + i, nb, &x, &y);
        if (s == IG_OK) s = ig_al_engine_batch(r->e, x, y, dot + i, tdot + i, sq + i);
    }
    if (s == IG_OK) {
        ig_al_instance_terms((size_t)k, dot, tdot, sq, r->p->weight_decay, &rs, dd, dsq);
        ig_al_scores_from_dots(kind, (size_t)k, dd, dsq, rs.ref_sq, out);
        if (r->p->abs_cos) abs_cosine(kind, (size_t)k, out);
    }
    free(dot);
    free(tdot);
    free(sq);
    free(dd);
    free(dsq);
    return s;
}

/* Score rows (NLI) after one training epoch; the labeled set LI ∪ NLI is r->li[0..n_li + n_nli). */
static enum ig_status score_lal(struct ig_al_run *r, enum ig_al_score kind, const int64_t *rows, int64_t n, double *out)
{
    const struct ig_al_params *p = r->p;
    int64_t n_lab = r->n_li + r->n_nli;
    ig_model_set_train(r->m, false);
    enum ig_status s = IG_OK;
    if (p->reference == IG_AL_REF_FULL) s = reference_full(r, r->li, n_lab, p->reference_subset);
    else if (p->reference == IG_AL_REF_NLI) s = reference_full(r, r->nli, r->n_nli, 0);
    if (s == IG_OK) delta_composition(r, p->reference == IG_AL_REF_NLI ? r->n_nli : n_lab);
    if (s == IG_OK) s = score_with_reference(r, kind, rows, n, out);
    ig_model_set_train(r->m, true);
    return s;
}

enum ig_status ig_al_score_ds(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out)
{
    return score_lal(r, IG_AL_DS, rows, n, out);
}

enum ig_status ig_al_score_ld(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out)
{
    return score_lal(r, IG_AL_LD, rows, n, out);
}
