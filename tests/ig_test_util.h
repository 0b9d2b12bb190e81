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
/* Seeded synthetic images img[n, ch, hw] (hw = H*W pixels) with labels lab[n]: image i has
 * class (5 i + seed) mod classes, which brightens channel `class`; uniform noise elsewhere.
 * Learnable but not trivially (the active-learning suites' data). */
void ig_test_class_images(uint8_t *img, int32_t *lab, int n, int ch, int hw, int classes, uint64_t seed);
/* Path of a fixture file under tests/fixtures (env IG_TEST_FIXTURES); static buffer. */
const char *ig_test_fixture(const char *name);
/* Run a suite (forking per test, Check's default) and return the process exit status:
 * 0 when every test passed, 1 otherwise. */
int ig_test_run(Suite *s);
/* Same, in one process: for suites whose tests share state (one OpenCL context, a
 * coverage table filled across tests). */
int ig_test_run_nofork(Suite *s);
/* Adds to s a test case called name holding the tests listed (timeout_s > 0 sets its timeout) and returns it,
 * for fixtures: IG_TEST_CASE(s, "ops", 120, test_a, test_b). */
TCase *ig_test_case_add(Suite *s, const char *name, int timeout_s, const TTest *const *tests);
#define IG_TEST_CASE(s, name, timeout_s, ...) ig_test_case_add(s, name, timeout_s, (const TTest *const[]){__VA_ARGS__, NULL})

struct ig_backend;
/* The backend a suite's tests run on: IG_TEST_DEVICE=opencl[:P:D] picks another one (default: CPU, 2 threads);
 * fails the test, naming the error, when it cannot start. */
struct ig_backend *ig_test_backend_open(void);
/* Frees *be and sets it to NULL. */
void ig_test_backend_close(struct ig_backend **be);
/* Exit status meson reads as "skipped". */
#define IG_TEST_SKIP 77
#endif
