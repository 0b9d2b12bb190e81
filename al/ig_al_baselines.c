/* Baseline selection rules on model outputs: margin, entropy, EGL from per-class gradient norms, BADGE (k-means++ on factorised gradient embeddings), Core-set (greedy k-centre). */
#include "ig_al.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum ig_status ig_al_margin_scores(const float *probs, size_t n, size_t m, double *out)
{
    if (!probs || !out) return ig_error(IG_ERR_INVALID_ARG, "ig_al_margin_scores: NULL argument");
    if (m < 2) return ig_error(IG_ERR_INVALID_ARG, "ig_al_margin_scores: %zu classes, need at least 2", m);
    for (size_t i = 0; i < n; i++) {
        double p1 = -1, p2 = -1;
        for (size_t j = 0; j < m; j++) {
            double p = probs[i * m + j];
            if (p > p1) p2 = p1, p1 = p;
            else if (p > p2) p2 = p;
        }
        out[i] = 1.0 - (p1 - p2);
    }
    return IG_OK;
}

enum ig_status ig_al_entropy_scores(const float *probs, size_t n, size_t m, double *out)
{
    if (!probs || !out) return ig_error(IG_ERR_INVALID_ARG, "ig_al_entropy_scores: NULL argument");
    if (m < 2) return ig_error(IG_ERR_INVALID_ARG, "ig_al_entropy_scores: %zu classes, need at least 2", m);
    for (size_t i = 0; i < n; i++) {
        double h = 0;
        for (size_t j = 0; j < m; j++) {
            double p = probs[i * m + j];
            if (p > 0) h -= p * log(p);
        }
        out[i] = h;
    }
    return IG_OK;
}

enum ig_status ig_al_egl_scores(const float *probs, const double *class_sq, size_t n, size_t m, double *out)
{
    if (!probs || !class_sq || !out) return ig_error(IG_ERR_INVALID_ARG, "ig_al_egl_scores: NULL argument");
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t c = 0; c < m; c++) s += (double)probs[i * m + c] * sqrt(class_sq[i * m + c] > 0 ? class_sq[i * m + c] : 0);
        out[i] = s;
    }
    return IG_OK;
}

/* ---------------------------------------------------------------- BADGE */

/* a_i = p_i - onehot(argmax p_i) [n,C] and the squared norms of a_i and b_i = feats_i. */
static void badge_factors(const float *probs, const float *feats, size_t n, size_t C, size_t F, double *a, double *na,
                          double *nb)
{
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t c = 1; c < C; c++)
            if (probs[i * C + c] > probs[i * C + best]) best = c;
        double s = 0, t = 0;
        for (size_t c = 0; c < C; c++) {
            a[i * C + c] = (double)probs[i * C + c] - (c == best ? 1.0 : 0.0);
            s += a[i * C + c] * a[i * C + c];
        }
        for (size_t f = 0; f < F; f++) t += (double)feats[i * F + f] * (double)feats[i * F + f];
        na[i] = s;
        nb[i] = t;
    }
}

/* ‖a_i⊗b_i − a_j⊗b_j‖² = ‖a_i‖²‖b_i‖² − 2 (a_i·a_j)(b_i·b_j) + ‖a_j‖²‖b_j‖² (clamped at 0). */
static double badge_dist(const double *a, const float *feats, const double *na, const double *nb, size_t C, size_t F,
                         size_t i, size_t j)
{
    double ad = 0, bd = 0;
    for (size_t c = 0; c < C; c++) ad += a[i * C + c] * a[j * C + c];
    for (size_t f = 0; f < F; f++) bd += (double)feats[i * F + f] * (double)feats[j * F + f];
    double d = na[i] * nb[i] - 2.0 * ad * bd + na[j] * nb[j];
    return d > 0 ? d : 0;
}

/* D² sampling: the first i whose cumulative weight exceeds u · total (u uniform in [0,1)). */
static size_t sample_d2(const double *d2, const char *taken, size_t n, double u)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        if (!taken[i]) total += d2[i];
    size_t last = n;
    double acc = 0, target = u * total;
    for (size_t i = 0; i < n; i++) {
        if (taken[i]) continue;
        last = i;
        acc += d2[i];
        if (total > 0 && acc > target) return i;
    }
    return last;   /* all remaining at distance 0 (or rounding): the last untaken */
}

enum ig_status ig_al_badge_select(const float *probs, const float *feats, size_t n, size_t C, size_t F, size_t k,
                                  uint64_t seed, size_t *picked)
{
    if (!probs || !feats || !picked) return ig_error(IG_ERR_INVALID_ARG, "ig_al_badge_select: NULL argument");
    if (k > n) return ig_error(IG_ERR_INVALID_ARG, "ig_al_badge_select: k = %zu exceeds the pool size %zu", k, n);
    if (k == 0) return IG_OK;
    double *a = malloc(n * C * sizeof *a), *na = malloc(n * sizeof *na), *nb = malloc(n * sizeof *nb);
    double *d2 = malloc(n * sizeof *d2);
    char *taken = calloc(n, 1);
    if (!a || !na || !nb || !d2 || !taken) {
        free(a), free(na), free(nb), free(d2), free(taken);
        return ig_error(IG_ERR_OOM, "ig_al_badge_select: out of memory for %zu points", n);
    }
    badge_factors(probs, feats, n, C, F, a, na, nb);
    /* first centre: the largest gradient embedding (as in the BADGE code), ties to the lower index */
    size_t c = 0;
    for (size_t i = 1; i < n; i++)
        if (na[i] * nb[i] > na[c] * nb[c]) c = i;
    uint64_t state = seed;
    for (size_t j = 0;; j++) {
        picked[j] = c;
        taken[c] = 1;
        if (j + 1 == k) break;
        for (size_t i = 0; i < n; i++) {
            double d = taken[i] ? 0 : badge_dist(a, feats, na, nb, C, F, i, c);
            d2[i] = j == 0 || d < d2[i] ? d : d2[i];
        }
        state = ig_hash64(state + 0x9E3779B97F4A7C15ull);
        c = sample_d2(d2, taken, n, (double)(state >> 11) * 0x1.0p-53);
    }
    free(a), free(na), free(nb), free(d2), free(taken);
    return IG_OK;
}

/* ---------------------------------------------------------------- Core-set */

static double sq_dist(const float *x, const float *y, size_t F)
{
    double s = 0;
    for (size_t f = 0; f < F; f++) {
        double d = (double)x[f] - (double)y[f];
        s += d * d;
    }
    return s;
}

enum ig_status ig_al_coreset_select(const float *pool, size_t n, const float *labeled, size_t n_lab, size_t F, size_t k,
                                    size_t *picked)
{
    if (!pool || !picked || (n_lab && !labeled)) return ig_error(IG_ERR_INVALID_ARG, "ig_al_coreset_select: NULL argument");
    if (k > n) return ig_error(IG_ERR_INVALID_ARG, "ig_al_coreset_select: k = %zu exceeds the pool size %zu", k, n);
    double *dmin = malloc((n ? n : 1) * sizeof *dmin);
    if (!dmin) return ig_error(IG_ERR_OOM, "ig_al_coreset_select: out of memory for %zu points", n);
    for (size_t i = 0; i < n; i++) {
        double d = INFINITY;
        for (size_t j = 0; j < n_lab; j++) {
            double e = sq_dist(pool + i * F, labeled + j * F, F);
            if (e < d) d = e;
        }
        dmin[i] = d;
    }
    for (size_t j = 0; j < k; j++) {
        /* the point farthest from every centre, ties to the lower index; chosen points have -1 */
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (dmin[i] > dmin[best]) best = i;
        picked[j] = best;
        dmin[best] = -1;
        for (size_t i = 0; i < n; i++) {
            if (dmin[i] < 0) continue;
            double e = sq_dist(pool + i * F, pool + best * F, F);
            if (e < dmin[i]) dmin[i] = e;
        }
    }
    free(dmin);
    return IG_OK;
}
