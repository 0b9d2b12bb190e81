/* SIMD layer of the per-ISA kernels: IG_VW-float vectors (GCC vector extensions), lane masks, masked loads/stores, gathers and an in-register transpose for AVX-512, AVX2+FMA or plain C. */
#ifndef IG_CPU_SIMD_H
#define IG_CPU_SIMD_H
#include <stdint.h>

/*
 * The kernels of ig_cpu_conv.c and ig_cpu_winograd.c are written once against this header and
 * compiled once per instruction set (tensor/cpu/meson.build): with IG_SIMD_AVX512 (16 lanes,
 * -mavx512f/bw/dq/vl), IG_SIMD_AVX2 (8 lanes, -mavx2 -mfma) or neither (4 lanes of plain C
 * vector extensions, which the compiler lowers to SSE2, NEON or scalar code). IG_ISA_FN(name)
 * gives each build's entry points their own suffix.
 *   ig_vf   IG_VW floats, 4*IG_VW-byte aligned in memory (vload/vstore), or not (vloadu)
 *   ig_vi   IG_VW int32 (gather indices)
 *   ig_vmask  lanes selected by vmask_range(lo, hi): lo <= lane < hi
 */
#if defined(IG_SIMD_AVX512)
#include <immintrin.h>
#define IG_VW 16
#define IG_ISA_FN(name) name##_avx512
#define IG_ISA_ID IG_CPU_ISA_AVX512
#define IG_ISA_NAME "avx512"
#elif defined(IG_SIMD_AVX2)
#include <immintrin.h>
#define IG_VW 8
#define IG_ISA_FN(name) name##_avx2
#define IG_ISA_ID IG_CPU_ISA_AVX2
#define IG_ISA_NAME "avx2"
#else
#define IG_VW 4
#define IG_ISA_FN(name) name##_generic
#define IG_ISA_ID IG_CPU_ISA_GENERIC
#define IG_ISA_NAME "generic"
#endif

typedef float ig_vf __attribute__((vector_size(4 * IG_VW)));
typedef int32_t ig_vi __attribute__((vector_size(4 * IG_VW)));
typedef float ig_vf_unaligned __attribute__((vector_size(4 * IG_VW), aligned(4)));

static inline ig_vf vload(const float *p) { return *(const ig_vf *)p; }
static inline ig_vf vloadu(const float *p) { return *(const ig_vf_unaligned *)p; }
static inline void vstore(float *p, ig_vf v) { *(ig_vf *)p = v; }
static inline void vstoreu(float *p, ig_vf v) { *(ig_vf_unaligned *)p = v; }
static inline ig_vf vzero(void) { return (ig_vf){0}; }
/* x in every lane: one broadcast (vzero() + x costs a scalar add first: 0 + x is not x for x = -0). */
#if defined(IG_SIMD_AVX512)
static inline ig_vf vset1(float x) { return (ig_vf)_mm512_set1_ps(x); }
#elif defined(IG_SIMD_AVX2)
static inline ig_vf vset1(float x) { return (ig_vf)_mm256_set1_ps(x); }
#else
static inline ig_vf vset1(float x)
{
    ig_vf v;
    for (int j = 0; j < IG_VW; j++) v[j] = x;
    return v;
}
#endif

/* lane numbers 0 .. IG_VW-1 times stride */
static inline ig_vi vindex(int32_t stride)
{
    ig_vi v;
    for (int j = 0; j < IG_VW; j++) v[j] = j * stride;
    return v;
}

/* Lanes [lo, hi) clipped to [0, IG_VW). */
#if defined(IG_SIMD_AVX512)
typedef __mmask16 ig_vmask;
static inline ig_vmask vmask_range(int64_t lo, int64_t hi)
{
    lo = lo < 0 ? 0 : (lo > 16 ? 16 : lo);
    hi = hi < 0 ? 0 : (hi > 16 ? 16 : hi);
    if (hi < lo) hi = lo;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}
static inline ig_vmask vmask_none(void) { return 0; }
/* masked-off lanes read nothing and load 0 */
static inline ig_vf vload_mask(const float *p, ig_vmask m) { return (ig_vf)_mm512_maskz_loadu_ps(m, p); }
static inline void vstore_mask(float *p, ig_vmask m, ig_vf v) { _mm512_mask_storeu_ps(p, m, (__m512)v); }
/* v[j] = p[idx[j]] on the lanes of m, 0 elsewhere */
static inline ig_vf vgather_mask(const float *p, ig_vi idx, ig_vmask m)
{
    return (ig_vf)_mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, (__m512i)idx, p, 4);
}
#elif defined(IG_SIMD_AVX2)
typedef ig_vi ig_vmask;   /* all bits set on selected lanes */
static inline ig_vmask vmask_range(int64_t lo, int64_t hi)
{
    ig_vi lane = vindex(1);
    int32_t l = (int32_t)(lo < -1 ? -1 : (lo > 8 ? 8 : lo)), h = (int32_t)(hi < -1 ? -1 : (hi > 8 ? 8 : hi));
    return (lane >= l) & (lane < h);
}
static inline ig_vmask vmask_none(void) { return (ig_vi){0}; }
static inline ig_vf vload_mask(const float *p, ig_vmask m) { return (ig_vf)_mm256_maskload_ps(p, (__m256i)m); }
static inline void vstore_mask(float *p, ig_vmask m, ig_vf v) { _mm256_maskstore_ps(p, (__m256i)m, (__m256)v); }
static inline ig_vf vgather_mask(const float *p, ig_vi idx, ig_vmask m)
{
    return (ig_vf)_mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, (__m256i)idx, (__m256)m, 4);
}
#else
typedef ig_vi ig_vmask;
static inline ig_vmask vmask_range(int64_t lo, int64_t hi)
{
    ig_vmask m;
    for (int j = 0; j < IG_VW; j++) m[j] = (j >= lo && j < hi) ? -1 : 0;
    return m;
}
static inline ig_vmask vmask_none(void) { return (ig_vi){0}; }
static inline ig_vf vload_mask(const float *p, ig_vmask m)
{
    ig_vf v = vzero();
    for (int j = 0; j < IG_VW; j++)
        if (m[j]) v[j] = p[j];
    return v;
}
static inline void vstore_mask(float *p, ig_vmask m, ig_vf v)
{
    for (int j = 0; j < IG_VW; j++)
        if (m[j]) p[j] = v[j];
}
static inline ig_vf vgather_mask(const float *p, ig_vi idx, ig_vmask m)
{
    ig_vf v = vzero();
    for (int j = 0; j < IG_VW; j++)
        if (m[j]) v[j] = p[idx[j]];
    return v;
}
#endif

/* Transpose of an IG_VW x IG_VW block held in registers: r[i][j] becomes r[j][i]. Stage d (a power
 * of two) swaps the d bit of the row number with the d bit of the lane number for every pair of rows
 * (i, i + d), so log2(IG_VW) stages of IG_VW two-vector shuffles do it: on AVX-512 stages 8, 4, 2, 1
 * compile to vshuff32x4, vpermt2ps, vshufps, vpermt2ps; on AVX2 4, 2, 1 to vperm2f128, vshufps and
 * vpermilps + vblendps. */
#define IG_VT_LO(d, j) (((j) & (d)) ? IG_VW + (j) - (d) : (j))   /* new row i: lanes of row i, then of i+d */
#define IG_VT_HI(d, j) (((j) & (d)) ? IG_VW + (j) : (j) + (d))   /* new row i+d */
#define IG_VT_L4(F, d, b) F(d, b), F(d, b + 1), F(d, b + 2), F(d, b + 3)
#if IG_VW == 16
#define IG_VT_LANES(F, d) IG_VT_L4(F, d, 0), IG_VT_L4(F, d, 4), IG_VT_L4(F, d, 8), IG_VT_L4(F, d, 12)
#elif IG_VW == 8
#define IG_VT_LANES(F, d) IG_VT_L4(F, d, 0), IG_VT_L4(F, d, 4)
#else
#define IG_VT_LANES(F, d) IG_VT_L4(F, d, 0)
#endif
#define IG_VT_STAGE(r, d)                                                            \
    _Pragma("GCC unroll 16") for (int i_ = 0; i_ < IG_VW; i_++) if (!(i_ & (d))) { \
        ig_vf a_ = (r)[i_], b_ = (r)[i_ + (d)];                                      \
        (r)[i_] = __builtin_shufflevector(a_, b_, IG_VT_LANES(IG_VT_LO, d));         \
        (r)[i_ + (d)] = __builtin_shufflevector(a_, b_, IG_VT_LANES(IG_VT_HI, d));   \
    }
static inline void vtranspose(ig_vf r[IG_VW])
{
#if IG_VW == 16
    IG_VT_STAGE(r, 8)
#endif
#if IG_VW >= 8
    IG_VT_STAGE(r, 4)
#endif
    IG_VT_STAGE(r, 2)
    IG_VT_STAGE(r, 1)
}

/* Round n up to a whole number of vectors. */
static inline int64_t vround(int64_t n) { return (n + IG_VW - 1) / IG_VW * IG_VW; }
#endif
