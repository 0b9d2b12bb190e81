/* Check suite for nn: RNG, PyTorch initialisation, the paper CNN's state_dict, batch norm / dropout modes, Adam and SGD, checkpoints, the ReLU / max-pool order. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ig_nn.h"
#include "ig_safetensors.h"
#include "ig_test_util.h"

static struct ig_backend *be;

static void setup(void) { be = ig_test_backend_open(); }
static void teardown(void) { ig_test_backend_close(&be); }

static float *to_host(const struct ig_tensor *t)
{
    float *h = malloc(ig_tensor_nbytes(t));
    ck_assert_int_eq(ig_tensor_to_host(t, h, ig_tensor_nbytes(t)), IG_OK);
    return h;
}

START_TEST(test_rng)
{
    struct ig_rng a, b;
    ig_rng_seed(&a, 42);
    ig_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(ig_rng_next(&a), ig_rng_next(&b));
    ig_rng_seed(&b, 43);
    ck_assert_uint_ne(ig_rng_next(&a), ig_rng_next(&b));
    double sum = 0;
    int hist[10] = {0};
    for (int i = 0; i < 100000; i++) {
        double u = ig_rng_uniform(&a);
        ck_assert(u >= 0 && u < 1);
        sum += u;
        hist[ig_rng_below(&a, 10)]++;
    }
    ck_assert(fabs(sum / 100000 - 0.5) < 0.01);
    for (int i = 0; i < 10; i++) ck_assert(abs(hist[i] - 10000) < 600);
    int64_t perm[1000];
    int seen[1000] = {0};
    ig_rng_permutation(&a, perm, 1000);
    int fixed = 0;
    for (int i = 0; i < 1000; i++) {
        ck_assert(perm[i] >= 0 && perm[i] < 1000);
        seen[perm[i]]++;
        fixed += perm[i] == i;
    }
    for (int i = 0; i < 1000; i++) ck_assert_int_eq(seen[i], 1);
    ck_assert_int_lt(fixed, 10);
}
END_TEST

/* kaiming_uniform(a=sqrt(5)): U(+-1/sqrt(fan_in)), variance bound^2/3 */
START_TEST(test_init_distributions)
{
    struct ig_rng r;
    ig_rng_seed(&r, 1);
    struct ig_module *conv = ig_conv2d_new(be, &r, 64, 128, 3, 1, 1, true);
    struct ig_module *bn = ig_batchnorm2d_new(be, 16);
    ck_assert_ptr_nonnull(conv);
    ck_assert_ptr_nonnull(bn);
    float *w = to_host(ig_var_value(conv->weight)), *b = to_host(ig_var_value(conv->bias));
    int64_t n = 128 * 64 * 9;
    double bound = 1.0 / sqrt(64.0 * 9.0), s = 0, s2 = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert(fabs(w[i]) <= bound);
        s += w[i];
        s2 += (double)w[i] * w[i];
        if (fabs(w[i]) > mx) mx = fabs(w[i]);
    }
    ck_assert(fabs(s / n) < 0.01 * bound);
    ck_assert(fabs(s2 / n / (bound * bound / 3) - 1) < 0.03);
    ck_assert(mx > 0.99 * bound);
    for (int i = 0; i < 128; i++) ck_assert(fabs(b[i]) <= bound);
    float *g = to_host(ig_var_value(bn->weight)), *be_ = to_host(ig_var_value(bn->bias));
    float *rm = to_host(bn->running_mean), *rv = to_host(bn->running_var);
    for (int i = 0; i < 16; i++) {
        ck_assert_float_eq(g[i], 1.0f);
        ck_assert_float_eq(be_[i], 0.0f);
        ck_assert_float_eq(rm[i], 0.0f);
        ck_assert_float_eq(rv[i], 1.0f);
    }
    free(w), free(b), free(g), free(be_), free(rm), free(rv);
    ig_module_free(conv);
    ig_module_free(bn);
    ck_assert_ptr_null(ig_conv2d_new(be, &r, 0, 4, 3, 1, 1, true));
    ck_assert_ptr_null(ig_dropout_new(1.0f));
}
END_TEST

static enum ig_status count_hook(const struct ig_layer_grad *lg, void *user)
{
    ((int *)user)[lg->op]++;
    return IG_OK;
}

START_TEST(test_paper_cnn_state_dict)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_paper_cnn(&m, be, 3, 32, 32, 10, 1), IG_OK);
    ck_assert_int_eq(ig_model_num_params(m), 5852170);
    /* PyTorch state_dict keys and shapes */
    struct { const char *name; int ndim; int64_t shape[4]; } want[] = {
        {"features.0.weight", 4, {32, 3, 3, 3}},   {"features.0.bias", 1, {32}},
        {"features.1.weight", 1, {32}},            {"features.1.bias", 1, {32}},
        {"features.3.weight", 4, {64, 32, 3, 3}},  {"features.6.weight", 4, {128, 64, 3, 3}},
        {"features.7.weight", 1, {128}},           {"features.9.weight", 4, {128, 128, 3, 3}},
        {"features.13.weight", 4, {256, 128, 3, 3}}, {"features.14.bias", 1, {256}},
        {"features.16.weight", 4, {256, 256, 3, 3}}, {"features.16.bias", 1, {256}},
        {"classifier.1.weight", 2, {1024, 4096}},  {"classifier.1.bias", 1, {1024}},
        {"classifier.3.weight", 2, {512, 1024}},   {"classifier.6.weight", 2, {10, 512}},
        {"classifier.6.bias", 1, {10}},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct ig_var *p = ig_model_param(m, want[i].name);
        ck_assert_msg(p != NULL, "missing %s", want[i].name);
        const struct ig_tensor *t = ig_var_value(p);
        ck_assert_int_eq(t->ndim, want[i].ndim);
        for (int d = 0; d < t->ndim; d++) ck_assert_int_eq(t->shape[d], want[i].shape[d]);
    }
    ck_assert_int_eq(m->n_params, 24);
    ck_assert_int_eq(m->n_buffers, 9);
    ck_assert_ptr_nonnull(ig_model_buffer(m, "features.7.running_var"));
    ck_assert_str_eq(m->buffers[2].name, "features.1.num_batches_tracked");
    ck_assert_ptr_null(ig_model_param(m, "features.2.weight"));
    /* the layer hook sees the 9 conv/linear layers of one backward, in reverse order */
    ig_model_set_watch(m, true);
    /* forward shape, train and eval */
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    int64_t xs[4] = {2, 3, 32, 32};
    struct ig_tensor *x = ig_tensor_zeros(be, IG_DTYPE_F32, 4, xs);
    int64_t ls[1] = {2};
    int32_t lab[2] = {3, 7};
    struct ig_tensor *labels = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ls, lab);
    int calls[IG_AG_OP_COUNT] = {0};
    ig_graph_set_layer_hook(g, count_hook, calls);
    for (int train = 1; train >= 0; train--) {
        ig_model_set_train(m, train);
        ig_graph_reset(g);
        struct ig_var *y = ig_model_forward(m, g, ig_graph_input(g, x, false));
        ck_assert_msg(y != NULL, "%s", ig_last_error());
        ck_assert_int_eq(ig_var_value(y)->shape[0], 2);
        ck_assert_int_eq(ig_var_value(y)->shape[1], 10);
        ck_assert_int_eq(ig_graph_backward(g, ig_ag_cross_entropy(g, y, labels, IG_REDUCTION_SUM)), IG_OK);
    }
    ck_assert_int_eq(calls[IG_AG_OP_CONV2D], 2 * 6);
    ck_assert_int_eq(calls[IG_AG_OP_LINEAR], 2 * 3);
    ig_tensor_free(labels);
    ig_tensor_free(x);
    ig_graph_free(g);
    ig_model_free(m);
}
END_TEST

/* Running statistics: rm = 0.9 rm + 0.1 mean, rv = 0.9 rv + 0.1 unbiased var; eval uses them. */
START_TEST(test_batchnorm_modes)
{
    struct ig_module *bn = ig_batchnorm2d_new(be, 2);
    struct ig_module *seq = ig_sequential_new();
    ck_assert_int_eq(ig_sequential_add(seq, NULL, bn), IG_OK);
    struct ig_model *m;
    ck_assert_int_eq(ig_model_new(&m, be, seq, 1, "bn"), IG_OK);
    int64_t xs[4] = {4, 2, 3, 3};
    float h[72];
    ig_test_fill_uniform(h, 72, 9, -2, 3);
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, h);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    struct ig_var *y = ig_model_forward(m, g, ig_graph_input(g, x, false));
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(bn->num_batches_tracked, 1);
    float *rm = to_host(bn->running_mean), *rv = to_host(bn->running_var);
    for (int c = 0; c < 2; c++) {
        double s = 0, s2 = 0;
        for (int n = 0; n < 4; n++)
            for (int i = 0; i < 9; i++) s += h[(n * 2 + c) * 9 + i];
        double mean = s / 36;
        for (int n = 0; n < 4; n++)
            for (int i = 0; i < 9; i++) s2 += pow(h[(n * 2 + c) * 9 + i] - mean, 2);
        ck_assert(fabs(rm[c] - 0.1 * mean) < 1e-5);
        ck_assert(fabs(rv[c] - (0.9 + 0.1 * s2 / 35)) < 1e-5);
    }
    /* eval: y = (x - rm) / sqrt(rv + eps) */
    ig_model_set_train(m, false);
    ig_graph_reset(g);
    y = ig_model_forward(m, g, ig_graph_input(g, x, false));
    float *yv = to_host(ig_var_value(y));
    for (int i = 0; i < 72; i++) {
        int c = (i / 9) % 2;
        ck_assert(fabs(yv[i] - (h[i] - rm[c]) / sqrt(rv[c] + 1e-5)) < 1e-4);
    }
    ck_assert_int_eq(bn->num_batches_tracked, 1);
    free(rm), free(rv), free(yv);
    ig_tensor_free(x);
    ig_graph_free(g);
    ig_model_free(m);
}
END_TEST

START_TEST(test_dropout_modes)
{
    struct ig_module *seq = ig_sequential_new();
    ck_assert_int_eq(ig_sequential_add(seq, NULL, ig_dropout_new(0.25f)), IG_OK);
    ck_assert_int_eq(ig_sequential_add(seq, NULL, ig_dropout2d_new(0.5f)), IG_OK);
    struct ig_model *m;
    ck_assert_int_eq(ig_model_new(&m, be, seq, 3, "drop"), IG_OK);
    int64_t xs[4] = {8, 16, 8, 8};
    int64_t n = 8 * 16 * 64;
    struct ig_tensor *x = ig_tensor_new(be, IG_DTYPE_F32, 4, xs);
    ck_assert_int_eq(ig_fill(x, 1.0f), IG_OK);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    struct ig_var *y = ig_model_forward(m, g, ig_graph_input(g, x, false));
    float *yv = to_host(ig_var_value(y));
    int64_t zeros = 0, zero_planes = 0;
    for (int64_t i = 0; i < n; i++) {
        zeros += yv[i] == 0.0f;
        if (yv[i] != 0.0f) ck_assert(fabs(yv[i] - 1.0 / 0.75 / 0.5) < 1e-5);
    }
    for (int64_t pl = 0; pl < 8 * 16; pl++) zero_planes += yv[pl * 64] == 0.0f && yv[pl * 64 + 63] == 0.0f;
    /* keep 0.75 * 0.5 of the elements */
    ck_assert(fabs((double)zeros / n - (1 - 0.375)) < 0.05);
    ck_assert(zero_planes >= 40 && zero_planes <= 90);
    free(yv);
    ig_model_set_train(m, false);
    ig_graph_reset(g);
    y = ig_model_forward(m, g, ig_graph_input(g, x, false));
    yv = to_host(ig_var_value(y));
    for (int64_t i = 0; i < n; i++) ck_assert_float_eq(yv[i], 1.0f);
    free(yv);
    ig_tensor_free(x);
    ig_graph_free(g);
    ig_model_free(m);
}
END_TEST

/* One linear layer, fixed gradient; compare Adam / SGD against host implementations of
 * the torch.optim formulas over several steps. */
static void optimizer_case(bool adam)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_mlp(&m, be, 3, 2, 2, 11), IG_OK);
    struct ig_var *w = ig_model_param(m, "1.weight");
    ck_assert_ptr_nonnull(w);
    struct ig_optim *o;
    struct ig_adam_params ap = ig_adam_params_default();
    ap.lr = 0.01f;
    ap.weight_decay = 0.1f;
    struct ig_sgd_params sp = ig_sgd_params_default();
    sp.lr = 0.05f;
    sp.momentum = 0.9f;
    sp.weight_decay = 0.01f;
    ck_assert_int_eq(adam ? ig_optim_adam_new(&o, m, ap) : ig_optim_sgd_new(&o, m, sp), IG_OK);
    float *p = to_host(ig_var_value(w));
    double ref[6], mm[6] = {0}, vv[6] = {0};
    for (int i = 0; i < 6; i++) ref[i] = p[i];
    float grad[6] = {0.1f, -0.2f, 0.3f, 0.05f, -0.5f, 1.0f};
    for (int step = 1; step <= 5; step++) {
        ig_optim_zero_grad(o);
        struct ig_tensor *gt = ig_var_grad(w);   /* zero-filled */
        for (int i = 0; i < 6; i++) grad[i] *= -1.1f;
        ck_assert_int_eq(ig_tensor_from_host_into(gt, grad, sizeof grad), IG_OK);
        ck_assert_int_eq(ig_optim_step(o), IG_OK);
        for (int i = 0; i < 6; i++) {
            if (adam) {
                double gg = grad[i] + ap.weight_decay * ref[i];
                mm[i] = ap.beta1 * mm[i] + (1 - ap.beta1) * gg;
                vv[i] = ap.beta2 * vv[i] + (1 - ap.beta2) * gg * gg;
                double mh = mm[i] / (1 - pow(ap.beta1, step)), vh = vv[i] / (1 - pow(ap.beta2, step));
                ref[i] -= ap.lr * mh / (sqrt(vh) + ap.eps);
            } else {
                double gg = grad[i] + sp.weight_decay * ref[i];
                mm[i] = step == 1 ? gg : sp.momentum * mm[i] + gg;
                ref[i] -= sp.lr * mm[i];
            }
        }
    }
    free(p);
    p = to_host(ig_var_value(w));
    for (int i = 0; i < 6; i++) ck_assert_msg(fabs(p[i] - ref[i]) < 1e-5, "%d: %g vs %g", i, p[i], ref[i]);
    ck_assert_int_eq(ig_optim_steps(o), 5);
    free(p);
    ig_optim_free(o);
    ig_model_free(m);
}

/* Two identical training steps on a model and on its checkpointed copy give identical
 * parameters: weights, running stats, optimiser moments and step all round-trip. */
START_TEST(test_checkpoint_roundtrip)
{
    char path[] = "/tmp/ig_test_nn_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct ig_model *a, *b;
    struct ig_optim *oa, *ob;
    ck_assert_int_eq(ig_model_small_cnn(&a, be, 3, 8, 8, 4, 1), IG_OK);
    ck_assert_int_eq(ig_model_small_cnn(&b, be, 3, 8, 8, 4, 2), IG_OK);
    struct ig_adam_params ap = ig_adam_params_default();
    ck_assert_int_eq(ig_optim_adam_new(&oa, a, ap), IG_OK);
    ck_assert_int_eq(ig_optim_adam_new(&ob, b, ap), IG_OK);
    int64_t xs[4] = {4, 3, 8, 8}, ys[1] = {4};
    float h[768];
    ig_test_fill_uniform(h, 768, 3, -1, 1);
    int32_t lab[4] = {0, 1, 2, 3};
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, h), *y = ig_tensor_from_host(be, IG_DTYPE_I32, 1, ys, lab);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    ck_assert_int_eq(ig_model_train_step(a, oa, g, x, y, NULL, NULL), IG_OK);
    ck_assert_int_eq(ig_model_save(a, oa, path), IG_OK);
    bool loaded;
    ck_assert_int_eq(ig_model_load(b, ob, path, &loaded), IG_OK);
    ck_assert(loaded);
    ck_assert_int_eq(ig_optim_steps(ob), 1);
    ck_assert_int_eq(b->root->children[0]->children[1]->num_batches_tracked, 1);
    /* the model file itself is a plain state_dict */
    struct ig_safetensors *st;
    ck_assert_int_eq(ig_safetensors_open(&st, path), IG_OK);
    ck_assert_int_eq(ig_safetensors_count(st), a->n_params + a->n_buffers);
    ck_assert_ptr_nonnull(ig_safetensors_find(st, "features.1.num_batches_tracked"));
    ig_safetensors_close(st);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(ig_model_train_step(a, oa, g, x, y, NULL, NULL), IG_OK);
        ck_assert_int_eq(ig_model_train_step(b, ob, g, x, y, NULL, NULL), IG_OK);
    }
    for (int i = 0; i < a->n_params; i++) {
        const struct ig_tensor *ta = ig_var_value(a->params[i].var), *tb = ig_var_value(b->params[i].var);
        float *ha = to_host(ta), *hb = to_host(tb);
        ck_assert_msg(memcmp(ha, hb, ig_tensor_nbytes(ta)) == 0, "%s differs after resume", a->params[i].name);
        free(ha), free(hb);
    }
    /* a model of another architecture is rejected, naming a tensor */
    struct ig_model *c;
    ck_assert_int_eq(ig_model_mlp(&c, be, 192, 8, 4, 1), IG_OK);
    ck_assert_int_eq(ig_model_load(c, NULL, path, NULL), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "features."));
    ig_model_free(c);
    /* a truncated file is rejected */
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), 200), 0);
    fclose(f);
    ck_assert_int_ne(ig_model_load(b, NULL, path, NULL), IG_OK);
    ck_assert_int_ne(ig_model_load(b, NULL, "/nonexistent/x.safetensors", NULL), IG_OK);
    char op[64];
    snprintf(op, sizeof op, "%s.optim", path);
    unlink(op);
    unlink(path);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_graph_free(g);
    ig_optim_free(oa);
    ig_optim_free(ob);
    ig_model_free(a);
    ig_model_free(b);
}
END_TEST

START_TEST(test_adam) { optimizer_case(true); } END_TEST
START_TEST(test_sgd) { optimizer_case(false); } END_TEST

/* Sequential [ReLU, MaxPool] runs as max-pool then ReLU (ig_module_forward): the same values and input
 * gradients, bit for bit, as the ReLU then the max-pool on the tape, for windows whose max is positive, zero,
 * negative or tied, with and without overlapping windows. */
static void relu_pool_case(int kernel, int stride)
{
    int64_t xs[4] = {2, 3, 7, 7}, n = 2 * 3 * 7 * 7;
    float *hx = malloc((size_t)n * sizeof *hx);
    ig_test_fill_uniform(hx, (size_t)n, 11, -1.0f, 1.0f);
    for (int i = 0; i < 21; i++) hx[i] = -0.5f - 0.01f * (float)i;   /* windows with all values negative */
    for (int i = 21; i < 35; i++) hx[i] = 0.0f;                      /* ... all zero */
    for (int i = 60; i < 70; i++) hx[i] = 0.25f;                     /* ... tied */
    struct ig_tensor *x = ig_tensor_from_host(be, IG_DTYPE_F32, 4, xs, hx);
    struct ig_module *seq = ig_sequential_new();
    ck_assert_int_eq(ig_sequential_add(seq, NULL, ig_relu_new()), IG_OK);
    ck_assert_int_eq(ig_sequential_add(seq, NULL, ig_maxpool2d_new(kernel, stride)), IG_OK);
    struct ig_model *m;
    ck_assert_int_eq(ig_model_new(&m, be, seq, 3, "relu_pool"), IG_OK);
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);
    float *y[2], *dx[2];
    int64_t ny = 0;
    for (int way = 0; way < 2; way++) {   /* 0: the model (reordered), 1: ReLU then max-pool on the tape */
        ig_graph_reset(g);
        struct ig_var *in = ig_graph_input(g, x, true), *out;
        if (way == 0) out = ig_model_forward(m, g, in);
        else out = ig_ag_maxpool2d(g, ig_ag_relu(g, in), (struct ig_pool2d_params){kernel, stride});
        ck_assert_ptr_nonnull(out);
        const struct ig_tensor *yv = ig_var_value(out);
        ny = ig_tensor_numel(yv);
        float *hw = malloc((size_t)ny * sizeof *hw);   /* loss = sum(y * w): dy = w, distinct per output */
        ig_test_fill_uniform(hw, (size_t)ny, 12, 0.5f, 1.5f);
        struct ig_tensor *w = ig_tensor_from_host(be, IG_DTYPE_F32, yv->ndim, yv->shape, hw);
        struct ig_var *loss = ig_ag_sum(g, ig_ag_mul(g, out, ig_graph_input(g, w, false)));
        ck_assert_int_eq(ig_graph_backward(g, loss), IG_OK);
        y[way] = to_host(yv);
        dx[way] = to_host(ig_var_grad(in));
        ig_tensor_free(w);
        free(hw);
    }
    int64_t nonzero = 0;
    for (int64_t i = 0; i < ny; i++) ck_assert_msg(memcmp(&y[0][i], &y[1][i], sizeof(float)) == 0, "y[%lld]", (long long)i);
    for (int64_t i = 0; i < n; i++) {
        ck_assert_msg(memcmp(&dx[0][i], &dx[1][i], sizeof(float)) == 0, "dx[%lld]: %g vs %g", (long long)i, dx[0][i],
                      dx[1][i]);
        nonzero += dx[0][i] != 0.0f;
    }
    ck_assert(nonzero > 0 && y[0][0] == 0.0f);   /* the all-negative window pools to 0, others pass gradients */
    for (int way = 0; way < 2; way++) free(y[way]), free(dx[way]);
    ig_graph_free(g);
    ig_model_free(m);
    ig_tensor_free(x);
    free(hx);
}

START_TEST(test_relu_pool_order) { relu_pool_case(2, 2); relu_pool_case(3, 2); }
END_TEST

int main(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = IG_TEST_CASE(s, "nn", 120, test_rng, test_init_distributions, test_paper_cnn_state_dict,
                                           test_batchnorm_modes, test_dropout_modes, test_adam, test_sgd,
                                           test_checkpoint_roundtrip, test_relu_pool_order);
    tcase_add_checked_fixture(tc, setup, teardown);
    return ig_test_run(s);
}
