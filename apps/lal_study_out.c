/* lal_study outputs: the run JSON of a unit, the baseline accuracy of a finished run file, the per-step score .npy files, the kept final model and the cleanup of temporaries. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ig_cli.h"
#include "ig_dist.h"
#include "ig_nn.h"
#include "ig_npy.h"
#include "ig_util.h"
#include "lal_study.h"

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* A float setting as the decimal it was typed as (1e-3f -> 0.001), for the JSON. */
static double as_decimal(float f)
{
    char b[32];
    snprintf(b, sizeof b, "%.7g", (double)f);
    return strtod(b, NULL);
}

static int write_json_atomic(const char *prog, json_t *root, const char *path)
{
    struct ig_atomic_file af;
    enum ig_status st = ig_atomic_open(&af, path);
    if (st == IG_OK && json_dumpf(root, af.fp, JSON_INDENT(1)) != 0) {
        ig_atomic_abort(&af);
        st = ig_error(IG_ERR_IO, "%s: write failed", path);
    }
    if (st == IG_OK) st = ig_atomic_commit(&af);
    if (st != IG_OK) fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, ig_last_error());
    return st == IG_OK ? 0 : -1;
}

/* epochs[]: per-phase seconds, test accuracy, labels spent (n_labeled = |LI ∪ NLI| the epoch's
 * model was trained on, the x of the learning curve; labels_spent = n_labeled - |LI| at line 1)
 * and the diagnostics of the loop (README). */
static json_t *epochs_json(const struct lal_study *s, const struct lal_run_out *r)
{
    json_t *ep = json_array();
    for (int i = 0; i < r->res.al_epochs; i++) {
        const struct ig_al_epoch_stats *st = &r->res.epochs[i];
        json_t *e = json_object();
        json_object_set_new(e, "train_s", num(st->train_s));
        json_object_set_new(e, "score_s", num(st->score_s));
        json_object_set_new(e, "fit_s", num(st->fit_s));
        json_object_set_new(e, "predict_s", num(st->predict_s));
        json_object_set_new(e, "select_s", num(st->select_s));
        json_object_set_new(e, "total_s", num(st->total_s));
        json_object_set_new(e, "score_mean", num(st->score_mean));
        json_object_set_new(e, "test_acc", num(st->test_acc));
        json_object_set_new(e, "n_labeled", json_integer(st->n_labeled));
        json_object_set_new(e, "labels_spent", json_integer(st->n_labeled - r->n_li0));
        json_object_set_new(e, "reg_spearman", num(st->reg_spearman));
        json_object_set_new(e, "delta_grad_norm", num(st->delta_grad_norm));
        json_object_set_new(e, "delta_wd_norm", num(st->delta_wd_norm));
        json_object_set_new(e, "delta_cos", num(st->delta_cos));
        json_t *h = json_array();
        for (int c = 0; c < s->train->num_classes && c < IG_AL_MAX_CLASSES; c++)
            json_array_append_new(h, json_integer(st->class_hist[c]));
        json_object_set_new(e, "class_hist", h);
        json_array_append_new(ep, e);
    }
    return ep;
}

int lal_study_write_run(const struct lal_study *s, const struct lal_unit *u, const struct lal_run_out *r)
{
    const struct ig_al_params *p = &s->base;
    json_t *j = json_object();
    json_object_set_new(j, "method", json_string(ig_al_method_name(u->method)));
    json_object_set_new(j, "seed", json_integer((json_int_t)u->seed));
    json_object_set_new(j, "unit", json_string(u->name));
    json_object_set_new(j, "dataset", json_string(s->dataset));
    json_object_set_new(j, "arch", json_string(s->arch));
    char ref[48];
    json_object_set_new(j, "reference", json_string(ig_al_reference_label(p, ref, sizeof ref)));
    json_object_set_new(j, "params", json_string(ig_al_param_set_name(p->params)));
    json_object_set_new(j, "abs_cos", json_boolean(p->abs_cos));
    json_object_set_new(j, "device", json_string(ig_backend_name(s->be)));
    json_object_set_new(j, "preset", s->preset ? json_string(s->preset) : json_null());
    json_object_set_new(j, "train_subset", json_integer(s->train->n));
    json_object_set_new(j, "test_size", json_integer(s->test->n));
    json_object_set_new(j, "unlabeled_frac", json_real(u->frac));
    json_object_set_new(j, "n_li", json_integer(r->n_li0));
    json_object_set_new(j, "n_ui", json_integer(r->n_ui));
    json_object_set_new(j, "k", json_integer(u->k));
    json_object_set_new(j, "al_epochs", json_integer(p->al_epochs));
    json_object_set_new(j, "train_epochs", json_integer(p->train_epochs));
    json_object_set_new(j, "batch", json_integer(p->batch_size));
    json_object_set_new(j, "lr", json_real(as_decimal(p->lr)));
    json_object_set_new(j, "wd", json_real(as_decimal(p->weight_decay)));
    json_object_set_new(j, "a0", num(r->res.a0));
    json_object_set_new(j, "a", num(r->res.a));
    json_object_set_new(j, "pct_increase", num(r->pct_inc));
    json_object_set_new(j, "pct_rnd", num(r->pct_rnd));
    json_object_set_new(j, "pct_lcs", num(r->pct_lcs));
    json_object_set_new(j, "seconds_per_al_epoch", num(r->sec_per_epoch));
    json_object_set_new(j, "init_train_s", num(r->res.init_train_s));
    json_object_set_new(j, "final_train_s", num(r->res.final_train_s));
    json_object_set_new(j, "eval_s", num(r->res.eval_s));
    json_object_set_new(j, "wall_s", num(r->wall_s));
    json_object_set_new(j, "resumed", json_boolean(r->res.resumed));
    json_object_set_new(j, "line1_trained", json_boolean(r->line1_trained));
    json_object_set_new(j, "epochs", epochs_json(s, r));
    json_t *sel = json_array();
    for (int64_t i = r->n_li0; i < r->res.n_labeled; i++) json_array_append_new(sel, json_integer(r->res.labeled[i]));
    json_object_set_new(j, "labeled_rows_added", sel);
    char path[4400];
    snprintf(path, sizeof path, "%s/run-%s.json", s->out, u->name);
    int rc = write_json_atomic(s->prog, j, path);
    json_decref(j);
    return rc;
}

double lal_study_read_num(const char *dir, const char *name, const char *key)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/run-%s.json", dir, name);
    json_t *root = json_load_file(path, 0, NULL);
    json_t *a = root ? json_object_get(root, key) : NULL;
    double v = json_is_number(a) ? json_number_value(a) : json_is_boolean(a) ? (double)json_is_true(a) : NAN;
    json_decref(root);
    return v;
}

static enum ig_status dir_make(const char *d)
{
    if (mkdir(d, 0755) == 0 || errno == EEXIST) return IG_OK;
    return ig_error(IG_ERR_IO, "%s: cannot create the directory: %s", d, strerror(errno));
}

enum ig_status lal_study_write_npy(const char *dir, const char *file, const void *data, int64_t n, bool ints)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/scores", dir);
    IG_TRY(dir_make(path));
    snprintf(path, sizeof path, "%s/scores/%s.npy", dir, file);
    int64_t shape[2] = {n, 1};
    return ig_npy_write(path, ints ? IG_NPY_I64 : IG_NPY_F64, 1, shape, data);
}

enum ig_status lal_study_write_model(const struct lal_study *s, const struct lal_unit *u, const struct ig_model *m,
                                     const struct ig_al_params *p, const struct ig_al_result *res)
{
    const struct ig_dataset *tr = s->train;
    char path[4300], v[8][160], names[IG_DATA_MAX_CLASSES * (IG_DATA_NAME_LEN + 1) + 1] = "";
    snprintf(path, sizeof path, "%s/model-%s.safetensors", s->out, u->name);
    snprintf(v[0], sizeof v[0], "%dx%dx%d", tr->channels, tr->height, tr->width);
    snprintf(v[1], sizeof v[1], "%d", tr->num_classes);
    snprintf(v[2], sizeof v[2], "%.9g", (double)p->norm.mean[0]);
    snprintf(v[3], sizeof v[3], "%.9g", (double)p->norm.std[0]);
    snprintf(v[4], sizeof v[4], "%llu", (unsigned long long)p->seed);
    snprintf(v[5], sizeof v[5], "%.6f", res->a0);
    snprintf(v[6], sizeof v[6], "%.6f", res->a);
    char ref[48];
    snprintf(v[7], sizeof v[7],
             "train %lld, test %lld, unlabeled_frac %g, k %lld, al_epochs %d, train_epochs %d, lr %g, wd %g, ref %s",
             (long long)tr->n, (long long)s->test->n, u->frac, (long long)p->k, p->al_epochs, p->train_epochs,
             (double)p->lr, (double)p->weight_decay, ig_al_reference_label(p, ref, sizeof ref));
    for (int c = 0; c < tr->num_classes && c < IG_DATA_MAX_CLASSES; c++) {
        if (c) strcat(names, ";");
        strncat(names, tr->class_names[c], IG_DATA_NAME_LEN);
    }
    const char *keys[] = {"igradv_input", "igradv_classes", "igradv_norm_mean", "igradv_norm_std", "igradv_seed",
                          "igradv_a0", "igradv_a", "igradv_settings", "igradv_dataset", "igradv_method",
                          "igradv_class_names", "igradv_run"};
    const char *vals[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], s->dataset, ig_al_method_name(p->method),
                          names, u->name};
    return ig_model_save_meta(m, NULL, path, 12, keys, vals);
}

int lal_study_clean(const struct lal_study *s)
{
    char sub[2][4200];
    snprintf(sub[0], sizeof sub[0], "%s/ckpt", s->out);
    snprintf(sub[1], sizeof sub[1], "%s/scores", s->out);
    enum ig_status st = IG_OK;
    if (ig_dist_rank(s->dist) == 0) {
        st = ig_atomic_clean_dir(s->out, NULL);
        for (int i = 0; i < 2 && st == IG_OK; i++) st = ig_atomic_clean_dir(sub[i], NULL);
    }
    if (st != IG_OK) fprintf(stderr, "%s: --out %s: %s\n", s->prog, s->out, ig_last_error());
    if (ig_dist_size(s->dist) > 1 && ig_dist_barrier(s->dist) != IG_OK) {
        fprintf(stderr, "%s: MPI: %s\n", s->prog, ig_last_error());
        return 1;
    }
    return st == IG_OK ? -1 : IG_CLI_EXIT_USAGE;
}
