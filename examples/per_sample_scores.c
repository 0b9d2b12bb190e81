/* Example: igradv from your own program: train a small CNN a few steps, then per-instance gradient scores (DS) checked against one backward per instance. */
/*
 * Build against an installed igradv (meson install):
 *     cc per_sample_scores.c $(pkg-config --cflags --libs igradv) -lm -o per_sample_scores
 *     ./per_sample_scores [cpu | opencl | opencl:P:D]
 *
 * What it does, on random 3x32x32 images x[N] with labels y[N]:
 *   1. five Adam steps of the small CNN (ig_model_train_step);
 *   2. in eval mode, the reference δ = Σ_n ∇_θ CE(y_n, f(x_n)) + N wd θ, and from ONE batched
 *      pass of the per-sample engine δ·g_n, θ·g_n, ‖g_n‖² for every n (ig_al_engine_batch);
 *   3. the DS scores cos(δ, δ_n) with δ_n = g_n + wd θ and the top 4 of them;
 *   4. a check: g_n again from an ordinary backward pass over instance n alone (the engine's
 *      reference accumulator over a 1-instance batch), compared with the engine's numbers.
 * Exit status 0 when every instance agrees (relative error below 1e-3), 1 otherwise or on error.
 */
#include "ig_al.h"
#include "ig_nn.h"
#include "ig_tensor.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 16, C = 3, H = 32, W = 32, CLASSES = 10, TOP = 4 };
static const float WD = 5e-4f;

#define TRY(call)                                                                      \
    do {                                                                               \
        if ((call) != IG_OK) {                                                         \
            fprintf(stderr, "per_sample_scores: %s: %s\n", #call, ig_last_error());    \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static struct ig_tensor *must(struct ig_tensor *t, const char *what)
{
    if (!t) {
        fprintf(stderr, "per_sample_scores: %s: %s\n", what, ig_last_error());
        exit(1);
    }
    return t;
}

/* g_n as one flat vector (the engine's parameter order): D = 0, D += ∇ CE over {x_n}. */
static void instance_gradient(struct ig_al_engine *e, struct ig_backend *be, const float *x, const int32_t *y,
                              float *g, int64_t P)
{
    int64_t xs[4] = {1, C, H, W}, ys[1] = {1};
    struct ig_tensor *xn = must(ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, x), "instance x");
    struct ig_tensor *yn = must(ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, y), "instance y");
    TRY(ig_al_engine_ref_zero(e));
    TRY(ig_al_engine_ref_add_batch(e, xn, yn));
    TRY(ig_al_engine_ref_to_host(e, g, P));
    ig_tensor_free(xn);
    ig_tensor_free(yn);
}

static double rel_err(double got, double want) { return fabs(got - want) / fmax(fabs(want), 1e-6); }

int main(int argc, char **argv)
{
    const char *spec = argc > 1 ? argv[1] : "cpu";
    if (argc > 2) {
        fprintf(stderr, "usage: per_sample_scores [cpu | opencl | opencl:P:D]\n");
        return 2;
    }
    struct ig_backend *be;
    TRY(ig_backend_init(spec, &be));

    /* random images in [-1, 1) and labels, from the library's seeded generator */
    static float hx[N * C * H * W];
    int32_t hy[N];
    struct ig_rng r;
    ig_rng_seed(&r, 7);
    for (size_t i = 0; i < sizeof hx / sizeof *hx; i++) hx[i] = (float)(2.0 * ig_rng_uniform(&r) - 1.0);
    for (int n = 0; n < N; n++) hy[n] = (int32_t)(n % CLASSES);
    int64_t xs[4] = {N, C, H, W}, ys[1] = {N};
    struct ig_tensor *x = must(ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx), "x");
    struct ig_tensor *y = must(ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy), "y");

    /* 1. a few training steps */
    struct ig_model *m;
    struct ig_optim *opt;
    struct ig_graph *g;
    TRY(ig_model_small_cnn(&m, be, C, H, W, CLASSES, 42));
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 1e-3f;
    ap.weight_decay = WD;
    TRY(ig_optim_adam_new(&opt, m, ap));
    TRY(ig_graph_new(be, &g));
    ig_model_set_train(m, true);
    for (int step = 0; step < 5; step++) {
        float loss;
        TRY(ig_model_train_step(m, opt, g, x, y, &loss, NULL));
        printf("step %d  loss %.4f\n", step, loss);
    }

    /* 2. reference and per-instance terms, eval mode */
    ig_model_set_train(m, false);
    struct ig_al_engine *e;
    TRY(ig_al_engine_new(&e, m));
    int64_t P = ig_al_engine_num_params(e);
    TRY(ig_al_engine_ref_zero(e));
    TRY(ig_al_engine_ref_add_batch(e, x, y));
    TRY(ig_al_engine_ref_add_theta(e, (float)N * WD));
    struct ig_al_ref_stats rs;
    TRY(ig_al_engine_ref_stats(e, &rs));
    double dot[N], tdot[N], sq[N], dd[N], dsq[N], ds[N];
    TRY(ig_al_engine_batch(e, x, y, dot, tdot, sq));

    /* 3. DS scores and the top of them */
    ig_al_instance_terms(N, dot, tdot, sq, WD, &rs, dd, dsq);
    ig_al_scores_from_dots(IG_AL_DS, N, dd, dsq, rs.ref_sq, ds);
    size_t top[TOP];
    TRY(ig_al_topk(ds, N, TOP, top));
    printf("%lld parameters, |delta|^2 = %.6g\n", (long long)P, rs.ref_sq);
    printf("top %d by DS:", TOP);
    for (int i = 0; i < TOP; i++) printf(" %zu (%.4f)", top[i], ds[top[i]]);
    printf("\n");

    /* 4. the check against one backward pass per instance */
    float *delta = malloc((size_t)P * sizeof *delta), *theta = malloc((size_t)P * sizeof *theta),
          *gn = malloc((size_t)P * sizeof *gn);
    if (!delta || !theta || !gn) {
        fprintf(stderr, "per_sample_scores: out of memory for %lld parameters\n", (long long)P);
        return 1;
    }
    TRY(ig_al_engine_ref_to_host(e, delta, P));
    TRY(ig_al_engine_theta_to_host(e, theta, P));
    double worst = 0.0;
    for (int n = 0; n < N; n++) {
        instance_gradient(e, be, hx + (size_t)n * C * H * W, hy + n, gn, P);
        double want_sq = 0.0, want_dot = 0.0, want_tdot = 0.0;
        for (int64_t j = 0; j < P; j++) {
            want_sq += (double)gn[j] * gn[j];
            want_dot += (double)delta[j] * gn[j];
            want_tdot += (double)theta[j] * gn[j];
        }
        /* the dots are compared on the scale of their Cauchy-Schwarz bound, where they cancel */
        double e_sq = rel_err(sq[n], want_sq);
        double e_dot = fabs(dot[n] - want_dot) / fmax(sqrt(rs.ref_sq * want_sq), 1e-12);
        double e_tdot = fabs(tdot[n] - want_tdot) / fmax(sqrt(rs.theta_sq * want_sq), 1e-12);
        double e_n = fmax(e_sq, fmax(e_dot, e_tdot));
        if (e_n > worst) worst = e_n;
    }
    printf("engine vs one backward per instance: worst relative error %.2e over %d instances\n", worst, N);

    free(gn);
    free(theta);
    free(delta);
    ig_al_engine_free(e);
    ig_graph_free(g);
    ig_optim_free(opt);
    ig_model_free(m);
    ig_tensor_free(y);
    ig_tensor_free(x);
    ig_backend_free(be);
    if (!(worst < 1e-3)) {
        fprintf(stderr, "per_sample_scores: the engine disagrees with the per-instance backward pass (%.2e)\n", worst);
        return 1;
    }
    return 0;
}
