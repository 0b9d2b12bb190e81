/* igradv tensor core: status codes, logging, backends, tensors (views), and the forward/backward kernel ops. */
#ifndef IG_TENSOR_H
#define IG_TENSOR_H
/*
 * Overview
 *   A tensor is a typed (f32, u8, i32) strided view of up to 4 dimensions over a
 *   reference-counted buffer that lives on one backend (the CPU, or an OpenCL device).
 *   Ops are plain functions: they validate shapes/dtypes/backends, then dispatch to the
 *   backend's kernel table (ig_ops.def lists the ops once). Outputs are preallocated by
 *   the caller; nothing is allocated per op except from the backend's buffer pool.
 *
 * Ownership
 *   - ig_tensor_new/_from_host return a tensor that owns one reference to a new buffer.
 *   - Views (reshape, slice, transpose, ig_tensor_view) take another reference to the
 *     same buffer; the buffer is returned to its backend's pool when its last tensor is
 *     freed. Every tensor handle is released with ig_tensor_free (NULL is fine).
 *   - Freed buffers are kept in the backend's size-bucketed pool and reused, so a
 *     training step that frees its activations and allocates the same shapes again does
 *     no malloc/clCreateBuffer in steady state. ig_backend_trim() returns pooled memory.
 *   - Tensors must not outlive their backend.
 *
 * Errors
 *   Every fallible call returns enum ig_status (IG_OK = 0) or NULL; ig_last_error()
 *   (thread-local) then holds a message. The library never prints, exits or aborts:
 *   log lines go to the handler set with ig_log_set_handler (silent by default).
 *
 * Example
 *   struct ig_backend *be;
 *   if (ig_backend_init_best(&be) != IG_OK) { fprintf(stderr, "%s\n", ig_last_error()); return 1; }
 *   int64_t shape[2] = {64, 10};
 *   struct ig_tensor *logits = ig_tensor_new(be, IG_DTYPE_F32, 2, shape);
 *   struct ig_tensor *probs  = ig_tensor_new(be, IG_DTYPE_F32, 2, shape);
 *   ig_fill(logits, 0.0f);
 *   if (ig_softmax(probs, logits) != IG_OK) ...;
 *   float host[640]; ig_tensor_to_host(probs, host, sizeof host);
 *   ig_tensor_free(probs); ig_tensor_free(logits); ig_backend_free(be);
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status, errors, logging */

enum ig_status {
    IG_OK = 0,
    IG_ERR_INVALID_ARG,  /* NULL pointer, negative size, bad flag value */
    IG_ERR_SHAPE,        /* shapes do not fit the op */
    IG_ERR_DTYPE,        /* wrong element type */
    IG_ERR_LAYOUT,       /* op needs a contiguous tensor */
    IG_ERR_BACKEND,      /* tensors on different backends, or backend lacks the op */
    IG_ERR_OOM,          /* host or device allocation failed */
    IG_ERR_IO,           /* file could not be opened/read/written */
    IG_ERR_FORMAT,       /* file contents are malformed */
    IG_ERR_DEVICE,       /* no device, or a device call failed */
    IG_ERR_BUILD,        /* kernel program failed to compile */
    IG_ERR_UNSUPPORTED,  /* valid request this build cannot serve */
    IG_ERR_STATE,        /* call out of order (e.g. backward twice) */
    IG_ERR_INTERNAL,
    IG_STATUS_COUNT
};

const char *ig_status_name(enum ig_status s);  /* "IG_ERR_SHAPE" */
const char *ig_last_error(void);               /* message of the last failure on this thread */
void ig_clear_error(void);

enum ig_log_level { IG_LOG_DEBUG, IG_LOG_INFO, IG_LOG_WARN, IG_LOG_ERROR };
typedef void (*ig_log_fn)(enum ig_log_level level, const char *msg, void *user);
/* Install the log handler (NULL: silent, the default). Not thread-safe against logging. */
void ig_log_set_handler(ig_log_fn fn, void *user);
/* Ready-made handler writing "igradv: <level>: msg" lines to stderr; user = (void*)(intptr_t)min_level. */
void ig_log_stderr(enum ig_log_level level, const char *msg, void *user);

/* ---------------------------------------------------------------- backends */

enum ig_backend_kind { IG_BACKEND_CPU, IG_BACKEND_OPENCL };
struct ig_backend;  /* opaque */

/* Options of a backend, fixed at creation and stored on it (kernels read them from there,
 * never from the environment). README's options table documents each one with its variable.
 *   struct ig_backend_options o = ig_backend_options_default();
 *   if (ig_backend_options_from_env(&o) != IG_OK) ...;     (optional: IGRADV_* variables)
 *   o.threads = 4;                                         (flags override the environment)
 *   ig_backend_init_opts("cpu", &o, &be);                  */
/* auto: Winograd on the shapes where it measured faster, F(4x4,3x3) or F(2x2,3x3) by shape, and the
 * direct kernel on the stride-1 shapes with few input channels where it measured faster; winograd:
 * on every 3x3 stride-1 shape; im2col: never either; winograd2: as auto but F(2x2,3x3) only (about
 * 5x less float error than F(4x4), slower); direct: the direct kernel on every stride-1 shape. */
enum ig_conv_algo { IG_CONV_AUTO, IG_CONV_WINOGRAD, IG_CONV_IM2COL, IG_CONV_WINOGRAD2, IG_CONV_DIRECT };
enum ig_cpu_isa { IG_CPU_ISA_AUTO, IG_CPU_ISA_GENERIC, IG_CPU_ISA_AVX2, IG_CPU_ISA_AVX512 };
struct ig_backend_options {
    int threads;               /* CPU: OpenMP/OpenBLAS threads of this backend's kernels; 0: OpenMP default */
    enum ig_conv_algo conv;    /* CPU conv: Winograd or direct where it measured faster (auto), or forced */
    enum ig_cpu_isa cpu_isa;   /* CPU kernels' instruction set: best the CPU runs (auto), or forced */
    int cpu_wcache_mb;         /* CPU: MiB of transformed conv weights kept while the weights are unchanged, 0 = off */
    int cl_splitk;             /* OpenCL weight-gradient GEMM: columns per split-K slice, 0 = off */
    int cl_conv_images;        /* OpenCL conv: at most this many images per chunk, 0 = as memory allows */
    bool cl_cache;             /* OpenCL: keep compiled programs in cl_cache_dir */
    char cl_cache_dir[512];    /* "" = $XDG_CACHE_HOME/igradv, else $HOME/.cache/igradv */
};
/* threads 0, conv auto, ISA auto, 256 MiB weight-transform cache, split-K 1024, no image cap,
 * program cache on in the default folder. */
struct ig_backend_options ig_backend_options_default(void);
/* Overrides *o from IGRADV_CPU, IGRADV_CONV, IGRADV_CPU_WCACHE_MB, IGRADV_CL_SPLITK, IGRADV_CL_CONV_IMAGES,
 * IGRADV_CL_CACHE, XDG_CACHE_HOME/HOME and OMP_NUM_THREADS where set. A value that is not
 * understood is IG_ERR_INVALID_ARG naming the variable and the accepted values (o unchanged). */
enum ig_status ig_backend_options_from_env(struct ig_backend_options *o);
/* spec as for ig_backend_init; opts NULL: defaults plus environment. Forcing an instruction set
 * this build or CPU lacks is IG_ERR_UNSUPPORTED. */
enum ig_status ig_backend_init_opts(const char *spec, const struct ig_backend_options *opts, struct ig_backend **out);
/* CPU backend; always available. threads <= 0: OpenMP default. Other options from the environment. */
enum ig_status ig_backend_init_cpu(struct ig_backend **out, int threads);
/* spec: "cpu", "opencl" (best OpenCL device: GPU first) or "opencl:<platform>:<device>";
 * options from the environment. */
enum ig_status ig_backend_init(const char *spec, struct ig_backend **out);
/* IGRADV_DEVICE from the environment if set, else an OpenCL GPU, then any OpenCL device,
 * then the CPU; logs one INFO line saying which and why; options from the environment. */
enum ig_status ig_backend_init_best(struct ig_backend **out);
/* The options the backend was created with. */
const struct ig_backend_options *ig_backend_options_of(const struct ig_backend *be);
/* Instruction set of the CPU kernels in use: "generic", "avx2", "avx512"; "" for other backends. */
const char *ig_backend_isa_name(const struct ig_backend *be);
void ig_backend_free(struct ig_backend *be);
enum ig_backend_kind ig_backend_kind(const struct ig_backend *be);
const char *ig_backend_name(const struct ig_backend *be); /* "cpu (2 threads)", "opencl:0:0 NVIDIA H100 (..)" */
enum ig_status ig_backend_sync(struct ig_backend *be);    /* wait for queued work */
void ig_backend_trim(struct ig_backend *be);              /* release pooled buffers */
/* Bytes currently handed out / held in the pool (for leak checks and benchmarks). */
void ig_backend_memory(const struct ig_backend *be, size_t *in_use, size_t *pooled);

/* Enumerate OpenCL devices as text lines "opencl:P:D  <type> <name> (<platform>, <driver>)"
 * into buf (NUL-terminated). Returns IG_ERR_UNSUPPORTED if built without OpenCL. */
enum ig_status ig_backend_list_devices(char *buf, size_t cap);

/* Per-op profiling: when enabled, each kernel's device time is accumulated per op. */
void ig_backend_profile_enable(struct ig_backend *be, bool on);
/* Seconds and call counts per op (arrays of IG_OP_COUNT), since the last reset. */
void ig_backend_profile_read(const struct ig_backend *be, double *seconds, int64_t *calls);
void ig_backend_profile_reset(struct ig_backend *be);

/* ---------------------------------------------------------------- tensors */

enum ig_dtype { IG_DTYPE_F32, IG_DTYPE_U8, IG_DTYPE_I32, IG_DTYPE_COUNT };
#define IG_MAX_DIMS 4

struct ig_buffer; /* opaque, refcounted, owned by a backend */

struct ig_tensor {
    enum ig_dtype dtype;
    int ndim;                       /* 0..4; ndim 0 is a scalar with 1 element */
    int64_t shape[IG_MAX_DIMS];
    int64_t stride[IG_MAX_DIMS];    /* in elements */
    int64_t offset;                 /* in elements, from the buffer start */
    struct ig_buffer *buf;
    struct ig_backend *backend;
};

size_t ig_dtype_size(enum ig_dtype dt);
const char *ig_dtype_name(enum ig_dtype dt);

/* New contiguous tensor, contents undefined. NULL on error (ig_last_error()). */
struct ig_tensor *ig_tensor_new(struct ig_backend *be, enum ig_dtype dt, int ndim, const int64_t *shape);
/* New contiguous tensor filled with zeros. */
struct ig_tensor *ig_tensor_zeros(struct ig_backend *be, enum ig_dtype dt, int ndim, const int64_t *shape);
/* New contiguous tensor copied from host memory (row-major, ig_dtype_size(dt) * numel bytes). */
struct ig_tensor *ig_tensor_from_host(struct ig_backend *be, enum ig_dtype dt, int ndim,
                                      const int64_t *shape, const void *data);
void ig_tensor_free(struct ig_tensor *t);
/* A contiguous tensor of the given shape for a cache slot: t itself (its shape rewritten) when it lives
 * on be, is the only user of its buffer, starts at offset 0 and its buffer holds between bytes and
 * 2*bytes + 4 KiB; otherwise t is freed and a new tensor returned. Contents undefined; NULL on error. */
struct ig_tensor *ig_tensor_renew(struct ig_tensor *t, struct ig_backend *be, enum ig_dtype dt, int ndim,
                                  const int64_t *shape);

int64_t ig_tensor_numel(const struct ig_tensor *t);
size_t ig_tensor_nbytes(const struct ig_tensor *t);       /* numel * dtype size */
bool ig_tensor_is_contiguous(const struct ig_tensor *t);
bool ig_tensor_same_shape(const struct ig_tensor *a, const struct ig_tensor *b);
/* "[64,3,32,32] f32" into buf. */
const char *ig_tensor_shape_str(const struct ig_tensor *t, char *buf, size_t cap);

/* Views (no copy; new handle sharing the buffer). NULL on error. */
struct ig_tensor *ig_tensor_view(const struct ig_tensor *t);  /* same view, new handle */
/* Contiguous tensors only; one dimension may be -1 (inferred). */
struct ig_tensor *ig_tensor_reshape(const struct ig_tensor *t, int ndim, const int64_t *shape);
/* Rows [start, start+len) along dimension 0. */
struct ig_tensor *ig_tensor_slice(const struct ig_tensor *t, int64_t start, int64_t len);
/* Swap dimensions d0 and d1. */
struct ig_tensor *ig_tensor_transpose(const struct ig_tensor *t, int d0, int d1);
/* New contiguous copy (same backend). */
struct ig_tensor *ig_tensor_contiguous(const struct ig_tensor *t);

/* Host transfers. bytes must equal ig_tensor_nbytes(t); strided tensors are handled.
 * to_host waits for the device. */
enum ig_status ig_tensor_to_host(const struct ig_tensor *t, void *dst, size_t bytes);
enum ig_status ig_tensor_from_host_into(struct ig_tensor *t, const void *src, size_t bytes);
/* Copy between tensors of equal shape/dtype on any backends (dst may be strided only on
 * the same backend). */
enum ig_status ig_tensor_copy(struct ig_tensor *dst, const struct ig_tensor *src);
/* Convenience: read a one-element f32 tensor. */
enum ig_status ig_tensor_item(const struct ig_tensor *t, float *out);

/* ---------------------------------------------------------------- op parameters */

struct ig_gemm_params { bool trans_a, trans_b; float alpha, beta; };
struct ig_conv2d_params { int stride_h, stride_w, pad_h, pad_w; };   /* kernel size from w */
struct ig_pool2d_params { int kernel, stride; };                     /* no padding */
struct ig_bn_params { float momentum, eps; };                        /* PyTorch: 0.1, 1e-5 */
/* Dropout mask from a counter-based hash so every backend draws the same mask:
 * element (or channel, when per_channel) i keeps with u(seed, counter + i) >= p, where
 * u(s, j) = (ig_hash64(s ^ ig_hash64(j)) >> 40) * 2^-24 (ig_hash64, ig_hash_uniform: ig_util.h), and
 * i is the flat index of the element in x (per_channel: n*C + c for x[N,C,H,W]). */
struct ig_dropout_params { float p; uint64_t seed; uint64_t counter; bool per_channel; };
enum ig_reduction { IG_REDUCTION_MEAN, IG_REDUCTION_SUM, IG_REDUCTION_NONE };
struct ig_xent_params { enum ig_reduction reduction; };
struct ig_norm_params { float mean[4], std[4]; };                    /* per channel */
/* torch.optim.Adam: g += wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps); step = t >= 1. */
struct ig_adam_params { float lr, beta1, beta2, eps, weight_decay; int64_t step; };
/* torch.optim.SGD: g += wd*p; buf = first ? g : momentum*buf + (1-dampening) g;
 * g = nesterov ? g + momentum*buf : buf; p -= lr*g. */
struct ig_sgd_params { float lr, momentum, dampening, weight_decay; bool nesterov; bool first_step; };

struct ig_gemm_params ig_gemm_params_default(void);       /* no transposes, alpha 1, beta 0 */
struct ig_conv2d_params ig_conv2d_params_default(void);   /* stride 1, pad 0 */
struct ig_bn_params ig_bn_params_default(void);
struct ig_adam_params ig_adam_params_default(void);       /* lr 1e-3, 0.9, 0.999, 1e-8, 0 */
struct ig_sgd_params ig_sgd_params_default(void);

/* ---------------------------------------------------------------- ops
 * All tensors of one call live on the same backend, are f32 and contiguous unless
 * stated; outputs are preallocated with the documented shapes. Shapes in comments. */

/* c[M,N] = alpha * op(a) * op(b) + beta * c; a, b, c 2-D (a or b may be a transpose view). */
enum ig_status ig_gemm(struct ig_tensor *c, const struct ig_tensor *a, const struct ig_tensor *b,
                       struct ig_gemm_params p);
/* Output size of a conv/pool dimension: (in + 2 pad - k) / stride + 1. */
int64_t ig_conv_out_size(int64_t in, int64_t k, int stride, int pad);
/* y[N,O,Ho,Wo] = conv(x[N,C,H,W], w[O,C,KH,KW]) + b[O] (b may be NULL) */
enum ig_status ig_conv2d_forward(struct ig_tensor *y, const struct ig_tensor *x, const struct ig_tensor *w,
                                 const struct ig_tensor *b, struct ig_conv2d_params p);
/* dx[N,C,H,W] from dy[N,O,Ho,Wo] and w (overwrites dx) */
enum ig_status ig_conv2d_backward_data(struct ig_tensor *dx, const struct ig_tensor *dy, const struct ig_tensor *w,
                                       struct ig_conv2d_params p);
/* dw[O,C,KH,KW] from dy and x (overwrites dw) */
enum ig_status ig_conv2d_backward_weight(struct ig_tensor *dw, const struct ig_tensor *dy, const struct ig_tensor *x,
                                         struct ig_conv2d_params p);
/* Per-sample weight gradients: dw[N*O,C,KH,KW] (overwritten), rows n*O .. n*O+O-1 holding instance n's
 * dW_n = corr(dy_n, x_n), the ig_conv2d_backward_weight of that one instance (one batched product per chunk of
 * instances on OpenCL; reshape to [N, O*C*KH*KW] for per-instance norms and dots). */
enum ig_status ig_conv2d_backward_weight_persample(struct ig_tensor *dw, const struct ig_tensor *dy,
                                                   const struct ig_tensor *x, struct ig_conv2d_params p);
/* db[O] = sum of dy over N, Ho, Wo (overwrites db) */
enum ig_status ig_conv2d_backward_bias(struct ig_tensor *db, const struct ig_tensor *dy);
/* y, idx (i32): [N,C,Ho,Wo]; x: [N,C,H,W] */
enum ig_status ig_maxpool2d_forward(struct ig_tensor *y, struct ig_tensor *idx, const struct ig_tensor *x,
                                    struct ig_pool2d_params p);
/* dx[N,C,H,W] (overwritten) from dy and idx */
enum ig_status ig_maxpool2d_backward(struct ig_tensor *dx, const struct ig_tensor *dy, const struct ig_tensor *idx,
                                     struct ig_pool2d_params p);
enum ig_status ig_relu_forward(struct ig_tensor *y, const struct ig_tensor *x);
enum ig_status ig_relu_backward(struct ig_tensor *dx, const struct ig_tensor *dy, const struct ig_tensor *y);
/* Training-mode batch norm over (N,H,W) per channel; updates running stats with momentum
 * (running_var with the unbiased batch variance), saves mean and 1/sqrt(var+eps). */
enum ig_status ig_batchnorm2d_forward_train(struct ig_tensor *y, const struct ig_tensor *x,
                                            const struct ig_tensor *gamma, const struct ig_tensor *beta,
                                            struct ig_tensor *running_mean, struct ig_tensor *running_var,
                                            struct ig_tensor *save_mean, struct ig_tensor *save_invstd,
                                            struct ig_bn_params p);
enum ig_status ig_batchnorm2d_forward_eval(struct ig_tensor *y, const struct ig_tensor *x,
                                           const struct ig_tensor *gamma, const struct ig_tensor *beta,
                                           const struct ig_tensor *running_mean, const struct ig_tensor *running_var,
                                           struct ig_bn_params p);
enum ig_status ig_batchnorm2d_backward(struct ig_tensor *dx, struct ig_tensor *dgamma, struct ig_tensor *dbeta,
                                       const struct ig_tensor *dy, const struct ig_tensor *x,
                                       const struct ig_tensor *gamma, const struct ig_tensor *save_mean,
                                       const struct ig_tensor *save_invstd, struct ig_bn_params p);
/* y = x * mask, mask in {0, 1/(1-p)}; per_channel (Dropout2d) needs x [N,C,H,W]. */
enum ig_status ig_dropout_forward(struct ig_tensor *y, struct ig_tensor *mask, const struct ig_tensor *x,
                                  struct ig_dropout_params p);
/* y[N,C,...] += b[C] */
enum ig_status ig_bias_add(struct ig_tensor *y, const struct ig_tensor *b);
enum ig_status ig_softmax(struct ig_tensor *y, const struct ig_tensor *x);       /* rows of [N,M] */
enum ig_status ig_log_softmax(struct ig_tensor *y, const struct ig_tensor *x);   /* rows of [N,M] */
/* Cross-entropy of logits[N,M] against labels i32[N]: loss [1] (mean/sum) or [N] (none). */
enum ig_status ig_cross_entropy_forward(struct ig_tensor *loss, const struct ig_tensor *logits,
                                        const struct ig_tensor *labels, struct ig_xent_params p);
/* dlogits[N,M] = dloss * d(loss)/d(logits); dloss is [1] or [N] like the forward loss. */
enum ig_status ig_cross_entropy_backward(struct ig_tensor *dlogits, const struct ig_tensor *logits,
                                         const struct ig_tensor *labels, const struct ig_tensor *dloss,
                                         struct ig_xent_params p);
/* y has x's shape with 1 at axis. */
enum ig_status ig_sum_axis(struct ig_tensor *y, const struct ig_tensor *x, int axis);
enum ig_status ig_mean_axis(struct ig_tensor *y, const struct ig_tensor *x, int axis);
enum ig_status ig_add(struct ig_tensor *z, const struct ig_tensor *x, const struct ig_tensor *y);
enum ig_status ig_sub(struct ig_tensor *z, const struct ig_tensor *x, const struct ig_tensor *y);
enum ig_status ig_mul(struct ig_tensor *z, const struct ig_tensor *x, const struct ig_tensor *y);
enum ig_status ig_scale(struct ig_tensor *y, const struct ig_tensor *x, float alpha);
enum ig_status ig_axpy(struct ig_tensor *y, float alpha, const struct ig_tensor *x);
/* out i32[N] = argmax over each row of x[N,M] (first maximum) */
enum ig_status ig_argmax_rows(struct ig_tensor *out, const struct ig_tensor *x);
/* y f32[N,C,H,W] = (x u8[N,C,H,W] / 255 - mean[c]) / std[c], C <= 4 */
enum ig_status ig_normalize_u8(struct ig_tensor *y, const struct ig_tensor *x, struct ig_norm_params p);
enum ig_status ig_adam_step(struct ig_tensor *param, const struct ig_tensor *grad, struct ig_tensor *m,
                            struct ig_tensor *v, struct ig_adam_params p);
/* momentum_buf may be NULL when p.momentum == 0 */
enum ig_status ig_sgd_step(struct ig_tensor *param, const struct ig_tensor *grad, struct ig_tensor *momentum_buf,
                           struct ig_sgd_params p);
/* Fill any dtype (value converted). */
enum ig_status ig_fill(struct ig_tensor *y, float value);
/* out[N] = sum_m x[n,m]^2 */
enum ig_status ig_row_sqnorm(struct ig_tensor *out, const struct ig_tensor *x);
/* out[N] = x[N,M] . v[M] */
enum ig_status ig_row_dot(struct ig_tensor *out, const struct ig_tensor *x, const struct ig_tensor *v);
/* Per-sample terms of a conv layer for the per-sample gradient engine (tensor/cpu/ig_cpu_persample.c;
 * the CPU backend only: IG_ERR_UNSUPPORTED on others, whose callers keep a generic path).
 * x [N,C,H,W], dy = dL/dy [N,O,Ho,Wo] contiguous, w the layer's weight [O,C,KH,KW]; per instance
 * n, with col_n the im2col of x_n [K,P] (K = C KH KW, P = Ho Wo), dW_n[O,K] = dy_n[O,P] col_n^T
 * and, when has_bias, db_n = sum_p dy_n (dW_n never stored: from the instance's Winograd tiles for 3x3
 * stride-1 layers of at least 16 input channels unless IGRADV_CONV is im2col or direct, else the product):
 *     acc_dot[r][n] += <dW_n, refw[r]> + <db_n, refb[r]>   r < n_refs <= 2 (refb[r] NULL: no bias term)
 *     acc_sq[n]     += |dW_n|^2 + |db_n|^2
 * refw[r] contiguous, w's shape; refb[r] [O]. With n_refs == 0 the weight norm is the ghost norm
 * <col_n^T col_n, dy_n^T dy_n> where ig_conv2d_persample_uses_ghost(w, p, Ho, Wo). Sums in double. */
enum ig_status ig_conv2d_persample_terms(struct ig_backend *be, const struct ig_tensor *x, const struct ig_tensor *dy,
                                         const struct ig_tensor *w, struct ig_conv2d_params p, bool has_bias, int n_refs,
                                         const struct ig_tensor *const *refw, const struct ig_tensor *const *refb,
                                         double *const *acc_dot, double *acc_sq);
/* Whether the ghost norm is the cheaper way to |dW_n|^2 for weight w [O,C,KH,KW] and Ho x Wo outputs:
 * P (K + O) < K O (P = Ho Wo, K = C KH KW). It gives no reference dots: a caller that wants them
 * computes them apart and passes n_refs 0. */
bool ig_conv2d_persample_uses_ghost(const struct ig_tensor *w, struct ig_conv2d_params p, int64_t Ho, int64_t Wo);
/* acc[n] += sum_m a[n,m] b[n,m] for a, b [N,...] f32 contiguous of the same size, in one pass (no
 * product tensor); per row float partial sums in fixed blocks, summed in double (CPU backend only:
 * IG_ERR_UNSUPPORTED elsewhere). */
enum ig_status ig_row_pair_dot_acc(struct ig_backend *be, const struct ig_tensor *a, const struct ig_tensor *b,
                                   double *acc);
/* Per-sample terms of an eval-mode batch norm y = gamma (x - rm) / sqrt(rv + eps) + beta for the same
 * engine (tensor/cpu/ig_cpu_persample.c; CPU only, IG_ERR_UNSUPPORTED elsewhere). x, dy [N,C,...]
 * contiguous, running_mean rm and running_var rv [C], eps from p; per instance n and channel c,
 * S1 = sum_hw dy, S2 = sum_hw dy (x - rm[c]), dgamma_n[c] = S2 / sqrt(rv[c] + eps), dbeta_n[c] = S1:
 *     acc_sq[n]     += |dgamma_n|^2 + (has_bias ? |dbeta_n|^2 : 0)
 *     acc_dot[r][n] += <dgamma_n, refw[r]> + <dbeta_n, refb[r]>   r < n_refs <= 2 (refw[r] [C]; refb[r] [C] or
 *                      NULL: no beta term)
 * One pass over x and dy, OpenMP over instances; sums in double. */
enum ig_status ig_bn2d_persample_terms(struct ig_backend *be, const struct ig_tensor *x, const struct ig_tensor *dy,
                                       const struct ig_tensor *running_mean, const struct ig_tensor *running_var,
                                       struct ig_bn_params p, bool has_bias, int n_refs,
                                       const struct ig_tensor *const *refw, const struct ig_tensor *const *refb,
                                       double *const *acc_dot, double *acc_sq);

/* ---------------------------------------------------------------- op table */

enum ig_op {
#define IG_OP(E, fn, name) IG_OP_##E,
#include "ig_ops.def"
#undef IG_OP
    IG_OP_COUNT
};
const char *ig_op_name(enum ig_op op);

#ifdef __cplusplus
}
#endif
#endif /* IG_TENSOR_H */
