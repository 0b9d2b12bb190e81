/* Check suite for apps/lal_grid and apps/lal_progress: unit order and names against a brute-force enumeration, --shard blocks covering the grid once, bad list / shard flags, the run ETA against a hand-computed answer. */
#include "lal_grid.h"
#include "lal_progress.h"
#include "ig_test_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lal_grid small_grid(void)
{
    struct lal_grid g = lal_grid_default();
    ck_assert_int_eq(lal_grid_parse_fracs(&g, "t", "0.9,0.25"), -1);
    ck_assert_int_eq(lal_grid_parse_ks(&g, "t", "100,500,7"), -1);
    ck_assert_int_eq(lal_grid_parse_seeds(&g, "t", "3,1"), -1);
    ck_assert_int_eq(lal_grid_parse_methods(&g, "t", "lcs,ds,rnd"), -1);
    return g;
}

START_TEST(test_units_order_and_names)
{
    struct lal_grid g = small_grid();
    struct lal_unit *u;
    int n;
    ck_assert_int_eq(lal_grid_units(&g, &u, &n), IG_OK);
    ck_assert_int_eq(n, 2 * 3 * 2 * 3);
    /* brute force: fraction, seed, k, method (table order, whatever the --methods order) */
    static const char *fr[] = {"0.9", "0.25"}, *ks[] = {"100", "500", "7"}, *sd[] = {"3", "1"}, *me[] = {"ds", "rnd", "lcs"};
    int i = 0;
    for (int f = 0; f < 2; f++)
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < 3; k++)
                for (int m = 0; m < 3; m++, i++) {
                    char want[96], init[64];
                    snprintf(want, sizeof want, "%s-f%s-k%s-s%s", me[m], fr[f], ks[k], sd[s]);
                    snprintf(init, sizeof init, "init-f%s-s%s", fr[f], sd[s]);
                    ck_assert_str_eq(u[i].name, want);
                    ck_assert_str_eq(u[i].init, init);
                    ck_assert_int_eq(u[i].index, i);
                    ck_assert_int_eq(u[i].group, f * 2 + s);
                }
    /* a unit's name does not depend on the rest of the grid */
    struct lal_grid one = lal_grid_default();
    ck_assert_int_eq(lal_grid_parse_fracs(&one, "t", "0.25"), -1);
    ck_assert_int_eq(lal_grid_parse_ks(&one, "t", "500"), -1);
    ck_assert_int_eq(lal_grid_parse_methods(&one, "t", "rnd"), -1);
    struct lal_unit *v;
    int nv;
    ck_assert_int_eq(lal_grid_units(&one, &v, &nv), IG_OK);
    ck_assert_int_eq(nv, 1);
    ck_assert_str_eq(v[0].name, "rnd-f0.25-k500-s1");
    free(v);
    free(u);
}
END_TEST

START_TEST(test_shards_cover_once)
{
    for (int n = 0; n <= 40; n += 7)
        for (int shards = 1; shards <= 9; shards++) {
            int next = 0, lo = n, hi = 0;
            for (int i = 0; i < shards; i++) {
                int first, count;
                lal_grid_shard(n, i, shards, &first, &count);
                ck_assert_int_eq(first, next);   /* contiguous, in order, no overlap or gap */
                next = first + count;
                lo = count < lo ? count : lo;
                hi = count > hi ? count : hi;
            }
            ck_assert_int_eq(next, n);
            ck_assert_int_le(hi - lo, 1);       /* near-equal blocks */
        }
    int first = -1, count = -1;
    lal_grid_shard(10, 3, 3, &first, &count);
    ck_assert_int_eq(count, 0);
}
END_TEST

START_TEST(test_bad_flags)
{
    struct lal_grid g = lal_grid_default();
    const char *bad_fracs[] = {"", "0.5,", ",0.5", "0.1,,0.2", "0", "1", "0.5,0.5", "0.1234567,0.12345671", "x"};
    for (size_t i = 0; i < sizeof bad_fracs / sizeof *bad_fracs; i++)
        ck_assert_msg(lal_grid_parse_fracs(&g, "t", bad_fracs[i]) == 2, "accepted --unlabeled-frac '%s'", bad_fracs[i]);
    const char *bad_ks[] = {"0", "5,5", "1.5", "-3", ""};
    for (size_t i = 0; i < sizeof bad_ks / sizeof *bad_ks; i++)
        ck_assert_msg(lal_grid_parse_ks(&g, "t", bad_ks[i]) == 2, "accepted --k '%s'", bad_ks[i]);
    ck_assert_int_eq(lal_grid_parse_seeds(&g, "t", "1,-1"), 2);
    ck_assert_int_eq(lal_grid_parse_seeds(&g, "t", "2,2"), 2);
    ck_assert_int_eq(lal_grid_parse_methods(&g, "t", "ds,nope"), 2);
    char many[400] = "1";
    for (int i = 2; i <= LAL_GRID_MAX + 1; i++) snprintf(many + strlen(many), sizeof many - strlen(many), ",%d", i);
    ck_assert_int_eq(lal_grid_parse_seeds(&g, "t", many), 2);
    /* the grid keeps its values after a refused list */
    ck_assert_int_eq(g.n_fracs, 1);
    ck_assert(g.fracs[0] == 0.5);
    int i = -1, n = -1;
    const char *bad_shards[] = {"1", "2/2", "-1/2", "0/0", "a/2", "0/2x", "/2", "1/"};
    for (size_t j = 0; j < sizeof bad_shards / sizeof *bad_shards; j++)
        ck_assert_msg(lal_grid_parse_shard("t", bad_shards[j], &i, &n) == 2, "accepted --shard '%s'", bad_shards[j]);
    ck_assert_int_eq(lal_grid_parse_shard("t", "3/8", &i, &n), -1);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(n, 8);
}
END_TEST

/* ETA of a run with |LI| 1000, k 100, 2 AL epochs x 2 training epochs, after line 1 and the
 * first AL epoch (train at 500 img/s, 3 s of scoring/fitting/selection), by hand:
 * left = 2 x 1200 (AL 2) + 2 x 1300 (final) = 5000 images -> 10 s, + 3 s x 1 AL epoch left. */
START_TEST(test_eta_run)
{
    struct lal_grid g = lal_grid_default();
    ck_assert_int_eq(lal_grid_parse_ks(&g, "t", "100"), -1);
    ck_assert_int_eq(lal_grid_parse_methods(&g, "t", "ds,rnd"), -1);
    struct lal_unit *u;
    int n;
    ck_assert_int_eq(lal_grid_units(&g, &u, &n), IG_OK);
    struct lal_progress p;
    lal_progress_init(&p, u, n, 2, 2, true);
    lal_progress_run_start(&p, 0, 1000);
    ck_assert(isnan(lal_progress_eta_run(&p)));   /* no rate yet */
    struct ig_al_progress ev = {"ds", "init-train", 0, 1, 1.0, NAN, 2.0, NULL, NULL, 0};
    lal_progress_event(&p, &ev);                    /* 1000 images in 2 s */
    ev.train_epoch = 2;
    lal_progress_event(&p, &ev);
    ck_assert(p.line1_trained);
    ev.stage = "train", ev.al_epoch = 1, ev.train_epoch = 1, ev.seconds = 2.2;   /* 1100 images */
    lal_progress_event(&p, &ev);
    ev.train_epoch = 2;
    lal_progress_event(&p, &ev);
    struct ig_al_progress other[] = {{"ds", "score", 1, 1, NAN, NAN, 1.0, NULL, NULL, 0},
                                     {"ds", "fit", 1, 0, NAN, NAN, 1.5, NULL, NULL, 0},
                                     {"ds", "select", 1, 0, NAN, NAN, 0.5, NULL, NULL, 0}};
    for (int i = 0; i < 3; i++) lal_progress_event(&p, &other[i]);
    ck_assert_double_eq_tol(lal_progress_eta_run(&p), 10.0 + 3.0, 1e-9);
    /* grid: the second unit (rnd) has no finished run of its method, nor any at all: this run's projection */
    ck_assert(isfinite(lal_progress_eta_grid(&p)));
    ck_assert(lal_progress_eta_grid(&p) > lal_progress_eta_run(&p));
    free(u);
}
END_TEST

static Suite *grid_suite(void)
{
    Suite *s = suite_create("grid");
    IG_TEST_CASE(s, "core", 0, test_units_order_and_names, test_shards_cover_once, test_bad_flags, test_eta_run);
    return s;
}

int main(void) { return ig_test_run(grid_suite()); }
