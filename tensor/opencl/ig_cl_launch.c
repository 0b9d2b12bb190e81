/* Kernel launch wrappers (argument setting, 1-D ranges), clBLAST SGEMM and buffer fills for the OpenCL ops. */
#include "ig_cl.h"
#include <clblast_c.h>
#include <limits.h>

struct ig_cl_launch ig_cl_begin(struct ig_backend *be, enum ig_cl_kid kid)
{
    struct ig_cl_launch L = {be, ig_cl_of(be), kid, 0, CL_SUCCESS, IG_OK};
    return L;
}

static void set_arg(struct ig_cl_launch *L, size_t size, const void *v)
{
    if (L->err != CL_SUCCESS || L->status != IG_OK) return;
    L->err = clSetKernelArg(L->cl->k[L->kid], L->narg, size, v);
    L->narg++;
}

void ig_cl_arg_buf(struct ig_cl_launch *L, cl_mem m) { set_arg(L, sizeof m, &m); }

void ig_cl_arg_i(struct ig_cl_launch *L, int64_t v)
{
    if (v < INT_MIN || v > INT_MAX) {
        if (L->status == IG_OK)
            L->status = ig_error(IG_ERR_UNSUPPORTED, "opencl: kernel argument %u = %lld exceeds 32-bit indexing", L->narg, (long long)v);
        return;
    }
    cl_int i = (cl_int)v;
    set_arg(L, sizeof i, &i);
}

void ig_cl_arg_t(struct ig_cl_launch *L, const struct ig_tensor *t)
{
    ig_cl_arg_buf(L, t ? ig_cl_mem(t) : L->cl->dummy);
    ig_cl_arg_i(L, t ? t->offset : 0);
}

void ig_cl_arg_f(struct ig_cl_launch *L, float v)
{
    cl_float f = v;
    set_arg(L, sizeof f, &f);
}

void ig_cl_arg_u64(struct ig_cl_launch *L, uint64_t v)
{
    cl_ulong u = v;
    set_arg(L, sizeof u, &u);
}

void ig_cl_arg_f4(struct ig_cl_launch *L, const float v[4])
{
    cl_float4 f;
    for (int i = 0; i < 4; i++) f.s[i] = v[i];
    set_arg(L, sizeof f, &f);
}

static enum ig_status launch_nd(struct ig_cl_launch *L, cl_uint dims, const size_t *global, const size_t *local)
{
    if (L->status != IG_OK) return L->status;
    if (L->err != CL_SUCCESS) return ig_cl_fail(L->err, "clSetKernelArg(%s, arg %u)", ig_cl_kernel_name(L->kid), L->narg - 1);
    cl_event ev = NULL;
    bool prof = L->be->profile && L->cl->queue_profiling;
    cl_int err = clEnqueueNDRangeKernel(L->cl->queue, L->cl->k[L->kid], dims, NULL, global, local, 0, NULL, prof ? &ev : NULL);
    if (err == CL_SUCCESS && ev) ig_cl_profile_event(L->be, (int)L->kid, ev);
    if (err != CL_SUCCESS)
        return ig_cl_fail(err, "clEnqueueNDRangeKernel(%s, %zu x %zu x %zu items)", ig_cl_kernel_name(L->kid), global[0],
                          dims > 1 ? global[1] : 1, dims > 2 ? global[2] : 1);
    return IG_OK;
}

static enum ig_status launch(struct ig_cl_launch *L, size_t global, size_t local)
{
    return launch_nd(L, 1, &global, local ? &local : NULL);
}

enum ig_status ig_cl_run3(struct ig_cl_launch *L, int64_t n0, int64_t n1, int64_t n2)
{
    if (L->status != IG_OK) return L->status;
    if (n0 <= 0 || n1 <= 0 || n2 <= 0) return IG_OK;
    if (n0 > INT_MAX || n1 > INT_MAX || n2 > INT_MAX || n0 * n1 > INT_MAX / n2)
        return ig_error(IG_ERR_UNSUPPORTED, "opencl: %lld x %lld x %lld work-items exceed 32-bit indexing", (long long)n0,
                        (long long)n1, (long long)n2);
    /* dimension 0 rounded to a multiple of 32 so the driver can pick wide groups */
    size_t g[3] = {n0 > 32 ? ((size_t)n0 + 31) / 32 * 32 : (size_t)n0, (size_t)n1, (size_t)n2};
    return launch_nd(L, 3, g, NULL);
}

enum ig_status ig_cl_run(struct ig_cl_launch *L, int64_t items, size_t local)
{
    if (L->status != IG_OK) return L->status;
    if (items <= 0) return IG_OK;
    if (items > INT_MAX) return ig_error(IG_ERR_UNSUPPORTED, "opencl: %lld work-items exceed 32-bit indexing", (long long)items);
    size_t q = local ? local : 64;
    size_t global = ((size_t)items + q - 1) / q * q;
    return launch(L, global, local);
}

enum ig_status ig_cl_run_groups(struct ig_cl_launch *L, int64_t n_groups)
{
    if (L->status != IG_OK) return L->status;
    if (n_groups <= 0) return IG_OK;
    if (n_groups > INT_MAX / (int64_t)L->cl->wg) return ig_error(IG_ERR_UNSUPPORTED, "opencl: %lld work-groups is too many", (long long)n_groups);
    return launch(L, (size_t)n_groups * L->cl->wg, L->cl->wg);
}

enum ig_status ig_cl_sgemm(struct ig_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                           cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta,
                           cl_mem c, size_t c_off, size_t ldc)
{
    struct ig_cl *cl = ig_cl_of(be);
    if (m == 0 || n == 0) return IG_OK;
    if (k == 0) {
        /* clBLAST rejects k = 0: C = beta C */
        if (beta == 1.0f) return IG_OK;
        for (size_t r = 0; r < m; r++) {
            struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_scale_f);
            ig_cl_arg_buf(&L, c);
            ig_cl_arg_i(&L, (int64_t)(c_off + r * ldc));
            ig_cl_arg_buf(&L, c);
            ig_cl_arg_i(&L, (int64_t)(c_off + r * ldc));
            ig_cl_arg_f(&L, beta);
            ig_cl_arg_i(&L, (int64_t)n);
            IG_TRY(ig_cl_run(&L, (int64_t)n, 0));
        }
        return IG_OK;
    }
    cl_event ev = NULL;
    bool prof = be->profile && cl->queue_profiling;
    CLBlastTranspose cta = ta ? CLBlastTransposeYes : CLBlastTransposeNo, ctb = tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    /* clBLAST's temporary (padded/transposed copies) comes from a kept scratch buffer, so steady-state
     * training does not create a buffer per GEMM */
    size_t temp = 0;
    CLBlastStatusCode st = CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, cta, ctb, m, n, k, a_off, lda, b_off, ldb, c_off,
                                                      ldc, &cl->queue, &temp);
    if (st != CLBlastSuccess) return ig_cl_fail((cl_int)st, "clBLAST sgemm temporary size (m=%zu n=%zu k=%zu)", m, n, k);
    cl_mem tb_mem = ig_cl_scratch(be, IG_CL_SCRATCH_GEMM, temp);
    if (!tb_mem) return IG_ERR_OOM;
    st = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, cta, ctb, m, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, c,
                                    c_off, ldc, &cl->queue, prof ? &ev : NULL, tb_mem);
    if (st == CLBlastSuccess && ev) ig_cl_profile_event(be, IG_CL_PROF_SGEMM, ev);
    if (st != CLBlastSuccess)
        return ig_cl_fail((cl_int)st, "clBLAST sgemm (m=%zu n=%zu k=%zu, ta=%d tb=%d, lda=%zu ldb=%zu ldc=%zu)", m, n, k,
                          (int)ta, (int)tb, lda, ldb, ldc);
    return IG_OK;
}

enum ig_status ig_cl_sgemm_batched(struct ig_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                                   cl_mem a, size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off, size_t ldb,
                                   size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc, size_t c_stride,
                                   size_t batch)
{
    struct ig_cl *cl = ig_cl_of(be);
    if (m == 0 || n == 0 || k == 0 || batch == 0)
        return ig_error(IG_ERR_INTERNAL, "opencl: empty batched sgemm (m=%zu n=%zu k=%zu batch=%zu)", m, n, k, batch);
    cl_event ev = NULL;
    bool prof = be->profile && cl->queue_profiling;
    CLBlastStatusCode st = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                                                      tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, a_off,
                                                      lda, a_stride, b, b_off, ldb, b_stride, beta, c, c_off, ldc, c_stride,
                                                      batch, &cl->queue, prof ? &ev : NULL);
    if (st == CLBlastSuccess && ev) ig_cl_profile_event(be, IG_CL_PROF_SGEMM, ev);
    if (st != CLBlastSuccess)
        return ig_cl_fail((cl_int)st, "clBLAST strided-batched sgemm (m=%zu n=%zu k=%zu, batch %zu)", m, n, k, batch);
    return IG_OK;
}

enum ig_status ig_cl_fill(struct ig_backend *be, cl_mem m, size_t elem_size, size_t off, size_t n, const void *pattern)
{
    if (n == 0) return IG_OK;
    struct ig_cl *cl = ig_cl_of(be);
    cl_event ev = NULL;
    bool prof = be->profile && cl->queue_profiling;
    IG_CL_TRY(clEnqueueFillBuffer(cl->queue, m, pattern, elem_size, off * elem_size, n * elem_size, 0, NULL, prof ? &ev : NULL),
              "clEnqueueFillBuffer(%zu x %zu bytes)", n, elem_size);
    if (ev) ig_cl_profile_event(be, IG_CL_PROF_FILL, ev);
    return IG_OK;
}

void ig_cl_profile_event(struct ig_backend *be, int slot, cl_event ev)
{
    struct ig_cl *cl = ig_cl_of(be);
    cl_ulong t0 = 0, t1 = 0;
    /* the op is synchronised by ig_backend_dispatch anyway while profiling */
    if (clWaitForEvents(1, &ev) == CL_SUCCESS &&
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) == CL_SUCCESS &&
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) == CL_SUCCESS && t1 >= t0) {
        cl->kprof_seconds[slot] += 1e-9 * (double)(t1 - t0);
        cl->kprof_calls[slot]++;
    }
    clReleaseEvent(ev);
}
