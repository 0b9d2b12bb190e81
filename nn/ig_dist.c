/* dist, the transport-independent part: the group object, node cores and binding, block ranges, gathers, the work queue (data parallelism: ig_dist_dp.c). */
#include "ig_dist_internal.h"
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum ig_status ig_dist_init(struct ig_dist **out, int *argc, char ***argv)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_dist_init: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return ig_error(IG_ERR_OOM, "ig_dist_init: out of host memory");
    (*out)->dp_overlap = true;
    enum ig_status s = ig_dist_transport_init(*out, argc, argv);
    if (s != IG_OK) {
        free(*out);
        *out = NULL;
    }
    return s;
}

void ig_dist_finalize(struct ig_dist *d)
{
    if (!d) return;
    ig_dist_transport_finalize(d);
    free(d->flat);
    free(d->slots);
    free(d->buckets);
    free(d->reqs);
    free(d);
}

int ig_dist_rank(const struct ig_dist *d) { return d ? d->rank : 0; }
int ig_dist_size(const struct ig_dist *d) { return d ? d->size : 1; }

int ig_dist_local_size(const struct ig_dist *d)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        long n = v ? strtol(v, &end, 10) : 0;
        if (v && *end == 0 && n >= 1) return n > ig_dist_size(d) ? ig_dist_size(d) : (int)n;
    }
    return 1;
}

int ig_dist_threads_hint(const struct ig_dist *d, int *cores, int *bound)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int node = online >= 1 ? (int)online : 1, mask = node;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) mask = CPU_COUNT(&set);
    if (cores) *cores = node;
    if (bound) *bound = mask;
    int per_rank = node / ig_dist_local_size(d);
    int t = mask < node ? mask : per_rank;   /* bound by the launcher: its CPUs; else a fair share */
    if (t > per_rank && ig_dist_local_size(d) > 1) t = per_rank;
    return t >= 1 ? t : 1;
}

void ig_dist_range(const struct ig_dist *d, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t p = ig_dist_size(d), r = ig_dist_rank(d);
    if (n < p || p == 1) {
        *lo = 0;
        *hi = n;
        return;
    }
    int64_t q = n / p, extra = n % p;   /* the first `extra` ranks take one more */
    *lo = r * q + (r < extra ? r : extra);
    *hi = *lo + q + (r < extra ? 1 : 0);
}

enum ig_status ig_dist_gather_f64(struct ig_dist *d, double *buf, int64_t n, int64_t lo, int64_t hi)
{
    if (lo == 0 && hi == n) return IG_OK;
    memset(buf, 0, (size_t)lo * sizeof *buf);
    memset(buf + hi, 0, (size_t)(n - hi) * sizeof *buf);
    return ig_dist_sum_f64(d, buf, n);
}

enum ig_status ig_dist_gather_f32(struct ig_dist *d, float *buf, int64_t n, int64_t lo, int64_t hi)
{
    if (lo == 0 && hi == n) return IG_OK;
    memset(buf, 0, (size_t)lo * sizeof *buf);
    memset(buf + hi, 0, (size_t)(n - hi) * sizeof *buf);
    return ig_dist_sum_f32(d, buf, n);
}

/* ---------------------------------------------------------------- work queue */

enum ig_status ig_dist_queue_new(struct ig_dist_queue **out, struct ig_dist *d, int64_t n)
{
    if (!out || n < 0) return ig_error(IG_ERR_INVALID_ARG, "ig_dist_queue_new: bad argument (n %lld)", (long long)n);
    struct ig_dist_queue *q = *out = calloc(1, sizeof *q);
    if (!q) return ig_error(IG_ERR_OOM, "ig_dist_queue_new: out of host memory");
    q->d = d;
    q->n = n;
    if (ig_dist_size(d) == 1) return IG_OK;
    enum ig_status s = ig_dist_transport_queue_new(q);
    if (s != IG_OK) {
        free(q);
        *out = NULL;
    }
    return s;
}

enum ig_status ig_dist_queue_next(struct ig_dist_queue *q, int64_t *unit)
{
    if (!q || !unit) return ig_error(IG_ERR_INVALID_ARG, "ig_dist_queue_next: NULL argument");
    int64_t u = q->next;
    if (ig_dist_size(q->d) == 1) q->next++;
    else IG_TRY(ig_dist_transport_queue_next(q, &u));
    *unit = u < q->n ? u : -1;
    return IG_OK;
}

void ig_dist_queue_free(struct ig_dist_queue *q)
{
    if (!q) return;
    if (ig_dist_size(q->d) > 1) ig_dist_transport_queue_free(q);
    free(q);
}
