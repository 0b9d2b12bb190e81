/* Data-parallel checks under mpirun -np 2 (tests/test_mpi.sh): reduced gradients equal the one-process minibatch gradient, batch-norm buffers follow the stated per-rank rule, a whole AL run selects what one process selects, and the reduction overlapped with the backward pass equals the blocking one bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ig_al.h"
#include "ig_test_al.h"
#include "ig_dist.h"
#include "ig_nn.h"
#include "ig_test_util.h"

/* Float tolerance of data parallelism (docs/SCALING.md): the same sums in another order. */
#define DP_RTOL 1e-4
#define DP_ATOL 1e-6

static struct ig_dist *dist;
static struct ig_backend *be;

enum { NTR = 240, NTE = 80, CH = 3, HH = 6, WW = 6, NCL = 3, FEAT = CH * HH * WW };
static uint8_t tr_img[NTR * FEAT], te_img[NTE * FEAT];
static int32_t tr_lab[NTR], te_lab[NTE];

/* rows 0..n-1 of one of the two synthetic sets */
static struct ig_dataset data_of(uint8_t *img, int32_t *lab, int n)
{
    return (struct ig_dataset){.n = n, .channels = CH, .height = HH, .width = WW, .images = img, .labels = lab, .num_classes = NCL};
}
#define tr_data() data_of(tr_img, tr_lab, NTR)
#define te_data() data_of(te_img, te_lab, NTE)

static struct ig_model *new_model(bool bn, uint64_t seed)
{
    struct ig_model *m = NULL;
    if (bn) ck_assert_int_eq(ig_model_small_cnn(&m, be, CH, HH, WW, NCL, seed), IG_OK);
    else ck_assert_int_eq(ig_model_mlp(&m, be, FEAT, 16, NCL, seed), IG_OK);
    return m;
}

/* Every parameter (grads: its gradient) then every running buffer, flat on the host. */
static int64_t flatten(struct ig_model *m, bool grads, bool buffers, float *out)
{
    int64_t off = 0;
    for (int i = 0; i < ig_model_num_param_tensors(m); i++) {
        struct ig_var *v = ig_model_param_at(m, i, NULL, NULL);
        struct ig_tensor *t = grads ? ig_var_grad(v) : ig_var_value(v);
        int64_t n = ig_tensor_numel(t);
        if (out) ck_assert_int_eq(ig_tensor_to_host(t, out + off, (size_t)n * sizeof *out), IG_OK);
        off += n;
    }
    for (int i = 0; buffers && i < m->n_buffers; i++) {
        struct ig_tensor *t = m->buffers[i].t;
        if (m->buffers[i].is_count) continue;
        int64_t n = ig_tensor_numel(t);
        if (out) ck_assert_int_eq(ig_tensor_to_host(t, out + off, (size_t)n * sizeof *out), IG_OK);
        off += n;
    }
    return off;
}

/* One Adam step of m on rows[0..n) of the training data. */
static void step(struct ig_model *m, struct ig_optim *opt, const int64_t *rows, int64_t n)
{
    struct ig_dataset tr = tr_data();
    struct ig_batcher *b = NULL;
    struct ig_graph *g = NULL;
    ck_assert_int_eq(ig_batcher_new(&b, be, &tr, 64, ig_data_norm_default()), IG_OK);
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    struct ig_tensor *x, *y;
    ck_assert_int_eq(ig_batcher_fill(b, rows, n, &x, &y), IG_OK);
    ck_assert_msg(ig_model_train_step(m, opt, g, x, y, NULL, NULL) == IG_OK, "%s", ig_last_error());
    ig_graph_free(g);
    ig_batcher_free(b);
}

static struct ig_optim *adam(struct ig_model *m)
{
    struct ig_optim *o = NULL;
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 1e-2f;
    ap.weight_decay = 5e-4f;
    ck_assert_int_eq(ig_optim_adam_new(&o, m, ap), IG_OK);
    return o;
}

/* Rank 0's bytes equal every rank's. */
static void assert_same_on_ranks(const void *v, int64_t bytes)
{
    char *r0 = malloc((size_t)bytes);
    memcpy(r0, v, (size_t)bytes);
    ck_assert_int_eq(ig_dist_bcast(dist, r0, bytes, 0), IG_OK);
    ck_assert_msg(!memcmp(r0, v, (size_t)bytes), "rank %d differs from rank 0", ig_dist_rank(dist));
    free(r0);
}

static void setup(void)
{
    ig_test_class_images(tr_img, tr_lab, NTR, CH, HH * WW, NCL, 1);
    ig_test_class_images(te_img, te_lab, NTE, CH, HH * WW, NCL, 2);
    ck_assert_int_eq(ig_backend_init_cpu(&be, 1), IG_OK);
}
static void teardown(void) { ig_backend_free(be); }

START_TEST(test_range_blocks)
{
    /* the blocks of 0..n-1 over the ranks tile it exactly; n < size: everyone takes all */
    for (int64_t n = 0; n < 9; n++) {
        int64_t lo, hi;
        ig_dist_range(dist, n, &lo, &hi);
        double cover[9] = {0};
        for (int64_t i = lo; i < hi; i++) cover[i] = 1;
        ck_assert_int_eq(ig_dist_sum_f64(dist, cover, 9), IG_OK);
        for (int64_t i = 0; i < 9; i++) ck_assert_double_eq(cover[i], i < n ? (n < 2 ? 2.0 : 1.0) : 0.0);
    }
    int64_t lo, hi;
    ig_dist_range(NULL, 7, &lo, &hi);
    ck_assert(lo == 0 && hi == 7);
    ck_assert_int_eq(ig_dist_sum_f32(dist, NULL, -1), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_dist_send(dist, 5, 0, "x", 1), IG_ERR_STATE);
}
END_TEST

/* The work queue hands every unit to exactly one rank, also when one rank is slow. */
START_TEST(test_queue_each_unit_once)
{
    for (int64_t n = 0; n < 8; n += 7) {
        struct ig_dist_queue *q = NULL;
        ck_assert_int_eq(ig_dist_queue_new(&q, dist, n), IG_OK);
        double taken[8] = {0}, mine = 0;
        int64_t u;
        for (;;) {
            ck_assert_int_eq(ig_dist_queue_next(q, &u), IG_OK);
            if (u < 0) break;
            ck_assert(u < n);
            taken[u] += 1;
            mine += 1;
            if (ig_dist_rank(dist) == 1) {   /* a slow rank: the other takes more */
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        ig_dist_queue_free(q);
        ck_assert_int_eq(ig_dist_sum_f64(dist, taken, 8), IG_OK);
        for (int64_t i = 0; i < 8; i++) ck_assert_double_eq(taken[i], i < n ? 1.0 : 0.0);
        double share[2] = {ig_dist_rank(dist) == 0 ? mine : 0, ig_dist_rank(dist) == 1 ? mine : 0};
        ck_assert_int_eq(ig_dist_sum_f64(dist, share, 2), IG_OK);
        if (n) ck_assert(share[0] > share[1]);
    }
    struct ig_dist_queue *q = NULL;   /* one process: 0, 1, 2, then -1 */
    ck_assert_int_eq(ig_dist_queue_new(&q, NULL, 3), IG_OK);
    for (int64_t i = 0, u; i < 4; i++) {
        ck_assert_int_eq(ig_dist_queue_next(q, &u), IG_OK);
        ck_assert_int_eq(u, i < 3 ? i : -1);
    }
    ig_dist_queue_free(q);
    ck_assert_int_eq(ig_dist_queue_new(&q, dist, -1), IG_ERR_INVALID_ARG);
}
END_TEST

/* MLP (no batch norm): the reduced gradient is the one-process gradient of the whole
 * minibatch, for an even, an odd and a smaller-than-the-ranks minibatch. */
START_TEST(test_dp_gradient_equals_one_process)
{
    static const int64_t sizes[] = {10, 7, 1};
    for (size_t c = 0; c < 6; c++) {   /* each size overlapped, then blocking */
        ig_dist_dp_set_overlap(dist, c < 3);
        int64_t n = sizes[c % 3], rows[10], lo, hi;
        for (int64_t i = 0; i < n; i++) rows[i] = 3 * i + 1;
        struct ig_model *ref = new_model(false, 5), *dp = new_model(false, 5);
        struct ig_optim *oref = adam(ref), *odp = adam(dp);
        ck_assert_int_eq(ig_dist_dp_attach(dist, odp, dp), IG_OK);
        step(ref, oref, rows, n);
        ig_dist_dp_batch(dist, n, &lo, &hi);
        if (n >= 2) ck_assert_int_lt(hi - lo, n);
        step(dp, odp, rows + lo, hi - lo);
        int64_t np = flatten(ref, true, false, NULL);
        float *gr = malloc((size_t)np * sizeof *gr), *gd = malloc((size_t)np * sizeof *gd);
        flatten(ref, true, false, gr);
        flatten(dp, true, false, gd);
        double worst = ig_test_close_ratio(gd, gr, (size_t)np, DP_RTOL, DP_ATOL);
        ck_assert_msg(worst <= 1, "n %lld: gradient off by %.3g of the tolerance", (long long)n, worst);
        flatten(ref, false, false, gr);
        flatten(dp, false, false, gd);
        worst = ig_test_close_ratio(gd, gr, (size_t)np, DP_RTOL, DP_ATOL);
        ck_assert_msg(worst <= 1, "n %lld: parameters after Adam off by %.3g of the tolerance", (long long)n, worst);
        assert_same_on_ranks(gd, np * (int64_t)sizeof *gd);
        if (n >= 2) ck_assert_int_eq(ig_dist_dp_stats(dist).floats, np);
        free(gr);
        free(gd);
        ig_optim_free(oref);
        ig_optim_free(odp);
        ig_model_free(ref);
        ig_model_free(dp);
    }
    ig_dist_dp_set_overlap(dist, true);
}
END_TEST

/* Batch norm, per-rank statistics: the reduced gradient is Σ_r (n_r/n) g_r of each rank's
 * block alone, and the running buffers are the mean of the blocks' buffers, the same on
 * every rank. */
START_TEST(test_dp_batchnorm_per_rank)
{
    int64_t n = 12, rows[12], lo, hi;
    for (int64_t i = 0; i < n; i++) rows[i] = 5 * i;
    struct ig_model *alone = new_model(true, 7), *dp = new_model(true, 7);
    struct ig_optim *oa = adam(alone), *odp = adam(dp);
    ck_assert_int_eq(ig_dist_dp_attach(dist, odp, dp), IG_OK);
    ig_dist_dp_batch(dist, n, &lo, &hi);
    step(alone, oa, rows + lo, hi - lo);   /* this rank's block as a one-process step */
    step(dp, odp, rows + lo, hi - lo);
    int64_t np = flatten(alone, true, false, NULL), nall = flatten(alone, false, true, NULL);
    float *ga = malloc((size_t)nall * sizeof *ga), *gd = malloc((size_t)nall * sizeof *gd);
    flatten(alone, true, false, ga);
    for (int64_t i = 0; i < np; i++) ga[i] *= (float)(hi - lo) / (float)n;
    ck_assert_int_eq(ig_dist_sum_f32(dist, ga, np), IG_OK);
    flatten(dp, true, false, gd);
    double worst = ig_test_close_ratio(gd, ga, (size_t)np, DP_RTOL, DP_ATOL);
    ck_assert_msg(worst <= 1, "gradient off by %.3g of the tolerance", worst);
    flatten(alone, false, true, ga);
    for (int64_t i = np; i < nall; i++) ga[i] /= (float)ig_dist_size(dist);
    ck_assert_int_eq(ig_dist_sum_f32(dist, ga + np, nall - np), IG_OK);
    flatten(dp, false, true, gd);
    ck_assert_int_gt(nall - np, 0);
    worst = ig_test_close_ratio(gd + np, ga + np, (size_t)(nall - np), DP_RTOL, DP_ATOL);
    ck_assert_msg(worst <= 1, "running statistics off by %.3g of the tolerance", worst);
    assert_same_on_ranks(gd, nall * (int64_t)sizeof *gd);
    free(ga);
    free(gd);
    ig_optim_free(oa);
    ig_optim_free(odp);
    ig_model_free(alone);
    ig_model_free(dp);
}
END_TEST

/* One data-parallel step of m on this rank's block of the n images x[n,3,32,32], labels y. */
static void paper_step(struct ig_model *m, struct ig_optim *o, const float *x, const int32_t *y, int64_t n)
{
    int64_t lo, hi;
    ig_dist_dp_batch(dist, n, &lo, &hi);
    int64_t shape[4] = {hi - lo, 3, 32, 32};
    struct ig_tensor *xt = ig_tensor_from_host(be, IG_DTYPE_F32, 4, shape, x + lo * 3 * 32 * 32);
    struct ig_tensor *yt = ig_tensor_from_host(be, IG_DTYPE_I32, 1, shape, y + lo);
    struct ig_graph *g = NULL;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ck_assert_msg(ig_model_train_step(m, o, g, xt, yt, NULL, NULL) == IG_OK, "%s", ig_last_error());
    ig_graph_free(g);
    ig_tensor_free(xt);
    ig_tensor_free(yt);
}

/* The paper CNN (batch norm, dropout, 5.85 M parameters: several buckets), two steps overlapped
 * and two blocking: the same gradients, parameters and running statistics bit for bit (each
 * element is the sum of the same two numbers); overlapped, every bucket started during the
 * backward pass; blocking, one allreduce per step. */
START_TEST(test_dp_overlap_equals_blocking)
{
    enum { N = 4, PIX = 3 * 32 * 32 };
    float *x = malloc(N * PIX * sizeof *x);
    int32_t y[N] = {3, 1, 4, 1};
    ig_test_fill_uniform(x, N * PIX, 13, -1, 1);
    struct ig_model *m[2];
    struct ig_optim *o[2];
    struct ig_dist_dp_stats st[2];
    for (int ov = 0; ov < 2; ov++) {
        ck_assert_int_eq(ig_model_paper_cnn(&m[ov], be, 3, 32, 32, 10, 9), IG_OK);
        o[ov] = adam(m[ov]);
        ig_dist_dp_set_overlap(dist, ov);
        ck_assert(ig_dist_dp_overlap(dist) == ov);
        ck_assert_int_eq(ig_dist_dp_attach(dist, o[ov], m[ov]), IG_OK);
        struct ig_dist_dp_stats b = ig_dist_dp_stats(dist);
        for (int k = 0; k < 2; k++) paper_step(m[ov], o[ov], x, y, N);
        st[ov] = ig_dist_dp_stats(dist);
        st[ov].reductions -= b.reductions, st[ov].buckets -= b.buckets, st[ov].early -= b.early;
    }
    ig_dist_dp_set_overlap(dist, true);
    ck_assert(st[0].reductions == 2 && st[0].buckets == 2 && st[0].early == 0);
    ck_assert_int_eq(st[1].reductions, 2);
    ck_assert_msg(st[1].buckets >= 2 * 4 && st[1].early == st[1].buckets, "%lld buckets, %lld early",
                  (long long)st[1].buckets, (long long)st[1].early);
    ck_assert_int_eq(st[0].floats, st[1].floats);
    for (int grads = 0; grads < 2; grads++) {
        int64_t n = flatten(m[0], grads, !grads, NULL);
        float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
        flatten(m[0], grads, !grads, a);
        flatten(m[1], grads, !grads, b);
        ck_assert_msg(!memcmp(a, b, (size_t)n * sizeof *a), "%s differ", grads ? "gradients" : "parameters or statistics");
        assert_same_on_ranks(b, n * (int64_t)sizeof *b);
        free(a);
        free(b);
    }
    for (int ov = 0; ov < 2; ov++) {
        ig_optim_free(o[ov]);
        ig_model_free(m[ov]);
    }
    free(x);
}
END_TEST

/* Overlapped: a second backward before the optimiser step is refused (the gradients are on
 * their way already) and the step still completes on every rank; blocking allows it. */
START_TEST(test_dp_overlap_one_backward_per_step)
{
    struct ig_dataset tr = tr_data();
    struct ig_model *m = new_model(false, 3);
    struct ig_optim *o = adam(m);
    struct ig_batcher *b = NULL;
    struct ig_graph *g = NULL;
    ck_assert_int_eq(ig_batcher_new(&b, be, &tr, 64, ig_data_norm_default()), IG_OK);
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ck_assert_int_eq(ig_dist_dp_attach(dist, o, m), IG_OK);
    static const int64_t rows[8] = {0, 9, 18, 27, 36, 45, 54, 63};
    for (int ov = 1; ov >= 0; ov--) {
        ig_dist_dp_set_overlap(dist, ov);
        int64_t lo, hi;
        ig_dist_dp_batch(dist, 8, &lo, &hi);
        struct ig_tensor *x, *y;
        ck_assert_int_eq(ig_batcher_fill(b, rows + lo, hi - lo, &x, &y), IG_OK);
        ig_optim_zero_grad(o);
        for (int pass = 0; pass < 2; pass++) {
            ig_graph_reset(g);
            struct ig_var *loss = ig_nn_cross_entropy(g, ig_model_forward(m, g, ig_graph_input(g, x, false)), y);
            enum ig_status s = ig_graph_backward(g, loss);
            ck_assert_int_eq(s, ov && pass ? IG_ERR_STATE : IG_OK);
            if (s != IG_OK) ck_assert_ptr_nonnull(strstr(ig_last_error(), "was final twice before the optimiser step"));
        }
        ck_assert_msg(ig_optim_step(o) == IG_OK, "%s", ig_last_error());
    }
    ig_dist_dp_set_overlap(dist, true);
    ig_graph_free(g);
    ig_batcher_free(b);
    ig_optim_free(o);
    ig_model_free(m);
}
END_TEST

/* A whole run (MLP, so the data-parallel run computes the one-process sums in another
 * order): the same rows selected, accuracies within one test image in NTE. */
START_TEST(test_dp_al_run_matches_one_process)
{
    struct ig_dataset tr = tr_data(), te = te_data();
    int64_t li[NTR], ui[NTR], nli, nui;
    ck_assert_int_eq(ig_al_split(NTR, 0.5, 3, li, &nli, ui, &nui), IG_OK);
    static const enum ig_al_method methods[] = {IG_AL_METHOD_DS, IG_AL_METHOD_RLD, IG_AL_METHOD_LCS};
    for (size_t mi = 0; mi < 3; mi++) {
        struct ig_al_result res[3];   /* one process, 2 ranks overlapped, 2 ranks blocking */
        for (int with_dp = 0; with_dp < 3; with_dp++) {
            struct ig_al_params p = ig_test_al_params(methods[mi], 1);
            p.dist = with_dp ? dist : NULL;
            ig_dist_dp_set_overlap(dist, with_dp != 2);
            struct ig_model *m = new_model(false, 21);
            ck_assert_msg(ig_al_run(&res[with_dp], m, &tr, &te, li, nli, ui, nui, &p) == IG_OK, "%s", ig_last_error());
            ig_model_free(m);
        }
        ig_dist_dp_set_overlap(dist, true);
        const char *name = ig_al_method_name(methods[mi]);
        /* overlapped and blocking sum the same two numbers per element: bit-identical on 2 ranks */
        ck_assert_int_eq(res[1].n_labeled, res[2].n_labeled);
        ck_assert_msg(!memcmp(res[1].labeled, res[2].labeled, (size_t)res[1].n_labeled * sizeof *res[1].labeled),
                      "%s: overlapped and blocking select differently", name);
        ck_assert_msg(res[1].a0 == res[2].a0 && res[1].a == res[2].a, "%s: overlapped A %.17g, blocking %.17g", name,
                      res[1].a, res[2].a);
        ig_al_result_free(&res[2]);
        ck_assert_int_eq(res[0].n_labeled, res[1].n_labeled);
        for (int64_t i = 0; i < res[0].n_labeled; i++)
            ck_assert_msg(res[0].labeled[i] == res[1].labeled[i], "%s: selection %lld differs", name, (long long)i);
        ck_assert_msg(fabs(res[0].a0 - res[1].a0) <= 1.0 / NTE + 1e-12, "%s: A0 %g vs %g", name, res[0].a0, res[1].a0);
        ck_assert_msg(fabs(res[0].a - res[1].a) <= 1.0 / NTE + 1e-12, "%s: A %g vs %g", name, res[0].a, res[1].a);
        assert_same_on_ranks(res[1].labeled, res[1].n_labeled * (int64_t)sizeof *res[1].labeled);
        assert_same_on_ranks(&res[1].a, sizeof res[1].a);
        ig_al_result_free(&res[0]);
        ig_al_result_free(&res[1]);
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (ig_dist_init(&dist, &argc, &argv) != IG_OK) {
        fprintf(stderr, "test_mpi_dp: %s\n", ig_last_error());
        return 1;
    }
    if (ig_dist_size(dist) != 2) {
        fprintf(stderr, "test_mpi_dp: run under mpirun -np 2 (tests/test_mpi.sh); got %d rank(s)\n", ig_dist_size(dist));
        ig_dist_finalize(dist);
        return 1;
    }
    Suite *s = suite_create("mpi_dp");
    TCase *tc = tcase_create("dp");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_range_blocks);
    tcase_add_test(tc, test_queue_each_unit_once);
    tcase_add_test(tc, test_dp_gradient_equals_one_process);
    tcase_add_test(tc, test_dp_batchnorm_per_rank);
    tcase_add_test(tc, test_dp_overlap_equals_blocking);
    tcase_add_test(tc, test_dp_overlap_one_backward_per_step);
    tcase_add_test(tc, test_dp_al_run_matches_one_process);
    suite_add_tcase(s, tc);
    int rc = ig_test_run_nofork(s);
    /* every rank must pass: the job fails when one does */
    double bad = rc != 0;
    if (ig_dist_sum_f64(dist, &bad, 1) != IG_OK) bad = 1;
    ig_dist_finalize(dist);
    return bad > 0 ? 1 : 0;
}
