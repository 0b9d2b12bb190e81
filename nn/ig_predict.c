/* Model predictions for dataset rows in evaluation mode: class probabilities, argmax classes and penultimate features, batched. */
#include "ig_data.h"
#include "ig_nn.h"
#include "ig_util.h"
#include <stdlib.h>
#include <string.h>

/* The last Linear module of the tree in forward order (NULL if none). */
static struct ig_module *last_linear(struct ig_module *m)
{
    if (!m) return NULL;
    if (m->kind == IG_MODULE_LINEAR) return m;
    for (int i = m->n_children - 1; i >= 0; i--) {
        struct ig_module *l = last_linear(m->children[i]);
        if (l) return l;
    }
    return NULL;
}

static bool contains(const struct ig_module *m, const struct ig_module *tap)
{
    if (m == tap) return true;
    for (int i = 0; i < m->n_children; i++)
        if (contains(m->children[i], tap)) return true;
    return false;
}

/* Eval-mode forward of the tree that also returns the input of module `tap` in *tapped. Subtrees without the tap
 * go through ig_module_forward whole (its ReLU / max-pool order included). */
static struct ig_var *forward_tap(struct ig_module *m, struct ig_graph *g, struct ig_var *x, const struct ig_module *tap,
                                  struct ig_var **tapped)
{
    if (m == tap) *tapped = x;
    if (m->kind != IG_MODULE_SEQUENTIAL || !contains(m, tap)) return ig_module_forward(m, g, x, false, NULL);
    for (int i = 0; i < m->n_children && x; i++) x = forward_tap(m->children[i], g, x, tap, tapped);
    return x;
}

int ig_model_num_classes(const struct ig_model *m)
{
    struct ig_module *l = m ? last_linear(m->root) : NULL;
    return l ? (int)l->out_features : 0;
}

int64_t ig_model_feature_dim(const struct ig_model *m)
{
    struct ig_module *l = m ? last_linear(m->root) : NULL;
    return l ? l->in_features : 0;
}

struct predict_ctx {
    struct ig_model *m;
    struct ig_graph *g;
    struct ig_module *tap;
    int64_t classes, feat;
};

/* One batch x [nb,...]: rows [at, at + nb) of the outputs. */
static enum ig_status predict_batch(struct predict_ctx *c, struct ig_tensor *x, int64_t nb, int64_t at,
                                    const struct ig_predict_out *out)
{
    ig_graph_reset(c->g);
    ig_graph_set_grad_enabled(c->g, false);
    struct ig_var *tapped = NULL;
    struct ig_var *logits = forward_tap(c->m->root, c->g, ig_graph_input(c->g, x, false), c->tap, &tapped);
    ig_graph_set_grad_enabled(c->g, true);
    if (!logits || (out->feats && !tapped)) {
        enum ig_status s = ig_graph_status(c->g);
        return s != IG_OK ? s : ig_error(IG_ERR_INTERNAL, "ig_model_predict: forward failed");
    }
    struct ig_tensor *lv = ig_var_value(logits);
    if (lv->ndim != 2 || lv->shape[0] != nb || lv->shape[1] != c->classes)
        return ig_error(IG_ERR_SHAPE, "ig_model_predict: logits are not [%lld, %lld]", (long long)nb, (long long)c->classes);
    enum ig_status s = IG_OK;
    if (out->probs) {
        struct ig_tensor *pt = ig_tensor_new(ig_model_backend(c->m), IG_DTYPE_F32, 2, lv->shape);
        s = pt ? ig_softmax(pt, lv) : IG_ERR_OOM;
        if (s == IG_OK) s = ig_tensor_to_host(pt, out->probs + at * c->classes, (size_t)(nb * c->classes) * sizeof(float));
        ig_tensor_free(pt);
    }
    if (s == IG_OK && out->pred) {
        struct ig_tensor *pr = ig_tensor_new(ig_model_backend(c->m), IG_DTYPE_I32, 1, &nb);
        s = pr ? ig_argmax_rows(pr, lv) : IG_ERR_OOM;
        if (s == IG_OK) s = ig_tensor_to_host(pr, out->pred + at, (size_t)nb * sizeof(int32_t));
        ig_tensor_free(pr);
    }
    if (s == IG_OK && out->feats) {
        struct ig_tensor *fv = ig_var_value(tapped);
        if (ig_tensor_numel(fv) != nb * c->feat)
            return ig_error(IG_ERR_SHAPE, "ig_model_predict: penultimate features are not [%lld, %lld]", (long long)nb,
                            (long long)c->feat);
        s = ig_tensor_to_host(fv, out->feats + at * c->feat, (size_t)(nb * c->feat) * sizeof(float));
    }
    return s;
}

enum ig_status ig_model_predict(struct ig_model *m, const struct ig_dataset *ds, const int64_t *rows, int64_t n,
                                int64_t batch, struct ig_norm_params norm, const struct ig_predict_out *out)
{
    if (!m || !ds || !out || batch < 1 || n < 0) return ig_error(IG_ERR_INVALID_ARG, "ig_model_predict: bad argument");
    if (!rows && n > ds->n)
        return ig_error(IG_ERR_INVALID_ARG, "ig_model_predict: %lld rows of a dataset of %lld", (long long)n,
                        (long long)ds->n);
    struct predict_ctx c = {m, NULL, last_linear(m->root), ig_model_num_classes(m), ig_model_feature_dim(m)};
    if (!c.tap) return ig_error(IG_ERR_UNSUPPORTED, "ig_model_predict: the model has no Linear output layer");
    if (n == 0) return IG_OK;
    int64_t cap = batch < n ? batch : n;
    struct ig_batcher *bt = NULL;
    int64_t *idx = malloc((size_t)cap * sizeof *idx);
    enum ig_status s = idx ? ig_batcher_new(&bt, ig_model_backend(m), ds, cap, norm)
                           : ig_error(IG_ERR_OOM, "ig_model_predict: out of host memory");
    if (s == IG_OK) s = ig_graph_new(ig_model_backend(m), &c.g);
    bool was = ig_model_is_training(m);
    ig_model_set_train(m, false);
    for (int64_t i = 0; s == IG_OK && i < n; i += cap) {
        int64_t nb = n - i < cap ? n - i : cap;
        for (int64_t j = 0; j < nb; j++) idx[j] = rows ? rows[i + j] : i + j;
        struct ig_tensor *x = NULL;
        s = ig_batcher_fill(bt, idx, nb, &x, NULL);
        if (s == IG_OK) s = predict_batch(&c, x, nb, i, out);
    }
    ig_model_set_train(m, was);
    ig_graph_free(c.g);
    ig_batcher_free(bt);
    free(idx);
    return s;
}
