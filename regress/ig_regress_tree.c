/* regress tree node arrays: growth, release and structural validation of loaded trees. */
#include "ig_regress_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
