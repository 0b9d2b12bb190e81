/* igradv active learning: LAL-IGradV importance scores, the per-sample gradient engine, baselines and the active-learning loop. */
#ifndef IG_AL_H
#define IG_AL_H
/*
 * Overview
 *   LAL-IGradV (METHOD.md) scores each newly labeled instance x by how its loss gradient
 *   δ_x relates to the reference gradient δ of the whole labeled set. Everything a score
 *   needs is δ·δ_x and ‖δ_x‖² per instance plus ‖δ‖², which the per-sample gradient
 *   engine computes exactly from one batched backward pass; the functions below turn
 *   those into scores, bins and selections.
 *
 * Example
 *   double s[k];
 *   ig_al_scores_from_dots(IG_AL_LD, k, dots, sq_norms, delta_sq, s);
 *   ig_al_rank_bin(s, k, s);                  // RLD: 0 / 0.5 / 1 by quartiles
 *   size_t pick[500]; ig_al_topk(pred, pool_n, 500, pick);
 *
 * Example (a whole run, see the loop section below)
 *   struct ig_al_params p = ig_al_params_default();    // DS, full reference, k 500, ...
 *   p.method = IG_AL_METHOD_RLD; p.init_path = "ckpt/init.safetensors"; p.checkpoint_dir = "ckpt";
 *   ig_al_split(train.n, 0.5, seed, li, &n_li, ui, &n_ui);
 *   struct ig_al_result res;
 *   if (ig_al_run(&res, model, &train, &test, li, n_li, ui, n_ui, &p) != IG_OK) ... ig_last_error() ...;
 *   printf("A0 %.4f A %.4f\n", res.a0, res.a); ig_al_result_free(&res);
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ig_data.h"
#include "ig_util.h"
#include "ig_tensor.h"

enum ig_al_score { IG_AL_DS, IG_AL_LD, IG_AL_RDS, IG_AL_RLD };
const char *ig_al_score_name(enum ig_al_score kind);
/* Case-insensitive "ds", "ld", "rds", "rld"; returns 1 on success. */
int ig_al_score_parse(const char *name, enum ig_al_score *out);

/* out[i] = DS: cos(δ, δ_i) or LD: 1 - cos(δ, δ - δ_i), from dot[i] = δ·δ_i, sq_x[i] = ‖δ_i‖²
 * and delta_sq = ‖δ‖² (RDS/RLD give the unbinned DS/LD). Zero-norm vectors give cosine 0. */
void ig_al_scores_from_dots(enum ig_al_score kind, size_t n, const double *dot, const double *sq_x, double delta_sq,
                            double *out);
/* numpy.quantile with linear interpolation; work holds n doubles. */
double ig_al_quantile(const double *x, size_t n, double q, double *work);
/* RDS/RLD binning: r >= Q3 -> 1, r <= Q1 -> 0, else 0.5 (out may alias scores). When Q1 = Q3
 * the first rule wins (scores equal to the quartile get 1, none 0.5) and a warning is logged. */
enum ig_status ig_al_rank_bin(const double *scores, size_t n, double *out);
/* LCS: φ = (1 - max_c p_c) m / (m - 1) for probs[n,m]. */
enum ig_status ig_al_lcs_scores(const float *probs, size_t n, size_t m, double *out);
/* Margin sampling: 1 - (p_(1) - p_(2)), the gap between the two largest probabilities (probs[n,m]). */
enum ig_status ig_al_margin_scores(const float *probs, size_t n, size_t m, double *out);
/* Entropy sampling: -Σ_c p_c log p_c (natural log). */
enum ig_status ig_al_entropy_scores(const float *probs, size_t n, size_t m, double *out);
/* EGL: Σ_c p_c ‖∇_θ L(x, c)‖ from class_sq[n,m] = ‖∇_θ L(x_i, c)‖² (ig_al_engine_class_sq). */
enum ig_status ig_al_egl_scores(const float *probs, const double *class_sq, size_t n, size_t m, double *out);
/* BADGE (Ash et al. 2020): k-means++ seeding over g_i = (p_i - onehot(argmax p_i)) ⊗ feats_i
 * (probs[n,C], feats[n,F]) with the distances factorised,
 *   ‖a⊗b − c⊗d‖² = ‖a‖²‖b‖² − 2 (a·c)(b·d) + ‖c‖²‖d‖²,
 * so memory is O(n (C + F)). First centre: the largest ‖g_i‖; then D² sampling from seed.
 * picked[0..k): pool positions in selection order. */
enum ig_status ig_al_badge_select(const float *probs, const float *feats, size_t n, size_t C, size_t F, size_t k,
                                  uint64_t seed, size_t *picked);
/* Core-set (Sener & Savarese 2018), greedy k-centre: k times, the pool point (pool[n,F])
 * farthest (Euclidean) from its nearest centre, centres = labeled[n_lab,F] and the points
 * picked so far; ties to the lower index. Distances in double, summed in feature order, on the
 * best vector unit this CPU has (the picks do not depend on it). */
enum ig_status ig_al_coreset_select(const float *pool, size_t n, const float *labeled, size_t n_lab, size_t F, size_t k,
                                    size_t *picked);
/* Indices of the k highest scores, highest first, ties to the lower index; NaN ranks last. */
enum ig_status ig_al_topk(const double *scores, size_t n, size_t k, size_t *out_idx);
/* Spearman rank correlation of x and y (ties get average ranks); NaN if undefined. */
double ig_al_spearman(const double *x, const double *y, size_t n);

/* ================================================================ per-sample gradient engine
 * (ig_al_grad.c: setup, reference, flat vectors; ig_al_grad_batch.c: the per-sample terms;
 * tensor/cpu/ig_cpu_persample.c: the CPU conv kernel)
 *
 * The engine covers a parameter set of θ (enum ig_al_param_set): by default ALL parameters
 * (METHOD.md), i.e. the weights and biases of every Conv2d and Linear module and the γ, β of
 * every BatchNorm2d; CONV_LINEAR leaves out batch norm (the engine of igradv <= 0.1). The
 * reference gradient D, ‖D‖², D·θ, ‖θ‖² and the flat vectors use the same set, so every
 * cosine is between vectors of one space.
 *
 * For a batch x[N,...], y[N] and the model in EVAL mode at fixed θ it returns, exactly,
 * per instance n with g_n = ∇_θ CE(y_n, f(x_n)):
 *     dot[n] = D·g_n,   tdot[n] = θ·g_n,   sq[n] = ‖g_n‖²
 * from one batched forward (cross-entropy with reduction SUM, so row n of dL/dy is
 * dL_n/dy_n) and one backward without parameter gradients, through the layer hook:
 *   every layer (y linear in its parameters): θ·g_n = Σ dy_n ⊙ y_n, from the layer's output
 *   linear: D·g_n = Σ_j dy[n,j] (x_n D_W^T + D_b)_j; ‖g_n‖² = ‖dy_n‖²‖x_n‖² + ‖dy_n‖²
 *   conv (CPU): dW_n = dy_n[O,P] col_n^T[P,K] per instance (col_n: im2col of x_n), then D·dW_n
 *           and ‖dW_n‖² in one pass (one OpenMP loop over instances of single-threaded sgemm);
 *           where P (K + O) < K O (the deep, small layers) instead ‖dW_n‖² by the ghost norm
 *           ⟨col_nᵀcol_n, dy_nᵀdy_n⟩ and D·g_n = Σ dy_n ⊙ conv(x_n; D) from one batched conv;
 *           bias: db_n = Σ_p dy_n. Other backends: the batched conv with D, and dW_n from
 *           conv2d_backward_weight on the 1-sample slices.
 *   BN (eval mode, an affine map per channel): dγ_n = Σ_hw dy_n x̂_n, dβ_n = Σ_hw dy_n.
 * Only [N] vectors come back (summed in double).
 *
 * With weight decay wd (δ_x = g_x + wd·θ, METHOD.md) ig_al_instance_terms gives
 *     δ·δ_x = dot + wd (δ·θ),   ‖δ_x‖² = sq + 2 wd tdot + wd² ‖θ‖².
 *
 * Example
 *   struct ig_al_engine *e; ig_al_engine_new(&e, model);       // or ig_al_engine_new_opts
 *   ig_model_set_train(model, false);
 *   ig_al_engine_ref_zero(e);
 *   for (each batch of LI ∪ NLI) ig_al_engine_ref_add_batch(e, x, y);   // Σ ∇L_x
 *   ig_al_engine_ref_add_theta(e, n * wd);                              // + n wd θ
 *   struct ig_al_ref_stats rs; ig_al_engine_ref_stats(e, &rs);
 *   ig_al_engine_batch(e, x_nli, y_nli, dot, tdot, sq);                 // per instance
 *   ig_al_instance_terms(k, dot, tdot, sq, wd, &rs, dd, dsq);
 *   ig_al_scores_from_dots(IG_AL_DS, k, dd, dsq, rs.ref_sq, scores);
 *   ig_al_engine_class_sq(e, x_pool, 10, sq_nc);                        // EGL: [N,10]
 */
struct ig_model;
struct ig_tensor;
struct ig_al_engine; /* opaque */

/* Scalars over the engine's parameter set: ‖D‖², D·θ, ‖θ‖² (in double). */
struct ig_al_ref_stats { double ref_sq, ref_dot_theta, theta_sq; };

enum ig_al_param_set {
    IG_AL_PARAMS_ALL,          /* conv, linear and batch-norm parameters (default, METHOD.md) */
    IG_AL_PARAMS_CONV_LINEAR,  /* conv and linear weights and biases only */
    IG_AL_PARAMS_COUNT
};
const char *ig_al_param_set_name(enum ig_al_param_set s);            /* "all", "conv-linear" */
int ig_al_param_set_parse(const char *name, enum ig_al_param_set *out); /* case-insensitive; 1 on success */

struct ig_al_engine_opts {
    enum ig_al_param_set params;   /* default IG_AL_PARAMS_ALL */
};
struct ig_al_engine_opts ig_al_engine_opts_default(void);

/* Engine over m's parameter set (marks the layers' weights for the layer hook). m must
 * outlive the engine. The reference starts at zero. opts NULL: defaults. */
enum ig_status ig_al_engine_new_opts(struct ig_al_engine **out, struct ig_model *m, const struct ig_al_engine_opts *opts);
/* ig_al_engine_new_opts with the defaults (all parameters). */
enum ig_status ig_al_engine_new(struct ig_al_engine **out, struct ig_model *m);
void ig_al_engine_free(struct ig_al_engine *e);
/* Scalars in the parameter set. */
int64_t ig_al_engine_num_params(const struct ig_al_engine *e);
/* Layers (modules) in the parameter set: conv + linear (+ batch norm for ALL). */
int ig_al_engine_num_layers(const struct ig_al_engine *e);
enum ig_al_param_set ig_al_engine_param_set(const struct ig_al_engine *e);
/* D = 0. */
enum ig_status ig_al_engine_ref_zero(struct ig_al_engine *e);
/* D += Σ_n ∇_θ CE(y_n, f(x_n)) over the batch (x f32 [N,...], y i32 [N] on the model's
 * backend), in the model's current mode (use eval). One forward + backward. */
enum ig_status ig_al_engine_ref_add_batch(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y);
/* D += alpha · Σ_n ∇_θ CE(y_n, f(x_n)): e.g. alpha = n / |subset| estimates the full sum
 * over n instances from a random subset (lal_cifar's --reference full:N). */
enum ig_status ig_al_engine_ref_add_batch_scaled(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y,
                                                 float alpha);
/* D += alpha · (the gradients now stored in the parameters), e.g. after a training step
 * with a mean loss over B samples, alpha = B (the `running` reference). */
enum ig_status ig_al_engine_ref_add_param_grads(struct ig_al_engine *e, float alpha);
/* D += alpha · θ. */
enum ig_status ig_al_engine_ref_add_theta(struct ig_al_engine *e, float alpha);
enum ig_status ig_al_engine_ref_stats(struct ig_al_engine *e, struct ig_al_ref_stats *out);
/* D as one flat f32 vector: layers in model order, weight (γ) then bias (β) (n = num_params). */
enum ig_status ig_al_engine_ref_to_host(struct ig_al_engine *e, float *flat, int64_t n);
enum ig_status ig_al_engine_ref_from_host(struct ig_al_engine *e, const float *flat, int64_t n);
/* θ of the parameter set as one flat vector (same order). */
enum ig_status ig_al_engine_theta_to_host(struct ig_al_engine *e, float *flat, int64_t n);
/* Per-instance D·g_n, θ·g_n, ‖g_n‖² for the batch (arrays of N = x->shape[0], overwritten;
 * tdot may be NULL). The model must be in eval mode when the set holds batch norm
 * (IG_ERR_STATE otherwise: train-mode batch norm couples the instances). */
enum ig_status ig_al_engine_batch(struct ig_al_engine *e, struct ig_tensor *x, const struct ig_tensor *y, double *dot,
                                  double *tdot, double *sq);
/* EGL: sq_out[n * n_classes + c] = ‖∇_θ CE(c, f(x_n))‖² over the parameter set, for every
 * class c < n_classes (the model's logits have n_classes columns), x f32 [N,...]; one
 * batched forward, then one backward per class over the kept tape. Eval mode as for ig_al_engine_batch. */
enum ig_status ig_al_engine_class_sq(struct ig_al_engine *e, struct ig_tensor *x, int n_classes, double *sq_out);
/* δ·δ_x and ‖δ_x‖² with δ_x = g_x + wd θ from the engine's outputs (dd, dsq: [n]). */
void ig_al_instance_terms(size_t n, const double *dot, const double *tdot, const double *sq, double wd,
                          const struct ig_al_ref_stats *rs, double *dd, double *dsq);

/* ================================================================ the LAL-IGradV loop (ig_al_loop.c)
 *
 * Algorithm 1 of METHOD.md with its fixed open points, and the baselines (Rnd, LCS, margin,
 * entropy, EGL, BADGE, Core-set; docs/BASELINES.md) with the same split, seed and label
 * budget. The run is a sequence of phases (init or resume, line 1 + 2, AL epochs of
 * train -> score -> fit -> predict -> select, final training), and each method is one row
 * of the method table: its scoring function, its regressor (none, GBR, RF) and its
 * selection function (top k, uniform, BADGE, Core-set):
 *   line 1  train on LI (train_epochs) -> A(0)        [shared: init_path checkpoint]
 *   line 2  NLI = k uniform from UI (same draw for every method of one seed)
 *   i = 1..al_epochs:
 *     line 5  train on LI ∪ NLI (train_epochs, continuing); after every training epoch, in
 *             eval mode, score every x in NLI; r_x = mean over the epochs (RDS/RLD: binned after)
 *     line 6  fit R on (raw pixel bytes, r_x): GBR LAD (DS/LD) or RF classifier on {0,.5,1}
 *     line 7  LI ∪= NLI;  line 8-11: r̂ on UI, NLI = top-k   (baselines: their own pool score
 *             or selection, e.g. LCS: top φ)
 *   final   train on LI ∪ NLI (train_epochs); A = test accuracy.
 * Training: cross-entropy (mean over the minibatch), Adam(lr, wd), minibatches of
 * batch_size drawn from a permutation that depends only on (seed, AL epoch, epoch).
 * The library never prints: progress goes to the callback.
 */

/* The selection methods, one row each in the method table (ig_al_methods.c). */
enum ig_al_method { IG_AL_METHOD_DS, IG_AL_METHOD_LD, IG_AL_METHOD_RDS, IG_AL_METHOD_RLD, IG_AL_METHOD_RND,
                    IG_AL_METHOD_LCS, IG_AL_METHOD_MARGIN, IG_AL_METHOD_ENTROPY, IG_AL_METHOD_EGL,
                    IG_AL_METHOD_BADGE, IG_AL_METHOD_CORESET, IG_AL_METHOD_COUNT };
const char *ig_al_method_name(enum ig_al_method m);      /* "ds", "ld", ..., "lcs" */
const char *ig_al_method_summary(enum ig_al_method m);   /* one line: what the method selects */
int ig_al_method_parse(const char *name, enum ig_al_method *out);  /* case-insensitive; 1 on success */

/* The reference gradient δ: FULL (Σ ∇L over LI ∪ NLI + n·wd·θ at the scoring θ, eval mode)
 * or NLI (over NLI only, the published code). RUNNING, the sum of the minibatch gradients
 * along the training epoch, was removed: ig_al_run rejects it (IG_AL_RUNNING_REMOVED says why). */
enum ig_al_reference { IG_AL_REF_FULL, IG_AL_REF_RUNNING, IG_AL_REF_NLI };
#define IG_AL_RUNNING_REMOVED                                                                                          \
    "'running' was removed: it sums minibatch gradients taken at the θ of each training step, and θ moves "       \
    "during the epoch, so it ranks instances against a stale direction (quick preset: Spearman 0.20, then -0.65 against 'full') "   \
    "on the quick preset); use full or nli"
const char *ig_al_reference_name(enum ig_al_reference r); /* "full", "running", "nli" */
int ig_al_reference_parse(const char *name, enum ig_al_reference *out);
struct ig_al_params;
/* The reference as the CLI spells it: "full", "nli" or "full:N" (a subset), in buf[n]; returns buf. */
const char *ig_al_reference_label(const struct ig_al_params *p, char *buf, size_t n);

struct ig_al_progress {
    const char *method;   /* "ds" ... */
    const char *stage;    /* "init-train", "init-load", "train", "score", "fit", "select", "final-train", "eval", "resume", "done" */
    int al_epoch;         /* 0: line 1; 1..al_epochs; al_epochs+1: final retraining */
    int train_epoch;      /* 1-based within the stage, 0 if none */
    double loss;          /* mean training loss of the epoch (train stages), NaN otherwise */
    double value;         /* accuracy (eval), else NaN */
    double seconds;       /* wall time of the stage */
    const double *scores; /* "score": r_x of the n_scores instances rows[] (NLI) at this training epoch, else NULL */
    const int64_t *rows;  /* train rows of scores[] */
    int64_t n_scores;
};
/* Return 0 to continue; non-zero stops the run at its next checkpoint (after line 2 or an
 * AL epoch), and ig_al_run returns IG_ERR_STATE ("stopped"); resume continues it. */
typedef int (*ig_al_progress_fn)(const struct ig_al_progress *ev, void *user);

struct ig_dist;
struct ig_al_params {
    enum ig_al_method method;          /* default DS */
    enum ig_al_reference reference;    /* default FULL */
    /* FULL only: estimate Σ∇L over LI ∪ NLI from this many rows drawn without replacement
     * (fresh per scoring step), scaled by |LI ∪ NLI| / N; 0 or N >= |LI ∪ NLI|: every row
     * (lal_cifar --reference full:N). */
    int64_t reference_subset;
    int64_t k;                         /* labels per AL epoch (default 500) */
    int al_epochs;                     /* epch (default 10) */
    int train_epochs;                  /* epochs at line 1, line 5 and the final retraining (default 10) */
    int64_t batch_size;                /* training minibatch (default 32) */
    int64_t eval_batch;                /* scoring / evaluation batch (default 128) */
    float lr, weight_decay;            /* Adam (default 1e-4, 5e-4) */
    uint64_t seed;                     /* split-independent run seed (default 1) */
    int gbr_estimators;                /* default 200 */
    int rf_estimators, rf_max_depth;   /* default 100, 5 */
    int n_threads;                     /* regressors; <= 0: OpenMP default */
    struct ig_norm_params norm;        /* input transform (default mean 0.5, std 0.5) */
    const char *init_path;             /* line-1 model checkpoint shared by the methods (NULL: none) */
    const char *checkpoint_dir;        /* per-AL-epoch checkpoints (NULL: none) */
    const char *tag;                   /* checkpoint file prefix (default: the method name) */
    bool resume;                       /* continue from checkpoint_dir/<tag>.state.json if present */
    bool track_accuracy;               /* test accuracy after every AL epoch's training (default true) */
    enum ig_al_param_set params;       /* parameters of δ, δ_x, θ and EGL (default all) */
    bool abs_cos;                      /* DS = |cos(δ, δ_x)|, LD = 1 - |cos(δ, δ - δ_x)| (published code; default false) */
    int cv_folds;                      /* regressor quality: k-fold over NLI (default 5; < 2: off) */
    ig_al_progress_fn progress;
    void *progress_user;
    struct ig_dist *dist;              /* data-parallel ranks (ig_dist.h); NULL: this process alone */
};
struct ig_al_params ig_al_params_default(void);

#define IG_AL_MAX_CLASSES 16
struct ig_al_epoch_stats {
    double train_s, score_s, fit_s, predict_s, select_s, total_s;
    double test_acc;         /* after this epoch's training (NaN unless track_accuracy) */
    int64_t n_labeled;       /* labels spent by the model test_acc measures: |LI ∪ NLI| of its training */
    double score_mean;       /* mean r_x over NLI (NaN for methods without a regressor) */
    /* Regressor quality: Spearman between r̂ and r_x on held-out NLI rows (cv_folds-fold
     * cross-validation with the method's regressor; NaN without a regressor). */
    double reg_spearman;
    /* δ composition at the last scoring of the epoch: δ = G + n·wd·θ with G = Σ∇L:
     * ‖G‖, ‖n·wd·θ‖ and cos(G, θ) (NaN for methods without a reference). */
    double delta_grad_norm, delta_wd_norm, delta_cos;
    int64_t class_hist[IG_AL_MAX_CLASSES];   /* labels of the batch selected in this epoch */
};

struct ig_al_result {
    double a0, a;                      /* test accuracy after line 1 and at the end */
    double init_train_s;               /* line-1 training (0 when loaded from init_path) */
    double final_train_s, eval_s;
    int al_epochs;
    struct ig_al_epoch_stats *epochs;  /* [al_epochs] */
    int64_t n_labeled;                 /* |LI ∪ NLI| at the end */
    int64_t *labeled;                  /* [n_labeled] dataset rows, in labelling order */
    bool resumed;                      /* continued from a checkpoint */
};
void ig_al_result_free(struct ig_al_result *r);

/* Seeded split of the rows 0..n-1 into LI (n - round(frac n)) and UI (round(frac n));
 * li, ui: arrays of n (caller-owned); sizes returned. */
enum ig_status ig_al_split(int64_t n, double unlabeled_frac, uint64_t seed, int64_t *li, int64_t *n_li, int64_t *ui,
                           int64_t *n_ui);

/* Run one method on model m (freshly constructed; the loop trains it). li/ui are rows of
 * train; test gives A(0) and A. res is filled (free with ig_al_result_free). */
enum ig_status ig_al_run(struct ig_al_result *res, struct ig_model *m, const struct ig_dataset *train,
                         const struct ig_dataset *test, const int64_t *li, int64_t n_li, const int64_t *ui,
                         int64_t n_ui, const struct ig_al_params *p);
/* Test accuracy of m (eval mode) on data. */
enum ig_status ig_al_evaluate(struct ig_model *m, const struct ig_dataset *data, int64_t batch,
                              struct ig_norm_params norm, double *acc);
#endif
