/* CPU conv2d kernels: per-thread pipelines of masked im2col/col2im around single-threaded OpenBLAS sgemm over image chunks (Winograd F(2x2,3x3) for suitable 3x3 layers, a direct kernel for few input channels); compiled once per ISA. */
#include "ig_cpu_isa.h"
#include "ig_cpu_simd.h"
#include "ig_cpu_util.h"
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Geometry of one conv call; K = C*KH*KW is the GEMM depth, P = Ho*Wo pixels per image. */
struct conv_geom {
    int64_t N, C, H, W, O, KH, KW, Ho, Wo, K, P;
    int sh, sw, ph, pw;
};

static struct conv_geom geom(const struct ig_tensor *x, const struct ig_tensor *w, const struct ig_tensor *y,
                             const struct ig_conv2d_params *p)
{
    struct conv_geom g;
    g.N = x->shape[0], g.C = x->shape[1], g.H = x->shape[2], g.W = x->shape[3];
    g.O = w->shape[0], g.KH = w->shape[2], g.KW = w->shape[3];
    g.Ho = y->shape[2], g.Wo = y->shape[3];
    g.K = g.C * g.KH * g.KW;
    g.P = g.Ho * g.Wo;
    g.sh = p->stride_h, g.sw = p->stride_w, g.ph = p->pad_h, g.pw = p->pad_w;
    return g;
}

/* How the N images are shared: the batch is cut into chunks of nb images (one sgemm each);
 * nth threads take chunks dynamically (a thread delayed by other jobs on the machine does not
 * hold the others at the barrier) and run the whole pipeline (im2col, sgemm, scatter) on a
 * private scratch of per_thread floats: [K rows + O rows] x nb*P (im2col block, then the
 * gathered/ungathered [O, nb*P] block). With fewer images than threads, one pipeline runs on
 * the calling thread with threaded OpenBLAS.
 * Measured on the paper CNN (1 thread, CPU time): 1 MiB blocks with >= 512 columns beat
 * 2..16 MiB blocks and >= 1024/2048 columns by 5-15%. */
struct conv_plan {
    int nth;
    bool blas_threads;
    int64_t nb, per_thread;
    int64_t groups;   /* backward weight: fixed partial-sum groups */
};

/* Partial-sum groups of the weight gradient: fixed (not the thread count), so results do not
 * depend on scheduling; enough groups to balance 2..8 threads. */
#define BWD_WEIGHT_GROUPS 8

/* Target size of one thread's im2col block: big enough for an efficient sgemm (nb*P columns),
 * small enough to stay in the outer caches between im2col and the sgemm that reads it. */
#define CHUNK_BYTES ((int64_t)1 << 20)
#define MIN_COLS 512

static struct conv_plan plan(const struct conv_geom *g)
{
    struct conv_plan pl;
    int maxt = ig_cpu_max_threads();
    pl.blas_threads = g->N < maxt;
    pl.nth = pl.blas_threads ? 1 : maxt;
    int64_t ipt = (g->N + pl.nth - 1) / pl.nth;          /* images per thread */
    int64_t per = g->K * g->P * (int64_t)sizeof(float);
    int64_t nb = per > 0 ? CHUNK_BYTES / per : ipt;
    /* but at least MIN_COLS columns, so that OpenBLAS's packing of w is amortised */
    if (nb * g->P < MIN_COLS) nb = (MIN_COLS + g->P - 1) / g->P;
    if (nb < 1) nb = 1;
    if (nb > ipt) nb = ipt;
    int64_t chunks = (ipt + nb - 1) / nb;
    pl.nb = (ipt + chunks - 1) / chunks;                    /* even chunks */
    pl.per_thread = ((g->K + g->O) * pl.nb * g->P + 15) & ~(int64_t)15;   /* 64-byte aligned slices */
    pl.groups = 1;
    return pl;
}

/* Short-row copy loops must stay inline loops: GCC would otherwise turn them into memcpy/memset
 * calls whose per-call cost exceeds an 8..32-float copy. */
#if defined(__GNUC__) && !defined(__clang__)
#define IG_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define IG_NO_LIBCALLS
#endif

/* One im2col row segment: dst[oh*Wo+ow] = x plane value under kernel tap (kh,kw), 0 in the padding. */
IG_NO_LIBCALLS static void im2col_row(const struct conv_geom *g, const float *xp, int64_t kh, int64_t kw, float *dst)
{
    for (int64_t oh = 0; oh < g->Ho; oh++, dst += g->Wo) {
        int64_t ih = oh * g->sh - g->ph + kh;
        if (ih < 0 || ih >= g->H) {
            for (int64_t ow = 0; ow < g->Wo; ow++) dst[ow] = 0.0f;
            continue;
        }
        const float *src = xp + ih * g->W;
        if (g->sw == 1) {
            /* iw = ow - pw + kw is valid for ow in [lo, hi) */
            int64_t lo = g->pw - kw, hi = g->W + g->pw - kw;
            if (lo < 0) lo = 0;
            if (lo > g->Wo) lo = g->Wo;
            if (hi > g->Wo) hi = g->Wo;
            if (hi < lo) hi = lo;
            const float *s = src - g->pw + kw;   /* dst[ow] = s[ow] on [lo, hi), 0 elsewhere */
            /* rows are short (8..32 floats in the paper CNN): one masked load/store per IG_VW floats,
             * masked-off lanes read nothing (no access before the row start) and store zeros */
            for (int64_t o0 = 0; o0 < g->Wo; o0 += IG_VW)
                vstore_mask(dst + o0, vmask_range(0, g->Wo - o0), vload_mask(s + o0, vmask_range(lo - o0, hi - o0)));
        } else {
            for (int64_t ow = 0; ow < g->Wo; ow++) {
                int64_t iw = ow * g->sw - g->pw + kw;
                dst[ow] = (iw >= 0 && iw < g->W) ? src[iw] : 0.0f;
            }
        }
    }
}

/* Stride-1 fast paths for rows of at most 64 floats (64 / IG_VW vectors): the lane masks depend
 * only on the kernel column, so they are computed once per tap instead of once per row. */
#define S1_MAX_CHUNKS (64 / IG_VW)
static bool s1_fast(const struct conv_geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->Wo <= IG_VW * S1_MAX_CHUNKS && g->W <= IG_VW * S1_MAX_CHUNKS;
}

/* Lanes [a, b) of the vector starting at o0, clipped. */
static ig_vmask lane_mask(int64_t o0, int64_t a, int64_t b) { return vmask_range(a - o0, b - o0); }

/* col rows of one (c, kh, kw) tap for one image: dst[oh*Wo + ow] = x[oh-ph+kh][ow-pw+kw] or 0 */
static void im2col_tap_s1(const struct conv_geom *g, const float *xp, int64_t kh, int64_t kw, float *dst)
{
    int64_t nch = (g->Wo + IG_VW - 1) / IG_VW;
    ig_vmask lm[S1_MAX_CHUNKS], sm[S1_MAX_CHUNKS];
    for (int64_t k = 0; k < nch; k++) {
        lm[k] = lane_mask(IG_VW * k, g->pw - kw, g->W + g->pw - kw);  /* ow whose iw is inside the row */
        sm[k] = lane_mask(IG_VW * k, 0, g->Wo);
    }
    const float *base = xp - g->pw + kw;
    for (int64_t oh = 0; oh < g->Ho; oh++, dst += g->Wo) {
        int64_t ih = oh - g->ph + kh;
        bool inside = ih >= 0 && ih < g->H;
        const float *s = base + ih * g->W;
        for (int64_t k = 0; k < nch; k++)
            vstore_mask(dst + IG_VW * k, sm[k], vload_mask(s + IG_VW * k, inside ? lm[k] : vmask_none()));
    }
}

/* dx planes of images [n0, n0+nb) gathered from dcol: each input row sums its KH*KW taps in
 * registers and is stored once (no zeroing pass, no read-modify-write per tap). */
static void col2im_s1(const struct conv_geom *g, const float *dcol, int64_t n0, int64_t nb, float *dx)
{
    int64_t ld = nb * g->P, HW = g->H * g->W, nch = (g->W + IG_VW - 1) / IG_VW;
    ig_vmask tm[16][S1_MAX_CHUNKS], sm[S1_MAX_CHUNKS];
    bool small_kw = g->KW <= 16;
    for (int64_t k = 0; k < nch; k++) {
        sm[k] = lane_mask(IG_VW * k, 0, g->W);
        for (int64_t kw = 0; small_kw && kw < g->KW; kw++)   /* iw with ow = iw+pw-kw in [0, Wo) */
            tm[kw][k] = lane_mask(IG_VW * k, kw - g->pw, g->Wo + kw - g->pw);
    }
    for (int64_t i = 0; i < nb; i++)
        for (int64_t c = 0; c < g->C; c++) {
            float *xp = dx + ((n0 + i) * g->C + c) * HW;
            const float *tap0 = dcol + c * g->KH * g->KW * ld + i * g->P;
            for (int64_t ih = 0; ih < g->H; ih++) {
                ig_vf acc[S1_MAX_CHUNKS];
                for (int64_t k = 0; k < nch; k++) acc[k] = vzero();
                for (int64_t kh = 0; kh < g->KH; kh++) {
                    int64_t oh = ih + g->ph - kh;
                    if (oh < 0 || oh >= g->Ho) continue;
                    for (int64_t kw = 0; kw < g->KW; kw++) {
                        const float *s = tap0 + (kh * g->KW + kw) * ld + oh * g->Wo + g->pw - kw;  /* s[iw] */
                        for (int64_t k = 0; k < nch; k++) {
                            ig_vmask m = small_kw ? tm[kw][k] : lane_mask(IG_VW * k, kw - g->pw, g->Wo + kw - g->pw);
                            acc[k] = acc[k] + vload_mask(s + IG_VW * k, m);
                        }
                    }
                }
                for (int64_t k = 0; k < nch; k++) vstore_mask(xp + ih * g->W + IG_VW * k, sm[k], acc[k]);
            }
        }
}

/* col[K, nb*P] from x[n0 .. n0+nb): column j = i*P + pixel of image i. */
static void im2col(const struct conv_geom *g, const float *x, int64_t n0, int64_t nb, float *col)
{
    int64_t rows = g->K, ld = nb * g->P;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < nb; i++) {
            int64_t c = r / (g->KH * g->KW), kh = (r / g->KW) % g->KH, kw = r % g->KW;
            const float *xp = x + ((n0 + i) * g->C + c) * g->H * g->W;
            if (s1_fast(g)) {
                im2col_tap_s1(g, xp, kh, kw, col + r * ld + i * g->P);
                continue;
            }
            im2col_row(g, xp, kh, kw, col + r * ld + i * g->P);
        }
}

/* dx[n0 .. n0+nb) = col2im(dcol[K, nb*P]) (overwrites dx). */
static void col2im(const struct conv_geom *g, const float *dcol, int64_t n0, int64_t nb, float *dx)
{
    if (s1_fast(g)) {
        col2im_s1(g, dcol, n0, nb, dx);
        return;
    }
    int64_t ld = nb * g->P, HW = g->H * g->W;
    for (int64_t i = 0; i < nb; i++)
        for (int64_t c = 0; c < g->C; c++) {
            float *xp = dx + ((n0 + i) * g->C + c) * HW;
            memset(xp, 0, (size_t)HW * sizeof(float));
            for (int64_t kh = 0; kh < g->KH; kh++)
                for (int64_t kw = 0; kw < g->KW; kw++) {
                    const float *src = dcol + ((c * g->KH + kh) * g->KW + kw) * ld + i * g->P;
                    for (int64_t oh = 0; oh < g->Ho; oh++, src += g->Wo) {
                        int64_t ih = oh * g->sh - g->ph + kh;
                        if (ih < 0 || ih >= g->H) continue;
                        float *drow = xp + ih * g->W;
                        if (g->sw == 1) {
                            int64_t lo = g->pw - kw, hi = g->W + g->pw - kw;
                            if (lo < 0) lo = 0;
                            if (hi > g->Wo) hi = g->Wo;
                            float *d = drow - g->pw + kw;
                            for (int64_t o0 = lo; o0 < hi; o0 += IG_VW) {
                                ig_vmask m = vmask_range(0, hi - o0);
                                vstore_mask(d + o0, m, vload_mask(d + o0, m) + vload_mask(src + o0, m));
                            }
                        } else {
                            for (int64_t ow = 0; ow < g->Wo; ow++) {
                                int64_t iw = ow * g->sw - g->pw + kw;
                                if (iw >= 0 && iw < g->W) drow[iw] += src[ow];
                            }
                        }
                    }
                }
        }
}

/* dst[O, nb*P] <- y-layout src[n0 .. n0+nb)[O, P] (gather), or the reverse (scatter, plus bias). */
static void gather_images(const struct conv_geom *g, const float *src, int64_t n0, int64_t nb, float *dst)
{
    int64_t ld = nb * g->P;
    for (int64_t o = 0; o < g->O; o++)
        for (int64_t i = 0; i < nb; i++)
            memcpy(dst + o * ld + i * g->P, src + ((n0 + i) * g->O + o) * g->P, (size_t)g->P * sizeof(float));
}

static void scatter_images(const struct conv_geom *g, const float *src, const float *bias, int64_t n0, int64_t nb,
                           float *y)
{
    int64_t ld = nb * g->P;
    for (int64_t i = 0; i < nb; i++)
        for (int64_t o = 0; o < g->O; o++) {
            const float *s = src + o * ld + i * g->P;
            float *d = y + ((n0 + i) * g->O + o) * g->P;
            float b = bias ? bias[o] : 0.0f;
            for (int64_t j = 0; j < g->P; j++) d[j] = s[j] + b;
        }
}

static void add_bias(const struct conv_geom *g, const float *bias, int64_t n0, int64_t nb, float *y)
{
    for (int64_t i = 0; i < nb; i++)
        for (int64_t o = 0; o < g->O; o++) {
            float *d = y + ((n0 + i) * g->O + o) * g->P;
            for (int64_t j = 0; j < g->P; j++) d[j] += bias[o];
        }
}

/* Winograd for the 3x3 stride-1 layers where it measured faster on this ISA (ig_cpu_winograd.c);
 * the backend's conv option (IGRADV_CONV) forces either algorithm or the 2x2 tiles (wino_tile). */
static bool use_winograd(const struct ig_backend *be, int64_t cin, int64_t cout, const struct conv_geom *g, int ph,
                         int pw, int64_t out_h, int64_t out_w)
{
    enum ig_conv_algo algo = ig_backend_options_of(be)->conv;
    if (algo == IG_CONV_IM2COL || algo == IG_CONV_DIRECT) return false;
    if (algo == IG_CONV_WINOGRAD)
        return g->KH == 3 && g->KW == 3 && g->sh == 1 && g->sw == 1 && ph >= 0 && ph <= 2 && pw >= 0 && pw <= 2;
    return IG_ISA_FN(ig_cpu_winograd_suits)(cin, cout, g->KH, g->KW, g->sh, g->sw, ph, pw, out_h, out_w);
}

/* Output tile of the Winograd kernels: 2 with IGRADV_CONV=winograd2, else 0 (the kernel's pick by shape). */
static int wino_tile(const struct ig_backend *be) { return ig_backend_options_of(be)->conv == IG_CONV_WINOGRAD2 ? 2 : 0; }

/* The direct kernel for stride-1 layers with few input channels (ig_cpu_conv_direct.c) where it
 * measured faster on this ISA (auto, and winograd2, which is auto with other Winograd tiles);
 * IGRADV_CONV=direct takes every stride-1 shape, im2col/winograd none. */
static bool use_direct(const struct ig_backend *be, int64_t cin, int64_t cout, const struct conv_geom *g, int64_t out_h,
                       int64_t out_w, bool weight)
{
    enum ig_conv_algo algo = ig_backend_options_of(be)->conv;
    if (g->sh != 1 || g->sw != 1 || algo == IG_CONV_IM2COL || algo == IG_CONV_WINOGRAD) return false;
    return algo == IG_CONV_DIRECT ||
           IG_ISA_FN(ig_cpu_direct_suits)(cin, cout, g->KH, g->KW, g->sh, g->sw, out_h, out_w, weight);
}

/* Row-major sgemm with alpha 1 (single-threaded inside the OpenMP regions, see ig_cpu_util.h). */
static void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                  int64_t ldb, float beta, float *C, int64_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)M,
                (blasint)N, (blasint)K, 1.0f, A, (blasint)(lda > 0 ? lda : 1), B, (blasint)(ldb > 0 ? ldb : 1), beta, C,
                (blasint)(ldc > 0 ? ldc : 1));
}

static void zero(float *p, int64_t n)
{
    IG_OMP(omp parallel for schedule(dynamic, 8192) if (n > IG_CPU_PAR_MIN))
    for (int64_t i = 0; i < n; i++) p[i] = 0.0f;
}

/* The arrays of one forward or data-gradient pass: in (x or dy), w, the optional bias, out (y or dx). */
struct conv_io {
    const float *in, *w, *bias;
    float *out;
};

/* One range [lo, hi) of images, working in its own scratch slice col. */
typedef void (*conv_range_fn)(const struct conv_geom *g, const struct conv_plan *pl, const struct conv_io *io, float *col,
                              int64_t lo, int64_t hi);

/* Runs range over all N images: in one call with threaded BLAS, or in chunks of pl.nb images spread over
 * OpenMP threads with single-threaded BLAS, each thread on its own scratch slice. */
static enum ig_status run_chunks(struct ig_backend *be, const struct conv_geom *g, conv_range_fn range,
                                 const struct conv_io *io)
{
    struct conv_plan pl = plan(g);
    float *scr = ig_backend_scratch(be, (size_t)(pl.per_thread * pl.nth) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    if (pl.blas_threads) {
        range(g, &pl, io, scr, 0, g->N);
        return IG_OK;
    }
    int saved = ig_cpu_blas_single_begin();
    int64_t chunks = (g->N + pl.nb - 1) / pl.nb;
    IG_OMP(omp parallel for schedule(dynamic, 1) num_threads(pl.nth))
    for (int64_t ch = 0; ch < chunks; ch++) {
        int64_t lo = ch * pl.nb, hi = lo + pl.nb < g->N ? lo + pl.nb : g->N;
        range(g, &pl, io, scr + ig_cpu_thread_id() * pl.per_thread, lo, hi);
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}

/* ---------------------------------------------------------------- forward */

static void fwd_range(const struct conv_geom *g, const struct conv_plan *pl, const struct conv_io *io, float *col,
                      int64_t lo, int64_t hi)
{
    const float *x = io->in, *w = io->w, *b = io->bias;
    float *y = io->out;
    float *ybuf = col + g->K * pl->nb * g->P;
    for (int64_t n0 = lo; n0 < hi; n0 += pl->nb) {
        int64_t cnt = hi - n0 < pl->nb ? hi - n0 : pl->nb;
        im2col(g, x, n0, cnt, col);
        if (cnt == 1) {
            /* y[n0][O, P] = w[O, K] col[K, P], in place */
            sgemm(false, false, g->O, g->P, g->K, w, g->K, col, g->P, 0.0f, y + n0 * g->O * g->P, g->P);
            if (b) add_bias(g, b, n0, 1, y);
        } else {
            /* ybuf[O, cnt*P] = w[O, K] col[K, cnt*P], then scattered to y[n][O, P] (+ bias) */
            sgemm(false, false, g->O, cnt * g->P, g->K, w, g->K, col, cnt * g->P, 0.0f, ybuf, cnt * g->P);
            scatter_images(g, ybuf, b, n0, cnt, y);
        }
    }
}

enum ig_status IG_ISA_FN(ig_cpu_conv2d_fwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    struct conv_geom g = geom(call->t[1], call->t[2], call->t[0], &call->p.conv);
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *w = ig_cpu_f32(call->t[2]);
    const float *b = call->t[3] ? ig_cpu_f32(call->t[3]) : NULL;
    if (g.N == 0 || g.O == 0 || g.P == 0) return IG_OK;
    if (g.K == 0) {
        zero(y, g.N * g.O * g.P);
        if (b) add_bias(&g, b, 0, g.N, y);
        return IG_OK;
    }
    if (use_direct(be, g.C, g.O, &g, g.Ho, g.Wo, false))
        return IG_ISA_FN(ig_cpu_direct_conv)(be, x, g.N, g.C, g.H, g.W, w, false, g.O, g.KH, g.KW, g.ph, g.pw, b, y, g.Ho,
                                             g.Wo);
    if (use_winograd(be, g.C, g.O, &g, g.ph, g.pw, g.Ho, g.Wo))
        return IG_ISA_FN(ig_cpu_winograd_conv)(be, x, g.N, g.C, g.H, g.W, w, false, g.O, g.ph, g.pw, b, y, g.Ho, g.Wo, wino_tile(be));
    return run_chunks(be, &g, fwd_range, &(struct conv_io){x, w, b, y});
}

/* ---------------------------------------------------------------- backward data */

/* dy of images [n0, n0 + cnt) as one [O, cnt*P] block: dy itself for one image, else gathered into buf */
static const float *dy_block(const struct conv_geom *g, const float *dy, int64_t n0, int64_t cnt, float *buf)
{
    if (cnt <= 1) return dy + n0 * g->O * g->P;
    gather_images(g, dy, n0, cnt, buf);
    return buf;
}

static void bwd_data_range(const struct conv_geom *g, const struct conv_plan *pl, const struct conv_io *io, float *dcol,
                           int64_t lo, int64_t hi)
{
    const float *dy = io->in, *w = io->w;
    float *dx = io->out;
    float *dyb = dcol + g->K * pl->nb * g->P;
    for (int64_t n0 = lo; n0 < hi; n0 += pl->nb) {
        int64_t cnt = hi - n0 < pl->nb ? hi - n0 : pl->nb;
        const float *dys = dy_block(g, dy, n0, cnt, dyb);
        /* dcol[K, cnt*P] = w^T[K, O] dy[O, cnt*P] */
        sgemm(true, false, g->K, cnt * g->P, g->O, w, g->K, dys, cnt * g->P, 0.0f, dcol, cnt * g->P);
        col2im(g, dcol, n0, cnt, dx);
    }
}

enum ig_status IG_ISA_FN(ig_cpu_conv2d_bwd_data)(struct ig_backend *be, const struct ig_op_call *call)
{
    struct conv_geom g = geom(call->t[0], call->t[2], call->t[1], &call->p.conv);
    float *dx = ig_cpu_f32(call->t[0]);
    const float *dy = ig_cpu_f32(call->t[1]), *w = ig_cpu_f32(call->t[2]);
    if (g.N == 0 || g.C == 0) return IG_OK;
    if (g.K == 0 || g.O == 0 || g.P == 0) {
        zero(dx, g.N * g.C * g.H * g.W);
        return IG_OK;
    }
    /* stride 1: dx is the convolution of dy with the rotated, channel-swapped kernel, padded K - 1 - p */
    if (use_direct(be, g.O, g.C, &g, g.H, g.W, false))
        return IG_ISA_FN(ig_cpu_direct_conv)(be, dy, g.N, g.O, g.Ho, g.Wo, w, true, g.C, g.KH, g.KW,
                                             (int)g.KH - 1 - g.ph, (int)g.KW - 1 - g.pw, NULL, dx, g.H, g.W);
    if (use_winograd(be, g.O, g.C, &g, 2 - g.ph, 2 - g.pw, g.H, g.W))
        return IG_ISA_FN(ig_cpu_winograd_conv)(be, dy, g.N, g.O, g.Ho, g.Wo, w, true, g.C, 2 - g.ph, 2 - g.pw, NULL, dx,
                                               g.H, g.W, wino_tile(be));
    return run_chunks(be, &g, bwd_data_range, &(struct conv_io){dy, w, NULL, dx});
}

/* ---------------------------------------------------------------- backward weight */

/* dw[O, K] (overwritten, or added to when accumulate) = sum over images [lo, hi) of dy_n[O, P] col_n^T[P, K] */
static void bwd_weight_range(const struct conv_geom *g, const struct conv_plan *pl, const float *dy, const float *x,
                             float *dw, float *col, int64_t lo, int64_t hi, bool accumulate)
{
    float *dyb = col + g->K * pl->nb * g->P;
    if (hi <= lo) {
        for (int64_t i = 0; i < g->O * g->K; i++) dw[i] = 0.0f;
        return;
    }
    for (int64_t n0 = lo; n0 < hi; n0 += pl->nb) {
        int64_t cnt = hi - n0 < pl->nb ? hi - n0 : pl->nb;
        const float *dys = dy_block(g, dy, n0, cnt, dyb);
        im2col(g, x, n0, cnt, col);
        sgemm(false, true, g->O, g->K, cnt * g->P, dys, cnt * g->P, col, cnt * g->P, n0 == lo && !accumulate ? 0.0f : 1.0f,
              dw, g->K);
    }
}

enum ig_status IG_ISA_FN(ig_cpu_conv2d_bwd_weight)(struct ig_backend *be, const struct ig_op_call *call)
{
    struct conv_geom g = geom(call->t[2], call->t[0], call->t[1], &call->p.conv);
    float *dw = ig_cpu_f32(call->t[0]);
    const float *dy = ig_cpu_f32(call->t[1]), *x = ig_cpu_f32(call->t[2]);
    if (g.O == 0 || g.K == 0) return IG_OK;
    if (g.N == 0 || g.P == 0) {
        zero(dw, g.O * g.K);
        return IG_OK;
    }
    if (use_direct(be, g.C, g.O, &g, g.Ho, g.Wo, true))
        return IG_ISA_FN(ig_cpu_direct_bwd_weight)(be, x, dy, g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.ph, g.pw, g.Ho, g.Wo,
                                                   dw);
    if (use_winograd(be, g.C, g.O, &g, g.ph, g.pw, g.Ho, g.Wo))
        return IG_ISA_FN(ig_cpu_winograd_bwd_weight)(be, x, dy, g.N, g.C, g.H, g.W, g.O, g.ph, g.pw, g.Ho, g.Wo, dw, wino_tile(be));
    struct conv_plan pl = plan(&g);
    int64_t chunks_all = (g.N + pl.nb - 1) / pl.nb;
    pl.groups = chunks_all < BWD_WEIGHT_GROUPS ? chunks_all : BWD_WEIGHT_GROUPS;
    size_t parts_floats = pl.blas_threads ? 0 : (size_t)pl.groups * (size_t)((g.O * g.K + 15) & ~(int64_t)15);
    float *scr = ig_backend_scratch(be, ((size_t)(pl.per_thread * pl.nth) + parts_floats) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    if (pl.blas_threads) {
        bwd_weight_range(&g, &pl, dy, x, dw, scr, 0, g.N, false);
        return IG_OK;
    }
    /* The chunks are split into G fixed groups of consecutive chunks; each group is summed in
     * chunk order into its own partial dw (groups go to threads dynamically), then the partials
     * are added in group order. The result is bit-identical whichever thread ran which group. */
    int saved = ig_cpu_blas_single_begin();
    int64_t OK = g.O * g.K, chunks = (g.N + pl.nb - 1) / pl.nb, G = pl.groups;
    int64_t part_stride = (OK + 15) & ~(int64_t)15;
    float *parts = scr + pl.nth * pl.per_thread;
    IG_OMP(omp parallel num_threads(pl.nth))
    {
        float *mine = scr + ig_cpu_thread_id() * pl.per_thread;
        IG_OMP(omp for schedule(dynamic, 1))
        for (int64_t gi = 0; gi < G; gi++) {
            int64_t c0 = chunks * gi / G, c1 = chunks * (gi + 1) / G;
            for (int64_t ch = c0; ch < c1; ch++) {
                int64_t lo = ch * pl.nb, hi = lo + pl.nb < g.N ? lo + pl.nb : g.N;
                bwd_weight_range(&g, &pl, dy, x, parts + gi * part_stride, mine, lo, hi, ch > c0);
            }
        }
        /* implicit barrier: all partials complete; reduce by element range */
        IG_OMP(omp for schedule(static))
        for (int64_t e = 0; e < OK; e += 4096) {
            int64_t e1 = e + 4096 < OK ? e + 4096 : OK;
            for (int64_t i = e; i < e1; i++) dw[i] = parts[i];
            for (int64_t gi = 1; gi < G; gi++) {
                const float *pt = parts + gi * part_stride;
                for (int64_t i = e; i < e1; i++) dw[i] += pt[i];
            }
        }
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}

/* ---------------------------------------------------------------- per-sample weight gradient */

/* dw[n*O + o, K] = dy_n[O, P] col_n^T[P, K] for every image n: the threads take images, each with its own
 * im2col scratch and a single-threaded sgemm. */
enum ig_status IG_ISA_FN(ig_cpu_conv2d_bwd_weight_persample)(struct ig_backend *be, const struct ig_op_call *call)
{
    const struct ig_tensor *DW = call->t[0], *DY = call->t[1], *X = call->t[2];
    struct conv_geom g = geom(X, DW, DY, &call->p.conv);
    g.O = DY->shape[1];   /* dw's rows are N*O */
    float *dw = ig_cpu_f32(DW);
    const float *dy = ig_cpu_f32(DY), *x = ig_cpu_f32(X);
    if (g.N == 0 || g.O == 0 || g.K == 0) return IG_OK;
    if (g.P == 0) {
        zero(dw, g.N * g.O * g.K);
        return IG_OK;
    }
    int nth = ig_cpu_max_threads();
    if (nth > g.N) nth = (int)g.N;
    float *scr = ig_backend_scratch(be, (size_t)nth * (size_t)(g.K * g.P) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    int saved = ig_cpu_blas_single_begin();
    IG_OMP(omp parallel for num_threads(nth) schedule(dynamic, 1))
    for (int64_t n = 0; n < g.N; n++) {
        float *col = scr + (int64_t)ig_cpu_thread_id() * g.K * g.P;
        im2col(&g, x, n, 1, col);
        sgemm(false, true, g.O, g.K, g.P, dy + n * g.O * g.P, g.P, col, g.P, 0.0f, dw + n * g.O * g.K, g.K);
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}
