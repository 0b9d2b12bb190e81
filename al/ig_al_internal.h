/* Private helpers of the al module: the run, the method table, the phases' shared functions and the checkpoint state (not installed). */
#ifndef IG_AL_INTERNAL_H
#define IG_AL_INTERNAL_H
#include "ig_al.h"
#include "ig_nn.h"
#include "ig_util.h"
#include "ig_data.h"
#include "ig_regress.h"

/* Every input that changes a result, as key/value text (stored in the state and the
 * line-1 sidecar; a resume compares them key by key). ig_al_settings.c. */
#define AL_SETTINGS_MAX 48
struct al_settings {
    int n;
    char key[AL_SETTINGS_MAX][32];
    char val[AL_SETTINGS_MAX][96];
};
/* Line 1: version, arch, parameter count, image shape, sizes, content hashes of the LI rows and
 * the test set, training settings, seed, input transform. */
void ig_al_settings_line1(struct al_settings *s, const struct ig_al_params *p, const struct ig_model *m,
                          const struct ig_dataset *train, const struct ig_dataset *test, const int64_t *li, int64_t n_li);
/* A run: line 1 plus method, reference, budget, pool hash, regressor settings. */
void ig_al_settings_run(struct al_settings *s, const struct ig_al_params *p, const struct ig_model *m,
                        const struct ig_dataset *train, const struct ig_dataset *test, const int64_t *li, int64_t n_li,
                        const int64_t *ui, int64_t n_ui);
uint64_t ig_al_settings_fingerprint(const struct al_settings *s);
const char *ig_al_settings_get(const struct al_settings *s, const char *key);
/* IG_OK when equal, else IG_ERR_FORMAT naming every differing key (stored and current value). */
enum ig_status ig_al_settings_compare(const struct al_settings *want, const struct al_settings *stored, const char *path);
/* Content hash of rows (NULL: 0..n-1) of d: index, pixels and label of each. */
uint64_t ig_al_data_hash(const struct ig_dataset *d, const int64_t *rows, int64_t n);


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
    uint64_t fp;                     /* fingerprint of the run's inputs: ig_al_settings_fingerprint(&set) */
    struct al_settings set;          /* the run's settings (ig_al_fp_run fills it) */
    char prev_model[256];            /* model file of the last saved state */
    double *score, *acc_score;       /* [k] r_x of one training epoch, summed over the epochs */
    double *pool;                    /* [|UI|] pool scores */
    double delta_grad_norm, delta_wd_norm, delta_cos;   /* last scoring: δ composition (NaN if none) */
    uint64_t ref_draw_seed;          /* the scoring step's seed of the full:N subset (AL epoch, training epoch) */
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

/* full:N: n_sub distinct rows of set[0..n) (n_sub < n), drawn by a partial Fisher-Yates
 * shuffle of the splitmix64 stream from seed, in ascending order (out: n_sub). */
enum ig_status ig_al_reference_subset(const int64_t *set, int64_t n, int64_t n_sub, uint64_t seed, int64_t *out);

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
uint64_t ig_al_fp_line1(const struct ig_al_run *r, const int64_t *li, int64_t n_li, struct al_settings *set);
uint64_t ig_al_fp_run(struct ig_al_run *r, const int64_t *li, int64_t n_li, const int64_t *ui, int64_t n_ui);
enum ig_status ig_al_save_state(struct ig_al_run *r, const struct ig_al_result *res, int epoch_done, bool done);
enum ig_status ig_al_resume(struct ig_al_run *r, struct ig_al_result *res, int *start, bool *finished);

/* Resumable state of one run, written as JSON after every AL epoch. */
struct al_state {
    char method[16];
    uint64_t fingerprint;          /* ig_al_settings_fingerprint(&settings) */
    struct al_settings settings;
    int epoch_done;                /* AL epochs finished (selection included) */
    bool done;                     /* final retraining and evaluation finished */
    double a0, a, init_train_s, final_train_s, eval_s;
    int64_t *li, n_li, *ui, n_ui, *nli, n_nli;
    struct ig_rng model_rng;       /* the model's generator (dropout) */
    char model_file[256];          /* model checkpoint, relative to the checkpoint dir ("" when done) */
    uint64_t model_hash, optim_hash;   /* content hashes of model_file and model_file.optim (when named) */
    bool checksum_ok;              /* the file's "checksum" matched its contents (load) */
    int al_epochs;
    struct ig_al_epoch_stats *epochs;  /* [al_epochs] */
};

/* What a state file must agree with: the run it is resumed into. */
struct al_state_expect {
    const struct al_settings *settings;
    const char *method, *tag;      /* model files are <tag>.e<epoch>.safetensors */
    const char *dir;               /* checkpoint folder holding the model files */
    int64_t n_rows;                /* rows of the training set */
    const int64_t *li0, *ui0;      /* the initial split */
    int64_t n_li0, n_ui0, k;
    int al_epochs;
};

/* FNV-1a 64 over bytes, chained from h. */
uint64_t ig_al_fnv(uint64_t h, const void *data, size_t n);
#define IG_AL_FNV_INIT 0xcbf29ce484222325ull

/* Atomic JSON state write (the one atomic writer) with a checksum over the state and the hashes of
 * the model files it names (in the state's folder) / read. read returns IG_ERR_IO when absent and
 * IG_ERR_FORMAT naming the field for anything malformed. */
enum ig_status ig_al_state_save(const struct al_state *s, const char *path);
enum ig_status ig_al_state_load(struct al_state *s, const char *path);
/* The same from memory (name: for messages). */
enum ig_status ig_al_state_load_mem(struct al_state *s, const char *buf, size_t len, const char *name);
void ig_al_state_free(struct al_state *s);
/* Every field against the run: settings, method, epoch counters, sizes, ranges, disjointness and
 * coverage of LI/UI/NLI, the model file's name, hash and fingerprint. IG_ERR_FORMAT naming the field. */
enum ig_status ig_al_state_check(const struct al_state *s, const struct al_state_expect *x, const char *path);
/* Model checkpoint of a state: the model (+ .optim) with the run's fingerprint and epoch in its metadata. */
enum ig_status ig_al_state_model_save(const struct ig_model *m, const struct ig_optim *opt, const char *path,
                                      uint64_t fingerprint, int epoch);
/* Remove <tag>.e<N>.safetensors[.optim] in dir except keep (a file name, may be NULL or ""), and the
 * atomic writer's temporaries of tag's files (other runs' temporaries may be in flight in other processes).
 * Nothing else is touched. */
enum ig_status ig_al_state_clean(const char *dir, const char *tag, const char *keep);
/* Small JSON sidecar of the shared line-1 checkpoint model_path: its settings, fingerprint, the
 * hashes of the model files and A(0). */
enum ig_status ig_al_init_meta_save(const char *path, const char *model_path, const struct al_settings *set, double a0,
                                    double train_s);
/* True when path exists, is intact and matches the settings and the model files (a0, train_s filled). */
bool ig_al_init_meta_load(const char *path, const char *model_path, const struct al_settings *set, double *a0,
                          double *train_s);
/* The instruction set of the CPU kernels outside tensor/ (regressor split search, Core-set
 * distances): the CPU backend's (IGRADV_CPU), else (other backends) the best this CPU runs. */
static inline enum ig_regress_isa ig_al_kernel_isa(const struct ig_backend *be)
{
    enum ig_regress_isa isa = IG_REGRESS_ISA_AUTO;   /* kept when the name is "" (not a CPU backend) */
    ig_regress_isa_parse(ig_backend_isa_name(be), &isa);
    return isa;
}

/* ig_al_coreset_select with the distance kernels of one instruction set (AUTO: the best this CPU
 * runs; the lal loop passes the CPU backend's, tests each one): the same picks with every one.
 * A set the CPU lacks is IG_ERR_UNSUPPORTED. */
enum ig_status ig_al_coreset_select_isa(const float *pool, size_t n, const float *labeled, size_t n_lab, size_t F,
                                        size_t k, size_t *picked, enum ig_regress_isa isa);

#endif
