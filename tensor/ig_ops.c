/* Public op functions: names, parameter defaults, argument/dtype/shape/layout/backend validation, then dispatch
 * to the backend table. */
#include "ig_backend_impl.h"
#include <math.h>
#include <stdio.h>

static const char *const op_names[] = {
#define IG_OP(E, fn, name) [IG_OP_##E] = name,
#include "ig_ops.def"
#undef IG_OP
};
_Static_assert(sizeof op_names / sizeof op_names[0] == IG_OP_COUNT, "op name table out of date");

const char *ig_op_name(enum ig_op op)
{
    if ((int)op < 0 || op >= IG_OP_COUNT) return "?";
    return op_names[op];
}

/* ---------------------------------------------------------------- parameter defaults */

struct ig_gemm_params ig_gemm_params_default(void) { return (struct ig_gemm_params){false, false, 1.0f, 0.0f}; }
struct ig_conv2d_params ig_conv2d_params_default(void) { return (struct ig_conv2d_params){1, 1, 0, 0}; }
struct ig_bn_params ig_bn_params_default(void) { return (struct ig_bn_params){0.1f, 1e-5f}; }
struct ig_adam_params ig_adam_params_default(void) { return (struct ig_adam_params){1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1}; }
struct ig_sgd_params ig_sgd_params_default(void) { return (struct ig_sgd_params){1e-2f, 0.0f, 0.0f, 0.0f, false, true}; }

int64_t ig_conv_out_size(int64_t in, int64_t k, int stride, int pad)
{
    if (stride <= 0) return -1;
    int64_t span = in + 2 * (int64_t)pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

/* ---------------------------------------------------------------- validation and dispatch */

#define ANY_DIMS (-1)

/* t must be non-NULL, of dtype dt, with ndim dims (or any), contiguous. */
static enum ig_status need(const char *op, const char *name, const struct ig_tensor *t, enum ig_dtype dt, int ndim)
{
    if (!t) return ig_error(IG_ERR_INVALID_ARG, "%s: %s is NULL", op, name);
    if (!t->buf || !t->backend) return ig_error(IG_ERR_INVALID_ARG, "%s: %s is not a live tensor", op, name);
    if (t->dtype != dt)
        return ig_error(IG_ERR_DTYPE, "%s: %s is %s, expected %s", op, name, ig_dtype_name(t->dtype), ig_dtype_name(dt));
    if (ndim != ANY_DIMS && t->ndim != ndim) {
        char b[64];
        return ig_error(IG_ERR_SHAPE, "%s: %s has shape %s, expected %d dimensions", op, name,
                        ig_tensor_shape_str(t, b, sizeof b), ndim);
    }
    if (!ig_tensor_is_contiguous(t)) return ig_error(IG_ERR_LAYOUT, "%s: %s must be contiguous", op, name);
    return IG_OK;
}

/* One operand for need(): its name, the tensor, the dtype and rank (or ANY_DIMS) it must have. */
struct need_arg {
    const char *name;
    const struct ig_tensor *t;
    enum ig_dtype dt;
    int ndim;
};

/* need() for each operand in turn, up to the entry with a NULL name; the first failure is returned. */
static enum ig_status need_all(const char *op, const struct need_arg *a)
{
    for (; a->name; a++) IG_TRY(need(op, a->name, a->t, a->dt, a->ndim));
    return IG_OK;
}
#define NEED_ALL(op, ...) need_all(op, (const struct need_arg[]){__VA_ARGS__, {NULL, NULL, IG_DTYPE_F32, 0}})
#define F32(name, t, ndim) {name, t, IG_DTYPE_F32, ndim}

/* All non-NULL tensors of the call live on one backend; returns it through *be. */
static enum ig_status one_backend(const char *op, const struct ig_op_call *c, struct ig_backend **be)
{
    *be = NULL;
    for (int i = 0; i < IG_OP_MAX_TENSORS; i++) {
        if (!c->t[i]) continue;
        if (!*be) *be = c->t[i]->backend;
        else if (c->t[i]->backend != *be)
            return ig_error(IG_ERR_BACKEND, "%s: tensors live on different backends (%s and %s)", op,
                            ig_backend_name(*be), ig_backend_name(c->t[i]->backend));
    }
    if (!*be) return ig_error(IG_ERR_INVALID_ARG, "%s: no tensors", op);
    return IG_OK;
}

static enum ig_status run(const char *op, struct ig_op_call *c)
{
    struct ig_backend *be;
    IG_TRY(one_backend(op, c, &be));
    return ig_backend_dispatch(be, c);
}

static enum ig_status dims_equal(const char *op, const char *name, const struct ig_tensor *t, int ndim, const int64_t *want)
{
    bool ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == want[i];
    if (ok) return IG_OK;
    char b[64], w[64];
    size_t n = (size_t)snprintf(w, sizeof w, "[");
    for (int i = 0; i < ndim && n < sizeof w; i++) n += (size_t)snprintf(w + n, sizeof w - n, i ? ",%lld" : "%lld", (long long)want[i]);
    if (n < sizeof w) snprintf(w + n, sizeof w - n, "]");
    return ig_error(IG_ERR_SHAPE, "%s: %s has shape %s, expected %s", op, name, ig_tensor_shape_str(t, b, sizeof b), w);
}

static enum ig_status same_shape(const char *op, const char *a_name, const struct ig_tensor *a, const char *b_name,
                                 const struct ig_tensor *b)
{
    if (ig_tensor_same_shape(a, b)) return IG_OK;
    char x[64], y[64];
    return ig_error(IG_ERR_SHAPE, "%s: %s %s and %s %s must have the same shape", op, a_name,
                    ig_tensor_shape_str(a, x, sizeof x), b_name, ig_tensor_shape_str(b, y, sizeof y));
}

#define W(t) ((struct ig_tensor *)(uintptr_t)(t))

/* ---------------------------------------------------------------- GEMM */

/* Accept row-major (stride[1] == 1) or transposed (stride[0] == 1) 2-D views; a transposed view is
 * rewritten into its row-major storage with the transpose flag flipped. */
static enum ig_status gemm_operand(const char *name, const struct ig_tensor *t, struct ig_tensor *out, bool *trans)
{
    if (!t) return ig_error(IG_ERR_INVALID_ARG, "gemm: %s is NULL", name);
    if (t->dtype != IG_DTYPE_F32) return ig_error(IG_ERR_DTYPE, "gemm: %s is %s, expected f32", name, ig_dtype_name(t->dtype));
    if (t->ndim != 2) return ig_error(IG_ERR_SHAPE, "gemm: %s has %d dimensions, expected 2", name, t->ndim);
    *out = *t;
    if (t->stride[1] == 1 || t->shape[1] == 1) {
        if (out->stride[0] < out->shape[1]) out->stride[0] = out->shape[1] > 0 ? out->shape[1] : 1;
        return IG_OK;
    }
    if (t->stride[0] == 1) {
        out->shape[0] = t->shape[1];
        out->shape[1] = t->shape[0];
        out->stride[0] = t->stride[1];
        out->stride[1] = 1;
        *trans = !*trans;
        return IG_OK;
    }
    return ig_error(IG_ERR_LAYOUT, "gemm: %s must be row-major or a transpose of a row-major matrix", name);
}

enum ig_status ig_gemm(struct ig_tensor *c, const struct ig_tensor *a, const struct ig_tensor *b, struct ig_gemm_params p)
{
    struct ig_tensor av, bv;
    bool ta = p.trans_a, tb = p.trans_b;
    IG_TRY(gemm_operand("a", a, &av, &ta));
    IG_TRY(gemm_operand("b", b, &bv, &tb));
    IG_TRY(need("gemm", "c", c, IG_DTYPE_F32, 2));
    int64_t m = ta ? av.shape[1] : av.shape[0], k = ta ? av.shape[0] : av.shape[1];
    int64_t kb = tb ? bv.shape[1] : bv.shape[0], n = tb ? bv.shape[0] : bv.shape[1];
    if (k != kb || c->shape[0] != m || c->shape[1] != n)
        return ig_error(IG_ERR_SHAPE, "gemm: op(a) is [%lld,%lld], op(b) is [%lld,%lld], c is [%lld,%lld]", (long long)m,
                        (long long)k, (long long)kb, (long long)n, (long long)c->shape[0], (long long)c->shape[1]);
    p.trans_a = ta;
    p.trans_b = tb;
    struct ig_op_call call = {.op = IG_OP_GEMM, .t = {c, &av, &bv}, .p.gemm = p};
    return run("gemm", &call);
}

/* ---------------------------------------------------------------- convolution */

static enum ig_status conv_check(const char *op, const struct ig_tensor *x, const struct ig_tensor *w,
                                 const struct ig_tensor *y, struct ig_conv2d_params p)
{
    if (p.stride_h <= 0 || p.stride_w <= 0 || p.pad_h < 0 || p.pad_w < 0)
        return ig_error(IG_ERR_INVALID_ARG, "%s: stride %dx%d must be positive and padding %dx%d non-negative", op,
                        p.stride_h, p.stride_w, p.pad_h, p.pad_w);
    if (w->shape[1] != x->shape[1])
        return ig_error(IG_ERR_SHAPE, "%s: w has %lld input channels, x has %lld", op, (long long)w->shape[1], (long long)x->shape[1]);
    int64_t ho = ig_conv_out_size(x->shape[2], w->shape[2], p.stride_h, p.pad_h);
    int64_t wo = ig_conv_out_size(x->shape[3], w->shape[3], p.stride_w, p.pad_w);
    if (ho <= 0 || wo <= 0) return ig_error(IG_ERR_SHAPE, "%s: kernel larger than the padded input", op);
    const int64_t want[4] = {x->shape[0], w->shape[0], ho, wo};
    return dims_equal(op, "the output gradient or output", y, 4, want);
}

enum ig_status ig_conv2d_forward(struct ig_tensor *y, const struct ig_tensor *x, const struct ig_tensor *w,
                                 const struct ig_tensor *b, struct ig_conv2d_params p)
{
    const char *op = "conv2d_forward";
    IG_TRY(NEED_ALL(op, F32("x", x, 4), F32("w", w, 4), F32("y", y, 4)));
    if (b) {
        IG_TRY(need(op, "b", b, IG_DTYPE_F32, 1));
        IG_TRY(dims_equal(op, "b", b, 1, &w->shape[0]));
    }
    IG_TRY(conv_check(op, x, w, y, p));
    struct ig_op_call call = {.op = IG_OP_CONV2D_FWD, .t = {y, W(x), W(w), W(b)}, .p.conv = p};
    return run(op, &call);
}

/* The two backward convolutions without bias: out (dx or dw) from dy and the other operand (w or x). */
static enum ig_status conv_backward(enum ig_op opc, const char *op, struct ig_tensor *out, const char *out_name,
                                    const struct ig_tensor *dy, const struct ig_tensor *other, const char *other_name,
                                    bool out_is_x, struct ig_conv2d_params p)
{
    IG_TRY(NEED_ALL(op, F32(out_name, out, 4), F32("dy", dy, 4), F32(other_name, other, 4)));
    IG_TRY(conv_check(op, out_is_x ? out : other, out_is_x ? other : out, dy, p));
    struct ig_op_call call = {.op = opc, .t = {out, W(dy), W(other)}, .p.conv = p};
    return run(op, &call);
}

enum ig_status ig_conv2d_backward_data(struct ig_tensor *dx, const struct ig_tensor *dy, const struct ig_tensor *w,
                                       struct ig_conv2d_params p)
{
    return conv_backward(IG_OP_CONV2D_BWD_DATA, "conv2d_backward_data", dx, "dx", dy, w, "w", true, p);
}

enum ig_status ig_conv2d_backward_weight(struct ig_tensor *dw, const struct ig_tensor *dy, const struct ig_tensor *x,
                                         struct ig_conv2d_params p)
{
    return conv_backward(IG_OP_CONV2D_BWD_WEIGHT, "conv2d_backward_weight", dw, "dw", dy, x, "x", false, p);
}

enum ig_status ig_conv2d_backward_weight_persample(struct ig_tensor *dw, const struct ig_tensor *dy,
                                                   const struct ig_tensor *x, struct ig_conv2d_params p)
{
    const char *op = "conv2d_backward_weight_persample";
    IG_TRY(NEED_ALL(op, F32("dw", dw, 4), F32("dy", dy, 4), F32("x", x, 4)));
    int64_t N = x->shape[0], O = dy->shape[1];
    if (dw->shape[0] != N * O)
        return ig_error(IG_ERR_SHAPE, "%s: dw has %lld rows, expected N*O = %lld*%lld (one [O,C,KH,KW] block per instance)",
                        op, (long long)dw->shape[0], (long long)N, (long long)O);
    /* the checks of one instance's weight gradient, through a [O,C,KH,KW] view of dw's shape */
    struct ig_tensor w1 = *dw;
    w1.shape[0] = O;
    IG_TRY(conv_check(op, x, &w1, dy, p));
    struct ig_op_call call = {.op = IG_OP_CONV2D_BWD_WEIGHT_PERSAMPLE, .t = {dw, W(dy), W(x)}, .p.conv = p};
    return run(op, &call);
}

enum ig_status ig_conv2d_backward_bias(struct ig_tensor *db, const struct ig_tensor *dy)
{
    const char *op = "conv2d_backward_bias";
    IG_TRY(NEED_ALL(op, F32("db", db, 1), F32("dy", dy, 4)));
    IG_TRY(dims_equal(op, "db", db, 1, &dy->shape[1]));
    struct ig_op_call call = {.op = IG_OP_CONV2D_BWD_BIAS, .t = {db, W(dy)}};
    return run(op, &call);
}

/* ---------------------------------------------------------------- pooling, relu */

static enum ig_status pool_check(const char *op, const struct ig_tensor *x, const struct ig_tensor *y, struct ig_pool2d_params p)
{
    if (p.kernel <= 0 || p.stride <= 0)
        return ig_error(IG_ERR_INVALID_ARG, "%s: kernel %d and stride %d must be positive", op, p.kernel, p.stride);
    int64_t ho = ig_conv_out_size(x->shape[2], p.kernel, p.stride, 0), wo = ig_conv_out_size(x->shape[3], p.kernel, p.stride, 0);
    if (ho <= 0 || wo <= 0) return ig_error(IG_ERR_SHAPE, "%s: pooling window larger than the input", op);
    const int64_t want[4] = {x->shape[0], x->shape[1], ho, wo};
    return dims_equal(op, "the pooled tensor", y, 4, want);
}

enum ig_status ig_maxpool2d_forward(struct ig_tensor *y, struct ig_tensor *idx, const struct ig_tensor *x, struct ig_pool2d_params p)
{
    const char *op = "maxpool2d_forward";
    IG_TRY(NEED_ALL(op, F32("y", y, 4), {"idx", idx, IG_DTYPE_I32, 4}, F32("x", x, 4)));
    IG_TRY(pool_check(op, x, y, p));
    IG_TRY(same_shape(op, "idx", idx, "y", y));
    struct ig_op_call call = {.op = IG_OP_MAXPOOL2D_FWD, .t = {y, idx, W(x)}, .p.pool = p};
    return run(op, &call);
}

enum ig_status ig_maxpool2d_backward(struct ig_tensor *dx, const struct ig_tensor *dy, const struct ig_tensor *idx, struct ig_pool2d_params p)
{
    const char *op = "maxpool2d_backward";
    IG_TRY(NEED_ALL(op, F32("dx", dx, 4), F32("dy", dy, 4), {"idx", idx, IG_DTYPE_I32, 4}));
    IG_TRY(pool_check(op, dx, dy, p));
    IG_TRY(same_shape(op, "idx", idx, "dy", dy));
    struct ig_op_call call = {.op = IG_OP_MAXPOOL2D_BWD, .t = {dx, W(dy), W(idx)}, .p.pool = p};
    return run(op, &call);
}

enum ig_status ig_relu_forward(struct ig_tensor *y, const struct ig_tensor *x)
{
    IG_TRY(NEED_ALL("relu_forward", F32("y", y, ANY_DIMS), F32("x", x, ANY_DIMS)));
    IG_TRY(same_shape("relu_forward", "y", y, "x", x));
    struct ig_op_call call = {.op = IG_OP_RELU_FWD, .t = {y, W(x)}};
    return run("relu_forward", &call);
}

enum ig_status ig_relu_backward(struct ig_tensor *dx, const struct ig_tensor *dy, const struct ig_tensor *y)
{
    const char *op = "relu_backward";
    IG_TRY(NEED_ALL(op, F32("dx", dx, ANY_DIMS), F32("dy", dy, ANY_DIMS), F32("y", y, ANY_DIMS)));
    IG_TRY(same_shape(op, "dx", dx, "dy", dy));
    IG_TRY(same_shape(op, "y", y, "dy", dy));
    struct ig_op_call call = {.op = IG_OP_RELU_BWD, .t = {dx, W(dy), W(y)}};
    return run(op, &call);
}

/* ---------------------------------------------------------------- batch norm */

/* Each per-channel vector vs[i] (named names[i], the list ends at a NULL name) is f32 [C] for x [N, C, H, W]. */
static enum ig_status bn_vecs(const char *op, const struct ig_tensor *x, const char *const *names,
                              const struct ig_tensor *const *vs)
{
    for (int i = 0; names[i]; i++) {
        IG_TRY(need(op, names[i], vs[i], IG_DTYPE_F32, 1));
        IG_TRY(dims_equal(op, names[i], vs[i], 1, &x->shape[1]));
    }
    return IG_OK;
}

/* p is valid, x [N, C, H, W] and the other activation t (y, or dy) are f32 of one shape */
static enum ig_status bn_check(const char *op, struct ig_bn_params p, const struct ig_tensor *x, const char *t_name,
                               const struct ig_tensor *t)
{
    if (!(p.eps > 0.0f) || !(p.momentum >= 0.0f && p.momentum <= 1.0f))
        return ig_error(IG_ERR_INVALID_ARG, "%s: eps %g must be > 0 and momentum %g in [0,1]", op, (double)p.eps, (double)p.momentum);
    IG_TRY(NEED_ALL(op, F32("x", x, 4), F32(t_name, t, 4)));
    return same_shape(op, t_name, t, "x", x);
}

enum ig_status ig_batchnorm2d_forward_train(struct ig_tensor *y, const struct ig_tensor *x, const struct ig_tensor *gamma,
                                            const struct ig_tensor *beta, struct ig_tensor *running_mean,
                                            struct ig_tensor *running_var, struct ig_tensor *save_mean,
                                            struct ig_tensor *save_invstd, struct ig_bn_params p)
{
    const char *op = "batchnorm2d_forward_train";
    IG_TRY(bn_check(op, p, x, "y", y));
    IG_TRY(bn_vecs(op, x, (const char *const[]){"gamma", "beta", "running_mean", "running_var", "save_mean", "save_invstd", NULL},
                   (const struct ig_tensor *const[]){gamma, beta, running_mean, running_var, save_mean, save_invstd}));
    if (x->shape[0] * x->shape[2] * x->shape[3] < 2)
        return ig_error(IG_ERR_SHAPE, "%s: training needs more than one value per channel", op);
    struct ig_op_call call = {.op = IG_OP_BN2D_FWD_TRAIN,
                              .t = {y, W(x), W(gamma), W(beta), running_mean, running_var, save_mean, save_invstd},
                              .p.bn = p};
    return run(op, &call);
}

enum ig_status ig_batchnorm2d_forward_eval(struct ig_tensor *y, const struct ig_tensor *x, const struct ig_tensor *gamma,
                                           const struct ig_tensor *beta, const struct ig_tensor *running_mean,
                                           const struct ig_tensor *running_var, struct ig_bn_params p)
{
    const char *op = "batchnorm2d_forward_eval";
    IG_TRY(bn_check(op, p, x, "y", y));
    IG_TRY(bn_vecs(op, x, (const char *const[]){"gamma", "beta", "running_mean", "running_var", NULL},
                   (const struct ig_tensor *const[]){gamma, beta, running_mean, running_var}));
    struct ig_op_call call = {.op = IG_OP_BN2D_FWD_EVAL, .t = {y, W(x), W(gamma), W(beta), W(running_mean), W(running_var)}, .p.bn = p};
    return run(op, &call);
}

enum ig_status ig_batchnorm2d_backward(struct ig_tensor *dx, struct ig_tensor *dgamma, struct ig_tensor *dbeta,
                                       const struct ig_tensor *dy, const struct ig_tensor *x, const struct ig_tensor *gamma,
                                       const struct ig_tensor *save_mean, const struct ig_tensor *save_invstd,
                                       struct ig_bn_params p)
{
    const char *op = "batchnorm2d_backward";
    IG_TRY(bn_check(op, p, x, "dy", dy));
    IG_TRY(need(op, "dx", dx, IG_DTYPE_F32, 4));
    IG_TRY(same_shape(op, "dx", dx, "x", x));
    IG_TRY(bn_vecs(op, x, (const char *const[]){"dgamma", "dbeta", "gamma", "save_mean", "save_invstd", NULL},
                   (const struct ig_tensor *const[]){dgamma, dbeta, gamma, save_mean, save_invstd}));
    struct ig_op_call call = {.op = IG_OP_BN2D_BWD, .t = {dx, dgamma, dbeta, W(dy), W(x), W(gamma), W(save_mean), W(save_invstd)}, .p.bn = p};
    return run(op, &call);
}

/* ---------------------------------------------------------------- dropout, bias, softmax, loss */

enum ig_status ig_dropout_forward(struct ig_tensor *y, struct ig_tensor *mask, const struct ig_tensor *x, struct ig_dropout_params p)
{
    const char *op = "dropout_forward";
    if (!(p.p >= 0.0f && p.p < 1.0f)) return ig_error(IG_ERR_INVALID_ARG, "%s: p = %g, expected 0 <= p < 1", op, (double)p.p);
    IG_TRY(NEED_ALL(op, F32("x", x, p.per_channel ? 4 : ANY_DIMS), F32("y", y, ANY_DIMS), F32("mask", mask, ANY_DIMS)));
    IG_TRY(same_shape(op, "y", y, "x", x));
    IG_TRY(same_shape(op, "mask", mask, "x", x));
    struct ig_op_call call = {.op = IG_OP_DROPOUT_FWD, .t = {y, mask, W(x)}, .p.dropout = p};
    return run(op, &call);
}

enum ig_status ig_bias_add(struct ig_tensor *y, const struct ig_tensor *b)
{
    IG_TRY(NEED_ALL("bias_add", F32("y", y, ANY_DIMS), F32("b", b, 1)));
    if (y->ndim < 2) return ig_error(IG_ERR_SHAPE, "bias_add: y needs at least 2 dimensions [N,C,...]");
    IG_TRY(dims_equal("bias_add", "b", b, 1, &y->shape[1]));
    struct ig_op_call call = {.op = IG_OP_BIAS_ADD, .t = {y, W(b)}};
    return run("bias_add", &call);
}

static enum ig_status rows_op(enum ig_op opc, const char *op, struct ig_tensor *y, const struct ig_tensor *x)
{
    IG_TRY(NEED_ALL(op, F32("x", x, 2), F32("y", y, 2)));
    IG_TRY(same_shape(op, "y", y, "x", x));
    if (x->shape[1] < 1) return ig_error(IG_ERR_SHAPE, "%s: rows are empty", op);
    struct ig_op_call call = {.op = opc, .t = {y, W(x)}};
    return run(op, &call);
}

enum ig_status ig_softmax(struct ig_tensor *y, const struct ig_tensor *x) { return rows_op(IG_OP_SOFTMAX, "softmax", y, x); }
enum ig_status ig_log_softmax(struct ig_tensor *y, const struct ig_tensor *x) { return rows_op(IG_OP_LOG_SOFTMAX, "log_softmax", y, x); }

static enum ig_status xent_check(const char *op, const struct ig_tensor *loss, const char *loss_name,
                                 const struct ig_tensor *logits, const struct ig_tensor *labels, struct ig_xent_params p)
{
    IG_TRY(NEED_ALL(op, F32("logits", logits, 2), {"labels", labels, IG_DTYPE_I32, 1}));
    IG_TRY(dims_equal(op, "labels", labels, 1, &logits->shape[0]));
    if ((int)p.reduction < 0 || p.reduction > IG_REDUCTION_NONE)
        return ig_error(IG_ERR_INVALID_ARG, "%s: unknown reduction %d", op, (int)p.reduction);
    IG_TRY(need(op, loss_name, loss, IG_DTYPE_F32, 1));
    int64_t want = p.reduction == IG_REDUCTION_NONE ? logits->shape[0] : 1;
    return dims_equal(op, loss_name, loss, 1, &want);
}

enum ig_status ig_cross_entropy_forward(struct ig_tensor *loss, const struct ig_tensor *logits, const struct ig_tensor *labels,
                                        struct ig_xent_params p)
{
    const char *op = "cross_entropy_forward";
    IG_TRY(xent_check(op, loss, "loss", logits, labels, p));
    struct ig_op_call call = {.op = IG_OP_XENT_FWD, .t = {loss, W(logits), W(labels)}, .p.xent = p};
    return run(op, &call);
}

enum ig_status ig_cross_entropy_backward(struct ig_tensor *dlogits, const struct ig_tensor *logits, const struct ig_tensor *labels,
                                         const struct ig_tensor *dloss, struct ig_xent_params p)
{
    const char *op = "cross_entropy_backward";
    IG_TRY(xent_check(op, dloss, "dloss", logits, labels, p));
    IG_TRY(need(op, "dlogits", dlogits, IG_DTYPE_F32, 2));
    IG_TRY(same_shape(op, "dlogits", dlogits, "logits", logits));
    struct ig_op_call call = {.op = IG_OP_XENT_BWD, .t = {dlogits, W(logits), W(labels), W(dloss)}, .p.xent = p};
    return run(op, &call);
}

/* ---------------------------------------------------------------- reductions, elementwise */

static enum ig_status axis_op(enum ig_op opc, const char *op, struct ig_tensor *y, const struct ig_tensor *x, int axis)
{
    IG_TRY(need(op, "x", x, IG_DTYPE_F32, ANY_DIMS));
    IG_TRY(need(op, "y", y, IG_DTYPE_F32, x->ndim)); /* after x: reads x->ndim */
    if (axis < 0 || axis >= x->ndim) return ig_error(IG_ERR_INVALID_ARG, "%s: axis %d outside 0..%d", op, axis, x->ndim - 1);
    int64_t want[IG_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) want[i] = i == axis ? 1 : x->shape[i];
    IG_TRY(dims_equal(op, "y", y, x->ndim, want));
    struct ig_op_call call = {.op = opc, .t = {y, W(x)}, .p.axis = axis};
    return run(op, &call);
}

enum ig_status ig_sum_axis(struct ig_tensor *y, const struct ig_tensor *x, int axis) { return axis_op(IG_OP_SUM_AXIS, "sum_axis", y, x, axis); }
enum ig_status ig_mean_axis(struct ig_tensor *y, const struct ig_tensor *x, int axis) { return axis_op(IG_OP_MEAN_AXIS, "mean_axis", y, x, axis); }

static enum ig_status binary_op(enum ig_op opc, const char *op, struct ig_tensor *z, const struct ig_tensor *x, const struct ig_tensor *y)
{
    IG_TRY(NEED_ALL(op, F32("z", z, ANY_DIMS), F32("x", x, ANY_DIMS), F32("y", y, ANY_DIMS)));
    IG_TRY(same_shape(op, "x", x, "y", y));
    IG_TRY(same_shape(op, "z", z, "x", x));
    struct ig_op_call call = {.op = opc, .t = {z, W(x), W(y)}};
    return run(op, &call);
}

enum ig_status ig_add(struct ig_tensor *z, const struct ig_tensor *x, const struct ig_tensor *y) { return binary_op(IG_OP_ADD, "add", z, x, y); }
enum ig_status ig_sub(struct ig_tensor *z, const struct ig_tensor *x, const struct ig_tensor *y) { return binary_op(IG_OP_SUB, "sub", z, x, y); }
enum ig_status ig_mul(struct ig_tensor *z, const struct ig_tensor *x, const struct ig_tensor *y) { return binary_op(IG_OP_MUL, "mul", z, x, y); }

enum ig_status ig_scale(struct ig_tensor *y, const struct ig_tensor *x, float alpha)
{
    IG_TRY(NEED_ALL("scale", F32("y", y, ANY_DIMS), F32("x", x, ANY_DIMS)));
    IG_TRY(same_shape("scale", "y", y, "x", x));
    struct ig_op_call call = {.op = IG_OP_SCALE, .t = {y, W(x)}, .p.alpha = alpha};
    return run("scale", &call);
}

enum ig_status ig_axpy(struct ig_tensor *y, float alpha, const struct ig_tensor *x)
{
    IG_TRY(NEED_ALL("axpy", F32("y", y, ANY_DIMS), F32("x", x, ANY_DIMS)));
    if (ig_tensor_numel(x) != ig_tensor_numel(y)) return same_shape("axpy", "y", y, "x", x);
    struct ig_op_call call = {.op = IG_OP_AXPY, .t = {y, W(x)}, .p.alpha = alpha};
    return run("axpy", &call);
}

enum ig_status ig_argmax_rows(struct ig_tensor *out, const struct ig_tensor *x)
{
    IG_TRY(NEED_ALL("argmax_rows", F32("x", x, 2), {"out", out, IG_DTYPE_I32, 1}));
    IG_TRY(dims_equal("argmax_rows", "out", out, 1, &x->shape[0]));
    if (x->shape[1] < 1) return ig_error(IG_ERR_SHAPE, "argmax_rows: rows are empty");
    struct ig_op_call call = {.op = IG_OP_ARGMAX_ROWS, .t = {out, W(x)}};
    return run("argmax_rows", &call);
}

enum ig_status ig_normalize_u8(struct ig_tensor *y, const struct ig_tensor *x, struct ig_norm_params p)
{
    const char *op = "normalize_u8";
    IG_TRY(NEED_ALL(op, {"x", x, IG_DTYPE_U8, 4}, F32("y", y, 4)));
    IG_TRY(same_shape(op, "y", y, "x", x));
    if (x->shape[1] > 4) return ig_error(IG_ERR_SHAPE, "%s: %lld channels, at most 4 supported", op, (long long)x->shape[1]);
    for (int c = 0; c < x->shape[1]; c++)
        if (!(p.std[c] > 0.0f) || !isfinite(p.mean[c]))
            return ig_error(IG_ERR_INVALID_ARG, "%s: channel %d has std %g (must be > 0) or non-finite mean", op, c, (double)p.std[c]);
    struct ig_op_call call = {.op = IG_OP_NORMALIZE_U8, .t = {y, W(x)}, .p.norm = p};
    return run(op, &call);
}

enum ig_status ig_adam_step(struct ig_tensor *param, const struct ig_tensor *grad, struct ig_tensor *m, struct ig_tensor *v,
                            struct ig_adam_params p)
{
    const char *op = "adam_step";
    IG_TRY(NEED_ALL(op, F32("param", param, ANY_DIMS), F32("grad", grad, ANY_DIMS), F32("m", m, ANY_DIMS),
                    F32("v", v, ANY_DIMS)));
    IG_TRY(same_shape(op, "grad", grad, "param", param));
    IG_TRY(same_shape(op, "m", m, "param", param));
    IG_TRY(same_shape(op, "v", v, "param", param));
    if (p.step < 1 || !(p.lr >= 0.0f) || !(p.beta1 >= 0.0f && p.beta1 < 1.0f) || !(p.beta2 >= 0.0f && p.beta2 < 1.0f) ||
        !(p.eps >= 0.0f) || !(p.weight_decay >= 0.0f))
        return ig_error(IG_ERR_INVALID_ARG, "%s: need step >= 1, lr >= 0, betas in [0,1), eps >= 0, weight_decay >= 0", op);
    struct ig_op_call call = {.op = IG_OP_ADAM_STEP, .t = {param, W(grad), m, v}, .p.adam = p};
    return run(op, &call);
}

enum ig_status ig_sgd_step(struct ig_tensor *param, const struct ig_tensor *grad, struct ig_tensor *momentum_buf, struct ig_sgd_params p)
{
    const char *op = "sgd_step";
    IG_TRY(NEED_ALL(op, F32("param", param, ANY_DIMS), F32("grad", grad, ANY_DIMS)));
    IG_TRY(same_shape(op, "grad", grad, "param", param));
    if (!(p.lr >= 0.0f) || !(p.momentum >= 0.0f) || !(p.weight_decay >= 0.0f))
        return ig_error(IG_ERR_INVALID_ARG, "%s: need lr, momentum and weight_decay >= 0", op);
    if (p.nesterov && (p.momentum <= 0.0f || p.dampening != 0.0f))
        return ig_error(IG_ERR_INVALID_ARG, "%s: nesterov needs momentum > 0 and dampening 0", op);
    if (p.momentum != 0.0f) {
        IG_TRY(need(op, "momentum_buf", momentum_buf, IG_DTYPE_F32, ANY_DIMS));
        IG_TRY(same_shape(op, "momentum_buf", momentum_buf, "param", param));
    } else {
        momentum_buf = NULL;
    }
    struct ig_op_call call = {.op = IG_OP_SGD_STEP, .t = {param, W(grad), momentum_buf}, .p.sgd = p};
    return run(op, &call);
}

enum ig_status ig_fill(struct ig_tensor *y, float value)
{
    if (!y) return ig_error(IG_ERR_INVALID_ARG, "fill: y is NULL");
    IG_TRY(need("fill", "y", y, y->dtype, ANY_DIMS));
    struct ig_op_call call = {.op = IG_OP_FILL, .t = {y}, .p.alpha = value};
    return run("fill", &call);
}

enum ig_status ig_row_sqnorm(struct ig_tensor *out, const struct ig_tensor *x)
{
    IG_TRY(NEED_ALL("row_sqnorm", F32("x", x, 2), F32("out", out, 1)));
    IG_TRY(dims_equal("row_sqnorm", "out", out, 1, &x->shape[0]));
    struct ig_op_call call = {.op = IG_OP_ROW_SQNORM, .t = {out, W(x)}};
    return run("row_sqnorm", &call);
}

enum ig_status ig_row_dot(struct ig_tensor *out, const struct ig_tensor *x, const struct ig_tensor *v)
{
    IG_TRY(NEED_ALL("row_dot", F32("x", x, 2), F32("v", v, 1), F32("out", out, 1)));
    IG_TRY(dims_equal("row_dot", "out", out, 1, &x->shape[0]));
    IG_TRY(dims_equal("row_dot", "v", v, 1, &x->shape[1]));
    struct ig_op_call call = {.op = IG_OP_ROW_DOT, .t = {out, W(x), W(v)}};
    return run("row_dot", &call);
}
