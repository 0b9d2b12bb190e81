/* dist transport over MPI_COMM_WORLD (Open MPI): init when a launcher started the process, sums (blocking and non-blocking), broadcast, barrier, messages, the work queue's window. */
#include "ig_dist_internal.h"
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>

bool ig_dist_compiled(void) { return true; }

/* Started by mpirun / srun (else run alone without touching MPI, as a build without it). */
static bool launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return true;
    return false;
}

static enum ig_status mpi_failed(int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) len = 0;
    msg[len] = 0;
    return ig_error(IG_ERR_IO, "%s: MPI error %d (%s)", what, rc, msg);
}

enum ig_status ig_dist_transport_init(struct ig_dist *d, int *argc, char ***argv)
{
    d->rank = 0;
    d->size = 1;
    if (!launched()) return IG_OK;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        int rc = MPI_Init(argc, argv);
        if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Init");
        d->mpi = true;
    }
    /* errors come back as codes (a dead peer then fails the call instead of hanging it) */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    return IG_OK;
}

void ig_dist_transport_finalize(struct ig_dist *d)
{
    if (d->mpi) MPI_Finalize();
}

void ig_dist_abort(struct ig_dist *d, int code)
{
    if (d && d->size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static bool alone(const struct ig_dist *d) { return !d || d->size == 1; }

/* In-place MPI_Allreduce(SUM) in chunks of at most INT_MAX elements. */
static enum ig_status sum(struct ig_dist *d, void *buf, int64_t n, MPI_Datatype t, size_t elem)
{
    if (n < 0) return ig_error(IG_ERR_INVALID_ARG, "ig_dist sum: negative count %lld", (long long)n);
    if (alone(d)) return IG_OK;
    for (int64_t off = 0; off < n; off += INT_MAX) {
        int c = n - off < INT_MAX ? (int)(n - off) : INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + (size_t)off * elem, c, t, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Allreduce");
    }
    return IG_OK;
}

enum ig_status ig_dist_sum_f32(struct ig_dist *d, float *buf, int64_t n) { return sum(d, buf, n, MPI_FLOAT, sizeof *buf); }
enum ig_status ig_dist_sum_f64(struct ig_dist *d, double *buf, int64_t n) { return sum(d, buf, n, MPI_DOUBLE, sizeof *buf); }

enum ig_status ig_dist_bcast(struct ig_dist *d, void *buf, int64_t bytes, int root)
{
    if (alone(d)) return root == 0 ? IG_OK : ig_error(IG_ERR_INVALID_ARG, "ig_dist_bcast: root %d of 1 rank", root);
    if (bytes < 0 || bytes > INT_MAX || root < 0 || root >= d->size)
        return ig_error(IG_ERR_INVALID_ARG, "ig_dist_bcast: %lld bytes from root %d of %d ranks", (long long)bytes, root,
                        d->size);
    int rc = MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? IG_OK : mpi_failed(rc, "MPI_Bcast");
}

enum ig_status ig_dist_barrier(struct ig_dist *d)
{
    if (alone(d)) return IG_OK;
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? IG_OK : mpi_failed(rc, "MPI_Barrier");
}

enum ig_status ig_dist_send(struct ig_dist *d, int dest, int tag, const void *buf, int64_t bytes)
{
    if (alone(d) || dest < 0 || dest >= d->size || bytes < 0 || bytes > INT_MAX || tag < 0)
        return ig_error(IG_ERR_STATE, "ig_dist_send: no rank %d to send %lld bytes to", dest, (long long)bytes);
    int rc = MPI_Send(buf, (int)bytes, MPI_BYTE, dest, tag, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? IG_OK : mpi_failed(rc, "MPI_Send");
}

enum ig_status ig_dist_recv(struct ig_dist *d, int src, int tag, void *buf, int64_t bytes, int *from)
{
    if (alone(d) || src < -1 || src >= d->size || bytes < 0 || bytes > INT_MAX || tag < 0)
        return ig_error(IG_ERR_STATE, "ig_dist_recv: no rank %d to receive %lld bytes from", src, (long long)bytes);
    MPI_Status st;
    int rc = MPI_Recv(buf, (int)bytes, MPI_BYTE, src < 0 ? MPI_ANY_SOURCE : src, tag, MPI_COMM_WORLD, &st);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Recv");
    if (from) *from = st.MPI_SOURCE;
    return IG_OK;
}

/* ---------------------------------------------------------------- non-blocking sums */

enum ig_status ig_dist_transport_isum_f32(struct ig_dist *d, float *buf, int64_t n)
{
    for (int64_t off = 0; off < n; off += INT_MAX) {
        if (d->n_reqs == d->cap_reqs) {
            int cap = d->cap_reqs ? 2 * d->cap_reqs : 16;
            MPI_Request *r = realloc(d->reqs, (size_t)cap * sizeof *r);
            if (!r) return ig_error(IG_ERR_OOM, "MPI_Iallreduce: out of host memory for %d requests", cap);
            d->reqs = r;
            d->cap_reqs = cap;
        }
        int c = n - off < INT_MAX ? (int)(n - off) : INT_MAX;
        MPI_Request *req = (MPI_Request *)d->reqs + d->n_reqs;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, buf + off, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, req);
        if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Iallreduce");
        d->n_reqs++;
    }
    return IG_OK;
}

enum ig_status ig_dist_transport_progress(struct ig_dist *d)
{
    int done = 0;
    int rc = d->n_reqs ? MPI_Testall(d->n_reqs, d->reqs, &done, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Testall");
    if (done) d->n_reqs = 0;
    return IG_OK;
}

enum ig_status ig_dist_transport_wait(struct ig_dist *d)
{
    int rc = d->n_reqs ? MPI_Waitall(d->n_reqs, d->reqs, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
    d->n_reqs = 0;
    return rc == MPI_SUCCESS ? IG_OK : mpi_failed(rc, "MPI_Waitall");
}

/* ---------------------------------------------------------------- work queue */

/* The queue's counter: one int64 in a window on rank 0. */
struct mpi_queue { MPI_Win win; int64_t *counter; };

enum ig_status ig_dist_transport_queue_new(struct ig_dist_queue *q)
{
    struct mpi_queue *mq = calloc(1, sizeof *mq);
    if (!mq) return ig_error(IG_ERR_OOM, "work queue: out of host memory");
    MPI_Aint bytes = q->d->rank == 0 ? (MPI_Aint)sizeof(int64_t) : 0;
    int rc = MPI_Win_allocate(bytes, (int)sizeof(int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &mq->counter, &mq->win);
    if (rc != MPI_SUCCESS) {
        free(mq);
        return mpi_failed(rc, "MPI_Win_allocate");
    }
    if (q->d->rank == 0) *mq->counter = 0;
    MPI_Win_lock_all(0, mq->win);
    q->transport = mq;
    return ig_dist_barrier(q->d);
}

enum ig_status ig_dist_transport_queue_next(struct ig_dist_queue *q, int64_t *unit)
{
    struct mpi_queue *mq = q->transport;
    int64_t one = 1, u = 0;
    int rc = MPI_Fetch_and_op(&one, &u, MPI_INT64_T, 0, 0, MPI_SUM, mq->win);
    if (rc == MPI_SUCCESS) rc = MPI_Win_flush(0, mq->win);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Fetch_and_op");
    *unit = u;
    return IG_OK;
}

void ig_dist_transport_queue_free(struct ig_dist_queue *q)
{
    struct mpi_queue *mq = q->transport;
    if (!mq) return;
    MPI_Win_unlock_all(mq->win);
    MPI_Win_free(&mq->win);   /* collective: every rank has taken its last unit */
    free(mq);
}
