/* igradv regress: native tree ensembles (gradient boosting regressor, random forests). */
#ifndef IG_REGRESS_H
#define IG_REGRESS_H
/*
 * Overview
 * --------
 * Histogram-split decision trees and the two ensembles LAL-IGradV trains, with
 * scikit-learn semantics:
 *
 *   - struct ig_gbr: GradientBoostingRegressor (loss absolute_error or squared_error,
 *     Friedman-MSE split criterion, LAD leaves = median of the residuals in the leaf).
 *   - struct ig_rf:  RandomForestClassifier (Gini, predict_proba) and
 *     RandomForestRegressor (squared error), bootstrap, seeded.
 *
 * Features are rows of n x d values, row-major. u8 features (raw pixels) are used as
 * exactly 256 bins, so the split search is exhaustive and equals scikit-learn's;
 * f32 features are binned by quantiles (at most 256 bins per feature, exact when a
 * feature has at most 256 distinct values). A fitted model predicts either kind of
 * row (it compares the value with a real threshold, "go left when x <= threshold").
 * The module does not depend on tensor/; errors are enum ig_regress_status values and
 * ig_regress_last_error() gives a thread-local message. Nothing here prints or exits.
 * Fitting and prediction use OpenMP threads (n_threads <= 0: OpenMP's default; boosting then
 * also drops to one thread while that is faster, i.e. on a machine busy with other work).
 * Results do not depend on the number of threads.
 *
 * Usage
 * -----
 *   struct ig_gbr_params p = ig_gbr_params_default();   // LAD, 100 trees, lr 0.1, depth 3
 *   p.n_estimators = 200;
 *   struct ig_gbr *m = NULL;
 *   if (ig_gbr_fit_u8(&m, x, n, 3072, y, &p) != IG_REGRESS_OK)
 *       fprintf(stderr, "%s\n", ig_regress_last_error());
 *   ig_gbr_predict_u8(m, pool, n_pool, 3072, scores);     // scores: [n_pool]
 *   ig_gbr_save(m, "gbr.json");
 *   ig_gbr_free(m);
 *
 *   struct ig_rf_params rp = ig_rf_params_default();      // 100 trees, sqrt(d) features
 *   rp.max_depth = 5;
 *   struct ig_rf *rf = NULL;
 *   ig_rf_classifier_fit_u8(&rf, x, n, 3072, labels, 3, &rp);   // labels in [0,3)
 *   ig_rf_predict_proba_u8(rf, pool, n_pool, 3072, proba);      // proba: [n_pool, 3]
 *   ig_rf_free(rf);
 */
#include <stddef.h>
#include <stdint.h>

/* The cause of a failure. Every call returns it, and ig_regress_last_status() repeats the
 * last one on this thread, so a caller can keep the cause when it reports the failure in
 * its own terms (the al module: EINVAL -> IG_ERR_INVALID_ARG, ENOMEM -> IG_ERR_OOM,
 * EIO -> IG_ERR_IO, EFORMAT -> IG_ERR_FORMAT). */
enum ig_regress_status {
    IG_REGRESS_OK = 0,
    IG_REGRESS_EINVAL,   /* bad argument or bad data (sizes, NaN/inf, labels) */
    IG_REGRESS_ENOMEM,   /* allocation failed */
    IG_REGRESS_EIO,      /* file could not be read or written */
    IG_REGRESS_EFORMAT,  /* model file is not a valid igradv-regress model */
};

/* Message of the last failed call on this thread ("" if none). */
const char *ig_regress_last_error(void);
/* Status of the last failed call on this thread (IG_REGRESS_OK if none failed yet). */
enum ig_regress_status ig_regress_last_status(void);
/* Short name of a status ("ok", "invalid argument", ...). */
const char *ig_regress_status_str(enum ig_regress_status s);

/* ------------------------------------------------------- instruction sets */

/* The split search of gradient boosting (a 256-bin scan over 16 features at a time) is built
 * for the x86-64 baseline, for AVX2 + FMA and for AVX-512, and the fit picks one from
 * ig_gbr_params.isa (AUTO: the best this CPU runs; other architectures: generic only). Every
 * one chooses the same splits, so a model does not depend on it. */
enum ig_regress_isa {
    IG_REGRESS_ISA_AUTO = 0,
    IG_REGRESS_ISA_GENERIC,
    IG_REGRESS_ISA_AVX2,
    IG_REGRESS_ISA_AVX512,
};
/* "auto", "generic", "avx2", "avx512" (the names of IGRADV_CPU / ig_backend_isa_name). */
const char *ig_regress_isa_name(enum ig_regress_isa isa);
/* Case-sensitive name as above; returns 1 on success, 0 (out unchanged) otherwise. */
int ig_regress_isa_parse(const char *name, enum ig_regress_isa *out);
/* The set a fit asked for `want` runs (*got: AUTO resolved); EINVAL naming it when this build
 * or this CPU lacks it. */
enum ig_regress_status ig_regress_isa_resolve(enum ig_regress_isa want, enum ig_regress_isa *got);

/* ---------------------------------------------------------------- boosting */

enum ig_gbr_loss {
    IG_GBR_LOSS_ABSOLUTE_ERROR = 0, /* least absolute deviation: init median, median leaves */
    IG_GBR_LOSS_SQUARED_ERROR = 1,  /* init mean, mean leaves */
};

struct ig_gbr_params {
    enum ig_gbr_loss loss;   /* default IG_GBR_LOSS_ABSOLUTE_ERROR (the paper's) */
    int n_estimators;        /* default 100 */
    double learning_rate;    /* default 0.1 */
    int max_depth;           /* default 3 (must be >= 1) */
    int min_samples_split;   /* default 2 */
    int min_samples_leaf;    /* default 1 */
    double subsample;        /* default 1.0, in (0, 1] */
    uint64_t seed;           /* used only when subsample < 1 */
    int n_threads;           /* <= 0: automatic (see above) */
    enum ig_regress_isa isa; /* default IG_REGRESS_ISA_AUTO (see instruction sets above) */
};

struct ig_gbr;

struct ig_gbr_params ig_gbr_params_default(void);
/* x: [n, d] row-major, y: [n]. On success *out owns a new model. */
enum ig_regress_status ig_gbr_fit_u8(struct ig_gbr **out, const uint8_t *x, size_t n, size_t d,
                                     const float *y, const struct ig_gbr_params *params);
enum ig_regress_status ig_gbr_fit_f32(struct ig_gbr **out, const float *x, size_t n, size_t d,
                                      const float *y, const struct ig_gbr_params *params);
/* x: [n, d] with d = the model's n_features; out: [n]. */
enum ig_regress_status ig_gbr_predict_u8(const struct ig_gbr *m, const uint8_t *x, size_t n,
                                         size_t d, float *out);
enum ig_regress_status ig_gbr_predict_f32(const struct ig_gbr *m, const float *x, size_t n,
                                          size_t d, float *out);
size_t ig_gbr_n_features(const struct ig_gbr *m);
int ig_gbr_n_trees(const struct ig_gbr *m);
double ig_gbr_init_value(const struct ig_gbr *m);
/* save writes the versioned JSON model with a plain write (not crash-safe); to_json gives
 * the same bytes as a malloc'ed NUL-terminated string (*len = strlen, len may be NULL; free()
 * it) for a caller that writes files atomically. */
enum ig_regress_status ig_gbr_save(const struct ig_gbr *m, const char *path);
enum ig_regress_status ig_gbr_to_json(const struct ig_gbr *m, char **text, size_t *len);
enum ig_regress_status ig_gbr_load(struct ig_gbr **out, const char *path);
void ig_gbr_free(struct ig_gbr *m);

/* ------------------------------------------------------------------ forests */

struct ig_rf_params {
    int n_estimators;        /* default 100 */
    int max_depth;           /* default -1: unlimited (the paper uses 5) */
    int min_samples_split;   /* default 2 */
    int min_samples_leaf;    /* default 1 */
    int max_features;        /* default 0: sqrt(d) for the classifier, d for the regressor */
    int bootstrap;           /* default 1 */
    uint64_t seed;           /* default 0 */
    int n_threads;           /* <= 0: OpenMP default */
};

struct ig_rf;

struct ig_rf_params ig_rf_params_default(void);
/* labels: [n] in [0, n_classes), n_classes >= 2. */
enum ig_regress_status ig_rf_classifier_fit_u8(struct ig_rf **out, const uint8_t *x, size_t n,
                                               size_t d, const int32_t *labels, int n_classes,
                                               const struct ig_rf_params *params);
enum ig_regress_status ig_rf_classifier_fit_f32(struct ig_rf **out, const float *x, size_t n,
                                                size_t d, const int32_t *labels, int n_classes,
                                                const struct ig_rf_params *params);
enum ig_regress_status ig_rf_regressor_fit_u8(struct ig_rf **out, const uint8_t *x, size_t n,
                                              size_t d, const float *y,
                                              const struct ig_rf_params *params);
enum ig_regress_status ig_rf_regressor_fit_f32(struct ig_rf **out, const float *x, size_t n,
                                               size_t d, const float *y,
                                               const struct ig_rf_params *params);
/* Classifier only. proba: [n, n_classes], the mean of the trees' leaf class frequencies. */
enum ig_regress_status ig_rf_predict_proba_u8(const struct ig_rf *m, const uint8_t *x, size_t n,
                                              size_t d, float *proba);
enum ig_regress_status ig_rf_predict_proba_f32(const struct ig_rf *m, const float *x, size_t n,
                                               size_t d, float *proba);
/* Regressor: mean prediction. Classifier: most probable class index (lowest on ties). */
enum ig_regress_status ig_rf_predict_u8(const struct ig_rf *m, const uint8_t *x, size_t n,
                                        size_t d, float *out);
enum ig_regress_status ig_rf_predict_f32(const struct ig_rf *m, const float *x, size_t n,
                                         size_t d, float *out);
int ig_rf_is_classifier(const struct ig_rf *m);
int ig_rf_n_classes(const struct ig_rf *m);   /* 0 for a regressor */
size_t ig_rf_n_features(const struct ig_rf *m);
int ig_rf_n_trees(const struct ig_rf *m);
enum ig_regress_status ig_rf_save(const struct ig_rf *m, const char *path);   /* as ig_gbr_save */
enum ig_regress_status ig_rf_to_json(const struct ig_rf *m, char **text, size_t *len);
enum ig_regress_status ig_rf_load(struct ig_rf **out, const char *path);
void ig_rf_free(struct ig_rf *m);

#endif
