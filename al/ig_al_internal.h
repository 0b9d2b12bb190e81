/* Private helpers of the al module: the run, the method table, the phases' shared functions and the checkpoint state (not installed). */
#ifndef IG_AL_INTERNAL_H
#define IG_AL_INTERNAL_H
#include "ig_al.h"
#include "ig_nn.h"
#include "ig_util.h"

/* ---------------------------------------------------------------- one run and the method table */

struct ig_al_run;

/* Scores of the train rows rows[0..n) at the current θ (eval mode), higher = more wanted:
 * for a method with a regressor these are the per-instance targets r_x of NLI (line 5),
 * for the others the pool scores the selection ranks. */
typedef enum ig_status (*ig_al_score_fn)(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out);
/* Pick k positions of the pool UI (picked[0..k), distinct, in selection order) from the
 * pool scores (NULL for methods without a scoring function). */
typedef enum ig_status (*ig_al_select_fn)(struct ig_al_run *r, int al_epoch, const double *pool, int64_t k,
                                          size_t *picked);

enum ig_al_regressor { IG_AL_REGRESSOR_NONE, IG_AL_REGRESSOR_GBR, IG_AL_REGRESSOR_RF };

/* One row per method: adding a method = a row here (ig_al_methods.c) and its functions. */
struct ig_al_method_row {
    const char *name;               /* --methods name */
    const char *selects;            /* one line: what the method selects (README, --help) */
    bool per_sample_grads;          /* needs the per-sample gradient engine */
    enum ig_al_regressor regressor; /* NONE: score fn ranks the pool itself; GBR on r_x; RF on binned r_x */
    ig_al_score_fn score;           /* NULL: no scores (Rnd, set-based selections) */
    ig_al_select_fn select;
};
const struct ig_al_method_row *ig_al_method_row(enum ig_al_method m);

struct ig_al_run {
    const struct ig_al_params *p;
    const struct ig_al_method_row *row;
    struct ig_model *m;
    struct ig_optim *opt;
    struct ig_graph *g;
    struct ig_al_engine *e;          /* per-sample gradients (NULL unless row->per_sample_grads) */
    struct ig_backend *be;
    const struct ig_dataset *train, *test;
    int64_t feat;                    /* bytes per row: C·H·W */
    int64_t *li, n_li, *ui, n_ui, *nli, n_nli;   /* index sets (rows of train) */
    struct ig_batcher *batch;        /* reusable batch tensors (train rows) */
    const char *mname;
    bool stop;                       /* the progress callback asked to stop */
    uint64_t fp;                     /* fingerprint of the run's inputs */
    char prev_model[256];            /* model file of the last saved state */
    double *score, *acc_score;       /* [k] r_x of one training epoch, summed over the epochs */
    double *pool;                    /* [|UI|] pool scores */
    double delta_grad_norm, delta_wd_norm, delta_cos;   /* last scoring: δ composition (NaN if none) */
};

/* Progress event (the callback may set r->stop). */
void ig_al_report(struct ig_al_run *r, const char *stage, int al_epoch, int train_epoch, double loss, double value,
                  double secs);

/* Scoring functions of the table (ig_al_methods.c). */
enum ig_status ig_al_score_ds(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out);
enum ig_status ig_al_score_ld(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out);
enum ig_status ig_al_score_lcs(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out);
/* Selections: the k highest pool scores; k uniform draws. */
enum ig_status ig_al_select_top(struct ig_al_run *r, int al_epoch, const double *pool, int64_t k, size_t *picked);
enum ig_status ig_al_select_random(struct ig_al_run *r, int al_epoch, const double *pool, int64_t k, size_t *picked);
/* k uniform pool positions from a stateless seed (line 2 and Rnd). */
enum ig_status ig_al_draw_random(const struct ig_al_run *r, uint64_t seed, int64_t k, size_t *picked);

/* Data parallelism (ig_al_dist.c; p->dist NULL or one rank: plain calls). The row's score
 * function on this rank's block of rows[0..n), the blocks summed so every rank holds
 * out[0..n); and the engine's reference summed over the ranks (each added its block). */
enum ig_status ig_al_score_split(struct ig_al_run *r, const int64_t *rows, int64_t n, double *out);
enum ig_status ig_al_ref_sum_ranks(struct ig_al_run *r);

/* Line 6 and 8: fit the row's regressor on (pixels of NLI, target) and predict pool[|UI|]. */
enum ig_status ig_al_fit_predict(struct ig_al_run *r, const double *target, int al_epoch, double *pool,
                                 struct ig_al_epoch_stats *st);
/* Regressor quality: *spearman = Spearman(out-of-fold r̂, target) over NLI with p->cv_folds
 * folds (NaN when cv_folds < 2 or fewer rows than folds). */
enum ig_status ig_al_fit_cv(struct ig_al_run *r, const double *target, int al_epoch, double *spearman);

/* Fingerprints of a run's inputs (ig_al_checkpoint.c): line 1 (shared by the methods of
 * one seed) and the whole run; the checkpoint state after line 2 / every AL epoch; resume
 * (sets *start to the next AL epoch and *finished when the stored run is done). */
uint64_t ig_al_fp_line1(const struct ig_al_run *r, const int64_t *li, int64_t n_li);
uint64_t ig_al_fp_run(const struct ig_al_run *r, const int64_t *li, int64_t n_li, const int64_t *ui, int64_t n_ui);
enum ig_status ig_al_save_state(struct ig_al_run *r, const struct ig_al_result *res, int epoch_done, bool done);
enum ig_status ig_al_resume(struct ig_al_run *r, struct ig_al_result *res, int *start, bool *finished);

/* Resumable state of one run, written as JSON after every AL epoch. */
struct al_state {
    char method[16];
    uint64_t fingerprint;          /* of the inputs (split, budget, hyper-parameters, arch) */
    int epoch_done;                /* AL epochs finished (selection included) */
    bool done;                     /* final retraining and evaluation finished */
    double a0, a, init_train_s, final_train_s, eval_s;
    int64_t *li, n_li, *ui, n_ui, *nli, n_nli;
    struct ig_rng model_rng;       /* the model's generator (dropout) */
    char model_file[256];          /* model checkpoint, relative to the checkpoint dir */
    int al_epochs;
    struct ig_al_epoch_stats *epochs;  /* [al_epochs] */
};

/* FNV-1a 64 over bytes, chained from h. */
uint64_t ig_al_fnv(uint64_t h, const void *data, size_t n);
#define IG_AL_FNV_INIT 0xcbf29ce484222325ull

/* Atomic JSON state write (tmp + fsync + rename) / read. read returns IG_ERR_IO when absent. */
enum ig_status ig_al_state_save(const struct al_state *s, const char *path);
enum ig_status ig_al_state_load(struct al_state *s, const char *path);
void ig_al_state_free(struct al_state *s);
/* Small JSON sidecar of the shared line-1 checkpoint: its fingerprint and A(0). */
enum ig_status ig_al_init_meta_save(const char *path, uint64_t fingerprint, double a0, double train_s);
/* Returns true when path exists and matches fingerprint (a0 and train_s filled). */
bool ig_al_init_meta_load(const char *path, uint64_t fingerprint, double *a0, double *train_s);
#endif
