/* bench_al: the per-sample gradient engine against a training step, one backward per instance and PyTorch torch.func vmap(grad), plus one quick-preset AL epoch split by phase and the Core-set selection; JSON lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ig_al.h"
#include "ig_al_internal.h"   /* ig_al_coreset_select_isa, ig_al_kernel_isa */
#include "ig_bench_util.h"
#include "ig_data.h"
#include "ig_nn.h"
#include "ig_regress.h"
#include "ig_safetensors.h"

#ifndef IG_BENCH_PEER_DIR
#define IG_BENCH_PEER_DIR "bench/peers"
#endif
#define MAXR 16
#define WD 5e-4f

static int g_threads = 2;

static const char *device_name(struct ig_backend *be) { return ig_backend_kind(be) == IG_BACKEND_CPU ? "cpu" : "opencl"; }

static void line(const char *cs, const char *impl, const char *metric, double v, const char *unit, struct ig_backend *be,
                 int runs)
{
    ig_bench_emit(&(struct ig_bench_line){.bench = "al_grad", .cas = cs, .impl = impl, .metric = metric, .value = v,
                                          .unit = unit, .device = device_name(be), .threads = g_threads, .runs = runs});
}

#define CHECK(x) do { if ((x) != IG_OK) ig_bench_die("bench_al", #x, ig_last_error()); } while (0)

/* A random batch x [N,3,32,32] in [-1,1], labels i % 10. */
struct batch { struct ig_tensor *x, *y; int64_t n; };

static struct batch batch_make(struct ig_backend *be, int64_t N, uint64_t seed)
{
    int64_t xs[4] = {N, 3, 32, 32}, ys[1] = {N};
    size_t nx = (size_t)(N * 3 * 32 * 32);
    float *hx = malloc(nx * sizeof *hx);
    int32_t *hy = malloc((size_t)N * sizeof *hy);
    if (!hx || !hy) ig_bench_die("bench_al", "batch", "out of memory");
    struct ig_rng r;
    ig_rng_seed(&r, seed);
    for (size_t i = 0; i < nx; i++) hx[i] = (float)(2 * ig_rng_uniform(&r) - 1);
    for (int64_t i = 0; i < N; i++) hy[i] = (int32_t)(i % 10);
    struct batch b = {ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx), ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, hy), N};
    if (!b.x || !b.y) ig_bench_die("bench_al", "batch", ig_last_error());
    free(hx);
    free(hy);
    return b;
}

static struct ig_al_engine *engine_new(struct ig_model *m, enum ig_al_param_set set)
{
    struct ig_al_engine *e;
    struct ig_al_engine_opts o = ig_al_engine_opts_default();
    o.params = set;
    CHECK(ig_al_engine_new_opts(&e, m, &o));
    return e;
}

/* D = Σ ∇L over the batch + N wd θ (the full reference of METHOD.md on this batch). */
static void engine_full_ref(struct ig_al_engine *e, const struct batch *b)
{
    CHECK(ig_al_engine_ref_zero(e));
    CHECK(ig_al_engine_ref_add_batch(e, b->x, b->y));
    CHECK(ig_al_engine_ref_add_theta(e, (float)b->n * WD));
}

/* DS scores of the batch against the engine's reference (ds: [N]). */
static void engine_ds(struct ig_al_engine *e, const struct batch *b, double *ds)
{
    size_t N = (size_t)b->n;
    double *t = malloc(5 * N * sizeof *t);
    if (!t) ig_bench_die("bench_al", "ds", "out of memory");
    struct ig_al_ref_stats rs;
    CHECK(ig_al_engine_ref_stats(e, &rs));
    CHECK(ig_al_engine_batch(e, b->x, b->y, t, t + N, t + 2 * N));
    ig_al_instance_terms(N, t, t + N, t + 2 * N, WD, &rs, t + 3 * N, t + 4 * N);
    ig_al_scores_from_dots(IG_AL_DS, N, t + 3 * N, t + 4 * N, rs.ref_sq, ds);
    free(t);
}

/* ---------------------------------------------------------------- PyTorch peer */

struct peer_result { double images_per_s, max_abs_diff; bool ok; };

static void on_peer_line(const char *l, json_t *j, void *ctx)
{
    (void)l;
    struct peer_result *r = ctx;
    if (!j || !json_object_get(j, "images_per_s")) return;
    r->images_per_s = json_number_value(json_object_get(j, "images_per_s"));
    r->max_abs_diff = json_number_value(json_object_get(j, "max_abs_diff"));
    r->ok = true;
}

/* Writes dir/model.safetensors (the state_dict) and dir/inputs.safetensors (x, y, the flat
 * reference D over all parameters, igradv's DS scores), then runs al_vmap_peer.py on them. */
static struct peer_result run_peer(struct ig_model *m, struct ig_al_engine *e, const struct batch *b, const double *ds,
                                   int runs)
{
    struct peer_result r = {0, 0, false};
    char dir[] = "/tmp/bench_al_XXXXXX", path[512], cmd[1400];
    if (!mkdtemp(dir)) ig_bench_die("bench_al", "mkdtemp", "cannot create a temporary folder");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(ig_model_save(m, NULL, path));
    int64_t P = ig_al_engine_num_params(e), N = b->n;
    float *D = malloc((size_t)P * sizeof *D);
    if (!D) ig_bench_die("bench_al", "peer", "out of memory");
    CHECK(ig_al_engine_ref_to_host(e, D, P));
    struct ig_safetensors_writer *w = ig_safetensors_writer_new();
    char wd[32];
    snprintf(wd, sizeof wd, "%.9g", (double)WD);
    CHECK(ig_safetensors_writer_add(w, "x", b->x));
    CHECK(ig_safetensors_writer_add(w, "y", b->y));
    CHECK(ig_safetensors_writer_add_host(w, "reference", IG_ST_F32, 1, &P, D));
    CHECK(ig_safetensors_writer_add_host(w, "ds", IG_ST_F64, 1, &N, ds));
    CHECK(ig_safetensors_writer_set_meta(w, "weight_decay", wd));
    snprintf(path, sizeof path, "%s/inputs.safetensors", dir);
    CHECK(ig_safetensors_writer_save(w, path));
    ig_safetensors_writer_free(w);
    free(D);
    /* an OpenCL device's peer is PyTorch CUDA (exits 3 without CUDA: no ratio then) */
    snprintf(cmd, sizeof cmd, "python3 %s/al_vmap_peer.py --dir %s --runs %d --threads %d --device %s",
             ig_bench_peer_dir(IG_BENCH_PEER_DIR), dir, runs, g_threads,
             ig_backend_kind(m->be) == IG_BACKEND_CPU ? "cpu" : "cuda");
    int status = 0;
    if (ig_bench_peer_run(cmd, on_peer_line, &r, &status) != 0 || status != 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
            fprintf(stderr, "bench_al: torch vmap peer skipped (torch, safetensors or CUDA missing: its note above)\n");
        else
            fprintf(stderr, "bench_al: torch vmap peer failed (status %d)\n", status);
        r.ok = r.ok && status == 0;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_al: could not remove %s\n", dir);
    return r;
}

/* ---------------------------------------------------------------- engine vs training step */

/* Median seconds of the engine (all parameters, conv-linear), the training step and EGL's
 * class_sq, taken in turn within each run so that all see the same machine state. */
struct timings { double eng, eng_cl, train, egl; };

static struct timings time_interleaved(struct ig_model *m, struct ig_al_engine *ea, struct ig_al_engine *ec,
                                       const struct batch *b, int runs, bool egl)
{
    double te[MAXR], tc[MAXR], tt[MAXR], tg[MAXR];
    size_t N = (size_t)b->n;
    double *dot = malloc(N * 13 * sizeof *dot);
    struct ig_optim *opt;
    struct ig_graph *gr;
    CHECK(ig_optim_adam_new(&opt, m, ig_adam_params_default()));
    CHECK(ig_graph_new(m->be, &gr));
    for (int k = -1; k < runs; k++) {   /* k = -1: warm-up */
        ig_model_set_train(m, false);
        double t0 = ig_now_seconds();
        CHECK(ig_al_engine_batch(ea, b->x, b->y, dot, dot + N, dot + 2 * N));
        double t1 = ig_now_seconds();
        CHECK(ig_al_engine_batch(ec, b->x, b->y, dot, dot + N, dot + 2 * N));
        double t2 = ig_now_seconds();
        if (egl) CHECK(ig_al_engine_class_sq(ea, b->x, 10, dot + 3 * N));
        double t3 = ig_now_seconds();
        CHECK(ig_model_train_step(m, opt, gr, b->x, b->y, NULL, NULL));
        CHECK(ig_backend_sync(m->be));
        double t4 = ig_now_seconds();
        if (k < 0) continue;
        te[k] = t1 - t0, tc[k] = t2 - t1, tg[k] = t3 - t2, tt[k] = t4 - t3;
    }
    ig_model_set_train(m, false);
    ig_graph_free(gr);
    ig_optim_free(opt);
    free(dot);
    return (struct timings){ig_bench_median(te, runs), ig_bench_median(tc, runs), ig_bench_median(tt, runs),
                            egl ? ig_bench_median(tg, runs) : 0};
}

/* The engine's seconds per call at unchanged weights, as the peer times it (one warm-up, then
 * `runs` calls): appended to t[*k]. Its weight-transform cache hits, as in a scoring pass over
 * the batches of NLI; time_interleaved's calls follow a training step, so they miss it. */
static void time_engine_fixed(struct ig_al_engine *e, const struct batch *b, int runs, double *t, int *k)
{
    size_t N = (size_t)b->n;
    double *dot = malloc(N * 3 * sizeof *dot);
    if (!dot) ig_bench_die("bench_al", "engine", "out of memory");
    for (int r = -1; r < runs; r++) {
        double t0 = ig_now_seconds();
        CHECK(ig_al_engine_batch(e, b->x, b->y, dot, dot + N, dot + 2 * N));
        if (r >= 0) t[(*k)++] = ig_now_seconds() - t0;
    }
    free(dot);
}

/* Seconds of one backward per instance (the gradient to the host, dots there). */
static double time_per_instance(struct ig_al_engine *e, const struct batch *b)
{
    int64_t P = ig_al_engine_num_params(e);
    float *g = malloc((size_t)P * sizeof *g);
    double t0 = ig_now_seconds(), sink = 0;
    for (int64_t n = 0; n < b->n; n++) {
        struct ig_tensor *xn = ig_tensor_slice(b->x, n, 1), *yn = ig_tensor_slice(b->y, n, 1);
        CHECK(ig_al_engine_ref_zero(e));
        CHECK(ig_al_engine_ref_add_batch(e, xn, yn));
        CHECK(ig_al_engine_ref_to_host(e, g, P));
        for (int64_t j = 0; j < P; j++) sink += (double)g[j] * g[j];
        ig_tensor_free(xn);
        ig_tensor_free(yn);
    }
    double t = ig_now_seconds() - t0;
    free(g);
    return sink >= 0 ? t : -t;
}

static void bench_model(struct ig_backend *be, const char *name, bool paper, int64_t N, int runs, bool peer)
{
    struct ig_model *m;
    if (paper) CHECK(ig_model_paper_cnn(&m, be, 3, 32, 32, 10, 1));
    else CHECK(ig_model_small_cnn(&m, be, 3, 32, 32, 10, 1));
    ig_model_set_train(m, false);
    struct batch b = batch_make(be, N, 3);
    struct ig_al_engine *ea = engine_new(m, IG_AL_PARAMS_ALL), *ec = engine_new(m, IG_AL_PARAMS_CONV_LINEAR);
    engine_full_ref(ea, &b);
    engine_full_ref(ec, &b);
    struct peer_result pr = {0, 0, false};
    double tf[2 * MAXR];
    int nf = 0;
    time_engine_fixed(ea, &b, runs, tf, &nf);   /* before and after the peer: both see the machine it saw */
    if (peer) {
        double *ds = malloc((size_t)N * sizeof *ds);
        engine_ds(ea, &b, ds);
        pr = run_peer(m, ea, &b, ds, runs);
        free(ds);
        time_engine_fixed(ea, &b, runs, tf, &nf);
    }
    double t_fixed = ig_bench_median(tf, nf);
    double naive = time_per_instance(ec, &b);
    engine_full_ref(ec, &b);
    struct timings t = time_interleaved(m, ea, ec, &b, runs, true);
    char cs[128];
#define EMIT(suffix, impl, metric, v, unit, r) \
    do { snprintf(cs, sizeof cs, "%s.b%lld.%s", name, (long long)N, suffix); line(cs, impl, metric, v, unit, be, r); } while (0)
    EMIT("engine", NULL, "images_per_s", (double)N / t.eng, "img/s", runs);
    EMIT("engine_fixed_weights", NULL, "images_per_s", (double)N / t_fixed, "img/s", nf);
    EMIT("engine_conv_linear", NULL, "images_per_s", (double)N / t.eng_cl, "img/s", runs);
    EMIT("train_step", NULL, "images_per_s", (double)N / t.train, "img/s", runs);
    EMIT("egl_class_sq", NULL, "images_per_s", (double)N / t.egl, "img/s", runs);
    EMIT("per_instance_backward", NULL, "images_per_s", (double)N / naive, "img/s", 1);
    EMIT("engine_cost_vs_train_step", NULL, "ratio", t.eng / t.train, "x", runs);
    EMIT("engine_conv_linear_cost_vs_train_step", NULL, "ratio", t.eng_cl / t.train, "x", runs);
    EMIT("egl_cost_vs_train_step", NULL, "ratio", t.egl / t.train, "x", runs);
    EMIT("engine_speedup_vs_per_instance", NULL, "ratio", naive / t.eng_cl, "x", runs);
    if (pr.ok) {
        EMIT("torch_vmap", ig_backend_kind(be) == IG_BACKEND_CPU ? "torch" : "torch_cuda", "images_per_s", pr.images_per_s,
             "img/s", runs);
        EMIT("engine_speedup_vs_torch_vmap", NULL, "ratio", ((double)N / t_fixed) / pr.images_per_s, "x", nf);
        EMIT("engine_after_step_speedup_vs_torch_vmap", NULL, "ratio", ((double)N / t.eng) / pr.images_per_s, "x", runs);
        fprintf(stderr, "bench_al: %s DS scores, max |torch - igradv| = %.3g\n", name, pr.max_abs_diff);
    }
#undef EMIT
    ig_al_engine_free(ea);
    ig_al_engine_free(ec);
    ig_tensor_free(b.x);
    ig_tensor_free(b.y);
    ig_model_free(m);
}

/* ---------------------------------------------------------------- one AL epoch of the quick preset */

/* lal_cifar --preset quick: small CNN, 10000 training images, UI 50%, k 200, 2 training epochs per
 * AL epoch (each followed by a reference pass over LI ∪ NLI and the scoring of NLI), batch 32,
 * lr 1e-3, wd 5e-4, evaluation batch 128, GBR LAD with 200 trees on the raw pixels. */
enum { Q_SUBSET = 10000, Q_K = 200, Q_EPOCHS = 2, Q_BATCH = 32, Q_EVAL = 128, Q_SUB_REF = 1000 };

struct qctx {
    struct ig_backend *be;
    struct ig_dataset ds;
    struct ig_model *m;
    struct ig_al_engine *e;
    struct ig_tensor *xu8, *x, *y;   /* evaluation batch buffers [Q_EVAL, ...] */
};

/* f(ctx, x, y, k, off) for the rows idx[0..n) in evaluation batches (eval mode). */
typedef void (*rows_fn)(struct qctx *q, struct ig_tensor *x, struct ig_tensor *y, int64_t k, int64_t off, void *user);

static void rows_pass(struct qctx *q, const int64_t *idx, int64_t n, rows_fn f, void *user)
{
    ig_model_set_train(q->m, false);
    for (int64_t i = 0; i < n; i += Q_EVAL) {
        int64_t k = n - i < Q_EVAL ? n - i : Q_EVAL;
        struct ig_tensor *xu = ig_tensor_slice(q->xu8, 0, k), *x = ig_tensor_slice(q->x, 0, k), *y = ig_tensor_slice(q->y, 0, k);
        CHECK(ig_data_fill_batch(&q->ds, idx + i, k, xu, x, y, ig_data_norm_default(), NULL));
        f(q, x, y, k, i, user);
        ig_tensor_free(xu);
        ig_tensor_free(x);
        ig_tensor_free(y);
    }
}

static void ref_rows(struct qctx *q, struct ig_tensor *x, struct ig_tensor *y, int64_t k, int64_t off, void *user)
{
    (void)k, (void)off;
    CHECK(ig_al_engine_ref_add_batch_scaled(q->e, x, y, *(const float *)user));
}

static void score_rows(struct qctx *q, struct ig_tensor *x, struct ig_tensor *y, int64_t k, int64_t off, void *user)
{
    double *t = user, dot[Q_EVAL], tdot[Q_EVAL], sq[Q_EVAL], dd[Q_EVAL], dsq[Q_EVAL];
    struct ig_al_ref_stats rs;
    CHECK(ig_al_engine_ref_stats(q->e, &rs));
    CHECK(ig_al_engine_batch(q->e, x, y, dot, tdot, sq));
    ig_al_instance_terms((size_t)k, dot, tdot, sq, WD, &rs, dd, dsq);
    ig_al_scores_from_dots(IG_AL_DS, (size_t)k, dd, dsq, rs.ref_sq, t + off);
}

/* Reference over rows[0..n) scaled by alpha, + n_all wd θ; then DS of NLI into ds. Returns
 * {reference seconds, scoring seconds}. */
static void ref_and_score(struct qctx *q, const int64_t *rows, int64_t n, float alpha, int64_t n_all, const int64_t *nli,
                          double *ds, double *secs)
{
    double t0 = ig_now_seconds();
    CHECK(ig_al_engine_ref_zero(q->e));
    rows_pass(q, rows, n, ref_rows, &alpha);
    CHECK(ig_al_engine_ref_add_theta(q->e, (float)n_all * WD));
    double t1 = ig_now_seconds();
    rows_pass(q, nli, Q_K, score_rows, ds);
    secs[0] += t1 - t0;
    secs[1] += ig_now_seconds() - t1;
}

static void train_epoch(struct qctx *q, struct ig_optim *opt, const int64_t *rows, int64_t n, int64_t epoch)
{
    struct ig_loader_params lp = ig_loader_params_default();
    lp.batch_size = Q_BATCH;
    lp.seed = 7;
    struct ig_loader *l;
    struct ig_graph *g;
    CHECK(ig_loader_new(&l, q->be, &q->ds, rows, n, lp));
    CHECK(ig_loader_start_epoch(l, epoch));
    CHECK(ig_graph_new(q->be, &g));
    ig_model_set_train(q->m, true);
    struct ig_batch b;
    bool got = true;
    for (;;) {
        CHECK(ig_loader_next(l, &b, &got));
        if (!got) break;
        CHECK(ig_model_train_step(q->m, opt, g, b.x, b.y, NULL, NULL));
    }
    CHECK(ig_backend_sync(q->be));
    ig_graph_free(g);
    ig_loader_free(l);
}

static bool quick_data(struct qctx *q, const char *data_dir)
{
    if (ig_cifar10_load(&q->ds, data_dir, IG_DATA_TRAIN, Q_SUBSET) == IG_OK && q->ds.n == Q_SUBSET) return true;
    fprintf(stderr, "bench_al: no CIFAR-10 in %s (%s); the AL epoch runs on random pixels\n", data_dir, ig_last_error());
    ig_dataset_free(&q->ds);
    q->ds = (struct ig_dataset){.n = Q_SUBSET, .channels = 3, .height = 32, .width = 32, .num_classes = 10};
    q->ds.images = malloc((size_t)Q_SUBSET * 3072);
    q->ds.labels = malloc((size_t)Q_SUBSET * sizeof(int32_t));
    struct ig_rng r;
    ig_rng_seed(&r, 11);
    for (size_t i = 0; i < (size_t)Q_SUBSET * 3072; i++) q->ds.images[i] = (uint8_t)(ig_rng_uniform(&r) * 256);
    for (int i = 0; i < Q_SUBSET; i++) q->ds.labels[i] = i % 10;
    return false;
}

/* Rows of the dataset as a contiguous u8 matrix (the regressor's features). */
static uint8_t *feature_rows(const struct ig_dataset *ds, const int64_t *idx, int64_t n)
{
    uint8_t *f = malloc((size_t)n * 3072);
    if (!f) ig_bench_die("bench_al", "features", "out of memory");
    for (int64_t i = 0; i < n; i++) memcpy(f + i * 3072, ds->images + idx[i] * 3072, 3072);
    return f;
}

/* Regressor fit on NLI, prediction on UI, top-k selection; secs[0..2] += their seconds. */
static void fit_predict_select(const struct ig_dataset *ds, const int64_t *nli, const double *score, const int64_t *ui,
                               int64_t n_ui, double *secs)
{
    uint8_t *fx = feature_rows(ds, nli, Q_K), *fu = feature_rows(ds, ui, n_ui);
    float y[Q_K], *pred = malloc((size_t)n_ui * sizeof *pred);
    double *pd = malloc((size_t)n_ui * sizeof *pd);
    size_t *pick = malloc(Q_K * sizeof *pick);
    for (int i = 0; i < Q_K; i++) y[i] = (float)score[i];
    struct ig_gbr_params gp = ig_gbr_params_default();
    gp.n_estimators = 200;
    gp.n_threads = g_threads;
    struct ig_gbr *gbr;
    double t0 = ig_now_seconds();
    if (ig_gbr_fit_u8(&gbr, fx, Q_K, 3072, y, &gp) != IG_REGRESS_OK) ig_bench_die("bench_al", "gbr fit", "failed");
    double t1 = ig_now_seconds();
    if (ig_gbr_predict_u8(gbr, fu, (size_t)n_ui, 3072, pred) != IG_REGRESS_OK) ig_bench_die("bench_al", "gbr predict", "failed");
    double t2 = ig_now_seconds();
    for (int64_t i = 0; i < n_ui; i++) pd[i] = pred[i];
    CHECK(ig_al_topk(pd, (size_t)n_ui, Q_K, pick));
    secs[0] += t1 - t0, secs[1] += t2 - t1, secs[2] += ig_now_seconds() - t2;
    ig_gbr_free(gbr);
    free(fx), free(fu), free(pred), free(pd), free(pick);
}

/* Core-set selection (greedy k-centre, exact double distances) at n pool x n labeled rows of the
 * paper CNN's 512 penultimate features, k 100: the kernels of the backend's instruction set and the
 * generic ones, alternating, medians and ratio (the same picks: checked). */
static void bench_coreset(struct ig_backend *be, bool quick, int runs)
{
    const size_t n = quick ? 2000 : 4000, F = 512, k = 100;
    float *pool = malloc(n * F * sizeof *pool), *lab = malloc(n * F * sizeof *lab);
    size_t *pa = malloc(k * sizeof *pa), *pb = malloc(k * sizeof *pb);
    if (!pool || !lab || !pa || !pb) ig_bench_die("bench_al", "coreset", "out of memory");
    uint64_t st = 11;
    for (size_t i = 0; i < n * F; i++) pool[i] = (float)ig_rng_unit(ig_splitmix64_next(&st));
    for (size_t i = 0; i < n * F; i++) lab[i] = (float)ig_rng_unit(ig_splitmix64_next(&st));
    enum ig_regress_isa isa = ig_al_kernel_isa(be);
    double t[2][MAXR];
    for (int r = 0; r < runs; r++)
        for (int v = 0; v < 2; v++) {
            double t0 = ig_now_seconds();
            CHECK(ig_al_coreset_select_isa(pool, n, lab, n, F, k, v ? pb : pa, v ? IG_REGRESS_ISA_GENERIC : isa));
            t[v][r] = ig_now_seconds() - t0;
        }
    if (memcmp(pa, pb, k * sizeof *pa)) ig_bench_die("bench_al", "coreset", "the picks differ between instruction sets");
    char cs[96];
    double ours = ig_bench_median(t[0], runs), generic = ig_bench_median(t[1], runs);
    snprintf(cs, sizeof cs, "coreset_select.%zux%zux%zu.k%zu", n, n, F, k);
    line(cs, NULL, "seconds", ours, "s", be, runs);
    snprintf(cs, sizeof cs, "coreset_select.%zux%zux%zu.k%zu.generic_isa", n, n, F, k);
    line(cs, NULL, "seconds", generic, "s", be, runs);
    snprintf(cs, sizeof cs, "coreset_select.%zux%zux%zu.k%zu.speedup_vs_generic_isa", n, n, F, k);
    line(cs, NULL, "ratio", generic / ours, "x", be, runs);
    free(pool), free(lab), free(pa), free(pb);
}

/* One AL epoch of DS at the quick preset, split by phase; then the cost and rank agreement of
 * the reference estimated from Q_SUB_REF random rows of LI ∪ NLI (--reference full:N). */
static void bench_al_epoch(struct ig_backend *be, const char *data_dir)
{
    struct qctx q = {.be = be};
    bool real = quick_data(&q, data_dir);
    int64_t *li = malloc(Q_SUBSET * sizeof *li), *ui = malloc(Q_SUBSET * sizeof *ui), n_li, n_ui;
    CHECK(ig_al_split(Q_SUBSET, 0.5, 1, li, &n_li, ui, &n_ui));
    int64_t *lab = malloc((size_t)(n_li + Q_K) * sizeof *lab), n_lab = n_li + Q_K;   /* LI ∪ NLI, NLI = ui[0..k) */
    memcpy(lab, li, (size_t)n_li * sizeof *lab);
    memcpy(lab + n_li, ui, Q_K * sizeof *lab);
    const int64_t *nli = ui;
    CHECK(ig_model_small_cnn(&q.m, be, 3, 32, 32, 10, 1));
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 1e-3f;
    ap.weight_decay = WD;
    struct ig_optim *opt;
    CHECK(ig_optim_adam_new(&opt, q.m, ap));
    q.e = engine_new(q.m, IG_AL_PARAMS_ALL);
    int64_t xs[4] = {Q_EVAL, 3, 32, 32};
    q.xu8 = ig_tensor_new(be, IG_DTYPE_U8, 4, xs), q.x = ig_tensor_new(be, IG_DTYPE_F32, 4, xs);
    q.y = ig_tensor_new(be, IG_DTYPE_I32, 1, xs);
    train_epoch(&q, opt, li, n_li, 0);   /* line 1 (one epoch, untimed) */
    double t_train = 0, rs[2] = {0, 0}, fs[3] = {0, 0, 0}, ds[Q_K], mean[Q_K] = {0}, est[Q_K], es[2] = {0, 0};
    for (int ep = 0; ep < Q_EPOCHS; ep++) {
        double t0 = ig_now_seconds();
        train_epoch(&q, opt, lab, n_lab, ep + 1);
        t_train += ig_now_seconds() - t0;
        ref_and_score(&q, lab, n_lab, 1.0f, n_lab, nli, ds, rs);
        for (int i = 0; i < Q_K; i++) mean[i] += ds[i] / Q_EPOCHS;
    }
    fit_predict_select(&q.ds, nli, mean, ui + Q_K, n_ui - Q_K, fs);
    /* full:N: a random subset of LI ∪ NLI, scaled by n / N */
    uint64_t rs5 = 5;
    int64_t *perm = malloc((size_t)n_lab * sizeof *perm), *sub = malloc(Q_SUB_REF * sizeof *sub);
    ig_splitmix64_permutation(&rs5, perm, n_lab);
    for (int i = 0; i < Q_SUB_REF; i++) sub[i] = lab[perm[i]];
    ref_and_score(&q, sub, Q_SUB_REF, (float)n_lab / Q_SUB_REF, n_lab, nli, est, es);
    double rho = ig_al_spearman(ds, est, Q_K);
    const char *names[6] = {"train", "reference", "scoring", "regressor_fit", "prediction", "selection"};
    double v[6] = {t_train, rs[0], rs[1], fs[0], fs[1], fs[2]}, total = 0;
    char cs[128];
    for (int i = 0; i < 6; i++) {
        snprintf(cs, sizeof cs, "quick_al_epoch.ds.%s%s", names[i], real ? "" : ".random_pixels");
        line(cs, NULL, "seconds", v[i], "s", be, 1);
        total += v[i];
    }
    snprintf(cs, sizeof cs, "quick_al_epoch.ds.total%s", real ? "" : ".random_pixels");
    line(cs, NULL, "seconds", total, "s", be, 1);
    snprintf(cs, sizeof cs, "quick_al_epoch.reference_full_%d.seconds_per_pass", Q_SUB_REF);
    line(cs, NULL, "seconds", es[0], "s", be, 1);
    snprintf(cs, sizeof cs, "quick_al_epoch.reference_full_%d.spearman_vs_full", Q_SUB_REF);
    line(cs, NULL, "ratio", rho, "rho", be, 1);
    free(perm), free(sub), free(li), free(ui), free(lab);
    ig_tensor_free(q.xu8), ig_tensor_free(q.x), ig_tensor_free(q.y);
    ig_al_engine_free(q.e);
    ig_optim_free(opt);
    ig_model_free(q.m);
    ig_dataset_free(&q.ds);
}

int main(int argc, char **argv)
{
    (void)ig_bench_peer_dir(IG_BENCH_PEER_DIR);   /* a bad IGRADV_BENCH_PEERS stops here, before any work */
    bool quick = false, peer = true, epoch = true, models = true;
    const char *dev = NULL, *data = "data/cifar-10-batches-bin";
    int runs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--no-peer")) peer = false;
        else if (!strcmp(argv[i], "--no-al-epoch")) epoch = false;
        else if (!strcmp(argv[i], "--al-epoch-only")) models = false;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) dev = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc && (runs = atoi(argv[++i])) >= 1 && runs <= MAXR) continue;
        else {
            fprintf(stderr, "usage: bench_al [--quick] [--runs 1..%d] [--device cpu|opencl|opencl:P:D] [--no-peer]\n"
                            "                [--no-al-epoch | --al-epoch-only] [--data CIFAR10_DIR]\n", MAXR);
            return 2;
        }
    }
    struct ig_backend *be;
    CHECK(dev ? ig_backend_init(dev, &be) : ig_backend_init_cpu(&be, 0));
    ig_bench_set_isa(ig_backend_isa_name(be)[0] ? ig_backend_isa_name(be) : "opencl");
    g_threads = ig_bench_omp_threads();
    if (runs == 0) runs = quick ? 3 : 7;
    bool torch = models && peer && ig_bench_python_has("torch") && ig_bench_python_has("safetensors");
    if (models && peer && !torch) fprintf(stderr, "bench_al: torch or safetensors not importable, skipping the vmap peer\n");
    if (models) bench_model(be, "small_cnn", false, 64, runs, false);
    if (models) bench_model(be, "paper_cnn", true, quick ? 16 : 32, runs, torch);
    if (epoch) bench_al_epoch(be, data);
    if (epoch) bench_coreset(be, quick, quick ? 2 : 3);
    ig_backend_free(be);
    return 0;
}
