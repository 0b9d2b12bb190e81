/* CPU Winograd point products without packing: M[T, Op] = V[T, K] Ut[K, Op] in register blocks of WG_R tile rows x WG_CV vectors of output channels; compiled once per ISA. */
#include "ig_cpu_winograd.h"

/*
 * Per Winograd point the forward / backward-data pass multiplies the transformed input tiles
 * V[T][Cp] (T tiles, channels innermost) by the transformed weights Ut[Cp][Op] (output channels
 * innermost). Both are already laid out for a broadcast-times-vector product, so the block
 *   acc[r][k] += broadcast(V[t0 + r][c]) * Ut[c][o0 + k IG_VW ..]   for c < K
 * reads them in place: no packing (OpenBLAS repacked V and U on every call, its copy routines took
 * ~14% of a training pass next to ~18% in its kernel). Every output sums c = 0 .. K-1 in order,
 * also across the K blocks (the partial sum goes through M), so the result does not depend on the
 * blocking or the threads.
 * Blocks: AVX-512 6 x 4 vectors (24 accumulators + 4 loads + 1 broadcast of 32 registers), AVX2
 * 6 x 2 (12 + 2 + 1 of 16), plain C 4 x 2; K blocks of WG_KC keep one strip of Ut (WG_KC x
 * WG_CV IG_VW floats, 24 KiB) in L1 while the tile rows stream past it.
 */
#if defined(IG_SIMD_AVX512)
#define WG_R 6
#define WG_CV 4
#elif defined(IG_SIMD_AVX2)
#define WG_R 4
#define WG_CV 3
#else
#define WG_R 4
#define WG_CV 2
#endif
#define WG_KC (6144 / (WG_CV * IG_VW))

/* *p in every lane (vset1 adds 0.0f, one more instruction per broadcast in the inner loop). */
static inline ig_vf wg_bcast(const float *p)
{
#if defined(IG_SIMD_AVX512)
    return (ig_vf)_mm512_set1_ps(*p);
#elif defined(IG_SIMD_AVX2)
    return (ig_vf)_mm256_set1_ps(*p);
#else
    ig_vf v;
    for (int j = 0; j < IG_VW; j++) v[j] = *p;
    return v;
#endif
}

/* m[r][k IG_VW ..] (+)= sum_{c < K} v[r ldv + c] u[c ldu + k IG_VW ..] for r < R, k < CV. */
static inline __attribute__((always_inline)) void wg_block(const float *v, int64_t ldv, const float *u, int64_t ldu,
                                                           int64_t K, float *m, int64_t ldm, bool first, const int R,
                                                           const int CV)
{
    ig_vf acc[WG_R][WG_CV];
    for (int r = 0; r < R; r++)
        for (int k = 0; k < CV; k++) acc[r][k] = first ? vzero() : vload(m + r * ldm + k * IG_VW);
    for (int64_t c = 0; c < K; c++, u += ldu) {
        ig_vf b[WG_CV];
        for (int k = 0; k < CV; k++) b[k] = vload(u + k * IG_VW);
        for (int r = 0; r < R; r++) {
            ig_vf s = wg_bcast(v + r * ldv + c);
            for (int k = 0; k < CV; k++) acc[r][k] += s * b[k];
        }
    }
    for (int r = 0; r < R; r++)
        for (int k = 0; k < CV; k++) vstore(m + r * ldm + k * IG_VW, acc[r][k]);
}

/* All T rows of one strip of CV vectors: blocks of WG_R rows, then one block of the T % WG_R left. */
static inline __attribute__((always_inline)) void wg_rows(const float *v, int64_t ldv, const float *u, int64_t ldu,
                                                          int64_t K, float *m, int64_t ldm, int64_t T, bool first,
                                                          const int CV)
{
    int64_t t = 0;
    for (; t + WG_R <= T; t += WG_R) wg_block(v + t * ldv, ldv, u, ldu, K, m + t * ldm, ldm, first, WG_R, CV);
    v += t * ldv;
    m += t * ldm;
    switch (T - t) {
    case 1: wg_block(v, ldv, u, ldu, K, m, ldm, first, 1, CV); break;
    case 2: wg_block(v, ldv, u, ldu, K, m, ldm, first, 2, CV); break;
    case 3: wg_block(v, ldv, u, ldu, K, m, ldm, first, 3, CV); break;
#if WG_R > 4
    case 4: wg_block(v, ldv, u, ldu, K, m, ldm, first, 4, CV); break;
    case 5: wg_block(v, ldv, u, ldu, K, m, ldm, first, 5, CV); break;
#endif
    default: break;
    }
}

void IG_ISA_FN(ig_cpu_wino_point_gemm)(const float *V, int64_t ldv, const float *Ut, int64_t ldu, int64_t T, int64_t K,
                                       int64_t nvec, float *M, int64_t ldm)
{
    for (int64_t k0 = 0; k0 < K; k0 += WG_KC) {
        int64_t kc = K - k0 < WG_KC ? K - k0 : WG_KC;
        bool first = k0 == 0;
        for (int64_t j = 0; j < nvec; j += WG_CV) {
            const float *v = V + k0, *u = Ut + k0 * ldu + j * IG_VW;
            float *m = M + j * IG_VW;
            switch (nvec - j < WG_CV ? nvec - j : WG_CV) {
            case 1: wg_rows(v, ldv, u, ldu, kc, m, ldm, T, first, 1); break;
#if WG_CV > 2
            case 2: wg_rows(v, ldv, u, ldu, kc, m, ldm, T, first, 2); break;
#endif
#if WG_CV > 3
            case 3: wg_rows(v, ldv, u, ldu, kc, m, ldm, T, first, 3); break;
#endif
            default: wg_rows(v, ldv, u, ldu, kc, m, ldm, T, first, WG_CV); break;
            }
        }
    }
}
