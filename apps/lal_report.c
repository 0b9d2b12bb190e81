/* lal_report writers: summary.csv, results.csv and results.md (Table I per k, paired differences with 95% CIs, AULC) and the `report DIR` command with its figures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ig_cli.h"
#include "ig_util.h"
#include "lal_report.h"

#ifndef LAL_PLOTS_SCRIPT
#define LAL_PLOTS_SCRIPT "apps/lal_plots.py"
#endif

static bool lal_same_cell(const struct lal_run *a, const struct lal_run *b)
{
    return a->k == b->k && ((isnan(a->frac) && isnan(b->frac)) || fabs(a->frac - b->frac) < 1e-9);
}

/* End of the block of runs starting at i with the same k and fraction (and method if by_method). */
static int lal_block_end(const struct lal_runs *r, int i, bool by_method)
{
    int j = i + 1;
    while (j < r->n && lal_same_cell(&r->v[i], &r->v[j]) && (!by_method || !strcmp(r->v[i].method, r->v[j].method))) j++;
    return j;
}

/* The statistics of one (k, fraction, method) block over its seeds. */
struct lal_block {
    int n;
    struct lal_ci a0, a, inc, rnd, lcs, sec, d_rnd, d_lcs, aulc;
};

static void lal_block_stats(const struct lal_runs *r, int i0, int i1, struct lal_block *b)
{
    int n = i1 - i0;
    double *v = malloc((size_t)9 * (size_t)(n ? n : 1) * sizeof *v);
    if (!v) {
        memset(b, 0, sizeof *b);
        return;
    }
    double *c[9];
    for (int k = 0; k < 9; k++) c[k] = v + (size_t)k * (size_t)n;
    for (int i = 0; i < n; i++) {
        const struct lal_run *x = &r->v[i0 + i];
        const struct lal_run *rnd = lal_runs_find(r, "rnd", x->seed, x->frac, x->k);
        const struct lal_run *lcs = lal_runs_find(r, "lcs", x->seed, x->frac, x->k);
        c[0][i] = x->a0, c[1][i] = x->a, c[2][i] = 100.0 * (x->a - x->a0) / x->a0;
        c[3][i] = x->pct_rnd, c[4][i] = x->pct_lcs, c[5][i] = x->sec;
        c[6][i] = rnd ? x->a - rnd->a : NAN;
        c[7][i] = lcs ? x->a - lcs->a : NAN;
        c[8][i] = lal_aulc(x->curve_x, x->curve_y, x->n_curve);
    }
    b->n = n;
    struct lal_ci *out[9] = {&b->a0, &b->a, &b->inc, &b->rnd, &b->lcs, &b->sec, &b->d_rnd, &b->d_lcs, &b->aulc};
    for (int k = 0; k < 9; k++) *out[k] = lal_ci95(c[k], n);
    free(v);
}

static void lal_csv_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, ",%.6g", v);
    else fputc(',', f);
}

static void lal_csv_k(FILE *f, int64_t k)
{
    if (k >= 0) fprintf(f, ",%lld", (long long)k);
    else fputc(',', f);
}

/* ------------------------------------------------------------------ summary.csv */

static void lal_summary_rows(FILE *f, const struct lal_runs *r)
{
    fprintf(f, "method,seed,a0,a,pct_increase,pct_rnd,pct_lcs,sec_per_al_epoch,unlabeled_frac,k\n");
    for (int i = 0; i < r->n; i++) {
        const struct lal_run *x = &r->v[i];
        fprintf(f, "%s,%llu", x->method, (unsigned long long)x->seed);
        double v[6] = {x->a0, x->a, 100.0 * (x->a - x->a0) / x->a0, x->pct_rnd, x->pct_lcs, x->sec};
        for (int c = 0; c < 6; c++) lal_csv_num(f, v[c]);
        lal_csv_num(f, x->frac);
        lal_csv_k(f, x->k);
        fputc('\n', f);
    }
    for (int i = 0; i < r->n; i = lal_block_end(r, i, true)) {
        struct lal_block b;
        lal_block_stats(r, i, lal_block_end(r, i, true), &b);
        const struct lal_ci *cols[6] = {&b.a0, &b.a, &b.inc, &b.rnd, &b.lcs, &b.sec};
        for (int row = 0; row < 2; row++) {
            fprintf(f, "%s,%s", r->v[i].method, row ? "std" : "mean");
            for (int c = 0; c < 6; c++) lal_csv_num(f, row ? cols[c]->sd : cols[c]->mean);
            lal_csv_num(f, r->v[i].frac);
            lal_csv_k(f, r->v[i].k);
            fputc('\n', f);
        }
    }
}

/* Opens dir/name atomically, lets write() fill it, commits. */
static enum ig_status lal_write_file(const char *dir, const char *name, const struct lal_runs *r,
                                     void (*write)(FILE *, const struct lal_runs *, const char *))
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct ig_atomic_file af;
    IG_TRY(ig_atomic_open(&af, path));
    write(af.fp, r, dir);
    return ig_atomic_commit(&af);
}

static void lal_write_summary(FILE *f, const struct lal_runs *r, const char *dir)
{
    (void)dir;
    lal_summary_rows(f, r);
}

/* ------------------------------------------------------------------ results.csv */

static void lal_write_results_csv(FILE *f, const struct lal_runs *r, const char *dir)
{
    (void)dir;
    fprintf(f, "k,unlabeled_frac,method,n_seeds,a0_mean,a_mean,a_sd,pct_increase_mean,pct_increase_sd,"
               "pct_rnd_mean,pct_lcs_mean,sec_per_al_epoch_mean,d_rnd_n,d_rnd_mean,d_rnd_ci_lo,d_rnd_ci_hi,"
               "d_lcs_n,d_lcs_mean,d_lcs_ci_lo,d_lcs_ci_hi,aulc_n,aulc_mean,aulc_sd\n");
    for (int i = 0; i < r->n; i = lal_block_end(r, i, true)) {
        struct lal_block b;
        lal_block_stats(r, i, lal_block_end(r, i, true), &b);
        const struct lal_run *x = &r->v[i];
        if (x->k >= 0) fprintf(f, "%lld", (long long)x->k);
        lal_csv_num(f, x->frac);
        fprintf(f, ",%s,%d", x->method, b.n);
        double v[7] = {b.a0.mean, b.a.mean, b.a.sd, b.inc.mean, b.inc.sd, b.rnd.mean, b.lcs.mean};
        for (int c = 0; c < 7; c++) lal_csv_num(f, v[c]);
        lal_csv_num(f, b.sec.mean);
        const struct lal_ci *d[2] = {&b.d_rnd, &b.d_lcs};
        for (int c = 0; c < 2; c++) {
            fprintf(f, ",%d", d[c]->n);
            lal_csv_num(f, d[c]->mean);
            lal_csv_num(f, d[c]->lo);
            lal_csv_num(f, d[c]->hi);
        }
        fprintf(f, ",%d", b.aulc.n);
        lal_csv_num(f, b.aulc.mean);
        lal_csv_num(f, b.aulc.sd);
        fputc('\n', f);
    }
}

/* ------------------------------------------------------------------ results.md */

static void lal_md_frac(FILE *f, double frac)
{
    if (isfinite(frac)) fprintf(f, "| %.4g ", frac);
    else fprintf(f, "| ? ");
}

static void lal_md_num(FILE *f, const char *fmt, double v)
{
    fputs("| ", f);
    if (isfinite(v)) fprintf(f, fmt, v);
    else fputs("–", f);
    fputc(' ', f);
}

/* distinct methods of the runs [i0, i1), in report order (at most cap) */
static int lal_methods_of(const struct lal_runs *r, int i0, int i1, const char **out, int cap)
{
    int n = 0;
    for (int i = i0; i < i1; i++) {
        int seen = 0;
        for (int j = 0; j < n && !seen; j++) seen = !strcmp(out[j], r->v[i].method);
        if (seen || n == cap) continue;
        int at = n++;
        while (at > 0 && (lal_method_rank(out[at - 1]) > lal_method_rank(r->v[i].method) ||
                          (lal_method_rank(out[at - 1]) == lal_method_rank(r->v[i].method) &&
                           strcmp(out[at - 1], r->v[i].method) > 0))) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = r->v[i].method;
    }
    return n;
}

/* The block of method in the fraction group [g0, g1) (-1 if none). */
static int lal_find_block(const struct lal_runs *r, int g0, int g1, const char *method)
{
    for (int i = g0; i < g1; i++)
        if (!strcmp(r->v[i].method, method)) return i;
    return -1;
}

/* A(0) of a fraction group: mean over its distinct seeds */
static double lal_group_a0(const struct lal_runs *r, int g0, int g1)
{
    double s = 0.0;
    int n = 0;
    for (int i = g0; i < g1; i++) {
        int first = 1;
        for (int j = g0; j < i && first; j++) first = r->v[j].seed != r->v[i].seed || !isfinite(r->v[j].a0);
        if (first && isfinite(r->v[i].a0)) s += r->v[i].a0, n++;
    }
    return n ? s / n : NAN;
}

#define LAL_MAX_METHODS 32

/* Table I for the k block [k0, k1): rows unlabeled fraction, per method A, %Rnd, %LCS, s/epoch. */
static void lal_md_table1(FILE *f, const struct lal_runs *r, int k0, int k1)
{
    const char *m[LAL_MAX_METHODS];
    int nm = lal_methods_of(r, k0, k1, m, LAL_MAX_METHODS);
    fputs("| UI fraction | A(0) ", f);
    for (int j = 0; j < nm; j++) fprintf(f, "| %s A | %s %%Rnd | %s %%LCS | %s s/epoch ", m[j], m[j], m[j], m[j]);
    fputs("|\n|---|---", f);
    for (int j = 0; j < nm; j++) fputs("|---|---|---|---", f);
    fputs("|\n", f);
    for (int g0 = k0; g0 < k1; g0 = lal_block_end(r, g0, false)) {
        int g1 = lal_block_end(r, g0, false);
        lal_md_frac(f, r->v[g0].frac);
        lal_md_num(f, "%.4f", lal_group_a0(r, g0, g1));
        for (int j = 0; j < nm; j++) {
            int i = lal_find_block(r, g0, g1, m[j]);
            if (i < 0) {
                fputs("| – | – | – | – ", f);
                continue;
            }
            struct lal_block b;
            lal_block_stats(r, i, lal_block_end(r, i, true), &b);
            if (b.a.n > 1) fprintf(f, "| %.4f ± %.4f (%d) ", b.a.mean, b.a.sd, b.a.n);
            else fprintf(f, "| %.4f (1) ", b.a.mean);
            lal_md_num(f, "%+.2f", b.rnd.mean);
            lal_md_num(f, "%+.2f", b.lcs.mean);
            lal_md_num(f, "%.1f", b.sec.mean);
        }
        fputs("|\n", f);
    }
}

static void lal_md_diff(FILE *f, const struct lal_ci *d)
{
    if (d->n == 0) fputs("| – ", f);
    else if (d->n == 1) fprintf(f, "| %+.2f (1 seed, no CI) ", 100.0 * d->mean);
    else fprintf(f, "| %+.2f [%+.2f, %+.2f] (%d) ", 100.0 * d->mean, 100.0 * d->lo, 100.0 * d->hi, d->n);
}

/* Paired differences and learning-curve areas for the k block [k0, k1). */
static void lal_md_paired(FILE *f, const struct lal_runs *r, int k0, int k1)
{
    fputs("| UI fraction | method | ΔA vs Rnd | ΔA vs LCS | AULC |\n|---|---|---|---|---|\n", f);
    for (int i = k0; i < k1; i = lal_block_end(r, i, true)) {
        struct lal_block b;
        lal_block_stats(r, i, lal_block_end(r, i, true), &b);
        lal_md_frac(f, r->v[i].frac);
        fprintf(f, "| %s ", r->v[i].method);
        lal_md_diff(f, &b.d_rnd);
        lal_md_diff(f, &b.d_lcs);
        if (b.aulc.n > 1) fprintf(f, "| %.4f ± %.4f (%d) |\n", b.aulc.mean, b.aulc.sd, b.aulc.n);
        else if (b.aulc.n == 1) fprintf(f, "| %.4f (1) |\n", b.aulc.mean);
        else fputs("| – |\n", f);
    }
}

static void lal_write_results_md(FILE *f, const struct lal_runs *r, const char *dir)
{
    fprintf(f, "# Results: %s\n\nBuilt from %d finished run files (%d skipped); rebuild with "
               "`lal_cifar report %s`.\n\n", dir, r->n, r->n_skipped, dir);
    fputs("Table I layout: A is the test accuracy after the last AL epoch, mean ± sd over seeds (number of\n"
          "seeds); %Rnd and %LCS are the mean over seeds of 100 (A − A_base) / A_base against the Rnd / LCS run\n"
          "with the same split and seed; s/epoch is the mean wall time of one AL epoch; A(0) is the\n"
          "accuracy of the line-1 model, shared by every method of a seed.\n\n", f);
    for (int k0 = 0; k0 < r->n;) {
        int k1 = k0;
        while (k1 < r->n && r->v[k1].k == r->v[k0].k) k1++;
        if (r->v[k0].k >= 0) fprintf(f, "## k = %lld\n\n", (long long)r->v[k0].k);
        else fputs("## k unknown\n\n", f);
        lal_md_table1(f, r, k0, k1);
        fputs("\nPaired differences: ΔA = A(method) − A(baseline) in accuracy points over the runs with the same\n"
              "split and seed, mean [95% confidence interval, Student t with n − 1 degrees of freedom] (n).\n"
              "AULC: area under the learning curve (test accuracy against labels spent, trapezoids from A(0)\n"
              "through every AL epoch's accuracy to A) divided by the labels spent, mean ± sd (n).\n\n", f);
        lal_md_paired(f, r, k0, k1);
        fputc('\n', f);
        k0 = k1;
    }
}

/* ------------------------------------------------------------------ entry points */

enum ig_status lal_report_summary(const char *dir)
{
    struct lal_runs r;
    IG_TRY(lal_runs_read(dir, &r));
    enum ig_status s = lal_write_file(dir, "summary.csv", &r, lal_write_summary);
    lal_runs_free(&r);
    return s;
}

enum ig_status lal_report_write(const char *dir)
{
    struct lal_runs r;
    IG_TRY(lal_runs_read(dir, &r));
    enum ig_status s = r.n ? IG_OK : ig_error(IG_ERR_FORMAT, "report: no finished run-*.json files in %s", dir);
    if (s == IG_OK) s = lal_write_file(dir, "summary.csv", &r, lal_write_summary);
    if (s == IG_OK) s = lal_write_file(dir, "results.csv", &r, lal_write_results_csv);
    if (s == IG_OK) s = lal_write_file(dir, "results.md", &r, lal_write_results_md);
    lal_runs_free(&r);
    return s;
}

/* Runs argv (PATH lookup); output to /dev/null when quiet. Returns the exit status, 127 if it cannot start. */
static int lal_spawn(char *const *argv, bool quiet)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 127;
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 127;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The figures: the plotting script with the first Python that imports matplotlib. */
int lal_report_figures(const char *prog, const char *dir)
{
    const char *script = getenv("IGRADV_PLOTS_SCRIPT") ? getenv("IGRADV_PLOTS_SCRIPT") : LAL_PLOTS_SCRIPT;
    const char *cands[3] = {getenv("IGRADV_PYTHON"), "python3", "/usr/bin/python3"};
    for (int i = 0; i < 3; i++) {
        if (!cands[i] || !*cands[i]) continue;
        char *check[] = {(char *)cands[i], "-c", "import matplotlib", NULL};
        if (lal_spawn(check, true) != 0) continue;
        char *run[] = {(char *)cands[i], (char *)script, (char *)dir, NULL};
        int rc = lal_spawn(run, false);
        if (rc != 0) fprintf(stderr, "%s: report: %s %s %s failed (exit %d)\n", prog, cands[i], script, dir, rc);
        return rc != 0;
    }
    fprintf(stderr, "%s: report: no python3 with matplotlib (apt install python3-matplotlib); draw the figures "
                    "later with:\n  python3 %s %s\n", prog, script, dir);
    return 0;
}

int lal_report_command(const char *prog, int argc, char **argv)
{
    const char *dir = NULL;
    bool plots = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-plots")) plots = false;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: %s report DIR [--no-plots]\nRebuild DIR/summary.csv, results.csv, results.md and the figures "
                   "(DIR/figures/, when python3 with matplotlib is installed) from every finished run-*.json in DIR.\n",
                   prog);
            return 0;
        } else if (argv[i][0] == '-') return ig_cli_usage_error(prog, "report: unknown option '%s'", argv[i]);
        else if (dir) return ig_cli_usage_error(prog, "report: one folder expected, got '%s' and '%s'", dir, argv[i]);
        else dir = argv[i];
    }
    if (!dir) return ig_cli_usage_error(prog, "report: expected the --out folder of a run: %s report DIR", prog);
    enum ig_status s = lal_report_write(dir);
    if (s != IG_OK) {
        fprintf(stderr, "%s: %s\n", prog, ig_last_error());
        return s == IG_ERR_IO || s == IG_ERR_FORMAT ? IG_CLI_EXIT_USAGE : 1;
    }
    fprintf(stderr, "%s: report: %s/results.md, results.csv, summary.csv\n", prog, dir);
    return plots ? lal_report_figures(prog, dir) : 0;
}
