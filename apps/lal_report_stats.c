/* lal_report statistics: Student t 97.5% quantiles, mean/sd/95% confidence intervals over seeds, normalised area under a learning curve. */
#include <math.h>

#include "lal_report.h"

/* t(0.975, df) for df = 1..30 (6 decimals) */
static const double lal_t975_table[30] = {
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912,
    2.364624,  2.306004, 2.262157, 2.228139, 2.200985, 2.178813,
    2.160369,  2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
    2.093024,  2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
    2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
};

double lal_t975(int df)
{
    if (df < 1) return NAN;
    if (df <= 30) return lal_t975_table[df - 1];
    /* Cornish-Fisher expansion around the normal quantile (error < 1e-7 for df > 30) */
    const double z = 1.959963984540054, z2 = z * z, v = (double)df;
    double g1 = (z2 + 1.0) * z / 4.0;
    double g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    double g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    double g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

struct lal_ci lal_ci95(const double *v, int n)
{
    struct lal_ci c = {0, NAN, NAN, NAN, NAN};
    double s = 0.0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) s += v[i], c.n++;
    if (c.n == 0) return c;
    c.mean = s / c.n;
    double q = 0.0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) q += (v[i] - c.mean) * (v[i] - c.mean);
    c.sd = c.n > 1 ? sqrt(q / (c.n - 1)) : 0.0;
    if (c.n > 1) {
        double h = lal_t975(c.n - 1) * c.sd / sqrt((double)c.n);
        c.lo = c.mean - h;
        c.hi = c.mean + h;
    }
    return c;
}

double lal_aulc(const double *x, const double *y, int n)
{
    if (n < 2 || !(x[n - 1] > x[0])) return NAN;
    double area = 0.0;
    for (int i = 1; i < n; i++) area += 0.5 * (y[i] + y[i - 1]) * (x[i] - x[i - 1]);
    return area / (x[n - 1] - x[0]);
}
