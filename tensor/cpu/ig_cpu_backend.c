/* CPU backend: 64-byte aligned host buffers, memcpy transfers, and the fast kernel table. */
#include "ig_cpu_kernels.h"
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

static const struct ig_backend_vtable cpu_vtable = {
    .kind = IG_BACKEND_CPU,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .write = cpu_write,
    .read = cpu_read,
    .copy = cpu_copy,
    .sync = NULL,
    .destroy = NULL,
    .kernels = {
#define IG_OP(E, fn, name) [IG_OP_##E] = ig_cpu_##fn,
#include "ig_ops.def"
#undef IG_OP
    },
};

const ig_kernel_fn ig_cpu_ref_kernels[IG_OP_COUNT] = {
#define IG_OP(E, fn, name) [IG_OP_##E] = ig_cpu_ref_##fn,
#include "ig_ops.def"
#undef IG_OP
};

enum ig_status ig_cpu_backend_create(struct ig_backend **out, int threads)
{
    struct ig_backend *be = malloc(sizeof *be);
    if (!be) return ig_error(IG_ERR_OOM, "cpu backend: out of host memory");
    ig_backend_base_init(be, &cpu_vtable, NULL);
#if IG_HAVE_OPENMP
    if (threads > 0) omp_set_num_threads(threads);
    be->threads = omp_get_max_threads();
#else
    be->threads = 1;
#endif
    if (threads > 0) openblas_set_num_threads(threads);
    snprintf(be->name, sizeof be->name, "cpu (%d threads, %s)", be->threads, openblas_get_config());
    *out = be;
    return IG_OK;
}
