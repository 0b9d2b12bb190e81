/* The LAL-IGradV active-learning loop (Algorithm 1 of METHOD.md) and the Rnd / LCS baselines, with per-epoch checkpoints and resume. */
#include "ig_al_internal.h"
#include "ig_regress.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct run {
    const struct ig_al_params *p;
    struct ig_model *m;
    struct ig_optim *opt;
    struct ig_graph *g;
    struct ig_al_engine *e;
    struct ig_backend *be;
    const struct ig_al_data *train, *test;
    int64_t feat;                    /* bytes per row: C·H·W */
    /* index sets (rows of train) */
    int64_t *li, n_li, *ui, n_ui, *nli, n_nli;
    /* host staging of one batch */
    uint8_t *hx;
    int32_t *hy;
    int64_t hcap;
    const char *mname;
    bool stop;                       /* the progress callback asked to stop */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void report(struct run *r, const char *stage, int al_epoch, int train_epoch, double loss, double value, double secs)
{
    if (!r->p->progress) return;
    struct ig_al_progress ev = {r->mname, stage, al_epoch, train_epoch, loss, value, secs};
    if (r->p->progress(&ev, r->p->progress_user)) r->stop = true;
}

/* Seed of the minibatch order of training epoch `ep` at AL epoch `al` (stateless, so a
 * resumed run and every method of one seed see the same orders). */
static uint64_t order_seed(uint64_t seed, int al, int ep) { return ig_hash64(seed ^ ig_hash64(0x0de5ull + (uint64_t)al * 1000u + (uint64_t)ep)); }

/* ---------------------------------------------------------------- batches */

static enum ig_status stage_cap(uint8_t **hx, int32_t **hy, int64_t *cap, int64_t n, int64_t feat)
{
    if (n <= *cap) return IG_OK;
    free(*hx);
    free(*hy);
    *hx = malloc((size_t)(n * feat));
    *hy = malloc((size_t)n * sizeof **hy);
    if (!*hx || !*hy) {
        *cap = 0;
        return ig_error(IG_ERR_OOM, "active learning: out of host memory for a batch of %lld", (long long)n);
    }
    *cap = n;
    return IG_OK;
}

/* x f32 [n,C,H,W] normalised and y i32 [n] on be from the rows idx of d. */
static enum ig_status make_batch(struct ig_backend *be, const struct ig_al_data *d, const int64_t *idx, int64_t n,
                                 struct ig_norm_params norm, uint8_t *hx, int32_t *hy, struct ig_tensor **x,
                                 struct ig_tensor **y)
{
    int64_t feat = (int64_t)d->channels * d->height * d->width;
    for (int64_t i = 0; i < n; i++) {
        memcpy(hx + i * feat, d->images + idx[i] * feat, (size_t)feat);
        hy[i] = d->labels[idx[i]];
    }
    int64_t shape[4] = {n, d->channels, d->height, d->width}, ys[1] = {n};
    struct ig_tensor *xu = ig_tensor_from_host(be, IG_DTYPE_U8, 4, shape, hx);
    *x = ig_tensor_new(be, IG_DTYPE_F32, 4, shape);
    *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy);
    enum ig_status s = (!xu || !*x || !*y) ? IG_ERR_OOM : ig_normalize_u8(*x, xu, norm);
    ig_tensor_free(xu);
    if (s != IG_OK) {
        ig_tensor_free(*x);
        ig_tensor_free(*y);
        *x = *y = NULL;
    }
    return s;
}

static enum ig_status run_batch(struct run *r, const int64_t *idx, int64_t n, struct ig_tensor **x, struct ig_tensor **y)
{
    IG_TRY(stage_cap(&r->hx, &r->hy, &r->hcap, n, r->feat));
    return make_batch(r->be, r->train, idx, n, r->p->norm, r->hx, r->hy, x, y);
}

enum ig_status ig_al_evaluate(struct ig_model *m, const struct ig_al_data *data, int64_t batch, struct ig_norm_params norm,
                              double *acc)
{
    if (!m || !data || !acc || batch < 1 || data->n < 1) return ig_error(IG_ERR_INVALID_ARG, "ig_al_evaluate: bad argument");
    int64_t feat = (int64_t)data->channels * data->height * data->width;
    uint8_t *hx = malloc((size_t)(batch * feat));
    int32_t *hy = malloc((size_t)batch * sizeof *hy);
    int64_t *idx = malloc((size_t)batch * sizeof *idx);
    struct ig_graph *g = NULL;
    enum ig_status s = (!hx || !hy || !idx) ? ig_error(IG_ERR_OOM, "ig_al_evaluate: out of host memory") : ig_graph_new(m->be, &g);
    bool was = m->training;
    ig_model_set_train(m, false);
    int64_t correct = 0;
    for (int64_t i = 0; s == IG_OK && i < data->n; i += batch) {
        int64_t nb = data->n - i < batch ? data->n - i : batch;
        for (int64_t j = 0; j < nb; j++) idx[j] = i + j;
        struct ig_tensor *x = NULL, *y = NULL;
        s = make_batch(m->be, data, idx, nb, norm, hx, hy, &x, &y);
        if (s == IG_OK) s = ig_model_eval_batch(m, g, x, y, NULL, &correct);
        ig_tensor_free(x);
        ig_tensor_free(y);
    }
    ig_model_set_train(m, was);
    ig_graph_free(g);
    free(hx);
    free(hy);
    free(idx);
    if (s == IG_OK) *acc = (double)correct / (double)data->n;
    return s;
}

/* ---------------------------------------------------------------- training */

/* One epoch over set[0..n) in minibatches (order from oseed). running: D += B (g + wd θ)
 * after every step. *mean_loss: mean training loss. */
static enum ig_status train_epoch(struct run *r, const int64_t *set, int64_t n, uint64_t oseed, bool running,
                                  double *mean_loss)
{
    int64_t B = r->p->batch_size;
    int64_t *perm = malloc((size_t)n * sizeof *perm), *rows = malloc((size_t)B * sizeof *rows);
    if (!perm || !rows) {
        free(perm);
        free(rows);
        return ig_error(IG_ERR_OOM, "training: out of host memory");
    }
    struct ig_rng rng;
    ig_rng_seed(&rng, oseed);
    ig_rng_permutation(&rng, perm, n);
    enum ig_status s = IG_OK;
    double loss_sum = 0;
    for (int64_t i = 0; s == IG_OK && i < n; i += B) {
        int64_t nb = n - i < B ? n - i : B;
        for (int64_t j = 0; j < nb; j++) rows[j] = set[perm[i + j]];
        struct ig_tensor *x = NULL, *y = NULL;
        float loss = 0;
        s = run_batch(r, rows, nb, &x, &y);
        if (s == IG_OK) s = ig_model_train_step(r->m, r->opt, r->g, x, y, &loss, NULL);
        if (s == IG_OK && running) {
            s = ig_al_engine_ref_add_param_grads(r->e, (float)nb);
            if (s == IG_OK) s = ig_al_engine_ref_add_theta(r->e, (float)nb * r->p->weight_decay);
        }
        loss_sum += (double)loss * (double)nb;
        ig_tensor_free(x);
        ig_tensor_free(y);
    }
    free(perm);
    free(rows);
    *mean_loss = n ? loss_sum / (double)n : NAN;
    return s;
}

/* ---------------------------------------------------------------- scoring */

/* D = Σ_{x in set} ∇L_x + n wd θ at the current θ (eval mode). */
static enum ig_status reference_full(struct run *r, const int64_t *set, int64_t n)
{
    IG_TRY(ig_al_engine_ref_zero(r->e));
    int64_t B = r->p->eval_batch;
    enum ig_status s = IG_OK;
    for (int64_t i = 0; s == IG_OK && i < n; i += B) {
        int64_t nb = n - i < B ? n - i : B;
        struct ig_tensor *x = NULL, *y = NULL;
        s = run_batch(r, set + i, nb, &x, &y);
        if (s == IG_OK) s = ig_al_engine_ref_add_batch(r->e, x, y);
        ig_tensor_free(x);
        ig_tensor_free(y);
    }
    if (s == IG_OK) s = ig_al_engine_ref_add_theta(r->e, (float)n * r->p->weight_decay);
    return s;
}

/* DS or LD score of every x in NLI against the reference now in the engine. */
static enum ig_status score_with_reference(struct run *r, enum ig_al_score kind, double *out)
{
    int64_t k = r->n_nli, B = r->p->eval_batch;
    struct ig_al_ref_stats rs;
    IG_TRY(ig_al_engine_ref_stats(r->e, &rs));
    double *dot = malloc((size_t)k * sizeof *dot), *tdot = malloc((size_t)k * sizeof *tdot);
    double *sq = malloc((size_t)k * sizeof *sq), *dd = malloc((size_t)k * sizeof *dd), *dsq = malloc((size_t)k * sizeof *dsq);
    enum ig_status s = (!dot || !tdot || !sq || !dd || !dsq) ? ig_error(IG_ERR_OOM, "scoring: out of host memory") : IG_OK;
    for (int64_t i = 0; s == IG_OK && i < k; i += B) {
        int64_t nb = k - i < B ? k - i : B;
        struct ig_tensor *x = NULL, *y = NULL;
        s = run_batch(r, r->nli + i, nb, &x, &y);
        if (s == IG_OK) s = ig_al_engine_batch(r->e, x, y, dot + i, tdot + i, sq + i);
        ig_tensor_free(x);
        ig_tensor_free(y);
    }
    if (s == IG_OK) {
        ig_al_instance_terms((size_t)k, dot, tdot, sq, r->p->weight_decay, &rs, dd, dsq);
        ig_al_scores_from_dots(kind, (size_t)k, dd, dsq, rs.ref_sq, out);
    }
    free(dot);
    free(tdot);
    free(sq);
    free(dd);
    free(dsq);
    return s;
}

/* Score NLI after one training epoch; lab = LI ∪ NLI. *spearman: running vs full. */
static enum ig_status score_epoch(struct run *r, enum ig_al_score kind, const int64_t *lab, int64_t n_lab, double *out,
                                  double *spearman)
{
    const struct ig_al_params *p = r->p;
    ig_model_set_train(r->m, false);
    enum ig_status s = IG_OK;
    *spearman = NAN;
    if (p->reference == IG_AL_REF_FULL) s = reference_full(r, lab, n_lab);
    else if (p->reference == IG_AL_REF_NLI) s = reference_full(r, r->nli, r->n_nli);
    if (s == IG_OK) s = score_with_reference(r, kind, out);
    if (s == IG_OK && p->reference == IG_AL_REF_RUNNING && p->compare_running) {
        double *full = malloc((size_t)r->n_nli * sizeof *full);
        if (!full) s = ig_error(IG_ERR_OOM, "scoring: out of host memory");
        if (s == IG_OK) s = reference_full(r, lab, n_lab);
        if (s == IG_OK) s = score_with_reference(r, kind, full);
        if (s == IG_OK) *spearman = ig_al_spearman(out, full, (size_t)r->n_nli);
        free(full);
    }
    ig_model_set_train(r->m, true);
    return s;
}

/* ---------------------------------------------------------------- selection */

/* Gather the pixel rows idx[0..n) of train into a [n, feat] byte matrix. */
static uint8_t *gather(const struct run *r, const int64_t *idx, int64_t n)
{
    uint8_t *x = malloc((size_t)((n ? n : 1) * r->feat));
    for (int64_t i = 0; x && i < n; i++) memcpy(x + i * r->feat, r->train->images + idx[i] * r->feat, (size_t)r->feat);
    return x;
}

static enum ig_status regress_error(const char *what)
{
    return ig_error(IG_ERR_INTERNAL, "%s: %s", what, ig_regress_last_error());
}

/* Fit the regressor of the method on (pixels of NLI, r) and predict r̂ for the pool UI. */
static enum ig_status fit_predict(struct run *r, const double *score, int al_epoch, double *pred,
                                  struct ig_al_epoch_stats *st)
{
    const struct ig_al_params *p = r->p;
    bool ranked = p->method == IG_AL_METHOD_RDS || p->method == IG_AL_METHOD_RLD;
    int64_t k = r->n_nli, chunk = 4096;
    double t0 = now_s();
    uint8_t *x = gather(r, r->nli, k);
    float *yf = malloc((size_t)k * sizeof *yf);
    int32_t *yc = malloc((size_t)k * sizeof *yc);
    float *out = malloc((size_t)chunk * 3 * sizeof *out);
    enum ig_status s = (!x || !yf || !yc || !out) ? ig_error(IG_ERR_OOM, "regressor: out of host memory") : IG_OK;
    struct ig_gbr *gbr = NULL;
    struct ig_rf *rf = NULL;
    bool constant = false;
    if (s == IG_OK && !ranked) {
        for (int64_t i = 0; i < k; i++) yf[i] = (float)score[i];
        struct ig_gbr_params gp = ig_gbr_params_default();
        gp.loss = IG_GBR_LOSS_ABSOLUTE_ERROR;
        gp.n_estimators = p->gbr_estimators;
        gp.n_threads = p->n_threads;
        gp.seed = ig_hash64(p->seed ^ (uint64_t)al_epoch);
        if (ig_gbr_fit_u8(&gbr, x, (size_t)k, (size_t)r->feat, yf, &gp) != IG_REGRESS_OK) s = regress_error("GBR fit");
    } else if (s == IG_OK) {
        int present = 0;
        for (int64_t i = 0; i < k; i++) {
            yc[i] = score[i] >= 1.0 ? 2 : score[i] <= 0.0 ? 0 : 1;
            present |= 1 << yc[i];
        }
        constant = present == 1 || present == 2 || present == 4;   /* one class: nothing to learn */
        if (!constant) {
            struct ig_rf_params rp = ig_rf_params_default();
            rp.n_estimators = p->rf_estimators;
            rp.max_depth = p->rf_max_depth;
            rp.n_threads = p->n_threads;
            rp.seed = ig_hash64(p->seed ^ 0xf0e57ull ^ (uint64_t)al_epoch);
            if (ig_rf_classifier_fit_u8(&rf, x, (size_t)k, (size_t)r->feat, yc, 3, &rp) != IG_REGRESS_OK)
                s = regress_error("random forest fit");
        }
    }
    free(x);
    x = NULL;
    st->fit_s = now_s() - t0;
    t0 = now_s();
    for (int64_t i = 0; s == IG_OK && i < r->n_ui; i += chunk) {
        int64_t nb = r->n_ui - i < chunk ? r->n_ui - i : chunk;
        uint8_t *px = gather(r, r->ui + i, nb);
        if (!px) {
            s = ig_error(IG_ERR_OOM, "regressor: out of host memory");
            break;
        }
        if (!ranked) {
            if (ig_gbr_predict_u8(gbr, px, (size_t)nb, (size_t)r->feat, out) != IG_REGRESS_OK) s = regress_error("GBR predict");
            for (int64_t j = 0; s == IG_OK && j < nb; j++) pred[i + j] = out[j];
        } else if (constant) {
            for (int64_t j = 0; j < nb; j++) pred[i + j] = 0.0;
        } else {
            if (ig_rf_predict_proba_u8(rf, px, (size_t)nb, (size_t)r->feat, out) != IG_REGRESS_OK)
                s = regress_error("random forest predict");
            for (int64_t j = 0; s == IG_OK && j < nb; j++) pred[i + j] = 0.5 * out[3 * j + 1] + 1.0 * out[3 * j + 2];
        }
        free(px);
    }
    st->predict_s = now_s() - t0;
    ig_gbr_free(gbr);
    ig_rf_free(rf);
    free(yf);
    free(yc);
    free(out);
    return s;
}

/* φ (LCS) of every x in UI from the model's softmax in eval mode. */
static enum ig_status lcs_pool(struct run *r, double *phi)
{
    int64_t B = r->p->eval_batch, m = r->train->num_classes;
    float *probs = malloc((size_t)(B * m) * sizeof *probs);
    if (!probs) return ig_error(IG_ERR_OOM, "LCS: out of host memory");
    ig_model_set_train(r->m, false);
    enum ig_status s = IG_OK;
    for (int64_t i = 0; s == IG_OK && i < r->n_ui; i += B) {
        int64_t nb = r->n_ui - i < B ? r->n_ui - i : B;
        struct ig_tensor *x = NULL, *y = NULL, *pt = NULL;
        s = run_batch(r, r->ui + i, nb, &x, &y);
        if (s == IG_OK) {
            ig_graph_reset(r->g);
            ig_graph_set_grad_enabled(r->g, false);
            struct ig_var *logits = ig_model_forward(r->m, r->g, ig_graph_input(r->g, x, false));
            ig_graph_set_grad_enabled(r->g, true);
            if (!logits) s = ig_graph_status(r->g) != IG_OK ? ig_graph_status(r->g) : IG_ERR_INTERNAL;
            if (s == IG_OK) {
                struct ig_tensor *lv = ig_var_value(logits);
                pt = ig_tensor_new(r->be, IG_DTYPE_F32, 2, lv->shape);
                s = pt ? ig_softmax(pt, lv) : IG_ERR_OOM;
            }
            if (s == IG_OK) s = ig_tensor_to_host(pt, probs, (size_t)(nb * m) * sizeof *probs);
            if (s == IG_OK) s = ig_al_lcs_scores(probs, (size_t)nb, (size_t)m, phi + i);
        }
        ig_tensor_free(pt);
        ig_tensor_free(x);
        ig_tensor_free(y);
    }
    ig_model_set_train(r->m, true);
    free(probs);
    return s;
}

/* NLI = the k pool rows with the highest score (score: [n_ui]); they leave UI. */
static enum ig_status take_top(struct run *r, const double *score, int64_t k)
{
    size_t *top = malloc((size_t)(k ? k : 1) * sizeof *top);
    char *taken = calloc((size_t)(r->n_ui ? r->n_ui : 1), 1);
    enum ig_status s = (!top || !taken) ? ig_error(IG_ERR_OOM, "selection: out of host memory")
                                        : ig_al_topk(score, (size_t)r->n_ui, (size_t)k, top);
    if (s == IG_OK) {
        for (int64_t j = 0; j < k; j++) {
            r->nli[j] = r->ui[top[j]];
            taken[top[j]] = 1;
        }
        r->n_nli = k;
        int64_t w = 0;
        for (int64_t i = 0; i < r->n_ui; i++)
            if (!taken[i]) r->ui[w++] = r->ui[i];
        r->n_ui = w;
    }
    free(top);
    free(taken);
    return s;
}

/* k uniform draws from UI (without replacement) from a stateless seed. */
static enum ig_status take_random(struct run *r, int64_t k, uint64_t seed)
{
    double *u = malloc((size_t)(r->n_ui ? r->n_ui : 1) * sizeof *u);
    if (!u) return ig_error(IG_ERR_OOM, "selection: out of host memory");
    struct ig_rng rng;
    ig_rng_seed(&rng, seed);
    for (int64_t i = 0; i < r->n_ui; i++) u[i] = ig_rng_uniform(&rng);
    enum ig_status s = take_top(r, u, k);   /* top-k of iid uniforms = a uniform k-subset */
    free(u);
    return s;
}

/* ---------------------------------------------------------------- run */

static void path_join(char *out, size_t cap, const char *dir, const char *tag, const char *suffix)
{
    snprintf(out, cap, "%s/%s%s", dir, tag, suffix);
}

/* Line 1, shared: load the line-1 model from init_path when its sidecar matches, else
 * train on LI and write it. The model's generator is then reseeded so every method
 * continues from the same state. */
static enum ig_status line1(struct run *r, struct ig_al_result *res)
{
    const struct ig_al_params *p = r->p;
    struct al_settings set;
    ig_al_settings_line1(&set, p, r->m, r->train, r->test, r->li, r->n_li);
    char meta[4200];
    if (p->init_path) snprintf(meta, sizeof meta, "%s.json", p->init_path);
    double a0 = NAN, ts = 0;
    if (p->init_path && ig_al_init_meta_load(meta, p->init_path, &set, &a0, &ts)) {
        bool opt_loaded = false;
        double t0 = now_s();
        IG_TRY(ig_model_load(r->m, r->opt, p->init_path, &opt_loaded));
        if (!opt_loaded) return ig_error(IG_ERR_FORMAT, "%s: optimiser state missing", p->init_path);
        res->a0 = a0;
        res->init_train_s = ts;
        report(r, "init-load", 0, 0, NAN, a0, now_s() - t0);
    } else {
        double t0 = now_s();
        for (int ep = 1; ep <= p->train_epochs; ep++) {
            double te = now_s(), loss;
            IG_TRY(train_epoch(r, r->li, r->n_li, order_seed(p->seed, 0, ep), false, &loss));
            report(r, "init-train", 0, ep, loss, NAN, now_s() - te);
        }
        res->init_train_s = now_s() - t0;
        double te = now_s();
        IG_TRY(ig_al_evaluate(r->m, r->test, p->eval_batch, p->norm, &res->a0));
        report(r, "eval", 0, 0, NAN, res->a0, now_s() - te);
        if (p->init_path) {
            IG_TRY(ig_model_save(r->m, r->opt, p->init_path));
            IG_TRY(ig_al_init_meta_save(meta, p->init_path, &set, res->a0, res->init_train_s));
        }
    }
    ig_rng_seed(&r->m->rng, ig_hash64(p->seed ^ 0xa1a1ull));
    return IG_OK;
}

/* Append NLI to LI. */
static void merge_nli(struct run *r)
{
    memcpy(r->li + r->n_li, r->nli, (size_t)r->n_nli * sizeof *r->nli);
    r->n_li += r->n_nli;
    r->n_nli = 0;
}

static enum ig_status save_state(struct run *r, struct ig_al_result *res, int epoch_done, bool done,
                                 const struct al_settings *set, char *prev_model)
{
    const struct ig_al_params *p = r->p;
    if (!p->checkpoint_dir) return IG_OK;
    const char *tag = p->tag ? p->tag : r->mname;
    struct al_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.method, sizeof st.method, "%s", r->mname);
    st.settings = *set;
    st.epoch_done = epoch_done;
    st.done = done;
    st.a0 = res->a0;
    st.a = done ? res->a : NAN;
    st.init_train_s = res->init_train_s;
    st.final_train_s = res->final_train_s;
    st.eval_s = res->eval_s;
    st.li = r->li;
    st.n_li = r->n_li;
    st.ui = r->ui;
    st.n_ui = r->n_ui;
    st.nli = r->nli;
    st.n_nli = r->n_nli;
    st.model_rng = r->m->rng;
    st.al_epochs = p->al_epochs;
    st.epochs = res->epochs;
    /* a finished run keeps only its state (the result); no model file */
    if (!done) {
        snprintf(st.model_file, sizeof st.model_file, "%s.e%d.safetensors", tag, epoch_done);
        char mpath[4400];
        snprintf(mpath, sizeof mpath, "%s/%s", p->checkpoint_dir, st.model_file);
        IG_TRY(ig_al_state_model_save(r->m, r->opt, mpath, ig_al_settings_fingerprint(set), epoch_done));
    }
    char path[4400];
    path_join(path, sizeof path, p->checkpoint_dir, tag, ".state.json");
    IG_TRY(ig_al_state_save(&st, path));
    /* the state now names the new model file: the previous one (and any debris) can go */
    snprintf(prev_model, 256, "%s", st.model_file);
    return ig_al_state_clean(p->checkpoint_dir, tag, st.model_file);
}

static enum ig_status check_params(const struct ig_al_params *p, const struct ig_al_data *train, const struct ig_al_data *test,
                                   int64_t n_li, int64_t n_ui)
{
    if ((unsigned)p->method >= IG_AL_METHOD_COUNT) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: unknown method");
    if (p->k < 1 || p->al_epochs < 0 || p->train_epochs < 1 || p->batch_size < 1 || p->eval_batch < 1)
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: k, train_epochs, batch sizes must be >= 1 and al_epochs >= 0");
    if (!(p->lr > 0) || !(p->weight_decay >= 0))
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: lr must be > 0 and weight decay >= 0");
    if (n_li < 1) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: LI is empty");
    if (p->k * (p->al_epochs + 1) > n_ui)
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: budget k (al_epochs + 1) = %lld exceeds the pool |UI| = %lld",
                        (long long)(p->k * (p->al_epochs + 1)), (long long)n_ui);
    if (!train->images || !train->labels || !test->images || !test->labels || train->num_classes < 2)
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: data arrays missing or fewer than 2 classes");
    if (train->channels != test->channels || train->height != test->height || train->width != test->width)
        return ig_error(IG_ERR_SHAPE, "ig_al_run: train and test images differ in shape");
    return IG_OK;
}

enum ig_status ig_al_run(struct ig_al_result *res, struct ig_model *m, const struct ig_al_data *train,
                         const struct ig_al_data *test, const int64_t *li, int64_t n_li, const int64_t *ui,
                         int64_t n_ui, const struct ig_al_params *p)
{
    if (!res || !m || !train || !test || !li || !ui || !p) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: NULL argument");
    memset(res, 0, sizeof *res);
    IG_TRY(check_params(p, train, test, n_li, n_ui));
    for (int64_t i = 0; i < n_li; i++)
        if (li[i] < 0 || li[i] >= train->n) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: LI row %lld out of range", (long long)li[i]);
    for (int64_t i = 0; i < n_ui; i++)
        if (ui[i] < 0 || ui[i] >= train->n) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: UI row %lld out of range", (long long)ui[i]);

    struct run r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.m = m;
    r.be = m->be;
    r.train = train;
    r.test = test;
    r.feat = (int64_t)train->channels * train->height * train->width;
    r.mname = ig_al_method_name(p->method);
    bool scored = p->method <= IG_AL_METHOD_RLD;
    enum ig_al_score kind = p->method == IG_AL_METHOD_LD || p->method == IG_AL_METHOD_RLD ? IG_AL_LD : IG_AL_DS;
    int64_t total = n_li + n_ui, k = p->k;
    r.li = malloc((size_t)total * sizeof *r.li);
    r.ui = malloc((size_t)n_ui * sizeof *r.ui);
    r.nli = malloc((size_t)k * sizeof *r.nli);
    double *score = malloc((size_t)k * sizeof *score), *acc_score = malloc((size_t)k * sizeof *acc_score);
    double *pool = malloc((size_t)n_ui * sizeof *pool);
    res->epochs = calloc((size_t)(p->al_epochs ? p->al_epochs : 1), sizeof *res->epochs);
    res->al_epochs = p->al_epochs;
    enum ig_status s = (!r.li || !r.ui || !r.nli || !score || !acc_score || !pool || !res->epochs)
                           ? ig_error(IG_ERR_OOM, "ig_al_run: out of host memory")
                           : IG_OK;
    if (s == IG_OK) {
        memcpy(r.li, li, (size_t)n_li * sizeof *li);
        memcpy(r.ui, ui, (size_t)n_ui * sizeof *ui);
        r.n_li = n_li;
        r.n_ui = n_ui;
    }
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = p->lr;
    ap.weight_decay = p->weight_decay;
    if (s == IG_OK) s = ig_optim_adam_new(&r.opt, m, ap);
    if (s == IG_OK) s = ig_graph_new(r.be, &r.g);
    if (s == IG_OK && scored) s = ig_al_engine_new(&r.e, m);

    /* every input that changes a result (data hashes, sizes, settings, version) */
    struct al_settings set;
    ig_al_settings_run(&set, p, m, train, test, li, n_li, ui, n_ui);
    char prev_model[256] = "";
    int start = 1;
    bool finished = false;
    const char *tag = p->tag ? p->tag : r.mname;
    if (s == IG_OK && p->resume && p->checkpoint_dir) {
        char path[4400];
        path_join(path, sizeof path, p->checkpoint_dir, tag, ".state.json");
        struct al_state st;
        struct al_state_expect x = {&set, r.mname, tag, p->checkpoint_dir, train->n, li, ui, n_li, n_ui, k, p->al_epochs};
        if (access(path, F_OK) == 0 && (s = ig_al_state_load(&st, path)) == IG_OK) {
            s = ig_al_state_check(&st, &x, path);
            if (s == IG_OK && !st.done) {
                /* a finished run needs no model: its result is in the state */
                char mpath[4400];
                snprintf(mpath, sizeof mpath, "%s/%s", p->checkpoint_dir, st.model_file);
                bool opt_loaded = false;
                s = ig_model_load(m, r.opt, mpath, &opt_loaded);
                if (s == IG_OK && !opt_loaded) s = ig_error(IG_ERR_FORMAT, "%s: optimiser state missing", mpath);
            }
            if (s == IG_OK) {
                memcpy(r.li, st.li, (size_t)st.n_li * sizeof *st.li);
                memcpy(r.ui, st.ui, (size_t)st.n_ui * sizeof *st.ui);
                memcpy(r.nli, st.nli, (size_t)st.n_nli * sizeof *st.nli);
                r.n_li = st.n_li;
                r.n_ui = st.n_ui;
                r.n_nli = st.n_nli;
                m->rng = st.model_rng;
                res->a0 = st.a0;
                res->a = st.a;
                res->init_train_s = st.init_train_s;
                res->final_train_s = st.final_train_s;
                res->eval_s = st.eval_s;
                memcpy(res->epochs, st.epochs, (size_t)p->al_epochs * sizeof *res->epochs);
                res->resumed = true;
                start = st.epoch_done + 1;
                finished = st.done;
                snprintf(prev_model, sizeof prev_model, "%s", st.model_file);
                s = ig_al_state_clean(p->checkpoint_dir, tag, st.model_file);
                report(&r, "resume", st.epoch_done, 0, NAN, NAN, 0);
            }
            ig_al_state_free(&st);
        }
    }
    if (s == IG_OK && !res->resumed) {
        s = line1(&r, res);
        if (s == IG_OK) s = take_random(&r, k, ig_hash64(p->seed ^ 0x11ull));   /* line 2 */
        if (s == IG_OK) s = save_state(&r, res, 0, false, &set, prev_model);
    }
    if (s == IG_OK && r.stop) s = ig_error(IG_ERR_STATE, "active learning stopped by the progress callback");

    for (int i = start; s == IG_OK && !finished && i <= p->al_epochs; i++) {
        struct ig_al_epoch_stats *st = &res->epochs[i - 1];
        memset(st, 0, sizeof *st);
        st->ref_spearman = st->test_acc = st->score_mean = NAN;
        double t_epoch = now_s();
        /* line 5: train on LI ∪ NLI, scoring NLI after every training epoch */
        int64_t n_lab = r.n_li + r.n_nli;
        memcpy(r.li + r.n_li, r.nli, (size_t)r.n_nli * sizeof *r.nli);   /* LI ∪ NLI view, LI unchanged */
        for (int64_t j = 0; j < r.n_nli; j++) acc_score[j] = 0;
        double sp_sum = 0;
        int sp_n = 0;
        for (int ep = 1; s == IG_OK && ep <= p->train_epochs; ep++) {
            bool running = scored && p->reference == IG_AL_REF_RUNNING;
            double t0 = now_s(), loss;
            if (running) s = ig_al_engine_ref_zero(r.e);
            if (s == IG_OK) s = train_epoch(&r, r.li, n_lab, order_seed(p->seed, i, ep), running, &loss);
            st->train_s += now_s() - t0;
            report(&r, "train", i, ep, loss, NAN, now_s() - t0);
            if (s == IG_OK && scored) {
                double sp;
                t0 = now_s();
                s = score_epoch(&r, kind, r.li, n_lab, score, &sp);
                for (int64_t j = 0; s == IG_OK && j < r.n_nli; j++) acc_score[j] += score[j];
                if (s == IG_OK && !isnan(sp)) sp_sum += sp, sp_n++;
                st->score_s += now_s() - t0;
                report(&r, "score", i, ep, NAN, sp, now_s() - t0);
            }
        }
        if (s == IG_OK && p->track_accuracy) s = ig_al_evaluate(m, test, p->eval_batch, p->norm, &st->test_acc);
        if (s == IG_OK && scored) {
            /* line 6: r_x = mean over the training epochs; RDS / RLD binned after averaging */
            double mean = 0;
            for (int64_t j = 0; j < r.n_nli; j++) {
                acc_score[j] /= (double)p->train_epochs;
                mean += acc_score[j];
            }
            st->score_mean = r.n_nli ? mean / (double)r.n_nli : NAN;
            st->ref_spearman = sp_n ? sp_sum / sp_n : NAN;
            if (p->method == IG_AL_METHOD_RDS || p->method == IG_AL_METHOD_RLD)
                s = ig_al_rank_bin(acc_score, (size_t)r.n_nli, acc_score);
            if (s == IG_OK) s = fit_predict(&r, acc_score, i, pool, st);   /* fit on NLI; r̂ for UI (line 8) */
            report(&r, "fit", i, 0, NAN, NAN, st->fit_s + st->predict_s);
        }
        if (s == IG_OK) {
            merge_nli(&r);                                                   /* line 7 */
            double t0 = now_s();
            if (p->method == IG_AL_METHOD_LCS) s = lcs_pool(&r, pool);
            if (s == IG_OK && p->method == IG_AL_METHOD_RND) s = take_random(&r, k, ig_hash64(p->seed ^ 0x22ull ^ ((uint64_t)i << 20)));
            else if (s == IG_OK) s = take_top(&r, pool, k);                  /* lines 9-11 */
            st->select_s = now_s() - t0;
            report(&r, "select", i, 0, NAN, NAN, st->select_s);
        }
        st->total_s = now_s() - t_epoch;
        if (s == IG_OK) s = save_state(&r, res, i, false, &set, prev_model);
        if (s == IG_OK && r.stop) s = ig_error(IG_ERR_STATE, "active learning stopped by the progress callback after AL epoch %d", i);
    }

    if (s == IG_OK && !finished) {
        /* final retraining on LI ∪ NLI so A includes the last batch; A = test accuracy */
        int64_t n_lab = r.n_li + r.n_nli;
        memcpy(r.li + r.n_li, r.nli, (size_t)r.n_nli * sizeof *r.nli);
        double t0 = now_s();
        for (int ep = 1; s == IG_OK && ep <= p->train_epochs; ep++) {
            double te = now_s(), loss;
            s = train_epoch(&r, r.li, n_lab, order_seed(p->seed, p->al_epochs + 1, ep), false, &loss);
            report(&r, "final-train", p->al_epochs + 1, ep, loss, NAN, now_s() - te);
        }
        res->final_train_s = now_s() - t0;
        if (s == IG_OK) {
            merge_nli(&r);
            t0 = now_s();
            s = ig_al_evaluate(m, test, p->eval_batch, p->norm, &res->a);
            res->eval_s = now_s() - t0;
            report(&r, "eval", p->al_epochs + 1, 0, NAN, res->a, res->eval_s);
        }
        if (s == IG_OK) s = save_state(&r, res, p->al_epochs, true, &set, prev_model);
    } else if (s == IG_OK) {
        merge_nli(&r);
    }
    if (s == IG_OK) {
        res->n_labeled = r.n_li;
        res->labeled = r.li;
        r.li = NULL;
        report(&r, "done", p->al_epochs + 1, 0, NAN, res->a, 0);
    }
    ig_al_engine_free(r.e);
    ig_graph_free(r.g);
    ig_optim_free(r.opt);
    free(r.li);
    free(r.ui);
    free(r.nli);
    free(r.hx);
    free(r.hy);
    free(score);
    free(acc_score);
    free(pool);
    if (s != IG_OK) ig_al_result_free(res);
    return s;
}
