/* Library-wide helpers any module may use: errors, logging, IG_TRY, a monotonic clock, one atomic file writer, one RNG family. */
#ifndef IG_UTIL_H
#define IG_UTIL_H
/*
 * Overview
 *   Errors are values: a failing call records a message with ig_error() and returns the
 *   status; callers propagate with IG_TRY. Logging goes through the handler installed with
 *   ig_log_set_handler (silent by default). Every file the project writes goes through the
 *   atomic writer: data lands in a temporary ".<name>.igtmp.<pid>.<seq>" beside the target,
 *   is fsync'ed, renamed over the target and the directory is fsync'ed, so a crash leaves
 *   either the old file or the new one, plus at worst a temporary that
 *   ig_atomic_clean_dir() recognises and removes.
 *
 * Example
 *   struct ig_atomic_file af;
 *   IG_TRY(ig_atomic_open(&af, "out/summary.csv"));
 *   fprintf(af.fp, "method,a\n");
 *   IG_TRY(ig_atomic_commit(&af));          // or ig_atomic_abort(&af) on a failure path
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include "ig_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Record a formatted message for ig_last_error() and return s. Usage:
 *   return ig_error(IG_ERR_SHAPE, "conv2d: x has %d dims, expected 4", x->ndim); */
enum ig_status ig_error(enum ig_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append context in front of the current message: "loading foo.safetensors: <old>". */
enum ig_status ig_error_prefix(enum ig_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ig_log(enum ig_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Propagate a failing status. */
#define IG_TRY(expr) do { enum ig_status ig_try_s_ = (expr); if (ig_try_s_ != IG_OK) return ig_try_s_; } while (0)

/* Seconds on the monotonic clock (for durations only). */
double ig_now_seconds(void);

/* ---- atomic files */
#define IG_ATOMIC_TMP_TAG ".igtmp."      /* temporaries are ".<name>" IG_ATOMIC_TMP_TAG "<pid>.<seq>" */
struct ig_atomic_file {
    FILE *fp;           /* write here between open and commit/abort */
    char path[4096];    /* target */
    char tmp[4200];     /* temporary beside it */
};
/* Create the temporary for path (mode 0644). IG_ERR_IO naming the folder on failure. */
enum ig_status ig_atomic_open(struct ig_atomic_file *af, const char *path);
/* Flush, fsync, close, rename over the target, fsync the folder. On any failure the
 * temporary is removed, the target is untouched and IG_ERR_IO names the path. */
enum ig_status ig_atomic_commit(struct ig_atomic_file *af);
/* Close and remove the temporary (safe to call after a failed commit or twice). */
void ig_atomic_abort(struct ig_atomic_file *af);
/* The whole file in one call. */
enum ig_status ig_file_write_atomic(const char *path, const void *data, size_t bytes);
/* Test hook (NULL: none): called at the points "commit" (data may still sit in the stdio buffer),
 * "rename" (temporary complete and synced) and "renamed" (target replaced, folder not yet synced)
 * of every commit, with the target path. Set once by a program before it writes. */
typedef void (*ig_atomic_hook_fn)(const char *point, const char *path);
void ig_atomic_set_hook(ig_atomic_hook_fn fn);
/* True when name (a file name, no folder) is one of the writer's temporaries. */
bool ig_atomic_is_tmp_name(const char *name);
/* Remove the writer's temporaries in dir (not recursive; nothing else is touched);
 * *n_removed (may be NULL) receives the count. A missing dir is not an error. */
enum ig_status ig_atomic_clean_dir(const char *dir, int *n_removed);

/* ---- random numbers: one family built on splitmix64 (regress/ keeps its own copy: no tensor/ there).
 *   ig_hash64            the splitmix64 output function: a stateless 64-bit hash (dropout masks, seed mixing);
 *   ig_splitmix64_*      the splitmix64 stream on a bare uint64_t state (data shuffles, test data);
 *   struct ig_rng        xoshiro256** seeded with four splitmix64 outputs (weights, dropout seeds, AL draws).
 * Every stream is fixed: tests pin the first values, results depend on them. */
#define IG_SPLITMIX64_GAMMA 0x9E3779B97F4A7C15ull
static inline uint64_t ig_hash64(uint64_t z)
{
    z += IG_SPLITMIX64_GAMMA;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* u(seed, i) = (ig_hash64(seed ^ ig_hash64(i)) >> 40) * 2^-24 in [0, 1): the dropout draw (twin in kernels/common.cl). */
static inline float ig_hash_uniform(uint64_t seed, uint64_t i)
{
    return (float)(ig_hash64(seed ^ ig_hash64(i)) >> 40) * (1.0f / 16777216.0f);
}
/* [0, 1) double from the top 53 bits of x. */
static inline double ig_rng_unit(uint64_t x) { return (double)(x >> 11) * (1.0 / 9007199254740992.0); }
/* Next output of the splitmix64 stream *state (the state advances by the gamma). */
static inline uint64_t ig_splitmix64_next(uint64_t *state)
{
    uint64_t z = ig_hash64(*state);
    *state += IG_SPLITMIX64_GAMMA;
    return z;
}
/* Unbiased integer in [0, bound) from the stream (rejects the lowest 2^64 mod bound outputs); 0 when bound <= 1. */
uint64_t ig_splitmix64_below(uint64_t *state, uint64_t bound);
/* perm = a uniformly random permutation of 0..n-1 (Fisher-Yates from the top) drawn from the stream. */
void ig_splitmix64_permutation(uint64_t *state, int64_t *perm, int64_t n);

struct ig_rng { uint64_t s[4]; };
void ig_rng_seed(struct ig_rng *r, uint64_t seed);
uint64_t ig_rng_next(struct ig_rng *r);
/* ig_rng_unit(ig_rng_next(r)): uniform in [0, 1). */
double ig_rng_uniform(struct ig_rng *r);
/* Unbiased integer in [0, bound) (rejects the top UINT64_MAX % bound + 1 outputs); 0 when bound <= 1. */
uint64_t ig_rng_below(struct ig_rng *r, uint64_t bound);
/* perm = a uniformly random permutation of 0..n-1 (Fisher-Yates from the top) drawn from r. */
void ig_rng_permutation(struct ig_rng *r, int64_t *perm, int64_t n);
/* Fill an f32 tensor with lo + (hi - lo) * ig_rng_uniform(r), element by element in flat order. */
enum ig_status ig_rng_fill_uniform(struct ig_rng *r, struct ig_tensor *t, float lo, float hi);

#ifdef __cplusplus
}
#endif
#endif /* IG_UTIL_H */
