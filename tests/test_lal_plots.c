/* Check suite for apps/lal_plots.py through `report DIR`: a synthetic run folder gives every figure as valid PNG (<= 200 KB) and SVG; skipped (77) without python3 + matplotlib. */
#include "ig_npy.h"
#include "lal_report.h"
#include "ig_test_files.h"
#include "ig_test_util.h"
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* a finished run with a learning curve: A(0) then one accuracy per AL epoch */
static void write_run(const char *method, int seed, double frac, int k, double gain)
{
    json_t *j = json_object();
    json_object_set_new(j, "method", json_string(method));
    json_object_set_new(j, "seed", json_integer(seed));
    json_object_set_new(j, "unlabeled_frac", json_real(frac));
    json_object_set_new(j, "k", json_integer(k));
    json_object_set_new(j, "n_li", json_integer(1000));
    json_object_set_new(j, "a0", json_real(0.40 + 0.01 * seed));
    json_object_set_new(j, "a", json_real(0.40 + 0.01 * seed + gain));
    json_object_set_new(j, "seconds_per_al_epoch", json_real(1.5));
    json_t *ep = json_array(), *added = json_array();
    for (int e = 1; e <= 3; e++) {
        json_t *o = json_object();
        json_object_set_new(o, "test_acc", json_real(0.40 + 0.01 * seed + gain * e / 4.0));
        json_object_set_new(o, "n_labeled", json_integer(1000 + e * k));
        json_array_append_new(ep, o);
    }
    for (int i = 0; i < 4 * k; i++) json_array_append_new(added, json_integer(i));
    json_object_set_new(j, "epochs", ep);
    json_object_set_new(j, "labeled_rows_added", added);
    char name[128];
    snprintf(name, sizeof name, "run-%s-f%g-k%d-s%d.json", method, frac, k, seed);
    ck_assert_int_eq(json_dump_file(j, ig_test_in(name), 0), 0);
    json_decref(j);
}

static void check_png(const char *name)
{
    const char *p = ig_test_in(name);
    struct stat st;
    ck_assert_msg(stat(p, &st) == 0, "%s missing", p);
    ck_assert_msg(st.st_size > 1000 && st.st_size <= 200 * 1024, "%s: %lld bytes", p, (long long)st.st_size);
    FILE *f = fopen(p, "rb");
    unsigned char sig[8];
    ck_assert_uint_eq(fread(sig, 1, 8, f), 8);
    fclose(f);
    ck_assert_mem_eq(sig, "\x89PNG\r\n\x1a\n", 8);
}

static void check_svg(const char *name)
{
    const char *p = ig_test_in(name);
    FILE *f = fopen(p, "rb");
    ck_assert_msg(f != NULL, "%s missing", p);
    char *t = calloc(1, 1 << 22);
    size_t n = fread(t, 1, (1 << 22) - 1, f);
    fclose(f);
    ck_assert_msg(n > 100 && !strncmp(t, "<?xml", 5) && strstr(t, "<svg") && strstr(t, "</svg>"), "%s is not SVG", p);
    free(t);
}

START_TEST(test_figures_from_synthetic_runs)
{
    const double fracs[2] = {0.5, 0.9};
    const int ks[2] = {100, 200};
    const char *methods[4] = {"ds", "ld", "rnd", "lcs"};
    for (int f = 0; f < 2; f++)
        for (int k = 0; k < 2; k++)
            for (int m = 0; m < 4; m++)
                for (int s = 1; s <= 2; s++) write_run(methods[m], s, fracs[f], ks[k], 0.02 * (m + 1) + 0.01 * s + 0.03 * f);
    /* per-step DS scores as the grid runner writes them (scores/<unit>/al<i>-ep<j>.npy and
     * al<i>-mean.npy, float64), LD scores with flat names (scores-<method>-s<seed>-e<i>.npy) */
    mkdir(ig_test_in("scores"), 0755);
    float v[500];
    double w[500];
    const int64_t n = 500;
    for (int s = 1; s <= 2; s++) {
        char unit[128];
        snprintf(unit, sizeof unit, "scores/ds-f0.5-k100-s%d", s);
        mkdir(ig_test_in(unit), 0755);
        for (int e = 1; e <= 3; e++) {
            ig_test_fill_uniform(v, 500, (uint64_t)(e * 10 + s), -1.0f, (float)e);
            for (int i = 0; i < 500; i++) w[i] = v[i];
            char name[200];
            for (int j = 1; j <= 2; j++) {
                snprintf(name, sizeof name, "%s/al%d-ep%d.npy", unit, e, j);
                ck_assert_int_eq(ig_npy_write(ig_test_in(name), IG_NPY_F64, 1, &n, w), IG_OK);
            }
            snprintf(name, sizeof name, "%s/al%d-mean.npy", unit, e);
            ck_assert_int_eq(ig_npy_write(ig_test_in(name), IG_NPY_F64, 1, &n, w), IG_OK);
            snprintf(name, sizeof name, "scores/scores-ld-f0.5-k100-s%d-e%d.npy", s, e);
            ck_assert_int_eq(ig_npy_write(ig_test_in(name), IG_NPY_F32, 1, &n, v), IG_OK);
        }
    }
    char *argv[] = {"report", (char *)ig_test_scratch(), NULL};
    ck_assert_int_eq(lal_report_command("lal_cifar", 2, argv), 0);
    const char *figs[] = {"fig1_scores_ds_k100_f0.5", "fig1_scores_ld_k100_f0.5", "fig2_pct_increase_vs_frac_k100",
                          "fig2_pct_increase_vs_frac_k200", "fig3_pct_increase_vs_k_f0.5", "fig3_pct_increase_vs_k_f0.9",
                          "curves_k100_f0.5", "curves_k200_f0.9"};
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "figures/%s.png", figs[i]);
        check_png(name);
        snprintf(name, sizeof name, "figures/%s.svg", figs[i]);
        check_svg(name);
    }
    /* no temporaries left behind */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls -a '%s/figures' | grep -q igtmp", ig_test_scratch());
    ck_assert_int_ne(system(cmd), 0);
}
END_TEST

START_TEST(test_script_bad_folder)
{
    /* the script alone: a missing folder is a usage error (exit 2) */
    const char *py = getenv("IG_TEST_PYTHON");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' '%s' /nonexistent/folder 2>/dev/null", py, LAL_PLOTS_SCRIPT);
    int st = system(cmd);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 2);
}
END_TEST

/* the first of IGRADV_PYTHON, python3, /usr/bin/python3 that imports matplotlib */
static const char *find_python(void)
{
    const char *cands[3] = {getenv("IGRADV_PYTHON"), "python3", "/usr/bin/python3"};
    for (int i = 0; i < 3; i++) {
        if (!cands[i] || !*cands[i]) continue;
        char cmd[512];
        snprintf(cmd, sizeof cmd, "'%s' -c 'import matplotlib, numpy' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0) return cands[i];
    }
    return NULL;
}

int main(void)
{
    const char *py = find_python();
    if (!py) {
        fprintf(stderr, "test_lal_plots: no python3 with matplotlib and numpy: skipped\n");
        return IG_TEST_SKIP;
    }
    setenv("IG_TEST_PYTHON", py, 1);
    if (ig_test_scratch_open("lal_plots")) return 1;
    Suite *s = suite_create("lal_plots");
    IG_TEST_CASE(s, "figures", 120, test_figures_from_synthetic_runs, test_script_bad_folder);
    return ig_test_scratch_close(ig_test_run(s));
}
