/* dist transport of a build without MPI: one process of rank 0; sums and broadcasts are no-ops, messages fail. */
#include "ig_dist_internal.h"
#include <stdlib.h>

bool ig_dist_compiled(void) { return false; }

enum ig_status ig_dist_transport_init(struct ig_dist *d, int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    d->rank = 0;
    d->size = 1;
    return IG_OK;
}

void ig_dist_transport_finalize(struct ig_dist *d) { (void)d; }

void ig_dist_abort(struct ig_dist *d, int code)
{
    (void)d;
    exit(code);
}

enum ig_status ig_dist_sum_f32(struct ig_dist *d, float *buf, int64_t n)
{
    (void)d;
    (void)buf;
    return n < 0 ? ig_error(IG_ERR_INVALID_ARG, "ig_dist sum: negative count %lld", (long long)n) : IG_OK;
}

enum ig_status ig_dist_sum_f64(struct ig_dist *d, double *buf, int64_t n)
{
    (void)d;
    (void)buf;
    return n < 0 ? ig_error(IG_ERR_INVALID_ARG, "ig_dist sum: negative count %lld", (long long)n) : IG_OK;
}

enum ig_status ig_dist_bcast(struct ig_dist *d, void *buf, int64_t bytes, int root)
{
    (void)d;
    (void)buf;
    (void)bytes;
    return root == 0 ? IG_OK : ig_error(IG_ERR_INVALID_ARG, "ig_dist_bcast: root %d of 1 rank", root);
}

enum ig_status ig_dist_barrier(struct ig_dist *d)
{
    (void)d;
    return IG_OK;
}

enum ig_status ig_dist_send(struct ig_dist *d, int dest, int tag, const void *buf, int64_t bytes)
{
    (void)d;
    (void)tag;
    (void)buf;
    return ig_error(IG_ERR_STATE, "ig_dist_send: no rank %d to send %lld bytes to (built without MPI)", dest, (long long)bytes);
}

enum ig_status ig_dist_recv(struct ig_dist *d, int src, int tag, void *buf, int64_t bytes, int *from)
{
    (void)d;
    (void)tag;
    (void)buf;
    (void)from;
    return ig_error(IG_ERR_STATE, "ig_dist_recv: no rank %d to receive %lld bytes from (built without MPI)", src,
                    (long long)bytes);
}

/* several ranks only: never called by a build without MPI */
enum ig_status ig_dist_transport_isum_f32(struct ig_dist *d, float *buf, int64_t n)
{
    (void)d;
    (void)buf;
    (void)n;
    return ig_error(IG_ERR_INTERNAL, "non-blocking sum: several ranks without MPI");
}

enum ig_status ig_dist_transport_progress(struct ig_dist *d)
{
    (void)d;
    return IG_OK;
}

enum ig_status ig_dist_transport_wait(struct ig_dist *d)
{
    (void)d;
    return IG_OK;
}

enum ig_status ig_dist_transport_queue_new(struct ig_dist_queue *q)
{
    (void)q;
    return ig_error(IG_ERR_INTERNAL, "work queue: several ranks without MPI");
}

enum ig_status ig_dist_transport_queue_next(struct ig_dist_queue *q, int64_t *unit)
{
    (void)q;
    (void)unit;
    return ig_error(IG_ERR_INTERNAL, "work queue: several ranks without MPI");
}

void ig_dist_transport_queue_free(struct ig_dist_queue *q) { (void)q; }
