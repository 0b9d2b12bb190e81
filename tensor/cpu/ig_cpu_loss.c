/* CPU row kernels of the classifier head: softmax, log-softmax, cross-entropy forward/backward, argmax. */
#include "ig_cpu_util.h"
#include <math.h>

static float row_max(const float *x, int64_t M)
{
    float m = -INFINITY;
    for (int64_t j = 0; j < M; j++) m = x[j] > m ? x[j] : m;
    return m;
}

/* log(sum exp(x)) of one row, stable */
static float row_lse(const float *x, int64_t M)
{
    float m = row_max(x, M);
    if (isinf(m)) return m;
    double s = 0.0;
    for (int64_t j = 0; j < M; j++) s += expf(x[j] - m);
    return m + (float)log(s);
}

/* The frame of a row kernel: x = t[1]: [N, M], out = t[0] read through GET (ig_cpu_f32 or ig_cpu_i32); the
 * body runs once per row n, rows in parallel. */
#define IG_CPU_ROWS(fn, T, GET, ...)                                                            \
    enum ig_status IG_ISA_FN(fn)(struct ig_backend *be, const struct ig_op_call *call)          \
    {                                                                                           \
        (void)be;                                                                               \
        T *out = GET(call->t[0]);                                                               \
        const float *x = ig_cpu_f32(call->t[1]);                                                \
        int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];                             \
        IG_OMP(omp parallel for schedule(dynamic, 16) if (N * M > IG_CPU_PAR_MIN))              \
        for (int64_t n = 0; n < N; n++) __VA_ARGS__                                             \
        return IG_OK;                                                                           \
    }

IG_CPU_ROWS(ig_cpu_softmax, float, ig_cpu_f32, {
    const float *xr = x + n * M;
    float *yr = out + n * M;
    float m = row_max(xr, M);
    double s = 0.0;
    for (int64_t j = 0; j < M; j++) {
        yr[j] = expf(xr[j] - m);
        s += yr[j];
    }
    float inv = (float)(1.0 / s);
    for (int64_t j = 0; j < M; j++) yr[j] *= inv;
})

IG_CPU_ROWS(ig_cpu_log_softmax, float, ig_cpu_f32, {
    float lse = row_lse(x + n * M, M);
    for (int64_t j = 0; j < M; j++) out[n * M + j] = x[n * M + j] - lse;
})

IG_CPU_ROWS(ig_cpu_argmax_rows, int32_t, ig_cpu_i32, {
    const float *r = x + n * M;
    int64_t best = 0;
    for (int64_t j = 1; j < M; j++) if (r[j] > r[best]) best = j;
    out[n] = (int32_t)best;
})

enum ig_status IG_ISA_FN(ig_cpu_xent_fwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    IG_TRY(ig_cpu_labels_check(call, "cross_entropy_forward"));
    float *loss = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    const int32_t *lab = ig_cpu_i32(call->t[2]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    enum ig_reduction red = call->p.xent.reduction;
    double total = 0.0;
    /* serial on purpose: a fixed summation order keeps the loss bit-reproducible */
    for (int64_t n = 0; n < N; n++) {
        float l = row_lse(x + n * M, M) - x[n * M + lab[n]];
        if (red == IG_REDUCTION_NONE) loss[n] = l;
        total += l;
    }
    if (red == IG_REDUCTION_SUM) loss[0] = (float)total;
    if (red == IG_REDUCTION_MEAN) loss[0] = (float)(total / (double)N);
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_xent_bwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    IG_TRY(ig_cpu_labels_check(call, "cross_entropy_backward"));
    float *dx = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *dloss = ig_cpu_f32(call->t[3]);
    const int32_t *lab = ig_cpu_i32(call->t[2]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    enum ig_reduction red = call->p.xent.reduction;
    IG_OMP(omp parallel for schedule(dynamic, 16) if (N * M > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++) {
        float g = red == IG_REDUCTION_NONE ? dloss[n] : red == IG_REDUCTION_SUM ? dloss[0] : dloss[0] / (float)N;
        float lse = row_lse(x + n * M, M);
        for (int64_t j = 0; j < M; j++) dx[n * M + j] = g * expf(x[n * M + j] - lse);
        dx[n * M + lab[n]] -= g;
    }
    return IG_OK;
}
