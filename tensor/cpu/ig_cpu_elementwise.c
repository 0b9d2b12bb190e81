/* CPU elementwise kernels (OpenMP, vectorisable loops): relu, dropout, bias add, add/sub/mul/scale/axpy, copy, fill. */
#include "ig_cpu_util.h"
#include <string.h>

/* The kernels below are one flat loop over n contiguous elements each: out[i] = EXPR, where EXPR may read
 * x[i] (t[1]), a second input y[i] (t[2], MAP2 only) and the scalar a (p.alpha, MAP1 only). The loop and its
 * OpenMP clause are the same for all of them; only the expression differs. */
#define IG_CPU_MAP1(fn, expr)                                                                                   \
    enum ig_status IG_ISA_FN(fn)(struct ig_backend *be, const struct ig_op_call *call)                          \
    {                                                                                                           \
        (void)be;                                                                                               \
        float *out = ig_cpu_f32(call->t[0]);                                                                    \
        const float *x = ig_cpu_f32(call->t[1]);                                                                \
        float a = call->p.alpha;                                                                                \
        (void)a;                                                                                                \
        int64_t n = ig_cpu_numel(call->t[0]);                                                                   \
        IG_OMP(omp parallel for simd schedule(dynamic, 8192) if (n > IG_CPU_PAR_MIN))                           \
        for (int64_t i = 0; i < n; i++) out[i] = (expr);                                                        \
        return IG_OK;                                                                                           \
    }
#define IG_CPU_MAP2(fn, expr)                                                                                   \
    enum ig_status IG_ISA_FN(fn)(struct ig_backend *be, const struct ig_op_call *call)                          \
    {                                                                                                           \
        (void)be;                                                                                               \
        float *out = ig_cpu_f32(call->t[0]);                                                                    \
        const float *x = ig_cpu_f32(call->t[1]), *y = ig_cpu_f32(call->t[2]);                                   \
        int64_t n = ig_cpu_numel(call->t[0]);                                                                   \
        IG_OMP(omp parallel for simd schedule(dynamic, 8192) if (n > IG_CPU_PAR_MIN))                           \
        for (int64_t i = 0; i < n; i++) out[i] = (expr);                                                        \
        return IG_OK;                                                                                           \
    }

IG_CPU_MAP1(ig_cpu_relu_fwd, x[i] > 0.0f ? x[i] : 0.0f)
/* relu_bwd: t[1] = dy, t[2] = y (the forward output) */
IG_CPU_MAP2(ig_cpu_relu_bwd, y[i] > 0.0f ? x[i] : 0.0f)

enum ig_status IG_ISA_FN(ig_cpu_dropout_fwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_dropout_params *p = &call->p.dropout;
    float *y = ig_cpu_f32(call->t[0]), *mask = ig_cpu_f32(call->t[1]);
    const struct ig_tensor *X = call->t[2];
    const float *x = ig_cpu_f32(X);
    int64_t n = ig_cpu_numel(X);
    float keep = p->p < 1.0f ? 1.0f / (1.0f - p->p) : 0.0f;
    if (p->per_channel) {
        int64_t per = X->shape[2] * X->shape[3], planes = X->shape[0] * X->shape[1];
        IG_OMP(omp parallel for schedule(dynamic, 16) if (n > IG_CPU_PAR_MIN))
        for (int64_t q = 0; q < planes; q++) {
            float m = ig_hash_uniform(p->seed, p->counter + (uint64_t)q) >= p->p ? keep : 0.0f;
            for (int64_t i = q * per; i < (q + 1) * per; i++) {
                mask[i] = m;
                y[i] = x[i] * m;
            }
        }
        return IG_OK;
    }
    IG_OMP(omp parallel for schedule(dynamic, 8192) if (n > IG_CPU_PAR_MIN / 4))
    for (int64_t i = 0; i < n; i++) {
        float m = ig_hash_uniform(p->seed, p->counter + (uint64_t)i) >= p->p ? keep : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_bias_add)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_tensor *Y = call->t[0];
    float *y = ig_cpu_f32(Y);
    const float *b = ig_cpu_f32(call->t[1]);
    int64_t N = Y->shape[0], C = Y->shape[1], inner = 1;
    for (int d = 2; d < Y->ndim; d++) inner *= Y->shape[d];
    IG_OMP(omp parallel for schedule(dynamic, 1) if (N * C * inner > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            float *yp = y + (n * C + c) * inner;
            for (int64_t i = 0; i < inner; i++) yp[i] += b[c];
        }
    return IG_OK;
}

IG_CPU_MAP2(ig_cpu_add, x[i] + y[i])
IG_CPU_MAP2(ig_cpu_sub, x[i] - y[i])
IG_CPU_MAP2(ig_cpu_mul, x[i] * y[i])
IG_CPU_MAP1(ig_cpu_scale, a * x[i])
IG_CPU_MAP1(ig_cpu_axpy, out[i] + a * x[i])

enum ig_status IG_ISA_FN(ig_cpu_copy)(struct ig_backend *be, const struct ig_op_call *call)
{
    const struct ig_tensor *D = call->t[0], *S = call->t[1];
    size_t es = ig_dtype_size(S->dtype);
    char *d = (char *)D->buf->mem + D->offset * (int64_t)es;
    const char *s = (const char *)S->buf->mem + S->offset * (int64_t)es;
    int64_t n = ig_cpu_numel(S);
    if (ig_tensor_is_contiguous(S)) {
        memmove(d, s, (size_t)n * es);
        return IG_OK;
    }
    if (S->ndim < 1 || es != 4) return ig_cpu_ref_copy(be, call);
    /* 4-byte elements: walk rows of the last dimension, outer index decomposed once per row */
    int64_t last = S->shape[S->ndim - 1], rows = last ? n / last : 0, ls = S->stride[S->ndim - 1];
    const uint32_t *src = (const uint32_t *)(const void *)s;
    uint32_t *dst = (uint32_t *)(void *)d;
    IG_OMP(omp parallel for schedule(dynamic, 64) if (n > IG_CPU_PAR_MIN))
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r, off = 0;
        for (int k = S->ndim - 2; k >= 0; k--) {
            off += (rem % S->shape[k]) * S->stride[k];
            rem /= S->shape[k];
        }
        for (int64_t j = 0; j < last; j++) dst[r * last + j] = src[off + j * ls];
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_fill)(struct ig_backend *be, const struct ig_op_call *call)
{
    const struct ig_tensor *Y = call->t[0];
    int64_t n = ig_cpu_numel(Y);
    float v = call->p.alpha;
    if (Y->dtype == IG_DTYPE_F32) {
        float *y = ig_cpu_f32(Y);
        IG_OMP(omp parallel for simd schedule(dynamic, 8192) if (n > IG_CPU_PAR_MIN))
        for (int64_t i = 0; i < n; i++) y[i] = v;
        return IG_OK;
    }
    return ig_cpu_ref_fill(be, call);
}
