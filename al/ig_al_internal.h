/* Private helpers of the al module shared by the loop and its checkpoint state (not installed). */
#ifndef IG_AL_INTERNAL_H
#define IG_AL_INTERNAL_H
#include "ig_al.h"
#include "ig_nn.h"
#include "ig_util.h"

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
