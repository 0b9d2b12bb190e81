/* Vector sums over contiguous float runs for the per-ISA reduction kernels (bias gradient, batch norm), and the fixed static split of a loop over threads. */
#ifndef IG_CPU_VREDUCE_H
#define IG_CPU_VREDUCE_H
#include "ig_cpu_simd.h"

/*
 * A run of n floats is summed in blocks of IG_VRED_BLOCK: inside a block 4 (vsum) or 2 (vsum2)
 * float vectors of IG_VW lanes accumulate, then fold to one float in a fixed tree order; the
 * blocks add up in double. The result depends only on the data and the ISA (never on a thread),
 * and the float error stays that of a sum of n / (4 IG_VW) terms per lane.
 */
#define IG_VRED_BLOCK 4096

/* v on the lanes of k, 0 elsewhere */
#if defined(IG_SIMD_AVX512)
static inline ig_vf vkeep(ig_vf v, ig_vmask k) { return (ig_vf)_mm512_maskz_mov_ps(k, (__m512)v); }
#else
static inline ig_vf vkeep(ig_vf v, ig_vmask k) { return (ig_vf)((ig_vi)v & k); }
#endif

/* Lanes of v folded in halves: (v0 + v[W/2]) + ... in a fixed order. */
static inline float vhsum(ig_vf v)
{
    float t[IG_VW];
    for (int j = 0; j < IG_VW; j++) t[j] = v[j];
    for (int w = IG_VW / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) t[j] += t[j + w];
    return t[0];
}

/* Σ p[i], i < n. */
static inline double vsum(const float *p, int64_t n)
{
    double s = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += IG_VRED_BLOCK) {
        const float *q = p + i0;
        int64_t m = n - i0 < IG_VRED_BLOCK ? n - i0 : IG_VRED_BLOCK, i = 0;
        ig_vf a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
        for (; i + 4 * IG_VW <= m; i += 4 * IG_VW) {
            a0 += vloadu(q + i);
            a1 += vloadu(q + i + IG_VW);
            a2 += vloadu(q + i + 2 * IG_VW);
            a3 += vloadu(q + i + 3 * IG_VW);
        }
        for (; i + IG_VW <= m; i += IG_VW) a0 += vloadu(q + i);
        if (i < m) a1 += vload_mask(q + i, vmask_range(0, m - i));
        s += vhsum((a0 + a1) + (a2 + a3));
    }
    return s;
}

/* With u = a[i] - sa, v = b[i] - sb over i < n: *s1 = Σ u, *s2 = Σ u v. b may equal a
 * (shifted sum and sum of squares: sb = sa), or sa = 0 (Σ a and Σ a (b - sb)). */
static inline void vsum2(const float *a, float sa, const float *b, float sb, int64_t n, double *s1, double *s2)
{
    double r1 = 0.0, r2 = 0.0;
    ig_vf va = vset1(sa), vb = vset1(sb);
    for (int64_t i0 = 0; i0 < n; i0 += IG_VRED_BLOCK) {
        const float *p = a + i0, *q = b + i0;
        int64_t m = n - i0 < IG_VRED_BLOCK ? n - i0 : IG_VRED_BLOCK, i = 0;
        ig_vf u0 = vzero(), u1 = vzero(), w0 = vzero(), w1 = vzero();
        for (; i + 2 * IG_VW <= m; i += 2 * IG_VW) {
            ig_vf x0 = vloadu(p + i) - va, x1 = vloadu(p + i + IG_VW) - va;
            u0 += x0;
            u1 += x1;
            w0 += x0 * (vloadu(q + i) - vb);
            w1 += x1 * (vloadu(q + i + IG_VW) - vb);
        }
        for (; i < m; i += IG_VW) {
            ig_vmask k = vmask_range(0, m - i);
            /* masked-off lanes load 0 and must add 0: clear them again after the shift */
            ig_vf x0 = vkeep(vload_mask(p + i, k) - va, k), y0 = vload_mask(q + i, k) - vb;
            u1 += x0;
            w1 += x0 * y0;
        }
        r1 += vhsum(u0 + u1);
        r2 += vhsum(w0 + w1);
    }
    *s1 = r1;
    *s2 = r2;
}

/* [*lo, *hi): part t of T of the range [0, n), cut at multiples of `align`; parts are fixed by
 * (n, T, t) alone, so a static loop over them gives every thread the same elements each call. */
static inline void ig_split(int64_t n, int64_t align, int t, int T, int64_t *lo, int64_t *hi)
{
    int64_t units = (n + align - 1) / align;
    int64_t a = units * t / T, b = units * (t + 1) / T;
    *lo = a * align < n ? a * align : n;
    *hi = b * align < n ? b * align : n;
}
#endif
