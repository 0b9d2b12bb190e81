/* bench_mpi: the per-step cost of data parallelism for the paper CNN: the allreduce of its gradient + batch-norm buffer (one flat f32 buffer) and a data-parallel training step at batch 32, its reduction blocking or overlapped with the backward pass, in alternating pairs (run under mpirun -np N; bench/bench_mpi.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_bench_util.h"
#include "ig_dist.h"
#include "ig_nn.h"

#define PROG "bench_mpi"
#define REPS 15
#define STEPS 7

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

/* The paper CNN with Adam and this rank's block of a fixed minibatch of B images. */
struct cnn { struct ig_model *m; struct ig_optim *o; struct ig_graph *g; struct ig_tensor *x, *y; };

static void cnn_new(struct cnn *c, struct ig_backend *be, int64_t B)
{
    if (ig_model_paper_cnn(&c->m, be, 3, 32, 32, 10, 1) != IG_OK ||
        ig_optim_adam_new(&c->o, c->m, ig_adam_params_default()) != IG_OK || ig_graph_new(be, &c->g) != IG_OK ||
        ig_dist_dp_attach(dist, c->o, c->m) != IG_OK)
        ig_bench_die(PROG, "paper CNN", ig_last_error());
    int64_t lo, hi;
    ig_dist_dp_batch(dist, B, &lo, &hi);
    int64_t nb = hi - lo, shape[4] = {nb, 3, 32, 32};
    float *xh = malloc((size_t)(nb * 3 * 32 * 32) * sizeof *xh);
    int32_t *yh = malloc((size_t)nb * sizeof *yh);
    if (!xh || !yh) ig_bench_die(PROG, "batch", "out of memory");
    for (int64_t i = 0; i < nb * 3 * 32 * 32; i++) xh[i] = (float)((i * 7919) % 255) / 255.0f - 0.5f;
    for (int64_t i = 0; i < nb; i++) yh[i] = (int32_t)(i % 10);
    c->x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, shape, xh);
    c->y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, shape, yh);
    free(xh);
    free(yh);
    if (!c->x || !c->y) ig_bench_die(PROG, "batch", ig_last_error());
}

static void cnn_free(struct cnn *c)
{
    ig_tensor_free(c->x);
    ig_tensor_free(c->y);
    ig_graph_free(c->g);
    ig_optim_free(c->o);
    ig_model_free(c->m);
}

/* Seconds of one data-parallel step of c at minibatch B, its reduction overlapped with the
 * backward pass or not; *transport_s: the seconds of it inside the reduction's MPI calls. */
static double cnn_step(struct cnn *c, int64_t B, bool overlap, double *transport_s)
{
    int64_t lo, hi;
    ig_dist_dp_set_overlap(dist, overlap);
    ig_dist_barrier(dist);
    double r0 = ig_dist_dp_stats(dist).seconds, t0 = ig_now_seconds();
    ig_dist_dp_batch(dist, B, &lo, &hi);
    if (ig_model_train_step(c->m, c->o, c->g, c->x, c->y, NULL, NULL) != IG_OK) ig_bench_die(PROG, "train step", ig_last_error());
    double t = ig_now_seconds() - t0;
    *transport_s = ig_dist_dp_stats(dist).seconds - r0;
    return t;
}

/* Medians over STEPS pairs of steps (blocking and overlapped, alternating which goes first):
 * step[mode] and transport[mode] seconds (mode 0 blocking, 1 overlapped), and the median of
 * the pairs' ratios overlapped / blocking. */
static double time_steps(struct ig_backend *be, int64_t B, double step[2], double transport[2], int64_t *floats)
{
    struct cnn c = {0};
    cnn_new(&c, be, B);
    double t[2][STEPS], tr[2][STEPS], ratio[STEPS], ignored;
    cnn_step(&c, B, false, &ignored);   /* warm-up: storage, Adam state */
    cnn_step(&c, B, true, &ignored);
    for (int r = 0; r < STEPS; r++) {
        for (int k = 0; k < 2; k++) {
            int mode = (r + k) % 2;
            t[mode][r] = cnn_step(&c, B, mode, &tr[mode][r]);
        }
        ratio[r] = t[1][r] / t[0][r];
    }
    for (int mode = 0; mode < 2; mode++) {
        step[mode] = ig_bench_median(t[mode], STEPS);
        transport[mode] = ig_bench_median(tr[mode], STEPS);
    }
    *floats = ig_model_num_params(c.m);
    cnn_free(&c);
    ig_dist_dp_set_overlap(dist, true);
    return ig_bench_median(ratio, STEPS);
}

int main(int argc, char **argv)
{
    if (ig_dist_init(&dist, &argc, &argv) != IG_OK) ig_bench_die(PROG, "MPI", ig_last_error());
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    struct ig_backend *be = NULL;
    if (ig_backend_init_cpu(&be, threads) != IG_OK) ig_bench_die(PROG, "CPU backend", ig_last_error());
    double step[2], transport[2];
    int64_t params;
    double ratio = time_steps(be, 32, step, transport, &params);
    /* the hook's buffer: every gradient plus the batch-norm running statistics */
    int64_t floats = ig_dist_dp_stats(dist).floats ? ig_dist_dp_stats(dist).floats : params;
    emit("paper_cnn.params", "count", (double)params, "floats", threads, 1);
    emit("allreduce.paper_cnn", "seconds", time_allreduce(floats), "s", threads, REPS);
    emit("dp_step.paper_cnn.b32", "seconds", step[0], "s", threads, STEPS);
    emit("dp_step.paper_cnn.b32.allreduce", "seconds", transport[0], "s", threads, STEPS);
    emit("dp_step.paper_cnn.b32.allreduce_share", "ratio", step[0] > 0 ? transport[0] / step[0] : 0, "1", threads, STEPS);
    emit("dp_step.paper_cnn.b32.overlap", "seconds", step[1], "s", threads, STEPS);
    emit("dp_step.paper_cnn.b32.overlap.transport", "seconds", transport[1], "s", threads, STEPS);
    emit("dp_step.paper_cnn.b32.overlap_over_blocking", "ratio", ratio, "1", threads, STEPS);
    ig_backend_free(be);
    ig_dist_finalize(dist);
    return 0;
}
