/* regress boosting trees: Friedman-MSE regression trees on 256-bin histograms, 16 features per SIMD block. */
#include "ig_regress_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Split search at a node with samples idx[start, end) and gradients g:
 * for each block of W = 16 consecutive features, one pass over the node's rows builds the
 * block's histograms laid out [bin][feature] (so a scan over bins runs the 16 features in
 * SIMD lanes), then a scan over the 256 bins evaluates every "code <= b" split:
 *
 *   Friedman improvement  (n_r*s_l - n_l*s_r)^2 / (n_l*n_r) = (n*s_l - n_l*s)^2 / (n_l*n_r)
 *
 * (proportional to scikit-learn's squared-error proxy s_l^2/n_l + s_r^2/n_r - s^2/n, so the
 * same split wins). Bins that are empty in the node repeat the previous partition with the
 * same score; the strict ">" keeps the first, i.e. the split right after a non-empty bin,
 * and its threshold is the midpoint to the next non-empty bin, as in scikit-learn.
 * When every gradient is +-1 (absolute error) a bin is one int32: count << 16 | #positives,
 * which halves the scatter traffic; otherwise two double arrays (count, sum).
 * Scores num^2/den are compared by cross-multiplication in double (exact for the packed case).
 * Blocks are spread over OpenMP threads; ties go to the lower feature index. The block kernels
 * (histograms + scan) are in ig_regress_boost_scan.c, built once per instruction set.
 */
#define W IG_RSCAN_W

struct ig_boost_tree_ws {
    const struct ig_boost_scan *scan;   /* the block kernels of the fit's instruction set */
    int n_threads;        /* threads the scratch is sized for */
    int team;             /* threads used for the current tree (<= n_threads) */
    double *hist;         /* [n_threads][2 * 256 * W] count, sum; zero between uses */
    int32_t *hist_pk;     /* [n_threads][256 * W] packed; zero between uses */
    int32_t *pk;          /* [n] packed gradient of idx[pos] */
    double *gd;           /* [n] gradient of idx[pos] */
    int32_t *tmp;         /* [n] partition scratch */
};

enum ig_regress_status ig_boost_tree_ws_new(struct ig_boost_tree_ws **out, size_t n, int n_threads, enum ig_regress_isa isa)
{
    const struct ig_boost_scan *scan;
    enum ig_regress_status st = ig_boost_scan_pick(isa, &scan);
    if (st) return st;
    struct ig_boost_tree_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory");
    ws->scan = scan;
    ws->n_threads = n_threads < 1 ? 1 : n_threads;
    size_t hsz = (size_t)ws->n_threads * 2 * IG_RBINS * W * sizeof(double);
    ws->hist = aligned_alloc(64, hsz);
    ws->hist_pk = aligned_alloc(64, hsz / 4);
    ws->pk = malloc(n * sizeof(int32_t));
    ws->gd = malloc(n * sizeof(double));
    ws->tmp = malloc(n * sizeof(int32_t));
    if (!ws->hist || !ws->hist_pk || !ws->pk || !ws->gd || !ws->tmp) {
        ig_boost_tree_ws_free(ws);
        return ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory for tree scratch");
    }
    memset(ws->hist, 0, hsz);
    memset(ws->hist_pk, 0, hsz / 4);
    *out = ws;
    return IG_REGRESS_OK;
}

void ig_boost_tree_ws_free(struct ig_boost_tree_ws *ws)
{
    if (!ws) return;
    free(ws->hist);
    free(ws->hist_pk);
    free(ws->pk);
    free(ws->gd);
    free(ws->tmp);
    free(ws);
}

static struct ig_gsplit ig_gnode_split(const struct ig_rdata *D, const int32_t *idx, size_t m,
                                       int packed, const int32_t *pk, const double *gd, double sum,
                                       int msl, struct ig_boost_tree_ws *ws)
{
    struct ig_gsplit best = {-1.0, 1.0, -1, -1};
    const int nblk = (int)((D->d + W - 1) / W);
    const double n = (double)m, s = sum, fmsl = (double)msl;
#pragma omp parallel num_threads(ws->team) if (ws->team > 1)
    {
        int tid = 0;
#if IG_HAVE_OPENMP
        tid = omp_get_thread_num();
#endif
        double *h = ws->hist + (size_t)tid * 2 * IG_RBINS * W;
        int32_t *hp = ws->hist_pk + (size_t)tid * IG_RBINS * W;
        struct ig_gsplit tb = {-1.0, 1.0, -1, -1};
#pragma omp for schedule(dynamic, 2) nowait
        for (int k = 0; k < nblk; k++) {
            int f0 = k * W, w = (int)(D->d - (size_t)f0 < W ? D->d - (size_t)f0 : W);
            if (packed)
                ws->scan->packed(D->codes, D->d, idx, pk, m, f0, w, hp, n, s, fmsl, &tb);
            else
                ws->scan->flt(D->codes, D->d, idx, gd, m, f0, w, h, h + IG_RBINS * W, n, s, fmsl, &tb);
        }
#pragma omp critical(ig_gsplit_merge)
        {
            if (tb.feature >= 0 && ig_gbetter(tb.num2, tb.den, tb.feature, &best)) best = tb;
        }
    }
    return best;
}

struct ig_gframe {
    int32_t start, end, depth, parent, is_left;
};

enum ig_regress_status ig_boost_tree_fit(struct ig_rtree *t, const struct ig_rdata *D,
                                    const double *g, int32_t *idx, size_t m,
                                    int32_t *leaf_of_pos, const struct ig_boost_tree_params *p,
                                    struct ig_boost_tree_ws *ws)
{
    memset(t, 0, sizeof *t);
    t->n_out = 1;
    enum ig_regress_status st = ig_rtree_reserve(t, 16);
    if (st) return st;
    ws->team = p->n_threads < 1 ? 1 : p->n_threads > ws->n_threads ? ws->n_threads : p->n_threads;
    int packed = m < 65536;
    for (size_t i = 0; i < m && packed; i++) packed = g[idx[i]] == 1.0 || g[idx[i]] == -1.0;
    int max_depth = p->max_depth;
    struct ig_gframe stack[2 * 64 + 4];
    int sp = 0;
    stack[sp++] = (struct ig_gframe){0, (int32_t)m, 0, -1, 0};
    const size_t d = D->d;
    while (sp > 0) {
        struct ig_gframe fr = stack[--sp];
        int32_t node = ig_rtree_add(t, fr.depth);
        if (node < 0) return ig_rerror(IG_REGRESS_ENOMEM, "regress: out of memory growing a tree");
        if (fr.parent >= 0) {
            if (fr.is_left) t->left[fr.parent] = node;
            else t->right[fr.parent] = node;
        }
        size_t cnt = (size_t)(fr.end - fr.start);
        double sum = 0.0, sq = 0.0;
        for (int32_t q = fr.start; q < fr.end; q++) {
            double v = g[idx[q]];
            sum += v;
            sq += v * v;
        }
        double mean = sum / (double)cnt;
        t->value[node] = mean;
        double impurity = sq / (double)cnt - mean * mean;
        int leaf = fr.depth >= max_depth || cnt < (size_t)p->min_samples_split ||
                   cnt < 2 * (size_t)p->min_samples_leaf || impurity <= 2.220446049250313e-16;
        struct ig_gsplit sp_best = {-1.0, 1.0, -1, -1};
        if (!leaf) {
            const int32_t *nidx = idx + fr.start;
            for (size_t q = 0; q < cnt; q++) {
                double v = g[nidx[q]];
                ws->pk[q] = (int32_t)(1 << 16) | (v > 0.0);
                ws->gd[q] = v;
            }
            sp_best = ig_gnode_split(D, nidx, cnt, packed, ws->pk, ws->gd, sum, p->min_samples_leaf,
                                     ws);
            leaf = sp_best.feature < 0;
        }
        if (leaf) {
            for (int32_t q = fr.start; q < fr.end; q++) leaf_of_pos[q] = node;
            continue;
        }
        /* partition: codes <= bin to the left (order kept), find the next non-empty bin */
        const int f = sp_best.feature, b = sp_best.bin;
        int b_next = IG_RBINS;
        int32_t nl = 0, nr = 0;
        for (int32_t q = fr.start; q < fr.end; q++) {
            int c = D->codes[(size_t)idx[q] * d + (size_t)f];
            if (c <= b) idx[fr.start + nl++] = idx[q];
            else {
                ws->tmp[nr++] = idx[q];
                if (c < b_next) b_next = c;
            }
        }
        memcpy(idx + fr.start + nl, ws->tmp, (size_t)nr * sizeof(int32_t));
        t->feature[node] = f;
        t->threshold[node] = ig_rdata_threshold(D, f, b, b_next);
        /* right pushed first: the left subtree gets the next ids (depth-first, as sklearn) */
        stack[sp++] = (struct ig_gframe){fr.start + nl, fr.end, fr.depth + 1, node, 0};
        stack[sp++] = (struct ig_gframe){fr.start, fr.start + nl, fr.depth + 1, node, 1};
    }
    return IG_REGRESS_OK;
}
