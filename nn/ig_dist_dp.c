/* dist, data parallelism: the optimiser hook summing the ranks' gradients, blocking (one allreduce of the flat buffer) or overlapped with the backward pass (buckets in reverse layer order, each started as its gradients become final). */
#include "ig_dist_internal.h"
#include "ig_nn.h"
#include "ig_nn_internal.h"
#include <stdlib.h>
#include <string.h>

/* A bucket of the overlapped reduction closes once it holds this many floats (1 MiB); a larger
 * parameter is a bucket alone. */
#define DP_BUCKET_FLOATS ((int64_t)1 << 18)

void ig_dist_dp_batch(struct ig_dist *d, int64_t n, int64_t *lo, int64_t *hi)
{
    ig_dist_range(d, n, lo, hi);
    if (!d) return;
    d->dp_local = *hi - *lo;
    d->dp_total = n;
    d->dp_whole = *lo == 0 && *hi == n;
    d->dp_armed = !d->dp_whole && d->dp_model != NULL;
}

struct ig_dist_dp_stats ig_dist_dp_stats(const struct ig_dist *d)
{
    struct ig_dist_dp_stats z = {0};
    return d ? d->st : z;
}

void ig_dist_dp_set_overlap(struct ig_dist *d, bool on) { if (d) d->dp_overlap = on; }
bool ig_dist_dp_overlap(const struct ig_dist *d) { return d && d->dp_overlap; }

/* Room for n slots and buckets and for the flat buffer's floats (grown, never shrunk). */
static enum ig_status dp_reserve(struct ig_dist *d, int n, int64_t floats)
{
    if (n > d->cap_slots) {
        struct ig_dist_dp_slot *s = realloc(d->slots, (size_t)n * sizeof *s);
        if (s) d->slots = s;
        struct ig_dist_dp_bucket *b = s ? realloc(d->buckets, (size_t)n * sizeof *b) : NULL;
        if (!b) return ig_error(IG_ERR_OOM, "data-parallel step: out of host memory for %d buckets", n);
        d->buckets = b;
        d->cap_slots = n;
    }
    if (floats > d->cap) {
        float *f = realloc(d->flat, (size_t)floats * sizeof *f);
        if (!f) return ig_error(IG_ERR_OOM, "data-parallel step: out of host memory for %lld floats", (long long)floats);
        d->flat = f;
        d->cap = floats;
    }
    return IG_OK;
}

/* The step's slots in the buffer's order (every parameter that requires a gradient, then the
 * running statistics) and its buckets: parameters from the last one back, a bucket closed at
 * DP_BUCKET_FLOATS, then one for the statistics. */
static enum ig_status dp_layout(struct ig_dist *d)
{
    struct ig_model *m = d->dp_model;
    IG_TRY(dp_reserve(d, m->n_params + m->n_buffers, 0));
    int n = 0, n_par = 0;
    int64_t off = 0;
    for (int i = 0; i < m->n_params + m->n_buffers; i++) {
        struct ig_dist_dp_slot *sl = &d->slots[n];
        if (i < m->n_params) {
            struct ig_var *v = m->params[i].var;
            if (!ig_var_requires_grad(v)) continue;
            *sl = (struct ig_dist_dp_slot){.var = v, .name = m->params[i].name, .n = ig_tensor_numel(ig_var_value(v))};
            n_par++;
        } else {
            struct ig_named_buffer *b = &m->buffers[i - m->n_params];
            if (b->is_count) continue;
            *sl = (struct ig_dist_dp_slot){.t = b->t, .name = b->name, .n = ig_tensor_numel(b->t)};
        }
        sl->off = off;
        off += sl->n;
        n++;
    }
    int nb = 0;
    for (int j = n_par - 1; j >= 0;) {
        int hi = j + 1;
        for (int64_t fl = 0; j >= 0 && fl < DP_BUCKET_FLOATS; j--) fl += d->slots[j].n;
        d->buckets[nb++] = (struct ig_dist_dp_bucket){.s_lo = j + 1, .s_hi = hi, .left = hi - (j + 1)};
    }
    if (n > n_par) d->buckets[nb++] = (struct ig_dist_dp_bucket){.s_lo = n_par, .s_hi = n, .left = n - n_par};
    for (int b = 0; b < nb; b++)
        for (int i = d->buckets[b].s_lo; i < d->buckets[b].s_hi; i++) d->slots[i].bucket = b;
    d->n_slots = n;
    d->n_buckets = nb;
    return dp_reserve(d, n, off);
}

static int64_t dp_floats(const struct ig_dist *d)
{
    return d->n_slots ? d->slots[d->n_slots - 1].off + d->slots[d->n_slots - 1].n : 0;
}

/* Slot i into flat: a gradient scaled by n_r / n, a running statistic by 1 / size. */
static enum ig_status dp_pack(struct ig_dist *d, int i)
{
    struct ig_dist_dp_slot *sl = &d->slots[i];
    float s = 1.0f / (float)d->size;
    if (sl->var) {
        if (!ig_param_has_grad(sl->var))
            return ig_error(IG_ERR_STATE, "data-parallel step: %s has no gradient on rank %d", sl->name, d->rank);
        sl->t = ig_var_grad(sl->var);
        s = (float)d->dp_local / (float)d->dp_total;
    }
    float *f = d->flat + sl->off;
    IG_TRY(ig_tensor_to_host(sl->t, f, (size_t)sl->n * sizeof *f));
    for (int64_t j = 0; j < sl->n; j++) f[j] *= s;
    sl->packed = true;
    return IG_OK;
}

/* Pack slot i; the last slot of its bucket starts the bucket's sum (early: during the backward). */
static enum ig_status dp_slot_done(struct ig_dist *d, int i, bool early)
{
    IG_TRY(dp_pack(d, i));
    struct ig_dist_dp_bucket *b = &d->buckets[d->slots[i].bucket];
    if (--b->left > 0) return IG_OK;
    const struct ig_dist_dp_slot *lo = &d->slots[b->s_lo], *hi = &d->slots[b->s_hi - 1];
    double t0 = ig_now_seconds();
    IG_TRY(ig_dist_transport_isum_f32(d, d->flat + lo->off, hi->off + hi->n - lo->off));
    d->st.seconds += ig_now_seconds() - t0;
    b->posted = true;
    d->st.buckets++;
    d->st.early += early;
    return IG_OK;
}

/* An overlapped step's start: the layout, and the statistics' bucket (final since the forward). */
static enum ig_status dp_begin(struct ig_dist *d, bool early)
{
    if (d->n_reqs) IG_TRY(ig_dist_transport_wait(d));   /* left in flight by a step that failed */
    IG_TRY(dp_layout(d));
    d->dp_started = true;
    for (int i = 0; i < d->n_slots; i++)
        if (!d->slots[i].var) IG_TRY(dp_slot_done(d, i, early));
    return IG_OK;
}

/* The parameters' gradient hook (autograd): pack the final gradient, start its bucket when
 * complete, and let the sums in flight progress. */
static enum ig_status dp_grad_final(struct ig_var *p, void *user)
{
    struct ig_dist *d = user;
    if (!d->dp_armed || !d->dp_overlap) return IG_OK;
    int k = 0;
    while (k < d->dp_model->n_params && d->dp_model->params[k].var != p) k++;
    if (k == d->dp_model->n_params) return IG_OK;   /* a model attached before */
    if (!d->dp_started) IG_TRY(dp_begin(d, true));
    int i = 0;
    while (i < d->n_slots && d->slots[i].var != p) i++;
    if (i == d->n_slots) return IG_OK;
    if (d->slots[i].packed)
        return ig_error(IG_ERR_STATE, "data-parallel step: the gradient of %s was final twice before the optimiser "
                        "step (the overlapped reduction allows one backward per step; turn overlap off to accumulate)",
                        d->slots[i].name);
    IG_TRY(dp_slot_done(d, i, true));
    double t0 = ig_now_seconds();
    enum ig_status s = ig_dist_transport_progress(d);
    d->st.seconds += ig_now_seconds() - t0;
    return s;
}

/* Overlapped: start the buckets the backward did not (gradients not seen by the hook), wait. */
static enum ig_status dp_finish_overlap(struct ig_dist *d)
{
    if (!d->dp_started) IG_TRY(dp_begin(d, false));
    for (int b = 0; b < d->n_buckets; b++)
        for (int i = d->buckets[b].s_lo; i < d->buckets[b].s_hi && !d->buckets[b].posted; i++)
            if (!d->slots[i].packed) IG_TRY(dp_slot_done(d, i, false));
    double t0 = ig_now_seconds();
    IG_TRY(ig_dist_transport_wait(d));
    d->st.seconds += ig_now_seconds() - t0;
    return IG_OK;
}

/* Blocking: every slot packed, then one allreduce of the whole buffer. */
static enum ig_status dp_blocking(struct ig_dist *d)
{
    IG_TRY(dp_layout(d));
    for (int i = 0; i < d->n_slots; i++) IG_TRY(dp_pack(d, i));
    double t0 = ig_now_seconds();
    IG_TRY(ig_dist_sum_f32(d, d->flat, dp_floats(d)));
    d->st.seconds += ig_now_seconds() - t0;
    d->st.buckets++;
    return IG_OK;
}

/* The optimiser hook: sum (n_r / n) g_r and the averaged running statistics over the ranks. */
static enum ig_status dp_reduce(struct ig_optim *o, struct ig_model *m, void *user)
{
    (void)o;
    (void)m;
    struct ig_dist *d = user;
    d->dp_armed = false;
    if (d->dp_whole) return IG_OK;   /* every rank computed the whole minibatch */
    enum ig_status s = d->dp_overlap || d->dp_started ? dp_finish_overlap(d) : dp_blocking(d);
    d->dp_started = false;
    for (int i = 0; s == IG_OK && i < d->n_slots; i++) {   /* the next step builds its layout anew */
        struct ig_dist_dp_slot *sl = &d->slots[i];
        s = ig_tensor_from_host_into(sl->t, d->flat + sl->off, (size_t)sl->n * sizeof *d->flat);
    }
    if (s != IG_OK) return s;
    d->st.reductions++;
    d->st.floats = dp_floats(d);
    return IG_OK;
}

enum ig_status ig_dist_dp_attach(struct ig_dist *d, struct ig_optim *o, struct ig_model *m)
{
    if (!o || !m) return ig_error(IG_ERR_INVALID_ARG, "ig_dist_dp_attach: optimiser or model is NULL");
    if (ig_dist_size(d) == 1) return IG_OK;
    d->dp_model = m;
    d->dp_whole = true;
    d->dp_armed = d->dp_started = false;
    ig_optim_set_grad_hook(o, dp_reduce, d);
    for (int i = 0; i < m->n_params; i++) ig_param_set_grad_hook(m->params[i].var, dp_grad_final, d);
    return IG_OK;
}
