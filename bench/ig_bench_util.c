/* ig_bench_util: timing, medians, JSON result lines and Python-peer launching for the bench/ programs. */
#include "ig_bench_util.h"

#include "ig_config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if IG_HAVE_OPENMP
#include <omp.h>
#endif

double ig_bench_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ig_bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int ig_bench_omp_threads(void)
{
#if IG_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

_Noreturn void ig_bench_die(const char *prog, const char *what, const char *err)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, err);
    exit(1);
}

void ig_bench_emit(const struct ig_bench_line *l)
{
    char num[64];
    if (l->fmt == IG_BENCH_VALUE_MILLI) {
        /* jansson's own number text (a non-finite value, which JSON cannot hold, becomes null) */
        json_t *r = json_real(round(l->value * 1000.0) / 1000.0);
        char *s = r ? json_dumps(r, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6)) : NULL;
        snprintf(num, sizeof num, "%s", s ? s : "null");
        free(s);
        json_decref(r);
    } else {
        snprintf(num, sizeof num, "%.*g", l->fmt == IG_BENCH_VALUE_G4 ? 4 : 6, l->value);
    }
    printf("{\"bench\":\"%s\",\"case\":\"%s\",", l->bench, l->cas);
    if (l->impl) printf("\"impl\":\"%s\",", l->impl);
    printf("\"metric\":\"%s\",\"value\":%s,\"unit\":\"%s\",\"device\":\"%s\",\"threads\":%d,\"runs\":%d}\n", l->metric,
           num, l->unit, l->device, l->threads, l->runs);
    fflush(stdout);
}

bool ig_bench_python_has(const char *module)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 -c 'import %s' >/dev/null 2>&1", module);
    return system(cmd) == 0;
}

int ig_bench_peer_run(const char *cmd, ig_bench_peer_fn fn, void *ctx, int *status)
{
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        fn(line, o, ctx);
        json_decref(o);
    }
    *status = pclose(f);
    return 0;
}
