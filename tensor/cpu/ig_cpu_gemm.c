/* CPU GEMM op through OpenBLAS sgemm; 2-D views with unit stride on either dimension map to (trans, ld). */
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

enum ig_status ig_cpu_gemm(struct ig_backend *be, const struct ig_op_call *call)
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
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N,
                (blasint)K, p->alpha, ig_cpu_f32(A), (blasint)lda, ig_cpu_f32(B), (blasint)ldb, p->beta, ig_cpu_f32(C),
                (blasint)ldc);
    return IG_OK;
}
