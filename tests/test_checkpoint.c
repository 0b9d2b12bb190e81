/* Check suite for nn/ig_safetensors: round trip, atomic save, PyTorch-written fixture, and rejection of bad files. */
#include "ig_safetensors.h"
#include "ig_nn.h"
#include "ig_test_util.h"
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ig_backend *be;
static char tmpdir[256];

static void setup(void)
{
    ck_assert_int_eq(ig_backend_init_cpu(&be, 1), IG_OK);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ig_test_ckpt_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    char p[512];
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
    ig_backend_free(be);
}

static const char *tpath(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static struct ig_tensor *tensor_f32(int ndim, const int64_t *shape, uint64_t seed)
{
    struct ig_tensor *t = ig_tensor_new(be, IG_DTYPE_F32, ndim, shape);
    ck_assert_ptr_nonnull(t);
    int64_t n = ig_tensor_numel(t);
    float *h = malloc((size_t)n * sizeof(float) + 4);
    ig_test_fill_uniform(h, (size_t)n, seed, -2.0f, 2.0f);
    ck_assert_int_eq(ig_tensor_from_host_into(t, h, (size_t)n * sizeof(float)), IG_OK);
    free(h);
    return t;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A file image: 8-byte length + header (as given) + data bytes of value 0. */
static uint8_t *build(const char *header, size_t data_len, size_t *len)
{
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    uint8_t *b = calloc(1, *len);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    return b;
}

/* open_memory must fail with IG_ERR_FORMAT and a message containing every needle. */
static void expect_reject(const char *header, size_t data_len, const char *n1, const char *n2)
{
    size_t len;
    uint8_t *b = build(header, data_len, &len);
    struct ig_safetensors *st = NULL;
    enum ig_status s = ig_safetensors_open_memory(&st, b, len, "crafted.safetensors");
    free(b);
    ck_assert_msg(s == IG_ERR_FORMAT, "header %s: status %s, expected IG_ERR_FORMAT", header, ig_status_name(s));
    ck_assert_ptr_null(st);
    const char *msg = ig_last_error();
    ck_assert_msg(strstr(msg, "crafted.safetensors") != NULL, "message lacks the file: %s", msg);
    ck_assert_msg(!n1 || strstr(msg, n1), "message lacks '%s': %s", n1, msg);
    ck_assert_msg(!n2 || strstr(msg, n2), "message lacks '%s': %s", n2, msg);
}

/* ------------------------------------------------------------------ round trip */

START_TEST(test_round_trip)
{
    int64_t s_w[4] = {4, 3, 3, 3}, s_b[1] = {4}, s_m[2] = {5, 7};
    struct ig_tensor *w = tensor_f32(4, s_w, 1), *b = tensor_f32(1, s_b, 2), *m = tensor_f32(2, s_m, 3);
    uint8_t u8v[6] = {0, 1, 127, 128, 254, 255};
    int32_t i32v[3] = {-2147483647 - 1, 0, 2147483647};
    int64_t s6[1] = {6}, s3[1] = {3};
    struct ig_tensor *u = ig_tensor_from_host(be, IG_DTYPE_U8, 1, s6, u8v);
    struct ig_tensor *iv = ig_tensor_from_host(be, IG_DTYPE_I32, 1, s3, i32v);
    struct ig_tensor *cnt = ig_tensor_from_host(be, IG_DTYPE_I32, 0, NULL, (int32_t[]){12345});
    float sc = 3.25f;
    struct ig_tensor *scalar = ig_tensor_from_host(be, IG_DTYPE_F32, 0, NULL, &sc);
    ck_assert_ptr_nonnull(scalar);
    /* a transposed (strided) view is stored in its logical row-major order */
    struct ig_tensor *mt = ig_tensor_transpose(m, 0, 1);

    struct ig_safetensors_writer *wr = ig_safetensors_writer_new();
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "features.0.weight", w), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "features.0.bias", b), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "m_t", mt), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "pix", u), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "ints", iv), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_add_as(wr, "features.1.num_batches_tracked", cnt, IG_ST_I64), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "scalar", scalar), IG_OK);
    int64_t big[2] = {-5, 1ll << 40};
    ck_assert_int_eq(ig_safetensors_writer_add_host(wr, "host.i64", IG_ST_I64, 1, (int64_t[]){2}, big), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_add_host(wr, "empty", IG_ST_F32, 2, (int64_t[]){0, 3}, NULL), IG_OK);
    /* bad adds are refused without breaking the writer */
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "pix", u), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "pix"));
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "__metadata__", u), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_safetensors_writer_add(wr, "", u), IG_ERR_INVALID_ARG);
    ck_assert_int_eq(ig_safetensors_writer_add_as(wr, "w64", w, IG_ST_I64), IG_ERR_DTYPE);
    ck_assert_int_eq(ig_safetensors_writer_set_meta(wr, "step", "17"), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_set_meta(wr, "step", "120"), IG_OK); /* replaced */
    ck_assert_int_eq(ig_safetensors_writer_set_meta(wr, "note", "adam \"lr\"=1e-4 \xc3\xa9"), IG_OK);
    const char *path = tpath("ckpt.safetensors");
    ck_assert_int_eq(ig_safetensors_writer_save(wr, path), IG_OK);
    ck_assert_int_eq(ig_safetensors_writer_save(wr, path), IG_OK); /* overwrite */
    ig_safetensors_writer_free(wr);

    /* no temporary file is left behind; header length is 8-aligned */
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') files++;
        else ck_assert_msg(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."), "temporary file left: %s", de->d_name);
    closedir(d);
    ck_assert_int_eq(files, 1);
    size_t len;
    uint8_t *raw = slurp(path, &len);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)raw[i] << (8 * i);
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_int_eq(raw[8], '{');
    free(raw);

    struct ig_safetensors *st;
    ck_assert_int_eq(ig_safetensors_open(&st, path), IG_OK);
    ck_assert_int_eq(ig_safetensors_count(st), 9);
    const struct ig_st_entry *e = ig_safetensors_find(st, "features.1.num_batches_tracked");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->dtype, IG_ST_I64);
    ck_assert_int_eq(e->ndim, 0);
    e = ig_safetensors_find(st, "m_t");
    ck_assert_int_eq(e->ndim, 2);
    ck_assert_int_eq(e->shape[0], 7);
    ck_assert_int_eq(e->shape[1], 5);
    ck_assert_ptr_null(ig_safetensors_find(st, "nope"));

    struct ig_tensor *w2 = ig_tensor_new(be, IG_DTYPE_F32, 4, s_w);
    struct ig_tensor *m2 = ig_tensor_new(be, IG_DTYPE_F32, 2, (int64_t[]){7, 5});
    struct ig_tensor *u2 = ig_tensor_new(be, IG_DTYPE_U8, 1, s6);
    struct ig_tensor *i2 = ig_tensor_new(be, IG_DTYPE_I32, 1, s3);
    struct ig_tensor *c2 = ig_tensor_new(be, IG_DTYPE_I32, 1, (int64_t[]){1}); /* [] read into [1] */
    struct ig_tensor *s2 = ig_tensor_new(be, IG_DTYPE_F32, 0, NULL);
    ck_assert_int_eq(ig_safetensors_read(st, "features.0.weight", w2), IG_OK);
    ck_assert_int_eq(ig_safetensors_read(st, "m_t", m2), IG_OK);
    ck_assert_int_eq(ig_safetensors_read(st, "pix", u2), IG_OK);
    ck_assert_int_eq(ig_safetensors_read(st, "ints", i2), IG_OK);
    ck_assert_int_eq(ig_safetensors_read(st, "features.1.num_batches_tracked", c2), IG_OK);
    ck_assert_int_eq(ig_safetensors_read(st, "scalar", s2), IG_OK);

    float hw[108], hw2[108], hm[35], hm2[35];
    ig_tensor_to_host(w, hw, sizeof hw);
    ig_tensor_to_host(w2, hw2, sizeof hw2);
    ck_assert_int_eq(memcmp(hw, hw2, sizeof hw), 0);
    ig_tensor_to_host(m, hm, sizeof hm);
    ig_tensor_to_host(m2, hm2, sizeof hm2);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 7; j++) ck_assert_float_eq(hm2[j * 5 + i], hm[i * 7 + j]);
    uint8_t hu[6];
    ig_tensor_to_host(u2, hu, 6);
    ck_assert_int_eq(memcmp(hu, u8v, 6), 0);
    int32_t hi[3], hc;
    ig_tensor_to_host(i2, hi, sizeof hi);
    ck_assert_int_eq(memcmp(hi, i32v, sizeof hi), 0);
    ig_tensor_to_host(c2, &hc, 4);
    ck_assert_int_eq(hc, 12345);
    float hs;
    ck_assert_int_eq(ig_tensor_item(s2, &hs), IG_OK);
    ck_assert_float_eq(hs, 3.25f);
    int64_t hb[2];
    ck_assert_int_eq(ig_safetensors_read_host(st, "host.i64", IG_ST_I64, hb, sizeof hb), IG_OK);
    ck_assert(hb[0] == -5 && hb[1] == (1ll << 40));
    /* I64 that does not fit in i32 */
    struct ig_tensor *i64into = ig_tensor_new(be, IG_DTYPE_I32, 1, (int64_t[]){2});
    ck_assert_int_eq(ig_safetensors_read(st, "host.i64", i64into), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "host.i64"));
    e = ig_safetensors_find(st, "empty");
    ck_assert_int_eq(e->numel, 0);
    ck_assert_uint_eq(e->begin, e->end);

    ck_assert_str_eq(ig_safetensors_meta(st, "step"), "120");
    ck_assert_str_eq(ig_safetensors_meta(st, "note"), "adam \"lr\"=1e-4 \xc3\xa9");
    ck_assert_ptr_null(ig_safetensors_meta(st, "missing"));
    ck_assert_int_eq(ig_safetensors_meta_count(st), 2);
    bool seen_step = false, seen_note = false;
    for (int i = 0; i < 2; i++) {       /* meta_at lists each pair once, value matching ig_safetensors_meta */
        const char *k = NULL, *v = NULL;
        ig_safetensors_meta_at(st, i, &k, &v);
        ck_assert(k && v);
        ck_assert_str_eq(v, ig_safetensors_meta(st, k));
        seen_step |= strcmp(k, "step") == 0;
        seen_note |= strcmp(k, "note") == 0;
    }
    ck_assert(seen_step && seen_note);
    const char *bk = "x", *bv = "x";
    ig_safetensors_meta_at(st, 2, &bk, &bv);        /* out of range: both NULL */
    ck_assert(!bk && !bv);
    bk = bv = "x";
    ig_safetensors_meta_at(st, -1, &bk, &bv);
    ck_assert(!bk && !bv);
    int64_t step;
    ck_assert_int_eq(ig_safetensors_meta_i64(st, "step", &step), IG_OK);
    ck_assert_int_eq(step, 120);
    ck_assert_int_eq(ig_safetensors_meta_i64(st, "note", &step), IG_ERR_FORMAT);

    /* mismatches name the tensor */
    struct ig_tensor *wrong = ig_tensor_new(be, IG_DTYPE_F32, 4, (int64_t[]){4, 3, 3, 2});
    ck_assert_int_eq(ig_safetensors_read(st, "features.0.weight", wrong), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "features.0.weight"));
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "[4,3,3,3]"));
    struct ig_tensor *wrong2 = ig_tensor_new(be, IG_DTYPE_F32, 1, (int64_t[]){4 * 27});
    ck_assert_int_eq(ig_safetensors_read(st, "features.0.weight", wrong2), IG_ERR_FORMAT);
    struct ig_tensor *wrongdt = ig_tensor_new(be, IG_DTYPE_I32, 1, s_b);
    ck_assert_int_eq(ig_safetensors_read(st, "features.0.bias", wrongdt), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "features.0.bias"));
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "F32"));
    ck_assert_int_eq(ig_safetensors_read(st, "features.9.weight", w2), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "features.9.weight"));
    ck_assert_int_eq(ig_safetensors_read_host(st, "pix", IG_ST_F32, hu, 6), IG_ERR_FORMAT);
    ig_safetensors_close(st);

    struct ig_tensor *all[] = {w, b, m, u, iv, cnt, scalar, mt, w2, m2, u2, i2, c2, s2, i64into, wrong, wrong2, wrongdt};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ig_tensor_free(all[i]);
}
END_TEST

START_TEST(test_save_convenience_and_io_errors)
{
    int64_t sh[2] = {2, 2};
    struct ig_tensor *a = tensor_f32(2, sh, 9);
    const char *names[1] = {"a"};
    const struct ig_tensor *ts[1] = {a};
    const char *mk[1] = {"epoch"}, *mv[1] = {"3"};
    ck_assert_int_eq(ig_safetensors_save(tpath("one.safetensors"), 1, names, ts, 1, mk, mv), IG_OK);
    struct ig_safetensors *st;
    ck_assert_int_eq(ig_safetensors_open(&st, tpath("one.safetensors")), IG_OK);
    ck_assert_str_eq(ig_safetensors_meta(st, "epoch"), "3");
    ig_safetensors_close(st);
    /* directory that does not exist: IO error, nothing created */
    ck_assert_int_eq(ig_safetensors_save("/nonexistent-dir-ig/x.safetensors", 1, names, ts, 0, NULL, NULL), IG_ERR_IO);
    ck_assert_int_eq(ig_safetensors_open(&st, tpath("missing.safetensors")), IG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "missing.safetensors"));
    ck_assert_int_eq(ig_safetensors_open(&st, tmpdir), IG_ERR_IO); /* a directory */
    ig_tensor_free(a);
}
END_TEST

/* ------------------------------------------------------------------ bad files */

START_TEST(test_truncated)
{
    int64_t sh[2] = {16, 8};
    struct ig_tensor *a = tensor_f32(2, sh, 4), *b = tensor_f32(1, (int64_t[]){8}, 5);
    struct ig_safetensors_writer *w = ig_safetensors_writer_new();
    ig_safetensors_writer_add(w, "layer.weight", a);
    ig_safetensors_writer_add(w, "layer.bias", b);
    ig_safetensors_writer_set_meta(w, "step", "1");
    const char *path = tpath("t.safetensors");
    ck_assert_int_eq(ig_safetensors_writer_save(w, path), IG_OK);
    ig_safetensors_writer_free(w);
    size_t len;
    uint8_t *raw = slurp(path, &len);
    /* every proper prefix is rejected cleanly */
    for (size_t cut = 0; cut < len; cut++) {
        struct ig_safetensors *st = NULL;
        enum ig_status s = ig_safetensors_open_memory(&st, raw, cut, "t.safetensors");
        ck_assert_msg(s == IG_ERR_FORMAT, "prefix of %zu bytes: %s", cut, ig_status_name(s));
        ck_assert_ptr_null(st);
    }
    /* the file on disk cut inside the data: the error names the tensor whose data is missing */
    ck_assert_int_eq(truncate(path, (off_t)(len - 10)), 0);
    struct ig_safetensors *st = NULL;
    ck_assert_int_eq(ig_safetensors_open(&st, path), IG_ERR_FORMAT);
    const char *msg = ig_last_error();
    ck_assert_msg(strstr(msg, "t.safetensors") && strstr(msg, "layer.") && strstr(msg, "file byte offset"),
                  "%s", msg);
    /* cut inside the header: names the header length / byte offset */
    ck_assert_int_eq(truncate(path, 20), 0);
    ck_assert_int_eq(ig_safetensors_open(&st, path), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "header length"), "%s", ig_last_error());
    ck_assert_int_eq(truncate(path, 3), 0);
    ck_assert_int_eq(ig_safetensors_open(&st, path), IG_ERR_FORMAT);
    ck_assert_int_eq(truncate(path, 0), 0);
    ck_assert_int_eq(ig_safetensors_open(&st, path), IG_ERR_FORMAT);
    /* trailing garbage after the data */
    uint8_t *longer = malloc(len + 4);
    memcpy(longer, raw, len);
    memset(longer + len, 0xAB, 4);
    ck_assert_int_eq(ig_safetensors_open_memory(&st, longer, len + 4, "t.safetensors"), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "after the last tensor"), "%s", ig_last_error());
    free(longer);
    free(raw);
    ig_tensor_free(a);
    ig_tensor_free(b);
}
END_TEST

START_TEST(test_corrupt_json)
{
    expect_reject("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]", 4, "corrupt JSON", "byte offset");
    expect_reject("{\"a\": {\"dtype\": \"F32\" \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "corrupt JSON", NULL);
    expect_reject("[1, 2, 3]                 ", 0, "header does not start", NULL);
    expect_reject("{\"a\": 5}", 0, "'a'", "not a JSON object");
    expect_reject("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "'a'", "data_offsets");
    expect_reject("{\"a\": {\"dtype\": \"Q7\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "'a'", "unknown dtype");
    expect_reject("{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, "'a'", "shape");
    expect_reject("{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4, "'a'", "shape");
    expect_reject("{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4, "'a'",
                  "dimensions");
    expect_reject("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                  " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
                  8, "corrupt JSON", "duplicate");
    expect_reject("{\"__metadata__\": {\"step\": 5}}", 0, "metadata 'step'", "not a string");
    expect_reject("{\"__metadata__\": [1]}", 0, "__metadata__", NULL);
    /* corrupting a real file's header byte by byte never crashes */
    int64_t sh[1] = {3};
    struct ig_tensor *a = tensor_f32(1, sh, 4);
    const char *names[1] = {"abc"};
    const struct ig_tensor *ts[1] = {a};
    ck_assert_int_eq(ig_safetensors_save(tpath("c.safetensors"), 1, names, ts, 0, NULL, NULL), IG_OK);
    size_t len;
    uint8_t *raw = slurp(tpath("c.safetensors"), &len);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)raw[i] << (8 * i);
    int accepted = 0;
    for (size_t pos = 0; pos < 8 + hlen; pos++)
        for (int v = 0; v < 256; v += 7) {
            uint8_t *c = malloc(len);
            memcpy(c, raw, len);
            if (c[pos] == (uint8_t)v) {
                free(c);
                continue;
            }
            c[pos] = (uint8_t)v;
            struct ig_safetensors *st = NULL;
            enum ig_status s = ig_safetensors_open_memory(&st, c, len, "c.safetensors");
            if (s == IG_OK) {
                /* some edits are harmless (whitespace, renamed tensor); the file must then read back */
                accepted++;
                ck_assert_int_eq(ig_safetensors_count(st), 1);
                const struct ig_st_entry *e = ig_safetensors_entry(st, 0);
                ck_assert_uint_eq(e->end - e->begin, (uint64_t)e->numel * ig_st_dtype_size(e->dtype));
                ig_safetensors_close(st);
            } else {
                ck_assert_int_eq(s, IG_ERR_FORMAT);
                ck_assert_ptr_null(st);
            }
            free(c);
        }
    ck_assert_int_lt(accepted, 200);
    free(raw);
    ig_tensor_free(a);
}
END_TEST

START_TEST(test_offsets_out_of_bounds)
{
    /* end past the data section: names the tensor and the file byte offset */
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4, "'w'",
                  "past the end of the data section");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4, "file byte offset", NULL);
    /* huge offsets (overflow bait) */
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [9223372036854775800, "
                  "9223372036854775807]}}",
                  8, "'w'", NULL);
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 8]}}", 8,
                  "'w'", "shape");
    /* begin > end */
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", 8, "'w'", "interval");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 8, "'w'", "interval");
    /* span does not match shape x dtype */
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8, "'w'", "needs 12 bytes");
    /* overlap */
    expect_reject("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                  " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                  12, "overlaps", "file byte offset");
    /* gap */
    expect_reject("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                  " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}",
                  12, "gap", "'b'");
    /* header length larger than the file, zero, or absurd */
    size_t len;
    uint8_t *b = build("{}", 0, &len);
    b[0] = 200;
    struct ig_safetensors *st = NULL;
    ck_assert_int_eq(ig_safetensors_open_memory(&st, b, len, "x"), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "header length 200 at byte offset 0"), "%s", ig_last_error());
    memset(b, 0, 8);
    ck_assert_int_eq(ig_safetensors_open_memory(&st, b, len, "x"), IG_ERR_FORMAT);
    memset(b, 0xff, 8);
    ck_assert_int_eq(ig_safetensors_open_memory(&st, b, len, "x"), IG_ERR_FORMAT);
    free(b);
    /* and an empty but valid file is fine */
    b = build("{}      ", 0, &len);
    ck_assert_int_eq(ig_safetensors_open_memory(&st, b, len, "x"), IG_OK);
    ck_assert_int_eq(ig_safetensors_count(st), 0);
    ig_safetensors_close(st);
    free(b);
    /* a valid hand-written file whose entries are out of order in the header */
    b = build("{\"b\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [4, 6]},"
              " \"a\": {\"dtype\": \"I32\", \"shape\": [], \"data_offsets\": [0, 4]}}",
              6, &len);
    size_t d0 = len - 6;
    b[d0] = 7;
    b[d0 + 4] = 9;
    b[d0 + 5] = 250;
    ck_assert_int_eq(ig_safetensors_open_memory(&st, b, len, "x"), IG_OK);
    ck_assert_str_eq(ig_safetensors_entry(st, 0)->name, "a");
    int32_t av;
    uint8_t bv[2];
    ck_assert_int_eq(ig_safetensors_read_host(st, "a", IG_ST_I32, &av, 4), IG_OK);
    ck_assert_int_eq(ig_safetensors_read_host(st, "b", IG_ST_U8, bv, 2), IG_OK);
    ck_assert(av == 7 && bv[0] == 9 && bv[1] == 250);
    ig_safetensors_close(st);
    free(b);
}
END_TEST

/* ------------------------------------------------------------------ PyTorch-written file */

/* tests/fixtures/torch_checkpoint_small.safetensors is written by safetensors.torch.save_file
 * (gen_torch_parity.py); the values follow formulas recomputed here. One-way: the tests
 * never run Python. */
START_TEST(test_pytorch_written_file)
{
    struct ig_safetensors *st;
    ck_assert_msg(ig_safetensors_open(&st, ig_test_fixture("torch_checkpoint_small.safetensors")) == IG_OK, "%s",
                  ig_last_error());
    ck_assert_int_eq(ig_safetensors_count(st), 9);
    ck_assert_str_eq(ig_safetensors_meta(st, "step"), "42");
    ck_assert_ptr_nonnull(ig_safetensors_meta(st, "torch_version"));

    struct ig_tensor *a = ig_tensor_new(be, IG_DTYPE_F32, 3, (int64_t[]){2, 3, 4});
    ck_assert_int_eq(ig_safetensors_read(st, "a.f32", a), IG_OK);
    float ha[24];
    ig_tensor_to_host(a, ha, sizeof ha);
    for (int i = 0; i < 24; i++) ck_assert_float_eq(ha[i], (float)i * 0.5f - 3.0f);

    struct ig_tensor *s = ig_tensor_new(be, IG_DTYPE_I32, 0, NULL);
    ck_assert_int_eq(ig_safetensors_read(st, "b.i64_scalar", s), IG_OK);
    int32_t hs;
    ig_tensor_to_host(s, &hs, 4);
    ck_assert_int_eq(hs, 123456789);

    struct ig_tensor *c = ig_tensor_new(be, IG_DTYPE_I32, 1, (int64_t[]){10});
    ck_assert_int_eq(ig_safetensors_read(st, "c.i32", c), IG_OK);
    int32_t hc[10];
    ig_tensor_to_host(c, hc, sizeof hc);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(hc[i], i - 5);

    struct ig_tensor *d = ig_tensor_new(be, IG_DTYPE_U8, 1, (int64_t[]){16});
    ck_assert_int_eq(ig_safetensors_read(st, "d.u8", d), IG_OK);
    uint8_t hd[16];
    ig_tensor_to_host(d, hd, sizeof hd);
    for (int i = 0; i < 16; i++) ck_assert_int_eq(hd[i], 17 * i);

    struct ig_tensor *e = ig_tensor_new(be, IG_DTYPE_F32, 4, (int64_t[]){2, 3, 2, 2});
    ck_assert_int_eq(ig_safetensors_read(st, "e.f32_4d", e), IG_OK);
    float he[24];
    ig_tensor_to_host(e, he, sizeof he);
    for (int i = 0; i < 24; i++) ck_assert_float_eq(he[i], (float)i / 7.0f);

    struct ig_tensor *f = ig_tensor_new(be, IG_DTYPE_I32, 1, (int64_t[]){3});
    ck_assert_int_eq(ig_safetensors_read(st, "f.i64", f), IG_OK);
    int32_t hf[3];
    ig_tensor_to_host(f, hf, sizeof hf);
    ck_assert(hf[0] == 1 && hf[1] == -2 && hf[2] == 3);

    const struct ig_st_entry *g = ig_safetensors_find(st, "g.empty");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->ndim, 2);
    ck_assert_int_eq(g->shape[0], 0);
    ck_assert_int_eq(g->shape[1], 3);

    /* F64 is recognised but cannot go into our f32 tensors; host reads work */
    struct ig_tensor *h = ig_tensor_new(be, IG_DTYPE_F32, 1, (int64_t[]){2});
    ck_assert_int_eq(ig_safetensors_read(st, "h.f64", h), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "h.f64"));
    double hh[2];
    ck_assert_int_eq(ig_safetensors_read_host(st, "h.f64", IG_ST_F64, hh, sizeof hh), IG_OK);
    ck_assert(hh[0] == 1.5 && hh[1] == -2.25);

    int64_t nbt;
    ck_assert_int_eq(ig_safetensors_read_host(st, "features.1.num_batches_tracked", IG_ST_I64, &nbt, 8), IG_OK);
    ck_assert_int_eq(nbt, 5);
    ig_safetensors_close(st);
    struct ig_tensor *all[] = {a, s, c, d, e, f, h};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ig_tensor_free(all[i]);
}
END_TEST

/* .optim files with a negative step (file-wide or per parameter) are refused by the loader. */
START_TEST(test_optim_negative_step)
{
    struct ig_model *m = NULL;
    struct ig_optim *opt = NULL;
    ck_assert_int_eq(ig_model_small_cnn(&m, be, 3, 6, 6, 3, 5), IG_OK);
    ck_assert_int_eq(ig_optim_adam_new(&opt, m, ig_adam_params_default()), IG_OK);
    const char *mp = tpath("m.safetensors");
    char op[600];
    snprintf(op, sizeof op, "%s.optim", mp);
    ck_assert_int_eq(ig_model_save(m, opt, mp), IG_OK);
    struct ig_safetensors *st;
    ck_assert_int_eq(ig_safetensors_open(&st, mp), IG_OK);
    const struct ig_st_entry *e = ig_safetensors_entry(st, 0);
    char name[200], key[260];
    snprintf(name, sizeof name, "%s", e->name);
    struct ig_tensor *z = ig_tensor_new(be, IG_DTYPE_F32, e->ndim, e->shape);
    ig_safetensors_close(st);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(ig_fill(z, 0.0f), IG_OK);
    static const struct { const char *file_step; int64_t param_step; const char *needle; } cases[] = {
        {"-3", 1, "\"step\" is -3, expected a count >= 0"},
        {"5", -1, ".step' is -1, expected a count in 0..5"},
        {"5", 6, ".step' is 6, expected a count in 0..5"},
        {"5", 5, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct ig_safetensors_writer *w = ig_safetensors_writer_new();
        snprintf(key, sizeof key, "%s.exp_avg", name);
        ck_assert_int_eq(ig_safetensors_writer_add(w, key, z), IG_OK);
        snprintf(key, sizeof key, "%s.exp_avg_sq", name);
        ck_assert_int_eq(ig_safetensors_writer_add(w, key, z), IG_OK);
        snprintf(key, sizeof key, "%s.step", name);
        ck_assert_int_eq(ig_safetensors_writer_add_host(w, key, IG_ST_I64, 0, NULL, &cases[c].param_step), IG_OK);
        ig_safetensors_writer_set_meta(w, "kind", "adam");
        ig_safetensors_writer_set_meta(w, "step", cases[c].file_step);
        ck_assert_int_eq(ig_safetensors_writer_save(w, op), IG_OK);
        ig_safetensors_writer_free(w);
        bool loaded = false;
        enum ig_status s = ig_model_load(m, opt, mp, &loaded);
        if (!cases[c].needle) {
            ck_assert_msg(s == IG_OK && loaded, "%s", ig_last_error());
            ck_assert_int_eq(ig_optim_steps(opt), 5);
        } else {
            ck_assert_int_eq(s, IG_ERR_FORMAT);
            ck_assert_msg(strstr(ig_last_error(), cases[c].needle) && strstr(ig_last_error(), "m.safetensors.optim"), "%s",
                          ig_last_error());
        }
    }
    ig_tensor_free(z);
    ig_optim_free(opt);
    ig_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = IG_TEST_CASE(s, "safetensors", 120, test_round_trip, test_save_convenience_and_io_errors, test_truncated,
                             test_corrupt_json, test_offsets_out_of_bounds, test_pytorch_written_file,
                             test_optim_negative_step);
    tcase_add_checked_fixture(tc, setup, teardown);
    return ig_test_run(s);
}
