/* nn modules: constructors with PyTorch default initialisation, Sequential containers, forward through the autograd ops. */
#include "ig_nn.h"
#include "ig_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[IG_MODULE_KIND_COUNT] = {
    [IG_MODULE_SEQUENTIAL] = "Sequential", [IG_MODULE_CONV2D] = "Conv2d", [IG_MODULE_LINEAR] = "Linear",
    [IG_MODULE_BATCHNORM2D] = "BatchNorm2d", [IG_MODULE_RELU] = "ReLU", [IG_MODULE_MAXPOOL2D] = "MaxPool2d",
    [IG_MODULE_DROPOUT] = "Dropout", [IG_MODULE_DROPOUT2D] = "Dropout2d", [IG_MODULE_FLATTEN] = "Flatten",
};

const char *ig_module_kind_name(enum ig_module_kind k)
{
    if ((int)k < 0 || k >= IG_MODULE_KIND_COUNT) return "?";
    return kind_names[k];
}

static struct ig_module *module_alloc(enum ig_module_kind kind)
{
    struct ig_module *m = calloc(1, sizeof *m);
    if (!m) ig_error(IG_ERR_OOM, "%s: out of host memory", ig_module_kind_name(kind));
    else m->kind = kind;
    return m;
}

void ig_module_free(struct ig_module *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_children; i++) ig_module_free(m->children[i]);
    free(m->children);
    ig_param_free(m->weight);
    ig_param_free(m->bias);
    ig_tensor_free(m->running_mean);
    ig_tensor_free(m->running_var);
    free(m);
}

/* weight ~ kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(fan_in)); bias ~ U(+-1/sqrt(fan_in)) */
static struct ig_module *weighted_new(enum ig_module_kind kind, struct ig_backend *be, struct ig_rng *rng, int ndim,
                                      const int64_t *wshape, int64_t fan_in, bool bias)
{
    struct ig_module *m = module_alloc(kind);
    if (!m) return NULL;
    float bound = fan_in > 0 ? (float)(1.0 / sqrt((double)fan_in)) : 0.0f;
    m->weight = ig_param_new(be, ndim, wshape);
    if (!m->weight || ig_rng_fill_uniform(rng, ig_var_value(m->weight), -bound, bound) != IG_OK) goto fail;
    if (bias) {
        m->bias = ig_param_new(be, 1, wshape);
        if (!m->bias || ig_rng_fill_uniform(rng, ig_var_value(m->bias), -bound, bound) != IG_OK) goto fail;
    }
    return m;
fail:
    ig_module_free(m);
    return NULL;
}

struct ig_module *ig_conv2d_new(struct ig_backend *be, struct ig_rng *rng, int64_t in_ch, int64_t out_ch,
                                int kernel, int stride, int padding, bool bias)
{
    if (!be || !rng || in_ch < 1 || out_ch < 1 || kernel < 1 || stride < 1 || padding < 0) {
        ig_error(IG_ERR_INVALID_ARG, "Conv2d: bad arguments (in %lld, out %lld, kernel %d, stride %d, padding %d)",
                 (long long)in_ch, (long long)out_ch, kernel, stride, padding);
        return NULL;
    }
    int64_t ws[4] = {out_ch, in_ch, kernel, kernel};
    struct ig_module *m = weighted_new(IG_MODULE_CONV2D, be, rng, 4, ws, in_ch * kernel * kernel, bias);
    if (!m) return NULL;
    m->in_features = in_ch;
    m->out_features = out_ch;
    m->kernel = kernel;
    m->stride = stride;
    m->padding = padding;
    return m;
}

struct ig_module *ig_linear_new(struct ig_backend *be, struct ig_rng *rng, int64_t in, int64_t out, bool bias)
{
    if (!be || !rng || in < 1 || out < 1) {
        ig_error(IG_ERR_INVALID_ARG, "Linear: bad arguments (in %lld, out %lld)", (long long)in, (long long)out);
        return NULL;
    }
    int64_t ws[2] = {out, in};
    struct ig_module *m = weighted_new(IG_MODULE_LINEAR, be, rng, 2, ws, in, bias);
    if (!m) return NULL;
    m->in_features = in;
    m->out_features = out;
    return m;
}

struct ig_module *ig_batchnorm2d_new(struct ig_backend *be, int64_t channels)
{
    if (!be || channels < 1) {
        ig_error(IG_ERR_INVALID_ARG, "BatchNorm2d: bad arguments (channels %lld)", (long long)channels);
        return NULL;
    }
    struct ig_module *m = module_alloc(IG_MODULE_BATCHNORM2D);
    if (!m) return NULL;
    m->in_features = m->out_features = channels;
    m->bn = ig_bn_params_default();
    m->weight = ig_param_new(be, 1, &channels);
    m->bias = ig_param_new(be, 1, &channels);
    m->running_mean = ig_tensor_new(be, IG_DTYPE_F32, 1, &channels);
    m->running_var = ig_tensor_new(be, IG_DTYPE_F32, 1, &channels);
    if (!m->weight || !m->bias || !m->running_mean || !m->running_var
        || ig_fill(ig_var_value(m->weight), 1.0f) != IG_OK || ig_fill(ig_var_value(m->bias), 0.0f) != IG_OK
        || ig_fill(m->running_mean, 0.0f) != IG_OK || ig_fill(m->running_var, 1.0f) != IG_OK) {
        ig_module_free(m);
        return NULL;
    }
    return m;
}

struct ig_module *ig_relu_new(void) { return module_alloc(IG_MODULE_RELU); }
struct ig_module *ig_flatten_new(void) { return module_alloc(IG_MODULE_FLATTEN); }
struct ig_module *ig_sequential_new(void) { return module_alloc(IG_MODULE_SEQUENTIAL); }

struct ig_module *ig_maxpool2d_new(int kernel, int stride)
{
    if (kernel < 1 || stride < 1) {
        ig_error(IG_ERR_INVALID_ARG, "MaxPool2d: kernel %d and stride %d must be >= 1", kernel, stride);
        return NULL;
    }
    struct ig_module *m = module_alloc(IG_MODULE_MAXPOOL2D);
    if (m) m->kernel = kernel, m->stride = stride;
    return m;
}

static struct ig_module *dropout_new(enum ig_module_kind kind, float p)
{
    if (!(p >= 0.0f && p < 1.0f)) {
        ig_error(IG_ERR_INVALID_ARG, "%s: p = %g, expected 0 <= p < 1", ig_module_kind_name(kind), (double)p);
        return NULL;
    }
    struct ig_module *m = module_alloc(kind);
    if (m) m->p = p;
    return m;
}

struct ig_module *ig_dropout_new(float p) { return dropout_new(IG_MODULE_DROPOUT, p); }
struct ig_module *ig_dropout2d_new(float p) { return dropout_new(IG_MODULE_DROPOUT2D, p); }

enum ig_status ig_sequential_add(struct ig_module *seq, const char *name, struct ig_module *child)
{
    if (!child) return IG_ERR_INVALID_ARG;  /* the failed constructor's message stays */
    if (!seq || seq->kind != IG_MODULE_SEQUENTIAL) {
        ig_module_free(child);
        return ig_error(IG_ERR_INVALID_ARG, "ig_sequential_add: container is not a Sequential");
    }
    if (seq->n_children == seq->cap_children) {
        int cap = seq->cap_children ? 2 * seq->cap_children : 8;
        struct ig_module **c = realloc(seq->children, (size_t)cap * sizeof *c);
        if (!c) {
            ig_module_free(child);
            return ig_error(IG_ERR_OOM, "ig_sequential_add: out of host memory");
        }
        seq->children = c;
        seq->cap_children = cap;
    }
    if (name) snprintf(child->name, sizeof child->name, "%s", name);
    else snprintf(child->name, sizeof child->name, "%d", seq->n_children);
    seq->children[seq->n_children++] = child;
    return IG_OK;
}

struct ig_var *ig_module_forward(struct ig_module *m, struct ig_graph *g, struct ig_var *x, bool train,
                                 struct ig_rng *rng)
{
    if (!m) {
        ig_error(IG_ERR_INVALID_ARG, "ig_module_forward: module is NULL");
        return NULL;
    }
    if (!x) return NULL;
    switch (m->kind) {
    case IG_MODULE_SEQUENTIAL:
        for (int i = 0; i < m->n_children && x; i++) {
            struct ig_module *c = m->children[i], *next = i + 1 < m->n_children ? m->children[i + 1] : NULL;
            if (c->kind == IG_MODULE_RELU && next && next->kind == IG_MODULE_MAXPOOL2D) {
                /* ReLU then max-pool as max-pool then ReLU: max and ReLU commute exactly (both select), and so do
                 * their gradients (dy reaches a window's argmax where the max is > 0, else nothing), but the ReLU
                 * and its backward pass then run over the pooled quarter */
                x = ig_module_forward(next, g, x, train, rng);
                if (x) x = ig_module_forward(c, g, x, train, rng);
                i++;
                continue;
            }
            x = ig_module_forward(c, g, x, train, rng);
        }
        return x;
    case IG_MODULE_CONV2D: {
        struct ig_conv2d_params p = {m->stride, m->stride, m->padding, m->padding};
        return ig_ag_conv2d(g, x, m->weight, m->bias, p);
    }
    case IG_MODULE_LINEAR:
        return ig_ag_linear(g, x, m->weight, m->bias);
    case IG_MODULE_BATCHNORM2D: {
        struct ig_var *y = ig_ag_batchnorm2d(g, x, m->weight, m->bias, m->running_mean, m->running_var, train, m->bn);
        if (y && train) m->num_batches_tracked++;
        return y;
    }
    case IG_MODULE_RELU:
        return ig_ag_relu(g, x);
    case IG_MODULE_MAXPOOL2D: {
        struct ig_pool2d_params p = {m->kernel, m->stride};
        return ig_ag_maxpool2d(g, x, p);
    }
    case IG_MODULE_DROPOUT:
    case IG_MODULE_DROPOUT2D: {
        if (!train || m->p == 0.0f) return x;   /* identity in eval mode */
        if (!rng) {
            ig_error(IG_ERR_INVALID_ARG, "%s: training forward needs a generator", ig_module_kind_name(m->kind));
            return NULL;
        }
        struct ig_dropout_params p = {m->p, ig_rng_next(rng), 0, m->kind == IG_MODULE_DROPOUT2D};
        return ig_ag_dropout(g, x, p);
    }
    case IG_MODULE_FLATTEN:
        return ig_ag_flatten(g, x);
    default:
        ig_error(IG_ERR_INTERNAL, "ig_module_forward: unknown module kind %d", (int)m->kind);
        return NULL;
    }
}
