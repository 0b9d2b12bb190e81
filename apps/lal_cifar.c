/* lal_cifar: LAL-IGradV (DS, LD, RDS, RLD) and the Rnd / LCS baselines on CIFAR-10 or Fashion-MNIST, several seeds, JSON per run + CSV summary. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ig_al.h"
#include "ig_cli.h"
#include "ig_data.h"
#include "ig_nn.h"
#include "ig_util.h"
#include "lal_report.h"

#define MAX_SEEDS 64

static const char *prog = "lal_cifar";

static void usage(FILE *f)
{
    struct ig_al_params d = ig_al_params_default();
    fprintf(f,
            "usage: %s [options]\n"
            "       %s report DIR [--no-plots]   rebuild DIR's summary, results.md/.csv and figures\n"
            "Active learning with LAL-IGradV (Flesca et al.): for every seed, split the training subset into\n"
            "LI and UI, train the CNN on LI (A0, shared by all methods), then spend k labels per AL epoch\n"
            "with each method and report the final test accuracy A.\n\n"
            "  --preset P          quick | paper: set the defaults below first (flags after it override)\n"
            "                      quick: small CNN, 10000 train / 2000 test images, UI 50%%, k 200,\n"
            "                             3 AL epochs, 2 train epochs, lr 1e-3 (a few minutes on 2 cores)\n"
            "                      paper: the defaults below (paper CNN, all images, METHOD.md)\n"
            "  --data DIR          CIFAR-10 binary dir (cifar-10-batches-bin or its parent; default\n"
            "                      data/cifar-10-batches-bin) or the Fashion-MNIST dir with --dataset fmnist\n"
            "                      (default %s)\n"
            "  --dataset D         cifar10 | fmnist (default cifar10; features: 3072 / 784 pixel bytes)\n",
            prog, prog, IG_FMNIST_DEFAULT_DIR);
    fprintf(f, "  --methods LIST      comma list of methods (default all):\n");
    for (int m = 0; m < IG_AL_METHOD_COUNT; m++)
        fprintf(f, "                        %-8s %s\n", ig_al_method_name((enum ig_al_method)m),
                ig_al_method_summary((enum ig_al_method)m));
    fprintf(f,
            "  --unlabeled-frac F  |UI| as a fraction of the training subset, in (0,1) (default 0.5)\n"
            "  --train-subset N    first N training images (default all)\n"
            "  --test-size N       first N test images (default all)\n"
            "  --k N               labels per AL epoch (default %lld)\n"
            "  --al-epochs N       active-learning epochs (default %d)\n"
            "  --train-epochs N    training epochs at line 1, line 5 and the final retraining (default %d)\n"
            "  --batch N           training minibatch (default %lld)\n"
            "  --lr LR             Adam learning rate (default %g)\n"
            "  --wd WD             Adam weight decay (default %g)\n"
            "  --reference R       full | nli: reference gradient δ (default %s)\n"
            "  --params P          all | conv-linear: parameters of δ, δ_x and EGL (default %s)\n"
            "  --abs-cos           score |cos| as the published code does (DS = |cos|, LD = 1 - |cos|)\n",
            (long long)d.k, d.al_epochs, d.train_epochs, (long long)d.batch_size, (double)d.lr, (double)d.weight_decay,
            ig_al_reference_name(d.reference), ig_al_param_set_name(d.params));
    fprintf(f,
            "  --arch A            paper | small (default paper)\n"
            "  --seeds LIST        comma list of seeds (default 1); each seed: its own split and init\n"
            "  --device D          cpu | opencl | opencl:P:D (default: IGRADV_DEVICE, else best)\n"
            "  --threads T         CPU threads (default: OpenMP default)\n"
            "  --no-track-accuracy skip the test accuracy after every AL epoch (on by default)\n"
            "  --no-keep-models    do not keep the final model of each run (default: DIR/model-<method>-s<seed>\n"
            "                      .safetensors with its settings in the metadata; see igradv-model)\n"
            "  --out DIR           output directory (default runs/lal): run-<method>-s<seed>.json,\n"
            "                      summary.csv, ckpt/ (shared line-1 models, per-epoch checkpoints)\n"
            "  --resume            continue interrupted runs from DIR/ckpt (finished runs are reused)\n"
            "  --quiet             only one line per run on stderr\n"
            "  --help              this text\n"
            "Ctrl-C stops at the next AL-epoch checkpoint; rerun with --resume to continue.\n"
            "Exit status: 0 done, 1 runtime failure, 2 bad flag, file or data, 130 interrupted.\n");
}

/* Program settings; every active-learning and training setting lives in `al`, whose defaults
 * come from ig_al_params_default() (the presets change some of them). */
struct options {
    const char *data, *dataset, *arch, *device, *out, *preset;
    bool methods[IG_AL_METHOD_COUNT];
    int n_seeds;
    uint64_t seeds[MAX_SEEDS];
    double frac;
    int64_t train_subset, test_size, threads;
    bool resume, quiet, no_keep;
    struct ig_al_params al;
};

static struct options options_default(void)
{
    struct options o = {.dataset = "cifar10", .arch = "paper", .out = "runs/lal", .frac = 0.5, .n_seeds = 1, .seeds = {1}};
    for (int m = 0; m < IG_AL_METHOD_COUNT; m++) o.methods[m] = true;
    o.al = ig_al_params_default();
    return o;
}

static int bad(const char *opt, const char *what, const char *got) { return ig_cli_expected(prog, opt, what, got); }

/* paper: the library defaults (METHOD.md) on every image; quick: a small run on top of them. */
static void apply_preset(struct options *o, const char *preset)
{
    o->preset = preset;
    o->al = ig_al_params_default();
    o->arch = "paper";
    o->train_subset = 0;
    o->test_size = 0;
    if (!strcmp(preset, "quick")) {
        o->arch = "small";
        o->train_subset = 10000;
        o->test_size = 2000;
        o->frac = 0.5;
        o->al.k = 200;
        o->al.al_epochs = 3;
        o->al.train_epochs = 2;
        o->al.lr = 1e-3f;
    }
}

static int parse_list_methods(struct options *o, const char *v)
{
    memset(o->methods, 0, sizeof o->methods);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        enum ig_al_method m;
        if (!ig_al_method_parse(t, &m)) {
            char want[256] = "a comma list of";
            for (int i = 0; i < IG_AL_METHOD_COUNT; i++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? "," : " ",
                         ig_al_method_name((enum ig_al_method)i));
            return bad("--methods", want, v);
        }
        o->methods[m] = true;
        n++;
    }
    if (!n) return bad("--methods", "at least one method", v);
    return -1;
}

static int parse_list_seeds(struct options *o, const char *v)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v);
    o->n_seeds = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int64_t s;
        if (!ig_cli_parse_i64(t, 0, INT64_MAX, &s) || o->n_seeds == MAX_SEEDS)
            return bad("--seeds", "a comma list of at most 64 non-negative integers", v);
        for (int i = 0; i < o->n_seeds; i++)
            if (o->seeds[i] == (uint64_t)s) return bad("--seeds", "distinct seeds", v);
        o->seeds[o->n_seeds++] = (uint64_t)s;
    }
    if (!o->n_seeds) return bad("--seeds", "at least one seed", v);
    return -1;
}

/* A flag of the active-learning settings (o->al) with its value; -1: done, -2: not one of them, else exit status. */
static int parse_al_value(struct options *o, const char *a, const char *v)
{
    int64_t i;
    double f;
    struct ig_al_params *p = &o->al;
    if (!strcmp(a, "--reference")) {
        if (!ig_al_reference_parse(v, &p->reference) || p->reference == IG_AL_REF_RUNNING) {
            if (!strcmp(v, "running")) return ig_cli_usage_error(prog, "--reference %s", IG_AL_RUNNING_REMOVED);
            return bad(a, "full or nli", v);
        }
    } else if (!strcmp(a, "--params")) {
        if (!ig_al_param_set_parse(v, &p->params)) return bad(a, "all or conv-linear", v);
    } else if (!strcmp(a, "--k")) {
        if (!ig_cli_parse_i64(v, 1, 1000000000, &p->k)) return bad(a, "an integer >= 1", v);
    } else if (!strcmp(a, "--al-epochs")) {
        if (!ig_cli_parse_i64(v, 0, 100000, &i)) return bad(a, "an integer >= 0", v);
        p->al_epochs = (int)i;
    } else if (!strcmp(a, "--train-epochs")) {
        if (!ig_cli_parse_i64(v, 1, 100000, &i)) return bad(a, "an integer >= 1", v);
        p->train_epochs = (int)i;
    } else if (!strcmp(a, "--batch")) {
        if (!ig_cli_parse_i64(v, 1, 65536, &p->batch_size)) return bad(a, "an integer in 1..65536", v);
    } else if (!strcmp(a, "--lr")) {
        if (!ig_cli_parse_f(v, 1e-12, 10.0, &f)) return bad(a, "a number in (0, 10]", v);
        p->lr = (float)f;
    } else if (!strcmp(a, "--wd")) {
        if (!ig_cli_parse_f(v, 0.0, 10.0, &f)) return bad(a, "a number in [0, 10]", v);
        p->weight_decay = (float)f;
    } else {
        return -2;
    }
    return -1;
}

/* A program flag with its value; -1: done, else exit status. */
static int parse_value(struct options *o, const char *a, const char *v)
{
    int rc = parse_al_value(o, a, v);
    if (rc != -2) return rc;
    if (!strcmp(a, "--data")) o->data = v;
    else if (!strcmp(a, "--out")) o->out = v;
    else if (!strcmp(a, "--device")) o->device = v;
    else if (!strcmp(a, "--dataset")) {
        if (strcmp(v, "cifar10") && strcmp(v, "fmnist")) return bad(a, "cifar10 or fmnist", v);
        o->dataset = v;
    } else if (!strcmp(a, "--arch")) {
        if (strcmp(v, "paper") && strcmp(v, "small")) return bad(a, "paper or small", v);
        o->arch = v;
    } else if (!strcmp(a, "--methods")) return parse_list_methods(o, v);
    else if (!strcmp(a, "--seeds")) return parse_list_seeds(o, v);
    else if (!strcmp(a, "--unlabeled-frac")) {
        if (!ig_cli_parse_f(v, 1e-9, 1 - 1e-9, &o->frac)) return bad(a, "a fraction in (0, 1)", v);
    } else if (!strcmp(a, "--train-subset")) {
        if (!ig_cli_parse_i64(v, 2, 1000000000, &o->train_subset)) return bad(a, "an integer >= 2", v);
    } else if (!strcmp(a, "--test-size")) {
        if (!ig_cli_parse_i64(v, 1, 1000000000, &o->test_size)) return bad(a, "an integer >= 1", v);
    } else if (!strcmp(a, "--threads")) {
        if (!ig_cli_parse_i64(v, 1, 1024, &o->threads)) return bad(a, "an integer in 1..1024", v);
    }
    return -1;
}

/* A flag without a value; true when a is one. */
static bool parse_switch(struct options *o, const char *a)
{
    if (!strcmp(a, "--resume")) o->resume = true;
    else if (!strcmp(a, "--quiet")) o->quiet = true;
    else if (!strcmp(a, "--track-accuracy")) o->al.track_accuracy = true;
    else if (!strcmp(a, "--no-track-accuracy")) o->al.track_accuracy = false;
    else if (!strcmp(a, "--no-keep-models")) o->no_keep = true;
    else if (!strcmp(a, "--abs-cos")) o->al.abs_cos = true;
    else return false;
    return true;
}

/* Returns -1 to continue, else an exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
    /* the preset first, so explicit flags override it wherever they stand */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--preset")) {
            if (i + 1 >= argc) return bad("--preset", "quick or paper", "");
            if (strcmp(argv[i + 1], "quick") && strcmp(argv[i + 1], "paper")) return bad("--preset", "quick or paper", argv[i + 1]);
            apply_preset(o, argv[i + 1]);
        }
    static const char *const with_value[] = {"--preset", "--data", "--dataset", "--methods", "--unlabeled-frac",
                                             "--train-subset", "--test-size", "--k", "--al-epochs", "--train-epochs",
                                             "--batch", "--lr", "--wd", "--reference", "--arch", "--seeds",
                                             "--device", "--threads", "--out", "--params"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (parse_switch(o, a)) continue;
        if (!ig_cli_is_one_of(a, with_value, sizeof with_value / sizeof *with_value))
            return ig_cli_usage_error(prog, "unknown option '%s'", a);
        if (i + 1 >= argc) return ig_cli_usage_error(prog, "option %s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--preset")) continue;
        int rc = parse_value(o, a, v);
        if (rc >= 0) return rc;
    }
    return -1;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct progress_ctx { uint64_t seed; bool quiet; int al_epochs, train_epochs; bool final_trained; };

static int on_progress(const struct ig_al_progress *ev, void *user)
{
    struct progress_ctx *c = user;
    if (!strcmp(ev->stage, "final-train")) c->final_trained = true;   /* the model in memory is the final one */
    if (!c->quiet) {
        fprintf(stderr, "[%s s%llu] ", ev->method, (unsigned long long)c->seed);
        if (!strcmp(ev->stage, "init-train") || !strcmp(ev->stage, "train") || !strcmp(ev->stage, "final-train"))
            fprintf(stderr, "%s AL %d/%d epoch %d/%d loss %.4f (%.1f s)\n", ev->stage, ev->al_epoch, c->al_epochs,
                    ev->train_epoch, c->train_epochs, ev->loss, ev->seconds);
        else if (!strcmp(ev->stage, "eval") || !strcmp(ev->stage, "init-load"))
            fprintf(stderr, "%s AL %d: test accuracy %.4f (%.1f s)\n", ev->stage, ev->al_epoch, ev->value, ev->seconds);
        else if (!strcmp(ev->stage, "done"))
            fprintf(stderr, "done\n");
        else
            fprintf(stderr, "%s AL %d (%.2f s)\n", ev->stage, ev->al_epoch, ev->seconds);
    }
    return interrupted ? 1 : 0;
}

/* ---------------------------------------------------------------- outputs */

struct run_out {
    bool ran;
    struct ig_al_result res;
    double wall_s, sec_per_epoch;
    double pct_inc, pct_rnd, pct_lcs;
    int64_t n_li0;
    int n_classes;
};

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* A float setting as the decimal it was typed as (1e-3f -> 0.001), for the JSON. */
static double as_decimal(float f)
{
    char b[32];
    snprintf(b, sizeof b, "%.7g", (double)f);
    return strtod(b, NULL);
}

static int write_json_atomic(json_t *root, const char *path)
{
    struct ig_atomic_file af;
    if (ig_atomic_open(&af, path) != IG_OK) {
        fprintf(stderr, "%s: %s\n", prog, ig_last_error());
        return -1;
    }
    if (json_dumpf(root, af.fp, JSON_INDENT(1)) != 0) {
        ig_atomic_abort(&af);
        fprintf(stderr, "%s: cannot write %s\n", prog, path);
        return -1;
    }
    if (ig_atomic_commit(&af) != IG_OK) {
        fprintf(stderr, "%s: %s\n", prog, ig_last_error());
        return -1;
    }
    return 0;
}

/* Per AL epoch: timings, test accuracy and labels spent, and the diagnostics (README). */
static json_t *epochs_json(const struct ig_al_result *res, int n_classes)
{
    json_t *ep = json_array();
    for (int i = 0; i < res->al_epochs; i++) {
        const struct ig_al_epoch_stats *s = &res->epochs[i];
        json_t *e = json_object();
        json_object_set_new(e, "train_s", num(s->train_s));
        json_object_set_new(e, "score_s", num(s->score_s));
        json_object_set_new(e, "fit_s", num(s->fit_s));
        json_object_set_new(e, "predict_s", num(s->predict_s));
        json_object_set_new(e, "select_s", num(s->select_s));
        json_object_set_new(e, "total_s", num(s->total_s));
        json_object_set_new(e, "score_mean", num(s->score_mean));
        json_object_set_new(e, "test_acc", num(s->test_acc));
        json_object_set_new(e, "n_labeled", json_integer(s->n_labeled));
        json_object_set_new(e, "reg_spearman", num(s->reg_spearman));
        json_object_set_new(e, "delta_grad_norm", num(s->delta_grad_norm));
        json_object_set_new(e, "delta_wd_norm", num(s->delta_wd_norm));
        json_object_set_new(e, "delta_cos", num(s->delta_cos));
        json_t *h = json_array();
        for (int c = 0; c < n_classes && c < IG_AL_MAX_CLASSES; c++) json_array_append_new(h, json_integer(s->class_hist[c]));
        json_object_set_new(e, "class_hist", h);
        json_array_append_new(ep, e);
    }
    return ep;
}

static int write_run_json(const struct options *o, const char *device, enum ig_al_method m, uint64_t seed,
                          const struct run_out *r, int64_t n_train, int64_t n_test, int64_t n_ui)
{
    json_t *j = json_object();
    json_object_set_new(j, "method", json_string(ig_al_method_name(m)));
    json_object_set_new(j, "seed", json_integer((json_int_t)seed));
    json_object_set_new(j, "dataset", json_string(o->dataset));
    json_object_set_new(j, "arch", json_string(o->arch));
    json_object_set_new(j, "reference", json_string(ig_al_reference_name(o->al.reference)));
    json_object_set_new(j, "params", json_string(ig_al_param_set_name(o->al.params)));
    json_object_set_new(j, "abs_cos", json_boolean(o->al.abs_cos));
    json_object_set_new(j, "device", json_string(device));
    json_object_set_new(j, "preset", o->preset ? json_string(o->preset) : json_null());
    json_object_set_new(j, "train_subset", json_integer(n_train));
    json_object_set_new(j, "test_size", json_integer(n_test));
    json_object_set_new(j, "unlabeled_frac", json_real(o->frac));
    json_object_set_new(j, "n_li", json_integer(r->n_li0));
    json_object_set_new(j, "n_ui", json_integer(n_ui));
    json_object_set_new(j, "k", json_integer(o->al.k));
    json_object_set_new(j, "al_epochs", json_integer(o->al.al_epochs));
    json_object_set_new(j, "train_epochs", json_integer(o->al.train_epochs));
    json_object_set_new(j, "batch", json_integer(o->al.batch_size));
    json_object_set_new(j, "lr", json_real(as_decimal(o->al.lr)));
    json_object_set_new(j, "wd", json_real(as_decimal(o->al.weight_decay)));
    json_object_set_new(j, "a0", num(r->res.a0));
    json_object_set_new(j, "a", num(r->res.a));
    json_object_set_new(j, "pct_increase", num(r->pct_inc));
    json_object_set_new(j, "pct_rnd", num(r->pct_rnd));
    json_object_set_new(j, "pct_lcs", num(r->pct_lcs));
    json_object_set_new(j, "seconds_per_al_epoch", num(r->sec_per_epoch));
    json_object_set_new(j, "init_train_s", num(r->res.init_train_s));
    json_object_set_new(j, "final_train_s", num(r->res.final_train_s));
    json_object_set_new(j, "wall_s", num(r->wall_s));
    json_object_set_new(j, "resumed", json_boolean(r->res.resumed));
    json_object_set_new(j, "epochs", epochs_json(&r->res, r->n_classes));
    json_t *sel = json_array();
    for (int64_t i = r->n_li0; i < r->res.n_labeled; i++) json_array_append_new(sel, json_integer(r->res.labeled[i]));
    json_object_set_new(j, "labeled_rows_added", sel);
    char path[4200];
    snprintf(path, sizeof path, "%s/run-%s-s%llu.json", o->out, ig_al_method_name(m), (unsigned long long)seed);
    int rc = write_json_atomic(j, path);
    json_decref(j);
    return rc;
}

/* The final model of a run, with what igradv-model needs (input shape, classes, input transform) and the
 * run's settings in its metadata. */
static enum ig_status save_final_model(const struct options *o, const struct ig_dataset *tr, const struct ig_model *m,
                                       const struct ig_al_params *p, const struct ig_al_result *res)
{
    char path[4300], v[8][96], names[IG_DATA_MAX_CLASSES * (IG_DATA_NAME_LEN + 1) + 1] = "";
    snprintf(path, sizeof path, "%s/model-%s.safetensors", o->out, p->tag);
    snprintf(v[0], sizeof v[0], "%dx%dx%d", tr->channels, tr->height, tr->width);
    snprintf(v[1], sizeof v[1], "%d", tr->num_classes);
    snprintf(v[2], sizeof v[2], "%.9g", (double)p->norm.mean[0]);
    snprintf(v[3], sizeof v[3], "%.9g", (double)p->norm.std[0]);
    snprintf(v[4], sizeof v[4], "%llu", (unsigned long long)p->seed);
    snprintf(v[5], sizeof v[5], "%.6f", res->a0);
    snprintf(v[6], sizeof v[6], "%.6f", res->a);
    snprintf(v[7], sizeof v[7], "train %lld, test %lld, k %lld, al_epochs %d, train_epochs %d, lr %g, wd %g, ref %s",
             (long long)tr->n, (long long)o->test_size, (long long)p->k, p->al_epochs, p->train_epochs, (double)p->lr,
             (double)p->weight_decay, ig_al_reference_name(p->reference));
    for (int c = 0; c < tr->num_classes; c++) {
        if (c) strcat(names, ";");
        strcat(names, tr->class_names[c]);
    }
    const char *keys[] = {"igradv_input", "igradv_classes", "igradv_norm_mean", "igradv_norm_std", "igradv_seed", "igradv_a0",
                          "igradv_a", "igradv_settings", "igradv_dataset", "igradv_method", "igradv_class_names"};
    const char *vals[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], o->dataset, ig_al_method_name(p->method), names};
    return ig_model_save_meta(m, NULL, path, 11, keys, vals);
}

static int make_dir(const char *d)
{
    if (mkdir(d, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    }
    /* one level of parents (runs/quick) */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", d);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (mkdir(parent, 0755) != 0 && errno != EEXIST) return -1;
        if (mkdir(d, 0755) == 0 || errno == EEXIST) return 0;
    }
    return -1;
}

/* Training and test sets per --dataset / --data / subset sizes; exit status on failure (usage). */
static int load_data(const struct options *o, struct ig_dataset *train, struct ig_dataset *test)
{
    bool fmnist = !strcmp(o->dataset, "fmnist");
    enum ig_status s;
    if (fmnist) {
        s = ig_fmnist_load(train, o->data, IG_DATA_TRAIN, o->train_subset);
        if (s == IG_OK) s = ig_fmnist_load(test, o->data, IG_DATA_TEST, o->test_size);
    } else {
        s = ig_cifar10_load(train, o->data, IG_DATA_TRAIN, o->train_subset);
        if (s == IG_OK) s = ig_cifar10_load(test, o->data, IG_DATA_TEST, o->test_size);
    }
    if (s != IG_OK) {
        fprintf(stderr, "%s: --data %s: %s\n", prog, o->data, ig_last_error());
        return IG_CLI_EXIT_USAGE;
    }
    if (o->train_subset > 0 && train->n < o->train_subset)
        fprintf(stderr, "%s: note: only %lld training images available\n", prog, (long long)train->n);
    return -1;
}

/* |UI| for the split and the budget check; the output folders. -1 or an exit status. */
static int check_budget_and_dirs(const struct options *o, int64_t n_train, int64_t *n_ui, char *ckdir, size_t cap)
{
    int64_t nu = (int64_t)llround(o->frac * (double)n_train);
    if (nu < 1) nu = 1;
    if (nu > n_train - 1) nu = n_train - 1;
    int64_t budget = o->al.k * (o->al.al_epochs + 1);
    if (budget > nu) {
        fprintf(stderr,
                "%s: the label budget k (al-epochs + 1) = %lld exceeds the unlabeled pool |UI| = %lld "
                "(%lld images x %g); lower --k / --al-epochs or raise --unlabeled-frac / --train-subset\n",
                prog, (long long)budget, (long long)nu, (long long)n_train, o->frac);
        return IG_CLI_EXIT_USAGE;
    }
    *n_ui = nu;
    snprintf(ckdir, cap, "%s/ckpt", o->out);
    if (make_dir(o->out) != 0 || make_dir(ckdir) != 0 || access(o->out, W_OK) != 0 || ig_atomic_clean_dir(o->out, NULL) != IG_OK ||
        ig_atomic_clean_dir(ckdir, NULL) != IG_OK) {
        fprintf(stderr, "%s: --out %s: cannot create a writable directory: %s\n", prog, o->out, strerror(errno));
        return IG_CLI_EXIT_USAGE;
    }
    return -1;
}

/* What every run of one invocation shares. */
struct session {
    const struct options *o;
    struct ig_backend *be;
    const char *device, *ckdir;
    const struct ig_dataset *train, *test;
    struct run_out (*runs)[IG_AL_METHOD_COUNT];   /* [n_seeds] */
    int64_t *li, *ui;                              /* [train->n] */
};

/* One method of one seed; 0, 1 (failure) or 130 (interrupted). */
static int run_method(struct session *ss, int si, enum ig_al_method method, int64_t n_li, int64_t n_ui)
{
    const struct options *o = ss->o;
    uint64_t seed = o->seeds[si];
    char init[4400], tag[64];
    snprintf(init, sizeof init, "%s/init-s%llu.safetensors", ss->ckdir, (unsigned long long)seed);
    snprintf(tag, sizeof tag, "%s-s%llu", ig_al_method_name(method), (unsigned long long)seed);
    struct ig_al_params p = o->al;
    p.method = method;
    p.seed = seed;
    p.n_threads = (int)o->threads;
    p.init_path = init;
    p.checkpoint_dir = ss->ckdir;
    p.tag = tag;
    p.resume = o->resume;
    struct progress_ctx pc = {seed, o->quiet, p.al_epochs, p.train_epochs, false};
    p.progress = on_progress;
    p.progress_user = &pc;
    const struct ig_dataset *tr = ss->train;
    struct ig_model *m = NULL;
    enum ig_status s = !strcmp(o->arch, "paper")
                           ? ig_model_paper_cnn(&m, ss->be, tr->channels, tr->height, tr->width, tr->num_classes, seed)
                           : ig_model_small_cnn(&m, ss->be, tr->channels, tr->height, tr->width, tr->num_classes, seed);
    struct run_out *r = &ss->runs[si][method];
    double t0 = ig_now_seconds();
    if (s == IG_OK) s = ig_al_run(&r->res, m, tr, ss->test, ss->li, n_li, ss->ui, n_ui, &p);
    if (s == IG_OK && !o->no_keep && pc.final_trained) s = save_final_model(o, tr, m, &p, &r->res);
    ig_model_free(m);
    if (s != IG_OK) {
        if (interrupted) {
            fprintf(stderr, "%s: interrupted; state saved in %s, rerun with --resume to continue\n", prog, ss->ckdir);
            return 130;
        }
        fprintf(stderr, "%s: %s seed %llu: %s\n", prog, ig_al_method_name(method), (unsigned long long)seed, ig_last_error());
        return s == IG_ERR_FORMAT ? IG_CLI_EXIT_USAGE : 1;   /* a damaged or foreign checkpoint */
    }
    r->ran = true;
    r->n_li0 = n_li;
    r->n_classes = tr->num_classes;
    r->wall_s = ig_now_seconds() - t0;
    double tot = 0;
    for (int i = 0; i < r->res.al_epochs; i++) tot += r->res.epochs[i].total_s;
    r->sec_per_epoch = r->res.al_epochs ? tot / r->res.al_epochs : NAN;
    r->pct_inc = 100.0 * (r->res.a - r->res.a0) / r->res.a0;
    r->pct_rnd = r->pct_lcs = NAN;
    fprintf(stderr, "%s: %-3s seed %llu: A0 %.4f  A %.4f  (%+.2f%%)  %.1f s per AL epoch, %.1f s in all%s\n", prog,
            ig_al_method_name(method), (unsigned long long)seed, r->res.a0, r->res.a, r->pct_inc, r->sec_per_epoch,
            r->wall_s, r->res.resumed ? " (resumed)" : "");
    return 0;
}

/* Every selected method of seed si, then its run files; 0, 1 or 130. */
static int run_seed(struct session *ss, int si)
{
    const struct options *o = ss->o;
    int64_t n_li, nu;
    if (ig_al_split(ss->train->n, o->frac, o->seeds[si], ss->li, &n_li, ss->ui, &nu) != IG_OK) {
        fprintf(stderr, "%s: split: %s\n", prog, ig_last_error());
        return 1;
    }
    int status = 0;
    for (int mi = 0; mi < IG_AL_METHOD_COUNT && !status; mi++)
        if (o->methods[mi]) status = run_method(ss, si, (enum ig_al_method)mi, n_li, nu);
    /* %Rnd / %LCS against the baselines of the same seed, then this seed's files */
    for (int mi = 0; mi < IG_AL_METHOD_COUNT; mi++) {
        struct run_out *r = &ss->runs[si][mi];
        if (!r->ran) continue;
        const struct run_out *rnd = &ss->runs[si][IG_AL_METHOD_RND], *lcs = &ss->runs[si][IG_AL_METHOD_LCS];
        r->pct_rnd = rnd->ran ? 100.0 * (r->res.a - rnd->res.a) / rnd->res.a : NAN;
        r->pct_lcs = lcs->ran ? 100.0 * (r->res.a - lcs->res.a) / lcs->res.a : NAN;
        if (write_run_json(o, ss->device, (enum ig_al_method)mi, o->seeds[si], r, ss->train->n, ss->test->n, nu) != 0)
            status = status ? status : 1;
    }
    return status;
}

/* The reports over the finished runs: summary.csv after every seed, and on stdout at the end
 * (the one place that builds summaries, so a report module can replace it). */
static int write_reports(const struct options *o, struct run_out (*runs)[IG_AL_METHOD_COUNT], int n_seeds_done, bool final)
{
    if ((final ? lal_report_write(o->out) : lal_report_summary(o->out)) != IG_OK) return fprintf(stderr, "%s: %s\n", prog, ig_last_error()), 1;
    if (!final) return 0;
    printf("method,seed,a0,a,pct_increase,pct_rnd,pct_lcs,sec_per_al_epoch\n");
    for (int mi = 0; mi < IG_AL_METHOD_COUNT; mi++)
        for (int si = 0; si < n_seeds_done; si++) {
            const struct run_out *r = &runs[si][mi];
            if (!r->ran) continue;
            printf("%s,%llu,%.4f,%.4f,%.2f,%.2f,%.2f,%.2f\n", ig_al_method_name((enum ig_al_method)mi),
                   (unsigned long long)o->seeds[si], r->res.a0, r->res.a, r->pct_inc, r->pct_rnd, r->pct_lcs,
                   r->sec_per_epoch);
        }
    return 0;
}

/* Every seed in turn, reports after each; 0, 1 or 130. */
static int run_all(struct session *ss)
{
    const struct options *o = ss->o;
    const struct ig_al_params *p = &o->al;
    fprintf(stderr, "%s: %s, %lld train / %lld test images, k %lld, %d AL epochs x %d train epochs, arch %s, "
                    "reference %s, device %s\n",
            prog, o->dataset, (long long)ss->train->n, (long long)ss->test->n, (long long)p->k, p->al_epochs,
            p->train_epochs, o->arch, ig_al_reference_name(p->reference), ss->device);
    signal(SIGINT, on_sigint);
    int status = 0;
    double t_all = ig_now_seconds();
    for (int si = 0; si < o->n_seeds && !status; si++) {
        status = run_seed(ss, si);
        if (write_reports(o, ss->runs, si + 1, false) != 0 && !status) status = 1;
    }
    if (!status) {
        fprintf(stderr, "%s: done in %.1f s; results in %s/summary.csv\n", prog, ig_now_seconds() - t_all, o->out);
        status = write_reports(o, ss->runs, o->n_seeds, true);
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "report")) return lal_report_command(prog, argc - 1, argv + 1);
    struct options o = options_default();
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    if (!ig_cli_test_kill_install(prog)) return IG_CLI_EXIT_USAGE;
    if (!o.data) o.data = !strcmp(o.dataset, "fmnist") ? IG_FMNIST_DEFAULT_DIR : "data/cifar-10-batches-bin";

    /* data first: a bad --data is a usage error (exit 2) before any device work */
    struct ig_dataset train = {0}, test = {0};
    struct ig_backend *be = NULL;
    char ckdir[4200];
    int64_t n_ui = 0;
    int status = load_data(&o, &train, &test);
    if (status < 0) status = check_budget_and_dirs(&o, train.n, &n_ui, ckdir, sizeof ckdir);
    if (status < 0 && ig_cli_backend_init(o.device, o.threads, &be) != IG_OK) {
        fprintf(stderr, "%s: --device: %s\n", prog, ig_last_error());
        status = IG_CLI_EXIT_USAGE;
    }
    struct session ss = {&o, be, be ? ig_backend_name(be) : "", ckdir, &train, &test, NULL, NULL, NULL};
    if (status < 0) {
        ss.runs = calloc((size_t)o.n_seeds, sizeof *ss.runs);
        ss.li = malloc((size_t)train.n * sizeof *ss.li);
        ss.ui = malloc((size_t)train.n * sizeof *ss.ui);
        if (!ss.runs || !ss.li || !ss.ui) fprintf(stderr, "%s: out of memory\n", prog);
        status = ss.runs && ss.li && ss.ui ? run_all(&ss) : 1;
    }
    for (int si = 0; ss.runs && si < o.n_seeds; si++)
        for (int mi = 0; mi < IG_AL_METHOD_COUNT; mi++) ig_al_result_free(&ss.runs[si][mi].res);
    free(ss.runs);
    free(ss.li);
    free(ss.ui);
    ig_backend_free(be);
    ig_dataset_free(&train);
    ig_dataset_free(&test);
    return status;
}
