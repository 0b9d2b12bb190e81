/* OpenCL kernels of every non-GEMM/conv op: launch wrappers mapping struct ig_op_call slots to kernels/NAME.cl. */
#include "ig_cl.h"
#include <math.h>

/* The ops below index tensors flat from their element offset: every slot must be contiguous. */
static enum ig_status need_contiguous(const struct ig_op_call *c, int nslots)
{
    for (int i = 0; i < nslots; i++)
        if (c->t[i] && !ig_tensor_is_contiguous(c->t[i]))
            return ig_error(IG_ERR_LAYOUT, "%s (opencl): tensor slot %d must be contiguous", ig_op_name(c->op), i);
    return IG_OK;
}

static int64_t numel(const struct ig_tensor *t) { return ig_tensor_numel(t); }

/* [N, C, rest] view of a tensor with ndim >= 2 (ndim 1: N = 1). */
static void nc_rest(const struct ig_tensor *t, int64_t *N, int64_t *C, int64_t *rest)
{
    if (t->ndim >= 2) {
        *N = t->shape[0];
        *C = t->shape[1];
    } else {
        *N = 1;
        *C = t->ndim == 1 ? t->shape[0] : 1;
    }
    *rest = (*N != 0 && *C != 0) ? numel(t) / ((*N) * (*C)) : 0;
}

/* [rows, M] view: rows = shape[0], M = the rest. */
static void rows_cols(const struct ig_tensor *t, int64_t *rows, int64_t *M)
{
    *rows = t->ndim ? t->shape[0] : 1;
    *M = *rows ? numel(t) / *rows : 0;
}

/* ---------------------------------------------------------------- elementwise */

enum ig_status ig_cl_op_relu_fwd(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 2));
    int64_t n = numel(c->t[1]);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_relu_fwd);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

enum ig_status ig_cl_op_relu_bwd(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 3));
    int64_t n = numel(c->t[1]);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_relu_bwd);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_t(&L, c->t[2]);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

static enum ig_status binary(struct ig_backend *be, const struct ig_op_call *c, enum ig_cl_kid kid)
{
    IG_TRY(need_contiguous(c, 3));
    int64_t n = numel(c->t[0]);
    struct ig_cl_launch L = ig_cl_begin(be, kid);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_t(&L, c->t[2]);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

enum ig_status ig_cl_op_add(struct ig_backend *be, const struct ig_op_call *c) { return binary(be, c, IG_CLK_add_f); }
enum ig_status ig_cl_op_sub(struct ig_backend *be, const struct ig_op_call *c) { return binary(be, c, IG_CLK_sub_f); }
enum ig_status ig_cl_op_mul(struct ig_backend *be, const struct ig_op_call *c) { return binary(be, c, IG_CLK_mul_f); }

static enum ig_status scaled(struct ig_backend *be, const struct ig_op_call *c, enum ig_cl_kid kid)
{
    IG_TRY(need_contiguous(c, 2));
    int64_t n = numel(c->t[0]);
    struct ig_cl_launch L = ig_cl_begin(be, kid);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_f(&L, c->p.alpha);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

enum ig_status ig_cl_op_scale(struct ig_backend *be, const struct ig_op_call *c) { return scaled(be, c, IG_CLK_scale_f); }
enum ig_status ig_cl_op_axpy(struct ig_backend *be, const struct ig_op_call *c) { return scaled(be, c, IG_CLK_axpy_f); }

/* y[N,C,...] += b[C] */
enum ig_status ig_cl_op_bias_add(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 2));
    int64_t N, C, inner;
    nc_rest(c->t[0], &N, &C, &inner);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_bias_add);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_i(&L, C);
    ig_cl_arg_i(&L, inner);
    return ig_cl_run3(&L, inner, C, N);
}

/* t0 y, t1 mask, t2 x */
enum ig_status ig_cl_op_dropout_fwd(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 3));
    const struct ig_dropout_params *p = &c->p.dropout;
    const struct ig_tensor *x = c->t[2];
    int64_t n = numel(x), group = 1;
    if (p->per_channel) {
        int64_t N, C;
        nc_rest(x, &N, &C, &group);
        if (group == 0) group = 1;
    }
    float scale = p->p < 1.0f ? 1.0f / (1.0f - p->p) : 0.0f;
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_dropout_fwd);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_t(&L, x);
    ig_cl_arg_u64(&L, p->seed);
    ig_cl_arg_u64(&L, p->counter);
    ig_cl_arg_f(&L, p->p);
    ig_cl_arg_f(&L, scale);
    ig_cl_arg_i(&L, group);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

/* t0 y f32[N,C,H,W], t1 x u8 */
enum ig_status ig_cl_op_normalize_u8(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 2));
    int64_t N, C, hw;
    nc_rest(c->t[1], &N, &C, &hw);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_normalize_u8);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_i(&L, C);
    ig_cl_arg_i(&L, hw);
    ig_cl_arg_f4(&L, c->p.norm.mean);
    ig_cl_arg_f4(&L, c->p.norm.std);
    return ig_cl_run3(&L, hw, C, N);
}

/* t0 dst contiguous, t1 src with any strides */
enum ig_status ig_cl_op_copy(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 1));
    const struct ig_tensor *s = c->t[1];
    size_t es = ig_dtype_size(s->dtype);
    if (es != 4 && es != 1) return ig_error(IG_ERR_DTYPE, "copy (opencl): dtype %s not supported", ig_dtype_name(s->dtype));
    int64_t shape[4] = {1, 1, 1, 1}, stride[4] = {0, 0, 0, 0};
    for (int i = 0; i < s->ndim; i++) {
        shape[4 - s->ndim + i] = s->shape[i];
        stride[4 - s->ndim + i] = s->stride[i];
    }
    int64_t n = numel(s);
    struct ig_cl_launch L = ig_cl_begin(be, es == 4 ? IG_CLK_copy_strided4 : IG_CLK_copy_strided1);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, s);
    for (int i = 1; i < 4; i++) ig_cl_arg_i(&L, shape[i]);
    for (int i = 0; i < 4; i++) ig_cl_arg_i(&L, stride[i]);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

/* t0 y of any dtype = alpha (converted) */
enum ig_status ig_cl_op_fill(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 1));
    const struct ig_tensor *y = c->t[0];
    size_t n = (size_t)numel(y), off = (size_t)y->offset;
    float v = c->p.alpha;
    switch (y->dtype) {
    case IG_DTYPE_F32: return ig_cl_fill(be, ig_cl_mem(y), 4, off, n, &v);
    case IG_DTYPE_I32: {
        cl_int i = (cl_int)v;
        return ig_cl_fill(be, ig_cl_mem(y), 4, off, n, &i);
    }
    case IG_DTYPE_U8: {
        cl_uchar u = (cl_uchar)v;
        return ig_cl_fill(be, ig_cl_mem(y), 1, off, n, &u);
    }
    default: return ig_error(IG_ERR_DTYPE, "fill (opencl): unknown dtype");
    }
}

/* ---------------------------------------------------------------- optimizers */

/* t0 param, t1 grad, t2 m, t3 v */
enum ig_status ig_cl_op_adam_step(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 4));
    const struct ig_adam_params *p = &c->p.adam;
    int64_t n = numel(c->t[0]);
    double t = (double)(p->step < 1 ? 1 : p->step);
    float bc1 = (float)(1.0 - pow((double)p->beta1, t));
    float bc2 = (float)(1.0 - pow((double)p->beta2, t));
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_adam_step);
    for (int i = 0; i < 4; i++) ig_cl_arg_t(&L, c->t[i]);
    ig_cl_arg_f(&L, p->lr);
    ig_cl_arg_f(&L, p->beta1);
    ig_cl_arg_f(&L, p->beta2);
    ig_cl_arg_f(&L, p->eps);
    ig_cl_arg_f(&L, p->weight_decay);
    ig_cl_arg_f(&L, bc1);
    ig_cl_arg_f(&L, bc2);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

/* t0 param, t1 grad, t2 momentum buffer or NULL */
enum ig_status ig_cl_op_sgd_step(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 3));
    const struct ig_sgd_params *p = &c->p.sgd;
    int64_t n = numel(c->t[0]);
    bool has_buf = p->momentum != 0.0f && c->t[2];
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_sgd_step);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_t(&L, has_buf ? c->t[2] : NULL);
    ig_cl_arg_f(&L, p->lr);
    ig_cl_arg_f(&L, p->momentum);
    ig_cl_arg_f(&L, p->dampening);
    ig_cl_arg_f(&L, p->weight_decay);
    ig_cl_arg_i(&L, p->nesterov);
    ig_cl_arg_i(&L, p->first_step);
    ig_cl_arg_i(&L, has_buf);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

/* ---------------------------------------------------------------- reductions */

static enum ig_status axis_reduce(struct ig_backend *be, const struct ig_op_call *c, bool mean)
{
    IG_TRY(need_contiguous(c, 2));
    const struct ig_tensor *x = c->t[1];
    int axis = c->p.axis < 0 ? c->p.axis + x->ndim : c->p.axis;
    if (axis < 0 || axis >= x->ndim) return ig_error(IG_ERR_INVALID_ARG, "%s (opencl): axis %d outside a %d-D tensor", ig_op_name(c->op), c->p.axis, x->ndim);
    int64_t len = x->shape[axis], inner = 1;
    for (int i = axis + 1; i < x->ndim; i++) inner *= x->shape[i];
    int64_t n = numel(c->t[0]);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_sum_axis);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, x);
    ig_cl_arg_i(&L, len);
    ig_cl_arg_i(&L, inner);
    ig_cl_arg_f(&L, mean ? (len ? 1.0f / (float)len : NAN) : 1.0f);
    ig_cl_arg_i(&L, n);
    return ig_cl_run(&L, n, 0);
}

enum ig_status ig_cl_op_sum_axis(struct ig_backend *be, const struct ig_op_call *c) { return axis_reduce(be, c, false); }
enum ig_status ig_cl_op_mean_axis(struct ig_backend *be, const struct ig_op_call *c) { return axis_reduce(be, c, true); }

/* t0 out[N], t1 x[N,M] */
enum ig_status ig_cl_op_row_sqnorm(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 2));
    int64_t N, M;
    rows_cols(c->t[1], &N, &M);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_row_sqnorm);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_i(&L, M);
    return ig_cl_run_groups(&L, N);
}

/* t0 out[N], t1 x[N,M], t2 v[M] */
enum ig_status ig_cl_op_row_dot(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 3));
    int64_t N, M;
    rows_cols(c->t[1], &N, &M);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_row_dot);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_t(&L, c->t[2]);
    ig_cl_arg_i(&L, M);
    return ig_cl_run_groups(&L, N);
}

/* t0 out i32[N], t1 x[N,M] */
enum ig_status ig_cl_op_argmax_rows(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 2));
    int64_t N, M;
    rows_cols(c->t[1], &N, &M);
    if (M == 0) return ig_error(IG_ERR_SHAPE, "argmax_rows (opencl): rows are empty");
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_argmax_rows);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_i(&L, M);
    ig_cl_arg_i(&L, N);
    return ig_cl_run(&L, N, 0);
}

/* ---------------------------------------------------------------- softmax and cross-entropy */

static enum ig_status softmax_any(struct ig_backend *be, const struct ig_op_call *c, int logmode)
{
    IG_TRY(need_contiguous(c, 2));
    int64_t N, M;
    rows_cols(c->t[1], &N, &M);
    if (M == 0) return IG_OK;
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_softmax_rows);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_i(&L, M);
    ig_cl_arg_i(&L, N);
    ig_cl_arg_i(&L, logmode);
    return ig_cl_run(&L, N, 0);
}

enum ig_status ig_cl_op_softmax(struct ig_backend *be, const struct ig_op_call *c) { return softmax_any(be, c, 0); }
enum ig_status ig_cl_op_log_softmax(struct ig_backend *be, const struct ig_op_call *c) { return softmax_any(be, c, 1); }

/* t0 loss [1] or [N], t1 logits[N,M], t2 labels i32[N] */
enum ig_status ig_cl_op_xent_fwd(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 3));
    int64_t N, M;
    rows_cols(c->t[1], &N, &M);
    enum ig_reduction red = c->p.xent.reduction;
    struct ig_cl *cl = ig_cl_of(be);
    if (!cl->xent_flag) {
        cl_int err, zero = 0;
        cl->xent_flag = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof zero, &zero, &err);
        if (err != CL_SUCCESS) return ig_cl_fail(err, "clCreateBuffer(cross-entropy label flag)");
        cl->live_mems++;
    }
    cl_mem rows = ig_cl_mem(c->t[0]);
    int64_t rows_off = c->t[0]->offset;
    if (red != IG_REDUCTION_NONE) {
        rows = ig_cl_scratch(be, IG_CL_SCRATCH_TMP, (size_t)(N ? N : 1) * sizeof(float));
        if (!rows) return IG_ERR_OOM;
        rows_off = 0;
    }
    if (M > 0) {
        struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_xent_rows);
        ig_cl_arg_buf(&L, rows);
        ig_cl_arg_i(&L, rows_off);
        ig_cl_arg_t(&L, c->t[1]);
        ig_cl_arg_t(&L, c->t[2]);
        ig_cl_arg_i(&L, M);
        ig_cl_arg_i(&L, N);
        ig_cl_arg_buf(&L, cl->xent_flag);
        IG_TRY(ig_cl_run(&L, N, 0));
        /* the flag comes back without blocking; the next blocking read (the loss) checks it */
        IG_CL_TRY(clEnqueueReadBuffer(cl->queue, cl->xent_flag, CL_FALSE, 0, sizeof cl->xent_flag_host, &cl->xent_flag_host,
                                      0, NULL, NULL),
                  "cross-entropy: reading the label flag");
        cl->xent_pending = true;
    }
    if (red == IG_REDUCTION_NONE) return IG_OK;
    /* one work-group sums the N row losses into loss[0] */
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_row_sum);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_buf(&L, rows);
    ig_cl_arg_i(&L, 0);
    ig_cl_arg_i(&L, M > 0 ? N : 0);
    ig_cl_arg_f(&L, red == IG_REDUCTION_MEAN ? (N ? 1.0f / (float)N : NAN) : 1.0f);
    return ig_cl_run_groups(&L, 1);
}

/* t0 dlogits[N,M], t1 logits, t2 labels, t3 dloss [1] or [N] */
enum ig_status ig_cl_op_xent_bwd(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 4));
    int64_t N, M;
    rows_cols(c->t[1], &N, &M);
    if (M == 0) return IG_OK;
    enum ig_reduction red = c->p.xent.reduction;
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_xent_bwd);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_t(&L, c->t[2]);
    ig_cl_arg_t(&L, c->t[3]);
    ig_cl_arg_f(&L, red == IG_REDUCTION_MEAN ? (N ? 1.0f / (float)N : 0.0f) : 1.0f);
    ig_cl_arg_i(&L, red == IG_REDUCTION_NONE);
    ig_cl_arg_i(&L, M);
    ig_cl_arg_i(&L, N);
    return ig_cl_run(&L, N, 0);
}

/* ---------------------------------------------------------------- pooling */

/* t0 y[N,C,Ho,Wo], t1 idx i32, t2 x[N,C,H,W] */
enum ig_status ig_cl_op_maxpool2d_fwd(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 3));
    const struct ig_tensor *y = c->t[0], *x = c->t[2];
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_maxpool_fwd);
    ig_cl_arg_t(&L, y);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_t(&L, x);
    ig_cl_arg_i(&L, x->shape[2]);
    ig_cl_arg_i(&L, x->shape[3]);
    ig_cl_arg_i(&L, y->shape[2]);
    ig_cl_arg_i(&L, y->shape[3]);
    ig_cl_arg_i(&L, c->p.pool.kernel);
    ig_cl_arg_i(&L, c->p.pool.stride);
    return ig_cl_run3(&L, y->shape[3], y->shape[2], y->shape[0] * y->shape[1]);
}

/* t0 dx[N,C,H,W], t1 dy[N,C,Ho,Wo], t2 idx */
enum ig_status ig_cl_op_maxpool2d_bwd(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 3));
    const struct ig_tensor *dx = c->t[0], *dy = c->t[1];
    int64_t n = numel(dx);
    if (dy->shape[2] == 0 || dy->shape[3] == 0) {
        float z = 0.0f;
        return ig_cl_fill(be, ig_cl_mem(dx), 4, (size_t)dx->offset, (size_t)n, &z);
    }
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_maxpool_bwd);
    ig_cl_arg_t(&L, dx);
    ig_cl_arg_t(&L, dy);
    ig_cl_arg_t(&L, c->t[2]);
    ig_cl_arg_i(&L, dx->shape[2]);
    ig_cl_arg_i(&L, dx->shape[3]);
    ig_cl_arg_i(&L, dy->shape[2]);
    ig_cl_arg_i(&L, dy->shape[3]);
    ig_cl_arg_i(&L, c->p.pool.kernel);
    ig_cl_arg_i(&L, c->p.pool.stride);
    return ig_cl_run3(&L, dx->shape[3], dx->shape[2], dx->shape[0] * dx->shape[1]);
}

/* ---------------------------------------------------------------- batch norm */

/* t0 y, t1 x, t2 gamma, t3 beta, t4 running_mean, t5 running_var, t6 save_mean, t7 save_invstd */
enum ig_status ig_cl_op_bn2d_fwd_train(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 8));
    int64_t N, C, HW;
    nc_rest(c->t[1], &N, &C, &HW);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_bn_stats);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_i(&L, N);
    ig_cl_arg_i(&L, C);
    ig_cl_arg_i(&L, HW);
    for (int i = 4; i < 8; i++) ig_cl_arg_t(&L, c->t[i]);
    ig_cl_arg_f(&L, c->p.bn.momentum);
    ig_cl_arg_f(&L, c->p.bn.eps);
    IG_TRY(ig_cl_run_groups(&L, C));
    L = ig_cl_begin(be, IG_CLK_bn_apply);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[1]);
    ig_cl_arg_t(&L, c->t[2]);
    ig_cl_arg_t(&L, c->t[3]);
    ig_cl_arg_t(&L, c->t[6]);
    ig_cl_arg_t(&L, c->t[7]);
    ig_cl_arg_i(&L, C);
    ig_cl_arg_i(&L, HW);
    ig_cl_arg_i(&L, 0);
    ig_cl_arg_f(&L, c->p.bn.eps);
    return ig_cl_run3(&L, HW, C, N);
}

/* t0 y, t1 x, t2 gamma, t3 beta, t4 running_mean, t5 running_var */
enum ig_status ig_cl_op_bn2d_fwd_eval(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 6));
    int64_t N, C, HW;
    nc_rest(c->t[1], &N, &C, &HW);
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_bn_apply);
    for (int i = 0; i < 6; i++) ig_cl_arg_t(&L, c->t[i]);
    ig_cl_arg_i(&L, C);
    ig_cl_arg_i(&L, HW);
    ig_cl_arg_i(&L, 1);
    ig_cl_arg_f(&L, c->p.bn.eps);
    return ig_cl_run3(&L, HW, C, N);
}

/* t0 dx, t1 dgamma[C], t2 dbeta[C], t3 dy, t4 x, t5 gamma, t6 save_mean, t7 save_invstd */
enum ig_status ig_cl_op_bn2d_bwd(struct ig_backend *be, const struct ig_op_call *c)
{
    IG_TRY(need_contiguous(c, 8));
    int64_t N, C, HW;
    nc_rest(c->t[4], &N, &C, &HW);
    /* dgamma/dbeta may be NULL (frozen affine): reduce into scratch then */
    cl_mem sg = NULL, sb = NULL;
    int64_t og = 0, ob = 0;
    if (c->t[1]) { sg = ig_cl_mem(c->t[1]); og = c->t[1]->offset; }
    if (c->t[2]) { sb = ig_cl_mem(c->t[2]); ob = c->t[2]->offset; }
    if (!sg || !sb) {
        cl_mem s = ig_cl_scratch(be, IG_CL_SCRATCH_TMP, (size_t)(2 * C + 1) * sizeof(float));
        if (!s) return IG_ERR_OOM;
        if (!sg) { sg = s; og = 0; }
        if (!sb) { sb = s; ob = C; }
    }
    struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_bn_bwd_reduce);
    ig_cl_arg_buf(&L, sg);
    ig_cl_arg_i(&L, og);
    ig_cl_arg_buf(&L, sb);
    ig_cl_arg_i(&L, ob);
    ig_cl_arg_t(&L, c->t[3]);
    ig_cl_arg_t(&L, c->t[4]);
    ig_cl_arg_t(&L, c->t[6]);
    ig_cl_arg_t(&L, c->t[7]);
    ig_cl_arg_i(&L, N);
    ig_cl_arg_i(&L, C);
    ig_cl_arg_i(&L, HW);
    IG_TRY(ig_cl_run_groups(&L, C));
    if (!c->t[0]) return IG_OK;
    L = ig_cl_begin(be, IG_CLK_bn_bwd_dx);
    ig_cl_arg_t(&L, c->t[0]);
    ig_cl_arg_t(&L, c->t[3]);
    ig_cl_arg_t(&L, c->t[4]);
    ig_cl_arg_t(&L, c->t[5]);
    ig_cl_arg_t(&L, c->t[6]);
    ig_cl_arg_t(&L, c->t[7]);
    ig_cl_arg_buf(&L, sg);
    ig_cl_arg_i(&L, og);
    ig_cl_arg_buf(&L, sb);
    ig_cl_arg_i(&L, ob);
    ig_cl_arg_i(&L, C);
    ig_cl_arg_i(&L, HW);
    ig_cl_arg_f(&L, (float)(N * HW));
    return ig_cl_run3(&L, HW, C, N);
}
