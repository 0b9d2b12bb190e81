/* CPU GEMM op: batch-sized products through ig_cpu_gemm_small.c, the others single-threaded OpenBLAS sgemm per OpenMP thread on blocks of C; transpose views map to (trans, ld). */
#include "ig_cpu_isa.h"
#include "ig_cpu_util.h"
#include <cblas.h>

/* Describe a 2-D view [rows, cols] as a BLAS operand: row-major with leading dimension *ld,
 * transposed (*flip) when it is a column-major (transpose) view. False when neither fits. */
static bool blas_operand(const struct ig_tensor *t, bool *flip, int64_t *ld)
{
    int64_t r = t->shape[0], c = t->shape[1];
    if (t->stride[1] == 1 || c == 1) {
        int64_t l = r == 1 ? c : t->stride[0];
        if (l < 1) l = 1;
        if (l >= c) { *flip = false; *ld = l; return true; }
    }
    if (t->stride[0] == 1 || r == 1) {
        int64_t l = c == 1 ? r : t->stride[1];
        if (l < 1) l = 1;
        if (l >= r) { *flip = true; *ld = l; return true; }
    }
    return false;
}

enum ig_status IG_ISA_FN(ig_cpu_gemm)(struct ig_backend *be, const struct ig_op_call *call)
{
    const struct ig_gemm_params *p = &call->p.gemm;
    const struct ig_tensor *C = call->t[0], *A = call->t[1], *B = call->t[2];
    int64_t M = C->shape[0], N = C->shape[1], K = p->trans_a ? A->shape[0] : A->shape[1];
    bool fa, fb, fc;
    int64_t lda, ldb, ldc;
    if (!blas_operand(A, &fa, &lda) || !blas_operand(B, &fb, &ldb) || !blas_operand(C, &fc, &ldc) || fc)
        return ig_cpu_ref_gemm(be, call);   /* exotic strides: correct, slow */
    if (M == 0 || N == 0) return IG_OK;
    bool ta = p->trans_a != fa, tb = p->trans_b != fb;
    if (K == 0) {
        float *c = ig_cpu_f32(C);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) c[i * ldc + j] = p->beta == 0.0f ? 0.0f : p->beta * c[i * ldc + j];
        return IG_OK;
    }
    const float *A0 = ig_cpu_f32(A), *B0 = ig_cpu_f32(B);
    float *C0 = ig_cpu_f32(C);
    /* the linear layers' products at batch 32..64: no packing of the weight (ig_cpu_gemm_small.c) */
    if (IG_ISA_FN(ig_cpu_gemm_small_suits)(ta, tb, M, N, K, p->beta == 0.0f))
        return IG_ISA_FN(ig_cpu_gemm_small)(be, ta, tb, M, N, K, p->alpha, A0, lda, B0, ldb, p->beta, C0, ldc);
    int maxt = ig_cpu_max_threads();
    double work = (double)M * (double)N * (double)K;
    /* split C into column blocks (or row blocks when M is the larger side), one single-threaded
     * sgemm per OpenMP thread; blocks are multiples of 16 for the sgemm micro-kernels */
    bool by_rows = M > N;
    int64_t len = by_rows ? M : N;
    int nth = work < 2e6 ? 1 : maxt;
    if ((int64_t)nth * 16 > len) nth = (int)(len / 16 > 0 ? len / 16 : 1);
    int saved = ig_cpu_blas_single_begin();
    IG_OMP(omp parallel num_threads(nth) if (nth > 1))
    {
        int tid = ig_cpu_thread_id();
        int64_t blocks = (len + 15) / 16;
        int64_t lo = blocks * tid / nth * 16, hi = blocks * (tid + 1) / nth * 16;
        if (hi > len) hi = len;
        if (hi > lo) {
            const float *a = A0, *b = B0;
            float *c = C0;
            int64_t m = M, n = N;
            if (by_rows) {
                a += ta ? lo : lo * lda;      /* rows lo.. of op(A) */
                c += lo * ldc;
                m = hi - lo;
            } else {
                b += tb ? lo * ldb : lo;      /* columns lo.. of op(B) */
                c += lo;
                n = hi - lo;
            }
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m,
                        (blasint)n, (blasint)K, p->alpha, a, (blasint)lda, b, (blasint)ldb, p->beta, c, (blasint)ldc);
        }
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}
