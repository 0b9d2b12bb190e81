/* CPU GEMM for a batch-sized side without OpenBLAS: C = alpha op(A) op(B) + beta C for few rows (NN, NT) or a short sum (TN) in register blocks of broadcast rows x vectors; compiled once per ISA. */
#include "ig_cpu_isa.h"
#include "ig_cpu_util.h"

/*
 * The linear layers multiply a batch of B = 32..64 rows by a weight W [out, in] of up to 16 MB:
 *   forward  y[B,out] = x[B,in] W^T (NT),  backward data dx[B,in] = dy[B,out] W (NN),
 *   weight gradient dW[out,in] = dy^T x (TN, K = B).
 * OpenBLAS repacks W on every such call, and its kernels suit square products. Here every product
 * is a sum of broadcast-times-vector register blocks (gs_block)
 *   acc[r][k] += broadcast(a[r ar + q ak]) * b[q ldb + k IG_VW ..]   for q < K:
 *   NT: C^T[N][Mp] = W[N][K] A^T[K][Mp]: W's rows are broadcast in place (ar = ldb, ak = 1), A is
 *       transposed into scratch with rows padded to Mp = M rounded up to vectors (cheap: M is small),
 *       and C^T is transposed back into C. W is read once, row by row.
 *   NN: C = A W with A's rows broadcast in place (ar = lda, ak = 1). W's rows are a multiple of 4 KiB
 *       apart in the paper CNN (1024, 4096 floats), so that a strip of W read in place falls into a
 *       few L1 / L2 sets and comes from L3 for every block of rows (measured 0.8x OpenBLAS): each
 *       thread copies W in panels of GS_KP rows x GS_GV vectors (gs_pack) as it goes (an L2
 *       prefetch of the next panel while multiplying one measured 0.95x on 4096 -> 1024).
 *   TN: C = A^T x with A^T [M][Kp] in scratch (broadcast rows) and x copied in panels as for NN.
 * Threads split the columns of C (NN, TN) or the rows of C^T (NT); each output is summed by one
 * thread in q order within K blocks that depend on K only, the blocks added in order, so the result
 * does not depend on the thread count.
 * Blocks of GS_ROWS(cv) rows x cv vectors: AVX-512 6 x 4, 8 x 3 (NN), 12 x 2, 24 x 1; AVX2 4 x 3,
 * 6 x 2, 12 x 1; plain C 4 x 2, 8 x 1 (tests only: the op keeps OpenBLAS there).
 */
#if defined(IG_SIMD_AVX512)
#define GS_CV 4
#define GS_ROWS(cv) ((cv) == 4 ? 6 : (cv) == 3 ? 8 : (cv) == 2 ? 12 : 24)
#elif defined(IG_SIMD_AVX2)
#define GS_CV 3
#define GS_ROWS(cv) ((cv) == 3 ? 4 : (cv) == 2 ? 6 : 12)
#else
#define GS_CV 2
#define GS_ROWS(cv) ((cv) == 2 ? 4 : 8)
#endif
#define GS_RMAX GS_ROWS(1)
#define GS_NN_CV (GS_CV == 4 ? 3 : GS_CV)   /* NN: 8 x 3 (M = 32, 64 in whole blocks) */
#define GS_KC 2048       /* NT: K block (an A^T strip of <= 512 KiB stays in L2; K 4096: 1.05x faster than 512) */
#define GS_CHUNK 96      /* NT: rows of W per pass over the strips of A^T */
#define GS_KP 128        /* NN: K block of a copied panel (a strip of it stays in L1) */
#define GS_GV 32         /* NN, TN: vectors of a copied panel (2 KiB rows on AVX-512) */
#define GS_PFD 4         /* gs_pack: rows of prefetch ahead */
#define GS_TN_CHUNK 24   /* TN: rows of C per pass over the panel's strips */
#define GS_MMAX 64       /* NN, NT: most rows of C */
#define GS_KMAX 64       /* TN: longest sum */
#define GS_MIN_WORK (1 << 20)   /* fewer products M N K: the last layer (512 -> 10) measured 0.55..0.8x */

/* Output of a block: c = alpha acc + beta c (beta 0: c is not read); tail: the lanes of a masked vector. */
struct gs_out {
    float alpha, beta;
    ig_vmask tail;
};

/* c[r ldc + k IG_VW ..] = alpha sum_{q < K} a[r ar + q ak] b[q ldb + k IG_VW ..] + beta c[..] for
 * r < R, k < CV; with MASK (CV 1) only the lanes of o->tail are read and written. */
static inline __attribute__((always_inline)) void gs_block(const float *a, int64_t ar, int64_t ak, const float *b,
                                                           int64_t ldb, int64_t K, float *c, int64_t ldc,
                                                           const struct gs_out *o, const int R, const int CV,
                                                           const bool MASK)
{
    ig_vf acc[GS_RMAX][GS_CV];
    for (int r = 0; r < R; r++)
        for (int k = 0; k < CV; k++) acc[r][k] = vzero();
    for (int64_t q = 0; q < K; q++, a += ak, b += ldb) {
        ig_vf bv[GS_CV];
        for (int k = 0; k < CV; k++) bv[k] = MASK ? vload_mask(b, o->tail) : vloadu(b + k * IG_VW);
        for (int r = 0; r < R; r++) {
            ig_vf s = vset1(a[r * ar]);
            for (int k = 0; k < CV; k++) acc[r][k] += s * bv[k];
        }
    }
    ig_vf al = vset1(o->alpha), be = vset1(o->beta);
    for (int r = 0; r < R; r++)
        for (int k = 0; k < CV; k++) {
            float *p = c + r * ldc + k * IG_VW;
            ig_vf v = al * acc[r][k];
            if (o->beta != 0.0f) v += be * (MASK ? vload_mask(p, o->tail) : vloadu(p));
            if (MASK) vstore_mask(p, o->tail, v);
            else vstoreu(p, v);
        }
}

/* All `rows` rows of one strip of CV vectors: blocks of GS_ROWS(CV) rows, then the rest in blocks of
 * 16, 8, 4, 2 and 1 rows (each size a constant, so that its accumulators stay in registers). */
static inline __attribute__((always_inline)) void gs_rows(const float *a, int64_t ar, int64_t ak, const float *b,
                                                          int64_t ldb, int64_t K, float *c, int64_t ldc, int64_t rows,
                                                          const struct gs_out *o, const int CV, const bool MASK)
{
    const int R = GS_ROWS(CV);
    int64_t t = 0;
    for (; t + R <= rows; t += R) gs_block(a + t * ar, ar, ak, b, ldb, K, c + t * ldc, ldc, o, R, CV, MASK);
    for (int part = 16; part >= 1; part /= 2)
        if (part < R && ((rows - t) & part)) {
            const float *at = a + t * ar;
            float *ct = c + t * ldc;
            switch (part) {
            case 16: gs_block(at, ar, ak, b, ldb, K, ct, ldc, o, 16 < R ? 16 : 1, CV, MASK); break;
            case 8: gs_block(at, ar, ak, b, ldb, K, ct, ldc, o, 8 < R ? 8 : 1, CV, MASK); break;
            case 4: gs_block(at, ar, ak, b, ldb, K, ct, ldc, o, 4 < R ? 4 : 1, CV, MASK); break;
            case 2: gs_block(at, ar, ak, b, ldb, K, ct, ldc, o, 2, CV, MASK); break;
            default: gs_block(at, ar, ak, b, ldb, K, ct, ldc, o, 1, CV, MASK); break;
            }
            t += part;
        }
}

/* rows x ncols of C: strips of at most cv vectors over all rows, then one masked vector for the
 * last ncols % IG_VW columns. b in place (pk 0: strip j at b + j IG_VW, rows ldb apart) or a panel of
 * gs_pack (pk = K: strip j at b + j IG_VW K, its rows as wide as the strip).
 * noipa: specialised on the constant strides of one call site, GCC's code for the NT blocks ran
 * 1.3x slower (b64, 4096 -> 1024). */
#if defined(__GNUC__) && !defined(__clang__)
#define GS_NOIPA __attribute__((noipa))
#else
#define GS_NOIPA __attribute__((noinline))   /* clang has no noipa */
#endif
static GS_NOIPA void gs_panel(const float *a, int64_t ar, int64_t ak, const float *b, int64_t ldb,
                              int64_t pk, int64_t K, float *c, int64_t ldc, int64_t rows, int64_t ncols, struct gs_out o,
                              int cv)
{
    int64_t nv = ncols / IG_VW;
    for (int64_t j = 0; j < nv; j += cv) {
        int w = nv - j < cv ? (int)(nv - j) : cv;
        const float *bj = b + j * IG_VW * (pk ? pk : 1);
        int64_t lb = pk ? w * IG_VW : ldb;
        float *cj = c + j * IG_VW;
        switch (w) {
        case 1: gs_rows(a, ar, ak, bj, lb, K, cj, ldc, rows, &o, 1, false); break;
#if GS_CV > 2
        case 2: gs_rows(a, ar, ak, bj, lb, K, cj, ldc, rows, &o, 2, false); break;
#endif
#if GS_CV > 3
        case 3: gs_rows(a, ar, ak, bj, lb, K, cj, ldc, rows, &o, 3, false); break;
#endif
        default: gs_rows(a, ar, ak, bj, lb, K, cj, ldc, rows, &o, GS_CV, false); break;
        }
    }
    if (ncols % IG_VW) {
        o.tail = vmask_range(0, ncols % IG_VW);
        gs_rows(a, ar, ak, b + nv * IG_VW * (pk ? pk : 1), pk ? IG_VW : ldb, K, c + nv * IG_VW, ldc, rows, &o, 1,
                true);
    }
}

/* The panel of gs_panel (pk = K) from b[K][ncols] (rows ldb apart): strips of cv vectors (the last
 * narrower), then the last ncols % IG_VW columns as one vector padded with zeros. B's rows are often
 * a multiple of 4 KiB apart, so that a strip read in place aliases in a few L1 sets (and in place
 * its rows were read from L3 for every block of rows); the copy reads b row by row. */
static void gs_pack(const float *b, int64_t ldb, int64_t K, int64_t ncols, int cv, float *buf)
{
    int64_t nv = ncols / IG_VW;
    ig_vmask tail = vmask_range(0, ncols % IG_VW);
    for (int64_t q = 0; q < K; q++, b += ldb) {
        for (int64_t l = 0; l < ncols; l += 16) __builtin_prefetch(b + GS_PFD * ldb + l, 0, 3);
        for (int64_t j = 0; j < nv; j += cv) {
            int w = nv - j < cv ? (int)(nv - j) : cv;
            float *d = buf + j * IG_VW * K + q * w * IG_VW;
            for (int k = 0; k < w; k++) vstore(d + k * IG_VW, vloadu(b + (j + k) * IG_VW));
        }
        if (ncols % IG_VW) vstore(buf + nv * IG_VW * K + q * IG_VW, vload_mask(b + nv * IG_VW, tail));
    }
}

/* Equal K blocks of at most kmax (they depend on K only, so that the sums do not depend on the threads). */
static int64_t gs_kblock(int64_t K, int64_t kmax)
{
    int64_t nkb = (K + kmax - 1) / kmax;
    return (K + nkb - 1) / nkb;
}

/* At[k][m] = A[m][k] for k0 <= k < k1 (k0 a multiple of IG_VW), m < M, and 0 for M <= m < Mp. */
static void gs_transpose_in(const float *A, int64_t lda, int64_t M, int64_t Mp, int64_t k0, int64_t k1, float *At)
{
    int64_t k = k0;
    for (; k + IG_VW <= k1; k += IG_VW)
        for (int64_t m = 0; m < Mp; m += IG_VW) {
            ig_vf r[IG_VW];
            for (int i = 0; i < IG_VW; i++) r[i] = m + i < M ? vloadu(A + (m + i) * lda + k) : vzero();
            vtranspose(r);
            for (int i = 0; i < IG_VW; i++) vstore(At + (k + i) * Mp + m, r[i]);
        }
    for (; k < k1; k++)
        for (int64_t m = 0; m < Mp; m++) At[k * Mp + m] = m < M ? A[m * lda + k] : 0.0f;
}

/* C[m][n] = alpha Ct[n][m] + beta C[m][n] (beta 0: C is not read) for m < M, n0 <= n < n1. */
static void gs_transpose_out(const float *Ct, int64_t Mp, int64_t M, int64_t n0, int64_t n1, float alpha, float beta,
                             float *C, int64_t ldc)
{
    ig_vf al = vset1(alpha), be = vset1(beta);
    int64_t n = n0;
    for (; n + IG_VW <= n1; n += IG_VW)
        for (int64_t m = 0; m < M; m += IG_VW) {
            ig_vf r[IG_VW];
            for (int i = 0; i < IG_VW; i++) r[i] = vload(Ct + (n + i) * Mp + m);
            vtranspose(r);   /* r[i] = Ct[n ..][m + i] */
            for (int i = 0; i < IG_VW && m + i < M; i++) {
                float *p = C + (m + i) * ldc + n;
                ig_vf v = al * r[i];
                if (beta != 0.0f) v += be * vloadu(p);
                vstoreu(p, v);
            }
        }
    for (; n < n1; n++)
        for (int64_t m = 0; m < M; m++) {
            float *p = C + m * ldc + n;
            *p = alpha * Ct[n * Mp + m] + (beta != 0.0f ? beta * *p : 0.0f);
        }
}

/* Measured against the OpenBLAS path of the gemm op (2 threads, the paper CNN's linear layers at
 * b32 / b64): AVX-512 NT 1.5..2x, NN 1.25..1.45x, TN 1.3..1.5x with beta 0 but even with beta 1
 * (OpenBLAS's own beta pass is what it saves); AVX2 NT 1.1..1.3x, TN 1.2..1.35x (beta 0), NN 0.9x
 * and TN with beta 1 0.85..0.95x, so those stay on OpenBLAS, as do the last layer's (512 -> 10) tiny
 * products (0.55..0.8x).
 * The plain C build keeps OpenBLAS (4 lanes, no FMA: the Winograd products measured 4.8x slower). */
bool IG_ISA_FN(ig_cpu_gemm_small_suits)(bool ta, bool tb, int64_t M, int64_t N, int64_t K, bool beta_zero)
{
#if defined(IG_SIMD_AVX512) || defined(IG_SIMD_AVX2)
    if (M < 1 || N < 1 || K < 1 || (double)M * (double)N * (double)K < GS_MIN_WORK) return false;
    if (ta) return !tb && K <= GS_KMAX && beta_zero;   /* TN */
    if (tb) return M <= GS_MMAX;                      /* NT */
    return M <= GS_MMAX && IG_VW == 16;               /* NN */
#else
    (void)ta, (void)tb, (void)M, (void)N, (void)K, (void)beta_zero;
    return false;
#endif
}

/* [lo, hi) of n: thread tid's share of n in whole groups of g. */
static void gs_share(int64_t n, int64_t g, int tid, int nth, int64_t *lo, int64_t *hi)
{
    int64_t groups = (n + g - 1) / g;
    *lo = groups * tid / nth * g;
    *hi = groups * (tid + 1) / nth * g;
    if (*hi > n) *hi = n;
}

/* NT: C[M,N] = alpha A[M,K] B[N,K]^T + beta C through C^T = B A^T: the rows of B broadcast in place,
 * A^T and C^T in scratch; threads split the rows of C^T. */
static enum ig_status gs_nt(struct ig_backend *be, int nth, int64_t M, int64_t N, int64_t K, float alpha,
                            const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    int64_t Mp = vround(M), kb = gs_kblock(K, GS_KC);
    float *At = ig_backend_scratch(be, (size_t)((K + N) * Mp) * sizeof(float));
    if (!At) return IG_ERR_OOM;
    float *Ct = At + K * Mp;
    IG_OMP(omp parallel num_threads(nth) if (nth > 1))
    {
        int64_t lo, hi, n0, n1;
        gs_share(K, IG_VW, ig_cpu_thread_id(), nth, &lo, &hi);
        gs_transpose_in(A, lda, M, Mp, lo, hi, At);
        IG_OMP(omp barrier)
        gs_share(N, 16, ig_cpu_thread_id(), nth, &n0, &n1);
        for (int64_t k0 = 0; k0 < K && n1 > n0; k0 += kb) {
            struct gs_out o = {1.0f, k0 == 0 ? 0.0f : 1.0f, vmask_none()};
            for (int64_t r0 = n0; r0 < n1; r0 += GS_CHUNK)
                gs_panel(B + r0 * ldb + k0, ldb, 1, At + k0 * Mp, Mp, 0, K - k0 < kb ? K - k0 : kb, Ct + r0 * Mp, Mp,
                         n1 - r0 < GS_CHUNK ? n1 - r0 : GS_CHUNK, Mp, o, GS_CV);
        }
        if (n1 > n0) gs_transpose_out(Ct, Mp, M, n0, n1, alpha, beta, C, ldc);
    }
    return IG_OK;
}

/* NN: C[M,N] = alpha A[M,K] B[K,N] + beta C, the rows of A broadcast in place; threads split C's
 * columns, each copies its B in panels of GS_KP rows x GS_GV vectors (gs_pack) as it goes. */
static enum ig_status gs_nn(struct ig_backend *be, int nth, int64_t M, int64_t N, int64_t K, float alpha,
                            const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    int64_t kb = gs_kblock(K, GS_KP), per = kb * GS_GV * IG_VW;
    float *buf = ig_backend_scratch(be, (size_t)(per * nth) * sizeof(float));
    if (!buf) return IG_ERR_OOM;
    IG_OMP(omp parallel num_threads(nth) if (nth > 1))
    {
        int64_t lo, hi;
        gs_share(N, IG_VW, ig_cpu_thread_id(), nth, &lo, &hi);
        float *pb = buf + per * ig_cpu_thread_id();
        for (int64_t g = lo; g < hi; g += GS_GV * IG_VW) {
            int64_t w = hi - g < GS_GV * IG_VW ? hi - g : GS_GV * IG_VW;
            for (int64_t k0 = 0; k0 < K; k0 += kb) {
                int64_t kc = K - k0 < kb ? K - k0 : kb;
                struct gs_out o = {alpha, k0 == 0 ? beta : 1.0f, vmask_none()};
                gs_pack(B + k0 * ldb + g, ldb, kc, w, GS_NN_CV, pb);
                gs_panel(A + k0, lda, 1, pb, 0, kc, kc, C + g, ldc, M, w, o, GS_NN_CV);
            }
        }
    }
    return IG_OK;
}

/* TN: C[M,N] = alpha A[K,M]^T B[K,N] + beta C for a short K: A^T [M][Kp] in scratch (broadcast
 * rows), each thread copies its columns of B in panels of GS_GV vectors (gs_pack). */
static enum ig_status gs_tn(struct ig_backend *be, int nth, int64_t M, int64_t N, int64_t K, float alpha,
                            const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    int64_t Kp = vround(K), per = K * GS_GV * IG_VW;
    float *At = ig_backend_scratch(be, (size_t)(M * Kp + per * nth) * sizeof(float));
    if (!At) return IG_ERR_OOM;
    IG_OMP(omp parallel num_threads(nth) if (nth > 1))
    {
        int64_t lo, hi;
        gs_share(M, IG_VW, ig_cpu_thread_id(), nth, &lo, &hi);
        gs_transpose_in(A, lda, K, Kp, lo, hi, At);   /* At[m][k] = A[k][m] */
        IG_OMP(omp barrier)
        gs_share(N, IG_VW, ig_cpu_thread_id(), nth, &lo, &hi);
        float *pb = At + M * Kp + per * ig_cpu_thread_id();
        struct gs_out o = {alpha, beta, vmask_none()};
        for (int64_t g = lo; g < hi; g += GS_GV * IG_VW) {
            int64_t w = hi - g < GS_GV * IG_VW ? hi - g : GS_GV * IG_VW;
            gs_pack(B + g, ldb, K, w, GS_CV, pb);
            for (int64_t r0 = 0; r0 < M; r0 += GS_TN_CHUNK)
                gs_panel(At + r0 * Kp, Kp, 1, pb, 0, K, K, C + r0 * ldc + g, ldc,
                         M - r0 < GS_TN_CHUNK ? M - r0 : GS_TN_CHUNK, w, o, GS_CV);
        }
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_gemm_small)(struct ig_backend *be, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                                            float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                                            float beta, float *C, int64_t ldc)
{
    int nth = (double)M * (double)N * (double)K < 2e6 ? 1 : ig_cpu_max_threads();
    if (ta) return gs_tn(be, nth, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (tb) return gs_nt(be, nth, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return gs_nn(be, nth, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
