/* ig_npy: a small NumPy .npy reader and writer (1-D and 2-D, C order, little-endian u8 / i32 / i64 / f32 / f64). */
#ifndef IG_NPY_H
#define IG_NPY_H
/*
 * The format (numpy.lib.format, versions 1.0-3.0): "\x93NUMPY", major, minor, a header
 * length (u16 for 1.0, u32 for 2.0/3.0), then a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
 * padded with spaces and '\n' so the data starts at a multiple of 64 bytes, then the data.
 * The reader accepts what numpy.save writes for these dtypes and refuses anything else
 * (big-endian, Fortran order, object arrays, 0-d or > 2-d arrays, a size that disagrees
 * with the shape) with IG_ERR_FORMAT and a message naming the file and what was expected.
 * The writer writes version 1.0 through the atomic writer (tensor/ig_util.h).
 *
 *   struct ig_npy a;
 *   if (ig_npy_read("x.npy", &a) != IG_OK) { fprintf(stderr, "%s\n", ig_last_error()); ... }
 *   // a.dtype, a.ndim, a.shape[0..ndim), a.data (a.count elements)
 *   ig_npy_free(&a);
 *   int64_t shape[2] = {n, 10};
 *   ig_npy_write("proba.npy", IG_NPY_F32, 2, shape, probs);    // probs: [n, 10] float
 */
#include <stddef.h>
#include <stdint.h>

#include "ig_tensor.h"

enum ig_npy_dtype { IG_NPY_U8, IG_NPY_I32, IG_NPY_I64, IG_NPY_F32, IG_NPY_F64 };

struct ig_npy {
    enum ig_npy_dtype dtype;
    int ndim;            /* 1 or 2 */
    int64_t shape[2];    /* shape[1] = 1 when ndim == 1 */
    size_t count;        /* elements: shape[0] * shape[1] */
    void *data;          /* count elements, C order, host byte order (little-endian) */
};

/* Bytes per element of dt. */
size_t ig_npy_itemsize(enum ig_npy_dtype dt);
/* Name of dt as numpy spells it ("float32", ...). */
const char *ig_npy_dtype_name(enum ig_npy_dtype dt);
/* Reads path into *out (zeroed first; free with ig_npy_free). IG_ERR_IO when the file cannot
 * be read, IG_ERR_FORMAT when it is not a supported .npy, IG_ERR_OOM. */
enum ig_status ig_npy_read(const char *path, struct ig_npy *out);
void ig_npy_free(struct ig_npy *a);
/* Writes data (shape[0] * shape[1] elements, or shape[0] when ndim == 1) atomically. */
enum ig_status ig_npy_write(const char *path, enum ig_npy_dtype dt, int ndim, const int64_t *shape,
                            const void *data);
#endif
