/* Private state of the dist module shared by its common part (ig_dist.c) and its MPI or single-process transport (not installed). */
#ifndef IG_DIST_INTERNAL_H
#define IG_DIST_INTERNAL_H
#include "ig_dist.h"

struct ig_dist {
    int rank, size;
    bool mpi;                     /* MPI initialised by ig_dist_init (finalize it) */
    /* data parallelism */
    struct ig_model *dp_model;
    int64_t dp_local, dp_total;   /* rows of this rank / of the minibatch in the current step */
    bool dp_whole;                /* the step's minibatch is computed whole by every rank */
    float *flat;                  /* [cap] gradient + running-stat buffer */
    int64_t cap;
    struct ig_dist_dp_stats st;
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
enum ig_status ig_dist_transport_init(struct ig_dist *d, int *argc, char ***argv);
void ig_dist_transport_finalize(struct ig_dist *d);
#endif
