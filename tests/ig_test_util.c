/* Shared helpers for the Check suites (see ig_test_util.h). */
#include "ig_test_util.h"
#include "ig_util.h"
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

double ig_test_close_ratio(const float *a, const float *b, size_t n, double rtol, double atol)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        double r = fabs((double)a[i] - (double)b[i]) / (atol + rtol * fabs((double)b[i]));
        if (r > worst) worst = r;
    }
    return worst;
}

void ig_test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        double u = ig_rng_unit(ig_splitmix64_next(&s));
        x[i] = (float)(lo + (hi - lo) * u);
    }
}

const char *ig_test_fixture(const char *name)
{
    static char path[4096];
    const char *dir = getenv("IG_TEST_FIXTURES");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fixtures", name);
    return path;
}

static int run_suite(Suite *s, bool fork)
{
    SRunner *sr = srunner_create(s);
    if (!fork) srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

int ig_test_run(Suite *s) { return run_suite(s, true); }
int ig_test_run_nofork(Suite *s) { return run_suite(s, false); }
