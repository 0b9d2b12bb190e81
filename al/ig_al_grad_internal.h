/* Private state of the per-sample gradient engine, shared by its setup/reference file and its per-sample-terms file. */
#ifndef IG_AL_GRAD_INTERNAL_H
#define IG_AL_GRAD_INTERNAL_H
#include "ig_al.h"
#include "ig_nn.h"
#include "ig_util.h"

enum al_layer_kind { AL_LINEAR, AL_CONV, AL_BN };

/* One layer of the parameter set, with its slice of the reference D. */
struct al_layer {
    enum al_layer_kind kind;
    struct ig_var *w, *b;           /* weight / bias, or BN γ / β (b may be NULL) */
    struct ig_tensor *dw, *db;      /* reference D_W, D_b (same shapes) */
    int64_t nw, nb;                 /* element counts */
    const struct ig_module *mod;    /* BN: running statistics and eps */
};

struct ig_al_engine {
    struct ig_model *m;
    struct ig_backend *be;
    struct ig_graph *g;
    enum ig_al_param_set set;
    int n_layers;
    struct al_layer *layers;
    int64_t n_params;
    bool has_bn;
    /* accumulators of the batch being scored: [cap] */
    int64_t cap, n;
    double *dot, *tdot, *sq;
    float *host;
    bool want_dot, want_tdot;
};

/* The first error of g as a status with "what" in front. */
enum ig_status ig_al_graph_failed(struct ig_graph *g, const char *what);
#endif
