/* bench_opencl: the OpenCL backend next to the CPU backend in one run: GEMM, conv layers (im2col+clBLAST vs clBLAST convgemm),
 * paper-CNN training images/s and per-op device time per training step (JSON lines). */
#include "ig_config.h"
#include "ig_bench_util.h"
#include "ig_util.h"
#include "ig_nn.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if IG_HAVE_OPENCL
#include "ig_cl.h"
#include <clblast_c.h>
#endif

static const char *g_device = "cpu";
static int g_threads = 1;

static void emit(const char *bench, const char *cas, const char *metric, double value, const char *unit, int runs)
{
    ig_bench_emit(&(struct ig_bench_line){.bench = bench, .cas = cas, .metric = metric, .value = value, .unit = unit,
                                          .device = g_device, .threads = g_threads, .runs = runs});
}

_Noreturn static void die(const char *what) { ig_bench_die("bench_opencl", what, ig_last_error()); }
#define CHECK(expr) do { if ((expr) != IG_OK) die(#expr); } while (0)

static struct ig_tensor *rand_tensor(struct ig_backend *be, int nd, const int64_t *shape, uint64_t seed)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    float *h = malloc((size_t)n * sizeof *h);
    if (!h) die("malloc");
    for (int64_t i = 0; i < n; i++) h[i] = 2.0f * ig_hash_uniform(seed, (uint64_t)i) - 1.0f;
    struct ig_tensor *t = ig_tensor_from_host(be, IG_DTYPE_F32, nd, shape, h);
    free(h);
    if (!t) die("tensor");
    return t;
}

/* Median seconds of runs calls of fn (after one warm-up call), synchronised. */
typedef enum ig_status (*bench_fn)(void *ctx);
static double time_it(struct ig_backend *be, bench_fn fn, void *ctx, int runs)
{
    double t[32];
    if (runs > 32) runs = 32;
    CHECK(fn(ctx));
    CHECK(ig_backend_sync(be));
    for (int r = 0; r < runs; r++) {
        double t0 = ig_now_seconds();
        CHECK(fn(ctx));
        CHECK(ig_backend_sync(be));
        t[r] = ig_now_seconds() - t0;
    }
    return ig_bench_median(t, runs);
}

/* ---------------------------------------------------------------- GEMM */

struct gemm_ctx { struct ig_tensor *c, *a, *b; };
static enum ig_status run_gemm(void *p)
{
    struct gemm_ctx *g = p;
    return ig_gemm(g->c, g->a, g->b, ig_gemm_params_default());
}

static double bench_gemm(struct ig_backend *be, int64_t n, int runs)
{
    int64_t s[2] = {n, n};
    struct gemm_ctx g = {rand_tensor(be, 2, s, 1), rand_tensor(be, 2, s, 2), rand_tensor(be, 2, s, 3)};
    double sec = time_it(be, run_gemm, &g, runs);
    ig_tensor_free(g.a), ig_tensor_free(g.b), ig_tensor_free(g.c);
    return 2.0 * (double)n * n * n / sec * 1e-9;
}

/* ---------------------------------------------------------------- conv layers of the paper CNN */

struct conv_layer { const char *name; int64_t C, O, H; };
static const struct conv_layer layers[] = {
    {"conv2_32to64_32x32", 32, 64, 32}, {"conv4_128to128_16x16", 128, 128, 16}, {"conv6_256to256_8x8", 256, 256, 8}};

struct conv_ctx { struct ig_tensor *y, *x, *w, *b, *dx, *dw; struct ig_conv2d_params p; int which; };
static enum ig_status run_conv(void *p)
{
    struct conv_ctx *c = p;
    if (c->which == 0) return ig_conv2d_forward(c->y, c->x, c->w, c->b, c->p);
    if (c->which == 1) return ig_conv2d_backward_data(c->dx, c->y, c->w, c->p);
    return ig_conv2d_backward_weight(c->dw, c->y, c->x, c->p);
}

#if IG_HAVE_OPENCL
/* clBLAST's own implicit-im2col convolution (xconvgemm) on the same buffers, for comparison. */
static enum ig_status run_convgemm(void *p)
{
    struct conv_ctx *c = p;
    struct ig_cl *cl = ig_cl_of(c->x->backend);
    CLBlastStatusCode st = CLBlastSconvgemm(CLBlastKernelModeCrossCorrelation, (size_t)c->x->shape[1], (size_t)c->x->shape[2],
                                            (size_t)c->x->shape[3], 3, 3, 1, 1, 1, 1, 1, 1, (size_t)c->w->shape[0],
                                            (size_t)c->x->shape[0], ig_cl_mem(c->x), 0, ig_cl_mem(c->w), 0, ig_cl_mem(c->y),
                                            0, &cl->queue, NULL);
    return st == CLBlastSuccess ? IG_OK : ig_cl_fail((cl_int)st, "CLBlastSconvgemm");
}
#endif

static void bench_convs(struct ig_backend *be, int64_t N, int runs, bool opencl)
{
    static const char *dir[3] = {"fwd", "bwd_data", "bwd_weight"};
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const struct conv_layer *L = &layers[l];
        int64_t xs[4] = {N, L->C, L->H, L->H}, ws[4] = {L->O, L->C, 3, 3}, ys[4] = {N, L->O, L->H, L->H}, bs[1] = {L->O};
        struct conv_ctx c = {rand_tensor(be, 4, ys, 4), rand_tensor(be, 4, xs, 5), rand_tensor(be, 4, ws, 6),
                             rand_tensor(be, 1, bs, 7), rand_tensor(be, 4, xs, 8), rand_tensor(be, 4, ws, 9),
                             {1, 1, 1, 1}, 0};
        double flops = 2.0 * (double)N * L->O * L->H * L->H * L->C * 9;
        char cas[96];
        for (int d = 0; d < 3; d++) {
            c.which = d;
            double sec = time_it(be, run_conv, &c, runs);
            snprintf(cas, sizeof cas, "paper_cnn.%s.b%lld.%s", L->name, (long long)N, dir[d]);
            emit("conv2d", cas, "gflops", flops / sec * 1e-9, "GFLOP/s", runs);
        }
#if IG_HAVE_OPENCL
        if (opencl) {
            /* same result? convgemm writes y[N,O,H,W]; compare with ours (no bias) */
            size_t n = (size_t)ig_tensor_numel(c.y);
            float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
            CHECK(ig_conv2d_forward(c.y, c.x, c.w, NULL, c.p));
            CHECK(ig_tensor_to_host(c.y, a, n * sizeof *a));
            CHECK(ig_fill(c.y, 0.0f));
            enum ig_status s = run_convgemm(&c);
            if (s == IG_OK) {
                CHECK(ig_tensor_to_host(c.y, b, n * sizeof *b));
                double md = 0;
                for (size_t i = 0; i < n; i++) md = fmax(md, fabs((double)a[i] - b[i]));
                if (!(md < 1e-3)) {
                    fprintf(stderr, "bench_opencl: %s: clBLAST convgemm disagrees with ours (max |diff| %g), not timed\n", L->name, md);
                    free(a), free(b);
                    goto done;
                }
                double sec = time_it(be, run_convgemm, &c, runs);
                snprintf(cas, sizeof cas, "paper_cnn.%s.b%lld.fwd.clblast_convgemm", L->name, (long long)N);
                emit("conv2d", cas, "gflops", flops / sec * 1e-9, "GFLOP/s", runs);
                fprintf(stderr, "bench_opencl: %s: clBLAST convgemm vs im2col+sgemm max |diff| %.3g\n", L->name, md);
            } else {
                fprintf(stderr, "bench_opencl: clBLAST convgemm unavailable: %s\n", ig_last_error());
            }
            free(a), free(b);
        }
    done:
#else
        (void)opencl;
#endif
        ig_tensor_free(c.y), ig_tensor_free(c.x), ig_tensor_free(c.w), ig_tensor_free(c.b), ig_tensor_free(c.dx), ig_tensor_free(c.dw);
    }
}

/* ---------------------------------------------------------------- training */

/* Median images/s of the paper CNN (Adam lr 1e-4, wd 5e-4) at batch b, then one profiled block:
 * per-op seconds per step as JSON lines. Input and labels go in once per step (as in training). */
static double bench_train(struct ig_backend *be, int b, int steps, int runs)
{
    struct ig_model *m;
    struct ig_optim *opt;
    struct ig_graph *g;
    CHECK(ig_model_paper_cnn(&m, be, 3, 32, 32, 10, 1));
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 1e-4f;
    ap.weight_decay = 5e-4f;
    CHECK(ig_optim_adam_new(&opt, m, ap));
    CHECK(ig_graph_new(be, &g));
    ig_model_set_train(m, true);
    int64_t xs[4] = {b, 3, 32, 32}, ys[1] = {b};
    float *hx = malloc((size_t)b * 3072 * sizeof *hx);
    int32_t *hy = malloc((size_t)b * sizeof *hy);
    for (int64_t i = 0; i < (int64_t)b * 3072; i++) hx[i] = 2.0f * ig_hash_uniform(11, (uint64_t)i) - 1.0f;
    for (int i = 0; i < b; i++) hy[i] = (int32_t)(ig_hash64((uint64_t)i) % 10);
    struct ig_tensor *x = ig_tensor_new(be, IG_DTYPE_F32, 4, xs), *y = ig_tensor_new(be, IG_DTYPE_I32, 1, ys);
    if (!x || !y) die("input tensors");
    float loss;
    double rates[16];
    if (runs > 16) runs = 16;
    for (int k = -1; k < runs; k++) {   /* k = -1: warm-up */
        double t0 = ig_now_seconds();
        for (int i = 0; i < steps; i++) {
            CHECK(ig_tensor_from_host_into(x, hx, (size_t)b * 3072 * sizeof *hx));
            CHECK(ig_tensor_from_host_into(y, hy, (size_t)b * sizeof *hy));
            CHECK(ig_model_train_step(m, opt, g, x, y, &loss, NULL));
        }
        CHECK(ig_backend_sync(be));
        if (k >= 0) rates[k] = (double)steps * b / (ig_now_seconds() - t0);
    }
    double ips = ig_bench_median(rates, runs);
    /* profiled block: each op synchronised and timed by the backend's profile hooks */
    ig_backend_profile_reset(be);
#if IG_HAVE_OPENCL
    ig_cl_kernel_profile_reset(be);
#endif
    ig_backend_profile_enable(be, true);
    for (int i = 0; i < steps; i++) CHECK(ig_model_train_step(m, opt, g, x, y, &loss, NULL));
    ig_backend_profile_enable(be, false);
    double sec[IG_OP_COUNT];
    int64_t calls[IG_OP_COUNT];
    ig_backend_profile_read(be, sec, calls);
    char cas[96];
    for (int i = 0; i < IG_OP_COUNT; i++) {
        if (!calls[i]) continue;
        snprintf(cas, sizeof cas, "paper_cnn.train.b%d.op.%s", b, ig_op_name((enum ig_op)i));
        emit("train_ops", cas, "seconds", sec[i] / steps, "s/step", steps);
    }
#if IG_HAVE_OPENCL
    /* device time per OpenCL kernel (profiling events; nothing for the CPU backend) */
    for (int i = 0; i < ig_cl_kernel_count(); i++) {
        const char *name;
        double s;
        int64_t n;
        if (!ig_cl_kernel_profile(be, i, &name, &s, &n) || n == 0) continue;
        snprintf(cas, sizeof cas, "paper_cnn.train.b%d.kernel.%s", b, name);
        emit("train_kernels", cas, "seconds", s / steps, "s/step", steps);
    }
#endif
    free(hx), free(hy);
    ig_tensor_free(x), ig_tensor_free(y);
    ig_graph_free(g), ig_optim_free(opt), ig_model_free(m);
    return ips;
}

int main(int argc, char **argv)
{
    const char *dev = "opencl";
    int batch = 32, steps = 3, runs = 3;
    int64_t gemm_n = 1024;
    bool skip_cpu = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) dev = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-cpu")) skip_cpu = true;
        else if (!strcmp(argv[i], "--quick")) { batch = 8; steps = 2; runs = 3; gemm_n = 512; }
        else {
            fprintf(stderr, "usage: bench_opencl [--device opencl|opencl:P:D] [--batch B] [--steps S] [--runs R] [--quick] [--no-cpu]\n"
                            "  runs the same GEMM, conv layers and paper-CNN training on the OpenCL device and on the CPU backend\n");
            return 2;
        }
    }
    if (batch < 1 || steps < 1 || runs < 1) return 2;
    struct ig_backend *gpu = NULL, *cpu = NULL;
    if (ig_backend_init(dev, &gpu) != IG_OK) {
        fprintf(stderr, "bench_opencl: no OpenCL device (%s): %s; skipping\n", dev, ig_last_error());
        return 0;
    }
    CHECK(ig_backend_init_cpu(&cpu, 0));
    fprintf(stderr, "bench_opencl: %s vs %s\n", ig_backend_name(gpu), ig_backend_name(cpu));
    double train[2] = {0, 0}, gemm[2] = {0, 0};
    for (int d = 0; d < 2; d++) {
        struct ig_backend *be = d ? cpu : gpu;
        if (d && skip_cpu) break;
        g_device = d ? "cpu" : dev;
        g_threads = be->threads;
        char cas[64];
        gemm[d] = bench_gemm(be, gemm_n, runs);
        snprintf(cas, sizeof cas, "sgemm.%lld", (long long)gemm_n);
        emit("gemm", cas, "gflops", gemm[d], "GFLOP/s", runs);
        bench_convs(be, batch, runs, d == 0);
        train[d] = bench_train(be, batch, steps, runs);
        snprintf(cas, sizeof cas, "paper_cnn.train.b%d", batch);
        emit("train", cas, "images_per_s", train[d], "images/s", runs);
    }
    if (!skip_cpu) {
        g_device = dev;
        char cas[64];
        snprintf(cas, sizeof cas, "paper_cnn.train.b%d.opencl_over_cpu", batch);
        emit("train", cas, "ratio", train[0] / train[1], "x", runs);
        snprintf(cas, sizeof cas, "sgemm.%lld.opencl_over_cpu", (long long)gemm_n);
        emit("gemm", cas, "ratio", gemm[0] / gemm[1], "x", runs);
    }
    ig_backend_free(gpu);
    ig_backend_free(cpu);
    return 0;
}
