/* lal_study: run the units of a lal_cifar grid in order (one split per fraction and seed, one line-1 model per pair), write each unit's files and rebuild the reports. */
#include "lal_study.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ig_cli.h"
#include "ig_dist.h"
#include "ig_nn.h"
#include "lal_progress.h"
#include "lal_report.h"

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

int64_t lal_study_pool_size(int64_t n, double frac)
{
    int64_t n_ui = (int64_t)llround(frac * (double)n);
    if (n_ui < 1) n_ui = 1;
    if (n_ui > n - 1) n_ui = n - 1;
    return n_ui;
}

int lal_study_check(const struct lal_study *s)
{
    const struct lal_grid *g = &s->grid;
    int64_t E = s->base.al_epochs;
    for (int f = 0; f < g->n_fracs; f++)
        for (int k = 0; k < g->n_ks; k++) {
            int64_t n_ui = lal_study_pool_size(s->train->n, g->fracs[f]);
            if (g->ks[k] * (E + 1) <= n_ui) continue;
            fprintf(stderr,
                    "%s: the label budget k (al-epochs + 1) = %lld exceeds the unlabeled pool |UI| = %lld "
                    "(%lld images x %g); lower --k / --al-epochs or raise --unlabeled-frac / --train-subset\n",
                    s->prog, (long long)(g->ks[k] * (E + 1)), (long long)n_ui, (long long)s->train->n, g->fracs[f]);
            return IG_CLI_EXIT_USAGE;
        }
    return -1;
}

/* The score files of one "score" event (and the mean and rows after the last training epoch). */
static enum ig_status dump_scores(struct lal_run_ctx *c, const struct ig_al_progress *ev)
{
    const char *dir = c->s->out, *unit = c->u->name;
    char file[160];
    snprintf(file, sizeof file, "scores-%s-e%d-t%d", unit, ev->al_epoch, ev->train_epoch);
    IG_TRY(lal_study_write_npy(dir, file, ev->scores, ev->n_scores, false));
    for (int64_t j = 0; j < ev->n_scores; j++) c->sum[j] = (ev->train_epoch == 1 ? 0 : c->sum[j]) + ev->scores[j];
    if (ev->train_epoch < c->s->base.train_epochs) return IG_OK;
    for (int64_t j = 0; j < ev->n_scores; j++) c->sum[j] /= (double)c->s->base.train_epochs;
    snprintf(file, sizeof file, "scores-%s-e%d", unit, ev->al_epoch);
    IG_TRY(lal_study_write_npy(dir, file, c->sum, ev->n_scores, false));
    snprintf(file, sizeof file, "rows-%s-e%d", unit, ev->al_epoch);
    return lal_study_write_npy(dir, file, ev->rows, ev->n_scores, true);
}

static int on_event(const struct ig_al_progress *ev, void *user)
{
    struct lal_run_ctx *c = user;
    lal_progress_event(&c->prog, ev);
    if (!strcmp(ev->stage, "final-train")) c->final_trained = true;   /* the model in memory is the final one */
    if (c->s->line1_only) return 1;   /* stop after line 2 */
    bool writer = !c->s->data_parallel || ig_dist_rank(c->s->dist) == 0;
    if (writer && ev->scores && ev->n_scores <= c->u->k && c->dump == IG_OK) {
        c->dump = dump_scores(c, ev);
        if (c->dump != IG_OK) {
            snprintf(c->dump_msg, sizeof c->dump_msg, "%s", ig_last_error());
            return 1;   /* stop at the next checkpoint; reported after the run */
        }
    }
    return interrupted ? 1 : 0;
}

/* %increase, %Rnd, %LCS of unit i against the baselines of its fraction, k and seed: a unit of
 * this process, else a finished run file in DIR. */
static void paired(const struct lal_study *s, const struct lal_unit *units, struct lal_run_out *out, int n, int i)
{
    struct lal_run_out *r = &out[i];
    const struct lal_unit *u = &units[i];
    double base[2] = {NAN, NAN};
    const enum ig_al_method bm[2] = {IG_AL_METHOD_RND, IG_AL_METHOD_LCS};
    for (int b = 0; b < 2; b++) {
        for (int j = 0; j < n; j++)
            if (out[j].ran && units[j].method == bm[b] && units[j].frac == u->frac && units[j].k == u->k &&
                units[j].seed == u->seed)
                base[b] = out[j].res.a;
        if (isnan(base[b])) {
            char name[96];
            lal_grid_unit_name(name, sizeof name, bm[b], u->frac, u->k, u->seed);
            base[b] = lal_study_read_num(s->out, name, "a");
        }
    }
    r->pct_inc = 100.0 * (r->res.a - r->res.a0) / r->res.a0;
    r->pct_rnd = isfinite(base[0]) ? 100.0 * (r->res.a - base[0]) / base[0] : NAN;
    r->pct_lcs = isfinite(base[1]) ? 100.0 * (r->res.a - base[1]) / base[1] : NAN;
}

/* (Re)writes the run files of every finished unit with unit i's fraction, k and seed (their
 * %Rnd / %LCS may have changed with unit i); data parallel: rank 0 only. */
int lal_study_write_cell(const struct lal_study *s, const struct lal_unit *units, struct lal_run_out *out, int n, int i)
{
    int rc = 0;
    if (s->data_parallel && ig_dist_rank(s->dist) > 0) return 0;
    for (int j = 0; j < n; j++) {
        if (!out[j].ran || units[j].frac != units[i].frac || units[j].k != units[i].k || units[j].seed != units[i].seed)
            continue;
        paired(s, units, out, n, j);
        if (lal_study_write_run(s, &units[j], &out[j]) != 0) rc = -1;
    }
    return rc;
}

/* A unit's model: the paper or the small CNN, initialised from its seed. */
static enum ig_status new_model(const struct lal_study *s, uint64_t seed, struct ig_model **m)
{
    const struct ig_dataset *d = s->train;
    return !strcmp(s->arch, "paper") ? ig_model_paper_cnn(m, s->be, d->channels, d->height, d->width, d->num_classes, seed)
                                     : ig_model_small_cnn(m, s->be, d->channels, d->height, d->width, d->num_classes, seed);
}

/* The outcome of a finished unit: timings, and for a run finished by an earlier invocation
 * its original wall time and whether it trained the line-1 model. */
static void finish_unit(const struct lal_study *s, const struct lal_run_ctx *c, struct lal_run_out *r, double wall_s)
{
    r->ran = true;
    r->wall_s = wall_s;
    r->reused = r->res.resumed && c->prog.train_imgs_done == 0;
    r->line1_trained = c->prog.line1_trained;
    if (r->reused) {
        double w = lal_study_read_num(s->out, c->u->name, "wall_s"), l1 = lal_study_read_num(s->out, c->u->name, "line1_trained");
        if (isfinite(w)) r->wall_s = w;
        r->line1_trained = l1 == 1.0;
    }
    double tot = 0;
    for (int i = 0; i < r->res.al_epochs; i++) tot += r->res.epochs[i].total_s;
    r->sec_per_epoch = r->res.al_epochs ? tot / r->res.al_epochs : NAN;
}

/* Runs unit pos of this process on the split li / ui into r; -1 on success, else the exit status. */
int lal_study_run_unit(const struct lal_study *s, struct lal_run_ctx *c, int pos, const int64_t *li, int64_t n_li,
                    const int64_t *ui, int64_t n_ui, struct lal_run_out *r)
{
    const struct lal_unit *u = c->u;
    char ckdir[4200], init[4400];
    snprintf(ckdir, sizeof ckdir, "%s/ckpt", s->out);
    if (s->data_parallel && ig_dist_rank(s->dist) > 0) {
        /* every rank writes the same checkpoints: ranks > 0 into ckpt/rank<r>, so no two processes
         * write one file and each rank decides (load or train) from its own copy */
        snprintf(ckdir + strlen(ckdir), sizeof ckdir - strlen(ckdir), "/rank%d", ig_dist_rank(s->dist));
        if (mkdir(ckdir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: cannot create %s: %s\n", s->prog, ckdir, strerror(errno));
            return 1;
        }
    }
    snprintf(init, sizeof init, "%s/%s.safetensors", ckdir, u->init);
    struct ig_al_params p = s->base;
    p.method = u->method;
    p.k = u->k;
    p.seed = u->seed;
    p.init_path = init;
    p.checkpoint_dir = ckdir;
    p.tag = u->name;
    p.resume = s->resume;
    p.progress = on_event;
    p.progress_user = c;
    if (s->line1_only) p.checkpoint_dir = NULL, p.resume = false;
    lal_progress_run_start(&c->prog, pos, n_li);
    c->dump = IG_OK;
    c->final_trained = false;
    struct ig_model *m = NULL;
    double t0 = ig_now_seconds();
    enum ig_status st = new_model(s, u->seed, &m);
    if (st == IG_OK) st = ig_al_run(&r->res, m, s->train, s->test, li, n_li, ui, n_ui, &p);
    /* the process that trained the final model keeps it (data parallel: rank 0; a run finished
     * before, or collected by rank 0 from another rank, trains nothing and writes nothing) */
    bool writer = !s->data_parallel || ig_dist_rank(s->dist) == 0;
    if (st == IG_OK && s->keep_models && writer && c->final_trained) st = lal_study_write_model(s, u, m, &p, &r->res);
    ig_model_free(m);
    if (s->line1_only && st == IG_ERR_STATE && !interrupted) {   /* stopped after line 2, as asked */
        r->line1_trained = c->prog.line1_trained;
        lal_progress_clear(&c->prog);
        return -1;
    }
    if (st == IG_OK) {
        r->n_li0 = n_li;
        r->n_ui = n_ui;
        finish_unit(s, c, r, ig_now_seconds() - t0);
        return -1;
    }
    lal_progress_clear(&c->prog);
    if (c->dump != IG_OK) {
        fprintf(stderr, "%s: %s: cannot write the scores: %s\n", s->prog, u->name, c->dump_msg);
        return 1;
    }
    if (interrupted) {
        fprintf(stderr, "%s: interrupted; state saved in %s, rerun with --resume to continue\n", s->prog, ckdir);
        return 130;
    }
    fprintf(stderr, "%s: %s: %s\n", s->prog, u->name, ig_last_error());
    return st == IG_ERR_FORMAT ? IG_CLI_EXIT_USAGE : 1;   /* a damaged or foreign checkpoint */
}

/* The permanent line of a finished unit. */
static void unit_line(const struct lal_study *s, struct lal_run_ctx *c, const struct lal_run_out *r)
{
    char line[512];
    snprintf(line, sizeof line, "%s: [%d/%d] %s: A0 %.4f  A %.4f  (%+.2f%%)  %.1f s per AL epoch, %.1f s in all%s", s->prog,
             c->prog.pos + 1, c->prog.n_units, c->u->name, r->res.a0, r->res.a, r->pct_inc, r->sec_per_epoch, r->wall_s,
             r->reused ? " (finished before)" : r->res.resumed ? " (resumed)" : "");
    lal_progress_run_end(&c->prog, r->wall_s, r->reused, line);
}

/* This process's runs on stdout (the columns of summary.csv, then fraction and k). */
static void print_table(const struct lal_unit *units, const struct lal_run_out *out, int n)
{
    printf("method,seed,a0,a,pct_increase,pct_rnd,pct_lcs,sec_per_al_epoch,unlabeled_frac,k\n");
    for (int i = 0; i < n; i++) {
        const struct lal_run_out *r = &out[i];
        if (!r->ran) continue;
        printf("%s,%llu,%.4f,%.4f,%.2f,%.2f,%.2f,%.2f,%g,%lld\n", ig_al_method_name(units[i].method),
               (unsigned long long)units[i].seed, r->res.a0, r->res.a, r->pct_inc, r->pct_rnd, r->pct_lcs, r->sec_per_epoch,
               units[i].frac, (long long)units[i].k);
    }
}

/* The reports over every finished run of DIR (and the figures unless --no-plots). */
static int final_report(const struct lal_study *s)
{
    if (lal_report_write(s->out) != IG_OK) {
        fprintf(stderr, "%s: %s\n", s->prog, ig_last_error());
        return 1;
    }
    return s->plots ? lal_report_figures(s->prog, s->out) : 0;
}

/* Runs units[0..n) in order (a new split whenever the (fraction, seed) pair changes). */
int lal_study_run_units(const struct lal_study *s, struct lal_run_ctx *c, const struct lal_unit *units, int n,
                     struct lal_run_out *out)
{
    int64_t *li = malloc((size_t)s->train->n * sizeof *li), *ui = malloc((size_t)s->train->n * sizeof *ui);
    int status = li && ui ? 0 : 1, group = -1;
    int64_t n_li = 0, n_ui = 0;
    for (int i = 0; i < n && !status; i++) {
        c->u = &units[i];
        if (units[i].group != group && ig_al_split(s->train->n, units[i].frac, units[i].seed, li, &n_li, ui, &n_ui) != IG_OK) {
            fprintf(stderr, "%s: split: %s\n", s->prog, ig_last_error());
            status = 1;
            break;
        }
        group = units[i].group;
        int rc = lal_study_run_unit(s, c, i, li, n_li, ui, n_ui, &out[i]);
        if (rc >= 0) {
            status = rc;
            break;
        }
        if (s->collect) {   /* collecting the ranks' units: as they ran them, not as reloaded here */
            out[i].res.resumed = s->collect[i] > 0;
            out[i].reused = s->collect[n + i] > 0;
        }
        if (lal_study_write_cell(s, units, out, n, i) != 0) status = 1;
        unit_line(s, c, &out[i]);
        if ((!s->data_parallel || ig_dist_rank(s->dist) == 0) && lal_report_summary(s->out) != IG_OK) {
            fprintf(stderr, "%s: %s\n", s->prog, ig_last_error());
            status = 1;
        }
    }
    free(li);
    free(ui);
    return status;
}

int lal_study_run(const struct lal_study *s)
{
    int rc = lal_study_check(s);
    if (rc >= 0) return rc;
    struct lal_unit *all = NULL;
    int n_all = 0, first = 0, n = 0;
    int64_t k_max = 1;
    for (int k = 0; k < s->grid.n_ks; k++) k_max = s->grid.ks[k] > k_max ? s->grid.ks[k] : k_max;
    struct lal_run_ctx c = {.s = s, .sum = malloc((size_t)k_max * sizeof(double))};
    if (!c.sum || lal_grid_units(&s->grid, &all, &n_all) != IG_OK) {
        fprintf(stderr, "%s: out of memory\n", s->prog);
        free(c.sum);
        return 1;
    }
    lal_grid_shard(n_all, s->shard_i, s->shard_n, &first, &n);
    struct lal_run_out *out = calloc((size_t)(n ? n : 1), sizeof *out);
    lal_progress_init(&c.prog, all + first, n, s->base.al_epochs, s->base.train_epochs, s->quiet);
    if (ig_dist_rank(s->dist) == 0) {
        fprintf(stderr, "%s: %d runs (%d fractions x %d seeds x %d k x %d methods)", s->prog, n_all, s->grid.n_fracs,
                s->grid.n_seeds, s->grid.n_ks, n_all / (s->grid.n_fracs * s->grid.n_seeds * s->grid.n_ks));
        if (s->shard_n > 1 && n) fprintf(stderr, "; shard %d/%d: runs %d..%d", s->shard_i, s->shard_n, first + 1, first + n);
        else if (s->shard_n > 1) fprintf(stderr, "; shard %d/%d: no runs", s->shard_i, s->shard_n);
        fprintf(stderr, "\n");
    }
    signal(SIGINT, on_sigint);
    double t0 = ig_now_seconds();
    int status = !out ? 1 : lal_study_clean(s);
    if (status < 0)
        status = ig_dist_size(s->dist) > 1 && !s->data_parallel ? lal_study_ranks(s, &c, all + first, n, out)
                                                                 : lal_study_run_units(s, &c, all + first, n, out);
    if (!status && (!s->data_parallel || ig_dist_rank(s->dist) == 0)) {
        int reused = 0, line1 = 0;
        for (int i = 0; i < n; i++) reused += out[i].reused, line1 += out[i].line1_trained && !out[i].reused;
        fprintf(stderr, "%s: done in %.1f s: %d runs (%d finished before), %d line-1 models trained; reports in %s\n",
                s->prog, ig_now_seconds() - t0, n, reused, line1, s->out);
        print_table(all + first, out, n);
        status = final_report(s);
    }
    for (int i = 0; out && i < n; i++) ig_al_result_free(&out[i].res);
    if (status < 0) status = 0;   /* a rank other than 0 whose units are done */
    free(out);
    free(all);
    free(c.sum);
    return status;
}
