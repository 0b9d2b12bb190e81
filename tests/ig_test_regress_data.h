/* The synthetic regression data sets of tests/fixtures/gen_regress_fixtures.py (its docstring defines them), shared by
 * test_regress and bench_trees: rows of splitmix64 pixel bytes and a target computed from a few of them. */
#ifndef IG_TEST_REGRESS_DATA_H
#define IG_TEST_REGRESS_DATA_H
#include "ig_util.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* d pixel bytes of one row from the stream *s, then the row's noise draw v in [0, 1) (the generator's order) */
static inline double ig_test_regress_row(uint8_t *r, size_t d, uint64_t *s)
{
    for (size_t j = 0; j < d; j++) r[j] = (uint8_t)(ig_splitmix64_next(s) >> 56);
    return ig_rng_unit(ig_splitmix64_next(s));
}

#define IG_TEST_CIFAR_LIKE_D 3072
/* "cifar-like": x [n, 3072] u8, y = 2 u[100] + sin(6 u[1000]) + [u[2000] > 0.5] + u[3000] u[1500] + 0.3 (2v - 1)^3
 * (u = pixel / 255), lab = 0, 1, 2 by y < 1.3 / 2.2 */
static inline void ig_test_gen_cifar_like(uint8_t *x, float *y, int32_t *lab, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint8_t *r = x + i * IG_TEST_CIFAR_LIKE_D;
        double v = ig_test_regress_row(r, IG_TEST_CIFAR_LIKE_D, &s);
        double u100 = r[100] / 255.0, u1000 = r[1000] / 255.0, u2000 = r[2000] / 255.0;
        double u3000 = r[3000] / 255.0, u1500 = r[1500] / 255.0, e = 2.0 * v - 1.0;
        y[i] = (float)(2.0 * u100 + sin(6.0 * u1000) + (u2000 > 0.5 ? 1.0 : 0.0) + u3000 * u1500 +
                       0.3 * e * e * e);
        lab[i] = y[i] < 1.3f ? 0 : y[i] < 2.2f ? 1 : 2;
    }
}
#endif
