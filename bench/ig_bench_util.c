/* ig_bench_util: timing, medians, JSON result lines and Python-peer launching for the bench/ programs. */
#include "ig_bench_util.h"

#include "ig_config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/utsname.h>
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

#if IG_BUILD_NATIVE
static char g_isa[32] = "native";
#else
static char g_isa[32] = "baseline";
#endif

void ig_bench_set_isa(const char *isa)
{
    if (isa && *isa) snprintf(g_isa, sizeof g_isa, "%s", isa);
}

const char *ig_bench_cpu_model(void)
{
    static char model[128];
    if (model[0]) return model;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        snprintf(model, sizeof model, "%s", colon + (colon[1] == ' ' ? 2 : 1));
        model[strcspn(model, "\n")] = '\0';
        break;
    }
    if (f) fclose(f);
    struct utsname u;
    if (!model[0]) snprintf(model, sizeof model, "%s", uname(&u) == 0 ? u.machine : "unknown");
    for (char *p = model; *p; p++)   /* keep the JSON string plain */
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = ' ';
    return model;
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
    printf("\"metric\":\"%s\",\"value\":%s,\"unit\":\"%s\",\"device\":\"%s\",\"threads\":%d,\"runs\":%d,\"isa\":\"%s\","
           "\"cpu\":\"%s\"}\n",
           l->metric, num, l->unit, l->device, l->threads, l->runs, g_isa, ig_bench_cpu_model());
    fflush(stdout);
}

bool ig_bench_python_has(const char *module)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 -c 'import %s' >/dev/null 2>&1", module);
    return system(cmd) == 0;
}

/* Appends "isa" and "cpu" to the text of a JSON object line that lacks them (and to obj). */
static void tag_line(char *line, size_t cap, json_t *o)
{
    char *end = strrchr(line, '}');
    if (!end) return;
    char tail[256] = "";
    if (!json_object_get(o, "isa")) {
        snprintf(tail, sizeof tail, ",\"isa\":\"peer\"");
        json_object_set_new(o, "isa", json_string("peer"));
    }
    if (!json_object_get(o, "cpu")) {
        snprintf(tail + strlen(tail), sizeof tail - strlen(tail), ",\"cpu\":\"%s\"", ig_bench_cpu_model());
        json_object_set_new(o, "cpu", json_string(ig_bench_cpu_model()));
    }
    if ((size_t)(end - line) + strlen(tail) + 3 > cap) return;
    snprintf(end, cap - (size_t)(end - line), "%s}\n", tail);
}

const char *ig_bench_peer_dir(const char *built_in)
{
    const char *env = getenv("IGRADV_BENCH_PEERS");
    if (!env || !env[0]) return built_in;
    struct stat st;
    if (stat(env, &st) != 0 || !S_ISDIR(st.st_mode)) {
        char msg[600];
        snprintf(msg, sizeof msg, "'%.500s' is not a folder (expected the bench/peers folder of a source tree)", env);
        ig_bench_die("bench", "IGRADV_BENCH_PEERS", msg);
    }
    return env;
}

int ig_bench_peer_run(const char *cmd, ig_bench_peer_fn fn, void *ctx, int *status)
{
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        if (json_is_object(o)) tag_line(line, sizeof line, o);
        fn(line, o, ctx);
        json_decref(o);
    }
    *status = pclose(f);
    return 0;
}
