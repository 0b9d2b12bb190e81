/* igradv nn: seeded RNG, layers (modules), the paper CNN, cross-entropy, Adam/SGD, safetensors checkpoints. */
#ifndef IG_NN_H
#define IG_NN_H
/*
 * Overview
 *   Modules form a tree: Sequential containers hold named children (index names "0",
 *   "1", ... like PyTorch's nn.Sequential, or explicit names such as "features").
 *   A model (struct ig_model) owns the root module, one seeded generator (initialisation,
 *   then dropout seeds), the train/eval flag and the PyTorch state_dict view of the tree:
 *   parameters "features.0.weight" ... and buffers "features.1.running_mean",
 *   "features.1.running_var", "features.1.num_batches_tracked".
 *
 *   Initialisation follows PyTorch's defaults: conv/linear weights kaiming-uniform with
 *   a = sqrt(5) (i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))), biases U(+-1/sqrt(fan_in)),
 *   batch-norm weight 1, bias 0, running mean 0, running var 1.
 *
 *   Optimisers (Adam, SGD with momentum) follow torch.optim semantics and run the fused
 *   ig_adam_step / ig_sgd_step kernels. Checkpoints are safetensors files whose tensors
 *   carry the state_dict names and shapes, so they load in PyTorch with
 *   safetensors.torch.load_file + load_state_dict (and the reverse); the optimiser state
 *   (moments and step) goes to a companion file "<path>.optim" so the model file stays a
 *   pure state_dict.
 *
 * Example (training)
 *   struct ig_model *m; struct ig_optim *opt; struct ig_graph *g;
 *   ig_model_paper_cnn(&m, be, 3, 32, 32, 10, 42);
 *   struct ig_adam_params ap = ig_adam_params_default(); ap.lr = 1e-4f; ap.weight_decay = 5e-4f;
 *   ig_optim_adam_new(&opt, m, ap);
 *   ig_graph_new(be, &g);
 *   ig_model_set_train(m, true);
 *   for (each batch x f32[N,3,32,32], y i32[N]) {
 *       float loss; int64_t correct;
 *       if (ig_model_train_step(m, opt, g, x, y, &loss, &correct) != IG_OK) ... ig_last_error() ...;
 *   }
 *   ig_model_save(m, opt, "ckpt.safetensors");
 *   ig_graph_free(g); ig_optim_free(opt); ig_model_free(m);
 */
#include "ig_autograd.h"
#include "ig_data.h"
#include "ig_tensor.h"
#include "ig_util.h"      /* struct ig_rng: xoshiro256**, the one generator of a model */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- modules */

enum ig_module_kind {
    IG_MODULE_SEQUENTIAL, IG_MODULE_CONV2D, IG_MODULE_LINEAR, IG_MODULE_BATCHNORM2D, IG_MODULE_RELU,
    IG_MODULE_MAXPOOL2D, IG_MODULE_DROPOUT, IG_MODULE_DROPOUT2D, IG_MODULE_FLATTEN, IG_MODULE_KIND_COUNT
};
const char *ig_module_kind_name(enum ig_module_kind k);   /* "Conv2d" */

#define IG_MODULE_NAME_LEN 32
/* Fields are read-only for callers (walk the tree to find layers, e.g. for layer hooks). */
struct ig_module {
    enum ig_module_kind kind;
    char name[IG_MODULE_NAME_LEN];  /* key in the parent ("0", "features") */
    /* Sequential */
    int n_children, cap_children;
    struct ig_module **children;
    /* Conv2d / Linear: weight [O,C,KH,KW] / [out,in], bias [O] or NULL; BatchNorm2d: gamma, beta */
    struct ig_var *weight, *bias;
    /* BatchNorm2d buffers */
    struct ig_tensor *running_mean, *running_var;
    int64_t num_batches_tracked;
    int64_t in_features, out_features;  /* Linear: in/out; Conv2d: in/out channels; BN: channels */
    int kernel, stride, padding;        /* Conv2d, MaxPool2d */
    float p;                            /* Dropout */
    struct ig_bn_params bn;             /* BatchNorm2d: momentum 0.1, eps 1e-5 */
};

/* Constructors return NULL on error (ig_last_error()). Weights are initialised from rng. */
struct ig_module *ig_conv2d_new(struct ig_backend *be, struct ig_rng *rng, int64_t in_ch, int64_t out_ch,
                                int kernel, int stride, int padding, bool bias);
struct ig_module *ig_linear_new(struct ig_backend *be, struct ig_rng *rng, int64_t in, int64_t out, bool bias);
struct ig_module *ig_batchnorm2d_new(struct ig_backend *be, int64_t channels);
struct ig_module *ig_relu_new(void);
struct ig_module *ig_maxpool2d_new(int kernel, int stride);
struct ig_module *ig_dropout_new(float p);
struct ig_module *ig_dropout2d_new(float p);
struct ig_module *ig_flatten_new(void);
struct ig_module *ig_sequential_new(void);
/* Append child (ownership moves to seq, also on failure); name NULL: its index. */
enum ig_status ig_sequential_add(struct ig_module *seq, const char *name, struct ig_module *child);
void ig_module_free(struct ig_module *m);

/* Forward of a module tree. train: batch statistics and dropout; rng: dropout seeds. */
struct ig_var *ig_module_forward(struct ig_module *m, struct ig_graph *g, struct ig_var *x, bool train,
                                 struct ig_rng *rng);

/* ---------------------------------------------------------------- models */

struct ig_named_param { char name[96]; struct ig_var *var; struct ig_module *owner; };
struct ig_named_buffer { char name[96]; struct ig_tensor *t; struct ig_module *owner; bool is_count; };

struct ig_model {
    struct ig_backend *be;
    struct ig_module *root;
    struct ig_rng rng;
    bool training;
    char arch[32];
    int n_params;
    struct ig_named_param *params;      /* state_dict order */
    int n_buffers;
    struct ig_named_buffer *buffers;    /* running stats; is_count: num_batches_tracked (no tensor) */
    /* scratch for accuracy counting */
    struct ig_tensor *pred;
    int32_t *host_pred, *host_label;
    int64_t host_cap;
};

/* Wrap a module tree (ownership moves to the model, also on failure). seed seeds the
 * model's generator (dropout); arch is a free label stored in checkpoints. */
enum ig_status ig_model_new(struct ig_model **out, struct ig_backend *be, struct ig_module *root, uint64_t seed,
                            const char *arch);
/* The paper CNN (METHOD.md) for [N,in_ch,h,w] inputs (CIFAR-10: 3, 32, 32, 10 classes):
 * "features" (convs, BN, pools, Dropout2d 0.05), flatten, "classifier" (Dropout 0.1,
 * linear 4096->1024, ReLU, linear 1024->512, ReLU, Dropout 0.1, linear 512->classes).
 * One generator seeded with seed initialises the weights and then seeds dropout. */
enum ig_status ig_model_paper_cnn(struct ig_model **out, struct ig_backend *be, int in_ch, int h, int w,
                                  int classes, uint64_t seed);
/* Small fast CNN: conv 16 + BN + ReLU + pool, conv 32 + BN + ReLU + pool, linear 64, linear classes. */
enum ig_status ig_model_small_cnn(struct ig_model **out, struct ig_backend *be, int in_ch, int h, int w,
                                  int classes, uint64_t seed);
/* MLP: flatten, linear in->hidden, ReLU, linear hidden->classes. */
enum ig_status ig_model_mlp(struct ig_model **out, struct ig_backend *be, int64_t in, int64_t hidden, int classes,
                            uint64_t seed);
void ig_model_free(struct ig_model *m);
void ig_model_set_train(struct ig_model *m, bool train);
int64_t ig_model_num_params(const struct ig_model *m);       /* scalar count */
/* Parameter / buffer by state_dict name (NULL if absent). */
struct ig_var *ig_model_param(const struct ig_model *m, const char *name);
struct ig_tensor *ig_model_buffer(const struct ig_model *m, const char *name);

/* Accessors: callers outside nn read a model through these, not its fields. */
struct ig_backend *ig_model_backend(const struct ig_model *m);
struct ig_rng *ig_model_rng(struct ig_model *m);          /* the generator dropout draws from */
const char *ig_model_arch(const struct ig_model *m);      /* the label stored in checkpoints */
bool ig_model_is_training(const struct ig_model *m);
/* Parameter tensors in state_dict order: count, and the i-th with its name and owning module. */
int ig_model_num_param_tensors(const struct ig_model *m);
struct ig_var *ig_model_param_at(const struct ig_model *m, int i, const char **name, const struct ig_module **owner);
/* Output classes and input width of the last Linear layer (0 if the model has none). */
int ig_model_num_classes(const struct ig_model *m);
int64_t ig_model_feature_dim(const struct ig_model *m);

/* Outputs of ig_model_predict, each [rows, ...] row-major on the host, NULL to skip. */
struct ig_predict_out {
    float *probs;       /* [n, classes] softmax of the logits */
    int32_t *pred;      /* [n] argmax of the logits (first maximum) */
    float *feats;       /* [n, ig_model_feature_dim] penultimate features: the last Linear layer's input */
};
/* Predictions for the dataset rows rows[0..n) (rows NULL: 0..n-1) in evaluation mode (the
 * mode is restored afterwards), in batches of `batch`, inputs normalised with norm. The
 * model's generator is not used. The one way al and the apps run a model for inference. */
enum ig_status ig_model_predict(struct ig_model *m, const struct ig_dataset *ds, const int64_t *rows, int64_t n,
                                int64_t batch, struct ig_norm_params norm, const struct ig_predict_out *out);

/* Mark every Conv2d / Linear weight for the per-sample layer hook (ig_graph_set_layer_hook). */
void ig_model_set_watch(struct ig_model *m, bool on);

/* logits[N,classes] of x (mode from ig_model_set_train). */
struct ig_var *ig_model_forward(struct ig_model *m, struct ig_graph *g, struct ig_var *x);
/* Mean cross-entropy of logits against labels i32[N]. */
struct ig_var *ig_nn_cross_entropy(struct ig_graph *g, struct ig_var *logits, const struct ig_tensor *labels);
/* Number of rows whose argmax equals the label. */
enum ig_status ig_model_count_correct(struct ig_model *m, const struct ig_tensor *logits, const struct ig_tensor *labels,
                                      int64_t *correct);
/* One training step in train mode: reset g, forward, mean cross-entropy, zero_grad,
 * backward, optimiser step. loss / correct may be NULL. */
struct ig_optim;
enum ig_status ig_model_train_step(struct ig_model *m, struct ig_optim *opt, struct ig_graph *g, struct ig_tensor *x,
                                   const struct ig_tensor *y, float *loss, int64_t *correct);
/* Evaluation of one batch without gradients in the current mode: *loss_sum += sum of the
 * per-sample losses, *correct += correct predictions (either may be NULL). */
enum ig_status ig_model_eval_batch(struct ig_model *m, struct ig_graph *g, struct ig_tensor *x, const struct ig_tensor *y,
                                   double *loss_sum, int64_t *correct);

/* ---------------------------------------------------------------- optimisers */

enum ig_optim_kind { IG_OPTIM_ADAM, IG_OPTIM_SGD };
struct ig_optim; /* opaque */

/* Optimisers over every trainable parameter of m (m must outlive them). */
enum ig_status ig_optim_adam_new(struct ig_optim **out, struct ig_model *m, struct ig_adam_params p);
enum ig_status ig_optim_sgd_new(struct ig_optim **out, struct ig_model *m, struct ig_sgd_params p);
void ig_optim_free(struct ig_optim *o);
enum ig_optim_kind ig_optim_kind(const struct ig_optim *o);
void ig_optim_zero_grad(struct ig_optim *o);
/* One update of every parameter that received a gradient since zero_grad. */
enum ig_status ig_optim_step(struct ig_optim *o);
int64_t ig_optim_steps(const struct ig_optim *o);
void ig_optim_set_lr(struct ig_optim *o, float lr);
float ig_optim_lr(const struct ig_optim *o);
/* Called by ig_optim_step before it updates anything, after the backward pass filled the
 * gradients (e.g. to sum them over data-parallel ranks, ig_dist.h); NULL removes it. */
typedef enum ig_status (*ig_optim_grad_fn)(struct ig_optim *o, struct ig_model *m, void *user);
void ig_optim_set_grad_hook(struct ig_optim *o, ig_optim_grad_fn fn, void *user);

/* ---------------------------------------------------------------- checkpoints (safetensors) */

/* Write the model's state_dict to path (atomically), with metadata igradv_arch and
 * step; when opt is given, also "<path>.optim" with the optimiser state ("<param>.exp_avg",
 * "<param>.exp_avg_sq" for Adam, "<param>.momentum_buffer" for SGD; metadata step, kind). */
enum ig_status ig_model_save(const struct ig_model *m, const struct ig_optim *opt, const char *path);
/* The same with n_meta extra metadata strings in the model file (keys must not be "format",
 * "igradv_arch" or "step", which are always written). */
enum ig_status ig_model_save_meta(const struct ig_model *m, const struct ig_optim *opt, const char *path, int n_meta,
                                  const char *const *meta_keys, const char *const *meta_values);
/* Load a state_dict file into m: every parameter and buffer must be present with the same
 * shape (errors name the tensor); unknown tensors are rejected. When opt is given and
 * "<path>.optim" exists, the optimiser state and step are restored too; *opt_loaded (may
 * be NULL) says whether it was. */
enum ig_status ig_model_load(struct ig_model *m, struct ig_optim *opt, const char *path, bool *opt_loaded);

#ifdef __cplusplus
}
#endif
#endif /* IG_NN_H */
