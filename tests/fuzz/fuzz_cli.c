/* libFuzzer target: the command-line helpers of apps/ (integers, numbers, name lists, the kill-point variable) on NUL-separated fields. */
#include "fuzz_util.h"
#include "ig_cli.h"
#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char buf[512];
    if (n >= sizeof buf) return 0;
    memcpy(buf, d, n);
    buf[n] = '\0';
    static const char *const names[] = {"--k", "--lr", "--seeds"};
    for (char *s = buf; s < buf + n + 1; s += strlen(s) + 1) {
        int64_t i = 0;
        if (ig_cli_parse_i64(s, 0, INT64_MAX, &i) && i < 0) abort();
        if (ig_cli_parse_i64(s, -5, 5, &i) && (i < -5 || i > 5)) abort();
        double v = 0;
        if (ig_cli_parse_f(s, 0.0, 10.0, &v) && !(v >= 0.0 && v <= 10.0)) abort();
        ig_cli_is_one_of(s, names, 3);
    }
    /* the variable parser (it never installs a hook that fires: no file is written here) */
    setenv("IGRADV_TEST_KILL_AT", buf, 1);
    ig_cli_test_kill_install("fuzz");
    unsetenv("IGRADV_TEST_KILL_AT");
    return 0;
}
