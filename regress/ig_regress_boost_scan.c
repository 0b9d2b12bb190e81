/* regress boosting split scan: one 16-feature block's histograms and its 256-bin scan, compiled once per instruction set (generic, AVX2, AVX-512; ig_regress_isa.c picks one at fit time). */
#include "ig_regress_internal.h"

/*
 * The block functions of ig_regress_boost_tree.c's split search (the algorithm is described
 * there). The 16 features of a block are the SIMD lanes of the scan: one 512-bit vector on
 * AVX-512, two 256-bit ones on AVX2, four SSE2 vectors on the x86-64 baseline (with spills:
 * the portable build ran the scan at 0.4-0.5x the speed of the AVX-512 one). Every flavour is
 * built with -ffp-contract=off and the lanes do the same IEEE operations in the same order, so
 * every ISA chooses the same splits, bit for bit (test_regress: ISA parity).
 */
#if defined(IG_RSIMD_AVX512)
#define IG_RSCAN_ISA IG_REGRESS_ISA_AVX512
#define IG_RSCAN_TABLE ig_boost_scan_avx512
#elif defined(IG_RSIMD_AVX2)
#define IG_RSCAN_ISA IG_REGRESS_ISA_AVX2
#define IG_RSCAN_TABLE ig_boost_scan_avx2
#else
#define IG_RSCAN_ISA IG_REGRESS_ISA_GENERIC
#define IG_RSCAN_TABLE ig_boost_scan_generic
#endif

/* Packed (+-1 gradients) block: builds and scans features [f0, f0+w), leaves hist zeroed. */
static void block_packed(const uint8_t *codes, size_t d, const int32_t *idx, const int32_t *pk, size_t m, int f0, int w,
                         int32_t *h, double n, double s, double msl, struct ig_gsplit *best)
{
    if (w == IG_RSCAN_W) {
        for (size_t p = 0; p < m; p++) {
            const uint8_t *row = codes + (size_t)idx[p] * d + f0;
            /* rows are d bytes apart: fetch a few ahead */
            if (p + 8 < m) __builtin_prefetch(codes + (size_t)idx[p + 8] * d + f0);
            int32_t v = pk[p];
            for (int j = 0; j < IG_RSCAN_W; j++) h[row[j] * IG_RSCAN_W + j] += v;
        }
    } else {
        for (size_t p = 0; p < m; p++) {
            const uint8_t *row = codes + (size_t)idx[p] * d + f0;
            int32_t v = pk[p];
            for (int j = 0; j < w; j++) h[row[j] * IG_RSCAN_W + j] += v;
        }
    }
    int32_t acc[IG_RSCAN_W];
    float bn[IG_RSCAN_W], bd[IG_RSCAN_W];
    int32_t bb[IG_RSCAN_W];
    for (int j = 0; j < IG_RSCAN_W; j++) {
        acc[j] = 0;
        bn[j] = -1.0f;
        bd[j] = 1.0f;
        bb[j] = -1;
    }
    const float fn = (float)n, fs = (float)s, fmsl = (float)msl;
    /* float lanes (16 per 512-bit vector), scores compared by cross-multiplication: a divide
     * per bin would bound the loop by the divider. With FMA contraction off the rounding is
     * the same on every machine, so the chosen split is reproducible. */
    for (int b = 0; b < IG_RBINS; b++) {
        int32_t *hb = h + b * IG_RSCAN_W;
        for (int j = 0; j < IG_RSCAN_W; j++) {
            acc[j] += hb[j];
            hb[j] = 0;
            float nl = (float)(acc[j] >> 16), pl = (float)(acc[j] & 0xffff);
            float sl = 2.0f * pl - nl, nr = fn - nl;
            float num = fn * sl - nl * fs;
            float num2 = num * num, den = nl * nr;
            int ok = (nl >= fmsl) & (nr >= fmsl) & (num2 * bd[j] > bn[j] * den);
            bn[j] = ok ? num2 : bn[j];
            bd[j] = ok ? den : bd[j];
            bb[j] = ok ? b : bb[j];
        }
    }
    for (int j = 0; j < w; j++)
        if (bb[j] >= 0 && ig_gbetter((double)bn[j] / (double)bd[j], 1.0, f0 + j, best)) {
            best->num2 = (double)bn[j] / (double)bd[j];
            best->den = 1.0;
            best->feature = f0 + j;
            best->bin = bb[j];
        }
}

/* General block: double count and gradient-sum histograms. */
static void block_float(const uint8_t *codes, size_t d, const int32_t *idx, const double *gd, size_t m, int f0, int w,
                        double *hc, double *hs, double n, double s, double msl, struct ig_gsplit *best)
{
    for (size_t p = 0; p < m; p++) {
        const uint8_t *row = codes + (size_t)idx[p] * d + f0;
        double v = gd[p];
        for (int j = 0; j < w; j++) {
            hc[row[j] * IG_RSCAN_W + j] += 1.0;
            hs[row[j] * IG_RSCAN_W + j] += v;
        }
    }
    double cl[IG_RSCAN_W], sl[IG_RSCAN_W], bn[IG_RSCAN_W], bd[IG_RSCAN_W];
    int32_t bb[IG_RSCAN_W];
    for (int j = 0; j < IG_RSCAN_W; j++) {
        cl[j] = sl[j] = 0.0;
        bn[j] = -1.0;
        bd[j] = 1.0;
        bb[j] = -1;
    }
    for (int b = 0; b < IG_RBINS; b++) {
        double *cb = hc + b * IG_RSCAN_W, *sb = hs + b * IG_RSCAN_W;
        for (int j = 0; j < IG_RSCAN_W; j++) {
            cl[j] += cb[j];
            sl[j] += sb[j];
            cb[j] = 0.0;
            sb[j] = 0.0;
            double nl = cl[j], nr = n - nl;
            double num = n * sl[j] - nl * s;
            double num2 = num * num, den = nl * nr;
            int ok = (nl >= msl) & (nr >= msl) & (num2 * bd[j] > bn[j] * den);
            bn[j] = ok ? num2 : bn[j];
            bd[j] = ok ? den : bd[j];
            bb[j] = ok ? b : bb[j];
        }
    }
    for (int j = 0; j < w; j++)
        if (bb[j] >= 0 && ig_gbetter(bn[j], bd[j], f0 + j, best)) {
            best->num2 = bn[j];
            best->den = bd[j];
            best->feature = f0 + j;
            best->bin = bb[j];
        }
}

const struct ig_boost_scan IG_RSCAN_TABLE = {.isa = IG_RSCAN_ISA, .packed = block_packed, .flt = block_float};
