/* igradv-regress: fit the GBR / random-forest regressors on .npy or CSV features and targets, save the JSON model atomically, and predict with it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_cli.h"
#include "ig_csv.h"
#include "ig_npy.h"
#include "ig_regress.h"
#include "ig_util.h"

static const char *prog = "igradv-regress";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s fit --model gbr|rf|rf-classifier --x FEATURES --y TARGETS --out MODEL.json [options]\n"
            "       %s predict --model-file MODEL.json --x FEATURES --out PRED.npy|PRED.csv [--proba]\n"
            "Fit and use the tree ensembles of igradv (scikit-learn semantics) without writing C.\n\n"
            "  FEATURES            .npy (2-D float32 or uint8, [n, d]) or .csv (n rows of d numbers; a\n"
            "                      first line that is not numbers is a header); uint8 features are used\n"
            "                      as 256 exact bins, float32 ones are binned by quantiles\n"
            "  TARGETS             .npy (1-D float32 or float64; integer dtypes too for rf-classifier) or\n"
            "                      .csv (one number per row); rf-classifier: class indices 0..C-1\n"
            "  --model M           gbr (GradientBoostingRegressor), rf (RandomForestRegressor),\n"
            "                      rf-classifier (RandomForestClassifier)\n"
            "  --loss L            gbr: lad (absolute error, default) | ls (squared error)\n"
            "  --n-estimators N    trees (default 100)\n"
            "  --learning-rate LR  gbr shrinkage (default 0.1)\n"
            "  --max-depth D       tree depth (default gbr 3, rf -1 = unlimited)\n"
            "  --min-samples-split N, --min-samples-leaf N   (defaults 2, 1)\n"
            "  --subsample F       gbr: fraction of rows per tree, in (0, 1] (default 1)\n"
            "  --max-features N    rf: features tried per split (default 0: sqrt(d) classifier, d regressor)\n"
            "  --no-bootstrap      rf: every tree sees every row once\n"
            "  --seed S            random stream (default 0)\n"
            "  --threads T         OpenMP threads (default 0: automatic); the model does not depend on it\n"
            "  --out F             fit: the model file (versioned JSON, written atomically);\n"
            "                      predict: .npy (float32) or .csv, one prediction per row\n"
            "  --proba             predict with an rf-classifier: class probabilities [n, C] instead of\n"
            "                      the most probable class\n"
            "Environment: IGRADV_CPU=auto|generic|avx2|avx512 picks the gbr split kernels (default: the\n"
            "best this CPU runs; the model is the same with each).\n"
            "Exit status: 0 done, 1 runtime failure (memory, writing), 2 bad flag, file or data.\n",
            prog, prog);
}

struct options {
    const char *cmd, *model, *x, *y, *out, *model_file, *loss;
    int64_t n_est, max_depth, min_split, min_leaf, max_features, seed, threads;
    double lr, subsample;
    bool no_bootstrap, proba, depth_set;
    const char *gbr_only, *rf_only;   /* the last flag given that applies to one model kind only */
    enum ig_regress_isa isa;          /* gbr split kernels, from IGRADV_CPU */
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int bad(const char *opt, const char *what, const char *got) { return ig_cli_expected(prog, opt, what, got); }

/* One "--flag value" pair; returns -1 to continue, else an exit status. */
static int parse_value(struct options *o, const char *a, const char *v)
{
    static const char *const models[] = {"gbr", "rf", "rf-classifier"}, *const losses[] = {"lad", "ls"};
    if (!strcmp(a, "--model")) {
        if (!ig_cli_is_one_of(v, models, 3)) return bad(a, "gbr, rf or rf-classifier", v);
        o->model = v;
    } else if (!strcmp(a, "--loss")) {
        if (!ig_cli_is_one_of(v, losses, 2)) return bad(a, "lad or ls", v);
        o->loss = v;
        o->gbr_only = a;
    } else if (!strcmp(a, "--x")) o->x = v;
    else if (!strcmp(a, "--y")) o->y = v;
    else if (!strcmp(a, "--out")) o->out = v;
    else if (!strcmp(a, "--model-file")) o->model_file = v;
    else if (!strcmp(a, "--n-estimators")) { if (!ig_cli_parse_i64(v, 1, 1000000, &o->n_est)) return bad(a, "an integer in [1, 1000000]", v); }
    else if (!strcmp(a, "--max-depth")) {
        if (!ig_cli_parse_i64(v, -1, 64, &o->max_depth) || o->max_depth == 0) return bad(a, "an integer in [1, 64] or -1", v);
        o->depth_set = true;
    } else if (!strcmp(a, "--min-samples-split")) { if (!ig_cli_parse_i64(v, 2, INT32_MAX, &o->min_split)) return bad(a, "an integer >= 2", v); }
    else if (!strcmp(a, "--min-samples-leaf")) { if (!ig_cli_parse_i64(v, 1, INT32_MAX, &o->min_leaf)) return bad(a, "an integer >= 1", v); }
    else if (!strcmp(a, "--max-features")) {
        if (!ig_cli_parse_i64(v, 0, INT32_MAX, &o->max_features)) return bad(a, "an integer >= 0", v);
        o->rf_only = a;
    }
    else if (!strcmp(a, "--seed")) { if (!ig_cli_parse_i64(v, 0, INT64_MAX, &o->seed)) return bad(a, "a non-negative integer", v); }
    else if (!strcmp(a, "--threads")) { if (!ig_cli_parse_i64(v, 0, 4096, &o->threads)) return bad(a, "an integer in [0, 4096]", v); }
    else if (!strcmp(a, "--learning-rate")) {
        if (!ig_cli_parse_f(v, 1e-12, 1e6, &o->lr)) return bad(a, "a number > 0", v);
        o->gbr_only = a;
    } else if (!strcmp(a, "--subsample")) {
        if (!ig_cli_parse_f(v, 0.0, 1.0, &o->subsample) || o->subsample <= 0.0) return bad(a, "a number in (0, 1]", v);
        o->gbr_only = a;
    } else return ig_cli_usage_error(prog, "unknown option '%s'", a);
    return -1;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    *o = (struct options){.loss = "lad", .n_est = 100, .min_split = 2, .min_leaf = 1, .lr = 0.1, .subsample = 1.0};
    if (argc < 2) return ig_cli_usage_error(prog, "expected a command: fit or predict");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "fit") && strcmp(argv[1], "predict"))
        return ig_cli_usage_error(prog, "unknown command '%s' (expected fit or predict)", argv[1]);
    o->cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-bootstrap")) {
            o->no_bootstrap = true;
            o->rf_only = a;
            continue;
        }
        if (!strcmp(a, "--proba")) { o->proba = true; continue; }
        if (strncmp(a, "--", 2)) return ig_cli_usage_error(prog, "unexpected argument '%s'", a);
        if (i + 1 >= argc) return ig_cli_usage_error(prog, "%s needs a value", a);
        int r = parse_value(o, a, argv[++i]);
        if (r >= 0) return r;
    }
    bool fit = !strcmp(o->cmd, "fit");
    if (!o->x) return ig_cli_usage_error(prog, "%s: --x FEATURES is required", o->cmd);
    if (!o->out) return ig_cli_usage_error(prog, "%s: --out FILE is required", o->cmd);
    if (fit && !o->model) return ig_cli_usage_error(prog, "fit: --model gbr|rf|rf-classifier is required");
    if (fit && !o->y) return ig_cli_usage_error(prog, "fit: --y TARGETS is required");
    if (!fit && !o->model_file) return ig_cli_usage_error(prog, "predict: --model-file MODEL.json is required");
    if (fit && !strcmp(o->model, "gbr") && o->rf_only) return ig_cli_usage_error(prog, "%s applies to --model rf or rf-classifier only", o->rf_only);
    if (fit && strcmp(o->model, "gbr") && o->gbr_only) return ig_cli_usage_error(prog, "%s applies to --model gbr only", o->gbr_only);
    if (!fit && !ends_with(o->out, ".npy") && !ends_with(o->out, ".csv")) return bad("--out", "a .npy or .csv file name", o->out);
    if (o->proba && fit) return ig_cli_usage_error(prog, "--proba applies to predict only");
    const char *isa = getenv("IGRADV_CPU");
    if (isa && !ig_regress_isa_parse(isa, &o->isa)) return bad("IGRADV_CPU", "auto, generic, avx2 or avx512", isa);
    if (isa && ig_regress_isa_resolve(o->isa, NULL) != IG_REGRESS_OK)
        return ig_cli_usage_error(prog, "IGRADV_CPU=%s: %s", isa, ig_regress_last_error());
    return -1;
}

/* ------------------------------------------------------------------ inputs */

/* Features: data is uint8 (is_u8) or float32, [n, d]. */
struct features {
    void *data;
    int is_u8;
    int64_t n, d;
};

static int load_features(const char *path, struct features *f)
{
    memset(f, 0, sizeof *f);
    if (ends_with(path, ".csv")) {
        float *x;
        if (ig_csv_read_f32(path, &x, &f->n, &f->d) != IG_OK)
            return ig_cli_usage_error(prog, "--x: %s", ig_last_error());
        f->data = x;
        return -1;
    }
    if (!ends_with(path, ".npy")) return bad("--x", "a .npy or .csv file", path);
    struct ig_npy a;
    if (ig_npy_read(path, &a) != IG_OK) return ig_cli_usage_error(prog, "--x: %s", ig_last_error());
    if (a.ndim != 2 || (a.dtype != IG_NPY_F32 && a.dtype != IG_NPY_U8)) {
        int r = ig_cli_usage_error(prog, "--x: %s: expected a 2-D float32 or uint8 array [n, d], got a %d-D %s array",
                                   path, a.ndim, ig_npy_dtype_name(a.dtype));
        ig_npy_free(&a);
        return r;
    }
    f->data = a.data;
    f->is_u8 = a.dtype == IG_NPY_U8;
    f->n = a.shape[0];
    f->d = a.shape[1];
    return -1;
}

/* Targets as float32 [n] (n = the feature rows); integer dtypes only when allow_int. */
static int load_targets(const char *path, int64_t n, bool allow_int, float **y)
{
    *y = NULL;
    int64_t rows = 0, cols = 0;
    if (ends_with(path, ".csv")) {
        if (ig_csv_read_f32(path, y, &rows, &cols) != IG_OK) return ig_cli_usage_error(prog, "--y: %s", ig_last_error());
    } else if (ends_with(path, ".npy")) {
        struct ig_npy a;
        if (ig_npy_read(path, &a) != IG_OK) return ig_cli_usage_error(prog, "--y: %s", ig_last_error());
        bool fl = a.dtype == IG_NPY_F32 || a.dtype == IG_NPY_F64;
        if (a.ndim != 1 || (!fl && !allow_int)) {
            int r = ig_cli_usage_error(prog, "--y: %s: expected a 1-D float32 or float64 array%s, got a %d-D %s array",
                                       path, allow_int ? " (or integer class indices)" : "", a.ndim,
                                       ig_npy_dtype_name(a.dtype));
            ig_npy_free(&a);
            return r;
        }
        rows = a.shape[0];
        cols = 1;
        *y = malloc((size_t)(rows ? rows : 1) * sizeof **y);
        for (int64_t i = 0; *y && i < rows; i++)
            (*y)[i] = a.dtype == IG_NPY_F32   ? ((const float *)a.data)[i]
                      : a.dtype == IG_NPY_F64 ? (float)((const double *)a.data)[i]
                      : a.dtype == IG_NPY_U8  ? (float)((const uint8_t *)a.data)[i]
                      : a.dtype == IG_NPY_I32 ? (float)((const int32_t *)a.data)[i]
                                              : (float)((const int64_t *)a.data)[i];
        ig_npy_free(&a);
        if (!*y) return fprintf(stderr, "%s: out of memory\n", prog), 1;
    } else {
        return bad("--y", "a .npy or .csv file", path);
    }
    if (cols != 1 || rows != n) {
        free(*y);
        *y = NULL;
        return ig_cli_usage_error(prog, "--y: %s: expected %lld targets in one column (one per row of --x), got %lld x %lld",
                                  path, (long long)n, (long long)rows, (long long)cols);
    }
    return -1;
}

/* ------------------------------------------------------------------ fit */

/* A failed library call: message on stderr; 1 for out of memory, 2 for bad data or files. */
static int regress_failure(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, ig_regress_last_error());
    return ig_regress_last_status() == IG_REGRESS_ENOMEM ? 1 : IG_CLI_EXIT_USAGE;
}

/* Class indices from the targets: integers in [0, 64), at least two classes. */
static int class_labels(const char *path, const float *y, int64_t n, int32_t **lab, int *n_classes)
{
    *lab = malloc((size_t)n * sizeof **lab);
    if (!*lab) return fprintf(stderr, "%s: out of memory\n", prog), 1;
    int c = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(y[i] >= 0.0f && y[i] < 64.0f) || y[i] != (float)(int32_t)y[i]) {
            free(*lab);
            *lab = NULL;
            return ig_cli_usage_error(prog, "--y: %s: target %lld is %g, expected a class index 0..63 for rf-classifier",
                                      path, (long long)i, (double)y[i]);
        }
        (*lab)[i] = (int32_t)y[i];
        if ((*lab)[i] + 1 > c) c = (*lab)[i] + 1;
    }
    *n_classes = c < 2 ? 2 : c;
    return -1;
}

static struct ig_gbr_params gbr_params(const struct options *o)
{
    struct ig_gbr_params p = ig_gbr_params_default();
    p.loss = strcmp(o->loss, "ls") ? IG_GBR_LOSS_ABSOLUTE_ERROR : IG_GBR_LOSS_SQUARED_ERROR;
    p.n_estimators = (int)o->n_est;
    p.learning_rate = o->lr;
    if (o->depth_set) p.max_depth = (int)o->max_depth;
    p.min_samples_split = (int)o->min_split;
    p.min_samples_leaf = (int)o->min_leaf;
    p.subsample = o->subsample;
    p.seed = (uint64_t)o->seed;
    p.n_threads = (int)o->threads;
    p.isa = o->isa;
    return p;
}

static struct ig_rf_params rf_params(const struct options *o)
{
    struct ig_rf_params p = ig_rf_params_default();
    p.n_estimators = (int)o->n_est;
    if (o->depth_set) p.max_depth = (int)o->max_depth;
    p.min_samples_split = (int)o->min_split;
    p.min_samples_leaf = (int)o->min_leaf;
    p.max_features = (int)o->max_features;
    p.bootstrap = !o->no_bootstrap;
    p.seed = (uint64_t)o->seed;
    p.n_threads = (int)o->threads;
    return p;
}

/* Writes the model's JSON text through the atomic writer. */
static int save_model(const char *path, struct ig_gbr *gbr, struct ig_rf *rf)
{
    char *text = NULL;
    size_t len = 0;
    if ((gbr ? ig_gbr_to_json(gbr, &text, &len) : ig_rf_to_json(rf, &text, &len)) != IG_REGRESS_OK)
        return regress_failure("saving the model");
    enum ig_status s = ig_file_write_atomic(path, text, len);
    free(text);
    if (s != IG_OK) return fprintf(stderr, "%s: --out: %s\n", prog, ig_last_error()), 1;
    return 0;
}

static int cmd_fit(const struct options *o)
{
    struct features f;
    float *y = NULL;
    int32_t *lab = NULL;
    int r = load_features(o->x, &f);
    if (r >= 0) return r;
    bool classifier = !strcmp(o->model, "rf-classifier");
    if ((r = load_targets(o->y, f.n, classifier, &y)) < 0) {
        struct ig_gbr *gbr = NULL;
        struct ig_rf *rf = NULL;
        const size_t n = (size_t)f.n, d = (size_t)f.d;
        enum ig_regress_status st = IG_REGRESS_OK;
        int n_classes = 0;
        if (!strcmp(o->model, "gbr")) {
            struct ig_gbr_params p = gbr_params(o);
            st = f.is_u8 ? ig_gbr_fit_u8(&gbr, f.data, n, d, y, &p) : ig_gbr_fit_f32(&gbr, f.data, n, d, y, &p);
        } else if (!classifier) {
            struct ig_rf_params p = rf_params(o);
            st = f.is_u8 ? ig_rf_regressor_fit_u8(&rf, f.data, n, d, y, &p) : ig_rf_regressor_fit_f32(&rf, f.data, n, d, y, &p);
        } else if ((r = class_labels(o->y, y, f.n, &lab, &n_classes)) < 0) {
            struct ig_rf_params p = rf_params(o);
            st = f.is_u8 ? ig_rf_classifier_fit_u8(&rf, f.data, n, d, lab, n_classes, &p)
                         : ig_rf_classifier_fit_f32(&rf, f.data, n, d, lab, n_classes, &p);
        }
        if (r < 0) r = st != IG_REGRESS_OK ? regress_failure("fit") : save_model(o->out, gbr, rf);
        if (r == 0)
            fprintf(stderr, "%s: %s on %lld x %lld %s features -> %s\n", prog, o->model, (long long)f.n,
                    (long long)f.d, f.is_u8 ? "uint8" : "float32", o->out);
        ig_gbr_free(gbr);
        ig_rf_free(rf);
    }
    free(f.data);
    free(y);
    free(lab);
    return r;
}

/* ------------------------------------------------------------------ predict */

/* The model file's "kind" ("gbr", "rf_regressor", "rf_classifier"; "" when unreadable). */
static void model_kind(const char *path, char *kind, size_t cap)
{
    kind[0] = '\0';
    json_t *root = json_load_file(path, 0, NULL);
    const char *k = json_string_value(json_object_get(root, "kind"));
    if (k) snprintf(kind, cap, "%s", k);
    json_decref(root);
}

static int write_predictions(const char *path, const float *out, int64_t n, int64_t cols)
{
    int64_t shape[2] = {n, cols};
    enum ig_status s = ends_with(path, ".npy") ? ig_npy_write(path, IG_NPY_F32, cols == 1 ? 1 : 2, shape, out)
                                               : ig_csv_write_f32(path, out, n, cols);
    if (s != IG_OK) return fprintf(stderr, "%s: --out: %s\n", prog, ig_last_error()), 1;
    return 0;
}

static int predict_with(const struct options *o, const struct features *f, struct ig_gbr *gbr, struct ig_rf *rf)
{
    int64_t cols = rf && o->proba ? ig_rf_n_classes(rf) : 1;
    size_t nf = gbr ? ig_gbr_n_features(gbr) : ig_rf_n_features(rf);
    if ((size_t)f->d != nf)
        return ig_cli_usage_error(prog, "--x: %s has %lld features per row, the model %s expects %zu", o->x,
                                  (long long)f->d, o->model_file, nf);
    if (o->proba && !ig_rf_is_classifier(rf))
        return ig_cli_usage_error(prog, "--proba: %s is not an rf-classifier model", o->model_file);
    float *out = malloc((size_t)(f->n ? f->n : 1) * (size_t)cols * sizeof *out);
    if (!out) return fprintf(stderr, "%s: out of memory\n", prog), 1;
    const size_t n = (size_t)f->n, d = (size_t)f->d;
    enum ig_regress_status st;
    if (gbr) st = f->is_u8 ? ig_gbr_predict_u8(gbr, f->data, n, d, out) : ig_gbr_predict_f32(gbr, f->data, n, d, out);
    else if (o->proba) st = f->is_u8 ? ig_rf_predict_proba_u8(rf, f->data, n, d, out) : ig_rf_predict_proba_f32(rf, f->data, n, d, out);
    else st = f->is_u8 ? ig_rf_predict_u8(rf, f->data, n, d, out) : ig_rf_predict_f32(rf, f->data, n, d, out);
    int r = st != IG_REGRESS_OK ? regress_failure("predict") : write_predictions(o->out, out, f->n, cols);
    free(out);
    return r;
}

static int cmd_predict(const struct options *o)
{
    char kind[32];
    model_kind(o->model_file, kind, sizeof kind);
    struct ig_gbr *gbr = NULL;
    struct ig_rf *rf = NULL;
    bool is_rf = !strcmp(kind, "rf_regressor") || !strcmp(kind, "rf_classifier");
    /* an unreadable file or an unknown kind: the GBR loader names the problem */
    if ((is_rf ? ig_rf_load(&rf, o->model_file) : ig_gbr_load(&gbr, o->model_file)) != IG_REGRESS_OK)
        return regress_failure("--model-file");
    struct features f;
    int r = load_features(o->x, &f);
    if (r < 0) r = predict_with(o, &f, gbr, rf);
    if (r == 0) fprintf(stderr, "%s: %lld predictions -> %s\n", prog, (long long)f.n, o->out);
    free(f.data);
    ig_gbr_free(gbr);
    ig_rf_free(rf);
    return r;
}

int main(int argc, char **argv)
{
    struct options o;
    int r = parse_args(argc, argv, &o);
    if (r >= 0) return r;
    return !strcmp(o.cmd, "fit") ? cmd_fit(&o) : cmd_predict(&o);
}
