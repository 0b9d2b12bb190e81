/* regress model files: versioned JSON (jansson) for tree node arrays, with full validation on load. */
#include "ig_regress_internal.h"
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * File layout (version 1):
 *   {"format": "igradv-regress", "version": 1, "kind": "gbr" | "rf_classifier" | "rf_regressor",
 *    <model fields>, "n_features": d, "n_outputs": k,
 *    "trees": [{"feature": [..], "threshold": [..], "left": [..], "right": [..],
 *               "value": [n_nodes * k]}, ...]}
 * feature -1 marks a leaf (left/right -1); children have larger indices than their parent.
 */

static json_t *ig_rjson_ints(const int32_t *v, int32_t n)
{
    json_t *a = json_array();
    for (int32_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *ig_rens_to_json(const struct ig_rens *e)
{
    json_t *root = json_object(), *trees = json_array();
    if (!root || !trees) goto fail;
    if (json_object_set_new(root, "n_features", json_integer((json_int_t)e->d)) ||
        json_object_set_new(root, "n_outputs", json_integer(e->n_out)))
        goto fail;
    for (int t = 0; t < e->n_trees; t++) {
        const struct ig_rtree *tr = &e->trees[t];
        json_t *o = json_object(), *th = json_array(), *val = json_array();
        int bad = !o || !th || !val;
        for (int32_t i = 0; !bad && i < tr->n_nodes; i++)
            bad |= json_array_append_new(th, json_real(tr->threshold[i]));
        for (size_t i = 0; !bad && i < (size_t)tr->n_nodes * (size_t)tr->n_out; i++)
            bad |= json_array_append_new(val, json_real(tr->value[i]));
        if (!bad) {
            bad |= json_object_set_new(o, "feature", ig_rjson_ints(tr->feature, tr->n_nodes));
            bad |= json_object_set_new(o, "threshold", th);
            th = NULL;
            bad |= json_object_set_new(o, "left", ig_rjson_ints(tr->left, tr->n_nodes));
            bad |= json_object_set_new(o, "right", ig_rjson_ints(tr->right, tr->n_nodes));
            bad |= json_object_set_new(o, "value", val);
            val = NULL;
        }
        if (!bad) bad |= json_array_append_new(trees, o);
        else json_decref(o);
        json_decref(th);
        json_decref(val);
        if (bad) goto fail;
    }
    if (json_object_set_new(root, "trees", trees)) {
        trees = NULL;
        goto fail;
    }
    return root;
fail:
    json_decref(trees);
    json_decref(root);
    return NULL;
}

/* reads an array of n integers in [lo, hi] */
static int ig_rjson_get_ints(json_t *a, int32_t *out, size_t n, json_int_t lo, json_int_t hi)
{
    if (!json_is_array(a) || json_array_size(a) != n) return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v)) return -1;
        json_int_t x = json_integer_value(v);
        if (x < lo || x > hi) return -1;
        out[i] = (int32_t)x;
    }
    return 0;
}

static int ig_rjson_get_reals(json_t *a, size_t n, float *outf, double *outd)
{
    if (!json_is_array(a) || json_array_size(a) != n) return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_number(v)) return -1;
        double x = json_number_value(v);
        if (isnan(x)) return -1;
        if (outf) outf[i] = (float)x;
        if (outd) outd[i] = x;
    }
    return 0;
}

enum ig_regress_status ig_rens_from_json(struct ig_rens *e, json_t *obj)
{
    memset(e, 0, sizeof *e);
    json_t *jd = json_object_get(obj, "n_features"), *jk = json_object_get(obj, "n_outputs");
    json_t *trees = json_object_get(obj, "trees");
    if (!json_is_integer(jd) || !json_is_integer(jk) || !json_is_array(trees))
        return ig_rerror(IG_REGRESS_EFORMAT, "regress: model lacks n_features/n_outputs/trees");
    json_int_t d = json_integer_value(jd), k = json_integer_value(jk);
    size_t nt = json_array_size(trees);
    if (d < 1 || d > INT32_MAX || k < 1 || k > IG_RMAX_OUT || nt < 1 || nt > 10000000)
        return ig_rerror(IG_REGRESS_EFORMAT, "regress: bad sizes (n_features %lld, n_outputs %lld, "
                         "%zu trees)", (long long)d, (long long)k, nt);
    e->d = (size_t)d;
    e->n_out = (int)k;
    e->trees = calloc(nt, sizeof(struct ig_rtree));
    if (!e->trees) return ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory for %zu trees", nt);
    e->n_trees = (int)nt;
    for (size_t t = 0; t < nt; t++) {
        struct ig_rtree *tr = &e->trees[t];
        tr->n_out = (int)k;
        json_t *o = json_array_get(trees, t);
        json_t *jf = json_object_get(o, "feature");
        size_t nn = json_array_size(jf);
        if (!json_is_object(o) || !json_is_array(jf) || nn < 1 || nn > (size_t)INT32_MAX / 2) {
            ig_rens_free(e);
            return ig_rerror(IG_REGRESS_EFORMAT, "regress: tree %zu is malformed", t);
        }
        enum ig_regress_status st = ig_rtree_reserve(tr, (int32_t)nn);
        if (st) {
            ig_rens_free(e);
            return st;
        }
        tr->n_nodes = (int32_t)nn;
        if (ig_rjson_get_ints(jf, tr->feature, nn, -1, d - 1) ||
            ig_rjson_get_ints(json_object_get(o, "left"), tr->left, nn, -1, (json_int_t)nn - 1) ||
            ig_rjson_get_ints(json_object_get(o, "right"), tr->right, nn, -1, (json_int_t)nn - 1) ||
            ig_rjson_get_reals(json_object_get(o, "threshold"), nn, tr->threshold, NULL) ||
            ig_rjson_get_reals(json_object_get(o, "value"), nn * (size_t)k, NULL, tr->value)) {
            ig_rens_free(e);
            return ig_rerror(IG_REGRESS_EFORMAT, "regress: tree %zu has bad node arrays", t);
        }
        if ((st = ig_rtree_validate(tr, e->d))) {
            ig_rens_free(e);
            return ig_rerror(st, "regress: tree %zu: %s", t, ig_regress_last_error());
        }
        /* depth: parents come before children */
        int32_t *dep = calloc(nn, sizeof(int32_t));
        if (!dep) {
            ig_rens_free(e);
            return ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory");
        }
        tr->depth = 0;
        for (size_t i = 0; i < nn; i++) {
            if (dep[i] > tr->depth) tr->depth = dep[i];
            if (tr->feature[i] >= 0) dep[tr->left[i]] = dep[tr->right[i]] = dep[i] + 1;
        }
        free(dep);
    }
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_rjson_write(json_t *root, const char *path)
{
    if (json_dump_file(root, path, JSON_COMPACT | JSON_REAL_PRECISION(17)) != 0)
        return ig_rerror(IG_REGRESS_EIO, "regress: cannot write %s: %s", path, strerror(errno));
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_rjson_dumps(json_t *root, char **text, size_t *len)
{
    *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!*text) return ig_rerror(IG_REGRESS_ENOMEM, "regress: cannot serialise the model");
    if (len) *len = strlen(*text);
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_rjson_emit(json_t *root, const char *path, char **text, size_t *len)
{
    if (text) *text = NULL;
    if (!root) return IG_REGRESS_ENOMEM; /* the builder has set the message */
    enum ig_regress_status st = path ? ig_rjson_write(root, path) : ig_rjson_dumps(root, text, len);
    json_decref(root);
    return st;
}

enum ig_regress_status ig_rjson_read(json_t **out, const char *path, const char *kind)
{
    *out = NULL;
    json_error_t err;
    FILE *f = fopen(path, "rb");
    if (!f) return ig_rerror(IG_REGRESS_EIO, "regress: cannot open %s: %s", path, strerror(errno));
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
    fclose(f);
    if (!root)
        return ig_rerror(IG_REGRESS_EFORMAT, "regress: %s is not valid JSON (line %d: %s)", path,
                         err.line, err.text);
    const char *fmt = json_string_value(json_object_get(root, "format"));
    json_t *ver = json_object_get(root, "version");
    const char *k = json_string_value(json_object_get(root, "kind"));
    enum ig_regress_status st = IG_REGRESS_OK;
    if (!json_is_object(root) || !fmt || strcmp(fmt, IG_RFORMAT))
        st = ig_rerror(IG_REGRESS_EFORMAT, "regress: %s is not an %s model", path, IG_RFORMAT);
    else if (!json_is_integer(ver) || json_integer_value(ver) != IG_RFORMAT_VERSION)
        st = ig_rerror(IG_REGRESS_EFORMAT, "regress: %s has unsupported version (want %d)", path,
                       IG_RFORMAT_VERSION);
    else if (!k || strcmp(k, kind))
        st = ig_rerror(IG_REGRESS_EFORMAT, "regress: %s holds a '%s' model, expected '%s'", path,
                       k ? k : "?", kind);
    if (st) {
        json_decref(root);
        return st;
    }
    *out = root;
    return IG_REGRESS_OK;
}
