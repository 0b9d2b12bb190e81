/* Private state and helpers of the OpenCL backend (context, program, kernels, scratch, launch wrappers). */
#ifndef IG_CL_H
#define IG_CL_H
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include "ig_backend_impl.h"
#include "ig_cl_info.h"
#include <CL/cl.h>

/* Every kernel of kernels/NAME.cl, by function name. */
#define IG_CL_KERNELS(X) \
    X(relu_fwd) X(relu_bwd) X(add_f) X(sub_f) X(mul_f) X(scale_f) X(axpy_f) X(bias_add) X(dropout_fwd) \
    X(normalize_u8) X(copy_strided4) X(copy_strided1) X(sum_axis) X(row_sum) X(row_sqnorm) X(row_dot) \
    X(channel_sum) X(sum_parts) X(argmax_rows) X(softmax_rows) X(xent_rows) X(xent_bwd) X(bn_stats) X(bn_apply) \
    X(bn_bwd_reduce) X(bn_bwd_dx) X(maxpool_fwd) X(maxpool_bwd) X(im2col) X(col2im) X(ocols_to_nchw) \
    X(nchw_to_ocols) X(adam_step) X(sgd_step)

enum ig_cl_kid {
#define IG_CL_K(name) IG_CLK_##name,
    IG_CL_KERNELS(IG_CL_K)
#undef IG_CL_K
    IG_CLK_COUNT
};

/* Per-kernel device times (profiling events) while ig_backend_profile_enable is on: the kernels of
 * kernels/NAME.cl, then clBLAST's SGEMM and buffer fills. */
enum { IG_CL_PROF_SGEMM = IG_CLK_COUNT, IG_CL_PROF_FILL, IG_CL_PROF_COUNT };

/* Device scratch slots (grown on demand, reused across ops; the in-order queue serialises users). */
enum { IG_CL_SCRATCH_COL, IG_CL_SCRATCH_TMP, IG_CL_SCRATCH_PART, IG_CL_SCRATCH_GEMM, IG_CL_SCRATCH_COUNT };

struct ig_cl {
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue queue;
    cl_program program;
    cl_kernel k[IG_CLK_COUNT];
    int platform_index, device_index;
    bool is_gpu;
    size_t wg;                      /* work-group size of the reduction kernels (IG_WG) */
    size_t max_alloc;               /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    cl_mem dummy;                   /* 16-byte buffer standing in for absent tensors */
    cl_mem xent_flag;               /* int: 1 when a cross-entropy label was outside [0, M) (set on the device) */
    cl_int xent_flag_host;          /* its copy, read without blocking after each cross-entropy forward */
    bool xent_pending;              /* a copy is in flight: checked by the next blocking read (the loss) */
    cl_mem scratch[IG_CL_SCRATCH_COUNT];
    size_t scratch_bytes[IG_CL_SCRATCH_COUNT];
    struct ig_cl_info info;     /* build/cache facts for tests and tools */
    long live_mems;                 /* clCreateBuffer minus clReleaseMemObject (leak check) */
    int64_t host_writes, host_reads;     /* transfers through the vtable (residency checks) */
    int64_t bytes_written, bytes_read;
    bool queue_profiling;           /* queue created with CL_QUEUE_PROFILING_ENABLE */
    double kprof_seconds[IG_CL_PROF_COUNT];
    int64_t kprof_calls[IG_CL_PROF_COUNT];
};

static inline struct ig_cl *ig_cl_of(struct ig_backend *be) { return (struct ig_cl *)be->impl; }
static inline cl_mem ig_cl_mem(const struct ig_tensor *t) { return (cl_mem)t->buf->mem; }

/* CL error name ("CL_INVALID_VALUE") for a cl_int or clBLAST status. */
const char *ig_cl_error_name(cl_int err);
/* Map a failed CL call to an ig_status with "what: CL_NAME (code)" as the message. */
enum ig_status ig_cl_fail(cl_int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define IG_CL_TRY(call, ...) do { cl_int ig_cl_e_ = (call); if (ig_cl_e_ != CL_SUCCESS) return ig_cl_fail(ig_cl_e_, __VA_ARGS__); } while (0)

/* Name of a kernel ("relu_fwd"). */
const char *ig_cl_kernel_name(enum ig_cl_kid kid);
/* Build (or load from the disk cache) the embedded program for cl and create all kernels. */
enum ig_status ig_cl_program_init(struct ig_cl *cl, const struct ig_backend_options *o);
/* Build an arbitrary source for cl's device (no cache); IG_ERR_BUILD with the log logged on failure. */
enum ig_status ig_cl_program_build_source(struct ig_cl *cl, const char *src, const char *options, cl_program *out);
/* Device string "<device> | <platform> | <driver> | <version>" used in cache keys and names. */
void ig_cl_device_key(cl_platform_id pf, cl_device_id dev, char *buf, size_t cap);

/* Device scratch buffer of at least bytes in slot; NULL (error set) on failure. */
cl_mem ig_cl_scratch(struct ig_backend *be, int slot, size_t bytes);

/* Kernel launch: set arguments in order, then run a 1-D range.
 *   struct ig_cl_launch L = ig_cl_begin(be, IG_CLK_relu_fwd);
 *   ig_cl_arg_t(&L, y); ig_cl_arg_t(&L, x); ig_cl_arg_i(&L, n);
 *   return ig_cl_run(&L, n, 0);      (local 0: rounded-up global, driver picks the group) */
struct ig_cl_launch {
    struct ig_backend *be;
    struct ig_cl *cl;
    enum ig_cl_kid kid;
    cl_uint narg;
    cl_int err;
    enum ig_status status;
};
struct ig_cl_launch ig_cl_begin(struct ig_backend *be, enum ig_cl_kid kid);
void ig_cl_arg_t(struct ig_cl_launch *L, const struct ig_tensor *t);   /* buffer + int offset; NULL -> dummy */
void ig_cl_arg_buf(struct ig_cl_launch *L, cl_mem m);                  /* bare buffer */
void ig_cl_arg_i(struct ig_cl_launch *L, int64_t v);                   /* int (range-checked) */
void ig_cl_arg_f(struct ig_cl_launch *L, float v);
void ig_cl_arg_u64(struct ig_cl_launch *L, uint64_t v);
void ig_cl_arg_f4(struct ig_cl_launch *L, const float v[4]);
/* Run with global size items (rounded up to a multiple of local, or of 64 when local is 0). */
enum ig_status ig_cl_run(struct ig_cl_launch *L, int64_t items, size_t local);
/* Run a 3-D range n0 x n1 x n2 (n0 rounded up: kernels bound-check dimension 0; the driver picks the groups). */
enum ig_status ig_cl_run3(struct ig_cl_launch *L, int64_t n0, int64_t n1, int64_t n2);
/* Run n_groups work-groups of cl->wg items each (the reduction kernels). */
enum ig_status ig_cl_run_groups(struct ig_cl_launch *L, int64_t n_groups);

/* With profiling on (be->profile), wait for ev and add its device time to slot; releases ev. */
void ig_cl_profile_event(struct ig_backend *be, int slot, cl_event ev);

/* y = alpha op(A) op(B) + beta y on raw buffers, row-major, through clBLAST. */
enum ig_status ig_cl_sgemm(struct ig_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                           cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta,
                           cl_mem c, size_t c_off, size_t ldc);
/* batch independent GEMMs C_s = alpha op(A_s) op(B_s) + beta C_s with A_s = A + s*a_stride etc. */
enum ig_status ig_cl_sgemm_batched(struct ig_backend *be, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
                                   cl_mem a, size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off, size_t ldb,
                                   size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc, size_t c_stride,
                                   size_t batch);
/* Fill n elements of a 4-byte (f32/i32) or 1-byte buffer at element offset off with a pattern. */
enum ig_status ig_cl_fill(struct ig_backend *be, cl_mem m, size_t elem_size, size_t off, size_t n, const void *pattern);

/* The op table (one per ig_ops.def entry, all defined in ig_cl_ops.c / ig_cl_conv.c). */
#define IG_OP(E, fn, name) enum ig_status ig_cl_op_##fn(struct ig_backend *be, const struct ig_op_call *call);
#include "ig_ops.def"
#undef IG_OP

/* The embedded kernel source (generated by embed_kernels.py). */
extern const char ig_cl_source[];
extern const size_t ig_cl_source_len;
#endif /* IG_CL_H */
