/* libFuzzer target: the versioned JSON model readers of the regressors (GBR, or RF with -DFUZZ_RF), then predictions on two rows. */
#include "fuzz_util.h"
#include "ig_regress.h"
#include <stdbool.h>
#include <string.h>

/* Small fitted models as seeds (IGRADV_FUZZ_WRITE_SEEDS=<dir>). */
static void write_seeds(const char *dir)
{
    float x[40 * 3], y[40];
    int32_t c[40];
    for (int i = 0; i < 40; i++) {
        for (int j = 0; j < 3; j++) x[i * 3 + j] = (float)((i * (j + 3)) % 11);
        y[i] = x[i * 3] - 0.5f * x[i * 3 + 1];
        c[i] = i % 3;
    }
    char p[512];
#ifdef FUZZ_RF
    struct ig_rf_params rp = ig_rf_params_default();
    rp.n_estimators = 3, rp.max_depth = 3;
    struct ig_rf *rf;
    snprintf(p, sizeof p, "%s/rf3.json", dir);
    if (ig_rf_classifier_fit_f32(&rf, x, 40, 3, c, 3, &rp) != IG_REGRESS_OK || ig_rf_save(rf, p) != IG_REGRESS_OK) abort();
    ig_rf_free(rf);
    snprintf(p, sizeof p, "%s/rf_reg.json", dir);
    if (ig_rf_regressor_fit_f32(&rf, x, 40, 3, y, &rp) != IG_REGRESS_OK || ig_rf_save(rf, p) != IG_REGRESS_OK) abort();
    ig_rf_free(rf);
#else
    struct ig_gbr_params gp = ig_gbr_params_default();
    gp.n_estimators = 4, gp.max_depth = 2;
    struct ig_gbr *g;
    snprintf(p, sizeof p, "%s/gbr4.json", dir);
    if (ig_gbr_fit_f32(&g, x, 40, 3, y, &gp) != IG_REGRESS_OK || ig_gbr_save(g, p) != IG_REGRESS_OK) abort();
    ig_gbr_free(g);
    gp.loss = IG_GBR_LOSS_ABSOLUTE_ERROR;
    snprintf(p, sizeof p, "%s/gbr_lad.json", dir);
    if (ig_gbr_fit_f32(&g, x, 40, 3, y, &gp) != IG_REGRESS_OK || ig_gbr_save(g, p) != IG_REGRESS_OK) abort();
    ig_gbr_free(g);
#endif
    exit(0);
}

/* Rows of zeros and of 255 with the model's f features (x: two rows of 256); false when f does not fit. */
static bool two_rows(const float *x, size_t f, float *xf)
{
    if (!f || f > 256) return false;
    memcpy(xf, x, f * sizeof *x);
    memcpy(xf + f, x + 256, f * sizeof *x);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *seeds = getenv("IGRADV_FUZZ_WRITE_SEEDS");
    if (seeds) write_seeds(seeds);
    const char *p = fuzz_file("model.json", d, n);
    float x[2 * 256], out[2 * 16];
    for (int i = 0; i < 2 * 256; i++) x[i] = i < 256 ? 0.0f : 255.0f;
#ifdef FUZZ_RF
    struct ig_rf *rf = NULL;
    if (ig_rf_load(&rf, p) != IG_REGRESS_OK) return 0;
    size_t f = ig_rf_n_features(rf);
    float xf[2 * 256];
    if (two_rows(x, f, xf)) {
        ig_rf_predict_f32(rf, xf, 2, f, out);
        if (ig_rf_is_classifier(rf) && ig_rf_n_classes(rf) <= 16) ig_rf_predict_proba_f32(rf, xf, 2, f, out);
    }
    ig_rf_free(rf);
#else
    struct ig_gbr *g = NULL;
    if (ig_gbr_load(&g, p) != IG_REGRESS_OK) return 0;
    size_t f = ig_gbr_n_features(g);
    float xf[2 * 256];
    if (two_rows(x, f, xf)) ig_gbr_predict_f32(g, xf, 2, f, out);
    ig_gbr_free(g);
#endif
    return 0;
}
