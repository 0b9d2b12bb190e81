/* Check suite for regress/: known answers, bad input, save/load, and quality against scikit-learn fixtures. */
#include "ig_regress.h"
#include "ig_test_regress_data.h"
#include "ig_test_util.h"
#include "ig_util.h"
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ datasets
 * Same definitions as tests/fixtures/gen_regress_fixtures.py (see its docstring). */

static double unif(uint64_t *s) { return ig_rng_unit(ig_splitmix64_next(s)); }

#define FD 10
/* x: [n, 10] u8, xf: [n, 10] f32 (jittered), y: [n] */
static void gen_friedman(uint8_t *x, float *xf, float *y, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint8_t *r = x + i * FD;
        double v = ig_test_regress_row(r, FD, &s);
        for (int j = 0; j < FD; j++) xf[i * FD + j] = (float)(((double)r[j] + unif(&s)) / 256.0);
        double u[5], e = 2.0 * v - 1.0;
        for (int j = 0; j < 5; j++) u[j] = r[j] / 255.0;
        y[i] = (float)(10.0 * sin(M_PI * u[0] * u[1]) + 20.0 * (u[2] - 0.5) * (u[2] - 0.5) +
                       10.0 * u[3] + 5.0 * u[4] + 2.0 * e * e * e);
    }
}

#define CD IG_TEST_CIFAR_LIKE_D

/* GBR parameters of a single tree of depth max_depth with learning rate 1 (its leaves are the answer) */
static struct ig_gbr_params one_tree(enum ig_gbr_loss loss, int max_depth)
{
    struct ig_gbr_params p = ig_gbr_params_default();
    p.loss = loss;
    p.n_estimators = 1;
    p.learning_rate = 1.0;
    p.max_depth = max_depth;
    return p;
}

static double mae(const float *p, const float *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += fabs((double)p[i] - (double)y[i]);
    return s / (double)n;
}

static json_t *fixture_json(void)
{
    json_error_t err;
    json_t *j = json_load_file(ig_test_fixture("regress_sklearn.json"), 0, &err);
    ck_assert_msg(j != NULL, "fixture regress_sklearn.json: %s", err.text);
    return j;
}

static double fixture_num(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    ck_assert_msg(json_is_number(v), "fixture lacks %s", key);
    return json_number_value(v);
}

static char tmp_path[256];
static const char *tmpfile_path(const char *tag)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/ig_test_regress_%d_%s.json", (int)getpid(), tag);
    return tmp_path;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* ------------------------------------------------------------ known answers */

START_TEST(test_gbr_one_split)
{
    /* y = [0,0,1,1] on x = 0..3: init 0.5, one split at 1.5, leaves -0.5 / +0.5 */
    const uint8_t x[4] = {0, 1, 2, 3};
    const float y[4] = {0, 0, 1, 1};
    struct ig_gbr_params p = one_tree(IG_GBR_LOSS_SQUARED_ERROR, 1);
    struct ig_gbr *m = NULL;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 1, y, &p), IG_REGRESS_OK);
    ck_assert_double_eq_tol(ig_gbr_init_value(m), 0.5, 1e-12);
    const float q[4] = {1.4f, 1.5f, 1.6f, -3.0f};
    float out[4];
    ck_assert_int_eq(ig_gbr_predict_f32(m, q, 4, 1, out), IG_REGRESS_OK);
    ck_assert_float_eq_tol(out[0], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(out[1], 0.0f, 1e-6f); /* x <= threshold goes left */
    ck_assert_float_eq_tol(out[2], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(out[3], 0.0f, 1e-6f);
    /* the saved tree: root on feature 0 at 1.5, two leaves */
    const char *path = tmpfile_path("split");
    ck_assert_int_eq(ig_gbr_save(m, path), IG_REGRESS_OK);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    ck_assert_ptr_nonnull(j);
    json_t *t0 = json_array_get(json_object_get(j, "trees"), 0);
    ck_assert_int_eq((int)json_array_size(json_object_get(t0, "feature")), 3);
    ck_assert_double_eq_tol(json_number_value(json_array_get(json_object_get(t0, "threshold"), 0)),
                            1.5, 1e-12);
    ck_assert_str_eq(json_string_value(json_object_get(j, "format")), "igradv-regress");
    ck_assert_int_eq((int)json_integer_value(json_object_get(j, "version")), 1);
    json_decref(j);
    unlink(path);
    ig_gbr_free(m);
}
END_TEST

START_TEST(test_gbr_lad_median_leaf)
{
    /* scikit-learn: init median 6; leaves = lower median of residuals: left {-5,-4,4} -> -4,
     * right {-1,0,1,94} -> 0; predictions 2 and 6 */
    const uint8_t x[7] = {0, 0, 0, 1, 1, 1, 1};
    const float y[7] = {1, 2, 10, 5, 6, 7, 100};
    struct ig_gbr_params p = one_tree(IG_GBR_LOSS_ABSOLUTE_ERROR, 1);
    struct ig_gbr *m = NULL;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 7, 1, y, &p), IG_REGRESS_OK);
    ck_assert_double_eq_tol(ig_gbr_init_value(m), 6.0, 1e-12);
    const uint8_t q[2] = {0, 1};
    float out[2];
    ck_assert_int_eq(ig_gbr_predict_u8(m, q, 2, 1, out), IG_REGRESS_OK);
    ck_assert_float_eq_tol(out[0], 2.0f, 1e-6f);
    ck_assert_float_eq_tol(out[1], 6.0f, 1e-6f);
    ig_gbr_free(m);
    /* even n: init = mean of the two middle values (np.percentile) */
    const float y4[4] = {1, 2, 3, 40};
    p.n_estimators = 1;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x + 2, 4, 1, y4, &p), IG_REGRESS_OK);
    ck_assert_double_eq_tol(ig_gbr_init_value(m), 2.5, 1e-12);
    ig_gbr_free(m);
}
END_TEST

static int count_nodes_depth(json_t *tree, int *depth)
{
    json_t *f = json_object_get(tree, "feature"), *l = json_object_get(tree, "left"),
           *r = json_object_get(tree, "right");
    int n = (int)json_array_size(f);
    int dep[64] = {0};
    *depth = 0;
    for (int i = 0; i < n && i < 64; i++) {
        if (dep[i] > *depth) *depth = dep[i];
        if (json_integer_value(json_array_get(f, i)) >= 0) {
            dep[json_integer_value(json_array_get(l, i))] = dep[i] + 1;
            dep[json_integer_value(json_array_get(r, i))] = dep[i] + 1;
        }
    }
    return n;
}

START_TEST(test_gbr_depth_limit_and_min_leaf)
{
    /* scikit-learn (depth 2): root 8.5, left 2.5, right pure -> 5 nodes, predictions
     * 0,0,0,3x6,9,9,9. With min_samples_leaf 4: 1.25 x4, 3 x4, 7 x4. */
    uint8_t x[12];
    for (int i = 0; i < 12; i++) x[i] = (uint8_t)i;
    const float y[12] = {0, 0, 0, 5, 5, 5, 1, 1, 1, 9, 9, 9};
    struct ig_gbr_params p = one_tree(IG_GBR_LOSS_SQUARED_ERROR, 2);
    struct ig_gbr *m = NULL;
    float out[12];
    const float want[12] = {0, 0, 0, 3, 3, 3, 3, 3, 3, 9, 9, 9};
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 12, 1, y, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m, x, 12, 1, out), IG_REGRESS_OK);
    ck_assert(ig_test_close_ratio(out, want, 12, 0, 1e-5) <= 1.0);
    const char *path = tmpfile_path("depth");
    ck_assert_int_eq(ig_gbr_save(m, path), IG_REGRESS_OK);
    json_t *j = json_load_file(path, 0, NULL);
    int depth = 0;
    ck_assert_int_eq(count_nodes_depth(json_array_get(json_object_get(j, "trees"), 0), &depth), 5);
    ck_assert_int_eq(depth, 2);
    json_decref(j);
    ig_gbr_free(m);
    p.min_samples_leaf = 4;
    const float want4[12] = {1.25f, 1.25f, 1.25f, 1.25f, 3, 3, 3, 3, 7, 7, 7, 7};
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 12, 1, y, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m, x, 12, 1, out), IG_REGRESS_OK);
    ck_assert(ig_test_close_ratio(out, want4, 12, 0, 1e-5) <= 1.0);
    ig_gbr_free(m);
    /* depth-3 LAD trees on random data never exceed depth 3 */
    enum { N = 300, DD = 20 };
    uint8_t *xr = malloc(N * DD);
    float *yr = malloc(N * sizeof(float));
    uint64_t s = 5;
    for (int i = 0; i < N * DD; i++) xr[i] = (uint8_t)(ig_splitmix64_next(&s) >> 56);
    for (int i = 0; i < N; i++) yr[i] = (float)unif(&s);
    p = ig_gbr_params_default();
    p.n_estimators = 20;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, xr, N, DD, yr, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_save(m, path), IG_REGRESS_OK);
    j = json_load_file(path, 0, NULL);
    json_t *trees = json_object_get(j, "trees");
    ck_assert_int_eq((int)json_array_size(trees), 20);
    for (size_t t = 0; t < json_array_size(trees); t++) {
        int n = count_nodes_depth(json_array_get(trees, t), &depth);
        ck_assert_int_le(depth, 3);
        ck_assert_int_le(n, 15);
    }
    json_decref(j);
    unlink(path);
    ig_gbr_free(m);
    free(xr);
    free(yr);
}
END_TEST

START_TEST(test_rf_known)
{
    /* one informative feature: every depth-1 tree splits between the classes */
    enum { N = 40 };
    uint8_t x[N];
    int32_t lab[N];
    for (int i = 0; i < N; i++) {
        x[i] = (uint8_t)(i < 20 ? i : 200 + i);
        lab[i] = i < 20 ? 0 : 1;
    }
    struct ig_rf_params p = ig_rf_params_default();
    p.max_depth = 1;
    p.n_estimators = 25;
    p.seed = 3;
    struct ig_rf *m = NULL;
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&m, x, N, 1, lab, 2, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_n_classes(m), 2);
    ck_assert(ig_rf_is_classifier(m));
    const uint8_t q[3] = {0, 19, 255};
    float pr[6], cls[3];
    ck_assert_int_eq(ig_rf_predict_proba_u8(m, q, 3, 1, pr), IG_REGRESS_OK);
    ck_assert_float_eq_tol(pr[0], 1.0f, 1e-5f);
    ck_assert_float_eq_tol(pr[1], 0.0f, 1e-5f);
    ck_assert_float_eq_tol(pr[2], 1.0f, 1e-5f);
    ck_assert_float_eq_tol(pr[5], 1.0f, 1e-5f);
    ck_assert_int_eq(ig_rf_predict_u8(m, q, 3, 1, cls), IG_REGRESS_OK);
    ck_assert_float_eq(cls[0], 0.0f);
    ck_assert_float_eq(cls[2], 1.0f);
    ig_rf_free(m);
    /* regressor without bootstrap, all features: a single tree reproduces the targets */
    float y[N];
    for (int i = 0; i < N; i++) y[i] = (float)(i % 7);
    uint8_t xi[N];
    for (int i = 0; i < N; i++) xi[i] = (uint8_t)i;
    p = ig_rf_params_default();
    p.bootstrap = 0;
    p.n_estimators = 3;
    ck_assert_int_eq(ig_rf_regressor_fit_u8(&m, xi, N, 1, y, &p), IG_REGRESS_OK);
    float out[N];
    ck_assert_int_eq(ig_rf_predict_u8(m, xi, N, 1, out), IG_REGRESS_OK);
    ck_assert(ig_test_close_ratio(out, y, N, 0, 1e-5) <= 1.0);
    ck_assert_int_eq(ig_rf_predict_proba_u8(m, xi, N, 1, out), IG_REGRESS_EINVAL);
    ig_rf_free(m);
}
END_TEST

START_TEST(test_u8_equals_integer_f32)
{
    /* features given as integer-valued floats bin exactly like u8: same model */
    enum { N = 400, DD = 12 };
    uint8_t *x = malloc(N * DD);
    float *xf = malloc(N * DD * sizeof(float)), *y = malloc(N * sizeof(float));
    float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    float *c = malloc(N * sizeof(float));
    uint64_t s = 77;
    for (int i = 0; i < N * DD; i++) xf[i] = x[i] = (uint8_t)(ig_splitmix64_next(&s) >> 58); /* 64 levels */
    for (int i = 0; i < N; i++) y[i] = (float)(x[i * DD] * 0.1 + sin(x[i * DD + 3]) + unif(&s));
    struct ig_gbr_params p = ig_gbr_params_default();
    p.n_estimators = 30;
    struct ig_gbr *m1 = NULL, *m2 = NULL;
    ck_assert_int_eq(ig_gbr_fit_u8(&m1, x, N, DD, y, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_fit_f32(&m2, xf, N, DD, y, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m1, x, N, DD, a), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_f32(m2, xf, N, DD, b), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_f32(m1, xf, N, DD, c), IG_REGRESS_OK);
    ck_assert(ig_test_close_ratio(a, b, N, 0, 1e-6) <= 1.0);
    ck_assert(ig_test_close_ratio(a, c, N, 0, 1e-6) <= 1.0);
    ig_gbr_free(m1);
    ig_gbr_free(m2);
    /* thread count does not change the model */
    p.n_threads = 1;
    ck_assert_int_eq(ig_gbr_fit_u8(&m1, x, N, DD, y, &p), IG_REGRESS_OK);
    p.n_threads = 2;
    ck_assert_int_eq(ig_gbr_fit_u8(&m2, x, N, DD, y, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m1, x, N, DD, a), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m2, x, N, DD, b), IG_REGRESS_OK);
    ck_assert(ig_test_close_ratio(a, b, N, 0, 0) <= 1.0 || memcmp(a, b, N * sizeof(float)) == 0);
    ig_gbr_free(m1);
    ig_gbr_free(m2);
    int32_t *lab = malloc(N * sizeof(int32_t));
    for (int i = 0; i < N; i++) lab[i] = y[i] > 3.0f;
    struct ig_rf_params rp = ig_rf_params_default();
    rp.max_depth = 4;
    rp.n_threads = 1;
    struct ig_rf *r1 = NULL, *r2 = NULL;
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r1, x, N, DD, lab, 2, &rp), IG_REGRESS_OK);
    rp.n_threads = 2;
    ck_assert_int_eq(ig_rf_classifier_fit_f32(&r2, xf, N, DD, lab, 2, &rp), IG_REGRESS_OK);
    float *pa = malloc(2 * N * sizeof(float)), *pb = malloc(2 * N * sizeof(float));
    ck_assert_int_eq(ig_rf_predict_proba_u8(r1, x, N, DD, pa), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_predict_proba_f32(r2, xf, N, DD, pb), IG_REGRESS_OK);
    ck_assert(ig_test_close_ratio(pa, pb, 2 * N, 0, 1e-6) <= 1.0);
    for (int i = 0; i < N; i++) ck_assert_float_eq_tol(pa[2 * i] + pa[2 * i + 1], 1.0f, 1e-5f);
    ig_rf_free(r1);
    ig_rf_free(r2);
    free(pa);
    free(pb);
    free(lab);
    free(x);
    free(xf);
    free(y);
    free(a);
    free(b);
    free(c);
}
END_TEST

/* ------------------------------------------------------------ save / load */

START_TEST(test_save_load_roundtrip)
{
    enum { N = 300 };
    uint8_t *x = malloc(N * FD);
    float *xf = malloc(N * FD * sizeof(float)), *y = malloc(N * sizeof(float));
    gen_friedman(x, xf, y, N, 31);
    float a[N], b[N], pa[3 * N], pb[3 * N];
    struct ig_gbr_params p = ig_gbr_params_default();
    p.n_estimators = 50;
    p.subsample = 0.7;
    p.seed = 9;
    struct ig_gbr *m = NULL, *m2 = NULL;
    ck_assert_int_eq(ig_gbr_fit_f32(&m, xf, N, FD, y, &p), IG_REGRESS_OK);
    const char *path = tmpfile_path("rt");
    ck_assert_int_eq(ig_gbr_save(m, path), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_load(&m2, path), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_n_trees(m2), 50);
    ck_assert_uint_eq(ig_gbr_n_features(m2), FD);
    ck_assert_int_eq(ig_gbr_predict_f32(m, xf, N, FD, a), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_f32(m2, xf, N, FD, b), IG_REGRESS_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    struct ig_rf *r = NULL;
    ck_assert_int_eq(ig_rf_load(&r, path), IG_REGRESS_EFORMAT); /* a gbr file is not a forest */
    ig_gbr_free(m);
    ig_gbr_free(m2);

    int32_t lab[N];
    for (int i = 0; i < N; i++) lab[i] = y[i] < 12.0f ? 0 : y[i] < 16.0f ? 1 : 2;
    struct ig_rf_params rp = ig_rf_params_default();
    rp.n_estimators = 30;
    rp.max_depth = 5;
    struct ig_rf *r2 = NULL;
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, N, FD, lab, 3, &rp), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_save(r, path), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_load(&r2, path), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_predict_proba_u8(r, x, N, FD, pa), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_predict_proba_u8(r2, x, N, FD, pb), IG_REGRESS_OK);
    ck_assert_mem_eq(pa, pb, sizeof pa);
    ig_rf_free(r);
    ig_rf_free(r2);
    rp.max_depth = -1; /* deep trees: generic traversal */
    ck_assert_int_eq(ig_rf_regressor_fit_u8(&r, x, N, FD, y, &rp), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_save(r, path), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_load(&r2, path), IG_REGRESS_OK);
    ck_assert(!ig_rf_is_classifier(r2));
    ck_assert_int_eq(ig_rf_predict_u8(r, x, N, FD, a), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_predict_u8(r2, x, N, FD, b), IG_REGRESS_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_double_lt(mae(a, y, N), 1.0); /* in-sample fit of a forest */
    ig_rf_free(r);
    ig_rf_free(r2);
    unlink(path);
    free(x);
    free(xf);
    free(y);
}
END_TEST

START_TEST(test_corrupt_files)
{
    struct ig_gbr *m = NULL;
    struct ig_rf *r = NULL;
    const char *path = tmpfile_path("bad");
    ck_assert_int_eq(ig_gbr_load(&m, "/nonexistent/dir/model.json"), IG_REGRESS_EIO);
    ck_assert_ptr_null(m);
    ck_assert(strlen(ig_regress_last_error()) > 0);
    const char *bad[] = {
        "",
        "{\"format\":\"igradv-regress\",\"version\":1,\"kind\":\"gbr\"",  /* truncated */
        "[1,2,3]",
        "{\"format\":\"other\",\"version\":1,\"kind\":\"gbr\"}",
        "{\"format\":\"igradv-regress\",\"version\":99,\"kind\":\"gbr\"}",
        /* fields missing */
        "{\"format\":\"igradv-regress\",\"version\":1,\"kind\":\"gbr\",\"loss\":\"absolute_error\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i]);
        ck_assert_int_eq(ig_gbr_load(&m, path), IG_REGRESS_EFORMAT);
        ck_assert_ptr_null(m);
        ck_assert_int_eq(ig_rf_load(&r, path), IG_REGRESS_EFORMAT);
    }
    /* structurally broken trees */
    const char *head = "{\"format\":\"igradv-regress\",\"version\":1,\"kind\":\"gbr\","
                       "\"loss\":\"absolute_error\",\"learning_rate\":0.1,\"n_estimators\":1,"
                       "\"max_depth\":3,\"min_samples_split\":2,\"min_samples_leaf\":1,"
                       "\"subsample\":1.0,\"seed\":0,\"init\":0.5,\"n_features\":2,\"n_outputs\":1,"
                       "\"trees\":[";
    const char *trees[] = {
        /* cycle: child points back to the root */
        "{\"feature\":[0,-1,0],\"threshold\":[1,0,1],\"left\":[1,-1,0],\"right\":[2,-1,0],\"value\":[0,0,0]}",
        /* feature out of range */
        "{\"feature\":[5,-1,-1],\"threshold\":[1,0,0],\"left\":[1,-1,-1],\"right\":[2,-1,-1],\"value\":[0,0,0]}",
        /* child index out of range */
        "{\"feature\":[0,-1,-1],\"threshold\":[1,0,0],\"left\":[1,-1,-1],\"right\":[7,-1,-1],\"value\":[0,0,0]}",
        /* lengths disagree */
        "{\"feature\":[0,-1,-1],\"threshold\":[1,0],\"left\":[1,-1,-1],\"right\":[2,-1,-1],\"value\":[0,0,0]}",
        /* shared child */
        "{\"feature\":[0,0,-1],\"threshold\":[1,1,0],\"left\":[1,2,-1],\"right\":[2,2,-1],\"value\":[0,0,0]}",
        /* string where a number belongs */
        "{\"feature\":[-1],\"threshold\":[\"x\"],\"left\":[-1],\"right\":[-1],\"value\":[0]}",
        /* unreachable node */
        "{\"feature\":[-1,-1],\"threshold\":[0,0],\"left\":[-1,-1],\"right\":[-1,-1],\"value\":[0,0]}",
        /* empty tree */
        "{\"feature\":[],\"threshold\":[],\"left\":[],\"right\":[],\"value\":[]}",
    };
    char buf[2048];
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s]}", head, trees[i]);
        write_text(path, buf);
        ck_assert_msg(ig_gbr_load(&m, path) == IG_REGRESS_EFORMAT, "case %zu loaded", i);
        ck_assert_ptr_null(m);
    }
    /* and a valid one loads */
    snprintf(buf, sizeof buf, "%s%s]}", head,
             "{\"feature\":[1,-1,-1],\"threshold\":[1.5,0,0],\"left\":[1,-1,-1],"
             "\"right\":[2,-1,-1],\"value\":[0,-1,2]}");
    write_text(path, buf);
    ck_assert_int_eq(ig_gbr_load(&m, path), IG_REGRESS_OK);
    const uint8_t q[4] = {9, 1, 9, 2};
    float out[2];
    ck_assert_int_eq(ig_gbr_predict_u8(m, q, 2, 2, out), IG_REGRESS_OK);
    ck_assert_float_eq_tol(out[0], 0.5f - 0.1f, 1e-6f);
    ck_assert_float_eq_tol(out[1], 0.5f + 0.2f, 1e-6f);
    ig_gbr_free(m);
    unlink(path);
}
END_TEST

/* A one-tree GBR model file (the tree: feature 1 at 1.5, leaves -1 / +2) with the given
 * learning_rate, n_estimators and seed texts. */
static void write_gbr_json(const char *path, const char *lr, const char *n_est, const char *seed)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"format\":\"igradv-regress\",\"version\":1,\"kind\":\"gbr\","
             "\"loss\":\"absolute_error\",\"learning_rate\":%s,\"n_estimators\":%s,"
             "\"max_depth\":3,\"min_samples_split\":2,\"min_samples_leaf\":1,"
             "\"subsample\":1.0,\"seed\":%s,\"init\":0.5,\"n_features\":2,\"n_outputs\":1,"
             "\"trees\":[{\"feature\":[1,-1,-1],\"threshold\":[1.5,0,0],\"left\":[1,-1,-1],"
             "\"right\":[2,-1,-1],\"value\":[0,-1,2]}]}", lr, n_est, seed);
    write_text(path, buf);
}

START_TEST(test_load_error_wraps_cause)
{
    /* The message of a bad parameter wraps the parameter check's own message; it used to be
     * formatted into the buffer it read from (overlapping snprintf) and came out garbled. */
    const char *path = tmpfile_path("lr");
    write_gbr_json(path, "-1", "1", "0");
    struct ig_gbr *m = NULL;
    ck_assert_int_eq(ig_gbr_load(&m, path), IG_REGRESS_EFORMAT);
    ck_assert_ptr_null(m);
    char want[512];
    snprintf(want, sizeof want, "gbr: %s: bad parameters (gbr: learning_rate must be > 0 and finite)", path);
    ck_assert_str_eq(ig_regress_last_error(), want);
    ck_assert_int_eq(ig_regress_last_status(), IG_REGRESS_EFORMAT);
    /* a tree error is wrapped the same way: tree index, then the validator's message */
    write_text(path, "{\"format\":\"igradv-regress\",\"version\":1,\"kind\":\"gbr\","
                     "\"loss\":\"absolute_error\",\"learning_rate\":0.1,\"n_estimators\":1,"
                     "\"max_depth\":3,\"min_samples_split\":2,\"min_samples_leaf\":1,"
                     "\"subsample\":1.0,\"seed\":0,\"init\":0.5,\"n_features\":2,\"n_outputs\":1,"
                     "\"trees\":[{\"feature\":[-1,-1],\"threshold\":[0,0],\"left\":[-1,-1],"
                     "\"right\":[-1,-1],\"value\":[0,0]}]}");
    ck_assert_int_eq(ig_gbr_load(&m, path), IG_REGRESS_EFORMAT);
    ck_assert_str_eq(ig_regress_last_error(), "regress: tree 0: regress: node 1 is unreachable");
    unlink(path);
}
END_TEST

START_TEST(test_gbr_load_checks_tree_count_and_seed)
{
    const char *path = tmpfile_path("count");
    struct ig_gbr *m = NULL;
    write_gbr_json(path, "0.1", "999", "0"); /* 999 claimed, 1 stored (the RF loader checks it too) */
    ck_assert_int_eq(ig_gbr_load(&m, path), IG_REGRESS_EFORMAT);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(ig_regress_last_error(), "n_estimators is 999 but the file holds 1 trees"),
                  "message: %s", ig_regress_last_error());
    write_gbr_json(path, "0.1", "1", "1e300"); /* no integer seed fits */
    ck_assert_int_eq(ig_gbr_load(&m, path), IG_REGRESS_EFORMAT);
    ck_assert_ptr_null(m);
    write_gbr_json(path, "0.1", "1", "18446744073709551615"); /* > INT64_MAX: not a JSON integer */
    ck_assert_int_eq(ig_gbr_load(&m, path), IG_REGRESS_EFORMAT);
    write_gbr_json(path, "0.1", "1", "7");
    ck_assert_int_eq(ig_gbr_load(&m, path), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_n_trees(m), 1);
    ig_gbr_free(m);
    unlink(path);
}
END_TEST

START_TEST(test_last_status_keeps_cause)
{
    struct ig_gbr *m = NULL;
    const float y[4] = {1, 2, 3, 4};
    const uint8_t x[4] = {1, 2, 3, 4};
    struct ig_gbr_params p = ig_gbr_params_default();
    p.max_depth = 0;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 1, y, &p), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_regress_last_status(), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_gbr_load(&m, "/nonexistent/dir/model.json"), IG_REGRESS_EIO);
    ck_assert_int_eq(ig_regress_last_status(), IG_REGRESS_EIO);
    ck_assert_msg(strstr(ig_regress_last_error(), "/nonexistent/dir/model.json"), "%s", ig_regress_last_error());
    /* a bad label */
    struct ig_rf *r = NULL;
    struct ig_rf_params rp = ig_rf_params_default();
    rp.n_threads = 2;
    int32_t lab[4] = {0, 1, 0, 5};
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, 4, 1, lab, 2, &rp), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_regress_last_status(), IG_REGRESS_EINVAL);
    ck_assert_str_eq(ig_regress_status_str(ig_regress_last_status()), "invalid argument");
}
END_TEST

START_TEST(test_rf_f32_regressor_and_accessors)
{
    /* float features with 40 distinct values, no bootstrap, all features: every tree is the
     * exact fit, so the forest reproduces the targets; a classifier on the same rows
     * predicts the class of each row */
    enum { N = 40 };
    float xf[2 * N], y[N], out[N];
    int32_t lab[N];
    for (int i = 0; i < N; i++) {
        xf[2 * i] = 0.25f * (float)i - 3.0f;
        xf[2 * i + 1] = 7.0f; /* constant: never split on */
        y[i] = (float)((i * 5) % 11) - 4.5f;
        lab[i] = i % 3 == 0;
    }
    struct ig_rf_params p = ig_rf_params_default();
    p.bootstrap = 0;
    p.n_estimators = 3;
    struct ig_rf *m = NULL;
    ck_assert_int_eq(ig_rf_regressor_fit_f32(&m, xf, N, 2, y, &p), IG_REGRESS_OK);
    ck_assert_uint_eq(ig_rf_n_features(m), 2);
    ck_assert_int_eq(ig_rf_n_trees(m), 3);
    ck_assert_int_eq(ig_rf_n_classes(m), 0);
    ck_assert_int_eq(ig_rf_predict_f32(m, xf, N, 2, out), IG_REGRESS_OK);
    for (int i = 0; i < N; i++) ck_assert_float_eq_tol(out[i], y[i], 1e-5f);
    /* between two training rows the threshold is the midpoint: 0.1 above row 4 is row 4 */
    const float q[2] = {0.25f * 4.0f - 3.0f + 0.1f, 7.0f};
    ck_assert_int_eq(ig_rf_predict_f32(m, q, 1, 2, out), IG_REGRESS_OK);
    ck_assert_float_eq_tol(out[0], y[4], 1e-5f);
    ck_assert_int_eq(ig_rf_predict_f32(m, xf, N, 3, out), IG_REGRESS_EINVAL);
    ig_rf_free(m);
    ck_assert_uint_eq(ig_rf_n_features(NULL), 0);
    ck_assert_int_eq(ig_rf_n_trees(NULL), 0);
    p.n_estimators = 4;
    ck_assert_int_eq(ig_rf_classifier_fit_f32(&m, xf, N, 2, lab, 2, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_n_trees(m), 4);
    ck_assert_int_eq(ig_rf_predict_f32(m, xf, N, 2, out), IG_REGRESS_OK);
    for (int i = 0; i < N; i++) ck_assert_float_eq(out[i], (float)lab[i]);
    ig_rf_free(m);
}
END_TEST

START_TEST(test_to_json_matches_save)
{
    /* to_json gives the bytes save writes, and they load back to the same predictions */
    enum { N = 60 };
    uint8_t x[N];
    float y[N], a[N], b[N];
    for (int i = 0; i < N; i++) {
        x[i] = (uint8_t)(i * 4);
        y[i] = (float)(i % 9);
    }
    struct ig_gbr_params p = ig_gbr_params_default();
    p.n_estimators = 5;
    struct ig_gbr *m = NULL, *m2 = NULL;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, N, 1, y, &p), IG_REGRESS_OK);
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(ig_gbr_to_json(m, &text, &len), IG_REGRESS_OK);
    ck_assert_uint_eq(len, strlen(text));
    const char *path = tmpfile_path("dump");
    ck_assert_int_eq(ig_gbr_save(m, path), IG_REGRESS_OK);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *file = calloc(len + 16, 1);
    size_t got = fread(file, 1, len + 8, f);
    fclose(f);
    ck_assert_uint_eq(got, len);
    ck_assert_mem_eq(file, text, len);
    free(file);
    free(text);
    write_text(path, ""); /* overwrite, then from the string again */
    ck_assert_int_eq(ig_gbr_to_json(m, &text, NULL), IG_REGRESS_OK);
    write_text(path, text);
    free(text);
    ck_assert_int_eq(ig_gbr_load(&m2, path), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m, x, N, 1, a), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m2, x, N, 1, b), IG_REGRESS_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    ig_gbr_free(m2);
    struct ig_rf_params rp = ig_rf_params_default();
    rp.n_estimators = 4;
    struct ig_rf *r = NULL, *r2 = NULL;
    ck_assert_int_eq(ig_rf_regressor_fit_u8(&r, x, N, 1, y, &rp), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_to_json(r, &text, &len), IG_REGRESS_OK);
    write_text(path, text);
    free(text);
    ck_assert_int_eq(ig_rf_load(&r2, path), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_n_trees(r2), 4);
    ck_assert_int_eq(ig_rf_predict_u8(r, x, N, 1, a), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_predict_u8(r2, x, N, 1, b), IG_REGRESS_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_int_eq(ig_gbr_to_json(NULL, &text, &len), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_rf_to_json(r, NULL, &len), IG_REGRESS_EINVAL);
    ig_rf_free(r);
    ig_rf_free(r2);
    ig_gbr_free(m);
    unlink(path);
}
END_TEST

/* ------------------------------------------------------------ instruction sets */

/* The model of one fit as its JSON text (malloc'ed), with isa forced. */
static char *gbr_json(const void *x, int is_u8, size_t n, size_t d, const float *y, struct ig_gbr_params p,
                      enum ig_regress_isa isa, float *pred)
{
    p.isa = isa;
    struct ig_gbr *m = NULL;
    enum ig_regress_status st = is_u8 ? ig_gbr_fit_u8(&m, x, n, d, y, &p) : ig_gbr_fit_f32(&m, x, n, d, y, &p);
    ck_assert_msg(st == IG_REGRESS_OK, "fit on %s: %s", ig_regress_isa_name(isa), ig_regress_last_error());
    char *text = NULL;
    ck_assert_int_eq(ig_gbr_to_json(m, &text, NULL), IG_REGRESS_OK);
    st = is_u8 ? ig_gbr_predict_u8(m, x, n, d, pred) : ig_gbr_predict_f32(m, x, n, d, pred);
    ck_assert_int_eq(st, IG_REGRESS_OK);
    ig_gbr_free(m);
    return text;
}

START_TEST(test_gbr_isa_parity)
{
    /* every instruction set this CPU runs grows the same trees as the generic kernels, bit for bit:
     * LAD on pixel bytes (the packed +-1 histograms, full 16-feature blocks), squared error on
     * pixel bytes and on quantile-binned floats with a partial block (10 features: the double
     * histograms); a set the CPU lacks is refused with its name */
    enum { N = 150 };
    uint8_t *xc = malloc((size_t)N * CD);
    float *yc = malloc(N * sizeof *yc), *pa = malloc(N * sizeof *pa), *pb = malloc(N * sizeof *pb);
    int32_t *lc = malloc(N * sizeof *lc);
    uint8_t xf8[N * FD];
    float xf[N * FD], yf[N];
    ck_assert(xc && yc && pa && pb && lc);
    ig_test_gen_cifar_like(xc, yc, lc, N, 5);
    gen_friedman(xf8, xf, yf, N, 9);
    struct ig_gbr_params p = ig_gbr_params_default();
    p.n_estimators = 12;
    struct {
        const void *x;
        int is_u8;
        size_t d;
        const float *y;
        enum ig_gbr_loss loss;
    } cases[] = {{xc, 1, CD, yc, IG_GBR_LOSS_ABSOLUTE_ERROR}, {xc, 1, CD, yc, IG_GBR_LOSS_SQUARED_ERROR},
                 {xf, 0, FD, yf, IG_GBR_LOSS_SQUARED_ERROR}, {xf, 0, FD, yf, IG_GBR_LOSS_ABSOLUTE_ERROR}};
    int compared = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        p.loss = cases[c].loss;
        char *ref = gbr_json(cases[c].x, cases[c].is_u8, N, cases[c].d, cases[c].y, p, IG_REGRESS_ISA_GENERIC, pa);
        for (enum ig_regress_isa isa = IG_REGRESS_ISA_AUTO; isa <= IG_REGRESS_ISA_AVX512; isa++) {
            if (isa == IG_REGRESS_ISA_GENERIC) continue;
            enum ig_regress_isa got;
            if (ig_regress_isa_resolve(isa, &got) != IG_REGRESS_OK) {
                ck_assert_ptr_nonnull(strstr(ig_regress_last_error(), ig_regress_isa_name(isa)));
                struct ig_gbr *m = NULL;
                struct ig_gbr_params q = p;
                q.isa = isa;
                ck_assert_int_eq(ig_gbr_fit_u8(&m, xc, N, CD, yc, &q), IG_REGRESS_EINVAL);
                ck_assert_ptr_null(m);
                continue;
            }
            ck_assert_int_ne(got, IG_REGRESS_ISA_AUTO);
            char *text = gbr_json(cases[c].x, cases[c].is_u8, N, cases[c].d, cases[c].y, p, isa, pb);
            ck_assert_msg(!strcmp(text, ref), "case %zu: the %s model differs from the generic one", c,
                          ig_regress_isa_name(isa));
            ck_assert_mem_eq(pa, pb, N * sizeof *pa);
            free(text);
            compared++;
        }
        free(ref);
    }
    ck_assert_int_ge(compared, 4);   /* at least auto, on every case */
    free(xc), free(yc), free(pa), free(pb), free(lc);
}
END_TEST

START_TEST(test_isa_names_and_bad_values)
{
    for (enum ig_regress_isa isa = IG_REGRESS_ISA_AUTO; isa <= IG_REGRESS_ISA_AVX512; isa++) {
        enum ig_regress_isa back = (enum ig_regress_isa)77;
        ck_assert_int_eq(ig_regress_isa_parse(ig_regress_isa_name(isa), &back), 1);
        ck_assert_int_eq(back, isa);
    }
    enum ig_regress_isa out = IG_REGRESS_ISA_AVX2;
    ck_assert_int_eq(ig_regress_isa_parse("avx", &out), 0);
    ck_assert_int_eq(ig_regress_isa_parse("AVX2", &out), 0);
    ck_assert_int_eq(ig_regress_isa_parse(NULL, &out), 0);
    ck_assert_int_eq(out, IG_REGRESS_ISA_AVX2);
    ck_assert_str_eq(ig_regress_isa_name((enum ig_regress_isa)9), "unknown");
    ck_assert_int_eq(ig_regress_isa_resolve(IG_REGRESS_ISA_GENERIC, &out), IG_REGRESS_OK);
    ck_assert_int_eq(out, IG_REGRESS_ISA_GENERIC);
    ck_assert_int_eq(ig_regress_isa_resolve(IG_REGRESS_ISA_AUTO, &out), IG_REGRESS_OK);
    ck_assert_int_ne(out, IG_REGRESS_ISA_AUTO);
    ck_assert_int_eq(ig_regress_isa_resolve((enum ig_regress_isa)9, &out), IG_REGRESS_EINVAL);
    ck_assert_ptr_nonnull(strstr(ig_regress_last_error(), "unknown instruction set 9"));
    /* a fit with a bad set fails before any work and leaves no model */
    uint8_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float y[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct ig_gbr_params p = ig_gbr_params_default();
    p.isa = (enum ig_regress_isa)9;
    struct ig_gbr *m = (struct ig_gbr *)&p;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 8, 1, y, &p), IG_REGRESS_EINVAL);
    ck_assert_ptr_null(m);
}
END_TEST

/* ------------------------------------------------------------ bad input */

START_TEST(test_bad_input)
{
    uint8_t x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float xf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float y[4] = {1, 2, 3, 4};
    int32_t lab[4] = {0, 1, 0, 1};
    struct ig_gbr_params p = ig_gbr_params_default();
    struct ig_rf_params rp = ig_rf_params_default();
    struct ig_gbr *m = NULL;
    struct ig_rf *r = NULL;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 1, 2, y, &p), IG_REGRESS_EINVAL); /* n < 2 */
    ck_assert_ptr_null(m);
    ck_assert(strstr(ig_regress_last_error(), "rows") != NULL);
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 0, y, &p), IG_REGRESS_EINVAL); /* d = 0 */
    ck_assert_int_eq(ig_gbr_fit_u8(&m, NULL, 4, 2, y, &p), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 2, NULL, &p), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 2, y, NULL), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_gbr_fit_u8(NULL, x, 4, 2, y, &p), IG_REGRESS_EINVAL);
    float ybad[4] = {1, NAN, 3, 4};
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 2, ybad, &p), IG_REGRESS_EINVAL);
    ck_assert(strstr(ig_regress_last_error(), "NaN") != NULL);
    ybad[1] = INFINITY;
    ck_assert_int_eq(ig_rf_regressor_fit_u8(&r, x, 4, 2, ybad, &rp), IG_REGRESS_EINVAL);
    float xbad[8] = {1, 2, 3, 4, 5, -INFINITY, 7, 8};
    ck_assert_int_eq(ig_gbr_fit_f32(&m, xbad, 4, 2, y, &p), IG_REGRESS_EINVAL);
    xbad[5] = NAN;
    ck_assert_int_eq(ig_rf_classifier_fit_f32(&r, xbad, 4, 2, lab, 2, &rp), IG_REGRESS_EINVAL);
    struct ig_gbr_params q = p;
    q.learning_rate = 0.0;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 2, y, &q), IG_REGRESS_EINVAL);
    q = p;
    q.subsample = 1.5;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 2, y, &q), IG_REGRESS_EINVAL);
    q = p;
    q.max_depth = 0;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 2, y, &q), IG_REGRESS_EINVAL);
    q = p;
    q.n_estimators = 0;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 2, y, &q), IG_REGRESS_EINVAL);
    /* labels */
    int32_t lbad[4] = {0, 1, 2, 0};
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, 4, 2, lbad, 2, &rp), IG_REGRESS_EINVAL);
    ck_assert(strstr(ig_regress_last_error(), "label") != NULL);
    lbad[2] = -1;
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, 4, 2, lbad, 3, &rp), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, 4, 2, lab, 1, &rp), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, 4, 2, NULL, 2, &rp), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, 1, 2, lab, 2, &rp), IG_REGRESS_EINVAL);
    struct ig_rf_params rq = rp;
    rq.max_depth = 0;
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, 4, 2, lab, 2, &rq), IG_REGRESS_EINVAL);
    ck_assert_ptr_null(r);
    /* size mismatch at predict, and constant data fits fine */
    const float yc[4] = {2, 2, 2, 2};
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, 4, 2, yc, &p), IG_REGRESS_OK);
    float out[8];
    ck_assert_int_eq(ig_gbr_predict_u8(m, x, 2, 4, out), IG_REGRESS_EINVAL);
    ck_assert(strstr(ig_regress_last_error(), "features") != NULL);
    ck_assert_int_eq(ig_gbr_predict_u8(m, x, 4, 2, NULL), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_gbr_predict_f32(m, xbad, 4, 2, out), IG_REGRESS_EINVAL);
    ck_assert_int_eq(ig_gbr_predict_f32(m, xf, 4, 2, out), IG_REGRESS_OK);
    for (int i = 0; i < 4; i++) ck_assert_float_eq_tol(out[i], 2.0f, 1e-6f);
    ck_assert_int_eq(ig_gbr_predict_u8(NULL, x, 4, 2, out), IG_REGRESS_EINVAL);
    ig_gbr_free(m);
    ig_gbr_free(NULL);
    ig_rf_free(NULL);
    ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, x, 4, 2, lab, 2, &rp), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_predict_proba_u8(r, x, 4, 3, out), IG_REGRESS_EINVAL);
    ig_rf_free(r);
    ck_assert_str_eq(ig_regress_status_str(IG_REGRESS_EFORMAT), "bad model file");
}
END_TEST

/* ------------------------------------------------------------ quality vs scikit-learn
 * Reference numbers: tests/fixtures/regress_sklearn.json (gen_regress_fixtures.py), each the
 * mean over scikit-learn random_state 0..4. Ours must be within 2% (two-sided for the
 * deterministic GBR cases; one-sided, "no worse", where binning or random streams differ). */

static void check_close(const char *what, double ours, double ref, double rel, int two_sided)
{
    fprintf(stderr, "test_regress: %-28s ours %.5f  sklearn %.5f  (%+.2f%%)\n", what, ours, ref,
            100.0 * (ours - ref) / ref);
    ck_assert_msg(ours <= ref * (1.0 + rel), "%s: ours %.5f vs sklearn %.5f", what, ours, ref);
    if (two_sided) ck_assert_msg(ours >= ref * (1.0 - rel), "%s: ours %.5f vs sklearn %.5f", what, ours, ref);
}

START_TEST(test_quality_friedman)
{
    enum { NA = 1000, NB = 2000 };
    uint8_t *xa = malloc(NA * FD), *xb = malloc(NB * FD);
    float *xaf = malloc(NA * FD * sizeof(float)), *xbf = malloc(NB * FD * sizeof(float));
    float *ya = malloc(NA * sizeof(float)), *yb = malloc(NB * sizeof(float));
    float *pr = malloc(NB * sizeof(float));
    gen_friedman(xa, xaf, ya, NA, 11);
    gen_friedman(xb, xbf, yb, NB, 12);
    json_t *fx = fixture_json();
    struct ig_gbr_params p = ig_gbr_params_default();
    struct ig_gbr *m = NULL;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, xa, NA, FD, ya, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m, xb, NB, FD, pr), IG_REGRESS_OK);
    check_close("friedman gbr lad mae", mae(pr, yb, NB), fixture_num(fx, "friedman_gbr_lad_mae"), 0.02, 1);
    ig_gbr_free(m);
    p.loss = IG_GBR_LOSS_SQUARED_ERROR;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, xa, NA, FD, ya, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m, xb, NB, FD, pr), IG_REGRESS_OK);
    check_close("friedman gbr ls mae", mae(pr, yb, NB), fixture_num(fx, "friedman_gbr_ls_mae"), 0.02, 1);
    ig_gbr_free(m);
    /* stochastic boosting (no sklearn number: its subsample stream differs): still close */
    p = ig_gbr_params_default();
    p.subsample = 0.5;
    p.seed = 1;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, xa, NA, FD, ya, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m, xb, NB, FD, pr), IG_REGRESS_OK);
    check_close("friedman gbr lad sub0.5 mae", mae(pr, yb, NB), fixture_num(fx, "friedman_gbr_lad_mae"),
                0.10, 0);
    ig_gbr_free(m);
    p = ig_gbr_params_default();
    ck_assert_int_eq(ig_gbr_fit_f32(&m, xaf, NA, FD, ya, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_f32(m, xbf, NB, FD, pr), IG_REGRESS_OK);
    check_close("friedman_f32 gbr lad mae", mae(pr, yb, NB), fixture_num(fx, "friedman_f32_gbr_lad_mae"),
                0.02, 0);
    ig_gbr_free(m);
    double s = 0.0;
    for (int seed = 0; seed < 5; seed++) {
        struct ig_rf_params rp = ig_rf_params_default();
        rp.seed = (uint64_t)seed;
        struct ig_rf *r = NULL;
        ck_assert_int_eq(ig_rf_regressor_fit_u8(&r, xa, NA, FD, ya, &rp), IG_REGRESS_OK);
        ck_assert_int_eq(ig_rf_predict_u8(r, xb, NB, FD, pr), IG_REGRESS_OK);
        s += mae(pr, yb, NB) / 5.0;
        ig_rf_free(r);
    }
    check_close("friedman rf regressor mae", s, fixture_num(fx, "friedman_rf_reg_mae"), 0.02, 0);
    json_decref(fx);
    free(xa);
    free(xb);
    free(xaf);
    free(xbf);
    free(ya);
    free(yb);
    free(pr);
}
END_TEST

START_TEST(test_quality_cifar_like)
{
    enum { NA = 500, NB = 2000 };
    uint8_t *xa = malloc((size_t)NA * CD), *xb = malloc((size_t)NB * CD);
    float *ya = malloc(NA * sizeof(float)), *yb = malloc(NB * sizeof(float));
    int32_t *la = malloc(NA * sizeof(int32_t)), *lb = malloc(NB * sizeof(int32_t));
    float *pr = malloc(3 * NB * sizeof(float));
    ig_test_gen_cifar_like(xa, ya, la, NA, 1);
    ig_test_gen_cifar_like(xb, yb, lb, NB, 2);
    json_t *fx = fixture_json();
    json_t *head = json_object_get(fx, "cifar_like_y_test_head");
    for (int i = 0; i < 4; i++) /* the generator matches the script's */
        ck_assert_float_eq_tol(yb[i], (float)json_number_value(json_array_get(head, (size_t)i)), 1e-6f);
    struct ig_gbr_params p = ig_gbr_params_default();
    p.n_estimators = 200;
    struct ig_gbr *m = NULL;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, xa, NA, CD, ya, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m, xb, NB, CD, pr), IG_REGRESS_OK);
    check_close("cifar_like gbr lad200 mae", mae(pr, yb, NB), fixture_num(fx, "cifar_like_gbr_lad_mae"),
                0.02, 1);
    ig_gbr_free(m);
    double acc = 0.0, ll = 0.0;
    for (int seed = 0; seed < 5; seed++) {
        struct ig_rf_params rp = ig_rf_params_default();
        rp.max_depth = 5;
        rp.seed = (uint64_t)seed;
        struct ig_rf *r = NULL;
        ck_assert_int_eq(ig_rf_classifier_fit_u8(&r, xa, NA, CD, la, 3, &rp), IG_REGRESS_OK);
        ck_assert_int_eq(ig_rf_predict_proba_u8(r, xb, NB, CD, pr), IG_REGRESS_OK);
        for (int i = 0; i < NB; i++) {
            int b = 0;
            for (int k = 1; k < 3; k++)
                if (pr[3 * i + k] > pr[3 * i + b]) b = k;
            acc += (b == lb[i]) / (5.0 * NB);
            double q = pr[3 * i + lb[i]]; /* sklearn log_loss clips at eps */
            if (q < 2.220446049250313e-16) q = 2.220446049250313e-16;
            ll -= log(q) / (5.0 * NB);
        }
        ig_rf_free(r);
    }
    /* accuracy: higher is better, so compare the error rate */
    check_close("cifar_like rf error rate", 1.0 - acc, 1.0 - fixture_num(fx, "cifar_like_rf_acc"), 0.02, 0);
    check_close("cifar_like rf log-loss", ll, fixture_num(fx, "cifar_like_rf_logloss"), 0.02, 0);
    ck_assert_double_ge(acc, fixture_num(fx, "cifar_like_rf_acc") * 0.98);
    json_decref(fx);
    free(xa);
    free(xb);
    free(ya);
    free(yb);
    free(la);
    free(lb);
    free(pr);
}
END_TEST

static Suite *regress_suite(void)
{
    Suite *s = suite_create("regress");
    IG_TEST_CASE(s, "known", 0, test_gbr_one_split, test_gbr_lad_median_leaf, test_gbr_depth_limit_and_min_leaf,
                                test_rf_known, test_u8_equals_integer_f32);
    IG_TEST_CASE(s, "io", 0, test_save_load_roundtrip, test_corrupt_files, test_bad_input,
                             test_load_error_wraps_cause, test_gbr_load_checks_tree_count_and_seed,
                             test_last_status_keeps_cause, test_rf_f32_regressor_and_accessors,
                             test_to_json_matches_save);
    IG_TEST_CASE(s, "isa", 120, test_gbr_isa_parity, test_isa_names_and_bad_values);
    IG_TEST_CASE(s, "quality", 300, test_quality_friedman, test_quality_cifar_like);
    return s;
}

int main(void)
{
    return ig_test_run(regress_suite());
}
