/* Backend options: defaults and the one reader of the environment (IGRADV_CPU, IGRADV_CONV, IGRADV_CPU_WCACHE_MB, IGRADV_CL_*, XDG_CACHE_HOME, OMP_NUM_THREADS, IGRADV_DEVICE). */
#include "ig_backend_impl.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ig_backend_options ig_backend_options_default(void)
{
    struct ig_backend_options o;
    memset(&o, 0, sizeof o);
    o.threads = 0;
    o.conv = IG_CONV_AUTO;
    o.cpu_isa = IG_CPU_ISA_AUTO;
    o.cpu_wcache_mb = 256;
    o.cl_splitk = 1024;
    o.cl_conv_images = 0;
    o.cl_cache = true;
    return o;
}

/* One of names[0..n) (exact match) -> its index in *out; else an error listing them. */
static enum ig_status parse_name(const char *var, const char *v, const char *const *names, int n, int *out)
{
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return IG_OK;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    }
    return ig_error(IG_ERR_INVALID_ARG, "%s=%s not understood: expected one of %s", var, v, list);
}

/* A whole decimal number in [lo, hi]. */
static enum ig_status parse_int(const char *var, const char *v, long lo, long hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return ig_error(IG_ERR_INVALID_ARG, "%s=%s not understood: expected a whole number from %ld to %ld", var, v, lo, hi);
    *out = (int)x;
    return IG_OK;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The CPU options: IGRADV_CPU, IGRADV_CONV, IGRADV_CPU_WCACHE_MB, OMP_NUM_THREADS (its first entry: "4" or "4,2"). */
static enum ig_status cpu_from_env(struct ig_backend_options *o)
{
    static const char *const isas[] = {"auto", "generic", "avx2", "avx512"};
    static const char *const convs[] = {"auto", "winograd", "im2col", "winograd2", "direct"};
    const char *v;
    int k = 0;
    if ((v = env("IGRADV_CPU"))) {
        IG_TRY(parse_name("IGRADV_CPU", v, isas, 4, &k));
        o->cpu_isa = (enum ig_cpu_isa)k;
    }
    if ((v = env("IGRADV_CONV"))) {
        IG_TRY(parse_name("IGRADV_CONV", v, convs, 5, &k));
        o->conv = (enum ig_conv_algo)k;
    }
    if ((v = env("IGRADV_CPU_WCACHE_MB"))) IG_TRY(parse_int("IGRADV_CPU_WCACHE_MB", v, 0, 1 << 20, &o->cpu_wcache_mb));
    if ((v = env("OMP_NUM_THREADS"))) {
        char first[32];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(v, ","), v);
        IG_TRY(parse_int("OMP_NUM_THREADS", first, 1, 4096, &o->threads));
    }
    return IG_OK;
}

/* The OpenCL options: IGRADV_CL_SPLITK, IGRADV_CL_CONV_IMAGES, IGRADV_CL_CACHE (0 or 1), and the
 * cache folder $XDG_CACHE_HOME/igradv (absolute XDG only) or $HOME/.cache/igradv. */
static enum ig_status cl_from_env(struct ig_backend_options *o)
{
    const char *v;
    int k = 0;
    if ((v = env("IGRADV_CL_SPLITK"))) IG_TRY(parse_int("IGRADV_CL_SPLITK", v, 0, 1 << 30, &o->cl_splitk));
    if ((v = env("IGRADV_CL_CONV_IMAGES"))) IG_TRY(parse_int("IGRADV_CL_CONV_IMAGES", v, 0, 1 << 30, &o->cl_conv_images));
    if ((v = env("IGRADV_CL_CACHE"))) {
        IG_TRY(parse_int("IGRADV_CL_CACHE", v, 0, 1, &k));
        o->cl_cache = k == 1;
    }
    const char *xdg = env("XDG_CACHE_HOME"), *home = env("HOME");
    if (xdg && *xdg == '/') snprintf(o->cl_cache_dir, sizeof o->cl_cache_dir, "%s/igradv", xdg);
    else if (home) snprintf(o->cl_cache_dir, sizeof o->cl_cache_dir, "%s/.cache/igradv", home);
    return IG_OK;
}

enum ig_status ig_backend_options_from_env(struct ig_backend_options *o)
{
    if (!o) return ig_error(IG_ERR_INVALID_ARG, "ig_backend_options_from_env: options are NULL");
    struct ig_backend_options t = *o;
    IG_TRY(cpu_from_env(&t));
    IG_TRY(cl_from_env(&t));
    *o = t;
    return IG_OK;
}

enum ig_status ig_backend_options_check(const struct ig_backend_options *o)
{
    if (o->threads < 0) return ig_error(IG_ERR_INVALID_ARG, "backend options: threads %d is negative", o->threads);
    if ((int)o->conv < IG_CONV_AUTO || o->conv > IG_CONV_DIRECT)
        return ig_error(IG_ERR_INVALID_ARG, "backend options: conv %d is not an enum ig_conv_algo", (int)o->conv);
    if ((int)o->cpu_isa < IG_CPU_ISA_AUTO || o->cpu_isa > IG_CPU_ISA_AVX512)
        return ig_error(IG_ERR_INVALID_ARG, "backend options: cpu_isa %d is not an enum ig_cpu_isa", (int)o->cpu_isa);
    if (o->cpu_wcache_mb < 0 || o->cpu_wcache_mb > (1 << 20))
        return ig_error(IG_ERR_INVALID_ARG, "backend options: cpu_wcache_mb %d is outside 0 .. %d", o->cpu_wcache_mb, 1 << 20);
    if (o->cl_splitk < 0 || o->cl_conv_images < 0)
        return ig_error(IG_ERR_INVALID_ARG, "backend options: cl_splitk %d / cl_conv_images %d must not be negative",
                        o->cl_splitk, o->cl_conv_images);
    if (!memchr(o->cl_cache_dir, '\0', sizeof o->cl_cache_dir))
        return ig_error(IG_ERR_INVALID_ARG, "backend options: cl_cache_dir is not NUL-terminated");
    return IG_OK;
}

const char *ig_backend_env_device(void) { return env("IGRADV_DEVICE"); }
