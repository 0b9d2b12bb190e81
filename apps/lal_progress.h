/* lal_progress: lal_cifar's terminal progress over a grid (run i/N, phase, images/s, ETA of the run and of the grid): one updating stderr line on a TTY, plain log lines otherwise. */
#ifndef LAL_PROGRESS_H
#define LAL_PROGRESS_H
/*
 * On a terminal (isatty(stderr)), one line rewritten in place:
 *   [3/36 ds-f0.5-k500-s1] AL 2/5 train 1/2 | 1234 img/s | run 0:41 left | grid 25:13 left
 * and a permanent line per finished run. Otherwise every event is one log line:
 *   [3/36 ds-f0.5-k500-s1] train AL 2/5 epoch 1/2 loss 1.2345 (3.1 s, 1234 img/s; run ETA 41 s, grid ETA 1513 s)
 * quiet: only the line per finished run.
 *
 * Run ETA: the training images left (line 1 when not loaded, every AL epoch i on |LI| + i k,
 * the final retraining on |LI| + (E + 1) k, train_epochs passes each) over the last
 * training rate, plus the non-training time of the AL epochs done so far per AL epoch left.
 * Grid ETA: the run's, plus for every later unit the mean wall time of the runs of its
 * method done in this process (else of all runs done, else this run's projected total).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ig_al.h"
#include "lal_grid.h"

struct lal_progress {
    FILE *f;
    bool tty, quiet;
    const struct lal_unit *units;       /* the units of this process, in order */
    int n_units, pos;                   /* pos: 0-based index of the current unit */
    int al_epochs, train_epochs;
    int64_t n_li0;                      /* |LI| of the current run at line 1 */
    double t_run0;
    double rate;                        /* images/s of the last training epoch (0: none yet) */
    double train_imgs_done, train_s, other_s_al;   /* this run: trained images, training seconds, non-training seconds of AL epochs */
    int al_done;                        /* AL epochs whose selection finished in this run */
    int stage, stage_ep;                /* position: stage (0 line 1, 1..E AL epochs, E+1 final), its training epochs done */
    bool line1_trained;                 /* this run trained the line-1 model (else loaded it) */
    double done_s[IG_AL_METHOD_COUNT];  /* wall seconds of the runs done in this process (reused runs excluded) */
    int done_n[IG_AL_METHOD_COUNT];
    int line_len;                       /* characters of the TTY line now shown */
};

/* units[0..n) are this process's units; stderr is used. */
void lal_progress_init(struct lal_progress *p, const struct lal_unit *units, int n, int al_epochs, int train_epochs,
                       bool quiet);
/* The run units[pos] starts with |LI| = n_li0. */
void lal_progress_run_start(struct lal_progress *p, int pos, int64_t n_li0);
/* An event of the run (ig_al_progress_fn's argument). */
void lal_progress_event(struct lal_progress *p, const struct ig_al_progress *ev);
/* The run ended; line is its permanent result line (no newline); reused: it was finished before. */
void lal_progress_run_end(struct lal_progress *p, double wall_s, bool reused, const char *line);
/* Seconds left in the current run / the whole list, as estimated now. */
double lal_progress_eta_run(const struct lal_progress *p);
double lal_progress_eta_grid(const struct lal_progress *p);
/* Wipes the TTY line (before other stderr output). */
void lal_progress_clear(struct lal_progress *p);
#endif
