/* igradv active learning: LAL-IGradV importance scores, baselines, selection helpers. */
#ifndef IG_AL_H
#define IG_AL_H
/*
 * Overview
 *   LAL-IGradV (METHOD.md) scores each newly labeled instance x by how its loss gradient
 *   δ_x relates to the reference gradient δ of the whole labeled set. Everything a score
 *   needs is δ·δ_x and ‖δ_x‖² per instance plus ‖δ‖², which the per-sample gradient
 *   engine computes exactly from one batched backward pass; the functions below turn
 *   those into scores, bins and selections.
 *
 * Example
 *   double s[k];
 *   ig_al_scores_from_dots(IG_AL_LD, k, dots, sq_norms, delta_sq, s);
 *   ig_al_rank_bin(s, k, s);                  // RLD: 0 / 0.5 / 1 by quartiles
 *   size_t pick[500]; ig_al_topk(pred, pool_n, 500, pick);
 */
#include <stdbool.h>
#include <stddef.h>
#include "ig_internal.h"

enum ig_al_score { IG_AL_DS, IG_AL_LD, IG_AL_RDS, IG_AL_RLD };
const char *ig_al_score_name(enum ig_al_score kind);
/* Case-insensitive "ds", "ld", "rds", "rld"; returns 1 on success. */
int ig_al_score_parse(const char *name, enum ig_al_score *out);

/* out[i] = DS: cos(δ, δ_i) or LD: 1 - cos(δ, δ - δ_i), from dot[i] = δ·δ_i, sq_x[i] = ‖δ_i‖²
 * and delta_sq = ‖δ‖² (RDS/RLD give the unbinned DS/LD). Zero-norm vectors give cosine 0. */
void ig_al_scores_from_dots(enum ig_al_score kind, size_t n, const double *dot, const double *sq_x, double delta_sq,
                            double *out);
/* numpy.quantile with linear interpolation; work holds n doubles. */
double ig_al_quantile(const double *x, size_t n, double q, double *work);
/* RDS/RLD binning: r >= Q3 -> 1, r <= Q1 -> 0, else 0.5 (out may alias scores). */
enum ig_status ig_al_rank_bin(const double *scores, size_t n, double *out);
/* LCS: φ = (1 - max_c p_c) m / (m - 1) for probs[n,m]. */
enum ig_status ig_al_lcs_scores(const float *probs, size_t n, size_t m, double *out);
/* Indices of the k highest scores, highest first, ties to the lower index; NaN ranks last. */
enum ig_status ig_al_topk(const double *scores, size_t n, size_t k, size_t *out_idx);
/* Spearman rank correlation of x and y (ties get average ranks); NaN if undefined. */
double ig_al_spearman(const double *x, const double *y, size_t n);
#endif
