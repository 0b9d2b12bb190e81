/* regress binning: training rows as 256-bin codes (identity for u8, greedy quantiles for f32) and split thresholds. */
#include "ig_regress_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum ig_regress_status ig_rdata_init_u8(struct ig_rdata *D, const uint8_t *x, size_t n, size_t d)
{
    memset(D, 0, sizeof *D);
    D->n = n;
    D->d = d;
    D->codes = x;
    return IG_REGRESS_OK;
}

static int ig_rcmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

enum ig_regress_status ig_rdata_init_f32(struct ig_rdata *D, const float *x, size_t n, size_t d)
{
    memset(D, 0, sizeof *D);
    D->n = n;
    D->d = d;
    D->codes_owned = malloc(n * d);
    D->bin_lo = malloc(d * IG_RBINS * sizeof(float));
    D->bin_hi = malloc(d * IG_RBINS * sizeof(float));
    if (!D->codes_owned || !D->bin_lo || !D->bin_hi) {
        ig_rdata_free(D);
        return ig_rerror(IG_REGRESS_ENOMEM, "regress: cannot allocate binned data (%zu x %zu)", n, d);
    }
    D->codes = D->codes_owned;
    int fail = 0;
#pragma omp parallel
    {
        float *col = malloc(n * sizeof(float));
        if (!col) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t f = 0; f < d; f++) {
            if (!col) continue;
            for (size_t i = 0; i < n; i++) col[i] = x[i * d + f];
            qsort(col, n, sizeof(float), ig_rcmp_float);
            /* Greedy quantile bins: a bin closes once it holds >= ceil(n/256) values and
             * the value changes, so equal values share a bin and there are <= 256 bins.
             * A feature with <= 256 distinct values gets one bin per value (exact). */
            size_t distinct = 1;
            for (size_t i = 1; i < n; i++) distinct += col[i] != col[i - 1];
            size_t target = distinct <= IG_RBINS ? 1 : (n + IG_RBINS - 1) / IG_RBINS;
            float *lo = D->bin_lo + f * IG_RBINS, *hi = D->bin_hi + f * IG_RBINS;
            int b = 0;
            size_t in_bin = 1;
            lo[0] = col[0];
            for (size_t i = 1; i < n; i++) {
                if (col[i] != col[i - 1] && in_bin >= target && b < IG_RBINS - 1) {
                    hi[b] = col[i - 1];
                    lo[++b] = col[i];
                    in_bin = 0;
                }
                in_bin++;
            }
            hi[b] = col[n - 1];
            for (int k = b + 1; k < IG_RBINS; k++) lo[k] = hi[k] = INFINITY;
            for (size_t i = 0; i < n; i++) {
                float v = x[i * d + f];
                int a = 0, c = b; /* first bin with v <= hi */
                while (a < c) {
                    int mid = (a + c) / 2;
                    if (v <= hi[mid]) c = mid; else a = mid + 1;
                }
                D->codes_owned[i * d + f] = (uint8_t)a;
            }
        }
        free(col);
    }
    if (fail) {
        ig_rdata_free(D);
        return ig_rerror(IG_REGRESS_ENOMEM, "regress: cannot allocate a column buffer");
    }
    return IG_REGRESS_OK;
}

void ig_rdata_free(struct ig_rdata *D)
{
    free(D->codes_owned);
    free(D->bin_lo);
    free(D->bin_hi);
    memset(D, 0, sizeof *D);
}

float ig_rdata_threshold(const struct ig_rdata *D, int f, int b, int b_next)
{
    double a, c;
    if (D->bin_hi) {
        a = D->bin_hi[(size_t)f * IG_RBINS + b];
        c = D->bin_lo[(size_t)f * IG_RBINS + b_next];
    } else {
        a = b;
        c = b_next;
    }
    /* scikit-learn: midpoint, but never the right value itself (adjacent floats) */
    float t = (float)((a + c) / 2.0);
    if (t >= (float)c || !isfinite(t)) t = (float)a;
    return t;
}

