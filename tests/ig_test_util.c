/* Shared helpers for the Check suites (see ig_test_util.h). */
#include "ig_test_util.h"
#include "ig_tensor.h"
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

void ig_test_class_images(uint8_t *img, int32_t *lab, int n, int ch, int hw, int classes, uint64_t seed)
{
    int f = ch * hw;
    float *u = malloc((size_t)(n * f) * sizeof *u);
    ck_assert_ptr_nonnull(u);
    ig_test_fill_uniform(u, (size_t)(n * f), seed, 0, 1);
    for (int i = 0; i < n; i++) {
        lab[i] = (int32_t)((i * 5 + (int)seed) % classes);
        for (int j = 0; j < f; j++) {
            float v = 150.0f * u[i * f + j] + (j / hw == lab[i] ? 60.0f : 0.0f);
            img[i * f + j] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    free(u);
}

struct ig_backend *ig_test_backend_open(void)
{
    struct ig_backend *be = NULL;
    const char *dev = getenv("IG_TEST_DEVICE");
    ck_assert_msg((dev && *dev ? ig_backend_init(dev, &be) : ig_backend_init_cpu(&be, 2)) == IG_OK, "%s", ig_last_error());
    return be;
}

void ig_test_backend_close(struct ig_backend **be)
{
    ig_backend_free(*be);
    *be = NULL;
}

TCase *ig_test_case_add(Suite *s, const char *name, int timeout_s, const TTest *const *tests)
{
    TCase *tc = tcase_create(name);
    if (timeout_s > 0) tcase_set_timeout(tc, timeout_s);
    for (int i = 0; tests[i]; i++) tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return tc;
}
