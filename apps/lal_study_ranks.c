/* lal_study over MPI ranks: the line-1 models first (each trained by exactly one rank), then the units from a work queue, then rank 0 collects every finished unit for the reports. */
#include "lal_study.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_dist.h"

/* One unit on this rank (its own split); -1 on success, else the exit status. */
static int run_one(const struct lal_study *s, struct lal_run_ctx *c, const struct lal_unit *units, int i,
                   int64_t *li, int64_t *ui, struct lal_run_out *r)
{
    int64_t n_li, n_ui;
    c->u = &units[i];
    if (ig_al_split(s->train->n, units[i].frac, units[i].seed, li, &n_li, ui, &n_ui) != IG_OK) {
        fprintf(stderr, "%s: split: %s\n", s->prog, ig_last_error());
        return 1;
    }
    return lal_study_run_unit(s, c, i, li, n_li, ui, n_ui, r);
}

/* Stage 1 (line1 true): the first unit of every (fraction, seed) group up to its line-1 model,
 * trained[group] = 1 where this rank trained it; stage 2: every unit, with its run file.
 * Units come from a work queue. Returns the number of failed units (130: interrupted). */
static int stage(const struct lal_study *s, struct lal_run_ctx *c, const struct lal_unit *units, int n,
                 struct lal_run_out *out, bool line1, double *trained, int64_t *li, int64_t *ui)
{
    int n_groups = n ? units[n - 1].group - units[0].group + 1 : 0, *first = calloc((size_t)n_groups + 1, sizeof *first);
    for (int i = n - 1; first && i >= 0; i--) first[units[i].group - units[0].group] = i;
    struct ig_dist_queue *q = NULL;
    if (!first || ig_dist_queue_new(&q, s->dist, line1 ? n_groups : n) != IG_OK) {
        fprintf(stderr, "%s: MPI work queue: %s\n", s->prog, first ? ig_last_error() : "out of memory");
        free(first);
        return 1;
    }
    struct lal_study sl = *s;
    sl.line1_only = line1;
    int failed = 0;
    for (int64_t u; failed != 130 && ig_dist_queue_next(q, &u) == IG_OK && u >= 0;) {
        int i = line1 ? first[u] : (int)u, g = units[i].group - units[0].group;
        struct lal_run_out one = {0}, *r = line1 ? &one : &out[i];
        int rc = run_one(&sl, c, units, i, li, ui, r);
        if (rc >= 0) {
            failed = rc == 130 ? 130 : failed + 1;
            continue;
        }
        if (line1) {
            trained[g] = r->line1_trained;
            continue;
        }
        if (i == first[g] && trained[g] > 0) r->line1_trained = true;   /* its line-1 model, from stage 1 */
        if (lal_study_write_cell(s, units, out, n, i) != 0) failed++;
        fprintf(stderr, "%s: rank %d: %s done: A %.4f\n", s->prog, ig_dist_rank(s->dist), units[i].name, r->res.a);
    }
    ig_dist_queue_free(q);   /* collective: every rank has finished the stage */
    free(first);
    return failed;
}

int lal_study_ranks(const struct lal_study *s, struct lal_run_ctx *c, const struct lal_unit *units, int n,
                    struct lal_run_out *out)
{
    int n_groups = n ? units[n - 1].group - units[0].group + 1 : 0;
    double *flags = calloc((size_t)(2 * n + n_groups + 1), sizeof *flags), *trained = flags + 2 * n;
    int64_t *li = malloc((size_t)s->train->n * sizeof *li), *ui = malloc((size_t)s->train->n * sizeof *ui);
    double failed = !flags || !li || !ui;
    if (!failed) failed = stage(s, c, units, n, out, true, trained, li, ui);
    if (!failed && ig_dist_sum_f64(s->dist, trained, n_groups) != IG_OK) failed = 1;
    double f2 = failed ? 0 : stage(s, c, units, n, out, false, trained, li, ui);
    failed = failed > f2 ? failed : f2;
    for (int i = 0; flags && i < n; i++) {
        flags[i] = out[i].ran && out[i].res.resumed;
        flags[n + i] = out[i].ran && out[i].reused;
    }
    double rcs[2] = {failed > 0 && failed != 130, failed == 130};   /* every rank learns of any failure */
    if (ig_dist_sum_f64(s->dist, rcs, 2) != IG_OK || (flags && ig_dist_sum_f64(s->dist, flags, 2 * n) != IG_OK)) rcs[0] = 1;
    int status = rcs[1] > 0 ? 130 : rcs[0] > 0 ? 1 : -1;
    if (status < 0 && ig_dist_rank(s->dist) == 0) {
        fprintf(stderr, "%s: the ranks ran %d units; collecting them for the reports\n", s->prog, n);
        for (int i = 0; i < n; i++) ig_al_result_free(&out[i].res);
        memset(out, 0, (size_t)n * sizeof *out);
        struct lal_study col = *s;
        col.resume = true;
        col.collect = flags;
        status = lal_study_run_units(&col, c, units, n, out);
    } else if (status > 0) {
        fprintf(stderr, "%s: rank %d: stopping (%s); finished runs are kept, rerun with --resume for the rest\n",
                s->prog, ig_dist_rank(s->dist), status == 130 ? "interrupted" : "a unit failed");
    }
    free(flags);
    free(li);
    free(ui);
    return status;
}
