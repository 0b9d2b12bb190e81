/* regress gradient boosting regressor: scikit-learn GradientBoostingRegressor semantics (LAD / squared error). */
#include "ig_regress_internal.h"
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ig_gbr {
    struct ig_gbr_params params;
    double init;          /* initial raw prediction: median (LAD) or mean */
    struct ig_rens ens;   /* base = init, scale = learning_rate */
};

struct ig_gbr_params ig_gbr_params_default(void)
{
    /* every field not named below is 0 (seed 0, n_threads 0: OpenMP default) */
    return (struct ig_gbr_params){.loss = IG_GBR_LOSS_ABSOLUTE_ERROR, .n_estimators = 100, .learning_rate = 0.1,
                                  .max_depth = 3, .min_samples_split = 2, .min_samples_leaf = 1, .subsample = 1.0};
}

static enum ig_regress_status ig_gbr_check_params(const struct ig_gbr_params *p)
{
    if (!p) return ig_rerror(IG_REGRESS_EINVAL, "gbr: params are NULL");
    if (p->loss != IG_GBR_LOSS_ABSOLUTE_ERROR && p->loss != IG_GBR_LOSS_SQUARED_ERROR)
        return ig_rerror(IG_REGRESS_EINVAL, "gbr: unknown loss %d", (int)p->loss);
    if (p->n_estimators < 1 || p->n_estimators > 1000000)
        return ig_rerror(IG_REGRESS_EINVAL, "gbr: n_estimators %d not in [1, 1e6]", p->n_estimators);
    if (!(p->learning_rate > 0.0) || !isfinite(p->learning_rate))
        return ig_rerror(IG_REGRESS_EINVAL, "gbr: learning_rate must be > 0 and finite");
    if (p->max_depth < 1 || p->max_depth > 64)
        return ig_rerror(IG_REGRESS_EINVAL, "gbr: max_depth %d not in [1, 64]", p->max_depth);
    if (p->min_samples_split < 2)
        return ig_rerror(IG_REGRESS_EINVAL, "gbr: min_samples_split must be >= 2");
    if (p->min_samples_leaf < 1)
        return ig_rerror(IG_REGRESS_EINVAL, "gbr: min_samples_leaf must be >= 1");
    if (!(p->subsample > 0.0 && p->subsample <= 1.0))
        return ig_rerror(IG_REGRESS_EINVAL, "gbr: subsample must be in (0, 1]");
    return ig_regress_isa_resolve(p->isa, NULL);
}

static double ig_rnow(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* k-th smallest of v[0..n) (quickselect, reorders v) */
static double ig_rselect(double *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (lo < hi) {
        double piv = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv) i++;
            while (v[j] > piv) j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (kk <= j) hi = j;
        else if (kk >= i) lo = i;
        else return v[kk];
    }
    return v[kk];
}

/* one row down a fitted tree, on the original feature values */
static int32_t ig_gbr_leaf(const struct ig_rtree *t, const void *x, int is_u8, size_t d, size_t i)
{
    int32_t node = 0;
    while (t->feature[node] >= 0) {
        size_t f = (size_t)t->feature[node];
        float v = is_u8 ? (float)((const uint8_t *)x)[i * d + f] : ((const float *)x)[i * d + f];
        node = v <= t->threshold[node] ? t->left[node] : t->right[node];
    }
    return node;
}

/* per-fit scratch of the boosting loop; all arrays [n] */
struct ig_gbr_scratch {
    double *raw, *g, *res;          /* raw prediction, negative gradient, residual buffer */
    int32_t *idx, *leaf, *perm;     /* tree sample list, leaf of idx[pos], subsample order */
};

static void ig_gbr_scratch_free(struct ig_gbr_scratch *w)
{
    free(w->raw);
    free(w->g);
    free(w->res);
    free(w->idx);
    free(w->leaf);
    free(w->perm);
}

static enum ig_regress_status ig_gbr_scratch_new(struct ig_gbr_scratch *w, size_t n)
{
    w->raw = malloc(n * sizeof(double));
    w->g = malloc(n * sizeof(double));
    w->res = malloc(n * sizeof(double));
    w->idx = malloc(n * sizeof(int32_t));
    w->leaf = malloc(n * sizeof(int32_t));
    w->perm = malloc(n * sizeof(int32_t));
    if (w->raw && w->g && w->res && w->idx && w->leaf && w->perm) return IG_REGRESS_OK;
    ig_gbr_scratch_free(w);
    memset(w, 0, sizeof *w);
    return ig_rerror(IG_REGRESS_ENOMEM, "gbr: out of memory (n = %zu)", n);
}

/* initial prediction: np.percentile(y, 50) (mean of the middle two) or the mean; res: [n] scratch */
static double ig_gbr_init_of(const float *y, size_t n, int lad, double *res)
{
    if (lad) {
        for (size_t i = 0; i < n; i++) res[i] = y[i];
        double hi = ig_rselect(res, n, n / 2);
        if (n % 2 != 0) return hi;
        double lo = res[0];
        for (size_t i = 1; i < n / 2; i++)
            if (res[i] > lo) lo = res[i];
        return 0.5 * (lo + hi);
    }
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += y[i];
    return s / (double)n;
}

/* The sample list of one tree in w->idx (returns its length): everything, or the first
 * n_inbag of a partial Fisher-Yates shuffle of w->perm. */
static size_t ig_gbr_sample(struct ig_gbr_scratch *w, size_t n, size_t n_inbag, uint64_t *rng)
{
    if (n_inbag >= n) {
        for (size_t i = 0; i < n; i++) w->idx[i] = (int32_t)i;
        return n;
    }
    for (size_t i = 0; i < n_inbag; i++) {
        size_t j = i + ig_rbounded(rng, (uint32_t)(n - i));
        int32_t t = w->perm[i];
        w->perm[i] = w->perm[j];
        w->perm[j] = t;
    }
    memcpy(w->idx, w->perm, n_inbag * sizeof(int32_t));
    return n_inbag;
}

/* LAD leaf value: lower median of the residuals y - raw (sklearn's weighted percentile) */
static void ig_gbr_lad_leaves(struct ig_rtree *t, const float *y, struct ig_gbr_scratch *w, size_t mm)
{
    size_t q = 0;
    while (q < mm) {
        size_t e = q;
        while (e < mm && w->leaf[e] == w->leaf[q]) e++;
        for (size_t k = q; k < e; k++) w->res[k - q] = (double)y[w->idx[k]] - w->raw[w->idx[k]];
        t->value[w->leaf[q]] = ig_rselect(w->res, e - q, (e - q - 1) / 2);
        q = e;
    }
}

/* raw += learning_rate * tree(x) over all n rows (in-bag rows through their recorded leaf) */
static void ig_gbr_update_raw(const struct ig_rtree *t, struct ig_gbr_scratch *w, const void *x,
                              int is_u8, size_t n, size_t d, size_t mm, double lr)
{
    if (mm == n) {
        for (size_t k = 0; k < n; k++) w->raw[w->idx[k]] += lr * t->value[w->leaf[k]];
    } else {
        for (size_t i = 0; i < n; i++) w->raw[i] += lr * t->value[ig_gbr_leaf(t, x, is_u8, d, i)];
    }
}

/* The boosting iterations: fills m->ens.trees[0..n_estimators). */
static enum ig_regress_status ig_gbr_boost(struct ig_gbr *m, const struct ig_rdata *D,
                                           const void *x, int is_u8, const float *y,
                                           struct ig_gbr_scratch *w, struct ig_boost_tree_ws *ws, int nt)
{
    const struct ig_gbr_params *p = &m->params;
    const size_t n = D->n, d = D->d;
    const int lad = p->loss == IG_GBR_LOSS_ABSOLUTE_ERROR;
    size_t n_inbag = n;
    if (p->subsample < 1.0) {
        n_inbag = (size_t)(p->subsample * (double)n);
        if (n_inbag < 1) n_inbag = 1;
    }
    uint64_t rng = p->seed;
    for (size_t i = 0; i < n; i++) w->perm[i] = (int32_t)i;
    struct ig_boost_tree_params tp = {p->max_depth, p->min_samples_split, p->min_samples_leaf, nt};
    /* Automatic thread count: every node of every tree ends in a barrier, so on a machine
     * busy with other work a descheduled thread stalls the team for a time slice at each of
     * ~7 barriers per tree. Every 25 trees, time one tree with all threads and one with a
     * single thread, and use the faster for the next 23 (the model does not depend on it). */
    const int adaptive = p->n_threads <= 0 && nt > 1;
    double t_team = 0.0, t_one = 0.0;
    for (int it = 0; it < p->n_estimators; it++) {
        /* negative gradient: absolute error -> -1 if raw > y else +1 (sklearn's sign) */
        for (size_t i = 0; i < n; i++)
            w->g[i] = lad ? (w->raw[i] > (double)y[i] ? -1.0 : 1.0) : (double)y[i] - w->raw[i];
        size_t mm = ig_gbr_sample(w, n, n_inbag, &rng);
        struct ig_rtree *t = &m->ens.trees[it];
        const int phase = it % 25;
        if (adaptive) tp.n_threads = phase == 1 ? 1 : phase == 0 || t_team <= t_one ? nt : 1;
        double t0 = adaptive && phase < 2 ? ig_rnow() : 0.0;
        enum ig_regress_status st = ig_boost_tree_fit(t, D, w->g, w->idx, mm, w->leaf, &tp, ws);
        if (adaptive && phase == 0) t_team = ig_rnow() - t0;
        if (adaptive && phase == 1) t_one = ig_rnow() - t0;
        m->ens.n_trees = it + 1;
        if (st) return st;
        if (lad) ig_gbr_lad_leaves(t, y, w, mm);
        ig_gbr_update_raw(t, w, x, is_u8, n, d, mm, p->learning_rate);
    }
    return IG_REGRESS_OK;
}

static enum ig_regress_status ig_gbr_fit_impl(struct ig_gbr **out, const void *x, int is_u8,
                                              size_t n, size_t d, const float *y,
                                              const struct ig_gbr_params *p)
{
    if (!out) return ig_rerror(IG_REGRESS_EINVAL, "gbr: out is NULL");
    *out = NULL;
    enum ig_regress_status st = ig_gbr_check_params(p);
    if (st) return st;
    if ((st = ig_rcheck_shape(x, n, d, 2))) return st;
    if (!y) return ig_rerror(IG_REGRESS_EINVAL, "gbr: targets are NULL");
    if ((st = ig_rcheck_f32(y, n, "gbr: y"))) return st;
    if (!is_u8 && (st = ig_rcheck_f32(x, n * d, "gbr: x"))) return st;

    struct ig_gbr_scratch w;
    memset(&w, 0, sizeof w);
    struct ig_boost_tree_ws *ws = NULL;
    struct ig_rdata D;
    memset(&D, 0, sizeof D);
    struct ig_gbr *m = calloc(1, sizeof *m);
    if (!m) return ig_rerror(IG_REGRESS_ENOMEM, "gbr: out of memory");
    if ((st = ig_gbr_scratch_new(&w, n))) goto fail;
    m->params = *p;
    m->ens.n_out = 1;
    m->ens.d = d;
    m->ens.trees = calloc((size_t)p->n_estimators, sizeof(struct ig_rtree));
    if (!m->ens.trees) {
        st = ig_rerror(IG_REGRESS_ENOMEM, "gbr: out of memory for %d trees", p->n_estimators);
        goto fail;
    }
    const int nt = ig_rthreads(p->n_threads);
    if ((st = ig_boost_tree_ws_new(&ws, n, nt, p->isa))) goto fail;
    st = is_u8 ? ig_rdata_init_u8(&D, x, n, d) : ig_rdata_init_f32(&D, x, n, d);
    if (st) goto fail;
    m->init = ig_gbr_init_of(y, n, p->loss == IG_GBR_LOSS_ABSOLUTE_ERROR, w.res);
    for (size_t i = 0; i < n; i++) w.raw[i] = m->init;
    if ((st = ig_gbr_boost(m, &D, x, is_u8, y, &w, ws, nt))) goto fail;
    m->ens.base[0] = m->init;
    m->ens.scale = p->learning_rate;
    if ((st = ig_rens_compile(&m->ens))) goto fail;
    *out = m;
    m = NULL;
fail:
    ig_gbr_free(m);
    ig_boost_tree_ws_free(ws);
    ig_rdata_free(&D);
    ig_gbr_scratch_free(&w);
    return st;
}

enum ig_regress_status ig_gbr_fit_u8(struct ig_gbr **out, const uint8_t *x, size_t n, size_t d,
                                     const float *y, const struct ig_gbr_params *params)
{
    return ig_gbr_fit_impl(out, x, 1, n, d, y, params);
}

enum ig_regress_status ig_gbr_fit_f32(struct ig_gbr **out, const float *x, size_t n, size_t d,
                                      const float *y, const struct ig_gbr_params *params)
{
    return ig_gbr_fit_impl(out, x, 0, n, d, y, params);
}

static enum ig_regress_status ig_gbr_predict_impl(const struct ig_gbr *m, const void *x, int is_u8,
                                                  size_t n, size_t d, float *out)
{
    if (!m) return ig_rerror(IG_REGRESS_EINVAL, "gbr: model is NULL");
    if (!out) return ig_rerror(IG_REGRESS_EINVAL, "gbr: output is NULL");
    if (n == 0) return IG_REGRESS_OK;
    enum ig_regress_status st = ig_rcheck_shape(x, n, d, 1);
    if (st) return st;
    if (d != m->ens.d)
        return ig_rerror(IG_REGRESS_EINVAL, "gbr: rows have %zu features, the model %zu", d, m->ens.d);
    if (!is_u8 && (st = ig_rcheck_f32(x, n * d, "gbr: x"))) return st;
    ig_rens_predict(&m->ens, x, is_u8, n, out, m->params.n_threads);
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_gbr_predict_u8(const struct ig_gbr *m, const uint8_t *x, size_t n,
                                         size_t d, float *out)
{
    return ig_gbr_predict_impl(m, x, 1, n, d, out);
}

enum ig_regress_status ig_gbr_predict_f32(const struct ig_gbr *m, const float *x, size_t n,
                                          size_t d, float *out)
{
    return ig_gbr_predict_impl(m, x, 0, n, d, out);
}

size_t ig_gbr_n_features(const struct ig_gbr *m) { return m ? m->ens.d : 0; }
int ig_gbr_n_trees(const struct ig_gbr *m) { return m ? m->ens.n_trees : 0; }
double ig_gbr_init_value(const struct ig_gbr *m) { return m ? m->init : 0.0; }

void ig_gbr_free(struct ig_gbr *m)
{
    if (!m) return;
    ig_rens_free(&m->ens);
    free(m);
}

/* ---------------------------------------------------------------- save/load */

/* The model as a JSON document (NULL with the error set on allocation failure). */
static json_t *ig_gbr_json(const struct ig_gbr *m)
{
    json_t *root = ig_rens_to_json(&m->ens);
    if (!root) {
        ig_rerror(IG_REGRESS_ENOMEM, "gbr: cannot build the JSON document");
        return NULL;
    }
    const struct ig_gbr_params *p = &m->params;
    int bad = 0;
    bad |= json_object_set_new(root, "format", json_string(IG_RFORMAT));
    bad |= json_object_set_new(root, "version", json_integer(IG_RFORMAT_VERSION));
    bad |= json_object_set_new(root, "kind", json_string("gbr"));
    bad |= json_object_set_new(root, "loss", json_string(p->loss == IG_GBR_LOSS_ABSOLUTE_ERROR
                                                             ? "absolute_error" : "squared_error"));
    bad |= json_object_set_new(root, "learning_rate", json_real(p->learning_rate));
    bad |= json_object_set_new(root, "n_estimators", json_integer(p->n_estimators));
    bad |= json_object_set_new(root, "max_depth", json_integer(p->max_depth));
    bad |= json_object_set_new(root, "min_samples_split", json_integer(p->min_samples_split));
    bad |= json_object_set_new(root, "min_samples_leaf", json_integer(p->min_samples_leaf));
    bad |= json_object_set_new(root, "subsample", json_real(p->subsample));
    bad |= json_object_set_new(root, "seed", json_integer((json_int_t)p->seed));
    bad |= json_object_set_new(root, "init", json_real(m->init));
    if (bad) {
        json_decref(root);
        ig_rerror(IG_REGRESS_ENOMEM, "gbr: cannot build the JSON document");
        return NULL;
    }
    return root;
}

enum ig_regress_status ig_gbr_save(const struct ig_gbr *m, const char *path)
{
    if (!m || !path) return ig_rerror(IG_REGRESS_EINVAL, "gbr: save needs a model and a path");
    return ig_rjson_emit(ig_gbr_json(m), path, NULL, NULL);
}

enum ig_regress_status ig_gbr_to_json(const struct ig_gbr *m, char **text, size_t *len)
{
    if (!m || !text) return ig_rerror(IG_REGRESS_EINVAL, "gbr: to_json needs a model and text");
    return ig_rjson_emit(ig_gbr_json(m), NULL, text, len);
}

static int ig_rget_real(json_t *root, const char *key, double *v)
{
    json_t *j = json_object_get(root, key);
    if (!json_is_number(j)) return -1;
    *v = json_number_value(j);
    return isfinite(*v) ? 0 : -1;
}

static int ig_rget_int(json_t *root, const char *key, int *v)
{
    json_t *j = json_object_get(root, key);
    if (!json_is_integer(j)) return -1;
    json_int_t x = json_integer_value(j);
    if (x < INT32_MIN || x > INT32_MAX) return -1;
    *v = (int)x;
    return 0;
}

enum ig_regress_status ig_gbr_load(struct ig_gbr **out, const char *path)
{
    if (!out || !path) return ig_rerror(IG_REGRESS_EINVAL, "gbr: load needs out and a path");
    *out = NULL;
    json_t *root = NULL;
    enum ig_regress_status st = ig_rjson_read(&root, path, "gbr");
    if (st) return st;
    struct ig_gbr *m = calloc(1, sizeof *m);
    if (!m) {
        json_decref(root);
        return ig_rerror(IG_REGRESS_ENOMEM, "gbr: out of memory");
    }
    struct ig_gbr_params *p = &m->params;
    *p = ig_gbr_params_default();
    const char *loss = json_string_value(json_object_get(root, "loss"));
    json_t *seed = json_object_get(root, "seed"); /* an integer: a real like 1e300 has no uint64 */
    if (!loss || (strcmp(loss, "absolute_error") && strcmp(loss, "squared_error")) ||
        ig_rget_real(root, "learning_rate", &p->learning_rate) ||
        ig_rget_int(root, "n_estimators", &p->n_estimators) ||
        ig_rget_int(root, "max_depth", &p->max_depth) ||
        ig_rget_int(root, "min_samples_split", &p->min_samples_split) ||
        ig_rget_int(root, "min_samples_leaf", &p->min_samples_leaf) ||
        ig_rget_real(root, "subsample", &p->subsample) || !json_is_integer(seed) ||
        ig_rget_real(root, "init", &m->init)) {
        st = ig_rerror(IG_REGRESS_EFORMAT, "gbr: %s: missing or bad model fields", path);
        goto done;
    }
    p->loss = strcmp(loss, "absolute_error") ? IG_GBR_LOSS_SQUARED_ERROR : IG_GBR_LOSS_ABSOLUTE_ERROR;
    p->seed = (uint64_t)json_integer_value(seed);
    if (ig_gbr_check_params(p)) {
        st = ig_rerror(IG_REGRESS_EFORMAT, "gbr: %s: bad parameters (%s)", path, ig_regress_last_error());
        goto done;
    }
    if ((st = ig_rens_from_json(&m->ens, root))) goto done;
    if (m->ens.n_out != 1) {
        st = ig_rerror(IG_REGRESS_EFORMAT, "gbr: %s: trees have %d outputs, expected 1", path, m->ens.n_out);
        goto done;
    }
    if (m->ens.n_trees != p->n_estimators) {
        st = ig_rerror(IG_REGRESS_EFORMAT, "gbr: %s: n_estimators is %d but the file holds %d trees",
                       path, p->n_estimators, m->ens.n_trees);
        goto done;
    }
    m->ens.base[0] = m->init;
    m->ens.scale = p->learning_rate;
    st = ig_rens_compile(&m->ens);
done:
    json_decref(root);
    if (st) ig_gbr_free(m);
    else *out = m;
    return st;
}
