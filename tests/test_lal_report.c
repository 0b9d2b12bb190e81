/* Check suite for apps/lal_report: t quantiles, confidence intervals and AULC against hand-computed answers, and the reports rebuilt from run files of separate invocations. */
#include "lal_report.h"
#include "ig_test_files.h"
#include "ig_test_util.h"
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *path_in(const char *d, const char *name)
{
    static char buf[4][600];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", d, name);
    return b;
}

/* a fresh empty folder per test */
static const char *fresh_dir(const char *tag)
{
    static char d[400];
    snprintf(d, sizeof d, "%s/%s", ig_test_scratch(), tag);
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", d, d);
    ck_assert_int_eq(system(cmd), 0);
    return d;
}

/* A run file as lal_cifar writes it (the keys the report reads). */
static void write_run(const char *d, const char *method, int seed, double frac, int k, double a0, double a, double sec)
{
    json_t *j = json_object();
    json_object_set_new(j, "method", json_string(method));
    json_object_set_new(j, "seed", json_integer(seed));
    json_object_set_new(j, "unlabeled_frac", json_real(frac));
    json_object_set_new(j, "k", json_integer(k));
    json_object_set_new(j, "a0", json_real(a0));
    json_object_set_new(j, "a", json_real(a));
    json_object_set_new(j, "seconds_per_al_epoch", json_real(sec));
    json_object_set_new(j, "pct_rnd", json_null()); /* what a run without its baseline in the same invocation has */
    char name[128];
    snprintf(name, sizeof name, "run-%s-f%g-k%d-s%d.json", method, frac, k, seed);
    ck_assert_int_eq(json_dump_file(j, path_in(d, name), 0), 0);
    json_decref(j);
}

/* ------------------------------------------------------------ statistics */

START_TEST(test_t975_known_values)
{
    /* Student t 97.5% quantiles (tables / scipy.stats.t.ppf(0.975, df)) */
    ck_assert_double_eq_tol(lal_t975(1), 12.7062, 1e-4);
    ck_assert_double_eq_tol(lal_t975(2), 4.3027, 1e-4);
    ck_assert_double_eq_tol(lal_t975(4), 2.7764, 1e-4);
    ck_assert_double_eq_tol(lal_t975(9), 2.2622, 1e-4);
    ck_assert_double_eq_tol(lal_t975(30), 2.0423, 1e-4);
    ck_assert_double_eq_tol(lal_t975(31), 2.039513, 1e-6);
    ck_assert_double_eq_tol(lal_t975(60), 2.000298, 1e-6);
    ck_assert_double_eq_tol(lal_t975(120), 1.979930, 1e-6);
    ck_assert_double_eq_tol(lal_t975(1000000), 1.959966, 1e-6);
    for (int df = 1; df < 200; df++) ck_assert(lal_t975(df + 1) < lal_t975(df)); /* decreasing, also across 30/31 */
    ck_assert(isnan(lal_t975(0)));
}
END_TEST

START_TEST(test_ci95_hand_computed)
{
    /* {1,2,3,4,5}: mean 3, sd sqrt(2.5) = 1.5811, half-width 2.7764 * 1.5811 / sqrt(5) = 1.9632 */
    const double v[6] = {1, NAN, 2, 3, 4, 5};
    struct lal_ci c = lal_ci95(v, 6);
    ck_assert_int_eq(c.n, 5);
    ck_assert_double_eq_tol(c.mean, 3.0, 1e-12);
    ck_assert_double_eq_tol(c.sd, 1.5811388, 1e-6);
    ck_assert_double_eq_tol(c.hi - c.mean, 1.9632, 1e-4);
    ck_assert_double_eq_tol(c.lo, 3.0 - 1.963243, 1e-5);
    /* two values: t(0.975, 1) = 12.706; {0.01, 0.03}: sd 0.014142, half-width 0.127062 */
    const double w[2] = {0.01, 0.03};
    c = lal_ci95(w, 2);
    ck_assert_double_eq_tol(c.hi - c.lo, 2 * 12.706205 * 0.0141421356 / sqrt(2.0), 1e-6);
    c = lal_ci95(w, 1);
    ck_assert_int_eq(c.n, 1);
    ck_assert_double_eq(c.sd, 0.0);
    ck_assert(isnan(c.lo) && isnan(c.hi));
    c = lal_ci95(v + 1, 1);
    ck_assert_int_eq(c.n, 0);
    ck_assert(isnan(c.mean));
}
END_TEST

START_TEST(test_aulc_trapezoid)
{
    /* (0, 0.5) (100, 0.6) (200, 0.8): area 55 + 70 = 125 over 200 labels = 0.625 */
    const double x[3] = {0, 100, 200}, y[3] = {0.5, 0.6, 0.8};
    ck_assert_double_eq_tol(lal_aulc(x, y, 3), 0.625, 1e-12);
    ck_assert_double_eq_tol(lal_aulc(x + 1, y + 1, 2), 0.7, 1e-12);
    ck_assert(isnan(lal_aulc(x, y, 1)));
    const double flat[2] = {5, 5};
    ck_assert(isnan(lal_aulc(flat, y, 2)));
}
END_TEST

/* ------------------------------------------------------------ reports */

/* the summary.csv row that starts with prefix (NULL if none); static buffer */
static const char *csv_row(const char *text, const char *prefix)
{
    static char row[512];
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix))) {
            const char *e = strchr(p, '\n');
            snprintf(row, sizeof row, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
            return row;
        }
    return NULL;
}

START_TEST(test_summary_across_invocations)
{
    /* two invocations into one folder: the first ran ds only (its files carry no %Rnd),
     * the second rnd and lcs; the summary pairs them by seed, fraction and k */
    const char *d = fresh_dir("two");
    write_run(d, "ds", 1, 0.5, 200, 0.40, 0.55, 3.0);
    write_run(d, "ds", 2, 0.5, 200, 0.42, 0.63, 5.0);
    write_run(d, "rnd", 1, 0.5, 200, 0.40, 0.50, 1.0);
    write_run(d, "rnd", 2, 0.5, 200, 0.42, 0.60, 1.0);
    write_run(d, "lcs", 1, 0.5, 200, 0.40, 0.44, 2.0);
    write_run(d, "lcs", 2, 0.5, 200, 0.42, 0.70, 2.0);
    write_run(d, "rnd", 1, 0.9, 200, 0.30, 0.80, 1.0); /* another fraction: not a partner of 0.5 */
    ck_assert_int_eq(lal_report_summary(d), IG_OK);
    char *t = ig_test_read_file(path_in(d, "summary.csv"));
    const char *head = "method,seed,a0,a,pct_increase,pct_rnd,pct_lcs,sec_per_al_epoch,unlabeled_frac,k\n";
    ck_assert(!strncmp(t, head, strlen(head)));
    /* ds s1: +37.5% over A0, (0.55-0.5)/0.5 = +10% vs Rnd, (0.55-0.44)/0.44 = +25% vs LCS */
    ck_assert_str_eq(csv_row(t, "ds,1,"), "ds,1,0.4,0.55,37.5,10,25,3,0.5,200");
    ck_assert_str_eq(csv_row(t, "ds,2,"), "ds,2,0.42,0.63,50,5,-10,5,0.5,200");
    ck_assert_str_eq(csv_row(t, "ds,mean,"), "ds,mean,0.41,0.59,43.75,7.5,7.5,4,0.5,200");
    /* sd over the two seeds: |x1 - x2| / sqrt(2) */
    ck_assert_str_eq(csv_row(t, "ds,std,"), "ds,std,0.0141421,0.0565685,8.83883,3.53553,24.7487,1.41421,0.5,200");
    ck_assert_str_eq(csv_row(t, "lcs,1,"), "lcs,1,0.4,0.44,10,-12,0,2,0.5,200");
    ck_assert_str_eq(csv_row(t, "rnd,1,0.3"), "rnd,1,0.3,0.8,166.667,0,,1,0.9,200");
    free(t);
}
END_TEST

START_TEST(test_results_ci_and_layout)
{
    /* five seeds, A(ds) - A(rnd) = {1,2,3,4,5} points: mean +3.00, CI [+1.04, +4.96] */
    const char *d = fresh_dir("ci");
    for (int s = 1; s <= 5; s++) {
        write_run(d, "rnd", s, 0.5, 100, 0.40, 0.50, 1.0);
        write_run(d, "ds", s, 0.5, 100, 0.40, 0.50 + s / 100.0, 2.0);
    }
    write_run(d, "ds", 1, 0.5, 300, 0.40, 0.60, 2.0); /* a second k: its own table */
    ck_assert_int_eq(lal_report_write(d), IG_OK);
    char *md = ig_test_read_file(path_in(d, "results.md"));
    ck_assert_msg(strstr(md, "| 0.5 | ds | +3.00 [+1.04, +4.96] (5) | – | – |"), "%s", md);
    ck_assert_msg(strstr(md, "| 0.5 | rnd | +0.00 [+0.00, +0.00] (5) |"), "%s", md);
    ck_assert(strstr(md, "## k = 100") && strstr(md, "## k = 300"));
    ck_assert(strstr(md, "## k = 100") < strstr(md, "## k = 300"));
    /* Table I row: A(0), then ds (A mean ± sd (n), %Rnd, %LCS, s/epoch), then rnd */
    ck_assert_msg(strstr(md, "| 0.5 | 0.4000 | 0.5300 ± 0.0158 (5) | +6.00 | – | 2.0 | 0.5000 ± 0.0000 (5) | +0.00 | – | 1.0 |"),
                  "%s", md);
    ck_assert(strstr(md, "| UI fraction | A(0) | ds A | ds %Rnd | ds %LCS | ds s/epoch | rnd A |"));
    ck_assert_msg(strstr(md, "| 0.5 | ds | – | – | – |"), "k = 300 without baselines: %s", md);
    free(md);
    char *csv = ig_test_read_file(path_in(d, "results.csv"));
    ck_assert_msg(strstr(csv, "\n100,0.5,ds,5,0.4,0.53,0.0158114,32.5,3.95285,6,,2,5,0.03,0.0103676,0.0496324,0,,,,0,,\n"),
                  "%s", csv);
    free(csv);
}
END_TEST

START_TEST(test_optional_keys_and_skipped_files)
{
    const char *d = fresh_dir("opt");
    ig_test_write_str(path_in(d, "run-bare-s3.json"), "{\"method\": \"ds\", \"seed\": 3, \"a\": 0.5}");
    ig_test_write_str(path_in(d, "run-unfinished-s1.json"), "{\"method\": \"ds\", \"seed\": 1, \"a\": null}");
    ig_test_write_str(path_in(d, "run-broken.json"), "{\"method\": ");
    ig_test_write_str(path_in(d, ".run-ds-s1.json.igtmp.123.0"), "{\"method\": \"ds\", \"seed\": 9, \"a\": 0.9}");
    ig_test_write_str(path_in(d, "notes.json"), "{\"method\": \"ds\", \"seed\": 8, \"a\": 0.9}");
    struct lal_runs r;
    ck_assert_int_eq(lal_runs_read(d, &r), IG_OK);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(r.n_skipped, 2);
    ck_assert_int_eq(r.v[0].k, -1);
    ck_assert(isnan(r.v[0].frac) && isnan(r.v[0].a0) && isnan(r.v[0].sec) && isnan(r.v[0].pct_rnd));
    ck_assert_int_eq(r.v[0].n_curve, 0);
    lal_runs_free(&r);
    ck_assert_int_eq(lal_report_write(d), IG_OK);
    char *md = ig_test_read_file(path_in(d, "results.md"));
    ck_assert(strstr(md, "## k unknown") && strstr(md, "| ? | – | 0.5000 (1) | – | – | – |"));
    ck_assert(strstr(md, "Built from 1 finished run files (2 skipped)"));
    free(md);
    char *s = ig_test_read_file(path_in(d, "summary.csv"));
    ck_assert_str_eq(csv_row(s, "ds,3,"), "ds,3,,0.5,,,,,,");
    free(s);
    /* nothing finished: an error naming the folder */
    const char *e = fresh_dir("empty");
    ck_assert_int_eq(lal_report_write(e), IG_ERR_FORMAT);
    ck_assert(strstr(ig_last_error(), e) != NULL);
    ck_assert_int_eq(lal_report_write("/nonexistent/folder"), IG_ERR_IO);
}
END_TEST

START_TEST(test_learning_curve_area)
{
    /* n_li 1000; epochs at 1100 and 1200 labeled (100, 200 spent) with accuracies 0.6, 0.7;
     * 300 rows added in all, final A 0.8; A0 0.5: area (0.55 + 0.65 + 0.75) * 100 / 300 = 0.65 */
    const char *d = fresh_dir("curve");
    ig_test_write_str(path_in(d, "run-ds-s1.json"),
               "{\"method\":\"ds\",\"seed\":1,\"k\":100,\"unlabeled_frac\":0.5,\"a0\":0.5,\"a\":0.8,\"n_li\":1000,"
               "\"epochs\":[{\"test_acc\":0.6,\"n_labeled\":1100},{\"test_acc\":0.7,\"n_labeled\":1200},"
               "{\"test_acc\":null,\"n_labeled\":1300}],\"labeled_rows_added\":[1,2,3" /* ... 300 rows */);
    FILE *f = fopen(path_in(d, "run-ds-s1.json"), "a");
    for (int i = 3; i < 300; i++) fprintf(f, ",%d", i + 1);
    fputs("]}", f);
    fclose(f);
    struct lal_runs r;
    ck_assert_int_eq(lal_runs_read(d, &r), IG_OK);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(r.v[0].n_curve, 4);
    ck_assert_double_eq(r.v[0].curve_x[3], 300.0);
    ck_assert_double_eq_tol(lal_aulc(r.v[0].curve_x, r.v[0].curve_y, r.v[0].n_curve), 0.65, 1e-12);
    lal_runs_free(&r);
    ck_assert_int_eq(lal_report_write(d), IG_OK);
    char *md = ig_test_read_file(path_in(d, "results.md"));
    ck_assert_msg(strstr(md, "| 0.6500 (1) |"), "%s", md);
    free(md);
}
END_TEST

START_TEST(test_report_command_usage)
{
    const char *d = fresh_dir("cmd");
    write_run(d, "rnd", 1, 0.5, 100, 0.40, 0.50, 1.0);
    char *a0[] = {"report", NULL};
    ck_assert_int_eq(lal_report_command("lal_cifar", 1, a0), 2);
    char *a1[] = {"report", (char *)d, "--bogus", NULL};
    ck_assert_int_eq(lal_report_command("lal_cifar", 3, a1), 2);
    char *a2[] = {"report", "/nonexistent/folder", "--no-plots", NULL};
    ck_assert_int_eq(lal_report_command("lal_cifar", 3, a2), 2);
    char *a3[] = {"report", (char *)d, "other", NULL};
    ck_assert_int_eq(lal_report_command("lal_cifar", 3, a3), 2);
    char *a4[] = {"report", (char *)d, "--no-plots", NULL};
    ck_assert_int_eq(lal_report_command("lal_cifar", 3, a4), 0);
    ck_assert_int_eq(access(path_in(d, "results.md"), F_OK), 0);
    ck_assert_int_eq(access(path_in(d, "results.csv"), F_OK), 0);
    ck_assert_int_eq(access(path_in(d, "figures"), F_OK), -1); /* --no-plots */
}
END_TEST

int main(void)
{
    if (ig_test_scratch_open("lal_report")) return 1;
    Suite *s = suite_create("lal_report");
    IG_TEST_CASE(s, "stats", 0, test_t975_known_values, test_ci95_hand_computed, test_aulc_trapezoid);
    IG_TEST_CASE(s, "reports", 0, test_summary_across_invocations, test_results_ci_and_layout,
                                  test_optional_keys_and_skipped_files, test_learning_curve_area,
                                  test_report_command_usage);
    return ig_test_scratch_close(ig_test_run(s));
}
