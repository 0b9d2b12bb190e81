/* ig_csv: numeric CSV reading (header detection, strict numbers, equal row lengths) and atomic writing. */
#include "ig_csv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_util.h"

/* Whole field [s, e) (spaces trimmed) as a finite float; returns 0 on success. */
static int ig_csv_number(const char *s, const char *e, float *v)
{
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    if (s == e || e - s > 63) return -1;
    char buf[64];
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = '\0';
    char *end;
    errno = 0;
    float x = strtof(buf, &end);
    if (*end || errno == ERANGE || !isfinite(x)) return -1;
    *v = x;
    return 0;
}

struct ig_csv_buf {
    float *x;
    size_t n, cap;
};

static int ig_csv_push(struct ig_csv_buf *b, float v)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        float *x = realloc(b->x, cap * sizeof *x);
        if (!x) return -1;
        b->x = x;
        b->cap = cap;
    }
    b->x[b->n++] = v;
    return 0;
}

/* One line [s, e): appends its fields; returns the field count, -1 (bad field *bad_field) or -2 (memory). */
static int64_t ig_csv_line(const char *s, const char *e, struct ig_csv_buf *b, int64_t *bad_field)
{
    int64_t k = 0;
    for (;;) {
        const char *c = memchr(s, ',', (size_t)(e - s));
        const char *fe = c ? c : e;
        float v;
        if (ig_csv_number(s, fe, &v)) {
            *bad_field = k + 1;
            return -1;
        }
        if (ig_csv_push(b, v)) return -2;
        k++;
        if (!c) return k;
        s = c + 1;
    }
}

static enum ig_status ig_csv_parse(const char *path, const char *text, size_t len, struct ig_csv_buf *b,
                                   int64_t *rows, int64_t *cols)
{
    const char *p = text, *end = text + len;
    int64_t line = 0, nrow = 0, ncol = -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < le) {
            size_t mark = b->n;
            int64_t bad = 0, k = ig_csv_line(p, le, b, &bad);
            if (k == -2) return ig_error(IG_ERR_OOM, "%s: out of memory", path);
            if (k == -1 && nrow == 0 && line == 1) { /* a header */
                b->n = mark;
            } else if (k == -1) {
                return ig_error(IG_ERR_FORMAT, "%s:%lld: field %lld is not a finite number", path, (long long)line,
                                (long long)bad);
            } else if (ncol >= 0 && k != ncol) {
                return ig_error(IG_ERR_FORMAT, "%s:%lld: expected %lld fields (as on the first row), got %lld", path,
                                (long long)line, (long long)ncol, (long long)k);
            } else {
                ncol = k;
                nrow++;
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (nrow == 0) return ig_error(IG_ERR_FORMAT, "%s: no rows of numbers", path);
    *rows = nrow;
    *cols = ncol;
    return IG_OK;
}

enum ig_status ig_csv_read_f32(const char *path, float **x, int64_t *rows, int64_t *cols)
{
    *x = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ig_error(IG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    char chunk[65536];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got > cap) {
            cap = (len + got) * 2;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                return ig_error(IG_ERR_OOM, "%s: out of memory", path);
            }
            text = t;
        }
        memcpy(text + len, chunk, got);
        len += got;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(text);
        return ig_error(IG_ERR_IO, "%s: read error", path);
    }
    struct ig_csv_buf b = {0};
    enum ig_status s = ig_csv_parse(path, text ? text : "", len, &b, rows, cols);
    free(text);
    if (s != IG_OK) {
        free(b.x);
        return s;
    }
    *x = b.x;
    return IG_OK;
}

enum ig_status ig_csv_write_f32(const char *path, const float *x, int64_t rows, int64_t cols)
{
    struct ig_atomic_file af;
    IG_TRY(ig_atomic_open(&af, path));
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            fprintf(af.fp, "%.9g%c", (double)x[i * cols + j], j + 1 == cols ? '\n' : ',');
    return ig_atomic_commit(&af);
}
