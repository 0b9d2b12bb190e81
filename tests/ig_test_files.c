/* Test helpers for suites that work on files: scratch folder, paths, whole-file write and read. */
#include "ig_test_files.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[256];

int ig_test_scratch_open(const char *tag)
{
    snprintf(scratch, sizeof scratch, "/tmp/ig_test_%s_%d", tag, (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", scratch, scratch);
    return system(cmd) == 0 ? 0 : -1;
}

int ig_test_scratch_close(int rc)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? rc : 1;
}

const char *ig_test_scratch(void) { return scratch; }

const char *ig_test_in(const char *name)
{
    static char buf[8][600];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", scratch, name);
    return b;
}

void ig_test_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

void ig_test_write_str(const char *path, const char *text) { ig_test_write_file(path, text, strlen(text)); }

char *ig_test_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    char *t = malloc(cap);
    ck_assert_ptr_nonnull(t);
    for (size_t got; f && (got = fread(t + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            t = realloc(t, cap *= 2);
            ck_assert_ptr_nonnull(t);
        }
    }
    if (f) fclose(f);
    t[n] = '\0';
    return t;
}
