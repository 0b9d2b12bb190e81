/* ig_cli: command-line helpers of the apps/ programs: strict number parsing, usage errors (exit status 2), --device/--threads backend. */
#ifndef IG_CLI_H
#define IG_CLI_H

/*
 * Usage:
 *   int64_t epochs;
 *   if (!ig_cli_parse_i64(v, 0, 100000, &epochs)) return ig_cli_expected("train_cifar", "--epochs", "an integer >= 0", v);
 *   -> stderr "train_cifar: --epochs: expected an integer >= 0, got 'x'\n(see train_cifar --help)\n", exit status 2
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ig_tensor.h"

#define IG_CLI_EXIT_USAGE 2   /* bad flag, file or data */

/* Whole string s as a decimal integer / finite number in [lo, hi] into *out; false (out untouched) otherwise. */
bool ig_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
bool ig_cli_parse_f(const char *s, double lo, double hi, double *out);

/* Whether a is one of names[0..n). */
bool ig_cli_is_one_of(const char *a, const char *const *names, size_t n);

/* "PROG: MESSAGE\n(see PROG --help)\n" on stderr; returns IG_CLI_EXIT_USAGE. */
int ig_cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error "PROG: OPT: expected WHAT, got 'GOT'"; returns IG_CLI_EXIT_USAGE. */
int ig_cli_expected(const char *prog, const char *opt, const char *what, const char *got);

/* The backend of --device D and --threads T (0: not given): D "cpu" -> the CPU backend with T threads (0: OpenMP
 * default); another D -> ig_backend_init(D); no D -> the CPU backend when T > 0, else ig_backend_init_best(). */
enum ig_status ig_cli_backend_init(const char *device, int64_t threads, struct ig_backend **be);

/* Tests only: IGRADV_TEST_KILL_AT=<point>[:count] (read once, here) makes the count-th (default 1st)
 * atomic-writer point of that name ("commit", "rename", "renamed"; see ig_atomic_set_hook) raise
 * SIGKILL. Returns false (message on stderr) when the variable is malformed. */
bool ig_cli_test_kill_install(const char *prog);

#endif
