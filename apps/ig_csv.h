/* ig_csv: a numeric CSV matrix reader and writer (comma-separated numbers, optional header line) for the apps. */
#ifndef IG_CSV_H
#define IG_CSV_H
/*
 *   float *x; int64_t rows, cols;
 *   if (ig_csv_read_f32("x.csv", &x, &rows, &cols) != IG_OK) fprintf(stderr, "%s\n", ig_last_error());
 *   ig_csv_write_f32("pred.csv", pred, n, 1);     // one number per line, atomically
 * Rules: fields are separated by ',', surrounding spaces are ignored, blank lines are
 * skipped, a first line that is not all numbers is a header and skipped, every row has the
 * same number of fields. Errors (IG_ERR_FORMAT) name the file, the line and the field.
 */
#include <stdint.h>

#include "ig_tensor.h"

/* *x: [rows, cols] row-major, malloc'ed (free()). */
enum ig_status ig_csv_read_f32(const char *path, float **x, int64_t *rows, int64_t *cols);
/* rows lines of cols numbers (%.9g, exact for float32). */
enum ig_status ig_csv_write_f32(const char *path, const float *x, int64_t rows, int64_t cols);
#endif
