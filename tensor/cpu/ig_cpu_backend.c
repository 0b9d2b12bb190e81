/* CPU backend: 64-byte aligned host buffers, memcpy transfers, the fast kernel table, the per-backend thread count and the instruction set picked at creation. */
#include "ig_cpu_isa.h"
#include "ig_cpu_wcache.h"
#include "ig_config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if IG_HAVE_OPENMP
#include <omp.h>
#endif
#include <cblas.h>

static enum ig_status cpu_alloc(struct ig_backend *be, size_t bytes, void **mem)
{
    (void)be;
    size_t n = (bytes + 63) & ~(size_t)63;
    *mem = aligned_alloc(64, n ? n : 64);
    if (!*mem) return ig_error(IG_ERR_OOM, "cpu: out of memory allocating %zu bytes", n);
    return IG_OK;
}

static void cpu_release(struct ig_backend *be, void *mem)
{
    (void)be;
    free(mem);
}

static enum ig_status cpu_write(struct ig_backend *be, void *mem, size_t off, const void *src, size_t n)
{
    (void)be;
    memcpy((char *)mem + off, src, n);
    return IG_OK;
}

static enum ig_status cpu_read(struct ig_backend *be, void *mem, size_t off, void *dst, size_t n)
{
    (void)be;
    memcpy(dst, (const char *)mem + off, n);
    return IG_OK;
}

static enum ig_status cpu_copy(struct ig_backend *be, void *dst, size_t doff, void *src, size_t soff, size_t n)
{
    (void)be;
    memmove((char *)dst + doff, (const char *)src + soff, n);
    return IG_OK;
}

/* With the threads option set, every kernel runs with that many OpenMP threads (and OpenBLAS
 * threads where it calls threaded BLAS): the calling thread's OpenMP team size and OpenBLAS's
 * count are set around the kernel and put back afterwards, so nothing outside the backend's own
 * calls changes. Without it, the kernels use the process's OpenMP default (OMP_NUM_THREADS). */
struct thread_scope {
    int omp, blas;
};
static struct thread_scope threads_enter(const struct ig_backend *be)
{
    struct thread_scope sc = {0, 0};
    int n = be->opts.threads;
    if (n <= 0) return sc;
#if IG_HAVE_OPENMP
    sc.omp = omp_get_max_threads();
    if (sc.omp != n) omp_set_num_threads(n);
#endif
    sc.blas = openblas_get_num_threads();
    if (sc.blas != n) openblas_set_num_threads(n);
    return sc;
}
static void threads_leave(const struct ig_backend *be, struct thread_scope sc)
{
    int n = be->opts.threads;
    if (n <= 0) return;
#if IG_HAVE_OPENMP
    if (sc.omp != n) omp_set_num_threads(sc.omp);
#endif
    if (sc.blas != n) openblas_set_num_threads(sc.blas);
}

/* be->impl of a CPU backend: the kernel table picked at creation and the weight-transform cache. */
struct cpu_impl {
    const struct ig_cpu_isa_fns *isa;
    struct ig_cpu_wcache *wcache;
};

static void cpu_destroy(struct ig_backend *be)
{
    struct cpu_impl *im = be->impl;
    if (!im) return;
    ig_cpu_wcache_free(im->wcache);
    free(im);
    be->impl = NULL;
}

/* Every op: the kernel of the instruction set picked at creation (be->impl), inside the thread scope. */
#define IG_OP(E, fn, name)                                                                     \
    static enum ig_status run_##fn(struct ig_backend *be, const struct ig_op_call *call)     \
    {                                                                                          \
        struct thread_scope sc = threads_enter(be);                                            \
        enum ig_status s = ig_cpu_isa_of(be)->kernels[IG_OP_##E](be, call);                    \
        threads_leave(be, sc);                                                                 \
        return s;                                                                              \
    }
#include "ig_ops.def"
#undef IG_OP

static const struct ig_backend_vtable cpu_vtable = {
    .kind = IG_BACKEND_CPU,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .write = cpu_write,
    .read = cpu_read,
    .copy = cpu_copy,
    .sync = NULL,
    .destroy = cpu_destroy,
    .kernels = {
#define IG_OP(E, fn, name) [IG_OP_##E] = run_##fn,
#include "ig_ops.def"
#undef IG_OP
    },
};

const ig_kernel_fn ig_cpu_ref_kernels[IG_OP_COUNT] = {
#define IG_OP(E, fn, name) [IG_OP_##E] = ig_cpu_ref_##fn,
#include "ig_ops.def"
#undef IG_OP
};

/* Whether the CPU runs the instructions of one build flavour (cpuid, checked once per call). */
static bool cpu_runs(enum ig_cpu_isa isa)
{
#if IG_HAVE_CPU_X86
    __builtin_cpu_init();
    if (isa == IG_CPU_ISA_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
    if (isa == IG_CPU_ISA_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return isa == IG_CPU_ISA_GENERIC;
}

const struct ig_cpu_isa_fns *ig_cpu_isa_table(enum ig_cpu_isa isa)
{
    if (isa == IG_CPU_ISA_AUTO) {
        if (cpu_runs(IG_CPU_ISA_AVX512)) return &ig_cpu_isa_avx512;
        if (cpu_runs(IG_CPU_ISA_AVX2)) return &ig_cpu_isa_avx2;
        return &ig_cpu_isa_generic;
    }
    if (!cpu_runs(isa)) return NULL;
#if IG_HAVE_CPU_X86
    if (isa == IG_CPU_ISA_AVX512) return &ig_cpu_isa_avx512;
    if (isa == IG_CPU_ISA_AVX2) return &ig_cpu_isa_avx2;
#endif
    return &ig_cpu_isa_generic;
}

const struct ig_cpu_isa_fns *ig_cpu_isa_of(const struct ig_backend *be) { return ((const struct cpu_impl *)be->impl)->isa; }

struct ig_cpu_wcache *ig_cpu_wcache_of(const struct ig_backend *be)
{
    return be && be->vt->kind == IG_BACKEND_CPU && be->impl ? ((const struct cpu_impl *)be->impl)->wcache : NULL;
}

const char *ig_backend_isa_name(const struct ig_backend *be)
{
    if (!be || be->vt->kind != IG_BACKEND_CPU) return "";
    return ig_cpu_isa_of(be)->name;
}

static const char *isa_option_name(enum ig_cpu_isa isa)
{
    return isa == IG_CPU_ISA_AVX512 ? "avx512" : isa == IG_CPU_ISA_AVX2 ? "avx2" : isa == IG_CPU_ISA_GENERIC ? "generic" : "auto";
}

enum ig_status ig_cpu_backend_create(const struct ig_backend_options *o, struct ig_backend **out)
{
    *out = NULL;
    const struct ig_cpu_isa_fns *isa = ig_cpu_isa_table(o->cpu_isa);
    if (!isa)
        return ig_error(IG_ERR_UNSUPPORTED, "cpu backend: instruction set %s (IGRADV_CPU) is not supported by this %s",
                        isa_option_name(o->cpu_isa), IG_HAVE_CPU_X86 ? "CPU" : "build (x86-64 only)");
    struct ig_backend *be = malloc(sizeof *be);
    struct cpu_impl *im = calloc(1, sizeof *im);
    if (im) im->wcache = o->cpu_wcache_mb > 0 ? ig_cpu_wcache_new((size_t)o->cpu_wcache_mb << 20) : NULL;
    if (!be || !im || (o->cpu_wcache_mb > 0 && !im->wcache)) {
        if (im) ig_cpu_wcache_free(im->wcache);
        free(im);
        free(be);
        return ig_error(IG_ERR_OOM, "cpu backend: out of host memory");
    }
    im->isa = isa;
    ig_backend_base_init(be, &cpu_vtable, im);
    be->opts = *o;
#if IG_HAVE_OPENMP
    be->threads = o->threads > 0 ? o->threads : omp_get_max_threads();
#else
    be->threads = 1;
#endif
    snprintf(be->name, sizeof be->name, "cpu (%d threads, %s, %s)", be->threads, isa->name, openblas_get_config());
    *out = be;
    return IG_OK;
}
