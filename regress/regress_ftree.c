/* regress forest trees: weighted (bootstrap) Gini / squared-error trees with random feature subsets per node. */
#include "regress_internal.h"
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

enum ig_regress_status ig_ftree_fit(struct ig_rtree *t, const struct ig_rdata *D,
                                    const int32_t *labels, const double *y,
                                    const struct ig_ftree_params *p, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    const size_t n = D->n, d = D->d;
    const int classif = p->n_classes > 0;
    const int C = classif ? p->n_classes : 2;
    t->n_out = classif ? p->n_classes : 1;
    struct ig_fscratch s;
    s.cnt = calloc(IG_RBINS, sizeof(int32_t));
    s.acc = calloc((size_t)IG_RBINS * C, sizeof(double));
    s.feat = malloc(d * sizeof(int32_t));
    s.w = calloc(n, sizeof(int32_t));
    s.idx = malloc(n * sizeof(int32_t));
    s.tmp = malloc(n * sizeof(int32_t));
    s.cl = malloc((size_t)C * sizeof(double));
    s.tot = malloc((size_t)C * sizeof(double));
    struct ig_fframe *stack = malloc((size_t)(2 * n + 8) * sizeof *stack);
    enum ig_regress_status st = IG_REGRESS_OK;
    if (!s.cnt || !s.acc || !s.feat || !s.w || !s.idx || !s.tmp || !s.cl || !s.tot || !stack ||
        ig_rtree_reserve(t, 64)) {
        st = ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory building a forest tree");
        goto done;
    }
    uint64_t rng = seed;
    if (p->bootstrap)
        for (size_t i = 0; i < n; i++) s.w[ig_rbounded(&rng, (uint32_t)n)]++;
    else
        for (size_t i = 0; i < n; i++) s.w[i] = 1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (s.w[i] > 0) s.idx[m++] = (int32_t)i;
    for (size_t f = 0; f < d; f++) s.feat[f] = (int32_t)f;
    const int max_feat = p->max_features;
    const int32_t msl = p->min_samples_leaf;

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
        const int32_t cnt = fr.end - fr.start;
        const int32_t *nidx = s.idx + fr.start;
        /* node totals: tot[k] (class weights) or tot = (W, S); sq = sum w*y^2 */
        double W = 0.0, sq = 0.0, impurity;
        for (int k = 0; k < C; k++) s.tot[k] = 0.0;
        for (int32_t q = 0; q < cnt; q++) {
            int32_t i = nidx[q];
            double wi = s.w[i];
            W += wi;
            if (classif) s.tot[labels[i]] += wi;
            else {
                s.tot[1] += wi * y[i];
                sq += wi * y[i] * y[i];
            }
        }
        if (classif) {
            double g = 1.0;
            for (int k = 0; k < C; k++) {
                double pk = s.tot[k] / W;
                t->value[(size_t)node * C + k] = pk;
                g -= pk * pk;
            }
            impurity = g;
        } else {
            double mean = s.tot[1] / W;
            t->value[node] = mean;
            impurity = sq / W - mean * mean;
            s.tot[0] = W;
        }
        int leaf = (p->max_depth >= 0 && fr.depth >= p->max_depth) || cnt < p->min_samples_split ||
                   cnt < 2 * msl || impurity <= 2.220446049250313e-16;
        double best = -INFINITY;
        int32_t bf = -1, bb = -1, bnext = -1;
        if (!leaf) {
            int found = 0;
            for (size_t j = 0; j < d && found < max_feat; j++) {
                size_t r = j + ig_rbounded(&rng, (uint32_t)(d - j));
                int32_t f = s.feat[r];
                s.feat[r] = s.feat[j];
                s.feat[j] = f;
                uint64_t bm[IG_RBINS / 64] = {0};
                for (int32_t q = 0; q < cnt; q++) {
                    int32_t i = nidx[q];
                    int c = D->codes[(size_t)i * d + (size_t)f];
                    bm[c >> 6] |= 1ull << (c & 63);
                    s.cnt[c]++;
                    if (classif) s.acc[c * C + labels[i]] += s.w[i];
                    else {
                        s.acc[c * 2] += s.w[i];
                        s.acc[c * 2 + 1] += s.w[i] * y[i];
                    }
                }
                int nonempty = 0;
                for (int k = 0; k < IG_RBINS / 64; k++) nonempty += __builtin_popcountll(bm[k]);
                if (nonempty > 1) found++;
                /* scan: a split after bin `prev` is evaluated when the next non-empty bin is met */
                int32_t cl = 0, prev = -1;
                double WL = 0.0;
                for (int k = 0; k < C; k++) s.cl[k] = 0.0;
                for (int wi = 0; wi < IG_RBINS / 64; wi++) {
                    uint64_t bits = bm[wi];
                    while (bits) {
                        int b = wi * 64 + __builtin_ctzll(bits);
                        bits &= bits - 1;
                        if (prev >= 0 && cl >= msl && cnt - cl >= msl) {
                            double WR = W - WL, pr;
                            if (classif) {
                                double a = 0.0, c2 = 0.0;
                                for (int k = 0; k < C; k++) {
                                    a += s.cl[k] * s.cl[k];
                                    double rr = s.tot[k] - s.cl[k];
                                    c2 += rr * rr;
                                }
                                pr = a / WL + c2 / WR;
                            } else {
                                double sr = s.tot[1] - s.cl[1];
                                pr = s.cl[1] * s.cl[1] / WL + sr * sr / WR;
                            }
                            if (pr > best) {
                                best = pr;
                                bf = f;
                                bb = prev;
                                bnext = b;
                            }
                        }
                        cl += s.cnt[b];
                        s.cnt[b] = 0;
                        double *ab = s.acc + (size_t)b * C;
                        for (int k = 0; k < C; k++) {
                            s.cl[k] += ab[k];
                            ab[k] = 0.0;
                        }
                        if (classif) {
                            WL = 0.0;
                            for (int k = 0; k < C; k++) WL += s.cl[k];
                        } else {
                            WL = s.cl[0];
                        }
                        prev = b;
                    }
                }
            }
            leaf = bf < 0;
        }
        if (leaf) continue;
        int32_t nl = 0, nr = 0;
        for (int32_t q = fr.start; q < fr.end; q++) {
            int32_t i = s.idx[q];
            if (D->codes[(size_t)i * d + (size_t)bf] <= bb) s.idx[fr.start + nl++] = i;
            else s.tmp[nr++] = i;
        }
        memcpy(s.idx + fr.start + nl, s.tmp, (size_t)nr * sizeof(int32_t));
        t->feature[node] = bf;
        t->threshold[node] = ig_rdata_threshold(D, bf, bb, bnext);
        stack[sp++] = (struct ig_fframe){fr.start + nl, fr.end, fr.depth + 1, node, 0};
        stack[sp++] = (struct ig_fframe){fr.start, fr.start + nl, fr.depth + 1, node, 1};
    }
done:
    free(s.cnt);
    free(s.acc);
    free(s.feat);
    free(s.w);
    free(s.idx);
    free(s.tmp);
    free(s.cl);
    free(s.tot);
    free(stack);
    if (st) ig_rtree_free(t);
    return st;
}
