/* CIFAR-10 binary reader: validates sizes and labels per file and record, loads train/test splits or their first N records. */
#include "ig_data_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_PIXELS 3072
#define CIFAR_CLASSES 10
#define CIFAR_CHUNK 1024 /* records per fread */

static const char *const cifar_default_names[CIFAR_CLASSES] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
};

static void set_default_names(struct ig_dataset *ds)
{
    ds->num_classes = CIFAR_CLASSES;
    for (int c = 0; c < CIFAR_CLASSES; c++)
        snprintf(ds->class_names[c], IG_DATA_NAME_LEN, "%s", cifar_default_names[c]);
}

/* Records in path after checking its size; *records = whole-file count. */
static enum ig_status cifar_file_records(const char *path, int64_t *records)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return ig_error(IG_ERR_IO, "cifar10: cannot open %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ig_error(IG_ERR_IO, "cifar10: %s is not a regular file", path);
    int64_t size = (int64_t)st.st_size;
    if (size == 0)
        return ig_error(IG_ERR_FORMAT, "cifar10: %s is empty (expected records of %d bytes)", path,
                        IG_CIFAR10_RECORD);
    if (size % IG_CIFAR10_RECORD != 0)
        return ig_error(IG_ERR_FORMAT,
                        "cifar10: %s: size %lld is not a multiple of %d bytes: record %lld (byte offset %lld) "
                        "is truncated (%lld of %d bytes)",
                        path, (long long)size, IG_CIFAR10_RECORD, (long long)(size / IG_CIFAR10_RECORD),
                        (long long)(size / IG_CIFAR10_RECORD * IG_CIFAR10_RECORD),
                        (long long)(size % IG_CIFAR10_RECORD), IG_CIFAR10_RECORD);
    *records = size / IG_CIFAR10_RECORD;
    return IG_OK;
}

/* Read the first n records of path into images [n,3072] and labels [n], checking labels. */
static enum ig_status cifar_read_records(const char *path, int64_t n, uint8_t *images, int32_t *labels)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ig_error(IG_ERR_IO, "cifar10: cannot open %s: %s", path, strerror(errno));
    uint8_t *buf = malloc((size_t)CIFAR_CHUNK * IG_CIFAR10_RECORD);
    if (!buf) {
        fclose(f);
        return ig_error(IG_ERR_OOM, "cifar10: out of memory reading %s", path);
    }
    enum ig_status s = IG_OK;
    for (int64_t r0 = 0; r0 < n && s == IG_OK; r0 += CIFAR_CHUNK) {
        int64_t cnt = n - r0 < CIFAR_CHUNK ? n - r0 : CIFAR_CHUNK;
        size_t got = fread(buf, IG_CIFAR10_RECORD, (size_t)cnt, f);
        if ((int64_t)got != cnt) {
            /* the file shrank after stat, or a read error */
            s = ig_error(ferror(f) ? IG_ERR_IO : IG_ERR_FORMAT,
                         "cifar10: %s: record %lld (byte offset %lld) could not be read%s", path,
                         (long long)(r0 + (int64_t)got), (long long)((r0 + (int64_t)got) * IG_CIFAR10_RECORD),
                         ferror(f) ? ": read error" : ": unexpected end of file");
            break;
        }
        for (int64_t i = 0; i < cnt; i++) {
            const uint8_t *rec = buf + i * IG_CIFAR10_RECORD;
            int64_t r = r0 + i;
            if (rec[0] >= CIFAR_CLASSES) {
                s = ig_error(IG_ERR_FORMAT, "cifar10: %s: record %lld (byte offset %lld): label %d is not in 0..9",
                             path, (long long)r, (long long)(r * IG_CIFAR10_RECORD), rec[0]);
                break;
            }
            labels[r] = rec[0];
            memcpy(images + r * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
        }
    }
    free(buf);
    fclose(f);
    return s;
}

/* Load the given files in order, up to max_n records in total. */
static enum ig_status cifar_load_files(struct ig_dataset *out, const char *const *paths, int nfiles, int64_t max_n)
{
    int64_t counts[8] = {0};
    int64_t total = 0;
    int used = 0;
    for (int i = 0; i < nfiles; i++) {
        if (max_n > 0 && total >= max_n) break;
        int64_t recs = 0;
        IG_TRY(cifar_file_records(paths[i], &recs));
        if (max_n > 0 && total + recs > max_n) recs = max_n - total;
        counts[i] = recs;
        total += recs;
        used = i + 1;
    }
    IG_TRY(ig_data_dataset_alloc(out, total, 3, 32, 32));
    int64_t at = 0;
    for (int i = 0; i < used; i++) {
        enum ig_status s = cifar_read_records(paths[i], counts[i], out->images + at * CIFAR_PIXELS, out->labels + at);
        if (s != IG_OK) {
            ig_dataset_free(out);
            return s;
        }
        at += counts[i];
    }
    set_default_names(out);
    return IG_OK;
}

enum ig_status ig_cifar10_read_file(struct ig_dataset *out, const char *path, int64_t max_n)
{
    if (!out || !path) return ig_error(IG_ERR_INVALID_ARG, "cifar10: NULL argument");
    memset(out, 0, sizeof *out);
    const char *paths[1] = {path};
    return cifar_load_files(out, paths, 1, max_n);
}

enum ig_status ig_cifar10_read_classes(struct ig_dataset *ds, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return ig_error(IG_ERR_IO, "cifar10: cannot open %s: %s", path, strerror(errno));
    char line[256];
    int n = 0, lineno = 0;
    char names[IG_DATA_MAX_CLASSES][IG_DATA_NAME_LEN];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (len == 0) continue;
        if (len >= IG_DATA_NAME_LEN || n >= IG_DATA_MAX_CLASSES) {
            fclose(f);
            return ig_error(IG_ERR_FORMAT, "cifar10: %s line %d: %s", path, lineno,
                            n >= IG_DATA_MAX_CLASSES ? "more than 16 class names" : "class name too long");
        }
        memcpy(names[n++], line, len + 1);
    }
    fclose(f);
    if (n == 0) return ig_error(IG_ERR_FORMAT, "cifar10: %s holds no class names", path);
    memcpy(ds->class_names, names, sizeof names);
    ds->num_classes = n;
    return IG_OK;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

enum ig_status ig_cifar10_load(struct ig_dataset *out, const char *dir, enum ig_data_split split, int64_t max_n)
{
    if (!out || !dir) return ig_error(IG_ERR_INVALID_ARG, "cifar10: NULL argument");
    memset(out, 0, sizeof *out);
    char base[4096];
    snprintf(base, sizeof base, "%s/cifar-10-batches-bin", dir);
    if (!is_dir(base)) snprintf(base, sizeof base, "%s", dir);
    if (!is_dir(base)) return ig_error(IG_ERR_IO, "cifar10: %s is not a directory", dir);

    char files[6][4200];
    const char *paths[6];
    int nfiles = 0;
    if (split == IG_DATA_TRAIN) {
        for (int i = 0; i < 5; i++) snprintf(files[nfiles++], sizeof files[0], "%s/data_batch_%d.bin", base, i + 1);
    } else if (split == IG_DATA_TEST) {
        snprintf(files[nfiles++], sizeof files[0], "%s/test_batch.bin", base);
    } else {
        return ig_error(IG_ERR_INVALID_ARG, "cifar10: unknown split %d", (int)split);
    }
    for (int i = 0; i < nfiles; i++) paths[i] = files[i];
    IG_TRY(cifar_load_files(out, paths, nfiles, max_n));

    char meta[4200];
    snprintf(meta, sizeof meta, "%s/batches.meta.txt", base);
    struct stat st;
    if (stat(meta, &st) == 0) {
        enum ig_status s = ig_cifar10_read_classes(out, meta);
        if (s == IG_OK && out->num_classes != CIFAR_CLASSES)
            s = ig_error(IG_ERR_FORMAT, "cifar10: %s holds %d class names, expected 10", meta, out->num_classes);
        if (s != IG_OK) {
            ig_dataset_free(out);
            return s;
        }
    }
    return IG_OK;
}
