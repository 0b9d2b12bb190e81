/* The method table: one row per selection method (name, what it selects, needs per-sample gradients?, regressor, scoring and selection functions), names and parsing. */
#include "ig_al_internal.h"
#include <stdlib.h>
#include <strings.h>

/* ---------------------------------------------------------------- scoring */

enum ig_status ig_al_score_lcs(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out)
{
    int64_t m = r->train->num_classes;
    float *probs = malloc((size_t)((n ? n : 1) * m) * sizeof *probs);
    if (!probs) return ig_error(IG_ERR_OOM, "LCS: out of host memory");
    struct ig_predict_out po = {.probs = probs};
    enum ig_status s = ig_model_predict(r->m, r->train, rows, n, r->p->eval_batch, r->p->norm, &po);
    if (s == IG_OK) s = ig_al_lcs_scores(probs, (size_t)n, (size_t)m, out);
    free(probs);
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
