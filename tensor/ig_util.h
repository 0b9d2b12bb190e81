/* Library-wide helpers any module may use: errors, logging, IG_TRY, a monotonic clock, one atomic file writer. */
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
#endif /* IG_UTIL_H */
