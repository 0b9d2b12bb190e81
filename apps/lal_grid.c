/* lal_grid: the comma lists of the grid flags, the ordered unit list with stable names, and the contiguous --shard slices. */
#include "lal_grid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig_cli.h"

struct lal_grid lal_grid_default(void)
{
    struct lal_grid g = {.n_fracs = 1, .n_ks = 1, .n_seeds = 1, .fracs = {0.5}, .ks = {500}, .seeds = {1}};
    for (int m = 0; m < IG_AL_METHOD_COUNT; m++) g.methods[m] = true;
    return g;
}

/* The comma-separated tokens of v into tok[0..*n) (copies in buf); false when v has an empty
 * token or more than LAL_GRID_MAX. */
static bool split_list(const char *v, char *buf, size_t cap, char **tok, int *n)
{
    size_t len = strlen(v);
    if (!len || len >= cap || v[0] == ',' || v[len - 1] == ',' || strstr(v, ",,")) return false;
    memcpy(buf, v, len + 1);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == LAL_GRID_MAX) return false;
        tok[(*n)++] = t;
    }
    return *n > 0;
}

int lal_grid_parse_fracs(struct lal_grid *g, const char *prog, const char *v)
{
    static const char *what = "a comma list of at most 64 distinct fractions in (0, 1)";
    char buf[2048], *tok[LAL_GRID_MAX], names[LAL_GRID_MAX][32];
    double f[LAL_GRID_MAX];
    int n;
    if (!split_list(v, buf, sizeof buf, tok, &n)) return ig_cli_expected(prog, "--unlabeled-frac", what, v);
    for (int i = 0; i < n; i++) {
        if (!ig_cli_parse_f(tok[i], 1e-9, 1 - 1e-9, &f[i])) return ig_cli_expected(prog, "--unlabeled-frac", what, v);
        snprintf(names[i], sizeof names[i], "%.6g", f[i]);   /* distinct as named in the files */
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) return ig_cli_expected(prog, "--unlabeled-frac", what, v);
    }
    memcpy(g->fracs, f, (size_t)n * sizeof *f);
    g->n_fracs = n;
    return -1;
}

/* A list of distinct integers >= lo of the flag into out[0..*n); -1 or the usage-error status. */
static int parse_ints(const char *prog, const char *flag, const char *what, const char *v, int64_t lo, int64_t hi,
                      int64_t *out, int *n)
{
    char buf[2048], *tok[LAL_GRID_MAX];
    if (!split_list(v, buf, sizeof buf, tok, n)) return ig_cli_expected(prog, flag, what, v);
    for (int i = 0; i < *n; i++) {
        if (!ig_cli_parse_i64(tok[i], lo, hi, &out[i])) return ig_cli_expected(prog, flag, what, v);
        for (int j = 0; j < i; j++)
            if (out[i] == out[j]) return ig_cli_expected(prog, flag, what, v);
    }
    return -1;
}

int lal_grid_parse_ks(struct lal_grid *g, const char *prog, const char *v)
{
    int64_t k[LAL_GRID_MAX];
    int n, rc = parse_ints(prog, "--k", "a comma list of at most 64 distinct integers >= 1", v, 1, 1000000000, k, &n);
    if (rc >= 0) return rc;
    memcpy(g->ks, k, (size_t)n * sizeof *k);
    g->n_ks = n;
    return -1;
}

int lal_grid_parse_seeds(struct lal_grid *g, const char *prog, const char *v)
{
    int64_t s[LAL_GRID_MAX];
    int n, rc = parse_ints(prog, "--seeds", "a comma list of at most 64 distinct non-negative integers", v, 0, INT64_MAX, s, &n);
    if (rc >= 0) return rc;
    for (int i = 0; i < n; i++) g->seeds[i] = (uint64_t)s[i];
    g->n_seeds = n;
    return -1;
}

int lal_grid_parse_methods(struct lal_grid *g, const char *prog, const char *v)
{
    char want[256] = "a comma list of", buf[2048], *tok[LAL_GRID_MAX];
    for (int i = 0; i < IG_AL_METHOD_COUNT; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? "," : " ", ig_al_method_name((enum ig_al_method)i));
    int n;
    if (!split_list(v, buf, sizeof buf, tok, &n)) return ig_cli_expected(prog, "--methods", want, v);
    bool m[IG_AL_METHOD_COUNT] = {0};
    for (int i = 0; i < n; i++) {
        enum ig_al_method e;
        if (!ig_al_method_parse(tok[i], &e)) return ig_cli_expected(prog, "--methods", want, v);
        m[e] = true;
    }
    memcpy(g->methods, m, sizeof m);
    return -1;
}

int lal_grid_parse_shard(const char *prog, const char *v, int *i, int *n)
{
    static const char *what = "I/N with integers 0 <= I < N (block I of N of the run list)";
    char buf[64];
    const char *slash = strchr(v, '/');
    size_t len = slash ? (size_t)(slash - v) : 0;
    int64_t a, b;
    if (!slash || len >= sizeof buf) return ig_cli_expected(prog, "--shard", what, v);
    memcpy(buf, v, len);
    buf[len] = 0;
    if (!ig_cli_parse_i64(buf, 0, 999999, &a) || !ig_cli_parse_i64(slash + 1, 1, 1000000, &b) || a >= b)
        return ig_cli_expected(prog, "--shard", what, v);
    *i = (int)a;
    *n = (int)b;
    return -1;
}

void lal_grid_unit_name(char *buf, size_t cap, enum ig_al_method m, double frac, int64_t k, uint64_t seed)
{
    snprintf(buf, cap, "%s-f%.6g-k%lld-s%llu", ig_al_method_name(m), frac, (long long)k, (unsigned long long)seed);
}

enum ig_status lal_grid_units(const struct lal_grid *g, struct lal_unit **out, int *n)
{
    int n_m = 0;
    for (int m = 0; m < IG_AL_METHOD_COUNT; m++) n_m += g->methods[m];
    int total = g->n_fracs * g->n_seeds * g->n_ks * n_m;
    struct lal_unit *u = calloc((size_t)(total ? total : 1), sizeof *u);
    if (!u) return ig_error(IG_ERR_OOM, "lal_grid_units: out of memory");
    int w = 0;
    for (int f = 0; f < g->n_fracs; f++)
        for (int s = 0; s < g->n_seeds; s++)
            for (int k = 0; k < g->n_ks; k++)
                for (int m = 0; m < IG_AL_METHOD_COUNT; m++) {
                    if (!g->methods[m]) continue;
                    struct lal_unit *x = &u[w];
                    x->index = w++;
                    x->group = f * g->n_seeds + s;
                    x->frac = g->fracs[f];
                    x->k = g->ks[k];
                    x->seed = g->seeds[s];
                    x->method = (enum ig_al_method)m;
                    lal_grid_unit_name(x->name, sizeof x->name, x->method, x->frac, x->k, x->seed);
                    snprintf(x->init, sizeof x->init, "init-f%.6g-s%llu", x->frac, (unsigned long long)x->seed);
                }
    *out = u;
    *n = total;
    return IG_OK;
}

void lal_grid_shard(int n, int i, int n_shards, int *first, int *count)
{
    if (n_shards < 1 || i < 0 || i >= n_shards) {
        *first = *count = 0;
        return;
    }
    int64_t a = (int64_t)i * n / n_shards, b = (int64_t)(i + 1) * n / n_shards;
    *first = (int)a;
    *count = (int)(b - a);
}
