/* IDX reader (MNIST / Fashion-MNIST), gzip-compressed or raw via zlib: magic and dimension checks with clear errors. */
#include "ig_data_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_MAX_SIDE 4096

static const char *const fmnist_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* An open IDX file: gzread passes raw (non-gzip) files through unchanged. */
struct idx_file {
    gzFile gz;
    const char *path;
    int64_t dims[3];
    int ndim;
};

static enum ig_status idx_read_exact(struct idx_file *f, void *dst, size_t n, int64_t at, const char *what)
{
    size_t done = 0;
    while (done < n) {
        unsigned chunk = n - done > (1u << 30) ? (1u << 30) : (unsigned)(n - done);
        int got = gzread(f->gz, (char *)dst + done, chunk);
        if (got < 0) {
            int err;
            const char *msg = gzerror(f->gz, &err);
            return ig_error(IG_ERR_FORMAT, "idx: %s: %s at byte %lld: %s", f->path, what,
                            (long long)(at + (int64_t)done), msg ? msg : "read error");
        }
        if (got == 0)
            return ig_error(IG_ERR_FORMAT, "idx: %s: truncated: %s ends at byte %lld of %lld", f->path, what,
                            (long long)(at + (int64_t)done), (long long)(at + (int64_t)n));
        done += (size_t)got;
    }
    return IG_OK;
}

/* The header's byte count (need) against the file (size bytes on disk): a raw file must hold exactly
 * need bytes; a gzip file must end in the gzip size field ISIZE = need mod 2^32 (so trailing garbage
 * is refused) and cannot inflate beyond deflate's ratio of 1032:1. Checked before any allocation. */
static enum ig_status idx_check_size(struct idx_file *f, int64_t size, int64_t need)
{
    if (gzdirect(f->gz)) {
        if (size != need)
            return ig_error(IG_ERR_FORMAT, "idx: %s: the header and the file disagree: the header's sizes need %lld bytes, the file has %lld",
                            f->path, (long long)need, (long long)size);
        return IG_OK;
    }
    uint8_t t[4] = {0};
    FILE *fp = fopen(f->path, "rb");
    bool ok = fp && size >= 18 && fseek(fp, -4, SEEK_END) == 0 && fread(t, 1, 4, fp) == 4;
    if (fp) fclose(fp);
    uint32_t isize = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    if (!ok || isize != (uint32_t)need || need / 1032 > size)
        return ig_error(IG_ERR_FORMAT,
                        "idx: %s: the header and the file disagree: the header's sizes need %lld bytes, the gzip stream "
                        "of %lld bytes ends with size field %u (truncated, trailing data or damaged)",
                        f->path, (long long)need, (long long)size, (unsigned)isize);
    return IG_OK;
}

/* Open path and parse the header: magic 0x0000 0x08 (u8) ndim, then ndim big-endian u32 sizes. */
static enum ig_status idx_open(struct idx_file *f, const char *path, int want_ndim)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    struct stat st;
    if (stat(path, &st) != 0) return ig_error(IG_ERR_IO, "idx: cannot open %s: %s", path, strerror(errno));
    f->gz = gzopen(path, "rb");
    if (!f->gz) return ig_error(IG_ERR_IO, "idx: cannot open %s: %s", path, strerror(errno));
    uint8_t magic[4];
    enum ig_status s = idx_read_exact(f, magic, 4, 0, "the magic number");
    if (s != IG_OK) goto fail;
    if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != want_ndim) {
        s = ig_error(IG_ERR_FORMAT,
                     "idx: %s: bad magic number %02x%02x%02x%02x, expected 000008%02x (u8 data, %d dimension%s)",
                     path, magic[0], magic[1], magic[2], magic[3], want_ndim, want_ndim, want_ndim > 1 ? "s" : "");
        goto fail;
    }
    f->ndim = want_ndim;
    for (int d = 0; d < want_ndim; d++) {
        uint8_t b[4];
        s = idx_read_exact(f, b, 4, 4 + 4 * d, "the header");
        if (s != IG_OK) goto fail;
        f->dims[d] = ((int64_t)b[0] << 24) | ((int64_t)b[1] << 16) | ((int64_t)b[2] << 8) | b[3];
        if (f->dims[d] == 0 || (d > 0 && f->dims[d] > IDX_MAX_SIDE)) {
            s = ig_error(IG_ERR_FORMAT, "idx: %s: dimension %d has size %lld (expected 1..%d)", path, d,
                         (long long)f->dims[d], d > 0 ? IDX_MAX_SIDE : 0x7fffffff);
            goto fail;
        }
    }
    int64_t need = 4 + 4 * want_ndim + f->dims[0] * (want_ndim > 1 ? f->dims[1] * f->dims[2] : 1);
    s = idx_check_size(f, (int64_t)st.st_size, need);
    if (s == IG_OK) return IG_OK;
fail:
    gzclose(f->gz);
    f->gz = NULL;
    return s;
}

enum ig_status ig_idx_read_pair(struct ig_dataset *out, const char *images_path, const char *labels_path,
                                int num_classes, int64_t max_n)
{
    if (!out || !images_path || !labels_path || num_classes < 1 || num_classes > IG_DATA_MAX_CLASSES)
        return ig_error(IG_ERR_INVALID_ARG, "idx: bad arguments");
    memset(out, 0, sizeof *out);
    struct idx_file fi, fl;
    IG_TRY(idx_open(&fi, images_path, 3));
    enum ig_status s = idx_open(&fl, labels_path, 1);
    if (s != IG_OK) {
        gzclose(fi.gz);
        return s;
    }
    if (fi.dims[0] != fl.dims[0]) {
        s = ig_error(IG_ERR_FORMAT, "idx: %s holds %lld images but %s holds %lld labels", images_path,
                     (long long)fi.dims[0], labels_path, (long long)fl.dims[0]);
        goto done;
    }
    int64_t n = fi.dims[0];
    if (max_n > 0 && max_n < n) n = max_n;
    int64_t img = fi.dims[1] * fi.dims[2];
    s = ig_data_dataset_alloc(out, n, 1, (int)fi.dims[1], (int)fi.dims[2]);
    if (s != IG_OK) goto done;
    s = idx_read_exact(&fi, out->images, (size_t)(n * img), 16, "the image data");
    if (s != IG_OK) goto done;
    uint8_t buf[4096];
    for (int64_t r0 = 0; r0 < n && s == IG_OK; r0 += (int64_t)sizeof buf) {
        int64_t cnt = n - r0 < (int64_t)sizeof buf ? n - r0 : (int64_t)sizeof buf;
        s = idx_read_exact(&fl, buf, (size_t)cnt, 8 + r0, "the label data");
        for (int64_t i = 0; i < cnt && s == IG_OK; i++) {
            if (buf[i] >= num_classes)
                s = ig_error(IG_ERR_FORMAT, "idx: %s: record %lld (byte offset %lld): label %d is not in 0..%d",
                             labels_path, (long long)(r0 + i), (long long)(8 + r0 + i), buf[i], num_classes - 1);
            else
                out->labels[r0 + i] = buf[i];
        }
    }
    if (s != IG_OK) goto done;
    if (n == fi.dims[0]) {
        /* whole files read: they must end here */
        uint8_t extra;
        if (gzread(fi.gz, &extra, 1) > 0) {
            s = ig_error(IG_ERR_FORMAT, "idx: %s: trailing data after %lld images", images_path, (long long)n);
            goto done;
        }
        if (gzread(fl.gz, &extra, 1) > 0) {
            s = ig_error(IG_ERR_FORMAT, "idx: %s: trailing data after %lld labels", labels_path, (long long)n);
            goto done;
        }
    }
    out->num_classes = num_classes;
    for (int c = 0; c < num_classes; c++) snprintf(out->class_names[c], IG_DATA_NAME_LEN, "%d", c);
done:
    gzclose(fi.gz);
    gzclose(fl.gz);
    if (s != IG_OK) ig_dataset_free(out);
    return s;
}

/* "<dir>/<stem>.gz" if it exists, else "<dir>/<stem>". */
static void idx_path(char *dst, size_t cap, const char *dir, const char *stem)
{
    struct stat st;
    snprintf(dst, cap, "%s/%s.gz", dir, stem);
    if (stat(dst, &st) == 0) return;
    snprintf(dst, cap, "%s/%s", dir, stem);
}

enum ig_status ig_fmnist_load(struct ig_dataset *out, const char *dir, enum ig_data_split split, int64_t max_n)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "fmnist: NULL argument");
    if (split != IG_DATA_TRAIN && split != IG_DATA_TEST)
        return ig_error(IG_ERR_INVALID_ARG, "fmnist: unknown split %d", (int)split);
    if (!dir) dir = IG_FMNIST_DEFAULT_DIR;
    const char *prefix = split == IG_DATA_TRAIN ? "train" : "t10k";
    char stem[64], img[4200], lab[4200];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    idx_path(img, sizeof img, dir, stem);
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    idx_path(lab, sizeof lab, dir, stem);
    IG_TRY(ig_idx_read_pair(out, img, lab, 10, max_n));
    for (int c = 0; c < 10; c++) snprintf(out->class_names[c], IG_DATA_NAME_LEN, "%s", fmnist_names[c]);
    return IG_OK;
}
