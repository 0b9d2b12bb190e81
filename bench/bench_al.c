/* bench_al: per-sample gradient engine (one batched backward + layer hook) vs one backward per instance, and vs a training step; JSON lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_al.h"
#include "ig_bench_util.h"
#include "ig_nn.h"

static const char *device_name(struct ig_backend *be) { return ig_backend_kind(be) == IG_BACKEND_CPU ? "cpu" : "opencl"; }

static void line(const char *cs, const char *metric, double v, const char *unit, struct ig_backend *be, int runs)
{
    ig_bench_emit(&(struct ig_bench_line){.bench = "al_grad", .cas = cs, .metric = metric, .value = v, .unit = unit,
                                          .device = device_name(be), .threads = 2, .runs = runs});
}

#define CHECK(x) do { if ((x) != IG_OK) ig_bench_die("bench_al", #x, ig_last_error()); } while (0)

static void bench_model(struct ig_backend *be, const char *name, bool paper, int64_t N, int runs)
{
    struct ig_model *m;
    if (paper) CHECK(ig_model_paper_cnn(&m, be, 3, 32, 32, 10, 1));
    else CHECK(ig_model_small_cnn(&m, be, 3, 32, 32, 10, 1));
    int64_t xs[4] = {N, 3, 32, 32}, ys[1] = {N};
    size_t nx = (size_t)(N * 3 * 32 * 32);
    float *hx = malloc(nx * sizeof *hx);
    int32_t *hy = malloc((size_t)N * sizeof *hy);
    struct ig_rng r;
    ig_rng_seed(&r, 3);
    for (size_t i = 0; i < nx; i++) hx[i] = (float)(2 * ig_rng_uniform(&r) - 1);
    for (int64_t i = 0; i < N; i++) hy[i] = (int32_t)(i % 10);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx);
    struct ig_tensor *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy);
    struct ig_al_engine *e;
    CHECK(ig_al_engine_new(&e, m));
    int64_t P = ig_al_engine_num_params(e);
    float *D = malloc((size_t)P * sizeof *D), *g = malloc((size_t)P * sizeof *g);
    for (int64_t i = 0; i < P; i++) D[i] = (float)(ig_rng_uniform(&r) - 0.5);
    double *dot = malloc((size_t)N * sizeof *dot), *tdot = malloc((size_t)N * sizeof *tdot), *sq = malloc((size_t)N * sizeof *sq);
    double t_eng[16], t_naive[16], t_train[16];
    char cs[128];

    /* engine: the batch at once */
    ig_model_set_train(m, false);
    CHECK(ig_al_engine_ref_from_host(e, D, P));
    CHECK(ig_al_engine_batch(e, x, y, dot, tdot, sq));   /* warm-up */
    for (int k = 0; k < runs; k++) {
        double t0 = ig_now_seconds();
        CHECK(ig_al_engine_batch(e, x, y, dot, tdot, sq));
        t_eng[k] = ig_now_seconds() - t0;
    }
    /* naive: one backward per instance, gradient to the host, dot products there */
    for (int k = 0; k < runs; k++) {
        double t0 = ig_now_seconds();
        for (int64_t n = 0; n < N; n++) {
            struct ig_tensor *xn = ig_tensor_slice(x, n, 1), *yn = ig_tensor_slice(y, n, 1);
            CHECK(ig_al_engine_ref_zero(e));
            CHECK(ig_al_engine_ref_add_batch(e, xn, yn));
            CHECK(ig_al_engine_ref_to_host(e, g, P));
            double a = 0, b = 0;
            for (int64_t j = 0; j < P; j++) a += (double)g[j] * D[j], b += (double)g[j] * g[j];
            dot[n] = a;
            sq[n] = b;
            ig_tensor_free(xn);
            ig_tensor_free(yn);
        }
        t_naive[k] = ig_now_seconds() - t0;
    }
    /* a training step on the same batch, for scale */
    struct ig_optim *opt;
    struct ig_graph *gr;
    CHECK(ig_optim_adam_new(&opt, m, ig_adam_params_default()));
    CHECK(ig_graph_new(be, &gr));
    CHECK(ig_model_train_step(m, opt, gr, x, y, NULL, NULL));
    for (int k = 0; k < runs; k++) {
        double t0 = ig_now_seconds();
        CHECK(ig_model_train_step(m, opt, gr, x, y, NULL, NULL));
        CHECK(ig_backend_sync(be));
        t_train[k] = ig_now_seconds() - t0;
    }
    double me = ig_bench_median(t_eng, runs), mn = ig_bench_median(t_naive, runs), mt = ig_bench_median(t_train, runs);
    snprintf(cs, sizeof cs, "%s.b%lld.engine", name, (long long)N);
    line(cs, "images_per_s", (double)N / me, "img/s", be, runs);
    snprintf(cs, sizeof cs, "%s.b%lld.per_instance_backward", name, (long long)N);
    line(cs, "images_per_s", (double)N / mn, "img/s", be, runs);
    snprintf(cs, sizeof cs, "%s.b%lld.train_step", name, (long long)N);
    line(cs, "images_per_s", (double)N / mt, "img/s", be, runs);
    snprintf(cs, sizeof cs, "%s.b%lld.engine_speedup_vs_per_instance", name, (long long)N);
    line(cs, "ratio", mn / me, "x", be, runs);
    snprintf(cs, sizeof cs, "%s.b%lld.engine_cost_vs_train_step", name, (long long)N);
    line(cs, "ratio", me / mt, "x", be, runs);
    ig_graph_free(gr);
    ig_optim_free(opt);
    ig_al_engine_free(e);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_model_free(m);
    free(hx);
    free(hy);
    free(D);
    free(g);
    free(dot);
    free(tdot);
    free(sq);
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *dev = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) dev = argv[++i];
        else {
            fprintf(stderr, "usage: bench_al [--quick] [--device cpu|opencl|opencl:P:D]\n");
            return 2;
        }
    }
    struct ig_backend *be;
    CHECK(dev ? ig_backend_init(dev, &be) : ig_backend_init_cpu(&be, 0));
    fprintf(stderr, "bench_al: no Python peer for per-sample gradient dot products (PyTorch needs functorch per-sample "
                    "gradients materialised); comparing with one backward per instance instead\n");
    int runs = quick ? 3 : 5;
    bench_model(be, "small_cnn", false, 64, runs);
    bench_model(be, "paper_cnn", true, quick ? 16 : 32, runs);
    ig_backend_free(be);
    return 0;
}
