/* Shared helpers for the Check suites: tolerant float comparison, seeded data, fixture paths. */
#ifndef IG_TEST_UTIL_H
#define IG_TEST_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Max |a-b| / (atol + rtol*|b|) over n values; <= 1 means "close". */
double ig_test_close_ratio(const float *a, const float *b, size_t n, double rtol, double atol);
/* Deterministic uniform floats in [lo, hi) from a seed (splitmix64). */
void ig_test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
/* Path of a fixture file under tests/fixtures (env IG_TEST_FIXTURES); static buffer. */
const char *ig_test_fixture(const char *name);
/* Exit status meson reads as "skipped". */
#define IG_TEST_SKIP 77
#endif
