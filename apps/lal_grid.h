/* lal_grid: the study grid of lal_cifar (unlabeled fractions x seeds x k x methods) as an ordered list of independent, named run units, and its --shard I/N slice. */
#ifndef LAL_GRID_H
#define LAL_GRID_H
/*
 * Order (deterministic, the same in every process): fraction (as given), seed (as given),
 * k (as given), method (table order ds, ld, rds, rld, rnd, lcs, ...). The units of one
 * (fraction, seed) pair are consecutive: they share one line-1 model (ckpt/<init>), so it
 * is trained by the first unit of the pair and loaded by the others.
 *
 * Names (stable: they depend only on the unit, never on the rest of the grid):
 *   unit  "<method>-f<frac>-k<k>-s<seed>"   (frac as %.6g: 0.5 -> "f0.5")
 *         -> DIR/run-<unit>.json, DIR/ckpt/<unit>.state.json, DIR/scores/<unit>/
 *   line 1 "init-f<frac>-s<seed>"           -> DIR/ckpt/init-f<frac>-s<seed>.safetensors
 *
 * Shards: --shard I/N (0 <= I < N) takes the I-th of N contiguous, near-equal blocks of the
 * ordered list (block I = units [floor(I n / N), floor((I + 1) n / N))), so N processes with
 * I = 0..N-1 (a job array, MPI ranks) cover every unit exactly once. A (fraction, seed) pair
 * cut by a block boundary trains its line-1 model in each process holding part of it.
 *
 *   struct lal_grid g = lal_grid_default();
 *   lal_grid_parse_fracs(&g, "lal_cifar", "0.1,0.5,0.9");   // -1: ok, else exit status 2
 *   struct lal_unit *u; int n;
 *   lal_grid_units(&g, &u, &n);
 *   int first, count; lal_grid_shard(n, 1, 4, &first, &count);   // u[first .. first + count)
 */
#include <stdbool.h>
#include <stdint.h>

#include "ig_al.h"

#define LAL_GRID_MAX 64   /* values per list */

struct lal_grid {
    int n_fracs, n_ks, n_seeds;
    double fracs[LAL_GRID_MAX];
    int64_t ks[LAL_GRID_MAX];
    uint64_t seeds[LAL_GRID_MAX];
    bool methods[IG_AL_METHOD_COUNT];
};

struct lal_unit {
    int index;                 /* position in the whole grid, 0-based */
    int group;                 /* index of its (fraction, seed) pair: the line-1 model it shares */
    double frac;
    int64_t k;
    uint64_t seed;
    enum ig_al_method method;
    char name[96];             /* "<method>-f<frac>-k<k>-s<seed>" */
    char init[64];             /* "init-f<frac>-s<seed>" */
};

/* Fraction 0.5, k 500, seed 1, every method. */
struct lal_grid lal_grid_default(void);

/* Comma lists of distinct values into g (replacing the list). Return -1 on success, else
 * the usage-error exit status after a message "PROG: --flag: expected ..., got '...'". */
int lal_grid_parse_fracs(struct lal_grid *g, const char *prog, const char *v);   /* --unlabeled-frac, each in (0,1) */
int lal_grid_parse_ks(struct lal_grid *g, const char *prog, const char *v);      /* --k, each >= 1 */
int lal_grid_parse_seeds(struct lal_grid *g, const char *prog, const char *v);   /* --seeds, each >= 0 */
int lal_grid_parse_methods(struct lal_grid *g, const char *prog, const char *v); /* --methods */
/* "I/N" with 0 <= I < N <= 1000000 into *i, *n; same return convention (flag --shard). */
int lal_grid_parse_shard(const char *prog, const char *v, int *i, int *n);

/* Units in grid order, count = fracs x seeds x ks x methods; *out is malloc'd (free()). */
enum ig_status lal_grid_units(const struct lal_grid *g, struct lal_unit **out, int *n);
/* Block `i` of `n_shards` of n units: units [*first, *first + *count). */
void lal_grid_shard(int n, int i, int n_shards, int *first, int *count);
/* The unit name of (method, frac, k, seed) into buf. */
void lal_grid_unit_name(char *buf, size_t cap, enum ig_al_method m, double frac, int64_t k, uint64_t seed);
#endif
