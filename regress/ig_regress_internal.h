/* regress internals: error helper, binned data, tree node arrays, builders and predictors. */
#ifndef IG_REGRESS_INTERNAL_H
#define IG_REGRESS_INTERNAL_H
#include "ig_regress.h"
#include "ig_config.h"
#include <stdint.h>
#include <stddef.h>
#if IG_HAVE_OPENMP
#include <omp.h>
#endif

#define IG_RBINS 256
/* Largest tree depth predicted through the complete (branch-free) layout. */
#define IG_RCOMPILE_MAX_DEPTH 10
#define IG_RMAX_OUT 64 /* most classes / outputs per tree */
#define IG_RFORMAT "igradv-regress"
#define IG_RFORMAT_VERSION 1

/* Sets the thread-local message, returns s. */
enum ig_regress_status ig_rerror(enum ig_regress_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline uint64_t ig_rsplitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Uniform integer in [0, n) (Lemire's multiply-shift; n < 2^32). */
static inline uint32_t ig_rbounded(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((ig_rsplitmix(s) >> 32) * (uint64_t)n) >> 32);
}

int ig_rthreads(int requested);

/* Training rows as bin codes. codes: [n, d] row-major. For u8 input the codes are the
 * values themselves (identity bins, bin_lo/bin_hi NULL); for f32 input bin_lo/bin_hi:
 * [d, 256] hold the smallest/largest training value that fell in each bin. */
struct ig_rdata {
    size_t n, d;
    const uint8_t *codes;
    uint8_t *codes_owned;
    float *bin_lo, *bin_hi;
};
enum ig_regress_status ig_rdata_init_u8(struct ig_rdata *D, const uint8_t *x, size_t n, size_t d);
enum ig_regress_status ig_rdata_init_f32(struct ig_rdata *D, const float *x, size_t n, size_t d);
void ig_rdata_free(struct ig_rdata *D);
/* Threshold between bin b (last one going left) and bin b_next (first non-empty bin on the
 * right, in the node): the midpoint of the two values, never equal to the right value. */
float ig_rdata_threshold(const struct ig_rdata *D, int f, int b, int b_next);

/* Input checks shared by fit/predict. */
enum ig_regress_status ig_rcheck_shape(const void *x, size_t n, size_t d, size_t min_n);
enum ig_regress_status ig_rcheck_f32(const float *v, size_t count, const char *what);

/* One tree as node arrays (node 0 is the root, children have larger indices).
 * feature[i] < 0 marks a leaf; x goes left when x[feature] <= threshold.
 * value: [n_nodes, n_out]. */
struct ig_rtree {
    int32_t n_nodes, cap, n_out, depth;
    int32_t *feature, *left, *right;
    float *threshold;
    double *value;
};
enum ig_regress_status ig_rtree_reserve(struct ig_rtree *t, int32_t cap);
/* Appends a node (leaf, children -1), returns its index or -1 on allocation failure. */
int32_t ig_rtree_add(struct ig_rtree *t, int32_t depth);
void ig_rtree_free(struct ig_rtree *t);

/* Trees plus their compiled prediction layout. Prediction:
 * out[i, k] = base[k] + scale * sum_t value_t(leaf_t(x_i))[k]. */
struct ig_rens {
    int n_trees, n_out;
    size_t d;
    struct ig_rtree *trees;
    double scale;
    double base[IG_RMAX_OUT];
    /* complete-tree layout when every tree has depth <= IG_RCOMPILE_MAX_DEPTH:
     * c_feat/c_thr/c_thr8: [n_trees, 2^D - 1]; c_val: [n_trees, 2^D, n_out] (scaled). */
    int c_depth, compiled;
    int32_t *c_feat;
    float *c_thr;
    int16_t *c_thr8;
    float *c_val;
};
enum ig_regress_status ig_rens_compile(struct ig_rens *e);
void ig_rens_free(struct ig_rens *e);
/* x: [n, d] u8 (is_u8) or f32; out: [n, n_out]. */
void ig_rens_predict(const struct ig_rens *e, const void *x, int is_u8, size_t n, float *out,
                     int n_threads);
/* Validates a tree's structure (used after load). */
enum ig_regress_status ig_rtree_validate(const struct ig_rtree *t, size_t d);

/* Split search of a boosting tree, per block of IG_RSCAN_W features (ig_regress_boost_scan.c,
 * compiled once per instruction set): build the block's histograms over the node's m rows
 * idx[0..m), scan the 256 bins, leave the histogram zeroed and improve *best. packed: one
 * int32 per bin (count << 16 | positives) for +-1 gradients pk; flt: count hc and sum hs of gd. */
#define IG_RSCAN_W 16
struct ig_gsplit {   /* score num2 / den (compared by cross-multiplication), feature, last bin going left */
    double num2, den;
    int32_t feature, bin;
};
static inline int ig_gbetter(double num2, double den, int32_t f, const struct ig_gsplit *b)
{
    double l = num2 * b->den, r = b->num2 * den;
    return l > r || (l == r && b->feature >= 0 && f < b->feature) || b->feature < 0;
}
struct ig_boost_scan {
    enum ig_regress_isa isa;
    void (*packed)(const uint8_t *codes, size_t d, const int32_t *idx, const int32_t *pk, size_t m, int f0, int w,
                   int32_t *h, double n, double s, double msl, struct ig_gsplit *best);
    void (*flt)(const uint8_t *codes, size_t d, const int32_t *idx, const double *gd, size_t m, int f0, int w,
                double *hc, double *hs, double n, double s, double msl, struct ig_gsplit *best);
};
extern const struct ig_boost_scan ig_boost_scan_generic;
#if IG_HAVE_CPU_X86
extern const struct ig_boost_scan ig_boost_scan_avx2, ig_boost_scan_avx512;
#endif
/* The kernels of isa (AUTO: the best this CPU runs); EINVAL naming isa when the build or CPU lacks it. */
enum ig_regress_status ig_boost_scan_pick(enum ig_regress_isa isa, const struct ig_boost_scan **out);

/* Regression tree on an unweighted sample list (gradient boosting): all features,
 * Friedman-MSE criterion, node values = mean of g. idx: [m] sample ids, permuted so each
 * leaf's samples are contiguous; leaf_of_pos: [m] receives the leaf node of idx[pos]. */
struct ig_boost_tree_params {
    int max_depth, min_samples_split, min_samples_leaf, n_threads;
};
struct ig_boost_tree_ws;  /* per-fit scratch */
/* Scratch for trees over n samples and n_threads threads, with the split kernels of isa
 * (EINVAL naming it when this build or CPU lacks it). */
enum ig_regress_status ig_boost_tree_ws_new(struct ig_boost_tree_ws **ws, size_t n, int n_threads, enum ig_regress_isa isa);
void ig_boost_tree_ws_free(struct ig_boost_tree_ws *ws);
enum ig_regress_status ig_boost_tree_fit(struct ig_rtree *t, const struct ig_rdata *D,
                                    const double *g, int32_t *idx, size_t m,
                                    int32_t *leaf_of_pos, const struct ig_boost_tree_params *p,
                                    struct ig_boost_tree_ws *ws);

/* Forest tree on bootstrap weights: random max_features features per node, Gini
 * (n_classes >= 2, labels) or squared error (n_classes == 0, y). */
struct ig_forest_tree_params {
    int max_depth, min_samples_split, min_samples_leaf, max_features, n_classes, bootstrap;
};
enum ig_regress_status ig_forest_tree_fit(struct ig_rtree *t, const struct ig_rdata *D,
                                    const int32_t *labels, const double *y,
                                    const struct ig_forest_tree_params *p, uint64_t seed);

/* JSON (ig_regress_json.c): the trees of an ensemble as a jansson object
 * {"n_features", "n_outputs", "trees": [{"feature","threshold","left","right","value"}]}. */
struct json_t;
struct json_t *ig_rens_to_json(const struct ig_rens *e);
/* Fills e (trees only; base/scale set by the caller) and validates the structure. */
enum ig_regress_status ig_rens_from_json(struct ig_rens *e, struct json_t *obj);
/* Top-level file helpers: check "format"/"version"/"kind"; load returns a new reference. */
enum ig_regress_status ig_rjson_write(struct json_t *root, const char *path);
/* The same bytes ig_rjson_write writes, as a malloc'ed NUL-terminated string. */
enum ig_regress_status ig_rjson_dumps(struct json_t *root, char **text, size_t *len);
/* A model document built by the caller (NULL: its builder failed for memory) written to path,
 * or else dumped into *text; releases root. */
enum ig_regress_status ig_rjson_emit(struct json_t *root, const char *path, char **text, size_t *len);
enum ig_regress_status ig_rjson_read(struct json_t **root, const char *path, const char *kind);

#endif
