/* CPU direct convolution for few input channels (the paper CNN's conv1, 3 -> 32), stride 1: forward (register blocks of output channels x pixel vectors, the weight broadcast per tap) and weight gradient (channels x taps, summed over pixel vectors); compiled once per ISA. */
#include "ig_cpu_isa.h"
#include "ig_cpu_simd.h"
#include "ig_cpu_util.h"
#include <string.h>

/* Full unrolling of the register-block loops before scalar replacement: without it GCC may keep the
 * accumulators in memory (measured: 16 stores per pixel vector in the weight-gradient loop). */
#define IG_UNROLL _Pragma("GCC unroll 16")

/*
 * y[N,O,Ho,Wo] = conv(x[N,C,H,W], w) + bias, stride 1, padding ph/pw (any sign), w [O,C,KH,KW]
 * (or, rotated, the [C,O,KH,KW] kernel of a forward conv turned by 180 degrees: its backward-data
 * pass). With K = C*KH*KW = 27, im2col + sgemm writes and re-reads a 27 x N*P matrix and runs a
 * sgemm whose depth is too short to amortise its packing; here the output is computed in place:
 *   - each work unit (image n, block of output rows) first copies the input rows it reads, zero
 *     padded, to Xp[C][rows + KH - 1][ld] (ld = Wo rounded up to IG_VW, + KW - 1), so every tap
 *     of every pixel vector is one unaligned load without a mask or a border test;
 *   - the output plane is walked as vectors of IG_VW pixels along a row (the last one of a row
 *     masked at the store); a register block of OB channels x PB pixel vectors accumulates
 *     over the C*KH*KW taps: PB loads and OB*PB FMAs per tap, the OB weights broadcast from a
 *     repacked Wb[O/OB][tap][OB];
 *   - the bias starts the accumulators; every output is written once, by one thread, with a
 *     fixed order of taps, so the result does not depend on the schedule.
 */

/* Register blocking per ISA (accumulators + PB input vectors within the register file):
 * AVX-512 32 zmm: 8 x 3 = 24 + 3; AVX2 16 ymm: 4 x 3 = 12 + 3 (+1 broadcast); plain C the same as AVX2. */
#if defined(IG_SIMD_AVX512)
#define OB 8
#define PB 3
#else
#define OB 4
#define PB 3
#endif

/* The shapes where it beat im2col + sgemm, measured (1 thread, 64 images, median of 3, GFLOP/s
 * direct / im2col): AVX-512 conv1 (3 -> 32, 32x32) 136/50, 8 -> 32 2.0x, 16 -> 32 1.7x, 16 -> 64 on
 * 16x16 1.6x but 0.88x on 8x8, 4 -> 32 on 8x8 1.12x, 3 -> 32 on 6x6 0.90x, 5x5 kernels 1.8x, 16 -> 3
 * 1.3x; AVX2 conv1 83/51, 16 -> 64 on 8x8 1.2x, 3 -> 32 on 4x4 1.03x. So: stride 1, up to 16
 * input channels, rows of at least one vector (half a vector with up to 4 channels). The plain C
 * build (4 lanes, no FMA) was 0.76..1.14x: never in auto. The weight gradient (weight) sums
 * over each image's pixel vectors in short blocks: measured (1 thread) 2.4x AVX-512 and 1.9x AVX2
 * on conv1, 1.2..1.5x with 4 channels on 16x16, 2.6x on 3 -> 16 64x64, but 0.6..0.9x on 8x8 and
 * 0.7..1.3x with 8..16 channels: up to 4 input channels on planes of at least 16x16 pixels. */
bool IG_ISA_FN(ig_cpu_direct_suits)(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int64_t out_h,
                                    int64_t out_w, bool weight)
{
    (void)cout;
#if defined(IG_SIMD_AVX512) || defined(IG_SIMD_AVX2)
    if (weight) return sh == 1 && sw == 1 && kh <= 7 && kw <= 7 && cin <= 4 && out_w >= IG_VW && out_h * out_w >= 256;
    bool rows = cin <= 4 ? out_w >= IG_VW / 2 : cin <= 16 && out_w >= IG_VW;
    return sh == 1 && sw == 1 && kh <= 7 && kw <= 7 && rows;
#else
    (void)cin, (void)kh, (void)kw, (void)sh, (void)sw, (void)out_h, (void)out_w, (void)weight;
    return false;
#endif
}

/* Geometry of one call: per unit, rows [oh0, oh0 + RB) of one image. */
struct dgeom {
    int64_t N, C, H, W, O, KH, KW, Ho, Wo, ph, pw;
    int64_t ld, nv, ntap, nob;   /* padded row length, vectors per output row, taps, output-channel blocks */
    int64_t RB, nrb;             /* output rows per unit, units per image */
    int64_t xp_floats;           /* one thread's padded input block */
};

/* Xp[c][r][q] = x[n][c][oh0 + r - ph][q - pw], 0 outside the image, for r < rows + KH - 1, q < ld
 * (channel stride RB + KH - 1 rows). */
static void pad_rows(const struct dgeom *g, const float *xn, int64_t oh0, int64_t rows, float *xp)
{
    int64_t hp = g->RB + g->KH - 1;
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t r = 0; r < rows + g->KH - 1; r++) {
            float *d = xp + (c * hp + r) * g->ld;
            int64_t ih = oh0 + r - g->ph;
            if (ih < 0 || ih >= g->H) {
                memset(d, 0, (size_t)g->ld * sizeof(float));
                continue;
            }
            /* d[q] = s[q - pw] for q in [lo, hi), 0 elsewhere */
            const float *s = xn + (c * g->H + ih) * g->W;
            int64_t lo = g->pw < 0 ? 0 : (g->pw > g->ld ? g->ld : g->pw);
            int64_t hi = g->W + g->pw < lo ? lo : (g->W + g->pw > g->ld ? g->ld : g->W + g->pw);
            memset(d, 0, (size_t)lo * sizeof(float));
            memcpy(d + lo, s + lo - g->pw, (size_t)(hi - lo) * sizeof(float));
            memset(d + hi, 0, (size_t)(g->ld - hi) * sizeof(float));
        }
}

/* Wb[b][t][OB] = weight of output channel b*OB + j at tap t = (c*KH + kh)*KW + kw (0 past O), and
 * bb[b*OB + j] = bias (0 without one). */
static void repack(const struct dgeom *g, const float *w, bool rotated, const float *bias, float *wb, float *bb)
{
    int64_t kk = g->KH * g->KW;
    for (int64_t b = 0; b < g->nob; b++)
        for (int64_t t = 0; t < g->ntap; t++)
            for (int64_t j = 0; j < OB; j++) {
                int64_t o = b * OB + j, c = t / kk, k = t % kk;
                float v = 0.0f;
                if (o < g->O) v = rotated ? w[(c * g->O + o) * kk + (kk - 1 - k)] : w[(o * g->C + c) * kk + k];
                wb[(b * g->ntap + t) * OB + j] = v;
            }
    for (int64_t o = 0; o < g->nob * OB; o++) bb[o] = bias && o < g->O ? bias[o] : 0.0f;
}

/* The pixel vectors of one block: where each reads (in Xp, tap (0,0,0)) and writes (in the plane), and its lanes. */
struct pix {
    int64_t in[PB], out[PB];
    ig_vmask m[PB];
    bool full[PB];
};

/* One register block: np (PB or 1) pixel vectors x OB channels, of which orem are stored. */
static inline __attribute__((always_inline)) void block(const struct dgeom *g, const float *xp, const int64_t *toff,
                                                        const float *wb, const float *bb, const struct pix *px, int np,
                                                        float *y, int64_t plane, int64_t orem)
{
    ig_vf acc[OB][PB];
    IG_UNROLL for (int j = 0; j < OB; j++)
        IG_UNROLL for (int p = 0; p < np; p++) acc[j][p] = vset1(bb[j]);
    for (int64_t t = 0; t < g->ntap; t++) {
        const float *s = xp + toff[t];
        const float *wt = wb + t * OB;
        ig_vf xv[PB];
        IG_UNROLL for (int p = 0; p < np; p++) xv[p] = vloadu(s + px->in[p]);
        IG_UNROLL for (int j = 0; j < OB; j++)
            IG_UNROLL for (int p = 0; p < np; p++) acc[j][p] += wt[j] * xv[p];
    }
    IG_UNROLL for (int j = 0; j < OB; j++) {
        if (j >= orem) break;
        IG_UNROLL for (int p = 0; p < np; p++) {
            float *d = y + j * plane + px->out[p];
            if (px->full[p]) vstoreu(d, acc[j][p]);
            else vstore_mask(d, px->m[p], acc[j][p]);
        }
    }
}

static void block_full(const struct dgeom *g, const float *xp, const int64_t *toff, const float *wb, const float *bb,
                       const struct pix *px, float *y, int64_t plane, int64_t orem)
{
    block(g, xp, toff, wb, bb, px, PB, y, plane, orem);
}

static void block_one(const struct dgeom *g, const float *xp, const int64_t *toff, const float *wb, const float *bb,
                      const struct pix *px, float *y, int64_t plane, int64_t orem)
{
    block(g, xp, toff, wb, bb, px, 1, y, plane, orem);
}

/* Pixel vector v0 + p (of rows*nv in the unit) for p < np. */
static void pix_at(const struct dgeom *g, int64_t v0, int np, struct pix *px)
{
    for (int p = 0; p < np; p++) {
        int64_t r = (v0 + p) / g->nv, k = (v0 + p) % g->nv;
        px->in[p] = r * g->ld + k * IG_VW;
        px->out[p] = r * g->Wo + k * IG_VW;
        px->full[p] = (k + 1) * IG_VW <= g->Wo;
        px->m[p] = vmask_range(0, g->Wo - k * IG_VW);
    }
}

/* Rows [oh0, oh0 + rows) of image n: pad, then every channel block x pixel block. */
static void unit(const struct dgeom *g, const float *x, const float *wb, const float *bb, const int64_t *toff,
                 int64_t n, int64_t oh0, int64_t rows, float *xp, float *y)
{
    pad_rows(g, x + n * g->C * g->H * g->W, oh0, rows, xp);
    int64_t plane = g->Ho * g->Wo, nvec = rows * g->nv;
    float *yn = y + n * g->O * plane + oh0 * g->Wo;
    for (int64_t b = 0; b < g->nob; b++) {
        const float *wbb = wb + b * g->ntap * OB;
        float *yb = yn + b * OB * plane;
        int64_t orem = g->O - b * OB;
        struct pix px;
        int64_t v = 0;
        for (; v + PB <= nvec; v += PB) {
            pix_at(g, v, PB, &px);
            block_full(g, xp, toff, wbb, bb + b * OB, &px, yb, plane, orem);
        }
        for (; v < nvec; v++) {
            pix_at(g, v, 1, &px);
            block_one(g, xp, toff, wbb, bb + b * OB, &px, yb, plane, orem);
        }
    }
}

static struct dgeom dgeom_of(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t KH, int64_t KW, int ph,
                             int pw, int64_t Ho, int64_t Wo, int nth)
{
    struct dgeom g = {.N = N, .C = C, .H = H, .W = W, .O = O, .KH = KH, .KW = KW, .Ho = Ho, .Wo = Wo, .ph = ph, .pw = pw};
    g.nv = (Wo + IG_VW - 1) / IG_VW;
    g.ld = g.nv * IG_VW + KW - 1;
    g.ntap = C * KH * KW;
    g.nob = (O + OB - 1) / OB;
    /* enough units to balance the threads (4 per thread), whole images when the batch allows */
    int64_t want = (4 * (int64_t)nth + N - 1) / N;
    g.nrb = want < 1 ? 1 : (want > Ho ? Ho : want);
    g.RB = (Ho + g.nrb - 1) / g.nrb;
    g.nrb = (Ho + g.RB - 1) / g.RB;
    g.xp_floats = (C * (g.RB + KH - 1) * g.ld + 15) & ~(int64_t)15;
    return g;
}

enum ig_status IG_ISA_FN(ig_cpu_direct_conv)(struct ig_backend *be, const float *x, int64_t N, int64_t C, int64_t H,
                                             int64_t W, const float *w, bool rotated, int64_t O, int64_t KH, int64_t KW,
                                             int ph, int pw, const float *bias, float *y, int64_t Ho, int64_t Wo)
{
    if (N == 0 || O == 0 || Ho <= 0 || Wo <= 0) return IG_OK;
    int64_t flops = 2 * N * O * Ho * Wo * C * KH * KW;
    int nth = flops < (int64_t)1 << 21 ? 1 : ig_cpu_max_threads();
    struct dgeom g = dgeom_of(N, C, H, W, O, KH, KW, ph, pw, Ho, Wo, nth);
    int64_t wb_floats = (g.nob * g.ntap * OB + 15) & ~(int64_t)15, bb_floats = (g.nob * OB + 15) & ~(int64_t)15;
    int64_t toff_floats = (g.ntap * 2 + 15) & ~(int64_t)15;   /* int64_t taps stored in float slots */
    float *scr = ig_backend_scratch(be, (size_t)(wb_floats + bb_floats + toff_floats + g.xp_floats * nth) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    float *wb = scr, *bb = wb + wb_floats, *xps = bb + bb_floats + toff_floats;
    int64_t *toff = (int64_t *)(bb + bb_floats);
    repack(&g, w, rotated, bias, wb, bb);
    int64_t hp = g.RB + KH - 1;
    for (int64_t t = 0; t < g.ntap; t++) {
        int64_t c = t / (KH * KW), kh = (t / KW) % KH, kw = t % KW;
        toff[t] = (c * hp + kh) * g.ld + kw;
    }
    int64_t units = N * g.nrb;
    IG_OMP(omp parallel for schedule(dynamic, 1) num_threads(nth))
    for (int64_t u = 0; u < units; u++) {
        int64_t n = u / g.nrb, oh0 = (u % g.nrb) * g.RB;
        int64_t rows = oh0 + g.RB <= Ho ? g.RB : Ho - oh0;
        unit(&g, x, wb, bb, toff, n, oh0, rows, xps + ig_cpu_thread_id() * g.xp_floats, y);
    }
    return IG_OK;
}

/* ---------------------------------------------------------------- weight gradient */

/*
 * dw[O,C,KH,KW] = sum over n, oh, ow of dy[n,o,oh,ow] * Xp_n[c][oh + kh][ow + kw], the padded
 * input as above (whole images). A register block of BO channels x BT taps keeps BO*BT vector
 * sums over the pixel vectors of one image: per vector BO dy loads (masked past Wo, so the lanes
 * past the row add nothing), BT input loads, BO*BT FMAs, then adds them to its group's partial. The sums go to a vector partial per
 * image group: G = min(N, 16) fixed groups of consecutive images (not the thread count), each
 * summed in image order; the partials are added in group order, then each vector's lanes, so the
 * result does not depend on the schedule. Channel and tap tails read channel O-1 / tap 0 into slots
 * that are never summed.
 */
/* Register blocking: AVX-512 3 x 7 = 21 sums + 3 dy + 7 input vectors of 32 zmm (measured, 1 thread,
 * conv1: 3x7 77, 2x9 78, 5x4 73, 6x3 68, 8x2 63 GFLOP/s: fewer, longer blocks win, not fewer loads);
 * AVX2 3 x 3 = 9 + 6 of 16 ymm. */
#if defined(IG_SIMD_AVX512)
#define BO 3
#define BT 7
#else
#define BO 3
#define BT 3
#endif
#define BWD_GROUPS 16

/* Per-call tables of the weight gradient: the padded tap grid and the lanes of each vector of a row. */
struct wtab {
    int64_t nbo, nbt, tpad;   /* channel blocks, tap blocks, taps rounded to BT */
    const int64_t *toff;      /* [tpad]: tap offsets in Xp (0 for the tail) */
    const ig_vmask *m;        /* [nv]: lanes before Wo of vector k of a row */
};

/* acc[j][t] over every pixel vector of one image for channels o0+j (clamped) and taps t0+t, added to part. */
static void wblock(const struct dgeom *g, const struct wtab *tb, const float *xp, const float *dyn, int64_t o0,
                   int64_t t0, float *part)
{
    int64_t plane = g->Ho * g->Wo;
    const float *dyj[BO], *xt[BT];
    IG_UNROLL for (int j = 0; j < BO; j++) dyj[j] = dyn + (o0 + j < g->O ? o0 + j : g->O - 1) * plane;
    IG_UNROLL for (int t = 0; t < BT; t++) xt[t] = xp + tb->toff[t0 + t];
    ig_vf acc[BO][BT];
    IG_UNROLL for (int j = 0; j < BO; j++)
        IG_UNROLL for (int t = 0; t < BT; t++) acc[j][t] = vzero();
    const ig_vmask *ms = tb->m;
    /* vector k of row r reads Xp at io = r*ld + k*IG_VW and dy at oo = r*Wo + k*IG_VW */
    int64_t nvec = g->Ho * g->nv, nv = g->nv, io_step = g->ld - nv * IG_VW, oo_step = g->Wo - nv * IG_VW;
    for (int64_t v = 0, k = 0, io = 0, oo = 0; v < nvec; v++) {
        ig_vf d[BO], xv[BT];
        ig_vmask m = ms[k];   /* lanes before the row end */
        IG_UNROLL for (int j = 0; j < BO; j++) d[j] = vload_mask(dyj[j] + oo, m);
        IG_UNROLL for (int t = 0; t < BT; t++) xv[t] = vloadu(xt[t] + io);
        IG_UNROLL for (int j = 0; j < BO; j++)
            IG_UNROLL for (int t = 0; t < BT; t++) acc[j][t] += d[j] * xv[t];
        io += IG_VW, oo += IG_VW;
        if (++k == nv) k = 0, io += io_step, oo += oo_step;
    }
    IG_UNROLL for (int j = 0; j < BO; j++)
        IG_UNROLL for (int t = 0; t < BT; t++) {
            float *p = part + ((o0 + j) * tb->tpad + t0 + t) * IG_VW;
            vstore(p, vload(p) + acc[j][t]);
        }
}

/* Partial part[Opad][tpad][IG_VW] (overwritten) of images [n0, n1). */
static void wgroup(const struct dgeom *g, const struct wtab *tb, const float *x, const float *dy, int64_t n0,
                   int64_t n1, float *xp, float *part)
{
    memset(part, 0, (size_t)(tb->nbo * BO * tb->tpad * IG_VW) * sizeof(float));
    for (int64_t n = n0; n < n1; n++) {
        pad_rows(g, x + n * g->C * g->H * g->W, 0, g->Ho, xp);
        const float *dyn = dy + n * g->O * g->Ho * g->Wo;
        for (int64_t b = 0; b < tb->nbo; b++)
            for (int64_t s = 0; s < tb->nbt; s++) wblock(g, tb, xp, dyn, b * BO, s * BT, part);
    }
}

/* The tap offsets in tab (int64 slots), then the row masks after them. */
static void wtab_fill(const struct dgeom *g, struct wtab *tb, int64_t *tab)
{
    tb->nbo = (g->O + BO - 1) / BO;
    tb->nbt = (g->ntap + BT - 1) / BT;
    tb->tpad = tb->nbt * BT;
    int64_t *toff = tab, hp = g->Ho + g->KH - 1;
    ig_vmask *m = (ig_vmask *)(tab + ((tb->tpad + 7) & ~(int64_t)7));   /* 64-byte aligned */
    for (int64_t k = 0; k < g->nv; k++) m[k] = vmask_range(0, g->Wo - k * IG_VW);
    for (int64_t t = 0; t < tb->tpad; t++) {
        int64_t c = t / (g->KH * g->KW), kh = (t / g->KW) % g->KH, kw = t % g->KW;
        toff[t] = t < g->ntap ? (c * hp + kh) * g->ld + kw : 0;
    }
    tb->toff = toff, tb->m = m;
}

enum ig_status IG_ISA_FN(ig_cpu_direct_bwd_weight)(struct ig_backend *be, const float *x, const float *dy, int64_t N,
                                                   int64_t C, int64_t H, int64_t W, int64_t O, int64_t KH, int64_t KW,
                                                   int ph, int pw, int64_t Ho, int64_t Wo, float *dw)
{
    int64_t ntap = C * KH * KW;
    if (O == 0 || ntap == 0) return IG_OK;
    if (N == 0 || Ho <= 0 || Wo <= 0) {
        memset(dw, 0, (size_t)(O * ntap) * sizeof(float));
        return IG_OK;
    }
    int64_t flops = 2 * N * O * Ho * Wo * ntap;
    int nth = flops < (int64_t)1 << 21 ? 1 : ig_cpu_max_threads();
    struct dgeom g = dgeom_of(N, C, H, W, O, KH, KW, ph, pw, Ho, Wo, 1);
    g.RB = Ho, g.nrb = 1;
    g.xp_floats = (C * (Ho + KH - 1) * g.ld + 15) & ~(int64_t)15;
    int64_t G = N < BWD_GROUPS ? N : BWD_GROUPS, tpad = (ntap + BT - 1) / BT * BT;
    int64_t part_floats = ((O + BO - 1) / BO * BO) * tpad * IG_VW;
    /* tables: toff (int64), padding, row masks (one vector each); in float slots */
    int64_t tab_floats = ((tpad + 8) * 2 + g.nv * IG_VW + 15) & ~(int64_t)15;
    float *scr = ig_backend_scratch(be, (size_t)(tab_floats + g.xp_floats * nth + part_floats * G) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    struct wtab tb;
    wtab_fill(&g, &tb, (int64_t *)scr);
    float *xps = scr + tab_floats, *parts = xps + g.xp_floats * nth;
    IG_OMP(omp parallel for schedule(dynamic, 1) num_threads(nth))
    for (int64_t gi = 0; gi < G; gi++)
        wgroup(&g, &tb, x, dy, N * gi / G, N * (gi + 1) / G, xps + ig_cpu_thread_id() * g.xp_floats,
               parts + gi * part_floats);
    /* partial 0 += partials 1 .. G-1 in order (vectors), then the lanes of each (o, tap) */
    for (int64_t gi = 1; gi < G; gi++)
        for (int64_t i = 0; i < part_floats; i += IG_VW)
            vstore(parts + i, vload(parts + i) + vload(parts + gi * part_floats + i));
    for (int64_t o = 0; o < O; o++)
        for (int64_t t = 0; t < ntap; t++) {
            const float *p = parts + (o * tpad + t) * IG_VW;
            float s = 0.0f;
            for (int l = 0; l < IG_VW; l++) s += p[l];
            dw[o * ntap + t] = s;
        }
    return IG_OK;
}
