/* CPU per-sample gradient terms: conv (per instance, im2col + one single-threaded sgemm or the ghost norm) and eval-mode batch norm (one fused pass), inside one OpenMP loop over instances. */
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

bool ig_conv2d_persample_uses_ghost(int64_t K, int64_t O, int64_t P)
{
    /* ghost: P^2 (K + O) / 2 (two syrk) vs dW_n: P K O multiply-adds */
    return P * (K + O) < K * O;
}

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

struct ps_job {
    struct ps_geom g;
    bool has_bias, ghost;
    int n_refs;
    const float *x, *dy, *rw[PS_MAX_REFS], *rb[PS_MAX_REFS];
    double *const *acc_dot;
    double *acc_sq;
    int64_t per_thread;   /* scratch floats per thread */
};

/* Floats of col [K,P] plus dW [O,K] (or col^T col and dy^T dy [P,P]); db [O] follows. */
static int64_t ps_work(const struct ps_geom *g, bool ghost)
{
    return g->K * g->P + (ghost ? 2 * g->P * g->P : g->O * g->K);
}

static void ps_instance(const struct ps_job *j, int64_t n, float *scr)
{
    const struct ps_geom *g = &j->g;
    const float *dyn = j->dy + n * g->O * g->P;
    float *col = scr, *work = scr + g->K * g->P;
    ps_im2col(g, j->x + n * g->C * g->H * g->W, col);
    double sq;
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
    if (j->has_bias) {
        float *db = scr + ps_work(g, j->ghost);
        for (int64_t o = 0; o < g->O; o++) {
            float acc[PS_LANES] = {0}, t = 0.0f;
            const float *r = dyn + o * g->P;
            int64_t q = 0;
            for (; q + PS_LANES <= g->P; q += PS_LANES)
                for (int l = 0; l < PS_LANES; l++) acc[l] += r[q + l];
            for (; q < g->P; q++) t += r[q];
            for (int l = 0; l < PS_LANES; l++) t += acc[l];
            db[o] = t;
        }
        sq += ps_dot(db, db, g->O);
        for (int r = 0; r < j->n_refs; r++)
            if (j->rb[r]) j->acc_dot[r][n] += ps_dot(db, j->rb[r], g->O);
    }
    j->acc_sq[n] += sq;
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
    struct ps_job j = {.has_bias = has_bias, .n_refs = n_refs, .acc_dot = acc_dot, .acc_sq = acc_sq};
    struct ps_geom *g = &j.g;
    g->N = x->shape[0], g->C = x->shape[1], g->H = x->shape[2], g->W = x->shape[3];
    g->O = dy->shape[1], g->Ho = dy->shape[2], g->Wo = dy->shape[3], g->p = p;
    if (dy->shape[0] != g->N) return ig_error(IG_ERR_SHAPE, "persample conv: x has %lld rows, dy %lld",
                                              (long long)g->N, (long long)dy->shape[0]);
    if (w->ndim != 4 || w->shape[0] != g->O || w->shape[1] != g->C)
        return ig_error(IG_ERR_SHAPE, "persample conv: weight does not match x and dy");
    for (int r = 0; r < n_refs; r++)
        if (ig_tensor_numel(refw[r]) != ig_tensor_numel(w) || !ig_tensor_is_contiguous(refw[r]))
            return ig_error(IG_ERR_SHAPE, "persample conv: reference %d is not a contiguous weight-shaped tensor", r);
    g->KH = w->shape[2], g->KW = w->shape[3];
    g->K = g->C * g->KH * g->KW, g->P = g->Ho * g->Wo;
    if (g->N == 0 || g->P == 0 || g->K == 0 || g->O == 0) return IG_OK;
    j.ghost = n_refs == 0 && ig_conv2d_persample_uses_ghost(g->K, g->O, g->P);
    j.x = ig_cpu_f32(x), j.dy = ig_cpu_f32(dy);
    for (int r = 0; r < n_refs; r++) {
        j.rw[r] = ig_cpu_f32(refw[r]);
        j.rb[r] = refb[r] ? ig_cpu_f32(refb[r]) : NULL;
    }
    int nth = ig_cpu_max_threads();
    if (nth > g->N) nth = (int)g->N;
    j.per_thread = (ps_work(g, j.ghost) + g->O + 15) & ~(int64_t)15;   /* 64-byte aligned slices */
    float *scr = ig_backend_scratch(be, (size_t)(j.per_thread * nth) * sizeof(float));
    if (!scr) return ig_error(IG_ERR_OOM, "persample conv: out of memory for %d x %lld floats of scratch", nth,
                              (long long)j.per_thread);
    int saved = ig_cpu_blas_single_begin();
    IG_OMP(omp parallel for schedule(dynamic, 1) num_threads(nth))
    for (int64_t n = 0; n < g->N; n++) ps_instance(&j, n, scr + ig_cpu_thread_id() * j.per_thread);
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}

/* ---------------------------------------------------------------- eval-mode batch norm */

struct ps_bn_job {
    int64_t C, HW;
    const float *x, *dy, *rm, *rv, *rw, *rb;
    float eps;
    bool has_bias;
};

/* Instance n: per channel S1 = Σ dy and S2 = Σ dy (x - rm) in one pass over its planes; then
 * dgamma = S2 inv, dbeta = S1 folded into *dot and *sq. */
static void ps_bn_instance(const struct ps_bn_job *j, int64_t n, double *dot, double *sq)
{
    double d = 0.0, q = 0.0;
    for (int64_t c = 0; c < j->C; c++) {
        const int64_t off = (n * j->C + c) * j->HW;
        double s1, s2;
        vsum2(j->dy + off, 0.0f, j->x + off, j->rm[c], j->HW, &s1, &s2);
        double dg = s2 / sqrt((double)j->rv[c] + j->eps);
        q += dg * dg;
        if (j->rw) d += dg * j->rw[c];
        if (!j->has_bias) continue;
        q += s1 * s1;
        if (j->rw && j->rb) d += s1 * j->rb[c];
    }
    *dot = d;
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
                                       struct ig_bn_params p, bool has_bias, const struct ig_tensor *refw,
                                       const struct ig_tensor *refb, double *acc_dot, double *acc_sq)
{
    if (!be || !x || !dy || !running_mean || !running_var || !acc_sq || (refw && !acc_dot) || x->ndim < 2)
        return ig_error(IG_ERR_INVALID_ARG, "persample batch norm: bad arguments");
    if (ig_backend_kind(be) != IG_BACKEND_CPU || !on_cpu(x) || !on_cpu(dy))
        return ig_error(IG_ERR_UNSUPPORTED, "persample batch norm: the fast path needs the CPU backend");
    if (!ig_tensor_is_contiguous(x) || !ig_tensor_is_contiguous(dy))
        return ig_error(IG_ERR_LAYOUT, "persample batch norm: x and dy must be contiguous");
    int64_t N = x->shape[0], C = x->shape[1], NC = N * C;
    if (x->dtype != IG_DTYPE_F32 || dy->dtype != IG_DTYPE_F32 || ig_tensor_numel(dy) != ig_tensor_numel(x) ||
        dy->shape[0] != N)
        return ig_error(IG_ERR_SHAPE, "persample batch norm: dy does not match x");
    if (!ps_bn_vec(running_mean, C, false) || !ps_bn_vec(running_var, C, false) || !ps_bn_vec(refw, C, true) ||
        !ps_bn_vec(refb, C, true))
        return ig_error(IG_ERR_SHAPE, "persample batch norm: statistics and references must be [%lld] f32", (long long)C);
    if (NC == 0) return IG_OK;
    struct ps_bn_job j = {.C = C, .HW = ig_tensor_numel(x) / NC, .x = ig_cpu_f32(x), .dy = ig_cpu_f32(dy),
                          .rm = ig_cpu_f32(running_mean), .rv = ig_cpu_f32(running_var),
                          .rw = refw ? ig_cpu_f32(refw) : NULL, .rb = refw && refb ? ig_cpu_f32(refb) : NULL,
                          .eps = p.eps, .has_bias = has_bias};
    IG_OMP(omp parallel for schedule(static) if (NC * j.HW > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++) {
        double d, q;
        ps_bn_instance(&j, n, &d, &q);
        acc_sq[n] += q;
        if (j.rw) acc_dot[n] += d;
    }
    return IG_OK;
}
