/* Batch filling (u8 -> backend -> normalised f32), and the minibatch loader. */
#include "ig_data_internal.h"
#include <stdlib.h>
#include <string.h>

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

/* ---------------------------------------------------------------- loader */

struct ig_loader {
    struct ig_backend *be;
    const struct ig_dataset *ds;
    struct ig_loader_params p;
    int64_t n;            /* rows walked per epoch */
    int64_t *rows;        /* [n] dataset rows (subset or 0..n-1) */
    int64_t *order;       /* [n] this epoch's order of rows */
    int64_t *perm;        /* [n] scratch permutation */
    int64_t pos, number;  /* next position in order, next batch number */
    struct ig_tensor *x_u8, *x, *y;    /* full batch tensors */
    struct ig_tensor *px_u8, *px, *py; /* views for the last partial batch */
    void *scratch;
};

struct ig_loader_params ig_loader_params_default(void)
{
    struct ig_loader_params p;
    p.batch_size = 32;
    p.shuffle = true;
    p.drop_last = false;
    p.seed = 0;
    p.norm = ig_data_norm_default();
    return p;
}

static void free_views(struct ig_loader *l)
{
    ig_tensor_free(l->px_u8);
    ig_tensor_free(l->px);
    ig_tensor_free(l->py);
    l->px_u8 = l->px = l->py = NULL;
}

void ig_loader_free(struct ig_loader *l)
{
    if (!l) return;
    free_views(l);
    ig_tensor_free(l->x_u8);
    ig_tensor_free(l->x);
    ig_tensor_free(l->y);
    free(l->rows);
    free(l->order);
    free(l->perm);
    free(l->scratch);
    free(l);
}

enum ig_status ig_loader_new(struct ig_loader **out, struct ig_backend *be, const struct ig_dataset *ds,
                             const int64_t *subset, int64_t n_subset, struct ig_loader_params p)
{
    if (!out || !be || !ds) return ig_error(IG_ERR_INVALID_ARG, "loader: NULL argument");
    *out = NULL;
    if (p.batch_size < 1) return ig_error(IG_ERR_INVALID_ARG, "loader: batch size %lld < 1", (long long)p.batch_size);
    if (ds->n < 1 || !ds->images || !ds->labels) return ig_error(IG_ERR_INVALID_ARG, "loader: empty dataset");
    if (ds->channels < 1 || ds->channels > 4)
        return ig_error(IG_ERR_UNSUPPORTED, "loader: %d channels (1..4 supported)", ds->channels);
    int64_t n = subset ? n_subset : ds->n;
    if (n < 1) return ig_error(IG_ERR_INVALID_ARG, "loader: empty subset");
    for (int64_t i = 0; subset && i < n; i++)
        if (subset[i] < 0 || subset[i] >= ds->n)
            return ig_error(IG_ERR_INVALID_ARG, "loader: subset row %lld (position %lld) not in [0, %lld)",
                            (long long)subset[i], (long long)i, (long long)ds->n);

    struct ig_loader *l = calloc(1, sizeof *l);
    if (!l) return ig_error(IG_ERR_OOM, "loader: out of memory");
    l->be = be;
    l->ds = ds;
    l->p = p;
    l->n = n;
    int64_t b = p.batch_size < n ? p.batch_size : n;
    l->rows = malloc((size_t)n * sizeof(int64_t));
    l->order = malloc((size_t)n * sizeof(int64_t));
    l->perm = malloc((size_t)n * sizeof(int64_t));
    l->scratch = malloc(ig_data_batch_scratch_bytes(ds, b));
    if (!l->rows || !l->order || !l->perm || !l->scratch) {
        ig_loader_free(l);
        return ig_error(IG_ERR_OOM, "loader: out of memory for %lld rows", (long long)n);
    }
    for (int64_t i = 0; i < n; i++) l->rows[i] = subset ? subset[i] : i;
    int64_t shape[4] = {b, ds->channels, ds->height, ds->width};
    l->x_u8 = ig_tensor_new(be, IG_DTYPE_U8, 4, shape);
    l->x = l->x_u8 ? ig_tensor_new(be, IG_DTYPE_F32, 4, shape) : NULL;
    l->y = l->x ? ig_tensor_new(be, IG_DTYPE_I32, 1, shape) : NULL;
    if (!l->y) {
        ig_loader_free(l);
        return ig_error_prefix(IG_ERR_OOM, "loader: batch tensors: ");
    }
    enum ig_status s = ig_loader_start_epoch(l, 0);
    if (s != IG_OK) {
        ig_loader_free(l);
        return s;
    }
    *out = l;
    return IG_OK;
}

int64_t ig_loader_size(const struct ig_loader *l)
{
    return l->n;
}

int64_t ig_loader_batches(const struct ig_loader *l)
{
    return l->p.drop_last ? l->n / l->p.batch_size : (l->n + l->p.batch_size - 1) / l->p.batch_size;
}

enum ig_status ig_loader_start_epoch(struct ig_loader *l, int64_t epoch)
{
    if (!l || epoch < 0) return ig_error(IG_ERR_INVALID_ARG, "loader: bad epoch");
    if (l->p.shuffle) {
        uint64_t state = ig_hash64(l->p.seed ^ ig_hash64((uint64_t)epoch));
        ig_splitmix64_permutation(&state, l->perm, l->n);
        for (int64_t i = 0; i < l->n; i++) l->order[i] = l->rows[l->perm[i]];
    } else {
        memcpy(l->order, l->rows, (size_t)l->n * sizeof(int64_t));
    }
    l->pos = 0;
    l->number = 0;
    return IG_OK;
}

enum ig_status ig_loader_next(struct ig_loader *l, struct ig_batch *b, bool *got)
{
    if (!l || !b || !got) return ig_error(IG_ERR_INVALID_ARG, "loader_next: NULL argument");
    *got = false;
    memset(b, 0, sizeof *b);
    int64_t left = l->n - l->pos;
    int64_t size = left < l->p.batch_size ? left : l->p.batch_size;
    if (size <= 0 || (size < l->p.batch_size && l->p.drop_last)) return IG_OK;
    free_views(l);
    struct ig_tensor *xu = l->x_u8, *x = l->x, *y = l->y;
    if (size < l->x->shape[0]) {
        l->px_u8 = ig_tensor_slice(l->x_u8, 0, size);
        l->px = l->px_u8 ? ig_tensor_slice(l->x, 0, size) : NULL;
        l->py = l->px ? ig_tensor_slice(l->y, 0, size) : NULL;
        if (!l->py) {
            free_views(l);
            return ig_error_prefix(IG_ERR_INTERNAL, "loader: partial batch view: ");
        }
        xu = l->px_u8;
        x = l->px;
        y = l->py;
    }
    IG_TRY(ig_data_fill_batch(l->ds, l->order + l->pos, size, xu, x, y, l->p.norm, l->scratch));
    b->x = x;
    b->y = y;
    b->index = l->order + l->pos;
    b->size = size;
    b->number = l->number++;
    l->pos += size;
    *got = true;
    return IG_OK;
}
