/* Per-sample gradient engine: exact D·g_n, θ·g_n and ‖g_n‖² per instance from one batched backward through the layer hook. */
#include "ig_al.h"
#include "ig_util.h"
#include "ig_nn.h"
#include <stdlib.h>
#include <string.h>

/* One conv/linear layer of the scored subset, with its slice of the reference D. */
struct al_layer {
    bool conv;
    struct ig_var *w, *b;           /* parameters (b may be NULL) */
    struct ig_tensor *dw, *db;      /* reference D_W, D_b (same shapes) */
    int64_t nw, nb;                 /* element counts */
};

struct ig_al_engine {
    struct ig_model *m;
    struct ig_backend *be;
    struct ig_graph *g;
    int n_layers;
    struct al_layer *layers;
    int64_t n_params;
    /* accumulators of the batch being scored: [cap] */
    int64_t cap, n;
    double *dot, *tdot, *sq;
    float *host;
    bool want_tdot;
};

/* ---------------------------------------------------------------- setup */

enum ig_status ig_al_engine_new(struct ig_al_engine **out, struct ig_model *m)
{
    if (!out || !m) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_new: NULL argument");
    *out = NULL;
    struct ig_al_engine *e = calloc(1, sizeof *e);
    if (!e) return ig_error(IG_ERR_OOM, "ig_al_engine_new: out of host memory");
    e->m = m;
    e->be = m->be;
    e->layers = calloc((size_t)(m->n_params ? m->n_params : 1), sizeof *e->layers);
    if (!e->layers) {
        free(e);
        return ig_error(IG_ERR_OOM, "ig_al_engine_new: out of host memory");
    }
    enum ig_status s = ig_graph_new(m->be, &e->g);
    for (int i = 0; s == IG_OK && i < m->n_params; i++) {
        struct ig_module *own = m->params[i].owner;
        if (!own || (own->kind != IG_MODULE_CONV2D && own->kind != IG_MODULE_LINEAR)) continue;
        if (m->params[i].var != own->weight) continue;
        struct al_layer *L = &e->layers[e->n_layers++];
        L->conv = own->kind == IG_MODULE_CONV2D;
        L->w = own->weight;
        L->b = own->bias;
        struct ig_tensor *wv = ig_var_value(L->w);
        L->nw = ig_tensor_numel(wv);
        L->dw = ig_tensor_zeros(m->be, IG_DTYPE_F32, wv->ndim, wv->shape);
        if (!L->dw) s = IG_ERR_OOM;
        if (L->b && s == IG_OK) {
            struct ig_tensor *bv = ig_var_value(L->b);
            L->nb = ig_tensor_numel(bv);
            L->db = ig_tensor_zeros(m->be, IG_DTYPE_F32, bv->ndim, bv->shape);
            if (!L->db) s = IG_ERR_OOM;
        }
        e->n_params += L->nw + L->nb;
        ig_param_set_watch(L->w, true);
    }
    if (s == IG_OK && e->n_layers == 0) s = ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_new: model has no conv/linear layer");
    if (s != IG_OK) {
        ig_al_engine_free(e);
        return s;
    }
    *out = e;
    return IG_OK;
}

void ig_al_engine_free(struct ig_al_engine *e)
{
    if (!e) return;
    for (int i = 0; i < e->n_layers; i++) {
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

static enum ig_status graph_failed(struct ig_graph *g, const char *what)
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
    if (!loss) return graph_failed(g, "reference gradient forward");
    IG_TRY(ig_graph_backward(g, loss));
    return ig_al_engine_ref_add_param_grads(e, 1.0f);
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

/* ---------------------------------------------------------------- per-sample terms (layer hook) */

/* acc[n] += v[n] * scale for a [N] (or [N,1]) f32 tensor. */
static enum ig_status add_rows(struct ig_al_engine *e, const struct ig_tensor *v, double *acc)
{
    IG_TRY(ig_tensor_to_host(v, e->host, (size_t)e->n * sizeof(float)));
    for (int64_t i = 0; i < e->n; i++) acc[i] += e->host[i];
    return IG_OK;
}

/* acc[n] += Σ dy_n ⊙ layer(x_n; A, a): the dot of the layer's per-sample gradient with (A, a). */
static enum ig_status layer_dot(struct ig_al_engine *e, const struct ig_layer_grad *lg, bool conv, const struct ig_tensor *x,
                                const struct ig_tensor *dy, const struct ig_tensor *A, const struct ig_tensor *a, double *acc)
{
    int64_t N = dy->shape[0], M = ig_tensor_numel(dy) / N;
    int64_t s2[2] = {N, M}, s1[2] = {N, 1};
    struct ig_tensor *z = ig_tensor_new(e->be, IG_DTYPE_F32, dy->ndim, dy->shape);
    struct ig_tensor *p = ig_tensor_new(e->be, IG_DTYPE_F32, dy->ndim, dy->shape);
    struct ig_tensor *r = ig_tensor_new(e->be, IG_DTYPE_F32, 2, s1);
    struct ig_tensor *p2 = NULL;
    enum ig_status s = (!z || !p || !r) ? IG_ERR_OOM : IG_OK;
    if (s == IG_OK) {
        if (conv) {
            s = ig_conv2d_forward(z, x, A, a, lg->conv);          /* z: [N,O,Ho,Wo] */
        } else {
            struct ig_gemm_params gp = {false, true, 1.0f, 0.0f};   /* z[N,out] = x A^T */
            s = ig_gemm(z, x, A, gp);
            if (s == IG_OK && a) s = ig_bias_add(z, a);
        }
    }
    if (s == IG_OK) s = ig_mul(p, z, dy);
    if (s == IG_OK && !(p2 = ig_tensor_reshape(p, 2, s2))) s = IG_ERR_OOM;
    if (s == IG_OK) s = ig_sum_axis(r, p2, 1);                       /* r: [N,1] */
    if (s == IG_OK) s = add_rows(e, r, acc);
    ig_tensor_free(p2);
    ig_tensor_free(r);
    ig_tensor_free(p);
    ig_tensor_free(z);
    return s;
}

/* acc[n] += ‖g_n‖² of the layer's weight and bias. */
static enum ig_status layer_sq(struct ig_al_engine *e, const struct ig_layer_grad *lg, const struct al_layer *L,
                               const struct ig_tensor *x, const struct ig_tensor *dy, double *acc)
{
    int64_t N = dy->shape[0], one[1] = {N};
    struct ig_tensor *rd = ig_tensor_new(e->be, IG_DTYPE_F32, 1, one);
    struct ig_tensor *rx = ig_tensor_new(e->be, IG_DTYPE_F32, 1, one);
    enum ig_status s = (!rd || !rx) ? IG_ERR_OOM : IG_OK;
    if (s == IG_OK && !L->conv) {
        /* linear: g_n = dy_n x_n^T, so ‖g_n‖² = ‖dy_n‖² ‖x_n‖²; bias: ‖dy_n‖² */
        s = ig_row_sqnorm(rd, dy);
        if (s == IG_OK) s = ig_row_sqnorm(rx, x);
        if (s == IG_OK) s = ig_tensor_to_host(rd, e->host, (size_t)N * sizeof(float));
        float *hx = malloc((size_t)N * sizeof *hx);
        if (s == IG_OK && !hx) s = ig_error(IG_ERR_OOM, "per-sample norms: out of host memory");
        if (s == IG_OK) s = ig_tensor_to_host(rx, hx, (size_t)N * sizeof(float));
        if (s == IG_OK)
            for (int64_t i = 0; i < N; i++) acc[i] += (double)e->host[i] * ((double)hx[i] + (L->b ? 1.0 : 0.0));
        free(hx);
    } else if (s == IG_OK) {
        /* conv weight: dW_n = corr(dy_n, x_n) from the 1-sample slices, then its squared norm */
        const struct ig_tensor *wv = ig_var_value(L->w);
        int64_t s2[2] = {1, L->nw};
        struct ig_tensor *dwn = ig_tensor_new(e->be, IG_DTYPE_F32, wv->ndim, wv->shape);
        struct ig_tensor *dwn2 = dwn ? ig_tensor_reshape(dwn, 2, s2) : NULL;
        if (!dwn || !dwn2) s = IG_ERR_OOM;
        for (int64_t n = 0; s == IG_OK && n < N; n++) {
            struct ig_tensor *xs = ig_tensor_slice(x, n, 1), *ds = ig_tensor_slice(dy, n, 1), *os = ig_tensor_slice(rd, n, 1);
            if (!xs || !ds || !os) s = IG_ERR_OOM;
            if (s == IG_OK) s = ig_conv2d_backward_weight(dwn, ds, xs, lg->conv);
            if (s == IG_OK) s = ig_row_sqnorm(os, dwn2);
            ig_tensor_free(xs);
            ig_tensor_free(ds);
            ig_tensor_free(os);
        }
        ig_tensor_free(dwn2);
        ig_tensor_free(dwn);
        if (s == IG_OK) s = add_rows(e, rd, acc);
        if (s == IG_OK && L->b) {
            /* bias: ‖Σ_{h,w} dy_n‖²: dy as [N·O, Ho·Wo] summed over the columns, then [N, O] rows */
            int64_t O = dy->shape[1], HW = ig_tensor_numel(dy) / (N * O);
            int64_t sa[2] = {N * O, HW}, sb[2] = {N * O, 1}, sc[2] = {N, O};
            struct ig_tensor *d2 = ig_tensor_reshape(dy, 2, sa);
            struct ig_tensor *cs = ig_tensor_new(e->be, IG_DTYPE_F32, 2, sb);
            struct ig_tensor *cs2 = cs ? ig_tensor_reshape(cs, 2, sc) : NULL;
            if (!d2 || !cs || !cs2) s = IG_ERR_OOM;
            if (s == IG_OK) s = ig_sum_axis(cs, d2, 1);
            if (s == IG_OK) s = ig_row_sqnorm(rx, cs2);
            if (s == IG_OK) s = add_rows(e, rx, acc);
            ig_tensor_free(cs2);
            ig_tensor_free(cs);
            ig_tensor_free(d2);
        }
    }
    ig_tensor_free(rd);
    ig_tensor_free(rx);
    return s;
}

static enum ig_status engine_hook(const struct ig_layer_grad *lg, void *user)
{
    struct ig_al_engine *e = user;
    const struct al_layer *L = NULL;
    for (int i = 0; i < e->n_layers && !L; i++)
        if (e->layers[i].w == lg->weight) L = &e->layers[i];
    if (!L) return IG_OK;   /* watched by someone else */
    if (lg->grad_output->shape[0] != e->n)
        return ig_error(IG_ERR_SHAPE, "per-sample hook: batch of %lld rows, expected %lld",
                        (long long)lg->grad_output->shape[0], (long long)e->n);
    struct ig_tensor *xc = NULL, *dc = NULL;
    const struct ig_tensor *x = lg->input, *dy = lg->grad_output;
    if (!ig_tensor_is_contiguous(x)) x = xc = ig_tensor_contiguous(x);
    if (!ig_tensor_is_contiguous(dy)) dy = dc = ig_tensor_contiguous(dy);
    enum ig_status s = (!x || !dy) ? IG_ERR_OOM : IG_OK;
    const struct ig_tensor *x2 = x;
    struct ig_tensor *xf = NULL;
    if (s == IG_OK && !L->conv && x->ndim != 2) {
        int64_t sh[2] = {x->shape[0], -1};
        x2 = xf = ig_tensor_reshape(x, 2, sh);
        if (!xf) s = IG_ERR_OOM;
    }
    if (s == IG_OK) s = layer_dot(e, lg, L->conv, x2, dy, L->dw, L->db, e->dot);
    if (s == IG_OK && e->want_tdot)
        s = layer_dot(e, lg, L->conv, x2, dy, ig_var_value(L->w), L->b ? ig_var_value(L->b) : NULL, e->tdot);
    if (s == IG_OK) s = layer_sq(e, lg, L, x2, dy, e->sq);
    ig_tensor_free(xf);
    ig_tensor_free(xc);
    ig_tensor_free(dc);
    return s;
}

static enum ig_status ensure_cap(struct ig_al_engine *e, int64_t n)
{
    if (n <= e->cap) return IG_OK;
    free(e->dot);
    free(e->tdot);
    free(e->sq);
    free(e->host);
    e->dot = malloc((size_t)n * sizeof(double));
    e->tdot = malloc((size_t)n * sizeof(double));
    e->sq = malloc((size_t)n * sizeof(double));
    e->host = malloc((size_t)n * sizeof(float));
    if (!e->dot || !e->tdot || !e->sq || !e->host) {
        e->cap = 0;
        return ig_error(IG_ERR_OOM, "ig_al_engine_batch: out of host memory for %lld rows", (long long)n);
    }
    e->cap = n;
    return IG_OK;
}

enum ig_status ig_al_engine_batch(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y, double *dot,
                                  double *tdot, double *sq)
{
    if (!e || !x || !y || !dot || !sq) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_batch: NULL argument");
    int64_t n = x->shape[0];
    IG_TRY(ensure_cap(e, n));
    e->n = n;
    e->want_tdot = tdot != NULL;
    memset(e->dot, 0, (size_t)n * sizeof(double));
    memset(e->tdot, 0, (size_t)n * sizeof(double));
    memset(e->sq, 0, (size_t)n * sizeof(double));
    struct ig_graph *g = e->g;
    ig_graph_reset(g);
    ig_graph_set_grad_enabled(g, true);
    ig_graph_set_param_grads(g, false);
    ig_graph_set_layer_hook(g, engine_hook, e);
    struct ig_var *logits = ig_model_forward(e->m, g, ig_graph_input(g, x, false));
    struct ig_var *loss = ig_ag_cross_entropy(g, logits, y, IG_REDUCTION_SUM);
    enum ig_status s = loss ? ig_graph_backward(g, loss) : graph_failed(g, "per-sample gradient forward");
    ig_graph_set_layer_hook(g, NULL, NULL);
    ig_graph_set_param_grads(g, true);
    if (s != IG_OK) return s;
    memcpy(dot, e->dot, (size_t)n * sizeof(double));
    memcpy(sq, e->sq, (size_t)n * sizeof(double));
    if (tdot) memcpy(tdot, e->tdot, (size_t)n * sizeof(double));
    return IG_OK;
}

void ig_al_instance_terms(size_t n, const double *dot, const double *tdot, const double *sq, double wd,
                          const struct ig_al_ref_stats *rs, double *dd, double *dsq)
{
    for (size_t i = 0; i < n; i++) {
        double td = tdot ? tdot[i] : 0.0;
        dd[i] = dot[i] + wd * rs->ref_dot_theta;
        dsq[i] = sq[i] + 2.0 * wd * td + wd * wd * rs->theta_sq;
    }
}
