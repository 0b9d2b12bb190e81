/* Private helpers of the al module shared by the loop and its checkpoint state (not installed). */
#ifndef IG_AL_INTERNAL_H
#define IG_AL_INTERNAL_H
#include "ig_al.h"
#include "ig_nn.h"

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
                          const struct ig_al_data *train, const struct ig_al_data *test, const int64_t *li, int64_t n_li);
/* A run: line 1 plus method, reference, budget, pool hash, regressor settings. */
void ig_al_settings_run(struct al_settings *s, const struct ig_al_params *p, const struct ig_model *m,
                        const struct ig_al_data *train, const struct ig_al_data *test, const int64_t *li, int64_t n_li,
                        const int64_t *ui, int64_t n_ui);
uint64_t ig_al_settings_fingerprint(const struct al_settings *s);
const char *ig_al_settings_get(const struct al_settings *s, const char *key);
/* IG_OK when equal, else IG_ERR_FORMAT naming every differing key (stored and current value). */
enum ig_status ig_al_settings_compare(const struct al_settings *want, const struct al_settings *stored, const char *path);
/* Content hash of rows (NULL: 0..n-1) of d: index, pixels and label of each. */
uint64_t ig_al_data_hash(const struct ig_al_data *d, const int64_t *rows, int64_t n);

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
 * atomic writer's temporaries. Nothing else is touched. */
enum ig_status ig_al_state_clean(const char *dir, const char *tag, const char *keep);
/* Small JSON sidecar of the shared line-1 checkpoint model_path: its settings, fingerprint, the
 * hashes of the model files and A(0). */
enum ig_status ig_al_init_meta_save(const char *path, const char *model_path, const struct al_settings *set, double a0,
                                    double train_s);
/* True when path exists, is intact and matches the settings and the model files (a0, train_s filled). */
bool ig_al_init_meta_load(const char *path, const char *model_path, const struct al_settings *set, double *a0,
                          double *train_s);
#endif
