/* Tensors: creation (buffers from the backend's pool, ig_buffer.c), views (reshape/slice/transpose), host transfers and copies. */
#include "ig_backend_impl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ig_dtype_size(enum ig_dtype dt)
{
    switch (dt) {
    case IG_DTYPE_F32: return 4;
    case IG_DTYPE_I32: return 4;
    case IG_DTYPE_U8: return 1;
    default: return 0;
    }
}

const char *ig_dtype_name(enum ig_dtype dt)
{
    switch (dt) {
    case IG_DTYPE_F32: return "f32";
    case IG_DTYPE_I32: return "i32";
    case IG_DTYPE_U8: return "u8";
    default: return "?";
    }
}

/* ---------------------------------------------------------------- creation */

static enum ig_status check_shape(int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > IG_MAX_DIMS)
        return ig_error(IG_ERR_INVALID_ARG, "tensor: %d dimensions requested, expected 0..%d", ndim, IG_MAX_DIMS);
    if (ndim > 0 && !shape) return ig_error(IG_ERR_INVALID_ARG, "tensor: shape is NULL");
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return ig_error(IG_ERR_INVALID_ARG, "tensor: dimension %d has negative size %lld", i, (long long)shape[i]);
        if (shape[i] > 0 && n > INT64_MAX / 16 / shape[i])
            return ig_error(IG_ERR_INVALID_ARG, "tensor: shape overflows");
        n *= shape[i];
    }
    return IG_OK;
}

static void set_contiguous_strides(struct ig_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = s;
        s *= t->shape[i];
    }
}

struct ig_tensor *ig_tensor_new(struct ig_backend *be, enum ig_dtype dt, int ndim, const int64_t *shape)
{
    if (!be) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_new: backend is NULL");
        return NULL;
    }
    if ((int)dt < 0 || dt >= IG_DTYPE_COUNT) {
        ig_error(IG_ERR_DTYPE, "ig_tensor_new: unknown dtype %d", (int)dt);
        return NULL;
    }
    if (check_shape(ndim, shape) != IG_OK) return NULL;
    struct ig_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        ig_error(IG_ERR_OOM, "ig_tensor_new: out of host memory");
        return NULL;
    }
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    set_contiguous_strides(t);
    t->backend = be;
    t->buf = ig_buffer_acquire(be, (size_t)ig_tensor_numel(t) * ig_dtype_size(dt));
    if (!t->buf) {
        free(t);
        return NULL;
    }
    return t;
}

struct ig_tensor *ig_tensor_zeros(struct ig_backend *be, enum ig_dtype dt, int ndim, const int64_t *shape)
{
    struct ig_tensor *t = ig_tensor_new(be, dt, ndim, shape);
    if (t && ig_fill(t, 0.0f) != IG_OK) {
        ig_tensor_free(t);
        return NULL;
    }
    return t;
}

struct ig_tensor *ig_tensor_from_host(struct ig_backend *be, enum ig_dtype dt, int ndim,
                                      const int64_t *shape, const void *data)
{
    if (!data) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_from_host: data is NULL");
        return NULL;
    }
    struct ig_tensor *t = ig_tensor_new(be, dt, ndim, shape);
    if (t && ig_tensor_from_host_into(t, data, ig_tensor_nbytes(t)) != IG_OK) {
        ig_tensor_free(t);
        return NULL;
    }
    return t;
}

void ig_tensor_free(struct ig_tensor *t)
{
    if (!t) return;
    ig_buffer_release(t->buf);
    free(t);
}

struct ig_tensor *ig_tensor_renew(struct ig_tensor *t, struct ig_backend *be, enum ig_dtype dt, int ndim,
                                  const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    size_t bytes = (size_t)n * ig_dtype_size(dt);
    if (t && t->backend == be && t->buf->refcount == 1 && t->offset == 0 && t->buf->bytes >= bytes
        && t->buf->bytes <= 2 * bytes + 4096) {
        t->dtype = dt;
        t->ndim = ndim;
        for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
        set_contiguous_strides(t);
        return t;
    }
    ig_tensor_free(t);
    return ig_tensor_new(be, dt, ndim, shape);
}

int64_t ig_tensor_numel(const struct ig_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t ig_tensor_nbytes(const struct ig_tensor *t) { return (size_t)ig_tensor_numel(t) * ig_dtype_size(t->dtype); }

bool ig_tensor_is_contiguous(const struct ig_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

bool ig_tensor_same_shape(const struct ig_tensor *a, const struct ig_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

const char *ig_tensor_shape_str(const struct ig_tensor *t, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < t->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)t->shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "] %s", ig_dtype_name(t->dtype));
    return buf;
}

/* ---------------------------------------------------------------- views */

struct ig_tensor *ig_tensor_view(const struct ig_tensor *t)
{
    if (!t) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_view: tensor is NULL");
        return NULL;
    }
    struct ig_tensor *v = malloc(sizeof *v);
    if (!v) {
        ig_error(IG_ERR_OOM, "ig_tensor_view: out of host memory");
        return NULL;
    }
    *v = *t;
    v->buf->refcount++;
    return v;
}

struct ig_tensor *ig_tensor_reshape(const struct ig_tensor *t, int ndim, const int64_t *shape)
{
    if (!t || !shape) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_reshape: NULL argument");
        return NULL;
    }
    if (ndim < 0 || ndim > IG_MAX_DIMS) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_reshape: %d dimensions, expected 0..%d", ndim, IG_MAX_DIMS);
        return NULL;
    }
    if (!ig_tensor_is_contiguous(t)) {
        ig_error(IG_ERR_LAYOUT, "ig_tensor_reshape: tensor is not contiguous (call ig_tensor_contiguous first)");
        return NULL;
    }
    int64_t want[IG_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        want[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0) {
                ig_error(IG_ERR_INVALID_ARG, "ig_tensor_reshape: more than one -1 dimension");
                return NULL;
            }
            infer = i;
        } else if (shape[i] < 0) {
            ig_error(IG_ERR_INVALID_ARG, "ig_tensor_reshape: negative dimension %lld", (long long)shape[i]);
            return NULL;
        } else {
            known *= shape[i];
        }
    }
    int64_t n = ig_tensor_numel(t);
    if (infer >= 0) {
        if (known == 0 || n % known != 0) {
            ig_error(IG_ERR_SHAPE, "ig_tensor_reshape: cannot infer -1 for %lld elements", (long long)n);
            return NULL;
        }
        want[infer] = n / known;
        known = n;
    }
    if (known != n) {
        char b[64];
        ig_error(IG_ERR_SHAPE, "ig_tensor_reshape: %s has %lld elements, new shape has %lld",
                 ig_tensor_shape_str(t, b, sizeof b), (long long)n, (long long)known);
        return NULL;
    }
    struct ig_tensor *v = ig_tensor_view(t);
    if (!v) return NULL;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) v->shape[i] = want[i];
    set_contiguous_strides(v);
    return v;
}

struct ig_tensor *ig_tensor_slice(const struct ig_tensor *t, int64_t start, int64_t len)
{
    if (!t) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_slice: tensor is NULL");
        return NULL;
    }
    if (t->ndim < 1) {
        ig_error(IG_ERR_SHAPE, "ig_tensor_slice: scalar tensors have no rows");
        return NULL;
    }
    if (start < 0 || len < 0 || start + len > t->shape[0]) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_slice: rows [%lld, %lld) outside [0, %lld)",
                 (long long)start, (long long)(start + len), (long long)t->shape[0]);
        return NULL;
    }
    struct ig_tensor *v = ig_tensor_view(t);
    if (!v) return NULL;
    v->offset += start * t->stride[0];
    v->shape[0] = len;
    return v;
}

struct ig_tensor *ig_tensor_transpose(const struct ig_tensor *t, int d0, int d1)
{
    if (!t) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_transpose: tensor is NULL");
        return NULL;
    }
    if (d0 < 0 || d1 < 0 || d0 >= t->ndim || d1 >= t->ndim) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_transpose: dims %d,%d outside 0..%d", d0, d1, t->ndim - 1);
        return NULL;
    }
    struct ig_tensor *v = ig_tensor_view(t);
    if (!v) return NULL;
    int64_t s = v->shape[d0], st = v->stride[d0];
    v->shape[d0] = v->shape[d1];
    v->stride[d0] = v->stride[d1];
    v->shape[d1] = s;
    v->stride[d1] = st;
    return v;
}

struct ig_tensor *ig_tensor_contiguous(const struct ig_tensor *t)
{
    if (!t) {
        ig_error(IG_ERR_INVALID_ARG, "ig_tensor_contiguous: tensor is NULL");
        return NULL;
    }
    struct ig_tensor *c = ig_tensor_new(t->backend, t->dtype, t->ndim, t->shape);
    if (c && ig_tensor_copy(c, t) != IG_OK) {
        ig_tensor_free(c);
        return NULL;
    }
    return c;
}

/* ---------------------------------------------------------------- transfers */

/* Visit the maximal contiguous runs of a strided tensor: fn(element offset, run length). */
static enum ig_status for_each_run(const struct ig_tensor *t,
                                   enum ig_status (*fn)(const struct ig_tensor *, int64_t, int64_t, size_t, void *),
                                   void *ctx)
{
    /* Merge trailing dims that are contiguous into one run. */
    int inner = t->ndim;
    int64_t run = 1, expect = 1;
    while (inner > 0 && (t->shape[inner - 1] == 1 || t->stride[inner - 1] == expect)) {
        run *= t->shape[inner - 1];
        expect *= t->shape[inner - 1];
        inner--;
    }
    int64_t idx[IG_MAX_DIMS] = {0};
    int64_t total = ig_tensor_numel(t), done = 0;
    if (total == 0) return IG_OK;
    size_t pos = 0;
    while (done < total) {
        int64_t off = t->offset;
        for (int i = 0; i < inner; i++) off += idx[i] * t->stride[i];
        IG_TRY(fn(t, off, run, pos, ctx));
        pos += (size_t)run;
        done += run;
        for (int i = inner - 1; i >= 0; i--) {
            if (++idx[i] < t->shape[i]) break;
            idx[i] = 0;
        }
    }
    return IG_OK;
}

struct host_io { uint8_t *host; bool to_host; };

static enum ig_status run_io(const struct ig_tensor *t, int64_t off, int64_t len, size_t pos, void *ctx)
{
    struct host_io *io = ctx;
    size_t es = ig_dtype_size(t->dtype);
    struct ig_backend *be = t->backend;
    if (io->to_host)
        return be->vt->read(be, t->buf->mem, (size_t)off * es, io->host + pos * es, (size_t)len * es);
    return be->vt->write(be, t->buf->mem, (size_t)off * es, io->host + pos * es, (size_t)len * es);
}

enum ig_status ig_tensor_to_host(const struct ig_tensor *t, void *dst, size_t bytes)
{
    if (!t || !dst) return ig_error(IG_ERR_INVALID_ARG, "ig_tensor_to_host: NULL argument");
    if (bytes != ig_tensor_nbytes(t))
        return ig_error(IG_ERR_INVALID_ARG, "ig_tensor_to_host: %zu bytes given, tensor has %zu", bytes, ig_tensor_nbytes(t));
    struct host_io io = {dst, true};
    return for_each_run(t, run_io, &io);
}

enum ig_status ig_tensor_from_host_into(struct ig_tensor *t, const void *src, size_t bytes)
{
    if (!t || !src) return ig_error(IG_ERR_INVALID_ARG, "ig_tensor_from_host_into: NULL argument");
    if (bytes != ig_tensor_nbytes(t))
        return ig_error(IG_ERR_INVALID_ARG, "ig_tensor_from_host_into: %zu bytes given, tensor has %zu", bytes, ig_tensor_nbytes(t));
    struct host_io io = {(uint8_t *)(uintptr_t)src, false};
    return for_each_run(t, run_io, &io);
}

enum ig_status ig_tensor_copy(struct ig_tensor *dst, const struct ig_tensor *src)
{
    if (!dst || !src) return ig_error(IG_ERR_INVALID_ARG, "ig_tensor_copy: NULL argument");
    if (dst->dtype != src->dtype)
        return ig_error(IG_ERR_DTYPE, "ig_tensor_copy: dtypes differ (%s <- %s)", ig_dtype_name(dst->dtype), ig_dtype_name(src->dtype));
    if (ig_tensor_numel(dst) != ig_tensor_numel(src) || !ig_tensor_same_shape(dst, src)) {
        char a[64], b[64];
        return ig_error(IG_ERR_SHAPE, "ig_tensor_copy: shapes differ (%s <- %s)", ig_tensor_shape_str(dst, a, sizeof a),
                        ig_tensor_shape_str(src, b, sizeof b));
    }
    if (dst->backend == src->backend) {
        if (ig_tensor_is_contiguous(dst) && ig_tensor_is_contiguous(src)) {
            size_t es = ig_dtype_size(src->dtype);
            return dst->backend->vt->copy(dst->backend, dst->buf->mem, (size_t)dst->offset * es, src->buf->mem,
                                          (size_t)src->offset * es, ig_tensor_nbytes(src));
        }
        if (!ig_tensor_is_contiguous(dst))
            return ig_error(IG_ERR_LAYOUT, "ig_tensor_copy: destination must be contiguous");
        struct ig_op_call call = {.op = IG_OP_COPY, .t = {dst, (struct ig_tensor *)(uintptr_t)src}};
        return ig_backend_dispatch(dst->backend, &call);
    }
    /* Across backends: through host memory. */
    size_t n = ig_tensor_nbytes(src);
    void *tmp = malloc(n ? n : 1);
    if (!tmp) return ig_error(IG_ERR_OOM, "ig_tensor_copy: out of host memory for %zu bytes", n);
    enum ig_status s = ig_tensor_to_host(src, tmp, n);
    if (s == IG_OK) s = ig_tensor_from_host_into(dst, tmp, n);
    free(tmp);
    return s;
}

enum ig_status ig_tensor_item(const struct ig_tensor *t, float *out)
{
    if (!t || !out) return ig_error(IG_ERR_INVALID_ARG, "ig_tensor_item: NULL argument");
    if (ig_tensor_numel(t) != 1) return ig_error(IG_ERR_SHAPE, "ig_tensor_item: tensor has %lld elements, expected 1", (long long)ig_tensor_numel(t));
    if (t->dtype == IG_DTYPE_F32) return ig_tensor_to_host(t, out, sizeof *out);
    if (t->dtype == IG_DTYPE_I32) {
        int32_t v;
        IG_TRY(ig_tensor_to_host(t, &v, sizeof v));
        *out = (float)v;
        return IG_OK;
    }
    uint8_t v;
    IG_TRY(ig_tensor_to_host(t, &v, sizeof v));
    *out = (float)v;
    return IG_OK;
}
