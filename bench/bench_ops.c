/* bench_ops: conv2d layers and a whole forward+backward pass of the paper CNN at batch 64, next to OpenBLAS sgemm (JSON lines). */
#include "ig_config.h"
#include "ig_bench_util.h"
#include "ig_tensor.h"
#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef IG_BENCH_PEER_DIR
#define IG_BENCH_PEER_DIR "bench/peers"
#endif

/* ---------------------------------------------------------------- output and timing */

static const char *g_device = "cpu";
static bool g_pair = true;   /* time a 2048^3 sgemm after each whole pass (off: profiling only) */
static int g_threads = 1;

static void emit(const char *bench, const char *name, const char *metric, double value, const char *unit, int runs)
{
    ig_bench_emit(&(struct ig_bench_line){.bench = bench, .cas = name, .metric = metric, .value = value, .unit = unit,
                                          .device = g_device, .threads = g_threads, .runs = runs,
                                          .fmt = IG_BENCH_VALUE_MILLI});
}

/* "1.23 0.98 0.70" from /proc/loadavg (other jobs sharing the cores skew every timing) */
static const char *load_average(void)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "unknown");
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        double a, b, c;
        if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
        fclose(f);
    }
    return buf;
}

_Noreturn static void die(const char *what) { ig_bench_die("bench_ops", what, ig_last_error()); }
#define CHECK(expr) do { if ((expr) != IG_OK) die(#expr); } while (0)

/* ---------------------------------------------------------------- tensors */

static struct ig_backend *be;
static uint64_t g_seed = 42;

static struct ig_tensor *tensor(int ndim, const int64_t *shape, float scale)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    float *h = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) h[i] = scale * (2.0f * ig_hash_uniform(g_seed, (uint64_t)i) - 1.0f);
    g_seed++;
    struct ig_tensor *t = ig_tensor_from_host(be, IG_DTYPE_F32, ndim, shape, h);
    free(h);
    if (!t) die("tensor");
    return t;
}
#define T(scale, ...) tensor((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}, scale)

/* ---------------------------------------------------------------- OpenBLAS peer */

/* Median seconds of C[M,N] = op(A) op(B) with the given transposes. */
static double sgemm_seconds(int M, int N, int K, bool ta, bool tb, int runs)
{
    float *A = malloc((size_t)M * K * sizeof(float)), *B = malloc((size_t)K * N * sizeof(float));
    float *C = malloc((size_t)M * N * sizeof(float));
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 7) * 0.01f;
    double t[64];
    for (int r = -1; r < runs; r++) {
        double t0 = ig_now_seconds();
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
                    ta ? M : K, B, tb ? K : N, 0.0f, C, N);
        if (r >= 0) t[r] = ig_now_seconds() - t0;
    }
    free(A);
    free(B);
    free(C);
    /* OpenBLAS's pthread workers keep spinning (sched_yield) for ~2^28 TSC cycles after a call;
     * let them go idle so they do not steal the cores from what is measured next */
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 200000000}, NULL);
    return ig_bench_median(t, runs);
}

/* ---------------------------------------------------------------- the paper CNN's conv layers */

struct conv_layer { const char *name; int C, O, H; bool bn, pool; };
static const struct conv_layer layers[6] = {
    {"conv1", 3, 32, 32, true, false},   {"conv2", 32, 64, 32, false, true},  {"conv3", 64, 128, 16, true, false},
    {"conv4", 128, 128, 16, false, true}, {"conv5", 128, 256, 8, true, false}, {"conv6", 256, 256, 8, false, true},
};

static double conv_flops(const struct conv_layer *l, int N) { return 2.0 * N * l->O * l->H * l->H * (double)l->C * 9; }

static void bench_conv_layers(int N, int runs)
{
    struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    for (int li = 0; li < 6; li++) {
        const struct conv_layer *l = &layers[li];
        struct ig_tensor *x = T(1.0f, N, l->C, l->H, l->H), *w = T(0.1f, l->O, l->C, 3, 3), *b = T(0.1f, l->O);
        struct ig_tensor *y = T(0, N, l->O, l->H, l->H), *dy = T(1.0f, N, l->O, l->H, l->H);
        struct ig_tensor *dx = T(0, N, l->C, l->H, l->H), *dw = T(0, l->O, l->C, 3, 3);
        double tf[64], tb[64];
        for (int r = -1; r < runs; r++) {
            double t0 = ig_now_seconds();
            CHECK(ig_conv2d_forward(y, x, w, b, p));
            CHECK(ig_backend_sync(be));
            double t1 = ig_now_seconds();
            CHECK(ig_conv2d_backward_data(dx, dy, w, p));
            CHECK(ig_conv2d_backward_weight(dw, dy, x, p));
            CHECK(ig_backend_sync(be));
            double t2 = ig_now_seconds();
            if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1;
        }
        double fl = conv_flops(l, N);
        char name[128];
        int P = l->H * l->H, K = l->C * 9;
        double gf = fl / ig_bench_median(tf, runs) * 1e-9, gb = 2.0 * fl / ig_bench_median(tb, runs) * 1e-9;
        snprintf(name, sizeof name, "paper_cnn.%s.b%d.fwd", l->name, N);
        emit("conv2d", name, "gflops", gf, "GFLOP/s", runs);
        /* the same GEMM as one OpenBLAS call: [O, K] x [K, N*P] */
        double sf = fl / sgemm_seconds(l->O, N * P, K, false, false, runs) * 1e-9;
        snprintf(name, sizeof name, "paper_cnn.%s.b%d.fwd.sgemm_%dx%dx%d", l->name, N, l->O, N * P, K);
        emit("openblas_sgemm", name, "gflops", sf, "GFLOP/s", runs);
        snprintf(name, sizeof name, "paper_cnn.%s.b%d.bwd_data_weight", l->name, N);
        emit("conv2d", name, "gflops", gb, "GFLOP/s", runs);
        /* backward as two OpenBLAS calls: dcol[K, N*P] = w^T dy, dw[O, K] = dy col^T */
        double tpeer = sgemm_seconds(K, N * P, l->O, true, false, runs) + sgemm_seconds(l->O, K, N * P, false, true, runs);
        snprintf(name, sizeof name, "paper_cnn.%s.b%d.bwd.sgemm_pair", l->name, N);
        emit("openblas_sgemm", name, "gflops", 2.0 * fl / tpeer * 1e-9, "GFLOP/s", runs);
        /* the layer against its own GEMMs (goal: >= 1 on every layer) */
        snprintf(name, sizeof name, "paper_cnn.%s.b%d.fwd_over_sgemm", l->name, N);
        emit("conv2d", name, "ratio", gf / sf, "ratio", runs);
        snprintf(name, sizeof name, "paper_cnn.%s.b%d.bwd_over_sgemm_pair", l->name, N);
        emit("conv2d", name, "ratio", gb / (2.0 * fl / tpeer * 1e-9), "ratio", runs);
        ig_tensor_free(x); ig_tensor_free(w); ig_tensor_free(b); ig_tensor_free(y);
        ig_tensor_free(dy); ig_tensor_free(dx); ig_tensor_free(dw);
    }
}

/* ---------------------------------------------------------------- whole forward + backward pass */

struct layer_state {
    struct ig_tensor *w, *b, *dw, *db;                  /* conv weights */
    struct ig_tensor *gamma, *beta, *rm, *rv, *dgamma, *dbeta, *smean, *sinv;  /* BN */
    struct ig_tensor *x, *conv, *act, *pooled, *idx;   /* x: input; conv: conv output; act: after BN/ReLU */
    struct ig_tensor *bn_out;
};

struct cnn {
    int N;
    struct layer_state L[6];
    struct ig_tensor *input, *drop2d_mask, *drop2d_out;
    /* classifier: flatten 4096 -> dropout -> fc1 1024 relu -> fc2 512 relu -> dropout -> fc3 10 */
    struct ig_tensor *W[3], *B[3], *dW[3], *dB[3];
    struct ig_tensor *flat, *d0_mask, *d0_out, *h1, *h2, *d1_mask, *d1_out, *logits, *labels, *loss, *dloss;
    struct ig_tensor *g_logits, *g_d1, *g_h2, *g_h1, *g_d0, *g_flat;
    struct ig_tensor *g_act[6], *g_conv[6], *g_pool[6], *g_bn[6];
};

static const int fc_dims[4] = {4096, 1024, 512, 10};

static void cnn_init(struct cnn *m, int N)
{
    memset(m, 0, sizeof *m);
    m->N = N;
    m->input = T(1.0f, N, 3, 32, 32);
    for (int i = 0; i < 6; i++) {
        const struct conv_layer *l = &layers[i];
        struct layer_state *s = &m->L[i];
        int H = l->H;
        float sc = 1.0f / sqrtf((float)l->C * 9.0f);
        s->w = T(sc, l->O, l->C, 3, 3), s->b = T(sc, l->O), s->dw = T(0, l->O, l->C, 3, 3), s->db = T(0, l->O);
        s->conv = T(0, N, l->O, H, H);
        s->act = T(0, N, l->O, H, H);
        m->g_act[i] = T(0, N, l->O, H, H);
        m->g_conv[i] = T(0, N, l->O, H, H);
        if (l->bn) {
            s->gamma = T(0.1f, l->O), s->beta = T(0.1f, l->O), s->rm = T(0, l->O), s->rv = T(0, l->O);
            CHECK(ig_fill(s->gamma, 1.0f));
            CHECK(ig_fill(s->rv, 1.0f));
            s->dgamma = T(0, l->O), s->dbeta = T(0, l->O), s->smean = T(0, l->O), s->sinv = T(0, l->O);
        }
        if (l->pool) {
            s->pooled = T(0, N, l->O, H / 2, H / 2);
            s->idx = ig_tensor_new(be, IG_DTYPE_I32, 4, (const int64_t[]){N, l->O, H / 2, H / 2});
            m->g_pool[i] = T(0, N, l->O, H / 2, H / 2);
        }
    }
    m->drop2d_mask = T(0, N, 128, 8, 8);
    m->drop2d_out = T(0, N, 128, 8, 8);
    for (int i = 0; i < 3; i++) {
        float sc = 1.0f / sqrtf((float)fc_dims[i]);
        m->W[i] = T(sc, fc_dims[i + 1], fc_dims[i]), m->B[i] = T(sc, fc_dims[i + 1]);
        m->dW[i] = T(0, fc_dims[i + 1], fc_dims[i]), m->dB[i] = T(0, fc_dims[i + 1]);
    }
    m->flat = ig_tensor_reshape(m->L[5].pooled, 2, (const int64_t[]){N, 4096});
    m->d0_mask = T(0, N, 4096), m->d0_out = T(0, N, 4096);
    m->h1 = T(0, N, 1024), m->h2 = T(0, N, 512), m->d1_mask = T(0, N, 512), m->d1_out = T(0, N, 512);
    m->logits = T(0, N, 10);
    int32_t *lab = malloc((size_t)N * sizeof(int32_t));
    for (int i = 0; i < N; i++) lab[i] = i % 10;
    m->labels = ig_tensor_from_host(be, IG_DTYPE_I32, 1, (const int64_t[]){N}, lab);
    free(lab);
    m->loss = T(0, 1), m->dloss = T(0, 1);
    CHECK(ig_fill(m->dloss, 1.0f));
    m->g_logits = T(0, N, 10), m->g_d1 = T(0, N, 512), m->g_h2 = T(0, N, 512), m->g_h1 = T(0, N, 1024);
    m->g_d0 = T(0, N, 4096), m->g_flat = T(0, N, 4096);
}

/* y[N, out] = x[N, in] W^T + b */
static void linear_fwd(struct ig_tensor *y, const struct ig_tensor *x, const struct ig_tensor *W, const struct ig_tensor *b)
{
    struct ig_gemm_params p = ig_gemm_params_default();
    p.trans_b = true;
    CHECK(ig_gemm(y, x, W, p));
    CHECK(ig_bias_add(y, b));
}

/* dx = dy W; dW = dy^T x; db = sum_rows dy */
static void linear_bwd(struct ig_tensor *dx, struct ig_tensor *dW, struct ig_tensor *db, const struct ig_tensor *dy,
                       const struct ig_tensor *x, const struct ig_tensor *W)
{
    struct ig_gemm_params p = ig_gemm_params_default();
    if (dx) CHECK(ig_gemm(dx, dy, W, p));
    p.trans_a = true;
    CHECK(ig_gemm(dW, dy, x, p));
    struct ig_tensor *db2 = ig_tensor_reshape(db, 2, (const int64_t[]){1, db->shape[0]});
    CHECK(ig_sum_axis(db2, dy, 0));
    ig_tensor_free(db2);
}

static void cnn_step(struct cnn *m, uint64_t step)
{
    struct ig_conv2d_params cp = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    struct ig_pool2d_params pp = {.kernel = 2, .stride = 2};
    struct ig_bn_params bp = ig_bn_params_default();
    /* forward */
    const struct ig_tensor *x = m->input;
    for (int i = 0; i < 6; i++) {
        struct layer_state *s = &m->L[i];
        s->x = (struct ig_tensor *)(uintptr_t)x;
        CHECK(ig_conv2d_forward(s->conv, x, s->w, s->b, cp));
        if (layers[i].bn) {
            CHECK(ig_batchnorm2d_forward_train(s->act, s->conv, s->gamma, s->beta, s->rm, s->rv, s->smean, s->sinv, bp));
            CHECK(ig_relu_forward(s->act, s->act));
        } else {
            CHECK(ig_relu_forward(s->act, s->conv));
        }
        x = s->act;
        if (layers[i].pool) {
            CHECK(ig_maxpool2d_forward(s->pooled, s->idx, s->act, pp));
            x = s->pooled;
        }
        if (i == 3) {
            struct ig_dropout_params dp = {.p = 0.05f, .seed = 7, .counter = step << 32, .per_channel = true};
            CHECK(ig_dropout_forward(m->drop2d_out, m->drop2d_mask, x, dp));
            x = m->drop2d_out;
        }
    }
    struct ig_dropout_params dp = {.p = 0.1f, .seed = 8, .counter = step << 32, .per_channel = false};
    CHECK(ig_dropout_forward(m->d0_out, m->d0_mask, m->flat, dp));
    linear_fwd(m->h1, m->d0_out, m->W[0], m->B[0]);
    CHECK(ig_relu_forward(m->h1, m->h1));
    linear_fwd(m->h2, m->h1, m->W[1], m->B[1]);
    CHECK(ig_relu_forward(m->h2, m->h2));
    dp.seed = 9;
    CHECK(ig_dropout_forward(m->d1_out, m->d1_mask, m->h2, dp));
    linear_fwd(m->logits, m->d1_out, m->W[2], m->B[2]);
    struct ig_xent_params xp = {IG_REDUCTION_MEAN};
    CHECK(ig_cross_entropy_forward(m->loss, m->logits, m->labels, xp));
    /* backward */
    CHECK(ig_cross_entropy_backward(m->g_logits, m->logits, m->labels, m->dloss, xp));
    linear_bwd(m->g_d1, m->dW[2], m->dB[2], m->g_logits, m->d1_out, m->W[2]);
    CHECK(ig_mul(m->g_h2, m->g_d1, m->d1_mask));
    CHECK(ig_relu_backward(m->g_h2, m->g_h2, m->h2));
    linear_bwd(m->g_h1, m->dW[1], m->dB[1], m->g_h2, m->h1, m->W[1]);
    CHECK(ig_relu_backward(m->g_h1, m->g_h1, m->h1));
    linear_bwd(m->g_d0, m->dW[0], m->dB[0], m->g_h1, m->d0_out, m->W[0]);
    CHECK(ig_mul(m->g_flat, m->g_d0, m->d0_mask));
    /* g: gradient of layer i's output (after its pool); starts as the unflattened classifier gradient */
    struct ig_tensor *gview = ig_tensor_reshape(m->g_flat, 4, (const int64_t[]){m->N, 256, 4, 4}), *g = gview;
    for (int i = 5; i >= 0; i--) {
        struct layer_state *s = &m->L[i];
        if (i == 3) CHECK(ig_mul(g, g, m->drop2d_mask));   /* Dropout2d backward, in place */
        if (layers[i].pool) {
            CHECK(ig_maxpool2d_backward(m->g_act[i], g, s->idx, pp));
            g = m->g_act[i];
        }
        CHECK(ig_relu_backward(m->g_conv[i], g, s->act));
        struct ig_tensor *gc = m->g_conv[i];
        if (layers[i].bn) {
            CHECK(ig_batchnorm2d_backward(m->g_act[i], s->dgamma, s->dbeta, gc, s->conv, s->gamma, s->smean, s->sinv, bp));
            gc = m->g_act[i];
        }
        CHECK(ig_conv2d_backward_weight(s->dw, gc, s->x, cp));
        CHECK(ig_conv2d_backward_bias(s->db, gc));
        if (i > 0) {   /* the network input needs no gradient */
            struct ig_tensor *gin = layers[i - 1].pool ? m->g_pool[i - 1] : m->g_act[i - 1];
            CHECK(ig_conv2d_backward_data(gin, gc, s->w, cp));
            g = gin;
        }
    }
    ig_tensor_free(gview);
    CHECK(ig_backend_sync(be));
}

static double cnn_flops_per_image(void)
{
    double f = 0.0;
    for (int i = 0; i < 6; i++) f += conv_flops(&layers[i], 1);
    for (int i = 0; i < 3; i++) f += 2.0 * fc_dims[i] * fc_dims[i + 1];
    return f;
}

/* Whole pass timed in pairs with a 2048^3 OpenBLAS sgemm right after each pass, so every ratio
 * compares the two under the same machine load (other jobs share these cores). */
static void bench_whole_pass(int N, int runs, double *gflops_out, double *ratio_out, double *peak_out)
{
    struct cnn m;
    cnn_init(&m, N);
    double t[64], ratio[64], peak[64];
    double fl = 3.0 * cnn_flops_per_image() * N;   /* forward + 2x forward for backward */
    double fl2048 = 2.0 * 2048.0 * 2048.0 * 2048.0;
    double cpu[64];
    for (int r = -1; r < runs; r++) {
        double t0 = ig_now_seconds(), c0 = ig_bench_cpu_now();
        cnn_step(&m, (uint64_t)(r + 1));
        double dt = ig_now_seconds() - t0;
        if (r < 0) continue;
        cpu[r] = ig_bench_cpu_now() - c0;
        t[r] = dt;
        peak[r] = g_pair ? fl2048 / sgemm_seconds(2048, 2048, 2048, false, false, 1) * 1e-9 : 1.0;
        ratio[r] = fl / dt * 1e-9 / peak[r];
    }
    /* process CPU time per pass (all threads; includes OpenMP spin-waiting): with other jobs on
     * the machine this is steadier than wall time, so it is printed as a diagnostic */
    fprintf(stderr, "bench_ops: whole pass: median wall %.1f ms, CPU %.1f ms (%d threads); load average %s\n",
            1e3 * ig_bench_median(t, runs) , 1e3 * ig_bench_median(cpu, runs), g_threads, load_average());
    *ratio_out = ig_bench_median(ratio, runs);
    *peak_out = ig_bench_median(peak, runs);
    double sec = ig_bench_median(t, runs);
    char name[128];
    snprintf(name, sizeof name, "paper_cnn.fwd_bwd.b%d", N);
    *gflops_out = fl / sec * 1e-9;
    emit("paper_cnn", name, "gflops", *gflops_out, "GFLOP/s", runs);
    emit("paper_cnn", name, "images_per_s", N / sec, "images/s", runs);
    emit("paper_cnn", name, "seconds", sec, "s", runs);
    if (getenv("IG_BENCH_PROFILE")) {
        /* per-op breakdown of one more pass on stderr */
        ig_backend_profile_reset(be);
        ig_backend_profile_enable(be, true);
        cnn_step(&m, 1000);
        ig_backend_profile_enable(be, false);
        double s[IG_OP_COUNT];
        int64_t c[IG_OP_COUNT];
        ig_backend_profile_read(be, s, c);
        double tot = 0.0;
        for (int i = 0; i < IG_OP_COUNT; i++) tot += s[i];
        for (int i = 0; i < IG_OP_COUNT; i++)
            if (c[i]) fprintf(stderr, "  %-20s %4lld calls %8.2f ms %5.1f%%\n", ig_op_name((enum ig_op)i), (long long)c[i],
                              s[i] * 1e3, 100.0 * s[i] / tot);
        fprintf(stderr, "  total %.2f ms\n", tot * 1e3);
    }
}

/* ---------------------------------------------------------------- PyTorch peer (optional) */

/* each JSON line of the peer goes to stdout; *ctx: the peer's GFLOP/s */
static void on_torch_line(const char *line, json_t *o, void *ctx)
{
    if (!o) return;   /* only JSON lines go to stdout */
    fputs(line, stdout);
    const char *metric = json_string_value(json_object_get(o, "metric"));
    if (metric && strcmp(metric, "gflops") == 0) *(double *)ctx = json_number_value(json_object_get(o, "value"));
}

static void run_torch_peer(int N, int runs, double ours)
{
    if (strcmp(g_device, "cpu") != 0) return;
    if (!ig_bench_python_has("torch")) {
        fprintf(stderr, "bench_ops: PyTorch not importable, skipping the torch peer\n");
        return;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 %s/ops_peer.py --batch %d --runs %d --threads %d", ig_bench_peer_dir(IG_BENCH_PEER_DIR), N, runs, g_threads);
    double torch_gflops = 0.0;
    int status;
    if (ig_bench_peer_run(cmd, on_torch_line, &torch_gflops, &status) != 0) return;
    if (status != 0) fprintf(stderr, "bench_ops: torch peer failed\n");
    if (torch_gflops > 0.0) {
        char name[128];
        snprintf(name, sizeof name, "paper_cnn.fwd_bwd.b%d_over_torch", N);
        emit("paper_cnn", name, "ratio", ours / torch_gflops, "ratio", runs);
    }
}

int main(int argc, char **argv)
{
    (void)ig_bench_peer_dir(IG_BENCH_PEER_DIR);   /* a bad IGRADV_BENCH_PEERS stops here, before any work */
    bool quick = false, peer = true;
    int runs = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = true;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) g_device = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--no-peer") == 0) peer = false;
        else if (strcmp(argv[i], "--no-pair") == 0) g_pair = false;
        else {
            fprintf(stderr, "usage: bench_ops [--device cpu|opencl|opencl:P:D] [--quick] [--runs N] [--only layers|pass] [--no-peer] [--no-pair]\n");
            return 2;
        }
    }
    if (runs <= 0) runs = quick ? 5 : 9;
    if (runs > 64) runs = 64;
    if (ig_backend_init(g_device, &be) != IG_OK) die("backend");
    ig_bench_set_isa(ig_backend_isa_name(be)[0] ? ig_backend_isa_name(be) : "opencl");
    g_threads = ig_bench_omp_threads();
    fprintf(stderr, "bench_ops: %s; OpenBLAS peer with %d threads; load average %s\n", ig_backend_name(be),
            openblas_get_num_threads(), load_average());
    if (!getenv("OMP_WAIT_POLICY") && g_threads > 1)
        fprintf(stderr, "bench_ops: note: on a machine shared with other jobs, OMP_WAIT_POLICY=passive keeps idle OpenMP "
                        "threads from spinning (measured here under load ~10: whole pass 1.5 s instead of 2.5 s)\n");
    int N = 64;
    double peak = 2.0 * 2048.0 * 2048.0 * 2048.0 / sgemm_seconds(2048, 2048, 2048, false, false, runs) * 1e-9;
    emit("openblas_sgemm", "2048x2048x2048", "gflops", peak, "GFLOP/s", runs);
    if (!only || strcmp(only, "layers") == 0) bench_conv_layers(N, runs);
    double pass = 0.0, ratio = 0.0, peak_paired = 0.0;
    if (!only || strcmp(only, "pass") == 0) {
        bench_whole_pass(N, runs, &pass, &ratio, &peak_paired);
        if (g_pair) {
            emit("openblas_sgemm", "2048x2048x2048.paired_with_pass", "gflops", peak_paired, "GFLOP/s", runs);
            char name[128];
            snprintf(name, sizeof name, "paper_cnn.fwd_bwd.b%d_over_openblas_2048", N);
            emit("paper_cnn", name, "ratio", ratio, "ratio", runs);
        }
        if (peer) run_torch_peer(N, runs, pass);
    }
    ig_backend_free(be);
    return 0;
}
