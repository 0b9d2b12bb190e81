/* CPU per-sample Winograd weight-gradient terms of a 3x3 stride-1 conv: per instance, |dW_n|^2 and <dW_n, D_r> from its F(4x4) or F(2x2) tiles without storing dW_n; compiled once per ISA. */
#include "ig_cpu_isa.h"
#include "ig_cpu_util.h"
#include "ig_cpu_winograd.h"
#include <string.h>

/*
 * dW_n = G^T (sum over the tiles t of instance n of Z_t .* V_t) G per (o, c), with V_t = B^T d_t B the
 * input tiles and Z_t = A e_t A^T the output-gradient tiles (the batched weight gradient of
 * ig_cpu_winograd.c restricted to one instance). Per instance: both transforms, then per block of
 * R output channels x CV vectors of input channels the a*a tile sums in registers (no packing,
 * no sgemm call), and at once G^T . G, the squares and the reference dots of the block. F(4x4) does
 * 36 T1 multiply-adds per (o, c) where the im2col product does 9 * 16 T1 (4x fewer).
 */

/* Register blocks of R output channels x CV vectors of IG_VW input channels: R x CV accumulators
 * (at most 24 of the 32 AVX-512 registers, 12 of the 16 AVX2 ones, 8 of the 16 SSE ones), tall
 * where the registers allow: each V line from L2 then feeds more multiply-adds. Every block stays
 * inside the padded Op rows (a multiple of IG_VW): where R does not divide them (12 rows on
 * AVX-512, 6 on AVX2) the last rows go to shorter blocks (pick_rows). */
#if defined(IG_SIMD_AVX512)
#define PS_ACC 24
#elif defined(IG_SIMD_AVX2)
#define PS_ACC 12
#else
#define PS_ACC 8
#endif
/* The V and Z rows of one block are Cp and Op floats apart, t after t, and on across the points xi
 * but for the PS_PLANE_PAD floats (one cache line) between the planes, which keep the 36 planes a
 * transform writes per tile off the same L1 sets (as in the batched paths of ig_cpu_winograd.c):
 * prefetched PS_PF rows ahead (a prefetch past the end never faults). */
#define PS_PLANE_PAD 16
#define PS_PF 8
#define PS_RMAX 16
#define PS_CVMAX 4
#define PS_MAX_REFS 2

struct psw_job {
    struct wino_geom g;
    const float *x, *dy;
    int n_refs;
    const float *refT[PS_MAX_REFS];   /* [O][Cp / IG_VW][9][IG_VW]: each reference, zero-padded */
    double *const *acc_dot;
    double *acc_sq;
};

/* sb[r][k][xi] (IG_VW floats each) = sum_t Z[xi][t][o0 + r] V[xi][t][c0 + k IG_VW ..] for r < R, k < CV:
 * each (r, k)'s a*a sums contiguous, read in place by the tile transform. */
static inline __attribute__((always_inline)) void tile_sums(const struct wino_geom *g, const float *Z, const float *V,
                                                            int64_t o0, int64_t c0, const int R, const int CV, float *sb)
{
    int a2 = g->a * g->a;
    int64_t T1 = g->T1, Op = g->Op, Cp = g->Cp, pp = g->ppad;
    for (int xi = 0; xi < a2; xi++) {
        const float *z = Z + xi * (T1 * Op + pp) + o0, *v = V + xi * (T1 * Cp + pp) + c0;
        ig_vf acc[PS_RMAX][PS_CVMAX];
        for (int r = 0; r < R; r++)
            for (int k = 0; k < CV; k++) acc[r][k] = vzero();
        for (int64_t t = 0; t < T1; t++, z += Op, v += Cp) {
            ig_vf b[PS_CVMAX];
            int64_t next = t + PS_PF < T1 ? 0 : pp;   /* the row PS_PF on is in the next plane */
            __builtin_prefetch(v + PS_PF * Cp + next);
            __builtin_prefetch(z + PS_PF * Op + next);
            for (int k = 0; k < CV; k++) b[k] = vload(v + k * IG_VW);
            for (int r = 0; r < R; r++) {
                ig_vf a = vset1(z[r]);
                for (int k = 0; k < CV; k++) acc[r][k] += a * b[k];
            }
        }
        for (int r = 0; r < R; r++)
            for (int k = 0; k < CV; k++) vstore(sb + ((r * CV + k) * a2 + xi) * IG_VW, acc[r][k]);
    }
}

/* The block's dW values (rows o0 .. o0+R below cout, CV vectors from c0): squares into *sq, dots
 * with each reference into dot[r]. Padded input channels have zero tile sums, so zero dW. */
static inline __attribute__((always_inline)) void block_terms(const struct psw_job *j, const float *sb, int64_t o0,
                                                              int64_t c0, const int R, const int CV, ig_vf *sq,
                                                              ig_vf *dot)
{
    const struct wino_geom *g = &j->g;
    int a2 = g->a * g->a, nr = j->n_refs;
    ig_vf lsq = *sq, ldot[PS_MAX_REFS] = {dot[0], dot[1]};   /* in registers, not through the pointers */
    for (int r = 0; r < R && o0 + r < g->cout; r++)
        for (int k = 0; k < CV; k++) {
            const ig_vf *s = (const ig_vf *)(sb + (r * CV + k) * a2 * IG_VW);
            ig_vf d[9];
            if (g->m == 4) wino4_dw_tile(s, d);
            else wino2_dw_tile(s, d);
            ig_vf s2 = d[0] * d[0];   /* each (r, k) its own chain, one add into the running sums */
            for (int q = 1; q < 9; q++) s2 += d[q] * d[q];
            lsq += s2;
            for (int i = 0; i < nr; i++) {
                const float *rt = j->refT[i] + ((o0 + r) * g->Cp + c0 + k * IG_VW) * 9;
                ig_vf t = d[0] * vload(rt);
                for (int q = 1; q < 9; q++) t += d[q] * vload(rt + q * IG_VW);
                ldot[i] += t;
            }
        }
    *sq = lsq;
    dot[0] = ldot[0], dot[1] = ldot[1];
}

static double hsum(ig_vf v)
{
    double s = 0.0;
    for (int l = 0; l < IG_VW; l++) s += v[l];
    return s;
}

typedef void (*sums_fn)(const struct wino_geom *, const float *, const float *, int64_t, int64_t, float *);

/* All blocks of the row block o0 .. o0+R: CV vectors at a time (full), then two vectors where two
 * is given and two or more remain, then single vectors (one). The sums are calls, so that the
 * finish's running vs / vd take none of their registers. */
static inline __attribute__((always_inline)) void row_block(const struct psw_job *j, const float *Z, const float *V,
                                                            float *sb, int64_t o0, const int R, const int CV,
                                                            sums_fn full, sums_fn two, sums_fn one, ig_vf *vs,
                                                            ig_vf *vd)
{
    int64_t Cp = j->g.Cp, c0 = 0;
    for (; c0 + CV * IG_VW <= Cp; c0 += CV * IG_VW) {
        full(&j->g, Z, V, o0, c0, sb);
        block_terms(j, sb, o0, c0, R, CV, vs, vd);
    }
    if (two && c0 + 2 * IG_VW <= Cp) {
        two(&j->g, Z, V, o0, c0, sb);
        block_terms(j, sb, o0, c0, R, 2, vs, vd);
        c0 += 2 * IG_VW;
    }
    for (; c0 < Cp; c0 += IG_VW) {
        one(&j->g, Z, V, o0, c0, sb);
        block_terms(j, sb, o0, c0, R, 1, vs, vd);
    }
}

/* One instantiation per block shape, so each keeps its accumulators in registers. */
#define PS_SUMS_FN(R, CV)                                                                                       \
    static __attribute__((noinline)) void sums_##R##x##CV(const struct wino_geom *g, const float *Z, const float *V, \
                                                          int64_t o0, int64_t c0, float *sb)                     \
    {                                                                                                           \
        tile_sums(g, Z, V, o0, c0, R, CV, sb);                                                                  \
    }
#define PS_ROW_FN(R, CV, TWO)                                                                                   \
    static void row_block_##R##x##CV(const struct psw_job *j, const float *Z, const float *V, float *sb, int64_t o0, \
                                     ig_vf *vs, ig_vf *vd)                                                      \
    {                                                                                                           \
        row_block(j, Z, V, sb, o0, R, CV, sums_##R##x##CV, TWO, sums_##R##x1, vs, vd);                          \
    }
#if defined(IG_SIMD_AVX512)
PS_SUMS_FN(12, 2) PS_SUMS_FN(12, 1) PS_ROW_FN(12, 2, NULL)
PS_SUMS_FN(8, 2) PS_SUMS_FN(8, 1) PS_ROW_FN(8, 2, NULL)
PS_SUMS_FN(4, 4) PS_SUMS_FN(4, 2) PS_SUMS_FN(4, 1) PS_ROW_FN(4, 4, sums_4x2)
PS_SUMS_FN(16, 1) PS_ROW_FN(16, 1, NULL)
#elif defined(IG_SIMD_AVX2)
PS_SUMS_FN(6, 2) PS_SUMS_FN(6, 1) PS_ROW_FN(6, 2, NULL)
PS_SUMS_FN(4, 2) PS_SUMS_FN(4, 1) PS_ROW_FN(4, 2, NULL)
PS_SUMS_FN(2, 4) PS_SUMS_FN(2, 2) PS_SUMS_FN(2, 1) PS_ROW_FN(2, 4, sums_2x2)
PS_SUMS_FN(8, 1) PS_ROW_FN(8, 1, NULL)
#else
PS_SUMS_FN(4, 2) PS_SUMS_FN(4, 1) PS_ROW_FN(4, 2, NULL)
#endif

typedef void (*row_fn)(const struct psw_job *, const float *, const float *, float *, int64_t, ig_vf *, ig_vf *);

/* The widest block the input channels fill that fits the rows_left padded rows left from o0 on:
 * R output rows per call. */
static row_fn pick_rows(int64_t Cp, int64_t rows_left, int *R)
{
    int64_t nv = Cp / IG_VW;
#if defined(IG_SIMD_AVX512)
    if (nv < 2) return *R = 16, row_block_16x1;
    if (rows_left >= 12) return *R = 12, row_block_12x2;
    if (rows_left >= 8) return *R = 8, row_block_8x2;
    return *R = 4, row_block_4x4;
#elif defined(IG_SIMD_AVX2)
    if (nv < 2) return *R = 8, row_block_8x1;
    if (rows_left >= 6) return *R = 6, row_block_6x2;
    if (rows_left >= 4) return *R = 4, row_block_4x2;
    return *R = 2, row_block_2x4;
#else
    (void)nv, (void)rows_left;
    return *R = 4, row_block_4x2;
#endif
}

/* Instance n: transforms into the thread's scratch, then the row blocks; float sums per row block,
 * double across. */
static void psw_instance(const struct psw_job *j, int64_t n, float *mine, bool *zeroed)
{
    const struct wino_geom *g = &j->g;
    float *V, *Z, *sb = mine + IG_ISA_FN(ig_cpu_wino_thread_floats)(g, 1);
    struct wino_geom gz = *g;   /* after the thread's first image its Xt / Dt borders stay zero */
    gz.zeroed = *zeroed;
    IG_ISA_FN(ig_cpu_wino_dw_transforms)(&gz, j->x, j->dy, n, 1, 1, mine, &V, &Z);
    *zeroed = true;
    int R;
    double sq = 0.0, dot[PS_MAX_REFS] = {0.0, 0.0};
    for (int64_t o0 = 0; o0 < g->cout; o0 += R) {
        row_fn rows = pick_rows(g->Cp, g->Op - o0, &R);
        ig_vf vs = vzero(), vd[PS_MAX_REFS] = {vzero(), vzero()};
        rows(j, Z, V, sb, o0, &vs, vd);
        sq += hsum(vs);
        for (int i = 0; i < j->n_refs; i++) dot[i] += hsum(vd[i]);
    }
    j->acc_sq[n] += sq;
    for (int i = 0; i < j->n_refs; i++) j->acc_dot[i][n] += dot[i];
}

/* refT[o][c / IG_VW][q][c % IG_VW] = ref[o][c][q] (q the 3x3 tap), zero for c >= C: the 9 taps of
 * each vector of input channels contiguous, read in order by the finish. */
static void transpose_ref(const float *ref, int64_t O, int64_t C, int64_t Cp, float *refT)
{
    IG_OMP(omp parallel for schedule(static) if (O * C * 9 > IG_CPU_PAR_MIN))
    for (int64_t o = 0; o < O; o++) {
        float *dst = refT + o * 9 * Cp;
        memset(dst, 0, (size_t)(9 * Cp) * sizeof(float));
        for (int64_t c = 0; c < C; c++)
            for (int q = 0; q < 9; q++) dst[(c / IG_VW * 9 + q) * IG_VW + c % IG_VW] = ref[(o * C + c) * 9 + q];
    }
}

enum ig_status IG_ISA_FN(ig_cpu_winograd_persample)(struct ig_backend *be, const float *x, const float *dy, int64_t N,
                                                    int64_t C, int64_t H, int64_t W, int64_t O, int ph, int pw,
                                                    int64_t Ho, int64_t Wo, int n_refs, const float *const *refw,
                                                    double *const *acc_dot, double *acc_sq, int tile)
{
    if (n_refs < 0 || n_refs > PS_MAX_REFS) return IG_ERR_INVALID_ARG;
    if (tile != 2 && tile != 4) tile = Ho >= 4 && Wo >= 4 ? 4 : 2;
    struct psw_job j = {.x = x, .dy = dy, .n_refs = n_refs, .acc_dot = acc_dot, .acc_sq = acc_sq};
    int nth;
    int64_t nb;
    j.g = IG_ISA_FN(ig_cpu_wino_plan)(tile, N, C, H, W, O, ph, pw, Ho, Wo, &nth, &nb);
    j.g.ppad = PS_PLANE_PAD;
    const struct wino_geom *g = &j.g;
    int64_t rt = vround(9 * g->Cp * O);
    int64_t per = vround(IG_ISA_FN(ig_cpu_wino_thread_floats)(g, 1) + g->a * g->a * PS_ACC * IG_VW);
    float *scr = ig_backend_scratch(be, (size_t)(n_refs * rt + per * nth) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    for (int i = 0; i < n_refs; i++) {
        transpose_ref(refw[i], O, C, g->Cp, scr + i * rt);
        j.refT[i] = scr + i * rt;
    }
    float *thr = scr + n_refs * rt;
    IG_OMP(omp parallel num_threads(nth))
    {
        bool zeroed = false;
        IG_OMP(omp for schedule(dynamic, 1))
        for (int64_t n = 0; n < N; n++) psw_instance(&j, n, thr + ig_cpu_thread_id() * per, &zeroed);
    }
    return IG_OK;
}
