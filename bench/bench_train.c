/* bench_train: training images/s of the paper CNN (Adam, batch 32/64/128) against PyTorch CPU in the same run; JSON lines. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_bench_util.h"
#include "ig_nn.h"

#ifndef IG_BENCH_PEER_DIR
#define IG_BENCH_PEER_DIR "bench/peers"
#endif

static const char *g_device = "cpu";
static int g_threads = 2;

static void emit(const char *bench, const char *cas, const char *metric, double value, const char *unit, int runs)
{
    ig_bench_emit(&(struct ig_bench_line){.bench = bench, .cas = cas, .metric = metric, .value = value, .unit = unit,
                                          .device = g_device, .threads = g_threads, .runs = runs,
                                          .fmt = IG_BENCH_VALUE_G4});
}

/* Median images/s of `runs` timed blocks of `steps` training steps at batch b. */
static int bench_ours(struct ig_backend *be, int b, int steps, int runs, int warmup, bool profile, double *ips)
{
    struct ig_model *m;
    struct ig_optim *opt;
    struct ig_graph *g;
    if (ig_model_paper_cnn(&m, be, 3, 32, 32, 10, 1) != IG_OK) return -1;
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 1e-4f;
    ap.weight_decay = 5e-4f;
    if (ig_optim_adam_new(&opt, m, ap) != IG_OK || ig_graph_new(be, &g) != IG_OK) return -1;
    int64_t xs[4] = {b, 3, 32, 32}, ys[1] = {b};
    float *hx = malloc((size_t)b * 3072 * sizeof *hx);
    int32_t *hy = malloc((size_t)b * sizeof *hy);
    struct ig_rng r;
    ig_rng_seed(&r, 7);
    for (int64_t i = 0; i < (int64_t)b * 3072; i++) hx[i] = (float)(2 * ig_rng_uniform(&r) - 1);
    for (int i = 0; i < b; i++) hy[i] = (int32_t)ig_rng_below(&r, 10);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx);
    struct ig_tensor *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy);
    free(hx);
    free(hy);
    if (!x || !y) return -1;
    double *rates = malloc((size_t)runs * sizeof *rates);
    float loss;
    for (int i = 0; i < warmup; i++)
        if (ig_model_train_step(m, opt, g, x, y, &loss, NULL) != IG_OK) return -1;
    if (profile) {
        ig_backend_profile_reset(be);
        ig_backend_profile_enable(be, true);
    }
    for (int k = 0; k < runs; k++) {
        double t0 = ig_now_seconds();
        for (int i = 0; i < steps; i++)
            if (ig_model_train_step(m, opt, g, x, y, &loss, NULL) != IG_OK) return -1;
        ig_backend_sync(be);
        rates[k] = (double)steps * b / (ig_now_seconds() - t0);
    }
    if (profile) {
        double sec[IG_OP_COUNT];
        int64_t calls[IG_OP_COUNT];
        ig_backend_profile_read(be, sec, calls);
        ig_backend_profile_enable(be, false);
        double tot = 0;
        for (int i = 0; i < IG_OP_COUNT; i++) tot += sec[i];
        fprintf(stderr, "bench_train: profile batch %d (%d steps): %.3f s in kernels\n", b, steps * runs, tot);
        for (int i = 0; i < IG_OP_COUNT; i++)
            if (calls[i])
                fprintf(stderr, "  %-18s %8.3f ms/step %5.1f%%  (%lld calls)\n", ig_op_name((enum ig_op)i),
                        1e3 * sec[i] / (steps * runs), 100 * sec[i] / tot, (long long)calls[i]);
    }
    *ips = ig_bench_median(rates, runs);
    free(rates);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_graph_free(g);
    ig_optim_free(opt);
    ig_model_free(m);
    return 0;
}

struct torch_lines { const int *batches; int nb; double *peer; char *isa; };

/* {"batch": B, "images_per_s": V, ...} lines of the peer into peer[i] where batches[i] == B */
static void on_torch_line(const char *line, json_t *j, void *ctx)
{
    (void)line;
    const struct torch_lines *t = ctx;
    if (!j) return;
    int b = (int)json_integer_value(json_object_get(j, "batch"));
    double v = json_number_value(json_object_get(j, "images_per_s"));
    for (int i = 0; i < t->nb; i++)
        if (t->batches[i] == b) t->peer[i] = v;
    const char *isa = json_string_value(json_object_get(j, "isa"));
    if (isa) snprintf(t->isa, 32, "%s", isa);
}

/* PyTorch peer: fills peer[i] for batches[i] (0 when missing) and isa[32] with the peer's kernel path. */
static void bench_torch(const int *batches, int nb, int steps, int runs, int warmup, double *peer, char *isa)
{
    for (int i = 0; i < nb; i++) peer[i] = 0;
    char list[128] = "", cmd[1024];
    for (int i = 0; i < nb; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", batches[i]);
    snprintf(cmd, sizeof cmd, "python3 %s/torch_train_peer.py --batches %s --steps %d --runs %d --warmup %d --threads %d",
             ig_bench_peer_dir(IG_BENCH_PEER_DIR), list, steps, runs, warmup, g_threads);
    int status;
    if (ig_bench_peer_run(cmd, on_torch_line, &(struct torch_lines){batches, nb, peer, isa}, &status) != 0) {
        fprintf(stderr, "bench_train: cannot start the torch peer\n");
        return;
    }
    if (status != 0) fprintf(stderr, "bench_train: torch peer failed\n");
}

int main(int argc, char **argv)
{
    (void)ig_bench_peer_dir(IG_BENCH_PEER_DIR);   /* a bad IGRADV_BENCH_PEERS stops here, before any work */
    int batches[8] = {32, 64, 128}, nb = 3, steps = 10, runs = 3, warmup = 2;
    bool peer = true, profile = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--device") && i + 1 < argc) g_device = argv[++i];
        else if (!strcmp(a, "--threads") && i + 1 < argc) g_threads = atoi(argv[++i]);
        else if (!strcmp(a, "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(a, "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--batches") && i + 1 < argc) {
            nb = 0;
            for (char *t = strtok(argv[++i], ","); t && nb < 8; t = strtok(NULL, ",")) batches[nb++] = atoi(t);
        } else if (!strcmp(a, "--no-peer")) peer = false;
        else if (!strcmp(a, "--profile")) profile = true;
        else if (!strcmp(a, "--quick")) steps = 4, runs = 3, warmup = 1;
        else {
            fprintf(stderr, "usage: bench_train [--device cpu|opencl|opencl:P:D] [--threads T] [--batches 32,64,128]\n"
                            "                   [--steps S] [--runs R] [--warmup W] [--quick] [--no-peer] [--profile]\n");
            return 2;
        }
    }
    if (steps < 1 || runs < 1 || warmup < 0 || g_threads < 1 || nb < 1) {
        fprintf(stderr, "bench_train: bad numeric option\n");
        return 2;
    }
    struct ig_backend *be;
    enum ig_status s = !strcmp(g_device, "cpu") ? ig_backend_init_cpu(&be, g_threads) : ig_backend_init(g_device, &be);
    if (s != IG_OK) {
        fprintf(stderr, "bench_train: --device %s: %s\n", g_device, ig_last_error());
        return 2;
    }
    fprintf(stderr, "bench_train: %s\n", ig_backend_name(be));
    const char *isa = ig_backend_isa_name(be)[0] ? ig_backend_isa_name(be) : "opencl";
    ig_bench_set_isa(isa);
    /* each batch size: ours, then the peer right after, so both see the same machine state */
    bool have_torch = peer && ig_bench_python_has("torch");
    if (peer && !have_torch) fprintf(stderr, "bench_train: PyTorch not importable, skipping the torch peer\n");
    char cas[64];
    const char *dev = g_device;
    for (int i = 0; i < nb; i++) {
        double ours, theirs = 0;
        if (bench_ours(be, batches[i], steps, runs, warmup, profile, &ours) != 0) {
            fprintf(stderr, "bench_train: batch %d failed: %s\n", batches[i], ig_last_error());
            ig_backend_free(be);
            return 1;
        }
        snprintf(cas, sizeof cas, "paper_cnn.train.b%d", batches[i]);
        emit("train", cas, "images_per_s", ours, "images/s", runs);
        if (!have_torch) continue;
        char torch_isa[32] = "peer";
        bench_torch(&batches[i], 1, steps, runs, warmup, &theirs, torch_isa);
        if (theirs <= 0) continue;
        snprintf(cas, sizeof cas, "paper_cnn.train.b%d.torch", batches[i]);
        g_device = "cpu";
        ig_bench_set_isa(torch_isa);
        emit("train", cas, "images_per_s", theirs, "images/s", runs);
        ig_bench_set_isa(isa);
        g_device = dev;
        snprintf(cas, sizeof cas, "paper_cnn.train.b%d.igradv_over_torch", batches[i]);
        emit("train", cas, "ratio", ours / theirs, "x", runs);
    }
    ig_backend_free(be);
    return 0;
}
