/* Check suite cpu_wcache: the CPU cache of transformed conv weights on every instruction set: the same bits as without it, every change of the weights seen, the cap, the option. */
#include "ig_cpu_isa.h"
#include "ig_cpu_wcache.h"
#include "ig_test_util.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

static const enum ig_cpu_isa isas[] = {IG_CPU_ISA_GENERIC, IG_CPU_ISA_AVX2, IG_CPU_ISA_AVX512};
#define N_ISAS ((int)(sizeof isas / sizeof isas[0]))

/* A 2-thread CPU backend on isa with the conv algorithm and cache size; NULL when the CPU lacks isa. */
static struct ig_backend *backend(enum ig_cpu_isa isa, enum ig_conv_algo conv, int wcache_mb)
{
    if (!ig_cpu_isa_table(isa)) return NULL;
    struct ig_backend_options o = ig_backend_options_default();
    o.threads = 2;
    o.cpu_isa = isa;
    o.conv = conv;
    o.cpu_wcache_mb = wcache_mb;
    struct ig_backend *be = NULL;
    ck_assert_msg(ig_backend_init_opts("cpu", &o, &be) == IG_OK, "%s", ig_last_error());
    return be;
}

/* One conv layer's tensors on a backend: x [N,C,H,W], w [O,C,3,3], b [O], dy [N,O,H,W] (pad 1); w has
 * more than 2^16 values, so the cache compares it in parallel slices. */
enum { N = 3, C = 128, O = 64, H = 9, W = 11, NX = N * C * H * W, NW = O * C * 9, NY = N * O * H * W };
struct layer {
    struct ig_tensor *x, *w, *b, *dy, *y, *dx;
};

static struct layer layer_new(struct ig_backend *be, const float *hx, const float *hw, const float *hb, const float *hdy)
{
    struct layer l = {
        ig_tensor_from_host(be, IG_DTYPE_F32, 4, (int64_t[]){N, C, H, W}, hx),
        ig_tensor_from_host(be, IG_DTYPE_F32, 4, (int64_t[]){O, C, 3, 3}, hw),
        ig_tensor_from_host(be, IG_DTYPE_F32, 1, (int64_t[]){O}, hb),
        ig_tensor_from_host(be, IG_DTYPE_F32, 4, (int64_t[]){N, O, H, W}, hdy),
        ig_tensor_new(be, IG_DTYPE_F32, 4, (int64_t[]){N, O, H, W}),
        ig_tensor_new(be, IG_DTYPE_F32, 4, (int64_t[]){N, C, H, W}),
    };
    ck_assert(l.x && l.w && l.b && l.dy && l.y && l.dx);
    return l;
}

static void layer_free(struct layer *l)
{
    struct ig_tensor *t[6] = {l->x, l->w, l->b, l->dy, l->y, l->dx};
    for (int i = 0; i < 6; i++) ig_tensor_free(t[i]);
}

/* Forward and backward data of l on its backend; y then dx into out[NY + NX]. */
static void run(struct layer *l, float *out)
{
    struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    ck_assert_int_eq(ig_conv2d_forward(l->y, l->x, l->w, l->b, p), IG_OK);
    ck_assert_int_eq(ig_conv2d_backward_data(l->dx, l->dy, l->w, p), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(l->y, out, NY * sizeof(float)), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(l->dx, out + NY, NX * sizeof(float)), IG_OK);
}

/* The cached backend's outputs equal the uncached one's bit for bit. */
static void check_same(struct layer *cached, struct layer *plain, const char *when)
{
    float *a = malloc((NY + NX) * sizeof(float)), *b = malloc((NY + NX) * sizeof(float));
    run(cached, a);
    run(plain, b);
    ck_assert_msg(memcmp(a, b, (NY + NX) * sizeof(float)) == 0, "%s: cached and uncached outputs differ", when);
    free(a);
    free(b);
}

/* Repeated convs (Winograd forced, so every ISA transforms: both tiles via auto / winograd2) keep
 * one transform per weight and direction and reuse it; every change of the weights is seen: the
 * last value changed in place, all values rewritten by a kernel, a new tensor; entries changed twice
 * in a row go dormant and come back once the weights stay; results always equal those of a backend
 * without the cache. */
START_TEST(test_isa_wcache_tracks_weights)
{
    static const enum ig_conv_algo algos[] = {IG_CONV_WINOGRAD, IG_CONV_WINOGRAD2};
    enum ig_cpu_isa isa = isas[_i / 2];
    struct ig_backend *bc = backend(isa, algos[_i % 2], 64), *bp = backend(isa, algos[_i % 2], 0);
    if (!bc) return;
    ck_assert_ptr_nonnull(ig_cpu_wcache_of(bc));
    ck_assert_ptr_null(ig_cpu_wcache_of(bp));
    float *hx = malloc(NX * sizeof(float)), *hw = malloc(NW * sizeof(float)), hb[O], *hdy = malloc(NY * sizeof(float));
    ig_test_fill_uniform(hx, NX, 11u, -1, 1);
    ig_test_fill_uniform(hw, NW, 12u, -1, 1);
    ig_test_fill_uniform(hb, O, 13u, -1, 1);
    ig_test_fill_uniform(hdy, NY, 14u, -1, 1);
    struct layer lc = layer_new(bc, hx, hw, hb, hdy), lp = layer_new(bp, hx, hw, hb, hdy);
    check_same(&lc, &lp, "first call");
    /* forward and rotated (backward data) transforms; winograd2 is auto with 2x2 tiles, which the plain
     * C build takes only from 128 channels */
    const struct ig_cpu_isa_fns *f = ig_cpu_isa_table(isa);
    int want = algos[_i % 2] == IG_CONV_WINOGRAD ? 2
                                                 : f->winograd_suits(C, O, 3, 3, 1, 1, 1, 1, H, W) +
                                                       f->winograd_suits(O, C, 3, 3, 1, 1, 1, 1, H, W);
    int entries;
    size_t bytes;
    int64_t hits;
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_eq(entries, want);
    ck_assert_int_eq(hits, 0);
    ck_assert_uint_ge(bytes, (size_t)want * NW * sizeof(float));
    check_same(&lc, &lp, "second call (transforms reused)");
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_eq(entries, want);
    ck_assert_int_eq(hits, want);
    hw[NW - 1] += 0.25f;   /* one value, the last one */
    ck_assert_int_eq(ig_tensor_from_host_into(lc.w, hw, NW * sizeof(float)), IG_OK);
    ck_assert_int_eq(ig_tensor_from_host_into(lp.w, hw, NW * sizeof(float)), IG_OK);
    check_same(&lc, &lp, "last weight changed in place");
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_eq(hits, want);   /* seen as changed */
    ck_assert_int_eq(ig_scale(lc.w, lc.w, -0.5f), IG_OK);   /* every value, by a kernel */
    ck_assert_int_eq(ig_scale(lp.w, lp.w, -0.5f), IG_OK);
    check_same(&lc, &lp, "weights rescaled by a kernel");
    /* two changes in a row (training): the entries go dormant and free their memory */
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_eq(entries, 0);
    ck_assert_uint_eq(bytes, 0);
    /* the weights stay as they are: the next call takes a copy again, the one after reuses it */
    check_same(&lc, &lp, "unchanged after the changes");
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_eq(entries, want);
    ck_assert_int_eq(hits, want);
    check_same(&lc, &lp, "unchanged again");
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_eq(hits, 2 * want);
    ig_tensor_free(lc.w);
    ig_tensor_free(lp.w);
    ig_test_fill_uniform(hw, NW, 15u, -1, 1);
    lc.w = ig_tensor_from_host(bc, IG_DTYPE_F32, 4, (int64_t[]){O, C, 3, 3}, hw);
    lp.w = ig_tensor_from_host(bp, IG_DTYPE_F32, 4, (int64_t[]){O, C, 3, 3}, hw);
    check_same(&lc, &lp, "a new weight tensor");
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_le(entries, 4);
    layer_free(&lc);
    layer_free(&lp);
    ig_backend_free(bc);
    ig_backend_free(bp);
    free(hx);
    free(hw);
    free(hdy);
}
END_TEST

/* A cap for about one layer keeps the entries in use when another layer does not fit, and gives their
 * room to it once they go stale; a cap smaller than one transform keeps nothing (the conv uses its
 * scratch). Results are always right. */
START_TEST(test_isa_wcache_cap)
{
    enum ig_cpu_isa isa = isas[_i];
    struct ig_backend *bp = backend(isa, IG_CONV_WINOGRAD, 0);
    if (!bp) return;
    float *hx = malloc(NX * sizeof(float)), *hw = malloc(NW * sizeof(float)), hb[O], *hdy = malloc(NY * sizeof(float));
    ig_test_fill_uniform(hx, NX, 21u, -1, 1);
    ig_test_fill_uniform(hw, NW, 22u, -1, 1);
    ig_test_fill_uniform(hb, O, 23u, -1, 1);
    ig_test_fill_uniform(hdy, NY, 24u, -1, 1);
    struct layer lp = layer_new(bp, hx, hw, hb, hdy);
    /* 8 MiB hold the forward and rotated F(4x4) transforms of this 128 -> 64 layer (2 x 36 x 128 x 64
     * floats, 2.4 MB, with the copies 3 MB) but not those and the forward one of a 512 -> 64 layer
     * (36 x 512 x 64 floats, 4.7 MB, with its copy 5.9 MB) */
    struct ig_backend *bc = backend(isa, IG_CONV_WINOGRAD, 8);
    struct layer lc = layer_new(bc, hx, hw, hb, hdy);
    check_same(&lc, &lp, "small layer");
    int entries, before;
    size_t bytes;
    int64_t hits;
    ig_cpu_wcache_stats(bc, &before, &bytes, &hits);
    ck_assert_int_eq(before, 2);
    ck_assert_uint_le(bytes, (size_t)8 << 20);
    int64_t big_c = 4 * C;
    float *hw2 = malloc((size_t)(O * big_c * 9) * sizeof(float)), *hx2 = malloc((size_t)(N * big_c * H * W) * sizeof(float));
    ig_test_fill_uniform(hw2, (size_t)(O * big_c * 9), 25u, -1, 1);
    ig_test_fill_uniform(hx2, (size_t)(N * big_c * H * W), 26u, -1, 1);
    struct ig_tensor *w2 = ig_tensor_from_host(bc, IG_DTYPE_F32, 4, (int64_t[]){O, big_c, 3, 3}, hw2);
    struct ig_tensor *x2 = ig_tensor_from_host(bc, IG_DTYPE_F32, 4, (int64_t[]){N, big_c, H, W}, hx2);
    struct ig_tensor *w2p = ig_tensor_from_host(bp, IG_DTYPE_F32, 4, (int64_t[]){O, big_c, 3, 3}, hw2);
    struct ig_tensor *x2p = ig_tensor_from_host(bp, IG_DTYPE_F32, 4, (int64_t[]){N, big_c, H, W}, hx2);
    struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    float *a = malloc(NY * sizeof(float)), *b = malloc(NY * sizeof(float));
    ck_assert_int_eq(ig_conv2d_forward(lc.y, x2, w2, lc.b, p), IG_OK);
    ck_assert_int_eq(ig_conv2d_forward(lp.y, x2p, w2p, lp.b, p), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(lc.y, a, NY * sizeof(float)), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(lp.y, b, NY * sizeof(float)), IG_OK);
    ck_assert_msg(memcmp(a, b, NY * sizeof(float)) == 0, "the larger layer differs");
    /* it does not fit next to the two entries in use: those stay and keep hitting, it is transformed each time */
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_uint_le(bytes, (size_t)8 << 20);
    ck_assert_int_eq(entries, before);
    int64_t hits0 = hits;
    check_same(&lc, &lp, "small layer next to the larger one");
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_eq(hits, hits0 + 2);
    /* once they go unused for long (stale: 4 x 32 lookups), the larger layer takes the room it needs and hits */
    for (int i = 0; i < 140; i++) ck_assert_int_eq(ig_conv2d_forward(lc.y, x2, w2, lc.b, p), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(lc.y, a, NY * sizeof(float)), IG_OK);
    ck_assert_msg(memcmp(a, b, NY * sizeof(float)) == 0, "the larger layer differs once cached");
    ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
    ck_assert_int_eq(entries, 2);   /* one small entry dropped, enough for the larger one */
    ck_assert_int_gt(hits, hits0 + 2);
    ck_assert_uint_le(bytes, (size_t)8 << 20);
    check_same(&lc, &lp, "small layer after its eviction");
    /* a cap below one transform (1 MiB): nothing is kept */
    struct ig_backend *tiny = backend(isa, IG_CONV_WINOGRAD, 1);
    struct ig_tensor *w3 = ig_tensor_from_host(tiny, IG_DTYPE_F32, 4, (int64_t[]){O, big_c, 3, 3}, hw2);
    struct ig_tensor *x3 = ig_tensor_from_host(tiny, IG_DTYPE_F32, 4, (int64_t[]){N, big_c, H, W}, hx2);
    struct ig_tensor *y3 = ig_tensor_new(tiny, IG_DTYPE_F32, 4, (int64_t[]){N, O, H, W});
    struct ig_tensor *b3 = ig_tensor_from_host(tiny, IG_DTYPE_F32, 1, (int64_t[]){O}, hb);
    ck_assert_int_eq(ig_conv2d_forward(y3, x3, w3, b3, p), IG_OK);
    ck_assert_int_eq(ig_tensor_to_host(y3, a, NY * sizeof(float)), IG_OK);
    ck_assert_msg(memcmp(a, b, NY * sizeof(float)) == 0, "the larger layer differs on a fresh backend");
    ig_cpu_wcache_stats(tiny, &entries, &bytes, &hits);
    ck_assert_int_eq(entries, 0);
    ck_assert_uint_eq(bytes, 0);
    ig_tensor_free(w3); ig_tensor_free(x3); ig_tensor_free(y3); ig_tensor_free(b3);
    ig_backend_free(tiny);
    ig_tensor_free(w2); ig_tensor_free(x2); ig_tensor_free(w2p); ig_tensor_free(x2p);
    layer_free(&lc);
    layer_free(&lp);
    ig_backend_free(bc);
    ig_backend_free(bp);
    free(a); free(b); free(hx); free(hw); free(hdy); free(hw2); free(hx2);
}
END_TEST

/* A cycle over more weights than the table holds (40 > 32 entries): the first 32 stay and hit on
 * every later round, the other 8 are transformed each time (no least-recently-used thrashing), and
 * every output equals that of a backend without the cache. */
START_TEST(test_isa_wcache_cycle)
{
    enum { NT = 40, CC = 8, HH = 4 };
    struct ig_backend *bc = backend(isas[_i], IG_CONV_WINOGRAD, 64), *bp = backend(isas[_i], IG_CONV_WINOGRAD, 0);
    if (!bc) return;
    float hx[CC * HH * HH], hw[CC * CC * 9], hb[CC], yc[CC * HH * HH], yp[CC * HH * HH];
    ig_test_fill_uniform(hx, CC * HH * HH, 61u, -1, 1);
    ig_test_fill_uniform(hb, CC, 62u, -1, 1);
    int64_t xs[4] = {1, CC, HH, HH}, ws[4] = {CC, CC, 3, 3}, bs[1] = {CC};
    struct ig_tensor *xc = ig_tensor_from_host(bc, IG_DTYPE_F32, 4, xs, hx), *xp = ig_tensor_from_host(bp, IG_DTYPE_F32, 4, xs, hx);
    struct ig_tensor *bcv = ig_tensor_from_host(bc, IG_DTYPE_F32, 1, bs, hb), *bpv = ig_tensor_from_host(bp, IG_DTYPE_F32, 1, bs, hb);
    struct ig_tensor *ycv = ig_tensor_new(bc, IG_DTYPE_F32, 4, xs), *ypv = ig_tensor_new(bp, IG_DTYPE_F32, 4, xs);
    struct ig_tensor *wc[NT], *wp[NT];
    for (int t = 0; t < NT; t++) {
        ig_test_fill_uniform(hw, CC * CC * 9, 100u + (uint64_t)t, -1, 1);
        wc[t] = ig_tensor_from_host(bc, IG_DTYPE_F32, 4, ws, hw);
        wp[t] = ig_tensor_from_host(bp, IG_DTYPE_F32, 4, ws, hw);
    }
    struct ig_conv2d_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    int entries;
    size_t bytes;
    int64_t hits;
    for (int round = 0; round < 3; round++) {
        for (int t = 0; t < NT; t++) {
            ck_assert_int_eq(ig_conv2d_forward(ycv, xc, wc[t], bcv, p), IG_OK);
            ck_assert_int_eq(ig_conv2d_forward(ypv, xp, wp[t], bpv, p), IG_OK);
            ck_assert_int_eq(ig_tensor_to_host(ycv, yc, sizeof yc), IG_OK);
            ck_assert_int_eq(ig_tensor_to_host(ypv, yp, sizeof yp), IG_OK);
            ck_assert_msg(memcmp(yc, yp, sizeof yc) == 0, "round %d weight %d: cached and uncached outputs differ", round, t);
        }
        ig_cpu_wcache_stats(bc, &entries, &bytes, &hits);
        ck_assert_int_eq(entries, 32);
        ck_assert_int_eq(hits, 32 * round);
    }
    for (int t = 0; t < NT; t++) {
        ig_tensor_free(wc[t]);
        ig_tensor_free(wp[t]);
    }
    ig_tensor_free(xc); ig_tensor_free(xp); ig_tensor_free(bcv); ig_tensor_free(bpv); ig_tensor_free(ycv); ig_tensor_free(ypv);
    ig_backend_free(bc);
    ig_backend_free(bp);
}
END_TEST

/* IGRADV_CPU_WCACHE_MB: a size in MiB, 0 turns the cache off; anything else is refused by name. */
START_TEST(test_wcache_option)
{
    struct ig_backend_options o = ig_backend_options_default();
    ck_assert_int_eq(o.cpu_wcache_mb, 256);
    setenv("IGRADV_CPU_WCACHE_MB", "0", 1);
    ck_assert_int_eq(ig_backend_options_from_env(&o), IG_OK);
    ck_assert_int_eq(o.cpu_wcache_mb, 0);
    struct ig_backend *b = NULL;
    ck_assert_int_eq(ig_backend_init_cpu(&b, 1), IG_OK);
    ck_assert_ptr_null(ig_cpu_wcache_of(b));
    ig_backend_free(b);
    static const char *const bad[] = {"-1", "lots", "12MB", "2000000"};
    for (int i = 0; i < 4; i++) {
        setenv("IGRADV_CPU_WCACHE_MB", bad[i], 1);
        o = ig_backend_options_default();
        ck_assert_int_eq(ig_backend_options_from_env(&o), IG_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(ig_last_error(), "IGRADV_CPU_WCACHE_MB"));
        ck_assert_int_eq(o.cpu_wcache_mb, 256);   /* unchanged */
    }
    unsetenv("IGRADV_CPU_WCACHE_MB");
    o = ig_backend_options_default();
    o.cpu_wcache_mb = -5;
    ck_assert_int_eq(ig_backend_init_opts("cpu", &o, &b), IG_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ig_last_error(), "cpu_wcache_mb"));
    ck_assert_ptr_null(b);
    /* the cache does not apply to other backends */
    ck_assert_ptr_null(ig_cpu_wcache_of(NULL));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cpu_wcache");
    TCase *tc = tcase_create("wcache");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_isa_wcache_tracks_weights, 0, 2 * N_ISAS);
    tcase_add_loop_test(tc, test_isa_wcache_cap, 0, N_ISAS);
    tcase_add_loop_test(tc, test_isa_wcache_cycle, 0, N_ISAS);
    tcase_add_test(tc, test_wcache_option);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return ig_test_run(suite()); }
