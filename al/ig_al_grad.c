/* Per-sample gradient engine, setup and reference: the parameter set, the reference D, its scalars and flat copies. */
#include "ig_al_grad_internal.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- setup */

static const char *const set_names[IG_AL_PARAMS_COUNT] = {"all", "conv-linear"};

const char *ig_al_param_set_name(enum ig_al_param_set s)
{
    return (unsigned)s < IG_AL_PARAMS_COUNT ? set_names[s] : "?";
}

int ig_al_param_set_parse(const char *name, enum ig_al_param_set *out)
{
    for (int i = 0; name && i < IG_AL_PARAMS_COUNT; i++)
        if (!strcasecmp(name, set_names[i])) {
            if (out) *out = (enum ig_al_param_set)i;
            return 1;
        }
    return 0;
}

struct ig_al_engine_opts ig_al_engine_opts_default(void)
{
    return (struct ig_al_engine_opts){.params = IG_AL_PARAMS_ALL};
}

/* Does module own belong to the set, and as which kind? */
static bool layer_kind(const struct ig_module *own, enum ig_al_param_set set, enum al_layer_kind *kind)
{
    if (!own) return false;
    switch (own->kind) {
    case IG_MODULE_CONV2D: *kind = AL_CONV; return true;
    case IG_MODULE_LINEAR: *kind = AL_LINEAR; return true;
    case IG_MODULE_BATCHNORM2D: *kind = AL_BN; return set == IG_AL_PARAMS_ALL && own->weight;
    default: return false;
    }
}

/* A zero reference slice shaped like parameter v (v may be NULL: none). */
static enum ig_status ref_slice(struct ig_backend *be, const struct ig_var *v, struct ig_tensor **out, int64_t *n)
{
    *out = NULL;
    *n = 0;
    if (!v) return IG_OK;
    struct ig_tensor *t = ig_var_value(v);
    *n = ig_tensor_numel(t);
    *out = ig_tensor_zeros(be, IG_DTYPE_F32, t->ndim, t->shape);
    return *out ? IG_OK : ig_error(IG_ERR_OOM, "ig_al_engine_new: out of memory for the reference");
}

static enum ig_status engine_layers(struct ig_al_engine *e)
{
    struct ig_model *m = e->m;
    for (int i = 0; i < m->n_params; i++) {
        struct ig_module *own = m->params[i].owner;
        enum al_layer_kind kind;
        if (!layer_kind(own, e->set, &kind) || m->params[i].var != own->weight) continue;
        struct al_layer *L = &e->layers[e->n_layers++];
        L->kind = kind;
        L->w = own->weight;
        L->b = own->bias;
        L->mod = own;
        IG_TRY(ref_slice(e->be, L->w, &L->dw, &L->nw));
        IG_TRY(ref_slice(e->be, L->b, &L->db, &L->nb));
        e->n_params += L->nw + L->nb;
        e->has_bn |= kind == AL_BN;
        ig_param_set_watch(L->w, true);
    }
    return IG_OK;
}

enum ig_status ig_al_engine_new_opts(struct ig_al_engine **out, struct ig_model *m, const struct ig_al_engine_opts *opts)
{
    if (!out || !m) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_new: NULL argument");
    *out = NULL;
    struct ig_al_engine_opts o = opts ? *opts : ig_al_engine_opts_default();
    if ((unsigned)o.params >= IG_AL_PARAMS_COUNT)
        return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_new: parameter set %d is not all (0) or conv-linear (1)",
                        (int)o.params);
    struct ig_al_engine *e = calloc(1, sizeof *e);
    if (!e) return ig_error(IG_ERR_OOM, "ig_al_engine_new: out of host memory");
    e->m = m;
    e->be = m->be;
    e->set = o.params;
    e->layers = calloc((size_t)(m->n_params ? m->n_params : 1), sizeof *e->layers);
    enum ig_status s = e->layers ? ig_graph_new(m->be, &e->g) : ig_error(IG_ERR_OOM, "ig_al_engine_new: out of host memory");
    if (s == IG_OK) s = engine_layers(e);
    if (s == IG_OK && e->n_layers == 0) s = ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_new: model has no conv/linear layer");
    if (s != IG_OK) {
        ig_al_engine_free(e);
        return s;
    }
    *out = e;
    return IG_OK;
}

enum ig_status ig_al_engine_new(struct ig_al_engine **out, struct ig_model *m) { return ig_al_engine_new_opts(out, m, NULL); }

void ig_al_engine_free(struct ig_al_engine *e)
{
    if (!e) return;
    for (int i = 0; e->layers && i < e->n_layers; i++) {
        ig_param_set_watch(e->layers[i].w, false);
        ig_tensor_free(e->layers[i].dw);
        ig_tensor_free(e->layers[i].db);
    }
    free(e->layers);
    ig_graph_free(e->g);
    free(e->dot);
    free(e->tdot);
    free(e->sq);
    free(e->host);
    free(e);
}

int64_t ig_al_engine_num_params(const struct ig_al_engine *e) { return e ? e->n_params : 0; }
int ig_al_engine_num_layers(const struct ig_al_engine *e) { return e ? e->n_layers : 0; }
enum ig_al_param_set ig_al_engine_param_set(const struct ig_al_engine *e) { return e ? e->set : IG_AL_PARAMS_ALL; }

/* ---------------------------------------------------------------- reference D */

enum ig_status ig_al_engine_ref_zero(struct ig_al_engine *e)
{
    if (!e) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_ref_zero: NULL engine");
    for (int i = 0; i < e->n_layers; i++) {
        IG_TRY(ig_fill(e->layers[i].dw, 0.0f));
        if (e->layers[i].db) IG_TRY(ig_fill(e->layers[i].db, 0.0f));
    }
    return IG_OK;
}

enum ig_status ig_al_graph_failed(struct ig_graph *g, const char *what)
{
    enum ig_status s = ig_graph_status(g);
    if (s == IG_OK) s = IG_ERR_INTERNAL;
    return ig_error_prefix(s, "%s", what);
}

enum ig_status ig_al_engine_ref_add_param_grads(struct ig_al_engine *e, float alpha)
{
    if (!e) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_ref_add_param_grads: NULL engine");
    for (int i = 0; i < e->n_layers; i++) {
        struct al_layer *L = &e->layers[i];
        if (ig_param_has_grad(L->w)) IG_TRY(ig_axpy(L->dw, alpha, ig_var_grad(L->w)));
        if (L->b && ig_param_has_grad(L->b)) IG_TRY(ig_axpy(L->db, alpha, ig_var_grad(L->b)));
    }
    return IG_OK;
}

enum ig_status ig_al_engine_ref_add_batch(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y)
{
    return ig_al_engine_ref_add_batch_scaled(e, x, y, 1.0f);
}

enum ig_status ig_al_engine_ref_add_batch_scaled(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y,
                                                 float alpha)
{
    if (!e || !x || !y) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_ref_add_batch: NULL argument");
    struct ig_graph *g = e->g;
    ig_graph_reset(g);
    ig_graph_set_grad_enabled(g, true);
    ig_graph_set_param_grads(g, true);
    ig_graph_set_layer_hook(g, NULL, NULL);
    for (int i = 0; i < e->n_layers; i++) {
        ig_param_zero_grad(e->layers[i].w);
        if (e->layers[i].b) ig_param_zero_grad(e->layers[i].b);
    }
    struct ig_var *logits = ig_model_forward(e->m, g, ig_graph_input(g, x, false));
    struct ig_var *loss = ig_ag_cross_entropy(g, logits, y, IG_REDUCTION_SUM);
    if (!loss) return ig_al_graph_failed(g, "reference gradient forward");
    IG_TRY(ig_graph_backward(g, loss));
    return ig_al_engine_ref_add_param_grads(e, alpha);
}

enum ig_status ig_al_engine_ref_add_theta(struct ig_al_engine *e, float alpha)
{
    if (!e) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_ref_add_theta: NULL engine");
    for (int i = 0; i < e->n_layers; i++) {
        struct al_layer *L = &e->layers[i];
        IG_TRY(ig_axpy(L->dw, alpha, ig_var_value(L->w)));
        if (L->b) IG_TRY(ig_axpy(L->db, alpha, ig_var_value(L->b)));
    }
    return IG_OK;
}

/* a·b (or ‖a‖² when b == NULL) of two tensors of n elements, as [1,n]·[n] on the backend. */
static enum ig_status flat_dot(const struct ig_tensor *a, const struct ig_tensor *b, int64_t n, double *out)
{
    int64_t s2[2] = {1, n}, s1[1] = {n}, one[1] = {1};
    struct ig_tensor *a2 = ig_tensor_reshape(a, 2, s2);
    struct ig_tensor *b1 = b ? ig_tensor_reshape(b, 1, s1) : NULL;
    struct ig_tensor *r = ig_tensor_new(a->backend, IG_DTYPE_F32, 1, one);
    enum ig_status s = (!a2 || (b && !b1) || !r) ? IG_ERR_OOM : IG_OK;
    if (s == IG_OK) s = b ? ig_row_dot(r, a2, b1) : ig_row_sqnorm(r, a2);
    float v = 0;
    if (s == IG_OK) s = ig_tensor_item(r, &v);
    if (s == IG_OK) *out += v;
    ig_tensor_free(a2);
    ig_tensor_free(b1);
    ig_tensor_free(r);
    return s;
}

enum ig_status ig_al_engine_ref_stats(struct ig_al_engine *e, struct ig_al_ref_stats *out)
{
    if (!e || !out) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_ref_stats: NULL argument");
    memset(out, 0, sizeof *out);
    for (int i = 0; i < e->n_layers; i++) {
        struct al_layer *L = &e->layers[i];
        IG_TRY(flat_dot(L->dw, NULL, L->nw, &out->ref_sq));
        IG_TRY(flat_dot(L->dw, ig_var_value(L->w), L->nw, &out->ref_dot_theta));
        IG_TRY(flat_dot(ig_var_value(L->w), NULL, L->nw, &out->theta_sq));
        if (L->b) {
            IG_TRY(flat_dot(L->db, NULL, L->nb, &out->ref_sq));
            IG_TRY(flat_dot(L->db, ig_var_value(L->b), L->nb, &out->ref_dot_theta));
            IG_TRY(flat_dot(ig_var_value(L->b), NULL, L->nb, &out->theta_sq));
        }
    }
    return IG_OK;
}

/* Copy the reference (which = 0) or θ (which = 1) to / from a flat host vector. */
static enum ig_status flat_copy(struct ig_al_engine *e, float *flat, int64_t n, int which, bool to_host)
{
    if (!e || !flat) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine: NULL argument");
    if (n != e->n_params)
        return ig_error(IG_ERR_SHAPE, "ig_al_engine: flat vector has %lld values, the scored subset %lld", (long long)n,
                        (long long)e->n_params);
    int64_t off = 0;
    for (int i = 0; i < e->n_layers; i++) {
        struct al_layer *L = &e->layers[i];
        struct ig_tensor *t[2] = {which ? ig_var_value(L->w) : L->dw, L->b ? (which ? ig_var_value(L->b) : L->db) : NULL};
        for (int j = 0; j < 2; j++) {
            if (!t[j]) continue;
            size_t bytes = ig_tensor_nbytes(t[j]);
            if (to_host) IG_TRY(ig_tensor_to_host(t[j], flat + off, bytes));
            else IG_TRY(ig_tensor_from_host_into(t[j], flat + off, bytes));
            off += ig_tensor_numel(t[j]);
        }
    }
    return IG_OK;
}

enum ig_status ig_al_engine_ref_to_host(struct ig_al_engine *e, float *flat, int64_t n) { return flat_copy(e, flat, n, 0, true); }
enum ig_status ig_al_engine_ref_from_host(struct ig_al_engine *e, const float *flat, int64_t n)
{
    return flat_copy(e, (float *)(uintptr_t)flat, n, 0, false);
}
enum ig_status ig_al_engine_theta_to_host(struct ig_al_engine *e, float *flat, int64_t n) { return flat_copy(e, flat, n, 1, true); }

