/* regress common pieces: error text and status, threads, input checks. */
#include "ig_regress_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char ig_rerr_buf[512];
static _Thread_local enum ig_regress_status ig_rerr_status = IG_REGRESS_OK;

/* Formats into a local buffer first: an argument may be ig_regress_last_error() itself
 * (a message wrapping the previous one), and vsnprintf must not read what it writes. */
enum ig_regress_status ig_rerror(enum ig_regress_status s, const char *fmt, ...)
{
    char msg[sizeof ig_rerr_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(ig_rerr_buf, msg, sizeof msg);
    ig_rerr_status = s;
    return s;
}

const char *ig_regress_last_error(void) { return ig_rerr_buf; }
enum ig_regress_status ig_regress_last_status(void) { return ig_rerr_status; }

const char *ig_regress_status_str(enum ig_regress_status s)
{
    switch (s) {
    case IG_REGRESS_OK: return "ok";
    case IG_REGRESS_EINVAL: return "invalid argument";
    case IG_REGRESS_ENOMEM: return "out of memory";
    case IG_REGRESS_EIO: return "i/o error";
    case IG_REGRESS_EFORMAT: return "bad model file";
    }
    return "unknown status";
}

int ig_rthreads(int requested)
{
#if IG_HAVE_OPENMP
    return requested > 0 ? requested : omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

enum ig_regress_status ig_rcheck_shape(const void *x, size_t n, size_t d, size_t min_n)
{
    if (!x) return ig_rerror(IG_REGRESS_EINVAL, "regress: feature rows are NULL");
    if (n < min_n)
        return ig_rerror(IG_REGRESS_EINVAL, "regress: need at least %zu rows, got %zu", min_n, n);
    if (d == 0) return ig_rerror(IG_REGRESS_EINVAL, "regress: rows have 0 features");
    if (n > (size_t)INT32_MAX || d > (size_t)INT32_MAX || n > SIZE_MAX / d)
        return ig_rerror(IG_REGRESS_EINVAL, "regress: %zu x %zu rows is too large", n, d);
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_rcheck_f32(const float *v, size_t count, const char *what)
{
    int bad = 0;
    size_t first = 0;
    /* a cheap reduction first; locate the culprit only when one exists */
#pragma omp parallel for reduction(| : bad) schedule(static) if (count > (1u << 20))
    for (size_t i = 0; i < count; i++) bad |= !isfinite(v[i]);
    if (!bad) return IG_REGRESS_OK;
    while (isfinite(v[first])) first++;
    return ig_rerror(IG_REGRESS_EINVAL, "regress: %s[%zu] is %s", what, first,
                     isnan(v[first]) ? "NaN" : "infinite");
}
