/* A run's persistence: the fingerprint of its inputs, the state written after line 2 and every AL epoch, and resuming from it. */
#include "ig_al_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void path_join(char *out, size_t cap, const char *dir, const char *tag, const char *suffix)
{
    snprintf(out, cap, "%s/%s%s", dir, tag, suffix);
}

uint64_t ig_al_fp_line1(const struct ig_al_run *r, const int64_t *li, int64_t n_li)
{
    const struct ig_al_params *p = r->p;
    uint64_t h = IG_AL_FNV_INIT;
    h = ig_al_fnv(h, li, (size_t)n_li * sizeof *li);
    h = ig_al_fnv(h, &n_li, sizeof n_li);
    h = ig_al_fnv(h, &p->train_epochs, sizeof p->train_epochs);
    h = ig_al_fnv(h, &p->batch_size, sizeof p->batch_size);
    h = ig_al_fnv(h, &p->lr, sizeof p->lr);
    h = ig_al_fnv(h, &p->weight_decay, sizeof p->weight_decay);
    h = ig_al_fnv(h, &p->seed, sizeof p->seed);
    h = ig_al_fnv(h, ig_model_arch(r->m), strlen(ig_model_arch(r->m)));
    int64_t np = ig_model_num_params(r->m);
    h = ig_al_fnv(h, &np, sizeof np);
    h = ig_al_fnv(h, &r->train->n, sizeof r->train->n);
    return h;
}

uint64_t ig_al_fp_run(const struct ig_al_run *r, const int64_t *li, int64_t n_li, const int64_t *ui, int64_t n_ui)
{
    const struct ig_al_params *p = r->p;
    uint64_t fp = ig_al_fp_line1(r, li, n_li);
    fp = ig_al_fnv(fp, ui, (size_t)n_ui * sizeof *ui);
    fp = ig_al_fnv(fp, &p->method, sizeof p->method);
    fp = ig_al_fnv(fp, &p->reference, sizeof p->reference);
    fp = ig_al_fnv(fp, &p->k, sizeof p->k);
    fp = ig_al_fnv(fp, &p->al_epochs, sizeof p->al_epochs);
    fp = ig_al_fnv(fp, &p->gbr_estimators, sizeof p->gbr_estimators);
    fp = ig_al_fnv(fp, &p->rf_estimators, sizeof p->rf_estimators);
    fp = ig_al_fnv(fp, &p->rf_max_depth, sizeof p->rf_max_depth);
    fp = ig_al_fnv(fp, &p->params, sizeof p->params);
    fp = ig_al_fnv(fp, &p->abs_cos, sizeof p->abs_cos);
    return fp;
}

static const char *run_tag(const struct ig_al_run *r) { return r->p->tag ? r->p->tag : r->mname; }

/* Drop the model files of the previous state once the new state names its own. */
static void remove_prev_model(struct ig_al_run *r, const char *model_file)
{
    const char *dir = r->p->checkpoint_dir;
    if (r->prev_model[0] && strcmp(r->prev_model, model_file)) {
        char old[4400];
        snprintf(old, sizeof old, "%s/%s", dir, r->prev_model);
        remove(old);
        snprintf(old, sizeof old, "%s/%s.optim", dir, r->prev_model);
        remove(old);
    }
    snprintf(r->prev_model, sizeof r->prev_model, "%s", model_file);
}

enum ig_status ig_al_save_state(struct ig_al_run *r, const struct ig_al_result *res, int epoch_done, bool done)
{
    const struct ig_al_params *p = r->p;
    if (!p->checkpoint_dir) return IG_OK;
    struct al_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.method, sizeof st.method, "%s", r->mname);
    st.fingerprint = r->fp;
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
    st.model_rng = *ig_model_rng(r->m);
    st.al_epochs = p->al_epochs;
    st.epochs = res->epochs;
    /* a finished run keeps only its state (the result); no model file */
    if (!done) {
        snprintf(st.model_file, sizeof st.model_file, "%s.e%d.safetensors", run_tag(r), epoch_done);
        char mpath[4400];
        snprintf(mpath, sizeof mpath, "%s/%s", p->checkpoint_dir, st.model_file);
        IG_TRY(ig_model_save(r->m, r->opt, mpath));
    }
    char path[4400];
    path_join(path, sizeof path, p->checkpoint_dir, run_tag(r), ".state.json");
    IG_TRY(ig_al_state_save(&st, path));
    remove_prev_model(r, st.model_file);
    return IG_OK;
}

/* Copy a loaded state into the run and the result. */
static void adopt_state(struct ig_al_run *r, struct ig_al_result *res, const struct al_state *st)
{
    memcpy(r->li, st->li, (size_t)st->n_li * sizeof *st->li);
    memcpy(r->ui, st->ui, (size_t)st->n_ui * sizeof *st->ui);
    memcpy(r->nli, st->nli, (size_t)st->n_nli * sizeof *st->nli);
    r->n_li = st->n_li;
    r->n_ui = st->n_ui;
    r->n_nli = st->n_nli;
    *ig_model_rng(r->m) = st->model_rng;
    res->a0 = st->a0;
    res->a = st->a;
    res->init_train_s = st->init_train_s;
    res->final_train_s = st->final_train_s;
    res->eval_s = st->eval_s;
    memcpy(res->epochs, st->epochs, (size_t)r->p->al_epochs * sizeof *res->epochs);
    res->resumed = true;
    snprintf(r->prev_model, sizeof r->prev_model, "%s", st->model_file);
}

enum ig_status ig_al_resume(struct ig_al_run *r, struct ig_al_result *res, int *start, bool *finished)
{
    const struct ig_al_params *p = r->p;
    if (!p->resume || !p->checkpoint_dir) return IG_OK;
    char path[4400];
    path_join(path, sizeof path, p->checkpoint_dir, run_tag(r), ".state.json");
    if (access(path, F_OK) != 0) return IG_OK;
    struct al_state st;
    IG_TRY(ig_al_state_load(&st, path));
    enum ig_status s = IG_OK;
    int64_t total = r->n_li + r->n_ui;
    if (st.fingerprint != r->fp || strcmp(st.method, r->mname) || st.al_epochs != p->al_epochs ||
        st.n_li + st.n_ui + st.n_nli != total || st.n_nli > p->k)
        s = ig_error(IG_ERR_STATE, "%s: the checkpoint belongs to a different run (method, split or settings differ)", path);
    if (s == IG_OK && !st.done) {
        /* a finished run needs no model: its result is in the state */
        char mpath[4400];
        snprintf(mpath, sizeof mpath, "%s/%s", p->checkpoint_dir, st.model_file);
        bool opt_loaded = false;
        s = ig_model_load(r->m, r->opt, mpath, &opt_loaded);
        if (s == IG_OK && !opt_loaded) s = ig_error(IG_ERR_FORMAT, "%s: optimiser state missing", mpath);
    }
    if (s == IG_OK) {
        adopt_state(r, res, &st);
        *start = st.epoch_done + 1;
        *finished = st.done;
        ig_al_report(r, "resume", st.epoch_done, 0, NAN, NAN, 0);
    }
    ig_al_state_free(&st);
    return s;
}
