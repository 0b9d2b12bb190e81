/* nn RNG: xoshiro256** seeded through splitmix64, uniform draws, permutations, tensor fills. */
#include "ig_nn.h"
#include "ig_util.h"
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ig_rng_seed(struct ig_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
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

double ig_rng_uniform(struct ig_rng *r) { return (double)(ig_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

uint64_t ig_rng_below(struct ig_rng *r, uint64_t bound)
{
    if (bound <= 1) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;   /* reject the biased tail */
    uint64_t x;
    do x = ig_rng_next(r);
    while (x >= limit);
    return x % bound;
}

void ig_rng_permutation(struct ig_rng *r, int64_t *perm, int64_t n)
{
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)ig_rng_below(r, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

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
