/* CPU Winograd point products without packing: M[T, Op] = V[T, K] Ut[K, Op] (forward, backward data) and S[O, Cp] += Z[T, Op]^T V[T, Cp] (weight gradient) in register blocks of rows x vectors; compiled once per ISA. */
#include "ig_cpu_util.h"
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
 * Blocks of WG_ROWS(cv) rows x cv vectors: AVX-512 6 x 4, 8 x 3, 12 x 2 or 24 x 1 (24 accumulators +
 * cv loads + 1 broadcast of 32 registers), AVX2 4 x 3, 6 x 2, 12 x 1 (12 of 16), plain C 4 x 2,
 * 8 x 1; strips of WG_CV vectors, the last one narrower but with more rows, so that every block
 * fills the registers (AVX2: 4 x 3 plus a 6 x 2 or 12 x 1 strip measured faster than 6 x 2
 * throughout, 0.90 of the time on conv6's forward); equal K blocks of at most WG_KC bound one
 * strip of the vector operand to 128 KiB of L2 (AVX-512: 512 rows; the paper CNN's products, K =
 * 32..512, then run unblocked: conv4..conv6 1.05..1.09x faster than with 24 KiB L1 strips).
 * Measured against the sgemm version (b64, 2 threads, medians of 3 alternating runs): AVX-512
 * bench_ops conv2..conv6 forward 1.23..1.31x, backward 1.18..1.41x, whole pass 0.84x the time,
 * bench_train 1.16x images/s; AVX2 layers 0.99..1.28x, whole pass even, bench_train 1.04x.
 * The plain C build (4 lanes, no FMA) calls cblas_sgemm instead (IG_WINO_BLAS): on conv4, the one
 * paper-CNN layer it runs with Winograd, its blocks took 4.8x the time of OpenBLAS.
 */
#if defined(IG_SIMD_AVX512)
#define WG_CV 4
#define WG_ROWS(cv) ((cv) == 4 ? 6 : (cv) == 3 ? 8 : (cv) == 2 ? 12 : 24)
#elif defined(IG_SIMD_AVX2)
#define WG_CV 3
#define WG_ROWS(cv) ((cv) == 3 ? 4 : (cv) == 2 ? 6 : 12)
#else
#define WG_CV 2
#define WG_ROWS(cv) ((cv) == 2 ? 4 : 8)
#endif
#define WG_RMAX WG_ROWS(1)
#define WG_KC (32768 / (WG_CV * IG_VW))

/* c[r ldc + k IG_VW ..] (+)= sum_{q < K} a[r ar + q ak] b[q ldb + k IG_VW ..] for r < R, k < CV. */
static inline __attribute__((always_inline)) void wg_block(const float *a, int64_t ar, int64_t ak, const float *b,
                                                           int64_t ldb, int64_t K, float *c, int64_t ldc, bool first,
                                                           const int R, const int CV)
{
    ig_vf acc[WG_RMAX][WG_CV];
    for (int r = 0; r < R; r++)
        for (int k = 0; k < CV; k++) acc[r][k] = first ? vzero() : vload(c + r * ldc + k * IG_VW);
    for (int64_t q = 0; q < K; q++, a += ak, b += ldb) {
        ig_vf bv[WG_CV];
        for (int k = 0; k < CV; k++) bv[k] = vload(b + k * IG_VW);
        for (int r = 0; r < R; r++) {
            ig_vf s = vset1(a[r * ar]);
            for (int k = 0; k < CV; k++) acc[r][k] += s * bv[k];
        }
    }
    for (int r = 0; r < R; r++)
        for (int k = 0; k < CV; k++) vstore(c + r * ldc + k * IG_VW, acc[r][k]);
}

/* All `rows` rows of one strip of CV vectors: blocks of WG_ROWS(CV) rows, then the rest in blocks of
 * 16, 8, 4, 2 and 1 rows (each size a constant, so its accumulators stay in registers). */
static inline __attribute__((always_inline)) void wg_rows(const float *a, int64_t ar, int64_t ak, const float *b,
                                                          int64_t ldb, int64_t K, float *c, int64_t ldc, int64_t rows,
                                                          bool first, const int CV)
{
    const int R = WG_ROWS(CV);
    int64_t t = 0;
    for (; t + R <= rows; t += R) wg_block(a + t * ar, ar, ak, b, ldb, K, c + t * ldc, ldc, first, R, CV);
    for (int part = 16; part >= 1; part /= 2)
        if (part < R && ((rows - t) & part)) {
            switch (part) {
            case 16: wg_block(a + t * ar, ar, ak, b, ldb, K, c + t * ldc, ldc, first, 16 < R ? 16 : 1, CV); break;
            case 8: wg_block(a + t * ar, ar, ak, b, ldb, K, c + t * ldc, ldc, first, 8 < R ? 8 : 1, CV); break;
            case 4: wg_block(a + t * ar, ar, ak, b, ldb, K, c + t * ldc, ldc, first, 4 < R ? 4 : 1, CV); break;
            case 2: wg_block(a + t * ar, ar, ak, b, ldb, K, c + t * ldc, ldc, first, 2, CV); break;
            default: wg_block(a + t * ar, ar, ak, b, ldb, K, c + t * ldc, ldc, first, 1, CV); break;
            }
            t += part;
        }
}

void IG_ISA_FN(ig_cpu_wino_point_gemm)(const float *A, int64_t ar, int64_t ak, const float *B, int64_t ldb, int64_t rows,
                                       int64_t K, int64_t nvec, float *C, int64_t ldc, bool accumulate)
{
#if IG_WINO_BLAS
    /* A is [rows][K] (ak == 1, rows ar apart) or [K][rows] (ar == 1, K rows ak apart) */
    cblas_sgemm(CblasRowMajor, ak == 1 ? CblasNoTrans : CblasTrans, CblasNoTrans, (blasint)rows,
                (blasint)(nvec * IG_VW), (blasint)K, 1.0f, A, (blasint)(ak == 1 ? ar : ak), B, (blasint)ldb,
                accumulate ? 1.0f : 0.0f, C, (blasint)ldc);
    return;
#endif
    int64_t nkb = (K + WG_KC - 1) / WG_KC, kb = (K + nkb - 1) / nkb;   /* equal K blocks of at most WG_KC */
    for (int64_t k0 = 0; k0 < K; k0 += kb) {
        int64_t kc = K - k0 < kb ? K - k0 : kb;
        bool first = k0 == 0 && !accumulate;
        for (int64_t j = 0; j < nvec; j += WG_CV) {
            const float *a = A + k0 * ak, *b = B + k0 * ldb + j * IG_VW;
            float *c = C + j * IG_VW;
            switch (nvec - j < WG_CV ? nvec - j : WG_CV) {
            case 1: wg_rows(a, ar, ak, b, ldb, kc, c, ldc, rows, first, 1); break;
#if WG_CV > 2
            case 2: wg_rows(a, ar, ak, b, ldb, kc, c, ldc, rows, first, 2); break;
#endif
#if WG_CV > 3
            case 3: wg_rows(a, ar, ak, b, ldb, kc, c, ldc, rows, first, 3); break;
#endif
            default: wg_rows(a, ar, ak, b, ldb, kc, c, ldc, rows, first, WG_CV); break;
            }
        }
    }
}
