/* Shared helpers of the libFuzzer targets: the fuzz input as a file for readers that take a path. */
#ifndef IG_FUZZ_UTIL_H
#define IG_FUZZ_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A private folder for this process (created once). */
static inline const char *fuzz_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/igradv-fuzz-XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    return dir;
}

/* Write d[0..n) to <fuzz_dir>/<name> and return the path (static buffer per name slot). */
static inline const char *fuzz_file(const char *name, const uint8_t *d, size_t n)
{
    static char path[4][128];
    static int slot;
    char *p = path[slot++ & 3];
    snprintf(p, 128, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0) abort();
    return p;
}
#endif
