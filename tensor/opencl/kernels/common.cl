/* Shared definitions of the igradv OpenCL C 1.2 kernels: work-group size and the dropout hash. */
/* IG_WG: work-group size of the reduction kernels, set with -DIG_WG by the host (a power of 2). */
#ifndef IG_WG
#define IG_WG 64
#endif

/* splitmix64 finaliser, bit-identical to ig_hash64 in ig_tensor.h. */
inline ulong ig_hash64(ulong z)
{
    z += 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

/* u(seed, i) in [0,1) with 24 bits, like ig_hash_uniform. */
inline float ig_hash_uniform(ulong seed, ulong i)
{
    return (float)(ig_hash64(seed ^ ig_hash64(i)) >> 40) * (1.0f / 16777216.0f);
}

/* Tree reduction of one value per work-item over a work-group of IG_WG items; every item gets the sum. */
inline float ig_wg_sum(__local float *sh, float v)
{
    int l = get_local_id(0);
    sh[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = IG_WG / 2; s > 0; s >>= 1) {
        if (l < s) sh[l] += sh[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = sh[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
