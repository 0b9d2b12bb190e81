/* ig_cli: strict number parsing, usage errors, the --device/--threads backend and the test kill-point hook shared by the apps. */
#include "ig_cli.h"
#include "ig_util.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ig_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool ig_cli_parse_f(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool ig_cli_is_one_of(const char *a, const char *const *names, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(a, names[k])) return true;
    return false;
}

int ig_cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see %s --help)\n", prog);
    va_end(ap);
    return IG_CLI_EXIT_USAGE;
}

int ig_cli_expected(const char *prog, const char *opt, const char *what, const char *got)
{
    return ig_cli_usage_error(prog, "%s: expected %s, got '%s'", opt, what, got);
}

enum ig_status ig_cli_backend_init(const char *device, int64_t threads, struct ig_backend **be)
{
    if (device && !strcmp(device, "cpu")) return ig_backend_init_cpu(be, (int)threads);
    if (device) return ig_backend_init(device, be);
    if (threads > 0) return ig_backend_init_cpu(be, (int)threads);
    return ig_backend_init_best(be);
}


static char kill_point[16];
static int64_t kill_left;

static void kill_hook(const char *point, const char *path)
{
    (void)path;
    if (strcmp(point, kill_point) == 0 && --kill_left == 0) raise(SIGKILL);
}

bool ig_cli_test_kill_install(const char *prog)
{
    const char *v = getenv("IGRADV_TEST_KILL_AT");
    if (!v || !*v) return true;
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    int64_t count = 1;
    static const char *const points[] = {"commit", "rename", "renamed"};
    snprintf(kill_point, sizeof kill_point, "%.*s", (int)(n < sizeof kill_point ? n : sizeof kill_point - 1), v);
    if (n >= sizeof kill_point || !ig_cli_is_one_of(kill_point, points, 3) || (colon && !ig_cli_parse_i64(colon + 1, 1, INT64_MAX, &count))) {
        fprintf(stderr, "%s: IGRADV_TEST_KILL_AT: expected commit|rename|renamed[:count >= 1], got '%s'\n", prog, v);
        return false;
    }
    kill_left = count;
    ig_atomic_set_hook(kill_hook);
    return true;
}
