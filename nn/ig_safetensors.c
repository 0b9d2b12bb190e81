/* safetensors writer (through the atomic file writer of ig_util.h) and validating reader, JSON header via jansson. */
#include "ig_safetensors.h"
#include "ig_util.h"
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; add byte swapping");

static const struct {
    const char *name;
    size_t size;
} st_dtypes[IG_ST_DTYPE_COUNT] = {
    [IG_ST_F32] = {"F32", 4},  [IG_ST_I32] = {"I32", 4},   [IG_ST_U8] = {"U8", 1},
    [IG_ST_I64] = {"I64", 8},  [IG_ST_F64] = {"F64", 8},   [IG_ST_F16] = {"F16", 2},
    [IG_ST_BF16] = {"BF16", 2}, [IG_ST_I16] = {"I16", 2},  [IG_ST_I8] = {"I8", 1},
    [IG_ST_U16] = {"U16", 2},  [IG_ST_U32] = {"U32", 4},   [IG_ST_U64] = {"U64", 8},
    [IG_ST_BOOL] = {"BOOL", 1}, [IG_ST_F8_E4M3] = {"F8_E4M3", 1}, [IG_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *ig_st_dtype_name(enum ig_st_dtype dt)
{
    return (unsigned)dt < IG_ST_DTYPE_COUNT ? st_dtypes[dt].name : "?";
}

size_t ig_st_dtype_size(enum ig_st_dtype dt)
{
    return (unsigned)dt < IG_ST_DTYPE_COUNT ? st_dtypes[dt].size : 0;
}

static int st_dtype_parse(const char *s)
{
    for (int i = 0; i < IG_ST_DTYPE_COUNT; i++)
        if (strcmp(s, st_dtypes[i].name) == 0) return i;
    return -1;
}

static enum ig_st_dtype st_from_tensor_dtype(enum ig_dtype dt)
{
    switch (dt) {
    case IG_DTYPE_F32: return IG_ST_F32;
    case IG_DTYPE_I32: return IG_ST_I32;
    case IG_DTYPE_U8: return IG_ST_U8;
    default: return IG_ST_DTYPE_COUNT;
    }
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && at < cap; d++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", d ? "," : "", (long long)shape[d]);
    if (at < cap) snprintf(buf + at, cap - at, "]");
}

/* ================================================================ writer */

struct st_item {
    char *name;
    enum ig_st_dtype dtype;
    int ndim;
    int64_t shape[IG_ST_MAX_DIMS];
    void *data;
    size_t bytes;
};

struct st_meta {
    char *key, *value;
};

struct ig_safetensors_writer {
    struct st_item *items;
    int n_items, cap_items;
    struct st_meta *meta;
    int n_meta, cap_meta;
};

struct ig_safetensors_writer *ig_safetensors_writer_new(void)
{
    struct ig_safetensors_writer *w = calloc(1, sizeof *w);
    if (!w) ig_error(IG_ERR_OOM, "safetensors: out of memory");
    return w;
}

void ig_safetensors_writer_free(struct ig_safetensors_writer *w)
{
    if (!w) return;
    for (int i = 0; i < w->n_items; i++) {
        free(w->items[i].name);
        free(w->items[i].data);
    }
    for (int i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->items);
    free(w->meta);
    free(w);
}

static enum ig_status writer_check_name(const struct ig_safetensors_writer *w, const char *name)
{
    if (!name || !*name) return ig_error(IG_ERR_INVALID_ARG, "safetensors: empty tensor name");
    if (strcmp(name, "__metadata__") == 0)
        return ig_error(IG_ERR_INVALID_ARG, "safetensors: \"__metadata__\" is reserved, not a tensor name");
    for (int i = 0; i < w->n_items; i++)
        if (strcmp(w->items[i].name, name) == 0)
            return ig_error(IG_ERR_INVALID_ARG, "safetensors: tensor '%s' added twice", name);
    return IG_OK;
}

/* Room for one more of the n elements (size bytes each) of arr, capacity *cap (doubled when full; first when
 * empty): the array to use from now on, or NULL when out of memory (arr is then still valid). */
static void *reserve_one(void *arr, int n, int *cap, int first, size_t size)
{
    if (n < *cap) return arr;
    int c = *cap ? 2 * *cap : first;
    void *p = realloc(arr, (size_t)c * size);
    if (p) *cap = c;
    return p;
}

/* Append an item that takes ownership of data. */
static enum ig_status writer_push(struct ig_safetensors_writer *w, const char *name, enum ig_st_dtype dt, int ndim,
                                  const int64_t *shape, void *data, size_t bytes)
{
    struct st_item *p = reserve_one(w->items, w->n_items, &w->cap_items, 16, sizeof *p);
    if (!p) {
        free(data);
        return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    }
    w->items = p;
    struct st_item *it = &w->items[w->n_items];
    memset(it, 0, sizeof *it);
    it->name = strdup(name);
    if (!it->name) {
        free(data);
        return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    }
    it->dtype = dt;
    it->ndim = ndim;
    for (int d = 0; d < ndim; d++) it->shape[d] = shape[d];
    it->data = data;
    it->bytes = bytes;
    w->n_items++;
    return IG_OK;
}

enum ig_status ig_safetensors_writer_add_as(struct ig_safetensors_writer *w, const char *name,
                                            const struct ig_tensor *t, enum ig_st_dtype file_dtype)
{
    if (!w || !t) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL argument");
    IG_TRY(writer_check_name(w, name));
    enum ig_st_dtype own = st_from_tensor_dtype(t->dtype);
    if (own == IG_ST_DTYPE_COUNT)
        return ig_error(IG_ERR_DTYPE, "safetensors: tensor '%s' has unsupported dtype %s", name, ig_dtype_name(t->dtype));
    if (file_dtype != own && !(own == IG_ST_I32 && file_dtype == IG_ST_I64))
        return ig_error(IG_ERR_DTYPE, "safetensors: tensor '%s' is %s and cannot be stored as %s", name,
                        ig_dtype_name(t->dtype), ig_st_dtype_name(file_dtype));
    size_t nb = ig_tensor_nbytes(t);
    size_t numel = (size_t)ig_tensor_numel(t);
    size_t out_bytes = numel * ig_st_dtype_size(file_dtype);
    void *data = malloc(out_bytes ? out_bytes : 1);
    void *tmp = file_dtype == own ? data : malloc(nb ? nb : 1);
    if (!data || !tmp) {
        free(data);
        if (tmp != data) free(tmp);
        return ig_error(IG_ERR_OOM, "safetensors: out of memory copying tensor '%s'", name);
    }
    enum ig_status s = nb ? ig_tensor_to_host(t, tmp, nb) : IG_OK;
    if (s == IG_OK && tmp != data) {
        const int32_t *src = tmp;
        int64_t *dst = data;
        for (size_t i = 0; i < numel; i++) dst[i] = src[i];
    }
    if (tmp != data) free(tmp);
    if (s != IG_OK) {
        free(data);
        return ig_error_prefix(s, "safetensors: tensor '%s': ", name);
    }
    return writer_push(w, name, file_dtype, t->ndim, t->shape, data, out_bytes);
}

enum ig_status ig_safetensors_writer_add(struct ig_safetensors_writer *w, const char *name, const struct ig_tensor *t)
{
    if (!t) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL tensor for '%s'", name ? name : "?");
    return ig_safetensors_writer_add_as(w, name, t, st_from_tensor_dtype(t->dtype));
}

enum ig_status ig_safetensors_writer_add_host(struct ig_safetensors_writer *w, const char *name, enum ig_st_dtype dt,
                                              int ndim, const int64_t *shape, const void *data)
{
    if (!w || (ndim > 0 && !shape)) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL argument");
    IG_TRY(writer_check_name(w, name));
    if ((unsigned)dt >= IG_ST_DTYPE_COUNT) return ig_error(IG_ERR_INVALID_ARG, "safetensors: bad dtype for '%s'", name);
    if (ndim < 0 || ndim > IG_ST_MAX_DIMS)
        return ig_error(IG_ERR_INVALID_ARG, "safetensors: tensor '%s' has %d dimensions", name, ndim);
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return ig_error(IG_ERR_INVALID_ARG, "safetensors: tensor '%s' has a negative size", name);
        numel *= (size_t)shape[d];
    }
    size_t bytes = numel * ig_st_dtype_size(dt);
    if (bytes && !data) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL data for '%s'", name);
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy) return ig_error(IG_ERR_OOM, "safetensors: out of memory copying '%s'", name);
    if (bytes) memcpy(copy, data, bytes);
    return writer_push(w, name, dt, ndim, shape, copy, bytes);
}

enum ig_status ig_safetensors_writer_set_meta(struct ig_safetensors_writer *w, const char *key, const char *value)
{
    if (!w || !key || !value) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL metadata argument");
    char *v = strdup(value);
    if (!v) return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[i].key, key) == 0) {
            free(w->meta[i].value);
            w->meta[i].value = v;
            return IG_OK;
        }
    struct st_meta *p = reserve_one(w->meta, w->n_meta, &w->cap_meta, 8, sizeof *p);
    if (!p) {
        free(v);
        return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    }
    w->meta = p;
    w->meta[w->n_meta].key = strdup(key);
    if (!w->meta[w->n_meta].key) {
        free(v);
        return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    }
    w->meta[w->n_meta].value = v;
    w->n_meta++;
    return IG_OK;
}

/* The JSON header, space-padded to a multiple of 8 bytes; *len excludes the NUL. */
static enum ig_status writer_header(const struct ig_safetensors_writer *w, char **out, size_t *len)
{
    json_t *root = json_object();
    if (!root) return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    enum ig_status s = IG_OK;
    if (w->n_meta) {
        json_t *m = json_object();
        if (!m || json_object_set_new(root, "__metadata__", m) != 0) s = ig_error(IG_ERR_OOM, "safetensors: json");
        for (int i = 0; s == IG_OK && i < w->n_meta; i++)
            if (json_object_set_new(m, w->meta[i].key, json_string(w->meta[i].value)) != 0)
                s = ig_error(IG_ERR_INVALID_ARG, "safetensors: metadata '%s' is not valid UTF-8", w->meta[i].key);
    }
    uint64_t off = 0;
    for (int i = 0; s == IG_OK && i < w->n_items; i++) {
        const struct st_item *it = &w->items[i];
        json_t *shape = json_array();
        for (int d = 0; shape && d < it->ndim; d++) json_array_append_new(shape, json_integer(it->shape[d]));
        json_t *e = json_pack("{s:s, s:o, s:[I,I]}", "dtype", ig_st_dtype_name(it->dtype), "shape", shape,
                              "data_offsets", (json_int_t)off, (json_int_t)(off + it->bytes));
        if (!e || json_object_set_new(root, it->name, e) != 0)
            s = ig_error(IG_ERR_INVALID_ARG, "safetensors: cannot encode tensor '%s' (name not UTF-8?)", it->name);
        off += it->bytes;
    }
    char *txt = s == IG_OK ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (s != IG_OK) return s;
    if (!txt) return ig_error(IG_ERR_OOM, "safetensors: cannot format the header");
    size_t n = strlen(txt), padded = (n + 7) & ~(size_t)7;
    char *buf = realloc(txt, padded + 1);
    if (!buf) {
        free(txt);
        return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    }
    memset(buf + n, ' ', padded - n);
    buf[padded] = '\0';
    *out = buf;
    *len = padded;
    return IG_OK;
}

enum ig_status ig_safetensors_writer_save(const struct ig_safetensors_writer *w, const char *path)
{
    if (!w || !path || !*path) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL argument");
    char *hdr = NULL;
    size_t hlen = 0;
    IG_TRY(writer_header(w, &hdr, &hlen));
    struct ig_atomic_file af;
    enum ig_status s = ig_atomic_open(&af, path);
    if (s != IG_OK) {
        free(hdr);
        return ig_error_prefix(s, "safetensors");
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    bool ok = fwrite(len8, 1, 8, af.fp) == 8 && fwrite(hdr, 1, hlen, af.fp) == hlen;
    for (int i = 0; ok && i < w->n_items; i++)
        ok = fwrite(w->items[i].data, 1, w->items[i].bytes, af.fp) == w->items[i].bytes;
    free(hdr);
    if (!ok) {
        int err = errno;
        ig_atomic_abort(&af);
        return ig_error(IG_ERR_IO, "safetensors: writing %s failed: %s", path, strerror(err));
    }
    s = ig_atomic_commit(&af);
    return s == IG_OK ? IG_OK : ig_error_prefix(s, "safetensors");
}

enum ig_status ig_safetensors_save(const char *path, int n, const char *const *names,
                                   const struct ig_tensor *const *tensors, int n_meta,
                                   const char *const *meta_keys, const char *const *meta_values)
{
    if (n < 0 || n_meta < 0 || (n && (!names || !tensors)) || (n_meta && (!meta_keys || !meta_values)))
        return ig_error(IG_ERR_INVALID_ARG, "safetensors_save: bad arguments");
    struct ig_safetensors_writer *w = ig_safetensors_writer_new();
    if (!w) return IG_ERR_OOM;
    enum ig_status s = IG_OK;
    for (int i = 0; s == IG_OK && i < n; i++) s = ig_safetensors_writer_add(w, names[i], tensors[i]);
    for (int i = 0; s == IG_OK && i < n_meta; i++) s = ig_safetensors_writer_set_meta(w, meta_keys[i], meta_values[i]);
    if (s == IG_OK) s = ig_safetensors_writer_save(w, path);
    ig_safetensors_writer_free(w);
    return s;
}

/* ================================================================ reader */

struct ig_safetensors {
    char *label;           /* file name for messages */
    uint8_t *file;         /* whole file image */
    size_t file_len;
    uint64_t data_start;   /* 8 + header length */
    struct ig_st_entry *entries;
    int n;
    char **meta_keys, **meta_values;
    int n_meta;
};

void ig_safetensors_close(struct ig_safetensors *st)
{
    if (!st) return;
    for (int i = 0; i < st->n; i++) free((char *)st->entries[i].name);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->entries);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->file);
    free(st->label);
    free(st);
}

static int entry_cmp(const void *a, const void *b)
{
    const struct ig_st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Parse one tensor's description into e (name already set). */
static enum ig_status parse_entry(struct ig_safetensors *st, struct ig_st_entry *e, json_t *v, uint64_t data_len)
{
    const char *L = st->label, *name = e->name;
    if (!json_is_object(v))
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': description is not a JSON object", L, name);
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"), *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo))
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': needs string \"dtype\", arrays \"shape\" and "
                        "\"data_offsets\"", L, name);
    int dt = st_dtype_parse(json_string_value(jd));
    if (dt < 0)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': unknown dtype \"%s\"", L, name,
                        json_string_value(jd));
    e->dtype = (enum ig_st_dtype)dt;
    size_t nd = json_array_size(js);
    if (nd > IG_ST_MAX_DIMS)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': %zu dimensions (at most %d)", L, name, nd,
                        IG_ST_MAX_DIMS);
    e->ndim = (int)nd;
    uint64_t numel = 1;
    for (size_t d = 0; d < nd; d++) {
        json_t *x = json_array_get(js, d);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': shape entry %zu is not a non-negative integer",
                            L, name, d);
        e->shape[d] = json_integer_value(x);
        if (e->shape[d] && numel > UINT64_MAX / 16 / (uint64_t)e->shape[d])
            return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': shape too large", L, name);
        numel *= (uint64_t)e->shape[d];
    }
    e->numel = (int64_t)numel;
    if (json_array_size(jo) != 2 || !json_is_integer(json_array_get(jo, 0)) || !json_is_integer(json_array_get(jo, 1)))
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': data_offsets must be two integers", L, name);
    json_int_t b = json_integer_value(json_array_get(jo, 0)), en = json_integer_value(json_array_get(jo, 1));
    if (b < 0 || en < b)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': data_offsets [%lld, %lld] are not an interval",
                        L, name, (long long)b, (long long)en);
    e->begin = (uint64_t)b;
    e->end = (uint64_t)en;
    if (e->end > data_len)
        return ig_error(IG_ERR_FORMAT,
                        "safetensors: %s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data section "
                        "(%llu bytes; file byte offset %llu > file size %zu)",
                        L, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)data_len, (unsigned long long)(st->data_start + e->end), st->file_len);
    uint64_t need = numel * ig_st_dtype_size(e->dtype);
    if (e->end - e->begin != need) {
        char sh[160];
        shape_str(sh, sizeof sh, e->ndim, e->shape);
        return ig_error(IG_ERR_FORMAT,
                        "safetensors: %s: tensor '%s': shape %s %s needs %llu bytes but data_offsets [%llu, %llu] "
                        "span %llu",
                        L, name, sh, ig_st_dtype_name(e->dtype), (unsigned long long)need, (unsigned long long)e->begin,
                        (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
    }
    e->data = st->file + st->data_start + e->begin;
    return IG_OK;
}

static enum ig_status parse_meta(struct ig_safetensors *st, json_t *m)
{
    if (!json_is_object(m))
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: \"__metadata__\" is not a JSON object", st->label);
    size_t n = json_object_size(m);
    st->meta_keys = calloc(n ? n : 1, sizeof(char *));
    st->meta_values = calloc(n ? n : 1, sizeof(char *));
    if (!st->meta_keys || !st->meta_values) return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v))
            return ig_error(IG_ERR_FORMAT, "safetensors: %s: metadata '%s' is not a string", st->label, k);
        st->meta_keys[st->n_meta] = strdup(k);
        st->meta_values[st->n_meta] = strdup(json_string_value(v));
        st->n_meta++;
        if (!st->meta_keys[st->n_meta - 1] || !st->meta_values[st->n_meta - 1])
            return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    }
    return IG_OK;
}

/* Validate st->file (already in memory). */
/* The tensors (sorted here by offset) must tile the data section of data_len bytes exactly: no overlap, no gap,
 * nothing after. */
static enum ig_status check_tiling(struct ig_safetensors *st, uint64_t data_len)
{
    const char *L = st->label;
    qsort(st->entries, (size_t)st->n, sizeof *st->entries, entry_cmp);
    uint64_t at = 0;
    for (int i = 0; i < st->n; i++) {
        const struct ig_st_entry *e = &st->entries[i];
        if (e->begin < at)
            return ig_error(IG_ERR_FORMAT,
                            "safetensors: %s: tensor '%s' (data_offsets [%llu, %llu]) overlaps tensor '%s' at data byte "
                            "%llu (file byte offset %llu)",
                            L, e->name, (unsigned long long)e->begin, (unsigned long long)e->end, st->entries[i - 1].name,
                            (unsigned long long)e->begin, (unsigned long long)(st->data_start + e->begin));
        if (e->begin > at)
            return ig_error(IG_ERR_FORMAT,
                            "safetensors: %s: gap in the data section before tensor '%s': bytes [%llu, %llu) belong to "
                            "no tensor (file byte offset %llu)",
                            L, e->name, (unsigned long long)at, (unsigned long long)e->begin,
                            (unsigned long long)(st->data_start + at));
        at = e->end;
    }
    if (at != data_len)
        return ig_error(IG_ERR_FORMAT,
                        "safetensors: %s: %llu bytes after the last tensor's data (file byte offset %llu of %zu) belong "
                        "to no tensor",
                        L, (unsigned long long)(data_len - at), (unsigned long long)(st->data_start + at), st->file_len);
    return IG_OK;
}

static enum ig_status st_parse(struct ig_safetensors *st)
{
    const char *L = st->label;
    if (st->file_len < 8)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: file is %zu bytes, shorter than the 8-byte header length",
                        L, st->file_len);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)st->file[i] << (8 * i);
    if (hlen < 2 || hlen > IG_ST_MAX_HEADER || hlen > st->file_len - 8)
        return ig_error(IG_ERR_FORMAT,
                        "safetensors: %s: header length %llu at byte offset 0 is invalid (file is %zu bytes, limit %u)",
                        L, (unsigned long long)hlen, st->file_len, IG_ST_MAX_HEADER);
    if (st->file[8] != '{')
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: header does not start with '{' (byte offset 8)", L);
    st->data_start = 8 + hlen;
    uint64_t data_len = st->file_len - st->data_start;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)st->file + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: corrupt JSON header at byte offset %lld: %s", L,
                        (long long)(8 + (jerr.position > 0 ? jerr.position : 0)), jerr.text);
    enum ig_status s = IG_OK;
    if (!json_is_object(root)) {
        s = ig_error(IG_ERR_FORMAT, "safetensors: %s: header is not a JSON object", L);
        goto done;
    }
    size_t cap = json_object_size(root);
    st->entries = calloc(cap ? cap : 1, sizeof *st->entries);
    if (!st->entries) {
        s = ig_error(IG_ERR_OOM, "safetensors: out of memory");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "__metadata__") == 0) {
            s = parse_meta(st, v);
        } else {
            struct ig_st_entry *e = &st->entries[st->n];
            e->name = strdup(key);
            if (!e->name) {
                s = ig_error(IG_ERR_OOM, "safetensors: out of memory");
                break;
            }
            st->n++;
            s = parse_entry(st, e, v, data_len);
        }
        if (s != IG_OK) break;
    }
    if (s != IG_OK) goto done;

    s = check_tiling(st, data_len);
done:
    json_decref(root);
    return s;
}

/* Parses st (its file of len bytes read) into *out; frees st when it does not parse. */
static enum ig_status st_open_finish(struct ig_safetensors *st, size_t len, struct ig_safetensors **out)
{
    st->file_len = len;
    enum ig_status s = st_parse(st);
    if (s != IG_OK) {
        ig_safetensors_close(st);
        return s;
    }
    *out = st;
    return IG_OK;
}

enum ig_status ig_safetensors_open_memory(struct ig_safetensors **out, const void *bytes, size_t len, const char *label)
{
    if (!out || (!bytes && len)) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL argument");
    *out = NULL;
    struct ig_safetensors *st = calloc(1, sizeof *st);
    if (!st) return ig_error(IG_ERR_OOM, "safetensors: out of memory");
    st->label = strdup(label ? label : "<memory>");
    st->file = malloc(len ? len : 1);
    if (!st->label || !st->file) {
        ig_safetensors_close(st);
        return ig_error(IG_ERR_OOM, "safetensors: out of memory (%zu bytes)", len);
    }
    if (len) memcpy(st->file, bytes, len);
    return st_open_finish(st, len, out);
}

enum ig_status ig_safetensors_open(struct ig_safetensors **out, const char *path)
{
    if (!out || !path) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ig_error(IG_ERR_IO, "safetensors: cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return ig_error(IG_ERR_IO, "safetensors: %s is not a regular file", path);
    }
    struct ig_safetensors *st = calloc(1, sizeof *st);
    size_t len = (size_t)sb.st_size;
    if (st) {
        st->label = strdup(path);
        st->file = malloc(len ? len : 1);
    }
    if (!st || !st->label || !st->file) {
        fclose(f);
        ig_safetensors_close(st);
        return ig_error(IG_ERR_OOM, "safetensors: out of memory reading %s (%zu bytes)", path, len);
    }
    size_t got = fread(st->file, 1, len, f);
    int rerr = ferror(f);
    fclose(f);
    if (got != len || rerr) {
        ig_safetensors_close(st);
        return ig_error(IG_ERR_IO, "safetensors: %s: read %zu of %zu bytes", path, got, len);
    }
    return st_open_finish(st, len, out);
}

int ig_safetensors_count(const struct ig_safetensors *st)
{
    return st ? st->n : 0;
}

const struct ig_st_entry *ig_safetensors_entry(const struct ig_safetensors *st, int i)
{
    return st && i >= 0 && i < st->n ? &st->entries[i] : NULL;
}

const struct ig_st_entry *ig_safetensors_find(const struct ig_safetensors *st, const char *name)
{
    if (!st || !name) return NULL;
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->entries[i].name, name) == 0) return &st->entries[i];
    return NULL;
}

static enum ig_status lookup(const struct ig_safetensors *st, const char *name, const struct ig_st_entry **e)
{
    if (!st || !name) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL argument");
    *e = ig_safetensors_find(st, name);
    if (!*e) return ig_error(IG_ERR_FORMAT, "safetensors: %s: no tensor '%s' in the file", st->label, name);
    return IG_OK;
}

enum ig_status ig_safetensors_read(const struct ig_safetensors *st, const char *name, struct ig_tensor *dst)
{
    const struct ig_st_entry *e;
    IG_TRY(lookup(st, name, &e));
    if (!dst) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL destination for '%s'", name);
    bool same = dst->ndim == e->ndim;
    for (int d = 0; same && d < e->ndim; d++) same = dst->shape[d] == e->shape[d];
    /* a scalar [] and a one-element [1] are interchangeable (num_batches_tracked) */
    bool scalar = e->numel == 1 && ig_tensor_numel(dst) == 1 && e->ndim <= 1 && dst->ndim <= 1;
    if (!same && !scalar) {
        char a[160], b[160];
        shape_str(a, sizeof a, e->ndim, e->shape);
        shape_str(b, sizeof b, dst->ndim, dst->shape);
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s' has shape %s in the file, expected %s", st->label,
                        name, a, b);
    }
    enum ig_st_dtype want = st_from_tensor_dtype(dst->dtype);
    bool widen = dst->dtype == IG_DTYPE_I32 && e->dtype == IG_ST_I64;
    if (e->dtype != want && !widen)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s' is %s in the file, cannot read it into a %s tensor",
                        st->label, name, ig_st_dtype_name(e->dtype), ig_dtype_name(dst->dtype));
    size_t nb = ig_tensor_nbytes(dst);
    if (!widen) {
        enum ig_status s = nb ? ig_tensor_from_host_into(dst, e->data, nb) : IG_OK;
        return s == IG_OK ? s : ig_error_prefix(s, "safetensors: tensor '%s': ", name);
    }
    int32_t *tmp = malloc(nb ? nb : 1);
    if (!tmp) return ig_error(IG_ERR_OOM, "safetensors: out of memory for '%s'", name);
    for (int64_t i = 0; i < e->numel; i++) {
        int64_t v;
        memcpy(&v, (const uint8_t *)e->data + 8 * i, 8);
        if (v < INT32_MIN || v > INT32_MAX) {
            free(tmp);
            return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s': element %lld = %lld does not fit in i32",
                            st->label, name, (long long)i, (long long)v);
        }
        tmp[i] = (int32_t)v;
    }
    enum ig_status s = nb ? ig_tensor_from_host_into(dst, tmp, nb) : IG_OK;
    free(tmp);
    return s == IG_OK ? s : ig_error_prefix(s, "safetensors: tensor '%s': ", name);
}

enum ig_status ig_safetensors_read_host(const struct ig_safetensors *st, const char *name, enum ig_st_dtype dt,
                                        void *dst, size_t bytes)
{
    const struct ig_st_entry *e;
    IG_TRY(lookup(st, name, &e));
    if (e->dtype != dt)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s' is %s in the file, expected %s", st->label, name,
                        ig_st_dtype_name(e->dtype), ig_st_dtype_name(dt));
    if (e->end - e->begin != bytes)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: tensor '%s' holds %llu bytes, expected %zu", st->label, name,
                        (unsigned long long)(e->end - e->begin), bytes);
    if (bytes && !dst) return ig_error(IG_ERR_INVALID_ARG, "safetensors: NULL destination for '%s'", name);
    if (bytes) memcpy(dst, e->data, bytes);
    return IG_OK;
}

const char *ig_safetensors_meta(const struct ig_safetensors *st, const char *key)
{
    if (!st || !key) return NULL;
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

int ig_safetensors_meta_count(const struct ig_safetensors *st)
{
    return st ? st->n_meta : 0;
}

void ig_safetensors_meta_at(const struct ig_safetensors *st, int i, const char **key, const char **value)
{
    bool ok = st && i >= 0 && i < st->n_meta;
    if (key) *key = ok ? st->meta_keys[i] : NULL;
    if (value) *value = ok ? st->meta_values[i] : NULL;
}

enum ig_status ig_safetensors_meta_i64(const struct ig_safetensors *st, const char *key, int64_t *out)
{
    const char *v = ig_safetensors_meta(st, key);
    if (!v) return ig_error(IG_ERR_FORMAT, "safetensors: %s: no metadata '%s'", st ? st->label : "?", key ? key : "?");
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return ig_error(IG_ERR_FORMAT, "safetensors: %s: metadata '%s' = \"%s\" is not an integer", st->label, key, v);
    if (out) *out = x;
    return IG_OK;
}
