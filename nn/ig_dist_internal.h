/* Private state of the dist module shared by its common part (ig_dist.c) and its MPI or single-process transport (not installed). */
#ifndef IG_DIST_INTERNAL_H
#define IG_DIST_INTERNAL_H
#include "ig_dist.h"

/* One tensor of the data-parallel buffer: a parameter's gradient (var set) or a running statistic. */
struct ig_dist_dp_slot {
    struct ig_var *var;           /* the parameter, NULL for a buffer */
    struct ig_tensor *t;          /* the buffer (parameters: their gradient, taken when packed) */
    const char *name;
    int64_t off, n;               /* its floats flat[off, off + n) */
    int bucket;
    bool packed;                  /* copied into flat (scaled) in this step */
};

/* A contiguous run of slots [s_lo, s_hi) reduced by one non-blocking sum; left: slots still
 * to be packed before it can start. */
struct ig_dist_dp_bucket { int s_lo, s_hi, left; bool posted; };

struct ig_dist {
    int rank, size;
    bool mpi;                     /* MPI initialised by ig_dist_init (finalize it) */
    /* data parallelism (ig_dist_dp.c) */
    struct ig_model *dp_model;
    int64_t dp_local, dp_total;   /* rows of this rank / of the minibatch in the current step */
    bool dp_whole;                /* the step's minibatch is computed whole by every rank */
    bool dp_overlap;              /* reduce buckets during the backward pass (default on) */
    bool dp_armed;                /* from ig_dist_dp_batch (a split minibatch) to the optimiser hook */
    bool dp_started;              /* the step's layout is built; buckets may be in flight */
    float *flat;                  /* [cap] gradient + running-stat buffer */
    int64_t cap;
    struct ig_dist_dp_slot *slots;
    struct ig_dist_dp_bucket *buckets;
    int n_slots, n_buckets, cap_slots;
    struct ig_dist_dp_stats st;
    void *reqs;                   /* the transport's requests in flight [cap_reqs] */
    int n_reqs, cap_reqs;
};

/* A work queue; alone (one rank) it is the local counter next. */
struct ig_dist_queue {
    struct ig_dist *d;
    int64_t n, next;
    void *transport;              /* the MPI window of a group of several ranks */
};

/* The transport (ig_dist_mpi.c or ig_dist_single.c); the queue functions are only called
 * for a group of several ranks. */
enum ig_status ig_dist_transport_queue_new(struct ig_dist_queue *q);
enum ig_status ig_dist_transport_queue_next(struct ig_dist_queue *q, int64_t *unit);
void ig_dist_transport_queue_free(struct ig_dist_queue *q);
/* Non-blocking in-place sums (several ranks only): start one over buf[0..n); progress every
 * sum in flight without waiting; wait for all of them. */
enum ig_status ig_dist_transport_isum_f32(struct ig_dist *d, float *buf, int64_t n);
enum ig_status ig_dist_transport_progress(struct ig_dist *d);
enum ig_status ig_dist_transport_wait(struct ig_dist *d);
enum ig_status ig_dist_transport_init(struct ig_dist *d, int *argc, char ***argv);
void ig_dist_transport_finalize(struct ig_dist *d);
#endif
