/* Check suite: an MLP and the small CNN learn a fixed synthetic task to 100% training accuracy (Adam and SGD). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_nn.h"
#include "ig_test_util.h"

#define N 96
#define C 3
#define H 16
#define W 16
#define K 4
#define BATCH 16

static struct ig_backend *be;
static float *images;       /* [N,C,H,W] */
static int32_t labels[N];

/* Class c = a fixed random template + noise (amplitude 2.5 against templates of 1). */
static void make_task(void)
{
    size_t d = C * H * W;
    float *tmpl = malloc(K * d * sizeof *tmpl), *noise = malloc(N * d * sizeof *noise);
    images = malloc(N * d * sizeof *images);
    ig_test_fill_uniform(tmpl, K * d, 1000, -1, 1);
    ig_test_fill_uniform(noise, N * d, 2000, -2.5f, 2.5f);
    for (int i = 0; i < N; i++) {
        labels[i] = (int32_t)((i * 7 + i / 5) % K);
        for (size_t j = 0; j < d; j++) images[i * d + j] = tmpl[(size_t)labels[i] * d + j] + noise[i * d + j];
    }
    free(tmpl);
    free(noise);
}

static void setup(void)
{
    be = ig_test_backend_open();
    make_task();
}

static void teardown(void)
{
    free(images);
    ig_test_backend_close(&be);
}

/* Train for up to max_epochs of shuffled minibatches; returns the epoch at which the
 * eval-mode accuracy on the whole set first reached 100% (or -1). */
static int train(struct ig_model *m, struct ig_optim *opt, int max_epochs, float *first_loss, float *last_loss)
{
    size_t d = C * H * W;
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    int64_t xs[4] = {BATCH, C, H, W}, ys[1] = {BATCH}, axs[4] = {N, C, H, W}, ays[1] = {N};
    struct ig_tensor *x = ig_tensor_new(be, IG_DTYPE_F32, 4, xs), *y = ig_tensor_new(be, IG_DTYPE_I32, 1, ys);
    struct ig_tensor *ax = ig_tensor_from_host(be, IG_DTYPE_F32, 4, axs, images);
    struct ig_tensor *ay = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ays, labels);
    float *hx = malloc(BATCH * d * sizeof *hx);
    int32_t hy[BATCH];
    int64_t perm[N];
    struct ig_rng rng;
    ig_rng_seed(&rng, 5);
    int reached = -1;
    *first_loss = NAN;
    for (int epoch = 0; epoch < max_epochs && reached < 0; epoch++) {
        ig_rng_permutation(&rng, perm, N);
        double sum = 0;
        for (int b = 0; b < N / BATCH; b++) {
            for (int i = 0; i < BATCH; i++) {
                memcpy(hx + i * d, images + (size_t)perm[b * BATCH + i] * d, d * sizeof *hx);
                hy[i] = labels[perm[b * BATCH + i]];
            }
            ck_assert_int_eq(ig_tensor_from_host_into(x, hx, BATCH * d * sizeof *hx), IG_OK);
            ck_assert_int_eq(ig_tensor_from_host_into(y, hy, sizeof hy), IG_OK);
            float loss;
            enum ig_status s = ig_model_train_step(m, opt, g, x, y, &loss, NULL);
            if (s != IG_OK) ck_abort_msg("train step: %s", ig_last_error());
            sum += loss;
        }
        if (epoch == 0) *first_loss = (float)(sum / (N / BATCH));
        *last_loss = (float)(sum / (N / BATCH));
        ig_model_set_train(m, false);
        int64_t correct = 0;
        ck_assert_int_eq(ig_model_eval_batch(m, g, ax, ay, NULL, &correct), IG_OK);
        if (correct == N) reached = epoch;
        if (getenv("IG_TEST_VERBOSE")) fprintf(stderr, "epoch %d loss %.4f correct %lld\n", epoch, sum / (N / BATCH), (long long)correct);
    }
    free(hx);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_tensor_free(ax);
    ig_tensor_free(ay);
    ig_graph_free(g);
    return reached;
}

/* Adam (lr 3e-3) on m for up to 40 epochs: its optimiser, the epoch of 100% accuracy and the losses (see train) */
struct adam_run {
    struct ig_optim *opt;
    int epoch;
    float l0, l1;
};

static struct adam_run train_adam(struct ig_model *m)
{
    struct adam_run r;
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 3e-3f;
    ck_assert_int_eq(ig_optim_adam_new(&r.opt, m, ap), IG_OK);
    r.epoch = train(m, r.opt, 40, &r.l0, &r.l1);
    return r;
}

START_TEST(test_mlp_adam)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_mlp(&m, be, C * H * W, 32, K, 7), IG_OK);
    struct adam_run r = train_adam(m);
    ck_assert_msg(r.epoch >= 0, "MLP did not reach 100%% training accuracy (loss %g -> %g)", r.l0, r.l1);
    ck_assert(r.epoch == 0 || r.l1 < r.l0);
    ck_assert_int_eq(ig_optim_steps(r.opt), (int64_t)(r.epoch + 1) * (N / BATCH));
    ig_optim_free(r.opt);
    ig_model_free(m);
}
END_TEST

START_TEST(test_mlp_sgd)
{
    struct ig_model *m;
    struct ig_optim *opt;
    ck_assert_int_eq(ig_model_mlp(&m, be, C * H * W, 32, K, 8), IG_OK);
    struct ig_sgd_params sp = ig_sgd_params_default();
    sp.lr = 0.02f;
    sp.momentum = 0.9f;
    ck_assert_int_eq(ig_optim_sgd_new(&opt, m, sp), IG_OK);
    float l0, l1;
    int epoch = train(m, opt, 60, &l0, &l1);
    ck_assert_msg(epoch >= 0, "MLP (SGD) did not reach 100%% training accuracy (loss %g -> %g)", l0, l1);
    ig_optim_free(opt);
    ig_model_free(m);
}
END_TEST

START_TEST(test_small_cnn_adam)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, C, H, W, K, 9), IG_OK);
    struct adam_run r = train_adam(m);
    ck_assert_msg(r.epoch >= 0, "small CNN did not reach 100%% training accuracy (loss %g -> %g)", r.l0, r.l1);
    ck_assert(r.epoch == 0 || r.l1 < r.l0);
    ig_optim_free(r.opt);
    ig_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_small");
    TCase *tc = IG_TEST_CASE(s, "synthetic", 300, test_mlp_adam, test_mlp_sgd, test_small_cnn_adam);
    tcase_add_checked_fixture(tc, setup, teardown);
    return ig_test_run(s);
}
