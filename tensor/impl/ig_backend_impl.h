/* Backend implementation interface (private to tensor/, tensor/cpu, tensor/opencl): buffers, the vtable, op calls. */
#ifndef IG_BACKEND_IMPL_H
#define IG_BACKEND_IMPL_H
#include "ig_config.h"
#include "ig_tensor.h"
#include "ig_util.h"

/* A refcounted block of backend memory. mem is a host pointer (CPU) or a cl_mem (OpenCL). */
struct ig_buffer {
    struct ig_backend *backend;
    void *mem;
    size_t bytes;
    int refcount;
    struct ig_buffer *next_free;    /* pool link while free */
};

/* A buffer of at least bytes (rounded up to 256) with refcount 1: a pooled one of at most twice the
 * size (smallest fit), else a new allocation (after trimming the pool once if that fails). NULL on error. */
struct ig_buffer *ig_buffer_acquire(struct ig_backend *be, size_t bytes);
/* Drop one reference; the last one returns the buffer to its backend's pool (NULL is fine). */
void ig_buffer_release(struct ig_buffer *buf);

/* One kernel invocation: tensor slots and parameters as documented in ig_ops.def. */
#define IG_OP_MAX_TENSORS 8
struct ig_op_call {
    enum ig_op op;
    struct ig_tensor *t[IG_OP_MAX_TENSORS];
    union {
        struct ig_gemm_params gemm;
        struct ig_conv2d_params conv;
        struct ig_pool2d_params pool;
        struct ig_bn_params bn;
        struct ig_dropout_params dropout;
        struct ig_xent_params xent;
        struct ig_norm_params norm;
        struct ig_adam_params adam;
        struct ig_sgd_params sgd;
        float alpha;
        int axis;
    } p;
};

typedef enum ig_status (*ig_kernel_fn)(struct ig_backend *be, const struct ig_op_call *call);

struct ig_backend_vtable {
    enum ig_backend_kind kind;
    /* Device memory: *mem receives a host pointer (CPU) or cl_mem (OpenCL). */
    enum ig_status (*alloc)(struct ig_backend *be, size_t bytes, void **mem);
    void (*release)(struct ig_backend *be, void *mem);
    enum ig_status (*write)(struct ig_backend *be, void *mem, size_t offset, const void *src, size_t bytes);
    enum ig_status (*read)(struct ig_backend *be, void *mem, size_t offset, void *dst, size_t bytes);
    enum ig_status (*copy)(struct ig_backend *be, void *dst, size_t dst_off, void *src, size_t src_off, size_t bytes);
    enum ig_status (*sync)(struct ig_backend *be);
    void (*destroy)(struct ig_backend *be);           /* frees impl, not the struct */
    ig_kernel_fn kernels[IG_OP_COUNT];                /* every entry non-NULL */
};

struct ig_backend {
    const struct ig_backend_vtable *vt;
    void *impl;                     /* backend private state */
    char name[256];
    int threads;
    /* buffer pool: free buffers kept for reuse */
    struct ig_buffer *free_list;
    size_t bytes_in_use, bytes_pooled;
    int live_buffers;
    /* host scratch for kernels (im2col, etc.), grown on demand, never shrunk per op */
    void *scratch;
    size_t scratch_bytes;
    /* profiling */
    bool profile;
    double prof_seconds[IG_OP_COUNT];
    int64_t prof_calls[IG_OP_COUNT];
};

/* Host scratch of at least bytes (64-byte aligned), owned by the backend. NULL on OOM. */
void *ig_backend_scratch(struct ig_backend *be, size_t bytes);
/* Run one op through the backend table (with profiling when enabled). */
enum ig_status ig_backend_dispatch(struct ig_backend *be, const struct ig_op_call *call);
/* Common init of the struct for a backend implementation. */
void ig_backend_base_init(struct ig_backend *be, const struct ig_backend_vtable *vt, void *impl);

/* Host pointer of element 0 of a CPU tensor view. */
static inline float *ig_cpu_f32(const struct ig_tensor *t) { return (float *)t->buf->mem + t->offset; }
static inline int32_t *ig_cpu_i32(const struct ig_tensor *t) { return (int32_t *)t->buf->mem + t->offset; }
static inline uint8_t *ig_cpu_u8(const struct ig_tensor *t) { return (uint8_t *)t->buf->mem + t->offset; }

/* Backend constructors (tensor/cpu, tensor/opencl). */
enum ig_status ig_cpu_backend_create(struct ig_backend **out, int threads);
#if IG_HAVE_OPENCL
enum ig_status ig_cl_backend_create(const char *spec, bool gpu_only, struct ig_backend **out);
enum ig_status ig_cl_list_devices(char *buf, size_t cap);
#endif
#endif /* IG_BACKEND_IMPL_H */
