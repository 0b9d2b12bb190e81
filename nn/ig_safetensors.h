/* igradv safetensors: atomic writing and validated reading of named tensors (checkpoints interchangeable with PyTorch). */
#ifndef IG_SAFETENSORS_H
#define IG_SAFETENSORS_H
/*
 * Overview
 *   The safetensors format: 8-byte little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value", ...}} (padded with spaces to a multiple of 8), then
 *   the raw little-endian data; offsets are relative to the end of the header. Files
 *   written here load with safetensors.torch.load_file, and files PyTorch writes load here.
 *
 *   Writing: build a writer, add named tensors (snapshotted to host memory when added) and
 *   string metadata (optimiser step, epoch, ...), then save. The save is atomic: a
 *   temporary file in the destination directory, fsync, rename over the target, fsync of
 *   the directory; a crash leaves either the old file or the new one.
 *
 *   Reading: ig_safetensors_open reads and validates the whole file (header length sane,
 *   JSON well formed, known dtypes, shape x dtype size == byte span, offsets inside the
 *   data section, no overlaps or holes, no duplicate names); errors name the tensor or the
 *   byte offset and have status IG_ERR_FORMAT (IG_ERR_IO when the file cannot be read).
 *   Tensors are then looked up by name and copied into existing tensors with dtype and
 *   shape checks (the error names the tensor).
 *
 *   Our tensors are f32, u8 or i32; PyTorch's BatchNorm num_batches_tracked is I64. An i32
 *   tensor can be written as I64 (ig_safetensors_writer_add_as) and an I64 entry can be
 *   read into an i32 tensor (values must fit).
 *
 * Example
 *   struct ig_safetensors_writer *w = ig_safetensors_writer_new();
 *   ig_safetensors_writer_add(w, "features.0.weight", conv_w);
 *   ig_safetensors_writer_set_meta(w, "adam_step", "120");
 *   if (ig_safetensors_writer_save(w, "ckpt.safetensors") != IG_OK) ... ig_last_error() ...;
 *   ig_safetensors_writer_free(w);
 *
 *   struct ig_safetensors *st;
 *   if (ig_safetensors_open(&st, "ckpt.safetensors") != IG_OK) ...;
 *   if (ig_safetensors_read(st, "features.0.weight", conv_w) != IG_OK) ...;
 *   const char *step = ig_safetensors_meta(st, "adam_step");   // NULL when absent
 *   ig_safetensors_close(st);
 */
#include "ig_tensor.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of the format. Writable from tensors: F32, I32, U8, and I64 (from i32).
 * The others are recognised (sizes validated) but cannot be read into our tensors. */
enum ig_st_dtype {
    IG_ST_F32, IG_ST_I32, IG_ST_U8, IG_ST_I64,
    IG_ST_F64, IG_ST_F16, IG_ST_BF16, IG_ST_I16, IG_ST_I8, IG_ST_U16, IG_ST_U32, IG_ST_U64, IG_ST_BOOL,
    IG_ST_F8_E4M3, IG_ST_F8_E5M2,
    IG_ST_DTYPE_COUNT
};
const char *ig_st_dtype_name(enum ig_st_dtype dt);  /* "F32" */
size_t ig_st_dtype_size(enum ig_st_dtype dt);       /* bytes per element */

/* Most dimensions an entry may have in a file we read (our tensors have at most 4). */
#define IG_ST_MAX_DIMS 8
/* Largest JSON header accepted (the reference implementation's limit). */
#define IG_ST_MAX_HEADER (100u * 1024u * 1024u)

/* ---------------------------------------------------------------- writing */

struct ig_safetensors_writer; /* opaque */

struct ig_safetensors_writer *ig_safetensors_writer_new(void);  /* NULL on OOM */
void ig_safetensors_writer_free(struct ig_safetensors_writer *w);
/* Add tensor t under name (copied to host now; t may be freed afterwards). Names are unique,
 * non-empty, not "__metadata__". The file dtype is the tensor's. */
enum ig_status ig_safetensors_writer_add(struct ig_safetensors_writer *w, const char *name,
                                         const struct ig_tensor *t);
/* As _add with an explicit file dtype: the tensor's own, or IG_ST_I64 for an i32 tensor. */
enum ig_status ig_safetensors_writer_add_as(struct ig_safetensors_writer *w, const char *name,
                                            const struct ig_tensor *t, enum ig_st_dtype file_dtype);
/* Add host data (copied): ndim 0..IG_ST_MAX_DIMS, row-major, little-endian host values. */
enum ig_status ig_safetensors_writer_add_host(struct ig_safetensors_writer *w, const char *name,
                                              enum ig_st_dtype dt, int ndim, const int64_t *shape,
                                              const void *data);
/* Set (or replace) a metadata string. */
enum ig_status ig_safetensors_writer_set_meta(struct ig_safetensors_writer *w, const char *key,
                                              const char *value);
/* Write the file atomically. The writer stays usable (save again elsewhere, or free). */
enum ig_status ig_safetensors_writer_save(const struct ig_safetensors_writer *w, const char *path);

/* One call: n named tensors (file dtype = tensor dtype) and n_meta metadata pairs. */
enum ig_status ig_safetensors_save(const char *path, int n, const char *const *names,
                                   const struct ig_tensor *const *tensors, int n_meta,
                                   const char *const *meta_keys, const char *const *meta_values);

/* ---------------------------------------------------------------- reading */

struct ig_safetensors; /* opaque: the validated file in memory */

struct ig_st_entry {
    const char *name;
    enum ig_st_dtype dtype;
    int ndim;
    int64_t shape[IG_ST_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end;            /* byte span in the data section */
    const void *data;               /* begin of the raw little-endian bytes (in the handle) */
};

/* Read and validate path. */
enum ig_status ig_safetensors_open(struct ig_safetensors **out, const char *path);
/* Validate an in-memory file image (copied); label names it in errors. */
enum ig_status ig_safetensors_open_memory(struct ig_safetensors **out, const void *bytes, size_t len,
                                          const char *label);
void ig_safetensors_close(struct ig_safetensors *st);

int ig_safetensors_count(const struct ig_safetensors *st);
/* Entries in data-offset order, i in [0, count). */
const struct ig_st_entry *ig_safetensors_entry(const struct ig_safetensors *st, int i);
/* NULL when absent (no error set). */
const struct ig_st_entry *ig_safetensors_find(const struct ig_safetensors *st, const char *name);

/* Copy entry name into dst (any backend, contiguous or not). dst's shape must equal the
 * entry's ([] and [1] count as equal); dtypes: F32->f32, U8->u8, I32->i32, I64->i32 (range
 * checked). A missing tensor, a shape or dtype mismatch is IG_ERR_FORMAT naming the tensor. */
enum ig_status ig_safetensors_read(const struct ig_safetensors *st, const char *name, struct ig_tensor *dst);
/* Copy entry name into host memory, which holds bytes bytes: the entry's dtype must be dt,
 * its element count bytes / size(dt). */
enum ig_status ig_safetensors_read_host(const struct ig_safetensors *st, const char *name, enum ig_st_dtype dt,
                                        void *dst, size_t bytes);

/* Metadata string, NULL when absent. */
const char *ig_safetensors_meta(const struct ig_safetensors *st, const char *key);
int ig_safetensors_meta_count(const struct ig_safetensors *st);
/* i-th metadata pair (in file order). */
void ig_safetensors_meta_at(const struct ig_safetensors *st, int i, const char **key, const char **value);
/* Metadata key parsed as a decimal integer (IG_ERR_FORMAT when absent or not an integer). */
enum ig_status ig_safetensors_meta_i64(const struct ig_safetensors *st, const char *key, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif /* IG_SAFETENSORS_H */
