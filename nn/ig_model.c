/* nn models: state_dict naming of a module tree, the paper CNN / small CNN / MLP constructors, train and eval steps. */
#include "ig_nn.h"
#include "ig_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- state_dict naming */

/* Appends prefix+leaf to the state_dict: a parameter when v is set, else a buffer (t; NULL for the batch count). */
static enum ig_status add_entry(struct ig_model *m, const char *prefix, const char *leaf, struct ig_var *v,
                                struct ig_tensor *t, struct ig_module *owner, bool is_count)
{
    char *name;
    if (v) {
        struct ig_named_param *p = realloc(m->params, (size_t)(m->n_params + 1) * sizeof *p);
        if (!p) return ig_error(IG_ERR_OOM, "model: out of host memory");
        m->params = p;
        p[m->n_params] = (struct ig_named_param){.var = v, .owner = owner};
        name = p[m->n_params++].name;
    } else {
        struct ig_named_buffer *b = realloc(m->buffers, (size_t)(m->n_buffers + 1) * sizeof *b);
        if (!b) return ig_error(IG_ERR_OOM, "model: out of host memory");
        m->buffers = b;
        b[m->n_buffers] = (struct ig_named_buffer){.t = t, .owner = owner, .is_count = is_count};
        name = b[m->n_buffers++].name;
    }
    snprintf(name, sizeof m->params->name, "%s%s", prefix, leaf);
    return IG_OK;
}

/* PyTorch order: a module's own parameters, then its buffers, then its children. */
static enum ig_status collect(struct ig_model *m, struct ig_module *mod, const char *prefix)
{
    if (strlen(prefix) > 80) return ig_error(IG_ERR_INVALID_ARG, "model: module path too long: %s", prefix);
    if (mod->weight) IG_TRY(add_entry(m, prefix, "weight", mod->weight, NULL, mod, false));
    if (mod->bias) IG_TRY(add_entry(m, prefix, "bias", mod->bias, NULL, mod, false));
    if (mod->kind == IG_MODULE_BATCHNORM2D) {
        IG_TRY(add_entry(m, prefix, "running_mean", NULL, mod->running_mean, mod, false));
        IG_TRY(add_entry(m, prefix, "running_var", NULL, mod->running_var, mod, false));
        IG_TRY(add_entry(m, prefix, "num_batches_tracked", NULL, NULL, mod, true));
    }
    for (int i = 0; i < mod->n_children; i++) {
        char sub[128];
        snprintf(sub, sizeof sub, "%s%s.", prefix, mod->children[i]->name);
        IG_TRY(collect(m, mod->children[i], sub));
    }
    return IG_OK;
}

enum ig_status ig_model_new(struct ig_model **out, struct ig_backend *be, struct ig_module *root, uint64_t seed,
                            const char *arch)
{
    if (!out) {
        ig_module_free(root);
        return ig_error(IG_ERR_INVALID_ARG, "ig_model_new: out is NULL");
    }
    *out = NULL;
    if (!root) return IG_ERR_INVALID_ARG;   /* the constructor's message stays */
    if (!be) {
        ig_module_free(root);
        return ig_error(IG_ERR_INVALID_ARG, "ig_model_new: backend is NULL");
    }
    struct ig_model *m = calloc(1, sizeof *m);
    if (!m) {
        ig_module_free(root);
        return ig_error(IG_ERR_OOM, "ig_model_new: out of host memory");
    }
    m->be = be;
    m->root = root;
    m->training = true;
    ig_rng_seed(&m->rng, seed);
    snprintf(m->arch, sizeof m->arch, "%s", arch ? arch : "custom");
    enum ig_status s = collect(m, root, "");
    if (s != IG_OK) {
        ig_model_free(m);
        return s;
    }
    *out = m;
    return IG_OK;
}

void ig_model_free(struct ig_model *m)
{
    if (!m) return;
    ig_module_free(m->root);
    free(m->params);
    free(m->buffers);
    ig_tensor_free(m->pred);
    free(m->host_pred);
    free(m->host_label);
    free(m);
}

void ig_model_set_train(struct ig_model *m, bool train) { if (m) m->training = train; }

struct ig_backend *ig_model_backend(const struct ig_model *m) { return m ? m->be : NULL; }
struct ig_rng *ig_model_rng(struct ig_model *m) { return m ? &m->rng : NULL; }
const char *ig_model_arch(const struct ig_model *m) { return m ? m->arch : ""; }
bool ig_model_is_training(const struct ig_model *m) { return m && m->training; }
int ig_model_num_param_tensors(const struct ig_model *m) { return m ? m->n_params : 0; }

struct ig_var *ig_model_param_at(const struct ig_model *m, int i, const char **name, const struct ig_module **owner)
{
    if (!m || i < 0 || i >= m->n_params) return NULL;
    if (name) *name = m->params[i].name;
    if (owner) *owner = m->params[i].owner;
    return m->params[i].var;
}

int64_t ig_model_num_params(const struct ig_model *m)
{
    int64_t n = 0;
    for (int i = 0; m && i < m->n_params; i++) n += ig_tensor_numel(ig_var_value(m->params[i].var));
    return n;
}

void ig_model_set_watch(struct ig_model *m, bool on)
{
    for (int i = 0; m && i < m->n_params; i++) {
        const struct ig_module *o = m->params[i].owner;
        if ((o->kind == IG_MODULE_CONV2D || o->kind == IG_MODULE_LINEAR) && m->params[i].var == o->weight)
            ig_param_set_watch(m->params[i].var, on);
    }
}

struct ig_var *ig_model_param(const struct ig_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) return m->params[i].var;
    return NULL;
}

struct ig_tensor *ig_model_buffer(const struct ig_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->n_buffers; i++)
        if (strcmp(m->buffers[i].name, name) == 0) return m->buffers[i].t;
    return NULL;
}

/* ---------------------------------------------------------------- architectures */

#define ADD(seq, name, child)                                       \
    do {                                                            \
        if (ig_sequential_add((seq), (name), (child)) != IG_OK) goto fail; \
    } while (0)

/* Frees what a CNN constructor had built when one of its layers failed (that constructor set the message). */
static enum ig_status cnn_fail(struct ig_module *root, struct ig_module *f, struct ig_module *c)
{
    ig_module_free(root);
    ig_module_free(f);
    ig_module_free(c);
    return IG_ERR_INVALID_ARG;
}

/* root = Sequential(features = f, flatten, classifier = c) as a model with model_seed and generator *rng;
 * takes root, f and c in every case. */
static enum ig_status cnn_finish(struct ig_model **out, struct ig_backend *be, struct ig_module *root, struct ig_module *f,
                                 struct ig_module *c, uint64_t model_seed, const struct ig_rng *rng, const char *arch)
{
    if (ig_sequential_add(root, "features", f) != IG_OK) return cnn_fail(root, NULL, c);
    if (ig_sequential_add(root, "flatten", ig_flatten_new()) != IG_OK) return cnn_fail(root, NULL, c);
    if (ig_sequential_add(root, "classifier", c) != IG_OK) return cnn_fail(root, NULL, NULL);
    enum ig_status s = ig_model_new(out, be, root, model_seed, arch);
    if (s == IG_OK) (*out)->rng = *rng;
    return s;
}

enum ig_status ig_model_paper_cnn(struct ig_model **out, struct ig_backend *be, int in_ch, int h, int w,
                                  int classes, uint64_t seed)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_model_paper_cnn: out is NULL");
    *out = NULL;
    if (in_ch < 1 || h < 8 || w < 8 || classes < 2)
        return ig_error(IG_ERR_INVALID_ARG, "paper CNN: needs >= 1 channel, images >= 8x8, >= 2 classes (got %d, %dx%d, %d)",
                        in_ch, h, w, classes);
    struct ig_rng rng;
    ig_rng_seed(&rng, seed);
    struct ig_module *root = ig_sequential_new(), *f = ig_sequential_new(), *c = ig_sequential_new();
    if (!root || !f || !c) goto fail;
    /* features: indices as in the PyTorch nn.Sequential (state_dict keys) */
    ADD(f, NULL, ig_conv2d_new(be, &rng, in_ch, 32, 3, 1, 1, true));   /* 0 */
    ADD(f, NULL, ig_batchnorm2d_new(be, 32));                          /* 1 */
    ADD(f, NULL, ig_relu_new());                                       /* 2 */
    ADD(f, NULL, ig_conv2d_new(be, &rng, 32, 64, 3, 1, 1, true));      /* 3 */
    ADD(f, NULL, ig_relu_new());                                       /* 4 */
    ADD(f, NULL, ig_maxpool2d_new(2, 2));                              /* 5 */
    ADD(f, NULL, ig_conv2d_new(be, &rng, 64, 128, 3, 1, 1, true));     /* 6 */
    ADD(f, NULL, ig_batchnorm2d_new(be, 128));                         /* 7 */
    ADD(f, NULL, ig_relu_new());                                       /* 8 */
    ADD(f, NULL, ig_conv2d_new(be, &rng, 128, 128, 3, 1, 1, true));    /* 9 */
    ADD(f, NULL, ig_relu_new());                                       /* 10 */
    ADD(f, NULL, ig_maxpool2d_new(2, 2));                              /* 11 */
    ADD(f, NULL, ig_dropout2d_new(0.05f));                             /* 12 */
    ADD(f, NULL, ig_conv2d_new(be, &rng, 128, 256, 3, 1, 1, true));    /* 13 */
    ADD(f, NULL, ig_batchnorm2d_new(be, 256));                         /* 14 */
    ADD(f, NULL, ig_relu_new());                                       /* 15 */
    ADD(f, NULL, ig_conv2d_new(be, &rng, 256, 256, 3, 1, 1, true));    /* 16 */
    ADD(f, NULL, ig_relu_new());                                       /* 17 */
    ADD(f, NULL, ig_maxpool2d_new(2, 2));                              /* 18 */
    int64_t flat = 256 * (int64_t)(h / 8) * (int64_t)(w / 8);
    ADD(c, NULL, ig_dropout_new(0.1f));                                /* 0 */
    ADD(c, NULL, ig_linear_new(be, &rng, flat, 1024, true));           /* 1 */
    ADD(c, NULL, ig_relu_new());                                       /* 2 */
    ADD(c, NULL, ig_linear_new(be, &rng, 1024, 512, true));            /* 3 */
    ADD(c, NULL, ig_relu_new());                                       /* 4 */
    ADD(c, NULL, ig_dropout_new(0.1f));                                /* 5 */
    ADD(c, NULL, ig_linear_new(be, &rng, 512, classes, true));         /* 6 */
    /* dropout seeds continue the same generator */
    return cnn_finish(out, be, root, f, c, ig_rng_next(&rng), &rng, "paper");
fail:
    return cnn_fail(root, f, c);
}

enum ig_status ig_model_small_cnn(struct ig_model **out, struct ig_backend *be, int in_ch, int h, int w,
                                  int classes, uint64_t seed)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_model_small_cnn: out is NULL");
    *out = NULL;
    if (in_ch < 1 || h < 4 || w < 4 || classes < 2)
        return ig_error(IG_ERR_INVALID_ARG, "small CNN: needs >= 1 channel, images >= 4x4, >= 2 classes");
    struct ig_rng rng;
    ig_rng_seed(&rng, seed);
    struct ig_module *root = ig_sequential_new(), *f = ig_sequential_new(), *c = ig_sequential_new();
    if (!root || !f || !c) goto fail;
    ADD(f, NULL, ig_conv2d_new(be, &rng, in_ch, 16, 3, 1, 1, true));
    ADD(f, NULL, ig_batchnorm2d_new(be, 16));
    ADD(f, NULL, ig_relu_new());
    ADD(f, NULL, ig_maxpool2d_new(2, 2));
    ADD(f, NULL, ig_conv2d_new(be, &rng, 16, 32, 3, 1, 1, true));
    ADD(f, NULL, ig_batchnorm2d_new(be, 32));
    ADD(f, NULL, ig_relu_new());
    ADD(f, NULL, ig_maxpool2d_new(2, 2));
    ADD(c, NULL, ig_linear_new(be, &rng, 32 * (int64_t)(h / 4) * (int64_t)(w / 4), 64, true));
    ADD(c, NULL, ig_relu_new());
    ADD(c, NULL, ig_linear_new(be, &rng, 64, classes, true));
    return cnn_finish(out, be, root, f, c, 0, &rng, "small");
fail:
    return cnn_fail(root, f, c);
}

enum ig_status ig_model_mlp(struct ig_model **out, struct ig_backend *be, int64_t in, int64_t hidden, int classes,
                            uint64_t seed)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_model_mlp: out is NULL");
    *out = NULL;
    struct ig_rng rng;
    ig_rng_seed(&rng, seed);
    struct ig_module *root = ig_sequential_new();
    if (!root) return IG_ERR_OOM;
    ADD(root, NULL, ig_flatten_new());
    ADD(root, NULL, ig_linear_new(be, &rng, in, hidden, true));
    ADD(root, NULL, ig_relu_new());
    ADD(root, NULL, ig_linear_new(be, &rng, hidden, classes, true));
    enum ig_status s = ig_model_new(out, be, root, 0, "mlp");
    if (s == IG_OK) (*out)->rng = rng;
    return s;
fail:
    ig_module_free(root);
    return IG_ERR_INVALID_ARG;
}

/* ---------------------------------------------------------------- steps */

struct ig_var *ig_model_forward(struct ig_model *m, struct ig_graph *g, struct ig_var *x)
{
    if (!m) {
        ig_error(IG_ERR_INVALID_ARG, "ig_model_forward: model is NULL");
        return NULL;
    }
    return ig_module_forward(m->root, g, x, m->training, &m->rng);
}

struct ig_var *ig_nn_cross_entropy(struct ig_graph *g, struct ig_var *logits, const struct ig_tensor *labels)
{
    return ig_ag_cross_entropy(g, logits, labels, IG_REDUCTION_MEAN);
}

enum ig_status ig_model_count_correct(struct ig_model *m, const struct ig_tensor *logits, const struct ig_tensor *labels,
                                      int64_t *correct)
{
    if (!m || !logits || !labels || !correct) return ig_error(IG_ERR_INVALID_ARG, "ig_model_count_correct: NULL argument");
    if (logits->ndim != 2 || labels->ndim != 1 || labels->shape[0] != logits->shape[0] || labels->dtype != IG_DTYPE_I32)
        return ig_error(IG_ERR_SHAPE, "ig_model_count_correct: expected logits [N,M] and labels i32 [N]");
    int64_t n = logits->shape[0];
    if (!m->pred || m->pred->shape[0] != n || m->pred->backend != logits->backend) {
        ig_tensor_free(m->pred);
        m->pred = ig_tensor_new(logits->backend, IG_DTYPE_I32, 1, &n);
        if (!m->pred) return IG_ERR_OOM;
    }
    if (n > m->host_cap) {
        free(m->host_pred);
        free(m->host_label);
        m->host_pred = malloc((size_t)n * sizeof(int32_t));
        m->host_label = malloc((size_t)n * sizeof(int32_t));
        m->host_cap = (m->host_pred && m->host_label) ? n : 0;
        if (!m->host_cap) return ig_error(IG_ERR_OOM, "ig_model_count_correct: out of host memory");
    }
    IG_TRY(ig_argmax_rows(m->pred, logits));
    IG_TRY(ig_tensor_to_host(m->pred, m->host_pred, (size_t)n * sizeof(int32_t)));
    IG_TRY(ig_tensor_to_host(labels, m->host_label, (size_t)n * sizeof(int32_t)));
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += m->host_pred[i] == m->host_label[i];
    *correct = c;
    return IG_OK;
}

static enum ig_status graph_failed(struct ig_graph *g)
{
    enum ig_status s = ig_graph_status(g);
    return s != IG_OK ? s : IG_ERR_INTERNAL;
}

enum ig_status ig_model_train_step(struct ig_model *m, struct ig_optim *opt, struct ig_graph *g, struct ig_tensor *x,
                                   const struct ig_tensor *y, float *loss, int64_t *correct)
{
    if (!m || !opt || !g || !x || !y) return ig_error(IG_ERR_INVALID_ARG, "ig_model_train_step: NULL argument");
    m->training = true;
    ig_graph_reset(g);
    ig_graph_set_grad_enabled(g, true);
    struct ig_var *logits = ig_model_forward(m, g, ig_graph_input(g, x, false));
    struct ig_var *l = ig_nn_cross_entropy(g, logits, y);
    if (!l) return graph_failed(g);
    ig_optim_zero_grad(opt);
    IG_TRY(ig_graph_backward(g, l));
    IG_TRY(ig_optim_step(opt));
    if (loss) IG_TRY(ig_tensor_item(ig_var_value(l), loss));
    if (correct) IG_TRY(ig_model_count_correct(m, ig_var_value(logits), y, correct));
    return IG_OK;
}

enum ig_status ig_model_eval_batch(struct ig_model *m, struct ig_graph *g, struct ig_tensor *x, const struct ig_tensor *y,
                                   double *loss_sum, int64_t *correct)
{
    if (!m || !g || !x || !y) return ig_error(IG_ERR_INVALID_ARG, "ig_model_eval_batch: NULL argument");
    bool was = ig_graph_grad_enabled(g);
    ig_graph_reset(g);
    ig_graph_set_grad_enabled(g, false);
    struct ig_var *logits = ig_model_forward(m, g, ig_graph_input(g, x, false));
    struct ig_var *l = loss_sum ? ig_ag_cross_entropy(g, logits, y, IG_REDUCTION_SUM) : logits;
    ig_graph_set_grad_enabled(g, was);
    if (!l) return graph_failed(g);
    if (loss_sum) {
        float v;
        IG_TRY(ig_tensor_item(ig_var_value(l), &v));
        *loss_sum += v;
    }
    if (correct) {
        int64_t c;
        IG_TRY(ig_model_count_correct(m, ig_var_value(logits), y, &c));
        *correct += c;
    }
    return IG_OK;
}
