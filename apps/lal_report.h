/* lal_report: summary.csv, results.csv and results.md (Table I, paired differences with 95% CIs, learning-curve areas) from every finished run file of an --out folder. */
#ifndef LAL_REPORT_H
#define LAL_REPORT_H
/*
 * Input: every DIR/run-*.json holding at least "method", "seed" and a finite "a" (a finished
 * run, written by any invocation of lal_cifar into DIR). Optional keys: "unlabeled_frac",
 * "k", "a0", "seconds_per_al_epoch", "n_li", "labeled_rows_added" and epochs[] with
 * "test_acc" and "n_labeled"; a missing one leaves its column empty. Runs are grouped by
 * (k, unlabeled fraction); %Rnd / %LCS and the paired differences use the Rnd / LCS run
 * with the same seed, fraction and k, found in any file.
 *
 *   lal_report_summary("runs/x");                 // summary.csv only (lal_cifar after each seed)
 *   lal_report_write("runs/x");                   // summary.csv, results.csv, results.md
 *   lal_report_command("lal_cifar", argc, argv);  // "report DIR [--no-plots]": the above + figures
 */
#include <stdbool.h>
#include <stdint.h>

#include "ig_tensor.h"

struct lal_run {
    char method[32];
    uint64_t seed;
    double frac;           /* unlabeled fraction; NaN when the file has none */
    int64_t k;             /* labels per AL epoch; -1 when the file has none */
    double a0, a, sec;     /* A(0), A, seconds per AL epoch (NaN when absent; a is finite) */
    double pct_rnd, pct_lcs; /* 100 (A - A_base) / A_base against the paired baseline; NaN if none */
    int n_curve;           /* learning curve: labels spent -> test accuracy, x ascending */
    double *curve_x, *curve_y;
    char file[256];        /* base name of the run file */
};

struct lal_runs {
    struct lal_run *v;
    int n, cap;
    int n_skipped;         /* run-*.json files that were unreadable or not finished */
};

/* Reads dir's finished runs (sorted by k, fraction, method, seed), pairs the baselines.
 * IG_ERR_IO when dir cannot be listed. Skipped files are reported on stderr. */
enum ig_status lal_runs_read(const char *dir, struct lal_runs *out);
void lal_runs_free(struct lal_runs *r);
/* The run of method with this seed, fraction and k (NULL if none). */
const struct lal_run *lal_runs_find(const struct lal_runs *r, const char *method, uint64_t seed, double frac, int64_t k);
/* Rank of a method name in the report order (ds, ld, rds, rld, rnd, lcs, margin, entropy,
 * egl, badge, coreset, then others). */
int lal_method_rank(const char *method);

/* ---- statistics (lal_report_stats.c) */
/* Two-sided 95% quantile of Student's t with df degrees of freedom, t(0.975, df); NaN for df < 1. */
double lal_t975(int df);
struct lal_ci {
    int n;                 /* finite values used */
    double mean, sd;       /* sd with n - 1 (0 for n = 1; NaN for n = 0) */
    double lo, hi;         /* mean -+ t975(n-1) sd / sqrt(n); NaN for n < 2 */
};
struct lal_ci lal_ci95(const double *v, int n);
/* Area under the piecewise-linear curve (x ascending) divided by its x span: the mean
 * accuracy over the labels spent. NaN for fewer than two points or a zero span. */
double lal_aulc(const double *x, const double *y, int n);

/* ---- writers (lal_report.c) */
enum ig_status lal_report_summary(const char *dir);
enum ig_status lal_report_write(const char *dir);
/* The figures of DIR (DIR/figures/) by apps/lal_plots.py (IGRADV_PLOTS_SCRIPT overrides the path)
 * with the first of $IGRADV_PYTHON, python3, /usr/bin/python3 that imports matplotlib; without
 * one, prints the command to run later and returns 0. Returns 1 when the script fails. */
int lal_report_figures(const char *prog, const char *dir);
/* argv[0] == "report": "report DIR [--no-plots]". Returns the exit status (2 for usage errors). */
int lal_report_command(const char *prog, int argc, char **argv);
#endif
