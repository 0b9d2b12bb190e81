/* Shared helpers for the Check suites: tolerant float comparison, seeded data, fixture paths. */
#ifndef IG_TEST_UTIL_H
#define IG_TEST_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <check.h>

/* Max |a-b| / (atol + rtol*|b|) over n values; <= 1 means "close". */
double ig_test_close_ratio(const float *a, const float *b, size_t n, double rtol, double atol);
/* Deterministic uniform floats in [lo, hi) from a seed (the splitmix64 stream of ig_util.h). */
void ig_test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
/* Path of a fixture file under tests/fixtures (env IG_TEST_FIXTURES); static buffer. */
const char *ig_test_fixture(const char *name);
/* Run a suite (forking per test, Check's default) and return the process exit status:
 * 0 when every test passed, 1 otherwise. */
int ig_test_run(Suite *s);
/* Same, in one process: for suites whose tests share state (one OpenCL context, a
 * coverage table filled across tests). */
int ig_test_run_nofork(Suite *s);
/* Exit status meson reads as "skipped". */
#define IG_TEST_SKIP 77
#endif
