/* Baseline selection rules on model outputs: margin, entropy, EGL from per-class gradient norms, BADGE (k-means++ on factorised gradient embeddings), Core-set (greedy k-centre). */
#include "ig_al.h"
#include "ig_al_internal.h"
#include "ig_config.h"
#include "ig_regress.h"
#include "ig_util.h"
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
        c = sample_d2(d2, taken, n, ig_rng_unit(ig_splitmix64_next(&state)));
    }
    free(a), free(na), free(nb), free(d2), free(taken);
    return IG_OK;
}

/* ---------------------------------------------------------------- Core-set */

/*
 * Squared distances in double, the features summed in order: for one row a[F] against a block of
 * CS_B rows stored transposed, bt[f * CS_B + c] (row c of the block), s[c] = sum_f (a_f - b_cf)^2.
 * Each lane is one pair's sum in the order of f, exactly the arithmetic of a plain loop over f
 * (the lanes only run side by side), so the selection does not depend on the blocking, the
 * vector width or the threads. The blocks of one pass are read from L2 (CS_TILE_BYTES at a time)
 * while the rows against them are spread over the OpenMP threads.
 */
#define CS_B 32
#define CS_TILE_BYTES (256 * 1024)

typedef void (*cs_kernel)(const float *a, const float *bt, size_t F, double *s);

/* One kernel per vector width W (doubles per register): CS_B / W accumulators of W lanes. */
#define CS_KERNEL(name, W, attr)                                                                   \
    typedef double name##_vd __attribute__((vector_size((W) * sizeof(double))));                  \
    typedef float name##_vf __attribute__((vector_size((W) * sizeof(float))));                    \
    attr static void name(const float *a, const float *bt, size_t F, double *s)                   \
    {                                                                                              \
        name##_vd acc[CS_B / (W)];                                                                 \
        for (int v = 0; v < CS_B / (W); v++) acc[v] = (name##_vd){0};                              \
        for (size_t f = 0; f < F; f++) {                                                           \
            double x = a[f];                                                                       \
            for (int v = 0; v < CS_B / (W); v++) {                                                 \
                name##_vf b;                                                                       \
                memcpy(&b, bt + f * CS_B + v * (W), sizeof b);                                     \
                name##_vd d = x - __builtin_convertvector(b, name##_vd);                           \
                acc[v] += d * d; /* no FMA: al is built with -ffp-contract=off */                  \
            }                                                                                      \
        }                                                                                          \
        memcpy(s, acc, sizeof acc);                                                                \
    }

/* the same arithmetic for each instruction set: SSE2 (the x86-64 baseline), AVX2, AVX-512 */
CS_KERNEL(sq_dist_generic, 2, )
#if IG_HAVE_CPU_X86
CS_KERNEL(sq_dist_avx2, 4, __attribute__((target("avx2"))))
CS_KERNEL(sq_dist_avx512, 8, __attribute__((target("avx512f"))))
#endif

/* The kernel of isa (AUTO: the best this CPU runs); NULL with the error set when the CPU lacks it. */
static cs_kernel sq_dist_kernel(enum ig_regress_isa isa)
{
    if (ig_regress_isa_resolve(isa, &isa) != IG_REGRESS_OK) {
        ig_error(IG_ERR_UNSUPPORTED, "Core-set: %s", ig_regress_last_error());
        return NULL;
    }
#if IG_HAVE_CPU_X86
    if (isa == IG_REGRESS_ISA_AVX512) return sq_dist_avx512;
    if (isa == IG_REGRESS_ISA_AVX2) return sq_dist_avx2;
#endif
    return sq_dist_generic;
}

/* rows x[n,F] -> blocks [ceil(n / CS_B)][F][CS_B]; the last block padded with copies of row n-1. */
static float *transpose_blocks(const float *x, size_t n, size_t F)
{
    size_t nb = (n + CS_B - 1) / CS_B;
    float *t = malloc((nb ? nb : 1) * (F ? F : 1) * CS_B * sizeof *t);
    if (!t) return NULL;
    for (size_t b = 0; b < nb; b++)
        for (int c = 0; c < CS_B; c++) {
            size_t r = b * CS_B + (size_t)c < n ? b * CS_B + (size_t)c : n - 1;
            for (size_t f = 0; f < F; f++) t[(b * F + f) * CS_B + (size_t)c] = x[r * F + f];
        }
    return t;
}

/* dmin[i] = min over the labeled rows of |pool_i - lab_j|^2 (INFINITY without labeled rows). */
static void nearest_labeled(cs_kernel sq_dist_block, const float *pool, size_t n, const float *labt, size_t n_lab, size_t F,
                            double *dmin)
{
    for (size_t i = 0; i < n; i++) dmin[i] = INFINITY;
    size_t nb = (n_lab + CS_B - 1) / CS_B, tile = F ? CS_TILE_BYTES / (F * CS_B * sizeof(float)) : nb;
    if (tile < 1) tile = 1;
    for (size_t b0 = 0; b0 < nb; b0 += tile) {
        size_t b1 = b0 + tile < nb ? b0 + tile : nb;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            double d = dmin[i], s[CS_B];
            for (size_t b = b0; b < b1; b++) {
                sq_dist_block(pool + i * F, labt + b * F * CS_B, F, s);
                for (int c = 0; c < CS_B; c++)   /* padding copies the last row: the min is unchanged */
                    if (s[c] < d) d = s[c];
            }
            dmin[i] = d;
        }
    }
}

enum ig_status ig_al_coreset_select(const float *pool, size_t n, const float *labeled, size_t n_lab, size_t F, size_t k,
                                    size_t *picked)
{
    return ig_al_coreset_select_isa(pool, n, labeled, n_lab, F, k, picked, IG_REGRESS_ISA_AUTO);
}

enum ig_status ig_al_coreset_select_isa(const float *pool, size_t n, const float *labeled, size_t n_lab, size_t F,
                                        size_t k, size_t *picked, enum ig_regress_isa isa)
{
    if (!pool || !picked || (n_lab && !labeled)) return ig_error(IG_ERR_INVALID_ARG, "ig_al_coreset_select: NULL argument");
    if (k > n) return ig_error(IG_ERR_INVALID_ARG, "ig_al_coreset_select: k = %zu exceeds the pool size %zu", k, n);
    cs_kernel sq_dist_block = sq_dist_kernel(isa);
    if (!sq_dist_block) return IG_ERR_UNSUPPORTED;
    if (k == 0) return IG_OK;
    double *dmin = malloc(n * sizeof *dmin);
    float *labt = n_lab ? transpose_blocks(labeled, n_lab, F) : NULL, *poolt = transpose_blocks(pool, n, F);
    if (!dmin || !poolt || (n_lab && !labt)) {
        free(dmin), free(labt), free(poolt);
        return ig_error(IG_ERR_OOM, "ig_al_coreset_select: out of memory for %zu + %zu points of %zu features", n, n_lab, F);
    }
    nearest_labeled(sq_dist_block, pool, n, labt, n_lab, F, dmin);
    free(labt);
    size_t nb = (n + CS_B - 1) / CS_B;
    for (size_t j = 0; j < k; j++) {
        /* the point farthest from every centre, ties to the lower index; chosen points have -1 */
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (dmin[i] > dmin[best]) best = i;
        picked[j] = best;
        dmin[best] = -1;
        if (j + 1 == k) break;
        /* every pool row against the new centre, CS_B rows at a time (|a - b|^2 = |b - a|^2 exactly) */
#pragma omp parallel for schedule(static)
        for (size_t b = 0; b < nb; b++) {
            double s[CS_B];
            sq_dist_block(pool + best * F, poolt + b * F * CS_B, F, s);
            for (int c = 0; c < CS_B && b * CS_B + (size_t)c < n; c++) {
                size_t i = b * CS_B + (size_t)c;
                if (dmin[i] >= 0 && s[c] < dmin[i]) dmin[i] = s[c];
            }
        }
    }
    free(poolt);
    free(dmin);
    return IG_OK;
}
