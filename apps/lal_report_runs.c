/* lal_report runs: every finished run-*.json of a folder read with jansson (optional keys may be absent), sorted, paired with its Rnd/LCS baselines. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_util.h"
#include "lal_report.h"

static const char *const lal_method_order[] = {"ds", "ld", "rds", "rld", "rnd", "lcs",
                                               "margin", "entropy", "egl", "badge", "coreset"};

int lal_method_rank(const char *method)
{
    for (int i = 0; i < (int)(sizeof lal_method_order / sizeof lal_method_order[0]); i++)
        if (!strcmp(method, lal_method_order[i])) return i;
    return 1000;
}

static double lal_num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int lal_curve_cmp(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Learning curve (labels spent, test accuracy): (0, A0), one point per AL epoch that has
 * both test_acc and n_labeled, then (labels added, A). n_labeled counts LI too when it is
 * at least n_li, so n_li is subtracted then. No per-epoch point: no curve. */
static int lal_read_curve(json_t *root, struct lal_run *r)
{
    json_t *ep = json_object_get(root, "epochs");
    size_t ne = json_is_array(ep) ? json_array_size(ep) : 0;
    double *pt = malloc((ne + 2) * 2 * sizeof *pt);
    if (!pt) return -1;
    int n = 0, n_epoch = 0;
    double n_li = lal_num(root, "n_li");
    if (isfinite(r->a0)) pt[2 * n] = 0.0, pt[2 * n + 1] = r->a0, n++;
    for (size_t i = 0; i < ne; i++) {
        json_t *e = json_array_get(ep, i);
        double acc = lal_num(e, "test_acc"), nl = lal_num(e, "n_labeled");
        if (!isfinite(acc) || !isfinite(nl)) continue;
        pt[2 * n] = isfinite(n_li) && nl >= n_li ? nl - n_li : nl;
        pt[2 * n + 1] = acc;
        n++, n_epoch++;
    }
    json_t *added = json_object_get(root, "labeled_rows_added");
    if (n_epoch && json_is_array(added) && (double)json_array_size(added) > (n ? pt[2 * (n - 1)] : -1.0))
        pt[2 * n] = (double)json_array_size(added), pt[2 * n + 1] = r->a, n++;
    if (!n_epoch) n = 0;
    qsort(pt, (size_t)n, 2 * sizeof *pt, lal_curve_cmp);
    r->n_curve = n;
    r->curve_x = malloc(((size_t)n + 1) * sizeof(double));
    r->curve_y = malloc(((size_t)n + 1) * sizeof(double));
    if (!r->curve_x || !r->curve_y) {
        free(pt);
        return -1;
    }
    for (int i = 0; i < n; i++) r->curve_x[i] = pt[2 * i], r->curve_y[i] = pt[2 * i + 1];
    free(pt);
    return 0;
}

/* One file into r; returns a reason when it is not a finished run (NULL: ok). */
static const char *lal_read_run(const char *path, const char *name, struct lal_run *r)
{
    memset(r, 0, sizeof *r);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) return "not valid JSON";
    const char *reason = NULL;
    const char *m = json_string_value(json_object_get(root, "method"));
    json_t *seed = json_object_get(root, "seed");
    r->a = lal_num(root, "a");
    if (!m || !*m || strlen(m) >= sizeof r->method) reason = "no method";
    else if (!json_is_integer(seed) || json_integer_value(seed) < 0) reason = "no seed";
    else if (!isfinite(r->a)) reason = "not finished (no final accuracy a)";
    if (!reason) {
        snprintf(r->method, sizeof r->method, "%s", m);
        snprintf(r->file, sizeof r->file, "%s", name);
        r->seed = (uint64_t)json_integer_value(seed);
        r->frac = lal_num(root, "unlabeled_frac");
        json_t *k = json_object_get(root, "k");
        r->k = json_is_integer(k) ? (int64_t)json_integer_value(k) : -1;
        r->a0 = lal_num(root, "a0");
        r->sec = lal_num(root, "seconds_per_al_epoch");
        r->pct_rnd = r->pct_lcs = NAN;
        if (lal_read_curve(root, r)) reason = "out of memory";
    }
    json_decref(root);
    return reason;
}

static bool lal_same_frac(double a, double b) { return (isnan(a) && isnan(b)) || fabs(a - b) < 1e-9; }

static int lal_run_cmp(const void *pa, const void *pb)
{
    const struct lal_run *a = pa, *b = pb;
    if (a->k != b->k) return a->k < b->k ? -1 : 1;
    if (!lal_same_frac(a->frac, b->frac)) return isnan(a->frac) ? 1 : isnan(b->frac) ? -1 : a->frac < b->frac ? -1 : 1;
    int ra = lal_method_rank(a->method), rb = lal_method_rank(b->method);
    if (ra != rb) return ra < rb ? -1 : 1;
    int c = strcmp(a->method, b->method);
    if (c) return c;
    if (a->seed != b->seed) return a->seed < b->seed ? -1 : 1;
    return strcmp(a->file, b->file);
}

const struct lal_run *lal_runs_find(const struct lal_runs *r, const char *method, uint64_t seed, double frac, int64_t k)
{
    for (int i = 0; i < r->n; i++) {
        const struct lal_run *x = &r->v[i];
        if (x->seed == seed && x->k == k && lal_same_frac(x->frac, frac) && !strcmp(x->method, method)) return x;
    }
    return NULL;
}

static void lal_runs_pair(struct lal_runs *r)
{
    for (int i = 0; i < r->n; i++) {
        struct lal_run *x = &r->v[i];
        const struct lal_run *rnd = lal_runs_find(r, "rnd", x->seed, x->frac, x->k);
        const struct lal_run *lcs = lal_runs_find(r, "lcs", x->seed, x->frac, x->k);
        x->pct_rnd = rnd ? 100.0 * (x->a - rnd->a) / rnd->a : NAN;
        x->pct_lcs = lcs ? 100.0 * (x->a - lcs->a) / lcs->a : NAN;
    }
}

static bool lal_is_run_name(const char *n)
{
    size_t len = strlen(n);
    return len > 9 && !strncmp(n, "run-", 4) && !strcmp(n + len - 5, ".json") && len < 250;
}

/* Appends r to the list unless a run with the same method, seed, fraction and k is there. */
static int lal_runs_add(struct lal_runs *out, struct lal_run *r)
{
    const struct lal_run *dup = lal_runs_find(out, r->method, r->seed, r->frac, r->k);
    if (dup) {
        fprintf(stderr, "report: skipping %s: the same run as %s\n", r->file, dup->file);
        out->n_skipped++;
        return 1;
    }
    if (out->n == out->cap) {
        int cap = out->cap ? 2 * out->cap : 64;
        struct lal_run *v = realloc(out->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = *r;
    return 0;
}

static int lal_name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

enum ig_status lal_runs_read(const char *dir, struct lal_runs *out)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return ig_error(IG_ERR_IO, "report: cannot list %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t nn = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!lal_is_run_name(e->d_name)) continue;
        if (nn == cap) {
            cap = cap ? 2 * cap : 64;
            char **t = realloc(names, cap * sizeof *t);
            if (!t) break;
            names = t;
        }
        if (!(names[nn] = strdup(e->d_name))) break;
        nn++;
    }
    closedir(d);
    if (nn) qsort(names, nn, sizeof *names, lal_name_cmp); /* file order decides which duplicate is kept */
    enum ig_status s = IG_OK;
    for (size_t i = 0; i < nn && s == IG_OK; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct lal_run r;
        const char *why = lal_read_run(path, names[i], &r);
        int added = why ? 1 : lal_runs_add(out, &r);
        if (why) fprintf(stderr, "report: skipping %s: %s\n", path, why), out->n_skipped++;
        if (added) free(r.curve_x), free(r.curve_y);
        if (added < 0) s = ig_error(IG_ERR_OOM, "report: out of memory");
    }
    for (size_t i = 0; i < nn; i++) free(names[i]);
    free(names);
    if (s != IG_OK) {
        lal_runs_free(out);
        return s;
    }
    if (out->n) qsort(out->v, (size_t)out->n, sizeof *out->v, lal_run_cmp);
    lal_runs_pair(out);
    return IG_OK;
}

void lal_runs_free(struct lal_runs *r)
{
    for (int i = 0; i < r->n; i++) free(r->v[i].curve_x), free(r->v[i].curve_y);
    free(r->v);
    memset(r, 0, sizeof *r);
}
