/* ig_npy: NumPy .npy reading (header dict parsing, size checks) and atomic writing for 1-D/2-D arrays. */
#include "ig_npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_util.h"

#define IG_NPY_MAGIC "\x93NUMPY"
#define IG_NPY_MAX_HEADER 65536

static const char *const ig_npy_descr[] = {"|u1", "<i4", "<i8", "<f4", "<f8"};
static const char *const ig_npy_names[] = {"uint8", "int32", "int64", "float32", "float64"};
static const size_t ig_npy_sizes[] = {1, 4, 8, 4, 8};

size_t ig_npy_itemsize(enum ig_npy_dtype dt) { return dt <= IG_NPY_F64 ? ig_npy_sizes[dt] : 0; }
const char *ig_npy_dtype_name(enum ig_npy_dtype dt) { return dt <= IG_NPY_F64 ? ig_npy_names[dt] : "?"; }

/* The value text after 'key': in the header dict (NULL if absent). */
static const char *ig_npy_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (isspace((unsigned char)*p)) p++;
    if (*p != ':') return NULL;
    p++;
    while (isspace((unsigned char)*p)) p++;
    return p;
}

static enum ig_status ig_npy_parse_descr(const char *path, const char *hdr, enum ig_npy_dtype *dt)
{
    const char *v = ig_npy_value(hdr, "descr");
    if (!v || *v != '\'') return ig_error(IG_ERR_FORMAT, "%s: .npy header has no 'descr' string", path);
    const char *end = strchr(v + 1, '\'');
    size_t len = end ? (size_t)(end - v - 1) : 0;
    for (int k = 0; k <= IG_NPY_F64; k++) {
        const char *d = ig_npy_descr[k];
        /* uint8 may be written '|u1' or '<u1' */
        if (len == 3 && (!strncmp(v + 1, d, 3) || (k == IG_NPY_U8 && !strncmp(v + 1, "<u1", 3)))) {
            *dt = (enum ig_npy_dtype)k;
            return IG_OK;
        }
    }
    return ig_error(IG_ERR_FORMAT, "%s: dtype '%.*s' is not supported (expected little-endian uint8, int32, "
                    "int64, float32 or float64)", path, (int)(len < 16 ? len : 16), v + 1);
}

static enum ig_status ig_npy_parse_shape(const char *path, const char *hdr, struct ig_npy *a)
{
    const char *v = ig_npy_value(hdr, "shape");
    if (!v || *v != '(') return ig_error(IG_ERR_FORMAT, "%s: .npy header has no 'shape' tuple", path);
    v++;
    a->ndim = 0;
    a->shape[0] = a->shape[1] = 1;
    for (;;) {
        while (isspace((unsigned char)*v)) v++;
        if (*v == ')') break;
        if (!isdigit((unsigned char)*v)) return ig_error(IG_ERR_FORMAT, "%s: bad 'shape' in the .npy header", path);
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || x < 0 || x > ((int64_t)1 << 40))
            return ig_error(IG_ERR_FORMAT, "%s: dimension %.20s in the .npy header is out of range", path, v);
        if (a->ndim == 2) return ig_error(IG_ERR_FORMAT, "%s: array has more than 2 dimensions (expected 1-D or 2-D)", path);
        a->shape[a->ndim++] = x;
        v = end;
        while (isspace((unsigned char)*v)) v++;
        if (*v == ',') v++;
    }
    if (a->ndim == 0) return ig_error(IG_ERR_FORMAT, "%s: array is 0-dimensional (expected 1-D or 2-D)", path);
    return IG_OK;
}

/* Parses the header dict into a (dtype, ndim, shape, count). */
static enum ig_status ig_npy_parse_header(const char *path, const char *hdr, struct ig_npy *a)
{
    IG_TRY(ig_npy_parse_descr(path, hdr, &a->dtype));
    const char *fo = ig_npy_value(hdr, "fortran_order");
    if (!fo || (strncmp(fo, "False", 5) && strncmp(fo, "True", 4)))
        return ig_error(IG_ERR_FORMAT, "%s: .npy header has no 'fortran_order'", path);
    if (!strncmp(fo, "True", 4))
        return ig_error(IG_ERR_FORMAT, "%s: array is in Fortran order (expected C order: save np.ascontiguousarray)", path);
    IG_TRY(ig_npy_parse_shape(path, hdr, a));
    uint64_t n = (uint64_t)a->shape[0] * (uint64_t)a->shape[1];
    if (a->shape[1] != 0 && n / (uint64_t)a->shape[1] != (uint64_t)a->shape[0])
        return ig_error(IG_ERR_FORMAT, "%s: shape is too large", path);
    a->count = (size_t)n;
    return IG_OK;
}

/* Magic, version and header text; *data_off: where the data starts. hdr: [IG_NPY_MAX_HEADER + 1]. */
static enum ig_status ig_npy_read_header(const char *path, FILE *f, char *hdr, long *data_off)
{
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, IG_NPY_MAGIC, 6))
        return ig_error(IG_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", path);
    uint32_t hlen;
    long off;
    if (pre[6] == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
        off = 10;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) return ig_error(IG_ERR_FORMAT, "%s: truncated .npy header", path);
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        off = 12;
    } else {
        return ig_error(IG_ERR_FORMAT, "%s: .npy version %d.%d is not supported (expected 1.0-3.0)", path, pre[6], pre[7]);
    }
    if (hlen > IG_NPY_MAX_HEADER) return ig_error(IG_ERR_FORMAT, "%s: .npy header of %u bytes is too long", path, hlen);
    if (fread(hdr, 1, hlen, f) != hlen) return ig_error(IG_ERR_FORMAT, "%s: truncated .npy header", path);
    hdr[hlen] = '\0';
    if (strlen(hdr) != hlen || hdr[0] != '{')
        return ig_error(IG_ERR_FORMAT, "%s: .npy header is not a dict literal", path);
    *data_off = off + (long)hlen;
    return IG_OK;
}

static enum ig_status ig_npy_read_file(const char *path, FILE *f, struct ig_npy *out)
{
    char *hdr = malloc(IG_NPY_MAX_HEADER + 1);
    if (!hdr) return ig_error(IG_ERR_OOM, "%s: out of memory", path);
    long off = 0;
    enum ig_status s = ig_npy_read_header(path, f, hdr, &off);
    if (s == IG_OK) s = ig_npy_parse_header(path, hdr, out);
    free(hdr);
    if (s != IG_OK) return s;
    if (fseek(f, 0, SEEK_END) != 0) return ig_error(IG_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    long size = ftell(f);
    size_t isz = ig_npy_itemsize(out->dtype);
    if (out->count > (SIZE_MAX - 64) / isz || size < off || (uint64_t)(size - off) != (uint64_t)out->count * isz)
        return ig_error(IG_ERR_FORMAT, "%s: the header's shape needs %zu data bytes, the file has %ld", path,
                        out->count <= (SIZE_MAX - 64) / isz ? out->count * isz : SIZE_MAX, size < off ? 0L : size - off);
    out->data = malloc(out->count * isz + 1);
    if (!out->data) return ig_error(IG_ERR_OOM, "%s: out of memory for %zu elements", path, out->count);
    if (fseek(f, off, SEEK_SET) != 0 || fread(out->data, isz, out->count, f) != out->count)
        return ig_error(IG_ERR_IO, "%s: cannot read the data", path);
    return IG_OK;
}

enum ig_status ig_npy_read(const char *path, struct ig_npy *out)
{
    if (!path || !out) return ig_error(IG_ERR_INVALID_ARG, "npy: NULL path or output");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return ig_error(IG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    enum ig_status s = ig_npy_read_file(path, f, out);
    fclose(f);
    if (s != IG_OK) ig_npy_free(out);
    return s;
}

void ig_npy_free(struct ig_npy *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

enum ig_status ig_npy_write(const char *path, enum ig_npy_dtype dt, int ndim, const int64_t *shape,
                            const void *data)
{
    if (!path || !shape || (ndim != 1 && ndim != 2) || dt > IG_NPY_F64 || shape[0] < 0 ||
        (ndim == 2 && shape[1] < 0))
        return ig_error(IG_ERR_INVALID_ARG, "npy: write %s: bad dtype, ndim or shape", path ? path : "(null)");
    size_t count = (size_t)shape[0] * (ndim == 2 ? (size_t)shape[1] : 1);
    if (count && !data) return ig_error(IG_ERR_INVALID_ARG, "npy: write %s: no data", path);
    char dict[160];
    int n = ndim == 1 ? snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }",
                                 ig_npy_descr[dt], (long long)shape[0])
                      : snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                                 ig_npy_descr[dt], (long long)shape[0], (long long)shape[1]);
    size_t total = ((size_t)(10 + n + 1) + 63) / 64 * 64; /* magic + header + '\n', padded to 64 */
    char head[256];
    memcpy(head, IG_NPY_MAGIC "\x01\x00", 8);
    size_t hlen = total - 10;
    head[8] = (char)(hlen & 0xff);
    head[9] = (char)(hlen >> 8);
    memset(head + 10, ' ', hlen);
    memcpy(head + 10, dict, (size_t)n);
    head[total - 1] = '\n';
    struct ig_atomic_file af;
    IG_TRY(ig_atomic_open(&af, path));
    size_t isz = ig_npy_itemsize(dt);
    if (fwrite(head, 1, total, af.fp) != total || (count && fwrite(data, isz, count, af.fp) != count)) {
        ig_atomic_abort(&af);
        return ig_error(IG_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return ig_atomic_commit(&af);
}
