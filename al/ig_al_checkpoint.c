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

uint64_t ig_al_fp_line1(const struct ig_al_run *r, const int64_t *li, int64_t n_li, struct al_settings *set)
{
    ig_al_settings_line1(set, r->p, r->m, r->train, r->test, li, n_li);
    return ig_al_settings_fingerprint(set);
}

uint64_t ig_al_fp_run(struct ig_al_run *r, const int64_t *li, int64_t n_li, const int64_t *ui, int64_t n_ui)
{
    ig_al_settings_run(&r->set, r->p, r->m, r->train, r->test, li, n_li, ui, n_ui);
    return ig_al_settings_fingerprint(&r->set);
}

static const char *run_tag(const struct ig_al_run *r) { return r->p->tag ? r->p->tag : r->mname; }

enum ig_status ig_al_save_state(struct ig_al_run *r, const struct ig_al_result *res, int epoch_done, bool done)
{
    const struct ig_al_params *p = r->p;
    if (!p->checkpoint_dir) return IG_OK;
    struct al_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.method, sizeof st.method, "%s", r->mname);
    st.fingerprint = r->fp;
    st.settings = r->set;
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
        IG_TRY(ig_al_state_model_save(r->m, r->opt, mpath, r->fp, epoch_done));
    }
    char path[4400];
    path_join(path, sizeof path, p->checkpoint_dir, run_tag(r), ".state.json");
    IG_TRY(ig_al_state_save(&st, path));
    /* the state now names the new model file: the previous one (and any debris) can go */
    snprintf(r->prev_model, sizeof r->prev_model, "%s", st.model_file);
    return ig_al_state_clean(p->checkpoint_dir, run_tag(r), st.model_file);
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
    /* every field against this run; r->li / r->ui still hold the initial split */
    struct al_state_expect x = {&r->set, r->mname, run_tag(r), p->checkpoint_dir, r->train->n, r->li, r->ui,
                                r->n_li, r->n_ui, p->k, p->al_epochs};
    enum ig_status s = ig_al_state_check(&st, &x, path);
    if (s == IG_OK && !st.done) {
        /* a finished run needs no model: its result is in the state */
        char mpath[4400];
        snprintf(mpath, sizeof mpath, "%s/%s", p->checkpoint_dir, st.model_file);
        bool opt_loaded = false;
        s = ig_model_load(r->m, r->opt, mpath, &opt_loaded);
        if (s == IG_OK && !opt_loaded) s = ig_error(IG_ERR_FORMAT, "%s: optimiser state missing", mpath);
    }
    if (s == IG_OK) s = ig_al_state_clean(p->checkpoint_dir, run_tag(r), st.model_file);
    if (s == IG_OK) {
        adopt_state(r, res, &st);
        *start = st.epoch_done + 1;
        *finished = st.done;
        ig_al_report(r, "resume", st.epoch_done, 0, NAN, NAN, 0);
    }
    ig_al_state_free(&st);
    return s;
}
