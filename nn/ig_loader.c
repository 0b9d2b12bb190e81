/* The minibatch loader: a seeded per-epoch order of a dataset (or subset) in normalised batches on a backend. */
#include "ig_data_internal.h"
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- loader */

struct ig_loader {
    const struct ig_dataset *ds;
    struct ig_loader_params p;
    int64_t n;            /* rows walked per epoch */
    int64_t *rows;        /* [n] dataset rows (subset or 0..n-1) */
    int64_t *order;       /* [n] this epoch's order of rows */
    int64_t *perm;        /* [n] scratch permutation */
    int64_t pos, number;  /* next position in order, next batch number */
    struct ig_batcher *batch;
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

void ig_loader_free(struct ig_loader *l)
{
    if (!l) return;
    ig_batcher_free(l->batch);
    free(l->rows);
    free(l->order);
    free(l->perm);
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
    l->ds = ds;
    l->p = p;
    l->n = n;
    l->rows = malloc((size_t)n * sizeof(int64_t));
    l->order = malloc((size_t)n * sizeof(int64_t));
    l->perm = malloc((size_t)n * sizeof(int64_t));
    if (!l->rows || !l->order || !l->perm) {
        ig_loader_free(l);
        return ig_error(IG_ERR_OOM, "loader: out of memory for %lld rows", (long long)n);
    }
    for (int64_t i = 0; i < n; i++) l->rows[i] = subset ? subset[i] : i;
    enum ig_status s = ig_batcher_new(&l->batch, be, ds, p.batch_size < n ? p.batch_size : n, p.norm);
    if (s == IG_OK) s = ig_loader_start_epoch(l, 0);
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
    struct ig_tensor *x = NULL, *y = NULL;
    IG_TRY(ig_batcher_fill(l->batch, l->order + l->pos, size, &x, &y));
    b->x = x;
    b->y = y;
    b->index = l->order + l->pos;
    b->size = size;
    b->number = l->number++;
    l->pos += size;
    *got = true;
    return IG_OK;
}
