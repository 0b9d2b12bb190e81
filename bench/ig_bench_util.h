/* ig_bench_util: timing, medians, DESIGN.md JSON result lines and Python-peer launching shared by the bench/ programs (no tensor/ dependency). */
#ifndef IG_BENCH_UTIL_H
#define IG_BENCH_UTIL_H

/*
 * Usage:
 *   double t[5];
 *   for (int r = 0; r < 5; r++) { double t0 = ig_now_seconds(); work(); t[r] = ig_now_seconds() - t0; }
 *   ig_bench_emit(&(struct ig_bench_line){.bench = "conv2d", .cas = "paper_cnn.conv1.b64.fwd", .metric = "seconds",
 *                                         .value = ig_bench_median(t, 5), .unit = "s", .device = "cpu",
 *                                         .threads = 2, .runs = 5});
 *   if (ig_bench_python_has("torch")) ig_bench_peer_run("python3 peer.py", on_line, &ctx, &status);
 */

#include <jansson.h>
#include <stdbool.h>
#include "ig_util.h"                          /* ig_now_seconds: the monotonic wall clock */

double ig_bench_cpu_now(void);              /* CPU time of the whole process (all threads), seconds */
double ig_bench_median(double *v, int n);   /* median of v[0..n), n >= 1; sorts v in place */
int ig_bench_omp_threads(void);             /* omp_get_max_threads(), 1 without OpenMP */

/* Prints "PROG: WHAT: ERR" on stderr and exits 1 (benchmarks only; the library never exits). */
_Noreturn void ig_bench_die(const char *prog, const char *what, const char *err);

/* How the "value" of a result line is written. */
enum ig_bench_value_fmt {
    IG_BENCH_VALUE_G6,      /* printf %.6g */
    IG_BENCH_VALUE_G4,      /* printf %.4g */
    IG_BENCH_VALUE_MILLI,   /* rounded to 3 decimals, written as jansson writes a real at precision 6 ("5.0", "1.5e6") */
};

/* The instruction set the measured kernels run ("avx512", "avx2", "generic": ig_backend_isa_name of the CPU
 * backend in use; "opencl" for a device). Until set, lines say "baseline" (code built for the x86-64
 * baseline, not dispatched), or "native" in -Dnative=true builds. Copied (at most 31 characters). */
void ig_bench_set_isa(const char *isa);
/* The CPU model ("model name" of /proc/cpuinfo, else the machine name of uname), read once. */
const char *ig_bench_cpu_model(void);

/* One DESIGN.md result line; impl NULL leaves the "impl" key out. */
struct ig_bench_line {
    const char *bench, *cas, *impl, *metric;
    double value;
    const char *unit, *device;
    int threads, runs;
    enum ig_bench_value_fmt fmt;
};

/* {"bench":..,"case":..[,"impl":..],"metric":..,"value":..,"unit":..,"device":..,"threads":..,"runs":..,"isa":..,
 * "cpu":..} and a newline on stdout, flushed (strings are written as given: names without quotes or backslashes;
 * the CPU model is escaped). */
void ig_bench_emit(const struct ig_bench_line *l);

/* The folder of the Python peers: $IGRADV_BENCH_PEERS when set (a build carried to another machine, whose source
 * tree lies elsewhere; not a folder: exits 1 naming it), else built_in (the source tree's bench/peers, fixed at
 * configure time). Each bench checks it first thing, before any work. */
const char *ig_bench_peer_dir(const char *built_in);

/* Whether `python3 -c 'import MODULE'` succeeds (output discarded). */
bool ig_bench_python_has(const char *module);

/* Runs the shell command cmd and calls fn(line, obj, ctx) for every stdout line (with its newline); obj is the line
 * parsed as JSON, NULL when it is not JSON, and is freed after fn returns. A JSON object line without "isa"/"cpu"
 * keys gets them added to its text ("isa" of the peer: its own, else "peer"; "cpu": this machine's). Returns -1 when cmd cannot be started,
 * else 0 with *status = pclose()'s result (0: the command exited 0). */
typedef void (*ig_bench_peer_fn)(const char *line, json_t *obj, void *ctx);
int ig_bench_peer_run(const char *cmd, ig_bench_peer_fn fn, void *ctx, int *status);

#endif
