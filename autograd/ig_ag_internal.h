/* Private core of autograd: the var/node record, the graph, cached-tensor helpers shared by forward and backward. */
#ifndef IG_AG_INTERNAL_H
#define IG_AG_INTERNAL_H
#include "ig_autograd.h"
#include "ig_util.h"

#define IG_AG_MAX_IN 4
#define IG_AG_MAX_SAVED 5

struct ig_var {
    struct ig_tensor *value;        /* points at own_value, view, or a borrowed tensor */
    struct ig_tensor *grad;         /* points at own_grad (nodes) or the param's grad */
    enum ig_ag_op op;
    bool requires_grad;
    bool grad_ready;                /* grad holds data (else it is logically zero / absent) */
    bool is_param;
    bool watch;                     /* per-sample hook on this (weight) parameter */
    int index;                      /* position on the tape (nodes) */
    int first_use;                  /* params: tape position of the first op using it (backward) */
    ig_param_grad_fn grad_fn;       /* params: gradient-final hook (NULL: none) */
    void *grad_user;
    int n_in;
    struct ig_var *in[IG_AG_MAX_IN];
    /* op data */
    union {
        struct { bool ta, tb; } mm;
        struct ig_conv2d_params conv;
        struct ig_pool2d_params pool;
        struct ig_bn_params bn;
        struct ig_dropout_params drop;
        enum ig_reduction red;
        int axis;
        float alpha;
    } p;
    const struct ig_tensor *labels; /* borrowed (cross-entropy) */
    struct ig_tensor *rmean, *rvar; /* borrowed (batch norm) */
    /* owned storage kept across steps */
    struct ig_tensor *own_value, *own_grad, *gtmp;  /* gtmp: scratch when accumulating into grad */
    struct ig_tensor *saved[IG_AG_MAX_SAVED];       /* mask, idx, stats, backward scratch */
    struct ig_tensor view, gview;                   /* embedded views (borrow the buffer, no ref) */
};

struct ig_graph {
    struct ig_backend *be;
    struct ig_var **nodes;
    int n, cap;
    bool grad_enabled, param_grads, released;
    bool retain;   /* backward keeps the tape for another backward (ig_graph_set_retain) */
    enum ig_status status;
    ig_layer_hook_fn hook;
    void *hook_user;
    struct ig_tensor *ones;         /* a vector of ones for broadcasts, grown on demand */
    struct ig_tensor *zeros;        /* a vector of zeros, grown on demand */
};

/* Next node record of the tape (reused from the previous step when there is one); the
 * caller fills inputs and value. NULL on OOM (recorded on the graph). */
struct ig_var *ig_ag_node_new(struct ig_graph *g, enum ig_ag_op op);

/* Storage in *slot with dtype/shape, reused when the owned buffer is large enough and not
 * shared; else replaced. NULL on error. */
struct ig_tensor *ig_ag_cached(struct ig_graph *g, struct ig_tensor **slot, enum ig_dtype dt, int ndim,
                               const int64_t *shape);
/* Fill *dst (an embedded struct) as a contiguous view of t's buffer with a new shape (no ref). */
void ig_ag_view_as(struct ig_tensor *dst, const struct ig_tensor *t, int ndim, const int64_t *shape);
/* Contiguous views [rows,cols] over the graph's ones / zeros vectors of length >= n. */
enum ig_status ig_ag_ones(struct ig_graph *g, int64_t n, struct ig_tensor *view, int64_t rows, int64_t cols);
enum ig_status ig_ag_zeros(struct ig_graph *g, int64_t n, struct ig_tensor *view, int64_t rows, int64_t cols);

/* Backward: where to write d(loss)/d(in). Returns in->grad when nothing is there yet
 * (*acc = false) or the scratch in->gtmp when the result must be added (*acc = true). */
struct ig_tensor *ig_ag_grad_target(struct ig_graph *g, struct ig_var *in, bool *acc);
/* After writing into the target: add the scratch if needed and mark the grad ready. */
enum ig_status ig_ag_grad_commit(struct ig_graph *g, struct ig_var *in, bool acc);
/* Ensure in->grad storage exists (for kernels that accumulate by themselves). */
struct ig_tensor *ig_ag_grad_storage(struct ig_graph *g, struct ig_var *in);

typedef enum ig_status (*ig_ag_backward_fn)(struct ig_graph *g, struct ig_var *node);
extern const ig_ag_backward_fn ig_ag_backward_table[IG_AG_OP_COUNT];

/* ig_ag_kernel_coverage[kernel op]: the autograd op recording it, or one of these. */
enum { IG_AG_KERNEL_BACKWARD = -2, IG_AG_NOT_DIFF = -1 };
extern const int ig_ag_kernel_coverage[IG_OP_COUNT];
/* Runtime check that every table entry is filled (tests). */
enum ig_status ig_ag_check_tables(void);

/* Whether an input needs a gradient in this backward (params also honour param_grads). */
static inline bool ig_ag_wants_grad(const struct ig_graph *g, const struct ig_var *v)
{
    return v && v->requires_grad && (!v->is_param || g->param_grads);
}
#endif /* IG_AG_INTERNAL_H */
