/* CPU fused optimizer steps: Adam and SGD with momentum, torch.optim semantics (Adam: one fused vector loop; OpenMP). */
#include "ig_cpu_util.h"
#include <math.h>

#if defined(IG_SIMD_AVX512)
static inline ig_vf vsqrt(ig_vf v) { return (ig_vf)_mm512_sqrt_ps((__m512)v); }
#elif defined(IG_SIMD_AVX2)
static inline ig_vf vsqrt(ig_vf v) { return (ig_vf)_mm256_sqrt_ps((__m256)v); }
#else
static inline ig_vf vsqrt(ig_vf v)
{
    for (int j = 0; j < IG_VW; j++) v[j] = sqrtf(v[j]);
    return v;
}
#endif

struct adam_k { float step, rs2, b1, b2, eps, wd; };

/* One vector of parameters: the same operations for full and masked tail vectors (every element
 * gets the same bits wherever it falls). */
static inline void adam_lanes(const struct adam_k *k, ig_vf *w, ig_vf g, ig_vf *m, ig_vf *v)
{
    ig_vf gi = g + k->wd * *w;
    *m = k->b1 * *m + (1.0f - k->b1) * gi;
    *v = k->b2 * *v + (1.0f - k->b2) * gi * gi;
    *w -= k->step * *m / (vsqrt(*v) * k->rs2 + k->eps);
}

/* One fused vector loop over w, g, m, v (static split over the threads), masked tail. */
enum ig_status IG_ISA_FN(ig_cpu_adam_step)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_adam_params *p = &call->p.adam;
    float *w = ig_cpu_f32(call->t[0]), *m = ig_cpu_f32(call->t[2]), *v = ig_cpu_f32(call->t[3]);
    const float *g = ig_cpu_f32(call->t[1]);
    int64_t n = ig_cpu_numel(call->t[0]), nv = n / IG_VW * IG_VW;
    double bc1 = 1.0 - pow(p->beta1, (double)p->step), bc2 = 1.0 - pow(p->beta2, (double)p->step);
    /* p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps), as torch computes it */
    struct adam_k k = {(float)(p->lr / bc1), (float)(1.0 / sqrt(bc2)), p->beta1, p->beta2, p->eps, p->weight_decay};
    IG_OMP(omp parallel for schedule(static) if (n > IG_CPU_PAR_MIN))
    for (int64_t i = 0; i < nv; i += IG_VW) {
        ig_vf wi = vloadu(w + i), mi = vloadu(m + i), vi = vloadu(v + i);
        adam_lanes(&k, &wi, vloadu(g + i), &mi, &vi);
        vstoreu(w + i, wi);
        vstoreu(m + i, mi);
        vstoreu(v + i, vi);
    }
    if (nv < n) {
        ig_vmask t = vmask_range(0, n - nv);
        ig_vf wi = vload_mask(w + nv, t), mi = vload_mask(m + nv, t), vi = vload_mask(v + nv, t);
        adam_lanes(&k, &wi, vload_mask(g + nv, t), &mi, &vi);
        vstore_mask(w + nv, t, wi);
        vstore_mask(m + nv, t, mi);
        vstore_mask(v + nv, t, vi);
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
