/* CPU per-sample gradient terms: conv (per instance: Winograd tile sums, im2col + one single-threaded sgemm, or the ghost norm from the input-pixel Gram) and eval-mode batch norm (one fused pass), inside one OpenMP loop over instances. */
#include "ig_cpu_isa.h"
#include "ig_cpu_util.h"
#include "ig_cpu_vreduce.h"
#include <math.h>
#include <string.h>

#define PS_MAX_REFS 2

/* One conv's geometry; K = C KH KW rows of col, P = Ho Wo columns. */
struct ps_geom {
    int64_t N, C, H, W, O, KH, KW, Ho, Wo, K, P;
    struct ig_conv2d_params p;
};

/* col[K, P] of one image xs[C, H, W]: row (c, kh, kw), column (oh, ow); 0 in the padding. */
static void ps_im2col(const struct ps_geom *g, const float *xs, float *col)
{
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t kh = 0; kh < g->KH; kh++)
            for (int64_t kw = 0; kw < g->KW; kw++) {
                float *dst = col + ((c * g->KH + kh) * g->KW + kw) * g->P;
                const float *plane = xs + c * g->H * g->W;
                for (int64_t oh = 0; oh < g->Ho; oh++) {
                    int64_t ih = oh * g->p.stride_h - g->p.pad_h + kh;
                    float *row = dst + oh * g->Wo;
                    if (ih < 0 || ih >= g->H) {
                        for (int64_t ow = 0; ow < g->Wo; ow++) row[ow] = 0.0f;
                        continue;
                    }
                    const float *src = plane + ih * g->W;
                    if (g->p.stride_w == 1) {
                        /* iw = ow - pw + kw: zeros, one contiguous run of the input row, zeros */
                        int64_t lo = g->p.pad_w - kw, hi = g->W + g->p.pad_w - kw;
                        lo = lo < 0 ? 0 : lo > g->Wo ? g->Wo : lo;
                        hi = hi > g->Wo ? g->Wo : hi < lo ? lo : hi;
                        for (int64_t ow = 0; ow < lo; ow++) row[ow] = 0.0f;
                        if (hi > lo) memcpy(row + lo, src + lo - g->p.pad_w + kw, (size_t)(hi - lo) * sizeof(float));
                        for (int64_t ow = hi; ow < g->Wo; ow++) row[ow] = 0.0f;
                        continue;
                    }
                    for (int64_t ow = 0; ow < g->Wo; ow++) {
                        int64_t iw = ow * g->p.stride_w - g->p.pad_w + kw;
                        row[ow] = (iw >= 0 && iw < g->W) ? src[iw] : 0.0f;
                    }
                }
            }
}

/* Lanes of the float partial sums: independent accumulators the compiler vectorises
 * without reassociating (and that keep the float error of long sums small). */
#define PS_LANES 16
#define PS_BLOCK 4096

/* Σ a_i b_i over n floats: PS_LANES float partial sums per block of PS_BLOCK, blocks summed in double. */
static double ps_dot(const float *a, const float *b, int64_t n)
{
    double s = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += PS_BLOCK) {
        int64_t i1 = n - i0 < PS_BLOCK ? n : i0 + PS_BLOCK, i = i0;
        float acc[PS_LANES] = {0};
        for (; i + PS_LANES <= i1; i += PS_LANES)
            for (int l = 0; l < PS_LANES; l++) acc[l] += a[i + l] * b[i + l];
        for (; i < i1; i++) acc[0] += a[i] * b[i];
        for (int l = 0; l < PS_LANES; l++) s += acc[l];
    }
    return s;
}

/* One pass over a: *ab = Σ a_i b_i (b may be NULL: 0), *aa = Σ a_i². */
static void ps_dot_sq(const float *a, const float *b, int64_t n, double *ab, double *aa)
{
    if (!b) {
        *ab = 0.0;
        *aa = ps_dot(a, a, n);
        return;
    }
    double s = 0.0, q = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += PS_BLOCK) {
        int64_t i1 = n - i0 < PS_BLOCK ? n : i0 + PS_BLOCK, i = i0;
        float acc[PS_LANES] = {0}, sq[PS_LANES] = {0};
        for (; i + PS_LANES <= i1; i += PS_LANES)
            for (int l = 0; l < PS_LANES; l++) {
                acc[l] += a[i + l] * b[i + l];
                sq[l] += a[i + l] * a[i + l];
            }
        for (; i < i1; i++) acc[0] += a[i] * b[i], sq[0] += a[i] * a[i];
        for (int l = 0; l < PS_LANES; l++) s += acc[l], q += sq[l];
    }
    *ab = s;
    *aa = q;
}

/* Σ_{p,q} A[p,q] B[p,q] of two symmetric [P,P] matrices with only the upper triangle valid. */
static double ps_sym_dot(const float *A, const float *B, int64_t P)
{
    double s = 0.0;
    for (int64_t i = 0; i < P; i++) {
        s += (double)A[i * P + i] * B[i * P + i];
        if (i + 1 < P) s += 2.0 * ps_dot(A + i * P + i + 1, B + i * P + i + 1, P - 1 - i);
    }
    return s;
}

/* The Winograd tile sums (ig_cpu_winograd_persample.c) for the 3x3 stride-1 layers of at least
 * PS_WINO_MIN_CIN input channels where the ghost norm is not cheaper; IGRADV_CONV=winograd takes every
 * 3x3 stride-1 layer but the ghost ones, im2col and direct none (the exact im2col product). */
#define PS_WINO_MIN_CIN 16
static bool ps_use_winograd(const struct ig_backend *be, const struct ps_geom *g, bool ghost)
{
    enum ig_conv_algo algo = ig_backend_options_of(be)->conv;
    bool shape = g->KH == 3 && g->KW == 3 && g->p.stride_h == 1 && g->p.stride_w == 1 && g->p.pad_h >= 0 &&
                 g->p.pad_h <= 2 && g->p.pad_w >= 0 && g->p.pad_w <= 2 && ig_backend_kind(be) == IG_BACKEND_CPU;
    if (ghost || !shape || algo == IG_CONV_IM2COL || algo == IG_CONV_DIRECT) return false;
    return algo == IG_CONV_WINOGRAD || g->C >= PS_WINO_MIN_CIN;
}

/* Ghost where it is cheaper than dW_n, P^2 (K + O) / 2 multiply-adds (two syrk) against P K O,
 * references or not (the caller then takes the dots from one batched conv of x with each reference):
 * on the paper CNN's 8x8 layers (b32, 2 threads, whole engine) it measured even with the fused
 * Winograd tile sums on AVX-512 and 1.03x faster on AVX2 with the im2col syrk; the pixel Gram
 * (ps_ghost_pixels) then took conv5 / conv6 from 2.6 / 4.6 ms to 1.0 / 1.1 ms (AVX-512) and 2.6 /
 * 5.3 ms to 0.9 / 1.2 ms (AVX2), against 3.8 / 7.3 ms and 5.8 / 12.5 ms for the tile sums with one
 * reference. On the 16x16 layers the tile sums stay cheaper than the pixel Gram plus the conv with D. */
static bool ps_ghost(const struct ps_geom *g) { return g->P * (g->K + g->O) < g->K * g->O; }

/* The geometry of x [N,C,H,W] -> y [N,O,Ho,Wo] under w [O,C,KH,KW] (N, H, W unset where x is NULL). */
static struct ps_geom ps_geometry(const struct ig_tensor *x, const struct ig_tensor *w, struct ig_conv2d_params p,
                                  int64_t Ho, int64_t Wo)
{
    struct ps_geom g = {.O = w->shape[0], .C = w->shape[1], .KH = w->shape[2], .KW = w->shape[3], .Ho = Ho, .Wo = Wo,
                        .p = p};
    if (x) g.N = x->shape[0], g.H = x->shape[2], g.W = x->shape[3];
    g.K = g.C * g.KH * g.KW, g.P = Ho * Wo;
    return g;
}

bool ig_conv2d_persample_uses_ghost(const struct ig_tensor *w, struct ig_conv2d_params p, int64_t Ho, int64_t Wo)
{
    if (!w || w->ndim != 4) return false;
    struct ps_geom g = ps_geometry(NULL, w, p, Ho, Wo);
    return ps_ghost(&g);
}

struct ps_job {
    struct ps_geom g;
    bool has_bias, ghost;
    int n_refs;
    const float *x, *dy, *rw[PS_MAX_REFS], *rb[PS_MAX_REFS];
    double *const *acc_dot;
    double *acc_sq;
    int64_t per_thread;   /* scratch floats per thread */
};

/* Instance n's bias gradient db_n[o] = sum_p dy_n[o,p]: adds <db_n, refb[r]> to acc_dot[r][n]; returns |db_n|^2. */
static double ps_bias_terms(const struct ps_job *j, int64_t n)
{
    const struct ps_geom *g = &j->g;
    const float *dyn = j->dy + n * g->O * g->P;
    double sq = 0.0, dot[PS_MAX_REFS] = {0.0, 0.0};
    for (int64_t o = 0; o < g->O; o++) {
        float acc[PS_LANES] = {0}, t = 0.0f;
        const float *r = dyn + o * g->P;
        int64_t q = 0;
        for (; q + PS_LANES <= g->P; q += PS_LANES)
            for (int l = 0; l < PS_LANES; l++) acc[l] += r[q + l];
        for (; q < g->P; q++) t += r[q];
        for (int l = 0; l < PS_LANES; l++) t += acc[l];
        sq += (double)t * t;
        for (int i = 0; i < j->n_refs; i++)
            if (j->rb[i]) dot[i] += (double)t * j->rb[i][o];
    }
    for (int i = 0; i < j->n_refs; i++) j->acc_dot[i][n] += dot[i];
    return sq;
}

/* The ghost norm of a stride-1 conv comes from the Gram of the input pixels (ps_ghost_pixels). */
static bool ps_pixel_ghost(const struct ps_geom *g) { return g->p.stride_h == 1 && g->p.stride_w == 1; }

/* Floats of col [K,P] plus dW [O,K]; ghost: col^T col and dy^T dy [P,P], or (stride 1) the pixel
 * Gram [HW,HW] and dy^T dy. */
static int64_t ps_work(const struct ps_geom *g, bool ghost)
{
    if (ghost && ps_pixel_ghost(g)) return g->H * g->W * g->H * g->W + g->P * g->P;
    return g->K * g->P + (ghost ? 2 * g->P * g->P : g->O * g->K);
}

/* m[i][j] = m[j][i] for j < i: the lower triangle of an upper-triangle syrk result. */
static void ps_mirror(float *m, int64_t n)
{
    for (int64_t i = 1; i < n; i++)
        for (int64_t j = 0; j < i; j++) m[i * n + j] = m[j * n + i];
}

/*
 * |dW_n|^2 of a stride-1 conv as the ghost norm <col^T col, dy^T dy> without im2col: output pixels p,
 * q read input pixels p + k, q + k for each tap k, so (col^T col)[p,q] = sum over the taps where both
 * are inside of Gx[p + k, q + k], Gx = x_n^T x_n [HW,HW] the Gram of the input pixels. Gx takes C-long
 * dot products where col^T col takes C KH KW-long ones (9x fewer multiply-adds on 3x3 layers), and
 * nothing is copied. Then sum over p, taps, q of Gb[p,q] Gx[p + k, q + k], the valid q of one output
 * row a contiguous run.
 */
static double ps_ghost_pixels(const struct ps_geom *g, const float *xn, const float *dyn, float *gx, float *gb)
{
    int64_t HW = g->H * g->W, P = g->P;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)HW, (int)g->C, 1.0f, xn, (int)HW, 0.0f, gx, (int)HW);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)P, (int)g->O, 1.0f, dyn, (int)P, 0.0f, gb, (int)P);
    ps_mirror(gx, HW);
    ps_mirror(gb, P);
    double s = 0.0;
    for (int64_t p = 0; p < P; p++) {
        int64_t oh = p / g->Wo, ow = p % g->Wo;
        const float *gbp = gb + p * P;
        float acc = 0.0f;
        for (int64_t kh = 0; kh < g->KH; kh++) {
            int64_t ih = oh - g->p.pad_h + kh;
            if (ih < 0 || ih >= g->H) continue;
            for (int64_t kw = 0; kw < g->KW; kw++) {
                int64_t iw = ow - g->p.pad_w + kw, dw = kw - g->p.pad_w;
                if (iw < 0 || iw >= g->W) continue;
                const float *gxp = gx + (ih * g->W + iw) * HW;
                /* q = (oh2, ow2) with input pixel (oh2 - pad_h + kh, ow2 + dw) inside */
                int64_t lo = -dw > 0 ? -dw : 0, hi = g->W - dw < g->Wo ? g->W - dw : g->Wo;
                for (int64_t oh2 = 0; oh2 < g->Ho; oh2++) {
                    int64_t ih2 = oh2 - g->p.pad_h + kh;
                    if (ih2 < 0 || ih2 >= g->H) continue;
                    const float *a = gxp + ih2 * g->W + dw, *b = gbp + oh2 * g->Wo;
                    for (int64_t q = lo; q < hi; q++) acc += a[q] * b[q];
                }
            }
        }
        s += acc;
    }
    return s;
}

static void ps_instance(const struct ps_job *j, int64_t n, float *scr)
{
    const struct ps_geom *g = &j->g;
    const float *dyn = j->dy + n * g->O * g->P;
    float *col = scr, *work = scr + g->K * g->P;
    double sq;
    if (j->ghost && ps_pixel_ghost(g)) {
        sq = ps_ghost_pixels(g, j->x + n * g->C * g->H * g->W, dyn, scr, scr + g->H * g->W * g->H * g->W);
        if (j->has_bias) sq += ps_bias_terms(j, n);
        j->acc_sq[n] += sq;
        return;
    }
    ps_im2col(g, j->x + n * g->C * g->H * g->W, col);
    if (j->ghost) {
        float *ga = work, *gb = work + g->P * g->P;
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)g->P, (int)g->K, 1.0f, col, (int)g->P, 0.0f, ga, (int)g->P);
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)g->P, (int)g->O, 1.0f, dyn, (int)g->P, 0.0f, gb, (int)g->P);
        sq = ps_sym_dot(ga, gb, g->P);
    } else {
        /* dW[O,K] = dy_n[O,P] col^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->O, (int)g->K, (int)g->P, 1.0f, dyn, (int)g->P, col,
                    (int)g->P, 0.0f, work, (int)g->K);
        double d0;
        ps_dot_sq(work, j->n_refs > 0 ? j->rw[0] : NULL, g->O * g->K, &d0, &sq);
        if (j->n_refs > 0) j->acc_dot[0][n] += d0;
        for (int r = 1; r < j->n_refs; r++) j->acc_dot[r][n] += ps_dot(work, j->rw[r], g->O * g->K);
    }
    if (j->has_bias) sq += ps_bias_terms(j, n);
    j->acc_sq[n] += sq;
}

/* The weight terms from the Winograd tiles of each instance (2x2 tiles with IGRADV_CONV=winograd2),
 * then the bias terms. */
static enum ig_status ps_winograd(struct ig_backend *be, const struct ps_job *j)
{
    const struct ps_geom *g = &j->g;
    int tile = ig_backend_options_of(be)->conv == IG_CONV_WINOGRAD2 ? 2 : 0;
    enum ig_status s = ig_cpu_isa_of(be)->winograd_persample(be, j->x, j->dy, g->N, g->C, g->H, g->W, g->O, g->p.pad_h,
                                                             g->p.pad_w, g->Ho, g->Wo, j->n_refs, j->rw, j->acc_dot,
                                                             j->acc_sq, tile);
    if (s != IG_OK) return ig_error(s, "persample conv: out of memory for the Winograd tiles of %lld channels",
                                    (long long)g->C);
    if (!j->has_bias) return IG_OK;
    IG_OMP(omp parallel for schedule(static) if (g->N * g->O * g->P > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < g->N; n++) j->acc_sq[n] += ps_bias_terms(j, n);
    return IG_OK;
}

static bool on_cpu(const struct ig_tensor *t) { return !t || ig_backend_kind(t->backend) == IG_BACKEND_CPU; }

enum ig_status ig_conv2d_persample_terms(struct ig_backend *be, const struct ig_tensor *x, const struct ig_tensor *dy,
                                         const struct ig_tensor *w, struct ig_conv2d_params p, bool has_bias, int n_refs,
                                         const struct ig_tensor *const *refw, const struct ig_tensor *const *refb,
                                         double *const *acc_dot, double *acc_sq)
{
    if (!be || !x || !dy || !w || !acc_sq || n_refs < 0 || n_refs > PS_MAX_REFS || x->ndim != 4 || dy->ndim != 4)
        return ig_error(IG_ERR_INVALID_ARG, "persample conv: bad arguments");
    bool cpu = ig_backend_kind(be) == IG_BACKEND_CPU && on_cpu(x) && on_cpu(dy);
    for (int r = 0; r < n_refs; r++) cpu = cpu && refw[r] && on_cpu(refw[r]) && on_cpu(refb[r]);
    if (!cpu) return ig_error(IG_ERR_UNSUPPORTED, "persample conv: the fast path needs the CPU backend");
    if (!ig_tensor_is_contiguous(x) || !ig_tensor_is_contiguous(dy))
        return ig_error(IG_ERR_LAYOUT, "persample conv: x and dy must be contiguous");
    if (dy->shape[0] != x->shape[0]) return ig_error(IG_ERR_SHAPE, "persample conv: x has %lld rows, dy %lld",
                                                     (long long)x->shape[0], (long long)dy->shape[0]);
    if (w->ndim != 4 || w->shape[0] != dy->shape[1] || w->shape[1] != x->shape[1])
        return ig_error(IG_ERR_SHAPE, "persample conv: weight does not match x and dy");
    struct ps_job j = {.g = ps_geometry(x, w, p, dy->shape[2], dy->shape[3]), .has_bias = has_bias, .n_refs = n_refs,
                       .acc_dot = acc_dot, .acc_sq = acc_sq};
    struct ps_geom *g = &j.g;
    for (int r = 0; r < n_refs; r++)
        if (ig_tensor_numel(refw[r]) != ig_tensor_numel(w) || !ig_tensor_is_contiguous(refw[r]))
            return ig_error(IG_ERR_SHAPE, "persample conv: reference %d is not a contiguous weight-shaped tensor", r);
    if (g->N == 0 || g->P == 0 || g->K == 0 || g->O == 0) return IG_OK;
    j.ghost = n_refs == 0 && ps_ghost(g);
    j.x = ig_cpu_f32(x), j.dy = ig_cpu_f32(dy);
    for (int r = 0; r < n_refs; r++) {
        j.rw[r] = ig_cpu_f32(refw[r]);
        j.rb[r] = refb[r] ? ig_cpu_f32(refb[r]) : NULL;
    }
    int nth = ig_cpu_max_threads();
    if (nth > g->N) nth = (int)g->N;
    if (ps_use_winograd(be, g, j.ghost)) return ps_winograd(be, &j);
    j.per_thread = (ps_work(g, j.ghost) + 15) & ~(int64_t)15;   /* 64-byte aligned slices */
    float *scr = ig_backend_scratch(be, (size_t)(j.per_thread * nth) * sizeof(float));
    if (!scr) return ig_error(IG_ERR_OOM, "persample conv: out of memory for %d x %lld floats of scratch", nth,
                              (long long)j.per_thread);
    int saved = ig_cpu_blas_single_begin();
    IG_OMP(omp parallel for schedule(dynamic, 1) num_threads(nth))
    for (int64_t n = 0; n < g->N; n++) ps_instance(&j, n, scr + ig_cpu_thread_id() * j.per_thread);
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}

/* ---------------------------------------------------------------- row dots */

enum ig_status ig_row_pair_dot_acc(struct ig_backend *be, const struct ig_tensor *a, const struct ig_tensor *b,
                                   double *acc)
{
    if (!be || !a || !b || !acc || a->ndim < 1 || b->ndim < 1)
        return ig_error(IG_ERR_INVALID_ARG, "ig_row_pair_dot_acc: bad arguments");
    if (ig_backend_kind(be) != IG_BACKEND_CPU || !on_cpu(a) || !on_cpu(b))
        return ig_error(IG_ERR_UNSUPPORTED, "ig_row_pair_dot_acc: the fast path needs the CPU backend");
    if (a->dtype != IG_DTYPE_F32 || b->dtype != IG_DTYPE_F32 || a->shape[0] != b->shape[0] ||
        ig_tensor_numel(a) != ig_tensor_numel(b))
        return ig_error(IG_ERR_SHAPE, "ig_row_pair_dot_acc: a and b must be f32 with the same rows and size");
    if (!ig_tensor_is_contiguous(a) || !ig_tensor_is_contiguous(b))
        return ig_error(IG_ERR_LAYOUT, "ig_row_pair_dot_acc: a and b must be contiguous");
    int64_t N = a->shape[0];
    if (N == 0) return IG_OK;
    int64_t M = ig_tensor_numel(a) / N;
    const float *pa = ig_cpu_f32(a), *pb = ig_cpu_f32(b);
    IG_OMP(omp parallel for schedule(static) if (N * M > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++) acc[n] += ps_dot(pa + n * M, pb + n * M, M);
    return IG_OK;
}

/* ---------------------------------------------------------------- eval-mode batch norm */

struct ps_bn_job {
    int64_t C, HW;
    const float *x, *dy, *rm, *rv;
    int n_refs;
    const float *rw[PS_MAX_REFS], *rb[PS_MAX_REFS];
    float eps;
    bool has_bias;
};

/* Instance n: per channel S1 = Σ dy and S2 = Σ dy (x - rm) in one pass over its planes; then
 * dgamma = S2 inv, dbeta = S1 folded into dot[r] and *sq. */
static void ps_bn_instance(const struct ps_bn_job *j, int64_t n, double *dot, double *sq)
{
    double q = 0.0;
    for (int r = 0; r < j->n_refs; r++) dot[r] = 0.0;
    for (int64_t c = 0; c < j->C; c++) {
        const int64_t off = (n * j->C + c) * j->HW;
        double s1, s2;
        vsum2(j->dy + off, 0.0f, j->x + off, j->rm[c], j->HW, &s1, &s2);
        double dg = s2 / sqrt((double)j->rv[c] + j->eps);
        q += dg * dg;
        for (int r = 0; r < j->n_refs; r++) dot[r] += dg * j->rw[r][c] + (j->has_bias && j->rb[r] ? s1 * j->rb[r][c] : 0.0);
        if (j->has_bias) q += s1 * s1;
    }
    *sq = q;
}

/* [C] f32 contiguous CPU tensor, or NULL where optional */
static bool ps_bn_vec(const struct ig_tensor *t, int64_t C, bool optional)
{
    if (!t) return optional;
    return on_cpu(t) && t->dtype == IG_DTYPE_F32 && ig_tensor_numel(t) == C && ig_tensor_is_contiguous(t);
}

enum ig_status ig_bn2d_persample_terms(struct ig_backend *be, const struct ig_tensor *x, const struct ig_tensor *dy,
                                       const struct ig_tensor *running_mean, const struct ig_tensor *running_var,
                                       struct ig_bn_params p, bool has_bias, int n_refs,
                                       const struct ig_tensor *const *refw, const struct ig_tensor *const *refb,
                                       double *const *acc_dot, double *acc_sq)
{
    bool refs_ok = n_refs >= 0 && n_refs <= PS_MAX_REFS && (n_refs == 0 || (refw && refb && acc_dot));
    for (int r = 0; refs_ok && r < n_refs; r++) refs_ok = refw[r] && acc_dot[r];
    if (!be || !x || !dy || !running_mean || !running_var || !acc_sq || !refs_ok || x->ndim < 2)
        return ig_error(IG_ERR_INVALID_ARG, "persample batch norm: bad arguments");
    if (ig_backend_kind(be) != IG_BACKEND_CPU || !on_cpu(x) || !on_cpu(dy))
        return ig_error(IG_ERR_UNSUPPORTED, "persample batch norm: the fast path needs the CPU backend");
    if (!ig_tensor_is_contiguous(x) || !ig_tensor_is_contiguous(dy))
        return ig_error(IG_ERR_LAYOUT, "persample batch norm: x and dy must be contiguous");
    int64_t N = x->shape[0], C = x->shape[1], NC = N * C;
    if (x->dtype != IG_DTYPE_F32 || dy->dtype != IG_DTYPE_F32 || ig_tensor_numel(dy) != ig_tensor_numel(x) ||
        dy->shape[0] != N)
        return ig_error(IG_ERR_SHAPE, "persample batch norm: dy does not match x");
    bool vecs = ps_bn_vec(running_mean, C, false) && ps_bn_vec(running_var, C, false);
    for (int r = 0; r < n_refs; r++) vecs = vecs && ps_bn_vec(refw[r], C, false) && ps_bn_vec(refb[r], C, true);
    if (!vecs)
        return ig_error(IG_ERR_SHAPE, "persample batch norm: statistics and references must be [%lld] f32", (long long)C);
    if (NC == 0) return IG_OK;
    struct ps_bn_job j = {.C = C, .HW = ig_tensor_numel(x) / NC, .x = ig_cpu_f32(x), .dy = ig_cpu_f32(dy),
                          .rm = ig_cpu_f32(running_mean), .rv = ig_cpu_f32(running_var), .n_refs = n_refs,
                          .eps = p.eps, .has_bias = has_bias};
    for (int r = 0; r < n_refs; r++) {
        j.rw[r] = ig_cpu_f32(refw[r]);
        j.rb[r] = refb[r] ? ig_cpu_f32(refb[r]) : NULL;
    }
    IG_OMP(omp parallel for schedule(static) if (NC * j.HW > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++) {
        double d[PS_MAX_REFS], q;
        ps_bn_instance(&j, n, d, &q);
        acc_sq[n] += q;
        for (int r = 0; r < n_refs; r++) acc_dot[r][n] += d[r];
    }
    return IG_OK;
}
