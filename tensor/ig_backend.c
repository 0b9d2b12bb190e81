/* Backend selection (IGRADV_DEVICE, GPU first, CPU fallback), lifetime, scratch, dispatch and profiling (buffer pool: ig_buffer.c). */
#include "ig_backend_impl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ig_backend_base_init(struct ig_backend *be, const struct ig_backend_vtable *vt, void *impl)
{
    memset(be, 0, sizeof *be);
    be->vt = vt;
    be->impl = impl;
}

enum ig_status ig_backend_init_cpu(struct ig_backend **out, int threads)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_backend_init_cpu: out is NULL");
    *out = NULL;
    return ig_cpu_backend_create(out, threads);
}

enum ig_status ig_backend_init(const char *spec, struct ig_backend **out)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_backend_init: out is NULL");
    *out = NULL;
    if (!spec) return ig_error(IG_ERR_INVALID_ARG, "ig_backend_init: device spec is NULL");
    if (strcmp(spec, "cpu") == 0) return ig_cpu_backend_create(out, 0);
    if (strcmp(spec, "opencl") == 0 || strncmp(spec, "opencl:", 7) == 0) {
#if IG_HAVE_OPENCL
        return ig_cl_backend_create(spec, false, out);
#else
        return ig_error(IG_ERR_UNSUPPORTED, "device '%s': this build of igradv has no OpenCL backend (configure with -Dopencl=enabled)", spec);
#endif
    }
    return ig_error(IG_ERR_INVALID_ARG, "device '%s' not understood: expected cpu, opencl or opencl:<platform>:<device>", spec);
}

enum ig_status ig_backend_init_best(struct ig_backend **out)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_backend_init_best: out is NULL");
    *out = NULL;
    const char *env = getenv("IGRADV_DEVICE");
    if (env && *env) {
        enum ig_status s = ig_backend_init(env, out);
        if (s != IG_OK) return ig_error_prefix(s, "IGRADV_DEVICE=%s", env);
        ig_log(IG_LOG_INFO, "using %s (IGRADV_DEVICE=%s)", ig_backend_name(*out), env);
        return IG_OK;
    }
#if IG_HAVE_OPENCL
    if (ig_cl_backend_create("opencl", true, out) == IG_OK) {
        ig_log(IG_LOG_INFO, "using %s (first OpenCL GPU)", ig_backend_name(*out));
        return IG_OK;
    }
    char why[512];
    snprintf(why, sizeof why, "%s", ig_last_error());
    enum ig_status s = ig_cpu_backend_create(out, 0);
    if (s == IG_OK) ig_log(IG_LOG_INFO, "using %s (no OpenCL GPU: %s)", ig_backend_name(*out), why);
    return s;
#else
    enum ig_status s = ig_cpu_backend_create(out, 0);
    if (s == IG_OK) ig_log(IG_LOG_INFO, "using %s (built without OpenCL)", ig_backend_name(*out));
    return s;
#endif
}

void ig_backend_free(struct ig_backend *be)
{
    if (!be) return;
    ig_backend_trim(be);
    free(be->scratch);
    if (be->vt->destroy) be->vt->destroy(be);
    free(be);
}

enum ig_backend_kind ig_backend_kind(const struct ig_backend *be) { return be->vt->kind; }
const char *ig_backend_name(const struct ig_backend *be) { return be ? be->name : "(none)"; }

enum ig_status ig_backend_sync(struct ig_backend *be)
{
    if (!be) return ig_error(IG_ERR_INVALID_ARG, "ig_backend_sync: backend is NULL");
    return be->vt->sync ? be->vt->sync(be) : IG_OK;
}

enum ig_status ig_backend_list_devices(char *buf, size_t cap)
{
    if (!buf || cap == 0) return ig_error(IG_ERR_INVALID_ARG, "ig_backend_list_devices: empty buffer");
#if IG_HAVE_OPENCL
    return ig_cl_list_devices(buf, cap);
#else
    buf[0] = '\0';
    return ig_error(IG_ERR_UNSUPPORTED, "this build of igradv has no OpenCL backend");
#endif
}

void *ig_backend_scratch(struct ig_backend *be, size_t bytes)
{
    if (bytes <= be->scratch_bytes) return be->scratch;
    size_t n = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n);
    if (!p) {
        ig_error(IG_ERR_OOM, "out of host memory for %zu bytes of kernel scratch", n);
        return NULL;
    }
    free(be->scratch);
    be->scratch = p;
    be->scratch_bytes = n;
    return p;
}

enum ig_status ig_backend_dispatch(struct ig_backend *be, const struct ig_op_call *call)
{
    ig_kernel_fn fn = be->vt->kernels[call->op];
    if (!fn) return ig_error(IG_ERR_BACKEND, "%s: backend %s lacks this op", ig_op_name(call->op), be->name);
    if (!be->profile) return fn(be, call);
    IG_TRY(ig_backend_sync(be));
    double t0 = ig_now_seconds();
    enum ig_status s = fn(be, call);
    if (s == IG_OK) s = ig_backend_sync(be);
    be->prof_seconds[call->op] += ig_now_seconds() - t0;
    be->prof_calls[call->op]++;
    return s;
}

void ig_backend_profile_enable(struct ig_backend *be, bool on) { if (be) be->profile = on; }

void ig_backend_profile_read(const struct ig_backend *be, double *seconds, int64_t *calls)
{
    for (int i = 0; i < IG_OP_COUNT; i++) {
        if (seconds) seconds[i] = be->prof_seconds[i];
        if (calls) calls[i] = be->prof_calls[i];
    }
}

void ig_backend_profile_reset(struct ig_backend *be)
{
    memset(be->prof_seconds, 0, sizeof be->prof_seconds);
    memset(be->prof_calls, 0, sizeof be->prof_calls);
}
