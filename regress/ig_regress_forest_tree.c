/* regress forest trees: weighted (bootstrap) Gini / squared-error trees with random feature subsets per node. */
#include "ig_regress_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * scikit-learn's DecisionTree with splitter="best" and max_features < d: at each node,
 * features are drawn without replacement (Fisher-Yates over a per-tree feature array)
 * until max_features non-constant ones have been evaluated (or none are left). Each drawn
 * feature gets a 256-bin histogram of the node's samples (distinct-sample count plus
 * per-class bootstrap weight, or weight and weighted target sum); only the non-empty bins
 * are visited (a bitmap), so small nodes cost O(samples), not O(256). Proxies maximised:
 *   Gini:          sum_k wl_k^2 / WL + sum_k wr_k^2 / WR
 *   squared error: sl^2 / WL + sr^2 / WR
 * min_samples_leaf counts distinct samples, as scikit-learn does with bootstrap weights.
 */

struct ig_fscratch {
    int32_t *cnt;    /* [256] distinct samples per bin */
    double *acc;     /* [256, C] class weights (C = n_classes) or (w, w*y) (C = 2) */
    int32_t *feat;   /* [d] feature order */
    int32_t *w;      /* [n] bootstrap counts */
    int32_t *idx;    /* [m] samples with w > 0 */
    int32_t *tmp;    /* [m] */
    double *cl;      /* [C] */
    double *tot;     /* [C] */
};

struct ig_fframe {
    int32_t start, end, depth, parent, is_left;
};

/* the node being split: its samples, totals and the best split found so far */
struct ig_fnode {
    const int32_t *nidx;
    int32_t cnt;
    double W;            /* bootstrap weight of the node */
    double best;         /* best proxy so far */
    int32_t bf, bb, bnext; /* feature, last bin going left, first non-empty bin on the right */
};

static void ig_fscratch_free(struct ig_fscratch *s)
{
    free(s->cnt);
    free(s->acc);
    free(s->feat);
    free(s->w);
    free(s->idx);
    free(s->tmp);
    free(s->cl);
    free(s->tot);
}

static int ig_fscratch_new(struct ig_fscratch *s, size_t n, size_t d, int C)
{
    s->cnt = calloc(IG_RBINS, sizeof(int32_t));
    s->acc = calloc((size_t)IG_RBINS * C, sizeof(double));
    s->feat = malloc(d * sizeof(int32_t));
    s->w = calloc(n, sizeof(int32_t));
    s->idx = malloc(n * sizeof(int32_t));
    s->tmp = malloc(n * sizeof(int32_t));
    s->cl = malloc((size_t)C * sizeof(double));
    s->tot = malloc((size_t)C * sizeof(double));
    return s->cnt && s->acc && s->feat && s->w && s->idx && s->tmp && s->cl && s->tot;
}

/* Node value (class frequencies or mean) into t, totals into s->tot; returns the impurity. */
static double ig_fnode_totals(struct ig_rtree *t, int32_t node, struct ig_fnode *nd,
                              struct ig_fscratch *s, const int32_t *labels, const double *y, int C,
                              int classif)
{
    double W = 0.0, sq = 0.0; /* sq = sum w*y^2 */
    for (int k = 0; k < C; k++) s->tot[k] = 0.0;
    for (int32_t q = 0; q < nd->cnt; q++) {
        int32_t i = nd->nidx[q];
        double wi = s->w[i];
        W += wi;
        if (classif) s->tot[labels[i]] += wi;
        else {
            s->tot[1] += wi * y[i];
            sq += wi * y[i] * y[i];
        }
    }
    nd->W = W;
    if (classif) {
        double g = 1.0;
        for (int k = 0; k < C; k++) {
            double pk = s->tot[k] / W;
            t->value[(size_t)node * C + k] = pk;
            g -= pk * pk;
        }
        return g;
    }
    double mean = s->tot[1] / W;
    t->value[node] = mean;
    s->tot[0] = W;
    return sq / W - mean * mean;
}

/* Histogram of feature f over the node's samples: bitmap of non-empty bins, returns their count. */
static int ig_ffeature_hist(const struct ig_rdata *D, int32_t f, const struct ig_fnode *nd,
                            struct ig_fscratch *s, const int32_t *labels, const double *y, int C,
                            int classif, uint64_t *bm)
{
    for (int32_t q = 0; q < nd->cnt; q++) {
        int32_t i = nd->nidx[q];
        int c = D->codes[(size_t)i * D->d + (size_t)f];
        bm[c >> 6] |= 1ull << (c & 63);
        s->cnt[c]++;
        if (classif) s->acc[c * C + labels[i]] += s->w[i];
        else {
            s->acc[c * 2] += s->w[i];
            s->acc[c * 2 + 1] += s->w[i] * y[i];
        }
    }
    int nonempty = 0;
    for (int k = 0; k < IG_RBINS / 64; k++) nonempty += __builtin_popcountll(bm[k]);
    return nonempty;
}

/* split proxy with s->cl on the left (weight WL) */
static double ig_fproxy(const struct ig_fscratch *s, double WL, double WR, int C, int classif)
{
    if (classif) {
        double a = 0.0, c2 = 0.0;
        for (int k = 0; k < C; k++) {
            a += s->cl[k] * s->cl[k];
            double rr = s->tot[k] - s->cl[k];
            c2 += rr * rr;
        }
        return a / WL + c2 / WR;
    }
    double sr = s->tot[1] - s->cl[1];
    return s->cl[1] * s->cl[1] / WL + sr * sr / WR;
}

/* Scan feature f's non-empty bins: a split after bin `prev` is evaluated when the next
 * non-empty bin is met. Clears the histogram on the way. */
static void ig_ffeature_scan(int32_t f, struct ig_fnode *nd, struct ig_fscratch *s, const uint64_t *bm,
                             int C, int classif, int32_t msl)
{
    int32_t cl = 0, prev = -1;
    double WL = 0.0;
    for (int k = 0; k < C; k++) s->cl[k] = 0.0;
    for (int wi = 0; wi < IG_RBINS / 64; wi++) {
        uint64_t bits = bm[wi];
        while (bits) {
            int b = wi * 64 + __builtin_ctzll(bits);
            bits &= bits - 1;
            if (prev >= 0 && cl >= msl && nd->cnt - cl >= msl) {
                double pr = ig_fproxy(s, WL, nd->W - WL, C, classif);
                if (pr > nd->best) {
                    nd->best = pr;
                    nd->bf = f;
                    nd->bb = prev;
                    nd->bnext = b;
                }
            }
            cl += s->cnt[b];
            s->cnt[b] = 0;
            double *ab = s->acc + (size_t)b * C;
            for (int k = 0; k < C; k++) {
                s->cl[k] += ab[k];
                ab[k] = 0.0;
            }
            if (classif) {
                WL = 0.0;
                for (int k = 0; k < C; k++) WL += s->cl[k];
            } else {
                WL = s->cl[0];
            }
            prev = b;
        }
    }
}

/* Draw features without replacement until max_features non-constant ones are evaluated. */
static void ig_fnode_search(const struct ig_rdata *D, struct ig_fnode *nd, struct ig_fscratch *s,
                            const int32_t *labels, const double *y, const struct ig_forest_tree_params *p,
                            uint64_t *rng)
{
    const size_t d = D->d;
    const int classif = p->n_classes > 0, C = classif ? p->n_classes : 2;
    int found = 0;
    for (size_t j = 0; j < d && found < p->max_features; j++) {
        size_t r = j + ig_rbounded(rng, (uint32_t)(d - j));
        int32_t f = s->feat[r];
        s->feat[r] = s->feat[j];
        s->feat[j] = f;
        uint64_t bm[IG_RBINS / 64] = {0};
        if (ig_ffeature_hist(D, f, nd, s, labels, y, C, classif, bm) > 1) found++;
        ig_ffeature_scan(f, nd, s, bm, C, classif, p->min_samples_leaf);
    }
}

/* codes <= bb to the left (order kept); returns the left count */
static int32_t ig_fpartition(const struct ig_rdata *D, struct ig_fscratch *s, const struct ig_fframe *fr,
                             int32_t bf, int32_t bb)
{
    int32_t nl = 0, nr = 0;
    for (int32_t q = fr->start; q < fr->end; q++) {
        int32_t i = s->idx[q];
        if (D->codes[(size_t)i * D->d + (size_t)bf] <= bb) s->idx[fr->start + nl++] = i;
        else s->tmp[nr++] = i;
    }
    memcpy(s->idx + fr->start + nl, s->tmp, (size_t)nr * sizeof(int32_t));
    return nl;
}

/* bootstrap counts (or all ones), the in-bag sample list; returns its length */
static size_t ig_fbootstrap(struct ig_fscratch *s, size_t n, size_t d, int bootstrap, uint64_t *rng)
{
    if (bootstrap)
        for (size_t i = 0; i < n; i++) s->w[ig_rbounded(rng, (uint32_t)n)]++;
    else
        for (size_t i = 0; i < n; i++) s->w[i] = 1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (s->w[i] > 0) s->idx[m++] = (int32_t)i;
    for (size_t f = 0; f < d; f++) s->feat[f] = (int32_t)f;
    return m;
}

enum ig_regress_status ig_forest_tree_fit(struct ig_rtree *t, const struct ig_rdata *D,
                                          const int32_t *labels, const double *y,
                                          const struct ig_forest_tree_params *p, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    const size_t n = D->n;
    const int classif = p->n_classes > 0;
    const int C = classif ? p->n_classes : 2;
    t->n_out = classif ? p->n_classes : 1;
    struct ig_fscratch s;
    struct ig_fframe *stack = malloc((size_t)(2 * n + 8) * sizeof *stack);
    enum ig_regress_status st = IG_REGRESS_OK;
    if (!ig_fscratch_new(&s, n, D->d, C) || !stack || ig_rtree_reserve(t, 64)) {
        st = ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory building a forest tree");
        goto done;
    }
    uint64_t rng = seed;
    size_t m = ig_fbootstrap(&s, n, D->d, p->bootstrap, &rng);
    int sp = 0;
    stack[sp++] = (struct ig_fframe){0, (int32_t)m, 0, -1, 0};
    while (sp > 0) {
        struct ig_fframe fr = stack[--sp];
        int32_t node = ig_rtree_add(t, fr.depth);
        if (node < 0) {
            st = ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory growing a tree");
            goto done;
        }
        if (fr.parent >= 0) {
            if (fr.is_left) t->left[fr.parent] = node;
            else t->right[fr.parent] = node;
        }
        struct ig_fnode nd = {s.idx + fr.start, fr.end - fr.start, 0.0, -INFINITY, -1, -1, -1};
        double impurity = ig_fnode_totals(t, node, &nd, &s, labels, y, C, classif);
        int leaf = (p->max_depth >= 0 && fr.depth >= p->max_depth) || nd.cnt < p->min_samples_split ||
                   nd.cnt < 2 * p->min_samples_leaf || impurity <= 2.220446049250313e-16;
        if (!leaf) ig_fnode_search(D, &nd, &s, labels, y, p, &rng);
        if (leaf || nd.bf < 0) continue;
        int32_t nl = ig_fpartition(D, &s, &fr, nd.bf, nd.bb);
        t->feature[node] = nd.bf;
        t->threshold[node] = ig_rdata_threshold(D, nd.bf, nd.bb, nd.bnext);
        stack[sp++] = (struct ig_fframe){fr.start + nl, fr.end, fr.depth + 1, node, 0};
        stack[sp++] = (struct ig_fframe){fr.start, fr.start + nl, fr.depth + 1, node, 1};
    }
done:
    ig_fscratch_free(&s);
    free(stack);
    if (st) ig_rtree_free(t);
    return st;
}
