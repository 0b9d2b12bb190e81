/* Check suite: the paper CNN layout (1/8 width) against PyTorch: logits, loss, gradients and BN statistics from a fixture. */
#include "ig_nn.h"
#include "ig_safetensors.h"
#include "ig_test_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Fixture: tests/fixtures/torch_parity_cnn.safetensors, written by
 * tests/fixtures/gen_torch_parity.py with PyTorch (see its header for the exact network):
 * the paper CNN of METHOD.md with every width divided by 8 (convs 3->4->8, 8->16->16,
 * 16->32->32, linears 512->128->64->10), the same layer indices and state_dict names.
 * BatchNorm runs in training mode; dropout is identity (PyTorch: dropout modules in eval
 * mode; here: p = 0). Reference values are exact (float64) answers for the stored float32
 * weights and inputs. A value matches when |ours - ref| <= 1e-4 * max|ref over the tensor|
 * + 1e-6: relative to the tensor's scale; the 1e-6 absolute floor covers the gradients of
 * conv biases that feed a BatchNorm, which are exactly zero in exact arithmetic.
 */

#define RTOL 1e-4
#define ATOL 1e-6
#define WIDTH_DIV 8

static struct ig_backend *be;
static struct ig_safetensors *st;
static double worst_seen;        /* largest |diff| / max|ref| over the compared tensors */
static char worst_name[128];

static void setup(void)
{
    ck_assert_int_eq(ig_backend_init_cpu(&be, 2), IG_OK);
    ck_assert_msg(ig_safetensors_open(&st, ig_test_fixture("torch_parity_cnn.safetensors")) == IG_OK, "%s",
                  ig_last_error());
}

static void teardown(void)
{
    ig_safetensors_close(st);
    ig_backend_free(be);
}

#define ADD(seq, m) ck_assert_msg(ig_sequential_add((seq), NULL, (m)) == IG_OK, "%s", ig_last_error())

/* The fixture network: paper layout at 1/WIDTH_DIV width, dropout p = 0. */
static struct ig_model *build_model(void)
{
    int64_t c1 = 32 / WIDTH_DIV, c2 = 64 / WIDTH_DIV, c3 = 128 / WIDTH_DIV, c5 = 256 / WIDTH_DIV;
    int64_t h1 = 1024 / WIDTH_DIV, h2 = 512 / WIDTH_DIV;
    struct ig_rng rng;
    ig_rng_seed(&rng, 1);
    struct ig_module *root = ig_sequential_new(), *f = ig_sequential_new(), *c = ig_sequential_new();
    ADD(f, ig_conv2d_new(be, &rng, 3, c1, 3, 1, 1, true));  /* 0 */
    ADD(f, ig_batchnorm2d_new(be, c1));                     /* 1 */
    ADD(f, ig_relu_new());                                  /* 2 */
    ADD(f, ig_conv2d_new(be, &rng, c1, c2, 3, 1, 1, true)); /* 3 */
    ADD(f, ig_relu_new());                                  /* 4 */
    ADD(f, ig_maxpool2d_new(2, 2));                         /* 5 */
    ADD(f, ig_conv2d_new(be, &rng, c2, c3, 3, 1, 1, true)); /* 6 */
    ADD(f, ig_batchnorm2d_new(be, c3));                     /* 7 */
    ADD(f, ig_relu_new());                                  /* 8 */
    ADD(f, ig_conv2d_new(be, &rng, c3, c3, 3, 1, 1, true)); /* 9 */
    ADD(f, ig_relu_new());                                  /* 10 */
    ADD(f, ig_maxpool2d_new(2, 2));                         /* 11 */
    ADD(f, ig_dropout2d_new(0.0f));                         /* 12 */
    ADD(f, ig_conv2d_new(be, &rng, c3, c5, 3, 1, 1, true)); /* 13 */
    ADD(f, ig_batchnorm2d_new(be, c5));                     /* 14 */
    ADD(f, ig_relu_new());                                  /* 15 */
    ADD(f, ig_conv2d_new(be, &rng, c5, c5, 3, 1, 1, true)); /* 16 */
    ADD(f, ig_relu_new());                                  /* 17 */
    ADD(f, ig_maxpool2d_new(2, 2));                         /* 18 */
    ADD(c, ig_dropout_new(0.0f));                           /* 0 */
    ADD(c, ig_linear_new(be, &rng, c5 * 16, h1, true));     /* 1 */
    ADD(c, ig_relu_new());                                  /* 2 */
    ADD(c, ig_linear_new(be, &rng, h1, h2, true));          /* 3 */
    ADD(c, ig_relu_new());                                  /* 4 */
    ADD(c, ig_dropout_new(0.0f));                           /* 5 */
    ADD(c, ig_linear_new(be, &rng, h2, 10, true));          /* 6 */
    ck_assert_int_eq(ig_sequential_add(root, "features", f), IG_OK);
    ck_assert_int_eq(ig_sequential_add(root, "flatten", ig_flatten_new()), IG_OK);
    ck_assert_int_eq(ig_sequential_add(root, "classifier", c), IG_OK);
    struct ig_model *m;
    ck_assert_msg(ig_model_new(&m, be, root, 2, "paper/8") == IG_OK, "%s", ig_last_error());
    return m;
}

/* Load every parameter and buffer of m from the fixture's state_dict entries. */
static void load_state(struct ig_model *m)
{
    for (int i = 0; i < m->n_params; i++)
        ck_assert_msg(ig_safetensors_read(st, m->params[i].name, ig_var_value(m->params[i].var)) == IG_OK, "%s",
                      ig_last_error());
    for (int i = 0; i < m->n_buffers; i++) {
        if (m->buffers[i].is_count) {
            int64_t v;
            ck_assert_msg(ig_safetensors_read_host(st, m->buffers[i].name, IG_ST_I64, &v, 8) == IG_OK, "%s",
                          ig_last_error());
            m->buffers[i].owner->num_batches_tracked = v;
        } else {
            ck_assert_msg(ig_safetensors_read(st, m->buffers[i].name, m->buffers[i].t) == IG_OK, "%s", ig_last_error());
        }
    }
}

/* Compare tensor t with fixture entry ref_name (f32, same element count). */
static void expect_close(const struct ig_tensor *t, const char *ref_name)
{
    const struct ig_st_entry *e = ig_safetensors_find(st, ref_name);
    ck_assert_msg(e != NULL, "fixture lacks %s", ref_name);
    ck_assert_int_eq(e->dtype, IG_ST_F32);
    ck_assert_int_eq(e->numel, ig_tensor_numel(t));
    size_t n = (size_t)e->numel;
    float *ref = malloc(n * sizeof(float) + 4), *got = malloc(n * sizeof(float) + 4);
    ck_assert_int_eq(ig_safetensors_read_host(st, ref_name, IG_ST_F32, ref, n * sizeof(float)), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(t, got, n * sizeof(float)), IG_OK);
    double scale = 0, worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    double tol = RTOL * scale + ATOL;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= worst)) { /* also catches NaN */
            worst = isnan(d) ? INFINITY : d;
            at = i;
        }
    }
    if (scale > 1e-10 && worst / scale > worst_seen) { /* skip the exactly-zero gradients */
        worst_seen = worst / scale;
        snprintf(worst_name, sizeof worst_name, "%s", ref_name);
    }
    ck_assert_msg(worst <= tol, "%s: element %zu: ours %.9g, PyTorch %.9g (|diff| %.3g > tol %.3g, scale %.3g)",
                  ref_name, at, got[at], ref[at], worst, tol, scale);
    free(ref);
    free(got);
}

/* The full-size constructor uses the fixture's state_dict names (same set, same ranks). */
START_TEST(test_paper_cnn_state_dict_names)
{
    struct ig_model *m;
    ck_assert_int_eq(ig_model_paper_cnn(&m, be, 3, 32, 32, 10, 0), IG_OK);
    struct ig_model *small = build_model();
    ck_assert_int_eq(m->n_params, small->n_params);
    ck_assert_int_eq(m->n_buffers, small->n_buffers);
    for (int i = 0; i < m->n_params; i++) {
        const struct ig_st_entry *e = ig_safetensors_find(st, m->params[i].name);
        ck_assert_msg(e != NULL, "paper CNN parameter %s not in the PyTorch state_dict", m->params[i].name);
        ck_assert_int_eq(e->ndim, ig_var_value(m->params[i].var)->ndim);
        ck_assert_str_eq(m->params[i].name, small->params[i].name);
    }
    for (int i = 0; i < m->n_buffers; i++)
        ck_assert_msg(ig_safetensors_find(st, m->buffers[i].name) != NULL, "buffer %s not in the PyTorch state_dict",
                      m->buffers[i].name);
    /* every state_dict entry of the fixture is a parameter or buffer of ours */
    int n_state = 0;
    for (int i = 0; i < ig_safetensors_count(st); i++) {
        const char *name = ig_safetensors_entry(st, i)->name;
        if (!strncmp(name, "features.", 9) || !strncmp(name, "classifier.", 11)) n_state++;
    }
    ck_assert_int_eq(n_state, m->n_params + m->n_buffers);
    ck_assert_int_eq(ig_model_num_params(m), 5852170); /* METHOD.md: 5.85 M */
    ig_model_free(m);
    ig_model_free(small);
}
END_TEST

/* torchvision's ToTensor + Normalize(0.5, 0.5) equals ig_normalize_u8 with METHOD.md's parameters. */
START_TEST(test_normalisation)
{
    int64_t sh[4] = {4, 3, 32, 32};
    struct ig_tensor *u8 = ig_tensor_new(be, IG_DTYPE_U8, 4, sh), *x = ig_tensor_new(be, IG_DTYPE_F32, 4, sh);
    ck_assert_int_eq(ig_safetensors_read(st, "input_u8", u8), IG_OK);
    struct ig_norm_params np;
    for (int c = 0; c < 4; c++) {
        np.mean[c] = 0.5f;
        np.std[c] = 0.5f;
    }
    ck_assert_int_eq(ig_normalize_u8(x, u8, np), IG_OK);
    expect_close(x, "input");
    ig_tensor_free(u8);
    ig_tensor_free(x);
}
END_TEST

/* Forward (eval and train) and backward on the backend `be` points to. */
static void forward_backward(void)
{
    struct ig_model *m = build_model();
    ck_assert_int_eq(m->n_params, 24); /* 6 convs, 3 BN, 3 linears: weight + bias each */
    load_state(m);
    int64_t sh[4] = {4, 3, 32, 32};
    struct ig_tensor *x = ig_tensor_new(be, IG_DTYPE_F32, 4, sh);
    struct ig_tensor *y = ig_tensor_new(be, IG_DTYPE_I32, 1, sh);
    ck_assert_int_eq(ig_safetensors_read(st, "input", x), IG_OK);
    ck_assert_int_eq(ig_safetensors_read(st, "labels", y), IG_OK); /* I64 in the file */
    struct ig_graph *g;
    ck_assert_int_eq(ig_graph_new(be, &g), IG_OK);

    /* evaluation mode: running statistics */
    ig_model_set_train(m, false);
    ig_graph_reset(g);
    ig_graph_set_grad_enabled(g, false);
    struct ig_var *logits = ig_model_forward(m, g, ig_graph_input(g, x, false));
    ck_assert_msg(logits != NULL, "%s", ig_last_error());
    expect_close(ig_var_value(logits), "expected.eval_logits");

    /* training mode: batch statistics, then backward */
    ig_model_set_train(m, true);
    ig_graph_reset(g);
    ig_graph_set_grad_enabled(g, true);
    logits = ig_model_forward(m, g, ig_graph_input(g, x, false));
    struct ig_var *loss = ig_nn_cross_entropy(g, logits, y);
    ck_assert_msg(loss != NULL, "%s", ig_last_error());
    expect_close(ig_var_value(logits), "expected.logits");
    expect_close(ig_var_value(loss), "expected.loss");
    for (int i = 0; i < m->n_params; i++) ig_param_zero_grad(m->params[i].var);
    ck_assert_msg(ig_graph_backward(g, loss) == IG_OK, "%s", ig_last_error());
    char name[128];
    for (int i = 0; i < m->n_params; i++) {
        struct ig_tensor *gr = ig_var_grad(m->params[i].var);
        ck_assert_msg(gr != NULL, "no gradient for %s", m->params[i].name);
        snprintf(name, sizeof name, "grad.%s", m->params[i].name);
        expect_close(gr, name);
    }
    /* running statistics after one training forward (momentum 0.1, unbiased variance) */
    for (int i = 0; i < m->n_buffers; i++) {
        snprintf(name, sizeof name, "after.%s", m->buffers[i].name);
        if (m->buffers[i].is_count) {
            int64_t v;
            ck_assert_int_eq(ig_safetensors_read_host(st, name, IG_ST_I64, &v, 8), IG_OK);
            ck_assert_int_eq(m->buffers[i].owner->num_batches_tracked, v);
        } else {
            expect_close(m->buffers[i].t, name);
        }
    }
    fprintf(stderr, "torch_parity (%s): largest |ours - PyTorch| / max|PyTorch| = %.2e (%s; tolerance %.0e)\n",
            ig_backend_name(be), worst_seen, worst_name, RTOL);
    ig_graph_free(g);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_model_free(m);
}

START_TEST(test_forward_backward)
{
    forward_backward();
}
END_TEST

/* The same on an OpenCL device when this build and machine have one (skipped otherwise). */
START_TEST(test_forward_backward_opencl_optional)
{
    struct ig_backend *cpu = be, *cl;
    if (ig_backend_init("opencl", &cl) != IG_OK) {
        fprintf(stderr, "test_forward_backward_opencl_optional: no OpenCL backend (%s), skipped\n", ig_last_error());
        return;
    }
    be = cl;
    worst_seen = 0;
    forward_backward();
    be = cpu;
    ig_backend_free(cl);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("torch_parity");
    TCase *tc = tcase_create("paper_cnn_div8");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_paper_cnn_state_dict_names);
    tcase_add_test(tc, test_normalisation);
    tcase_add_test(tc, test_forward_backward);
    tcase_add_test(tc, test_forward_backward_opencl_optional);
    suite_add_tcase(s, tc);
    return ig_test_run(s);
}
