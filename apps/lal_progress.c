/* lal_progress: the progress display of a lal_cifar grid (TTY status line or log lines), with the run and grid ETA estimates. */
#include "lal_progress.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "ig_util.h"

void lal_progress_init(struct lal_progress *p, const struct lal_unit *units, int n, int al_epochs, int train_epochs,
                       bool quiet)
{
    memset(p, 0, sizeof *p);
    p->f = stderr;
    p->tty = isatty(fileno(stderr)) == 1;
    p->quiet = quiet;
    p->units = units;
    p->n_units = n;
    p->al_epochs = al_epochs;
    p->train_epochs = train_epochs;
}

void lal_progress_run_start(struct lal_progress *p, int pos, int64_t n_li0)
{
    p->pos = pos;
    p->n_li0 = n_li0;
    p->t_run0 = ig_now_seconds();
    p->train_imgs_done = p->train_s = p->other_s_al = 0;
    p->al_done = 0;
    /* the first unit of a (fraction, seed) pair in this process trains line 1 (unless it is on disk) */
    p->line1_trained = false;
    p->stage = 0;
    p->stage_ep = pos > 0 && p->units[pos - 1].group == p->units[pos].group ? p->train_epochs : 0;
}

/* Training images of one epoch of stage st. */
static double stage_images(const struct lal_progress *p, int st)
{
    return (double)(p->n_li0 + (int64_t)st * p->units[p->pos].k);
}

double lal_progress_eta_run(const struct lal_progress *p)
{
    if (p->rate <= 0) return NAN;
    int T = p->train_epochs, E = p->al_epochs;
    double left = (double)(T - p->stage_ep) * stage_images(p, p->stage);
    for (int st = p->stage + 1; st <= E + 1; st++) left += (double)T * stage_images(p, st);
    double other = p->al_done ? p->other_s_al / p->al_done : 0;
    return left / p->rate + other * (double)(E - p->al_done);
}

double lal_progress_eta_grid(const struct lal_progress *p)
{
    double run = lal_progress_eta_run(p);
    if (!isfinite(run)) return NAN;
    double projected = ig_now_seconds() - p->t_run0 + run, all_s = 0;
    int all_n = 0;
    for (int m = 0; m < IG_AL_METHOD_COUNT; m++) all_s += p->done_s[m], all_n += p->done_n[m];
    double eta = run;
    for (int i = p->pos + 1; i < p->n_units; i++) {
        int m = (int)p->units[i].method;
        eta += p->done_n[m] ? p->done_s[m] / p->done_n[m] : all_n ? all_s / all_n : projected;
    }
    return eta;
}

/* "1:02:03", "2:03" or "?" into buf. */
static const char *hms(char *buf, size_t cap, double s)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, cap, "?");
        return buf;
    }
    long t = lround(s);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

void lal_progress_clear(struct lal_progress *p)
{
    if (p->tty && p->line_len) fprintf(p->f, "\r\033[K");
    p->line_len = 0;
}

/* The TTY status line for an event. */
static void show_tty(struct lal_progress *p, const struct ig_al_progress *ev)
{
    char a[32], b[32], phase[64];
    if (ev->al_epoch == 0) snprintf(phase, sizeof phase, "line 1 %s", ev->stage);
    else if (ev->al_epoch > p->al_epochs) snprintf(phase, sizeof phase, "final %s", ev->stage);
    else snprintf(phase, sizeof phase, "AL %d/%d %s", ev->al_epoch, p->al_epochs, ev->stage);
    if (ev->train_epoch) snprintf(phase + strlen(phase), sizeof phase - strlen(phase), " %d/%d", ev->train_epoch, p->train_epochs);
    int n = fprintf(p->f, "\r[%d/%d %s] %s | %.0f img/s | run %s left | grid %s left\033[K", p->pos + 1, p->n_units,
                    p->units[p->pos].name, phase, p->rate, hms(a, sizeof a, lal_progress_eta_run(p)),
                    hms(b, sizeof b, lal_progress_eta_grid(p)));
    p->line_len = n > 0 ? n : 1;
    fflush(p->f);
}

/* One log line for an event (the stage formats lal_cifar always printed). */
static void show_log(struct lal_progress *p, const struct ig_al_progress *ev, bool train)
{
    char a[32], b[32];
    fprintf(p->f, "[%d/%d %s] ", p->pos + 1, p->n_units, p->units[p->pos].name);
    if (train)
        fprintf(p->f, "%s AL %d/%d epoch %d/%d loss %.4f (%.1f s, %.0f img/s; ETA run %s, grid %s)\n", ev->stage,
                ev->al_epoch, p->al_epochs, ev->train_epoch, p->train_epochs, ev->loss, ev->seconds, p->rate,
                hms(a, sizeof a, lal_progress_eta_run(p)), hms(b, sizeof b, lal_progress_eta_grid(p)));
    else if (!strcmp(ev->stage, "eval") || !strcmp(ev->stage, "init-load"))
        fprintf(p->f, "%s AL %d: test accuracy %.4f (%.1f s)\n", ev->stage, ev->al_epoch, ev->value, ev->seconds);
    else if (!strcmp(ev->stage, "done"))
        fprintf(p->f, "done\n");
    else
        fprintf(p->f, "%s AL %d (%.2f s)\n", ev->stage, ev->al_epoch, ev->seconds);
}

void lal_progress_event(struct lal_progress *p, const struct ig_al_progress *ev)
{
    bool train = !strcmp(ev->stage, "init-train") || !strcmp(ev->stage, "train") || !strcmp(ev->stage, "final-train");
    if (train) {
        double n = stage_images(p, ev->al_epoch);
        if (ev->seconds > 0) p->rate = n / ev->seconds;
        p->train_imgs_done += n;
        p->train_s += ev->seconds;
        p->stage = ev->al_epoch;
        p->stage_ep = ev->train_epoch;
        if (!strcmp(ev->stage, "init-train")) p->line1_trained = true;
    } else if (!strcmp(ev->stage, "init-load")) {
        p->stage = 0, p->stage_ep = p->train_epochs;
    } else if (!strcmp(ev->stage, "resume")) {
        p->stage = ev->al_epoch, p->stage_ep = p->train_epochs;
        p->al_done = ev->al_epoch;
    } else if (ev->al_epoch >= 1 && ev->al_epoch <= p->al_epochs && strcmp(ev->stage, "done")) {
        p->other_s_al += ev->seconds;
        if (!strcmp(ev->stage, "select")) p->al_done = ev->al_epoch;
    }
    if (p->quiet) return;
    if (p->tty) show_tty(p, ev);
    else show_log(p, ev, train);
}

void lal_progress_run_end(struct lal_progress *p, double wall_s, bool reused, const char *line)
{
    if (!reused) {
        p->done_s[p->units[p->pos].method] += wall_s;
        p->done_n[p->units[p->pos].method]++;
    }
    lal_progress_clear(p);
    fprintf(p->f, "%s\n", line);
    fflush(p->f);
}
