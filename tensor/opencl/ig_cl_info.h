/* Introspection of the OpenCL backend for tests and tools (no OpenCL types; include only when IG_HAVE_OPENCL). */
#ifndef IG_CL_INFO_H
#define IG_CL_INFO_H
#include "ig_tensor.h"

/* Facts about how the backend's program was obtained. */
struct ig_cl_info {
    bool program_from_cache;        /* binary loaded from the disk cache */
    bool cache_written;             /* this backend wrote the cache file */
    double build_seconds;           /* time to obtain the program (build or load) */
    char cache_path[1024];          /* "" when caching is off (IGRADV_CL_CACHE=0 or no cache dir) */
    char build_options[256];
    int platform_index, device_index;
    bool is_gpu;
};

/* Copy the info of an OpenCL backend; IG_ERR_BACKEND for another backend kind. */
enum ig_status ig_cl_info_get(struct ig_backend *be, struct ig_cl_info *out);
/* Build source for be's device without caching: IG_OK, or IG_ERR_BUILD with the build log
 * logged at IG_LOG_ERROR and its first lines in the error text. For tests. */
enum ig_status ig_cl_build_check(struct ig_backend *be, const char *source);
/* Number of live cl_mem objects the backend created (pooled buffers, scratch, dummy). */
long ig_cl_live_mems(struct ig_backend *be);
/* Host<->device transfers since the backend was created (ig_tensor_from_host*, ig_tensor_to_host,
 * ig_tensor_item, ...): counts and bytes. Lets tests check that tensors stay resident. */
void ig_cl_transfer_stats(struct ig_backend *be, int64_t *writes, int64_t *reads, int64_t *bytes_written,
                              int64_t *bytes_read);

/* Device time per OpenCL kernel (profiling events, collected while ig_backend_profile_enable(be, true)):
 * for i in 0 .. ig_cl_kernel_count()-1, name ("im2col", "clblast_sgemm", "fill_buffer"), seconds, calls.
 * Returns false when i is out of range or be is not an OpenCL backend. */
int ig_cl_kernel_count(void);
bool ig_cl_kernel_profile(struct ig_backend *be, int i, const char **name, double *seconds, int64_t *calls);
void ig_cl_kernel_profile_reset(struct ig_backend *be);
#endif /* IG_CL_INFO_H */
