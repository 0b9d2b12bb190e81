/* igradv data (part of nn): datasets in host memory, CIFAR-10 / Fashion-MNIST readers, seeded permutations, batch tensors and the minibatch loader. */
#ifndef IG_DATA_H
#define IG_DATA_H
/*
 * Overview
 *   A struct ig_dataset holds a whole labelled image set in host memory: u8 pixels
 *   [n, C, H, W] (CIFAR-10: [n,3,32,32], planes R,G,B; Fashion-MNIST: [n,1,28,28]) and
 *   i32 labels [n]. Readers validate every file and name the file and record (or byte
 *   offset) that is wrong; they never print or exit.
 *
 *   A struct ig_loader walks a dataset (or a subset of its rows) in minibatches: per
 *   epoch a permutation drawn from an explicit seed (the splitmix64 stream of ig_util.h; the
 *   permutation of epoch e depends only on (seed, e), so a resumed run sees the same
 *   order), u8 pixels copied to the backend and normalised there with ig_normalize_u8
 *   (METHOD.md: x/255, then (x - 0.5) / 0.5 per channel). The f32 batch tensor on the
 *   backend is what training consumes. The last partial batch is returned (smaller) or
 *   dropped (params.drop_last).
 *
 * Example
 *   struct ig_dataset train;
 *   if (ig_cifar10_load(&train, "data/cifar-10-batches-bin", IG_DATA_TRAIN, 10000) != IG_OK)
 *       { fprintf(stderr, "%s\n", ig_last_error()); return 2; }
 *   struct ig_loader_params lp = ig_loader_params_default();
 *   lp.batch_size = 64; lp.seed = 42;
 *   struct ig_loader *ld;
 *   if (ig_loader_new(&ld, be, &train, NULL, 0, lp) != IG_OK) ...;
 *   for (int64_t epoch = 0; epoch < 5; epoch++) {
 *       struct ig_batch b; bool got;
 *       ig_loader_start_epoch(ld, epoch);
 *       while (ig_loader_next(ld, &b, &got) == IG_OK && got) {
 *           // b.x: f32 [b.size,3,32,32] normalised, b.y: i32 [b.size], on be
 *       }
 *   }
 *   ig_loader_free(ld); ig_dataset_free(&train);
 */
#include "ig_tensor.h"
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IG_DATA_MAX_CLASSES 16
#define IG_DATA_NAME_LEN 32
/* Record of the CIFAR-10 binary format: 1 label byte + 3072 pixel bytes (R, G, B planes). */
#define IG_CIFAR10_RECORD 3073
/* Where the Debian package dataset-fashion-mnist installs its files. */
#define IG_FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

enum ig_data_split { IG_DATA_TRAIN, IG_DATA_TEST };

struct ig_dataset {
    int64_t n;                      /* number of images */
    int channels, height, width;
    uint8_t *images;                /* [n, channels, height, width], row-major, owned */
    int32_t *labels;                /* [n], 0 .. num_classes-1, owned */
    int num_classes;
    char class_names[IG_DATA_MAX_CLASSES][IG_DATA_NAME_LEN];
};

/* Bytes of one image (channels * height * width). */
int64_t ig_dataset_image_bytes(const struct ig_dataset *ds);
/* Free the arrays and zero the struct (safe on a zeroed or already freed struct). */
void ig_dataset_free(struct ig_dataset *ds);
/* out = rows idx[0..n) of src (copies; idx values must be in [0, src->n)). */
enum ig_status ig_dataset_subset(struct ig_dataset *out, const struct ig_dataset *src,
                                 const int64_t *idx, int64_t n);

/* ---------------------------------------------------------------- CIFAR-10 (binary version) */

/* Load the training set (data_batch_1..5.bin, in that order) or the test set
 * (test_batch.bin) from dir. dir is the cifar-10-batches-bin directory or its parent.
 * max_n > 0 keeps only the first max_n records (files after the last needed one are not
 * read); max_n <= 0 loads everything. Class names come from batches.meta.txt when present
 * (the official names otherwise). Every file is validated: size a multiple of 3073 bytes,
 * labels 0..9; the error names the file and record. */
enum ig_status ig_cifar10_load(struct ig_dataset *out, const char *dir, enum ig_data_split split,
                               int64_t max_n);
/* Read one CIFAR-10 binary file (first max_n records when max_n > 0). */
enum ig_status ig_cifar10_read_file(struct ig_dataset *out, const char *path, int64_t max_n);
/* Read class names, one per line (empty lines ignored), into ds->class_names; sets
 * ds->num_classes to the count read. */
enum ig_status ig_cifar10_read_classes(struct ig_dataset *ds, const char *path);

/* ---------------------------------------------------------------- Fashion-MNIST (IDX) */

/* Load the Fashion-MNIST training (train-*) or test (t10k-*) split from dir (NULL:
 * IG_FMNIST_DEFAULT_DIR): <prefix>-images-idx3-ubyte[.gz] and <prefix>-labels-idx1-ubyte[.gz],
 * gzip-compressed or raw. Images become [n,1,28,28]; max_n as for CIFAR-10. */
enum ig_status ig_fmnist_load(struct ig_dataset *out, const char *dir, enum ig_data_split split,
                              int64_t max_n);
/* Read an IDX image file (magic 0x00000803, u8, [n, rows, cols]) and its IDX label file
 * (magic 0x00000801, u8, [n], labels < num_classes); gzip or raw, detected from the content.
 * Class names are set to "0".."num_classes-1" (ig_fmnist_load sets the real names). */
enum ig_status ig_idx_read_pair(struct ig_dataset *out, const char *images_path, const char *labels_path,
                                int num_classes, int64_t max_n);

/* ---------------------------------------------------------------- minibatch loader */

struct ig_loader_params {
    int64_t batch_size;             /* default 32 (the published code's default) */
    bool shuffle;                   /* default true; false: dataset (or subset) order */
    bool drop_last;                 /* default false: the last partial batch is returned */
    uint64_t seed;                  /* default 0; the epoch-e order depends only on (seed, e) */
    struct ig_norm_params norm;     /* default METHOD.md: mean 0.5, std 0.5 per channel */
};
struct ig_loader_params ig_loader_params_default(void);
/* METHOD.md's transform as op parameters: y = (x/255 - 0.5) / 0.5 on every channel. */
struct ig_norm_params ig_data_norm_default(void);

struct ig_batch {
    struct ig_tensor *x;            /* f32 [size, C, H, W] normalised, on the backend; owned by the loader */
    struct ig_tensor *y;            /* i32 [size] labels, on the backend; owned by the loader */
    const int64_t *index;           /* [size] dataset row of each sample (host) */
    int64_t size;                   /* samples in this batch (<= batch_size) */
    int64_t number;                 /* batch number within the epoch, from 0 */
};

struct ig_loader; /* opaque */

/* Loader over ds (not copied: ds must outlive the loader), restricted to the rows
 * subset[0..n_subset) when subset != NULL (copied), all rows otherwise. Batch tensors
 * live on be. Epoch 0 is started. */
enum ig_status ig_loader_new(struct ig_loader **out, struct ig_backend *be, const struct ig_dataset *ds,
                             const int64_t *subset, int64_t n_subset, struct ig_loader_params p);
void ig_loader_free(struct ig_loader *l);
/* Rows the loader walks and batches per epoch (drop_last respected). */
int64_t ig_loader_size(const struct ig_loader *l);
int64_t ig_loader_batches(const struct ig_loader *l);
/* Rewind to the first batch of epoch `epoch` (reshuffled from (seed, epoch) if shuffle). */
enum ig_status ig_loader_start_epoch(struct ig_loader *l, int64_t epoch);
/* Next batch of the current epoch into *b (tensors valid until the next call or free);
 * *got = false (and IG_OK) when the epoch is over. */
enum ig_status ig_loader_next(struct ig_loader *l, struct ig_batch *b, bool *got);

/* Reusable batch tensors for up to cap rows of ds on be (ds must outlive it): the one way
 * the loader, the active-learning loop and ig_model_predict stage batches.
 * ig_batcher_fill copies rows[0..n) (1 <= n <= cap) and returns x f32 [n,C,H,W] normalised
 * with norm and y i32 [n] labels (either pointer may be NULL), valid until the next fill or
 * free (views of the first n rows when n < cap). */
struct ig_batcher; /* opaque */
enum ig_status ig_batcher_new(struct ig_batcher **out, struct ig_backend *be, const struct ig_dataset *ds, int64_t cap,
                              struct ig_norm_params norm);
void ig_batcher_free(struct ig_batcher *b);
int64_t ig_batcher_capacity(const struct ig_batcher *b);
enum ig_status ig_batcher_fill(struct ig_batcher *b, const int64_t *rows, int64_t n, struct ig_tensor **x,
                               struct ig_tensor **y);

/* Lower level: copy the rows idx[0..n) of ds into x_u8 (u8 [n,C,H,W], contiguous), normalise
 * into x (f32 [n,C,H,W], same backend; may be NULL to get only the u8 pixels) and write their
 * labels into y (i32 [n]; may be NULL). host_scratch must hold ig_data_batch_scratch_bytes(ds, n)
 * bytes (NULL: allocated and freed internally). */
size_t ig_data_batch_scratch_bytes(const struct ig_dataset *ds, int64_t n);
enum ig_status ig_data_fill_batch(const struct ig_dataset *ds, const int64_t *idx, int64_t n,
                                  struct ig_tensor *x_u8, struct ig_tensor *x, struct ig_tensor *y,
                                  struct ig_norm_params norm, void *host_scratch);

#ifdef __cplusplus
}
#endif
#endif /* IG_DATA_H */
