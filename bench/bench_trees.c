/* bench_trees: GBR (LAD, 200 trees) and RF classifier (depth 5) fit/predict on 500 x 3072 u8 rows, vs scikit-learn / XGBoost; the 200-row GBR fit per instruction set. */
#include "ig_bench_util.h"
#include "ig_config.h"
#include "ig_regress.h"
#include "ig_test_regress_data.h"
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Data: the "cifar-like" set of tests/test_regress.c and tests/fixtures/gen_regress_fixtures.py:
 * rows of 3072 splitmix64 pixel bytes, target y = 2 u[100] + sin(6 u[1000]) + [u[2000] > 0.5]
 * + u[3000] u[1500] + 0.3 (2v - 1)^3 (u = pixel / 255, v uniform), classes by y < 1.3 / 2.2.
 * k = 500 training rows (the newly labeled images), 45000 pool rows to score.
 * Each case prints the median of IG_BENCH_RUNS (default 5) runs; stderr also gets the median
 * process CPU time (all threads), which a busy machine disturbs less than wall time. When python3 can import
 * scikit-learn / XGBoost, bench/peers/trees_peer.py times the same rows (written to a temp
 * file) in this run, and "ratio" lines give peer seconds / our seconds.
 */
#define D 3072
#define N_TRAIN 500
#define N_POOL 45000

/* GBR split kernels: IGRADV_CPU (auto | generic | avx2 | avx512) as for the CNN benches, else the best */
static enum ig_regress_isa g_isa = IG_REGRESS_ISA_AUTO;

static void line(const char *impl, const char *cs, const char *metric, double v, const char *unit,
                 int runs)
{
    ig_bench_emit(&(struct ig_bench_line){.bench = "trees", .cas = cs, .impl = impl, .metric = metric, .value = v,
                                          .unit = unit, .device = "cpu", .threads = ig_bench_omp_threads(),
                                          .runs = runs});
}

#define N_CASES 4
static const char *cases[N_CASES] = {"gbr_lad200.fit.500x3072", "gbr_lad200.predict.45000",
                                     "rf_d5_c3.fit.500x3072", "rf_d5_c3.predict_proba.45000"};

/* a peer result line goes to stdout, followed by its ratio line against ours[case]; any other line goes to stderr */
static void on_peer_line(const char *buf, json_t *o, void *ctx)
{
    const double *ours = ctx;
    const char *impl = o ? json_string_value(json_object_get(o, "impl")) : NULL;
    const char *cs = o ? json_string_value(json_object_get(o, "case")) : NULL;
    json_t *v = o ? json_object_get(o, "value") : NULL;
    if (!impl || !cs || !json_is_number(v)) {
        fprintf(stderr, "bench_trees: peer said: %s", buf);
        return;
    }
    fputs(buf, stdout);
    for (int c = 0; c < N_CASES; c++)
        if (!strcmp(cs, cases[c]) && ours[c] > 0) {
            char rc[256];
            snprintf(rc, sizeof rc, "%s.speedup_vs_%s", cases[c], impl);
            json_t *pr = json_object_get(o, "runs");
            line("igradv", rc, "ratio", json_number_value(v) / ours[c], "x",
                 json_is_integer(pr) ? (int)json_integer_value(pr) : 1);
        }
}

static int write_all(FILE *f, const void *p, size_t sz)
{
    return fwrite(p, 1, sz, f) == sz ? 0 : -1;
}

/* GBR LAD 200 fit and pool prediction: medians into ours[0..1] (wall) and cpu[0..1]; 0 or 1 on failure. */
static int bench_gbr(const uint8_t *xt, const float *yt, const uint8_t *xp, const float *yp, float *out, int runs,
                     double *ours, double *cpu)
{
    double t[64], c[64];
    struct ig_gbr_params gp = ig_gbr_params_default();
    gp.n_estimators = 200;
    gp.isa = g_isa;
    struct ig_gbr *gbr = NULL;
    for (int r = 0; r < runs; r++) {
        ig_gbr_free(gbr);
        gbr = NULL;
        double t0 = ig_now_seconds(), c0 = ig_bench_cpu_now();
        if (ig_gbr_fit_u8(&gbr, xt, N_TRAIN, D, yt, &gp)) {
            fprintf(stderr, "bench_trees: gbr fit: %s\n", ig_regress_last_error());
            return 1;
        }
        t[r] = ig_now_seconds() - t0;
        c[r] = ig_bench_cpu_now() - c0;
    }
    ours[0] = ig_bench_median(t, runs);
    cpu[0] = ig_bench_median(c, runs);
    for (int r = 0; r < runs; r++) {
        double t0 = ig_now_seconds(), c0 = ig_bench_cpu_now();
        ig_gbr_predict_u8(gbr, xp, N_POOL, D, out);
        t[r] = ig_now_seconds() - t0;
        c[r] = ig_bench_cpu_now() - c0;
    }
    ours[1] = ig_bench_median(t, runs);
    cpu[1] = ig_bench_median(c, runs);
    double mae = 0.0;
    for (int i = 0; i < N_POOL; i++) mae += fabs((double)out[i] - yp[i]);
    fprintf(stderr, "bench_trees: igradv gbr pool MAE %.4f\n", mae / N_POOL);
    ig_gbr_free(gbr);
    return 0;
}

/* The fit at the active-learning loop's size (k = 200 rows: the quick preset, and five 160-row
 * cross-validation fits per epoch) with the instruction set in use and with the generic kernels,
 * alternating: their medians and ratio (the same trees; only the split kernels differ). */
static int bench_gbr_small(const uint8_t *xt, const float *yt, int runs)
{
    enum { N_SMALL = 200 };
    double t[2][64];
    struct ig_gbr_params gp = ig_gbr_params_default();
    gp.n_estimators = 200;
    for (int r = 0; r < runs; r++)
        for (int v = 0; v < 2; v++) {
            gp.isa = v ? IG_REGRESS_ISA_GENERIC : g_isa;
            struct ig_gbr *gbr = NULL;
            double t0 = ig_now_seconds();
            if (ig_gbr_fit_u8(&gbr, xt, N_SMALL, D, yt, &gp)) {
                fprintf(stderr, "bench_trees: gbr fit (200 rows): %s\n", ig_regress_last_error());
                return 1;
            }
            t[v][r] = ig_now_seconds() - t0;
            ig_gbr_free(gbr);
        }
    double ours = ig_bench_median(t[0], runs), generic = ig_bench_median(t[1], runs);
    line("igradv", "gbr_lad200.fit.200x3072", "seconds", ours, "s", runs);
    line("igradv", "gbr_lad200.fit.200x3072.generic_isa", "seconds", generic, "s", runs);
    line("igradv", "gbr_lad200.fit.200x3072.speedup_vs_generic_isa", "ratio", generic / ours, "x", runs);
    return 0;
}

/* RF depth-5 classifier fit and pool predict_proba: medians into ours[2..3] and cpu[2..3]; 0 or 1 on failure. */
static int bench_rf(const uint8_t *xt, const int32_t *lt, const uint8_t *xp, const int32_t *lp, float *out, int runs,
                    double *ours, double *cpu)
{
    double t[64], c[64];
    struct ig_rf_params rp = ig_rf_params_default();
    rp.max_depth = 5;
    struct ig_rf *rf = NULL;
    for (int r = 0; r < runs; r++) {
        ig_rf_free(rf);
        rf = NULL;
        double t0 = ig_now_seconds(), c0 = ig_bench_cpu_now();
        if (ig_rf_classifier_fit_u8(&rf, xt, N_TRAIN, D, lt, 3, &rp)) {
            fprintf(stderr, "bench_trees: rf fit: %s\n", ig_regress_last_error());
            return 1;
        }
        t[r] = ig_now_seconds() - t0;
        c[r] = ig_bench_cpu_now() - c0;
    }
    ours[2] = ig_bench_median(t, runs);
    cpu[2] = ig_bench_median(c, runs);
    for (int r = 0; r < runs; r++) {
        double t0 = ig_now_seconds(), c0 = ig_bench_cpu_now();
        ig_rf_predict_proba_u8(rf, xp, N_POOL, D, out);
        t[r] = ig_now_seconds() - t0;
        c[r] = ig_bench_cpu_now() - c0;
    }
    ours[3] = ig_bench_median(t, runs);
    cpu[3] = ig_bench_median(c, runs);
    int acc = 0;
    for (int i = 0; i < N_POOL; i++) {
        int b = 0;
        for (int k = 1; k < 3; k++)
            if (out[i * 3 + k] > out[i * 3 + b]) b = k;
        acc += b == lp[i];
    }
    fprintf(stderr, "bench_trees: igradv rf pool accuracy %.4f\n", (double)acc / N_POOL);
    ig_rf_free(rf);
    return 0;
}

/* The Python peers on the same rows (through a temp file); their lines and ratios to ours. */
static void run_peers(const uint8_t *xt, const float *yt, const int32_t *lt, const uint8_t *xp, const float *yp,
                      const int32_t *lp, double *ours)
{
    char path[] = "/tmp/ig_bench_trees_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f || write_all(f, xt, (size_t)N_TRAIN * D) || write_all(f, yt, N_TRAIN * sizeof(float)) ||
        write_all(f, lt, N_TRAIN * sizeof(int32_t)) || write_all(f, xp, (size_t)N_POOL * D) ||
        write_all(f, yp, N_POOL * sizeof(float)) || write_all(f, lp, N_POOL * sizeof(int32_t))) {
        fprintf(stderr, "bench_trees: cannot write %s; peers skipped\n", path);
        if (f) fclose(f);
        unlink(path);
        return;
    }
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 %s/trees_peer.py %s %d %d %d", ig_bench_peer_dir(IG_BENCH_PEER_DIR), path,
             N_TRAIN, N_POOL, D);
    int status;
    if (ig_bench_peer_run(cmd, on_peer_line, ours, &status) != 0)
        fprintf(stderr, "bench_trees: cannot run the python peer; skipped\n");
    unlink(path);
}

int main(int argc, char **argv)
{
    (void)ig_bench_peer_dir(IG_BENCH_PEER_DIR);   /* a bad IGRADV_BENCH_PEERS stops here, before any work */
    int runs = 5, peers = !getenv("IG_BENCH_NO_PEERS");
    const char *re = getenv("IG_BENCH_RUNS");
    if (re && atoi(re) > 0) runs = atoi(re);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) runs = 3;
        else if (!strcmp(argv[i], "--no-peers")) peers = 0;
        else {
            fprintf(stderr, "usage: bench_trees [--quick] [--no-peers]\n"
                            "  env IG_BENCH_RUNS (runs per case), IG_BENCH_NO_PEERS, IGRADV_CPU (GBR kernels),\n"
                            "  IG_BENCH_PEER_RUNS / IG_BENCH_PEER_SLOW_RUNS (python peers)\n");
            return 2;
        }
    }
    const char *isa_env = getenv("IGRADV_CPU");
    enum ig_regress_isa used;
    if (isa_env && !ig_regress_isa_parse(isa_env, &g_isa)) {
        fprintf(stderr, "bench_trees: IGRADV_CPU=%s not understood: expected auto, generic, avx2 or avx512\n", isa_env);
        return 2;
    }
    if (ig_regress_isa_resolve(g_isa, &used)) {
        fprintf(stderr, "bench_trees: IGRADV_CPU=%s: %s\n", isa_env, ig_regress_last_error());
        return 2;
    }
    ig_bench_set_isa(ig_regress_isa_name(used));   /* the GBR split kernels; the forests are built for the baseline */
    uint8_t *xt = malloc((size_t)N_TRAIN * D), *xp = malloc((size_t)N_POOL * D);
    float *yt = malloc(N_TRAIN * sizeof(float)), *yp = malloc(N_POOL * sizeof(float));
    int32_t *lt = malloc(N_TRAIN * sizeof(int32_t)), *lp = malloc(N_POOL * sizeof(int32_t));
    float *out = malloc((size_t)N_POOL * 3 * sizeof(float));
    if (!xt || !xp || !yt || !yp || !lt || !lp || !out) {
        fprintf(stderr, "bench_trees: out of memory\n");
        return 1;
    }
    ig_test_gen_cifar_like(xt, yt, lt, N_TRAIN, 1);
    ig_test_gen_cifar_like(xp, yp, lp, N_POOL, 2);

    double ours[N_CASES], cpu[N_CASES];
    if (runs > 64) runs = 64;
    if (bench_gbr(xt, yt, xp, yp, out, runs, ours, cpu) || bench_rf(xt, lt, xp, lp, out, runs, ours, cpu) ||
        bench_gbr_small(xt, yt, runs))
        return 1;
    for (int k = 0; k < N_CASES; k++) {
        line("igradv", cases[k], "seconds", ours[k], "s", runs);
        fprintf(stderr, "bench_trees: igradv %s: median wall %.4f s, cpu %.4f s\n", cases[k], ours[k],
                cpu[k]);
    }

    if (peers) run_peers(xt, yt, lt, xp, yp, lp, ours);
    return 0;
}
