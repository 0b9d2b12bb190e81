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

enum ig_status IG_ISA_FN(ig_cpu_softmax)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    IG_OMP(omp parallel for schedule(dynamic, 16) if (N * M > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * M;
        float *yr = y + n * M;
        float m = row_max(xr, M);
        double s = 0.0;
        for (int64_t j = 0; j < M; j++) {
            yr[j] = expf(xr[j] - m);
            s += yr[j];
        }
        float inv = (float)(1.0 / s);
        for (int64_t j = 0; j < M; j++) yr[j] *= inv;
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_log_softmax)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    IG_OMP(omp parallel for schedule(dynamic, 16) if (N * M > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++) {
        float lse = row_lse(x + n * M, M);
        for (int64_t j = 0; j < M; j++) y[n * M + j] = x[n * M + j] - lse;
    }
    return IG_OK;
}

static enum ig_status check_labels(const char *what, const int32_t *lab, int64_t N, int64_t M)
{
    for (int64_t n = 0; n < N; n++)
        if (lab[n] < 0 || lab[n] >= M)
            return ig_error(IG_ERR_INVALID_ARG, "%s: label %d of row %lld outside [0, %lld)", what, lab[n],
                            (long long)n, (long long)M);
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_xent_fwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *loss = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    const int32_t *lab = ig_cpu_i32(call->t[2]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    IG_TRY(check_labels("cross_entropy_forward", lab, N, M));
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
    float *dx = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *dloss = ig_cpu_f32(call->t[3]);
    const int32_t *lab = ig_cpu_i32(call->t[2]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    IG_TRY(check_labels("cross_entropy_backward", lab, N, M));
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

enum ig_status IG_ISA_FN(ig_cpu_argmax_rows)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    int32_t *out = ig_cpu_i32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    IG_OMP(omp parallel for schedule(dynamic, 16) if (N * M > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++) {
        const float *r = x + n * M;
        int64_t best = 0;
        for (int64_t j = 1; j < M; j++) if (r[j] > r[best]) best = j;
        out[n] = (int32_t)best;
    }
    return IG_OK;
}
