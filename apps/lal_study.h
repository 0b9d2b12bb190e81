/* lal_study: lal_cifar's grid runner: every unit of the grid (or of its --shard block) as one ig_al_run, run JSON and score .npy files per unit, the reports at the end. */
#ifndef LAL_STUDY_H
#define LAL_STUDY_H
/*
 * Files in DIR (--out), per unit <u> = "<method>-f<frac>-k<k>-s<seed>" (lal_grid.h):
 *   run-<u>.json                 the run: settings, a0, a, %Rnd/%LCS (paired with the Rnd/LCS
 *                                unit of the same fraction, k and seed, from any invocation),
 *                                epochs[] with per-phase seconds, test_acc and n_labeled (|LI ∪ NLI|
 *                                the model of test_acc was trained on), line1_trained, ...
 *   scores/scores-<u>-e<i>.npy      float64 [k]: r_x of the k instances of NLI at AL epoch i, the
 *                                   mean over its training epochs (the regressor's target before
 *                                   the RDS/RLD binning; Fig. 1) -- methods with a regressor only
 *   scores/scores-<u>-e<i>-t<j>.npy float64 [k]: the same instances scored after training epoch j
 *   scores/rows-<u>-e<i>.npy        int64 [k]: their training-set rows
 *   ckpt/init-f<frac>-s<seed>.safetensors (+ .json sidecar)   line-1 model of a (fraction, seed)
 *   ckpt/<u>.state.json          the resumable state
 *   model-<u>.safetensors        the final model, its settings in the metadata (igradv-model; not with
 *                                --no-keep-models)
 *   summary.csv (after every run), results.csv, results.md, figures/ (at the end, lal_report.h)
 */
#include <stdbool.h>

#include "ig_al.h"
#include "ig_data.h"
#include "lal_grid.h"
#include "lal_progress.h"

struct lal_study {
    const char *prog, *out, *dataset, *arch, *preset;
    struct ig_al_params base;      /* every AL/training setting; method, k, seed, paths, tag, progress: per unit */
    struct lal_grid grid;
    int shard_i, shard_n;          /* run block shard_i of shard_n (0 of 1: everything) */
    bool resume, quiet, plots, keep_models;
    struct ig_backend *be;
    const struct ig_dataset *train, *test;
    struct ig_dist *dist;          /* MPI ranks (NULL / one rank: this process alone) */
    bool data_parallel;            /* base.dist set: every rank runs every unit together; rank 0 writes */
    /* internal (lal_study_ranks.c): */
    bool line1_only;               /* stop each run after its line-1 model and line 2; no checkpoints */
    const double *collect;         /* [2 n]: resumed, reused of the units as the ranks ran them */
};

/* ---- internal: one finished unit (lal_study.c, lal_study_out.c, lal_study_ranks.c) */
struct lal_run_out {
    bool ran, reused, line1_trained;   /* reused: finished by an earlier invocation (--resume) */
    struct ig_al_result res;
    double wall_s, sec_per_epoch, pct_inc, pct_rnd, pct_lcs;
    int64_t n_li0, n_ui;
};
/* DIR/run-<u>.json (atomic); -1 (message on stderr) on failure. */
int lal_study_write_run(const struct lal_study *s, const struct lal_unit *u, const struct lal_run_out *r);
/* Number (or boolean as 0/1) `key` of the run file DIR/run-<name>.json, NaN when there is none. */
double lal_study_read_num(const char *dir, const char *name, const char *key);
/* DIR/model-<u>.safetensors: m with the input shape, classes, input transform and the run's settings p
 * in its metadata (what igradv-model needs). */
enum ig_status lal_study_write_model(const struct lal_study *s, const struct lal_unit *u, const struct ig_model *m,
                                     const struct ig_al_params *p, const struct ig_al_result *res);
/* Removes the atomic writer's leftover temporaries in DIR, DIR/ckpt and DIR/scores (rank 0, before any run; the
 * other ranks wait); -1, else the exit status. */
int lal_study_clean(const struct lal_study *s);
/* DIR/scores/<file>.npy of n float64 (int64 when ints) through ig_npy. */
enum ig_status lal_study_write_npy(const char *dir, const char *file, const void *data, int64_t n, bool ints);

/* The progress callback's context: the display and the score files of the current unit. */
struct lal_run_ctx {
    const struct lal_study *s;
    struct lal_progress prog;
    const struct lal_unit *u;
    double *sum;                   /* [k] r_x summed over the training epochs of one AL epoch */
    bool final_trained;            /* the model in memory is the unit's final one (its last event) */
    enum ig_status dump;           /* first failure writing a score file */
    char dump_msg[512];
};
/* Runs c->u (position pos) on the split li / ui into r; -1 on success, else the exit status. */
int lal_study_run_unit(const struct lal_study *s, struct lal_run_ctx *c, int pos, const int64_t *li, int64_t n_li,
                       const int64_t *ui, int64_t n_ui, struct lal_run_out *r);
/* (Re)writes the run files of the finished units of unit i's fraction, k and seed; -1 on failure. */
int lal_study_write_cell(const struct lal_study *s, const struct lal_unit *units, struct lal_run_out *out, int n, int i);
/* Runs units[0..n) in order in this process (one split per (fraction, seed)); the exit status. */
int lal_study_run_units(const struct lal_study *s, struct lal_run_ctx *c, const struct lal_unit *units, int n,
                        struct lal_run_out *out);
/* Several ranks (not data-parallel): the units shared out over the ranks, then rank 0 collects
 * every finished unit (lal_study_run_units with resume) and the caller reports; the exit status
 * (-1 on the ranks other than 0 when all went well: they have nothing to report). */
int lal_study_ranks(const struct lal_study *s, struct lal_run_ctx *c, const struct lal_unit *units, int n,
                    struct lal_run_out *out);

/* |UI| of fraction frac of n training images (at least 1, at most n - 1). */
int64_t lal_study_pool_size(int64_t n, double frac);
/* Checks the label budget k (al_epochs + 1) <= |UI| of every (fraction, k) of the grid;
 * returns -1, else the usage-error status 2 after a message. */
int lal_study_check(const struct lal_study *s);
/* Runs the units, writes the files above; returns the exit status (0 done, 1 failure,
 * 2 damaged or foreign checkpoint, 130 interrupted by SIGINT at a checkpoint). */
int lal_study_run(const struct lal_study *s);
#endif
