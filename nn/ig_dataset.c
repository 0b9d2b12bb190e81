/* Datasets in host memory: allocation, subsets, batch filling (u8 -> backend -> normalised f32) and the reusable batch tensors. */
#include "ig_data_internal.h"
#include <stdlib.h>
#include <string.h>

enum ig_status ig_data_dataset_alloc(struct ig_dataset *ds, int64_t n, int c, int h, int w)
{
    memset(ds, 0, sizeof *ds);
    size_t img = (size_t)c * (size_t)h * (size_t)w;
    ds->images = malloc(n > 0 ? (size_t)n * img : 1);
    ds->labels = malloc(n > 0 ? (size_t)n * sizeof(int32_t) : 1);
    if (!ds->images || !ds->labels) {
        ig_dataset_free(ds);
        return ig_error(IG_ERR_OOM, "data: out of memory for %lld images", (long long)n);
    }
    ds->n = n;
    ds->channels = c;
    ds->height = h;
    ds->width = w;
    return IG_OK;
}

int64_t ig_dataset_image_bytes(const struct ig_dataset *ds)
{
    return (int64_t)ds->channels * ds->height * ds->width;
}

void ig_dataset_free(struct ig_dataset *ds)
{
    if (!ds) return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

enum ig_status ig_dataset_subset(struct ig_dataset *out, const struct ig_dataset *src, const int64_t *idx, int64_t n)
{
    if (!out || !src || (n > 0 && !idx) || n < 0)
        return ig_error(IG_ERR_INVALID_ARG, "dataset_subset: bad arguments");
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= src->n)
            return ig_error(IG_ERR_INVALID_ARG, "dataset_subset: index %lld (position %lld) not in [0, %lld)",
                            (long long)idx[i], (long long)i, (long long)src->n);
    struct ig_dataset d;
    IG_TRY(ig_data_dataset_alloc(&d, n, src->channels, src->height, src->width));
    int64_t ib = ig_dataset_image_bytes(src);
    for (int64_t i = 0; i < n; i++) {
        memcpy(d.images + i * ib, src->images + idx[i] * ib, (size_t)ib);
        d.labels[i] = src->labels[idx[i]];
    }
    d.num_classes = src->num_classes;
    memcpy(d.class_names, src->class_names, sizeof d.class_names);
    *out = d;
    return IG_OK;
}

/* ---------------------------------------------------------------- batch filling */

struct ig_norm_params ig_data_norm_default(void)
{
    struct ig_norm_params p;
    for (int c = 0; c < 4; c++) {
        p.mean[c] = 0.5f;
        p.std[c] = 0.5f;
    }
    return p;
}

size_t ig_data_batch_scratch_bytes(const struct ig_dataset *ds, int64_t n)
{
    size_t img = (size_t)ig_dataset_image_bytes(ds) * (size_t)n;
    return ((img + 15) & ~(size_t)15) + (size_t)n * sizeof(int32_t);
}

static bool shape_is(const struct ig_tensor *t, enum ig_dtype dt, int ndim, const int64_t *shape)
{
    if (t->dtype != dt || t->ndim != ndim) return false;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return false;
    return true;
}

enum ig_status ig_data_fill_batch(const struct ig_dataset *ds, const int64_t *idx, int64_t n,
                                  struct ig_tensor *x_u8, struct ig_tensor *x, struct ig_tensor *y,
                                  struct ig_norm_params norm, void *host_scratch)
{
    if (!ds || !idx || !x_u8 || n < 1) return ig_error(IG_ERR_INVALID_ARG, "data_fill_batch: bad arguments");
    int64_t shape[4] = {n, ds->channels, ds->height, ds->width};
    char buf[64];
    if (!shape_is(x_u8, IG_DTYPE_U8, 4, shape))
        return ig_error(IG_ERR_SHAPE, "data_fill_batch: x_u8 is %s, expected [%lld,%d,%d,%d] u8",
                        ig_tensor_shape_str(x_u8, buf, sizeof buf), (long long)n, ds->channels, ds->height,
                        ds->width);
    if (x && !shape_is(x, IG_DTYPE_F32, 4, shape))
        return ig_error(IG_ERR_SHAPE, "data_fill_batch: x is %s, expected [%lld,%d,%d,%d] f32",
                        ig_tensor_shape_str(x, buf, sizeof buf), (long long)n, ds->channels, ds->height,
                        ds->width);
    if (y && !shape_is(y, IG_DTYPE_I32, 1, shape))
        return ig_error(IG_ERR_SHAPE, "data_fill_batch: y is %s, expected [%lld] i32",
                        ig_tensor_shape_str(y, buf, sizeof buf), (long long)n);
    if (ds->channels > 4) return ig_error(IG_ERR_UNSUPPORTED, "data_fill_batch: more than 4 channels");
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= ds->n)
            return ig_error(IG_ERR_INVALID_ARG, "data_fill_batch: row %lld (position %lld) not in [0, %lld)",
                            (long long)idx[i], (long long)i, (long long)ds->n);

    size_t need = ig_data_batch_scratch_bytes(ds, n);
    void *own = NULL;
    if (!host_scratch) {
        own = malloc(need);
        if (!own) return ig_error(IG_ERR_OOM, "data_fill_batch: out of memory (%zu bytes)", need);
        host_scratch = own;
    }
    size_t ib = (size_t)ig_dataset_image_bytes(ds);
    uint8_t *pix = host_scratch;
    int32_t *lab = (int32_t *)(void *)(pix + ((ib * (size_t)n + 15) & ~(size_t)15));
    for (int64_t i = 0; i < n; i++) {
        memcpy(pix + (size_t)i * ib, ds->images + (size_t)idx[i] * ib, ib);
        lab[i] = ds->labels[idx[i]];
    }
    enum ig_status s = ig_tensor_from_host_into(x_u8, pix, ib * (size_t)n);
    if (s == IG_OK && y) s = ig_tensor_from_host_into(y, lab, (size_t)n * sizeof(int32_t));
    if (s == IG_OK && x) s = ig_normalize_u8(x, x_u8, norm);
    free(own);
    return s;
}


/* ---------------------------------------------------------------- reusable batch tensors */

struct ig_batcher {
    const struct ig_dataset *ds;
    struct ig_norm_params norm;
    int64_t cap;
    struct ig_tensor *x_u8, *x, *y;    /* [cap, ...] */
    struct ig_tensor *px_u8, *px, *py; /* views of the first n rows when n < cap */
    void *scratch;                     /* ig_data_batch_scratch_bytes(ds, cap) */
};

static void batcher_free_views(struct ig_batcher *b)
{
    ig_tensor_free(b->px_u8);
    ig_tensor_free(b->px);
    ig_tensor_free(b->py);
    b->px_u8 = b->px = b->py = NULL;
}

void ig_batcher_free(struct ig_batcher *b)
{
    if (!b) return;
    batcher_free_views(b);
    ig_tensor_free(b->x_u8);
    ig_tensor_free(b->x);
    ig_tensor_free(b->y);
    free(b->scratch);
    free(b);
}

enum ig_status ig_batcher_new(struct ig_batcher **out, struct ig_backend *be, const struct ig_dataset *ds, int64_t cap,
                              struct ig_norm_params norm)
{
    if (!out || !be || !ds) return ig_error(IG_ERR_INVALID_ARG, "batcher: NULL argument");
    *out = NULL;
    if (cap < 1) return ig_error(IG_ERR_INVALID_ARG, "batcher: capacity %lld < 1", (long long)cap);
    if (ds->channels < 1 || ds->channels > 4)
        return ig_error(IG_ERR_UNSUPPORTED, "batcher: %d channels (1..4 supported)", ds->channels);
    struct ig_batcher *b = calloc(1, sizeof *b);
    if (!b) return ig_error(IG_ERR_OOM, "batcher: out of memory");
    b->ds = ds;
    b->norm = norm;
    b->cap = cap;
    b->scratch = malloc(ig_data_batch_scratch_bytes(ds, cap));
    int64_t shape[4] = {cap, ds->channels, ds->height, ds->width};
    b->x_u8 = b->scratch ? ig_tensor_new(be, IG_DTYPE_U8, 4, shape) : NULL;
    b->x = b->x_u8 ? ig_tensor_new(be, IG_DTYPE_F32, 4, shape) : NULL;
    b->y = b->x ? ig_tensor_new(be, IG_DTYPE_I32, 1, shape) : NULL;
    if (!b->y) {
        ig_batcher_free(b);
        return ig_error_prefix(IG_ERR_OOM, "batcher: batch of %lld: ", (long long)cap);
    }
    *out = b;
    return IG_OK;
}

int64_t ig_batcher_capacity(const struct ig_batcher *b)
{
    return b ? b->cap : 0;
}

enum ig_status ig_batcher_fill(struct ig_batcher *b, const int64_t *rows, int64_t n, struct ig_tensor **x,
                               struct ig_tensor **y)
{
    if (!b || !rows) return ig_error(IG_ERR_INVALID_ARG, "batcher_fill: NULL argument");
    if (n < 1 || n > b->cap)
        return ig_error(IG_ERR_INVALID_ARG, "batcher_fill: %lld rows, expected 1..%lld", (long long)n, (long long)b->cap);
    batcher_free_views(b);
    struct ig_tensor *xu = b->x_u8, *xf = b->x, *yl = b->y;
    if (n < b->cap) {
        b->px_u8 = ig_tensor_slice(b->x_u8, 0, n);
        b->px = b->px_u8 ? ig_tensor_slice(b->x, 0, n) : NULL;
        b->py = b->px ? ig_tensor_slice(b->y, 0, n) : NULL;
        if (!b->py) {
            batcher_free_views(b);
            return ig_error_prefix(IG_ERR_INTERNAL, "batcher_fill: partial batch view: ");
        }
        xu = b->px_u8;
        xf = b->px;
        yl = b->py;
    }
    IG_TRY(ig_data_fill_batch(b->ds, rows, n, xu, xf, yl, b->norm, b->scratch));
    if (x) *x = xf;
    if (y) *y = yl;
    return IG_OK;
}
