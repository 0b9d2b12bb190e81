/* regress common pieces: error text, threads, input checks, binning of rows, tree node arrays. */
#include "regress_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char ig_rerr_buf[512];

enum ig_regress_status ig_rerror(enum ig_regress_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ig_rerr_buf, sizeof ig_rerr_buf, fmt, ap);
    va_end(ap);
    return s;
}

const char *ig_regress_last_error(void) { return ig_rerr_buf; }

const char *ig_regress_status_str(enum ig_regress_status s)
{
    switch (s) {
    case IG_REGRESS_OK: return "ok";
    case IG_REGRESS_EINVAL: return "invalid argument";
    case IG_REGRESS_ENOMEM: return "out of memory";
    case IG_REGRESS_EIO: return "i/o error";
    case IG_REGRESS_EFORMAT: return "bad model file";
    }
    return "unknown status";
}

int ig_rthreads(int requested)
{
#if IG_HAVE_OPENMP
    return requested > 0 ? requested : omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

enum ig_regress_status ig_rcheck_shape(const void *x, size_t n, size_t d, size_t min_n)
{
    if (!x) return ig_rerror(IG_REGRESS_EINVAL, "regress: feature rows are NULL");
    if (n < min_n)
        return ig_rerror(IG_REGRESS_EINVAL, "regress: need at least %zu rows, got %zu", min_n, n);
    if (d == 0) return ig_rerror(IG_REGRESS_EINVAL, "regress: rows have 0 features");
    if (n > (size_t)INT32_MAX || d > (size_t)INT32_MAX || n > SIZE_MAX / d)
        return ig_rerror(IG_REGRESS_EINVAL, "regress: %zu x %zu rows is too large", n, d);
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_rcheck_f32(const float *v, size_t count, const char *what)
{
    int bad = 0;
    size_t first = 0;
    /* a cheap reduction first; locate the culprit only when one exists */
#pragma omp parallel for reduction(| : bad) schedule(static) if (count > (1u << 20))
    for (size_t i = 0; i < count; i++) bad |= !isfinite(v[i]);
    if (!bad) return IG_REGRESS_OK;
    while (isfinite(v[first])) first++;
    return ig_rerror(IG_REGRESS_EINVAL, "regress: %s[%zu] is %s", what, first,
                     isnan(v[first]) ? "NaN" : "infinite");
}

/* ------------------------------------------------------------------ binning */

enum ig_regress_status ig_rdata_init_u8(struct ig_rdata *D, const uint8_t *x, size_t n, size_t d)
{
    memset(D, 0, sizeof *D);
    D->n = n;
    D->d = d;
    D->codes = x;
    return IG_REGRESS_OK;
}

static int ig_rcmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

enum ig_regress_status ig_rdata_init_f32(struct ig_rdata *D, const float *x, size_t n, size_t d)
{
    memset(D, 0, sizeof *D);
    D->n = n;
    D->d = d;
    D->codes_owned = malloc(n * d);
    D->bin_lo = malloc(d * IG_RBINS * sizeof(float));
    D->bin_hi = malloc(d * IG_RBINS * sizeof(float));
    if (!D->codes_owned || !D->bin_lo || !D->bin_hi) {
        ig_rdata_free(D);
        return ig_rerror(IG_REGRESS_ENOMEM, "regress: cannot allocate binned data (%zu x %zu)", n, d);
    }
    D->codes = D->codes_owned;
    int fail = 0;
#pragma omp parallel
    {
        float *col = malloc(n * sizeof(float));
        if (!col) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t f = 0; f < d; f++) {
            if (!col) continue;
            for (size_t i = 0; i < n; i++) col[i] = x[i * d + f];
            qsort(col, n, sizeof(float), ig_rcmp_float);
            /* Greedy quantile bins: a bin closes once it holds >= ceil(n/256) values and
             * the value changes, so equal values share a bin and there are <= 256 bins.
             * A feature with <= 256 distinct values gets one bin per value (exact). */
            size_t distinct = 1;
            for (size_t i = 1; i < n; i++) distinct += col[i] != col[i - 1];
            size_t target = distinct <= IG_RBINS ? 1 : (n + IG_RBINS - 1) / IG_RBINS;
            float *lo = D->bin_lo + f * IG_RBINS, *hi = D->bin_hi + f * IG_RBINS;
            int b = 0;
            size_t in_bin = 1;
            lo[0] = col[0];
            for (size_t i = 1; i < n; i++) {
                if (col[i] != col[i - 1] && in_bin >= target && b < IG_RBINS - 1) {
                    hi[b] = col[i - 1];
                    lo[++b] = col[i];
                    in_bin = 0;
                }
                in_bin++;
            }
            hi[b] = col[n - 1];
            for (int k = b + 1; k < IG_RBINS; k++) lo[k] = hi[k] = INFINITY;
            for (size_t i = 0; i < n; i++) {
                float v = x[i * d + f];
                int a = 0, c = b; /* first bin with v <= hi */
                while (a < c) {
                    int mid = (a + c) / 2;
                    if (v <= hi[mid]) c = mid; else a = mid + 1;
                }
                D->codes_owned[i * d + f] = (uint8_t)a;
            }
        }
        free(col);
    }
    if (fail) {
        ig_rdata_free(D);
        return ig_rerror(IG_REGRESS_ENOMEM, "regress: cannot allocate a column buffer");
    }
    return IG_REGRESS_OK;
}

void ig_rdata_free(struct ig_rdata *D)
{
    free(D->codes_owned);
    free(D->bin_lo);
    free(D->bin_hi);
    memset(D, 0, sizeof *D);
}

float ig_rdata_threshold(const struct ig_rdata *D, int f, int b, int b_next)
{
    double a, c;
    if (D->bin_hi) {
        a = D->bin_hi[(size_t)f * IG_RBINS + b];
        c = D->bin_lo[(size_t)f * IG_RBINS + b_next];
    } else {
        a = b;
        c = b_next;
    }
    /* scikit-learn: midpoint, but never the right value itself (adjacent floats) */
    float t = (float)((a + c) / 2.0);
    if (t >= (float)c || !isfinite(t)) t = (float)a;
    return t;
}

/* --------------------------------------------------------------- node arrays */

enum ig_regress_status ig_rtree_reserve(struct ig_rtree *t, int32_t cap)
{
    if (cap <= t->cap) return IG_REGRESS_OK;
    int32_t *f = realloc(t->feature, (size_t)cap * sizeof *f);
    if (f) t->feature = f;
    int32_t *l = realloc(t->left, (size_t)cap * sizeof *l);
    if (l) t->left = l;
    int32_t *r = realloc(t->right, (size_t)cap * sizeof *r);
    if (r) t->right = r;
    float *th = realloc(t->threshold, (size_t)cap * sizeof *th);
    if (th) t->threshold = th;
    double *v = realloc(t->value, (size_t)cap * (size_t)t->n_out * sizeof *v);
    if (v) t->value = v;
    if (!f || !l || !r || !th || !v)
        return ig_rerror(IG_REGRESS_ENOMEM, "regress: cannot grow a tree to %d nodes", cap);
    t->cap = cap;
    return IG_REGRESS_OK;
}

int32_t ig_rtree_add(struct ig_rtree *t, int32_t depth)
{
    if (t->n_nodes == t->cap && ig_rtree_reserve(t, t->cap ? 2 * t->cap : 16) != IG_REGRESS_OK)
        return -1;
    int32_t i = t->n_nodes++;
    t->feature[i] = -1;
    t->left[i] = t->right[i] = -1;
    t->threshold[i] = 0.0f;
    for (int k = 0; k < t->n_out; k++) t->value[(size_t)i * t->n_out + k] = 0.0;
    if (depth > t->depth) t->depth = depth;
    return i;
}

void ig_rtree_free(struct ig_rtree *t)
{
    free(t->feature);
    free(t->left);
    free(t->right);
    free(t->threshold);
    free(t->value);
    memset(t, 0, sizeof *t);
}

enum ig_regress_status ig_rtree_validate(const struct ig_rtree *t, size_t d)
{
    if (t->n_nodes < 1) return ig_rerror(IG_REGRESS_EFORMAT, "regress: tree has no nodes");
    /* every node except the root has exactly one parent with a smaller index: acyclic */
    char *seen = calloc((size_t)t->n_nodes, 1);
    if (!seen) return ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory");
    enum ig_regress_status st = IG_REGRESS_OK;
    for (int32_t i = 0; i < t->n_nodes && st == IG_REGRESS_OK; i++) {
        for (int k = 0; k < t->n_out; k++)
            if (!isfinite(t->value[(size_t)i * t->n_out + k]))
                st = ig_rerror(IG_REGRESS_EFORMAT, "regress: node %d has a non-finite value", i);
        if (t->feature[i] < 0) {
            if (t->feature[i] != -1 || t->left[i] != -1 || t->right[i] != -1)
                st = ig_rerror(IG_REGRESS_EFORMAT, "regress: leaf %d has children", i);
            continue;
        }
        int32_t l = t->left[i], r = t->right[i];
        if ((size_t)t->feature[i] >= d)
            st = ig_rerror(IG_REGRESS_EFORMAT, "regress: node %d splits feature %d of %zu", i,
                           t->feature[i], d);
        else if (l <= i || r <= i || l >= t->n_nodes || r >= t->n_nodes || l == r || seen[l] ||
                 seen[r])
            st = ig_rerror(IG_REGRESS_EFORMAT, "regress: node %d has bad children (%d, %d)", i, l, r);
        else if (isnan(t->threshold[i]))
            st = ig_rerror(IG_REGRESS_EFORMAT, "regress: node %d has a NaN threshold", i);
        else
            seen[l] = seen[r] = 1;
    }
    for (int32_t i = 1; i < t->n_nodes && st == IG_REGRESS_OK; i++)
        if (!seen[i]) st = ig_rerror(IG_REGRESS_EFORMAT, "regress: node %d is unreachable", i);
    free(seen);
    return st;
}
