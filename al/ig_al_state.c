/* al: reference names, parameter defaults, the seeded split, and the JSON checkpoint state of a run (jansson, atomic writes). */
#include "ig_al_internal.h"
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---------------------------------------------------------------- names, defaults */

static const char *const ref_names[3] = {"full", "running", "nli"};

const char *ig_al_reference_name(enum ig_al_reference r) { return (unsigned)r < 3 ? ref_names[r] : "?"; }

int ig_al_reference_parse(const char *name, enum ig_al_reference *out)
{
    for (int i = 0; name && i < 3; i++)
        if (!strcasecmp(name, ref_names[i])) {
            *out = (enum ig_al_reference)i;
            return 1;
        }
    return 0;
}

struct ig_al_params ig_al_params_default(void)
{
    struct ig_al_params p;
    memset(&p, 0, sizeof p);
    p.method = IG_AL_METHOD_DS;
    p.reference = IG_AL_REF_FULL;
    p.k = 500;
    p.al_epochs = 10;
    p.train_epochs = 10;
    p.batch_size = 32;
    p.eval_batch = 128;
    p.lr = 1e-4f;
    p.weight_decay = 5e-4f;
    p.seed = 1;
    p.gbr_estimators = 200;
    p.rf_estimators = 100;
    p.rf_max_depth = 5;
    p.track_accuracy = true;
    p.params = IG_AL_PARAMS_ALL;
    p.cv_folds = 5;
    for (int c = 0; c < 4; c++) p.norm.mean[c] = 0.5f, p.norm.std[c] = 0.5f;
    return p;
}

void ig_al_result_free(struct ig_al_result *r)
{
    if (!r) return;
    free(r->epochs);
    free(r->labeled);
    memset(r, 0, sizeof *r);
}

uint64_t ig_al_fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---------------------------------------------------------------- split */

enum ig_status ig_al_split(int64_t n, double unlabeled_frac, uint64_t seed, int64_t *li, int64_t *n_li, int64_t *ui,
                           int64_t *n_ui)
{
    if (!li || !ui || !n_li || !n_ui || n < 2) return ig_error(IG_ERR_INVALID_ARG, "ig_al_split: need n >= 2 and output arrays");
    if (!(unlabeled_frac > 0.0 && unlabeled_frac < 1.0))
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_split: unlabeled fraction %g is not in (0, 1)", unlabeled_frac);
    int64_t nu = (int64_t)llround(unlabeled_frac * (double)n);
    if (nu < 1) nu = 1;
    if (nu > n - 1) nu = n - 1;
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return ig_error(IG_ERR_OOM, "ig_al_split: out of host memory");
    struct ig_rng r;
    ig_rng_seed(&r, seed ^ 0x5eed5011ull);
    ig_rng_permutation(&r, perm, n);
    *n_ui = nu;
    *n_li = n - nu;
    memcpy(ui, perm, (size_t)nu * sizeof *perm);
    memcpy(li, perm + nu, (size_t)(n - nu) * sizeof *perm);
    free(perm);
    return IG_OK;
}

/* ---------------------------------------------------------------- JSON helpers */

static json_t *idx_array(const int64_t *v, int64_t n)
{
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n; i++) json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

static enum ig_status idx_read(json_t *a, int64_t **out, int64_t *n, const char *name, const char *path)
{
    if (!json_is_array(a)) return ig_error(IG_ERR_FORMAT, "%s: \"%s\" is not an array", path, name);
    size_t m = json_array_size(a);
    *out = malloc((m ? m : 1) * sizeof **out);
    if (!*out) return ig_error(IG_ERR_OOM, "%s: out of host memory", path);
    for (size_t i = 0; i < m; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return ig_error(IG_ERR_FORMAT, "%s: \"%s\"[%zu] is not a row index", path, name, i);
        (*out)[i] = (int64_t)json_integer_value(v);
    }
    *n = (int64_t)m;
    return IG_OK;
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static double num_get(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static enum ig_status write_atomic(json_t *root, const char *path)
{
    struct ig_atomic_file af;
    IG_TRY(ig_atomic_open(&af, path));
    if (json_dumpf(root, af.fp, JSON_INDENT(1) | JSON_COMPACT) != 0 || fputc('\n', af.fp) == EOF) {
        int err = errno;
        ig_atomic_abort(&af);
        return ig_error(IG_ERR_IO, "%s: write failed: %s", path, strerror(err));
    }
    return ig_atomic_commit(&af);
}

static json_t *epochs_json(const struct ig_al_epoch_stats *ep, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "train_s", num(ep[i].train_s));
        json_object_set_new(o, "score_s", num(ep[i].score_s));
        json_object_set_new(o, "fit_s", num(ep[i].fit_s));
        json_object_set_new(o, "predict_s", num(ep[i].predict_s));
        json_object_set_new(o, "select_s", num(ep[i].select_s));
        json_object_set_new(o, "total_s", num(ep[i].total_s));
        json_object_set_new(o, "test_acc", num(ep[i].test_acc));
        json_object_set_new(o, "score_mean", num(ep[i].score_mean));
        json_object_set_new(o, "n_labeled", json_integer(ep[i].n_labeled));
        json_object_set_new(o, "reg_spearman", num(ep[i].reg_spearman));
        json_object_set_new(o, "delta_grad_norm", num(ep[i].delta_grad_norm));
        json_object_set_new(o, "delta_wd_norm", num(ep[i].delta_wd_norm));
        json_object_set_new(o, "delta_cos", num(ep[i].delta_cos));
        json_t *h = json_array();
        for (int c = 0; c < IG_AL_MAX_CLASSES; c++) json_array_append_new(h, json_integer(ep[i].class_hist[c]));
        json_object_set_new(o, "class_hist", h);
        json_array_append_new(a, o);
    }
    return a;
}

/* ---------------------------------------------------------------- run state */

enum ig_status ig_al_state_save(const struct al_state *s, const char *path)
{
    json_t *root = json_object();
    if (!root) return ig_error(IG_ERR_OOM, "%s: out of memory", path);
    char fp[24], rng[4][24];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)s->fingerprint);
    json_object_set_new(root, "format", json_string("igradv-al-state-1"));
    json_object_set_new(root, "method", json_string(s->method));
    json_object_set_new(root, "fingerprint", json_string(fp));
    json_object_set_new(root, "al_epochs", json_integer(s->al_epochs));
    json_object_set_new(root, "epoch_done", json_integer(s->epoch_done));
    json_object_set_new(root, "done", json_boolean(s->done));
    json_object_set_new(root, "a0", num(s->a0));
    json_object_set_new(root, "a", num(s->a));
    json_object_set_new(root, "init_train_s", num(s->init_train_s));
    json_object_set_new(root, "final_train_s", num(s->final_train_s));
    json_object_set_new(root, "eval_s", num(s->eval_s));
    json_object_set_new(root, "model_file", json_string(s->model_file));
    json_t *r = json_array();
    for (int i = 0; i < 4; i++) {
        snprintf(rng[i], sizeof rng[i], "%016llx", (unsigned long long)s->model_rng.s[i]);
        json_array_append_new(r, json_string(rng[i]));
    }
    json_object_set_new(root, "model_rng", r);
    json_object_set_new(root, "epochs", epochs_json(s->epochs, s->epoch_done < s->al_epochs ? s->epoch_done : s->al_epochs));
    json_object_set_new(root, "li", idx_array(s->li, s->n_li));
    json_object_set_new(root, "ui", idx_array(s->ui, s->n_ui));
    json_object_set_new(root, "nli", idx_array(s->nli, s->n_nli));
    enum ig_status st = write_atomic(root, path);
    json_decref(root);
    return st;
}

void ig_al_state_free(struct al_state *s)
{
    if (!s) return;
    free(s->li);
    free(s->ui);
    free(s->nli);
    free(s->epochs);
    memset(s, 0, sizeof *s);
}

enum ig_status ig_al_state_load(struct al_state *s, const char *path)
{
    memset(s, 0, sizeof *s);
    if (access(path, F_OK) != 0) return ig_error(IG_ERR_IO, "%s: no state file", path);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) return ig_error(IG_ERR_FORMAT, "%s:%d: %s", path, jerr.line, jerr.text);
    enum ig_status st = IG_OK;
    const char *fmt = json_string_value(json_object_get(root, "format"));
    const char *method = json_string_value(json_object_get(root, "method"));
    const char *fp = json_string_value(json_object_get(root, "fingerprint"));
    const char *mf = json_string_value(json_object_get(root, "model_file"));
    json_t *rng = json_object_get(root, "model_rng"), *ep = json_object_get(root, "epochs");
    if (!fmt || strcmp(fmt, "igradv-al-state-1") || !method || !fp || !mf || !json_is_array(rng) ||
        json_array_size(rng) != 4 || !json_is_array(ep)) {
        json_decref(root);
        return ig_error(IG_ERR_FORMAT, "%s: not an igradv active-learning state file", path);
    }
    snprintf(s->method, sizeof s->method, "%s", method);
    snprintf(s->model_file, sizeof s->model_file, "%s", mf);
    s->fingerprint = strtoull(fp, NULL, 16);
    for (int i = 0; i < 4; i++) {
        const char *h = json_string_value(json_array_get(rng, (size_t)i));
        s->model_rng.s[i] = h ? strtoull(h, NULL, 16) : 0;
    }
    s->al_epochs = (int)json_integer_value(json_object_get(root, "al_epochs"));
    s->epoch_done = (int)json_integer_value(json_object_get(root, "epoch_done"));
    s->done = json_is_true(json_object_get(root, "done"));
    s->a0 = num_get(root, "a0");
    s->a = num_get(root, "a");
    s->init_train_s = num_get(root, "init_train_s");
    s->final_train_s = num_get(root, "final_train_s");
    s->eval_s = num_get(root, "eval_s");
    if (s->al_epochs < 0 || s->epoch_done < 0 || s->epoch_done > s->al_epochs)
        st = ig_error(IG_ERR_FORMAT, "%s: epoch counters out of range", path);
    if (st == IG_OK) st = idx_read(json_object_get(root, "li"), &s->li, &s->n_li, "li", path);
    if (st == IG_OK) st = idx_read(json_object_get(root, "ui"), &s->ui, &s->n_ui, "ui", path);
    if (st == IG_OK) st = idx_read(json_object_get(root, "nli"), &s->nli, &s->n_nli, "nli", path);
    if (st == IG_OK) {
        s->epochs = calloc((size_t)(s->al_epochs ? s->al_epochs : 1), sizeof *s->epochs);
        if (!s->epochs) st = ig_error(IG_ERR_OOM, "%s: out of host memory", path);
        for (int i = 0; st == IG_OK && i < s->al_epochs; i++) {
            json_t *o = json_array_get(ep, (size_t)i);
            struct ig_al_epoch_stats *e = &s->epochs[i];
            e->train_s = num_get(o, "train_s");
            e->score_s = num_get(o, "score_s");
            e->fit_s = num_get(o, "fit_s");
            e->predict_s = num_get(o, "predict_s");
            e->select_s = num_get(o, "select_s");
            e->total_s = num_get(o, "total_s");
            e->test_acc = num_get(o, "test_acc");
            e->score_mean = num_get(o, "score_mean");
            e->n_labeled = (int64_t)json_integer_value(json_object_get(o, "n_labeled"));
            e->reg_spearman = num_get(o, "reg_spearman");
            e->delta_grad_norm = num_get(o, "delta_grad_norm");
            e->delta_wd_norm = num_get(o, "delta_wd_norm");
            e->delta_cos = num_get(o, "delta_cos");
            json_t *h = json_object_get(o, "class_hist");
            for (int c = 0; c < IG_AL_MAX_CLASSES; c++) e->class_hist[c] = (int64_t)json_integer_value(json_array_get(h, (size_t)c));
        }
    }
    json_decref(root);
    if (st != IG_OK) ig_al_state_free(s);
    return st;
}

/* ---------------------------------------------------------------- line-1 sidecar */

enum ig_status ig_al_init_meta_save(const char *path, uint64_t fingerprint, double a0, double train_s)
{
    json_t *root = json_object();
    if (!root) return ig_error(IG_ERR_OOM, "%s: out of memory", path);
    char fp[24];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)fingerprint);
    json_object_set_new(root, "format", json_string("igradv-al-init-1"));
    json_object_set_new(root, "fingerprint", json_string(fp));
    json_object_set_new(root, "a0", num(a0));
    json_object_set_new(root, "train_s", num(train_s));
    enum ig_status st = write_atomic(root, path);
    json_decref(root);
    return st;
}

bool ig_al_init_meta_load(const char *path, uint64_t fingerprint, double *a0, double *train_s)
{
    if (access(path, F_OK) != 0) return false;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) return false;
    const char *fmt = json_string_value(json_object_get(root, "format"));
    const char *fp = json_string_value(json_object_get(root, "fingerprint"));
    bool ok = fmt && !strcmp(fmt, "igradv-al-init-1") && fp && strtoull(fp, NULL, 16) == fingerprint;
    if (ok) {
        *a0 = num_get(root, "a0");
        *train_s = num_get(root, "train_s");
        ok = isfinite(*a0);
    }
    json_decref(root);
    return ok;
}
