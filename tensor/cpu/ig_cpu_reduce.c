/* CPU reductions: sum/mean over one axis, per-row squared norm and dot product, the conv bias gradient (vector plane sums, OpenMP over planes). */
#include "ig_cpu_util.h"
#include "ig_cpu_vreduce.h"
#include <math.h>
#include <string.h>

static enum ig_status reduce_axis(const struct ig_op_call *call, bool mean)
{
    float *y = ig_cpu_f32(call->t[0]);
    const struct ig_tensor *X = call->t[1];
    const float *x = ig_cpu_f32(X);
    int axis = call->p.axis;
    int64_t outer = 1, len = X->shape[axis], inner = 1;
    for (int d = 0; d < axis; d++) outer *= X->shape[d];
    for (int d = axis + 1; d < X->ndim; d++) inner *= X->shape[d];
    float scale = mean ? (len ? 1.0f / (float)len : NAN) : 1.0f;
    if (inner == 1) {
        IG_OMP(omp parallel for schedule(dynamic, 16) if (outer * len > IG_CPU_PAR_MIN))
        for (int64_t o = 0; o < outer; o++) y[o] = (float)vsum(x + o * len, len) * scale;
        return IG_OK;
    }
    /* contiguous inner rows: accumulate row by row (vectorises over inner) */
    IG_OMP(omp parallel for schedule(dynamic, 16) if (outer * len * inner > IG_CPU_PAR_MIN))
    for (int64_t o = 0; o < outer; o++) {
        float *yr = y + o * inner;
        memset(yr, 0, (size_t)inner * sizeof(float));
        for (int64_t l = 0; l < len; l++) {
            const float *r = x + (o * len + l) * inner;
            for (int64_t i = 0; i < inner; i++) yr[i] += r[i];
        }
        for (int64_t i = 0; i < inner; i++) yr[i] *= scale;
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_sum_axis)(struct ig_backend *be, const struct ig_op_call *call) { (void)be; return reduce_axis(call, false); }
enum ig_status IG_ISA_FN(ig_cpu_mean_axis)(struct ig_backend *be, const struct ig_op_call *call) { (void)be; return reduce_axis(call, true); }

/* sum_j r[j] * v[j] over one row of M: float partials over blocks of 4096, double across blocks */
static inline float row_dot_blocked(const float *r, const float *v, int64_t M)
{
    double s = 0.0;
    for (int64_t j0 = 0; j0 < M; j0 += 4096) {
        float t = 0.0f;
        int64_t j1 = j0 + 4096 < M ? j0 + 4096 : M;
        for (int64_t j = j0; j < j1; j++) t += r[j] * v[j];
        s += t;
    }
    return (float)s;
}

/* out[n] = <x[n], v> for x: [N, ...] viewed as [N, M] and v: [M]; v == NULL: <x[n], x[n]> (squared norm) */
static enum ig_status row_dots(float *out, const float *x, const float *v, const struct ig_tensor *X)
{
    int64_t N = X->shape[0], M = N ? ig_cpu_numel(X) / N : 0;
    IG_OMP(omp parallel for schedule(dynamic, 16) if (N * M > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++) out[n] = row_dot_blocked(x + n * M, v ? v : x + n * M, M);
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_row_sqnorm)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    return row_dots(ig_cpu_f32(call->t[0]), ig_cpu_f32(call->t[1]), NULL, call->t[1]);
}

enum ig_status IG_ISA_FN(ig_cpu_row_dot)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    return row_dots(ig_cpu_f32(call->t[0]), ig_cpu_f32(call->t[1]), ig_cpu_f32(call->t[2]), call->t[1]);
}

/* db[o] = Σ_n Σ_p dy[n,o,p] for planes shorter than a vector ([N,O] rows of linear layers, P = 1):
 * blocks of outputs, each summed in double over n (and p) in order. */
static void bias_rows(float *db, const float *dy, int64_t N, int64_t O, int64_t P)
{
    enum { OB = 256 };
    IG_OMP(omp parallel for schedule(static) if (N * O * P > IG_CPU_PAR_MIN))
    for (int64_t o0 = 0; o0 < O; o0 += OB) {
        int64_t ob = O - o0 < OB ? O - o0 : OB;
        double acc[OB] = {0};
        for (int64_t n = 0; n < N; n++) {
            const float *r = dy + (n * O + o0) * P;
            if (P == 1) {
                for (int64_t k = 0; k < ob; k++) acc[k] += r[k];
                continue;
            }
            for (int64_t k = 0; k < ob; k++) {
                float t = 0.0f;
                for (int64_t j = 0; j < P; j++) t += r[k * P + j];
                acc[k] += t;
            }
        }
        for (int64_t k = 0; k < ob; k++) db[o0 + k] = (float)acc[k];
    }
}

/* dy: [N,O,P]. Each (n,o) plane is summed on its own (vsum, whichever thread), part[n*O + o]; the
 * planes of one output then add up in n order: one contiguous pass over dy, and the same bits for
 * any thread count. */
enum ig_status IG_ISA_FN(ig_cpu_conv2d_bwd_bias)(struct ig_backend *be, const struct ig_op_call *call)
{
    float *db = ig_cpu_f32(call->t[0]);
    const struct ig_tensor *DY = call->t[1];
    const float *dy = ig_cpu_f32(DY);
    int64_t N = DY->shape[0], O = DY->shape[1], P = DY->shape[2] * DY->shape[3], NO = N * O;
    if (P < IG_VW || NO == 0) {
        bias_rows(db, dy, N, O, P);
        return IG_OK;
    }
    double *part = ig_backend_scratch(be, (size_t)NO * sizeof(double));
    if (!part) return IG_ERR_OOM;
    IG_OMP(omp parallel if (NO * P > IG_CPU_PAR_MIN))
    {
        IG_OMP(omp for schedule(static))
        for (int64_t q = 0; q < NO; q++) part[q] = vsum(dy + q * P, P);
        IG_OMP(omp for schedule(static))
        for (int64_t o = 0; o < O; o++) {
            double s = 0.0;
            for (int64_t n = 0; n < N; n++) s += part[n * O + o];
            db[o] = (float)s;
        }
    }
    return IG_OK;
}
