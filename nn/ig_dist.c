/* dist, the transport-independent part: the group object, node cores and binding, block ranges, gathers, and the data-parallel gradient reduction hook of the optimiser. */
#include "ig_dist_internal.h"
#include "ig_nn.h"
#include "ig_nn_internal.h"
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum ig_status ig_dist_init(struct ig_dist **out, int *argc, char ***argv)
{
    if (!out) return ig_error(IG_ERR_INVALID_ARG, "ig_dist_init: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return ig_error(IG_ERR_OOM, "ig_dist_init: out of host memory");
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

/* ---------------------------------------------------------------- data parallelism */

void ig_dist_dp_batch(struct ig_dist *d, int64_t n, int64_t *lo, int64_t *hi)
{
    ig_dist_range(d, n, lo, hi);
    if (!d) return;
    d->dp_local = *hi - *lo;
    d->dp_total = n;
    d->dp_whole = *lo == 0 && *hi == n;
}

struct ig_dist_dp_stats ig_dist_dp_stats(const struct ig_dist *d)
{
    struct ig_dist_dp_stats z = {0};
    return d ? d->st : z;
}

enum pack_mode { PACK_COUNT, PACK_TO_FLAT, PACK_FROM_FLAT };

/* Copy the parameter gradients (scaled by w) and the running statistics (scaled by 1/size)
 * into d->flat, or back; *n_out: the floats either way (PACK_COUNT copies nothing). */
static enum ig_status dp_pack(struct ig_dist *d, struct ig_model *m, float w, enum pack_mode mode, int64_t *n_out)
{
    int64_t off = 0;
    for (int i = 0; i < m->n_params + m->n_buffers; i++) {
        bool is_param = i < m->n_params;
        struct ig_tensor *t;
        if (is_param) {
            struct ig_var *v = m->params[i].var;
            if (!ig_var_requires_grad(v)) continue;
            if (!ig_param_has_grad(v))
                return ig_error(IG_ERR_STATE, "data-parallel step: %s has no gradient on rank %d", m->params[i].name,
                                d->rank);
            t = ig_var_grad(v);
        } else {
            if (m->buffers[i - m->n_params].is_count) continue;
            t = m->buffers[i - m->n_params].t;
        }
        int64_t n = ig_tensor_numel(t);
        if (mode != PACK_COUNT) {
            float *f = d->flat + off, s = is_param ? w : 1.0f / (float)d->size;
            if (mode == PACK_TO_FLAT) {
                IG_TRY(ig_tensor_to_host(t, f, (size_t)n * sizeof *f));
                for (int64_t j = 0; j < n; j++) f[j] *= s;
            } else {
                IG_TRY(ig_tensor_from_host_into(t, f, (size_t)n * sizeof *f));
            }
        }
        off += n;
    }
    *n_out = off;
    return IG_OK;
}

/* The optimiser hook: sum (n_r / n) g_r and the averaged running statistics over the ranks. */
static enum ig_status dp_reduce(struct ig_optim *o, struct ig_model *m, void *user)
{
    (void)o;
    struct ig_dist *d = user;
    if (d->dp_whole) return IG_OK;   /* every rank computed the whole minibatch */
    int64_t n = 0;
    IG_TRY(dp_pack(d, m, 0, PACK_COUNT, &n));
    if (n > d->cap) {
        float *f = realloc(d->flat, (size_t)n * sizeof *f);
        if (!f) return ig_error(IG_ERR_OOM, "data-parallel step: out of host memory for %lld floats", (long long)n);
        d->flat = f;
        d->cap = n;
    }
    IG_TRY(dp_pack(d, m, (float)d->dp_local / (float)d->dp_total, PACK_TO_FLAT, &n));
    double t0 = ig_now_seconds();
    IG_TRY(ig_dist_sum_f32(d, d->flat, n));
    d->st.seconds += ig_now_seconds() - t0;
    d->st.reductions++;
    d->st.floats = n;
    return dp_pack(d, m, 0, PACK_FROM_FLAT, &n);
}

enum ig_status ig_dist_dp_attach(struct ig_dist *d, struct ig_optim *o, struct ig_model *m)
{
    if (!o || !m) return ig_error(IG_ERR_INVALID_ARG, "ig_dist_dp_attach: optimiser or model is NULL");
    if (ig_dist_size(d) == 1) return IG_OK;
    d->dp_model = m;
    d->dp_whole = true;
    ig_optim_set_grad_hook(o, dp_reduce, d);
    return IG_OK;
}
