/* LAL-IGradV importance scores (DS, LD, RDS, RLD) from gradient dot products, quantile binning, LCS, top-k. */
#include "ig_al.h"
#include "ig_util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *ig_al_score_name(enum ig_al_score kind)
{
    switch (kind) {
    case IG_AL_DS: return "DS";
    case IG_AL_LD: return "LD";
    case IG_AL_RDS: return "RDS";
    case IG_AL_RLD: return "RLD";
    default: return "?";
    }
}

int ig_al_score_parse(const char *name, enum ig_al_score *out)
{
    static const char *const names[] = {"DS", "LD", "RDS", "RLD"};
    for (int i = 0; i < 4; i++) {
        const char *a = name, *b = names[i];
        while (*a && *b && (*a == *b || *a == *b + ('a' - 'A'))) a++, b++;
        if (!*a && !*b) {
            *out = (enum ig_al_score)i;
            return 1;
        }
    }
    return 0;
}

/* DS = cos(d, d_x); LD = 1 - cos(d, d - d_x) in closed form (METHOD.md). Degenerate
 * (zero-norm) vectors give cosine 0. */
void ig_al_scores_from_dots(enum ig_al_score kind, size_t n, const double *dot, const double *sq_x, double delta_sq,
                            double *out)
{
    bool leave_out = kind == IG_AL_LD || kind == IG_AL_RLD;
    double nd = sqrt(delta_sq > 0 ? delta_sq : 0);
    for (size_t i = 0; i < n; i++) {
        double c;
        if (!leave_out) {
            double den = nd * sqrt(sq_x[i] > 0 ? sq_x[i] : 0);
            c = den > 0 ? dot[i] / den : 0.0;
            out[i] = c;
        } else {
            double rest_sq = delta_sq - 2.0 * dot[i] + sq_x[i];
            double den = nd * sqrt(rest_sq > 0 ? rest_sq : 0);
            c = den > 0 ? (delta_sq - dot[i]) / den : 0.0;
            out[i] = 1.0 - c;
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.quantile(..., method='linear') */
double ig_al_quantile(const double *x, size_t n, double q, double *work)
{
    if (n == 0) return NAN;
    memcpy(work, x, n * sizeof *x);
    qsort(work, n, sizeof *work, cmp_double);
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1) return work[n - 1];
    double frac = pos - (double)lo;
    return work[lo] + frac * (work[lo + 1] - work[lo]);
}

enum ig_status ig_al_rank_bin(const double *scores, size_t n, double *out)
{
    if (!scores || !out) return ig_error(IG_ERR_INVALID_ARG, "ig_al_rank_bin: NULL argument");
    if (n == 0) return IG_OK;
    double *work = malloc(n * sizeof *work);
    if (!work) return ig_error(IG_ERR_OOM, "ig_al_rank_bin: out of memory for %zu scores", n);
    double q1 = ig_al_quantile(scores, n, 0.25, work), q3 = ig_al_quantile(scores, n, 0.75, work);
    free(work);
    /* Q1 = Q3 (at least half the scores tie): r >= Q3 is tested first, so the tied scores
     * get 1, those below 0, those above 1; no score gets 0.5 */
    if (q1 == q3)
        ig_log(IG_LOG_WARN, "rank binning: Q1 = Q3 = %g over %zu scores; scores equal to it get 1, none 0.5", q1, n);
    for (size_t i = 0; i < n; i++) out[i] = scores[i] >= q3 ? 1.0 : scores[i] <= q1 ? 0.0 : 0.5;
    return IG_OK;
}

enum ig_status ig_al_lcs_scores(const float *probs, size_t n, size_t m, double *out)
{
    if (!probs || !out) return ig_error(IG_ERR_INVALID_ARG, "ig_al_lcs_scores: NULL argument");
    if (m < 2) return ig_error(IG_ERR_INVALID_ARG, "ig_al_lcs_scores: %zu classes, need at least 2", m);
    for (size_t i = 0; i < n; i++) {
        float best = probs[i * m];
        for (size_t j = 1; j < m; j++)
            if (probs[i * m + j] > best) best = probs[i * m + j];
        out[i] = (1.0 - (double)best) * (double)m / (double)(m - 1);
    }
    return IG_OK;
}

struct ranked { double s; size_t i; };

static int cmp_ranked_desc(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

enum ig_status ig_al_topk(const double *scores, size_t n, size_t k, size_t *out_idx)
{
    if (!scores || !out_idx) return ig_error(IG_ERR_INVALID_ARG, "ig_al_topk: NULL argument");
    if (k > n) return ig_error(IG_ERR_INVALID_ARG, "ig_al_topk: k = %zu exceeds the pool size %zu", k, n);
    struct ranked *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) return ig_error(IG_ERR_OOM, "ig_al_topk: out of memory for %zu scores", n);
    for (size_t i = 0; i < n; i++) {
        r[i].s = isnan(scores[i]) ? -INFINITY : scores[i];
        r[i].i = i;
    }
    qsort(r, n, sizeof *r, cmp_ranked_desc);
    for (size_t j = 0; j < k; j++) out_idx[j] = r[j].i;
    free(r);
    return IG_OK;
}

/* Spearman rank correlation (average ranks for ties). */
static void ranks(const double *x, size_t n, double *rank, struct ranked *tmp)
{
    for (size_t i = 0; i < n; i++) tmp[i] = (struct ranked){x[i], i};
    qsort(tmp, n, sizeof *tmp, cmp_ranked_desc);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b + 1 < n && tmp[b + 1].s == tmp[a].s) b++;
        double r = 0.5 * (double)(a + b);
        for (size_t j = a; j <= b; j++) rank[tmp[j].i] = r;
        a = b + 1;
    }
}

double ig_al_spearman(const double *x, const double *y, size_t n)
{
    if (n < 2) return NAN;
    double *rx = malloc(n * sizeof *rx), *ry = malloc(n * sizeof *ry);
    struct ranked *tmp = malloc(n * sizeof *tmp);
    double res = NAN;
    if (rx && ry && tmp) {
        ranks(x, n, rx, tmp);
        ranks(y, n, ry, tmp);
        double mx = 0, my = 0;
        for (size_t i = 0; i < n; i++) mx += rx[i], my += ry[i];
        mx /= (double)n;
        my /= (double)n;
        double sxy = 0, sxx = 0, syy = 0;
        for (size_t i = 0; i < n; i++) {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        res = sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
    }
    free(rx);
    free(ry);
    free(tmp);
    return res;
}
