/* The method table: one row per selection method (DS, LD, RDS, RLD, Rnd, LCS, margin, entropy, EGL, BADGE, Core-set) (name, what it selects, needs per-sample gradients?, regressor, scoring and selection functions), names and parsing. */
#include "ig_al_internal.h"
#include <stdlib.h>
#include <strings.h>

/* ---------------------------------------------------------------- scoring */

typedef enum ig_status (*probs_rule)(const float *probs, size_t n, size_t m, double *out);

/* A score from the model's softmax (eval mode) of the rows. */
static enum ig_status score_from_probs(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out, probs_rule rule)
{
    int64_t m = r->train->num_classes;
    float *probs = malloc((size_t)((n ? n : 1) * m) * sizeof *probs);
    if (!probs) return ig_error(IG_ERR_OOM, "scoring: out of host memory for %lld probabilities", (long long)(n * m));
    struct ig_predict_out po = {.probs = probs};
    enum ig_status s = ig_model_predict(r->m, r->train, rows, n, r->p->eval_batch, r->p->norm, &po);
    if (s == IG_OK) s = rule(probs, (size_t)n, (size_t)m, out);
    free(probs);
    return s;
}

enum ig_status ig_al_score_lcs(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out)
{
    return score_from_probs(r, rows, n, out, ig_al_lcs_scores);
}

static enum ig_status score_margin(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out)
{
    return score_from_probs(r, rows, n, out, ig_al_margin_scores);
}

static enum ig_status score_entropy(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out)
{
    return score_from_probs(r, rows, n, out, ig_al_entropy_scores);
}

/* EGL: Σ_c p(c|x) ‖∇_θ L(x, c)‖ over the engine's parameter set, exact, from one batched
 * backward per class (ig_al_engine_class_sq) in eval mode. */
static enum ig_status score_egl(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out)
{
    int64_t m = r->train->num_classes, B = r->p->eval_batch;
    float *probs = malloc((size_t)((n ? n : 1) * m) * sizeof *probs);
    double *sq = malloc((size_t)((n ? n : 1) * m) * sizeof *sq);
    struct ig_predict_out po = {.probs = probs};
    enum ig_status s = probs && sq ? ig_model_predict(r->m, r->train, rows, n, B, r->p->norm, &po)
                                   : ig_error(IG_ERR_OOM, "EGL: out of host memory");
    bool was = ig_model_is_training(r->m);
    ig_model_set_train(r->m, false);
    for (int64_t i = 0; s == IG_OK && i < n; i += B) {
        int64_t nb = n - i < B ? n - i : B;
        struct ig_tensor *x = NULL;
        s = ig_batcher_fill(r->batch, rows + i, nb, &x, NULL);
        if (s == IG_OK) s = ig_al_engine_class_sq(r->e, x, (int)m, sq + i * m);
    }
    ig_model_set_train(r->m, was);
    if (s == IG_OK) s = ig_al_egl_scores(probs, sq, (size_t)n, (size_t)m, out);
    free(probs);
    free(sq);
    return s;
}

/* ---------------------------------------------------------------- selection */

enum ig_status ig_al_select_top(struct ig_al_run *r, int al_epoch, const double *pool, int64_t k, size_t *picked)
{
    (void)al_epoch;
    return ig_al_topk(pool, (size_t)r->n_ui, (size_t)k, picked);
}

enum ig_status ig_al_draw_random(const struct ig_al_run *r, uint64_t seed, int64_t k, size_t *picked)
{
    double *u = malloc((size_t)(r->n_ui ? r->n_ui : 1) * sizeof *u);
    if (!u) return ig_error(IG_ERR_OOM, "selection: out of host memory");
    struct ig_rng rng;
    ig_rng_seed(&rng, seed);
    for (int64_t i = 0; i < r->n_ui; i++) u[i] = ig_rng_uniform(&rng);
    enum ig_status s = ig_al_topk(u, (size_t)r->n_ui, (size_t)k, picked);   /* top-k of iid uniforms = a uniform k-subset */
    free(u);
    return s;
}

enum ig_status ig_al_select_random(struct ig_al_run *r, int al_epoch, const double *pool, int64_t k, size_t *picked)
{
    (void)pool;
    return ig_al_draw_random(r, ig_hash64(r->p->seed ^ 0x22ull ^ ((uint64_t)al_epoch << 20)), k, picked);
}

/* BADGE over the pool: k-means++ on (p - onehot(ŷ)) ⊗ penultimate features. */
static enum ig_status select_badge(struct ig_al_run *r, int al_epoch, const double *pool, int64_t k, size_t *picked)
{
    (void)pool;
    int64_t n = r->n_ui, C = r->train->num_classes, F = ig_model_feature_dim(r->m);
    float *probs = malloc((size_t)((n ? n : 1) * C) * sizeof *probs), *feats = malloc((size_t)((n ? n : 1) * F) * sizeof *feats);
    struct ig_predict_out po = {.probs = probs, .feats = feats};
    enum ig_status s = probs && feats ? ig_model_predict(r->m, r->train, r->ui, n, r->p->eval_batch, r->p->norm, &po)
                                      : ig_error(IG_ERR_OOM, "BADGE: out of host memory for %lld pool rows", (long long)n);
    if (s == IG_OK)
        s = ig_al_badge_select(probs, feats, (size_t)n, (size_t)C, (size_t)F, (size_t)k,
                               ig_hash64(r->p->seed ^ 0xbad9eull ^ ((uint64_t)al_epoch << 24)), picked);
    free(probs);
    free(feats);
    return s;
}

/* Core-set: greedy k-centre on penultimate features, centres start at the labeled set. */
static enum ig_status select_coreset(struct ig_al_run *r, int al_epoch, const double *pool, int64_t k, size_t *picked)
{
    (void)al_epoch;
    (void)pool;
    int64_t n = r->n_ui, nl = r->n_li, F = ig_model_feature_dim(r->m);
    float *fp = malloc((size_t)((n ? n : 1) * F) * sizeof *fp), *fl = malloc((size_t)((nl ? nl : 1) * F) * sizeof *fl);
    struct ig_predict_out po = {.feats = fp}, lo = {.feats = fl};
    enum ig_status s = fp && fl ? ig_model_predict(r->m, r->train, r->ui, n, r->p->eval_batch, r->p->norm, &po)
                                : ig_error(IG_ERR_OOM, "Core-set: out of host memory for %lld rows", (long long)(n + nl));
    if (s == IG_OK) s = ig_model_predict(r->m, r->train, r->li, nl, r->p->eval_batch, r->p->norm, &lo);
    if (s == IG_OK)
        s = ig_al_coreset_select_isa(fp, (size_t)n, fl, (size_t)nl, (size_t)F, (size_t)k, picked, ig_al_kernel_isa(r->be));
    free(fp);
    free(fl);
    return s;
}

/* ---------------------------------------------------------------- the table */

static const struct ig_al_method_row rows[IG_AL_METHOD_COUNT] = {
    [IG_AL_METHOD_DS] = {"ds", "top k of r̂ from a GBR fitted on the DS score cos(δ, δ_x) of the last batch", true,
                         IG_AL_REGRESSOR_GBR, ig_al_score_ds, ig_al_select_top},
    [IG_AL_METHOD_LD] = {"ld", "top k of r̂ from a GBR fitted on the LD score 1 - cos(δ, δ - δ_x) of the last batch", true,
                         IG_AL_REGRESSOR_GBR, ig_al_score_ld, ig_al_select_top},
    [IG_AL_METHOD_RDS] = {"rds", "top k of r̂ from an RF classifier on DS binned by quartiles (0 / 0.5 / 1)", true,
                          IG_AL_REGRESSOR_RF, ig_al_score_ds, ig_al_select_top},
    [IG_AL_METHOD_RLD] = {"rld", "top k of r̂ from an RF classifier on LD binned by quartiles (0 / 0.5 / 1)", true,
                          IG_AL_REGRESSOR_RF, ig_al_score_ld, ig_al_select_top},
    [IG_AL_METHOD_RND] = {"rnd", "k uniform draws from the pool", false, IG_AL_REGRESSOR_NONE, NULL,
                          ig_al_select_random},
    [IG_AL_METHOD_LCS] = {"lcs", "the k pool images with the lowest top-class probability (least confidence)", false,
                          IG_AL_REGRESSOR_NONE, ig_al_score_lcs, ig_al_select_top},
    [IG_AL_METHOD_MARGIN] = {"margin", "the k pool images with the smallest gap between the two top class probabilities",
                             false, IG_AL_REGRESSOR_NONE, score_margin, ig_al_select_top},
    [IG_AL_METHOD_ENTROPY] = {"entropy", "the k pool images with the highest entropy of the class probabilities", false,
                              IG_AL_REGRESSOR_NONE, score_entropy, ig_al_select_top},
    [IG_AL_METHOD_EGL] = {"egl", "the k pool images with the largest expected gradient length Σ_y p(y|x) ‖∇_θ L(x, y)‖",
                          true, IG_AL_REGRESSOR_NONE, score_egl, ig_al_select_top},
    [IG_AL_METHOD_BADGE] = {"badge", "k-means++ seeds over the last-layer gradient embeddings (p - onehot(ŷ)) ⊗ features",
                            false, IG_AL_REGRESSOR_NONE, NULL, select_badge},
    [IG_AL_METHOD_CORESET] = {"coreset", "greedy k-centre: the pool images farthest from the labeled set in feature space",
                              false, IG_AL_REGRESSOR_NONE, NULL, select_coreset},
};

const struct ig_al_method_row *ig_al_method_row(enum ig_al_method m)
{
    return (unsigned)m < IG_AL_METHOD_COUNT ? &rows[m] : NULL;
}

const char *ig_al_method_name(enum ig_al_method m) { return (unsigned)m < IG_AL_METHOD_COUNT ? rows[m].name : "?"; }

const char *ig_al_method_summary(enum ig_al_method m)
{
    return (unsigned)m < IG_AL_METHOD_COUNT ? rows[m].selects : "?";
}

int ig_al_method_parse(const char *name, enum ig_al_method *out)
{
    for (int i = 0; name && i < IG_AL_METHOD_COUNT; i++)
        if (!strcasecmp(name, rows[i].name)) {
            *out = (enum ig_al_method)i;
            return 1;
        }
    return 0;
}
