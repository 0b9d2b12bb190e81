/* regress prediction: trees compiled to complete branch-free layouts, rows in blocks over OpenMP. */
#include "ig_regress_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fills the complete layout of tree t below compiled slot c (depth dep of D). A leaf met
 * before depth D becomes a pass-through node (always left) and its value fills every
 * complete leaf below it. */
static void ig_rcompile_fill(const struct ig_rtree *t, int32_t node, size_t c, int dep, int D,
                             int32_t *feat, float *thr, int16_t *thr8, float *val, int n_out,
                             double scale)
{
    size_t n_int = ((size_t)1 << D) - 1;
    if (dep == D) {
        for (int k = 0; k < n_out; k++)
            val[(c - n_int) * n_out + k] = (float)(scale * t->value[(size_t)node * t->n_out + k]);
        return;
    }
    int32_t l = node, r = node;
    if (t->feature[node] >= 0) {
        feat[c] = t->feature[node];
        float th = t->threshold[node];
        thr[c] = th;
        /* integer x: x <= th  <=>  x <= floor(th) */
        double fl = floor((double)th);
        thr8[c] = (int16_t)(fl < -1.0 ? -1 : fl > 255.0 ? 255 : fl);
        l = t->left[node];
        r = t->right[node];
    } else {
        feat[c] = 0;
        thr[c] = INFINITY;
        thr8[c] = 255;
    }
    ig_rcompile_fill(t, l, 2 * c + 1, dep + 1, D, feat, thr, thr8, val, n_out, scale);
    ig_rcompile_fill(t, r, 2 * c + 2, dep + 1, D, feat, thr, thr8, val, n_out, scale);
}

enum ig_regress_status ig_rens_compile(struct ig_rens *e)
{
    free(e->c_feat);
    free(e->c_thr);
    free(e->c_thr8);
    free(e->c_val);
    e->c_feat = NULL;
    e->c_thr = NULL;
    e->c_thr8 = NULL;
    e->c_val = NULL;
    e->compiled = 0;
    int D = 0;
    for (int t = 0; t < e->n_trees; t++)
        if (e->trees[t].depth > D) D = e->trees[t].depth;
    e->c_depth = D;
    if (D > IG_RCOMPILE_MAX_DEPTH) return IG_REGRESS_OK; /* generic traversal */
    size_t n_int = ((size_t)1 << D) - 1, n_leaf = (size_t)1 << D;
    size_t T = (size_t)e->n_trees;
    e->c_feat = malloc((T * n_int + 1) * sizeof(int32_t));
    e->c_thr = malloc((T * n_int + 1) * sizeof(float));
    e->c_thr8 = malloc((T * n_int + 1) * sizeof(int16_t));
    e->c_val = malloc(T * n_leaf * (size_t)e->n_out * sizeof(float));
    if (!e->c_feat || !e->c_thr || !e->c_thr8 || !e->c_val)
        return ig_rerror(IG_REGRESS_ENOMEM, "regress: cannot allocate the compiled trees");
    for (size_t t = 0; t < T; t++)
        ig_rcompile_fill(&e->trees[t], 0, 0, 0, D, e->c_feat + t * n_int, e->c_thr + t * n_int,
                         e->c_thr8 + t * n_int, e->c_val + t * n_leaf * e->n_out, e->n_out,
                         e->scale);
    e->compiled = 1;
    return IG_REGRESS_OK;
}

void ig_rens_free(struct ig_rens *e)
{
    if (e->trees)
        for (int t = 0; t < e->n_trees; t++) ig_rtree_free(&e->trees[t]);
    free(e->trees);
    free(e->c_feat);
    free(e->c_thr);
    free(e->c_thr8);
    free(e->c_val);
    memset(e, 0, sizeof *e);
}

#define IG_RBLOCK 8 /* rows traversed together: independent chains hide load latency */

/* rows [i0, i0+nb) of u8 data through the complete layout, acc: [nb, n_out] */
static void ig_rpredict_block_u8(const struct ig_rens *e, const uint8_t *x, size_t i0, int nb,
                                 float *acc)
{
    const int D = e->c_depth, n_out = e->n_out;
    const size_t n_int = ((size_t)1 << D) - 1, n_leaf = (size_t)1 << D, d = e->d;
    const uint8_t *rows[IG_RBLOCK];
    for (int r = 0; r < nb; r++) rows[r] = x + (i0 + (size_t)r) * d;
    for (int t = 0; t < e->n_trees; t++) {
        const int32_t *feat = e->c_feat + (size_t)t * n_int;
        const int16_t *thr = e->c_thr8 + (size_t)t * n_int;
        const float *val = e->c_val + (size_t)t * n_leaf * n_out;
        size_t node[IG_RBLOCK] = {0};
        for (int lev = 0; lev < D; lev++)
            for (int r = 0; r < nb; r++) {
                size_t c = node[r];
                node[r] = 2 * c + 1 + (size_t)((int)rows[r][feat[c]] > (int)thr[c]);
            }
        if (n_out == 1)
            for (int r = 0; r < nb; r++) acc[r] += val[node[r] - n_int];
        else
            for (int r = 0; r < nb; r++)
                for (int k = 0; k < n_out; k++) acc[r * n_out + k] += val[(node[r] - n_int) * n_out + k];
    }
}

static void ig_rpredict_block_f32(const struct ig_rens *e, const float *x, size_t i0, int nb,
                                  float *acc)
{
    const int D = e->c_depth, n_out = e->n_out;
    const size_t n_int = ((size_t)1 << D) - 1, n_leaf = (size_t)1 << D, d = e->d;
    const float *rows[IG_RBLOCK];
    for (int r = 0; r < nb; r++) rows[r] = x + (i0 + (size_t)r) * d;
    for (int t = 0; t < e->n_trees; t++) {
        const int32_t *feat = e->c_feat + (size_t)t * n_int;
        const float *thr = e->c_thr + (size_t)t * n_int;
        const float *val = e->c_val + (size_t)t * n_leaf * n_out;
        size_t node[IG_RBLOCK] = {0};
        for (int lev = 0; lev < D; lev++)
            for (int r = 0; r < nb; r++) {
                size_t c = node[r];
                node[r] = 2 * c + 1 + (size_t)(rows[r][feat[c]] > thr[c]);
            }
        for (int r = 0; r < nb; r++)
            for (int k = 0; k < n_out; k++) acc[r * n_out + k] += val[(node[r] - n_int) * n_out + k];
    }
}

/* deep trees: pointer-chasing over the node arrays */
static void ig_rpredict_row_generic(const struct ig_rens *e, const void *x, int is_u8, size_t i,
                                    float *acc)
{
    for (int t = 0; t < e->n_trees; t++) {
        const struct ig_rtree *tr = &e->trees[t];
        int32_t node = 0;
        while (tr->feature[node] >= 0) {
            size_t f = (size_t)tr->feature[node];
            float v = is_u8 ? (float)((const uint8_t *)x)[i * e->d + f] : ((const float *)x)[i * e->d + f];
            node = v <= tr->threshold[node] ? tr->left[node] : tr->right[node];
        }
        for (int k = 0; k < e->n_out; k++)
            acc[k] += (float)(e->scale * tr->value[(size_t)node * tr->n_out + k]);
    }
}

void ig_rens_predict(const struct ig_rens *e, const void *x, int is_u8, size_t n, float *out,
                     int n_threads)
{
    const int n_out = e->n_out;
    const long nblocks = (long)((n + IG_RBLOCK - 1) / IG_RBLOCK);
    (void)n_threads;
/* dynamic chunks of 128 rows: a thread that loses its core does not hold up the others */
#pragma omp parallel for schedule(dynamic, 16) num_threads(ig_rthreads(n_threads)) if (n > 64)
    for (long bi = 0; bi < nblocks; bi++) {
        size_t i0 = (size_t)bi * IG_RBLOCK;
        int nb = (int)(n - i0 < IG_RBLOCK ? n - i0 : IG_RBLOCK);
        float acc[IG_RBLOCK * IG_RMAX_OUT];
        memset(acc, 0, sizeof acc);
        if (e->compiled) {
            if (is_u8) ig_rpredict_block_u8(e, x, i0, nb, acc);
            else ig_rpredict_block_f32(e, x, i0, nb, acc);
        } else {
            for (int r = 0; r < nb; r++) ig_rpredict_row_generic(e, x, is_u8, i0 + r, acc + r * n_out);
        }
        for (int r = 0; r < nb; r++)
            for (int k = 0; k < n_out; k++)
                out[(i0 + r) * n_out + k] = (float)(e->base[k] + acc[r * n_out + k]);
    }
}
