/* Program build for the embedded kernels, with an on-disk binary cache keyed by device, driver, options and source. */
#include "ig_cl.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const kernel_names[IG_CLK_COUNT] = {
#define IG_CL_K(name) [IG_CLK_##name] = #name,
    IG_CL_KERNELS(IG_CL_K)
#undef IG_CL_K
};

const char *ig_cl_kernel_name(enum ig_cl_kid kid)
{
    return (int)kid >= 0 && kid < IG_CLK_COUNT ? kernel_names[kid] : "?";
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* mkdir -p for the cache directory (the last component included). */
static bool make_dirs(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

/* $XDG_CACHE_HOME/igradv or $HOME/.cache/igradv; false when caching is off (IGRADV_CL_CACHE=0). */
static bool cache_dir(char *buf, size_t cap)
{
    const char *off = getenv("IGRADV_CL_CACHE");
    if (off && strcmp(off, "0") == 0) return false;
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg == '/') snprintf(buf, cap, "%s/igradv", xdg);
    else if (home && *home) snprintf(buf, cap, "%s/.cache/igradv", home);
    else return false;
    return true;
}

/* Log the build log of prog for cl's device at ERROR level; copy its first lines into head. */
static void log_build_log(struct ig_cl *cl, cl_program prog, char *head, size_t cap)
{
    size_t n = 0;
    head[0] = '\0';
    if (clGetProgramBuildInfo(prog, cl->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS || n == 0) return;
    char *log = malloc(n + 1);
    if (!log) return;
    if (clGetProgramBuildInfo(prog, cl->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) {
        log[n] = '\0';
        ig_log(IG_LOG_ERROR, "OpenCL build log:\n%s", log);
        snprintf(head, cap, "%s", log);
        for (char *p = head; *p; p++)
            if (*p == '\n') *p = ' ';
    }
    free(log);
}

enum ig_status ig_cl_program_build_source(struct ig_cl *cl, const char *src, const char *options, cl_program *out)
{
    *out = NULL;
    cl_int err;
    size_t len = strlen(src);
    cl_program prog = clCreateProgramWithSource(cl->ctx, 1, &src, &len, &err);
    if (err != CL_SUCCESS) return ig_cl_fail(err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &cl->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        char head[400];
        log_build_log(cl, prog, head, sizeof head);
        clReleaseProgram(prog);
        return ig_error(IG_ERR_BUILD, "building OpenCL kernels (options '%s'): %s (%d); build log starts: %s", options,
                        ig_cl_error_name(err), (int)err, head);
    }
    *out = prog;
    return IG_OK;
}

static bool read_file(const char *path, unsigned char **data, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    bool ok = false;
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        if (sz > 0 && fseek(f, 0, SEEK_SET) == 0) {
            *data = malloc((size_t)sz);
            if (*data && fread(*data, 1, (size_t)sz, f) == (size_t)sz) {
                *n = (size_t)sz;
                ok = true;
            } else {
                free(*data);
                *data = NULL;
            }
        }
    }
    fclose(f);
    return ok;
}

static cl_program load_cached(struct ig_cl *cl, const char *path, const char *options)
{
    unsigned char *bin = NULL;
    size_t n = 0;
    if (!read_file(path, &bin, &n)) return NULL;
    cl_int err, bstatus = CL_SUCCESS;
    const unsigned char *bins[1] = {bin};
    cl_program prog = clCreateProgramWithBinary(cl->ctx, 1, &cl->device, &n, bins, &bstatus, &err);
    free(bin);
    if (err != CL_SUCCESS || bstatus != CL_SUCCESS) {
        if (prog) clReleaseProgram(prog);
        ig_log(IG_LOG_WARN, "opencl: cached program %s rejected (%s), rebuilding", path,
               ig_cl_error_name(err != CL_SUCCESS ? err : bstatus));
        return NULL;
    }
    err = clBuildProgram(prog, 1, &cl->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clReleaseProgram(prog);
        ig_log(IG_LOG_WARN, "opencl: cached program %s failed to load (%s), rebuilding", path, ig_cl_error_name(err));
        return NULL;
    }
    return prog;
}

/* Write the program binary through the atomic writer (a failure only costs the cache). */
static bool save_cached(struct ig_cl *cl, cl_program prog, const char *dir, const char *path)
{
    size_t n = 0;
    cl_uint ndev = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL) != CL_SUCCESS || ndev != 1) return false;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL) != CL_SUCCESS || n == 0) return false;
    unsigned char *bin = malloc(n);
    if (!bin) return false;
    unsigned char *bins[1] = {bin};
    bool ok = false;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS && make_dirs(dir))
        ok = ig_file_write_atomic(path, bin, n) == IG_OK;
    free(bin);
    (void)cl;
    return ok;
}

enum ig_status ig_cl_program_init(struct ig_cl *cl)
{
    double t0 = ig_now_seconds();
    char options[256];
    snprintf(options, sizeof options, "-cl-std=CL1.2 -DIG_WG=%zu", cl->wg);
    snprintf(cl->info.build_options, sizeof cl->info.build_options, "%s", options);

    char key[1024], dir[900];
    ig_cl_device_key(cl->platform, cl->device, key, sizeof key);
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, key, strlen(key) + 1);
    h = fnv1a(h, options, strlen(options) + 1);
    h = fnv1a(h, ig_cl_source, ig_cl_source_len);
    h = fnv1a(h, IG_VERSION, sizeof IG_VERSION);
    bool caching = cache_dir(dir, sizeof dir);
    cl->info.cache_path[0] = '\0';
    if (caching) snprintf(cl->info.cache_path, sizeof cl->info.cache_path, "%s/kernels-%016llx.bin", dir, (unsigned long long)h);

    cl_program prog = caching ? load_cached(cl, cl->info.cache_path, options) : NULL;
    cl->info.program_from_cache = prog != NULL;
    if (!prog) {
        IG_TRY(ig_cl_program_build_source(cl, ig_cl_source, options, &prog));
        if (caching) {
            cl->info.cache_written = save_cached(cl, prog, dir, cl->info.cache_path);
            if (!cl->info.cache_written) ig_log(IG_LOG_WARN, "opencl: could not write the program cache %s", cl->info.cache_path);
        }
    }
    cl->program = prog;
    for (int i = 0; i < IG_CLK_COUNT; i++) {
        cl_int err;
        cl->k[i] = clCreateKernel(prog, kernel_names[i], &err);
        if (err != CL_SUCCESS) return ig_cl_fail(err, "clCreateKernel(%s)", kernel_names[i]);
    }
    /* The reduction kernels need exactly IG_WG items per group. */
    static const enum ig_cl_kid reducers[] = {IG_CLK_row_sum, IG_CLK_row_sqnorm, IG_CLK_row_dot, IG_CLK_channel_sum,
                                              IG_CLK_bn_stats, IG_CLK_bn_bwd_reduce};
    for (size_t i = 0; i < sizeof reducers / sizeof reducers[0]; i++) {
        size_t kwg = 0;
        IG_CL_TRY(clGetKernelWorkGroupInfo(cl->k[reducers[i]], cl->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kwg, &kwg, NULL),
                  "clGetKernelWorkGroupInfo(%s)", kernel_names[reducers[i]]);
        if (kwg < cl->wg)
            return ig_error(IG_ERR_DEVICE, "opencl: kernel %s allows %zu work-items per group, %zu needed", kernel_names[reducers[i]], kwg, cl->wg);
    }
    cl->info.build_seconds = ig_now_seconds() - t0;
    return IG_OK;
}
