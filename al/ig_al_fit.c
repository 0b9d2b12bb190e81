/* Lines 6 and 8 of Algorithm 1: fit the method's regressor (GBR LAD on r_x, or an RF classifier on binned r_x) on NLI's pixels and predict r̂ for the pool. */
#include "ig_al_internal.h"
#include "ig_dist.h"
#include "ig_regress.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Gather the pixel rows idx[0..n) of train into a [n, feat] byte matrix. */
static uint8_t *gather(const struct ig_al_run *r, const int64_t *idx, int64_t n)
{
    uint8_t *x = malloc((size_t)((n ? n : 1) * r->feat));
    for (int64_t i = 0; x && i < n; i++) memcpy(x + i * r->feat, r->train->images + idx[i] * r->feat, (size_t)r->feat);
    return x;
}

/* The regress library's failure as an ig_status that keeps its cause. */
static enum ig_status regress_error(int code, const char *what)
{
    enum ig_status s = code == IG_REGRESS_ENOMEM    ? IG_ERR_OOM
                       : code == IG_REGRESS_EINVAL  ? IG_ERR_INVALID_ARG
                       : code == IG_REGRESS_EIO     ? IG_ERR_IO
                       : code == IG_REGRESS_EFORMAT ? IG_ERR_FORMAT
                                                    : IG_ERR_INTERNAL;
    return ig_error(s, "%s: %s", what, ig_regress_last_error());
}

/* RF class of a binned score: 0 -> 0, 0.5 -> 1, 1 -> 2. */
static int32_t rf_class(double v) { return v >= 1.0 ? 2 : v <= 0.0 ? 0 : 1; }

struct fitted {
    struct ig_gbr *gbr;
    struct ig_rf *rf;
    bool constant;    /* RF labels of one class: every r̂ is that class's value */
    double constant_value;
};

/* Fit on the pixel rows x[0..k) with targets target[0..k); warn: log the one-class rule. */
static enum ig_status fit(struct ig_al_run *r, const uint8_t *x, const double *target, int64_t k, int al_epoch, bool warn,
                          struct fitted *f)
{
    const struct ig_al_params *p = r->p;
    if (r->row->regressor == IG_AL_REGRESSOR_GBR) {
        float *yf = malloc((size_t)(k ? k : 1) * sizeof *yf);
        if (!yf) return ig_error(IG_ERR_OOM, "regressor: out of host memory");
        for (int64_t i = 0; i < k; i++) yf[i] = (float)target[i];
        struct ig_gbr_params gp = ig_gbr_params_default();
        gp.loss = IG_GBR_LOSS_ABSOLUTE_ERROR;
        gp.n_estimators = p->gbr_estimators;
        gp.n_threads = p->n_threads;
        gp.seed = ig_hash64(p->seed ^ (uint64_t)al_epoch);
        gp.isa = ig_al_kernel_isa(r->be);
        int rc = ig_gbr_fit_u8(&f->gbr, x, (size_t)k, (size_t)r->feat, yf, &gp);
        free(yf);
        return rc == IG_REGRESS_OK ? IG_OK : regress_error(rc, "GBR fit");
    }
    int32_t *yc = malloc((size_t)(k ? k : 1) * sizeof *yc);
    if (!yc) return ig_error(IG_ERR_OOM, "regressor: out of host memory");
    int present = 0;
    for (int64_t i = 0; i < k; i++) present |= 1 << (yc[i] = rf_class(target[i]));
    f->constant = present == 1 || present == 2 || present == 4;
    enum ig_status s = IG_OK;
    if (f->constant) {
        /* nothing to learn: every pool row gets the one class present, so the selection is
         * the first k rows of UI in pool order (documented in README, RDS/RLD) */
        f->constant_value = 0.5 * (double)(k ? yc[0] : 0);
        if (warn)
            ig_log(IG_LOG_WARN, "%s AL epoch %d: all %lld random-forest labels are class %d; r̂ is constant and the "
               "first k rows of UI are taken", r->mname, al_epoch, (long long)k, k ? (int)yc[0] : 0);
    } else {
        struct ig_rf_params rp = ig_rf_params_default();
        rp.n_estimators = p->rf_estimators;
        rp.max_depth = p->rf_max_depth;
        rp.n_threads = p->n_threads;
        rp.seed = ig_hash64(p->seed ^ 0xf0e57ull ^ (uint64_t)al_epoch);
        int rc = ig_rf_classifier_fit_u8(&f->rf, x, (size_t)k, (size_t)r->feat, yc, 3, &rp);
        if (rc != IG_REGRESS_OK) s = regress_error(rc, "random forest fit");
    }
    free(yc);
    return s;
}

/* r̂ for the pixel rows px[0..nb) into pred (out: scratch of 3 nb floats). */
static enum ig_status predict(const struct ig_al_run *r, const struct fitted *f, const uint8_t *px, int64_t nb,
                              float *out, double *pred)
{
    if (r->row->regressor == IG_AL_REGRESSOR_GBR) {
        int rc = ig_gbr_predict_u8(f->gbr, px, (size_t)nb, (size_t)r->feat, out);
        if (rc != IG_REGRESS_OK) return regress_error(rc, "GBR predict");
        for (int64_t j = 0; j < nb; j++) pred[j] = out[j];
    } else if (f->constant) {
        for (int64_t j = 0; j < nb; j++) pred[j] = f->constant_value;
    } else {
        int rc = ig_rf_predict_proba_u8(f->rf, px, (size_t)nb, (size_t)r->feat, out);
        if (rc != IG_REGRESS_OK) return regress_error(rc, "random forest predict");
        for (int64_t j = 0; j < nb; j++) pred[j] = 0.5 * out[3 * j + 1] + 1.0 * out[3 * j + 2];
    }
    return IG_OK;
}

enum ig_status ig_al_fit_predict(struct ig_al_run *r, const double *target, int al_epoch, double *pool,
                                 struct ig_al_epoch_stats *st)
{
    int64_t chunk = 4096;
    double t0 = ig_now_seconds();
    struct fitted f = {0};
    uint8_t *x = gather(r, r->nli, r->n_nli);
    enum ig_status s = x ? fit(r, x, target, r->n_nli, al_epoch, true, &f)
                         : ig_error(IG_ERR_OOM, "regressor: out of host memory");
    free(x);
    st->fit_s = ig_now_seconds() - t0;
    t0 = ig_now_seconds();
    float *out = malloc((size_t)chunk * 3 * sizeof *out);
    if (s == IG_OK && !out) s = ig_error(IG_ERR_OOM, "regressor: out of host memory");
    int64_t lo, hi;   /* data parallel: this rank's block of the pool, then the sum */
    ig_dist_range(r->p->dist, r->n_ui, &lo, &hi);
    for (int64_t i = lo; s == IG_OK && i < hi; i += chunk) {
        int64_t nb = hi - i < chunk ? hi - i : chunk;
        uint8_t *px = gather(r, r->ui + i, nb);
        s = px ? predict(r, &f, px, nb, out, pool + i) : ig_error(IG_ERR_OOM, "regressor: out of host memory");
        free(px);
    }
    if (s == IG_OK) s = ig_dist_gather_f64(r->p->dist, pool, r->n_ui, lo, hi);
    st->predict_s = ig_now_seconds() - t0;
    ig_gbr_free(f.gbr);
    ig_rf_free(f.rf);
    free(out);
    return s;
}

/* Rows of fold `fold` (positions i with i % folds == fold after a seeded shuffle) to the
 * back: x_tr/y_tr get the others, x_te/pos_te the fold. Returns the fold's size. */
static int64_t split_fold(const struct ig_al_run *r, const uint8_t *x, const double *target, const int64_t *perm, int folds,
                          int fold, uint8_t *x_tr, double *y_tr, uint8_t *x_te, int64_t *pos_te)
{
    int64_t n_tr = 0, n_te = 0;
    for (int64_t j = 0; j < r->n_nli; j++) {
        int64_t i = perm[j];
        if (j % folds == fold) {
            memcpy(x_te + n_te * r->feat, x + i * r->feat, (size_t)r->feat);
            pos_te[n_te++] = i;
        } else {
            memcpy(x_tr + n_tr * r->feat, x + i * r->feat, (size_t)r->feat);
            y_tr[n_tr++] = target[i];
        }
    }
    return n_te;
}

enum ig_status ig_al_fit_cv(struct ig_al_run *r, const double *target, int al_epoch, double *spearman)
{
    int folds = r->p->cv_folds;
    int64_t k = r->n_nli;
    *spearman = NAN;
    if (folds < 2 || k < 2 * folds) return IG_OK;
    uint8_t *x = gather(r, r->nli, k), *x_tr = malloc((size_t)(k * r->feat)), *x_te = malloc((size_t)(k * r->feat));
    double *y_tr = malloc((size_t)k * sizeof *y_tr), *oof = malloc((size_t)k * sizeof *oof), *pred = malloc((size_t)k * sizeof *pred);
    int64_t *perm = malloc((size_t)k * sizeof *perm), *pos = malloc((size_t)k * sizeof *pos);
    float *out = malloc((size_t)k * 3 * sizeof *out);
    enum ig_status s = x && x_tr && x_te && y_tr && oof && pred && perm && pos && out
                           ? IG_OK : ig_error(IG_ERR_OOM, "regressor cross-validation: out of host memory");
    if (s == IG_OK) {
        struct ig_rng rng;
        ig_rng_seed(&rng, ig_hash64(r->p->seed ^ 0xc5f01dull ^ (uint64_t)al_epoch));
        ig_rng_permutation(&rng, perm, k);
    }
    for (int fold = 0; s == IG_OK && fold < folds; fold++) {
        int64_t n_te = split_fold(r, x, target, perm, folds, fold, x_tr, y_tr, x_te, pos);
        struct fitted f = {0};
        s = fit(r, x_tr, y_tr, k - n_te, al_epoch, false, &f);
        if (s == IG_OK) s = predict(r, &f, x_te, n_te, out, pred);
        for (int64_t j = 0; s == IG_OK && j < n_te; j++) oof[pos[j]] = pred[j];
        ig_gbr_free(f.gbr);
        ig_rf_free(f.rf);
    }
    if (s == IG_OK) *spearman = ig_al_spearman(oof, target, (size_t)k);
    free(x), free(x_tr), free(x_te), free(y_tr), free(oof), free(pred), free(perm), free(pos), free(out);
    return s;
}
