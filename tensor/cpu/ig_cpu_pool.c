/* CPU max-pooling kernels (OpenMP over planes), with a vectorised 2x2 stride-2 fast path. */
#include "ig_cpu_util.h"
#include <math.h>
#include <string.h>

/* One output row of a 2x2 stride-2 pool from input rows r0, r1 (base: index of r0[0] in the plane).
 * Same order as the reference, (0,0) (0,1) (1,0) (1,1), first maximum wins; written as selects so
 * that the compiler vectorises it. */
static void pool_row_2x2(const float *restrict r0, const float *restrict r1, float *restrict yp, int32_t *restrict ip,
                         int64_t Wo, int32_t base, int32_t W)
{
    for (int64_t ow = 0; ow < Wo; ow++) {
        float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1], m = a;
        int32_t i = base + 2 * (int32_t)ow, bi = i;
        bool t = b > m;
        m = t ? b : m;
        bi = t ? i + 1 : bi;
        t = c > m;
        m = t ? c : m;
        bi = t ? i + W : bi;
        t = d > m;
        m = t ? d : m;
        bi = t ? i + W + 1 : bi;
        yp[ow] = m;
        ip[ow] = bi;
    }
}

#if defined(IG_SIMD_AVX512) || defined(IG_SIMD_AVX2)
/* bits of a where t is set, of b elsewhere */
static inline ig_vi vsel_i(ig_vi t, ig_vi a, ig_vi b) { return (t & a) | (~t & b); }

/* A 2x2 stride-2 plane whose output rows are shorter than a vector (IG_VW % Wo == 0): IG_VW
 * outputs (IG_VW / Wo rows) at a time from four gathers at off (+1, +W, +W+1), with the selects
 * of pool_row_2x2; off[l] = 2 (l / Wo) W + 2 (l % Wo). */
static void pool_plane_2x2_gather(const float *xp, float *yp, int32_t *ip, int64_t Ho, int64_t Wo, int32_t W, ig_vi off)
{
    int64_t n = Ho * Wo;
    for (int64_t j0 = 0; j0 < n; j0 += IG_VW) {
        ig_vmask k = vmask_range(0, n - j0);
        ig_vi ia = off + (int32_t)(j0 / Wo * 2 * W), ib = ia + 1, ic = ia + W, id = ic + 1, bi = ia;
        ig_vf m = vgather_mask(xp, ia, k), b = vgather_mask(xp, ib, k), c = vgather_mask(xp, ic, k);
        ig_vf d = vgather_mask(xp, id, k);
        ig_vi t = b > m;
        m = (ig_vf)vsel_i(t, (ig_vi)b, (ig_vi)m);
        bi = vsel_i(t, ib, bi);
        t = c > m;
        m = (ig_vf)vsel_i(t, (ig_vi)c, (ig_vi)m);
        bi = vsel_i(t, ic, bi);
        t = d > m;
        m = (ig_vf)vsel_i(t, (ig_vi)d, (ig_vi)m);
        bi = vsel_i(t, id, bi);
        vstore_mask(yp + j0, k, m);
        vstore_mask((float *)(void *)(ip + j0), k, (ig_vf)bi);
    }
}
#endif

enum ig_status IG_ISA_FN(ig_cpu_maxpool2d_fwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_pool2d_params *p = &call->p.pool;
    const struct ig_tensor *Y = call->t[0], *X = call->t[2];
    float *y = ig_cpu_f32(Y);
    int32_t *idx = ig_cpu_i32(call->t[1]);
    const float *x = ig_cpu_f32(X);
    int64_t NC = X->shape[0] * X->shape[1], H = X->shape[2], W = X->shape[3], Ho = Y->shape[2], Wo = Y->shape[3];
    int k = p->kernel, s = p->stride;
#if defined(IG_SIMD_AVX512) || defined(IG_SIMD_AVX2)
    if (k == 2 && s == 2 && Wo > 0 && Wo < IG_VW && IG_VW % Wo == 0) {
        ig_vi lane = vindex(1), off;
        for (int j = 0; j < IG_VW; j++) off[j] = (int32_t)(2 * (lane[j] / Wo) * W + 2 * (lane[j] % Wo));
        IG_OMP(omp parallel for schedule(static) if (NC * H * W > IG_CPU_PAR_MIN))
        for (int64_t nc = 0; nc < NC; nc++)
            pool_plane_2x2_gather(x + nc * H * W, y + nc * Ho * Wo, idx + nc * Ho * Wo, Ho, Wo, (int32_t)W, off);
        return IG_OK;
    }
#endif
    IG_OMP(omp parallel for schedule(static) if (NC * H * W > IG_CPU_PAR_MIN))
    for (int64_t nc = 0; nc < NC; nc++) {
        const float *xp = x + nc * H * W;
        float *yp = y + nc * Ho * Wo;
        int32_t *ip = idx + nc * Ho * Wo;
        for (int64_t oh = 0; oh < Ho; oh++) {
            if (k == 2 && s == 2) {
                const float *r0 = xp + 2 * oh * W;
                pool_row_2x2(r0, r0 + W, yp + oh * Wo, ip + oh * Wo, Wo, (int32_t)(2 * oh * W), (int32_t)W);
                continue;
            }
            for (int64_t ow = 0; ow < Wo; ow++) {
                int64_t ih0 = oh * s, iw0 = ow * s, bi = ih0 * W + iw0;
                float b = xp[bi];
                for (int kh = 0; kh < k; kh++)
                    for (int kw = 0; kw < k; kw++) {
                        int64_t j = (ih0 + kh) * W + iw0 + kw;
                        if (xp[j] > b) { b = xp[j]; bi = j; }
                    }
                yp[oh * Wo + ow] = b;
                ip[oh * Wo + ow] = (int32_t)bi;
            }
        }
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_maxpool2d_bwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_tensor *DX = call->t[0], *DY = call->t[1];
    float *dx = ig_cpu_f32(DX);
    const float *dy = ig_cpu_f32(DY);
    const int32_t *idx = ig_cpu_i32(call->t[2]);
    int64_t NC = DX->shape[0] * DX->shape[1], HW = DX->shape[2] * DX->shape[3], HWo = DY->shape[2] * DY->shape[3];
    IG_OMP(omp parallel for schedule(dynamic, 16) if (NC * HW > IG_CPU_PAR_MIN))
    for (int64_t nc = 0; nc < NC; nc++) {
        float *dp = dx + nc * HW;
        const float *gp = dy + nc * HWo;
        const int32_t *ip = idx + nc * HWo;
        memset(dp, 0, (size_t)HW * sizeof(float));
        for (int64_t j = 0; j < HWo; j++) dp[ip[j]] += gp[j];
    }
    return IG_OK;
}
