/* OpenCL backend lifetime: platform/device discovery, context and queue, device memory, scratch, listing. */
#include "ig_cl.h"
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IG_CL_MAX_PLATFORMS 16
#define IG_CL_MAX_DEVICES 32

static const char *device_type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    return "other";
}

static void platform_str(cl_platform_id pf, cl_platform_info what, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (clGetPlatformInfo(pf, what, cap, buf, NULL) != CL_SUCCESS) snprintf(buf, cap, "?");
    buf[cap - 1] = '\0';
}

static void device_str(cl_device_id dev, cl_device_info what, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (clGetDeviceInfo(dev, what, cap, buf, NULL) != CL_SUCCESS) snprintf(buf, cap, "?");
    buf[cap - 1] = '\0';
}

void ig_cl_device_key(cl_platform_id pf, cl_device_id dev, char *buf, size_t cap)
{
    char dn[256], pn[256], dv[256], ver[256];
    device_str(dev, CL_DEVICE_NAME, dn, sizeof dn);
    platform_str(pf, CL_PLATFORM_NAME, pn, sizeof pn);
    device_str(dev, CL_DRIVER_VERSION, dv, sizeof dv);
    device_str(dev, CL_DEVICE_VERSION, ver, sizeof ver);
    snprintf(buf, cap, "%s | %s | %s | %s", dn, pn, dv, ver);
}

static enum ig_status get_platforms(cl_platform_id *pfs, cl_uint *n)
{
    cl_int err = clGetPlatformIDs(IG_CL_MAX_PLATFORMS, pfs, n);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && *n == 0))
        return ig_error(IG_ERR_DEVICE, "no OpenCL platform found (is an ICD installed under /etc/OpenCL/vendors?)");
    if (err != CL_SUCCESS) return ig_cl_fail(err, "clGetPlatformIDs");
    if (*n > IG_CL_MAX_PLATFORMS) *n = IG_CL_MAX_PLATFORMS;
    return IG_OK;
}

static cl_uint get_devices(cl_platform_id pf, cl_device_id *devs)
{
    cl_uint n = 0;
    if (clGetDeviceIDs(pf, CL_DEVICE_TYPE_ALL, IG_CL_MAX_DEVICES, devs, &n) != CL_SUCCESS) return 0;
    return n > IG_CL_MAX_DEVICES ? IG_CL_MAX_DEVICES : n;
}

enum ig_status ig_cl_list_devices(char *buf, size_t cap)
{
    buf[0] = '\0';
    cl_platform_id pfs[IG_CL_MAX_PLATFORMS];
    cl_uint np = 0;
    IG_TRY(get_platforms(pfs, &np));
    size_t used = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[IG_CL_MAX_DEVICES];
        cl_uint nd = get_devices(pfs[p], devs);
        char pn[256];
        platform_str(pfs[p], CL_PLATFORM_NAME, pn, sizeof pn);
        for (cl_uint d = 0; d < nd; d++) {
            char dn[256], dv[128], cv[128];
            cl_device_type type = 0;
            cl_ulong mem = 0;
            cl_uint cu = 0;
            clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
            clGetDeviceInfo(devs[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
            clGetDeviceInfo(devs[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
            device_str(devs[d], CL_DEVICE_NAME, dn, sizeof dn);
            device_str(devs[d], CL_DRIVER_VERSION, dv, sizeof dv);
            device_str(devs[d], CL_DEVICE_OPENCL_C_VERSION, cv, sizeof cv);
            if (used < cap)
                used += (size_t)snprintf(buf + used, cap - used,
                                         "opencl:%u:%u  %s %s (%s, driver %s, %s, %u compute units, %.1f GiB)\n", p, d,
                                         device_type_name(type), dn, pn, dv, cv, cu, (double)mem / (1024.0 * 1024 * 1024));
        }
    }
    if (used >= cap) return ig_error(IG_ERR_INVALID_ARG, "ig_backend_list_devices: buffer of %zu bytes too small", cap);
    return IG_OK;
}

/* Resolve spec ("opencl" or "opencl:P:D") to a platform/device pair; gpu_only restricts "opencl" to GPUs. */
static enum ig_status pick_device(const char *spec, bool gpu_only, struct ig_cl *cl)
{
    cl_platform_id pfs[IG_CL_MAX_PLATFORMS];
    cl_uint np = 0;
    IG_TRY(get_platforms(pfs, &np));
    if (strncmp(spec, "opencl:", 7) == 0) {
        int p = -1, d = -1;
        char extra;
        if (sscanf(spec + 7, "%d:%d%c", &p, &d, &extra) != 2 || p < 0 || d < 0)
            return ig_error(IG_ERR_INVALID_ARG, "device '%s': expected opencl:<platform>:<device> with indices from igradv-devices", spec);
        if ((cl_uint)p >= np) return ig_error(IG_ERR_DEVICE, "device '%s': only %u OpenCL platform(s)", spec, np);
        cl_device_id devs[IG_CL_MAX_DEVICES];
        cl_uint nd = get_devices(pfs[p], devs);
        if ((cl_uint)d >= nd) return ig_error(IG_ERR_DEVICE, "device '%s': platform %d has %u device(s)", spec, p, nd);
        cl->platform = pfs[p];
        cl->device = devs[d];
        cl->platform_index = p;
        cl->device_index = d;
        return IG_OK;
    }
    /* Best device: first GPU, else (unless gpu_only) first accelerator, else first device of any type. */
    static const cl_device_type order[] = {CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ACCELERATOR, CL_DEVICE_TYPE_ALL};
    int tiers = gpu_only ? 1 : 3;
    for (int t = 0; t < tiers; t++)
        for (cl_uint p = 0; p < np; p++) {
            cl_device_id devs[IG_CL_MAX_DEVICES];
            cl_uint nd = get_devices(pfs[p], devs);
            for (cl_uint d = 0; d < nd; d++) {
                cl_device_type type = 0;
                cl_bool avail = CL_FALSE;
                clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
                clGetDeviceInfo(devs[d], CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL);
                if (!avail || !(type & order[t])) continue;
                cl->platform = pfs[p];
                cl->device = devs[d];
                cl->platform_index = (int)p;
                cl->device_index = (int)d;
                return IG_OK;
            }
        }
    return ig_error(IG_ERR_DEVICE, gpu_only ? "no OpenCL GPU among %u platform(s)" : "no available OpenCL device among %u platform(s)", np);
}

/* ---------------------------------------------------------------- vtable: memory */

static enum ig_status cl_alloc(struct ig_backend *be, size_t bytes, void **mem)
{
    struct ig_cl *cl = ig_cl_of(be);
    if (bytes > cl->max_alloc)
        return ig_error(IG_ERR_OOM, "opencl: %zu bytes exceed the device's largest allocation (%zu)", bytes, cl->max_alloc);
    cl_int err;
    cl_mem m = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &err);
    if (err != CL_SUCCESS) return ig_cl_fail(err, "clCreateBuffer(%zu bytes)", bytes);
    cl->live_mems++;
    *mem = m;
    return IG_OK;
}

static void cl_release(struct ig_backend *be, void *mem)
{
    if (!mem) return;
    clReleaseMemObject((cl_mem)mem);
    ig_cl_of(be)->live_mems--;
}

static enum ig_status cl_write(struct ig_backend *be, void *mem, size_t off, const void *src, size_t n)
{
    if (n == 0) return IG_OK;
    ig_cl_of(be)->host_writes++;
    ig_cl_of(be)->bytes_written += (int64_t)n;
    IG_CL_TRY(clEnqueueWriteBuffer(ig_cl_of(be)->queue, (cl_mem)mem, CL_TRUE, off, n, src, 0, NULL, NULL),
              "clEnqueueWriteBuffer(%zu bytes at %zu)", n, off);
    return IG_OK;
}

static enum ig_status cl_read(struct ig_backend *be, void *mem, size_t off, void *dst, size_t n)
{
    if (n == 0) return IG_OK;
    ig_cl_of(be)->host_reads++;
    ig_cl_of(be)->bytes_read += (int64_t)n;
    IG_CL_TRY(clEnqueueReadBuffer(ig_cl_of(be)->queue, (cl_mem)mem, CL_TRUE, off, n, dst, 0, NULL, NULL),
              "clEnqueueReadBuffer(%zu bytes at %zu)", n, off);
    struct ig_cl *cl = ig_cl_of(be);
    if (cl->xent_pending) {   /* the in-order queue finished the flag's copy before this read */
        cl->xent_pending = false;
        if (cl->xent_flag_host) {
            cl->xent_flag_host = 0;
            IG_CL_TRY(clEnqueueWriteBuffer(cl->queue, cl->xent_flag, CL_TRUE, 0, sizeof cl->xent_flag_host,
                                           &cl->xent_flag_host, 0, NULL, NULL), "cross-entropy: resetting the label flag");
            return ig_error(IG_ERR_INVALID_ARG, "cross_entropy: a label is outside [0, number of classes) (OpenCL)");
        }
    }
    return IG_OK;
}

static enum ig_status cl_copy(struct ig_backend *be, void *dst, size_t doff, void *src, size_t soff, size_t n)
{
    struct ig_cl *cl = ig_cl_of(be);
    if (n == 0 || (dst == src && doff == soff)) return IG_OK;
    if (dst == src && doff < soff + n && soff < doff + n) {
        /* overlapping ranges of one buffer (memmove semantics): go through scratch */
        cl_mem tmp = ig_cl_scratch(be, IG_CL_SCRATCH_TMP, n);
        if (!tmp) return IG_ERR_OOM;
        IG_CL_TRY(clEnqueueCopyBuffer(cl->queue, (cl_mem)src, tmp, soff, 0, n, 0, NULL, NULL), "clEnqueueCopyBuffer(%zu bytes)", n);
        IG_CL_TRY(clEnqueueCopyBuffer(cl->queue, tmp, (cl_mem)dst, 0, doff, n, 0, NULL, NULL), "clEnqueueCopyBuffer(%zu bytes)", n);
        return IG_OK;
    }
    IG_CL_TRY(clEnqueueCopyBuffer(cl->queue, (cl_mem)src, (cl_mem)dst, soff, doff, n, 0, NULL, NULL),
              "clEnqueueCopyBuffer(%zu bytes)", n);
    return IG_OK;
}

static enum ig_status cl_sync(struct ig_backend *be)
{
    IG_CL_TRY(clFinish(ig_cl_of(be)->queue), "clFinish (a queued kernel or transfer failed)");
    return IG_OK;
}

cl_mem ig_cl_scratch(struct ig_backend *be, int slot, size_t bytes)
{
    struct ig_cl *cl = ig_cl_of(be);
    if (bytes == 0) bytes = 4;
    if (cl->scratch[slot] && cl->scratch_bytes[slot] >= bytes) return cl->scratch[slot];
    if (cl->scratch[slot]) {
        /* released objects stay alive until queued commands using them complete */
        clReleaseMemObject(cl->scratch[slot]);
        cl->scratch[slot] = NULL;
        cl->scratch_bytes[slot] = 0;
        cl->live_mems--;
    }
    size_t want = (bytes + 4095) & ~(size_t)4095;
    void *m = NULL;
    if (cl_alloc(be, want, &m) != IG_OK) {
        ig_error_prefix(IG_ERR_OOM, "opencl scratch");
        return NULL;
    }
    cl->scratch[slot] = m;
    cl->scratch_bytes[slot] = want;
    return cl->scratch[slot];
}

static void cl_destroy(struct ig_backend *be)
{
    struct ig_cl *cl = ig_cl_of(be);
    if (!cl) return;
    if (cl->queue) clFinish(cl->queue);
    for (int i = 0; i < IG_CL_SCRATCH_COUNT; i++)
        if (cl->scratch[i]) {
            clReleaseMemObject(cl->scratch[i]);
            cl->live_mems--;
        }
    if (cl->dummy) {
        clReleaseMemObject(cl->dummy);
        cl->live_mems--;
    }
    if (cl->xent_flag) {
        clReleaseMemObject(cl->xent_flag);
        cl->live_mems--;
    }
    for (int i = 0; i < IG_CLK_COUNT; i++)
        if (cl->k[i]) clReleaseKernel(cl->k[i]);
    if (cl->program) clReleaseProgram(cl->program);
    /* clBLAST caches programs (holding the context) per process: drop them with the context */
    CLBlastClearCache();
    if (cl->queue) clReleaseCommandQueue(cl->queue);
    if (cl->ctx) clReleaseContext(cl->ctx);
    free(cl);
    be->impl = NULL;
}

static const struct ig_backend_vtable cl_vtable = {
    .kind = IG_BACKEND_OPENCL,
    .alloc = cl_alloc,
    .release = cl_release,
    .write = cl_write,
    .read = cl_read,
    .copy = cl_copy,
    .sync = cl_sync,
    .destroy = cl_destroy,
    .kernels = {
#define IG_OP(E, fn, name) [IG_OP_##E] = ig_cl_op_##fn,
#include "ig_ops.def"
#undef IG_OP
    },
};

/* ---------------------------------------------------------------- creation */

static enum ig_status setup(struct ig_backend *be, struct ig_cl *cl, const char *spec, bool gpu_only)
{
    IG_TRY(pick_device(spec, gpu_only, cl));
    cl_device_type type = 0;
    size_t maxwg = 1;
    cl_ulong max_alloc = 0;
    clGetDeviceInfo(cl->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(cl->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof maxwg, &maxwg, NULL);
    clGetDeviceInfo(cl->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    cl->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    cl->max_alloc = (size_t)max_alloc;
    cl->wg = 1;
    while (cl->wg * 2 <= maxwg && cl->wg < 256) cl->wg *= 2;

    char dn[256], pn[256], dv[128];
    device_str(cl->device, CL_DEVICE_NAME, dn, sizeof dn);
    platform_str(cl->platform, CL_PLATFORM_NAME, pn, sizeof pn);
    device_str(cl->device, CL_DRIVER_VERSION, dv, sizeof dv);
    snprintf(be->name, sizeof be->name, "opencl:%d:%d %s %s (%s, driver %s)", cl->platform_index, cl->device_index,
             device_type_name(type), dn, pn, dv);

    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)cl->platform, 0};
    cl->ctx = clCreateContext(props, 1, &cl->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) return ig_cl_fail(err, "clCreateContext(%s)", dn);
    /* profiling-enabled queue: events carry device times, read only while profiling is on */
    cl->queue = clCreateCommandQueue(cl->ctx, cl->device, CL_QUEUE_PROFILING_ENABLE, &err);
    cl->queue_profiling = err == CL_SUCCESS;
    if (err != CL_SUCCESS) cl->queue = clCreateCommandQueue(cl->ctx, cl->device, 0, &err);
    if (err != CL_SUCCESS) return ig_cl_fail(err, "clCreateCommandQueue(%s)", dn);
    cl->dummy = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, 16, NULL, &err);
    if (err != CL_SUCCESS) return ig_cl_fail(err, "clCreateBuffer(dummy)");
    cl->live_mems++;
    IG_TRY(ig_cl_program_init(cl, &be->opts));
    cl->info.platform_index = cl->platform_index;
    cl->info.device_index = cl->device_index;
    cl->info.is_gpu = cl->is_gpu;
    return IG_OK;
}

enum ig_status ig_cl_backend_create(const char *spec, bool gpu_only, const struct ig_backend_options *o,
                                    struct ig_backend **out)
{
    *out = NULL;
    struct ig_backend *be = malloc(sizeof *be);
    struct ig_cl *cl = calloc(1, sizeof *cl);
    if (!be || !cl) {
        free(be);
        free(cl);
        return ig_error(IG_ERR_OOM, "opencl backend: out of host memory");
    }
    ig_backend_base_init(be, &cl_vtable, cl);
    be->threads = 1;
    be->opts = *o;
    enum ig_status s = setup(be, cl, spec ? spec : "opencl", gpu_only);
    if (s != IG_OK) {
        cl_destroy(be);
        free(be);
        return s;
    }
    ig_log(IG_LOG_DEBUG, "opencl: %s ready (program %s in %.2f s)", be->name,
           cl->info.program_from_cache ? "loaded from cache" : "built", cl->info.build_seconds);
    *out = be;
    return IG_OK;
}

enum ig_status ig_cl_info_get(struct ig_backend *be, struct ig_cl_info *out)
{
    if (!be || !out) return ig_error(IG_ERR_INVALID_ARG, "ig_cl_info_get: NULL argument");
    if (be->vt->kind != IG_BACKEND_OPENCL) return ig_error(IG_ERR_BACKEND, "ig_cl_info_get: %s is not an OpenCL backend", be->name);
    *out = ig_cl_of(be)->info;
    return IG_OK;
}

enum ig_status ig_cl_build_check(struct ig_backend *be, const char *source)
{
    if (!be || !source) return ig_error(IG_ERR_INVALID_ARG, "ig_cl_build_check: NULL argument");
    if (be->vt->kind != IG_BACKEND_OPENCL) return ig_error(IG_ERR_BACKEND, "ig_cl_build_check: %s is not an OpenCL backend", be->name);
    cl_program prog = NULL;
    IG_TRY(ig_cl_program_build_source(ig_cl_of(be), source, "-cl-std=CL1.2", &prog));
    clReleaseProgram(prog);
    return IG_OK;
}

long ig_cl_live_mems(struct ig_backend *be)
{
    if (!be || be->vt->kind != IG_BACKEND_OPENCL) return 0;
    return ig_cl_of(be)->live_mems;
}

int ig_cl_kernel_count(void) { return IG_CL_PROF_COUNT; }

bool ig_cl_kernel_profile(struct ig_backend *be, int i, const char **name, double *seconds, int64_t *calls)
{
    if (!be || be->vt->kind != IG_BACKEND_OPENCL || i < 0 || i >= IG_CL_PROF_COUNT) return false;
    struct ig_cl *cl = ig_cl_of(be);
    if (name) *name = i < IG_CLK_COUNT ? ig_cl_kernel_name((enum ig_cl_kid)i) : i == IG_CL_PROF_SGEMM ? "clblast_sgemm" : "fill_buffer";
    if (seconds) *seconds = cl->kprof_seconds[i];
    if (calls) *calls = cl->kprof_calls[i];
    return true;
}

void ig_cl_kernel_profile_reset(struct ig_backend *be)
{
    if (!be || be->vt->kind != IG_BACKEND_OPENCL) return;
    struct ig_cl *cl = ig_cl_of(be);
    memset(cl->kprof_seconds, 0, sizeof cl->kprof_seconds);
    memset(cl->kprof_calls, 0, sizeof cl->kprof_calls);
}

void ig_cl_transfer_stats(struct ig_backend *be, int64_t *writes, int64_t *reads, int64_t *bytes_written,
                              int64_t *bytes_read)
{
    struct ig_cl *cl = be && be->vt->kind == IG_BACKEND_OPENCL ? ig_cl_of(be) : NULL;
    if (writes) *writes = cl ? cl->host_writes : 0;
    if (reads) *reads = cl ? cl->host_reads : 0;
    if (bytes_written) *bytes_written = cl ? cl->bytes_written : 0;
    if (bytes_read) *bytes_read = cl ? cl->bytes_read : 0;
}
