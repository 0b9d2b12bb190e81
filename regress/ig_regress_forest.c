/* regress random forests: scikit-learn RandomForestClassifier / RandomForestRegressor semantics, trees over OpenMP. */
#include "ig_regress_internal.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ig_rf {
    struct ig_rf_params params;   /* max_features resolved */
    int n_classes;                /* 0: regressor */
    struct ig_rens ens;           /* base 0, scale 1/n_trees; classifier values are leaf frequencies */
};

struct ig_rf_params ig_rf_params_default(void)
{
    struct ig_rf_params p;
    memset(&p, 0, sizeof p);
    p.n_estimators = 100;
    p.max_depth = -1;
    p.min_samples_split = 2;
    p.min_samples_leaf = 1;
    p.max_features = 0;
    p.bootstrap = 1;
    p.seed = 0;
    p.n_threads = 0;
    return p;
}

static enum ig_regress_status ig_rf_check_params(const struct ig_rf_params *p)
{
    if (!p) return ig_rerror(IG_REGRESS_EINVAL, "rf: params are NULL");
    if (p->n_estimators < 1 || p->n_estimators > 1000000)
        return ig_rerror(IG_REGRESS_EINVAL, "rf: n_estimators %d not in [1, 1e6]", p->n_estimators);
    if (p->max_depth < -1 || p->max_depth == 0)
        return ig_rerror(IG_REGRESS_EINVAL, "rf: max_depth must be >= 1 or -1 (unlimited)");
    if (p->min_samples_split < 2) return ig_rerror(IG_REGRESS_EINVAL, "rf: min_samples_split must be >= 2");
    if (p->min_samples_leaf < 1) return ig_rerror(IG_REGRESS_EINVAL, "rf: min_samples_leaf must be >= 1");
    if (p->max_features < 0) return ig_rerror(IG_REGRESS_EINVAL, "rf: max_features must be >= 0");
    return IG_REGRESS_OK;
}

static enum ig_regress_status ig_rf_check_fit(const void *x, int is_u8, size_t n, size_t d,
                                              const int32_t *labels, int n_classes, const float *yf,
                                              const struct ig_rf_params *p)
{
    enum ig_regress_status st = ig_rf_check_params(p);
    if (st) return st;
    if ((st = ig_rcheck_shape(x, n, d, 2))) return st;
    if (n_classes > 0) {
        if (!labels) return ig_rerror(IG_REGRESS_EINVAL, "rf: labels are NULL");
        if (n_classes < 2 || n_classes > IG_RMAX_OUT)
            return ig_rerror(IG_REGRESS_EINVAL, "rf: n_classes %d not in [2, %d]", n_classes, IG_RMAX_OUT);
        for (size_t i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= n_classes)
                return ig_rerror(IG_REGRESS_EINVAL, "rf: label[%zu] = %d is not in [0, %d)", i,
                                 labels[i], n_classes);
    } else {
        if (!yf) return ig_rerror(IG_REGRESS_EINVAL, "rf: targets are NULL");
        if ((st = ig_rcheck_f32(yf, n, "rf: y"))) return st;
    }
    if (!is_u8 && (st = ig_rcheck_f32(x, n * d, "rf: x"))) return st;
    return IG_REGRESS_OK;
}

static enum ig_regress_status ig_rf_fit_impl(struct ig_rf **out, const void *x, int is_u8, size_t n,
                                             size_t d, const int32_t *labels, int n_classes,
                                             const float *yf, const struct ig_rf_params *p)
{
    if (!out) return ig_rerror(IG_REGRESS_EINVAL, "rf: out is NULL");
    *out = NULL;
    enum ig_regress_status st = ig_rf_check_fit(x, is_u8, n, d, labels, n_classes, yf, p);
    if (st) return st;
    struct ig_rf *m = calloc(1, sizeof *m);
    double *y = NULL;
    struct ig_rdata D;
    memset(&D, 0, sizeof D);
    if (!m) return ig_rerror(IG_REGRESS_ENOMEM, "rf: out of memory");
    m->params = *p;
    m->n_classes = n_classes;
    if (m->params.max_features == 0) /* sklearn: "sqrt" (classifier), 1.0 (regressor) */
        m->params.max_features = n_classes > 0 ? (int)floor(sqrt((double)d)) : (int)d;
    if (m->params.max_features < 1) m->params.max_features = 1;
    if ((size_t)m->params.max_features > d) m->params.max_features = (int)d;
    m->ens.d = d;
    m->ens.n_out = n_classes > 0 ? n_classes : 1;
    m->ens.trees = calloc((size_t)p->n_estimators, sizeof(struct ig_rtree));
    if (!m->ens.trees) {
        st = ig_rerror(IG_REGRESS_ENOMEM, "rf: out of memory for %d trees", p->n_estimators);
        goto fail;
    }
    m->ens.n_trees = p->n_estimators;
    if (n_classes == 0) {
        y = malloc(n * sizeof(double));
        if (!y) {
            st = ig_rerror(IG_REGRESS_ENOMEM, "rf: out of memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++) y[i] = yf[i];
    }
    st = is_u8 ? ig_rdata_init_u8(&D, x, n, d) : ig_rdata_init_f32(&D, x, n, d);
    if (st) goto fail;
    const struct ig_forest_tree_params tp = {p->max_depth, p->min_samples_split, p->min_samples_leaf,
                                       m->params.max_features, n_classes, p->bootstrap};
    enum ig_regress_status fst = IG_REGRESS_OK;
    char msg[512] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(ig_rthreads(p->n_threads))
    for (int t = 0; t < p->n_estimators; t++) {
        /* per-tree stream: independent of the thread count */
        uint64_t s = p->seed ^ (0x5851F42D4C957F2Dull * (uint64_t)(t + 1));
        uint64_t seed = ig_rsplitmix(&s);
        enum ig_regress_status e = ig_forest_tree_fit(&m->ens.trees[t], &D, labels, y, &tp, seed);
        if (e) {
#pragma omp critical(ig_rf_err)
            if (!fst) {
                fst = e;
                snprintf(msg, sizeof msg, "%s", ig_regress_last_error());
            }
        }
    }
    if (fst) {
        st = ig_rerror(fst, "%s", msg);
        goto fail;
    }
    m->ens.scale = 1.0 / p->n_estimators;
    if ((st = ig_rens_compile(&m->ens))) goto fail;
    ig_rdata_free(&D);
    free(y);
    *out = m;
    return IG_REGRESS_OK;
fail:
    ig_rdata_free(&D);
    free(y);
    ig_rf_free(m);
    return st;
}

enum ig_regress_status ig_rf_classifier_fit_u8(struct ig_rf **out, const uint8_t *x, size_t n,
                                               size_t d, const int32_t *labels, int n_classes,
                                               const struct ig_rf_params *params)
{
    if (n_classes < 1) return ig_rerror(IG_REGRESS_EINVAL, "rf: n_classes must be >= 2");
    return ig_rf_fit_impl(out, x, 1, n, d, labels, n_classes, NULL, params);
}

enum ig_regress_status ig_rf_classifier_fit_f32(struct ig_rf **out, const float *x, size_t n,
                                                size_t d, const int32_t *labels, int n_classes,
                                                const struct ig_rf_params *params)
{
    if (n_classes < 1) return ig_rerror(IG_REGRESS_EINVAL, "rf: n_classes must be >= 2");
    return ig_rf_fit_impl(out, x, 0, n, d, labels, n_classes, NULL, params);
}

enum ig_regress_status ig_rf_regressor_fit_u8(struct ig_rf **out, const uint8_t *x, size_t n,
                                              size_t d, const float *y,
                                              const struct ig_rf_params *params)
{
    return ig_rf_fit_impl(out, x, 1, n, d, NULL, 0, y, params);
}

enum ig_regress_status ig_rf_regressor_fit_f32(struct ig_rf **out, const float *x, size_t n,
                                               size_t d, const float *y,
                                               const struct ig_rf_params *params)
{
    return ig_rf_fit_impl(out, x, 0, n, d, NULL, 0, y, params);
}

static enum ig_regress_status ig_rf_check_predict(const struct ig_rf *m, const void *x, int is_u8,
                                                  size_t n, size_t d, const float *out)
{
    if (!m) return ig_rerror(IG_REGRESS_EINVAL, "rf: model is NULL");
    if (!out) return ig_rerror(IG_REGRESS_EINVAL, "rf: output is NULL");
    enum ig_regress_status st = ig_rcheck_shape(x, n, d, 1);
    if (st) return st;
    if (d != m->ens.d)
        return ig_rerror(IG_REGRESS_EINVAL, "rf: rows have %zu features, the model %zu", d, m->ens.d);
    if (!is_u8 && (st = ig_rcheck_f32(x, n * d, "rf: x"))) return st;
    return IG_REGRESS_OK;
}

static enum ig_regress_status ig_rf_proba_impl(const struct ig_rf *m, const void *x, int is_u8,
                                               size_t n, size_t d, float *proba)
{
    if (m && m->n_classes == 0)
        return ig_rerror(IG_REGRESS_EINVAL, "rf: predict_proba needs a classifier");
    if (n == 0) return IG_REGRESS_OK;
    enum ig_regress_status st = ig_rf_check_predict(m, x, is_u8, n, d, proba);
    if (st) return st;
    ig_rens_predict(&m->ens, x, is_u8, n, proba, m->params.n_threads);
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_rf_predict_proba_u8(const struct ig_rf *m, const uint8_t *x, size_t n,
                                              size_t d, float *proba)
{
    return ig_rf_proba_impl(m, x, 1, n, d, proba);
}

enum ig_regress_status ig_rf_predict_proba_f32(const struct ig_rf *m, const float *x, size_t n,
                                               size_t d, float *proba)
{
    return ig_rf_proba_impl(m, x, 0, n, d, proba);
}

static enum ig_regress_status ig_rf_predict_impl(const struct ig_rf *m, const void *x, int is_u8,
                                                 size_t n, size_t d, float *out)
{
    if (n == 0 && m) return IG_REGRESS_OK;
    enum ig_regress_status st = ig_rf_check_predict(m, x, is_u8, n, d, out);
    if (st) return st;
    if (m->n_classes == 0) {
        ig_rens_predict(&m->ens, x, is_u8, n, out, m->params.n_threads);
        return IG_REGRESS_OK;
    }
    const int C = m->n_classes;
    const size_t chunk = 4096;
    float *pr = malloc(chunk * (size_t)C * sizeof(float));
    if (!pr) return ig_rerror(IG_REGRESS_ENOMEM, "rf: out of memory");
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t nb = n - i0 < chunk ? n - i0 : chunk;
        const void *xs = is_u8 ? (const void *)((const uint8_t *)x + i0 * d)
                               : (const void *)((const float *)x + i0 * d);
        ig_rens_predict(&m->ens, xs, is_u8, nb, pr, m->params.n_threads);
        for (size_t i = 0; i < nb; i++) {
            int best = 0;
            for (int k = 1; k < C; k++)
                if (pr[i * C + k] > pr[i * C + best]) best = k;
            out[i0 + i] = (float)best;
        }
    }
    free(pr);
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_rf_predict_u8(const struct ig_rf *m, const uint8_t *x, size_t n, size_t d,
                                        float *out)
{
    return ig_rf_predict_impl(m, x, 1, n, d, out);
}

enum ig_regress_status ig_rf_predict_f32(const struct ig_rf *m, const float *x, size_t n, size_t d,
                                         float *out)
{
    return ig_rf_predict_impl(m, x, 0, n, d, out);
}

int ig_rf_is_classifier(const struct ig_rf *m) { return m && m->n_classes > 0; }
int ig_rf_n_classes(const struct ig_rf *m) { return m ? m->n_classes : 0; }
size_t ig_rf_n_features(const struct ig_rf *m) { return m ? m->ens.d : 0; }
int ig_rf_n_trees(const struct ig_rf *m) { return m ? m->ens.n_trees : 0; }

void ig_rf_free(struct ig_rf *m)
{
    if (!m) return;
    ig_rens_free(&m->ens);
    free(m);
}

/* ---------------------------------------------------------------- save/load */

/* The model as a JSON document (NULL with the error set on allocation failure). */
static json_t *ig_rf_json(const struct ig_rf *m)
{
    json_t *root = ig_rens_to_json(&m->ens);
    if (!root) {
        ig_rerror(IG_REGRESS_ENOMEM, "rf: cannot build the JSON document");
        return NULL;
    }
    const struct ig_rf_params *p = &m->params;
    int bad = 0;
    bad |= json_object_set_new(root, "format", json_string(IG_RFORMAT));
    bad |= json_object_set_new(root, "version", json_integer(IG_RFORMAT_VERSION));
    bad |= json_object_set_new(root, "kind", json_string(m->n_classes ? "rf_classifier" : "rf_regressor"));
    bad |= json_object_set_new(root, "n_classes", json_integer(m->n_classes));
    bad |= json_object_set_new(root, "n_estimators", json_integer(p->n_estimators));
    bad |= json_object_set_new(root, "max_depth", json_integer(p->max_depth));
    bad |= json_object_set_new(root, "min_samples_split", json_integer(p->min_samples_split));
    bad |= json_object_set_new(root, "min_samples_leaf", json_integer(p->min_samples_leaf));
    bad |= json_object_set_new(root, "max_features", json_integer(p->max_features));
    bad |= json_object_set_new(root, "bootstrap", json_boolean(p->bootstrap));
    bad |= json_object_set_new(root, "seed", json_integer((json_int_t)p->seed));
    if (bad) {
        json_decref(root);
        ig_rerror(IG_REGRESS_ENOMEM, "rf: cannot build the JSON document");
        return NULL;
    }
    return root;
}

enum ig_regress_status ig_rf_save(const struct ig_rf *m, const char *path)
{
    if (!m || !path) return ig_rerror(IG_REGRESS_EINVAL, "rf: save needs a model and a path");
    return ig_rjson_emit(ig_rf_json(m), path, NULL, NULL);
}

enum ig_regress_status ig_rf_to_json(const struct ig_rf *m, char **text, size_t *len)
{
    if (!m || !text) return ig_rerror(IG_REGRESS_EINVAL, "rf: to_json needs a model and text");
    return ig_rjson_emit(ig_rf_json(m), NULL, text, len);
}

static enum ig_regress_status ig_rf_load_kind(struct ig_rf **out, const char *path, const char *kind)
{
    json_t *root = NULL;
    enum ig_regress_status st = ig_rjson_read(&root, path, kind);
    if (st) return st;
    struct ig_rf *m = calloc(1, sizeof *m);
    if (!m) {
        json_decref(root);
        return ig_rerror(IG_REGRESS_ENOMEM, "rf: out of memory");
    }
    struct ig_rf_params *p = &m->params;
    *p = ig_rf_params_default();
    json_t *f[8];
    const char *keys[8] = {"n_classes", "n_estimators", "max_depth", "min_samples_split",
                           "min_samples_leaf", "max_features", "seed", "bootstrap"};
    for (int i = 0; i < 8; i++) f[i] = json_object_get(root, keys[i]);
    int ok = json_is_boolean(f[7]);
    for (int i = 0; i < 7; i++) ok &= json_is_integer(f[i]);
    if (ok) {
        json_int_t nc = json_integer_value(f[0]);
        ok = nc >= 0 && nc <= IG_RMAX_OUT && (nc > 0) == !strcmp(kind, "rf_classifier");
        m->n_classes = (int)nc;
        json_int_t v[5];
        for (int i = 0; i < 5; i++) {
            v[i] = json_integer_value(f[i + 1]);
            ok &= v[i] >= -1 && v[i] <= INT32_MAX;
        }
        p->n_estimators = (int)v[0];
        p->max_depth = (int)v[1];
        p->min_samples_split = (int)v[2];
        p->min_samples_leaf = (int)v[3];
        p->max_features = (int)v[4];
        p->seed = (uint64_t)json_integer_value(f[6]);
        p->bootstrap = json_is_true(f[7]);
    }
    if (!ok || ig_rf_check_params(p)) {
        st = ig_rerror(IG_REGRESS_EFORMAT, "rf: %s: missing or bad model fields", path);
        goto done;
    }
    if ((st = ig_rens_from_json(&m->ens, root))) goto done;
    if (m->ens.n_out != (m->n_classes ? m->n_classes : 1) || m->ens.n_trees != p->n_estimators) {
        st = ig_rerror(IG_REGRESS_EFORMAT, "rf: %s: trees do not match the model fields", path);
        goto done;
    }
    m->ens.scale = 1.0 / m->ens.n_trees;
    st = ig_rens_compile(&m->ens);
done:
    json_decref(root);
    if (st) ig_rf_free(m);
    else *out = m;
    return st;
}

enum ig_regress_status ig_rf_load(struct ig_rf **out, const char *path)
{
    if (!out || !path) return ig_rerror(IG_REGRESS_EINVAL, "rf: load needs out and a path");
    *out = NULL;
    json_t *root = NULL;
    /* peek at the kind, then load with the matching checks */
    enum ig_regress_status st = ig_rjson_read(&root, path, "rf_classifier");
    if (st == IG_REGRESS_OK) {
        json_decref(root);
        return ig_rf_load_kind(out, path, "rf_classifier");
    }
    st = ig_rjson_read(&root, path, "rf_regressor");
    if (st) return st;
    json_decref(root);
    return ig_rf_load_kind(out, path, "rf_regressor");
}
