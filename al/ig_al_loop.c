/* The active-learning loop (Algorithm 1 of METHOD.md) as named phases: init or resume, line-1 model, AL epochs (train -> score -> fit -> predict -> select), final training; methods come from the method table. */
#include "ig_al_internal.h"
#include "ig_dist.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ig_al_report(struct ig_al_run *r, const char *stage, int al_epoch, int train_epoch, double loss, double value,
                  double secs)
{
    if (!r->p->progress) return;
    struct ig_al_progress ev = {r->mname, stage, al_epoch, train_epoch, loss, value, secs, NULL, NULL, 0};
    if (r->p->progress(&ev, r->p->progress_user)) r->stop = true;
}

/* The "score" event, carrying the per-instance scores of rows[0..n). */
static void report_scores(struct ig_al_run *r, int al_epoch, int train_epoch, double value, double secs,
                          const double *scores, const int64_t *rows, int64_t n)
{
    if (!r->p->progress) return;
    struct ig_al_progress ev = {r->mname, "score", al_epoch, train_epoch, NAN, value, secs, scores, rows, n};
    if (r->p->progress(&ev, r->p->progress_user)) r->stop = true;
}

/* Seed of the minibatch order of training epoch `ep` at AL epoch `al` (stateless, so a
 * resumed run and every method of one seed see the same orders). */
static uint64_t order_seed(uint64_t seed, int al, int ep) { return ig_hash64(seed ^ ig_hash64(0x0de5ull + (uint64_t)al * 1000u + (uint64_t)ep)); }

enum ig_status ig_al_evaluate(struct ig_model *m, const struct ig_dataset *data, int64_t batch, struct ig_norm_params norm,
                              double *acc)
{
    if (!m || !data || !acc || batch < 1 || data->n < 1) return ig_error(IG_ERR_INVALID_ARG, "ig_al_evaluate: bad argument");
    int32_t *pred = malloc((size_t)data->n * sizeof *pred);
    if (!pred) return ig_error(IG_ERR_OOM, "ig_al_evaluate: out of host memory");
    struct ig_predict_out out = {.pred = pred};
    enum ig_status s = ig_model_predict(m, data, NULL, data->n, batch, norm, &out);
    int64_t correct = 0;
    for (int64_t i = 0; s == IG_OK && i < data->n; i++) correct += pred[i] == data->labels[i];
    free(pred);
    if (s == IG_OK) *acc = (double)correct / (double)data->n;
    return s;
}

/* ---------------------------------------------------------------- training */

/* One epoch over set[0..n) in minibatches (order from oseed). *mean_loss: mean training loss. */
static enum ig_status train_epoch(struct ig_al_run *r, const int64_t *set, int64_t n, uint64_t oseed, double *mean_loss)
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
        int64_t lo, hi;   /* this rank's block of the minibatch (all of it without data parallelism) */
        ig_dist_dp_batch(r->p->dist, nb, &lo, &hi);
        s = ig_batcher_fill(r->batch, rows + lo, hi - lo, &x, &y);
        if (s == IG_OK) s = ig_model_train_step(r->m, r->opt, r->g, x, y, &loss, NULL);
        bool whole = lo == 0 && hi == nb;   /* every rank computed all nb rows: count them once */
        loss_sum += (double)loss * (double)(hi - lo) / (whole ? ig_dist_size(r->p->dist) : 1);
    }
    if (s == IG_OK) s = ig_dist_sum_f64(r->p->dist, &loss_sum, 1);
    free(perm);
    free(rows);
    *mean_loss = n ? loss_sum / (double)n : NAN;
    return s;
}

/* train_epochs epochs over LI ∪ NLI (r->li[0..n_li + n_nli)) at AL epoch al. */
static enum ig_status train_labeled(struct ig_al_run *r, int al, const char *stage)
{
    int64_t n_lab = r->n_li + r->n_nli;
    memcpy(r->li + r->n_li, r->nli, (size_t)r->n_nli * sizeof *r->nli);   /* LI ∪ NLI view, LI unchanged */
    for (int ep = 1; ep <= r->p->train_epochs; ep++) {
        double te = ig_now_seconds(), loss;
        IG_TRY(train_epoch(r, r->li, n_lab, order_seed(r->p->seed, al, ep), &loss));
        ig_al_report(r, stage, al, ep, loss, NAN, ig_now_seconds() - te);
    }
    return IG_OK;
}

/* ---------------------------------------------------------------- index sets */

/* NLI = the pool positions picked[0..k) (in that order); they leave UI, which keeps its order. */
static enum ig_status take_positions(struct ig_al_run *r, const size_t *picked, int64_t k)
{
    char *taken = calloc((size_t)(r->n_ui ? r->n_ui : 1), 1);
    if (!taken) return ig_error(IG_ERR_OOM, "selection: out of host memory");
    for (int64_t j = 0; j < k; j++) {
        r->nli[j] = r->ui[picked[j]];
        taken[picked[j]] = 1;
    }
    r->n_nli = k;
    int64_t w = 0;
    for (int64_t i = 0; i < r->n_ui; i++)
        if (!taken[i]) r->ui[w++] = r->ui[i];
    r->n_ui = w;
    free(taken);
    return IG_OK;
}

/* Append NLI to LI. */
static void merge_nli(struct ig_al_run *r)
{
    memcpy(r->li + r->n_li, r->nli, (size_t)r->n_nli * sizeof *r->nli);
    r->n_li += r->n_nli;
    r->n_nli = 0;
}

/* ---------------------------------------------------------------- phases */

/* Line 1, shared: load the line-1 model from init_path when its sidecar matches, else
 * train on LI and write it. The model's generator is then reseeded so every method
 * continues from the same state. Line 2: NLI = k uniform from UI. */
static enum ig_status phase_line1(struct ig_al_run *r, struct ig_al_result *res)
{
    const struct ig_al_params *p = r->p;
    struct al_settings set;
    ig_al_fp_line1(r, r->li, r->n_li, &set);
    char meta[4200];
    if (p->init_path) snprintf(meta, sizeof meta, "%s.json", p->init_path);
    double a0 = NAN, ts = 0, t0 = ig_now_seconds();
    if (p->init_path && ig_al_init_meta_load(meta, p->init_path, &set, &a0, &ts)) {
        bool opt_loaded = false;
        IG_TRY(ig_model_load(r->m, r->opt, p->init_path, &opt_loaded));
        if (!opt_loaded) return ig_error(IG_ERR_FORMAT, "%s: optimiser state missing", p->init_path);
        res->a0 = a0;
        res->init_train_s = ts;
        ig_al_report(r, "init-load", 0, 0, NAN, a0, ig_now_seconds() - t0);
    } else {
        IG_TRY(train_labeled(r, 0, "init-train"));
        res->init_train_s = ig_now_seconds() - t0;
        double te = ig_now_seconds();
        IG_TRY(ig_al_evaluate(r->m, r->test, p->eval_batch, p->norm, &res->a0));
        ig_al_report(r, "eval", 0, 0, NAN, res->a0, ig_now_seconds() - te);
        if (p->init_path) {
            IG_TRY(ig_model_save(r->m, r->opt, p->init_path));
            IG_TRY(ig_al_init_meta_save(meta, p->init_path, &set, res->a0, res->init_train_s));
        }
    }
    ig_rng_seed(ig_model_rng(r->m), ig_hash64(p->seed ^ 0xa1a1ull));
    size_t *picked = malloc((size_t)p->k * sizeof *picked);
    if (!picked) return ig_error(IG_ERR_OOM, "selection: out of host memory");
    enum ig_status s = ig_al_draw_random(r, ig_hash64(p->seed ^ 0x11ull), p->k, picked);   /* line 2 */
    if (s == IG_OK) s = take_positions(r, picked, p->k);
    free(picked);
    return s;
}

/* Line 5: train on LI ∪ NLI; for a method with a regressor, score NLI after every training
 * epoch in eval mode and sum the scores into r->acc_score. */
static enum ig_status phase_train_score(struct ig_al_run *r, int i, struct ig_al_epoch_stats *st)
{
    const struct ig_al_params *p = r->p;
    bool scored = r->row->regressor != IG_AL_REGRESSOR_NONE;
    int64_t n_lab = r->n_li + r->n_nli;
    memcpy(r->li + r->n_li, r->nli, (size_t)r->n_nli * sizeof *r->nli);   /* LI ∪ NLI view, LI unchanged */
    for (int64_t j = 0; j < r->n_nli; j++) r->acc_score[j] = 0;
    for (int ep = 1; ep <= p->train_epochs; ep++) {
        double t0 = ig_now_seconds(), loss;
        IG_TRY(train_epoch(r, r->li, n_lab, order_seed(p->seed, i, ep), &loss));
        st->train_s += ig_now_seconds() - t0;
        ig_al_report(r, "train", i, ep, loss, NAN, ig_now_seconds() - t0);
        if (!scored) continue;
        t0 = ig_now_seconds();
        r->ref_draw_seed = ig_hash64(p->seed ^ 0x5ab5e7ull ^ ((uint64_t)i << 20) ^ ((uint64_t)ep << 8));
        IG_TRY(ig_al_score_split(r, r->nli, r->n_nli, r->score));
        for (int64_t j = 0; j < r->n_nli; j++) r->acc_score[j] += r->score[j];
        st->score_s += ig_now_seconds() - t0;
        report_scores(r, i, ep, NAN, ig_now_seconds() - t0, r->score, r->nli, r->n_nli);
    }
    return IG_OK;
}

/* Lines 6 and 8: r_x = mean over the training epochs (binned for an RF), fit on NLI, r̂ for UI. */
static enum ig_status phase_fit(struct ig_al_run *r, int i, struct ig_al_epoch_stats *st)
{
    double mean = 0;
    for (int64_t j = 0; j < r->n_nli; j++) {
        r->acc_score[j] /= (double)r->p->train_epochs;
        mean += r->acc_score[j];
    }
    st->score_mean = r->n_nli ? mean / (double)r->n_nli : NAN;
    if (r->row->regressor == IG_AL_REGRESSOR_RF) IG_TRY(ig_al_rank_bin(r->acc_score, (size_t)r->n_nli, r->acc_score));
    IG_TRY(ig_al_fit_predict(r, r->acc_score, i, r->pool, st));
    double t0 = ig_now_seconds();
    IG_TRY(ig_al_fit_cv(r, r->acc_score, i, &st->reg_spearman));
    st->fit_s += ig_now_seconds() - t0;
    ig_al_report(r, "fit", i, 0, NAN, NAN, st->fit_s + st->predict_s);
    return IG_OK;
}

/* Lines 7, 9-11: LI ∪= NLI; score the pool (methods without a regressor) and select NLI. */
static enum ig_status phase_select(struct ig_al_run *r, int i, struct ig_al_epoch_stats *st)
{
    merge_nli(r);
    double t0 = ig_now_seconds();
    if (r->row->regressor == IG_AL_REGRESSOR_NONE && r->row->score) IG_TRY(ig_al_score_split(r, r->ui, r->n_ui, r->pool));
    size_t *picked = malloc((size_t)r->p->k * sizeof *picked);
    if (!picked) return ig_error(IG_ERR_OOM, "selection: out of host memory");
    enum ig_status s = r->row->select(r, i, r->pool, r->p->k, picked);
    if (s == IG_OK) s = take_positions(r, picked, r->p->k);
    free(picked);
    for (int64_t j = 0; s == IG_OK && j < r->n_nli; j++) {
        int32_t c = r->train->labels[r->nli[j]];
        if (c >= 0 && c < IG_AL_MAX_CLASSES) st->class_hist[c]++;
    }
    st->select_s = ig_now_seconds() - t0;
    ig_al_report(r, "select", i, 0, NAN, NAN, st->select_s);
    return s;
}

/* One AL epoch i: train -> score -> fit -> predict -> select, then the checkpoint. */
static enum ig_status phase_al_epoch(struct ig_al_run *r, struct ig_al_result *res, int i)
{
    const struct ig_al_params *p = r->p;
    struct ig_al_epoch_stats *st = &res->epochs[i - 1];
    memset(st, 0, sizeof *st);
    st->test_acc = st->score_mean = st->reg_spearman = NAN;
    st->n_labeled = r->n_li + r->n_nli;
    r->delta_grad_norm = r->delta_wd_norm = r->delta_cos = NAN;
    double t_epoch = ig_now_seconds();
    IG_TRY(phase_train_score(r, i, st));
    st->delta_grad_norm = r->delta_grad_norm;
    st->delta_wd_norm = r->delta_wd_norm;
    st->delta_cos = r->delta_cos;
    if (p->track_accuracy) IG_TRY(ig_al_evaluate(r->m, r->test, p->eval_batch, p->norm, &st->test_acc));
    if (r->row->regressor != IG_AL_REGRESSOR_NONE) IG_TRY(phase_fit(r, i, st));
    IG_TRY(phase_select(r, i, st));
    st->total_s = ig_now_seconds() - t_epoch;
    IG_TRY(ig_al_save_state(r, res, i, false));
    if (r->stop) return ig_error(IG_ERR_STATE, "active learning stopped by the progress callback after AL epoch %d", i);
    return IG_OK;
}

/* Final retraining on LI ∪ NLI so A includes the last batch; A = test accuracy. */
static enum ig_status phase_final(struct ig_al_run *r, struct ig_al_result *res)
{
    const struct ig_al_params *p = r->p;
    double t0 = ig_now_seconds();
    IG_TRY(train_labeled(r, p->al_epochs + 1, "final-train"));
    res->final_train_s = ig_now_seconds() - t0;
    merge_nli(r);
    t0 = ig_now_seconds();
    IG_TRY(ig_al_evaluate(r->m, r->test, p->eval_batch, p->norm, &res->a));
    res->eval_s = ig_now_seconds() - t0;
    ig_al_report(r, "eval", p->al_epochs + 1, 0, NAN, res->a, res->eval_s);
    return ig_al_save_state(r, res, p->al_epochs, true);
}

/* ---------------------------------------------------------------- init, free, the run */

static enum ig_status check_params(const struct ig_al_params *p, const struct ig_dataset *train,
                                   const struct ig_dataset *test, const int64_t *li, int64_t n_li, const int64_t *ui,
                                   int64_t n_ui)
{
    if ((unsigned)p->method >= IG_AL_METHOD_COUNT) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: unknown method");
    if ((unsigned)p->params >= IG_AL_PARAMS_COUNT) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: unknown parameter set");
    if (p->reference != IG_AL_REF_FULL && p->reference != IG_AL_REF_NLI)
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: reference %s", IG_AL_RUNNING_REMOVED);
    if (p->reference_subset < 0 || (p->reference_subset > 0 && p->reference != IG_AL_REF_FULL))
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: reference_subset must be >= 0 and needs the full reference");
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
    for (int64_t i = 0; i < n_li; i++)
        if (li[i] < 0 || li[i] >= train->n) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: LI row %lld out of range", (long long)li[i]);
    for (int64_t i = 0; i < n_ui; i++)
        if (ui[i] < 0 || ui[i] >= train->n) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: UI row %lld out of range", (long long)ui[i]);
    return IG_OK;
}

/* Index sets, buffers, optimiser, graph, batch tensors, engine and fingerprint of a run. */
static enum ig_status run_init(struct ig_al_run *r, struct ig_al_result *res, struct ig_model *m,
                               const struct ig_dataset *train, const struct ig_dataset *test, const int64_t *li,
                               int64_t n_li, const int64_t *ui, int64_t n_ui, const struct ig_al_params *p)
{
    r->p = p;
    r->row = ig_al_method_row(p->method);
    r->m = m;
    r->be = ig_model_backend(m);
    r->train = train;
    r->test = test;
    r->feat = ig_dataset_image_bytes(train);
    r->mname = r->row->name;
    int64_t k = p->k;
    r->li = malloc((size_t)(n_li + n_ui) * sizeof *r->li);
    r->ui = malloc((size_t)n_ui * sizeof *r->ui);
    r->nli = malloc((size_t)k * sizeof *r->nli);
    r->score = malloc((size_t)k * sizeof *r->score);
    r->acc_score = malloc((size_t)k * sizeof *r->acc_score);
    r->pool = malloc((size_t)n_ui * sizeof *r->pool);
    res->epochs = calloc((size_t)(p->al_epochs ? p->al_epochs : 1), sizeof *res->epochs);
    res->al_epochs = p->al_epochs;
    if (!r->li || !r->ui || !r->nli || !r->score || !r->acc_score || !r->pool || !res->epochs)
        return ig_error(IG_ERR_OOM, "ig_al_run: out of host memory");
    memcpy(r->li, li, (size_t)n_li * sizeof *li);
    memcpy(r->ui, ui, (size_t)n_ui * sizeof *ui);
    r->n_li = n_li;
    r->n_ui = n_ui;
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = p->lr;
    ap.weight_decay = p->weight_decay;
    IG_TRY(ig_optim_adam_new(&r->opt, m, ap));
    IG_TRY(ig_dist_dp_attach(p->dist, r->opt, m));
    IG_TRY(ig_graph_new(r->be, &r->g));
    IG_TRY(ig_batcher_new(&r->batch, r->be, train, p->batch_size > p->eval_batch ? p->batch_size : p->eval_batch, p->norm));
    if (r->row->per_sample_grads) {
        struct ig_al_engine_opts eo = ig_al_engine_opts_default();
        eo.params = p->params;
        IG_TRY(ig_al_engine_new_opts(&r->e, m, &eo));
    }
    r->fp = ig_al_fp_run(r, li, n_li, ui, n_ui);
    return IG_OK;
}

static void run_free(struct ig_al_run *r)
{
    ig_al_engine_free(r->e);
    ig_batcher_free(r->batch);
    ig_graph_free(r->g);
    ig_optim_free(r->opt);
    free(r->li);
    free(r->ui);
    free(r->nli);
    free(r->score);
    free(r->acc_score);
    free(r->pool);
}

enum ig_status ig_al_run(struct ig_al_result *res, struct ig_model *m, const struct ig_dataset *train,
                         const struct ig_dataset *test, const int64_t *li, int64_t n_li, const int64_t *ui,
                         int64_t n_ui, const struct ig_al_params *p)
{
    if (!res || !m || !train || !test || !li || !ui || !p) return ig_error(IG_ERR_INVALID_ARG, "ig_al_run: NULL argument");
    memset(res, 0, sizeof *res);
    IG_TRY(check_params(p, train, test, li, n_li, ui, n_ui));
    struct ig_al_run r;
    memset(&r, 0, sizeof r);
    int start = 1;
    bool finished = false;
    enum ig_status s = run_init(&r, res, m, train, test, li, n_li, ui, n_ui, p);
    if (s == IG_OK) s = ig_al_resume(&r, res, &start, &finished);
    if (s == IG_OK && !res->resumed) {
        s = phase_line1(&r, res);
        if (s == IG_OK) s = ig_al_save_state(&r, res, 0, false);
    }
    if (s == IG_OK && r.stop) s = ig_error(IG_ERR_STATE, "active learning stopped by the progress callback");
    for (int i = start; s == IG_OK && !finished && i <= p->al_epochs; i++) s = phase_al_epoch(&r, res, i);
    if (s == IG_OK && !finished) s = phase_final(&r, res);
    else if (s == IG_OK) merge_nli(&r);
    if (s == IG_OK) {
        res->n_labeled = r.n_li;
        res->labeled = r.li;
        r.li = NULL;
        ig_al_report(&r, "done", p->al_epochs + 1, 0, NAN, res->a, 0);
    }
    run_free(&r);
    if (s != IG_OK) ig_al_result_free(res);
    return s;
}
