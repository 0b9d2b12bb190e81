/* Check suite for the apps' array files (ig_npy, ig_csv) and the igradv-regress tool end to end against the library API. */
#include "ig_csv.h"
#include "ig_npy.h"
#include "ig_regress.h"
#include "ig_test_files.h"
#include "ig_test_util.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *tool = "igradv-regress"; /* argv[1]: the built binary */
/* Runs the tool with args; returns the exit status, stderr in *err (free it). */
static int run_tool(const char *args, char **err)
{
    char cmd[4096];
    const char *ef = ig_test_in("stderr.txt");
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s' >/dev/null", tool, args, ef);
    int st = system(cmd);
    ck_assert_msg(st != -1 && WIFEXITED(st), "cannot run %s", cmd);
    char *e = ig_test_read_file(ef);
    if (err) *err = e;
    else free(e);
    return WEXITSTATUS(st);
}

/* ------------------------------------------------------------ ig_npy */

START_TEST(test_npy_roundtrip_and_header)
{
    const float f[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-7f, 65504.0f};
    const int64_t shape[2] = {3, 2};
    ck_assert_int_eq(ig_npy_write(ig_test_in("a.npy"), IG_NPY_F32, 2, shape, f), IG_OK);
    char *t = ig_test_read_file(ig_test_in("a.npy"));
    /* what numpy.save writes for np.float32 of shape (3, 2): version 1.0, 64-byte aligned */
    ck_assert_mem_eq(t, "\x93NUMPY\x01\x00\x76\x00", 10);
    ck_assert_str_eq(t + 10 + 118 - 1, "\n" "\x00\x00\xc0\x3f");
    ck_assert(strncmp(t + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", 59) == 0);
    free(t);
    struct ig_npy a;
    ck_assert_int_eq(ig_npy_read(ig_test_in("a.npy"), &a), IG_OK);
    ck_assert_int_eq(a.dtype, IG_NPY_F32);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.shape[0], 3);
    ck_assert_int_eq(a.shape[1], 2);
    ck_assert_mem_eq(a.data, f, sizeof f);
    ig_npy_free(&a);
    /* every dtype, 1-D, including an empty array */
    const double dd[3] = {1.0 / 3.0, -1e300, 5.0};
    const int64_t i64[3] = {-1, INT64_MAX, 7};
    const int32_t i32[3] = {-5, 0, INT32_MAX};
    const uint8_t u8[3] = {0, 128, 255};
    const void *src[] = {u8, i32, i64, f, dd};
    const int64_t n3 = 3, n0 = 0;
    for (int dt = IG_NPY_U8; dt <= IG_NPY_F64; dt++) {
        ck_assert_int_eq(ig_npy_write(ig_test_in("b.npy"), (enum ig_npy_dtype)dt, 1, &n3, src[dt]), IG_OK);
        ck_assert_int_eq(ig_npy_read(ig_test_in("b.npy"), &a), IG_OK);
        ck_assert_int_eq(a.dtype, dt);
        ck_assert_int_eq(a.ndim, 1);
        ck_assert_uint_eq(a.count, 3);
        ck_assert_mem_eq(a.data, src[dt], 3 * ig_npy_itemsize((enum ig_npy_dtype)dt));
        ig_npy_free(&a);
    }
    ck_assert_int_eq(ig_npy_write(ig_test_in("e.npy"), IG_NPY_F64, 1, &n0, NULL), IG_OK);
    ck_assert_int_eq(ig_npy_read(ig_test_in("e.npy"), &a), IG_OK);
    ck_assert_uint_eq(a.count, 0);
    ig_npy_free(&a);
    /* a version 2.0 header (u32 length), as numpy writes for huge headers, and '<u1' */
    const char hdr[] = "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }   \n";
    unsigned char v2[12 + sizeof hdr - 1 + 2];
    memcpy(v2, "\x93NUMPY\x02\x00", 8);
    uint32_t hl = (uint32_t)(sizeof hdr - 1);
    v2[8] = (unsigned char)hl;
    v2[9] = v2[10] = v2[11] = 0;
    memcpy(v2 + 12, hdr, hl);
    v2[12 + hl] = 9;
    v2[13 + hl] = 200;
    ig_test_write_file(ig_test_in("v2.npy"), v2, sizeof v2);
    ck_assert_int_eq(ig_npy_read(ig_test_in("v2.npy"), &a), IG_OK);
    ck_assert_int_eq(a.dtype, IG_NPY_U8);
    ck_assert_int_eq(((uint8_t *)a.data)[1], 200);
    ig_npy_free(&a);
}
END_TEST

/* a version 1.0 file with the given dict text and data bytes */
static void write_npy_raw(const char *path, const char *dict, size_t data_bytes)
{
    unsigned char buf[512] = {0};
    size_t n = strlen(dict), hl = ((10 + n + 1 + 63) / 64) * 64 - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)hl;
    memset(buf + 10, ' ', hl);
    memcpy(buf + 10, dict, n);
    buf[10 + hl - 1] = '\n';
    ig_test_write_file(path, buf, 10 + hl + data_bytes);
}

START_TEST(test_npy_bad_files)
{
    struct { const char *dict; size_t bytes; const char *msg; } cases[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "dtype '>f4' is not supported"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }", 32, "more than 2 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, "0-dimensional"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, "needs 12 data bytes, the file has 8"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 9, "needs 8 data bytes, the file has 9"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "not supported"},
        {"{'fortran_order': False, 'shape': (2,), }", 8, "no 'descr'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", 8, "bad 'shape'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8, "out of range"},
    };
    struct ig_npy a;
    const char *path = ig_test_in("bad.npy");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_npy_raw(path, cases[i].dict, cases[i].bytes);
        ck_assert_int_eq(ig_npy_read(path, &a), IG_ERR_FORMAT);
        ck_assert_msg(strstr(ig_last_error(), cases[i].msg) && strstr(ig_last_error(), path),
                      "case %zu: %s", i, ig_last_error());
        ck_assert_ptr_null(a.data);
    }
    ig_test_write_str(path, "PK\x03\x04 not numpy");
    ck_assert_int_eq(ig_npy_read(path, &a), IG_ERR_FORMAT);
    ck_assert(strstr(ig_last_error(), "magic") != NULL);
    ig_test_write_file(path, "\x93NUMPY\x09\x00\x10\x00", 10);
    ck_assert_int_eq(ig_npy_read(path, &a), IG_ERR_FORMAT);
    ck_assert(strstr(ig_last_error(), "version 9.0") != NULL);
    ig_test_write_file(path, "\x93NUMPY\x01\x00\x40\x00{'descr'", 17); /* truncated header */
    ck_assert_int_eq(ig_npy_read(path, &a), IG_ERR_FORMAT);
    ck_assert_int_eq(ig_npy_read(ig_test_in("missing.npy"), &a), IG_ERR_IO);
    const int64_t bad_shape = -1;
    ck_assert_int_eq(ig_npy_write(path, IG_NPY_F32, 1, &bad_shape, "x"), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_npy_write(path, IG_NPY_F32, 3, &bad_shape, "x"), IG_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------ ig_csv */

START_TEST(test_csv_read_write)
{
    const char *p = ig_test_in("a.csv");
    ig_test_write_str(p, "f0, f1 ,f2\n1,2,3\r\n\n 4.5 ,-6e-1,7\n");
    float *x = NULL;
    int64_t r = 0, c = 0;
    ck_assert_int_eq(ig_csv_read_f32(p, &x, &r, &c), IG_OK);
    ck_assert_int_eq(r, 2);
    ck_assert_int_eq(c, 3);
    const float want[6] = {1, 2, 3, 4.5f, -0.6f, 7};
    ck_assert_mem_eq(x, want, sizeof want);
    free(x);
    const float v[4] = {0.1f, 1.0f / 3.0f, -1e-30f, 3e38f};
    ck_assert_int_eq(ig_csv_write_f32(p, v, 2, 2), IG_OK);
    ck_assert_int_eq(ig_csv_read_f32(p, &x, &r, &c), IG_OK);
    ck_assert_int_eq(r * c, 4);
    ck_assert_mem_eq(x, v, sizeof v); /* %.9g is exact for float32 */
    free(x);
    ig_test_write_str(p, "1,2\n3,x\n");
    ck_assert_int_eq(ig_csv_read_f32(p, &x, &r, &c), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "a.csv:2: field 2 is not a finite number"), "%s", ig_last_error());
    ig_test_write_str(p, "1,2\n3\n");
    ck_assert_int_eq(ig_csv_read_f32(p, &x, &r, &c), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "a.csv:2: expected 2 fields"), "%s", ig_last_error());
    ig_test_write_str(p, "1,nan\n");
    ck_assert_int_eq(ig_csv_read_f32(p, &x, &r, &c), IG_ERR_FORMAT);
    ig_test_write_str(p, "only,a,header\n");
    ck_assert_int_eq(ig_csv_read_f32(p, &x, &r, &c), IG_ERR_FORMAT);
    ck_assert(strstr(ig_last_error(), "no rows") != NULL);
    ck_assert_ptr_null(x);
}
END_TEST

/* ------------------------------------------------------------ igradv-regress */

enum { N = 400, D = 6 };

/* u8 features and a smooth target, the same every call */
static void dataset(uint8_t *x, float *y, int32_t *lab)
{
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            x[i * D + j] = (uint8_t)(s >> 56);
        }
        y[i] = (float)(x[i * D] / 64.0 + (x[i * D + 2] > 100 ? 1.5 : 0.0) - x[i * D + 4] / 300.0);
        lab[i] = y[i] < 1.0f ? 0 : y[i] < 2.5f ? 1 : 2;
    }
}

static float *read_npy_f32(const char *path, int64_t n, int64_t cols)
{
    struct ig_npy a;
    ck_assert_msg(ig_npy_read(path, &a) == IG_OK, "%s", ig_last_error());
    ck_assert_int_eq(a.dtype, IG_NPY_F32);
    ck_assert_int_eq(a.shape[0], n);
    ck_assert_int_eq(a.shape[1], cols);
    return a.data;
}

START_TEST(test_tool_gbr_matches_library)
{
    static uint8_t x[N * D];
    static float y[N], want[N];
    static int32_t lab[N];
    dataset(x, y, lab);
    const int64_t sx[2] = {N, D}, sy = N;
    ck_assert_int_eq(ig_npy_write(ig_test_in("x.npy"), IG_NPY_U8, 2, sx, x), IG_OK);
    double y64[N];
    for (int i = 0; i < N; i++) y64[i] = y[i];
    ck_assert_int_eq(ig_npy_write(ig_test_in("y.npy"), IG_NPY_F64, 1, &sy, y64), IG_OK);
    char args[2048];
    snprintf(args, sizeof args, "fit --model gbr --loss ls --n-estimators 40 --learning-rate 0.2 --max-depth 4 "
             "--subsample 0.8 --seed 3 --x '%s' --y '%s' --out '%s'", ig_test_in("x.npy"), ig_test_in("y.npy"), ig_test_in("m.json"));
    char *err;
    ck_assert_msg(run_tool(args, &err) == 0, "fit failed: %s", err);
    free(err);
    snprintf(args, sizeof args, "predict --model-file '%s' --x '%s' --out '%s'", ig_test_in("m.json"), ig_test_in("x.npy"), ig_test_in("p.npy"));
    ck_assert_msg(run_tool(args, &err) == 0, "predict failed: %s", err);
    free(err);
    struct ig_gbr_params p = ig_gbr_params_default();
    p.loss = IG_GBR_LOSS_SQUARED_ERROR;
    p.n_estimators = 40;
    p.learning_rate = 0.2;
    p.max_depth = 4;
    p.subsample = 0.8;
    p.seed = 3;
    struct ig_gbr *m = NULL;
    ck_assert_int_eq(ig_gbr_fit_u8(&m, x, N, D, y, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_gbr_predict_u8(m, x, N, D, want), IG_REGRESS_OK);
    float *got = read_npy_f32(ig_test_in("p.npy"), N, 1);
    ck_assert_mem_eq(got, want, sizeof want);
    free(got);
    /* the saved model is the library's model, byte for byte */
    char *text = NULL;
    ck_assert_int_eq(ig_gbr_to_json(m, &text, NULL), IG_REGRESS_OK);
    char *file = ig_test_read_file(ig_test_in("m.json"));
    ck_assert_str_eq(file, text);
    free(file);
    /* and the same with the generic split kernels forced (IGRADV_CPU): the model does not depend on the ISA */
    snprintf(args, sizeof args, "fit --model gbr --loss ls --n-estimators 40 --learning-rate 0.2 --max-depth 4 "
             "--subsample 0.8 --seed 3 --x '%s' --y '%s' --out '%s'", ig_test_in("x.npy"), ig_test_in("y.npy"), ig_test_in("mg.json"));
    setenv("IGRADV_CPU", "generic", 1);
    int rc = run_tool(args, &err);
    unsetenv("IGRADV_CPU");
    ck_assert_msg(rc == 0, "fit with IGRADV_CPU=generic failed: %s", err);
    free(err);
    file = ig_test_read_file(ig_test_in("mg.json"));
    ck_assert_str_eq(file, text);
    free(file);
    free(text);
    ig_gbr_free(m);
}
END_TEST

START_TEST(test_tool_rf_csv_matches_library)
{
    static uint8_t x[N * D];
    static float y[N], xf[N * D], want[3 * N];
    static int32_t lab[N];
    dataset(x, y, lab);
    for (int i = 0; i < N * D; i++) xf[i] = x[i] / 7.0f;
    float labf[N];
    for (int i = 0; i < N; i++) labf[i] = (float)lab[i];
    ck_assert_int_eq(ig_csv_write_f32(ig_test_in("x.csv"), xf, N, D), IG_OK);
    ck_assert_int_eq(ig_csv_write_f32(ig_test_in("lab.csv"), labf, N, 1), IG_OK);
    char args[2048];
    snprintf(args, sizeof args, "fit --model rf-classifier --n-estimators 15 --max-depth 5 --max-features 3 --seed 8 "
             "--threads 2 --x '%s' --y '%s' --out '%s'", ig_test_in("x.csv"), ig_test_in("lab.csv"), ig_test_in("rf.json"));
    char *err;
    ck_assert_msg(run_tool(args, &err) == 0, "fit failed: %s", err);
    free(err);
    snprintf(args, sizeof args, "predict --proba --model-file '%s' --x '%s' --out '%s'", ig_test_in("rf.json"), ig_test_in("x.csv"),
             ig_test_in("p.csv"));
    ck_assert_msg(run_tool(args, &err) == 0, "predict failed: %s", err);
    free(err);
    /* the library on the same numbers (read back from the CSV: %.9g is exact) */
    float *xr = NULL;
    int64_t r, c;
    ck_assert_int_eq(ig_csv_read_f32(ig_test_in("x.csv"), &xr, &r, &c), IG_OK);
    ck_assert_mem_eq(xr, xf, sizeof xf);
    struct ig_rf_params p = ig_rf_params_default();
    p.n_estimators = 15;
    p.max_depth = 5;
    p.max_features = 3;
    p.seed = 8;
    struct ig_rf *m = NULL;
    ck_assert_int_eq(ig_rf_classifier_fit_f32(&m, xf, N, D, lab, 3, &p), IG_REGRESS_OK);
    ck_assert_int_eq(ig_rf_predict_proba_f32(m, xf, N, D, want), IG_REGRESS_OK);
    float *got = NULL;
    ck_assert_int_eq(ig_csv_read_f32(ig_test_in("p.csv"), &got, &r, &c), IG_OK);
    ck_assert_int_eq(r, N);
    ck_assert_int_eq(c, 3);
    ck_assert_mem_eq(got, want, sizeof want);
    free(got);
    free(xr);
    ig_rf_free(m);
}
END_TEST

START_TEST(test_tool_bad_input)
{
    static uint8_t x[N * D];
    static float y[N];
    static int32_t lab[N];
    dataset(x, y, lab);
    const int64_t sx[2] = {N, D}, sy = N, sy_short = N - 1;
    ck_assert_int_eq(ig_npy_write(ig_test_in("x.npy"), IG_NPY_U8, 2, sx, x), IG_OK);
    ck_assert_int_eq(ig_npy_write(ig_test_in("y.npy"), IG_NPY_F32, 1, &sy, y), IG_OK);
    ck_assert_int_eq(ig_npy_write(ig_test_in("ys.npy"), IG_NPY_F32, 1, &sy_short, y), IG_OK);
    unlink(ig_test_in("m.json"));
    unlink(ig_test_in("p.npy"));
    ig_test_write_str(ig_test_in("lr.json"), "{\"format\":\"igradv-regress\",\"version\":1,\"kind\":\"gbr\"}");
    struct { const char *args; const char *msg; } cases[] = {
        {"", "expected a command"},
        {"train", "unknown command 'train'"},
        {"fit --model xgb", "--model: expected gbr, rf or rf-classifier, got 'xgb'"},
        {"fit --model gbr --x @x.npy --out @m.json", "--y TARGETS is required"},
        {"fit --model gbr --x @x.npy --y @ys.npy --out @m.json", "expected 400 targets in one column"},
        {"fit --model gbr --x @y.npy --y @y.npy --out @m.json", "expected a 2-D float32 or uint8 array"},
        {"fit --model gbr --x @x.txt --y @y.npy --out @m.json", "--x: expected a .npy or .csv file"},
        {"fit --model gbr --x @missing.npy --y @y.npy --out @m.json", "missing.npy: cannot open"},
        {"fit --model gbr --n-estimators 1.5 --x @x.npy --y @y.npy --out @m.json", "--n-estimators: expected an integer"},
        {"fit --model gbr --subsample 0 --x @x.npy --y @y.npy --out @m.json", "--subsample: expected a number in (0, 1]"},
        {"fit --model rf --loss ls --x @x.npy --y @y.npy --out @m.json", "--loss applies to --model gbr only"},
        {"fit --model rf-classifier --x @x.npy --y @y.npy --out @m.json", "expected a class index"},
        {"predict --model-file @lr.json --x @x.npy --out @p.npy", "missing or bad model fields"},
        {"predict --model-file @x.npy --x @x.npy --out @p.npy", "not valid JSON"},
        {"predict --model-file @m.json --x @x.npy --out @p.txt", "--out: expected a .npy or .csv file name"},
        {"fit --model gbr --x @x.npy --y @y.npy --out @m.json --bogus 1", "unknown option '--bogus'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[2048] = "", *o = args;
        for (const char *s = cases[i].args; *s; s++) /* @name -> a file in the test folder */
            if (*s == '@') {
                const char *e = strchr(s, ' ');
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)(e ? e - s - 1 : (long)strlen(s + 1)), s + 1);
                o += sprintf(o, "'%s'", ig_test_in(name));
                s += strlen(name);
            } else {
                *o++ = *s;
                *o = '\0';
            }
        char *err;
        int rc = run_tool(args, &err);
        ck_assert_msg(rc == 2, "case %zu (%s): exit %d, stderr %s", i, args, rc, err);
        ck_assert_msg(strstr(err, cases[i].msg), "case %zu (%s): stderr %s", i, args, err);
        free(err);
    }
    ck_assert_int_eq(access(ig_test_in("m.json"), F_OK), -1); /* nothing written by a failed fit */
    /* IGRADV_CPU (the gbr split kernels) that is not a name: exit 2 naming it, nothing written */
    char args[2048];
    snprintf(args, sizeof args, "fit --model gbr --n-estimators 3 --x '%s' --y '%s' --out '%s'", ig_test_in("x.npy"),
             ig_test_in("y.npy"), ig_test_in("m.json"));
    setenv("IGRADV_CPU", "avx3", 1);
    char *err;
    int rc = run_tool(args, &err);
    unsetenv("IGRADV_CPU");
    ck_assert_msg(rc == 2, "IGRADV_CPU=avx3: exit %d, stderr %s", rc, err);
    ck_assert_msg(strstr(err, "IGRADV_CPU: expected auto, generic, avx2 or avx512, got 'avx3'"), "stderr %s", err);
    free(err);
    ck_assert_int_eq(access(ig_test_in("m.json"), F_OK), -1);
    /* a feature count that differs from the model's */
    snprintf(args, sizeof args, "fit --model gbr --n-estimators 3 --x '%s' --y '%s' --out '%s'", ig_test_in("x.npy"),
             ig_test_in("y.npy"), ig_test_in("m.json"));
    ck_assert_int_eq(run_tool(args, NULL), 0);
    const int64_t s5[2] = {N, D - 1};
    ck_assert_int_eq(ig_npy_write(ig_test_in("x5.npy"), IG_NPY_U8, 2, s5, x), IG_OK);
    snprintf(args, sizeof args, "predict --model-file '%s' --x '%s' --out '%s'", ig_test_in("m.json"), ig_test_in("x5.npy"), ig_test_in("p.npy"));
    ck_assert_int_eq(run_tool(args, &err), 2);
    ck_assert_msg(strstr(err, "has 5 features per row, the model") && strstr(err, "expects 6"), "%s", err);
    free(err);
    ck_assert_int_eq(access(ig_test_in("p.npy"), F_OK), -1);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1) tool = argv[1];
    if (ig_test_scratch_open("igradv_regress")) return 1;
    Suite *s = suite_create("igradv_regress");
    IG_TEST_CASE(s, "arrays", 0, test_npy_roundtrip_and_header, test_npy_bad_files, test_csv_read_write);
    IG_TEST_CASE(s, "tool", 0, test_tool_gbr_matches_library, test_tool_rf_csv_matches_library, test_tool_bad_input);
    int rc = ig_test_scratch_close(ig_test_run(s));
    return rc;
}
