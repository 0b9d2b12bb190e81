/* The RNG family of ig_util.h: splitmix64 stream helpers and xoshiro256** (seeded through splitmix64), permutations, tensor fills. */
#include "ig_util.h"
#include <stdlib.h>

/* Fisher-Yates from the top: perm[i] swaps with perm[below(i + 1)] for i = n-1 .. 1. */
static void shuffle(int64_t *perm, int64_t n, uint64_t (*below)(void *gen, uint64_t bound), void *gen)
{
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)below(gen, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ---------------------------------------------------------------- splitmix64 stream */

uint64_t ig_splitmix64_below(uint64_t *state, uint64_t bound)
{
    if (bound <= 1) return 0;
    uint64_t threshold = (0 - bound) % bound;       /* 2^64 mod bound */
    for (;;) {
        uint64_t x = ig_splitmix64_next(state);
        if (x >= threshold) return x % bound;
    }
}

static uint64_t splitmix_below(void *gen, uint64_t bound) { return ig_splitmix64_below(gen, bound); }

void ig_splitmix64_permutation(uint64_t *state, int64_t *perm, int64_t n) { shuffle(perm, n, splitmix_below, state); }

/* ---------------------------------------------------------------- xoshiro256** */

void ig_rng_seed(struct ig_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = ig_splitmix64_next(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ig_rng_next(struct ig_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ig_rng_uniform(struct ig_rng *r) { return ig_rng_unit(ig_rng_next(r)); }

uint64_t ig_rng_below(struct ig_rng *r, uint64_t bound)
{
    if (bound <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;   /* reject the biased tail */
    uint64_t x;
    do x = ig_rng_next(r);
    while (x >= limit);
    return x % bound;
}

static uint64_t rng_below(void *gen, uint64_t bound) { return ig_rng_below(gen, bound); }

void ig_rng_permutation(struct ig_rng *r, int64_t *perm, int64_t n) { shuffle(perm, n, rng_below, r); }

enum ig_status ig_rng_fill_uniform(struct ig_rng *r, struct ig_tensor *t, float lo, float hi)
{
    if (!r || !t) return ig_error(IG_ERR_INVALID_ARG, "ig_rng_fill_uniform: NULL argument");
    if (t->dtype != IG_DTYPE_F32) return ig_error(IG_ERR_DTYPE, "ig_rng_fill_uniform: tensor is not f32");
    int64_t n = ig_tensor_numel(t);
    float *h = malloc((size_t)(n ? n : 1) * sizeof *h);
    if (!h) return ig_error(IG_ERR_OOM, "ig_rng_fill_uniform: out of host memory");
    for (int64_t i = 0; i < n; i++) h[i] = (float)(lo + (double)(hi - lo) * ig_rng_uniform(r));
    enum ig_status s = ig_tensor_from_host_into(t, h, (size_t)n * sizeof *h);
    free(h);
    return s;
}
