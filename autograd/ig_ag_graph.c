/* Autograd graph: node pool reused across steps, parameters, gradient accumulation, the backward driver. */
#include "ig_ag_internal.h"
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- cached storage */

struct ig_tensor *ig_ag_cached(struct ig_graph *g, struct ig_tensor **slot, enum ig_dtype dt, int ndim,
                               const int64_t *shape)
{
    *slot = ig_tensor_renew(*slot, g->be, dt, ndim, shape);
    return *slot;
}

void ig_ag_view_as(struct ig_tensor *dst, const struct ig_tensor *t, int ndim, const int64_t *shape)
{
    *dst = *t;
    dst->ndim = ndim;
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        dst->shape[i] = shape[i];
        dst->stride[i] = s;
        s *= shape[i];
    }
    for (int i = ndim; i < IG_MAX_DIMS; i++) dst->shape[i] = 0, dst->stride[i] = 0;
}

static enum ig_status const_vector(struct ig_graph *g, struct ig_tensor **slot, float value, int64_t n,
                                   struct ig_tensor *view, int64_t rows, int64_t cols)
{
    if (!*slot || ig_tensor_numel(*slot) < n) {
        ig_tensor_free(*slot);
        int64_t len = n < 1024 ? 1024 : n;
        *slot = ig_tensor_new(g->be, IG_DTYPE_F32, 1, &len);
        if (!*slot) return IG_ERR_OOM;
        IG_TRY(ig_fill(*slot, value));
    }
    int64_t shape[2] = {rows, cols};
    ig_ag_view_as(view, *slot, 2, shape);
    return IG_OK;
}

enum ig_status ig_ag_ones(struct ig_graph *g, int64_t n, struct ig_tensor *view, int64_t rows, int64_t cols)
{
    return const_vector(g, &g->ones, 1.0f, n, view, rows, cols);
}

enum ig_status ig_ag_zeros(struct ig_graph *g, int64_t n, struct ig_tensor *view, int64_t rows, int64_t cols)
{
    return const_vector(g, &g->zeros, 0.0f, n, view, rows, cols);
}

/* ---------------------------------------------------------------- graph */

enum ig_status ig_graph_new(struct ig_backend *be, struct ig_graph **out)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_graph_new: out is NULL");
    *out = NULL;
    if (!be) return ig_error(IG_ERR_INVALID_ARG, "ig_graph_new: backend is NULL");
    struct ig_graph *g = calloc(1, sizeof *g);
    if (!g) return ig_error(IG_ERR_OOM, "ig_graph_new: out of host memory");
    g->be = be;
    g->grad_enabled = true;
    g->param_grads = true;
    *out = g;
    return IG_OK;
}

static void node_release_storage(struct ig_var *v)
{
    ig_tensor_free(v->own_value);
    ig_tensor_free(v->own_grad);
    ig_tensor_free(v->gtmp);
    for (int i = 0; i < IG_AG_MAX_SAVED; i++) ig_tensor_free(v->saved[i]);
}

void ig_graph_free(struct ig_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->cap; i++) {
        if (!g->nodes[i]) continue;
        node_release_storage(g->nodes[i]);
        free(g->nodes[i]);
    }
    free(g->nodes);
    ig_tensor_free(g->ones);
    ig_tensor_free(g->zeros);
    free(g);
}

void ig_graph_reset(struct ig_graph *g)
{
    if (!g) return;
    g->n = 0;
    g->released = false;
    g->status = IG_OK;
}

void ig_graph_set_grad_enabled(struct ig_graph *g, bool on) { if (g) g->grad_enabled = on; }
bool ig_graph_grad_enabled(const struct ig_graph *g) { return g && g->grad_enabled; }
void ig_graph_set_param_grads(struct ig_graph *g, bool on) { if (g) g->param_grads = on; }
void ig_graph_set_retain(struct ig_graph *g, bool on) { if (g) g->retain = on; }
enum ig_status ig_graph_status(const struct ig_graph *g) { return g ? g->status : IG_ERR_INVALID_ARG; }
struct ig_backend *ig_graph_backend(const struct ig_graph *g) { return g ? g->be : NULL; }
int ig_graph_size(const struct ig_graph *g) { return g ? g->n : 0; }

void ig_graph_set_layer_hook(struct ig_graph *g, ig_layer_hook_fn fn, void *user)
{
    if (!g) return;
    g->hook = fn;
    g->hook_user = user;
}

struct ig_var *ig_ag_node_new(struct ig_graph *g, enum ig_ag_op op)
{
    if (g->released) {
        g->n = 0;
        g->released = false;
    }
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 64;
        struct ig_var **nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            g->status = ig_error(IG_ERR_OOM, "autograd: out of host memory for the tape");
            return NULL;
        }
        for (int i = g->cap; i < cap; i++) nodes[i] = NULL;
        g->nodes = nodes;
        g->cap = cap;
    }
    struct ig_var *v = g->nodes[g->n];
    if (!v) {
        v = calloc(1, sizeof *v);
        if (!v) {
            g->status = ig_error(IG_ERR_OOM, "autograd: out of host memory for a node");
            return NULL;
        }
        g->nodes[g->n] = v;
    }
    v->index = g->n++;
    v->op = op;
    v->value = NULL;
    v->grad = NULL;
    v->requires_grad = false;
    v->grad_ready = false;
    v->is_param = false;
    v->watch = false;
    v->n_in = 0;
    for (int i = 0; i < IG_AG_MAX_IN; i++) v->in[i] = NULL;
    v->labels = NULL;
    v->rmean = v->rvar = NULL;
    memset(&v->p, 0, sizeof v->p);
    return v;
}

struct ig_var *ig_graph_input(struct ig_graph *g, struct ig_tensor *t, bool requires_grad)
{
    if (!g) {
        ig_error(IG_ERR_INVALID_ARG, "ig_graph_input: graph is NULL");
        return NULL;
    }
    if (!t) {
        g->status = ig_error(IG_ERR_INVALID_ARG, "ig_graph_input: tensor is NULL");
        return NULL;
    }
    if (t->backend != g->be) {
        g->status = ig_error(IG_ERR_BACKEND, "ig_graph_input: tensor lives on another backend than the graph");
        return NULL;
    }
    if (requires_grad && t->dtype != IG_DTYPE_F32) {
        g->status = ig_error(IG_ERR_DTYPE, "ig_graph_input: only f32 tensors can require a gradient");
        return NULL;
    }
    struct ig_var *v = ig_ag_node_new(g, IG_AG_OP_LEAF);
    if (!v) return NULL;
    v->value = t;
    v->requires_grad = requires_grad && g->grad_enabled;
    return v;
}

/* ---------------------------------------------------------------- vars and params */

struct ig_tensor *ig_var_value(const struct ig_var *v) { return v ? v->value : NULL; }

struct ig_tensor *ig_var_grad(struct ig_var *v)
{
    if (!v) return NULL;
    if (v->is_param) {
        if (!v->grad_ready) {
            if (ig_fill(v->grad, 0.0f) != IG_OK) return NULL;
            v->grad_ready = true;
        }
        return v->grad;
    }
    return v->grad_ready ? v->grad : NULL;
}

bool ig_var_requires_grad(const struct ig_var *v) { return v && v->requires_grad; }
enum ig_ag_op ig_var_op(const struct ig_var *v) { return v ? v->op : IG_AG_OP_LEAF; }

struct ig_var *ig_param_new(struct ig_backend *be, int ndim, const int64_t *shape)
{
    struct ig_var *p = calloc(1, sizeof *p);
    if (!p) {
        ig_error(IG_ERR_OOM, "ig_param_new: out of host memory");
        return NULL;
    }
    p->own_value = ig_tensor_new(be, IG_DTYPE_F32, ndim, shape);
    p->own_grad = p->own_value ? ig_tensor_new(be, IG_DTYPE_F32, ndim, shape) : NULL;
    if (!p->own_grad) {
        ig_tensor_free(p->own_value);
        free(p);
        return NULL;
    }
    p->value = p->own_value;
    p->grad = p->own_grad;
    p->op = IG_AG_OP_LEAF;
    p->is_param = true;
    p->requires_grad = true;
    p->index = -1;
    return p;
}

void ig_param_free(struct ig_var *p)
{
    if (!p) return;
    node_release_storage(p);
    free(p);
}

bool ig_var_is_param(const struct ig_var *v) { return v && v->is_param; }
void ig_param_zero_grad(struct ig_var *p) { if (p) p->grad_ready = false; }
bool ig_param_has_grad(const struct ig_var *p) { return p && p->is_param && p->grad_ready; }
void ig_param_set_requires_grad(struct ig_var *p, bool on) { if (p && p->is_param) p->requires_grad = on; }
void ig_param_set_watch(struct ig_var *p, bool on) { if (p && p->is_param) p->watch = on; }

void ig_param_set_grad_hook(struct ig_var *p, ig_param_grad_fn fn, void *user)
{
    if (!p || !p->is_param) return;
    p->grad_fn = fn;
    p->grad_user = user;
}

/* ---------------------------------------------------------------- gradient targets */

struct ig_tensor *ig_ag_grad_storage(struct ig_graph *g, struct ig_var *in)
{
    if (in->is_param) return in->grad;
    struct ig_tensor *v = in->value;
    in->grad = ig_ag_cached(g, &in->own_grad, IG_DTYPE_F32, v->ndim, v->shape);
    return in->grad;
}

struct ig_tensor *ig_ag_grad_target(struct ig_graph *g, struct ig_var *in, bool *acc)
{
    if (!in->grad_ready) {
        *acc = false;
        return ig_ag_grad_storage(g, in);
    }
    *acc = true;
    const struct ig_tensor *v = in->value;
    return ig_ag_cached(g, &in->gtmp, IG_DTYPE_F32, v->ndim, v->shape);
}

enum ig_status ig_ag_grad_commit(struct ig_graph *g, struct ig_var *in, bool acc)
{
    (void)g;
    if (acc) IG_TRY(ig_axpy(in->grad, 1.0f, in->gtmp));
    in->grad_ready = true;
    return IG_OK;
}

/* ---------------------------------------------------------------- backward driver */

/* first_use of every hooked parameter on the tape at or below top: its lowest position. */
static void mark_first_uses(struct ig_graph *g, int top)
{
    for (int i = top; i >= 0; i--)
        for (int k = 0; k < g->nodes[i]->n_in; k++) {
            struct ig_var *in = g->nodes[i]->in[k];
            if (in && in->is_param && in->grad_fn) in->first_use = i;
        }
}

/* After node v's backward: the gradient hooks of the parameters v is the first use of. */
static enum ig_status grads_final(struct ig_graph *g, struct ig_var *v)
{
    for (int k = 0; k < v->n_in; k++) {
        struct ig_var *p = v->in[k];
        if (!p || !p->is_param || !p->grad_fn || p->first_use != v->index || !ig_ag_wants_grad(g, p)) continue;
        bool seen = false;   /* the same parameter twice in one op (x * x): one call */
        for (int j = 0; j < k; j++) seen = seen || v->in[j] == p;
        if (seen) continue;
        enum ig_status s = p->grad_fn(p, p->grad_user);
        if (s != IG_OK) return ig_error_prefix(s, "parameter gradient hook");
    }
    return IG_OK;
}

static enum ig_status backward_from(struct ig_graph *g, struct ig_var *out)
{
    mark_first_uses(g, out->index);
    for (int i = out->index; i >= 0; i--) {
        struct ig_var *v = g->nodes[i];
        enum ig_status s = IG_OK;
        if (v->requires_grad && v->grad_ready && v->op != IG_AG_OP_LEAF) s = ig_ag_backward_table[v->op](g, v);
        if (s == IG_OK) s = grads_final(g, v);
        if (s != IG_OK) return ig_error_prefix(s, "backward of %s (op #%d)", ig_ag_op_name(v->op), i);
    }
    return IG_OK;
}

static enum ig_status backward_check(struct ig_graph *g, struct ig_var *out, const char *what)
{
    if (!g) return ig_error(IG_ERR_INVALID_ARG, "%s: graph is NULL", what);
    if (g->status != IG_OK)
        return ig_error(g->status, "%s: the forward pass failed earlier (%s)", what, ig_status_name(g->status));
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "%s: output var is NULL", what);
    if (g->released) return ig_error(IG_ERR_STATE, "%s: the tape was already released by a backward", what);
    if (out->is_param || out->index < 0 || out->index >= g->n || g->nodes[out->index] != out)
        return ig_error(IG_ERR_INVALID_ARG, "%s: var is not on this graph's tape", what);
    if (!g->grad_enabled || !out->requires_grad)
        return ig_error(IG_ERR_STATE, "%s: output does not require a gradient (no-grad mode or no parameter involved)", what);
    if (out->value->dtype != IG_DTYPE_F32) return ig_error(IG_ERR_DTYPE, "%s: output is not f32", what);
    /* gradients of every node of this step start empty */
    for (int i = 0; i < g->n; i++) g->nodes[i]->grad_ready = false;
    return IG_OK;
}

enum ig_status ig_graph_backward(struct ig_graph *g, struct ig_var *loss)
{
    IG_TRY(backward_check(g, loss, "ig_graph_backward"));
    if (ig_tensor_numel(loss->value) != 1)
        return ig_error(IG_ERR_SHAPE, "ig_graph_backward: loss has %lld elements, expected 1 (use ig_graph_backward_seed)",
                        (long long)ig_tensor_numel(loss->value));
    struct ig_tensor *gr = ig_ag_grad_storage(g, loss);
    if (!gr) return IG_ERR_OOM;
    IG_TRY(ig_fill(gr, 1.0f));
    loss->grad_ready = true;
    enum ig_status s = backward_from(g, loss);
    g->released = !g->retain;
    return s;
}

enum ig_status ig_graph_backward_seed(struct ig_graph *g, struct ig_var *out, const struct ig_tensor *seed)
{
    IG_TRY(backward_check(g, out, "ig_graph_backward_seed"));
    if (!seed || !ig_tensor_same_shape(seed, out->value))
        return ig_error(IG_ERR_SHAPE, "ig_graph_backward_seed: seed must have the output's shape");
    struct ig_tensor *gr = ig_ag_grad_storage(g, out);
    if (!gr) return IG_ERR_OOM;
    IG_TRY(ig_tensor_copy(gr, seed));
    out->grad_ready = true;
    enum ig_status s = backward_from(g, out);
    g->released = !g->retain;
    return s;
}
