/* Autograd forward: each op validates its inputs, records a node on the tape and runs the forward kernel. */
#include "ig_ag_internal.h"
#include <string.h>

/* Record the first error of the step on the graph and return NULL. */
static struct ig_var *fail(struct ig_graph *g, enum ig_status s)
{
    if (g && g->status == IG_OK) g->status = s != IG_OK ? s : IG_ERR_INTERNAL;
    return NULL;
}

static bool alive(const struct ig_graph *g, const struct ig_var *v)
{
    if (v->is_param) return true;
    return v->index >= 0 && v->index < g->n && g->nodes[v->index] == v && !g->released;
}

/* Start an op: NULL inputs propagate silently (their error is already recorded). */
static struct ig_var *begin(struct ig_graph *g, enum ig_ag_op op, int n, struct ig_var *const *ins, int n_opt)
{
    if (!g) {
        ig_error(IG_ERR_INVALID_ARG, "%s: graph is NULL", ig_ag_op_name(op));
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!ins[i]) {
            if (i >= n - n_opt) continue;      /* optional input (bias) */
            if (g->status == IG_OK) g->status = ig_error(IG_ERR_INVALID_ARG, "%s: input %d is NULL", ig_ag_op_name(op), i);
            return NULL;
        }
        if (!alive(g, ins[i])) {
            ig_error(IG_ERR_STATE, "%s: input %d is a var from a released or reset tape", ig_ag_op_name(op), i);
            return fail(g, IG_ERR_STATE);
        }
        if (ins[i]->value->backend != g->be) {
            ig_error(IG_ERR_BACKEND, "%s: input %d lives on another backend", ig_ag_op_name(op), i);
            return fail(g, IG_ERR_BACKEND);
        }
    }
    struct ig_var *v = ig_ag_node_new(g, op);
    if (!v) return NULL;
    v->n_in = n;
    bool rg = false;
    for (int i = 0; i < n; i++) {
        v->in[i] = ins[i];
        if (ins[i] && ins[i]->requires_grad) rg = true;
    }
    v->requires_grad = rg && g->grad_enabled;
    return v;
}

/* Undo a node whose forward failed (it is the last one on the tape). */
static struct ig_var *abort_node(struct ig_graph *g, struct ig_var *v, enum ig_status s)
{
    if (v && v->index == g->n - 1) g->n--;
    return fail(g, s);
}

static struct ig_var *shape_error(struct ig_graph *g, struct ig_var *v, const char *fmt, const struct ig_tensor *t)
{
    char buf[96];
    ig_error(IG_ERR_SHAPE, "%s: %s, got %s", ig_ag_op_name(v->op), fmt, ig_tensor_shape_str(t, buf, sizeof buf));
    return abort_node(g, v, IG_ERR_SHAPE);
}

static struct ig_tensor *out_value(struct ig_graph *g, struct ig_var *v, int ndim, const int64_t *shape)
{
    v->value = ig_ag_cached(g, &v->own_value, IG_DTYPE_F32, ndim, shape);
    return v->value;
}

#define RUN(v, call)                                                   \
    do {                                                               \
        enum ig_status run_s_ = (call);                                \
        if (run_s_ != IG_OK) {                                         \
            ig_error_prefix(run_s_, "%s", ig_ag_op_name((v)->op));     \
            return abort_node(g, (v), run_s_);                         \
        }                                                              \
    } while (0)

#define ALLOC(v, expr)                                                 \
    do {                                                               \
        if (!(expr)) return abort_node(g, (v), IG_ERR_OOM);            \
    } while (0)

/* ---------------------------------------------------------------- linear algebra */

struct ig_var *ig_ag_matmul(struct ig_graph *g, struct ig_var *a, struct ig_var *b, bool trans_a, bool trans_b)
{
    struct ig_var *ins[2] = {a, b};
    struct ig_var *v = begin(g, IG_AG_OP_MATMUL, 2, ins, 0);
    if (!v) return NULL;
    const struct ig_tensor *A = a->value, *B = b->value;
    if (A->ndim != 2) return shape_error(g, v, "a must be 2-D", A);
    if (B->ndim != 2) return shape_error(g, v, "b must be 2-D", B);
    v->p.mm.ta = trans_a;
    v->p.mm.tb = trans_b;
    int64_t shape[2] = {trans_a ? A->shape[1] : A->shape[0], trans_b ? B->shape[0] : B->shape[1]};
    ALLOC(v, out_value(g, v, 2, shape));
    struct ig_gemm_params p = ig_gemm_params_default();
    p.trans_a = trans_a;
    p.trans_b = trans_b;
    RUN(v, ig_gemm(v->value, A, B, p));
    return v;
}

struct ig_var *ig_ag_linear(struct ig_graph *g, struct ig_var *x, struct ig_var *w, struct ig_var *b)
{
    struct ig_var *ins[3] = {x, w, b};
    struct ig_var *v = begin(g, IG_AG_OP_LINEAR, 3, ins, 1);
    if (!v) return NULL;
    const struct ig_tensor *X = x->value, *W = w->value;
    if (X->ndim != 2) return shape_error(g, v, "x must be [N,in]", X);
    if (W->ndim != 2 || W->shape[1] != X->shape[1]) return shape_error(g, v, "w must be [out,in] with in = x's columns", W);
    if (b && (b->value->ndim != 1 || b->value->shape[0] != W->shape[0]))
        return shape_error(g, v, "bias must be [out]", b->value);
    int64_t shape[2] = {X->shape[0], W->shape[0]};
    ALLOC(v, out_value(g, v, 2, shape));
    struct ig_gemm_params p = ig_gemm_params_default();
    p.trans_b = true;
    RUN(v, ig_gemm(v->value, X, W, p));
    if (b) RUN(v, ig_bias_add(v->value, b->value));
    return v;
}

struct ig_var *ig_ag_conv2d(struct ig_graph *g, struct ig_var *x, struct ig_var *w, struct ig_var *b,
                            struct ig_conv2d_params p)
{
    struct ig_var *ins[3] = {x, w, b};
    struct ig_var *v = begin(g, IG_AG_OP_CONV2D, 3, ins, 1);
    if (!v) return NULL;
    const struct ig_tensor *X = x->value, *W = w->value;
    if (X->ndim != 4) return shape_error(g, v, "x must be [N,C,H,W]", X);
    if (W->ndim != 4 || W->shape[1] != X->shape[1]) return shape_error(g, v, "w must be [O,C,KH,KW] with C = x's channels", W);
    if (p.stride_h < 1 || p.stride_w < 1 || p.pad_h < 0 || p.pad_w < 0) {
        ig_error(IG_ERR_INVALID_ARG, "conv2d: stride must be >= 1 and padding >= 0");
        return abort_node(g, v, IG_ERR_INVALID_ARG);
    }
    int64_t ho = ig_conv_out_size(X->shape[2], W->shape[2], p.stride_h, p.pad_h);
    int64_t wo = ig_conv_out_size(X->shape[3], W->shape[3], p.stride_w, p.pad_w);
    if (ho < 1 || wo < 1) return shape_error(g, v, "kernel larger than the padded input", X);
    v->p.conv = p;
    int64_t shape[4] = {X->shape[0], W->shape[0], ho, wo};
    ALLOC(v, out_value(g, v, 4, shape));
    RUN(v, ig_conv2d_forward(v->value, X, W, b ? b->value : NULL, p));
    return v;
}

struct ig_var *ig_ag_bias_add(struct ig_graph *g, struct ig_var *x, struct ig_var *b)
{
    struct ig_var *ins[2] = {x, b};
    struct ig_var *v = begin(g, IG_AG_OP_BIAS_ADD, 2, ins, 0);
    if (!v) return NULL;
    const struct ig_tensor *X = x->value;
    if (X->ndim < 2) return shape_error(g, v, "x must be [N,C,...]", X);
    if (b->value->ndim != 1 || b->value->shape[0] != X->shape[1]) return shape_error(g, v, "b must be [C]", b->value);
    ALLOC(v, out_value(g, v, X->ndim, X->shape));
    RUN(v, ig_tensor_copy(v->value, X));
    RUN(v, ig_bias_add(v->value, b->value));
    return v;
}

/* ---------------------------------------------------------------- CNN layers */

struct ig_var *ig_ag_maxpool2d(struct ig_graph *g, struct ig_var *x, struct ig_pool2d_params p)
{
    struct ig_var *v = begin(g, IG_AG_OP_MAXPOOL2D, 1, &x, 0);
    if (!v) return NULL;
    const struct ig_tensor *X = x->value;
    if (X->ndim != 4) return shape_error(g, v, "x must be [N,C,H,W]", X);
    if (p.kernel < 1 || p.stride < 1) {
        ig_error(IG_ERR_INVALID_ARG, "maxpool2d: kernel and stride must be >= 1");
        return abort_node(g, v, IG_ERR_INVALID_ARG);
    }
    int64_t ho = ig_conv_out_size(X->shape[2], p.kernel, p.stride, 0);
    int64_t wo = ig_conv_out_size(X->shape[3], p.kernel, p.stride, 0);
    if (ho < 1 || wo < 1) return shape_error(g, v, "pooling window larger than the input", X);
    v->p.pool = p;
    int64_t shape[4] = {X->shape[0], X->shape[1], ho, wo};
    ALLOC(v, out_value(g, v, 4, shape));
    ALLOC(v, ig_ag_cached(g, &v->saved[0], IG_DTYPE_I32, 4, shape));
    RUN(v, ig_maxpool2d_forward(v->value, v->saved[0], X, p));
    return v;
}

struct ig_var *ig_ag_relu(struct ig_graph *g, struct ig_var *x)
{
    struct ig_var *v = begin(g, IG_AG_OP_RELU, 1, &x, 0);
    if (!v) return NULL;
    ALLOC(v, out_value(g, v, x->value->ndim, x->value->shape));
    RUN(v, ig_relu_forward(v->value, x->value));
    return v;
}

struct ig_var *ig_ag_batchnorm2d(struct ig_graph *g, struct ig_var *x, struct ig_var *gamma, struct ig_var *beta,
                                 struct ig_tensor *running_mean, struct ig_tensor *running_var, bool train,
                                 struct ig_bn_params p)
{
    struct ig_var *ins[3] = {x, gamma, beta};
    struct ig_var *v = begin(g, train ? IG_AG_OP_BATCHNORM2D_TRAIN : IG_AG_OP_BATCHNORM2D_EVAL, 3, ins, 0);
    if (!v) return NULL;
    const struct ig_tensor *X = x->value;
    if (X->ndim != 4) return shape_error(g, v, "x must be [N,C,H,W]", X);
    int64_t c = X->shape[1];
    if (gamma->value->ndim != 1 || gamma->value->shape[0] != c) return shape_error(g, v, "gamma must be [C]", gamma->value);
    if (beta->value->ndim != 1 || beta->value->shape[0] != c) return shape_error(g, v, "beta must be [C]", beta->value);
    if (!running_mean || !running_var) {
        ig_error(IG_ERR_INVALID_ARG, "batchnorm2d: running statistics are NULL");
        return abort_node(g, v, IG_ERR_INVALID_ARG);
    }
    v->p.bn = p;
    v->rmean = running_mean;
    v->rvar = running_var;
    ALLOC(v, out_value(g, v, 4, X->shape));
    if (train) {
        ALLOC(v, ig_ag_cached(g, &v->saved[0], IG_DTYPE_F32, 1, &c));
        ALLOC(v, ig_ag_cached(g, &v->saved[1], IG_DTYPE_F32, 1, &c));
        RUN(v, ig_batchnorm2d_forward_train(v->value, X, gamma->value, beta->value, running_mean, running_var,
                                            v->saved[0], v->saved[1], p));
    } else {
        RUN(v, ig_batchnorm2d_forward_eval(v->value, X, gamma->value, beta->value, running_mean, running_var, p));
    }
    return v;
}

struct ig_var *ig_ag_dropout(struct ig_graph *g, struct ig_var *x, struct ig_dropout_params p)
{
    struct ig_var *v = begin(g, IG_AG_OP_DROPOUT, 1, &x, 0);
    if (!v) return NULL;
    const struct ig_tensor *X = x->value;
    if (!(p.p >= 0.0f && p.p < 1.0f)) {
        ig_error(IG_ERR_INVALID_ARG, "dropout: p = %g, expected 0 <= p < 1", (double)p.p);
        return abort_node(g, v, IG_ERR_INVALID_ARG);
    }
    if (p.per_channel && X->ndim != 4) return shape_error(g, v, "dropout2d needs x [N,C,H,W]", X);
    v->p.drop = p;
    ALLOC(v, out_value(g, v, X->ndim, X->shape));
    ALLOC(v, ig_ag_cached(g, &v->saved[0], IG_DTYPE_F32, X->ndim, X->shape));
    RUN(v, ig_dropout_forward(v->value, v->saved[0], X, p));
    return v;
}

/* ---------------------------------------------------------------- shapes */

struct ig_var *ig_ag_reshape(struct ig_graph *g, struct ig_var *x, int ndim, const int64_t *shape)
{
    struct ig_var *v = begin(g, IG_AG_OP_RESHAPE, 1, &x, 0);
    if (!v) return NULL;
    const struct ig_tensor *X = x->value;
    if (!ig_tensor_is_contiguous(X)) return shape_error(g, v, "x must be contiguous", X);
    if (ndim < 0 || ndim > IG_MAX_DIMS || (ndim > 0 && !shape)) {
        ig_error(IG_ERR_INVALID_ARG, "reshape: bad target rank %d", ndim);
        return abort_node(g, v, IG_ERR_INVALID_ARG);
    }
    int64_t s[IG_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (s[i] == -1 && infer < 0) infer = i;
        else if (s[i] < 0) {
            ig_error(IG_ERR_INVALID_ARG, "reshape: bad dimension %lld", (long long)s[i]);
            return abort_node(g, v, IG_ERR_INVALID_ARG);
        } else known *= s[i];
    }
    int64_t n = ig_tensor_numel(X);
    if (infer >= 0) s[infer] = known ? n / known : 0;
    int64_t m = 1;
    for (int i = 0; i < ndim; i++) m *= s[i];
    if (m != n) return shape_error(g, v, "element count does not match the new shape", X);
    ig_ag_view_as(&v->view, X, ndim, s);
    v->value = &v->view;
    return v;
}

struct ig_var *ig_ag_flatten(struct ig_graph *g, struct ig_var *x)
{
    if (!x) return begin(g, IG_AG_OP_RESHAPE, 1, &x, 0);
    int64_t shape[2] = {x->value->ndim > 0 ? x->value->shape[0] : 1, -1};
    return ig_ag_reshape(g, x, 2, shape);
}

/* ---------------------------------------------------------------- softmax and loss */

struct ig_var *ig_ag_softmax(struct ig_graph *g, struct ig_var *x)
{
    struct ig_var *v = begin(g, IG_AG_OP_SOFTMAX, 1, &x, 0);
    if (!v) return NULL;
    if (x->value->ndim != 2) return shape_error(g, v, "x must be [N,M]", x->value);
    ALLOC(v, out_value(g, v, 2, x->value->shape));
    RUN(v, ig_softmax(v->value, x->value));
    return v;
}

struct ig_var *ig_ag_log_softmax(struct ig_graph *g, struct ig_var *x)
{
    struct ig_var *v = begin(g, IG_AG_OP_LOG_SOFTMAX, 1, &x, 0);
    if (!v) return NULL;
    if (x->value->ndim != 2) return shape_error(g, v, "x must be [N,M]", x->value);
    ALLOC(v, out_value(g, v, 2, x->value->shape));
    RUN(v, ig_log_softmax(v->value, x->value));
    if (v->requires_grad) {   /* backward needs softmax(x) */
        ALLOC(v, ig_ag_cached(g, &v->saved[0], IG_DTYPE_F32, 2, x->value->shape));
        RUN(v, ig_softmax(v->saved[0], x->value));
    }
    return v;
}

struct ig_var *ig_ag_cross_entropy(struct ig_graph *g, struct ig_var *logits, const struct ig_tensor *labels,
                                   enum ig_reduction reduction)
{
    struct ig_var *v = begin(g, IG_AG_OP_CROSS_ENTROPY, 1, &logits, 0);
    if (!v) return NULL;
    const struct ig_tensor *L = logits->value;
    if (L->ndim != 2) return shape_error(g, v, "logits must be [N,M]", L);
    if (!labels) {
        ig_error(IG_ERR_INVALID_ARG, "cross_entropy: labels are NULL");
        return abort_node(g, v, IG_ERR_INVALID_ARG);
    }
    if (labels->dtype != IG_DTYPE_I32 || labels->ndim != 1 || labels->shape[0] != L->shape[0])
        return shape_error(g, v, "labels must be i32 [N]", labels);
    v->labels = labels;
    v->p.red = reduction;
    int64_t shape[1] = {reduction == IG_REDUCTION_NONE ? L->shape[0] : 1};
    ALLOC(v, out_value(g, v, 1, shape));
    struct ig_xent_params p = {reduction};
    RUN(v, ig_cross_entropy_forward(v->value, L, labels, p));
    return v;
}

/* ---------------------------------------------------------------- reductions and elementwise */

static struct ig_var *reduce_axis(struct ig_graph *g, struct ig_var *x, int axis, bool mean)
{
    struct ig_var *v = begin(g, mean ? IG_AG_OP_MEAN_AXIS : IG_AG_OP_SUM_AXIS, 1, &x, 0);
    if (!v) return NULL;
    const struct ig_tensor *X = x->value;
    if (axis < 0) axis += X->ndim;
    if (axis < 0 || axis >= X->ndim) {
        ig_error(IG_ERR_INVALID_ARG, "%s: axis out of range for a %d-D tensor", ig_ag_op_name(v->op), X->ndim);
        return abort_node(g, v, IG_ERR_INVALID_ARG);
    }
    v->p.axis = axis;
    int64_t shape[IG_MAX_DIMS];
    memcpy(shape, X->shape, sizeof shape);
    shape[axis] = 1;
    ALLOC(v, out_value(g, v, X->ndim, shape));
    RUN(v, mean ? ig_mean_axis(v->value, X, axis) : ig_sum_axis(v->value, X, axis));
    return v;
}

struct ig_var *ig_ag_sum_axis(struct ig_graph *g, struct ig_var *x, int axis) { return reduce_axis(g, x, axis, false); }
struct ig_var *ig_ag_mean_axis(struct ig_graph *g, struct ig_var *x, int axis) { return reduce_axis(g, x, axis, true); }

struct ig_var *ig_ag_sum(struct ig_graph *g, struct ig_var *x)
{
    int64_t row[2] = {1, -1}, one[1] = {1};
    return ig_ag_reshape(g, ig_ag_sum_axis(g, ig_ag_reshape(g, x, 2, row), 1), 1, one);
}

static struct ig_var *binary(struct ig_graph *g, enum ig_ag_op op, struct ig_var *x, struct ig_var *y)
{
    struct ig_var *ins[2] = {x, y};
    struct ig_var *v = begin(g, op, 2, ins, 0);
    if (!v) return NULL;
    if (!ig_tensor_same_shape(x->value, y->value)) return shape_error(g, v, "operands must have the same shape", y->value);
    ALLOC(v, out_value(g, v, x->value->ndim, x->value->shape));
    switch (op) {
    case IG_AG_OP_ADD: RUN(v, ig_add(v->value, x->value, y->value)); break;
    case IG_AG_OP_SUB: RUN(v, ig_sub(v->value, x->value, y->value)); break;
    default: RUN(v, ig_mul(v->value, x->value, y->value)); break;
    }
    return v;
}

struct ig_var *ig_ag_add(struct ig_graph *g, struct ig_var *x, struct ig_var *y) { return binary(g, IG_AG_OP_ADD, x, y); }
struct ig_var *ig_ag_sub(struct ig_graph *g, struct ig_var *x, struct ig_var *y) { return binary(g, IG_AG_OP_SUB, x, y); }
struct ig_var *ig_ag_mul(struct ig_graph *g, struct ig_var *x, struct ig_var *y) { return binary(g, IG_AG_OP_MUL, x, y); }

struct ig_var *ig_ag_scale(struct ig_graph *g, struct ig_var *x, float alpha)
{
    struct ig_var *v = begin(g, IG_AG_OP_SCALE, 1, &x, 0);
    if (!v) return NULL;
    v->p.alpha = alpha;
    ALLOC(v, out_value(g, v, x->value->ndim, x->value->shape));
    RUN(v, ig_scale(v->value, x->value, alpha));
    return v;
}

struct ig_var *ig_ag_row_sqnorm(struct ig_graph *g, struct ig_var *x)
{
    struct ig_var *v = begin(g, IG_AG_OP_ROW_SQNORM, 1, &x, 0);
    if (!v) return NULL;
    if (x->value->ndim != 2) return shape_error(g, v, "x must be [N,M]", x->value);
    ALLOC(v, out_value(g, v, 1, x->value->shape));
    RUN(v, ig_row_sqnorm(v->value, x->value));
    return v;
}

struct ig_var *ig_ag_row_dot(struct ig_graph *g, struct ig_var *x, struct ig_var *w)
{
    struct ig_var *ins[2] = {x, w};
    struct ig_var *v = begin(g, IG_AG_OP_ROW_DOT, 2, ins, 0);
    if (!v) return NULL;
    if (x->value->ndim != 2) return shape_error(g, v, "x must be [N,M]", x->value);
    if (w->value->ndim != 1 || w->value->shape[0] != x->value->shape[1]) return shape_error(g, v, "v must be [M]", w->value);
    ALLOC(v, out_value(g, v, 1, x->value->shape));
    RUN(v, ig_row_dot(v->value, x->value, w->value));
    return v;
}
