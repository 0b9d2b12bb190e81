/* CPU fused optimizer steps: Adam and SGD with momentum, torch.optim semantics (OpenMP, one pass). */
#include "ig_cpu_util.h"
#include <math.h>

enum ig_status IG_ISA_FN(ig_cpu_adam_step)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_adam_params *p = &call->p.adam;
    float *w = ig_cpu_f32(call->t[0]), *m = ig_cpu_f32(call->t[2]), *v = ig_cpu_f32(call->t[3]);
    const float *g = ig_cpu_f32(call->t[1]);
    int64_t n = ig_cpu_numel(call->t[0]);
    double bc1 = 1.0 - pow(p->beta1, (double)p->step), bc2 = 1.0 - pow(p->beta2, (double)p->step);
    /* p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps), as torch computes it */
    float step = (float)(p->lr / bc1), rs2 = (float)(1.0 / sqrt(bc2));
    float b1 = p->beta1, b2 = p->beta2, eps = p->eps, wd = p->weight_decay;
    IG_OMP(omp parallel for simd schedule(dynamic, 8192) if (n > IG_CPU_PAR_MIN))
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] -= step * mi / (sqrtf(vi) * rs2 + eps);
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_sgd_step)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_sgd_params *p = &call->p.sgd;
    float *w = ig_cpu_f32(call->t[0]);
    const float *g = ig_cpu_f32(call->t[1]);
    float *buf = call->t[2] ? ig_cpu_f32(call->t[2]) : NULL;
    int64_t n = ig_cpu_numel(call->t[0]);
    float lr = p->lr, mom = p->momentum, damp = 1.0f - p->dampening, wd = p->weight_decay;
    if (mom == 0.0f || !buf) {
        IG_OMP(omp parallel for simd schedule(dynamic, 8192) if (n > IG_CPU_PAR_MIN))
        for (int64_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
        return IG_OK;
    }
    bool first = p->first_step, nest = p->nesterov;
    IG_OMP(omp parallel for simd schedule(dynamic, 8192) if (n > IG_CPU_PAR_MIN))
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        float b = first ? gi : mom * buf[i] + damp * gi;
        buf[i] = b;
        w[i] -= lr * (nest ? gi + mom * b : b);
    }
    return IG_OK;
}
