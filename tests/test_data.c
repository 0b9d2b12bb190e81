/* Check suite for apps/data: CIFAR-10 and IDX readers on synthetic and bad files, the normalising loader. */
#include "ig_data.h"
#include "ig_test_util.h"
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static struct ig_backend *be;
static char tmpdir[256];

static void setup(void)
{
    ck_assert_int_eq(ig_backend_init_cpu(&be, 1), IG_OK);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ig_test_data_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[1024];
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) rm_tree(p);
        else unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

static void teardown(void)
{
    rm_tree(tmpdir);
    ig_backend_free(be);
}

static const char *tpath(const char *name)
{
    /* a ring of buffers: a test keeps up to 64 paths alive at once */
    static char p[64][512];
    static int k;
    k = (k + 1) % 64;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

/* Pixel i of synthetic record r of file f. */
static uint8_t pix(int f, int r, int i)
{
    return (uint8_t)((f * 31 + r * 7 + i * 3) & 255);
}

/* Write n CIFAR records: label (r + f) % 10, unless bad_rec == r (label bad_label). */
static void write_cifar(const char *path, int f, int n, int bad_rec, int bad_label, size_t extra)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    uint8_t rec[IG_CIFAR10_RECORD];
    for (int r = 0; r < n; r++) {
        rec[0] = (uint8_t)(r == bad_rec ? bad_label : (r + f) % 10);
        for (int i = 0; i < 3072; i++) rec[1 + i] = pix(f, r, i);
        ck_assert_uint_eq(fwrite(rec, 1, sizeof rec, fp), sizeof rec);
    }
    for (size_t i = 0; i < extra; i++) fputc(1, fp);
    fclose(fp);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Train dir: data_batch_k.bin holds 3 records of "file" k, test_batch.bin 2 records of file 9. */
static const char *make_cifar_dir(void)
{
    const char *dir = tpath("cifar-10-batches-bin");
    mkdir(dir, 0755);
    char p[600];
    for (int k = 1; k <= 5; k++) {
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, k);
        write_cifar(p, k, 3, -1, 0, 0);
    }
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    write_cifar(p, 9, 2, -1, 0, 0);
    snprintf(p, sizeof p, "%s/batches.meta.txt", dir);
    write_text(p, "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
    return dir;
}

static void check_record(const struct ig_dataset *ds, int64_t row, int f, int r)
{
    ck_assert_int_eq(ds->labels[row], (r + f) % 10);
    const uint8_t *img = ds->images + row * 3072;
    for (int i = 0; i < 3072; i += 97) ck_assert_int_eq(img[i], pix(f, r, i));
    ck_assert_int_eq(img[3071], pix(f, r, 3071));
}

/* ------------------------------------------------------------------ CIFAR-10 */

START_TEST(test_cifar_read_file)
{
    const char *p = tpath("one.bin");
    write_cifar(p, 2, 5, -1, 0, 0);
    struct ig_dataset ds;
    ck_assert_int_eq(ig_cifar10_read_file(&ds, p, 0), IG_OK);
    ck_assert_int_eq(ds.n, 5);
    ck_assert(ds.channels == 3 && ds.height == 32 && ds.width == 32);
    ck_assert_int_eq(ig_dataset_image_bytes(&ds), 3072);
    for (int r = 0; r < 5; r++) check_record(&ds, r, 2, r);
    ck_assert_int_eq(ds.num_classes, 10);
    ck_assert_str_eq(ds.class_names[9], "truck");
    ig_dataset_free(&ds);
    ck_assert_ptr_null(ds.images);
    ig_dataset_free(&ds); /* twice is fine */
    ck_assert_int_eq(ig_cifar10_read_file(&ds, p, 2), IG_OK);
    ck_assert_int_eq(ds.n, 2);
    check_record(&ds, 1, 2, 1);
    ig_dataset_free(&ds);
}
END_TEST

START_TEST(test_cifar_load_splits)
{
    const char *dir = make_cifar_dir();
    struct ig_dataset ds;
    ck_assert_int_eq(ig_cifar10_load(&ds, dir, IG_DATA_TRAIN, 0), IG_OK);
    ck_assert_int_eq(ds.n, 15);
    for (int k = 1; k <= 5; k++)
        for (int r = 0; r < 3; r++) check_record(&ds, (k - 1) * 3 + r, k, r);
    ck_assert_int_eq(ds.num_classes, 10);
    ck_assert_str_eq(ds.class_names[0], "airplane");
    ck_assert_str_eq(ds.class_names[3], "cat");
    ig_dataset_free(&ds);
    /* first 7: three files' worth, the third only partly */
    ck_assert_int_eq(ig_cifar10_load(&ds, dir, IG_DATA_TRAIN, 7), IG_OK);
    ck_assert_int_eq(ds.n, 7);
    check_record(&ds, 6, 3, 0);
    ig_dataset_free(&ds);
    /* files after the last needed one are not read: a broken data_batch_5 does not matter */
    char p[600];
    snprintf(p, sizeof p, "%s/data_batch_5.bin", dir);
    write_cifar(p, 5, 3, 1, 99, 0);
    ck_assert_int_eq(ig_cifar10_load(&ds, dir, IG_DATA_TRAIN, 13), IG_OK); /* record 0 of file 5 is fine */
    ig_dataset_free(&ds);
    ck_assert_int_eq(ig_cifar10_load(&ds, dir, IG_DATA_TRAIN, 14), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "data_batch_5.bin") && strstr(ig_last_error(), "record 1") &&
                      strstr(ig_last_error(), "label 99"),
                  "%s", ig_last_error());
    ck_assert_ptr_null(ds.images);
    /* the parent directory works too */
    ck_assert_int_eq(ig_cifar10_load(&ds, tmpdir, IG_DATA_TEST, 0), IG_OK);
    ck_assert_int_eq(ds.n, 2);
    check_record(&ds, 1, 9, 1);
    ig_dataset_free(&ds);
    /* without batches.meta.txt: the official names */
    snprintf(p, sizeof p, "%s/batches.meta.txt", dir);
    unlink(p);
    ck_assert_int_eq(ig_cifar10_load(&ds, dir, IG_DATA_TEST, 0), IG_OK);
    ck_assert_str_eq(ds.class_names[1], "automobile");
    ig_dataset_free(&ds);
    /* a meta file with the wrong number of names is an error naming it */
    write_text(p, "a\nb\n");
    ck_assert_int_eq(ig_cifar10_load(&ds, dir, IG_DATA_TEST, 0), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "batches.meta.txt"));
    ck_assert_int_eq(ig_cifar10_load(&ds, tpath("nowhere"), IG_DATA_TEST, 0), IG_ERR_IO);
}
END_TEST

START_TEST(test_cifar_bad_files)
{
    struct ig_dataset ds;
    const char *p;
    /* truncated: 2 records + 100 bytes */
    p = tpath("trunc.bin");
    write_cifar(p, 0, 2, -1, 0, 100);
    ck_assert_int_eq(ig_cifar10_read_file(&ds, p, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "trunc.bin") && strstr(ig_last_error(), "record 2") &&
                      strstr(ig_last_error(), "truncated"),
                  "%s", ig_last_error());
    ck_assert_ptr_null(ds.images);
    /* label 10 in record 1 */
    p = tpath("label.bin");
    write_cifar(p, 0, 3, 1, 10, 0);
    ck_assert_int_eq(ig_cifar10_read_file(&ds, p, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "label.bin") && strstr(ig_last_error(), "record 1") &&
                      strstr(ig_last_error(), "label 10") && strstr(ig_last_error(), "byte offset 3073"),
                  "%s", ig_last_error());
    /* ... but its first record alone is fine */
    ck_assert_int_eq(ig_cifar10_read_file(&ds, p, 1), IG_OK);
    ig_dataset_free(&ds);
    /* label 255 in the last record of a big file (past the first read chunk) */
    p = tpath("late.bin");
    write_cifar(p, 0, 1500, 1499, 255, 0);
    ck_assert_int_eq(ig_cifar10_read_file(&ds, p, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "record 1499"), "%s", ig_last_error());
    /* empty */
    p = tpath("empty.bin");
    write_text(p, "");
    ck_assert_int_eq(ig_cifar10_read_file(&ds, p, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "empty.bin") && strstr(ig_last_error(), "empty"), "%s", ig_last_error());
    /* shorter than one record */
    p = tpath("tiny.bin");
    write_text(p, "\x03hello");
    ck_assert_int_eq(ig_cifar10_read_file(&ds, p, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "tiny.bin") && strstr(ig_last_error(), "record 0"), "%s", ig_last_error());
    /* missing, directory */
    ck_assert_int_eq(ig_cifar10_read_file(&ds, tpath("missing.bin"), 0), IG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "missing.bin"));
    ck_assert_int_eq(ig_cifar10_read_file(&ds, tmpdir, 0), IG_ERR_IO);
    /* a truncated training file names the file */
    const char *dir = make_cifar_dir();
    char q[600];
    snprintf(q, sizeof q, "%s/data_batch_2.bin", dir);
    write_cifar(q, 2, 3, -1, 0, 5);
    ck_assert_int_eq(ig_cifar10_load(&ds, dir, IG_DATA_TRAIN, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "data_batch_2.bin") && strstr(ig_last_error(), "record 3"), "%s",
                  ig_last_error());
}
END_TEST

/* The real CIFAR-10 test batch, when unpacked (env IG_CIFAR10_DIR, or data/ of the source
 * tree); skipped otherwise. */
START_TEST(test_cifar_real_optional)
{
    char dir[1024];
    const char *env = getenv("IG_CIFAR10_DIR");
    if (env) snprintf(dir, sizeof dir, "%s", env);
    else snprintf(dir, sizeof dir, "%s/../../data/cifar-10-batches-bin", getenv("IG_TEST_FIXTURES") ? getenv("IG_TEST_FIXTURES") : "tests/fixtures");
    char p[1100];
    snprintf(p, sizeof p, "%s/test_batch.bin", dir);
    if (access(p, R_OK) != 0) {
        fprintf(stderr, "test_cifar_real_optional: %s absent, skipped\n", p);
        return;
    }
    struct ig_dataset ds;
    ck_assert_msg(ig_cifar10_load(&ds, dir, IG_DATA_TEST, 0) == IG_OK, "%s", ig_last_error());
    ck_assert_int_eq(ds.n, 10000);
    int64_t hist[10] = {0};
    for (int64_t i = 0; i < ds.n; i++) hist[ds.labels[i]]++;
    for (int c = 0; c < 10; c++) ck_assert_int_eq(hist[c], 1000);
    ck_assert_int_eq(ds.labels[0], 3); /* the official test batch starts cat, ship */
    ck_assert_int_eq(ds.labels[1], 8);
    ck_assert_str_eq(ds.class_names[3], "cat");
    ig_dataset_free(&ds);
}
END_TEST

/* ------------------------------------------------------------------ IDX */

static void write_idx(const char *path, bool gz, const uint8_t *hdr, size_t hlen, const uint8_t *data, size_t n)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        if (hlen) ck_assert_int_eq(gzwrite(f, hdr, (unsigned)hlen), (int)hlen);
        if (n) ck_assert_int_eq(gzwrite(f, data, (unsigned)n), (int)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        fwrite(hdr, 1, hlen, f);
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* n images of rows x cols with pixel (i*5 + k) & 255, labels i % 10. */
static void write_idx_pair(const char *img, const char *lab, bool gz, int n, int rows, int cols)
{
    uint8_t h[16];
    be32(h, 0x803);
    be32(h + 4, (uint32_t)n);
    be32(h + 8, (uint32_t)rows);
    be32(h + 12, (uint32_t)cols);
    size_t np = (size_t)n * rows * cols;
    uint8_t *d = malloc(np);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < rows * cols; k++) d[(size_t)i * rows * cols + k] = (uint8_t)((i * 5 + k) & 255);
    write_idx(img, gz, h, 16, d, np);
    be32(h, 0x801);
    for (int i = 0; i < n; i++) d[i] = (uint8_t)(i % 10);
    write_idx(lab, gz, h, 8, d, (size_t)n);
    free(d);
}

START_TEST(test_idx_gz_and_raw)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *img = tpath(gz ? "i.gz" : "i.raw"), *lab = tpath(gz ? "l.gz" : "l.raw");
        write_idx_pair(img, lab, gz, 12, 28, 28);
        struct ig_dataset ds;
        ck_assert_msg(ig_idx_read_pair(&ds, img, lab, 10, 0) == IG_OK, "%s", ig_last_error());
        ck_assert_int_eq(ds.n, 12);
        ck_assert(ds.channels == 1 && ds.height == 28 && ds.width == 28);
        for (int i = 0; i < 12; i++) {
            ck_assert_int_eq(ds.labels[i], i % 10);
            ck_assert_int_eq(ds.images[i * 784 + 100], (i * 5 + 100) & 255);
        }
        ig_dataset_free(&ds);
        ck_assert_int_eq(ig_idx_read_pair(&ds, img, lab, 10, 5), IG_OK);
        ck_assert_int_eq(ds.n, 5);
        ck_assert_int_eq(ds.images[4 * 784 + 783], (4 * 5 + 783) & 255);
        ig_dataset_free(&ds);
    }
    /* a directory laid out like the Debian package */
    char dir[600];
    snprintf(dir, sizeof dir, "%s", tpath("fm"));
    mkdir(dir, 0755);
    char img[700], lab[700];
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte", dir); /* raw, no .gz */
    write_idx_pair(img, tpath("unused"), true, 4, 28, 28);
    write_idx_pair(tpath("unused2"), lab, false, 4, 28, 28);
    struct ig_dataset ds;
    ck_assert_msg(ig_fmnist_load(&ds, dir, IG_DATA_TEST, 0) == IG_OK, "%s", ig_last_error());
    ck_assert_int_eq(ds.n, 4);
    ck_assert_str_eq(ds.class_names[9], "Ankle boot");
    ig_dataset_free(&ds);
    ck_assert_int_eq(ig_fmnist_load(&ds, dir, IG_DATA_TRAIN, 0), IG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "train-images-idx3-ubyte"));
}
END_TEST

START_TEST(test_idx_bad_files)
{
    struct ig_dataset ds;
    const char *img = tpath("i.gz"), *lab = tpath("l.gz");
    write_idx_pair(img, lab, true, 6, 4, 4);
    uint8_t h[16], d[256];
    memset(d, 0, sizeof d);
    /* bad magic: a label file given as images */
    ck_assert_int_eq(ig_idx_read_pair(&ds, lab, lab, 10, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "l.gz") && strstr(ig_last_error(), "magic"), "%s", ig_last_error());
    /* float data type */
    be32(h, 0x0d03);
    write_idx(tpath("f.gz"), true, h, 4, d, 0);
    ck_assert_int_eq(ig_idx_read_pair(&ds, tpath("f.gz"), lab, 10, 0), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "magic"));
    /* count mismatch */
    const char *lab5 = tpath("l5.gz");
    be32(h, 0x801);
    be32(h + 4, 5);
    write_idx(lab5, true, h, 8, d, 5);
    ck_assert_int_eq(ig_idx_read_pair(&ds, img, lab5, 10, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "6 images") && strstr(ig_last_error(), "5 labels"), "%s", ig_last_error());
    /* truncated pixel data */
    const char *ti = tpath("ti.gz");
    be32(h, 0x803);
    be32(h + 4, 6);
    be32(h + 8, 4);
    be32(h + 12, 4);
    write_idx(ti, true, h, 16, d, 6 * 16 - 3);
    ck_assert_int_eq(ig_idx_read_pair(&ds, ti, lab, 10, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "ti.gz") && strstr(ig_last_error(), "truncated"), "%s", ig_last_error());
    /* truncated header */
    write_idx(ti, false, h, 10, d, 0);
    ck_assert_int_eq(ig_idx_read_pair(&ds, ti, lab, 10, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "truncated"), "%s", ig_last_error());
    /* zero-sized dimension */
    be32(h + 8, 0);
    write_idx(ti, false, h, 16, d, 0);
    ck_assert_int_eq(ig_idx_read_pair(&ds, ti, lab, 10, 0), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "dimension 1"));
    /* trailing data after the images */
    be32(h + 8, 4);
    write_idx(ti, true, h, 16, d, 6 * 16 + 1);
    ck_assert_int_eq(ig_idx_read_pair(&ds, ti, lab, 10, 0), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "trailing"));
    /* label out of range, record named */
    const char *lb = tpath("lb.raw");
    be32(h, 0x801);
    be32(h + 4, 6);
    uint8_t labs[6] = {0, 1, 2, 10, 4, 5};
    write_idx(lb, false, h, 8, labs, 6);
    ck_assert_int_eq(ig_idx_read_pair(&ds, img, lb, 10, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "lb.raw") && strstr(ig_last_error(), "record 3") &&
                      strstr(ig_last_error(), "label 10"),
                  "%s", ig_last_error());
    /* corrupt gzip stream */
    const char *cg = tpath("corrupt.gz");
    write_idx_pair(cg, tpath("cl.gz"), true, 50, 28, 28);
    FILE *f = fopen(cg, "r+b");
    fseek(f, 0, SEEK_END);
    ck_assert_int_gt(ftell(f), 60);
    fseek(f, 20, SEEK_SET); /* inside the deflate stream (the gzip header is 10 bytes) */
    for (int i = 0; i < 24; i++) fputc(0x55, f);
    fclose(f);
    ck_assert_int_eq(ig_idx_read_pair(&ds, cg, tpath("cl.gz"), 10, 0), IG_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "corrupt.gz"));
    ck_assert_int_eq(ig_idx_read_pair(&ds, tpath("none.gz"), lab, 10, 0), IG_ERR_IO);
    ck_assert_ptr_null(ds.images);
}
END_TEST

/* Sizes from the header are checked against the file before anything is allocated. */
START_TEST(test_idx_header_vs_file_size)
{
    struct ig_dataset ds;
    const char *lab = tpath("l.raw");
    write_idx_pair(tpath("unused.raw"), lab, false, 6, 4, 4);
    uint8_t h[16], d[15000];
    memset(d, 7, sizeof d);
    be32(h, 0x803);
    be32(h + 4, 0xffffffffu);   /* 4 294 967 295 images of 28 x 28 in a 15 KB file */
    be32(h + 8, 28);
    be32(h + 12, 28);
    for (int gz = 0; gz < 2; gz++) {
        const char *big = tpath(gz ? "big.gz" : "big.raw");
        write_idx(big, gz, h, 16, d, sizeof d);
        ck_assert_int_eq(ig_idx_read_pair(&ds, big, lab, 10, 0), IG_ERR_FORMAT);
        ck_assert_msg(strstr(ig_last_error(), "header and the file disagree") && strstr(ig_last_error(), "3367254359296"),
                      "%s", ig_last_error());
        ck_assert_ptr_null(ds.images);
        ck_assert_int_eq(ig_idx_read_pair(&ds, big, lab, 10, 3), IG_ERR_FORMAT);   /* also for a prefix */
    }
    /* a valid gzip file followed by garbage */
    const char *img = tpath("g.gz"), *gl = tpath("gl.gz");
    write_idx_pair(img, gl, true, 6, 4, 4);
    ck_assert_int_eq(ig_idx_read_pair(&ds, img, gl, 10, 0), IG_OK);
    ig_dataset_free(&ds);
    FILE *f = fopen(img, "ab");
    fputs("trailing garbage!", f);
    fclose(f);
    ck_assert_int_eq(ig_idx_read_pair(&ds, img, gl, 10, 0), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "g.gz") && strstr(ig_last_error(), "header and the file disagree"), "%s", ig_last_error());
    /* a raw label file one byte longer than its header says, even when only a prefix is read */
    f = fopen(lab, "ab");
    fputc(1, f);
    fclose(f);
    write_idx_pair(tpath("i6.raw"), tpath("unused.raw"), false, 6, 4, 4);
    ck_assert_int_eq(ig_idx_read_pair(&ds, tpath("i6.raw"), lab, 10, 2), IG_ERR_FORMAT);
    ck_assert_msg(strstr(ig_last_error(), "need 14 bytes, the file has 15"), "%s", ig_last_error());
}
END_TEST

/* The Debian package's files, when installed; skipped otherwise. */
START_TEST(test_fmnist_package_optional)
{
    char p[256];
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", IG_FMNIST_DEFAULT_DIR);
    if (access(p, R_OK) != 0) {
        fprintf(stderr, "test_fmnist_package_optional: %s absent, skipped\n", p);
        return;
    }
    struct ig_dataset ds;
    ck_assert_msg(ig_fmnist_load(&ds, NULL, IG_DATA_TEST, 0) == IG_OK, "%s", ig_last_error());
    ck_assert_int_eq(ds.n, 10000);
    ck_assert(ds.channels == 1 && ds.height == 28 && ds.width == 28);
    int64_t hist[10] = {0};
    for (int64_t i = 0; i < ds.n; i++) hist[ds.labels[i]]++;
    for (int c = 0; c < 10; c++) ck_assert_int_eq(hist[c], 1000);
    ig_dataset_free(&ds);
    ck_assert_int_eq(ig_fmnist_load(&ds, NULL, IG_DATA_TRAIN, 100), IG_OK);
    ck_assert_int_eq(ds.n, 100);
    ck_assert_int_eq(ds.labels[0], 9); /* the first training image is an ankle boot */
    ig_dataset_free(&ds);
}
END_TEST

/* ------------------------------------------------------------------ loader */

/* n images [3,2,2], pixel values (i*13 + k*41) & 255, label i % 10. */
static void synth(struct ig_dataset *ds, int64_t n)
{
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->channels = 3;
    ds->height = 2;
    ds->width = 2;
    ds->images = malloc((size_t)n * 12);
    ds->labels = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < 12; k++) ds->images[i * 12 + k] = (uint8_t)((i * 13 + k * 41) & 255);
        ds->labels[i] = (int32_t)(i % 10);
    }
    ds->num_classes = 10;
}

/* The batch holds exactly rows b->index with their normalised pixels and labels. */
static void check_batch(const struct ig_dataset *ds, const struct ig_batch *b, struct ig_norm_params np)
{
    ck_assert_int_eq(b->x->shape[0], b->size);
    ck_assert_int_eq(b->y->shape[0], b->size);
    float x[64 * 12];
    int32_t y[64];
    ck_assert_int_le(b->size, 64);
    ck_assert_int_eq(ig_tensor_to_host(b->x, x, (size_t)b->size * 12 * sizeof(float)), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(b->y, y, (size_t)b->size * sizeof(int32_t)), IG_OK);
    for (int64_t i = 0; i < b->size; i++) {
        int64_t row = b->index[i];
        ck_assert_int_eq(y[i], ds->labels[row]);
        for (int k = 0; k < 12; k++) {
            int c = k / 4;
            double want = ((double)ds->images[row * 12 + k] / 255.0 - np.mean[c]) / np.std[c];
            ck_assert_msg(fabs(x[i * 12 + k] - want) <= 1e-6 * (1 + fabs(want)), "row %lld k %d: %g vs %g",
                          (long long)row, k, x[i * 12 + k], want);
        }
    }
}

START_TEST(test_loader_epochs)
{
    struct ig_dataset ds;
    synth(&ds, 10);
    struct ig_loader_params p = ig_loader_params_default();
    ck_assert_int_eq(p.batch_size, 32);
    ck_assert(p.shuffle && !p.drop_last);
    ck_assert_float_eq(p.norm.mean[2], 0.5f);
    ck_assert_float_eq(p.norm.std[0], 0.5f);
    p.batch_size = 4;
    p.seed = 7;
    p.norm.mean[1] = 0.25f; /* distinct per channel to catch a channel mix-up */
    p.norm.std[2] = 2.0f;
    struct ig_loader *l;
    ck_assert_int_eq(ig_loader_new(&l, be, &ds, NULL, 0, p), IG_OK);
    ck_assert_int_eq(ig_loader_size(l), 10);
    ck_assert_int_eq(ig_loader_batches(l), 3);
    int64_t order[3][10];
    for (int epoch = 0; epoch < 3; epoch++) {
        ck_assert_int_eq(ig_loader_start_epoch(l, epoch == 2 ? 0 : epoch), IG_OK);
        struct ig_batch b;
        bool got;
        int64_t sizes[3] = {0}, at = 0, nb = 0;
        bool seen[10] = {0};
        while (ig_loader_next(l, &b, &got) == IG_OK && got) {
            ck_assert_int_eq(b.number, nb);
            sizes[nb++] = b.size;
            check_batch(&ds, &b, p.norm);
            for (int64_t i = 0; i < b.size; i++) {
                ck_assert(!seen[b.index[i]]);
                seen[b.index[i]] = true;
                order[epoch][at++] = b.index[i];
            }
        }
        ck_assert_int_eq(nb, 3);
        ck_assert(sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2);
        ck_assert_int_eq(at, 10);
        /* after the end, still nothing */
        ck_assert_int_eq(ig_loader_next(l, &b, &got), IG_OK);
        ck_assert(!got);
    }
    ck_assert_int_ne(memcmp(order[0], order[1], sizeof order[0]), 0); /* reshuffled */
    ck_assert_int_eq(memcmp(order[0], order[2], sizeof order[0]), 0); /* epoch 0 again: same order */
    ig_loader_free(l);

    /* a second loader with the same seed gives the same order; another seed a different one */
    struct ig_loader *l2;
    ck_assert_int_eq(ig_loader_new(&l2, be, &ds, NULL, 0, p), IG_OK);
    int64_t o2[10], at = 0;
    struct ig_batch b;
    bool got;
    while (ig_loader_next(l2, &b, &got) == IG_OK && got)
        for (int64_t i = 0; i < b.size; i++) o2[at++] = b.index[i];
    ck_assert_int_eq(memcmp(order[0], o2, sizeof o2), 0);
    ig_loader_free(l2);
    p.seed = 8;
    ck_assert_int_eq(ig_loader_new(&l2, be, &ds, NULL, 0, p), IG_OK);
    at = 0;
    while (ig_loader_next(l2, &b, &got) == IG_OK && got)
        for (int64_t i = 0; i < b.size; i++) o2[at++] = b.index[i];
    ck_assert_int_ne(memcmp(order[0], o2, sizeof o2), 0);
    ig_loader_free(l2);
    ig_dataset_free(&ds);
}
END_TEST

START_TEST(test_loader_drop_last_subset_noshuffle)
{
    struct ig_dataset ds;
    synth(&ds, 23);
    struct ig_loader_params p = ig_loader_params_default();
    p.batch_size = 5;
    p.drop_last = true;
    p.shuffle = false;
    int64_t subset[13] = {22, 0, 5, 7, 3, 9, 11, 13, 1, 2, 20, 19, 4};
    struct ig_loader *l;
    ck_assert_int_eq(ig_loader_new(&l, be, &ds, subset, 13, p), IG_OK);
    ck_assert_int_eq(ig_loader_batches(l), 2);
    struct ig_batch b;
    bool got;
    int64_t at = 0, nb = 0;
    while (ig_loader_next(l, &b, &got) == IG_OK && got) {
        ck_assert_int_eq(b.size, 5);
        check_batch(&ds, &b, p.norm);
        for (int64_t i = 0; i < b.size; i++) ck_assert_int_eq(b.index[i], subset[at++]); /* subset order */
        nb++;
    }
    ck_assert_int_eq(nb, 2);
    ig_loader_free(l);

    /* default normalisation: 0 -> -1, 255 -> 1 */
    ds.images[0] = 0;
    ds.images[1] = 255;
    ds.images[2] = 51; /* 51/255 = 0.2 -> -0.6 */
    p = ig_loader_params_default();
    p.shuffle = false;
    ck_assert_int_eq(ig_loader_new(&l, be, &ds, NULL, 0, p), IG_OK);
    ck_assert_int_eq(ig_loader_batches(l), 1); /* batch 32 > 23 rows */
    ck_assert_int_eq(ig_loader_next(l, &b, &got), IG_OK);
    ck_assert(got && b.size == 23);
    float x[3];
    struct ig_tensor *row0 = ig_tensor_slice(b.x, 0, 1);
    float all[12];
    ck_assert_int_eq(ig_tensor_to_host(row0, all, sizeof all), IG_OK);
    memcpy(x, all, sizeof x);
    ck_assert_float_eq_tol(x[0], -1.0f, 1e-6f);
    ck_assert_float_eq_tol(x[1], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(x[2], -0.6f, 1e-6f);
    ig_tensor_free(row0);
    ig_loader_free(l);

    /* bad arguments */
    int64_t bad[2] = {0, 23};
    ck_assert_int_eq(ig_loader_new(&l, be, &ds, bad, 2, p), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "23"));
    p.batch_size = 0;
    ck_assert_int_eq(ig_loader_new(&l, be, &ds, NULL, 0, p), IG_ERR_INVALID_ARG);
    ig_dataset_free(&ds);
}
END_TEST

START_TEST(test_subset_and_fill_batch)
{
    struct ig_dataset ds, sub;
    synth(&ds, 8);
    int64_t idx[3] = {7, 2, 2};
    ck_assert_int_eq(ig_dataset_subset(&sub, &ds, idx, 3), IG_OK);
    ck_assert_int_eq(sub.n, 3);
    ck_assert_int_eq(memcmp(sub.images, ds.images + 7 * 12, 12), 0);
    ck_assert_int_eq(memcmp(sub.images + 24, ds.images + 2 * 12, 12), 0);
    ck_assert_int_eq(sub.labels[0], 7);
    ig_dataset_free(&sub);
    int64_t oob[1] = {8};
    ck_assert_int_eq(ig_dataset_subset(&sub, &ds, oob, 1), IG_ERR_INVALID_ARG);

    int64_t sh[4] = {3, 3, 2, 2};
    struct ig_tensor *xu = ig_tensor_new(be, IG_DTYPE_U8, 4, sh), *x = ig_tensor_new(be, IG_DTYPE_F32, 4, sh);
    struct ig_tensor *y = ig_tensor_new(be, IG_DTYPE_I32, 1, sh);
    ck_assert_int_eq(ig_data_fill_batch(&ds, idx, 3, xu, x, y, ig_data_norm_default(), NULL), IG_OK);
    uint8_t hu[36];
    ig_tensor_to_host(xu, hu, sizeof hu);
    ck_assert_int_eq(memcmp(hu, ds.images + 7 * 12, 12), 0);
    float hx[36];
    ig_tensor_to_host(x, hx, sizeof hx);
    for (int k = 0; k < 36; k++) ck_assert_float_eq_tol(hx[k], (hu[k] / 255.0f - 0.5f) / 0.5f, 1e-6f);
    /* wrong shapes are refused */
    ck_assert_int_eq(ig_data_fill_batch(&ds, idx, 2, xu, x, y, ig_data_norm_default(), NULL), IG_ERR_SHAPE);
    ck_assert_int_eq(ig_data_fill_batch(&ds, idx, 3, x, x, y, ig_data_norm_default(), NULL), IG_ERR_SHAPE);
    ig_tensor_free(xu);
    ig_tensor_free(x);
    ig_tensor_free(y);
    ig_dataset_free(&ds);
}
END_TEST

/* The same batches on an OpenCL backend (pocl or a GPU) as on the CPU, partial batch included;
 * skipped when this build or machine has no OpenCL device. */
START_TEST(test_loader_opencl_optional)
{
    struct ig_backend *cl;
    if (ig_backend_init("opencl", &cl) != IG_OK) {
        fprintf(stderr, "test_loader_opencl_optional: no OpenCL backend (%s), skipped\n", ig_last_error());
        return;
    }
    struct ig_dataset ds;
    synth(&ds, 11);
    struct ig_loader_params p = ig_loader_params_default();
    p.batch_size = 4;
    p.seed = 3;
    struct ig_loader *lc, *lg;
    ck_assert_int_eq(ig_loader_new(&lc, be, &ds, NULL, 0, p), IG_OK);
    ck_assert_msg(ig_loader_new(&lg, cl, &ds, NULL, 0, p) == IG_OK, "%s", ig_last_error());
    struct ig_batch bc, bg;
    bool gc, gg;
    int nb = 0;
    while (ig_loader_next(lc, &bc, &gc) == IG_OK && gc) {
        ck_assert_msg(ig_loader_next(lg, &bg, &gg) == IG_OK && gg, "%s", ig_last_error());
        ck_assert_int_eq(bg.size, bc.size);
        float xc[4 * 12], xg[4 * 12];
        int32_t yc[4], yg[4];
        ck_assert_int_eq(ig_tensor_to_host(bc.x, xc, (size_t)bc.size * 12 * 4), IG_OK);
        ck_assert_msg(ig_tensor_to_host(bg.x, xg, (size_t)bg.size * 12 * 4) == IG_OK, "%s", ig_last_error());
        ck_assert_int_eq(ig_tensor_to_host(bc.y, yc, (size_t)bc.size * 4), IG_OK);
        ck_assert_int_eq(ig_tensor_to_host(bg.y, yg, (size_t)bg.size * 4), IG_OK);
        ck_assert_int_eq(memcmp(yc, yg, (size_t)bc.size * 4), 0);
        for (int64_t i = 0; i < bc.size * 12; i++) ck_assert_float_eq_tol(xg[i], xc[i], 1e-6f);
        check_batch(&ds, &bg, p.norm);
        nb++;
    }
    ck_assert_int_eq(nb, 3);
    ig_loader_free(lc);
    ig_loader_free(lg);
    ig_dataset_free(&ds);
    ig_backend_free(cl);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cifar_read_file);
    tcase_add_test(tc, test_cifar_load_splits);
    tcase_add_test(tc, test_cifar_bad_files);
    tcase_add_test(tc, test_cifar_real_optional);
    tcase_add_test(tc, test_idx_gz_and_raw);
    tcase_add_test(tc, test_idx_bad_files);
    tcase_add_test(tc, test_idx_header_vs_file_size);
    tcase_add_test(tc, test_fmnist_package_optional);
    tcase_add_test(tc, test_loader_epochs);
    tcase_add_test(tc, test_loader_drop_last_subset_noshuffle);
    tcase_add_test(tc, test_subset_and_fill_batch);
    tcase_add_test(tc, test_loader_opencl_optional);
    suite_add_tcase(s, tc);
    return ig_test_run(s);
}
