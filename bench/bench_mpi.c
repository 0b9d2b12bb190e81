/* bench_mpi: the per-step cost of data parallelism for the paper CNN: the allreduce of its gradient + batch-norm buffer (one flat f32 buffer) and a data-parallel training step at batch 32 (run under mpirun -np N; bench/bench_mpi.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_bench_util.h"
#include "ig_dist.h"
#include "ig_nn.h"

#define PROG "bench_mpi"
#define REPS 15
#define STEPS 5

static struct ig_dist *dist;

static void emit(const char *cas, const char *metric, double v, const char *unit, int threads, int runs)
{
    if (ig_dist_rank(dist) != 0) return;
    char c[160];
    snprintf(c, sizeof c, "%s.ranks%d", cas, ig_dist_size(dist));
    ig_bench_emit(&(struct ig_bench_line){.bench = "mpi", .cas = c, .metric = metric, .value = v, .unit = unit,
                                          .device = "cpu", .threads = threads, .runs = runs});
}

/* Median seconds of one in-place sum of n floats over the ranks. */
static double time_allreduce(int64_t n)
{
    float *buf = calloc((size_t)n, sizeof *buf);
    if (!buf) ig_bench_die(PROG, "allreduce buffer", "out of memory");
    double t[REPS];
    for (int r = -3; r < REPS; r++) {
        ig_dist_barrier(dist);
        double t0 = ig_now_seconds();
        if (ig_dist_sum_f32(dist, buf, n) != IG_OK) ig_bench_die(PROG, "allreduce", ig_last_error());
        if (r >= 0) t[r] = ig_now_seconds() - t0;
    }
    free(buf);
    return ig_bench_median(t, REPS);
}

/* Median seconds of a data-parallel Adam step at minibatch B (each rank its block of B),
 * and the allreduce seconds per step inside it. */
static double time_step(struct ig_backend *be, int64_t B, double *reduce_s, int64_t *floats)
{
    struct ig_model *m = NULL;
    struct ig_optim *o = NULL;
    struct ig_graph *g = NULL;
    if (ig_model_paper_cnn(&m, be, 3, 32, 32, 10, 1) != IG_OK || ig_optim_adam_new(&o, m, ig_adam_params_default()) != IG_OK ||
        ig_graph_new(be, &g) != IG_OK || ig_dist_dp_attach(dist, o, m) != IG_OK)
        ig_bench_die(PROG, "paper CNN", ig_last_error());
    int64_t lo, hi;
    ig_dist_dp_batch(dist, B, &lo, &hi);
    int64_t nb = hi - lo, shape[4] = {nb, 3, 32, 32};
    float *xh = malloc((size_t)(nb * 3 * 32 * 32) * sizeof *xh);
    int32_t *yh = malloc((size_t)nb * sizeof *yh);
    for (int64_t i = 0; i < nb * 3 * 32 * 32; i++) xh[i] = (float)((i * 7919) % 255) / 255.0f - 0.5f;
    for (int64_t i = 0; i < nb; i++) yh[i] = (int32_t)(i % 10);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, shape, xh);
    struct ig_tensor *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, shape, yh);
    if (!x || !y) ig_bench_die(PROG, "batch", ig_last_error());
    double t[STEPS];
    struct ig_dist_dp_stats before = {0};
    for (int r = -1; r < STEPS; r++) {
        if (r == 0) before = ig_dist_dp_stats(dist);
        ig_dist_barrier(dist);
        double t0 = ig_now_seconds();
        ig_dist_dp_batch(dist, B, &lo, &hi);
        if (ig_model_train_step(m, o, g, x, y, NULL, NULL) != IG_OK) ig_bench_die(PROG, "train step", ig_last_error());
        if (r >= 0) t[r] = ig_now_seconds() - t0;
    }
    struct ig_dist_dp_stats after = ig_dist_dp_stats(dist);
    *reduce_s = after.reductions > before.reductions
                    ? (after.seconds - before.seconds) / (double)(after.reductions - before.reductions) : 0.0;
    *floats = ig_model_num_params(m);
    ig_tensor_free(x);
    ig_tensor_free(y);
    free(xh);
    free(yh);
    ig_graph_free(g);
    ig_optim_free(o);
    ig_model_free(m);
    return ig_bench_median(t, STEPS);
}

int main(int argc, char **argv)
{
    if (ig_dist_init(&dist, &argc, &argv) != IG_OK) ig_bench_die(PROG, "MPI", ig_last_error());
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    struct ig_backend *be = NULL;
    if (ig_backend_init_cpu(&be, threads) != IG_OK) ig_bench_die(PROG, "CPU backend", ig_last_error());
    double reduce_s;
    int64_t params;
    double step = time_step(be, 32, &reduce_s, &params);
    /* the hook's buffer: every gradient plus the batch-norm running statistics */
    int64_t floats = ig_dist_dp_stats(dist).floats ? ig_dist_dp_stats(dist).floats : params;
    emit("paper_cnn.params", "count", (double)params, "floats", threads, 1);
    emit("allreduce.paper_cnn", "seconds", time_allreduce(floats), "s", threads, REPS);
    emit("dp_step.paper_cnn.b32", "seconds", step, "s", threads, STEPS);
    emit("dp_step.paper_cnn.b32.allreduce", "seconds", reduce_s, "s", threads, STEPS);
    emit("dp_step.paper_cnn.b32.allreduce_share", "ratio", step > 0 ? reduce_s / step : 0, "1", threads, STEPS);
    ig_backend_free(be);
    ig_dist_finalize(dist);
    return 0;
}
