/* Check suite for tensor/ig_util.h: the atomic file writer and its temporary cleanup, the RNG family, error text. */
#include "ig_test_files.h"
#include "ig_test_util.h"
#include "ig_util.h"
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void setup(void) { ck_assert_int_eq(ig_test_scratch_open("util"), 0); }   /* one folder per forked test */
static void teardown(void) { ck_assert_int_eq(ig_test_scratch_close(0), 0); }

/* Contents of a small file (a failed assert when missing). */
static const char *get(const char *path)
{
    static char buf[256];
    ck_assert_msg(access(path, F_OK) == 0, "%s missing", path);
    char *t = ig_test_read_file(path);
    snprintf(buf, sizeof buf, "%s", t);
    free(t);
    return buf;
}

/* Names in the scratch folder other than . and .., sorted into one "a|b|c" string. */
static const char *listing(void)
{
    static char out[1024];
    struct dirent **names;
    int n = scandir(ig_test_scratch(), &names, NULL, alphasort);
    ck_assert_int_ge(n, 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
            if (out[0]) strcat(out, "|");
            strcat(out, names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
    return out;
}

/* ------------------------------------------------------------------ atomic writer */

/* The scratch file name holding "old", and an atomic writer over it that has written text (not committed) */
static const char *open_over_old(struct ig_atomic_file *af, const char *name, const char *text)
{
    const char *path = ig_test_in(name);
    ig_test_write_str(path, "old");
    ck_assert_int_eq(ig_atomic_open(af, path), IG_OK);
    fputs(text, af->fp);
    return path;
}

START_TEST(test_atomic_commit_replaces_target)
{
    struct ig_atomic_file af;
    const char *path = open_over_old(&af, "run.json", "new contents");
    /* until commit the target is the old file and the data sits in a temporary beside it */
    ck_assert_str_eq(get(path), "old");
    const char *base = strrchr(af.tmp, '/') + 1;
    ck_assert(ig_atomic_is_tmp_name(base));
    ck_assert_int_eq(strncmp(base, ".run.json.igtmp.", 16), 0);
    ck_assert_int_eq(access(af.tmp, F_OK), 0);
    ck_assert_int_eq(ig_atomic_commit(&af), IG_OK);
    ck_assert_str_eq(get(path), "new contents");
    ck_assert_str_eq(listing(), "run.json");
    /* whole-file form, also for an empty file and a path without a folder part */
    ck_assert_int_eq(ig_file_write_atomic(path, "abc", 3), IG_OK);
    ck_assert_str_eq(get(path), "abc");
    ck_assert_int_eq(ig_file_write_atomic(path, NULL, 0), IG_OK);
    ck_assert_str_eq(get(path), "");
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(ig_test_scratch()), 0);
    ck_assert_int_eq(ig_file_write_atomic("bare.txt", "xy", 2), IG_OK);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_str_eq(get(ig_test_in("bare.txt")), "xy");
    ck_assert_str_eq(listing(), "bare.txt|run.json");
}
END_TEST

START_TEST(test_atomic_abort_keeps_target)
{
    struct ig_atomic_file af;
    const char *path = open_over_old(&af, "summary.csv", "half a row,");
    ig_atomic_abort(&af);
    ig_atomic_abort(&af);                   /* twice is harmless */
    ck_assert_str_eq(get(path), "old");
    ck_assert_str_eq(listing(), "summary.csv");
    ck_assert_int_eq(ig_atomic_commit(&af), IG_ERR_STATE);   /* nothing open any more */
    ck_assert_str_eq(get(path), "old");
}
END_TEST

START_TEST(test_atomic_failures)
{
    /* a missing folder: IG_ERR_IO naming the folder, nothing created */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no_such_dir", ig_test_scratch());
    struct ig_atomic_file af;
    ck_assert_int_eq(ig_atomic_open(&af, ig_test_in("no_such_dir/x.json")), IG_ERR_IO);
    ck_assert_msg(strstr(ig_last_error(), missing) != NULL, "%s", ig_last_error());
    ck_assert_ptr_null(af.fp);
    ck_assert_int_eq(ig_file_write_atomic(ig_test_in("no_such_dir/y.bin"), "z", 1), IG_ERR_IO);
    ck_assert_msg(strstr(ig_last_error(), missing) != NULL, "%s", ig_last_error());
    ck_assert_str_eq(listing(), "");
    /* a rename that fails (the target is a folder): IG_ERR_IO naming it, the folder intact, no temporary */
    const char *dir = ig_test_in("target_is_dir");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ig_test_write_str(ig_test_in("target_is_dir/inside"), "kept");
    ck_assert_int_eq(ig_file_write_atomic(dir, "data", 4), IG_ERR_IO);
    ck_assert_msg(strstr(ig_last_error(), dir) != NULL, "%s", ig_last_error());
    ck_assert_str_eq(get(ig_test_in("target_is_dir/inside")), "kept");
    ck_assert_str_eq(listing(), "target_is_dir");
    /* bad arguments */
    ck_assert_int_eq(ig_atomic_open(&af, NULL), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_atomic_open(&af, ""), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_atomic_open(NULL, ig_test_in("a")), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_atomic_commit(NULL), IG_ERR_STATE);
    ig_atomic_abort(NULL);
}
END_TEST

START_TEST(test_atomic_tmp_names)
{
    const char *yes[] = {".a.igtmp.1.0", ".summary.csv.igtmp.4242.17", "..x.igtmp.7.7"};
    const char *no[] = {"a.igtmp.1.0", ".igtmp.1.0", ".a.igtmp.1", ".a.igtmp.1.2.3", ".a.igtmp.x.2", ".a.igtmp..2",
                        ".a.igtmp.1.", ".a.igtmp.", ".a.igtmp.1.2x", "x.igtmp", ".x.igtmp", ".foo", ".a.tmp.1.2",
                        ".a.tmp-Ab12Cd", "", "."};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) ck_assert_msg(ig_atomic_is_tmp_name(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) ck_assert_msg(!ig_atomic_is_tmp_name(no[i]), "%s", no[i]);
    ck_assert(!ig_atomic_is_tmp_name(NULL));
}
END_TEST

START_TEST(test_atomic_clean_dir)
{
    const char *keep[] = {"keep.txt", ".foo", "x.igtmp", ".x.igtmp", ".a.tmp.1.2", ".state.json"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) ig_test_write_str(ig_test_in(keep[i]), "k");
    ig_test_write_str(ig_test_in(".run.json.igtmp.123.0"), "t");
    ig_test_write_str(ig_test_in(".ckpt.safetensors.igtmp.99.12"), "t");
    struct ig_atomic_file af;                  /* a real leftover: opened, never committed */
    ck_assert_int_eq(ig_atomic_open(&af, ig_test_in("summary.csv")), IG_OK);
    fclose(af.fp);
    int n = -1;
    ck_assert_int_eq(ig_atomic_clean_dir(ig_test_scratch(), &n), IG_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(listing(), ".a.tmp.1.2|.foo|.state.json|.x.igtmp|keep.txt|x.igtmp");
    ck_assert_int_eq(ig_atomic_clean_dir(ig_test_scratch(), &n), IG_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(ig_atomic_clean_dir(ig_test_in("missing"), &n), IG_OK);   /* nothing to clean */
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(ig_atomic_clean_dir(ig_test_scratch(), NULL), IG_OK);
    ck_assert_int_eq(ig_atomic_clean_dir(NULL, &n), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_atomic_clean_dir("", &n), IG_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------------ RNG family
 * The first values below were printed by the generators before they moved into tensor/ig_rng.c
 * (nn/ig_rng.c and apps/data's ig_data_rng): every seeded result of the project depends on them. */

START_TEST(test_splitmix64_stream)
{
    ck_assert_uint_eq(ig_hash64(0), 0xe220a8397b1dcdafull);   /* splitmix64's published first output from 0 */
    uint64_t s = 0;
    ck_assert_uint_eq(ig_splitmix64_next(&s), 0xe220a8397b1dcdafull);
    ck_assert_uint_eq(s, IG_SPLITMIX64_GAMMA);
    s = 42;
    ck_assert_uint_eq(ig_splitmix64_next(&s), 0xbdd732262feb6e95ull);
    ck_assert_uint_eq(ig_splitmix64_next(&s), 0x28efe333b266f103ull);
    ck_assert_uint_eq(ig_splitmix64_next(&s), 0x47526757130f9f52ull);
    ck_assert_uint_eq(ig_splitmix64_below(&s, 1000), 764);
    int64_t p[10], want[10] = {2, 9, 7, 3, 4, 1, 8, 5, 6, 0};
    ig_splitmix64_permutation(&s, p, 10);
    ck_assert_int_eq(memcmp(p, want, sizeof p), 0);
    ck_assert_float_eq(ig_hash_uniform(7, 3), 0.908213198f);
    ck_assert_uint_eq(ig_splitmix64_below(&s, 1), 0);
    ck_assert_uint_eq(ig_splitmix64_below(&s, 0), 0);
    /* same seed, same stream */
    uint64_t a = 7, b = 7;
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(ig_splitmix64_next(&a), ig_splitmix64_next(&b));
}
END_TEST

START_TEST(test_xoshiro_stream)
{
    struct ig_rng r, q;
    ig_rng_seed(&r, 42);
    ck_assert_uint_eq(ig_rng_next(&r), 0x15780b2e0c2ec716ull);
    ck_assert_uint_eq(ig_rng_next(&r), 0x6104d9866d113a7eull);
    ck_assert_uint_eq(ig_rng_next(&r), 0xae17533239e499a1ull);
    ck_assert_uint_eq(ig_rng_below(&r, 1000), 193);
    ck_assert_double_eq(ig_rng_uniform(&r), 0.99180391428210279);
    int64_t p[10], want[10] = {2, 0, 3, 1, 8, 6, 5, 7, 9, 4};
    ig_rng_permutation(&r, p, 10);
    ck_assert_int_eq(memcmp(p, want, sizeof p), 0);
    /* the seeding is four splitmix64 outputs */
    uint64_t s = 42;
    ig_rng_seed(&r, 42);
    for (int i = 0; i < 4; i++) ck_assert_uint_eq(r.s[i], ig_splitmix64_next(&s));
    ig_rng_seed(&r, 5);
    ig_rng_seed(&q, 5);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(ig_rng_next(&r), ig_rng_next(&q));
    ig_rng_seed(&q, 6);
    ck_assert_uint_ne(ig_rng_next(&r), ig_rng_next(&q));
    ck_assert_uint_eq(ig_rng_below(&r, 1), 0);
}
END_TEST

/* Permutations are permutations, every position about equally likely; below() is uniform (chi-square). */
static void check_uniform(uint64_t (*below)(void *, uint64_t), void (*perm)(void *, int64_t *, int64_t), void *gen)
{
    enum { N = 1000 };
    static int64_t a[N];
    static bool seen[N];
    perm(gen, a, N);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < N; i++) {
        ck_assert(a[i] >= 0 && a[i] < N && !seen[a[i]]);
        seen[a[i]] = true;
    }
    int64_t hist[10] = {0};
    for (int i = 0; i < 100000; i++) hist[below(gen, 10)]++;
    double chi = 0;
    for (int k = 0; k < 10; k++) chi += (hist[k] - 10000.0) * (hist[k] - 10000.0) / 10000.0;
    ck_assert_double_lt(chi, 40.0);     /* 9 dof: p ~ 1e-5 */
    int64_t pos[3] = {0}, p3[3];
    for (int i = 0; i < 30000; i++) {
        perm(gen, p3, 3);
        for (int k = 0; k < 3; k++) pos[k] += p3[k] == 0;
    }
    for (int k = 0; k < 3; k++) ck_assert(pos[k] > 9500 && pos[k] < 10500);
}
static uint64_t sm_below(void *g, uint64_t b) { return ig_splitmix64_below(g, b); }
static void sm_perm(void *g, int64_t *p, int64_t n) { ig_splitmix64_permutation(g, p, n); }
static uint64_t xo_below(void *g, uint64_t b) { return ig_rng_below(g, b); }
static void xo_perm(void *g, int64_t *p, int64_t n) { ig_rng_permutation(g, p, n); }

START_TEST(test_rng_uniformity)
{
    uint64_t s = 42;
    check_uniform(sm_below, sm_perm, &s);
    struct ig_rng r;
    ig_rng_seed(&r, 42);
    check_uniform(xo_below, xo_perm, &r);
}
END_TEST

START_TEST(test_rng_fill_uniform)
{
    struct ig_backend *be;
    ck_assert_int_eq(ig_backend_init_cpu(&be, 1), IG_OK);
    struct ig_tensor *t = ig_tensor_new(be, IG_DTYPE_F32, 2, (int64_t[]){3, 5});
    struct ig_rng r, q;
    ig_rng_seed(&r, 9);
    ig_rng_seed(&q, 9);
    ck_assert_int_eq(ig_rng_fill_uniform(&r, t, -2.0f, 3.0f), IG_OK);
    float h[15];
    ck_assert_int_eq(ig_tensor_to_host(t, h, sizeof h), IG_OK);
    for (int i = 0; i < 15; i++) ck_assert_float_eq(h[i], (float)(-2.0 + 5.0 * ig_rng_uniform(&q)));
    struct ig_tensor *u = ig_tensor_new(be, IG_DTYPE_I32, 1, (int64_t[]){4});
    ck_assert_int_eq(ig_rng_fill_uniform(&r, u, 0, 1), IG_ERR_DTYPE);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "not f32"));
    ck_assert_int_eq(ig_rng_fill_uniform(NULL, t, 0, 1), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_rng_fill_uniform(&r, NULL, 0, 1), IG_ERR_INVALID_ARG);
    ig_tensor_free(u);
    ig_tensor_free(t);
    ig_backend_free(be);
}
END_TEST

/* ------------------------------------------------------------------ errors, clock */

START_TEST(test_error_text)
{
    ck_assert_int_eq(ig_error(IG_ERR_IO, "reading %s: %d", "f.bin", 3), IG_ERR_IO);
    ck_assert_str_eq(ig_last_error(), "reading f.bin: 3");
    ck_assert_int_eq(ig_error_prefix(IG_ERR_FORMAT, "loading %s", "ckpt"), IG_ERR_FORMAT);
    ck_assert_str_eq(ig_last_error(), "loading ckpt: reading f.bin: 3");
    ig_clear_error();
    ck_assert_str_eq(ig_last_error(), "");
    double t0 = ig_now_seconds(), t1 = ig_now_seconds();
    ck_assert(t0 > 0 && t1 >= t0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = IG_TEST_CASE(s, "atomic", 0, test_atomic_commit_replaces_target, test_atomic_abort_keeps_target,
                                             test_atomic_failures, test_atomic_tmp_names, test_atomic_clean_dir);
    tcase_add_checked_fixture(tc, setup, teardown);
    IG_TEST_CASE(s, "rng", 0, test_splitmix64_stream, test_xoshiro_stream, test_rng_uniformity, test_rng_fill_uniform,
                              test_error_text);
    return ig_test_run(s);
}
