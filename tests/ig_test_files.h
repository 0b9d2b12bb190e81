/* Test helpers for suites that work on files: a scratch folder per run, paths in it, whole-file write/read. */
#ifndef IG_TEST_FILES_H
#define IG_TEST_FILES_H
#include <stddef.h>

/* Creates /tmp/ig_test_<tag>_<pid> (returned, static) for this process; 0 on success. */
int ig_test_scratch_open(const char *tag);
/* Removes the scratch folder and everything in it; returns rc, or 1 if it cannot. */
int ig_test_scratch_close(int rc);
/* The scratch folder, and name inside it (8 rotating static buffers). */
const char *ig_test_scratch(void);
const char *ig_test_in(const char *name);
/* Writes n bytes to path (asserts). */
void ig_test_write_file(const char *path, const void *data, size_t n);
void ig_test_write_str(const char *path, const char *text);
/* The whole file, NUL-terminated, malloc'ed (an empty string when it cannot be read). */
char *ig_test_read_file(const char *path);
#endif
