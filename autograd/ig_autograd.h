/* igradv autograd: reverse-mode tape over the tensor ops, parameters with accumulated gradients, per-sample layer hooks, gradcheck. */
#ifndef IG_AUTOGRAD_H
#define IG_AUTOGRAD_H
/*
 * Overview
 *   A graph (struct ig_graph) records ops as they run (define-by-run). Every recorded op
 *   returns a var (struct ig_var *) whose value tensor is computed immediately. After the
 *   forward pass, ig_graph_backward(g, loss) walks the tape backwards and leaves
 *   d(loss)/d(var) in ig_var_grad() of every var that requires a gradient; parameter
 *   gradients ACCUMULATE across backward calls (PyTorch semantics) until
 *   ig_param_zero_grad().
 *
 *   Parameters (ig_param_new) are long-lived leaf vars owned by the caller (the nn module);
 *   graph vars belong to the graph and live until the graph is reset.
 *
 * Memory
 *   The graph keeps its node records and their tensors across steps: op number i of a
 *   step reuses the storage of op number i of the previous step when the shapes fit, so a
 *   training loop that records the same ops every step does no malloc in steady state.
 *   Consequences: a graph var (and its value/grad tensors) stays valid until the next
 *   ig_graph_reset() or until the next op is recorded after a backward (backward releases
 *   the tape); take a copy to keep it longer. Tensors handed in (ig_graph_input, labels,
 *   batch-norm running statistics) are borrowed and must stay alive as long as the vars.
 *
 * Errors
 *   Op functions return NULL on failure (ig_last_error() says why) and propagate a NULL
 *   input as NULL without touching the message, so a whole forward pass may be written
 *   without checks and tested once at the end; ig_graph_status() returns the first error.
 *
 * Per-sample layer hook
 *   For parameters marked with ig_param_set_watch(), the graph calls the hook installed
 *   with ig_graph_set_layer_hook() during backward, once per linear/conv2d op using that
 *   weight (and per eval-mode batchnorm2d op using that γ), with the layer input x and dL/dy
 *   for the whole batch (row n = sample n). With a
 *   loss of reduction SUM (or a backward seeded with ones over a per-sample loss), row n
 *   of dL/dy is exactly d L_n / d y_n, so the per-sample weight gradient is
 *   dy_n^T x_n (linear) or the correlation of dy_n with x_n (conv): exact per-instance
 *   gradient dot products and norms come from one batched backward pass.
 *
 * Example (one training step)
 *   struct ig_graph *g; ig_graph_new(be, &g);
 *   struct ig_var *w = ig_param_new(be, 2, (int64_t[]){10, 784});   ... init w->value ...
 *   ig_graph_reset(g);
 *   struct ig_var *x = ig_graph_input(g, xbatch, false);            // [N,784]
 *   struct ig_var *logits = ig_ag_linear(g, x, w, NULL);            // [N,10]
 *   struct ig_var *loss = ig_ag_cross_entropy(g, logits, labels, IG_REDUCTION_MEAN);
 *   if (!loss) { fprintf(stderr, "%s\n", ig_last_error()); ... }
 *   ig_param_zero_grad(w);
 *   ig_graph_backward(g, loss);                                      // ig_var_grad(w) filled
 *   ig_graph_free(g); ig_param_free(w);
 */
#include "ig_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The differentiable ops of the tape, listed once (see ig_ag_ops.def). */
enum ig_ag_op {
#define IG_AG_OP(E, fn, name) IG_AG_OP_##E,
#include "ig_ag_ops.def"
#undef IG_AG_OP
    IG_AG_OP_COUNT
};
const char *ig_ag_op_name(enum ig_ag_op op);

struct ig_graph;  /* opaque tape */
struct ig_var;    /* opaque: a graph value or a parameter */

/* ---------------------------------------------------------------- graph */

enum ig_status ig_graph_new(struct ig_backend *be, struct ig_graph **out);
void ig_graph_free(struct ig_graph *g);
/* Start a new step: forget the recorded ops (their storage is kept for reuse). */
void ig_graph_reset(struct ig_graph *g);
/* Gradient recording on/off (off: ops only compute values; backward is refused). */
void ig_graph_set_grad_enabled(struct ig_graph *g, bool on);
bool ig_graph_grad_enabled(const struct ig_graph *g);
/* When off, backward computes no parameter gradients (only input gradients and layer
 * hooks), e.g. for the per-sample gradient engine. Default on. */
void ig_graph_set_param_grads(struct ig_graph *g, bool on);
/* When on, a backward keeps the tape instead of releasing it: more backwards may run over the
 * same forward (another seed, or labels the loss borrowed and the caller changed), each
 * starting from empty gradients of the graph vars (parameter gradients still accumulate, as
 * with PyTorch's retain_graph); ops recorded after it append to the tape. Default off; reset
 * the graph to start a new step. */
void ig_graph_set_retain(struct ig_graph *g, bool on);
/* First error recorded since the last reset (IG_OK if none). */
enum ig_status ig_graph_status(const struct ig_graph *g);
struct ig_backend *ig_graph_backend(const struct ig_graph *g);
/* Number of ops on the tape now. */
int ig_graph_size(const struct ig_graph *g);

/* A leaf wrapping a caller's tensor (borrowed). requires_grad: backward fills its grad
 * (owned by the graph). */
struct ig_var *ig_graph_input(struct ig_graph *g, struct ig_tensor *t, bool requires_grad);

/* Backward from a one-element f32 var (seed 1). Releases the tape (unless ig_graph_set_retain):
 * a second call is IG_ERR_STATE. */
enum ig_status ig_graph_backward(struct ig_graph *g, struct ig_var *loss);
/* Backward from any f32 var with an explicit seed gradient of the var's shape. */
enum ig_status ig_graph_backward_seed(struct ig_graph *g, struct ig_var *out, const struct ig_tensor *seed);

/* ---------------------------------------------------------------- vars and parameters */

struct ig_tensor *ig_var_value(const struct ig_var *v);
/* Gradient after backward; NULL if none flowed to v. For a parameter whose gradient was
 * zeroed and not yet written, the tensor is filled with zeros first. */
struct ig_tensor *ig_var_grad(struct ig_var *v);
bool ig_var_requires_grad(const struct ig_var *v);
/* The op that produced v (IG_AG_OP_LEAF for inputs and parameters). */
enum ig_ag_op ig_var_op(const struct ig_var *v);

/* A trainable f32 tensor (contents undefined) with a gradient of the same shape. */
struct ig_var *ig_param_new(struct ig_backend *be, int ndim, const int64_t *shape);
void ig_param_free(struct ig_var *p);
bool ig_var_is_param(const struct ig_var *v);
/* Logically zero the gradient (no kernel runs: the next backward overwrites it). */
void ig_param_zero_grad(struct ig_var *p);
/* True once a backward wrote a gradient since the last zero_grad. */
bool ig_param_has_grad(const struct ig_var *p);
/* Freeze/unfreeze (requires_grad, default true). */
void ig_param_set_requires_grad(struct ig_var *p, bool on);
/* Mark a linear/conv2d weight or a batch-norm γ for the per-sample layer hook. */
void ig_param_set_watch(struct ig_var *p, bool on);

/* ---------------------------------------------------------------- per-sample layer hook */

struct ig_layer_grad {
    enum ig_ag_op op;                   /* IG_AG_OP_LINEAR, _CONV2D or _BATCHNORM2D_EVAL */
    const struct ig_var *weight;        /* the watched parameter */
    const struct ig_var *bias;          /* NULL if the layer has none */
    const struct ig_tensor *input;      /* x: [N,in] or [N,C,H,W] */
    const struct ig_tensor *grad_output;/* dL/dy: [N,out] or [N,O,Ho,Wo] */
    const struct ig_tensor *output;     /* y (the op's value, bias included): θ·g_n = Σ dy_n ⊙ y_n */
    struct ig_conv2d_params conv;       /* conv2d only */
};
/* Called during backward; the tensors are valid only during the call. A non-IG_OK return
 * aborts the backward with that status. */
typedef enum ig_status (*ig_layer_hook_fn)(const struct ig_layer_grad *lg, void *user);
void ig_graph_set_layer_hook(struct ig_graph *g, ig_layer_hook_fn fn, void *user);

/* ---------------------------------------------------------------- parameter gradient hook */

/* Called during a backward once for each parameter p that wants a gradient in it (requires
 * grad, parameter gradients on) and is an input of an op of the tape below the output, right
 * after the last op that adds to p's gradient ran: ops run in reverse tape order, so that is
 * after the backward of p's first use in the forward pass. ig_var_grad(p) then holds p's
 * gradient as the optimiser will see it (earlier backwards since zero_grad included; it has
 * none (ig_param_has_grad false) when no gradient flowed through those ops). Parameters no op
 * of the tape uses are not called. E.g. data parallelism starts reducing the gradients of the
 * last layers while the earlier layers' backward still runs (nn/ig_dist.h). A non-IG_OK
 * return aborts the backward with that status. fn NULL removes the hook. */
typedef enum ig_status (*ig_param_grad_fn)(struct ig_var *p, void *user);
void ig_param_set_grad_hook(struct ig_var *p, ig_param_grad_fn fn, void *user);

/* ---------------------------------------------------------------- ops (recorded) */

/* c = op(a) op(b); a, b 2-D */
struct ig_var *ig_ag_matmul(struct ig_graph *g, struct ig_var *a, struct ig_var *b, bool trans_a, bool trans_b);
/* y[N,out] = x[N,in] w[out,in]^T + b[out] (b may be NULL) */
struct ig_var *ig_ag_linear(struct ig_graph *g, struct ig_var *x, struct ig_var *w, struct ig_var *b);
/* y[N,O,Ho,Wo] = conv(x[N,C,H,W], w[O,C,KH,KW]) + b[O] (b may be NULL) */
struct ig_var *ig_ag_conv2d(struct ig_graph *g, struct ig_var *x, struct ig_var *w, struct ig_var *b,
                            struct ig_conv2d_params p);
/* y[N,C,...] = x + b[C] */
struct ig_var *ig_ag_bias_add(struct ig_graph *g, struct ig_var *x, struct ig_var *b);
struct ig_var *ig_ag_maxpool2d(struct ig_graph *g, struct ig_var *x, struct ig_pool2d_params p);
struct ig_var *ig_ag_relu(struct ig_graph *g, struct ig_var *x);
/* Batch norm over (N,H,W) of x[N,C,H,W]; gamma, beta [C]. train: batch statistics, and
 * running_mean/running_var [C] (borrowed) are updated; eval: running statistics used. */
struct ig_var *ig_ag_batchnorm2d(struct ig_graph *g, struct ig_var *x, struct ig_var *gamma, struct ig_var *beta,
                                 struct ig_tensor *running_mean, struct ig_tensor *running_var, bool train,
                                 struct ig_bn_params p);
/* Dropout (p.per_channel: Dropout2d). The mask is kept for backward. */
struct ig_var *ig_ag_dropout(struct ig_graph *g, struct ig_var *x, struct ig_dropout_params p);
/* View with a new shape (x must be contiguous; one dimension may be -1). */
struct ig_var *ig_ag_reshape(struct ig_graph *g, struct ig_var *x, int ndim, const int64_t *shape);
/* [N, ...] -> [N, prod(...)] */
struct ig_var *ig_ag_flatten(struct ig_graph *g, struct ig_var *x);
struct ig_var *ig_ag_softmax(struct ig_graph *g, struct ig_var *x);      /* rows of [N,M] */
struct ig_var *ig_ag_log_softmax(struct ig_graph *g, struct ig_var *x);  /* rows of [N,M] */
/* loss [1] (mean/sum) or [N] (none) of logits[N,M] against labels i32[N] (borrowed). */
struct ig_var *ig_ag_cross_entropy(struct ig_graph *g, struct ig_var *logits, const struct ig_tensor *labels,
                                   enum ig_reduction reduction);
struct ig_var *ig_ag_sum_axis(struct ig_graph *g, struct ig_var *x, int axis);   /* keeps dims */
struct ig_var *ig_ag_mean_axis(struct ig_graph *g, struct ig_var *x, int axis);
/* Sum of all elements -> [1]. */
struct ig_var *ig_ag_sum(struct ig_graph *g, struct ig_var *x);
struct ig_var *ig_ag_add(struct ig_graph *g, struct ig_var *x, struct ig_var *y);
struct ig_var *ig_ag_sub(struct ig_graph *g, struct ig_var *x, struct ig_var *y);
struct ig_var *ig_ag_mul(struct ig_graph *g, struct ig_var *x, struct ig_var *y);
struct ig_var *ig_ag_scale(struct ig_graph *g, struct ig_var *x, float alpha);
struct ig_var *ig_ag_row_sqnorm(struct ig_graph *g, struct ig_var *x);           /* [N,M] -> [N] */
struct ig_var *ig_ag_row_dot(struct ig_graph *g, struct ig_var *x, struct ig_var *v); /* [N,M].[M] -> [N] */

/* ---------------------------------------------------------------- gradient check */

/* Builds the function under test from the inputs; returns its output var (any shape). */
typedef struct ig_var *(*ig_gradcheck_fn)(struct ig_graph *g, struct ig_var *const *inputs, void *user);
struct ig_gradcheck_params {
    double eps;        /* central-difference step (default 1e-2) */
    double rtol, atol; /* element passes if |num - ana| <= atol + rtol*|num| (default 2e-2, 2e-3) */
    int max_checks;    /* elements checked per input, evenly spread; <= 0: all (default 64) */
    uint64_t seed;     /* seed of the random projection r of the output */
};
struct ig_gradcheck_params ig_gradcheck_params_default(void);
/* Finite-difference check of L = sum(r * fn(inputs)) (r fixed random, sums in double)
 * against backward seeded with r, for every input param. *worst receives the largest
 * |num - ana| / (atol + rtol*|num|) (<= 1: pass). Returns IG_ERR_INTERNAL with a message
 * naming the input and element when the check fails. Inputs are ig_param_new vars. */
enum ig_status ig_gradcheck(struct ig_backend *be, ig_gradcheck_fn fn, void *user, int n_inputs,
                            struct ig_var *const *inputs, struct ig_gradcheck_params p, double *worst);

#ifdef __cplusplus
}
#endif
#endif /* IG_AUTOGRAD_H */
