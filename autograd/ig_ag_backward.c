/* Autograd backward rules: one per op of ig_ag_ops.def, plus compile-time checked tables (names, rules, kernel coverage). */
#include "ig_ag_internal.h"
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static enum ig_status hook_call(struct ig_graph *g, struct ig_var *v, struct ig_var *w, struct ig_var *b)
{
    if (!g->hook || !w->watch) return IG_OK;
    struct ig_layer_grad lg;
    memset(&lg, 0, sizeof lg);
    lg.op = v->op;
    lg.weight = w;
    lg.bias = b;
    lg.input = v->in[0]->value;
    lg.grad_output = v->grad;
    lg.output = v->value;
    if (v->op == IG_AG_OP_CONV2D) lg.conv = v->p.conv;
    enum ig_status s = g->hook(&lg, g->hook_user);
    if (s != IG_OK) return ig_error_prefix(s, "layer hook");
    return IG_OK;
}

/* in->grad (+)= alpha * dy (same element count; shapes may differ, e.g. reshape). */
static enum ig_status pass_through(struct ig_graph *g, struct ig_var *in, const struct ig_tensor *dy, float alpha)
{
    if (!ig_ag_wants_grad(g, in)) return IG_OK;
    struct ig_tensor view;
    ig_ag_view_as(&view, dy, in->value->ndim, in->value->shape);
    if (!in->grad_ready) {
        struct ig_tensor *dst = ig_ag_grad_storage(g, in);
        if (!dst) return IG_ERR_OOM;
        IG_TRY(ig_scale(dst, &view, alpha));
        in->grad_ready = true;
        return IG_OK;
    }
    return ig_axpy(in->grad, alpha, &view);
}

/* [N,C,...] -> [N,C,rest,1] view, for per-channel sums through conv2d_backward_bias. */
static void as_nchw(struct ig_tensor *view, const struct ig_tensor *t)
{
    int64_t rest = 1;
    for (int i = 2; i < t->ndim; i++) rest *= t->shape[i];
    int64_t shape[4] = {t->shape[0], t->ndim > 1 ? t->shape[1] : 1, rest, 1};
    ig_ag_view_as(view, t, 4, shape);
}

/* in->grad (+)= per-channel sum of dy over all but dim 1 (bias gradients). */
static enum ig_status channel_sum_into(struct ig_graph *g, struct ig_var *in, const struct ig_tensor *dy)
{
    if (!ig_ag_wants_grad(g, in)) return IG_OK;
    struct ig_tensor view;
    as_nchw(&view, dy);
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, in, &acc);
    if (!dst) return IG_ERR_OOM;
    IG_TRY(ig_conv2d_backward_bias(dst, &view));
    return ig_ag_grad_commit(g, in, acc);
}

/* gemm straight into in->grad with beta 1 when a gradient is already there. */
static enum ig_status gemm_into(struct ig_graph *g, struct ig_var *in, const struct ig_tensor *a, const struct ig_tensor *b,
                                bool ta, bool tb, float alpha, int ndim, const int64_t *shape2)
{
    struct ig_tensor *dst = ig_ag_grad_storage(g, in);
    if (!dst) return IG_ERR_OOM;
    struct ig_tensor view;
    ig_ag_view_as(&view, dst, ndim, shape2);
    struct ig_gemm_params p = {ta, tb, alpha, in->grad_ready ? 1.0f : 0.0f};
    IG_TRY(ig_gemm(&view, a, b, p));
    in->grad_ready = true;
    return IG_OK;
}

/* ---------------------------------------------------------------- rules */

static enum ig_status bw_leaf(struct ig_graph *g, struct ig_var *v)
{
    (void)g;
    (void)v;
    return IG_OK;
}

static enum ig_status bw_matmul(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *a = v->in[0], *b = v->in[1];
    const struct ig_tensor *A = a->value, *B = b->value, *dC = v->grad;
    bool ta = v->p.mm.ta, tb = v->p.mm.tb;
    if (ig_ag_wants_grad(g, a)) {
        /* C = op(A) op(B):  dA = dC op(B)^T (or its transpose when ta) */
        if (!ta) IG_TRY(gemm_into(g, a, dC, B, false, !tb, 1.0f, 2, A->shape));
        else IG_TRY(gemm_into(g, a, B, dC, tb, true, 1.0f, 2, A->shape));
    }
    if (ig_ag_wants_grad(g, b)) {
        if (!tb) IG_TRY(gemm_into(g, b, A, dC, !ta, false, 1.0f, 2, B->shape));
        else IG_TRY(gemm_into(g, b, dC, A, true, ta, 1.0f, 2, B->shape));
    }
    return IG_OK;
}

static enum ig_status bw_linear(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0], *w = v->in[1], *b = v->in[2];
    const struct ig_tensor *dy = v->grad; /* [N,out] */
    IG_TRY(hook_call(g, v, w, b));
    if (ig_ag_wants_grad(g, w)) IG_TRY(gemm_into(g, w, dy, x->value, true, false, 1.0f, 2, w->value->shape));
    if (b) IG_TRY(channel_sum_into(g, b, dy));
    if (ig_ag_wants_grad(g, x)) IG_TRY(gemm_into(g, x, dy, w->value, false, false, 1.0f, 2, x->value->shape));
    return IG_OK;
}

static enum ig_status bw_conv2d(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0], *w = v->in[1], *b = v->in[2];
    const struct ig_tensor *dy = v->grad;
    IG_TRY(hook_call(g, v, w, b));
    bool acc;
    if (ig_ag_wants_grad(g, w)) {
        struct ig_tensor *dst = ig_ag_grad_target(g, w, &acc);
        if (!dst) return IG_ERR_OOM;
        IG_TRY(ig_conv2d_backward_weight(dst, dy, x->value, v->p.conv));
        IG_TRY(ig_ag_grad_commit(g, w, acc));
    }
    if (b && ig_ag_wants_grad(g, b)) {
        struct ig_tensor *dst = ig_ag_grad_target(g, b, &acc);
        if (!dst) return IG_ERR_OOM;
        IG_TRY(ig_conv2d_backward_bias(dst, dy));
        IG_TRY(ig_ag_grad_commit(g, b, acc));
    }
    if (ig_ag_wants_grad(g, x)) {
        struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
        if (!dst) return IG_ERR_OOM;
        IG_TRY(ig_conv2d_backward_data(dst, dy, w->value, v->p.conv));
        IG_TRY(ig_ag_grad_commit(g, x, acc));
    }
    return IG_OK;
}

static enum ig_status bw_bias_add(struct ig_graph *g, struct ig_var *v)
{
    IG_TRY(channel_sum_into(g, v->in[1], v->grad));
    return pass_through(g, v->in[0], v->grad, 1.0f);
}

static enum ig_status bw_maxpool2d(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0];
    if (!ig_ag_wants_grad(g, x)) return IG_OK;
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
    if (!dst) return IG_ERR_OOM;
    IG_TRY(ig_maxpool2d_backward(dst, v->grad, v->saved[0], v->p.pool));
    return ig_ag_grad_commit(g, x, acc);
}

static enum ig_status bw_relu(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0];
    if (!ig_ag_wants_grad(g, x)) return IG_OK;
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
    if (!dst) return IG_ERR_OOM;
    IG_TRY(ig_relu_backward(dst, v->grad, v->value));
    return ig_ag_grad_commit(g, x, acc);
}

static enum ig_status bw_batchnorm2d_train(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0], *gamma = v->in[1], *beta = v->in[2];
    bool wx = ig_ag_wants_grad(g, x), wg = ig_ag_wants_grad(g, gamma), wb = ig_ag_wants_grad(g, beta);
    if (!wx && !wg && !wb) return IG_OK;
    /* the kernel writes all three: unwanted or accumulating outputs go to scratch */
    int64_t c = x->value->shape[1];
    bool ax = false, ag = false, ab = false;
    struct ig_tensor *dx = wx ? ig_ag_grad_target(g, x, &ax) : ig_ag_cached(g, &v->saved[2], IG_DTYPE_F32, 4, x->value->shape);
    struct ig_tensor *dg = wg ? ig_ag_grad_target(g, gamma, &ag) : ig_ag_cached(g, &v->saved[3], IG_DTYPE_F32, 1, &c);
    struct ig_tensor *db = wb ? ig_ag_grad_target(g, beta, &ab) : ig_ag_cached(g, &v->saved[4], IG_DTYPE_F32, 1, &c);
    if (!dx || !dg || !db) return IG_ERR_OOM;
    IG_TRY(ig_batchnorm2d_backward(dx, dg, db, v->grad, x->value, gamma->value, v->saved[0], v->saved[1], v->p.bn));
    if (wx) IG_TRY(ig_ag_grad_commit(g, x, ax));
    if (wg) IG_TRY(ig_ag_grad_commit(g, gamma, ag));
    if (wb) IG_TRY(ig_ag_grad_commit(g, beta, ab));
    return IG_OK;
}

/* Eval mode: y = gamma (x - rm) / sqrt(rv + eps) + beta with constant statistics:
 * dx = dy gamma / sqrt(rv + eps), dgamma = sum dy xhat, dbeta = sum dy; all through the
 * eval forward kernel (with zero mean / zero shift) and conv2d_backward_bias. */
static enum ig_status bw_batchnorm2d_eval(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0], *gamma = v->in[1], *beta = v->in[2];
    const struct ig_tensor *X = x->value, *dy = v->grad;
    IG_TRY(hook_call(g, v, gamma, beta));   /* per-sample γ/β terms (eval mode: exact) */
    int64_t c = X->shape[1];
    struct ig_tensor zeros, ones;
    IG_TRY(ig_ag_zeros(g, c, &zeros, 1, c));
    int64_t cs[1] = {c};
    ig_ag_view_as(&zeros, &zeros, 1, cs);
    bool acc;
    if (ig_ag_wants_grad(g, x)) {
        struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
        if (!dst) return IG_ERR_OOM;
        IG_TRY(ig_batchnorm2d_forward_eval(dst, dy, gamma->value, &zeros, &zeros, v->rvar, v->p.bn));
        IG_TRY(ig_ag_grad_commit(g, x, acc));
    }
    if (ig_ag_wants_grad(g, gamma)) {
        IG_TRY(ig_ag_ones(g, c, &ones, 1, c));
        ig_ag_view_as(&ones, &ones, 1, cs);
        struct ig_tensor *xhat = ig_ag_cached(g, &v->saved[2], IG_DTYPE_F32, 4, X->shape);
        if (!xhat) return IG_ERR_OOM;
        IG_TRY(ig_batchnorm2d_forward_eval(xhat, X, &ones, &zeros, v->rmean, v->rvar, v->p.bn));
        IG_TRY(ig_mul(xhat, xhat, dy));
        struct ig_tensor *dst = ig_ag_grad_target(g, gamma, &acc);
        if (!dst) return IG_ERR_OOM;
        IG_TRY(ig_conv2d_backward_bias(dst, xhat));
        IG_TRY(ig_ag_grad_commit(g, gamma, acc));
    }
    return channel_sum_into(g, beta, dy);
}

static enum ig_status bw_dropout(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0];
    if (!ig_ag_wants_grad(g, x)) return IG_OK;
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
    if (!dst) return IG_ERR_OOM;
    IG_TRY(ig_mul(dst, v->grad, v->saved[0]));
    return ig_ag_grad_commit(g, x, acc);
}

static enum ig_status bw_reshape(struct ig_graph *g, struct ig_var *v)
{
    return pass_through(g, v->in[0], v->grad, 1.0f);
}

/* bc[N,M] = alpha * col[N] broadcast along rows (gemm with a ones row). */
static enum ig_status broadcast_rows(struct ig_graph *g, struct ig_tensor *bc, const struct ig_tensor *col, float alpha)
{
    int64_t n = bc->shape[0], m = bc->shape[1];
    struct ig_tensor ones, colv;
    IG_TRY(ig_ag_ones(g, m, &ones, 1, m));
    int64_t cshape[2] = {n, 1};
    ig_ag_view_as(&colv, col, 2, cshape);
    struct ig_gemm_params p = {false, false, alpha, 0.0f};
    return ig_gemm(bc, &colv, &ones, p);
}

/* softmax: dx = s * (dy - rowsum(dy * s)) */
static enum ig_status bw_softmax(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0];
    if (!ig_ag_wants_grad(g, x)) return IG_OK;
    const struct ig_tensor *s = v->value, *dy = v->grad;
    int64_t n = s->shape[0], col[2] = {n, 1};
    struct ig_tensor *t = ig_ag_cached(g, &v->saved[1], IG_DTYPE_F32, 2, s->shape);
    struct ig_tensor *r = ig_ag_cached(g, &v->saved[2], IG_DTYPE_F32, 2, col);
    if (!t || !r) return IG_ERR_OOM;
    IG_TRY(ig_mul(t, dy, s));
    IG_TRY(ig_sum_axis(r, t, 1));
    IG_TRY(broadcast_rows(g, t, r, 1.0f));
    IG_TRY(ig_sub(t, dy, t));
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
    if (!dst) return IG_ERR_OOM;
    IG_TRY(ig_mul(dst, s, t));
    return ig_ag_grad_commit(g, x, acc);
}

/* log_softmax: dx = dy - softmax(x) * rowsum(dy) */
static enum ig_status bw_log_softmax(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0];
    if (!ig_ag_wants_grad(g, x)) return IG_OK;
    const struct ig_tensor *s = v->saved[0], *dy = v->grad;
    int64_t n = s->shape[0], col[2] = {n, 1};
    struct ig_tensor *t = ig_ag_cached(g, &v->saved[1], IG_DTYPE_F32, 2, s->shape);
    struct ig_tensor *r = ig_ag_cached(g, &v->saved[2], IG_DTYPE_F32, 2, col);
    if (!t || !r) return IG_ERR_OOM;
    IG_TRY(ig_sum_axis(r, dy, 1));
    IG_TRY(broadcast_rows(g, t, r, 1.0f));
    IG_TRY(ig_mul(t, t, s));
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
    if (!dst) return IG_ERR_OOM;
    IG_TRY(ig_sub(dst, dy, t));
    return ig_ag_grad_commit(g, x, acc);
}

static enum ig_status bw_cross_entropy(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0];
    if (!ig_ag_wants_grad(g, x)) return IG_OK;
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
    if (!dst) return IG_ERR_OOM;
    struct ig_xent_params p = {v->p.red};
    IG_TRY(ig_cross_entropy_backward(dst, x->value, v->labels, v->grad, p));
    return ig_ag_grad_commit(g, x, acc);
}

/* x viewed as [A, L, B] around the axis; dx[a,l,b] = alpha dy[a,b]. */
static enum ig_status bw_reduce(struct ig_graph *g, struct ig_var *v, float alpha_per_l)
{
    struct ig_var *x = v->in[0];
    if (!ig_ag_wants_grad(g, x)) return IG_OK;
    const struct ig_tensor *X = x->value, *dy = v->grad;
    int axis = v->p.axis;
    int64_t A = 1, L = X->shape[axis], B = 1;
    for (int i = 0; i < axis; i++) A *= X->shape[i];
    for (int i = axis + 1; i < X->ndim; i++) B *= X->shape[i];
    float alpha = alpha_per_l > 0 ? 1.0f : 1.0f / (float)L;
    struct ig_tensor ones, dyv;
    if (A == 1 || B == 1) {
        /* one gemm with a ones vector, accumulating straight into the gradient */
        int64_t shape[2];
        if (A == 1) {   /* dx[L,B] = ones[L,1] dy[1,B] */
            IG_TRY(ig_ag_ones(g, L, &ones, L, 1));
            int64_t ds[2] = {1, B};
            ig_ag_view_as(&dyv, dy, 2, ds);
            shape[0] = L, shape[1] = B;
            return gemm_into(g, x, &ones, &dyv, false, false, alpha, 2, shape);
        }
        IG_TRY(ig_ag_ones(g, L, &ones, 1, L));    /* dx[A,L] = dy[A,1] ones[1,L] */
        int64_t ds[2] = {A, 1};
        ig_ag_view_as(&dyv, dy, 2, ds);
        shape[0] = A, shape[1] = L;
        return gemm_into(g, x, &dyv, &ones, false, false, alpha, 2, shape);
    }
    /* general: t[L, A*B] = ones[L,1] dy[1,A*B], then dx[A,L,B] = permute(t as [L,A,B]) */
    int64_t ts[2] = {L, A * B};
    struct ig_tensor *t = ig_ag_cached(g, &v->saved[0], IG_DTYPE_F32, 2, ts);
    if (!t) return IG_ERR_OOM;
    IG_TRY(ig_ag_ones(g, L, &ones, L, 1));
    int64_t ds[2] = {1, A * B};
    ig_ag_view_as(&dyv, dy, 2, ds);
    struct ig_gemm_params p = {false, false, alpha, 0.0f};
    IG_TRY(ig_gemm(t, &ones, &dyv, p));
    struct ig_tensor perm;      /* t as [L,A,B] with dims 0,1 swapped: shape [A,L,B] */
    int64_t ps[3] = {L, A, B};
    ig_ag_view_as(&perm, t, 3, ps);
    perm.shape[0] = A, perm.shape[1] = L;
    perm.stride[0] = B, perm.stride[1] = A * B;
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
    if (!dst) return IG_ERR_OOM;
    struct ig_tensor dv;
    int64_t xs[3] = {A, L, B};
    ig_ag_view_as(&dv, dst, 3, xs);
    IG_TRY(ig_tensor_copy(&dv, &perm));
    return ig_ag_grad_commit(g, x, acc);
}

static enum ig_status bw_sum_axis(struct ig_graph *g, struct ig_var *v) { return bw_reduce(g, v, 1.0f); }
static enum ig_status bw_mean_axis(struct ig_graph *g, struct ig_var *v) { return bw_reduce(g, v, 0.0f); }

static enum ig_status bw_add(struct ig_graph *g, struct ig_var *v)
{
    IG_TRY(pass_through(g, v->in[0], v->grad, 1.0f));
    return pass_through(g, v->in[1], v->grad, 1.0f);
}

static enum ig_status bw_sub(struct ig_graph *g, struct ig_var *v)
{
    IG_TRY(pass_through(g, v->in[0], v->grad, 1.0f));
    return pass_through(g, v->in[1], v->grad, -1.0f);
}

static enum ig_status bw_mul(struct ig_graph *g, struct ig_var *v)
{
    for (int k = 0; k < 2; k++) {
        struct ig_var *in = v->in[k], *other = v->in[1 - k];
        if (!ig_ag_wants_grad(g, in)) continue;
        bool acc;
        struct ig_tensor *dst = ig_ag_grad_target(g, in, &acc);
        if (!dst) return IG_ERR_OOM;
        IG_TRY(ig_mul(dst, v->grad, other->value));
        IG_TRY(ig_ag_grad_commit(g, in, acc));
    }
    return IG_OK;
}

static enum ig_status bw_scale(struct ig_graph *g, struct ig_var *v)
{
    return pass_through(g, v->in[0], v->grad, v->p.alpha);
}

/* out[n] = |x_n|^2: dx = 2 dout[n] x[n,:] */
static enum ig_status bw_row_sqnorm(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0];
    if (!ig_ag_wants_grad(g, x)) return IG_OK;
    struct ig_tensor *t = ig_ag_cached(g, &v->saved[0], IG_DTYPE_F32, 2, x->value->shape);
    if (!t) return IG_ERR_OOM;
    IG_TRY(broadcast_rows(g, t, v->grad, 2.0f));
    bool acc;
    struct ig_tensor *dst = ig_ag_grad_target(g, x, &acc);
    if (!dst) return IG_ERR_OOM;
    IG_TRY(ig_mul(dst, t, x->value));
    return ig_ag_grad_commit(g, x, acc);
}

/* out[n] = x_n . w: dx = dout[N,1] w[1,M], dw[1,M] = dout[1,N] x[N,M] */
static enum ig_status bw_row_dot(struct ig_graph *g, struct ig_var *v)
{
    struct ig_var *x = v->in[0], *w = v->in[1];
    const struct ig_tensor *X = x->value;
    int64_t n = X->shape[0], m = X->shape[1];
    struct ig_tensor dcol, drow, wrow;
    int64_t cs[2] = {n, 1}, rs[2] = {1, n}, ws[2] = {1, m};
    ig_ag_view_as(&dcol, v->grad, 2, cs);
    ig_ag_view_as(&drow, v->grad, 2, rs);
    ig_ag_view_as(&wrow, w->value, 2, ws);
    if (ig_ag_wants_grad(g, x)) IG_TRY(gemm_into(g, x, &dcol, &wrow, false, false, 1.0f, 2, X->shape));
    if (ig_ag_wants_grad(g, w)) IG_TRY(gemm_into(g, w, &drow, X, false, false, 1.0f, 2, ws));
    return IG_OK;
}

/* ---------------------------------------------------------------- tables */

/* Compile-time complete: a missing rule bw_<fn> is an undeclared identifier. */
const ig_ag_backward_fn ig_ag_backward_table[IG_AG_OP_COUNT] = {
#define IG_AG_OP(E, fn, name) [IG_AG_OP_##E] = bw_##fn,
#include "ig_ag_ops.def"
#undef IG_AG_OP
};
_Static_assert(sizeof ig_ag_backward_table / sizeof ig_ag_backward_table[0] == IG_AG_OP_COUNT,
               "backward table out of date with ig_ag_ops.def");

static const char *const ag_op_names[] = {
#define IG_AG_OP(E, fn, name) [IG_AG_OP_##E] = name,
#include "ig_ag_ops.def"
#undef IG_AG_OP
};
_Static_assert(sizeof ag_op_names / sizeof ag_op_names[0] == IG_AG_OP_COUNT, "autograd op names out of date");

const char *ig_ag_op_name(enum ig_ag_op op)
{
    if ((int)op < 0 || op >= IG_AG_OP_COUNT) return "?";
    return ag_op_names[op];
}

/* Coverage of the tensor ops (ig_ops.def): every kernel op must be classified here, or
 * this file does not compile (IG_AG_COVER_<OP> undeclared): the autograd op recording it,
 * IG_AG_KERNEL_BACKWARD (a backward kernel, used by a rule) or IG_AG_NOT_DIFF. */
#define IG_AG_COVER_GEMM              IG_AG_OP_MATMUL
#define IG_AG_COVER_CONV2D_FWD        IG_AG_OP_CONV2D
#define IG_AG_COVER_CONV2D_BWD_DATA   IG_AG_KERNEL_BACKWARD
#define IG_AG_COVER_CONV2D_BWD_WEIGHT IG_AG_KERNEL_BACKWARD
#define IG_AG_COVER_CONV2D_BWD_BIAS   IG_AG_KERNEL_BACKWARD
#define IG_AG_COVER_CONV2D_BWD_WEIGHT_PERSAMPLE IG_AG_NOT_DIFF   /* per-sample gradients for al (a gradient itself) */
#define IG_AG_COVER_MAXPOOL2D_FWD     IG_AG_OP_MAXPOOL2D
#define IG_AG_COVER_MAXPOOL2D_BWD     IG_AG_KERNEL_BACKWARD
#define IG_AG_COVER_RELU_FWD          IG_AG_OP_RELU
#define IG_AG_COVER_RELU_BWD          IG_AG_KERNEL_BACKWARD
#define IG_AG_COVER_BN2D_FWD_TRAIN    IG_AG_OP_BATCHNORM2D_TRAIN
#define IG_AG_COVER_BN2D_FWD_EVAL     IG_AG_OP_BATCHNORM2D_EVAL
#define IG_AG_COVER_BN2D_BWD          IG_AG_KERNEL_BACKWARD
#define IG_AG_COVER_DROPOUT_FWD       IG_AG_OP_DROPOUT
#define IG_AG_COVER_BIAS_ADD          IG_AG_OP_BIAS_ADD
#define IG_AG_COVER_SOFTMAX           IG_AG_OP_SOFTMAX
#define IG_AG_COVER_LOG_SOFTMAX       IG_AG_OP_LOG_SOFTMAX
#define IG_AG_COVER_XENT_FWD          IG_AG_OP_CROSS_ENTROPY
#define IG_AG_COVER_XENT_BWD          IG_AG_KERNEL_BACKWARD
#define IG_AG_COVER_SUM_AXIS          IG_AG_OP_SUM_AXIS
#define IG_AG_COVER_MEAN_AXIS         IG_AG_OP_MEAN_AXIS
#define IG_AG_COVER_ADD               IG_AG_OP_ADD
#define IG_AG_COVER_SUB               IG_AG_OP_SUB
#define IG_AG_COVER_MUL               IG_AG_OP_MUL
#define IG_AG_COVER_SCALE             IG_AG_OP_SCALE
#define IG_AG_COVER_AXPY              IG_AG_NOT_DIFF   /* in place; ig_ag_add + ig_ag_scale */
#define IG_AG_COVER_ARGMAX_ROWS       IG_AG_NOT_DIFF
#define IG_AG_COVER_NORMALIZE_U8      IG_AG_NOT_DIFF   /* u8 input */
#define IG_AG_COVER_ADAM_STEP         IG_AG_NOT_DIFF
#define IG_AG_COVER_SGD_STEP          IG_AG_NOT_DIFF
#define IG_AG_COVER_COPY              IG_AG_NOT_DIFF   /* data movement; ig_ag_reshape covers views */
#define IG_AG_COVER_FILL              IG_AG_NOT_DIFF
#define IG_AG_COVER_ROW_SQNORM        IG_AG_OP_ROW_SQNORM
#define IG_AG_COVER_ROW_DOT           IG_AG_OP_ROW_DOT

const int ig_ag_kernel_coverage[IG_OP_COUNT] = {
#define IG_OP(E, fn, name) [IG_OP_##E] = IG_AG_COVER_##E,
#include "ig_ops.def"
#undef IG_OP
};
_Static_assert(sizeof ig_ag_kernel_coverage / sizeof ig_ag_kernel_coverage[0] == IG_OP_COUNT, "coverage table");

enum ig_status ig_ag_check_tables(void)
{
    for (int i = 0; i < IG_AG_OP_COUNT; i++) {
        if (!ig_ag_backward_table[i]) return ig_error(IG_ERR_INTERNAL, "autograd op %s has no backward rule", ag_op_names[i]);
        if (!ag_op_names[i]) return ig_error(IG_ERR_INTERNAL, "autograd op %d has no name", i);
    }
    return IG_OK;
}
