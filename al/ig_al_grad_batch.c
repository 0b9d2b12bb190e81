/* Per-sample gradient engine, per-instance terms: the layer hook (linear, conv, batch norm), ig_al_engine_batch and EGL's per-class gradient norms. */
#include "ig_al_grad_internal.h"
#include <stdlib.h>
#include <string.h>

/* acc[i] += v[i] for the rows of a [n] (or [n,1]) f32 tensor, n <= e->n. */
static enum ig_status add_rows(struct ig_al_engine *e, const struct ig_tensor *v, double *acc)
{
    int64_t n = ig_tensor_numel(v);
    IG_TRY(ig_tensor_to_host(v, e->host, (size_t)n * sizeof(float)));
    for (int64_t i = 0; i < n; i++) acc[i] += e->host[i];
    return IG_OK;
}

/* For per-sample vectors M[n,K] of instances n0 .. n0+n: dot[n0 + i] += M_i·ref (unless ref is NULL),
 * sq[n0 + i] += ‖M_i‖². */
static enum ig_status rows_terms(struct ig_al_engine *e, const struct ig_tensor *M, const struct ig_tensor *ref,
                                 int64_t n0)
{
    int64_t one[1] = {M->shape[0]}, s1[1] = {M->shape[1]};
    struct ig_tensor *r = ig_tensor_new(e->be, IG_DTYPE_F32, 1, one);
    struct ig_tensor *rv = ref ? ig_tensor_reshape(ref, 1, s1) : NULL;
    enum ig_status s = (!r || (ref && !rv)) ? ig_error(IG_ERR_OOM, "per-sample terms: out of memory") : IG_OK;
    if (s == IG_OK && rv) s = ig_row_dot(r, M, rv);
    if (s == IG_OK && rv) s = add_rows(e, r, e->dot + n0);
    if (s == IG_OK) s = ig_row_sqnorm(r, M);
    if (s == IG_OK) s = add_rows(e, r, e->sq + n0);
    ig_tensor_free(rv);
    ig_tensor_free(r);
    return s;
}

/* S[N,C] = Σ over positions of t[N,C,...] (t contiguous). */
static struct ig_tensor *position_sums(struct ig_al_engine *e, const struct ig_tensor *t)
{
    int64_t N = t->shape[0], C = t->shape[1], HW = ig_tensor_numel(t) / (N * C);
    int64_t sa[2] = {N * C, HW}, sb[2] = {N * C, 1}, sc[2] = {N, C};
    struct ig_tensor *t2 = ig_tensor_reshape(t, 2, sa), *cs = ig_tensor_new(e->be, IG_DTYPE_F32, 2, sb), *out = NULL;
    if (t2 && cs && ig_sum_axis(cs, t2, 1) == IG_OK) out = ig_tensor_reshape(cs, 2, sc);
    ig_tensor_free(t2);
    ig_tensor_free(cs);
    return out;
}

/* acc[n] += Σ_m a[n,m] dy[n,m]: one fused pass on the CPU, else through z (dy's shape; may alias a). */
static enum ig_status prod_rows(struct ig_al_engine *e, struct ig_tensor *z, const struct ig_tensor *a,
                                const struct ig_tensor *dy, double *acc)
{
    if (ig_backend_kind(e->be) == IG_BACKEND_CPU && ig_tensor_is_contiguous(a))
        return ig_row_pair_dot_acc(e->be, a, dy, acc);
    int64_t N = dy->shape[0], M = ig_tensor_numel(dy) / N;
    int64_t s2[2] = {N, M}, s1[2] = {N, 1};
    struct ig_tensor *r = ig_tensor_new(e->be, IG_DTYPE_F32, 2, s1), *z2 = NULL;
    enum ig_status s = r ? ig_mul(z, a, dy) : IG_ERR_OOM;
    if (s == IG_OK && !(z2 = ig_tensor_reshape(z, 2, s2))) s = IG_ERR_OOM;
    if (s == IG_OK) s = ig_sum_axis(r, z2, 1);                       /* r: [N,1] */
    if (s == IG_OK) s = add_rows(e, r, acc);
    ig_tensor_free(z2);
    ig_tensor_free(r);
    return s;
}

/* tdot[n] += θ·g_n = Σ dy_n ⊙ y_n for any layer that is linear in its parameters
 * (y = W x + b, conv + b, γ x̂ + β): no per-sample gradient needed. */
static enum ig_status theta_dot(struct ig_al_engine *e, const struct ig_layer_grad *lg, const struct ig_tensor *dy)
{
    if (ig_backend_kind(e->be) == IG_BACKEND_CPU && ig_tensor_is_contiguous(lg->output))
        return ig_row_pair_dot_acc(e->be, lg->output, dy, e->tdot);
    struct ig_tensor *z = ig_tensor_new(e->be, IG_DTYPE_F32, dy->ndim, dy->shape);
    enum ig_status s = z ? prod_rows(e, z, lg->output, dy, e->tdot) : ig_error(IG_ERR_OOM, "per-sample terms: out of memory");
    ig_tensor_free(z);
    return s;
}

/* dot[n] += Σ dy_n ⊙ layer(x_n; A, a): the dot of the layer's per-sample gradient with (A, a). */
static enum ig_status layer_dot(struct ig_al_engine *e, const struct ig_layer_grad *lg, bool conv, const struct ig_tensor *x,
                                const struct ig_tensor *dy, const struct ig_tensor *A, const struct ig_tensor *a)
{
    struct ig_tensor *z = ig_tensor_new(e->be, IG_DTYPE_F32, dy->ndim, dy->shape);
    enum ig_status s = z ? IG_OK : IG_ERR_OOM;
    if (s == IG_OK) {
        if (conv) {
            s = ig_conv2d_forward(z, x, A, a, lg->conv);          /* z: [N,O,Ho,Wo] */
        } else {
            struct ig_gemm_params gp = {false, true, 1.0f, 0.0f};   /* z[N,out] = x A^T */
            s = ig_gemm(z, x, A, gp);
            if (s == IG_OK && a) s = ig_bias_add(z, a);
        }
    }
    if (s == IG_OK) s = prod_rows(e, z, z, dy, e->dot);
    ig_tensor_free(z);
    return s;
}

/* linear: g_n = dy_n x_n^T, so ‖g_n‖² = ‖dy_n‖² ‖x_n‖²; bias: ‖dy_n‖². */
static enum ig_status linear_sq(struct ig_al_engine *e, const struct al_layer *L, const struct ig_tensor *x,
                                const struct ig_tensor *dy)
{
    int64_t N = dy->shape[0], one[1] = {N};
    struct ig_tensor *rd = ig_tensor_new(e->be, IG_DTYPE_F32, 1, one), *rx = ig_tensor_new(e->be, IG_DTYPE_F32, 1, one);
    float *hx = malloc((size_t)N * sizeof *hx);
    enum ig_status s = (!rd || !rx || !hx) ? ig_error(IG_ERR_OOM, "per-sample norms: out of memory") : IG_OK;
    if (s == IG_OK) s = ig_row_sqnorm(rd, dy);
    if (s == IG_OK) s = ig_row_sqnorm(rx, x);
    if (s == IG_OK) s = ig_tensor_to_host(rd, e->host, (size_t)N * sizeof(float));
    if (s == IG_OK) s = ig_tensor_to_host(rx, hx, (size_t)N * sizeof(float));
    if (s == IG_OK)
        for (int64_t i = 0; i < N; i++) e->sq[i] += (double)e->host[i] * ((double)hx[i] + (L->b ? 1.0 : 0.0));
    free(hx);
    ig_tensor_free(rd);
    ig_tensor_free(rx);
    return s;
}

/* Instances per ig_conv2d_backward_weight_persample call: their dW_n take at most this many bytes. */
#define AL_PERSAMPLE_BYTES ((int64_t)256 << 20)

/* Other backends' conv terms: the per-sample weight gradients dW_n of chunks of instances in one op each
 * (ig_conv2d_backward_weight_persample: one batched product per chunk on OpenCL), their norms and dots with
 * D as row reductions of [n, O*C*KH*KW]; the bias gradients db_n = Σ_hw dy_n likewise. */
static enum ig_status conv_terms_batched(struct ig_al_engine *e, const struct ig_layer_grad *lg, const struct al_layer *L,
                                         const struct ig_tensor *x, const struct ig_tensor *dy)
{
    const struct ig_tensor *wv = ig_var_value(L->w);
    int64_t N = dy->shape[0], O = wv->shape[0], nw = L->nw;
    int64_t nb = AL_PERSAMPLE_BYTES / (nw * (int64_t)sizeof(float));
    if (nb < 1) nb = 1;
    if (nb > N) nb = N;
    int64_t s4[4] = {nb * O, wv->shape[1], wv->shape[2], wv->shape[3]};
    struct ig_tensor *dw = ig_tensor_new(e->be, IG_DTYPE_F32, 4, s4);
    enum ig_status s = dw ? IG_OK : ig_error(IG_ERR_OOM, "per-sample conv terms: out of memory for %lld instances' "
                                                          "weight gradients", (long long)nb);
    for (int64_t n0 = 0; s == IG_OK && n0 < N; n0 += nb) {
        int64_t cnt = N - n0 < nb ? N - n0 : nb, s2[2] = {cnt, nw};
        struct ig_tensor *xs = ig_tensor_slice(x, n0, cnt), *ds = ig_tensor_slice(dy, n0, cnt);
        struct ig_tensor *dws = ig_tensor_slice(dw, 0, cnt * O), *M = dws ? ig_tensor_reshape(dws, 2, s2) : NULL;
        s = (!xs || !ds || !M) ? ig_error(IG_ERR_OOM, "per-sample conv terms: out of memory") : IG_OK;
        if (s == IG_OK) s = ig_conv2d_backward_weight_persample(dws, ds, xs, lg->conv);
        if (s == IG_OK) s = rows_terms(e, M, e->want_dot ? L->dw : NULL, n0);
        ig_tensor_free(M);
        ig_tensor_free(dws);
        ig_tensor_free(ds);
        ig_tensor_free(xs);
    }
    ig_tensor_free(dw);
    if (s != IG_OK || !L->b) return s;
    struct ig_tensor *cs = position_sums(e, dy);
    if (!cs) return ig_error(IG_ERR_OOM, "per-sample norms: out of memory");
    s = rows_terms(e, cs, e->want_dot ? L->db : NULL, 0);
    ig_tensor_free(cs);
    return s;
}

/* conv layer. CPU: per-instance terms (dW_n dotted with D and with θ, and its norm, from the Winograd
 * tiles or the im2col product; *tdot_done then), or, where the ghost norm is cheaper (small P: the
 * deep layers), D·g_n from one batched conv of x with D and ‖dW_n‖² from the ghost norm.
 * Other backends: the batched per-sample weight gradients (conv_terms_batched). */
static enum ig_status conv_terms(struct ig_al_engine *e, const struct ig_layer_grad *lg, const struct al_layer *L,
                                 const struct ig_tensor *x, const struct ig_tensor *dy, bool *tdot_done)
{
    const struct ig_tensor *w = ig_var_value(L->w);
    if (ig_backend_kind(e->be) == IG_BACKEND_CPU) {
        bool ghost = ig_conv2d_persample_uses_ghost(w, lg->conv, dy->shape[2], dy->shape[3]);
        const struct ig_tensor *rw[2], *rb[2];
        double *acc[2];
        int nr = 0;
        if (e->want_dot && ghost) IG_TRY(layer_dot(e, lg, true, x, dy, L->dw, L->db));
        if (e->want_dot && !ghost) rw[nr] = L->dw, rb[nr] = L->db, acc[nr++] = e->dot;
        if (e->want_tdot && !ghost) {   /* θ·g_n with the other dots, instead of a pass over y ⊙ dy */
            rw[nr] = w, rb[nr] = L->b ? ig_var_value(L->b) : NULL, acc[nr++] = e->tdot;
            *tdot_done = true;
        }
        return ig_conv2d_persample_terms(e->be, x, dy, w, lg->conv, L->b != NULL, nr, rw, rb, acc, e->sq);
    }
    return conv_terms_batched(e, lg, L, x, dy);
}

/* Eval-mode batch norm y = γ x̂ + β: dγ_n = Σ_hw dy_n x̂_n, dβ_n = Σ_hw dy_n (both [N,C]). CPU: one
 * fused pass (ig_bn2d_persample_terms) with the D and θ dots (*tdot_done); other backends: x̂
 * through the eval kernel, then sums. */
static enum ig_status bn_terms(struct ig_al_engine *e, const struct al_layer *L, const struct ig_tensor *x,
                               const struct ig_tensor *dy, bool *tdot_done)
{
    if (ig_backend_kind(e->be) == IG_BACKEND_CPU) {
        const struct ig_tensor *rw[2], *rb[2];
        double *acc[2];
        int nr = 0;
        if (e->want_dot) rw[nr] = L->dw, rb[nr] = L->db, acc[nr++] = e->dot;
        if (e->want_tdot) {
            rw[nr] = ig_var_value(L->w), rb[nr] = L->b ? ig_var_value(L->b) : NULL, acc[nr++] = e->tdot;
            *tdot_done = true;
        }
        return ig_bn2d_persample_terms(e->be, x, dy, L->mod->running_mean, L->mod->running_var, L->mod->bn, L->b != NULL,
                                       nr, rw, rb, acc, e->sq);
    }
    int64_t C = x->shape[1], cs[1] = {C};
    struct ig_tensor *ones = ig_tensor_new(e->be, IG_DTYPE_F32, 1, cs), *zeros = ig_tensor_zeros(e->be, IG_DTYPE_F32, 1, cs);
    struct ig_tensor *xh = ig_tensor_new(e->be, IG_DTYPE_F32, x->ndim, x->shape), *dg = NULL, *db = NULL;
    enum ig_status s = (!ones || !zeros || !xh) ? ig_error(IG_ERR_OOM, "batch-norm terms: out of memory") : IG_OK;
    if (s == IG_OK) s = ig_fill(ones, 1.0f);
    if (s == IG_OK)
        s = ig_batchnorm2d_forward_eval(xh, x, ones, zeros, L->mod->running_mean, L->mod->running_var, L->mod->bn);
    if (s == IG_OK) s = ig_mul(xh, xh, dy);
    if (s == IG_OK && (!(dg = position_sums(e, xh)) || (L->b && !(db = position_sums(e, dy)))))
        s = ig_error(IG_ERR_OOM, "batch-norm terms: out of memory");
    if (s == IG_OK) s = rows_terms(e, dg, e->want_dot ? L->dw : NULL, 0);
    if (s == IG_OK && db) s = rows_terms(e, db, e->want_dot ? L->db : NULL, 0);
    ig_tensor_free(db);
    ig_tensor_free(dg);
    ig_tensor_free(xh);
    ig_tensor_free(zeros);
    ig_tensor_free(ones);
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
    struct ig_tensor *xc = NULL, *dc = NULL, *xf = NULL;
    const struct ig_tensor *x = lg->input, *dy = lg->grad_output;
    if (!ig_tensor_is_contiguous(x)) x = xc = ig_tensor_contiguous(x);
    if (!ig_tensor_is_contiguous(dy)) dy = dc = ig_tensor_contiguous(dy);
    enum ig_status s = (!x || !dy) ? IG_ERR_OOM : IG_OK;
    if (s == IG_OK && L->kind == AL_LINEAR && x->ndim != 2) {
        int64_t sh[2] = {x->shape[0], -1};
        x = xf = ig_tensor_reshape(x, 2, sh);
        if (!xf) s = IG_ERR_OOM;
    }
    bool tdot_done = false;
    if (s == IG_OK && L->kind == AL_LINEAR) {
        if (e->want_dot) s = layer_dot(e, lg, false, x, dy, L->dw, L->db);
        if (s == IG_OK) s = linear_sq(e, L, x, dy);
    } else if (s == IG_OK) {
        s = L->kind == AL_CONV ? conv_terms(e, lg, L, x, dy, &tdot_done) : bn_terms(e, L, x, dy, &tdot_done);
    }
    if (s == IG_OK && e->want_tdot && !tdot_done) s = theta_dot(e, lg, dy);
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

/* The engine's forward of the batch with the layer hook set and *loss = the cross-entropy (SUM)
 * of its logits against y (borrowed: under ig_graph_set_retain a caller may change y and run
 * another backward). classes > 0: the logits must have that many columns. engine_done undoes
 * the graph settings. */
static enum ig_status engine_forward(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y, int classes,
                                     const char *who, struct ig_var **loss)
{
    *loss = NULL;
    if (e->has_bn && ig_model_is_training(e->m))
        return ig_error(IG_ERR_STATE, "%s: the model is in train mode; per-sample batch-norm gradients need eval mode "
                                      "(ig_model_set_train(m, false))", who);
    int64_t n = x->shape[0];
    IG_TRY(ensure_cap(e, n));
    e->n = n;
    struct ig_graph *g = e->g;
    ig_graph_reset(g);
    ig_graph_set_grad_enabled(g, true);
    ig_graph_set_param_grads(g, false);
    ig_graph_set_layer_hook(g, engine_hook, e);
    struct ig_var *logits = ig_model_forward(e->m, g, ig_graph_input(g, x, false));
    if (logits && classes > 0 && ig_var_value(logits)->shape[1] != classes)
        return ig_error(IG_ERR_SHAPE, "%s: the model has %lld classes, n_classes is %d", who,
                        (long long)ig_var_value(logits)->shape[1], classes);
    *loss = ig_ag_cross_entropy(g, logits, y, IG_REDUCTION_SUM);
    return *loss ? IG_OK : ig_al_graph_failed(g, "per-sample gradient forward");
}

static void engine_done(struct ig_al_engine *e)
{
    ig_graph_set_layer_hook(e->g, NULL, NULL);
    ig_graph_set_param_grads(e->g, true);
    ig_graph_set_retain(e->g, false);
}

/* One backward from the loss, the hook filling e->dot/tdot/sq (zeroed first). */
static enum ig_status engine_backward(struct ig_al_engine *e, struct ig_var *loss)
{
    size_t bytes = (size_t)e->n * sizeof(double);
    memset(e->dot, 0, bytes);
    memset(e->tdot, 0, bytes);
    memset(e->sq, 0, bytes);
    return ig_graph_backward(e->g, loss);
}

/* One forward + backward of the batch with the hook filling e->dot/tdot/sq. */
static enum ig_status engine_pass(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y, const char *who)
{
    struct ig_var *loss;
    enum ig_status s = engine_forward(e, x, y, 0, who, &loss);
    if (s == IG_OK) s = engine_backward(e, loss);
    engine_done(e);
    return s;
}

enum ig_status ig_al_engine_batch(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y, double *dot,
                                  double *tdot, double *sq)
{
    if (!e || !x || !y || !dot || !sq) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_batch: NULL argument");
    e->want_dot = true;
    e->want_tdot = tdot != NULL;
    IG_TRY(engine_pass(e, x, y, "ig_al_engine_batch"));
    int64_t n = e->n;
    memcpy(dot, e->dot, (size_t)n * sizeof(double));
    memcpy(sq, e->sq, (size_t)n * sizeof(double));
    if (tdot) memcpy(tdot, e->tdot, (size_t)n * sizeof(double));
    return IG_OK;
}

enum ig_status ig_al_engine_class_sq(struct ig_al_engine *e, struct ig_tensor *x, int n_classes, double *sq_out)
{
    if (!e || !x || !sq_out) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_class_sq: NULL argument");
    if (n_classes < 1) return ig_error(IG_ERR_INVALID_ARG, "ig_al_engine_class_sq: n_classes is %d, expected >= 1", n_classes);
    int64_t N = x->shape[0];
    struct ig_tensor *y = ig_tensor_new(e->be, IG_DTYPE_I32, 1, &N);
    if (!y) return ig_error(IG_ERR_OOM, "ig_al_engine_class_sq: out of memory");
    e->want_dot = e->want_tdot = false;
    /* one forward; then per class c the labels (borrowed by the loss) set to c and one backward
     * over the kept tape: the same arithmetic as a forward + backward per class, 1 forward not C */
    struct ig_var *loss = NULL;
    enum ig_status s = ig_fill(y, 0.0f);
    ig_graph_set_retain(e->g, true);
    if (s == IG_OK) s = engine_forward(e, x, y, n_classes, "ig_al_engine_class_sq", &loss);
    for (int c = 0; s == IG_OK && c < n_classes; c++) {
        if (c > 0) s = ig_fill(y, (float)c);
        if (s == IG_OK) s = engine_backward(e, loss);
        for (int64_t i = 0; s == IG_OK && i < N; i++) sq_out[i * n_classes + c] = e->sq[i];
    }
    engine_done(e);
    ig_tensor_free(y);
    return s;
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
