/* Status names, the thread-local last-error message and the hookable logger. */
#include "ig_backend_impl.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Thread_local char last_error[1024];
static ig_log_fn log_fn;
static void *log_user;

static const char *const status_names[] = {
    [IG_OK] = "IG_OK",
    [IG_ERR_INVALID_ARG] = "IG_ERR_INVALID_ARG",
    [IG_ERR_SHAPE] = "IG_ERR_SHAPE",
    [IG_ERR_DTYPE] = "IG_ERR_DTYPE",
    [IG_ERR_LAYOUT] = "IG_ERR_LAYOUT",
    [IG_ERR_BACKEND] = "IG_ERR_BACKEND",
    [IG_ERR_OOM] = "IG_ERR_OOM",
    [IG_ERR_IO] = "IG_ERR_IO",
    [IG_ERR_FORMAT] = "IG_ERR_FORMAT",
    [IG_ERR_DEVICE] = "IG_ERR_DEVICE",
    [IG_ERR_BUILD] = "IG_ERR_BUILD",
    [IG_ERR_UNSUPPORTED] = "IG_ERR_UNSUPPORTED",
    [IG_ERR_STATE] = "IG_ERR_STATE",
    [IG_ERR_INTERNAL] = "IG_ERR_INTERNAL",
};
_Static_assert(sizeof status_names / sizeof status_names[0] == IG_STATUS_COUNT, "status name table out of date");

const char *ig_status_name(enum ig_status s)
{
    if ((int)s < 0 || s >= IG_STATUS_COUNT) return "IG_ERR_UNKNOWN";
    return status_names[s];
}

const char *ig_last_error(void) { return last_error; }
void ig_clear_error(void) { last_error[0] = '\0'; }

enum ig_status ig_error(enum ig_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

enum ig_status ig_error_prefix(enum ig_status s, const char *fmt, ...)
{
    char old[sizeof last_error];
    memcpy(old, last_error, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof last_error)
        snprintf(last_error + n, sizeof last_error - (size_t)n, ": %s", old);
    return s;
}

void ig_log_set_handler(ig_log_fn fn, void *user)
{
    log_fn = fn;
    log_user = user;
}

void ig_log(enum ig_log_level level, const char *fmt, ...)
{
    if (!log_fn) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(level, msg, log_user);
}

void ig_log_stderr(enum ig_log_level level, const char *msg, void *user)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    if ((intptr_t)user > (intptr_t)level) return;
    fprintf(stderr, "igradv: %s: %s\n", names[level], msg);
}

double ig_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
